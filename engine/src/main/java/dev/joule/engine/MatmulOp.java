package dev.joule.engine;

import dev.joule.engine.kernels.Matmul;
import java.util.Arrays;

/**
 * Matrix product over the last two axes: a (..., M, K) @ b (..., K, N) = c (..., M, N), with the
 * leading batch axes broadcast as in NumPy.
 *
 * <p>Transposed operands are not copied: a tensor whose last two axes are a transpose view of a
 * row-major matrix is passed to the kernel with a transpose flag and its leading dimension. Operands
 * are copied only when their batch axes cannot be expressed with one batch stride.
 *
 * <p>Backward: dA = dC @ B^T and dB = A^T @ dC. When b is shared across the batch (a weight), dB is
 * one product over the batch folded into the rows, so the sum over the batch happens inside one
 * reduction of fixed order.
 */
final class MatmulOp {
    private MatmulOp() {}

    /** A matrix operand in the kernel's terms. */
    private record Operand(float[] data, int offset, int ld, boolean trans, int batchStride) {}

    static Tensor matmul(Tensor a, Tensor b) {
        if (a.rank() < 2 || b.rank() < 2) {
            throw new ShapeException("matmul", a.shape, b.shape, "both operands need at least 2 axes");
        }
        int m = a.size(-2);
        int k = a.size(-1);
        int n = b.size(-1);
        if (b.size(-2) != k) {
            throw new ShapeException("matmul", a.shape, b.shape,
                    "inner sizes differ (" + k + " vs " + b.size(-2) + ")");
        }
        int[] batchShape = BinaryOps.broadcastShape("matmul batch axes",
                Arrays.copyOf(a.shape, a.rank() - 2), Arrays.copyOf(b.shape, b.rank() - 2));
        int batch = Shapes.checkedNumel(batchShape);
        int[] outShape = Arrays.copyOf(batchShape, batchShape.length + 2);
        outShape[batchShape.length] = m;
        outShape[batchShape.length + 1] = n;

        Operand av = operand(a, batchShape, m, k);
        Operand bv = operand(b, batchShape, k, n);
        float[] out = Buffers.floats(Shapes.checkedNumel(outShape));
        Matmul.gemmBatched(batch, av.trans, bv.trans, m, n, k, av.data, av.offset, av.ld, av.batchStride,
                bv.data, bv.offset, bv.ld, bv.batchStride, out, 0, n, m * n, false);

        return Autograd.record(Tensor.of(out, outShape), "matmul", g -> {
            float[] dc = g.dense();
            if (a.requiresGrad) {
                // dA (M, K) = dC (M, N) @ B^T (N, K)
                float[] da = Buffers.floats(batch * m * k);
                Matmul.gemmBatched(batch, false, !bv.trans, m, k, n, dc, 0, n, m * n,
                        bv.data, bv.offset, bv.ld, bv.batchStride, da, 0, k, m * k, false);
                Autograd.accumulateOwned(a, reduceBatch(da, batchShape, m, k, a.shape));
            }
            if (b.requiresGrad) {
                Autograd.accumulateOwned(b, gradB(av, dc, batch, batchShape, m, n, k, b.shape));
            }
        }, a, b);
    }

    /** dB (K, N) = A^T (K, M) @ dC (M, N), summed over the batch when b was broadcast. */
    private static float[] gradB(Operand av, float[] dc, int batch, int[] batchShape, int m, int n, int k,
                                 int[] bShape) {
        boolean bShared = bShape.length == 2 || Shapes.numel(Arrays.copyOf(bShape, bShape.length - 2)) == 1;
        if (bShared && !av.trans && (batch == 1 || av.batchStride == m * av.ld)) {
            // Fold the batch into the rows of A: one reduction of length batch*M per element of dB.
            float[] db = Buffers.floats(k * n);
            Matmul.gemm(true, false, k, n, batch * m, av.data, av.offset, av.ld, dc, 0, n, db, 0, n, false);
            return db;
        }
        float[] db = Buffers.floats(batch * k * n);
        Matmul.gemmBatched(batch, !av.trans, false, k, n, m, av.data, av.offset, av.ld, av.batchStride,
                dc, 0, n, m * n, db, 0, n, k * n, false);
        return reduceBatch(db, batchShape, k, n, bShape);
    }

    /** Sums a per-batch gradient of shape (batch..., R, C) down to the operand's own shape. */
    private static float[] reduceBatch(float[] grad, int[] batchShape, int rows, int cols, int[] target) {
        int[] full = Arrays.copyOf(batchShape, batchShape.length + 2);
        full[batchShape.length] = rows;
        full[batchShape.length + 1] = cols;
        if (Arrays.equals(full, target)) {
            return grad;
        }
        return Reductions.sumToShape(Tensor.of(grad, full), target);
    }

    /**
     * Describes {@code t}, broadcast to the batch shape, as (data, offset, ld, trans, batch stride),
     * copying it only when its layout has no such description.
     */
    private static Operand operand(Tensor t, int[] batchShape, int rows, int cols) {
        int[] shape = Arrays.copyOf(batchShape, batchShape.length + 2);
        shape[batchShape.length] = rows;
        shape[batchShape.length + 1] = cols;
        Tensor v;
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            v = t.broadcastTo(shape);
        }
        Operand described = describe(v, batchShape.length, rows, cols);
        if (described != null) {
            return described;
        }
        float[] copy = v.toArray();
        return new Operand(copy, 0, Math.max(cols, 1), false, rows * cols);
    }

    private static Operand describe(Tensor v, int batchAxes, int rows, int cols) {
        int rowStride = v.strides[batchAxes];
        int colStride = v.strides[batchAxes + 1];
        boolean trans;
        int ld;
        if ((colStride == 1 || cols <= 1) && rowStride >= Math.max(cols, 1)) {
            trans = false;
            ld = rows <= 1 ? Math.max(cols, 1) : rowStride;
        } else if ((rowStride == 1 || rows <= 1) && colStride >= Math.max(rows, 1)) {
            trans = true;
            ld = cols <= 1 ? Math.max(rows, 1) : colStride;
        } else {
            return null;
        }
        // The batch axes must collapse to one stride: each axis steps over the next one whole.
        int batchStride = -1;
        int expected = -1;
        for (int ax = batchAxes - 1; ax >= 0; ax--) {
            int size = v.shape[ax];
            int stride = v.strides[ax];
            if (size == 1) {
                continue;
            }
            if (batchStride < 0) {
                batchStride = stride;
                expected = stride * size;
            } else if (stride == expected) {
                expected = stride * size;
            } else {
                return null;
            }
        }
        if (batchStride < 0) {
            batchStride = 0;
        }
        return new Operand(v.data, v.offset, ld, trans, batchStride);
    }
}
