package dev.joule.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RowKernelsTest {
    private static final int[] COLS = {1, 7, 15, 16, 17, 33, 1000};
    private static final int[] ROWS = {1, 3, 17};
    private static final int X_OFF = 3;
    private static final int G_OFF = 5;
    private static final int OUT_OFF = 2;
    private static final float SENTINEL = -12345.5f;
    private static final float EPS = 1e-5f;

    private boolean simdBefore;
    private int threadsBefore;

    @BeforeEach
    void remember() {
        simdBefore = Simd.enabled();
        threadsBefore = Parallel.threads();
    }

    @AfterEach
    void restore() {
        Simd.setEnabled(simdBefore);
        Parallel.setThreads(threadsBefore);
    }

    private static float[] filled(Random random, int length, float lo, float hi) {
        float[] a = new float[length];
        for (int i = 0; i < length; i++) {
            a[i] = lo + (hi - lo) * random.nextFloat();
        }
        return a;
    }

    /** Returns an array of off + rows*cols + 3 elements: sentinels around random values in the matrix. */
    private static float[] matrix(Random random, int off, int rows, int cols, float lo, float hi) {
        float[] a = new float[off + rows * cols + 3];
        Arrays.fill(a, SENTINEL);
        for (int i = 0; i < rows * cols; i++) {
            a[off + i] = lo + (hi - lo) * random.nextFloat();
        }
        return a;
    }

    private static void assertClose(double expected, double actual, double relTol, double absTol, String what) {
        double bound = absTol + relTol * Math.abs(expected);
        if (!(Math.abs(expected - actual) <= bound)) {
            fail(what + ": expected " + expected + " but was " + actual + " (tolerance " + bound + ")");
        }
    }

    private static void assertAllClose(double[] expected, float[] actual, int off, double relTol, double absTol,
            String what) {
        for (int i = 0; i < expected.length; i++) {
            assertClose(expected[i], actual[off + i], relTol, absTol, what + " i=" + i);
        }
    }

    private static void assertSentinelsKept(float[] a, int off, int len, String what) {
        for (int i = 0; i < a.length; i++) {
            if (i < off || i >= off + len) {
                assertEquals(SENTINEL, a[i], what + ": wrote outside the output at index " + i);
            }
        }
    }

    private static boolean[] paths() {
        return Simd.available() ? new boolean[] {false, true} : new boolean[] {false};
    }

    // Double-precision references, written independently of the kernels.

    private static double[] softmaxReference(float[] x, int off, int rows, int cols, boolean log) {
        double[] y = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < cols; c++) {
                max = Math.max(max, x[off + r * cols + c]);
            }
            double sum = 0;
            for (int c = 0; c < cols; c++) {
                sum += Math.exp(x[off + r * cols + c] - max);
            }
            for (int c = 0; c < cols; c++) {
                double shifted = x[off + r * cols + c] - max;
                y[r * cols + c] = log ? shifted - Math.log(sum) : Math.exp(shifted) / sum;
            }
        }
        return y;
    }

    /** One forward-then-backward problem, shared by the softmax and log-softmax checks. */
    private record SoftmaxProblem(int rows, int cols, float[] x, float[] dy, float[] dxStart) {
        static SoftmaxProblem random(Random random, int rows, int cols) {
            return new SoftmaxProblem(rows, cols, matrix(random, X_OFF, rows, cols, -4, 4),
                    matrix(random, G_OFF, rows, cols, -1, 1), matrix(random, OUT_OFF, rows, cols, -1, 1));
        }
    }

    @Test
    void softmaxAndBackwardMatchReference() {
        Random random = new Random(21);
        for (boolean simd : paths()) {
            Simd.setEnabled(simd);
            for (int rows : ROWS) {
                for (int cols : COLS) {
                    SoftmaxProblem p = SoftmaxProblem.random(random, rows, cols);
                    int n = rows * cols;
                    String what = "simd=" + simd + " rows=" + rows + " cols=" + cols;

                    float[] y = matrix(random, OUT_OFF, rows, cols, 0, 0);
                    RowKernels.softmax(p.x(), X_OFF, y, OUT_OFF, rows, cols);
                    assertSentinelsKept(y, OUT_OFF, n, "softmax " + what);
                    double[] expected = softmaxReference(p.x(), X_OFF, rows, cols, false);
                    assertAllClose(expected, y, OUT_OFF, 1e-5, 1e-7, "softmax " + what);

                    // The backward reference uses the kernel's y, so it checks only the backward formula.
                    float[] yPacked = Arrays.copyOfRange(y, OUT_OFF, OUT_OFF + n);
                    for (boolean accumulate : new boolean[] {false, true}) {
                        float[] dx = p.dxStart().clone();
                        RowKernels.softmaxBackward(yPacked, 0, p.dy(), G_OFF, dx, OUT_OFF, rows, cols, accumulate);
                        assertSentinelsKept(dx, OUT_OFF, n, "softmaxBackward " + what);
                        double[] dxExpected = new double[n];
                        for (int r = 0; r < rows; r++) {
                            double s = 0;
                            for (int c = 0; c < cols; c++) {
                                s += (double) p.dy()[G_OFF + r * cols + c] * yPacked[r * cols + c];
                            }
                            for (int c = 0; c < cols; c++) {
                                int i = r * cols + c;
                                double start = accumulate ? p.dxStart()[OUT_OFF + i] : 0;
                                dxExpected[i] = start + yPacked[i] * (p.dy()[G_OFF + i] - s);
                            }
                        }
                        assertAllClose(dxExpected, dx, OUT_OFF, 1e-5, 1e-6,
                                "softmaxBackward accumulate=" + accumulate + " " + what);
                    }
                }
            }
        }
    }

    @Test
    void logSoftmaxAndBackwardMatchReference() {
        Random random = new Random(22);
        for (boolean simd : paths()) {
            Simd.setEnabled(simd);
            for (int rows : ROWS) {
                for (int cols : COLS) {
                    SoftmaxProblem p = SoftmaxProblem.random(random, rows, cols);
                    int n = rows * cols;
                    String what = "simd=" + simd + " rows=" + rows + " cols=" + cols;

                    float[] y = matrix(random, OUT_OFF, rows, cols, 0, 0);
                    RowKernels.logSoftmax(p.x(), X_OFF, y, OUT_OFF, rows, cols);
                    assertSentinelsKept(y, OUT_OFF, n, "logSoftmax " + what);
                    double[] expected = softmaxReference(p.x(), X_OFF, rows, cols, true);
                    assertAllClose(expected, y, OUT_OFF, 1e-5, 1e-5, "logSoftmax " + what);

                    float[] yPacked = Arrays.copyOfRange(y, OUT_OFF, OUT_OFF + n);
                    for (boolean accumulate : new boolean[] {false, true}) {
                        float[] dx = p.dxStart().clone();
                        RowKernels.logSoftmaxBackward(yPacked, 0, p.dy(), G_OFF, dx, OUT_OFF, rows, cols,
                                accumulate);
                        assertSentinelsKept(dx, OUT_OFF, n, "logSoftmaxBackward " + what);
                        double[] dxExpected = new double[n];
                        for (int r = 0; r < rows; r++) {
                            double s = 0;
                            for (int c = 0; c < cols; c++) {
                                s += p.dy()[G_OFF + r * cols + c];
                            }
                            for (int c = 0; c < cols; c++) {
                                int i = r * cols + c;
                                double start = accumulate ? p.dxStart()[OUT_OFF + i] : 0;
                                dxExpected[i] = start + p.dy()[G_OFF + i] - Math.exp(yPacked[i]) * s;
                            }
                        }
                        assertAllClose(dxExpected, dx, OUT_OFF, 1e-5, 1e-5,
                                "logSoftmaxBackward accumulate=" + accumulate + " " + what);
                    }
                }
            }
        }
    }

    @Test
    void softmaxOfHugeValuesStaysFinite() {
        for (boolean simd : paths()) {
            Simd.setEnabled(simd);
            float[] x = {1e4f, 1e4f - 1, -1e4f, 1e4f, 0f, 9999.5f, 3e4f, 3e4f, -3e4f};
            float[] y = new float[x.length];
            RowKernels.softmax(x, 0, y, 0, 3, 3);
            float[] logY = new float[x.length];
            RowKernels.logSoftmax(x, 0, logY, 0, 3, 3);
            for (int i = 0; i < x.length; i++) {
                assertTrue(Float.isFinite(y[i]), "softmax simd=" + simd + " i=" + i + " was " + y[i]);
                assertTrue(Float.isFinite(logY[i]), "logSoftmax simd=" + simd + " i=" + i + " was " + logY[i]);
            }
            double[] expected = softmaxReference(x, 0, 3, 3, false);
            assertAllClose(expected, y, 0, 1e-5, 1e-7, "softmax simd=" + simd);
            assertEquals(0.5f, y[6], 1e-6f, "two equal maxima share the mass, simd=" + simd);
        }
    }

    @Test
    void softmaxMayWorkInPlace() {
        Random random = new Random(23);
        for (boolean simd : paths()) {
            Simd.setEnabled(simd);
            float[] x = matrix(random, 0, 3, 33, -3, 3);
            float[] expected = new float[x.length];
            RowKernels.softmax(x, 0, expected, 0, 3, 33);
            RowKernels.softmax(x, 0, x, 0, 3, 33);
            assertArrayEquals(Arrays.copyOf(expected, 99), Arrays.copyOf(x, 99), "simd=" + simd);
        }
    }

    /** Layer-norm forward and backward in double; returns {y, mean, rstd, dx, dgamma, dbeta}, packed. */
    private static double[][] layerNormReference(float[] x, float[] gamma, float[] beta, float[] dy, int rows,
            int cols) {
        double[] y = new double[rows * cols];
        double[] mean = new double[rows];
        double[] rstd = new double[rows];
        double[] dx = new double[rows * cols];
        double[] dgamma = new double[cols];
        double[] dbeta = new double[cols];
        for (int r = 0; r < rows; r++) {
            double mu = 0;
            for (int c = 0; c < cols; c++) {
                mu += x[X_OFF + r * cols + c];
            }
            mu /= cols;
            double variance = 0;
            for (int c = 0; c < cols; c++) {
                double d = x[X_OFF + r * cols + c] - mu;
                variance += d * d;
            }
            variance /= cols;
            double rs = 1 / Math.sqrt(variance + EPS);
            mean[r] = mu;
            rstd[r] = rs;
            double[] xhat = new double[cols];
            double[] g = new double[cols];
            double meanG = 0;
            double meanGXhat = 0;
            for (int c = 0; c < cols; c++) {
                int i = r * cols + c;
                xhat[c] = (x[X_OFF + i] - mu) * rs;
                double gam = gamma == null ? 1 : gamma[G_OFF + c];
                double bet = beta == null ? 0 : beta[G_OFF + c];
                y[i] = xhat[c] * gam + bet;
                g[c] = dy[G_OFF + i] * gam;
                meanG += g[c] / cols;
                meanGXhat += g[c] * xhat[c] / cols;
                dgamma[c] += dy[G_OFF + i] * xhat[c];
                dbeta[c] += dy[G_OFF + i];
            }
            for (int c = 0; c < cols; c++) {
                dx[r * cols + c] = rs * (g[c] - meanG - xhat[c] * meanGXhat);
            }
        }
        return new double[][] {y, mean, rstd, dx, dgamma, dbeta};
    }

    @Test
    void layerNormAndBackwardMatchReference() {
        Random random = new Random(24);
        for (boolean simd : paths()) {
            Simd.setEnabled(simd);
            for (boolean affine : new boolean[] {true, false}) {
                for (int rows : ROWS) {
                    for (int cols : COLS) {
                        checkLayerNorm(random, simd, affine, rows, cols);
                    }
                }
            }
        }
    }

    private static void checkLayerNorm(Random random, boolean simd, boolean affine, int rows, int cols) {
        int n = rows * cols;
        String what = "simd=" + simd + " affine=" + affine + " rows=" + rows + " cols=" + cols;
        float[] x = matrix(random, X_OFF, rows, cols, -2, 3);
        float[] dy = matrix(random, G_OFF, rows, cols, -1, 1);
        float[] gamma = affine ? filled(random, G_OFF + cols, 0.5f, 1.5f) : null;
        float[] beta = affine ? filled(random, G_OFF + cols, -1, 1) : null;
        double[][] ref = layerNormReference(x, gamma, beta, dy, rows, cols);

        float[] y = matrix(random, OUT_OFF, rows, cols, 0, 0);
        float[] mean = new float[rows];
        float[] rstd = new float[rows];
        RowKernels.layerNorm(x, X_OFF, gamma, G_OFF, beta, G_OFF, y, OUT_OFF, mean, rstd, rows, cols, EPS);
        assertSentinelsKept(y, OUT_OFF, n, "layerNorm " + what);
        // cols = 1 gives variance 0, so rstd = 1/sqrt(eps) and y = beta: still well defined.
        assertAllClose(ref[0], y, OUT_OFF, 1e-4, 1e-4, "layerNorm y " + what);
        assertAllClose(ref[1], mean, 0, 1e-5, 1e-6, "layerNorm mean " + what);
        assertAllClose(ref[2], rstd, 0, 1e-4, 0, "layerNorm rstd " + what);

        float[] dxStart = matrix(random, OUT_OFF, rows, cols, -1, 1);
        float[] dx = dxStart.clone();
        float[] dgammaStart = filled(random, 1 + cols, -1, 1);
        float[] dbetaStart = filled(random, 2 + cols, -1, 1);
        float[] dgamma = dgammaStart.clone();
        float[] dbeta = dbetaStart.clone();
        RowKernels.layerNormBackward(x, X_OFF, gamma, G_OFF, mean, rstd, dy, G_OFF, dx, OUT_OFF, dgamma, 1, dbeta, 2,
                rows, cols);
        assertSentinelsKept(dx, OUT_OFF, n, "layerNormBackward " + what);
        double[] dxExpected = new double[n];
        for (int i = 0; i < n; i++) {
            dxExpected[i] = dxStart[OUT_OFF + i] + ref[3][i];
        }
        // The relative error of dx grows with rstd, which is 1/sqrt(eps) for a single column.
        double dxAbsTol = cols == 1 ? 1e-2 : 1e-4;
        assertAllClose(dxExpected, dx, OUT_OFF, 1e-4, dxAbsTol, "layerNormBackward dx " + what);
        double[] dgammaExpected = new double[cols];
        double[] dbetaExpected = new double[cols];
        for (int c = 0; c < cols; c++) {
            dgammaExpected[c] = dgammaStart[1 + c] + ref[4][c];
            dbetaExpected[c] = dbetaStart[2 + c] + ref[5][c];
        }
        assertAllClose(dgammaExpected, dgamma, 1, 1e-4, 1e-4, "layerNormBackward dgamma " + what);
        assertAllClose(dbetaExpected, dbeta, 2, 1e-5, 1e-5, "layerNormBackward dbeta " + what);
        assertEquals(dgammaStart[0], dgamma[0], "dgamma before its offset, " + what);
        assertEquals(dbetaStart[1], dbeta[1], "dbeta before its offset, " + what);

        // Null dgamma and dbeta skip the parameter gradients but still add dx.
        float[] dxOnly = dxStart.clone();
        RowKernels.layerNormBackward(x, X_OFF, gamma, G_OFF, mean, rstd, dy, G_OFF, dxOnly, OUT_OFF, null, 0, null, 0,
                rows, cols);
        assertArrayEquals(dx, dxOnly, "dx without parameter gradients, " + what);
    }

    /** Targets for one batch: valid class indices with every fourth row ignored. */
    private static int[] targets(Random random, int tOff, int rows, int cols) {
        int[] t = new int[tOff + rows];
        Arrays.fill(t, 999_999);
        for (int r = 0; r < rows; r++) {
            t[tOff + r] = r % 4 == 3 ? RowKernels.IGNORE_TARGET : random.nextInt(cols);
        }
        return t;
    }

    @Test
    void crossEntropyAndBackwardMatchReference() {
        Random random = new Random(25);
        int tOff = 4;
        float scale = 0.37f;
        for (boolean simd : paths()) {
            Simd.setEnabled(simd);
            for (int rows : ROWS) {
                for (int cols : COLS) {
                    String what = "simd=" + simd + " rows=" + rows + " cols=" + cols;
                    int n = rows * cols;
                    float[] logits = matrix(random, X_OFF, rows, cols, -5, 5);
                    int[] targets = targets(random, tOff, rows, cols);
                    float[] losses = new float[rows];
                    Arrays.fill(losses, SENTINEL);
                    float[] probs = new float[n];
                    RowKernels.crossEntropy(logits, X_OFF, targets, tOff, losses, probs, rows, cols);

                    double[] logProbs = softmaxReference(logits, X_OFF, rows, cols, true);
                    for (int r = 0; r < rows; r++) {
                        int t = targets[tOff + r];
                        double expected = t < 0 ? 0 : -logProbs[r * cols + t];
                        assertClose(expected, losses[r], 1e-5, 1e-6, "loss " + what + " row=" + r);
                        for (int c = 0; c < cols; c++) {
                            int i = r * cols + c;
                            assertClose(Math.exp(logProbs[i]), probs[i], 1e-5, 1e-7, "probs " + what + " i=" + i);
                        }
                    }

                    float[] dStart = matrix(random, OUT_OFF, rows, cols, -1, 1);
                    for (boolean accumulate : new boolean[] {false, true}) {
                        float[] d = dStart.clone();
                        RowKernels.crossEntropyBackward(probs, targets, tOff, scale, d, OUT_OFF, rows, cols, accumulate);
                        assertSentinelsKept(d, OUT_OFF, n, "crossEntropyBackward " + what);
                        for (int r = 0; r < rows; r++) {
                            int t = targets[tOff + r];
                            for (int c = 0; c < cols; c++) {
                                int i = r * cols + c;
                                double start = accumulate ? dStart[OUT_OFF + i] : 0;
                                double grad = t < 0 ? 0 : scale * (probs[i] - (c == t ? 1 : 0));
                                assertClose(start + grad, d[OUT_OFF + i], 1e-5, 1e-7,
                                        "crossEntropyBackward accumulate=" + accumulate + " " + what + " i=" + i);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void crossEntropyRejectsInvalidTarget() {
        float[] logits = new float[12];
        float[] losses = new float[3];
        float[] probs = new float[12];
        for (boolean simd : paths()) {
            Simd.setEnabled(simd);
            for (int bad : new int[] {4, -2, 100}) {
                int[] targets = {0, 3, bad};
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> RowKernels.crossEntropy(logits, 0, targets, 0, losses, probs, 3, 4));
                assertTrue(e.getMessage().contains("row 2"), e.getMessage());
                assertTrue(e.getMessage().contains(Integer.toString(bad)), e.getMessage());
                IllegalArgumentException backward = assertThrows(IllegalArgumentException.class,
                        () -> RowKernels.crossEntropyBackward(probs, targets, 0, 1f, new float[12], 0, 3, 4, false));
                assertTrue(backward.getMessage().contains("row 2"), backward.getMessage());
            }
        }
    }

    @Test
    void invalidShapeIsRejected() {
        float[] a = new float[8];
        assertThrows(IllegalArgumentException.class, () -> RowKernels.softmax(a, 0, a, 0, 2, 0));
        assertThrows(IllegalArgumentException.class, () -> RowKernels.softmax(a, 0, a, 0, -1, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> RowKernels.softmax(a, 1, a, 0, 2, 4));
    }

    /** Runs every row kernel on one large problem and returns all outputs, packed. */
    private static List<float[]> runAll(float[] x, float[] dy, float[] gamma, float[] beta, int[] targets, int rows,
            int cols) {
        List<float[]> outputs = new ArrayList<>();
        int n = rows * cols;
        float[] y = new float[n];
        RowKernels.softmax(x, 0, y, 0, rows, cols);
        outputs.add(y);
        float[] dx = dy.clone();
        RowKernels.softmaxBackward(y, 0, dy, 0, dx, 0, rows, cols, true);
        outputs.add(dx);
        float[] logY = new float[n];
        RowKernels.logSoftmax(x, 0, logY, 0, rows, cols);
        outputs.add(logY);
        float[] logDx = new float[n];
        RowKernels.logSoftmaxBackward(logY, 0, dy, 0, logDx, 0, rows, cols, false);
        outputs.add(logDx);
        float[] norm = new float[n];
        float[] mean = new float[rows];
        float[] rstd = new float[rows];
        RowKernels.layerNorm(x, 0, gamma, 0, beta, 0, norm, 0, mean, rstd, rows, cols, EPS);
        outputs.add(norm);
        outputs.add(mean);
        outputs.add(rstd);
        float[] normDx = new float[n];
        float[] dgamma = new float[cols];
        float[] dbeta = new float[cols];
        RowKernels.layerNormBackward(x, 0, gamma, 0, mean, rstd, dy, 0, normDx, 0, dgamma, 0, dbeta, 0, rows, cols);
        outputs.add(normDx);
        outputs.add(dgamma);
        outputs.add(dbeta);
        float[] losses = new float[rows];
        float[] probs = new float[n];
        RowKernels.crossEntropy(x, 0, targets, 0, losses, probs, rows, cols);
        outputs.add(losses);
        outputs.add(probs);
        float[] dlogits = new float[n];
        RowKernels.crossEntropyBackward(probs, targets, 0, 0.01f, dlogits, 0, rows, cols, false);
        outputs.add(dlogits);
        return outputs;
    }

    @Test
    void resultsIdenticalAtOneTwoThreeThreads() {
        Random random = new Random(26);
        // 1100 rows spread the layer-norm parameter gradients over three row tiles and four column tiles.
        int rows = 1100;
        int cols = 777;
        float[] x = filled(random, rows * cols, -3, 3);
        float[] dy = filled(random, rows * cols, -1, 1);
        float[] gamma = filled(random, cols, 0.5f, 1.5f);
        float[] beta = filled(random, cols, -1, 1);
        int[] targets = targets(random, 0, rows, cols);
        for (boolean simd : paths()) {
            Simd.setEnabled(simd);
            Parallel.setThreads(1);
            List<float[]> single = runAll(x, dy, gamma, beta, targets, rows, cols);
            for (int threads = 2; threads <= 3; threads++) {
                Parallel.setThreads(threads);
                List<float[]> multi = runAll(x, dy, gamma, beta, targets, rows, cols);
                for (int k = 0; k < single.size(); k++) {
                    assertArrayEquals(single.get(k), multi.get(k),
                            "output " + k + " simd=" + simd + " threads=" + threads);
                }
            }
        }
    }

    @Test
    void vectorMatchesScalarTwinOnAllShapes() {
        assumeTrue(Simd.available(), "jdk.incubator.vector is not loaded");
        Random random = new Random(28);
        for (int rows : ROWS) {
            for (int cols : COLS) {
                compareTwins(random, rows, cols);
            }
        }
    }

    @Test
    void vectorMatchesScalarTwinOnLongRows() {
        assumeTrue(Simd.available(), "jdk.incubator.vector is not loaded");
        // Rows longer than one SUM_BLOCK, so the vector sums flush their float partials several times.
        compareTwins(new Random(27), 5, 5000);
    }

    private static void compareTwins(Random random, int rows, int cols) {
        float[] x = filled(random, rows * cols, -3, 3);
        float[] dy = filled(random, rows * cols, -1, 1);
        float[] gamma = filled(random, cols, 0.5f, 1.5f);
        float[] beta = filled(random, cols, -1, 1);
        int[] targets = targets(random, 0, rows, cols);
        Simd.setEnabled(false);
        List<float[]> scalar = runAll(x, dy, gamma, beta, targets, rows, cols);
        Simd.setEnabled(true);
        List<float[]> vector = runAll(x, dy, gamma, beta, targets, rows, cols);
        for (int k = 0; k < scalar.size(); k++) {
            float[] s = scalar.get(k);
            float[] v = vector.get(k);
            for (int i = 0; i < s.length; i++) {
                // cols = 1 makes rstd 1/sqrt(eps), which magnifies the layer-norm dx differences.
                double absTol = cols == 1 ? 1e-2 : 1e-5;
                assertClose(s[i], v[i], 1e-4, absTol,
                        "output " + k + " rows=" + rows + " cols=" + cols + " i=" + i);
            }
        }
    }
}
