package dev.joule.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class AutogradTest {
    @Test
    void deepChainDoesNotOverflowStack() {
        Tensor x = Tensor.of(new float[] {1f}, 1).requiresGrad(true);
        Tensor y = x;
        for (int i = 0; i < 100_000; i++) {
            y = y.scale(1f);
        }
        y.sum().backward();
        assertEquals(1f, x.grad().item());
    }

    @Test
    void gradientsAccumulateAcrossBackwardCalls() {
        Tensor x = Tensor.of(new float[] {2f, 3f}, 2).requiresGrad(true);
        x.mul(x).sum().backward();
        x.mul(x).sum().backward();
        assertArrayEquals(new float[] {8f, 12f}, x.grad().toArray());
        x.zeroGrad();
        assertNull(x.grad());
    }

    @Test
    void reusedTensorSumsBothPaths() {
        Tensor x = Tensor.of(new float[] {1.5f}, 1).requiresGrad(true);
        Tensor y = x.exp();
        y.add(y.mul(x)).sum().backward();
        double e = Math.exp(1.5);
        assertEquals(e + e * 1.5 + e, x.grad().item(), 1e-4);
    }

    @Test
    void noGradScopeRecordsNothing() {
        Tensor x = Tensor.of(new float[] {1f, 2f}, 2).requiresGrad(true);
        Tensor y;
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            assertFalse(Autograd.isGradEnabled());
            y = x.exp();
        }
        assertTrue(Autograd.isGradEnabled());
        assertFalse(y.requiresGrad());
        assertNull(y.op());
    }

    @Test
    void detachCutsTheGraph() {
        Tensor x = Tensor.of(new float[] {3f}, 1).requiresGrad(true);
        Tensor d = x.detach();
        assertFalse(d.requiresGrad());
        assertSame(x.storage(), d.storage());
        x.mul(d).sum().backward();
        assertEquals(3f, x.grad().item());
    }

    @Test
    void backwardRejectsNonScalarAndConstantLoss() {
        Tensor x = Tensor.of(new float[] {1f, 2f}, 2).requiresGrad(true);
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> x.exp().backward());
        assertTrue(shape.getMessage().contains("[2]"), shape.getMessage());
        Tensor c = Tensor.of(new float[] {1f}, 1);
        assertThrows(IllegalArgumentException.class, () -> c.exp().backward());
    }
}
