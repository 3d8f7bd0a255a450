package dev.joule.engine.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API twin of {@link ElementwiseScalar}: single-threaded kernels over one contiguous range.
 * {@link Elementwise} splits the work into chunks and calls these per chunk.
 *
 * <p>Each loop runs full vectors of {@code SPECIES_PREFERRED}, then one masked vector for the tail, so an
 * element goes through the same lanewise code whether or not it sits in the tail.
 *
 * <p>exp, log and tanh are built here from add, multiply, fma and bit operations instead of
 * {@code VectorOperators.EXP/LOG/TANH}. On JDK 25 for x86-64, C2 compiles those operators to SVML stubs
 * while the interpreter computes {@code Math.exp} per lane, and the two can differ in the last ulp, so
 * one input could give two results in one run. The basic operations are correctly rounded in every
 * execution mode, which keeps results reproducible. The versions here are within a few ulp of
 * {@code Math.exp}, {@code Math.log} and {@code Math.tanh} (checked by ElementwiseTest), not bitwise equal.
 *
 * <p>Vectors must not cross a call that the JIT leaves out of line, because such a call boxes them: an
 * array per operation, megabytes per training step, and slower code. So the vector kernels of this
 * package keep three rules. An accumulator carried around a loop is updated with
 * {@code acc.lanewise(ADD, x)}, not {@code acc.add(x)}: {@code add} makes its virtual call to
 * {@code lanewise} inside FloatVector, where C2 may have no receiver profile for a loop-carried value,
 * while the kernel's own call site has one. Lane sums go through {@link #laneScratch} and an array
 * argument. And exp, log, tanh, gelu and geluDerivative, which take and return vectors, are inlined by
 * the JVM options that the launcher passes (see README.md), since C2 declines to inline them whenever it
 * has already compiled them on their own.
 */
final class ElementwiseVector {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[L]);

    /** Elements whose per-lane float partial sums are flushed into a double, bounding rounding growth. */
    static final int SUM_BLOCK = 1024;

    static final int OP_ADD = 0;
    static final int OP_SUB = 1;
    static final int OP_MUL = 2;
    static final int OP_DIV = 3;
    static final int OP_EXP = 0;
    static final int OP_LOG = 1;
    static final int OP_TANH = 2;
    static final int OP_GELU = 3;

    // Constant vectors are fine as operands. A loop-carried accumulator, or a ternary that may yield a
    // constant, starts from FloatVector.zero(S) or a broadcast instead. On JDK 25 (x86-64, AVX-512), a merge
    // with a static constant vector made C2 box the vector every iteration, which timed about 10x slower.
    private static final FloatVector ONE = FloatVector.broadcast(S, 1f);
    private static final FloatVector TWO = FloatVector.broadcast(S, 2f);
    private static final FloatVector HALF = FloatVector.broadcast(S, 0.5f);

    // exp: x = n ln2 + r with |r| <= ln2/2, exp(r) by its Taylor series to r^7 (truncation < 1e-8
    // relative), then scaled by 2^n built in the exponent bits.
    private static final float EXP_MIN_INPUT = -104f; // exp(-104) rounds to 0 in float
    private static final float EXP_MAX_INPUT = 89f; // exp(89) overflows to +inf in float
    private static final float LOG2E = 1.44269504f;
    private static final float ROUND_MAGIC = 12582912f; // 1.5 * 2^23: adding it rounds to an integer
    private static final int ROUND_MAGIC_BITS = Float.floatToRawIntBits(ROUND_MAGIC);
    // ln 2 split so that n * LN2_HI is exact for |n| < 2^15 (LN2_HI has 9 significant bits).
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    private static final FloatVector LN2_HI_V = FloatVector.broadcast(S, LN2_HI);
    private static final FloatVector LN2_LO_V = FloatVector.broadcast(S, LN2_LO);
    private static final FloatVector NEG_LN2_HI_V = FloatVector.broadcast(S, -LN2_HI);
    private static final FloatVector NEG_LN2_LO_V = FloatVector.broadcast(S, -LN2_LO);
    private static final FloatVector EXP_C2 = FloatVector.broadcast(S, 1f / 2);
    private static final FloatVector EXP_C3 = FloatVector.broadcast(S, 1f / 6);
    private static final FloatVector EXP_C4 = FloatVector.broadcast(S, 1f / 24);
    private static final FloatVector EXP_C5 = FloatVector.broadcast(S, 1f / 120);
    private static final FloatVector EXP_C6 = FloatVector.broadcast(S, 1f / 720);
    private static final FloatVector EXP_C7 = FloatVector.broadcast(S, 1f / 5040);

    // log: x = 2^e m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s) with s = (m-1)/(m+1), |s| <= 0.172,
    // and the atanh series to s^9 (truncation < 1e-9 relative).
    private static final float SQRT2 = 1.41421356f;
    private static final FloatVector LOG_C3 = FloatVector.broadcast(S, 1f / 3);
    private static final FloatVector LOG_C5 = FloatVector.broadcast(S, 1f / 5);
    private static final FloatVector LOG_C7 = FloatVector.broadcast(S, 1f / 7);
    private static final FloatVector LOG_C9 = FloatVector.broadcast(S, 1f / 9);

    // tanh: Taylor series to x^15 below TANH_SERIES_LIMIT (truncation < 1e-9 relative), else
    // 1 - 2/(exp(2|x|)+1) with the sign of x. The series avoids the cancellation of that formula near 0.
    private static final float TANH_SERIES_LIMIT = 0.4f;
    private static final FloatVector TANH_C3 = FloatVector.broadcast(S, -1f / 3);
    private static final FloatVector TANH_C5 = FloatVector.broadcast(S, 2f / 15);
    private static final FloatVector TANH_C7 = FloatVector.broadcast(S, -17f / 315);
    private static final FloatVector TANH_C9 = FloatVector.broadcast(S, 62f / 2835);
    private static final FloatVector TANH_C11 = FloatVector.broadcast(S, -1382f / 155925);
    private static final FloatVector TANH_C13 = FloatVector.broadcast(S, 21844f / 6081075);
    private static final FloatVector TANH_C15 = FloatVector.broadcast(S, -929569f / 638512875);

    private ElementwiseVector() {}

    static void binary(int op, float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector va = FloatVector.fromArray(S, a, aOff + i);
            FloatVector vb = FloatVector.fromArray(S, b, bOff + i);
            applyBinary(op, va, vb).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector va = FloatVector.fromArray(S, a, aOff + i, m);
            FloatVector vb = FloatVector.fromArray(S, b, bOff + i, m);
            applyBinary(op, va, vb).intoArray(out, outOff + i, m);
        }
    }

    private static FloatVector applyBinary(int op, FloatVector a, FloatVector b) {
        return switch (op) {
            case OP_ADD -> a.add(b);
            case OP_SUB -> a.sub(b);
            case OP_MUL -> a.mul(b);
            case OP_DIV -> a.div(b);
            default -> throw new IllegalArgumentException("unknown binary op " + op);
        };
    }

    static void scale(float[] a, int aOff, float s, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(S, a, aOff + i).mul(s).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector.fromArray(S, a, aOff + i, m).mul(s).intoArray(out, outOff + i, m);
        }
    }

    static void addScalar(float[] a, int aOff, float s, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector.fromArray(S, a, aOff + i).add(s).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector.fromArray(S, a, aOff + i, m).add(s).intoArray(out, outOff + i, m);
        }
    }

    static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector va = FloatVector.broadcast(S, alpha);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector vx = FloatVector.fromArray(S, x, xOff + i);
            FloatVector vy = FloatVector.fromArray(S, y, yOff + i);
            vx.fma(va, vy).intoArray(y, yOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector vx = FloatVector.fromArray(S, x, xOff + i, m);
            FloatVector vy = FloatVector.fromArray(S, y, yOff + i, m);
            vx.fma(va, vy).intoArray(y, yOff + i, m);
        }
    }

    static void unary(int op, float[] in, int inOff, float[] out, int outOff, int n) {
        // One loop per function, not one loop over a switch: the JVM options inline the math functions, and
        // all of them inlined into one method exhaust C1's registers, which then leaves it interpreted.
        switch (op) {
            case OP_EXP -> expRange(in, inOff, out, outOff, n);
            case OP_LOG -> logRange(in, inOff, out, outOff, n);
            case OP_TANH -> tanhRange(in, inOff, out, outOff, n);
            case OP_GELU -> geluRange(in, inOff, out, outOff, n);
            default -> throw new IllegalArgumentException("unknown unary op " + op);
        }
    }

    private static void expRange(float[] in, int inOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            exp(FloatVector.fromArray(S, in, inOff + i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            exp(FloatVector.fromArray(S, in, inOff + i, m)).intoArray(out, outOff + i, m);
        }
    }

    private static void logRange(float[] in, int inOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            log(FloatVector.fromArray(S, in, inOff + i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            log(FloatVector.fromArray(S, in, inOff + i, m)).intoArray(out, outOff + i, m);
        }
    }

    private static void tanhRange(float[] in, int inOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            tanh(FloatVector.fromArray(S, in, inOff + i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            tanh(FloatVector.fromArray(S, in, inOff + i, m)).intoArray(out, outOff + i, m);
        }
    }

    private static void geluRange(float[] in, int inOff, float[] out, int outOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            gelu(FloatVector.fromArray(S, in, inOff + i)).intoArray(out, outOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            gelu(FloatVector.fromArray(S, in, inOff + i, m)).intoArray(out, outOff + i, m);
        }
    }

    static void geluBackward(float[] x, int xOff, float[] dy, int dyOff, float[] dx, int dxOff, int n,
            boolean accumulate) {
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector d = geluDerivative(FloatVector.fromArray(S, x, xOff + i));
            FloatVector g = FloatVector.fromArray(S, dy, dyOff + i);
            FloatVector base = accumulate ? FloatVector.fromArray(S, dx, dxOff + i) : FloatVector.zero(S);
            g.fma(d, base).intoArray(dx, dxOff + i);
        }
        if (i < n) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector d = geluDerivative(FloatVector.fromArray(S, x, xOff + i, m));
            FloatVector g = FloatVector.fromArray(S, dy, dyOff + i, m);
            FloatVector base = accumulate ? FloatVector.fromArray(S, dx, dxOff + i, m) : FloatVector.zero(S);
            g.fma(d, base).intoArray(dx, dxOff + i, m);
        }
    }

    static double sum(float[] a, int off, int n) {
        float[] lanes = laneScratch();
        double total = 0;
        for (int b = 0; b < n; b += SUM_BLOCK) {
            int end = Math.min(n, b + SUM_BLOCK);
            FloatVector acc = FloatVector.zero(S);
            int i = b;
            for (; i <= end - L; i += L) {
                acc = acc.lanewise(VectorOperators.ADD, FloatVector.fromArray(S, a, off + i));
            }
            if (i < end) {
                VectorMask<Float> m = S.indexInRange(i, end);
                acc = acc.lanewise(VectorOperators.ADD, FloatVector.fromArray(S, a, off + i, m));
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        return total;
    }

    static double dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float[] lanes = laneScratch();
        double total = 0;
        for (int blockStart = 0; blockStart < n; blockStart += SUM_BLOCK) {
            int end = Math.min(n, blockStart + SUM_BLOCK);
            FloatVector acc = FloatVector.zero(S);
            int i = blockStart;
            for (; i <= end - L; i += L) {
                FloatVector va = FloatVector.fromArray(S, a, aOff + i);
                acc = va.fma(FloatVector.fromArray(S, b, bOff + i), acc);
            }
            if (i < end) {
                VectorMask<Float> m = S.indexInRange(i, end);
                FloatVector va = FloatVector.fromArray(S, a, aOff + i, m);
                acc = va.fma(FloatVector.fromArray(S, b, bOff + i, m), acc);
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        return total;
    }

    static double sumSquares(float[] a, int off, int n) {
        float[] lanes = laneScratch();
        double total = 0;
        for (int b = 0; b < n; b += SUM_BLOCK) {
            int end = Math.min(n, b + SUM_BLOCK);
            FloatVector acc = FloatVector.zero(S);
            int i = b;
            for (; i <= end - L; i += L) {
                FloatVector va = FloatVector.fromArray(S, a, off + i);
                acc = va.fma(va, acc);
            }
            if (i < end) {
                VectorMask<Float> m = S.indexInRange(i, end);
                FloatVector va = FloatVector.fromArray(S, a, off + i, m);
                acc = va.fma(va, acc);
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        return total;
    }

    /**
     * Adds the lanes into a double from lane 0 upwards. {@code reduceLanes(ADD)} leaves the order to the
     * implementation, which could change the result between execution modes.
     */
    static double sumLanes(float[] lanes) {
        double s = 0;
        for (int i = 0; i < L; i++) {
            s += lanes[i];
        }
        return s;
    }

    /**
     * Returns this thread's array of L floats for {@link #sumLanes}. A kernel stores its accumulator there
     * with intoArray, which never allocates, instead of passing the vector to a helper: a vector argument
     * is boxed whenever the JIT does not inline the call.
     */
    static float[] laneScratch() {
        return LANES.get();
    }

    /** Computes e^x lanewise. NaN stays NaN, +inf gives +inf and -inf gives 0. */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(EXP_MIN_INPUT).min(EXP_MAX_INPUT);
        FloatVector shifted = xc.fma(LOG2E, ROUND_MAGIC);
        FloatVector n = shifted.sub(ROUND_MAGIC);
        IntVector ni = shifted.reinterpretAsInts().sub(ROUND_MAGIC_BITS);
        FloatVector r = n.fma(NEG_LN2_HI_V, xc);
        r = n.fma(NEG_LN2_LO_V, r);

        FloatVector p = EXP_C7.fma(r, EXP_C6);
        p = p.fma(r, EXP_C5);
        p = p.fma(r, EXP_C4);
        p = p.fma(r, EXP_C3);
        p = p.fma(r, EXP_C2);
        p = p.fma(r, ONE);
        p = p.fma(r, ONE);

        // n lies in [-150, 129], outside the normal exponent range at both ends, so 2^n is applied as
        // 2^n1 * 2^n2 with both halves in [-75, 65]. The second multiply rounds into subnormals or inf.
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
        IntVector n2 = ni.sub(n1);
        FloatVector scale1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector scale2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale1).mul(scale2);
    }

    /** Computes the natural log lanewise, with the special values of {@code Math.log}. */
    static FloatVector log(FloatVector x) {
        // Subnormal inputs are scaled by 2^23 so that their exponent field is meaningful.
        VectorMask<Float> subnormal = x.compare(VectorOperators.LT, Float.MIN_NORMAL);
        FloatVector xs = x.blend(x.mul(0x1p23f), subnormal);
        IntVector bits = xs.reinterpretAsInts();
        IntVector biasedExponent = bits.lanewise(VectorOperators.LSHR, 23);
        FloatVector e = ((FloatVector) biasedExponent.sub(127).convert(VectorOperators.I2F, 0));
        e = e.blend(e.sub(23f), subnormal);
        FloatVector m = bits.lanewise(VectorOperators.AND, 0x007FFFFF)
                .lanewise(VectorOperators.OR, 0x3F800000)
                .reinterpretAsFloats();
        VectorMask<Float> high = m.compare(VectorOperators.GT, SQRT2);
        m = m.blend(m.mul(0.5f), high);
        e = e.blend(e.add(1f), high);

        FloatVector f = m.sub(ONE);
        FloatVector s = f.div(f.add(TWO));
        FloatVector z = s.mul(s);
        FloatVector series = LOG_C9.fma(z, LOG_C7);
        series = series.fma(z, LOG_C5);
        series = series.fma(z, LOG_C3);
        series = series.mul(z);
        FloatVector twoS = s.add(s);
        FloatVector logM = twoS.fma(series, twoS);
        FloatVector result = e.fma(LN2_HI_V, e.fma(LN2_LO_V, logM));

        result = result.blend(Float.NaN, x.compare(VectorOperators.LT, 0f));
        result = result.blend(Float.NEGATIVE_INFINITY, x.compare(VectorOperators.EQ, 0f));
        result = result.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
        return result.blend(Float.NaN, x.test(VectorOperators.IS_NAN));
    }

    /** Computes tanh lanewise. */
    static FloatVector tanh(FloatVector x) {
        FloatVector a = x.abs();
        FloatVector e = exp(a.add(a));
        FloatVector large = ONE.sub(TWO.div(e.add(ONE)));
        large = large.lanewise(VectorOperators.NEG, x.compare(VectorOperators.LT, 0f));

        FloatVector z = x.mul(x);
        FloatVector p = TANH_C15.fma(z, TANH_C13);
        p = p.fma(z, TANH_C11);
        p = p.fma(z, TANH_C9);
        p = p.fma(z, TANH_C7);
        p = p.fma(z, TANH_C5);
        p = p.fma(z, TANH_C3);
        FloatVector small = x.mul(z).fma(p, x);
        return large.blend(small, a.compare(VectorOperators.LT, TANH_SERIES_LIMIT));
    }

    private static final float GELU_K = (float) Math.sqrt(2.0 / Math.PI);
    private static final float GELU_C = 0.044715f;

    /** Computes 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), the GELU approximation used by GPT-2. */
    static FloatVector gelu(FloatVector x) {
        FloatVector x2 = x.mul(x);
        FloatVector u = x.mul(x2.fma(GELU_C, 1f)).mul(GELU_K);
        FloatVector t = tanh(u);
        FloatVector halfX = x.mul(HALF);
        return halfX.fma(t, halfX);
    }

    /** Computes d gelu / dx = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2). */
    private static FloatVector geluDerivative(FloatVector x) {
        FloatVector x2 = x.mul(x);
        FloatVector u = x.mul(x2.fma(GELU_C, 1f)).mul(GELU_K);
        FloatVector t = tanh(u);
        FloatVector halfOnePlusT = t.fma(0.5f, 0.5f);
        FloatVector sech2 = t.neg().fma(t, ONE);
        FloatVector du = x2.fma(3f * GELU_C * GELU_K, GELU_K);
        return x.mul(HALF).mul(sech2).fma(du, halfOnePlusT);
    }
}
