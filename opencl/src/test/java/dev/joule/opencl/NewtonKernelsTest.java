package dev.joule.opencl;

import static dev.joule.opencl.OpenClTestDevice.download;
import static dev.joule.opencl.OpenClTestDevice.upload;
import static dev.joule.opencl.TestInputs.doubles;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import org.jocl.cl_mem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Newton attention kernels of newton.cl against a scalar reference in double precision, written
 * here from the formulas of {@code EnergyAttention.fastStep} (T = 1, lambda0 = 0, bounded damping):
 *
 * <pre>
 *   newton-diag     delta_d = o_d / (1 - C_dd + tr C)
 *   newton-neumann  delta   = o + C o
 *   newton          delta   = ((1 + tr C) I - C)^-1 o
 * </pre>
 *
 * with p the causal softmax of scale q . k, o = sum_j p_j v_j and C = sum_j p_j v_j v_j^T - o o^T per
 * query and head. Backward kernels are checked against central finite differences of the reference:
 * the gradient of L(qkv) = sum g . delta(qkv) for a fixed random g, step 1e-5 in double, whose error is
 * about 1e-9. The shared backward ({@link Kernels#momentBackward}) is checked on its own against finite
 * differences of sum_i go_i . o_i + a_i^T M_i b_i + sum_d c_id (M_i)_dd, M_i = sum_j p_ij v_j v_j^T.
 *
 * <p>Sizes: B = 1 to 3, T = 1, 7 and 17, odd head widths D = 1, 3, 5 and 7, one to three heads.
 *
 * <p>Tolerance: |device - reference| &lt;= 1e-4 * max(1, max |reference|) elementwise, as in
 * {@link KernelsTest}. The device computes in float32, so its error is a few float32 roundings times the
 * conditioning of the step. The Newton matrix has eigenvalues in [1, 1 + tr C], so the solve does not
 * amplify them much. An indexing or sign error gives errors of order 1.
 */
class NewtonKernelsTest {
    private static final float TOL = 1e-4f;
    private static final double FD_STEP = 1e-5;

    /** {b, t, heads, d}. */
    private static final int[][] CASES = {{1, 1, 1, 1}, {2, 7, 3, 3}, {3, 17, 2, 5}, {1, 17, 1, 7}, {2, 7, 1, 5}};

    /** The three steps. */
    enum Kind {
        DIAG, NEUMANN, FULL
    }

    private static final TestInputs INPUTS = new TestInputs(4242);

    private static OpenClDevice dev;
    private static Kernels k;
    private static final List<cl_mem> live = new ArrayList<>();

    @BeforeAll
    static void open() {
        dev = OpenClTestDevice.open();
        k = new Kernels(dev);
    }

    @AfterAll
    static void close() {
        if (dev != null) {
            dev.close();
        }
    }

    private static float[] randn(float std, int n) {
        return INPUTS.randn(std, n).toArray();
    }

    private static cl_mem up(float[] x) {
        cl_mem m = upload(dev, x);
        live.add(m);
        return m;
    }

    private static cl_mem floats(long n) {
        cl_mem m = dev.buffer(4L * Math.max(1, n), "test buffer");
        live.add(m);
        return m;
    }

    private static void releaseAll() {
        for (cl_mem m : live) {
            dev.release(m);
        }
        live.clear();
    }

    /** The largest error relative to max(1, max |expected|) seen by any check, for the report. */
    private static double worst;

    private static void assertClose(double[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 1;
        for (double e : expected) {
            max = Math.max(max, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(expected[i] - actual[i]);
            worst = Math.max(worst, err / max);
            if (!(err <= TOL * max)) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i] + " (error " + err
                        + ", allowed " + TOL * max + ")");
            }
        }
    }

    // ---- the double reference ----

    /** Per-query quantities of one (b, h, i). */
    private record Query(double[] p, double[] o, double[][] m) {}

    private static Query query(double[] qkv, int b, int t, int c, int heads, int h, int i) {
        int d = c / heads;
        int c3 = 3 * c;
        double scale = 1.0 / Math.sqrt(d);
        double[] p = new double[i + 1];
        double mx = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
            double s = 0;
            for (int e = 0; e < d; e++) {
                s += qkv[(b * t + i) * c3 + h * d + e] * qkv[(b * t + j) * c3 + c + h * d + e];
            }
            p[j] = s * scale;
            mx = Math.max(mx, p[j]);
        }

        double sum = 0;
        for (int j = 0; j <= i; j++) {
            p[j] = Math.exp(p[j] - mx);
            sum += p[j];
        }
        double[] o = new double[d];
        double[][] m = new double[d][d];
        for (int j = 0; j <= i; j++) {
            p[j] /= sum;
            for (int e = 0; e < d; e++) {
                double ve = qkv[(b * t + j) * c3 + 2 * c + h * d + e];
                o[e] += p[j] * ve;
                for (int f = 0; f < d; f++) {
                    m[e][f] += p[j] * ve * qkv[(b * t + j) * c3 + 2 * c + h * d + f];
                }
            }
        }
        return new Query(p, o, m);
    }

    /** delta (B, T, C) of the step {@code kind} from qkv (B, T, 3C). */
    static double[] reference(Kind kind, double[] qkv, int batch, int t, int c, int heads) {
        int d = c / heads;
        double[] out = new double[batch * t * c];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < t; i++) {
                    Query qy = query(qkv, b, t, c, heads, h, i);
                    double[][] cov = new double[d][d];
                    double tr = 0;
                    for (int e = 0; e < d; e++) {
                        for (int f = 0; f < d; f++) {
                            cov[e][f] = qy.m()[e][f] - qy.o()[e] * qy.o()[f];
                        }
                        tr += cov[e][e];
                    }
                    double[] delta = new double[d];
                    switch (kind) {
                        case DIAG -> {
                            for (int e = 0; e < d; e++) {
                                delta[e] = qy.o()[e] / (1 - cov[e][e] + tr);
                            }
                        }
                        case NEUMANN -> {
                            for (int e = 0; e < d; e++) {
                                double co = 0;
                                for (int f = 0; f < d; f++) {
                                    co += cov[e][f] * qy.o()[f];
                                }
                                delta[e] = qy.o()[e] + co;
                            }
                        }
                        case FULL -> {
                            double[][] a = new double[d][d];
                            for (int e = 0; e < d; e++) {
                                for (int f = 0; f < d; f++) {
                                    a[e][f] = (e == f ? 1 + tr : 0) - cov[e][f];
                                }
                            }
                            delta = solve(a, qy.o());
                        }
                    }
                    System.arraycopy(delta, 0, out, (b * t + i) * c + h * d, d);
                }
            }
        }
        return out;
    }

    /** Gaussian elimination with partial pivoting, in double. */
    static double[] solve(double[][] a0, double[] rhs) {
        int d = rhs.length;
        double[][] a = new double[d][];
        for (int e = 0; e < d; e++) {
            a[e] = java.util.Arrays.copyOf(a0[e], d + 1);
            a[e][d] = rhs[e];
        }
        for (int col = 0; col < d; col++) {
            int piv = col;
            for (int r = col + 1; r < d; r++) {
                if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) {
                    piv = r;
                }
            }
            double[] tmp = a[col];
            a[col] = a[piv];
            a[piv] = tmp;
            for (int r = col + 1; r < d; r++) {
                double f = a[r][col] / a[col][col];
                for (int cc = col; cc <= d; cc++) {
                    a[r][cc] -= f * a[col][cc];
                }
            }
        }
        double[] x = new double[d];
        for (int r = d - 1; r >= 0; r--) {
            double s = a[r][d];
            for (int cc = r + 1; cc < d; cc++) {
                s -= a[r][cc] * x[cc];
            }
            x[r] = s / a[r][r];
        }
        return x;
    }

    /** o and diag(C) (B, T, C) from qkv. */
    private static double[][] moments(double[] qkv, int batch, int t, int c, int heads) {
        int d = c / heads;
        double[] o = new double[batch * t * c];
        double[] var = new double[batch * t * c];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < t; i++) {
                    Query qy = query(qkv, b, t, c, heads, h, i);
                    for (int e = 0; e < d; e++) {
                        o[(b * t + i) * c + h * d + e] = qy.o()[e];
                        var[(b * t + i) * c + h * d + e] = qy.m()[e][e] - qy.o()[e] * qy.o()[e];
                    }
                }
            }
        }
        return new double[][] {o, var};
    }

    /** The scalar whose gradient the shared backward computes; a, b and cd may be null. */
    private static double momentObjective(double[] qkv, double[] go, double[] a, double[] bv, double[] cd, int batch,
                                          int t, int c, int heads) {
        int d = c / heads;
        double sum = 0;
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < t; i++) {
                    Query qy = query(qkv, b, t, c, heads, h, i);
                    int at = (b * t + i) * c + h * d;
                    for (int e = 0; e < d; e++) {
                        sum += go[at + e] * qy.o()[e];
                        if (cd != null) {
                            sum += cd[at + e] * qy.m()[e][e];
                        }
                        if (a != null) {
                            for (int f = 0; f < d; f++) {
                                sum += a[at + e] * qy.m()[e][f] * bv[at + f];
                            }
                        }
                    }
                }
            }
        }
        return sum;
    }

    /** A scalar of one sequence: its qkv (1, T, 3C) and its index b in the batch. */
    private interface SequenceObjective {
        double value(double[] qkvOfSequence, int b);
    }

    /**
     * Central differences at qkv (B, T, 3C), every coordinate, for an objective that is a sum over the
     * sequences: a coordinate of sequence b moves only that sequence's term, so only it is evaluated.
     */
    private static double[] numericGradient(SequenceObjective f, double[] qkv, int batch) {
        int per = qkv.length / batch;
        double[] grad = new double[qkv.length];
        for (int b = 0; b < batch; b++) {
            double[] y = java.util.Arrays.copyOfRange(qkv, b * per, (b + 1) * per);
            for (int i = 0; i < per; i++) {
                double x = y[i];
                y[i] = x + FD_STEP;
                double plus = f.value(y, b);
                y[i] = x - FD_STEP;
                double minus = f.value(y, b);
                y[i] = x;
                grad[b * per + i] = (plus - minus) / (2 * FD_STEP);
            }
        }
        return grad;
    }

    /** Sequence b of a (B, T, C) array, or null for null. */
    private static double[] sequence(double[] x, int b, int batch) {
        if (x == null) {
            return null;
        }
        int per = x.length / batch;
        return java.util.Arrays.copyOfRange(x, b * per, (b + 1) * per);
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    // ---- the tests ----

    /** A check of the reference itself: with one key, p = 1 and C = 0, so every step returns v_0. */
    @Test
    void referenceWithOneKeyReturnsTheValue() {
        double[] qkv = doubles(randn(1f, 3 * 6));
        for (Kind kind : Kind.values()) {
            double[] delta = reference(kind, qkv, 1, 1, 6, 2);
            for (int e = 0; e < 6; e++) {
                assertEquals(qkv[12 + e], delta[e], 1e-12, kind + " channel " + e);
            }
        }
    }

    @Test
    void newtonDiagForwardAndBackward() {
        checkStep(Kind.DIAG);
    }

    private static void checkStep(Kind kind) {
        worst = 0;
        for (int[] cs : CASES) {
            int b = cs[0];
            int t = cs[1];
            int heads = cs[2];
            int c = heads * cs[3];
            String at = kind + " b=" + b + " t=" + t + " heads=" + heads + " d=" + cs[3];
            float scale = (float) (1.0 / Math.sqrt(cs[3]));
            float[] qkv = randn(1f, b * t * 3 * c);
            float[] g = randn(1f, b * t * c);
            double[] qkvD = doubles(qkv);
            double[] gD = doubles(g);
            int n = b * t * c;
            long tt = (long) b * heads * t * t;

            cl_mem dqkvIn = up(qkv);
            cl_mem dg = up(g);
            cl_mem out = floats(n);
            cl_mem att = floats(tt);
            cl_mem o = floats(n);
            cl_mem dpre = floats(tt);
            cl_mem dqkv = floats(3L * n);
            cl_mem s1 = floats(n);
            cl_mem s2 = floats(n);
            switch (kind) {
                case DIAG -> {
                    cl_mem var = floats(n);
                    k.newtonDiagForward(out, att, o, var, dqkvIn, b, t, c, heads, scale);
                    double[][] mv = moments(qkvD, b, t, c, heads);
                    assertClose(mv[0], download(dev, o, n), "o of " + at);
                    assertClose(mv[1], download(dev, var, n), "var of " + at);
                    k.newtonDiagBackward(dqkv, dpre, s1, s2, att, dqkvIn, o, var, dg, b, t, c, heads, scale);
                }
                case NEUMANN -> {
                    cl_mem w = floats(tt);
                    k.newtonNeumannForward(out, att, o, w, s1, dqkvIn, b, t, c, heads, scale);
                    assertClose(moments(qkvD, b, t, c, heads)[0], download(dev, o, n), "o of " + at);
                    k.newtonNeumannBackward(dqkv, dpre, w, floats(tt), s1, s2, att, dqkvIn, o, dg, b, t, c, heads,
                            scale);
                }
                case FULL -> {
                    int d = cs[3];
                    int facFloats = b * heads * t * d * d;
                    cl_mem fac = floats(facFloats);
                    k.newtonForward(out, att, o, fac, dqkvIn, b, t, c, heads, scale);
                    assertClose(moments(qkvD, b, t, c, heads)[0], download(dev, o, n), "o of " + at);
                    assertFactors(systems(qkvD, b, t, c, heads), download(dev, fac, facFloats), d,
                            "Cholesky factors of " + at);
                    k.newtonBackward(dqkv, dpre, floats(tt), floats(tt), s1, s2, floats(n), fac, att, dqkvIn, o, out,
                            dg, b, t, c, heads, scale);
                }
                default -> throw new AssertionError(kind);
            }
            assertClose(reference(kind, qkvD, b, t, c, heads), download(dev, out, n), "forward " + at);
            double[] expected = numericGradient(
                    (y, bi) -> dot(sequence(gD, bi, b), reference(kind, y, 1, t, c, heads)), qkvD, b);
            assertClose(expected, download(dev, dqkv, 3 * n), "backward " + at);
            releaseAll();
        }
        System.out.printf("%s: largest error relative to max(1, max |reference|) %.3g%n", kind, worst);
    }

    @Test
    void newtonNeumannForwardAndBackward() {
        checkStep(Kind.NEUMANN);
    }

    @Test
    void newtonForwardAndBackward() {
        checkStep(Kind.FULL);
    }

    /** Returns the matrices A = (1 + tr C) I - C of every (b, h, i), each d x d, row-major, one after another. */
    private static double[] systems(double[] qkv, int batch, int t, int c, int heads) {
        int d = c / heads;
        double[] out = new double[batch * heads * t * d * d];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < heads; h++) {
                for (int i = 0; i < t; i++) {
                    Query qy = query(qkv, b, t, c, heads, h, i);
                    double tr = 0;
                    for (int e = 0; e < d; e++) {
                        tr += qy.m()[e][e] - qy.o()[e] * qy.o()[e];
                    }
                    int at = ((b * heads + h) * t + i) * d * d;
                    for (int e = 0; e < d; e++) {
                        for (int f = 0; f < d; f++) {
                            double cov = qy.m()[e][f] - qy.o()[e] * qy.o()[f];
                            out[at + e * d + f] = (e == f ? 1 + tr : 0) - cov;
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Checks that the lower triangles in fac are Cholesky factors of the matrices in a: L L^T = A. */
    private static void assertFactors(double[] a, float[] fac, int d, String what) {
        double[] product = new double[a.length];
        for (int m = 0; m < a.length / (d * d); m++) {
            int at = m * d * d;
            for (int e = 0; e < d; e++) {
                for (int f = 0; f < d; f++) {
                    double s = 0;
                    for (int g = 0; g <= Math.min(e, f); g++) {
                        s += (double) fac[at + e * d + g] * fac[at + f * d + g];
                    }
                    product[at + e * d + f] = s;
                }
            }
        }
        assertClose(a, TestInputs.floats(product), what);
    }

    /** The shared backward with each combination of a low-rank and a diagonal part of dL/dM. */
    @Test
    void sharedMomentBackward() {
        worst = 0;
        for (int[] cs : CASES) {
            for (int variant = 0; variant < 3; variant++) {
                boolean ab = variant != 1;
                boolean diag = variant != 0;
                int b = cs[0];
                int t = cs[1];
                int heads = cs[2];
                int c = heads * cs[3];
                String at = "b=" + b + " t=" + t + " heads=" + heads + " d=" + cs[3] + " ab=" + ab + " diag=" + diag;
                float scale = (float) (1.0 / Math.sqrt(cs[3]));
                int n = b * t * c;
                long tt = (long) b * heads * t * t;
                float[] qkv = randn(1f, 3 * n);
                float[] go = randn(1f, n);
                float[] a = randn(1f, n);
                float[] bv = randn(1f, n);
                float[] cd = randn(1f, n);
                cl_mem dqkvIn = up(qkv);
                cl_mem att = floats(tt);
                cl_mem o = floats(n);
                cl_mem var = floats(n);
                cl_mem out = floats(n);
                // The softmax weights come from the diag forward, checked in newtonDiagForwardAndBackward.
                k.newtonDiagForward(out, att, o, var, dqkvIn, b, t, c, heads, scale);
                cl_mem dpre = floats(tt);
                cl_mem dqkv = floats(3L * n);
                k.momentBackward(dqkv, dpre, ab ? floats(tt) : null, ab ? floats(tt) : null, att, dqkvIn, up(go),
                        ab ? up(a) : null, ab ? up(bv) : null, diag ? up(cd) : null, b, t, c, heads, scale);
                double[] goD = doubles(go);
                double[] aD = ab ? doubles(a) : null;
                double[] bD = ab ? doubles(bv) : null;
                double[] cD = diag ? doubles(cd) : null;
                double[] expected = numericGradient((y, bi) -> momentObjective(y, sequence(goD, bi, b),
                        sequence(aD, bi, b), sequence(bD, bi, b), sequence(cD, bi, b), 1, t, c, heads),
                        doubles(qkv), b);
                assertClose(expected, download(dev, dqkv, 3 * n), "shared backward " + at);
                releaseAll();
            }
        }
        System.out.printf("shared backward: largest error relative to max(1, max |reference|) %.3g%n", worst);
    }
}
