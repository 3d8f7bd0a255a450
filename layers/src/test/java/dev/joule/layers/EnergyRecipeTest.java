package dev.joule.layers;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Checks which compositions are valid and the messages of the invalid ones. */
class EnergyRecipeTest {
    @Test
    void everyNamedEnergyRunsGdMomentumAndNesterov() {
        for (String e : EnergyRecipe.ENERGIES) {
            for (String o : List.of("gd", "momentum", "nesterov")) {
                EnergyRecipe r = EnergyRecipe.of(e, o);
                assertEquals(o, r.step().name());
                assertTrue(r.hasFastPath(), e + " has a fast path");
            }
        }
    }

    @Test
    void softmaxRunsEveryNewtonVariant() {
        for (String o : List.of("newton", "newton-diag", "newton-neumann")) {
            assertTrue(EnergyRecipe.of("softmax", o).step().usesCurvature());
        }
        assertEquals(EnergyRecipe.OPTIMIZERS, EnergyRecipe.optimizersFor("softmax"));
        assertEquals(List.of("gd", "momentum", "nesterov"), EnergyRecipe.optimizersFor("gated-linear"));
    }

    @Test
    void newtonOnLinearEnergiesRejected() {
        for (String e : List.of("linear", "gated-linear")) {
            for (String o : List.of("newton", "newton-diag", "newton-neumann")) {
                IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> EnergyRecipe.of(e, o));
                String m = ex.getMessage();
                assertTrue(m.contains("'" + e + "'"), m);
                assertTrue(m.contains("'" + o + "'"), m);
                assertTrue(m.contains("Hessian"), m);
                assertTrue(m.contains("strictly convex"), m);
                assertTrue(m.contains("softmax"), m);
                assertTrue(m.contains("gd, momentum or nesterov"), m);
            }
        }
        IllegalArgumentException custom = assertThrows(IllegalArgumentException.class, () -> EnergyRecipe.compose(
                LocalEnergy.bilinear(), GlobalEnergy.freeEnergy(1f, false), StepRule.newtonNeumann()));
        assertTrue(custom.getMessage().contains("bilinear"), custom.getMessage());
    }

    @Test
    void unknownNamesListTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EnergyRecipe.of("hopfield", "gd"));
        assertTrue(e.getMessage().contains("unknown energy 'hopfield'"), e.getMessage());
        assertTrue(e.getMessage().contains("softmax, linear, gated-linear"), e.getMessage());
        IllegalArgumentException o = assertThrows(IllegalArgumentException.class, () -> EnergyRecipe.of("softmax", "adam"));
        assertTrue(o.getMessage().contains("unknown optimizer 'adam'"), o.getMessage());
        assertTrue(o.getMessage().contains("newton-neumann"), o.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EnergyRecipe.of(null, "gd"));
    }

    @Test
    void badHyperparametersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> StepRule.momentum(1f, false));
        assertThrows(IllegalArgumentException.class, () -> StepRule.momentum(0f, true));
        assertThrows(IllegalArgumentException.class, () -> StepRule.newton(-1f, false));
        assertThrows(IllegalArgumentException.class, () -> StepRule.gd().withStepSize(0f));
        assertThrows(IllegalArgumentException.class, () -> GlobalEnergy.freeEnergy(0f, true));
    }
}
