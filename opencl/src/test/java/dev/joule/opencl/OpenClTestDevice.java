package dev.joule.opencl;

import static org.junit.jupiter.api.Assertions.fail;

import dev.joule.engine.device.DeviceUnavailableException;
import java.util.List;
import org.jocl.Sizeof;
import org.jocl.cl_mem;

/**
 * Opens OpenCL device 0 for the tests. A machine without an OpenCL platform fails the tests with what
 * to install, rather than skipping them: .ci/run installs pocl, so a missing platform is a broken setup.
 */
final class OpenClTestDevice {
    private OpenClTestDevice() {}

    static OpenClDevice open() {
        List<OpenClPlatforms.Entry> entries;
        try {
            entries = OpenClPlatforms.list();
        } catch (DeviceUnavailableException e) {
            return fail("the OpenCL tests need an OpenCL platform: install pocl-opencl-icd and"
                    + " ocl-icd-opencl-dev (Debian; .ci/run does this) and rerun. Cause: " + e.getMessage(), e);
        }
        return new OpenClDevice(entries.get(0));
    }

    static cl_mem upload(OpenClDevice dev, float[] data) {
        cl_mem m = dev.buffer((long) Math.max(1, data.length) * Sizeof.cl_float, "test data");
        dev.write(m, data, "test data");
        return m;
    }

    static cl_mem upload(OpenClDevice dev, int[] data) {
        cl_mem m = dev.buffer((long) Math.max(1, data.length) * Sizeof.cl_int, "test ids");
        dev.write(m, data, "test ids");
        return m;
    }

    static float[] download(OpenClDevice dev, cl_mem m, int n) {
        float[] out = new float[n];
        dev.read(m, 0, out, "test result");
        return out;
    }
}
