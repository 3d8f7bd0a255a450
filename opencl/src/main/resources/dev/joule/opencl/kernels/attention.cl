// Causal multi-head softmax attention, forward and backward, reading q, k, v from the fused (N, 3C)
// projection (q in columns [0, C), k in [C, 2C), v in [2C, 3C); head h uses columns h D .. (h + 1) D).
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
    const int i = row % t;
    const int h = (row / t) % heads;
    const int b = row / (t * heads);
    const int d = c / heads;
    const int c3 = 3 * c;
    const __global float* q = qkv + ((long) b * t + i) * c3 + h * d;
    __global float* a = att + (long) row * t;
    float mx = -INFINITY;
    for (int j = 0; j <= i; j++) {
        const __global float* k = qkv + ((long) b * t + j) * c3 + c + h * d;
        float s = 0.0f;
        for (int e = 0; e < d; e++) {
            s += q[e] * k[e];
        }
        s *= scale;
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
    for (int j = i + 1; j < t; j++) {
        a[j] = 0.0f;
    }
}

// out (B, T, C) = att v.
__kernel void attention_values(__global float* out, const __global float* att, const __global float* qkv,
                               const int batch, const int t, const int c, const int heads) {
    const int idx = get_global_id(0);
    if (idx >= batch * t * c) {
        return;
    }
    const int ch = idx % c;
    const int i = (idx / c) % t;
    const int b = idx / (c * t);
    const int d = c / heads;
    const int h = ch / d;
    const int c3 = 3 * c;
    const __global float* a = att + (((long) b * heads + h) * t + i) * t;
    const __global float* v = qkv + (long) b * t * c3 + 2 * c + ch;
    float acc = 0.0f;
    for (int j = 0; j <= i; j++) {
        acc += a[j] * v[(long) j * c3];
    }
    out[idx] = acc;
}

// dpre (B, H, T, T): the gradient of the scaled scores before the softmax, zero above the diagonal.
__kernel void attention_backward_scores(__global float* dpre, const __global float* att,
                                        const __global float* qkv, const __global float* dout,
                                        const int batch, const int t, const int c, const int heads) {
    const int row = get_global_id(0);
    if (row >= batch * heads * t) {
        return;
    }
    const int i = row % t;
    const int h = (row / t) % heads;
    const int b = row / (t * heads);
    const int d = c / heads;
    const int c3 = 3 * c;
    const __global float* dy = dout + ((long) b * t + i) * c + h * d;
    const __global float* a = att + (long) row * t;
    __global float* ds = dpre + (long) row * t;
    float dot = 0.0f;
    for (int j = 0; j <= i; j++) {
        const __global float* v = qkv + ((long) b * t + j) * c3 + 2 * c + h * d;
        float dp = 0.0f;
        for (int e = 0; e < d; e++) {
            dp += dy[e] * v[e];
        }
        ds[j] = dp;
        dot += a[j] * dp;
    }
    for (int j = 0; j <= i; j++) {
        ds[j] = a[j] * (ds[j] - dot);
    }
    for (int j = i + 1; j < t; j++) {
        ds[j] = 0.0f;
    }
}

// The q third of dqkv (B, T, 3C).
__kernel void attention_backward_q(__global float* dqkv, const __global float* dpre, const __global float* qkv,
                                   const int batch, const int t, const int c, const int heads,
                                   const float scale) {
    const int idx = get_global_id(0);
    if (idx >= batch * t * c) {
        return;
    }
    const int ch = idx % c;
    const int i = (idx / c) % t;
    const int b = idx / (c * t);
    const int h = ch / (c / heads);
    const int c3 = 3 * c;
    const __global float* ds = dpre + (((long) b * heads + h) * t + i) * t;
    const __global float* k = qkv + (long) b * t * c3 + c + ch;
    float acc = 0.0f;
    for (int j = 0; j <= i; j++) {
        acc += ds[j] * k[(long) j * c3];
    }
    dqkv[((long) b * t + i) * c3 + ch] = scale * acc;
}

// The k and v thirds of dqkv (B, T, 3C).
__kernel void attention_backward_kv(__global float* dqkv, const __global float* dpre, const __global float* att,
                                    const __global float* qkv, const __global float* dout, const int batch,
                                    const int t, const int c, const int heads, const float scale) {
    const int idx = get_global_id(0);
    if (idx >= batch * t * c) {
        return;
    }
    const int ch = idx % c;
    const int j = (idx / c) % t;
    const int b = idx / (c * t);
    const int h = ch / (c / heads);
    const int c3 = 3 * c;
    const long head_base = ((long) b * heads + h) * t;
    float dk = 0.0f;
    float dv = 0.0f;
    for (int i = j; i < t; i++) {
        const long at = (head_base + i) * t + j;
        dk += dpre[at] * qkv[((long) b * t + i) * c3 + ch];
        dv += att[at] * dout[((long) b * t + i) * c + ch];
    }
    const long base = ((long) b * t + j) * c3;
    dqkv[base + c + ch] = scale * dk;
    dqkv[base + 2 * c + ch] = dv;
}
