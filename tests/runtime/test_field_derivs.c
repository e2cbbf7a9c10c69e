/* Input gradients and Hessians of a scalar field: gradient against finite
 * differences of the value, Hessian symmetry and Hessian against finite
 * differences of the gradient, and parameter gradients of a loss of
 * (value, gradient, Hessian) against finite differences over parameters. */
#include "check.h"
#include "physrt.h"

#include <stdlib.h>
#include <string.h>

#define NI 3
#define NP 4

static double worst;

typedef struct {
    physrt_mlp_eval_f64 *ev;
    const double *x;
    double value[NP], grad[NP * NI], hess[NP * NI * NI];
} field_ctx;

/* Loss = sum value^2/2 + sum (grad - 0.3)^2 / 2 + sum_ij c_ij H_ij^2 / 2 with
 * c asymmetric on purpose (each entry is its own adjoint). */
static double field_loss(field_ctx *c, const double *params, double *pgrad)
{
    physrt_mlp_hessian_f64(c->ev, params, NP, c->x, c->value, c->grad, c->hess);
    double L = 0, va[NP], ga[NP * NI], ha[NP * NI * NI];
    for (int p = 0; p < NP; p++) {
        L += 0.5 * c->value[p] * c->value[p];
        va[p] = c->value[p];
        for (int i = 0; i < NI; i++) {
            double d = c->grad[p * NI + i] - 0.3;
            L += 0.5 * d * d;
            ga[p * NI + i] = d;
            for (int j = 0; j < NI; j++) {
                double w = 1 + i + 2 * j, hv = c->hess[(p * NI + i) * NI + j];
                L += 0.5 * w * hv * hv;
                ha[(p * NI + i) * NI + j] = w * hv;
            }
        }
    }
    if (pgrad) physrt_mlp_hessian_backward_f64(c->ev, params, va, ga, ha, pgrad);
    return L;
}

int main(void)
{
    const int widths[] = {7, 6};
    physrt_mlp_desc desc = {NI, 1, 2, widths, PHYSRT_ACT_SOFTPLUS, PHYSRT_ACT_IDENTITY};
    physrt_jet_plan *plan = physrt_jet_plan_create_hessian(NI);
    const size_t np = physrt_mlp_n_params(&desc);
    double *params = malloc(np * sizeof *params);
    physrt_mlp_init_f64(&desc, 21, params);
    for (size_t q = 0; q < np; q++) params[q] += 0.05 * sin(2.0 * q);
    double x[NP * NI] = {0.1, 0.2, -0.3, -0.5, 0.7, 0.05, 0.9, -0.8, 0.4, 0.0, -0.1, 0.35};
    physrt_mlp_eval_f64 *ev = physrt_mlp_eval_create_f64(&desc, plan, NP * 8, NULL);
    CHECK(ev != NULL, "eval");
    double value[NP], grad[NP * NI], hess[NP * NI * NI];
    CHECK(physrt_mlp_hessian_f64(ev, params, NP, x, value, grad, hess) == PHYSRT_OK, "hessian");

    /* symmetry: H_ij and H_ji are one stream, so exactly equal */
    int sym = 1;
    for (int p = 0; p < NP; p++)
        for (int i = 0; i < NI; i++)
            for (int j = 0; j < NI; j++)
                sym &= hess[(p * NI + i) * NI + j] == hess[(p * NI + j) * NI + i];
    CHECK(sym, "Hessian symmetric");

    /* gradient vs FD of value, Hessian vs FD of gradient */
    const double h = 1e-2;
    double xs[NP * NI], v1[NP], g1[NP * NI];
    double fdv[NP * NI] = {0}, fdg[NP * NI * NI] = {0};
    for (int i = 0; i < NI; i++)
        for (int m = 1; m <= 4; m++)
            for (int sign = -1; sign <= 1; sign += 2) {
                memcpy(xs, x, sizeof xs);
                for (int p = 0; p < NP; p++) xs[p * NI + i] += sign * m * h;
                physrt_mlp_gradient_f64(ev, params, NP, xs, v1, g1);
                for (int p = 0; p < NP; p++) {
                    fdv[p * NI + i] += sign * fd8_weights[m - 1] * v1[p] / h;
                    for (int j = 0; j < NI; j++)
                        fdg[(p * NI + j) * NI + i] += sign * fd8_weights[m - 1] * g1[p * NI + j] / h;
                }
            }
    for (int q = 0; q < NP * NI; q++) {
        double e = rel_err(grad[q], fdv[q], 1e-3);
        if (e > worst) worst = e;
        CHECK(e <= 1e-6, "grad %d: %.12g vs fd %.12g", q, grad[q], fdv[q]);
    }
    for (int q = 0; q < NP * NI * NI; q++) {
        double e = rel_err(hess[q], fdg[q], 1e-3);
        if (e > worst) worst = e;
        CHECK(e <= 1e-6, "hess %d: %.12g vs fd %.12g", q, hess[q], fdg[q]);
    }
    /* gradient-only plan gives the same gradient */
    physrt_jet_plan *gplan = physrt_jet_plan_create_gradient(NI);
    physrt_mlp_eval_f64 *gev = physrt_mlp_eval_create_f64(&desc, gplan, NP, NULL);
    physrt_mlp_gradient_f64(gev, params, NP, x, v1, g1);
    CHECK(memcmp(g1, grad, sizeof g1) == 0 && memcmp(v1, value, sizeof v1) == 0,
          "gradient plan agrees with Hessian plan");
    CHECK(physrt_mlp_hessian_f64(gev, params, NP, x, v1, g1, hess) == PHYSRT_EINVAL,
          "Hessian needs second-order streams");

    /* parameter gradient of a loss of value, gradient and Hessian */
    field_ctx c = {ev, x, {0}, {0}, {0}};
    double *pg = calloc(np, sizeof *pg);
    field_loss(&c, params, pg);
    double gmax = 0;
    for (size_t q = 0; q < np; q++) gmax = fmax(gmax, fabs(pg[q]));
    const double hp = 1e-4;
    for (size_t q = 0; q < np; q++) {
        double keep = params[q], f[4];
        const double steps[4] = {2, 1, -1, -2};
        for (int k = 0; k < 4; k++) {
            params[q] = keep + steps[k] * hp;
            f[k] = field_loss(&c, params, NULL);
        }
        params[q] = keep;
        double fd = (-f[0] + 8 * f[1] - 8 * f[2] + f[3]) / (12 * hp);
        double e = rel_err(pg[q], fd, 1e-4 * gmax);
        if (e > worst) worst = e;
        CHECK(e <= 1e-6, "param %zu: %.12g vs fd %.12g", q, pg[q], fd);
    }
    /* gradient_backward: loss sum grad_i (e.g. -grad V as a force) */
    double *pg2 = calloc(np, sizeof *pg2), ones[NP * NI];
    for (int q = 0; q < NP * NI; q++) ones[q] = 1;
    physrt_mlp_gradient_f64(gev, params, NP, x, v1, g1);
    CHECK(physrt_mlp_gradient_backward_f64(gev, params, NULL, ones, pg2) == PHYSRT_OK, "grad backward");
    double gm2 = 0;
    for (size_t q = 0; q < np; q++) gm2 = fmax(gm2, fabs(pg2[q]));
    for (size_t q = 0; q < np; q += 7) {
        double keep = params[q], f[2];
        for (int k = 0; k < 2; k++) {
            params[q] = keep + (k ? -hp : hp);
            physrt_mlp_gradient_f64(gev, params, NP, x, v1, g1);
            f[k] = 0;
            for (int r = 0; r < NP * NI; r++) f[k] += g1[r];
        }
        params[q] = keep;
        double fd = (f[0] - f[1]) / (2 * hp);
        CHECK(rel_err(pg2[q], fd, 1e-4 * gm2) <= 1e-6, "grad-loss param %zu: %.12g vs %.12g", q,
              pg2[q], fd);
    }
    printf("worst relative error vs finite differences: %.3g\n", worst);
    physrt_mlp_eval_destroy_f64(gev);
    physrt_mlp_eval_destroy_f64(ev);
    physrt_jet_plan_destroy(gplan);
    physrt_jet_plan_destroy(plan);
    free(params); free(pg); free(pg2);
    return check_summary("runtime_field_derivs");
}
