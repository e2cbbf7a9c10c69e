/* lower_internal.h - what the files of the lowering pass share: the
 * tensors expressions lower to, the lowering context, and the helpers the
 * dynamics part (lower_dynamics.c) and the rest (lower.c) call across.
 * Not part of the pass's interface (lower.h). */
#ifndef PHYS_LOWER_INTERNAL_H
#define PHYS_LOWER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lower.h"
#include "sema_internal.h"

enum { MAX_ELEMENTS = 64, MAX_BINDINGS = 128, MAX_STREAMS_PER_PROBE = 64, MAX_NESTING = 4096 };

typedef struct {
    int rank;          /* 0, 1 or 2; -1 = failed (already reported) */
    int dims[2];
    int n;
    int el[MAX_ELEMENTS];
} tensor;

typedef struct {
    const char *name;
    tensor value;
} binding;

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

typedef struct {
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
    uintptr_t stack_base;          /* where lowering started ... */
    size_t stack_budget;           /* ... and how much stack it may use below that */
} lctx;

/* -- lower.c ----------------------------------------------------------- */

void *lw_xcalloc(size_t n, size_t size);
tensor lw_failed(void);
tensor lw_scalar_of(int node);
/* Reports "not supported yet: ..." at the node; returns a failed tensor. */
tensor lw_unsupported(lctx *c, const phys_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
const binding *lw_find_binding(const lctx *c, const char *name);
int lw_bind(lctx *c, const phys_node *at, const char *name, tensor value);
tensor lw_lower_expr(lctx *c, const phys_node *e);
tensor lw_need_scalar(lctx *c, const phys_node *at, tensor t);
tensor lw_map2(lctx *c, const phys_node *at, dag_op op, tensor a, tensor b);
void lw_add_residuals(lw_term *t, tensor r);
double lw_arg_or(lctx *c, const phys_node *call, const char *name, double fallback);
/* Probes of the current term and their stream slots (X_STREAM leaves). */
int lw_find_probe(lctx *c, int field, const int *inputs);
int lw_stream_slot(lctx *c, int probe, const unsigned char *alpha, int output, int *overflow);
/* Field sym (differentiated by vars) at the given input nodes. */
tensor lw_field_at(lctx *c, const phys_node *at, const phys_symbol *sym, const int *inputs, const int *vars,
                   int n_vars);
int lw_bound_inputs(lctx *c, const phys_node *at, const phys_symbol *sym, int *inputs);
int lw_is_particle_set(lctx *c, const phys_node *e);
int lw_constant_index(lctx *c, const phys_node *e, double *k);

/* -- lower_dynamics.c --------------------------------------------------- */

/* Drops the probes, streams and slots the residuals of t do not reach. */
void lw_prune_term(lctx *c, lw_term *t);
int lw_size_of(const phys_symbol *s);
const char *lw_component_name(lctx *c, const phys_symbol *s, int k);
tensor lw_shaped(const phys_symbol *s, const int *nodes);
int lw_dyn_init(lctx *c, const phys_node *program);
int lw_lower_dynamics(lctx *c, const phys_node *program);
int lw_lower_trajectory(lctx *c, lw_term *t, const phys_node *call, int n_cols, const int *col_of_name,
                        const phys_node *cols);
int lw_lower_simulation(lctx *c, const phys_node *d);
tensor lw_lower_ddt(lctx *c, const phys_node *at, const phys_symbol *state);
int lw_wrt_state(lctx *c, const char *name);
tensor lw_gradient_wrt(lctx *c, const phys_node *at, const phys_symbol *sym, const char *name);
tensor lw_lower_pair_geometry(lctx *c, const char *name, const phys_node *e);
/* disp (d itself), dist (|d|) or unit (d / |d|) of a displacement d. */
tensor lw_pair_geometry(lctx *c, const char *name, tensor d);
tensor lw_lower_reduce(lctx *c, const phys_node *e);
/* d node / d var (a leaf) with the chain rule through the current term's
 * probes; *bad is set past the derivative order the runtime computes. */
int lw_total_diff(lctx *c, int node, int var, int *bad);

/* -- lower_sets.c -------------------------------------------------------- */

/* Kernel bodies: attr[i] for an index i of the kernel, dist/unit/disp of
 * its indices; each returns 0 when e is not such a use (lower as usual). */
int lw_kernel_attribute(lctx *c, const phys_node *e, tensor *out);
int lw_kernel_geometry(lctx *c, const char *name, const phys_node *e, tensor *out);
/* A sum over particles inside the system's energy becomes a kernel;
 * returns 0 when e does not run over particle sets. */
int lw_kernel_reduce(lctx *c, const phys_node *e, tensor *out);
/* The hidden widths and activation of mlp(...) into f (lower.c). */
int lw_network_shape(lctx *c, const phys_node *net, lw_field *f);
/* lower_sets.c helpers that lower_atomic.c builds kernels with. */
const lw_particle_set *lw_set_of_symbol(const lw_system *s, const phys_symbol *sym, int *index);
int lw_gather_leaf(lctx *c, int array, int role, int comp, int width, int shift, int add);
tensor lw_item_displacement(lctx *c, int a, int b);
lw_kernel *lw_new_kernel(lctx *c, const char *name, int kind, int first, int second, double cutoff);
void lw_add_scatter(lw_kernel *k, int node, int set, int role, int comp);
const char *lw_located_name(lctx *c, const char *what, const phys_node *at);
/* lower_atomic.c: a call of a field whose network is atomic(...) inside the
 * system's energy (0 when e is not one); the force scatters and tangents of
 * its descriptor kernels once the combine's seed of its sum is known. */
int lw_kernel_atomic(lctx *c, const phys_symbol *sym, const phys_node *e, tensor *out);
int lw_atomic_scatters(lctx *c, lw_kernel *k, int seed);
/* The particle system of Newtonian dynamics (physm_system). */
int lw_lower_system(lctx *c);
void lw_free_system(lw_system *s);

/* -- lower_spins.c ------------------------------------------------------- */

/* The model's spins and their Ising energy (m->spins); 1 without spins. */
int lw_lower_spins(lctx *c, const phys_node *program);
void lw_free_spins(lw_spins *spins);

#endif
