/* MLP forward jets: every stream (single and mixed partials up to order 4)
 * against an 8th-order central difference of the next-lower stream, for 2-
 * and 3-input networks and every activation (relu only to order 1); float32
 * against float64. */
#include "check.h"
#include "physrt.h"

#include <stdlib.h>
#include <string.h>

#define N_BASE 5

/* Plan with every multi-index of total order <= max_order. */
static physrt_jet_plan *full_plan(int n_in, int max_order)
{
    int req[512 * PHYSRT_MAX_INPUTS];
    int n_req = 0, mi[PHYSRT_MAX_INPUTS] = {0};
    for (;;) {
        int ord = 0;
        for (int i = 0; i < n_in; i++) ord += mi[i];
        if (ord <= max_order) {
            memcpy(req + n_req * n_in, mi, (size_t)n_in * sizeof(int));
            n_req++;
        }
        int i = 0;
        while (i < n_in && mi[i] == max_order) mi[i++] = 0;
        if (i == n_in) break;
        mi[i]++;
    }
    return physrt_jet_plan_create(n_in, n_req, req);
}

static double worst_fd, worst_f32;

static void check_network(int n_in, int n_out, int n_hidden, const int *widths,
                          physrt_activation act, physrt_activation out_act)
{
    physrt_mlp_desc desc = {n_in, n_out, n_hidden, widths, act, out_act};
    const int max_order = act == PHYSRT_ACT_RELU ? 1 : 4;
    physrt_jet_plan *plan = full_plan(n_in, max_order);
    const int S = physrt_jet_plan_n_streams(plan);
    const size_t np = physrt_mlp_n_params(&desc);
    double *params = malloc(np * sizeof *params);
    physrt_mlp_init_f64(&desc, 42 + (uint64_t)act, params);
    /* non-zero biases so no unit sits at a symmetric point */
    for (int l = 0; l <= n_hidden; l++) {
        size_t b_off;
        int w;
        physrt_mlp_layer_info(&desc, l, NULL, &b_off, NULL, &w);
        for (int j = 0; j < w; j++) params[b_off + j] = 0.1 * (j + 1) - 0.2 * l;
    }
    const int n_fd = 8 * N_BASE;
    physrt_mlp_eval_f64 *ev = physrt_mlp_eval_create_f64(&desc, plan, n_fd, NULL);
    CHECK(ev != NULL, "eval create");
    double x[N_BASE * PHYSRT_MAX_INPUTS];
    physrt_rng rng;
    physrt_rng_seed(&rng, 7);
    for (int q = 0; q < N_BASE * n_in; q++) x[q] = 2 * physrt_rng_uniform(&rng) - 1;
    double *base = malloc((size_t)S * n_out * N_BASE * sizeof *base);
    double *shifted = malloc((size_t)S * n_out * n_fd * sizeof *shifted);
    double *xs = malloc((size_t)n_fd * n_in * sizeof *xs);
    physrt_mlp_forward_f64(ev, params, N_BASE, x, base);
    /* per-stream scale: largest magnitude over points and outputs */
    double scale[512];
    for (int s = 0; s < S; s++) {
        scale[s] = 0;
        for (int q = 0; q < n_out * N_BASE; q++)
            scale[s] = fmax(scale[s], fabs(base[(size_t)s * n_out * N_BASE + q]));
    }
    const double h = 1e-2;
    for (int i = 0; i < n_in; i++) {
        /* shifted points: block m (0..7) is x + (m<4 ? m+1 : -(m-3)) h e_i */
        for (int m = 0; m < 8; m++) {
            double shift = (m < 4 ? m + 1 : -(m - 3)) * h;
            for (int p = 0; p < N_BASE; p++)
                for (int ii = 0; ii < n_in; ii++)
                    xs[((size_t)m * N_BASE + p) * n_in + ii] =
                        x[p * n_in + ii] + (ii == i ? shift : 0);
        }
        physrt_mlp_forward_f64(ev, params, n_fd, xs, shifted);
        for (int s = 0; s < S; s++) {
            int alpha[PHYSRT_MAX_INPUTS];
            physrt_jet_plan_multi_index(plan, s, alpha);
            if (alpha[i] == 0) continue;
            alpha[i]--;
            int lower = physrt_jet_plan_index(plan, alpha);
            for (int o = 0; o < n_out; o++)
                for (int p = 0; p < N_BASE; p++) {
                    double fd = 0;
                    for (int m = 1; m <= 4; m++) {
                        double plus = shifted[((size_t)lower * n_out + o) * n_fd + (m - 1) * N_BASE + p];
                        double minus = shifted[((size_t)lower * n_out + o) * n_fd + (m + 3) * N_BASE + p];
                        fd += fd8_weights[m - 1] * (plus - minus);
                    }
                    fd /= h;
                    double an = base[((size_t)s * n_out + o) * N_BASE + p];
                    /* floor: 1e-3 of the stream's size, or the FD's own round-off
                     * level (eps * |lower stream| / h) for streams that vanish */
                    double e = rel_err(an, fd, fmax(1e-3 * scale[s], 1e-6 * scale[lower]) + 1e-300);
                    if (e > worst_fd) worst_fd = e;
                    CHECK(e <= 1e-6, "%s n_in=%d stream %d (d/dx%d of %d) out %d pt %d: %.12g vs fd %.12g",
                          physrt_activation_name(act), n_in, s, i, lower, o, p, an, fd);
                }
        }
    }
    /* float32 against float64 on identical (rounded) inputs and parameters */
    float *params32 = malloc(np * sizeof *params32);
    physrt_mlp_init_f32(&desc, 42 + (uint64_t)act, params32);
    float x32[N_BASE * PHYSRT_MAX_INPUTS];
    for (size_t q = 0; q < np; q++) params[q] = params32[q] = (float)params[q];
    for (int q = 0; q < N_BASE * n_in; q++) x[q] = x32[q] = (float)x[q];
    physrt_mlp_eval_f32 *ev32 = physrt_mlp_eval_create_f32(&desc, plan, N_BASE, NULL);
    float *out32 = malloc((size_t)S * n_out * N_BASE * sizeof *out32);
    physrt_mlp_forward_f32(ev32, params32, N_BASE, x32, out32);
    physrt_mlp_forward_f64(ev, params, N_BASE, x, base);
    for (int s = 0; s < S; s++)
        for (int q = 0; q < n_out * N_BASE; q++) {
            double want = base[(size_t)s * n_out * N_BASE + q];
            double e = rel_err(out32[(size_t)s * n_out * N_BASE + q], want, scale[s] + 1e-12);
            if (e > worst_f32) worst_f32 = e;
            CHECK(e <= 2e-5, "%s f32 stream %d: %g vs %g", physrt_activation_name(act), s,
                  out32[(size_t)s * n_out * N_BASE + q], want);
        }
    physrt_mlp_eval_destroy_f32(ev32);
    physrt_mlp_eval_destroy_f64(ev);
    physrt_jet_plan_destroy(plan);
    free(out32);
    free(params32);
    free(params);
    free(base);
    free(shifted);
    free(xs);
}

int main(void)
{
    const int w2[] = {6, 5}, w3[] = {5, 4, 3};
    for (int a = 0; a < PHYSRT_ACT_COUNT; a++) {
        physrt_activation act = (physrt_activation)a;
        check_network(2, 1, 2, w2, act, act);                   /* activated output */
        check_network(3, 2, 3, w3, act, PHYSRT_ACT_IDENTITY);   /* two linear outputs */
    }
    check_network(2, 1, 0, NULL, PHYSRT_ACT_TANH, PHYSRT_ACT_TANH);   /* single layer */
    printf("worst relative error: fd %.3g, f32 vs f64 %.3g\n", worst_fd, worst_f32);
    return check_summary("runtime_mlp_jets");
}
