package dev.joule.engine.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ElementwiseTest {
    private static final int[] SIZES = {1, 7, 15, 16, 17, 33, 1000};
    private static final int A_OFF = 3;
    private static final int B_OFF = 5;
    private static final int OUT_OFF = 2;
    /** Value written around every output range; a kernel that writes outside the range changes it. */
    private static final float SENTINEL = -12345.5f;
    /** Large enough to be split into several chunks and run on the pool. */
    private static final int PARALLEL_SIZE = Elementwise.CHEAP_PARALLEL_MIN * 2 + 1001;

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

    /** A kernel call on inputs a and b (b unused by unary ops) writing the output range of out. */
    @FunctionalInterface
    private interface Kernel {
        void run(float[] a, int aOff, float[] b, int bOff, float[] out, int outOff, int n);
    }

    /** The expected value in double from the inputs and the output's value before the call. */
    @FunctionalInterface
    private interface Reference {
        double apply(double a, double b, double before);
    }

    private record Case(String name, Kernel kernel, Reference reference, float lo, float hi, float bLo, float bHi,
                        double relTol, double absTol) {}

    private static final double GELU_K = Math.sqrt(2.0 / Math.PI);

    private static double geluReference(double x) {
        return 0.5 * x * (1 + Math.tanh(GELU_K * (x + 0.044715 * x * x * x)));
    }

    /** Central difference of the double GELU, independent of the analytic derivative in the kernels. */
    private static double geluSlopeReference(double x) {
        double h = 1e-4;
        return (geluReference(x + h) - geluReference(x - h)) / (2 * h);
    }

    private static final float ALPHA = 0.75f;

    private static List<Case> cases() {
        return List.of(
                new Case("add", Elementwise::add, (a, b, o) -> a + b, -10, 10, -10, 10, 1e-7, 0),
                new Case("sub", Elementwise::sub, (a, b, o) -> a - b, -10, 10, -10, 10, 1e-7, 0),
                new Case("mul", Elementwise::mul, (a, b, o) -> a * b, -10, 10, -10, 10, 1e-7, 0),
                new Case("div", Elementwise::div, (a, b, o) -> a / b, -10, 10, 0.5f, 4, 1e-7, 0),
                new Case("scale", (a, ao, b, bo, out, oo, n) -> Elementwise.scale(a, ao, -1.7f, out, oo, n),
                        (a, b, o) -> a * -1.7f, -10, 10, 0, 1, 1e-7, 0),
                new Case("addScalar", (a, ao, b, bo, out, oo, n) -> Elementwise.addScalar(a, ao, 0.3f, out, oo, n),
                        (a, b, o) -> a + 0.3f, -10, 10, 0, 1, 1e-7, 1e-7),
                new Case("axpy", (a, ao, b, bo, out, oo, n) -> Elementwise.axpy(ALPHA, a, ao, out, oo, n),
                        (a, b, o) -> o + ALPHA * a, -10, 10, 0, 1, 1e-6, 1e-6),
                new Case("exp", (a, ao, b, bo, out, oo, n) -> Elementwise.exp(a, ao, out, oo, n),
                        (a, b, o) -> Math.exp(a), -30, 30, 0, 1, 1e-6, 0),
                new Case("log", (a, ao, b, bo, out, oo, n) -> Elementwise.log(a, ao, out, oo, n),
                        (a, b, o) -> Math.log(a), 1e-4f, 1e4f, 0, 1, 1e-6, 1e-7),
                new Case("tanh", (a, ao, b, bo, out, oo, n) -> Elementwise.tanh(a, ao, out, oo, n),
                        (a, b, o) -> Math.tanh(a), -5, 5, 0, 1, 1e-6, 1e-7),
                new Case("gelu", (a, ao, b, bo, out, oo, n) -> Elementwise.gelu(a, ao, out, oo, n),
                        (a, b, o) -> geluReference(a), -6, 6, 0, 1, 1e-5, 1e-6),
                new Case("geluBackward",
                        (a, ao, b, bo, out, oo, n) -> Elementwise.geluBackward(a, ao, b, bo, out, oo, n, false),
                        (a, b, o) -> b * geluSlopeReference(a), -6, 6, -2, 2, 1e-5, 1e-6),
                new Case("geluBackwardAccumulate",
                        (a, ao, b, bo, out, oo, n) -> Elementwise.geluBackward(a, ao, b, bo, out, oo, n, true),
                        (a, b, o) -> o + b * geluSlopeReference(a), -6, 6, -2, 2, 1e-5, 1e-6));
    }

    private static float[] filled(Random random, int length, float lo, float hi) {
        float[] a = new float[length];
        for (int i = 0; i < length; i++) {
            a[i] = lo + (hi - lo) * random.nextFloat();
        }
        return a;
    }

    /** Inputs and the starting output of one call, with the output range surrounded by sentinels. */
    private record Inputs(float[] a, float[] b, float[] out) {
        static Inputs random(Random random, Case c, int n) {
            float[] a = filled(random, A_OFF + n + 4, c.lo(), c.hi());
            float[] b = filled(random, B_OFF + n + 4, c.bLo(), c.bHi());
            float[] out = new float[OUT_OFF + n + 4];
            Arrays.fill(out, SENTINEL);
            for (int i = 0; i < n; i++) {
                out[OUT_OFF + i] = random.nextFloat() * 2 - 1;
            }
            return new Inputs(a, b, out);
        }

        float[] run(Case c, int n, boolean simd) {
            Simd.setEnabled(simd);
            float[] result = out.clone();
            c.kernel().run(a, A_OFF, b, B_OFF, result, OUT_OFF, n);
            return result;
        }
    }

    private static void assertClose(double expected, double actual, double relTol, double absTol, String what) {
        if (Double.isNaN(expected) || Double.isInfinite(expected)) {
            assertEquals(expected, actual, what);
            return;
        }
        double bound = absTol + relTol * Math.abs(expected);
        if (!(Math.abs(expected - actual) <= bound)) {
            fail(what + ": expected " + expected + " but was " + actual + " (tolerance " + bound + ")");
        }
    }

    private static void assertSentinelsKept(float[] out, int n, String what) {
        for (int i = 0; i < out.length; i++) {
            if (i < OUT_OFF || i >= OUT_OFF + n) {
                assertEquals(SENTINEL, out[i], what + ": wrote outside the output range at index " + i);
            }
        }
    }

    @Test
    void vectorMatchesScalarTwin() {
        assumeTrue(Simd.available(), "jdk.incubator.vector is not loaded");
        Random random = new Random(11);
        for (Case c : cases()) {
            for (int n : SIZES) {
                Inputs in = Inputs.random(random, c, n);
                float[] vector = in.run(c, n, true);
                float[] scalar = in.run(c, n, false);
                String what = c.name() + " n=" + n;
                assertSentinelsKept(vector, n, what);
                for (int i = 0; i < n; i++) {
                    assertClose(scalar[OUT_OFF + i], vector[OUT_OFF + i], 2 * c.relTol(), 2 * c.absTol(),
                            what + " i=" + i);
                }
            }
        }
    }

    @Test
    void bothPathsMatchDoubleReference() {
        Random random = new Random(12);
        for (boolean simd : new boolean[] {false, true}) {
            if (simd && !Simd.available()) {
                continue;
            }
            for (Case c : cases()) {
                for (int n : SIZES) {
                    Inputs in = Inputs.random(random, c, n);
                    float[] result = in.run(c, n, simd);
                    String what = c.name() + (simd ? " vector" : " scalar") + " n=" + n;
                    assertSentinelsKept(result, n, what);
                    for (int i = 0; i < n; i++) {
                        double expected = c.reference().apply(in.a()[A_OFF + i], in.b()[B_OFF + i],
                                in.out()[OUT_OFF + i]);
                        assertClose(expected, result[OUT_OFF + i], c.relTol(), c.absTol(), what + " i=" + i);
                    }
                }
            }
        }
    }

    @Test
    void outputMayAliasInput() {
        Random random = new Random(13);
        for (boolean simd : new boolean[] {false, true}) {
            if (simd && !Simd.available()) {
                continue;
            }
            Simd.setEnabled(simd);
            float[] x = filled(random, 40, -3, 3);
            float[] expectedExp = new float[40];
            Elementwise.exp(x, 0, expectedExp, 0, 40);
            float[] expectedAdd = new float[40];
            Elementwise.add(x, 0, x, 0, expectedAdd, 0, 40);

            float[] inPlace = x.clone();
            Elementwise.exp(inPlace, 0, inPlace, 0, 40);
            assertArrayEquals(expectedExp, inPlace, "exp in place, simd=" + simd);
            inPlace = x.clone();
            Elementwise.add(inPlace, 0, inPlace, 0, inPlace, 0, 40);
            assertArrayEquals(expectedAdd, inPlace, "add in place, simd=" + simd);
        }
    }

    private static final float[] SPECIAL_INPUTS = {
        0f, -0f, 1f, -1f, 0.39f, 0.4f, 0.41f, -0.41f, 1e-8f, -1e-8f, 1e-40f, Float.MIN_VALUE, Float.MIN_NORMAL,
        88f, 88.7f, 89f, 100f, -87f, -100f, -103.9f, -104f, -200f, 20f, -20f, Float.MAX_VALUE, -Float.MAX_VALUE,
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 0.70710677f, 1.4142135f, 2f, 0.5f, 3e38f
    };

    /** Returns how many float ulps apart two values are, treating equal infinities and two NaNs as 0. */
    private static long ulpDistance(float expected, float actual) {
        if (Float.isNaN(expected) || Float.isNaN(actual)) {
            return Float.isNaN(expected) && Float.isNaN(actual) ? 0 : Long.MAX_VALUE;
        }
        if (expected == actual) {
            return 0;
        }
        int e = Float.floatToIntBits(expected);
        int a = Float.floatToIntBits(actual);
        long orderedE = e < 0 ? (long) Integer.MIN_VALUE - e : e;
        long orderedA = a < 0 ? (long) Integer.MIN_VALUE - a : a;
        return Math.abs(orderedE - orderedA);
    }

    /** Checks the vector exp, log and tanh against Math on special values and a dense sweep, in ulps. */
    @Test
    void vectorTranscendentalsWithinFewUlps() {
        assumeTrue(Simd.available(), "jdk.incubator.vector is not loaded");
        Simd.setEnabled(true);
        Random random = new Random(14);
        int sweep = 20000;
        float[] inputs = Arrays.copyOf(SPECIAL_INPUTS, SPECIAL_INPUTS.length + sweep);
        for (int i = 0; i < sweep; i++) {
            // Magnitudes spread over many binades, both signs.
            float magnitude = (float) Math.exp(random.nextDouble() * 20 - 10);
            inputs[SPECIAL_INPUTS.length + i] = random.nextBoolean() ? magnitude : -magnitude;
        }
        float[] out = new float[inputs.length];

        Elementwise.exp(inputs, 0, out, 0, inputs.length);
        for (int i = 0; i < inputs.length; i++) {
            float expected = (float) Math.exp(inputs[i]);
            boolean subnormal = Math.abs(expected) < Float.MIN_NORMAL;
            long limit = subnormal ? 1 : 3;
            assertTrue(ulpDistance(expected, out[i]) <= limit,
                    "exp(" + inputs[i] + "): expected " + expected + " but was " + out[i]);
        }

        Elementwise.log(inputs, 0, out, 0, inputs.length);
        for (int i = 0; i < inputs.length; i++) {
            float expected = (float) Math.log(inputs[i]);
            assertTrue(ulpDistance(expected, out[i]) <= 3,
                    "log(" + inputs[i] + "): expected " + expected + " but was " + out[i]);
        }

        Elementwise.tanh(inputs, 0, out, 0, inputs.length);
        for (int i = 0; i < inputs.length; i++) {
            float expected = (float) Math.tanh(inputs[i]);
            String what = "tanh(" + inputs[i] + "): expected " + expected + " but was " + out[i];
            if (inputs[i] == 0f) {
                // The sign of a zero result is not specified for the vector path.
                assertEquals(0f, Math.abs(out[i]), what);
            } else {
                assertTrue(ulpDistance(expected, out[i]) <= 4, what);
            }
        }
    }

    @Test
    void geluSpecialValuesStayFinite() {
        for (boolean simd : new boolean[] {false, true}) {
            if (simd && !Simd.available()) {
                continue;
            }
            Simd.setEnabled(simd);
            float[] x = {-1e4f, -50f, -10f, 0f, 10f, 50f, 1e4f};
            float[] y = new float[x.length];
            Elementwise.gelu(x, 0, y, 0, x.length);
            float[] dx = new float[x.length];
            float[] ones = new float[x.length];
            Arrays.fill(ones, 1f);
            Elementwise.geluBackward(x, 0, ones, 0, dx, 0, x.length, false);
            for (int i = 0; i < x.length; i++) {
                assertClose(geluReference(x[i]), y[i], 1e-6, 1e-6, "gelu(" + x[i] + ") simd=" + simd);
                assertTrue(Float.isFinite(dx[i]), "gelu'(" + x[i] + ") simd=" + simd + " was " + dx[i]);
            }
        }
    }

    private record Reduction(String name, double value) {}

    private static List<Reduction> reductions(float[] a, int aOff, float[] b, int bOff, int n) {
        return List.of(
                new Reduction("sum", Elementwise.sum(a, aOff, n)),
                new Reduction("dot", Elementwise.dot(a, aOff, b, bOff, n)),
                new Reduction("sumSquares", Elementwise.sumSquares(a, aOff, n)));
    }

    @Test
    void reductionsMatchDoubleReference() {
        Random random = new Random(15);
        int[] sizes = {1, 7, 15, 16, 17, 33, 1000, 5000, 20000};
        for (int n : sizes) {
            float[] a = filled(random, A_OFF + n + 2, -1, 1);
            float[] b = filled(random, B_OFF + n + 2, -1, 1);
            double sum = 0;
            double dot = 0;
            double squares = 0;
            double absSum = 0;
            double absDot = 0;
            for (int i = 0; i < n; i++) {
                double x = a[A_OFF + i];
                double y = b[B_OFF + i];
                sum += x;
                dot += x * y;
                squares += x * x;
                absSum += Math.abs(x);
                absDot += Math.abs(x * y);
            }
            double[] expected = {sum, dot, squares};
            // Float partials lose about n * 2^-24 of the absolute sum in the worst case; allow a few times less.
            double[] bounds = {absSum * 1e-6, absDot * 1e-6, squares * 1e-6};
            for (boolean simd : new boolean[] {false, true}) {
                if (simd && !Simd.available()) {
                    continue;
                }
                Simd.setEnabled(simd);
                List<Reduction> results = reductions(a, A_OFF, b, B_OFF, n);
                for (int k = 0; k < results.size(); k++) {
                    Reduction r = results.get(k);
                    String what = r.name() + (simd ? " vector" : " scalar") + " n=" + n;
                    assertEquals(expected[k], r.value(), bounds[k], what);
                }
            }
        }
    }

    @Test
    void reductionsOfEmptyRangeAreZero() {
        float[] a = {1f, 2f};
        assertEquals(0.0, Elementwise.sum(a, 2, 0));
        assertEquals(0.0, Elementwise.dot(a, 1, a, 0, 0));
        assertEquals(0.0, Elementwise.sumSquares(a, 0, 0));
    }

    @Test
    void resultsIdenticalAtOneTwoThreeThreads() {
        Random random = new Random(16);
        int n = PARALLEL_SIZE;
        for (boolean simd : new boolean[] {false, true}) {
            if (simd && !Simd.available()) {
                continue;
            }
            for (Case c : cases()) {
                Inputs in = Inputs.random(random, c, n);
                Parallel.setThreads(1);
                float[] single = in.run(c, n, simd);
                for (int threads = 2; threads <= 3; threads++) {
                    Parallel.setThreads(threads);
                    float[] multi = in.run(c, n, simd);
                    assertArrayEquals(single, multi, c.name() + " simd=" + simd + " threads=" + threads);
                }
            }

            float[] a = filled(random, A_OFF + n, -1, 1);
            float[] b = filled(random, B_OFF + n, -1, 1);
            Simd.setEnabled(simd);
            Parallel.setThreads(1);
            List<Reduction> single = reductions(a, A_OFF, b, B_OFF, n);
            for (int threads = 2; threads <= 3; threads++) {
                Parallel.setThreads(threads);
                List<Reduction> multi = reductions(a, A_OFF, b, B_OFF, n);
                for (int k = 0; k < single.size(); k++) {
                    assertEquals(Double.doubleToRawLongBits(single.get(k).value()),
                            Double.doubleToRawLongBits(multi.get(k).value()),
                            single.get(k).name() + " simd=" + simd + " threads=" + threads);
                }
            }
        }
    }

    @Test
    void rangeOutsideArrayIsRejected() {
        float[] a = new float[10];
        try {
            Elementwise.add(a, 5, a, 0, a, 0, 6);
            fail("expected IndexOutOfBoundsException");
        } catch (IndexOutOfBoundsException expected) {
            assertTrue(expected.getMessage().contains("5"), expected.getMessage());
        }
    }
}
