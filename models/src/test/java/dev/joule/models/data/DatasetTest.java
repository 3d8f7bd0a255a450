package dev.joule.models.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.models.InvalidInputException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DatasetTest {
    private final ByteTokenizer tokenizer = new ByteTokenizer();

    /** Tokens whose value is their own position, so a window's start can be read off its first token. */
    private static int[] positions(int length) {
        int[] tokens = new int[length];
        Arrays.setAll(tokens, i -> i);
        return tokens;
    }

    @Test
    void splitKeepsLastFractionForValidation() {
        Dataset dataset = Dataset.split(positions(1000), 0.1, 8);
        assertEquals(900, dataset.trainTokens());
        assertEquals(100, dataset.valTokens());
        assertEquals(8, dataset.context());
        // The first validation window starts at the first validation token.
        assertEquals(900, dataset.valBatch(0, 1).inputs()[0]);
    }

    @Test
    void trainBatchDeterministicForSameStep() {
        Dataset dataset = Dataset.split(tokenizer.encode(EnglishText.sample()), 0.1, 16);
        Dataset.Batch first = dataset.trainBatch(42, 7, 4);
        Dataset.Batch second = dataset.trainBatch(42, 7, 4);
        assertArrayEquals(first.inputs(), second.inputs());
        assertArrayEquals(first.targets(), second.targets());
    }

    @Test
    void trainBatchDiffersAcrossStepsAndSeeds() {
        Dataset dataset = Dataset.split(positions(100_000), 0.1, 16);
        int[] step0 = dataset.trainBatch(42, 0, 4).inputs();
        int[] step1 = dataset.trainBatch(42, 1, 4).inputs();
        int[] otherSeed = dataset.trainBatch(43, 0, 4).inputs();
        assertFalse(Arrays.equals(step0, step1));
        assertFalse(Arrays.equals(step0, otherSeed));
    }

    @Test
    void trainBatchIgnoresCallHistory() {
        Dataset dataset = Dataset.split(positions(10_000), 0.1, 8);
        int[] direct = dataset.trainBatch(5, 100, 3).inputs();
        Dataset fresh = Dataset.split(positions(10_000), 0.1, 8);
        for (long step = 0; step < 100; step++) {
            fresh.trainBatch(5, step, 3);
        }
        assertArrayEquals(direct, fresh.trainBatch(5, 100, 3).inputs());
    }

    @Test
    void targetsAreInputsShiftedByOne() {
        Dataset dataset = Dataset.split(positions(5000), 0.2, 12);
        Dataset.Batch batch = dataset.trainBatch(1, 3, 5);

        assertEquals(5, batch.batch());
        assertEquals(12, batch.context());
        assertEquals(60, batch.inputs().length);
        assertEquals(60, batch.targets().length);
        for (int b = 0; b < batch.batch(); b++) {
            int start = batch.inputs()[b * 12];
            for (int t = 0; t < 12; t++) {
                assertEquals(start + t, batch.inputs()[b * 12 + t], "row " + b + " input " + t);
                assertEquals(start + t + 1, batch.targets()[b * 12 + t], "row " + b + " target " + t);
            }
        }
    }

    @Test
    void trainWindowsStayInTrainingPart() {
        Dataset dataset = Dataset.split(positions(200), 0.5, 10);
        Set<Integer> starts = new HashSet<>();
        for (long step = 0; step < 500; step++) {
            Dataset.Batch batch = dataset.trainBatch(9, step, 4);
            for (int b = 0; b < 4; b++) {
                int start = batch.inputs()[b * 10];
                starts.add(start);
                // The last target of a window must still be a training token.
                assertTrue(batch.targets()[b * 10 + 9] < 100, "window at " + start + " reads validation tokens");
            }
        }
        // 2000 draws over 90 possible starts reach every one of them.
        assertEquals(90, starts.size());
    }

    @Test
    void valBatchesFixedAndEvenlySpaced() {
        Dataset dataset = Dataset.split(positions(1000), 0.1, 8);
        // 100 validation tokens hold (100 - 1) / 8 = 12 windows, so batches of 4 rows take 3 batches.
        assertEquals(12, dataset.valWindowCount());
        assertEquals(3, dataset.valBatchCount(4));

        Dataset.Batch first = dataset.valBatch(0, 4);
        assertArrayEquals(first.inputs(), dataset.valBatch(0, 4).inputs());
        assertEquals(900, first.inputs()[0]);
        assertEquals(900 + 3 * 8, first.inputs()[8]);
        assertEquals(900 + 6 * 8, first.inputs()[16]);
        assertEquals(900 + 9 * 8, first.inputs()[24]);
        assertEquals(900 + 1, first.targets()[0]);
    }

    @Test
    void valBatchesCoverEveryWindowAndWrap() {
        Dataset dataset = Dataset.split(positions(1000), 0.1, 8);
        Set<Integer> starts = new HashSet<>();
        for (int index = 0; index < dataset.valBatchCount(4); index++) {
            Dataset.Batch batch = dataset.valBatch(index, 4);
            for (int b = 0; b < 4; b++) {
                starts.add(batch.inputs()[b * 8]);
            }
        }
        assertEquals(12, starts.size());
        assertArrayEquals(dataset.valBatch(1, 4).inputs(), dataset.valBatch(4, 4).inputs());
    }

    @Test
    void valBatchRepeatsWindowsWhenFewerThanRows() {
        Dataset dataset = Dataset.of(positions(100), positions(10), 4);
        assertEquals(2, dataset.valWindowCount());
        Dataset.Batch batch = dataset.valBatch(0, 5);
        assertEquals(5, batch.batch());
        for (int b = 0; b < 5; b++) {
            int start = batch.inputs()[b * 4];
            assertTrue(start == 0 || start == 4, "unexpected window start " + start);
            assertTrue(batch.targets()[b * 4 + 3] < 10, "row " + b + " reads past the validation tokens");
        }
    }

    @Test
    void separateValidationCorpusUsed() {
        int[] train = positions(50);
        int[] val = new int[20];
        Arrays.fill(val, 7);
        Dataset dataset = Dataset.of(train, val, 4);
        assertEquals(50, dataset.trainTokens());
        assertEquals(20, dataset.valTokens());
        for (int token : dataset.valBatch(0, 3).inputs()) {
            assertEquals(7, token);
        }
    }

    @Test
    void shortCorpusRejected() {
        InvalidInputException error =
                assertThrows(InvalidInputException.class, () -> Dataset.split(positions(100), 0.1, 16));
        assertTrue(error.getMessage().startsWith("corpus has 100 tokens (90 for training and 10 for validation)"),
                error.getMessage());
        assertTrue(error.getMessage().contains("context 16 needs at least 17 per split"), error.getMessage());
        assertTrue(error.getMessage().contains("--context"), error.getMessage());
    }

    @Test
    void exactMinimumAccepted() {
        // 10 validation tokens and context 9 leave exactly one window.
        Dataset dataset = Dataset.split(positions(100), 0.1, 9);
        assertEquals(1, dataset.valWindowCount());
        assertEquals(90, dataset.valBatch(0, 1).inputs()[0]);
    }

    @Test
    void shortSeparateCorporaRejected() {
        InvalidInputException train =
                assertThrows(InvalidInputException.class, () -> Dataset.of(positions(8), positions(100), 8));
        assertTrue(train.getMessage().startsWith("training corpus has 8 tokens but context 8 needs at least 9"),
                train.getMessage());

        InvalidInputException val =
                assertThrows(InvalidInputException.class, () -> Dataset.of(positions(100), positions(3), 8));
        assertTrue(val.getMessage().startsWith("validation corpus has 3 tokens but context 8 needs at least 9"),
                val.getMessage());
    }

    @Test
    void invalidParametersRejected() {
        int[] tokens = positions(1000);
        for (double fraction : new double[] {0, 1, -0.5, 1.5, Double.NaN}) {
            InvalidInputException error =
                    assertThrows(InvalidInputException.class, () -> Dataset.split(tokens, fraction, 8));
            assertTrue(error.getMessage().startsWith("validation fraction " + fraction), error.getMessage());
        }
        InvalidInputException context =
                assertThrows(InvalidInputException.class, () -> Dataset.split(tokens, 0.1, 0));
        assertTrue(context.getMessage().startsWith("context 0 is invalid"), context.getMessage());

        Dataset dataset = Dataset.split(tokens, 0.1, 8);
        InvalidInputException batch = assertThrows(InvalidInputException.class, () -> dataset.trainBatch(1, 0, 0));
        assertTrue(batch.getMessage().startsWith("batch size 0 is invalid"), batch.getMessage());
        assertThrows(IllegalArgumentException.class, () -> dataset.trainBatch(1, -1, 2));
        assertThrows(IllegalArgumentException.class, () -> dataset.valBatch(-1, 2));
    }
}
