/* lbfgs.c - limited-memory BFGS (two-loop recursion, history m) with a
 * strong Wolfe line search (Nocedal & Wright, Algorithms 3.5 and 3.6, with
 * safeguarded cubic / quadratic interpolation), float64.
 *
 * Stopping is only ever for a stated reason: an iteration limit, an
 * evaluation budget, a tolerance the caller set, or a line search that
 * cannot decrease f even along steepest descent after the history was
 * reset. A failed quasi-Newton step never ends the run by itself. */
#include "physrt.h"

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

static double dot(int n, const double *a, const double *b)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* Everything one minimisation needs; one allocation, owned by the call. */
typedef struct {
    int n, m;
    physrt_objective_fn f;
    void *ctx;
    const physrt_lbfgs_options *o;
    long evals;
    double *g, *d, *x_try, *g_try, *x_lo, *g_lo, *S, *Y, *rho, *alpha;
    int hist_count, hist_next;     /* ring buffer of (s, y) pairs */
} lbfgs_state;

/* Line-search point: step, value, directional derivative. */
typedef struct {
    double a, f, df;
} ls_point;

typedef enum { LS_WOLFE, LS_ARMIJO_ONLY, LS_FAILED, LS_BUDGET_FAILED } ls_status;

static int budget_left(const lbfgs_state *st)
{
    return st->o->max_evaluations <= 0 || st->evals < st->o->max_evaluations;
}

/* f and gradient at x + a d into x_try / g_try. */
static ls_point eval_at(lbfgs_state *st, const double *x, double a)
{
    for (int i = 0; i < st->n; i++) st->x_try[i] = x[i] + a * st->d[i];
    ls_point p;
    p.a = a;
    p.f = st->f(st->ctx, st->x_try, st->g_try);
    p.df = dot(st->n, st->g_try, st->d);
    st->evals++;
    if (!isfinite(p.f) || !isfinite(p.df)) {
        p.f = INFINITY;
        p.df = NAN;
    }
    return p;
}

/* Minimiser of the cubic through (a, fa, da) and (b, fb, db) (N&W 3.59);
 * NAN if the cubic has none. */
static double cubic_min(double a, double fa, double da, double b, double fb, double db)
{
    double d1 = da + db - 3 * (fa - fb) / (a - b);
    double disc = d1 * d1 - da * db;
    if (!(disc >= 0)) return NAN;
    double d2 = copysign(sqrt(disc), b - a);
    double denom = db - da + 2 * d2;
    if (denom == 0) return NAN;
    return b - (b - a) * (db + d2 - d1) / denom;
}

/* Minimiser of the quadratic through (a, fa, da) and (b, fb); NAN if none. */
static double quadratic_min(double a, double fa, double da, double b, double fb)
{
    double h = b - a;
    double curv = fb - fa - da * h;
    if (!(curv > 0)) return NAN;
    return a - da * h * h / (2 * curv);
}

/* Trial step inside the bracket, kept 10% away from its ends. */
static double zoom_trial(ls_point lo, ls_point hi)
{
    double left = fmin(lo.a, hi.a), right = fmax(lo.a, hi.a), w = right - left;
    double in_lo = left + 0.1 * w, in_hi = right - 0.1 * w;
    double t = NAN;
    if (isfinite(hi.f) && isfinite(hi.df)) t = cubic_min(lo.a, lo.f, lo.df, hi.a, hi.f, hi.df);
    if (!(t >= in_lo && t <= in_hi) && isfinite(hi.f))
        t = quadratic_min(lo.a, lo.f, lo.df, hi.a, hi.f);
    if (!(t >= in_lo && t <= in_hi)) t = 0.5 * (lo.a + hi.a);
    return t;
}

static void keep_lo(lbfgs_state *st)
{
    memcpy(st->x_lo, st->x_try, (size_t)st->n * sizeof(double));
    memcpy(st->g_lo, st->g_try, (size_t)st->n * sizeof(double));
}

/* N&W Algorithm 3.6. lo satisfies sufficient decrease (or is 0). On
 * LS_WOLFE the accepted point is in x_try/g_try; on LS_ARMIJO_ONLY in
 * x_lo/g_lo. */
static ls_status zoom(lbfgs_state *st, const double *x, ls_point p0, ls_point lo,
                      ls_point hi, ls_point *out)
{
    const double c1 = st->o->c1, c2 = st->o->c2;
    double dmax = 0;
    for (int i = 0; i < st->n; i++) dmax = fmax(dmax, fabs(st->d[i]));
    for (int it = 0; it < 60; it++) {
        /* the bracket no longer moves x in floating point */
        if (fabs(hi.a - lo.a) * dmax <= 1e-16 * (1 + fabs(lo.a) * dmax)) break;
        if (!budget_left(st)) {
            *out = lo;
            return lo.a > 0 ? LS_ARMIJO_ONLY : LS_BUDGET_FAILED;
        }
        ls_point t = eval_at(st, x, zoom_trial(lo, hi));
        if (t.f > p0.f + c1 * t.a * p0.df || t.f >= lo.f) {
            hi = t;
        } else {
            if (fabs(t.df) <= -c2 * p0.df) {
                *out = t;
                return LS_WOLFE;
            }
            if (t.df * (hi.a - lo.a) >= 0) hi = lo;
            lo = t;
            keep_lo(st);
        }
    }
    *out = lo;
    return lo.a > 0 ? LS_ARMIJO_ONLY : LS_FAILED;
}

/* N&W Algorithm 3.5 from step a_init along d. */
static ls_status line_search(lbfgs_state *st, const double *x, double f0, double a_init,
                             ls_point *out)
{
    const double c1 = st->o->c1, c2 = st->o->c2;
    const double a_max = 1e20;
    ls_point p0 = {0, f0, dot(st->n, st->g, st->d)};
    ls_point prev = p0;
    double a = a_init;
    for (int it = 0; it < 60; it++) {
        if (!budget_left(st)) {
            *out = prev;
            return prev.a > 0 ? LS_ARMIJO_ONLY : LS_BUDGET_FAILED;
        }
        ls_point cur = eval_at(st, x, a);
        if (cur.f > p0.f + c1 * a * p0.df || (it > 0 && cur.f >= prev.f))
            return zoom(st, x, p0, prev, cur, out);
        if (fabs(cur.df) <= -c2 * p0.df) {
            *out = cur;
            return LS_WOLFE;
        }
        keep_lo(st);
        if (cur.df >= 0) return zoom(st, x, p0, cur, prev, out);
        /* extrapolate: cubic step clamped to [1.1 a, 4 a] */
        double t = cubic_min(prev.a, prev.f, prev.df, cur.a, cur.f, cur.df);
        if (!(t > 1.1 * a)) t = 4 * a;
        if (t > 4 * a) t = 4 * a;
        prev = cur;
        if (a >= a_max) break;
        a = fmin(t, a_max);
    }
    *out = prev;
    return prev.a > 0 ? LS_ARMIJO_ONLY : LS_FAILED;
}

/* d = -H g by the two-loop recursion with H0 = (s'y / y'y) I. */
static void lbfgs_direction(lbfgs_state *st)
{
    const int n = st->n;
    double *q = st->d;
    for (int i = 0; i < n; i++) q[i] = -st->g[i];
    for (int h = 0; h < st->hist_count; h++) {
        int k = (st->hist_next - 1 - h + st->m) % st->m;
        const double *s = st->S + (size_t)k * n;
        st->alpha[k] = st->rho[k] * dot(n, s, q);
        const double *y = st->Y + (size_t)k * n;
        for (int i = 0; i < n; i++) q[i] -= st->alpha[k] * y[i];
    }
    if (st->hist_count > 0) {
        int k = (st->hist_next - 1 + st->m) % st->m;
        const double *y = st->Y + (size_t)k * n;
        double gamma = 1 / (st->rho[k] * dot(n, y, y));
        for (int i = 0; i < n; i++) q[i] *= gamma;
    }
    for (int h = st->hist_count - 1; h >= 0; h--) {
        int k = (st->hist_next - 1 - h + st->m) % st->m;
        const double *y = st->Y + (size_t)k * n;
        double beta = st->rho[k] * dot(n, y, q);
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
    st.f = f;
    st.ctx = ctx;
    st.o = o;
    const size_t nn = (size_t)n, mm = (size_t)o->history;
    double *block = malloc((6 * nn + 2 * mm * nn + 2 * mm) * sizeof(double));
    if (!block) {
        if (report) *report = rep;
        return PHYSRT_ENOMEM;
    }
    st.g = block;
    st.d = st.g + nn;
    st.x_try = st.d + nn;
    st.g_try = st.x_try + nn;
    st.x_lo = st.g_try + nn;
    st.g_lo = st.x_lo + nn;
    st.S = st.g_lo + nn;
    st.Y = st.S + mm * nn;
    st.rho = st.Y + mm * nn;
    st.alpha = st.rho + mm;

    double fx = f(ctx, x, st.g);
    st.evals = 1;
    double gnorm = sqrt(dot(n, st.g, st.g));
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
        if (!budget_left(&st)) { reason = PHYSRT_LBFGS_MAX_EVALUATIONS; break; }

        lbfgs_direction(&st);
        double a_init = 1;
        if (st.hist_count == 0 || !(dot(n, st.g, st.d) < 0)) {
            /* steepest descent, first step of unit length in x */
            st.hist_count = 0;
            for (int i = 0; i < n; i++) st.d[i] = -st.g[i];
            a_init = fmin(1, 1 / gnorm);
        }
        ls_point acc;
        ls_status ls = line_search(&st, x, fx, a_init, &acc);
        if (ls == LS_FAILED || ls == LS_BUDGET_FAILED) {
            if (ls == LS_BUDGET_FAILED) { reason = PHYSRT_LBFGS_MAX_EVALUATIONS; break; }
            if (st.hist_count > 0) {     /* retry from scratch along -g */
                st.hist_count = 0;
                continue;
            }
            reason = PHYSRT_LBFGS_LINE_SEARCH_FAILED;
            break;
        }
        const double *x_new = ls == LS_WOLFE ? st.x_try : st.x_lo;
        const double *g_new = ls == LS_WOLFE ? st.g_try : st.g_lo;
        /* store (s, y) when the curvature is safely positive */
        double *s = st.S + (size_t)st.hist_next * nn, *y = st.Y + (size_t)st.hist_next * nn;
        for (int i = 0; i < n; i++) {
            s[i] = x_new[i] - x[i];
            y[i] = g_new[i] - st.g[i];
        }
        double sy = dot(n, s, y), yy = dot(n, y, y);
        if (sy > 1e-12 * yy && yy > 0) {
            st.rho[st.hist_next] = 1 / sy;
            st.hist_next = (st.hist_next + 1) % st.m;
            if (st.hist_count < st.m) st.hist_count++;
        }
        double f_prev = fx;
        memcpy(x, x_new, nn * sizeof(double));
        memcpy(st.g, g_new, nn * sizeof(double));
        fx = acc.f;
        gnorm = sqrt(dot(n, st.g, st.g));
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
    rep.evaluations = st.evals;
    rep.f = fx;
    rep.grad_norm = gnorm;
    if (report) *report = rep;
    free(block);
    return PHYSRT_OK;
}
