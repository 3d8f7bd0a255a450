package dev.joule.models.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.joule.engine.Tensor;
import dev.joule.layers.ChunkedLinearAttention;
import dev.joule.models.InvalidInputException;
import dev.joule.models.RealText;
import dev.joule.models.data.ByteTokenizer;
import dev.joule.models.data.Dataset;
import dev.joule.models.gpt.Gpt;
import dev.joule.models.gpt.GptConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The OpenCL trainer against the CPU trainer: same seed, initialization and batches, so the losses must
 * agree step by step.
 *
 * <p>Tolerance: 1e-3 relative on every train and validation loss and gradient norm of a 10-step run.
 * Both run in float32 but sum in different orders, so the weights drift apart slightly. On pocl the
 * losses agree to about 1e-7 relative, and 1e-3 leaves room for GPUs whose exp and tanh differ more.
 * The same bound holds for the momentum, nesterov and the three Newton optimizers, whose runs agree as
 * closely on pocl, and for the linear and gated-linear energies with gd, momentum and nesterov.
 */
class DeviceTrainerTest {
    private static final double REL = 1e-3;
    private static final int[] TOKENS = new ByteTokenizer().encode(RealText.text());

    private static DeviceTrainer.Selection opencl;

    @BeforeAll
    static void findDevice() {
        try {
            opencl = DeviceTrainer.select("opencl");
        } catch (InvalidInputException e) {
            fail("these tests need an OpenCL platform: install pocl-opencl-icd and ocl-icd-opencl-dev (Debian;"
                    + " .ci/run does this). Cause: " + e.getMessage(), e);
        }
    }

    private static TrainSettings settings(int steps, int evalEvery) {
        return new TrainSettings(List.of(), null, 0.1, steps, 10, 2, 3e-3f, 3e-4f, 2, 0.1f, 1.0f, 4321L, evalEvery, 2,
                false);
    }

    private static final GptConfig CONFIG = new GptConfig(256, 16, 2, 2, 32, 0f, "softmax", "gd");

    /**
     * The learned theta of mu = sigmoid(theta) moves the loss too little in 10 steps for the loss check
     * to see a wrong gradient, so the trained values are compared directly: the first block's stays at
     * its initial 0 (its velocity is zero, so it gets no gradient), the others move and agree within REL
     * of their change.
     */
    private static void assertMomentumCoefficientsMatch(GptConfig config, Map<String, Tensor> cpuWeights,
                                                        Map<String, Tensor> deviceWeights) {
        if (!List.of("momentum", "nesterov").contains(config.optimizer())) {
            return;
        }
        for (int l = 0; l < config.layers(); l++) {
            String name = "h" + l + ".attn.momentum_logit";
            float c = cpuWeights.get(name).toArray()[0];
            float d = deviceWeights.get(name).toArray()[0];
            System.out.printf("  %s: cpu %.9g, opencl %.9g%n", name, c, d);
            if (l == 0) {
                assertEquals(0f, c, name + " on the cpu");
                assertEquals(0f, d, name + " on opencl");
            } else {
                assertTrue(Math.abs(c) > 1e-4, name + " did not train on the cpu: " + c);
                assertRelClose(c, d, name + " after 10 steps");
            }
        }
    }

    /**
     * The gate of the gated-linear energy (weight (H, C), bias (H) per block) moves the loss little in 10
     * steps, so its trained values are compared directly. Each tensor's largest difference between the
     * devices must be within REL of its largest change from the initial value. That change must not be
     * zero on the CPU, so the gate does train.
     */
    private static void assertGatesMatch(GptConfig config, Map<String, Tensor> initial, Map<String, Tensor> cpuWeights,
                                         Map<String, Tensor> deviceWeights) {
        if (!"gated-linear".equals(config.energy())) {
            return;
        }
        for (int l = 0; l < config.layers(); l++) {
            for (String part : List.of("weight", "bias")) {
                String name = "h" + l + ".attn.gate." + part;
                float[] start = initial.get(name).toArray();
                float[] c = cpuWeights.get(name).toArray();
                float[] d = deviceWeights.get(name).toArray();
                double change = 0;
                double diff = 0;
                for (int i = 0; i < c.length; i++) {
                    change = Math.max(change, Math.abs(c[i] - start[i]));
                    diff = Math.max(diff, Math.abs(c[i] - d[i]));
                }
                System.out.printf("  %s: largest change %.3g, largest cpu-opencl difference %.3g%n", name, change,
                        diff);
                assertTrue(change > 1e-4, name + " did not train on the cpu: largest change " + change);
                assertTrue(diff <= REL * change, name + " differs by " + diff + " between the cpu and opencl, where"
                        + " training changed it by at most " + change);
            }
        }
    }

    private static double rel(double expected, double actual) {
        return Math.abs(expected - actual) / Math.max(1e-12, Math.abs(expected));
    }

    private static void assertRelClose(double expected, double actual, String what) {
        double err = rel(expected, actual);
        assertTrue(err <= REL, what + ": cpu " + expected + ", opencl " + actual + " (relative error " + err + ")");
    }

    @Test
    void tenStepsMatchTheCpuTrainer(@TempDir Path dir) {
        assertTenStepsMatch(CONFIG, dir);
    }

    /** Momentum across blocks: the velocity, its learned mu per block and the gradient of mu. */
    @Test
    void tenStepsWithMomentumMatchTheCpuTrainer(@TempDir Path dir) {
        assertTenStepsMatch(CONFIG.withEnergy("softmax", "momentum"), dir);
    }

    /** Nesterov: as momentum, with ln_1 reading the look-ahead point x + mu m. */
    @Test
    void tenStepsWithNesterovMatchTheCpuTrainer(@TempDir Path dir) {
        assertTenStepsMatch(CONFIG.withEnergy("softmax", "nesterov"), dir);
    }

    /** The linear and gated-linear energies with each optimizer the device implements. */
    /** newton-diag: attention with values [v, v * v] and the damped diagonal step per query. */
    @Test
    void tenStepsWithNewtonDiagMatchTheCpuTrainer(@TempDir Path dir) {
        assertTenStepsMatch(CONFIG.withEnergy("softmax", "newton-diag"), dir);
    }

    /** newton-neumann: o + Cov_p(v) o per query, one more weighted pass over the values. */
    @Test
    void tenStepsWithNewtonNeumannMatchTheCpuTrainer(@TempDir Path dir) {
        assertTenStepsMatch(CONFIG.withEnergy("softmax", "newton-neumann"), dir);
    }

    /** newton: an exact D x D solve per query, by Cholesky, with a hand-written backward. */
    @Test
    void tenStepsWithNewtonMatchTheCpuTrainer(@TempDir Path dir) {
        assertTenStepsMatch(CONFIG.withEnergy("softmax", "newton"), dir);
    }

    @ParameterizedTest(name = "{0} + {1}")
    @CsvSource({"linear, gd", "linear, momentum", "linear, nesterov", "gated-linear, gd", "gated-linear, momentum",
        "gated-linear, nesterov"})
    void tenStepsOfLinearEnergiesMatchCpu(String energy, String optimizer, @TempDir Path dir) {
        assertTenStepsMatch(CONFIG.withEnergy(energy, optimizer), dir);
    }

    /** Three blocks, so that a velocity passes through a middle block in both directions. */
    @Test
    void threeBlocksWithNesterovMatchTheCpuTrainer(@TempDir Path dir) {
        assertTenStepsMatch(new GptConfig(256, 16, 3, 2, 32, 0f, "softmax", "nesterov"), dir);
    }

    private static void assertTenStepsMatch(GptConfig config, Path dir) {
        Dataset data = Dataset.split(TOKENS, 0.1, config.context());
        Trainer cpu = new Trainer(config, settings(10, 5), data, new RunDirectory(dir.resolve("cpu")));
        Map<String, Tensor> initial = new java.util.LinkedHashMap<>();
        cpu.model().stateDict().forEach((name, t) -> initial.put(name, Tensor.of(t.toArray(), t.shape())));
        Trainer.Result rc = cpu.train(new Trainer.Listener() {});
        Trainer.Result rd;
        Map<String, Tensor> deviceWeights;
        try (DeviceTrainer device = new DeviceTrainer(config, settings(10, 5), data,
                new RunDirectory(dir.resolve("opencl")), opencl)) {
            rd = device.train(new Trainer.Listener() {});
            assertTrue(device.deviceBytes() > 0);
            deviceWeights = device.model().stateDict();
        }
        assertMomentumCoefficientsMatch(config, cpu.model().stateDict(), deviceWeights);
        assertGatesMatch(config, initial, cpu.model().stateDict(), deviceWeights);

        List<StepMetrics> mc = Trainer.readMetrics(dir.resolve("cpu").resolve(RunDirectory.METRICS));
        List<StepMetrics> md = Trainer.readMetrics(dir.resolve("opencl").resolve(RunDirectory.METRICS));
        assertEquals(mc.size(), md.size(), "metrics lines");
        double worst = 0;
        for (int i = 0; i < mc.size(); i++) {
            StepMetrics c = mc.get(i);
            StepMetrics d = md.get(i);
            if (c.trainLoss() != null) {
                worst = Math.max(worst, rel(c.trainLoss(), d.trainLoss()));
                worst = Math.max(worst, rel(c.gradNorm(), d.gradNorm()));
            }
            if (c.valLoss() != null && d.valLoss() != null) {
                worst = Math.max(worst, rel(c.valLoss(), d.valLoss()));
            }
        }
        System.out.printf("%s + %s, %d layers: largest relative difference cpu vs opencl %.3g%n", config.energy(),
                config.optimizer(), config.layers(), worst);

        for (int i = 0; i < mc.size(); i++) {
            StepMetrics c = mc.get(i);
            StepMetrics d = md.get(i);
            assertEquals(c.step(), d.step());
            if (c.trainLoss() != null) {
                assertRelClose(c.trainLoss(), d.trainLoss(), "train loss at step " + c.step());
                assertRelClose(c.gradNorm(), d.gradNorm(), "gradient norm at step " + c.step());
            }
            if (c.valLoss() != null) {
                assertNotNull(d.valLoss(), "validation loss at step " + c.step());
                assertRelClose(c.valLoss(), d.valLoss(), "validation loss at step " + c.step());
            }
        }
        assertRelClose(rc.finalValLoss(), rd.finalValLoss(), "final validation loss");
    }

    /**
     * Every gradient of one step on the device against the CPU autograd on the same batch, for each
     * supported optimizer, within REL of the largest magnitude of that tensor's gradient. AdamW is
     * invariant to the scale of a gradient, so a wrong factor in a small gradient (such as the one of
     * mu or of the gate) would hardly show in the losses, while this test detects it. The coefficients start
     * away from the default sigmoid(0) so that the whole chain rule through mu is exercised. It runs every
     * supported energy and optimizer.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"softmax", "linear", "gated-linear"})
    void gradientsOfOneStepMatchTheCpuAutograd(String energy) {
        List<String> optimizers = energy.equals("softmax")
                ? List.of("gd", "momentum", "nesterov", "newton", "newton-diag", "newton-neumann")
                : List.of("gd", "momentum", "nesterov");
        for (String optimizer : optimizers) {
            assertOneStepGradientsMatch(new GptConfig(256, 16, 3, 2, 32, 0f, energy, optimizer));
        }
    }

    /**
     * Beyond T = 64 the CPU computes the linear energies in chunks of {@link ChunkedLinearAttention#CHUNK}
     * positions with a carried state, while the device keeps the whole (T, T) matrix; both must give the
     * same gradients.
     */
    @Test
    void gatedLinearGradientsBeyondOneChunk() {
        assertOneStepGradientsMatch(new GptConfig(256, ChunkedLinearAttention.CHUNK + 7, 2, 2, 16, 0f, "gated-linear",
                "nesterov"));
    }

    /** Scales the qkv weights in the gradient test of the Newton steps: v then has a spread of order 1. */
    private static final float NEWTON_QKV_SCALE = 8f;

    private static void assertOneStepGradientsMatch(GptConfig config) {
        Dataset data = Dataset.split(TOKENS, 0.1, config.context());
        Gpt model = new Gpt(config, 99L);
        for (int l = 0; l < config.layers(); l++) {
            Tensor theta = model.stateDict().get("h" + l + ".attn.momentum_logit");
            if (theta != null) {
                theta.copyFrom(Tensor.full(0.7f * l - 0.4f, 1));
            }
            if (config.optimizer().startsWith("newton")) {
                // At the initial scale the values hardly spread, so Cov_p(v) is near 0 and every Newton
                // step is close to gd. Larger q, k and v make the covariance terms count.
                Tensor w = model.stateDict().get("h" + l + ".attn.qkv.weight");
                w.copyFrom(w.scale(NEWTON_QKV_SCALE));
            }
        }
        int b = 2;
        Dataset.Batch batch = data.trainBatch(7L, 0, b);
        Map<String, float[]> device;
        float deviceLoss;
        try (dev.joule.engine.device.Device d = opencl.provider().open(opencl.info().index());
             dev.joule.engine.device.GptStepper stepper = d.gptStepper(DeviceTrainer.shapeOf(config, b),
                     DeviceTrainer.hostWeights(model))) {
            // lr = 0 and no clipping: the step only computes the gradients.
            deviceLoss = stepper.step(batch.inputs(), batch.targets(), 0f, 0f, 0f, 1);
            device = stepper.readGradients();
        }
        Tensor loss = model.loss(batch.inputs(), batch.targets(), b, config.context(), 0L);
        loss.backward();
        String recipe = config.energy() + " + " + config.optimizer() + ", T = " + config.context();
        assertRelClose(loss.item(), deviceLoss, recipe + " loss");
        double worst = 0;
        for (Map.Entry<String, Tensor> e : model.stateDict().entrySet()) {
            Tensor grad = e.getValue().grad();
            float[] expected = grad == null ? new float[e.getValue().numel()] : grad.toArray();
            float[] actual = device.get(e.getKey());
            assertNotNull(actual, "device gradient of " + e.getKey());
            assertEquals(expected.length, actual.length, e.getKey());
            double largest = 0;
            double err = 0;
            for (int i = 0; i < expected.length; i++) {
                largest = Math.max(largest, Math.abs(expected[i]));
                err = Math.max(err, Math.abs(expected[i] - actual[i]));
            }
            if (e.getKey().endsWith("momentum_logit") && !e.getKey().startsWith("h0.")
                    || e.getKey().contains(".attn.gate.")) {
                assertTrue(largest > 0, "the CPU gives " + e.getKey() + " no gradient");
            }
            double relErr = largest == 0 ? err : err / largest;
            worst = Math.max(worst, relErr);
            assertTrue(relErr <= REL, recipe + ": gradient of " + e.getKey() + " differs by " + err
                    + " where its largest magnitude is " + largest);
        }
        System.out.printf("%s: largest gradient difference relative to the tensor's largest magnitude %.3g%n",
                recipe, worst);
    }

    @Test
    void checkpointLoadsIntoTheCpuModelAndResumes(@TempDir Path dir) {
        assertCheckpointResumes(CONFIG, dir);
    }

    /** The checkpoint of a gated-linear run carries the gate weight and bias and their moments. */
    @Test
    void gatedLinearCheckpointResumes(@TempDir Path dir) {
        assertCheckpointResumes(CONFIG.withEnergy("gated-linear", "gd"), dir);
    }

    /** The checkpoint of a momentum run carries momentum_logit and its moments, on both devices. */
    @Test
    void nesterovCheckpointLoadsIntoTheCpuModelAndResumes(@TempDir Path dir) {
        assertCheckpointResumes(CONFIG.withEnergy("softmax", "nesterov"), dir);
    }

    private static void assertCheckpointResumes(GptConfig config, Path dir) {
        Dataset data = Dataset.split(TOKENS, 0.1, config.context());
        RunDirectory run = new RunDirectory(dir.resolve("opencl"));
        try (DeviceTrainer device = new DeviceTrainer(config, settings(4, 2), data, run, opencl)) {
            device.train(new Trainer.Listener() {});
        }
        // The saved weights load into a CPU GPT, as joule sample loads them, and give the saved val loss.
        Gpt model = new Gpt(config, 1L);
        model.loadStateDict(run.readTensors(RunDirectory.MODEL, 4));
        Map<String, Tensor> moments = run.readTensors(RunDirectory.OPTIMIZER, 4);
        for (String name : model.stateDict().keySet()) {
            assertTrue(moments.containsKey(name + ".m"), name);
            assertTrue(moments.containsKey(name + ".v"), name);
        }
        Trainer cpu = new Trainer(config, settings(4, 2), data, run);
        cpu.model().loadStateDict(run.readTensors(RunDirectory.MODEL, 4));
        assertRelClose(run.readTrainerState().valLoss(), cpu.validationLoss(), "validation loss of the checkpoint");

        // Four more steps on the device from the checkpoint match four more on the CPU.
        Path cpuDir = dir.resolve("cpu-resume");
        copyRun(run.path(), cpuDir);
        Trainer.Result onCpu = new Trainer(config, settings(4, 2).extendedTo(8), data, new RunDirectory(cpuDir))
                .resume(new Trainer.Listener() {});
        Trainer.Result onDevice;
        try (DeviceTrainer device = new DeviceTrainer(config, settings(4, 2).extendedTo(8), data, run, opencl)) {
            onDevice = device.resume(new Trainer.Listener() {});
        }
        assertRelClose(onCpu.finalTrainLoss(), onDevice.finalTrainLoss(), "train loss after resuming");
        assertRelClose(onCpu.finalValLoss(), onDevice.finalValLoss(), "validation loss after resuming");
    }

    private static void copyRun(Path from, Path to) {
        try {
            java.nio.file.Files.createDirectories(to);
            try (var files = java.nio.file.Files.list(from)) {
                for (Path f : files.toList()) {
                    java.nio.file.Files.copy(f, to.resolve(f.getFileName()));
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void rejectsDropoutAndInvalidRecipes(@TempDir Path dir) {
        Dataset data = Dataset.split(TOKENS, 0.1, CONFIG.context());
        for (String recipe : List.of("gated-linear:gd", "softmax:newton")) {
            String[] parts = recipe.split(":");
            InvalidInputException dropout = assertThrows(InvalidInputException.class, () -> new DeviceTrainer(
                    CONFIG.withEnergy(parts[0], parts[1]).withDropout(0.1f), settings(2, 2), data,
                    new RunDirectory(dir), opencl));
            assertTrue(dropout.getMessage().contains("dropout"), recipe + ": " + dropout.getMessage());
        }
        // Newton needs a strictly convex energy, so the pair is invalid on every device.
        InvalidInputException invalid = assertThrows(InvalidInputException.class, () -> new DeviceTrainer(
                CONFIG.withEnergy("linear", "newton"), settings(2, 2), data, new RunDirectory(dir), opencl));
        assertTrue(invalid.getMessage().contains("newton"), invalid.getMessage());
    }

    @Test
    void selectRejectsUnknownDevicesAndIndexes() {
        assertTrue(DeviceTrainer.select("cpu").isCpu());
        InvalidInputException range = assertThrows(InvalidInputException.class, () -> DeviceTrainer.select("opencl:99"));
        assertTrue(range.getMessage().contains("99"), range.getMessage());
        assertThrows(InvalidInputException.class, () -> DeviceTrainer.select("cuda"));
        assertThrows(InvalidInputException.class, () -> DeviceTrainer.select("opencl:one"));
    }
}
