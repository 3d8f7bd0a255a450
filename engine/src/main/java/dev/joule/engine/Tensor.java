package dev.joule.engine;

import java.util.Arrays;

/**
 * A float32 tensor: a view (shape, strides, offset) onto a shared {@code float[]} storage, plus the
 * autograd state that links it to the operation that produced it.
 *
 * <p>Layout: element {@code (i0, i1, ...)} lives at {@code offset + sum(ik * strides[k])}. A tensor
 * made by an op is contiguous and row-major. Views (reshape, transpose, permute, slice, broadcast)
 * share storage: writing through one is visible in the other. A stride of 0 marks a broadcast axis.
 */
public final class Tensor {
    final float[] data;
    final int offset;
    final int[] shape;
    final int[] strides;

    boolean requiresGrad;
    Tensor grad;
    Autograd.Node node;

    Tensor(float[] data, int offset, int[] shape, int[] strides) {
        this.data = data;
        this.offset = offset;
        this.shape = shape;
        this.strides = strides;
    }

    /**
     * Wraps {@code data} without copying as a contiguous tensor of the given shape.
     *
     * @throws IllegalArgumentException if the shape has a negative size or its element count differs
     *     from {@code data.length}
     */
    public static Tensor of(float[] data, int... shape) {
        int[] s = shape.clone();
        long n = Shapes.numel(s);
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(s) + " has " + n
                    + " elements but the array has " + data.length);
        }
        return new Tensor(data, 0, s, Shapes.contiguousStrides(s));
    }

    /** Returns a new zero-filled contiguous tensor. */
    public static Tensor zeros(int... shape) {
        int[] s = shape.clone();
        return new Tensor(Buffers.floats(Shapes.checkedNumel(s)), 0, s, Shapes.contiguousStrides(s));
    }

    /** Returns a new contiguous tensor filled with {@code value}. */
    public static Tensor full(float value, int... shape) {
        Tensor t = zeros(shape);
        java.util.Arrays.fill(t.data, value);
        return t;
    }

    /** Returns a tensor of shape [] holding one value. */
    public static Tensor scalar(float value) {
        return new Tensor(new float[] {value}, 0, new int[0], new int[0]);
    }

    /**
     * Returns a tensor of independent normal samples with mean 0 and standard deviation {@code std}.
     * Element i is a function of (seed, stream, i) only; see {@link Rng}.
     */
    public static Tensor randn(long seed, long stream, float std, int... shape) {
        Tensor t = zeros(shape);
        for (int i = 0; i < t.data.length; i++) {
            t.data[i] = std * Rng.normal(seed, stream, i);
        }
        return t;
    }

    /** Returns a tensor of uniform samples in {@code [low, high)}, keyed like {@link #randn}. */
    public static Tensor rand(long seed, long stream, float low, float high, int... shape) {
        Tensor t = zeros(shape);
        for (int i = 0; i < t.data.length; i++) {
            t.data[i] = low + (high - low) * Rng.uniform(seed, stream, i);
        }
        return t;
    }

    // ---- autograd state ----

    /** Marks this tensor as a leaf whose gradient is accumulated by {@link #backward()}. */
    public Tensor requiresGrad(boolean on) {
        if (node != null && !on) {
            throw new IllegalStateException("cannot clear requiresGrad on a tensor computed by "
                    + node.op() + "; use detach() instead");
        }
        requiresGrad = on;
        return this;
    }

    /** Returns true when gradients flow into this tensor. */
    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Returns the accumulated gradient (same shape, contiguous), or null if none was computed. */
    public Tensor grad() {
        return grad;
    }

    /** Clears the accumulated gradient. */
    public void zeroGrad() {
        grad = null;
    }

    /** Replaces the gradient; optimizers and tests use it. */
    public void setGrad(Tensor g) {
        if (g != null && !Arrays.equals(g.shape, shape)) {
            throw new ShapeException("setGrad", shape, g.shape);
        }
        grad = g;
    }

    /** Returns the name of the op that produced this tensor, or null for a leaf. */
    public String op() {
        return node == null ? null : node.op();
    }

    /** Returns a view of the same storage that is cut from the graph: no gradient flows through it. */
    public Tensor detach() {
        return new Tensor(data, offset, shape, strides);
    }

    /** Back-propagates from this scalar; see {@link Autograd#backward(Tensor)}. */
    public void backward() {
        Autograd.backward(this);
    }

    // ---- element access ----

    /** Returns the only element of a one-element tensor. */
    public float item() {
        if (numel() != 1) {
            throw new IllegalArgumentException("item() needs exactly one element, shape is "
                    + Arrays.toString(shape));
        }
        return data[offset];
    }

    /** Returns the element at the given index. */
    public float get(int... index) {
        return data[position(index)];
    }

    /** Writes one element in place. Not recorded by autograd. */
    public void set(float value, int... index) {
        data[position(index)] = value;
    }

    private int position(int[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index " + Arrays.toString(index) + " has "
                    + index.length + " axes but the tensor has shape " + Arrays.toString(shape));
        }
        int pos = offset;
        for (int k = 0; k < index.length; k++) {
            if (index[k] < 0 || index[k] >= shape[k]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index)
                        + " is out of bounds for shape " + Arrays.toString(shape));
            }
            pos += index[k] * strides[k];
        }
        return pos;
    }

    /** Copies the values of {@code src} (same shape) into this tensor in place. Not recorded. */
    public void copyFrom(Tensor src) {
        if (!Arrays.equals(src.shape, shape)) {
            throw new ShapeException("copyFrom", shape, src.shape);
        }
        if (!isContiguous()) {
            throw new IllegalStateException("copyFrom needs a contiguous destination");
        }
        System.arraycopy(src.toArray(), 0, data, offset, numel());
    }

    // ---- views and ops (implemented in Views and the *Ops classes) ----

    /** Returns a view with a new shape; one size may be -1. Copies only if the layout requires it. */
    public Tensor reshape(int... newShape) {
        return Views.reshape(this, newShape);
    }

    /** Returns a view with axes reordered: axis k of the result is axis {@code dims[k]} of this. */
    public Tensor permute(int... dims) {
        return Views.permute(this, dims);
    }

    /** Returns a view with two axes swapped. */
    public Tensor transpose(int a, int b) {
        return Views.transpose(this, a, b);
    }

    /** Returns a view of {@code [from, to)} along {@code axis}. */
    public Tensor slice(int axis, int from, int to) {
        return Views.slice(this, axis, from, to);
    }

    /** Returns a view broadcast to {@code shape} (size-1 and missing leading axes repeat). */
    public Tensor broadcastTo(int... newShape) {
        return Views.broadcastTo(this, newShape);
    }

    /** Returns this tensor if it is contiguous, otherwise a contiguous copy that records a graph node. */
    public Tensor contiguous() {
        return Views.contiguous(this);
    }

    public Tensor add(Tensor other) {
        return BinaryOps.add(this, other);
    }

    public Tensor sub(Tensor other) {
        return BinaryOps.sub(this, other);
    }

    public Tensor mul(Tensor other) {
        return BinaryOps.mul(this, other);
    }

    public Tensor div(Tensor other) {
        return BinaryOps.div(this, other);
    }

    /** Returns {@code this * s}. */
    public Tensor scale(float s) {
        return UnaryOps.scale(this, s);
    }

    /** Returns {@code this + s}. */
    public Tensor addScalar(float s) {
        return UnaryOps.addScalar(this, s);
    }

    public Tensor neg() {
        return UnaryOps.scale(this, -1f);
    }

    public Tensor exp() {
        return UnaryOps.exp(this);
    }

    public Tensor log() {
        return UnaryOps.log(this);
    }

    public Tensor tanh() {
        return UnaryOps.tanh(this);
    }

    public Tensor gelu() {
        return UnaryOps.gelu(this);
    }

    /** Matrix product over the last two axes with broadcast batch axes; see {@link MatmulOp}. */
    public Tensor matmul(Tensor other) {
        return MatmulOp.matmul(this, other);
    }

    /** Sums over the given axes; keeps them as size 1 when {@code keepDims}. */
    public Tensor sum(int[] axes, boolean keepDims) {
        return Reductions.sum(this, axes, keepDims);
    }

    /** Sums all elements into a tensor of shape []. */
    public Tensor sum() {
        return Reductions.sumAll(this);
    }

    public Tensor mean(int[] axes, boolean keepDims) {
        return Reductions.mean(this, axes, keepDims);
    }

    public Tensor mean() {
        return Reductions.meanAll(this);
    }

    /** Maximum over one axis; the gradient flows to the first maximal element. */
    public Tensor max(int axis, boolean keepDims) {
        return Reductions.max(this, axis, keepDims);
    }

    /** Softmax over the last axis. */
    public Tensor softmax() {
        return NormOps.softmax(this);
    }

    /** Log-softmax over the last axis. */
    public Tensor logSoftmax() {
        return NormOps.logSoftmax(this);
    }

    /** Returns a copy of the shape. */
    public int[] shape() {
        return shape.clone();
    }

    /** Returns the size of one axis; negative axes count from the end. */
    public int size(int axis) {
        return shape[Shapes.axis(axis, shape.length)];
    }

    /** Returns the number of axes. */
    public int rank() {
        return shape.length;
    }

    /** Returns the number of elements. */
    public int numel() {
        return (int) Shapes.numel(shape);
    }

    /** Returns a copy of the strides, in elements. */
    public int[] strides() {
        return strides.clone();
    }

    /** Returns the offset of the first element in {@link #storage()}. */
    public int offset() {
        return offset;
    }

    /** Returns the backing array, shared with every view of it. */
    public float[] storage() {
        return data;
    }

    /** Returns true when the elements are laid out row-major without gaps from {@link #offset()}. */
    public boolean isContiguous() {
        int expected = 1;
        for (int k = shape.length - 1; k >= 0; k--) {
            if (shape[k] == 0) {
                return true;
            }
            // The stride of a size-1 axis is never used to address an element.
            if (shape[k] != 1 && strides[k] != expected) {
                return false;
            }
            expected *= shape[k];
        }
        return true;
    }

    /**
     * Returns the backing array itself when it contains exactly this tensor's elements in row-major
     * order, otherwise a row-major copy. Callers must only read the result.
     */
    float[] dense() {
        return isContiguous() && offset == 0 && data.length == numel() ? data : toArray();
    }

    /** Returns the elements in row-major logical order, as a new array. */
    public float[] toArray() {
        int n = numel();
        float[] out = Buffers.floats(n);
        if (isContiguous()) {
            System.arraycopy(data, offset, out, 0, n);
            return out;
        }
        int[] index = new int[shape.length];
        for (int i = 0; i < n; i++) {
            int pos = offset;
            for (int k = 0; k < shape.length; k++) {
                pos += index[k] * strides[k];
            }
            out[i] = data[pos];
            for (int k = shape.length - 1; k >= 0; k--) {
                if (++index[k] < shape[k]) {
                    break;
                }
                index[k] = 0;
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
