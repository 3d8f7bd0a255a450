package dev.joule.engine;

import java.util.Arrays;

/** Ops that select, combine or mask elements: embedding lookup, concat, split, causal mask, dropout. */
public final class IndexOps {
    private IndexOps() {}

    /**
     * Gathers rows of an embedding table.
     *
     * @param weight (V, C)
     * @param ids token ids in [0, V), laid out in {@code shape}
     * @param shape the shape of {@code ids}, for example (B, T)
     * @return (shape..., C)
     */
    public static Tensor embedding(Tensor weight, int[] ids, int... shape) {
        if (weight.rank() != 2) {
            throw new ShapeException("embedding expects a weight of shape (V, C), got "
                    + Arrays.toString(weight.shape));
        }
        if (Shapes.numel(shape) != ids.length) {
            throw new ShapeException("embedding: shape " + Arrays.toString(shape) + " does not hold "
                    + ids.length + " ids");
        }
        int vocab = weight.size(0);
        int c = weight.size(1);
        float[] w = weight.isContiguous() && weight.offset == 0 ? weight.data : weight.toArray();
        float[] out = Buffers.floats(ids.length * c);
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id >= vocab) {
                throw new IndexOutOfBoundsException("embedding: id " + id + " at position " + i
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
            System.arraycopy(w, id * c, out, i * c, c);
        }
        int[] outShape = Arrays.copyOf(shape, shape.length + 1);
        outShape[shape.length] = c;
        return Autograd.record(Tensor.of(out, outShape), "embedding", g -> {
            // Scatter-add in position order, so repeated ids sum in a fixed order.
            float[] gv = g.toArray();
            float[] dw = Buffers.floats(vocab * c);
            for (int i = 0; i < ids.length; i++) {
                int row = ids[i] * c;
                int src = i * c;
                for (int j = 0; j < c; j++) {
                    dw[row + j] += gv[src + j];
                }
            }
            Autograd.accumulateOwned(weight, dw);
        }, weight);
    }

    /** Concatenates tensors along one axis; all other sizes must match. */
    public static Tensor concat(int axis, Tensor... parts) {
        if (parts.length == 0) {
            throw new IllegalArgumentException("concat needs at least one tensor");
        }
        int rank = parts[0].rank();
        int a = Shapes.axis(axis, rank);
        int[] shape = parts[0].shape();
        int total = 0;
        for (Tensor p : parts) {
            if (p.rank() != rank) {
                throw new ShapeException("concat", parts[0].shape, p.shape, "ranks differ");
            }
            for (int k = 0; k < rank; k++) {
                if (k != a && p.shape[k] != shape[k]) {
                    throw new ShapeException("concat along axis " + a, parts[0].shape, p.shape);
                }
            }
            total += p.shape[a];
        }
        shape[a] = total;
        Tensor out = Tensor.zeros(shape);
        int[] starts = new int[parts.length];
        int start = 0;
        for (int i = 0; i < parts.length; i++) {
            starts[i] = start;
            Views.scatterInto(sliceView(out, a, start, start + parts[i].shape[a]), parts[i]);
            start += parts[i].shape[a];
        }
        return Autograd.record(out, "concat", g -> {
            for (int i = 0; i < parts.length; i++) {
                Tensor piece = sliceView(g, a, starts[i], starts[i] + parts[i].shape[a]);
                Autograd.accumulate(parts[i], piece);
            }
        }, parts);
    }

    private static Tensor sliceView(Tensor t, int axis, int from, int to) {
        int[] shape = t.shape.clone();
        shape[axis] = to - from;
        return new Tensor(t.data, t.offset + from * t.strides[axis], shape, t.strides.clone());
    }

    /** Splits along one axis into views of the given sizes, which must add up to the axis size. */
    public static Tensor[] split(Tensor x, int axis, int... sizes) {
        int a = Shapes.axis(axis, x.rank());
        int sum = 0;
        for (int s : sizes) {
            sum += s;
        }
        if (sum != x.shape[a]) {
            throw new ShapeException("split of shape " + Arrays.toString(x.shape) + " along axis " + a
                    + " into " + Arrays.toString(sizes) + ": sizes add up to " + sum + ", not "
                    + x.shape[a]);
        }
        Tensor[] out = new Tensor[sizes.length];
        int start = 0;
        for (int i = 0; i < sizes.length; i++) {
            out[i] = x.slice(a, start, start + sizes[i]);
            start += sizes[i];
        }
        return out;
    }

    /**
     * Sets every score of a future key to negative infinity: element (..., i, j) with j > i. After a
     * softmax those positions get weight 0 and no gradient.
     *
     * @param scores (..., T, T)
     */
    public static Tensor causalMask(Tensor scores) {
        if (scores.rank() < 2 || scores.size(-1) != scores.size(-2)) {
            throw new ShapeException("causalMask expects (..., T, T), got " + Arrays.toString(scores.shape));
        }
        int t = scores.size(-1);
        float[] out = scores.toArray();
        int matrices = t == 0 ? 0 : out.length / (t * t);
        for (int m = 0; m < matrices; m++) {
            for (int i = 0; i < t; i++) {
                Arrays.fill(out, m * t * t + i * t + i + 1, m * t * t + (i + 1) * t, Float.NEGATIVE_INFINITY);
            }
        }
        return Autograd.record(Tensor.of(out, scores.shape), "causalMask", g -> {
            float[] gv = g.toArray();
            for (int m = 0; m < matrices; m++) {
                for (int i = 0; i < t; i++) {
                    Arrays.fill(gv, m * t * t + i * t + i + 1, m * t * t + (i + 1) * t, 0f);
                }
            }
            Autograd.accumulateOwned(scores, gv);
        }, scores);
    }

    /**
     * Inverted dropout: zeroes each element with probability p and scales the rest by 1/(1-p). The
     * mask of element i is a function of (seed, stream, i) only, so it does not depend on threads.
     */
    public static Tensor dropout(Tensor x, float p, long seed, long stream) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("dropout probability must be in [0, 1), got " + p);
        }
        if (p == 0f) {
            return x;
        }
        float[] in = x.toArray();
        float keepScale = 1f / (1f - p);
        float[] mask = Buffers.floats(in.length);
        float[] out = Buffers.floats(in.length);
        for (int i = 0; i < in.length; i++) {
            mask[i] = Rng.uniform(seed, stream, i) >= p ? keepScale : 0f;
            out[i] = in[i] * mask[i];
        }
        return Autograd.record(Tensor.of(out, x.shape), "dropout", g -> {
            float[] gv = g.toArray();
            for (int i = 0; i < gv.length; i++) {
                gv[i] *= mask[i];
            }
            Autograd.accumulateOwned(x, gv);
        }, x);
    }
}
