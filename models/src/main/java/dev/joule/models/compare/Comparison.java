package dev.joule.models.compare;

import com.google.gson.JsonParseException;
import dev.joule.engine.Autograd;
import dev.joule.layers.EnergyTrace;
import dev.joule.models.InvalidInputException;
import dev.joule.models.data.BatchSource;
import dev.joule.models.data.Dataset;
import dev.joule.models.gpt.Block;
import dev.joule.models.gpt.Gpt;
import dev.joule.models.gpt.GptConfig;
import dev.joule.models.lis.LisTask;
import dev.joule.models.train.DivergedException;
import dev.joule.models.train.RunDirectory;
import dev.joule.models.train.StepMetrics;
import dev.joule.models.train.Trainer;
import dev.joule.models.train.TrainerState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Trains every variant of a {@link CompareSpec} once per seed and measures each run.
 *
 * <p>Run (variant v, seed s) lives in {@code dir/runs/<v>/seed-<s>/} as an ordinary run directory, trained
 * by {@link Trainer} with seed s: every variant of seed s starts from the same initialization seed and
 * sees the same batches. A run whose trainer.json is at the final step is not trained again, and one that
 * stopped at an earlier checkpoint continues with {@link Trainer#resume}.
 */
public final class Comparison {
    /** Receives progress; the command line prints it. */
    public interface Listener {
        /**
         * Called before each run.
         *
         * @param index the run's position, from 1
         * @param total runs in the comparison
         * @param action "train", "resume from step N" or "finished, skipped"
         */
        default void onRun(Variant v, int seed, int index, int total, String action) {}

        default void onEval(Variant v, int seed, int step, double valLoss) {}
    }

    /** Rows of the LIS validation set used for exact-match accuracy. */
    public static final int LIS_ACCURACY_ROWS = 512;

    private final CompareSpec spec;
    private final BatchSource data;
    private final LisTask lis;
    private final Path dir;

    /**
     * @param data the batches of every run
     * @param lis the same source when the task is LIS, for exact-match accuracy; null for text
     */
    /** Wall time of untimed training per variant before the first timed run, and its step limit. */
    private static final double WARMUP_SECONDS = 1.5;
    private static final int MAX_WARMUP_STEPS = 200;

    public Comparison(CompareSpec spec, BatchSource data, LisTask lis, Path dir) {
        this.spec = spec;
        this.data = data;
        this.lis = lis;
        this.dir = dir;
    }

    private final List<String> diverged = new ArrayList<>();

    /** Returns one line per run of the last {@link #run} that diverged; their results are missing. */
    public List<String> diverged() {
        return List.copyOf(diverged);
    }

    /** Returns the directory of one run. */
    public Path runDir(Variant v, int seed) {
        return dir.resolve("runs").resolve(v.name()).resolve("seed-" + seed);
    }

    /** Trains or resumes every run that is not finished, then returns the summaries of all runs. */
    public List<RunSummary> run(Listener listener) {
        // Every check of the input comes before compare.json, so a rejected comparison writes nothing.
        data.checkBatch(spec.batch());
        boolean existed = Files.exists(dir);
        boolean fresh = !Files.exists(dir.resolve(CompareSpec.FILE));
        spec.saveOrCheck(dir);
        try {
            return runAll(listener);
        } catch (RuntimeException | Error e) {
            if (fresh) {
                removeIfNothingSaved(existed);
            }
            throw e;
        }
    }

    /**
     * Removes what a new comparison wrote when it failed before any run saved a checkpoint, so that
     * compare.json does not block a rerun with corrected options.
     */
    private void removeIfNothingSaved(boolean keepDir) {
        Path runs = dir.resolve("runs");
        if (Files.exists(runs)) {
            try (var paths = Files.walk(runs)) {
                if (paths.anyMatch(p -> p.getFileName().toString().equals(RunDirectory.TRAINER))) {
                    return;
                }
            } catch (IOException e) {
                return;
            }
            deleteRecursively(runs);
        }
        try {
            Files.deleteIfExists(dir.resolve(CompareSpec.FILE));
            if (!keepDir) {
                Files.deleteIfExists(dir);
            }
        } catch (IOException e) {
            // The comparison has failed already; a leftover file is reported by the rerun.
        }
    }

    private List<RunSummary> runAll(Listener listener) {
        List<RunSummary> out = new ArrayList<>();
        int total = spec.variants().size() * spec.seeds();
        int index = 0;
        if (anyUnfinished()) {
            warmUp();
        }
        diverged.clear();
        for (Variant v : spec.variants()) {
            for (int seed = 0; seed < spec.seeds(); seed++) {
                index++;
                try {
                    out.add(runOne(v, seed, index, total, listener));
                } catch (DivergedException e) {
                    // One unstable variant must not cost the results of the others.
                    diverged.add(v.name() + " seed " + seed + ": " + e.reason());
                    listener.onRun(v, seed, index, total, "diverged at step " + e.step());
                }
            }
        }
        return out;
    }

    private boolean anyUnfinished() {
        for (Variant v : spec.variants()) {
            for (int seed = 0; seed < spec.seeds(); seed++) {
                if (finishedStep(new RunDirectory(runDir(v, seed))) < spec.steps()) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Trains every variant for a few untimed steps in a scratch directory, so that the JIT has compiled
     * the shared kernels before the first timed run. Without it the first run (the baseline, seed 0)
     * pays for compilation and looks slower than the variants measured after it.
     */
    private void warmUp() {
        Path scratch;
        try {
            scratch = Files.createTempDirectory("joule-compare-warmup");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("failed to create a scratch directory: " + e.getMessage(), e);
        }
        try {
            for (Variant v : spec.variants()) {
                // A short probe gives the step time, then the warm-up runs for about WARMUP_SECONDS.
                Trainer.Result probe = warmUpRun(v, Math.min(3, spec.steps()), scratch.resolve(v.name() + "-probe"));
                double stepSeconds = spec.batch() * (double) spec.modelOf(v).context()
                        / Math.max(probe.tokensPerS(), 1e-9);
                int steps = (int) Math.max(3, Math.min(MAX_WARMUP_STEPS, WARMUP_SECONDS / stepSeconds));
                warmUpRun(v, Math.min(steps, spec.steps()), scratch.resolve(v.name()));
            }
        } catch (dev.joule.models.train.DivergedException e) {
            // A variant that diverges in warm-up fails again in its real run, which reports it.
        } finally {
            deleteRecursively(scratch);
        }
    }

    private Trainer.Result warmUpRun(Variant v, int steps, Path where) {
        var s = spec.settingsOf(0);
        var settings = new dev.joule.models.train.TrainSettings(s.data(), s.val(), s.valFraction(), steps, 0, s.batch(),
                s.lr(), s.minLr(), Math.min(s.warmup(), steps / 2), s.weightDecay(), s.gradClip(), s.seed(), steps, 1,
                s.allowBinary());
        return new Trainer(spec.modelOf(v), settings, data, new RunDirectory(where)).train(new Trainer.Listener() {});
    }

    private static void deleteRecursively(Path root) {
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // A leftover scratch directory under the temporary folder is harmless.
        }
    }

    private RunSummary runOne(Variant v, int seed, int index, int total, Listener listener) {
        GptConfig config = spec.modelOf(v);
        RunDirectory run = new RunDirectory(runDir(v, seed));
        int done = finishedStep(run);
        Gpt model;
        if (done >= spec.steps()) {
            listener.onRun(v, seed, index, total, "finished, skipped");
            RunSummary saved = readSummary(run);
            if (saved != null) {
                return saved;
            }
            model = new Gpt(config, seed);
            model.loadStateDict(run.readTensors(RunDirectory.MODEL, done));
        } else {
            Trainer trainer = new Trainer(config, spec.settingsOf(seed), data, run);
            Trainer.Listener progress = new Trainer.Listener() {
                @Override
                public void onEval(int step, double valLoss) {
                    listener.onEval(v, seed, step, valLoss);
                }
            };
            if (done > 0) {
                listener.onRun(v, seed, index, total, "resume from step " + done);
                trainer.resume(progress);
            } else {
                listener.onRun(v, seed, index, total, "train");
                trainer.train(progress);
            }
            model = trainer.model();
        }
        RunSummary summary = measure(v, seed, model, run);
        RunDirectory.writeAtomically(run.file(RunSummary.FILE), CompareSpec.GSON.toJson(summary) + "\n");
        return summary;
    }

    /** Returns the step of the run's last checkpoint, or 0 when it has none. */
    private static int finishedStep(RunDirectory run) {
        if (!Files.exists(run.file(RunDirectory.TRAINER))) {
            return 0;
        }
        TrainerState state = run.readTrainerState();
        return state.step();
    }

    private static RunSummary readSummary(RunDirectory run) {
        Path p = run.file(RunSummary.FILE);
        if (!Files.exists(p)) {
            return null;
        }
        try {
            return CompareSpec.GSON.fromJson(Files.readString(p, StandardCharsets.UTF_8), RunSummary.class);
        } catch (IOException | JsonParseException e) {
            // A damaged summary is measured again from the saved weights.
            return null;
        }
    }

    private RunSummary measure(Variant v, int seed, Gpt model, RunDirectory run) {
        List<StepMetrics> metrics = Trainer.readMetrics(run.file(RunDirectory.METRICS));
        List<RunSummary.CurvePoint> curve = new ArrayList<>();
        List<Double> stepMs = new ArrayList<>();
        double wallMs = 0;
        double finalVal = Double.NaN;
        // The first steps of a run still wait for the JIT; leave a fifth of them out of the median.
        int skip = Math.max(3, spec.steps() / 5);
        for (StepMetrics m : metrics) {
            if (m.step() > 0) {
                wallMs += m.ms();
                if (m.step() > skip || metrics.size() <= skip + 1) {
                    stepMs.add(m.ms());
                }
            }
            if (m.valLoss() != null) {
                curve.add(new RunSummary.CurvePoint(m.step(), m.valLoss(), wallMs / 1000));
                finalVal = m.valLoss();
            }
        }
        if (curve.isEmpty()) {
            throw new InvalidInputException(run.file(RunDirectory.METRICS) + " contains no validation loss; delete "
                    + run.path() + " and rerun to train it again");
        }

        Dataset.Batch fixed = data.valBatch(0, spec.batch());
        double[][] energy = traceEnergy(model, fixed);
        long heap = HeapProbe.retainedBytes(model, data.trainBatch(seed, 0, spec.batch()));
        double accuracy = lis == null ? Double.NaN : lis.exactMatch(model, spec.batch(), LIS_ACCURACY_ROWS);
        return new RunSummary(v.name(), seed, curve.get(curve.size() - 1).step(), model.parameterCount(), finalVal,
                curve, median(stepMs), heap, energy[0], energy[1], accuracy);
    }

    /** Returns {before, after} per layer, each the mean over heads of the traced energy on {@code batch}. */
    static double[][] traceEnergy(Gpt model, Dataset.Batch batch) {
        Block[] blocks = model.blocks();
        EnergyTrace trace = new EnergyTrace();
        model.train(false);
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            for (Block b : blocks) {
                b.attention().setTrace(trace);
            }
            model.forward(batch.inputs(), batch.batch(), batch.context(), 0);
        } finally {
            for (Block b : blocks) {
                b.attention().setTrace(null);
            }
            model.train(true);
        }
        double[] before = new double[blocks.length];
        double[] after = new double[blocks.length];
        int[] heads = new int[blocks.length];
        for (EnergyTrace.Entry e : trace.entries()) {
            before[e.layer()] += e.before();
            after[e.layer()] += e.after();
            heads[e.layer()]++;
        }
        for (int l = 0; l < blocks.length; l++) {
            before[l] = heads[l] == 0 ? Double.NaN : before[l] / heads[l];
            after[l] = heads[l] == 0 ? Double.NaN : after[l] / heads[l];
        }
        return new double[][] {before, after};
    }

    private static double median(List<Double> values) {
        if (values.isEmpty()) {
            return Double.NaN;
        }
        double[] sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
