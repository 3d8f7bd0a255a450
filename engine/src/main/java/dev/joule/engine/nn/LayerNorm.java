package dev.joule.engine.nn;

import dev.joule.engine.NormOps;
import dev.joule.engine.Tensor;

/** Layer norm over the last axis with a learned gain (init 1) and bias (init 0), both without decay. */
public final class LayerNorm extends Module {
    private final Tensor gamma;
    private final Tensor beta;
    private final float eps;

    public LayerNorm(int dim, float eps) {
        this.gamma = param("weight", Tensor.full(1f, dim), false);
        this.beta = param("bias", Tensor.zeros(dim), false);
        this.eps = eps;
    }

    /** x (..., C) to (..., C). */
    public Tensor forward(Tensor x) {
        return NormOps.layerNorm(x, gamma, beta, eps);
    }
}
