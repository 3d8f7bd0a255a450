package dev.joule.models.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.joule.engine.device.DeviceInfo;
import dev.joule.engine.device.DeviceProvider;
import dev.joule.engine.device.DeviceUnavailableException;
import dev.joule.engine.device.Devices;
import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code joule devices}: lists the compute devices {@code --device} can name. The CPU is always there;
 * each backend on the class path (OpenCL today) lists its platforms' devices, or reports why it has none
 * and what to install. A backend without devices is a finding, not an error: the command exits 0.
 */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the devices that --device can use (cpu, opencl:N) and what to install when none is found.")
final class DevicesCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--json", description = "Print a JSON summary as the last line of standard output.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        JsonObject summary = new JsonObject();
        summary.addProperty("command", "devices");
        JsonArray all = new JsonArray();

        out.printf(Locale.ROOT, "cpu            %d threads (Java Vector API kernels)%n",
                Runtime.getRuntime().availableProcessors());
        JsonObject cpu = new JsonObject();
        cpu.addProperty("device", "cpu");
        all.add(cpu);

        List<DeviceProvider> providers = Devices.providers();
        if (providers.isEmpty()) {
            out.println("no device backend on the class path: this build has the CPU only (the joule-opencl jar"
                    + " adds OpenCL)");
        }
        for (DeviceProvider p : providers) {
            List<DeviceInfo> devices;
            try {
                devices = p.devices();
            } catch (DeviceUnavailableException e) {
                out.println(p.name() + ": no device: " + e.getMessage());
                JsonObject none = new JsonObject();
                none.addProperty("backend", p.name());
                none.addProperty("error", e.getMessage());
                all.add(none);
                continue;
            }
            for (DeviceInfo d : devices) {
                String id = p.name() + ":" + d.index();
                out.printf(Locale.ROOT, "%-14s %s, %s, %d compute units, %.1f GiB, platform %s%n", id, d.name(),
                        d.vendor(), d.computeUnits(), d.globalMemoryBytes() / (double) (1L << 30), d.platform());
                JsonObject o = new JsonObject();
                o.addProperty("device", id);
                o.addProperty("name", d.name());
                o.addProperty("vendor", d.vendor());
                o.addProperty("compute_units", d.computeUnits());
                o.addProperty("global_memory_bytes", d.globalMemoryBytes());
                o.addProperty("platform", d.platform());
                all.add(o);
            }
        }

        if (json) {
            summary.add("devices", all);
            out.println(summary);
        }
        out.flush();
        return Main.EXIT_OK;
    }
}
