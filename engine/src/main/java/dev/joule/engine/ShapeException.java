package dev.joule.engine;

import java.util.Arrays;

/** Thrown when the shapes given to an operation do not fit; the message names the op and both shapes. */
public class ShapeException extends IllegalArgumentException {
    public ShapeException(String message) {
        super(message);
    }

    public ShapeException(String op, int[] a, int[] b) {
        super(op + ": incompatible shapes " + Arrays.toString(a) + " and " + Arrays.toString(b));
    }

    public ShapeException(String op, int[] a, int[] b, String detail) {
        super(op + ": incompatible shapes " + Arrays.toString(a) + " and " + Arrays.toString(b) + ": "
                + detail);
    }
}
