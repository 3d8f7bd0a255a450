// Causal multi-head softmax attention, forward and backward, reading q, k, v from the fused (N, 3C)
// projection (q in columns [0, C), k in [C, 2C), v in [2C, 3C); head h uses columns h D .. (h + 1) D).
// OpenClDevice compiles attention_layout.cl, the index helpers used here, in front of this file.
//
// Algorithm (materialized scores; simple and exact, memory B H T T floats per layer):
//   attention_softmax    per row (b, h, i):  att[j] = softmax_j<=i(scale q_i . k_j), zero for j > i
//   attention_values     per (b, i, c):      out[b, i, c] = sum_j<=i att[b, h, i, j] v[b, j, c]
// Backward, with dy the gradient of the (N, C) output and p = att:
//   attention_backward_scores  per row (b, h, i): dp_j = dy_i . v_j,
//                              ds_ij = p_ij (dp_j - sum_k p_ik dp_k)     stored (B, H, T, T)
//   attention_backward_q       per (b, i, c): dq = scale sum_j<=i ds_ij k_j
//   attention_backward_kv      per (b, j, c): dk = scale sum_i>=j ds_ij q_i,  dv = sum_i>=j p_ij dy_i
// Splitting the backward by the index that is summed over gives every output element one owner, so
// k and v need no atomics and every sum runs in increasing order: deterministic.
//
// Work-group: one work item per row or element, local size left to the driver. T is at most a few
// hundred here, so per-item loops over T are short; a tiled flash-attention kernel would trade this
// simplicity for less memory traffic at long contexts.

// att (B, H, T, T) from qkv (B, T, 3C).
__kernel void attention_softmax(__global float* att, const __global float* qkv, const int batch, const int t,
                                const int c, const int heads, const float scale) {
    const int row = get_global_id(0);
    if (row >= batch * heads * t) {
        return;
    }
    const head_pos pos = head_pos_of_row(row, t, c, heads);
    const int i = pos.i;
    const __global float* q = qkv + q_at(pos, i);
    __global float* a = att + (long) row * t;
    float mx = -INFINITY;
    for (int j = 0; j <= i; j++) {
        const float s = head_dot(q, qkv + k_at(pos, j), pos.d) * scale;
        a[j] = s;
        mx = fmax(mx, s);
    }
    float sum = 0.0f;
    for (int j = 0; j <= i; j++) {
        const float e = exp(a[j] - mx);
        a[j] = e;
        sum += e;
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j <= i; j++) {
        a[j] *= inv;
    }
    zero_above_diagonal(a, i, t);
}

// out (B, T, C) = att v.
__kernel void attention_values(__global float* out, const __global float* att, const __global float* qkv,
                               const int batch, const int t, const int c, const int heads) {
    const int idx = get_global_id(0);
    if (idx >= batch * t * c) {
        return;
    }
    const head_pos pos = head_pos_of_element(idx, t, c, heads);
    out[idx] = causal_row_dot(att + att_row_at(pos, pos.i), qkv + v_at(pos, 0), 3 * c, pos.i);
}

// dpre (B, H, T, T): the gradient of the scaled scores before the softmax, zero above the diagonal.
__kernel void attention_backward_scores(__global float* dpre, const __global float* att,
                                        const __global float* qkv, const __global float* dout,
                                        const int batch, const int t, const int c, const int heads) {
    const int row = get_global_id(0);
    if (row >= batch * heads * t) {
        return;
    }
    const head_pos pos = head_pos_of_row(row, t, c, heads);
    const __global float* dy = dout + token_at(pos, pos.i);
    const __global float* a = att + (long) row * t;
    __global float* ds = dpre + (long) row * t;
    float dot = 0.0f;
    for (int j = 0; j <= pos.i; j++) {
        const float dp = head_dot(dy, qkv + v_at(pos, j), pos.d);
        ds[j] = dp;
        dot += a[j] * dp;
    }
    softmax_backward_row(ds, a, dot, pos.i, t);
}

// The q third of dqkv (B, T, 3C).
__kernel void attention_backward_q(__global float* dqkv, const __global float* dpre, const __global float* qkv,
                                   const int batch, const int t, const int c, const int heads,
                                   const float scale) {
    const int idx = get_global_id(0);
    if (idx >= batch * t * c) {
        return;
    }
    const head_pos pos = head_pos_of_element(idx, t, c, heads);
    const float acc = causal_row_dot(dpre + att_row_at(pos, pos.i), qkv + k_at(pos, 0), 3 * c, pos.i);
    dqkv[q_at(pos, pos.i)] = scale * acc;
}

// The k and v thirds of dqkv (B, T, 3C).
__kernel void attention_backward_kv(__global float* dqkv, const __global float* dpre, const __global float* att,
                                    const __global float* qkv, const __global float* dout, const int batch,
                                    const int t, const int c, const int heads, const float scale) {
    const int idx = get_global_id(0);
    if (idx >= batch * t * c) {
        return;
    }
    // This item owns key j; its gradients sum over the queries i >= j.
    const head_pos pos = head_pos_of_element(idx, t, c, heads);
    const int j = pos.i;
    float dk = 0.0f;
    float dv = 0.0f;
    for (int i = j; i < t; i++) {
        const long at = att_row_at(pos, i) + j;
        dk += dpre[at] * qkv[q_at(pos, i)];
        dv += att[at] * dout[token_at(pos, i)];
    }
    dqkv[k_at(pos, j)] = scale * dk;
    dqkv[v_at(pos, j)] = dv;
}
