package dev.joule.engine.nn;

import dev.joule.engine.IndexOps;
import dev.joule.engine.Tensor;

/**
 * Inverted dropout with a counter-based mask. The caller passes a key that is unique per call site
 * and training step, so masks are reproducible and independent of threads.
 */
public final class Dropout extends Module {
    private final float p;
    private final long seed;

    public Dropout(float p, long seed) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
        this.p = p;
        this.seed = seed;
    }

    /** Returns x unchanged outside training or when p is 0. */
    public Tensor forward(Tensor x, long key) {
        if (!isTraining() || p == 0f) {
            return x;
        }
        return IndexOps.dropout(x, p, seed, key);
    }
}
