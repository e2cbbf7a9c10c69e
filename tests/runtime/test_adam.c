/* Adam: convergence on an ill-conditioned convex quadratic (f64 and f32),
 * the first bias-corrected step, and the learning-rate schedules. */
#include "check.h"
#include "physrt.h"

#include <stdlib.h>

#define N 10

int main(void)
{
    /* f = sum_i c_i (x_i - t_i)^2 / 2 with c from 1 to 100 */
    double c[N], t[N];
    for (int i = 0; i < N; i++) {
        c[i] = pow(100.0, (double)i / (N - 1));
        t[i] = sin(1.0 + i);
    }
    physrt_adam_options o;
    physrt_adam_default_options(&o);
    o.schedule.kind = PHYSRT_LR_EXPONENTIAL;
    o.schedule.lr = 0.05;
    o.schedule.decay_rate = 0.1;
    o.schedule.decay_steps = 2000;
    physrt_adam *adam = physrt_adam_create(N, &o);
    double x[N] = {0}, g[N];
    for (int k = 0; k < 5000; k++) {
        for (int i = 0; i < N; i++) g[i] = c[i] * (x[i] - t[i]);
        physrt_adam_step_f64(adam, x, g);
    }
    double err = 0;
    for (int i = 0; i < N; i++) err = fmax(err, fabs(x[i] - t[i]));
    printf("adam f64 after 5000 steps: max |x - x*| = %.3g\n", err);
    CHECK(err < 1e-4, "f64 converged: %g", err);
    CHECK(physrt_adam_steps(adam) == 5000, "step count");

    physrt_adam_reset(adam);
    float xf[N] = {0}, gf[N];
    for (int k = 0; k < 5000; k++) {
        for (int i = 0; i < N; i++) gf[i] = (float)(c[i] * (xf[i] - t[i]));
        physrt_adam_step_f32(adam, xf, gf);
    }
    err = 0;
    for (int i = 0; i < N; i++) err = fmax(err, fabs(xf[i] - t[i]));
    CHECK(err < 1e-3, "f32 converged: %g", err);
    physrt_adam_destroy(adam);

    /* first step moves every coordinate by lr * sign(g) (up to eps) */
    physrt_adam_default_options(&o);
    adam = physrt_adam_create(3, &o);
    double y[3] = {0, 0, 0}, gy[3] = {5, -0.01, 1e-3};
    physrt_adam_step_f64(adam, y, gy);
    CHECK(fabs(y[0] + 1e-3) < 1e-10 && fabs(y[1] - 1e-3) < 1e-8 && fabs(y[2] + 1e-3) < 1e-7,
          "first step (%g %g %g)", y[0], y[1], y[2]);
    physrt_adam_destroy(adam);

    /* schedules */
    physrt_lr_schedule s = {PHYSRT_LR_CONSTANT, 0.1, 0.5, 10, 0.01, 100};
    CHECK(physrt_lr_at(&s, 57) == 0.1, "constant");
    s.kind = PHYSRT_LR_EXPONENTIAL;
    CHECK(fabs(physrt_lr_at(&s, 10) - 0.05) < 1e-15 && fabs(physrt_lr_at(&s, 5) - 0.1 * sqrt(0.5)) < 1e-15,
          "exponential");
    s.kind = PHYSRT_LR_STEP;
    CHECK(physrt_lr_at(&s, 9) == 0.1 && fabs(physrt_lr_at(&s, 25) - 0.025) < 1e-15, "step");
    s.kind = PHYSRT_LR_COSINE;
    CHECK(fabs(physrt_lr_at(&s, 0) - 0.1) < 1e-15 && fabs(physrt_lr_at(&s, 50) - 0.055) < 1e-15 &&
              fabs(physrt_lr_at(&s, 100) - 0.01) < 1e-15 && fabs(physrt_lr_at(&s, 500) - 0.01) < 1e-15,
          "cosine");
    return check_summary("runtime_adam");
}
