package dev.joule.engine.optim;

import dev.joule.engine.Tensor;
import dev.joule.engine.kernels.AdamWKernel;
import dev.joule.engine.nn.Parameter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW: Adam with weight decay decoupled from the gradient (Loshchilov and Hutter, "Decoupled Weight
 * Decay Regularization", ICLR 2019). Parameters whose {@link Parameter#decay()} is false (norms,
 * biases, embeddings) get no decay. The first and second moments live in buffers allocated once.
 */
public final class AdamW {
    private final List<Parameter> params;
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final float[][] m;
    private final float[][] v;
    private int step;

    public AdamW(List<Parameter> params, float beta1, float beta2, float eps, float weightDecay) {
        this.params = List.copyOf(params);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        this.m = new float[this.params.size()][];
        this.v = new float[this.params.size()][];
        for (int i = 0; i < this.params.size(); i++) {
            int n = this.params.get(i).value().numel();
            m[i] = new float[n];
            v[i] = new float[n];
        }
    }

    /** Applies one update with learning rate {@code lr} to every parameter that has a gradient. */
    public void step(float lr) {
        step++;
        for (int i = 0; i < params.size(); i++) {
            Parameter p = params.get(i);
            Tensor value = p.value();
            Tensor grad = value.grad();
            if (grad == null) {
                continue;
            }
            float wd = p.decay() ? weightDecay : 0f;
            AdamWKernel.step(value.storage(), value.offset(), grad.storage(), grad.offset(), m[i], 0, v[i], 0,
                    value.numel(), lr, beta1, beta2, eps, wd, step);
        }
    }

    /** Returns the number of updates applied so far. */
    public int stepCount() {
        return step;
    }

    /** Returns the moment buffers as tensors named {@code <param>.m} and {@code <param>.v}, for saving. */
    public Map<String, Tensor> state() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            int[] shape = params.get(i).value().shape();
            out.put(params.get(i).name() + ".m", Tensor.of(m[i], shape));
            out.put(params.get(i).name() + ".v", Tensor.of(v[i], shape));
        }
        return out;
    }

    /**
     * Restores the moment buffers and the step count saved by {@link #state()}.
     *
     * @throws IllegalArgumentException if a buffer is missing or has the wrong size
     */
    public void loadState(Map<String, Tensor> state, int stepCount) {
        for (int i = 0; i < params.size(); i++) {
            String name = params.get(i).name();
            copyInto(state, name + ".m", m[i]);
            copyInto(state, name + ".v", v[i]);
        }
        this.step = stepCount;
    }

    private static void copyInto(Map<String, Tensor> state, String key, float[] dst) {
        Tensor t = state.get(key);
        if (t == null) {
            throw new IllegalArgumentException("optimizer state has no tensor '" + key + "'");
        }
        if (t.numel() != dst.length) {
            throw new IllegalArgumentException("optimizer tensor '" + key + "' has " + t.numel()
                    + " elements, expected " + dst.length);
        }
        System.arraycopy(t.toArray(), 0, dst, 0, dst.length);
    }
}
