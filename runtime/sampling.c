/* sampling.c - collocation-point samplers into a box: uniform random, Latin
 * hypercube and Sobol (Joe-Kuo direction numbers, Gray-code order). */
#include "physrt.h"

static int box_ok(int n, int dim, const double *lo, const double *hi, const void *out)
{
    if (n < 0 || dim < 1 || !lo || !hi || (n > 0 && !out)) return 0;
    for (int d = 0; d < dim; d++)
        if (!(lo[d] <= hi[d])) return 0;
    return 1;
}

#define DEFINE_UNIFORM(REAL, SUFFIX)                                              \
    int physrt_sample_uniform_##SUFFIX(physrt_rng *rng, int n, int dim,           \
                                       const double *lo, const double *hi,        \
                                       REAL *out)                                 \
    {                                                                             \
        if (!rng || !box_ok(n, dim, lo, hi, out)) return PHYSRT_EINVAL;           \
        for (int p = 0; p < n; p++)                                               \
            for (int d = 0; d < dim; d++)                                         \
                out[(size_t)p * dim + d] =                                        \
                    (REAL)(lo[d] + (hi[d] - lo[d]) * physrt_rng_uniform(rng));    \
        return PHYSRT_OK;                                                         \
    }

DEFINE_UNIFORM(double, f64)
DEFINE_UNIFORM(float, f32)

/* Latin hypercube. Each dimension's column first holds the stratum indices
 * 0..n-1, shuffled in place (Fisher-Yates), then becomes the jittered
 * coordinate, so no scratch memory is needed. */
int physrt_sample_lhs_f64(physrt_rng *rng, int n, int dim, const double *lo,
                          const double *hi, double *out)
{
    if (!rng || !box_ok(n, dim, lo, hi, out)) return PHYSRT_EINVAL;
    for (int d = 0; d < dim; d++) {
        for (int p = 0; p < n; p++) out[(size_t)p * dim + d] = p;
        for (int p = n - 1; p > 0; p--) {
            int q = (int)physrt_rng_below(rng, (uint64_t)p + 1);
            double tmp = out[(size_t)p * dim + d];
            out[(size_t)p * dim + d] = out[(size_t)q * dim + d];
            out[(size_t)q * dim + d] = tmp;
        }
        for (int p = 0; p < n; p++) {
            double u = (out[(size_t)p * dim + d] + physrt_rng_uniform(rng)) / n;
            out[(size_t)p * dim + d] = lo[d] + (hi[d] - lo[d]) * u;
        }
    }
    return PHYSRT_OK;
}

int physrt_sample_lhs_f32(physrt_rng *rng, int n, int dim, const double *lo,
                          const double *hi, float *out)
{
    if (!rng || !box_ok(n, dim, lo, hi, out)) return PHYSRT_EINVAL;
    /* same algorithm as the f64 version; stratum indices held in float are
     * exact up to 2^24 points */
    if (n > (1 << 24)) return PHYSRT_EINVAL;
    for (int d = 0; d < dim; d++) {
        for (int p = 0; p < n; p++) out[(size_t)p * dim + d] = (float)p;
        for (int p = n - 1; p > 0; p--) {
            int q = (int)physrt_rng_below(rng, (uint64_t)p + 1);
            float tmp = out[(size_t)p * dim + d];
            out[(size_t)p * dim + d] = out[(size_t)q * dim + d];
            out[(size_t)q * dim + d] = tmp;
        }
        for (int p = 0; p < n; p++) {
            double u = ((double)out[(size_t)p * dim + d] + physrt_rng_uniform(rng)) / n;
            out[(size_t)p * dim + d] = (float)(lo[d] + (hi[d] - lo[d]) * u);
        }
    }
    return PHYSRT_OK;
}

/* Joe & Kuo, new-joe-kuo-6.21201, dimensions 2..21: degree s, polynomial
 * coefficients a, initial direction integers m_1..m_s. Dimension 1 is the
 * van der Corput sequence (all m = 1). */
static const struct {
    int s, a;
    unsigned m[7];
} joe_kuo[PHYSRT_SOBOL_MAX_DIM - 1] = {
    {1, 0, {1}},
    {2, 1, {1, 3}},
    {3, 1, {1, 3, 1}},
    {3, 2, {1, 1, 1}},
    {4, 1, {1, 1, 3, 3}},
    {4, 4, {1, 3, 5, 13}},
    {5, 2, {1, 1, 5, 5, 17}},
    {5, 4, {1, 1, 5, 5, 5}},
    {5, 7, {1, 1, 7, 11, 19}},
    {5, 11, {1, 1, 5, 1, 1}},
    {5, 13, {1, 1, 1, 3, 11}},
    {5, 14, {1, 3, 5, 5, 31}},
    {6, 1, {1, 3, 3, 9, 7, 49}},
    {6, 13, {1, 1, 1, 15, 21, 21}},
    {6, 16, {1, 3, 1, 13, 27, 49}},
    {6, 19, {1, 1, 1, 15, 7, 5}},
    {6, 22, {1, 3, 1, 15, 13, 25}},
    {6, 25, {1, 1, 5, 5, 19, 61}},
    {7, 1, {1, 3, 7, 11, 23, 15, 103}},
    {7, 4, {1, 3, 7, 13, 13, 15, 69}},
};

int physrt_sobol_init(physrt_sobol *sob, int dim, int skip_first)
{
    if (!sob || dim < 1 || dim > PHYSRT_SOBOL_MAX_DIM) return PHYSRT_EINVAL;
    sob->dim = dim;
    sob->index = 0;
    /* v[k] holds direction number k+1 scaled to 32 bits: m_k / 2^k */
    for (int k = 0; k < 32; k++) sob->v[0][k] = 1u << (31 - k);
    for (int d = 1; d < dim; d++) {
        const int s = joe_kuo[d - 1].s, a = joe_kuo[d - 1].a;
        uint32_t *v = sob->v[d];
        for (int k = 0; k < s; k++) v[k] = joe_kuo[d - 1].m[k] << (31 - k);
        for (int k = s; k < 32; k++) {
            uint32_t x = v[k - s] ^ (v[k - s] >> s);
            for (int r = 1; r < s; r++)
                if ((a >> (s - 1 - r)) & 1) x ^= v[k - r];
            v[k] = x;
        }
    }
    for (int d = 0; d < dim; d++) sob->x[d] = 0;
    if (skip_first) {
        double discard[PHYSRT_SOBOL_MAX_DIM];
        physrt_sobol_next(sob, discard);
    }
    return PHYSRT_OK;
}

void physrt_sobol_next(physrt_sobol *sob, double *point)
{
    /* point n (n >= 1) = point n-1 xor v[c], c = lowest zero bit of n-1 */
    if (sob->index > 0) {
        uint32_t m = sob->index - 1;
        int c = 0;
        while (m & 1) {
            m >>= 1;
            c++;
        }
        for (int d = 0; d < sob->dim; d++) sob->x[d] ^= sob->v[d][c];
    }
    sob->index++;
    for (int d = 0; d < sob->dim; d++) point[d] = (double)sob->x[d] * 0x1.0p-32;
}

/* Point j of the sequence is the xor of v[b] over the bits b of gray(j) =
 * j ^ (j >> 1); next() then goes on from point index - 1. */
void physrt_sobol_skip(physrt_sobol *sob, uint64_t k)
{
    const uint32_t target = sob->index + (uint32_t)k;
    if (target == 0) {   /* back at the start */
        sob->index = 0;
        for (int d = 0; d < sob->dim; d++) sob->x[d] = 0;
        return;
    }
    const uint32_t gray = (target - 1) ^ ((target - 1) >> 1);
    for (int d = 0; d < sob->dim; d++) {
        uint32_t x = 0;
        for (int b = 0; b < 32; b++)
            if (gray >> b & 1) x ^= sob->v[d][b];
        sob->x[d] = x;
    }
    sob->index = target;
}

#define DEFINE_SOBOL_BOX(REAL, SUFFIX)                                               \
    int physrt_sample_sobol_##SUFFIX(physrt_sobol *sob, int n, const double *lo,    \
                                     const double *hi, REAL *out)                    \
    {                                                                                \
        if (!sob || !box_ok(n, sob->dim, lo, hi, out)) return PHYSRT_EINVAL;         \
        double u[PHYSRT_SOBOL_MAX_DIM];                                              \
        for (int p = 0; p < n; p++) {                                                \
            physrt_sobol_next(sob, u);                                               \
            for (int d = 0; d < sob->dim; d++)                                       \
                out[(size_t)p * sob->dim + d] = (REAL)(lo[d] + (hi[d] - lo[d]) * u[d]); \
        }                                                                            \
        return PHYSRT_OK;                                                            \
    }

DEFINE_SOBOL_BOX(double, f64)
DEFINE_SOBOL_BOX(float, f32)
