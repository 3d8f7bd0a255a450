package dev.joule.models.cli;

import com.google.gson.JsonObject;
import dev.joule.engine.Autograd;
import dev.joule.models.InvalidInputException;
import dev.joule.models.data.Corpus;
import dev.joule.models.data.Dataset;
import dev.joule.models.sample.Generator;
import dev.joule.models.gpt.Gpt;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code joule eval}: the loss of a trained run on a text, over every full window. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Measure the loss of a trained run on text, in nats and bits per byte.")
final class EvalCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--checkpoint", paramLabel = "DIR", required = true, description = "Run directory of joule train.")
    Path checkpoint;

    @Option(names = "--data", paramLabel = "PATH", required = true, arity = "1..*", description = "Text files or folders.")
    List<String> data;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "8", description = "Windows per forward pass (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--max-batches", paramLabel = "N", defaultValue = "0",
            description = "Stop after N batches, 0 for the whole text (default: ${DEFAULT-VALUE}).")
    int maxBatches;

    @Option(names = "--allow-binary", description = "Accept files that look binary.")
    boolean allowBinary;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all processors).")
    Integer threads;

    @Option(names = "--json", description = "Print a JSON summary as the last line of standard output.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Setup.threads(threads);
        if (batch <= 0) {
            throw new InvalidInputException("--batch must be a positive integer, got " + batch);
        }
        if (maxBatches < 0) {
            throw new InvalidInputException("--max-batches must be zero (all) or positive, got " + maxBatches);
        }
        Gpt model = Generator.load(checkpoint).model();
        int t = model.config().context();
        int[] tokens = Corpus.load(Setup.paths(data), new Corpus.LoadOptions(allowBinary)).tokens();
        if (tokens.length < t + 1) {
            throw new InvalidInputException("--data has " + tokens.length + " tokens, but the run's context of "
                    + t + " needs at least " + (t + 1) + " for one window; pass more text");
        }
        // All of the text is the evaluation split: reuse the validation windows of a dataset over it.
        Dataset dataset = Dataset.of(tokens, tokens, t);
        // Consecutive ranges of windows, the last one shorter when --batch does not divide the count.
        // Each full window is evaluated once, so the loss does not depend on --batch.
        int windows = dataset.valWindowCount();
        if (maxBatches > 0) {
            windows = (int) Math.min(windows, (long) maxBatches * batch);
        }
        double sum = 0;
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            for (int first = 0; first < windows; first += batch) {
                int rows = Math.min(batch, windows - first);
                Dataset.Batch b = dataset.valWindows(first, rows);
                // The loss is the mean over the rows, so weight it by the row count.
                sum += (double) model.loss(b.inputs(), b.targets(), rows, t, 0).item() * rows;
            }
        }
        double loss = sum / windows;
        double bitsPerByte = loss / Math.log(2);
        out.printf(Locale.ROOT, "loss %.4f nats/token, %.4f bits/byte over %d %s of %d tokens%n", loss,
                bitsPerByte, windows, windows == 1 ? "window" : "windows", t);
        if (json) {
            JsonObject o = new JsonObject();
            o.addProperty("command", "eval");
            o.addProperty("loss", loss);
            o.addProperty("bits_per_byte", bitsPerByte);
            o.addProperty("windows", windows);
            out.println(o);
        }
        out.flush();
        return Main.EXIT_OK;
    }
}
