package dev.joule.models.train;

/**
 * One line of metrics.jsonl.
 *
 * @param step optimizer steps completed when the line was written
 * @param trainLoss mean cross-entropy of this step's batch in nats per token, or null for the line of
 *     step 0, which records only the loss of the freshly initialized model
 * @param valLoss validation loss in nats per token, or null when not measured at this step
 * @param lr learning rate used by this step
 * @param gradNorm global gradient norm before clipping
 * @param tokensPerS training tokens per second of this step (wall clock)
 * @param ms wall-clock milliseconds of this step
 */
public record StepMetrics(int step, Double trainLoss, Double valLoss, double lr, double gradNorm, double tokensPerS,
                          double ms) {}
