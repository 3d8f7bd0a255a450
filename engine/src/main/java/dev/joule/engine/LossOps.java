package dev.joule.engine;

import dev.joule.engine.kernels.RowKernels;

/** Fused losses with hand-written backward passes. */
public final class LossOps {
    private LossOps() {}

    /** Target value that excludes a position from the loss and from the mean. */
    public static final int IGNORE = -1;

    /**
     * Mean cross-entropy of integer targets under softmax(logits), fused so that the probabilities are
     * computed once and the backward is {@code (softmax - onehot) / count}.
     *
     * @param logits (N, V)
     * @param targets N class indices in [0, V), or {@link #IGNORE}
     * @return a scalar tensor
     */
    public static Tensor crossEntropy(Tensor logits, int[] targets) {
        if (logits.rank() != 2) {
            throw new ShapeException("crossEntropy expects logits of shape (N, V), got "
                    + java.util.Arrays.toString(logits.shape));
        }
        int rows = logits.size(0);
        int cols = logits.size(1);
        if (targets.length != rows) {
            throw new ShapeException("crossEntropy: " + rows + " rows of logits but " + targets.length
                    + " targets");
        }
        float[] in = logits.isContiguous() && logits.offset == 0 ? logits.data : logits.toArray();
        float[] losses = Buffers.floats(rows);
        float[] probs = Buffers.floats(rows * cols);
        RowKernels.crossEntropy(in, 0, targets, 0, losses, probs, rows, cols);
        int counted = 0;
        double total = 0;
        for (int r = 0; r < rows; r++) {
            if (targets[r] != IGNORE) {
                counted++;
                total += losses[r];
            }
        }
        int count = Math.max(counted, 1);
        Tensor loss = Tensor.scalar((float) (total / count));
        return Autograd.record(loss, "crossEntropy", g -> {
            float[] dlogits = Buffers.floats(rows * cols);
            RowKernels.crossEntropyBackward(probs, targets, 0, g.item() / count, dlogits, 0, rows, cols, false);
            Autograd.accumulateOwned(logits, dlogits);
        }, logits);
    }
}
