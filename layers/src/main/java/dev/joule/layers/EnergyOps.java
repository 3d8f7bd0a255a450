package dev.joule.layers;

import dev.joule.engine.Autograd;
import dev.joule.engine.ShapeException;
import dev.joule.engine.Tensor;
import java.util.Arrays;

/**
 * The few primitive ops the energy framework needs that the engine does not have, each with a
 * hand-written backward: a stable log-sigmoid (for decay gates), a batched dense solve (for Newton
 * steps) and small shape helpers composed from engine ops.
 */
public final class EnergyOps {
    private EnergyOps() {}

    /**
     * log sigmoid(x) = -softplus(-x), computed as min(x, 0) - log(1 + exp(-|x|)) so that neither branch
     * overflows. Backward: d/dx log sigmoid(x) = 1 - sigmoid(x) = sigmoid(-x).
     */
    public static Tensor logSigmoid(Tensor x) {
        float[] in = x.toArray();
        float[] out = dev.joule.engine.Buffers.floats(in.length);
        for (int i = 0; i < in.length; i++) {
            double a = in[i];
            out[i] = (float) (Math.min(a, 0.0) - Math.log1p(Math.exp(-Math.abs(a))));
        }
        return Autograd.record(Tensor.of(out, x.shape()), "logSigmoid", g -> {
            float[] gv = g.toArray();
            float[] dx = dev.joule.engine.Buffers.floats(in.length);
            for (int i = 0; i < in.length; i++) {
                dx[i] = (float) (gv[i] / (1.0 + Math.exp(in[i])));
            }
            Autograd.accumulateOwned(x, dx);
        }, x);
    }

    /** sigmoid(x) = exp(log sigmoid(x)), kept in (0, 1) without overflow for large |x|. */
    public static Tensor sigmoid(Tensor x) {
        return logSigmoid(x).exp();
    }

    /**
     * Solves A y = b for a batch of small dense systems by Gauss-Jordan elimination with partial
     * pivoting, in double precision. Each A is inverted once (D^3 per system); the inverse is kept for
     * the backward pass: db = A^-T dy and dA = -db y^T.
     *
     * @param a (..., D, D)
     * @param b (..., D), with the same leading axes
     * @return y (..., D)
     * @throws ArithmeticException if a system is singular to working precision
     */
    public static Tensor solve(Tensor a, Tensor b) {
        int[] as = a.shape();
        int[] bs = b.shape();
        int r = as.length;
        if (r < 2 || as[r - 1] != as[r - 2] || bs.length != r - 1
                || !Arrays.equals(Arrays.copyOf(as, r - 1), bs)) {
            throw new ShapeException("solve", as, bs, "expected A (..., D, D) and b (..., D)");
        }
        int d = as[r - 1];
        int n = d == 0 ? 0 : b.numel() / d;
        float[] av = a.toArray();
        float[] bv = b.toArray();
        double[] inv = new double[n * d * d];
        float[] y = dev.joule.engine.Buffers.floats(n * d);
        double[] work = new double[d * 2 * d];
        for (int m = 0; m < n; m++) {
            invert(av, m * d * d, d, work, inv, m * d * d);
            for (int i = 0; i < d; i++) {
                double acc = 0;
                for (int k = 0; k < d; k++) {
                    acc += inv[m * d * d + i * d + k] * bv[m * d + k];
                }
                y[m * d + i] = (float) acc;
            }
        }
        return Autograd.record(Tensor.of(y, bs), "solve", g -> {
            float[] gv = g.toArray();
            float[] db = dev.joule.engine.Buffers.floats(n * d);
            float[] da = dev.joule.engine.Buffers.floats(n * d * d);
            for (int m = 0; m < n; m++) {
                int base = m * d * d;
                for (int k = 0; k < d; k++) {
                    double acc = 0;
                    for (int i = 0; i < d; i++) {
                        acc += inv[base + i * d + k] * gv[m * d + i];
                    }
                    db[m * d + k] = (float) acc;
                }
                for (int i = 0; i < d; i++) {
                    for (int k = 0; k < d; k++) {
                        da[base + i * d + k] = -db[m * d + i] * y[m * d + k];
                    }
                }
            }
            Autograd.accumulateOwned(a, da);
            Autograd.accumulateOwned(b, db);
        }, a, b);
    }

    /** Writes the inverse of the D x D matrix at src[off] into dst[dstOff], row-major. */
    private static void invert(float[] src, int off, int d, double[] w, double[] dst, int dstOff) {
        int cols = 2 * d;
        // Augmented matrix [A | I].
        for (int i = 0; i < d; i++) {
            for (int k = 0; k < d; k++) {
                w[i * cols + k] = src[off + i * d + k];
                w[i * cols + d + k] = i == k ? 1.0 : 0.0;
            }
        }
        for (int c = 0; c < d; c++) {
            int pivot = c;
            for (int i = c + 1; i < d; i++) {
                if (Math.abs(w[i * cols + c]) > Math.abs(w[pivot * cols + c])) {
                    pivot = i;
                }
            }
            double p = w[pivot * cols + c];
            if (!(Math.abs(p) > 1e-30)) {
                throw new ArithmeticException("solve: a " + d + " x " + d + " system is singular (pivot "
                        + p + " in column " + c + "); damp the Newton step");
            }
            if (pivot != c) {
                for (int k = 0; k < cols; k++) {
                    double t = w[c * cols + k];
                    w[c * cols + k] = w[pivot * cols + k];
                    w[pivot * cols + k] = t;
                }
            }
            for (int k = 0; k < cols; k++) {
                w[c * cols + k] /= p;
            }
            for (int i = 0; i < d; i++) {
                double f = w[i * cols + c];
                if (i != c && f != 0.0) {
                    for (int k = 0; k < cols; k++) {
                        w[i * cols + k] -= f * w[c * cols + k];
                    }
                }
            }
        }
        for (int i = 0; i < d; i++) {
            System.arraycopy(w, i * cols + d, dst, dstOff + i * d, d);
        }
    }

    /** Returns the squared norm over the last axis, keeping it: x (..., D) to (..., 1). */
    public static Tensor sqNorm(Tensor x) {
        return x.mul(x).sum(new int[] {-1}, true);
    }

    /** Returns the row dot products x_i . y_i over the last axis, kept: (..., D) to (..., 1). */
    public static Tensor rowDot(Tensor x, Tensor y) {
        return x.mul(y).sum(new int[] {-1}, true);
    }

    /** Returns the outer products x x^T of the last axis: (..., D) to (..., D, D). */
    public static Tensor outer(Tensor x, Tensor y) {
        int[] s = x.shape();
        int r = s.length;
        int[] col = Arrays.copyOf(s, r + 1);
        col[r] = 1;
        int[] row = Arrays.copyOf(s, r + 1);
        row[r - 1] = 1;
        row[r] = s[r - 1];
        return x.reshape(col).mul(y.reshape(row));
    }

    /** Returns a (D, D) identity. */
    public static Tensor eye(int d) {
        Tensor t = Tensor.zeros(d, d);
        for (int i = 0; i < d; i++) {
            t.set(1f, i, i);
        }
        return t;
    }

    /**
     * Returns the inclusive cumulative sum along the last axis as a product with a triangular matrix
     * of ones: x (..., T) to (..., T), out_i = sum_{t <= i} x_t. O(T^2) per row, which is the cost of
     * the score matrix it is used beside.
     */
    public static Tensor cumsum(Tensor x) {
        int t = x.size(-1);
        Tensor upper = Tensor.zeros(t, t);
        for (int a = 0; a < t; a++) {
            for (int i = a; i < t; i++) {
                upper.set(1f, a, i);
            }
        }
        int[] s = x.shape();
        int[] rowShape = Arrays.copyOf(s, s.length + 1);
        rowShape[s.length - 1] = 1;
        rowShape[s.length] = t;
        return x.reshape(rowShape).matmul(upper).reshape(s);
    }
}
