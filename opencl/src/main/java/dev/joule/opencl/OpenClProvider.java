package dev.joule.opencl;

import dev.joule.engine.device.Device;
import dev.joule.engine.device.DeviceInfo;
import dev.joule.engine.device.DeviceProvider;
import java.util.ArrayList;
import java.util.List;

/**
 * The OpenCL backend, registered for {@link java.util.ServiceLoader} under the name {@code opencl}.
 * Device N is the N-th device over all platforms, in the ICD loader's order.
 */
public final class OpenClProvider implements DeviceProvider {
    @Override
    public String name() {
        return "opencl";
    }

    @Override
    public List<DeviceInfo> devices() {
        List<DeviceInfo> out = new ArrayList<>();
        for (OpenClPlatforms.Entry e : OpenClPlatforms.list()) {
            out.add(e.info());
        }
        return out;
    }

    @Override
    public Device open(int index) {
        List<OpenClPlatforms.Entry> all = OpenClPlatforms.list();
        if (index < 0 || index >= all.size()) {
            throw new IllegalArgumentException("there is no OpenCL device " + index + "; this machine has "
                    + all.size() + " (indexes 0 to " + (all.size() - 1) + "), see 'joule devices'");
        }
        return new OpenClDevice(all.get(index));
    }
}
