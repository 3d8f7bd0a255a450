package dev.joule.models.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.models.InvalidInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusJsonLinesTest {
    private static final Corpus.LoadOptions DEFAULTS = Corpus.LoadOptions.defaults();

    private final ByteTokenizer tokenizer = new ByteTokenizer();

    @TempDir
    Path dir;

    @Test
    void eachLineIsOneDocument() throws IOException {
        Path file = write("docs.jsonl", """
                {"text": "The first line.", "source": "test"}
                {"text": "Café \\u2014 second\\nline."}
                {"id": 3, "text": "Third."}
                """);

        Corpus corpus = Corpus.load(List.of(file), DEFAULTS);

        assertEquals("The first line.\n\nCafé — second\nline.\n\nThird.", tokenizer.decode(corpus.tokens()));
        assertEquals(3, corpus.documentCount());
        assertEquals(1, corpus.fileCount());
    }

    @Test
    void blankLinesAndEmptyTextSkipped() throws IOException {
        Path file = write("docs.jsonl", "\n{\"text\": \"one\"}\r\n   \n{\"text\": \"\"}\n\t\n{\"text\": \"two\"}");

        Corpus corpus = Corpus.load(List.of(file), DEFAULTS);

        assertEquals("one\n\ntwo", tokenizer.decode(corpus.tokens()));
        assertEquals(2, corpus.documentCount());
    }

    @Test
    void mixesWithPlainFilesInFolder() throws IOException {
        write("data/a.txt", "plain");
        write("data/b.jsonl", "{\"text\": \"json one\"}\n{\"text\": \"json two\"}\n");

        Corpus corpus = Corpus.load(List.of(dir.resolve("data")), DEFAULTS);

        assertEquals("plain\n\njson one\n\njson two", tokenizer.decode(corpus.tokens()));
    }

    @Test
    void extensionMatchIgnoresCase() throws IOException {
        Path file = write("DOCS.JSONL", "{\"text\": \"upper\"}\n");
        assertEquals("upper", tokenizer.decode(Corpus.load(List.of(file), DEFAULTS).tokens()));
    }

    @Test
    void malformedLineNamesFileAndLine() throws IOException {
        Path file = write("bad.jsonl", "{\"text\": \"ok\"}\n\n{\"text\": \"unterminated}\n");

        InvalidInputException error =
                assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(file), DEFAULTS));

        assertTrue(error.getMessage().startsWith(file + ":3: invalid JSON"), error.getMessage());
        assertTrue(error.getMessage().contains("one JSON object per line"), error.getMessage());
    }

    @Test
    void lenientJsonRejected() throws IOException {
        // Unquoted names, single quotes and trailing data are accepted by lenient parsers but are not JSON.
        List<String> lines = List.of(
                "{text: \"a\"}", "{'text': 'a'}", "{\"text\": \"a\"} trailing", "{\"text\": \"a\"}{}");
        for (String line : lines) {
            Path file = write("lenient.jsonl", line + "\n");
            InvalidInputException error =
                    assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(file), DEFAULTS), line);
            assertTrue(error.getMessage().startsWith(file + ":1: invalid JSON"), error.getMessage());
        }
    }

    @Test
    void missingTextFieldRejected() throws IOException {
        Path file = write("notext.jsonl", "{\"text\": \"ok\"}\n{\"body\": \"no text here\"}\n");

        InvalidInputException error =
                assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(file), DEFAULTS));

        assertTrue(error.getMessage().startsWith(file + ":2: expected a JSON object with a string field \"text\""),
                error.getMessage());
    }

    @Test
    void nonStringTextRejected() throws IOException {
        List<String> lines = List.of(
                "{\"text\": 42}", "{\"text\": null}", "{\"text\": [\"a\"]}", "[\"text\"]", "\"text\"");
        for (String line : lines) {
            Path file = write("typed.jsonl", line + "\n");
            InvalidInputException error =
                    assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(file), DEFAULTS), line);
            assertTrue(error.getMessage().startsWith(file + ":1: expected a JSON object"), error.getMessage());
        }
    }

    @Test
    void fileWithoutTextRejected() throws IOException {
        Path file = write("blank.jsonl", "\n\n{\"text\": \"\"}\n");

        InvalidInputException error =
                assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(file), DEFAULTS));

        assertTrue(error.getMessage().startsWith(file + " contains no non-empty \"text\" values"), error.getMessage());
    }

    @Test
    void invalidUtf8InJsonCounted() throws IOException {
        byte[] prefix = "{\"text\": \"a".getBytes(StandardCharsets.UTF_8);
        byte[] suffix = "b\"}\n".getBytes(StandardCharsets.UTF_8);
        byte[] bytes = new byte[prefix.length + 1 + suffix.length];
        System.arraycopy(prefix, 0, bytes, 0, prefix.length);
        bytes[prefix.length] = (byte) 0xFF;
        System.arraycopy(suffix, 0, bytes, prefix.length + 1, suffix.length);
        Path file = dir.resolve("bytes.jsonl");
        Files.write(file, bytes);

        Corpus corpus = Corpus.load(List.of(file), DEFAULTS);

        assertEquals(1, corpus.invalidUtf8Sequences());
        assertEquals("a\uFFFDb", tokenizer.decode(corpus.tokens()));
    }

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        return Files.writeString(file, text);
    }
}
