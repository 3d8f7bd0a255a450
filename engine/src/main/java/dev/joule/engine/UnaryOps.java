package dev.joule.engine;

import dev.joule.engine.kernels.Elementwise;

/** Elementwise unary ops. Each forward keeps what its backward needs (input or output). */
final class UnaryOps {
    private UnaryOps() {}

    private static float[] values(Tensor x) {
        return x.isContiguous() && x.offset == 0 && x.data.length == x.numel() ? x.data : x.toArray();
    }

    static Tensor scale(Tensor x, float s) {
        float[] in = values(x);
        int n = in.length;
        float[] out = Buffers.floats(n);
        Elementwise.scale(in, 0, s, out, 0, n);
        return Autograd.record(Tensor.of(out, x.shape), "scale", g -> {
            float[] gx = Buffers.floats(n);
            Elementwise.scale(g.dense(), 0, s, gx, 0, n);
            Autograd.accumulateOwned(x, gx);
        }, x);
    }

    static Tensor addScalar(Tensor x, float s) {
        float[] in = values(x);
        int n = in.length;
        float[] out = Buffers.floats(n);
        Elementwise.addScalar(in, 0, s, out, 0, n);
        return Autograd.record(Tensor.of(out, x.shape), "addScalar", g -> Autograd.accumulate(x, g), x);
    }

    static Tensor exp(Tensor x) {
        float[] in = values(x);
        int n = in.length;
        float[] out = Buffers.floats(n);
        Elementwise.exp(in, 0, out, 0, n);
        // d exp(x) = exp(x) dx: the backward reuses the output.
        return Autograd.record(Tensor.of(out, x.shape), "exp", g -> {
            float[] gx = Buffers.floats(n);
            Elementwise.mul(g.dense(), 0, out, 0, gx, 0, n);
            Autograd.accumulateOwned(x, gx);
        }, x);
    }

    static Tensor log(Tensor x) {
        float[] in = values(x);
        int n = in.length;
        float[] out = Buffers.floats(n);
        Elementwise.log(in, 0, out, 0, n);
        return Autograd.record(Tensor.of(out, x.shape), "log", g -> {
            float[] gx = Buffers.floats(n);
            Elementwise.div(g.dense(), 0, in, 0, gx, 0, n);
            Autograd.accumulateOwned(x, gx);
        }, x);
    }

    static Tensor tanh(Tensor x) {
        float[] in = values(x);
        int n = in.length;
        float[] out = Buffers.floats(n);
        Elementwise.tanh(in, 0, out, 0, n);
        // d tanh(x) = (1 - tanh(x)^2) dx.
        return Autograd.record(Tensor.of(out, x.shape), "tanh", g -> {
            float[] gv = g.dense();
            float[] gx = Buffers.floats(n);
            for (int i = 0; i < n; i++) {
                gx[i] = gv[i] * (1f - out[i] * out[i]);
            }
            Autograd.accumulateOwned(x, gx);
        }, x);
    }

    static Tensor gelu(Tensor x) {
        float[] in = values(x);
        int n = in.length;
        float[] out = Buffers.floats(n);
        Elementwise.gelu(in, 0, out, 0, n);
        return Autograd.record(Tensor.of(out, x.shape), "gelu", g -> {
            float[] gx = Buffers.floats(n);
            Elementwise.geluBackward(in, 0, g.dense(), 0, gx, 0, n, false);
            Autograd.accumulateOwned(x, gx);
        }, x);
    }
}
