package dev.joule.models.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.engine.Tensor;
import dev.joule.engine.kernels.Parallel;
import dev.joule.models.RealText;
import dev.joule.models.data.ByteTokenizer;
import dev.joule.models.data.Dataset;
import dev.joule.models.gpt.GptConfig;
import dev.joule.models.sample.Generator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainingTest {
    private static final int[] TOKENS = new ByteTokenizer().encode(RealText.text());

    private static TrainSettings settings(int steps, int batch, int evalEvery) {
        return settings(steps, 0, batch, evalEvery);
    }

    private static TrainSettings settings(int steps, int decaySteps, int batch, int evalEvery) {
        return new TrainSettings(List.of(), null, 0.1, steps, decaySteps, batch, 3e-3f, 3e-4f, Math.min(20, steps / 10),
                0.1f, 1.0f, 1234L, evalEvery, 4, false);
    }

    @Test
    void tinyModelLearnsRealText(@TempDir Path dir) {
        GptConfig config = GptConfig.tiny();
        TrainSettings s = settings(250, 4, 125);
        Dataset data = Dataset.split(TOKENS, 0.1, config.context());
        Trainer trainer = new Trainer(config, s, data, new RunDirectory(dir));
        Trainer.Result r = trainer.train(new Trainer.Listener() {});
        // A model that only learned byte frequencies sits near 3.3 nats; the fresh one near ln 256 = 5.5.
        assertTrue(r.initialValLoss() > 5.0, "initial loss " + r.initialValLoss());
        assertTrue(r.finalValLoss() < 0.6 * r.initialValLoss(),
                "val loss " + r.finalValLoss() + " did not fall far below " + r.initialValLoss());
        String text = new Generator(trainer.model()).generate("The ", new Generator.Options(40, 0.8f, 0, 0.95f, 1));
        assertFalse(text.isEmpty());
        for (String f : List.of(RunDirectory.CONFIG, RunDirectory.MODEL, RunDirectory.OPTIMIZER,
                RunDirectory.TRAINER, RunDirectory.METRICS, RunDirectory.PLOT)) {
            assertTrue(Files.isRegularFile(dir.resolve(f)), "missing " + f);
        }
    }

    private static Map<String, Tensor> trainSteps(GptConfig config, int threads, int steps, Path dir) {
        int saved = Parallel.threads();
        try {
            Parallel.setThreads(threads);
            Dataset data = Dataset.split(TOKENS, 0.1, config.context());
            Trainer trainer = new Trainer(config, settings(steps, 3, steps), data, new RunDirectory(dir));
            trainer.train(new Trainer.Listener() {});
            return trainer.model().stateDict();
        } finally {
            Parallel.setThreads(saved);
        }
    }

    @Test
    void stepsAreBitwiseIdenticalAcrossThreadCounts(@TempDir Path dir) {
        GptConfig config = new GptConfig(256, 33, 2, 2, 48, 0.1f, "softmax", "gd");
        Map<String, Tensor> one = trainSteps(config, 1, 3, dir.resolve("t1"));
        for (int threads : new int[] {2, 3}) {
            Map<String, Tensor> other = trainSteps(config, threads, 3, dir.resolve("t" + threads));
            for (String name : one.keySet()) {
                assertArrayEquals(one.get(name).toArray(), other.get(name).toArray(),
                        name + " differs between 1 and " + threads + " threads");
            }
        }
    }

    @Test
    void stepsReuseTheirBuffers(@TempDir Path dir) {
        GptConfig config = new GptConfig(256, 16, 2, 2, 16, 0.1f, "softmax", "gd");
        Dataset data = Dataset.split(TOKENS, 0.1, config.context());
        Trainer trainer = new Trainer(config, settings(4, 2, 100), data, new RunDirectory(dir));
        trainer.train(new Trainer.Listener() {});
        assertEquals(0, trainer.lastStepNewBuffers(), "the fourth step allocated new buffers");
        assertTrue(trainer.reusedBufferBytes() > 0);
    }

    @Test
    void resumeEqualsUninterruptedTraining(@TempDir Path dir) throws Exception {
        GptConfig config = new GptConfig(256, 32, 2, 2, 32, 0.1f, "softmax", "gd");
        Dataset data = Dataset.split(TOKENS, 0.1, config.context());

        Path whole = dir.resolve("whole");
        new Trainer(config, settings(8, 2, 4), data, new RunDirectory(whole)).train(new Trainer.Listener() {});

        Path split = dir.resolve("split");
        new Trainer(config, settings(4, 8, 2, 4), data, new RunDirectory(split)).train(new Trainer.Listener() {});
        new Trainer(config, settings(4, 8, 2, 4).extendedTo(8), data, new RunDirectory(split)).resume(new Trainer.Listener() {});

        assertArrayEquals(Files.readAllBytes(whole.resolve(RunDirectory.MODEL)),
                Files.readAllBytes(split.resolve(RunDirectory.MODEL)));
        assertArrayEquals(Files.readAllBytes(whole.resolve(RunDirectory.OPTIMIZER)),
                Files.readAllBytes(split.resolve(RunDirectory.OPTIMIZER)));
        List<StepMetrics> a = Trainer.readMetrics(whole.resolve(RunDirectory.METRICS));
        List<StepMetrics> b = Trainer.readMetrics(split.resolve(RunDirectory.METRICS));
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).step(), b.get(i).step());
            assertEquals(a.get(i).trainLoss(), b.get(i).trainLoss(), "train loss at line " + i);
            assertEquals(a.get(i).valLoss(), b.get(i).valLoss(), "val loss at line " + i);
            assertEquals(a.get(i).lr(), b.get(i).lr());
            assertEquals(a.get(i).gradNorm(), b.get(i).gradNorm());
        }
    }
}
