package dev.joule.bench;

import com.github.tjake.jlama.math.VectorMath;
import com.github.tjake.jlama.tensor.FloatBufferTensor;
import com.github.tjake.jlama.tensor.operations.TensorOperations;
import com.github.tjake.jlama.tensor.operations.TensorOperationsProvider;
import com.github.tjake.jlama.util.PhysicalCoreExecutor;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A second peer of {@link MatmulBench}: the float32 matrix product of Jlama 0.8.4
 * ({@code com.github.tjake:jlama-core}), a pure-Java LLM inference engine built on the same Vector API.
 *
 * <p>What is called. {@link TensorOperationsProvider#get()} picks Jlama's implementation; without the
 * optional jlama-native jar it is {@code PanamaTensorOperations}, whose float32 path is its inner class
 * {@code GemmerF32}. The timed call is {@link TensorOperations#dotProductChunk}{@code (c, a, b, 0, K, start,
 * size)}, which forwards to {@code batchDotProduct} and fills columns {@code start .. start+size-1} of C with
 * {@code C[i][j] = sum_k A[i][k] * B[j][k]}. Jlama has no transpose flags: the right operand is always
 * stored N x K, the way it keeps model weights. An NT case therefore maps to the call directly. For an NN
 * case the setup stores B transposed once, outside the timed region, so the timed work is still 2 M N K.
 * TN cases are rejected, because Jlama cannot read A transposed without a copy.
 *
 * <p>Threads. The columns are split with {@link VectorMath#pchunk}, as Jlama's own MLP and attention
 * projections do. pchunk cuts N into {@code parallelSplitSize()} pieces and runs them on the fork-join pool
 * of {@link PhysicalCoreExecutor}. That pool's size is fixed when it is first used (by default half the
 * logical CPUs, at least 2). So the setup calls {@link PhysicalCoreExecutor#overrideThreadCount(int)} before
 * anything touches the pool, which works because JMH runs every parameter combination in a fresh JVM.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR_MODULE, JvmFlags.NATIVE_ACCESS, JvmFlags.QUIET, JvmFlags.INLINE_EXP, JvmFlags.INLINE_LOG, JvmFlags.INLINE_TANH,
        JvmFlags.INLINE_GELU, JvmFlags.INLINE_GELU_DERIVATIVE})
public class JlamaMatmulBench {
    @Param({"NN:256:256:256", "NN:512:512:512", "NN:1024:1024:1024", "NN:2048:2048:2048",
            "NN:4096:768:256", "NN:4096:1024:256", "NN:4096:256:1024",
            "NT:4096:768:256", "NT:4096:1024:256", "NT:4096:256:1024"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Shapes.Case c;
    private TensorOperations operations;
    private FloatBufferTensor a;
    private FloatBufferTensor bTransposed;
    private FloatBufferTensor out;

    @Setup
    public void setUp() {
        c = Shapes.Case.parse(shape);
        if (c.transA()) {
            throw new IllegalArgumentException(
                    "TN shapes are not supported, because Jlama's matmul cannot read A transposed: " + shape);
        }

        PhysicalCoreExecutor.overrideThreadCount(threads);
        operations = TensorOperationsProvider.get();
        int coreCount = PhysicalCoreExecutor.instance.get().getCoreCount();
        if (coreCount != threads) {
            throw new IllegalStateException("Jlama's pool has " + coreCount + " threads, expected " + threads);
        }

        // The same values as MatmulBench and OpenBlasMatmulBench: A is M x K, B is K x N (NN) or N x K (NT).
        float[] aValues = Shapes.random(1, c.m() * c.k());
        float[] bValues = Shapes.random(2, c.k() * c.n());
        a = new FloatBufferTensor(c.m(), c.k());
        bTransposed = new FloatBufferTensor(c.n(), c.k());
        out = new FloatBufferTensor(c.m(), c.n());
        for (int i = 0; i < c.m(); i++) {
            for (int p = 0; p < c.k(); p++) {
                a.set(aValues[i * c.k() + p], i, p);
            }
        }
        for (int j = 0; j < c.n(); j++) {
            for (int p = 0; p < c.k(); p++) {
                bTransposed.set(c.transB() ? bValues[j * c.k() + p] : bValues[p * c.n() + j], j, p);
            }
        }

        // Two calls and then a spot check show that the call computes A B and that it overwrites C.
        jlama();
        jlama();
        check(aValues, bValues);
        System.out.println("# Jlama operations: " + operations.name() + ", pool threads " + coreCount);
    }

    /** Compares five entries of C with dot products summed in double precision. */
    private void check(float[] aValues, float[] bValues) {
        int[][] spots = {{0, 0}, {c.m() - 1, c.n() - 1}, {c.m() / 2, c.n() / 3}, {c.m() / 3, c.n() - 1},
                {Math.min(1, c.m() - 1), Math.min(7, c.n() - 1)}};
        for (int[] s : spots) {
            int i = s[0];
            int j = s[1];
            double want = 0;
            double scale = 0;
            for (int p = 0; p < c.k(); p++) {
                double x = aValues[i * c.k() + p] * (double) (c.transB() ? bValues[j * c.k() + p] : bValues[p * c.n() + j]);
                want += x;
                scale += Math.abs(x);
            }
            float got = out.get(i, j);
            if (Math.abs(got - want) > 1e-5 * scale + 1e-6) {
                throw new IllegalStateException("Jlama's C[" + i + "][" + j + "] is " + got + ", expected " + want);
            }
        }
    }

    @TearDown
    public void tearDown() {
        a.close();
        bTransposed.close();
        out.close();
    }

    @Benchmark
    public FloatBufferTensor jlama() {
        int k = c.k();
        VectorMath.pchunk(0, c.n(), (start, size) -> operations.dotProductChunk(out, a, bTransposed, 0, k, start, size));
        return out;
    }
}
