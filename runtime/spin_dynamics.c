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
            if (i >= m->clamp_lo && i < m->clamp_hi) continue;
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
    physrt_rng_seed_stream(&rng, seed, (uint64_t)sweep, 0, 0);
    long flips = 0, held = m->clamp_hi - m->clamp_lo, n_free = m->n - held;
    for (long k = 0; k < n_free; k++) {
        long i = (long)physrt_rng_below(&rng, (uint64_t)n_free); /* a free spin: skip the clamped range */
        if (i >= m->clamp_lo) i += held;
        double dE = 2 * s[i] * spin_local_field(m, s, i);
        if (physrt_rng_uniform(&rng) < acceptance(dE, T, alg)) {
            s[i] = (int8_t)-s[i];
            flips++;
        }
    }
    return flips;
}

enum { LATTICE_TASKS = 16, LANES = 16 };

/* LANES xoshiro128+ generators side by side (one per vector lane): a row's
 * uniform 32-bit numbers in one vectorised loop. Seeded from a task's
 * stream key through splitmix, so a row's numbers depend on the key only. */
typedef struct {
    uint32_t s0[LANES], s1[LANES], s2[LANES], s3[LANES];
} lane_rng;

static void lane_rng_seed(lane_rng *g, uint64_t seed, long sweep, int colour, int task)
{
    physrt_rng r;
    physrt_rng_seed_stream(&r, seed, (uint64_t)sweep, (uint64_t)colour, (uint64_t)task);
    for (int l = 0; l < LANES; l++) {
        uint64_t a = physrt_rng_next_u64(&r), b = physrt_rng_next_u64(&r);
        g->s0[l] = (uint32_t)a | 1u; /* never all zero */
        g->s1[l] = (uint32_t)(a >> 32);
        g->s2[l] = (uint32_t)b;
        g->s3[l] = (uint32_t)(b >> 32);
    }
}

SPIN_HOT_KERNEL
static void lane_rng_fill(lane_rng *restrict g, uint32_t *restrict out, long n)
{
    for (long k = 0; k < n; k += LANES)
        for (int l = 0; l < LANES; l++) {
            uint32_t r = g->s0[l] + g->s3[l], t = g->s1[l] << 9;
            g->s2[l] ^= g->s0[l];
            g->s3[l] ^= g->s1[l];
            g->s1[l] ^= g->s2[l];
            g->s0[l] ^= g->s3[l];
            g->s2[l] ^= t;
            g->s3[l] = (g->s3[l] << 11) | (g->s3[l] >> 21);
            out[k + l] = r;
        }
}

/* One colour of one row of a 2-D lattice with a uniform field: sites whose
 * column has parity `parity` flip when u <= thr[s > 0][(sum + 4) / 2]
 * (thresholds on 32 bits: acceptance p as floor(p 2^32), p = 1 as
 * 2^32 - 1). The new row goes to out; up, down, row are read only. */
/* Branch-free, so that the row loop vectorises: masks select the threshold. */
static inline __attribute__((always_inline)) int8_t site_update(int si, int sum, uint32_t u, int mine,
                                                               const uint32_t *tp, const uint32_t *tm, long *flips)
{
    uint32_t up = (uint32_t)-(si > 0), thr = 0;
    for (int k = 0; k < 5; k++) thr |= (uint32_t)-(sum == 2 * k - 4) & ((up & tp[k]) | (~up & tm[k]));
    int flip = mine & (thr >= u);
    *flips += flip;
    return (int8_t)(si - 2 * si * flip);
}

SPIN_HOT_KERNEL
static long row_update(const int8_t *restrict up, const int8_t *restrict down, const int8_t *restrict row,
                       int8_t *restrict out, const uint32_t *restrict u, long L, int parity,
                       const uint32_t *restrict tp_in, const uint32_t *restrict tm_in)
{
    uint32_t tp[5], tm[5]; /* in registers: the selects vectorise, a table lookup would be a gather */
    for (int k = 0; k < 5; k++) tp[k] = tp_in[k], tm[k] = tm_in[k];
    long flips = 0;
    out[0] = site_update(row[0], up[0] + down[0] + row[L - 1] + row[1], u[0], parity == 0, tp, tm, &flips);
    for (long b = 1; b < L - 1; b++)
        out[b] = site_update(row[b], up[b] + down[b] + row[b - 1] + row[b + 1], u[b], (int)(b & 1) == parity, tp,
                             tm, &flips);
    out[L - 1] = site_update(row[L - 1], up[L - 1] + down[L - 1] + row[L - 2] + row[0], u[L - 1],
                             (int)((L - 1) & 1) == parity, tp, tm, &flips);
    return flips;
}

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
    uint32_t tp[5], tm[5];      /* the same on 32 bits for the 2-D rows (sum = -4, -2, .., 4) */
    long flips[LATTICE_TASKS];
} colour_ctx;

static void colour_task(void *vctx, int task, int n_tasks)
{
    colour_ctx *cx = vctx;
    const spin_model *m = cx->m;
    int8_t *s = cx->s;
    physrt_rng rng;
    physrt_rng_seed_stream(&rng, cx->seed, (uint64_t)cx->sweep, (uint64_t)cx->colour, (uint64_t)task);
    long a0 = cx->rows * task / n_tasks, a1 = cx->rows * (task + 1) / n_tasks, flips = 0;
    long L0 = m->side[0], L1 = m->side[1], L2 = m->side[2];
    long plane = L1 * L2;
    if (m->lattice_dims == 2 && m->uniform) {
        lane_rng g;
        lane_rng_seed(&g, cx->seed, cx->sweep, cx->colour, task);
        uint32_t *u = malloc(((size_t)L1 + LANES) * sizeof *u);
        int8_t *out = malloc((size_t)L1);
        if (!u || !out) {
            free(u), free(out);
            cx->flips[task] = -1;
            return;
        }
        for (long a = a0; a < a1; a++) {
            int8_t *row = s + a * L1;
            lane_rng_fill(&g, u, L1);
            flips += row_update(s + ((a + 1) % L0) * L1, s + ((a + L0 - 1) % L0) * L1, row, out, u, L1,
                                (int)((cx->colour + a) & 1), cx->tp, cx->tm);
            memcpy(row, out, (size_t)L1);
        }
        free(u), free(out);
        cx->flips[task] = flips;
        return;
    }
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
            if (k >= -4 && k <= 4 && !(k & 1)) {
                double p = acceptance(2 * si * (m->pair_scale * k + m->field[0]), T, alg);
                uint32_t t32 = p >= 1 ? UINT32_MAX : (uint32_t)(p * 4294967296.0);
                (up ? cx.tp : cx.tm)[(k + 4) / 2] = t32;
            }
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
        for (int t = 0; t < n_tasks; t++) {
            if (cx.flips[t] < 0) return -1; /* out of memory */
            flips += cx.flips[t];
        }
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
    physrt_rng_seed_stream(&rng, seed, (uint64_t)sweep, 2, 0);
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
