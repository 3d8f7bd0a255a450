package dev.joule.engine.kernels;

/**
 * Plain-loop twin of {@link AdamWKernelVector} for one range, in float arithmetic. It is the reference
 * the vector kernel is tested against and the fallback when {@code jdk.incubator.vector} is not loaded,
 * so it must never reference that module. {@code correction1} and {@code correction2} are
 * {@code 1 - beta1^step} and {@code 1 - beta2^step}.
 */
final class AdamWKernelScalar {
    private AdamWKernelScalar() {}

    static void step(float[] param, int pOff, float[] grad, int gOff, float[] m, int mOff, float[] v, int vOff,
            int n, float lr, float beta1, float beta2, float eps, float weightDecay, float correction1,
            float correction2) {
        float oneMinusBeta1 = 1f - beta1;
        float oneMinusBeta2 = 1f - beta2;
        for (int i = 0; i < n; i++) {
            float g = grad[gOff + i];
            float mi = beta1 * m[mOff + i] + oneMinusBeta1 * g;
            float vi = beta2 * v[vOff + i] + oneMinusBeta2 * g * g;
            m[mOff + i] = mi;
            v[vOff + i] = vi;
            float mhat = mi / correction1;
            float vhat = vi / correction2;
            float p = param[pOff + i];
            param[pOff + i] = p - lr * (mhat / ((float) Math.sqrt(vhat) + eps) + weightDecay * p);
        }
    }
}
