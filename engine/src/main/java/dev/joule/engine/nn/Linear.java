package dev.joule.engine.nn;

import dev.joule.engine.Tensor;

/**
 * y = x W^T + b. The weight is stored (out, in) as in PyTorch, so checkpoints map one to one, and the
 * transpose is a view that the matmul kernel reads without copying.
 */
public final class Linear extends Module {
    private final Tensor weight;
    private final Tensor bias;

    /**
     * @param stream distinguishes this layer's random stream from every other parameter's
     * @param std standard deviation of the normal initialization of the weight
     */
    public Linear(int in, int out, boolean bias, long seed, long stream, float std) {
        if (in <= 0 || out <= 0) {
            throw new IllegalArgumentException("Linear sizes must be positive, got in=" + in + ", out=" + out);
        }
        this.weight = param("weight", Tensor.randn(seed, stream, std, out, in), true);
        this.bias = bias ? param("bias", Tensor.zeros(out), false) : null;
    }

    /** x (..., in) to (..., out). */
    public Tensor forward(Tensor x) {
        int in = weight.size(1);
        int[] shape = x.shape();
        if (shape[shape.length - 1] != in) {
            throw new dev.joule.engine.ShapeException("Linear", shape, weight.shape(),
                    "the last axis of the input must equal in=" + in);
        }
        Tensor flat = x.reshape(-1, in);
        Tensor y = flat.matmul(weight.transpose(0, 1));
        if (bias != null) {
            y = y.add(bias);
        }
        shape[shape.length - 1] = weight.size(0);
        return y.reshape(shape);
    }

    public Tensor weight() {
        return weight;
    }
}
