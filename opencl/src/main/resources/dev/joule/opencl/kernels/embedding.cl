// Token and position embedding of the GPT input, forward and backward.
//
// Algorithm: out[b, t, :] = wte[token[b, t], :] + wpe[t, :]. The backward scatters the gradient of each
// position into the row of its token, where several positions may share a token. To stay deterministic
// without float atomics, the host (which holds the tokens anyway) sorts the positions by token with a
// counting sort before uploading them: positions[row_start[v] .. row_start[v + 1]) are the positions
// holding token v, in increasing order. Work item (v, c) then owns dwte[v, c] and adds the gradients of
// its positions in that order. The position table's gradient dwpe[t, c] is owned by work item (t, c),
// which sums over the batch in order.
//
// Work-group: one work item per output element, local size left to the driver; the host rounds the
// global size up to a multiple of 64.

__kernel void encoder_forward(__global float* out, const __global int* tokens, const __global float* wte,
                              const __global float* wpe, const int batch, const int t, const int c) {
    const int i = get_global_id(0);
    if (i >= batch * t * c) {
        return;
    }
    const int ch = i % c;
    const int n = i / c;
    const int pos = n % t;
    out[i] = wte[(long) tokens[n] * c + ch] + wpe[(long) pos * c + ch];
}

// dwte (vocab, c) (+)= the scattered gradient dout (n, c), using the counting-sorted positions.
__kernel void encoder_backward_wte(__global float* dwte, const __global float* dout,
                                   const __global int* row_start, const __global int* positions,
                                   const int vocab, const int c, const int accumulate) {
    const int i = get_global_id(0);
    if (i >= vocab * c) {
        return;
    }
    const int v = i / c;
    const int ch = i % c;
    float acc = 0.0f;
    for (int k = row_start[v]; k < row_start[v + 1]; k++) {
        acc += dout[(long) positions[k] * c + ch];
    }
    dwte[i] = accumulate ? dwte[i] + acc : acc;
}

// dwpe[0, t) (t, c) = sum over the batch of dout (batch, t, c).
__kernel void encoder_backward_wpe(__global float* dwpe, const __global float* dout, const int batch,
                                   const int t, const int c) {
    const int i = get_global_id(0);
    if (i >= t * c) {
        return;
    }
    float acc = 0.0f;
    for (int b = 0; b < batch; b++) {
        acc += dout[(long) b * t * c + i];
    }
    dwpe[i] = acc;
}
