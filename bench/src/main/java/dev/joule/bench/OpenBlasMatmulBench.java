package dev.joule.bench;

import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;
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
 * The peer of {@link MatmulBench}: OpenBLAS {@code cblas_sgemm} through JavaCPP's presets, on the same
 * shapes and thread counts, with the matrices in native memory so that no call copies them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR_MODULE, JvmFlags.NATIVE_ACCESS, JvmFlags.QUIET, JvmFlags.INLINE_EXP, JvmFlags.INLINE_LOG, JvmFlags.INLINE_TANH,
        JvmFlags.INLINE_GELU, JvmFlags.INLINE_GELU_DERIVATIVE})
public class OpenBlasMatmulBench {
    @Param({"NN:256:256:256", "NN:512:512:512", "NN:1024:1024:1024", "NN:2048:2048:2048",
            "NN:4096:768:256", "NN:4096:1024:256", "NN:4096:256:1024",
            "NT:4096:768:256", "NT:4096:1024:256", "NT:4096:256:1024",
            "TN:4096:768:256", "TN:4096:1024:256", "TN:4096:256:1024"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    private Shapes.Case c;
    private FloatPointer a;
    private FloatPointer b;
    private FloatPointer out;

    @Setup
    public void setUp() {
        openblas_nolapack.blas_set_num_threads(threads);
        c = Shapes.Case.parse(shape);
        a = new FloatPointer(Shapes.random(1, c.m() * c.k()));
        b = new FloatPointer(Shapes.random(2, c.k() * c.n()));
        out = new FloatPointer((long) c.m() * c.n());
    }

    @TearDown
    public void tearDown() {
        a.close();
        b.close();
        out.close();
    }

    @Benchmark
    public FloatPointer openblas() {
        openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor,
                c.transA() ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans,
                c.transB() ? openblas_nolapack.CblasTrans : openblas_nolapack.CblasNoTrans,
                c.m(), c.n(), c.k(), 1f, a, c.lda(), b, c.ldb(), 0f, out, c.n());
        return out;
    }
}
