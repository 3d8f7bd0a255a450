package dev.joule.models.cli;

import dev.joule.engine.kernels.Parallel;
import dev.joule.engine.kernels.Simd;
import dev.joule.models.InvalidInputException;
import dev.joule.models.data.ByteTokenizer;
import dev.joule.models.data.Corpus;
import dev.joule.models.data.Dataset;
import dev.joule.models.data.EmbeddedCorpus;
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

    static void device(String device) {
        if (device != null && !device.equals("cpu")) {
            if (device.startsWith("opencl")) {
                throw new InvalidInputException("--device " + device + " is not available in this build: the"
                        + " OpenCL backend is not part of it yet; use --device cpu");
            }
            throw new InvalidInputException("unknown --device '" + device + "'; use cpu");
        }
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
            int[] val = Corpus.load(List.of(Path.of(settings.val())), options).tokens();
            return Dataset.of(tokens, val, context);
        }
        return Dataset.split(tokens, settings.valFraction(), context);
    }

    static List<Path> paths(List<String> names) {
        List<Path> out = new ArrayList<>();
        for (String n : names) {
            out.add(Path.of(n));
        }
        return out;
    }
}
