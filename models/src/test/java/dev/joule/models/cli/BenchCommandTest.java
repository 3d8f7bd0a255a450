package dev.joule.models.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Argument handling of {@code joule bench}; no speed is checked. */
class BenchCommandTest {
    record Outcome(int code, String out, String err) {}

    static Outcome run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Outcome(code, out.toString(), err.toString());
    }

    @Test
    void unknownTargetIsAUsageError() {
        Outcome o = run("bench", "matmull");
        assertEquals(2, o.code(), o.err());
        assertTrue(o.err().contains("matmull"), o.err());
    }

    @Test
    void badValuesNameTheValue() {
        Outcome model = run("bench", "step", "--model", "huge");
        assertEquals(2, model.code(), model.err());
        assertTrue(model.err().contains("huge"), model.err());

        Outcome steps = run("bench", "step", "--steps", "0");
        assertEquals(2, steps.code(), steps.err());
        assertTrue(steps.err().contains("--steps"), steps.err());

        Outcome threads = run("bench", "matmul", "--threads", "0");
        assertEquals(2, threads.code(), threads.err());

        Outcome tokens = run("bench", "step", "--tokens", "lorem");
        assertEquals(2, tokens.code(), tokens.err());
        assertTrue(tokens.err().contains("lorem"), tokens.err());
    }

    @Test
    void tinyStepPrintsJsonLines() {
        Outcome o = run("bench", "step", "--json", "--steps", "2", "--warmup", "1", "--layers", "1",
                "--heads", "2", "--dim", "16", "--context", "16", "--batch", "2");
        assertEquals(0, o.code(), o.err());
        List<String> lines = o.out().lines().filter(l -> !l.isBlank()).toList();
        assertEquals(1, lines.size(), o.out());
        JsonObject figure = JsonParser.parseString(lines.get(0)).getAsJsonObject();
        assertEquals("step", figure.get("bench").getAsString());
        assertEquals(2, figure.get("steps").getAsInt());
        assertEquals(2 * 16, figure.get("batch").getAsInt() * figure.get("context").getAsInt());
        assertTrue(figure.get("tokens_per_s").getAsDouble() > 0, lines.get(0));
        assertTrue(figure.get("parameters").getAsLong() > 0, lines.get(0));
    }

    @Test
    void optionsOfOtherTargetsRejected() {
        Outcome context = run("bench", "attention", "--context", "64");
        assertEquals(2, context.code(), context.err());
        assertTrue(context.err().contains("--context"), context.err());

        Outcome dim = run("bench", "matmul", "--dim", "64");
        assertEquals(2, dim.code(), dim.err());
        assertTrue(dim.err().contains("--dim"), dim.err());
    }

    @Test
    void stepTakesTheRecipe() {
        for (String device : List.of("cpu", "opencl")) {
            Outcome o = run("bench", "step", "--json", "--device", device, "--energy", "gated-linear", "--optimizer",
                    "nesterov", "--steps", "1", "--warmup", "0", "--layers", "2", "--heads", "2", "--dim", "16",
                    "--context", "16", "--batch", "2");
            assertEquals(0, o.code(), device + ": " + o.err());
            JsonObject figure = JsonParser.parseString(o.out().strip()).getAsJsonObject();
            assertEquals("gated-linear", figure.get("energy").getAsString(), device);
            assertEquals("nesterov", figure.get("optimizer").getAsString(), device);
        }
        Outcome invalid = run("bench", "step", "--energy", "linear", "--optimizer", "newton");
        assertEquals(2, invalid.code(), invalid.err());
        assertTrue(invalid.err().contains("newton"), invalid.err());
    }

    @Test
    void presetsAndTargetsAreListed() {
        assertEquals(List.of("matmul", "attention", "step"), BenchCommand.TARGETS);
        BenchCommand c = new BenchCommand();
        c.model = "llmc";
        var config = c.config();
        assertEquals(4, config.layers());
        assertEquals(4, config.heads());
        assertEquals(256, config.dim());
        assertEquals(256, config.context());
        assertEquals(256, config.vocab());
    }

    @Test
    void deviceRejectedOutsideStep() {
        for (String target : new String[] {"matmul", "attention"}) {
            Outcome o = run("bench", target, "--device", "opencl");
            assertEquals(2, o.code(), target + ": " + o.err());
            assertTrue(o.err().contains("--device applies to bench step only"), o.err());
        }
    }

    @Test
    void stepWithOverriddenSizesIsLabelledByShape() {
        Outcome o = run("bench", "step", "--json", "--layers", "1", "--context", "16", "--batch", "2", "--steps", "1",
                "--warmup", "0");
        assertEquals(0, o.code(), o.err());
        String[] lines = o.out().strip().split("\n");
        JsonObject figure = JsonParser.parseString(lines[lines.length - 1]).getAsJsonObject();
        assertEquals("1L 4H 128C 16T (from tiny)", figure.get("model").getAsString());
    }
}
