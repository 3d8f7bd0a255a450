package dev.joule.engine;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Finite-difference checks of every differentiable op, including broadcasting and views. */
class OpsGradientTest {
    private final Random rng = new Random(42);

    private Tensor r(int... shape) {
        return GradCheck.random(rng, 1f, shape);
    }

    @Test
    void arithmeticWithBroadcasting() {
        GradCheck.check("add same shape", x -> x[0].add(x[1]), r(3, 4), r(3, 4));
        GradCheck.check("add bias", x -> x[0].add(x[1]), r(2, 3, 4), r(4));
        GradCheck.check("sub bias", x -> x[0].sub(x[1]), r(2, 3, 4), r(3, 4));
        GradCheck.check("add bias with leading ones", x -> x[0].add(x[1]), r(5, 4), r(1, 4));
        GradCheck.check("add bias to transposed", x -> x[0].transpose(0, 1).add(x[1]), r(4, 3), r(4));
        GradCheck.check("sub column", x -> x[0].sub(x[1]), r(3, 4), r(3, 1));
        GradCheck.check("mul outer", x -> x[0].mul(x[1]), r(3, 1), r(1, 5));
        GradCheck.check("mul scalar tensor", x -> x[0].mul(x[1]), r(2, 3), r(1));
        GradCheck.check("div", x -> x[0].div(x[1]), r(2, 3), GradCheck.positive(rng, 3));
        GradCheck.check("div broadcast numerator", x -> x[0].div(x[1]), r(1, 3), GradCheck.positive(rng, 2, 3));
    }

    @Test
    void unaryOps() {
        GradCheck.check("scale", x -> x[0].scale(-2.5f), r(7));
        GradCheck.check("addScalar", x -> x[0].addScalar(3f), r(7));
        GradCheck.check("exp", x -> x[0].exp(), r(17));
        GradCheck.check("log", x -> x[0].log(), GradCheck.positive(rng, 17));
        GradCheck.check("tanh", x -> x[0].tanh(), r(17));
        GradCheck.check("gelu", x -> x[0].gelu(), r(33));
        GradCheck.check("neg", x -> x[0].neg(), r(1));
    }

    @Test
    void matmulVariants() {
        GradCheck.check("matmul 2d", x -> x[0].matmul(x[1]), r(3, 4), r(4, 5));
        GradCheck.check("matmul batched", x -> x[0].matmul(x[1]), r(2, 3, 4), r(2, 4, 5));
        GradCheck.check("matmul shared weight", x -> x[0].matmul(x[1]), r(2, 3, 4), r(4, 5));
        GradCheck.check("matmul broadcast batch", x -> x[0].matmul(x[1]), r(2, 1, 3, 4), r(3, 4, 2));
        GradCheck.check("matmul transposed b", x -> x[0].matmul(x[1].transpose(0, 1)), r(3, 4), r(5, 4));
        GradCheck.check("matmul transposed a", x -> x[0].transpose(-2, -1).matmul(x[1]), r(2, 4, 3), r(2, 4, 5));
        GradCheck.check("matmul single row", x -> x[0].matmul(x[1]), r(1, 7), r(7, 1));
        GradCheck.check("matmul permuted heads", x -> x[0].permute(0, 2, 1, 3).matmul(x[1]), r(2, 3, 2, 4),
                r(4, 3));
    }

    @Test
    void reductions() {
        GradCheck.check("sum all", x -> x[0].sum(), r(3, 4));
        GradCheck.check("sum axis 0", x -> x[0].sum(new int[] {0}, false), r(3, 4));
        GradCheck.check("sum axes keepdims", x -> x[0].sum(new int[] {0, 2}, true), r(2, 3, 4));
        GradCheck.check("mean axis -1", x -> x[0].mean(new int[] {-1}, false), r(3, 5));
        GradCheck.check("mean all", x -> x[0].mean(), r(17));
        GradCheck.check("max axis 1", x -> x[0].max(1, false), r(3, 5));
        GradCheck.check("max axis 0 keepdims", x -> x[0].max(0, true), r(4, 2));
    }

    @Test
    void normalizations() {
        GradCheck.check("softmax", x -> x[0].softmax(), r(3, 7));
        GradCheck.check("logSoftmax", x -> x[0].logSoftmax(), r(2, 17));
        GradCheck.check("layerNorm", x -> NormOps.layerNorm(x[0], x[1], x[2], 1e-5f), r(3, 8), r(8), r(8));
        GradCheck.check("layerNorm no affine", x -> NormOps.layerNorm(x[0], null, null, 1e-5f), r(2, 3, 5));
    }

    @Test
    void lossAndIndexing() {
        int[] targets = {1, 0, 4, LossOps.IGNORE, 2};
        GradCheck.check("crossEntropy", x -> LossOps.crossEntropy(x[0], targets), r(5, 6));
        int[] ids = {3, 1, 3, 0, 2, 3};
        GradCheck.check("embedding with repeats", x -> IndexOps.embedding(x[0], ids, 2, 3), r(4, 5));
        GradCheck.check("causal mask softmax", x -> IndexOps.causalMask(x[0]).softmax(), r(2, 4, 4));
        GradCheck.check("dropout", x -> IndexOps.dropout(x[0], 0.3f, 7, 1), r(40));
        GradCheck.check("concat", x -> IndexOps.concat(1, x[0], x[1]), r(2, 3), r(2, 1));
        GradCheck.check("split", x -> {
            Tensor[] parts = IndexOps.split(x[0], 1, 2, 3);
            return parts[0].sum().mul(parts[1]);
        }, r(2, 5));
    }

    @Test
    void viewsPassGradients() {
        GradCheck.check("reshape", x -> x[0].reshape(4, -1).mul(x[1]), r(2, 6), r(4, 3));
        GradCheck.check("permute", x -> x[0].permute(2, 0, 1).mul(x[1]), r(2, 3, 4), r(4, 2, 3));
        GradCheck.check("slice", x -> x[0].slice(1, 1, 3).exp(), r(3, 4));
        GradCheck.check("broadcastTo", x -> x[0].broadcastTo(3, 2, 4).mul(x[1]), r(2, 1), r(3, 2, 4));
        GradCheck.check("contiguous of transpose", x -> x[0].transpose(0, 1).contiguous().tanh(), r(3, 5));
        GradCheck.check("reshape of non-contiguous", x -> x[0].transpose(0, 1).reshape(-1).exp(), r(2, 3));
    }

    @Test
    void composedMlp() {
        GradCheck.check("linear gelu linear",
                x -> x[0].matmul(x[1]).add(x[2]).gelu().matmul(x[3]).logSoftmax(),
                r(4, 6), GradCheck.random(rng, 0.5f, 6, 8), r(8), GradCheck.random(rng, 0.5f, 8, 3));
    }

    @Test
    void zeroSizeShapes() {
        Tensor empty = Tensor.zeros(0, 3).requiresGrad(true);
        Tensor y = empty.add(Tensor.zeros(3)).exp().sum();
        y.backward();
        org.junit.jupiter.api.Assertions.assertEquals(0f, y.item());
        org.junit.jupiter.api.Assertions.assertEquals(0, empty.grad().numel());
    }
}
