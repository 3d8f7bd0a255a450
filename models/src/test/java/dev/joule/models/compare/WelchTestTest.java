package dev.joule.models.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Welch's t-test and the Student t distribution. Reference values marked "scipy" were computed with
 * SciPy 1.17.1: scipy.stats.ttest_ind(a, b, equal_var=False) and scipy.stats.t.cdf / t.sf.
 */
class WelchTestTest {
    @Test
    void smallSamplesMatchReference() {
        // By hand: means 3 and 6, variances 2.5 and 10, se^2 = 0.5 + 2 = 2.5, t = -3 / sqrt(2.5),
        // nu = 2.5^2 / (0.5^2 / 4 + 2^2 / 4) = 100 / 17. p from scipy.
        WelchTest.Result r = WelchTest.test(new double[] {1, 2, 3, 4, 5}, new double[] {2, 4, 6, 8, 10});
        assertEquals(-3 / Math.sqrt(2.5), r.t(), 1e-12);
        assertEquals(100.0 / 17.0, r.dof(), 1e-12);
        assertEquals(0.10753119493062728, r.p(), 1e-9);
    }

    @Test
    void unequalVariancesMatchReference() {
        double[] a = {27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4};
        double[] b = {27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4};
        WelchTest.Result r = WelchTest.test(a, b);
        // scipy: statistic -2.455356398286006, df 24.988529290231416, pvalue 0.021378001462866992.
        assertEquals(-2.455356398286006, r.t(), 1e-9);
        assertEquals(24.988529290231416, r.dof(), 1e-9);
        assertEquals(0.021378001462866992, r.p(), 1e-9);
    }

    @Test
    void swappingSamplesNegatesT() {
        double[] a = {1.0, 1.3, 0.9, 1.2};
        double[] b = {1.5, 1.7, 1.4, 1.9, 1.6};
        WelchTest.Result ab = WelchTest.test(a, b);
        WelchTest.Result ba = WelchTest.test(b, a);
        assertEquals(-ab.t(), ba.t(), 1e-12);
        assertEquals(ab.dof(), ba.dof(), 1e-12);
        assertEquals(ab.p(), ba.p(), 1e-12);
        assertTrue(ab.t() < 0);
    }

    @Test
    void equalSamplesGiveNoEvidence() {
        double[] a = {2.0, 2.5, 3.0};
        WelchTest.Result r = WelchTest.test(a, a.clone());
        assertEquals(0, r.t(), 0);
        assertEquals(1, r.p(), 1e-12);
    }

    @Test
    void constantSamples() {
        WelchTest.Result same = WelchTest.test(new double[] {4, 4}, new double[] {4, 4, 4});
        assertEquals(0, same.t(), 0);
        assertEquals(1, same.p(), 0);
        WelchTest.Result apart = WelchTest.test(new double[] {5, 5}, new double[] {4, 4, 4});
        assertEquals(Double.POSITIVE_INFINITY, apart.t());
        assertEquals(0, apart.p(), 0);
    }

    @Test
    void singleValueIsUndefined() {
        assertTrue(Double.isNaN(WelchTest.test(new double[] {1}, new double[] {1, 2}).p()));
    }

    @Test
    void cdfMatchesClosedForms() {
        for (double t : new double[] {-5, -1.3, -0.2, 0, 0.7, 2, 12}) {
            // nu = 1 is the Cauchy distribution; nu = 2 has F = 1/2 + t / (2 sqrt(2 + t^2)).
            assertEquals(0.5 + Math.atan(t) / Math.PI, StudentT.cdf(t, 1), 1e-12, "nu = 1, t = " + t);
            assertEquals(0.5 + t / (2 * Math.sqrt(2 + t * t)), StudentT.cdf(t, 2), 1e-12, "nu = 2, t = " + t);
        }
    }

    @Test
    void cdfMatchesReference() {
        // scipy: 2 * t.sf(2.228, 10) = 0.05001177181711132, the familiar 5% point; t.cdf(-1.5, 7.3).
        assertEquals(0.05001177181711132, StudentT.twoSidedP(2.228, 10), 1e-10);
        assertEquals(0.08778154640154305, StudentT.cdf(-1.5, 7.3), 1e-10);
        assertEquals(0.5, StudentT.cdf(0, 3.7), 1e-15);
    }

    @Test
    void largeDegreesOfFreedomApproachTheNormal() {
        // scipy: t.cdf(1.96, 1e7) = 0.9750020909873429, and the normal's norm.cdf(1.96) = 0.9750021048517795.
        assertEquals(0.9750020909873429, StudentT.cdf(1.96, 1e7), 1e-9);
        assertEquals(0.9750021048517795, StudentT.cdf(1.96, 1e7), 1e-6);
    }

    @Test
    void logGammaMatchesFactorials() {
        assertEquals(Math.log(120), StudentT.logGamma(6), 1e-12);
        assertEquals(0.5 * Math.log(Math.PI), StudentT.logGamma(0.5), 1e-12);
    }
}
