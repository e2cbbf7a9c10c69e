/* mlp_forward_tmpl.h - forward jets through an MLP, written once for both
 * precisions (REAL, SFX, EVAL defined by the includer).
 *
 * Layer l computes, for a tile of points:
 *   z^0 = W a_prev^0 + b,   z^beta = W a_prev^beta  (|beta| >= 1)
 *   a^0 = s(z^0),           a^alpha = sum_terms c s^(k)(z^0) prod_j z^{beta_j}
 * The first layer's inputs are the coordinates, whose only non-zero
 * derivatives are d x_i / d x_i = 1, so there z^{e_i} = W[:, i] and all
 * higher z streams vanish: a^alpha = s^(|alpha|)(z^0) prod_i W[:, i]^alpha_i. */

/* z[j][t] = bias_j + sum_i W[j][i] in[i][t] for t < np (rows strided). */
MLP_INLINE void SFX(layer_product)(const REAL *W, const REAL *bias, int n_in, int n_out,
                                   const REAL *in, size_t in_stride, REAL *z, size_t z_stride,
                                   int np)
{
    SFX(block_product)(W, (size_t)n_in, 1, bias, n_out, n_in, in, in_stride, z, z_stride, np);
}

/* s(z) and s^(k)(z), k = 1..n_orders, for units of layer l at points
 * [p0, p0+np): computed once per (layer, point) and kept for the reverse. */
MLP_INLINE void SFX(layer_activation)(EVAL *ev, int l, int p0, int np)
{
    const size_t P = (size_t)ev->max_points;
    const int w = ev->geo.n_out[l];
    for (int j = 0; j < w; j++) {
        REAL *outs[PHYSRT_ACT_MAX_ORDER + 1];
        outs[0] = ev->a[l] + (size_t)j * P + p0;
        for (int k = 1; k <= ev->n_orders; k++)
            outs[k] = ev->d[l] + ((size_t)(k - 1) * w + j) * P + p0;
        SFX(physrt_activation_eval)(ev->geo.act[l], ev->n_orders, np,
                                     ev->z[l] + (size_t)j * P + p0, outs);
    }
}

MLP_INLINE void SFX(forward_first_layer)(EVAL *ev, int p0, int np)
{
    const size_t P = (size_t)ev->max_points;
    const int w = ev->geo.n_out[0];
    const REAL *params = ev->params;
    SFX(layer_product)(params + ev->geo.w_off[0], params + ev->geo.b_off[0], ev->geo.n_in[0],
                       w, ev->xt + p0, P, ev->z[0] + p0, P, np);
    SFX(layer_activation)(ev, 0, p0, np);
    for (int s = 1; s < ev->n_streams; s++) {
        const int m = ev->plan->order[s];
        for (int j = 0; j < w; j++) {
            REAL *restrict as = ev->a[0] + ((size_t)s * w + j) * P + p0;
            const REAL *restrict dm = ev->d[0] + ((size_t)(m - 1) * w + j) * P + p0;
            const REAL c = ev->first_coef[(size_t)s * w + j];
            for (int t = 0; t < np; t++) as[t] = c * dm[t];
        }
    }
}

MLP_INLINE void SFX(forward_hidden_layer)(EVAL *ev, int l, int p0, int np)
{
    const size_t P = (size_t)ev->max_points;
    const int w = ev->geo.n_out[l], n_in = ev->geo.n_in[l];
    const REAL *W = ev->params + ev->geo.w_off[l];
    const REAL *bias = ev->params + ev->geo.b_off[l];
    const REAL *A_prev = ev->a[l - 1];
    REAL *Z = ev->z[l], *A = ev->a[l];
    const REAL *D = ev->d[l];
    for (int s = 0; s < ev->n_streams; s++)
        SFX(layer_product)(W, s == 0 ? bias : NULL, n_in, w,
                           A_prev + (size_t)s * n_in * P + p0, P,
                           Z + (size_t)s * w * P + p0, P, np);
    SFX(layer_activation)(ev, l, p0, np);
    for (int s = 1; s < ev->n_streams; s++) {
        const jet_term *terms = ev->plan->terms + ev->plan->term_begin[s];
        const int n_terms = ev->plan->term_begin[s + 1] - ev->plan->term_begin[s];
        for (int j = 0; j < w; j++) {
            REAL *restrict as = A + ((size_t)s * w + j) * P + p0;
            for (int t = 0; t < np; t++) as[t] = 0;
            for (int q = 0; q < n_terms; q++) {
                const jet_term *tm = &terms[q];
                const REAL c = (REAL)tm->coeff;
                const REAL *restrict dk = D + ((size_t)(tm->k - 1) * w + j) * P + p0;
                const REAL *z1 = Z + ((size_t)tm->block[0] * w + j) * P + p0;
                const REAL *z2 = tm->k > 1 ? Z + ((size_t)tm->block[1] * w + j) * P + p0 : NULL;
                const REAL *z3 = tm->k > 2 ? Z + ((size_t)tm->block[2] * w + j) * P + p0 : NULL;
                const REAL *z4 = tm->k > 3 ? Z + ((size_t)tm->block[3] * w + j) * P + p0 : NULL;
                switch (tm->k) {
                case 1:
                    for (int t = 0; t < np; t++) as[t] += c * dk[t] * z1[t];
                    break;
                case 2:
                    for (int t = 0; t < np; t++) as[t] += c * dk[t] * z1[t] * z2[t];
                    break;
                case 3:
                    for (int t = 0; t < np; t++) as[t] += c * dk[t] * z1[t] * z2[t] * z3[t];
                    break;
                default:
                    for (int t = 0; t < np; t++)
                        as[t] += c * dk[t] * z1[t] * z2[t] * z3[t] * z4[t];
                    break;
                }
            }
        }
    }
}

/* Part c of the points, tile by tile through every layer. */
MLP_HOT_KERNEL static void SFX(forward_part)(void *ctx, int c, int n_parts)
{
    EVAL *ev = ctx;
    const int n = ev->n_points, n_in = ev->geo.n_inputs, n_out = ev->geo.n_outputs;
    const size_t P = (size_t)ev->max_points;
    int begin, end;
    mlp_part_range(n, n_parts, c, &begin, &end);
    for (int p = begin; p < end; p++)
        for (int i = 0; i < n_in; i++)
            ev->xt[(size_t)i * P + p] = ev->x_in[(size_t)p * n_in + i];
    for (int p0 = begin; p0 < end; p0 += MLP_TILE) {
        const int np = end - p0 < MLP_TILE ? end - p0 : MLP_TILE;
        SFX(forward_first_layer)(ev, p0, np);
        for (int l = 1; l < ev->geo.n_layers; l++) SFX(forward_hidden_layer)(ev, l, p0, np);
        const REAL *A = ev->a[ev->geo.n_layers - 1];
        for (int s = 0; s < ev->n_streams; s++)
            for (int o = 0; o < n_out; o++) {
                const REAL *src = A + ((size_t)s * n_out + o) * P + p0;
                REAL *dst = ev->out + ((size_t)s * n_out + o) * n + p0;
                memcpy(dst, src, (size_t)np * sizeof(REAL));
            }
    }
}

int SFX(physrt_mlp_forward)(EVAL *ev, const REAL *params, int n_points, const REAL *x,
                            REAL *out)
{
    if (!ev || !params || !x || !out || n_points < 1 || n_points > ev->max_points)
        return PHYSRT_EINVAL;
    ev->n_points = n_points;
    ev->params = params;
    ev->x_in = x;
    ev->out = out;
    SFX(compute_first_coef)(ev, params);
    physrt_pool_run(ev->pool, ev->n_parts, SFX(forward_part), ev);
    return PHYSRT_OK;
}
