package dev.joule.models.data;

/**
 * Where training and validation batches come from: a text corpus ({@link Dataset}) or a generated
 * task. Batches must be pure functions of their arguments, so that a resumed run sees the same data.
 */
public interface BatchSource {
    /** Returns the training batch of a step; targets of -1 are left out of the loss. */
    Dataset.Batch trainBatch(long seed, long step, int batchSize);

    /** Returns validation batch {@code index}, in [0, {@link #valBatchCount(int)}). */
    Dataset.Batch valBatch(int index, int batchSize);

    /** Returns how many distinct validation batches of this size exist. */
    int valBatchCount(int batchSize);

    /** Returns the sequence length T of every batch. */
    int context();

    /** Returns the fingerprint of the underlying text, or null for generated data that has none. */
    default DataFingerprint fingerprint() {
        return null;
    }
}
