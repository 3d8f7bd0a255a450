package dev.joule.bench;

import dev.joule.engine.Buffers;
import dev.joule.engine.Tensor;
import dev.joule.engine.kernels.Parallel;
import dev.joule.engine.optim.AdamW;
import dev.joule.engine.optim.Schedules;
import dev.joule.models.gpt.Gpt;
import dev.joule.models.gpt.GptConfig;
import java.util.SplittableRandom;
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
 * One whole training step of the tiny or small preset at batch 16: forward, cross-entropy, backward,
 * gradient
 * clipping, AdamW and zeroing the gradients, on fixed random tokens. Tokens per second is
 * {@code 16 * context / time}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {JvmFlags.VECTOR_MODULE, JvmFlags.NATIVE_ACCESS, JvmFlags.QUIET, JvmFlags.INLINE_EXP, JvmFlags.INLINE_LOG, JvmFlags.INLINE_TANH,
        JvmFlags.INLINE_GELU, JvmFlags.INLINE_GELU_DERIVATIVE})
public class TrainStepBench {
    static final int BATCH = 16;

    @Param({"1", "2"})
    public int threads;

    @Param({"tiny", "small"})
    public String preset;

    private final Buffers.Arena arena = new Buffers.Arena();
    private Gpt model;
    private AdamW optimizer;
    private int[] inputs;
    private int[] targets;
    private int context;

    @Setup
    public void setUp() {
        Parallel.setThreads(threads);
        GptConfig config = GptConfig.preset(preset);
        context = config.context();
        model = new Gpt(config, 1337);
        model.train(true);
        optimizer = new AdamW(model.parameters(), 0.9f, 0.95f, 1e-8f, 0.1f);
        SplittableRandom rnd = new SplittableRandom(7);
        inputs = new int[BATCH * context];
        targets = new int[BATCH * context];
        for (int i = 0; i < inputs.length; i++) {
            inputs[i] = rnd.nextInt(config.vocab());
            targets[i] = rnd.nextInt(config.vocab());
        }
    }

    /** Runs the step as joule train does, with activations and gradients from a reused arena. */
    @Benchmark
    public float step() {
        try (Buffers.Scope ignored = arena.open()) {
            return plainStep();
        }
    }

    /** Runs the same step with fresh arrays for every activation, for the allocation comparison. */
    @Benchmark
    public float stepWithoutArena() {
        return plainStep();
    }

    private float plainStep() {
        Tensor loss = model.loss(inputs, targets, BATCH, context, 0);
        float value = loss.item();
        loss.backward();
        Schedules.clipGradNorm(model.parameters(), 1.0);
        optimizer.step(1e-4f);
        model.zeroGrad();
        return value;
    }
}
