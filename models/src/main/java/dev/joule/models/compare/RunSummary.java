package dev.joule.models.compare;

import java.util.List;

/**
 * What one trained run of a comparison contributes to the report; saved as compare-run.json in the
 * run directory so that a rerun need not measure it again.
 *
 * @param variant the variant's name, "energy-optimizer"
 * @param seed the run's seed
 * @param steps optimizer steps completed
 * @param parameters the model's parameter count
 * @param finalValLoss validation loss after the last step, nats per token
 * @param curve validation loss against step and cumulative training time
 * @param msPerStep median wall-clock milliseconds of one training step (validation excluded)
 * @param retainedHeapBytes heap that one training forward pass keeps for its backward pass, measured
 *     as described in {@link HeapProbe}
 * @param energyBefore per layer, the mean over heads of the traced F_i(0) on a fixed validation batch
 * @param energyAfter per layer, the same mean of F_i(delta_i)
 * @param exactMatch LIS exact-match accuracy on the validation sequences; NaN for the text task
 */
public record RunSummary(String variant, int seed, int steps, long parameters, double finalValLoss,
                         List<CurvePoint> curve, double msPerStep, long retainedHeapBytes, double[] energyBefore,
                         double[] energyAfter, double exactMatch) {
    public static final String FILE = "compare-run.json";

    /**
     * One validation measurement.
     *
     * @param step optimizer steps completed
     * @param valLoss validation loss, nats per token
     * @param wallS sum of the training step times up to this step, seconds (validation time excluded)
     */
    public record CurvePoint(int step, double valLoss, double wallS) {}
}
