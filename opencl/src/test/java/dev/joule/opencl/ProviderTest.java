package dev.joule.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.joule.engine.device.DeviceException;
import dev.joule.engine.device.DeviceInfo;
import dev.joule.engine.device.DeviceProvider;
import dev.joule.engine.device.DeviceUnavailableException;
import dev.joule.engine.device.Devices;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProviderTest {
    private static List<DeviceInfo> devicesOrFail(DeviceProvider p) {
        try {
            return p.devices();
        } catch (DeviceUnavailableException e) {
            return fail("no OpenCL platform: install pocl-opencl-icd and ocl-icd-opencl-dev (.ci/run does). "
                    + e.getMessage(), e);
        }
    }

    @Test
    void serviceLoaderFindsTheOpenClProvider() {
        DeviceProvider p = Devices.provider("opencl");
        assertTrue(p instanceof OpenClProvider, "ServiceLoader should find OpenClProvider, found " + p);
        List<DeviceInfo> devices = devicesOrFail(p);
        assertFalse(devices.isEmpty());
        for (int i = 0; i < devices.size(); i++) {
            DeviceInfo d = devices.get(i);
            assertEquals(i, d.index());
            assertFalse(d.name().isBlank());
            assertTrue(d.globalMemoryBytes() > 0, d.toString());
            assertTrue(d.computeUnits() > 0, d.toString());
        }
    }

    @Test
    void outOfRangeIndexNamesTheRange() {
        DeviceProvider p = new OpenClProvider();
        devicesOrFail(p);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.open(99));
        assertTrue(e.getMessage().contains("99"), e.getMessage());
        assertTrue(e.getMessage().contains("joule devices"), e.getMessage());
    }

    @Test
    void buildFailureNamesKernelAndDevice() {
        try (OpenClDevice dev = OpenClTestDevice.open()) {
            DeviceException e = assertThrows(DeviceException.class, () -> dev.buildProgram("broken.cl",
                    "__kernel void broken_kernel(__global float* x) { x[0] = undeclared_name; }"));
            String m = e.getMessage();
            assertTrue(m.contains("broken_kernel"), m);
            assertTrue(m.contains(dev.info().name()), m);
            assertTrue(m.contains("build log"), m);
            assertTrue(m.contains("undeclared_name"), m);
        }
    }

    @Test
    void buildLogKeepsSourceLineNumbers() {
        String layout = OpenClDevice.readSource(OpenClDevice.ATTENTION_LAYOUT);
        String broken = "__kernel void broken_kernel(__global float* x) {\n    x[0] = undeclared_name;\n}\n";
        try (OpenClDevice dev = OpenClTestDevice.open()) {
            DeviceException e = assertThrows(DeviceException.class, () -> dev.buildProgram("broken.cl",
                    OpenClDevice.prepend(OpenClDevice.ATTENTION_LAYOUT, layout, "broken.cl", broken)));
            String m = e.getMessage();
            assertTrue(m.contains("broken_kernel"), m);
            // The error is on line 2 of broken.cl, whatever the layout's length. pocl's clang writes positions
            // as file:line:column.
            assertTrue(m.contains("broken.cl:2:"), m);
        }
    }

    @Test
    void deviceSpecParses() {
        assertEquals(new Devices.Spec("opencl", 0), Devices.Spec.parse("opencl"));
        assertEquals(new Devices.Spec("opencl", 3), Devices.Spec.parse("opencl:3"));
        assertThrows(IllegalArgumentException.class, () -> Devices.Spec.parse("opencl:x"));
        assertThrows(IllegalArgumentException.class, () -> Devices.Spec.parse("opencl:-1"));
    }
}
