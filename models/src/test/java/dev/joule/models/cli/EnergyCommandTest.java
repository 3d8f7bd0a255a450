package dev.joule.models.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.joule.layers.EnergyRecipe;
import dev.joule.models.RealText;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code joule energy}: the fast-versus-generic self-check and the energy trace of a trained run. */
class EnergyCommandTest {
    @TempDir
    static Path shared;

    /** A two-layer run trained once for the trace tests. */
    static Path run;

    record Outcome(int code, String out, String err) {}

    static Outcome run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Outcome(code, out.toString(), err.toString());
    }

    @BeforeAll
    static void trainTinyRun() {
        Path corpus = RealText.write(shared);
        run = shared.resolve("run");
        Outcome train = run(CliTest.small("--data", corpus.toString(), "--out", run.toString(), "--layers", "2",
                "--sample-tokens", "0"));
        assertEquals(0, train.code(), train.err());
    }

    /** Returns the named pairs that EnergyRecipe accepts (valid) or rejects (not valid). */
    private static List<String[]> pairs(boolean valid) {
        List<String[]> out = new ArrayList<>();
        for (String e : EnergyRecipe.ENERGIES) {
            List<String> ok = EnergyRecipe.optimizersFor(e);
            for (String o : EnergyRecipe.OPTIMIZERS) {
                if (ok.contains(o) == valid) {
                    out.add(new String[] {e, o});
                }
            }
        }
        return out;
    }

    @Test
    void selfCheckPassesAndListsRejected() {
        Outcome o = run("energy");
        assertEquals(0, o.code(), o.out() + o.err());
        String[] lines = o.out().split("\n");
        for (String[] p : pairs(true)) {
            boolean found = false;
            for (String line : lines) {
                String[] cols = line.trim().split("\\s+");
                if (cols.length >= 6 && cols[0].equals(p[0]) && cols[1].equals(p[1])) {
                    assertEquals("PASS", cols[5], line);
                    found = true;
                }
            }
            assertTrue(found, "no row for " + p[0] + " + " + p[1] + ":\n" + o.out());
        }
        int rejectedAt = o.out().indexOf("rejected pairs");
        assertTrue(rejectedAt > 0, o.out());
        String rejectedSection = o.out().substring(rejectedAt);
        List<String[]> invalid = pairs(false);
        assertFalse(invalid.isEmpty(), "the recipe table should refuse Newton steps on the linear energies");
        for (String[] p : invalid) {
            assertTrue(rejectedSection.matches("(?s).*\\b" + p[0] + "\\s+" + p[1] + "\\s.*"),
                    "rejected section lacks " + p[0] + " + " + p[1] + ":\n" + rejectedSection);
        }
        assertFalse(o.out().contains("FAIL"), o.out());
    }

    @Test
    void selfCheckJsonLinesParse() {
        Outcome o = run("energy", "--json", "--seed", "3");
        assertEquals(0, o.code(), o.out() + o.err());
        String[] lines = o.out().strip().split("\n");
        int valid = pairs(true).size();
        int invalid = pairs(false).size();
        assertEquals(valid + invalid + 1, lines.length, o.out());
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < lines.length - 1; i++) {
            JsonObject row = JsonParser.parseString(lines[i]).getAsJsonObject();
            String result = row.get("result").getAsString();
            seen.add(row.get("energy").getAsString() + "+" + row.get("optimizer").getAsString());
            if (result.equals("rejected")) {
                assertTrue(row.get("reason").getAsString().contains("Hessian"), lines[i]);
            } else {
                assertEquals("pass", result, lines[i]);
                assertTrue(row.get("max_diff_output").getAsDouble() >= 0, lines[i]);
                assertTrue(row.get("max_diff_grads").getAsDouble() >= 0, lines[i]);
            }
        }
        assertEquals(valid + invalid, seen.size());
        JsonObject summary = JsonParser.parseString(lines[lines.length - 1]).getAsJsonObject();
        assertEquals("energy", summary.get("command").getAsString());
        assertEquals(valid, summary.get("passed").getAsInt());
        assertEquals(0, summary.get("failed").getAsInt());
        assertEquals(invalid, summary.get("rejected").getAsInt());
        assertEquals(3, summary.get("seed").getAsLong());
    }

    @Test
    void traceRowPerLayerAndHead() {
        Outcome o = run("energy", "--checkpoint", run.toString());
        assertEquals(0, o.code(), o.out() + o.err());
        int rows = 0;
        Set<String> layerHeads = new HashSet<>();
        for (String line : o.out().split("\n")) {
            String[] cols = line.trim().split("\\s+");
            if (cols.length == 6 && cols[0].matches("\\d+") && cols[1].matches("\\d+")) {
                rows++;
                layerHeads.add(cols[0] + ":" + cols[1]);
                assertTrue(cols[5].equals("yes") || cols[5].equals("no"), line);
                double before = Double.parseDouble(cols[2]);
                double after = Double.parseDouble(cols[3]);
                assertEquals(after < before, cols[5].equals("yes"), line);
            }
        }
        // CliTest.small sets 2 heads, and this run has 2 layers.
        assertEquals(4, rows, o.out());
        assertEquals(Set.of("0:0", "0:1", "1:0", "1:1"), layerHeads);
    }

    @Test
    void traceJsonWithOwnText() {
        Outcome o = run("energy", "--checkpoint", run.toString(), "--json", "--text", "abc");
        assertEquals(0, o.code(), o.out() + o.err());
        String[] lines = o.out().strip().split("\n");
        assertEquals(5, lines.length, o.out());
        for (int i = 0; i < 4; i++) {
            JsonObject row = JsonParser.parseString(lines[i]).getAsJsonObject();
            assertEquals(row.get("f_after").getAsDouble() < row.get("f_before").getAsDouble(),
                    row.get("decreased").getAsBoolean(), lines[i]);
        }
        JsonObject summary = JsonParser.parseString(lines[4]).getAsJsonObject();
        assertEquals(3, summary.get("tokens").getAsInt());
        assertEquals(4, summary.get("rows").getAsInt());
    }

    @Test
    void missingCheckpointIsUsageError(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-run");
        Outcome o = run("energy", "--checkpoint", missing.toString());
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().contains("no-such-run"), o.err());

        // A directory that is not a run: the loader's message names what is missing.
        Outcome empty = run("energy", "--checkpoint", dir.toString());
        assertEquals(2, empty.code(), empty.err());
        assertTrue(empty.err().contains(dir.toString()), empty.err());
    }

    @Test
    void lengthOptionShortAndZero() {
        Outcome shortRun = run("energy", "--length", "7");
        assertEquals(0, shortRun.code(), shortRun.out() + shortRun.err());
        assertTrue(shortRun.out().contains("T=7 "), shortRun.out());

        Outcome zero = run("energy", "--length", "0");
        assertEquals(2, zero.code(), zero.err());
        assertTrue(zero.err().contains("--length"), zero.err());
    }

    @Test
    void textWithoutCheckpointIsUsageError() {
        Outcome o = run("energy", "--text", "hello");
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().contains("--checkpoint"), o.err());
    }
}
