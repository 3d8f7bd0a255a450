package dev.joule.engine.kernels;

import static dev.joule.engine.kernels.ElementwiseVector.L;
import static dev.joule.engine.kernels.ElementwiseVector.S;
import static dev.joule.engine.kernels.FlashAttention.KEY_BLOCK;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Vector API twin of {@link FlashAttentionScalar}, with the same contracts.
 *
 * <p>Dot products over the head dimension D are vectorized across keys, not across D: K and V are
 * stored transposed (D rows of keys), so each lane computes one key's dot product with its own fma
 * chain over d = 0..D-1. No horizontal reduction is needed. A float lane reduction
 * ({@code reduceLanes(ADD)}) has no specified order and could round differently in interpreted and
 * compiled code, which would break bitwise reproducibility. The axpy updates over D (output and dQ
 * rows) use fma across D with a masked tail.
 *
 * <p>The score and axpy kernels handle four query rows at a time so that each key or value vector
 * loaded from memory feeds four fmas (accumulateOuter instead keeps its accumulators in registers). Because every lane and every row runs the same chain in the same
 * order, a value does not depend on whether its row sits in a group of four.
 *
 * <p>Loads from the transposed K and V and from scratch rows of KEY_BLOCK floats read whole vectors even
 * past {@code n}. Their row lengths are multiples of KEY_BLOCK, itself a multiple of 2 vectors, so the
 * loads stay in bounds. Score lanes past {@code n} are never stored, and accumulateOuter adds only the
 * zero weights past {@code n} into accT.
 */
final class FlashAttentionVector {
    static {
        if (KEY_BLOCK % (2 * L) != 0) {
            throw new IllegalStateException("FlashAttention.KEY_BLOCK = " + KEY_BLOCK
                    + " must be a multiple of twice the vector length " + L);
        }
    }

    private FlashAttentionVector() {}

    static void scores(float[] x, int xOff, int xStride, int rows, float[] kT, int kOff, int ldk, int n, int dim,
            float scale, float[] out, int outOff) {
        if (rows == 4) {
            scores4(x, xOff, xStride, kT, kOff, ldk, n, dim, scale, out, outOff);
            return;
        }
        for (int r = 0; r < rows; r++) {
            scores1(x, xOff + r * xStride, kT, kOff, ldk, n, dim, scale, out, outOff + r * KEY_BLOCK);
        }
    }

    /** Covers two key vectors per step: eight independent fma chains hide the fma latency. */
    private static void scores4(float[] x, int xOff, int xStride, float[] kT, int kOff, int ldk, int n, int dim,
            float scale, float[] out, int outOff) {
        int x0 = xOff;
        int x1 = xOff + xStride;
        int x2 = xOff + 2 * xStride;
        int x3 = xOff + 3 * xStride;
        int j = 0;
        for (; j + L < n; j += 2 * L) {
            // Accumulators start from FloatVector.zero, not a static final zero vector: with a static
            // constant as the loop's initial value, C2 on JDK 25 kept the vectors boxed (about 15x slower in a
            // microbenchmark of this loop).
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = FloatVector.zero(S);
            FloatVector a2 = FloatVector.zero(S);
            FloatVector a3 = FloatVector.zero(S);
            FloatVector b0 = FloatVector.zero(S);
            FloatVector b1 = FloatVector.zero(S);
            FloatVector b2 = FloatVector.zero(S);
            FloatVector b3 = FloatVector.zero(S);
            for (int d = 0; d < dim; d++) {
                FloatVector ka = FloatVector.fromArray(S, kT, kOff + d * ldk + j);
                FloatVector kb = FloatVector.fromArray(S, kT, kOff + d * ldk + j + L);
                FloatVector q0 = FloatVector.broadcast(S, x[x0 + d]);
                FloatVector q1 = FloatVector.broadcast(S, x[x1 + d]);
                FloatVector q2 = FloatVector.broadcast(S, x[x2 + d]);
                FloatVector q3 = FloatVector.broadcast(S, x[x3 + d]);
                a0 = q0.fma(ka, a0);
                b0 = q0.fma(kb, b0);
                a1 = q1.fma(ka, a1);
                b1 = q1.fma(kb, b1);
                a2 = q2.fma(ka, a2);
                b2 = q2.fma(kb, b2);
                a3 = q3.fma(ka, a3);
                b3 = q3.fma(kb, b3);
            }
            VectorMask<Float> m = S.indexInRange(j + L, n);
            a0.mul(scale).intoArray(out, outOff + j);
            a1.mul(scale).intoArray(out, outOff + KEY_BLOCK + j);
            a2.mul(scale).intoArray(out, outOff + 2 * KEY_BLOCK + j);
            a3.mul(scale).intoArray(out, outOff + 3 * KEY_BLOCK + j);
            b0.mul(scale).intoArray(out, outOff + j + L, m);
            b1.mul(scale).intoArray(out, outOff + KEY_BLOCK + j + L, m);
            b2.mul(scale).intoArray(out, outOff + 2 * KEY_BLOCK + j + L, m);
            b3.mul(scale).intoArray(out, outOff + 3 * KEY_BLOCK + j + L, m);
        }
        if (j < n) {
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = FloatVector.zero(S);
            FloatVector a2 = FloatVector.zero(S);
            FloatVector a3 = FloatVector.zero(S);
            for (int d = 0; d < dim; d++) {
                FloatVector k = FloatVector.fromArray(S, kT, kOff + d * ldk + j);
                a0 = FloatVector.broadcast(S, x[x0 + d]).fma(k, a0);
                a1 = FloatVector.broadcast(S, x[x1 + d]).fma(k, a1);
                a2 = FloatVector.broadcast(S, x[x2 + d]).fma(k, a2);
                a3 = FloatVector.broadcast(S, x[x3 + d]).fma(k, a3);
            }
            VectorMask<Float> m = S.indexInRange(j, n);
            a0.mul(scale).intoArray(out, outOff + j, m);
            a1.mul(scale).intoArray(out, outOff + KEY_BLOCK + j, m);
            a2.mul(scale).intoArray(out, outOff + 2 * KEY_BLOCK + j, m);
            a3.mul(scale).intoArray(out, outOff + 3 * KEY_BLOCK + j, m);
        }
    }

    private static void scores1(float[] x, int xo, float[] kT, int kOff, int ldk, int n, int dim, float scale,
            float[] out, int oo) {
        for (int j = 0; j < n; j += L) {
            FloatVector a = FloatVector.zero(S);
            for (int d = 0; d < dim; d++) {
                a = FloatVector.broadcast(S, x[xo + d]).fma(FloatVector.fromArray(S, kT, kOff + d * ldk + j), a);
            }
            a.mul(scale).intoArray(out, oo + j, S.indexInRange(j, n));
        }
    }

    static float rowMax(float[] s, int off, int cnt) {
        FloatVector max = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < cnt; j += L) {
            max = max.lanewise(VectorOperators.MAX, FloatVector.fromArray(S, s, off + j), S.indexInRange(j, cnt));
        }
        // Max is exact and order-free (Math.max semantics, +0 above -0), so the lane order cannot matter.
        return max.reduceLanes(VectorOperators.MAX);
    }

    /**
     * Sums per lane in float, then adds the lanes in index order in double. Unlike
     * {@code reduceLanes(ADD)}, whose order is unspecified, that order is the same in every execution mode.
     */
    static double expShiftedSum(float[] s, int off, int cnt, float shift) {
        float[] lanes = ElementwiseVector.laneScratch();
        FloatVector sh = FloatVector.broadcast(S, shift);
        FloatVector acc = FloatVector.zero(S);
        for (int j = 0; j < cnt; j += L) {
            VectorMask<Float> m = S.indexInRange(j, cnt);
            FloatVector e = ElementwiseVector.exp(FloatVector.fromArray(S, s, off + j).sub(sh));
            e.intoArray(s, off + j, m);
            acc = acc.lanewise(VectorOperators.ADD, e, m);
        }
        acc.intoArray(lanes, 0);
        return ElementwiseVector.sumLanes(lanes);
    }

    static void probsAndScoreGrads(float[] s, float[] dp, int off, int cnt, float max, float invSum, float delta) {
        FloatVector sh = FloatVector.broadcast(S, max);
        for (int j = 0; j < cnt; j += L) {
            VectorMask<Float> m = S.indexInRange(j, cnt);
            FloatVector p = ElementwiseVector.exp(FloatVector.fromArray(S, s, off + j).sub(sh)).mul(invSum);
            p.intoArray(s, off + j, m);
            p.mul(FloatVector.fromArray(S, dp, off + j).sub(delta)).intoArray(dp, off + j, m);
        }
    }

    static void accumulateRows(float[] w, int wOff, int rows, int cnt, float[] src, int srcOff, int srcStride,
            int dim, float[] acc, int accOff) {
        if (rows == 4) {
            accumulateRows4(w, wOff, cnt, src, srcOff, srcStride, dim, acc, accOff);
            return;
        }
        for (int r = 0; r < rows; r++) {
            accumulateRow1(w, wOff + r * KEY_BLOCK, cnt, src, srcOff, srcStride, dim, acc, accOff + r * dim);
        }
    }

    /** Covers two full vectors of D per step when it can, for eight independent fma chains. */
    private static void accumulateRows4(float[] w, int wOff, int cnt, float[] src, int srcOff, int srcStride,
            int dim, float[] acc, int accOff) {
        int a0o = accOff;
        int a1o = accOff + dim;
        int a2o = accOff + 2 * dim;
        int a3o = accOff + 3 * dim;
        int d = 0;
        for (; d + 2 * L <= dim; d += 2 * L) {
            FloatVector a0 = FloatVector.fromArray(S, acc, a0o + d);
            FloatVector a1 = FloatVector.fromArray(S, acc, a1o + d);
            FloatVector a2 = FloatVector.fromArray(S, acc, a2o + d);
            FloatVector a3 = FloatVector.fromArray(S, acc, a3o + d);
            FloatVector b0 = FloatVector.fromArray(S, acc, a0o + d + L);
            FloatVector b1 = FloatVector.fromArray(S, acc, a1o + d + L);
            FloatVector b2 = FloatVector.fromArray(S, acc, a2o + d + L);
            FloatVector b3 = FloatVector.fromArray(S, acc, a3o + d + L);
            for (int j = 0; j < cnt; j++) {
                int so = srcOff + j * srcStride + d;
                FloatVector va = FloatVector.fromArray(S, src, so);
                FloatVector vb = FloatVector.fromArray(S, src, so + L);
                FloatVector w0 = FloatVector.broadcast(S, w[wOff + j]);
                FloatVector w1 = FloatVector.broadcast(S, w[wOff + KEY_BLOCK + j]);
                FloatVector w2 = FloatVector.broadcast(S, w[wOff + 2 * KEY_BLOCK + j]);
                FloatVector w3 = FloatVector.broadcast(S, w[wOff + 3 * KEY_BLOCK + j]);
                a0 = w0.fma(va, a0);
                b0 = w0.fma(vb, b0);
                a1 = w1.fma(va, a1);
                b1 = w1.fma(vb, b1);
                a2 = w2.fma(va, a2);
                b2 = w2.fma(vb, b2);
                a3 = w3.fma(va, a3);
                b3 = w3.fma(vb, b3);
            }
            a0.intoArray(acc, a0o + d);
            a1.intoArray(acc, a1o + d);
            a2.intoArray(acc, a2o + d);
            a3.intoArray(acc, a3o + d);
            b0.intoArray(acc, a0o + d + L);
            b1.intoArray(acc, a1o + d + L);
            b2.intoArray(acc, a2o + d + L);
            b3.intoArray(acc, a3o + d + L);
        }
        for (; d < dim; d += L) {
            // src is the caller's qkv array, so the tail past dim is masked: it may run past the array end.
            VectorMask<Float> m = S.indexInRange(d, dim);
            FloatVector a0 = FloatVector.fromArray(S, acc, a0o + d, m);
            FloatVector a1 = FloatVector.fromArray(S, acc, a1o + d, m);
            FloatVector a2 = FloatVector.fromArray(S, acc, a2o + d, m);
            FloatVector a3 = FloatVector.fromArray(S, acc, a3o + d, m);
            for (int j = 0; j < cnt; j++) {
                FloatVector v = FloatVector.fromArray(S, src, srcOff + j * srcStride + d, m);
                a0 = FloatVector.broadcast(S, w[wOff + j]).fma(v, a0);
                a1 = FloatVector.broadcast(S, w[wOff + KEY_BLOCK + j]).fma(v, a1);
                a2 = FloatVector.broadcast(S, w[wOff + 2 * KEY_BLOCK + j]).fma(v, a2);
                a3 = FloatVector.broadcast(S, w[wOff + 3 * KEY_BLOCK + j]).fma(v, a3);
            }
            a0.intoArray(acc, a0o + d, m);
            a1.intoArray(acc, a1o + d, m);
            a2.intoArray(acc, a2o + d, m);
            a3.intoArray(acc, a3o + d, m);
        }
    }

    private static void accumulateRow1(float[] w, int wo, int cnt, float[] src, int srcOff, int srcStride, int dim,
            float[] acc, int ao) {
        for (int d = 0; d < dim; d += L) {
            VectorMask<Float> m = S.indexInRange(d, dim);
            FloatVector a = FloatVector.fromArray(S, acc, ao + d, m);
            for (int j = 0; j < cnt; j++) {
                FloatVector v = FloatVector.fromArray(S, src, srcOff + j * srcStride + d, m);
                a = FloatVector.broadcast(S, w[wo + j]).fma(v, a);
            }
            a.intoArray(acc, ao + d, m);
        }
    }

    /**
     * Tiles accT into 4 rows of D by 2 vectors of keys, kept in registers across all {@code rows}. Each
     * step then loads 2 weight vectors and 4 x values for 8 fmas, where a row-at-a-time update would load
     * and store accT for every row.
     */
    static void accumulateOuter(float[] x, int xOff, int xStride, int rows, int dim, float[] w, int n,
            float[] accT) {
        for (int j = 0; j < n; j += 2 * L) {
            int d = 0;
            for (; d + 4 <= dim; d += 4) {
                int t0 = d * KEY_BLOCK + j;
                int t1 = t0 + KEY_BLOCK;
                int t2 = t1 + KEY_BLOCK;
                int t3 = t2 + KEY_BLOCK;
                FloatVector a0 = FloatVector.fromArray(S, accT, t0);
                FloatVector a1 = FloatVector.fromArray(S, accT, t1);
                FloatVector a2 = FloatVector.fromArray(S, accT, t2);
                FloatVector a3 = FloatVector.fromArray(S, accT, t3);
                FloatVector b0 = FloatVector.fromArray(S, accT, t0 + L);
                FloatVector b1 = FloatVector.fromArray(S, accT, t1 + L);
                FloatVector b2 = FloatVector.fromArray(S, accT, t2 + L);
                FloatVector b3 = FloatVector.fromArray(S, accT, t3 + L);
                for (int r = 0; r < rows; r++) {
                    int xo = xOff + r * xStride + d;
                    int wo = r * KEY_BLOCK + j;
                    FloatVector wa = FloatVector.fromArray(S, w, wo);
                    FloatVector wb = FloatVector.fromArray(S, w, wo + L);
                    FloatVector x0 = FloatVector.broadcast(S, x[xo]);
                    FloatVector x1 = FloatVector.broadcast(S, x[xo + 1]);
                    FloatVector x2 = FloatVector.broadcast(S, x[xo + 2]);
                    FloatVector x3 = FloatVector.broadcast(S, x[xo + 3]);
                    a0 = x0.fma(wa, a0);
                    b0 = x0.fma(wb, b0);
                    a1 = x1.fma(wa, a1);
                    b1 = x1.fma(wb, b1);
                    a2 = x2.fma(wa, a2);
                    b2 = x2.fma(wb, b2);
                    a3 = x3.fma(wa, a3);
                    b3 = x3.fma(wb, b3);
                }
                a0.intoArray(accT, t0);
                a1.intoArray(accT, t1);
                a2.intoArray(accT, t2);
                a3.intoArray(accT, t3);
                b0.intoArray(accT, t0 + L);
                b1.intoArray(accT, t1 + L);
                b2.intoArray(accT, t2 + L);
                b3.intoArray(accT, t3 + L);
            }
            for (; d < dim; d++) {
                int t0 = d * KEY_BLOCK + j;
                FloatVector a0 = FloatVector.fromArray(S, accT, t0);
                FloatVector b0 = FloatVector.fromArray(S, accT, t0 + L);
                for (int r = 0; r < rows; r++) {
                    int wo = r * KEY_BLOCK + j;
                    FloatVector xd = FloatVector.broadcast(S, x[xOff + r * xStride + d]);
                    a0 = xd.fma(FloatVector.fromArray(S, w, wo), a0);
                    b0 = xd.fma(FloatVector.fromArray(S, w, wo + L), b0);
                }
                a0.intoArray(accT, t0);
                b0.intoArray(accT, t0 + L);
            }
        }
    }
}
