package dev.joule.engine.kernels;

import java.lang.System.Logger.Level;

/**
 * Decides once per process whether kernels use the Vector API or their scalar twins.
 *
 * <p>The Vector API lives in the incubator module {@code jdk.incubator.vector}, which the JVM loads
 * only when started with {@code --add-modules jdk.incubator.vector}. This class checks for the module
 * before any class that touches {@code FloatVector} is loaded, so a JVM without the flag gets one
 * warning and the scalar kernels, never a {@code NoClassDefFoundError}.
 *
 * <p>System properties (read once):
 * <ul>
 *   <li>{@code joule.scalar=true} forces the scalar kernels even when the module is present.</li>
 * </ul>
 */
public final class Simd {
    private static final System.Logger LOG = System.getLogger("dev.joule.engine");
    private static final boolean MODULE_PRESENT =
            ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    private static final boolean FORCED_SCALAR = Boolean.getBoolean("joule.scalar");
    private static volatile boolean enabled = MODULE_PRESENT && !FORCED_SCALAR;
    private static volatile boolean reported;

    private Simd() {}

    /** Returns true when kernels should take their Vector API path. */
    public static boolean enabled() {
        return enabled;
    }

    /** Returns true when the incubator module is loaded, whatever the scalar setting. */
    public static boolean available() {
        return MODULE_PRESENT;
    }

    /**
     * Switches between the Vector API and the scalar kernels at run time. Tests use it to compare the
     * two paths in one JVM.
     *
     * @throws IllegalStateException if {@code on} is true but the incubator module is not loaded
     */
    public static void setEnabled(boolean on) {
        if (on && !MODULE_PRESENT) {
            throw new IllegalStateException(
                    "the Vector API is not available: start the JVM with --add-modules jdk.incubator.vector");
        }
        enabled = on;
    }

    /** Returns a one-line description of the vector species in use, or "scalar" and why. */
    public static String describe() {
        if (!MODULE_PRESENT) {
            return "scalar (jdk.incubator.vector not loaded)";
        }
        if (!enabled) {
            return "scalar (forced by joule.scalar=true or Simd.setEnabled)";
        }
        return VectorInfo.describe();
    }

    /**
     * Logs, once per process, the JDK version, the vector species and the thread count. When the
     * incubator module is missing, the line is a warning that names the flag to add.
     */
    public static void reportOnce() {
        if (reported) {
            return;
        }
        reported = true;
        String line = "Joule on JDK " + Runtime.version() + ", kernels: " + describe()
                + ", threads: " + Parallel.threads();
        if (!MODULE_PRESENT) {
            LOG.log(Level.WARNING, line + ". Add --add-modules jdk.incubator.vector to the JVM options"
                    + " for the SIMD kernels. The scalar kernels are slower, and their results agree with the SIMD ones to"
                    + " about 1e-5 rather than bit for bit.");
        } else {
            LOG.log(Level.INFO, line);
        }
    }

    /** Isolates the Vector API classes so that they load only when the module is present. */
    private static final class VectorInfo {
        static String describe() {
            var species = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
            return "Vector API, " + species.vectorBitSize() + "-bit, " + species.length() + " float lanes";
        }
    }
}
