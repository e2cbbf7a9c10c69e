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
    physrt_mlp_tangent_f64 *mlp;
    double *ones;
};

physm_atomic_net *physm_atomic_net_create(const physm_layout *lay, long max_atoms)
{
    const physm_atomic *a = lay->model->system->atomic;
    physm_atomic_net *net = calloc(1, sizeof *net);
    if (!net) return NULL;
    net->lay = lay;
    net->max_atoms = max_atoms < 1 ? 1 : max_atoms;
    net->mlp = physrt_mlp_tangent_create_f64(&lay->descs[a->field], (int)net->max_atoms);
    net->ones = malloc(sizeof(double) * (size_t)net->max_atoms);
    if (!net->mlp || !net->ones) {
        physm_atomic_net_destroy(net);
        return NULL;
    }
    for (long i = 0; i < net->max_atoms; i++) net->ones[i] = 1;
    return net;
}

void physm_atomic_net_destroy(physm_atomic_net *net)
{
    if (!net) return;
    physrt_mlp_tangent_destroy_f64(net->mlp);
    free(net->ones);
    free(net);
}

long physm_atomic_scale(const physm_layout *lay, const double *theta, long atoms, double *G)
{
    const int nf = lay->model->system->atomic->n_features;
    const double *mean = theta + lay->scaling, *inv = mean + nf, *lo = inv + nf, *hi = lo + nf;
    long outside = 0;
    for (long i = 0; i < atoms; i++) {
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

void physm_atomic_scale_back(const physm_layout *lay, const double *theta, long atoms, double *dG)
{
    const int nf = lay->model->system->atomic->n_features;
    const double *inv = theta + lay->scaling + nf;
    for (long i = 0; i < atoms; i++)
        for (int k = 0; k < nf; k++) dG[i * nf + k] *= inv[k];
}

int physm_atomic_net_energy(physm_atomic_net *net, const double *theta, long n, double *G, double *E, double *dE_dG,
                            long *extrapolated)
{
    if (n < 0 || n > net->max_atoms) return -1;
    if (n == 0) return 0;
    const physm_layout *lay = net->lay;
    const double *w = theta + lay->offset[lay->model->system->atomic->field];
    long out = physm_atomic_scale(lay, theta, n, G);
    if (extrapolated) *extrapolated += out;
    if (physrt_mlp_tangent_forward_f64(net->mlp, w, (int)n, G, NULL, E, NULL) ||
        physrt_mlp_tangent_backward_f64(net->mlp, w, (int)n, net->ones, NULL, NULL, dE_dG))
        return -1;
    physm_atomic_scale_back(lay, theta, n, dE_dG);
    return 0;
}

int physm_atomic_net_train(physm_atomic_net *net, const double *theta, long n, const double *G_scaled, double *t,
                           const double *E_bar, const double *t_bar, double *grad)
{
    if (n < 0 || n > net->max_atoms) return -1;
    if (n == 0) return 0;
    const physm_layout *lay = net->lay;
    const size_t off = lay->offset[lay->model->system->atomic->field];
    if (t) physm_atomic_scale_back(lay, theta, n, t); /* the tangent of the scaled descriptors */
    double *y = malloc(sizeof(double) * 2 * (size_t)n);
    if (!y) return -1;
    int rc = physrt_mlp_tangent_forward_f64(net->mlp, theta + off, (int)n, G_scaled, t, y, y + n) ||
             physrt_mlp_tangent_backward_f64(net->mlp, theta + off, (int)n, E_bar, t ? t_bar : NULL, grad + off, NULL);
    free(y);
    return rc ? -1 : 0;
}
