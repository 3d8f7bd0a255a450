// Layer norm over the last axis (Ba et al. 2016), forward and backward, eps given by the host (1e-5).
//
// Algorithm: y = (x - mean) * rstd * w + b with rstd = 1 / sqrt(var + eps) and the biased variance,
// computed in two passes over the row (mean first, then the centred squares) for accuracy. The forward
// saves mean and rstd per row for the backward. The input gradient of a row is
//   dx = rstd * (dy w - mean(dy w) - xhat * mean(dy w * xhat)),  xhat = (x - mean) * rstd,
// and the parameter gradients are column sums over the rows: dw = sum dy * xhat, db = sum dy.
//
// Work-group: one work item per row (forward, input backward) or per column (parameter backward), local
// size left to the driver. The widths here (C up to about a thousand) make a per-row loop cheap next to
// the matmuls, and a single owner per output keeps the sums in a fixed order: deterministic, no atomics.

__kernel void layernorm_forward(__global float* out, __global float* mean, __global float* rstd,
                                const __global float* inp, const __global float* w, const __global float* b,
                                const int rows, const int c, const float eps) {
    const int r = get_global_id(0);
    if (r >= rows) {
        return;
    }
    const __global float* x = inp + (long) r * c;
    float s = 0.0f;
    for (int i = 0; i < c; i++) {
        s += x[i];
    }
    const float mu = s / c;
    float ss = 0.0f;
    for (int i = 0; i < c; i++) {
        const float d = x[i] - mu;
        ss += d * d;
    }
    const float rs = 1.0f / sqrt(ss / c + eps);
    __global float* y = out + (long) r * c;
    for (int i = 0; i < c; i++) {
        y[i] = (x[i] - mu) * rs * w[i] + b[i];
    }
    mean[r] = mu;
    rstd[r] = rs;
}

// dinp (rows, c) (+)= the input gradient of the layer norm for upstream gradient dout.
__kernel void layernorm_backward_input(__global float* dinp, const __global float* dout,
                                       const __global float* inp, const __global float* mean,
                                       const __global float* rstd, const __global float* w,
                                       const int rows, const int c, const int accumulate) {
    const int r = get_global_id(0);
    if (r >= rows) {
        return;
    }
    const __global float* x = inp + (long) r * c;
    const __global float* dy = dout + (long) r * c;
    const float mu = mean[r];
    const float rs = rstd[r];
    float sum1 = 0.0f;
    float sum2 = 0.0f;
    for (int i = 0; i < c; i++) {
        const float g = dy[i] * w[i];
        sum1 += g;
        sum2 += g * (x[i] - mu) * rs;
    }
    const float m1 = sum1 / c;
    const float m2 = sum2 / c;
    __global float* dx = dinp + (long) r * c;
    for (int i = 0; i < c; i++) {
        const float xhat = (x[i] - mu) * rs;
        const float g = rs * (dy[i] * w[i] - m1 - xhat * m2);
        dx[i] = accumulate ? dx[i] + g : g;
    }
}

// dw (c) = sum over rows of dout * xhat, db (c) = sum over rows of dout; one work item per column.
__kernel void layernorm_backward_params(__global float* dw, __global float* db, const __global float* dout,
                                        const __global float* inp, const __global float* mean,
                                        const __global float* rstd, const int rows, const int c) {
    const int i = get_global_id(0);
    if (i >= c) {
        return;
    }
    float sw = 0.0f;
    float sb = 0.0f;
    for (int r = 0; r < rows; r++) {
        const long at = (long) r * c + i;
        const float g = dout[at];
        sw += g * (inp[at] - mean[r]) * rstd[r];
        sb += g;
    }
    dw[i] = sw;
    db[i] = sb;
}
