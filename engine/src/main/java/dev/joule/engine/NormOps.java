package dev.joule.engine;

import dev.joule.engine.kernels.RowKernels;

/**
 * Row-wise normalizations over the last axis: softmax, log-softmax and layer norm. The forward
 * kernels keep what the hand-written backward needs (the output, or the mean and reciprocal standard
 * deviation of each row).
 */
public final class NormOps {
    private NormOps() {}

    private static float[] rowsOf(Tensor x) {
        return x.isContiguous() && x.offset == 0 && x.data.length == x.numel() ? x.data : x.toArray();
    }

    /** Softmax over the last axis of x (..., C). */
    public static Tensor softmax(Tensor x) {
        int cols = lastAxis(x, "softmax");
        int rows = cols == 0 ? 0 : x.numel() / cols;
        float[] in = rowsOf(x);
        float[] y = Buffers.floats(in.length);
        RowKernels.softmax(in, 0, y, 0, rows, cols);
        return Autograd.record(Tensor.of(y, x.shape), "softmax", g -> {
            float[] dx = Buffers.floats(y.length);
            RowKernels.softmaxBackward(y, 0, g.dense(), 0, dx, 0, rows, cols, false);
            Autograd.accumulateOwned(x, dx);
        }, x);
    }

    /** Log-softmax over the last axis of x (..., C). */
    public static Tensor logSoftmax(Tensor x) {
        int cols = lastAxis(x, "logSoftmax");
        int rows = cols == 0 ? 0 : x.numel() / cols;
        float[] in = rowsOf(x);
        float[] y = Buffers.floats(in.length);
        RowKernels.logSoftmax(in, 0, y, 0, rows, cols);
        return Autograd.record(Tensor.of(y, x.shape), "logSoftmax", g -> {
            float[] dx = Buffers.floats(y.length);
            RowKernels.logSoftmaxBackward(y, 0, g.dense(), 0, dx, 0, rows, cols, false);
            Autograd.accumulateOwned(x, dx);
        }, x);
    }

    /**
     * Layer norm over the last axis: y = (x - mean) / sqrt(var + eps) * gamma + beta, with the biased
     * variance as in Ba et al. 2016.
     *
     * @param x (..., C)
     * @param gamma (C), or null for 1
     * @param beta (C), or null for 0
     */
    public static Tensor layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps) {
        int cols = lastAxis(x, "layerNorm");
        checkVector("layerNorm gamma", gamma, x, cols);
        checkVector("layerNorm beta", beta, x, cols);
        int rows = cols == 0 ? 0 : x.numel() / cols;
        float[] in = rowsOf(x);
        float[] g = gamma == null ? null : rowsOf(gamma);
        float[] b = beta == null ? null : rowsOf(beta);
        float[] y = Buffers.floats(in.length);
        float[] mean = Buffers.floats(rows);
        float[] rstd = Buffers.floats(rows);
        RowKernels.layerNorm(in, 0, g, 0, b, 0, y, 0, mean, rstd, rows, cols, eps);
        Tensor[] inputs = {x, gamma, beta};
        return Autograd.record(Tensor.of(y, x.shape), "layerNorm", dy -> {
            float[] dx = x.requiresGrad ? Buffers.floats(in.length) : null;
            float[] dg = gamma != null && gamma.requiresGrad ? Buffers.floats(cols) : null;
            float[] db = beta != null && beta.requiresGrad ? Buffers.floats(cols) : null;
            float[] dyv = dy.dense();
            float[] dxBuf = dx == null ? Buffers.floats(in.length) : dx;
            RowKernels.layerNormBackward(in, 0, g, 0, mean, rstd, dyv, 0, dxBuf, 0, dg, 0, db, 0, rows, cols);
            if (dx != null) {
                Autograd.accumulateOwned(x, dx);
            }
            if (dg != null) {
                Autograd.accumulateOwned(gamma, dg);
            }
            if (db != null) {
                Autograd.accumulateOwned(beta, db);
            }
        }, inputs);
    }

    private static int lastAxis(Tensor x, String op) {
        if (x.rank() == 0) {
            throw new ShapeException(op + " needs at least one axis, got a scalar");
        }
        return x.size(-1);
    }

    private static void checkVector(String op, Tensor v, Tensor x, int cols) {
        if (v != null && (v.rank() != 1 || v.size(0) != cols)) {
            throw new ShapeException(op, x.shape, v.shape, "expected a vector of size " + cols);
        }
    }
}
