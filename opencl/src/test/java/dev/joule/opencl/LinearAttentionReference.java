package dev.joule.opencl;

/**
 * Causal linear and gated linear attention in double precision, written from the definitions with plain
 * loops, as the reference for the kernels in linear_attention.cl. Per batch b, head h and query i:
 *
 * <pre>
 *   out_i = sum_{j &lt;= i} G_ij s_ij v_j,   s_ij = scale q_i . k_j,   G_ij = prod_{t=j+1..i} sigmoid(z_t)
 * </pre>
 *
 * with G = 1 when ungated. The gate products are multiplied out here, while the kernels use
 * exp(L_i - L_j) of running log sums, so the two do not share a formula. The backward is the chain rule
 * written out per term: d log g_t collects dp_ij s_ij G_ij over the pairs j &lt; t &lt;= i whose product
 * contains g_t. {@link KernelsTest} checks it against central differences of {@link #forward}.
 *
 * <p>Layouts as the kernels': qkv (B, T, 3C), z (B, T, H), out (B, T, C), att (B, H, T, T),
 * logDecay (B, H, T).
 */
final class LinearAttentionReference {
    final int b;
    final int t;
    final int c;
    final int h;
    final double scale;

    LinearAttentionReference(int b, int t, int c, int h) {
        this.b = b;
        this.t = t;
        this.c = c;
        this.h = h;
        this.scale = 1.0 / Math.sqrt(c / h);
    }

    /** The result of {@link #forward}. */
    record Forward(double[] out, double[] att, double[] logDecay) {}

    /** The result of {@link #backward}: dqkv (B, T, 3C) and dz (B, T, H), null when ungated. */
    record Backward(double[] dqkv, double[] dz) {}

    private int d() {
        return c / h;
    }

    private double q(double[] qkv, int bb, int i, int hh, int e) {
        return qkv[(bb * t + i) * 3 * c + hh * d() + e];
    }

    private double k(double[] qkv, int bb, int j, int hh, int e) {
        return qkv[(bb * t + j) * 3 * c + c + hh * d() + e];
    }

    private double v(double[] qkv, int bb, int j, int hh, int e) {
        return qkv[(bb * t + j) * 3 * c + 2 * c + hh * d() + e];
    }

    private static double sigmoid(double z) {
        return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    }

    private double gate(double[] z, int bb, int s, int hh) {
        return sigmoid(z[(bb * t + s) * h + hh]);
    }

    /** G_ij for i &gt;= j, the product of the gates after j up to i. */
    private double decay(double[] z, int bb, int hh, int i, int j) {
        double g = 1;
        if (z != null) {
            for (int s = j + 1; s <= i; s++) {
                g *= gate(z, bb, s, hh);
            }
        }
        return g;
    }

    private double score(double[] qkv, int bb, int hh, int i, int j) {
        double s = 0;
        for (int e = 0; e < d(); e++) {
            s += q(qkv, bb, i, hh, e) * k(qkv, bb, j, hh, e);
        }
        return scale * s;
    }

    /** z null for the ungated form. */
    Forward forward(double[] qkv, double[] z) {
        double[] out = new double[b * t * c];
        double[] att = new double[b * h * t * t];
        double[] logDecay = new double[b * h * t];
        for (int bb = 0; bb < b; bb++) {
            for (int hh = 0; hh < h; hh++) {
                double sum = 0;
                for (int i = 0; i < t; i++) {
                    if (z != null) {
                        sum += Math.log(gate(z, bb, i, hh));
                    }
                    logDecay[(bb * h + hh) * t + i] = sum;
                    for (int j = 0; j <= i; j++) {
                        double a = decay(z, bb, hh, i, j) * score(qkv, bb, hh, i, j);
                        att[((bb * h + hh) * t + i) * t + j] = a;
                        for (int e = 0; e < d(); e++) {
                            out[(bb * t + i) * c + hh * d() + e] += a * v(qkv, bb, j, hh, e);
                        }
                    }
                }
            }
        }
        return new Forward(out, att, logDecay);
    }

    /** Returns the gradients of sum(out * dy). */
    Backward backward(double[] qkv, double[] z, double[] dy) {
        double[] dqkv = new double[b * t * 3 * c];
        double[] dlogGate = new double[b * t * h];
        int dd = d();
        for (int bb = 0; bb < b; bb++) {
            for (int hh = 0; hh < h; hh++) {
                for (int i = 0; i < t; i++) {
                    for (int j = 0; j <= i; j++) {
                        double g = decay(z, bb, hh, i, j);
                        double s = score(qkv, bb, hh, i, j);
                        double dp = 0;
                        for (int e = 0; e < dd; e++) {
                            double dyi = dy[(bb * t + i) * c + hh * dd + e];
                            dp += dyi * v(qkv, bb, j, hh, e);
                            // dv_j += G_ij s_ij dy_i
                            dqkv[(bb * t + j) * 3 * c + 2 * c + hh * dd + e] += g * s * dyi;
                        }
                        double ds = dp * g;
                        for (int e = 0; e < dd; e++) {
                            dqkv[(bb * t + i) * 3 * c + hh * dd + e] += scale * ds * k(qkv, bb, j, hh, e);
                            dqkv[(bb * t + j) * 3 * c + c + hh * dd + e] += scale * ds * q(qkv, bb, i, hh, e);
                        }
                        // d out / d log g_u = G_ij s_ij v_j for every u in (j, i].
                        for (int u = j + 1; u <= i; u++) {
                            dlogGate[(bb * t + u) * h + hh] += dp * s * g;
                        }
                    }
                }
            }
        }
        if (z == null) {
            return new Backward(dqkv, null);
        }
        double[] dz = new double[b * t * h];
        for (int n = 0; n < dz.length; n++) {
            // d log sigmoid(z) / dz = 1 - sigmoid(z)
            dz[n] = dlogGate[n] * (1 - sigmoid(z[n]));
        }
        return new Backward(dqkv, dz);
    }

    /** sum(out * dy), the scalar whose gradient {@link #backward} returns. */
    double loss(double[] qkv, double[] z, double[] dy) {
        double[] out = forward(qkv, z).out();
        double l = 0;
        for (int n = 0; n < out.length; n++) {
            l += out[n] * dy[n];
        }
        return l;
    }
}
