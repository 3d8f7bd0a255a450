package dev.joule.bench;

import dev.joule.engine.kernels.Matmul;
import dev.joule.engine.kernels.Parallel;
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
 * Joule's {@link Matmul#gemm} on the shapes of {@link Shapes}. Time per product; GFLOP/s is
 * {@code 2 M N K / time}, which scripts/summarize_benchmarks.py computes from JMH's JSON results.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR_MODULE, JvmFlags.NATIVE_ACCESS, JvmFlags.QUIET, JvmFlags.INLINE_EXP, JvmFlags.INLINE_LOG, JvmFlags.INLINE_TANH,
        JvmFlags.INLINE_GELU, JvmFlags.INLINE_GELU_DERIVATIVE})
public class MatmulBench {
    @Param({"NN:256:256:256", "NN:512:512:512", "NN:1024:1024:1024", "NN:2048:2048:2048",
            "NN:4096:768:256", "NN:4096:1024:256", "NN:4096:256:1024",
            "NT:4096:768:256", "NT:4096:1024:256", "NT:4096:256:1024",
            "TN:4096:768:256", "TN:4096:1024:256", "TN:4096:256:1024"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Shapes.Case c;
    private float[] a;
    private float[] b;
    private float[] out;

    @Setup
    public void setUp() {
        Parallel.setThreads(threads);
        c = Shapes.Case.parse(shape);
        a = Shapes.random(1, c.m() * c.k());
        b = Shapes.random(2, c.k() * c.n());
        out = new float[c.m() * c.n()];
    }

    @Benchmark
    public float[] joule() {
        Matmul.gemm(c.transA(), c.transB(), c.m(), c.n(), c.k(), a, 0, c.lda(), b, 0, c.ldb(), out, 0, c.n(), false);
        return out;
    }
}
