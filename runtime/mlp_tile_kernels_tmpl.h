/* mlp_tile_kernels_tmpl.h - register-blocked products of a layer over one
 * tile of MLP_TT points, written once for both precisions (REAL, SFX
 * defined by the includer). Points lie across the lanes of 64-byte vectors
 * (16 floats or 8 doubles, GNU vector extensions: zmm registers in the
 * AVX-512 clone, pairs of ymm or quadruples of xmm in the others). A block
 * of 4 output rows x 4 vectors keeps 16 accumulators in registers, so each
 * loaded input vector feeds 4 FMAs and each broadcast weight 4.
 *
 * The includer defines VEC (a 64-byte vector of REAL), VL (its lanes),
 * SFX(hsum1) (lane sum in a fixed order) and SFX(hsum16) (sums[q] = lane
 * sum of acc[q], q < 16). */
#define NV (MLP_TT / VL)                /* vectors per tile row */

/* Rows RB of out[r][t] = bias[r] (or 0) + sum_k w[r*wr + k*wk] in[k][t],
 * for rows r0.. r0+RB-1 and vectors c0..c0+3 of the tile. */
#define MLP_DEFINE_PRODUCT_ROWS(RB)                                                   \
    MLP_INLINE void SFX(product_rows##RB)(const REAL *w, size_t wr, size_t wk,        \
                                          const REAL *bias, int r0, int K,            \
                                          const REAL *in, REAL *out, int c0)          \
    {                                                                                 \
        VEC acc[RB][4];                                                               \
        for (int r = 0; r < RB; r++) {                                                \
            const REAL b0 = bias ? bias[r0 + r] : 0;                                  \
            for (int c = 0; c < 4; c++) acc[r][c] = (VEC){0} + b0;                    \
        }                                                                             \
        for (int k = 0; k < K; k++) {                                                 \
            const VEC *x = (const VEC *)(in + (size_t)k * MLP_TT) + c0;               \
            const VEC x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];                     \
            const REAL *wp = w + (size_t)r0 * wr + (size_t)k * wk;                    \
            for (int r = 0; r < RB; r++) {                                            \
                const REAL wv = wp[(size_t)r * wr];                                   \
                acc[r][0] += wv * x0;                                                 \
                acc[r][1] += wv * x1;                                                 \
                acc[r][2] += wv * x2;                                                 \
                acc[r][3] += wv * x3;                                                 \
            }                                                                         \
        }                                                                             \
        for (int r = 0; r < RB; r++) {                                                \
            VEC *o = (VEC *)(out + (size_t)(r0 + r) * MLP_TT) + c0;                   \
            for (int c = 0; c < 4; c++) o[c] = acc[r][c];                             \
        }                                                                             \
    }
MLP_DEFINE_PRODUCT_ROWS(4)
MLP_DEFINE_PRODUCT_ROWS(1)
#undef MLP_DEFINE_PRODUCT_ROWS

/* out[r][t] = bias[r] (or 0) + sum_k w[r*wr + k*wk] in[k][t] for r < R and
 * the whole tile; in and out rows are MLP_TT apart. (wr, wk) = (K, 1) is
 * W x, (1, R) is W^T x. */
MLP_INLINE void SFX(tile_product)(const REAL *w, size_t wr, size_t wk, const REAL *bias, int R,
                                  int K, const REAL *in, REAL *out)
{
    for (int c0 = 0; c0 < NV; c0 += 4) {
        int r = 0;
        for (; r + 4 <= R; r += 4) SFX(product_rows4)(w, wr, wk, bias, r, K, in, out, c0);
        for (; r < R; r++) SFX(product_rows1)(w, wr, wk, bias, r, K, in, out, c0);
    }
}

/* g[r*K + k] += sum_s sum_t zb[s][r][t] a[s][k][t] over the S streams of a
 * tile (stream s of zb at zb + s*zb_stream, of a at a + s*a_stream; rows
 * MLP_TT apart). 4 x 4 blocks of (r, k) accumulate lane-wise in registers
 * and are summed across lanes once per tile, in a fixed order. */
MLP_INLINE void SFX(tile_outer)(int S, int R, int K, const REAL *zb, size_t zb_stream,
                                const REAL *a, size_t a_stream, REAL *g)
{
    int r = 0;
    for (; r + 4 <= R; r += 4) {
        int k = 0;
        for (; k + 4 <= K; k += 4) {
            VEC acc[16];
            for (int q = 0; q < 16; q++) acc[q] = (VEC){0};
            for (int s = 0; s < S; s++) {
                const REAL *zs = zb + (size_t)s * zb_stream + (size_t)r * MLP_TT;
                const REAL *as = a + (size_t)s * a_stream + (size_t)k * MLP_TT;
                for (int c = 0; c < NV; c++) {
                    VEC z[4], x[4];
                    for (int q = 0; q < 4; q++) {
                        z[q] = ((const VEC *)(zs + (size_t)q * MLP_TT))[c];
                        x[q] = ((const VEC *)(as + (size_t)q * MLP_TT))[c];
                    }
                    for (int i = 0; i < 4; i++)
                        for (int j = 0; j < 4; j++) acc[4 * i + j] += z[i] * x[j];
                }
            }
            REAL sums[16];
            SFX(hsum16)(acc, sums);
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) g[(size_t)(r + i) * K + k + j] += sums[4 * i + j];
        }
        for (; k < K; k++)
            for (int i = 0; i < 4; i++) {
                VEC acc = {0};
                for (int s = 0; s < S; s++) {
                    const VEC *zs = (const VEC *)(zb + (size_t)s * zb_stream + (size_t)(r + i) * MLP_TT);
                    const VEC *as = (const VEC *)(a + (size_t)s * a_stream + (size_t)k * MLP_TT);
                    for (int c = 0; c < NV; c++) acc += zs[c] * as[c];
                }
                g[(size_t)(r + i) * K + k] += SFX(hsum1)(&acc);
            }
    }
    for (; r < R; r++)
        for (int k = 0; k < K; k++) {
            VEC acc = {0};
            for (int s = 0; s < S; s++) {
                const VEC *zs = (const VEC *)(zb + (size_t)s * zb_stream + (size_t)r * MLP_TT);
                const VEC *as = (const VEC *)(a + (size_t)s * a_stream + (size_t)k * MLP_TT);
                for (int c = 0; c < NV; c++) acc += zs[c] * as[c];
            }
            g[(size_t)r * K + k] += SFX(hsum1)(&acc);
        }
}

/* sum over the tile of x[t] y[t] and of x[t]. */
MLP_INLINE REAL SFX(tile_dot)(const REAL *x, const REAL *y)
{
    VEC acc = {0};
    for (int c = 0; c < NV; c++) acc += ((const VEC *)x)[c] * ((const VEC *)y)[c];
    return SFX(hsum1)(&acc);
}

MLP_INLINE REAL SFX(tile_sum)(const REAL *x)
{
    VEC acc = {0};
    for (int c = 0; c < NV; c++) acc += ((const VEC *)x)[c];
    return SFX(hsum1)(&acc);
}
