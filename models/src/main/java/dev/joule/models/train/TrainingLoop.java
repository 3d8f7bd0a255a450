package dev.joule.models.train;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import dev.joule.engine.Tensor;
import dev.joule.engine.optim.Schedules;
import dev.joule.models.InvalidInputException;
import dev.joule.models.data.BatchSource;
import dev.joule.models.data.Dataset;
import dev.joule.models.gpt.GptConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The device-independent part of training: the schedule, divergence checks, validation, metrics.jsonl,
 * checkpoints and the loss plot. {@link Trainer} (CPU) and {@link DeviceTrainer} (OpenCL) supply the
 * step itself through {@link Backend}, so both write the same files in the same order.
 */
final class TrainingLoop {
    static final Gson LINE = new GsonBuilder()
            .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES).create();

    /** The device-specific part of training: one optimizer step, the validation loss and the state to save. */
    interface Backend {
        /**
         * Runs the optimizer step {@code step} (counting from 0) on {@code batch} at learning rate
         * {@code lr} and returns {loss, gradient norm before clipping}. A backend that can check first
         * leaves the weights untouched when either value is not finite.
         */
        double[] step(Dataset.Batch batch, int step, float lr);

        double validationLoss();

        Map<String, Tensor> weights();

        Map<String, Tensor> optimizerState();

        long parameterCount();
    }

    private final GptConfig config;
    private final TrainSettings settings;
    private final BatchSource data;
    private final RunDirectory run;
    private final Backend backend;

    TrainingLoop(GptConfig config, TrainSettings settings, BatchSource data, RunDirectory run, Backend backend) {
        this.config = config;
        this.settings = settings;
        this.data = data;
        this.run = run;
        this.backend = backend;
    }

    /**
     * Starts a new run: config.json, the loss of the fresh model as step 0, then every step. The input is
     * checked before the first write, and the run is staged until its first checkpoint (see
     * {@link RunDirectory}), so a run that fails before then leaves the directory as it found it.
     */
    Trainer.Result start(Trainer.Listener listener) {
        data.checkBatch(settings.batch());
        run.begin();
        try {
            run.writeConfig(new RunDirectory.RunConfig(config, settings, data.fingerprint()));
            double initialVal = backend.validationLoss();
            appendMetrics(new StepMetrics(0, null, initialVal, 0, 0, 0, 0));
            listener.onEval(0, initialVal);
            return loop(0, 0L, initialVal, listener);
        } catch (Throwable e) {
            if (run.isStaged()) {
                run.abandon();
            }
            throw e;
        }
    }

    /** Rejects a resume that has nothing left to do, before anything is loaded or written. */
    void checkResumable(TrainerState state) {
        if (state.step() >= settings.steps()) {
            throw new InvalidInputException("the run in " + run.path() + " already has " + state.step()
                    + " steps, and --steps is " + settings.steps() + "; pass a --steps larger than "
                    + state.step() + " to continue it");
        }
    }

    /** Continues from the checkpoint of {@code state}, whose weights the backend has already loaded. */
    Trainer.Result resume(TrainerState state, Trainer.Listener listener) {
        checkResumable(state);
        truncateMetrics(state.step());
        // The new --steps is part of the run's settings from now on.
        run.writeConfig(new RunDirectory.RunConfig(config, settings, data.fingerprint()));
        return loop(state.step(), state.tokensSeen(), readInitialValLoss(), listener);
    }

    private Trainer.Result loop(int start, long tokensSeen, double initialVal, Trainer.Listener listener) {
        int b = settings.batch();
        int t = config.context();
        listener.onStart(start, settings.steps(), backend.parameterCount());
        double lastTrain = Double.NaN;
        double lastVal = Double.NaN;
        double tokensPerSSum = 0;
        double allTokensPerSSum = 0;
        int timedSteps = 0;
        int lastSaved = start;
        for (int step = start; step < settings.steps(); step++) {
            long t0 = System.nanoTime();
            float lr = Schedules.warmupCosine(step, settings.warmup(), settings.decayHorizon(), settings.lr(),
                    settings.minLr());
            double[] outcome = backend.step(data.trainBatch(settings.seed(), step, b), step, lr);
            double lossValue = outcome[0];
            double norm = outcome[1];
            if (!Double.isFinite(lossValue)) {
                throw new DivergedException(step + 1, "the training loss", lossValue, lastSaved, run.path());
            }
            if (!Double.isFinite(norm)) {
                throw new DivergedException(step + 1, "the gradient norm", norm, lastSaved, run.path());
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
                lastVal = backend.validationLoss();
                if (!Double.isFinite(lastVal)) {
                    // The update of this step broke the weights: do not save them.
                    throw new DivergedException(done, "the validation loss", lastVal, lastSaved, run.path());
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
        return new Trainer.Result(settings.steps(), initialVal, lastTrain, lastVal, avg, backend.parameterCount(),
                run.path());
    }

    private void save(int step, long tokensSeen, double trainLoss, double valLoss) {
        // Tensors first, trainer.json last: trainer.json names the step that the tensors must carry.
        run.writeTensors(RunDirectory.MODEL, backend.weights(), step);
        run.writeTensors(RunDirectory.OPTIMIZER, backend.optimizerState(), step);
        run.writeTrainerState(new TrainerState(step, settings.seed(), tokensSeen, trainLoss, valLoss));
        LossPlot.write(run.file(RunDirectory.METRICS), run.file(RunDirectory.PLOT));
        if (run.isStaged()) {
            // The first checkpoint is complete: the new run replaces whatever the directory held.
            run.commit();
        }
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
        for (StepMetrics m : Trainer.readMetrics(p)) {
            if (m.step() <= step) {
                kept.add(LINE.toJson(m));
            }
        }
        RunDirectory.writeAtomically(p, kept.isEmpty() ? "" : String.join("\n", kept) + "\n");
    }

    private double readInitialValLoss() {
        for (StepMetrics m : Trainer.readMetrics(run.file(RunDirectory.METRICS))) {
            if (m.step() == 0 && m.valLoss() != null) {
                return m.valLoss();
            }
        }
        return Double.NaN;
    }
}
