package dev.joule.engine.io;

import java.math.BigInteger;
import java.nio.file.Path;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The validated header of a safetensors file: one entry per tensor plus the {@code __metadata__} map.
 *
 * <p>Validation enforces that every entry has a known dtype, a non-negative shape and data offsets
 * whose length matches the shape, and that the entries tile the data section exactly: no overlaps,
 * no unreferenced bytes and nothing past its end.
 */
final class SafeTensorsHeader {
    static final String METADATA_KEY = "__metadata__";

    /** One tensor's header entry, with {@code begin} and {@code end} as byte offsets into the data section. */
    record Entry(String name, DType dtype, int[] shape, long begin, long end) {
        long numel() {
            long n = 1;
            for (int size : shape) {
                n *= size; // cannot overflow: validation checked numel * dtype size against the offsets
            }
            return n;
        }
    }

    /** Entries in data-offset order. */
    final List<Entry> entries;
    final Map<String, String> metadata;

    private SafeTensorsHeader(List<Entry> entries, Map<String, String> metadata) {
        this.entries = entries;
        this.metadata = metadata;
    }

    /**
     * Parses and validates header JSON for a data section of {@code dataSize} bytes.
     *
     * @throws SafeTensorsException naming {@code file} and the offending tensor on any problem
     */
    static SafeTensorsHeader parse(Path file, String json, long dataSize) {
        Object root;
        try {
            root = HeaderJson.parse(json);
        } catch (ParseException e) {
            throw new SafeTensorsException(file, null, "header is not valid JSON: " + e.getMessage()
                    + " at character " + e.getErrorOffset() + "; the file is corrupt or was not written as "
                    + "safetensors. Text around the error: " + excerpt(json, e.getErrorOffset()), e);
        }
        if (!(root instanceof Map<?, ?> members)) {
            throw new SafeTensorsException(file, null, "header must be a JSON object, found a JSON "
                    + jsonType(root));
        }

        Map<String, String> metadata = Map.of();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<?, ?> member : members.entrySet()) {
            String name = (String) member.getKey();
            if (name.equals(METADATA_KEY)) {
                metadata = parseMetadata(file, member.getValue());
            } else {
                entries.add(parseEntry(file, name, member.getValue()));
            }
        }
        entries.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        checkLayout(file, entries, dataSize);
        return new SafeTensorsHeader(Collections.unmodifiableList(entries), metadata);
    }

    private static Map<String, String> parseMetadata(Path file, Object value) {
        if (!(value instanceof Map<?, ?> members)) {
            throw new SafeTensorsException(file, null, METADATA_KEY
                    + " must be a JSON object of string values, found a JSON " + jsonType(value));
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Map.Entry<?, ?> member : members.entrySet()) {
            if (!(member.getValue() instanceof String text)) {
                throw new SafeTensorsException(file, null, METADATA_KEY + " value for key \""
                        + member.getKey() + "\" must be a string, found a JSON " + jsonType(member.getValue()));
            }
            metadata.put((String) member.getKey(), text);
        }
        return Collections.unmodifiableMap(metadata);
    }

    private static Entry parseEntry(Path file, String name, Object value) {
        if (!(value instanceof Map<?, ?> fields)) {
            throw new SafeTensorsException(file, name, "header entry must be a JSON object with dtype, shape "
                    + "and data_offsets, found a JSON " + jsonType(value));
        }

        Object dtypeValue = require(file, name, fields, "dtype");
        if (!(dtypeValue instanceof String dtypeName)) {
            throw new SafeTensorsException(file, name, "dtype must be a string, found a JSON "
                    + jsonType(dtypeValue));
        }
        DType dtype = DType.byName(dtypeName);
        if (dtype == null) {
            throw new SafeTensorsException(file, name, "unknown dtype \"" + dtypeName + "\"; known dtypes are "
                    + DType.knownNames() + ", and this engine converts " + DType.CONVERTIBLE_NAMES
                    + " to float32");
        }

        long[] shapeValues = nonNegativeIntegers(file, name, "shape", require(file, name, fields, "shape"));
        int[] shape = new int[shapeValues.length];
        for (int k = 0; k < shape.length; k++) {
            if (shapeValues[k] > Integer.MAX_VALUE) {
                throw new SafeTensorsException(file, name, "shape " + Arrays.toString(shapeValues)
                        + " has a size larger than " + Integer.MAX_VALUE + ", the largest this engine supports");
            }
            shape[k] = (int) shapeValues[k];
        }

        long[] offsets = nonNegativeIntegers(file, name, "data_offsets",
                require(file, name, fields, "data_offsets"));
        if (offsets.length != 2) {
            throw new SafeTensorsException(file, name, "data_offsets must be [begin, end], found "
                    + offsets.length + " numbers " + Arrays.toString(offsets));
        }
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end) {
            throw new SafeTensorsException(file, name, "invalid data_offsets [" + begin + ", " + end
                    + "]: begin is after end");
        }

        long expectedBytes = byteLength(file, name, shape, dtype);
        if (expectedBytes != end - begin) {
            throw new SafeTensorsException(file, name, "shape " + Arrays.toString(shape) + " with dtype "
                    + dtype + " needs " + expectedBytes + " bytes, but data_offsets [" + begin + ", " + end
                    + "] span " + (end - begin) + " bytes; the shape, dtype or offsets are wrong");
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static Object require(Path file, String name, Map<?, ?> fields, String key) {
        Object value = fields.get(key);
        if (value == null) {
            throw new SafeTensorsException(file, name, "header entry is missing \"" + key
                    + "\"; each tensor needs dtype, shape and data_offsets");
        }
        return value;
    }

    private static long[] nonNegativeIntegers(Path file, String name, String key, Object value) {
        if (!(value instanceof List<?> list)) {
            throw new SafeTensorsException(file, name, key + " must be an array of non-negative integers, "
                    + "found a JSON " + jsonType(value));
        }
        long[] numbers = new long[list.size()];
        for (int i = 0; i < numbers.length; i++) {
            Object element = list.get(i);
            if (element instanceof Long number && number >= 0) {
                numbers[i] = number;
            } else if (element instanceof BigInteger big && big.signum() > 0) {
                throw new SafeTensorsException(file, name, key + " value " + big
                        + " is too large; the maximum is " + Long.MAX_VALUE);
            } else {
                throw new SafeTensorsException(file, name, key + " must be an array of non-negative integers, "
                        + "found " + element + " in " + list);
            }
        }
        return numbers;
    }

    private static long byteLength(Path file, String name, int[] shape, DType dtype) {
        try {
            long bytes = dtype.bytes;
            for (int size : shape) {
                bytes = Math.multiplyExact(bytes, size);
            }
            return bytes;
        } catch (ArithmeticException e) {
            throw new SafeTensorsException(file, name, "shape " + Arrays.toString(shape) + " with dtype "
                    + dtype + " needs more than " + Long.MAX_VALUE + " bytes");
        }
    }

    /**
     * Checks that the entries, sorted by offset, cover bytes [0, dataSize) of the data section exactly
     * once. Empty tensors take no bytes and may sit at any offset up to the end of the data section.
     */
    private static void checkLayout(Path file, List<Entry> entries, long dataSize) {
        Entry previous = null;
        long covered = 0;
        Entry firstAfterGap = null;
        long gapBegin = 0;
        for (Entry entry : entries) {
            if (entry.begin() == entry.end()) {
                continue;
            }
            if (entry.begin() < covered) {
                throw new SafeTensorsException(file, entry.name(), "data_offsets [" + entry.begin() + ", "
                        + entry.end() + "] overlap tensor '" + previous.name() + "' at [" + previous.begin() + ", "
                        + previous.end() + "]; each byte of the data section must belong to exactly one tensor");
            }
            if (entry.begin() > covered && firstAfterGap == null) {
                firstAfterGap = entry;
                gapBegin = covered;
            }
            covered = entry.end();
            previous = entry;
        }

        for (Entry entry : entries) {
            if (entry.end() <= dataSize) {
                continue;
            }
            if (firstAfterGap == null && entry.begin() < entry.end()) {
                // The offsets tile the data section from 0 without gaps, so the file lost its tail.
                throw new SafeTensorsException(file, entry.name(), "data is truncated: the tensor needs bytes ["
                        + entry.begin() + ", " + entry.end() + ") of the data section, but the data section ends at "
                        + dataSize + " bytes; the file is incomplete, so download or export it again");
            }
            throw new SafeTensorsException(file, entry.name(), "data_offsets [" + entry.begin() + ", "
                    + entry.end() + "] are out of range: the data section is " + dataSize + " bytes long");
        }

        if (firstAfterGap != null) {
            throw new SafeTensorsException(file, firstAfterGap.name(), "bytes [" + gapBegin + ", "
                    + firstAfterGap.begin() + ") of the data section before this tensor belong to no tensor; "
                    + "the format requires every byte of the data section to be referenced by a tensor");
        }
        if (covered < dataSize) {
            throw new SafeTensorsException(file, null, "the last " + (dataSize - covered)
                    + " bytes of the data section (from offset " + covered + ") belong to no tensor; "
                    + "the file has trailing bytes or a tensor is missing from the header");
        }
    }

    private static String jsonType(Object value) {
        if (value instanceof Map<?, ?>) {
            return "object";
        } else if (value instanceof List<?>) {
            return "array";
        } else if (value instanceof String) {
            return "string";
        } else if (value instanceof Boolean) {
            return "boolean";
        } else if (value == HeaderJson.NULL) {
            return "null";
        }
        return "number";
    }

    /** Returns up to 20 characters on each side of {@code offset}, with control characters escaped. */
    private static String excerpt(String json, int offset) {
        int from = Math.max(0, offset - 20);
        int to = Math.min(json.length(), offset + 20);
        StringBuilder out = new StringBuilder();
        for (int i = from; i < to; i++) {
            char c = json.charAt(i);
            if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
