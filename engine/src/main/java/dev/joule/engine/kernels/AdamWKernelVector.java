package dev.joule.engine.kernels;

import static dev.joule.engine.kernels.ElementwiseVector.L;
import static dev.joule.engine.kernels.ElementwiseVector.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Vector API twin of {@link AdamWKernelScalar} for one range: full vectors, then one masked vector for
 * the tail. The moment updates use fma, so results can differ from the scalar twin in the last ulp.
 * {@code correction1} and {@code correction2} are {@code 1 - beta1^step} and {@code 1 - beta2^step}.
 */
final class AdamWKernelVector {
    private AdamWKernelVector() {}

    static void step(float[] param, int pOff, float[] grad, int gOff, float[] m, int mOff, float[] v, int vOff,
            int n, float lr, float beta1, float beta2, float eps, float weightDecay, float correction1,
            float correction2) {
        FloatVector b1 = FloatVector.broadcast(S, beta1);
        FloatVector b2 = FloatVector.broadcast(S, beta2);
        FloatVector oneMinusB1 = FloatVector.broadcast(S, 1f - beta1);
        FloatVector oneMinusB2 = FloatVector.broadcast(S, 1f - beta2);
        FloatVector wd = FloatVector.broadcast(S, weightDecay);
        FloatVector negLr = FloatVector.broadcast(S, -lr);
        int i = 0;
        for (; i <= n - L; i += L) {
            FloatVector g = FloatVector.fromArray(S, grad, gOff + i);
            FloatVector mi = g.fma(oneMinusB1, FloatVector.fromArray(S, m, mOff + i).mul(b1));
            FloatVector vi = g.mul(g).fma(oneMinusB2, FloatVector.fromArray(S, v, vOff + i).mul(b2));
            mi.intoArray(m, mOff + i);
            vi.intoArray(v, vOff + i);
            FloatVector denom = vi.div(correction2).sqrt().add(eps);
            FloatVector p = FloatVector.fromArray(S, param, pOff + i);
            FloatVector update = p.fma(wd, mi.div(correction1).div(denom));
            update.fma(negLr, p).intoArray(param, pOff + i);
        }
        if (i < n) {
            VectorMask<Float> mask = S.indexInRange(i, n);
            FloatVector g = FloatVector.fromArray(S, grad, gOff + i, mask);
            FloatVector mi = g.fma(oneMinusB1, FloatVector.fromArray(S, m, mOff + i, mask).mul(b1));
            FloatVector vi = g.mul(g).fma(oneMinusB2, FloatVector.fromArray(S, v, vOff + i, mask).mul(b2));
            mi.intoArray(m, mOff + i, mask);
            vi.intoArray(v, vOff + i, mask);
            FloatVector denom = vi.div(correction2).sqrt().add(eps);
            FloatVector p = FloatVector.fromArray(S, param, pOff + i, mask);
            FloatVector update = p.fma(wd, mi.div(correction1).div(denom));
            update.fma(negLr, p).intoArray(param, pOff + i, mask);
        }
    }
}
