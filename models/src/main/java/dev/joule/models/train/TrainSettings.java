package dev.joule.models.train;

import dev.joule.models.InvalidInputException;
import java.util.List;

/**
 * Everything besides the architecture that determines a training run. Saved in config.json so that
 * {@code --resume} continues with exactly the same settings.
 *
 * @param data training text files or folders; empty means the corpus shipped inside the jar
 * @param val optional validation file or folder; null means a held-out tail of the training text
 * @param valFraction share of the training tokens held out for validation when {@code val} is null
 * @param steps total optimizer steps
 * @param decaySteps step at which the cosine decay reaches {@code minLr}; 0 means {@code steps}. A run
 *     split into parts gives every part the final horizon, so that the schedule and the weights match
 *     one uninterrupted run
 * @param batch sequences per step, B
 * @param lr peak learning rate after warmup
 * @param minLr learning rate at the end of the cosine decay
 * @param warmup linear warmup steps
 * @param weightDecay decoupled AdamW weight decay for matrices (not norms, biases, embeddings)
 * @param gradClip maximum global gradient norm; 0 disables clipping
 * @param seed seed of initialization, batch order and dropout
 * @param evalEvery steps between validation measurements (and checkpoints)
 * @param evalBatches validation batches per measurement
 * @param allowBinary accept files that look binary
 */
public record TrainSettings(List<String> data, String val, double valFraction, int steps, int decaySteps, int batch, float lr,
                            float minLr, int warmup, float weightDecay, float gradClip, long seed, int evalEvery,
                            int evalBatches, boolean allowBinary) {

    /** Defaults tuned for the tiny model on a CPU: a few minutes of training. */
    public static TrainSettings defaults() {
        return new TrainSettings(List.of(), null, 0.1, 600, 0, 16, 3e-3f, 3e-4f, 50, 0.1f, 1.0f, 1337L, 100, 8, false);
    }

    /** Returns the step at which the learning rate reaches its minimum. */
    public int decayHorizon() {
        return decaySteps > 0 ? decaySteps : steps;
    }

    /** Returns a copy that runs up to {@code newSteps}, keeping the decay horizon of this one. */
    public TrainSettings extendedTo(int newSteps) {
        return new TrainSettings(data, val, valFraction, newSteps, decayHorizon(), batch, lr, minLr, warmup,
                weightDecay, gradClip, seed, evalEvery, evalBatches, allowBinary);
    }

    /** Returns a copy that reads its training text from {@code newData} and its validation text from {@code newVal}. */
    public TrainSettings withData(List<String> newData, String newVal) {
        return new TrainSettings(List.copyOf(newData), newVal, valFraction, steps, decaySteps, batch, lr, minLr, warmup,
                weightDecay, gradClip, seed, evalEvery, evalBatches, allowBinary);
    }

    /** Returns a copy that accepts files that look binary when {@code allow} is true. */
    public TrainSettings withAllowBinary(boolean allow) {
        return new TrainSettings(data, val, valFraction, steps, decaySteps, batch, lr, minLr, warmup, weightDecay,
                gradClip, seed, evalEvery, evalBatches, allow);
    }

    /** Checks every value and throws an {@link InvalidInputException} that names the first bad one. */
    public TrainSettings validate() {
        if (steps <= 0) {
            throw new InvalidInputException("--steps must be a positive integer, got " + steps);
        }
        if (decaySteps < 0) {
            throw new InvalidInputException("--lr-decay-steps must be zero (same as --steps) or positive, got "
                    + decaySteps);
        }
        if (batch <= 0) {
            throw new InvalidInputException("--batch must be a positive integer, got " + batch);
        }
        if (!Float.isFinite(lr) || lr <= 0f) {
            throw new InvalidInputException("--lr must be a positive finite number, got " + lr);
        }
        if (!Float.isFinite(minLr) || minLr < 0f || minLr > lr) {
            throw new InvalidInputException("--min-lr must be in [0, lr], got " + minLr + " with lr " + lr);
        }
        if (warmup < 0) {
            throw new InvalidInputException("--warmup must be zero or positive, got " + warmup);
        }
        if (!Float.isFinite(weightDecay) || weightDecay < 0f) {
            throw new InvalidInputException("--weight-decay must be zero or positive, got " + weightDecay);
        }
        if (!Float.isFinite(gradClip) || gradClip < 0f) {
            throw new InvalidInputException("--grad-clip must be zero (off) or positive, got " + gradClip);
        }
        if (!(valFraction > 0.0 && valFraction < 1.0)) {
            throw new InvalidInputException("--val-fraction must be between 0 and 1, got " + valFraction);
        }
        if (evalEvery <= 0) {
            throw new InvalidInputException("--eval-every must be a positive integer, got " + evalEvery);
        }
        if (evalBatches <= 0) {
            throw new InvalidInputException("--eval-batches must be a positive integer, got " + evalBatches);
        }
        return this;
    }
}
