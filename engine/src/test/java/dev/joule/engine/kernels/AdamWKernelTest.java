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

class AdamWKernelTest {
    private static final int[] SIZES = {1, 7, 15, 16, 17, 33, 1000};
    private static final int P_OFF = 3;
    private static final int G_OFF = 5;
    private static final int M_OFF = 2;
    private static final int V_OFF = 7;
    private static final float SENTINEL = -12345.5f;
    private static final float LR = 1e-2f;
    private static final float BETA1 = 0.9f;
    private static final float BETA2 = 0.999f;
    private static final float EPS = 1e-8f;
    private static final float WEIGHT_DECAY = 0.1f;
    private static final int STEPS = 5;

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

    /** Parameters, moments and one gradient per step, each range surrounded by sentinels. */
    private record State(float[] param, float[] m, float[] v, float[][] grads, int n) {
        static State random(Random random, int n) {
            float[] param = padded(P_OFF, n);
            float[] m = padded(M_OFF, n);
            float[] v = padded(V_OFF, n);
            for (int i = 0; i < n; i++) {
                param[P_OFF + i] = random.nextFloat() * 2 - 1;
                m[M_OFF + i] = 0f;
                v[V_OFF + i] = 0f;
            }
            float[][] grads = new float[STEPS][];
            for (int s = 0; s < STEPS; s++) {
                grads[s] = padded(G_OFF, n);
                for (int i = 0; i < n; i++) {
                    // Mixed scales, including zero gradients, which exercise the eps term.
                    grads[s][G_OFF + i] = i % 5 == 0 ? 0f : (float) random.nextGaussian() * (i % 3 + 1) * 0.1f;
                }
            }
            return new State(param, m, v, grads, n);
        }

        private static float[] padded(int off, int n) {
            float[] a = new float[off + n + 3];
            Arrays.fill(a, SENTINEL);
            return a;
        }

        /** Returns a copy of param, m and v after STEPS updates with the current Simd setting. */
        float[][] run() {
            float[] p = param.clone();
            float[] mm = m.clone();
            float[] vv = v.clone();
            for (int s = 0; s < STEPS; s++) {
                AdamWKernel.step(p, P_OFF, grads[s], G_OFF, mm, M_OFF, vv, V_OFF, n, LR, BETA1, BETA2, EPS,
                        WEIGHT_DECAY, s + 1);
            }
            return new float[][] {p, mm, vv};
        }
    }

    private static void assertClose(double expected, double actual, double relTol, double absTol, String what) {
        double bound = absTol + relTol * Math.abs(expected);
        if (!(Math.abs(expected - actual) <= bound)) {
            fail(what + ": expected " + expected + " but was " + actual + " (tolerance " + bound + ")");
        }
    }

    private static void assertSentinelsKept(float[] a, int off, int n, String what) {
        for (int i = 0; i < a.length; i++) {
            if (i < off || i >= off + n) {
                assertEquals(SENTINEL, a[i], what + ": wrote outside the range at index " + i);
            }
        }
    }

    @Test
    void vectorMatchesScalarTwin() {
        assumeTrue(Simd.available(), "jdk.incubator.vector is not loaded");
        Random random = new Random(31);
        for (int n : SIZES) {
            State state = State.random(random, n);
            Simd.setEnabled(true);
            float[][] vector = state.run();
            Simd.setEnabled(false);
            float[][] scalar = state.run();
            int[] offsets = {P_OFF, M_OFF, V_OFF};
            String[] names = {"param", "m", "v"};
            for (int k = 0; k < 3; k++) {
                assertSentinelsKept(vector[k], offsets[k], n, names[k] + " n=" + n);
                for (int i = 0; i < n; i++) {
                    // m = beta1 m + (1 - beta1) g can cancel, so its error is bounded by the size of the
                    // terms (gradients up to about 1), not of the result.
                    assertClose(scalar[k][offsets[k] + i], vector[k][offsets[k] + i], 1e-5, 1e-7,
                            names[k] + " n=" + n + " i=" + i);
                }
            }
        }
    }

    @Test
    void bothPathsMatchDoubleReference() {
        Random random = new Random(32);
        boolean[] paths = Simd.available() ? new boolean[] {false, true} : new boolean[] {false};
        for (int n : SIZES) {
            State state = State.random(random, n);
            double[] p = new double[n];
            double[] m = new double[n];
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                p[i] = state.param()[P_OFF + i];
            }
            for (int s = 1; s <= STEPS; s++) {
                for (int i = 0; i < n; i++) {
                    double g = state.grads()[s - 1][G_OFF + i];
                    m[i] = BETA1 * (double) m[i] + (1 - (double) BETA1) * g;
                    v[i] = BETA2 * (double) v[i] + (1 - (double) BETA2) * g * g;
                    double mhat = m[i] / (1 - Math.pow(BETA1, s));
                    double vhat = v[i] / (1 - Math.pow(BETA2, s));
                    p[i] -= LR * (mhat / (Math.sqrt(vhat) + EPS) + WEIGHT_DECAY * p[i]);
                }
            }
            for (boolean simd : paths) {
                Simd.setEnabled(simd);
                float[][] result = state.run();
                for (int i = 0; i < n; i++) {
                    String what = "simd=" + simd + " n=" + n + " i=" + i;
                    assertClose(p[i], result[0][P_OFF + i], 1e-5, 1e-6, "param " + what);
                    assertClose(m[i], result[1][M_OFF + i], 1e-5, 1e-7, "m " + what);
                    assertClose(v[i], result[2][V_OFF + i], 1e-5, 1e-12, "v " + what);
                }
            }
        }
    }

    @Test
    void firstStepMovesByLearningRate() {
        // At step 1, mhat = g and vhat = g^2, so a nonzero gradient moves p by about lr * sign(g), plus decay.
        for (boolean simd : Simd.available() ? new boolean[] {false, true} : new boolean[] {false}) {
            Simd.setEnabled(simd);
            float[] p = {1f, 1f, 1f};
            float[] g = {3f, -0.5f, 0f};
            AdamWKernel.step(p, 0, g, 0, new float[3], 0, new float[3], 0, 3, LR, BETA1, BETA2, EPS, WEIGHT_DECAY, 1);
            float decay = LR * WEIGHT_DECAY;
            assertEquals(1f - LR - decay, p[0], 1e-6f, "positive gradient, simd=" + simd);
            assertEquals(1f + LR - decay, p[1], 1e-6f, "negative gradient, simd=" + simd);
            assertEquals(1f - decay, p[2], 1e-6f, "zero gradient decays only, simd=" + simd);
        }
    }

    @Test
    void resultsIdenticalAtOneTwoThreeThreads() {
        Random random = new Random(33);
        int n = AdamWKernel.PARALLEL_MIN * 3 + 17;
        State state = State.random(random, n);
        for (boolean simd : Simd.available() ? new boolean[] {false, true} : new boolean[] {false}) {
            Simd.setEnabled(simd);
            Parallel.setThreads(1);
            float[][] single = state.run();
            for (int threads = 2; threads <= 3; threads++) {
                Parallel.setThreads(threads);
                float[][] multi = state.run();
                for (int k = 0; k < 3; k++) {
                    assertArrayEquals(single[k], multi[k], "array " + k + " simd=" + simd + " threads=" + threads);
                }
            }
        }
    }

    @Test
    void stepBelowOneIsRejected() {
        float[] a = new float[4];
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AdamWKernel.step(a, 0, a, 0, a, 0, a, 0, 4, LR, BETA1, BETA2, EPS, WEIGHT_DECAY, 0));
        assertTrue(e.getMessage().contains("got 0"), e.getMessage());
    }
}
