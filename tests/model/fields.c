/* Test model for the eval verb, written by hand: no terms, no schedule
 * (train --steps 0 writes the initial values), three fields:
 *   u(x, t)  two outputs, tanh network;
 *   v(x)     one output, sin network;
 *   w(x)     hard-constrained: w = x (1 - x) net(x), its value and first and
 *            second derivative given by eval_f64 from the network's streams;
 * and one constant k. */
#include "physmodel.h"

static const char *const xt[] = {"x", "t"};
static const char *const x1[] = {"x"};
static const int wu[] = {8, 8}, wv[] = {6}, ww[] = {5};
static const int w_derivs[] = {0, 1, 2};
static const int w_net[] = {0, 1, 2};

/* out[d * n + p], d = value, d/dx, d2/dx2; streams[s] = net stream s */
static void w_eval(int n, const double *x, const double *params, const double *const *s, double *out)
{
    (void)params;
    for (int p = 0; p < n; p++) {
        const double g = x[p] * (1 - x[p]), g1 = 1 - 2 * x[p], g2 = -2;
        const double N = s[0][p], N1 = s[1][p], N2 = s[2][p];
        out[p] = g * N;
        out[n + p] = g1 * N + g * N1;
        out[2 * n + p] = g2 * N + 2 * g1 * N1 + g * N2;
    }
}

static const physm_field fields[] = {
    {.name = "u", .n_inputs = 2, .input_names = xt, .n_outputs = 2, .n_hidden = 2, .hidden_widths = wu,
     .activation = PHYSRT_ACT_TANH},
    {.name = "v", .n_inputs = 1, .input_names = x1, .n_outputs = 1, .n_hidden = 1, .hidden_widths = wv,
     .activation = PHYSRT_ACT_SIN},
    {.name = "w", .n_inputs = 1, .input_names = x1, .n_outputs = 1, .n_hidden = 1, .hidden_widths = ww,
     .activation = PHYSRT_ACT_TANH, .n_derivs = 3, .derivs = w_derivs, .n_net_streams = 3,
     .net_streams = w_net, .eval_f64 = w_eval},
};

static const physm_param params[] = {{"k", 1.5}};

static const physm_model model = {
    .abi_version = PHYSM_ABI_VERSION, .name = "fields", .source_path = "fields.phys", .source_dir = "",
    .structure_hash = 0x6669656c64730001ull, .n_fields = 3, .fields = fields, .n_params = 1, .params = params,
    .n_terms = 0, .terms = NULL, .n_stages = 0, .stages = NULL,
};

const physm_model *physm_model_get(void) { return &model; }

int main(int argc, char **argv) { return physm_main(physm_model_get(), argc, argv); }
