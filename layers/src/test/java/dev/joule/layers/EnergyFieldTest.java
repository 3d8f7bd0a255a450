package dev.joule.layers;

import static dev.joule.layers.Fixtures.assertClose;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.engine.Autograd;
import dev.joule.engine.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The explicit gradients and Hessians of the energies against finite differences, and Newton steps. */
class EnergyFieldTest {
    private static final int B = 1;
    private static final int H = 2;
    private static final int T = 4;
    private static final int D = 3;

    /** Builds a field of one named or custom composition on seeded q, k, v, gates and temperature. */
    private static EnergyField field(String name) {
        Tensor q = Tensor.randn(Fixtures.SEED, 21, 0.8f, B, H, T, D);
        Tensor k = Tensor.randn(Fixtures.SEED, 22, 0.8f, B, H, T, D);
        Tensor v = Tensor.randn(Fixtures.SEED, 23, 0.8f, B, H, T, D);
        Tensor logGates = EnergyOps.logSigmoid(Tensor.randn(Fixtures.SEED, 24, 1f, B, H, T).addScalar(1f));
        Tensor temperature = Tensor.of(new float[] {0.7f, 1.6f}, 1, H, 1, 1);
        EnergyRecipe recipe = switch (name) {
            case "softmax-learned-T" -> EnergyRecipe.of("softmax", "gd").withGlobal(GlobalEnergy.freeEnergy(1f, true));
            case "elastic-sum" -> EnergyRecipe.compose(LocalEnergy.elastic(), GlobalEnergy.sum(), StepRule.gd());
            case "elastic-free" -> EnergyRecipe.compose(LocalEnergy.elastic(), GlobalEnergy.freeEnergy(1f, false),
                    StepRule.gd());
            default -> EnergyRecipe.of(name, "gd");
        };
        boolean custom = name.contains("learned") || name.equals("elastic-free");
        return new EnergyField(recipe, q, k, v, recipe.global().gated() ? logGates : null, custom ? temperature : null);
    }

    private static double totalEnergy(EnergyField f, float[] z) {
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            return f.value(Tensor.of(z, B, H, T, D)).sum().item();
        }
    }

    // ---- (3) explicit z-gradients and Hessians against finite differences of F ----

    @ParameterizedTest
    @ValueSource(strings = {"softmax", "softmax-learned-T", "linear", "gated-linear", "elastic-sum", "elastic-free"})
    void gradientMatchesCentralDifferencesOfTheEnergy(String name) {
        EnergyField f = field(name);
        float[] z = Tensor.randn(Fixtures.SEED, 25, 0.5f, B, H, T, D).toArray();
        float[] grad = f.gradient(Tensor.of(z.clone(), B, H, T, D)).toArray();
        // sum_i F_i(z_i): the derivative along z_i is grad F_i, since F_i depends on z_i alone.
        double h = 1e-2;
        double[] fd = new double[z.length];
        for (int n = 0; n < z.length; n++) {
            float[] plus = z.clone();
            float[] minus = z.clone();
            plus[n] += (float) h;
            minus[n] -= (float) h;
            fd[n] = (totalEnergy(f, plus) - totalEnergy(f, minus)) / (2 * h);
        }
        assertClose(name + " grad F vs central differences", fd, grad, 3e-3);
    }

    @ParameterizedTest
    @ValueSource(strings = {"softmax", "softmax-learned-T", "linear", "gated-linear", "elastic-sum", "elastic-free"})
    void hessianMatchesDifferencesOfTheGradient(String name) {
        EnergyField f = field(name);
        float[] z = Tensor.randn(Fixtures.SEED, 26, 0.5f, B, H, T, D).toArray();
        float[] hess = f.hessian(Tensor.of(z.clone(), B, H, T, D)).toArray();
        float[] diag = f.hessianDiagonal(Tensor.of(z.clone(), B, H, T, D)).toArray();
        double h = 1e-2;
        double[] fd = new double[hess.length];
        float[] diagOfHess = new float[diag.length];
        for (int row = 0; row < B * H * T; row++) {
            for (int c = 0; c < D; c++) {
                float[] plus = z.clone();
                float[] minus = z.clone();
                plus[row * D + c] += (float) h;
                minus[row * D + c] -= (float) h;
                float[] gp = f.gradient(Tensor.of(plus, B, H, T, D)).toArray();
                float[] gm = f.gradient(Tensor.of(minus, B, H, T, D)).toArray();
                for (int r = 0; r < D; r++) {
                    fd[row * D * D + r * D + c] = (gp[row * D + r] - gm[row * D + r]) / (2 * h);
                }
                diagOfHess[row * D + c] = hess[row * D * D + c * D + c];
            }
        }
        assertClose(name + " Hessian vs differences of the gradient", fd, hess, 3e-3);
        assertClose(name + " Hessian diagonal", diagOfHess, diag, 1e-5);
    }

    // ---- (4) Newton steps ----

    @ParameterizedTest
    @ValueSource(strings = {"newton", "newton-diag", "newton-neumann"})
    void undampedNewtonLandsOnTheMinimumOfAQuadraticEnergy(String optimizer) {
        // F_i(z) = sum_{j <= i} 1/2 |z - v_j|^2 - s_ij: Hessian (i + 1) I, minimum at the mean of v_0..v_i.
        StepRule rule = switch (optimizer) {
            case "newton" -> StepRule.newton(0f, false);
            case "newton-diag" -> StepRule.newtonDiag(0f, false);
            default -> StepRule.newtonNeumann();
        };
        EnergyRecipe recipe = EnergyRecipe.compose(LocalEnergy.elastic(), GlobalEnergy.sum(), rule);
        Tensor v = Tensor.randn(Fixtures.SEED, 23, 0.8f, B, H, T, D);
        EnergyField f = new EnergyField(recipe, Tensor.randn(Fixtures.SEED, 21, 0.8f, B, H, T, D),
                Tensor.randn(Fixtures.SEED, 22, 0.8f, B, H, T, D), v, null, null);
        Tensor z = f.step(rule);
        float[] vv = v.toArray();
        double[] mean = new double[B * H * T * D];
        for (int bh = 0; bh < B * H; bh++) {
            for (int i = 0; i < T; i++) {
                for (int e = 0; e < D; e++) {
                    double s = 0;
                    for (int j = 0; j <= i; j++) {
                        s += vv[(bh * T + j) * D + e];
                    }
                    mean[(bh * T + i) * D + e] = s / (i + 1);
                }
            }
        }
        assertClose(optimizer + " lands on the mean", mean, z.toArray(), 1e-5);
        assertClose(optimizer + " gradient at the minimum", new float[mean.length], f.gradient(z).toArray(), 1e-5);
    }

    @Test
    void undampedNewtonOneKey() {
        // T = 1: F(z) = 1/2 |z|^2 - v_0 . z - s_00, minimum at v_0.
        Tensor v = Tensor.randn(Fixtures.SEED, 31, 1f, 2, H, 1, D);
        Tensor q = Tensor.randn(Fixtures.SEED, 32, 1f, 2, H, 1, D);
        EnergyRecipe recipe = EnergyRecipe.of("softmax", "gd").withStep(StepRule.newton(0f, false));
        EnergyField f = new EnergyField(recipe, q, q, v, null, null);
        assertClose("newton on one key", v.toArray(), f.step(recipe.step()).toArray(), 1e-6);
    }

    @ParameterizedTest
    @ValueSource(floats = {0f, 0.5f})
    void newtonStepSolvesTheDampedSystem(float lambda) {
        // (Hess F(0) + lambda I) delta = -grad F(0), with the Hessian checked above against differences.
        EnergyField f = field("elastic-free");
        StepRule rule = StepRule.newton(lambda, false);
        Tensor delta = f.step(rule);
        Tensor z0 = f.origin();
        Tensor lhs = f.hessian(z0).add(EnergyOps.eye(D).scale(lambda))
                .matmul(delta.reshape(B, H, T, D, 1)).reshape(B, H, T, D);
        assertClose("(H + lambda I) delta", f.gradient(z0).neg().toArray(), lhs.toArray(), 1e-4);
    }

    @Test
    void boundedDampingKeepsTheNewtonSystemPositiveDefinite() {
        // Large values make Hess F(0) = I - Cov_p(v) indefinite; the bounded damping tr(C) still makes
        // the step a descent direction: -grad F . delta > 0 for every query.
        Tensor v = Tensor.randn(Fixtures.SEED, 41, 3f, B, H, T, D);
        Tensor q = Tensor.randn(Fixtures.SEED, 42, 1f, B, H, T, D);
        EnergyRecipe recipe = EnergyRecipe.of("softmax", "newton");
        EnergyField f = new EnergyField(recipe, q, q, v, null, null);
        float[] hess = f.hessian(f.origin()).toArray();
        boolean indefinite = false;
        for (int row = 0; row < B * H * T && !indefinite; row++) {
            for (int c = 0; c < D; c++) {
                indefinite |= hess[row * D * D + c * D + c] < 0;
            }
        }
        assertTrue(indefinite, "the data should make some Hessian indefinite");
        float[] g = f.gradient(f.origin()).toArray();
        float[] delta = f.step(recipe.step()).toArray();
        for (int row = 0; row < B * H * T; row++) {
            double dot = 0;
            for (int c = 0; c < D; c++) {
                dot -= g[row * D + c] * delta[row * D + c];
            }
            double gn = 0;
            for (int c = 0; c < D; c++) {
                gn += g[row * D + c] * g[row * D + c];
            }
            assertTrue(dot > 0 || gn < 1e-12, "row " + row + ": not a descent direction, -g . delta = " + dot);
        }
    }

    // ---- the solve op's hand-written backward ----

    @Test
    void solveBackwardMatchesFiniteDifferences() {
        int n = 2;
        int d = 3;
        float[] a0 = Tensor.randn(Fixtures.SEED, 51, 1f, n, d, d).add(EnergyOps.eye(d).scale(3f)).toArray();
        float[] b0 = Tensor.randn(Fixtures.SEED, 52, 1f, n, d).toArray();
        Tensor r = Tensor.randn(Fixtures.SEED, 53, 1f, n, d);
        Tensor a = Tensor.of(a0.clone(), n, d, d).requiresGrad(true);
        Tensor b = Tensor.of(b0.clone(), n, d).requiresGrad(true);
        EnergyOps.solve(a, b).mul(r).sum().backward();
        double h = 1e-2;
        double[] da = new double[a0.length];
        for (int i = 0; i < a0.length; i++) {
            float[] p = a0.clone();
            float[] m = a0.clone();
            p[i] += (float) h;
            m[i] -= (float) h;
            da[i] = (solveLoss(p, b0, r, n, d) - solveLoss(m, b0, r, n, d)) / (2 * h);
        }
        double[] db = new double[b0.length];
        for (int i = 0; i < b0.length; i++) {
            float[] p = b0.clone();
            float[] m = b0.clone();
            p[i] += (float) h;
            m[i] -= (float) h;
            db[i] = (solveLoss(a0, p, r, n, d) - solveLoss(a0, m, r, n, d)) / (2 * h);
        }
        assertClose("dA", da, a.grad().toArray(), 2e-3);
        assertClose("db", db, b.grad().toArray(), 2e-3);
    }

    private static double solveLoss(float[] a, float[] b, Tensor r, int n, int d) {
        return EnergyOps.solve(Tensor.of(a, n, d, d), Tensor.of(b, n, d)).mul(r).sum().item();
    }
}
