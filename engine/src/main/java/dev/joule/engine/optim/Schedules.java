package dev.joule.engine.optim;

import dev.joule.engine.Tensor;
import dev.joule.engine.kernels.Elementwise;
import dev.joule.engine.nn.Parameter;
import java.util.List;

/** Learning-rate schedules and gradient clipping. */
public final class Schedules {
    private Schedules() {}

    /**
     * Linear warmup from 0 to {@code maxLr} over {@code warmup} steps, then cosine decay to
     * {@code minLr} at {@code total} steps. {@code step} counts from 0.
     */
    public static float warmupCosine(int step, int warmup, int total, float maxLr, float minLr) {
        if (step < warmup) {
            return maxLr * (step + 1) / warmup;
        }
        if (step >= total) {
            return minLr;
        }
        double progress = (double) (step - warmup) / Math.max(1, total - warmup);
        double cosine = 0.5 * (1.0 + Math.cos(Math.PI * progress));
        return (float) (minLr + (maxLr - minLr) * cosine);
    }

    /**
     * Returns the global L2 norm of all gradients and, if it exceeds {@code maxNorm}, scales every
     * gradient by {@code maxNorm / norm}. Parameters are visited in list order, so the norm is
     * deterministic. A non-finite norm is returned without scaling, for the caller to handle.
     */
    public static double clipGradNorm(List<Parameter> params, double maxNorm) {
        double sumSquares = 0;
        for (Parameter p : params) {
            Tensor g = p.value().grad();
            if (g != null) {
                sumSquares += Elementwise.sumSquares(g.storage(), g.offset(), g.numel());
            }
        }
        double norm = Math.sqrt(sumSquares);
        if (maxNorm > 0 && Double.isFinite(norm) && norm > maxNorm) {
            float factor = (float) (maxNorm / (norm + 1e-6));
            for (Parameter p : params) {
                Tensor g = p.value().grad();
                if (g != null) {
                    Elementwise.scale(g.storage(), g.offset(), factor, g.storage(), g.offset(), g.numel());
                }
            }
        }
        return norm;
    }
}
