/* model_internal.h - declarations shared by the files of the model driver
 * (model_main.c, model_layout.c, csv.c, points.c, loss.c, checkpoint.c,
 * progress.c, train.c, grid_eval.c, term_eval.c, simulate.c). Not part of
 * the public API.
 *
 * Every function reports its own errors on stderr, naming the cause, and
 * returns 0 on success or -1 on failure; no function keeps global state. */
#ifndef PHYSM_MODEL_INTERNAL_H
#define PHYSM_MODEL_INTERNAL_H

#include "physmodel.h"

#include <stdio.h>

/* Exit statuses of a compiled model. */
enum { PHYSM_EXIT_OK = 0, PHYSM_EXIT_RUNTIME = 1, PHYSM_EXIT_USAGE = 2 };

/* ------------------------------------------------------------------------ */
/* model_layout.c: the vector of everything trainable                        */
/* ------------------------------------------------------------------------ */

/* theta = [weights of field 0 | weights of field 1 | ... | constants]: field
 * f's network parameters (physrt layout) at [offset[f], offset[f + 1]), the
 * model's trainable constants (declaration order) at [n_weights, n_theta). */
typedef struct {
    const physm_model *model;
    const char *prog;             /* program name for messages */
    physrt_mlp_desc *descs;       /* n_fields */
    size_t *offset;               /* n_fields + 1 */
    size_t n_weights;
    size_t n_theta;
} physm_layout;

/* Validates the descriptor (a broken one is a compiler bug: named error). */
int physm_layout_init(physm_layout *lay, const physm_model *model, const char *prog);
void physm_layout_free(physm_layout *lay);
/* Fresh initialisation: Glorot weights from per-field seeds derived from
 * seed, constants from physm_param.init. */
int physm_layout_fresh(const physm_layout *lay, uint64_t seed, double *theta);

/* A well-mixed 64-bit seed for (seed, purpose, index): splitmix64 steps. */
uint64_t physm_derive_seed(uint64_t seed, uint64_t purpose, uint64_t index);
enum { PHYSM_SEED_FIELD = 1, PHYSM_SEED_TERM = 2, PHYSM_SEED_FACE = 3 };

/* Seconds on the monotonic clock. */
double physm_now(void);

/* ------------------------------------------------------------------------ */
/* csv.c                                                                     */
/* ------------------------------------------------------------------------ */

/* Read a CSV file: header row of names, '#' comments and blank lines
 * skipped. Writes the n_cols requested columns of every data row into a new
 * row-major array *values (n_rows x n_cols, caller frees). display is the
 * name used in messages (file:line:col: error: ...). */
int physm_csv_read(const char *path, const char *display, int n_cols,
                   const char *const *columns, double **values, int *n_rows);

/* ------------------------------------------------------------------------ */
/* points.c                                                                  */
/* ------------------------------------------------------------------------ */

/* The points of term t: sampled (sampler, faces) from seed, or read from
 * the data file. *points is a new n x n_coords array (caller frees). */
int physm_term_points(const physm_layout *lay, int t, uint64_t seed,
                      double **points, int *n);

/* A data path as the model wrote it, resolved against the model's directory
 * (model->source_dir) unless absolute: a new string (caller frees), NULL
 * when out of memory. */
char *physm_resolve_path(const physm_model *model, const char *file);

/* ------------------------------------------------------------------------ */
/* term_eval.c                                                               */
/* ------------------------------------------------------------------------ */

/* The float64 residuals of one term (a loss term or a dynamics pseudo-term)
 * at given points, without the loss: the probes' inputs, one forward jet per
 * probe, the residual function. All workspace is allocated at creation;
 * evaluating never allocates. Single-threaded. */
typedef struct physm_term_eval physm_term_eval;

/* NULL (error reported) when out of memory or the probes' streams are
 * invalid. max_points >= 1. */
physm_term_eval *physm_term_eval_create(const physm_layout *lay, const physm_term *term, int max_points);
void physm_term_eval_destroy(physm_term_eval *ev);
/* theta: the model's full parameter vector (physm_layout). points: n x
 * n_coords, 0 <= n <= max_points. Writes out[j * n + p] for j <
 * n_residuals. Returns 0, or -1 (nothing reported) if n is out of range. */
int physm_term_eval_run(physm_term_eval *ev, const double *theta, const double *points, int n,
                        double *out);

/* ------------------------------------------------------------------------ */
/* loss.c                                                                    */
/* ------------------------------------------------------------------------ */

/* The physics-informed loss over every term, with all workspace (one eval
 * object per probe) allocated at creation: evaluating never allocates. */
typedef struct physm_loss_f64 physm_loss_f64;
typedef struct physm_loss_f32 physm_loss_f32;

/* points[t] holds n_points[t] x n_coords numbers for term t (copied). */
physm_loss_f64 *physm_loss_create_f64(const physm_layout *lay, double *const *points,
                                      const int *n_points, physrt_pool *pool);
physm_loss_f32 *physm_loss_create_f32(const physm_layout *lay, double *const *points,
                                      const int *n_points, physrt_pool *pool);
void physm_loss_destroy_f64(physm_loss_f64 *loss);
void physm_loss_destroy_f32(physm_loss_f32 *loss);

/* Loss at theta (n_theta entries); each term's weighted loss into
 * term_loss[t]. If grad is non-NULL it is OVERWRITTEN with d loss / d theta. */
double physm_loss_eval_f64(physm_loss_f64 *loss, const double *theta, double *grad,
                           double *term_loss);
double physm_loss_eval_f32(physm_loss_f32 *loss, const float *theta, float *grad,
                           double *term_loss);

/* ------------------------------------------------------------------------ */
/* checkpoint.c                                                              */
/* ------------------------------------------------------------------------ */

typedef struct {
    long steps_done;              /* position in the training schedule */
    double loss;                  /* last loss (NaN if unknown) */
} physm_ckpt_info;

/* Atomic: writes path.tmp, fsyncs, renames over path. */
int physm_checkpoint_save(const physm_layout *lay, const char *path,
                          const double *theta, const physm_ckpt_info *info);
/* Refuses (named error) a missing, foreign, truncated or corrupt file. */
int physm_checkpoint_load(const physm_layout *lay, const char *path, double *theta,
                          physm_ckpt_info *info);

/* ------------------------------------------------------------------------ */
/* progress.c                                                                */
/* ------------------------------------------------------------------------ */

typedef struct {
    const physm_model *model;
    FILE *out;
    int quiet, tty;
    long first_step, total_steps; /* steps are schedule positions */
    double t_start, t_last;       /* physm_now() */
    long step_last;               /* step at the last plain report */
    int line_open;                /* a \r line is on the terminal */
} physm_progress;

void physm_progress_init(physm_progress *pr, const physm_model *model, FILE *out,
                         int quiet, long first_step, long total_steps);
/* Report step (schedule position just completed) with its losses; rate-limited. */
void physm_progress_update(physm_progress *pr, long step, const char *stage,
                           double loss, const double *term_loss);
/* Report step of a run without losses (a simulation): "what: step k/N,
 * steps/s, ETA"; on a terminal like physm_progress_update, otherwise a
 * plain line every 2 seconds (a short run prints none). */
void physm_progress_steps(physm_progress *pr, long step, const char *what);
/* Ends a \r line (before an error or the summary). */
void physm_progress_break(physm_progress *pr);
/* The final summary line (printed unless quiet). */
void physm_progress_summary(physm_progress *pr, long steps_run, double loss,
                            const double *term_loss, const char *checkpoint);

/* ------------------------------------------------------------------------ */
/* verbs                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct {
    long steps;                   /* -1: the whole schedule */
    uint64_t seed;
    int threads;
    const char *checkpoint;
    int f32;
    int resume, quiet;
    double checkpoint_interval;   /* seconds between periodic saves */
} physm_train_options;

int physm_train(const physm_layout *lay, const physm_train_options *opts);

typedef struct {
    const char *name;             /* the simulate declaration; NULL: the first one */
    const char *checkpoint;
    int untrained;                /* fresh values from seed instead of the checkpoint */
    uint64_t seed;
    int integrator;               /* physm_integrator, or -1: the declaration's */
    double dt;                    /* 0: the declaration's */
    long steps, every;            /* 0: the declaration's */
    double tolerance;             /* 0: the declaration's */
    const char *from, *to;        /* NULL: the declaration's */
    int quiet;
} physm_simulate_options;

/* The simulate verb (simulate.c); returns an exit status. */
/* "leapfrog", "midpoint" or "rk4" for a physm_integrator ("?" otherwise). */
const char *physm_integrator_name(int integrator);
int physm_simulate(const physm_layout *lay, const physm_simulate_options *opts);

/* eval: args are the VAR=... and COLUMN arguments in order. */
int physm_grid_eval(const physm_layout *lay, const char *checkpoint, int n_args,
                    char **args, FILE *out);

#endif /* PHYSM_MODEL_INTERNAL_H */
