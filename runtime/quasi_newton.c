/* quasi_newton.c - dense quasi-Newton minimisation on the inverse Hessian H
 * (BFGS, self-scaled BFGS, self-scaled Broyden) with the strong Wolfe line
 * search of line_search.c, float64.
 *
 * H is stored as its lower triangle, packed by rows (row i holds H[i][0..i]):
 * n(n+1)/2 doubles, 400 MB at the limit of 10^4 parameters. An iteration
 * makes two passes over it: q = H y, then the update fused with the next
 * direction d = -H g, each O(n^2). Every update has the form
 *
 *   H+ = t H + cqq q q' + csq (s q' + q s') + css s s'        (q = H y)
 *
 * with s = x+ - x, y = g+ - g, rho = 1 / y's, yHy = y'q, h = rho yHy and
 * b = -alpha rho s'g = s'Bs / y's (B = H^-1, s = -alpha H g), so one kernel
 * serves the three methods:
 *
 * BFGS (Nocedal & Wright, eq. 6.17; H0 = I as in SciPy's BFGS, which
 * Kiyani et al. compare: N&W's H0 = (y's / y'y) I made the line searches
 * extrapolate over the unexplored spectrum, 3x the evaluations and no
 * termination in n steps on a quadratic of condition 1.4e3):
 *   H+ = H - rho (q s' + s q') + rho (1 + h) s s'
 *
 * SSBFGS (Oren & Luenberger 1974 self-scaling with Al-Baali's bound,
 * Al-Baali 1998, JOTA 96:533; as in Urban, Stefanou & Pons 2025, JCP
 * 523:113656, and Kiyani et al. 2025, CMAME 446:118308): H is multiplied by
 * 1/tau, tau = min(1, 1/b), then updated by BFGS (tau = 1/b would be plain
 * Oren-Luenberger scaling).
 *
 * SSBroyden (the self-scaled Broyden family of Al-Baali 1998 and Al-Baali &
 * Khalfan 2005, in the inverse form and with the parameter choice of Urban
 * et al. 2025, their "SSBroyden2", used by Kiyani et al. 2025):
 *   a = b h - 1 (>= 0 by Cauchy-Schwarz)
 *   rho_m = min(1, h (1 - sqrt(a / (1 + a)))),  theta_m = (rho_m - 1) / a,
 *   theta_p = 1 / rho_m,  theta = max(theta_m, min(theta_p, (1 - b) / b))
 *   sigma = 1 + a theta,  sigma_n = sigma^(1 / (1 - n)),  tau_b = min(1, 1/b)
 *   tau = theta <= 0 ? min(tau_b sigma_n, sigma) : tau_b min(sigma_n, 1/theta)
 *   phi = (1 - theta) / (1 + a theta),  v = rho s - q / yHy
 *   H+ = (H - q q' / yHy + phi yHy v v') / tau + rho s s'
 * (theta = 0, tau = 1 is BFGS; a = 0 makes v = 0 and takes theta = 0).
 * Expanded: t = 1/tau, cqq = (phi - 1) / (tau yHy), csq = -phi rho / tau,
 * css = phi rho^2 yHy / tau + rho.
 *
 * Restart: H = I when y's <= 1e-10 |y| |s| (the update would lose positive
 * definiteness), when d = -H g is not a descent direction, and when a line
 * search along d fails (then it is retried along -g). A non-finite f or
 * gradient at a trial point shortens the step; if the line search then
 * fails along -g the run stops with PHYSRT_QN_NOT_FINITE. x is only ever
 * moved to accepted points, so it always holds the last good point. */
#include "line_search.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void physrt_qn_default_options(physrt_qn_options *opts, physrt_qn_method method)
{
    if (!opts) return;
    opts->method = method;
    opts->max_iterations = 1000;
    opts->max_evaluations = 0;
    opts->grad_tol = 1e-10;
    opts->rel_f_tol = 0;
    opts->c1 = 1e-4;
    opts->c2 = 0.9;
}

const char *physrt_qn_method_name(physrt_qn_method method)
{
    switch (method) {
    case PHYSRT_QN_BFGS: return "bfgs";
    case PHYSRT_QN_SSBFGS: return "ssbfgs";
    case PHYSRT_QN_SSBROYDEN: return "ssbroyden";
    }
    return "?";
}

const char *physrt_qn_reason_string(physrt_qn_reason reason)
{
    switch (reason) {
    case PHYSRT_QN_GRAD_TOL: return "gradient norm below tolerance_grad";
    case PHYSRT_QN_REL_F_TOL: return "relative change of the loss below tolerance_change";
    case PHYSRT_QN_MAX_ITERATIONS: return "iteration limit reached";
    case PHYSRT_QN_MAX_EVALUATIONS: return "max_evaluations reached";
    case PHYSRT_QN_NOT_FINITE: return "loss or gradient not finite (kept the last good point)";
    case PHYSRT_QN_LINE_SEARCH_FAILED: return "line search found no decrease along steepest descent";
    case PHYSRT_QN_TOO_LARGE:
        return "too many parameters for a dense inverse Hessian (more than 10000): use lbfgs";
    case PHYSRT_QN_INVALID: return "invalid arguments or out of memory";
    }
    return "unknown";
}

/* H = I, packed lower triangle. */
static void set_identity(int n, double *H)
{
    double *row = H;
    for (int i = 0; i < n; i++) {
        memset(row, 0, (size_t)i * sizeof *row);
        row[i] = 1;
        row += i + 1;
    }
}

/* y = H x. Row i of the lower triangle serves H[i][0..i] (a dot product)
 * and, mirrored, H[0..i-1][i] (an axpy), so H is read once, in order. */
static void packed_symv(int n, const double *restrict H, const double *restrict x, double *restrict y)
{
    memset(y, 0, (size_t)n * sizeof *y);
    const double *row = H;
    for (int i = 0; i < n; i++) {
        const double xi = x[i];
        double acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
        int j = 0;
        for (; j + 4 <= i; j += 4) {
            acc0 += row[j] * x[j];
            acc1 += row[j + 1] * x[j + 1];
            acc2 += row[j + 2] * x[j + 2];
            acc3 += row[j + 3] * x[j + 3];
            y[j] += row[j] * xi;
            y[j + 1] += row[j + 1] * xi;
            y[j + 2] += row[j + 2] * xi;
            y[j + 3] += row[j + 3] * xi;
        }
        for (; j < i; j++) {
            acc0 += row[j] * x[j];
            y[j] += row[j] * xi;
        }
        y[i] += (acc0 + acc1) + (acc2 + acc3) + row[i] * xi;
        row += i + 1;
    }
}

/* H = t H + cqq q q' + csq (s q' + q s') + css s s', then d = -H g with the
 * new rows while they are in cache. Element (i, j) gets
 * (cqq q_i + csq s_i) q_j + (csq q_i + css s_i) s_j: a symmetric rank-2
 * update, exactly symmetric because only one triangle exists. */
static void update_and_direction(int n, double *restrict H, double t, const double *restrict q,
                                 const double *restrict s, double cqq, double csq, double css,
                                 const double *restrict g, double *restrict d)
{
    memset(d, 0, (size_t)n * sizeof *d);
    double *row = H;
    for (int i = 0; i < n; i++) {
        const double ai = cqq * q[i] + csq * s[i], bi = csq * q[i] + css * s[i], gi = g[i];
        double acc0 = 0, acc1 = 0, acc2 = 0, acc3 = 0;
        int j = 0;
        for (; j + 4 <= i; j += 4) {
            double h0 = row[j] * t + ai * q[j] + bi * s[j];
            double h1 = row[j + 1] * t + ai * q[j + 1] + bi * s[j + 1];
            double h2 = row[j + 2] * t + ai * q[j + 2] + bi * s[j + 2];
            double h3 = row[j + 3] * t + ai * q[j + 3] + bi * s[j + 3];
            row[j] = h0;
            row[j + 1] = h1;
            row[j + 2] = h2;
            row[j + 3] = h3;
            acc0 += h0 * g[j];
            acc1 += h1 * g[j + 1];
            acc2 += h2 * g[j + 2];
            acc3 += h3 * g[j + 3];
            d[j] += h0 * gi;
            d[j + 1] += h1 * gi;
            d[j + 2] += h2 * gi;
            d[j + 3] += h3 * gi;
        }
        for (; j < i; j++) {
            double h = row[j] * t + ai * q[j] + bi * s[j];
            row[j] = h;
            acc0 += h * g[j];
            d[j] += h * gi;
        }
        row[i] = row[i] * t + ai * q[i] + bi * s[i];
        d[i] += (acc0 + acc1) + (acc2 + acc3) + row[i] * gi;
        row += i + 1;
    }
    for (int i = 0; i < n; i++) d[i] = -d[i];
}

/* The coefficients of the update (see the top of the file). */
static void update_coefficients(physrt_qn_method method, int n, double rho, double yHy, double b, double *t,
                                double *cqq, double *csq, double *css)
{
    const double h = rho * yHy;
    if (method == PHYSRT_QN_SSBROYDEN) {
        double a = b * h - 1, theta = 0;
        if (a > 1e-12) {
            double rho_m = fmin(1, h * (1 - sqrt(a / (1 + a))));
            double theta_m = (rho_m - 1) / a, theta_p = 1 / rho_m;
            theta = fmax(theta_m, fmin(theta_p, (1 - b) / b));
        } else {
            a = 0;
        }
        double sigma = 1 + a * theta;
        double sigma_n = n > 1 ? pow(fabs(sigma), 1.0 / (1 - n)) : 1;
        double tau_b = fmin(1, 1 / b);
        double tau = theta <= 0 ? fmin(tau_b * sigma_n, sigma) : tau_b * fmin(sigma_n, 1 / theta);
        double phi = (1 - theta) / (1 + a * theta);
        *t = 1 / tau;
        *cqq = (phi - 1) / (tau * yHy);
        *csq = -phi * rho / tau;
        *css = phi * rho * rho * yHy / tau + rho;
        return;
    }
    /* BFGS on t H: (t H) y = t q */
    const double scale = method == PHYSRT_QN_SSBFGS ? fmax(1, b) : 1;   /* 1 / min(1, 1/b) */
    *t = scale;
    *cqq = 0;
    *csq = -rho * scale;
    *css = rho * (1 + rho * scale * yHy);
}

int physrt_qn_minimize(int n, double *x, physrt_objective_fn f, void *ctx, const physrt_qn_options *opts,
                       physrt_qn_report *report, double *inverse_hessian)
{
    physrt_qn_options defaults;
    physrt_qn_default_options(&defaults, PHYSRT_QN_SSBROYDEN);
    const physrt_qn_options *o = opts ? opts : &defaults;
    physrt_qn_report rep = {PHYSRT_QN_INVALID, 0, 0, 0, NAN, NAN};
    if (n < 1 || !x || !f || o->max_iterations < 1 || o->max_evaluations < 0 ||
        !(o->c1 > 0 && o->c1 < o->c2 && o->c2 < 1) ||
        !(o->method == PHYSRT_QN_BFGS || o->method == PHYSRT_QN_SSBFGS || o->method == PHYSRT_QN_SSBROYDEN)) {
        if (report) *report = rep;
        return PHYSRT_EINVAL;
    }
    if (n > PHYSRT_QN_MAX_PARAMS) {
        rep.reason = PHYSRT_QN_TOO_LARGE;
        if (report) *report = rep;
        return PHYSRT_OK;
    }
    const size_t nn = (size_t)n;
    double *H = malloc(nn * (nn + 1) / 2 * sizeof(double));
    double *block = malloc(9 * nn * sizeof(double));
    if (!H || !block) {
        free(H);
        free(block);
        if (report) *report = rep;
        return PHYSRT_ENOMEM;
    }
    double *g = block, *d = g + nn, *s = d + nn, *y = s + nn, *q = y + nn;
    physrt_line_search ls = {0};
    ls.n = n;
    ls.f = f;
    ls.ctx = ctx;
    ls.c1 = o->c1;
    ls.c2 = o->c2;
    ls.max_evaluations = o->max_evaluations;
    ls.g = g;
    ls.d = d;
    ls.x_try = q + nn;
    ls.g_try = ls.x_try + nn;
    ls.x_lo = ls.g_try + nn;
    ls.g_lo = ls.x_lo + nn;

    double fx = f(ctx, x, g);
    ls.evals = 1;
    double gnorm = sqrt(physrt_dot(n, g, g));
    int iter = 0, restarts = 0, fresh = 1;
    double gd, f_change = 0;       /* f_prev - f of the last step */
    physrt_qn_reason reason;
    if (!isfinite(fx) || !isfinite(gnorm)) {
        fx = NAN;
        reason = PHYSRT_QN_NOT_FINITE;
        goto done;
    }
    set_identity(n, H);
    for (int i = 0; i < n; i++) d[i] = -g[i];
    for (;;) {
        if (gnorm == 0 || (o->grad_tol > 0 && gnorm <= o->grad_tol)) {
            reason = PHYSRT_QN_GRAD_TOL;
            break;
        }
        if (iter >= o->max_iterations) { reason = PHYSRT_QN_MAX_ITERATIONS; break; }
        ls.max_evaluations = o->max_evaluations; /* read at every iteration: a caller may lower it to stop */
        if (!physrt_ls_budget_left(&ls)) { reason = PHYSRT_QN_MAX_EVALUATIONS; break; }
        gd = physrt_dot(n, g, d);
        if (!fresh && !(gd < 0)) {
            set_identity(n, H);
            for (int i = 0; i < n; i++) d[i] = -g[i];
            fresh = 1;
            restarts++;
        }
        /* after a (re)start the first step moves x by at most 1; later the
         * step that repeats the last decrease of f, at most 1 (N&W 3.60,
         * as SciPy's BFGS): self-scaled H overshoots at 1 */
        double a_init = fresh ? fmin(1, 1 / gnorm) : 1;
        if (!fresh && f_change > 0 && gd < 0) {
            double a_rep = 1.01 * 2 * -f_change / gd;
            if (a_rep > 0 && a_rep < 1) a_init = a_rep;
        }
        physrt_ls_point acc;
        ls.not_finite = 0;
        physrt_ls_status st = physrt_line_search_run(&ls, x, fx, a_init, &acc);
        if (st == PHYSRT_LS_FAILED || st == PHYSRT_LS_BUDGET_FAILED) {
            if (st == PHYSRT_LS_BUDGET_FAILED) { reason = PHYSRT_QN_MAX_EVALUATIONS; break; }
            if (!fresh) {               /* retry from scratch along -g */
                set_identity(n, H);
                for (int i = 0; i < n; i++) d[i] = -g[i];
                fresh = 1;
                restarts++;
                continue;
            }
            reason = ls.not_finite ? PHYSRT_QN_NOT_FINITE : PHYSRT_QN_LINE_SEARCH_FAILED;
            break;
        }
        const double *x_new = st == PHYSRT_LS_WOLFE ? ls.x_try : ls.x_lo;
        const double *g_new = st == PHYSRT_LS_WOLFE ? ls.g_try : ls.g_lo;
        for (int i = 0; i < n; i++) {
            s[i] = x_new[i] - x[i];
            y[i] = g_new[i] - g[i];
        }
        const double ys = physrt_dot(n, y, s), yy = physrt_dot(n, y, y), ss = physrt_dot(n, s, s);
        const double sg = physrt_dot(n, s, g);
        double f_prev = fx;
        memcpy(x, x_new, nn * sizeof(double));
        memcpy(g, g_new, nn * sizeof(double));
        fx = acc.f;
        f_change = f_prev - fx;
        gnorm = sqrt(physrt_dot(n, g, g));
        iter++;
        if (ys > 1e-10 * sqrt(yy) * sqrt(ss)) {
            packed_symv(n, H, y, q);
            const double rho = 1 / ys, yHy = physrt_dot(n, y, q), b = -acc.a * rho * sg;
            double t, cqq, csq, css;
            update_coefficients(o->method, n, rho, yHy, b, &t, &cqq, &csq, &css);
            update_and_direction(n, H, t, q, s, cqq, csq, css, g, d);
            fresh = 0;
        } else {
            set_identity(n, H);
            for (int i = 0; i < n; i++) d[i] = -g[i];
            if (!fresh) restarts++;
            fresh = 1;
        }
        if (o->rel_f_tol > 0 && fabs(f_prev - fx) <= o->rel_f_tol * fmax(fabs(f_prev), fabs(fx)) &&
            !(o->grad_tol > 0 && gnorm <= o->grad_tol)) {
            reason = PHYSRT_QN_REL_F_TOL;
            break;
        }
    }
    if (inverse_hessian) {
        const double *row = H;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) inverse_hessian[(size_t)i * nn + j] = inverse_hessian[(size_t)j * nn + i] = row[j];
            row += i + 1;
        }
    }
done:
    rep.reason = reason;
    rep.iterations = iter;
    rep.evaluations = ls.evals;
    rep.restarts = restarts;
    rep.f = fx;
    rep.grad_norm = gnorm;
    if (report) *report = rep;
    free(H);
    free(block);
    return PHYSRT_OK;
}
