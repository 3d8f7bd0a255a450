package dev.joule.models.cli;

import dev.joule.layers.EnergyRecipe;
import dev.joule.models.InvalidInputException;
import dev.joule.models.gpt.GptConfig;

/** Rejects energy and optimizer pairs that cannot run, before any work starts. */
final class ModelFactoryCheck {
    private ModelFactoryCheck() {}

    /**
     * Accepts every pair that {@link EnergyRecipe#of} accepts.
     *
     * @throws InvalidInputException with the recipe's message, which says why and what works
     */
    static void check(GptConfig c) {
        try {
            EnergyRecipe.of(c.energy(), c.optimizer());
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("--energy " + c.energy() + " --optimizer " + c.optimizer() + ": "
                    + e.getMessage(), e);
        }
    }
}
