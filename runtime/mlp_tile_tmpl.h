/* mlp_tile_tmpl.h - forward jets and reverse sweep of one tile of points,
 * written once for both precisions (REAL, SFX, NET, VEC, VL defined by the
 * includer, mlp_tile_kernels_tmpl.h included before). The formulas are those
 * of mlp_forward_tmpl.h and mlp_reverse_tmpl.h; here every row is one tile
 * (MLP_TT points, 64-byte aligned), so loops run over whole vectors. */

#define ROW(base, r) ((base) + (size_t)(r) * MLP_TT)
#define VROW(base, r) ((VEC *)ROW(base, r))
#define CVROW(base, r) ((const VEC *)ROW(base, r))

/* prod_i W0[j][i]^alpha_i for every stream s and first-layer unit j. */
MLP_INLINE void SFX(tile_first_coef)(const NET *net, const REAL *params, REAL *coef)
{
    const int w = net->geo.n_out[0], n_in = net->geo.n_in[0];
    const REAL *W = params + net->geo.w_off[0];
    for (int s = 0; s < net->n_streams; s++)
        for (int j = 0; j < w; j++)
            coef[(size_t)s * w + j] = SFX(first_coef)(W + (size_t)j * n_in, net->plan->mi[s], n_in);
}

/* a^0 = s(z^0) and d^k = s^(k)(z^0) of layer l: stream 0 of z, a^0 and the
 * d blocks are each one contiguous run of w * MLP_TT numbers. */
MLP_INLINE void SFX(tile_activation)(const NET *net, REAL *ws, int l)
{
    const size_t n = (size_t)net->geo.n_out[l] * MLP_TT;
    REAL *outs[PHYSRT_ACT_MAX_ORDER + 1];
    outs[0] = ws + net->off_a[l];
    for (int k = 1; k <= net->n_orders; k++) outs[k] = ws + net->off_d[l] + (size_t)(k - 1) * n;
    SFX(physrt_activation_eval)(net->geo.act[l], net->n_orders, (int)n, ws + net->off_z[l], outs);
}

MLP_INLINE void SFX(tile_forward_first)(const NET *net, const REAL *params, REAL *ws)
{
    const int w = net->geo.n_out[0];
    const REAL *coef = ws + net->off_coef;
    REAL *A = ws + net->off_a[0];
    const REAL *D = ws + net->off_d[0];
    SFX(tile_product)(params + net->geo.w_off[0], (size_t)net->geo.n_in[0], 1,
                      params + net->geo.b_off[0], w, net->geo.n_in[0], ws + net->off_xt,
                      ws + net->off_z[0]);
    SFX(tile_activation)(net, ws, 0);
    for (int s = 1; s < net->n_streams; s++) {
        const int m = net->plan->order[s];
        for (int j = 0; j < w; j++) {
            VEC *as = VROW(A, (size_t)s * w + j);
            const VEC *dm = CVROW(D, (size_t)(m - 1) * w + j);
            const REAL c = coef[(size_t)s * w + j];
            for (int v = 0; v < NV; v++) as[v] = c * dm[v];
        }
    }
}

MLP_INLINE void SFX(tile_forward_hidden)(const NET *net, const REAL *params, REAL *ws, int l)
{
    const int w = net->geo.n_out[l], n_in = net->geo.n_in[l], S = net->n_streams;
    const REAL *W = params + net->geo.w_off[l];
    const REAL *A_prev = ws + net->off_a[l - 1];
    REAL *Z = ws + net->off_z[l], *A = ws + net->off_a[l];
    const REAL *D = ws + net->off_d[l];
    for (int s = 0; s < S; s++)
        SFX(tile_product)(W, (size_t)n_in, 1, s == 0 ? params + net->geo.b_off[l] : NULL, w,
                          n_in, ROW(A_prev, (size_t)s * n_in), ROW(Z, (size_t)s * w));
    SFX(tile_activation)(net, ws, l);
    for (int s = 1; s < S; s++) {
        const jet_term *terms = net->plan->terms + net->plan->term_begin[s];
        const int n_terms = net->plan->term_begin[s + 1] - net->plan->term_begin[s];
        for (int j = 0; j < w; j++) {
            VEC acc[NV];
            for (int v = 0; v < NV; v++) acc[v] = (VEC){0};
            for (int q = 0; q < n_terms; q++) {
                const jet_term *tm = &terms[q];
                const VEC *dk = CVROW(D, (size_t)(tm->k - 1) * w + j);
                VEC prod[NV];
                for (int v = 0; v < NV; v++) prod[v] = (REAL)tm->coeff * dk[v];
                for (int m = 0; m < tm->k; m++) {
                    const VEC *zm = CVROW(Z, (size_t)tm->block[m] * w + j);
                    for (int v = 0; v < NV; v++) prod[v] *= zm[v];
                }
                for (int v = 0; v < NV; v++) acc[v] += prod[v];
            }
            VEC *as = VROW(A, (size_t)s * w + j);
            for (int v = 0; v < NV; v++) as[v] = acc[v];
        }
    }
}

MLP_HOT_KERNEL void SFX(mlp_tile_forward)(const NET *net, const REAL *params, REAL *ws, int np,
                                          const REAL *x)
{
    const int n_in = net->geo.n_inputs;
    REAL *xt = ws + net->off_xt;
    for (int i = 0; i < n_in; i++) {
        for (int t = 0; t < np; t++) xt[(size_t)i * MLP_TT + t] = x[(size_t)t * n_in + i];
        for (int t = np; t < MLP_TT; t++) xt[(size_t)i * MLP_TT + t] = 0;
    }
    SFX(tile_first_coef)(net, params, ws + net->off_coef);
    SFX(tile_forward_first)(net, params, ws);
    for (int l = 1; l < net->geo.n_layers; l++) SFX(tile_forward_hidden)(net, params, ws, l);
    memset(ws + net->off_abar, 0,
           (size_t)net->n_streams * net->geo.n_outputs * MLP_TT * sizeof(REAL));
}

/* zbar of every stream of layer l from abar, row by row from the gathered
 * entries (mlp_tile.h): each row is summed in registers and stored once. */
MLP_INLINE void SFX(tile_reverse_activation)(const NET *net, const REAL *ws, int l,
                                             const REAL *restrict abar, REAL *restrict zbar)
{
    const int w = net->geo.n_out[l], S = net->n_streams;
    const REAL *restrict Z = ws + net->off_z[l];
    const REAL *restrict D = ws + net->off_d[l];
    for (int j = 0; j < w; j++)
        for (int sigma = 0; sigma < S; sigma++) {
            VEC acc[NV];
            for (int v = 0; v < NV; v++) acc[v] = (VEC){0};
            for (int e = net->rev_begin[sigma]; e < net->rev_begin[sigma + 1]; e++) {
                const mlp_rev_entry *en = &net->rev[e];
                const VEC *ab = CVROW(abar, (size_t)en->s * w + j);
                const VEC *dd = CVROW(D, (size_t)(en->d - 1) * w + j);
                VEC g[NV];
                for (int v = 0; v < NV; v++) g[v] = (REAL)en->coeff * ab[v] * dd[v];
                for (int m = 0; m < en->n_z; m++) {
                    const VEC *zm = CVROW(Z, (size_t)en->z[m] * w + j);
                    for (int v = 0; v < NV; v++) g[v] *= zm[v];
                }
                for (int v = 0; v < NV; v++) acc[v] += g[v];
            }
            VEC *out = VROW(zbar, (size_t)sigma * w + j);
            for (int v = 0; v < NV; v++) out[v] = acc[v];
        }
}

/* Layer l >= 1: gradients of W_l, b_l and abar of layer l - 1. */
MLP_INLINE void SFX(tile_reverse_hidden)(const NET *net, const REAL *params, const REAL *ws,
                                         int l, const REAL *abar, REAL *zbar, REAL *abar_prev,
                                         REAL *grad)
{
    const int w = net->geo.n_out[l], n_in = net->geo.n_in[l], S = net->n_streams;
    const REAL *W = params + net->geo.w_off[l];
    REAL *dW = grad + net->geo.w_off[l], *db = grad + net->geo.b_off[l];
    SFX(tile_reverse_activation)(net, ws, l, abar, zbar);
    for (int j = 0; j < w; j++) db[j] += SFX(tile_sum)(ROW(zbar, j));
    SFX(tile_outer)(S, w, n_in, zbar, (size_t)w * MLP_TT, ws + net->off_a[l - 1],
                    (size_t)n_in * MLP_TT, dW);
    for (int s = 0; s < S; s++)
        SFX(tile_product)(W, 1, (size_t)n_in, NULL, n_in, w, ROW(zbar, (size_t)s * w),
                          ROW(abar_prev, (size_t)s * n_in));
}

/* First layer: its z streams are W columns (constant) or zero. */
MLP_INLINE void SFX(tile_reverse_first)(const NET *net, const REAL *params, const REAL *ws,
                                        const REAL *abar, REAL *zb, REAL *grad)
{
    const int w = net->geo.n_out[0], n_in = net->geo.n_in[0], S = net->n_streams;
    const REAL *W = params + net->geo.w_off[0];
    REAL *dW = grad + net->geo.w_off[0], *db = grad + net->geo.b_off[0];
    const REAL *D = ws + net->off_d[0], *coef = ws + net->off_coef, *xt = ws + net->off_xt;
    VEC *zv = (VEC *)zb;
    for (int j = 0; j < w; j++) {
        {
            const VEC *ab = CVROW(abar, j), *d1 = CVROW(D, j);
            for (int v = 0; v < NV; v++) zv[v] = d1[v] * ab[v];
        }
        for (int s = 1; s < S; s++) {
            const int m = net->plan->order[s];
            const REAL c = coef[(size_t)s * w + j];
            const VEC *ab = CVROW(abar, (size_t)s * w + j);
            const VEC *dm1 = CVROW(D, (size_t)m * w + j);
            for (int v = 0; v < NV; v++) zv[v] += c * dm1[v] * ab[v];
            const REAL g = SFX(tile_dot)(ROW(D, (size_t)(m - 1) * w + j), ROW(abar, (size_t)s * w + j));
            SFX(first_coef_grad)(W + (size_t)j * n_in, net->plan->mi[s], n_in, g, dW + (size_t)j * n_in);
        }
        db[j] += SFX(tile_sum)(zb);
        for (int i = 0; i < n_in; i++) dW[(size_t)j * n_in + i] += SFX(tile_dot)(zb, ROW(xt, i));
    }
}

MLP_HOT_KERNEL void SFX(mlp_tile_backward)(const NET *net, const REAL *params, REAL *ws,
                                           REAL *grad)
{
    REAL *cur = ws + net->off_abar, *prev = ws + net->off_prev, *zbar = ws + net->off_zbar;
    for (int l = net->geo.n_layers - 1; l >= 1; l--) {
        SFX(tile_reverse_hidden)(net, params, ws, l, cur, zbar, prev, grad);
        REAL *tmp = cur;
        cur = prev;
        prev = tmp;
    }
    SFX(tile_reverse_first)(net, params, ws, cur, zbar, grad);
}

#undef ROW
#undef VROW
#undef CVROW
