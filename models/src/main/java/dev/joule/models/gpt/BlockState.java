package dev.joule.models.gpt;

import dev.joule.engine.Tensor;

/**
 * What flows from block to block: the residual stream x (B, T, C) and, for optimizers with memory
 * (momentum, Nesterov), the per-token velocity (B, T, C); null when the optimizer keeps none.
 */
public record BlockState(Tensor x, Tensor velocity) {
    public BlockState(Tensor x) {
        this(x, null);
    }
}
