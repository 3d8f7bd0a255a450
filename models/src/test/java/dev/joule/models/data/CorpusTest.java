package dev.joule.models.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.joule.models.InvalidInputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CorpusTest {
    private static final Corpus.LoadOptions DEFAULTS = Corpus.LoadOptions.defaults();
    private static final Corpus.LoadOptions ALLOW_BINARY = new Corpus.LoadOptions(true);

    private final ByteTokenizer tokenizer = new ByteTokenizer();

    @TempDir
    Path dir;

    @Test
    void singleFileLoadsAsBytes() throws IOException {
        String text = EnglishText.sample();
        Path file = write("story.txt", text);

        Corpus corpus = Corpus.load(List.of(file), DEFAULTS);

        assertEquals(text, tokenizer.decode(corpus.tokens()));
        assertEquals(1, corpus.fileCount());
        assertEquals(1, corpus.documentCount());
        assertEquals(Files.size(file), corpus.sourceBytes());
        assertEquals(corpus.tokens().length, corpus.tokenCount());
        assertEquals(0, corpus.invalidUtf8Sequences());
    }

    @Test
    void multiByteTextKeepsItsBytes() throws IOException {
        Path file = write("mixed.txt", "naïve café — 日本語 🎉");
        Corpus corpus = Corpus.load(List.of(file), DEFAULTS);
        assertArrayEquals(tokenizer.encode("naïve café — 日本語 🎉"), corpus.tokens());
    }

    @Test
    void documentsJoinedWithSeparator() throws IOException {
        Path first = write("a.txt", "First document.");
        Path second = write("b.txt", "Second document.");

        Corpus corpus = Corpus.load(List.of(second, first), DEFAULTS);

        // Explicit paths keep the order they were given in.
        assertEquals("Second document.\n\nFirst document.", tokenizer.decode(corpus.tokens()));
        assertEquals(List.of(second, first), corpus.files());
        assertEquals(2, corpus.documentCount());
    }

    @Test
    void folderLoadsRecursivelyInSortedOrder() throws IOException {
        write("books/b.txt", "bravo");
        write("books/a/z.txt", "alpha-z");
        write("books/a.txt", "alpha");
        write("books/c/d/e.txt", "echo");

        Corpus corpus = Corpus.load(List.of(dir.resolve("books")), DEFAULTS);

        assertEquals("alpha\n\nalpha-z\n\nbravo\n\necho", tokenizer.decode(corpus.tokens()));
        assertEquals(4, corpus.fileCount());
    }

    @Test
    void folderOrderIgnoresCreationOrder() throws IOException {
        List<String> names = List.of("m.txt", "c.txt", "x.txt", "a.txt", "k/b.txt");
        for (String name : names) {
            write("first/" + name, name);
        }
        for (String name : names.reversed()) {
            write("second/" + name, name);
        }

        Corpus first = Corpus.load(List.of(dir.resolve("first")), DEFAULTS);
        Corpus second = Corpus.load(List.of(dir.resolve("second")), DEFAULTS);

        assertArrayEquals(first.tokens(), second.tokens());
        assertEquals("a.txt\n\nc.txt\n\nk/b.txt\n\nm.txt\n\nx.txt", tokenizer.decode(first.tokens()));
    }

    @Test
    void hiddenFilesAndFoldersSkipped() throws IOException {
        write("data/visible.txt", "visible");
        write("data/.hidden.txt", "hidden file");
        write("data/.git/config", "hidden folder");

        Corpus corpus = Corpus.load(List.of(dir.resolve("data")), DEFAULTS);

        assertEquals("visible", tokenizer.decode(corpus.tokens()));
        assertEquals(1, corpus.fileCount());
    }

    @Test
    void fileReachedTwiceLoadsOnce() throws IOException {
        Path file = write("data/one.txt", "once");
        Corpus corpus = Corpus.load(List.of(dir.resolve("data"), file), DEFAULTS);
        assertEquals("once", tokenizer.decode(corpus.tokens()));
        assertEquals(1, corpus.fileCount());
    }

    @Test
    void emptyFileInFolderAddsNoSeparator() throws IOException {
        write("data/a.txt", "alpha");
        write("data/b.txt", "");
        write("data/c.txt", "charlie");

        Corpus corpus = Corpus.load(List.of(dir.resolve("data")), DEFAULTS);

        assertEquals("alpha\n\ncharlie", tokenizer.decode(corpus.tokens()));
        assertEquals(3, corpus.fileCount());
        assertEquals(2, corpus.documentCount());
    }

    @Test
    void byteOrderMarkDropped() throws IOException {
        Path file = writeBytes("bom.txt", concat(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF}, utf8("text")));
        Corpus corpus = Corpus.load(List.of(file), DEFAULTS);
        assertEquals("text", tokenizer.decode(corpus.tokens()));
    }

    @Test
    void missingPathRejected() {
        Path missing = dir.resolve("nope.txt");
        InvalidInputException error =
                assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(missing), DEFAULTS));
        assertEquals("data path not found: " + missing + "; pass an existing file or folder with --data",
                error.getMessage());
    }

    @Test
    void noPathsRejected() {
        InvalidInputException error =
                assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(), DEFAULTS));
        assertTrue(error.getMessage().contains("--data"), error.getMessage());
    }

    @Test
    void unreadableFileRejected() throws IOException {
        Path file = write("secret.txt", "secret");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
        // The superuser can read any file, so the check only means something for other users.
        assumeFalse(Files.isReadable(file), "running with permission to read any file");

        InvalidInputException error =
                assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(file), DEFAULTS));
        assertTrue(error.getMessage().contains(file.toString()), error.getMessage());
        assertTrue(error.getMessage().contains("not readable"), error.getMessage());
    }

    @Test
    void accessDeniedMapsToNotReadable() {
        Path file = dir.resolve("secret.txt");
        InvalidInputException error =
                Corpus.readFailure(file, new java.nio.file.AccessDeniedException(file.toString()));
        assertEquals("data path not readable: " + file + "; check its permissions", error.getMessage());
    }

    @Test
    void folderWithoutFilesRejected() throws IOException {
        Path empty = Files.createDirectories(dir.resolve("empty/sub"));
        write("empty/.hidden", "skipped");
        Path root = empty.getParent();

        InvalidInputException error =
                assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(root), DEFAULTS));
        assertTrue(error.getMessage().contains("contains no files: " + root), error.getMessage());
    }

    @Test
    void emptyCorpusRejected() throws IOException {
        Path file = write("empty.txt", "");
        InvalidInputException error =
                assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(file), DEFAULTS));
        assertTrue(error.getMessage().contains(file.toString()), error.getMessage());
        assertTrue(error.getMessage().contains("contains no text"), error.getMessage());
    }

    @Test
    void binaryFileRejectedWithOffset() throws IOException {
        Path file = writeBytes("model.bin", concat(utf8("GGUF header"), new byte[] {0, 1, 2, 3}));

        InvalidInputException error =
                assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(file), DEFAULTS));

        assertEquals(file + " looks binary (NUL byte at offset 11); pass --allow-binary to train on raw bytes",
                error.getMessage());
    }

    @Test
    void binaryFilesInFolderAreSkipped() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("fortunes"));
        Files.writeString(folder.resolve("art"), "A quiet mind is a rich mind.");
        Files.write(folder.resolve("art.dat"), new byte[] {0, 0, 0, 2, 0, 0, 0, 1});

        Corpus corpus = Corpus.load(List.of(folder), DEFAULTS);

        assertEquals(List.of(folder.resolve("art")), corpus.files());
        assertEquals("A quiet mind is a rich mind.".length(), corpus.tokenCount());
    }

    @Test
    void folderOfOnlyBinaryFilesIsRejected() throws IOException {
        Path folder = Files.createDirectories(dir.resolve("blobs"));
        Files.write(folder.resolve("a.bin"), new byte[] {0, 1, 2});

        InvalidInputException error =
                assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(folder), DEFAULTS));

        assertTrue(error.getMessage().contains("looks binary"), error.getMessage());
        assertTrue(error.getMessage().contains("--allow-binary"), error.getMessage());
    }

    @Test
    void controlBytesCountAsBinary() throws IOException {
        byte[] bytes = new byte[100];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i % 4 == 0 ? 0x01 : 'a');
        }
        Path file = writeBytes("noise.dat", bytes);

        InvalidInputException error =
                assertThrows(InvalidInputException.class, () -> Corpus.load(List.of(file), DEFAULTS));

        assertTrue(error.getMessage().contains(file + " looks binary (25 of the first 100 bytes"), error.getMessage());
        assertTrue(error.getMessage().contains("--allow-binary"), error.getMessage());
    }

    @Test
    void textWithTabsAndEscapesIsNotBinary() throws IOException {
        Path file = write("log.txt", "col1\tcol2\r\n\u001b[1mbold\u001b[0m\f\n");
        Corpus corpus = Corpus.load(List.of(file), DEFAULTS);
        assertEquals(Files.size(file), corpus.tokenCount());
    }

    @Test
    void binaryAcceptedAsRawBytesWhenAllowed() throws IOException {
        byte[] bytes = {0x00, (byte) 0xFF, (byte) 0xC3, 0x10, 'A'};
        Path file = writeBytes("raw.bin", bytes);

        Corpus corpus = Corpus.load(List.of(file), ALLOW_BINARY);

        assertArrayEquals(new int[] {0x00, 0xFF, 0xC3, 0x10, 'A'}, corpus.tokens());
        // Raw bytes are not decoded, so none of them count as invalid UTF-8.
        assertEquals(0, corpus.invalidUtf8Sequences());
    }

    @Test
    void invalidUtf8ReplacedAndCounted() throws IOException {
        // Two stray bytes (0xFF, 0x80) and one truncated two-byte sequence (0xC3 before a space).
        Path first = writeBytes("a.txt", concat(utf8("caf"), new byte[] {(byte) 0xFF, 'x', (byte) 0x80}));
        Path second = writeBytes("b.txt", concat(new byte[] {(byte) 0xC3}, utf8(" ok")));
        Path valid = write("c.txt", "fine");

        Corpus corpus = Corpus.load(List.of(first, second, valid), DEFAULTS);

        assertEquals(3, corpus.invalidUtf8Sequences());
        assertEquals("caf\uFFFDx\uFFFD\n\n\uFFFD ok\n\nfine", tokenizer.decode(corpus.tokens()));
        // Each replacement is stored as the three UTF-8 bytes of U+FFFD.
        assertEquals(utf8("caf\uFFFDx\uFFFD\n\n\uFFFD ok\n\nfine").length, corpus.tokenCount());
    }

    @Test
    void invalidUtf8LoggedOnceWithTotal() throws IOException {
        Path first = writeBytes("a.txt", new byte[] {'a', (byte) 0xFF, (byte) 0xFE});
        Path second = writeBytes("b.txt", new byte[] {'b', (byte) 0x80});

        List<LogRecord> warnings = captureWarnings(() -> Corpus.load(List.of(first, second), DEFAULTS));

        assertEquals(1, warnings.size());
        String message = java.text.MessageFormat.format(warnings.getFirst().getMessage(),
                warnings.getFirst().getParameters());
        assertTrue(message.contains("3 invalid UTF-8 sequences"), message);
        assertTrue(message.contains("2 of 2 files"), message);
    }

    @Test
    void validUtf8LogsNoWarning() throws IOException {
        Path file = write("a.txt", "naïve");
        List<LogRecord> warnings = captureWarnings(() -> Corpus.load(List.of(file), DEFAULTS));
        assertEquals(List.of(), warnings);
    }

    private static List<LogRecord> captureWarnings(Runnable action) {
        // System.Logger is backed by java.util.logging unless another LoggerFinder is installed.
        Logger logger = Logger.getLogger(Corpus.class.getName());
        List<LogRecord> records = new ArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
                    records.add(record);
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        logger.addHandler(handler);
        try {
            action.run();
        } finally {
            logger.removeHandler(handler);
        }
        return records;
    }

    private Path write(String name, String text) throws IOException {
        return writeBytes(name, utf8(text));
    }

    private Path writeBytes(String name, byte[] bytes) throws IOException {
        Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        return Files.write(file, bytes);
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[] first, byte[] second) {
        byte[] joined = Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, joined, first.length, second.length);
        return joined;
    }
}
