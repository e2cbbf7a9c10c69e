/* burgers_step.c - times full training steps of the Burgers PINN on
 * libphysrt: forward jets (u, u_t, u_x, u_xx) at the collocation points,
 * residual loss r = u_t + u u_x - nu u_xx, one reverse sweep to the
 * parameter gradients, the boundary/initial loss, and an Adam update.
 * Network 2 -> 8 x 20 tanh -> 1 as in Raissi et al. and torch_pinn.py.
 *
 * Usage: bench_burgers_step [--f64] [--steps N] [--threads T] [--points N]
 * Prints steps/s and the achieved GFLOP/s, counting matrix products only:
 * 2 * in * out per point per stream per layer forward, twice that backward. */
#define _POSIX_C_SOURCE 200809L
#include "physrt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    int steps, threads, points, f64;
} bench_config;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define REAL float
#define SFX(name) name##_f32
#include "burgers_step_tmpl.h"
#undef REAL
#undef SFX

#define REAL double
#define SFX(name) name##_f64
#include "burgers_step_tmpl.h"
#undef REAL
#undef SFX

/* Matrix-product FLOPs of one step: collocation points carry 4 streams,
 * boundary points 1; backward costs twice the forward. */
static double step_flops(int n_col)
{
    const int widths[10] = {2, 20, 20, 20, 20, 20, 20, 20, 20, 1};
    double per_point_stream = 0;
    for (int l = 0; l < 9; l++) per_point_stream += 2.0 * widths[l] * widths[l + 1];
    double forward = per_point_stream * (4.0 * n_col + 1.0 * 100);
    return 3 * forward;
}

int main(int argc, char **argv)
{
    bench_config cfg = {50, 2, 10000, 0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--f64") == 0) cfg.f64 = 1;
        else if (strcmp(argv[i], "--steps") == 0 && i + 1 < argc) cfg.steps = atoi(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) cfg.threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--points") == 0 && i + 1 < argc) cfg.points = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--f64] [--steps N] [--threads T] [--points N]\n", argv[0]);
            return 2;
        }
    }
    if (cfg.steps < 1 || cfg.threads < 1 || cfg.points < 1) {
        fprintf(stderr, "steps, threads and points must be positive\n");
        return 2;
    }
    double loss;
    double seconds = cfg.f64 ? run_f64(&cfg, &loss) : run_f32(&cfg, &loss);
    double sps = cfg.steps / seconds;
    printf("burgers %s threads=%d points=%d steps=%d seconds=%.3f steps_per_s=%.1f "
           "gflop_per_s=%.2f loss=%.4g\n",
           cfg.f64 ? "f64" : "f32", cfg.threads, cfg.points, cfg.steps, seconds, sps,
           sps * step_flops(cfg.points) * 1e-9, loss);
    return 0;
}
