/* The assembled loss (runtime/loss.c) against central finite differences
 * over every trainable value: a model with two fields (one with two
 * outputs and two inputs), a trainable constant, terms with several probes
 * of the same field, derivative streams up to a mixed second order, two
 * residual components, faces and weights, 150 points (three tiles of the
 * loss's pipeline, on two threads); float64 and float32 agree. */
#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h" /* tests/runtime: CHECK, check_summary */


static const char *const xt[] = {"x", "t"};
static const char *const x1[] = {"x"};
static const int wu[] = {6}, wv[] = {4, 3};
static const physm_field fields[] = {
    {.name = "u", .n_inputs = 2, .input_names = xt, .n_outputs = 2, .n_hidden = 1, .hidden_widths = wu,
     .activation = PHYSRT_ACT_TANH},
    {.name = "v", .n_inputs = 1, .input_names = x1, .n_outputs = 1, .n_hidden = 2, .hidden_widths = wv,
     .activation = PHYSRT_ACT_SIN},
};
static const physm_param params[] = {{"c", 0.7}};

/* term "pde" over (x, t): probe 0 = u at (x, t) with u, u_x, u_t, u_xt;
 * probe 1 = v at x with v, v_xx; probe 2 = u at (x, 0) value only.
 * r0 = u0_t + c u0 u1_x - v_xx + u0_xt * u0(x,0)
 * r1 = c^2 (u1 - v) - x t                                                  */
static const int p0s[] = {0, 0, 1, 0, 0, 1, 1, 1};
static const int p1s[] = {0, 2};
static const int p2s[] = {0, 0};
static const physm_probe pde_probes[] = {{0, 4, p0s}, {1, 2, p1s}, {0, 1, p2s}};

#define DEFINE(T, SUF)                                                                              \
    static void pde_in_##SUF(int n, const T *pts, const T *prm, T *const *in)                       \
    {                                                                                               \
        (void)prm;                                                                                  \
        for (int p = 0; p < n; p++) {                                                               \
            in[0][2 * p] = pts[2 * p];                                                              \
            in[0][2 * p + 1] = pts[2 * p + 1];                                                      \
            in[1][p] = pts[2 * p];                                                                  \
            in[2][2 * p] = pts[2 * p];                                                              \
            in[2][2 * p + 1] = 0;                                                                   \
        }                                                                                           \
    }                                                                                               \
    /* stream pointers: probe 0: (u,o0) (u,o1) (ux,o0) (ux,o1) (ut,o0) (ut,o1) (uxt,o0) (uxt,o1); \
       probe 1: v, vxx; probe 2: (u,o0) (u,o1) */                                                   \
    static void pde_res_##SUF(int n, const T *pts, const T *prm, const T *const *s, T *r)           \
    {                                                                                               \
        const T c = prm[0];                                                                         \
        for (int p = 0; p < n; p++) {                                                               \
            r[p] = s[4][p] + c * s[0][p] * s[3][p] - s[9][p] + s[6][p] * s[10][p];                  \
            r[n + p] = c * c * (s[1][p] - s[8][p]) - pts[2 * p] * pts[2 * p + 1];                   \
        }                                                                                           \
    }                                                                                               \
    static void pde_vjp_##SUF(int n, const T *pts, const T *prm, const T *const *s, const T *dr,   \
                              T *const *ds, T *dprm)                                                \
    {                                                                                               \
        (void)pts;                                                                                  \
        const T c = prm[0];                                                                         \
        for (int p = 0; p < n; p++) {                                                               \
            const T a = dr[p], b = dr[n + p];                                                       \
            ds[0][p] = a * c * s[3][p];                                                             \
            ds[1][p] = b * c * c;                                                                   \
            ds[2][p] = 0;                                                                           \
            ds[3][p] = a * c * s[0][p];                                                             \
            ds[4][p] = a;                                                                           \
            ds[5][p] = 0;                                                                           \
            ds[6][p] = a * s[10][p];                                                                \
            ds[7][p] = 0;                                                                           \
            ds[8][p] = -b * c * c;                                                                  \
            ds[9][p] = -a;                                                                          \
            ds[10][p] = a * s[6][p];                                                                \
            ds[11][p] = 0;                                                                          \
            dprm[0] += a * s[0][p] * s[3][p] + b * 2 * c * (s[1][p] - s[8][p]);                     \
        }                                                                                           \
    }                                                                                               \
    /* term "edge" on faces x = 0 and x = 1 over (x, t): r = u1 - t, one probe */                   \
    static void edge_in_##SUF(int n, const T *pts, const T *prm, T *const *in)                      \
    {                                                                                               \
        (void)prm;                                                                                  \
        for (int q = 0; q < 2 * n; q++) in[0][q] = pts[q];                                          \
    }                                                                                               \
    static void edge_res_##SUF(int n, const T *pts, const T *prm, const T *const *s, T *r)          \
    {                                                                                               \
        (void)prm;                                                                                  \
        for (int p = 0; p < n; p++) r[p] = s[1][p] - pts[2 * p + 1];                                \
    }                                                                                               \
    static void edge_vjp_##SUF(int n, const T *pts, const T *prm, const T *const *s, const T *dr,  \
                               T *const *ds, T *dprm)                                               \
    {                                                                                               \
        (void)pts; (void)prm; (void)s; (void)dprm;                                                  \
        for (int p = 0; p < n; p++) {                                                               \
            ds[0][p] = 0;                                                                           \
            ds[1][p] = dr[p];                                                                       \
        }                                                                                           \
    }

DEFINE(double, f64)
DEFINE(float, f32)

static const int e0s[] = {0, 0};
static const physm_probe edge_probes[] = {{0, 1, e0s}};
static const double lo[] = {0, 0}, hi[] = {1, 2};
static const int fx[] = {0};
static const double at0[] = {0}, at1[] = {1};
static const physm_face faces[] = {{1, fx, at0}, {1, fx, at1}};

static const physm_term terms[] = {
    {.name = "pde", .kind = PHYSM_EQUATION, .weight = 0.5, .n_coords = 2, .coord_names = xt, .lo = lo, .hi = hi,
     .n_points = 150, .sampler = PHYSM_SAMPLE_LHS, .n_probes = 3, .probes = pde_probes, .n_residuals = 2,
     .inputs_f64 = pde_in_f64, .inputs_f32 = pde_in_f32, .residual_f64 = pde_res_f64,
     .residual_f32 = pde_res_f32, .residual_vjp_f64 = pde_vjp_f64, .residual_vjp_f32 = pde_vjp_f32},
    {.name = "edge", .kind = PHYSM_BOUNDARY, .weight = 3.0, .n_coords = 2, .coord_names = xt, .lo = lo, .hi = hi,
     .n_faces = 2, .faces = faces, .n_points = 5, .sampler = PHYSM_SAMPLE_GRID, .n_probes = 1,
     .probes = edge_probes, .n_residuals = 1, .inputs_f64 = edge_in_f64, .inputs_f32 = edge_in_f32,
     .residual_f64 = edge_res_f64, .residual_f32 = edge_res_f32, .residual_vjp_f64 = edge_vjp_f64,
     .residual_vjp_f32 = edge_vjp_f32},
};

static const physm_model model = {
    .abi_version = PHYSM_ABI_VERSION, .name = "mix", .source_dir = "", .structure_hash = 1,
    .n_fields = 2, .fields = fields, .n_params = 1, .params = params, .n_terms = 2, .terms = terms,
};

int main(void)
{
    physm_layout lay;
    if (physm_layout_init(&lay, &model, "test_loss_grad")) return 1;
    const size_t n = lay.n_theta;
    double *theta = malloc(n * sizeof *theta), *g = malloc(n * sizeof *g);
    float *theta32 = malloc(n * sizeof *theta32), *g32 = malloc(n * sizeof *g32);
    double tl[2], tl32[2];
    physm_layout_fresh(&lay, 5, theta);
    for (size_t q = 0; q < lay.n_weights; q++) theta[q] += 0.1 * sin(1.0 + q);   /* non-zero biases */
    double *pts[2];
    int np[2];
    for (int t = 0; t < 2; t++) CHECK(physm_term_points(&lay, t, 3, &pts[t], &np[t]) == 0, "points");
    /* faces: x held at 0 or 1, t on a grid in [0, 2] */
    for (int p = 0; p < np[1]; p++)
        CHECK(pts[1][2 * p] == (p < 3 ? 0 : 1) && pts[1][2 * p + 1] >= 0 && pts[1][2 * p + 1] <= 2,
              "face point %d = (%g, %g)", p, pts[1][2 * p], pts[1][2 * p + 1]);
    physrt_pool *pool = physrt_pool_create(2);
    physm_loss_f64 *L = physm_loss_create_f64(&lay, pts, np, NULL, NULL, pool);
    physm_loss_f32 *L32 = physm_loss_create_f32(&lay, pts, np, NULL, NULL, pool);
    CHECK(L && L32, "loss objects");
    const double f = physm_loss_eval_f64(L, theta, g, tl);
    CHECK(fabs(f - (tl[0] + tl[1])) <= 1e-15 * f, "total = sum of terms");
    double worst = 0, gmax = 0;
    for (size_t q = 0; q < n; q++) gmax = fmax(gmax, fabs(g[q]));
    for (size_t q = 0; q < n; q++) {
        const double keep = theta[q], h = 1e-5;
        double fs[4];
        const double st[4] = {2, 1, -1, -2};
        for (int k = 0; k < 4; k++) {
            theta[q] = keep + st[k] * h;
            fs[k] = physm_loss_eval_f64(L, theta, NULL, tl);
        }
        theta[q] = keep;
        const double fd = (-fs[0] + 8 * fs[1] - 8 * fs[2] + fs[3]) / (12 * h);
        const double e = fabs(fd - g[q]) / fmax(fabs(fd), 1e-3 * gmax);
        worst = fmax(worst, e);
        CHECK(e <= 1e-6, "theta[%zu] (%s): gradient %.12g, finite difference %.12g", q,
              q >= lay.n_weights ? "constant c" : q >= lay.offset[1] ? "field v" : "field u", g[q], fd);
    }
    printf("loss %.6g, gradient of %zu values vs finite differences: worst relative error %.2e\n", f, n, worst);
    /* float32 agrees with float64 */
    for (size_t q = 0; q < n; q++) theta32[q] = (float)theta[q];
    const double f32 = physm_loss_eval_f32(L32, theta32, g32, tl32);
    physm_loss_eval_f64(L, theta, g, tl);
    double e32 = 0;
    for (size_t q = 0; q < n; q++) e32 = fmax(e32, fabs(g32[q] - g[q]) / gmax);
    printf("float32: loss %.6g (float64 %.6g), gradient max difference / max |g| = %.2e\n", f32, f, e32);
    CHECK(fabs(f32 - f) <= 1e-4 * f, "float32 loss %g vs %g", f32, f);
    CHECK(e32 <= 1e-4, "float32 gradient");
    physm_loss_destroy_f64(L);
    physm_loss_destroy_f32(L32);
    physrt_pool_destroy(pool);
    for (int t = 0; t < 2; t++) free(pts[t]);
    free(theta); free(g); free(theta32); free(g32);
    physm_layout_free(&lay);
    return check_summary("test_loss_grad");
}
