package dev.joule.engine;

import dev.joule.engine.kernels.FlashAttention;
import java.util.Arrays;

/**
 * Fused attention ops. They compute the same function as the composition of matmul, causal mask,
 * softmax and matmul, but never store the (B, H, T, T) scores: see {@link FlashAttention} for the
 * kernels and their memory and determinism guarantees.
 */
public final class AttentionOps {
    private AttentionOps() {}

    /**
     * Computes causal multi-head softmax attention straight from a fused projection.
     *
     * <p>qkv (B, T, 3C) contains q in columns [0, C), k in [C, 2C) and v in [2C, 3C). Head h of H uses
     * columns h*D to (h+1)*D of each, with D = C / H. Row i of head h of the result is
     * {@code y_i = sum_{j <= i} softmax_j(scale * q_i . k_j) v_j}, placed in columns h*D to (h+1)*D of a
     * (B, T, C) tensor, the layout that the output projection reads.
     *
     * <p>The backward pass recomputes the attention weights from the saved row max and normalizer, so the
     * op keeps O(B * T * C) memory for backward instead of O(B * H * T * T).
     *
     * @param qkv (B, T, 3C), any layout
     * @param heads H, at least 1
     * @param scale the factor applied to q . k, usually 1 / sqrt(D)
     * @return (B, T, C)
     * @throws ShapeException if qkv is not rank 3 or its last axis is not divisible by 3 * heads
     * @throws IllegalArgumentException if heads is below 1 or scale is not finite
     */
    public static Tensor causalSelfAttention(Tensor qkv, int heads, float scale) {
        if (heads < 1) {
            throw new IllegalArgumentException("causalSelfAttention: heads must be at least 1, got " + heads);
        }
        if (!Float.isFinite(scale)) {
            throw new IllegalArgumentException("causalSelfAttention: scale must be finite, got " + scale);
        }
        if (qkv.rank() != 3) {
            throw new ShapeException("causalSelfAttention expects qkv of shape (B, T, 3C), got "
                    + Arrays.toString(qkv.shape));
        }
        int width = qkv.shape[2];
        if (width % (3 * heads) != 0) {
            throw new ShapeException("causalSelfAttention: the last axis of qkv " + Arrays.toString(qkv.shape)
                    + " has size " + width + ", which is not divisible by 3 * heads = " + 3 * heads);
        }
        int batch = qkv.shape[0];
        int t = qkv.shape[1];
        int c = width / 3;
        int dim = c / heads;

        float[] in = qkv.isContiguous() && qkv.offset == 0 ? qkv.data : qkv.toArray();
        int[] outShape = {batch, t, c};
        float[] y = Buffers.floats(Shapes.checkedNumel(outShape));
        float[] rowMax = Buffers.floats(batch * heads * t);
        float[] rowInvSum = Buffers.floats(rowMax.length);
        FlashAttention.forward(in, batch, t, heads, dim, scale, y, rowMax, rowInvSum);

        return Autograd.record(Tensor.of(y, outShape), "causalSelfAttention", g -> {
            float[] dqkv = Buffers.floats(batch * t * width);
            FlashAttention.backward(in, y, g.dense(), rowMax, rowInvSum, batch, t, heads, dim, scale, dqkv);
            Autograd.accumulateOwned(qkv, dqkv);
        }, qkv);
    }
}
