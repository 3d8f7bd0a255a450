package dev.joule.models.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.joule.models.train.RunDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code joule devices} and the device errors of {@code joule train}. CI installs pocl, a CPU OpenCL device. */
class DevicesCommandTest {
    @Test
    void listsTheCpuAndAnOpenClDevice() {
        CliTest.Outcome r = CliTest.run("devices", "--json");
        assertEquals(Main.EXIT_OK, r.code(), r.err());
        assertTrue(r.out().contains("cpu"), r.out());
        assertTrue(r.out().contains("opencl:0"), "no OpenCL device listed; install pocl-opencl-icd and"
                + " ocl-icd-opencl-dev (.ci/run does this). Output:\n" + r.out());
        String[] lines = r.out().strip().split("\n");
        JsonObject summary = JsonParser.parseString(lines[lines.length - 1]).getAsJsonObject();
        assertEquals("devices", summary.get("command").getAsString());
        assertTrue(summary.getAsJsonArray("devices").size() >= 2, r.out());
    }

    @Test
    void trainsOnOpenClAndTheCheckpointSamples(@TempDir Path dir) {
        Path out = dir.resolve("run");
        CliTest.Outcome r = CliTest.run(CliTest.small("--device", "opencl:0", "--out", out.toString()));
        assertEquals(Main.EXIT_OK, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("opencl:0"), r.out());
        assertTrue(Files.isRegularFile(out.resolve(RunDirectory.MODEL)));
        CliTest.Outcome s = CliTest.run("sample", "--checkpoint", out.toString(), "--tokens", "5");
        assertEquals(Main.EXIT_OK, s.code(), s.out() + s.err());
    }

    @Test
    void trainsGatedLinearOnOpenCl(@TempDir Path dir) {
        Path out = dir.resolve("run");
        CliTest.Outcome r = CliTest.run(CliTest.small("--device", "opencl", "--energy", "gated-linear", "--optimizer",
                "nesterov", "--out", out.toString()));
        assertEquals(Main.EXIT_OK, r.code(), r.out() + r.err());
        assertTrue(Files.isRegularFile(out.resolve(RunDirectory.MODEL)));
    }

    @Test
    void missingDeviceIndexIsInvalidInput() {
        CliTest.Outcome r = CliTest.run(CliTest.small("--device", "opencl:99"));
        assertEquals(Main.EXIT_USAGE, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("opencl device 99"), r.err());
        assertTrue(r.err().contains("joule devices"), r.err());
    }

    @Test
    void trainsANewtonStepOnOpenCl(@TempDir Path dir) {
        Path out = dir.resolve("run");
        CliTest.Outcome r = CliTest.run(CliTest.small("--device", "opencl:0", "--optimizer", "newton", "--out",
                out.toString()));
        assertEquals(Main.EXIT_OK, r.code(), r.out() + r.err());
        assertTrue(Files.isRegularFile(out.resolve(RunDirectory.MODEL)));
    }

    @Test
    void dropoutOnOpenClIsInvalidInput() {
        CliTest.Outcome r = CliTest.run(CliTest.small("--device", "opencl", "--dropout", "0.1"));
        assertEquals(Main.EXIT_USAGE, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("dropout"), r.err());
        assertTrue(r.err().contains("--device cpu"), r.err());
    }

    @Test
    void unknownBackendIsInvalidInput() {
        CliTest.Outcome r = CliTest.run(CliTest.small("--device", "cuda"));
        assertEquals(Main.EXIT_USAGE, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("cuda"), r.err());
    }
}
