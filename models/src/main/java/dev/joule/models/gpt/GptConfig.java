package dev.joule.models.gpt;

import dev.joule.models.InvalidInputException;
import dev.joule.models.data.ByteTokenizer;

/**
 * The shape and recipe of a GPT.
 *
 * @param vocab vocabulary size V, which must be 256, the byte tokenizer's
 * @param context maximum sequence length T, which is also the number of learned positions
 * @param layers number of blocks L
 * @param heads attention heads H per block; must divide {@code dim}
 * @param dim residual width C
 * @param dropout dropout probability on attention output and MLP output during training
 * @param energy attention energy name (softmax, linear, gated-linear)
 * @param optimizer the step the attention layers take on the energy (gd, momentum, ...)
 */
public record GptConfig(int vocab, int context, int layers, int heads, int dim, float dropout, String energy,
                        String optimizer) {

    public static final String DEFAULT_ENERGY = "softmax";
    public static final String DEFAULT_OPTIMIZER = "gd";

    /** 4 layers, 4 heads, width 128, context 128: about 0.8 M parameters, for tests and first runs. */
    public static GptConfig tiny() {
        return new GptConfig(256, 128, 4, 4, 128, 0f, DEFAULT_ENERGY, DEFAULT_OPTIMIZER);
    }

    /** 6 layers, 6 heads, width 384, context 256: about 10.7 M parameters. */
    public static GptConfig small() {
        return new GptConfig(256, 256, 6, 6, 384, 0f, DEFAULT_ENERGY, DEFAULT_OPTIMIZER);
    }

    /** Returns the preset with this name, or null if there is none. */
    public static GptConfig preset(String name) {
        return switch (name) {
            case "tiny" -> tiny();
            case "small" -> small();
            default -> null;
        };
    }

    /**
     * Checks every field and throws an {@link InvalidInputException} naming the first bad value.
     *
     * @return this, for chaining
     */
    public GptConfig validate() {
        if (vocab != ByteTokenizer.VOCAB_SIZE) {
            // Text is tokenized into bytes. A smaller vocabulary lacks some byte ids, and a larger one samples ids
            // that decode to no byte.
            throw new InvalidInputException("vocab must be " + ByteTokenizer.VOCAB_SIZE + ", the size of the byte"
                    + " tokenizer's vocabulary, got " + vocab + "; set \"vocab\": " + ByteTokenizer.VOCAB_SIZE
                    + " in the model file or leave the field out");
        }
        positive("context", context, "--context");
        positive("layers", layers, "--layers");
        positive("heads", heads, "--heads");
        positive("dim", dim, "--dim");
        if (dim % heads != 0) {
            throw new InvalidInputException("--heads " + heads + " does not divide --dim " + dim
                    + "; choose a head count that divides the width, for example " + divisorNear(dim, heads));
        }
        if (!(dropout >= 0f && dropout < 1f)) {
            throw new InvalidInputException("dropout must be in [0, 1), got " + dropout);
        }
        if (energy == null || energy.isBlank()) {
            throw new InvalidInputException("energy is missing; use one of softmax, linear, gated-linear");
        }
        if (optimizer == null || optimizer.isBlank()) {
            throw new InvalidInputException("optimizer is missing; use one of gd, momentum, nesterov, newton,"
                    + " newton-diag, newton-neumann");
        }
        return this;
    }

    private static void positive(String field, int value, String option) {
        if (value <= 0) {
            throw new InvalidInputException(field + " must be a positive integer, got " + value + " (set it with "
                    + option + ")");
        }
    }

    private static int divisorNear(int dim, int heads) {
        for (int d = 0; d < dim; d++) {
            if (heads - d > 0 && dim % (heads - d) == 0) {
                return heads - d;
            }
            if (dim % (heads + d) == 0) {
                return heads + d;
            }
        }
        return 1;
    }

    /** Returns the width of one head, D = C / H. */
    public int headDim() {
        return dim / heads;
    }

    public GptConfig withContext(int t) {
        return new GptConfig(vocab, t, layers, heads, dim, dropout, energy, optimizer);
    }

    public GptConfig withLayers(int l) {
        return new GptConfig(vocab, context, l, heads, dim, dropout, energy, optimizer);
    }

    public GptConfig withHeads(int h) {
        return new GptConfig(vocab, context, layers, h, dim, dropout, energy, optimizer);
    }

    public GptConfig withDim(int c) {
        return new GptConfig(vocab, context, layers, heads, c, dropout, energy, optimizer);
    }

    public GptConfig withEnergy(String e, String o) {
        return new GptConfig(vocab, context, layers, heads, dim, dropout, e, o);
    }

    public GptConfig withDropout(float p) {
        return new GptConfig(vocab, context, layers, heads, dim, p, energy, optimizer);
    }
}
