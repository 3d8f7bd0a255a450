package dev.joule.models.cli;

import com.google.gson.JsonObject;
import dev.joule.engine.Autograd;
import dev.joule.engine.Buffers;
import dev.joule.engine.Tensor;
import dev.joule.engine.kernels.Matmul;
import dev.joule.engine.kernels.Parallel;
import dev.joule.engine.kernels.Simd;
import dev.joule.engine.optim.AdamW;
import dev.joule.engine.optim.Schedules;
import dev.joule.layers.EnergyAttention;
import dev.joule.layers.EnergyRecipe;
import dev.joule.layers.ReferenceAttention;
import dev.joule.models.InvalidInputException;
import dev.joule.models.Plural;
import dev.joule.models.data.ByteTokenizer;
import dev.joule.models.data.Dataset;
import dev.joule.models.data.EmbeddedCorpus;
import dev.joule.models.gpt.Gpt;
import dev.joule.models.gpt.GptConfig;
import dev.joule.models.train.DeviceTrainer;
import dev.joule.models.train.TrainSettings;
import java.io.PrintWriter;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/**
 * {@code joule bench}: times the matmul kernel, attention and whole training steps on this machine.
 *
 * <p>Every figure is the median of repeated measurements taken after warm-up runs, so that the JIT has
 * compiled the kernels first. Nothing here is compared against a threshold. The command reports numbers,
 * and docs/benchmarks.md explains how to read them.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Time matmul (GFLOP/s), attention (ms) or whole training steps (tokens/s) on this machine.")
final class BenchCommand implements Callable<Integer> {
    static final List<String> TARGETS = List.of("matmul", "attention", "step");
    static final List<String> MODELS = List.of("tiny", "small", "llmc");

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "TARGET", description = "What to time: matmul, attention or step.")
    String target;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all processors).")
    Integer threads;

    @Option(names = "--json", description = "Print one JSON object per figure, one a line, instead of a table.")
    boolean json;

    @Option(names = "--model", paramLabel = "tiny|small|llmc", defaultValue = "tiny",
            description = "Model preset for step; llmc is 4 layers, 4 heads, width 256, context 256, batch 16"
                    + " (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--layers", paramLabel = "L", description = "step: override the preset's number of blocks.")
    Integer layers;

    @Option(names = "--energy", paramLabel = "NAME",
            description = "step: attention energy, softmax (default), linear or gated-linear.")
    String energy;

    @Option(names = "--optimizer", paramLabel = "NAME", description = "step: step on the energy, gd (default),"
            + " momentum, nesterov, newton, newton-diag or newton-neumann.")
    String optimizer;

    @Option(names = "--device", paramLabel = "cpu|opencl[:N]", defaultValue = "cpu",
            description = "step: the device that runs the training steps (default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--energy-batch", paramLabel = "B",
            description = "attention: sequences per call for the energy-variant table (default: 1).")
    Integer energyBatch;

    @Option(names = "--heads", paramLabel = "H", description = "step: override the preset's heads; attention: heads (default 4).")
    Integer heads;

    @Option(names = "--dim", paramLabel = "D", description = "step: override the preset's width; attention: width (default 256).")
    Integer dim;

    @Option(names = "--context", paramLabel = "T", description = "step: override the preset's context.")
    Integer context;

    @Option(names = "--batch", paramLabel = "B",
            description = "Sequences per step (default: 16) or per attention call (default: 4).")
    Integer batch;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "10",
            description = "step: timed training steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "3",
            description = "Untimed runs before timing, to let the JIT compile (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "5",
            description = "matmul, attention: timed samples whose median is reported (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--tokens", paramLabel = "random|corpus", defaultValue = "random",
            description = "step: random tokens or the built-in corpus (default: ${DEFAULT-VALUE}).")
    String tokens;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1337", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    private PrintWriter out;
    private final List<String[]> rows = new ArrayList<>();

    @Override
    public Integer call() {
        out = spec.commandLine().getOut();
        if (!TARGETS.contains(target)) {
            throw new InvalidInputException("unknown bench target '" + target + "'; use matmul, attention or step");
        }
        atLeast("--steps", steps, 1);
        atLeast("--warmup", warmup, 0);
        atLeast("--repeats", repeats, 1);
        if (batch != null) {
            atLeast("--batch", batch, 1);
        }
        if (!MODELS.contains(model)) {
            throw new InvalidInputException("unknown --model '" + model + "'; use tiny, small or llmc");
        }
        if (!tokens.equals("random") && !tokens.equals("corpus")) {
            throw new InvalidInputException("unknown --tokens '" + tokens + "'; use random or corpus");
        }
        if (!target.equals("step") && spec.commandLine().getParseResult().hasMatchedOption("--device")) {
            throw new InvalidInputException("--device applies to bench step only; bench " + target
                    + " runs on the CPU, so drop --device");
        }
        // Options that only shape the timed training step; other targets would silently ignore them.
        for (String stepOnly : List.of("--model", "--layers", "--context", "--energy", "--optimizer", "--steps",
                "--tokens")) {
            if (!target.equals("step") && spec.commandLine().getParseResult().hasMatchedOption(stepOnly)) {
                throw new InvalidInputException(stepOnly + " applies to bench step only; bench " + target
                        + " does not use it, so drop " + stepOnly);
            }
        }
        if (target.equals("matmul")) {
            for (String attentionOnly : List.of("--heads", "--dim", "--batch", "--energy-batch")) {
                if (spec.commandLine().getParseResult().hasMatchedOption(attentionOnly)) {
                    throw new InvalidInputException(attentionOnly + " does not apply to bench matmul, which times"
                            + " fixed shapes; drop " + attentionOnly);
                }
            }
        }
        Setup.threads(threads);
        if (!json) {
            out.printf(Locale.ROOT, "joule bench %s: JDK %s, %d threads, kernels: %s%n", target, Runtime.version(),
                    Parallel.threads(), Simd.describe());
        }
        switch (target) {
            case "matmul" -> matmul();
            case "attention" -> attention();
            default -> step();
        }
        out.flush();
        return Main.EXIT_OK;
    }

    private static void atLeast(String option, int value, int min) {
        if (value < min) {
            throw new InvalidInputException(option + " must be at least " + min + ", got " + value);
        }
    }

    // ---------------------------------------------------------------- matmul

    /** One product C[M,N] = op(A)[M,K] op(B)[K,N]; layout NN, NT (A B^T) or TN (A^T B). */
    record MatmulCase(String name, String layout, int m, int n, int k) {
        boolean transA() {
            return layout.equals("TN");
        }

        boolean transB() {
            return layout.equals("NT");
        }
    }

    static List<MatmulCase> matmulCases() {
        List<MatmulCase> cases = new ArrayList<>();
        for (int s : new int[] {256, 512, 1024, 2048}) {
            cases.add(new MatmulCase("square " + s, "NN", s, s, s));
        }
        // The GPT shapes at batch 16, context 256, width 256: qkv projection, MLP up, MLP down.
        int[][] gpt = {{4096, 768, 256}, {4096, 1024, 256}, {4096, 256, 1024}};
        for (String layout : new String[] {"NN", "NT", "TN"}) {
            for (int[] s : gpt) {
                cases.add(new MatmulCase(s[0] + "x" + s[2] + " @ " + s[2] + "x" + s[1], layout, s[0], s[1], s[2]));
            }
        }
        return cases;
    }

    private void matmul() {
        for (MatmulCase c : matmulCases()) {
            SplittableRandom rnd = new SplittableRandom(seed);
            float[] a = randomArray(rnd, c.m() * c.k());
            float[] b = randomArray(rnd, c.k() * c.n());
            float[] out = new float[c.m() * c.n()];
            int lda = c.transA() ? c.m() : c.k();
            int ldb = c.transB() ? c.k() : c.n();
            Runnable run = () -> Matmul.gemm(c.transA(), c.transB(), c.m(), c.n(), c.k(), a, 0, lda, b, 0, ldb,
                    out, 0, c.n(), false);
            double seconds = medianSeconds(run);
            double gflops = 2.0 * c.m() * c.n() * c.k() / seconds / 1e9;
            JsonObject o = figure("matmul");
            o.addProperty("case", c.name());
            o.addProperty("layout", c.layout());
            o.addProperty("m", c.m());
            o.addProperty("n", c.n());
            o.addProperty("k", c.k());
            o.addProperty("ms", seconds * 1e3);
            o.addProperty("gflops", gflops);
            emit(o, c.name(), c.layout(), fmt("%.3f", seconds * 1e3), fmt("%.1f", gflops));
        }
        table(new String[] {"shape (M x K @ K x N)", "layout", "ms", "GFLOP/s"});
    }

    /**
     * Runs {@code body} {@code warmup} times, then takes {@code repeats} samples, each of enough calls to
     * last about 50 ms, and returns the median seconds per call.
     */
    private double medianSeconds(Runnable body) {
        long t0 = System.nanoTime();
        body.run();
        double once = (System.nanoTime() - t0) / 1e9;
        for (int i = 1; i < warmup; i++) {
            body.run();
        }
        int calls = (int) Math.max(1, Math.min(1_000_000, Math.ceil(0.05 / Math.max(once, 1e-9))));
        if (warmup > 1) {
            long t1 = System.nanoTime();
            body.run();
            double again = (System.nanoTime() - t1) / 1e9;
            calls = (int) Math.max(1, Math.min(1_000_000, Math.ceil(0.05 / Math.max(again, 1e-9))));
        }
        double[] samples = new double[repeats];
        for (int r = 0; r < repeats; r++) {
            long s = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                body.run();
            }
            samples[r] = (System.nanoTime() - s) / 1e9 / calls;
        }
        return median(samples);
    }

    // ---------------------------------------------------------------- attention

    /** An attention implementation: (B, T, 3C) fused projection in, (B, T, C) out. */
    interface AttentionVariant {
        Tensor apply(Tensor qkv, int heads);
    }

    record NamedVariant(String name, AttentionVariant fn) {}

    /**
     * Lists the attention implementations to compare. The fused op is looked up by name, so this command
     * still builds and runs on a tree without it. The composed reference is always present. New variants
     * go into this list, and the table and JSON output pick them up.
     */
    static List<NamedVariant> attentionVariants() {
        List<NamedVariant> variants = new ArrayList<>();
        MethodHandle fused = fusedAttention();
        if (fused != null) {
            variants.add(new NamedVariant("fused (AttentionOps)", (qkv, h) -> {
                float scale = (float) (1.0 / Math.sqrt(qkv.size(2) / 3.0 / h));
                try {
                    return (Tensor) fused.invokeExact(qkv, h, scale);
                } catch (RuntimeException | Error e) {
                    throw e;
                } catch (Throwable e) {
                    throw new IllegalStateException(e);
                }
            }));
        }
        variants.add(new NamedVariant("composed (ReferenceAttention)", (qkv, h) -> {
            Tensor[] parts = ReferenceAttention.splitHeads(qkv, h);
            return ReferenceAttention.mergeHeads(ReferenceAttention.attend(parts[0], parts[1], parts[2]));
        }));
        return variants;
    }

    private static MethodHandle fusedAttention() {
        try {
            Class<?> ops = Class.forName("dev.joule.engine.AttentionOps");
            return MethodHandles.publicLookup().findStatic(ops, "causalSelfAttention",
                    MethodType.methodType(Tensor.class, Tensor.class, int.class, float.class));
        } catch (ReflectiveOperationException e) {
            return null;
        }
    }

    private void attention() {
        int c = dim != null ? dim : 256;
        int h = heads != null ? heads : 4;
        int b = batch != null ? batch : 4;
        atLeast("--dim", c, 1);
        atLeast("--heads", h, 1);
        if (c % h != 0) {
            throw new InvalidInputException("--heads " + h + " does not divide --dim " + c);
        }
        List<NamedVariant> variants = attentionVariants();
        for (int t : new int[] {256, 1024}) {
            double matmulMs = attentionMatmulsSeconds(b, t, c / h, h) * 1e3;
            Tensor qkv = Tensor.randn(seed, 1, 1f, b, t, 3 * c).requiresGrad(true);
            Tensor upstream = Tensor.randn(seed, 2, 1f, b, t, c);
            double referenceMs = Double.NaN;
            List<double[]> timings = new ArrayList<>();
            for (NamedVariant v : variants) {
                double fwd = medianSeconds(() -> {
                    try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
                        v.fn().apply(qkv, h);
                    }
                });
                double fwdBwd = medianSeconds(() -> {
                    v.fn().apply(qkv, h).mul(upstream).sum().backward();
                    qkv.zeroGrad();
                });
                timings.add(new double[] {fwd, fwdBwd});
                if (v.name().startsWith("composed")) {
                    referenceMs = fwdBwd * 1e3;
                }
            }
            for (int i = 0; i < variants.size(); i++) {
                double fwdMs = timings.get(i)[0] * 1e3;
                double totalMs = timings.get(i)[1] * 1e3;
                JsonObject o = figure("attention");
                o.addProperty("variant", variants.get(i).name());
                o.addProperty("batch", b);
                o.addProperty("t", t);
                o.addProperty("dim", c);
                o.addProperty("heads", h);
                o.addProperty("forward_ms", fwdMs);
                o.addProperty("forward_backward_ms", totalMs);
                o.addProperty("speedup_vs_composed", referenceMs / totalMs);
                o.addProperty("causal_matmul_ms", matmulMs);
                o.addProperty("time_vs_causal_matmuls", totalMs / matmulMs);
                emit(o, variants.get(i).name(), Integer.toString(t), fmt("%.2f", fwdMs), fmt("%.2f", totalMs),
                        fmt("%.2fx", referenceMs / totalMs), fmt("%.2f", matmulMs), fmt("%.2fx", totalMs / matmulMs));
            }
        }
        if (!json) {
            out.printf(Locale.ROOT, "batch %d, width %d, %d heads; forward alone runs without autograd%n", b, c, h);
        }
        if (!json) {
            out.printf(Locale.ROOT, "matmul ms: the seven T x T x D products of attention forward and backward"
                    + " (with the recomputed scores), timed as dense batched matmuls and halved for causality%n");
        }
        table(new String[] {"variant", "T", "forward ms", "fwd+bwd ms", "vs composed", "matmul ms",
                            "vs matmuls"});
        energyVariants(c, h, energyBatch != null ? energyBatch : 1);
    }

    /**
     * Returns the seconds of the matrix products inside causal attention forward and backward, per call
     * of (B, T, C): scores, output, recomputed scores, dP, dV, dQ and dK, each (T x D) by (D x T) or
     * (T x T) by (T x D) per head. They run as dense batched matmuls over B*H heads, and the time is
     * halved because the causal mask leaves half of each T x T product to compute.
     */
    private double attentionMatmulsSeconds(int b, int t, int d, int h) {
        int heads = b * h;
        float[] q = Tensor.randn(seed, 6, 1f, heads, t, d).storage();
        float[] k = Tensor.randn(seed, 7, 1f, heads, t, d).storage();
        float[] scores = new float[heads * t * t];
        float[] out = new float[heads * t * d];
        double seconds = medianSeconds(() -> {
            // Three products of shape (T x D) @ (D x T): scores, recomputed scores and dP = dY V^T.
            for (int r = 0; r < 3; r++) {
                Matmul.gemmBatched(heads, false, true, t, t, d, q, 0, d, t * d, k, 0, d, t * d, scores, 0, t,
                        t * t, false);
            }
            // Four of shape (T x T) @ (T x D): output, dV = P^T dY, dQ = dS K and dK = dS^T Q.
            for (int r = 0; r < 4; r++) {
                Matmul.gemmBatched(heads, r % 2 == 1, false, t, d, t, scores, 0, t, t * t, q, 0, d, t * d, out, 0,
                        d, t * d, false);
            }
        });
        return seconds / 2;
    }

    /**
     * Times every valid energy and optimizer pair as a whole attention layer (projections, the step on
     * the energy and the output projection) and measures the heap its forward pass keeps for backward.
     * Figures are relative to softmax with gd, the standard layer.
     */
    private void energyVariants(int c, int h, int b) {
        atLeast("--energy-batch", b, 1);
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        // One untimed pass over every pair first, so that the first pair timed does not pay for the JIT
        // compiling code that all pairs share.
        Tensor warmX = Tensor.randn(seed, 3, 1f, b, 256, c).requiresGrad(true);
        Tensor warmV = Tensor.randn(seed, 4, 0.1f, b, 256, c);
        for (String energy : EnergyRecipe.ENERGIES) {
            for (String optimizer : EnergyRecipe.optimizersFor(energy)) {
                EnergyAttention layer = new EnergyAttention(EnergyRecipe.of(energy, optimizer), c, h, 0, 1, seed, 100);
                long until = System.nanoTime() + 300_000_000L;
                for (int i = 0; i < warmup || (System.nanoTime() < until && i < 50); i++) {
                    layer.forward(warmX, warmV, UnaryOperator.identity()).x().sum().backward();
                }
                warmX.zeroGrad();
            }
        }
        for (int t : new int[] {256, 1024}) {
            Tensor x = Tensor.randn(seed, 3, 1f, b, t, c).requiresGrad(true);
            Tensor velocity = Tensor.randn(seed, 4, 0.1f, b, t, c);
            Tensor upstream = Tensor.randn(seed, 5, 1f, b, t, c);
            double baseMs = Double.NaN;
            double baseBytes = Double.NaN;
            for (String energy : EnergyRecipe.ENERGIES) {
                for (String optimizer : EnergyRecipe.optimizersFor(energy)) {
                    EnergyAttention layer = new EnergyAttention(EnergyRecipe.of(energy, optimizer), c, h, 0, 1, seed,
                            100);
                    String name = energy + "-" + optimizer;
                    double[] fwd = new double[1];
                    double[] fwdBwd = new double[1];
                    long retained;
                    try {
                        fwd[0] = medianSeconds(() -> {
                            try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
                                layer.forward(x, velocity, UnaryOperator.identity());
                            }
                        });
                        fwdBwd[0] = medianSeconds(() -> {
                            layer.forward(x, velocity, UnaryOperator.identity()).x().mul(upstream).sum().backward();
                            x.zeroGrad();
                            layer.zeroGrad();
                        });
                        memory.gc();
                        long before = memory.getHeapMemoryUsage().getUsed();
                        EnergyAttention.Step kept = layer.forward(x, velocity, UnaryOperator.identity());
                        memory.gc();
                        retained = Math.max(0, memory.getHeapMemoryUsage().getUsed() - before);
                        java.lang.ref.Reference.reachabilityFence(kept);
                    } catch (OutOfMemoryError e) {
                        emit(variantFigure(name, b, t, c, h, Double.NaN, Double.NaN, Double.NaN, baseMs, baseBytes),
                                name, Integer.toString(t), "out of memory", "-", "-", "-", "-");
                        continue;
                    }
                    double fwdMs = fwd[0] * 1e3;
                    double totalMs = fwdBwd[0] * 1e3;
                    if (energy.equals("softmax") && optimizer.equals("gd")) {
                        baseMs = totalMs;
                        baseBytes = retained;
                    }
                    emit(variantFigure(name, b, t, c, h, fwdMs, totalMs, retained, baseMs, baseBytes), name,
                            Integer.toString(t), fmt("%.2f", fwdMs), fmt("%.2f", totalMs),
                            fmt("%.1f", retained / 1048576.0), fmt("%.2fx", totalMs / baseMs),
                            fmt("%.2fx", retained / baseBytes));
                }
            }
        }
        if (!json) {
            out.printf(Locale.ROOT, "%nenergy attention layers: batch %d, width %d, %d heads; memory is the heap"
                    + " that one forward pass keeps for its backward (MemoryMXBean after gc)%n", b, c, h);
        }
        table(new String[] {"energy-optimizer", "T", "forward ms", "fwd+bwd ms", "retained MiB", "time vs softmax-gd",
                            "memory vs softmax-gd"});
    }

    private JsonObject variantFigure(String name, int b, int t, int c, int h, double fwdMs, double totalMs,
                                     double retained, double baseMs, double baseBytes) {
        JsonObject o = figure("attention-energy");
        o.addProperty("variant", name);
        o.addProperty("batch", b);
        o.addProperty("t", t);
        o.addProperty("dim", c);
        o.addProperty("heads", h);
        o.addProperty("forward_ms", fwdMs);
        o.addProperty("forward_backward_ms", totalMs);
        o.addProperty("retained_bytes", retained);
        o.addProperty("time_vs_softmax_gd", totalMs / baseMs);
        o.addProperty("memory_vs_softmax_gd", retained / baseBytes);
        return o;
    }

    // ---------------------------------------------------------------- training step

    /** Returns the preset named by --model with the overrides applied. */
    GptConfig config() {
        GptConfig c = switch (model) {
            case "tiny" -> GptConfig.tiny();
            case "small" -> GptConfig.small();
            case "llmc" -> new GptConfig(256, 256, 4, 4, 256, 0f, GptConfig.DEFAULT_ENERGY, GptConfig.DEFAULT_OPTIMIZER);
            default -> throw new InvalidInputException("unknown --model '" + model + "'; use tiny, small or llmc");
        };
        c = c.withEnergy(energy != null ? energy : c.energy(), optimizer != null ? optimizer : c.optimizer());
        return ModelOptions.withSizes(c, layers, heads, dim, context).validate();
    }

    /**
     * Returns the --model name for tables and JSON, or, when --layers, --heads, --dim or --context
     * changes its size, the resulting shape followed by the preset it started from.
     */
    String modelLabel() {
        if (layers == null && heads == null && dim == null && context == null) {
            return model;
        }
        GptConfig c = config();
        return c.layers() + "L " + c.heads() + "H " + c.dim() + "C " + c.context() + "T (from " + model + ")";
    }

    /** Times training steps on an OpenCL device: tokens/s and the device memory the model uses. */
    private void deviceStep(GptConfig config, int b) {
        DeviceTrainer.StepBenchmark r = DeviceTrainer.benchmark(config, b, warmup, steps, device, seed);
        JsonObject o = figure("step");
        o.addProperty("device", r.device());
        o.addProperty("model", modelLabel());
        o.addProperty("energy", config.energy());
        o.addProperty("optimizer", config.optimizer());
        o.addProperty("batch", b);
        o.addProperty("context", config.context());
        o.addProperty("parameters", r.parameters());
        o.addProperty("step_ms_median", r.msPerStep());
        o.addProperty("tokens_per_s", r.tokensPerS());
        o.addProperty("device_mb", r.deviceBytes() / 1048576.0);
        emit(o, r.device(), modelLabel(), fmt("%,d", r.parameters()), Integer.toString(b), fmt("%.1f", r.msPerStep()),
                fmt("%,.0f", r.tokensPerS()), fmt("%.0f", r.deviceBytes() / 1048576.0));
        table(new String[] {"device", "model", "parameters", "batch", "ms/step", "tokens/s", "device MiB"});
    }

    private void step() {
        GptConfig config = config();
        int b = batch != null ? batch : TrainSettings.defaults().batch();
        int t = config.context();
        if (!Setup.device(device).isCpu()) {
            deviceStep(config, b);
            return;
        }
        Dataset data = stepData(config);
        Gpt gpt = new Gpt(config, seed);
        AdamW optimizer = new AdamW(gpt.parameters(), 0.9f, 0.95f, 1e-8f, 0.1f);
        gpt.train(true);

        // Heap in use (live objects plus garbage not yet collected), sampled after forward and backward.
        Runtime rt = Runtime.getRuntime();
        long peakHeap = 0;
        double[] ms = new double[steps];
        double lastLoss = Double.NaN;
        // The same buffer reuse as joule train: each step replays the previous step's arrays.
        Buffers.Arena arena = new Buffers.Arena();
        for (int s = 0; s < warmup + steps; s++) {
            long t0 = System.nanoTime();
            try (Buffers.Scope ignored = arena.open()) {
                Dataset.Batch batchData = data.trainBatch(seed, s, b);
                Tensor loss = gpt.loss(batchData.inputs(), batchData.targets(), b, t, s);
                lastLoss = loss.item();
                peakHeap = Math.max(peakHeap, rt.totalMemory() - rt.freeMemory());
                loss.backward();
                peakHeap = Math.max(peakHeap, rt.totalMemory() - rt.freeMemory());
                Schedules.clipGradNorm(gpt.parameters(), 1.0);
                optimizer.step(1e-3f);
                gpt.zeroGrad();
            }
            double elapsed = (System.nanoTime() - t0) / 1e6;
            if (s >= warmup) {
                ms[s - warmup] = elapsed;
            }
        }

        long parameters = gpt.parameterCount();
        double medianMs = median(ms);
        double tokensPerS = b * t / (medianMs / 1e3);
        double meanTokensPerS = (double) b * t * steps / (Arrays.stream(ms).sum() / 1e3);
        double flopsPerToken = 6.0 * parameters + 12.0 * config.layers() * t * config.dim();
        double modelGflops = tokensPerS * flopsPerToken / 1e9;

        JsonObject o = figure("step");
        o.addProperty("model", modelLabel());
        o.addProperty("energy", config.energy());
        o.addProperty("optimizer", config.optimizer());
        o.addProperty("layers", config.layers());
        o.addProperty("heads", config.heads());
        o.addProperty("dim", config.dim());
        o.addProperty("context", t);
        o.addProperty("batch", b);
        o.addProperty("parameters", parameters);
        o.addProperty("tokens", tokens);
        o.addProperty("warmup_steps", warmup);
        o.addProperty("steps", steps);
        o.addProperty("step_ms_median", medianMs);
        o.addProperty("tokens_per_s", tokensPerS);
        o.addProperty("tokens_per_s_mean", meanTokensPerS);
        o.addProperty("model_gflops", modelGflops);
        o.addProperty("peak_heap_mb", peakHeap / 1048576.0);
        o.addProperty("reused_buffer_mb", arena.pooledBytes() / 1048576.0);
        o.addProperty("new_buffers_last_step", arena.allocatedCount());
        o.addProperty("max_heap_mb", rt.maxMemory() / 1048576.0);
        o.addProperty("last_loss", lastLoss);
        emit(o, modelLabel(), config.layers() + "L " + config.heads() + "H " + config.dim() + "C " + t + "T",
                fmt("%,d", parameters), Integer.toString(b), fmt("%.1f", medianMs), fmt("%,.0f", tokensPerS),
                fmt("%,.0f", meanTokensPerS), fmt("%.2f", modelGflops), fmt("%.0f", peakHeap / 1048576.0));
        if (!json) {
            out.printf(Locale.ROOT, "%s after %s, %s tokens; model FLOPs per token ="
                    + " 6 * parameters + 12 * layers * context * width%n", Plural.of(steps, "timed step"),
                    Plural.of(warmup, "warm-up step"), tokens);
        }
        table(new String[] {"model", "shape", "parameters", "batch", "step ms (median)", "tokens/s (median)",
                            "tokens/s (mean)", "model GFLOP/s", "peak heap MB"});
    }

    private Dataset stepData(GptConfig config) {
        int t = config.context();
        if (tokens.equals("corpus")) {
            if (config.vocab() != 256) {
                throw new InvalidInputException("--tokens corpus needs vocab 256, the byte tokenizer's");
            }
            return Dataset.split(new ByteTokenizer().encode(EmbeddedCorpus.text()), 0.1, t);
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] ids = new int[Math.max(1 << 16, 20 * (t + 1))];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rnd.nextInt(config.vocab());
        }
        return Dataset.split(ids, 0.1, t);
    }

    // ---------------------------------------------------------------- output

    private JsonObject figure(String bench) {
        JsonObject o = new JsonObject();
        o.addProperty("bench", bench);
        o.addProperty("threads", Parallel.threads());
        o.addProperty("jdk", Runtime.version().toString());
        o.addProperty("kernels", Simd.describe());
        return o;
    }

    /** Prints the figure as a JSON line now, or keeps the row for the table. */
    private void emit(JsonObject o, String... row) {
        if (json) {
            out.println(o);
            out.flush();
        } else {
            rows.add(row);
        }
    }

    private void table(String[] header) {
        if (json) {
            return;
        }
        int[] widths = new int[header.length];
        for (int i = 0; i < header.length; i++) {
            widths[i] = header[i].length();
            for (String[] r : rows) {
                widths[i] = Math.max(widths[i], r[i].length());
            }
        }
        line(header, widths);
        StringBuilder rule = new StringBuilder();
        for (int w : widths) {
            rule.append(rule.isEmpty() ? "" : "-+-").append("-".repeat(w));
        }
        out.println(rule);
        for (String[] r : rows) {
            line(r, widths);
        }
        rows.clear();
    }

    private void line(String[] cells, int[] widths) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < cells.length; i++) {
            if (i > 0) {
                sb.append(" | ");
            }
            // Text left-aligned in the first column, numbers right-aligned in the others.
            String pad = " ".repeat(widths[i] - cells[i].length());
            sb.append(i == 0 ? cells[i] + pad : pad + cells[i]);
        }
        out.println(sb.toString().stripTrailing());
    }

    private static String fmt(String format, Object value) {
        return String.format(Locale.ROOT, format, value);
    }

    static float[] randomArray(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return a;
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
