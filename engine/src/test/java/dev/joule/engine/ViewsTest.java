package dev.joule.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ViewsTest {
    private static Tensor iota(int... shape) {
        Tensor t = Tensor.zeros(shape);
        for (int i = 0; i < t.numel(); i++) {
            t.storage()[i] = i;
        }
        return t;
    }

    @Test
    void viewsShareStorage() {
        Tensor x = iota(2, 3);
        assertSame(x.storage(), x.reshape(3, 2).storage());
        assertSame(x.storage(), x.transpose(0, 1).storage());
        assertSame(x.storage(), x.slice(1, 1, 3).storage());
        assertSame(x.storage(), x.slice(0, 1, 2).broadcastTo(4, 1, 3).storage());
        x.transpose(0, 1).set(100f, 2, 1);
        assertEquals(100f, x.get(1, 2));
    }

    @Test
    void transposeAndSliceReadLogicalOrder() {
        Tensor x = iota(2, 3);
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, x.transpose(0, 1).toArray());
        assertArrayEquals(new float[] {1, 2, 4, 5}, x.slice(1, 1, 3).toArray());
        assertFalse(x.transpose(0, 1).isContiguous());
        assertTrue(x.slice(0, 1, 2).isContiguous());
    }

    @Test
    void broadcastUsesZeroStride() {
        Tensor b = iota(3).broadcastTo(2, 3);
        assertArrayEquals(new int[] {0, 1}, b.strides());
        assertArrayEquals(new float[] {0, 1, 2, 0, 1, 2}, b.toArray());
    }

    @Test
    void reshapeInfersOneSizeAndRejectsBadShapes() {
        assertArrayEquals(new int[] {3, 4}, iota(12).reshape(3, -1).shape());
        ShapeException e = assertThrows(ShapeException.class, () -> iota(12).reshape(5, -1));
        assertTrue(e.getMessage().contains("[12]"), e.getMessage());
        assertTrue(e.getMessage().contains("[5, -1]"), e.getMessage());
        assertThrows(ShapeException.class, () -> iota(12).reshape(-1, -1));
    }

    @Test
    void shapeErrorsNameBothShapes() {
        ShapeException add = assertThrows(ShapeException.class, () -> iota(2, 3).add(iota(4)));
        assertTrue(add.getMessage().contains("[2, 3]"), add.getMessage());
        assertTrue(add.getMessage().contains("[4]"), add.getMessage());
        ShapeException mm = assertThrows(ShapeException.class, () -> iota(2, 3).matmul(iota(4, 5)));
        assertTrue(mm.getMessage().contains("matmul"), mm.getMessage());
        assertTrue(mm.getMessage().contains("[4, 5]"), mm.getMessage());
    }

    @Test
    void randomInitDependsOnlyOnSeedAndStream() {
        assertArrayEquals(Tensor.randn(5, 1, 1f, 33).toArray(), Tensor.randn(5, 1, 1f, 33).toArray());
        assertFalse(java.util.Arrays.equals(Tensor.randn(5, 1, 1f, 33).toArray(),
                Tensor.randn(5, 2, 1f, 33).toArray()));
        // A longer tensor starts with the same values: values are keyed by position.
        float[] shortOne = Tensor.randn(9, 3, 1f, 7).toArray();
        float[] longOne = Tensor.randn(9, 3, 1f, 1000).toArray();
        assertArrayEquals(shortOne, java.util.Arrays.copyOf(longOne, 7));
    }
}
