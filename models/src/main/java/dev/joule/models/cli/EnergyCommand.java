package dev.joule.models.cli;

import com.google.gson.JsonObject;
import dev.joule.engine.Autograd;
import dev.joule.engine.Tensor;
import dev.joule.engine.nn.Parameter;
import dev.joule.layers.ChunkedLinearAttention;
import dev.joule.layers.EnergyAttention;
import dev.joule.layers.EnergyRecipe;
import dev.joule.layers.EnergyTrace;
import dev.joule.models.InvalidInputException;
import dev.joule.models.data.ByteTokenizer;
import dev.joule.models.gpt.Block;
import dev.joule.models.gpt.Gpt;
import dev.joule.models.sample.Generator;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code joule energy}: the check of the energy framework of the attention layers.
 *
 * <p>Without a checkpoint it is a self-check: every valid (energy, optimizer) pair runs once on the
 * fused fast path and once on the generic path, on the same seeded layer and input, and the two must
 * agree in the output and in every gradient. Pairs that {@link EnergyRecipe} rejects are listed with
 * its reason. Exit 1 when any pair disagrees, because that is a defect of the layer, not a usage error.
 *
 * <p>With a checkpoint it traces one forward pass of a trained model and prints, per layer and head,
 * the mean global energy F before and after that layer's step.
 */
@Command(name = "energy", mixinStandardHelpOptions = true,
        description = {"Check that the fast and generic paths of every energy/optimizer pair agree, or, with"
                + " --checkpoint, show how each layer's step changes its energy F on a fixed text."})
final class EnergyCommand implements Callable<Integer> {
    /** Batch size, width and heads of the self-check input. Its length is {@link #defaultLength()}. */
    static final int BATCH = 2;
    static final int WIDTH = 16;
    static final int HEADS = 2;

    /** Largest accepted |fast - generic|, relative to max(1, max |generic|) of the same tensor. */
    static final double TOLERANCE = 1e-4;

    /** Standard deviation of the random parameters of the self-check layer. */
    static final float PARAM_STD = 0.3f;

    /** The default text of the trace: a plain sentence, cut to the model's context. */
    static final String DEFAULT_TEXT = "Each attention layer takes one step downhill on an energy; the trace"
            + " shows the height before and after that step, head by head, for every layer of the model.";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--checkpoint", paramLabel = "DIR",
            description = "Run directory of joule train: trace F per layer and head instead of the self-check.")
    Path checkpoint;

    @Option(names = "--text", paramLabel = "TEXT",
            description = "Text of the traced forward pass, cut to the context (default: a built-in sentence).")
    String text;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "Seed of the self-check's parameters, input and upstream gradient"
                    + " (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--length", paramLabel = "T",
            description = "Sequence length of the self-check (default: the linear-attention chunk + 7, so that"
                    + " both the first chunk and the carried state are compared).")
    Integer lengthOption;

    @Option(names = "--json", description = "Print one JSON object per row and a summary line instead of a table.")
    boolean json;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all processors).")
    Integer threads;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Setup.threads(threads);
        int code;
        if (checkpoint != null) {
            code = trace(out);
        } else {
            if (text != null) {
                throw new InvalidInputException("--text only applies with --checkpoint DIR");
            }
            int length = lengthOption != null ? lengthOption : defaultLength();
            if (length < 1) {
                throw new InvalidInputException("--length must be at least 1, got " + length);
            }
            code = selfCheck(out, length);
        }
        out.flush();
        return code;
    }

    // ---- self-check: fast path against generic path ----

    /** One compared pair: the largest differences and the largest differences relative to the scale. */
    record Comparison(String energy, String optimizer, double outputDiff, double gradDiff, double worstRelative,
                      String worstTensor) {
        boolean pass() {
            return worstRelative <= TOLERANCE;
        }
    }

    /** A pair that {@link EnergyRecipe} rejects, with its reason. */
    record Rejection(String energy, String optimizer, String reason) {}

    /**
     * Returns a length past the first chunk of {@link ChunkedLinearAttention}. Shorter inputs never reach
     * the state that the chunked form carries from one chunk to the next.
     */
    static int defaultLength() {
        return ChunkedLinearAttention.CHUNK + 7;
    }

    private int selfCheck(PrintWriter out, int length) {
        List<Comparison> rows = new ArrayList<>();
        List<Rejection> rejected = new ArrayList<>();
        for (String energy : EnergyRecipe.ENERGIES) {
            for (String optimizer : EnergyRecipe.OPTIMIZERS) {
                EnergyRecipe recipe;
                try {
                    recipe = EnergyRecipe.of(energy, optimizer);
                } catch (IllegalArgumentException e) {
                    rejected.add(new Rejection(energy, optimizer, e.getMessage()));
                    continue;
                }
                rows.add(compare(recipe, energy, optimizer, seed, length));
            }
        }
        long failed = rows.stream().filter(r -> !r.pass()).count();
        if (json) {
            printJson(out, rows, rejected, failed, length);
        } else {
            printTable(out, rows, rejected, failed, length);
        }
        return failed == 0 ? Main.EXIT_OK : Main.EXIT_FAILURE;
    }

    /** Outputs and gradients of one path, as names and values in a fixed order. */
    private record PathResult(List<String> names, List<float[]> values, int outputs) {}

    /** Runs one recipe on both paths from the same seeded layer, input and upstream gradient. */
    static Comparison compare(EnergyRecipe recipe, String energy, String optimizer, long seed,
                              int length) {
        EnergyAttention layer = new EnergyAttention(recipe, WIDTH, HEADS, 0, 1, seed, 100);
        // Seeded normal parameters, so that biases, gates and temperatures are not at their trivial start.
        long stream = 1000;
        for (Parameter p : layer.parameters()) {
            Tensor random = Tensor.randn(seed, stream++, PARAM_STD, p.value().shape());
            if (p.name().equals("gate.bias")) {
                random = random.addScalar(EnergyAttention.GATE_BIAS);
            }
            p.value().copyFrom(random);
        }
        Tensor x = Tensor.randn(seed, 1, 1f, BATCH, length, WIDTH).requiresGrad(true);
        // A nonzero incoming velocity exercises the momentum and Nesterov updates as in a deeper layer.
        Tensor velocity = null;
        if (recipe.step().hasVelocity()) {
            velocity = Tensor.randn(seed, 2, 0.5f, BATCH, length, WIDTH).requiresGrad(true);
        }
        Tensor upstreamX = Tensor.randn(seed, 3, 1f, BATCH, length, WIDTH);
        Tensor upstreamV = Tensor.randn(seed, 4, 1f, BATCH, length, WIDTH);

        PathResult fast = runPath(layer, true, x, velocity, upstreamX, upstreamV);
        PathResult generic = runPath(layer, false, x, velocity, upstreamX, upstreamV);

        double outputDiff = 0;
        double gradDiff = 0;
        double worst = 0;
        String worstName = "";
        for (int i = 0; i < fast.values().size(); i++) {
            float[] fastValues = fast.values().get(i);
            float[] genericValues = generic.values().get(i);
            double diff = 0;
            double scale = 1;
            for (int j = 0; j < fastValues.length; j++) {
                double d = Math.abs((double) fastValues[j] - genericValues[j]);
                // NaN in either path must fail, so it becomes an infinite difference.
                diff = Math.max(diff, Double.isNaN(d) ? Double.POSITIVE_INFINITY : d);
                if (Math.abs(genericValues[j]) > scale) {
                    scale = Math.abs(genericValues[j]);
                }
            }
            if (i < fast.outputs()) {
                outputDiff = Math.max(outputDiff, diff);
            } else {
                gradDiff = Math.max(gradDiff, diff);
            }
            double relative = diff / scale;
            if (relative > worst || worstName.isEmpty()) {
                worst = relative;
                worstName = fast.names().get(i);
            }
        }
        return new Comparison(energy, optimizer, outputDiff, gradDiff, worst, worstName);
    }

    /**
     * Runs forward, the linear loss sum(x' * upstreamX) + sum(m' * upstreamV) and backward. Returns the
     * outputs first, then the gradients.
     */
    private static PathResult runPath(EnergyAttention layer, boolean fastPath, Tensor x, Tensor velocity,
                                      Tensor upstreamX, Tensor upstreamV) {
        layer.useFastPath(fastPath);
        layer.zeroGrad();
        x.zeroGrad();
        if (velocity != null) {
            velocity.zeroGrad();
        }
        EnergyAttention.Step step = layer.forward(x, velocity, UnaryOperator.identity());
        Tensor loss = step.x().mul(upstreamX).sum();
        List<String> names = new ArrayList<>(List.of("x'"));
        List<float[]> values = new ArrayList<>(List.of(step.x().toArray()));
        if (step.velocity() != null) {
            loss = loss.add(step.velocity().mul(upstreamV).sum());
            names.add("m'");
            values.add(step.velocity().toArray());
        }
        int outputs = names.size();
        loss.backward();
        names.add("dx");
        values.add(x.grad().toArray());
        if (velocity != null) {
            names.add("dm");
            values.add(velocity.grad().toArray());
        }
        for (Parameter p : layer.parameters()) {
            names.add("d" + p.name());
            Tensor grad = p.value().grad();
            values.add(grad == null ? new float[p.value().numel()] : grad.toArray());
        }
        layer.useFastPath(true);
        return new PathResult(names, values, outputs);
    }

    private void printTable(PrintWriter out, List<Comparison> rows, List<Rejection> rejected, long failed,
                            int length) {
        out.printf(Locale.ROOT, "fast path vs generic path: B=%d T=%d C=%d H=%d, seed %d, tolerance %.0e x max(1,"
                + " max |generic|) per tensor%n", BATCH, length, WIDTH, HEADS, seed, TOLERANCE);
        String format = "%-13s %-15s %-18s %-18s %-10s %s%n";
        out.printf(Locale.ROOT, format, "energy", "optimizer", "max |diff| output", "max |diff| grads",
                "worst rel", "result");
        for (Comparison r : rows) {
            out.printf(Locale.ROOT, format, r.energy(), r.optimizer(), scientific(r.outputDiff()),
                    scientific(r.gradDiff()), scientific(r.worstRelative()),
                    r.pass() ? "PASS" : "FAIL (" + r.worstTensor() + ")");
        }
        if (!rejected.isEmpty()) {
            out.println();
            out.println("rejected pairs (EnergyRecipe rejects them):");
            for (Rejection r : rejected) {
                out.printf(Locale.ROOT, "  %-13s %-15s %s%n", r.energy(), r.optimizer(), shortReason(r.reason()));
            }
        }
        out.println();
        out.printf(Locale.ROOT, "%d pairs checked: %d passed, %d failed; %d rejected%n", rows.size(),
                rows.size() - failed, failed, rejected.size());
    }

    private void printJson(PrintWriter out, List<Comparison> rows, List<Rejection> rejected, long failed,
                           int length) {
        for (Comparison r : rows) {
            JsonObject o = new JsonObject();
            o.addProperty("energy", r.energy());
            o.addProperty("optimizer", r.optimizer());
            o.addProperty("result", r.pass() ? "pass" : "fail");
            o.addProperty("max_diff_output", finite(r.outputDiff()));
            o.addProperty("max_diff_grads", finite(r.gradDiff()));
            o.addProperty("worst_relative", finite(r.worstRelative()));
            o.addProperty("worst_tensor", r.worstTensor());
            o.addProperty("tolerance", TOLERANCE);
            out.println(o);
        }
        for (Rejection r : rejected) {
            JsonObject o = new JsonObject();
            o.addProperty("energy", r.energy());
            o.addProperty("optimizer", r.optimizer());
            o.addProperty("result", "rejected");
            o.addProperty("reason", r.reason());
            out.println(o);
        }
        JsonObject summary = new JsonObject();
        summary.addProperty("command", "energy");
        summary.addProperty("checked", rows.size());
        summary.addProperty("passed", rows.size() - failed);
        summary.addProperty("failed", failed);
        summary.addProperty("rejected", rejected.size());
        summary.addProperty("tolerance", TOLERANCE);
        summary.addProperty("seed", seed);
        summary.addProperty("shape", "B=" + BATCH + " T=" + length + " C=" + WIDTH + " H=" + HEADS);
        out.println(summary);
    }

    /** Returns the clause of a recipe's rejection that names the cause. The --json rows carry the whole text. */
    static String shortReason(String reason) {
        int colon = reason.indexOf(": ");
        int end = reason.indexOf(", F is not");
        return colon >= 0 && end > colon ? reason.substring(colon + 2, end) : reason;
    }

    private static String scientific(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2e", v) : "inf";
    }

    /** Maps a non-finite value to -1, because Gson writes a bare Infinity, which JSON does not allow. */
    private static double finite(double v) {
        return Double.isFinite(v) ? v : -1;
    }

    // ---- trace of a trained model ----

    private int trace(PrintWriter out) {
        Gpt model = Generator.load(checkpoint).model();
        int context = model.config().context();
        String source = text != null ? text : DEFAULT_TEXT;
        int[] tokens = new ByteTokenizer().encode(source);
        if (tokens.length == 0) {
            throw new InvalidInputException("--text is empty; give at least one character to trace");
        }
        int[] ids = Arrays.copyOf(tokens, Math.min(tokens.length, context));

        EnergyTrace trace = new EnergyTrace();
        Block[] blocks = model.blocks();
        for (Block b : blocks) {
            b.attention().setTrace(trace);
        }
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            model.forward(ids, 1, ids.length, 0);
        } finally {
            for (Block b : blocks) {
                b.attention().setTrace(null);
            }
        }
        List<EnergyTrace.Entry> entries = trace.entries();
        long decreased = entries.stream().filter(e -> e.change() < 0).count();
        String recipe = model.config().energy() + " / " + model.config().optimizer();

        if (json) {
            for (EnergyTrace.Entry e : entries) {
                JsonObject o = new JsonObject();
                o.addProperty("layer", e.layer());
                o.addProperty("head", e.head());
                o.addProperty("f_before", e.before());
                o.addProperty("f_after", e.after());
                o.addProperty("change", e.change());
                o.addProperty("decreased", e.change() < 0);
                out.println(o);
            }
            JsonObject summary = new JsonObject();
            summary.addProperty("command", "energy");
            summary.addProperty("checkpoint", checkpoint.toString());
            summary.addProperty("recipe", recipe);
            summary.addProperty("tokens", ids.length);
            summary.addProperty("rows", entries.size());
            summary.addProperty("decreased", decreased);
            out.println(summary);
            return Main.EXIT_OK;
        }
        out.printf(Locale.ROOT, "energy trace of %s (%s, %d layer%s x %d head%s) on %d tokens%n", checkpoint,
                recipe, model.config().layers(), model.config().layers() == 1 ? "" : "s", model.config().heads(),
                model.config().heads() == 1 ? "" : "s", ids.length);
        out.println("F is the mean over positions of the layer's global energy, before (z = 0) and after its step.");
        String format = "%-6s %-5s %-14s %-14s %-14s %s%n";
        out.printf(Locale.ROOT, format, "layer", "head", "F before", "F after", "change", "decreased");
        for (EnergyTrace.Entry e : entries) {
            out.printf(Locale.ROOT, format, e.layer(), e.head(), energyValue(e.before()), energyValue(e.after()),
                    energyValue(e.change()), e.change() < 0 ? "yes" : "no");
        }
        out.printf(Locale.ROOT, "%d of %d layer-heads lowered F%n", decreased, entries.size());
        return Main.EXIT_OK;
    }

    private static String energyValue(double v) {
        return String.format(Locale.ROOT, "%+.6e", v);
    }
}
