package dev.joule.opencl;

import dev.joule.engine.device.GptShape;
import dev.joule.engine.device.GptStepper;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_mem;

/**
 * The fused GPT training step on an OpenCL device, in the style of llm.c: explicit forward and backward
 * kernels per layer over buffers allocated once, no autograd tape.
 *
 * <p>Memory: the parameters, their gradients and the two AdamW moments are four flat buffers with the
 * same layout (each tensor at an offset aligned for sub-buffers, padding kept at zero), so the gradient
 * norm is one reduction over one buffer. Every activation the backward needs is kept per layer, sized
 * for the shape's largest batch B. That is (16 C + H T + 4) B T floats per layer, where H T is the
 * attention weights. The logits add B T V, and scratch shared by the layers adds (11 C + H T) B T.
 *
 * <p>A step uploads the token ids and their counting sort (for the deterministic embedding backward),
 * queues forward, backward, the two-stage norm and AdamW, and reads back two floats: the norm and the
 * loss. Gradients are written, not accumulated, by the kernel that owns them, so they need no clearing
 * between steps; the token table's gradient is the one sum of two terms (unembedding and embedding).
 *
 * <p>With a momentum step ({@link GptShape.AttentionStep#MOMENTUM} or {@code NESTEROV}) each block also
 * keeps the velocity it outputs, C B T floats, and for Nesterov the look-ahead point that ln_1 reads,
 * another C B T (the first block reads x itself: its velocity is zero). Scratch adds the velocity
 * gradient and ln_1's input gradient, 2 C B T, and the partial sums of the mu gradient. The first block's
 * momentum_logit gets a zero gradient, as its mu multiplies a zero velocity; the CPU leaves it without a
 * gradient, which AdamW treats the same way (no decay applies to it).
 *
 * <p>The energy ({@link GptShape.Energy}) chooses the attention kernels: softmax (attention.cl), or the
 * linear and gated-linear energies (linear_attention.cl), which keep the same (B, H, T, T) weights. The
 * gated energy adds per block the gate logits and their running log-decay sums, 2 H B T floats, and
 * scratch of 2 H B T for their gradients.
 *
 * <p>With a Newton step ({@code NEWTON}, {@code NEWTON_DIAG}, {@code NEWTON_NEUMANN}, kernels in
 * newton.cl) each block also keeps o = p v, the attention output the step starts from, C B T floats, and
 * newton-diag the variance of the values, another C B T. Scratch adds dL/do and one vector of dL/dM,
 * 2 C B T; newton and newton-neumann add two (B, H, T, T) weight buffers, and newton the diagonal part
 * of dL/dM, C B T, and the per-query systems and their Cholesky factors, B H T D^2 = C D B T floats. The
 * backward of newton factors the systems again rather than keep them per block.
 */
final class OpenClGptStepper implements GptStepper {
    private static final float LN_EPS = 1e-5f;
    private static final float BETA1 = 0.9f;
    private static final float BETA2 = 0.95f;
    private static final float ADAM_EPS = 1e-8f;

    /** One block's parameter (or gradient) views; gatew and gateb are null unless the energy is gated. */
    private record LayerParams(cl_mem ln1w, cl_mem ln1b, cl_mem qkvw, cl_mem qkvb, cl_mem projw, cl_mem projb,
                               cl_mem gatew, cl_mem gateb, cl_mem ln2w, cl_mem ln2b, cl_mem fcw, cl_mem fcb,
                               cl_mem fcprojw, cl_mem fcprojb) {}

    /**
     * One block's saved activations. Only the gated energy has gate, the gate logits (B, T, H), and
     * logDecay, their running sums of log sigmoid (B, H, T). Both are null for the other energies. For the
     * Newton steps atty is the step delta, and o is the attention output p v it started from. var
     * (newton-diag only) is the variance of the values under p. Both o and var are null where the step does
     * not keep them.
     */
    private record LayerActs(cl_mem ln1, cl_mem ln1Mean, cl_mem ln1Rstd, cl_mem qkv, cl_mem att, cl_mem atty,
                             cl_mem gate, cl_mem logDecay, cl_mem xMid, cl_mem ln2, cl_mem ln2Mean, cl_mem ln2Rstd,
                             cl_mem fch, cl_mem fchGelu, cl_mem o, cl_mem var) {}

    private final OpenClDevice dev;
    private final Kernels k;
    private final GptShape shape;
    private final Map<String, int[]> shapes;
    private final Map<String, Long> offsets = new LinkedHashMap<>();
    private final long flatFloats;
    private final float scale;

    private final cl_mem params;
    private final cl_mem grads;
    private final cl_mem moment1;
    private final cl_mem moment2;
    private final Map<String, cl_mem[]> views = new LinkedHashMap<>();
    private final LayerParams[] lp;
    private final LayerParams[] lg;
    private final LayerActs[] acts;
    private final cl_mem[] x;
    private final cl_mem wte;
    private final cl_mem wpe;
    private final cl_mem lnfw;
    private final cl_mem lnfb;
    private final cl_mem gwte;
    private final cl_mem gwpe;
    private final cl_mem glnfw;
    private final cl_mem glnfb;

    private final cl_mem tmpC;
    private final cl_mem lnf;
    private final cl_mem lnfMean;
    private final cl_mem lnfRstd;
    private final cl_mem logits;
    private final cl_mem losses;
    private final cl_mem result;
    private final cl_mem partials;
    private final cl_mem dres;
    private final cl_mem dC;
    private final cl_mem d4C;
    private final cl_mem dqkv;
    private final cl_mem dpre;
    private final GptShape.AttentionStep attnStep;
    private final GptShape.Energy energy;
    /** Gradients of the gate logits (B, T, H) and of the log-decay sums (B, H, T); null unless gated. */
    private final cl_mem dgate;
    private final cl_mem dlogDecay;
    /** Newton scratch (B, T, C): dL/do, and the vectors of dL/dM; null for the other steps. */
    private final cl_mem ngo;
    private final cl_mem nvec;
    /** Newton scratch (B, H, T, T) for the weights of second-moment products; null for gd and newton-diag. */
    private final cl_mem alpha;
    private final cl_mem beta;
    /** newton only: the diagonal part of dL/dM (B, T, C) and the per-query systems (B, H, T, D, D). */
    private final cl_mem ncd;
    private final cl_mem fac;
    /** Per block l: the velocity it outputs (null without momentum). */
    private final cl_mem[] velocity;
    /** Per block l &gt; 0: ln_1's input x + mu m for Nesterov (null otherwise, and for block 0). */
    private final cl_mem[] lookahead;
    /** Per block: momentum_logit and its gradient (null without momentum). */
    private final cl_mem[] theta;
    private final cl_mem[] gtheta;
    private final cl_mem dvel;
    private final cl_mem dlnIn;
    private final cl_mem dotPartials;
    private final cl_mem tokens;
    private final cl_mem targets;
    private final cl_mem rowStart;
    private final cl_mem positions;

    private final int[] rowStartHost;
    private final int[] positionsHost;
    private final float[] resultHost = new float[2];
    private final java.util.List<cl_mem> owned;
    private final long ownedBytes;
    private double lastNorm = Double.NaN;
    /** Targets of the current batch that count towards the loss (not -1). */
    private int counted;
    private boolean closed;

    OpenClGptStepper(OpenClDevice dev, GptShape shape, Map<String, float[]> weights) {
        this.dev = dev;
        this.k = new Kernels(dev);
        this.shape = shape;
        this.shapes = shape.parameterShapes();
        this.scale = (float) (1.0 / Math.sqrt(shape.headDim()));
        long bytesAtStart = dev.allocatedBytes();
        int mark = dev.bufferCount();

        // Flat layout: each tensor starts at a multiple of the device's sub-buffer alignment.
        long alignFloats = dev.alignBytes() / Sizeof.cl_float;
        long at = 0;
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            float[] w = weights.get(e.getKey());
            long n = numel(e.getValue());
            if (w == null) {
                throw new IllegalArgumentException("weights have no tensor '" + e.getKey() + "'");
            }
            if (w.length != n) {
                throw new IllegalArgumentException("weight '" + e.getKey() + "' has " + w.length
                        + " elements, expected " + n + " for shape " + java.util.Arrays.toString(e.getValue()));
            }
            offsets.put(e.getKey(), at);
            at += (n + alignFloats - 1) / alignFloats * alignFloats;
        }
        this.flatFloats = at;
        if (flatFloats > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("the model has more than 2^31 parameters, which the kernels' int"
                    + " indexes cannot address");
        }
        long flatBytes = flatFloats * Sizeof.cl_float;
        params = dev.buffer(flatBytes, "the parameters");
        grads = dev.buffer(flatBytes, "the gradients");
        moment1 = dev.buffer(flatBytes, "the AdamW first moments");
        moment2 = dev.buffer(flatBytes, "the AdamW second moments");
        // Zero everything once: padding must stay zero for the norm, and fresh moments start at zero.
        dev.zero(params, flatBytes, "the parameters");
        dev.zero(grads, flatBytes, "the gradients");
        dev.zero(moment1, flatBytes, "the AdamW first moments");
        dev.zero(moment2, flatBytes, "the AdamW second moments");
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            String name = e.getKey();
            long origin = offsets.get(name) * Sizeof.cl_float;
            long bytes = numel(e.getValue()) * Sizeof.cl_float;
            cl_mem[] v = {
                dev.subBuffer(params, origin, bytes, name),
                dev.subBuffer(grads, origin, bytes, name + " gradient"),
                dev.subBuffer(moment1, origin, bytes, name + ".m"),
                dev.subBuffer(moment2, origin, bytes, name + ".v")};
            views.put(name, v);
            dev.write(v[0], weights.get(name), name);
        }
        wte = views.get("wte.weight")[0];
        wpe = views.get("wpe.weight")[0];
        lnfw = views.get("ln_f.weight")[0];
        lnfb = views.get("ln_f.bias")[0];
        gwte = views.get("wte.weight")[1];
        gwpe = views.get("wpe.weight")[1];
        glnfw = views.get("ln_f.weight")[1];
        glnfb = views.get("ln_f.bias")[1];

        int layers = shape.layers();
        lp = new LayerParams[layers];
        lg = new LayerParams[layers];
        acts = new LayerActs[layers];
        long n = (long) shape.batch() * shape.context();
        long c = shape.dim();
        long scores = (long) shape.batch() * shape.heads() * shape.context() * shape.context();
        boolean gated = shape.energy().gated();
        long gates = n * shape.heads();
        attnStep = shape.step();
        boolean newton = isNewton(attnStep);
        for (int l = 0; l < layers; l++) {
            lp[l] = layer(l, 0);
            lg[l] = layer(l, 1);
            String p = "layer " + l + " ";
            cl_mem o = newton ? floats(n * c, p + "attention output before the Newton step") : null;
            cl_mem var = attnStep == GptShape.AttentionStep.NEWTON_DIAG ? floats(n * c, p + "value variance") : null;
            acts[l] = new LayerActs(floats(n * c, p + "ln_1"), floats(n, p + "ln_1 mean"), floats(n, p + "ln_1 rstd"),
                    floats(n * 3 * c, p + "qkv"), floats(scores, p + "attention weights"), floats(n * c, p + "attention"),
                    gated ? floats(gates, p + "gate logits") : null, gated ? floats(gates, p + "log-decay sums") : null,
                    floats(n * c, p + "residual"), floats(n * c, p + "ln_2"), floats(n, p + "ln_2 mean"),
                    floats(n, p + "ln_2 rstd"), floats(n * 4 * c, p + "mlp_fc"), floats(n * 4 * c, p + "gelu"), o,
                    var);
        }
        x = new cl_mem[layers + 1];
        for (int l = 0; l <= layers; l++) {
            x[l] = floats(n * c, "residual stream " + l);
        }
        tmpC = floats(n * c, "projection scratch");
        lnf = floats(n * c, "ln_f");
        lnfMean = floats(n, "ln_f mean");
        lnfRstd = floats(n, "ln_f rstd");
        logits = floats(n * shape.vocab(), "logits");
        losses = floats(n, "losses");
        result = floats(2, "norm and loss");
        partials = floats(Kernels.normPartials(flatFloats), "norm partial sums");
        dres = floats(n * c, "residual gradient");
        dC = floats(n * c, "gradient scratch (B, T, C)");
        d4C = floats(n * 4 * c, "gradient scratch (B, T, 4C)");
        dqkv = floats(n * 3 * c, "qkv gradient");
        dpre = floats(scores, "attention score gradient");
        energy = shape.energy();
        dgate = gated ? floats(gates, "gate logit gradient") : null;
        dlogDecay = gated ? floats(gates, "log-decay gradient") : null;
        if (newton) {
            ngo = floats(n * c, "Newton gradient of o");
            nvec = floats(n * c, "Newton gradient of the second moment");
        } else {
            ngo = null;
            nvec = null;
        }
        if (attnStep == GptShape.AttentionStep.NEWTON || attnStep == GptShape.AttentionStep.NEWTON_NEUMANN) {
            alpha = floats(scores, "Newton second-moment weights");
            beta = floats(scores, "Newton second-moment weights, second");
        } else {
            alpha = null;
            beta = null;
        }
        if (attnStep == GptShape.AttentionStep.NEWTON) {
            ncd = floats(n * c, "Newton diagonal gradient of the second moment");
            fac = floats(n * c * shape.headDim(), "Newton systems and their Cholesky factors");
        } else {
            ncd = null;
            fac = null;
        }
        velocity = new cl_mem[layers];
        lookahead = new cl_mem[layers];
        theta = new cl_mem[layers];
        gtheta = new cl_mem[layers];
        if (attnStep.hasVelocity()) {
            for (int l = 0; l < layers; l++) {
                velocity[l] = floats(n * c, "layer " + l + " velocity");
                if (attnStep == GptShape.AttentionStep.NESTEROV && l > 0) {
                    lookahead[l] = floats(n * c, "layer " + l + " look-ahead");
                }
                theta[l] = v("h" + l + ".attn.momentum_logit", 0);
                gtheta[l] = v("h" + l + ".attn.momentum_logit", 1);
            }
            dvel = floats(n * c, "velocity gradient");
            dlnIn = floats(n * c, "ln_1 input gradient");
            dotPartials = floats(Kernels.normPartials(n * c), "momentum coefficient partial sums");
        } else {
            dvel = null;
            dlnIn = null;
            dotPartials = null;
        }
        tokens = dev.buffer(n * Sizeof.cl_int, "token ids");
        targets = dev.buffer(n * Sizeof.cl_int, "targets");
        rowStart = dev.buffer((shape.vocab() + 1L) * Sizeof.cl_int, "token row starts");
        positions = dev.buffer(n * Sizeof.cl_int, "positions sorted by token");
        rowStartHost = new int[shape.vocab() + 1];
        positionsHost = new int[(int) n];
        dev.finish("the upload of the weights");
        this.owned = dev.buffersSince(mark);
        this.ownedBytes = dev.allocatedBytes() - bytesAtStart;
    }

    private static long numel(int[] s) {
        long n = 1;
        for (int d : s) {
            n *= d;
        }
        return n;
    }

    private cl_mem floats(long count, String what) {
        return dev.buffer(count * Sizeof.cl_float, what);
    }

    private LayerParams layer(int l, int kind) {
        String p = "h" + l + ".";
        boolean gated = shape.energy().gated();
        return new LayerParams(v(p + "ln_1.weight", kind), v(p + "ln_1.bias", kind), v(p + "attn.qkv.weight", kind),
                v(p + "attn.qkv.bias", kind), v(p + "attn.proj.weight", kind), v(p + "attn.proj.bias", kind),
                gated ? v(p + "attn.gate.weight", kind) : null, gated ? v(p + "attn.gate.bias", kind) : null,
                v(p + "ln_2.weight", kind), v(p + "ln_2.bias", kind), v(p + "mlp_fc.weight", kind),
                v(p + "mlp_fc.bias", kind), v(p + "mlp_proj.weight", kind), v(p + "mlp_proj.bias", kind));
    }

    private cl_mem v(String name, int kind) {
        return views.get(name)[kind];
    }

    /** Runs the attention of one block: a.atty from a.qkv (and, gated, the gate from a.ln1). */
    private static boolean isNewton(GptShape.AttentionStep step) {
        return step == GptShape.AttentionStep.NEWTON || step == GptShape.AttentionStep.NEWTON_DIAG
                || step == GptShape.AttentionStep.NEWTON_NEUMANN;
    }

    private void attentionForward(LayerParams p, LayerActs a, int b) {
        int t = shape.context();
        int c = shape.dim();
        int h = shape.heads();
        switch (energy) {
            case SOFTMAX -> softmaxStepForward(a, b);
            case LINEAR -> k.linearAttentionForward(a.atty(), a.att(), a.qkv(), null, b, t, c, h, scale);
            case GATED_LINEAR -> {
                // z = ln_1 W_g^T + b_g (B, T, H), then L = running sums of log sigmoid(z) (B, H, T).
                k.matmulForward(a.gate(), a.ln1(), p.gatew(), p.gateb(), b * t, c, h);
                k.gateLogDecay(a.logDecay(), a.gate(), b, t, h);
                k.linearAttentionForward(a.atty(), a.att(), a.qkv(), a.logDecay(), b, t, c, h, scale);
            }
        }
    }

    /**
     * Runs the backward of {@link #attentionForward}: writes dqkv from dy (the gradient of a.atty) and, gated,
     * the gate's weight and bias gradients and the gate logit gradient (left in dgate for
     * {@link #gateInputBackward}).
     */
    private void attentionBackward(LayerParams g, LayerActs a, cl_mem dy, int b) {
        int t = shape.context();
        int c = shape.dim();
        int h = shape.heads();
        switch (energy) {
            case SOFTMAX -> softmaxStepBackward(a, dy, b);
            case LINEAR -> k.linearAttentionBackward(dqkv, dpre, a.att(), a.qkv(), dy, null, null, null, null, b, t,
                    c, h, scale);
            case GATED_LINEAR -> {
                k.linearAttentionBackward(dqkv, dpre, a.att(), a.qkv(), dy, a.logDecay(), a.gate(), dgate, dlogDecay,
                        b, t, c, h, scale);
                k.matmulBackwardWeight(g.gatew(), dgate, a.ln1(), b * t, c, h, false);
                k.biasBackward(g.gateb(), dgate, b * t, h);
            }
        }
    }

    /** Runs the softmax energy's attention by the block's step: a plain gradient step or a Newton step. */
    private void softmaxStepForward(LayerActs a, int b) {
        int t = shape.context();
        int c = shape.dim();
        int h = shape.heads();
        switch (attnStep) {
            case GD, MOMENTUM, NESTEROV -> k.attentionForward(a.atty(), a.att(), a.qkv(), b, t, c, h, scale);
            case NEWTON_DIAG -> k.newtonDiagForward(a.atty(), a.att(), a.o(), a.var(), a.qkv(), b, t, c, h, scale);
            // ngo is free during the forward.
            case NEWTON_NEUMANN -> k.newtonNeumannForward(a.atty(), a.att(), a.o(), alpha, ngo, a.qkv(), b, t, c, h,
                    scale);
            case NEWTON -> k.newtonForward(a.atty(), a.att(), a.o(), fac, a.qkv(), b, t, c, h, scale);
        }
    }

    /** Runs the backward of {@link #softmaxStepForward}: dqkv from dy, the gradient of a.atty. */
    private void softmaxStepBackward(LayerActs a, cl_mem dy, int b) {
        int t = shape.context();
        int c = shape.dim();
        int h = shape.heads();
        switch (attnStep) {
            case GD, MOMENTUM, NESTEROV -> k.attentionBackward(dqkv, dpre, a.att(), a.qkv(), dy, b, t, c, h, scale);
            case NEWTON_DIAG -> k.newtonDiagBackward(dqkv, dpre, ngo, nvec, a.att(), a.qkv(), a.o(), a.var(), dy, b, t,
                    c, h, scale);
            case NEWTON_NEUMANN -> k.newtonNeumannBackward(dqkv, dpre, alpha, beta, ngo, nvec, a.att(), a.qkv(), a.o(),
                    dy, b, t, c, h, scale);
            case NEWTON -> k.newtonBackward(dqkv, dpre, alpha, beta, ngo, nvec, ncd, fac, a.att(), a.qkv(), a.o(),
                    a.atty(), dy, b, t, c, h, scale);
        }
    }

    /** Gated energy: adds the gate's share dz W_g to dln1, the gradient of ln_1's output. */
    private void gateInputBackward(LayerParams p, cl_mem dln1, int b) {
        if (energy.gated()) {
            k.matmulBackwardInput(dln1, dgate, p.gatew(), b * shape.context(), shape.dim(), shape.heads(), true);
        }
    }

    /** Checks a batch and uploads it; returns B. */
    private int upload(int[] inputs, int[] targetIds, boolean forBackward) {
        int t = shape.context();
        if (inputs.length != targetIds.length) {
            throw new IllegalArgumentException(inputs.length + " inputs but " + targetIds.length + " targets");
        }
        if (inputs.length == 0 || inputs.length % t != 0) {
            throw new IllegalArgumentException(inputs.length + " token ids do not form (B, " + t + ") sequences");
        }
        int b = inputs.length / t;
        if (b > shape.batch()) {
            throw new IllegalArgumentException("batch " + b + " exceeds the " + shape.batch()
                    + " sequences the device buffers were sized for");
        }
        checkIds(inputs, "input", false);
        counted = checkIds(targetIds, "target", true);
        long bytes = (long) inputs.length * Sizeof.cl_int;
        dev.write(tokens, 0, Pointer.to(inputs), bytes, "the token ids");
        dev.write(targets, 0, Pointer.to(targetIds), bytes, "the targets");
        if (forBackward) {
            Kernels.sortPositions(inputs, shape.vocab(), rowStartHost, positionsHost);
            dev.write(rowStart, rowStartHost, "the token row starts");
            dev.write(positions, 0, Pointer.to(positionsHost), bytes, "the positions sorted by token");
        }
        return b;
    }

    /** Checks that ids are in the vocabulary (or -1 where allowed) and returns how many are not -1. */
    private int checkIds(int[] ids, String what, boolean allowIgnore) {
        int n = 0;
        for (int i = 0; i < ids.length; i++) {
            if (allowIgnore && ids[i] == -1) {
                continue;
            }
            if (ids[i] < 0 || ids[i] >= shape.vocab()) {
                throw new IllegalArgumentException(what + " token " + ids[i] + " at position " + i
                        + " is outside the vocabulary [0, " + shape.vocab() + ")");
            }
            n++;
        }
        return n;
    }

    private void forward(int b) {
        int t = shape.context();
        int c = shape.dim();
        int n = b * t;
        k.encoderForward(x[0], tokens, wte, wpe, b, t, c);
        for (int l = 0; l < shape.layers(); l++) {
            LayerParams p = lp[l];
            LayerActs a = acts[l];

            // Attention half.
            cl_mem lnIn = x[l];
            if (lookahead[l] != null) {
                // Nesterov evaluates the step at x + mu m.
                k.momentumLookahead(lookahead[l], x[l], velocity[l - 1], theta[l], n * c);
                lnIn = lookahead[l];
            }
            k.layerNormForward(a.ln1(), a.ln1Mean(), a.ln1Rstd(), lnIn, p.ln1w(), p.ln1b(), n, c, LN_EPS);
            k.matmulForward(a.qkv(), a.ln1(), p.qkvw(), p.qkvb(), n, c, 3 * c);
            attentionForward(p, a, b);
            k.matmulForward(tmpC, a.atty(), p.projw(), p.projb(), n, c, c);
            if (attnStep.hasVelocity()) {
                // velocity[l] = mu m + u (u in the first block), xMid = x + velocity[l].
                cl_mem prev = l == 0 ? null : velocity[l - 1];
                k.momentumForward(a.xMid(), velocity[l], x[l], prev, tmpC, theta[l], n * c);
            } else {
                k.residualForward(a.xMid(), x[l], tmpC, n * c);
            }

            // MLP half.
            k.layerNormForward(a.ln2(), a.ln2Mean(), a.ln2Rstd(), a.xMid(), p.ln2w(), p.ln2b(), n, c, LN_EPS);
            k.matmulForward(a.fch(), a.ln2(), p.fcw(), p.fcb(), n, c, 4 * c);
            k.geluForward(a.fchGelu(), a.fch(), n * 4 * c);
            k.matmulForward(tmpC, a.fchGelu(), p.fcprojw(), p.fcprojb(), n, 4 * c, c);
            k.residualForward(x[l + 1], a.xMid(), tmpC, n * c);
        }
        int last = shape.layers();
        k.layerNormForward(lnf, lnfMean, lnfRstd, x[last], lnfw, lnfb, n, c, LN_EPS);
        // Tied unembedding: logits (N, V) = lnf wte^T.
        k.matmulForward(logits, lnf, wte, null, n, c, shape.vocab());
        k.crossEntropyForward(losses, logits, targets, n, shape.vocab());
        k.meanLoss(result, 1, losses, n, Math.max(1, counted));
    }

    private void backward(int b) {
        int t = shape.context();
        int c = shape.dim();
        int v = shape.vocab();
        int n = b * t;

        // Loss, unembedding and final norm.
        k.crossEntropyBackward(logits, targets, n, v, 1f / Math.max(1, counted));
        k.matmulBackwardWeight(gwte, logits, lnf, n, c, v, false);
        k.matmulBackwardInput(dC, logits, wte, n, c, v, false);
        int last = shape.layers();
        k.layerNormBackwardParams(glnfw, glnfb, dC, x[last], lnfMean, lnfRstd, n, c);
        k.layerNormBackwardInput(dres, dC, x[last], lnfMean, lnfRstd, lnfw, n, c, false);
        if (dvel != null) {
            // The last block's velocity feeds nothing after it.
            dev.zero(dvel, (long) n * c * Sizeof.cl_float, "the velocity gradient");
        }

        for (int l = shape.layers() - 1; l >= 0; l--) {
            LayerParams p = lp[l];
            LayerParams g = lg[l];
            LayerActs a = acts[l];
            // MLP half: x[l + 1] = xMid + mlp_proj(gelu(mlp_fc(ln_2(xMid)))); dres is d x[l + 1].
            k.matmulBackwardWeight(g.fcprojw(), dres, a.fchGelu(), n, 4 * c, c, false);
            k.biasBackward(g.fcprojb(), dres, n, c);
            k.matmulBackwardInput(d4C, dres, p.fcprojw(), n, 4 * c, c, false);
            k.geluBackward(d4C, a.fch(), d4C, n * 4 * c);
            k.matmulBackwardWeight(g.fcw(), d4C, a.ln2(), n, c, 4 * c, false);
            k.biasBackward(g.fcb(), d4C, n, 4 * c);
            k.matmulBackwardInput(dC, d4C, p.fcw(), n, c, 4 * c, false);
            k.layerNormBackwardParams(g.ln2w(), g.ln2b(), dC, a.xMid(), a.ln2Mean(), a.ln2Rstd(), n, c);
            k.layerNormBackwardInput(dres, dC, a.xMid(), a.ln2Mean(), a.ln2Rstd(), p.ln2w(), n, c, true);

            // Attention half, u = proj(attention(qkv(ln_1(lnIn)))): xMid = x[l] + u for gd, and
            // xMid = x[l] + velocity[l] with velocity[l] = mu m + u for momentum. dres is now d xMid.
            cl_mem du = dres;
            if (dvel != null) {
                // d velocity[l] = its gradient from later blocks + d xMid, and d u is that sum.
                k.residualForward(dvel, dvel, dres, n * c);
                du = dvel;
            }
            cl_mem lnIn = lookahead[l] != null ? lookahead[l] : x[l];
            k.matmulBackwardWeight(g.projw(), du, a.atty(), n, c, c, false);
            k.biasBackward(g.projb(), du, n, c);
            k.matmulBackwardInput(dC, du, p.projw(), n, c, c, false);
            attentionBackward(g, a, dC, b);
            k.matmulBackwardWeight(g.qkvw(), dqkv, a.ln1(), n, c, 3 * c, false);
            k.biasBackward(g.qkvb(), dqkv, n, 3 * c);
            k.matmulBackwardInput(dC, dqkv, p.qkvw(), n, c, 3 * c, false);
            gateInputBackward(p, dC, b);
            k.layerNormBackwardParams(g.ln1w(), g.ln1b(), dC, lnIn, a.ln1Mean(), a.ln1Rstd(), n, c);
            if (dvel == null) {
                k.layerNormBackwardInput(dres, dC, lnIn, a.ln1Mean(), a.ln1Rstd(), p.ln1w(), n, c, true);
            } else {
                k.layerNormBackwardInput(dlnIn, dC, lnIn, a.ln1Mean(), a.ln1Rstd(), p.ln1w(), n, c, false);
                if (l > 0) {
                    // dres = d x[l], dvel = d velocity[l - 1], and the gradient of this block's mu.
                    k.momentumBackward(dres, dvel, dlnIn, velocity[l - 1], theta[l], gtheta[l], dotPartials,
                            attnStep == GptShape.AttentionStep.NESTEROV, n * c);
                } else {
                    // The first block's velocity starts at zero: its input is x alone.
                    k.residualForward(dres, dres, dlnIn, n * c);
                }
            }
        }

        // dres is now d x[0], the gradient of the embedding sum.
        k.encoderBackwardWte(gwte, dres, rowStart, positions, v, c, true);
        k.encoderBackwardWpe(gwpe, dres, b, t, c);
    }

    @Override
    public float step(int[] inputs, int[] targetIds, float lr, float weightDecay, float gradClip, int stepNumber) {
        checkOpen();
        if (stepNumber < 1) {
            throw new IllegalArgumentException("stepNumber counts updates from 1, got " + stepNumber);
        }
        int b = upload(inputs, targetIds, true);
        forward(b);
        backward(b);
        k.gradNorm(result, 0, grads, (int) flatFloats, partials);
        float c1 = (float) (1.0 - Math.pow(BETA1, stepNumber));
        float c2 = (float) (1.0 - Math.pow(BETA2, stepNumber));
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            cl_mem[] vw = views.get(e.getKey());
            float wd = GptShape.decays(e.getKey()) ? weightDecay : 0f;
            k.adamw(vw[0], vw[1], vw[2], vw[3], result, (int) numel(e.getValue()), lr, BETA1, BETA2, ADAM_EPS, wd, c1,
                    c2, gradClip);
        }
        dev.read(result, 0, resultHost, "the loss and gradient norm of a training step");
        lastNorm = resultHost[0];
        return resultHost[1];
    }

    @Override
    public double lastGradNorm() {
        return lastNorm;
    }

    @Override
    public float evalLoss(int[] inputs, int[] targetIds, int batch) {
        checkOpen();
        if (inputs.length != batch * shape.context()) {
            throw new IllegalArgumentException(inputs.length + " token ids do not form a (" + batch + ", "
                    + shape.context() + ") batch");
        }
        int b = upload(inputs, targetIds, false);
        forward(b);
        dev.read(result, 0, resultHost, "the loss of an evaluation batch");
        return resultHost[1];
    }

    @Override
    public Map<String, float[]> readWeights() {
        return readFlat(params, "");
    }

    @Override
    public Map<String, float[]> readGradients() {
        return readFlat(grads, "");
    }

    @Override
    public Map<String, float[]> readOptimizerState() {
        Map<String, float[]> out = new LinkedHashMap<>();
        Map<String, float[]> m = readFlat(moment1, ".m");
        Map<String, float[]> v = readFlat(moment2, ".v");
        for (String name : shapes.keySet()) {
            out.put(name + ".m", m.get(name + ".m"));
            out.put(name + ".v", v.get(name + ".v"));
        }
        return out;
    }

    private Map<String, float[]> readFlat(cl_mem flat, String suffix) {
        checkOpen();
        float[] all = new float[(int) flatFloats];
        String what = flat == grads ? "the gradients" : suffix.isEmpty() ? "the weights" : "the AdamW moments";
        dev.read(flat, 0, all, what);
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            int from = (int) (long) offsets.get(e.getKey());
            out.put(e.getKey() + suffix, java.util.Arrays.copyOfRange(all, from, from + (int) numel(e.getValue())));
        }
        return out;
    }

    @Override
    public void loadOptimizerState(Map<String, float[]> state) {
        checkOpen();
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            long n = numel(e.getValue());
            for (int i = 0; i < 2; i++) {
                String key = e.getKey() + (i == 0 ? ".m" : ".v");
                float[] src = state.get(key);
                if (src == null) {
                    throw new IllegalArgumentException("optimizer state has no tensor '" + key + "'");
                }
                if (src.length != n) {
                    throw new IllegalArgumentException("optimizer tensor '" + key + "' has " + src.length
                            + " elements, expected " + n);
                }
                dev.write(views.get(e.getKey())[2 + i], src, key);
            }
        }
        dev.finish("the upload of the optimizer state");
    }

    @Override
    public long deviceBytes() {
        return ownedBytes;
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("this GPT stepper is closed");
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // Views before the buffers they view.
        for (int i = owned.size() - 1; i >= 0; i--) {
            dev.release(owned.get(i));
        }
        dev.forget(ownedBytes);
    }
}
