// Fused softmax and cross-entropy over the vocabulary, forward and backward, and the mean loss.
//
// Algorithm: per row n of logits (N, V), probs = softmax(logits) with the row maximum subtracted, and
// loss_n = log(sum exp(x - max)) - (x_target - max). A target of -1 leaves the row out: its loss and
// gradient are zero, and the host divides by the number of counted rows. The probabilities overwrite the logits in place
// (each work item owns its row), which the backward turns into the logit gradient
//   dlogits[n, v] = (probs[n, v] - [v == target_n]) * scale,   scale = 1 / (counted rows).
// mean_loss adds the N losses in order in one work item: N is a few thousand, and a fixed order keeps
// the loss reproducible.
//
// Work-group: one work item per row (forward) or element (backward), local size left to the driver.
// A row of V = 256 (byte tokens) is short; for a 50k vocabulary a work-group per row with a local
// reduction would be the next step.

__kernel void crossentropy_forward(__global float* losses, __global float* logits_probs,
                                   const __global int* targets, const int rows, const int v) {
    const int r = get_global_id(0);
    if (r >= rows) {
        return;
    }
    __global float* x = logits_probs + (long) r * v;
    float mx = -INFINITY;
    for (int i = 0; i < v; i++) {
        mx = fmax(mx, x[i]);
    }
    const int tg = targets[r];
    const float target_logit = tg >= 0 ? x[tg] : 0.0f;
    float sum = 0.0f;
    for (int i = 0; i < v; i++) {
        const float e = exp(x[i] - mx);
        x[i] = e;
        sum += e;
    }
    const float inv = 1.0f / sum;
    for (int i = 0; i < v; i++) {
        x[i] *= inv;
    }
    losses[r] = tg >= 0 ? log(sum) - (target_logit - mx) : 0.0f;
}

// In place: probs (rows, v) becomes dlogits.
__kernel void crossentropy_backward(__global float* probs_dlogits, const __global int* targets, const int rows,
                                    const int v, const float scale) {
    const int i = get_global_id(0);
    if (i >= rows * v) {
        return;
    }
    const int r = i / v;
    const int col = i % v;
    const int tg = targets[r];
    const float onehot = col == tg ? 1.0f : 0.0f;
    probs_dlogits[i] = tg >= 0 ? (probs_dlogits[i] - onehot) * scale : 0.0f;
}

// out[index] = sum of losses[0, rows) / count, count being the rows whose target is not -1. One work item.
__kernel void mean_loss(__global float* out, const __global float* losses, const int rows, const int count,
                        const int index) {
    if (get_global_id(0) != 0) {
        return;
    }
    float s = 0.0f;
    for (int r = 0; r < rows; r++) {
        s += losses[r];
    }
    out[index] = s / count;
}
