package dev.joule.engine.kernels;

import java.util.Arrays;

/**
 * Plain-loop twin of {@link RowKernelsVector}: single-threaded kernels over the rows
 * {@code [rowFrom, rowTo)}, where row r starts at {@code off + r * cols}. It is the reference the vector
 * kernels are tested against and the fallback when {@code jdk.incubator.vector} is not loaded, so it must
 * never reference that module. Row sums accumulate in double and exponentials use {@code Math.exp}.
 */
final class RowKernelsScalar {
    private RowKernelsScalar() {}

    private static float rowMax(float[] x, int off, int cols) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < cols; i++) {
            max = Math.max(max, x[off + i]);
        }
        return max;
    }

    static void softmax(float[] x, int xOff, float[] y, int yOff, int rowFrom, int rowTo, int cols) {
        for (int r = rowFrom; r < rowTo; r++) {
            int xo = xOff + r * cols;
            int yo = yOff + r * cols;
            float max = rowMax(x, xo, cols);
            double sum = 0;
            for (int i = 0; i < cols; i++) {
                float e = (float) Math.exp(x[xo + i] - max);
                y[yo + i] = e;
                sum += e;
            }
            float inv = (float) (1.0 / sum);
            for (int i = 0; i < cols; i++) {
                y[yo + i] *= inv;
            }
        }
    }

    static void logSoftmax(float[] x, int xOff, float[] y, int yOff, int rowFrom, int rowTo, int cols) {
        for (int r = rowFrom; r < rowTo; r++) {
            int xo = xOff + r * cols;
            int yo = yOff + r * cols;
            float max = rowMax(x, xo, cols);
            double sum = 0;
            for (int i = 0; i < cols; i++) {
                sum += Math.exp(x[xo + i] - max);
            }
            double logSum = Math.log(sum);
            for (int i = 0; i < cols; i++) {
                y[yo + i] = (float) (x[xo + i] - max - logSum);
            }
        }
    }

    static void softmaxBackward(float[] y, int yOff, float[] dy, int dyOff, float[] dx, int dxOff, int rowFrom,
            int rowTo, int cols, boolean accumulate) {
        for (int r = rowFrom; r < rowTo; r++) {
            int yo = yOff + r * cols;
            int go = dyOff + r * cols;
            int dxo = dxOff + r * cols;
            double s = 0;
            for (int i = 0; i < cols; i++) {
                s += (double) dy[go + i] * y[yo + i];
            }
            for (int i = 0; i < cols; i++) {
                float g = (float) (y[yo + i] * (dy[go + i] - s));
                dx[dxo + i] = accumulate ? dx[dxo + i] + g : g;
            }
        }
    }

    static void logSoftmaxBackward(float[] y, int yOff, float[] dy, int dyOff, float[] dx, int dxOff,
            int rowFrom, int rowTo, int cols, boolean accumulate) {
        for (int r = rowFrom; r < rowTo; r++) {
            int yo = yOff + r * cols;
            int go = dyOff + r * cols;
            int dxo = dxOff + r * cols;
            double s = 0;
            for (int i = 0; i < cols; i++) {
                s += dy[go + i];
            }
            for (int i = 0; i < cols; i++) {
                float g = (float) (dy[go + i] - Math.exp(y[yo + i]) * s);
                dx[dxo + i] = accumulate ? dx[dxo + i] + g : g;
            }
        }
    }

    static void layerNorm(float[] x, int xOff, float[] gamma, int gOff, float[] beta, int bOff, float[] y,
            int yOff, float[] mean, float[] rstd, int rowFrom, int rowTo, int cols, float eps) {
        for (int r = rowFrom; r < rowTo; r++) {
            int xo = xOff + r * cols;
            int yo = yOff + r * cols;
            double sum = 0;
            for (int i = 0; i < cols; i++) {
                sum += x[xo + i];
            }
            double mu = sum / cols;
            double squares = 0;
            for (int i = 0; i < cols; i++) {
                double d = x[xo + i] - mu;
                squares += d * d;
            }
            double rs = 1.0 / Math.sqrt(squares / cols + eps);
            mean[r] = (float) mu;
            rstd[r] = (float) rs;
            for (int i = 0; i < cols; i++) {
                double xhat = (x[xo + i] - mu) * rs;
                double g = gamma == null ? 1.0 : gamma[gOff + i];
                double b = beta == null ? 0.0 : beta[bOff + i];
                y[yo + i] = (float) (xhat * g + b);
            }
        }
    }

    /**
     * Adds the layer-norm input gradient rstd * (g - mean(g) - xhat * mean(g * xhat)) to dx, where
     * g = dy * gamma and xhat = (x - mean) * rstd.
     */
    static void layerNormBackwardInput(float[] x, int xOff, float[] gamma, int gOff, float[] mean, float[] rstd,
            float[] dy, int dyOff, float[] dx, int dxOff, int rowFrom, int rowTo, int cols) {
        for (int r = rowFrom; r < rowTo; r++) {
            int xo = xOff + r * cols;
            int go = dyOff + r * cols;
            int dxo = dxOff + r * cols;
            double mu = mean[r];
            double rs = rstd[r];
            double sumG = 0;
            double sumGXhat = 0;
            for (int i = 0; i < cols; i++) {
                double g = gamma == null ? dy[go + i] : (double) dy[go + i] * gamma[gOff + i];
                sumG += g;
                sumGXhat += g * (x[xo + i] - mu) * rs;
            }
            double meanG = sumG / cols;
            double meanGXhat = sumGXhat / cols;
            for (int i = 0; i < cols; i++) {
                double g = gamma == null ? dy[go + i] : (double) dy[go + i] * gamma[gOff + i];
                double xhat = (x[xo + i] - mu) * rs;
                dx[dxo + i] += (float) (rs * (g - meanG - xhat * meanGXhat));
            }
        }
    }

    /**
     * Adds, for the rows {@code [rowFrom, rowTo)} and columns {@code [colFrom, colTo)}, the column sums of
     * dy * xhat to {@code dgammaPartial[partialOff + c]} and of dy to {@code dbetaPartial[partialOff + c]}.
     */
    static void layerNormParamGrads(float[] x, int xOff, float[] mean, float[] rstd, float[] dy, int dyOff,
            double[] dgammaPartial, double[] dbetaPartial, int partialOff, int rowFrom, int rowTo, int colFrom,
            int colTo, int cols) {
        for (int r = rowFrom; r < rowTo; r++) {
            double mu = mean[r];
            double rs = rstd[r];
            for (int c = colFrom; c < colTo; c++) {
                double d = dy[dyOff + r * cols + c];
                double xhat = (x[xOff + r * cols + c] - mu) * rs;
                dgammaPartial[partialOff + c] += d * xhat;
                dbetaPartial[partialOff + c] += d;
            }
        }
    }

    /** Writes each row's softmax to probs and its loss, logsumexp minus the target logit, to losses. */
    static void crossEntropy(float[] logits, int lOff, int[] targets, int tOff, float[] losses, float[] probs,
            int rowFrom, int rowTo, int cols) {
        for (int r = rowFrom; r < rowTo; r++) {
            int lo = lOff + r * cols;
            int po = r * cols;
            int target = targets[tOff + r];
            // Read before probs is written, in case probs and logits share storage.
            float targetLogit = target >= 0 ? logits[lo + target] : 0f;
            float max = rowMax(logits, lo, cols);
            double sum = 0;
            for (int i = 0; i < cols; i++) {
                double e = Math.exp(logits[lo + i] - max);
                probs[po + i] = (float) e;
                sum += e;
            }
            losses[r] = target >= 0 ? (float) (max + Math.log(sum) - targetLogit) : 0f;
            double inv = 1.0 / sum;
            for (int i = 0; i < cols; i++) {
                probs[po + i] = (float) (probs[po + i] * inv);
            }
        }
    }

    static void crossEntropyBackward(float[] probs, int[] targets, int tOff, float scale, float[] dlogits,
            int dOff, int rowFrom, int rowTo, int cols, boolean accumulate) {
        for (int r = rowFrom; r < rowTo; r++) {
            int po = r * cols;
            int dxo = dOff + r * cols;
            int target = targets[tOff + r];
            if (target < 0) {
                if (!accumulate) {
                    Arrays.fill(dlogits, dxo, dxo + cols, 0f);
                }
                continue;
            }
            for (int i = 0; i < cols; i++) {
                float g = scale * (probs[po + i] - (i == target ? 1f : 0f));
                dlogits[dxo + i] = accumulate ? dlogits[dxo + i] + g : g;
            }
        }
    }
}
