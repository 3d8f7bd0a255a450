package dev.joule.models.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.joule.engine.Tensor;
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

/**
 * The OpenCL trainer against the CPU trainer: same seed, initialization and batches, so the losses must
 * agree step by step.
 *
 * <p>Tolerance: 1e-3 relative on every train and validation loss and gradient norm of a 10-step run.
 * Both run in float32 but sum in different orders, so the weights drift apart slightly. On pocl the
 * losses agree to about 1e-7 relative, and 1e-3 leaves room for GPUs whose exp and tanh differ more.
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

    private static void assertRelClose(double expected, double actual, String what) {
        double err = Math.abs(expected - actual) / Math.max(1e-12, Math.abs(expected));
        assertTrue(err <= REL, what + ": cpu " + expected + ", opencl " + actual + " (relative error " + err + ")");
    }

    @Test
    void tenStepsMatchTheCpuTrainer(@TempDir Path dir) {
        Dataset data = Dataset.split(TOKENS, 0.1, CONFIG.context());
        Trainer cpu = new Trainer(CONFIG, settings(10, 5), data, new RunDirectory(dir.resolve("cpu")));
        Trainer.Result rc = cpu.train(new Trainer.Listener() {});
        Trainer.Result rd;
        try (DeviceTrainer device = new DeviceTrainer(CONFIG, settings(10, 5), data,
                new RunDirectory(dir.resolve("opencl")), opencl)) {
            rd = device.train(new Trainer.Listener() {});
            assertTrue(device.deviceBytes() > 0);
        }
        List<StepMetrics> mc = Trainer.readMetrics(dir.resolve("cpu").resolve(RunDirectory.METRICS));
        List<StepMetrics> md = Trainer.readMetrics(dir.resolve("opencl").resolve(RunDirectory.METRICS));
        assertEquals(mc.size(), md.size(), "metrics lines");
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

    @Test
    void checkpointLoadsIntoTheCpuModelAndResumes(@TempDir Path dir) {
        Dataset data = Dataset.split(TOKENS, 0.1, CONFIG.context());
        RunDirectory run = new RunDirectory(dir.resolve("opencl"));
        try (DeviceTrainer device = new DeviceTrainer(CONFIG, settings(4, 2), data, run, opencl)) {
            device.train(new Trainer.Listener() {});
        }
        // The saved weights load into a CPU GPT, as joule sample loads them, and give the saved val loss.
        Gpt model = new Gpt(CONFIG, 1L);
        model.loadStateDict(run.readTensors(RunDirectory.MODEL, 4));
        Map<String, Tensor> moments = run.readTensors(RunDirectory.OPTIMIZER, 4);
        for (String name : model.stateDict().keySet()) {
            assertTrue(moments.containsKey(name + ".m"), name);
            assertTrue(moments.containsKey(name + ".v"), name);
        }
        Trainer cpu = new Trainer(CONFIG, settings(4, 2), data, run);
        cpu.model().loadStateDict(run.readTensors(RunDirectory.MODEL, 4));
        assertRelClose(run.readTrainerState().valLoss(), cpu.validationLoss(), "validation loss of the checkpoint");

        // Four more steps on the device from the checkpoint match four more on the CPU.
        Path cpuDir = dir.resolve("cpu-resume");
        copyRun(run.path(), cpuDir);
        Trainer.Result onCpu = new Trainer(CONFIG, settings(4, 2).extendedTo(8), data, new RunDirectory(cpuDir))
                .resume(new Trainer.Listener() {});
        Trainer.Result onDevice;
        try (DeviceTrainer device = new DeviceTrainer(CONFIG, settings(4, 2).extendedTo(8), data, run, opencl)) {
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
    void rejectsRecipesWithoutDeviceKernels(@TempDir Path dir) {
        Dataset data = Dataset.split(TOKENS, 0.1, CONFIG.context());
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> new DeviceTrainer(
                CONFIG.withEnergy("linear", "gd"), settings(2, 2), data, new RunDirectory(dir), opencl));
        assertTrue(e.getMessage().contains("softmax"), e.getMessage());
        assertTrue(e.getMessage().contains("gd"), e.getMessage());
        assertThrows(InvalidInputException.class, () -> new DeviceTrainer(CONFIG.withDropout(0.1f), settings(2, 2),
                data, new RunDirectory(dir), opencl));
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
