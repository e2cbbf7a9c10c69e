/* rng.c - xoshiro256** random numbers seeded through splitmix64, with
 * uniform, bounded-integer and normal variates. State lives in the caller's
 * physrt_rng, never in globals. */
#include "physrt.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void physrt_rng_seed(physrt_rng *rng, uint64_t seed)
{
    uint64_t sm = seed;
    for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&sm);
    rng->has_spare_normal = 0;
    rng->spare_normal = 0;
}

void physrt_rng_seed_stream(physrt_rng *rng, uint64_t seed, uint64_t step, uint64_t part, uint64_t task)
{
    uint64_t sm = seed, key = splitmix64(&sm);
    sm = key ^ step;
    key = splitmix64(&sm);
    sm = key ^ part;
    key = splitmix64(&sm);
    sm = key ^ task;
    physrt_rng_seed(rng, splitmix64(&sm));
}

uint64_t physrt_rng_next_u64(physrt_rng *rng)
{
    uint64_t *s = rng->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double physrt_rng_uniform(physrt_rng *rng)
{
    return (double)(physrt_rng_next_u64(rng) >> 11) * 0x1.0p-53;
}

uint64_t physrt_rng_below(physrt_rng *rng, uint64_t n)
{
    if (n <= 1) return 0;
    /* reject the top partial block so every residue is equally likely */
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t r;
    do r = physrt_rng_next_u64(rng); while (r >= limit);
    return r % n;
}

double physrt_rng_normal(physrt_rng *rng)
{
    if (rng->has_spare_normal) {
        rng->has_spare_normal = 0;
        return rng->spare_normal;
    }
    double u, v, s;
    do {
        u = 2 * physrt_rng_uniform(rng) - 1;
        v = 2 * physrt_rng_uniform(rng) - 1;
        s = u * u + v * v;
    } while (s >= 1 || s == 0);
    const double f = sqrt(-2 * log(s) / s);
    rng->spare_normal = v * f;
    rng->has_spare_normal = 1;
    return u * f;
}
