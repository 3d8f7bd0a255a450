package dev.joule.engine.kernels;

/**
 * One AdamW update over a flat parameter range (Loshchilov and Hutter, "Decoupled Weight Decay
 * Regularization", ICLR 2019):
 * <pre>
 *   m = beta1 m + (1 - beta1) g
 *   v = beta2 v + (1 - beta2) g^2
 *   mhat = m / (1 - beta1^step),  vhat = v / (1 - beta2^step)
 *   p = p - lr (mhat / (sqrt(vhat) + eps) + weightDecay p)
 * </pre>
 * The decay term uses p from before the update and is not scaled by the adaptive denominator, which is
 * what separates AdamW from Adam with L2 regularization.
 *
 * <p>Picks {@link AdamWKernelVector} when {@link Simd#enabled()} and {@link AdamWKernelScalar} otherwise,
 * over fixed {@link Elementwise#CHUNK}-sized pieces that go to the {@link Parallel} pool for large
 * tensors. Every element is independent, so results are bitwise identical at any thread count.
 */
public final class AdamWKernel {
    // An update streams 28 bytes per element and is memory-bound like an add. An estimate, not a measurement.
    static final int PARALLEL_MIN = 1 << 16;

    private AdamWKernel() {}

    /**
     * Applies one AdamW update in place to param, m and v.
     *
     * @param step the 1-based count of updates including this one, used for bias correction
     * @throws IllegalArgumentException if {@code step < 1}
     */
    public static void step(float[] param, int pOff, float[] grad, int gOff, float[] m, int mOff, float[] v,
            int vOff, int n, float lr, float beta1, float beta2, float eps, float weightDecay, int step) {
        if (step < 1) {
            throw new IllegalArgumentException("step must be at least 1 (the first update is step 1), got " + step);
        }
        Elementwise.checkRange(param, pOff, n, "param");
        Elementwise.checkRange(grad, gOff, n, "grad");
        Elementwise.checkRange(m, mOff, n, "m");
        Elementwise.checkRange(v, vOff, n, "v");
        float correction1 = (float) (1.0 - Math.pow(beta1, step));
        float correction2 = (float) (1.0 - Math.pow(beta2, step));
        boolean simd = Simd.enabled();
        Elementwise.forChunks(n, PARALLEL_MIN, (from, to) -> {
            if (simd) {
                AdamWKernelVector.step(param, pOff + from, grad, gOff + from, m, mOff + from, v, vOff + from,
                        to - from, lr, beta1, beta2, eps, weightDecay, correction1, correction2);
            } else {
                AdamWKernelScalar.step(param, pOff + from, grad, gOff + from, m, mOff + from, v, vOff + from,
                        to - from, lr, beta1, beta2, eps, weightDecay, correction1, correction2);
            }
        });
    }
}
