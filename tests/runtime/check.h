/* check.h - minimal assertion helpers for the runtime tests: count failures,
 * print what differed, exit non-zero at the end. */
#ifndef PHYSRT_TEST_CHECK_H
#define PHYSRT_TEST_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_failures;
static int check_count;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        check_count++;                                                     \
        if (!(cond)) {                                                     \
            check_failures++;                                              \
            fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

/* |got - want| <= tol * max(|want|, floor): relative error with a floor
 * for quantities that can be (nearly) zero. */
static inline int close_rel(double got, double want, double tol, double floor_)
{
    double scale = fabs(want) > floor_ ? fabs(want) : floor_;
    return fabs(got - want) <= tol * scale;
}

static inline double rel_err(double got, double want, double floor_)
{
    double scale = fabs(want) > floor_ ? fabs(want) : floor_;
    return fabs(got - want) / scale;
}

static inline int check_summary(const char *name)
{
    if (check_failures) {
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, check_failures, check_count);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, check_count);
    return 0;
}

/* 8th-order central difference weights for f'(x) with step h:
 * f' ~ sum_k w_k (f(x+kh) - f(x-kh)) / h, k = 1..4. */
static const double fd8_weights[4] = {4.0 / 5, -1.0 / 5, 4.0 / 105, -1.0 / 280};

#endif
