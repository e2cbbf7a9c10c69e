/* spin_learn.c - the inverse Ising problem by pseudo-likelihood: given M
 * observed spin rows, minimise over the trainable couplings W (symmetric,
 * zero diagonal; the upper triangle is the unknown) and fields b
 *
 *     f = (1/M) sum_m sum_i [log 2 cosh h_i - s_i h_i] + l2 (|W|^2 + |b|^2),
 *     h_i = pair_scale (W s)_i + bias_scale b_i + uniform,
 *
 * the negative log of prod_i P(s_i | the other spins) at T = 1, with its
 * exact gradient df/dh_i = tanh h_i - s_i. */
#include "spin_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int spin_pl_size(const spin_pl_problem *p)
{
    return (int)((p->learn_W ? p->n * (p->n - 1) / 2 : 0) + (p->learn_b ? p->n : 0));
}

void spin_pl_unpack(const spin_pl_problem *p, const double *x, double *W, double *b)
{
    long n = p->n, k = 0;
    if (p->learn_W) {
        for (long i = 0; i < n; i++) {
            W[(size_t)i * (size_t)n + (size_t)i] = 0;
            for (long j = i + 1; j < n; j++, k++) W[(size_t)i * (size_t)n + (size_t)j] = W[(size_t)j * (size_t)n + (size_t)i] = x[k];
        }
    } else if (p->W0) {
        memcpy(W, p->W0, (size_t)n * (size_t)n * sizeof *W);
    } else {
        memset(W, 0, (size_t)n * (size_t)n * sizeof *W);
    }
    for (long i = 0; i < n; i++) b[i] = p->learn_b ? x[k + i] : p->b0 ? p->b0[i] : 0;
}

static double log_2cosh(double h)
{
    double a = fabs(h);
    return a + log1p(exp(-2 * a));
}

double spin_pl_objective(void *ctx, const double *x, double *grad)
{
    const spin_pl_problem *p = ctx;
    long n = p->n;
    double *W = malloc((size_t)n * (size_t)n * sizeof *W), *b = malloc((size_t)n * sizeof *b);
    double *gW = calloc((size_t)n * (size_t)n, sizeof *gW), *gb = calloc((size_t)n, sizeof *gb);
    double *g = malloc((size_t)n * sizeof *g);
    if (!W || !b || !gW || !gb || !g) {
        free(W), free(b), free(gW), free(gb), free(g);
        return NAN;
    }
    spin_pl_unpack(p, x, W, b);
    double f = 0;
    for (int m = 0; m < p->M; m++) {
        const int8_t *s = p->rows + (size_t)m * (size_t)n;
        for (long i = 0; i < n; i++) {
            const double *w = W + (size_t)i * (size_t)n;
            double h = 0;
            for (long j = 0; j < n; j++) h += w[j] * s[j];
            h = p->pair_scale * h + p->bias_scale * b[i] + p->uniform;
            f += log_2cosh(h) - s[i] * h;
            g[i] = tanh(h) - s[i];
            gb[i] += g[i];
        }
        for (long i = 0; i < n; i++) {
            double *row = gW + (size_t)i * (size_t)n;
            for (long j = 0; j < n; j++) row[j] += g[i] * s[j];
        }
    }
    double inv = 1.0 / p->M, reg = 0;
    long k = 0;
    if (p->learn_W)
        for (long i = 0; i < n; i++)
            for (long j = i + 1; j < n; j++, k++) {
                /* W_ij = W_ji enters h_i through s_j and h_j through s_i */
                grad[k] = inv * p->pair_scale * (gW[(size_t)i * (size_t)n + (size_t)j] + gW[(size_t)j * (size_t)n + (size_t)i]) +
                          2 * p->l2 * x[k];
                reg += x[k] * x[k];
            }
    if (p->learn_b)
        for (long i = 0; i < n; i++) {
            grad[k + i] = inv * p->bias_scale * gb[i] + 2 * p->l2 * x[k + i];
            reg += x[k + i] * x[k + i];
        }
    free(W), free(b), free(gW), free(gb), free(g);
    return inv * f + p->l2 * reg;
}
