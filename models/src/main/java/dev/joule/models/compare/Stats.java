package dev.joule.models.compare;

/** Sample statistics over double arrays. */
public final class Stats {
    private Stats() {}

    /** Returns the arithmetic mean, or NaN for an empty array. */
    public static double mean(double[] x) {
        if (x.length == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (double v : x) {
            sum += v;
        }
        return sum / x.length;
    }

    /** Returns the sample variance with divisor n - 1, or NaN below two values. */
    public static double variance(double[] x) {
        if (x.length < 2) {
            return Double.NaN;
        }
        double m = mean(x);
        double sum = 0;
        for (double v : x) {
            sum += (v - m) * (v - m);
        }
        return sum / (x.length - 1);
    }

    /** Returns the sample standard deviation (divisor n - 1), or NaN below two values. */
    public static double std(double[] x) {
        return Math.sqrt(variance(x));
    }
}
