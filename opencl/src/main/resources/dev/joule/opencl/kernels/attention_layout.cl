// Index and row helpers for the attention layouts. OpenClDevice compiles this file in front of
// attention.cl, linear_attention.cl and newton.cl, which share these layouts:
//
//   qkv (B, T, 3C)          q in columns [0, C), k in [C, 2C), v in [2C, 3C); head h uses columns
//                           h D .. (h + 1) D of each, D = C / H
//   dout, o, ... (B, T, C)  per-token tensors, with the same head columns as q
//   att, dpre (B, H, T, T)  one row of T weights per query (b, h, i), at row index (b H + h) T + i
//
// It must define no kernels: OpenClDevice registers every kernel it finds in the joined text, so a
// kernel here would be built once per program that includes it.

// Where one work item sits in the layouts: batch b, head h, token i and channel ch of C, with the
// shape it was split by (d = c / heads). A per-row item has ch = h d, the first channel of its head.
typedef struct {
    int b;
    int h;
    int i;
    int ch;
    int t;
    int c;
    int heads;
    int d;
} head_pos;

// The query row (b, h, i) of row index (b H + h) T + i.
inline head_pos head_pos_of_row(const int row, const int t, const int c, const int heads) {
    const int h = (row / t) % heads;
    const int d = c / heads;
    const head_pos pos = {.b = row / (t * heads), .h = h, .i = row % t, .ch = h * d,
                          .t = t, .c = c, .heads = heads, .d = d};
    return pos;
}

// The element (b, i, ch) of a (B, T, C) tensor at index (b T + i) C + ch, and the head h of ch.
inline head_pos head_pos_of_element(const int idx, const int t, const int c, const int heads) {
    const int ch = idx % c;
    const int d = c / heads;
    const head_pos pos = {.b = idx / (c * t), .h = ch / d, .i = (idx / c) % t, .ch = ch,
                          .t = t, .c = c, .heads = heads, .d = d};
    return pos;
}

// Offsets of channel pos.ch of token j (of batch pos.b) in the q, k and v columns of qkv (B, T, 3C).
inline long q_at(const head_pos pos, const int j) {
    return ((long) pos.b * pos.t + j) * (3 * pos.c) + pos.ch;
}

inline long k_at(const head_pos pos, const int j) {
    return q_at(pos, j) + pos.c;
}

inline long v_at(const head_pos pos, const int j) {
    return q_at(pos, j) + 2 * pos.c;
}

// Offset of channel pos.ch of token j (of batch pos.b) in a (B, T, C) tensor.
inline long token_at(const head_pos pos, const int j) {
    return ((long) pos.b * pos.t + j) * pos.c + pos.ch;
}

// Offset of the row of query i (of batch pos.b and head pos.h) in a (B, H, T, T) tensor.
inline long att_row_at(const head_pos pos, const int i) {
    return (((long) pos.b * pos.heads + pos.h) * pos.t + i) * pos.t;
}

// x . y over the D channels of one head; both point at the head's first channel.
inline float head_dot(const __global float* x, const __global float* y, const int d) {
    float s = 0.0f;
    for (int e = 0; e < d; e++) {
        s += x[e] * y[e];
    }
    return s;
}

// sum_{j <= i} w_j x_j for query i's row w of a (B, H, T, T) tensor, in increasing j, where x_j is
// column[j * stride]: one channel of q, k or v over the tokens, with stride 3C.
inline float causal_row_dot(const __global float* w, const __global float* column, const int stride,
                            const int i) {
    float acc = 0.0f;
    for (int j = 0; j <= i; j++) {
        acc += w[j] * column[(long) j * stride];
    }
    return acc;
}

// Zeroes the keys j > i of query i's row: the causal mask of a (B, H, T, T) row.
inline void zero_above_diagonal(__global float* row, const int i, const int t) {
    for (int j = i + 1; j < t; j++) {
        row[j] = 0.0f;
    }
}

// The softmax backward of query i's row, in place: ds_j = p_j (dp_j - dot) for j <= i, where ds holds
// dp on entry and dot = sum_j p_j dp_j; zero above the diagonal.
inline void softmax_backward_row(__global float* ds, const __global float* p, const float dot, const int i,
                                 const int t) {
    for (int j = 0; j <= i; j++) {
        ds[j] = p[j] * (ds[j] - dot);
    }
    zero_above_diagonal(ds, i, t);
}
