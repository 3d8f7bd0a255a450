package dev.joule.bench;

import dev.joule.engine.kernels.Parallel;
import dev.joule.engine.kernels.RowKernels;
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
 * Row softmax and layer norm, forward and backward. 4096 rows of width 256 are the activations of batch 16
 * at context 256. 16384 rows of 256 are the attention scores of 4 heads at batch 16 and context 256.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR_MODULE, JvmFlags.NATIVE_ACCESS, JvmFlags.QUIET, JvmFlags.INLINE_EXP, JvmFlags.INLINE_LOG, JvmFlags.INLINE_TANH,
        JvmFlags.INLINE_GELU, JvmFlags.INLINE_GELU_DERIVATIVE})
public class RowKernelsBench {
    @Param({"4096:256", "16384:256"})
    public String rowsByCols;

    @Param({"1", "2"})
    public int threads;

    private int rows;
    private int cols;
    private float[] x;
    private float[] dy;
    private float[] y;
    private float[] dx;
    private float[] gamma;
    private float[] beta;
    private float[] dgamma;
    private float[] dbeta;
    private float[] mean;
    private float[] rstd;

    @Setup
    public void setUp() {
        Parallel.setThreads(threads);
        String[] p = rowsByCols.split(":");
        rows = Integer.parseInt(p[0]);
        cols = Integer.parseInt(p[1]);
        x = Shapes.random(1, rows * cols);
        dy = Shapes.random(2, rows * cols);
        y = new float[rows * cols];
        dx = new float[rows * cols];
        gamma = Shapes.random(3, cols);
        beta = Shapes.random(4, cols);
        dgamma = new float[cols];
        dbeta = new float[cols];
        mean = new float[rows];
        rstd = new float[rows];
        RowKernels.softmax(x, 0, y, 0, rows, cols);
        RowKernels.layerNorm(x, 0, gamma, 0, beta, 0, dx, 0, mean, rstd, rows, cols, 1e-5f);
    }

    @Benchmark
    public float[] softmax() {
        RowKernels.softmax(x, 0, y, 0, rows, cols);
        return y;
    }

    @Benchmark
    public float[] softmaxBackward() {
        RowKernels.softmaxBackward(y, 0, dy, 0, dx, 0, rows, cols, false);
        return dx;
    }

    @Benchmark
    public float[] layerNorm() {
        RowKernels.layerNorm(x, 0, gamma, 0, beta, 0, dx, 0, mean, rstd, rows, cols, 1e-5f);
        return dx;
    }

    /** Accumulates into dx, dgamma and dbeta, as the kernel always does; the values stay finite. */
    @Benchmark
    public float[] layerNormBackward() {
        RowKernels.layerNormBackward(x, 0, gamma, 0, mean, rstd, dy, 0, dx, 0, dgamma, 0, dbeta, 0, rows, cols);
        return dx;
    }
}
