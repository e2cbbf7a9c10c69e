/* Checks an atomic network physc generated (linked in as an object):
 *  - atomic_golden: n2p2's golden symmetry-function values (three atoms,
 *    TANHU, rc = 10; ../shared/design/interatomic-notes.md) to 1e-14;
 *  - atomic_cut_cos, atomic_cut_poly2: n2p2's golden cutoff values (rc =
 *    3, inner 0.2 rc, r = 2.4) to 1e-14;
 *  - otherwise (atomic_si; atomic_sio: two elements, a network each;
 *    atomic_listed: acsf(functions = [...]), each element's own list):
 *    forces against central differences of the energy, the Hessian times a
 *    vector against central differences of the forces, total
 *    force zero, the energy invariant under a rotation and translation,
 *    and the frames loss's gradient (the tangent-stream force training)
 *    against central differences of the loss, relative 1e-6, and the
 *    same loss and gradient when no frame's descriptors are kept; the
 *    feature scaling of a fresh training is each element's statistics;
 *  - atomic_stress, atomic_stress_pair (a fixed pair term beside the
 *    network): frames fitting stresses in periodic cells of several
 *    shapes, as above, and a stress-only term's loss against the stresses
 *    of physm_system_eval_virial, which equal central differences of the
 *    energy under strain (relative 1e-6).
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
    if (physm_system_eval_tangent(ev, c->theta, &c->cfg, u, t) || physm_system_eval_jacobian(ev, c->theta, &c->cfg, &jac, 0)) {
        printf("FAIL jacobian (%s): %s\n", what, physm_system_eval_error(ev));
        failures++;
    } else {
        physm_desc_jacobian_tangent(&jac, nf, 3, u, NULL, tj);
        double scale = 0, uF = 0, wt = 0;
        for (size_t q = 0; q < n * (size_t)nf; q++) scale = fmax(scale, fabs(t[q]));
        char label[96];
        for (size_t q = 0; q < n * (size_t)nf; q++) {
            snprintf(label, sizeof label, "J u against the tangent kernels (%s), %zu", what, q);
            expect_close(label, tj[q], t[q], 1e-12, 1e-14 * scale);
        }
        physm_desc_jacobian_forces(&jac, nf, 3, w, 1.0, F, NULL);
        for (size_t q = 0; q < n * 3; q++) uF += u[q] * F[q];
        for (size_t q = 0; q < n * (size_t)nf; q++) wt += w[q] * tj[q];
        snprintf(label, sizeof label, "u . J^T w = w . J u (%s)", what);
        expect_close(label, -uF, wt, 1e-12, 1e-14);
        physm_desc_jacobian_free(&jac);
    }
    physm_system_eval_destroy(ev);
    free(u), free(t), free(tj), free(w), free(F);
}

/* The stress of every periodic frame of term's file (physm_system_eval_virial,
 * ASE's sign) against central differences of the energy under strain (x_a
 * += h x_b for the atoms and the cell's vectors); returns what the
 * stress-only term's loss must be, weight x the mean over those frames and
 * components of (sigma - sigma_ref)^2. */
static double stress_loss(const physm_layout *lay, const double *theta, const physm_term *term)
{
    const physm_system *s = lay->model->system;
    char *path = physm_resolve_path(lay->model, term->data_file);
    physm_xyz_frame *xyz = NULL;
    physm_frames refs;
    int n_xyz = 0, periodic = 0;
    double sum = 0;
    if (physm_frames_read_xyz(path, path, &xyz, &n_xyz) || physm_frames_read(path, path, &refs)) {
        printf("FAIL reading %s\n", path);
        failures++;
        free(path);
        return NAN;
    }
    for (int f = 0; f < n_xyz; f++) {
        sys_ctx c = {lay, theta, {{0}, NULL, {0}}, xyz[f].n};
        if (physm_config_from_xyz(lay, path, &xyz[f], &c.cfg)) {
            failures++;
            continue;
        }
        const physrt_cell *cell = &c.cfg.cell;
        if (cell->periodic[0] && cell->periodic[1] && cell->periodic[2]) {
            const double (*h)[3] = cell->h;
            const double vol = fabs(h[0][0] * (h[1][1] * h[2][2] - h[1][2] * h[2][1]) -
                                    h[0][1] * (h[1][0] * h[2][2] - h[1][2] * h[2][0]) +
                                    h[0][2] * (h[1][0] * h[2][1] - h[1][1] * h[2][0]));
            double W[9], e, *F = calloc((size_t)c.n * 3 + 1, sizeof *F), *fs[8] = {F}, smax = 0;
            physm_system_eval *ev = physm_system_eval_create(lay, c.cfg.count, NULL);
            if (!ev || physm_system_eval_run(ev, theta, &c.cfg, &e, fs) || physm_system_eval_virial(ev, theta, &c.cfg, W)) {
                printf("FAIL the stress of frame %d\n", f);
                failures++;
            }
            physm_system_eval_destroy(ev);
            free(F);
            double stress[9], fd[9];
            for (int q = 0; q < 9; q++) stress[q] = -W[q] / vol, smax = fmax(smax, fabs(stress[q]));
            double *r = c.cfg.arrays[s->sets[0].attributes[0].array];
            for (int q = 0; q < 9; q++) {
                const int a = q / 3, b = q % 3;
                const double hs = 1e-6;
                double side[2];
                for (int k = 0; k < 2; k++) {
                    const double t = k ? -hs : hs;
                    for (long i = 0; i < c.n; i++) r[i * 3 + a] += t * r[i * 3 + b];
                    for (int v = 0; v < 3; v++) c.cfg.cell.h[v][a] += t * c.cfg.cell.h[v][b];
                    side[k] = energy(&c, NULL);
                    for (int v = 0; v < 3; v++) c.cfg.cell.h[v][a] -= t * c.cfg.cell.h[v][b];
                    for (long i = 0; i < c.n; i++) r[i * 3 + a] -= t * r[i * 3 + b];
                }
                fd[q] = (side[0] - side[1]) / (2 * hs) / vol;
            }
            char label[96];
            for (int q = 0; q < 9; q++) {
                snprintf(label, sizeof label, "stress %d of frame %d against strain differences of the energy", q, f);
                expect_close(label, stress[q], fd[q], 1e-6, 1e-6 * smax);
                sum += (stress[q] - refs.stress[9 * f + q]) * (stress[q] - refs.stress[9 * f + q]);
            }
            periodic++;
        }
        physm_config_free(lay, &c.cfg);
    }
    physm_xyz_free(xyz, n_xyz);
    physm_frames_free(&refs);
    free(path);
    return term->weight * sum / (9.0 * periodic);
}

/* The scaling a fresh training computes (block) is each element's own
 * (the mean, min and max of its atoms' descriptors over the data's frames,
 * recomputed here frame by frame) when the elements' networks read their
 * own functions (acsf(functions = [...])), and that of all atoms in every
 * element's block when they read the same ones. */
static void check_element_scaling(const physm_layout *lay, const physm_term *term, const double *block)
{
    const physm_atomic *a = lay->model->system->atomic;
    const int nf = a->n_features, ne = a->n_elements;
    physm_xyz_frame *frames = NULL;
    int n_frames = 0;
    char *path = physm_resolve_path(lay->model, term->data_file);
    if (!path || physm_frames_read_xyz(path, term->data_file, &frames, &n_frames)) {
        printf("FAIL reading %s\n", term->data_file);
        failures++;
        free(path);
        return;
    }
    free(path);
    double *sum = calloc((size_t)(ne * nf), sizeof *sum), *lo = malloc(sizeof(double) * (size_t)(ne * nf));
    double *hi = malloc(sizeof(double) * (size_t)(ne * nf)), *theta = calloc(lay->n_theta + 1, sizeof *theta);
    long count[8] = {0};
    int pooled = 1;
    for (int e = 1; e < ne; e++) {
        const physm_field *f0 = &lay->model->fields[a->fields[0]], *f = &lay->model->fields[a->fields[e]];
        pooled &= f->n_inputs == f0->n_inputs;
        for (int k = 0; pooled && k < f->n_inputs; k++) pooled &= !strcmp(f->input_names[k], f0->input_names[k]);
    }
    for (int q = 0; q < ne * nf; q++) lo[q] = INFINITY, hi[q] = -INFINITY;
    for (int f = 0; f < n_frames; f++) {
        physm_config cfg;
        if (physm_config_from_xyz(lay, term->data_file, &frames[f], &cfg)) continue;
        physm_system_eval *ev = physm_system_eval_create(lay, cfg.count, NULL);
        double *G = calloc((size_t)frames[f].n * nf + 1, sizeof *G);
        if (ev && !physm_system_eval_descriptors(ev, theta, &cfg, G))
            for (long i = 0; i < frames[f].n; i++) {
                const int e = pooled ? 0 : a->species_array >= 0 ? (int)cfg.arrays[a->species_array][i] : 0;
                count[e]++;
                for (int k = 0; k < nf; k++) {
                    const double g = G[i * nf + k];
                    sum[e * nf + k] += g;
                    if (g < lo[e * nf + k]) lo[e * nf + k] = g;
                    if (g > hi[e * nf + k]) hi[e * nf + k] = g;
                }
            }
        physm_system_eval_destroy(ev);
        free(G);
        physm_config_free(lay, &cfg);
    }
    for (int b = 0; b < ne; b++) {
        const int e = pooled ? 0 : b;
        expect_close("atoms of every element in the frames", count[e] > 0, 1, 0, 0);
        const double *mean = block + (size_t)b * 4 * nf, *mn = mean + 2 * nf, *mx = mn + nf;
        for (int k = 0; count[e] && k < nf; k++) {
            char label[112];
            snprintf(label, sizeof label, "element %s feature %d: mean of %s", a->elements[b], k, pooled ? "all atoms" : "its atoms");
            expect_close(label, mean[k], sum[e * nf + k] / count[e], 1e-12, 1e-14);
            snprintf(label, sizeof label, "element %s feature %d: min, max of %s", a->elements[b], k, pooled ? "all atoms" : "its atoms");
            expect_close(label, mn[k] - lo[e * nf + k] + mx[k] - hi[e * nf + k], 0, 0, 1e-14);
        }
    }
    free(sum), free(lo), free(hi), free(theta);
    physm_xyz_free(frames, n_frames);
}

static void check_loss_gradient(const physm_layout *lay, double *theta)
{
    const physm_model *m = lay->model;
    for (int t = 0; t < m->n_terms; t++) {
        if (!m->terms[t].frames) continue;
        physm_frames_loss *fl = physm_frames_loss_create(lay, &m->terms[t], NULL);
        physm_frames_loss *fresh = physm_frames_loss_create(lay, &m->terms[t], NULL); /* keeps nothing */
        if (!fl || !fresh) {
            printf("FAIL frames loss of %s\n", m->terms[t].name);
            failures++;
            physm_frames_loss_destroy(fl);
            physm_frames_loss_destroy(fresh);
            continue;
        }
        physm_frames_loss_set_cache(fresh, 0);
        physm_frames_loss_scaling(fl, theta + lay->scaling); /* as a fresh training run does */
        check_element_scaling(lay, &m->terms[t], theta + lay->scaling);
        double *grad = calloc(lay->n_theta + 1, sizeof *grad), *grad2 = calloc(lay->n_theta + 1, sizeof *grad2);
        double l0 = physm_frames_loss_eval(fl, theta, grad);
        expect_close("loss is finite and positive", l0 > 0 && isfinite(l0), 1, 0, 0);
        double gmax = 0;
        for (size_t k = 0; k < lay->n_weights; k++)
            if (fabs(grad[k]) > gmax) gmax = fabs(grad[k]);
        const size_t sc_end = lay->scaling + 4 * (size_t)m->system->atomic->n_features * (size_t)m->system->atomic->n_elements;
        for (size_t k = lay->scaling; k < sc_end; k++)
            expect_close("the feature scaling has no gradient", grad[k], 0, 0, 0);
        char label[96];
        for (int pass = 0; pass < 2; pass++) { /* the second time from what the first kept */
            double l = physm_frames_loss_eval(fresh, theta, grad2);
            snprintf(label, sizeof label, "loss of %s with nothing kept (evaluation %d)", m->terms[t].name, pass + 1);
            expect_close(label, l, l0, 1e-12, 0);
            for (size_t k = 0; k < lay->n_weights; k++) {
                snprintf(label, sizeof label, "d loss / d weight %zu with nothing kept (evaluation %d)", k, pass + 1);
                expect_close(label, grad2[k], grad[k], 1e-10, 1e-12 * gmax);
            }
            memset(grad2, 0, sizeof(double) * lay->n_theta);
        }
        if (m->terms[t].frames == PHYSM_FRAMES_STRESS) {
            snprintf(label, sizeof label, "loss of %s against the evaluator's stresses", m->terms[t].name);
            expect_close(label, l0, stress_loss(lay, theta, &m->terms[t]), 1e-10, 0);
        }
        for (size_t k = 0; k < lay->n_weights; k++) {
            if (k >= lay->scaling && k < sc_end) continue;
            const double h = 1e-6, keep = theta[k];
            theta[k] = keep + h;
            double lp = physm_frames_loss_eval(fl, theta, NULL);
            theta[k] = keep - h;
            double lm = physm_frames_loss_eval(fl, theta, NULL);
            theta[k] = keep;
            snprintf(label, sizeof label, "d loss / d weight %zu (%s)", k, m->terms[t].name);
            expect_close(label, grad[k], (lp - lm) / (2 * h), 1e-6, 1e-7 * gmax);
        }
        free(grad);
        free(grad2);
        physm_frames_loss_destroy(fl);
        physm_frames_loss_destroy(fresh);
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
    const size_t sc_end = lay.scaling + 4 * (size_t)m->system->atomic->n_features * (size_t)m->system->atomic->n_elements;
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
