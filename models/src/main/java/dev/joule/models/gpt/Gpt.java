package dev.joule.models.gpt;

import dev.joule.engine.LossOps;
import dev.joule.engine.Tensor;
import dev.joule.engine.nn.Embedding;
import dev.joule.engine.nn.LayerNorm;
import dev.joule.engine.nn.Module;

/**
 * A GPT-2 style decoder: token and learned position embeddings, L pre-norm blocks, a final layer norm
 * and an unembedding tied to the token embedding.
 *
 * <p>Initialization follows GPT-2: normal(0, 0.02) for weights and embeddings, with the projections
 * that write into the residual stream scaled by 1/sqrt(2L) (Radford et al. 2019). Every parameter has
 * its own random stream, so the initial weights depend only on the seed and the architecture.
 */
public final class Gpt extends Module {
    static final float INIT_STD = 0.02f;

    private final GptConfig config;
    private final Embedding tokens;
    private final Embedding positions;
    private final Block[] blocks;
    private final LayerNorm finalNorm;

    public Gpt(GptConfig config, long seed) {
        this.config = config.validate();
        this.tokens = child("wte", new Embedding(config.vocab(), config.dim(), seed, 1, INIT_STD));
        this.positions = child("wpe", new Embedding(config.context(), config.dim(), seed, 2, INIT_STD));
        this.blocks = new Block[config.layers()];
        for (int l = 0; l < config.layers(); l++) {
            blocks[l] = child("h" + l, new Block(config, l, seed));
        }
        this.finalNorm = child("ln_f", new LayerNorm(config.dim(), 1e-5f));
    }

    public GptConfig config() {
        return config;
    }

    /**
     * Computes next-token logits.
     *
     * @param ids token ids, (B, T) row-major, T at most the context
     * @param dropoutKey distinguishes the dropout masks of this call from every other call
     * @return logits (B * T, V)
     */
    public Tensor forward(int[] ids, int b, int t, long dropoutKey) {
        if (t > config.context()) {
            throw new IllegalArgumentException("sequence length " + t + " exceeds the model's context "
                    + config.context());
        }
        if (ids.length != b * t) {
            throw new IllegalArgumentException(ids.length + " ids do not form a (" + b + ", " + t + ") batch");
        }
        int[] pos = new int[t];
        for (int i = 0; i < t; i++) {
            pos[i] = i;
        }

        // x = wte[ids] + wpe[0..T): (B, T, C)
        Tensor x = tokens.forward(ids, b, t).add(positions.forward(pos, t));

        BlockState state = new BlockState(x);
        for (int l = 0; l < blocks.length; l++) {
            state = blocks[l].forward(state, dropoutKey * 1024 + l);
        }

        // logits = ln_f(x) wte^T: (B * T, V), the unembedding shares the token table.
        Tensor h = finalNorm.forward(state.x()).reshape(b * t, config.dim());
        return h.matmul(tokens.weight().transpose(0, 1));
    }

    /** Returns the mean cross-entropy of predicting {@code targets} (B, T) from {@code ids} (B, T). */
    public Tensor loss(int[] ids, int[] targets, int b, int t, long dropoutKey) {
        return LossOps.crossEntropy(forward(ids, b, t, dropoutKey), targets);
    }

    /** Returns the attention blocks, in order. */
    public Block[] blocks() {
        return blocks.clone();
    }
}
