package dev.joule.layers;

import dev.joule.engine.IndexOps;
import dev.joule.engine.Tensor;

/**
 * Combines the local energies E_ij(z) of query i over its causal keys j &lt;= i into F_i(z). Three
 * forms, each with the pair weight w_ij = dF_i / dE_ij that the gradient needs:
 *
 * <pre>
 *   sum          F_i = sum_j E_ij                          w_ij = 1
 *   gated sum    F_i = sum_j G_ij E_ij,                    w_ij = G_ij = prod_{t=j+1..i} g_t
 *   free energy  F_i = -T log sum_j exp(-E_ij / T)         w_ij = p_ij = softmax_j(-E_ij / T)
 * </pre>
 *
 * with g_t in (0, 1) a data-dependent decay per token and head, and T &gt; 0 a temperature per head.
 * In all three, grad F_i = sum_j w_ij grad E_ij. The Hessian is sum_j w_ij Hess E_ij for the two sums
 * (their weights do not depend on z), and for the free energy it gains a covariance term:
 * Hess F_i = sum_j p_ij Hess E_ij - (1/T) Cov_p(grad E_ij), because dp/dz = -(p/T)(grad E - mean).
 */
public interface GlobalEnergy {
    /** A short name for messages. */
    String name();

    /** True when the weights depend on data-dependent decays g_t (see {@link Context#logGates}). */
    boolean gated();

    /** True for the free energy, whose Hessian has the covariance term. */
    boolean free();

    /** True when the temperature of the free energy is a learned parameter per head. */
    boolean learnedTemperature();

    /** The initial (or fixed) temperature T of the free energy; 1 for the sums. */
    float temperature();

    /**
     * dF_i / dE_ij, zero for j &gt; i.
     *
     * @param energies E (B, H, T, T)
     */
    Tensor weights(Tensor energies, Context ctx);

    /** F_i: (B, H, T, 1). */
    Tensor value(Tensor energies, Context ctx);

    /**
     * What a global energy reads beside the energies.
     *
     * @param logGates log g_t (B, H, T), or null when not gated
     * @param temperature T broadcastable to (B, H, T, T), for example (1, H, 1, 1)
     */
    record Context(Tensor logGates, Tensor temperature) {}

    /** The plain causal sum. */
    static GlobalEnergy sum() {
        return new Sum(false);
    }

    /** The causal sum weighted by products of decays g_t in (0, 1). */
    static GlobalEnergy gatedSum() {
        return new Sum(true);
    }

    /** The free energy at temperature T, fixed or learned per head from that initial value. */
    static GlobalEnergy freeEnergy(float temperature, boolean learned) {
        if (!(temperature > 0f) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("the temperature of the free energy must be positive and finite, got "
                    + temperature);
        }
        return new Free(temperature, learned);
    }

    /** The two sums; their weights do not depend on z. */
    record Sum(boolean gated) implements GlobalEnergy {
        @Override
        public String name() {
            return gated ? "gated-sum" : "sum";
        }

        @Override
        public boolean free() {
            return false;
        }

        @Override
        public boolean learnedTemperature() {
            return false;
        }

        @Override
        public float temperature() {
            return 1f;
        }

        @Override
        public Tensor weights(Tensor energies, Context ctx) {
            int t = energies.size(-1);
            if (!gated) {
                return causalOnes(t);
            }
            // G_ij = exp(L_i - L_j) with L the inclusive cumulative sum of log g; future keys get
            // -inf before the exponential, so they weigh 0 without overflowing.
            Tensor l = EnergyOps.cumsum(ctx.logGates());
            int[] s = l.shape();
            Tensor col = l.reshape(s[0], s[1], t, 1);
            Tensor row = l.reshape(s[0], s[1], 1, t);
            return IndexOps.causalMask(col.sub(row)).exp();
        }

        @Override
        public Tensor value(Tensor energies, Context ctx) {
            return weights(energies, ctx).mul(energies).sum(new int[] {-1}, true);
        }
    }

    /** -T log sum_j exp(-E_ij / T). */
    record Free(float temperature, boolean learnedTemperature) implements GlobalEnergy {
        @Override
        public String name() {
            return "free-energy";
        }

        @Override
        public boolean gated() {
            return false;
        }

        @Override
        public boolean free() {
            return true;
        }

        @Override
        public Tensor weights(Tensor energies, Context ctx) {
            return logits(energies, ctx).softmax();
        }

        @Override
        public Tensor value(Tensor energies, Context ctx) {
            // log sum_j exp(x_j) = x_0 - log softmax(x)_0: key 0 is never masked, and this form is as
            // stable as the log-softmax kernel.
            Tensor x = logits(energies, ctx);
            Tensor lse = x.slice(-1, 0, 1).sub(x.logSoftmax().slice(-1, 0, 1));
            return lse.mul(ctx.temperature()).neg();
        }

        /** -E_ij / T with future keys at -inf: (B, H, T, T). */
        private static Tensor logits(Tensor energies, Context ctx) {
            return IndexOps.causalMask(energies.neg().div(ctx.temperature()));
        }
    }

    /** A (T, T) matrix with ones on and below the diagonal. */
    static Tensor causalOnes(int t) {
        Tensor m = Tensor.zeros(t, t);
        for (int i = 0; i < t; i++) {
            for (int j = 0; j <= i; j++) {
                m.set(1f, i, j);
            }
        }
        return m;
    }
}
