/* mlp_first_coef_tmpl.h - first-layer stream coefficients, written once for
 * both precisions (REAL, SFX, EVAL defined by the includer). The first
 * layer's inputs are coordinates, so d^alpha s(W x + b) at unit j is
 * s^(|alpha|)(z_j) times this coefficient. */

/* prod_i W0[j][i]^alpha_i for every stream and first-layer unit. */
static void SFX(compute_first_coef)(EVAL *ev, const REAL *params)
{
    const int w = ev->geo.n_out[0], n_in = ev->geo.n_in[0];
    const REAL *W = params + ev->geo.w_off[0];
    for (int s = 0; s < ev->n_streams; s++)
        for (int j = 0; j < w; j++) {
            REAL c = 1;
            for (int i = 0; i < n_in; i++)
                for (int r = 0; r < ev->plan->mi[s][i]; r++) c *= W[(size_t)j * n_in + i];
            ev->first_coef[(size_t)s * w + j] = c;
        }
}
