package dev.joule.opencl;

import static dev.joule.opencl.OpenClTestDevice.download;
import static dev.joule.opencl.OpenClTestDevice.upload;
import static dev.joule.opencl.TestInputs.doubles;
import static dev.joule.opencl.TestInputs.floats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.joule.engine.AttentionOps;
import dev.joule.engine.IndexOps;
import dev.joule.engine.LossOps;
import dev.joule.engine.NormOps;
import dev.joule.engine.Tensor;
import dev.joule.engine.kernels.AdamWKernel;
import org.jocl.cl_mem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every OpenCL kernel against the CPU engine on odd sizes (1, 7, 17, 33), so that partial tiles and
 * rounded-up global sizes are exercised.
 *
 * <p>Tolerance: |device - cpu| &lt;= 1e-4 * max(1, max |cpu|) elementwise, relative to the largest value
 * of the expected tensor. Both sides compute in float32 but sum in different orders (tiles, vector
 * lanes, online softmax), and OpenCL's exp, tanh and sqrt may differ from Java's by a few ulp. Those
 * errors are of order 1e-6 (an estimate), while an indexing bug shows up as an error of order 1.
 */
class KernelsTest {
    private static final float TOL = 1e-4f;
    private static final int[] ODD = {1, 7, 17, 33};

    private static final TestInputs INPUTS = new TestInputs(42);

    private static OpenClDevice dev;
    private static Kernels k;

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

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        float max = 1f;
        for (float e : expected) {
            max = Math.max(max, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            float err = Math.abs(expected[i] - actual[i]);
            if (!(err <= TOL * max)) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i] + " (error " + err
                        + ", allowed " + TOL * max + ")");
            }
        }
    }

    @Test
    void matmulForwardAndBothBackwardProducts() {
        for (int rows : ODD) {
            for (int ic : ODD) {
                for (int oc : new int[] {1, 17, 33}) {
                    String at = "rows=" + rows + " ic=" + ic + " oc=" + oc;
                    Tensor x = INPUTS.randn(1f, rows, ic).requiresGrad(true);
                    Tensor w = INPUTS.randn(1f, oc, ic).requiresGrad(true);
                    Tensor b = INPUTS.randn(1f, oc).requiresGrad(true);
                    Tensor g = INPUTS.randn(1f, rows, oc);
                    Tensor y = x.matmul(w.transpose(0, 1)).add(b);
                    y.mul(g).sum().backward();

                    cl_mem dx = upload(dev, x.toArray());
                    cl_mem dw = upload(dev, w.toArray());
                    cl_mem db = upload(dev, b.toArray());
                    cl_mem dg = upload(dev, g.toArray());
                    cl_mem out = dev.buffer(4L * rows * oc, "out");
                    k.matmulForward(out, dx, dw, db, rows, ic, oc);
                    assertClose(y.toArray(), download(dev, out, rows * oc), "forward " + at);
                    k.matmulForward(out, dx, dw, null, rows, ic, oc);
                    assertClose(x.matmul(w.transpose(0, 1)).toArray(), download(dev, out, rows * oc),
                            "forward without bias " + at);

                    cl_mem gx = dev.buffer(4L * rows * ic, "dx");
                    k.matmulBackwardInput(gx, dg, dw, rows, ic, oc, false);
                    assertClose(x.grad().toArray(), download(dev, gx, rows * ic), "backward input " + at);
                    k.matmulBackwardInput(gx, dg, dw, rows, ic, oc, true);
                    assertClose(x.grad().scale(2f).toArray(), download(dev, gx, rows * ic),
                            "accumulated backward input " + at);

                    cl_mem gw = dev.buffer(4L * oc * ic, "dw");
                    k.matmulBackwardWeight(gw, dg, dx, rows, ic, oc, false);
                    assertClose(w.grad().toArray(), download(dev, gw, oc * ic), "backward weight " + at);

                    cl_mem gb = dev.buffer(4L * oc, "db");
                    k.biasBackward(gb, dg, rows, oc);
                    assertClose(b.grad().toArray(), download(dev, gb, oc), "bias backward " + at);
                    for (cl_mem m : new cl_mem[] {dx, dw, db, dg, out, gx, gw, gb}) {
                        dev.release(m);
                    }
                }
            }
        }
    }

    @Test
    void geluForwardBackwardAndResidual() {
        for (int n : new int[] {1, 7, 17, 33, 1000}) {
            Tensor x = INPUTS.randn(2f, n).requiresGrad(true);
            Tensor g = INPUTS.randn(1f, n);
            Tensor y = x.gelu();
            y.mul(g).sum().backward();
            cl_mem dx = upload(dev, x.toArray());
            cl_mem dg = upload(dev, g.toArray());
            cl_mem out = dev.buffer(4L * n, "out");
            k.geluForward(out, dx, n);
            assertClose(y.toArray(), download(dev, out, n), "gelu n=" + n);
            k.geluBackward(out, dx, dg, n);
            assertClose(x.grad().toArray(), download(dev, out, n), "gelu backward n=" + n);
            k.residualForward(out, dx, dg, n);
            assertClose(x.add(g).toArray(), download(dev, out, n), "residual n=" + n);
            // In place, as the stepper's gelu backward runs.
            cl_mem inPlace = upload(dev, g.toArray());
            k.geluBackward(inPlace, dx, inPlace, n);
            assertClose(x.grad().toArray(), download(dev, inPlace, n), "in-place gelu backward n=" + n);
        }
    }

    @Test
    void layerNormForwardAndBackward() {
        for (int rows : ODD) {
            for (int c : ODD) {
                String at = "rows=" + rows + " c=" + c;
                Tensor x = INPUTS.randn(1f, rows, c).addScalar(0.5f).requiresGrad(true);
                Tensor w = INPUTS.randn(1f, c).addScalar(1f).requiresGrad(true);
                Tensor b = INPUTS.randn(1f, c).requiresGrad(true);
                Tensor g = INPUTS.randn(1f, rows, c);
                Tensor y = NormOps.layerNorm(x, w, b, 1e-5f);
                y.mul(g).sum().backward();
                cl_mem dx = upload(dev, x.toArray());
                cl_mem dw = upload(dev, w.toArray());
                cl_mem db = upload(dev, b.toArray());
                cl_mem dg = upload(dev, g.toArray());
                cl_mem out = dev.buffer(4L * rows * c, "out");
                cl_mem mean = dev.buffer(4L * rows, "mean");
                cl_mem rstd = dev.buffer(4L * rows, "rstd");
                k.layerNormForward(out, mean, rstd, dx, dw, db, rows, c, 1e-5f);
                assertClose(y.toArray(), download(dev, out, rows * c), "layer norm " + at);
                k.layerNormBackwardInput(out, dg, dx, mean, rstd, dw, rows, c, false);
                assertClose(x.grad().toArray(), download(dev, out, rows * c), "layer norm dx " + at);
                cl_mem gw = dev.buffer(4L * c, "dw");
                cl_mem gb = dev.buffer(4L * c, "db");
                k.layerNormBackwardParams(gw, gb, dg, dx, mean, rstd, rows, c);
                assertClose(w.grad().toArray(), download(dev, gw, c), "layer norm dw " + at);
                assertClose(b.grad().toArray(), download(dev, gb, c), "layer norm db " + at);
                for (cl_mem m : new cl_mem[] {dx, dw, db, dg, out, mean, rstd, gw, gb}) {
                    dev.release(m);
                }
            }
        }
    }

    @Test
    void embeddingForwardAndDeterministicBackward() {
        int vocab = 17;
        int c = 7;
        for (int b : new int[] {1, 3}) {
            for (int t : new int[] {1, 7, 17}) {
                String at = "b=" + b + " t=" + t;
                int[] ids = new int[b * t];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = (i * 5 + i / 3) % vocab;
                }
                int[] pos = new int[t];
                for (int i = 0; i < t; i++) {
                    pos[i] = i;
                }
                Tensor wte = INPUTS.randn(1f, vocab, c).requiresGrad(true);
                Tensor wpe = INPUTS.randn(1f, t, c).requiresGrad(true);
                Tensor g = INPUTS.randn(1f, b, t, c);
                Tensor y = IndexOps.embedding(wte, ids, b, t).add(IndexOps.embedding(wpe, pos, t));
                y.mul(g).sum().backward();
                cl_mem dte = upload(dev, wte.toArray());
                cl_mem dpe = upload(dev, wpe.toArray());
                cl_mem dids = upload(dev, ids);
                cl_mem dg = upload(dev, g.toArray());
                cl_mem out = dev.buffer(4L * b * t * c, "out");
                k.encoderForward(out, dids, dte, dpe, b, t, c);
                assertClose(y.toArray(), download(dev, out, b * t * c), "embedding " + at);

                int[] rowStart = new int[vocab + 1];
                int[] positions = new int[ids.length];
                Kernels.sortPositions(ids, vocab, rowStart, positions);
                cl_mem drs = upload(dev, rowStart);
                cl_mem dpos = upload(dev, positions);
                cl_mem gte = dev.buffer(4L * vocab * c, "dwte");
                k.encoderBackwardWte(gte, dg, drs, dpos, vocab, c, false);
                assertClose(wte.grad().toArray(), download(dev, gte, vocab * c), "embedding dwte " + at);
                cl_mem gpe = dev.buffer(4L * t * c, "dwpe");
                k.encoderBackwardWpe(gpe, dg, b, t, c);
                assertClose(wpe.grad().toArray(), download(dev, gpe, t * c), "embedding dwpe " + at);
                for (cl_mem m : new cl_mem[] {dte, dpe, dids, dg, out, drs, dpos, gte, gpe}) {
                    dev.release(m);
                }
            }
        }
    }

    @Test
    void causalAttentionForwardAndBackward() {
        int[][] cases = {{1, 1, 1, 1}, {2, 7, 3, 6}, {1, 17, 2, 14}, {2, 33, 1, 7}, {3, 5, 4, 32}};
        for (int[] cs : cases) {
            int b = cs[0];
            int t = cs[1];
            int h = cs[2];
            int c = cs[3];
            String at = "b=" + b + " t=" + t + " h=" + h + " c=" + c;
            float scale = (float) (1.0 / Math.sqrt(c / h));
            Tensor qkv = INPUTS.randn(1f, b, t, 3 * c).requiresGrad(true);
            Tensor g = INPUTS.randn(1f, b, t, c);
            Tensor y = AttentionOps.causalSelfAttention(qkv, h, scale);
            y.mul(g).sum().backward();
            cl_mem dqkvIn = upload(dev, qkv.toArray());
            cl_mem dg = upload(dev, g.toArray());
            cl_mem out = dev.buffer(4L * b * t * c, "out");
            cl_mem att = dev.buffer(4L * b * h * t * t, "att");
            k.attentionForward(out, att, dqkvIn, b, t, c, h, scale);
            assertClose(y.toArray(), download(dev, out, b * t * c), "attention " + at);
            cl_mem dpre = dev.buffer(4L * b * h * t * t, "dpre");
            cl_mem dqkv = dev.buffer(4L * b * t * 3 * c, "dqkv");
            k.attentionBackward(dqkv, dpre, att, dqkvIn, dg, b, t, c, h, scale);
            assertClose(qkv.grad().toArray(), download(dev, dqkv, b * t * 3 * c), "attention backward " + at);
            for (cl_mem m : new cl_mem[] {dqkvIn, dg, out, att, dpre, dqkv}) {
                dev.release(m);
            }
        }
    }

    /** Uploads n NaNs, so that an element a kernel fails to write shows up in the comparison. */
    private static cl_mem nans(int n) {
        float[] x = new float[n];
        java.util.Arrays.fill(x, Float.NaN);
        return upload(dev, x);
    }

    /**
     * Gate logits (B, T, H) around 1 (g about 0.7) with spread 2, and for T &gt; 4 one strongly closed
     * (z = -20) and one wide open (z = 20) gate, so that the running log sums reach -20 and
     * 1 / (1 + exp(z)) meets a large exp.
     */
    private static float[] gateLogits(int b, int t, int h) {
        float[] z = INPUTS.randn(2f, b, t, h).addScalar(1f).toArray();
        if (t > 4) {
            z[2 * h] = -20f;
            z[z.length - 1] = 20f;
        }
        return z;
    }

    /**
     * The double-precision reference of the linear energies against central differences of its own
     * forward (step 1e-5), so that the kernels below are compared with gradients that are known right.
     * Tolerance 1e-6 of max(1, the largest gradient): the differences' truncation error is of order
     * 1e-10 here.
     */
    @Test
    void linearAttentionReferenceMatchesFiniteDifferences() {
        int[][] cases = {{1, 5, 2, 6}, {2, 3, 3, 3}};
        double eps = 1e-5;
        for (int[] cs : cases) {
            for (boolean gated : new boolean[] {false, true}) {
                LinearAttentionReference ref = new LinearAttentionReference(cs[0], cs[1], cs[3], cs[2]);
                String at = (gated ? "gated" : "linear") + " b=" + cs[0] + " t=" + cs[1] + " h=" + cs[2]
                        + " c=" + cs[3];
                double[] qkv = doubles(INPUTS.randn(1f, cs[0], cs[1], 3 * cs[3]).toArray());
                double[] z = gated ? doubles(gateLogits(cs[0], cs[1], cs[2])) : null;
                double[] dy = doubles(INPUTS.randn(1f, cs[0], cs[1], cs[3]).toArray());
                LinearAttentionReference.Backward g = ref.backward(qkv, z, dy);
                assertGradient(g.dqkv(), qkv, () -> ref.loss(qkv, z, dy), eps, "dqkv " + at);
                if (gated) {
                    assertGradient(g.dz(), z, () -> ref.loss(qkv, z, dy), eps, "dz " + at);
                }
            }
        }
    }

    private static void assertGradient(double[] grad, double[] x, java.util.function.DoubleSupplier loss,
                                       double eps, String what) {
        double max = 1;
        for (double v : grad) {
            max = Math.max(max, Math.abs(v));
        }
        for (int i = 0; i < x.length; i++) {
            double keep = x[i];
            x[i] = keep + eps;
            double up = loss.getAsDouble();
            x[i] = keep - eps;
            double down = loss.getAsDouble();
            x[i] = keep;
            double numeric = (up - down) / (2 * eps);
            double err = Math.abs(numeric - grad[i]);
            if (!(err <= 1e-6 * max)) {
                fail(what + ": element " + i + " is " + grad[i] + ", central difference " + numeric);
            }
        }
    }

    /**
     * Linear and gated linear attention (linear_attention.cl) against {@link LinearAttentionReference}:
     * the log-decay sums, the stored weights (zero above the diagonal), the output, dqkv and the gate
     * logit gradient dz, on odd sizes including T = 1, within TOL of the largest reference value as in
     * the other kernels. Outputs start as NaN, so an element no kernel writes fails.
     */
    @Test
    void linearAttentionForwardAndBackward() {
        int[][] cases = {{1, 1, 1, 1}, {2, 7, 3, 9}, {1, 17, 2, 14}, {3, 5, 1, 3}, {2, 17, 3, 15}};
        for (int[] cs : cases) {
            for (boolean gated : new boolean[] {false, true}) {
                int b = cs[0];
                int t = cs[1];
                int h = cs[2];
                int c = cs[3];
                String at = (gated ? "gated" : "linear") + " b=" + b + " t=" + t + " h=" + h + " c=" + c;
                LinearAttentionReference ref = new LinearAttentionReference(b, t, c, h);
                float[] qkv = INPUTS.randn(1f, b, t, 3 * c).toArray();
                float[] z = gated ? gateLogits(b, t, h) : null;
                float[] dy = INPUTS.randn(1f, b, t, c).toArray();
                LinearAttentionReference.Forward f = ref.forward(doubles(qkv), gated ? doubles(z) : null);
                LinearAttentionReference.Backward g = ref.backward(doubles(qkv), gated ? doubles(z) : null,
                        doubles(dy));

                cl_mem dqkvIn = upload(dev, qkv);
                cl_mem dg = upload(dev, dy);
                cl_mem dz = gated ? upload(dev, z) : null;
                cl_mem logDecay = gated ? nans(b * h * t) : null;
                cl_mem out = nans(b * t * c);
                cl_mem att = nans(b * h * t * t);
                if (gated) {
                    k.gateLogDecay(logDecay, dz, b, t, h);
                    assertClose(floats(f.logDecay()), download(dev, logDecay, b * h * t), "log-decay sums " + at);
                }
                k.linearAttentionForward(out, att, dqkvIn, logDecay, b, t, c, h, (float) ref.scale);
                assertClose(floats(f.att()), download(dev, att, b * h * t * t), "weights " + at);
                assertClose(floats(f.out()), download(dev, out, b * t * c), "output " + at);

                cl_mem dpre = nans(b * h * t * t);
                cl_mem dqkv = nans(b * t * 3 * c);
                cl_mem dgate = gated ? nans(b * t * h) : null;
                cl_mem dlog = gated ? nans(b * h * t) : null;
                k.linearAttentionBackward(dqkv, dpre, att, dqkvIn, dg, logDecay, dz, dgate, dlog, b, t, c, h,
                        (float) ref.scale);
                assertClose(floats(g.dqkv()), download(dev, dqkv, b * t * 3 * c), "dqkv " + at);
                if (gated) {
                    assertClose(floats(g.dz()), download(dev, dgate, b * t * h), "gate logit gradient " + at);
                }
                for (cl_mem m : new cl_mem[] {dqkvIn, dg, dz, logDecay, out, att, dpre, dqkv, dgate, dlog}) {
                    if (m != null) {
                        dev.release(m);
                    }
                }
            }
        }
    }

    @Test
    void softmaxCrossEntropyForwardAndBackward() {
        for (int rows : ODD) {
            for (int v : new int[] {1, 7, 33, 256}) {
                String at = "rows=" + rows + " v=" + v;
                int[] targets = new int[rows];
                int counted = 0;
                for (int i = 0; i < rows; i++) {
                    // Every fifth row is left out of the loss, as a task's padding would be.
                    targets[i] = i % 5 == 4 ? LossOps.IGNORE : (i * 7 + 3) % v;
                    counted += targets[i] == LossOps.IGNORE ? 0 : 1;
                }
                Tensor logits = INPUTS.randn(3f, rows, v).requiresGrad(true);
                Tensor loss = LossOps.crossEntropy(logits, targets);
                loss.backward();
                cl_mem dl = upload(dev, logits.toArray());
                cl_mem dt = upload(dev, targets);
                cl_mem losses = dev.buffer(4L * rows, "losses");
                cl_mem mean = dev.buffer(8L, "mean");
                k.crossEntropyForward(losses, dl, dt, rows, v);
                k.meanLoss(mean, 1, losses, rows, Math.max(1, counted));
                assertClose(new float[] {loss.item()}, new float[] {download(dev, mean, 2)[1]}, "loss " + at);
                assertClose(logits.softmax().toArray(), download(dev, dl, rows * v), "probabilities " + at);
                k.crossEntropyBackward(dl, dt, rows, v, 1f / Math.max(1, counted));
                assertClose(logits.grad().toArray(), download(dev, dl, rows * v), "dlogits " + at);
                for (cl_mem m : new cl_mem[] {dl, dt, losses, mean}) {
                    dev.release(m);
                }
            }
        }
    }

    @Test
    void gradNormMatchesAndRepeats() {
        for (int n : new int[] {1, 7, 33, 4096, 4097, 100_003}) {
            float[] x = INPUTS.randn(1f, n).toArray();
            double ss = 0;
            for (float f : x) {
                ss += (double) f * f;
            }
            cl_mem dx = upload(dev, x);
            cl_mem partials = dev.buffer(4L * Kernels.normPartials(n), "partials");
            cl_mem out = dev.buffer(8L, "norm");
            k.gradNorm(out, 0, dx, n, partials);
            float first = download(dev, out, 1)[0];
            assertClose(new float[] {(float) Math.sqrt(ss)}, new float[] {first}, "norm n=" + n);
            k.gradNorm(out, 0, dx, n, partials);
            assertEquals(Float.floatToIntBits(first), Float.floatToIntBits(download(dev, out, 1)[0]),
                    "the norm must be bitwise reproducible, n=" + n);
            for (cl_mem m : new cl_mem[] {dx, partials, out}) {
                dev.release(m);
            }
        }
    }

    @Test
    void adamWWithClippingMatchesTheCpuKernel() {
        for (int n : ODD) {
            for (float clip : new float[] {0f, 0.5f, 1e9f}) {
                String at = "n=" + n + " clip=" + clip;
                float[] p = INPUTS.randn(1f, n).toArray();
                float[] g = INPUTS.randn(1f, n).toArray();
                float[] m = INPUTS.randn(0.1f, n).toArray();
                float[] v = INPUTS.randn(0.1f, n).toArray();
                for (int i = 0; i < n; i++) {
                    v[i] = Math.abs(v[i]);
                }
                double ss = 0;
                for (float f : g) {
                    ss += (double) f * f;
                }
                float norm = (float) Math.sqrt(ss);
                cl_mem dp = upload(dev, p);
                cl_mem dgr = upload(dev, g);
                cl_mem dm = upload(dev, m);
                cl_mem dv = upload(dev, v);
                cl_mem dn = upload(dev, new float[] {norm});
                int step = 3;
                float c1 = (float) (1.0 - Math.pow(0.9, step));
                float c2 = (float) (1.0 - Math.pow(0.95, step));
                k.adamw(dp, dgr, dm, dv, dn, n, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, c1, c2, clip);

                float[] gc = g.clone();
                if (clip > 0 && norm > clip) {
                    float factor = (float) (clip / (norm + 1e-6));
                    for (int i = 0; i < n; i++) {
                        gc[i] *= factor;
                    }
                }
                AdamWKernel.step(p, 0, gc, 0, m, 0, v, 0, n, 1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f, step);
                assertClose(p, download(dev, dp, n), "adamw param " + at);
                assertClose(m, download(dev, dm, n), "adamw m " + at);
                assertClose(v, download(dev, dv, n), "adamw v " + at);
                for (cl_mem mem : new cl_mem[] {dp, dgr, dm, dv, dn}) {
                    dev.release(mem);
                }
            }
        }
    }
}
