/* spin_dynamics.c - local fields, energy and updates of a spin model:
 * zero-temperature asynchronous descent (recall), Metropolis and Glauber
 * sweeps (random sites on dense couplings; checkerboard colours on a
 * lattice, in parallel), and Wolff clusters on a lattice. A flip of s_i
 * changes the energy by dE = 2 s_i h_i. Every random number comes from a
 * stream keyed by (seed, sweep, colour, task) with a fixed number of tasks,
 * so a run depends on the seed only, not on the number of threads. */
#include "spin_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Coordinates of site i, the last side fastest. */
static void coords_of(const spin_model *m, long i, long *c)
{
    for (int k = m->lattice_dims - 1; k >= 0; k--) {
        c[k] = i % m->side[k];
        i /= m->side[k];
    }
}

static long site_of(const spin_model *m, const long *c)
{
    long i = 0;
    for (int k = 0; k < m->lattice_dims; k++) i = i * m->side[k] + c[k];
    return i;
}

/* The 2 * dims nearest neighbours of site i (periodic). */
static int neighbours(const spin_model *m, long i, long *out)
{
    long c[3];
    coords_of(m, i, c);
    int n = 0;
    for (int k = 0; k < m->lattice_dims; k++) {
        long keep = c[k];
        c[k] = (keep + 1) % m->side[k];
        out[n++] = site_of(m, c);
        c[k] = (keep + m->side[k] - 1) % m->side[k];
        out[n++] = site_of(m, c);
        c[k] = keep;
    }
    return n;
}

double spin_local_field(const spin_model *m, const int8_t *s, long i)
{
    double h = 0;
    if (m->lattice_dims) {
        long nb[6];
        int k = neighbours(m, i, nb), sum = 0;
        for (int j = 0; j < k; j++) sum += s[nb[j]];
        h = sum;
    } else if (m->W) {
        const double *w = m->W + (size_t)i * (size_t)m->n;
        for (long j = 0; j < m->n; j++) h += w[j] * s[j];
    }
    return m->pair_scale * h + m->field[i];
}

double spin_energy(const spin_model *m, const int8_t *s)
{
    double pair = 0, field = 0;
    for (long i = 0; i < m->n; i++) {
        field += m->field[i] * s[i];
        if (m->lattice_dims) {
            long nb[6];
            int k = neighbours(m, i, nb);
            for (int j = 0; j < k; j += 2) pair += s[i] * s[nb[j]]; /* forward neighbours: each bond once */
        } else if (m->W) {
            const double *w = m->W + (size_t)i * (size_t)m->n;
            double h = 0;
            for (long j = 0; j < m->n; j++) h += w[j] * s[j];
            pair += 0.5 * s[i] * h;
        }
    }
    return -m->pair_scale * pair - field;
}

long spin_magnetisation(const spin_model *m, const int8_t *s)
{
    long sum = 0;
    for (long i = 0; i < m->n; i++) sum += s[i];
    return sum;
}

long spin_descend(const spin_model *m, int8_t *s, physrt_rng *rng, long max_sweeps, int *converged)
{
    long *order = malloc((size_t)m->n * sizeof *order);
    long sweeps = 0;
    *converged = 0;
    if (!order) return -1;
    for (long i = 0; i < m->n; i++) order[i] = i;
    while (sweeps < max_sweeps) {
        for (long i = m->n - 1; i > 0; i--) {
            long j = (long)physrt_rng_below(rng, (uint64_t)i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        long flips = 0;
        for (long k = 0; k < m->n; k++) {
            long i = order[k];
            if (s[i] * spin_local_field(m, s, i) < 0) { /* dE = 2 s_i h_i < 0: never uphill, never sideways */
                s[i] = (int8_t)-s[i];
                flips++;
            }
        }
        sweeps++;
        if (!flips) {
            *converged = 1;
            break;
        }
    }
    free(order);
    return sweeps;
}

static uint64_t stream_key(uint64_t seed, long sweep, int colour, int task)
{
    uint64_t h = seed * 0x9E3779B97F4A7C15ull;
    h ^= (uint64_t)sweep + 0x632BE59BD9B4E019ull + (h << 6) + (h >> 2);
    h ^= (uint64_t)colour * 0xD6E8FEB86659FD93ull + (h << 6) + (h >> 2);
    h ^= (uint64_t)task * 0xA0761D6478BD642Full + (h << 6) + (h >> 2);
    return h;
}

/* Probability of accepting a flip that changes the energy by dE. */
static double acceptance(double dE, double T, spin_algorithm alg)
{
    if (alg == SPIN_GLAUBER) return 1 / (1 + exp(dE / T));
    return dE <= 0 ? 1 : exp(-dE / T);
}

/* A probability as a threshold on 53-bit uniform integers. */
static uint64_t threshold(double p)
{
    return p >= 1 ? (1ull << 53) : (uint64_t)(p * 9007199254740992.0);
}

static long dense_sweep(const spin_model *m, int8_t *s, double T, spin_algorithm alg, uint64_t seed, long sweep)
{
    physrt_rng rng;
    physrt_rng_seed(&rng, stream_key(seed, sweep, 0, 0));
    long flips = 0;
    for (long k = 0; k < m->n; k++) {
        long i = (long)physrt_rng_below(&rng, (uint64_t)m->n);
        double dE = 2 * s[i] * spin_local_field(m, s, i);
        if (physrt_rng_uniform(&rng) < acceptance(dE, T, alg)) {
            s[i] = (int8_t)-s[i];
            flips++;
        }
    }
    return flips;
}

enum { LATTICE_TASKS = 16 };

typedef struct {
    const spin_model *m;
    int8_t *s;
    double T;
    spin_algorithm alg;
    uint64_t seed;
    long sweep;
    int colour;
    long rows;                  /* of the first side, split among tasks */
    uint64_t table[2][13];      /* uniform field: threshold by (s_i > 0, sum of neighbours + 6) */
    long flips[LATTICE_TASKS];
} colour_ctx;

static void colour_task(void *vctx, int task, int n_tasks)
{
    colour_ctx *cx = vctx;
    const spin_model *m = cx->m;
    int8_t *s = cx->s;
    physrt_rng rng;
    physrt_rng_seed(&rng, stream_key(cx->seed, cx->sweep, cx->colour, task));
    long a0 = cx->rows * task / n_tasks, a1 = cx->rows * (task + 1) / n_tasks, flips = 0;
    long L0 = m->side[0], L1 = m->side[1], L2 = m->side[2];
    long plane = L1 * L2;
    for (long a = a0; a < a1; a++) {
        long up = ((a + 1) % L0) * plane, down = ((a + L0 - 1) % L0) * plane;
        for (long b = 0; b < L1; b++) {
            long bu = ((b + 1) % L1) * L2, bd = ((b + L1 - 1) % L1) * L2;
            long row = a * plane + b * L2;
            long c0 = (cx->colour + a + b) & 1;
            if (L2 == 1 && c0) continue; /* 2-D: (a + b) is the colour */
            for (long c = L2 == 1 ? 0 : c0; c < L2; c += L2 == 1 ? 1 : 2) {
                long i = row + c;
                int sum = s[up + b * L2 + c] + s[down + b * L2 + c] + s[a * plane + bu + c] + s[a * plane + bd + c];
                if (m->lattice_dims == 3) sum += s[row + (c + 1) % L2] + s[row + (c + L2 - 1) % L2];
                uint64_t u = physrt_rng_next_u64(&rng) >> 11, thr;
                if (m->uniform) thr = cx->table[s[i] > 0][sum + 6];
                else thr = threshold(acceptance(2 * s[i] * (m->pair_scale * sum + m->field[i]), cx->T, cx->alg));
                if (u < thr) {
                    s[i] = (int8_t)-s[i];
                    flips++;
                }
            }
        }
    }
    cx->flips[task] = flips;
}

static long lattice_sweep(const spin_model *m, int8_t *s, double T, spin_algorithm alg, uint64_t seed, long sweep,
                          physrt_pool *pool)
{
    colour_ctx cx = {.m = m, .s = s, .T = T, .alg = alg, .seed = seed, .sweep = sweep, .rows = m->side[0]};
    for (int up = 0; up < 2; up++)
        for (int k = -6; k <= 6; k++) {
            double si = up ? 1 : -1;
            cx.table[up][k + 6] = threshold(acceptance(2 * si * (m->pair_scale * k + m->field[0]), T, alg));
        }
    int even = 1;
    for (int k = 0; k < m->lattice_dims; k++) even &= m->side[k] % 2 == 0;
    /* an odd side wraps a colour onto itself: one task, in order */
    int n_tasks = even ? (int)(m->side[0] < LATTICE_TASKS ? m->side[0] : LATTICE_TASKS) : 1;
    physrt_pool *use = m->n >= (1L << 14) ? pool : NULL; /* small lattices: threads cost more than they give */
    long flips = 0;
    for (int colour = 0; colour < 2; colour++) {
        cx.colour = colour;
        physrt_pool_run(n_tasks > 1 ? use : NULL, n_tasks, colour_task, &cx); /* 2-D: side[2] = 1 */
        for (int t = 0; t < n_tasks; t++) flips += cx.flips[t];
    }
    return flips;
}

/* Wolff: grow a cluster of aligned neighbours from a random site, each
 * bond added with probability 1 - exp(-2 J / T), and flip it: one cluster
 * per call (a fixed count per measurement keeps the samples unbiased; a
 * count that depended on the clusters' sizes would not). Needs a
 * ferromagnetic lattice without fields. */
static long wolff_cluster(const spin_model *m, int8_t *s, double T, uint64_t seed, long sweep)
{
    physrt_rng rng;
    physrt_rng_seed(&rng, stream_key(seed, sweep, 2, 0));
    long *stack = malloc((size_t)m->n * sizeof *stack), flipped = 0;
    if (!stack) return -1;
    uint64_t add = threshold(1 - exp(-2 * m->pair_scale / T));
    long seed_site = (long)physrt_rng_below(&rng, (uint64_t)m->n), top = 0;
    int8_t old = s[seed_site];
    s[seed_site] = (int8_t)-old;
    stack[top++] = seed_site;
    flipped++;
    while (top) {
        long i = stack[--top], nb[6];
        int k = neighbours(m, i, nb);
        for (int j = 0; j < k; j++)
            if (s[nb[j]] == old && (physrt_rng_next_u64(&rng) >> 11) < add) {
                s[nb[j]] = (int8_t)-old;
                stack[top++] = nb[j];
                flipped++;
            }
    }
    free(stack);
    return flipped;
}

long spin_sweep(const spin_model *m, int8_t *s, double T, spin_algorithm alg, uint64_t seed, long sweep,
                physrt_pool *pool)
{
    if (alg == SPIN_WOLFF) return wolff_cluster(m, s, T, seed, sweep);
    if (m->lattice_dims) return lattice_sweep(m, s, T, alg, seed, sweep, pool);
    return dense_sweep(m, s, T, alg, seed, sweep);
}
