package dev.joule.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.engine.Tensor;
import dev.joule.engine.nn.Parameter;
import java.util.Arrays;

/** Seeded data and comparisons shared by the layer tests. */
final class Fixtures {
    private Fixtures() {}

    static final long SEED = 20251100L;

    /** A seeded normal tensor that requires a gradient. */
    static Tensor leaf(long stream, float std, int... shape) {
        return Tensor.randn(SEED, stream, std, shape).requiresGrad(true);
    }

    /**
     * Overwrites every parameter with seeded normal values, so biases and gates are not trivial. The
     * stream of a parameter depends on its name only, so layers of different recipes share q, k, v.
     */
    static void randomize(EnergyAttention attn, long streamBase, float std) {
        for (Parameter p : attn.parameters()) {
            Tensor r = Tensor.randn(SEED, streamBase + p.name().hashCode(), std, p.value().shape());
            if (p.name().equals("gate.bias")) {
                r = r.addScalar(EnergyAttention.GATE_BIAS);
            }
            p.value().copyFrom(r);
        }
    }

    /** Asserts |a - b| <= tol * (1 + max |b|) elementwise, naming the first mismatch. */
    static void assertClose(String what, float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + ": lengths differ");
        double scale = 1;
        for (float e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs(expected[i] - actual[i]);
            if (!(diff <= tol * scale)) {
                throw new AssertionError(what + ": element " + i + " expected " + expected[i] + " but was "
                        + actual[i] + " (tolerance " + tol * scale + ")");
            }
        }
    }

    static void assertClose(String what, double[] expected, float[] actual, double tol) {
        float[] e = new float[expected.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = (float) expected[i];
        }
        assertClose(what, e, actual, tol);
    }

    static void assertAllFinite(String what, float[] values) {
        for (int i = 0; i < values.length; i++) {
            assertTrue(Float.isFinite(values[i]), what + ": element " + i + " is " + values[i]
                    + " in " + Arrays.toString(Arrays.copyOf(values, Math.min(8, values.length))));
        }
    }
}
