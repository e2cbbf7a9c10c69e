/* The dynamics' pseudo-terms through term_eval (runtime/term_eval.c) and
 * trajectory points (pair_rows, runtime/points.c), on the hand-written HNN
 * model: the rhs (H_p, -H_q from the network's jets) against central finite
 * differences of the energy term (H); a smaller batch than the evaluator's
 * maximum gives the same values; consecutive rows of a trajectory file
 * become points, a time that does not increase starts a new trajectory. */
#define _POSIX_C_SOURCE 200809L
#define HNN_NO_MAIN
#include "hnn.c"

#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h" /* tests/runtime: CHECK, check_summary */
#include <unistd.h>


enum { N = 7 };

static void test_rhs_against_energy(const physm_layout *lay, const double *theta)
{
    const physm_dynamics *d = lay->model->dynamics;
    physm_term_eval *rhs = physm_term_eval_create(lay, d->rhs, N);
    physm_term_eval *en = physm_term_eval_create(lay, d->energy, 4 * N);
    CHECK(rhs && en, "create");
    if (!rhs || !en) goto out;
    double pts[2 * N], f[2 * N], f3[2 * 3];
    for (int i = 0; i < N; i++) {
        pts[2 * i] = -1.2 + 0.37 * i;
        pts[2 * i + 1] = 0.9 - 0.29 * i;
    }
    CHECK(physm_term_eval_run(rhs, theta, pts, N, f) == 0, "rhs eval");
    /* H at q +- e, p +- e for every point, in one batch */
    const double e = 1e-5;
    double shifted[2 * 4 * N], H[4 * N];
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 4; k++) {
            double *x = shifted + 2 * (4 * i + k);
            x[0] = pts[2 * i] + (k == 0 ? e : k == 1 ? -e : 0);
            x[1] = pts[2 * i + 1] + (k == 2 ? e : k == 3 ? -e : 0);
        }
    CHECK(physm_term_eval_run(en, theta, shifted, 4 * N, H) == 0, "energy eval");
    double worst = 0;
    for (int i = 0; i < N; i++) {
        const double Hq = (H[4 * i] - H[4 * i + 1]) / (2 * e), Hp = (H[4 * i + 2] - H[4 * i + 3]) / (2 * e);
        const double fq = f[i], fp = f[N + i];
        const double rq = fabs(fq - Hp) / fmax(fabs(Hp), 1e-3), rp = fabs(fp + Hq) / fmax(fabs(Hq), 1e-3);
        CHECK(rq < 1e-6 && rp < 1e-6, "point %d: rhs (%.12g, %.12g), finite differences (%.12g, %.12g)", i, fq,
              fp, Hp, -Hq);
        worst = fmax(worst, fmax(rq, rp));
    }
    fprintf(stderr, "rhs vs finite differences of the energy: worst relative error %.2e\n", worst);
    /* a batch of 3 of at most N: the same numbers to round-off (the kernels
     * may round a short batch differently; the stream layout follows n) */
    CHECK(physm_term_eval_run(rhs, theta, pts, 3, f3) == 0, "rhs eval n = 3");
    for (int i = 0; i < 3; i++)
        CHECK(fabs(f3[i] - f[i]) <= 1e-13 * fabs(f[i]) && fabs(f3[3 + i] - f[N + i]) <= 1e-13 * fabs(f[N + i]),
              "point %d: batch of 3 (%.17g, %.17g) differs from batch of %d (%.17g, %.17g)", i, f3[i], f3[3 + i],
              N, f[i], f[N + i]);
    CHECK(physm_term_eval_run(rhs, theta, pts, N + 1, f) == -1, "n above max_points accepted");
    CHECK(physm_term_eval_run(rhs, theta, pts, 0, f) == 0, "n = 0 refused");
out:
    physm_term_eval_destroy(rhs);
    physm_term_eval_destroy(en);
}

static void test_pair_rows(const physm_model *base)
{
    char dir[] = "/tmp/physm_dyn_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    char path[64];
    snprintf(path, sizeof path, "%s/hnn_traj.csv", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "cannot write %s", path);
    if (!f) return;
    /* trajectory A: t = 0, 0.1, 0.2; B: t = 0, 0.5; C (same time again): 0.5, 0.7 */
    fputs("p,t,q,other\n1,0,10,x\n2,0.1,20,x\n3,0.2,30,x\n4,0,40,x\n5,0.5,50,x\n6,0.5,60,x\n7,0.7,70,x\n", f);
    fclose(f);
    physm_model m = *base;
    m.source_dir = dir;   /* the data path resolves against it */
    physm_layout lay;
    CHECK(physm_layout_init(&lay, &m, "test") == 0, "layout");
    double *pts = NULL;
    int n = 0;
    CHECK(physm_term_points(&lay, 0, 0, &pts, &n) == 0, "pair_rows points");
    const double want[][6] = {{0, 10, 1, 0.1, 20, 2}, {0.1, 20, 2, 0.2, 30, 3}, {0, 40, 4, 0.5, 50, 5},
                              {0.5, 60, 6, 0.7, 70, 7}};
    CHECK(n == 4, "%d pairs, expected 4", n);
    for (int i = 0; i < n && i < 4; i++)
        for (int k = 0; k < 6; k++)
            CHECK(pts[6 * i + k] == want[i][k], "pair %d coordinate %d: %g, expected %g", i, k, pts[6 * i + k],
                  want[i][k]);
    free(pts);
    physm_layout_free(&lay);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const physm_model *m = physm_model_get();
    physm_layout lay;
    if (physm_layout_init(&lay, m, "test")) return 1;
    double *theta = calloc(lay.n_theta + 1, sizeof *theta);
    if (!theta || physm_layout_fresh(&lay, 3, theta)) return 1;
    test_rhs_against_energy(&lay, theta);
    test_pair_rows(m);
    free(theta);
    physm_layout_free(&lay);
    return check_summary("test_dynamics");
}
