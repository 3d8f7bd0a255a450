package dev.joule.engine;

import java.util.Arrays;

/**
 * Views: tensors that share storage with their source and differ only in shape, strides and offset.
 * Each view's backward maps the gradient of the view back onto the shape of its source.
 */
final class Views {
    private Views() {}

    static Tensor reshape(Tensor x, int[] requested) {
        int[] shape = resolveShape(x, requested);
        if (Arrays.equals(shape, x.shape)) {
            return x;
        }
        Tensor src = x.isContiguous() ? x : contiguous(x);
        Tensor out = new Tensor(src.data, src.offset, shape, Shapes.contiguousStrides(shape));
        int[] inShape = x.shape;
        return Autograd.record(out, "reshape", g -> Autograd.accumulate(src, g.reshape(inShape)), src);
    }

    private static int[] resolveShape(Tensor x, int[] requested) {
        int[] shape = requested.clone();
        int inferred = -1;
        long known = 1;
        for (int k = 0; k < shape.length; k++) {
            if (shape[k] == -1) {
                if (inferred >= 0) {
                    throw new ShapeException("reshape of " + Arrays.toString(x.shape) + " to "
                            + Arrays.toString(requested) + ": at most one size may be -1");
                }
                inferred = k;
            } else if (shape[k] < 0) {
                throw new ShapeException("reshape of " + Arrays.toString(x.shape) + " to "
                        + Arrays.toString(requested) + ": negative size");
            } else {
                known *= shape[k];
            }
        }
        int n = x.numel();
        if (inferred >= 0) {
            if (known == 0 || n % known != 0) {
                throw new ShapeException("reshape", x.shape, requested,
                        n + " elements cannot be split that way");
            }
            shape[inferred] = (int) (n / known);
            known *= shape[inferred];
        }
        if (known != n) {
            throw new ShapeException("reshape", x.shape, requested,
                    "element counts differ (" + n + " vs " + known + ")");
        }
        return shape;
    }

    static Tensor permute(Tensor x, int[] dims) {
        int rank = x.shape.length;
        if (dims.length != rank) {
            throw new ShapeException("permute of shape " + Arrays.toString(x.shape) + " by "
                    + Arrays.toString(dims) + ": need one entry per axis");
        }
        int[] shape = new int[rank];
        int[] strides = new int[rank];
        int[] inverse = new int[rank];
        boolean[] seen = new boolean[rank];
        for (int k = 0; k < rank; k++) {
            int d = Shapes.axis(dims[k], rank);
            if (seen[d]) {
                throw new ShapeException("permute of shape " + Arrays.toString(x.shape) + " by "
                        + Arrays.toString(dims) + ": axis " + d + " repeats");
            }
            seen[d] = true;
            shape[k] = x.shape[d];
            strides[k] = x.strides[d];
            inverse[d] = k;
        }
        Tensor out = new Tensor(x.data, x.offset, shape, strides);
        return Autograd.record(out, "permute", g -> Autograd.accumulate(x, g.permute(inverse)), x);
    }

    static Tensor transpose(Tensor x, int a, int b) {
        int rank = x.shape.length;
        int[] dims = new int[rank];
        for (int k = 0; k < rank; k++) {
            dims[k] = k;
        }
        int aa = Shapes.axis(a, rank);
        int bb = Shapes.axis(b, rank);
        dims[aa] = bb;
        dims[bb] = aa;
        return permute(x, dims);
    }

    static Tensor slice(Tensor x, int axis, int from, int to) {
        int a = Shapes.axis(axis, x.shape.length);
        if (from < 0 || to > x.shape[a] || from > to) {
            throw new ShapeException("slice [" + from + ", " + to + ") of axis " + a + " is out of range"
                    + " for shape " + Arrays.toString(x.shape));
        }
        int[] shape = x.shape.clone();
        shape[a] = to - from;
        Tensor out = new Tensor(x.data, x.offset + from * x.strides[a], shape, x.strides.clone());
        return Autograd.record(out, "slice", g -> {
            float[] full = Buffers.floats(x.numel());
            Tensor target = Tensor.of(full, x.shape).slice(a, from, to);
            scatterInto(target, g);
            Autograd.accumulateOwned(x, full);
        }, x);
    }

    /** Writes the values of {@code src} into the (possibly strided) view {@code dst}. */
    static void scatterInto(Tensor dst, Tensor src) {
        float[] values = src.toArray();
        int n = values.length;
        int rank = dst.shape.length;
        int[] index = new int[rank];
        for (int i = 0; i < n; i++) {
            int pos = dst.offset;
            for (int k = 0; k < rank; k++) {
                pos += index[k] * dst.strides[k];
            }
            dst.data[pos] = values[i];
            for (int k = rank - 1; k >= 0; k--) {
                if (++index[k] < dst.shape[k]) {
                    break;
                }
                index[k] = 0;
            }
        }
    }

    static Tensor broadcastTo(Tensor x, int[] target) {
        int rank = target.length;
        if (rank < x.shape.length) {
            throw new ShapeException("broadcastTo", x.shape, target, "target has fewer axes");
        }
        int[] strides = new int[rank];
        int lead = rank - x.shape.length;
        for (int k = 0; k < rank; k++) {
            if (k < lead) {
                strides[k] = 0;
                continue;
            }
            int s = x.shape[k - lead];
            if (s == target[k]) {
                strides[k] = x.strides[k - lead];
            } else if (s == 1) {
                strides[k] = 0;
            } else {
                throw new ShapeException("broadcastTo", x.shape, target,
                        "axis " + k + " has size " + s + ", which is neither 1 nor " + target[k]);
            }
        }
        if (Arrays.equals(x.shape, target)) {
            return x;
        }
        Tensor out = new Tensor(x.data, x.offset, target.clone(), strides);
        int[] inShape = x.shape;
        return Autograd.record(out, "broadcast",
                g -> Autograd.accumulateOwned(x, Reductions.sumToShape(g, inShape)), x);
    }

    static Tensor contiguous(Tensor x) {
        if (x.isContiguous()) {
            return x;
        }
        Tensor out = Tensor.of(x.toArray(), x.shape);
        return Autograd.record(out, "contiguous", g -> Autograd.accumulate(x, g), x);
    }
}
