package dev.joule.engine.device;

/**
 * A backend cannot run on this machine at all: its native runtime, driver or platform is missing. The
 * message names what to install (for OpenCL on Debian, for example, {@code pocl-opencl-icd} for a CPU
 * device or the GPU vendor's ICD package).
 */
public class DeviceUnavailableException extends RuntimeException {
    public DeviceUnavailableException(String message) {
        super(message);
    }

    public DeviceUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
