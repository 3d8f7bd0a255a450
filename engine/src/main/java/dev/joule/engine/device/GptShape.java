package dev.joule.engine.device;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The architecture a device trains: a GPT-2 style decoder with learned positions, pre-norm blocks of
 * causal attention and a GELU MLP of width 4C, a final layer norm (eps 1e-5) and an unembedding tied to
 * the token table. The attention half of each block is one step of an optimizer (see
 * {@link AttentionStep}) on an energy (see {@link Energy}); {@link AttentionStep#GD} on
 * {@link Energy#SOFTMAX} is the standard residual Transformer.
 *
 * @param vocab vocabulary size V
 * @param context sequence length T, also the number of learned positions
 * @param layers blocks L
 * @param heads attention heads H; must divide {@code dim}
 * @param dim residual width C
 * @param batch the largest number of sequences B per step; activation buffers are sized for it
 * @param step how the attention update u_l of block l enters the residual stream
 * @param energy what the attention of each head computes from its q, k and v
 */
public record GptShape(int vocab, int context, int layers, int heads, int dim, int batch, AttentionStep step,
                       Energy energy) {
    /**
     * The attention of one head, from q, k, v (T, D) with s_ij = q_i . k_j / sqrt(D), for i the query and
     * j &lt;= i its causal keys (the output delta_i is then projected by attn.proj):
     */
    public enum Energy {
        /** delta_i = sum_j softmax_j(s_ij) v_j: dot-product attention (energy softmax). */
        SOFTMAX,
        /** delta_i = sum_j s_ij v_j, no normalization (energy linear). */
        LINEAR,
        /**
         * delta_i = sum_j G_ij s_ij v_j with G_ij = prod_{t=j+1..i} g_t and g_t = sigmoid(h_t . w_g + b_g) per
         * head, h the output of ln_1 (energy gated-linear). The gate is the Linear {@code h<l>.attn.gate},
         * weight (H, C) with weight decay and bias (H) without.
         */
        GATED_LINEAR;

        /** True when the energy has the gate parameters {@code attn.gate.weight} and {@code .bias}. */
        public boolean gated() {
            return this == GATED_LINEAR;
        }
    }

    /**
     * The across-layer rule of the attention half, with u_l = proj(attention(ln_1(input))) (B, T, C) and,
     * for the two momentum rules, a velocity m (B, T, C) carried from block to block next to x, with
     * m_0 = 0 and a coefficient mu_l = sigmoid(theta_l) learned per block (parameter
     * {@code h<l>.attn.momentum_logit}, shape (1), no weight decay). The MLP half only updates x.
     *
     * <p>The three Newton steps change the attention itself, not the rule across layers: per head and
     * query, with p the causal softmax weights, o = sum_j p_j v_j, C = Cov_p(v) and damping tr C, the
     * head's output is the step delta below instead of o, and x' = x + u(x) as for {@link #GD}.
     */
    public enum AttentionStep {
        /** x' = x + u(x): the standard Transformer (optimizer gd). */
        GD,
        /** m' = mu m + u(x), x' = x + m' (optimizer momentum, heavy ball). */
        MOMENTUM,
        /** m' = mu m + u(x + mu m), x' = x + m' (optimizer nesterov): the input is the look-ahead point. */
        NESTEROV,
        /** delta = ((1 + tr C) I - C)^-1 o, an exact D x D solve (optimizer newton); x' = x + u(x). */
        NEWTON,
        /** delta_d = o_d / (1 - C_dd + tr C) (optimizer newton-diag); x' = x + u(x). */
        NEWTON_DIAG,
        /** delta = o + C o (optimizer newton-neumann); x' = x + u(x). */
        NEWTON_NEUMANN;

        /** True when the rule carries a velocity and a learned coefficient per block. */
        public boolean hasVelocity() {
            return this == MOMENTUM || this == NESTEROV;
        }
    }

    public GptShape {
        if (vocab <= 0 || context <= 0 || layers <= 0 || heads <= 0 || dim <= 0 || batch <= 0) {
            throw new IllegalArgumentException("every GptShape size must be positive, got " + describe(vocab,
                    context, layers, heads, dim, batch));
        }
        if (dim % heads != 0) {
            throw new IllegalArgumentException("heads " + heads + " must divide dim " + dim);
        }
        if (step == null) {
            throw new IllegalArgumentException("a GptShape needs an attention step (GD for the standard Transformer)");
        }
        if (energy == null) {
            throw new IllegalArgumentException("a GptShape needs an energy (SOFTMAX for the standard Transformer)");
        }
    }

    /** Creates the shape of the standard Transformer, with {@link AttentionStep#GD} and {@link Energy#SOFTMAX}. */
    public GptShape(int vocab, int context, int layers, int heads, int dim, int batch) {
        this(vocab, context, layers, heads, dim, batch, AttentionStep.GD, Energy.SOFTMAX);
    }

    /** Creates a shape with the given attention step on the {@link Energy#SOFTMAX} energy. */
    public GptShape(int vocab, int context, int layers, int heads, int dim, int batch, AttentionStep step) {
        this(vocab, context, layers, heads, dim, batch, step, Energy.SOFTMAX);
    }

    private static String describe(int v, int t, int l, int h, int c, int b) {
        return "V=" + v + ", T=" + t + ", L=" + l + ", H=" + h + ", C=" + c + ", B=" + b;
    }

    /** Returns the width of one head, C / H. */
    public int headDim() {
        return dim / heads;
    }

    /**
     * Returns every parameter's name and shape in the order of the CPU model's state dictionary: wte,
     * wpe, then per layer l the names {@code h<l>.ln_1.weight}, {@code .ln_1.bias},
     * {@code .attn.momentum_logit} (1) when the step has a velocity, {@code .attn.qkv.weight} (3C, C),
     * {@code .attn.qkv.bias}, {@code .attn.proj.weight} (C, C), {@code .attn.proj.bias},
     * {@code .attn.gate.weight} (H, C) and {@code .attn.gate.bias} (H) when the energy is gated, {@code .ln_2.weight},
     * {@code .ln_2.bias}, {@code .mlp_fc.weight} (4C, C), {@code .mlp_fc.bias}, {@code .mlp_proj.weight}
     * (C, 4C), {@code .mlp_proj.bias}, and last
     * {@code ln_f.weight}, {@code ln_f.bias}. Linear weights are (out, in): y = x W^T + b.
     */
    public Map<String, int[]> parameterShapes() {
        int c = dim;
        Map<String, int[]> out = new LinkedHashMap<>();
        out.put("wte.weight", new int[] {vocab, c});
        out.put("wpe.weight", new int[] {context, c});
        for (int l = 0; l < layers; l++) {
            String p = "h" + l + ".";
            out.put(p + "ln_1.weight", new int[] {c});
            out.put(p + "ln_1.bias", new int[] {c});
            if (step.hasVelocity()) {
                // The attention module registers its own parameter before its sub-modules' ones.
                out.put(p + "attn.momentum_logit", new int[] {1});
            }
            out.put(p + "attn.qkv.weight", new int[] {3 * c, c});
            out.put(p + "attn.qkv.bias", new int[] {3 * c});
            out.put(p + "attn.proj.weight", new int[] {c, c});
            out.put(p + "attn.proj.bias", new int[] {c});
            if (energy.gated()) {
                out.put(p + "attn.gate.weight", new int[] {heads, c});
                out.put(p + "attn.gate.bias", new int[] {heads});
            }
            out.put(p + "ln_2.weight", new int[] {c});
            out.put(p + "ln_2.bias", new int[] {c});
            out.put(p + "mlp_fc.weight", new int[] {4 * c, c});
            out.put(p + "mlp_fc.bias", new int[] {4 * c});
            out.put(p + "mlp_proj.weight", new int[] {c, 4 * c});
            out.put(p + "mlp_proj.bias", new int[] {c});
        }
        out.put("ln_f.weight", new int[] {c});
        out.put("ln_f.bias", new int[] {c});
        return out;
    }

    /**
     * Returns whether weight decay applies to the named parameter. As in the CPU model, the weights of the
     * Linear layers of each block decay (qkv, proj, mlp_fc, mlp_proj and, with a gated energy, gate), and
     * embeddings, norms, biases and momentum_logit do not.
     */
    public static boolean decays(String name) {
        return name.endsWith(".attn.qkv.weight") || name.endsWith(".attn.proj.weight")
                || name.endsWith(".attn.gate.weight") || name.endsWith(".mlp_fc.weight")
                || name.endsWith(".mlp_proj.weight");
    }

    /** Returns the total number of scalar parameters. */
    public long parameterCount() {
        long n = 0;
        for (int[] s : parameterShapes().values()) {
            long k = 1;
            for (int d : s) {
                k *= d;
            }
            n += k;
        }
        return n;
    }
}
