package dev.joule.models.sample;

import dev.joule.engine.Autograd;
import dev.joule.engine.Rng;
import dev.joule.engine.Tensor;
import dev.joule.models.InvalidInputException;
import dev.joule.models.data.ByteTokenizer;
import dev.joule.models.data.StreamingDecoder;
import dev.joule.models.gpt.Gpt;
import dev.joule.models.train.RunDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Text generation from a trained run: the Java API that applications embed.
 *
 * <pre>{@code
 * Generator g = Generator.load(Path.of("runs/tiny"));
 * String text = g.generate("Once upon a time", new Generator.Options(200, 0.8f, 40, 0.95f, 7));
 * }</pre>
 *
 * <p>Thread safety: the weights are only read, and each call keeps its state on its own stack, so one
 * instance may serve several threads at once. The same prompt, options and seed give the same text.
 */
public final class Generator {
    private final Gpt model;
    private final ByteTokenizer tokenizer = new ByteTokenizer();

    public Generator(Gpt model) {
        this.model = model;
        model.train(false);
    }

    /**
     * Sampling options.
     *
     * @param tokens number of tokens to generate
     * @param temperature divides the logits; 0 means greedy decoding
     * @param topK keep only the K most likely tokens; 0 keeps all
     * @param topP keep the smallest set of tokens whose probability reaches P; 1 keeps all
     * @param seed seed of the sampling random numbers
     */
    public record Options(int tokens, float temperature, int topK, float topP, long seed) {
        public Options {
            if (tokens < 0) {
                throw new InvalidInputException("--tokens must be zero or positive, got " + tokens);
            }
            if (!Float.isFinite(temperature) || temperature < 0f) {
                throw new InvalidInputException("--temperature must be zero (greedy) or positive, got "
                        + temperature);
            }
            if (topK < 0) {
                throw new InvalidInputException("--top-k must be zero (off) or positive, got " + topK);
            }
            if (!(topP > 0f && topP <= 1f)) {
                throw new InvalidInputException("--top-p must be in (0, 1], got " + topP);
            }
        }

        public static Options defaults() {
            return new Options(200, 0.8f, 0, 0.95f, 0L);
        }
    }

    /** Loads the weights and architecture of a run directory written by {@code joule train}. */
    public static Generator load(Path runDir) {
        dev.joule.engine.kernels.Simd.reportOnce();
        if (!Files.isDirectory(runDir)) {
            throw new InvalidInputException("checkpoint directory not found: " + runDir
                    + "; pass the --out directory of a joule train run");
        }
        RunDirectory run = new RunDirectory(runDir);
        RunDirectory.RunConfig config = run.readConfig();
        Gpt model = new Gpt(config.model(), 0L);
        RunDirectory.loadWeights(model, run, -1);
        return new Generator(model);
    }

    public Gpt model() {
        return model;
    }

    /** Returns the prompt's continuation (without the prompt). */
    public String generate(String prompt, Options options) {
        StringBuilder out = new StringBuilder();
        generate(prompt, options, out::append);
        return out.toString();
    }

    /** Generates and hands each completed piece of text to {@code sink} as soon as it is decoded. */
    public void generate(String prompt, Options options, Consumer<String> sink) {
        int context = model.config().context();
        int[] promptTokens = tokenizer.encode(prompt == null ? "" : prompt);
        int[] seq = Arrays.copyOf(promptTokens, promptTokens.length + options.tokens());
        int len = promptTokens.length;
        if (len == 0) {
            // An empty prompt starts from a newline, the most common document boundary.
            seq = Arrays.copyOf(new int[] {'\n'}, 1 + options.tokens());
            len = 1;
        }
        StreamingDecoder decoder = tokenizer.streamingDecoder();
        try (Autograd.NoGradScope ignored = Autograd.noGrad()) {
            for (int i = 0; i < options.tokens(); i++) {
                int from = Math.max(0, len - context);
                int t = len - from;
                int[] window = Arrays.copyOfRange(seq, from, len);
                Tensor logits = model.forward(window, 1, t, 0);
                int vocab = logits.size(1);
                float[] last = Arrays.copyOfRange(logits.toArray(), (t - 1) * vocab, t * vocab);
                int next = pick(last, options, i);
                seq[len++] = next;
                String piece = decoder.push(next);
                if (!piece.isEmpty()) {
                    sink.accept(piece);
                }
            }
        }
        String rest = decoder.flush();
        if (!rest.isEmpty()) {
            sink.accept(rest);
        }
    }

    /** Chooses the next token from one row of logits. */
    static int pick(float[] logits, Options options, long position) {
        int v = logits.length;
        if (options.temperature() == 0f) {
            int best = 0;
            for (int i = 1; i < v; i++) {
                if (logits[i] > logits[best]) {
                    best = i;
                }
            }
            return best;
        }
        Integer[] order = new Integer[v];
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < v; i++) {
            order[i] = i;
            max = Math.max(max, logits[i]);
        }
        double[] p = new double[v];
        double sum = 0;
        for (int i = 0; i < v; i++) {
            p[i] = Math.exp((logits[i] - max) / options.temperature());
            sum += p[i];
        }
        for (int i = 0; i < v; i++) {
            p[i] /= sum;
        }
        // Most likely first; ties by token id keep the order deterministic.
        Arrays.sort(order, (a, b) -> p[a] != p[b] ? Double.compare(p[b], p[a]) : Integer.compare(a, b));
        int keep = options.topK() > 0 ? Math.min(options.topK(), v) : v;
        double cumulative = 0;
        int kept = 0;
        while (kept < keep) {
            cumulative += p[order[kept]];
            kept++;
            if (cumulative >= options.topP()) {
                break;
            }
        }
        double u = Rng.uniformDouble(options.seed(), 0x5A4D, position) * cumulative;
        double acc = 0;
        for (int i = 0; i < kept; i++) {
            acc += p[order[i]];
            if (u < acc) {
                return order[i];
            }
        }
        return order[kept - 1];
    }
}
