/* adapt.c - what changes while Adam trains: adaptive loss weights and the
 * residual-based adaptive sampling of a term's points (physm_weight_rule,
 * physm_adapt_method in physmodel.h).
 *
 * Weights. The loss already takes one reverse sweep per (term, part) task,
 * so each term's gradient is the sum of its tasks' (physm_loss_term_grads):
 * an update costs no extra sweep. From the weighted gradients G_j = w_j g_j
 * a due term i gets w_hat from its rule and w_i <- (1 - alpha) w_i + alpha
 * w_hat; a w_hat that is not finite (a term whose gradient vanishes) leaves
 * w_i as it is. PHYSM_WEIGHT_AUTO (the default of a model without schedule
 * and weights) is grad_norm.
 *
 * Sampling. A round's candidates come from the term's sampler and region
 * (physm_term_candidates), their residuals from float64 evaluations in fixed
 * chunks of CHUNK points (the same numbers whatever the thread count), and
 * m of them are picked without replacement with probabilities proportional
 * to the density p = |r|^k / mean |r|^k + c (Efraimidis-Spirakis: the m
 * largest keys log(u) / p, u uniform from the round's seed). RAD puts them
 * at the positions of a fixed, evenly spread share of the points (the rest
 * keep their first values), RAR-D appends them. */
#include "model_internal.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK = 256 };

/* ------------------------------------------------------------ weights */

int physm_weights_due(const physm_model *m, long pos)
{
    for (int t = 0; t < m->n_terms; t++) {
        const physm_term *term = &m->terms[t];
        if (term->weight_rule != PHYSM_WEIGHT_FIXED && pos % (term->weight_every > 0 ? term->weight_every : 100) == 0)
            return 1;
    }
    return 0;
}

static double norm2(const double *v, size_t n)
{
    double s = 0;
    for (size_t q = 0; q < n; q++) s += v[q] * v[q];
    return sqrt(s);
}

void physm_weights_update(const physm_model *m, long pos, size_t n, const double *term_grad, double *weights,
                          double *scratch)
{
    /* grad_norm: the sum of the terms' norms, unweighted for adaptive terms */
    double sum_norms = 0;
    for (int j = 0; j < m->n_terms; j++) {
        const double gn = norm2(term_grad + (size_t)j * n, n);
        sum_norms += m->terms[j].weight_rule != PHYSM_WEIGHT_FIXED ? (weights[j] > 0 ? gn / weights[j] : 0) : gn;
    }
    /* annealing: the largest entry of the fixed terms' gradient */
    memset(scratch, 0, n * sizeof *scratch);
    for (int j = 0; j < m->n_terms; j++)
        if (m->terms[j].weight_rule == PHYSM_WEIGHT_FIXED)
            for (size_t q = 0; q < n; q++) scratch[q] += term_grad[(size_t)j * n + q];
    double max_fixed = 0;
    for (size_t q = 0; q < n; q++) max_fixed = fmax(max_fixed, fabs(scratch[q]));
    for (int i = 0; i < m->n_terms; i++) {
        const physm_term *term = &m->terms[i];
        const long every = term->weight_every > 0 ? term->weight_every : 100;
        if (term->weight_rule == PHYSM_WEIGHT_FIXED || pos % every != 0 || !(weights[i] > 0)) continue;
        const double *g = term_grad + (size_t)i * n;
        double w_hat;
        if (term->weight_rule == PHYSM_WEIGHT_ANNEALING) {
            double mean_abs = 0;
            for (size_t q = 0; q < n; q++) mean_abs += fabs(g[q]);
            mean_abs /= (double)n * weights[i];
            w_hat = max_fixed / mean_abs;
        } else {
            w_hat = sum_norms / (norm2(g, n) / weights[i]);
        }
        const double alpha = term->weight_alpha > 0 ? term->weight_alpha : 0.1;
        if (isfinite(w_hat) && w_hat > 0) weights[i] = (1 - alpha) * weights[i] + alpha * w_hat;
    }
}

/* ------------------------------------------------------------ sampling */

int physm_resample_due(const physm_term *t, long pos)
{
    return t->adapt != PHYSM_ADAPT_NONE && t->adapt_every > 0 && pos > 0 && pos % t->adapt_every == 0;
}

typedef struct {
    const physm_layout *lay;
    const physm_term *term;
    const double *theta, *points;
    int n;
    physm_term_eval **ev;         /* one per thread */
    atomic_int *busy;
    int n_ev;
    double *r;                    /* per chunk: n_residuals x CHUNK */
    double *size;                 /* n: |r| of each point */
    atomic_int failed;
} residual_job;

static void residual_chunk(void *ctx, int k, int n_tasks)
{
    (void)n_tasks;
    residual_job *job = ctx;
    int e = 0;
    while (atomic_exchange(&job->busy[e], 1)) e = (e + 1) % job->n_ev;
    const int p0 = k * CHUNK, np = job->n - p0 < CHUNK ? job->n - p0 : CHUNK;
    const int nr = job->term->n_residuals;
    double *r = job->r + (size_t)e * nr * CHUNK;
    if (physm_term_eval_run(job->ev[e], job->theta, job->points + (size_t)p0 * job->term->n_coords, np, r))
        atomic_store(&job->failed, 1);
    for (int p = 0; p < np; p++) {
        double s = 0;
        for (int j = 0; j < nr; j++) s += r[j * np + p] * r[j * np + p];
        job->size[p0 + p] = sqrt(s);
    }
    atomic_store(&job->busy[e], 0);
}

/* |r| at each of n points, on every thread of pool. */
static int residual_sizes(const physm_layout *lay, const physm_term *term, const double *theta,
                          const double *points, int n, physrt_pool *pool, double *size)
{
    const int n_ev = physrt_pool_n_threads(pool) > 0 ? physrt_pool_n_threads(pool) : 1;
    residual_job job = {.lay = lay, .term = term, .theta = theta, .points = points, .n = n,
                        .ev = calloc((size_t)n_ev, sizeof(physm_term_eval *)),
                        .busy = calloc((size_t)n_ev, sizeof(atomic_int)), .n_ev = n_ev,
                        .r = malloc(((size_t)n_ev * term->n_residuals * CHUNK + 1) * sizeof(double)), .size = size};
    atomic_init(&job.failed, 0);
    int rc = -1;
    if (!job.ev || !job.busy || !job.r) {
        fprintf(stderr, "%s: error: out of memory for the residuals of term '%s'\n", lay->prog, term->name);
        goto done;
    }
    for (int e = 0; e < n_ev; e++) {
        atomic_init(&job.busy[e], 0);
        if (!(job.ev[e] = physm_term_eval_create(lay, term, CHUNK))) goto done;
    }
    physrt_pool_run(pool, (n + CHUNK - 1) / CHUNK, residual_chunk, &job);
    rc = atomic_load(&job.failed) ? -1 : 0;
    if (rc) fprintf(stderr, "%s: error: cannot evaluate the residuals of term '%s'\n", lay->prog, term->name);
done:
    for (int e = 0; job.ev && e < n_ev; e++) physm_term_eval_destroy(job.ev[e]);
    free(job.ev);
    free(job.busy);
    free(job.r);
    return rc;
}

typedef struct {
    double key;
    int index;
} pick;

static int by_key(const void *a, const void *b)
{
    const pick *x = a, *y = b;
    if (x->key != y->key) return x->key > y->key ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static int by_index(const void *a, const void *b)
{
    const pick *x = a, *y = b;
    return (x->index > y->index) - (x->index < y->index);
}

int physm_resample(const physm_layout *lay, int ti, uint64_t seed, long round, const double *theta,
                   physrt_pool *pool, double **points, int *n_points)
{
    const physm_term *t = &lay->model->terms[ti];
    const int nc = t->n_coords, n = *n_points;
    const double fraction = t->adapt_fraction > 0 && t->adapt_fraction <= 1 ? t->adapt_fraction : 1;
    int m = (int)lround(fraction * (t->adapt == PHYSM_ADAPT_RARD ? t->n_points : n));
    const int n_pool = t->adapt_pool > 0 ? t->adapt_pool : 10 * t->n_points;
    if (m > n_pool) m = n_pool;
    if (m < 1) return 0;
    if (t->adapt == PHYSM_ADAPT_RARD && (long)n + m > 0x7fffffff / (nc > 0 ? nc : 1)) return 0;   /* full */
    double *cand = NULL, *size = malloc(((size_t)n_pool + 1) * sizeof *size);
    pick *picks = malloc(((size_t)n_pool + 1) * sizeof *picks);
    double *out = NULL;
    int rc = -1;
    if (!size || !picks) goto oom;
    if (physm_term_candidates(lay, ti, seed, round, n_pool, &cand) ||
        residual_sizes(lay, t, theta, cand, n_pool, pool, size))
        goto done;
    const double k = t->adapt_k >= 0 ? t->adapt_k : 1, c = t->adapt_c >= 0 ? t->adapt_c : 1;
    double mean = 0;
    for (int p = 0; p < n_pool; p++) {
        size[p] = isfinite(size[p]) ? pow(size[p], k) : 0;
        mean += size[p];
    }
    mean /= n_pool;
    physrt_rng rng;
    physrt_rng_seed(&rng, physm_derive_seed(physm_derive_seed(seed, PHYSM_SEED_PICK, (uint64_t)ti),
                                            PHYSM_SEED_ROUND, (uint64_t)round));
    for (int p = 0; p < n_pool; p++) {
        const double density = mean > 0 && isfinite(mean) ? size[p] / mean + c : 1;
        const double u = 1 - physrt_rng_uniform(&rng);   /* (0, 1] */
        picks[p].key = density > 0 ? log(u) / density : -INFINITY;
        picks[p].index = p;
    }
    qsort(picks, (size_t)n_pool, sizeof *picks, by_key);
    qsort(picks, (size_t)m, sizeof *picks, by_index);   /* the chosen, in the pool's order */
    const int n_new = t->adapt == PHYSM_ADAPT_RARD ? n + m : n;
    out = malloc(((size_t)n_new * nc + 1) * sizeof *out);
    if (!out) goto oom;
    memcpy(out, *points, (size_t)n * nc * sizeof *out);
    if (t->adapt == PHYSM_ADAPT_RARD) {
        for (int j = 0; j < m; j++)
            memcpy(out + (size_t)(n + j) * nc, cand + (size_t)picks[j].index * nc, (size_t)nc * sizeof *out);
    } else {
        /* RAD: position i keeps its first point iff floor((i+1) keep / n) > floor(i keep / n) */
        const long keep = n - m;
        for (int i = 0, j = 0; i < n && j < m; i++)
            if ((long)(i + 1) * keep / n == (long)i * keep / n)
                memcpy(out + (size_t)i * nc, cand + (size_t)picks[j++].index * nc, (size_t)nc * sizeof *out);
    }
    free(*points);
    *points = out;
    *n_points = n_new;
    out = NULL;
    rc = 0;
    goto done;
oom:
    fprintf(stderr, "%s: error: out of memory resampling term '%s'\n", lay->prog, t->name);
done:
    free(out);
    free(cand);
    free(size);
    free(picks);
    return rc;
}
