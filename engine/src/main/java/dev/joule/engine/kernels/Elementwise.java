package dev.joule.engine.kernels;

import java.util.Objects;

/**
 * Elementwise maps and full reductions over flat float ranges.
 *
 * <p>Each method picks {@link ElementwiseVector} when {@link Simd#enabled()} and {@link ElementwiseScalar}
 * otherwise, and runs it over fixed chunks of {@link #CHUNK} elements. Chunks go to the {@link Parallel}
 * pool once the range reaches a size threshold, and smaller ranges run the same chunks inline. Chunk
 * boundaries depend only on {@code n}, so a map gives the same bits at any thread count. A reduction
 * computes one double partial per chunk and adds the partials in chunk order, so it is also independent
 * of the thread count. It does depend on the vector width, because the vector kernel keeps one float
 * partial per lane.
 *
 * <p>An output may alias an input when both use the same offset.
 */
public final class Elementwise {
    /** Elements per task. A multiple of every vector length and of {@link ElementwiseVector#SUM_BLOCK}. */
    static final int CHUNK = 4096;

    // Below these sizes a task hand-off costs more than it saves. Both are estimates, not measurements:
    // an add streams 12 bytes per element and is memory-bound, while exp or gelu costs tens of flops.
    static final int CHEAP_PARALLEL_MIN = 1 << 17;
    static final int COSTLY_PARALLEL_MIN = 1 << 14;

    private Elementwise() {}

    /** A kernel over the element range {@code [from, to)} of one call. */
    @FunctionalInterface
    interface RangeKernel {
        void run(int from, int to);
    }

    /** Runs {@code kernel} over fixed {@link #CHUNK}-sized pieces of {@code [0, n)}. */
    static void forChunks(int n, int parallelMin, RangeKernel kernel) {
        if (n <= 0) {
            return;
        }
        int tasks = (int) (((long) n + CHUNK - 1) / CHUNK);
        if (n < parallelMin || tasks == 1) {
            for (int t = 0; t < tasks; t++) {
                int from = t * CHUNK;
                kernel.run(from, Math.min(n, from + CHUNK));
            }
            return;
        }
        Parallel.forRange(tasks, t -> {
            int from = t * CHUNK;
            kernel.run(from, Math.min(n, from + CHUNK));
        });
    }

    /** A reduction over the element range {@code [from, to)} of one call. */
    @FunctionalInterface
    interface RangeReduction {
        double apply(int from, int to);
    }

    /** Reduces each {@link #CHUNK} of {@code [0, n)} and adds the chunk results in chunk order. */
    static double reduceChunks(int n, int parallelMin, RangeReduction reduction) {
        if (n <= 0) {
            return 0;
        }
        int tasks = (int) (((long) n + CHUNK - 1) / CHUNK);
        double[] partials = new double[tasks];
        RangeKernel fill = (from, to) -> partials[from / CHUNK] = reduction.apply(from, to);
        forChunks(n, parallelMin, fill);
        double total = 0;
        for (double p : partials) {
            total += p;
        }
        return total;
    }

    static void checkRange(float[] a, int off, int n, String name) {
        Objects.requireNonNull(a, name);
        if (n < 0) {
            throw new IllegalArgumentException("length must be non-negative, got " + n);
        }
        Objects.checkFromIndexSize(off, n, a.length);
    }

    /** Computes {@code out[i] = a[i] + b[i]}. */
    public static void add(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        binary(ElementwiseVector.OP_ADD, a, aOff, b, bOff, out, outOff, n);
    }

    /** Computes {@code out[i] = a[i] - b[i]}. */
    public static void sub(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        binary(ElementwiseVector.OP_SUB, a, aOff, b, bOff, out, outOff, n);
    }

    /** Computes {@code out[i] = a[i] * b[i]}. */
    public static void mul(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        binary(ElementwiseVector.OP_MUL, a, aOff, b, bOff, out, outOff, n);
    }

    /** Computes {@code out[i] = a[i] / b[i]}. */
    public static void div(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        binary(ElementwiseVector.OP_DIV, a, aOff, b, bOff, out, outOff, n);
    }

    private static void binary(int op, float[] a, int aOff, float[] b, int bOff, float[] out, int outOff,
            int n) {
        checkRange(a, aOff, n, "a");
        checkRange(b, bOff, n, "b");
        checkRange(out, outOff, n, "out");
        boolean simd = Simd.enabled();
        // Small calls run directly: a capturing lambda per call is garbage that C2 does not always remove,
        // and the bias addition calls this once per row.
        if (n < CHEAP_PARALLEL_MIN) {
            binaryRange(simd, op, a, aOff, b, bOff, out, outOff, n);
            return;
        }
        forChunks(n, CHEAP_PARALLEL_MIN, (from, to) ->
                binaryRange(simd, op, a, aOff + from, b, bOff + from, out, outOff + from, to - from));
    }

    private static void binaryRange(boolean simd, int op, float[] a, int aOff, float[] b, int bOff, float[] out,
            int outOff, int len) {
        if (simd) {
            ElementwiseVector.binary(op, a, aOff, b, bOff, out, outOff, len);
            return;
        }
        switch (op) {
            case ElementwiseVector.OP_ADD -> ElementwiseScalar.add(a, aOff, b, bOff, out, outOff, len);
            case ElementwiseVector.OP_SUB -> ElementwiseScalar.sub(a, aOff, b, bOff, out, outOff, len);
            case ElementwiseVector.OP_MUL -> ElementwiseScalar.mul(a, aOff, b, bOff, out, outOff, len);
            case ElementwiseVector.OP_DIV -> ElementwiseScalar.div(a, aOff, b, bOff, out, outOff, len);
            default -> throw new IllegalArgumentException("unknown binary op " + op);
        }
    }

    /** Computes {@code out[i] = a[i] * s}. */
    public static void scale(float[] a, int aOff, float s, float[] out, int outOff, int n) {
        checkRange(a, aOff, n, "a");
        checkRange(out, outOff, n, "out");
        boolean simd = Simd.enabled();
        forChunks(n, CHEAP_PARALLEL_MIN, (from, to) -> {
            if (simd) {
                ElementwiseVector.scale(a, aOff + from, s, out, outOff + from, to - from);
            } else {
                ElementwiseScalar.scale(a, aOff + from, s, out, outOff + from, to - from);
            }
        });
    }

    /** Computes {@code out[i] = a[i] + s}. */
    public static void addScalar(float[] a, int aOff, float s, float[] out, int outOff, int n) {
        checkRange(a, aOff, n, "a");
        checkRange(out, outOff, n, "out");
        boolean simd = Simd.enabled();
        forChunks(n, CHEAP_PARALLEL_MIN, (from, to) -> {
            if (simd) {
                ElementwiseVector.addScalar(a, aOff + from, s, out, outOff + from, to - from);
            } else {
                ElementwiseScalar.addScalar(a, aOff + from, s, out, outOff + from, to - from);
            }
        });
    }

    /**
     * Computes {@code y[i] += alpha * x[i]}. The vector path rounds once per element (fma) and the scalar
     * path twice, so the two can differ in the last ulp.
     */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        checkRange(x, xOff, n, "x");
        checkRange(y, yOff, n, "y");
        boolean simd = Simd.enabled();
        forChunks(n, CHEAP_PARALLEL_MIN, (from, to) -> {
            if (simd) {
                ElementwiseVector.axpy(alpha, x, xOff + from, y, yOff + from, to - from);
            } else {
                ElementwiseScalar.axpy(alpha, x, xOff + from, y, yOff + from, to - from);
            }
        });
    }

    /** Computes {@code out[i] = e^in[i]}. The vector path is within a few ulp of {@code Math.exp}. */
    public static void exp(float[] in, int inOff, float[] out, int outOff, int n) {
        unary(ElementwiseVector.OP_EXP, in, inOff, out, outOff, n);
    }

    /** Computes {@code out[i] = ln in[i]}. The vector path is within a few ulp of {@code Math.log}. */
    public static void log(float[] in, int inOff, float[] out, int outOff, int n) {
        unary(ElementwiseVector.OP_LOG, in, inOff, out, outOff, n);
    }

    /** Computes {@code out[i] = tanh in[i]}. The vector path is within a few ulp of {@code Math.tanh}. */
    public static void tanh(float[] in, int inOff, float[] out, int outOff, int n) {
        unary(ElementwiseVector.OP_TANH, in, inOff, out, outOff, n);
    }

    /** Computes GELU with the tanh approximation used by GPT-2: 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))). */
    public static void gelu(float[] in, int inOff, float[] out, int outOff, int n) {
        unary(ElementwiseVector.OP_GELU, in, inOff, out, outOff, n);
    }

    private static void unary(int op, float[] in, int inOff, float[] out, int outOff, int n) {
        checkRange(in, inOff, n, "in");
        checkRange(out, outOff, n, "out");
        boolean simd = Simd.enabled();
        forChunks(n, COSTLY_PARALLEL_MIN, (from, to) -> {
            int len = to - from;
            if (simd) {
                ElementwiseVector.unary(op, in, inOff + from, out, outOff + from, len);
                return;
            }
            switch (op) {
                case ElementwiseVector.OP_EXP -> ElementwiseScalar.exp(in, inOff + from, out, outOff + from, len);
                case ElementwiseVector.OP_LOG -> ElementwiseScalar.log(in, inOff + from, out, outOff + from, len);
                case ElementwiseVector.OP_TANH -> ElementwiseScalar.tanh(in, inOff + from, out, outOff + from, len);
                case ElementwiseVector.OP_GELU -> ElementwiseScalar.gelu(in, inOff + from, out, outOff + from, len);
                default -> throw new IllegalArgumentException("unknown unary op " + op);
            }
        });
    }

    /**
     * Computes the GELU input gradient {@code dx[i] (+)= dy[i] * gelu'(x[i])}, adding to {@code dx} when
     * {@code accumulate} is true and overwriting it otherwise.
     */
    public static void geluBackward(float[] x, int xOff, float[] dy, int dyOff, float[] dx, int dxOff, int n,
            boolean accumulate) {
        checkRange(x, xOff, n, "x");
        checkRange(dy, dyOff, n, "dy");
        checkRange(dx, dxOff, n, "dx");
        boolean simd = Simd.enabled();
        forChunks(n, COSTLY_PARALLEL_MIN, (from, to) -> {
            if (simd) {
                ElementwiseVector.geluBackward(x, xOff + from, dy, dyOff + from, dx, dxOff + from, to - from,
                        accumulate);
            } else {
                ElementwiseScalar.geluBackward(x, xOff + from, dy, dyOff + from, dx, dxOff + from, to - from,
                        accumulate);
            }
        });
    }

    /** Returns the sum of {@code a[off .. off+n)}, deterministic at any thread count. */
    public static double sum(float[] a, int off, int n) {
        checkRange(a, off, n, "a");
        boolean simd = Simd.enabled();
        return reduceChunks(n, CHEAP_PARALLEL_MIN, (from, to) -> simd
                ? ElementwiseVector.sum(a, off + from, to - from)
                : ElementwiseScalar.sum(a, off + from, to - from));
    }

    /** Returns the dot product of two ranges, deterministic at any thread count. */
    public static double dot(float[] a, int aOff, float[] b, int bOff, int n) {
        checkRange(a, aOff, n, "a");
        checkRange(b, bOff, n, "b");
        boolean simd = Simd.enabled();
        return reduceChunks(n, CHEAP_PARALLEL_MIN, (from, to) -> simd
                ? ElementwiseVector.dot(a, aOff + from, b, bOff + from, to - from)
                : ElementwiseScalar.dot(a, aOff + from, b, bOff + from, to - from));
    }

    /** Returns the sum of squares of {@code a[off .. off+n)}, deterministic at any thread count. */
    public static double sumSquares(float[] a, int off, int n) {
        checkRange(a, off, n, "a");
        boolean simd = Simd.enabled();
        return reduceChunks(n, CHEAP_PARALLEL_MIN, (from, to) -> simd
                ? ElementwiseVector.sumSquares(a, off + from, to - from)
                : ElementwiseScalar.sumSquares(a, off + from, to - from));
    }
}
