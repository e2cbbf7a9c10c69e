/* Test model, written by hand as physc would generate it: a Hamiltonian
 * neural network. The field H(q, p) is an MLP; the dynamics are Hamilton's
 * equations dq/dt = dH/dp, dp/dt = -dH/dq (not separable: the leapfrog's
 * stages iterate). The rhs pseudo-term probes H with streams H, H_q, H_p;
 * the energy pseudo-term probes its value. One trajectory data term
 * (trajectory(t)) reads hnn_traj.csv (t, q, p) as pairs of consecutive rows:
 *     r0 = (q1 - q0) / (t1 - t0) - H_p(q0, p0),
 *     r1 = (p1 - p0) / (t1 - t0) + H_q(q0, p0).
 * HNN_NO_MAIN: for inclusion in a C test. */
#include "physmodel.h"

static const char *const qp[] = {"q", "p"};
static const int widths[] = {16, 16};
static const physm_field fields[] = {{.name = "H", .n_inputs = 2, .input_names = qp, .n_outputs = 1,
                                      .n_hidden = 2, .hidden_widths = widths, .activation = PHYSRT_ACT_TANH}};

static const int grad_streams[] = {0, 0, 1, 0, 0, 1};
static const physm_probe grad_probe[] = {{0, 3, grad_streams}};
static const int value_stream[] = {0, 0};
static const physm_probe value_probe[] = {{0, 1, value_stream}};

static const char *const traj_coords[] = {"t", "q", "p", "t'", "q'", "p'"};
static const char *const traj_columns[] = {"t", "q", "p"};

#define DEFINE(T, SUF)                                                                              \
    static void state_in_##SUF(int n, const T *s, const T *prm, T *const *in)                       \
    {                                                                                               \
        (void)prm;                                                                                  \
        for (int i = 0; i < 2 * n; i++) in[0][i] = s[i];                                            \
    }                                                                                               \
    static void rhs_##SUF(int n, const T *s, const T *prm, const T *const *st, T *r)                \
    {                                                                                               \
        (void)s; (void)prm;                                                                         \
        for (int i = 0; i < n; i++) {                                                               \
            r[i] = st[2][i];                                                                        \
            r[n + i] = -st[1][i];                                                                   \
        }                                                                                           \
    }                                                                                               \
    static void energy_##SUF(int n, const T *s, const T *prm, const T *const *st, T *r)             \
    {                                                                                               \
        (void)s; (void)prm;                                                                         \
        for (int i = 0; i < n; i++) r[i] = st[0][i];                                                \
    }                                                                                               \
    static void traj_in_##SUF(int n, const T *x, const T *prm, T *const *in)                        \
    {                                                                                               \
        (void)prm;                                                                                  \
        for (int i = 0; i < n; i++) {                                                               \
            in[0][2 * i] = x[6 * i + 1];                                                            \
            in[0][2 * i + 1] = x[6 * i + 2];                                                        \
        }                                                                                           \
    }                                                                                               \
    static void traj_res_##SUF(int n, const T *x, const T *prm, const T *const *st, T *r)           \
    {                                                                                               \
        (void)prm;                                                                                  \
        for (int i = 0; i < n; i++) {                                                               \
            const T *a = x + 6 * i, *b = a + 3;                                                     \
            r[i] = (b[1] - a[1]) / (b[0] - a[0]) - st[2][i];                                        \
            r[n + i] = (b[2] - a[2]) / (b[0] - a[0]) + st[1][i];                                    \
        }                                                                                           \
    }                                                                                               \
    static void traj_vjp_##SUF(int n, const T *x, const T *prm, const T *const *st, const T *dr,    \
                               T *const *ds, T *dprm)                                               \
    {                                                                                               \
        (void)x; (void)prm; (void)st; (void)dprm;                                                   \
        for (int i = 0; i < n; i++) {                                                               \
            ds[0][i] = 0;                                                                           \
            ds[1][i] = dr[n + i];                                                                   \
            ds[2][i] = -dr[i];                                                                      \
        }                                                                                           \
    }

DEFINE(double, f64)
DEFINE(float, f32)

static const physm_term terms[] = {
    {.name = "traj", .kind = PHYSM_DATA, .weight = 1.0, .n_coords = 6, .coord_names = traj_coords,
     .data_file = "hnn_traj.csv", .columns = traj_columns, .pair_rows = 1, .time_column = 0,
     .n_probes = 1, .probes = grad_probe, .n_residuals = 2,
     .inputs_f64 = traj_in_f64, .inputs_f32 = traj_in_f32, .residual_f64 = traj_res_f64,
     .residual_f32 = traj_res_f32, .residual_vjp_f64 = traj_vjp_f64, .residual_vjp_f32 = traj_vjp_f32},
};

static const physm_term rhs = {.name = "rhs", .n_coords = 2, .coord_names = qp, .n_probes = 1,
                               .probes = grad_probe, .n_residuals = 2, .inputs_f64 = state_in_f64,
                               .inputs_f32 = state_in_f32, .residual_f64 = rhs_f64, .residual_f32 = rhs_f32};
static const physm_term energy = {.name = "energy", .n_coords = 2, .coord_names = qp, .n_probes = 1,
                                  .probes = value_probe, .n_residuals = 1, .inputs_f64 = state_in_f64,
                                  .inputs_f32 = state_in_f32, .residual_f64 = energy_f64,
                                  .residual_f32 = energy_f32};

static const physm_dynamics dynamics = {
    .kind = PHYSM_DYN_HAMILTONIAN, .n_state = 2, .n_aux = 0, .names = qp, .n_half = 1, .separable = 0,
    .rhs = &rhs, .energy = &energy, .conserve_energy = 1};

static const double start[] = {0.5, -0.3};
static const physm_simulation sims[] = {
    {.name = "roll", .integrator = PHYSM_INT_LEAPFROG, .dt = 0.05, .steps = 200, .every = 10,
     .tolerance = 1e-12, .start = start, .out_file = "hnn_roll.csv"},
};

static const physm_stage stages[] = {
    {.optimizer = PHYSM_ADAM, .steps = 50, .adam = {0.9, 0.999, 1e-8, {PHYSRT_LR_CONSTANT, 1e-2, 0, 1, 0, 1}}},
};

static const physm_model model = {
    .abi_version = PHYSM_ABI_VERSION, .name = "hnn", .source_path = "hnn.phys", .source_dir = "",
    .structure_hash = 0x686e6e0000000001ull, .n_fields = 1, .fields = fields, .n_terms = 1, .terms = terms,
    .n_stages = 1, .stages = stages, .dynamics = &dynamics, .n_simulations = 1, .simulations = sims,
};

const physm_model *physm_model_get(void) { return &model; }

#ifndef HNN_NO_MAIN
int main(int argc, char **argv) { return physm_main(physm_model_get(), argc, argv); }
#endif
