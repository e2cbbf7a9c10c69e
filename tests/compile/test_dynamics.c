/* Checks the dynamics physc generated for one model (linked in as an
 * object), numerically, through the runtime's term evaluator:
 *  - Hamiltonian: dq/dt = dH/dp and dp/dt = -dH/dq against central finite
 *    differences of the energy pseudo-term;
 *  - Newtonian: dr/dt = v exactly; with a potential, m a = -dE/dr against
 *    finite differences; total force sum m a = 0 to round-off whenever the
 *    model has a momentum (pair forces, translation-invariant potentials);
 *  - data terms: ddt() residuals and trajectory(t) residuals recomputed
 *    from the rhs (implicit midpoint or velocity Verlet steps).
 * Network weights are random (fixed seed), biases nonzero. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "model_internal.h"

enum { N_POINTS = 5 };

/* expect_close, labelled with the point and component. */
static void expect_at(const char *what, int point, int index, double got, double want, double rel, double abs_floor)
{
    char label[160];
    snprintf(label, sizeof label, "%s (point %d, component %d)", what, point, index);
    expect_close(label, got, want, rel, abs_floor);
}

static double noise(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return ((*state >> 8) & 0xffff) / 65536.0 - 0.5;
}

typedef struct {
    const physm_layout *lay;
    const double *theta;
    const physm_dynamics *d;
    int nc;
} model_ctx;

/* Residuals of term t at n points (out[j * n + p]). */
static void eval_term(const model_ctx *c, const physm_term *t, const double *points, int n, double *out)
{
    physm_term_eval *ev = physm_term_eval_create(c->lay, t, n);
    if (!ev || physm_term_eval_run(ev, c->theta, points, n, out)) {
        printf("FAIL cannot evaluate term %s\n", t->name);
        exit(1);
    }
    physm_term_eval_destroy(ev);
}

static double eval_one(const model_ctx *c, const physm_term *t, const double *point, int j)
{
    double out[256];
    eval_term(c, t, point, 1, out);
    return out[j];
}

/* Random state points: particles near a jittered line (never closer than
 * about 0.6), masses in [0.75, 1.25]. */
static void random_points(const model_ctx *c, unsigned seed, double *pts)
{
    const physm_dynamics *d = c->d;
    for (int p = 0; p < N_POINTS; p++) {
        double *x = pts + (size_t)p * c->nc;
        for (int j = 0; j < c->nc; j++) x[j] = noise(&seed);
        if (d->kind == PHYSM_DYN_NEWTON)
            for (int j = 0; j < d->n_half; j++) x[j] = (j % d->dim == 0 ? j / d->dim : 0.3 * (j / d->dim % 2)) + 0.15 * x[j];
        for (int j = d->n_state; j < c->nc; j++) x[j] = 1.0 + 0.5 * x[j];
    }
}

/* Masses of Newtonian particles, read off the momentum pseudo-term (sum m v
 * with one velocity component set). */
static void masses(const model_ctx *c, const double *point, double *m)
{
    const physm_dynamics *d = c->d;
    int n = d->n_half / d->dim;
    double x[256];
    for (int i = 0; i < n; i++) {
        memcpy(x, point, sizeof(double) * (size_t)c->nc);
        for (int j = d->n_half; j < d->n_state; j++) x[j] = 0;
        x[d->n_half + i * d->dim] = 1;
        m[i] = eval_one(c, d->momentum, x, 0);
    }
}

static double energy_diff(const model_ctx *c, const double *point, int j)
{
    double x[256], h = 1e-5 * (1 + fabs(point[j]));
    memcpy(x, point, sizeof(double) * (size_t)c->nc);
    x[j] = point[j] + h;
    double up = eval_one(c, c->d->energy, x, 0);
    x[j] = point[j] - h;
    double down = eval_one(c, c->d->energy, x, 0);
    return (up - down) / (2 * h);
}

static void check_rhs(const model_ctx *c, const double *pts, const double *f)
{
    const physm_dynamics *d = c->d;
    const int n = N_POINTS, half = d->n_half;
    for (int p = 0; p < n; p++) {
        const double *x = pts + (size_t)p * c->nc;
        if (d->kind == PHYSM_DYN_HAMILTONIAN && d->energy)
            for (int k = 0; k < half; k++) {
                expect_at("dq/dt = dH/dp", p, k, f[k * n + p], energy_diff(c, x, half + k), 1e-6, 1e-9);
                expect_at("dp/dt = -dH/dq", p, k, f[(half + k) * n + p], -energy_diff(c, x, k), 1e-6, 1e-9);
            }
        if (d->kind != PHYSM_DYN_NEWTON) continue;
        double m[64];
        masses(c, x, m);
        for (int k = 0; k < half; k++) expect_at("dr/dt = v", p, k, f[k * n + p], x[half + k], 0, 0);
        if (d->energy)
            for (int k = 0; k < half; k++)
                expect_at("m a = -dE/dr", p, k, m[k / d->dim] * f[(half + k) * n + p], -energy_diff(c, x, k), 1e-6,
                             1e-9);
        if (d->momentum) { /* total force: the momentum with v := a */
            double y[256], scale = 0;
            memcpy(y, x, sizeof(double) * (size_t)c->nc);
            for (int k = 0; k < half; k++) {
                y[half + k] = f[(half + k) * n + p];
                scale += fabs(m[k / d->dim] * y[half + k]);
            }
            for (int a = 0; a < d->dim; a++)
                expect_at("sum of forces", p, a, eval_one(c, d->momentum, y, a), 0, 0, 1e-14 * scale);
        }
    }
}

static int column_of(const model_ctx *c, const char *name)
{
    for (int j = 0; j < c->nc; j++)
        if (!strcmp(c->d->names[j], name)) return j;
    return -1;
}

/* A trajectory term at random pairs of rows (dt = 0.05), against the
 * integrator step recomputed from the rhs. */
static void check_trajectory(const model_ctx *c, const physm_term *t, const double *pts)
{
    const physm_dynamics *d = c->d;
    const int n = N_POINTS, cols = t->n_coords / 2, ns = d->n_state, half = d->n_half;
    const double dt = 0.05;
    unsigned seed = 99;
    double *rows = calloc((size_t)n * t->n_coords, sizeof *rows), *r = calloc((size_t)n * t->n_residuals, sizeof *r);
    double s0[256], s1[256], mid[256], f0[256], f1[256];
    for (int p = 0; p < n; p++) {
        memcpy(s0, pts + (size_t)p * c->nc, sizeof(double) * (size_t)c->nc);
        memcpy(s1, s0, sizeof(double) * (size_t)c->nc);
        for (int j = 0; j < ns; j++) s1[j] += 0.05 * noise(&seed);
        double *row = rows + (size_t)p * t->n_coords;
        for (int k = 0; k < cols; k++) {
            int j = column_of(c, t->columns[k]);
            row[k] = k == t->time_column ? 0.3 : s0[j];
            row[cols + k] = k == t->time_column ? 0.3 + dt : s1[j];
        }
    }
    eval_term(c, t, rows, n, r);
    for (int p = 0; p < n; p++) {
        const double *row = rows + (size_t)p * t->n_coords;
        for (int j = 0; j < c->nc; j++) s0[j] = s1[j] = 0;
        for (int k = 0; k < cols; k++)
            if (k != t->time_column) s0[column_of(c, t->columns[k])] = row[k], s1[column_of(c, t->columns[k])] = row[cols + k];
        for (int j = ns; j < c->nc; j++) s1[j] = s0[j];
        if (d->kind == PHYSM_DYN_NEWTON) {
            for (int j = 0; j < ns; j++) f0[j] = eval_one(c, d->rhs, s0, j);
            memcpy(mid, s0, sizeof(double) * (size_t)c->nc);
            memcpy(mid, s1, sizeof(double) * (size_t)half);
            for (int j = 0; j < ns; j++) f1[j] = eval_one(c, d->rhs, mid, j);
            for (int k = 0; k < half; k++) {
                double want_r = (s1[k] - s0[k]) / dt - s0[half + k] - dt / 2 * f0[half + k];
                double want_v = (s1[half + k] - s0[half + k]) / dt - (f0[half + k] + f1[half + k]) / 2;
                expect_at("Verlet step residual (r)", p, k, r[k * n + p], want_r, 1e-10, 1e-10);
                expect_at("Verlet step residual (v)", p, k, r[(half + k) * n + p], want_v, 1e-10, 1e-10);
            }
        } else {
            memcpy(mid, s0, sizeof(double) * (size_t)c->nc);
            for (int j = 0; j < ns; j++) mid[j] = (s0[j] + s1[j]) / 2;
            for (int j = 0; j < ns; j++)
                expect_at("midpoint step residual", p, j, r[j * n + p],
                             (s1[j] - s0[j]) / dt - eval_one(c, d->rhs, mid, j), 1e-10, 1e-10);
        }
    }
    free(rows);
    free(r);
}

/* A data term with ddt(): columns are states and their observed rates
 * (named d<state>); residual j = rhs_j - observed. */
static void check_rates(const model_ctx *c, const physm_term *t, const double *pts, const double *f)
{
    const int n = N_POINTS;
    double *rows = calloc((size_t)n * t->n_coords, sizeof *rows), *r = calloc((size_t)n * t->n_residuals, sizeof *r);
    unsigned seed = 5;
    for (int p = 0; p < n; p++)
        for (int k = 0; k < t->n_coords; k++) {
            int j = column_of(c, t->columns[k]);
            rows[(size_t)p * t->n_coords + k] = j >= 0 ? pts[(size_t)p * c->nc + j] : noise(&seed);
        }
    eval_term(c, t, rows, n, r);
    for (int p = 0; p < n; p++)
        for (int k = 0; k < t->n_coords; k++) {
            if (t->columns[k][0] != 'd') continue;
            int j = column_of(c, t->columns[k] + 1), res = 0;
            for (int q = 0; q < k; q++) res += t->columns[q][0] == 'd';
            expect_at("ddt() residual", p, j, r[res * n + p], f[j * n + p] - rows[(size_t)p * t->n_coords + k], 1e-12,
                         1e-12);
        }
    free(rows);
    free(r);
}

int main(void)
{
    const physm_model *m = physm_model_get();
    physm_layout lay;
    if (!m->dynamics || physm_layout_init(&lay, m, "test_dynamics")) {
        printf("FAIL the model has no usable dynamics\n");
        return 1;
    }
    double *theta = calloc(lay.n_theta + 1, sizeof *theta);
    physm_layout_fresh(&lay, 11, theta);
    for (size_t k = 0; k < lay.n_weights; k++) theta[k] += 0.05 * sin(1.0 + (double)k);
    model_ctx c = {&lay, theta, m->dynamics, m->dynamics->n_state + m->dynamics->n_aux};
    double pts[N_POINTS * 256], f[N_POINTS * 256];
    random_points(&c, 3, pts);
    eval_term(&c, c.d->rhs, pts, N_POINTS, f);
    check_rhs(&c, pts, f);
    for (int t = 0; t < m->n_terms; t++) {
        if (m->terms[t].pair_rows) check_trajectory(&c, &m->terms[t], pts);
        else check_rates(&c, &m->terms[t], pts, f);
    }
    printf("%s: %d checks, %d failed\n", m->name, checks, failures);
    physm_layout_free(&lay);
    free(theta);
    return failures != 0;
}
