package dev.joule.models.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.models.RealText;
import dev.joule.models.cli.CliTest.Outcome;
import dev.joule.models.train.RunDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Error messages give advice that applies to the command that failed. */
class MessagesTest {
    private static void assertUsageError(Outcome o, String... fragments) {
        assertEquals(2, o.code(), "exit code; stderr: " + o.err());
        for (String f : fragments) {
            assertTrue(o.err().contains(f), "stderr lacks '" + f + "': " + o.err());
        }
    }

    private static void assertLacks(Outcome o, String... fragments) {
        for (String f : fragments) {
            assertFalse(o.err().contains(f), "stderr contains '" + f + "': " + o.err());
        }
    }

    private static Path trainRun(Path dir, String... extra) {
        Path data = RealText.write(dir);
        Path run = dir.resolve("run");
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(CliTest.small("--data",
                data.toString(), "--out", run.toString())));
        args.addAll(java.util.List.of(extra));
        Outcome o = CliTest.run(args.toArray(String[]::new));
        assertEquals(0, o.code(), o.err());
        return run;
    }

    @Test
    void evalOnShortOrEmptyText(@TempDir Path dir) throws Exception {
        Path run = trainRun(dir);
        Path shortText = Files.writeString(dir.resolve("ws.txt"), "a b c");
        Outcome o = CliTest.run("eval", "--checkpoint", run.toString(), "--data", shortText.toString());
        assertUsageError(o, "--data has 5 tokens", "context of 16", "pass more text");
        assertLacks(o, "--context", "training");

        Path empty = Files.writeString(dir.resolve("empty.txt"), "");
        Outcome e = CliTest.run("eval", "--checkpoint", run.toString(), "--data", empty.toString());
        assertUsageError(e, "empty");
        assertLacks(e, "training");
    }

    @Test
    void warmupLongerThanTheRunIsNoted(@TempDir Path dir) {
        Outcome o = CliTest.run(CliTest.small("--warmup", "50", "--out", dir.resolve("run").toString()));
        assertEquals(0, o.code(), o.err());
        assertTrue(o.err().contains("--warmup 50"), o.err());
        assertTrue(o.err().contains("never reaches --lr"), o.err());
    }

    @Test
    void newtonOnLinearNamesNoHiddenEnergy(@TempDir Path dir) {
        Outcome o = CliTest.run(CliTest.small("--energy", "linear", "--optimizer", "newton", "--out",
                dir.resolve("r").toString()));
        assertUsageError(o, "strictly convex", "softmax", "gd, momentum or nesterov");
        assertLacks(o, "elastic");
    }

    @Test
    void brokenConfigJson(@TempDir Path dir) throws Exception {
        Path run = trainRun(dir);
        Files.writeString(run.resolve(RunDirectory.CONFIG), "\"not an object\"");
        Outcome o = CliTest.run("sample", "--checkpoint", run.toString(), "--tokens", "3");
        assertUsageError(o, "is not valid JSON", "Restore the config.json saved with this run");
        assertLacks(o, "Exception", "java.");
        assertEquals(o.err().chars().filter(c -> c == '(').count(), o.err().chars().filter(c -> c == ')').count(),
                o.err());
    }

    @Test
    void resumeWithDropoutOnDevice(@TempDir Path dir) {
        Path run = trainRun(dir, "--dropout", "0.1");
        Outcome o = CliTest.run("train", "--resume", run.toString(), "--steps", "4", "--device", "opencl");
        assertUsageError(o, "dropout 0.1", "--device cpu");
        assertLacks(o, "set it to 0");
    }

    @Test
    void singularCountsInTheRunTable(@TempDir Path dir) {
        Outcome o = CliTest.run(CliTest.small("--data", RealText.write(dir).toString(), "--out",
                dir.resolve("run").toString(), "--heads", "1"));
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("1 layer, 1 head, width 16"), o.out());
    }

    @Test
    void unknownCommandListsTheCommands() {
        Outcome o = CliTest.run("foo");
        assertUsageError(o, "unknown command 'foo'", "train", "compare", "devices");
        assertLacks(o, "Unmatched argument");
    }

    @Test
    void subcommandPrintsVersion() {
        for (String command : new String[] {"train", "eval", "bench"}) {
            Outcome o = CliTest.run(command, "-V");
            assertEquals(0, o.code(), o.err());
            assertTrue(o.out().contains("joule 0.1.0"), command + ": " + o.out());
        }
    }

    @Test
    void topLevelHelpMentionsOpenCl() {
        Outcome o = CliTest.run("--help");
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("OpenCL"), o.out());
    }
}
