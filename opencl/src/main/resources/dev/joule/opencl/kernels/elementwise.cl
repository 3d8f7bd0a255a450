// Element-wise kernels of the GPT step: GELU forward and backward, the residual add and AdamW.
//
// Algorithm: one work item per element, no communication, so any work-group size is correct; the host
// leaves the local size to the driver (NULL) and rounds the global size up to a multiple of 64, which
// suits the wavefront and warp widths of current GPUs and the vector width of pocl's CPU device.
// Every result depends on its own element alone, so the kernels are deterministic.

// GELU, tanh approximation (Hendrycks and Gimpel 2016): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f

__kernel void gelu_forward(__global float* out, const __global float* inp, const int n) {
    const int i = get_global_id(0);
    if (i >= n) {
        return;
    }
    const float x = inp[i];
    const float t = tanh(GELU_K * (x + GELU_C * x * x * x));
    out[i] = 0.5f * x * (1.0f + t);
}

// dinp = dout * gelu'(inp). dinp may be the same buffer as dout.
__kernel void gelu_backward(__global float* dinp, const __global float* inp, const __global float* dout,
                            const int n) {
    const int i = get_global_id(0);
    if (i >= n) {
        return;
    }
    const float x = inp[i];
    const float t = tanh(GELU_K * (x + GELU_C * x * x * x));
    const float du = GELU_K * (1.0f + 3.0f * GELU_C * x * x);
    const float d = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
    dinp[i] = dout[i] * d;
}

// out = a + b; out may alias a or b.
__kernel void residual_forward(__global float* out, const __global float* a, const __global float* b,
                               const int n) {
    const int i = get_global_id(0);
    if (i >= n) {
        return;
    }
    out[i] = a[i] + b[i];
}

// One AdamW update (Loshchilov and Hutter 2019) of n parameters, with the gradient first scaled for
// clipping by global norm: norm[0] is the norm of all gradients (from grad_norm.cl); when clip > 0 and
// the norm exceeds it, every gradient is multiplied by clip / (norm + 1e-6), as the CPU trainer does.
//   m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2
//   p = p - lr (m / c1 / (sqrt(v / c2) + eps) + wd p)      c1 = 1 - beta1^t, c2 = 1 - beta2^t
// The decay uses p from before the update and is not divided by the adaptive denominator.
__kernel void adamw(__global float* param, const __global float* grad, __global float* m, __global float* v,
                    const __global float* norm, const int n, const float lr, const float beta1,
                    const float beta2, const float eps, const float wd, const float c1, const float c2,
                    const float clip) {
    const int i = get_global_id(0);
    if (i >= n) {
        return;
    }
    const float total = norm[0];
    const float scale = (clip > 0.0f && total > clip) ? clip / (total + 1e-6f) : 1.0f;
    const float g = grad[i] * scale;
    const float mi = beta1 * m[i] + (1.0f - beta1) * g;
    const float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float p = param[i];
    param[i] = p - lr * ((mi / c1) / (sqrt(vi / c2) + eps) + wd * p);
}
