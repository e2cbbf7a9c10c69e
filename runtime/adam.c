/* adam.c - Adam optimiser with bias correction and learning-rate schedules,
 * for float32 and float64 parameter arrays. */
#include "physrt.h"

#include <math.h>
#include <stdlib.h>

double physrt_lr_at(const physrt_lr_schedule *sched, long step)
{
    if (!sched) return 0;
    if (step < 0) step = 0;
    switch (sched->kind) {
    case PHYSRT_LR_EXPONENTIAL: {
        long n = sched->decay_steps > 0 ? sched->decay_steps : 1;
        return sched->lr * pow(sched->decay_rate, (double)step / (double)n);
    }
    case PHYSRT_LR_STEP: {
        long n = sched->decay_steps > 0 ? sched->decay_steps : 1;
        return sched->lr * pow(sched->decay_rate, (double)(step / n));
    }
    case PHYSRT_LR_COSINE: {
        const double pi = 3.14159265358979323846;
        long total = sched->total_steps > 0 ? sched->total_steps : 1;
        double frac = (double)(step < total ? step : total) / (double)total;
        return sched->lr_min + 0.5 * (sched->lr - sched->lr_min) * (1 + cos(pi * frac));
    }
    case PHYSRT_LR_CONSTANT:
    default:
        return sched->lr;
    }
}

void physrt_adam_default_options(physrt_adam_options *opts)
{
    if (!opts) return;
    opts->beta1 = 0.9;
    opts->beta2 = 0.999;
    opts->eps = 1e-8;
    opts->schedule.kind = PHYSRT_LR_CONSTANT;
    opts->schedule.lr = 1e-3;
    opts->schedule.decay_rate = 1;
    opts->schedule.decay_steps = 1;
    opts->schedule.lr_min = 0;
    opts->schedule.total_steps = 1;
}

struct physrt_adam {
    size_t n;
    physrt_adam_options opts;
    long step;
    double *m, *v;      /* first and second moments */
};

physrt_adam *physrt_adam_create(size_t n, const physrt_adam_options *opts)
{
    if (n == 0) return NULL;
    physrt_adam *adam = calloc(1, sizeof *adam);
    if (!adam) return NULL;
    adam->n = n;
    if (opts) adam->opts = *opts;
    else physrt_adam_default_options(&adam->opts);
    adam->m = calloc(n, sizeof *adam->m);
    adam->v = calloc(n, sizeof *adam->v);
    if (!adam->m || !adam->v) {
        physrt_adam_destroy(adam);
        return NULL;
    }
    return adam;
}

void physrt_adam_destroy(physrt_adam *adam)
{
    if (!adam) return;
    free(adam->m);
    free(adam->v);
    free(adam);
}

void physrt_adam_reset(physrt_adam *adam)
{
    if (!adam) return;
    adam->step = 0;
    for (size_t q = 0; q < adam->n; q++) adam->m[q] = adam->v[q] = 0;
}

long physrt_adam_steps(const physrt_adam *adam)
{
    return adam ? adam->step : 0;
}

/* Both precisions share the update; bias corrections fold into one step
 * size and one eps, as in Kingma & Ba (Algorithm 1). */
#define DEFINE_ADAM_STEP(REAL, SUFFIX)                                               \
    void physrt_adam_step_##SUFFIX(physrt_adam *adam, REAL *params, const REAL *grad) \
    {                                                                                \
        if (!adam || !params || !grad) return;                                       \
        const double b1 = adam->opts.beta1, b2 = adam->opts.beta2;                   \
        const double lr = physrt_lr_at(&adam->opts.schedule, adam->step);            \
        adam->step++;                                                                \
        const double c1 = 1 - pow(b1, (double)adam->step);                           \
        const double c2 = 1 - pow(b2, (double)adam->step);                           \
        const double step_size = lr / c1, inv_sqrt_c2 = 1 / sqrt(c2);               \
        const double eps = adam->opts.eps;                                           \
        double *restrict m = adam->m, *restrict v = adam->v;                         \
        for (size_t q = 0; q < adam->n; q++) {                                       \
            const double g = grad[q];                                                \
            m[q] = b1 * m[q] + (1 - b1) * g;                                         \
            v[q] = b2 * v[q] + (1 - b2) * g * g;                                     \
            params[q] -= (REAL)(step_size * m[q] / (sqrt(v[q]) * inv_sqrt_c2 + eps)); \
        }                                                                            \
    }

DEFINE_ADAM_STEP(double, f64)
DEFINE_ADAM_STEP(float, f32)
