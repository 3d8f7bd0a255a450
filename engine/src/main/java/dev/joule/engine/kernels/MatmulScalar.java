package dev.joule.engine.kernels;

/**
 * Plain-Java matrix multiply: the reference that tests compare the Vector API path against, and the
 * kernel that runs when the incubator module is not loaded.
 *
 * <p>Algorithm: a triple loop. Every output element is a float sum over k in increasing order,
 * started from zero, then stored into C or added to it. For a non-transposed B the loop order is
 * i, k, j so that the inner loop walks rows of B and of a row buffer. That changes only memory
 * order, not the summation order of any element. Threads split the rows of C into blocks of
 * {@link #ROWS_PER_TASK} (a fixed size, so results do not depend on the thread count).
 *
 * <p>This class never references {@code jdk.incubator.vector}. Arguments are checked by
 * {@link Matmul}, not here.
 */
public final class MatmulScalar {
    /** Rows of C per parallel task. It is fixed so that task boundaries never depend on the thread count. */
    static final int ROWS_PER_TASK = 16;

    private static final ThreadLocal<float[]> ROW_BUFFER = ThreadLocal.withInitial(() -> new float[0]);

    private MatmulScalar() {}

    /** Computes C (+)= op(A) @ op(B) for arguments already checked by {@link Matmul#gemm}. */
    static void gemm(boolean transA, boolean transB, int m, int n, int k,
                     float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                     float[] c, int cOff, int ldc, boolean accumulate) {
        gemmBatched(1, transA, transB, m, n, k, a, aOff, lda, 0, b, bOff, ldb, 0, c, cOff, ldc, 0, accumulate);
    }

    /** Computes a batch of products for arguments already checked by {@link Matmul#gemmBatched}. */
    static void gemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k,
                            float[] a, int aOff, int lda, int strideA, float[] b, int bOff, int ldb, int strideB,
                            float[] c, int cOff, int ldc, int strideC, boolean accumulate) {
        if (batch == 0 || m == 0 || n == 0) {
            return;
        }
        int rowBlocks = (m + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
        long tasks = (long) batch * rowBlocks;
        if (tasks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many row blocks: batch=" + batch + ", M=" + m);
        }
        Parallel.forRange((int) tasks, task -> {
            int matrix = task / rowBlocks;
            int row0 = (task % rowBlocks) * ROWS_PER_TASK;
            int row1 = Math.min(m, row0 + ROWS_PER_TASK);
            rows(transA, transB, row0, row1, n, k,
                    a, aOff + matrix * strideA, lda, b, bOff + matrix * strideB, ldb,
                    c, cOff + matrix * strideC, ldc, accumulate);
        });
    }

    private static void rows(boolean transA, boolean transB, int row0, int row1, int n, int k,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float[] c, int cOff, int ldc, boolean accumulate) {
        // A(i, p) sits at aOff + i*aRow + p*aCol whatever the transpose flag.
        int aRow = transA ? 1 : lda;
        int aCol = transA ? lda : 1;
        if (transB) {
            // B(p, j) = b[bOff + j*ldb + p]: column j of op(B) is contiguous, so each element is a dot product.
            for (int i = row0; i < row1; i++) {
                int cRow = cOff + i * ldc;
                for (int j = 0; j < n; j++) {
                    int bCol = bOff + j * ldb;
                    float sum = 0f;
                    for (int p = 0; p < k; p++) {
                        sum += a[aOff + i * aRow + p * aCol] * b[bCol + p];
                    }
                    c[cRow + j] = accumulate ? c[cRow + j] + sum : sum;
                }
            }
            return;
        }
        float[] sums = ROW_BUFFER.get();
        if (sums.length < n) {
            sums = new float[n];
            ROW_BUFFER.set(sums);
        }
        for (int i = row0; i < row1; i++) {
            java.util.Arrays.fill(sums, 0, n, 0f);
            for (int p = 0; p < k; p++) {
                float aip = a[aOff + i * aRow + p * aCol];
                int bRow = bOff + p * ldb;
                for (int j = 0; j < n; j++) {
                    sums[j] += aip * b[bRow + j];
                }
            }
            int cRow = cOff + i * ldc;
            for (int j = 0; j < n; j++) {
                c[cRow + j] = accumulate ? c[cRow + j] + sums[j] : sums[j];
            }
        }
    }
}
