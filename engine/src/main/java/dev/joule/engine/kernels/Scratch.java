package dev.joule.engine.kernels;

import java.util.Arrays;

/**
 * Per-thread scratch arrays that kernels reuse across calls, so that a steady-state training step does
 * not allocate them anew. Each kernel owns fixed slots, so arrays of different lengths never share one
 * (a shared slot would be reallocated on every call). A caller is the only user of its thread's array in
 * a slot until it returns, and arrays come back zero-filled, as new ones would.
 */
final class Scratch {
    // Float slots: flash attention forward and key gradient blocks, then layer norm.
    static final int ATTENTION_ACC = 0;
    static final int ATTENTION_MAX = 1;
    static final int ATTENTION_P = 2;
    static final int KEY_GRAD_DK = 3;
    static final int KEY_GRAD_DV = 4;
    static final int KEY_GRAD_P = 5;
    static final int KEY_GRAD_DS = 6;
    static final int LAYER_NORM_GROUP_GAMMA = 7;
    static final int LAYER_NORM_GROUP_BETA = 8;
    private static final int FLOAT_SLOTS = 9;

    // Double slots.
    static final int ATTENTION_SUM = 0;
    static final int LAYER_NORM_GAMMA_PARTIALS = 1;
    static final int LAYER_NORM_BETA_PARTIALS = 2;
    private static final int DOUBLE_SLOTS = 3;

    private static final ThreadLocal<Scratch> LOCAL = ThreadLocal.withInitial(Scratch::new);

    private final float[][] floats = new float[FLOAT_SLOTS][];
    private final double[][] doubles = new double[DOUBLE_SLOTS][];

    private Scratch() {}

    /** Returns this thread's zero-filled float array of length {@code n} in {@code slot}. */
    static float[] floats(int slot, int n) {
        Scratch s = LOCAL.get();
        float[] a = s.floats[slot];
        if (a == null || a.length != n) {
            a = new float[n];
            s.floats[slot] = a;
        } else {
            Arrays.fill(a, 0f);
        }
        return a;
    }

    /** Returns this thread's zero-filled double array of length {@code n} in {@code slot}. */
    static double[] doubles(int slot, int n) {
        Scratch s = LOCAL.get();
        double[] a = s.doubles[slot];
        if (a == null || a.length != n) {
            a = new double[n];
            s.doubles[slot] = a;
        } else {
            Arrays.fill(a, 0.0);
        }
        return a;
    }
}
