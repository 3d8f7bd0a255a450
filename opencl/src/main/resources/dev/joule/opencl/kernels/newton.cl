// The Newton-type attention steps on the softmax energy (optimizers newton-diag, newton-neumann and
// newton), forward and backward. They reuse attention.cl for the causal softmax weights p (B, H, T, T),
// for o_i = sum_j p_ij v_j (attention_values) and for the q gradient (attention_backward_q). Per head
// h (D = C / H channels) and query i, with M_i = sum_j p_ij v_j v_j^T and C_i = M_i - o_i o_i^T:
//
//   newton-diag     delta_d = o_d / (1 - C_dd + tr C)
//   newton-neumann  delta   = o + C o = o + M o - |o|^2 o
//   newton          delta   = A^-1 o,  A = (1 + tr C) I - C   (A >= I since C >= 0 and tr C >= |C|)
//
// Forward kernels:
//   moment_values        per (b, i, c): o = sum_j p_ij v_jc, var = sum_j p_ij v_jc^2 - o^2 (= C_cc)
//   newton_diag_step     per (b, i, c): delta_c = o_c / ((1 - var_c) + sum over the head of var)
//   moment_weights       per row (b, h, i): w_ij = p_ij (v_j . x_i) for a vector x_i per query, so
//                        that attention_values with weights w gives M_i x_i = sum_j w_ij v_j
//   newton_neumann_step  per (b, i, c): delta = o + (M o - |o|^2 o)
//   newton_covariance    per (b, h, i, d, e), e <= d: C_de = sum_j p_ij v_jd v_je - o_d o_e into a
//                        (B, H, T, D, D) scratch, lower triangle
//   newton_factor        per row (b, h, i): A = (1 + tr C) I - C, then its Cholesky factor L (A = L L^T)
//                        in place of C's lower triangle; no pivoting, since A >= I
//   newton_solve         per row (b, h, i): x = A^-1 r by L y = r, L^T x = y
//
// Backward. Every step depends on q, k, v only through p, o and M, so its backward splits in two:
// a per-query part that turns g = dL/d delta into go = dL/do and dL/dM, and one shared part that takes
// those into p and v, then into the scores, q and k. dL/dM is symmetric and always of the form
//
//   GM_i = (a_i b_i^T + b_i a_i^T) / 2 + diag(c_i)          a_i, b_i, c_i in R^D
//
// Then, since o_i = sum_j p_ij v_j and M_i = sum_j p_ij v_j v_j^T,
//
//   dp_ij = go_i . v_j + v_j^T GM_i v_j = go_i . v_j + (a_i . v_j)(b_i . v_j) + sum_d c_id v_jd^2
//   dv_j  = sum_i>=j p_ij (go_i + 2 GM_i v_j)
//         = sum_i>=j p_ij go_i + 2 p_ij c_i * v_j + alpha_ij a_i + beta_ij b_i,
//           alpha_ij = p_ij (b_i . v_j),  beta_ij = p_ij (a_i . v_j)
//
// and the softmax gives ds_ij = p_ij (dp_ij - sum_k p_ik dp_ik) as in attention.cl.
//   newton_diag_backward   per (b, i, c): with den = 1 - var + tr C and gden_d = -g_d delta_d / den_d,
//                          c = dL/dvar = -gden + sum_d gden_d, go = g / den - 2 o c (a = b = 0)
//   newton-neumann         dL/dM = g o^T, so a = g, b = o, c = 0; M g by moment_weights (x = g) and
//                          attention_values, then newton_neumann_backward per (b, i, c):
//                          go = g + M g - |o|^2 g - 2 (g . o) o
//   newton                 with y = delta and z = A^-1 g (A is symmetric), dL/dA = -z y^T; through
//                          A = (1 + tr M - |o|^2) I - M + o o^T this gives
//                          dL/dM = (z y^T + y z^T) / 2 - (z . y) I, so a = z, b = y, c = -(z . y), and
//                          go = z + 2 (z . y) o - (y . o) z - (z . o) y. The backward factors A again
//                          (newton_covariance, newton_factor: the same inputs give the same L) and
//                          solves for z (newton_solve), then newton_full_backward per (b, i, c).
//   moment_backward_scores per row (b, h, i): dp, ds into dpre; alpha and beta (when a, b are given)
//   attention_backward_q   (attention.cl) dq from ds
//   moment_backward_kv     per (b, j, c): dk = scale sum_i ds_ij q_i, dv as above
//
// Work-group: one work item per row or element, local size left to the driver, as in attention.cl.
// OpenClDevice compiles attention_layout.cl, the index helpers and head_dot, in front of this file.
// Every output has one owner that sums in increasing index order: no atomics, deterministic.

// The sum of x over the D channels of one head; x points at the head's first channel.
inline float head_sum(const __global float* x, const int d) {
    float s = 0.0f;
    for (int e = 0; e < d; e++) {
        s += x[e];
    }
    return s;
}

// o and var (B, T, C): the first two moments of the values under att (B, H, T, T).
__kernel void moment_values(__global float* o, __global float* var, const __global float* att,
                            const __global float* qkv, const int batch, const int t, const int c,
                            const int heads) {
    const int idx = get_global_id(0);
    if (idx >= batch * t * c) {
        return;
    }
    const head_pos pos = head_pos_of_element(idx, t, c, heads);
    const __global float* a = att + att_row_at(pos, pos.i);
    float m1 = 0.0f;
    float m2 = 0.0f;
    for (int j = 0; j <= pos.i; j++) {
        const float vj = qkv[v_at(pos, j)];
        m1 += a[j] * vj;
        m2 += a[j] * (vj * vj);
    }
    o[idx] = m1;
    var[idx] = m2 - m1 * m1;
}

// out (B, T, C) = o / ((1 - var) + tr C), tr C the sum of var over the element's head.
__kernel void newton_diag_step(__global float* out, const __global float* o, const __global float* var,
                               const int n, const int c, const int heads) {
    const int idx = get_global_id(0);
    if (idx >= n) {
        return;
    }
    const int d = c / heads;
    const float tr = head_sum(var + (long) (idx / d) * d, d);
    out[idx] = o[idx] / ((1.0f - var[idx]) + tr);
}

// go and gvar (B, T, C) from dout = dL/d delta: the gradients of o and of var = diag(C).
__kernel void newton_diag_backward(__global float* go, __global float* gvar, const __global float* dout,
                                   const __global float* o, const __global float* var, const int n,
                                   const int c, const int heads) {
    const int idx = get_global_id(0);
    if (idx >= n) {
        return;
    }
    const int d = c / heads;
    const long base = (long) (idx / d) * d;
    const float tr = head_sum(var + base, d);
    // sum_e dL/d den_e, with dL/d den_e = -g_e o_e / den_e^2.
    float sden = 0.0f;
    for (int e = 0; e < d; e++) {
        const float den = (1.0f - var[base + e]) + tr;
        sden += -dout[base + e] * o[base + e] / (den * den);
    }
    const float den = (1.0f - var[idx]) + tr;
    const float gden = -dout[idx] * o[idx] / (den * den);
    const float gv = sden - gden;
    gvar[idx] = gv;
    go[idx] = dout[idx] / den - 2.0f * o[idx] * gv;
}

// w (B, H, T, T): w_ij = p_ij (v_j . x_i) on and below the diagonal, zero above; x is (B, T, C).
__kernel void moment_weights(__global float* w, const __global float* att, const __global float* qkv,
                             const __global float* x, const int batch, const int t, const int c,
                             const int heads) {
    const int row = get_global_id(0);
    if (row >= batch * heads * t) {
        return;
    }
    const head_pos pos = head_pos_of_row(row, t, c, heads);
    const __global float* xi = x + token_at(pos, pos.i);
    const __global float* p = att + (long) row * t;
    __global float* out = w + (long) row * t;
    for (int j = 0; j <= pos.i; j++) {
        out[j] = p[j] * head_dot(xi, qkv + v_at(pos, j), pos.d);
    }
    zero_above_diagonal(out, pos.i, t);
}

// out (B, T, C) = o + (mo - |o|^2 o), mo = M o, |o|^2 over the element's head.
__kernel void newton_neumann_step(__global float* out, const __global float* o, const __global float* mo,
                                  const int n, const int c, const int heads) {
    const int idx = get_global_id(0);
    if (idx >= n) {
        return;
    }
    const int d = c / heads;
    const __global float* oh = o + (long) (idx / d) * d;
    const float sq = head_dot(oh, oh, d);
    out[idx] = o[idx] + (mo[idx] - o[idx] * sq);
}

// go (B, T, C) = g + M g - |o|^2 g - 2 (g . o) o, with g = dout and mg = M g.
__kernel void newton_neumann_backward(__global float* go, const __global float* dout, const __global float* o,
                                      const __global float* mg, const int n, const int c, const int heads) {
    const int idx = get_global_id(0);
    if (idx >= n) {
        return;
    }
    const int d = c / heads;
    const long base = (long) (idx / d) * d;
    const float sq = head_dot(o + base, o + base, d);
    const float go_dot = head_dot(dout + base, o + base, d);
    go[idx] = dout[idx] + mg[idx] - sq * dout[idx] - 2.0f * go_dot * o[idx];
}

// cov (B, H, T, D, D): the lower triangle (e <= d) of C = sum_j p_ij v_j v_j^T - o o^T per row; the
// upper triangle is not written. o is (B, T, C).
__kernel void newton_covariance(__global float* cov, const __global float* att, const __global float* qkv,
                                const __global float* o, const int batch, const int t, const int c,
                                const int heads) {
    const int d = c / heads;
    const int idx = get_global_id(0);
    if (idx >= batch * heads * t * d * d) {
        return;
    }
    const int e = idx % d;
    const int dd = (idx / d) % d;
    if (e > dd) {
        return;
    }
    const int row = idx / (d * d);
    const head_pos pos = head_pos_of_row(row, t, c, heads);
    const __global float* p = att + (long) row * t;
    float m = 0.0f;
    for (int j = 0; j <= pos.i; j++) {
        const __global float* vj = qkv + v_at(pos, j);
        m += p[j] * (vj[dd] * vj[e]);
    }
    const __global float* oi = o + token_at(pos, pos.i);
    cov[idx] = m - oi[dd] * oi[e];
}

// In place, per row of fac (rows, D, D): from C's lower triangle to the lower Cholesky factor L of
// A = (1 + tr C) I - C. The upper triangle is neither read nor written.
__kernel void newton_factor(__global float* fac, const int rows, const int d) {
    const int row = get_global_id(0);
    if (row >= rows) {
        return;
    }
    __global float* a = fac + (long) row * d * d;
    float tr = 0.0f;
    for (int e = 0; e < d; e++) {
        tr += a[e * d + e];
    }
    const float lambda = 1.0f + tr;
    for (int r = 0; r < d; r++) {
        for (int e = 0; e <= r; e++) {
            a[r * d + e] = (r == e ? lambda : 0.0f) - a[r * d + e];
        }
    }
    for (int col = 0; col < d; col++) {
        float diag = a[col * d + col];
        for (int e = 0; e < col; e++) {
            diag -= a[col * d + e] * a[col * d + e];
        }
        const float l = sqrt(diag);
        a[col * d + col] = l;
        for (int r = col + 1; r < d; r++) {
            float s = a[r * d + col];
            for (int e = 0; e < col; e++) {
                s -= a[r * d + e] * a[col * d + e];
            }
            a[r * d + col] = s / l;
        }
    }
}

// x (B, T, C) = A^-1 r per row (b, h, i), with L from newton_factor; x must not alias r.
__kernel void newton_solve(__global float* x, const __global float* fac, const __global float* r,
                           const int batch, const int t, const int c, const int heads) {
    const int row = get_global_id(0);
    if (row >= batch * heads * t) {
        return;
    }
    const head_pos pos = head_pos_of_row(row, t, c, heads);
    const int d = pos.d;
    const long at = token_at(pos, pos.i);
    const __global float* l = fac + (long) row * d * d;
    __global float* xs = x + at;
    const __global float* rs = r + at;
    // L y = r, y kept in x.
    for (int e = 0; e < d; e++) {
        float s = rs[e];
        for (int f = 0; f < e; f++) {
            s -= l[e * d + f] * xs[f];
        }
        xs[e] = s / l[e * d + e];
    }
    // L^T x = y, in place.
    for (int e = d - 1; e >= 0; e--) {
        float s = xs[e];
        for (int f = e + 1; f < d; f++) {
            s -= l[f * d + e] * xs[f];
        }
        xs[e] = s / l[e * d + e];
    }
}

// go and cd (B, T, C) from z = A^-1 g, y = delta and o: go = z + 2 (z . y) o - (y . o) z - (z . o) y and
// cd = -(z . y), the diagonal part of dL/dM.
__kernel void newton_full_backward(__global float* go, __global float* cd, const __global float* z,
                                   const __global float* y, const __global float* o, const int n,
                                   const int c, const int heads) {
    const int idx = get_global_id(0);
    if (idx >= n) {
        return;
    }
    const int d = c / heads;
    const long base = (long) (idx / d) * d;
    const float zy = head_dot(z + base, y + base, d);
    const float yo = head_dot(y + base, o + base, d);
    const float zo = head_dot(z + base, o + base, d);
    go[idx] = z[idx] + 2.0f * zy * o[idx] - yo * z[idx] - zo * y[idx];
    cd[idx] = -zy;
}

// dpre (B, H, T, T) = ds, zero above the diagonal; with has_ab, alpha and beta (B, H, T, T) on and below
// the diagonal. go, a, b, cd are (B, T, C); a and b are read only with has_ab, cd only with has_c.
__kernel void moment_backward_scores(__global float* dpre, __global float* alpha, __global float* beta,
                                     const __global float* att, const __global float* qkv,
                                     const __global float* go, const __global float* a,
                                     const __global float* bv, const __global float* cd, const int has_ab,
                                     const int has_c, const int batch, const int t, const int c,
                                     const int heads) {
    const int row = get_global_id(0);
    if (row >= batch * heads * t) {
        return;
    }
    const head_pos pos = head_pos_of_row(row, t, c, heads);
    const int d = pos.d;
    const long qi = token_at(pos, pos.i);
    const __global float* p = att + (long) row * t;
    __global float* ds = dpre + (long) row * t;
    float dot = 0.0f;
    for (int j = 0; j <= pos.i; j++) {
        const __global float* v = qkv + v_at(pos, j);
        float dp = head_dot(go + qi, v, d);
        if (has_ab) {
            const float av = head_dot(a + qi, v, d);
            const float bvj = head_dot(bv + qi, v, d);
            dp += av * bvj;
            alpha[(long) row * t + j] = p[j] * bvj;
            beta[(long) row * t + j] = p[j] * av;
        }
        if (has_c) {
            float s = 0.0f;
            for (int e = 0; e < d; e++) {
                s += cd[qi + e] * (v[e] * v[e]);
            }
            dp += s;
        }
        ds[j] = dp;
        dot += p[j] * dp;
    }
    softmax_backward_row(ds, p, dot, pos.i, t);
}

// The k and v thirds of dqkv (B, T, 3C); arguments as in moment_backward_scores.
__kernel void moment_backward_kv(__global float* dqkv, const __global float* dpre, const __global float* alpha,
                                 const __global float* beta, const __global float* att,
                                 const __global float* qkv, const __global float* go, const __global float* a,
                                 const __global float* bv, const __global float* cd, const int has_ab,
                                 const int has_c, const int batch, const int t, const int c,
                                 const int heads, const float scale) {
    const int idx = get_global_id(0);
    if (idx >= batch * t * c) {
        return;
    }
    // This item owns key j; its gradients sum over the queries i >= j.
    const head_pos pos = head_pos_of_element(idx, t, c, heads);
    const int j = pos.i;
    const float vj = qkv[v_at(pos, j)];
    float dk = 0.0f;
    float dv = 0.0f;
    for (int i = j; i < t; i++) {
        const long at = att_row_at(pos, i) + j;
        const long qi = token_at(pos, i);
        dk += dpre[at] * qkv[q_at(pos, i)];
        float w = go[qi];
        if (has_c) {
            w += 2.0f * cd[qi] * vj;
        }
        dv += att[at] * w;
        if (has_ab) {
            dv += alpha[at] * a[qi] + beta[at] * bv[qi];
        }
    }
    dqkv[k_at(pos, j)] = scale * dk;
    dqkv[v_at(pos, j)] = dv;
}
