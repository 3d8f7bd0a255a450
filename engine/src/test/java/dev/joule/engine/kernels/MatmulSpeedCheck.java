package dev.joule.engine.kernels;

import java.util.Arrays;
import java.util.Random;

/**
 * Prints GEMM throughput in GFLOP/s for the shapes that training uses, at 1 and 2 threads. A manual
 * check, not a JUnit test. Run after {@code mvn -pl engine test-compile}:
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp engine/target/classes:engine/target/test-classes \
 *     dev.joule.engine.kernels.MatmulSpeedCheck [threads...]
 * </pre>
 *
 * Each line gives the median and the best of 5 timed runs. The best shows what the kernel reaches
 * when the host does not steal time from this VM. Timing starts after at least 3 warm-up runs and 1 s,
 * so that C2 has compiled the kernels, because the Vector API is far slower before that. FLOPs are
 * counted as 2*M*N*K.
 */
public final class MatmulSpeedCheck {
    private static final int WARMUP = 3;
    private static final long WARMUP_NANOS = 1_000_000_000L;
    private static final int RUNS = 5;

    private MatmulSpeedCheck() {}

    public static void main(String[] args) {
        int[] threadCounts = args.length == 0 ? new int[] {1, 2}
                : Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        System.out.println("kernels: " + Simd.describe());
        // {M, N, K}; each shape runs as A B, A^T B and A B^T.
        int[][] shapes = {{1024, 1024, 1024}, {4096, 768, 256}, {4096, 1024, 256}, {4096, 256, 1024}};
        for (int threads : threadCounts) {
            Parallel.setThreads(threads);
            for (int[] shape : shapes) {
                for (int variant = 0; variant < 3; variant++) {
                    boolean transA = variant == 1;
                    boolean transB = variant == 2;
                    double[] gflops = measure(transA, transB, shape[0], shape[1], shape[2]);
                    System.out.printf("threads=%d %-5s M=%-5d N=%-5d K=%-5d median %6.1f  best %6.1f GFLOP/s%n",
                            threads, label(transA, transB), shape[0], shape[1], shape[2],
                            gflops[0], gflops[1]);
                }
            }
        }
    }

    private static String label(boolean transA, boolean transB) {
        if (transA) {
            return "A^T B";
        }
        return transB ? "A B^T" : "A B";
    }

    /** Returns {median, best} GFLOP/s. */
    private static double[] measure(boolean transA, boolean transB, int m, int n, int k) {
        Random random = new Random(42);
        float[] a = new float[m * k];
        float[] b = new float[k * n];
        float[] c = new float[m * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = random.nextFloat() - 0.5f;
        }
        for (int i = 0; i < b.length; i++) {
            b[i] = random.nextFloat() - 0.5f;
        }
        int lda = transA ? m : k;
        int ldb = transB ? k : n;
        long warmupStart = System.nanoTime();
        for (int run = 0; run < WARMUP || System.nanoTime() - warmupStart < WARMUP_NANOS; run++) {
            Matmul.gemm(transA, transB, m, n, k, a, 0, lda, b, 0, ldb, c, 0, n, false);
        }
        long[] times = new long[RUNS];
        for (int run = 0; run < RUNS; run++) {
            long start = System.nanoTime();
            Matmul.gemm(transA, transB, m, n, k, a, 0, lda, b, 0, ldb, c, 0, n, false);
            times[run] = System.nanoTime() - start;
        }
        Arrays.sort(times);
        double flops = 2.0 * m * n * k;
        return new double[] {flops / times[RUNS / 2], flops / times[0]};
    }
}
