package dev.joule.engine;

import java.util.Arrays;

/** Shape arithmetic shared by tensors and ops. */
public final class Shapes {
    private Shapes() {}

    /** Returns the element count of a shape as a long, so that overflow can be detected. */
    public static long numel(int[] shape) {
        long n = 1;
        for (int s : shape) {
            if (s < 0) {
                throw new IllegalArgumentException("negative size in shape " + Arrays.toString(shape));
            }
            n *= s;
        }
        return n;
    }

    /** Returns the element count, rejecting shapes too large for one Java array. */
    public static int checkedNumel(int[] shape) {
        long n = numel(shape);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + n
                    + " elements, more than one Java array can hold");
        }
        return (int) n;
    }

    /** Returns row-major strides for a shape. */
    public static int[] contiguousStrides(int[] shape) {
        int[] strides = new int[shape.length];
        int s = 1;
        for (int k = shape.length - 1; k >= 0; k--) {
            strides[k] = s;
            s *= Math.max(shape[k], 1);
        }
        return strides;
    }

    /** Normalizes a possibly negative axis index against a rank. */
    public static int axis(int axis, int rank) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException("axis " + axis + " is out of range for rank " + rank);
        }
        return a;
    }
}
