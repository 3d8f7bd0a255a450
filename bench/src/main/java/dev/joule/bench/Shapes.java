package dev.joule.bench;

import java.util.SplittableRandom;

/**
 * The matmul cases that both the Joule and the OpenBLAS benchmarks run, written {@code LAYOUT:M:N:K} for
 * C[M,N] = op(A)[M,K] op(B)[K,N]. Layout NN is A B, NT is A B^T (B stored N x K) and TN is A^T B (A stored
 * K x M). The 4096-row shapes are the GPT projections at batch 16, context 256, width 256; NT and TN are
 * the products that the backward pass runs at those shapes.
 */
final class Shapes {
    private Shapes() {}

    /** One parsed case. */
    record Case(boolean transA, boolean transB, int m, int n, int k) {
        static Case parse(String spec) {
            String[] p = spec.split(":");
            if (p.length != 4) {
                throw new IllegalArgumentException("matmul case must read LAYOUT:M:N:K, got " + spec);
            }
            return new Case(p[0].equals("TN"), p[0].equals("NT"), Integer.parseInt(p[1]), Integer.parseInt(p[2]),
                    Integer.parseInt(p[3]));
        }

        int lda() {
            return transA ? m : k;
        }

        int ldb() {
            return transB ? k : n;
        }

        /** Floating-point operations of one product, 2 M N K. */
        double flops() {
            return 2.0 * m * n * k;
        }
    }

    static float[] random(long seed, int n) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return a;
    }
}
