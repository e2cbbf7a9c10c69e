/* Checks an atomic network physc generated (linked in as an object):
 *  - atomic_golden: n2p2's golden symmetry-function values (three atoms,
 *    TANHU, rc = 10; ../shared/design/interatomic-notes.md) to 1e-14;
 *  - atomic_cut_cos, atomic_cut_poly2: n2p2's golden cutoff values (rc =
 *    3, inner 0.2 rc, r = 2.4) to 1e-14;
 *  - otherwise (atomic_si; atomic_sio: two elements, a network each):
 *    forces against central differences of the energy, the Hessian times a
 *    vector against central differences of the forces, total
 *    force zero, the energy invariant under a rotation and translation,
 *    and the frames loss's gradient (the tangent-stream force training)
 *    against central differences of the loss, relative 1e-6.
 * Weights are random (fixed seed). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "model_internal.h"

typedef struct {
    const physm_layout *lay;
    const double *theta;
    physm_config cfg;
    long n;
} sys_ctx;

static double energy(const sys_ctx *c, double *forces)
{
    physm_system_eval *ev = physm_system_eval_create(c->lay, c->cfg.count, NULL);
    double e = NAN;
    double *f[8] = {0};
    double scratch[3 * 64];
    f[0] = forces ? forces : scratch;
    if (!ev || physm_system_eval_run(ev, c->theta, &c->cfg, &e, f)) printf("FAIL evaluation: %s\n", ev ? physm_system_eval_error(ev) : "oom");
    physm_system_eval_destroy(ev);
    return e;
}

static const double golden_atoms[9] = {0, 0, 0, 1, 2, 1, 0, 3, -1};

static const struct {
    const char *name;
    double value;
} golden[] = {
    {"g2_eta0.001_rs0", 0.46578975865793892},
    {"g2_eta0.03_rs1", 0.42613074319879601},
    {"g4_eta0.001_zeta1_lambda+1_rs0", 0.022781144245150042},
    {"g4_eta0.03_zeta4_lambda-1_rs2", 2.6506732726623567e-05},
    {"g5_eta0.001_zeta1_lambda+1_rs0", 0.088187604914213763},
    {"g5_eta0.031_zeta4_lambda-1_rs2", 1.0245670290254523e-04},
};

static void check_golden(const sys_ctx *c)
{
    const physm_system *s = c->lay->model->system;
    const physm_field *f = &c->lay->model->fields[s->atomic->field];
    double G[3 * 64];
    physm_system_eval *ev = physm_system_eval_create(c->lay, c->cfg.count, NULL);
    if (!ev || physm_system_eval_descriptors(ev, c->theta, &c->cfg, G)) {
        printf("FAIL descriptors\n");
        failures++;
    }
    physm_system_eval_destroy(ev);
    for (size_t g = 0; g < sizeof golden / sizeof *golden; g++) {
        int k = -1;
        for (int i = 0; i < f->n_inputs; i++)
            if (!strcmp(f->input_names[i], golden[g].name)) k = i;
        if (k < 0) {
            printf("FAIL no symmetry function %s\n", golden[g].name);
            failures++;
            continue;
        }
        expect_close(golden[g].name, G[k], golden[g].value, 1e-14, 0);
    }
}

static void check_cutoff(const sys_ctx *c, double want)
{
    double G[2];
    physm_system_eval *ev = physm_system_eval_create(c->lay, c->cfg.count, NULL);
    if (!ev || physm_system_eval_descriptors(ev, c->theta, &c->cfg, G)) {
        printf("FAIL descriptors\n");
        failures++;
    }
    physm_system_eval_destroy(ev);
    expect_close("cutoff function at r = 2.4 (atom 0)", G[0], want, 1e-14, 0);
    expect_close("cutoff function at r = 2.4 (atom 1)", G[1], want, 1e-14, 0);
}

static void check_forces(sys_ctx *c)
{
    double *r = c->cfg.arrays[0], F[3 * 64];
    const double e0 = energy(c, F);
    double total[3] = {0}, fmax = 0;
    for (long i = 0; i < c->n; i++)
        for (int x = 0; x < 3; x++) {
            total[x] += F[i * 3 + x];
            if (fabs(F[i * 3 + x]) > fmax) fmax = fabs(F[i * 3 + x]);
        }
    for (int x = 0; x < 3; x++) expect_close("total force", total[x] / fmax, 0, 0, 1e-13);
    for (long i = 0; i < c->n; i++)
        for (int x = 0; x < 3; x++) {
            const double h = 1e-5, keep = r[i * 3 + x];
            r[i * 3 + x] = keep + h;
            double ep = energy(c, NULL);
            r[i * 3 + x] = keep - h;
            double em = energy(c, NULL);
            r[i * 3 + x] = keep;
            char label[64];
            snprintf(label, sizeof label, "force on atom %ld, axis %d", i, x);
            expect_close(label, F[i * 3 + x], -(ep - em) / (2 * h), 1e-6, 1e-8 * fmax);
        }
    /* a rotation about z by 0.7 rad and a shift, open boundaries */
    double *saved = malloc(sizeof(double) * (size_t)c->n * 3);
    memcpy(saved, r, sizeof(double) * (size_t)c->n * 3);
    const double cs = cos(0.7), sn = sin(0.7);
    for (long i = 0; i < c->n; i++) {
        double x = r[i * 3], y = r[i * 3 + 1];
        r[i * 3] = cs * x - sn * y + 0.3, r[i * 3 + 1] = sn * x + cs * y - 1.1, r[i * 3 + 2] += 2.0;
    }
    expect_close("energy after a rotation and translation", energy(c, NULL), e0, 1e-12, 0);
    memcpy(r, saved, sizeof(double) * (size_t)c->n * 3);
    free(saved);
}

/* The analytic Hessian-vector product (physm_system_eval_hvp: dF along u)
 * against central differences of the forces along u. */
static void check_hessian(sys_ctx *c)
{
    double *r = c->cfg.arrays[0], u[3 * 64], hu[3 * 64], fp[3 * 64], fm[3 * 64];
    for (long q = 0; q < c->n * 3; q++) u[q] = sin(1.7 * (double)q + 0.3);
    physm_system_eval *ev = physm_system_eval_create(c->lay, c->cfg.count, NULL);
    double *out[8] = {hu}, e;
    if (!ev || physm_system_eval_run(ev, c->theta, &c->cfg, &e, out) || physm_system_eval_hvp(ev, c->theta, &c->cfg, u, out)) {
        printf("FAIL hessian-vector product: %s\n", ev ? physm_system_eval_error(ev) : "oom");
        failures++;
        physm_system_eval_destroy(ev);
        return;
    }
    physm_system_eval_destroy(ev);
    const double h = 1e-5;
    for (long q = 0; q < c->n * 3; q++) r[q] += h * u[q];
    energy(c, fp);
    for (long q = 0; q < c->n * 3; q++) r[q] -= 2 * h * u[q];
    energy(c, fm);
    for (long q = 0; q < c->n * 3; q++) r[q] += h * u[q];
    double scale = 0;
    for (long q = 0; q < c->n * 3; q++) scale = fmax(scale, fabs(hu[q]));
    for (long q = 0; q < c->n * 3; q++) {
        char label[64];
        snprintf(label, sizeof label, "dF/du (Hessian times u), component %ld", q);
        expect_close(label, hu[q], (fp[q] - fm[q]) / (2 * h), 1e-6, 1e-8 * scale);
    }
}

/* The kept Jacobian of the descriptors (what training uses for frames):
 * J u equals the tangent kernels' dG/dr . u, and its forces are J^T:
 * u . F_J(w) = -w . J u. */
static void check_jacobian(const sys_ctx *c, const char *what)
{
    const physm_system *s = c->lay->model->system;
    const int nf = s->atomic->n_features;
    const size_t n = (size_t)c->n;
    physm_system_eval *ev = physm_system_eval_create(c->lay, c->cfg.count, NULL);
    physm_desc_jacobian jac;
    double *u = malloc(sizeof(double) * n * 3), *t = malloc(sizeof(double) * n * nf), *tj = malloc(sizeof(double) * n * nf);
    double *w = malloc(sizeof(double) * n * nf), *F = calloc(n * 3, sizeof(double));
    physm_system_eval_set_skin(ev, 0);
    for (size_t q = 0; q < n * 3; q++) u[q] = cos(0.9 * (double)q + 0.2);
    for (size_t q = 0; q < n * (size_t)nf; q++) w[q] = sin(1.3 * (double)q + 0.5);
    if (physm_system_eval_tangent(ev, c->theta, &c->cfg, u, t) || physm_system_eval_jacobian(ev, c->theta, &c->cfg, &jac)) {
        printf("FAIL jacobian (%s): %s\n", what, physm_system_eval_error(ev));
        failures++;
    } else {
        physm_desc_jacobian_tangent(&jac, nf, 3, u, tj);
        double scale = 0, uF = 0, wt = 0;
        for (size_t q = 0; q < n * (size_t)nf; q++) scale = fmax(scale, fabs(t[q]));
        char label[96];
        for (size_t q = 0; q < n * (size_t)nf; q++) {
            snprintf(label, sizeof label, "J u against the tangent kernels (%s), %zu", what, q);
            expect_close(label, tj[q], t[q], 1e-12, 1e-14 * scale);
        }
        physm_desc_jacobian_forces(&jac, nf, 3, w, 1.0, F);
        for (size_t q = 0; q < n * 3; q++) uF += u[q] * F[q];
        for (size_t q = 0; q < n * (size_t)nf; q++) wt += w[q] * tj[q];
        snprintf(label, sizeof label, "u . J^T w = w . J u (%s)", what);
        expect_close(label, -uF, wt, 1e-12, 1e-14);
        physm_desc_jacobian_free(&jac);
    }
    physm_system_eval_destroy(ev);
    free(u), free(t), free(tj), free(w), free(F);
}

static void check_loss_gradient(const physm_layout *lay, double *theta)
{
    const physm_model *m = lay->model;
    for (int t = 0; t < m->n_terms; t++) {
        if (!m->terms[t].frames) continue;
        physm_frames_loss *fl = physm_frames_loss_create(lay, &m->terms[t], NULL);
        if (!fl) {
            printf("FAIL frames loss of %s\n", m->terms[t].name);
            failures++;
            continue;
        }
        physm_frames_loss_scaling(fl, theta + lay->scaling); /* as a fresh training run does */
        double *grad = calloc(lay->n_theta + 1, sizeof *grad);
        double l0 = physm_frames_loss_eval(fl, theta, grad);
        expect_close("loss is finite and positive", l0 > 0 && isfinite(l0), 1, 0, 0);
        double gmax = 0;
        for (size_t k = 0; k < lay->n_weights; k++)
            if (fabs(grad[k]) > gmax) gmax = fabs(grad[k]);
        const size_t sc_end = lay->scaling + 4 * (size_t)m->system->atomic->n_features;
        for (size_t k = lay->scaling; k < sc_end; k++)
            expect_close("the feature scaling has no gradient", grad[k], 0, 0, 0);
        for (size_t k = 0; k < lay->n_weights; k++) {
            if (k >= lay->scaling && k < sc_end) continue;
            const double h = 1e-6, keep = theta[k];
            theta[k] = keep + h;
            double lp = physm_frames_loss_eval(fl, theta, NULL);
            theta[k] = keep - h;
            double lm = physm_frames_loss_eval(fl, theta, NULL);
            theta[k] = keep;
            char label[64];
            snprintf(label, sizeof label, "d loss / d weight %zu", k);
            expect_close(label, grad[k], (lp - lm) / (2 * h), 1e-6, 1e-7 * gmax);
        }
        /* the same loss and gradient without the kept Jacobians (frames over the memory budget) */
        physm_frames_loss *plain = physm_frames_loss_create(lay, &m->terms[t], NULL);
        double *grad2 = calloc(lay->n_theta + 1, sizeof *grad2);
        memset(grad, 0, sizeof(double) * lay->n_theta);
        const double l1 = physm_frames_loss_eval(fl, theta, grad);
        physm_frames_loss_set_cache(plain, 0);
        const double l2 = physm_frames_loss_eval(plain, theta, grad2);
        expect_close("loss with and without kept Jacobians", l2, l1, 1e-12, 0);
        for (size_t k = 0; k < lay->n_weights; k++) {
            char label[80];
            snprintf(label, sizeof label, "gradient with and without kept Jacobians, %zu", k);
            expect_close(label, grad2[k], grad[k], 1e-10, 1e-12 * gmax);
        }
        physm_frames_loss_destroy(plain);
        free(grad2);
        free(grad);
        physm_frames_loss_destroy(fl);
    }
}

int main(void)
{
    const physm_model *m = physm_model_get();
    physm_layout lay;
    if (!m->system || !m->system->atomic || physm_layout_init(&lay, m, "test_atomic")) {
        printf("FAIL the model has no atomic network\n");
        return 1;
    }
    double *theta = calloc(lay.n_theta + 1, sizeof *theta);
    physm_layout_fresh(&lay, 7, theta);
    const size_t sc_end = lay.scaling + 4 * (size_t)m->system->atomic->n_features;
    for (size_t k = 0; k < lay.n_weights; k++)
        if (k < lay.scaling || k >= sc_end) theta[k] += 0.05 * sin(1.0 + (double)k);
    const physm_system *s = m->system;
    sys_ctx c = {&lay, theta, {{0}, NULL, {0}}, 0};
    c.cfg.arrays = calloc((size_t)s->n_arrays + 1, sizeof *c.cfg.arrays);
    const int golden_model = !strcmp(m->name, "atomic_golden"), cutoff_model = !strncmp(m->name, "atomic_cut_", 11);
    c.n = golden_model ? 3 : cutoff_model ? 2 : 7;
    c.cfg.count[0] = c.n;
    for (int a = 0; a < s->sets[0].n_attributes; a++)
        c.cfg.arrays[s->sets[0].attributes[a].array] = calloc((size_t)c.n * 3, sizeof(double));
    double *r = c.cfg.arrays[s->sets[0].attributes[0].array];
    if (s->atomic->species_array >= 0) /* atoms of the elements in turn */
        for (long i = 0; i < c.n; i++) c.cfg.arrays[s->atomic->species_array][i] = (double)(i % s->atomic->n_elements);
    c.cfg.cell.dim = 3;
    if (golden_model) {
        memcpy(r, golden_atoms, sizeof golden_atoms);
        check_golden(&c);
    } else if (cutoff_model) {
        r[3] = 2.4 * 0.6, r[4] = 2.4 * 0.8; /* |r_1 - r_0| = 2.4 */
        check_cutoff(&c, !strcmp(m->name, "atomic_cut_cos") ? 0.14644660940672610 : 0.103515625);
    } else {
        /* a cluster of 7 atoms about 2.3 apart, open boundaries */
        const double at[21] = {0, 0, 0, 2.3, 0.1, 0, 0.2, 2.2, 0.3, -0.1, 0.3, 2.4, 1.9, 1.8, 0.4,
                               -2.0, 0.5, 0.7, 1.2, -1.6, 1.5};
        memcpy(r, at, sizeof at);
        check_forces(&c);
        check_hessian(&c);
        check_jacobian(&c, "cluster");
        /* periodic, a cell narrower than twice the cutoff: atoms see images of themselves */
        c.cfg.cell.periodic[0] = c.cfg.cell.periodic[1] = c.cfg.cell.periodic[2] = 1;
        c.cfg.cell.h[0][0] = 4.1, c.cfg.cell.h[1][1] = 4.3, c.cfg.cell.h[2][2] = 4.6, c.cfg.cell.h[1][0] = 0.4;
        check_jacobian(&c, "periodic cell");
        memset(&c.cfg.cell, 0, sizeof c.cfg.cell);
        c.cfg.cell.dim = 3;
        check_loss_gradient(&lay, theta);
    }
    printf("%s: %d checks, %d failed\n", m->name, checks, failures);
    for (int a = 0; a < s->n_arrays; a++) free(c.cfg.arrays[a]);
    free(c.cfg.arrays);
    physm_layout_free(&lay);
    free(theta);
    return failures != 0;
}
