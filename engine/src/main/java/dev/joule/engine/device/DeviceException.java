package dev.joule.engine.device;

/**
 * A device failed at something it should be able to do: a kernel did not build or launch, a buffer
 * could not be allocated. The message names the kernel (or operation) and the device, and carries the
 * compiler's build log when there is one. Backends throw it instead of falling back to the CPU.
 */
public class DeviceException extends RuntimeException {
    public DeviceException(String message) {
        super(message);
    }

    public DeviceException(String message, Throwable cause) {
        super(message, cause);
    }
}
