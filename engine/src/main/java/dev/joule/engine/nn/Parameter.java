package dev.joule.engine.nn;

import dev.joule.engine.Tensor;

/**
 * A trainable tensor with its name in the state dictionary and whether weight decay applies to it.
 * Norm gains, biases and embeddings are conventionally excluded from decay.
 */
public record Parameter(String name, Tensor value, boolean decay) {
    public Parameter {
        value.requiresGrad(true);
    }
}
