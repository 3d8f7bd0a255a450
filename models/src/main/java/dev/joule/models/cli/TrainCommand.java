package dev.joule.models.cli;

import com.google.gson.JsonObject;
import dev.joule.models.InvalidInputException;
import dev.joule.models.Plural;
import dev.joule.models.data.DataFingerprint;
import dev.joule.models.data.Dataset;
import dev.joule.models.gpt.Gpt;
import dev.joule.models.gpt.GptConfig;
import dev.joule.models.sample.Generator;
import dev.joule.models.train.DeviceTrainer;
import dev.joule.models.train.RunDirectory;
import dev.joule.models.train.StepMetrics;
import dev.joule.models.train.TrainSettings;
import dev.joule.models.train.Trainer;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code joule train}: trains a GPT and writes a run directory. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a GPT on text files (or the built-in corpus) and print a sample at the end.")
final class TrainCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions modelOptions = new ModelOptions();

    @Option(names = "--data", paramLabel = "PATH", arity = "1..*",
            description = "Text files, folders or .jsonl files (field \"text\"). Default: the built-in corpus.")
    List<String> data = new ArrayList<>();

    @Option(names = "--val", paramLabel = "PATH", description = "Validation text; default: the last --val-fraction of the data.")
    String val;

    @Option(names = "--val-fraction", paramLabel = "F", defaultValue = "0.1",
            description = "Share of the data held out for validation (default: ${DEFAULT-VALUE}).")
    double valFraction;

    @Option(names = "--batch", paramLabel = "B", description = "Sequences per step (default: 16).")
    Integer batch;

    @Option(names = "--steps", paramLabel = "N", description = "Optimizer steps (default: 600).")
    Integer steps;

    @Option(names = "--lr-decay-steps", paramLabel = "N", defaultValue = "0",
            description = "Step at which the cosine decay ends; 0 means --steps. Give every part of a split run"
                    + " the final horizon to reproduce one uninterrupted run (default: ${DEFAULT-VALUE}).")
    int decaySteps;

    @Option(names = "--lr", paramLabel = "X", description = "Peak learning rate (default: 3e-3).")
    Float lr;

    @Option(names = "--min-lr", paramLabel = "X", description = "Final learning rate of the cosine decay (default: lr / 10).")
    Float minLr;

    @Option(names = "--warmup", paramLabel = "N", description = "Linear warmup steps (default: 50, at most a tenth of the decay horizon).")
    Integer warmup;

    @Option(names = "--weight-decay", paramLabel = "X", defaultValue = "0.1",
            description = "AdamW decoupled weight decay on matrices (default: ${DEFAULT-VALUE}).")
    float weightDecay;

    @Option(names = "--grad-clip", paramLabel = "X", defaultValue = "1.0",
            description = "Maximum global gradient norm, 0 to disable (default: ${DEFAULT-VALUE}).")
    float gradClip;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1337", description = "Random seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--eval-every", paramLabel = "N", description = "Steps between validation and checkpoints (default: 100).")
    Integer evalEvery;

    @Option(names = "--eval-batches", paramLabel = "N", defaultValue = "8",
            description = "Validation batches per measurement (default: ${DEFAULT-VALUE}).")
    int evalBatches;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all processors). Results do not depend on it.")
    Integer threads;

    @Option(names = "--device", paramLabel = "cpu|opencl[:N]", defaultValue = "cpu",
            description = "Compute device: cpu, or OpenCL device N of 'joule devices' (every energy and optimizer,"
                    + " no dropout; default: ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--out", paramLabel = "DIR", description = "Run directory to write (default: runs/run-<time>).")
    Path out;

    @Option(names = "--resume", paramLabel = "DIR", description = "Continue the run in DIR up to --steps.")
    Path resume;

    @Option(names = "--overwrite", description = "Allow --out to replace an existing run.")
    boolean overwrite;

    @Option(names = "--allow-binary", description = "Train on files that look binary, as raw bytes.")
    boolean allowBinary;

    @Option(names = "--sample-tokens", paramLabel = "N", defaultValue = "200",
            description = "Tokens of the sample printed at the end, 0 for none (default: ${DEFAULT-VALUE}).")
    int sampleTokens;

    @Option(names = "--log-every", paramLabel = "N", defaultValue = "10",
            description = "Steps between progress lines when the output is not a terminal (default: ${DEFAULT-VALUE}).")
    int logEvery;

    @Option(names = "--json", description = "Print a JSON summary as the last line of standard output.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        DeviceTrainer.Selection selection = Setup.device(device);
        Setup.threads(threads);
        if (logEvery <= 0) {
            throw new InvalidInputException("--log-every must be a positive integer, got " + logEvery);
        }
        if (sampleTokens < 0) {
            throw new InvalidInputException("--sample-tokens must be zero or positive, got " + sampleTokens);
        }

        GptConfig config;
        TrainSettings settings;
        RunDirectory run;
        RunDirectory.RunConfig saved = null;
        if (resume != null) {
            run = new RunDirectory(resume);
            if (!Files.isDirectory(resume)) {
                throw new InvalidInputException("--resume " + resume + " is not a directory; pass the --out"
                        + " directory of an earlier joule train run");
            }
            saved = run.readConfig();
            config = saved.model();
            checkOptionsOnResume(saved);
            TrainSettings s = relocatedData(saved);
            settings = (steps != null ? s.extendedTo(steps) : s).validate();
            requireDataOnResume(saved, settings);
            if (!selection.isCpu() && config.dropout() != 0f) {
                throw new InvalidInputException("the run in " + resume + " trains with dropout " + config.dropout()
                        + ", and " + device + " has no dropout kernel; resume it with --device cpu");
            }
        } else {
            config = modelOptions.resolve();
            if (!selection.isCpu()) {
                DeviceTrainer.checkSupported(config);
            }
            settings = settings().validate();
            if (settings.warmup() >= settings.steps()) {
                PrintWriter err = spec.commandLine().getErr();
                err.println("joule: note: --warmup " + settings.warmup() + " is not shorter than the run's "
                        + Plural.of(settings.steps(), "step") + ", so the learning rate never reaches --lr "
                        + settings.lr() + "; pass a smaller --warmup to reach it");
                err.flush();
            }
            Path dir = out != null ? out : Path.of("runs", "run-" + LocalDateTime.now()
                    .format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            // Without --out the name gets a suffix when another run has it, so concurrent runs never share one.
            run = out != null ? RunDirectory.forNewRun(dir, overwrite) : RunDirectory.unique(dir);
            if (out != null && run.looksLikeRun() && !overwrite) {
                throw new InvalidInputException("--out " + dir + " already contains a run; pass --overwrite to"
                        + " replace it, --resume " + dir + " to continue it, or choose another directory");
            }
            if (Files.exists(dir) && !Files.isDirectory(dir)) {
                throw new InvalidInputException("--out " + dir + " is a file, not a directory; choose a directory"
                        + " path for the run");
            }
            if (out != null && !run.looksLikeRun() && !overwrite && isNonEmptyDirectory(dir)) {
                throw new InvalidInputException("--out " + dir + " is a folder with other files in it; choose an"
                        + " empty or new directory, or pass --overwrite to write the run files among them");
            }
        }

        Setup.noteModel(config, settings.batch());
        Dataset dataset;
        try {
            dataset = Setup.dataset(settings, config.context());
        } catch (InvalidInputException e) {
            if (saved == null || saved.dataFingerprint() == null) {
                throw e;
            }
            // The run's context is fixed, so advice to change it would not help: the data is what changed.
            String problem = e.getMessage().contains(";") ? e.getMessage().substring(0, e.getMessage().indexOf(';'))
                    : e.getMessage();
            throw new InvalidInputException("the data of the run in " + resume + " does not match it (" + problem
                    + "), but the run started with " + saved.dataFingerprint().describe() + "; restore the"
                    + " original text (or pass its location with --data), or start a new run with --out");
        }
        if (saved != null) {
            checkFingerprintOnResume(saved, settings, dataset);
        }
        Trainer.Result result;
        Gpt model;
        if (selection.isCpu()) {
            Trainer trainer = new Trainer(config, settings, dataset, run);
            Gpt cpuModel = trainer.model();
            model = cpuModel;
            Runnable header = () -> printTable(stdout, config, settings, dataset, cpuModel, run.path(), selection);
            try (Progress progress = new Progress(stdout, settings.steps(), logEvery, !json, header)) {
                result = resume != null ? trainer.resume(progress) : trainer.train(progress);
            }
        } else {
            try (DeviceTrainer trainer = new DeviceTrainer(config, settings, dataset, run, selection)) {
                Gpt deviceModel = trainer.model();
                model = deviceModel;
                Runnable header = () -> printTable(stdout, config, settings, dataset, deviceModel, run.path(),
                        selection);
                try (Progress progress = new Progress(stdout, settings.steps(), logEvery, !json, header)) {
                    result = resume != null ? trainer.resume(progress) : trainer.train(progress);
                }
            }
        }
        stdout.printf(Locale.ROOT, "done: %d steps, val loss %.4f (initial %.4f), %.0f tokens/s, run in %s%n",
                result.steps(), result.finalValLoss(), result.initialValLoss(), result.tokensPerS(), result.dir());

        if (sampleTokens > 0) {
            Generator generator = new Generator(model);
            String prompt = "The ";
            stdout.println("sample:");
            stdout.print(prompt);
            generator.generate(prompt, new Generator.Options(sampleTokens, 0.8f, 0, 0.95f, settings.seed()),
                    piece -> {
                        stdout.print(piece);
                        stdout.flush();
                    });
            stdout.println();
        }
        if (json) {
            JsonObject summary = new JsonObject();
            summary.addProperty("command", "train");
            summary.addProperty("dir", result.dir().toString());
            summary.addProperty("steps", result.steps());
            summary.addProperty("parameters", result.parameters());
            addFinite(summary, "initial_val_loss", result.initialValLoss());
            addFinite(summary, "train_loss", result.finalTrainLoss());
            addFinite(summary, "val_loss", result.finalValLoss());
            addFinite(summary, "tokens_per_s", result.tokensPerS());
            stdout.println(summary);
        }
        stdout.flush();
        return Main.EXIT_OK;
    }

    private static boolean isNonEmptyDirectory(Path dir) {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        try (var entries = Files.list(dir)) {
            return entries.findAny().isPresent();
        } catch (java.io.IOException e) {
            throw new InvalidInputException("cannot read --out " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Adds a number, or JSON null where it is NaN or infinite, which JSON cannot represent. */
    private static void addFinite(JsonObject o, String key, double value) {
        if (Double.isFinite(value)) {
            o.addProperty(key, value);
        } else {
            o.add(key, com.google.gson.JsonNull.INSTANCE);
        }
    }

    /** Returns the absolute, normalized form of a path, so that config.json does not depend on the working directory. */
    private static String absolute(String path) {
        try {
            return Path.of(path).toAbsolutePath().normalize().toString();
        } catch (java.nio.file.InvalidPathException e) {
            throw new InvalidInputException("invalid data path " + path + ": " + e.getMessage(), e);
        }
    }

    private static List<String> absolute(List<String> paths) {
        return paths.stream().map(TrainCommand::absolute).toList();
    }

    /**
     * Rejects options whose value differs from the one saved in the run's config.json. An option given
     * with the saved value changes nothing and is accepted. --data and --val are checked separately,
     * against the data fingerprint.
     */
    private void checkOptionsOnResume(RunDirectory.RunConfig saved) {
        CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
        if (parsed.hasMatchedOption("--overwrite")) {
            throw new InvalidInputException("--overwrite replaces a run, but --resume continues the run in " + resume
                    + "; drop --overwrite to continue it, or drop --resume to start a new run");
        }
        if (parsed.hasMatchedOption("--out") && !samePath(out, resume)) {
            throw new InvalidInputException("--out names the directory of a new run, but --resume continues the run"
                    + " in " + resume + " and writes to it; drop --out to continue it, or drop --resume to start a"
                    + " new run in " + out);
        }

        GptConfig m = saved.model();
        TrainSettings s = saved.train();
        if (parsed.hasMatchedOption("--model") && !modelOptions.resolve().equals(m)) {
            throw differentOnResume("--model", modelOptions.model, "architecture");
        }
        checkSame("--energy", modelOptions.energy, m.energy());
        checkSame("--optimizer", modelOptions.optimizer, m.optimizer());
        checkSame("--layers", modelOptions.layers, m.layers());
        checkSame("--heads", modelOptions.heads, m.heads());
        checkSame("--dim", modelOptions.dim, m.dim());
        checkSame("--context", modelOptions.context, m.context());
        checkSame("--dropout", modelOptions.dropout, m.dropout());

        checkSame("--val-fraction", valFraction, s.valFraction());
        checkSame("--batch", batch, s.batch());
        checkSame("--lr", lr, s.lr());
        checkSame("--min-lr", minLr, s.minLr());
        checkSame("--lr-decay-steps", decaySteps, s.decayHorizon());
        checkSame("--warmup", warmup, s.warmup());
        checkSame("--weight-decay", weightDecay, s.weightDecay());
        checkSame("--grad-clip", gradClip, s.gradClip());
        checkSame("--seed", seed, s.seed());
        checkSame("--eval-every", evalEvery, s.evalEvery());
        checkSame("--eval-batches", evalBatches, s.evalBatches());
        checkSame("--allow-binary", allowBinary, s.allowBinary());
    }

    private void checkSame(String name, Object value, Object savedValue) {
        if (spec.commandLine().getParseResult().hasMatchedOption(name) && !java.util.Objects.equals(value, savedValue)) {
            throw differentOnResume(name, value, savedValue);
        }
    }

    private InvalidInputException differentOnResume(String name, Object value, Object savedValue) {
        return new InvalidInputException(name + " " + value + " differs from the run's " + savedValue + ", which"
                + " --resume takes from " + resume.resolve(RunDirectory.CONFIG) + "; drop " + name
                + ", or start a new run with --out");
    }

    private static boolean samePath(Path a, Path b) {
        return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
    }

    /**
     * Returns the saved settings, with the data paths of --data and --val when they are given. Other
     * paths are accepted only for a run with a data fingerprint, which {@link #checkFingerprintOnResume}
     * then compares with the text they contain.
     */
    private TrainSettings relocatedData(RunDirectory.RunConfig saved) {
        TrainSettings s = saved.train();
        CommandLine.ParseResult parsed = spec.commandLine().getParseResult();
        boolean dataGiven = parsed.hasMatchedOption("--data");
        boolean valGiven = parsed.hasMatchedOption("--val");
        if (!dataGiven && !valGiven) {
            return s;
        }
        List<String> newData = dataGiven ? absolute(data) : s.data();
        String newVal = valGiven ? absolute(val) : s.val();
        if (newData.equals(absolute(s.data())) && java.util.Objects.equals(newVal, s.val() == null ? null
                : absolute(s.val()))) {
            return s;
        }
        if (saved.dataFingerprint() == null) {
            throw new InvalidInputException("--data and --val cannot be checked against the run in " + resume
                    + ", because its config.json has no data fingerprint (the run is older than fingerprints);"
                    + " to use data that has moved, edit the \"data\" and \"val\" paths under \"train\" in "
                    + resume.resolve(RunDirectory.CONFIG) + ", or drop --data and --val");
        }
        if (s.data().isEmpty() && dataGiven) {
            throw new InvalidInputException("--data cannot be given on resume: the run in " + resume
                    + " trains on the built-in corpus; drop --data, or start a new run with --out");
        }
        return s.withData(newData, newVal);
    }

    /** Rejects a resume whose data paths do not exist, with the ways to point the run at moved data. */
    private void requireDataOnResume(RunDirectory.RunConfig saved, TrainSettings s) {
        List<String> paths = new ArrayList<>(s.data());
        if (s.val() != null) {
            paths.add(s.val());
        }
        for (String p : paths) {
            if (!Files.exists(Path.of(p))) {
                Path configFile = resume.resolve(RunDirectory.CONFIG);
                String fix = saved.dataFingerprint() != null
                        ? "if the text has moved, pass its new location with --data (and --val), which --resume"
                                + " accepts when the text matches the run's data fingerprint, or edit the paths under"
                                + " \"train\" in " + configFile
                        : "if the text has moved, edit the \"data\" and \"val\" paths under \"train\" in "
                                + configFile + " (this run has no data fingerprint, so --data is not accepted"
                                + " on resume)";
                throw new InvalidInputException("data path not found: " + p + ", which the run in " + resume
                        + " trains on; " + fix);
            }
        }
    }

    /**
     * Rejects a resume whose data differs from the data the run started with. Runs written before data
     * fingerprints were saved have none and are not checked. The built-in corpus changes with every
     * build, so a change there only logs a warning.
     */
    private void checkFingerprintOnResume(RunDirectory.RunConfig saved, TrainSettings s, Dataset dataset) {
        DataFingerprint expected = saved.dataFingerprint();
        if (expected == null) {
            return;
        }
        DataFingerprint actual = dataset.fingerprint();
        if (actual.equals(expected)) {
            return;
        }
        if (s.data().isEmpty() && s.val() == null) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("joule: warning: the built-in corpus of this build differs from the one the run in "
                    + resume + " started with (" + expected.describe() + ", now " + actual.describe()
                    + "); the resumed run trains on the new one");
            err.flush();
            return;
        }
        String files = String.join(", ", s.data()) + (s.val() != null ? " (validation: " + s.val() + ")" : "");
        throw new InvalidInputException("the data of the run in " + resume + " has changed: " + files + " now give "
                + actual.describe() + ", but the run started with " + expected.describe() + "; restore the"
                + " original text (or pass its location with --data), or start a new run with --out");
    }

    private TrainSettings settings() {
        TrainSettings d = TrainSettings.defaults();
        int n = steps != null ? steps : d.steps();
        float peak = lr != null ? lr : d.lr();
        int horizon = decaySteps > 0 ? decaySteps : n;
        int warm = warmup != null ? warmup : Math.min(d.warmup(), Math.max(0, horizon / 10));
        return new TrainSettings(absolute(data), val == null ? null : absolute(val), valFraction, n, decaySteps, batch != null ? batch : d.batch(), peak,
                minLr != null ? minLr : (Float.isFinite(peak) ? peak / 10 : peak), warm, weightDecay, gradClip, seed,
                evalEvery != null ? evalEvery : Math.min(d.evalEvery(), Math.max(1, n)), evalBatches, allowBinary);
    }

    private static void printTable(PrintWriter out, GptConfig c, TrainSettings s, Dataset d, Gpt model, Path dir,
                                   DeviceTrainer.Selection selection) {
        java.util.LinkedHashMap<String, String> rows = new java.util.LinkedHashMap<>();
        rows.put("run directory", dir.toString());
        rows.put("model", Plural.of(c.layers(), "layer") + ", " + Plural.of(c.heads(), "head") + ", width " + c.dim());
        rows.put("context", Integer.toString(c.context()));
        rows.put("attention", c.energy() + " / " + c.optimizer());
        rows.put("parameters", String.format(Locale.ROOT, "%,d", model.parameterCount()));
        rows.put("data", s.data().isEmpty() ? "built-in corpus" : String.join(", ", s.data()));
        rows.put("train / val tokens", String.format(Locale.ROOT, "%,d / %,d", d.trainTokens(), d.valTokens()));
        rows.put("steps x batch", s.steps() + " x " + s.batch());
        rows.put("lr (warmup, min)", String.format(Locale.ROOT, "%.2e (%d, %.2e)", s.lr(), s.warmup(), s.minLr()));
        rows.put("weight decay, clip", s.weightDecay() + ", " + s.gradClip());
        rows.put("seed", Long.toString(s.seed()));
        rows.put("device", selection.describe());
        rows.put("threads", Integer.toString(dev.joule.engine.kernels.Parallel.threads()));
        rows.put("kernels", dev.joule.engine.kernels.Simd.describe());
        int width = 28;
        for (String v : rows.values()) {
            width = Math.max(width, v.length());
        }
        String rule = "+----------------------+" + "-".repeat(width + 2) + "+";
        out.println(rule);
        for (var e : rows.entrySet()) {
            out.printf(Locale.ROOT, "| %-20s | %-" + width + "s |%n", e.getKey(), e.getValue());
        }
        out.println(rule);
        out.flush();
    }

    /** Progress bar on a terminal, one fixed-format line every few steps otherwise. */
    private static final class Progress implements Trainer.Listener, AutoCloseable {
        private final PrintWriter out;
        private final int steps;
        private final int logEvery;
        private final boolean bar;
        private ProgressBar progressBar;
        private Runnable header;

        /**
         * Prints the settings table before the first progress output. It waits until then because a
         * resume loads and checks the checkpoint first, and a damaged one should fail before the table.
         */
        private void printHeaderOnce() {
            if (header != null) {
                header.run();
                header = null;
            }
        }

        Progress(PrintWriter out, int steps, int logEvery, boolean allowBar, Runnable header) {
            this.header = header;
            this.out = out;
            this.steps = steps;
            this.logEvery = logEvery;
            this.bar = allowBar && System.console() != null && System.console().isTerminal();
        }

        @Override
        public void onStart(int fromStep, int total, long parameters) {
            printHeaderOnce();
            if (bar) {
                progressBar = new ProgressBarBuilder().setTaskName("train").setInitialMax(total)
                        .setStyle(ProgressBarStyle.ASCII).startsFrom(fromStep, java.time.Duration.ZERO)
                        .setUpdateIntervalMillis(250).build();
            }
        }

        @Override
        public void onStep(StepMetrics m) {
            printHeaderOnce();
            if (progressBar != null) {
                progressBar.stepTo(m.step());
                progressBar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f %.0f tok/s", m.trainLoss(),
                        m.tokensPerS()));
                return;
            }
            if (m.step() % logEvery == 0 || m.step() == steps) {
                out.printf(Locale.ROOT, "step %6d/%d | loss %.4f | lr %.2e | norm %7.3f | %7.1f ms | %7.0f tok/s%n",
                        m.step(), steps, m.trainLoss(), m.lr(), m.gradNorm(), m.ms(), m.tokensPerS());
                out.flush();
            }
        }

        @Override
        public void onEval(int step, double valLoss) {
            printHeaderOnce();
            String line = String.format(Locale.ROOT, "step %6d/%d | val loss %.4f", step, steps, valLoss);
            if (progressBar != null) {
                progressBar.pause();
                out.println();
                out.println(line);
                out.flush();
                progressBar.resume();
            } else {
                out.println(line);
                out.flush();
            }
        }

        @Override
        public void close() {
            if (progressBar != null) {
                progressBar.close();
            }
        }
    }

}
