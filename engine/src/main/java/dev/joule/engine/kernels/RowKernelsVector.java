package dev.joule.engine.kernels;

import static dev.joule.engine.kernels.ElementwiseVector.L;
import static dev.joule.engine.kernels.ElementwiseVector.S;
import static dev.joule.engine.kernels.ElementwiseVector.SUM_BLOCK;
import static dev.joule.engine.kernels.ElementwiseVector.sumLanes;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Vector API twin of {@link RowKernelsScalar}: single-threaded kernels over the rows
 * {@code [rowFrom, rowTo)}, where row r starts at {@code off + r * cols}. {@link RowKernels} validates the
 * arguments and splits the rows into blocks.
 *
 * <p>Each row sum keeps one float partial per lane, flushed into a double every
 * {@link ElementwiseVector#SUM_BLOCK} elements and added lane by lane in a fixed order. Tails use masked
 * vectors, and exp is {@link ElementwiseVector#exp}, so a row gives the same bits in every execution
 * mode.
 */
final class RowKernelsVector {

    /** Rows whose float column sums are flushed into the double partials, bounding rounding growth. */
    private static final int PARAM_ROW_GROUP = 32;

    private RowKernelsVector() {}

    private static float rowMax(float[] x, int off, int cols) {
        FloatVector acc = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (; i <= cols - L; i += L) {
            acc = acc.lanewise(VectorOperators.MAX, FloatVector.fromArray(S, x, off + i));
        }
        if (i < cols) {
            VectorMask<Float> m = S.indexInRange(i, cols);
            acc = acc.lanewise(VectorOperators.MAX, FloatVector.fromArray(S, x, off + i, m), m);
        }
        return acc.reduceLanes(VectorOperators.MAX);
    }

    /** Writes exp(x - max) to {@code out} and returns its sum. */
    private static double expShiftedAndSum(float[] x, int xo, float max, float[] out, int outO, int cols) {
        float[] lanes = ElementwiseVector.laneScratch();
        FloatVector shift = FloatVector.broadcast(S, max);
        double total = 0;
        for (int b = 0; b < cols; b += SUM_BLOCK) {
            int end = Math.min(cols, b + SUM_BLOCK);
            FloatVector acc = FloatVector.zero(S);
            int i = b;
            for (; i <= end - L; i += L) {
                FloatVector e = ElementwiseVector.exp(FloatVector.fromArray(S, x, xo + i).sub(shift));
                e.intoArray(out, outO + i);
                acc = acc.lanewise(VectorOperators.ADD, e);
            }
            if (i < end) {
                VectorMask<Float> m = S.indexInRange(i, end);
                FloatVector e = ElementwiseVector.exp(FloatVector.fromArray(S, x, xo + i, m).sub(shift));
                e.intoArray(out, outO + i, m);
                acc = acc.lanewise(VectorOperators.ADD, e, m);
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        return total;
    }

    /** Returns the sum of exp(x - max) without storing the exponentials. */
    private static double sumExpShifted(float[] x, int xo, float max, int cols) {
        float[] lanes = ElementwiseVector.laneScratch();
        FloatVector shift = FloatVector.broadcast(S, max);
        double total = 0;
        for (int b = 0; b < cols; b += SUM_BLOCK) {
            int end = Math.min(cols, b + SUM_BLOCK);
            FloatVector acc = FloatVector.zero(S);
            int i = b;
            for (; i <= end - L; i += L) {
                FloatVector e = ElementwiseVector.exp(FloatVector.fromArray(S, x, xo + i).sub(shift));
                acc = acc.lanewise(VectorOperators.ADD, e);
            }
            if (i < end) {
                VectorMask<Float> m = S.indexInRange(i, end);
                FloatVector e = ElementwiseVector.exp(FloatVector.fromArray(S, x, xo + i, m).sub(shift));
                acc = acc.lanewise(VectorOperators.ADD, e, m);
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        return total;
    }

    private static void scaleInPlace(float[] y, int yo, float s, int cols) {
        int i = 0;
        for (; i <= cols - L; i += L) {
            FloatVector.fromArray(S, y, yo + i).mul(s).intoArray(y, yo + i);
        }
        if (i < cols) {
            VectorMask<Float> m = S.indexInRange(i, cols);
            FloatVector.fromArray(S, y, yo + i, m).mul(s).intoArray(y, yo + i, m);
        }
    }

    static void softmax(float[] x, int xOff, float[] y, int yOff, int rowFrom, int rowTo, int cols) {
        for (int r = rowFrom; r < rowTo; r++) {
            int xo = xOff + r * cols;
            int yo = yOff + r * cols;
            float max = rowMax(x, xo, cols);
            double sum = expShiftedAndSum(x, xo, max, y, yo, cols);
            scaleInPlace(y, yo, (float) (1.0 / sum), cols);
        }
    }

    static void logSoftmax(float[] x, int xOff, float[] y, int yOff, int rowFrom, int rowTo, int cols) {
        for (int r = rowFrom; r < rowTo; r++) {
            int xo = xOff + r * cols;
            int yo = yOff + r * cols;
            float max = rowMax(x, xo, cols);
            float logSum = (float) Math.log(sumExpShifted(x, xo, max, cols));
            FloatVector shift = FloatVector.broadcast(S, max);
            int i = 0;
            for (; i <= cols - L; i += L) {
                FloatVector.fromArray(S, x, xo + i).sub(shift).sub(logSum).intoArray(y, yo + i);
            }
            if (i < cols) {
                VectorMask<Float> m = S.indexInRange(i, cols);
                FloatVector.fromArray(S, x, xo + i, m).sub(shift).sub(logSum).intoArray(y, yo + i, m);
            }
        }
    }

    private static double rowDot(float[] a, int ao, float[] b, int bo, int cols) {
        float[] lanes = ElementwiseVector.laneScratch();
        double total = 0;
        for (int blockStart = 0; blockStart < cols; blockStart += SUM_BLOCK) {
            int end = Math.min(cols, blockStart + SUM_BLOCK);
            FloatVector acc = FloatVector.zero(S);
            int i = blockStart;
            for (; i <= end - L; i += L) {
                acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
            }
            if (i < end) {
                VectorMask<Float> m = S.indexInRange(i, end);
                acc = FloatVector.fromArray(S, a, ao + i, m).fma(FloatVector.fromArray(S, b, bo + i, m), acc);
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        return total;
    }

    static void softmaxBackward(float[] y, int yOff, float[] dy, int dyOff, float[] dx, int dxOff, int rowFrom,
            int rowTo, int cols, boolean accumulate) {
        for (int r = rowFrom; r < rowTo; r++) {
            int yo = yOff + r * cols;
            int go = dyOff + r * cols;
            int dxo = dxOff + r * cols;
            float s = (float) rowDot(dy, go, y, yo, cols);
            int i = 0;
            for (; i <= cols - L; i += L) {
                FloatVector yv = FloatVector.fromArray(S, y, yo + i);
                FloatVector diff = FloatVector.fromArray(S, dy, go + i).sub(s);
                FloatVector base = accumulate ? FloatVector.fromArray(S, dx, dxo + i) : FloatVector.zero(S);
                yv.fma(diff, base).intoArray(dx, dxo + i);
            }
            if (i < cols) {
                VectorMask<Float> m = S.indexInRange(i, cols);
                FloatVector yv = FloatVector.fromArray(S, y, yo + i, m);
                FloatVector diff = FloatVector.fromArray(S, dy, go + i, m).sub(s);
                FloatVector base = accumulate ? FloatVector.fromArray(S, dx, dxo + i, m) : FloatVector.zero(S);
                yv.fma(diff, base).intoArray(dx, dxo + i, m);
            }
        }
    }

    static void logSoftmaxBackward(float[] y, int yOff, float[] dy, int dyOff, float[] dx, int dxOff,
            int rowFrom, int rowTo, int cols, boolean accumulate) {
        for (int r = rowFrom; r < rowTo; r++) {
            int yo = yOff + r * cols;
            int go = dyOff + r * cols;
            int dxo = dxOff + r * cols;
            FloatVector negSum = FloatVector.broadcast(S, (float) -ElementwiseVector.sum(dy, go, cols));
            int i = 0;
            for (; i <= cols - L; i += L) {
                FloatVector p = ElementwiseVector.exp(FloatVector.fromArray(S, y, yo + i));
                FloatVector g = p.fma(negSum, FloatVector.fromArray(S, dy, go + i));
                if (accumulate) {
                    g = g.lanewise(VectorOperators.ADD, FloatVector.fromArray(S, dx, dxo + i));
                }
                g.intoArray(dx, dxo + i);
            }
            if (i < cols) {
                VectorMask<Float> m = S.indexInRange(i, cols);
                FloatVector p = ElementwiseVector.exp(FloatVector.fromArray(S, y, yo + i, m));
                FloatVector g = p.fma(negSum, FloatVector.fromArray(S, dy, go + i, m));
                if (accumulate) {
                    g = g.lanewise(VectorOperators.ADD, FloatVector.fromArray(S, dx, dxo + i, m));
                }
                g.intoArray(dx, dxo + i, m);
            }
        }
    }

    /** Returns the sum of (x - mean)^2 over one row. */
    private static double sumSquaredDeviation(float[] x, int xo, float mean, int cols) {
        float[] lanes = ElementwiseVector.laneScratch();
        FloatVector mv = FloatVector.broadcast(S, mean);
        double total = 0;
        for (int b = 0; b < cols; b += SUM_BLOCK) {
            int end = Math.min(cols, b + SUM_BLOCK);
            FloatVector acc = FloatVector.zero(S);
            int i = b;
            for (; i <= end - L; i += L) {
                FloatVector d = FloatVector.fromArray(S, x, xo + i).sub(mv);
                acc = d.fma(d, acc);
            }
            if (i < end) {
                VectorMask<Float> m = S.indexInRange(i, end);
                FloatVector d = FloatVector.fromArray(S, x, xo + i, m).sub(mv);
                acc = acc.lanewise(VectorOperators.ADD, d.mul(d), m);
            }
            acc.intoArray(lanes, 0);
            total += sumLanes(lanes);
        }
        return total;
    }

    static void layerNorm(float[] x, int xOff, float[] gamma, int gOff, float[] beta, int bOff, float[] y,
            int yOff, float[] mean, float[] rstd, int rowFrom, int rowTo, int cols, float eps) {
        for (int r = rowFrom; r < rowTo; r++) {
            int xo = xOff + r * cols;
            int yo = yOff + r * cols;
            float mu = (float) (ElementwiseVector.sum(x, xo, cols) / cols);
            double variance = sumSquaredDeviation(x, xo, mu, cols) / cols;
            float rs = (float) (1.0 / Math.sqrt(variance + eps));
            mean[r] = mu;
            rstd[r] = rs;

            FloatVector mv = FloatVector.broadcast(S, mu);
            FloatVector rv = FloatVector.broadcast(S, rs);
            int i = 0;
            for (; i <= cols - L; i += L) {
                FloatVector xhat = FloatVector.fromArray(S, x, xo + i).sub(mv).mul(rv);
                FloatVector g = gamma == null ? FloatVector.broadcast(S, 1f) : FloatVector.fromArray(S, gamma, gOff + i);
                FloatVector b = beta == null ? FloatVector.zero(S) : FloatVector.fromArray(S, beta, bOff + i);
                xhat.fma(g, b).intoArray(y, yo + i);
            }
            if (i < cols) {
                VectorMask<Float> m = S.indexInRange(i, cols);
                FloatVector xhat = FloatVector.fromArray(S, x, xo + i, m).sub(mv).mul(rv);
                FloatVector g = gamma == null ? FloatVector.broadcast(S, 1f) : FloatVector.fromArray(S, gamma, gOff + i, m);
                FloatVector b = beta == null ? FloatVector.zero(S) : FloatVector.fromArray(S, beta, bOff + i, m);
                xhat.fma(g, b).intoArray(y, yo + i, m);
            }
        }
    }

    /**
     * Adds the layer-norm input gradient rstd * (g - mean(g) - xhat * mean(g * xhat)) to dx, where
     * g = dy * gamma and xhat = (x - mean) * rstd.
     */
    static void layerNormBackwardInput(float[] x, int xOff, float[] gamma, int gOff, float[] mean, float[] rstd,
            float[] dy, int dyOff, float[] dx, int dxOff, int rowFrom, int rowTo, int cols) {
        float[] lanes = ElementwiseVector.laneScratch();
        for (int r = rowFrom; r < rowTo; r++) {
            int xo = xOff + r * cols;
            int go = dyOff + r * cols;
            int dxo = dxOff + r * cols;
            FloatVector mv = FloatVector.broadcast(S, mean[r]);
            FloatVector rv = FloatVector.broadcast(S, rstd[r]);

            double sumG = 0;
            double sumGXhat = 0;
            for (int b = 0; b < cols; b += SUM_BLOCK) {
                int end = Math.min(cols, b + SUM_BLOCK);
                FloatVector accG = FloatVector.zero(S);
                FloatVector accGXhat = FloatVector.zero(S);
                int i = b;
                for (; i <= end - L; i += L) {
                    FloatVector xhat = FloatVector.fromArray(S, x, xo + i).sub(mv).mul(rv);
                    FloatVector g = FloatVector.fromArray(S, dy, go + i);
                    if (gamma != null) {
                        g = g.mul(FloatVector.fromArray(S, gamma, gOff + i));
                    }
                    accG = accG.lanewise(VectorOperators.ADD, g);
                    accGXhat = g.fma(xhat, accGXhat);
                }
                if (i < end) {
                    VectorMask<Float> m = S.indexInRange(i, end);
                    FloatVector xhat = FloatVector.fromArray(S, x, xo + i, m).sub(mv).mul(rv);
                    FloatVector g = FloatVector.fromArray(S, dy, go + i, m);
                    if (gamma != null) {
                        g = g.mul(FloatVector.fromArray(S, gamma, gOff + i, m));
                    }
                    accG = accG.lanewise(VectorOperators.ADD, g, m);
                    accGXhat = accGXhat.lanewise(VectorOperators.ADD, g.mul(xhat), m);
                }
                accG.intoArray(lanes, 0);
                sumG += sumLanes(lanes);
                accGXhat.intoArray(lanes, 0);
                sumGXhat += sumLanes(lanes);
            }
            FloatVector meanG = FloatVector.broadcast(S, (float) (sumG / cols));
            FloatVector negMeanGXhat = FloatVector.broadcast(S, (float) (-sumGXhat / cols));

            int i = 0;
            for (; i <= cols - L; i += L) {
                FloatVector xhat = FloatVector.fromArray(S, x, xo + i).sub(mv).mul(rv);
                FloatVector g = FloatVector.fromArray(S, dy, go + i);
                if (gamma != null) {
                    g = g.mul(FloatVector.fromArray(S, gamma, gOff + i));
                }
                FloatVector centered = xhat.fma(negMeanGXhat, g.sub(meanG));
                centered.fma(rv, FloatVector.fromArray(S, dx, dxo + i)).intoArray(dx, dxo + i);
            }
            if (i < cols) {
                VectorMask<Float> m = S.indexInRange(i, cols);
                FloatVector xhat = FloatVector.fromArray(S, x, xo + i, m).sub(mv).mul(rv);
                FloatVector g = FloatVector.fromArray(S, dy, go + i, m);
                if (gamma != null) {
                    g = g.mul(FloatVector.fromArray(S, gamma, gOff + i, m));
                }
                FloatVector centered = xhat.fma(negMeanGXhat, g.sub(meanG));
                centered.fma(rv, FloatVector.fromArray(S, dx, dxo + i, m)).intoArray(dx, dxo + i, m);
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
        int width = colTo - colFrom;
        float[] groupG = Scratch.floats(Scratch.LAYER_NORM_GROUP_GAMMA, width);
        float[] groupB = Scratch.floats(Scratch.LAYER_NORM_GROUP_BETA, width);
        for (int groupStart = rowFrom; groupStart < rowTo; groupStart += PARAM_ROW_GROUP) {
            int groupEnd = Math.min(rowTo, groupStart + PARAM_ROW_GROUP);
            Arrays.fill(groupG, 0f);
            Arrays.fill(groupB, 0f);
            for (int r = groupStart; r < groupEnd; r++) {
                int xo = xOff + r * cols + colFrom;
                int go = dyOff + r * cols + colFrom;
                FloatVector mv = FloatVector.broadcast(S, mean[r]);
                FloatVector rv = FloatVector.broadcast(S, rstd[r]);
                int j = 0;
                for (; j <= width - L; j += L) {
                    FloatVector xhat = FloatVector.fromArray(S, x, xo + j).sub(mv).mul(rv);
                    FloatVector d = FloatVector.fromArray(S, dy, go + j);
                    d.fma(xhat, FloatVector.fromArray(S, groupG, j)).intoArray(groupG, j);
                    d.add(FloatVector.fromArray(S, groupB, j)).intoArray(groupB, j);
                }
                if (j < width) {
                    VectorMask<Float> m = S.indexInRange(j, width);
                    FloatVector xhat = FloatVector.fromArray(S, x, xo + j, m).sub(mv).mul(rv);
                    FloatVector d = FloatVector.fromArray(S, dy, go + j, m);
                    d.fma(xhat, FloatVector.fromArray(S, groupG, j, m)).intoArray(groupG, j, m);
                    d.add(FloatVector.fromArray(S, groupB, j, m)).intoArray(groupB, j, m);
                }
            }
            for (int j = 0; j < width; j++) {
                dgammaPartial[partialOff + colFrom + j] += groupG[j];
                dbetaPartial[partialOff + colFrom + j] += groupB[j];
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
            double sum = expShiftedAndSum(logits, lo, max, probs, po, cols);
            losses[r] = target >= 0 ? (float) (max + Math.log(sum) - targetLogit) : 0f;
            scaleInPlace(probs, po, (float) (1.0 / sum), cols);
        }
    }

    static void crossEntropyBackward(float[] probs, int[] targets, int tOff, float scale, float[] dlogits,
            int dOff, int rowFrom, int rowTo, int cols, boolean accumulate) {
        FloatVector sv = FloatVector.broadcast(S, scale);
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
            // Both read before the loop below overwrites them, in case dlogits and probs share storage.
            float targetProb = probs[po + target];
            float targetBase = accumulate ? dlogits[dxo + target] : 0f;
            int i = 0;
            for (; i <= cols - L; i += L) {
                FloatVector base = accumulate ? FloatVector.fromArray(S, dlogits, dxo + i) : FloatVector.zero(S);
                FloatVector.fromArray(S, probs, po + i).fma(sv, base).intoArray(dlogits, dxo + i);
            }
            if (i < cols) {
                VectorMask<Float> m = S.indexInRange(i, cols);
                FloatVector base = accumulate ? FloatVector.fromArray(S, dlogits, dxo + i, m) : FloatVector.zero(S);
                FloatVector.fromArray(S, probs, po + i, m).fma(sv, base).intoArray(dlogits, dxo + i, m);
            }
            dlogits[dxo + target] = targetBase + scale * (targetProb - 1f);
        }
    }
}
