/* atomic_loss.c - frames data of an atomic network (physm_term.frames):
 * the loss over frames of atoms (extended XYZ: positions, cell, energy,
 * forces)
 *     L = mean over frames ((E - E_ref) / n)^2 + mean over components |F - F_ref|^2
 * and its gradient, the project's derivative design applied to forces.
 * Per frame: the descriptors G (kernels), E_i = net(G_i) and dE_i/dG_i
 * (forward, reverse to the inputs), the forces (kernels seeded by
 * dE_i/dG_i), then with u = F - F_ref the descriptors' tangent t = dG/dr.u
 * (the tangent kernels) pushed through the network as a derivative stream
 * next to the value, and one reverse sweep with the energy's and the
 * force error's adjoints on value and stream: u . dF/dw = -sum_i d(t_i .
 * dE_i/dG_i)/dw, no nested reverse mode.
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
    int cached;                   /* 1: G and jac kept, -1: not (over the budget), 0: not yet tried */
    double *G;                    /* n x n_features, unscaled */
    physm_desc_jacobian jac;
} fl_frame;

typedef struct {
    physm_system_eval *ev;        /* for any frame: lists rebuilt per frame */
    physm_atomic_net *net;
    double *G, *t, *dEdG, *e, *de, *ybar, *dybar, *F, *u;
    double *grad;                 /* n_theta */
    double sum_e, sum_f;
    long cache_bytes;             /* kept by this thread's frames, at most physm_frames_loss.cache_bytes / n_tasks */
    int failed;
} fl_task;

struct physm_frames_loss {
    const physm_layout *lay;
    const physm_term *term;
    physrt_pool *pool;
    int n_frames;
    fl_frame *frames;
    long max_atoms, n_atoms;
    int batch_first, batch_n;     /* the frames evaluated: batch_first + i (mod n_frames), i < batch_n */
    int n_tasks;
    fl_task *tasks;
    long cache_bytes;             /* CACHE_BYTES unless set */
    const double *theta;
    int with_grad;
};

static void free_task(fl_task *t)
{
    physm_system_eval_destroy(t->ev);
    physm_atomic_net_destroy(t->net);
    free(t->G), free(t->t), free(t->dEdG), free(t->e), free(t->de), free(t->ybar), free(t->dybar);
    free(t->F), free(t->u), free(t->grad);
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

/* A frame of the file into fr: its configuration and references. */
static int load_frame(physm_frames_loss *fl, const char *display, const physm_xyz_frame *x, fl_frame *fr)
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
    fl->frames = calloc((size_t)n_xyz, sizeof *fl->frames);
    if (!fl->frames) goto oom;
    fl->n_frames = n_xyz;
    for (int f = 0; f < n_xyz; f++) {
        if (load_frame(fl, path, &xyz[f], &fl->frames[f])) goto fail;
        if (xyz[f].n > fl->max_atoms) fl->max_atoms = xyz[f].n;
        fl->n_atoms += xyz[f].n;
    }
    fl->batch_n = fl->n_frames;
    fl->cache_bytes = CACHE_BYTES;
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

/* Keeps the frame's descriptors and their derivatives when the thread's
 * share of the budget has room (else the kernels run at every step). */
static void cache_frame(physm_frames_loss *fl, fl_task *t, fl_frame *fr)
{
    const physm_system *s = fl->lay->model->system;
    const size_t nf = (size_t)s->atomic->n_features;
    fr->cached = -1;
    if (t->cache_bytes >= fl->cache_bytes / fl->n_tasks || physm_system_eval_jacobian(t->ev, fl->theta, &fr->cfg, &fr->jac))
        return;
    const long bytes = (long)(sizeof(double) * ((size_t)fr->jac.n_pairs * nf * (size_t)s->dim + (size_t)fr->n * nf) +
                              sizeof(long) * (size_t)fr->n + sizeof(int) * (size_t)fr->jac.n_pairs);
    /* the evaluator's descriptors are for its largest frame: through t->G */
    if (t->cache_bytes + bytes > fl->cache_bytes / fl->n_tasks || !(fr->G = malloc(sizeof(double) * ((size_t)fr->n * nf + 1))) ||
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

/* One frame: its energy and force errors into t->sum_e, t->sum_f and, with
 * the gradient, their derivatives (scaled by ce, cf) into t->grad. */
static int frame_loss(physm_frames_loss *fl, fl_task *t, fl_frame *fr, double ce, double cf)
{
    const physm_layout *lay = fl->lay;
    const physm_system *s = lay->model->system;
    const physm_atomic *a = s->atomic;
    const double *theta = fl->theta;
    const int n = (int)fr->n, dim = s->dim;
    if (n == 0) return 0;
    const double *species = a->species_array >= 0 ? fr->cfg.arrays[a->species_array] : NULL;
    if (!fr->cached) cache_frame(fl, t, fr);
    const int cached = fr->cached == 1, nf = a->n_features;
    if (cached) memcpy(t->G, fr->G, sizeof(double) * (size_t)n * (size_t)nf);
    if ((!cached && physm_system_eval_descriptors(t->ev, theta, &fr->cfg, t->G)) ||
        physm_atomic_net_energy(t->net, theta, n, species, t->G, t->e, t->dEdG, NULL))
        return -1;
    double e_atoms = 0, V, seed;
    for (int i = 0; i < n; i++) e_atoms += t->e[i];
    double *forces[8] = {0};
    forces[a->set] = t->F;
    physm_system_eval_skip_descriptors(t->ev, cached);
    int failed = physm_system_eval_with(t->ev, theta, &fr->cfg, e_atoms, t->dEdG, &V, forces);
    physm_system_eval_skip_descriptors(t->ev, 0);
    if (failed) return -1;
    seed = physm_system_eval_atomic_seed(t->ev);
    if (cached) physm_desc_jacobian_forces(&fr->jac, nf, dim, t->dEdG, seed, t->F);
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
    if (!fl->with_grad) return 0;
    /* dL/dE_i = ce 2 de / n dV/dS; the stream's adjoint -cf 2 dV/dS */
    for (int i = 0; i < n; i++) t->ybar[i] = ce * 2 * de / n * seed, t->dybar[i] = -cf * 2 * seed;
    if (with_forces && cached) physm_desc_jacobian_tangent(&fr->jac, nf, dim, t->u, t->t);
    else if (with_forces && physm_system_eval_tangent(t->ev, theta, &fr->cfg, t->u, t->t)) return -1;
    if (physm_atomic_net_train(t->net, theta, n, species, t->G, with_forces ? t->t : NULL, t->ybar, t->dybar, t->grad))
        return -1;
    return 0;
}

typedef struct {
    physm_frames_loss *fl;
    double ce, cf;
} fl_call;

static void frames_task(void *ctx, int task, int n_tasks)
{
    const fl_call *call = ctx;
    physm_frames_loss *fl = call->fl;
    fl_task *t = &fl->tasks[task];
    t->sum_e = t->sum_f = 0;
    t->failed = 0;
    memset(t->grad, 0, sizeof(double) * fl->lay->n_theta);
    const int lo = (int)((long)fl->batch_n * task / n_tasks), hi = (int)((long)fl->batch_n * (task + 1) / n_tasks);
    for (int i = lo; i < hi && !t->failed; i++)
        if (frame_loss(fl, t, &fl->frames[(fl->batch_first + i) % fl->n_frames], call->ce, call->cf)) t->failed = 1;
}

void physm_frames_loss_set_cache(physm_frames_loss *fl, long bytes)
{
    fl->cache_bytes = bytes;
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
    long atoms = 0;
    for (int i = 0; i < fl->batch_n; i++) atoms += fl->frames[(fl->batch_first + i) % fl->n_frames].n;
    const double n_components = (double)atoms * fl->lay->model->system->dim;
    fl->theta = theta;
    fl->with_grad = grad != NULL;
    fl_call call = {fl, term->weight / fl->batch_n, n_components > 0 ? term->weight / n_components : 0};
    physrt_pool_run(fl->pool, fl->n_tasks, frames_task, &call);
    double sum_e = 0, sum_f = 0;
    for (int k = 0; k < fl->n_tasks; k++) {
        const fl_task *t = &fl->tasks[k];
        if (t->failed) {
            fprintf(stderr, "%s: error: evaluating the frames of '%s': %s\n", fl->lay->prog, term->name,
                    "the particle system's evaluation failed");
            return NAN;
        }
        sum_e += t->sum_e;
        sum_f += t->sum_f;
        for (size_t q = 0; grad && q < fl->lay->n_theta; q++) grad[q] += t->grad[q];
    }
    return term->weight * (sum_e / fl->batch_n + (n_components > 0 ? sum_f / n_components : 0));
}

void physm_frames_loss_scaling(const physm_frames_loss *fl, double *block)
{
    const physm_layout *lay = fl->lay;
    const int nf = lay->model->system->atomic->n_features;
    double *mean = block, *inv = block + nf, *lo = inv + nf, *hi = lo + nf;
    double *theta = calloc(lay->n_theta + 1, sizeof *theta), *G = malloc(sizeof(double) * (size_t)(fl->max_atoms + 1) * nf);
    double *sum2 = calloc((size_t)nf, sizeof *sum2);
    for (int k = 0; k < nf; k++) mean[k] = 0, inv[k] = 1, lo[k] = INFINITY, hi[k] = -INFINITY;
    long atoms = 0;
    for (int f = 0; theta && G && sum2 && f < fl->n_frames; f++) {
        fl_frame *fr = &fl->frames[f];
        if (physm_system_eval_descriptors(fl->tasks[0].ev, theta, &fr->cfg, G)) continue;
        for (long i = 0; i < fr->n; i++)
            for (int k = 0; k < nf; k++) {
                const double g = G[i * nf + k];
                mean[k] += g, sum2[k] += g * g;
                if (g < lo[k]) lo[k] = g;
                if (g > hi[k]) hi[k] = g;
            }
        atoms += fr->n;
    }
    for (int k = 0; k < nf; k++) {
        if (!atoms) {
            mean[k] = 0, lo[k] = 1, hi[k] = 0;
            continue;
        }
        mean[k] /= atoms;
        const double var = sum2[k] / atoms - mean[k] * mean[k], sigma = var > 0 ? sqrt(var) : 0;
        /* a feature the same on every atom (a flat one) is only centred */
        inv[k] = sigma > 1e-12 * (fabs(mean[k]) + 1e-300) && sigma > 0 ? 1 / sigma : 1;
    }
    free(theta);
    free(G);
    free(sum2);
}
