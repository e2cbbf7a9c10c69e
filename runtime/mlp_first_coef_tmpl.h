/* mlp_first_coef_tmpl.h - first-layer stream coefficients, written once for
 * both precisions (REAL and SFX defined by the includer; EVAL too for the
 * whole-batch path). The first layer's inputs are coordinates, so
 * d^alpha s(W x + b) at unit j is s^(|alpha|)(z_j) times
 * c = prod_i W[j][i]^alpha_i. Both the whole-batch (mlp_forward.c,
 * mlp_reverse.c) and the tiled path (mlp_tile.c) use these. */

/* prod_i Wj[i]^alpha[i] for one unit's weight row Wj. */
MLP_INLINE REAL SFX(first_coef)(const REAL *Wj, const unsigned char *alpha, int n_in)
{
    REAL c = 1;
    for (int i = 0; i < n_in; i++)
        for (int r = 0; r < alpha[i]; r++) c *= Wj[i];
    return c;
}

/* dWj[i] += g * d c / d Wj[i], where
 * d c / d W[j][i] = alpha_i W^(alpha_i - 1) prod_{i' != i} W^alpha_i'. */
MLP_INLINE void SFX(first_coef_grad)(const REAL *Wj, const unsigned char *alpha, int n_in, REAL g, REAL *dWj)
{
    for (int i = 0; i < n_in; i++) {
        if (alpha[i] == 0) continue;
        REAL dc = (REAL)alpha[i];
        for (int i2 = 0; i2 < n_in; i2++) {
            int e = alpha[i2] - (i2 == i);
            for (int r = 0; r < e; r++) dc *= Wj[i2];
        }
        dWj[i] += dc * g;
    }
}

#ifdef EVAL
/* prod_i W0[j][i]^alpha_i for every stream and first-layer unit. */
static void SFX(compute_first_coef)(EVAL *ev, const REAL *params)
{
    const int w = ev->geo.n_out[0], n_in = ev->geo.n_in[0];
    const REAL *W = params + ev->geo.w_off[0];
    for (int s = 0; s < ev->n_streams; s++)
        for (int j = 0; j < w; j++)
            ev->first_coef[(size_t)s * w + j] = SFX(first_coef)(W + (size_t)j * n_in, ev->plan->mi[s], n_in);
}
#endif
