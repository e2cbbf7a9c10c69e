/* Test model whose loss turns NaN after a few Adam steps: the residual of
 * the sampled term "blows_up" is a while a > 0.5 and NaN below, and Adam
 * drives a from 1 towards 0 (lr 0.05, so a passes 0.5 near step 11). */
#include "physmodel.h"

#include <math.h>

static const char *const coords[] = {"x"};
static const double lo[] = {0}, hi[] = {1};
static const physm_param params[] = {{"a", 1.0}};

#define DEFINE_TERM(T, SUF)                                                                         \
    static void inputs_##SUF(int n, const T *pts, const T *prm, T *const *pin)                      \
    {                                                                                               \
        (void)n; (void)pts; (void)prm; (void)pin;                                                   \
    }                                                                                               \
    static void res_##SUF(int n, const T *pts, const T *prm, const T *const *s, T *r)               \
    {                                                                                               \
        (void)s; (void)pts;                                                                         \
        for (int p = 0; p < n; p++) r[p] = prm[0] > (T)0.5 ? prm[0] : (T)NAN;                       \
    }                                                                                               \
    static void vjp_##SUF(int n, const T *pts, const T *prm, const T *const *s, const T *dr,        \
                          T *const *ds, T *dprm)                                                    \
    {                                                                                               \
        (void)pts; (void)prm; (void)s; (void)ds;                                                    \
        for (int p = 0; p < n; p++) dprm[0] += dr[p];                                               \
    }

DEFINE_TERM(double, f64)
DEFINE_TERM(float, f32)

static const physm_term terms[] = {
    {.name = "blows_up", .kind = PHYSM_EQUATION, .weight = 1.0, .n_coords = 1, .coord_names = coords,
     .lo = lo, .hi = hi, .n_points = 8, .sampler = PHYSM_SAMPLE_LHS, .n_probes = 0, .n_residuals = 1,
     .inputs_f64 = inputs_f64, .inputs_f32 = inputs_f32, .residual_f64 = res_f64, .residual_f32 = res_f32,
     .residual_vjp_f64 = vjp_f64, .residual_vjp_f32 = vjp_f32},
};

static const physm_stage stages[] = {
    {.optimizer = PHYSM_ADAM, .steps = 1000, .adam = {0.9, 0.999, 1e-8, {PHYSRT_LR_CONSTANT, 0.05, 0, 1, 0, 1}}},
};

static const physm_model model = {
    .abi_version = PHYSM_ABI_VERSION, .name = "blowup", .source_path = "blowup.phys", .source_dir = "",
    .structure_hash = 0x626c6f7775700001ull, .n_fields = 0, .n_params = 1, .params = params,
    .n_terms = 1, .terms = terms, .n_stages = 1, .stages = stages,
};

const physm_model *physm_model_get(void) { return &model; }

int main(int argc, char **argv) { return physm_main(physm_model_get(), argc, argv); }
