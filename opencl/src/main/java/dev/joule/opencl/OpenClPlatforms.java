package dev.joule.opencl;

import static org.jocl.CL.CL_DEVICE_GLOBAL_MEM_SIZE;
import static org.jocl.CL.CL_DEVICE_MAX_COMPUTE_UNITS;
import static org.jocl.CL.CL_DEVICE_NAME;
import static org.jocl.CL.CL_DEVICE_NOT_FOUND;
import static org.jocl.CL.CL_DEVICE_TYPE_ALL;
import static org.jocl.CL.CL_DEVICE_VENDOR;
import static org.jocl.CL.CL_PLATFORM_NAME;
import static org.jocl.CL.CL_PLATFORM_VERSION;

import dev.joule.engine.device.DeviceInfo;
import dev.joule.engine.device.DeviceUnavailableException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/** Enumerates OpenCL platforms and their devices through JOCL, and turns a missing driver into advice. */
final class OpenClPlatforms {
    /** The status the ICD loader returns when it finds no driver (cl_khr_icd's CL_PLATFORM_NOT_FOUND_KHR). */
    static final int PLATFORM_NOT_FOUND_KHR = -1001;

    /** Install advice for messages: an ICD loader plus one driver. */
    static final String INSTALL_HINT = "install an OpenCL driver (ICD) and the ICD loader: on Debian or Ubuntu"
            + " 'apt-get install pocl-opencl-icd ocl-icd-opencl-dev' for a CPU device, or your GPU vendor's"
            + " ICD (for example nvidia-opencl-icd, intel-opencl-icd, mesa-opencl-icd or AMD ROCm's"
            + " rocm-opencl-runtime); 'clinfo -l' should then list a platform";

    /** One device with the handles needed to open it. */
    record Entry(DeviceInfo info, cl_platform_id platform, cl_device_id device) {}

    private OpenClPlatforms() {}

    /**
     * Lists every device of every platform, platforms in the loader's order and devices in each
     * platform's order.
     *
     * @throws DeviceUnavailableException if the native library or the loader is missing, or no platform
     *     exposes a device
     */
    static List<Entry> list() {
        cl_platform_id[] platforms;
        try {
            CL.setExceptionsEnabled(true);
            int[] count = new int[1];
            CL.clGetPlatformIDs(0, null, count);
            platforms = new cl_platform_id[count[0]];
            if (count[0] > 0) {
                CL.clGetPlatformIDs(count[0], platforms, null);
            }
        } catch (CLException e) {
            if (e.getStatus() == PLATFORM_NOT_FOUND_KHR) {
                throw new DeviceUnavailableException("no OpenCL platform found (the ICD loader found no"
                        + " driver); " + INSTALL_HINT, e);
            }
            throw new DeviceUnavailableException("OpenCL is not usable here: " + e.getMessage() + "; "
                    + INSTALL_HINT, e);
        } catch (LinkageError e) {
            // UnsatisfiedLinkError or a failed static initializer: JOCL's JNI library or libOpenCL is missing.
            // NOTE: this branch has not run on a machine without libOpenCL; JOCL may report that case as a
            // CLException instead, which the branch above turns into the same advice.
            throw new DeviceUnavailableException("the OpenCL library could not be loaded (" + e.getMessage()
                    + "); " + INSTALL_HINT, e);
        }
        List<Entry> out = new ArrayList<>();
        for (cl_platform_id p : platforms) {
            String platformName = stringInfo(p, CL_PLATFORM_NAME) + " (" + stringInfo(p, CL_PLATFORM_VERSION) + ")";
            cl_device_id[] devices;
            try {
                int[] n = new int[1];
                CL.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, n);
                devices = new cl_device_id[n[0]];
                CL.clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, n[0], devices, null);
            } catch (CLException e) {
                if (e.getStatus() == CL_DEVICE_NOT_FOUND) {
                    continue;
                }
                throw new DeviceUnavailableException("OpenCL platform " + platformName + " failed to list its"
                        + " devices: " + e.getMessage(), e);
            }
            for (cl_device_id d : devices) {
                DeviceInfo info = new DeviceInfo(out.size(), stringInfo(d, CL_DEVICE_NAME),
                        stringInfo(d, CL_DEVICE_VENDOR), longInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE),
                        intInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS), platformName);
                out.add(new Entry(info, p, d));
            }
        }
        if (out.isEmpty()) {
            throw new DeviceUnavailableException(platforms.length + " OpenCL platform(s) found but no device;"
                    + " " + INSTALL_HINT);
        }
        return out;
    }

    static String stringInfo(cl_platform_id p, int param) {
        long[] size = new long[1];
        CL.clGetPlatformInfo(p, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        CL.clGetPlatformInfo(p, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    static String stringInfo(cl_device_id d, int param) {
        long[] size = new long[1];
        CL.clGetDeviceInfo(d, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        CL.clGetDeviceInfo(d, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    static long longInfo(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    static int intInfo(cl_device_id d, int param) {
        int[] v = new int[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0];
    }

    /** size_t queries: 8 bytes on the 64-bit hosts JOCL ships for. */
    static long sizeInfo(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }

    private static String cString(byte[] buf) {
        int n = 0;
        while (n < buf.length && buf[n] != 0) {
            n++;
        }
        return new String(buf, 0, n, StandardCharsets.UTF_8).trim();
    }
}
