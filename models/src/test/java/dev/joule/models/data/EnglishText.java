package dev.joule.models.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** Real English prose for tests: the system fortune files where installed, else a fixed passage. */
final class EnglishText {
    private static final Path FORTUNES = Path.of("/usr/share/games/fortunes");

    private static final String PASSAGE = """
            The river rose for three days after the storm, and by the fourth morning the lower road \
            was under water. Farmers moved their animals to the hill behind the church. Nobody in the \
            village could remember a flood like it, although the oldest residents said their parents \
            had spoken of one.
            When the water finally went down, it left a line of mud on every wall at the height of a \
            man's knee. The school stayed closed for a week while volunteers cleaned the classrooms.
            """;

    private EnglishText() {}

    /** Returns at least a few hundred characters of English text. */
    static String sample() {
        String fortunes = readFortunes();
        return fortunes.length() >= PASSAGE.length() ? fortunes : PASSAGE;
    }

    private static String readFortunes() {
        if (!Files.isDirectory(FORTUNES)) {
            return "";
        }
        try (Stream<Path> files = Files.list(FORTUNES)) {
            // Fortune folders also hold binary .dat index files, so only plain files without an extension are read.
            Path first = files.filter(Files::isRegularFile)
                    .filter(path -> !path.getFileName().toString().contains("."))
                    .sorted()
                    .findFirst()
                    .orElse(null);
            if (first == null) {
                return "";
            }
            String text = new String(Files.readAllBytes(first), StandardCharsets.UTF_8);
            return text.substring(0, Math.min(text.length(), 20_000));
        } catch (IOException e) {
            return "";
        }
    }
}
