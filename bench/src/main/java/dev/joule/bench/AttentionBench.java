package dev.joule.bench;

import dev.joule.engine.AttentionOps;
import dev.joule.engine.Tensor;
import dev.joule.engine.kernels.Parallel;
import dev.joule.layers.ReferenceAttention;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Causal softmax attention forward and backward on a fused projection qkv (B, T, 3C), with B = 4,
 * C = 256 and H = 4 heads: the fused kernel, which streams keys with an online softmax, next to the
 * composition of matmul, causal mask and softmax that stores the (B, H, T, T) scores.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR_MODULE, JvmFlags.NATIVE_ACCESS, JvmFlags.QUIET, JvmFlags.INLINE_EXP, JvmFlags.INLINE_LOG, JvmFlags.INLINE_TANH,
        JvmFlags.INLINE_GELU, JvmFlags.INLINE_GELU_DERIVATIVE})
public class AttentionBench {
    static final int BATCH = 4;
    static final int WIDTH = 256;
    static final int HEADS = 4;

    @Param({"256", "1024"})
    public int t;

    @Param({"1", "2"})
    public int threads;

    private Tensor qkv;
    private Tensor upstream;
    private float scale;

    @Setup
    public void setUp() {
        Parallel.setThreads(threads);
        qkv = Tensor.randn(1, 1, 1f, BATCH, t, 3 * WIDTH).requiresGrad(true);
        upstream = Tensor.randn(1, 2, 1f, BATCH, t, WIDTH);
        scale = (float) (1.0 / Math.sqrt(WIDTH / (double) HEADS));
    }

    @Benchmark
    public Tensor fusedForwardBackward() {
        AttentionOps.causalSelfAttention(qkv, HEADS, scale).mul(upstream).sum().backward();
        Tensor grad = qkv.grad();
        qkv.zeroGrad();
        return grad;
    }

    @Benchmark
    public Tensor composedForwardBackward() {
        Tensor[] parts = ReferenceAttention.splitHeads(qkv, HEADS);
        ReferenceAttention.mergeHeads(ReferenceAttention.attend(parts[0], parts[1], parts[2])).mul(upstream).sum()
                .backward();
        Tensor grad = qkv.grad();
        qkv.zeroGrad();
        return grad;
    }
}
