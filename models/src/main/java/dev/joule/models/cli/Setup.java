package dev.joule.models.cli;

import dev.joule.engine.kernels.Parallel;
import dev.joule.engine.kernels.Simd;
import dev.joule.models.InvalidInputException;
import dev.joule.models.data.ByteTokenizer;
import dev.joule.models.data.Corpus;
import dev.joule.models.data.Dataset;
import dev.joule.models.data.EmbeddedCorpus;
import dev.joule.models.gpt.GptConfig;
import dev.joule.models.train.DeviceTrainer;
import dev.joule.models.train.TrainSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Shared start-up steps of the commands: threads, device and data. */
final class Setup {
    private Setup() {}

    static void threads(Integer threads) {
        if (threads != null) {
            if (threads < 1) {
                throw new InvalidInputException("--threads must be at least 1, got " + threads);
            }
            Parallel.setThreads(threads);
        }
        Simd.reportOnce();
    }

    /**
     * Resolves {@code --device}: cpu, or a backend found on the class path with an optional index
     * ({@code opencl}, {@code opencl:1}). A missing driver or an index out of range is invalid input
     * (exit 2) whose message names what to install or which indexes exist.
     */
    static DeviceTrainer.Selection device(String device) {
        return DeviceTrainer.select(device);
    }

    /** Loads the training data named by the settings, or the built-in corpus when none is named. */
    static Dataset dataset(TrainSettings settings, int context) {
        Corpus.LoadOptions options = new Corpus.LoadOptions(settings.allowBinary());
        int[] tokens;
        if (settings.data().isEmpty()) {
            tokens = new ByteTokenizer().encode(EmbeddedCorpus.text());
        } else {
            tokens = Corpus.load(paths(settings.data()), options).tokens();
        }
        if (settings.val() != null) {
            int[] val;
            try {
                val = Corpus.load(List.of(Path.of(settings.val())), options).tokens();
            } catch (InvalidInputException e) {
                throw new InvalidInputException("--val: " + e.getMessage().replace("--data", "--val"), e);
            }
            return Dataset.of(tokens, val, context);
        }
        return Dataset.split(tokens, settings.valFraction(), context);
    }

    /**
     * Records the model that a command is about to build, for the out-of-memory message: the parameter
     * count computed from the shapes (no model is built), and four floats per parameter for the weights,
     * their gradients and the two AdamW moments. Activations come on top and grow with the batch and the
     * context.
     */
    static void noteModel(GptConfig c, int batch) {
        long d = c.dim();
        long perBlock = 12 * d * d + 13 * d;
        long parameters = c.layers() * perBlock + ((long) c.vocab() + c.context() + 2) * d;
        long bytes = parameters * 4L * Float.BYTES;
        Main.describeWorkload(String.format(java.util.Locale.ROOT, "a model with %d %s, width %d and context %d"
                + " at batch %d (about %,d parameters; weights, gradients and AdamW moments take about %.1f GiB"
                + " before activations)", c.layers(), c.layers() == 1 ? "layer" : "layers", c.dim(), c.context(),
                batch, parameters, bytes / (double) (1L << 30)), bytes);
    }

    static List<Path> paths(List<String> names) {
        List<Path> out = new ArrayList<>();
        for (String n : names) {
            out.add(Path.of(n));
        }
        return out;
    }
}
