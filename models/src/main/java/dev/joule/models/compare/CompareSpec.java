package dev.joule.models.compare;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import dev.joule.models.InvalidInputException;
import dev.joule.models.gpt.GptConfig;
import dev.joule.models.train.TrainSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Everything that defines a comparison, saved as compare.json in its directory. A rerun with an equal
 * spec resumes; a different spec is rejected, so that one directory never mixes two comparisons.
 *
 * @param task "text" or "lis"
 * @param data text files or folders of the text task; empty for LIS
 * @param lisLength values per LIS sequence; 0 for the text task
 * @param lisAlphabet distinct LIS values; 0 for the text task
 * @param variants the variants, baseline first, as "energy-optimizer"
 * @param seeds runs per variant, with seeds 0 to seeds - 1
 * @param steps optimizer steps per run
 * @param model the architecture; each variant replaces its energy and optimizer
 * @param batch sequences per step
 * @param lr peak learning rate (the cosine decay ends at lr / 10)
 * @param warmup linear warmup steps
 * @param evalEvery steps between validation measurements
 * @param evalBatches validation batches per measurement
 * @param valFraction share of the text held out for validation
 */
public record CompareSpec(String task, List<String> data, int lisLength, int lisAlphabet, List<Variant> variants,
                          int seeds, int steps, GptConfig model, int batch, float lr, int warmup, int evalEvery,
                          int evalBatches, double valFraction) {
    public static final String FILE = "compare.json";
    public static final String TEXT = "text";
    public static final String LIS = "lis";

    static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

    public CompareSpec {
        data = List.copyOf(data);
        variants = List.copyOf(variants);
    }

    /** Returns the model of variant {@code v}. */
    public GptConfig modelOf(Variant v) {
        return model.withEnergy(v.energy(), v.optimizer());
    }

    /** Returns the training settings of the run with seed {@code seed}: only the seed differs between runs. */
    public TrainSettings settingsOf(int seed) {
        return new TrainSettings(data, null, valFraction, steps, 0, batch, lr, lr / 10, warmup, 0.1f, 1.0f, seed,
                evalEvery, evalBatches, false).validate();
    }

    /**
     * Saves this spec in {@code dir}, or checks it against the one saved there.
     *
     * @throws InvalidInputException when {@code dir} contains another comparison or something that is not one
     */
    public void saveOrCheck(Path dir) {
        Path file = dir.resolve(FILE);
        // Both sides go through text, so that a float compares as the number it was written as.
        JsonElement mine = JsonParser.parseString(GSON.toJson(this));
        try {
            if (Files.exists(file)) {
                JsonElement saved;
                try {
                    saved = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
                } catch (JsonParseException e) {
                    throw new InvalidInputException(file + " is not valid JSON (" + e.getMessage()
                            + "); choose another --out or delete the directory", e);
                }
                if (!saved.equals(mine)) {
                    throw new InvalidInputException("--out " + dir + " contains a different comparison ("
                            + difference(saved, mine) + "); choose another --out, or rerun with the saved"
                            + " options to resume it");
                }
                return;
            }
            if (Files.isDirectory(dir)) {
                try (var entries = Files.list(dir)) {
                    if (entries.findAny().isPresent()) {
                        throw new InvalidInputException("--out " + dir + " is not empty and has no " + FILE
                                + "; choose an empty or new directory");
                    }
                }
            }
            Files.createDirectories(dir);
            Files.writeString(file, GSON.toJson(mine) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("failed to save or read " + file + ": " + e.getMessage(), e);
        }
    }

    private static String difference(JsonElement saved, JsonElement mine) {
        if (!saved.isJsonObject()) {
            return "the saved file is not a JSON object";
        }
        JsonObject a = saved.getAsJsonObject();
        JsonObject b = mine.getAsJsonObject();
        for (String key : b.keySet()) {
            if (!b.get(key).equals(a.get(key))) {
                return key + " was " + a.get(key) + ", now " + b.get(key);
            }
        }
        return "the saved file has other fields";
    }
}
