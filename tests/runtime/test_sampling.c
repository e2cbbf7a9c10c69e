/* Sampling: Sobol against the known first points, skip of the first point,
 * physrt_sobol_skip against calls of next,
 * Sobol stratification; Latin hypercube has exactly one point per stratum
 * per dimension; uniform points stay in the box; seeds reproduce; normal
 * variates have mean 0 and variance 1. */
#include "check.h"
#include "physrt.h"

#include <stdlib.h>
#include <string.h>

int main(void)
{
    /* Sobol in Gray-code order, first points of dimensions 1..3 after the zero
     * point (dimension 3: s=2, a=1, m=(1,3)) */
    physrt_sobol sob;
    CHECK(physrt_sobol_init(&sob, 8, 0) == PHYSRT_OK, "init 8 dims");
    double pt[PHYSRT_SOBOL_MAX_DIM];
    physrt_sobol_next(&sob, pt);
    int zero = 1;
    for (int d = 0; d < 8; d++) zero &= pt[d] == 0;
    CHECK(zero, "first Sobol point is 0");
    const double d1[] = {0.5, 0.75, 0.25, 0.375, 0.875, 0.625, 0.125};
    const double d2[] = {0.5, 0.25, 0.75, 0.375, 0.875, 0.125, 0.625};
    const double d3[] = {0.5, 0.25, 0.75, 0.625, 0.125, 0.875, 0.375};
    for (int k = 0; k < 7; k++) {
        physrt_sobol_next(&sob, pt);
        CHECK(pt[0] == d1[k] && pt[1] == d2[k], "point %d: (%g, %g)", k + 1, pt[0], pt[1]);
        CHECK(pt[2] == d3[k], "point %d dim 3: %g want %g", k + 1, pt[2], d3[k]);
    }
    CHECK(physrt_sobol_init(&sob, 21, 1) == PHYSRT_OK, "init 21 dims, skip");
    physrt_sobol_next(&sob, pt);
    int half = 1;
    for (int d = 0; d < 21; d++) half &= pt[d] == 0.5;
    CHECK(half, "skip_first starts at (0.5, ...)");
    CHECK(physrt_sobol_init(&sob, 22, 0) == PHYSRT_EINVAL, "22 dims rejected");
    /* skip(k) lands where k calls of next do, from the start and midway */
    for (int from = 0; from < 3; from++) {
        physrt_sobol a, b;
        physrt_sobol_init(&a, 5, from == 1);
        physrt_sobol_init(&b, 5, from == 1);
        for (int k = 0; k < 37 * from; k++) {
            physrt_sobol_next(&a, pt);
            physrt_sobol_next(&b, pt);
        }
        const int k = 1000 + 333 * from;
        for (int j = 0; j < k; j++) physrt_sobol_next(&a, pt);
        physrt_sobol_skip(&b, (uint64_t)k);
        double pa[5], pb[5];
        int same = 1;
        for (int j = 0; j < 3; j++) {
            physrt_sobol_next(&a, pa);
            physrt_sobol_next(&b, pb);
            same &= !memcmp(pa, pb, sizeof pa);
        }
        CHECK(same && a.index == b.index, "skip(%d) from %d differs from %d calls of next", k, 37 * from, k);
    }
    /* (0, m, s)-net property per dimension: the first 2^m points hit every
     * interval [k/2^m, (k+1)/2^m) once in each coordinate */
    {
        const int m = 10, n = 1 << m, dim = 21;
        double *pts = malloc((size_t)n * dim * sizeof *pts);
        double lo[21], hi[21];
        for (int d = 0; d < dim; d++) { lo[d] = 0; hi[d] = 1; }
        physrt_sobol_init(&sob, dim, 0);
        physrt_sample_sobol_f64(&sob, n, lo, hi, pts);
        int ok = 1;
        char *seen = calloc((size_t)n, 1);
        for (int d = 0; d < dim; d++) {
            memset(seen, 0, (size_t)n);
            for (int p = 0; p < n; p++) {
                int k = (int)(pts[(size_t)p * dim + d] * n);
                ok &= !seen[k];
                seen[k] = 1;
            }
        }
        CHECK(ok, "one Sobol point per 1/1024 interval in each of 21 dimensions");
        /* 2-d projection of dims 1,2: each of the 32x32 squares once */
        int cells[32][32] = {{0}};
        for (int p = 0; p < n; p++)
            cells[(int)(pts[(size_t)p * dim] * 32)][(int)(pts[(size_t)p * dim + 1] * 32)]++;
        ok = 1;
        for (int a = 0; a < 32; a++)
            for (int b = 0; b < 32; b++) ok &= cells[a][b] == 1;
        CHECK(ok, "dims 1-2 form a (0,10,2)-net");
        free(seen);
        free(pts);
    }

    /* Latin hypercube */
    {
        const int n = 97, dim = 4;
        const double lo[4] = {-1, 0, 2, -5}, hi[4] = {1, 1, 3, 5};
        double *a = malloc(n * dim * sizeof *a), *b = malloc(n * dim * sizeof *b);
        physrt_rng r1, r2;
        physrt_rng_seed(&r1, 1234);
        physrt_rng_seed(&r2, 1234);
        physrt_sample_lhs_f64(&r1, n, dim, lo, hi, a);
        physrt_sample_lhs_f64(&r2, n, dim, lo, hi, b);
        CHECK(memcmp(a, b, n * dim * sizeof *a) == 0, "LHS seed reproduces");
        int ok = 1;
        for (int d = 0; d < dim; d++) {
            int count[97] = {0};
            for (int p = 0; p < n; p++) {
                double u = (a[p * dim + d] - lo[d]) / (hi[d] - lo[d]);
                int k = (int)floor(u * n);
                ok &= k >= 0 && k < n;
                if (k >= 0 && k < n) count[k]++;
            }
            for (int k = 0; k < n; k++) ok &= count[k] == 1;
        }
        CHECK(ok, "LHS: exactly one point per stratum per dimension");
        physrt_rng_seed(&r2, 1235);
        physrt_sample_lhs_f64(&r2, n, dim, lo, hi, b);
        CHECK(memcmp(a, b, n * dim * sizeof *a) != 0, "other seed differs");
        float *af = malloc(n * dim * sizeof *af);
        physrt_rng_seed(&r1, 1234);
        physrt_sample_lhs_f32(&r1, n, dim, lo, hi, af);
        ok = 1;
        for (int q = 0; q < n * dim; q++) ok &= af[q] == (float)a[q];
        CHECK(ok, "LHS f32 is the f64 sample rounded");
        free(af);

        /* uniform: inside the box, reproducible */
        physrt_rng_seed(&r1, 99);
        physrt_sample_uniform_f64(&r1, n, dim, lo, hi, a);
        physrt_rng_seed(&r1, 99);
        physrt_sample_uniform_f64(&r1, n, dim, lo, hi, b);
        CHECK(memcmp(a, b, n * dim * sizeof *a) == 0, "uniform seed reproduces");
        ok = 1;
        for (int p = 0; p < n; p++)
            for (int d = 0; d < dim; d++) ok &= a[p * dim + d] >= lo[d] && a[p * dim + d] < hi[d];
        CHECK(ok, "uniform inside the box");
        CHECK(physrt_sample_uniform_f64(&r1, n, dim, hi, lo, a) == PHYSRT_EINVAL, "inverted box rejected");
        free(a);
        free(b);
    }

    /* RNG moments and bounded integers */
    {
        physrt_rng r;
        physrt_rng_seed(&r, 5);
        const int n = 200000;
        double s = 0, s2 = 0, u = 0;
        for (int i = 0; i < n; i++) {
            double z = physrt_rng_normal(&r);
            s += z;
            s2 += z * z;
            u += physrt_rng_uniform(&r);
        }
        double mean = s / n, var = s2 / n - mean * mean;
        CHECK(fabs(mean) < 0.01 && fabs(var - 1) < 0.02, "normal mean %g var %g", mean, var);
        CHECK(fabs(u / n - 0.5) < 0.005, "uniform mean %g", u / n);
        int counts[7] = {0};
        for (int i = 0; i < 70000; i++) counts[physrt_rng_below(&r, 7)]++;
        int ok = 1;
        for (int k = 0; k < 7; k++) ok &= abs(counts[k] - 10000) < 500;
        CHECK(ok, "rng_below uniform");
    }
    return check_summary("runtime_sampling");
}
