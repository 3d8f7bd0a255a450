package dev.joule.engine.kernels;

import static dev.joule.engine.kernels.ElementwiseVector.L;
import static dev.joule.engine.kernels.ElementwiseVector.S;
import static dev.joule.engine.kernels.FlashAttention.KEY_BLOCK;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Vector API twin of {@link FlashAttentionScalar}, with the same contracts.
 *
 * <p>Dot products over the head dimension D are vectorized across keys, not across D: the key block is
 * stored transposed (D rows of {@link FlashAttention#KEY_BLOCK} keys), so each lane holds one key and
 * runs its own fma chain over d = 0..D-1. No horizontal reduction is needed. A float lane reduction
 * ({@code reduceLanes(ADD)}) has no specified order and could round differently in interpreted and
 * compiled code, which would break bitwise reproducibility. The axpy updates over D (output and dQ
 * rows) use fma across D with a masked tail.
 *
 * <p>The score and axpy kernels handle four query rows at a time so that each key or value vector
 * loaded from memory feeds four fmas. Because every lane and every row runs the same chain in the same
 * order, a value does not depend on whether its row sits in a group of four.
 *
 * <p>Loads from scratch rows of KEY_BLOCK floats read whole vectors even past {@code n}: KEY_BLOCK is a
 * multiple of the lane count, so they stay in bounds, and the lanes past {@code n} are never stored.
 */
final class FlashAttentionVector {
    static {
        if (KEY_BLOCK % L != 0) {
            throw new IllegalStateException("FlashAttention.KEY_BLOCK = " + KEY_BLOCK
                    + " must be a multiple of the vector length " + L);
        }
    }

    private FlashAttentionVector() {}

    static void scores(float[] x, int xOff, int xStride, int rows, float[] kT, int n, int dim, float scale,
            float[] out) {
        if (rows == 4) {
            scores4(x, xOff, xStride, kT, n, dim, scale, out);
            return;
        }
        for (int r = 0; r < rows; r++) {
            scores1(x, xOff + r * xStride, kT, n, dim, scale, out, r * KEY_BLOCK);
        }
    }

    /** Covers two key vectors per step: eight independent fma chains hide the fma latency. */
    private static void scores4(float[] x, int xOff, int xStride, float[] kT, int n, int dim, float scale,
            float[] out) {
        int x0 = xOff;
        int x1 = xOff + xStride;
        int x2 = xOff + 2 * xStride;
        int x3 = xOff + 3 * xStride;
        int j = 0;
        for (; j + L < n; j += 2 * L) {
            // Accumulators start from FloatVector.zero, not a static final zero vector: with a static
            // constant as the loop's initial value, C2 on JDK 25 kept the vectors boxed (about 15x slower).
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = FloatVector.zero(S);
            FloatVector a2 = FloatVector.zero(S);
            FloatVector a3 = FloatVector.zero(S);
            FloatVector b0 = FloatVector.zero(S);
            FloatVector b1 = FloatVector.zero(S);
            FloatVector b2 = FloatVector.zero(S);
            FloatVector b3 = FloatVector.zero(S);
            for (int d = 0; d < dim; d++) {
                FloatVector ka = FloatVector.fromArray(S, kT, d * KEY_BLOCK + j);
                FloatVector kb = FloatVector.fromArray(S, kT, d * KEY_BLOCK + j + L);
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
            a0.mul(scale).intoArray(out, j);
            a1.mul(scale).intoArray(out, KEY_BLOCK + j);
            a2.mul(scale).intoArray(out, 2 * KEY_BLOCK + j);
            a3.mul(scale).intoArray(out, 3 * KEY_BLOCK + j);
            b0.mul(scale).intoArray(out, j + L, m);
            b1.mul(scale).intoArray(out, KEY_BLOCK + j + L, m);
            b2.mul(scale).intoArray(out, 2 * KEY_BLOCK + j + L, m);
            b3.mul(scale).intoArray(out, 3 * KEY_BLOCK + j + L, m);
        }
        if (j < n) {
            FloatVector a0 = FloatVector.zero(S);
            FloatVector a1 = FloatVector.zero(S);
            FloatVector a2 = FloatVector.zero(S);
            FloatVector a3 = FloatVector.zero(S);
            for (int d = 0; d < dim; d++) {
                FloatVector k = FloatVector.fromArray(S, kT, d * KEY_BLOCK + j);
                a0 = FloatVector.broadcast(S, x[x0 + d]).fma(k, a0);
                a1 = FloatVector.broadcast(S, x[x1 + d]).fma(k, a1);
                a2 = FloatVector.broadcast(S, x[x2 + d]).fma(k, a2);
                a3 = FloatVector.broadcast(S, x[x3 + d]).fma(k, a3);
            }
            VectorMask<Float> m = S.indexInRange(j, n);
            a0.mul(scale).intoArray(out, j, m);
            a1.mul(scale).intoArray(out, KEY_BLOCK + j, m);
            a2.mul(scale).intoArray(out, 2 * KEY_BLOCK + j, m);
            a3.mul(scale).intoArray(out, 3 * KEY_BLOCK + j, m);
        }
    }

    private static void scores1(float[] x, int xo, float[] kT, int n, int dim, float scale, float[] out, int oo) {
        for (int j = 0; j < n; j += L) {
            FloatVector a = FloatVector.zero(S);
            for (int d = 0; d < dim; d++) {
                a = FloatVector.broadcast(S, x[xo + d]).fma(FloatVector.fromArray(S, kT, d * KEY_BLOCK + j), a);
            }
            a.mul(scale).intoArray(out, oo + j, S.indexInRange(j, n));
        }
    }

    static void expShifted(float[] s, int off, int cnt, float shift) {
        FloatVector sh = FloatVector.broadcast(S, shift);
        for (int j = 0; j < cnt; j += L) {
            VectorMask<Float> m = S.indexInRange(j, cnt);
            FloatVector x = FloatVector.fromArray(S, s, off + j);
            ElementwiseVector.exp(x.sub(sh)).intoArray(s, off + j, m);
        }
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

    static void accumulateRows(float[] w, int rows, int cnt, float[] src, int srcOff, int srcStride, int dim,
            float[] acc, int accOff) {
        if (rows == 4) {
            accumulateRows4(w, cnt, src, srcOff, srcStride, dim, acc, accOff);
            return;
        }
        for (int r = 0; r < rows; r++) {
            accumulateRow1(w, r * KEY_BLOCK, cnt, src, srcOff, srcStride, dim, acc, accOff + r * dim);
        }
    }

    /** Covers two full vectors of D per step when it can, for eight independent fma chains. */
    private static void accumulateRows4(float[] w, int cnt, float[] src, int srcOff, int srcStride, int dim,
            float[] acc, int accOff) {
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
                FloatVector w0 = FloatVector.broadcast(S, w[j]);
                FloatVector w1 = FloatVector.broadcast(S, w[KEY_BLOCK + j]);
                FloatVector w2 = FloatVector.broadcast(S, w[2 * KEY_BLOCK + j]);
                FloatVector w3 = FloatVector.broadcast(S, w[3 * KEY_BLOCK + j]);
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
                a0 = FloatVector.broadcast(S, w[j]).fma(v, a0);
                a1 = FloatVector.broadcast(S, w[KEY_BLOCK + j]).fma(v, a1);
                a2 = FloatVector.broadcast(S, w[2 * KEY_BLOCK + j]).fma(v, a2);
                a3 = FloatVector.broadcast(S, w[3 * KEY_BLOCK + j]).fma(v, a3);
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

    static void accumulateOuter(float[] x, int xOff, int xStride, int rows, int dim, float[] w, int n,
            float[] accT) {
        if (rows == 4) {
            accumulateOuter4(x, xOff, xStride, dim, w, n, accT);
            return;
        }
        for (int r = 0; r < rows; r++) {
            int xo = xOff + r * xStride;
            int wo = r * KEY_BLOCK;
            for (int d = 0; d < dim; d++) {
                FloatVector xd = FloatVector.broadcast(S, x[xo + d]);
                int ao = d * KEY_BLOCK;
                for (int j = 0; j < n; j += L) {
                    FloatVector a = FloatVector.fromArray(S, accT, ao + j);
                    xd.fma(FloatVector.fromArray(S, w, wo + j), a).intoArray(accT, ao + j, S.indexInRange(j, n));
                }
            }
        }
    }

    private static void accumulateOuter4(float[] x, int xOff, int xStride, int dim, float[] w, int n,
            float[] accT) {
        int x0 = xOff;
        int x1 = xOff + xStride;
        int x2 = xOff + 2 * xStride;
        int x3 = xOff + 3 * xStride;
        for (int d = 0; d < dim; d++) {
            FloatVector b0 = FloatVector.broadcast(S, x[x0 + d]);
            FloatVector b1 = FloatVector.broadcast(S, x[x1 + d]);
            FloatVector b2 = FloatVector.broadcast(S, x[x2 + d]);
            FloatVector b3 = FloatVector.broadcast(S, x[x3 + d]);
            int ao = d * KEY_BLOCK;
            for (int j = 0; j < n; j += L) {
                FloatVector a = FloatVector.fromArray(S, accT, ao + j);
                a = b0.fma(FloatVector.fromArray(S, w, j), a);
                a = b1.fma(FloatVector.fromArray(S, w, KEY_BLOCK + j), a);
                a = b2.fma(FloatVector.fromArray(S, w, 2 * KEY_BLOCK + j), a);
                a = b3.fma(FloatVector.fromArray(S, w, 3 * KEY_BLOCK + j), a);
                a.intoArray(accT, ao + j, S.indexInRange(j, n));
            }
        }
    }
}
