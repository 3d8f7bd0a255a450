package dev.joule.engine.kernels;

import static dev.joule.engine.kernels.FlashAttention.KEY_BLOCK;

/**
 * Plain-loop twin of {@link FlashAttentionVector}: the inner loops of {@link FlashAttention} on one key
 * block. It is the reference the vector kernels are tested against and the fallback when
 * {@code jdk.incubator.vector} is not loaded, so it must never reference that module.
 *
 * <p>Scratch matrices (scores, weights and transposed key blocks) have rows of {@link FlashAttention#KEY_BLOCK}
 * floats. Every sum runs over its index in increasing order, one multiply and one add per step, so a
 * value does not depend on which row group or task computed it.
 */
final class FlashAttentionScalar {
    private FlashAttentionScalar() {}

    /**
     * Writes {@code out[r*KEY_BLOCK + j] = scale * sum_d x[r][d] * kT[d*KEY_BLOCK + j]} for r below
     * {@code rows} and j below {@code n}, where row r of x starts at {@code xOff + r * xStride}.
     */
    static void scores(float[] x, int xOff, int xStride, int rows, float[] kT, int n, int dim, float scale,
            float[] out) {
        for (int r = 0; r < rows; r++) {
            int xo = xOff + r * xStride;
            int oo = r * KEY_BLOCK;
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                for (int d = 0; d < dim; d++) {
                    acc += x[xo + d] * kT[d * KEY_BLOCK + j];
                }
                out[oo + j] = acc * scale;
            }
        }
    }

    /** Replaces {@code s[off + j]} by {@code exp(s[off + j] - shift)} for j below {@code cnt}. */
    static void expShifted(float[] s, int off, int cnt, float shift) {
        for (int j = 0; j < cnt; j++) {
            s[off + j] = (float) Math.exp(s[off + j] - shift);
        }
    }

    /**
     * Turns scores into probabilities {@code p = exp(s - max) * invSum} in place and the products
     * {@code dp} into score gradients {@code p * (dp - delta)} in place, for the first {@code cnt} entries.
     */
    static void probsAndScoreGrads(float[] s, float[] dp, int off, int cnt, float max, float invSum, float delta) {
        for (int j = 0; j < cnt; j++) {
            float p = (float) Math.exp(s[off + j] - max) * invSum;
            s[off + j] = p;
            dp[off + j] = p * (dp[off + j] - delta);
        }
    }

    /**
     * Adds {@code sum_{j < cnt} w[r*KEY_BLOCK + j] * src[srcOff + j*srcStride + d]} to
     * {@code acc[accOff + r*dim + d]} for r below {@code rows} and d below {@code dim}, with j increasing.
     */
    static void accumulateRows(float[] w, int rows, int cnt, float[] src, int srcOff, int srcStride, int dim,
            float[] acc, int accOff) {
        for (int r = 0; r < rows; r++) {
            int wo = r * KEY_BLOCK;
            int ao = accOff + r * dim;
            for (int j = 0; j < cnt; j++) {
                float wj = w[wo + j];
                int so = srcOff + j * srcStride;
                for (int d = 0; d < dim; d++) {
                    acc[ao + d] += wj * src[so + d];
                }
            }
        }
    }

    /**
     * Adds {@code sum_{r < rows} x[xOff + r*xStride + d] * w[r*KEY_BLOCK + j]} to
     * {@code accT[d*KEY_BLOCK + j]} for d below {@code dim} and j below {@code n}, with r increasing.
     */
    static void accumulateOuter(float[] x, int xOff, int xStride, int rows, int dim, float[] w, int n,
            float[] accT) {
        for (int r = 0; r < rows; r++) {
            int xo = xOff + r * xStride;
            int wo = r * KEY_BLOCK;
            for (int d = 0; d < dim; d++) {
                float xd = x[xo + d];
                int ao = d * KEY_BLOCK;
                for (int j = 0; j < n; j++) {
                    accT[ao + j] += xd * w[wo + j];
                }
            }
        }
    }
}
