package dev.joule.layers;

import dev.joule.engine.AttentionOps;
import dev.joule.engine.Autograd;
import dev.joule.engine.IndexOps;
import dev.joule.engine.Tensor;
import dev.joule.engine.nn.Linear;
import dev.joule.engine.nn.Module;
import java.util.function.UnaryOperator;

/**
 * An attention layer as one optimizer step on a global energy (see {@link EnergyRecipe}). Per head h
 * (D = C / H channels) and query i, from the pre-normed input h = norm(x):
 *
 * <pre>
 *   q, k, v   = split(h W_qkv + b_qkv)                     (B, H, T, D) each
 *   delta_i   = step of the recipe's optimizer on F_i from z = 0     ({@link StepRule})
 *   u         = concat_h(delta) W_O^T + b_O               (B, T, C)
 *   x, m      = the optimizer's across-layer update of the residual x and the velocity m
 * </pre>
 *
 * For the named energies delta is, with p_ij = softmax_j(s_ij / T) and G_ij the gate products:
 * softmax + gd: sum_j p_ij v_j (dot-product attention); linear + gd: sum_j s_ij v_j;
 * gated-linear + gd: sum_j G_ij s_ij v_j; softmax + newton-neumann: o + (1/T) Cov_p(v) o with
 * o = sum_j p_ij v_j; softmax + newton: (I (1 + lambda) - Cov_p(v) / T)^-1 o; newton-diag: the same
 * with the diagonal.
 *
 * <p>Two implementations compute delta. The generic path builds {@link EnergyField} and evaluates
 * the optimizer's expression in the explicit gradient and Hessian of the energies; it works for any
 * valid composition. The fast path (on by default, named recipes only) writes the induced attention
 * directly: the score matrix and softmax for softmax, the chunked state form for the linear energies.
 * Tests hold the two equal in value and gradient.
 *
 * <p>Parameters: {@code qkv} (3C, C), {@code proj} (C, C), and where the recipe needs them
 * {@code gate} (H, C) with bias, {@code log_temperature} (H), {@code momentum_logit} (1).
 */
public final class EnergyAttention extends Module {
    /** The normal initialization of GPT-2, scaled by 1 / sqrt(2L) on the output projection. */
    public static final float INIT_STD = 0.02f;

    /** Initial gate bias: sigmoid(3) = 0.95, so a decay product spans about 20 tokens at first. */
    public static final float GATE_BIAS = 3f;

    /** The result of one layer: the new residual stream and velocity, both (B, T, C); velocity may be null. */
    public record Step(Tensor x, Tensor velocity) {}

    private final EnergyRecipe recipe;
    private final int dim;
    private final int heads;
    private final int layer;
    private final Linear qkv;
    private final Linear proj;
    private final Linear gate;
    private final Tensor logTemperature;
    private final Tensor fixedTemperature;
    private final Tensor momentumLogit;
    private boolean useFastPath = true;
    private EnergyTrace trace;

    /**
     * @param recipe the energy and optimizer
     * @param dim the residual width C
     * @param heads H, which must divide C
     * @param layer this layer's index, recorded in the trace
     * @param layers the model's depth L, which scales the output projection's initialization
     * @param seed the model seed
     * @param streamBase the first of the random streams this layer may use; it uses base, base + 1
     *     (the same streams as a standard attention block) and base + 4 for the gate
     */
    public EnergyAttention(EnergyRecipe recipe, int dim, int heads, int layer, int layers, long seed,
                           long streamBase) {
        if (dim <= 0 || heads <= 0 || dim % heads != 0) {
            throw new IllegalArgumentException("EnergyAttention needs heads H > 0 dividing the width C > 0, got C="
                    + dim + ", H=" + heads);
        }
        if (layers <= 0 || layer < 0 || layer >= layers) {
            throw new IllegalArgumentException("layer " + layer + " is not in [0, " + layers + ")");
        }
        this.recipe = recipe;
        this.dim = dim;
        this.heads = heads;
        this.layer = layer;
        float residualStd = (float) (INIT_STD / Math.sqrt(2.0 * layers));
        this.qkv = child("qkv", new Linear(dim, 3 * dim, true, seed, streamBase, INIT_STD));
        this.proj = child("proj", new Linear(dim, dim, true, seed, streamBase + 1, residualStd));
        if (recipe.global().gated()) {
            this.gate = child("gate", new Linear(dim, heads, true, seed, streamBase + 4, INIT_STD));
            gate.stateDict().get("bias").copyFrom(Tensor.full(GATE_BIAS, heads));
        } else {
            this.gate = null;
        }
        float t0 = recipe.global().temperature();
        if (recipe.global().learnedTemperature()) {
            this.logTemperature = param("log_temperature", Tensor.full((float) Math.log(t0), heads), false);
            this.fixedTemperature = null;
        } else {
            this.logTemperature = null;
            this.fixedTemperature = Tensor.full(t0, 1, heads, 1, 1);
        }
        StepRule rule = recipe.step();
        if (rule.hasVelocity() && rule.learnedMu()) {
            double mu = rule.mu();
            this.momentumLogit = param("momentum_logit", Tensor.full((float) Math.log(mu / (1 - mu)), 1), false);
        } else {
            this.momentumLogit = null;
        }
    }

    /** Chooses the fused fast path (true, the default) or the generic path; recipes without one ignore it. */
    public void useFastPath(boolean on) {
        useFastPath = on;
    }

    /** Sets the energy trace that each forward call appends to, or null to stop tracing. */
    public void setTrace(EnergyTrace t) {
        trace = t;
    }

    public EnergyRecipe recipe() {
        return recipe;
    }

    /** Runs the layer with no dropout on its update; see {@link #forward(Tensor, Tensor, UnaryOperator, UnaryOperator)}. */
    public Step forward(Tensor x, Tensor velocity, UnaryOperator<Tensor> norm) {
        return forward(x, velocity, norm, UnaryOperator.identity());
    }

    /**
     * One layer: computes the update u from norm(x) (from norm(x + mu m) for Nesterov) and combines
     * it with x and the velocity by the recipe's optimizer.
     *
     * @param x the residual stream (B, T, C)
     * @param velocity the velocity m (B, T, C), or null for zero (the first layer, or no momentum)
     * @param norm the block's pre-norm
     * @param dropout applied to u before it enters the residual stream and velocity
     * @return the new x, and the new velocity (the input velocity when the optimizer keeps none)
     */
    public Step forward(Tensor x, Tensor velocity, UnaryOperator<Tensor> norm, UnaryOperator<Tensor> dropout) {
        if (x.rank() != 3 || x.size(2) != dim) {
            throw new dev.joule.engine.ShapeException("EnergyAttention expects x of shape (B, T, " + dim + "), got "
                    + java.util.Arrays.toString(x.shape()));
        }
        StepRule rule = recipe.step();
        Tensor mu = rule.hasVelocity() ? momentum() : null;

        // Nesterov looks ahead along the velocity before it evaluates the step.
        Tensor at = rule.memory() == StepRule.Memory.NESTEROV && velocity != null ? x.add(velocity.mul(mu)) : x;

        // Steps of all heads side by side (B, T, C), projected into the residual stream: (B, T, C).
        Tensor u = dropout.apply(proj.forward(mergedSteps(norm.apply(at))));

        if (!rule.hasVelocity()) {
            return new Step(x.add(u), velocity);
        }
        Tensor m = velocity == null ? u : velocity.mul(mu).add(u);
        return new Step(x.add(m), m);
    }

    /**
     * Returns the steps of all heads, merged: (B, T, H * D) from h (B, T, C). Softmax attention with a plain
     * gradient step at T = 1 goes to the engine's fused kernel, which never stores the (T, T) scores;
     * a trace needs q, k and v, so tracing takes the per-head route.
     */
    private Tensor mergedSteps(Tensor h) {
        StepRule rule = recipe.step();
        if (useFastPath && trace == null && recipe.hasFastPath() && unitTemperature()
                && rule.preconditioner() == StepRule.Preconditioner.NONE) {
            float scale = (float) (1.0 / Math.sqrt(dim / heads));
            return AttentionOps.causalSelfAttention(qkv.forward(h), heads, scale).scale(rule.stepSize());
        }
        return ReferenceAttention.mergeHeads(headSteps(h));
    }

    private boolean unitTemperature() {
        return recipe.global().free() && !recipe.global().learnedTemperature() && recipe.global().temperature() == 1f;
    }

    /**
     * Returns the per-head steps delta (B, H, T, D) from the normed input h (B, T, C), before the output
     * projection. The fast path here is the textbook composition (scores, mask, softmax, values).
     */
    public Tensor headSteps(Tensor h) {
        Tensor[] qkvHeads = ReferenceAttention.splitHeads(qkv.forward(h), heads);
        Tensor q = qkvHeads[0];
        Tensor k = qkvHeads[1];
        Tensor v = qkvHeads[2];
        Tensor logGates = gate == null ? null : EnergyOps.logSigmoid(gate.forward(h)).permute(0, 2, 1).contiguous();
        Tensor temperature = temperature();
        Tensor delta = useFastPath && recipe.hasFastPath()
                ? fastStep(q, k, v, logGates, temperature)
                : new EnergyField(recipe, q, k, v, logGates, temperature).step(recipe.step());
        if (trace != null) {
            record(q, k, v, logGates, temperature, delta);
        }
        return delta;
    }

    /** T per head, (1, H, 1, 1). */
    public Tensor temperature() {
        return logTemperature == null ? fixedTemperature : logTemperature.exp().reshape(1, heads, 1, 1);
    }

    /** Returns the momentum coefficient mu as a one-element tensor, or null when the optimizer has no velocity. */
    public Tensor momentum() {
        StepRule rule = recipe.step();
        if (!rule.hasVelocity()) {
            return null;
        }
        return momentumLogit == null ? Tensor.full(rule.mu(), 1) : EnergyOps.sigmoid(momentumLogit);
    }

    /** Computes the direct formulas of the named recipes; see the class documentation. */
    private Tensor fastStep(Tensor q, Tensor k, Tensor v, Tensor logGates, Tensor temperature) {
        StepRule rule = recipe.step();
        int d = q.size(-1);
        float scale = (float) (1.0 / Math.sqrt(d));
        if (!recipe.global().free()) {
            return ChunkedLinearAttention.attend(q, k, v, logGates, scale, ChunkedLinearAttention.CHUNK)
                    .scale(rule.stepSize());
        }
        if (rule.preconditioner() == StepRule.Preconditioner.NONE && unitTemperature()) {
            return ReferenceAttention.attend(q, k, v).scale(rule.stepSize());
        }

        // p = softmax(s / T) with the causal mask, o = p v: (B, H, T, T) and (B, H, T, D).
        Tensor scores = q.matmul(k.transpose(-2, -1)).scale(scale).div(temperature);
        Tensor p = IndexOps.causalMask(scores).softmax();
        Tensor o = p.matmul(v);
        Tensor out = switch (rule.preconditioner()) {
            case NONE -> o;
            case NEUMANN -> {
                // o + (1/T) (sum_j p_ij (v_j . o_i) v_j - |o_i|^2 o_i)
                Tensor cov = p.mul(o.matmul(v.transpose(-2, -1))).matmul(v).sub(o.mul(EnergyOps.sqNorm(o)));
                yield o.add(cov.div(temperature));
            }
            case DIAG -> {
                // o / (1 + lambda - diag(Cov_p v) / T)
                Tensor var = p.matmul(v.mul(v)).sub(o.mul(o)).div(temperature);
                Tensor lambda = Tensor.scalar(rule.damping());
                if (rule.boundedDamping()) {
                    lambda = lambda.add(var.sum(new int[] {-1}, true));
                }
                yield o.div(var.neg().addScalar(1f).add(lambda));
            }
            case FULL -> {
                // (I (1 + lambda) - Cov_p(v) / T)^-1 o, Cov_p(v) = sum_j p_ij v_j v_j^T - o o^T
                int b = q.size(0);
                int t = q.size(2);
                Tensor t5 = temperature.reshape(1, heads, 1, 1, 1);
                Tensor cov = p.matmul(EnergyOps.outer(v, v).reshape(b, heads, t, d * d)).reshape(b, heads, t, d, d)
                        .sub(EnergyOps.outer(o, o)).div(t5);
                Tensor lambda = Tensor.full(rule.damping() + 1f, 1, 1, 1, 1, 1);
                if (rule.boundedDamping()) {
                    lambda = lambda.add(p.matmul(v.mul(v)).sub(o.mul(o)).div(temperature)
                            .sum(new int[] {-1}, true).reshape(b, heads, t, 1, 1));
                }
                yield EnergyOps.solve(lambda.mul(EnergyOps.eye(d)).sub(cov), o);
            }
        };
        return out.scale(rule.stepSize());
    }

    /** Appends F before and after the step, per head, to the trace. */
    private void record(Tensor q, Tensor k, Tensor v, Tensor logGates, Tensor temperature, Tensor delta) {
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            EnergyField field = new EnergyField(recipe, q.detach(), k.detach(), v.detach(),
                    logGates == null ? null : logGates.detach(), temperature.detach());
            Tensor z = delta.detach();
            // (B, H, T, 1) -> mean over B and T -> (H)
            float[] before = field.value(field.origin()).mean(new int[] {0, 2, 3}, false).toArray();
            float[] after = field.value(z).mean(new int[] {0, 2, 3}, false).toArray();
            for (int h = 0; h < heads; h++) {
                trace.add(new EnergyTrace.Entry(layer, h, before[h], after[h]));
            }
        }
    }
}
