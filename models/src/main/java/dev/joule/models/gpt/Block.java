package dev.joule.models.gpt;

import dev.joule.engine.Tensor;
import dev.joule.engine.nn.Dropout;
import dev.joule.engine.nn.LayerNorm;
import dev.joule.engine.nn.Linear;
import dev.joule.engine.nn.Module;
import dev.joule.layers.EnergyAttention;
import dev.joule.layers.EnergyRecipe;
import dev.joule.models.InvalidInputException;

/**
 * One pre-norm Transformer block. The attention half is an {@link EnergyAttention} step of the
 * config's energy and optimizer on ln_1 of the residual stream; with softmax + gd it is the standard
 * x += attn(ln_1(x)). The MLP half is x += mlp(ln_2(x)), with a GELU MLP of width 4C.
 *
 * <p>Parameter names: ln_1, attn.qkv, attn.proj (and attn.gate, attn.log_temperature,
 * attn.momentum_logit where the recipe has them), ln_2, mlp_fc, mlp_proj.
 */
public final class Block extends Module {
    private final LayerNorm norm1;
    private final EnergyAttention attn;
    private final LayerNorm norm2;
    private final Linear fc;
    private final Linear mlpProj;
    private final Dropout dropout;

    Block(GptConfig config, int layer, long seed) {
        int c = config.dim();
        float residualStd = (float) (Gpt.INIT_STD / Math.sqrt(2.0 * config.layers()));
        long stream = 100L + 10L * layer;
        this.norm1 = child("ln_1", new LayerNorm(c, 1e-5f));
        EnergyRecipe recipe;
        try {
            recipe = EnergyRecipe.of(config.energy(), config.optimizer());
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException(e.getMessage(), e);
        }
        // Streams stream and stream + 1 are the ones the attention projections always had.
        this.attn = child("attn", new EnergyAttention(recipe, c, config.heads(), layer, config.layers(), seed,
                stream));
        this.norm2 = child("ln_2", new LayerNorm(c, 1e-5f));
        this.fc = child("mlp_fc", new Linear(c, 4 * c, true, seed, stream + 2, Gpt.INIT_STD));
        this.mlpProj = child("mlp_proj", new Linear(4 * c, c, true, seed, stream + 3, residualStd));
        this.dropout = child("drop", new Dropout(config.dropout(), seed));
    }

    /** Returns the attention layer, for example to set an energy trace or choose its path. */
    public EnergyAttention attention() {
        return attn;
    }

    /** state.x (B, T, C) and state.velocity (B, T, C) or null, to the next state. */
    BlockState forward(BlockState state, long key) {
        // Attention: one optimizer step on the energy, (B, T, C) -> (B, T, C), updating the velocity.
        EnergyAttention.Step step = attn.forward(state.x(), state.velocity(), norm1::forward,
                u -> dropout.forward(u, 2 * key));
        Tensor x = step.x();

        // MLP: (B, T, C) -> (B, T, 4C) -> (B, T, C).
        Tensor h = fc.forward(norm2.forward(x)).gelu();
        x = x.add(dropout.forward(mlpProj.forward(h), 2 * key + 1));
        return new BlockState(x, step.velocity());
    }
}
