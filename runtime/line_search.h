/* line_search.h - the strong Wolfe line search shared by the L-BFGS and the
 * dense quasi-Newton minimisers (line_search.c). Not a public header. */
#ifndef PHYSRT_LINE_SEARCH_H
#define PHYSRT_LINE_SEARCH_H

#include "physrt.h"

/* One line search's inputs and scratch; the caller owns every array. */
typedef struct {
    int n;
    physrt_objective_fn f;
    void *ctx;
    double c1, c2;            /* 0 < c1 < c2 < 1 */
    long max_evaluations;     /* 0 = unlimited */
    long evals;               /* objective calls so far (the caller's count too) */
    const double *g;          /* gradient at x */
    const double *d;          /* search direction, g.d < 0 */
    double *x_try, *g_try;    /* the last trial point */
    double *x_lo, *g_lo;      /* the best point with sufficient decrease */
    long not_finite;          /* trial points whose f or g.d was NaN or inf */
} physrt_line_search;

/* Line-search point: step, value, directional derivative. */
typedef struct {
    double a, f, df;
} physrt_ls_point;

typedef enum {
    PHYSRT_LS_WOLFE,          /* strong Wolfe point, in x_try / g_try */
    PHYSRT_LS_ARMIJO_ONLY,    /* sufficient decrease only, in x_lo / g_lo */
    PHYSRT_LS_FAILED,         /* no step with sufficient decrease */
    PHYSRT_LS_BUDGET_FAILED   /* the evaluation budget ran out first */
} physrt_ls_status;

double physrt_dot(int n, const double *a, const double *b);
int physrt_ls_budget_left(const physrt_line_search *ls);
/* Nocedal & Wright Algorithm 3.5 (with 3.6) from step a_init along d, from
 * x where f = f0. */
physrt_ls_status physrt_line_search_run(physrt_line_search *ls, const double *x, double f0, double a_init,
                                        physrt_ls_point *out);

#endif /* PHYSRT_LINE_SEARCH_H */
