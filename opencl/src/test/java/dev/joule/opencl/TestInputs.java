package dev.joule.opencl;

import dev.joule.engine.Tensor;

/**
 * Seeded normal inputs for the kernel tests, and the float and double copies that pass between the
 * float32 device buffers and the double-precision references. Each test class keeps its own instance,
 * so its inputs depend only on the order of its own draws.
 */
final class TestInputs {
    private final long seed;
    private long stream;

    TestInputs(long seed) {
        this.seed = seed;
    }

    /** Returns normal values with mean 0 and standard deviation {@code std}, from the seed's next stream. */
    Tensor randn(float std, int... shape) {
        return Tensor.randn(seed, ++stream, std, shape);
    }

    static double[] doubles(float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i];
        }
        return out;
    }

    static float[] floats(double[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) x[i];
        }
        return out;
    }
}
