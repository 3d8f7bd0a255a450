package dev.joule.models.data;

import dev.joule.models.InvalidInputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Training text loaded from files and folders and encoded as byte tokens (see {@link ByteTokenizer}).
 *
 * <p>Each plain file is one document and each line of a {@code .jsonl} file is one document.
 * Documents are joined with {@link #DOCUMENT_SEPARATOR}. Plain files are read as UTF-8: malformed
 * sequences become U+FFFD, which is stored as its three UTF-8 bytes, and a leading byte order mark
 * is dropped. A file accepted as binary under {@link LoadOptions#allowBinary()} contributes its raw
 * bytes.
 */
public final class Corpus {
    /** Text placed between two documents so the model can see where one ends. */
    public static final String DOCUMENT_SEPARATOR = "\n\n";

    /** Maximum corpus size in bytes: the array length that the JDK's own collections treat as safe on every VM. */
    public static final int MAX_BYTES = Integer.MAX_VALUE - 8;

    static final int BINARY_SAMPLE_BYTES = 8 * 1024;

    private static final System.Logger LOG = System.getLogger(Corpus.class.getName());
    private static final byte[] SEPARATOR_BYTES = DOCUMENT_SEPARATOR.getBytes(StandardCharsets.UTF_8);

    /**
     * Options for {@link #load}.
     *
     * @param allowBinary whether files that look binary are loaded as raw bytes instead of rejected
     */
    public record LoadOptions(boolean allowBinary) {
        /** Returns options that reject binary files. */
        public static LoadOptions defaults() {
            return new LoadOptions(false);
        }
    }

    private final int[] tokens;
    private final List<Path> files;
    private final int documentCount;
    private final long sourceBytes;
    private final long invalidUtf8Sequences;

    private Corpus(int[] tokens, List<Path> files, int documentCount, long sourceBytes, long invalidUtf8Sequences) {
        this.tokens = tokens;
        this.files = List.copyOf(files);
        this.documentCount = documentCount;
        this.sourceBytes = sourceBytes;
        this.invalidUtf8Sequences = invalidUtf8Sequences;
    }

    /**
     * Loads every file named in {@code paths}, in the given order. A folder contributes every regular
     * file below it, sorted by path, skipping files and folders whose names start with a dot. A file
     * reached twice is loaded once.
     *
     * @throws InvalidInputException if a path is missing or unreadable, a folder contains no files, a
     *     file named in {@code paths} looks binary and {@code options.allowBinary()} is false (binary
     *     files found inside folders are skipped with one warning instead), a {@code .jsonl} line is
     *     malformed or a {@code .jsonl} file has no text, or the corpus is empty or larger than {@link
     *     #MAX_BYTES}
     */
    public static Corpus load(List<Path> paths, LoadOptions options) {
        if (paths.isEmpty()) {
            throw new InvalidInputException("no data path given; pass a file or folder with --data");
        }
        Set<Path> walked = new HashSet<>();
        List<Path> files = listFiles(paths, walked);

        TokenSink sink = new TokenSink();
        List<Path> skippedBinary = new ArrayList<>();
        long sourceBytes = 0;
        long invalidSequences = 0;
        int filesWithInvalidUtf8 = 0;
        for (Path file : files) {
            byte[] bytes = readFile(file);
            // A folder of text often carries binary companions (indexes, images): skip those, but
            // reject a binary file that was named explicitly.
            if (!options.allowBinary() && walked.contains(file) && !isJsonLines(file)
                    && binaryReason(bytes) != null) {
                skippedBinary.add(file);
                continue;
            }
            sourceBytes += bytes.length;
            long invalid = isJsonLines(file)
                    ? JsonLines.addDocuments(file, bytes, sink)
                    : addPlainFile(file, bytes, options, sink);
            if (invalid > 0) {
                invalidSequences += invalid;
                filesWithInvalidUtf8++;
            }
        }

        if (!skippedBinary.isEmpty()) {
            LOG.log(System.Logger.Level.WARNING,
                    "skipped {0} that look binary in the data folders, for example {1};"
                            + " pass --allow-binary to train on them as raw bytes",
                    dev.joule.models.Plural.of(skippedBinary.size(), "file"), skippedBinary.get(0));
        }
        if (sink.size() == 0 && !skippedBinary.isEmpty()) {
            throw new InvalidInputException("data is empty: every file in " + describe(paths)
                    + " looks binary; pass text files with --data, or --allow-binary to train on raw bytes");
        }
        if (sink.size() == 0) {
            throw new InvalidInputException("data is empty: " + describe(paths)
                    + " contains no text; pass files that contain text with --data");
        }
        if (invalidSequences > 0) {
            LOG.log(System.Logger.Level.WARNING, "replaced {0} in {1} of {2} with U+FFFD",
                    dev.joule.models.Plural.of(invalidSequences, "invalid UTF-8 sequence"), filesWithInvalidUtf8,
                    dev.joule.models.Plural.of(files.size(), "file"));
        }
        LOG.log(System.Logger.Level.DEBUG, "loaded {0} tokens in {1} documents from {2} files",
                sink.size(), sink.documentCount(), files.size());
        List<Path> loaded = new ArrayList<>(files);
        loaded.removeAll(skippedBinary);
        return new Corpus(sink.toTokens(), loaded, sink.documentCount(), sourceBytes, invalidSequences);
    }

    /**
     * Returns the byte tokens of the whole corpus. The array is not copied because a corpus can use
     * gigabytes, so callers must not modify it.
     */
    public int[] tokens() {
        return tokens;
    }

    /** Returns the number of tokens, which equals the number of encoded bytes. */
    public int tokenCount() {
        return tokens.length;
    }

    /** Returns the files that were loaded, in load order. */
    public List<Path> files() {
        return files;
    }

    /** Returns the number of files that were loaded. */
    public int fileCount() {
        return files.size();
    }

    /** Returns the number of documents: plain files plus {@code .jsonl} lines with non-empty text. */
    public int documentCount() {
        return documentCount;
    }

    /** Returns the total size of the loaded files in bytes, as read from disk. */
    public long sourceBytes() {
        return sourceBytes;
    }

    /** Returns the number of malformed UTF-8 sequences that were replaced with U+FFFD. */
    public long invalidUtf8Sequences() {
        return invalidUtf8Sequences;
    }

    private static List<Path> listFiles(List<Path> paths, Set<Path> walked) {
        List<Path> files = new ArrayList<>();
        Set<Path> seen = new HashSet<>();
        for (Path path : paths) {
            if (!Files.exists(path)) {
                throw notFound(path);
            }
            List<Path> found;
            if (Files.isDirectory(path)) {
                found = walkFolder(path);
                if (found.isEmpty()) {
                    throw new InvalidInputException("data folder contains no files: " + path
                            + "; add text or .jsonl files to it (names starting with a dot are skipped)");
                }
            } else if (Files.isRegularFile(path)) {
                found = List.of(path);
            } else {
                throw new InvalidInputException("data path is not a regular file or folder: " + path
                        + "; pass a text or .jsonl file or a folder");
            }
            for (Path file : found) {
                // The real path identifies a file reached twice, also through a symbolic link (Debian's
                // fortunes folder links every X.u8 to X).
                if (seen.add(realPath(file))) {
                    files.add(file);
                    if (Files.isDirectory(path)) {
                        walked.add(file);
                    }
                }
            }
        }
        return files;
    }

    private static Path realPath(Path file) {
        try {
            return file.toRealPath();
        } catch (IOException e) {
            return file.toAbsolutePath().normalize();
        }
    }

    private static List<Path> walkFolder(Path root) {
        if (!Files.isReadable(root)) {
            throw notReadable(root);
        }
        List<Path> found = new ArrayList<>();
        try {
            Files.walkFileTree(root, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE,
                    new SimpleFileVisitor<>() {
                        @Override
                        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                            return !dir.equals(root) && isHidden(dir)
                                    ? FileVisitResult.SKIP_SUBTREE
                                    : FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                            if (attrs.isRegularFile() && !isHidden(file)) {
                                found.add(file);
                            }
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                            if (e instanceof FileSystemLoopException) {
                                LOG.log(System.Logger.Level.DEBUG, "skipping symbolic link loop at {0}", file);
                                return FileVisitResult.CONTINUE;
                            }
                            throw e;
                        }
                    });
        } catch (IOException e) {
            throw readFailure(root, e);
        }
        // Directory listing order depends on the file system, so sort to make the corpus reproducible.
        found.sort(null);
        return found;
    }

    private static boolean isHidden(Path path) {
        Path name = path.getFileName();
        return name != null && name.toString().startsWith(".");
    }

    private static boolean isJsonLines(Path file) {
        return file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".jsonl");
    }

    private static byte[] readFile(Path file) {
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw tooLarge(file);
            }
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw readFailure(file, e);
        }
    }

    /** Adds one plain file as a document and returns its number of malformed UTF-8 sequences. */
    private static long addPlainFile(Path file, byte[] bytes, LoadOptions options, TokenSink sink) {
        String binaryReason = binaryReason(bytes);
        if (binaryReason != null) {
            if (!options.allowBinary()) {
                throw new InvalidInputException(file + " looks binary (" + binaryReason
                        + "); pass --allow-binary to train on raw bytes");
            }
            LOG.log(System.Logger.Level.DEBUG, "loading {0} as raw bytes because it looks binary ({1})",
                    file, binaryReason);
            sink.addDocument(file, bytes, 0, bytes.length);
            return 0;
        }

        int start = hasByteOrderMark(bytes) ? 3 : 0;
        long invalid = countMalformedUtf8(bytes, start);
        if (invalid == 0) {
            sink.addDocument(file, bytes, start, bytes.length);
        } else {
            String text = new String(bytes, start, bytes.length - start, StandardCharsets.UTF_8);
            byte[] replaced = text.getBytes(StandardCharsets.UTF_8);
            sink.addDocument(file, replaced, 0, replaced.length);
        }
        return invalid;
    }

    /**
     * Returns why the file looks binary, or null if it looks like text. The check covers the first
     * {@value #BINARY_SAMPLE_BYTES} bytes: any NUL byte, or control bytes other than tab, line feed,
     * vertical tab, form feed, carriage return and escape making up more than a tenth of them.
     */
    static String binaryReason(byte[] bytes) {
        int sample = Math.min(bytes.length, BINARY_SAMPLE_BYTES);
        int controlBytes = 0;
        for (int i = 0; i < sample; i++) {
            int b = Byte.toUnsignedInt(bytes[i]);
            if (b == 0) {
                return "NUL byte at offset " + i;
            }
            boolean allowedControl = (b >= 0x09 && b <= 0x0D) || b == 0x1B;
            if ((b < 0x20 || b == 0x7F) && !allowedControl) {
                controlBytes++;
            }
        }
        if (controlBytes * 10L > sample) {
            return controlBytes + " of the first " + sample + " bytes are control characters";
        }
        return null;
    }

    static boolean hasByteOrderMark(byte[] bytes) {
        return bytes.length >= 3 && (bytes[0] & 0xFF) == 0xEF && (bytes[1] & 0xFF) == 0xBB && (bytes[2] & 0xFF) == 0xBF;
    }

    /**
     * Counts malformed UTF-8 sequences in {@code bytes[start..]}, using the same rules as the JDK's
     * UTF-8 decoder, which decides how many bytes each U+FFFD replaces.
     */
    static long countMalformedUtf8(byte[] bytes, int start) {
        CharsetDecoder decoder = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, start, bytes.length - start);
        // The decoded text is not needed, so a small buffer is reused whenever it fills up.
        CharBuffer out = CharBuffer.allocate(8192);
        long malformed = 0;
        while (true) {
            CoderResult result = decoder.decode(in, out, true);
            if (result.isOverflow()) {
                out.clear();
            } else if (result.isUnderflow()) {
                return malformed;
            } else {
                malformed++;
                in.position(in.position() + result.length());
            }
        }
    }

    private static String describe(List<Path> paths) {
        return paths.size() == 1 ? paths.getFirst().toString() : paths.toString();
    }

    static InvalidInputException notFound(Path path) {
        return new InvalidInputException(
                "data path not found: " + path + "; pass an existing file or folder with --data");
    }

    static InvalidInputException notReadable(Path path) {
        return new InvalidInputException("data path not readable: " + path + "; check its permissions");
    }

    static InvalidInputException tooLarge(Path file) {
        return new InvalidInputException("corpus exceeds the maximum of " + MAX_BYTES + " bytes at " + file
                + "; pass fewer or smaller files with --data");
    }

    static InvalidInputException readFailure(Path path, IOException e) {
        if (e instanceof NoSuchFileException missing) {
            return notFound(missing.getFile() != null ? Path.of(missing.getFile()) : path);
        }
        if (e instanceof AccessDeniedException denied) {
            return notReadable(denied.getFile() != null ? Path.of(denied.getFile()) : path);
        }
        return new InvalidInputException("failed to read data path " + path + ": " + e.getMessage()
                + "; check that it is a readable file or folder", e);
    }

    /** Growable byte buffer that joins documents with the separator. */
    static final class TokenSink {
        private byte[] buffer = new byte[1 << 16];
        private int size;
        private int documentCount;

        void addDocument(Path source, byte[] bytes, int from, int to) {
            if (to == from) {
                return;
            }
            if (documentCount > 0) {
                append(source, SEPARATOR_BYTES, 0, SEPARATOR_BYTES.length);
            }
            append(source, bytes, from, to);
            documentCount++;
        }

        private void append(Path source, byte[] bytes, int from, int to) {
            int length = to - from;
            if (length > MAX_BYTES - size) {
                throw tooLarge(source);
            }
            int required = size + length;
            if (required > buffer.length) {
                long grown = Math.max(required, 2L * buffer.length);
                buffer = Arrays.copyOf(buffer, (int) Math.min(grown, MAX_BYTES));
            }
            System.arraycopy(bytes, from, buffer, size, length);
            size = required;
        }

        int size() {
            return size;
        }

        int documentCount() {
            return documentCount;
        }

        int[] toTokens() {
            int[] tokens = new int[size];
            for (int i = 0; i < size; i++) {
                tokens[i] = Byte.toUnsignedInt(buffer[i]);
            }
            return tokens;
        }
    }
}
