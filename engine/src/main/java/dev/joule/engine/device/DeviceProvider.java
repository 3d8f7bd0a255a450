package dev.joule.engine.device;

import java.util.List;

/**
 * A compute backend found through {@link java.util.ServiceLoader}: an implementation lives in its own
 * module (OpenCL today, perhaps TornadoVM later), registers itself under
 * {@code META-INF/services/dev.joule.engine.device.DeviceProvider}, and the engine never depends on it.
 *
 * <p>Implementations must keep their own types (JOCL handles, driver enums) out of this interface, so
 * that the application can switch backends by name alone.
 */
public interface DeviceProvider {
    /** Returns the name users pass to {@code --device}, for example {@code opencl}. */
    String name();

    /**
     * Lists the devices this backend can open, in a stable order whose positions are the indexes that
     * {@link #open(int)} takes.
     *
     * @throws DeviceUnavailableException if the runtime, driver or platform is missing; its message names
     *     what to install
     */
    List<DeviceInfo> devices();

    /**
     * Opens device {@code index} of {@link #devices()}.
     *
     * @throws DeviceUnavailableException if the driver is missing
     * @throws IllegalArgumentException if {@code index} is out of range; the message lists the range
     * @throws DeviceException if the device refuses to open
     */
    Device open(int index);
}
