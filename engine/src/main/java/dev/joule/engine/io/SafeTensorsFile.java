package dev.joule.engine.io;

import dev.joule.engine.Tensor;
import dev.joule.engine.io.SafeTensorsHeader.Entry;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * An open safetensors file whose header has been validated and whose data section is memory-mapped.
 *
 * <p>Tensors are copied out of the mapping on each {@link #get} call, so a returned tensor stays valid
 * after {@link #close()}. The data section is one mapped segment addressed with 64-bit offsets, so files
 * over 2 GiB need no special handling. Instances are safe to share between threads, but {@code close}
 * must not run while another thread is inside {@code get}.
 */
public final class SafeTensorsFile implements AutoCloseable {
    private static final ValueLayout.OfFloat F32_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16_LE =
            ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Largest element count of one Java array on common JVMs. */
    private static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private final Path file;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;
    private final Arena arena;
    private final MemorySegment data;
    private volatile boolean closed;

    SafeTensorsFile(Path file, SafeTensorsHeader header, Arena arena, MemorySegment data) {
        this.file = file;
        Map<String, Entry> byName = new LinkedHashMap<>();
        for (Entry entry : header.entries) {
            byName.put(entry.name(), entry);
        }
        this.entries = Collections.unmodifiableMap(byName);
        this.metadata = header.metadata;
        this.arena = arena;
        this.data = data;
    }

    /** Returns the path this file was read from. */
    public Path file() {
        return file;
    }

    /** Returns the tensor names, ordered by their position in the data section. */
    public Set<String> names() {
        return entries.keySet();
    }

    /** Returns the shape of a tensor as stored in the header. */
    public int[] shape(String name) {
        return entry(name).shape().clone();
    }

    /** Returns the safetensors dtype name of a tensor, such as {@code "F32"} or {@code "BF16"}. */
    public String dtype(String name) {
        return entry(name).dtype().name();
    }

    /** Returns the string pairs of the header's {@code __metadata__} object, empty when it has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * Copies a tensor into a new contiguous float32 tensor. F32 elements are copied bit for bit. F16 and
     * BF16 elements are widened exactly, keeping subnormals, infinities and NaN.
     *
     * @throws SafeTensorsException if the file has no such tensor, its dtype cannot be converted, or it
     *     has more elements than one Java array can hold
     * @throws IllegalStateException if this file has been closed
     */
    public Tensor get(String name) {
        Entry entry = entry(name);
        if (!entry.dtype().isConvertible()) {
            throw new SafeTensorsException(file, name, "dtype " + entry.dtype() + " cannot be converted to "
                    + "float32; supported dtypes are " + DType.CONVERTIBLE_NAMES);
        }
        long numel = entry.numel();
        if (numel > MAX_ARRAY_LENGTH) {
            throw new SafeTensorsException(file, name, "shape " + Arrays.toString(entry.shape()) + " has "
                    + numel + " elements, more than one Java array can hold");
        }
        if (closed) {
            throw new IllegalStateException(file + " is closed; read it again to access tensor '" + name + "'");
        }

        float[] values = new float[(int) numel];
        long begin = entry.begin();
        switch (entry.dtype()) {
            case F32 -> MemorySegment.copy(data, F32_LE, begin, values, 0, values.length);
            case F16 -> {
                for (int i = 0; i < values.length; i++) {
                    values[i] = Float.float16ToFloat(data.get(U16_LE, begin + 2L * i));
                }
            }
            case BF16 -> {
                // bfloat16 is the upper half of a float32, so widening is a 16-bit shift.
                for (int i = 0; i < values.length; i++) {
                    int bits = data.get(U16_LE, begin + 2L * i) & 0xFFFF;
                    values[i] = Float.intBitsToFloat(bits << 16);
                }
            }
            default -> throw new AssertionError("unhandled convertible dtype " + entry.dtype());
        }
        return Tensor.of(values, entry.shape().clone());
    }

    /**
     * Copies every tensor, in {@link #names()} order, into new float32 tensors.
     *
     * @throws SafeTensorsException if any tensor cannot be converted; see {@link #get}
     */
    public Map<String, Tensor> readAll() {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (String name : entries.keySet()) {
            tensors.put(name, get(name));
        }
        return tensors;
    }

    /** Unmaps the data section. Calling it again has no effect. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        arena.close();
    }

    private Entry entry(String name) {
        Entry entry = entries.get(name);
        if (entry == null) {
            throw new SafeTensorsException(file, name, "not found; the file contains " + entries.size()
                    + " tensors" + namesExcerpt());
        }
        return entry;
    }

    private String namesExcerpt() {
        if (entries.isEmpty()) {
            return "";
        }
        int listedCount = Math.min(entries.size(), 10);
        String listed = String.join(", ", entries.keySet().stream().limit(listedCount).toList());
        return ", including " + listed + (listedCount < entries.size() ? ", ..." : "");
    }
}
