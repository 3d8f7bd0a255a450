// The across-layer momentum of the attention half (optimizers momentum and nesterov), forward and
// backward. Block l receives the residual x and the velocity m (both (B, T, C), flat n = B T C) and
// the attention update u computed from ln_1 of its input; mu = sigmoid(theta) with theta the block's
// one-element parameter attn.momentum_logit.
//
// Algorithm:
//   momentum_lookahead     per element: a = x + mu m               (nesterov's input to ln_1)
//   momentum_forward       per element: m' = mu m + u (u alone in the first block, where m = 0),
//                                       x' = x + m'
// Backward, with dx' the gradient of x' (once the MLP half's backward has added its part), dm' the
// gradient of m' from the later blocks, g = dm' + dx' the total gradient of m', and da the gradient of
// ln_1's input a (the look-ahead for nesterov, x itself for momentum):
//   d u = g;  for nesterov let g~ = g + da, for momentum g~ = g
//   momentum_backward      per element: dx = dx' + da,  dm = mu g~
//   momentum_dot_partial   stage 1 of dmu = sum_i g~_i m_i over fixed slices (as in grad_norm.cl)
//   momentum_dot_finish    stage 2, and dtheta = dmu mu (1 - mu)
//
// Work sizes: the per-element kernels use one work item per element with the local size left to the
// driver (global rounded up to 64). The dot product uses work-groups of WG = 64 items over slices of
// CHUNK = 4096 elements, then one work-group for the partial sums: the same fixed reduction tree as the
// gradient norm, so dtheta is bitwise reproducible on a given device. No atomics anywhere.

#define WG 64
#define CHUNK 4096

// sigmoid(t) = exp(log sigmoid(t)) with log sigmoid(t) = min(t, 0) - log(1 + exp(-|t|)), the form the
// CPU layer uses, which overflows for no t.
inline float momentum_mu(const __global float* theta) {
    const float t = theta[0];
    return exp(fmin(t, 0.0f) - log1p(exp(-fabs(t))));
}

// a = x + mu m. a must not alias x or m.
__kernel void momentum_lookahead(__global float* a, const __global float* x, const __global float* m,
                                 const __global float* theta, const int n) {
    const int i = get_global_id(0);
    if (i >= n) {
        return;
    }
    a[i] = x[i] + momentum_mu(theta) * m[i];
}

// mout = mu mprev + u (has_prev = 1) or u (has_prev = 0, where mprev and theta are not read);
// xout = x + mout. Neither output may alias an input.
__kernel void momentum_forward(__global float* xout, __global float* mout, const __global float* x,
                               const __global float* mprev, const __global float* u,
                               const __global float* theta, const int has_prev, const int n) {
    const int i = get_global_id(0);
    if (i >= n) {
        return;
    }
    const float m = has_prev ? momentum_mu(theta) * mprev[i] + u[i] : u[i];
    mout[i] = m;
    xout[i] = x[i] + m;
}

// In place: dx += da; dm = mu (dm + look da), with dm holding g on entry. look is 1 for nesterov.
// Runs after momentum_dot_partial, which reads the same g.
__kernel void momentum_backward(__global float* dx, __global float* dm, const __global float* da,
                                const __global float* theta, const int look, const int n) {
    const int i = get_global_id(0);
    if (i >= n) {
        return;
    }
    const float d = da[i];
    dx[i] += d;
    dm[i] = momentum_mu(theta) * (look ? dm[i] + d : dm[i]);
}

inline void momentum_tree(__local float* s, const int lid) {
    for (int stride = WG / 2; stride > 0; stride >>= 1) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < stride) {
            s[lid] += s[lid + stride];
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

// partials[g] = sum over the slice [g CHUNK, min((g + 1) CHUNK, n)) of (dm + look da) m.
// Local size WG, global WG * groups.
__kernel void momentum_dot_partial(__global float* partials, const __global float* dm, const __global float* da,
                                   const __global float* m, const int look, const int n) {
    __local float s[WG];
    const int lid = get_local_id(0);
    const int g = get_group_id(0);
    const long start = (long) g * CHUNK;
    const long end = min(start + CHUNK, (long) n);
    float acc = 0.0f;
    for (long i = start + lid; i < end; i += WG) {
        const float grad = look ? dm[i] + da[i] : dm[i];
        acc += grad * m[i];
    }
    s[lid] = acc;
    momentum_tree(s, lid);
    if (lid == 0) {
        partials[g] = s[0];
    }
}

// dtheta[0] = mu (1 - mu) * sum of partials[0, count): the chain rule through mu = sigmoid(theta).
// The gradient is written, not added, since theta has no other use. One work-group of WG items.
__kernel void momentum_dot_finish(__global float* dtheta, const __global float* partials,
                                  const __global float* theta, const int count) {
    __local float s[WG];
    const int lid = get_local_id(0);
    float acc = 0.0f;
    for (int i = lid; i < count; i += WG) {
        acc += partials[i];
    }
    s[lid] = acc;
    momentum_tree(s, lid);
    if (lid == 0) {
        const float mu = momentum_mu(theta);
        dtheta[0] = s[0] * mu * (1.0f - mu);
    }
}
