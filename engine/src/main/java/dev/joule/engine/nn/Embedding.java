package dev.joule.engine.nn;

import dev.joule.engine.IndexOps;
import dev.joule.engine.Tensor;

/** A lookup table of V vectors of width C, excluded from weight decay. */
public final class Embedding extends Module {
    private final Tensor weight;

    public Embedding(int vocab, int dim, long seed, long stream, float std) {
        this.weight = param("weight", Tensor.randn(seed, stream, std, vocab, dim), false);
    }

    /** ids laid out in {@code shape} to (shape..., C). */
    public Tensor forward(int[] ids, int... shape) {
        return IndexOps.embedding(weight, ids, shape);
    }

    public Tensor weight() {
        return weight;
    }
}
