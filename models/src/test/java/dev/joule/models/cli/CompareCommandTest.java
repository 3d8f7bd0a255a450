package dev.joule.models.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.joule.models.RealText;
import dev.joule.models.compare.CompareSpec;
import dev.joule.models.compare.Variant;
import dev.joule.models.data.Dataset;
import dev.joule.models.gpt.GptConfig;
import dev.joule.models.train.RunDirectory;
import dev.joule.models.train.TrainSettings;
import dev.joule.models.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** joule compare end to end on a tiny model: files, fields, resume and rejected input. */
class CompareCommandTest {
    @TempDir
    static Path shared;

    static Path corpus;

    @BeforeAll
    static void writeCorpus() {
        corpus = RealText.write(shared);
    }

    /** Two variants (softmax with gd and momentum), two seeds, four steps of a two-block model. */
    static String[] tiny(Path out, String... extra) {
        return tinyWith(out, "softmax", "gd,momentum", extra);
    }

    static String[] tinyWith(Path out, String energies, String optimizers, String... extra) {
        List<String> args = new ArrayList<>(List.of("compare", "--data", corpus.toString(), "--energy", energies,
                "--optimizer", optimizers, "--seeds", "2", "--steps", "4", "--eval-every", "2", "--layers", "2",
                "--heads", "2", "--dim", "16", "--context", "16", "--batch", "2", "--eval-batches", "1",
                "--out", out.toString()));
        args.addAll(Arrays.asList(extra));
        return args.toArray(String[]::new);
    }

    @Test
    void writesEveryFileWithItsFields(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("cmp");
        CliTest.Outcome o = CliTest.run(tiny(out, "--json"));
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("[1/4] softmax-gd seed 0: train"), o.out());
        assertTrue(o.out().contains("[4/4] softmax-momentum seed 1: train"), o.out());
        for (String f : List.of("compare.json", "results.md", "results.json", "loss-vs-step.svg", "loss-vs-time.svg",
                "energy-per-layer.svg")) {
            assertTrue(Files.isRegularFile(out.resolve(f)), "missing " + f);
        }
        for (String v : List.of("softmax-gd", "softmax-momentum")) {
            for (int s = 0; s < 2; s++) {
                Path run = out.resolve("runs").resolve(v).resolve("seed-" + s);
                assertTrue(Files.isRegularFile(run.resolve(RunDirectory.TRAINER)), "missing trainer.json in " + run);
            }
        }

        JsonObject root = JsonParser.parseString(Files.readString(out.resolve("results.json"))).getAsJsonObject();
        assertNotNull(root.get("spec"));
        assertNotNull(root.get("machine"));
        JsonArray variants = root.getAsJsonArray("variants");
        assertEquals(2, variants.size());
        JsonObject base = variants.get(0).getAsJsonObject();
        JsonObject momentum = variants.get(1).getAsJsonObject();
        assertEquals("softmax-gd", base.get("variant").getAsString());
        assertEquals("softmax-momentum", momentum.get("variant").getAsString());
        for (String field : List.of("final_val_loss_mean", "final_val_loss_std", "ms_per_step",
                "time_per_step_vs_baseline", "retained_heap_bytes", "heap_vs_baseline", "parameters",
                "attention_flops_per_token_per_layer", "training_flops_per_token")) {
            assertTrue(momentum.get(field).isJsonPrimitive(), field + " in " + momentum);
        }
        assertTrue(momentum.has("steps_to_baseline_loss"));
        assertTrue(momentum.has("speedup_vs_baseline"));
        assertEquals(1.0, base.get("time_per_step_vs_baseline").getAsDouble(), 1e-12);
        assertTrue(base.get("welch_vs_baseline").isJsonNull());
        JsonObject welch = momentum.getAsJsonObject("welch_vs_baseline");
        for (String field : List.of("t", "dof", "p")) {
            assertTrue(welch.has(field), field);
        }
        assertEquals("4TC + 2C", momentum.get("attention_flops_formula").getAsString());
        // 4 T C + 2 C with T = 16, C = 16.
        assertEquals(4 * 16 * 16 + 2 * 16, momentum.get("attention_flops_per_token_per_layer").getAsDouble(), 0);

        JsonArray runs = momentum.getAsJsonArray("runs");
        assertEquals(2, runs.size());
        JsonObject run = runs.get(0).getAsJsonObject();
        JsonArray curve = run.getAsJsonArray("curve");
        assertEquals(3, curve.size(), "steps 0, 2 and 4");
        JsonObject last = curve.get(2).getAsJsonObject();
        assertEquals(4, last.get("step").getAsInt());
        assertTrue(last.get("val_loss").getAsDouble() > 0);
        assertTrue(last.get("wall_s").getAsDouble() > 0);
        assertEquals(2, run.getAsJsonArray("energy_before").size(), "one value per layer");
        assertEquals(2, run.getAsJsonArray("energy_after").size());
        assertEquals(3, momentum.getAsJsonArray("mean_curve").size());

        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("| softmax-momentum |"), md);
        assertTrue(md.contains("Welch"), md);
        assertTrue(md.contains("MemoryMXBean"), md);
        assertTrue(Files.readString(out.resolve("loss-vs-step.svg")).contains("softmax-momentum"));

        String[] lines = o.out().strip().split("\n");
        JsonObject summary = JsonParser.parseString(lines[lines.length - 1]).getAsJsonObject();
        assertEquals(4, summary.get("runs").getAsInt());

        CliTest.Outcome again = CliTest.run(tiny(out));
        assertEquals(0, again.code(), again.err());
        assertEquals(4, again.out().split("finished, skipped", -1).length - 1, again.out());
        assertFalse(again.out().contains(": train"), again.out());
        JsonElement rerun = JsonParser.parseString(Files.readString(out.resolve("results.json")));
        assertEquals(root.getAsJsonArray("variants").get(1).getAsJsonObject().get("final_val_losses"),
                rerun.getAsJsonObject().getAsJsonArray("variants").get(1).getAsJsonObject().get("final_val_losses"));
    }

    @Test
    void resumesAnInterruptedRun(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("cmp");
        // The spec the command line builds from tiny(out); compare.json must match it to be resumed.
        GptConfig model = new GptConfig(256, 16, 2, 2, 16, 0f, "softmax", "gd");
        CompareSpec spec = new CompareSpec("text", List.of(corpus.toAbsolutePath().normalize().toString()), 0, 0,
                List.of(Variant.BASELINE, new Variant("softmax", "momentum")), 2, 4, model, 2, 3e-3f, 0, 2, 1, 0.1);
        spec.saveOrCheck(out);
        // Seed 0 of the baseline stops after its checkpoint at step 2, with the schedule of a 4-step run.
        TrainSettings full = spec.settingsOf(0);
        TrainSettings half = new TrainSettings(full.data(), null, full.valFraction(), 2, 4, full.batch(), full.lr(),
                full.minLr(), full.warmup(), full.weightDecay(), full.gradClip(), 0, full.evalEvery(),
                full.evalBatches(), false);
        Dataset data = Setup.dataset(full, 16);
        Path runDir = out.resolve("runs/softmax-gd/seed-0");
        new Trainer(model, half, data, new RunDirectory(runDir)).train(new Trainer.Listener() {});

        CliTest.Outcome o = CliTest.run(tiny(out));
        assertEquals(0, o.code(), o.err());
        assertTrue(o.out().contains("[1/4] softmax-gd seed 0: resume from step 2"), o.out());
        assertTrue(o.out().contains("[2/4] softmax-gd seed 1: train"), o.out());
        assertEquals(4, new RunDirectory(runDir).readTrainerState().step());

        // The resumed run ends where an uninterrupted one does.
        Path fresh = dir.resolve("fresh");
        assertEquals(0, CliTest.run(tiny(fresh)).code());
        assertEquals(new RunDirectory(fresh.resolve("runs/softmax-gd/seed-0")).readTrainerState().valLoss(),
                new RunDirectory(runDir).readTrainerState().valLoss());
    }

    @Test
    void lisTaskReportsExactMatch(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("lis");
        CliTest.Outcome o = CliTest.run("compare", "--task", "lis", "--lis-length", "4", "--lis-alphabet", "6",
                "--energy", "linear", "--optimizer", "gd", "--seeds", "2", "--steps", "3", "--layers", "1", "--heads",
                "1", "--dim", "8", "--batch", "2", "--eval-batches", "1", "--out", out.toString());
        assertEquals(0, o.code(), o.err());
        JsonObject root = JsonParser.parseString(Files.readString(out.resolve("results.json"))).getAsJsonObject();
        JsonArray variants = root.getAsJsonArray("variants");
        assertEquals(List.of("softmax-gd", "linear-gd"), List.of(variants.get(0).getAsJsonObject().get("variant")
                .getAsString(), variants.get(1).getAsJsonObject().get("variant").getAsString()));
        double accuracy = variants.get(1).getAsJsonObject().get("exact_match_mean").getAsDouble();
        assertTrue(accuracy >= 0, "accuracy " + accuracy);
        assertTrue(accuracy <= 1, "accuracy " + accuracy);
        assertTrue(Files.readString(out.resolve("results.md")).contains("exact match"));
    }

    @Test
    void divergedRunsAreReportedWithExitThree(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("cmp");
        CliTest.Outcome o = CliTest.run("compare", "--task", "lis", "--lis-length", "4", "--lis-alphabet", "6",
                "--energy", "linear", "--optimizer", "gd", "--seeds", "1", "--steps", "4", "--layers", "1",
                "--dim", "8", "--heads", "2", "--batch", "2", "--lr", "1e6", "--out", out.toString());
        assertEquals(3, o.code(), o.err());
        assertTrue(o.err().contains("diverged"), o.err());
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("## Diverged runs"), md);
    }

    private static void assertUsageError(CliTest.Outcome o, String... fragments) {
        assertEquals(2, o.code(), "exit code; stderr: " + o.err());
        for (String f : fragments) {
            assertTrue(o.err().contains(f), "stderr lacks '" + f + "': " + o.err());
        }
    }

    private static String[] with(String[] args, String option, String value) {
        List<String> out = new ArrayList<>(Arrays.asList(args));
        out.add(option);
        out.add(value);
        return out.toArray(String[]::new);
    }

    @Test
    void badInputExitsWithTwo(@TempDir Path dir) {
        Path out = dir.resolve("bad");
        assertUsageError(CliTest.run(tinyWith(out, "softmax,cosine", "gd")), "unknown energy 'cosine'");
        assertUsageError(CliTest.run(tinyWith(out, "softmax", "gd,adam")), "unknown optimizer 'adam'");
        assertUsageError(CliTest.run(tinyWith(out, "linear", "newton")), "optimizer 'newton' cannot run on energy 'linear'");
        assertUsageError(CliTest.run(with(tiny(out), "--seeds", "0")), "--seeds must be at least 1");
        assertFalse(Files.exists(out), "nothing written for rejected input");
    }

    @Test
    void otherComparisonInOutIsRejected(@TempDir Path dir) {
        Path out = dir.resolve("cmp");
        assertEquals(0, CliTest.run(with(tiny(out), "--seeds", "1")).code());
        assertUsageError(CliTest.run(with(tiny(out), "--seeds", "2")), "contains a different comparison", "seeds");
    }

    @Test
    void binaryDataAcceptedWithAllowBinary(@TempDir Path dir) throws IOException {
        byte[] bytes = new byte[8192];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i * 31);
        }
        Path bin = Files.write(dir.resolve("data.bin"), bytes);
        String[] args = with(with(tiny(dir.resolve("cmp")), "--seeds", "1"), "--data", bin.toString());
        assertUsageError(CliTest.run(args), "--allow-binary");
        List<String> allowed = new ArrayList<>(Arrays.asList(args));
        allowed.add("--allow-binary");
        CliTest.Outcome o = CliTest.run(allowed.toArray(String[]::new));
        assertEquals(0, o.code(), o.err());
    }

    @Test
    void oneSeedAndSkippedPairsAreReported(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("cmp");
        CliTest.Outcome o = CliTest.run(with(tinyWith(out, "softmax,gated-linear", "gd,newton"), "--seeds", "1"));
        assertEquals(0, o.code(), o.err());
        assertTrue(o.err().contains("skipping gated-linear-newton"), o.err());
        assertFalse(o.out().contains("NaN"), o.out());
        assertTrue(o.out().contains("± -"), o.out());
        String md = Files.readString(out.resolve("results.md"));
        assertTrue(md.contains("2 layers, 2 heads"), md);
        assertTrue(md.contains("1 seed (0 to 0)"), md);
    }
}
