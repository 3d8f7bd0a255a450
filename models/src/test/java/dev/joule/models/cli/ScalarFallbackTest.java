package dev.joule.models.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.models.RealText;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A JVM started without the incubator module trains on the scalar kernels after one warning. */
class ScalarFallbackTest {
    @Test
    void trainsWithoutVectorModule(@TempDir Path dir) throws Exception {
        Path corpus = RealText.write(dir);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(List.of(CliTest.small("--data", corpus.toString(), "--out", dir.resolve("run").toString())));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish");
        assertEquals(0, p.exitValue(), "stdout: " + out + "\nstderr: " + err);
        assertTrue(err.contains("--add-modules jdk.incubator.vector"), "no warning naming the flag: " + err);
        assertFalse(err.contains("NoClassDefFoundError"), err);
        assertTrue(out.contains("scalar"), "the start table should name the scalar kernels: " + out);
    }
}
