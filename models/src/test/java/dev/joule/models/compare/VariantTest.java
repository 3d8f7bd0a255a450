package dev.joule.models.compare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.models.InvalidInputException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Expansion of energy and optimizer lists into variants. */
class VariantTest {
    @Test
    void expandKeepsValidPairsAndPutsBaselineFirst() {
        List<Variant> v = Variant.expand(List.of("linear", "softmax"), List.of("momentum", "newton"));
        assertEquals(List.of(Variant.BASELINE, new Variant("linear", "momentum"), new Variant("softmax", "momentum"),
                new Variant("softmax", "newton")), v);
    }

    @Test
    void baselineIsNotRepeated() {
        assertEquals(List.of(Variant.BASELINE), Variant.expand(List.of("softmax"), List.of("gd")));
    }

    @Test
    void energyWithNoValidOptimizerIsRejected() {
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> Variant.expand(List.of("gated-linear"), List.of("newton-diag")));
        assertTrue(e.getMessage().contains("cannot run on energy 'gated-linear'"), e.getMessage());
    }

    @Test
    void optimizerThatNoEnergyRunsIsRejected() {
        InvalidInputException e = assertThrows(InvalidInputException.class,
                () -> Variant.expand(List.of("linear"), List.of("gd", "newton")));
        assertTrue(e.getMessage().contains("newton"), e.getMessage());
    }
}
