package dev.joule.models.cli;

import com.google.gson.JsonObject;
import dev.joule.models.InvalidInputException;
import dev.joule.models.compare.CompareReport;
import dev.joule.models.compare.CompareSpec;
import dev.joule.models.compare.Comparison;
import dev.joule.models.compare.RunSummary;
import dev.joule.models.compare.Variant;
import dev.joule.models.compare.VariantResult;
import dev.joule.models.data.BatchSource;
import dev.joule.models.gpt.GptConfig;
import dev.joule.models.lis.LisTask;
import dev.joule.models.train.TrainSettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code joule compare}: trains attention variants over several seeds and reports how they differ. */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = {"Train every valid pair of the listed energies and optimizers, plus softmax + gd as the"
                + " baseline, once per seed, and write results.md, results.json and SVG plots.",
            "Every run of seed s starts from initialization seed s and sees the same batches. Rerunning with"
                + " the same options resumes: finished runs are skipped, interrupted ones continue."})
final class CompareCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--data", paramLabel = "PATH", arity = "1..*",
            description = "Text files or folders to train on (the last 10%% is the validation text).")
    List<String> data = new ArrayList<>();

    @Option(names = "--task", paramLabel = "lis", description = "A generated task instead of --data: lis.")
    String task;

    @Option(names = "--energy", paramLabel = "LIST", required = true, split = ",",
            description = "Comma-separated energies: softmax, linear, gated-linear.")
    List<String> energies;

    @Option(names = "--optimizer", paramLabel = "LIST", required = true, split = ",",
            description = "Comma-separated optimizers: gd, momentum, nesterov, newton, newton-diag, newton-neumann.")
    List<String> optimizers;

    @Option(names = "--seeds", paramLabel = "N", defaultValue = "3",
            description = "Runs per variant, with seeds 0 to N-1 (default: ${DEFAULT-VALUE}).")
    int seeds;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "300",
            description = "Optimizer steps per run (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--layers", paramLabel = "L", defaultValue = "2", description = "Blocks (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--heads", paramLabel = "H", defaultValue = "2",
            description = "Attention heads; must divide --dim (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--dim", paramLabel = "C", defaultValue = "64", description = "Residual width (default: ${DEFAULT-VALUE}).")
    int dim;

    @Option(names = "--context", paramLabel = "T",
            description = "Context in tokens (default: 64 for text, 2 * --lis-length + 1 for lis).")
    Integer context;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "16",
            description = "Sequences per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", paramLabel = "X", defaultValue = "3e-3",
            description = "Peak learning rate; the cosine decay ends at a tenth of it (default: ${DEFAULT-VALUE}).")
    float lr;

    @Option(names = "--eval-every", paramLabel = "N",
            description = "Steps between validation measurements (default: --steps / 20, at least 1).")
    Integer evalEvery;

    @Option(names = "--eval-batches", paramLabel = "N", defaultValue = "4",
            description = "Validation batches per measurement (default: ${DEFAULT-VALUE}).")
    int evalBatches;

    @Option(names = "--lis-length", paramLabel = "L", defaultValue = "12",
            description = "Values per LIS sequence (default: ${DEFAULT-VALUE}).")
    int lisLength;

    @Option(names = "--lis-alphabet", paramLabel = "A", defaultValue = "32",
            description = "Distinct LIS values, at most 250 (default: ${DEFAULT-VALUE}).")
    int lisAlphabet;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all processors).")
    Integer threads;

    @Option(names = "--out", paramLabel = "DIR", required = true,
            description = "Comparison directory; an existing one with the same options is resumed.")
    Path out;

    @Option(names = "--allow-binary", description = "Train on files that look binary, as raw bytes.")
    boolean allowBinary;

    @Option(names = "--json", description = "Print a JSON summary as the last line of standard output.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        Setup.threads(threads);
        if (java.nio.file.Files.exists(out) && !java.nio.file.Files.isDirectory(out)) {
            throw new InvalidInputException("--out " + out + " is a file, not a directory; choose a directory path"
                    + " for the comparison");
        }
        CompareSpec compare = buildSpec();
        Setup.noteModel(compare.model(), compare.batch());
        BatchSource source;
        LisTask lis = null;
        if (CompareSpec.LIS.equals(compare.task())) {
            lis = new LisTask(lisLength, lisAlphabet, compare.model().context(), 512);
            source = lis;
        } else {
            source = Setup.dataset(compare.settingsOf(0).withAllowBinary(allowBinary), compare.model().context());
        }

        Comparison comparison = new Comparison(compare, source, lis, out);
        List<RunSummary> runs = comparison.run(new Comparison.Listener() {
            @Override
            public void onRun(Variant v, int seed, int index, int total, String action) {
                stdout.printf(Locale.ROOT, "[%d/%d] %s seed %d: %s%n", index, total, v.name(), seed, action);
                stdout.flush();
            }

            @Override
            public void onEval(Variant v, int seed, int step, double valLoss) {
                stdout.printf(Locale.ROOT, "  %s seed %d step %d/%d val loss %.4f%n", v.name(), seed, step,
                        compare.steps(), valLoss);
                stdout.flush();
            }
        });
        CompareReport report = CompareReport.of(compare, runs);
        report.write(out, "joule compare " + String.join(" ", spec.commandLine().getParseResult().originalArgs()
                .subList(1, spec.commandLine().getParseResult().originalArgs().size())));
        printSummary(stdout, report);
        if (json) {
            JsonObject summary = new JsonObject();
            summary.addProperty("command", "compare");
            summary.addProperty("dir", out.toString());
            summary.addProperty("runs", runs.size());
            JsonObject losses = new JsonObject();
            for (VariantResult r : report.variants()) {
                losses.addProperty(r.variant().name(), r.meanLoss());
            }
            summary.add("final_val_loss_mean", losses);
            stdout.println(summary);
        }
        stdout.flush();
        if (!comparison.diverged().isEmpty()) {
            StringBuilder section = new StringBuilder("\n## Diverged runs\n\nThese runs stopped on a NaN or"
                    + " infinite loss and are left out of the tables above.\n\n");
            for (String line : comparison.diverged()) {
                section.append("- ").append(line).append('\n');
            }
            try {
                java.nio.file.Files.writeString(out.resolve("results.md"), section.toString(),
                        java.nio.file.StandardOpenOption.APPEND);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException("failed to append to results.md: " + e.getMessage(), e);
            }
            PrintWriter stderr = spec.commandLine().getErr();
            int n = comparison.diverged().size();
            String verb = n == 1 ? " diverged and is" : " diverged and are";
            stderr.println("joule: " + dev.joule.models.Plural.of(n, "run") + verb + " left out of the results; lower"
                    + " --lr to include " + (n == 1 ? "it:" : "them:"));
            for (String line : comparison.diverged()) {
                stderr.println("  " + line);
            }
            stderr.flush();
            return Main.EXIT_DIVERGED;
        }
        return Main.EXIT_OK;
    }

    private CompareSpec buildSpec() {
        if (seeds < 1) {
            throw new InvalidInputException("--seeds must be at least 1, got " + seeds);
        }
        String kind;
        if (task != null) {
            if (!task.equals(CompareSpec.LIS)) {
                throw new InvalidInputException("unknown --task '" + task + "'; the only task is lis (or give --data)");
            }
            if (!data.isEmpty()) {
                throw new InvalidInputException("give either --data or --task lis, not both");
            }
            kind = CompareSpec.LIS;
        } else {
            if (data.isEmpty()) {
                throw new InvalidInputException("missing training data: give --data PATH or --task lis");
            }
            kind = CompareSpec.TEXT;
        }
        List<Variant> variants = Variant.expand(energies, optimizers);
        noteSkippedPairs(variants);
        int t;
        if (kind.equals(CompareSpec.LIS)) {
            if (lisLength < 1) {
                throw new InvalidInputException("--lis-length must be a positive integer, got " + lisLength);
            }
            t = context != null ? context : LisTask.minContext(lisLength);
        } else {
            t = context != null ? context : 64;
        }
        GptConfig model = new GptConfig(256, t, layers, heads, dim, 0f, GptConfig.DEFAULT_ENERGY,
                GptConfig.DEFAULT_OPTIMIZER).validate();
        if (batch < 1) {
            throw new InvalidInputException("--batch must be a positive integer, got " + batch);
        }
        if (steps < 1) {
            throw new InvalidInputException("--steps must be a positive integer, got " + steps);
        }
        int every = evalEvery != null ? evalEvery : Math.max(1, steps / 20);
        int warmup = Math.min(TrainSettings.defaults().warmup(), steps / 10);
        boolean lisTask = kind.equals(CompareSpec.LIS);
        CompareSpec s = new CompareSpec(kind, lisTask ? List.of() : absolute(data), lisTask ? lisLength : 0,
                lisTask ? lisAlphabet : 0, variants, seeds, steps, model, batch, lr, warmup, every, evalBatches, 0.1);
        s.settingsOf(0);
        if (lisTask) {
            new LisTask(lisLength, lisAlphabet, t, 512);
        }
        return s;
    }

    /** Prints one note that names the listed pairs left out because the optimizer cannot run on the energy. */
    private void noteSkippedPairs(List<Variant> variants) {
        List<String> skipped = new ArrayList<>();
        for (String e : energies) {
            for (String o : optimizers) {
                Variant v = new Variant(e, o);
                if (!variants.contains(v) && !skipped.contains(v.name())) {
                    skipped.add(v.name());
                }
            }
        }
        if (!skipped.isEmpty()) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("joule: note: skipping " + String.join(", ", skipped) + ": the Newton optimizers need a"
                    + " strictly convex energy, such as softmax (joule energy lists the valid pairs)");
            err.flush();
        }
    }

    private static List<String> absolute(List<String> paths) {
        return Arrays.asList(paths.stream().map(p -> Path.of(p).toAbsolutePath().normalize().toString())
                .toArray(String[]::new));
    }

    private static void printSummary(PrintWriter out, CompareReport report) {
        out.println("variant                     final val loss      steps to base   ms/step   p vs base");
        for (VariantResult r : report.variants()) {
            // An undefined spread or p-value (a single seed) reads as "-", as in results.md.
            out.printf(Locale.ROOT, "%-26s  %.4f ± %-6s   %-14s  %7.1f   %s%n", r.variant().name(), r.meanLoss(),
                    Double.isNaN(r.stdLoss()) ? "-" : String.format(Locale.ROOT, "%.4f", r.stdLoss()),
                    r.stepsToBaseline() < 0 ? "not reached" : Integer.toString(r.stepsToBaseline()),
                    r.msPerStep(), r.welch() == null || Double.isNaN(r.welch().p()) ? "-"
                            : String.format(Locale.ROOT, "%.3g", r.welch().p()));
        }
    }
}
