/* physrt.h - public C API of libphysrt, the autodiff runtime under every
 * compiled physc model (and the REPL).
 *
 * Conventions (chosen for generated code):
 *  - plain C types, sizes passed explicitly, no hidden global state; every
 *    piece of state lives in an object the caller creates, so the library is
 *    re-entrant and thread-safe as long as one object is not used by two
 *    threads at once;
 *  - data-bearing functions exist twice, with suffix _f32 (float) and _f64
 *    (double); objects that hold data of one precision carry the suffix in
 *    their type name as well, so mixing precisions is a compile error;
 *  - functions returning int return PHYSRT_OK (0) or a negative physrt_status;
 *    constructors return NULL on invalid arguments or out of memory.
 */
#ifndef PHYSRT_H
#define PHYSRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    PHYSRT_OK = 0,
    PHYSRT_EINVAL = -1,     /* invalid argument or inconsistent sizes */
    PHYSRT_ENOMEM = -2,     /* allocation failed */
    PHYSRT_ESTATE = -3      /* call out of order (e.g. backward before forward) */
} physrt_status;

/* ------------------------------------------------------------------------ */
/* Activations                                                              */
/* ------------------------------------------------------------------------ */

/* Largest derivative order of an activation the runtime provides. Streams
 * go up to order 4; the reverse sweep through s''''(z) needs order 5. */
#define PHYSRT_ACT_MAX_ORDER 5

typedef enum {
    PHYSRT_ACT_IDENTITY = 0,  /* zero so a zero-initialised descriptor means identity */
    PHYSRT_ACT_TANH,
    PHYSRT_ACT_SIGMOID,
    PHYSRT_ACT_SOFTPLUS,      /* log(1 + e^z) */
    PHYSRT_ACT_GELU,          /* exact: 0.5 z (1 + erf(z / sqrt 2)) */
    PHYSRT_ACT_SILU,          /* z * sigmoid(z) */
    PHYSRT_ACT_SIN,
    PHYSRT_ACT_RELU,          /* derivatives of order >= 2 are zero */
    PHYSRT_ACT_GAUSSIAN,      /* exp(-z^2 / 2), n2p2's 'g' */
    PHYSRT_ACT_COS,           /* cos z, n2p2's 'c' */
    PHYSRT_ACT_COUNT
} physrt_activation;

/* Lower-case name of an activation ("tanh", ...), or NULL if out of range. */
const char *physrt_activation_name(physrt_activation act);

/* Parse a lower-case activation name; returns PHYSRT_OK or PHYSRT_EINVAL. */
int physrt_activation_parse(const char *name, physrt_activation *out);

/* out[k] = s^(k)(z) for k = 0..max_order (max_order <= PHYSRT_ACT_MAX_ORDER),
 * analytic closed forms. */
int physrt_activation_derivs_f64(physrt_activation act, double z, int max_order,
                                 double *out);
int physrt_activation_derivs_f32(physrt_activation act, float z, int max_order,
                                 float *out);

/* Batch form: out[k][p] = s^(k)(z[p]) for p < n, k = 0..max_order. The
 * arrays out[0..max_order] must not overlap z or each other. */
int physrt_activation_eval_f64(physrt_activation act, int max_order, int n,
                               const double *z, double *const *out);
int physrt_activation_eval_f32(physrt_activation act, int max_order, int n,
                               const float *z, float *const *out);

/* ------------------------------------------------------------------------ */
/* Jet plans: which input-derivative streams a field propagates             */
/* ------------------------------------------------------------------------ */

#define PHYSRT_MAX_INPUTS 8
/* Inputs of a network without jets (physrt_mlp_tangent_*: atomic networks). */
#define PHYSRT_MAX_NET_INPUTS 4096
#define PHYSRT_MAX_ORDER 4

/* A stream is a multi-index alpha over the field's n_inputs inputs:
 * alpha = {0,...,0} is the value, {1,0} = d/dx, {2,0} = d2/dx2,
 * {1,1} = d2/dxdt, ... with total order |alpha| <= PHYSRT_MAX_ORDER. */
typedef struct physrt_jet_plan physrt_jet_plan;

/* Build a plan from n_requested multi-indices (row-major, n_requested x
 * n_inputs). The stream set is closed under componentwise-smaller
 * multi-indices (everything the requested streams need), always contains the
 * value stream (index 0), and is ordered by total order, then by the
 * multi-index compared input by input, larger first (so x before t). */
physrt_jet_plan *physrt_jet_plan_create(int n_inputs, int n_requested,
                                        const int *multi_indices);

/* Plans for convenience functions: value + all first-order streams, and
 * value + all first- and second-order streams. */
physrt_jet_plan *physrt_jet_plan_create_gradient(int n_inputs);
physrt_jet_plan *physrt_jet_plan_create_hessian(int n_inputs);

/* Deep copy (NULL on out of memory). */
physrt_jet_plan *physrt_jet_plan_clone(const physrt_jet_plan *plan);
void physrt_jet_plan_destroy(physrt_jet_plan *plan);

int physrt_jet_plan_n_inputs(const physrt_jet_plan *plan);
int physrt_jet_plan_n_streams(const physrt_jet_plan *plan);
int physrt_jet_plan_max_order(const physrt_jet_plan *plan);

/* Index of a multi-index (n_inputs entries) in the plan's stream order, or -1
 * if the plan does not contain it. This is the stream index of the output. */
int physrt_jet_plan_index(const physrt_jet_plan *plan, const int *multi_index);

/* Copy stream s's multi-index into multi_index[0..n_inputs-1]. */
int physrt_jet_plan_multi_index(const physrt_jet_plan *plan, int stream,
                                int *multi_index);

/* 1 if stream s was requested explicitly, 0 if it was added by closure. */
int physrt_jet_plan_is_requested(const physrt_jet_plan *plan, int stream);

/* Faa di Bruno expansion of stream s: d^alpha s(z) = sum over terms of
 * coeff * s^(k)(z) * prod_{j<k} d^{block_j} z. Returns the number of terms;
 * term t is read with physrt_jet_plan_term (blocks: k stream indices). */
int physrt_jet_plan_n_terms(const physrt_jet_plan *plan, int stream);
int physrt_jet_plan_term(const physrt_jet_plan *plan, int stream, int term,
                         int *coeff, int *k, int *blocks);

/* ------------------------------------------------------------------------ */
/* Thread pool                                                               */
/* ------------------------------------------------------------------------ */

typedef struct physrt_pool physrt_pool;

/* Work item: fn(ctx, task, n_tasks) runs once for each task in [0, n_tasks). */
typedef void (*physrt_task_fn)(void *ctx, int task, int n_tasks);

/* Pool of n_threads threads (the calling thread counts as one of them, so
 * n_threads - 1 workers are started). n_threads >= 1. */
physrt_pool *physrt_pool_create(int n_threads);
void physrt_pool_destroy(physrt_pool *pool);
int physrt_pool_n_threads(const physrt_pool *pool);

/* Run all tasks and return when every one has finished. Calls on one pool
 * from several threads are serialised. pool may be NULL: tasks run in order
 * on the calling thread. */
void physrt_pool_run(physrt_pool *pool, int n_tasks, physrt_task_fn fn, void *ctx);

/* ------------------------------------------------------------------------ */
/* MLP fields                                                                */
/* ------------------------------------------------------------------------ */

/* Network descriptor: n_inputs -> hidden_widths[0] -> ... ->
 * hidden_widths[n_hidden-1] -> n_outputs. Hidden layers use
 * hidden_activation, the output layer output_activation (identity = 0).
 * The descriptor only borrows hidden_widths; objects built from it copy it. */
typedef struct {
    int n_inputs;                 /* 1..PHYSRT_MAX_NET_INPUTS; jets take at most PHYSRT_MAX_INPUTS */
    int n_outputs;                /* >= 1 */
    int n_hidden;                 /* >= 0 */
    const int *hidden_widths;     /* n_hidden entries, each >= 1 */
    physrt_activation hidden_activation;
    physrt_activation output_activation;
} physrt_mlp_desc;

/* Parameter layout: layers l = 0..n_hidden in order (layer l maps width
 * in_l to out_l); each layer stores W_l row-major (out_l x in_l, W[j*in_l+i]
 * multiplies input i into unit j) followed by b_l (out_l). */

/* PHYSRT_OK if the descriptor is valid. */
int physrt_mlp_validate(const physrt_mlp_desc *desc);
/* Total number of parameters (0 if the descriptor is invalid). */
size_t physrt_mlp_n_params(const physrt_mlp_desc *desc);
/* Offsets of W_l and b_l in the parameter vector and the layer's shape. */
int physrt_mlp_layer_info(const physrt_mlp_desc *desc, int layer,
                          size_t *w_offset, size_t *b_offset,
                          int *n_in, int *n_out);

/* Glorot/Xavier normal weights (std = sqrt(2 / (in + out))), zero biases,
 * reproducible from seed; the f32 values are the f64 values rounded. */
int physrt_mlp_init_f64(const physrt_mlp_desc *desc, uint64_t seed, double *params);
int physrt_mlp_init_f32(const physrt_mlp_desc *desc, uint64_t seed, float *params);

/* Evaluation object: owns all workspace for up to max_points points
 * (every stream of every layer is kept for the reverse sweep), so forward and
 * backward never allocate. It copies the descriptor and the plan. If pool is
 * non-NULL (it must outlive the object), points are split into
 * 4 * physrt_pool_n_threads(pool) fixed contiguous chunks aligned to tiles
 * of 128 points, which the threads claim dynamically. Forward results are bitwise independent of the thread count;
 * on x86-64 the kernels use the best of AVX-512 / AVX2+FMA / SSE2 the CPU
 * has, so results may differ at round-off level between machines. */
typedef struct physrt_mlp_eval_f32 physrt_mlp_eval_f32;
typedef struct physrt_mlp_eval_f64 physrt_mlp_eval_f64;

physrt_mlp_eval_f32 *physrt_mlp_eval_create_f32(const physrt_mlp_desc *desc,
                                                const physrt_jet_plan *plan,
                                                int max_points, physrt_pool *pool);
physrt_mlp_eval_f64 *physrt_mlp_eval_create_f64(const physrt_mlp_desc *desc,
                                                const physrt_jet_plan *plan,
                                                int max_points, physrt_pool *pool);
void physrt_mlp_eval_destroy_f32(physrt_mlp_eval_f32 *ev);
void physrt_mlp_eval_destroy_f64(physrt_mlp_eval_f64 *ev);

/* The plan copy the object uses (for physrt_jet_plan_index lookups). */
const physrt_jet_plan *physrt_mlp_eval_plan_f32(const physrt_mlp_eval_f32 *ev);
const physrt_jet_plan *physrt_mlp_eval_plan_f64(const physrt_mlp_eval_f64 *ev);

/* Forward jets. x: n_points x n_inputs row-major. out: every stream of every
 * output, layout out[(stream * n_outputs + output) * n_points + point].
 * Keeps what the backward sweep needs. 1 <= n_points <= max_points. */
int physrt_mlp_forward_f32(physrt_mlp_eval_f32 *ev, const float *params,
                           int n_points, const float *x, float *out);
int physrt_mlp_forward_f64(physrt_mlp_eval_f64 *ev, const double *params,
                           int n_points, const double *x, double *out);

/* Reverse sweep after a forward call with the same params: out_adjoint is
 * d loss / d out in the forward output layout; d loss / d params is ADDED to
 * param_grad (n_params entries). Gradients are bitwise reproducible for a
 * fixed thread count (fixed chunks, fixed reduction order); between thread
 * counts they agree to round-off (the sum over points is split differently). */
int physrt_mlp_backward_f32(physrt_mlp_eval_f32 *ev, const float *params,
                            const float *out_adjoint, float *param_grad);
int physrt_mlp_backward_f64(physrt_mlp_eval_f64 *ev, const double *params,
                            const double *out_adjoint, double *param_grad);

/* ------------------------------------------------------------------------ */
/* Input gradients and Hessians of a scalar field (n_outputs == 1)           */
/* ------------------------------------------------------------------------ */

/* Need an eval object whose plan holds the value and all first-order
 * (gradient) or also all second-order (Hessian) streams, e.g. from
 * physrt_jet_plan_create_gradient / _hessian. Point-major layouts:
 * value[p], grad[p * n_in + i], hess[(p * n_in + i) * n_in + j] (symmetric).
 * Any of value/grad/hess may be NULL when not wanted. */
int physrt_mlp_gradient_f32(physrt_mlp_eval_f32 *ev, const float *params, int n_points,
                            const float *x, float *value, float *grad);
int physrt_mlp_gradient_f64(physrt_mlp_eval_f64 *ev, const double *params, int n_points,
                            const double *x, double *value, double *grad);
int physrt_mlp_hessian_f32(physrt_mlp_eval_f32 *ev, const float *params, int n_points,
                           const float *x, float *value, float *grad, float *hess);
int physrt_mlp_hessian_f64(physrt_mlp_eval_f64 *ev, const double *params, int n_points,
                           const double *x, double *value, double *grad, double *hess);

/* Parameter gradients of a loss of (value, grad, hess) after the matching
 * call above: adjoints in the same layouts (NULL = zero); d loss / d params
 * is ADDED to param_grad. hess_adjoint is the derivative with respect to each
 * of the n_in^2 entries, so for a loss of H[i][j] with i != j as a free entry
 * pass it at [i][j] only. */
int physrt_mlp_gradient_backward_f32(physrt_mlp_eval_f32 *ev, const float *params,
                                     const float *value_adjoint,
                                     const float *grad_adjoint, float *param_grad);
int physrt_mlp_gradient_backward_f64(physrt_mlp_eval_f64 *ev, const double *params,
                                     const double *value_adjoint,
                                     const double *grad_adjoint, double *param_grad);
int physrt_mlp_hessian_backward_f32(physrt_mlp_eval_f32 *ev, const float *params,
                                    const float *value_adjoint, const float *grad_adjoint,
                                    const float *hess_adjoint, float *param_grad);
int physrt_mlp_hessian_backward_f64(physrt_mlp_eval_f64 *ev, const double *params,
                                    const double *value_adjoint, const double *grad_adjoint,
                                    const double *hess_adjoint, double *param_grad);

/* ------------------------------------------------------------------------ */
/* Random numbers and sampling                                               */
/* ------------------------------------------------------------------------ */

/* xoshiro256** seeded through splitmix64; plain struct owned by the caller. */
typedef struct {
    uint64_t s[4];
    int has_spare_normal;
    double spare_normal;
} physrt_rng;

void physrt_rng_seed(physrt_rng *rng, uint64_t seed);
/* An independent stream for one task of one step: seeded from (seed,
 * step, part, task), so results depend on the seed and the task split,
 * never on which thread ran a task. */
void physrt_rng_seed_stream(physrt_rng *rng, uint64_t seed, uint64_t step, uint64_t part, uint64_t task);
uint64_t physrt_rng_next_u64(physrt_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double physrt_rng_uniform(physrt_rng *rng);
/* Uniform integer in [0, n), n >= 1, without modulo bias. */
uint64_t physrt_rng_below(physrt_rng *rng, uint64_t n);
/* Standard normal variate (polar Box-Muller, spare value cached). */
double physrt_rng_normal(physrt_rng *rng);

/* Samplers write n points of dim coordinates, row-major n x dim, into the
 * box [lo[i], hi[i]]. */
int physrt_sample_uniform_f64(physrt_rng *rng, int n, int dim, const double *lo,
                              const double *hi, double *out);
int physrt_sample_uniform_f32(physrt_rng *rng, int n, int dim, const double *lo,
                              const double *hi, float *out);
/* Latin hypercube: per dimension exactly one point in each of the n strata
 * [k/n, (k+1)/n) (before scaling), placed uniformly inside the stratum. */
int physrt_sample_lhs_f64(physrt_rng *rng, int n, int dim, const double *lo,
                          const double *hi, double *out);
int physrt_sample_lhs_f32(physrt_rng *rng, int n, int dim, const double *lo,
                          const double *hi, float *out);

/* Sobol sequence, Joe-Kuo (new-joe-kuo-6.21201) direction numbers,
 * Gray-code construction, 32-bit. Plain struct owned by the caller. */
#define PHYSRT_SOBOL_MAX_DIM 21
typedef struct {
    int dim;
    uint32_t index;                          /* points generated so far */
    uint32_t x[PHYSRT_SOBOL_MAX_DIM];
    uint32_t v[PHYSRT_SOBOL_MAX_DIM][32];    /* direction numbers */
} physrt_sobol;

/* 1 <= dim <= PHYSRT_SOBOL_MAX_DIM. skip_first = 1 drops the all-zero first
 * point (the sequence then starts 0.5, 0.5, ...). */
int physrt_sobol_init(physrt_sobol *sob, int dim, int skip_first);
/* Next point in [0,1)^dim. */
void physrt_sobol_next(physrt_sobol *sob, double *point);
/* Moves k points on (as k calls of physrt_sobol_next would, modulo the
 * sequence's 2^32 points) in O(32 dim). */
void physrt_sobol_skip(physrt_sobol *sob, uint64_t k);
/* Next n points scaled into the box, row-major n x dim. */
int physrt_sample_sobol_f64(physrt_sobol *sob, int n, const double *lo,
                            const double *hi, double *out);
int physrt_sample_sobol_f32(physrt_sobol *sob, int n, const double *lo,
                            const double *hi, float *out);

/* ------------------------------------------------------------------------ */
/* Adam with learning-rate schedules                                         */
/* ------------------------------------------------------------------------ */

/* physm_stage embeds physrt_adam_options (with its schedule) and
 * physrt_lbfgs_options, so generated code builds them: their members are
 * listed in physmodel_abi.h too. */

typedef enum {
    PHYSRT_LR_CONSTANT = 0,   /* lr */
    PHYSRT_LR_EXPONENTIAL,    /* lr * decay_rate^(step / decay_steps) */
    PHYSRT_LR_STEP,           /* lr * decay_rate^floor(step / decay_steps) */
    PHYSRT_LR_COSINE          /* lr_min + (lr - lr_min)(1 + cos(pi min(step,total)/total))/2 */
} physrt_lr_kind;

typedef struct {
    physrt_lr_kind kind;
    double lr;            /* initial learning rate */
    double decay_rate;    /* exponential and step */
    long decay_steps;     /* exponential and step, >= 1 */
    double lr_min;        /* cosine floor */
    long total_steps;     /* cosine period, >= 1 */
} physrt_lr_schedule;

/* Learning rate at step (0-based). */
double physrt_lr_at(const physrt_lr_schedule *sched, long step);

typedef struct {
    double beta1, beta2, eps;   /* 0.9, 0.999, 1e-8 by default */
    physrt_lr_schedule schedule;
} physrt_adam_options;

void physrt_adam_default_options(physrt_adam_options *opts);   /* constant lr 1e-3 */

/* Adam state for n parameters (moments kept in double for both precisions). */
typedef struct physrt_adam physrt_adam;
physrt_adam *physrt_adam_create(size_t n, const physrt_adam_options *opts);
void physrt_adam_destroy(physrt_adam *adam);
/* Zero the moments and the step counter. */
void physrt_adam_reset(physrt_adam *adam);
/* Steps taken so far. */
long physrt_adam_steps(const physrt_adam *adam);
/* One bias-corrected update params -= lr_t * mhat / (sqrt(vhat) + eps). */
void physrt_adam_step_f64(physrt_adam *adam, double *params, const double *grad);
void physrt_adam_step_f32(physrt_adam *adam, float *params, const float *grad);

/* ------------------------------------------------------------------------ */
/* L-BFGS with strong Wolfe line search (float64)                            */
/* ------------------------------------------------------------------------ */

/* Objective: returns f(x) and writes grad f(x) into grad (n entries). */
typedef double (*physrt_objective_fn)(void *ctx, const double *x, double *grad);

typedef struct {
    int history;              /* correction pairs kept (m), >= 1; default 10 */
    int max_iterations;       /* iterations (accepted steps), >= 1; default 1000 */
    long max_evaluations;     /* objective calls, 0 = unlimited (default); read through
                                 opts at every iteration, so an objective holding opts may
                                 lower it to end the run (train.c does on SIGINT) */
    double grad_tol;          /* stop when ||g||_2 <= grad_tol; 0 disables; default 1e-10 */
    double rel_f_tol;         /* stop when |f_prev - f| <= rel_f_tol * max(|f_prev|, |f|);
                                 0 disables (default) */
    double c1, c2;            /* Wolfe constants, default 1e-4 and 0.9 */
} physrt_lbfgs_options;

typedef enum {
    PHYSRT_LBFGS_GRAD_TOL = 0,       /* ||g|| <= grad_tol */
    PHYSRT_LBFGS_REL_F_TOL,          /* relative f change <= rel_f_tol */
    PHYSRT_LBFGS_MAX_ITERATIONS,     /* max_iterations steps taken */
    PHYSRT_LBFGS_MAX_EVALUATIONS,    /* evaluation budget used up */
    PHYSRT_LBFGS_LINE_SEARCH_FAILED, /* no step satisfying the Wolfe conditions even
                                        along steepest descent (f at round-off floor) */
    PHYSRT_LBFGS_NOT_FINITE,         /* f or gradient not finite at the start point */
    PHYSRT_LBFGS_INVALID             /* invalid arguments or out of memory */
} physrt_lbfgs_reason;

typedef struct {
    physrt_lbfgs_reason reason;
    int iterations;
    long evaluations;
    double f;
    double grad_norm;         /* ||g||_2 at x */
} physrt_lbfgs_report;

void physrt_lbfgs_default_options(physrt_lbfgs_options *opts);
/* Human-readable stop reason. */
const char *physrt_lbfgs_reason_string(physrt_lbfgs_reason reason);
/* Minimise f from x (updated in place to the best point). opts NULL = defaults.
 * Returns PHYSRT_OK unless arguments are invalid or memory runs out. */
int physrt_lbfgs_minimize(int n, double *x, physrt_objective_fn f, void *ctx,
                          const physrt_lbfgs_options *opts, physrt_lbfgs_report *report);

/* ------------------------------------------------------------------------ */
/* Dense quasi-Newton: BFGS, self-scaled BFGS, self-scaled Broyden (float64) */
/* ------------------------------------------------------------------------ */

/* The inverse Hessian is dense (packed lower triangle, n(n+1)/2 doubles:
 * 400 MB at this limit); larger problems need L-BFGS. */
#define PHYSRT_QN_MAX_PARAMS 10000

typedef enum {
    PHYSRT_QN_BFGS = 0,               /* BFGS from H0 = I */
    PHYSRT_QN_SSBFGS,                 /* self-scaled BFGS, tau = min(1, 1/b) (Al-Baali) */
    PHYSRT_QN_SSBROYDEN               /* self-scaled Broyden family (Al-Baali; Urban et al. 2025) */
} physrt_qn_method;

typedef struct {
    int method;               /* physrt_qn_method */
    int max_iterations;       /* iterations (accepted steps), >= 1; default 1000 */
    long max_evaluations;     /* objective calls, 0 = unlimited (default); read at every
                                 iteration, so an objective may lower it to stop the run */
    double grad_tol;          /* stop when ||g||_2 <= grad_tol; 0 disables; default 1e-10 */
    double rel_f_tol;         /* stop when |f_prev - f| <= rel_f_tol * max(|f_prev|, |f|);
                                 0 disables (default) */
    double c1, c2;            /* Wolfe constants, default 1e-4 and 0.9 */
} physrt_qn_options;

typedef enum {
    PHYSRT_QN_GRAD_TOL = 0,           /* ||g|| <= grad_tol */
    PHYSRT_QN_REL_F_TOL,              /* relative f change <= rel_f_tol */
    PHYSRT_QN_MAX_ITERATIONS,         /* max_iterations steps taken */
    PHYSRT_QN_MAX_EVALUATIONS,        /* evaluation budget used up */
    PHYSRT_QN_NOT_FINITE,             /* f or gradient NaN/inf: at the start (report f NaN),
                                         or everywhere the line search looked along -g
                                         (x holds the last good point) */
    PHYSRT_QN_LINE_SEARCH_FAILED,     /* no decrease even along steepest descent */
    PHYSRT_QN_TOO_LARGE,              /* n > PHYSRT_QN_MAX_PARAMS: nothing done */
    PHYSRT_QN_INVALID                 /* invalid arguments or out of memory */
} physrt_qn_reason;

typedef struct {
    physrt_qn_reason reason;
    int iterations;
    long evaluations;
    int restarts;             /* times H was reset to the identity */
    double f;                 /* at x (the last good point) */
    double grad_norm;         /* ||g||_2 at x */
} physrt_qn_report;

void physrt_qn_default_options(physrt_qn_options *opts, physrt_qn_method method);
const char *physrt_qn_method_name(physrt_qn_method method);   /* "bfgs", "ssbfgs", "ssbroyden" */
const char *physrt_qn_reason_string(physrt_qn_reason reason);
/* Minimise f from x (updated in place; only ever to accepted points). opts
 * NULL = SSBroyden defaults. inverse_hessian: NULL, or n*n doubles that get
 * the final H (row-major, full) unless f was not finite at the start.
 * Returns PHYSRT_OK unless arguments are invalid or memory runs out. */
int physrt_qn_minimize(int n, double *x, physrt_objective_fn f, void *ctx, const physrt_qn_options *opts,
                       physrt_qn_report *report, double *inverse_hessian);

#ifdef __cplusplus
}
#endif

/* ------------------------------------------------------------------------ */
/* One tangent stream (mlp_tangent.c): networks of any input width           */
/* ------------------------------------------------------------------------ */

/* Value y (n x n_outputs) and, with dx, its derivative dy along the
 * per-point input direction dx (both n x n_inputs, row-major); the reverse
 * sweep from y_bar (and dy_bar, after a forward with dx) ADDS d/d params
 * to param_grad (NULL: not wanted) and writes x_bar = d/dx (NULL: not
 * wanted). Hidden activations need derivatives of order 2. */
typedef struct physrt_mlp_tangent_f64 physrt_mlp_tangent_f64;
physrt_mlp_tangent_f64 *physrt_mlp_tangent_create_f64(const physrt_mlp_desc *desc, int max_points);
void physrt_mlp_tangent_destroy_f64(physrt_mlp_tangent_f64 *ev);
int physrt_mlp_tangent_forward_f64(physrt_mlp_tangent_f64 *ev, const double *params, int n, const double *x,
                                   const double *dx, double *y, double *dy);
/* The tangent along dx of the last forward's n points and params, whose
 * values (and activation derivatives) are kept: the forward again without
 * recomputing them. */
int physrt_mlp_tangent_retangent_f64(physrt_mlp_tangent_f64 *ev, const double *params, int n, const double *dx);
int physrt_mlp_tangent_backward_f64(physrt_mlp_tangent_f64 *ev, const double *params, int n, const double *y_bar,
                                    const double *dy_bar, double *param_grad, double *x_bar);

/* Chemical elements H..Pu (elements.c): the atomic number of a symbol as
 * ASE writes it ("Si"), 0 when there is no such element. */
int physrt_element_z(const char *symbol);
/* Its standard atomic weight in amu (ASE's table), 0 when there is no such element. */
double physrt_element_mass(const char *symbol);

#endif /* PHYSRT_H */
