package dev.joule.engine.kernels;

import java.util.Objects;
import java.util.function.IntConsumer;

/**
 * Row-wise kernels on row-major matrices: softmax, log-softmax, layer norm and cross-entropy, with their
 * backward passes. Row r of a matrix at offset {@code off} starts at {@code off + r * cols}.
 *
 * <p>Each method picks {@link RowKernelsVector} when {@link Simd#enabled()} and {@link RowKernelsScalar}
 * otherwise. Rows go to the {@link Parallel} pool in blocks of about {@link #ROW_BLOCK_ELEMENTS}
 * elements once the matrix reaches {@link #PARALLEL_MIN_ELEMENTS}. Every row is computed by one task in
 * one fixed order, so results are bitwise identical at any thread count. The layer-norm parameter
 * gradients reduce over rows, so they are summed per fixed tile of rows and columns into double partials
 * that are then added in row-tile order.
 *
 * <p>An output may alias an input when both use the same offset. Buffers that take no offset
 * ({@code mean}, {@code rstd}, {@code losses}, {@code probs}) are indexed from 0.
 */
public final class RowKernels {
    /** Target elements per row-block task. */
    static final int ROW_BLOCK_ELEMENTS = 16384;
    /** Matrices smaller than this run inline. An estimate, not a measurement. */
    static final int PARALLEL_MIN_ELEMENTS = 1 << 15;
    /** Tile shape of the layer-norm parameter-gradient reduction. */
    static final int PARAM_ROW_BLOCK = 512;
    static final int PARAM_COL_BLOCK = 256;

    /** A target index that marks a row as ignored by the cross-entropy loss. */
    public static final int IGNORE_TARGET = -1;

    private RowKernels() {}

    /** A kernel over the rows {@code [rowFrom, rowTo)}. */
    @FunctionalInterface
    interface RowRange {
        void run(int rowFrom, int rowTo);
    }

    static void forRowBlocks(int rows, int cols, RowRange body) {
        if (rows <= 0) {
            return;
        }
        int rowsPerTask = Math.max(1, ROW_BLOCK_ELEMENTS / cols);
        int tasks = (int) (((long) rows + rowsPerTask - 1) / rowsPerTask);
        if ((long) rows * cols < PARALLEL_MIN_ELEMENTS || tasks == 1) {
            body.run(0, rows);
            return;
        }
        Parallel.forRange(tasks, t -> {
            int from = t * rowsPerTask;
            body.run(from, Math.min(rows, from + rowsPerTask));
        });
    }

    private static void checkShape(int rows, int cols) {
        if (rows < 0) {
            throw new IllegalArgumentException("rows must be non-negative, got " + rows);
        }
        if (cols < 1) {
            throw new IllegalArgumentException("cols must be at least 1, got " + cols);
        }
        if ((long) rows * cols > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(
                    "matrix of " + rows + " x " + cols + " exceeds the maximum array length");
        }
    }

    private static void checkMatrix(float[] a, int off, int rows, int cols, String name) {
        Elementwise.checkRange(a, off, rows * cols, name);
    }

    private static void checkTargets(int[] targets, int tOff, int rows, int cols) {
        Objects.requireNonNull(targets, "targets");
        Objects.checkFromIndexSize(tOff, rows, targets.length);
        for (int r = 0; r < rows; r++) {
            int t = targets[tOff + r];
            if (t != IGNORE_TARGET && (t < 0 || t >= cols)) {
                throw new IllegalArgumentException("invalid target " + t + " in row " + r
                        + ": expected a class index in [0, " + cols + ") or " + IGNORE_TARGET + " to ignore the row");
            }
        }
    }

    /** Writes the softmax of each row of x to y, subtracting the row max first so that exp cannot overflow. */
    public static void softmax(float[] x, int xOff, float[] y, int yOff, int rows, int cols) {
        checkShape(rows, cols);
        checkMatrix(x, xOff, rows, cols, "x");
        checkMatrix(y, yOff, rows, cols, "y");
        boolean simd = Simd.enabled();
        forRowBlocks(rows, cols, (from, to) -> {
            if (simd) {
                RowKernelsVector.softmax(x, xOff, y, yOff, from, to, cols);
            } else {
                RowKernelsScalar.softmax(x, xOff, y, yOff, from, to, cols);
            }
        });
    }

    /**
     * Computes the softmax input gradient {@code dx (+)= y * (dy - sum(dy * y))} per row, where y is the
     * softmax output. Adds to dx when {@code accumulate} is true and overwrites it otherwise.
     */
    public static void softmaxBackward(float[] y, int yOff, float[] dy, int dyOff, float[] dx, int dxOff, int rows,
            int cols, boolean accumulate) {
        checkShape(rows, cols);
        checkMatrix(y, yOff, rows, cols, "y");
        checkMatrix(dy, dyOff, rows, cols, "dy");
        checkMatrix(dx, dxOff, rows, cols, "dx");
        boolean simd = Simd.enabled();
        forRowBlocks(rows, cols, (from, to) -> {
            if (simd) {
                RowKernelsVector.softmaxBackward(y, yOff, dy, dyOff, dx, dxOff, from, to, cols, accumulate);
            } else {
                RowKernelsScalar.softmaxBackward(y, yOff, dy, dyOff, dx, dxOff, from, to, cols, accumulate);
            }
        });
    }

    /** Writes {@code x - max - log(sum(exp(x - max)))} per row of x to y. */
    public static void logSoftmax(float[] x, int xOff, float[] y, int yOff, int rows, int cols) {
        checkShape(rows, cols);
        checkMatrix(x, xOff, rows, cols, "x");
        checkMatrix(y, yOff, rows, cols, "y");
        boolean simd = Simd.enabled();
        forRowBlocks(rows, cols, (from, to) -> {
            if (simd) {
                RowKernelsVector.logSoftmax(x, xOff, y, yOff, from, to, cols);
            } else {
                RowKernelsScalar.logSoftmax(x, xOff, y, yOff, from, to, cols);
            }
        });
    }

    /**
     * Computes the log-softmax input gradient {@code dx (+)= dy - exp(y) * sum(dy)} per row, where y is the
     * log-softmax output. Adds to dx when {@code accumulate} is true and overwrites it otherwise.
     */
    public static void logSoftmaxBackward(float[] y, int yOff, float[] dy, int dyOff, float[] dx, int dxOff,
            int rows, int cols, boolean accumulate) {
        checkShape(rows, cols);
        checkMatrix(y, yOff, rows, cols, "y");
        checkMatrix(dy, dyOff, rows, cols, "dy");
        checkMatrix(dx, dxOff, rows, cols, "dx");
        boolean simd = Simd.enabled();
        forRowBlocks(rows, cols, (from, to) -> {
            if (simd) {
                RowKernelsVector.logSoftmaxBackward(y, yOff, dy, dyOff, dx, dxOff, from, to, cols, accumulate);
            } else {
                RowKernelsScalar.logSoftmaxBackward(y, yOff, dy, dyOff, dx, dxOff, from, to, cols, accumulate);
            }
        });
    }

    /**
     * Normalizes each row to zero mean and unit variance, then applies {@code y = xhat * gamma + beta}.
     * The variance is the biased one (divided by cols). Writes the row mean and 1/sqrt(variance + eps) to
     * {@code mean[r]} and {@code rstd[r]} for the backward pass. A null gamma means 1 and a null beta 0.
     */
    public static void layerNorm(float[] x, int xOff, float[] gamma, int gOff, float[] beta, int bOff, float[] y,
            int yOff, float[] mean, float[] rstd, int rows, int cols, float eps) {
        checkShape(rows, cols);
        checkMatrix(x, xOff, rows, cols, "x");
        checkMatrix(y, yOff, rows, cols, "y");
        if (gamma != null) {
            Elementwise.checkRange(gamma, gOff, cols, "gamma");
        }
        if (beta != null) {
            Elementwise.checkRange(beta, bOff, cols, "beta");
        }
        Elementwise.checkRange(mean, 0, rows, "mean");
        Elementwise.checkRange(rstd, 0, rows, "rstd");
        boolean simd = Simd.enabled();
        forRowBlocks(rows, cols, (from, to) -> {
            if (simd) {
                RowKernelsVector.layerNorm(x, xOff, gamma, gOff, beta, bOff, y, yOff, mean, rstd, from, to, cols, eps);
            } else {
                RowKernelsScalar.layerNorm(x, xOff, gamma, gOff, beta, bOff, y, yOff, mean, rstd, from, to, cols, eps);
            }
        });
    }

    /**
     * Adds the layer-norm gradients to dx, dgamma and dbeta, using the mean and rstd that
     * {@link #layerNorm} wrote. All three are accumulated into, never overwritten. dgamma and dbeta may
     * be null to skip them, and a null gamma means 1.
     */
    public static void layerNormBackward(float[] x, int xOff, float[] gamma, int gOff, float[] mean, float[] rstd,
            float[] dy, int dyOff, float[] dx, int dxOff, float[] dgamma, int dgOff, float[] dbeta, int dbOff,
            int rows, int cols) {
        checkShape(rows, cols);
        checkMatrix(x, xOff, rows, cols, "x");
        checkMatrix(dy, dyOff, rows, cols, "dy");
        checkMatrix(dx, dxOff, rows, cols, "dx");
        if (gamma != null) {
            Elementwise.checkRange(gamma, gOff, cols, "gamma");
        }
        if (dgamma != null) {
            Elementwise.checkRange(dgamma, dgOff, cols, "dgamma");
        }
        if (dbeta != null) {
            Elementwise.checkRange(dbeta, dbOff, cols, "dbeta");
        }
        Elementwise.checkRange(mean, 0, rows, "mean");
        Elementwise.checkRange(rstd, 0, rows, "rstd");
        boolean simd = Simd.enabled();
        forRowBlocks(rows, cols, (from, to) -> {
            if (simd) {
                RowKernelsVector.layerNormBackwardInput(x, xOff, gamma, gOff, mean, rstd, dy, dyOff, dx, dxOff,
                        from, to, cols);
            } else {
                RowKernelsScalar.layerNormBackwardInput(x, xOff, gamma, gOff, mean, rstd, dy, dyOff, dx, dxOff,
                        from, to, cols);
            }
        });
        if (dgamma != null || dbeta != null) {
            layerNormParamGrads(x, xOff, mean, rstd, dy, dyOff, dgamma, dgOff, dbeta, dbOff, rows, cols, simd);
        }
    }

    private static void layerNormParamGrads(float[] x, int xOff, float[] mean, float[] rstd, float[] dy, int dyOff,
            float[] dgamma, int dgOff, float[] dbeta, int dbOff, int rows, int cols, boolean simd) {
        if (rows == 0) {
            return;
        }
        int rowBlocks = (rows + PARAM_ROW_BLOCK - 1) / PARAM_ROW_BLOCK;
        int colBlocks = (cols + PARAM_COL_BLOCK - 1) / PARAM_COL_BLOCK;
        double[] gammaPartials = Scratch.doubles(Scratch.LAYER_NORM_GAMMA_PARTIALS, rowBlocks * cols);
        double[] betaPartials = Scratch.doubles(Scratch.LAYER_NORM_BETA_PARTIALS, rowBlocks * cols);
        IntConsumer tile = t -> {
            int rowBlock = t / colBlocks;
            int colBlock = t % colBlocks;
            int rowFrom = rowBlock * PARAM_ROW_BLOCK;
            int rowTo = Math.min(rows, rowFrom + PARAM_ROW_BLOCK);
            int colFrom = colBlock * PARAM_COL_BLOCK;
            int colTo = Math.min(cols, colFrom + PARAM_COL_BLOCK);
            if (simd) {
                RowKernelsVector.layerNormParamGrads(x, xOff, mean, rstd, dy, dyOff, gammaPartials, betaPartials,
                        rowBlock * cols, rowFrom, rowTo, colFrom, colTo, cols);
            } else {
                RowKernelsScalar.layerNormParamGrads(x, xOff, mean, rstd, dy, dyOff, gammaPartials, betaPartials,
                        rowBlock * cols, rowFrom, rowTo, colFrom, colTo, cols);
            }
        };
        int tiles = rowBlocks * colBlocks;
        if ((long) rows * cols < PARALLEL_MIN_ELEMENTS) {
            for (int t = 0; t < tiles; t++) {
                tile.accept(t);
            }
        } else {
            Parallel.forRange(tiles, tile);
        }

        for (int c = 0; c < cols; c++) {
            double g = 0;
            double b = 0;
            for (int rowBlock = 0; rowBlock < rowBlocks; rowBlock++) {
                g += gammaPartials[rowBlock * cols + c];
                b += betaPartials[rowBlock * cols + c];
            }
            if (dgamma != null) {
                dgamma[dgOff + c] += (float) g;
            }
            if (dbeta != null) {
                dbeta[dbOff + c] += (float) b;
            }
        }
    }

    /**
     * Computes per-row cross-entropy losses {@code -log softmax(logits)[target]} into {@code losses[r]} and
     * the softmax of each row into {@code probs} (rows * cols, from index 0) for the backward pass. A
     * target of {@link #IGNORE_TARGET} gives loss 0, and its probs row is still written.
     *
     * @throws IllegalArgumentException if a target is outside {@code [0, cols)} and not
     *     {@link #IGNORE_TARGET}; the message names the row and the value, and nothing is written
     */
    public static void crossEntropy(float[] logits, int lOff, int[] targets, int tOff, float[] losses, float[] probs,
            int rows, int cols) {
        checkShape(rows, cols);
        checkMatrix(logits, lOff, rows, cols, "logits");
        checkMatrix(probs, 0, rows, cols, "probs");
        Elementwise.checkRange(losses, 0, rows, "losses");
        checkTargets(targets, tOff, rows, cols);
        boolean simd = Simd.enabled();
        forRowBlocks(rows, cols, (from, to) -> {
            if (simd) {
                RowKernelsVector.crossEntropy(logits, lOff, targets, tOff, losses, probs, from, to, cols);
            } else {
                RowKernelsScalar.crossEntropy(logits, lOff, targets, tOff, losses, probs, from, to, cols);
            }
        });
    }

    /**
     * Computes the cross-entropy logit gradient {@code dlogits (+)= scale * (probs - onehot(target))}, with
     * probs as {@link #crossEntropy} wrote them. Rows whose target is {@link #IGNORE_TARGET} contribute 0.
     * Adds to dlogits when {@code accumulate} is true and overwrites it otherwise.
     *
     * @throws IllegalArgumentException if a target is outside {@code [0, cols)} and not {@link #IGNORE_TARGET}
     */
    public static void crossEntropyBackward(float[] probs, int[] targets, int tOff, float scale, float[] dlogits,
            int dOff, int rows, int cols, boolean accumulate) {
        checkShape(rows, cols);
        checkMatrix(probs, 0, rows, cols, "probs");
        checkMatrix(dlogits, dOff, rows, cols, "dlogits");
        checkTargets(targets, tOff, rows, cols);
        boolean simd = Simd.enabled();
        forRowBlocks(rows, cols, (from, to) -> {
            if (simd) {
                RowKernelsVector.crossEntropyBackward(probs, targets, tOff, scale, dlogits, dOff, from, to, cols,
                        accumulate);
            } else {
                RowKernelsScalar.crossEntropyBackward(probs, targets, tOff, scale, dlogits, dOff, from, to, cols,
                        accumulate);
            }
        });
    }
}
