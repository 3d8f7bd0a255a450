package dev.joule.models.compare;

/**
 * The cumulative distribution of Student's t, through the regularized incomplete beta function.
 *
 * <p>Method, not code, from two sources: Abramowitz and Stegun, Handbook of Mathematical Functions
 * (1964), 26.7.1 for A(t|nu) = 1 - I_x(nu/2, 1/2) with x = nu / (nu + t^2), and 26.5.8 for the continued
 * fraction of I_x(a, b). Press, Teukolsky, Vetterling and Flannery, Numerical Recipes (3rd ed., 2007),
 * sections 5.2 and 6.4, for evaluating that fraction with the modified Lentz method and for using the
 * symmetry I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges slowly, and section 6.1 for
 * the Lanczos approximation of log Gamma.
 */
public final class StudentT {
    private static final int MAX_ITERATIONS = 10_000;
    private static final double EPSILON = 1e-15;
    private static final double TINY = 1e-300;

    /** Lanczos coefficients for g = 7, n = 9, widely tabulated; accurate to about 1e-15 for x > 0. */
    private static final double[] LANCZOS = {
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
        -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
        1.5056327351493116e-7};

    private StudentT() {}

    /** Returns P(T <= t) for Student's t with {@code dof} degrees of freedom (dof > 0, need not be whole). */
    public static double cdf(double t, double dof) {
        if (!(dof > 0) || Double.isNaN(t)) {
            return Double.NaN;
        }
        if (Double.isInfinite(t)) {
            return t > 0 ? 1 : 0;
        }
        // Two-sided tail mass P(|T| > |t|) = I_x(dof/2, 1/2) with x = dof / (dof + t^2).
        double tails = regularizedIncompleteBeta(dof / (dof + t * t), dof / 2, 0.5);
        return t >= 0 ? 1 - tails / 2 : tails / 2;
    }

    /** Returns the two-sided p-value P(|T| >= |t|). */
    public static double twoSidedP(double t, double dof) {
        if (!(dof > 0) || Double.isNaN(t)) {
            return Double.NaN;
        }
        if (Double.isInfinite(t)) {
            return 0;
        }
        return regularizedIncompleteBeta(dof / (dof + t * t), dof / 2, 0.5);
    }

    /** Returns the regularized incomplete beta function I_x(a, b) for a, b > 0 and x in [0, 1]. */
    public static double regularizedIncompleteBeta(double x, double a, double b) {
        if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1)) {
            return Double.NaN;
        }
        if (x == 0 || x == 1) {
            return x;
        }
        // x^a (1-x)^b / (a B(a, b)), the prefactor of the continued fraction.
        double logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
        // The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry above that.
        if (x < (a + 1) / (a + b + 2)) {
            return Math.exp(logFront) * continuedFraction(x, a, b) / a;
        }
        return 1 - Math.exp(logFront) * continuedFraction(1 - x, b, a) / b;
    }

    /**
     * Evaluates the continued fraction 1 / (1 + d1 / (1 + d2 / (1 + ...))) of A and S 26.5.8 by the
     * modified Lentz method, with d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1)) and
     * d_{2m} = m(b-m) x / ((a+2m-1)(a+2m)).
     */
    private static double continuedFraction(double x, double a, double b) {
        double c = 1;
        double d = 1 - (a + b) * x / (a + 1);
        d = 1 / nonZero(d);
        double result = d;
        for (int m = 1; m <= MAX_ITERATIONS; m++) {
            double even = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m));
            d = 1 / nonZero(1 + even * d);
            c = nonZero(1 + even / c);
            result *= d * c;
            double odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1));
            d = 1 / nonZero(1 + odd * d);
            c = nonZero(1 + odd / c);
            double factor = d * c;
            result *= factor;
            if (Math.abs(factor - 1) < EPSILON) {
                return result;
            }
        }
        // NOTE: reached only for extreme arguments (a or b in the millions); the value is then less precise.
        return result;
    }

    private static double nonZero(double v) {
        return Math.abs(v) < TINY ? TINY : v;
    }

    /** Returns log Gamma(x) for x > 0 (Lanczos, with the reflection formula below 0.5). */
    public static double logGamma(double x) {
        if (x < 0.5) {
            return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
        }
        double z = x - 1;
        double sum = LANCZOS[0];
        for (int i = 1; i < LANCZOS.length; i++) {
            sum += LANCZOS[i] / (z + i);
        }
        double t = z + 7.5;
        return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
    }
}
