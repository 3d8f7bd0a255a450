package dev.joule.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.joule.engine.kernels.Parallel;
import dev.joule.engine.kernels.Simd;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AttentionOpsTest {
    /** {B, T, H, D}: T = 1, odd T, D below and above the vector length, and T spanning three key blocks. */
    private static final int[][] SHAPES = {
        {1, 1, 1, 4}, {2, 7, 2, 3}, {1, 17, 4, 8}, {3, 33, 2, 16}, {1, 130, 2, 32}, {2, 65, 3, 20}, {1, 64, 1, 17},
        // 6 key blocks: more than FlashAttention.KEY_GROUPS, so a group adds two blocks to its partial dQ.
        {1, 333, 2, 9},
    };

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

    // ---- double-precision textbook attention ----

    /** The output and the gradient of sum(y * r) with respect to qkv, both in double. */
    private record Reference(double[] y, double[] dqkv) {}

    /**
     * Computes causal attention by the definition: full score rows, the mask, a softmax and a weighted
     * sum, then the analytic gradient of sum(y * r) through each of those steps.
     */
    private static Reference reference(double[] qkv, double[] r, int batch, int t, int heads, int dim,
            double scale) {
        int c = heads * dim;
        double[] y = new double[batch * t * c];
        double[] dqkv = new double[batch * t * 3 * c];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < t; i++) {
                    double[] s = new double[t];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int d = 0; d < dim; d++) {
                            dot += qkv[qIndex(b, i, h, d, t, c, dim)] * qkv[qIndex(b, j, h, d, t, c, dim) + c];
                        }
                        s[j] = scale * dot;
                        max = Math.max(max, s[j]);
                    }
                    double sum = 0;
                    double[] p = new double[t];
                    for (int j = 0; j <= i; j++) {
                        p[j] = Math.exp(s[j] - max);
                        sum += p[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        p[j] /= sum;
                    }
                    int yo = (b * t + i) * c + h * dim;
                    for (int j = 0; j <= i; j++) {
                        for (int d = 0; d < dim; d++) {
                            y[yo + d] += p[j] * qkv[qIndex(b, j, h, d, t, c, dim) + 2 * c];
                        }
                    }

                    // dP_j = r_i . v_j, dV_j += p_j r_i, dS_j = p_j (dP_j - sum_k p_k dP_k).
                    double[] dp = new double[t];
                    double weighted = 0;
                    for (int j = 0; j <= i; j++) {
                        for (int d = 0; d < dim; d++) {
                            dp[j] += r[yo + d] * qkv[qIndex(b, j, h, d, t, c, dim) + 2 * c];
                            dqkv[qIndex(b, j, h, d, t, c, dim) + 2 * c] += p[j] * r[yo + d];
                        }
                        weighted += p[j] * dp[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        double ds = p[j] * (dp[j] - weighted) * scale;
                        for (int d = 0; d < dim; d++) {
                            dqkv[qIndex(b, i, h, d, t, c, dim)] += ds * qkv[qIndex(b, j, h, d, t, c, dim) + c];
                            dqkv[qIndex(b, j, h, d, t, c, dim) + c] += ds * qkv[qIndex(b, i, h, d, t, c, dim)];
                        }
                    }
                }
            }
        }
        return new Reference(y, dqkv);
    }

    /** Returns the index of q[b, i, head h, d] in a (B, T, 3C) array. Add C for k and 2C for v. */
    private static int qIndex(int b, int i, int h, int d, int t, int c, int dim) {
        return (b * t + i) * 3 * c + h * dim + d;
    }

    private static double loss(double[] qkv, double[] r, int batch, int t, int heads, int dim, double scale) {
        double[] y = reference(qkv, r, batch, t, heads, dim, scale).y();
        double total = 0;
        for (int i = 0; i < y.length; i++) {
            total += y[i] * r[i];
        }
        return total;
    }

    // ---- helpers ----

    private static float[] gaussian(Random random, int n, double std) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (std * random.nextGaussian());
        }
        return a;
    }

    private static double[] toDouble(float[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }

    /** The op's output and its gradient with respect to qkv for loss = sum(y * r). */
    private record Result(float[] y, float[] dqkv) {}

    private static Result run(float[] qkvData, float[] r, int batch, int t, int heads, float scale) {
        Tensor qkv = Tensor.of(qkvData.clone(), batch, t, qkvData.length / Math.max(batch * t, 1)).requiresGrad(true);
        Tensor y = AttentionOps.causalSelfAttention(qkv, heads, scale);
        y.mul(Tensor.of(r.clone(), y.shape())).sum().backward();
        assertNotNull(qkv.grad(), "qkv gradient");
        return new Result(y.toArray(), qkv.grad().toArray());
    }

    /** Asserts |actual - expected| <= relTol * max(|expected|, 0.1 * max|expected|) elementwise. */
    private static void assertClose(double[] expected, float[] actual, double relTol, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        double maxAbs = 0;
        for (double e : expected) {
            maxAbs = Math.max(maxAbs, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            double bound = relTol * Math.max(Math.abs(expected[i]), 0.1 * maxAbs) + 1e-30;
            double err = Math.abs(actual[i] - expected[i]);
            if (!(err <= bound)) {
                throw new AssertionError(what + "[" + i + "]: expected " + expected[i] + ", got " + actual[i]
                        + " (error " + err + " > bound " + bound + ")");
            }
        }
    }

    private static void assertClose(float[] expected, float[] actual, double relTol, String what) {
        assertClose(toDouble(expected), actual, relTol, what);
    }

    private static void assertAllFinite(float[] a, String what) {
        for (int i = 0; i < a.length; i++) {
            assertTrue(Float.isFinite(a[i]), what + "[" + i + "] = " + a[i]);
        }
    }

    // ---- tests ----

    @Test
    void matchesDoubleReference() {
        Random random = new Random(11);
        for (int[] shape : SHAPES) {
            int batch = shape[0];
            int t = shape[1];
            int heads = shape[2];
            int dim = shape[3];
            float scale = (float) (1.0 / Math.sqrt(dim));
            float[] qkv = gaussian(random, batch * t * 3 * heads * dim, 1.0);
            float[] r = gaussian(random, batch * t * heads * dim, 1.0);
            Reference ref = reference(toDouble(qkv), toDouble(r), batch, t, heads, dim, scale);
            Result got = run(qkv, r, batch, t, heads, scale);
            String name = "B=" + batch + " T=" + t + " H=" + heads + " D=" + dim;
            assertClose(ref.y(), got.y(), 1e-4, name + " y");
            assertClose(ref.dqkv(), got.dqkv(), 1e-4, name + " dqkv");
        }
    }

    @Test
    void matchesFiniteDifferences() {
        int batch = 2;
        int t = 5;
        int heads = 2;
        int dim = 3;
        float scale = 0.7f;
        Random random = new Random(12);
        float[] qkv = gaussian(random, batch * t * 3 * heads * dim, 1.0);
        float[] r = gaussian(random, batch * t * heads * dim, 1.0);
        float[] grad = run(qkv, r, batch, t, heads, scale).dqkv();

        double[] x = toDouble(qkv);
        double[] rd = toDouble(r);
        double[] numeric = new double[x.length];
        double h = 1e-5;
        for (int k = 0; k < x.length; k++) {
            double saved = x[k];
            x[k] = saved + h;
            double up = loss(x, rd, batch, t, heads, dim, scale);
            x[k] = saved - h;
            double down = loss(x, rd, batch, t, heads, dim, scale);
            x[k] = saved;
            numeric[k] = (up - down) / (2 * h);
        }
        assertClose(numeric, grad, 1e-4, "dqkv vs central differences");
    }

    @Test
    void nonContiguousInputMatchesReference() {
        int batch = 2;
        int t = 9;
        int heads = 2;
        int dim = 5;
        int width = 3 * heads * dim;
        float scale = (float) (1.0 / Math.sqrt(dim));
        Random random = new Random(13);
        // Stored as (B, 3C, T), viewed as (B, T, 3C).
        float[] stored = gaussian(random, batch * width * t, 1.0);
        float[] r = gaussian(random, batch * t * heads * dim, 1.0);
        Tensor base = Tensor.of(stored.clone(), batch, width, t).requiresGrad(true);
        Tensor qkv = base.transpose(1, 2);
        assertTrue(!qkv.isContiguous(), "the test input should be a non-contiguous view");
        Tensor y = AttentionOps.causalSelfAttention(qkv, heads, scale);
        y.mul(Tensor.of(r.clone(), y.shape())).sum().backward();

        float[] logical = qkv.toArray();
        Reference ref = reference(toDouble(logical), toDouble(r), batch, t, heads, dim, scale);
        assertClose(ref.y(), y.toArray(), 1e-4, "y");
        float[] baseGrad = base.grad().toArray();
        float[] gradAsQkv = base.grad().transpose(1, 2).toArray();
        assertEquals(stored.length, baseGrad.length, "gradient length");
        assertClose(ref.dqkv(), gradAsQkv, 1e-4, "dqkv");
    }

    @Test
    void matchesComposedOps() {
        int batch = 2;
        int t = 21;
        int heads = 3;
        int dim = 8;
        int c = heads * dim;
        float scale = (float) (1.0 / Math.sqrt(dim));
        Random random = new Random(14);
        float[] data = gaussian(random, batch * t * 3 * c, 1.0);
        float[] r = gaussian(random, batch * t * c, 1.0);

        Tensor fusedIn = Tensor.of(data.clone(), batch, t, 3 * c).requiresGrad(true);
        Tensor fused = AttentionOps.causalSelfAttention(fusedIn, heads, scale);
        fused.mul(Tensor.of(r.clone(), batch, t, c)).sum().backward();

        Tensor composedIn = Tensor.of(data.clone(), batch, t, 3 * c).requiresGrad(true);
        Tensor composed = composedAttention(composedIn, heads, scale);
        composed.mul(Tensor.of(r.clone(), batch, t, c)).sum().backward();

        assertClose(composed.toArray(), fused.toArray(), 1e-4, "y");
        assertClose(composedIn.grad().toArray(), fusedIn.grad().toArray(), 1e-4, "dqkv");
    }

    /** Computes attention unfused: split heads, q k^T, mask, softmax, times v, merge heads. */
    static Tensor composedAttention(Tensor qkv, int heads, float scale) {
        int batch = qkv.size(0);
        int t = qkv.size(1);
        int c = qkv.size(2) / 3;
        Tensor[] parts = IndexOps.split(qkv, 2, c, c, c);
        Tensor[] qkvHeads = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            qkvHeads[i] = parts[i].contiguous().reshape(batch, t, heads, c / heads).permute(0, 2, 1, 3).contiguous();
        }
        Tensor scores = qkvHeads[0].matmul(qkvHeads[1].transpose(-2, -1)).scale(scale);
        Tensor weights = IndexOps.causalMask(scores).softmax();
        return weights.matmul(qkvHeads[2]).permute(0, 2, 1, 3).contiguous().reshape(batch, t, c);
    }

    @Test
    void vectorMatchesScalar() {
        assumeTrue(Simd.available(), "the Vector API module is not loaded");
        Random random = new Random(15);
        for (int[] shape : SHAPES) {
            int batch = shape[0];
            int t = shape[1];
            int heads = shape[2];
            int dim = shape[3];
            float scale = (float) (1.0 / Math.sqrt(dim));
            float[] qkv = gaussian(random, batch * t * 3 * heads * dim, 1.0);
            float[] r = gaussian(random, batch * t * heads * dim, 1.0);
            Simd.setEnabled(true);
            Result vector = run(qkv, r, batch, t, heads, scale);
            Simd.setEnabled(false);
            Result scalar = run(qkv, r, batch, t, heads, scale);
            String name = "B=" + batch + " T=" + t + " H=" + heads + " D=" + dim;
            assertClose(scalar.y(), vector.y(), 1e-5, name + " y");
            assertClose(scalar.dqkv(), vector.dqkv(), 1e-5, name + " dqkv");
        }
    }

    @Test
    void bitwiseIdenticalAcrossThreadCounts() {
        // Large enough to run on the pool and to span several query and key blocks.
        int[][] shapes = {{2, 200, 3, 24}, {1, 130, 2, 32}, {3, 67, 4, 7}, {1, 333, 2, 9}};
        Random random = new Random(16);
        boolean[] modes = Simd.available() ? new boolean[] {true, false} : new boolean[] {false};
        for (int[] shape : shapes) {
            int batch = shape[0];
            int t = shape[1];
            int heads = shape[2];
            int dim = shape[3];
            float scale = (float) (1.0 / Math.sqrt(dim));
            float[] qkv = gaussian(random, batch * t * 3 * heads * dim, 1.0);
            float[] r = gaussian(random, batch * t * heads * dim, 1.0);
            for (boolean simd : modes) {
                Simd.setEnabled(simd);
                Parallel.setThreads(1);
                Result one = run(qkv, r, batch, t, heads, scale);
                for (int threads : new int[] {2, 3}) {
                    Parallel.setThreads(threads);
                    Result many = run(qkv, r, batch, t, heads, scale);
                    String name = "B=" + batch + " T=" + t + " H=" + heads + " D=" + dim + " simd=" + simd
                            + " threads=" + threads;
                    assertArrayEquals(one.y(), many.y(), name + " y");
                    assertArrayEquals(one.dqkv(), many.dqkv(), name + " dqkv");
                }
            }
        }
    }

    @Test
    void hugeScoresStayFinite() {
        int batch = 2;
        int t = 70;
        int heads = 2;
        int dim = 16;
        int c = heads * dim;
        float scale = (float) (1.0 / Math.sqrt(dim));
        Random random = new Random(17);
        float[] qkv = gaussian(random, batch * t * 3 * c, 1.0);
        // q and k times 100 give scores near 1e4: exp overflows unless the max is subtracted.
        for (int row = 0; row < batch * t; row++) {
            for (int col = 0; col < 2 * c; col++) {
                qkv[row * 3 * c + col] *= 100f;
            }
        }
        float[] r = gaussian(random, batch * t * c, 1.0);
        boolean[] modes = Simd.available() ? new boolean[] {true, false} : new boolean[] {false};
        for (boolean simd : modes) {
            Simd.setEnabled(simd);
            Result got = run(qkv, r, batch, t, heads, scale);
            assertAllFinite(got.y(), "y simd=" + simd);
            assertAllFinite(got.dqkv(), "dqkv simd=" + simd);
            Reference ref = reference(toDouble(qkv), toDouble(r), batch, t, heads, dim, scale);
            // Each row's softmax is nearly one-hot, so y should be close to a single v row.
            assertClose(ref.y(), got.y(), 1e-3, "y simd=" + simd);
        }
    }

    @Test
    void rejectsInvalidShapes() {
        Tensor rank2 = Tensor.zeros(4, 12);
        ShapeException e = assertThrows(ShapeException.class, () -> AttentionOps.causalSelfAttention(rank2, 2, 1f));
        assertTrue(e.getMessage().contains("[4, 12]"), e.getMessage());

        Tensor notDivisible = Tensor.zeros(1, 3, 12);
        e = assertThrows(ShapeException.class, () -> AttentionOps.causalSelfAttention(notDivisible, 3, 1f));
        assertTrue(e.getMessage().contains("[1, 3, 12]"), e.getMessage());
        assertTrue(e.getMessage().contains("not divisible by 3 * heads = 9"), e.getMessage());

        Tensor ok = Tensor.zeros(1, 3, 12);
        assertThrows(IllegalArgumentException.class, () -> AttentionOps.causalSelfAttention(ok, 0, 1f));
        assertThrows(IllegalArgumentException.class, () -> AttentionOps.causalSelfAttention(ok, 2, Float.NaN));
    }

    @Test
    void emptySequenceGivesEmptyOutput() {
        Tensor qkv = Tensor.zeros(2, 0, 12);
        Tensor y = AttentionOps.causalSelfAttention(qkv, 2, 1f);
        assertArrayEquals(new int[] {2, 0, 4}, y.shape());
    }
}
