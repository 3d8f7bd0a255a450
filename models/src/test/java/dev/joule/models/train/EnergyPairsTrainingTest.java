package dev.joule.models.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.joule.layers.EnergyRecipe;
import dev.joule.models.RealText;
import dev.joule.models.data.ByteTokenizer;
import dev.joule.models.data.Dataset;
import dev.joule.models.gpt.GptConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every valid energy and optimizer pair trains a small GPT on real text: its validation loss falls. */
class EnergyPairsTrainingTest {
    private static final int[] TOKENS = new ByteTokenizer().encode(RealText.text());

    static Stream<Arguments> validPairs() {
        List<Arguments> pairs = new ArrayList<>();
        for (String energy : EnergyRecipe.ENERGIES) {
            for (String optimizer : EnergyRecipe.optimizersFor(energy)) {
                pairs.add(Arguments.of(energy, optimizer));
            }
        }
        return pairs.stream();
    }

    @ParameterizedTest(name = "{0} with {1}")
    @MethodSource("validPairs")
    void validationLossFalls(String energy, String optimizer, @TempDir Path dir) {
        GptConfig config = new GptConfig(256, 32, 2, 2, 32, 0f, energy, optimizer);
        TrainSettings settings = new TrainSettings(List.of(), null, 0.1, 80, 0, 4, 3e-3f, 3e-4f, 8, 0.1f, 1.0f, 7L,
                80, 4, false);
        Dataset data = Dataset.split(TOKENS, 0.1, config.context());
        Trainer.Result r = new Trainer(config, settings, data, new RunDirectory(dir))
                .train(new Trainer.Listener() {});
        // ln 256 = 5.55 nats is the loss of a uniform guess; 80 steps reach byte statistics and beyond.
        assertTrue(r.finalValLoss() < r.initialValLoss() - 1.0,
                energy + "/" + optimizer + ": val loss " + r.initialValLoss() + " -> " + r.finalValLoss());
    }
}
