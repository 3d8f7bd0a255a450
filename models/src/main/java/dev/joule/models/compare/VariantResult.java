package dev.joule.models.compare;

import java.util.ArrayList;
import java.util.List;

/**
 * The runs of one variant, summarized over seeds and set against the baseline.
 *
 * @param variant the variant
 * @param runs its runs, by seed
 * @param finalLosses final validation loss of each run
 * @param meanLoss mean of {@code finalLosses}
 * @param stdLoss sample standard deviation of {@code finalLosses} (NaN for one seed)
 * @param curve mean, minimum and maximum validation loss over seeds at each measured step
 * @param stepsToBaseline first measured step at which the mean curve is at or below the baseline's final
 *     mean loss, or -1 when it never is
 * @param speedup the baseline's own steps to that loss divided by {@code stepsToBaseline}; NaN when not
 *     reached
 * @param msPerStep mean over seeds of the median step time
 * @param heapBytes mean over seeds of the retained heap of one training forward pass
 * @param parameters the parameter count
 * @param attentionFlops forward attention FLOPs per token and layer, from {@link AttentionCost}
 * @param trainingFlops training FLOPs per token, 6 N + 3 L A
 * @param welch Welch's t-test of the final losses against the baseline's; null for the baseline
 * @param exactMatch mean LIS exact-match accuracy over seeds; NaN for text
 * @param exactMatchStd its sample standard deviation
 */
public record VariantResult(Variant variant, List<RunSummary> runs, double[] finalLosses, double meanLoss,
                            double stdLoss, List<MeanPoint> curve, int stepsToBaseline, double speedup,
                            double msPerStep, double heapBytes, long parameters, double attentionFlops,
                            double trainingFlops, WelchTest.Result welch, double exactMatch, double exactMatchStd) {

    /**
     * The validation loss over seeds at one step.
     *
     * @param wallS mean over seeds of the cumulative training time at this step, seconds
     */
    public record MeanPoint(int step, double mean, double min, double max, double wallS) {}

    /** Returns the mean curve over the runs; runs of one spec share their measured steps. */
    static List<MeanPoint> meanCurve(List<RunSummary> runs) {
        List<MeanPoint> out = new ArrayList<>();
        int points = runs.stream().mapToInt(r -> r.curve().size()).min().orElse(0);
        for (int i = 0; i < points; i++) {
            double sum = 0;
            double wall = 0;
            double min = Double.POSITIVE_INFINITY;
            double max = Double.NEGATIVE_INFINITY;
            for (RunSummary r : runs) {
                double loss = r.curve().get(i).valLoss();
                sum += loss;
                wall += r.curve().get(i).wallS();
                min = Math.min(min, loss);
                max = Math.max(max, loss);
            }
            out.add(new MeanPoint(runs.get(0).curve().get(i).step(), sum / runs.size(), min, max,
                    wall / runs.size()));
        }
        return out;
    }

    /** Returns the first step at which {@code curve}'s mean is at or below {@code target}, or -1. */
    static int firstStepAtOrBelow(List<MeanPoint> curve, double target) {
        for (MeanPoint p : curve) {
            if (p.mean() <= target) {
                return p.step();
            }
        }
        return -1;
    }
}
