package dev.joule.models.compare;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import dev.joule.models.train.RunDirectory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import dev.joule.models.Plural;
import java.util.Locale;

/** Aggregates the runs of a comparison and writes results.md, results.json and the plots. */
public final class CompareReport {
    public static final String MARKDOWN = "results.md";
    public static final String JSON = "results.json";

    /** Keeps null fields, which stand for values that do not exist (not reached, NaN). */
    private static final Gson JSON_WRITER = new GsonBuilder().setPrettyPrinting().serializeNulls().create();

    private final CompareSpec spec;
    private final List<VariantResult> variants;

    private CompareReport(CompareSpec spec, List<VariantResult> variants) {
        this.spec = spec;
        this.variants = variants;
    }

    /** Summarizes {@code runs} by variant, in the order of the spec; the baseline comes first. */
    public static CompareReport of(CompareSpec spec, List<RunSummary> runs) {
        List<VariantResult> out = new ArrayList<>();
        VariantResult base = null;
        for (Variant v : spec.variants()) {
            List<RunSummary> mine = runs.stream().filter(r -> r.variant().equals(v.name())).toList();
            VariantResult r = summarize(spec, v, mine, base);
            if (v.isBaseline()) {
                base = r;
            }
            out.add(r);
        }
        return new CompareReport(spec, out);
    }

    private static VariantResult summarize(CompareSpec spec, Variant v, List<RunSummary> runs, VariantResult base) {
        double[] losses = runs.stream().mapToDouble(RunSummary::finalValLoss).toArray();
        double mean = Stats.mean(losses);
        List<VariantResult.MeanPoint> curve = VariantResult.meanCurve(runs);
        double target = base == null ? mean : base.meanLoss();
        int steps = VariantResult.firstStepAtOrBelow(curve, target);
        int baseSteps = base == null ? steps : base.stepsToBaseline();
        double speedup = steps > 0 && baseSteps > 0 ? (double) baseSteps / steps : Double.NaN;
        double ms = Stats.mean(runs.stream().mapToDouble(RunSummary::msPerStep).toArray());
        double heap = Stats.mean(runs.stream().mapToDouble(RunSummary::retainedHeapBytes).toArray());
        long params = runs.isEmpty() ? 0 : runs.get(0).parameters();
        double[] accuracies = runs.stream().mapToDouble(RunSummary::exactMatch).toArray();
        WelchTest.Result welch = base == null ? null : WelchTest.test(losses, base.finalLosses());
        return new VariantResult(v, runs, losses, mean, Stats.std(losses), curve, steps, speedup, ms, heap, params,
                AttentionCost.attentionFlops(v, spec.modelOf(v)),
                AttentionCost.trainingFlopsPerToken(v, spec.modelOf(v), params), welch, Stats.mean(accuracies),
                Stats.std(accuracies));
    }

    public List<VariantResult> variants() {
        return variants;
    }

    /**
     * Writes results.md, results.json and the SVG plots into {@code dir}.
     *
     * @param command the command line that produced the comparison, quoted in results.md
     */
    public void write(Path dir, String command) {
        RunDirectory.writeAtomically(dir.resolve(MARKDOWN), markdown(command));
        RunDirectory.writeAtomically(dir.resolve(JSON), JSON_WRITER.toJson(json()) + "\n");
        ComparePlots.write(dir, variants);
    }

    private boolean isLis() {
        return CompareSpec.LIS.equals(spec.task());
    }

    String markdown(String command) {
        VariantResult base = variants.get(0);
        StringBuilder md = new StringBuilder();
        md.append("# Comparison of attention variants\n\n");
        md.append("Command: `").append(command).append("`\n\n");
        md.append(String.format(Locale.ROOT, "Task: %s. Model: %s, %s, width %d, context %d, batch %d,"
                        + " %d steps, peak lr %.2g, %s (0 to %d), validation every %d steps on %d batches.%n%n",
                isLis() ? "LIS (length " + spec.lisLength() + ", alphabet " + spec.lisAlphabet() + ")"
                        : "text " + String.join(", ", spec.data()),
                Plural.of(spec.model().layers(), "layer"), Plural.of(spec.model().heads(), "head"), spec.model().dim(),
                spec.model().context(), spec.batch(), spec.steps(), spec.lr(), Plural.of(spec.seeds(), "seed"),
                spec.seeds() - 1, spec.evalEvery(), spec.evalBatches()));
        md.append("| variant | final val loss (mean ± std) | steps to baseline loss | speed-up | ms/step |"
                + " time vs base | retained heap MiB | heap vs base | parameters | attention FLOPs/token/layer |"
                + " training FLOPs/token | Welch t | dof | p |");
        md.append(isLis() ? " exact match |\n" : "\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        md.append(isLis() ? "---|\n" : "\n");
        for (VariantResult r : variants) {
            md.append(String.format(Locale.ROOT, "| %s | %.4f ± %.4f | %s | %s | %.1f | %.2fx | %.2f | %.2fx | %,d |"
                            + " %s = %.3g | %.3g | %s | %s | %s |",
                    r.variant().name(), r.meanLoss(), r.stdLoss(),
                    r.stepsToBaseline() < 0 ? "not reached" : Integer.toString(r.stepsToBaseline()),
                    Double.isNaN(r.speedup()) ? "-" : String.format(Locale.ROOT, "%.2fx", r.speedup()),
                    r.msPerStep(), r.msPerStep() / base.msPerStep(), r.heapBytes() / (1 << 20),
                    r.heapBytes() / base.heapBytes(), r.parameters(), AttentionCost.formula(r.variant()),
                    r.attentionFlops(), r.trainingFlops(),
                    r.welch() == null ? "-" : String.format(Locale.ROOT, "%.2f", r.welch().t()),
                    r.welch() == null ? "-" : String.format(Locale.ROOT, "%.1f", r.welch().dof()),
                    r.welch() == null ? "-" : String.format(Locale.ROOT, "%.3g", r.welch().p())));
            if (isLis()) {
                md.append(String.format(Locale.ROOT, " %.3f ± %.3f |", r.exactMatch(), r.exactMatchStd()));
            }
            md.append('\n');
        }
        md.append("\nHow the columns are measured:\n\n");
        md.append("- final val loss: validation cross-entropy (nats per token) after the last step; std is the"
                + " sample standard deviation over seeds.\n");
        md.append("- steps to baseline loss: first validation step at which the variant's mean curve over seeds is"
                + " at or below the final mean loss of softmax-gd; speed-up is the baseline's own such step divided"
                + " by the variant's. The resolution is the validation interval.\n");
        md.append("- ms/step: median wall-clock time of a training step (validation excluded), averaged over seeds;"
                + " runs share the machine with other work, so small differences are noise.\n");
        md.append("- retained heap: heap that one training forward pass keeps for the backward pass, read with"
                + " MemoryMXBean.getHeapMemoryUsage() after MemoryMXBean.gc() before and after the pass (smallest"
                + " of 3 repetitions), averaged over seeds.\n");
        md.append("- FLOPs: counts, not measurements. Training FLOPs per token = 6 N + 3 L A, with N the parameter"
                + " count including embeddings, L the layers and A the forward attention term per token and layer"
                + " from the cost table of docs/energy-framework.md (T context, C width, H heads, D head width,"
                + " n = min(64, T) the linear chunk).\n");
        md.append("- Welch t-test of the final losses against softmax-gd: t, Welch-Satterthwaite dof, two-sided p."
                + " Negative t means a lower loss than the baseline.\n");
        if (isLis()) {
            md.append("- exact match: share of " + Comparison.LIS_ACCURACY_ROWS + " fixed validation sequences"
                    + " whose answer greedy decoding reproduces exactly, end token included.\n");
        }
        md.append("\nPlots: loss-vs-step.svg (mean with min-max band over seeds), loss-vs-time.svg,"
                + " energy-per-layer.svg (traced F before and after each layer's step on a fixed validation"
                + " batch).\n");
        // An undefined figure (the spread or the t-test of a single seed) reads as "-", like the others.
        return md.toString().replace("NaN", "-");
    }

    JsonObject json() {
        JsonObject root = new JsonObject();
        root.add("spec", JsonParser.parseString(CompareSpec.GSON.toJson(spec)));
        root.add("machine", machine());
        JsonArray list = new JsonArray();
        VariantResult base = variants.get(0);
        for (VariantResult r : variants) {
            JsonObject o = new JsonObject();
            o.addProperty("variant", r.variant().name());
            o.addProperty("energy", r.variant().energy());
            o.addProperty("optimizer", r.variant().optimizer());
            o.addProperty("seeds", r.runs().size());
            o.add("final_val_loss_mean", number(r.meanLoss()));
            o.add("final_val_loss_std", number(r.stdLoss()));
            o.add("final_val_losses", numbers(r.finalLosses()));
            o.add("steps_to_baseline_loss", r.stepsToBaseline() < 0 ? JsonNull.INSTANCE
                    : new JsonPrimitive(r.stepsToBaseline()));
            o.add("speedup_vs_baseline", number(r.speedup()));
            o.add("ms_per_step", number(r.msPerStep()));
            o.add("time_per_step_vs_baseline", number(r.msPerStep() / base.msPerStep()));
            o.add("retained_heap_bytes", number(r.heapBytes()));
            o.add("heap_vs_baseline", number(r.heapBytes() / base.heapBytes()));
            o.addProperty("parameters", r.parameters());
            o.addProperty("attention_flops_formula", AttentionCost.formula(r.variant()));
            o.add("attention_flops_per_token_per_layer", number(r.attentionFlops()));
            o.add("training_flops_per_token", number(r.trainingFlops()));
            if (r.welch() != null) {
                JsonObject w = new JsonObject();
                w.add("t", number(r.welch().t()));
                w.add("dof", number(r.welch().dof()));
                w.add("p", number(r.welch().p()));
                o.add("welch_vs_baseline", w);
            } else {
                o.add("welch_vs_baseline", JsonNull.INSTANCE);
            }
            if (isLis()) {
                o.add("exact_match_mean", number(r.exactMatch()));
                o.add("exact_match_std", number(r.exactMatchStd()));
            }
            JsonArray mean = new JsonArray();
            for (VariantResult.MeanPoint p : r.curve()) {
                JsonObject point = new JsonObject();
                point.addProperty("step", p.step());
                point.add("val_loss_mean", number(p.mean()));
                point.add("val_loss_min", number(p.min()));
                point.add("val_loss_max", number(p.max()));
                point.add("wall_s_mean", number(p.wallS()));
                mean.add(point);
            }
            o.add("mean_curve", mean);
            o.add("runs", runs(r.runs()));
            list.add(o);
        }
        root.add("variants", list);
        return root;
    }

    private JsonArray runs(List<RunSummary> runs) {
        JsonArray out = new JsonArray();
        for (RunSummary s : runs) {
            JsonObject o = new JsonObject();
            o.addProperty("seed", s.seed());
            o.addProperty("steps", s.steps());
            o.add("final_val_loss", number(s.finalValLoss()));
            o.add("ms_per_step", number(s.msPerStep()));
            o.addProperty("retained_heap_bytes", s.retainedHeapBytes());
            o.add("energy_before", numbers(s.energyBefore()));
            o.add("energy_after", numbers(s.energyAfter()));
            if (isLis()) {
                o.add("exact_match", number(s.exactMatch()));
            }
            JsonArray curve = new JsonArray();
            for (RunSummary.CurvePoint p : s.curve()) {
                JsonObject point = new JsonObject();
                point.addProperty("step", p.step());
                point.add("val_loss", number(p.valLoss()));
                point.add("wall_s", number(p.wallS()));
                curve.add(point);
            }
            o.add("curve", curve);
            out.add(o);
        }
        return out;
    }

    private static JsonObject machine() {
        JsonObject m = new JsonObject();
        m.addProperty("processors", Runtime.getRuntime().availableProcessors());
        m.addProperty("java", System.getProperty("java.version"));
        m.addProperty("os", System.getProperty("os.name") + " " + System.getProperty("os.arch"));
        m.addProperty("max_heap_bytes", Runtime.getRuntime().maxMemory());
        return m;
    }

    /** JSON has no NaN or infinity, so those are written as null. */
    private static JsonElement number(double v) {
        return Double.isFinite(v) ? new JsonPrimitive(v) : JsonNull.INSTANCE;
    }

    private static JsonArray numbers(double[] values) {
        JsonArray a = new JsonArray();
        for (double v : values) {
            a.add(number(v));
        }
        return a;
    }
}
