/* L-BFGS: Rosenbrock from (-1.2, 1) to 1e-8 in under 100 iterations;
 * max_iterations honoured exactly; max_evaluations honoured; a
 * higher-dimensional Rosenbrock; stop reasons reported. */
#include "check.h"
#include "physrt.h"

typedef struct {
    long calls;
} counter;

static double rosenbrock(void *ctx, const double *x, double *g)
{
    ((counter *)ctx)->calls++;
    double a = 1 - x[0], b = x[1] - x[0] * x[0];
    g[0] = -2 * a - 400 * x[0] * b;
    g[1] = 200 * b;
    return a * a + 100 * b * b;
}

static double rosenbrock_plus_one(void *ctx, const double *x, double *g)
{
    return 1 + rosenbrock(ctx, x, g);
}

/* Extended Rosenbrock in n (even) dimensions. */
static double rosenbrock_n(void *ctx, const double *x, double *g)
{
    int n = *(int *)ctx;
    double f = 0;
    for (int i = 0; i < n; i++) g[i] = 0;
    for (int i = 0; i + 1 < n; i++) {
        double a = 1 - x[i], b = x[i + 1] - x[i] * x[i];
        f += a * a + 100 * b * b;
        g[i] += -2 * a - 400 * x[i] * b;
        g[i + 1] += 200 * b;
    }
    return f;
}

int main(void)
{
    physrt_lbfgs_options o;
    physrt_lbfgs_default_options(&o);
    physrt_lbfgs_report r;
    counter cnt = {0};
    double x[2] = {-1.2, 1};
    CHECK(physrt_lbfgs_minimize(2, x, rosenbrock, &cnt, &o, &r) == PHYSRT_OK, "run");
    printf("rosenbrock: %s, %d iterations, %ld evaluations, f=%.3g |g|=%.3g x=(%.12f, %.12f)\n",
           physrt_lbfgs_reason_string(r.reason), r.iterations, r.evaluations, r.f, r.grad_norm,
           x[0], x[1]);
    CHECK(fabs(x[0] - 1) <= 1e-8 && fabs(x[1] - 1) <= 1e-8, "minimum (1,1): (%.12g, %.12g)", x[0], x[1]);
    CHECK(r.iterations < 100, "iterations %d", r.iterations);
    CHECK(r.reason == PHYSRT_LBFGS_GRAD_TOL, "reason %s", physrt_lbfgs_reason_string(r.reason));
    CHECK(r.evaluations == cnt.calls, "evaluation count %ld vs %ld", r.evaluations, cnt.calls);

    /* max_iterations is honoured exactly when no tolerance is met */
    for (int limit = 1; limit <= 25; limit += 6) {
        physrt_lbfgs_options ol = o;
        ol.max_iterations = limit;
        ol.grad_tol = 0;
        double y[2] = {-1.2, 1};
        physrt_lbfgs_minimize(2, y, rosenbrock, &cnt, &ol, &r);
        CHECK(r.iterations == limit && r.reason == PHYSRT_LBFGS_MAX_ITERATIONS,
              "limit %d: %d iterations, %s", limit, r.iterations, physrt_lbfgs_reason_string(r.reason));
    }
    /* a long run at the minimum does not stop early for lack of progress
     * unless the line search truly cannot decrease f */
    {
        physrt_lbfgs_options ol = o;
        ol.max_iterations = 60;
        ol.grad_tol = 0;
        double y[2] = {-1.2, 1};
        physrt_lbfgs_minimize(2, y, rosenbrock, &cnt, &ol, &r);
        CHECK(r.reason == PHYSRT_LBFGS_MAX_ITERATIONS ? r.iterations == 60
                                                      : r.reason == PHYSRT_LBFGS_LINE_SEARCH_FAILED ||
                                                            r.reason == PHYSRT_LBFGS_GRAD_TOL,
              "60-iteration run: %d, %s", r.iterations, physrt_lbfgs_reason_string(r.reason));
    }
    /* max_evaluations */
    {
        physrt_lbfgs_options ol = o;
        ol.max_evaluations = 17;
        double y[2] = {-1.2, 1};
        counter c2 = {0};
        physrt_lbfgs_minimize(2, y, rosenbrock, &c2, &ol, &r);
        CHECK(r.reason == PHYSRT_LBFGS_MAX_EVALUATIONS && c2.calls <= 17 && r.evaluations == c2.calls,
              "max_evaluations: %ld calls, %s", c2.calls, physrt_lbfgs_reason_string(r.reason));
    }
    /* relative f tolerance, on 1 + Rosenbrock so the relative change of f
     * does go to zero */
    {
        physrt_lbfgs_options ol = o;
        ol.rel_f_tol = 1e-12;
        ol.grad_tol = 0;
        double y[2] = {-1.2, 1};
        physrt_lbfgs_minimize(2, y, rosenbrock_plus_one, &cnt, &ol, &r);
        CHECK(r.reason == PHYSRT_LBFGS_REL_F_TOL && fabs(y[0] - 1) < 1e-5,
              "rel_f_tol: %s after %d iterations, x0 = %g", physrt_lbfgs_reason_string(r.reason),
              r.iterations, y[0]);
    }
    /* 20-dimensional Rosenbrock, history 5 */
    {
        int n = 20;
        double y[20];
        for (int i = 0; i < n; i++) y[i] = (i % 2) ? 1 : -1.2;
        physrt_lbfgs_options ol = o;
        ol.history = 5;
        physrt_lbfgs_minimize(n, y, rosenbrock_n, &n, &ol, &r);
        double err = 0;
        for (int i = 0; i < n; i++) err = fmax(err, fabs(y[i] - 1));
        printf("rosenbrock-20: %s, %d iterations, %ld evaluations, max |x-1| = %.3g\n",
               physrt_lbfgs_reason_string(r.reason), r.iterations, r.evaluations, err);
        CHECK(err <= 1e-8, "20-d minimum: %g", err);
    }
    /* invalid options */
    {
        physrt_lbfgs_options ol = o;
        ol.c2 = ol.c1 / 2;
        double y[2] = {0, 0};
        CHECK(physrt_lbfgs_minimize(2, y, rosenbrock, &cnt, &ol, &r) == PHYSRT_EINVAL, "c2 < c1 rejected");
    }
    return check_summary("runtime_lbfgs");
}
