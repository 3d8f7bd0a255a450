package dev.joule.layers;

import dev.joule.engine.IndexOps;
import dev.joule.engine.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * The fast path of the linear and gated-linear energies: causal (gated) linear attention
 *
 * <pre>
 *   out_i = sum_{j &lt;= i} G_ij s_ij v_j,   s_ij = scale q_i . k_j,   G_ij = prod_{t=j+1..i} g_t (1 ungated)
 * </pre>
 *
 * in chunks of n positions, so that it costs O(T n D + T D^2) per head instead of O(T^2 D). With c_i
 * the cumulative log gate inside the chunk (c at the chunk's first position is log g there) and S the
 * D x D state of all earlier chunks, decayed to the position before the chunk:
 *
 * <pre>
 *   out_i = exp(c_i) scale q_i S + sum_{j in chunk, j &lt;= i} exp(c_i - c_j) s_ij v_j
 *   S'    = exp(c_last) S + sum_{j in chunk} exp(c_last - c_j) k_j v_j^T
 * </pre>
 *
 * Every decay factor is at most 1, so nothing overflows. The chunks are composed from engine ops and
 * autograd differentiates them.
 */
public final class ChunkedLinearAttention {
    /** Positions per chunk: the intra-chunk part is n x n, so 64 keeps it near the D^2 of the state. */
    public static final int CHUNK = Integer.getInteger("joule.linearAttention.chunk", 64);

    private ChunkedLinearAttention() {}

    /**
     * @param q (B, H, T, D)
     * @param k (B, H, T, D)
     * @param v (B, H, T, D)
     * @param logGates log g_t (B, H, T), or null for the ungated form
     * @param scale the score scale, 1 / sqrt(D)
     * @param chunk positions per chunk, at least 1
     * @return (B, H, T, D)
     */
    public static Tensor attend(Tensor q, Tensor k, Tensor v, Tensor logGates, float scale, int chunk) {
        if (chunk < 1) {
            throw new IllegalArgumentException("chunk size must be at least 1, got " + chunk);
        }
        int b = q.size(0);
        int h = q.size(1);
        int t = q.size(2);
        int d = q.size(3);
        Tensor state = null;
        List<Tensor> outs = new ArrayList<>();
        for (int t0 = 0; t0 < t; t0 += chunk) {
            int t1 = Math.min(t, t0 + chunk);
            int n = t1 - t0;
            Tensor qc = q.slice(2, t0, t1);
            Tensor kc = k.slice(2, t0, t1);
            Tensor vc = v.slice(2, t0, t1);

            // Intra-chunk scores (B, H, n, n), causal, with decays exp(c_i - c_j).
            Tensor s = qc.matmul(kc.transpose(-2, -1)).scale(scale);
            Tensor colDecay = null;
            Tensor toEnd = null;
            Tensor chunkDecay = null;
            if (logGates == null) {
                s = s.mul(GlobalEnergy.causalOnes(n));
            } else {
                Tensor c = EnergyOps.cumsum(logGates.slice(2, t0, t1));
                Tensor col = c.reshape(b, h, n, 1);
                Tensor last = col.slice(2, n - 1, n);
                s = s.mul(IndexOps.causalMask(col.sub(c.reshape(b, h, 1, n))).exp());
                colDecay = col.exp();
                toEnd = last.sub(col).exp();
                chunkDecay = last.exp();
            }
            Tensor out = s.matmul(vc);

            // Contribution of the earlier chunks through the state: (B, H, n, D).
            if (state != null) {
                Tensor past = qc.matmul(state).scale(scale);
                out = out.add(colDecay == null ? past : past.mul(colDecay));
            }
            outs.add(out);

            // State update: S' = decay S + sum_j decay_j k_j v_j^T, (B, H, D, D).
            if (t1 < t) {
                Tensor kd = toEnd == null ? kc : kc.mul(toEnd);
                Tensor add = kd.transpose(-2, -1).matmul(vc);
                if (state == null) {
                    state = add;
                } else {
                    state = (chunkDecay == null ? state : state.mul(chunkDecay)).add(add);
                }
            }
        }
        if (outs.isEmpty()) {
            return Tensor.zeros(b, h, t, d);
        }
        return outs.size() == 1 ? outs.get(0) : IndexOps.concat(2, outs.toArray(new Tensor[0]));
    }
}
