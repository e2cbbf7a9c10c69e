/* The lowering pass: a checked model becomes a lowered model, the shape of
 * runtime/physmodel.h with every pointwise residual as a scalar DAG. Code
 * generation (codegen.c) turns this into LLVM IR. Constructs the back end
 * cannot run yet are reported here as "not supported yet: ...". */
#ifndef PHYS_LOWER_H
#define PHYS_LOWER_H

#include <stdint.h>

#include "dag.h"
#include "sema.h"

enum { LW_MAX_COORDS = 256, LW_MAX_FEATURES = 64 };

typedef struct lw_field {
    const char *name;
    int n_inputs;
    const char *inputs[LW_MAX_FEATURES]; /* at most DAG_MAX_INPUTS but for atomic networks */
    int n_outputs;
    int n_hidden;
    int hidden[64];
    int activation;                 /* physrt_activation */
    int body[16];                   /* per output: DAG over X_INPUT / X_NET */
    const phys_symbol *sym;
    /* Hard-constrained fields: value and derivatives of order <= 2 as a
     * pseudo-term over the field's inputs (residual j = deriv * n_outputs +
     * output), NULL when the field is its network. */
    struct lw_term *eval;
    int n_derivs;
    unsigned char derivs[1 + DAG_MAX_INPUTS + DAG_MAX_INPUTS * (DAG_MAX_INPUTS + 1) / 2][DAG_MAX_INPUTS];
} lw_field;

typedef struct lw_probe {
    int field;
    int inputs[DAG_MAX_INPUTS];     /* DAG nodes over the term's coordinates */
    int n_streams;
    unsigned char streams[64][DAG_MAX_INPUTS];
} lw_probe;

/* One X_STREAM leaf: which probe, which stream of it, which output. */
typedef struct lw_slot {
    int probe, stream, output;
} lw_slot;

typedef struct lw_face {
    int n_fixed;
    int coords[LW_MAX_COORDS];
    double values[LW_MAX_COORDS];
} lw_face;

typedef struct lw_term {
    const char *name;
    int kind;                       /* physm_term_kind */
    double weight;
    int n_coords;
    const char *coords[LW_MAX_COORDS];
    double lo[LW_MAX_COORDS], hi[LW_MAX_COORDS];
    int n_faces;
    lw_face *faces;
    int n_points;
    int sampler;                    /* physm_sampler */
    int weight_rule;                /* physm_weight_rule, with its period and rate */
    long weight_every;
    double weight_alpha;
    int adapt;                      /* physm_adapt_method, with its settings */
    long adapt_every;
    double adapt_fraction, adapt_k, adapt_c;
    int adapt_pool;
    const char *data_file;
    int pair_rows;                  /* trajectory data: coords = row k, then row k + 1 */
    int frames;                     /* frames data (physm_term.frames): PHYSM_FRAMES_* bits */
    int time_column;
    int n_probes;
    lw_probe *probes;
    int n_slots;
    lw_slot *slots;                 /* X_STREAM index -> slot, in creation order */
    int n_residuals;
    int *residuals;                 /* DAG nodes */
} lw_term;

typedef struct lw_stage {
    int optimizer;                  /* physm_optimizer */
    long steps;
    double lr, beta1, beta2, eps;
    int schedule;                   /* physrt_lr_kind */
    double decay_rate, lr_min;
    long decay_steps;
    int history;
    int qn_method;                  /* physrt_qn_method, for PHYSM_QUASI_NEWTON */
    int lbfgs_above_dense_limit;    /* physm_stage.lbfgs_above_dense_limit */
    long max_evaluations;
    double grad_tol, rel_f_tol;
    long batch;                     /* Adam: frames per step of frames data, 0: all */
} lw_stage;

/* The equations of motion (physm_dynamics): pseudo-terms over the state. */
typedef struct lw_dynamics {
    int kind;                       /* physm_dynamics_kind */
    int n_state, n_aux, n_half, separable, dim;
    const char **names;             /* n_state + n_aux, in the arena */
    lw_term *rhs, *energy, *momentum;
    int conserve_energy, conserve_momentum;
} lw_dynamics;

typedef struct lw_simulation {
    const char *name;
    int integrator;                 /* physm_integrator */
    double dt, tolerance;
    long steps, every;
    double *start;                  /* n_state + n_aux values, or NULL */
    const char *start_file, *out_file;
    double kT, damping;             /* langevin */
    long seed;
} lw_simulation;

/* ----------------------------------------------------- particle systems */

/* Coordinate k of a kernel's item: attribute array `array` of the particle
 * of `role` (0: first index, 1: second), component comp; or (shift) axis
 * comp of the pair's image shift. */
typedef struct lw_gather {
    int array, role, comp, width, shift;
} lw_gather;

/* force[set][particle(role) * dim + comp] += node */
typedef struct lw_scatter {
    int node, set, role, comp;
} lw_scatter;

/* A map/reduce over an index set (physm_kernel): its body is the scalar
 * DAG of a term whose coordinates are gathered per item. */
typedef struct lw_kernel {
    const char *name;
    int kind;                       /* physm_index_kind */
    int set_first, set_second;
    double cutoff;
    lw_term *term;                  /* coords, probes, slots; residuals unused */
    lw_gather *gathers;             /* term->n_coords */
    int cap_gathers;
    int sum;                        /* node summed over the items, or -1 */
    int sum_index;
    int n_scatters;
    lw_scatter *scatters;
    /* A descriptor kernel (lw_atomic) adds, per item, n_features values to
     * its centre's descriptor at feature_offset (features), and the same of
     * their derivatives along the gathered tangent (tangents). */
    int n_features, feature_offset;
    int *features, *tangents;
    /* and each feature's derivative by the positions of roles 1.. (the
     * centre's is minus their sum): [((role - 1) * n_features + f) * dim +
     * axis], n_jacobian nodes (0: the atoms do not move). */
    int n_jacobian;
    int *jacobian;
    /* The derivative of each scatter along the tangent u (and, in a
     * descriptor kernel, the seeds' tangent): Hessian-vector products;
     * NULL when the system has none. */
    int *hvp;
    /* The virial sum over the items of x_a f_b (x the image position of
     * each scattered particle, f its force), a * dim + b; NULL: none. */
    int *virial;
    int n_virial;                   /* dim * dim */
} lw_kernel;

/* atomic(network, descriptor = acsf(...)) in the system's energy: sum_i
 * net(G_i) over the atoms of set, G_i the descriptor its kernels add up;
 * combine coordinate sum_index holds the sum. The force and tangent
 * passes read two arrays beside the attributes: dE_i/dG_i (n_features
 * per atom) and a tangent u (dim per atom). */
typedef struct lw_atomic {
    int field;                      /* the first element's network: n_inputs = n_features */
    int n_elements;                 /* networks, one per element (fields field, field + 1, ...) */
    const char *elements[8];        /* their chemical symbols; "" for one network without species */
    int species_array;              /* the set's species attribute (element index per atom), -1: none */
    int set;
    int n_features;
    int sum_index;
    int seed_array, tangent_array;
} lw_atomic;

typedef struct lw_attribute {
    const char *name;
    int width, role, array;
    const phys_symbol *sym;
} lw_attribute;

typedef struct lw_particle_set {
    const char *name;
    const phys_symbol *sym;
    long count;                     /* -1: from the configuration */
    int n_attributes;
    lw_attribute attributes[32];
    int moves;
    int position, velocity;         /* attribute indices, -1: none */
} lw_particle_set;

typedef struct lw_system {
    int dim;
    int n_sets;
    lw_particle_set sets[8];
    int n_arrays;
    int n_kernels;
    lw_kernel *kernels;
    int n_sums;
    lw_term *combine;               /* coords: the sums; residual 0: V, then dV/dS_k */
    int seeds_needed;
    double mass;
    lw_atomic *atomic;              /* NULL: no atomic network */
    /* Hessian-vector products (physm_system.hvp_*): the tangent u per
     * particle and, with an atomic network, d(dE_i/dG_i) along u; -1: the
     * system has none (probes, or V not linear in its sums). */
    int hvp_tangent_array, hvp_seed_array;
} lw_system;

/* ---------------------------------------------------------------- spins */

typedef struct lw_recall {
    const char *file, *out_file;
    double temperature;
    long sweeps;
} lw_recall;

/* A spin set with an Ising energy (physm_spins): the local field is
 * h_i = pair_scale * (W s)_i + bias_scale * b_i + uniform_field. */
typedef struct lw_spins {
    const char *name, *energy_name;
    long n;
    int coupling;                   /* physm_coupling_kind */
    const char *coupling_name, *coupling_file;
    int lattice_dims;
    long lattice[3];
    double pair_scale;
    int bias;                       /* physm_bias_kind */
    const char *bias_name, *bias_file;
    double bias_scale, uniform_field;
    int n_recalls;
    lw_recall *recalls;
} lw_spins;

typedef struct lw_model {
    const char *name;
    const char *source_path;
    const char *source_dir;
    uint64_t structure_hash;
    phys_dag *dag;
    int n_fields;
    lw_field *fields;
    int n_params;
    const char **param_names;
    double *param_inits;
    int n_terms;
    lw_term *terms;
    int n_stages;
    lw_stage *stages;
    lw_dynamics *dynamics;          /* NULL without dynamics */
    int n_simulations;
    lw_simulation *simulations;
    lw_system *system;              /* NULL without particles under Newtonian dynamics */
    /* eval's named quantities (physm_quantities): each const and let of the
     * model as a pseudo-term, over the let's formals, or over a domain's
     * coordinates when its body uses them, or over nothing */
    int n_quantities;
    lw_term *quantities;
    lw_spins *spins;                /* NULL without spins */
} lw_model;

/* Lowers the checked program (already through phys_sema_check without
 * errors). Returns NULL after reporting errors. A REPL session (session = 1)
 * may lower a model with no field or term yet, and ignores print entries. */
lw_model *phys_lower(phys_sema *sema, const phys_node *program, const char *source_path, phys_diag *diag,
                     int session);
void phys_lower_free(lw_model *model);

/* The expressions of a print declaration as a term with no coordinates:
 * evaluated at one point, its residuals are the values of the expressions'
 * elements in order. shapes[k] receives expression k's shape. Returns NULL
 * after reporting errors; free with phys_lower_free_term. */
lw_term *phys_lower_print(lw_model *model, phys_sema *sema, const phys_node *print, phys_diag *diag,
                          phys_shape *shapes);
void phys_lower_free_term(lw_term *term);

#endif
