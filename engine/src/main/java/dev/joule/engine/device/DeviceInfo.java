package dev.joule.engine.device;

/**
 * The description a backend gives of one device.
 *
 * @param index position in {@link DeviceProvider#devices()}, the N of {@code --device opencl:N}
 * @param name the device's own name
 * @param vendor the device vendor
 * @param globalMemoryBytes device memory in bytes
 * @param computeUnits parallel compute units (cores or streaming multiprocessors)
 * @param platform the driver or platform that exposes the device, with its version
 */
public record DeviceInfo(int index, String name, String vendor, long globalMemoryBytes, int computeUnits,
                         String platform) {}
