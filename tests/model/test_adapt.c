/* Adaptive loss weights and residual-based adaptive sampling (runtime/
 * adapt.c) through the driver's internal API:
 *   - the grad_norm and annealing updates on gradients whose norms are
 *     known (the numbers worked by hand in the comments);
 *   - the loss's per-term gradients (physm_loss_term_grads) add up to the
 *     gradient, and scale with the weights physm_loss_set_weights gives;
 *   - RAD on a term whose residual is a narrow bump at x = 0.5: one round
 *     (half the points drawn with density |r| / mean |r| + 1 from a pool of
 *     4000) moves the share of points within 0.1 of the bump from about
 *     10 % to about 30 %, and the drawn points are near it as often as
 *     numpy's weighted choice without replacement puts them; the same points
 *     with 1 and 2 threads and from the same seed and round; another round
 *     gives other points; RAR-D adds fraction x n points. */
#define _POSIX_C_SOURCE 200809L
#define POISSON_NO_MAIN
#include "poisson.c"

#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h" /* tests/runtime: CHECK, check_summary */

/* ---- the bump: r(x) = exp(-((x - 0.5) / 0.05)^2), no network ---- */

static void no_inputs(int n, const double *pts, const double *params, double *const *pin)
{
    (void)n; (void)pts; (void)params; (void)pin;
}
static void no_inputs32(int n, const float *pts, const float *params, float *const *pin)
{
    (void)n; (void)pts; (void)params; (void)pin;
}
static void bump_f64(int n, const double *pts, const double *params, const double *const *s, double *r)
{
    (void)params; (void)s;
    for (int p = 0; p < n; p++) r[p] = exp(-pow((pts[p] - 0.5) / 0.05, 2));
}
static void bump_f32(int n, const float *pts, const float *params, const float *const *s, float *r)
{
    (void)params; (void)s;
    for (int p = 0; p < n; p++) r[p] = (float)exp(-pow((pts[p] - 0.5) / 0.05, 2));
}
static void no_vjp(int n, const double *pts, const double *params, const double *const *s, const double *dr,
                   double *const *ds, double *dparams)
{
    (void)n; (void)pts; (void)params; (void)s; (void)dr; (void)ds; (void)dparams;
}
static void no_vjp32(int n, const float *pts, const float *params, const float *const *s, const float *dr,
                     float *const *ds, float *dparams)
{
    (void)n; (void)pts; (void)params; (void)s; (void)dr; (void)ds; (void)dparams;
}

static const double box_lo[] = {-1}, box_hi[] = {1};
static physm_term bump_terms[] = {
    {.name = "bump", .kind = PHYSM_EQUATION, .weight = 1.0, .n_coords = 1, .coord_names = x_names,
     .lo = box_lo, .hi = box_hi, .n_points = 400, .sampler = PHYSM_SAMPLE_UNIFORM, .adapt = PHYSM_ADAPT_RAD,
     .adapt_every = 100, .adapt_fraction = 0.5, .adapt_k = 1, .adapt_c = 1, .adapt_pool = 4000,
     .n_residuals = 1, .inputs_f64 = no_inputs, .inputs_f32 = no_inputs32, .residual_f64 = bump_f64,
     .residual_f32 = bump_f32, .residual_vjp_f64 = no_vjp, .residual_vjp_f32 = no_vjp32},
};
static const physm_model bump_model = {
    .abi_version = PHYSM_ABI_VERSION, .name = "bump", .source_dir = "", .structure_hash = 1,
    .n_terms = 1, .terms = bump_terms,
};

static double near_bump(const double *x, int n)
{
    int k = 0;
    for (int p = 0; p < n; p++) k += fabs(x[p] - 0.5) < 0.1;
    return (double)k / n;
}

static void test_weight_rules(void)
{
    /* eq (fixed, w 1): G = (3, 4), |g| = 5; bc (adaptive, w 2): G = (1, 0), g = (0.5, 0), |g| = 0.5 */
    physm_term t[2] = {{.name = "eq", .weight = 1}, {.name = "bc", .weight = 2, .weight_rule = PHYSM_WEIGHT_GRAD_NORM,
                                                      .weight_every = 10, .weight_alpha = 0.1}};
    physm_model m = {.name = "w", .n_terms = 2, .terms = t};
    const double G[4] = {3, 4, 1, 0};
    double w[2] = {1, 2}, scratch[2];
    CHECK(physm_weights_due(&m, 20) && !physm_weights_due(&m, 25), "due at multiples of every only");
    physm_weights_update(&m, 25, 2, G, w, scratch);
    CHECK(w[0] == 1 && w[1] == 2, "not due: weights unchanged (%g, %g)", w[0], w[1]);
    /* grad_norm: w_hat = (5 + 0.5) / 0.5 = 11; 0.9 * 2 + 0.1 * 11 = 2.9 */
    physm_weights_update(&m, 20, 2, G, w, scratch);
    CHECK(w[0] == 1 && close_rel(w[1], 2.9, 1e-14, 0), "grad_norm: weight %.17g, want 2.9", w[1]);
    /* annealing: w_hat = max |G_fixed| / mean |g| = 4 / 0.25 = 16; 0.9 * 2 + 0.1 * 16 = 3.4 */
    t[1].weight_rule = PHYSM_WEIGHT_ANNEALING;
    w[1] = 2;
    physm_weights_update(&m, 20, 2, G, w, scratch);
    CHECK(close_rel(w[1], 3.4, 1e-14, 0), "annealing: weight %.17g, want 3.4", w[1]);
    /* a vanishing gradient leaves the weight as it was */
    const double Z[4] = {3, 4, 0, 0};
    w[1] = 2;
    physm_weights_update(&m, 20, 2, Z, w, scratch);
    CHECK(w[1] == 2, "zero gradient: weight %g, want 2 (unchanged)", w[1]);
}

static void test_term_grads(void)
{
    physm_layout lay;
    CHECK(physm_layout_init(&lay, &model, "test_adapt") == 0, "poisson layout");
    physrt_pool *pool = physrt_pool_create(2);
    double *pts[2] = {NULL, NULL};
    int np[2];
    for (int t = 0; t < 2; t++) CHECK(physm_term_points(&lay, t, 5, &pts[t], &np[t]) == 0, "points");
    physm_loss_f64 *L = physm_loss_create_f64(&lay, pts, np, NULL, NULL, pool);
    const size_t nt = lay.n_theta;
    double *theta = calloc(nt, sizeof *theta), *g = calloc(nt, sizeof *g), *tg = calloc(2 * nt, sizeof *tg);
    double *tg2 = calloc(2 * nt, sizeof *tg2);
    CHECK(L && theta && g && tg && tg2 && physm_layout_fresh(&lay, 5, theta) == 0, "set up");
    double tl[2], tl2[2];
    physm_loss_eval_f64(L, theta, g, tl);
    physm_loss_term_grads_f64(L, tg);
    double worst = 0, scale = 0;
    for (size_t q = 0; q < nt; q++) {
        worst = fmax(worst, fabs(tg[q] + tg[nt + q] - g[q]));
        scale = fmax(scale, fabs(g[q]));
    }
    CHECK(worst <= 1e-13 * scale, "term gradients add up to the gradient: worst %.3e of %.3e", worst, scale);
    const double w[2] = {1, 20};   /* walls 10 -> 20 */
    physm_loss_set_weights_f64(L, w);
    physm_loss_eval_f64(L, theta, g, tl2);
    physm_loss_term_grads_f64(L, tg2);
    CHECK(tl2[0] == tl[0] && close_rel(tl2[1], 2 * tl[1], 1e-14, 0), "weighted losses (%g, %g) -> (%g, %g)", tl[0],
          tl[1], tl2[0], tl2[1]);
    worst = 0;
    for (size_t q = 0; q < nt; q++) worst = fmax(worst, fabs(tg2[nt + q] - 2 * tg[nt + q]));
    CHECK(worst <= 1e-13 * scale, "the walls' gradient doubles with its weight: worst %.3e", worst);
    physm_loss_destroy_f64(L);
    physrt_pool_destroy(pool);
    for (int t = 0; t < 2; t++) free(pts[t]);
    free(theta);
    free(g);
    free(tg);
    free(tg2);
    physm_layout_free(&lay);
}

static void test_rad(void)
{
    physm_layout lay;
    CHECK(physm_layout_init(&lay, &bump_model, "test_adapt") == 0, "bump layout");
    physrt_pool *one = physrt_pool_create(1), *two = physrt_pool_create(2);
    double *a = NULL, *b = NULL, *c = NULL;
    int na, nb, nc;
    CHECK(physm_term_points(&lay, 0, 7, &a, &na) == 0 && physm_term_points(&lay, 0, 7, &b, &nb) == 0 &&
              physm_term_points(&lay, 0, 7, &c, &nc) == 0, "points");
    const double before = near_bump(a, na);
    double *first = malloc((size_t)na * sizeof *first);
    memcpy(first, a, (size_t)na * sizeof *first);
    const double theta[1] = {0};
    CHECK(physm_resample(&lay, 0, 7, 1, theta, one, &a, &na) == 0 &&
              physm_resample(&lay, 0, 7, 1, theta, two, &b, &nb) == 0 &&
              physm_resample(&lay, 0, 7, 2, theta, two, &c, &nc) == 0, "resample");
    const double after = near_bump(a, na);
    fprintf(stderr, "RAD: points within 0.1 of the bump %.1f %% -> %.1f %% (expected about 10 %% -> 30 %%)\n",
            100 * before, 100 * after);
    CHECK(na == 400 && before < 0.15 && after > 0.22 && after < 0.4, "RAD moved %.3f -> %.3f of %d points", before,
          after, na);
    CHECK(nb == na && !memcmp(a, b, (size_t)na * sizeof *a), "1 and 2 threads give other points");
    CHECK(nc == na && memcmp(a, c, (size_t)na * sizeof *a), "round 2 gives the points of round 1");
    int kept = 0;
    for (int p = 0; p < na; p++) kept += a[p] == first[p];
    CHECK(kept == 200, "%d points kept their first values, want 200", kept);
    /* the share of the drawn points near the bump, over 20 rounds: 0.49 +- 0.007
     * (drawing 200 of 4000 without replacement, simulated with numpy) */
    double drawn = 0;
    for (int r = 1; r <= 20; r++) {
        double *d = malloc((size_t)na * sizeof *d);
        int nd = na;
        memcpy(d, first, (size_t)na * sizeof *d);
        CHECK(physm_resample(&lay, 0, 7, r, theta, two, &d, &nd) == 0, "round %d", r);
        int near = 0;
        for (int p = 0; p < nd; p++) near += d[p] != first[p] && fabs(d[p] - 0.5) < 0.1;
        drawn += near / 200.0 / 20;
        free(d);
    }
    fprintf(stderr, "RAD: %.1f %% of the drawn points within 0.1 of the bump (expected 49 +- 0.7 %%)\n", 100 * drawn);
    CHECK(drawn > 0.47 && drawn < 0.52, "%.3f of the drawn points near the bump, want 0.49", drawn);
    /* RAR-D adds fraction x n_points (0.5 x 400) */
    bump_terms[0].adapt = PHYSM_ADAPT_RARD;
    CHECK(physm_resample(&lay, 0, 7, 3, theta, two, &a, &na) == 0 && na == 600, "RAR-D: %d points, want 600", na);
    CHECK(!memcmp(a, b, 400 * sizeof *a), "RAR-D changed the points it keeps");
    CHECK(near_bump(a + 400, 200) > 0.45, "RAR-D: %.3f of the added points near the bump", near_bump(a + 400, 200));
    bump_terms[0].adapt = PHYSM_ADAPT_RAD;
    free(first);
    free(a);
    free(b);
    free(c);
    physrt_pool_destroy(one);
    physrt_pool_destroy(two);
    physm_layout_free(&lay);
}

int main(void)
{
    test_weight_rules();
    test_term_grads();
    test_rad();
    return check_summary("model_adapt");
}
