package dev.joule.engine.io;

import java.nio.file.Path;

/**
 * A safetensors file that is malformed, uses a dtype this engine cannot convert, or lacks a
 * requested tensor.
 *
 * <p>This exception is unchecked so that model loaders can let it propagate without wrapping. Failures
 * of the file system itself (file not found, permission denied, disk full) are reported separately as
 * {@link java.io.IOException}. The message names the file, the tensor where one is involved, the
 * problem and, where one exists, the fix.
 */
public final class SafeTensorsException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final String tensorName;

    SafeTensorsException(Path file, String tensorName, String problem) {
        this(file, tensorName, problem, null);
    }

    SafeTensorsException(Path file, String tensorName, String problem, Throwable cause) {
        super(format(file, tensorName, problem), cause);
        this.file = file;
        this.tensorName = tensorName;
    }

    private static String format(Path file, String tensorName, String problem) {
        String where = tensorName == null ? file.toString() : file + ": tensor '" + tensorName + "'";
        return where + ": " + problem;
    }

    /** Returns the file that failed to load. */
    public Path file() {
        return file;
    }

    /** Returns the name of the tensor involved, or null when the problem concerns the whole file. */
    public String tensorName() {
        return tensorName;
    }
}
