package dev.joule.engine.io;

import dev.joule.engine.Tensor;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Reads and writes the safetensors format.
 *
 * <p>A file is an unsigned 64-bit little-endian header length N, then N bytes of UTF-8 JSON, then the
 * data section. The JSON maps each tensor name to its {@code dtype}, {@code shape} and
 * {@code data_offsets} [begin, end), which are byte offsets into the data section. An optional
 * {@code __metadata__} key maps to an object of string pairs. Elements are little-endian and row-major.
 *
 * <p>Malformed files raise the unchecked {@link SafeTensorsException}. File system failures raise
 * {@link IOException}.
 */
public final class SafeTensors {
    /**
     * Largest header accepted by {@link #read}. A header entry takes on the order of 100 bytes, so this
     * allows about a million tensors while rejecting corrupt length fields before allocating for them.
     */
    public static final long MAX_HEADER_BYTES = 100_000_000;

    private static final int LENGTH_FIELD_BYTES = 8;
    /** Alignment of the data section start, which keeps F32 and F64 elements naturally aligned. */
    private static final int HEADER_ALIGNMENT = 8;
    private static final int WRITE_CHUNK_BYTES = 1 << 20;
    private static final SecureRandom TEMP_NAMES = new SecureRandom();

    private SafeTensors() {}

    /**
     * Writes {@code tensors} as F32 to {@code file}, replacing it atomically.
     *
     * <p>The bytes depend only on the arguments. The header lists {@code __metadata__} first (omitted
     * when {@code metadata} is null or empty), then the tensors sorted by name with data offsets in the
     * same order. The header is padded with spaces to a multiple of 8 bytes. The data goes to a temporary
     * file in the same directory, which is flushed to disk and then renamed over {@code file}. On failure
     * the temporary file is deleted and an existing {@code file} is left unchanged.
     *
     * @throws IllegalArgumentException if a name is null or {@code "__metadata__"}, a tensor is null, or a
     *     name or metadata string contains an unpaired surrogate and so has no UTF-8 encoding
     * @throws IOException if the temporary file cannot be written or renamed
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        write(file, tensors, metadata, name -> {});
    }

    /** Implements {@link #write(Path, Map, Map)}, calling {@code beforeEachTensor} so tests can inject failures. */
    static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata,
            Consumer<String> beforeEachTensor) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(tensors, "tensors");
        Map<String, Tensor> sortedTensors = sortedTensors(tensors);
        Map<String, String> sortedMetadata = sortedMetadata(metadata);
        byte[] header = encodeHeader(sortedTensors, sortedMetadata);

        Path target = file.toAbsolutePath();
        Path directory = target.getParent();
        Path temporary = directory.resolve(target.getFileName() + ".tmp-" + Long.toHexString(TEMP_NAMES.nextLong()));
        try {
            try (FileChannel channel = FileChannel.open(temporary, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                ByteBuffer chunk = ByteBuffer.allocateDirect(WRITE_CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                chunk.putLong(header.length).flip();
                writeFully(channel, chunk);
                writeFully(channel, ByteBuffer.wrap(header));
                for (Map.Entry<String, Tensor> entry : sortedTensors.entrySet()) {
                    beforeEachTensor.accept(entry.getKey());
                    writeElements(channel, entry.getValue(), chunk);
                }
                channel.force(true);
            }
            Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (Throwable failure) {
            try {
                Files.deleteIfExists(temporary);
            } catch (IOException deleteFailure) {
                failure.addSuppressed(deleteFailure);
            }
            throw failure;
        }
        syncDirectory(directory);
    }

    /**
     * Opens a safetensors file, validates its header and memory-maps its data section. Close the returned
     * file to unmap it.
     *
     * @throws SafeTensorsException if the file is malformed; the message names the tensor and the problem
     * @throws IOException if the file cannot be opened, read or mapped
     */
    public static SafeTensorsFile read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileSize = channel.size();
            if (fileSize < LENGTH_FIELD_BYTES) {
                throw new SafeTensorsException(file, null, "file is " + fileSize + " bytes, shorter than the "
                        + "8-byte header length field; it is truncated or is not a safetensors file");
            }
            ByteBuffer lengthField = ByteBuffer.allocate(LENGTH_FIELD_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            readFully(file, channel, lengthField, 0);
            long headerLength = lengthField.getLong(0);
            long bytesAfterLength = fileSize - LENGTH_FIELD_BYTES;
            // The field is unsigned, so lengths of 2^63 and above arrive here as negative longs.
            if (Long.compareUnsigned(headerLength, bytesAfterLength) > 0) {
                throw new SafeTensorsException(file, null, "header length field is "
                        + Long.toUnsignedString(headerLength) + " bytes, but only " + bytesAfterLength
                        + " bytes follow it; the file is truncated or is not a safetensors file");
            }
            if (headerLength > MAX_HEADER_BYTES) {
                throw new SafeTensorsException(file, null, "header length field is " + headerLength
                        + " bytes, more than the limit of " + MAX_HEADER_BYTES
                        + "; the file is corrupt or is not a safetensors file");
            }

            ByteBuffer headerBytes = ByteBuffer.allocate((int) headerLength);
            readFully(file, channel, headerBytes, LENGTH_FIELD_BYTES);
            String json = decodeUtf8(file, headerBytes.flip());
            long dataStart = LENGTH_FIELD_BYTES + headerLength;
            long dataSize = fileSize - dataStart;
            SafeTensorsHeader header = SafeTensorsHeader.parse(file, json, dataSize);

            Arena arena = Arena.ofShared();
            try {
                MemorySegment data = dataSize == 0
                        ? MemorySegment.NULL
                        : channel.map(FileChannel.MapMode.READ_ONLY, dataStart, dataSize, arena);
                return new SafeTensorsFile(file, header, arena, data);
            } catch (IOException | RuntimeException e) {
                arena.close();
                throw e;
            }
        }
    }

    private static Map<String, Tensor> sortedTensors(Map<String, Tensor> tensors) {
        Map<String, Tensor> sorted = new TreeMap<>();
        for (Map.Entry<String, Tensor> entry : tensors.entrySet()) {
            String name = entry.getKey();
            if (name == null) {
                throw new IllegalArgumentException("tensor name is null");
            }
            if (name.equals(SafeTensorsHeader.METADATA_KEY)) {
                throw new IllegalArgumentException("tensor name \"" + SafeTensorsHeader.METADATA_KEY
                        + "\" is reserved for the metadata map; rename the tensor");
            }
            if (entry.getValue() == null) {
                throw new IllegalArgumentException("tensor '" + name + "' is null");
            }
            sorted.put(name, entry.getValue());
        }
        return sorted;
    }

    private static Map<String, String> sortedMetadata(Map<String, String> metadata) {
        Map<String, String> sorted = new TreeMap<>();
        if (metadata == null) {
            return sorted;
        }
        for (Map.Entry<String, String> entry : metadata.entrySet()) {
            if (entry.getKey() == null || entry.getValue() == null) {
                throw new IllegalArgumentException("metadata keys and values must not be null, found "
                        + entry.getKey() + " = " + entry.getValue());
            }
            sorted.put(entry.getKey(), entry.getValue());
        }
        return sorted;
    }

    /** Returns the UTF-8 header JSON, padded with spaces to a multiple of {@link #HEADER_ALIGNMENT} bytes. */
    private static byte[] encodeHeader(Map<String, Tensor> tensors, Map<String, String> metadata) {
        StringBuilder json = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            HeaderJson.appendQuoted(json, SafeTensorsHeader.METADATA_KEY);
            json.append(":{");
            String separator = "";
            for (Map.Entry<String, String> entry : metadata.entrySet()) {
                json.append(separator);
                HeaderJson.appendQuoted(json, entry.getKey());
                json.append(':');
                HeaderJson.appendQuoted(json, entry.getValue());
                separator = ",";
            }
            json.append('}');
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> entry : tensors.entrySet()) {
            if (json.length() > 1) {
                json.append(',');
            }
            Tensor tensor = entry.getValue();
            long end = offset + (long) tensor.numel() * Float.BYTES;
            HeaderJson.appendQuoted(json, entry.getKey());
            json.append(":{\"dtype\":\"F32\",\"shape\":[");
            int[] shape = tensor.shape();
            for (int k = 0; k < shape.length; k++) {
                json.append(k == 0 ? "" : ",").append(shape[k]);
            }
            json.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
            offset = end;
        }
        json.append('}');

        byte[] encoded;
        try {
            ByteBuffer bytes = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(json));
            encoded = Arrays.copyOf(bytes.array(), bytes.limit());
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("a tensor name or metadata string contains an unpaired "
                    + "surrogate and cannot be encoded as UTF-8", e);
        }
        int padded = (encoded.length + HEADER_ALIGNMENT - 1) / HEADER_ALIGNMENT * HEADER_ALIGNMENT;
        byte[] header = Arrays.copyOf(encoded, padded);
        Arrays.fill(header, encoded.length, padded, (byte) ' ');
        return header;
    }

    /** Streams a tensor's elements in row-major order through {@code chunk}, one chunk at a time. */
    private static void writeElements(FileChannel channel, Tensor tensor, ByteBuffer chunk) throws IOException {
        float[] source;
        int start;
        if (tensor.isContiguous()) {
            source = tensor.storage();
            start = tensor.offset();
        } else {
            // NOTE: a strided view is copied whole before writing, so it briefly takes twice its memory.
            source = tensor.toArray();
            start = 0;
        }
        int remaining = tensor.numel();
        int floatsPerChunk = chunk.capacity() / Float.BYTES;
        while (remaining > 0) {
            int count = Math.min(remaining, floatsPerChunk);
            chunk.clear();
            chunk.asFloatBuffer().put(source, start, count);
            chunk.limit(count * Float.BYTES);
            writeFully(channel, chunk);
            start += count;
            remaining -= count;
        }
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    private static void readFully(Path file, FileChannel channel, ByteBuffer buffer, long position)
            throws IOException {
        while (buffer.hasRemaining()) {
            int read = channel.read(buffer, position);
            if (read < 0) {
                throw new EOFException(file + ": file ended at byte " + position + " while reading the header;"
                        + " it may have been truncated while being read");
            }
            position += read;
        }
    }

    private static String decodeUtf8(Path file, ByteBuffer bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes)
                    .toString();
        } catch (CharacterCodingException e) {
            throw new SafeTensorsException(file, null, "header is not valid UTF-8; the file is corrupt or "
                    + "is not a safetensors file", e);
        }
    }

    /** Flushes the directory entry of the rename to disk where the platform allows it. */
    private static void syncDirectory(Path directory) {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // Some platforms (Windows among them) cannot open a directory as a channel. The file itself
            // is already flushed and renamed, so only durability of the rename across a crash is lost.
        }
    }
}
