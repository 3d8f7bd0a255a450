package dev.joule.models;

import dev.joule.models.data.EmbeddedCorpus;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * Real English text for tests: the plain-text files of Debian's fortunes package, which .ci/run
 * installs, or Joule's own README, docs and sources shipped in the jar when the package is missing.
 */
public final class RealText {
    public static final Path FORTUNES = Path.of("/usr/share/games/fortunes");

    private RealText() {}

    /** Writes the test corpus into {@code dir} and returns the path to pass as --data. */
    public static Path write(Path dir) {
        try {
            Path file = dir.resolve("corpus.txt");
            Files.writeString(file, text());
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Returns the corpus text: all fortune files without their "%" separators, in sorted order. */
    public static String text() {
        if (!Files.isDirectory(FORTUNES)) {
            return EmbeddedCorpus.text();
        }
        StringBuilder sb = new StringBuilder();
        try (Stream<Path> files = Files.list(FORTUNES)) {
            List<Path> sorted = files.filter(p -> Files.isRegularFile(p) && !p.toString().endsWith(".dat")
                    && !p.toString().endsWith(".u8")).sorted().toList();
            for (Path p : sorted) {
                String s = new String(Files.readAllBytes(p), java.nio.charset.StandardCharsets.UTF_8);
                sb.append(s.replace("\n%\n", "\n\n"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sb.length() > 0 ? sb.toString() : EmbeddedCorpus.text();
    }
}
