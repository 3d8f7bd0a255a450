// Global L2 norm of all gradients, in two stages with a fixed order of summation.
//
// Algorithm: the gradients live in one flat buffer. Stage 1 (sumsq_partial) gives work-group g the
// fixed slice [g * CHUNK, (g + 1) * CHUNK); work item i of the group sums the squares of elements
// i, i + WG, i + 2 WG, ... of that slice in order, then the group adds its WG partial sums by a tree
// reduction in local memory whose pairing is fixed. Stage 2 (sum_partials) is one work-group that
// reduces the per-group sums the same way and stores sqrt(total) in out[index].
//
// Work-group: WG = 64 work items, fixed, because the pairing of the tree (and hence the rounding)
// depends on it; 64 is accepted by every device and fills a wavefront. CHUNK = 4096 elements per group
// keeps the number of partials small (about 250 for a million parameters).
//
// Determinism: the slice boundaries, the per-item strides and the tree depend only on the buffer
// length, never on the device's scheduling, so the norm is bitwise reproducible on a given device.

#define WG 64
#define CHUNK 4096

inline void tree_sum(__local float* s, const int lid) {
    for (int stride = WG / 2; stride > 0; stride >>= 1) {
        barrier(CLK_LOCAL_MEM_FENCE);
        if (lid < stride) {
            s[lid] += s[lid + stride];
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
}

// partials[g] = sum of squares of x[g * CHUNK, min((g + 1) * CHUNK, n)). Local size WG, global WG * groups.
__kernel void sumsq_partial(__global float* partials, const __global float* x, const int n) {
    __local float s[WG];
    const int lid = get_local_id(0);
    const int g = get_group_id(0);
    const long start = (long) g * CHUNK;
    const long end = min(start + CHUNK, (long) n);
    float acc = 0.0f;
    for (long i = start + lid; i < end; i += WG) {
        const float v = x[i];
        acc += v * v;
    }
    s[lid] = acc;
    tree_sum(s, lid);
    if (lid == 0) {
        partials[g] = s[0];
    }
}

// out[index] = sqrt(sum of partials[0, count)). One work-group of WG items.
__kernel void sum_partials(__global float* out, const __global float* partials, const int count,
                           const int index) {
    __local float s[WG];
    const int lid = get_local_id(0);
    float acc = 0.0f;
    for (int i = lid; i < count; i += WG) {
        acc += partials[i];
    }
    s[lid] = acc;
    tree_sum(s, lid);
    if (lid == 0) {
        out[index] = sqrt(s[0]);
    }
}
