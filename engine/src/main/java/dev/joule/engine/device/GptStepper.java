package dev.joule.engine.device;

import java.util.Map;

/**
 * A GPT resident on a device, trained by a fused step. The weights, gradients, AdamW moments and
 * activations stay on the device between calls: a step uploads the token ids and reads back only the
 * loss and the gradient norm.
 *
 * <p>The update is the one the CPU trainer makes: mean cross-entropy, gradients clipped by their global
 * L2 norm (scaled by {@code clip / (norm + 1e-6)} when the norm exceeds {@code clip}), then AdamW with
 * beta1 0.9, beta2 0.95, eps 1e-8 and decoupled decay on the matrices of {@link GptShape#decays(String)}.
 */
public interface GptStepper extends AutoCloseable {
    /**
     * Runs forward, backward, clipping and one AdamW update.
     *
     * @param inputs token ids (B, T) row-major, B at most the shape's batch, T the shape's context
     * @param targets next-token ids, same layout
     * @param lr learning rate of this step
     * @param weightDecay decoupled decay coefficient for the decayed matrices
     * @param gradClip maximum global gradient norm; 0 disables clipping
     * @param stepNumber the 1-based count of updates including this one (AdamW's bias correction)
     * @return the mean cross-entropy of the batch before the update, in nats per token
     */
    float step(int[] inputs, int[] targets, float lr, float weightDecay, float gradClip, int stepNumber);

    /** Returns the global gradient norm of the last {@link #step}, before clipping. */
    double lastGradNorm();

    /** Returns the mean cross-entropy of a batch of {@code batch} sequences, without touching the weights. */
    float evalLoss(int[] inputs, int[] targets, int batch);

    /** Copies the current weights back, by state-dictionary name. */
    Map<String, float[]> readWeights();

    /**
     * Copies back the gradients of the last {@link #step}, before clipping, by state-dictionary name: for
     * tests that hold each gradient against the CPU autograd, and for debugging. A parameter that the
     * loss does not reach has a zero gradient here (the CPU leaves its gradient unset).
     */
    Map<String, float[]> readGradients();

    /** Copies the AdamW moments back, named {@code <param>.m} and {@code <param>.v} as the CPU AdamW saves them. */
    Map<String, float[]> readOptimizerState();

    /**
     * Replaces the AdamW moments, for a resume; names as in {@link #readOptimizerState()}.
     *
     * @throws IllegalArgumentException if a moment is missing or has the wrong length
     */
    void loadOptimizerState(Map<String, float[]> state);

    /** Returns the device memory this stepper holds, in bytes. */
    long deviceBytes();

    /** Releases the stepper's device buffers. */
    @Override
    void close();
}
