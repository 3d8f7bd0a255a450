package dev.joule.models.lis;

/**
 * The canonical longest strictly increasing subsequence of an integer sequence.
 *
 * <p>When several subsequences have the maximum length, the canonical one is the lexicographically
 * smallest sequence of values. Among equal values the earliest position is taken. That choice does not
 * change the values, because from the earliest position every continuation of a later one is still open.
 */
public final class Lis {
    private Lis() {}

    /**
     * Returns the values of the canonical longest strictly increasing subsequence of {@code sequence}.
     * Runs in O(n^2), which is ample for the lengths of the task.
     */
    public static int[] canonical(int[] sequence) {
        int n = sequence.length;
        // longestFrom[i]: length of the longest strictly increasing subsequence that starts at i.
        int[] longestFrom = new int[n];
        int best = 0;
        for (int i = n - 1; i >= 0; i--) {
            int length = 1;
            for (int j = i + 1; j < n; j++) {
                if (sequence[j] > sequence[i]) {
                    length = Math.max(length, longestFrom[j] + 1);
                }
            }
            longestFrom[i] = length;
            best = Math.max(best, length);
        }

        // Walk left to right, each time taking the smallest value that still completes a maximum-length
        // subsequence. The strict comparison keeps the earliest position among equal values.
        int[] out = new int[best];
        int previousPosition = -1;
        for (int k = 0; k < best; k++) {
            int remaining = best - k;
            int chosen = -1;
            for (int j = previousPosition + 1; j < n; j++) {
                boolean fits = previousPosition < 0 || sequence[j] > sequence[previousPosition];
                if (fits && longestFrom[j] >= remaining && (chosen < 0 || sequence[j] < sequence[chosen])) {
                    chosen = j;
                }
            }
            out[k] = sequence[chosen];
            previousPosition = chosen;
        }
        return out;
    }

    /** Returns true when {@code sub} is strictly increasing and a subsequence of {@code sequence}. */
    public static boolean isIncreasingSubsequence(int[] sub, int[] sequence) {
        for (int k = 1; k < sub.length; k++) {
            if (sub[k] <= sub[k - 1]) {
                return false;
            }
        }
        int k = 0;
        for (int i = 0; i < sequence.length && k < sub.length; i++) {
            if (sequence[i] == sub[k]) {
                k++;
            }
        }
        return k == sub.length;
    }
}
