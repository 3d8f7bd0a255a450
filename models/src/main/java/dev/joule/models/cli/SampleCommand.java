package dev.joule.models.cli;

import dev.joule.models.sample.Generator;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code joule sample}: generates text from a trained run. */
@Command(name = "sample", mixinStandardHelpOptions = true, description = "Generate text from a trained run.")
final class SampleCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--checkpoint", paramLabel = "DIR", required = true, description = "Run directory of joule train.")
    Path checkpoint;

    @Option(names = "--prompt", paramLabel = "TEXT", defaultValue = "", description = "Text to continue (default: empty).")
    String prompt;

    @Option(names = "--tokens", paramLabel = "N", defaultValue = "200", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int tokens;

    @Option(names = "--temperature", paramLabel = "X", defaultValue = "0.8",
            description = "Divides the logits; 0 is greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0", description = "Keep the K most likely tokens, 0 for all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "0.95",
            description = "Keep the most likely tokens up to total probability P (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--threads", paramLabel = "N", description = "Worker threads (default: all processors).")
    Integer threads;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Setup.threads(threads);
        Generator.Options options = new Generator.Options(tokens, temperature, topK, topP, seed);
        Generator generator = Generator.load(checkpoint);
        out.print(prompt);
        generator.generate(prompt, options, piece -> {
            out.print(piece);
            out.flush();
        });
        out.println();
        out.flush();
        return Main.EXIT_OK;
    }
}
