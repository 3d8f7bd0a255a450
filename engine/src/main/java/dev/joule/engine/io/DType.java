package dev.joule.engine.io;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Safetensors element types with a known element size, so that the layout of a file can be checked even
 * where its elements cannot be converted to float32.
 */
// NOTE: newer safetensors versions define more dtypes, such as sub-byte floats. Files that use them are
// rejected as "unknown dtype" until those dtypes are added here with their sizes.
enum DType {
    BOOL(1),
    U8(1),
    I8(1),
    F8_E5M2(1),
    F8_E4M3(1),
    I16(2),
    U16(2),
    F16(2),
    BF16(2),
    I32(4),
    U32(4),
    F32(4),
    F64(8),
    I64(8),
    U64(8);

    /** Supported dtypes as listed in error messages. */
    static final String CONVERTIBLE_NAMES = "F32, F16, BF16";

    /** Element size in bytes. */
    final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Returns whether {@link SafeTensorsFile#get} can convert elements of this type to float32. */
    boolean isConvertible() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** Returns the dtype with this exact safetensors name, or null if the name is not known. */
    static DType byName(String name) {
        for (DType type : values()) {
            if (type.name().equals(name)) {
                return type;
            }
        }
        return null;
    }

    static String knownNames() {
        return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
    }
}
