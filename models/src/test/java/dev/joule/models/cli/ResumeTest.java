package dev.joule.models.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.joule.models.RealText;
import dev.joule.models.cli.CliTest.Outcome;
import dev.joule.models.train.RunDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** joule train --resume: data paths and fingerprints, and options given again. */
class ResumeTest {
    private static Outcome run(String... args) {
        return CliTest.run(args);
    }

    private static void assertUsageError(Outcome o, String... fragments) {
        assertEquals(2, o.code(), "exit code; stderr: " + o.err());
        for (String f : fragments) {
            assertTrue(o.err().contains(f), "stderr lacks '" + f + "': " + o.err());
        }
    }

    private static JsonObject config(Path run) throws Exception {
        return JsonParser.parseString(Files.readString(run.resolve(RunDirectory.CONFIG))).getAsJsonObject();
    }

    private static String savedData(Path run) throws Exception {
        return config(run).getAsJsonObject("train").getAsJsonArray("data").get(0).getAsString();
    }

    /** Trains a 2-step run on {@code data} into {@code run}. */
    private static void train(Path data, Path run) {
        Outcome o = run(CliTest.small("--data", data.toString(), "--out", run.toString()));
        assertEquals(0, o.code(), o.err());
    }

    @Test
    void relativeDataPathSavedAbsolute(@TempDir Path dir) throws Exception {
        Path data = RealText.write(dir);
        Path relative = Path.of("").toAbsolutePath().relativize(data);
        assertFalse(relative.isAbsolute());
        Path run = dir.resolve("run");
        train(relative, run);
        assertEquals(data.toString(), savedData(run));
    }

    @Test
    void movedDataAcceptedWhenContentMatches(@TempDir Path dir) throws Exception {
        Path data = RealText.write(dir);
        Path run = dir.resolve("run");
        train(data, run);
        Path moved = Files.move(data, dir.resolve("moved.txt"));

        assertUsageError(run("train", "--resume", run.toString(), "--steps", "4"), "data path not found",
                data.toString(), "--data", RunDirectory.CONFIG);

        Path other = Files.writeString(dir.resolve("other.txt"), RealText.text().substring(0, 20_000));
        byte[] model = Files.readAllBytes(run.resolve(RunDirectory.MODEL));
        assertUsageError(run("train", "--resume", run.toString(), "--steps", "4", "--data", other.toString()),
                "has changed", other.toString());
        assertArrayEquals(model, Files.readAllBytes(run.resolve(RunDirectory.MODEL)));

        Outcome ok = run("train", "--resume", run.toString(), "--steps", "4", "--data", moved.toString());
        assertEquals(0, ok.code(), ok.err());
        assertEquals(moved.toString(), savedData(run));
        // The new path is saved, so later resumes need no --data.
        Outcome again = run("train", "--resume", run.toString(), "--steps", "6");
        assertEquals(0, again.code(), again.err());
    }

    @Test
    void changedDataRejected(@TempDir Path dir) throws Exception {
        Path data = RealText.write(dir);
        Path run = dir.resolve("run");
        train(data, run);
        Files.writeString(data, RealText.text().substring(0, 20_000));
        byte[] model = Files.readAllBytes(run.resolve(RunDirectory.MODEL));
        assertUsageError(run("train", "--resume", run.toString(), "--steps", "4"), "has changed",
                data.toString(), "--out");
        assertArrayEquals(model, Files.readAllBytes(run.resolve(RunDirectory.MODEL)));
    }

    /** Data too short for the run's context is a changed dataset, not a reason to change --context. */
    @Test
    void tooShortDataRejectedAsChanged(@TempDir Path dir) throws Exception {
        Path data = RealText.write(dir);
        Path run = dir.resolve("run");
        train(data, run);
        Files.writeString(data, "too short");
        Outcome o = run("train", "--resume", run.toString(), "--steps", "4");
        assertUsageError(o, "does not match", "restore the original text");
        assertFalse(o.err().contains("smaller --context"), o.err());
    }

    @Test
    void runWithoutFingerprintStillResumes(@TempDir Path dir) throws Exception {
        Path data = RealText.write(dir);
        Path run = dir.resolve("run");
        train(data, run);
        JsonObject config = config(run);
        assertTrue(config.has("dataFingerprint"), config.toString());
        config.remove("dataFingerprint");
        Path configFile = run.resolve(RunDirectory.CONFIG);
        Files.writeString(configFile, config.toString());

        Path moved = Files.move(data, dir.resolve("moved.txt"));
        assertUsageError(run("train", "--resume", run.toString(), "--steps", "4", "--data", moved.toString()),
                "no data fingerprint", RunDirectory.CONFIG);
        assertUsageError(run("train", "--resume", run.toString(), "--steps", "4"), "data path not found",
                "\"data\"", RunDirectory.CONFIG);

        // The fix that the message gives: edit the path in config.json.
        Files.writeString(configFile, Files.readString(configFile).replace(data.toString(), moved.toString()));
        Outcome ok = run("train", "--resume", run.toString(), "--steps", "4");
        assertEquals(0, ok.code(), ok.err());
    }

    @Test
    void optionsWithSavedValuesAccepted(@TempDir Path dir) throws Exception {
        Path data = RealText.write(dir);
        Path run = dir.resolve("run");
        train(data, run);
        Outcome same = run("train", "--resume", run.toString(), "--steps", "4", "--layers", "1", "--dim", "16",
                "--batch", "2", "--seed", "1337", "--data", data.toString(), "--out", run.toString(),
                "--sample-tokens", "0");
        assertEquals(0, same.code(), same.err());

        assertUsageError(run("train", "--resume", run.toString(), "--steps", "6", "--layers", "2"),
                "--layers 2", "1", "--resume takes from", RunDirectory.CONFIG);
        assertUsageError(run("train", "--resume", run.toString(), "--steps", "6", "--lr", "0.5"), "--lr 0.5");
        assertUsageError(run("train", "--resume", run.toString(), "--steps", "6", "--out",
                dir.resolve("elsewhere").toString()), "--out names the directory of a new run", "drop --resume");
        assertUsageError(run("train", "--resume", run.toString(), "--steps", "6", "--overwrite"),
                "--overwrite replaces a run");
    }
}
