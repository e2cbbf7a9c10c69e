/* bench_ising: Metropolis spin-flip attempts per second on a periodic
 * L x L lattice at T_c = 2 / ln(1 + sqrt 2), in one run: the multi-spin
 * coded sweep (spin_packed_sweep, what `sample` runs on a uniform lattice)
 * and the byte-per-spin checkerboard sweep (spin_sweep), each on 1 and on
 * `threads` threads, against a plain C reference loop (one thread,
 * typewriter order, the same acceptance table). With a third side, the
 * same for an L x L x L lattice at T = 4.5115 (near the 3-D T_c).
 * Usage: bench_ising [L] [sweeps] [threads] [3]. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "spin_internal.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* CPU seconds of every thread of the process: against the wall time it
 * says how much of the cores a run had on a shared machine. */
static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double cpu_share; /* of the last measurement: CPU seconds / wall seconds */

/* The reference: the textbook loop (2-D, or 3-D with side[2] > 1). */
static long reference_sweep(int8_t *s, const long *side, const double *accept, physrt_rng *rng)
{
    long flips = 0, A = side[0], B = side[1], C = side[2];
    for (long a = 0; a < A; a++)
        for (long b = 0; b < B; b++)
            for (long c = 0; c < C; c++) {
                long i = (a * B + b) * C + c;
                int sum = s[(((a + 1) % A) * B + b) * C + c] + s[(((a + A - 1) % A) * B + b) * C + c] +
                          s[(a * B + (b + 1) % B) * C + c] + s[(a * B + (b + B - 1) % B) * C + c];
                if (C > 1) sum += s[(a * B + b) * C + (c + 1) % C] + s[(a * B + b) * C + (c + C - 1) % C];
                int k = s[i] * sum; /* dE = 2 k */
                if (k <= 0 || physrt_rng_uniform(rng) < accept[k]) {
                    s[i] = (int8_t)-s[i];
                    flips++;
                }
            }
    return flips;
}

/* Attempts per second of `sweeps` sweeps after 5 unmeasured ones. */
static double rate_packed(const spin_model *m, double T, long sweeps, physrt_pool *pool, double *e)
{
    spin_packed p;
    int8_t *s = malloc((size_t)m->n);
    for (long i = 0; i < m->n; i++) s[i] = 1;
    if (!s || spin_packed_init(&p, m, SPIN_METROPOLIS)) {
        fprintf(stderr, "bench_ising: the packed sweep does not take this lattice\n");
        exit(1);
    }
    spin_packed_load(&p, s);
    for (long k = 0; k < 5; k++) spin_packed_sweep(&p, T, SPIN_METROPOLIS, 1, k, pool);
    double t0 = now(), c0 = cpu();
    for (long k = 0; k < sweeps; k++) spin_packed_sweep(&p, T, SPIN_METROPOLIS, 1, 5 + k, pool);
    double t = now() - t0;
    cpu_share = (cpu() - c0) / t;
    *e = spin_packed_energy(&p) / (double)m->n;
    spin_packed_free(&p);
    free(s);
    return (double)m->n * (double)sweeps / t;
}

static double rate_bytes(const spin_model *m, double T, long sweeps, physrt_pool *pool, double *e)
{
    int8_t *s = malloc((size_t)m->n);
    for (long i = 0; i < m->n; i++) s[i] = 1;
    for (long k = 0; k < 5; k++) spin_sweep(m, s, T, SPIN_METROPOLIS, 1, k, pool);
    double t0 = now(), c0 = cpu();
    for (long k = 0; k < sweeps; k++) spin_sweep(m, s, T, SPIN_METROPOLIS, 1, 5 + k, pool);
    double t = now() - t0;
    cpu_share = (cpu() - c0) / t;
    *e = spin_energy(m, s) / (double)m->n;
    free(s);
    return (double)m->n * (double)sweeps / t;
}

int main(int argc, char **argv)
{
    long L = argc > 1 ? atol(argv[1]) : 1024, sweeps = argc > 2 ? atol(argv[2]) : 20;
    int threads = argc > 3 ? atoi(argv[3]) : 2, dims = argc > 4 ? atoi(argv[4]) : 2;
    if (L < 2 || L % 2 || sweeps < 1 || threads < 1 || (dims != 2 && dims != 3)) {
        fprintf(stderr, "usage: bench_ising [L (even)] [sweeps] [threads] [2|3]\n");
        return 2;
    }
    const double T = dims == 2 ? 2 / log(1 + sqrt(2.0)) : 4.5115;
    spin_model m = {.n = dims == 2 ? L * L : L * L * L, .lattice_dims = dims, .side = {L, L, dims == 2 ? 1 : L},
                    .pair_scale = 1.0, .uniform = 1};
    m.field = calloc((size_t)m.n, sizeof *m.field);
    int8_t *r = malloc((size_t)m.n);
    physrt_pool *one = physrt_pool_create(1), *many = physrt_pool_create(threads);
    for (long i = 0; i < m.n; i++) r[i] = 1;
    double accept[7];
    for (int k = 0; k < 7; k++) accept[k] = exp(-2 * k / T);
    physrt_rng rng;
    physrt_rng_seed(&rng, 1);
    for (long k = 0; k < 5; k++) reference_sweep(r, m.side, accept, &rng);
    double t0 = now(), c0 = cpu();
    for (long k = 0; k < sweeps; k++) reference_sweep(r, m.side, accept, &rng);
    double t = now() - t0, ref = (double)m.n * (double)sweeps / t, e_ref = spin_energy(&m, r) / (double)m.n;
    cpu_share = (cpu() - c0) / t;
    printf("lattice %ld^%d at T = %.4f, %ld sweeps (attempts/s; energy per spin after the run; cores used: CPU time\n"
           "over wall time, below the threads when others share the machine)\n", L, dims, T, sweeps);
    printf("plain C loop, 1 thread:           %.3g (e = %.4f)             cores %.2f\n", ref, e_ref, cpu_share);
    for (int pass = 0; pass < 2; pass++) {
        physrt_pool *pool = pass ? many : one;
        int t = pass ? threads : 1;
        double e, rp = rate_packed(&m, T, sweeps, pool, &e);
        printf("multi-spin coding, %d thread%s:     %.3g (e = %.4f)  ratio %5.1f  cores %.2f\n", t, t == 1 ? " " : "s", rp,
               e, rp / ref, cpu_share);
        double rb = rate_bytes(&m, T, sweeps, pool, &e);
        printf("byte checkerboard, %d thread%s:     %.3g (e = %.4f)  ratio %5.1f  cores %.2f\n", t, t == 1 ? " " : "s", rb,
               e, rb / ref, cpu_share);
    }
    physrt_pool_destroy(one);
    physrt_pool_destroy(many);
    free(m.field), free(r);
    return 0;
}
