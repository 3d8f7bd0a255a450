package dev.joule.layers;

import dev.joule.engine.Tensor;

/**
 * The interaction energy E_ij(z) between query token i, in state z (D), and key/value token j, on one
 * head. Every energy of the framework is quadratic in z:
 *
 * <pre>
 *   E_ij(z)      = 1/2 a_ij |z|^2 - b_ij (v_j . z) - c_ij
 *   grad E_ij(z) = a_ij z - b_ij v_j
 *   Hess E_ij    = a_ij I
 * </pre>
 *
 * where the coefficients a, b, c may depend on the score s_ij = q_i . k_j / sqrt(D) and on v_j but not
 * on z. That structure is what the generic path uses: weighted sums of the pair gradients and of their
 * outer products become matrix products with the value matrix, and the Hessian of any global energy
 * follows from a and from the covariance of the pair gradients (see {@link Terms}).
 *
 * <p>Convexity: E_ij is strictly convex in z exactly when a_ij &gt; 0 for every pair; with a = 0 it is
 * linear in z and has no minimum.
 */
public interface LocalEnergy {
    /** A short name for messages, such as "shifted-elastic". */
    String name();

    /** True when a_ij &gt; 0 for every pair, so that every E_ij is strictly convex in z. */
    boolean strictlyConvex();

    /**
     * Returns the coefficients of E_ij for every pair.
     *
     * @param scores s (B, H, T, T)
     * @param v values (B, H, T, D)
     */
    Terms terms(Tensor scores, Tensor v);

    /**
     * The softmax energy E_ij(z) = 1/2 |z|^2 - v_j . z - s_ij (a = 1, b = 1, c = s): the elastic energy
     * 1/2 |z - v_j|^2 with the score shifted by 1/2 |v_j|^2. Under the free energy at z = 0 its pair
     * weights are softmax_j(s_ij / T), which makes one unit gradient step dot-product attention.
     */
    static LocalEnergy shiftedElastic() {
        return new Named("shifted-elastic", true, (s, v) -> new Terms(Tensor.scalar(1f), Tensor.scalar(1f), s, v));
    }

    /**
     * The elastic (spring) energy E_ij(z) = 1/2 |z - v_j|^2 - s_ij, that is a = 1, b = 1 and
     * c = s_ij - 1/2 |v_j|^2. Not a named recipe; it composes with any global energy through
     * {@link EnergyRecipe#compose}.
     */
    static LocalEnergy elastic() {
        return new Named("elastic", true, (s, v) -> {
            // c_ij = s_ij - 1/2 |v_j|^2: the norms of the values form a (B, H, 1, T) row.
            Tensor halfNorm = EnergyOps.sqNorm(v).scale(0.5f).transpose(-2, -1);
            return new Terms(Tensor.scalar(1f), Tensor.scalar(1f), s.sub(halfNorm), v);
        });
    }

    /** The bilinear energy E_ij(z) = -s_ij (v_j . z) (a = 0, b = s, c = 0): linear in z. */
    static LocalEnergy bilinear() {
        return new Named("bilinear", false, (s, v) -> new Terms(Tensor.scalar(0f), s, Tensor.scalar(0f), v));
    }

    /** A local energy given by its coefficient function. */
    record Named(String name, boolean strictlyConvex, TermsFunction fn) implements LocalEnergy {
        @Override
        public Terms terms(Tensor scores, Tensor v) {
            return fn.apply(scores, v);
        }
    }

    /** Builds the coefficients from the scores and the values. */
    @FunctionalInterface
    interface TermsFunction {
        Terms apply(Tensor scores, Tensor v);
    }

    /**
     * The coefficients of every pair energy on one batch, and the sums over keys that the global
     * energies need. a, b and c broadcast to (B, H, T, T); v is (B, H, T, D); z is always (B, H, T, D),
     * one state per query; w is a (B, H, T, T) weight per pair, zero where j &gt; i.
     *
     * <p>The pair gradient is u_ij = a_ij z_i - b_ij v_j. Every method below is a weighted sum over j of
     * u_ij or of its outer products, written as products with v so that nothing of size T x T x D is
     * formed.
     */
    record Terms(Tensor a, Tensor b, Tensor c, Tensor v) {
        /** E_ij(z_i): (B, H, T, T). */
        public Tensor value(Tensor z) {
            Tensor halfSq = EnergyOps.sqNorm(z).scale(0.5f);
            Tensor zv = z.matmul(v.transpose(-2, -1));
            return a.mul(halfSq).sub(b.mul(zv)).sub(c);
        }

        /** sum_j w_ij a_ij: the weighted curvature, (B, H, T, 1). */
        public Tensor curvature(Tensor w) {
            // w may be a shared (T, T) matrix (the plain sum), so broadcast to one value per query.
            int[] s = v.shape();
            return w.mul(a).sum(new int[] {-1}, true).broadcastTo(s[0], s[1], s[2], 1);
        }

        /** sum_j w_ij u_ij = (sum_j w a) z - (w b) v: (B, H, T, D). */
        public Tensor weightedGradient(Tensor w, Tensor z) {
            return curvature(w).mul(z).sub(w.mul(b).matmul(v));
        }

        /**
         * sum_j w_ij u_ij u_ij^T = (sum w a^2) z z^T - z m^T - m z^T + sum_j (w b^2)_ij v_j v_j^T, with
         * m = (w a b) v: (B, H, T, D, D). Costs T^2 D^2 per head; only the exact Newton step uses it.
         */
        public Tensor secondMoment(Tensor w, Tensor z) {
            int[] s = v.shape();
            int bb = s[0];
            int h = s[1];
            int t = s[2];
            int d = s[3];
            Tensor m = w.mul(a).mul(b).matmul(v);
            Tensor aa = w.mul(a).mul(a).sum(new int[] {-1}, true).broadcastTo(bb, h, t, 1).reshape(bb, h, t, 1, 1);
            Tensor zz = EnergyOps.outer(z, z).mul(aa);
            Tensor cross = EnergyOps.outer(z, m).add(EnergyOps.outer(m, z));
            Tensor vv = w.mul(b).mul(b).matmul(EnergyOps.outer(v, v).reshape(bb, h, t, d * d)).reshape(bb, h, t, d, d);
            return zz.sub(cross).add(vv);
        }

        /**
         * The diagonal of {@link #secondMoment}: (sum w a^2) z^2 - 2 z (w a b) v + (w b^2) (v * v):
         * (B, H, T, D), at the cost of one weighted pass over the values.
         */
        public Tensor secondMomentDiagonal(Tensor w, Tensor z) {
            Tensor zz = z.mul(z).mul(w.mul(a).mul(a).sum(new int[] {-1}, true));
            Tensor cross = z.mul(w.mul(a).mul(b).matmul(v)).scale(2f);
            return zz.sub(cross).add(w.mul(b).mul(b).matmul(v.mul(v)));
        }

        /**
         * sum_j w_ij u_ij (u_ij . g_i) for one vector g_i per query: (B, H, T, D). With
         * r_ij = w_ij (a_ij (z_i . g_i) - b_ij (v_j . g_i)) it is (sum_j r a) z - (r b) v: one more
         * weighted pass over the values, the cost of attention.
         */
        public Tensor secondMomentTimes(Tensor w, Tensor z, Tensor g) {
            Tensor zg = EnergyOps.rowDot(z, g);
            Tensor vg = g.matmul(v.transpose(-2, -1));
            Tensor r = w.mul(a.mul(zg).sub(b.mul(vg)));
            return r.mul(a).sum(new int[] {-1}, true).mul(z).sub(r.mul(b).matmul(v));
        }
    }
}
