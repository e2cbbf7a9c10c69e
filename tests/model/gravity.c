/* Test model, written by hand as physc would generate it: two bodies in the
 * plane under Newtonian gravity (G = 1), an analytic simulation with no
 * fields, terms or trainable values. State r_0_x r_0_y r_1_x r_1_y, then
 * v_0_x .. v_1_y; constant masses m_0 m_1. Newtonian and separable: the rhs
 * gives dr/dt = v exactly, so leapfrog is velocity Verlet (one evaluation per
 * step). Energy T + V and momentum sum m v (then sum m |v|) are defined. */
#include "physmodel.h"

#include <math.h>

static const char *const names[] = {"r_0_x", "r_0_y", "r_1_x", "r_1_y", "v_0_x", "v_0_y",
                                    "v_1_x", "v_1_y", "m_0", "m_1"};

static void rhs_f64(int n, const double *s, const double *prm, const double *const *st, double *r)
{
    (void)prm; (void)st;
    for (int i = 0; i < n; i++) {
        const double *x = s + 10 * i;
        const double dx = x[0] - x[2], dy = x[1] - x[3], m0 = x[8], m1 = x[9];
        const double d2 = dx * dx + dy * dy, inv3 = 1 / (d2 * sqrt(d2));
        for (int k = 0; k < 4; k++) r[k * n + i] = x[4 + k];
        r[4 * n + i] = -m1 * dx * inv3;
        r[5 * n + i] = -m1 * dy * inv3;
        r[6 * n + i] = m0 * dx * inv3;
        r[7 * n + i] = m0 * dy * inv3;
    }
}

static void energy_f64(int n, const double *s, const double *prm, const double *const *st, double *r)
{
    (void)prm; (void)st;
    for (int i = 0; i < n; i++) {
        const double *x = s + 10 * i;
        const double dx = x[0] - x[2], dy = x[1] - x[3], m0 = x[8], m1 = x[9];
        r[i] = 0.5 * m0 * (x[4] * x[4] + x[5] * x[5]) + 0.5 * m1 * (x[6] * x[6] + x[7] * x[7]) -
               m0 * m1 / sqrt(dx * dx + dy * dy);
    }
}

static void momentum_f64(int n, const double *s, const double *prm, const double *const *st, double *r)
{
    (void)prm; (void)st;
    for (int i = 0; i < n; i++) {
        const double *x = s + 10 * i;
        r[i] = x[8] * x[4] + x[9] * x[6];
        r[n + i] = x[8] * x[5] + x[9] * x[7];
        r[2 * n + i] = x[8] * hypot(x[4], x[5]) + x[9] * hypot(x[6], x[7]);
    }
}

static const physm_term rhs = {.name = "rhs", .n_coords = 10, .coord_names = names, .n_residuals = 8,
                               .residual_f64 = rhs_f64};
static const physm_term energy = {.name = "energy", .n_coords = 10, .coord_names = names, .n_residuals = 1,
                                  .residual_f64 = energy_f64};
static const physm_term momentum = {.name = "momentum", .n_coords = 10, .coord_names = names,
                                    .n_residuals = 3, .residual_f64 = momentum_f64};

static const physm_dynamics dynamics = {
    .kind = PHYSM_DYN_NEWTON, .n_state = 8, .n_aux = 2, .names = names, .n_half = 4, .separable = 1,
    .dim = 2, .rhs = &rhs, .energy = &energy, .momentum = &momentum, .conserve_energy = 1,
    .conserve_momentum = 1};

static const double start[] = {1, 0, -1, 0, 0, 0.4, 0.1, -0.5, 1, 0.5};
static const physm_simulation sims[] = {
    {.name = "kepler", .integrator = PHYSM_INT_LEAPFROG, .dt = 0.01, .steps = 5000, .every = 100,
     .tolerance = 0, .start = start, .out_file = "kepler.csv"},
};

static const physm_model model = {
    .abi_version = PHYSM_ABI_VERSION, .name = "gravity", .source_path = "gravity.phys", .source_dir = "",
    .structure_hash = 0x6772617669747901ull, .dynamics = &dynamics, .n_simulations = 1, .simulations = sims,
};

const physm_model *physm_model_get(void) { return &model; }

int main(int argc, char **argv) { return physm_main(physm_model_get(), argc, argv); }
