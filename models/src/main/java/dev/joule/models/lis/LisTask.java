package dev.joule.models.lis;

import dev.joule.engine.Autograd;
import dev.joule.engine.LossOps;
import dev.joule.engine.Rng;
import dev.joule.engine.Tensor;
import dev.joule.models.InvalidInputException;
import dev.joule.models.data.BatchSource;
import dev.joule.models.data.Dataset;
import dev.joule.models.gpt.Gpt;

/**
 * The longest-increasing-subsequence task as a {@link BatchSource}: each row is a random sequence of
 * {@code length} values in [0, alphabet), the separator, the canonical answer ({@link Lis#canonical})
 * and the end token, padded to the context.
 *
 * <p>Tokens: a value v is token v, {@link #SEP} separates question and answer, {@link #END} closes the
 * answer and {@link #PAD} fills the rest. The model reads the row and predicts the next token. Every
 * target is {@link LossOps#IGNORE} except those that predict an answer token or the end token, so the
 * loss counts only the answer. Rows are pure functions of (seed, step, row) for training and of the row
 * index for validation, drawn from separate random streams.
 *
 * <p>NOTE: training and validation sequences come from the same distribution and are not
 * deduplicated, so with a small alphabet and length some validation rows also occur in training.
 */
public final class LisTask implements BatchSource {
    /** Separator between the sequence and its answer. */
    public static final int SEP = 250;
    /** End of the answer. */
    public static final int END = 251;
    /** Padding after the end token; never a target. */
    public static final int PAD = 252;
    /** The largest alphabet: values must stay below the special tokens. */
    public static final int MAX_ALPHABET = SEP;

    private static final long TRAIN_STREAM = 0x4C49_535F_5452_4149L;
    private static final long VAL_STREAM = 0x4C49_535F_5641_4C00L;
    private static final long VAL_SEED = 0x5EED_0F11_5EEDL;

    private final int length;
    private final int alphabet;
    private final int context;
    private final int valRows;

    /**
     * Creates the task.
     *
     * @param length values per sequence, L
     * @param alphabet number of distinct values, A, at most {@link #MAX_ALPHABET}
     * @param context row length T; at least {@link #minContext(int)}
     * @param valRows number of fixed validation sequences
     * @throws InvalidInputException for a value out of range, naming the option
     */
    public LisTask(int length, int alphabet, int context, int valRows) {
        if (length < 1) {
            throw new InvalidInputException("--lis-length must be a positive integer, got " + length);
        }
        if (alphabet < 1 || alphabet > MAX_ALPHABET) {
            throw new InvalidInputException("--lis-alphabet must be between 1 and " + MAX_ALPHABET + ", got "
                    + alphabet);
        }
        if (context < minContext(length)) {
            throw new InvalidInputException("--context " + context + " is too short for --lis-length " + length
                    + ": a row needs 2 * length + 1 = " + minContext(length) + " tokens");
        }
        if (valRows < 1) {
            throw new InvalidInputException("the LIS task needs at least one validation row, got " + valRows);
        }
        this.length = length;
        this.alphabet = alphabet;
        this.context = context;
        this.valRows = valRows;
    }

    /**
     * Returns the shortest context that fits a row: L values, the separator and up to L answer values
     * as inputs, with the end token as the last target.
     */
    public static int minContext(int length) {
        return 2 * length + 1;
    }

    public int length() {
        return length;
    }

    public int alphabet() {
        return alphabet;
    }

    @Override
    public int context() {
        return context;
    }

    /** Returns the random sequence of training row {@code row} of step {@code step}. */
    public int[] trainSequence(long seed, long step, int batchSize, int row) {
        return sequence(seed, TRAIN_STREAM, (step * batchSize + row) * length);
    }

    /** Returns validation sequence {@code index}, in [0, valRows). */
    public int[] valSequence(int index) {
        return sequence(VAL_SEED, VAL_STREAM, (long) index * length);
    }

    private int[] sequence(long seed, long stream, long position) {
        int[] values = new int[length];
        for (int i = 0; i < length; i++) {
            values[i] = Rng.nextInt(seed, stream, position + i, alphabet);
        }
        return values;
    }

    @Override
    public Dataset.Batch trainBatch(long seed, long step, int batchSize) {
        checkBatchSize(batchSize);
        if (step < 0) {
            throw new IllegalArgumentException("step must be non-negative, got " + step);
        }
        int[][] rows = new int[batchSize][];
        for (int b = 0; b < batchSize; b++) {
            rows[b] = trainSequence(seed, step, batchSize, b);
        }
        return batch(rows);
    }

    @Override
    public Dataset.Batch valBatch(int index, int batchSize) {
        checkBatchSize(batchSize);
        if (index < 0) {
            throw new IllegalArgumentException("validation batch index must be non-negative, got " + index);
        }
        int group = index % valBatchCount(batchSize);
        int[][] rows = new int[batchSize][];
        for (int b = 0; b < batchSize; b++) {
            rows[b] = valSequence((group * batchSize + b) % valRows);
        }
        return batch(rows);
    }

    @Override
    public int valBatchCount(int batchSize) {
        checkBatchSize(batchSize);
        return (valRows + batchSize - 1) / batchSize;
    }

    /** Returns the number of fixed validation sequences. */
    public int valRows() {
        return valRows;
    }

    /** Builds the rows "sequence SEP answer END PAD..." of {@code sequences} as inputs and targets. */
    Dataset.Batch batch(int[][] sequences) {
        int rows = sequences.length;
        int[] inputs = new int[rows * context];
        int[] targets = new int[rows * context];
        for (int b = 0; b < rows; b++) {
            int[] full = row(sequences[b]);
            int answerStart = length + 1;
            int answerEnd = answerStart + Lis.canonical(sequences[b]).length;
            for (int t = 0; t < context; t++) {
                inputs[b * context + t] = full[t];
                // Position t predicts full[t + 1]; only the answer and its end token count.
                boolean counted = t + 1 >= answerStart && t + 1 <= answerEnd;
                targets[b * context + t] = counted ? full[t + 1] : LossOps.IGNORE;
            }
        }
        return new Dataset.Batch(inputs, targets, rows, context);
    }

    /** Returns the tokens of one row, context + 1 long so that the last input has a target. */
    private int[] row(int[] sequence) {
        int[] answer = Lis.canonical(sequence);
        int[] full = new int[context + 1];
        java.util.Arrays.fill(full, PAD);
        System.arraycopy(sequence, 0, full, 0, length);
        full[length] = SEP;
        System.arraycopy(answer, 0, full, length + 1, answer.length);
        full[length + 1 + answer.length] = END;
        return full;
    }

    /**
     * Returns the share of validation rows whose answer greedy decoding reproduces exactly, end token
     * included, over the first {@code rows} validation sequences (all of them when {@code rows} exceeds
     * the count).
     *
     * <p>Greedy decoding from "sequence SEP" yields the answer exactly if and only if, with the true answer
     * as input, the argmax at every answer position is the true next token: by induction, the decoded
     * prefix equals the true prefix as long as every earlier argmax was right. So one causal forward pass
     * per batch decides the match, with no token-by-token loop.
     */
    public double exactMatch(Gpt model, int batchSize, int rows) {
        checkBatchSize(batchSize);
        int total = Math.min(rows, valRows);
        int matched = 0;
        model.train(false);
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            for (int start = 0; start < total; start += batchSize) {
                int n = Math.min(batchSize, total - start);
                int[][] sequences = new int[n][];
                for (int b = 0; b < n; b++) {
                    sequences[b] = valSequence(start + b);
                }
                Dataset.Batch batch = batch(sequences);
                Tensor logits = model.forward(batch.inputs(), n, context, 0);
                matched += countMatches(logits.toArray(), batch.targets(), n, logits.size(1));
            }
        }
        model.train(true);
        return total == 0 ? Double.NaN : (double) matched / total;
    }

    private int countMatches(float[] logits, int[] targets, int rows, int vocab) {
        int matched = 0;
        for (int b = 0; b < rows; b++) {
            boolean all = true;
            for (int t = 0; t < context && all; t++) {
                int target = targets[b * context + t];
                if (target != LossOps.IGNORE && argmax(logits, (b * context + t) * vocab, vocab) != target) {
                    all = false;
                }
            }
            if (all) {
                matched++;
            }
        }
        return matched;
    }

    private static int argmax(float[] values, int offset, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (values[offset + i] > values[offset + best]) {
                best = i;
            }
        }
        return best;
    }

    private static void checkBatchSize(int batchSize) {
        if (batchSize < 1) {
            throw new InvalidInputException("batch size " + batchSize + " is invalid; use a batch size of at least 1");
        }
    }
}
