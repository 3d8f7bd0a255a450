package dev.joule.models.cli;

import dev.joule.models.InvalidInputException;
import dev.joule.models.gpt.GptConfig;

/** Rejects energy and optimizer names that this build cannot run, before any work starts. */
final class ModelFactoryCheck {
    private ModelFactoryCheck() {}

    static void check(GptConfig c) {
        if (!"softmax".equals(c.energy())) {
            throw new InvalidInputException("unknown --energy '" + c.energy() + "'; use softmax");
        }
        if (!"gd".equals(c.optimizer())) {
            throw new InvalidInputException("unknown --optimizer '" + c.optimizer() + "'; use gd");
        }
    }
}
