package dev.joule.bench;

import dev.joule.engine.kernels.AdamWKernel;
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
 * One AdamW update over a flat parameter array. 842,496 floats are the tiny preset, and 3.3 M is about the
 * size of the llm.c comparison model (4 layers, width 256).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR_MODULE, JvmFlags.NATIVE_ACCESS, JvmFlags.QUIET, JvmFlags.INLINE_EXP, JvmFlags.INLINE_LOG, JvmFlags.INLINE_TANH,
        JvmFlags.INLINE_GELU, JvmFlags.INLINE_GELU_DERIVATIVE})
public class AdamWBench {
    @Param({"842496", "3300000"})
    public int n;

    @Param({"1", "2"})
    public int threads;

    private float[] param;
    private float[] grad;
    private float[] m;
    private float[] v;
    private int step;

    @Setup
    public void setUp() {
        Parallel.setThreads(threads);
        param = Shapes.random(1, n);
        grad = Shapes.random(2, n);
        m = new float[n];
        v = new float[n];
        step = 0;
    }

    @Benchmark
    public float[] adamw() {
        // The step count only enters the bias correction, so wrapping it leaves the work per call unchanged.
        step = step % 1000 + 1;
        AdamWKernel.step(param, 0, grad, 0, m, 0, v, 0, n, 1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, step);
        return param;
    }
}
