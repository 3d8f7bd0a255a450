package dev.joule.engine;

import java.util.Arrays;

/**
 * Sum, mean and max over axes. The reduced axes are moved last and each output element sums its
 * inputs in ascending index order, so results do not depend on the thread count.
 */
final class Reductions {
    private Reductions() {}

    /** Normalizes, deduplicates and sorts axes; an empty array means every axis. */
    private static boolean[] reducedMask(int[] axes, int rank) {
        boolean[] mask = new boolean[rank];
        if (axes.length == 0) {
            Arrays.fill(mask, true);
        }
        for (int a : axes) {
            mask[Shapes.axis(a, rank)] = true;
        }
        return mask;
    }

    private static int[] outShape(int[] shape, boolean[] mask, boolean keepDims) {
        int kept = 0;
        for (int k = 0; k < shape.length; k++) {
            if (!mask[k] || keepDims) {
                kept++;
            }
        }
        int[] out = new int[kept];
        int j = 0;
        for (int k = 0; k < shape.length; k++) {
            if (!mask[k]) {
                out[j++] = shape[k];
            } else if (keepDims) {
                out[j++] = 1;
            }
        }
        return out;
    }

    /** Returns x permuted so that kept axes come first and reduced axes last, as a contiguous array. */
    private static float[] reducedLast(Tensor x, boolean[] mask) {
        int rank = x.shape.length;
        int[] perm = new int[rank];
        int j = 0;
        for (int k = 0; k < rank; k++) {
            if (!mask[k]) {
                perm[j++] = k;
            }
        }
        for (int k = 0; k < rank; k++) {
            if (mask[k]) {
                perm[j++] = k;
            }
        }
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            return x.permute(perm).toArray();
        }
    }

    private static int reducedCount(int[] shape, boolean[] mask) {
        int n = 1;
        for (int k = 0; k < shape.length; k++) {
            if (mask[k]) {
                n *= shape[k];
            }
        }
        return n;
    }

    static Tensor sum(Tensor x, int[] axes, boolean keepDims) {
        boolean[] mask = reducedMask(axes, x.shape.length);
        int[] shape = outShape(x.shape, mask, keepDims);
        int inner = reducedCount(x.shape, mask);
        float[] values = reducedLast(x, mask);
        int outer = inner == 0 ? Shapes.checkedNumel(shape) : values.length / inner;
        float[] out = Buffers.floats(outer);
        for (int o = 0; o < outer; o++) {
            out[o] = (float) dev.joule.engine.kernels.Elementwise.sum(values, o * inner, inner);
        }
        int[] keptShape = outShape(x.shape, mask, true);
        return Autograd.record(Tensor.of(out, shape), "sum", g -> {
            float[] gx = BinaryOps.expanded(g.reshape(keptShape), x.shape);
            Autograd.accumulateOwned(x, gx);
        }, x);
    }

    static Tensor sumAll(Tensor x) {
        return sum(x, new int[0], false);
    }

    static Tensor mean(Tensor x, int[] axes, boolean keepDims) {
        boolean[] mask = reducedMask(axes, x.shape.length);
        int count = reducedCount(x.shape, mask);
        if (count == 0) {
            throw new ShapeException("mean over axes " + Arrays.toString(axes) + " of shape "
                    + Arrays.toString(x.shape) + ": no elements to average");
        }
        return sum(x, axes, keepDims).scale(1f / count);
    }

    static Tensor meanAll(Tensor x) {
        return mean(x, new int[0], false);
    }

    static Tensor max(Tensor x, int axis, boolean keepDims) {
        int a = Shapes.axis(axis, x.shape.length);
        boolean[] mask = new boolean[x.shape.length];
        mask[a] = true;
        int inner = x.shape[a];
        if (inner == 0) {
            throw new ShapeException("max over axis " + a + " of shape " + Arrays.toString(x.shape)
                    + ": the axis is empty");
        }
        int[] shape = outShape(x.shape, mask, keepDims);
        float[] values = reducedLast(x, mask);
        int outer = values.length / inner;
        float[] out = Buffers.floats(outer);
        int[] argmax = new int[outer];
        for (int o = 0; o < outer; o++) {
            int base = o * inner;
            int best = 0;
            for (int i = 1; i < inner; i++) {
                if (values[base + i] > values[base + best]) {
                    best = i;
                }
            }
            argmax[o] = best;
            out[o] = values[base + best];
        }
        return Autograd.record(Tensor.of(out, shape), "max", g -> {
            // Scatter into the permuted layout (axis a last), then permute back to x's layout.
            float[] gv = g.toArray();
            float[] permuted = Buffers.floats(values.length);
            for (int o = 0; o < outer; o++) {
                permuted[o * inner + argmax[o]] = gv[o];
            }
            int[] permShape = new int[x.shape.length];
            int[] inverse = new int[x.shape.length];
            int j = 0;
            for (int k = 0; k < x.shape.length; k++) {
                if (k != a) {
                    inverse[k] = j;
                    permShape[j++] = x.shape[k];
                }
            }
            inverse[a] = j;
            permShape[j] = inner;
            Autograd.accumulateOwned(x, Tensor.of(permuted, permShape).permute(inverse).toArray());
        }, x);
    }

    /**
     * Returns the product of the leading axes of {@code shape} when {@code target}, after dropping its
     * leading size-1 axes, equals the trailing axes of {@code shape}; otherwise -1.
     */
    static int leadingRows(int[] shape, int[] target) {
        int start = 0;
        while (start < target.length && target[start] == 1) {
            start++;
        }
        int suffix = target.length - start;
        if (suffix > shape.length) {
            return -1;
        }
        int lead = shape.length - suffix;
        for (int k = 0; k < suffix; k++) {
            if (shape[lead + k] != target[start + k]) {
                return -1;
            }
        }
        long rows = 1;
        for (int k = 0; k < lead; k++) {
            rows *= shape[k];
        }
        return (int) rows;
    }

    /**
     * Sums a gradient of a broadcast shape down to {@code target}, the shape of the operand that was
     * broadcast. Elements are added in row-major order of {@code g}, so the result is deterministic.
     */
    static float[] sumToShape(Tensor g, int[] target) {
        if (Arrays.equals(g.shape, target)) {
            return g.toArray();
        }
        int rows = leadingRows(g.shape, target);
        if (rows >= 0) {
            // target is a suffix of g's shape: add the rows of g into one row, in row order.
            float[] values = g.isContiguous() ? g.data : g.toArray();
            int base = g.isContiguous() ? g.offset : 0;
            int cols = Shapes.checkedNumel(target);
            float[] out = Buffers.floats(cols);
            for (int r = 0; r < rows; r++) {
                dev.joule.engine.kernels.Elementwise.add(out, 0, values, base + r * cols, out, 0, cols);
            }
            return out;
        }
        int rank = g.shape.length;
        int lead = rank - target.length;
        int[] targetStrides = Shapes.contiguousStrides(target);
        int[] strides = new int[rank];
        for (int k = lead; k < rank; k++) {
            strides[k] = target[k - lead] == 1 && g.shape[k] != 1 ? 0 : targetStrides[k - lead];
        }
        float[] out = Buffers.floats(Shapes.checkedNumel(target));
        float[] values = g.toArray();
        int[] index = new int[rank];
        int pos = 0;
        for (float v : values) {
            out[pos] += v;
            for (int k = rank - 1; k >= 0; k--) {
                index[k]++;
                pos += strides[k];
                if (index[k] < g.shape[k]) {
                    break;
                }
                pos -= strides[k] * index[k];
                index[k] = 0;
            }
        }
        return out;
    }
}
