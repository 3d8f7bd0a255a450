package dev.joule.layers;

import java.util.List;

/**
 * A validated composition of local energy, global energy and optimizer, which is what an
 * {@link EnergyAttention} layer runs.
 *
 * <p>Named energies: {@code softmax} is the shifted elastic energy under the free energy at T = 1;
 * {@code linear} the bilinear energy under the plain sum; {@code gated-linear} the bilinear energy
 * under the gated sum. Named optimizers: {@code gd}, {@code momentum}, {@code nesterov} (mu learned
 * per layer from {@link StepRule#DEFAULT_MU}), {@code newton} and {@code newton-diag} (bounded damping
 * with lambda0 = 0), {@code newton-neumann}.
 *
 * <p>Validity: every curvature-using optimizer needs a strictly convex local energy. The bilinear
 * energy is linear in z, so the Hessian of its sums is zero and F has no minimum to step towards.
 *
 * @param energy the energy's name, or "custom" for a composition built with {@link #compose}
 */
public record EnergyRecipe(String energy, LocalEnergy local, GlobalEnergy global, StepRule step) {
    /** The named energies, in the order the messages list them. */
    public static final List<String> ENERGIES = List.of("softmax", "linear", "gated-linear");

    /** The named optimizers, in the order the messages list them. */
    public static final List<String> OPTIMIZERS = List.of("gd", "momentum", "nesterov", "newton", "newton-diag",
            "newton-neumann");

    public EnergyRecipe {
        validate(energy, local, global, step);
    }

    /**
     * Returns the recipe for a named energy and optimizer.
     *
     * @throws IllegalArgumentException for an unknown name or a composition that cannot work, with a
     *     message that gives the reason and lists the pairs that work
     */
    public static EnergyRecipe of(String energyName, String optimizerName) {
        return new EnergyRecipe(energyName, localOf(energyName), globalOf(energyName), stepOf(optimizerName));
    }

    /** Returns a recipe for any composition, checked like the named ones. */
    public static EnergyRecipe compose(LocalEnergy local, GlobalEnergy global, StepRule step) {
        return new EnergyRecipe("custom", local, global, step);
    }

    /** Returns this recipe with another optimizer, validated again. */
    public EnergyRecipe withStep(StepRule rule) {
        return new EnergyRecipe(energy, local, global, rule);
    }

    /** Returns this recipe with another global energy (for example a learned temperature). */
    public EnergyRecipe withGlobal(GlobalEnergy g) {
        return new EnergyRecipe(energy, local, g, step);
    }

    /** True when a fused fast path exists: a named energy whose global energy was not replaced. */
    public boolean hasFastPath() {
        return switch (energy) {
            case "softmax" -> global.free();
            case "linear" -> global instanceof GlobalEnergy.Sum s && !s.gated();
            case "gated-linear" -> global instanceof GlobalEnergy.Sum s && s.gated();
            default -> false;
        };
    }

    /** Returns the named optimizers that run on the named energy. */
    public static List<String> optimizersFor(String energyName) {
        LocalEnergy local = localOf(energyName);
        return OPTIMIZERS.stream().filter(o -> local.strictlyConvex() || !stepOf(o).usesCurvature()).toList();
    }

    private static LocalEnergy localOf(String name) {
        return switch (checkName("energy", name, ENERGIES)) {
            case "softmax" -> LocalEnergy.shiftedElastic();
            default -> LocalEnergy.bilinear();
        };
    }

    private static GlobalEnergy globalOf(String name) {
        return switch (checkName("energy", name, ENERGIES)) {
            case "softmax" -> GlobalEnergy.freeEnergy(1f, false);
            case "linear" -> GlobalEnergy.sum();
            default -> GlobalEnergy.gatedSum();
        };
    }

    private static StepRule stepOf(String name) {
        return switch (checkName("optimizer", name, OPTIMIZERS)) {
            case "gd" -> StepRule.gd();
            case "momentum" -> StepRule.momentum(StepRule.DEFAULT_MU, true);
            case "nesterov" -> StepRule.nesterov(StepRule.DEFAULT_MU, true);
            case "newton" -> StepRule.newton(0f, true);
            case "newton-diag" -> StepRule.newtonDiag(0f, true);
            default -> StepRule.newtonNeumann();
        };
    }

    private static String checkName(String kind, String name, List<String> known) {
        if (name == null || !known.contains(name)) {
            throw new IllegalArgumentException("unknown " + kind + " '" + name + "'; known " + kind
                    + " names: " + String.join(", ", known));
        }
        return name;
    }

    private static void validate(String energy, LocalEnergy local, GlobalEnergy global, StepRule step) {
        if (local == null || global == null || step == null) {
            throw new IllegalArgumentException("a recipe needs a local energy, a global energy and an optimizer");
        }
        if (step.usesCurvature() && !local.strictlyConvex()) {
            String what = "custom".equals(energy) ? "the " + local.name() + " energy" : "energy '" + energy + "'";
            throw new IllegalArgumentException("optimizer '" + step.name() + "' cannot run on " + what
                    + ": its local energy is linear in z, so the Hessian of F in z is zero, F is not strictly"
                    + " convex and has no minimum for a Newton step to reach. Newton optimizers work with"
                    + " energies whose local energy is strictly convex, such as softmax; with " + what
                    + " use gd, momentum or nesterov");
        }
    }
}
