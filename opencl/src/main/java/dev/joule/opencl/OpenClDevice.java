package dev.joule.opencl;

import static org.jocl.CL.CL_CONTEXT_PLATFORM;
import static org.jocl.CL.CL_DEVICE_MAX_WORK_GROUP_SIZE;
import static org.jocl.CL.CL_DEVICE_MEM_BASE_ADDR_ALIGN;
import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.CL_PROGRAM_BUILD_LOG;
import static org.jocl.CL.CL_TRUE;

import dev.joule.engine.device.Device;
import dev.joule.engine.device.DeviceException;
import dev.joule.engine.device.DeviceInfo;
import dev.joule.engine.device.GptShape;
import dev.joule.engine.device.GptStepper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_buffer_region;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

/**
 * One OpenCL device with its context, an in-order command queue, the built kernels and the buffers
 * allocated through it. Not thread-safe: kernel arguments are set on shared kernel objects, so one
 * thread drives a device at a time.
 *
 * <p>Every failure of a build, an allocation or a launch becomes a {@link DeviceException} that names
 * the kernel or operation and the device; nothing falls back to the CPU.
 */
final class OpenClDevice implements Device {
    /** The kernel sources, resources under dev/joule/opencl/kernels. */
    static final List<String> SOURCES = List.of("matmul.cl", "elementwise.cl", "grad_norm.cl", "layernorm.cl",
            "embedding.cl", "attention.cl", "linear_attention.cl", "crossentropy.cl", "momentum.cl", "newton.cl");

    /** Helper functions without kernels, compiled in front of each source in {@link #USES_ATTENTION_LAYOUT}. */
    static final String ATTENTION_LAYOUT = "attention_layout.cl";

    private static final Set<String> USES_ATTENTION_LAYOUT =
            Set.of("attention.cl", "linear_attention.cl", "newton.cl");

    /** The matmul tiles are 16 x 16 work items, the largest work-group any kernel here needs. */
    static final int REQUIRED_WORK_GROUP = 256;

    private static final Pattern KERNEL_NAME = Pattern.compile("__kernel\\s+void\\s+(\\w+)");

    private final DeviceInfo info;
    private final cl_device_id device;
    private final cl_context context;
    private final cl_command_queue queue;
    private final List<cl_program> programs = new ArrayList<>();
    private final Map<String, cl_kernel> kernels = new LinkedHashMap<>();
    private final List<cl_mem> buffers = new ArrayList<>();
    private final int alignBytes;
    private long allocatedBytes;
    private boolean closed;

    @SuppressWarnings("deprecation")
    OpenClDevice(OpenClPlatforms.Entry entry) {
        this.info = entry.info();
        this.device = entry.device();
        try {
            long maxGroup = OpenClPlatforms.sizeInfo(device, CL_DEVICE_MAX_WORK_GROUP_SIZE);
            if (maxGroup < REQUIRED_WORK_GROUP) {
                throw new DeviceException("OpenCL device " + describe() + " allows work-groups of " + maxGroup
                        + " items, but the matmul kernel needs " + REQUIRED_WORK_GROUP + "; choose another device");
            }
            // CL_DEVICE_MEM_BASE_ADDR_ALIGN is in bits; sub-buffer origins must be multiples of it.
            this.alignBytes = Math.max(64, OpenClPlatforms.intInfo(device, CL_DEVICE_MEM_BASE_ADDR_ALIGN) / 8);
            cl_context_properties props = new cl_context_properties();
            props.addProperty(CL_CONTEXT_PLATFORM, entry.platform());
            this.context = CL.clCreateContext(props, 1, new cl_device_id[] {device}, null, null, null);
            // clCreateCommandQueue is deprecated in OpenCL 2.0 but is the one call every 1.2 to 3.0 driver has.
            this.queue = CL.clCreateCommandQueue(context, device, 0, null);
        } catch (CLException e) {
            throw new DeviceException("failed to open OpenCL device " + describe() + ": " + e.getMessage(), e);
        }
        try {
            for (String file : SOURCES) {
                buildProgram(file, programSource(file));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public DeviceInfo info() {
        return info;
    }

    /** Returns "name [platform]" for messages. */
    String describe() {
        return "'" + info.name() + "' [" + info.platform() + "]";
    }

    int alignBytes() {
        return alignBytes;
    }

    long allocatedBytes() {
        return allocatedBytes;
    }

    @Override
    public GptStepper gptStepper(GptShape shape, Map<String, float[]> weights) {
        return new OpenClGptStepper(this, shape, weights);
    }

    static String readSource(String file) {
        String path = "kernels/" + file;
        try (InputStream in = OpenClDevice.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new DeviceException("kernel source " + path + " is missing from the joule-opencl jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DeviceException("failed to read kernel source " + path + ": " + e.getMessage(), e);
        }
    }

    /** Returns the text to compile for kernel source {@code file}, with the helpers it uses in front. */
    static String programSource(String file) {
        String source = readSource(file);
        if (!USES_ATTENTION_LAYOUT.contains(file)) {
            return source;
        }
        return prepend(ATTENTION_LAYOUT, readSource(ATTENTION_LAYOUT), file, source);
    }

    /**
     * Joins a helper source and a kernel source into one program text. A {@code #line} directive in front
     * of each part makes the compiler's build log give every position as file and line of that part.
     */
    static String prepend(String helperFile, String helper, String file, String source) {
        return "#line 1 \"" + helperFile + "\"\n" + helper + "\n#line 1 \"" + file + "\"\n" + source;
    }

    /**
     * Compiles one source file for this device and registers its kernels by name.
     *
     * @throws DeviceException naming the file, its kernels and the device, with the compiler's build log
     */
    void buildProgram(String file, String source) {
        List<String> names = new ArrayList<>();
        Matcher m = KERNEL_NAME.matcher(source);
        while (m.find()) {
            names.add(m.group(1));
        }
        cl_program program;
        try {
            program = CL.clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
        } catch (CLException e) {
            throw new DeviceException("failed to create OpenCL program " + file + " (kernels " + names + ") on "
                    + describe() + ": " + e.getMessage(), e);
        }
        programs.add(program);
        try {
            CL.clBuildProgram(program, 1, new cl_device_id[] {device}, "-cl-std=CL1.2", null, null);
        } catch (CLException e) {
            throw new DeviceException("OpenCL kernels " + names + " in " + file + " failed to build on "
                    + describe() + " (" + CL.stringFor_errorCode(e.getStatus()) + "); build log:\n"
                    + buildLog(program), e);
        }
        for (String name : names) {
            try {
                kernels.put(name, CL.clCreateKernel(program, name, null));
            } catch (CLException e) {
                throw new DeviceException("OpenCL kernel '" + name + "' in " + file + " could not be created on "
                        + describe() + ": " + e.getMessage() + "; build log:\n" + buildLog(program), e);
            }
        }
    }

    private String buildLog(cl_program program) {
        try {
            long[] size = new long[1];
            CL.clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] log = new byte[(int) size[0]];
            CL.clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, log.length, Pointer.to(log), null);
            int n = log.length;
            while (n > 0 && log[n - 1] == 0) {
                n--;
            }
            return new String(log, 0, n, StandardCharsets.UTF_8);
        } catch (CLException e) {
            return "(the build log could not be read: " + e.getMessage() + ")";
        }
    }

    /** Allocates {@code bytes} of device memory; {@code what} names the buffer in error messages. */
    cl_mem buffer(long bytes, String what) {
        try {
            cl_mem mem = CL.clCreateBuffer(context, CL_MEM_READ_WRITE, Math.max(bytes, 4), null, null);
            buffers.add(mem);
            allocatedBytes += Math.max(bytes, 4);
            return mem;
        } catch (CLException e) {
            throw new DeviceException("failed to allocate " + bytes + " bytes for " + what + " on " + describe()
                    + " (" + allocatedBytes + " bytes already allocated): " + e.getMessage(), e);
        }
    }

    /** Returns a view of {@code bytes} bytes of {@code parent} from {@code origin}, a multiple of {@link #alignBytes()}. */
    cl_mem subBuffer(cl_mem parent, long origin, long bytes, String what) {
        try {
            cl_mem mem = CL.clCreateSubBuffer(parent, CL_MEM_READ_WRITE, CL.CL_BUFFER_CREATE_TYPE_REGION,
                    new cl_buffer_region(origin, bytes), null);
            buffers.add(mem);
            return mem;
        } catch (CLException e) {
            throw new DeviceException("failed to create the sub-buffer for " + what + " on " + describe() + ": "
                    + e.getMessage(), e);
        }
    }

    int bufferCount() {
        return buffers.size();
    }

    /** Returns the buffers allocated since {@link #bufferCount()} returned {@code mark}, oldest first. */
    List<cl_mem> buffersSince(int mark) {
        return List.copyOf(buffers.subList(mark, buffers.size()));
    }

    /** Subtracts released bytes from the running total. */
    void forget(long bytes) {
        allocatedBytes -= bytes;
    }

    /** Releases a buffer this device allocated. */
    void release(cl_mem mem) {
        if (buffers.remove(mem)) {
            CL.clReleaseMemObject(mem);
        }
    }

    void write(cl_mem mem, float[] data, String what) {
        write(mem, 0, Pointer.to(data), (long) data.length * Sizeof.cl_float, what);
    }

    void write(cl_mem mem, int[] data, String what) {
        write(mem, 0, Pointer.to(data), (long) data.length * Sizeof.cl_int, what);
    }

    /** Blocking write: JOCL may only hand a Java array to the driver for the duration of the call. */
    void write(cl_mem mem, long offsetBytes, Pointer src, long bytes, String what) {
        if (bytes == 0) {
            return;
        }
        try {
            CL.clEnqueueWriteBuffer(queue, mem, CL_TRUE, offsetBytes, bytes, src, 0, null, null);
        } catch (CLException e) {
            throw new DeviceException("failed to upload " + what + " to " + describe() + ": " + e.getMessage(), e);
        }
    }

    /** Blocking read of {@code out.length} floats from {@code offsetFloats}. */
    void read(cl_mem mem, long offsetFloats, float[] out, String what) {
        if (out.length == 0) {
            return;
        }
        try {
            CL.clEnqueueReadBuffer(queue, mem, CL_TRUE, offsetFloats * Sizeof.cl_float,
                    (long) out.length * Sizeof.cl_float, Pointer.to(out), 0, null, null);
        } catch (CLException e) {
            throw new DeviceException("failed to read " + what + " back from " + describe()
                    + " (a kernel queued before it may have failed): " + e.getMessage(), e);
        }
    }

    /** Sets {@code bytes} bytes of {@code mem} to zero. */
    void zero(cl_mem mem, long bytes, String what) {
        try {
            CL.clEnqueueFillBuffer(queue, mem, Pointer.to(new float[] {0f}), Sizeof.cl_float, 0, bytes, 0, null, null);
        } catch (CLException e) {
            throw new DeviceException("failed to clear " + what + " on " + describe() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Queues kernel {@code name} over a 1- or 2-dimensional range. Arguments are {@link cl_mem},
     * {@link Integer} or {@link Float}, in the kernel's order.
     *
     * @param local the work-group size, or null to let the driver choose
     */
    void launch(String name, long[] global, long[] local, Object... args) {
        cl_kernel kernel = kernels.get(name);
        if (kernel == null) {
            throw new DeviceException("no OpenCL kernel named '" + name + "' was built on " + describe());
        }
        try {
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                switch (a) {
                    case cl_mem mem -> CL.clSetKernelArg(kernel, i, Sizeof.cl_mem, Pointer.to(mem));
                    case Integer v -> CL.clSetKernelArg(kernel, i, Sizeof.cl_int, Pointer.to(new int[] {v}));
                    case Float v -> CL.clSetKernelArg(kernel, i, Sizeof.cl_float, Pointer.to(new float[] {v}));
                    default -> throw new IllegalArgumentException("kernel argument " + i + " of " + name
                            + " has unsupported type " + a.getClass().getName());
                }
            }
            CL.clEnqueueNDRangeKernel(queue, kernel, global.length, null, global, local, 0, null, null);
        } catch (CLException e) {
            throw new DeviceException("OpenCL kernel '" + name + "' failed to launch on " + describe()
                    + " with global size " + java.util.Arrays.toString(global) + ": " + e.getMessage(), e);
        }
    }

    /** Waits for every queued command; {@code what} names the work in the error message. */
    void finish(String what) {
        try {
            CL.clFinish(queue);
        } catch (CLException e) {
            throw new DeviceException("OpenCL device " + describe() + " failed while running " + what + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // Sub-buffers were added after their parents; release in reverse so views go first.
        for (int i = buffers.size() - 1; i >= 0; i--) {
            CL.clReleaseMemObject(buffers.get(i));
        }
        buffers.clear();
        for (cl_kernel k : kernels.values()) {
            CL.clReleaseKernel(k);
        }
        kernels.clear();
        for (cl_program p : programs) {
            CL.clReleaseProgram(p);
        }
        programs.clear();
        if (queue != null) {
            CL.clReleaseCommandQueue(queue);
        }
        if (context != null) {
            CL.clReleaseContext(context);
        }
    }
}
