// Matrix products of the GPT step, all from one tiled kernel body.
//
// Algorithm: C (M x N) = A (M x K) B (K x N), where A and B are read through (row, column) strides so
// that one body serves the three products a Linear layer needs without transposing anything in memory:
//   forward          out  (N, OC) = inp (N, IC) W^T + bias     A = inp,    B = W^T  (W is (OC, IC))
//   backward input   dinp (N, IC) = dout (N, OC) W             A = dout,   B = W
//   backward weight  dW  (OC, IC) = dout^T (OC, N) inp         A = dout^T, B = inp
// Each work-group of 16 x 16 work items computes a 64 x 64 tile of C, and each work item a 4 x 4
// block of it (rows lr + 16 i, columns lc + 16 j), so every value loaded from local memory feeds four
// multiply-adds instead of one. Per step of 16 along K the group stages a 64 x 16 slice of A and a
// 16 x 64 slice of B in local memory (4 elements per work item each), waits at a barrier, and
// accumulates. Out-of-range elements are loaded as zero, so any size works.
//
// Sizes: work-group 16 x 16 = 256 work items, the largest that every device we target accepts; tile
// 64 x 64 with depth 16, which needs 2 x 64 x 16 floats = 8 KiB of local memory (devices have 32 KiB or
// more) and 16 accumulators per work item, few enough to stay in registers. The global size is the
// number of tiles times 16 in each direction. With one output element per work item (16 x 16 tiles),
// pocl on a 2-core CPU took up to twice as long for the (1024 x 128) (128 x 512) product.
//
// Determinism: each output element is one work item's sum over K in increasing order, so the result
// does not depend on scheduling. The weight gradient therefore sums over the N = B * T positions in a
// fixed order, with no atomics.

#define TS 64
#define TK 16
#define WG 16
#define WPT 4

inline void tiled_product(__global float* c, const __global float* a, const __global float* b,
                          const int m, const int n, const int k,
                          const int sam, const int sak, const int sbk, const int sbn,
                          const int accumulate, const __global float* bias, const int has_bias,
                          __local float* as, __local float* bs) {
    const int lr = get_local_id(1);
    const int lc = get_local_id(0);
    const int id = lr * WG + lc;
    const int row0 = get_group_id(1) * TS;
    const int col0 = get_group_id(0) * TS;
    float acc[WPT][WPT];
    for (int i = 0; i < WPT; i++) {
        for (int j = 0; j < WPT; j++) {
            acc[i][j] = 0.0f;
        }
    }
    for (int k0 = 0; k0 < k; k0 += TK) {
        for (int e = 0; e < WPT; e++) {
            const int idx = id + e * WG * WG;
            // as is TS x TK (row-major), bs is TK x TS.
            const int ar = idx / TK;
            const int ak = idx % TK;
            const int grow = row0 + ar;
            const int gka = k0 + ak;
            as[ar * TK + ak] = (grow < m && gka < k) ? a[(long) grow * sam + (long) gka * sak] : 0.0f;
            const int bk = idx / TS;
            const int bc = idx % TS;
            const int gkb = k0 + bk;
            const int gcol = col0 + bc;
            bs[bk * TS + bc] = (gkb < k && gcol < n) ? b[(long) gkb * sbk + (long) gcol * sbn] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TK; kk++) {
            float av[WPT];
            float bv[WPT];
            for (int i = 0; i < WPT; i++) {
                av[i] = as[(lr + i * WG) * TK + kk];
                bv[i] = bs[kk * TS + lc + i * WG];
            }
            for (int i = 0; i < WPT; i++) {
                for (int j = 0; j < WPT; j++) {
                    acc[i][j] += av[i] * bv[j];
                }
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < WPT; i++) {
        const int row = row0 + lr + i * WG;
        for (int j = 0; j < WPT; j++) {
            const int col = col0 + lc + j * WG;
            if (row < m && col < n) {
                float v = acc[i][j];
                if (has_bias) {
                    v += bias[col];
                }
                const long at = (long) row * n + col;
                c[at] = accumulate ? c[at] + v : v;
            }
        }
    }
}

// out (rows, oc) = inp (rows, ic) w^T (+ bias); w is (oc, ic). Global size 16 per 64 columns (oc) by 16 per 64 rows.
__kernel void matmul_forward(__global float* out, const __global float* inp, const __global float* w,
                             const __global float* bias, const int has_bias,
                             const int rows, const int ic, const int oc) {
    __local float as[TS * TK];
    __local float bs[TK * TS];
    tiled_product(out, inp, w, rows, oc, ic, ic, 1, 1, ic, 0, bias, has_bias, as, bs);
}

// dinp (rows, ic) (+)= dout (rows, oc) w; w is (oc, ic). Global size 16 per 64 columns (ic) by 16 per 64 rows.
__kernel void matmul_backward_input(__global float* dinp, const __global float* dout, const __global float* w,
                                    const int rows, const int ic, const int oc, const int accumulate) {
    __local float as[TS * TK];
    __local float bs[TK * TS];
    tiled_product(dinp, dout, w, rows, ic, oc, oc, 1, ic, 1, accumulate, w, 0, as, bs);
}

// dw (oc, ic) (+)= dout^T (oc, rows) inp (rows, ic). Global size 16 per 64 columns (ic) by 16 per 64 rows (oc).
__kernel void matmul_backward_weight(__global float* dw, const __global float* dout, const __global float* inp,
                                     const int rows, const int ic, const int oc, const int accumulate) {
    __local float as[TS * TK];
    __local float bs[TK * TS];
    tiled_product(dw, dout, inp, oc, ic, rows, 1, oc, ic, 1, accumulate, dw, 0, as, bs);
}

// dbias (oc) = sum over rows of dout (rows, oc). One work item per column, rows summed in order, so the
// result is deterministic; the reads of neighbouring work items are adjacent (coalesced).
__kernel void bias_backward(__global float* dbias, const __global float* dout, const int rows, const int oc) {
    const int col = get_global_id(0);
    if (col >= oc) {
        return;
    }
    float acc = 0.0f;
    for (int r = 0; r < rows; r++) {
        acc += dout[(long) r * oc + col];
    }
    dbias[col] = acc;
}
