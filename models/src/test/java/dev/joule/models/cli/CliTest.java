package dev.joule.models.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.joule.models.RealText;
import dev.joule.models.train.RunDirectory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as a user meets it: exit codes, messages and the files it leaves behind. */
class CliTest {
    @TempDir
    static Path shared;

    static Path corpus;

    @BeforeAll
    static void writeCorpus() {
        corpus = RealText.write(shared);
    }

    record Outcome(int code, String out, String err) {}

    static Outcome run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Outcome(code, out.toString(), err.toString());
    }

    /** Returns train arguments for a model small enough that a run takes well under a second. */
    static String[] small(String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--layers", "1", "--heads", "2", "--dim", "16",
                "--context", "16", "--batch", "2", "--steps", "2", "--eval-batches", "1", "--sample-tokens", "5"));
        args.addAll(Arrays.asList(extra));
        return args.toArray(String[]::new);
    }

    private static void assertUsageError(Outcome o, String... fragments) {
        assertEquals(2, o.code(), "exit code; stderr: " + o.err());
        for (String f : fragments) {
            assertTrue(o.err().contains(f), "stderr lacks '" + f + "': " + o.err());
        }
    }

    @Test
    void trainSampleEvalRoundTrip(@TempDir Path dir) {
        Path run = dir.resolve("run");
        Outcome train = run(small("--data", corpus.toString(), "--out", run.toString(), "--json"));
        assertEquals(0, train.code(), train.err());
        String[] lines = train.out().strip().split("\n");
        JsonObject summary = JsonParser.parseString(lines[lines.length - 1]).getAsJsonObject();
        assertEquals(2, summary.get("steps").getAsInt());
        assertTrue(Double.isFinite(summary.get("val_loss").getAsDouble()));

        Outcome sample = run("sample", "--checkpoint", run.toString(), "--prompt", "Hello", "--tokens", "10",
                "--seed", "3");
        assertEquals(0, sample.code(), sample.err());
        assertTrue(sample.out().startsWith("Hello"), sample.out());
        assertEquals(sample.out(), run("sample", "--checkpoint", run.toString(), "--prompt", "Hello", "--tokens",
                "10", "--seed", "3").out(), "same seed, same text");

        Outcome eval = run("eval", "--checkpoint", run.toString(), "--data", corpus.toString(), "--max-batches", "2",
                "--json");
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("bits_per_byte"), eval.out());
    }

    @Test
    void evalLossIndependentOfBatch(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        assertEquals(0, run(small("--data", corpus.toString(), "--out", run.toString())).code());
        // At context 16, 5 * 16 + 1 + 7 bytes contain 5 full windows and a tail that eval skips.
        Path text = Files.writeString(dir.resolve("five.txt"), RealText.text().substring(0, 5 * 16 + 1 + 7));
        double first = Double.NaN;
        for (String batch : new String[] {"1", "2", "3", "5", "16"}) {
            Outcome o = run("eval", "--checkpoint", run.toString(), "--data", text.toString(), "--batch", batch,
                    "--json");
            assertEquals(0, o.code(), o.err());
            assertTrue(o.out().contains("over 5 windows of 16 tokens"), o.out());
            String[] lines = o.out().strip().split("\n");
            JsonObject json = JsonParser.parseString(lines[lines.length - 1]).getAsJsonObject();
            assertEquals(5, json.get("windows").getAsInt(), "--batch " + batch);
            double loss = json.get("loss").getAsDouble();
            if (Double.isNaN(first)) {
                first = loss;
            }
            assertEquals(first, loss, 1e-5, "--batch " + batch);
        }
        Outcome limited = run("eval", "--checkpoint", run.toString(), "--data", text.toString(), "--batch", "2",
                "--max-batches", "2", "--json");
        assertTrue(limited.out().contains("over 4 windows"), limited.out());
    }

    @Test
    void missingDataPath(@TempDir Path dir) {
        Path missing = dir.resolve("nope.txt");
        assertUsageError(run(small("--data", missing.toString(), "--out", dir.resolve("r").toString())),
                missing.toString());
    }

    @Test
    void emptyCorpus(@TempDir Path dir) throws Exception {
        Path empty = Files.writeString(dir.resolve("empty.txt"), "");
        assertUsageError(run(small("--data", empty.toString(), "--out", dir.resolve("r").toString())), "empty");
    }

    @Test
    void corpusShorterThanContext(@TempDir Path dir) throws Exception {
        Path shortFile = Files.writeString(dir.resolve("short.txt"), "only a few words");
        assertUsageError(run(small("--data", shortFile.toString(), "--out", dir.resolve("r").toString())),
                "--context");
    }

    @Test
    void binaryFileRejectedUnlessAllowed(@TempDir Path dir) throws Exception {
        byte[] bytes = new byte[4096];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i * 31);
        }
        Path bin = Files.write(dir.resolve("data.bin"), bytes);
        assertUsageError(run(small("--data", bin.toString(), "--out", dir.resolve("r").toString())),
                "--allow-binary");
        Outcome allowed = run(small("--data", bin.toString(), "--allow-binary", "--out",
                dir.resolve("r2").toString()));
        assertEquals(0, allowed.code(), allowed.err());
    }

    @Test
    void invalidUtf8IsReplacedAndTrainingContinues(@TempDir Path dir) throws Exception {
        byte[] text = RealText.text().substring(0, 5000).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        text[100] = (byte) 0xC3;
        text[101] = (byte) 0x28;
        Path bad = Files.write(dir.resolve("bad.txt"), text);
        Outcome o = run(small("--data", bad.toString(), "--out", dir.resolve("r").toString()));
        assertEquals(0, o.code(), o.err());
    }

    @Test
    void outOfRangeNumbers(@TempDir Path dir) {
        String out = dir.resolve("r").toString();
        assertUsageError(run(small("--data", corpus.toString(), "--out", out, "--steps", "0")), "--steps", "0");
        assertUsageError(run(small("--data", corpus.toString(), "--out", out, "--steps", "-3")), "--steps");
        assertUsageError(run(small("--data", corpus.toString(), "--out", out, "--batch", "0")), "--batch");
        assertUsageError(run(small("--data", corpus.toString(), "--out", out, "--layers", "0")), "--layers");
        assertUsageError(run(small("--data", corpus.toString(), "--out", out, "--heads", "3")), "--heads 3",
                "--dim 16");
        assertUsageError(run(small("--data", corpus.toString(), "--out", out, "--lr", "NaN")), "--lr", "NaN");
        assertUsageError(run(small("--data", corpus.toString(), "--out", out, "--lr", "-0.1")), "--lr");
        assertUsageError(run(small("--data", corpus.toString(), "--out", out, "--steps", "abc")), "abc");
        assertUsageError(run("train", "--no-such-option"), "--no-such-option");
        assertFalse(Files.exists(dir.resolve("r")), "a rejected run must not create its directory");
    }

    @Test
    void modelFileWithUnknownField(@TempDir Path dir) throws Exception {
        Path model = Files.writeString(dir.resolve("m.json"), "{\"layers\": 1, \"heads\": 2, \"dim\": 16,"
                + " \"context\": 16, \"bogus\": 1}");
        assertUsageError(run("train", "--model", model.toString(), "--data", corpus.toString(), "--out",
                dir.resolve("r").toString()), "bogus");
    }

    @Test
    void modelFileWithWrongVocab(@TempDir Path dir) throws Exception {
        for (String vocab : new String[] {"100", "300", "-1"}) {
            Path model = Files.writeString(dir.resolve("m" + vocab + ".json"), "{\"vocab\": " + vocab
                    + ", \"layers\": 1, \"heads\": 2, \"dim\": 16, \"context\": 16}");
            Path out = dir.resolve("r" + vocab);
            assertUsageError(run("train", "--model", model.toString(), "--data", corpus.toString(), "--steps", "2",
                    "--batch", "2", "--sample-tokens", "0", "--out", out.toString()), "vocab must be 256",
                    "got " + vocab);
            assertFalse(Files.exists(out), "a rejected model file must not create the run directory");
        }
    }

    @Test
    void configThatDoesNotMatchWeights(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        assertEquals(0, run(small("--data", corpus.toString(), "--out", run.toString(), "--optimizer",
                "momentum")).code());
        Path config = run.resolve(RunDirectory.CONFIG);
        Files.writeString(config, Files.readString(config).replace("\"momentum\"", "\"gd\""));
        assertUsageError(run("sample", "--checkpoint", run.toString(), "--tokens", "3"), "momentum_logit",
                RunDirectory.CONFIG);
    }

    @Test
    void existingRunIsNotOverwritten(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        assertEquals(0, run(small("--data", corpus.toString(), "--out", run.toString())).code());
        byte[] before = Files.readAllBytes(run.resolve(RunDirectory.MODEL));
        assertUsageError(run(small("--data", corpus.toString(), "--out", run.toString(), "--seed", "9")),
                "--overwrite");
        assertTrue(Arrays.equals(before, Files.readAllBytes(run.resolve(RunDirectory.MODEL))));
        assertEquals(0, run(small("--data", corpus.toString(), "--out", run.toString(), "--seed", "9",
                "--overwrite")).code());
        assertFalse(Arrays.equals(before, Files.readAllBytes(run.resolve(RunDirectory.MODEL))));
    }

    @Test
    void resumeOfDamagedRuns(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        assertEquals(0, run(small("--data", corpus.toString(), "--out", run.toString())).code());

        Path noOptimizer = dir.resolve("no-optimizer");
        copyRun(run, noOptimizer);
        Files.delete(noOptimizer.resolve(RunDirectory.OPTIMIZER));
        assertUsageError(run("train", "--resume", noOptimizer.toString(), "--steps", "4"), RunDirectory.OPTIMIZER);

        Path truncated = dir.resolve("truncated");
        copyRun(run, truncated);
        Path model = truncated.resolve(RunDirectory.MODEL);
        byte[] bytes = Files.readAllBytes(model);
        Files.write(model, Arrays.copyOf(bytes, bytes.length - 100));
        assertUsageError(run("train", "--resume", truncated.toString(), "--steps", "4"), RunDirectory.MODEL);

        Path corrupt = dir.resolve("corrupt");
        copyRun(run, corrupt);
        byte[] garbage = Files.readAllBytes(corrupt.resolve(RunDirectory.MODEL));
        garbage[10] = '{';
        garbage[12] = 'x';
        Files.write(corrupt.resolve(RunDirectory.MODEL), garbage);
        assertUsageError(run("train", "--resume", corrupt.toString(), "--steps", "4"), RunDirectory.MODEL);

        assertUsageError(run("train", "--resume", dir.resolve("absent").toString()), "absent");
        Outcome ok = run("train", "--resume", run.toString(), "--steps", "4");
        assertEquals(0, ok.code(), ok.err());
    }

    @Test
    void divergenceExitsWithThreeAndKeepsCheckpoint(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        Outcome o = run(small("--data", corpus.toString(), "--out", run.toString(), "--lr", "1e30",
                "--grad-clip", "0", "--steps", "20", "--eval-every", "1", "--warmup", "0"));
        assertEquals(3, o.code(), "stdout: " + o.out() + " stderr: " + o.err());
        assertTrue(o.err().contains("diverged at step"), o.err());
        // Whatever checkpoint exists was written before the bad step and loads cleanly.
        if (Files.exists(run.resolve(RunDirectory.MODEL))) {
            assertEquals(0, run("sample", "--checkpoint", run.toString(), "--tokens", "3", "--temperature", "0")
                    .code());
        }
    }

    private static void copyRun(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path p : files.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
    }
}
