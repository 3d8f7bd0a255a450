package dev.joule.models.train;

/**
 * The contents of trainer.json: the progress of a run. Batches and dropout masks are pure functions of
 * (seed, step), so the step is the whole random state and the whole data position.
 *
 * @param step optimizer steps completed
 * @param seed the run's seed
 * @param tokensSeen training tokens consumed so far
 * @param trainLoss the last training loss
 * @param valLoss the last validation loss, or NaN if none was measured
 */
public record TrainerState(int step, long seed, long tokensSeen, double trainLoss, double valLoss) {}
