package dev.joule.engine;

import dev.joule.engine.kernels.Parallel;
import dev.joule.engine.kernels.Simd;
import java.util.Arrays;
import java.util.Random;

/**
 * Prints the time of one forward and backward pass of causal attention at B=1, H=4, C=256, for the
 * fused {@link AttentionOps#causalSelfAttention} and for the composed ops (split heads, q k^T, mask,
 * softmax, times v, merge heads). A manual check, not a JUnit test. Run after
 * {@code mvn -pl engine test-compile}:
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp engine/target/classes:engine/target/test-classes \
 *     dev.joule.engine.AttentionSpeedCheck [threads...]
 * </pre>
 *
 * Each line gives the median and the best of 7 timed runs of {@code sum(y * r).backward()}, after at
 * least 3 warm-up runs and 3 s so that C2 has compiled the kernels.
 */
public final class AttentionSpeedCheck {
    private static final int WARMUP = 3;
    private static final long WARMUP_NANOS = 3_000_000_000L;
    private static final int RUNS = 7;
    private static final int BATCH = 1;
    private static final int HEADS = 4;
    private static final int C = 256;

    private AttentionSpeedCheck() {}

    public static void main(String[] args) {
        int[] threadCounts = args.length == 0 ? new int[] {1, Runtime.getRuntime().availableProcessors()}
                : Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        System.out.println("kernels: " + Simd.describe());
        for (int threads : threadCounts) {
            Parallel.setThreads(threads);
            for (int t : new int[] {256, 1024}) {
                double[] fused = measure(t, true);
                double[] composed = measure(t, false);
                System.out.printf("threads=%d B=%d H=%d C=%d T=%-5d fused median %8.2f best %8.2f ms |"
                                + " composed median %8.2f best %8.2f ms%n",
                        threads, BATCH, HEADS, C, t, fused[0], fused[1], composed[0], composed[1]);
            }
        }
    }

    /** Returns {median, best} milliseconds of one forward and backward pass. */
    private static double[] measure(int t, boolean fused) {
        Random random = new Random(42);
        float[] data = new float[BATCH * t * 3 * C];
        for (int i = 0; i < data.length; i++) {
            data[i] = (float) random.nextGaussian();
        }
        float[] r = new float[BATCH * t * C];
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) random.nextGaussian();
        }
        float scale = (float) (1.0 / Math.sqrt(C / HEADS));

        long warmStart = System.nanoTime();
        for (int i = 0; i < WARMUP || System.nanoTime() - warmStart < WARMUP_NANOS; i++) {
            step(data, r, t, scale, fused);
        }
        double[] ms = new double[RUNS];
        for (int i = 0; i < RUNS; i++) {
            long start = System.nanoTime();
            step(data, r, t, scale, fused);
            ms[i] = (System.nanoTime() - start) / 1e6;
        }
        Arrays.sort(ms);
        return new double[] {ms[RUNS / 2], ms[0]};
    }

    private static void step(float[] data, float[] r, int t, float scale, boolean fused) {
        Tensor qkv = Tensor.of(data, BATCH, t, 3 * C).requiresGrad(true);
        Tensor y = fused ? AttentionOps.causalSelfAttention(qkv, HEADS, scale)
                : AttentionOpsTest.composedAttention(qkv, HEADS, scale);
        y.mul(Tensor.of(r, BATCH, t, C)).sum().backward();
        if (qkv.grad() == null) {
            throw new IllegalStateException("no gradient reached qkv");
        }
    }
}
