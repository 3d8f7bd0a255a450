package dev.joule.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.Random;
import java.util.function.Function;

/**
 * Compares the gradients that autograd computes with central finite differences.
 *
 * <p>The scalar under test is L = sum_i f(x)_i r_i with a fixed random r, summed in double precision so
 * that rounding in the sum does not swamp the differences. The step h is relative to the element.
 */
final class GradCheck {
    private GradCheck() {}

    static Tensor random(Random rng, float scale, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.data.length; i++) {
            t.data[i] = (float) (rng.nextGaussian() * scale);
        }
        return t;
    }

    static Tensor positive(Random rng, int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.data.length; i++) {
            t.data[i] = 0.5f + rng.nextFloat() * 2f;
        }
        return t;
    }

    /** Checks d(sum f(inputs) * r)/d(input) for every input against central differences. */
    static void check(String name, Function<Tensor[], Tensor> f, Tensor... inputs) {
        check(name, 2e-2, f, inputs);
    }

    static void check(String name, double tolerance, Function<Tensor[], Tensor> f, Tensor... inputs) {
        for (Tensor in : inputs) {
            in.requiresGrad(true);
            in.zeroGrad();
        }
        Tensor out = f.apply(inputs);
        Random rng = new Random(99);
        float[] r = new float[out.numel()];
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) rng.nextGaussian();
        }
        Tensor weights = Tensor.of(r, out.shape());
        Tensor loss = out.mul(weights).sum();
        loss.backward();

        for (int which = 0; which < inputs.length; which++) {
            Tensor in = inputs[which];
            int n = in.numel();
            if (n == 0) {
                continue;
            }
            assertNotNull(in.grad(), name + ": input " + which + " got no gradient");
            float[] analytic = in.grad().toArray();
            for (int i = 0; i < n; i++) {
                float saved = in.data[in.offset + i];
                double h = 1e-2 * Math.max(1.0, Math.abs(saved));
                in.data[in.offset + i] = (float) (saved + h);
                double plus = weightedSum(f, inputs, r);
                in.data[in.offset + i] = (float) (saved - h);
                double minus = weightedSum(f, inputs, r);
                in.data[in.offset + i] = saved;
                double numeric = (plus - minus) / (2 * h);
                double scale = Math.max(1.0, Math.abs(numeric));
                assertEquals(numeric, analytic[i], tolerance * scale,
                        name + ": d/d input" + which + "[" + i + "]");
            }
        }
    }

    private static double weightedSum(Function<Tensor[], Tensor> f, Tensor[] inputs, float[] r) {
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            float[] y = f.apply(inputs).toArray();
            double s = 0;
            for (int i = 0; i < y.length; i++) {
                s += (double) y[i] * r[i];
            }
            return s;
        }
    }
}
