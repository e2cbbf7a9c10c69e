/* mlp_blocks_tmpl.h - register-blocked building blocks of the layer
 * products, written once for both precisions (REAL, SFX defined by the
 * includer). Points are the contiguous, vectorised dimension; fixed-size
 * accumulator arrays over MLP_VEC points and four output rows become
 * vector registers, so each loaded input vector feeds four FMAs. */

#define MLP_VEC 16

/* out[r][t] = bias[r] (or 0) + sum_k w[r*wr + k*wk] * in[k][t] for r < R,
 * t < np. (wr, wk) = (K, 1) is W x; (1, R) is W^T x. */
MLP_INLINE void SFX(block_product)(const REAL *w, size_t wr, size_t wk, const REAL *bias,
                                   int R, int K, const REAL *in, size_t in_stride,
                                   REAL *out, size_t out_stride, int np)
{
    int t = 0;
    for (; t + MLP_VEC <= np; t += MLP_VEC) {
        int r = 0;
        for (; r + 4 <= R; r += 4) {
            REAL a0[MLP_VEC], a1[MLP_VEC], a2[MLP_VEC], a3[MLP_VEC];
            for (int v = 0; v < MLP_VEC; v++) {
                a0[v] = bias ? bias[r] : 0;
                a1[v] = bias ? bias[r + 1] : 0;
                a2[v] = bias ? bias[r + 2] : 0;
                a3[v] = bias ? bias[r + 3] : 0;
            }
            for (int k = 0; k < K; k++) {
                const REAL *x = in + (size_t)k * in_stride + t;
                const REAL w0 = w[(size_t)r * wr + (size_t)k * wk];
                const REAL w1 = w[(size_t)(r + 1) * wr + (size_t)k * wk];
                const REAL w2 = w[(size_t)(r + 2) * wr + (size_t)k * wk];
                const REAL w3 = w[(size_t)(r + 3) * wr + (size_t)k * wk];
                for (int v = 0; v < MLP_VEC; v++) {
                    a0[v] += w0 * x[v];
                    a1[v] += w1 * x[v];
                    a2[v] += w2 * x[v];
                    a3[v] += w3 * x[v];
                }
            }
            for (int v = 0; v < MLP_VEC; v++) {
                out[(size_t)r * out_stride + t + v] = a0[v];
                out[(size_t)(r + 1) * out_stride + t + v] = a1[v];
                out[(size_t)(r + 2) * out_stride + t + v] = a2[v];
                out[(size_t)(r + 3) * out_stride + t + v] = a3[v];
            }
        }
        for (; r < R; r++) {
            REAL a0[MLP_VEC];
            for (int v = 0; v < MLP_VEC; v++) a0[v] = bias ? bias[r] : 0;
            for (int k = 0; k < K; k++) {
                const REAL *x = in + (size_t)k * in_stride + t;
                const REAL w0 = w[(size_t)r * wr + (size_t)k * wk];
                for (int v = 0; v < MLP_VEC; v++) a0[v] += w0 * x[v];
            }
            for (int v = 0; v < MLP_VEC; v++) out[(size_t)r * out_stride + t + v] = a0[v];
        }
    }
    /* remainder points (only in the last, partial tile) */
    for (int r = 0; r < R; r++)
        for (int tt = t; tt < np; tt++) {
            REAL acc = bias ? bias[r] : 0;
            for (int k = 0; k < K; k++)
                acc += w[(size_t)r * wr + (size_t)k * wk] * in[(size_t)k * in_stride + tt];
            out[(size_t)r * out_stride + tt] = acc;
        }
}

/* g[r*K + k] += sum_{s < S} sum_{t < np} zb[s][r][t] * a[s][k][t], rows of
 * stream s at zb + (s*R + r)*zb_stride and a + (s*K + k)*a_stride. Lane sums
 * are combined in a fixed order. */
MLP_INLINE void SFX(block_outer)(int S, int R, int K, const REAL *zb, size_t zb_stride,
                                 const REAL *a, size_t a_stride, int np, REAL *g)
{
    for (int r = 0; r < R; r++) {
        int k = 0;
        for (; k < K; k += 4) {
            const int kn = K - k < 4 ? K - k : 4;
            REAL acc[4][MLP_VEC];
            for (int q = 0; q < 4; q++)
                for (int v = 0; v < MLP_VEC; v++) acc[q][v] = 0;
            for (int s = 0; s < S; s++) {
                const REAL *z = zb + ((size_t)s * R + r) * zb_stride;
                const REAL *x0 = a + ((size_t)s * K + k) * a_stride;
                int t = 0;
                if (kn == 4) {
                    const REAL *x1 = x0 + a_stride, *x2 = x1 + a_stride, *x3 = x2 + a_stride;
                    for (; t + MLP_VEC <= np; t += MLP_VEC)
                        for (int v = 0; v < MLP_VEC; v++) {
                            acc[0][v] += z[t + v] * x0[t + v];
                            acc[1][v] += z[t + v] * x1[t + v];
                            acc[2][v] += z[t + v] * x2[t + v];
                            acc[3][v] += z[t + v] * x3[t + v];
                        }
                }
                for (int q = 0; q < kn; q++) {
                    const REAL *xq = x0 + (size_t)q * a_stride;
                    for (int tt = t, v = 0; tt < np; tt++, v = (v + 1) % MLP_VEC)
                        acc[q][v] += z[tt] * xq[tt];
                }
            }
            for (int q = 0; q < kn; q++) {
                REAL sum = 0;
                for (int v = 0; v < MLP_VEC; v++) sum += acc[q][v];
                g[(size_t)r * K + k + q] += sum;
            }
        }
    }
}
