package dev.joule.models.gpt;

import dev.joule.engine.Tensor;
import dev.joule.engine.nn.Dropout;
import dev.joule.engine.nn.LayerNorm;
import dev.joule.engine.nn.Linear;
import dev.joule.engine.nn.Module;
import dev.joule.layers.ReferenceAttention;

/**
 * One pre-norm Transformer block: x += attn(ln_1(x)); x += mlp(ln_2(x)), with a GELU MLP of width 4C.
 */
public final class Block extends Module {
    private final GptConfig config;
    private final LayerNorm norm1;
    private final Linear qkv;
    private final Linear attnProj;
    private final LayerNorm norm2;
    private final Linear fc;
    private final Linear mlpProj;
    private final Dropout dropout;

    Block(GptConfig config, int layer, long seed) {
        this.config = config;
        int c = config.dim();
        float residualStd = (float) (Gpt.INIT_STD / Math.sqrt(2.0 * config.layers()));
        long stream = 100L + 10L * layer;
        this.norm1 = child("ln_1", new LayerNorm(c, 1e-5f));
        this.qkv = child("attn_qkv", new Linear(c, 3 * c, true, seed, stream, Gpt.INIT_STD));
        this.attnProj = child("attn_proj", new Linear(c, c, true, seed, stream + 1, residualStd));
        this.norm2 = child("ln_2", new LayerNorm(c, 1e-5f));
        this.fc = child("mlp_fc", new Linear(c, 4 * c, true, seed, stream + 2, Gpt.INIT_STD));
        this.mlpProj = child("mlp_proj", new Linear(4 * c, c, true, seed, stream + 3, residualStd));
        this.dropout = child("drop", new Dropout(config.dropout(), seed));
    }

    /** state.x (B, T, C) to the next state. */
    BlockState forward(BlockState state, long key) {
        Tensor x = state.x();

        // Attention: (B, T, C) -> (B, T, 3C) -> three (B, H, T, D) -> (B, T, C).
        Tensor[] qkvHeads = ReferenceAttention.splitHeads(qkv.forward(norm1.forward(x)), config.heads());
        Tensor attn = ReferenceAttention.mergeHeads(
                ReferenceAttention.attend(qkvHeads[0], qkvHeads[1], qkvHeads[2]));
        x = x.add(dropout.forward(attnProj.forward(attn), 2 * key));

        // MLP: (B, T, C) -> (B, T, 4C) -> (B, T, C).
        Tensor h = fc.forward(norm2.forward(x)).gelu();
        x = x.add(dropout.forward(mlpProj.forward(h), 2 * key + 1));
        return new BlockState(x, state.velocity());
    }
}
