/* atomic_loss.c - frames data of an atomic network (physm_term.frames):
 * the loss over frames of atoms (extended XYZ: positions, cell, energy,
 * forces, stress)
 *     L = mean over frames ((E - E_ref) / n)^2 + mean over components |F - F_ref|^2
 *       + mean over periodic frames and the 9 components (sigma - sigma_ref)^2
 * (the terms the declaration names; sigma in eV/A^3, ASE's -virial /
 * volume) and its gradient, the project's derivative design applied to
 * forces and stresses.
 * Per frame: the descriptors G (kernels), E_i = net(G_i) and dE_i/dG_i
 * (forward, reverse to the inputs), the forces (kernels seeded by
 * dE_i/dG_i), then with u = F - F_ref the descriptors' tangent t = dG/dr.u
 * (the tangent kernels) pushed through the network as a derivative stream
 * next to the value, and one reverse sweep with the energy's and the
 * force error's adjoints on value and stream: u . dF/dw = -sum_i d(t_i .
 * dE_i/dG_i)/dw, no nested reverse mode.
 *
 * The stress is the same machinery along a homogeneous strain: with d_p
 * = r_j + shift - r_i the displacement of pair p (centre i) and J_p =
 * dG_i/dd_p its rows of the descriptors' Jacobian, the network part of
 * the virial is W = -s sum_p d_p (J_p^T dE_i/dG_i)^T (s = dV/dS, the
 * atomic sum's seed) and sigma = -W / vol; the other kernels' part (no
 * trainable numbers) is known from the frame's first evaluation. For
 * D = sigma - sigma_ref, D : d sigma/dw = (s / vol) sum_i d(t_i .
 * dE_i/dG_i)/dw with the tangent t_i = sum_p J_p . (D^T d_p): the strain
 * D^T moves pair p by D^T d_p. So the stress error enters the same
 * tangent as the force error, t_i = sum_p J_p . delta_p with
 *     delta_p = -c_F (u_j - u_i) + (c_S / vol) D^T d_p,
 * c_F, c_S the two terms' factors (weight / components), and the stream's
 * adjoint 2 s: one network tangent and one reverse sweep for both. A
 * frame fitting the stress needs J and the d_p: kept with the frame, or
 * (over the budget) computed at each step and dropped.
 *
 * Frames never move, so their descriptors and the descriptors' derivatives
 * by the positions (physm_desc_jacobian) are kept from a frame's first
 * evaluation, up to CACHE_BYTES in all: then a step is the network and two
 * sparse products, forces = -J^T dE/dG and t = J u, instead of three
 * kernel passes over every triplet. Frames beyond the budget take the
 * kernels at each step.
 *
 * Frames are split into a fixed contiguous range per thread (each with its
 * network workspace and gradient), added in thread order: reproducible for
 * a given thread count. A thread's one evaluator builds each frame's
 * neighbour lists as it comes. */
#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { CACHE_BYTES = 1L << 30 };

typedef struct {
    physm_config cfg;
    long n;                       /* atoms */
    double energy;                /* reference, NaN: none */
    double *forces;               /* reference, n x dim, or NULL */
    int fits_stress;              /* periodic, and the term fits stresses */
    double volume;                /* of the cell (fits_stress) */
    double stress[9];             /* reference, ASE's sign, row-major */
    double other_stress[9];       /* the kernels other than the network's (no trainable numbers) */
    int other_known;              /* other_stress computed (the frame's first evaluation) */
    int cached;                   /* 1: G and jac kept, -1: not (over the budget), 0: not yet tried */
    double *G;                    /* n x n_features, unscaled */
    physm_desc_jacobian jac;
} fl_frame;

typedef struct {
    physm_system_eval *ev;        /* for any frame: lists rebuilt per frame */
    physm_atomic_net *net;
    double *G, *t, *dEdG, *e, *de, *ybar, *dybar, *F, *u;
    double *grad;                 /* n_theta */
    physm_desc_jacobian jac;      /* a frame's J when it is not kept (fits_stress) */
    double sum_e, sum_f, sum_s;
    long cache_bytes;             /* kept by this thread's frames, at most cache_limit / n_tasks */
    int failed;
} fl_task;

struct physm_frames_loss {
    const physm_layout *lay;
    const physm_term *term;
    physrt_pool *pool;
    int n_frames;
    fl_frame *frames;
    long max_atoms, n_atoms;
    long cache_limit;             /* bytes kept in all (CACHE_BYTES; physm_frames_loss_set_cache) */
    int other_kernels;            /* kernels besides the descriptors' that have a virial */
    int batch_first, batch_n;     /* the frames evaluated: batch_first + i (mod n_frames), i < batch_n */
    int n_tasks;
    fl_task *tasks;
    const double *theta;
    int with_grad;
};

static void free_task(fl_task *t)
{
    physm_system_eval_destroy(t->ev);
    physm_atomic_net_destroy(t->net);
    free(t->G), free(t->t), free(t->dEdG), free(t->e), free(t->de), free(t->ybar), free(t->dybar);
    free(t->F), free(t->u), free(t->grad);
    physm_desc_jacobian_free(&t->jac);
}

void physm_frames_loss_destroy(physm_frames_loss *fl)
{
    if (!fl) return;
    for (int f = 0; fl->frames && f < fl->n_frames; f++) {
        fl_frame *fr = &fl->frames[f];
        physm_config_free(fl->lay, &fr->cfg);
        free(fr->forces);
        free(fr->G);
        physm_desc_jacobian_free(&fr->jac);
    }
    for (int t = 0; fl->tasks && t < fl->n_tasks; t++) free_task(&fl->tasks[t]);
    free(fl->frames);
    free(fl->tasks);
    free(fl);
}

/* A frame of the file into fr: its configuration and references (stress:
 * the frame's 9 numbers as physm_frames_read gives them, NaN: none). */
static int load_frame(physm_frames_loss *fl, const char *display, const physm_xyz_frame *x, const double *stress,
                      fl_frame *fr)
{
    const physm_system *s = fl->lay->model->system;
    const int want_e = fl->term->frames & PHYSM_FRAMES_ENERGY, want_f = fl->term->frames & PHYSM_FRAMES_FORCES;
    fr->n = x->n;
    if (physm_config_from_xyz(fl->lay, display, x, &fr->cfg)) return -1;
    fr->energy = NAN;
    if (want_e && physm_xyz_info_number(x, "energy", &fr->energy) != 1) {
        fprintf(stderr, "%s:%d: error: the frame has no energy= (the model fits energies)\n", display, x->line);
        return -1;
    }
    const physm_xyz_property *frc = physm_xyz_find(x, "forces");
    if (want_f) {
        if (!frc || frc->type != 'R' || frc->cols != s->dim) {
            fprintf(stderr, "%s:%d: error: the frame has no forces:R:%d (the model fits forces)\n", display, x->line,
                    s->dim);
            return -1;
        }
        fr->forces = malloc(sizeof(double) * (size_t)(x->n * s->dim + 1));
        if (!fr->forces) return -1;
        memcpy(fr->forces, frc->values, sizeof(double) * (size_t)(x->n * s->dim));
    }
    fr->volume = physm_cell_volume(&fr->cfg.cell);
    if ((fl->term->frames & PHYSM_FRAMES_STRESS) && fr->volume > 0) { /* open and slab frames have no stress */
        if (!stress || isnan(stress[0])) {
            fprintf(stderr, "%s:%d: error: the periodic frame has no stress= (the model fits stresses)\n", display,
                    x->line);
            return -1;
        }
        memcpy(fr->stress, stress, sizeof fr->stress);
        fr->fits_stress = 1;
    }
    return 0;
}

static int init_task(physm_frames_loss *fl, fl_task *t)
{
    const physm_system *s = fl->lay->model->system;
    const size_t n = (size_t)fl->max_atoms + 1, nf = (size_t)s->atomic->n_features;
    t->net = physm_atomic_net_create(fl->lay, (long)n);
    long count[8] = {0};
    count[s->atomic->set] = fl->max_atoms;
    t->ev = physm_system_eval_create(fl->lay, count, NULL);
    if (t->ev) physm_system_eval_set_skin(t->ev, 0); /* frames never move: no pairs beyond the cutoff */
    t->G = malloc(sizeof(double) * n * nf);
    t->t = malloc(sizeof(double) * n * nf);
    t->dEdG = malloc(sizeof(double) * n * nf);
    t->e = malloc(sizeof(double) * n);
    t->de = malloc(sizeof(double) * n);
    t->ybar = malloc(sizeof(double) * n);
    t->dybar = malloc(sizeof(double) * n);
    t->F = malloc(sizeof(double) * n * (size_t)s->dim);
    t->u = malloc(sizeof(double) * n * (size_t)s->dim);
    t->grad = calloc(fl->lay->n_theta + 1, sizeof(double));
    return t->ev && t->net && t->G && t->t && t->dEdG && t->e && t->de && t->ybar && t->dybar && t->F && t->u && t->grad ? 0 : -1;
}

physm_frames_loss *physm_frames_loss_create(const physm_layout *lay, const physm_term *term, physrt_pool *pool)
{
    const physm_model *m = lay->model;
    const char *prog = lay->prog;
    if (!m->system || !m->system->atomic) {
        fprintf(stderr, "%s: error: frames data '%s' without an atomic network (a compiler bug)\n", prog, term->name);
        return NULL;
    }
    physm_frames_loss *fl = calloc(1, sizeof *fl);
    char *path = physm_resolve_path(m, term->data_file);
    physm_xyz_frame *xyz = NULL;
    int n_xyz = 0;
    if (!fl || !path) goto oom;
    fl->lay = lay;
    fl->term = term;
    fl->pool = pool;
    if (physm_frames_read_xyz(path, path, &xyz, &n_xyz)) goto fail;
    if (n_xyz == 0) {
        fprintf(stderr, "%s: error: %s holds no frames\n", prog, path);
        goto fail;
    }
    physm_frames refs = {0}; /* the stresses, as the reader of frames takes them (stress, REF_stress, virial, Voigt) */
    if ((term->frames & PHYSM_FRAMES_STRESS) && physm_frames_read(path, path, &refs)) goto fail;
    if ((term->frames & PHYSM_FRAMES_STRESS) && refs.n_frames != n_xyz) {
        fprintf(stderr, "%s: error: %s: %d frames read for the stress, %d for the atoms\n", prog, path, refs.n_frames,
                n_xyz);
        physm_frames_free(&refs);
        goto fail;
    }
    fl->frames = calloc((size_t)n_xyz, sizeof *fl->frames);
    if (!fl->frames) goto oom;
    fl->n_frames = n_xyz;
    fl->cache_limit = CACHE_BYTES;
    int periodic = 0;
    for (int f = 0; f < n_xyz; f++) {
        if (load_frame(fl, path, &xyz[f], refs.stress ? refs.stress + 9 * f : NULL, &fl->frames[f])) {
            physm_frames_free(&refs);
            goto fail;
        }
        if (xyz[f].n > fl->max_atoms) fl->max_atoms = xyz[f].n;
        fl->n_atoms += xyz[f].n;
        periodic += fl->frames[f].fits_stress;
    }
    physm_frames_free(&refs);
    if ((term->frames & PHYSM_FRAMES_STRESS) && !periodic) {
        fprintf(stderr, "%s: error: %s: the model fits stresses, but no frame is periodic along its three axes (open "
                "and slab frames have none)\n", prog, path);
        goto fail;
    }
    for (int k = 0; k < m->system->n_kernels; k++)
        fl->other_kernels += !m->system->kernels[k].n_features && m->system->kernels[k].virial_f64;
    fl->batch_n = fl->n_frames;
    fl->n_tasks = physrt_pool_n_threads(pool);
    if (fl->n_tasks > fl->n_frames) fl->n_tasks = fl->n_frames;
    fl->tasks = calloc((size_t)fl->n_tasks, sizeof *fl->tasks);
    if (!fl->tasks) goto oom;
    for (int t = 0; t < fl->n_tasks; t++)
        if (init_task(fl, &fl->tasks[t])) goto oom;
    physm_xyz_free(xyz, n_xyz);
    free(path);
    return fl;
oom:
    fprintf(stderr, "%s: error: out of memory reading the frames of '%s'\n", prog, term->name);
fail:
    physm_xyz_free(xyz, n_xyz);
    free(path);
    physm_frames_loss_destroy(fl);
    return NULL;
}

/* Keeps the frame's descriptors and their derivatives (and, fitting its
 * stress, its pairs' displacements) when the thread's share of the budget
 * has room (else the kernels run at every step). */
static void cache_frame(physm_frames_loss *fl, fl_task *t, fl_frame *fr)
{
    const physm_system *s = fl->lay->model->system;
    const size_t nf = (size_t)s->atomic->n_features, dim = (size_t)s->dim;
    const long share = fl->cache_limit / fl->n_tasks;
    fr->cached = -1;
    if (t->cache_bytes >= share || physm_system_eval_jacobian(t->ev, fl->theta, &fr->cfg, &fr->jac, fr->fits_stress))
        return;
    const size_t pairs = (size_t)fr->jac.n_pairs;
    const long bytes = (long)(sizeof(double) * (pairs * nf * dim + (size_t)fr->n * nf + (fr->fits_stress ? pairs * dim : 0)) +
                              sizeof(long) * (size_t)fr->n + sizeof(int) * pairs);
    /* the evaluator's descriptors are for its largest frame: through t->G */
    if (t->cache_bytes + bytes > share || !(fr->G = malloc(sizeof(double) * ((size_t)fr->n * nf + 1))) ||
        physm_system_eval_descriptors(t->ev, fl->theta, &fr->cfg, t->G)) {
        free(fr->G);
        fr->G = NULL;
        physm_desc_jacobian_free(&fr->jac);
        return;
    }
    memcpy(fr->G, t->G, sizeof(double) * (size_t)fr->n * nf);
    t->cache_bytes += bytes;
    fr->cached = 1;
}

/* The stress of the kernels other than the descriptors' (they hold no
 * trainable numbers): a whole evaluation's virial (an evaluator of the
 * frame's size) less the network's part W_J, from the same dE/dG and seed. */
static int other_stress(const physm_frames_loss *fl, fl_task *t, fl_frame *fr, const double *W_J)
{
    const physm_system *s = fl->lay->model->system;
    physm_system_eval *ev = physm_system_eval_create(fl->lay, fr->cfg.count, NULL);
    double W[9], e, *forces[8] = {0};
    forces[s->atomic->set] = t->F;
    int rc = !ev || physm_system_eval_run(ev, fl->theta, &fr->cfg, &e, forces) ||
             physm_system_eval_virial(ev, fl->theta, &fr->cfg, W);
    physm_system_eval_destroy(ev);
    if (rc) return -1;
    for (int q = 0; q < 9; q++) fr->other_stress[q] = -(W[q] - W_J[q]) / fr->volume;
    fr->other_known = 1;
    return 0;
}

/* One frame: its energy, force and stress errors into t->sum_e, t->sum_f,
 * t->sum_s and, with the gradient, their derivatives (scaled by ce, cf,
 * cs) into t->grad. */
static int frame_loss(physm_frames_loss *fl, fl_task *t, fl_frame *fr, double ce, double cf, double cs)
{
    const physm_layout *lay = fl->lay;
    const physm_system *s = lay->model->system;
    const physm_atomic *a = s->atomic;
    const double *theta = fl->theta;
    const int n = (int)fr->n, dim = s->dim;
    if (n == 0) return 0;
    const double *species = a->species_array >= 0 ? fr->cfg.arrays[a->species_array] : NULL;
    if (!fr->cached) cache_frame(fl, t, fr);
    const int cached = fr->cached == 1, nf = a->n_features, stress = fr->fits_stress;
    const physm_desc_jacobian *J = cached ? &fr->jac : NULL;
    if (stress && !cached) { /* over the budget: this step's J */
        physm_desc_jacobian_free(&t->jac);
        if (physm_system_eval_jacobian(t->ev, theta, &fr->cfg, &t->jac, 1)) return -1;
        J = &t->jac;
    }
    if (cached) memcpy(t->G, fr->G, sizeof(double) * (size_t)n * (size_t)nf);
    if ((!cached && physm_system_eval_descriptors(t->ev, theta, &fr->cfg, t->G)) ||
        physm_atomic_net_energy(t->net, theta, n, species, t->G, t->e, t->dEdG, NULL))
        return -1;
    double e_atoms = 0, V, seed;
    for (int i = 0; i < n; i++) e_atoms += t->e[i];
    double *forces[8] = {0};
    forces[a->set] = t->F;
    physm_system_eval_skip_descriptors(t->ev, J != NULL);
    int failed = physm_system_eval_with(t->ev, theta, &fr->cfg, e_atoms, t->dEdG, &V, forces);
    physm_system_eval_skip_descriptors(t->ev, 0);
    if (failed) return -1;
    seed = physm_system_eval_atomic_seed(t->ev);
    double W[9] = {0}, B[9], D[9];
    if (J) physm_desc_jacobian_forces(J, nf, dim, t->dEdG, seed, t->F, stress ? W : NULL);
    double de = 0;
    if (fl->term->frames & PHYSM_FRAMES_ENERGY) {
        de = (V - fr->energy) / n;
        t->sum_e += de * de;
    }
    int with_forces = (fl->term->frames & PHYSM_FRAMES_FORCES) != 0;
    for (long q = 0; with_forces && q < (long)n * dim; q++) {
        t->u[q] = t->F[q] - fr->forces[q];
        t->sum_f += t->u[q] * t->u[q];
    }
    if (stress) { /* (other_stress overwrites t->F: u is taken) */
        if (fl->other_kernels && (!fr->other_known || s->seeds_needed) && other_stress(fl, t, fr, W)) return -1;
        for (int q = 0; q < 9; q++) {
            D[q] = -W[q] / fr->volume + (fl->other_kernels ? fr->other_stress[q] : 0) - fr->stress[q];
            t->sum_s += D[q] * D[q];
        }
    }
    if (!fl->with_grad) return 0;
    /* dL/dE_i = ce 2 de / n dV/dS; the stream's adjoint 2 dV/dS, its tangent along -cf u and the strain cs / vol D^T */
    for (int i = 0; i < n; i++) t->ybar[i] = ce * 2 * de / n * seed, t->dybar[i] = 2 * seed;
    for (long q = 0; with_forces && q < (long)n * dim; q++) t->u[q] *= -cf;
    for (int x = 0; stress && x < 3; x++)
        for (int b = 0; b < 3; b++) B[x * 3 + b] = cs / fr->volume * D[b * 3 + x];
    if (stress || (with_forces && J))
        physm_desc_jacobian_tangent(J, nf, dim, with_forces ? t->u : NULL, stress ? B : NULL, t->t);
    else if (with_forces && physm_system_eval_tangent(t->ev, theta, &fr->cfg, t->u, t->t)) return -1;
    const int tangent = with_forces || stress;
    if (physm_atomic_net_train(t->net, theta, n, species, t->G, tangent ? t->t : NULL, t->ybar, t->dybar, t->grad, 1))
        return -1;
    return 0;
}

typedef struct {
    physm_frames_loss *fl;
    double ce, cf, cs;
} fl_call;

static void frames_task(void *ctx, int task, int n_tasks)
{
    const fl_call *call = ctx;
    physm_frames_loss *fl = call->fl;
    fl_task *t = &fl->tasks[task];
    t->sum_e = t->sum_f = t->sum_s = 0;
    t->failed = 0;
    memset(t->grad, 0, sizeof(double) * fl->lay->n_theta);
    const int lo = (int)((long)fl->batch_n * task / n_tasks), hi = (int)((long)fl->batch_n * (task + 1) / n_tasks);
    for (int i = lo; i < hi && !t->failed; i++)
        if (frame_loss(fl, t, &fl->frames[(fl->batch_first + i) % fl->n_frames], call->ce, call->cf, call->cs)) t->failed = 1;
}

void physm_frames_loss_select(physm_frames_loss *fl, long batch, long step)
{
    if (batch <= 0 || batch >= fl->n_frames) {
        fl->batch_first = 0, fl->batch_n = fl->n_frames;
        return;
    }
    const long n_batches = fl->n_frames / batch; /* like the PyTorch baseline: whole batches, in file order */
    fl->batch_first = (int)((step % n_batches) * batch);
    fl->batch_n = (int)batch;
}

double physm_frames_loss_eval(physm_frames_loss *fl, const double *theta, double *grad)
{
    const physm_term *term = fl->term;
    long atoms = 0, stresses = 0;
    for (int i = 0; i < fl->batch_n; i++) {
        const fl_frame *fr = &fl->frames[(fl->batch_first + i) % fl->n_frames];
        atoms += fr->n, stresses += fr->fits_stress;
    }
    const double n_components = (double)atoms * fl->lay->model->system->dim, n_stress = 9.0 * (double)stresses;
    fl->theta = theta;
    fl->with_grad = grad != NULL;
    fl_call call = {fl, term->weight / fl->batch_n, n_components > 0 ? term->weight / n_components : 0,
                    n_stress > 0 ? term->weight / n_stress : 0};
    physrt_pool_run(fl->pool, fl->n_tasks, frames_task, &call);
    double sum_e = 0, sum_f = 0, sum_s = 0;
    for (int k = 0; k < fl->n_tasks; k++) {
        const fl_task *t = &fl->tasks[k];
        if (t->failed) {
            fprintf(stderr, "%s: error: evaluating the frames of '%s': %s\n", fl->lay->prog, term->name,
                    "the particle system's evaluation failed");
            return NAN;
        }
        sum_e += t->sum_e;
        sum_f += t->sum_f;
        sum_s += t->sum_s;
        for (size_t q = 0; grad && q < fl->lay->n_theta; q++) grad[q] += t->grad[q];
    }
    return term->weight * (sum_e / fl->batch_n + (n_components > 0 ? sum_f / n_components : 0) +
                           (n_stress > 0 ? sum_s / n_stress : 0));
}

void physm_frames_loss_set_cache(physm_frames_loss *fl, long bytes)
{
    fl->cache_limit = bytes;
}

/* Whether every element's network reads the same features (the same
 * functions under the same names): acsf's radial/angular/wide form, not
 * acsf(functions = [...]). */
static int shared_features(const physm_model *m, const physm_atomic *a)
{
    const physm_field *f0 = &m->fields[a->fields[0]];
    for (int e = 1; e < a->n_elements; e++) {
        const physm_field *f = &m->fields[a->fields[e]];
        if (f->n_inputs != f0->n_inputs) return 0;
        for (int k = 0; k < f->n_inputs; k++)
            if (strcmp(f->input_names[k], f0->input_names[k])) return 0;
    }
    return 1;
}

void physm_frames_loss_scaling(const physm_frames_loss *fl, double *block)
{
    const physm_layout *lay = fl->lay;
    const physm_atomic *a = lay->model->system->atomic;
    const int nf = a->n_features, ne = a->n_elements;
    /* A feature that means the same for every element is scaled by its
     * statistics over all atoms, each element's own functions by that
     * element's atoms: a shared feature nearly flat on one element (a
     * neighbour kind it rarely has close) would otherwise be blown up by
     * that element's tiny sigma. */
    const int pooled = shared_features(lay->model, a);
    const size_t nb = (size_t)ne * (size_t)nf;
    double *theta = calloc(lay->n_theta + 1, sizeof *theta), *G = malloc(sizeof(double) * (size_t)(fl->max_atoms + 1) * nf);
    double *sum2 = calloc(nb + 1, sizeof *sum2);
    long *atoms = calloc((size_t)ne, sizeof *atoms);
    for (int e = 0; e < ne; e++) {
        double *mean = block + (size_t)e * 4 * nf, *inv = mean + nf, *lo = inv + nf, *hi = lo + nf;
        for (int k = 0; k < nf; k++) mean[k] = 0, inv[k] = 1, lo[k] = INFINITY, hi[k] = -INFINITY;
    }
    for (int f = 0; theta && G && sum2 && atoms && f < fl->n_frames; f++) {
        fl_frame *fr = &fl->frames[f];
        if (physm_system_eval_descriptors(fl->tasks[0].ev, theta, &fr->cfg, G)) continue;
        const double *species = a->species_array >= 0 ? fr->cfg.arrays[a->species_array] : NULL;
        for (long i = 0; i < fr->n; i++) {
            const int z = species ? (int)species[i] : 0, e = pooled ? 0 : z;
            if (z < 0 || z >= ne) continue;
            double *mean = block + (size_t)e * 4 * nf, *lo = mean + 2 * nf, *hi = lo + nf, *s2 = sum2 + (size_t)e * nf;
            for (int k = 0; k < nf; k++) {
                const double g = G[i * nf + k];
                mean[k] += g, s2[k] += g * g;
                if (g < lo[k]) lo[k] = g;
                if (g > hi[k]) hi[k] = g;
            }
            atoms[e]++;
        }
    }
    for (int e = 0; e < (pooled ? 1 : ne); e++) {
        double *mean = block + (size_t)e * 4 * nf, *inv = mean + nf, *lo = inv + nf, *hi = lo + nf;
        const long n = atoms ? atoms[e] : 0;
        for (int k = 0; k < nf; k++) {
            if (!n) { /* an element without atoms in the frames: unscaled, unchecked */
                mean[k] = 0, inv[k] = 1, lo[k] = 1, hi[k] = 0;
                continue;
            }
            mean[k] /= n;
            const double var = sum2[(size_t)e * nf + k] / n - mean[k] * mean[k], sigma = var > 0 ? sqrt(var) : 0;
            /* a feature the same on every atom (a flat one) is only centred */
            inv[k] = sigma > 1e-12 * (fabs(mean[k]) + 1e-300) && sigma > 0 ? 1 / sigma : 1;
        }
    }
    for (int e = 1; pooled && e < ne; e++) memcpy(block + (size_t)e * 4 * nf, block, sizeof(double) * 4 * (size_t)nf);
    free(theta);
    free(G);
    free(sum2);
    free(atoms);
}
