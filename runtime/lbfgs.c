/* lbfgs.c - limited-memory BFGS (two-loop recursion, history m) with a
 * strong Wolfe line search (line_search.c), float64.
 *
 * Stopping is only ever for a stated reason: an iteration limit, an
 * evaluation budget, a tolerance the caller set, or a line search that
 * cannot decrease f even along steepest descent after the history was
 * reset. A failed quasi-Newton step never ends the run by itself. */
#include "line_search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void physrt_lbfgs_default_options(physrt_lbfgs_options *opts)
{
    if (!opts) return;
    opts->history = 10;
    opts->max_iterations = 1000;
    opts->max_evaluations = 0;
    opts->grad_tol = 1e-10;
    opts->rel_f_tol = 0;
    opts->c1 = 1e-4;
    opts->c2 = 0.9;
}

const char *physrt_lbfgs_reason_string(physrt_lbfgs_reason reason)
{
    switch (reason) {
    case PHYSRT_LBFGS_GRAD_TOL: return "gradient norm below grad_tol";
    case PHYSRT_LBFGS_REL_F_TOL: return "relative change of f below rel_f_tol";
    case PHYSRT_LBFGS_MAX_ITERATIONS: return "max_iterations reached";
    case PHYSRT_LBFGS_MAX_EVALUATIONS: return "max_evaluations reached";
    case PHYSRT_LBFGS_LINE_SEARCH_FAILED:
        return "line search found no decrease along steepest descent";
    case PHYSRT_LBFGS_NOT_FINITE: return "f or gradient not finite at the start point";
    case PHYSRT_LBFGS_INVALID: return "invalid arguments or out of memory";
    }
    return "unknown";
}

/* Everything one minimisation needs; one allocation, owned by the call. */
typedef struct {
    int n, m;
    physrt_line_search ls;
    double *g, *d, *S, *Y, *rho, *alpha;
    int hist_count, hist_next;     /* ring buffer of (s, y) pairs */
} lbfgs_state;

/* d = -H g by the two-loop recursion with H0 = (s'y / y'y) I. */
static void lbfgs_direction(lbfgs_state *st)
{
    const int n = st->n;
    double *q = st->d;
    for (int i = 0; i < n; i++) q[i] = -st->g[i];
    for (int h = 0; h < st->hist_count; h++) {
        int k = (st->hist_next - 1 - h + st->m) % st->m;
        const double *s = st->S + (size_t)k * n;
        st->alpha[k] = st->rho[k] * physrt_dot(n, s, q);
        const double *y = st->Y + (size_t)k * n;
        for (int i = 0; i < n; i++) q[i] -= st->alpha[k] * y[i];
    }
    if (st->hist_count > 0) {
        int k = (st->hist_next - 1 + st->m) % st->m;
        const double *y = st->Y + (size_t)k * n;
        double gamma = 1 / (st->rho[k] * physrt_dot(n, y, y));
        for (int i = 0; i < n; i++) q[i] *= gamma;
    }
    for (int h = st->hist_count - 1; h >= 0; h--) {
        int k = (st->hist_next - 1 - h + st->m) % st->m;
        const double *y = st->Y + (size_t)k * n;
        double beta = st->rho[k] * physrt_dot(n, y, q);
        const double *s = st->S + (size_t)k * n;
        for (int i = 0; i < n; i++) q[i] += (st->alpha[k] - beta) * s[i];
    }
}

int physrt_lbfgs_minimize(int n, double *x, physrt_objective_fn f, void *ctx,
                          const physrt_lbfgs_options *opts, physrt_lbfgs_report *report)
{
    physrt_lbfgs_options defaults;
    physrt_lbfgs_default_options(&defaults);
    const physrt_lbfgs_options *o = opts ? opts : &defaults;
    physrt_lbfgs_report rep = {PHYSRT_LBFGS_INVALID, 0, 0, NAN, NAN};
    if (n < 1 || !x || !f || o->history < 1 || o->max_iterations < 1 ||
        o->max_evaluations < 0 || !(o->c1 > 0 && o->c1 < o->c2 && o->c2 < 1)) {
        if (report) *report = rep;
        return PHYSRT_EINVAL;
    }
    lbfgs_state st;
    memset(&st, 0, sizeof st);
    st.n = n;
    st.m = o->history;
    st.ls.n = n;
    st.ls.f = f;
    st.ls.ctx = ctx;
    st.ls.c1 = o->c1;
    st.ls.c2 = o->c2;
    st.ls.max_evaluations = o->max_evaluations;
    const size_t nn = (size_t)n, mm = (size_t)o->history;
    double *block = malloc((6 * nn + 2 * mm * nn + 2 * mm) * sizeof(double));
    if (!block) {
        if (report) *report = rep;
        return PHYSRT_ENOMEM;
    }
    st.g = block;
    st.d = st.g + nn;
    st.ls.g = st.g;
    st.ls.d = st.d;
    st.ls.x_try = st.d + nn;
    st.ls.g_try = st.ls.x_try + nn;
    st.ls.x_lo = st.ls.g_try + nn;
    st.ls.g_lo = st.ls.x_lo + nn;
    st.S = st.ls.g_lo + nn;
    st.Y = st.S + mm * nn;
    st.rho = st.Y + mm * nn;
    st.alpha = st.rho + mm;

    double fx = f(ctx, x, st.g);
    st.ls.evals = 1;
    double gnorm = sqrt(physrt_dot(n, st.g, st.g));
    int iter = 0;
    physrt_lbfgs_reason reason;
    if (!isfinite(fx) || !isfinite(gnorm)) {
        reason = PHYSRT_LBFGS_NOT_FINITE;
        goto done;
    }
    for (;;) {
        if (gnorm == 0 || (o->grad_tol > 0 && gnorm <= o->grad_tol)) {
            reason = PHYSRT_LBFGS_GRAD_TOL;
            break;
        }
        if (iter >= o->max_iterations) { reason = PHYSRT_LBFGS_MAX_ITERATIONS; break; }
        st.ls.max_evaluations = o->max_evaluations; /* read at every iteration: a caller may lower it to stop */
        if (!physrt_ls_budget_left(&st.ls)) { reason = PHYSRT_LBFGS_MAX_EVALUATIONS; break; }

        lbfgs_direction(&st);
        double a_init = 1;
        if (st.hist_count == 0 || !(physrt_dot(n, st.g, st.d) < 0)) {
            /* steepest descent, first step of unit length in x */
            st.hist_count = 0;
            for (int i = 0; i < n; i++) st.d[i] = -st.g[i];
            a_init = fmin(1, 1 / gnorm);
        }
        physrt_ls_point acc;
        physrt_ls_status ls = physrt_line_search_run(&st.ls, x, fx, a_init, &acc);
        if (ls == PHYSRT_LS_FAILED || ls == PHYSRT_LS_BUDGET_FAILED) {
            if (ls == PHYSRT_LS_BUDGET_FAILED) { reason = PHYSRT_LBFGS_MAX_EVALUATIONS; break; }
            if (st.hist_count > 0) {     /* retry from scratch along -g */
                st.hist_count = 0;
                continue;
            }
            reason = PHYSRT_LBFGS_LINE_SEARCH_FAILED;
            break;
        }
        const double *x_new = ls == PHYSRT_LS_WOLFE ? st.ls.x_try : st.ls.x_lo;
        const double *g_new = ls == PHYSRT_LS_WOLFE ? st.ls.g_try : st.ls.g_lo;
        /* store (s, y) when the curvature is safely positive */
        double *s = st.S + (size_t)st.hist_next * nn, *y = st.Y + (size_t)st.hist_next * nn;
        for (int i = 0; i < n; i++) {
            s[i] = x_new[i] - x[i];
            y[i] = g_new[i] - st.g[i];
        }
        double sy = physrt_dot(n, s, y), yy = physrt_dot(n, y, y);
        if (sy > 1e-12 * yy && yy > 0) {
            st.rho[st.hist_next] = 1 / sy;
            st.hist_next = (st.hist_next + 1) % st.m;
            if (st.hist_count < st.m) st.hist_count++;
        }
        double f_prev = fx;
        memcpy(x, x_new, nn * sizeof(double));
        memcpy(st.g, g_new, nn * sizeof(double));
        fx = acc.f;
        gnorm = sqrt(physrt_dot(n, st.g, st.g));
        iter++;
        if (o->rel_f_tol > 0 && fabs(f_prev - fx) <= o->rel_f_tol * fmax(fabs(f_prev), fabs(fx))) {
            if (!(o->grad_tol > 0 && gnorm <= o->grad_tol)) {
                reason = PHYSRT_LBFGS_REL_F_TOL;
                break;
            }
        }
    }
done:
    rep.reason = reason;
    rep.iterations = iter;
    rep.evaluations = st.ls.evals;
    rep.f = fx;
    rep.grad_norm = gnorm;
    if (report) *report = rep;
    free(block);
    return PHYSRT_OK;
}
