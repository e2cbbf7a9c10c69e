/* atomic_net.c - the network side of an atomic model (physm_atomic): the
 * feature scaling of each atom's descriptor, the network's E_i and
 * dE_i/dG_i, and for training the tangent stream and the reverse sweep
 * into the weights. The descriptors come from the kernels (system_eval.c,
 * local_eval.c); everything that evaluates an atomic network goes
 * through here. */
#include "model_internal.h"

#include <stdlib.h>
#include <string.h>

struct physm_atomic_net {
    const physm_layout *lay;
    long max_atoms;
    int n_elements;
    physrt_mlp_tangent_f64 *mlp[8];   /* per element */
    int width[8];                     /* element e's network reads features 0 .. width[e] - 1 */
    long *order, start[9];            /* the atoms grouped by element */
    double *x, *t, *y, *ybar, *tbar, *xbar; /* one element's atoms, contiguous */
};

physm_atomic_net *physm_atomic_net_create(const physm_layout *lay, long max_atoms)
{
    const physm_atomic *a = lay->model->system->atomic;
    const size_t nf = (size_t)a->n_features;
    physm_atomic_net *net = calloc(1, sizeof *net);
    if (!net) return NULL;
    net->lay = lay;
    net->max_atoms = max_atoms < 1 ? 1 : max_atoms;
    net->n_elements = a->n_elements;
    const size_t n = (size_t)net->max_atoms;
    int ok = (net->order = malloc(sizeof(long) * n)) != NULL;
    ok &= (net->x = malloc(sizeof(double) * n * nf)) != NULL;
    ok &= (net->t = malloc(sizeof(double) * n * nf)) != NULL;
    ok &= (net->xbar = malloc(sizeof(double) * n * nf)) != NULL;
    ok &= (net->y = malloc(sizeof(double) * 2 * n)) != NULL;
    ok &= (net->ybar = malloc(sizeof(double) * n)) != NULL;
    ok &= (net->tbar = malloc(sizeof(double) * n)) != NULL;
    for (int e = 0; ok && e < a->n_elements; e++) {
        net->width[e] = lay->descs[a->fields[e]].n_inputs;
        ok = net->width[e] <= a->n_features &&
             (net->mlp[e] = physrt_mlp_tangent_create_f64(&lay->descs[a->fields[e]], (int)n)) != NULL;
    }
    if (!ok) {
        physm_atomic_net_destroy(net);
        return NULL;
    }
    return net;
}

void physm_atomic_net_destroy(physm_atomic_net *net)
{
    if (!net) return;
    for (int e = 0; e < net->n_elements; e++) physrt_mlp_tangent_destroy_f64(net->mlp[e]);
    free(net->order), free(net->x), free(net->t), free(net->xbar), free(net->y), free(net->ybar), free(net->tbar);
    free(net);
}

/* Atoms by element (a stable counting sort): start[e] .. start[e + 1] of order. */
static int group(physm_atomic_net *net, long n, const double *species)
{
    long count[9] = {0};
    for (long i = 0; i < n; i++) {
        const int e = species ? (int)species[i] : 0;
        if (e < 0 || e >= net->n_elements) return -1;
        count[e + 1]++;
    }
    for (int e = 0; e < net->n_elements; e++) count[e + 1] += count[e];
    memcpy(net->start, count, sizeof count);
    for (long i = 0; i < n; i++) net->order[count[species ? (int)species[i] : 0]++] = i;
    return 0;
}

/* Rows lo .. hi of order: the first w of each atom's stride numbers of
 * from, contiguous in to; scatter_rows the reverse (the rest of a row
 * untouched). */
static void gather_rows(const physm_atomic_net *net, long lo, long hi, const double *from, double *to, int w,
                        int stride)
{
    for (long q = lo; q < hi; q++)
        memcpy(to + (q - lo) * w, from + net->order[q] * stride, sizeof(double) * (size_t)w);
}

static void scatter_rows(const physm_atomic_net *net, long lo, long hi, const double *from, double *to, int w,
                         int stride)
{
    for (long q = lo; q < hi; q++)
        memcpy(to + net->order[q] * stride, from + (q - lo) * w, sizeof(double) * (size_t)w);
}

/* The scaling block of atom i's element: mean, 1/sigma, min, max (nf each). */
static const double *scaling_block(const physm_layout *lay, const double *theta, const double *species, long i)
{
    const int nf = lay->model->system->atomic->n_features;
    const int e = species ? (int)species[i] : 0;
    return theta + lay->scaling + (size_t)e * 4 * (size_t)nf;
}

long physm_atomic_scale(const physm_layout *lay, const double *theta, long atoms, const double *species, double *G)
{
    const int nf = lay->model->system->atomic->n_features;
    long outside = 0;
    for (long i = 0; i < atoms; i++) {
        const double *mean = scaling_block(lay, theta, species, i), *inv = mean + nf, *lo = inv + nf, *hi = lo + nf;
        double *g = G + i * nf;
        int out = 0;
        for (int k = 0; k < nf; k++) {
            const double slack = 1e-9 * (hi[k] - lo[k]);
            out |= lo[k] <= hi[k] && (g[k] < lo[k] - slack || g[k] > hi[k] + slack);
            g[k] = (g[k] - mean[k]) * inv[k];
        }
        outside += out;
    }
    return outside;
}

void physm_atomic_scale_back(const physm_layout *lay, const double *theta, long atoms, const double *species,
                             double *dG)
{
    const int nf = lay->model->system->atomic->n_features;
    for (long i = 0; i < atoms; i++) {
        const double *inv = scaling_block(lay, theta, species, i) + nf;
        for (int k = 0; k < nf; k++) dG[i * nf + k] *= inv[k];
    }
}

int physm_atomic_net_energy(physm_atomic_net *net, const double *theta, long n, const double *species, double *G,
                            double *E, double *dE_dG, long *extrapolated)
{
    if (n < 0 || n > net->max_atoms) return -1;
    if (n == 0) return 0;
    const physm_layout *lay = net->lay;
    const physm_atomic *a = lay->model->system->atomic;
    const int nf = a->n_features;
    if (group(net, n, species)) return -1;
    long out = physm_atomic_scale(lay, theta, n, species, G);
    if (extrapolated) *extrapolated += out;
    memset(dE_dG, 0, sizeof(double) * (size_t)n * (size_t)nf); /* the features an element's network does not read */
    for (int e = 0; e < net->n_elements; e++) {
        const long lo = net->start[e], m = net->start[e + 1] - lo;
        const int wd = net->width[e];
        if (!m) continue;
        const double *w = theta + lay->offset[a->fields[e]];
        gather_rows(net, lo, lo + m, G, net->x, wd, nf);
        for (long q = 0; q < m; q++) net->ybar[q] = 1;
        if (physrt_mlp_tangent_forward_f64(net->mlp[e], w, (int)m, net->x, NULL, net->y, NULL) ||
            physrt_mlp_tangent_backward_f64(net->mlp[e], w, (int)m, net->ybar, NULL, NULL, net->xbar))
            return -1;
        scatter_rows(net, lo, lo + m, net->y, E, 1, 1);
        scatter_rows(net, lo, lo + m, net->xbar, dE_dG, wd, nf);
    }
    physm_atomic_scale_back(lay, theta, n, species, dE_dG);
    return 0;
}

int physm_atomic_net_train(physm_atomic_net *net, const double *theta, long n, const double *species,
                           const double *G_scaled, double *t, const double *E_bar, const double *t_bar, double *grad,
                           int after_energy)
{
    if (n < 0 || n > net->max_atoms) return -1;
    if (n == 0) return 0;
    const physm_layout *lay = net->lay;
    const physm_atomic *a = lay->model->system->atomic;
    const int nf = a->n_features;
    if (group(net, n, species)) return -1;
    if (t) physm_atomic_scale_back(lay, theta, n, species, t); /* the tangent of the scaled descriptors */
    for (int e = 0; e < net->n_elements; e++) {
        const long lo = net->start[e], m = net->start[e + 1] - lo;
        const int wd = net->width[e];
        if (!m) continue;
        const size_t off = lay->offset[a->fields[e]];
        gather_rows(net, lo, lo + m, G_scaled, net->x, wd, nf);
        gather_rows(net, lo, lo + m, E_bar, net->ybar, 1, 1);
        if (t) gather_rows(net, lo, lo + m, t, net->t, wd, nf), gather_rows(net, lo, lo + m, t_bar, net->tbar, 1, 1);
        /* after physm_atomic_net_energy on these atoms: its values stay, only the tangent goes forward */
        if ((after_energy ? t && physrt_mlp_tangent_retangent_f64(net->mlp[e], theta + off, (int)m, net->t)
                          : physrt_mlp_tangent_forward_f64(net->mlp[e], theta + off, (int)m, net->x, t ? net->t : NULL,
                                                           net->y, net->y + m)) ||
            physrt_mlp_tangent_backward_f64(net->mlp[e], theta + off, (int)m, net->ybar, t ? net->tbar : NULL,
                                            grad + off, NULL))
            return -1;
    }
    return 0;
}

int physm_atomic_net_hvp(physm_atomic_net *net, const double *theta, long n, const double *species,
                         const double *G_scaled, double *t, double *out)
{
    if (n < 0 || n > net->max_atoms) return -1;
    if (n == 0) return 0;
    const physm_layout *lay = net->lay;
    const physm_atomic *a = lay->model->system->atomic;
    const int nf = a->n_features;
    if (group(net, n, species)) return -1;
    physm_atomic_scale_back(lay, theta, n, species, t); /* the tangent of the scaled descriptors */
    memset(out, 0, sizeof(double) * (size_t)n * (size_t)nf);
    for (int e = 0; e < net->n_elements; e++) {
        const long lo = net->start[e], m = net->start[e + 1] - lo;
        const int wd = net->width[e];
        if (!m) continue;
        const double *w = theta + lay->offset[a->fields[e]];
        gather_rows(net, lo, lo + m, G_scaled, net->x, wd, nf);
        gather_rows(net, lo, lo + m, t, net->t, wd, nf);
        for (long q = 0; q < m; q++) net->ybar[q] = 0, net->tbar[q] = 1;
        /* the reverse sweep of the stream dy = grad . t from dy_bar = 1 gives H t */
        if (physrt_mlp_tangent_forward_f64(net->mlp[e], w, (int)m, net->x, net->t, net->y, net->y + m) ||
            physrt_mlp_tangent_backward_f64(net->mlp[e], w, (int)m, net->ybar, net->tbar, NULL, net->xbar))
            return -1;
        scatter_rows(net, lo, lo + m, net->xbar, out, wd, nf);
    }
    physm_atomic_scale_back(lay, theta, n, species, out); /* back to the unscaled descriptors */
    return 0;
}
