package dev.joule.models.cli;

import com.google.gson.Gson;
import com.google.gson.JsonParseException;
import dev.joule.models.InvalidInputException;
import dev.joule.models.gpt.GptConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options that choose the architecture: a preset or JSON file, then per-field overrides. */
final class ModelOptions {
    /** The fields of {@link GptConfig} that a --model JSON file may set. */
    private static final java.util.List<String> KNOWN_FIELDS = java.util.Arrays.stream(
            GptConfig.class.getRecordComponents()).map(java.lang.reflect.RecordComponent::getName).toList();

    @Option(names = "--model", paramLabel = "tiny|small|FILE.json", defaultValue = "tiny",
            description = "Architecture preset, or a JSON file with the fields of GptConfig, where vocab must be 256"
                    + " (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--energy", paramLabel = "NAME", description = "Attention energy: softmax (default), linear or gated-linear.")
    String energy;

    @Option(names = "--optimizer", paramLabel = "NAME", description = "Step on the energy: gd (default), momentum, nesterov, newton, newton-diag or"
                    + " newton-neumann. The Newton steps need the softmax energy.")
    String optimizer;

    @Option(names = "--layers", paramLabel = "L", description = "Number of blocks (tiny: 4, small: 6).")
    Integer layers;

    @Option(names = "--heads", paramLabel = "H", description = "Attention heads; must divide --dim (tiny: 4, small: 6).")
    Integer heads;

    @Option(names = "--dim", paramLabel = "D", description = "Residual width (tiny: 128, small: 384).")
    Integer dim;

    @Option(names = "--context", paramLabel = "T", description = "Context length in tokens, which are bytes (tiny: 128, small: 256).")
    Integer context;

    @Option(names = "--dropout", paramLabel = "P", description = "Dropout probability during training (default: 0).")
    Float dropout;

    GptConfig resolve() {
        GptConfig c = GptConfig.preset(model);
        if (c == null) {
            c = readJson(Path.of(model));
        }
        c = withSizes(c, layers, heads, dim, context);
        if (dropout != null) {
            c = c.withDropout(dropout);
        }
        c = c.withEnergy(energy != null ? energy : c.energy(), optimizer != null ? optimizer : c.optimizer());
        ModelFactoryCheck.check(c);
        return c.validate();
    }

    /** Returns {@code c} with every size that is not null replaced. */
    static GptConfig withSizes(GptConfig c, Integer layers, Integer heads, Integer dim, Integer context) {
        GptConfig out = c;
        if (layers != null) {
            out = out.withLayers(layers);
        }
        if (heads != null) {
            out = out.withHeads(heads);
        }
        if (dim != null) {
            out = out.withDim(dim);
        }
        if (context != null) {
            out = out.withContext(context);
        }
        return out;
    }

    private static GptConfig readJson(Path p) {
        if (!Files.isRegularFile(p)) {
            throw new InvalidInputException("--model " + p + " is neither a preset (tiny, small) nor an existing"
                    + " JSON file");
        }
        try {
            String text = Files.readString(p);
            var json = com.google.gson.JsonParser.parseString(text);
            if (json.isJsonObject()) {
                for (String key : json.getAsJsonObject().keySet()) {
                    if (!KNOWN_FIELDS.contains(key)) {
                        throw new InvalidInputException("--model " + p + " has an unknown field \"" + key
                                + "\"; the fields are " + String.join(", ", KNOWN_FIELDS));
                    }
                }
            }
            GptConfig c = new Gson().fromJson(text, GptConfig.class);
            if (c == null) {
                throw new InvalidInputException("--model " + p + " is empty; write a JSON object with vocab,"
                        + " context, layers, heads and dim");
            }
            GptConfig base = GptConfig.tiny();
            return new GptConfig(c.vocab() == 0 ? base.vocab() : c.vocab(), c.context(), c.layers(), c.heads(),
                    c.dim(), c.dropout(), c.energy() == null ? base.energy() : c.energy(),
                    c.optimizer() == null ? base.optimizer() : c.optimizer());
        } catch (IOException e) {
            throw new InvalidInputException("cannot read --model " + p + ": " + e.getMessage(), e);
        } catch (JsonParseException e) {
            throw new InvalidInputException("--model " + p + " is not valid JSON: " + e.getMessage(), e);
        }
    }
}
