package dev.joule.layers;

import dev.joule.engine.Tensor;

/**
 * The global energies F_i(z) of one batch on every head and query, built from a recipe's local and
 * global energy: its value, its explicit gradient and Hessian in z, and the optimizer step from
 * z = 0. Every quantity is a composition of engine ops, so autograd differentiates it with respect to
 * q, k, v, the gates and the temperature; this is the generic path of {@link EnergyAttention}.
 *
 * <p>With u_ij = grad E_ij(z) = a_ij z - b_ij v_j and w_ij = dF_i / dE_ij (see {@link GlobalEnergy}):
 *
 * <pre>
 *   grad F_i(z) = sum_j w_ij u_ij
 *   Hess F_i(z) = A_i I - [free energy only] (1/T) C_i,   A_i = sum_j w_ij a_ij,
 *   C_i         = sum_j p_ij u_ij u_ij^T - g_i g_i^T       (Cov_p(u), since g_i = sum_j p_ij u_ij)
 * </pre>
 *
 * Shapes: q, k, v (B, H, T, D); z and gradients (B, H, T, D); values (B, H, T, 1); Hessians
 * (B, H, T, D, D).
 */
public final class EnergyField {
    private final EnergyRecipe recipe;
    private final GlobalEnergy global;
    private final LocalEnergy.Terms terms;
    private final GlobalEnergy.Context ctx;
    private final int[] stateShape;

    /**
     * @param q queries (B, H, T, D)
     * @param k keys (B, H, T, D)
     * @param v values (B, H, T, D)
     * @param logGates log g_t (B, H, T), or null for energies without gates
     * @param temperature T (1, H, 1, 1), or null for 1
     */
    public EnergyField(EnergyRecipe recipe, Tensor q, Tensor k, Tensor v, Tensor logGates, Tensor temperature) {
        this.recipe = recipe;
        this.global = recipe.global();
        if (global.gated() && logGates == null) {
            throw new IllegalArgumentException("the " + global.name() + " energy needs decay gates");
        }
        int d = q.size(-1);
        Tensor scores = q.matmul(k.transpose(-2, -1)).scale((float) (1.0 / Math.sqrt(d)));
        this.terms = recipe.local().terms(scores, v);
        Tensor temp = temperature == null ? Tensor.full(1f, 1, q.size(1), 1, 1) : temperature;
        this.ctx = new GlobalEnergy.Context(logGates, temp);
        this.stateShape = v.shape();
    }

    /** Returns a state of zeros (B, H, T, D): where every layer starts its step. */
    public Tensor origin() {
        return Tensor.zeros(stateShape);
    }

    /** F_i(z): (B, H, T, 1). */
    public Tensor value(Tensor z) {
        return global.value(terms.value(z), ctx);
    }

    /** Returns the pair weights dF_i / dE_ij at z: (B, H, T, T). */
    public Tensor weights(Tensor z) {
        return global.weights(terms.value(z), ctx);
    }

    /** grad F_i(z): (B, H, T, D). */
    public Tensor gradient(Tensor z) {
        return terms.weightedGradient(weights(z), z);
    }

    /** Hess F_i(z): (B, H, T, D, D). */
    public Tensor hessian(Tensor z) {
        Tensor w = weights(z);
        int d = stateShape[3];
        Tensor h = curvature5(w).mul(EnergyOps.eye(d));
        if (global.free()) {
            h = h.sub(covariance(w, z).div(temperature5()));
        }
        return h;
    }

    /** Returns the diagonal of Hess F_i(z): (B, H, T, D). */
    public Tensor hessianDiagonal(Tensor z) {
        Tensor w = weights(z);
        Tensor h = terms.curvature(w).mul(Tensor.full(1f, stateShape[3]));
        if (global.free()) {
            h = h.sub(covarianceDiagonal(w, z).div(ctx.temperature()));
        }
        return h;
    }

    /**
     * Returns the step of {@code rule} from z = 0, before the output projection: (B, H, T, D). See
     * {@link StepRule} for the update of each preconditioner.
     */
    public Tensor step(StepRule rule) {
        Tensor z = origin();
        Tensor w = weights(z);
        Tensor g = terms.weightedGradient(w, z);
        Tensor a = terms.curvature(w);
        boolean free = global.free();
        Tensor t = ctx.temperature();
        Tensor direction = switch (rule.preconditioner()) {
            case NONE -> g;
            case NEUMANN -> {
                // (1/A) (I + C / (T A)) g; C g = sum_j p u (u . g) - g |g|^2.
                Tensor pre = g;
                if (free) {
                    Tensor cg = terms.secondMomentTimes(w, z, g).sub(g.mul(EnergyOps.sqNorm(g)));
                    pre = g.add(cg.div(t.mul(a)));
                }
                yield pre.div(a);
            }
            case DIAG -> {
                Tensor h = a;
                Tensor lambda = Tensor.scalar(rule.damping());
                if (free) {
                    Tensor cdiag = covarianceDiagonal(w, z);
                    h = h.sub(cdiag.div(t));
                    if (rule.boundedDamping()) {
                        lambda = lambda.add(cdiag.sum(new int[] {-1}, true).div(t));
                    }
                }
                yield g.div(h.add(lambda));
            }
            case FULL -> {
                int d = stateShape[3];
                Tensor h = curvature5(w).add(Tensor.full(rule.damping(), 1, 1, 1, 1, 1));
                Tensor cov = null;
                if (free) {
                    cov = covariance(w, z);
                    if (rule.boundedDamping()) {
                        h = h.add(covarianceDiagonal(w, z).sum(new int[] {-1}, true).div(t).reshape(shape5()));
                    }
                }
                Tensor m = h.mul(EnergyOps.eye(d));
                if (cov != null) {
                    m = m.sub(cov.div(temperature5()));
                }
                yield EnergyOps.solve(m, g);
            }
        };
        return direction.scale(-rule.stepSize());
    }

    /** C = sum_j p u u^T - g g^T: (B, H, T, D, D). */
    private Tensor covariance(Tensor w, Tensor z) {
        Tensor g = terms.weightedGradient(w, z);
        return terms.secondMoment(w, z).sub(EnergyOps.outer(g, g));
    }

    /** diag(C): (B, H, T, D). */
    private Tensor covarianceDiagonal(Tensor w, Tensor z) {
        Tensor g = terms.weightedGradient(w, z);
        return terms.secondMomentDiagonal(w, z).sub(g.mul(g));
    }

    private Tensor curvature5(Tensor w) {
        return terms.curvature(w).reshape(shape5());
    }

    private int[] shape5() {
        return new int[] {stateShape[0], stateShape[1], stateShape[2], 1, 1};
    }

    private Tensor temperature5() {
        return ctx.temperature().reshape(1, stateShape[1], 1, 1, 1);
    }

    /** Returns the recipe this field was built from. */
    public EnergyRecipe recipe() {
        return recipe;
    }
}
