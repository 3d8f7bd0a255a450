package dev.joule.models.compare;

import dev.joule.layers.EnergyRecipe;
import dev.joule.models.InvalidInputException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One attention recipe of a comparison: a named energy and a named optimizer.
 *
 * @param energy one of {@link EnergyRecipe#ENERGIES}
 * @param optimizer one of {@link EnergyRecipe#OPTIMIZERS}
 */
public record Variant(String energy, String optimizer) {
    /** Standard attention, which every comparison includes and measures the others against. */
    public static final Variant BASELINE = new Variant("softmax", "gd");

    /** Returns "energy-optimizer", the variant's directory name and label. */
    public String name() {
        return energy + "-" + optimizer;
    }

    public boolean isBaseline() {
        return equals(BASELINE);
    }

    /**
     * Returns the baseline followed by every valid pair of the given energies and optimizers, in the order
     * given (energies outer), without repeats.
     *
     * @throws InvalidInputException for an unknown name, or for a name that forms no valid pair with any
     *     name of the other list; the message is {@link EnergyRecipe}'s, which explains why and what works
     */
    public static List<Variant> expand(List<String> energies, List<String> optimizers) {
        for (String e : energies) {
            check(() -> EnergyRecipe.optimizersFor(e), "--energy " + e);
        }
        for (String o : optimizers) {
            check(() -> EnergyRecipe.of("softmax", o), "--optimizer " + o);
        }
        Set<Variant> out = new LinkedHashSet<>();
        out.add(BASELINE);
        for (String e : energies) {
            List<String> valid = EnergyRecipe.optimizersFor(e);
            List<String> kept = new ArrayList<>();
            for (String o : optimizers) {
                if (valid.contains(o)) {
                    kept.add(o);
                }
            }
            if (kept.isEmpty()) {
                // No optimizer of the list runs on this energy: report the first pair's reason.
                check(() -> EnergyRecipe.of(e, optimizers.get(0)), "--energy " + e + " --optimizer "
                        + optimizers.get(0));
            }
            for (String o : kept) {
                out.add(new Variant(e, o));
            }
        }
        for (String o : optimizers) {
            boolean used = out.stream().anyMatch(v -> v.optimizer().equals(o));
            if (!used) {
                check(() -> EnergyRecipe.of(energies.get(0), o), "--energy " + energies.get(0) + " --optimizer " + o);
            }
        }
        return List.copyOf(out);
    }

    private static void check(Runnable probe, String what) {
        try {
            probe.run();
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(what + ": " + e.getMessage(), e);
        }
    }
}
