package dev.joule.engine.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.engine.Tensor;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path dir;

    // ---- round trips ----

    @Test
    void roundTripIsBitExact() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("scalar", Tensor.of(new float[] {Float.intBitsToFloat(0x7fc00001)}));
        tensors.put("one", Tensor.of(new float[] {-0.0f}, 1));
        tensors.put("layer.weight", Tensor.of(pattern(21, 1), 7, 3));
        tensors.put("layer.bias", Tensor.of(pattern(17 * 33, 2), 17, 33));
        tensors.put("empty", Tensor.of(new float[0], 2, 0));
        Map<String, String> metadata = Map.of("format", "pt", "note", "quote \" backslash \\ newline \n \u00fc \u20ac");
        Path file = dir.resolve("model.safetensors");

        SafeTensors.write(file, tensors, metadata);

        try (SafeTensorsFile read = SafeTensors.read(file)) {
            assertEquals(tensors.keySet(), read.names());
            assertEquals(metadata, read.metadata());
            for (Map.Entry<String, Tensor> entry : tensors.entrySet()) {
                String name = entry.getKey();
                assertEquals("F32", read.dtype(name), name);
                assertArrayEquals(entry.getValue().shape(), read.shape(name), name);
                Tensor loaded = read.get(name);
                assertArrayEquals(entry.getValue().shape(), loaded.shape(), name);
                assertArrayEquals(rawBits(entry.getValue().toArray()), rawBits(loaded.toArray()), name);
            }
            Map<String, Tensor> all = read.readAll();
            assertEquals(tensors.keySet(), all.keySet());
            assertArrayEquals(rawBits(tensors.get("layer.bias").toArray()), rawBits(all.get("layer.bias").toArray()));
        }
    }

    @Test
    void writeOfStridedViewStoresRowMajorOrder() throws IOException {
        Tensor transposed = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1);
        Path file = dir.resolve("t.safetensors");

        SafeTensors.write(file, Map.of("t", transposed), null);

        try (SafeTensorsFile read = SafeTensors.read(file)) {
            Tensor loaded = read.get("t");
            assertArrayEquals(new int[] {3, 2}, loaded.shape());
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, loaded.toArray());
            assertTrue(read.metadata().isEmpty());
        }
    }

    @Test
    void emptyTensorMapRoundTrips() throws IOException {
        Path file = dir.resolve("empty.safetensors");

        SafeTensors.write(file, Map.of(), Map.of());

        assertEquals(16, Files.size(file));
        try (SafeTensorsFile read = SafeTensors.read(file)) {
            assertTrue(read.names().isEmpty());
            assertTrue(read.readAll().isEmpty());
        }
    }

    @Test
    void writeIsDeterministicAndSorted() throws IOException {
        Map<String, Tensor> forward = new LinkedHashMap<>();
        forward.put("a", Tensor.of(pattern(6, 3), 2, 3));
        forward.put("b", Tensor.of(pattern(5, 4), 5));
        forward.put("c", Tensor.of(pattern(1, 5)));
        Map<String, Tensor> reversed = new LinkedHashMap<>();
        reversed.put("c", forward.get("c"));
        reversed.put("b", forward.get("b"));
        reversed.put("a", forward.get("a"));
        Map<String, String> metadataForward = new LinkedHashMap<>();
        metadataForward.put("x", "1");
        metadataForward.put("y", "2");
        Map<String, String> metadataReversed = new LinkedHashMap<>();
        metadataReversed.put("y", "2");
        metadataReversed.put("x", "1");
        Path first = dir.resolve("first.safetensors");
        Path second = dir.resolve("second.safetensors");

        SafeTensors.write(first, forward, metadataForward);
        SafeTensors.write(second, reversed, metadataReversed);

        byte[] bytes = Files.readAllBytes(first);
        assertArrayEquals(bytes, Files.readAllBytes(second));
        long headerLength = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertEquals(0, headerLength % 8, "header length must be a multiple of 8");
        String header = new String(bytes, 8, (int) headerLength, StandardCharsets.UTF_8);
        assertEquals("{\"__metadata__\":{\"x\":\"1\",\"y\":\"2\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[24,44]},"
                + "\"c\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[44,48]}}", header.stripTrailing());
        assertEquals(8 + headerLength + 48, bytes.length);
    }

    @Test
    void writeReplacesExistingFile() throws IOException {
        Path file = dir.resolve("model.safetensors");
        SafeTensors.write(file, Map.of("old", Tensor.of(new float[] {1}, 1)), null);

        SafeTensors.write(file, Map.of("new", Tensor.of(new float[] {2}, 1)), null);

        try (SafeTensorsFile read = SafeTensors.read(file)) {
            assertEquals(Set.of("new"), read.names());
        }
        assertEquals(List.of(file), listDirectory());
    }

    // ---- half-precision inputs ----

    @Test
    void readsBf16() throws IOException {
        short[] bits = {0x3F80, (short) 0xC000, 0x7F80, (short) 0xFF80, 0x7FC0, 0x0001, (short) 0x8000, 0x4049};
        Path file = write("bf16.safetensors", header("w", "BF16", "[2,4]", 0, 16), shortsLE(bits));

        try (SafeTensorsFile read = SafeTensors.read(file)) {
            assertEquals("BF16", read.dtype("w"));
            float[] values = read.get("w").toArray();
            assertEquals(1.0f, values[0]);
            assertEquals(-2.0f, values[1]);
            assertEquals(Float.POSITIVE_INFINITY, values[2]);
            assertEquals(Float.NEGATIVE_INFINITY, values[3]);
            assertTrue(Float.isNaN(values[4]));
            assertEquals(0x1p-133f, values[5], "smallest BF16 subnormal");
            assertEquals(0x80000000, Float.floatToRawIntBits(values[6]), "negative zero");
            assertEquals(3.140625f, values[7]);
        }
    }

    @Test
    void readsF16WithSubnormalsInfinityAndNaN() throws IOException {
        short[] bits = {0x3C00, (short) 0xC000, 0x0001, 0x03FF, 0x7C00, (short) 0xFC00, 0x7E00, (short) 0x8000,
            0x7BFF, 0x0400};
        Path file = write("f16.safetensors", header("w", "F16", "[10]", 0, 20), shortsLE(bits));

        try (SafeTensorsFile read = SafeTensors.read(file)) {
            assertEquals("F16", read.dtype("w"));
            float[] values = read.get("w").toArray();
            assertEquals(1.0f, values[0]);
            assertEquals(-2.0f, values[1]);
            assertEquals(0x1p-24f, values[2], "smallest F16 subnormal");
            assertEquals(1023 * 0x1p-24f, values[3], "largest F16 subnormal");
            assertEquals(Float.POSITIVE_INFINITY, values[4]);
            assertEquals(Float.NEGATIVE_INFINITY, values[5]);
            assertTrue(Float.isNaN(values[6]));
            assertEquals(0x80000000, Float.floatToRawIntBits(values[7]), "negative zero");
            assertEquals(65504f, values[8], "largest finite F16");
            assertEquals(0x1p-14f, values[9], "smallest normal F16");
        }
    }

    @Test
    void unsupportedDtypeFailsOnlyOnGet() throws IOException {
        Path file = write("i64.safetensors", header("position_ids", "I64", "[2]", 0, 16), new byte[16]);

        try (SafeTensorsFile read = SafeTensors.read(file)) {
            assertEquals("I64", read.dtype("position_ids"));
            assertArrayEquals(new int[] {2}, read.shape("position_ids"));
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> read.get("position_ids"));
            assertContains(e, "position_ids", "I64", "F32, F16, BF16");
            assertThrows(SafeTensorsException.class, read::readAll);
        }
    }

    @Test
    void readsTensorPastFourGibibytes() throws IOException {
        long padBytes = 5L << 30;
        String json = "{" + entry("pad", "U8", "[5,1073741824]", 0, padBytes) + ","
                + entry("tail", "F32", "[2]", padBytes, padBytes + 8) + "}";
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("large.safetensors");
        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
            out.write(longLE(header.length));
            out.write(header);
            // Seeking past the end leaves a hole, so the 5 GiB of padding takes no disk space on most file systems.
            out.seek(8 + header.length + padBytes);
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-3f).array());
        }

        try (SafeTensorsFile read = SafeTensors.read(file)) {
            assertEquals("U8", read.dtype("pad"));
            assertArrayEquals(new float[] {1.5f, -3f}, read.get("tail").toArray());
        }
    }

    // ---- malformed files ----

    @Test
    void rejectsFileShorterThanLengthField() throws IOException {
        Path file = dir.resolve("short.safetensors");
        Files.write(file, new byte[5]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, file.toString(), "5 bytes", "shorter");
        assertNull(e.tensorName());
        assertEquals(file, e.file());
    }

    @Test
    void rejectsHeaderLengthPastEndOfFile() throws IOException {
        Path file = writeRaw("past.safetensors", 1000, "{}".getBytes(StandardCharsets.UTF_8));

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "1000", "only 2 bytes follow", "truncated");
    }

    @Test
    void headerLengthIsUnsigned64Bit() throws IOException {
        Path huge = writeRaw("huge.safetensors", 1L << 40, "{}".getBytes(StandardCharsets.UTF_8));
        Path wrapped = writeRaw("wrapped.safetensors", -1L, "{}".getBytes(StandardCharsets.UTF_8));

        SafeTensorsException hugeError = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(huge));
        SafeTensorsException wrappedError = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(wrapped));

        assertContains(hugeError, "1099511627776", "header length");
        assertContains(wrappedError, "18446744073709551615", "header length");
    }

    @Test
    void rejectsHeaderLengthOverLimit() throws IOException {
        Path file = dir.resolve("sparse.safetensors");
        long claimed = SafeTensors.MAX_HEADER_BYTES + 8;
        try (RandomAccessFile out = new RandomAccessFile(file.toFile(), "rw")) {
            out.write(longLE(claimed));
            out.setLength(claimed + 64); // sparse on most file systems, so cheap to create
        }

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, Long.toString(claimed), "limit");
    }

    @Test
    void rejectsInvalidJson() throws IOException {
        Path file = write("json.safetensors", "{\"w\" {\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                new byte[4]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "not valid JSON", "expected ':'", "\"w\"");
    }

    @Test
    void rejectsHeaderThatIsNotUtf8() throws IOException {
        byte[] header = "{\"w\u00ff\":{}}".getBytes(StandardCharsets.ISO_8859_1);
        Path file = writeRaw("utf8.safetensors", header.length, header);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "UTF-8");
    }

    @Test
    void rejectsDuplicateKeys() throws IOException {
        String entry = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
        Path file = write("dup.safetensors", "{\"w\":" + entry + ",\"w\":" + entry + "}", new byte[4]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "duplicate key \"w\"");
    }

    @Test
    void rejectsHeaderThatIsNotAnObject() throws IOException {
        Path file = write("array.safetensors", "[1,2]", new byte[0]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "JSON object", "array");
    }

    @Test
    void rejectsNonStringMetadata() throws IOException {
        Path file = write("meta.safetensors", "{\"__metadata__\":{\"epochs\":3}}", new byte[0]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "__metadata__", "epochs", "must be a string");
    }

    @Test
    void rejectsMissingFields() throws IOException {
        String[] headers = {
            "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}",
            "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}",
            "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}",
        };
        String[] missing = {"dtype", "shape", "data_offsets"};
        for (int i = 0; i < headers.length; i++) {
            Path file = write("missing" + i + ".safetensors", headers[i], new byte[4]);

            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

            assertContains(e, "'w'", "missing \"" + missing[i] + "\"");
            assertEquals("w", e.tensorName());
        }
    }

    @Test
    void rejectsUnknownDtype() throws IOException {
        Path file = write("dtype.safetensors", header("w", "Q7", "[1]", 0, 4), new byte[4]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "'w'", "unknown dtype \"Q7\"", "F32, F16, BF16");
    }

    @Test
    void rejectsNegativeShape() throws IOException {
        Path file = write("negative.safetensors", header("w", "F32", "[-1]", 0, 4), new byte[4]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "'w'", "shape", "non-negative");
    }

    @Test
    void rejectsShapeNotMatchingByteLength() throws IOException {
        Path file = write("mismatch.safetensors", header("w", "F32", "[3]", 0, 8), new byte[8]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "'w'", "needs 12 bytes", "span 8 bytes");
    }

    @Test
    void rejectsBeginAfterEnd() throws IOException {
        Path file = write("reversed.safetensors", header("w", "F32", "[0]", 8, 0), new byte[8]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "'w'", "begin is after end");
    }

    @Test
    void rejectsOffsetsOutOfRange() throws IOException {
        Path file = write("range.safetensors", header("w", "F32", "[2]", 8, 16), new byte[8]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "'w'", "out of range", "8 bytes long");
    }

    @Test
    void rejectsOverlappingOffsets() throws IOException {
        String json = "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}";
        Path file = write("overlap.safetensors", json, new byte[12]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "'b'", "overlap", "'a'");
    }

    @Test
    void rejectsGapBetweenTensors() throws IOException {
        String json = "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}";
        Path file = write("gap.safetensors", json, new byte[12]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "'b'", "bytes [4, 8)", "belong to no tensor");
    }

    @Test
    void rejectsTrailingBytes() throws IOException {
        Path file = write("trailing.safetensors", header("w", "F32", "[1]", 0, 4), new byte[8]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "last 4 bytes", "belong to no tensor");
    }

    @Test
    void rejectsTruncatedData() throws IOException {
        String json = "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 8, 16) + "}";
        Path file = write("truncated.safetensors", json, new byte[12]);

        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));

        assertContains(e, "'b'", "truncated", "ends at 12 bytes");
    }

    @Test
    void getOfUnknownNameListsAvailableTensors() throws IOException {
        Path file = write("one.safetensors", header("w", "F32", "[1]", 0, 4), new byte[4]);

        try (SafeTensorsFile read = SafeTensors.read(file)) {
            SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> read.get("missing"));
            assertContains(e, "'missing'", "not found", "w");
        }
    }

    @Test
    void getAfterCloseFails() throws IOException {
        Path file = dir.resolve("closed.safetensors");
        SafeTensors.write(file, Map.of("w", Tensor.of(new float[] {7}, 1)), null);
        SafeTensorsFile read = SafeTensors.read(file);
        Tensor before = read.get("w");

        read.close();
        read.close();

        assertThrows(IllegalStateException.class, () -> read.get("w"));
        assertArrayEquals(new float[] {7}, before.toArray());
    }

    // ---- failed writes ----

    @Test
    void failedWriteKeepsExistingFileAndRemovesTemporary() throws IOException {
        Path file = dir.resolve("model.safetensors");
        SafeTensors.write(file, Map.of("good", Tensor.of(new float[] {1, 2}, 2)), Map.of("v", "1"));
        byte[] good = Files.readAllBytes(file);
        Map<String, Tensor> replacement = Map.of(
                "a", Tensor.of(pattern(1000, 1), 1000),
                "b", Tensor.of(pattern(10, 2), 10));
        IllegalStateException injected = new IllegalStateException("simulated failure while writing");

        IllegalStateException thrown = assertThrows(IllegalStateException.class,
                () -> SafeTensors.write(file, replacement, null, name -> {
                    if (name.equals("b")) {
                        throw injected;
                    }
                }));

        assertSame(injected, thrown);
        assertArrayEquals(good, Files.readAllBytes(file));
        assertEquals(List.of(file), listDirectory());
    }

    @Test
    void failedRenameOverDirectoryRemovesTemporary() throws IOException {
        Path target = dir.resolve("occupied");
        Files.createDirectory(target);
        Files.writeString(target.resolve("keep.txt"), "keep");

        assertThrows(IOException.class,
                () -> SafeTensors.write(target, Map.of("w", Tensor.of(new float[] {1}, 1)), null));

        assertEquals("keep", Files.readString(target.resolve("keep.txt")));
        assertEquals(List.of(target), listDirectory());
    }

    @Test
    void writeRejectsReservedName() {
        Path file = dir.resolve("reserved.safetensors");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SafeTensors.write(file, Map.of("__metadata__", Tensor.of(new float[] {1}, 1)), null));

        assertTrue(e.getMessage().contains("reserved"), e.getMessage());
        assertTrue(Files.notExists(file));
    }

    // ---- helpers ----

    private static void assertContains(Exception e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message lacks \"" + part + "\": " + e.getMessage());
        }
    }

    private static float[] pattern(int n, int seed) {
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) Math.sin(seed * 1000 + i) * (i % 7 == 0 ? 1e-40f : 3.5f);
        }
        return values;
    }

    private static int[] rawBits(float[] values) {
        int[] bits = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            bits[i] = Float.floatToRawIntBits(values[i]);
        }
        return bits;
    }

    private static String entry(String name, String dtype, String shape, long begin, long end) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":["
                + begin + "," + end + "]}";
    }

    private static String header(String name, String dtype, String shape, long begin, long end) {
        return "{" + entry(name, dtype, shape, begin, end) + "}";
    }

    private static byte[] shortsLE(short[] values) {
        ByteBuffer buffer = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (short value : values) {
            buffer.putShort(value);
        }
        return buffer.array();
    }

    private static byte[] longLE(long value) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
    }

    /** Writes a well-framed file: a length field matching the UTF-8 header, the header, then the data. */
    private Path write(String fileName, String json, byte[] data) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        byte[] rest = new byte[header.length + data.length];
        System.arraycopy(header, 0, rest, 0, header.length);
        System.arraycopy(data, 0, rest, header.length, data.length);
        return writeRaw(fileName, header.length, rest);
    }

    /** Writes {@code headerLength} as the length field followed by {@code rest}, whether or not they agree. */
    private Path writeRaw(String fileName, long headerLength, byte[] rest) throws IOException {
        byte[] bytes = new byte[8 + rest.length];
        System.arraycopy(longLE(headerLength), 0, bytes, 0, 8);
        System.arraycopy(rest, 0, bytes, 8, rest.length);
        Path file = dir.resolve(fileName);
        Files.write(file, bytes);
        return file;
    }

    private List<Path> listDirectory() throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.sorted().toList();
        }
    }
}
