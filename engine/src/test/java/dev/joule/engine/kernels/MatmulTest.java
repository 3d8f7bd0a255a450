package dev.joule.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MatmulTest {
    private static final int[] SIZES = {0, 1, 7, 15, 16, 17, 33};
    /** Value written around every view of C; a kernel that writes outside the view changes it. */
    private static final float SENTINEL = -12345.5f;

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

    /** One GEMM problem: operands stored with offsets and padded leading dimensions, and C's start values. */
    private record Problem(boolean transA, boolean transB, int m, int n, int k,
                           float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                           float[] c, int cOff, int ldc) {

        static Problem random(Random random, boolean transA, boolean transB, int m, int n, int k) {
            int aRows = transA ? k : m;
            int aCols = transA ? m : k;
            int bRows = transB ? n : k;
            int bCols = transB ? k : n;
            int aOff = 1 + random.nextInt(5);
            int bOff = 1 + random.nextInt(5);
            int cOff = 1 + random.nextInt(5);
            int lda = aCols + 1 + random.nextInt(4);
            int ldb = bCols + 1 + random.nextInt(4);
            int ldc = n + 1 + random.nextInt(4);
            float[] a = filled(random, aOff + aRows * lda + 3);
            float[] b = filled(random, bOff + bRows * ldb + 3);
            float[] c = new float[cOff + m * ldc + 3];
            Arrays.fill(c, SENTINEL);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    c[cOff + i * ldc + j] = random.nextFloat() * 2 - 1;
                }
            }
            return new Problem(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
        }

        float aAt(int i, int p) {
            return transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
        }

        float bAt(int p, int j) {
            return transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
        }

        /** Runs {@link Matmul#gemm} on a copy of C and returns that copy. */
        float[] run(boolean accumulate) {
            float[] out = c.clone();
            Matmul.gemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, out, cOff, ldc, accumulate);
            return out;
        }

        /** Returns the product in double precision, with C's start values added when accumulating. */
        double[] exact(boolean accumulate) {
            double[] out = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = accumulate ? c[cOff + i * ldc + j] : 0;
                    for (int p = 0; p < k; p++) {
                        sum += (double) aAt(i, p) * bAt(p, j);
                    }
                    out[i * n + j] = sum;
                }
            }
            return out;
        }

        /** Returns the allowed error for element (i, j): float32 rounding grows about as sqrt(k). */
        double tolerance(int i, int j, boolean accumulate) {
            double magnitude = accumulate ? Math.abs(c[cOff + i * ldc + j]) : 0;
            for (int p = 0; p < k; p++) {
                magnitude += Math.abs((double) aAt(i, p) * bAt(p, j));
            }
            return 1e-5 * Math.sqrt(k + 1.0) * magnitude + 1e-30;
        }

        void assertClose(String label, float[] actual, double[] expected, boolean accumulate) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double got = actual[cOff + i * ldc + j];
                    double want = expected[i * n + j];
                    if (!(Math.abs(got - want) <= tolerance(i, j, accumulate))) {
                        fail(label + " " + this + " accumulate=" + accumulate + ": C(" + i + "," + j + ")="
                                + got + ", expected " + want);
                    }
                }
            }
            assertOutsideUntouched(label, actual);
        }

        void assertOutsideUntouched(String label, float[] actual) {
            for (int x = 0; x < actual.length; x++) {
                int rel = x - cOff;
                boolean inside = rel >= 0 && rel / ldc < m && rel % ldc < n;
                if (!inside && actual[x] != SENTINEL) {
                    fail(label + " " + this + " wrote outside the view of C at index " + x);
                }
            }
        }

        @Override
        public String toString() {
            return "transA=" + transA + " transB=" + transB + " M=" + m + " N=" + n + " K=" + k;
        }
    }

    private static float[] filled(Random random, int length) {
        float[] x = new float[length];
        for (int i = 0; i < length; i++) {
            x[i] = random.nextFloat() * 2 - 1;
        }
        return x;
    }

    private static double[] toDouble(float[] c, Problem p) {
        double[] out = new double[p.m() * p.n()];
        for (int i = 0; i < p.m(); i++) {
            for (int j = 0; j < p.n(); j++) {
                out[i * p.n() + j] = c[p.cOff() + i * p.ldc() + j];
            }
        }
        return out;
    }

    /** Checks scalar against double precision, and vector (when available) against scalar. */
    private static void checkBothPaths(Problem p) {
        for (boolean accumulate : new boolean[] {false, true}) {
            Simd.setEnabled(false);
            float[] scalar = p.run(accumulate);
            p.assertClose("scalar vs double", scalar, p.exact(accumulate), accumulate);
            if (Simd.available()) {
                Simd.setEnabled(true);
                float[] vector = p.run(accumulate);
                p.assertClose("vector vs scalar", vector, toDouble(scalar, p), accumulate);
            }
        }
    }

    @Test
    void smallSizesAllTransposes() {
        Random random = new Random(1);
        for (boolean transA : new boolean[] {false, true}) {
            for (boolean transB : new boolean[] {false, true}) {
                for (int m : SIZES) {
                    for (int n : SIZES) {
                        for (int k : SIZES) {
                            checkBothPaths(Problem.random(random, transA, transB, m, n, k));
                        }
                    }
                }
            }
        }
    }

    @Test
    void longAndWideShapes() {
        Random random = new Random(2);
        for (boolean transA : new boolean[] {false, true}) {
            for (boolean transB : new boolean[] {false, true}) {
                checkBothPaths(Problem.random(random, transA, transB, 1000, 33, 17));
                checkBothPaths(Problem.random(random, transA, transB, 17, 1000, 33));
            }
        }
    }

    @Test
    void kLongerThanOneBlock() {
        // K above the default k block (256) so that block sums are added into C, with and without accumulate.
        Random random = new Random(3);
        for (boolean transA : new boolean[] {false, true}) {
            for (boolean transB : new boolean[] {false, true}) {
                checkBothPaths(Problem.random(random, transA, transB, 37, 45, 600));
            }
        }
    }

    @Test
    void zeroKOverwritesWithZerosOrLeavesC() {
        for (boolean simd : new boolean[] {false, true}) {
            if (simd && !Simd.available()) {
                continue;
            }
            Simd.setEnabled(simd);
            float[] c = {1, 2, 3, 4, 5, 6};
            Matmul.gemm(false, false, 2, 2, 0, new float[0], 0, 0, new float[0], 0, 2, c, 1, 3, true);
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c);
            Matmul.gemm(false, false, 2, 2, 0, new float[0], 0, 0, new float[0], 0, 2, c, 1, 3, false);
            assertArrayEquals(new float[] {1, 0, 0, 4, 0, 0}, c);
        }
    }

    /** Runs {@link Matmul#gemmBatched} on a copy of {@code c} and returns it. */
    private static float[] runBatched(int batch, boolean transA, boolean transB, int m, int n, int k,
                                      float[] a, int aOff, int lda, int strideA, float[] b, int bOff, int ldb,
                                      int strideB, float[] c, int cOff, int ldc, int strideC, boolean accumulate) {
        float[] out = c.clone();
        Matmul.gemmBatched(batch, transA, transB, m, n, k, a, aOff, lda, strideA, b, bOff, ldb, strideB,
                out, cOff, ldc, strideC, accumulate);
        return out;
    }

    @Test
    void batchedMatchesSingleCallsWithBroadcast() {
        Random random = new Random(4);
        int batch = 3;
        int m = 19;
        int n = 35;
        int k = 21;
        for (boolean transA : new boolean[] {false, true}) {
            for (boolean transB : new boolean[] {false, true}) {
                int lda = (transA ? m : k) + 2;
                int ldb = (transB ? k : n) + 3;
                int aSize = (transA ? k : m) * lda;
                int bSize = (transB ? n : k) * ldb;
                float[] a = filled(random, 2 + batch * aSize);
                float[] b = filled(random, 5 + batch * bSize);
                // C interleaves the batch within each row, as heads do in attention: ldc = batch*n, strideC = n.
                int ldc = batch * n;
                float[] c = filled(random, 1 + m * ldc);
                int[][] strides = {{aSize, bSize}, {0, bSize}, {aSize, 0}};
                for (int[] s : strides) {
                    for (boolean accumulate : new boolean[] {false, true}) {
                        for (boolean simd : new boolean[] {false, true}) {
                            if (simd && !Simd.available()) {
                                continue;
                            }
                            Simd.setEnabled(simd);
                            float[] batched = runBatched(batch, transA, transB, m, n, k, a, 2, lda, s[0],
                                    b, 5, ldb, s[1], c, 1, ldc, n, accumulate);
                            float[] single = c.clone();
                            for (int i = 0; i < batch; i++) {
                                Matmul.gemm(transA, transB, m, n, k, a, 2 + i * s[0], lda, b, 5 + i * s[1], ldb,
                                        single, 1 + i * n, ldc, accumulate);
                            }
                            assertArrayEquals(single, batched, "simd=" + simd + " strideA=" + s[0]
                                    + " strideB=" + s[1] + " transA=" + transA + " transB=" + transB);
                        }
                    }
                }
            }
        }
    }

    @Test
    void batchedBroadcastAgreesWithDouble() {
        Random random = new Random(5);
        int batch = 4;
        int m = 9;
        int n = 17;
        int k = 33;
        float[] a = filled(random, m * k);
        float[] b = filled(random, batch * k * n);
        for (boolean simd : new boolean[] {false, true}) {
            if (simd && !Simd.available()) {
                continue;
            }
            Simd.setEnabled(simd);
            float[] c = runBatched(batch, false, false, m, n, k, a, 0, k, 0, b, 0, n, k * n,
                    new float[batch * m * n], 0, n, m * n, false);
            for (int i = 0; i < batch; i++) {
                for (int r = 0; r < m; r++) {
                    for (int j = 0; j < n; j++) {
                        double want = 0;
                        double magnitude = 0;
                        for (int p = 0; p < k; p++) {
                            double term = (double) a[r * k + p] * b[i * k * n + p * n + j];
                            want += term;
                            magnitude += Math.abs(term);
                        }
                        assertEquals(want, c[i * m * n + r * n + j], 1e-5 * Math.sqrt(k) * magnitude,
                                "simd=" + simd + " batch entry " + i + " C(" + r + "," + j + ")");
                    }
                }
            }
        }
    }

    @Test
    void bitwiseIdenticalAtOneTwoAndThreeThreads() {
        Random random = new Random(6);
        for (boolean simd : new boolean[] {true, false}) {
            if (simd && !Simd.available()) {
                continue;
            }
            Simd.setEnabled(simd);
            for (boolean transA : new boolean[] {false, true}) {
                for (boolean transB : new boolean[] {false, true}) {
                    Problem p = Problem.random(random, transA, transB, 300, 257, 129);
                    Parallel.setThreads(1);
                    float[] one = p.run(true);
                    Parallel.setThreads(2);
                    float[] two = p.run(true);
                    Parallel.setThreads(3);
                    float[] three = p.run(true);
                    assertArrayEquals(one, two, "simd=" + simd + " " + p + " at 2 threads");
                    assertArrayEquals(one, three, "simd=" + simd + " " + p + " at 3 threads");
                }
            }
            // Batched with a broadcast A: tasks span batch entries and tiles.
            int batch = 3;
            float[] a = filled(random, 200 * 300);
            float[] b = filled(random, batch * 300 * 130);
            float[][] results = new float[3][];
            for (int threads = 1; threads <= 3; threads++) {
                Parallel.setThreads(threads);
                results[threads - 1] = runBatched(batch, false, true, 200, 130, 300, a, 0, 300, 0,
                        b, 0, 300, 300 * 130, new float[batch * 200 * 130], 0, 130, 200 * 130, false);
            }
            assertArrayEquals(results[0], results[1], "simd=" + simd + " batched at 2 threads");
            assertArrayEquals(results[0], results[2], "simd=" + simd + " batched at 3 threads");
        }
    }

    private static void assertRejected(Runnable call, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call::run);
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
        }
    }

    @Test
    void badArgumentsNameTheArgumentAndValues() {
        float[] x = new float[12];
        assertRejected(() -> Matmul.gemm(false, false, -1, 2, 2, x, 0, 2, x, 0, 2, x, 0, 2, false), "M", "-1");
        assertRejected(() -> Matmul.gemm(false, false, 2, -3, 2, x, 0, 2, x, 0, 2, x, 0, 2, false), "N", "-3");
        assertRejected(() -> Matmul.gemm(false, false, 2, 2, -4, x, 0, 2, x, 0, 2, x, 0, 2, false), "K", "-4");
        assertRejected(() -> Matmul.gemm(false, false, 2, 2, 3, x, 0, 2, x, 0, 2, x, 0, 2, false),
                "lda", "lda=2", "K=3");
        assertRejected(() -> Matmul.gemm(true, false, 3, 2, 2, x, 0, 2, x, 0, 2, x, 0, 2, false),
                "lda", "lda=2", "M=3");
        assertRejected(() -> Matmul.gemm(false, true, 2, 2, 3, x, 0, 3, x, 0, 2, x, 0, 2, false),
                "ldb", "ldb=2", "K=3");
        assertRejected(() -> Matmul.gemm(false, false, 2, 3, 2, x, 0, 2, x, 0, 3, x, 0, 2, false),
                "ldc", "ldc=2", "N=3");
        assertRejected(() -> Matmul.gemm(false, false, 2, 2, 2, x, -1, 2, x, 0, 2, x, 0, 2, false), "aOff", "-1");
        assertRejected(() -> Matmul.gemm(false, false, 3, 3, 3, x, 4, 3, x, 0, 3, x, 0, 3, false),
                "array a is too short", "13", "a.length=12");
        assertRejected(() -> Matmul.gemm(false, false, 3, 3, 3, x, 0, 3, x, 2, 4, x, 0, 3, false),
                "array b is too short", "13", "b.length=12");
        assertRejected(() -> Matmul.gemm(false, false, 3, 3, 3, x, 0, 3, x, 0, 3, x, 0, 5, false),
                "array c is too short", "c.length=12");
        assertRejected(() -> Matmul.gemmBatched(2, false, false, 2, 2, 2, x, 0, 2, 4, x, 0, 2, 4, x, 0, 2, 0,
                false), "strideC", "batch=2");
        assertRejected(() -> Matmul.gemmBatched(-2, false, false, 2, 2, 2, x, 0, 2, 4, x, 0, 2, 4, x, 0, 2, 4,
                false), "batch", "-2");
        assertRejected(() -> Matmul.gemmBatched(2, false, false, 2, 2, 2, x, 0, 2, -4, x, 0, 2, 4, x, 0, 2, 4,
                false), "strideA", "-4");
        assertRejected(() -> Matmul.gemmBatched(3, false, false, 2, 2, 2, x, 0, 2, 5, x, 0, 2, 4, x, 0, 2, 4,
                false), "array a is too short", "14", "strideA=5", "batch=3");
        assertThrows(NullPointerException.class,
                () -> Matmul.gemm(false, false, 1, 1, 1, null, 0, 1, x, 0, 1, x, 0, 1, false));
    }
}
