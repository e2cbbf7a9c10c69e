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
#include "neighbors.h"

#include <stdio.h>

/* Exit statuses of a compiled model. */
enum { PHYSM_EXIT_OK = 0, PHYSM_EXIT_RUNTIME = 1, PHYSM_EXIT_USAGE = 2 };

/* Command lines of the verbs (model_main.c). An option with a value:
 * "--name value" or "--name=value": 1 and *val if argv[*i] is the option, 0
 * if it is not, -1 if the value is missing. */
int physm_opt_value(int argc, char **argv, int *i, const char *name, const char **val);
/* A whole number >= lo: 0, or -1 when s is not one. */
int physm_parse_long(const char *s, long lo, long *out);
/* "PROG: error: " fmt (a, b) and where --help is; returns PHYSM_EXIT_USAGE. */
int physm_usage_error(const char *prog, const char *argv0, const char *fmt, const char *a, const char *b);

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
    size_t scaling;               /* an atomic network's feature scaling (after its weights,
                                     in its field's block): per feature its mean,
                                     1 / sigma, min and max over the training frames (4
                                     n_features numbers; min > max: no range known); the
                                     optimizers never move them (zero gradient) */
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
enum { PHYSM_SEED_FIELD = 1, PHYSM_SEED_TERM = 2, PHYSM_SEED_FACE = 3, PHYSM_SEED_ADAPT = 4, PHYSM_SEED_ROUND = 5,
       PHYSM_SEED_PICK = 6 };

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

/* A column name NumPy and pandas take as it is: every run of characters
 * other than letters, digits and '_' becomes one '_', with none at the ends
 * ("d(v,x)[0]" -> "d_v_x_0", "initial@12" -> "initial_12"); a name that
 * would start with a digit gets a leading '_'. Truncated to size - 1. */
void physm_column_name(char *buf, size_t size, const char *name);

/* ------------------------------------------------------------------------ */
/* points.c                                                                  */
/* ------------------------------------------------------------------------ */

/* The points of term t: sampled (sampler, faces) from seed, or read from
 * the data file. *points is a new n x n_coords array (caller frees). */
int physm_term_points(const physm_layout *lay, int t, uint64_t seed,
                      double **points, int *n);
/* Round r >= 1 of an adaptively sampled term's candidates: n new points
 * (*points, caller frees) from the term's sampler and region, drawn from
 * (seed, t, r): uniform and lhs from their own seed, sobol further along
 * the sequence, grid the same grid each round. */
int physm_term_candidates(const physm_layout *lay, int t, uint64_t seed, long round, int n, double **points);

/* A data path as the model wrote it, resolved against the model's directory
 * (model->source_dir) unless absolute: a new string (caller frees), NULL
 * when out of memory. */
char *physm_resolve_path(const physm_model *model, const char *file);

/* ------------------------------------------------------------------------ */
/* mpi.c: data-parallel training over MPI (Open MPI loaded at run time)     */
/* ------------------------------------------------------------------------ */

/* The processes of one mpirun. A NULL physm_mpi is one process alone:
 * every function below is then a no-op (rank 0 of 1). Only the thread that
 * started MPI may call these, and every rank must make the same calls in
 * the same order (they are collective), except physm_mpi_abort. */
typedef struct physm_mpi physm_mpi;

/* Under mpirun (OMPI_COMM_WORLD_SIZE set): loads libmpi.so.40, starts MPI
 * and sets *mpi. Otherwise *mpi = NULL and MPI is never touched. -1 (error
 * reported) when the library cannot be loaded or MPI cannot start. */
int physm_mpi_start(const char *prog, physm_mpi **mpi);
/* The number of processes mpirun started (OMPI_COMM_WORLD_SIZE), 1 when
 * not under mpirun; MPI is not touched. */
int physm_mpi_launched(void);
/* MPI_Finalize, when every rank ends together. */
void physm_mpi_finish(physm_mpi *mpi);
/* A failure of this rank alone: ends every rank (MPI_Abort). */
void physm_mpi_abort(physm_mpi *mpi, int status);
int physm_mpi_rank(const physm_mpi *mpi);
int physm_mpi_size(const physm_mpi *mpi);
/* v[i] = the sum over ranks of v[i], added in rank order: the same bits on
 * every rank. */
void physm_mpi_sum(physm_mpi *mpi, double *v, size_t n);
/* Rank 0's v (n numbers) to every rank; rank 0's value to every rank. */
void physm_mpi_bcast(physm_mpi *mpi, double *v, size_t n);
int physm_mpi_bcast_int(physm_mpi *mpi, int value);
/* The first non-zero value in rank order (0 when all are 0). */
int physm_mpi_first(physm_mpi *mpi, int value);
/* Threads for this rank when none are asked for, out of all CPUs: the CPUs
 * mpirun bound it to, else its share of the machine's. */
int physm_mpi_threads(const physm_mpi *mpi, int all);

/* ------------------------------------------------------------------------ */
/* term_eval.c                                                               */
/* ------------------------------------------------------------------------ */

/* The float64 residuals of one term (a loss term or a dynamics pseudo-term)
 * at given points, without the loss: the probes' inputs, one forward jet per
 * probe, the residual function. All workspace is allocated at creation;
 * evaluating never allocates. Single-threaded. */
typedef struct physm_term_eval physm_term_eval;

/* One probe's network evaluation at up to max_points points: its inputs
 * (filled by a term's or kernel's inputs function), one forward jet, and
 * the pointers to its (stream, output) values. Used by the term and the
 * particle-system evaluators. */
typedef struct {
    const physm_probe *probe;
    int n_in, n_out;
    physrt_mlp_eval_f64 *ev;
    double *inputs;               /* max_points x n_in */
    double *out;                  /* n_plan x n_out x n (physrt layout) */
    int *stream_idx;              /* per requested stream: its index in the plan */
} physm_probe_eval;

/* 0, or -1 (nothing reported) when out of memory or the streams are invalid;
 * free with physm_probe_eval_free either way. */
int physm_probe_eval_init(physm_probe_eval *pe, const physm_layout *lay, const physm_probe *pr, int max_points);
void physm_probe_eval_free(physm_probe_eval *pe);
/* The network at n <= max_points points of pe->inputs; streams[k] (one per
 * stream and output, stream-major) is pointed at n values each. Returns the
 * number of pointers written, or -1. */
int physm_probe_eval_run(physm_probe_eval *pe, const physm_layout *lay, const double *theta, int n,
                         const double **streams);

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

/* points[t] holds n_points[t] x n_coords numbers for term t (copied).
 * Data-parallel (mpi non-NULL): these are this rank's share of the term's
 * n_total[t] points (n_total NULL: n_points), every loss is a mean over
 * n_total, and every evaluation sums the ranks' parts (physm_mpi_sum), so
 * all ranks get the same loss and gradient, those of all the points. */
physm_loss_f64 *physm_loss_create_f64(const physm_layout *lay, double *const *points,
                                      const int *n_points, const int *n_total, physm_mpi *mpi,
                                      physrt_pool *pool);
physm_loss_f32 *physm_loss_create_f32(const physm_layout *lay, double *const *points,
                                      const int *n_points, const int *n_total, physm_mpi *mpi,
                                      physrt_pool *pool);
void physm_loss_destroy_f64(physm_loss_f64 *loss);
void physm_loss_destroy_f32(physm_loss_f32 *loss);

/* Loss at theta (n_theta entries); each term's weighted loss into
 * term_loss[t]. If grad is non-NULL it is OVERWRITTEN with d loss / d theta. */
/* Mini-batches of frames data (physm_stage.batch) for the evaluations
 * that follow; float32 losses hold no frames data. */
void physm_loss_select_f64(physm_loss_f64 *loss, long batch, long step);
/* A fresh run's feature scaling from the first frames data term into theta. */
void physm_loss_scaling_f64(const physm_loss_f64 *loss, double *theta);
double physm_loss_eval_f64(physm_loss_f64 *loss, const double *theta, double *grad,
                           double *term_loss);
double physm_loss_eval_f32(physm_loss_f32 *loss, const float *theta, float *grad,
                           double *term_loss);
/* The terms' weights from now on (n_terms; at creation: physm_term.weight). */
void physm_loss_set_weights_f64(physm_loss_f64 *loss, const double *weight);
void physm_loss_set_weights_f32(physm_loss_f32 *loss, const double *weight);
/* After an evaluation with a gradient: each term's weighted part of it,
 * term_grad[t * n_theta + q] (they add up to the gradient, to round-off).
 * Data-parallel it is collective: summed over the ranks. */
void physm_loss_term_grads_f64(physm_loss_f64 *loss, double *term_grad);
void physm_loss_term_grads_f32(physm_loss_f32 *loss, double *term_grad);

/* ------------------------------------------------------------------------ */
/* adapt.c: adaptive loss weights and residual-based adaptive sampling        */
/* ------------------------------------------------------------------------ */

/* Whether some term's adaptive weight is updated at schedule position pos. */
int physm_weights_due(const physm_model *m, long pos);
/* Updates weights[t] of every adaptive term due at pos from the terms'
 * weighted gradients (physm_loss_term_grads: n_terms x n); scratch holds n. */
void physm_weights_update(const physm_model *m, long pos, size_t n, const double *term_grad, double *weights,
                          double *scratch);
/* Whether term t is resampled after the Adam step that reaches pos. */
int physm_resample_due(const physm_term *t, long pos);
/* One round of RAD or RAR-D for term t at theta (float64, every thread of
 * pool): *points (*n_points x n_coords) is replaced by a new array. The
 * same seed, round and theta give the same points with any thread count. */
int physm_resample(const physm_layout *lay, int t, uint64_t seed, long round, const double *theta,
                   physrt_pool *pool, double **points, int *n_points);

/* ------------------------------------------------------------------------ */
/* checkpoint.c                                                              */
/* ------------------------------------------------------------------------ */

typedef struct {
    long steps_done;              /* position in the training schedule */
    double loss;                  /* last loss (NaN if unknown) */
    /* Training state beyond the values, for the terms that adapt (NULL: none
     * to write, or not wanted): weights[t] of every term with an adaptive
     * weight, and the points of every adaptively sampled term, points[t]
     * (n_points[t] x n_coords). Loading fills what the file holds (a file
     * without them leaves weights as they were and points[t] NULL) and
     * allocates points[t]: the caller frees them. */
    double *weights;
    double **points;
    int *n_points;
} physm_ckpt_info;

/* Atomic: writes path.tmp, fsyncs, renames over path. */
int physm_checkpoint_save(const physm_layout *lay, const char *path,
                          const double *theta, const physm_ckpt_info *info);
/* Refuses (named error) a missing, foreign, truncated or corrupt file. */
int physm_checkpoint_load(const physm_layout *lay, const char *path, double *theta,
                          physm_ckpt_info *info);
/* The same from the bytes of a checkpoint file (one embedded in a KIM
 * model or a library: physc --checkpoint); path names it in messages. */
int physm_checkpoint_parse(const physm_layout *lay, const char *path, const unsigned char *data, size_t size,
                           double *theta, physm_ckpt_info *info);

 /* The default checkpoint of a program: the base name of argv[0] + ".ckpt"
 * (in the working directory); a new string, NULL when out of memory. */
char *physm_default_checkpoint(const char *argv0);

/* ------------------------------------------------------------------------ */
/* history.c: the loss history beside the checkpoint                         */
/* ------------------------------------------------------------------------ */

typedef struct {
    const physm_model *model;
    const char *prog;
    char *path;                   /* physm_history_path(checkpoint) */
    int fresh;                    /* the next flush starts a new file */
    int n_cols;                   /* step, stage, terms, total, lr, elapsed */
    double *rows;                 /* n_rows x n_cols, not yet written */
    size_t n_rows, cap;
    double t_start, t_offset;     /* elapsed = t_offset + now - t_start */
} physm_history;

/* FILE.ckpt -> FILE.history.csv, else FILE + ".history.csv"; caller frees. */
char *physm_history_path(const char *checkpoint);
/* fresh: a new file at the first flush; otherwise rows are appended and
 * elapsed seconds continue from the file's last row. */
int physm_history_open(physm_history *h, const physm_model *model, const char *prog, const char *checkpoint,
                       int fresh);
/* weights: every term's weight now (the adaptive ones are written), or NULL. */
void physm_history_add(physm_history *h, long step, int stage, const double *term_loss, double total,
                       double lr, const double *weights);
/* Appends the rows kept so far (after a checkpoint save). */
int physm_history_flush(physm_history *h);
void physm_history_free(physm_history *h);

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
/* Report step (schedule position just completed) with its losses and (not
 * NULL) the terms' weights, shown for the adaptive ones; rate-limited. */
void physm_progress_update(physm_progress *pr, long step, const char *stage,
                           double loss, const double *term_loss, const double *weights);
/* Report step of a run without losses (a simulation): "what: step k/N,
 * steps/s, ETA"; on a terminal like physm_progress_update, otherwise a
 * plain line every 2 seconds (a short run prints none). */
void physm_progress_steps(physm_progress *pr, long step, const char *what);
/* Ends a \r line (before an error or the summary). */
void physm_progress_break(physm_progress *pr);
/* The final summary line (printed unless quiet). */
void physm_progress_summary(physm_progress *pr, long steps_run, double loss,
                            const double *term_loss, const double *weights, const char *checkpoint);

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
    int overwrite;                /* a fresh run may replace a trained checkpoint */
    long more;                    /* > 0: resume and train this many more steps, past the
                                     schedule's end in its last stage */
    long log_every;               /* history row every this many steps (0: 10) */
    physm_mpi *mpi;               /* data-parallel over these processes; NULL: one */
} physm_train_options;

/* physm_train's status when SIGINT or SIGTERM stopped it (after saving):
 * 128 + the signal's number, as a shell reports it. */
enum { PHYSM_EXIT_SIGNAL = 128 };

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
    int threads;                  /* particle systems: 0 = every CPU */
    double skin;                  /* particle systems' neighbour lists: < 0 = 0.15 x the cutoff */
    int npy;                      /* write .npy (the default name's .csv becomes .npy) */
    double temperature;           /* langevin, kelvin (energies in eV); 0: the declaration's */
} physm_simulate_options;

/* The simulate verb (simulate.c); returns an exit status. */
/* "leapfrog", "midpoint" or "rk4" for a physm_integrator ("?" otherwise). */
const char *physm_integrator_name(int integrator);
int physm_simulate(const physm_layout *lay, const physm_simulate_options *opts);

/* eval: args are the VAR=... and COLUMN arguments in order; CSV. */
int physm_grid_eval(const physm_layout *lay, const char *checkpoint, int n_args,
                    char **args, FILE *out);
/* The same as CSV (npy = 0) or as a NumPy .npy structured array (npy = 1). */
int physm_grid_eval_as(const physm_layout *lay, const char *checkpoint, int n_args, char **args, FILE *out,
                       int npy);

/* plot: args are what to plot (history, VAR=a:b:n ... [COLUMN], trajectory,
 * energy) and its file; out_png NULL: PROGRAM_WHAT.png. An exit status. */
int physm_plot(const physm_layout *lay, const char *checkpoint, int n_args, char **args, const char *out_png);

/* npy.c: the header of a .npy file holding n_rows records of n_cols float64
 * fields named names (host byte order); the records follow as raw doubles. */
int physm_npy_write_header(FILE *out, int n_cols, const char *const *names, long n_rows);

/* ------------------------------------------------------------------------ */
/* system_eval.c: particle systems (physm_system)                            */
/* ------------------------------------------------------------------------ */

/* One configuration: count[set] particles of each set, the attribute arrays
 * (physm_attribute.array: count x width, row-major) and the cell. */
typedef struct {
    long count[8];
    double **arrays;
    physrt_cell cell;
} physm_config;

typedef struct physm_system_eval physm_system_eval;

/* Workspace for configurations of these counts (NULL, reported, when out
 * of memory); pool may be NULL (one thread). */
physm_system_eval *physm_system_eval_create(const physm_layout *lay, const long *count, physrt_pool *pool);
void physm_system_eval_destroy(physm_system_eval *ev);
/* The neighbour lists' skin (default 0.15 x each cutoff); before the first run. */
void physm_system_eval_set_skin(physm_system_eval *ev, double skin);
/* Potential energy (NaN without one) and the forces on every moving set
 * (forces[set]: count x dim, overwritten). -1 with physm_system_eval_error. */
int physm_system_eval_run(physm_system_eval *ev, const double *theta, const physm_config *cfg, double *energy,
                          double *const *forces);
/* Atomic networks (physm_system.atomic), in steps: each atom's descriptor
 * G (atoms x n_features); its tangent t = dG/dr . u along u (atoms x dim);
 * energy and forces given the network's sum_i E_i and dE_i/dG_i (atoms x
 * n_features). physm_system_eval_run is these with the network between. */
int physm_system_eval_descriptors(physm_system_eval *ev, const double *theta, const physm_config *cfg, double *G);
int physm_system_eval_tangent(physm_system_eval *ev, const double *theta, const physm_config *cfg, const double *u,
                              double *t);
int physm_system_eval_with(physm_system_eval *ev, const double *theta, const physm_config *cfg,
                           double atomic_energy, const double *dE_dG, double *energy, double *const *forces);
/* The descriptors' derivatives by the positions, for configurations that
 * never move (training frames): the pairs (centre i, neighbour j, image)
 * closer than the cutoff, centre i's in [start[i], start[i + 1]), and per
 * pair d[(p * n_features + f) * dim + axis] = dG_if / dr_j (of that image;
 * dG_i/dr_i is minus the sum over i's pairs). */
typedef struct {
    long n_atoms, n_pairs;
    long *start;
    int *neighbour;
    double *d;
    double *disp;                 /* the pairs' displacements r_j + shift - r_i (n_pairs x dim), or NULL */
} physm_desc_jacobian;
/* Fills jac (its arrays malloc'ed; physm_desc_jacobian_free) for cfg, with
 * the pairs' displacements (what a homogeneous strain moves) when
 * with_disp: -1 with physm_system_eval_error, also when the descriptor
 * kernels have no Jacobian or not one shared list of pairs. */
int physm_system_eval_jacobian(physm_system_eval *ev, const double *theta, const physm_config *cfg,
                               physm_desc_jacobian *jac, int with_disp);
void physm_desc_jacobian_free(physm_desc_jacobian *jac);
/* From jac: F += -seed d(sum_i E_i)/dr for w = dE_i/dG_i (atoms x
 * n_features) and, given W (jac with its displacements), the virial of
 * those forces, W_ab += -seed sum_p disp_p,a (J_p^T w_i)_b (dim x dim);
 * and the descriptors' tangent t (overwritten) when each pair's neighbour
 * moves from its centre by (u_j - u_i) + B disp_p: displacements u (NULL:
 * none) and a homogeneous deformation B (dim x dim, row-major; NULL:
 * none; else jac with its displacements). */
void physm_desc_jacobian_forces(const physm_desc_jacobian *J, int nf, int dim, const double *w, double seed, double *F,
                                double *W);
void physm_desc_jacobian_tangent(const physm_desc_jacobian *J, int nf, int dim, const double *u, const double *B,
                                 double *t);
/* With 1, physm_system_eval_with leaves out the descriptor kernels: the
 * caller adds the atomic network's forces (from a physm_desc_jacobian). */
void physm_system_eval_skip_descriptors(physm_system_eval *ev, int skip);
/* After physm_system_eval_run on cfg (its seeds, descriptors and dE/dG):
 * the derivative of the forces along u (per particle, dim numbers, of the
 * moving set), out[set] = -H u, H the Hessian of the potential energy (-1
 * with physm_system_eval_error when the model has none); and the virial. */
int physm_system_eval_hvp(physm_system_eval *ev, const double *theta, const physm_config *cfg, const double *u,
                          double *const *out);
/* W_ab = sum over particles (and periodic images) of x_a F_b, dim x dim;
 * ASE's stress is -W / volume. */
int physm_system_eval_virial(physm_system_eval *ev, const double *theta, const physm_config *cfg, double *virial);
/* dV/dS of the atomic network's sum at the last evaluation that gave the energy. */
double physm_system_eval_atomic_seed(const physm_system_eval *ev);
/* Atoms evaluated so far with a descriptor outside its training range. */
long physm_system_eval_extrapolated(const physm_system_eval *ev);
/* atomic_net.c: the network of an atomic model over atoms' descriptors.
 * The feature scaling of theta (physm_layout.scaling: per element, 4
 * n_features numbers each) applied to atoms' descriptors G in place,
 * (G - mean) / sigma with the numbers of the atom's element species[i]
 * (NULL: element 0), returning how many atoms had a feature outside
 * [min, max]; scale_back: d/dG from d/d(scaled G). Element e's network
 * reads the first n_inputs of the n_features (the rest of its dE_i/dG_i 0). */
long physm_atomic_scale(const physm_layout *lay, const double *theta, long atoms, const double *species, double *G);
void physm_atomic_scale_back(const physm_layout *lay, const double *theta, long atoms, const double *species,
                             double *dG);
typedef struct physm_atomic_net physm_atomic_net;
physm_atomic_net *physm_atomic_net_create(const physm_layout *lay, long max_atoms);
void physm_atomic_net_destroy(physm_atomic_net *net);
/* E_i and dE_i/dG_i of n atoms from their descriptors G (n x n_features,
 * left scaled), atom i through the network of element species[i] (the
 * species attribute's array; NULL: one network); atoms outside the
 * training range added to *extrapolated (may be NULL). */
int physm_atomic_net_energy(physm_atomic_net *net, const double *theta, long n, const double *species, double *G,
                            double *E, double *dE_dG, long *extrapolated);
/* Training, after physm_atomic_net_energy on the same atoms: the tangent
 * t = dG/dr.u of the unscaled descriptors (overwritten; NULL: none) as a
 * derivative stream, and the reverse sweep from E_bar (per atom) and t_bar
 * (per atom, the stream's adjoint) ADDED into grad (all of theta).
 * after_energy: that call was the last on net, with this theta: its values
 * are reused and only the tangent is pushed forward. */
int physm_atomic_net_train(physm_atomic_net *net, const double *theta, long n, const double *species,
                           const double *G_scaled, double *t, const double *E_bar, const double *t_bar, double *grad,
                           int after_energy);
/* d(dE_i/dG_i) along the descriptors' tangent t (unscaled, overwritten):
 * the networks' Hessians times t, into out (n x n_features). */
int physm_atomic_net_hvp(physm_atomic_net *net, const double *theta, long n, const double *species,
                         const double *G_scaled, double *t, double *out);
const char *physm_system_eval_error(const physm_system_eval *ev);

/* atomic_loss.c: the loss of a frames data term (physm_term.frames) and its
 * gradient ADDED to grad (NULL: not wanted); NaN after a reported error. */
typedef struct physm_frames_loss physm_frames_loss;
physm_frames_loss *physm_frames_loss_create(const physm_layout *lay, const physm_term *term, physrt_pool *pool);
void physm_frames_loss_destroy(physm_frames_loss *fl);
double physm_frames_loss_eval(physm_frames_loss *fl, const double *theta, double *grad);
/* Evaluate the step-th mini-batch of batch frames from now on (batch 0:
 * every frame). */
void physm_frames_loss_select(physm_frames_loss *fl, long batch, long step);
/* At most bytes (default 1 GiB) of the frames' descriptors and their
 * derivatives kept between evaluations (0: none, every step computes
 * them); before the first evaluation. */
void physm_frames_loss_set_cache(physm_frames_loss *fl, long bytes);
/* The feature scaling of the frames' descriptors (physm_layout.scaling: 4
 * n_features numbers per element, the statistics of that element's atoms)
 * into block. */
void physm_frames_loss_scaling(const physm_frames_loss *fl, double *block);
long physm_system_eval_builds(const physm_system_eval *ev);

/* Items of one kernel that the caller lists itself (another program's
 * neighbour lists: kim_model.c): as the generated loops take them
 * (physm_kernel_body_f64); shift holds dim (pairs) or 2 dim (triplets)
 * numbers per item and may not be NULL. */
typedef struct {
    long n;
    const int *first, *second, *third;
    const double *shift;
} physm_item_list;

/* Kernel kernel over the listed items: ADDS its sums to sums[0 .. n_sums)
 * and, with_forces, its forces to forces[set] (count x dim; NULL: not
 * wanted); a descriptor kernel's forces are those of the seeds dE_dG
 * (count x n_features, as physm_system_eval_with). Kernels run as in
 * physm_system_eval_run without seeds, so only for a system whose V is
 * linear in its sums (!seeds_needed). cfg->count must not exceed the
 * counts ev was created for. -1 with physm_system_eval_error. */
int physm_system_eval_items(physm_system_eval *ev, const double *theta, const physm_config *cfg, int kernel,
                            const physm_item_list *items, int with_forces, const double *dE_dG, double *sums,
                            double *const *forces);
/* Descriptor kernel kernel's values over the listed items, ADDED into G
 * (count x n_features) at each item's centre. */
int physm_system_eval_item_descriptors(physm_system_eval *ev, const double *theta, const physm_config *cfg,
                                       int kernel, const physm_item_list *items, double *G);

/* ------------------------------------------------------------------------ */
/* extxyz.c: ASE's extended XYZ                                              */
/* ------------------------------------------------------------------------ */

/* At most 2^28 atoms a frame: counts times columns and line numbers stay ints. */
enum { PHYSM_XYZ_MAX_PROPS = 32, PHYSM_XYZ_NAME = 64, PHYSM_XYZ_MAX_ATOMS = 1 << 28 };

/* Numbered lines of a text file (frames.c reads input.data with it too):
 * {display, fopen(...), 0} to start; free buf when done. */
typedef struct {
    const char *display;
    FILE *in;
    int line;                     /* of the last line returned */
    int bad;                      /* a NUL byte was met (reported) */
    char *buf;
    size_t cap;
} physm_lines;

/* The next line without its newline; NULL at the end, or when bad. */
char *physm_lines_next(physm_lines *r);

typedef struct {
    char name[PHYSM_XYZ_NAME];
    char type;                    /* 'S' string, 'R' real, 'I' integer, 'L' logical */
    int cols;
    double *values;               /* R, I, L: n x cols */
    char (*text)[PHYSM_XYZ_NAME]; /* S: n x cols */
} physm_xyz_property;

/* One frame: n atoms, the cell (Lattice, pbc), per-atom properties and the
 * comment line's other key=value pairs. */
typedef struct {
    long n;
    int has_lattice;
    double lattice[3][3];
    int pbc[3];
    int n_props;
    physm_xyz_property props[PHYSM_XYZ_MAX_PROPS];
    char *info;                   /* the comment line as read */
    int line;                     /* where the frame starts */
} physm_xyz_frame;

/* Reads up to max_frames frames (0: all); named errors with file:line.
 * Free with physm_xyz_free. */
int physm_xyz_read(const char *path, const char *display, int max_frames, physm_xyz_frame **frames,
                   int *n_frames);
void physm_xyz_free(physm_xyz_frame *frames, int n_frames);
const physm_xyz_property *physm_xyz_find(const physm_xyz_frame *f, const char *name);
/* The value of key in the comment line (a number), or 0 when absent. */
int physm_xyz_info_number(const physm_xyz_frame *f, const char *key, double *value);
/* The value of key (case-insensitive), unquoted, into value: 1, or 0 when absent. */
int physm_xyz_info_text(const physm_xyz_frame *f, const char *key, char *value, size_t size);

/* ------------------------------------------------------------------------ */
/* elements.c: the chemical elements                                         */
/* ------------------------------------------------------------------------ */

enum { PHYSM_MAX_Z = 94 };        /* H .. Pu */

typedef struct {
    const char *symbol;           /* "Si" */
    int z;                        /* atomic number */
    double mass;                  /* standard atomic weight, amu (ASE's table) */
} physm_element;

/* Exact symbols, as ASE: "Si", not "SI" or "si". NULL when there is none. */
const physm_element *physm_element_by_symbol(const char *symbol);
const physm_element *physm_element_by_z(int z);      /* NULL outside 1..PHYSM_MAX_Z */

/* ------------------------------------------------------------------------ */
/* frames.c: sets of atomic configurations for training and testing          */
/* ------------------------------------------------------------------------ */

enum { PHYSM_FRAMES_EXTXYZ = 1, PHYSM_FRAMES_N2P2 = 2 };

/* Frames of atoms, all frames' atoms in one run of arrays: frame i's atoms
 * are [first[i], first[i + 1]). Units are the file's (extxyz: eV, A,
 * eV/A^3). A quantity no frame has is NULL; one some frames lack is NaN in
 * those (energy, total_charge, stress rows); forces and charges are in
 * every frame or in none (reading refuses files that mix). */
typedef struct {
    int format;                   /* PHYSM_FRAMES_EXTXYZ or PHYSM_FRAMES_N2P2: what was read */
    int n_frames;
    long n_atoms;                 /* over all frames */
    long *first;                  /* n_frames + 1 atom offsets */
    double *pos;                  /* n_atoms x 3 */
    int *z;                       /* atomic number per atom */
    double *forces;               /* n_atoms x 3, or NULL */
    double *charge;               /* per atom, or NULL */
    double *energy;               /* n_frames, or NULL */
    double *total_charge;         /* n_frames (input.data's charge), or NULL */
    double *stress;               /* n_frames x 9, row-major 3 x 3 (ASE's sign), or NULL */
    double *cell;                 /* n_frames x 9: cell vectors a1, a2, a3 in turn (zero: none) */
    int *pbc;                     /* n_frames x 3, 0 or 1 per cell vector */
    int *line;                    /* the line where each frame starts, for messages */
    char **comment;               /* n_frames (input.data's comment lines, '\n' between; NULL: none), or NULL */
    char *path;                   /* the display name read from, for messages */
} physm_frames;

/* Reads ASE's extended XYZ or n2p2's input.data, told apart by the first
 * line (a number of atoms, or a keyword). extxyz keys: REF_energy or
 * energy; REF_stress or stress (9 numbers, or 6 in Voigt order xx yy zz yz
 * xz xy), else REF_virial or virial (stress = -virial / volume); Lattice,
 * pbc; columns species:S:1 (or Z:I:1), pos:R:3, REF_forces, forces or
 * force (R:3), REF_charges, charges or initial_charges (R:1); the REF_
 * names first; total_charge (physc's own key, for input.data's charge).
 * Every error names file:line; on error *out is empty. */
int physm_frames_read(const char *path, const char *display, physm_frames *out);
void physm_frames_free(physm_frames *f);
/* Frames of extended XYZ or of n2p2's input.data (told apart by content),
 * as extended XYZ frames (species, pos, forces, energy=, the cell). */
int physm_frames_read_xyz(const char *path, const char *display, physm_xyz_frame **frames, int *n_frames);

/* Values predicted for every frame, written beside the references under
 * prefix + name (prefix NULL: "physc_"): physc_energy, physc_stress keys
 * and a physc_forces column. Any pointer may be NULL. */
typedef struct {
    const char *prefix;
    const double *energy;         /* n_frames */
    const double *forces;         /* n_atoms x 3 */
    const double *stress;         /* n_frames x 9 */
} physm_frames_predicted;

/* extxyz as ASE writes it (Lattice, Properties, energy, stress, pbc; and
 * total_charge), numbers in %.17g so that reading gives the same doubles;
 * pred may be NULL. -1 (reported, naming display) when writing fails. */
int physm_frames_write_extxyz(FILE *out, const char *display, const physm_frames *f,
                              const physm_frames_predicted *pred);
/* input.data: zero forces and charges when f has none; -1 (reported) for
 * a frame periodic along some axes only, which input.data cannot say. */
int physm_frames_write_n2p2(FILE *out, const char *display, const physm_frames *f);

/* The distinct atomic numbers, ascending, into z (and how many atoms of
 * each into count, which may be NULL); both have room for PHYSM_MAX_Z.
 * Returns how many. */
int physm_frames_elements(const physm_frames *f, int *z, long *count);
/* |det| of frame i's cell (0 for an open cluster's zero cell). */
double physm_frames_volume(const physm_frames *f, int i);
/* |det| of a 3-D cell periodic along its three axes; 0 otherwise (open
 * clusters, slabs: no stress). */
double physm_cell_volume(const physrt_cell *c);
/* One line: path, format, frames, atoms per element, the quantities
 * present, periodic and open cells. */
void physm_frames_summary(FILE *out, const physm_frames *f);

/* ------------------------------------------------------------------------ */
/* system_test.c: frames of atoms                                           */
/* ------------------------------------------------------------------------ */

/* One frame as a configuration of the model's one particle set: positions
 * (required), other attributes by name or ASE's name for their role, zero
 * when absent; the cell. Free with physm_config_free. */
int physm_config_from_xyz(const physm_layout *lay, const char *display, const physm_xyz_frame *x, physm_config *cfg);
/* The index of every atom's element among the networks' elements (x's
 * species symbols against elements = [...]) into out (x->n numbers): 0, or
 * -1 (reported: no species column, an element the networks do not cover). */
int physm_species_from_xyz(const physm_atomic *an, const char *display, const physm_xyz_frame *x, double *out);
void physm_config_free(const physm_layout *lay, physm_config *cfg);
/* The hessian verb (system_hessian.c): an exit status. */
int physm_system_hessian(const physm_layout *lay, const physm_simulate_options *o, const char *file,
                         const char *matrix_out);
/* The test verb: an exit status. */
int physm_system_test(const physm_layout *lay, const physm_simulate_options *o, const char *file, const char *write,
                      int threads);

/* ------------------------------------------------------------------------ */
/* system_symmetry.c: the check-symmetry verb                               */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *file;             /* the frames (extxyz) */
    physm_simulate_options values; /* checkpoint, or untrained from seed; seed also of the moves */
    long trials;                  /* random transformations of each kind per frame */
    double tolerance;             /* largest relative error that passes */
    int threads;
} physm_symmetry_options;

/* Energy and forces of every frame against those of the frame rotated,
 * reflected, translated and with like atoms permuted: one line per kind
 * and a verdict; an exit status (1 when a symmetry is violated). */
int physm_system_check_symmetry(const physm_layout *lay, const physm_symmetry_options *o);

/* ------------------------------------------------------------------------ */
/* system_simulate.c                                                         */
/* ------------------------------------------------------------------------ */

/* The simulate verb's merged settings (simulate.c). */
typedef struct {
    const physm_simulation *decl;    /* NULL: none */
    const char *name;
    int integrator;
    double dt, tol;
    long steps, every;
    double kT, damping;              /* langevin */
    long seed;
    const char *from;                /* a file as given, or NULL */
    char *from_path;                 /* resolved */
    const double *start;             /* the declaration's values, or NULL */
    char *to;
} physm_sim_setup;

/* The trained (or fresh) values into theta (n_theta + 1 entries). */
int physm_simulate_load_theta(const physm_layout *lay, const physm_simulate_options *o, double *theta);
/* A particle system from an extxyz start: velocity Verlet (energy and
 * momentum drift reported) or Langevin (the temperature reached), extxyz
 * frames out. Returns an exit status. */
int physm_simulate_system(const physm_layout *lay, const physm_simulate_options *o, const physm_sim_setup *su);

#endif /* PHYSM_MODEL_INTERNAL_H */
