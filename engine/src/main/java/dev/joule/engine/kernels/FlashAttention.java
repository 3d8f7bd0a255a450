package dev.joule.engine.kernels;

import dev.joule.engine.Buffers;
import java.util.Arrays;

/**
 * Causal multi-head softmax attention that never stores the T x T score matrix, after FlashAttention
 * (Dao et al. 2022, arXiv:2205.14135) with the online softmax of Milakov and Gimelshein ("Online
 * normalizer calculation for softmax", 2018, arXiv:1805.02867).
 *
 * <p>Layout: qkv is (B, T, 3C) row-major with C = H * D. Head h reads q from columns {@code h*D},
 * k from {@code C + h*D} and v from {@code 2C + h*D}. The output y and its gradient dy are (B, T, C) with
 * head h in columns {@code h*D}. The per-row statistics are (B, H, T).
 *
 * <p>Forward: one task per (b, h, block of {@link #QUERY_BLOCK} queries). It streams over the key
 * blocks of {@link #KEY_BLOCK} keys up to its last query, keeping per query row a running max m, a
 * running normalizer l and an unnormalized output row that are rescaled by exp(m_old - m_new) when the
 * max grows. It saves m and 1/l per row. Saving both instead of logsumexp = m + log l lets the backward
 * form {@code s - m} exactly as the forward did: with scores near 1e4, a float logsumexp would be off by
 * about 1e-3.
 *
 * <p>Backward, recomputing P_ij = exp(s_ij - m_i) / l_i block by block. It forms each tile of P and of
 * dS_ij = P_ij (dY_i . v_j - Delta_i) once and uses it for all three gradients, so it runs five T x T x D
 * products where a separate dQ pass would need seven:
 * <ol>
 *   <li>one task per (b, h, query block) computes Delta_i = dY_i . Y_i;</li>
 *   <li>one task per (b, h, key group) handles the key blocks g, g + G, g + 2G, ... of its group g in
 *       increasing order. For each block it walks the query rows i >= its first key in increasing order,
 *       accumulates dV_j = sum_i P_ij dY_i and dK_j = scale * sum_i dS_ij q_i, and adds
 *       sum_j dS_ij k_j to its group's partial dQ_i;</li>
 *   <li>one task per (b, h, query block) writes dQ_i = scale * (the sum of the G partials, in group
 *       order).</li>
 * </ol>
 * G = {@link #KEY_GROUPS} (fewer when T has fewer key blocks) gives the middle pass G tasks per head at
 * the cost of G partial dQ arrays, each the size of Q, so memory stays O(T * D). Task boundaries depend
 * only on (B, H, T), and each output value is summed by one task in one fixed order, so results are
 * bitwise identical at any thread count.
 *
 * <p>Each call first copies K (and V for backward) of every head into a transposed (B, H, D, T') array,
 * T' being T rounded up to {@link #KEY_BLOCK}, so that the score kernels read D rows of contiguous keys
 * and vectorize across keys. This costs O(T * D) memory per head, like q, k and v themselves.
 *
 * <p>Block sizes: 64 queries by 64 keys. A key-pass task keeps two 64 x 64 float tiles of weights
 * (P and dS) and two D x 64 transposed gradient accumulators, 64 KiB at D = 64. Tasks are handed to
 * threads in contiguous runs, and a causal block's work grows with its distance from the start, so the
 * blocks of each head are numbered outside-in (0, n-1, 1, n-2, ...). That way every run mixes long and
 * short tasks.
 */
public final class FlashAttention {
    /** Queries per forward and dQ task. A multiple of {@link #KEY_BLOCK}. */
    static final int QUERY_BLOCK = 64;
    /** Keys per block, which is also the row length of every scratch matrix. */
    static final int KEY_BLOCK = 64;
    /** Query rows that the inner kernels process together. Divides {@link #KEY_BLOCK}. */
    static final int ROW_GROUP = 4;
    /**
     * Key groups per head in the backward, each with its own partial dQ. With four, one sequence of two
     * heads still makes eight tasks. Key blocks are dealt to the groups in turn, so the groups' causal work
     * differs by at most one block's.
     */
    static final int KEY_GROUPS = 4;
    /**
     * Below about this many multiply-adds (B * H * T * T * D / 2) the op runs on the calling thread. An
     * estimate of where the pool hand-off stops paying, not a measurement.
     */
    static final long PARALLEL_MIN_WORK = 1L << 18;

    private FlashAttention() {}

    /** Sizes and strides of one call. */
    private record Dims(int batch, int t, int heads, int dim, float scale) {
        int c() {
            return heads * dim;
        }

        int qkvStride() {
            return 3 * heads * dim;
        }

        int blocks(int size) {
            return (t + size - 1) / size;
        }

        /** Offset in qkv of head h's q columns in row 0 of batch b. Add C for k and 2C for v. */
        int qBase(int b, int h) {
            return b * t * qkvStride() + h * dim;
        }

        /** Offset in y or dy of head h's columns in row 0 of batch b. */
        int yBase(int b, int h) {
            return b * t * c() + h * dim;
        }
    }

    /**
     * Computes y and the per-row statistics that {@link #backward} needs.
     *
     * @param qkv (B, T, 3C) from offset 0
     * @param y (B, T, C), overwritten
     * @param rowMax (B, H, T), overwritten with the max scaled score of each query row
     * @param rowInvSum (B, H, T), overwritten with 1 / sum_j exp(s_ij - rowMax_i)
     */
    public static void forward(float[] qkv, int batch, int t, int heads, int dim, float scale, float[] y,
            float[] rowMax, float[] rowInvSum) {
        Dims dims = new Dims(batch, t, heads, dim, scale);
        checkSizes(dims, qkv, y, rowMax, rowInvSum);
        boolean simd = Simd.enabled();
        float[] kT = transposeHeads(dims, qkv, dims.c());
        forTasks(dims, dims.blocks(QUERY_BLOCK), (bh, block) ->
                forwardBlock(simd, dims, qkv, kT, y, rowMax, rowInvSum, bh, block));
    }

    /**
     * Overwrites dqkv with the gradient of the loss with respect to qkv, given dy, the output y and the
     * statistics that {@link #forward} wrote for the same qkv.
     */
    public static void backward(float[] qkv, float[] y, float[] dy, float[] rowMax, float[] rowInvSum, int batch,
            int t, int heads, int dim, float scale, float[] dqkv) {
        Dims dims = new Dims(batch, t, heads, dim, scale);
        checkSizes(dims, qkv, y, rowMax, rowInvSum);
        Elementwise.checkRange(dy, 0, batch * t * dims.c(), "dy");
        Elementwise.checkRange(dqkv, 0, batch * t * dims.qkvStride(), "dqkv");
        boolean simd = Simd.enabled();
        float[] kT = transposeHeads(dims, qkv, dims.c());
        float[] vT = transposeHeads(dims, qkv, 2 * dims.c());
        float[] delta = Buffers.floats(batch * heads * t);
        forTasks(dims, dims.blocks(QUERY_BLOCK), (bh, block) -> rowDeltas(dims, y, dy, delta, bh, block));
        int groups = Math.min(KEY_GROUPS, dims.blocks(KEY_BLOCK));
        if ((long) groups * batch * heads * t * dim > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("attention backward of B=" + batch + ", H=" + heads + ", T=" + t
                    + ", D=" + dim + " needs " + groups + " partial dQ arrays, over the maximum array length");
        }
        float[] dqParts = Buffers.floats(groups * batch * heads * t * dim);
        // The key pass reads every row's Delta, so it starts only after the Delta pass has finished.
        forTasks(dims, groups, (bh, group) -> {
            for (int block = group; block < dims.blocks(KEY_BLOCK); block += groups) {
                keyGradBlock(simd, dims, qkv, kT, vT, dy, rowMax, rowInvSum, delta, dqkv, dqParts, groups, bh,
                        group, block);
            }
        });
        forTasks(dims, dims.blocks(QUERY_BLOCK), (bh, block) -> sumQueryGrads(dims, dqParts, groups, dqkv, bh,
                block));
    }

    private static void checkSizes(Dims dims, float[] qkv, float[] y, float[] rowMax, float[] rowInvSum) {
        if (dims.batch < 0 || dims.t < 0 || dims.heads < 1 || dims.dim < 0) {
            throw new IllegalArgumentException("invalid attention sizes: B=" + dims.batch + ", T=" + dims.t
                    + ", H=" + dims.heads + ", D=" + dims.dim + " (H must be at least 1, the rest non-negative)");
        }
        if ((long) dims.batch * dims.t * dims.qkvStride() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("qkv of " + dims.batch + " x " + dims.t + " x "
                    + dims.qkvStride() + " exceeds the maximum array length");
        }
        Elementwise.checkRange(qkv, 0, dims.batch * dims.t * dims.qkvStride(), "qkv");
        Elementwise.checkRange(y, 0, dims.batch * dims.t * dims.c(), "y");
        Elementwise.checkRange(rowMax, 0, dims.batch * dims.heads * dims.t, "rowMax");
        Elementwise.checkRange(rowInvSum, 0, dims.batch * dims.heads * dims.t, "rowInvSum");
    }

    @FunctionalInterface
    private interface BlockTask {
        void run(int bh, int block);
    }

    /** Runs {@code body} for every (b*H + h, block), in parallel once the problem is large enough. */
    private static void forTasks(Dims dims, int blocks, BlockTask body) {
        int tasks = dims.batch * dims.heads * blocks;
        long work = (long) dims.batch * dims.heads * dims.t * dims.t * Math.max(dims.dim, 1) / 2;
        if (work < PARALLEL_MIN_WORK) {
            for (int task = 0; task < tasks; task++) {
                body.run(task / blocks, outsideIn(task % blocks, blocks));
            }
            return;
        }
        Parallel.forRange(tasks, task -> body.run(task / blocks, outsideIn(task % blocks, blocks)));
    }

    /** Maps 0, 1, 2, 3, ... to 0, n-1, 1, n-2, ...: a permutation of [0, n). */
    static int outsideIn(int position, int n) {
        return (position & 1) == 0 ? position / 2 : n - 1 - position / 2;
    }

    /** Returns T rounded up to a whole number of key blocks: the row length of the transposed K and V. */
    private static int paddedT(Dims dims) {
        return (dims.t + KEY_BLOCK - 1) / KEY_BLOCK * KEY_BLOCK;
    }

    /**
     * Returns the columns {@code [column, column + D)} of every head as a (B, H, D, T') array, where the
     * head's columns start at {@code column + h*D}. Entries past T stay 0.
     */
    private static float[] transposeHeads(Dims dims, float[] qkv, int column) {
        int tp = paddedT(dims);
        int dim = dims.dim;
        int stride = dims.qkvStride();
        float[] out = Buffers.floats(dims.batch * dims.heads * dim * tp);
        BlockTask copy = (bh, unused) -> {
            int base = dims.qBase(bh / dims.heads, bh % dims.heads) + column;
            int outBase = bh * dim * tp;
            // Blocks of KEY_BLOCK rows: the block's source rows stay in cache while each output row of
            // the block is written contiguously. Row-at-a-time writes at stride T' thrash the cache.
            for (int j0 = 0; j0 < dims.t; j0 += KEY_BLOCK) {
                int j1 = Math.min(dims.t, j0 + KEY_BLOCK);
                for (int d = 0; d < dim; d++) {
                    int oo = outBase + d * tp;
                    for (int j = j0; j < j1; j++) {
                        out[oo + j] = qkv[base + j * stride + d];
                    }
                }
            }
        };
        forTasks(dims, 1, copy);
        return out;
    }

    private static void forwardBlock(boolean simd, Dims dims, float[] qkv, float[] kT, float[] y,
            float[] rowMax, float[] rowInvSum, int bh, int block) {
        int b = bh / dims.heads;
        int h = bh % dims.heads;
        int dim = dims.dim;
        int stride = dims.qkvStride();
        int qBase = dims.qBase(b, h);
        int vBase = qBase + 2 * dims.c();
        int i0 = block * QUERY_BLOCK;
        int i1 = Math.min(dims.t, i0 + QUERY_BLOCK);

        float[] acc = Scratch.floats(Scratch.ATTENTION_ACC, QUERY_BLOCK * dim);
        float[] max = Scratch.floats(Scratch.ATTENTION_MAX, QUERY_BLOCK);
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
        double[] sum = Scratch.doubles(Scratch.ATTENTION_SUM, QUERY_BLOCK);
        int tp = paddedT(dims);
        int kTBase = bh * dim * tp;
        float[] p = Scratch.floats(Scratch.ATTENTION_P, ROW_GROUP * KEY_BLOCK);

        // Keys stop at i1 - 1 (causal). Every row of this block is at or past j0 of every key block
        // visited, because QUERY_BLOCK is a multiple of KEY_BLOCK, so each row sees at least one key.
        for (int j0 = 0; j0 < i1; j0 += KEY_BLOCK) {
            int n = Math.min(i1, j0 + KEY_BLOCK) - j0;
            for (int g = i0; g < i1; g += ROW_GROUP) {
                int rows = Math.min(ROW_GROUP, i1 - g);
                scores(simd, qkv, qBase + g * stride, stride, rows, kT, kTBase + j0, tp, n, dim, dims.scale, p, 0);
                int groupCount = 0;
                for (int r = 0; r < rows; r++) {
                    int local = g - i0 + r;
                    int cnt = Math.min(n, g + r - j0 + 1);
                    int po = r * KEY_BLOCK;
                    float newMax = Math.max(max[local], rowMax(simd, p, po, cnt));
                    // max starts at -inf, so the first rescale is exp(-inf) = 0, applied to zero accumulators.
                    float rescale = (float) Math.exp(max[local] - newMax);
                    double blockSum = expShiftedSum(simd, p, po, cnt, newMax);
                    // Later rows of the group read further keys, so this row's weights there must be 0.
                    Arrays.fill(p, po + cnt, po + n, 0f);
                    sum[local] = sum[local] * rescale + blockSum;
                    max[local] = newMax;
                    if (rescale != 1f) {
                        int ao = local * dim;
                        for (int d = 0; d < dim; d++) {
                            acc[ao + d] *= rescale;
                        }
                    }
                    groupCount = Math.max(groupCount, cnt);
                }
                accumulateRows(simd, p, 0, rows, groupCount, qkv, vBase + j0 * stride, stride, dim, acc,
                        (g - i0) * dim);
            }
        }

        int yBase = dims.yBase(b, h);
        int c = dims.c();
        for (int i = i0; i < i1; i++) {
            int local = i - i0;
            float inv = (float) (1.0 / sum[local]);
            int yo = yBase + i * c;
            for (int d = 0; d < dim; d++) {
                y[yo + d] = acc[local * dim + d] * inv;
            }
            rowMax[bh * dims.t + i] = max[local];
            rowInvSum[bh * dims.t + i] = inv;
        }
    }

    /** Writes Delta_i = dY_i . Y_i, summed in double, for the rows of one query block. */
    private static void rowDeltas(Dims dims, float[] y, float[] dy, float[] delta, int bh, int block) {
        int c = dims.c();
        int yBase = dims.yBase(bh / dims.heads, bh % dims.heads);
        int statBase = bh * dims.t;
        int i0 = block * QUERY_BLOCK;
        int i1 = Math.min(dims.t, i0 + QUERY_BLOCK);
        for (int i = i0; i < i1; i++) {
            double dot = 0;
            int yo = yBase + i * c;
            for (int d = 0; d < dims.dim; d++) {
                dot += (double) dy[yo + d] * y[yo + d];
            }
            delta[statBase + i] = (float) dot;
        }
    }

    /** Offset in the partial dQ arrays of row 0 of (b*H + h, group); each part is (T, D). */
    private static int partBase(Dims dims, int groups, int bh, int group) {
        return (bh * groups + group) * dims.t * dims.dim;
    }

    /** Writes dQ = scale * (the sum of the group partials, in group order) for one query block. */
    private static void sumQueryGrads(Dims dims, float[] dqParts, int groups, float[] dqkv, int bh, int block) {
        int dim = dims.dim;
        int stride = dims.qkvStride();
        int qBase = dims.qBase(bh / dims.heads, bh % dims.heads);
        int i0 = block * QUERY_BLOCK;
        int i1 = Math.min(dims.t, i0 + QUERY_BLOCK);
        int first = partBase(dims, groups, bh, 0);
        int partSize = dims.t * dim;
        for (int i = i0; i < i1; i++) {
            int go = qBase + i * stride;
            for (int d = 0; d < dim; d++) {
                float sum = 0f;
                for (int g = 0; g < groups; g++) {
                    sum += dqParts[first + g * partSize + i * dim + d];
                }
                dqkv[go + d] = sum * dims.scale;
            }
        }
    }

    /**
     * Writes dK and dV of one key block and adds its share of dQ to the partial dQ of {@code group}. The
     * scratch tiles are this thread's, and the group's partial belongs to this task alone.
     */
    private static void keyGradBlock(boolean simd, Dims dims, float[] qkv, float[] kT, float[] vT, float[] dy,
            float[] rowMax, float[] rowInvSum, float[] delta, float[] dqkv, float[] dqParts, int groups, int bh,
            int group, int block) {
        int b = bh / dims.heads;
        int h = bh % dims.heads;
        int dim = dims.dim;
        int stride = dims.qkvStride();
        int c = dims.c();
        int qBase = dims.qBase(b, h);
        int kBase = qBase + c;
        int vBase = qBase + 2 * c;
        int yBase = dims.yBase(b, h);
        int statBase = bh * dims.t;
        int tp = paddedT(dims);
        int tBase = bh * dim * tp;
        int j0 = block * KEY_BLOCK;
        int n = Math.min(dims.t, j0 + KEY_BLOCK) - j0;
        int dqBase = partBase(dims, groups, bh, group);

        float[] dkT = Scratch.floats(Scratch.KEY_GRAD_DK, Math.max(dim, 1) * KEY_BLOCK);
        float[] dvT = Scratch.floats(Scratch.KEY_GRAD_DV, Math.max(dim, 1) * KEY_BLOCK);
        float[] p = Scratch.floats(Scratch.KEY_GRAD_P, QUERY_BLOCK * KEY_BLOCK);
        float[] ds = Scratch.floats(Scratch.KEY_GRAD_DS, QUERY_BLOCK * KEY_BLOCK);
        // Query rows before j0 see none of these keys. The rest go in chunks of QUERY_BLOCK rows: first
        // P and dS of the whole chunk, then one register-blocked update of dV and dK over its rows.
        for (int c0 = j0; c0 < dims.t; c0 += QUERY_BLOCK) {
            int chunk = Math.min(QUERY_BLOCK, dims.t - c0);
            for (int g = c0; g < c0 + chunk; g += ROW_GROUP) {
                int rows = Math.min(ROW_GROUP, c0 + chunk - g);
                int po = (g - c0) * KEY_BLOCK;
                scores(simd, qkv, qBase + g * stride, stride, rows, kT, tBase + j0, tp, n, dim, dims.scale, p, po);
                scores(simd, dy, yBase + g * c, c, rows, vT, tBase + j0, tp, n, dim, 1f, ds, po);
                for (int r = 0; r < rows; r++) {
                    int i = g + r;
                    int cnt = Math.min(n, i - j0 + 1);
                    int ro = po + r * KEY_BLOCK;
                    probsAndScoreGrads(simd, p, ds, ro, cnt, rowMax[statBase + i], rowInvSum[statBase + i],
                            delta[statBase + i]);
                    Arrays.fill(p, ro + cnt, ro + n, 0f);
                    Arrays.fill(ds, ro + cnt, ro + n, 0f);
                }
                // The rows' dS past their last key is 0 from the fill above, so all n keys can be added.
                accumulateRows(simd, ds, po, rows, n, qkv, kBase + j0 * stride, stride, dim, dqParts,
                        dqBase + g * dim);
            }
            accumulateOuter(simd, dy, yBase + c0 * c, c, chunk, dim, p, n, dvT);
            accumulateOuter(simd, qkv, qBase + c0 * stride, stride, chunk, dim, ds, n, dkT);
        }

        for (int j = 0; j < n; j++) {
            int ko = kBase + (j0 + j) * stride;
            int vo = vBase + (j0 + j) * stride;
            for (int d = 0; d < dim; d++) {
                dqkv[ko + d] = dkT[d * KEY_BLOCK + j] * dims.scale;
                dqkv[vo + d] = dvT[d * KEY_BLOCK + j];
            }
        }
    }

    // ---- dispatch to the vector or scalar twin ----

    private static void scores(boolean simd, float[] x, int xOff, int xStride, int rows, float[] kT, int kOff,
            int ldk, int n, int dim, float scale, float[] out, int outOff) {
        if (simd) {
            FlashAttentionVector.scores(x, xOff, xStride, rows, kT, kOff, ldk, n, dim, scale, out, outOff);
        } else {
            FlashAttentionScalar.scores(x, xOff, xStride, rows, kT, kOff, ldk, n, dim, scale, out, outOff);
        }
    }

    private static float rowMax(boolean simd, float[] s, int off, int cnt) {
        return simd ? FlashAttentionVector.rowMax(s, off, cnt) : FlashAttentionScalar.rowMax(s, off, cnt);
    }

    private static double expShiftedSum(boolean simd, float[] s, int off, int cnt, float shift) {
        return simd ? FlashAttentionVector.expShiftedSum(s, off, cnt, shift)
                : FlashAttentionScalar.expShiftedSum(s, off, cnt, shift);
    }

    private static void probsAndScoreGrads(boolean simd, float[] s, float[] dp, int off, int cnt, float max,
            float invSum, float delta) {
        if (simd) {
            FlashAttentionVector.probsAndScoreGrads(s, dp, off, cnt, max, invSum, delta);
        } else {
            FlashAttentionScalar.probsAndScoreGrads(s, dp, off, cnt, max, invSum, delta);
        }
    }

    private static void accumulateRows(boolean simd, float[] w, int wOff, int rows, int cnt, float[] src,
            int srcOff, int srcStride, int dim, float[] acc, int accOff) {
        if (simd) {
            FlashAttentionVector.accumulateRows(w, wOff, rows, cnt, src, srcOff, srcStride, dim, acc, accOff);
        } else {
            FlashAttentionScalar.accumulateRows(w, wOff, rows, cnt, src, srcOff, srcStride, dim, acc, accOff);
        }
    }

    private static void accumulateOuter(boolean simd, float[] x, int xOff, int xStride, int rows, int dim,
            float[] w, int n, float[] accT) {
        if (simd) {
            FlashAttentionVector.accumulateOuter(x, xOff, xStride, rows, dim, w, n, accT);
        } else {
            FlashAttentionScalar.accumulateOuter(x, xOff, xStride, rows, dim, w, n, accT);
        }
    }
}
