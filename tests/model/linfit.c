/* Test model, written by hand as physc would generate it: fit y = a x + b
 * to the rows of linfit.csv (columns x, y) with the trainable constants a
 * and b. One data term without probes; the data path is relative, and with
 * an empty source_dir it resolves against the current directory, where the
 * test scripts write the file. */
#include "physmodel.h"

static const char *const coords[] = {"x", "y"};
static const char *const columns[] = {"x", "y"};
static const physm_param params[] = {{"a", 0.0}, {"b", 0.0}};

#define DEFINE_TERM(T, SUF)                                                                         \
    static void inputs_##SUF(int n, const T *pts, const T *prm, T *const *pin)                      \
    {                                                                                               \
        (void)n; (void)pts; (void)prm; (void)pin;                                                   \
    }                                                                                               \
    static void res_##SUF(int n, const T *pts, const T *prm, const T *const *s, T *r)               \
    {                                                                                               \
        (void)s;                                                                                    \
        for (int p = 0; p < n; p++) r[p] = prm[0] * pts[2 * p] + prm[1] - pts[2 * p + 1];           \
    }                                                                                               \
    static void vjp_##SUF(int n, const T *pts, const T *prm, const T *const *s, const T *dr,        \
                          T *const *ds, T *dprm)                                                    \
    {                                                                                               \
        (void)prm; (void)s; (void)ds;                                                               \
        for (int p = 0; p < n; p++) {                                                               \
            dprm[0] += dr[p] * pts[2 * p];                                                          \
            dprm[1] += dr[p];                                                                       \
        }                                                                                           \
    }

DEFINE_TERM(double, f64)
DEFINE_TERM(float, f32)

static const physm_term terms[] = {
    {.name = "obs", .kind = PHYSM_DATA, .weight = 1.0, .n_coords = 2, .coord_names = coords,
     .data_file = "linfit.csv", .columns = columns, .n_probes = 0, .probes = NULL, .n_residuals = 1,
     .inputs_f64 = inputs_f64, .inputs_f32 = inputs_f32, .residual_f64 = res_f64, .residual_f32 = res_f32,
     .residual_vjp_f64 = vjp_f64, .residual_vjp_f32 = vjp_f32},
};

static const physm_stage stages[] = {
    {.optimizer = PHYSM_ADAM, .steps = 200, .adam = {0.9, 0.999, 1e-8, {PHYSRT_LR_CONSTANT, 0.05, 0, 1, 0, 1}}},
    {.optimizer = PHYSM_LBFGS, .steps = 50, .lbfgs = {10, 0, 0, 1e-13, 0, 1e-4, 0.9}},
};

static const physm_model model = {
    .abi_version = PHYSM_ABI_VERSION, .name = "linfit", .source_path = "linfit.phys", .source_dir = "",
    .structure_hash = 0x6c696e6669740001ull, .n_fields = 0, .fields = NULL, .n_params = 2, .params = params,
    .n_terms = 1, .terms = terms, .n_stages = 2, .stages = stages,
};

const physm_model *physm_model_get(void) { return &model; }

int main(int argc, char **argv) { return physm_main(physm_model_get(), argc, argv); }
