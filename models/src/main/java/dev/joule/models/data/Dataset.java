package dev.joule.models.data;

import dev.joule.engine.Rng;
import dev.joule.models.InvalidInputException;

/**
 * Training and validation tokens cut into fixed-length windows for next-token prediction.
 *
 * <p>Training batches are a pure function of {@code (seed, step, batchSize)}, so a run resumed from a
 * checkpoint at step {@code s} receives exactly the batches the uninterrupted run would have seen.
 * Validation batches are fixed windows, so validation loss is comparable across steps.
 *
 * <p>The token arrays are used in place, not copied, so callers must not modify them.
 */
public final class Dataset implements BatchSource {
    /** Rng stream for training window starts. The value is arbitrary, and other Rng users should pick their own. */
    static final long TRAIN_WINDOW_STREAM = 0x4A6F_756C_6544_6174L;

    /**
     * A batch of windows in row-major {@code batch x context} layout. Row {@code b} of {@code targets}
     * is row {@code b} of {@code inputs} shifted left by one token, so {@code targets[b * context + t]}
     * is the token that follows {@code inputs[b * context + t]}.
     */
    public record Batch(int[] inputs, int[] targets, int batch, int context) {
        public Batch {
            long size = (long) batch * context;
            if (inputs.length != size || targets.length != size) {
                throw new IllegalArgumentException("inputs and targets need " + batch + " x " + context
                        + " tokens, got " + inputs.length + " and " + targets.length);
            }
        }
    }

    private final int[] trainData;
    private final int trainLength;
    private final int[] valData;
    private final int valOffset;
    private final int valLength;
    private final int context;
    private DataFingerprint fingerprint;

    private Dataset(int[] trainData, int trainLength, int[] valData, int valOffset, int valLength, int context) {
        this.trainData = trainData;
        this.trainLength = trainLength;
        this.valData = valData;
        this.valOffset = valOffset;
        this.valLength = valLength;
        this.context = context;
    }

    /**
     * Splits {@code tokens} so that the last {@code valFraction} of them, rounded to the nearest
     * token, is the validation part and the rest is the training part.
     *
     * @throws InvalidInputException if {@code valFraction} is not strictly between 0 and 1, {@code
     *     context} is below 1, or either part has fewer than {@code context + 1} tokens
     */
    public static Dataset split(int[] tokens, double valFraction, int context) {
        checkContext(context);
        if (!(valFraction > 0 && valFraction < 1)) {
            throw new InvalidInputException("validation fraction " + valFraction
                    + " is out of range; use a value greater than 0 and less than 1, such as 0.1");
        }
        int valLength = (int) Math.round(tokens.length * valFraction);
        int trainLength = tokens.length - valLength;
        if (Math.min(trainLength, valLength) < context + 1) {
            throw new InvalidInputException("corpus has " + tokens.length + " tokens (" + trainLength
                    + " for training and " + valLength + " for validation) but context " + context
                    + " needs at least " + (context + 1) + " per split; use more text or a smaller --context");
        }
        return new Dataset(tokens, trainLength, tokens, trainLength, valLength, context);
    }

    /**
     * Uses {@code train} for training and {@code val}, typically loaded from a separate corpus, for
     * validation.
     *
     * @throws InvalidInputException if {@code context} is below 1 or either array has fewer than
     *     {@code context + 1} tokens
     */
    public static Dataset of(int[] train, int[] val, int context) {
        checkContext(context);
        checkLength("training corpus", train.length, context);
        checkLength("validation corpus", val.length, context);
        return new Dataset(train, train.length, val, 0, val.length, context);
    }

    /**
     * Returns the size and SHA-256 hash of the training tokens followed by the validation tokens. The
     * hash is computed on the first call, which reads every token once.
     */
    @Override
    public synchronized DataFingerprint fingerprint() {
        if (fingerprint == null) {
            java.security.MessageDigest digest;
            try {
                digest = java.security.MessageDigest.getInstance("SHA-256");
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException("every Java platform provides SHA-256", e);
            }
            update(digest, trainData, 0, trainLength);
            update(digest, valData, valOffset, valLength);
            fingerprint = new DataFingerprint(trainLength, valLength, java.util.HexFormat.of().formatHex(digest.digest()));
        }
        return fingerprint;
    }

    private static void update(java.security.MessageDigest digest, int[] tokens, int from, int length) {
        byte[] chunk = new byte[Math.min(length, 1 << 16)];
        for (int start = 0; start < length; start += chunk.length) {
            int n = Math.min(chunk.length, length - start);
            for (int i = 0; i < n; i++) {
                chunk[i] = (byte) tokens[from + start + i];
            }
            digest.update(chunk, 0, n);
        }
    }

    /** Returns the window length in tokens. */
    public int context() {
        return context;
    }

    /** Returns the number of training tokens. */
    public int trainTokens() {
        return trainLength;
    }

    /** Returns the number of validation tokens. */
    public int valTokens() {
        return valLength;
    }

    /**
     * Returns training batch {@code step}: {@code batchSize} windows whose start positions are drawn
     * uniformly from the training tokens with the counter-based {@link Rng}, so the result depends
     * only on the arguments. Windows may overlap.
     *
     * @throws InvalidInputException if {@code batchSize} is below 1
     * @throws IllegalArgumentException if {@code step} is negative
     */
    public Batch trainBatch(long seed, long step, int batchSize) {
        checkBatchSize(batchSize);
        checkBatchFits(batchSize);
        if (step < 0) {
            throw new IllegalArgumentException("step must be non-negative, got " + step);
        }
        int startBound = trainLength - context;
        int[] starts = new int[batchSize];
        for (int b = 0; b < batchSize; b++) {
            starts[b] = Rng.nextInt(seed, TRAIN_WINDOW_STREAM, step * batchSize + b, startBound);
        }
        return gather(trainData, 0, starts);
    }

    /**
     * Returns the number of non-overlapping validation windows: {@code (valTokens() - 1) / context()}.
     * Tokens after the last full window are never evaluated.
     */
    public int valWindowCount() {
        return (valLength - 1) / context;
    }

    /**
     * Returns the number of validation batches of {@code batchSize} rows that together cover every
     * validation window: {@code ceil(valWindowCount() / batchSize)}.
     */
    public int valBatchCount(int batchSize) {
        checkBatchSize(batchSize);
        int windows = valWindowCount();
        return (windows + batchSize - 1) / batchSize;
    }

    /**
     * Returns validation batch {@code index}. The validation tokens are cut into {@link
     * #valWindowCount()} non-overlapping windows, and row {@code b} of batch {@code i} is window
     * {@code (b * n + i) mod valWindowCount()} with {@code n = valBatchCount(batchSize)}, so each batch
     * samples the whole validation text evenly. Batches {@code 0..n-1} together cover every window,
     * and {@code index} wraps around modulo {@code n}. When there are fewer windows than rows, windows
     * repeat within a batch.
     *
     * @throws InvalidInputException if {@code batchSize} is below 1
     * @throws IllegalArgumentException if {@code index} is negative
     */
    public Batch valBatch(int index, int batchSize) {
        checkBatchSize(batchSize);
        checkBatchFits(batchSize);
        if (index < 0) {
            throw new IllegalArgumentException("validation batch index must be non-negative, got " + index);
        }
        int windows = valWindowCount();
        int batches = valBatchCount(batchSize);
        int group = index % batches;
        int[] starts = new int[batchSize];
        for (int b = 0; b < batchSize; b++) {
            int window = (int) (((long) b * batches + group) % windows);
            starts[b] = window * context;
        }
        return gather(valData, valOffset, starts);
    }

    /**
     * Returns the validation windows {@code first, first + 1, ..., first + count - 1} as one batch of
     * {@code count} rows, in order. Unlike {@link #valBatch}, nothing wraps around, so consecutive
     * ranges that together span {@code [0, valWindowCount())} cover every window exactly once.
     *
     * @throws IllegalArgumentException if the range is empty or reaches past {@link #valWindowCount()}
     */
    public Batch valWindows(int first, int count) {
        if (first < 0 || count < 1 || (long) first + count > valWindowCount()) {
            throw new IllegalArgumentException("windows " + first + " to " + ((long) first + count - 1)
                    + " are outside [0, " + valWindowCount() + ")");
        }
        checkBatchFits(count);
        int[] starts = new int[count];
        for (int b = 0; b < count; b++) {
            starts[b] = (first + b) * context;
        }
        return gather(valData, valOffset, starts);
    }

    private Batch gather(int[] data, int offset, int[] starts) {
        int batch = starts.length;
        int[] inputs = new int[batch * context];
        int[] targets = new int[batch * context];
        for (int b = 0; b < batch; b++) {
            int start = offset + starts[b];
            System.arraycopy(data, start, inputs, b * context, context);
            System.arraycopy(data, start + 1, targets, b * context, context);
        }
        return new Batch(inputs, targets, batch, context);
    }

    private static void checkContext(int context) {
        if (context < 1) {
            throw new InvalidInputException("context " + context + " is invalid; use a context of at least 1 token");
        }
    }

    private static void checkLength(String name, int length, int context) {
        if (length < context + 1) {
            throw new InvalidInputException(name + " has " + length + " tokens but context " + context
                    + " needs at least " + (context + 1) + " per split; use more text or a smaller --context");
        }
    }

    private void checkBatchFits(int batchSize) {
        if ((long) batchSize * context > Corpus.MAX_BYTES) {
            throw new InvalidInputException("batch size " + batchSize + " times context " + context
                    + " exceeds the maximum array length; use a smaller batch size or context");
        }
    }

    private static void checkBatchSize(int batchSize) {
        if (batchSize < 1) {
            throw new InvalidInputException("batch size " + batchSize + " is invalid; use a batch size of at least 1");
        }
    }
}
