/* spin_observables.c - Monte Carlo estimates of a spin model at one
 * temperature: |m|, the energy per spin, the susceptibility
 * chi = n (<m^2> - <|m|>^2) / T, the specific heat c = n (<e^2> - <e>^2) / T^2
 * and the Binder cumulant U = 1 - <m^4> / (3 <m^2>^2), with m and e per
 * spin. Error bars by blocking: the measured sweeps are cut into blocks,
 * each estimate is taken per block, and the error is the standard
 * deviation of the block estimates over sqrt(blocks). */
#include "spin_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MOMENTS = 5, MAX_BLOCKS = 32 };

/* moments: |m|, m^2, m^4, e, e^2 */
static void estimates(const double *mom, long n, double T, double *v)
{
    v[0] = mom[0];
    v[1] = mom[3];
    v[2] = n * (mom[1] - mom[0] * mom[0]) / T;
    v[3] = n * (mom[4] - mom[3] * mom[3]) / (T * T);
    v[4] = mom[1] > 0 ? 1 - mom[2] / (3 * mom[1] * mom[1]) : 0;
}

/* A uniform lattice runs on packed bits (spin_multispin.c), anything else
 * on s through spin_sweep. */
typedef struct {
    const spin_model *m;
    int8_t *s;
    spin_packed packed;
    int is_packed;
} sampler;

static long sampler_sweep(sampler *sp, double T, spin_algorithm alg, uint64_t seed, long sweep, physrt_pool *pool)
{
    return sp->is_packed ? spin_packed_sweep(&sp->packed, T, alg, seed, sweep, pool)
                         : spin_sweep(sp->m, sp->s, T, alg, seed, sweep, pool);
}

static int sample_with(sampler *sp, double T, spin_algorithm alg, long sweeps, long burn_in, uint64_t seed,
                       physrt_pool *pool, FILE *samples, long every, spin_stats *out)
{
    const spin_model *m = sp->m;
    int8_t *s = sp->s;
    long sweep = 0, flips = 0, burn_flips = 0, per = 1;
    for (; sweep < burn_in; sweep++) {
        long f = sampler_sweep(sp, T, alg, seed, sweep, pool);
        if (f < 0) return -1;
        burn_flips += f;
    }
    /* Wolff: a measurement every `per` clusters, fixed after the burn-in so
     * that about n spins flip between measurements */
    if (alg == SPIN_WOLFF && burn_flips > 0) per = (long)ceil((double)m->n * (double)burn_in / (double)burn_flips);
    if (per > m->n) per = m->n;
    int blocks = sweeps >= 2 * MAX_BLOCKS ? MAX_BLOCKS : (int)(sweeps / 2 > 1 ? sweeps / 2 : 1);
    double block[MAX_BLOCKS][MOMENTS], total[MOMENTS] = {0};
    /* measurements per block, counted: they differ by one when blocks does not divide sweeps */
    long in_block[MAX_BLOCKS] = {0};
    memset(block, 0, sizeof block);
    double E = sp->is_packed ? spin_packed_energy(&sp->packed) : spin_energy(m, s);
    for (long k = 0; k < sweeps; k++, sweep++) {
        long f = 0;
        for (long c = 0; c < per; c++, sweep += c < per) {
            long fc = sampler_sweep(sp, T, alg, seed, sweep, pool);
            if (fc < 0) return -1;
            f += fc;
        }
        flips += f;
        if (f) E = sp->is_packed ? spin_packed_energy(&sp->packed) : spin_energy(m, s);
        long M = sp->is_packed ? spin_packed_magnetisation(&sp->packed) : spin_magnetisation(m, s);
        double mag = (double)M / (double)m->n, e = E / (double)m->n, m2 = mag * mag;
        double x[MOMENTS] = {fabs(mag), m2, m2 * m2, e, e * e};
        int b = (int)(k * blocks / sweeps);
        in_block[b]++;
        for (int j = 0; j < MOMENTS; j++) {
            block[b][j] += x[j];
            total[j] += x[j];
        }
        if (samples && k % every == 0) {
            if (sp->is_packed) spin_packed_store(&sp->packed, s);
            for (long i = 0; i < m->n; i++) fputs(s[i] > 0 ? (i ? ",1" : "1") : (i ? ",-1" : "-1"), samples);
            fputc('\n', samples);
        }
    }
    for (int j = 0; j < MOMENTS; j++) total[j] /= (double)sweeps;
    out->T = T;
    estimates(total, m->n, T, out->value);
    double sum[MOMENTS] = {0}, sq[MOMENTS] = {0};
    for (int b = 0; b < blocks; b++) {
        double mom[MOMENTS], v[MOMENTS];
        for (int j = 0; j < MOMENTS; j++) mom[j] = block[b][j] / (double)(in_block[b] > 0 ? in_block[b] : 1);
        estimates(mom, m->n, T, v);
        for (int j = 0; j < MOMENTS; j++) {
            sum[j] += v[j];
            sq[j] += v[j] * v[j];
        }
    }
    for (int j = 0; j < MOMENTS; j++) {
        double mean = sum[j] / blocks, var = blocks > 1 ? (sq[j] / blocks - mean * mean) * blocks / (blocks - 1) : 0;
        out->error[j] = sqrt(var > 0 ? var / blocks : 0);
    }
    out->acceptance = (double)flips / ((double)sweeps * (double)m->n); /* Wolff: spins flipped per spin and measurement */
    return 0;
}

int spin_sample_at(const spin_model *m, int8_t *s, double T, spin_algorithm alg, long sweeps, long burn_in,
                   uint64_t seed, physrt_pool *pool, FILE *samples, long every, spin_stats *out)
{
    sampler sp = {.m = m, .s = s};
    int r = spin_packed_init(&sp.packed, m, alg);
    if (r < 0) return -1;
    sp.is_packed = r == 0;
    if (sp.is_packed) spin_packed_load(&sp.packed, s);
    r = sample_with(&sp, T, alg, sweeps, burn_in, seed, pool, samples, every, out);
    if (sp.is_packed) {
        spin_packed_store(&sp.packed, s);
        spin_packed_free(&sp.packed);
    }
    return r;
}
