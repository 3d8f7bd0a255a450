package dev.joule.models.compare;

import dev.joule.layers.ChunkedLinearAttention;
import dev.joule.models.gpt.GptConfig;

/**
 * Operation counts of training per token, from the table "Cost per token per layer" in
 * docs/energy-framework.md. These are counts, not measurements.
 *
 * <p>Training FLOPs per token = 6 N + 3 L A, where N is the parameter count (embeddings included),
 * L the layer count and A the forward attention term of the variant per token and layer. The factor 6
 * is 2 for a multiply-add in the forward pass times 3 for forward plus backward, and the factor 3 on A
 * is the same forward-plus-backward factor. With context T, width C, H heads of width D and chunk n:
 *
 * <ul>
 *   <li>softmax + gd: A = 4 T C
 *   <li>softmax + momentum or nesterov: A = 4 T C + 2 C
 *   <li>softmax + newton-neumann: A = 8 T C (the table's O(C) term left out)
 *   <li>softmax + newton-diag: A = 6 T C (the table's O(C) term left out)
 *   <li>softmax + newton: A = 4 T C + 2 T H D^2 + 2/3 H D^3
 *   <li>linear, any optimizer: A = 4 n C + 4 C D, plus 2 C for momentum or nesterov
 *   <li>gated-linear: as linear, plus 2 C H for the gates
 * </ul>
 *
 * <p>T counts every key, an upper bound: under the causal mask a query attends to about T / 2 of them.
 */
public final class AttentionCost {
    private AttentionCost() {}

    /** Returns A, the forward attention FLOPs per token and layer of {@code v} under {@code c}. */
    public static double attentionFlops(Variant v, GptConfig c) {
        double t = c.context();
        double dim = c.dim();
        double heads = c.heads();
        double d = c.headDim();
        double velocity = v.optimizer().equals("momentum") || v.optimizer().equals("nesterov") ? 2 * dim : 0;
        return switch (v.energy()) {
            case "softmax" -> switch (v.optimizer()) {
                case "newton-neumann" -> 8 * t * dim;
                case "newton-diag" -> 6 * t * dim;
                case "newton" -> 4 * t * dim + 2 * t * heads * d * d + 2.0 / 3.0 * heads * d * d * d;
                default -> 4 * t * dim + velocity;
            };
            case "linear" -> linear(c) + velocity;
            case "gated-linear" -> linear(c) + velocity + 2 * dim * heads;
            default -> throw new IllegalArgumentException("no cost formula for energy '" + v.energy() + "'");
        };
    }

    private static double linear(GptConfig c) {
        double n = Math.min(ChunkedLinearAttention.CHUNK, c.context());
        return 4 * n * c.dim() + 4.0 * c.dim() * c.headDim();
    }

    /** Returns the training FLOPs per token, 6 N + 3 L A. */
    public static double trainingFlopsPerToken(Variant v, GptConfig c, long parameters) {
        return 6.0 * parameters + 3.0 * c.layers() * attentionFlops(v, c);
    }

    /** The formula as text, for reports. */
    public static String formula(Variant v) {
        return switch (v.energy()) {
            case "softmax" -> switch (v.optimizer()) {
                case "newton-neumann" -> "8TC";
                case "newton-diag" -> "6TC";
                case "newton" -> "4TC + 2THD^2 + 2/3 HD^3";
                case "momentum", "nesterov" -> "4TC + 2C";
                default -> "4TC";
            };
            case "linear" -> "4nC + 4CD" + (isMomentum(v) ? " + 2C" : "");
            case "gated-linear" -> "4nC + 4CD + 2CH" + (isMomentum(v) ? " + 2C" : "");
            default -> "?";
        };
    }

    private static boolean isMomentum(Variant v) {
        return v.optimizer().equals("momentum") || v.optimizer().equals("nesterov");
    }
}
