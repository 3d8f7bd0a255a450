package dev.joule.engine.device;

import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;

/** Finds device backends on the class path through {@link ServiceLoader}. */
public final class Devices {
    private Devices() {}

    /** A parsed {@code --device} value: a backend name and a device index (0 when none is given). */
    public record Spec(String backend, int index) {
        /**
         * Parses {@code name} or {@code name:N}.
         *
         * @throws IllegalArgumentException if N is not a non-negative integer
         */
        public static Spec parse(String value) {
            int colon = value.indexOf(':');
            if (colon < 0) {
                return new Spec(value, 0);
            }
            String name = value.substring(0, colon);
            String n = value.substring(colon + 1);
            int index;
            try {
                index = Integer.parseInt(n);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("device index '" + n + "' in '" + value
                        + "' is not an integer; write " + name + ":N with N from 0", e);
            }
            if (index < 0) {
                throw new IllegalArgumentException("device index " + index + " in '" + value + "' is negative");
            }
            return new Spec(name, index);
        }
    }

    /** Returns every backend on the class path, in the order the service loader finds them. */
    public static List<DeviceProvider> providers() {
        List<DeviceProvider> out = new ArrayList<>();
        for (DeviceProvider p : ServiceLoader.load(DeviceProvider.class)) {
            out.add(p);
        }
        return out;
    }

    /** Returns the backend called {@code name}, or null when none on the class path has that name. */
    public static DeviceProvider provider(String name) {
        for (DeviceProvider p : providers()) {
            if (p.name().equals(name)) {
                return p;
            }
        }
        return null;
    }
}
