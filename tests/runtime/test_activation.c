/* Activations: every derivative order 1..5 against an 8th-order central
 * difference of the next-lower analytic order (float64), float32 against
 * float64, batch against scalar, name round trips. */
#include "check.h"
#include "physrt.h"

#include <string.h>

static double deriv_k(physrt_activation act, double z, int k)
{
    double d[PHYSRT_ACT_MAX_ORDER + 1];
    physrt_activation_derivs_f64(act, z, k, d);
    return d[k];
}

int main(void)
{
    const double zs[] = {-3.1, -1.3, -0.45, 0.2, 0.7, 1.9, 3.4};
    const int nz = (int)(sizeof zs / sizeof zs[0]);
    const double h = 1e-3;
    double worst = 0;
    for (int a = 0; a < PHYSRT_ACT_COUNT; a++) {
        physrt_activation act = (physrt_activation)a;
        /* relu's higher derivatives are zero away from the kink */
        int max_k = act == PHYSRT_ACT_RELU ? 1 : PHYSRT_ACT_MAX_ORDER;
        for (int iz = 0; iz < nz; iz++) {
            for (int k = 1; k <= max_k; k++) {
                double fd = 0;
                for (int m = 1; m <= 4; m++)
                    fd += fd8_weights[m - 1] *
                          (deriv_k(act, zs[iz] + m * h, k - 1) - deriv_k(act, zs[iz] - m * h, k - 1));
                fd /= h;
                double an = deriv_k(act, zs[iz], k);
                double e = rel_err(an, fd, 1e-3);
                if (e > worst) worst = e;
                CHECK(e <= 1e-6, "%s order %d at z=%g: analytic %.15g fd %.15g",
                      physrt_activation_name(act), k, zs[iz], an, fd);
            }
            if (act == PHYSRT_ACT_GAUSSIAN || act == PHYSRT_ACT_COS) { /* the values n2p2 means by g and c */
                const double v = act == PHYSRT_ACT_COS ? cos(zs[iz]) : exp(-zs[iz] * zs[iz] / 2);
                CHECK(rel_err(deriv_k(act, zs[iz], 0), v, 1e-300) <= 1e-15, "%s at z=%g: %.17g vs %.17g",
                      physrt_activation_name(act), zs[iz], deriv_k(act, zs[iz], 0), v);
            }
            if (act == PHYSRT_ACT_RELU)
                for (int k = 2; k <= PHYSRT_ACT_MAX_ORDER; k++)
                    CHECK(deriv_k(act, zs[iz], k) == 0, "relu order %d not zero", k);
            /* float32 agrees with float64 to float32 round-off */
            float df[PHYSRT_ACT_MAX_ORDER + 1];
            double dd[PHYSRT_ACT_MAX_ORDER + 1];
            physrt_activation_derivs_f32(act, (float)zs[iz], PHYSRT_ACT_MAX_ORDER, df);
            physrt_activation_derivs_f64(act, (double)(float)zs[iz], PHYSRT_ACT_MAX_ORDER, dd);
            for (int k = 0; k <= PHYSRT_ACT_MAX_ORDER; k++)
                CHECK(close_rel(df[k], dd[k], 2e-5, 1e-2), "%s f32 order %d: %g vs %g",
                      physrt_activation_name(act), k, df[k], dd[k]);
        }
        /* batch form equals the scalar form */
        double out[PHYSRT_ACT_MAX_ORDER + 1][8];
        double *outs[PHYSRT_ACT_MAX_ORDER + 1];
        for (int k = 0; k <= PHYSRT_ACT_MAX_ORDER; k++) outs[k] = out[k];
        CHECK(physrt_activation_eval_f64(act, PHYSRT_ACT_MAX_ORDER, nz, zs, outs) == PHYSRT_OK,
              "batch eval");
        for (int iz = 0; iz < nz; iz++)
            for (int k = 0; k <= PHYSRT_ACT_MAX_ORDER; k++) {
                double s = deriv_k(act, zs[iz], k);
                CHECK(close_rel(out[k][iz], s, 1e-14, 1e-12), "%s batch order %d: %.17g vs %.17g",
                      physrt_activation_name(act), k, out[k][iz], s);
            }
        physrt_activation parsed;
        CHECK(physrt_activation_parse(physrt_activation_name(act), &parsed) == PHYSRT_OK &&
                  parsed == act, "name round trip %d", a);
    }
    /* a few exact values */
    CHECK(fabs(deriv_k(PHYSRT_ACT_GELU, 1.0, 0) - 0.8413447460685429) < 1e-15, "gelu(1)");
    CHECK(fabs(deriv_k(PHYSRT_ACT_SOFTPLUS, 0.0, 0) - log(2.0)) < 1e-15, "softplus(0)");
    CHECK(fabs(deriv_k(PHYSRT_ACT_SOFTPLUS, 800.0, 0) - 800.0) < 1e-12, "softplus(800)");
    CHECK(fabs(deriv_k(PHYSRT_ACT_SIGMOID, -800.0, 1)) < 1e-300, "sigmoid' tail");
    CHECK(physrt_activation_derivs_f64(PHYSRT_ACT_TANH, 0, 6, (double[7]){0}) == PHYSRT_EINVAL,
          "order 6 rejected");
    printf("worst relative error vs finite differences: %.3g\n", worst);
    return check_summary("runtime_activation");
}
