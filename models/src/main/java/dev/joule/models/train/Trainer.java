package dev.joule.models.train;

import com.google.gson.Gson;
import dev.joule.engine.Autograd;
import dev.joule.engine.Buffers;
import dev.joule.engine.Tensor;
import dev.joule.engine.optim.AdamW;
import dev.joule.engine.optim.Schedules;
import dev.joule.models.InvalidInputException;
import dev.joule.models.data.BatchSource;
import dev.joule.models.data.Dataset;
import dev.joule.models.gpt.Gpt;
import dev.joule.models.gpt.GptConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The training loop: AdamW with warmup and cosine decay, clipping by global norm, periodic validation
 * and checkpoints.
 *
 * <p>Reproducibility: the batch and the dropout masks of step s are functions of (seed, s) alone, and
 * every kernel is deterministic, so N steps, a checkpoint and a resume for N more give the same weights
 * and losses bit for bit as 2N steps at once.
 */
public final class Trainer {
    private static final Gson LINE = new com.google.gson.GsonBuilder()
            .setFieldNamingPolicy(com.google.gson.FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES).create();

    /** Receives progress; the command line prints it, tests ignore it. */
    public interface Listener {
        default void onStart(int fromStep, int steps, long parameters) {}

        default void onStep(StepMetrics metrics) {}

        default void onEval(int step, double valLoss) {}

        default void onCheckpoint(int step, Path dir) {}
    }

    /** The summary of a finished run. */
    public record Result(int steps, double initialValLoss, double finalTrainLoss, double finalValLoss,
                         double tokensPerS, long parameters, Path dir) {}

    private final Gpt model;
    private final AdamW optimizer;
    private final BatchSource data;
    private final GptConfig config;
    private final TrainSettings settings;
    private final RunDirectory run;
    private final Buffers.Arena arena = new Buffers.Arena();

    /**
     * Builds the model and optimizer. With {@code resume}, loads the weights, optimizer moments and step
     * from {@code run}; otherwise the directory receives a fresh config.json.
     */
    public Trainer(GptConfig config, TrainSettings settings, BatchSource data, RunDirectory run) {
        this.config = config.validate();
        this.settings = settings.validate();
        this.data = data;
        this.run = run;
        this.model = new Gpt(config, settings.seed());
        this.optimizer = new AdamW(model.parameters(), 0.9f, 0.95f, 1e-8f, settings.weightDecay());
    }

    public Gpt model() {
        return model;
    }

    /** Returns how many buffers the last training step could not take from the reuse pool. */
    public int lastStepNewBuffers() {
        return arena.allocatedCount();
    }

    /** Returns the bytes of activation and gradient buffers that training steps reuse. */
    public long reusedBufferBytes() {
        return arena.pooledBytes();
    }

    /** Runs from step 0, writing a new run directory. */
    public Result train(Listener listener) {
        try {
            Files.createDirectories(run.path());
        } catch (IOException e) {
            throw new InvalidInputException("cannot create the output directory " + run.path() + ": "
                    + e.getMessage() + "; pass a writable path with --out", e);
        }
        run.writeConfig(new RunDirectory.RunConfig(config, settings));
        deleteIfExists(run.file(RunDirectory.METRICS));
        double initialVal = validationLoss();
        appendMetrics(new StepMetrics(0, null, initialVal, 0, 0, 0, 0));
        listener.onEval(0, initialVal);
        return loop(0, 0L, initialVal, listener);
    }

    /** Continues a run from its last checkpoint up to {@code settings.steps()}. */
    public Result resume(Listener listener) {
        TrainerState state = run.readTrainerState();
        RunDirectory.loadWeights(model, run, state.step());
        try {
            optimizer.loadState(run.readTensors(RunDirectory.OPTIMIZER, state.step()), state.step());
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(run.file(RunDirectory.OPTIMIZER) + " does not match the model: "
                    + e.getMessage() + "; start a new run", e);
        }
        if (state.step() >= settings.steps()) {
            throw new InvalidInputException("the run in " + run.path() + " already has " + state.step()
                    + " steps, and --steps is " + settings.steps() + "; pass a --steps larger than "
                    + state.step() + " to continue it");
        }
        truncateMetrics(state.step());
        // The new --steps is part of the run's settings from now on.
        run.writeConfig(new RunDirectory.RunConfig(config, settings));
        double initialVal = readInitialValLoss();
        return loop(state.step(), state.tokensSeen(), initialVal, listener);
    }

    private Result loop(int start, long tokensSeen, double initialVal, Listener listener) {
        int b = settings.batch();
        int t = config.context();
        listener.onStart(start, settings.steps(), model.parameterCount());
        double lastTrain = Double.NaN;
        double lastVal = Double.NaN;
        double tokensPerSSum = 0;
        double allTokensPerSSum = 0;
        int timedSteps = 0;
        int lastSaved = start;
        for (int step = start; step < settings.steps(); step++) {
            long t0 = System.nanoTime();
            double lossValue;
            double norm;
            float lr = Schedules.warmupCosine(step, settings.warmup(), settings.decayHorizon(), settings.lr(),
                    settings.minLr());
            // Every activation and gradient of the step comes from the arena and is dead when it closes.
            try (Buffers.Scope ignored = arena.open()) {
                Dataset.Batch batch = data.trainBatch(settings.seed(), step, b);
                model.train(true);
                Tensor loss = model.loss(batch.inputs(), batch.targets(), b, t, step);
                lossValue = loss.item();
                if (!Double.isFinite(lossValue)) {
                    throw new DivergedException(step + 1, "the training loss", lossValue,
                            checkpointName(lastSaved));
                }
                loss.backward();
                norm = Schedules.clipGradNorm(model.parameters(), settings.gradClip());
                if (!Double.isFinite(norm)) {
                    throw new DivergedException(step + 1, "the gradient norm", norm, checkpointName(lastSaved));
                }
                optimizer.step(lr);
                model.zeroGrad();
            }
            tokensSeen += (long) b * t;
            double ms = (System.nanoTime() - t0) / 1e6;
            double tokensPerS = b * t / (ms / 1000.0);
            allTokensPerSSum += tokensPerS;
            // The first steps warm up the JIT; leave them out of the average.
            if (step - start >= 3) {
                tokensPerSSum += tokensPerS;
                timedSteps++;
            }
            lastTrain = lossValue;
            int done = step + 1;
            boolean evaluate = done % settings.evalEvery() == 0 || done == settings.steps();
            Double val = null;
            if (evaluate) {
                lastVal = validationLoss();
                if (!Double.isFinite(lastVal)) {
                    // The update of this step broke the weights: do not save them.
                    throw new DivergedException(done, "the validation loss", lastVal, checkpointName(lastSaved));
                }
                val = lastVal;
            }
            StepMetrics metrics = new StepMetrics(done, lossValue, val, lr, norm, tokensPerS, ms);
            appendMetrics(metrics);
            listener.onStep(metrics);
            if (evaluate) {
                listener.onEval(done, lastVal);
                save(done, tokensSeen, lastTrain, lastVal);
                lastSaved = done;
                listener.onCheckpoint(done, run.path());
            }
        }
        // Runs too short to leave the warm-up out average every step they have.
        double avg = timedSteps > 0 ? tokensPerSSum / timedSteps
                : allTokensPerSSum / Math.max(1, settings.steps() - start);
        return new Result(settings.steps(), initialVal, lastTrain, lastVal, avg, model.parameterCount(), run.path());
    }

    private static String checkpointName(int step) {
        return step == 0 ? "none saved yet" : "step " + step;
    }

    /** Returns the mean loss over {@code settings.evalBatches()} fixed validation batches. */
    public double validationLoss() {
        model.train(false);
        int b = settings.batch();
        int t = config.context();
        int batches = Math.min(settings.evalBatches(), Math.max(1, data.valBatchCount(b)));
        double sum = 0;
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            for (int i = 0; i < batches; i++) {
                Dataset.Batch batch = data.valBatch(i, b);
                sum += model.loss(batch.inputs(), batch.targets(), batch.batch(), t, 0).item();
            }
        }
        model.train(true);
        return sum / batches;
    }

    private void save(int step, long tokensSeen, double trainLoss, double valLoss) {
        // Tensors first, trainer.json last: trainer.json names the step that the tensors must carry.
        run.writeTensors(RunDirectory.MODEL, model.stateDict(), step);
        run.writeTensors(RunDirectory.OPTIMIZER, optimizer.state(), step);
        run.writeTrainerState(new TrainerState(step, settings.seed(), tokensSeen, trainLoss, valLoss));
        LossPlot.write(run.file(RunDirectory.METRICS), run.file(RunDirectory.PLOT));
    }

    private void appendMetrics(StepMetrics m) {
        Path p = run.file(RunDirectory.METRICS);
        try {
            Files.writeString(p, LINE.toJson(m) + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("failed to append to " + p + ": " + e.getMessage(), e);
        }
    }

    /** Drops metric lines written after the checkpoint a resume starts from. */
    private void truncateMetrics(int step) {
        Path p = run.file(RunDirectory.METRICS);
        List<String> kept = new ArrayList<>();
        for (StepMetrics m : readMetrics(p)) {
            if (m.step() <= step) {
                kept.add(LINE.toJson(m));
            }
        }
        RunDirectory.writeAtomically(p, kept.isEmpty() ? "" : String.join("\n", kept) + "\n");
    }

    private double readInitialValLoss() {
        for (StepMetrics m : readMetrics(run.file(RunDirectory.METRICS))) {
            if (m.step() == 0 && m.valLoss() != null) {
                return m.valLoss();
            }
        }
        return Double.NaN;
    }

    /** Reads metrics.jsonl; a missing file reads as empty. */
    public static List<StepMetrics> readMetrics(Path p) {
        List<StepMetrics> out = new ArrayList<>();
        if (!Files.exists(p)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    out.add(LINE.fromJson(line, StepMetrics.class));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("failed to read " + p + ": " + e.getMessage(), e);
        }
        return out;
    }

    private static void deleteIfExists(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            throw new UncheckedIOException("failed to delete " + p + ": " + e.getMessage(), e);
        }
    }
}
