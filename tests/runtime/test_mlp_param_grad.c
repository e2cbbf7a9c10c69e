/* Parameter gradients from the reverse sweep through the jets, against
 * 4th-order central differences over every parameter (float64):
 *  - the Burgers residual loss mean((u_t + u u_x - nu u_xx)^2);
 *  - a weighted sum of squares of every stream up to order 4 (3 inputs, two
 *    outputs), for every activation (relu to order 1);
 * plus float32 against float64 gradients, accumulation semantics, and
 * multithreaded against single-threaded results. */
#include "check.h"
#include "physrt.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    physrt_mlp_eval_f64 *ev;
    int n_points, n_streams, n_out;
    const double *x;
    double *out, *adj;
    const double *weights;   /* per output entry, generic loss */
    int burgers;
    int sx, st, sxx;
} loss_ctx;

static const double nu = 0.1;

/* Loss at params; if grad != NULL also d loss / d params by backward. */
static double loss(loss_ctx *c, const double *params, double *grad)
{
    physrt_mlp_forward_f64(c->ev, params, c->n_points, c->x, c->out);
    const int n = c->n_points;
    size_t total = (size_t)c->n_streams * c->n_out * n;
    memset(c->adj, 0, total * sizeof(double));
    double L = 0;
    if (c->burgers) {
        const double *u = c->out, *ux = c->out + (size_t)c->sx * n;
        const double *ut = c->out + (size_t)c->st * n, *uxx = c->out + (size_t)c->sxx * n;
        for (int p = 0; p < n; p++) {
            double r = ut[p] + u[p] * ux[p] - nu * uxx[p];
            L += r * r / n;
            double g = 2 * r / n;
            c->adj[p] += g * ux[p];
            c->adj[(size_t)c->sx * n + p] += g * u[p];
            c->adj[(size_t)c->st * n + p] += g;
            c->adj[(size_t)c->sxx * n + p] += -nu * g;
        }
    } else {
        for (size_t q = 0; q < total; q++) {
            L += 0.5 * c->weights[q] * c->out[q] * c->out[q];
            c->adj[q] = c->weights[q] * c->out[q];
        }
    }
    if (grad) physrt_mlp_backward_f64(c->ev, params, c->adj, grad);
    return L;
}

static double worst;

/* Compare backward with central differences over every parameter. */
static void check_against_fd(loss_ctx *c, double *params, size_t np, const char *what)
{
    double *g = calloc(np, sizeof *g);
    loss(c, params, g);
    double gmax = 0;
    for (size_t q = 0; q < np; q++) gmax = fmax(gmax, fabs(g[q]));
    const double h = 1e-4;
    for (size_t q = 0; q < np; q++) {
        double keep = params[q];
        double f[4];
        const double steps[4] = {2, 1, -1, -2};
        for (int k = 0; k < 4; k++) {
            params[q] = keep + steps[k] * h;
            f[k] = loss(c, params, NULL);
        }
        params[q] = keep;
        double fd = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * h);
        double e = rel_err(g[q], fd, 1e-4 * gmax);
        if (e > worst) worst = e;
        CHECK(e <= 1e-6, "%s param %zu: backward %.12g fd %.12g", what, q, g[q], fd);
    }
    free(g);
}

static physrt_jet_plan *burgers_plan(void)
{
    const int req[] = {0, 0, 0, 1, 1, 0, 2, 0};   /* u, u_t, u_x, u_xx over (x, t) */
    return physrt_jet_plan_create(2, 4, req);
}

static void test_burgers_fd(void)
{
    const int widths[] = {8, 8};
    physrt_mlp_desc desc = {2, 1, 2, widths, PHYSRT_ACT_TANH, PHYSRT_ACT_IDENTITY};
    physrt_jet_plan *plan = burgers_plan();
    const int n = 37;
    const size_t np = physrt_mlp_n_params(&desc);
    double *params = malloc(np * sizeof *params), x[2 * 37];
    physrt_mlp_init_f64(&desc, 3, params);
    for (size_t q = 0; q < np; q++) params[q] += 0.05 * sin((double)q);   /* non-zero biases */
    physrt_rng rng;
    physrt_rng_seed(&rng, 11);
    physrt_sample_uniform_f64(&rng, n, 2, (double[]){-1, 0}, (double[]){1, 1}, x);
    loss_ctx c = {physrt_mlp_eval_create_f64(&desc, plan, n, NULL), n, 4, 1, x,
                  malloc(4 * n * sizeof(double)), malloc(4 * n * sizeof(double)), NULL, 1,
                  physrt_jet_plan_index(plan, (int[]){1, 0}),
                  physrt_jet_plan_index(plan, (int[]){0, 1}),
                  physrt_jet_plan_index(plan, (int[]){2, 0})};
    check_against_fd(&c, params, np, "burgers");

    /* backward accumulates into param_grad */
    double *g1 = calloc(np, sizeof *g1), *g2 = calloc(np, sizeof *g2);
    loss(&c, params, g1);
    loss(&c, params, g2);
    loss(&c, params, g2);
    int same = 1;
    for (size_t q = 0; q < np; q++) same &= fabs(g2[q] - 2 * g1[q]) <= 1e-14 * fabs(g1[q]) + 1e-300;
    CHECK(same, "backward adds to param_grad");

    /* float32 gradient agrees with float64 */
    float *p32 = malloc(np * sizeof *p32), x32[2 * 37];
    for (size_t q = 0; q < np; q++) params[q] = p32[q] = (float)params[q];
    for (int q = 0; q < 2 * n; q++) x[q] = x32[q] = (float)x[q];
    memset(g1, 0, np * sizeof *g1);
    loss(&c, params, g1);
    physrt_mlp_eval_f32 *ev32 = physrt_mlp_eval_create_f32(&desc, plan, n, NULL);
    float *out32 = malloc(4 * n * sizeof *out32), *adj32 = malloc(4 * n * sizeof *adj32);
    float *g32 = calloc(np, sizeof *g32);
    physrt_mlp_forward_f32(ev32, p32, n, x32, out32);
    for (int q = 0; q < 4 * n; q++) adj32[q] = (float)c.adj[q];
    physrt_mlp_backward_f32(ev32, p32, adj32, g32);
    double gmax = 0, emax = 0;
    for (size_t q = 0; q < np; q++) gmax = fmax(gmax, fabs(g1[q]));
    for (size_t q = 0; q < np; q++) emax = fmax(emax, fabs(g32[q] - g1[q]));
    printf("burgers gradient f32 vs f64: max abs diff / max |g| = %.3g\n", emax / gmax);
    CHECK(emax <= 1e-5 * gmax, "f32 gradient vs f64: %g of %g", emax, gmax);

    physrt_mlp_eval_destroy_f32(ev32);
    physrt_mlp_eval_destroy_f64(c.ev);
    physrt_jet_plan_destroy(plan);
    free(out32); free(adj32); free(g32); free(p32);
    free(g1); free(g2); free(params); free(c.out); free(c.adj);
}

static void test_all_streams_fd(physrt_activation act)
{
    const int widths[] = {4, 3};
    physrt_mlp_desc desc = {3, 2, 2, widths, act, PHYSRT_ACT_IDENTITY};
    const int max_order = act == PHYSRT_ACT_RELU ? 1 : 4;
    int req[64 * 3], n_req = 0;
    for (int a = 0; a <= max_order; a++)
        for (int b = 0; a + b <= max_order; b++)
            for (int d = 0; a + b + d <= max_order; d++) {
                req[n_req * 3] = a; req[n_req * 3 + 1] = b; req[n_req * 3 + 2] = d;
                n_req++;
            }
    physrt_jet_plan *plan = physrt_jet_plan_create(3, n_req, req);
    const int S = physrt_jet_plan_n_streams(plan), n = 3;
    const size_t np = physrt_mlp_n_params(&desc);
    double *params = malloc(np * sizeof *params);
    physrt_mlp_init_f64(&desc, 5, params);
    for (size_t q = 0; q < np; q++) params[q] += 0.1 * cos(3.0 * q);
    double x[3 * 3] = {0.3, -0.2, 0.5, -0.7, 0.1, 0.25, 0.05, 0.6, -0.4};
    size_t total = (size_t)S * 2 * n;
    double *w = malloc(total * sizeof *w);
    physrt_rng rng;
    physrt_rng_seed(&rng, 99);
    for (size_t q = 0; q < total; q++) w[q] = physrt_rng_uniform(&rng);
    loss_ctx c = {physrt_mlp_eval_create_f64(&desc, plan, n, NULL), n, S, 2, x,
                  malloc(total * sizeof(double)), malloc(total * sizeof(double)), w, 0, 0, 0, 0};
    char what[64];
    snprintf(what, sizeof what, "all streams, %s", physrt_activation_name(act));
    check_against_fd(&c, params, np, what);
    physrt_mlp_eval_destroy_f64(c.ev);
    physrt_jet_plan_destroy(plan);
    free(params); free(w); free(c.out); free(c.adj);
}

/* 2 threads against 1: forward bitwise equal (point results never depend
 * on chunking); gradients equal to round-off (the sum over points is split
 * differently), and bitwise reproducible for a fixed thread count. */
static void test_threads(void)
{
    const int widths[] = {20, 20, 20};
    physrt_mlp_desc desc = {2, 1, 3, widths, PHYSRT_ACT_TANH, PHYSRT_ACT_IDENTITY};
    physrt_jet_plan *plan = burgers_plan();
    const int n = 1001;
    const size_t np = physrt_mlp_n_params(&desc);
    double *params = malloc(np * sizeof *params), *x = malloc(2 * n * sizeof *x);
    physrt_mlp_init_f64(&desc, 8, params);
    physrt_rng rng;
    physrt_rng_seed(&rng, 12);
    physrt_sample_uniform_f64(&rng, n, 2, (double[]){-1, 0}, (double[]){1, 1}, x);
    physrt_pool *pool = physrt_pool_create(2);
    CHECK(pool && physrt_pool_n_threads(pool) == 2, "pool");
    double *out[3], *g[3];
    double *adj = malloc(4 * n * sizeof *adj);
    for (int q = 0; q < 4 * n; q++) adj[q] = sin(0.37 * q);
    for (int r = 0; r < 3; r++) {
        physrt_mlp_eval_f64 *ev = physrt_mlp_eval_create_f64(&desc, plan, n, r == 0 ? NULL : pool);
        out[r] = malloc(4 * n * sizeof(double));
        g[r] = calloc(np, sizeof(double));
        physrt_mlp_forward_f64(ev, params, n, x, out[r]);
        physrt_mlp_backward_f64(ev, params, adj, g[r]);
        physrt_mlp_eval_destroy_f64(ev);
    }
    CHECK(memcmp(out[0], out[1], 4 * n * sizeof(double)) == 0, "forward 2 threads bitwise == 1 thread");
    CHECK(memcmp(g[1], g[2], np * sizeof(double)) == 0, "gradient bitwise reproducible with 2 threads");
    double gmax = 0, emax = 0;
    for (size_t q = 0; q < np; q++) {
        gmax = fmax(gmax, fabs(g[0][q]));
        emax = fmax(emax, fabs(g[0][q] - g[1][q]));
    }
    printf("threads: gradient 2 vs 1 thread max abs diff / max |g| = %.3g\n", emax / gmax);
    CHECK(emax <= 1e-13 * gmax, "gradient 2 threads vs 1 thread: %g of %g", emax, gmax);
    for (int r = 0; r < 3; r++) { free(out[r]); free(g[r]); }
    physrt_pool_destroy(pool);
    physrt_jet_plan_destroy(plan);
    free(params); free(x); free(adj);
}

int main(void)
{
    test_burgers_fd();
    for (int a = 0; a < PHYSRT_ACT_COUNT; a++) test_all_streams_fd((physrt_activation)a);
    test_threads();
    printf("worst relative error vs finite differences: %.3g\n", worst);
    return check_summary("runtime_mlp_param_grad");
}
