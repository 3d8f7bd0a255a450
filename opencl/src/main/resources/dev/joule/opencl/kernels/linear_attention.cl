// Causal linear and gated linear attention (energies linear and gated-linear), forward and backward,
// reading q, k, v from the fused (N, 3C) projection as attention.cl does (q in columns [0, C), k in
// [C, 2C), v in [2C, 3C); head h uses columns h D .. (h + 1) D). OpenClDevice compiles
// attention_layout.cl, the index helpers used here, in front of this file. Per head, with
// s_ij = scale q_i . k_j:
//
//   linear        out_i = sum_j<=i s_ij v_j
//   gated-linear  out_i = sum_j<=i G_ij s_ij v_j,  G_ij = prod_{t=j+1..i} g_t = exp(L_i - L_j)
//
// with g_t = sigmoid(z_t), z (B, T, H) the gate logits (the Linear attn.gate on ln_1's output, computed
// by matmul_forward), and L_i = sum_{t<=i} log g_t. For j <= i, L_i - L_j <= 0, so G never overflows.
//
// Algorithm (materialized weights, as attention.cl; memory B H T T floats per layer):
//   gate_log_decay          per (b, h):       L (B, H, T), the running sum of log sigmoid(z) over t
//   linear_scores           per row (b, h, i): att_ij = s_ij (times G_ij when gated), zero for j > i
//   attention_values        (attention.cl):    out = att v
// Backward, with dy the gradient of the (N, C) output:
//   linear_backward_scores  per row (b, h, i): dp_ij = dy_i . v_j, zero for j > i
//   gated only, before the scaling below:
//   gate_backward_decay     per (b, h, i): dL_i = sum_{j<i} E_ij - sum_{i'>i} E_i'i, E = dp * att
//                           (E_ij = dG_ij G_ij; the diagonal terms cancel, as G_ii = 1, and are left out)
//   gate_backward_logits    per (b, t, h): dz_t = (1 - g_t) sum_{i>=t} dL_i  (d log sigmoid(z) / dz = 1 - g)
//   gate_scale_scores       per element:   dp_ij *= G_ij, the gradient of s_ij
//   then attention_backward_q and attention_backward_kv (attention.cl) give dq = scale sum_j ds_ij k_j,
//   dk = scale sum_i ds_ij q_i and dv = sum_i att_ij dy_i. The gate's weight, bias and input (ln_1's
//   output) gradients follow from dz through the matmul backward kernels.
//
// Every output element has one owner that sums in a fixed order: no atomics, deterministic.
// Work-group: one work item per row or element, local size left to the driver; the per-item loops run
// over T, at most a few hundred here.

// log sigmoid(z) = min(z, 0) - log(1 + exp(-|z|)), the form of the CPU layer, which overflows for no z.
inline float log_sigmoid(const float z) {
    return fmin(z, 0.0f) - log1p(exp(-fabs(z)));
}

// logdecay (B, H, T) from the gate logits z (B, T, H).
__kernel void gate_log_decay(__global float* logdecay, const __global float* z, const int batch, const int t,
                             const int heads) {
    const int row = get_global_id(0);
    if (row >= batch * heads) {
        return;
    }
    const int h = row % heads;
    const int b = row / heads;
    float acc = 0.0f;
    for (int i = 0; i < t; i++) {
        acc += log_sigmoid(z[((long) b * t + i) * heads + h]);
        logdecay[(long) row * t + i] = acc;
    }
}

// att (B, H, T, T) from qkv (B, T, 3C); logdecay (B, H, T) is read only when gated is 1.
__kernel void linear_scores(__global float* att, const __global float* qkv, const __global float* logdecay,
                            const int gated, const int batch, const int t, const int c, const int heads,
                            const float scale) {
    const int row = get_global_id(0);
    if (row >= batch * heads * t) {
        return;
    }
    const head_pos pos = head_pos_of_row(row, t, c, heads);
    const int i = pos.i;
    const __global float* q = qkv + q_at(pos, i);
    const __global float* ld = logdecay + (long) (row - i);
    __global float* a = att + (long) row * t;
    for (int j = 0; j <= i; j++) {
        const float s = head_dot(q, qkv + k_at(pos, j), pos.d) * scale;
        a[j] = gated ? exp(ld[i] - ld[j]) * s : s;
    }
    zero_above_diagonal(a, i, t);
}

// dpre (B, H, T, T): dp_ij = dy_i . v_j below and on the diagonal, zero above.
__kernel void linear_backward_scores(__global float* dpre, const __global float* qkv, const __global float* dout,
                                     const int batch, const int t, const int c, const int heads) {
    const int row = get_global_id(0);
    if (row >= batch * heads * t) {
        return;
    }
    const head_pos pos = head_pos_of_row(row, t, c, heads);
    const __global float* dy = dout + token_at(pos, pos.i);
    __global float* dp = dpre + (long) row * t;
    for (int j = 0; j <= pos.i; j++) {
        dp[j] = head_dot(dy, qkv + v_at(pos, j), pos.d);
    }
    zero_above_diagonal(dp, pos.i, t);
}

// dlog (B, H, T): the gradient of L_i, from dp (B, H, T, T, before gate_scale_scores) and att.
__kernel void gate_backward_decay(__global float* dlog, const __global float* dpre, const __global float* att,
                                  const int batch, const int t, const int heads) {
    const int row = get_global_id(0);
    if (row >= batch * heads * t) {
        return;
    }
    const int i = row % t;
    const long head = (long) (row - i) * t;
    const long own = (long) row * t;
    float acc = 0.0f;
    // L_i enters G_ij as +L_i for the keys j < i of query i ...
    for (int j = 0; j < i; j++) {
        acc += dpre[own + j] * att[own + j];
    }
    // ... and as -L_i for the queries i' > i that read key i.
    for (int q = i + 1; q < t; q++) {
        const long at = head + (long) q * t + i;
        acc -= dpre[at] * att[at];
    }
    dlog[row] = acc;
}

// dz (B, T, H): the gradient of the gate logits, from dlog (B, H, T) and z (B, T, H).
__kernel void gate_backward_logits(__global float* dz, const __global float* dlog, const __global float* z,
                                   const int batch, const int t, const int heads) {
    const int idx = get_global_id(0);
    if (idx >= batch * t * heads) {
        return;
    }
    const int h = idx % heads;
    const int s = (idx / heads) % t;
    const int b = idx / (heads * t);
    // log g_s is a term of every L_i with i >= s.
    const __global float* dl = dlog + ((long) b * heads + h) * t;
    float acc = 0.0f;
    for (int i = s; i < t; i++) {
        acc += dl[i];
    }
    // 1 - sigmoid(z) = 1 / (1 + exp(z)), as the CPU writes it.
    dz[idx] = acc / (1.0f + exp(z[idx]));
}

// In place on dpre (B, H, T, T): dp_ij G_ij for j <= i (the entries above the diagonal are already zero).
__kernel void gate_scale_scores(__global float* dpre, const __global float* logdecay, const int batch,
                                const int t, const int heads) {
    const int idx = get_global_id(0);
    if (idx >= batch * heads * t * t) {
        return;
    }
    const int j = idx % t;
    const int row = idx / t;
    const int i = row % t;
    if (j > i) {
        return;
    }
    const __global float* ld = logdecay + (long) (row - i);
    dpre[idx] *= exp(ld[i] - ld[j]);
}
