package dev.joule.engine;

import dev.joule.engine.kernels.Elementwise;
import java.util.Arrays;

/**
 * Elementwise binary arithmetic with NumPy broadcasting. Forward runs the SIMD kernels on contiguous
 * operands; backward reduces each gradient back to its operand's shape with {@link
 * Reductions#sumToShape}, which sums in a fixed order.
 */
final class BinaryOps {
    private BinaryOps() {}

    private enum Kind {
        ADD, SUB, MUL, DIV
    }

    static Tensor add(Tensor a, Tensor b) {
        return apply(Kind.ADD, a, b);
    }

    static Tensor sub(Tensor a, Tensor b) {
        return apply(Kind.SUB, a, b);
    }

    static Tensor mul(Tensor a, Tensor b) {
        return apply(Kind.MUL, a, b);
    }

    static Tensor div(Tensor a, Tensor b) {
        return apply(Kind.DIV, a, b);
    }

    /** Returns the broadcast shape of two shapes, or throws naming the op and both shapes. */
    static int[] broadcastShape(String op, int[] a, int[] b) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int k = 0; k < rank; k++) {
            int sa = k < rank - a.length ? 1 : a[k - (rank - a.length)];
            int sb = k < rank - b.length ? 1 : b[k - (rank - b.length)];
            if (sa != sb && sa != 1 && sb != 1) {
                throw new ShapeException(op, a, b, "axis " + k + " has sizes " + sa + " and " + sb
                        + "; broadcasting needs equal sizes or 1");
            }
            out[k] = sa == 1 ? sb : sa;
        }
        return out;
    }

    /** Returns the elements of {@code t} broadcast to {@code shape}, as a contiguous array. */
    static float[] expanded(Tensor t, int[] shape) {
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            return t.broadcastTo(shape).toArray();
        }
    }

    private static Tensor apply(Kind kind, Tensor a, Tensor b) {
        String op = kind.name().toLowerCase();
        int[] shape = broadcastShape(op, a.shape, b.shape);
        int n = Shapes.checkedNumel(shape);
        if ((kind == Kind.ADD || kind == Kind.SUB) && Arrays.equals(a.shape, shape) && a.isContiguous()
                && b.isContiguous() && !Arrays.equals(b.shape, shape) && Reductions.leadingRows(shape, b.shape) > 0) {
            return addRows(kind, a, b, shape);
        }
        float[] av = Arrays.equals(a.shape, shape) && a.isContiguous() ? null : expanded(a, shape);
        float[] bv = Arrays.equals(b.shape, shape) && b.isContiguous() ? null : expanded(b, shape);
        float[] ad = av == null ? a.data : av;
        int aOff = av == null ? a.offset : 0;
        float[] bd = bv == null ? b.data : bv;
        int bOff = bv == null ? b.offset : 0;
        float[] out = Buffers.floats(n);
        switch (kind) {
            case ADD -> Elementwise.add(ad, aOff, bd, bOff, out, 0, n);
            case SUB -> Elementwise.sub(ad, aOff, bd, bOff, out, 0, n);
            case MUL -> Elementwise.mul(ad, aOff, bd, bOff, out, 0, n);
            case DIV -> Elementwise.div(ad, aOff, bd, bOff, out, 0, n);
        }
        Tensor result = Tensor.of(out, shape);
        return Autograd.record(result, op, g -> backward(kind, a, b, shape, g), a, b);
    }

    /**
     * a (rows..., cols...) +/- b (cols...): the bias case. Adds b to every row without materializing
     * the broadcast, and the backward of b sums the rows of the gradient in row order.
     */
    private static Tensor addRows(Kind kind, Tensor a, Tensor b, int[] shape) {
        int rows = Reductions.leadingRows(shape, b.shape);
        int cols = b.numel();
        float[] out = Buffers.floats(rows * cols);
        for (int r = 0; r < rows; r++) {
            if (kind == Kind.ADD) {
                Elementwise.add(a.data, a.offset + r * cols, b.data, b.offset, out, r * cols, cols);
            } else {
                Elementwise.sub(a.data, a.offset + r * cols, b.data, b.offset, out, r * cols, cols);
            }
        }
        String op = kind.name().toLowerCase();
        return Autograd.record(Tensor.of(out, shape), op, g -> {
            Autograd.accumulate(a, g);
            if (b.requiresGrad) {
                float[] gb = Reductions.sumToShape(g, b.shape);
                if (kind == Kind.SUB) {
                    Elementwise.scale(gb, 0, -1f, gb, 0, gb.length);
                }
                Autograd.accumulateOwned(b, gb);
            }
        }, a, b);
    }

    private static void backward(Kind kind, Tensor a, Tensor b, int[] shape, Tensor g) {
        int n = Shapes.checkedNumel(shape);
        float[] gv = g.dense();
        if (a.requiresGrad) {
            float[] ga = switch (kind) {
                case ADD, SUB -> gv;
                case MUL -> times(gv, expanded(b, shape), n);
                case DIV -> over(gv, expanded(b, shape), n);
            };
            Autograd.accumulateOwned(a, Reductions.sumToShape(Tensor.of(ga, shape), a.shape));
        }
        if (b.requiresGrad) {
            float[] gb = switch (kind) {
                case ADD -> gv;
                case SUB -> negated(gv, n);
                case MUL -> times(gv, expanded(a, shape), n);
                case DIV -> divBackwardB(gv, expanded(a, shape), expanded(b, shape), n);
            };
            Autograd.accumulateOwned(b, Reductions.sumToShape(Tensor.of(gb, shape), b.shape));
        }
    }

    private static float[] times(float[] x, float[] y, int n) {
        float[] out = Buffers.floats(n);
        Elementwise.mul(x, 0, y, 0, out, 0, n);
        return out;
    }

    private static float[] over(float[] x, float[] y, int n) {
        float[] out = Buffers.floats(n);
        Elementwise.div(x, 0, y, 0, out, 0, n);
        return out;
    }

    private static float[] negated(float[] x, int n) {
        float[] out = Buffers.floats(n);
        Elementwise.scale(x, 0, -1f, out, 0, n);
        return out;
    }

    /** d(a/b)/db = -a/b^2, times the upstream gradient. */
    private static float[] divBackwardB(float[] g, float[] a, float[] b, int n) {
        float[] out = Buffers.floats(n);
        for (int i = 0; i < n; i++) {
            out[i] = -g[i] * a[i] / (b[i] * b[i]);
        }
        return out;
    }
}
