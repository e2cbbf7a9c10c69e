/* train.c - the train verb: runs the model's training schedule.
 *
 * Everything trainable is one vector theta (model_layout.c). The points of
 * every term are drawn once from the seed; the loss (loss.c) owns all
 * workspace, so a training step never allocates. Adam stages step in the
 * chosen precision (float32 on a float copy of theta); L-BFGS and dense
 * quasi-Newton stages always run in float64. --steps caps the optimizer
 * steps of this run (stages in order until they are used; an (L-)BFGS stage
 * counts its iterations).
 *
 * The schedule position (steps done) is saved in the checkpoint; --resume
 * loads the values and continues the schedule from there; --more N loads
 * them and runs N more steps, past the schedule's end as steps of its last
 * stage. Adam's moments are not saved: a resumed Adam stage restarts its
 * moments and its learning-rate schedule. Adaptive weights and adaptively
 * sampled points (adapt.c) change in Adam stages only, at schedule
 * positions that are multiples of their periods: weights after the loss at
 * that position is known (the step then takes the gradient with the new
 * weights), points after the step that reaches it. The checkpoint holds
 * both as they are at its position, so a resumed run continues them as an
 * uninterrupted one would. A model with neither a schedule nor weights
 * has every term's weight balanced this way (PHYSM_WEIGHT_AUTO, said at the
 * start of training). A fresh run refuses to replace a
 * checkpoint that holds training (or is not this model's) unless told to
 * (--overwrite). A non-finite loss or gradient stops training with an error
 * that names the step and the term; the checkpoint on disk is left as it
 * was.
 *
 * SIGINT and SIGTERM are blocked while training and polled at every step
 * boundary (sigpending: no handler, no global state): the state reached is
 * saved and physm_train returns PHYSM_EXIT_SIGNAL + the signal's number. A
 * signal ignored by the caller (SIG_IGN) stays ignored.
 *
 * Data-parallel (mpirun, opts->mpi): every rank makes the points of every
 * term from the same seed and keeps its contiguous share; the loss sums the
 * ranks' parts in rank order (loss.c), so every rank holds the same loss and
 * gradient and takes the same steps, and K ranks train as one process would,
 * to round-off. Rank 0 sets up first and tells the others how it went, so an
 * error in the model's files or options is reported once; it alone writes
 * the checkpoint, the history and the progress, and its values are
 * broadcast before the first step. A stop signal seen by any rank stops all
 * of them at the same step boundary. A failure of one rank alone (its setup,
 * rank 0's save) ends all of them (MPI_Abort). */
#define _POSIX_C_SOURCE 200809L
#include "model_internal.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const physm_layout *lay;
    const physm_train_options *opts;
    physm_mpi *mpi;               /* NULL: one process */
    int root;                     /* rank 0 (or alone): writes files and progress */
    int quiet;                    /* no progress output (--quiet, or not rank 0) */
    physm_loss_f64 *loss64;
    physm_loss_f32 *loss32;
    int needs_f64;                /* loss64 exists (float64 run or a (L-)BFGS stage) */
    physrt_pool *pool;
    /* every term's points (all ranks' alike), this rank's share going to the loss */
    double **points;
    int *n_total;
    int *n_share;
    double *weights;              /* n_terms: the weights now */
    double *term_grad;            /* n_terms x n_theta (adaptive weights only) */
    double *scratch;              /* n_theta */
    int adapt_weights, adapt_points;
    double *theta, *grad, *best;
    float *theta32, *grad32;
    double *term_loss, *best_term_loss, *bad_term_loss;
    physm_progress progress;
    long pos;                     /* schedule position (steps done) */
    long saved_pos;               /* position of the last checkpoint written; -1: none */
    double last_save;
    /* L-BFGS and quasi-Newton stage state */
    const char *stage_name;       /* "lbfgs", "ssbroyden", ... */
    long evals;
    long lbfgs_cap;               /* iterations this stage may run */
    double best_f;
    int bad_seen;
    double bad_f;
    long *live_max_evaluations;   /* the running stage's evaluation budget: lowering
                                         max_evaluations ends it (interrupt) */
    physm_history history;
    int stage;                    /* running stage, from 1 (history rows) */
    long log_every, last_logged;  /* history rows: every log_every-th position */
    int stop_signal;              /* SIGINT or SIGTERM received; 0: none */
} trainer;

/* A pending SIGINT or SIGTERM (blocked by physm_train), taken: its
 * number, or 0. */
static int take_signal(void)
{
    sigset_t pending;
    if (sigpending(&pending)) return 0;
    int sig = sigismember(&pending, SIGINT) == 1 ? SIGINT : sigismember(&pending, SIGTERM) == 1 ? SIGTERM : 0;
    if (!sig) return 0;
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    const struct timespec now = {0, 0};
    sigtimedwait(&one, NULL, &now);
    return sig;
}

/* A stop signal is remembered: the caller stops at this step boundary.
 * Data-parallel, the ranks agree (collective: every rank calls this at the
 * same boundaries), so all of them stop at the same step. */
static int stop_requested(trainer *tr)
{
    if (tr->stop_signal) return 1;
    int sig = take_signal();
    if (tr->mpi) sig = physm_mpi_first(tr->mpi, sig);
    tr->stop_signal = sig;
    return sig != 0;
}

static void log_row(trainer *tr, long step, const double *term_loss, double f, double lr, int force)
{
    if (!tr->root || step <= tr->last_logged || (!force && step % tr->log_every != 0)) return;
    physm_history_add(&tr->history, step, tr->stage, term_loss, f, lr, tr->weights);
    tr->last_logged = step;
}

static int all_finite(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += v[i] * 0;   /* NaN or inf anywhere makes s NaN */
    return s == 0;
}

static int all_finite32(const float *v, size_t n)
{
    float s = 0;
    for (size_t i = 0; i < n; i++) s += v[i] * 0;
    return s == 0;
}

static void sync_to_f64(trainer *tr)
{
    if (!tr->opts->f32) return;
    for (size_t i = 0; i < tr->lay->n_theta; i++) tr->theta[i] = tr->theta32[i];
}

static void sync_to_f32(trainer *tr)
{
    if (!tr->opts->f32) return;
    for (size_t i = 0; i < tr->lay->n_theta; i++) tr->theta32[i] = (float)tr->theta[i];
}

/* Rank 0 writes; its failure ends every rank (the others are waiting for
 * it in the next step). */
static int save(trainer *tr, const double *theta, long pos, double loss)
{
    if (!tr->root) return 0;
    physm_ckpt_info info = {pos, loss, tr->weights, tr->adapt_points ? tr->points : NULL, tr->n_total};
    physm_progress_break(&tr->progress);
    int rc = physm_checkpoint_save(tr->lay, tr->opts->checkpoint, theta, &info);
    if (rc == 0) {
        tr->saved_pos = pos;
        tr->last_save = physm_now();
        rc = physm_history_flush(&tr->history);
    }
    if (rc && physm_mpi_size(tr->mpi) > 1) physm_mpi_abort(tr->mpi, PHYSM_EXIT_RUNTIME);
    return rc;
}

/* Explain a non-finite loss or gradient at the current step. */
static void report_not_finite(trainer *tr, long step, const char *stage, double f, const double *term_loss,
                              int grad_bad)
{
    const physm_model *m = tr->lay->model;
    const char *prog = tr->lay->prog;
    physm_progress_break(&tr->progress);
    if (!tr->root) return;   /* every rank saw it; rank 0 says it */
    int t_bad = -1;
    for (int t = 0; t < m->n_terms && t_bad < 0; t++)
        if (!isfinite(term_loss[t])) t_bad = t;
    if (t_bad >= 0)
        fprintf(stderr, "%s: error: the loss is not finite at step %ld (%s): term '%s' = %g\n", prog, step,
                stage, m->terms[t_bad].name, term_loss[t_bad]);
    else if (!isfinite(f))
        fprintf(stderr, "%s: error: the loss is not finite at step %ld (%s): the sum of the terms overflows\n",
                prog, step, stage);
    else
        fprintf(stderr, "%s: error: the gradient is not finite at step %ld (%s; loss %g)\n", prog, step,
                stage, f);
    (void)grad_bad;
    if (tr->saved_pos >= 0)
        fprintf(stderr, "%s: training stopped; %s keeps the last good state (step %ld)\n", prog,
                tr->opts->checkpoint, tr->saved_pos);
    else
        fprintf(stderr, "%s: training stopped; no checkpoint was written by this run\n", prog);
}

/* The losses over the terms' points now (this rank's share of each), with
 * the weights now: made anew when points change. */
static int make_losses(trainer *tr)
{
    const physm_layout *lay = tr->lay;
    const physm_model *m = lay->model;
    const int rank = physm_mpi_rank(tr->mpi), n_ranks = physm_mpi_size(tr->mpi);
    double **share = calloc((size_t)m->n_terms + 1, sizeof *share);
    if (!share) {
        fprintf(stderr, "%s: error: out of memory\n", lay->prog);
        return -1;
    }
    for (int t = 0; t < m->n_terms; t++) {
        const int n = tr->n_total[t];
        const int from = (int)((long long)n * rank / n_ranks), to = (int)((long long)n * (rank + 1) / n_ranks);
        tr->n_share[t] = to - from;
        share[t] = tr->points[t] + (size_t)from * m->terms[t].n_coords;
    }
    physm_loss_destroy_f64(tr->loss64);
    physm_loss_destroy_f32(tr->loss32);
    tr->loss64 = NULL;
    tr->loss32 = NULL;
    int rc = 0;
    if (tr->needs_f64 && !(tr->loss64 = physm_loss_create_f64(lay, share, tr->n_share, tr->n_total, tr->mpi, tr->pool)))
        rc = -1;
    if (rc == 0 && tr->opts->f32 &&
        !(tr->loss32 = physm_loss_create_f32(lay, share, tr->n_share, tr->n_total, tr->mpi, tr->pool)))
        rc = -1;
    if (tr->loss64) physm_loss_set_weights_f64(tr->loss64, tr->weights);
    if (tr->loss32) physm_loss_set_weights_f32(tr->loss32, tr->weights);
    free(share);
    if (rc && physm_mpi_size(tr->mpi) > 1) physm_mpi_abort(tr->mpi, PHYSM_EXIT_RUNTIME);
    return rc;
}

/* New adaptive weights at this position from the gradient just taken; the
 * gradient, the terms' losses and *f become those of the new weights (each
 * term's part rescaled: no second evaluation). */
static void rebalance(trainer *tr, double *f)
{
    const physm_model *m = tr->lay->model;
    const size_t nt = tr->lay->n_theta;
    if (tr->opts->f32) physm_loss_term_grads_f32(tr->loss32, tr->term_grad);
    else physm_loss_term_grads_f64(tr->loss64, tr->term_grad);
    double *old = tr->scratch + nt;
    memcpy(old, tr->weights, (size_t)m->n_terms * sizeof *old);
    physm_weights_update(m, tr->pos, nt, tr->term_grad, tr->weights, tr->scratch);
    memset(tr->scratch, 0, nt * sizeof *tr->scratch);
    *f = 0;
    for (int t = 0; t < m->n_terms; t++) {
        const double ratio = old[t] > 0 ? tr->weights[t] / old[t] : 1;
        const double *g = tr->term_grad + (size_t)t * nt;
        for (size_t q = 0; q < nt; q++) tr->scratch[q] += ratio * g[q];
        tr->term_loss[t] *= ratio;
        *f += tr->term_loss[t];
    }
    for (size_t q = 0; q < nt; q++) {
        if (tr->opts->f32) tr->grad32[q] = (float)tr->scratch[q];
        else tr->grad[q] = tr->scratch[q];
    }
    if (tr->loss64) physm_loss_set_weights_f64(tr->loss64, tr->weights);
    if (tr->loss32) physm_loss_set_weights_f32(tr->loss32, tr->weights);
}

/* The adaptively sampled terms due after the step that reached tr->pos get
 * new points (round pos / every), and the losses are made over them. */
static int resample(trainer *tr)
{
    const physm_model *m = tr->lay->model;
    int changed = 0;
    for (int t = 0; t < m->n_terms; t++) {
        const physm_term *term = &m->terms[t];
        if (!physm_resample_due(term, tr->pos)) continue;
        if (!changed) sync_to_f64(tr);
        if (physm_resample(tr->lay, t, tr->opts->seed, tr->pos / term->adapt_every, tr->theta, tr->pool,
                           &tr->points[t], &tr->n_total[t])) {
            if (physm_mpi_size(tr->mpi) > 1) physm_mpi_abort(tr->mpi, PHYSM_EXIT_RUNTIME);
            return -1;
        }
        changed = 1;
    }
    return changed ? make_losses(tr) : 0;
}

static int periodic_save_due(const trainer *tr)
{
    return tr->root && physm_now() - tr->last_save >= tr->opts->checkpoint_interval;
}

/* n Adam steps; returns 0 or -1 (error reported), or stops early when a
 * signal asks (tr->stop_signal). A periodic checkpoint is taken just before
 * an update, of the values whose loss was just found finite, so every
 * checkpoint holds a good state. */
static int run_adam(trainer *tr, physrt_adam *adam, const physm_stage *st, long n)
{
    const size_t nt = tr->lay->n_theta;
    for (long i = 0; i < n; i++) {
        if (stop_requested(tr)) return 0;
        double f;
        int bad;
        if (tr->opts->f32) {
            f = physm_loss_eval_f32(tr->loss32, tr->theta32, tr->grad32, tr->term_loss);
            bad = !isfinite(f) || !all_finite32(tr->grad32, nt);
        } else {
            physm_loss_select_f64(tr->loss64, st->batch, tr->pos);
            f = physm_loss_eval_f64(tr->loss64, tr->theta, tr->grad, tr->term_loss);
            bad = !isfinite(f) || !all_finite(tr->grad, nt);
        }
        if (bad) {
            report_not_finite(tr, tr->pos + 1, "adam", f, tr->term_loss, 1);
            return -1;
        }
        if (i > 0 && periodic_save_due(tr)) {
            sync_to_f64(tr);
            if (save(tr, tr->theta, tr->pos, f)) return -1;
        }
        if (tr->adapt_weights && physm_weights_due(tr->lay->model, tr->pos)) rebalance(tr, &f);
        const double lr = physrt_lr_at(&st->adam.schedule, physrt_adam_steps(adam));
        if (tr->opts->f32) physrt_adam_step_f32(adam, tr->theta32, tr->grad32);
        else physrt_adam_step_f64(adam, tr->theta, tr->grad);
        tr->pos++;
        log_row(tr, tr->pos, tr->term_loss, f, lr, i == n - 1);
        physm_progress_update(&tr->progress, tr->pos, "adam", f, tr->term_loss, tr->weights);
        if (tr->adapt_points && resample(tr)) return -1;
    }
    return 0;
}

static double lbfgs_objective(void *ctx, const double *x, double *g)
{
    trainer *tr = ctx;
    const physm_model *m = tr->lay->model;
    const size_t nt = tr->lay->n_theta;
    double f = physm_loss_eval_f64(tr->loss64, x, g, tr->term_loss);
    tr->evals++;
    if (isfinite(f) && all_finite(g, nt)) {
        if (f < tr->best_f) {
            tr->best_f = f;
            memcpy(tr->best, x, nt * sizeof *x);
            memcpy(tr->best_term_loss, tr->term_loss, (size_t)m->n_terms * sizeof(double));
        }
    } else if (!tr->bad_seen) {
        tr->bad_seen = 1;
        tr->bad_f = f;
        memcpy(tr->bad_term_loss, tr->term_loss, (size_t)m->n_terms * sizeof(double));
    }
    if (tr->best_f < INFINITY) {
        char stage[48];
        snprintf(stage, sizeof stage, "%s (eval %ld)", tr->stage_name, tr->evals);
        /* iterations are not known inside the line search; one evaluation
         * per iteration is the usual rate, so show that position (for the ETA) */
        long shown = tr->pos + (tr->evals < tr->lbfgs_cap ? tr->evals : tr->lbfgs_cap);
        log_row(tr, shown, tr->best_term_loss, tr->best_f, NAN, 0);
        physm_progress_update(&tr->progress, shown, stage, tr->best_f, tr->best_term_loss, tr->weights);
        if (periodic_save_due(tr)) save(tr, tr->best, tr->pos, tr->best_f);
    }
    if (stop_requested(tr)) *tr->live_max_evaluations = tr->evals;   /* no further evaluation */
    return f;
}

/* One L-BFGS stage of at most n iterations; *used gets the iterations run,
 * *finished whether the stage ended by itself (not by the iteration cap). */
static int run_lbfgs(trainer *tr, const physm_stage *st, long n, long *used, int *finished)
{
    physm_loss_select_f64(tr->loss64, 0, 0); /* every frame: a deterministic objective */
    const physm_model *m = tr->lay->model;
    physrt_lbfgs_options o = st->lbfgs;
    o.max_iterations = n > 0x7fffffff ? 0x7fffffff : (int)n;
    tr->live_max_evaluations = &o.max_evaluations;
    tr->stage_name = "lbfgs";
    tr->evals = 0;
    tr->lbfgs_cap = n;
    tr->best_f = INFINITY;
    tr->bad_seen = 0;
    physrt_lbfgs_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = physrt_lbfgs_minimize((int)tr->lay->n_theta, tr->theta, lbfgs_objective, tr, &o, &rep);
    if (rc != PHYSRT_OK || rep.reason == PHYSRT_LBFGS_INVALID) {
        physm_progress_break(&tr->progress);
        fprintf(stderr, "%s: error: L-BFGS could not run (out of memory or invalid options)\n", tr->lay->prog);
        if (physm_mpi_size(tr->mpi) > 1) physm_mpi_abort(tr->mpi, PHYSM_EXIT_RUNTIME);
        return -1;
    }
    if (rep.reason == PHYSRT_LBFGS_NOT_FINITE || !isfinite(rep.f)) {
        report_not_finite(tr, tr->pos + 1, "lbfgs", tr->bad_seen ? tr->bad_f : rep.f,
                          tr->bad_seen ? tr->bad_term_loss : tr->term_loss, 1);
        return -1;
    }
    *used = rep.iterations;
    *finished = rep.reason != PHYSRT_LBFGS_MAX_ITERATIONS && !tr->stop_signal;
    if (!tr->quiet) {
        physm_progress_break(&tr->progress);
        fprintf(stderr, "lbfgs: %d iterations, %ld evaluations, loss %.6e: %s\n", rep.iterations,
                rep.evaluations, rep.f,
                tr->stop_signal ? "interrupted" : physrt_lbfgs_reason_string(rep.reason));
    }
    (void)m;
    return 0;
}

/* One dense quasi-Newton stage (ssbroyden, ssbfgs, bfgs), as run_lbfgs. A
 * NaN or inf in the loss or gradient after the start ends the stage with
 * the last good values, which training goes on with; at the start it is an
 * error. */
static int run_quasi_newton(trainer *tr, const physm_stage *st, long n, long *used, int *finished)
{
    physm_loss_select_f64(tr->loss64, 0, 0); /* every frame: a deterministic objective */
    physrt_qn_options o = st->qn;
    o.max_iterations = n > 0x7fffffff ? 0x7fffffff : (int)n;
    tr->stage_name = physrt_qn_method_name((physrt_qn_method)o.method);
    tr->live_max_evaluations = &o.max_evaluations;
    tr->evals = 0;
    tr->lbfgs_cap = n;
    tr->best_f = INFINITY;
    tr->bad_seen = 0;
    physrt_qn_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = physrt_qn_minimize((int)tr->lay->n_theta, tr->theta, lbfgs_objective, tr, &o, &rep, NULL);
    if (rc != PHYSRT_OK || rep.reason == PHYSRT_QN_INVALID || rep.reason == PHYSRT_QN_TOO_LARGE) {
        physm_progress_break(&tr->progress);
        fprintf(stderr, "%s: error: %s could not run: %s\n", tr->lay->prog, tr->stage_name,
                rc == PHYSRT_ENOMEM ? "out of memory for the dense inverse Hessian (use lbfgs)"
                                    : physrt_qn_reason_string(rep.reason));
        return -1;
    }
    if (!isfinite(rep.f)) {
        report_not_finite(tr, tr->pos + 1, tr->stage_name, tr->bad_seen ? tr->bad_f : rep.f,
                          tr->bad_seen ? tr->bad_term_loss : tr->term_loss, 1);
        return -1;
    }
    *used = rep.iterations;
    *finished = rep.reason != PHYSRT_QN_MAX_ITERATIONS && !tr->stop_signal;
    if (!tr->quiet || (rep.reason == PHYSRT_QN_NOT_FINITE && tr->root)) {
        physm_progress_break(&tr->progress);
        fprintf(stderr, "%s: %d iterations, %ld evaluations, %d restarts, loss %.6e: stopped: %s\n",
                tr->stage_name, rep.iterations, rep.evaluations, rep.restarts, rep.f,
                tr->stop_signal ? "interrupted" : physrt_qn_reason_string(rep.reason));
    }
    return 0;
}

/* Whether a stage runs L-BFGS: an lbfgs stage, or the default schedule's
 * dense quasi-Newton stage in a model of more than PHYSRT_QN_MAX_PARAMS. */
static int stage_runs_lbfgs(const physm_stage *st, size_t n_theta)
{
    return st->optimizer == PHYSM_LBFGS ||
           (st->optimizer == PHYSM_QUASI_NEWTON && st->lbfgs_above_dense_limit && n_theta > PHYSRT_QN_MAX_PARAMS);
}

static void trainer_free(trainer *tr)
{
    physm_loss_destroy_f64(tr->loss64);
    physm_loss_destroy_f32(tr->loss32);
    free(tr->theta);
    free(tr->grad);
    free(tr->best);
    free(tr->theta32);
    free(tr->grad32);
    free(tr->term_loss);
    free(tr->best_term_loss);
    free(tr->bad_term_loss);
    free(tr->weights);
    free(tr->term_grad);
    free(tr->scratch);
    if (tr->points)
        for (int t = 0; t < tr->lay->model->n_terms; t++) free(tr->points[t]);
    free(tr->points);
    free(tr->n_total);
    free(tr->n_share);
    physm_history_free(&tr->history);
}

/* A fresh run must not replace a checkpoint holding training, nor a file
 * that is not this model's checkpoint, unless --overwrite: 0 when it may
 * go ahead. theta is scratch. */
static int fresh_run_allowed(const physm_layout *lay, const physm_train_options *opts, double *theta)
{
    const char *prog = lay->prog, *path = opts->checkpoint;
    if (opts->overwrite || access(path, F_OK) != 0) return 0;
    physm_ckpt_info info = {0};
    if (physm_checkpoint_load(lay, path, theta, &info) != 0) {
        fprintf(stderr, "%s: error: train: not replacing %s, which is not a checkpoint of this model; "
                "give --overwrite to replace it, or --checkpoint FILE for another file\n", prog, path);
        return -1;
    }
    if (info.steps_done <= 0) return 0;
    char loss[48] = "";
    if (isfinite(info.loss)) snprintf(loss, sizeof loss, " (loss %.6e)", info.loss);
    fprintf(stderr, "%s: error: train: %s already holds %ld steps of training%s; a fresh run "
            "would replace it.\n  Continue it with 'train --resume' (the rest of the schedule) or "
            "'train --more N' (N more steps),\n  or start afresh with 'train --overwrite' (or "
            "--checkpoint FILE for another file)\n", prog, path, info.steps_done, loss);
    return -1;
}

int physm_train(const physm_layout *lay, const physm_train_options *opts)
{
    const physm_model *m = lay->model;
    const char *prog = lay->prog;
    const size_t nt = lay->n_theta;
    physm_mpi *mpi = opts->mpi;
    const int rank = physm_mpi_rank(mpi), n_ranks = physm_mpi_size(mpi);
    int status = PHYSM_EXIT_RUNTIME;
    /* The other ranks set up once rank 0 has (its errors are theirs too:
     * the same model, files and options), or end with its status. */
    if (rank > 0 && (status = physm_mpi_bcast_int(mpi, 0)) != 0) return status;
    int set_up = 0;
    /* Without terms there is nothing to train; --steps 0 still writes the
     * initial values of a model with fields (to evaluate them). */
    if (m->n_terms == 0 && !(opts->steps == 0 && nt > 0)) {
        fprintf(stderr, "%s: error: nothing to train: the model '%s' has no loss terms (equations, conditions "
                "or data)%s\n", prog, m->name,
                nt > 0 ? "; 'train --steps 0' writes the initial values" : "");
        physm_mpi_bcast_int(mpi, PHYSM_EXIT_RUNTIME);   /* only rank 0 is here */
        return PHYSM_EXIT_RUNTIME;
    }
    trainer tr;
    memset(&tr, 0, sizeof tr);
    tr.lay = lay;
    tr.opts = opts;
    tr.mpi = mpi;
    tr.root = rank == 0;
    tr.quiet = opts->quiet || !tr.root;
    tr.saved_pos = -1;
    tr.log_every = opts->log_every > 0 ? opts->log_every : 10;
    physrt_pool *pool = NULL;
    physm_stage *extended = NULL;   /* the stages with the last one longer (--more) */
    sigset_t stop_signals, old_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    /* blocked before the pool's threads start, which inherit the mask */
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);
    physrt_adam **adams = calloc((size_t)m->n_stages + 1, sizeof *adams);
    tr.points = calloc((size_t)m->n_terms + 1, sizeof *tr.points);
    tr.n_share = calloc((size_t)m->n_terms + 1, sizeof *tr.n_share);
    tr.n_total = calloc((size_t)m->n_terms + 1, sizeof *tr.n_total);
    tr.weights = calloc((size_t)m->n_terms + 1, sizeof *tr.weights);
    tr.scratch = calloc(nt + (size_t)m->n_terms + 1, sizeof *tr.scratch);
    double **saved_points = calloc((size_t)m->n_terms + 1, sizeof *saved_points);
    int *n_saved = calloc((size_t)m->n_terms + 1, sizeof *n_saved);
    for (int t = 0; t < m->n_terms; t++) {
        tr.adapt_weights |= m->terms[t].weight_rule != PHYSM_WEIGHT_FIXED;
        tr.adapt_points |= m->terms[t].adapt != PHYSM_ADAPT_NONE;
    }
    if (tr.adapt_weights) tr.term_grad = calloc((size_t)m->n_terms * nt + 1, sizeof *tr.term_grad);
    tr.theta = calloc(nt + 1, sizeof(double));
    tr.grad = calloc(nt + 1, sizeof(double));
    tr.best = calloc(nt + 1, sizeof(double));
    tr.term_loss = calloc((size_t)m->n_terms + 1, sizeof(double));
    tr.best_term_loss = calloc((size_t)m->n_terms + 1, sizeof(double));
    tr.bad_term_loss = calloc((size_t)m->n_terms + 1, sizeof(double));
    if (opts->f32) {
        tr.theta32 = calloc(nt + 1, sizeof(float));
        tr.grad32 = calloc(nt + 1, sizeof(float));
    }
    if (!adams || !tr.points || !tr.n_share || !tr.n_total || !tr.weights || !tr.scratch || !saved_points ||
        !n_saved || (tr.adapt_weights && !tr.term_grad) || !tr.theta || !tr.grad || !tr.best || !tr.term_loss ||
        !tr.best_term_loss || !tr.bad_term_loss || (opts->f32 && (!tr.theta32 || !tr.grad32))) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        goto done;
    }
    for (int t = 0; t < m->n_terms; t++) tr.weights[t] = m->terms[t].weight;

    /* Starting values. */
    long start = 0;
    const int resume = opts->resume || opts->more > 0;
    if (resume) {
        physm_ckpt_info info = {0, NAN, tr.weights, saved_points, n_saved};
        if (physm_checkpoint_load(lay, opts->checkpoint, tr.theta, &info)) goto done;
        start = info.steps_done < 0 ? 0 : info.steps_done;
        tr.saved_pos = start;
    } else if (fresh_run_allowed(lay, opts, tr.theta) || physm_layout_fresh(lay, opts->seed, tr.theta)) {
        goto done;
    }
    if (tr.root && physm_history_open(&tr.history, m, prog, opts->checkpoint, !resume)) goto done;
    tr.last_logged = start;

    /* The stages this run follows: --more N past the schedule's end makes
     * the last stage longer; its optimizer starts afresh (an Adam schedule
     * runs over the N steps). */
    const physm_stage *stages = m->stages;
    long schedule = 0;
    for (int s = 0; s < m->n_stages; s++) schedule += m->stages[s].steps;
    if (opts->more > 0) {
        if (m->n_stages == 0) {
            fprintf(stderr, "%s: error: train --more: the model '%s' has no training schedule\n", prog, m->name);
            goto done;
        }
        if (start + opts->more > schedule) {
            extended = malloc((size_t)m->n_stages * sizeof *extended);
            if (!extended) {
                fprintf(stderr, "%s: error: out of memory\n", prog);
                goto done;
            }
            memcpy(extended, m->stages, (size_t)m->n_stages * sizeof *extended);
            physm_stage *last = &extended[m->n_stages - 1];
            last->steps += start + opts->more - schedule;
            if (last->optimizer == PHYSM_ADAM && start >= schedule) last->adam.schedule.total_steps = opts->more;
            schedule = start + opts->more;
            stages = extended;
        }
    }

    /* Points, once (a resumed adaptively sampled term's from the checkpoint);
     * data-parallel, each rank trains on its contiguous share of each term's
     * (the same points whatever the number of ranks). */
    for (int t = 0; t < m->n_terms; t++) {
        if (saved_points[t]) {
            tr.points[t] = saved_points[t];
            tr.n_total[t] = n_saved[t];
            saved_points[t] = NULL;
        } else if (physm_term_points(lay, t, opts->seed, &tr.points[t], &tr.n_total[t])) {
            goto done;
        }
    }

    pool = physrt_pool_create(opts->threads);
    tr.pool = pool;
    if (!pool) {
        fprintf(stderr, "%s: error: cannot start %d threads\n", prog, opts->threads);
        goto done;
    }
    /* L-BFGS runs in float64 whatever the precision, so the float64 loss
     * exists for a float64 run or a schedule with an L-BFGS stage; a float32
     * Adam-only run does without its buffers. */
    tr.needs_f64 = !opts->f32;
    for (int s = 0; s < m->n_stages; s++)
        if (stages[s].optimizer != PHYSM_ADAM && stages[s].steps > 0) tr.needs_f64 = 1;
    if (make_losses(&tr)) goto done;
    if (!resume && tr.loss64) physm_loss_scaling_f64(tr.loss64, tr.theta); /* an atomic network's, from its frames */
    for (int s = 0; s < m->n_stages; s++)
        if (stages[s].optimizer == PHYSM_QUASI_NEWTON && stages[s].steps > 0 && nt > PHYSRT_QN_MAX_PARAMS &&
            !stages[s].lbfgs_above_dense_limit) {
            fprintf(stderr, "%s: error: stage %d (%s) keeps a dense inverse Hessian of the %zu parameters, "
                    "which it allows for at most %d: use lbfgs for this model\n", prog, s + 1,
                    physrt_qn_method_name((physrt_qn_method)stages[s].qn.method), nt, PHYSRT_QN_MAX_PARAMS);
            goto done;
        }
    for (int s = 0; s < m->n_stages; s++)
        if (stages[s].optimizer == PHYSM_ADAM) {
            adams[s] = physrt_adam_create(nt, &stages[s].adam);
            if (!adams[s]) {
                fprintf(stderr, "%s: error: invalid Adam options in stage %d (or out of memory)\n", prog, s + 1);
                goto done;
            }
        }
    /* Set up: rank 0 tells the others, and its values are everyone's. */
    set_up = 1;
    if (rank == 0) physm_mpi_bcast_int(mpi, PHYSM_EXIT_OK);
    physm_mpi_bcast(mpi, tr.theta, nt);
    sync_to_f32(&tr);
    if (mpi && !tr.quiet)
        fprintf(stderr, "%s: training on %d process%s (mpirun), %d thread%s each, every term's points split "
                "across them\n", prog, n_ranks, n_ranks == 1 ? "" : "es", opts->threads, opts->threads == 1 ? "" : "s");

    /* Plan: schedule positions [start, start + budget). */
    long budget = schedule > start ? schedule - start : 0;
    if (opts->steps >= 0 && opts->steps < budget) budget = opts->steps;
    if (opts->more > 0 && opts->more < budget) budget = opts->more;
    if (resume && budget == 0 && start >= schedule && opts->steps != 0 && !tr.quiet)
        fprintf(stderr, "%s: the training schedule (%ld steps) is complete; 'train --more N' trains N more "
                "steps of its last stage\n", prog, schedule);
    tr.pos = start;
    if (!tr.quiet && budget > 0 && m->n_terms > 0 && m->terms[0].weight_rule == PHYSM_WEIGHT_AUTO)
        fprintf(stderr, "%s: the model sets no schedule and no weights: its terms' weights are balanced "
                "automatically (grad_norm every %ld Adam steps, alpha %g, then kept by the quasi-Newton stage); "
                "a 'loss weight' line fixes them\n", prog, m->terms[0].weight_every, m->terms[0].weight_alpha);
    physm_progress_init(&tr.progress, m, stderr, tr.quiet, start, start + budget);
    tr.last_save = physm_now();

    long stage_begin = 0, run = 0;
    for (int s = 0; s < m->n_stages && run < budget && !tr.stop_signal; s++) {
        const physm_stage *st = &stages[s];
        const long stage_end = stage_begin + st->steps;
        tr.stage = s + 1;
        if (tr.pos < stage_end) {
            long todo = stage_end - tr.pos;
            if (todo > budget - run) todo = budget - run;
            if (st->optimizer == PHYSM_ADAM) {
                const long before = tr.pos;
                if (run_adam(&tr, adams[s], st, todo)) goto done;
                run += tr.pos - before;
                sync_to_f64(&tr);
            } else {
                long used = 0;
                int finished = 0;
                sync_to_f64(&tr);
                if (!stop_requested(&tr) && (stage_runs_lbfgs(st, nt) ? run_lbfgs(&tr, st, todo, &used, &finished)
                                                                   : run_quasi_newton(&tr, st, todo, &used, &finished)))
                    goto done;
                sync_to_f32(&tr);
                run += used;
                tr.pos = finished ? stage_end : tr.pos + used;
                log_row(&tr, tr.pos, tr.term_loss, tr.best_f, NAN, 1);
            }
        }
        stage_begin = stage_end;
    }

    /* Final loss in the training precision (every frame), checkpoint, summary. */
    if (!opts->f32) physm_loss_select_f64(tr.loss64, 0, 0);
    double f = opts->f32 ? physm_loss_eval_f32(tr.loss32, tr.theta32, NULL, tr.term_loss)
                         : physm_loss_eval_f64(tr.loss64, tr.theta, NULL, tr.term_loss);
    if (!isfinite(f)) {
        report_not_finite(&tr, tr.pos, "final", f, tr.term_loss, 0);
        goto done;
    }
    sync_to_f64(&tr);
    if (save(&tr, tr.theta, tr.pos, f)) goto done;
    if (tr.stop_signal) {
        physm_progress_break(&tr.progress);
        if (tr.root)
            fprintf(stderr, "%s: %s: training stopped at step %ld; saved %s (continue with 'train --resume')\n",
                    prog, tr.stop_signal == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)", tr.pos,
                    opts->checkpoint);
        status = PHYSM_EXIT_SIGNAL + tr.stop_signal;
        goto done;
    }
    physm_progress_summary(&tr.progress, run, f, tr.term_loss, tr.weights, opts->checkpoint);
    status = PHYSM_EXIT_OK;
done:
    if (!set_up && mpi) {   /* a failure in setup: rank 0's is everyone's, another's its own */
        if (rank == 0) physm_mpi_bcast_int(mpi, status);
        else physm_mpi_abort(mpi, status);
    }
    take_signal();   /* a signal that came at the end is taken, not left to kill the caller */
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    free(extended);
    physm_progress_break(&tr.progress);
    if (adams)
        for (int s = 0; s < m->n_stages; s++) physrt_adam_destroy(adams[s]);
    free(adams);
    if (saved_points)
        for (int t = 0; t < m->n_terms; t++) free(saved_points[t]);
    free(saved_points);
    free(n_saved);
    trainer_free(&tr);
    physrt_pool_destroy(pool);
    return status;
}
