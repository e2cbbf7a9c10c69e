/* mlp_reverse_tmpl.h - one reverse sweep through the forward jets, giving
 * d loss / d params, written once for both precisions (REAL, SFX, EVAL
 * defined by the includer).
 *
 * For a term a^alpha += c s^(k)(z^0) prod_j z^{beta_j} the adjoints are
 *   zbar^0       += c s^(k+1)(z^0) prod_j z^{beta_j} abar^alpha
 *   zbar^{beta_m} += c s^(k)(z^0) prod_{j != m} z^{beta_j} abar^alpha
 * then dW += sum_streams zbar^beta a_prev^beta^T, db += zbar^0 and
 * abar_prev^beta = W^T zbar^beta. Adjoints of one tile live in per-part
 * scratch with row stride MLP_TILE; gradients go to the part's own buffer. */

/* Sum of x[t] * y[t], t < n, in a fixed order that vectorises: LANES
 * independent partial sums, combined at the end. */
#define DOT_LANES 16
MLP_INLINE REAL SFX(dot)(const REAL *restrict x, const REAL *restrict y, int n)
{
    REAL acc[DOT_LANES] = {0};
    int t = 0;
    for (; t + DOT_LANES <= n; t += DOT_LANES)
        for (int v = 0; v < DOT_LANES; v++) acc[v] += x[t + v] * y[t + v];
    for (int v = 0; t < n; t++, v++) acc[v] += x[t] * y[t];
    REAL s = 0;
    for (int v = 0; v < DOT_LANES; v++) s += acc[v];
    return s;
}

MLP_INLINE REAL SFX(sum)(const REAL *restrict x, int n)
{
    REAL acc[DOT_LANES] = {0};
    int t = 0;
    for (; t + DOT_LANES <= n; t += DOT_LANES)
        for (int v = 0; v < DOT_LANES; v++) acc[v] += x[t + v];
    for (int v = 0; t < n; t++, v++) acc[v] += x[t];
    REAL s = 0;
    for (int v = 0; v < DOT_LANES; v++) s += acc[v];
    return s;
}

/* zbar of every stream of layer l (l >= 1) from abar, for one tile. */
MLP_INLINE void SFX(reverse_activation)(const EVAL *ev, int l, int p0, int np,
                                    const REAL *abar, REAL *zbar)
{
    const size_t P = (size_t)ev->max_points, T = MLP_TILE;
    const int w = ev->geo.n_out[l];
    const REAL *Z = ev->z[l], *D = ev->d[l];
    for (size_t r = 0; r < (size_t)ev->n_streams * w; r++)
        for (int t = 0; t < np; t++) zbar[r * T + t] = 0;
    for (int j = 0; j < w; j++) {
        REAL *zb0 = zbar + (size_t)j * T;
        {
            const REAL *restrict ab = abar + (size_t)j * T;
            const REAL *restrict d1 = D + (size_t)j * P + p0;
            for (int t = 0; t < np; t++) zb0[t] += d1[t] * ab[t];
        }
        for (int s = 1; s < ev->n_streams; s++) {
            const REAL *ab = abar + ((size_t)s * w + j) * T;
            const jet_term *terms = ev->plan->terms + ev->plan->term_begin[s];
            const int n_terms = ev->plan->term_begin[s + 1] - ev->plan->term_begin[s];
            for (int q = 0; q < n_terms; q++) {
                const jet_term *tm = &terms[q];
                const REAL c = (REAL)tm->coeff;
                const REAL *dk = D + ((size_t)(tm->k - 1) * w + j) * P + p0;
                const REAL *dk1 = D + ((size_t)tm->k * w + j) * P + p0;
                const REAL *z[PHYSRT_MAX_ORDER];
                REAL *zb[PHYSRT_MAX_ORDER];
                for (int m = 0; m < tm->k; m++) {
                    z[m] = Z + ((size_t)tm->block[m] * w + j) * P + p0;
                    zb[m] = zbar + ((size_t)tm->block[m] * w + j) * T;
                }
                /* zbar rows of equal blocks alias, so each update is its own loop */
                switch (tm->k) {
                case 1:
                    for (int t = 0; t < np; t++) {
                        REAL g = c * ab[t];
                        zb0[t] += g * dk1[t] * z[0][t];
                        zb[0][t] += g * dk[t];
                    }
                    break;
                case 2:
                    for (int t = 0; t < np; t++)
                        zb0[t] += c * ab[t] * dk1[t] * z[0][t] * z[1][t];
                    for (int t = 0; t < np; t++) zb[0][t] += c * ab[t] * dk[t] * z[1][t];
                    for (int t = 0; t < np; t++) zb[1][t] += c * ab[t] * dk[t] * z[0][t];
                    break;
                case 3:
                    for (int t = 0; t < np; t++)
                        zb0[t] += c * ab[t] * dk1[t] * z[0][t] * z[1][t] * z[2][t];
                    for (int t = 0; t < np; t++)
                        zb[0][t] += c * ab[t] * dk[t] * z[1][t] * z[2][t];
                    for (int t = 0; t < np; t++)
                        zb[1][t] += c * ab[t] * dk[t] * z[0][t] * z[2][t];
                    for (int t = 0; t < np; t++)
                        zb[2][t] += c * ab[t] * dk[t] * z[0][t] * z[1][t];
                    break;
                default:
                    for (int t = 0; t < np; t++)
                        zb0[t] += c * ab[t] * dk1[t] * z[0][t] * z[1][t] * z[2][t] * z[3][t];
                    for (int t = 0; t < np; t++)
                        zb[0][t] += c * ab[t] * dk[t] * z[1][t] * z[2][t] * z[3][t];
                    for (int t = 0; t < np; t++)
                        zb[1][t] += c * ab[t] * dk[t] * z[0][t] * z[2][t] * z[3][t];
                    for (int t = 0; t < np; t++)
                        zb[2][t] += c * ab[t] * dk[t] * z[0][t] * z[1][t] * z[3][t];
                    for (int t = 0; t < np; t++)
                        zb[3][t] += c * ab[t] * dk[t] * z[0][t] * z[1][t] * z[2][t];
                    break;
                }
            }
        }
    }
}

/* Hidden/output layer l >= 1: gradients of W_l, b_l and abar of layer l-1. */
MLP_INLINE void SFX(reverse_hidden_layer)(const EVAL *ev, int l, int p0, int np,
                                      const REAL *abar, REAL *zbar, REAL *abar_prev,
                                      REAL *grad)
{
    const size_t P = (size_t)ev->max_points, T = MLP_TILE;
    const int w = ev->geo.n_out[l], n_in = ev->geo.n_in[l], S = ev->n_streams;
    const REAL *W = ev->params + ev->geo.w_off[l];
    REAL *dW = grad + ev->geo.w_off[l], *db = grad + ev->geo.b_off[l];
    const REAL *A_prev = ev->a[l - 1];
    SFX(reverse_activation)(ev, l, p0, np, abar, zbar);
    for (int j = 0; j < w; j++) db[j] += SFX(sum)(zbar + (size_t)j * T, np);
    SFX(block_outer)(S, w, n_in, zbar, T, A_prev + p0, P, np, dW);
    /* abar_prev^s = W^T zbar^s */
    for (int s = 0; s < S; s++)
        SFX(block_product)(W, 1, (size_t)n_in, NULL, n_in, w, zbar + (size_t)s * w * T, T,
                           abar_prev + (size_t)s * n_in * T, T, np);
}

/* First layer: z streams are W columns (constant) or zero. */
MLP_INLINE void SFX(reverse_first_layer)(const EVAL *ev, int p0, int np, const REAL *abar,
                                     REAL *zbar0, REAL *grad)
{
    const size_t P = (size_t)ev->max_points, T = MLP_TILE;
    const int w = ev->geo.n_out[0], n_in = ev->geo.n_in[0], S = ev->n_streams;
    const REAL *W = ev->params + ev->geo.w_off[0];
    REAL *dW = grad + ev->geo.w_off[0], *db = grad + ev->geo.b_off[0];
    const REAL *D = ev->d[0];
    for (int j = 0; j < w; j++) {
        REAL *restrict zb = zbar0;
        {
            const REAL *restrict ab = abar + (size_t)j * T;
            const REAL *restrict d1 = D + (size_t)j * P + p0;
            for (int t = 0; t < np; t++) zb[t] = d1[t] * ab[t];
        }
        for (int s = 1; s < S; s++) {
            const int m = ev->plan->order[s];
            const REAL c = ev->first_coef[(size_t)s * w + j];
            const REAL *restrict ab = abar + ((size_t)s * w + j) * T;
            const REAL *restrict dm = D + ((size_t)(m - 1) * w + j) * P + p0;
            const REAL *restrict dm1 = D + ((size_t)m * w + j) * P + p0;
            for (int t = 0; t < np; t++) zb[t] += c * dm1[t] * ab[t];
            const REAL g = SFX(dot)(dm, ab, np);
            SFX(first_coef_grad)(W + (size_t)j * n_in, ev->plan->mi[s], n_in, g, dW + (size_t)j * n_in);
        }
        db[j] += SFX(sum)(zb, np);
        for (int i = 0; i < n_in; i++)
            dW[(size_t)j * n_in + i] += SFX(dot)(zb, ev->xt + (size_t)i * P + p0, np);
    }
}

MLP_HOT_KERNEL static void SFX(backward_part)(void *ctx, int c, int n_parts)
{
    const EVAL *ev = ctx;
    const int n = ev->n_points, n_out = ev->geo.n_outputs, S = ev->n_streams;
    const size_t n_params = ev->geo.n_params;
    REAL *grad = ev->part_grad + (size_t)c * n_params;
    const size_t slab = ev->scratch_per_part / 3;
    REAL *abar = ev->scratch + (size_t)c * ev->scratch_per_part;
    REAL *abar_prev = abar + slab, *zbar = abar_prev + slab;
    memset(grad, 0, n_params * sizeof(REAL));
    int begin, end;
    mlp_part_range(n, n_parts, c, &begin, &end);
    for (int p0 = begin; p0 < end; p0 += MLP_TILE) {
        const int np = end - p0 < MLP_TILE ? end - p0 : MLP_TILE;
        for (int s = 0; s < S; s++)
            for (int o = 0; o < n_out; o++)
                memcpy(abar + ((size_t)s * n_out + o) * MLP_TILE,
                       ev->out_adjoint + ((size_t)s * n_out + o) * n + p0,
                       (size_t)np * sizeof(REAL));
        REAL *cur = abar, *prev = abar_prev;
        for (int l = ev->geo.n_layers - 1; l >= 1; l--) {
            SFX(reverse_hidden_layer)(ev, l, p0, np, cur, zbar, prev, grad);
            REAL *tmp = cur;
            cur = prev;
            prev = tmp;
        }
        SFX(reverse_first_layer)(ev, p0, np, cur, zbar, grad);
    }
}

int SFX(physrt_mlp_backward)(EVAL *ev, const REAL *params, const REAL *out_adjoint,
                             REAL *param_grad)
{
    if (!ev || !params || !out_adjoint || !param_grad) return PHYSRT_EINVAL;
    if (ev->n_points == 0) return PHYSRT_ESTATE;
    ev->params = params;
    ev->out_adjoint = out_adjoint;
    SFX(compute_first_coef)(ev, params);
    physrt_pool_run(ev->pool, ev->n_parts, SFX(backward_part), ev);
    /* fixed reduction order: part 0, 1, ... */
    const size_t n_params = ev->geo.n_params;
    for (int c = 0; c < ev->n_parts; c++) {
        const REAL *g = ev->part_grad + (size_t)c * n_params;
        for (size_t q = 0; q < n_params; q++) param_grad[q] += g[q];
    }
    return PHYSRT_OK;
}
