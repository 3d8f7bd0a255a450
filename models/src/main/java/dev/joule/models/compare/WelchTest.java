package dev.joule.models.compare;

/**
 * Welch's two-sample t-test, which does not assume equal variances.
 *
 * <p>t = (mean_a - mean_b) / sqrt(s_a^2 / n_a + s_b^2 / n_b) with sample variances (divisor n - 1), and
 * the Welch-Satterthwaite degrees of freedom
 * nu = (s_a^2/n_a + s_b^2/n_b)^2 / ((s_a^2/n_a)^2 / (n_a - 1) + (s_b^2/n_b)^2 / (n_b - 1)).
 * The p-value is two-sided, from {@link StudentT}.
 */
public final class WelchTest {
    /**
     * The outcome of a test.
     *
     * @param t the t statistic, positive when the first sample has the larger mean
     * @param dof the Welch-Satterthwaite degrees of freedom
     * @param p the two-sided p-value
     */
    public record Result(double t, double dof, double p) {}

    private WelchTest() {}

    /**
     * Tests whether samples {@code a} and {@code b} have equal means.
     *
     * <p>Degenerate cases: with fewer than two values in either sample every field is NaN. When both
     * samples have zero variance, t and nu are undefined, so the result is t = 0, p = 1 for equal means
     * and t = +-infinity, p = 0 otherwise, with nu = NaN.
     */
    public static Result test(double[] a, double[] b) {
        if (a.length < 2 || b.length < 2) {
            return new Result(Double.NaN, Double.NaN, Double.NaN);
        }
        double meanA = Stats.mean(a);
        double meanB = Stats.mean(b);
        double va = Stats.variance(a) / a.length;
        double vb = Stats.variance(b) / b.length;
        double se2 = va + vb;
        if (se2 == 0) {
            if (meanA == meanB) {
                return new Result(0, Double.NaN, 1);
            }
            return new Result(meanA > meanB ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY, Double.NaN, 0);
        }
        double t = (meanA - meanB) / Math.sqrt(se2);
        double dof = se2 * se2 / (va * va / (a.length - 1) + vb * vb / (b.length - 1));
        return new Result(t, dof, StudentT.twoSidedP(t, dof));
    }
}
