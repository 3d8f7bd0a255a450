package dev.joule.models.train;

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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The training loop: AdamW with warmup and cosine decay, clipping by global norm, periodic validation
 * and checkpoints.
 *
 * <p>Reproducibility: the batch and the dropout masks of step s are functions of (seed, s) alone, and
 * every kernel is deterministic, so N steps, a checkpoint and a resume for N more give the same weights
 * and losses bit for bit as 2N steps at once.
 */
public final class Trainer {

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
    private final TrainingLoop loop;

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
        this.loop = new TrainingLoop(config, settings, data, run, new TrainingLoop.Backend() {
            @Override
            public double[] step(Dataset.Batch batch, int step, float lr) {
                return Trainer.this.step(batch, step, lr);
            }

            @Override
            public double validationLoss() {
                return Trainer.this.validationLoss();
            }

            @Override
            public Map<String, Tensor> weights() {
                return model.stateDict();
            }

            @Override
            public Map<String, Tensor> optimizerState() {
                return optimizer.state();
            }

            @Override
            public long parameterCount() {
                return model.parameterCount();
            }
        });
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
        return loop.start(listener);
    }

    /** Continues a run from its last checkpoint up to {@code settings.steps()}. */
    public Result resume(Listener listener) {
        TrainerState state = run.readTrainerState();
        loop.checkResumable(state);
        RunDirectory.loadWeights(model, run, state.step());
        try {
            optimizer.loadState(run.readTensors(RunDirectory.OPTIMIZER, state.step()), state.step());
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(run.file(RunDirectory.OPTIMIZER) + " does not match the model: "
                    + e.getMessage() + "; start a new run", e);
        }
        return loop.resume(state, listener);
    }

    /**
     * Runs one step on the CPU. Every activation and gradient comes from the arena and is dead when it
     * closes. A non-finite loss or gradient norm returns before the optimizer touches the weights.
     */
    private double[] step(Dataset.Batch batch, int step, float lr) {
        try (Buffers.Scope ignored = arena.open()) {
            model.train(true);
            Tensor loss = model.loss(batch.inputs(), batch.targets(), batch.batch(), config.context(), step);
            double lossValue = loss.item();
            if (!Double.isFinite(lossValue)) {
                return new double[] {lossValue, Double.NaN};
            }
            loss.backward();
            double norm = Schedules.clipGradNorm(model.parameters(), settings.gradClip());
            if (Double.isFinite(norm)) {
                optimizer.step(lr);
            }
            model.zeroGrad();
            return new double[] {lossValue, norm};
        }
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

    /** Reads metrics.jsonl; a missing file reads as empty. */
    public static List<StepMetrics> readMetrics(Path p) {
        List<StepMetrics> out = new ArrayList<>();
        if (!Files.exists(p)) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(p, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    out.add(TrainingLoop.LINE.fromJson(line, StepMetrics.class));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("failed to read " + p + ": " + e.getMessage(), e);
        }
        return out;
    }
}
