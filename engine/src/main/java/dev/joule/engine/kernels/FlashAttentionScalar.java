package dev.joule.engine.kernels;

import static dev.joule.engine.kernels.FlashAttention.KEY_BLOCK;

/**
 * Plain-loop twin of {@link FlashAttentionVector}: the inner loops of {@link FlashAttention} on one key
 * block. It is the reference the vector kernels are tested against and the fallback when
 * {@code jdk.incubator.vector} is not loaded, so it must never reference that module.
 *
 * <p>Scratch matrices (scores, weights and transposed gradient accumulators) have rows of
 * {@link FlashAttention#KEY_BLOCK} floats. The transposed K and V have rows of {@code ldk} floats. Every sum runs over its index in increasing order, one multiply and one add per step, so a
 * value does not depend on which row group or task computed it.
 */
final class FlashAttentionScalar {
    private FlashAttentionScalar() {}

    /**
     * Writes {@code out[outOff + r*KEY_BLOCK + j] = scale * sum_d x[r][d] * kT[kOff + d*ldk + j]} for r
     * below {@code rows} and j below {@code n}, where row r of x starts at {@code xOff + r * xStride}.
     */
    static void scores(float[] x, int xOff, int xStride, int rows, float[] kT, int kOff, int ldk, int n, int dim,
            float scale, float[] out, int outOff) {
        for (int r = 0; r < rows; r++) {
            int xo = xOff + r * xStride;
            int oo = outOff + r * KEY_BLOCK;
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                for (int d = 0; d < dim; d++) {
                    acc += x[xo + d] * kT[kOff + d * ldk + j];
                }
                out[oo + j] = acc * scale;
            }
        }
    }

    /** Returns the max of {@code s[off + j]} for j below {@code cnt}, at least 1. */
    static float rowMax(float[] s, int off, int cnt) {
        float max = s[off];
        for (int j = 1; j < cnt; j++) {
            max = Math.max(max, s[off + j]);
        }
        return max;
    }

    /**
     * Replaces {@code s[off + j]} by {@code exp(s[off + j] - shift)} for j below {@code cnt} and returns
     * the sum of the new values.
     */
    static double expShiftedSum(float[] s, int off, int cnt, float shift) {
        double sum = 0;
        for (int j = 0; j < cnt; j++) {
            float e = (float) Math.exp(s[off + j] - shift);
            s[off + j] = e;
            sum += e;
        }
        return sum;
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
     * Adds {@code sum_{j < cnt} w[wOff + r*KEY_BLOCK + j] * src[srcOff + j*srcStride + d]} to
     * {@code acc[accOff + r*dim + d]} for r below {@code rows} and d below {@code dim}, with j increasing.
     */
    static void accumulateRows(float[] w, int wOff, int rows, int cnt, float[] src, int srcOff, int srcStride,
            int dim, float[] acc, int accOff) {
        for (int r = 0; r < rows; r++) {
            int wo = wOff + r * KEY_BLOCK;
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
     * w has {@code rows} rows of KEY_BLOCK floats. The vector twin also adds the entries of w past
     * {@code n}, which callers leave at 0.
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
