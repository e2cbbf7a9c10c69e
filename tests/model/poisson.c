/* Test model, written by hand as physc would generate it: the 1-D Poisson
 * problem u'' = -pi^2 sin(pi x) on [-1, 1], u(-1) = u(1) = 0 (solution
 * sin(pi x)). One equation term with streams {0} and {2}, one boundary term
 * on two faces. Compile-time knobs make a variant of the same model name with
 * another structure and a long schedule (checkpoint refusal, kill -9 test). */
#include "physmodel.h"

#include <math.h>

#ifndef POISSON_HIDDEN
#define POISSON_HIDDEN 16
#endif
#ifndef POISSON_ADAM_STEPS
#define POISSON_ADAM_STEPS 600
#endif
#ifndef POISSON_LBFGS_STEPS
#define POISSON_LBFGS_STEPS 400
#endif
#ifndef POISSON_HASH
#define POISSON_HASH 0x706f6973736f6e01ull
#endif

static const double PI = 3.14159265358979323846;

static const char *const x_names[] = {"x"};
static const int widths[] = {POISSON_HIDDEN, POISSON_HIDDEN};
static const physm_field fields[] = {{.name = "u", .n_inputs = 1, .input_names = x_names, .n_outputs = 1,
                                      .n_hidden = 2, .hidden_widths = widths, .activation = PHYSRT_ACT_TANH}};

static const int eq_streams[] = {0, 2};
static const physm_probe eq_probes[] = {{0, 2, eq_streams}};
static const int bc_streams[] = {0};
static const physm_probe bc_probes[] = {{0, 1, bc_streams}};

#define DEFINE_TERMS(T, SUF)                                                                        \
    static void inputs_##SUF(int n, const T *pts, const T *params, T *const *pin)                   \
    {                                                                                               \
        (void)params;                                                                               \
        for (int p = 0; p < n; p++) pin[0][p] = pts[p];                                             \
    }                                                                                               \
    static void eq_res_##SUF(int n, const T *pts, const T *params, const T *const *s, T *r)         \
    {                                                                                               \
        (void)params;                                                                               \
        for (int p = 0; p < n; p++) r[p] = s[1][p] + (T)(PI * PI * sin(PI * (double)pts[p]));      \
    }                                                                                               \
    static void eq_vjp_##SUF(int n, const T *pts, const T *params, const T *const *s, const T *dr, \
                             T *const *ds, T *dparams)                                              \
    {                                                                                               \
        (void)pts; (void)params; (void)s; (void)dparams;                                            \
        for (int p = 0; p < n; p++) {                                                               \
            ds[0][p] = 0;                                                                           \
            ds[1][p] = dr[p];                                                                       \
        }                                                                                           \
    }                                                                                               \
    static void bc_res_##SUF(int n, const T *pts, const T *params, const T *const *s, T *r)         \
    {                                                                                               \
        (void)pts; (void)params;                                                                    \
        for (int p = 0; p < n; p++) r[p] = s[0][p];                                                 \
    }                                                                                               \
    static void bc_vjp_##SUF(int n, const T *pts, const T *params, const T *const *s, const T *dr, \
                             T *const *ds, T *dparams)                                              \
    {                                                                                               \
        (void)pts; (void)params; (void)s; (void)dparams;                                            \
        for (int p = 0; p < n; p++) ds[0][p] = dr[p];                                               \
    }

DEFINE_TERMS(double, f64)
DEFINE_TERMS(float, f32)

static const double lo[] = {-1}, hi[] = {1};
static const int face_coord[] = {0};
static const double at_left[] = {-1}, at_right[] = {1};
static const physm_face walls[] = {{1, face_coord, at_left}, {1, face_coord, at_right}};

static const physm_term terms[] = {
    {.name = "pde", .kind = PHYSM_EQUATION, .weight = 1.0, .n_coords = 1, .coord_names = x_names,
     .lo = lo, .hi = hi, .n_points = 64, .sampler = PHYSM_SAMPLE_SOBOL,
     .n_probes = 1, .probes = eq_probes, .n_residuals = 1,
     .inputs_f64 = inputs_f64, .inputs_f32 = inputs_f32,
     .residual_f64 = eq_res_f64, .residual_f32 = eq_res_f32,
     .residual_vjp_f64 = eq_vjp_f64, .residual_vjp_f32 = eq_vjp_f32},
    {.name = "walls", .kind = PHYSM_BOUNDARY, .weight = 10.0, .n_coords = 1, .coord_names = x_names,
     .lo = lo, .hi = hi, .n_faces = 2, .faces = walls, .n_points = 2, .sampler = PHYSM_SAMPLE_UNIFORM,
     .n_probes = 1, .probes = bc_probes, .n_residuals = 1,
     .inputs_f64 = inputs_f64, .inputs_f32 = inputs_f32,
     .residual_f64 = bc_res_f64, .residual_f32 = bc_res_f32,
     .residual_vjp_f64 = bc_vjp_f64, .residual_vjp_f32 = bc_vjp_f32},
};

static const physm_stage stages[] = {
    {.optimizer = PHYSM_ADAM, .steps = POISSON_ADAM_STEPS,
     .adam = {0.9, 0.999, 1e-8, {PHYSRT_LR_CONSTANT, 1e-2, 0, 1, 0, 1}}},
    {.optimizer = PHYSM_LBFGS, .steps = POISSON_LBFGS_STEPS,
     .lbfgs = {10, 0, 0, 1e-12, 0, 1e-4, 0.9}},
};

static const physm_model model = {
    .abi_version = PHYSM_ABI_VERSION, .name = "poisson", .source_path = "poisson.phys", .source_dir = "",
    .structure_hash = POISSON_HASH, .n_fields = 1, .fields = fields, .n_params = 0, .params = NULL,
    .n_terms = 2, .terms = terms, .n_stages = 2, .stages = stages,
};

const physm_model *physm_model_get(void) { return &model; }

#ifndef POISSON_NO_MAIN
int main(int argc, char **argv) { return physm_main(physm_model_get(), argc, argv); }
#endif
