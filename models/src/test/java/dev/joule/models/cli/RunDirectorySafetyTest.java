package dev.joule.models.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.joule.models.RealText;
import dev.joule.models.train.RunDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a run leaves on disk when it fails: a rejected or failed run never changes an existing run and
 * leaves nothing that blocks the corrected retry, and runs without --out never share a directory.
 */
class RunDirectorySafetyTest {
    @TempDir
    static Path shared;

    static Path corpus;

    @BeforeAll
    static void writeCorpus() {
        corpus = RealText.write(shared);
    }

    /** Settings that diverge on the first steps: an absurd learning rate without clipping or warmup. */
    private static final String[] DIVERGE = {"--lr", "1e30", "--grad-clip", "0", "--warmup", "0", "--steps", "20",
            "--eval-every", "10"};

    private static String[] args(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of(CliTest.small("--data", corpus.toString())));
        if (out != null) {
            a.add("--out");
            a.add(out.toString());
        }
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /** Returns every file under {@code dir} with the SHA-256 of its bytes, for before-and-after comparisons. */
    private static Map<String, String> snapshot(Path dir) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (var files = Files.walk(dir)) {
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
                out.put(dir.relativize(p).toString(), java.util.HexFormat.of().formatHex(digest));
            }
        }
        return out;
    }

    private static List<String> names(Path dir) throws IOException {
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void failedOverwriteLeavesTheOldRunIntact(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        assertEquals(0, CliTest.run(args(run, "--steps", "4")).code());
        Files.writeString(run.resolve("notes.txt"), "mine");
        Map<String, String> before = snapshot(run);

        CliTest.Outcome diverged = CliTest.run(args(run, concat(DIVERGE, "--overwrite", "--layers", "2")));
        assertEquals(3, diverged.code(), diverged.err());
        assertEquals(before, snapshot(run), "a run that diverged before its first checkpoint changed the old run");
        assertFalse(diverged.err().contains("was kept"), diverged.err());
        assertEquals(List.of("run"), names(dir), "no staging folder is left behind");

        CliTest.Outcome late = CliTest.run(args(run, "--overwrite", "--batch", "200000000"));
        assertEquals(2, late.code(), late.err());
        assertEquals(before, snapshot(run), "a rejected --overwrite changed the old run");

        // A run that succeeds replaces every run file and keeps the other files.
        assertEquals(0, CliTest.run(args(run, "--overwrite", "--seed", "9")).code());
        assertTrue(Files.readString(run.resolve(RunDirectory.CONFIG)).contains("\"seed\": 9"));
        assertEquals("mine", Files.readString(run.resolve("notes.txt")));
        assertEquals(List.of("run"), names(dir));
        assertEquals(0, CliTest.run("sample", "--checkpoint", run.toString(), "--tokens", "3").code());
    }

    @Test
    void overwriteDivergedAfterCheckpoint(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        assertEquals(0, CliTest.run(args(run, "--steps", "6", "--layers", "2")).code());
        CliTest.Outcome o = CliTest.run(args(run, "--overwrite", "--lr", "1e8", "--grad-clip", "0", "--warmup",
                "20", "--steps", "40", "--eval-every", "1", "--seed", "5"));
        assertEquals(3, o.code(), o.err());
        if (Files.exists(run.resolve(RunDirectory.TRAINER))) {
            // The checkpoint that remains is the new run's, with its config, and it loads.
            assertTrue(Files.readString(run.resolve(RunDirectory.CONFIG)).contains("\"seed\": 5"));
            assertEquals(0, CliTest.run("sample", "--checkpoint", run.toString(), "--tokens", "3").code());
        }
    }

    @Test
    void lateInputErrorsLeaveNothingBehind(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("bigb");
        CliTest.Outcome big = CliTest.run(args(run, "--batch", "200000000"));
        assertEquals(2, big.code(), big.err());
        assertTrue(big.err().contains("200000000"), big.err());
        assertFalse(Files.exists(run), "a rejected run created " + run);
        assertEquals(List.of(), names(dir));
        assertEquals(0, CliTest.run(args(run)).code(), "the corrected retry must not be blocked");
    }

    /** What a run killed before its first checkpoint leaves: its reserved, still empty --out folder. */
    @Test
    void emptyRunDirectoryOnResume(@TempDir Path dir) throws Exception {
        Path run = Files.createDirectory(dir.resolve("killed"));
        CliTest.Outcome resume = CliTest.run(new String[] {"train", "--resume", run.toString()});
        assertEquals(2, resume.code(), resume.err());
        assertTrue(resume.err().contains("is empty"), resume.err());
        assertTrue(resume.err().contains("--out " + run), resume.err());
        assertEquals(0, CliTest.run(args(run)).code(), "a new run must accept the empty folder");
    }

    @Test
    void divergenceBeforeTheFirstCheckpointLeavesNothingBehind(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("div");
        CliTest.Outcome o = CliTest.run(args(run, DIVERGE));
        assertEquals(3, o.code(), o.err());
        assertFalse(Files.exists(run), "a diverged run without a checkpoint left " + run);
        assertEquals(List.of(), names(dir));
        assertFalse(o.err().contains("was kept"), o.err());
        assertTrue(o.err().contains("--lr"), o.err());
        CliTest.Outcome retry = CliTest.run(args(run));
        assertEquals(0, retry.code(), retry.err());
    }

    @Test
    void divergenceAdviceWorks(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("div2");
        CliTest.Outcome o = CliTest.run(args(run, "--lr", "1e8", "--grad-clip", "0", "--warmup", "20", "--steps",
                "40", "--eval-every", "1"));
        assertEquals(3, o.code(), o.err());
        // --resume rejects --lr and --warmup, and would repeat the same steps, so the advice is a new run.
        assertFalse(o.err().contains("and resume"), o.err());
        assertTrue(o.err().contains("lower --lr"), o.err());
        assertTrue(o.err().contains("--overwrite"), o.err());
        // The advice works: the same --out with --overwrite and a lower --lr trains.
        CliTest.Outcome retry = CliTest.run(args(run, "--overwrite", "--lr", "1e-3"));
        assertEquals(0, retry.code(), retry.err());
    }

    @Test
    void compareRejectsABadBatchBeforeWritingAnything(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("cmp");
        List<String> base = List.of("compare", "--data", corpus.toString(), "--energy", "softmax", "--optimizer",
                "gd", "--seeds", "1", "--steps", "2", "--eval-every", "2", "--layers", "1", "--heads", "2", "--dim",
                "16", "--context", "16", "--eval-batches", "1", "--out", out.toString());
        List<String> bad = new ArrayList<>(base);
        bad.addAll(List.of("--batch", "200000000"));
        CliTest.Outcome o = CliTest.run(bad.toArray(String[]::new));
        assertEquals(2, o.code(), o.err());
        assertFalse(Files.exists(out), "a rejected comparison created " + out);
        List<String> good = new ArrayList<>(base);
        good.addAll(List.of("--batch", "2"));
        CliTest.Outcome retry = CliTest.run(good.toArray(String[]::new));
        assertEquals(0, retry.code(), retry.err());
    }

    /**
     * Runs without --out go to runs/run-TIME. The test makes the directories of the current and the next
     * seconds beforehand, as a concurrent run would. The run must then take a name of its own.
     */
    @Test
    void defaultDirectoryIsNeverShared() throws Exception {
        Path runs = Path.of("runs");
        boolean hadRuns = Files.exists(runs);
        DateTimeFormatter format = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");
        LocalDateTime now = LocalDateTime.now();
        List<Path> taken = new ArrayList<>();
        List<Path> created = new ArrayList<>();
        try {
            Files.createDirectories(runs);
            for (int s = -1; s <= 8; s++) {
                Path p = runs.resolve("run-" + now.plusSeconds(s).format(format));
                if (!Files.exists(p)) {
                    Files.createDirectory(p);
                    created.add(p);
                }
                taken.add(p);
            }
            CliTest.Outcome o = CliTest.run(args(null));
            assertEquals(0, o.code(), o.err());
            Matcher m = Pattern.compile("run in (\\S+)").matcher(o.out());
            assertTrue(m.find(), o.out());
            Path used = Path.of(m.group(1));
            created.add(used);
            for (Path p : taken) {
                assertFalse(Files.isSameFile(p, used), "the run used " + p + ", which another run had made");
                try (var entries = Files.list(p)) {
                    assertEquals(0, entries.count(), p + " was written into");
                }
            }
            assertTrue(Files.isRegularFile(used.resolve(RunDirectory.TRAINER)));
        } finally {
            for (Path p : created) {
                deleteRecursively(p);
            }
            if (!hadRuns) {
                deleteRecursively(runs);
            }
        }
    }

    /**
     * A model too large for the heap ends with a joule: message that names the model size and the fix,
     * and exit code 1, not a bare stack trace. The model's first weight matrix alone exceeds the heap, so
     * the error comes at once.
     */
    @Test
    void outOfMemoryNamesModelAndFix(@TempDir Path dir) {
        int width = 23040;
        assumeTrue(Runtime.getRuntime().maxMemory() < 3L * width * width * Float.BYTES,
                "the heap is large enough for this model");
        CliTest.Outcome o = CliTest.run("train", "--layers", "1", "--heads", "2", "--dim", Integer.toString(width),
                "--context", "16", "--batch", "2", "--steps", "2", "--sample-tokens", "0", "--data",
                corpus.toString(), "--out", dir.resolve("oom").toString());
        assertEquals(1, o.code(), o.err());
        assertTrue(o.err().startsWith("joule: "), o.err());
        assertTrue(o.err().contains("width " + width), o.err());
        assertTrue(o.err().contains("JOULE_JAVA_OPTS=-Xmx"), o.err());
        assertFalse(o.err().contains("\tat "), "no stack trace: " + o.err());
        assertFalse(Files.exists(dir.resolve("oom")));
    }

    private static String[] concat(String[] a, String... b) {
        List<String> out = new ArrayList<>(List.of(a));
        out.addAll(List.of(b));
        return out.toArray(String[]::new);
    }

    private static void deleteRecursively(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
