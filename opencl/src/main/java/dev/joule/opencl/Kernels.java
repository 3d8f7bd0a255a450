package dev.joule.opencl;

import org.jocl.cl_mem;

/**
 * Typed launches of the kernels in {@code kernels/*.cl}. Sizes are element counts; every buffer is
 * row-major float32 (int32 for token ids). Shapes follow the kernel files' comments. The launches are
 * queued, not waited for.
 */
final class Kernels {
    /** Side of the matmul output tile and of its work-group; must equal TS and WG in matmul.cl. */
    static final int TILE = 64;
    static final int TILE_GROUP = 16;
    /** Global sizes of one-item-per-element kernels are rounded up to this. */
    static final int ROUND = 64;
    /** Work-group size and slice length of grad_norm.cl (WG and CHUNK there). */
    static final int NORM_GROUP = 64;
    static final int NORM_CHUNK = 4096;

    private final OpenClDevice dev;

    Kernels(OpenClDevice dev) {
        this.dev = dev;
    }

    private static long round(long n, int to) {
        return Math.max(to, (n + to - 1) / to * to);
    }

    private void elementwise(String name, long n, Object... args) {
        dev.launch(name, new long[] {round(n, ROUND)}, null, args);
    }

    private void tiled(String name, int cols, int rows, Object... args) {
        // One 16 x 16 work-group per 64 x 64 tile of the output.
        long groupsX = (cols + TILE - 1) / TILE;
        long groupsY = (rows + TILE - 1) / TILE;
        dev.launch(name, new long[] {Math.max(1, groupsX) * TILE_GROUP, Math.max(1, groupsY) * TILE_GROUP},
                new long[] {TILE_GROUP, TILE_GROUP}, args);
    }

    /** out (rows, oc) = inp (rows, ic) w^T + bias; bias null for none. */
    void matmulForward(cl_mem out, cl_mem inp, cl_mem w, cl_mem bias, int rows, int ic, int oc) {
        tiled("matmul_forward", oc, rows, out, inp, w, bias == null ? w : bias, bias == null ? 0 : 1, rows, ic, oc);
    }

    /** dinp (rows, ic) (+)= dout (rows, oc) w. */
    void matmulBackwardInput(cl_mem dinp, cl_mem dout, cl_mem w, int rows, int ic, int oc, boolean accumulate) {
        tiled("matmul_backward_input", ic, rows, dinp, dout, w, rows, ic, oc, accumulate ? 1 : 0);
    }

    /** dw (oc, ic) (+)= dout^T inp. */
    void matmulBackwardWeight(cl_mem dw, cl_mem dout, cl_mem inp, int rows, int ic, int oc, boolean accumulate) {
        tiled("matmul_backward_weight", ic, oc, dw, dout, inp, rows, ic, oc, accumulate ? 1 : 0);
    }

    /** dbias (oc) = column sums of dout (rows, oc). */
    void biasBackward(cl_mem dbias, cl_mem dout, int rows, int oc) {
        elementwise("bias_backward", oc, dbias, dout, rows, oc);
    }

    void geluForward(cl_mem out, cl_mem inp, int n) {
        elementwise("gelu_forward", n, out, inp, n);
    }

    void geluBackward(cl_mem dinp, cl_mem inp, cl_mem dout, int n) {
        elementwise("gelu_backward", n, dinp, inp, dout, n);
    }

    void residualForward(cl_mem out, cl_mem a, cl_mem b, int n) {
        elementwise("residual_forward", n, out, a, b, n);
    }

    /** One AdamW update of n parameters; norm[0] is the global gradient norm used for clipping. */
    void adamw(cl_mem param, cl_mem grad, cl_mem m, cl_mem v, cl_mem norm, int n, float lr, float beta1, float beta2,
               float eps, float wd, float c1, float c2, float clip) {
        elementwise("adamw", n, param, grad, m, v, norm, n, lr, beta1, beta2, eps, wd, c1, c2, clip);
    }

    /** Returns how many partial sums {@link #gradNorm} writes for n elements. */
    static int normPartials(long n) {
        return (int) Math.max(1, (n + NORM_CHUNK - 1) / NORM_CHUNK);
    }

    /** out[index] = the L2 norm of x[0, n); partials has room for {@link #normPartials(long)} floats. */
    void gradNorm(cl_mem out, int index, cl_mem x, int n, cl_mem partials) {
        int groups = normPartials(n);
        dev.launch("sumsq_partial", new long[] {(long) groups * NORM_GROUP}, new long[] {NORM_GROUP}, partials, x, n);
        dev.launch("sum_partials", new long[] {NORM_GROUP}, new long[] {NORM_GROUP}, out, partials, groups, index);
    }

    void layerNormForward(cl_mem out, cl_mem mean, cl_mem rstd, cl_mem inp, cl_mem w, cl_mem b, int rows, int c,
                          float eps) {
        elementwise("layernorm_forward", rows, out, mean, rstd, inp, w, b, rows, c, eps);
    }

    void layerNormBackwardInput(cl_mem dinp, cl_mem dout, cl_mem inp, cl_mem mean, cl_mem rstd, cl_mem w, int rows,
                                int c, boolean accumulate) {
        elementwise("layernorm_backward_input", rows, dinp, dout, inp, mean, rstd, w, rows, c, accumulate ? 1 : 0);
    }

    void layerNormBackwardParams(cl_mem dw, cl_mem db, cl_mem dout, cl_mem inp, cl_mem mean, cl_mem rstd, int rows,
                                 int c) {
        elementwise("layernorm_backward_params", c, dw, db, dout, inp, mean, rstd, rows, c);
    }

    void encoderForward(cl_mem out, cl_mem tokens, cl_mem wte, cl_mem wpe, int batch, int t, int c) {
        elementwise("encoder_forward", (long) batch * t * c, out, tokens, wte, wpe, batch, t, c);
    }

    /** rowStart (vocab + 1) and positions (N) are the counting sort of {@link #sortPositions}. */
    void encoderBackwardWte(cl_mem dwte, cl_mem dout, cl_mem rowStart, cl_mem positions, int vocab, int c,
                            boolean accumulate) {
        elementwise("encoder_backward_wte", (long) vocab * c, dwte, dout, rowStart, positions, vocab, c,
                accumulate ? 1 : 0);
    }

    void encoderBackwardWpe(cl_mem dwpe, cl_mem dout, int batch, int t, int c) {
        elementwise("encoder_backward_wpe", (long) t * c, dwpe, dout, batch, t, c);
    }

    /**
     * Counting sort of positions by token: fills rowStart (vocab + 1) and positions (tokens.length) so
     * that positions[rowStart[v], rowStart[v + 1]) are the positions of token v in increasing order.
     */
    static void sortPositions(int[] tokens, int vocab, int[] rowStart, int[] positions) {
        java.util.Arrays.fill(rowStart, 0);
        for (int tok : tokens) {
            rowStart[tok + 1]++;
        }
        for (int v = 0; v < vocab; v++) {
            rowStart[v + 1] += rowStart[v];
        }
        int[] next = java.util.Arrays.copyOf(rowStart, vocab);
        for (int n = 0; n < tokens.length; n++) {
            positions[next[tokens[n]]++] = n;
        }
    }

    void attentionForward(cl_mem out, cl_mem att, cl_mem qkv, int batch, int t, int c, int heads, float scale) {
        elementwise("attention_softmax", (long) batch * heads * t, att, qkv, batch, t, c, heads, scale);
        elementwise("attention_values", (long) batch * t * c, out, att, qkv, batch, t, c, heads);
    }

    /** dqkv (B, T, 3C) from dout (B, T, C); dpre is (B, H, T, T) scratch. */
    void attentionBackward(cl_mem dqkv, cl_mem dpre, cl_mem att, cl_mem qkv, cl_mem dout, int batch, int t, int c,
                           int heads, float scale) {
        elementwise("attention_backward_scores", (long) batch * heads * t, dpre, att, qkv, dout, batch, t, c, heads);
        elementwise("attention_backward_q", (long) batch * t * c, dqkv, dpre, qkv, batch, t, c, heads, scale);
        elementwise("attention_backward_kv", (long) batch * t * c, dqkv, dpre, att, qkv, dout, batch, t, c, heads,
                scale);
    }

    /** logdecay (B, H, T): the running sums over t of log sigmoid(z), z the gate logits (B, T, H). */
    void gateLogDecay(cl_mem logdecay, cl_mem z, int batch, int t, int heads) {
        elementwise("gate_log_decay", (long) batch * heads, logdecay, z, batch, t, heads);
    }

    /**
     * Linear attention: att (B, H, T, T) = the causal scores scale q_i . k_j, times exp(L_i - L_j) when
     * logdecay (B, H, T, from {@link #gateLogDecay}) is not null, and out (B, T, C) = att v.
     */
    void linearAttentionForward(cl_mem out, cl_mem att, cl_mem qkv, cl_mem logdecay, int batch, int t, int c,
                                int heads, float scale) {
        boolean gated = logdecay != null;
        elementwise("linear_scores", (long) batch * heads * t, att, qkv, gated ? logdecay : qkv, gated ? 1 : 0,
                batch, t, c, heads, scale);
        elementwise("attention_values", (long) batch * t * c, out, att, qkv, batch, t, c, heads);
    }

    /**
     * The backward of {@link #linearAttentionForward}: dqkv (B, T, 3C) from dout (B, T, C), with dpre
     * (B, H, T, T) as scratch. For the gated form (logdecay not null) it also writes dz (B, T, H), the
     * gradient of the gate logits z (B, T, H), and uses dlog (B, H, T) as scratch. Ungated, dz, dlog and
     * z may be null.
     */
    void linearAttentionBackward(cl_mem dqkv, cl_mem dpre, cl_mem att, cl_mem qkv, cl_mem dout, cl_mem logdecay,
                                 cl_mem z, cl_mem dz, cl_mem dlog, int batch, int t, int c, int heads, float scale) {
        long rows = (long) batch * heads * t;
        elementwise("linear_backward_scores", rows, dpre, qkv, dout, batch, t, c, heads);
        if (logdecay != null) {
            elementwise("gate_backward_decay", rows, dlog, dpre, att, batch, t, heads);
            elementwise("gate_backward_logits", (long) batch * t * heads, dz, dlog, z, batch, t, heads);
            elementwise("gate_scale_scores", rows * t, dpre, logdecay, batch, t, heads);
        }
        elementwise("attention_backward_q", (long) batch * t * c, dqkv, dpre, qkv, batch, t, c, heads, scale);
        elementwise("attention_backward_kv", (long) batch * t * c, dqkv, dpre, att, qkv, dout, batch, t, c, heads,
                scale);
    }

    /**
     * The newton-diag attention step (see newton.cl): att (B, H, T, T) the causal softmax weights, o and
     * var (B, T, C) the mean and variance of the values under them, which the backward reads, and out
     * (B, T, C) = o / (1 - var + tr C) per head.
     */
    void newtonDiagForward(cl_mem out, cl_mem att, cl_mem o, cl_mem var, cl_mem qkv, int batch, int t, int c,
                           int heads, float scale) {
        int n = batch * t * c;
        elementwise("attention_softmax", (long) batch * heads * t, att, qkv, batch, t, c, heads, scale);
        elementwise("moment_values", n, o, var, att, qkv, batch, t, c, heads);
        elementwise("newton_diag_step", n, out, o, var, n, c, heads);
    }

    /**
     * The backward of {@link #newtonDiagForward}: dqkv (B, T, 3C) from dout (B, T, C). go and gvar
     * (B, T, C) and dpre (B, H, T, T) are scratch.
     */
    void newtonDiagBackward(cl_mem dqkv, cl_mem dpre, cl_mem go, cl_mem gvar, cl_mem att, cl_mem qkv, cl_mem o,
                            cl_mem var, cl_mem dout, int batch, int t, int c, int heads, float scale) {
        int n = batch * t * c;
        elementwise("newton_diag_backward", n, go, gvar, dout, o, var, n, c, heads);
        momentBackward(dqkv, dpre, null, null, att, qkv, go, null, null, gvar, batch, t, c, heads, scale);
    }

    /**
     * The newton-neumann attention step (see newton.cl): att (B, H, T, T) the causal softmax weights, o
     * (B, T, C) = att v, which the backward reads, and out (B, T, C) = o + Cov(v) o per head. w
     * (B, H, T, T) and mo (B, T, C) are scratch.
     */
    void newtonNeumannForward(cl_mem out, cl_mem att, cl_mem o, cl_mem w, cl_mem mo, cl_mem qkv, int batch, int t,
                              int c, int heads, float scale) {
        int n = batch * t * c;
        long rows = (long) batch * heads * t;
        elementwise("attention_softmax", rows, att, qkv, batch, t, c, heads, scale);
        elementwise("attention_values", n, o, att, qkv, batch, t, c, heads);
        elementwise("moment_weights", rows, w, att, qkv, o, batch, t, c, heads);
        elementwise("attention_values", n, mo, w, qkv, batch, t, c, heads);
        elementwise("newton_neumann_step", n, out, o, mo, n, c, heads);
    }

    /**
     * The backward of {@link #newtonNeumannForward}: dqkv (B, T, 3C) from dout (B, T, C), which must stay
     * unchanged until it returns. go and mg (B, T, C), dpre, alpha and beta (B, H, T, T) are scratch.
     */
    void newtonNeumannBackward(cl_mem dqkv, cl_mem dpre, cl_mem alpha, cl_mem beta, cl_mem go, cl_mem mg, cl_mem att,
                               cl_mem qkv, cl_mem o, cl_mem dout, int batch, int t, int c, int heads, float scale) {
        int n = batch * t * c;
        elementwise("moment_weights", (long) batch * heads * t, alpha, att, qkv, dout, batch, t, c, heads);
        elementwise("attention_values", n, mg, alpha, qkv, batch, t, c, heads);
        elementwise("newton_neumann_backward", n, go, dout, o, mg, n, c, heads);
        momentBackward(dqkv, dpre, alpha, beta, att, qkv, go, dout, o, null, batch, t, c, heads, scale);
    }

    /**
     * The newton attention step (see newton.cl): att (B, H, T, T) the causal softmax weights, o (B, T, C)
     * = att v, which the backward reads, and out (B, T, C) = ((1 + tr C) I - C)^-1 o per head, C the
     * covariance of the values. fac (B, H, T, D, D) is scratch, and contains the Cholesky factors on return.
     */
    void newtonForward(cl_mem out, cl_mem att, cl_mem o, cl_mem fac, cl_mem qkv, int batch, int t, int c, int heads,
                       float scale) {
        long rows = (long) batch * heads * t;
        elementwise("attention_softmax", rows, att, qkv, batch, t, c, heads, scale);
        elementwise("attention_values", (long) batch * t * c, o, att, qkv, batch, t, c, heads);
        newtonFactor(fac, att, qkv, o, batch, t, c, heads);
        elementwise("newton_solve", rows, out, fac, o, batch, t, c, heads);
    }

    private void newtonFactor(cl_mem fac, cl_mem att, cl_mem qkv, cl_mem o, int batch, int t, int c, int heads) {
        int d = c / heads;
        long rows = (long) batch * heads * t;
        elementwise("newton_covariance", rows * d * d, fac, att, qkv, o, batch, t, c, heads);
        elementwise("newton_factor", rows, fac, (int) rows, d);
    }

    /**
     * The backward of {@link #newtonForward}: dqkv (B, T, 3C) from dout (B, T, C), with o and out (here
     * y) of the forward. It factors the system again into fac. go, z and cd (B, T, C), dpre, alpha and
     * beta (B, H, T, T) are scratch.
     */
    void newtonBackward(cl_mem dqkv, cl_mem dpre, cl_mem alpha, cl_mem beta, cl_mem go, cl_mem z, cl_mem cd,
                        cl_mem fac, cl_mem att, cl_mem qkv, cl_mem o, cl_mem y, cl_mem dout, int batch, int t, int c,
                        int heads, float scale) {
        int n = batch * t * c;
        newtonFactor(fac, att, qkv, o, batch, t, c, heads);
        elementwise("newton_solve", (long) batch * heads * t, z, fac, dout, batch, t, c, heads);
        elementwise("newton_full_backward", n, go, cd, z, y, o, n, c, heads);
        momentBackward(dqkv, dpre, alpha, beta, att, qkv, go, z, y, cd, batch, t, c, heads, scale);
    }

    /**
     * The shared part of the Newton backward (newton.cl): dqkv (B, T, 3C) from go = dL/do and
     * dL/dM = (a b^T + b a^T) / 2 + diag(cd) per query and head, all (B, T, C). a and b (null for none)
     * come together and need alpha and beta (B, H, T, T) scratch; cd may be null. dpre (B, H, T, T) is
     * scratch.
     */
    void momentBackward(cl_mem dqkv, cl_mem dpre, cl_mem alpha, cl_mem beta, cl_mem att, cl_mem qkv, cl_mem go,
                        cl_mem a, cl_mem b, cl_mem cd, int batch, int t, int c, int heads, float scale) {
        int hasAb = a != null ? 1 : 0;
        int hasC = cd != null ? 1 : 0;
        // Kernels do not read the buffers their flags leave out; any valid buffer fills the slot.
        cl_mem al = alpha != null ? alpha : dpre;
        cl_mem be = beta != null ? beta : dpre;
        cl_mem aa = a != null ? a : go;
        cl_mem bb = b != null ? b : go;
        cl_mem cc = cd != null ? cd : go;
        elementwise("moment_backward_scores", (long) batch * heads * t, dpre, al, be, att, qkv, go, aa, bb, cc,
                hasAb, hasC, batch, t, c, heads);
        elementwise("attention_backward_q", (long) batch * t * c, dqkv, dpre, qkv, batch, t, c, heads, scale);
        elementwise("moment_backward_kv", (long) batch * t * c, dqkv, dpre, al, be, att, qkv, go, aa, bb, cc, hasAb,
                hasC, batch, t, c, heads, scale);
    }

    /** losses (rows) and, in place, probs from logits (rows, v); a target of -1 contributes nothing. */
    void crossEntropyForward(cl_mem losses, cl_mem logitsProbs, cl_mem targets, int rows, int v) {
        elementwise("crossentropy_forward", rows, losses, logitsProbs, targets, rows, v);
    }

    /** In place: probs (rows, v) to (probs - onehot) * scale. */
    void crossEntropyBackward(cl_mem probsDlogits, cl_mem targets, int rows, int v, float scale) {
        elementwise("crossentropy_backward", (long) rows * v, probsDlogits, targets, rows, v, scale);
    }

    /** out[index] = sum of losses / count, count the rows whose target is not -1 (at least 1). */
    void meanLoss(cl_mem out, int index, cl_mem losses, int rows, int count) {
        dev.launch("mean_loss", new long[] {1}, new long[] {1}, out, losses, rows, count, index);
    }

    /** a = x + mu m, mu = sigmoid(theta[0]); all (n). */
    void momentumLookahead(cl_mem a, cl_mem x, cl_mem m, cl_mem theta, int n) {
        elementwise("momentum_lookahead", n, a, x, m, theta, n);
    }

    /** mout = mu mprev + u (u alone when mprev is null), xout = x + mout; all (n). */
    void momentumForward(cl_mem xout, cl_mem mout, cl_mem x, cl_mem mprev, cl_mem u, cl_mem theta, int n) {
        boolean hasPrev = mprev != null;
        elementwise("momentum_forward", n, xout, mout, x, hasPrev ? mprev : u, u, hasPrev ? theta : u,
                hasPrev ? 1 : 0, n);
    }

    /**
     * The backward of {@link #momentumForward} (and of the look-ahead when {@code nesterov}): on entry dm
     * holds the total gradient of mout and dx that of xout; da is the gradient of ln_1's input. Writes
     * dtheta[0], then dx += da and dm = mu (dm + da) (nesterov) or mu dm. partials has room for
     * {@link #normPartials(long)} of n floats.
     */
    void momentumBackward(cl_mem dx, cl_mem dm, cl_mem da, cl_mem m, cl_mem theta, cl_mem dtheta, cl_mem partials,
                          boolean nesterov, int n) {
        int look = nesterov ? 1 : 0;
        int groups = normPartials(n);
        dev.launch("momentum_dot_partial", new long[] {(long) groups * NORM_GROUP}, new long[] {NORM_GROUP}, partials,
                dm, da, m, look, n);
        dev.launch("momentum_dot_finish", new long[] {NORM_GROUP}, new long[] {NORM_GROUP}, dtheta, partials, theta,
                groups);
        elementwise("momentum_backward", n, dx, dm, da, theta, look, n);
    }
}
