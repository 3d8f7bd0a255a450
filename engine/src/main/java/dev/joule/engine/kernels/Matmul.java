package dev.joule.engine.kernels;

import java.util.Objects;

/**
 * Single-precision matrix multiply (GEMM) on row-major arrays with offsets and leading dimensions.
 *
 * <p>Each call checks its arguments, then runs {@link MatmulVector} when {@link Simd#enabled()} and
 * {@link MatmulScalar} otherwise. Both paths give results that are bitwise identical at any
 * {@link Parallel#threads()} count. The two paths differ from each other by rounding only, because
 * the vector path uses fused multiply-add and blocks the k sum.
 *
 * <p>Element addressing: when {@code transA} is false, A(m, k) is {@code a[aOff + m*lda + k]}; when it
 * is true, A(m, k) is {@code a[aOff + k*lda + m]}. B(k, n) follows the same rule with {@code transB}
 * and {@code ldb}. C(m, n) is {@code c[cOff + m*ldc + n]}. C must not overlap A or B. That is not
 * checked, because two interleaved views of one array are legal and hard to tell from an overlap.
 */
public final class Matmul {
    private Matmul() {}

    /**
     * Computes C[M,N] (+)= op(A)[M,K] @ op(B)[K,N], where op(X) is X or X^T. Row-major with leading dimensions.
     *
     * @param accumulate false overwrites C, true adds the product to it. With K = 0 and
     *     {@code accumulate} false, C is set to zero.
     * @throws IllegalArgumentException if a size, offset or leading dimension is negative, a leading
     *     dimension is shorter than the stored row, or an array is too short for the view
     * @throws NullPointerException if an array is null
     */
    public static void gemm(boolean transA, boolean transB, int M, int N, int K,
                            float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                            float[] c, int cOff, int ldc, boolean accumulate) {
        gemmBatched(1, transA, transB, M, N, K, a, aOff, lda, 0, b, bOff, ldb, 0, c, cOff, ldc, 0, accumulate);
    }

    /**
     * Computes {@code batch} independent products. Matrix i uses offsets {@code aOff + i*strideA},
     * {@code bOff + i*strideB} and {@code cOff + i*strideC}. A stride of 0 broadcasts A or B to every
     * matrix of the batch. The C matrices of different batch entries must not overlap, and with
     * {@code batch > 1} and a non-empty C, {@code strideC} must be positive.
     *
     * @throws IllegalArgumentException under the same conditions as {@link #gemm}, or for a negative
     *     batch or stride, or a zero {@code strideC} with more than one non-empty C
     * @throws NullPointerException if an array is null
     */
    public static void gemmBatched(int batch, boolean transA, boolean transB, int M, int N, int K,
                                   float[] a, int aOff, int lda, int strideA, float[] b, int bOff, int ldb, int strideB,
                                   float[] c, int cOff, int ldc, int strideC, boolean accumulate) {
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        Objects.requireNonNull(c, "c");
        requireNonNegative("batch", batch);
        requireNonNegative("M", M);
        requireNonNegative("N", N);
        requireNonNegative("K", K);
        // Stored shapes: op(A) is M x K, so A itself is K x M when transposed, and likewise for B.
        checkView("a", a, aOff, lda, strideA, batch, transA ? K : M, transA ? M : K, transA ? "M" : "K");
        checkView("b", b, bOff, ldb, strideB, batch, transB ? N : K, transB ? K : N, transB ? "K" : "N");
        checkView("c", c, cOff, ldc, strideC, batch, M, N, "N");
        if (batch > 1 && strideC == 0 && M > 0 && N > 0) {
            throw new IllegalArgumentException(
                    "strideC must be positive when batch > 1, got strideC=0 with batch=" + batch);
        }
        if (batch == 0 || M == 0 || N == 0) {
            return;
        }
        if (K == 0) {
            if (!accumulate) {
                for (int i = 0; i < batch; i++) {
                    for (int m = 0; m < M; m++) {
                        int row = cOff + i * strideC + m * ldc;
                        java.util.Arrays.fill(c, row, row + N, 0f);
                    }
                }
            }
            return;
        }
        if (Simd.enabled()) {
            MatmulVector.gemmBatched(batch, transA, transB, M, N, K, a, aOff, lda, strideA,
                    b, bOff, ldb, strideB, c, cOff, ldc, strideC, accumulate);
        } else {
            MatmulScalar.gemmBatched(batch, transA, transB, M, N, K, a, aOff, lda, strideA,
                    b, bOff, ldb, strideB, c, cOff, ldc, strideC, accumulate);
        }
    }

    private static void requireNonNegative(String name, int value) {
        if (value < 0) {
            throw new IllegalArgumentException(name + " must be non-negative, got " + name + "=" + value);
        }
    }

    /**
     * Checks that {@code batch} matrices of {@code rows x cols}, stored row-major from {@code off}
     * with leading dimension {@code ld} and {@code stride} between matrices, fit in {@code array}.
     */
    private static void checkView(String name, float[] array, int off, int ld, int stride, int batch,
                                  int rows, int cols, String colsName) {
        String ldName = "ld" + name;
        String strideName = "stride" + Character.toUpperCase(name.charAt(0));
        requireNonNegative(name + "Off", off);
        requireNonNegative(strideName, stride);
        if (ld < cols) {
            throw new IllegalArgumentException(ldName + " must be at least " + colsName + " (the row length of "
                    + name + "), got " + ldName + "=" + ld + ", " + colsName + "=" + cols);
        }
        if (batch == 0 || rows == 0 || cols == 0) {
            return;
        }
        long end = off + (long) (batch - 1) * stride + (long) (rows - 1) * ld + cols;
        if (end > array.length) {
            throw new IllegalArgumentException("array " + name + " is too short: the view needs "
                    + end + " elements (" + name + "Off=" + off + ", " + ldName + "=" + ld + ", rows=" + rows
                    + ", cols=" + cols + (batch > 1 ? ", " + strideName + "=" + stride + ", batch=" + batch : "")
                    + ") but " + name + ".length=" + array.length);
        }
    }
}
