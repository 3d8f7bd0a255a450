package dev.joule.engine.kernels;

/**
 * Plain-loop twin of {@link ElementwiseVector}: single-threaded kernels over one contiguous range. It is
 * the reference the vector kernels are tested against and the fallback when {@code jdk.incubator.vector}
 * is not loaded, so it must never reference that module. Transcendentals go through {@code Math} in
 * double and round once to float. Reductions accumulate in double.
 */
final class ElementwiseScalar {
    private static final double GELU_K = Math.sqrt(2.0 / Math.PI);
    private static final double GELU_C = 0.044715;

    private ElementwiseScalar() {}

    static void add(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = a[aOff + i] + b[bOff + i];
        }
    }

    static void sub(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = a[aOff + i] - b[bOff + i];
        }
    }

    static void mul(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = a[aOff + i] * b[bOff + i];
        }
    }

    static void div(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = a[aOff + i] / b[bOff + i];
        }
    }

    static void scale(float[] a, int aOff, float s, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = a[aOff + i] * s;
        }
    }

    static void addScalar(float[] a, int aOff, float s, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = a[aOff + i] + s;
        }
    }

    static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        for (int i = 0; i < n; i++) {
            y[yOff + i] += alpha * x[xOff + i];
        }
    }

    static void exp(float[] in, int inOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (float) Math.exp(in[inOff + i]);
        }
    }

    static void log(float[] in, int inOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (float) Math.log(in[inOff + i]);
        }
    }

    static void tanh(float[] in, int inOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (float) Math.tanh(in[inOff + i]);
        }
    }

    static void gelu(float[] in, int inOff, float[] out, int outOff, int n) {
        for (int i = 0; i < n; i++) {
            double x = in[inOff + i];
            double t = Math.tanh(GELU_K * (x + GELU_C * x * x * x));
            out[outOff + i] = (float) (0.5 * x * (1 + t));
        }
    }

    static void geluBackward(float[] x, int xOff, float[] dy, int dyOff, float[] dx, int dxOff, int n,
            boolean accumulate) {
        for (int i = 0; i < n; i++) {
            double xi = x[xOff + i];
            double t = Math.tanh(GELU_K * (xi + GELU_C * xi * xi * xi));
            double du = GELU_K * (1 + 3 * GELU_C * xi * xi);
            double derivative = 0.5 * (1 + t) + 0.5 * xi * (1 - t * t) * du;
            float g = (float) (dy[dyOff + i] * derivative);
            dx[dxOff + i] = accumulate ? dx[dxOff + i] + g : g;
        }
    }

    static double sum(float[] a, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += a[off + i];
        }
        return s;
    }

    static double dot(float[] a, int aOff, float[] b, int bOff, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += (double) a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    static double sumSquares(float[] a, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            double v = a[off + i];
            s += v * v;
        }
        return s;
    }
}
