package dev.joule.models.compare;

import dev.joule.engine.Tensor;
import dev.joule.models.data.Dataset;
import dev.joule.models.gpt.Gpt;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;

/**
 * Measures the heap that a training forward pass keeps alive for its backward pass: the activations
 * and the autograd graph, which is where the attention variants differ.
 *
 * <p>Method: {@link MemoryMXBean#gc()}, then the used heap from {@link MemoryMXBean#getHeapMemoryUsage()};
 * then the forward pass and loss with gradients on; then another gc and a second reading while the
 * loss, and with it the graph, is still reachable. The difference is the retained size. The smallest of
 * three repetitions is reported, because another thread can allocate between the readings. Tensors live
 * in Java float arrays, so the heap accounts for all of them.
 *
 * <p>NOTE: this is the graph's size at its largest point under this engine (after the forward pass),
 * not the process's peak resident memory, and gc() is a request the JVM may ignore under some
 * collectors.
 */
public final class HeapProbe {
    private static final int REPEATS = 3;

    private HeapProbe() {}

    /** Returns the bytes retained by one training forward pass of {@code model} on {@code batch}. */
    public static long retainedBytes(Gpt model, Dataset.Batch batch) {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long best = Long.MAX_VALUE;
        model.train(true);
        for (int r = 0; r < REPEATS; r++) {
            memory.gc();
            long before = memory.getHeapMemoryUsage().getUsed();
            Tensor loss = model.loss(batch.inputs(), batch.targets(), batch.batch(), batch.context(), 0);
            memory.gc();
            long after = memory.getHeapMemoryUsage().getUsed();
            Reference.reachabilityFence(loss);
            best = Math.min(best, after - before);
        }
        model.zeroGrad();
        return Math.max(0, best);
    }
}
