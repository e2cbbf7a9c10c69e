/* The training path against a plain float64 reference: 200 Adam steps of a
 * Burgers-type model from the same initialisation, once through the
 * optimised loss (runtime/loss.c: tiles, register-blocked kernels, two
 * threads, float32) and once through a straightforward float64 loss written
 * here on the public whole-batch API (physrt_mlp_forward_f64 / _backward_f64,
 * which keep every stream of every layer and are checked against finite
 * differences in tests/runtime), one thread, the term's residual and VJP over
 * all points at once. The losses must agree to float32 round-off.
 *
 * Tolerance: 1e-5 relative, at the start and after 200 steps. The two runs
 * differ only by rounding: float32 has a relative precision of 6e-8, the
 * loss is a sum of 1100 squares of residuals made of second derivatives
 * (which lose a digit or two to cancellation), and Adam carries the
 * gradient's rounding from step to step. Measured: 2e-8 at the start, 7e-8
 * after 200 steps, about what the same float32 training through the
 * reference path gives (1e-7). An error in the optimised path (a wrong
 * stream or term, a dropped tile or part, a race between threads) moves the
 * loss after 200 steps by far more. The same float32 training through the
 * reference path is reported too, to show what float32 alone costs. The
 * optimised float64 path must follow the reference to 1e-10 (float64
 * round-off carried through 200 steps). */
#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h" /* tests/runtime: CHECK, check_summary */


static const char *const xt[] = {"x", "t"};
static const int widths[] = {20, 20, 20};
static const physm_field fields[] = {
    {.name = "u", .n_inputs = 2, .input_names = xt, .n_outputs = 1, .n_hidden = 3,
     .hidden_widths = widths, .activation = PHYSRT_ACT_TANH},
};
static const physm_param params[] = {{"c", 0.5}};

/* pde: u_t + c u u_x - nu u_xx; streams u, u_x, u_t, u_xx (plan order: x
 * before t). init (t = 0): u + sin(pi x). */
static const int pde_streams[] = {0, 0, 1, 0, 0, 1, 2, 0};
static const int init_streams[] = {0, 0};
static const physm_probe pde_probes[] = {{0, 4, pde_streams}};
static const physm_probe init_probes[] = {{0, 1, init_streams}};
#define NU 0.0031830988618379067

#define DEFINE(T, SUF)                                                                       \
    static void in_##SUF(int n, const T *pts, const T *prm, T *const *in)                    \
    {                                                                                        \
        (void)prm;                                                                           \
        memcpy(in[0], pts, 2 * (size_t)n * sizeof(T));                                       \
    }                                                                                        \
    static void pde_res_##SUF(int n, const T *pts, const T *prm, const T *const *s, T *r)    \
    {                                                                                        \
        (void)pts;                                                                           \
        for (int p = 0; p < n; p++)                                                          \
            r[p] = s[2][p] + prm[0] * s[0][p] * s[1][p] - (T)NU * s[3][p];                   \
    }                                                                                        \
    static void pde_vjp_##SUF(int n, const T *pts, const T *prm, const T *const *s,          \
                              const T *dr, T *const *ds, T *dprm)                            \
    {                                                                                        \
        (void)pts;                                                                           \
        for (int p = 0; p < n; p++) {                                                        \
            ds[0][p] = dr[p] * prm[0] * s[1][p];                                             \
            ds[1][p] = dr[p] * prm[0] * s[0][p];                                             \
            ds[2][p] = dr[p];                                                                \
            ds[3][p] = -(T)NU * dr[p];                                                       \
            dprm[0] += dr[p] * s[0][p] * s[1][p];                                            \
        }                                                                                    \
    }                                                                                        \
    static void init_res_##SUF(int n, const T *pts, const T *prm, const T *const *s, T *r)   \
    {                                                                                        \
        (void)prm;                                                                           \
        for (int p = 0; p < n; p++) r[p] = s[0][p] + (T)sin(3.14159265358979323846 * pts[2 * p]); \
    }                                                                                        \
    static void init_vjp_##SUF(int n, const T *pts, const T *prm, const T *const *s,         \
                               const T *dr, T *const *ds, T *dprm)                           \
    {                                                                                        \
        (void)pts; (void)prm; (void)s; (void)dprm;                                           \
        for (int p = 0; p < n; p++) ds[0][p] = dr[p];                                        \
    }

DEFINE(double, f64)
DEFINE(float, f32)

static const double lo[] = {-1, 0}, hi[] = {1, 1};
static const int ft[] = {1};
static const double t0[] = {0};
static const physm_face init_face[] = {{1, ft, t0}};

/* 1000 and 100 points: several parts per thread, a partial last tile. */
static const physm_term terms[] = {
    {.name = "pde", .kind = PHYSM_EQUATION, .weight = 1.0, .n_coords = 2, .coord_names = xt, .lo = lo,
     .hi = hi, .n_points = 1000, .sampler = PHYSM_SAMPLE_UNIFORM, .n_probes = 1, .probes = pde_probes,
     .n_residuals = 1, .inputs_f64 = in_f64, .inputs_f32 = in_f32, .residual_f64 = pde_res_f64,
     .residual_f32 = pde_res_f32, .residual_vjp_f64 = pde_vjp_f64, .residual_vjp_f32 = pde_vjp_f32},
    {.name = "init", .kind = PHYSM_INITIAL, .weight = 1.0, .n_coords = 2, .coord_names = xt, .lo = lo,
     .hi = hi, .n_faces = 1, .faces = init_face, .n_points = 100, .sampler = PHYSM_SAMPLE_UNIFORM,
     .n_probes = 1, .probes = init_probes, .n_residuals = 1, .inputs_f64 = in_f64, .inputs_f32 = in_f32,
     .residual_f64 = init_res_f64, .residual_f32 = init_res_f32, .residual_vjp_f64 = init_vjp_f64,
     .residual_vjp_f32 = init_vjp_f32},
};

static const physm_model model = {
    .abi_version = PHYSM_ABI_VERSION, .name = "burgers_ref", .source_dir = "", .structure_hash = 1,
    .n_fields = 1, .fields = fields, .n_params = 1, .params = params, .n_terms = 2, .terms = terms,
};

#define N_TERMS 2
#define STEPS 200

/* The reference loss, one precision: whole batches, every term in turn. */
#define REFERENCE(T, SUF)                                                                        \
    typedef struct {                                                                             \
        const physm_layout *lay;                                                                 \
        int n[N_TERMS];                                                                          \
        T *pts[N_TERMS], *in[N_TERMS], *out[N_TERMS], *adj[N_TERMS], *r[N_TERMS];               \
        const T **streams[N_TERMS];                                                              \
        T **dstreams[N_TERMS];                                                                   \
        physrt_mlp_eval_##SUF *ev[N_TERMS];                                                      \
    } ref_##SUF;                                                                                 \
                                                                                                 \
    static void ref_init_##SUF(ref_##SUF *R, const physm_layout *lay, double *const *pts,        \
                               const int *n)                                                     \
    {                                                                                            \
        R->lay = lay;                                                                            \
        for (int t = 0; t < N_TERMS; t++) {                                                      \
            const physm_probe *pr = &terms[t].probes[0];                                         \
            const size_t nn = (size_t)n[t];                                                      \
            physrt_jet_plan *plan = physrt_jet_plan_create(2, pr->n_streams, pr->streams);       \
            R->n[t] = n[t];                                                                      \
            R->ev[t] = physrt_mlp_eval_create_##SUF(&lay->descs[0], plan, n[t], NULL);           \
            const int S = physrt_jet_plan_n_streams(plan);                                       \
            R->pts[t] = malloc(2 * nn * sizeof(T));                                              \
            R->in[t] = malloc(2 * nn * sizeof(T));                                               \
            R->out[t] = malloc((size_t)S * nn * sizeof(T));                                      \
            R->adj[t] = calloc((size_t)S * nn, sizeof(T));                                       \
            R->r[t] = malloc(nn * sizeof(T));                                                    \
            R->streams[t] = malloc((size_t)pr->n_streams * sizeof(T *));                         \
            R->dstreams[t] = malloc((size_t)pr->n_streams * sizeof(T *));                        \
            for (size_t q = 0; q < 2 * nn; q++) R->pts[t][q] = (T)pts[t][q];                     \
            for (int s = 0; s < pr->n_streams; s++) {                                            \
                const int idx = physrt_jet_plan_index(plan, pr->streams + 2 * s);                \
                R->streams[t][s] = R->out[t] + (size_t)idx * nn;                                 \
                R->dstreams[t][s] = R->adj[t] + (size_t)idx * nn;                                \
            }                                                                                    \
            physrt_jet_plan_destroy(plan);                                                       \
        }                                                                                        \
    }                                                                                            \
                                                                                                 \
    static double ref_eval_##SUF(ref_##SUF *R, const T *theta, T *grad)                          \
    {                                                                                            \
        const physm_layout *lay = R->lay;                                                        \
        const T *prm = theta + lay->n_weights;                                                   \
        memset(grad, 0, lay->n_theta * sizeof(T));                                               \
        double total = 0;                                                                        \
        for (int t = 0; t < N_TERMS; t++) {                                                      \
            const physm_term *term = &terms[t];                                                  \
            const int n = R->n[t];                                                               \
            term->inputs_##SUF(n, R->pts[t], prm, &R->in[t]);                                    \
            physrt_mlp_forward_##SUF(R->ev[t], theta, n, R->in[t], R->out[t]);                   \
            term->residual_##SUF(n, R->pts[t], prm, R->streams[t], R->r[t]);                     \
            double sum = 0;                                                                      \
            for (int p = 0; p < n; p++) sum += (double)R->r[t][p] * R->r[t][p];                  \
            total += term->weight * sum / n;                                                     \
            for (int p = 0; p < n; p++) R->r[t][p] *= (T)(2 * term->weight / n);                 \
            term->residual_vjp_##SUF(n, R->pts[t], prm, R->streams[t], R->r[t], R->dstreams[t],  \
                                     grad + lay->n_weights);                                     \
            physrt_mlp_backward_##SUF(R->ev[t], theta, R->adj[t], grad);                         \
        }                                                                                        \
        return total;                                                                            \
    }                                                                                            \
                                                                                                 \
    static void ref_free_##SUF(ref_##SUF *R)                                                     \
    {                                                                                            \
        for (int t = 0; t < N_TERMS; t++) {                                                      \
            physrt_mlp_eval_destroy_##SUF(R->ev[t]);                                             \
            free(R->pts[t]); free(R->in[t]); free(R->out[t]); free(R->adj[t]); free(R->r[t]);    \
            free(R->streams[t]); free(R->dstreams[t]);                                           \
        }                                                                                        \
    }

REFERENCE(double, f64)
REFERENCE(float, f32)

int main(void)
{
    physm_layout lay;
    if (physm_layout_init(&lay, &model, "test_train_reference")) return 1;
    const size_t n = lay.n_theta;
    double *theta0 = malloc(n * sizeof *theta0), *theta = malloc(n * sizeof *theta);
    double *g = malloc(n * sizeof *g);
    float *theta32 = malloc(n * sizeof *theta32), *g32 = malloc(n * sizeof *g32);
    physm_layout_fresh(&lay, 7, theta0);
    double *pts[N_TERMS];
    int np[N_TERMS];
    for (int t = 0; t < N_TERMS; t++) CHECK(physm_term_points(&lay, t, 11, &pts[t], &np[t]) == 0, "points");

    /* optimised: float32, two threads */
    physrt_pool *pool = physrt_pool_create(2);
    physm_loss_f32 *L32 = physm_loss_create_f32(&lay, pts, np, NULL, NULL, pool);
    physrt_adam *adam = physrt_adam_create(n, NULL);
    CHECK(pool && L32 && adam, "setup");
    double tl[N_TERMS];
    for (size_t q = 0; q < n; q++) theta32[q] = (float)theta0[q];
    double opt_first = 0, opt_last = 0;
    for (int step = 0; step <= STEPS; step++) {
        const double f = physm_loss_eval_f32(L32, theta32, g32, tl);
        if (step == 0) opt_first = f;
        if (step == STEPS) opt_last = f;
        else physrt_adam_step_f32(adam, theta32, g32);
    }

    /* reference: float64 (and float32), whole batches, one thread */
    ref_f64 R64;
    ref_init_f64(&R64, &lay, pts, np);
    physrt_adam_reset(adam);
    memcpy(theta, theta0, n * sizeof *theta);
    double ref_first = 0, ref_last = 0;
    for (int step = 0; step <= STEPS; step++) {
        const double f = ref_eval_f64(&R64, theta, g);
        if (step == 0) ref_first = f;
        if (step == STEPS) ref_last = f;
        else physrt_adam_step_f64(adam, theta, g);
    }
    /* the optimised float64 path follows the reference to float64 round-off */
    physm_loss_f64 *L64 = physm_loss_create_f64(&lay, pts, np, NULL, NULL, pool);
    CHECK(L64 != NULL, "float64 loss");
    physrt_adam_reset(adam);
    memcpy(theta, theta0, n * sizeof *theta);
    double opt64_last = 0;
    for (int step = 0; L64 && step <= STEPS; step++) {
        const double f = physm_loss_eval_f64(L64, theta, g, tl);
        if (step == STEPS) opt64_last = f;
        else physrt_adam_step_f64(adam, theta, g);
    }
    physm_loss_destroy_f64(L64);

    ref_f32 R32;
    ref_init_f32(&R32, &lay, pts, np);
    physrt_adam_reset(adam);
    for (size_t q = 0; q < n; q++) theta32[q] = (float)theta0[q];
    double ref32_last = 0;
    for (int step = 0; step <= STEPS; step++) {
        const double f = ref_eval_f32(&R32, theta32, g32);
        if (step == STEPS) ref32_last = f;
        else physrt_adam_step_f32(adam, theta32, g32);
    }

    const double e_first = fabs(opt_first - ref_first) / ref_first;
    const double e_last = fabs(opt_last - ref_last) / ref_last;
    const double e_ref32 = fabs(ref32_last - ref_last) / ref_last;
    printf("loss at the start: optimised f32 %.9g, reference f64 %.9g (relative difference %.1e)\n",
           opt_first, ref_first, e_first);
    printf("loss after %d Adam steps: optimised f32 %.9g, reference f64 %.9g (relative difference "
           "%.1e); reference path in f32: %.9g (%.1e)\n",
           STEPS, opt_last, ref_last, e_last, ref32_last, e_ref32);
    const double e64 = fabs(opt64_last - ref_last) / ref_last;
    printf("optimised f64 after %d steps: %.17g, reference %.17g (relative difference %.1e)\n", STEPS,
           opt64_last, ref_last, e64);
    CHECK(e64 <= 1e-10, "after %d steps: optimised f64 loss %.15g vs reference f64 %.15g", STEPS,
          opt64_last, ref_last);
    CHECK(ref_last < 0.5 * ref_first, "the reference trains: %g -> %g", ref_first, ref_last);
    CHECK(e_first <= 1e-5, "start: optimised f32 loss %.9g vs reference f64 %.9g", opt_first, ref_first);
    CHECK(e_last <= 1e-5, "after %d steps: optimised f32 loss %.9g vs reference f64 %.9g", STEPS,
          opt_last, ref_last);

    ref_free_f64(&R64);
    ref_free_f32(&R32);
    physrt_adam_destroy(adam);
    physm_loss_destroy_f32(L32);
    physrt_pool_destroy(pool);
    for (int t = 0; t < N_TERMS; t++) free(pts[t]);
    free(theta0); free(theta); free(g); free(theta32); free(g32);
    physm_layout_free(&lay);
    return check_summary("test_train_reference");
}
