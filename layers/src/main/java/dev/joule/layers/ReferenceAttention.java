package dev.joule.layers;

import dev.joule.engine.IndexOps;
import dev.joule.engine.Tensor;

/**
 * Causal multi-head dot-product attention composed from primitive ops, so that autograd derives its
 * backward pass. It materializes the (B, H, T, T) score tensor; the fused kernels avoid that and are
 * tested against this composition.
 */
public final class ReferenceAttention {
    private ReferenceAttention() {}

    /**
     * softmax(q k^T / sqrt(D) + causal mask) v, per head.
     *
     * @param q (B, H, T, D)
     * @param k (B, H, T, D)
     * @param v (B, H, T, D)
     * @return (B, H, T, D)
     */
    public static Tensor attend(Tensor q, Tensor k, Tensor v) {
        int d = q.size(-1);
        Tensor scores = q.matmul(k.transpose(-2, -1)).scale((float) (1.0 / Math.sqrt(d)));
        Tensor weights = IndexOps.causalMask(scores).softmax();
        return weights.matmul(v);
    }

    /**
     * Splits a fused projection (B, T, 3C) into per-head q, k and v of shape (B, H, T, D), D = C / H.
     */
    public static Tensor[] splitHeads(Tensor qkv, int heads) {
        int b = qkv.size(0);
        int t = qkv.size(1);
        int c = qkv.size(2) / 3;
        Tensor[] parts = IndexOps.split(qkv, 2, c, c, c);
        Tensor[] out = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            out[i] = parts[i].contiguous().reshape(b, t, heads, c / heads).permute(0, 2, 1, 3).contiguous();
        }
        return out;
    }

    /** Merges heads (B, H, T, D) back into (B, T, H * D). */
    public static Tensor mergeHeads(Tensor y) {
        int b = y.size(0);
        int h = y.size(1);
        int t = y.size(2);
        int d = y.size(3);
        return y.permute(0, 2, 1, 3).contiguous().reshape(b, t, h * d);
    }
}
