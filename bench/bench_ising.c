/* bench_ising: Metropolis spin-flip attempts per second on a periodic
 * L x L lattice at T_c = 2 / ln(1 + sqrt 2): the runtime's checkerboard
 * sweep (spin_sweep: both colours, tasks on the pool) against a plain C
 * reference loop (one thread, typewriter order, the same acceptance
 * table), in one run. Usage: bench_ising [L] [sweeps] [threads]. */
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

/* The reference: the textbook loop. */
static long reference_sweep(int8_t *s, long L, const double *accept, physrt_rng *rng)
{
    long flips = 0;
    for (long a = 0; a < L; a++)
        for (long b = 0; b < L; b++) {
            long i = a * L + b;
            int sum = s[((a + 1) % L) * L + b] + s[((a + L - 1) % L) * L + b] + s[a * L + (b + 1) % L] +
                      s[a * L + (b + L - 1) % L];
            int k = s[i] * sum; /* dE = 2 k */
            if (k <= 0 || physrt_rng_uniform(rng) < accept[k]) {
                s[i] = (int8_t)-s[i];
                flips++;
            }
        }
    return flips;
}

int main(int argc, char **argv)
{
    long L = argc > 1 ? atol(argv[1]) : 1024, sweeps = argc > 2 ? atol(argv[2]) : 20;
    int threads = argc > 3 ? atoi(argv[3]) : 2;
    const double Tc = 2 / log(1 + sqrt(2.0));
    spin_model m = {.n = L * L, .lattice_dims = 2, .side = {L, L, 1}, .pair_scale = 1.0, .uniform = 1};
    m.field = calloc((size_t)m.n, sizeof *m.field);
    int8_t *s = malloc((size_t)m.n), *r = malloc((size_t)m.n);
    physrt_pool *pool = physrt_pool_create(threads);
    for (long i = 0; i < m.n; i++) s[i] = r[i] = 1;
    double accept[5] = {1, 1, exp(-4 / Tc), 1, exp(-8 / Tc)};
    physrt_rng rng;
    physrt_rng_seed(&rng, 1);
    for (long k = 0; k < 5; k++) spin_sweep(&m, s, Tc, SPIN_METROPOLIS, 1, k, pool), reference_sweep(r, L, accept, &rng);
    double t0 = now();
    for (long k = 0; k < sweeps; k++) spin_sweep(&m, s, Tc, SPIN_METROPOLIS, 1, 5 + k, pool);
    double t1 = now();
    for (long k = 0; k < sweeps; k++) reference_sweep(r, L, accept, &rng);
    double t2 = now();
    double attempts = (double)m.n * (double)sweeps;
    double rt = attempts / (t1 - t0), ref = attempts / (t2 - t1);
    printf("lattice %ld x %ld at T_c, %ld sweeps, %d threads\n", L, L, sweeps, threads);
    printf("runtime checkerboard: %.3g attempts/s (e = %.4f)\n", rt, spin_energy(&m, s) / m.n);
    printf("plain C loop:         %.3g attempts/s (e = %.4f)\n", ref, spin_energy(&m, r) / m.n);
    printf("ratio %.2f\n", rt / ref);
    physrt_pool_destroy(pool);
    free(m.field), free(s), free(r);
    return 0;
}
