/* Test model, written by hand as physc would generate it: an analytic
 * spring with no fields, no terms and no trainable values, only dynamics,
 *     H = w (q^2 + p^2),  dq/dt = 2 w p,  dp/dt = -2 w q,
 * whose exact solution from (q, p) = (1, 0) is q = cos(2 w t), p = -sin(2 w t).
 * w is a constant (aux) component of the state. The rhs and energy
 * pseudo-terms have no probes. SPRING_SEPARABLE=0 builds the same model
 * flagged non-separable (the leapfrog's implicit stages iterate);
 * SPRING_EXPLICIT=1 declares the dynamics explicit (no positions and
 * momenta) and no simulations. */
#include "physmodel.h"

#ifndef SPRING_SEPARABLE
#define SPRING_SEPARABLE 1
#endif
#ifndef SPRING_EXPLICIT
#define SPRING_EXPLICIT 0
#endif

static const char *const names[] = {"q", "p", "w"};

static void rhs_f64(int n, const double *s, const double *prm, const double *const *st, double *r)
{
    (void)prm; (void)st;
    for (int i = 0; i < n; i++) {
        const double q = s[3 * i], p = s[3 * i + 1], w = s[3 * i + 2];
        r[i] = 2 * w * p;
        r[n + i] = -2 * w * q;
    }
}

static void energy_f64(int n, const double *s, const double *prm, const double *const *st, double *r)
{
    (void)prm; (void)st;
    for (int i = 0; i < n; i++) {
        const double q = s[3 * i], p = s[3 * i + 1], w = s[3 * i + 2];
        r[i] = w * (q * q + p * p);
    }
}

/* The float32 and VJP functions of pseudo-terms are never called. */
static void nop_in32(int n, const float *s, const float *prm, float *const *in) { (void)n; (void)s; (void)prm; (void)in; }
static void nop_res32(int n, const float *s, const float *prm, const float *const *st, float *r)
{
    (void)prm; (void)st; (void)s;
    for (int i = 0; i < n; i++) r[i] = 0;
}

static const physm_term rhs = {.name = "rhs", .n_coords = 3, .coord_names = names, .n_residuals = 2,
                               .inputs_f32 = nop_in32, .residual_f64 = rhs_f64, .residual_f32 = nop_res32};
static const physm_term energy = {.name = "energy", .n_coords = 3, .coord_names = names, .n_residuals = 1,
                                  .inputs_f32 = nop_in32, .residual_f64 = energy_f64, .residual_f32 = nop_res32};

static const physm_dynamics dynamics = {
    .kind = SPRING_EXPLICIT ? PHYSM_DYN_EXPLICIT : PHYSM_DYN_HAMILTONIAN, .n_state = 2, .n_aux = 1,
    .names = names, .n_half = SPRING_EXPLICIT ? 0 : 1, .separable = SPRING_SEPARABLE, .dim = 0, .rhs = &rhs, .energy = &energy, .momentum = NULL,
    .conserve_energy = 1, .conserve_momentum = 0};

static const double start[] = {1, 0, 1};
static const physm_simulation sims[] = {
    {.name = "orbit", .integrator = PHYSM_INT_LEAPFROG, .dt = 0.01, .steps = 1000, .every = 10,
     .tolerance = 1e-13, .start = start, .out_file = "spring_orbit.csv"},
    {.name = "many", .integrator = PHYSM_INT_RK4, .dt = 0.05, .steps = 200, .every = 50,
     .tolerance = 0, .start_file = "spring_init.csv", .out_file = "spring_many.csv"},
};

static const physm_model model = {
    .abi_version = PHYSM_ABI_VERSION, .name = "spring", .source_path = "spring.phys", .source_dir = "",
    .structure_hash = 0x737072696e670001ull, .n_fields = 0, .n_params = 0, .n_terms = 0, .n_stages = 0,
    .dynamics = &dynamics, .n_simulations = SPRING_EXPLICIT ? 0 : 2, .simulations = sims,
};

const physm_model *physm_model_get(void) { return &model; }

int main(int argc, char **argv) { return physm_main(physm_model_get(), argc, argv); }
