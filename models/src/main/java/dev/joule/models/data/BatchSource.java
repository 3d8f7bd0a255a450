package dev.joule.models.data;

import dev.joule.models.InvalidInputException;

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

    /**
     * Checks that batches of this size can be built, so that a run can reject its batch size before it
     * writes anything.
     *
     * @throws InvalidInputException if the size is below 1, or a batch would not fit in a Java array
     */
    default void checkBatch(int batchSize) {
        if (batchSize < 1) {
            throw new InvalidInputException("batch size " + batchSize + " is invalid; use a batch size of at least 1");
        }
        if ((long) batchSize * context() > Corpus.MAX_BYTES) {
            throw new InvalidInputException("batch size " + batchSize + " times context " + context()
                    + " exceeds the maximum array length; use a smaller batch size or context");
        }
    }

    /** Returns the fingerprint of the underlying text, or null for generated data that has none. */
    default DataFingerprint fingerprint() {
        return null;
    }
}
