/* line_search.c - strong Wolfe line search (Nocedal & Wright, Algorithms 3.5
 * and 3.6, with safeguarded cubic / quadratic interpolation), float64.
 *
 * Checked against N&W and PyTorch's _strong_wolfe: the bracketing phase
 * zooms on (previous, current) when sufficient decrease fails or f rises,
 * accepts on |phi'| <= -c2 phi'(0), zooms on (current, previous) when
 * phi' >= 0, else extrapolates; zoom keeps lo the best point with
 * sufficient decrease and flips hi = lo when phi'(a_j)(hi - lo) >= 0.
 * Trials are kept 10% inside the bracket (PyTorch: "insufficient progress"
 * safeguard); a NaN or inf trial counts as a too-long step (f = inf). */
#include "line_search.h"

#include <math.h>
#include <string.h>

double physrt_dot(int n, const double *a, const double *b)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

int physrt_ls_budget_left(const physrt_line_search *ls)
{
    return ls->max_evaluations <= 0 || ls->evals < ls->max_evaluations;
}

/* f and gradient at x + a d into x_try / g_try. */
static physrt_ls_point eval_at(physrt_line_search *ls, const double *x, double a)
{
    for (int i = 0; i < ls->n; i++) ls->x_try[i] = x[i] + a * ls->d[i];
    physrt_ls_point p;
    p.a = a;
    p.f = ls->f(ls->ctx, ls->x_try, ls->g_try);
    p.df = physrt_dot(ls->n, ls->g_try, ls->d);
    ls->evals++;
    if (!isfinite(p.f) || !isfinite(p.df)) {
        p.f = INFINITY;
        p.df = NAN;
        ls->not_finite++;
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
static double zoom_trial(physrt_ls_point lo, physrt_ls_point hi)
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

static void keep_lo(physrt_line_search *ls)
{
    memcpy(ls->x_lo, ls->x_try, (size_t)ls->n * sizeof(double));
    memcpy(ls->g_lo, ls->g_try, (size_t)ls->n * sizeof(double));
}

/* N&W Algorithm 3.6. lo satisfies sufficient decrease (or is 0). On
 * LS_WOLFE the accepted point is in x_try/g_try; on LS_ARMIJO_ONLY in
 * x_lo/g_lo. */
static physrt_ls_status zoom(physrt_line_search *ls, const double *x, physrt_ls_point p0, physrt_ls_point lo,
                             physrt_ls_point hi, physrt_ls_point *out)
{
    const double c1 = ls->c1, c2 = ls->c2;
    double dmax = 0;
    for (int i = 0; i < ls->n; i++) dmax = fmax(dmax, fabs(ls->d[i]));
    for (int it = 0; it < 60; it++) {
        /* the bracket no longer moves x in floating point */
        if (fabs(hi.a - lo.a) * dmax <= 1e-16 * (1 + fabs(lo.a) * dmax)) break;
        if (!physrt_ls_budget_left(ls)) {
            *out = lo;
            return lo.a > 0 ? PHYSRT_LS_ARMIJO_ONLY : PHYSRT_LS_BUDGET_FAILED;
        }
        physrt_ls_point t = eval_at(ls, x, zoom_trial(lo, hi));
        if (t.f > p0.f + c1 * t.a * p0.df || t.f >= lo.f) {
            hi = t;
        } else {
            if (fabs(t.df) <= -c2 * p0.df) {
                *out = t;
                return PHYSRT_LS_WOLFE;
            }
            if (t.df * (hi.a - lo.a) >= 0) hi = lo;
            lo = t;
            keep_lo(ls);
        }
    }
    *out = lo;
    return lo.a > 0 ? PHYSRT_LS_ARMIJO_ONLY : PHYSRT_LS_FAILED;
}

physrt_ls_status physrt_line_search_run(physrt_line_search *ls, const double *x, double f0, double a_init,
                                        physrt_ls_point *out)
{
    const double c1 = ls->c1, c2 = ls->c2;
    const double a_max = 1e20;
    physrt_ls_point p0 = {0, f0, physrt_dot(ls->n, ls->g, ls->d)};
    physrt_ls_point prev = p0;
    double a = a_init;
    for (int it = 0; it < 60; it++) {
        if (!physrt_ls_budget_left(ls)) {
            *out = prev;
            return prev.a > 0 ? PHYSRT_LS_ARMIJO_ONLY : PHYSRT_LS_BUDGET_FAILED;
        }
        physrt_ls_point cur = eval_at(ls, x, a);
        if (cur.f > p0.f + c1 * a * p0.df || (it > 0 && cur.f >= prev.f))
            return zoom(ls, x, p0, prev, cur, out);
        if (fabs(cur.df) <= -c2 * p0.df) {
            *out = cur;
            return PHYSRT_LS_WOLFE;
        }
        keep_lo(ls);
        if (cur.df >= 0) return zoom(ls, x, p0, cur, prev, out);
        /* extrapolate: the cubic's step if it lies in (1.1 a, 4 a], else 4 a */
        double t = cubic_min(prev.a, prev.f, prev.df, cur.a, cur.f, cur.df);
        if (!(t > 1.1 * a)) t = 4 * a;
        if (t > 4 * a) t = 4 * a;
        prev = cur;
        if (a >= a_max) break;
        a = fmin(t, a_max);
    }
    *out = prev;
    return prev.a > 0 ? PHYSRT_LS_ARMIJO_ONLY : PHYSRT_LS_FAILED;
}
