/* burgers_step_tmpl.h - one precision of the Burgers training-step
 * benchmark (REAL and SFX defined by burgers_step.c). */

static double SFX(run)(const bench_config *cfg, double *final_loss)
{
    const int widths[8] = {20, 20, 20, 20, 20, 20, 20, 20};
    physrt_mlp_desc desc = {2, 1, 8, widths, PHYSRT_ACT_TANH, PHYSRT_ACT_IDENTITY};
    const size_t np = physrt_mlp_n_params(&desc);
    const int n_col = cfg->points, n_bnd = 100;
    const double nu = 0.01 / 3.14159265358979323846;

    /* streams u, u_t, u_x, u_xx over inputs (x, t) */
    const int req[] = {0, 0, 0, 1, 1, 0, 2, 0};
    physrt_jet_plan *plan = physrt_jet_plan_create(2, 4, req);
    physrt_jet_plan *value_plan = physrt_jet_plan_create(2, 0, NULL);
    const int su = physrt_jet_plan_index(plan, (int[]){0, 0});
    const int sx = physrt_jet_plan_index(plan, (int[]){1, 0});
    const int st = physrt_jet_plan_index(plan, (int[]){0, 1});
    const int sxx = physrt_jet_plan_index(plan, (int[]){2, 0});
    const int S = physrt_jet_plan_n_streams(plan);
    physrt_pool *pool = physrt_pool_create(cfg->threads);
    SFX(physrt_mlp_eval) *col = SFX(physrt_mlp_eval_create)(&desc, plan, n_col, pool);
    SFX(physrt_mlp_eval) *bnd = SFX(physrt_mlp_eval_create)(&desc, value_plan, n_bnd, NULL);

    REAL *params = malloc(np * sizeof *params), *grad = malloc(np * sizeof *grad);
    REAL *x_col = malloc((size_t)2 * n_col * sizeof *x_col), x_bnd[2 * 100], u_bnd[100];
    REAL *out = malloc((size_t)S * n_col * sizeof *out), *adj = malloc((size_t)S * n_col * sizeof *adj);
    REAL out_b[100], adj_b[100];
    if (!plan || !value_plan || !pool || !col || !bnd || !params || !grad || !x_col || !out || !adj) {
        fprintf(stderr, "setup failed\n");
        exit(1);
    }
    SFX(physrt_mlp_init)(&desc, 0, params);
    physrt_rng rng;
    physrt_rng_seed(&rng, 0);
    SFX(physrt_sample_uniform)(&rng, n_col, 2, (double[]){-1, 0}, (double[]){1, 1}, x_col);
    for (int p = 0; p < n_bnd; p++) {      /* 50 initial, 50 boundary points */
        double x = p < 50 ? 2 * physrt_rng_uniform(&rng) - 1 : (p % 2 ? 1.0 : -1.0);
        double t = p < 50 ? 0.0 : physrt_rng_uniform(&rng);
        x_bnd[2 * p] = (REAL)x;
        x_bnd[2 * p + 1] = (REAL)t;
        u_bnd[p] = (REAL)(p < 50 ? -sin(3.14159265358979323846 * x) : 0.0);
    }
    physrt_adam *adam = physrt_adam_create(np, NULL);

    double loss = 0, t0 = 0;
    for (int step = -1; step < cfg->steps; step++) {   /* step -1 warms up */
        if (step == 0) t0 = now_seconds();
        memset(grad, 0, np * sizeof *grad);
        SFX(physrt_mlp_forward)(col, params, n_col, x_col, out);
        const REAL *u = out + (size_t)su * n_col, *ux = out + (size_t)sx * n_col;
        const REAL *ut = out + (size_t)st * n_col, *uxx = out + (size_t)sxx * n_col;
        REAL *au = adj + (size_t)su * n_col, *ax = adj + (size_t)sx * n_col;
        REAL *at = adj + (size_t)st * n_col, *axx = adj + (size_t)sxx * n_col;
        double l_res = 0;
        const REAL scale = (REAL)(2.0 / n_col), rnu = (REAL)nu;
        for (int p = 0; p < n_col; p++) {
            REAL r = ut[p] + u[p] * ux[p] - rnu * uxx[p];
            l_res += (double)r * r;
            REAL g = scale * r;
            au[p] = g * ux[p];
            ax[p] = g * u[p];
            at[p] = g;
            axx[p] = -rnu * g;
        }
        SFX(physrt_mlp_backward)(col, params, adj, grad);
        SFX(physrt_mlp_forward)(bnd, params, n_bnd, x_bnd, out_b);
        double l_bnd = 0;
        for (int p = 0; p < n_bnd; p++) {
            REAL d = out_b[p] - u_bnd[p];
            l_bnd += (double)d * d;
            adj_b[p] = (REAL)(2.0 / n_bnd) * d;
        }
        SFX(physrt_mlp_backward)(bnd, params, adj_b, grad);
        SFX(physrt_adam_step)(adam, params, grad);
        loss = l_res / n_col + l_bnd / n_bnd;
    }
    double seconds = now_seconds() - t0;
    *final_loss = loss;

    physrt_adam_destroy(adam);
    SFX(physrt_mlp_eval_destroy)(col);
    SFX(physrt_mlp_eval_destroy)(bnd);
    physrt_pool_destroy(pool);
    physrt_jet_plan_destroy(plan);
    physrt_jet_plan_destroy(value_plan);
    free(params); free(grad); free(x_col); free(out); free(adj);
    return seconds;
}
