package dev.joule.engine.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API matrix multiply with cache blocking, packed operands and a register-tiled micro-kernel.
 *
 * <p>Work split: C is cut into tiles of at most {@link #MC} rows by {@link #NC} columns, with tile
 * sizes computed from M and N only. One parallel task computes one tile of one batch entry in full,
 * over the whole k range, so no reduction is split across tasks and the result is bitwise identical
 * at any thread count.
 *
 * <p>Inside a task, k is cut into blocks of at most {@link #KC}. For each block the task packs its
 * slice of op(B) into strips of {@link #NR} columns laid out k-major, and its slice of op(A) into
 * strips of {@link #MR} rows laid out k-major, both zero-padded to full strips. Transposed operands
 * are handled here, by reading the source with the other stride, so no transposed copy of a whole
 * matrix is made. The loops then run over B strips (outer) and A strips (inner), so one KC x NR
 * strip of B (32 KiB for KC=256 and 16 float lanes) stays in L1 while A strips stream from L2.
 *
 * <p>The micro-kernel keeps an MR x NR block of C in MR * 2 vector registers (12 of the 32 AVX-512
 * registers) and updates it with one broadcast of A and one fused multiply-add per vector per k.
 * Edge blocks run the same kernel into a scratch block and copy the valid part to C, so every element
 * is computed with the same operations wherever it lies.
 *
 * <p>Per-element order: for each k block in increasing order, the products are summed with
 * {@code fma} in increasing k starting from zero, and the block sum is then stored into C (first
 * block without {@code accumulate}) or added to C. Only {@link #KC} changes that order.
 */
final class MatmulVector {
    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();

    /** Rows of the micro-kernel, fixed by the kernel code. */
    static final int MR = 6;
    /** Columns of the micro-kernel (two vectors), fixed by the kernel code. */
    static final int NR = 2 * LANES;
    /** Maximum k block length (system property {@code joule.matmul.kc}). It changes rounding. */
    static final int KC = positiveProperty("joule.matmul.kc", 256);
    /** Maximum rows of C per task, rounded up to a multiple of MR (property {@code joule.matmul.mc}). */
    static final int MC = roundUp(positiveProperty("joule.matmul.mc", 240), MR);
    /** Maximum columns of C per task, rounded up to a multiple of NR (property {@code joule.matmul.nc}). */
    static final int NC = roundUp(positiveProperty("joule.matmul.nc", 512), NR);

    /** Per-thread packing buffers, grown on demand and reused by every later call on that thread. */
    private static final class Workspace {
        float[] packedA = new float[0];
        float[] packedB = new float[0];
        final float[] edge = new float[MR * NR];
    }

    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    private MatmulVector() {}

    private static int positiveProperty(String name, int fallback) {
        int value = Integer.getInteger(name, fallback);
        if (value < 1) {
            throw new IllegalArgumentException("system property " + name + " must be at least 1, got " + value);
        }
        return value;
    }

    private static int ceilDiv(int x, int y) {
        return (x + y - 1) / y;
    }

    private static int roundUp(int x, int multiple) {
        return ceilDiv(x, multiple) * multiple;
    }

    /**
     * Returns the tile length for a dimension of {@code size}: the dimension is cut into as few tiles
     * of at most {@code max} as possible, of near-equal length rounded up to {@code unit}.
     */
    private static int tileLength(int size, int max, int unit) {
        int tiles = ceilDiv(size, max);
        return roundUp(ceilDiv(size, tiles), unit);
    }

    /**
     * Computes a batch of products. Sizes are positive and the arguments were checked by {@link Matmul}.
     *
     * <p>NOTE: shapes with M or N below a few vectors (matrix-vector products) run at a few GFLOP/s here,
     * because packing doubles their memory traffic and a 6 x 16 block is mostly padding; no gemv path yet.
     */
    static void gemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k,
                            float[] a, int aOff, int lda, int strideA, float[] b, int bOff, int ldb, int strideB,
                            float[] c, int cOff, int ldc, int strideC, boolean accumulate) {
        int kc = ceilDiv(k, ceilDiv(k, KC));
        int tileM = tileLength(m, MC, MR);
        int tileN = tileLength(n, NC, NR);
        int rowTiles = ceilDiv(m, tileM);
        int colTiles = ceilDiv(n, tileN);
        int tilesPerMatrix = rowTiles * colTiles;
        long tasks = (long) batch * tilesPerMatrix;
        if (tasks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("too many tiles: batch=" + batch + ", M=" + m + ", N=" + n);
        }
        Parallel.forRange((int) tasks, task -> {
            int matrix = task / tilesPerMatrix;
            int tile = task % tilesPerMatrix;
            int i0 = (tile / colTiles) * tileM;
            int j0 = (tile % colTiles) * tileN;
            computeTile(WORKSPACE.get(), transA, transB, i0, Math.min(tileM, m - i0), j0, Math.min(tileN, n - j0),
                    k, kc, a, aOff + matrix * strideA, lda, b, bOff + matrix * strideB, ldb,
                    c, cOff + matrix * strideC, ldc, accumulate);
        });
    }

    /** Computes rows [i0, i0+mt) and columns [j0, j0+nt) of C over the whole k range. */
    private static void computeTile(Workspace ws, boolean transA, boolean transB,
                                    int i0, int mt, int j0, int nt, int k, int kc,
                                    float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                    float[] c, int cOff, int ldc, boolean accumulate) {
        int rowStrips = ceilDiv(mt, MR);
        int colStrips = ceilDiv(nt, NR);
        int needA = rowStrips * MR * kc;
        int needB = colStrips * NR * kc;
        if (ws.packedA.length < needA) {
            ws.packedA = new float[needA];
        }
        if (ws.packedB.length < needB) {
            ws.packedB = new float[needB];
        }
        float[] pa = ws.packedA;
        float[] pb = ws.packedB;
        float[] edge = ws.edge;
        for (int p0 = 0; p0 < k; p0 += kc) {
            int kb = Math.min(kc, k - p0);
            boolean overwrite = p0 == 0 && !accumulate;
            for (int s = 0; s < colStrips; s++) {
                int col = s * NR;
                packB(transB, b, bOff, ldb, p0, kb, j0 + col, Math.min(NR, nt - col), pb, s * NR * kb);
            }
            packA(transA, a, aOff, lda, p0, kb, i0, mt, pa);
            for (int js = 0; js < colStrips; js++) {
                int cols = Math.min(NR, nt - js * NR);
                int bBase = js * NR * kb;
                for (int is = 0; is < rowStrips; is++) {
                    int rows = Math.min(MR, mt - is * MR);
                    int aBase = is * MR * kb;
                    int cIndex = cOff + (i0 + is * MR) * ldc + j0 + js * NR;
                    if (rows == MR && cols == NR) {
                        kernel6x2(kb, pa, aBase, pb, bBase, c, cIndex, ldc, overwrite);
                    } else {
                        if (cols <= LANES) {
                            kernel6x1(kb, pa, aBase, pb, bBase, edge, 0, NR, true);
                        } else {
                            kernel6x2(kb, pa, aBase, pb, bBase, edge, 0, NR, true);
                        }
                        copyEdge(edge, rows, cols, c, cIndex, ldc, overwrite);
                    }
                }
            }
        }
    }

    /** Writes the valid {@code rows x cols} corner of an edge block to C, as the full-block store would. */
    private static void copyEdge(float[] edge, int rows, int cols, float[] c, int cIndex, int ldc, boolean overwrite) {
        for (int r = 0; r < rows; r++) {
            int dst = cIndex + r * ldc;
            int src = r * NR;
            if (overwrite) {
                System.arraycopy(edge, src, c, dst, cols);
            } else {
                for (int j = 0; j < cols; j++) {
                    c[dst + j] += edge[src + j];
                }
            }
        }
    }

    /**
     * Packs op(B)[p0 : p0+kb, col0 : col0+cols] as kb rows of NR floats at {@code dst}, zero-padding
     * columns from {@code cols} to NR.
     */
    private static void packB(boolean transB, float[] b, int bOff, int ldb, int p0, int kb, int col0, int cols,
                              float[] dst, int dstOff) {
        if (!transB) {
            // B(p, j) = b[bOff + p*ldb + j]: each packed row is a contiguous run of the source row.
            int src = bOff + p0 * ldb + col0;
            if (cols == NR) {
                for (int p = 0; p < kb; p++, src += ldb) {
                    FloatVector.fromArray(SPECIES, b, src).intoArray(dst, dstOff + p * NR);
                    FloatVector.fromArray(SPECIES, b, src + LANES).intoArray(dst, dstOff + p * NR + LANES);
                }
            } else {
                for (int p = 0; p < kb; p++, src += ldb) {
                    int d = dstOff + p * NR;
                    System.arraycopy(b, src, dst, d, cols);
                    java.util.Arrays.fill(dst, d + cols, d + NR, 0f);
                }
            }
            return;
        }
        // B(p, j) = b[bOff + j*ldb + p]: each source row is one packed column, read along k.
        for (int j = 0; j < cols; j++) {
            int src = bOff + (col0 + j) * ldb + p0;
            for (int p = 0; p < kb; p++) {
                dst[dstOff + p * NR + j] = b[src + p];
            }
        }
        if (cols < NR) {
            for (int p = 0; p < kb; p++) {
                int d = dstOff + p * NR;
                java.util.Arrays.fill(dst, d + cols, d + NR, 0f);
            }
        }
    }

    /**
     * Packs op(A)[row0 : row0+rows, p0 : p0+kb] into strips of MR rows, each kb groups of MR floats,
     * zero-padding the last strip to MR rows.
     */
    private static void packA(boolean transA, float[] a, int aOff, int lda, int p0, int kb, int row0, int rows,
                              float[] dst) {
        int strips = ceilDiv(rows, MR);
        if (transA) {
            // A(i, p) = a[aOff + p*lda + i]: one source row contains this k for every row of the tile. Reading
            // it in one pass matters: with lda a multiple of 4 KiB, revisiting rows per strip thrashes L1.
            int src = aOff + p0 * lda + row0;
            for (int p = 0; p < kb; p++, src += lda) {
                for (int s = 0; s < strips; s++) {
                    int d = s * MR * kb + p * MR;
                    int h = Math.min(MR, rows - s * MR);
                    for (int r = 0; r < h; r++) {
                        dst[d + r] = a[src + s * MR + r];
                    }
                    for (int r = h; r < MR; r++) {
                        dst[d + r] = 0f;
                    }
                }
            }
            return;
        }
        // A(i, p) = a[aOff + i*lda + p]: read each row along k and scatter with stride MR.
        for (int s = 0; s < strips; s++) {
            int base = s * MR * kb;
            int h = Math.min(MR, rows - s * MR);
            for (int r = 0; r < h; r++) {
                int src = aOff + (row0 + s * MR + r) * lda + p0;
                for (int p = 0; p < kb; p++) {
                    dst[base + p * MR + r] = a[src + p];
                }
            }
            for (int r = h; r < MR; r++) {
                for (int p = 0; p < kb; p++) {
                    dst[base + p * MR + r] = 0f;
                }
            }
        }
    }

    /**
     * Computes a 6 x NR block: kb steps of rank-1 update from packed A and B, then stores the block to
     * {@code c} at {@code cIndex} with row stride {@code ldc}, or adds it there unless {@code overwrite}.
     */
    private static void kernel6x2(int kb, float[] pa, int aBase, float[] pb, int bBase,
                                  float[] c, int cIndex, int ldc, boolean overwrite) {
        FloatVector c00 = FloatVector.zero(SPECIES);
        FloatVector c01 = c00;
        FloatVector c10 = c00;
        FloatVector c11 = c00;
        FloatVector c20 = c00;
        FloatVector c21 = c00;
        FloatVector c30 = c00;
        FloatVector c31 = c00;
        FloatVector c40 = c00;
        FloatVector c41 = c00;
        FloatVector c50 = c00;
        FloatVector c51 = c00;
        for (int p = 0; p < kb; p++) {
            int ai = aBase + p * MR;
            int bi = bBase + p * NR;
            FloatVector b0 = FloatVector.fromArray(SPECIES, pb, bi);
            FloatVector b1 = FloatVector.fromArray(SPECIES, pb, bi + LANES);
            FloatVector av = FloatVector.broadcast(SPECIES, pa[ai]);
            c00 = av.fma(b0, c00);
            c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(SPECIES, pa[ai + 1]);
            c10 = av.fma(b0, c10);
            c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(SPECIES, pa[ai + 2]);
            c20 = av.fma(b0, c20);
            c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(SPECIES, pa[ai + 3]);
            c30 = av.fma(b0, c30);
            c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(SPECIES, pa[ai + 4]);
            c40 = av.fma(b0, c40);
            c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(SPECIES, pa[ai + 5]);
            c50 = av.fma(b0, c50);
            c51 = av.fma(b1, c51);
        }
        // The stores are written out here rather than in a helper: passing a vector to a method that
        // C2 does not inline boxes it, which allocated on every call of this kernel.
        if (overwrite) {
            c00.intoArray(c, cIndex);
            c01.intoArray(c, cIndex + LANES);
            c10.intoArray(c, cIndex + ldc);
            c11.intoArray(c, cIndex + ldc + LANES);
            c20.intoArray(c, cIndex + 2 * ldc);
            c21.intoArray(c, cIndex + 2 * ldc + LANES);
            c30.intoArray(c, cIndex + 3 * ldc);
            c31.intoArray(c, cIndex + 3 * ldc + LANES);
            c40.intoArray(c, cIndex + 4 * ldc);
            c41.intoArray(c, cIndex + 4 * ldc + LANES);
            c50.intoArray(c, cIndex + 5 * ldc);
            c51.intoArray(c, cIndex + 5 * ldc + LANES);
        } else {
            FloatVector.fromArray(SPECIES, c, cIndex).add(c00).intoArray(c, cIndex);
            FloatVector.fromArray(SPECIES, c, cIndex + LANES).add(c01).intoArray(c, cIndex + LANES);
            FloatVector.fromArray(SPECIES, c, cIndex + ldc).add(c10).intoArray(c, cIndex + ldc);
            FloatVector.fromArray(SPECIES, c, cIndex + ldc + LANES).add(c11).intoArray(c, cIndex + ldc + LANES);
            FloatVector.fromArray(SPECIES, c, cIndex + 2 * ldc).add(c20).intoArray(c, cIndex + 2 * ldc);
            FloatVector.fromArray(SPECIES, c, cIndex + 2 * ldc + LANES).add(c21).intoArray(c, cIndex + 2 * ldc + LANES);
            FloatVector.fromArray(SPECIES, c, cIndex + 3 * ldc).add(c30).intoArray(c, cIndex + 3 * ldc);
            FloatVector.fromArray(SPECIES, c, cIndex + 3 * ldc + LANES).add(c31).intoArray(c, cIndex + 3 * ldc + LANES);
            FloatVector.fromArray(SPECIES, c, cIndex + 4 * ldc).add(c40).intoArray(c, cIndex + 4 * ldc);
            FloatVector.fromArray(SPECIES, c, cIndex + 4 * ldc + LANES).add(c41).intoArray(c, cIndex + 4 * ldc + LANES);
            FloatVector.fromArray(SPECIES, c, cIndex + 5 * ldc).add(c50).intoArray(c, cIndex + 5 * ldc);
            FloatVector.fromArray(SPECIES, c, cIndex + 5 * ldc + LANES).add(c51).intoArray(c, cIndex + 5 * ldc + LANES);
        }
    }

    /** Computes a 6 x LANES block, the left half of {@link #kernel6x2}, for strips at most one vector wide. */
    private static void kernel6x1(int kb, float[] pa, int aBase, float[] pb, int bBase,
                                  float[] c, int cIndex, int ldc, boolean overwrite) {
        FloatVector c0 = FloatVector.zero(SPECIES);
        FloatVector c1 = c0;
        FloatVector c2 = c0;
        FloatVector c3 = c0;
        FloatVector c4 = c0;
        FloatVector c5 = c0;
        for (int p = 0; p < kb; p++) {
            int ai = aBase + p * MR;
            FloatVector b0 = FloatVector.fromArray(SPECIES, pb, bBase + p * NR);
            c0 = FloatVector.broadcast(SPECIES, pa[ai]).fma(b0, c0);
            c1 = FloatVector.broadcast(SPECIES, pa[ai + 1]).fma(b0, c1);
            c2 = FloatVector.broadcast(SPECIES, pa[ai + 2]).fma(b0, c2);
            c3 = FloatVector.broadcast(SPECIES, pa[ai + 3]).fma(b0, c3);
            c4 = FloatVector.broadcast(SPECIES, pa[ai + 4]).fma(b0, c4);
            c5 = FloatVector.broadcast(SPECIES, pa[ai + 5]).fma(b0, c5);
        }
        // Stores written out for the same reason as in kernel6x2.
        if (overwrite) {
            c0.intoArray(c, cIndex);
            c1.intoArray(c, cIndex + ldc);
            c2.intoArray(c, cIndex + 2 * ldc);
            c3.intoArray(c, cIndex + 3 * ldc);
            c4.intoArray(c, cIndex + 4 * ldc);
            c5.intoArray(c, cIndex + 5 * ldc);
        } else {
            FloatVector.fromArray(SPECIES, c, cIndex).add(c0).intoArray(c, cIndex);
            FloatVector.fromArray(SPECIES, c, cIndex + ldc).add(c1).intoArray(c, cIndex + ldc);
            FloatVector.fromArray(SPECIES, c, cIndex + 2 * ldc).add(c2).intoArray(c, cIndex + 2 * ldc);
            FloatVector.fromArray(SPECIES, c, cIndex + 3 * ldc).add(c3).intoArray(c, cIndex + 3 * ldc);
            FloatVector.fromArray(SPECIES, c, cIndex + 4 * ldc).add(c4).intoArray(c, cIndex + 4 * ldc);
            FloatVector.fromArray(SPECIES, c, cIndex + 5 * ldc).add(c5).intoArray(c, cIndex + 5 * ldc);
        }
    }
}
