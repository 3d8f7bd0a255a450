package dev.joule.layers;

import static dev.joule.layers.Fixtures.assertAllFinite;
import static dev.joule.layers.Fixtures.assertClose;
import static dev.joule.layers.Fixtures.leaf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.engine.Tensor;
import dev.joule.engine.nn.Parameter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** The attention layer: fast path against textbook loops and against the generic path, momentum, trace. */
class EnergyAttentionTest {
    private static final UnaryOperator<Tensor> NO_NORM = t -> t;

    private static EnergyAttention layer(EnergyRecipe recipe, int c, int h) {
        EnergyAttention attn = new EnergyAttention(recipe, c, h, 1, 3, Fixtures.SEED, 100);
        Fixtures.randomize(attn, 500, 0.4f);
        return attn;
    }

    // ---- (1) fast path against a plain-loop implementation of the attention each energy induces ----

    @ParameterizedTest
    @ValueSource(strings = {"softmax", "linear", "gated-linear"})
    void fastPathEqualsTextbookAttention(String energy) {
        int b = 2;
        int t = 7;
        int c = 6;
        int heads = 2;
        EnergyAttention attn = layer(EnergyRecipe.of(energy, "gd"), c, heads);
        Tensor x = Tensor.randn(Fixtures.SEED, 1, 1f, b, t, c);
        float[] fast = attn.headSteps(x).toArray();
        double[] expected = textbook(energy, attn.stateDict(), x.toArray(), b, t, c, heads);
        assertClose(energy + " fast path vs textbook", expected, fast, 2e-5);
    }

    /** The induced attention written with loops in double precision: (B, H, T, D) row-major. */
    private static double[] textbook(String energy, Map<String, Tensor> params, float[] x, int b, int t, int c,
                                     int heads) {
        int d = c / heads;
        float[] w = params.get("qkv.weight").toArray();
        float[] bias = params.get("qkv.bias").toArray();
        double[] out = new double[b * heads * t * d];
        for (int bi = 0; bi < b; bi++) {
            // qkv[pos][o] = x[pos] . w[o] + bias[o]
            double[][] qkv = new double[t][3 * c];
            for (int pos = 0; pos < t; pos++) {
                for (int o = 0; o < 3 * c; o++) {
                    double acc = bias[o];
                    for (int ci = 0; ci < c; ci++) {
                        acc += (double) x[(bi * t + pos) * c + ci] * w[o * c + ci];
                    }
                    qkv[pos][o] = acc;
                }
            }
            for (int h = 0; h < heads; h++) {
                double[] gate = gates(energy, params, x, bi, t, c, h);
                for (int i = 0; i < t; i++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int e = 0; e < d; e++) {
                            dot += qkv[i][h * d + e] * qkv[j][c + h * d + e];
                        }
                        s[j] = dot / Math.sqrt(d);
                        max = Math.max(max, s[j]);
                    }
                    double[] weight = new double[i + 1];
                    double norm = 0;
                    for (int j = 0; j <= i; j++) {
                        weight[j] = switch (energy) {
                            case "softmax" -> Math.exp(s[j] - max);
                            case "linear" -> s[j];
                            default -> {
                                double g = s[j];
                                for (int u = j + 1; u <= i; u++) {
                                    g *= gate[u];
                                }
                                yield g;
                            }
                        };
                        norm += weight[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        double wj = energy.equals("softmax") ? weight[j] / norm : weight[j];
                        for (int e = 0; e < d; e++) {
                            out[((bi * heads + h) * t + i) * d + e] += wj * qkv[j][2 * c + h * d + e];
                        }
                    }
                }
            }
        }
        return out;
    }

    /** g_t = sigmoid(x_t . w_gate[h] + b_gate[h]) for the gated energy; null otherwise. */
    private static double[] gates(String energy, Map<String, Tensor> params, float[] x, int bi, int t, int c, int h) {
        if (!energy.equals("gated-linear")) {
            return null;
        }
        float[] gw = params.get("gate.weight").toArray();
        float[] gb = params.get("gate.bias").toArray();
        double[] g = new double[t];
        for (int pos = 0; pos < t; pos++) {
            double a = gb[h];
            for (int ci = 0; ci < c; ci++) {
                a += (double) x[(bi * t + pos) * c + ci] * gw[h * c + ci];
            }
            g[pos] = 1 / (1 + Math.exp(-a));
        }
        return g;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 5, 64})
    void chunkedLinearAttentionDoesNotDependOnTheChunkSize(int chunk) {
        int t = 11;
        Tensor q = Tensor.randn(Fixtures.SEED, 11, 1f, 2, 3, t, 4);
        Tensor k = Tensor.randn(Fixtures.SEED, 12, 1f, 2, 3, t, 4);
        Tensor v = Tensor.randn(Fixtures.SEED, 13, 1f, 2, 3, t, 4);
        Tensor lg = EnergyOps.logSigmoid(Tensor.randn(Fixtures.SEED, 14, 2f, 2, 3, t).addScalar(1f));
        for (Tensor gates : new Tensor[] {null, lg}) {
            float[] whole = ChunkedLinearAttention.attend(q, k, v, gates, 0.5f, t).toArray();
            float[] parts = ChunkedLinearAttention.attend(q, k, v, gates, 0.5f, chunk).toArray();
            assertClose("chunk " + chunk + (gates == null ? " ungated" : " gated"), whole, parts, 1e-5);
        }
    }

    // ---- (2) fast path against the generic path, values and every gradient ----

    static List<Arguments> validPairsAndShapes() {
        List<Arguments> out = new ArrayList<>();
        int[][] shapes = {{2, 5, 6, 2}, {1, 1, 9, 3}, {3, 4, 5, 1}};
        for (String e : EnergyRecipe.ENERGIES) {
            for (String o : EnergyRecipe.optimizersFor(e)) {
                for (int[] s : shapes) {
                    out.add(Arguments.of(e, o, s[0], s[1], s[2], s[3]));
                }
            }
        }
        // A learned temperature keeps the fast path of the softmax energy.
        for (String o : EnergyRecipe.optimizersFor("softmax")) {
            out.add(Arguments.of("softmax:learned-T", o, 2, 5, 6, 2));
        }
        return out;
    }

    @ParameterizedTest(name = "{0} + {1}, B={2} T={3} C={4} H={5}")
    @MethodSource("validPairsAndShapes")
    void fastPathEqualsGenericPath(String energy, String optimizer, int b, int t, int c, int heads) {
        EnergyRecipe recipe = energy.endsWith(":learned-T")
                ? EnergyRecipe.of("softmax", optimizer).withGlobal(GlobalEnergy.freeEnergy(0.8f, true))
                : EnergyRecipe.of(energy, optimizer);
        assertTrue(recipe.hasFastPath());
        EnergyAttention attn = layer(recipe, c, heads);
        Tensor x = leaf(2, 1f, b, t, c);
        Tensor velocity = recipe.step().hasVelocity() ? leaf(3, 0.5f, b, t, c) : null;
        Tensor rx = Tensor.randn(Fixtures.SEED, 4, 1f, b, t, c);
        Tensor rv = Tensor.randn(Fixtures.SEED, 5, 1f, b, t, c);

        Run fast = run(attn, true, x, velocity, rx, rv);
        Run generic = run(attn, false, x, velocity, rx, rv);
        String tag = energy + " + " + optimizer + " ";
        double tol = 2e-4;
        assertAllFinite(tag + "x", fast.values.get(0));
        for (int i = 0; i < fast.values.size(); i++) {
            assertClose(tag + fast.names.get(i), generic.values.get(i), fast.values.get(i), tol);
        }
    }

    private record Run(List<String> names, List<float[]> values) {}

    /** Forward, a fixed random linear loss of x' and m', backward; returns outputs and all gradients. */
    private static Run run(EnergyAttention attn, boolean fast, Tensor x, Tensor velocity, Tensor rx, Tensor rv) {
        attn.useFastPath(fast);
        attn.zeroGrad();
        x.zeroGrad();
        if (velocity != null) {
            velocity.zeroGrad();
        }
        EnergyAttention.Step step = attn.forward(x, velocity, NO_NORM);
        Tensor loss = step.x().mul(rx).sum();
        if (step.velocity() != null) {
            loss = loss.add(step.velocity().mul(rv).sum());
        }
        loss.backward();
        List<String> names = new ArrayList<>(List.of("x'", "dx"));
        List<float[]> values = new ArrayList<>(List.of(step.x().toArray(), x.grad().toArray()));
        if (velocity != null) {
            names.add("m'");
            values.add(step.velocity().toArray());
            names.add("dm");
            values.add(velocity.grad().toArray());
        }
        for (Parameter p : attn.parameters()) {
            names.add("d" + p.name());
            values.add(p.value().grad() == null ? new float[p.value().numel()] : p.value().grad().toArray());
        }
        return new Run(names, values);
    }

    // ---- (4) momentum and Nesterov with coefficient 0 are gradient descent ----

    @ParameterizedTest
    @ValueSource(strings = {"softmax", "linear", "gated-linear"})
    void momentumAndNesterovWithZeroCoefficientEqualGd(String energy) {
        int b = 2;
        int t = 5;
        int c = 6;
        EnergyRecipe gd = EnergyRecipe.of(energy, "gd");
        Tensor x = Tensor.randn(Fixtures.SEED, 6, 1f, b, t, c);
        Tensor velocity = Tensor.randn(Fixtures.SEED, 7, 1f, b, t, c);
        EnergyAttention.Step reference = layer(gd, c, 2).forward(x, null, NO_NORM);
        assertNull(reference.velocity());
        for (StepRule rule : new StepRule[] {StepRule.momentum(0f, false), StepRule.nesterov(0f, false)}) {
            EnergyAttention.Step s = layer(gd.withStep(rule), c, 2).forward(x, velocity, NO_NORM);
            assertClose(rule.name() + " x'", reference.x().toArray(), s.x().toArray(), 1e-6);
            // With mu = 0 the new velocity is the update itself: x' - x.
            assertClose(rule.name() + " m'", reference.x().sub(x).toArray(), s.velocity().toArray(), 1e-6);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"momentum", "nesterov"})
    void velocityIsCarriedWithTheCoefficient(String optimizer) {
        int c = 6;
        EnergyRecipe recipe = EnergyRecipe.of("softmax", optimizer);
        EnergyAttention attn = layer(recipe, c, 2);
        float mu = attn.momentum().item();
        Tensor x = Tensor.randn(Fixtures.SEED, 8, 1f, 1, 4, c);
        Tensor m = Tensor.randn(Fixtures.SEED, 9, 1f, 1, 4, c);
        EnergyAttention.Step s = attn.forward(x, m, NO_NORM);
        // The update u is evaluated at x (heavy ball) or at x + mu m (Nesterov).
        Tensor at = optimizer.equals("nesterov") ? x.add(m.scale(mu)) : x;
        Tensor u = layer(EnergyRecipe.of("softmax", "gd"), c, 2).forward(at, null, NO_NORM).x().sub(at);
        assertClose("m'", m.scale(mu).add(u).toArray(), s.velocity().toArray(), 1e-5);
        assertClose("x'", x.add(s.velocity()).toArray(), s.x().toArray(), 1e-6);
    }

    // ---- (5) the trace shows F decreasing ----

    @ParameterizedTest
    @ValueSource(strings = {"softmax:gd", "softmax:newton", "softmax:newton-diag", "elastic:gd", "linear:gd",
        "gated-linear:momentum", "softmax:newton-neumann"})
    void traceShowsTheEnergyDecreasing(String pair) {
        // The Neumann step is a descent step only while |Cov_p(v)| / T < 1: small weights keep it there.
        float std = pair.endsWith("neumann") ? 0.1f : 0.4f;
        List<EnergyTrace.Entry> entries = traceOneLayer(pair, std);
        assertEquals(3, entries.size());
        for (EnergyTrace.Entry e : entries) {
            assertEquals(1, e.layer());
            assertTrue(e.change() < 0, pair + ": F rose on head " + e.head() + ": " + e);
        }
    }

    @org.junit.jupiter.api.Test
    void neumannStepCanRaiseTheEnergyWhenTheCovarianceIsLarge() {
        // With large values Cov_p(v) / T exceeds 1, the series behind (I + C / T) diverges and the
        // step overshoots: the bounded-damping Newton step on the same data still descends.
        assertTrue(traceOneLayer("softmax:newton-neumann", 0.4f).stream().anyMatch(e -> e.change() > 0));
        assertTrue(traceOneLayer("softmax:newton", 0.4f).stream().allMatch(e -> e.change() < 0));
    }

    private static List<EnergyTrace.Entry> traceOneLayer(String pair, float std) {
        String[] parts = pair.split(":");
        EnergyRecipe recipe = parts[0].equals("elastic")
                ? EnergyRecipe.compose(LocalEnergy.elastic(), GlobalEnergy.sum(), StepRule.gd().withStepSize(0.05f))
                : EnergyRecipe.of(parts[0], parts[1]);
        EnergyAttention attn = new EnergyAttention(recipe, 9, 3, 1, 3, Fixtures.SEED, 100);
        Fixtures.randomize(attn, 500, std);
        EnergyTrace trace = new EnergyTrace();
        attn.setTrace(trace);
        attn.forward(Tensor.randn(Fixtures.SEED, 10, 1f, 2, 6, 9), null, NO_NORM);
        List<EnergyTrace.Entry> entries = trace.entries();
        trace.clear();
        assertTrue(trace.entries().isEmpty());
        return entries;
    }
}
