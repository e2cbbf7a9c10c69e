/* lower_internal.h - what the files of the lowering pass share: the
 * tensors expressions lower to, the lowering context, and each layer's
 * functions. Not part of the pass's interface (lower.h).
 *
 * The files are layered; a file calls only functions of lower layers
 * (tests/compile/check_layers.sh checks this, reading the list below):
 *
 *   layer 0  lower_tensor.c    tensors, bindings, errors, allocation, residuals
 *   layer 1  lower_probe.c     fields at points, probes, stream slots, total derivatives
 *   layer 2  lower_expr.c      expressions, built-in calls, derivatives, unrolled sums
 *   layer 3  lower_sets.c      index sets: the particle system and its kernels
 *   layer 3  lower_spins.c     spin sets and Ising energies
 *   layer 4  lower_atomic.c    atomic networks: descriptor kernels, their forces and tangents
 *   layer 5  lower_dynamics.c  states, equations of motion, trajectories, simulations
 *   layer 6  lower.c           the model: fields, terms, stages; phys_lower
 *
 * Where expression lowering meets what a higher layer lowers (ddt(), and
 * in the system's energy attr[i], dist(i, j) and sums over particles), it
 * calls through c->hooks, the table lower.c sets (lw_hooks below). */
#ifndef PHYS_LOWER_INTERNAL_H
#define PHYS_LOWER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lower.h"
#include "sema_internal.h"

enum { MAX_ELEMENTS = 4096, MAX_BINDINGS = 128, MAX_STREAMS_PER_PROBE = 64, MAX_NESTING = 4096 };

/* A value as DAG nodes: a scalar, a vector or a matrix (rank 0, 1, 2) of
 * n elements (el[n]), at most MAX_ELEMENTS. Tensors are allocated on the
 * context's tensor stack (lw_tensor, lower_tensor.c) and passed as
 * pointers, const once built (make a changed copy with lw_tensor_copy);
 * NULL is a failure already reported.
 *
 * Lifetime: a tensor made inside a call of lw_lower_expr lives until that
 * call returns, but for its result, which lives until the call around it
 * returns (lw_tensor_keep). A binding made inside must be dropped before
 * (lw_lower_expr drops them on every path). Tensors made outside any
 * lw_lower_expr live until the context is freed (lw_tensors_free). */
typedef struct {
    int rank;
    int dims[2];
    int n;
    int el[];
} tensor;

typedef struct {
    const char *name;
    const tensor *value;
} binding;

/* A position on the tensor stack. */
typedef struct {
    struct lw_chunk *chunk;
    size_t used;
} lw_mark;

/* Where the model's state lives in a state point (physm_dynamics): states
 * in declaration order, or per particle attribute; masses and other
 * attributes that do not move are aux, after the evolving numbers. */
typedef struct {
    const phys_symbol *sym;        /* a state or a particle attribute */
    int offset, count;             /* into the point (aux parts after the state) */
    int aux;
} state_part;

typedef struct {
    const phys_node *decl;         /* the dynamics declaration, NULL: none */
    int kind;                      /* physm_dynamics_kind */
    int n_parts;
    state_part parts[64];
    int n_state, n_aux, n_half;
    int n_particles, dim;
    const phys_symbol *set, *pos, *vel;
    const char **names;            /* n_state + n_aux */
    int no_point;                  /* particles too many (or counted at run time) for a state point:
                                      only the system's loops (lower_sets.c) simulate them */
} dyn_layout;

typedef struct lctx lctx;

/* Upward calls of the expression layer, set by lower.c: ddt(state) (the
 * dynamics' right-hand side, lower_dynamics.c), the kernel-body forms of
 * lower_sets.c and a call of an atomic network (lower_atomic.c), which
 * return 0 when e is not theirs; and of the index-set layer: the force
 * scatters and tangents of a descriptor kernel (lower_atomic.c). */
typedef struct lw_hooks {
    const tensor *(*ddt)(lctx *c, const phys_node *at, const phys_symbol *state);
    int (*kernel_attribute)(lctx *c, const phys_node *e, const tensor **out);
    int (*kernel_geometry)(lctx *c, const char *name, const phys_node *e, const tensor **out);
    int (*kernel_reduce)(lctx *c, const phys_node *e, const tensor **out);
    int (*kernel_atomic)(lctx *c, const phys_symbol *sym, const phys_node *e, const tensor **out);
    int (*atomic_scatters)(lctx *c, lw_kernel *k, int seed);
} lw_hooks;

struct lctx {
    const lw_hooks *hooks;
    phys_sema *sema;
    phys_diag *diag;
    lw_model *m;
    dyn_layout dyn;
    int n_placeholders;            /* X_INPUT leaves standing for values while differentiating */
    int prune;                     /* the current term may hold probes nothing uses */
    phys_dag *dag;
    lw_term *term;                 /* where probes go; NULL in field bodies */
    const lw_field *field;         /* the field whose body is lowered */
    binding bindings[MAX_BINDINGS];
    int n_bindings;
    int depth;
    int nesting;                   /* lower_expr levels */
    int too_deep;                  /* reported */
    int in_rhs;                    /* lowering the dynamics' right-hand side */
    lw_system *sys;                /* lowering the system's energy: sums over particles become kernels */
    lw_kernel *kernel;             /* lowering a kernel's body: its indices stand for items */
    struct lw_chunk *tensor_chunks; /* the tensor stack (lower_tensor.c) ... */
    struct lw_chunk *tensor_top;    /* ... and the chunk it is filled to */
    uintptr_t stack_base;          /* where lowering started ... */
    size_t stack_budget;           /* ... and how much stack it may use below that */
};

/* -- layer 0: lower_tensor.c -------------------------------------------- */

void *lw_xcalloc(size_t n, size_t size);
/* A tensor of n elements, zeroed, rank 0 (the caller sets rank and dims);
 * NULL after a located "not supported yet" beyond MAX_ELEMENTS. */
tensor *lw_tensor(lctx *c, const phys_node *at, int n);
tensor *lw_tensor_copy(lctx *c, const tensor *t);
const tensor *lw_scalar_of(lctx *c, int node);
/* lw_tensor_keep(c, m, t) releases every tensor made since m (mark), but
 * for t, moved down to m when it was made since; returns t's place. */
lw_mark lw_tensor_mark(const lctx *c);
const tensor *lw_tensor_keep(lctx *c, lw_mark m, const tensor *t);
void lw_tensors_free(lctx *c);
/* Reports "not supported yet: ..." at the node; returns NULL (failed). */
const tensor *lw_unsupported(lctx *c, const phys_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const binding *lw_find_binding(const lctx *c, const char *name);
/* 0 when value failed (reported) or after reporting too many names. */
int lw_bind(lctx *c, const phys_node *at, const char *name, const tensor *value);
void lw_add_residuals(lw_term *t, const tensor *r);
void lw_add_nodes(lw_term *t, const int *nodes, int n);
double lw_arg_or(lctx *c, const phys_node *call, const char *name, double fallback);
int lw_size_of(const phys_symbol *s);
const char *lw_component_name(lctx *c, const phys_symbol *s, int k);
const tensor *lw_shaped(lctx *c, const phys_node *at, const phys_symbol *s, const int *nodes);
/* Frees what a term holds (not the term itself). */
void lw_free_term(lw_term *t);

/* -- layer 1: lower_probe.c --------------------------------------------- */

/* Probes of the current term and their stream slots (X_STREAM leaves). */
int lw_find_probe(lctx *c, int field, const int *inputs);
int lw_stream_slot(lctx *c, int probe, const unsigned char *alpha, int output, int *overflow);
/* Field sym (differentiated by vars) at the given input nodes. */
const tensor *lw_field_at(lctx *c, const phys_node *at, const phys_symbol *sym, const int *inputs, const int *vars,
                   int n_vars);
int lw_bound_inputs(lctx *c, const phys_node *at, const phys_symbol *sym, int *inputs);
/* Network inputs formal i of a field takes (a vector state: one per
 * element), whether it is a vector state, and where input `name` starts. */
int lw_formal_width(lctx *c, const phys_symbol *sym, int i);
int lw_formal_is_vector(lctx *c, const phys_symbol *sym, int i);
int lw_input_position(lctx *c, const phys_symbol *sym, const char *name);
/* d node / d var (a leaf) with the chain rule through the current term's
 * probes; *bad is set past the derivative order the runtime computes. */
int lw_total_diff(lctx *c, int node, int var, int *bad);
/* A fresh placeholder leaf (see lower_probe.c), and the gradient of value
 * with respect to placeholders ph moved to the values x. */
int lw_placeholder(lctx *c);
void lw_gradient_at(lctx *c, int value, int n, const int *ph, const int *x, int *grad, int *bad);
/* Drops the probes, streams and slots the residuals of t do not reach. */
void lw_prune_term(lctx *c, lw_term *t);
/* The hidden widths and activation of mlp(...) into f; 0 after an error. */
int lw_network_shape(lctx *c, const phys_node *net, lw_field *f);

/* -- layer 2: lower_expr.c ---------------------------------------------- */

const tensor *lw_lower_expr(lctx *c, const phys_node *e);
const tensor *lw_need_scalar(lctx *c, const phys_node *at, const tensor *t);
const tensor *lw_map2(lctx *c, const phys_node *at, dag_op op, const tensor *a, const tensor *b);
int lw_is_particle_set(lctx *c, const phys_node *e);
int lw_constant_index(lctx *c, const phys_node *e, double *k);
/* Particles in the first set (0: none, or known only at run time). */
int lw_particle_count(lctx *c);
/* The value of a field, function or energy where its inputs are bound. */
const tensor *lw_value_of_symbol(lctx *c, const phys_node *at, const phys_symbol *sym);
int lw_wrt_state(lctx *c, const char *name);
const tensor *lw_gradient_wrt(lctx *c, const phys_node *at, const phys_symbol *sym, const char *name);
const tensor *lw_lower_pair_geometry(lctx *c, const char *name, const phys_node *e);
/* disp (d itself), dist (|d|) or unit (d / |d|) of a displacement d. */
const tensor *lw_pair_geometry(lctx *c, const char *name, const tensor *d);
const tensor *lw_lower_reduce(lctx *c, const phys_node *e);

/* -- layer 3: lower_sets.c ---------------------------------------------- */

/* Kernel bodies: attr[i] for an index i of the kernel, dist/unit/disp of
 * its indices; each returns 0 when e is not such a use (lower as usual). */
int lw_kernel_attribute(lctx *c, const phys_node *e, const tensor **out);
int lw_kernel_geometry(lctx *c, const char *name, const phys_node *e, const tensor **out);
/* A sum over particles inside the system's energy becomes a kernel;
 * returns 0 when e does not run over particle sets. */
int lw_kernel_reduce(lctx *c, const phys_node *e, const tensor **out);
/* The particle system of Newtonian dynamics (physm_system). */
int lw_lower_system(lctx *c);
void lw_free_system(lw_system *s);
/* What lower_atomic.c builds descriptor kernels with. */
const lw_particle_set *lw_set_of_symbol(const lw_system *s, const phys_symbol *sym, int *index);
int lw_gather_leaf(lctx *c, int array, int role, int comp, int width, int shift, int add);
const tensor *lw_item_displacement(lctx *c, const phys_node *at, int a, int b);
lw_kernel *lw_new_kernel(lctx *c, const char *name, int kind, int first, int second, double cutoff);
void lw_add_scatter(lw_kernel *k, int node, int set, int role, int comp);
const char *lw_located_name(lctx *c, const char *what, const phys_node *at);

/* -- layer 3: lower_spins.c --------------------------------------------- */

/* The model's spins and their Ising energy (m->spins); 1 without spins. */
int lw_lower_spins(lctx *c, const phys_node *program);
void lw_free_spins(lw_spins *spins);

/* -- layer 4: lower_atomic.c ------------------------------------------- */

/* A call of a field whose network is atomic(...) inside the system's
 * energy (0 when e is not one); the force scatters and tangents of its
 * descriptor kernels once the combine's seed of its sum is known (hooks). */
int lw_kernel_atomic(lctx *c, const phys_symbol *sym, const phys_node *e, const tensor **out);
int lw_atomic_scatters(lctx *c, lw_kernel *k, int seed);

/* -- layer 5: lower_dynamics.c ------------------------------------------ */

int lw_dyn_init(lctx *c, const phys_node *program);
int lw_lower_dynamics(lctx *c, const phys_node *program);
int lw_lower_trajectory(lctx *c, lw_term *t, const phys_node *call, int n_cols, const int *col_of_name,
                        const phys_node *cols);
int lw_lower_simulation(lctx *c, const phys_node *d);
const tensor *lw_lower_ddt(lctx *c, const phys_node *at, const phys_symbol *state);

/* -- layer 6: lower.c: the model (terms, stages, simulations), the pass's
 * entry points (lower.h) and the hook table. */

#endif
