/* mlp_tangent.c - an MLP with one tangent stream per point: the value y
 * and its derivative dy along a per-point input direction dx, and the
 * reverse sweep through both. Atomic networks use it: forces need the
 * input gradient (a reverse sweep from the value), force training the
 * tangent of the descriptors along the force error pushed forward as a
 * derivative stream, then one reverse sweep for the weights. Networks of
 * any input width (the jets of mlp_eval.c go to PHYSRT_MAX_INPUTS inputs
 * and every multi-index; here there is one direction, whatever it is).
 *
 * Per layer, for points p (rows) and units j (columns):
 *   z = W a' + b, dz = W da',  a = s(z), da = s'(z) dz   (hidden layers)
 *   y = W a' + b, dy = W da'                              (linear output)
 * and back, from (ybar, dybar):
 *   dzbar = s'(z) dabar,  zbar = s'(z) abar + s''(z) dz dabar,
 *   Wbar += zbar a'^T + dzbar da'^T,  abar' = W^T zbar,  dabar' = W^T dzbar.
 * Inside, every layer's numbers are stored unit-major (row j holds unit j
 * of the n points), so each loop runs over points: vectorised without
 * reassociating a sum, and one weight is loaded per row, not per point. */
#include "physrt.h"

#include <stdlib.h>
#include <string.h>

struct physrt_mlp_tangent_f64 {
    physrt_mlp_desc desc;
    int hidden[64];
    int n_layers;                 /* n_hidden + 1 */
    int width[66];                /* width[0] = n_inputs, width[l + 1] = outputs of layer l */
    size_t w_off[65], b_off[65];
    int max_points;
    int tangent;                  /* the last forward had dx */
    int n_last;                   /* points of the last forward */
    double *a[66], *da[66];       /* [width][n]: a[0] = x, da[0] = dx (transposed); a[l + 1] outputs of layer l */
    double *s1[65], *s2[65];      /* s'(z), s''(z) of hidden layers */
    double *dz[65];               /* W da' of hidden layers */
    double *bar, *dbar, *bar2, *dbar2; /* adjoint rows, two of each width */
};

void physrt_mlp_tangent_destroy_f64(physrt_mlp_tangent_f64 *ev)
{
    if (!ev) return;
    for (int l = 0; l <= ev->n_layers; l++) free(ev->a[l]), free(ev->da[l]);
    for (int l = 0; l < ev->n_layers; l++) free(ev->s1[l]), free(ev->s2[l]), free(ev->dz[l]);
    free(ev->bar), free(ev->dbar), free(ev->bar2), free(ev->dbar2);
    free(ev);
}

physrt_mlp_tangent_f64 *physrt_mlp_tangent_create_f64(const physrt_mlp_desc *desc, int max_points)
{
    if (physrt_mlp_validate(desc) != PHYSRT_OK || max_points < 1 || desc->n_hidden > 64) return NULL;
    physrt_mlp_tangent_f64 *ev = calloc(1, sizeof *ev);
    if (!ev) return NULL;
    ev->desc = *desc;
    memcpy(ev->hidden, desc->hidden_widths, sizeof(int) * (size_t)desc->n_hidden);
    ev->desc.hidden_widths = ev->hidden;
    ev->n_layers = desc->n_hidden + 1;
    ev->max_points = max_points;
    ev->width[0] = desc->n_inputs;
    int widest = desc->n_inputs;
    for (int l = 0; l < ev->n_layers; l++) {
        int in, out;
        physrt_mlp_layer_info(desc, l, &ev->w_off[l], &ev->b_off[l], &in, &out);
        ev->width[l + 1] = out;
        if (out > widest) widest = out;
    }
    const size_t P = (size_t)max_points;
    int ok = 1;
    for (int l = 0; l <= ev->n_layers; l++) {
        ok &= (ev->a[l] = malloc(sizeof(double) * P * (size_t)ev->width[l])) != NULL;
        ok &= (ev->da[l] = malloc(sizeof(double) * P * (size_t)ev->width[l])) != NULL;
    }
    for (int l = 0; l < ev->n_layers - 1; l++) {
        ok &= (ev->s1[l] = malloc(sizeof(double) * P * (size_t)ev->width[l + 1])) != NULL;
        ok &= (ev->s2[l] = malloc(sizeof(double) * P * (size_t)ev->width[l + 1])) != NULL;
        ok &= (ev->dz[l] = malloc(sizeof(double) * P * (size_t)ev->width[l + 1])) != NULL;
    }
    ok &= (ev->bar = malloc(sizeof(double) * P * (size_t)widest)) != NULL;
    ok &= (ev->dbar = malloc(sizeof(double) * P * (size_t)widest)) != NULL;
    ok &= (ev->bar2 = malloc(sizeof(double) * P * (size_t)widest)) != NULL;
    ok &= (ev->dbar2 = malloc(sizeof(double) * P * (size_t)widest)) != NULL;
    if (!ok) {
        physrt_mlp_tangent_destroy_f64(ev);
        return NULL;
    }
    return ev;
}

/* out[j][p] = (bias_j) + sum_i W[j][i] in[i][p], rows of n points. */
static void affine(const double *W, const double *bias, int n_in, int n_out, int n, const double *in, double *out)
{
    for (int j = 0; j < n_out; j++) {
        double *z = out + (size_t)j * n;
        const double *w = W + (size_t)j * n_in, b = bias ? bias[j] : 0;
        for (int p = 0; p < n; p++) z[p] = b;
        for (int i = 0; i < n_in; i++) {
            const double wi = w[i], *x = in + (size_t)i * n;
            for (int p = 0; p < n; p++) z[p] += wi * x[p];
        }
    }
}

/* sum_p x[p] y[p] in eight running sums (vector lanes), then added. */
static double dot(const double *x, const double *y, int n)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sum = 0;
    int p = 0;
    for (; p + 8 <= n; p += 8)
        for (int k = 0; k < 8; k++) acc[k] += x[p + k] * y[p + k];
    for (; p < n; p++) sum += x[p] * y[p];
    return sum + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

/* in_bar[i][p] = sum_j W[j][i] out_bar[j][p]; Wbar[j][i] += sum_p out_bar[j][p] in[i][p], bbar[j] += sum_p out_bar[j][p]. */
static void affine_back(const double *W, int n_in, int n_out, int n, const double *out_bar, const double *in,
                        double *in_bar, double *W_bar, double *b_bar)
{
    if (in_bar) {
        memset(in_bar, 0, sizeof(double) * (size_t)n_in * (size_t)n);
        for (int j = 0; j < n_out; j++) {
            const double *g = out_bar + (size_t)j * n, *w = W + (size_t)j * n_in;
            for (int i = 0; i < n_in; i++) {
                const double wi = w[i];
                double *xb = in_bar + (size_t)i * n;
                for (int p = 0; p < n; p++) xb[p] += wi * g[p];
            }
        }
    }
    if (W_bar)
        for (int j = 0; j < n_out; j++) {
            const double *g = out_bar + (size_t)j * n;
            double *wb = W_bar + (size_t)j * n_in;
            for (int i = 0; i < n_in; i++) wb[i] += dot(g, in + (size_t)i * n, n);
            if (b_bar) {
                double sum = 0;
                for (int p = 0; p < n; p++) sum += g[p];
                b_bar[j] += sum;
            }
        }
}

/* dst[c][p] = src[p][c] for n rows of w columns, and back. */
static void to_units(const double *src, int n, int w, double *dst)
{
    for (int p = 0; p < n; p++)
        for (int c = 0; c < w; c++) dst[(size_t)c * n + p] = src[(size_t)p * w + c];
}

static void to_points(const double *src, int n, int w, double *dst)
{
    for (int c = 0; c < w; c++)
        for (int p = 0; p < n; p++) dst[(size_t)p * w + c] = src[(size_t)c * n + p];
}

int physrt_mlp_tangent_forward_f64(physrt_mlp_tangent_f64 *ev, const double *params, int n, const double *x,
                                   const double *dx, double *y, double *dy)
{
    if (!ev || !params || !x || n < 1 || n > ev->max_points) return PHYSRT_EINVAL;
    ev->tangent = dx != NULL;
    ev->n_last = n;
    to_units(x, n, ev->width[0], ev->a[0]);
    if (dx) to_units(dx, n, ev->width[0], ev->da[0]);
    for (int l = 0; l < ev->n_layers; l++) {
        const int in = ev->width[l], out = ev->width[l + 1];
        const double *W = params + ev->w_off[l], *b = params + ev->b_off[l];
        const int last = l == ev->n_layers - 1;
        double *z = ev->a[l + 1], *dz = last ? ev->da[l + 1] : ev->dz[l];
        affine(W, b, in, out, n, ev->a[l], z);
        if (ev->tangent) affine(W, NULL, in, out, n, ev->da[l], dz);
        if (last) break;
        const size_t m = (size_t)n * out;
        double *derivs[3] = {z, ev->s1[l], ev->s2[l]};
        /* z becomes s(z) in place: the activation reads each z before writing */
        double *zcopy = ev->bar;
        memcpy(zcopy, z, sizeof(double) * m);
        physrt_activation_eval_f64(ev->desc.hidden_activation, 2, (int)m, zcopy, derivs);
        if (ev->tangent)
            for (size_t q = 0; q < m; q++) ev->da[l + 1][q] = ev->s1[l][q] * dz[q];
    }
    const int no = ev->width[ev->n_layers];
    to_points(ev->a[ev->n_layers], n, no, y);
    if (dy && ev->tangent) to_points(ev->da[ev->n_layers], n, no, dy);
    return PHYSRT_OK;
}

int physrt_mlp_tangent_retangent_f64(physrt_mlp_tangent_f64 *ev, const double *params, int n, const double *dx)
{
    if (!ev || !params || !dx || n < 1 || n != ev->n_last) return PHYSRT_EINVAL;
    ev->tangent = 1;
    to_units(dx, n, ev->width[0], ev->da[0]);
    for (int l = 0; l < ev->n_layers; l++) {
        const int in = ev->width[l], out = ev->width[l + 1];
        const int last = l == ev->n_layers - 1;
        double *dz = last ? ev->da[l + 1] : ev->dz[l];
        affine(params + ev->w_off[l], NULL, in, out, n, ev->da[l], dz);
        if (last) break;
        const size_t m = (size_t)n * out;
        for (size_t q = 0; q < m; q++) ev->da[l + 1][q] = ev->s1[l][q] * dz[q];
    }
    return PHYSRT_OK;
}

int physrt_mlp_tangent_backward_f64(physrt_mlp_tangent_f64 *ev, const double *params, int n, const double *y_bar,
                                    const double *dy_bar, double *param_grad, double *x_bar)
{
    if (!ev || !params || !y_bar || n < 1 || n > ev->max_points || (dy_bar && !ev->tangent)) return PHYSRT_EINVAL;
    const int L = ev->n_layers;
    double *bar = ev->bar, *dbar = ev->dbar, *nbar = ev->bar2, *ndbar = ev->dbar2;
    to_units(y_bar, n, ev->width[L], bar);
    if (dy_bar) to_units(dy_bar, n, ev->width[L], dbar);
    for (int l = L - 1; l >= 0; l--) {
        const int in = ev->width[l], out = ev->width[l + 1];
        const double *W = params + ev->w_off[l];
        if (l < L - 1) { /* through the activation: bar, dbar hold abar, dabar of layer l */
            const size_t m = (size_t)n * out;
            const double *s1 = ev->s1[l], *s2 = ev->s2[l], *dz = ev->dz[l];
            for (size_t q = 0; q < m; q++) {
                if (dy_bar) {
                    bar[q] = s1[q] * bar[q] + s2[q] * dz[q] * dbar[q];
                    dbar[q] = s1[q] * dbar[q];
                } else {
                    bar[q] = s1[q] * bar[q];
                }
            }
        }
        double *Wb = param_grad ? param_grad + ev->w_off[l] : NULL, *bb = param_grad ? param_grad + ev->b_off[l] : NULL;
        int want_in = l > 0 || x_bar;
        affine_back(W, in, out, n, bar, ev->a[l], want_in ? nbar : NULL, Wb, bb);
        if (dy_bar) affine_back(W, in, out, n, dbar, ev->da[l], l > 0 ? ndbar : NULL, Wb, NULL);
        if (l == 0 && x_bar) to_points(nbar, n, in, x_bar);
        double *t = bar; bar = nbar; nbar = t;
        t = dbar; dbar = ndbar; ndbar = t;
    }
    return PHYSRT_OK;
}
