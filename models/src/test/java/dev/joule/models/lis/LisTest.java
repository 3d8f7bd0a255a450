package dev.joule.models.lis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.engine.LossOps;
import dev.joule.engine.Rng;
import dev.joule.models.data.Dataset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The LIS generator against independent references, and the layout of its batches. */
class LisTest {
    /** Patience sorting: the length of the longest strictly increasing subsequence in O(n log n). */
    static int patienceLength(int[] a) {
        int[] tops = new int[a.length];
        int piles = 0;
        for (int x : a) {
            // Leftmost pile whose top is >= x; strictness makes equal values share a pile.
            int lo = 0;
            int hi = piles;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (tops[mid] < x) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            tops[lo] = x;
            if (lo == piles) {
                piles++;
            }
        }
        return piles;
    }

    /** Every strictly increasing subsequence of maximum length, by enumerating all subsets (n <= 12). */
    static int[] bruteForceSmallest(int[] a) {
        List<int[]> best = new ArrayList<>();
        int bestLength = 0;
        for (int mask = 0; mask < (1 << a.length); mask++) {
            int[] sub = new int[Integer.bitCount(mask)];
            int k = 0;
            boolean increasing = true;
            for (int i = 0; i < a.length; i++) {
                if ((mask & (1 << i)) != 0) {
                    if (k > 0 && a[i] <= sub[k - 1]) {
                        increasing = false;
                        break;
                    }
                    sub[k++] = a[i];
                }
            }
            if (!increasing || sub.length < bestLength) {
                continue;
            }
            if (sub.length > bestLength) {
                best.clear();
                bestLength = sub.length;
            }
            best.add(sub);
        }
        return best.stream().min(Arrays::compare).orElse(new int[0]);
    }

    private static int[] random(long seed, int n, int alphabet) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = Rng.nextInt(seed, 7, i, alphabet);
        }
        return a;
    }

    @Test
    void edgeCases() {
        assertArrayEquals(new int[0], Lis.canonical(new int[0]));
        assertArrayEquals(new int[] {4}, Lis.canonical(new int[] {4, 4, 4, 4}));
        assertArrayEquals(new int[] {1}, Lis.canonical(new int[] {5, 4, 3, 2, 1}));
        assertArrayEquals(new int[] {0, 1, 2, 3}, Lis.canonical(new int[] {0, 1, 2, 3}));
        assertArrayEquals(new int[] {7}, Lis.canonical(new int[] {7}));
    }

    @Test
    void lengthMatchesPatienceSorting() {
        for (long seed = 0; seed < 500; seed++) {
            int n = (int) (seed % 40);
            int[] a = random(seed, n, 1 + (int) (seed % 17));
            int[] lis = Lis.canonical(a);
            assertEquals(patienceLength(a), lis.length, "length for " + Arrays.toString(a));
            assertTrue(Lis.isIncreasingSubsequence(lis, a), Arrays.toString(lis) + " in " + Arrays.toString(a));
        }
        for (int[] a : new int[][] {{}, {3, 3, 3}, {9, 8, 7, 6}, {1, 2, 3, 4, 5}}) {
            assertEquals(patienceLength(a), Lis.canonical(a).length, Arrays.toString(a));
        }
    }

    @Test
    void canonicalIsLexicographicallySmallest() {
        for (long seed = 0; seed < 300; seed++) {
            int[] a = random(seed, 1 + (int) (seed % 12), 2 + (int) (seed % 9));
            assertArrayEquals(bruteForceSmallest(a), Lis.canonical(a), Arrays.toString(a));
        }
    }

    @Test
    void validityCheckRejectsBadAnswers() {
        int[] a = {3, 1, 2, 5};
        assertTrue(Lis.isIncreasingSubsequence(new int[] {1, 2, 5}, a));
        assertEquals(false, Lis.isIncreasingSubsequence(new int[] {2, 1}, a));
        assertEquals(false, Lis.isIncreasingSubsequence(new int[] {1, 4}, a));
        assertEquals(false, Lis.isIncreasingSubsequence(new int[] {5, 5}, new int[] {5, 5}));
    }

    @Test
    void batchCountsOnlyTheAnswer() {
        LisTask task = new LisTask(6, 10, LisTask.minContext(6) + 2, 64);
        Dataset.Batch batch = task.trainBatch(3, 5, 4);
        int t = task.context();
        for (int b = 0; b < 4; b++) {
            int[] seq = task.trainSequence(3, 5, 4, b);
            int[] answer = Lis.canonical(seq);
            for (int i = 0; i < 6; i++) {
                assertEquals(seq[i], batch.inputs()[b * t + i]);
            }
            assertEquals(LisTask.SEP, batch.inputs()[b * t + 6]);
            for (int i = 0; i < t; i++) {
                int target = batch.targets()[b * t + i];
                if (i < 6) {
                    assertEquals(LossOps.IGNORE, target, "question position " + i);
                } else if (i < 6 + answer.length) {
                    assertEquals(answer[i - 6], target, "answer position " + i);
                } else if (i == 6 + answer.length) {
                    assertEquals(LisTask.END, target, "end position");
                } else {
                    assertEquals(LossOps.IGNORE, target, "padding position " + i);
                }
            }
        }
        assertArrayEquals(batch.inputs(), task.trainBatch(3, 5, 4).inputs(), "same arguments, same batch");
    }

    @Test
    void validationBatchesCoverTheFixedRows() {
        LisTask task = new LisTask(5, 8, LisTask.minContext(5), 10);
        assertEquals(3, task.valBatchCount(4));
        Dataset.Batch first = task.valBatch(0, 4);
        assertArrayEquals(task.valSequence(0), Arrays.copyOf(first.inputs(), 5));
        assertArrayEquals(first.inputs(), task.valBatch(3, 4).inputs(), "index wraps around");
    }
}
