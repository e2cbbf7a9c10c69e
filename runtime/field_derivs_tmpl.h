/* field_derivs_tmpl.h - input gradients and Hessians of scalar MLP fields
 * (grad H, -grad V, vibrational Hessians) and their parameter gradients, on
 * top of the jet forward/backward. Written once for both precisions (REAL,
 * SFX, EVAL defined by the includer). Streams are gathered from the
 * stream-major staging buffer into point-major user layouts. */

/* Stream indices of the value, e_i and e_i + e_j; PHYSRT_EINVAL if the
 * plan lacks one that is needed or the field is not scalar. */
static int SFX(field_streams)(const EVAL *ev, int order, int *first, int *second)
{
    const int n = ev->geo.n_inputs;
    if (ev->geo.n_outputs != 1) return PHYSRT_EINVAL;
    for (int i = 0; i < n; i++) {
        int mi[PHYSRT_MAX_INPUTS] = {0};
        mi[i] = 1;
        first[i] = physrt_jet_plan_index(ev->plan, mi);
        if (first[i] < 0) return PHYSRT_EINVAL;
        if (order < 2) continue;
        for (int j = 0; j < n; j++) {
            int mj[PHYSRT_MAX_INPUTS] = {0};
            mj[i]++;
            mj[j]++;
            second[i * n + j] = physrt_jet_plan_index(ev->plan, mj);
            if (second[i * n + j] < 0) return PHYSRT_EINVAL;
        }
    }
    return PHYSRT_OK;
}

static int SFX(field_forward)(EVAL *ev, const REAL *params, int n_points, const REAL *x,
                              int order, REAL *value, REAL *grad, REAL *hess)
{
    int first[PHYSRT_MAX_INPUTS], second[PHYSRT_MAX_INPUTS * PHYSRT_MAX_INPUTS];
    if (!ev) return PHYSRT_EINVAL;
    int rc = SFX(field_streams)(ev, order, first, second);
    if (rc != PHYSRT_OK) return rc;
    rc = SFX(physrt_mlp_forward)(ev, params, n_points, x, ev->staging);
    if (rc != PHYSRT_OK) return rc;
    const int n = ev->geo.n_inputs;
    const REAL *st = ev->staging;
    const size_t np = (size_t)n_points;
    for (size_t p = 0; p < np; p++) {
        if (value) value[p] = st[p];
        for (int i = 0; i < n; i++) {
            if (grad) grad[p * n + i] = st[(size_t)first[i] * np + p];
            if (hess)
                for (int j = 0; j < n; j++)
                    hess[(p * n + i) * n + j] = st[(size_t)second[i * n + j] * np + p];
        }
    }
    return PHYSRT_OK;
}

static int SFX(field_backward)(EVAL *ev, const REAL *params, int order,
                               const REAL *value_adj, const REAL *grad_adj,
                               const REAL *hess_adj, REAL *param_grad)
{
    int first[PHYSRT_MAX_INPUTS], second[PHYSRT_MAX_INPUTS * PHYSRT_MAX_INPUTS];
    if (!ev) return PHYSRT_EINVAL;
    if (ev->n_points == 0) return PHYSRT_ESTATE;
    int rc = SFX(field_streams)(ev, order, first, second);
    if (rc != PHYSRT_OK) return rc;
    const int n = ev->geo.n_inputs;
    const size_t np = (size_t)ev->n_points;
    REAL *st = ev->staging;
    memset(st, 0, (size_t)ev->n_streams * np * sizeof(REAL));
    for (size_t p = 0; p < np; p++) {
        if (value_adj) st[p] = value_adj[p];
        for (int i = 0; i < n; i++) {
            if (grad_adj) st[(size_t)first[i] * np + p] += grad_adj[p * n + i];
            if (hess_adj)   /* H[i][j] and H[j][i] are one stream */
                for (int j = 0; j < n; j++)
                    st[(size_t)second[i * n + j] * np + p] += hess_adj[(p * n + i) * n + j];
        }
    }
    return SFX(physrt_mlp_backward)(ev, params, st, param_grad);
}

int SFX(physrt_mlp_gradient)(EVAL *ev, const REAL *params, int n_points, const REAL *x,
                             REAL *value, REAL *grad)
{
    return SFX(field_forward)(ev, params, n_points, x, 1, value, grad, NULL);
}

int SFX(physrt_mlp_hessian)(EVAL *ev, const REAL *params, int n_points, const REAL *x,
                            REAL *value, REAL *grad, REAL *hess)
{
    return SFX(field_forward)(ev, params, n_points, x, 2, value, grad, hess);
}

int SFX(physrt_mlp_gradient_backward)(EVAL *ev, const REAL *params, const REAL *value_adj,
                                      const REAL *grad_adj, REAL *param_grad)
{
    return SFX(field_backward)(ev, params, 1, value_adj, grad_adj, NULL, param_grad);
}

int SFX(physrt_mlp_hessian_backward)(EVAL *ev, const REAL *params, const REAL *value_adj,
                                     const REAL *grad_adj, const REAL *hess_adj,
                                     REAL *param_grad)
{
    return SFX(field_backward)(ev, params, 2, value_adj, grad_adj, hess_adj, param_grad);
}
