/* mlp_eval_tmpl.h - creation and destruction of MLP evaluation objects,
 * written once for both precisions (REAL, SFX, EVAL defined by the includer).
 * All workspace is allocated here so forward and backward never allocate. */

/* 64-byte aligned, zeroed block of n REALs (NULL if n == 0 or no memory). */
static REAL *SFX(alloc_reals)(size_t n)
{
    if (n == 0) n = 1;
    size_t bytes = (n * sizeof(REAL) + 63) / 64 * 64;
    REAL *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void SFX(physrt_mlp_eval_destroy)(EVAL *ev)
{
    if (!ev) return;
    if (ev->z)
        for (int l = 0; l < ev->geo.n_layers; l++) free(ev->z[l]);
    if (ev->a)
        for (int l = 0; l < ev->geo.n_layers; l++) free(ev->a[l]);
    if (ev->d)
        for (int l = 0; l < ev->geo.n_layers; l++) free(ev->d[l]);
    free(ev->z);
    free(ev->a);
    free(ev->d);
    free(ev->xt);
    free(ev->part_grad);
    free(ev->scratch);
    free(ev->first_coef);
    free(ev->staging);
    physrt_jet_plan_destroy(ev->plan);
    mlp_geometry_free(&ev->geo);
    free(ev);
}

EVAL *SFX(physrt_mlp_eval_create)(const physrt_mlp_desc *desc, const physrt_jet_plan *plan,
                                  int max_points, physrt_pool *pool)
{
    if (!plan || max_points < 1 || physrt_mlp_validate(desc) != PHYSRT_OK ||
        plan->n_inputs != desc->n_inputs)
        return NULL;
    EVAL *ev = calloc(1, sizeof *ev);
    if (!ev) return NULL;
    if (mlp_geometry_init(&ev->geo, desc) != PHYSRT_OK) {
        free(ev);
        return NULL;
    }
    ev->plan = physrt_jet_plan_clone(plan);
    ev->pool = pool;
    /* several parts per thread, claimed dynamically, so a thread that is
     * descheduled (shared machines) does not hold up the others; results
     * stay keyed by part, hence deterministic for a fixed thread count */
    ev->n_parts = physrt_pool_n_threads(pool) > 1 ? 4 * physrt_pool_n_threads(pool) : 1;
    ev->max_points = max_points;
    ev->n_streams = plan->n_streams;
    ev->n_orders = plan->max_order + 1;
    const size_t P = (size_t)max_points, S = (size_t)ev->n_streams;
    const int L = ev->geo.n_layers;
    ev->z = calloc((size_t)L, sizeof *ev->z);
    ev->a = calloc((size_t)L, sizeof *ev->a);
    ev->d = calloc((size_t)L, sizeof *ev->d);
    int ok = ev->plan && ev->z && ev->a && ev->d;
    for (int l = 0; ok && l < L; l++) {
        size_t w = (size_t)ev->geo.n_out[l];
        ev->z[l] = SFX(alloc_reals)((l == 0 ? 1 : S) * w * P);
        ev->a[l] = SFX(alloc_reals)(S * w * P);
        ev->d[l] = SFX(alloc_reals)((size_t)ev->n_orders * w * P);
        ok = ev->z[l] && ev->a[l] && ev->d[l];
    }
    ev->scratch_per_part = 3 * S * (size_t)ev->geo.max_width * MLP_TILE;
    if (ok) {
        ev->xt = SFX(alloc_reals)((size_t)desc->n_inputs * P);
        ev->part_grad = SFX(alloc_reals)((size_t)ev->n_parts * ev->geo.n_params);
        ev->scratch = SFX(alloc_reals)((size_t)ev->n_parts * ev->scratch_per_part);
        ev->first_coef = SFX(alloc_reals)(S * (size_t)ev->geo.n_out[0]);
        ev->staging = SFX(alloc_reals)(S * (size_t)desc->n_outputs * P);
        ok = ev->xt && ev->part_grad && ev->scratch && ev->first_coef && ev->staging;
    }
    if (!ok) {
        SFX(physrt_mlp_eval_destroy)(ev);
        return NULL;
    }
    return ev;
}

const physrt_jet_plan *SFX(physrt_mlp_eval_plan)(const EVAL *ev)
{
    return ev ? ev->plan : NULL;
}
