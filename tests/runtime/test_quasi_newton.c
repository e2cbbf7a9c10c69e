/* Dense quasi-Newton (BFGS, SSBFGS, SSBroyden): Rosenbrock in 2 and 10
 * dimensions to 1e-10; on a quadratic with a known SPD Hessian A and exact
 * line searches, the minimum in <= n + 1 iterations and BFGS's H = A^-1 to
 * round-off; every stop reason produced and reported. */
#include "check.h"
#include "physrt.h"

#include <stdlib.h>
#include <string.h>

static const physrt_qn_method methods[3] = {PHYSRT_QN_BFGS, PHYSRT_QN_SSBFGS, PHYSRT_QN_SSBROYDEN};

typedef struct {
    int n;
    long calls;
    long nan_after;     /* calls after which f (or only g) is NaN; 0: never */
    int nan_in_grad;
} rosen_ctx;

/* Extended Rosenbrock (Moré, Garbow & Hillstrom 1981, problem 21; n even),
 * sum over pairs of (1 - x_2i)^2 + 100 (x_2i+1 - x_2i^2)^2: one minimum, at
 * x = 1. (The chained form has a second local minimum near x_0 = -1 for
 * n >= 4, which the self-scaled methods reach from this start.) */
static double rosenbrock(void *ctx, const double *x, double *g)
{
    rosen_ctx *c = ctx;
    c->calls++;
    double f = 0;
    for (int i = 0; i < c->n; i++) g[i] = 0;
    for (int i = 0; i + 1 < c->n; i += 2) {
        double a = 1 - x[i], b = x[i + 1] - x[i] * x[i];
        f += a * a + 100 * b * b;
        g[i] += -2 * a - 400 * x[i] * b;
        g[i + 1] += 200 * b;
    }
    if (c->nan_after > 0 && c->calls > c->nan_after) {
        if (c->nan_in_grad) g[0] = NAN;
        else f = NAN;
    }
    return f;
}

static double rosenbrock_plus_one(void *ctx, const double *x, double *g)
{
    return 1 + rosenbrock(ctx, x, g);
}

/* f = x'x / 2 with the gradient's sign wrong: no step along -g decreases f. */
static double wrong_gradient(void *ctx, const double *x, double *g)
{
    int n = *(int *)ctx;
    double f = 0;
    for (int i = 0; i < n; i++) {
        f += 0.5 * x[i] * x[i];
        g[i] = -x[i];
    }
    return f;
}

#define QMAX 40
typedef struct {
    int n;
    double A[QMAX][QMAX], xstar[QMAX];
} quadratic;

/* f = (x - x*)'A(x - x*) / 2: f* = 0, so f keeps its relative precision
 * down to the minimum and the line searches work until x = x* to round-off */
static double quadratic_f(void *ctx, const double *x, double *g)
{
    const quadratic *q = ctx;
    double f = 0;
    for (int i = 0; i < q->n; i++) {
        double Ae = 0;
        for (int j = 0; j < q->n; j++) Ae += q->A[i][j] * (x[j] - q->xstar[j]);
        g[i] = Ae;
        f += 0.5 * (x[i] - q->xstar[i]) * Ae;
    }
    return f;
}

/* A = 4 M'M / n + diag(1, 4, ..., n^2) with M of fixed pseudo-random entries
 * in [-1, 1] (eigenvalues spread, so no early termination); x* given. Ainv
 * by Gauss-Jordan. */
static void make_quadratic(quadratic *q, int n, double xstar[QMAX], double Ainv[QMAX][QMAX])
{
    static double M[QMAX][QMAX], W[QMAX][2 * QMAX];
    q->n = n;
    unsigned long long r = 12345;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            M[i][j] = (double)(r >> 11) / 9007199254740992.0 * 2 - 1;
        }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += M[k][i] * M[k][j];
            q->A[i][j] = 4 * s / n + (i == j ? (i + 1.0) * (i + 1.0) : 0);
        }
    for (int i = 0; i < n; i++) q->xstar[i] = xstar[i] = 0.5 + 0.25 * i - (i % 3);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < 2 * n; j++) W[i][j] = j < n ? q->A[i][j] : (j - n == i);
    for (int c = 0; c < n; c++) {   /* SPD: no pivoting needed */
        double p = W[c][c];
        for (int j = 0; j < 2 * n; j++) W[c][j] /= p;
        for (int i = 0; i < n; i++)
            if (i != c) {
                double m = W[i][c];
                for (int j = 0; j < 2 * n; j++) W[i][j] -= m * W[c][j];
            }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) Ainv[i][j] = W[i][n + j];
}

static void rosenbrock_to_minimum(int n, physrt_qn_method method)
{
    physrt_qn_options o;
    physrt_qn_default_options(&o, method);
    o.grad_tol = 1e-12;
    o.max_iterations = 2000;
    double x[10];
    for (int i = 0; i < n; i++) x[i] = (i % 2) ? 1 : -1.2;
    rosen_ctx c = {n, 0, 0, 0};
    physrt_qn_report r;
    CHECK(physrt_qn_minimize(n, x, rosenbrock, &c, &o, &r, NULL) == PHYSRT_OK, "run");
    double err = 0;
    for (int i = 0; i < n; i++) err = fmax(err, fabs(x[i] - 1));
    printf("rosenbrock-%d %s: %s, %d iterations, %ld evaluations, %d restarts, max |x-1| = %.3g\n", n,
           physrt_qn_method_name(method), physrt_qn_reason_string(r.reason), r.iterations, r.evaluations,
           r.restarts, err);
    CHECK(err <= 1e-10, "%s, %d-d: max |x - 1| = %g", physrt_qn_method_name(method), n, err);
    CHECK(r.reason == PHYSRT_QN_GRAD_TOL, "%s: reason %s", physrt_qn_method_name(method),
          physrt_qn_reason_string(r.reason));
    CHECK(r.evaluations == c.calls, "evaluations %ld vs calls %ld", r.evaluations, c.calls);
    CHECK(r.iterations < (n == 2 ? 100 : 300), "%s: %d iterations", physrt_qn_method_name(method), r.iterations);
}

/* Exact line searches (c1 = 1e-11, c2 = 1e-10: |phi'| must vanish to 1e-10 of its
 * start; the cubic interpolation of a quadratic is exact): quadratic
 * termination in n steps for all three methods, and BFGS's hereditary
 * property H y_j = s_j for all j makes H_n = A^-1 in exact arithmetic. */
static void quadratic_termination(int n, physrt_qn_method method)
{
    static quadratic q;
    static double xstar[QMAX], Ainv[QMAX][QMAX], H[QMAX * QMAX];
    make_quadratic(&q, n, xstar, Ainv);
    physrt_qn_options o;
    physrt_qn_default_options(&o, method);
    o.c1 = 1e-11;
    o.c2 = 1e-10;
    double x[QMAX] = {0}, g0[QMAX];
    quadratic_f(&q, x, g0);
    double g0n = 0;
    for (int i = 0; i < n; i++) g0n += g0[i] * g0[i];
    o.grad_tol = 1e-10 * sqrt(g0n);
    physrt_qn_report r;
    physrt_qn_minimize(n, x, quadratic_f, &q, &o, &r, H);
    double xerr = 0, hdiff = 0, hnorm = 0;
    for (int i = 0; i < n; i++) xerr = fmax(xerr, fabs(x[i] - xstar[i]));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            hdiff += (H[i * n + j] - Ainv[i][j]) * (H[i * n + j] - Ainv[i][j]);
            hnorm += Ainv[i][j] * Ainv[i][j];
        }
    double herr = sqrt(hdiff / hnorm);
    printf("quadratic n=%d %s: %s, %d iterations, %ld evaluations, max |x-x*| = %.3g, |H-A^-1|_F/|A^-1|_F = %.3g\n",
           n, physrt_qn_method_name(method), physrt_qn_reason_string(r.reason), r.iterations, r.evaluations,
           xerr, herr);
    CHECK(r.reason == PHYSRT_QN_GRAD_TOL && r.iterations <= n + 1, "%s, n = %d: %s after %d iterations",
          physrt_qn_method_name(method), n, physrt_qn_reason_string(r.reason), r.iterations);
    CHECK(xerr <= 1e-9, "%s, n = %d: max |x - x*| = %g", physrt_qn_method_name(method), n, xerr);
    /* H_n = A^-1 up to the line searches' inexactness (|phi'| <= c2
     * |phi'(0)|, times the condition 1.4e3 for n = 37) and round-off:
     * bound 1e-10, measured 1.2e-15 (n = 8) and 1.4e-14 (n = 37). SSBFGS
     * matches too here (b <= 1, so tau = 1); SSBroyden's tau != 1 scales
     * the older pairs' information and need not match A^-1 (0.04, 0.17). */
    if (method == PHYSRT_QN_BFGS)
        CHECK(r.iterations >= n && herr <= 1e-10, "BFGS, n = %d: relative Frobenius error of H = %g after %d iterations",
              n, herr, r.iterations);
}

int main(void)
{
    for (int m = 0; m < 3; m++) {
        rosenbrock_to_minimum(2, methods[m]);
        rosenbrock_to_minimum(10, methods[m]);
        quadratic_termination(8, methods[m]);
        quadratic_termination(37, methods[m]);
    }

    physrt_qn_options o;
    physrt_qn_default_options(&o, PHYSRT_QN_SSBROYDEN);
    physrt_qn_report r;

    /* NaN in f, then in g only, after k evaluations: the NaN reason, and x
     * is the last good point (finite, its f is the reported one, below f(x0)) */
    for (int in_grad = 0; in_grad <= 1; in_grad++) {
        double x[2] = {-1.2, 1}, g[2];
        rosen_ctx c = {2, 0, 20, in_grad};
        physrt_qn_minimize(2, x, rosenbrock, &c, &o, &r, NULL);
        rosen_ctx clean = {2, 0, 0, 0};
        double f_at_x = rosenbrock(&clean, x, g);
        printf("NaN in %s after 20 evaluations: %s, %d iterations, %ld evaluations, f = %.6g\n",
               in_grad ? "g" : "f", physrt_qn_reason_string(r.reason), r.iterations, r.evaluations, r.f);
        CHECK(r.reason == PHYSRT_QN_NOT_FINITE, "NaN: reason %s", physrt_qn_reason_string(r.reason));
        CHECK(isfinite(x[0]) && isfinite(x[1]) && f_at_x == r.f && r.f < 24.2 && r.iterations > 0,
              "last good point: x = (%g, %g), f(x) = %g, reported %g", x[0], x[1], f_at_x, r.f);
        CHECK(r.evaluations == c.calls, "evaluations %ld vs %ld", r.evaluations, c.calls);
    }
    /* NaN at the start: reported, x untouched */
    {
        double x[2] = {-1.2, 1};
        rosen_ctx start_nan = {2, 1, 1, 0};   /* calls start at 1, so the first call is NaN */
        physrt_qn_minimize(2, x, rosenbrock, &start_nan, &o, &r, NULL);
        CHECK(r.reason == PHYSRT_QN_NOT_FINITE && isnan(r.f) && x[0] == -1.2 && x[1] == 1 && r.iterations == 0,
              "NaN at start: %s, f = %g", physrt_qn_reason_string(r.reason), r.f);
    }
    /* a wrong gradient: the line search fails along -g, x untouched */
    {
        int n = 3;
        double x[3] = {1, -2, 0.5};
        physrt_qn_minimize(n, x, wrong_gradient, &n, &o, &r, NULL);
        CHECK(r.reason == PHYSRT_QN_LINE_SEARCH_FAILED && x[0] == 1 && x[1] == -2 && x[2] == 0.5 &&
                  r.iterations == 0,
              "wrong gradient: %s after %d iterations", physrt_qn_reason_string(r.reason), r.iterations);
    }
    /* gradient tolerance: stops as soon as ||g|| <= 1e-4, not later */
    {
        physrt_qn_options ot = o;
        ot.grad_tol = 1e-4;
        double x[2] = {-1.2, 1}, g[2];
        rosen_ctx c = {2, 0, 0, 0};
        physrt_qn_minimize(2, x, rosenbrock, &c, &ot, &r, NULL);
        rosenbrock(&c, x, g);
        double gn = sqrt(g[0] * g[0] + g[1] * g[1]);
        CHECK(r.reason == PHYSRT_QN_GRAD_TOL && gn <= 1e-4 && gn == r.grad_norm && gn > 1e-12,
              "grad_tol: %s, |g| = %g", physrt_qn_reason_string(r.reason), gn);
    }
    /* relative change of f, on 1 + Rosenbrock so it does go to zero */
    {
        physrt_qn_options ot = o;
        ot.rel_f_tol = 1e-12;
        ot.grad_tol = 0;
        double x[2] = {-1.2, 1};
        rosen_ctx c = {2, 0, 0, 0};
        physrt_qn_minimize(2, x, rosenbrock_plus_one, &c, &ot, &r, NULL);
        CHECK(r.reason == PHYSRT_QN_REL_F_TOL && fabs(x[0] - 1) < 1e-5, "rel_f_tol: %s after %d iterations, x0 = %g",
              physrt_qn_reason_string(r.reason), r.iterations, x[0]);
    }
    /* iteration limit exact, evaluation budget honoured */
    for (int limit = 1; limit <= 25; limit += 6) {
        physrt_qn_options ot = o;
        ot.max_iterations = limit;
        ot.grad_tol = 0;
        double x[2] = {-1.2, 1};
        rosen_ctx c = {2, 0, 0, 0};
        physrt_qn_minimize(2, x, rosenbrock, &c, &ot, &r, NULL);
        CHECK(r.iterations == limit && r.reason == PHYSRT_QN_MAX_ITERATIONS, "limit %d: %d iterations, %s", limit,
              r.iterations, physrt_qn_reason_string(r.reason));
    }
    {
        physrt_qn_options ot = o;
        ot.max_evaluations = 17;
        double x[2] = {-1.2, 1};
        rosen_ctx c = {2, 0, 0, 0};
        physrt_qn_minimize(2, x, rosenbrock, &c, &ot, &r, NULL);
        CHECK(r.reason == PHYSRT_QN_MAX_EVALUATIONS && c.calls <= 17 && r.evaluations == c.calls,
              "max_evaluations: %ld calls, %s", c.calls, physrt_qn_reason_string(r.reason));
    }
    /* above the dense limit: refused before f is called, and the message says lbfgs */
    {
        int n = PHYSRT_QN_MAX_PARAMS + 1;
        double *x = calloc((size_t)n, sizeof *x);
        rosen_ctx c = {n, 0, 0, 0};
        CHECK(x && physrt_qn_minimize(n, x, rosenbrock, &c, &o, &r, NULL) == PHYSRT_OK &&
                  r.reason == PHYSRT_QN_TOO_LARGE && c.calls == 0 &&
                  strstr(physrt_qn_reason_string(r.reason), "lbfgs"),
              "too large: %s, %ld calls", physrt_qn_reason_string(r.reason), c.calls);
        free(x);
    }
    /* invalid options */
    {
        physrt_qn_options ot = o;
        ot.c2 = ot.c1 / 2;
        double x[2] = {0, 0};
        rosen_ctx c = {2, 0, 0, 0};
        CHECK(physrt_qn_minimize(2, x, rosenbrock, &c, &ot, &r, NULL) == PHYSRT_EINVAL, "c2 < c1 rejected");
        ot = o;
        ot.method = 7;
        CHECK(physrt_qn_minimize(2, x, rosenbrock, &c, &ot, &r, NULL) == PHYSRT_EINVAL, "unknown method rejected");
    }
    return check_summary("runtime_quasi_newton");
}
