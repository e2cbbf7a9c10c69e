/* physmodel.h - the contract between the code physc generates for a model
 * and the runtime's model driver (train / params / eval verbs).
 *
 * physc lowers a checked model to one object file that defines
 *
 *     const physm_model *physm_model_get(void);
 *
 * returning a descriptor with static storage: the model's networks, its
 * trainable constants, its loss terms (equations, conditions, data) and its
 * training schedule. The descriptor carries the only model-specific code:
 * for each loss term, pointwise functions that compute the inputs of each
 * network evaluation from a point, the residuals from the networks'
 * derivative streams, and the vector-Jacobian product of the residuals. The
 * runtime does everything else: sampling, the networks' Taylor-mode streams
 * and reverse sweep (physrt.h), the loss, optimizers, data files,
 * checkpoints, progress.
 *
 * Conventions: "points" of a term are rows of n_coords numbers (row-major,
 * n x n_coords). Every pointwise function handles a batch of n points and
 * exists for float64 (_f64) and float32 (_f32). Parameters ("params") are the
 * model's trainable constants only, in declaration order; network weights
 * never reach generated code.
 *
 * Every struct here is built as constant data by generated code: a member
 * added, removed or moved goes into physmodel_abi.h too (tests/compile/
 * test_abi checks both against each other).
 */
#ifndef PHYSMODEL_H
#define PHYSMODEL_H

#include "physrt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PHYSM_ABI_VERSION 6

typedef void (*physm_residual_f64)(int n, const double *points, const double *params,
                                   const double *const *streams, double *r);

/* A network-backed field: an MLP from n_inputs to n_outputs. */
typedef struct {
    const char *name;
    int n_inputs;
    const char *const *input_names;   /* n_inputs */
    int n_outputs;
    int n_hidden;
    const int *hidden_widths;         /* n_hidden */
    physrt_activation activation;     /* hidden layers; the output layer is linear */

    /* A hard-constrained field is a transform of its network, e.g.
     * u = -sin(pi x) + t (1 - x^2) net(x, t). For such a field n_derivs > 0
     * and eval_f64 gives the field's value and derivatives (every
     * multi-index of order <= 2, listed in derivs, value first) from the
     * network's streams: x is n x n_inputs; streams[s * n_outputs + o]
     * points at n values of network stream net_streams[s], output o; it
     * writes out[(d * n_outputs + o) * n + p]. n_derivs == 0: the field is
     * its network. */
    int n_derivs;
    const int *derivs;                /* n_derivs x n_inputs */
    int n_net_streams;
    const int *net_streams;           /* n_net_streams x n_inputs, value first */
    physm_residual_f64 eval_f64;      /* (n, x, params, streams, out) */
} physm_field;

/* A trainable physical constant. */
typedef struct {
    const char *name;
    double init;
} physm_param;

/* One evaluation of a field at every point of a term, with the derivative
 * streams the term's residuals use. streams is n_streams x n_inputs
 * multi-indices of the field's inputs (row-major); the value stream
 * {0, ..., 0} is always listed first. */
typedef struct {
    int field;
    int n_streams;
    const int *streams;
} physm_probe;

/* Coordinates held fixed on one face of a box: coords[k] = values[k]. */
typedef struct {
    int n_fixed;
    const int *coords;
    const double *values;
} physm_face;

typedef enum { PHYSM_EQUATION, PHYSM_INITIAL, PHYSM_BOUNDARY, PHYSM_DATA } physm_term_kind;
enum { PHYSM_FRAMES_ENERGY = 1, PHYSM_FRAMES_FORCES = 2, PHYSM_FRAMES_STRESS = 4 };
typedef enum { PHYSM_SAMPLE_UNIFORM, PHYSM_SAMPLE_SOBOL, PHYSM_SAMPLE_LHS, PHYSM_SAMPLE_GRID } physm_sampler;

/* How a term's weight changes while Adam trains (ABI 5), from the gradients
 * g_j = d L_j / d theta of the unweighted term losses L_j:
 *   fixed:     never;
 *   grad_norm: w_hat = (sum_j n_j) / |g_i|, n_j = |g_j| for an adaptive term
 *              and w_j |g_j| for a fixed one (jaxpi's balancing when every
 *              term is adaptive);
 *   annealing: w_hat = max_k |G_k| / mean_k |g_i,k|, G the gradient of the
 *              sum of the fixed terms (Wang, Teng & Perdikaris 2021);
 *   auto:      grad_norm, given to every term of a model that has neither
 *              a schedule ('train') nor any weight (the default, reported
 *              as such);
 * then w <- (1 - alpha) w + alpha w_hat, every weight_every steps. */
typedef enum {
    PHYSM_WEIGHT_FIXED, PHYSM_WEIGHT_GRAD_NORM, PHYSM_WEIGHT_ANNEALING, PHYSM_WEIGHT_AUTO
} physm_weight_rule;

/* Residual-based adaptive sampling of a term's points while Adam trains
 * (ABI 5; Wu et al. 2023): every adapt_every steps a pool of adapt_pool
 * candidates is drawn with the term's sampler and adapt_fraction x n_points
 * of them are taken, without replacement, with probability proportional to
 * |r|^k / mean |r|^k + c (|r| the norm of a point's residuals): RAD puts
 * them in place of that share of the points (the others stay as first
 * drawn), RAR-D adds them to the points. */
typedef enum { PHYSM_ADAPT_NONE, PHYSM_ADAPT_RAD, PHYSM_ADAPT_RARD } physm_adapt_method;

/* Pointwise functions of a term (T = double or float):
 *
 * inputs(n, points, params, probe_inputs): for each probe k, write the
 *   field's inputs at each point into probe_inputs[k] (n x n_inputs of that
 *   field, row-major: what physrt_mlp_forward takes).
 *
 * residual(n, points, params, streams, r): streams holds one pointer per
 *   (probe, stream, output) triple, probe-major, then stream (in the probe's
 *   order), then output; each points at n values. Writes the residuals
 *   r[j * n + p] for j < n_residuals.
 *
 * residual_vjp(n, points, params, streams, dr, dstreams, dparams): given
 *   dr = d loss / d r (same layout as r), WRITES d loss / d stream values
 *   through dstreams (same pointer layout as streams) and ADDS d loss /
 *   d params (summed over points) to dparams. */
typedef void (*physm_inputs_f64)(int n, const double *points, const double *params,
                                 double *const *probe_inputs);
typedef void (*physm_inputs_f32)(int n, const float *points, const float *params,
                                 float *const *probe_inputs);
typedef void (*physm_residual_f32)(int n, const float *points, const float *params,
                                   const float *const *streams, float *r);
typedef void (*physm_residual_vjp_f64)(int n, const double *points, const double *params,
                                       const double *const *streams, const double *dr,
                                       double *const *dstreams, double *dparams);
typedef void (*physm_residual_vjp_f32)(int n, const float *points, const float *params,
                                       const float *const *streams, const float *dr,
                                       float *const *dstreams, float *dparams);

/* A loss term: weight * mean over points and residuals of r^2. */
typedef struct {
    const char *name;                 /* the model's name for it, or e.g. "initial@12" */
    physm_term_kind kind;
    double weight;
    int n_coords;                     /* numbers per point */
    const char *const *coord_names;   /* n_coords */

    /* Sampled terms (not PHYSM_DATA): points in the box [lo, hi]; with
     * faces, on their union (points split evenly across faces, the rest of
     * the coordinates sampled in the box). */
    const double *lo, *hi;            /* n_coords */
    int n_faces;
    const physm_face *faces;
    int n_points;
    physm_sampler sampler;

    /* Adaptive weight (physm_weight_rule; weight is its starting value) and
     * adaptive sampling (physm_adapt_method). Zero: fixed, none. */
    int weight_rule;
    long weight_every;
    double weight_alpha;
    int adapt;
    long adapt_every;
    double adapt_fraction;
    double adapt_k, adapt_c;
    int adapt_pool;

    /* Data terms: each row of the CSV file gives a point; columns[k] is the
     * header name of the column read into coordinate k. The path is as the
     * model wrote it, resolved against the model file's directory. */
    const char *data_file;
    const char *const *columns;       /* n_coords (n_coords / 2 with pair_rows) */

    /* Trajectory data (trajectory(t)): a point is a pair of consecutive rows
     * of one trajectory. Coordinates [0, n_coords / 2) come from row k,
     * [n_coords / 2, n_coords) from row k + 1, both read through columns.
     * Rows belong to one trajectory while the time column (columns[
     * time_column]) increases; a row whose time does not increase starts the
     * next trajectory. */
    int pair_rows;
    int time_column;

    /* Frames data (extended XYZ or n2p2 input.data) of the particle system
     * with an atomic network: which of each frame's energy, forces and stress the
     * term fits (PHYSM_FRAMES_* bits; 0: not frames). No points, no
     * residual functions: the runtime evaluates it (atomic_loss.c). */
    int frames;

    int n_probes;
    const physm_probe *probes;
    int n_residuals;
    physm_inputs_f64 inputs_f64;
    physm_inputs_f32 inputs_f32;
    physm_residual_f64 residual_f64;
    physm_residual_f32 residual_f32;
    physm_residual_vjp_f64 residual_vjp_f64;
    physm_residual_vjp_f32 residual_vjp_f32;
} physm_term;

/* ------------------------------------------------------------ dynamics */

typedef enum { PHYSM_DYN_HAMILTONIAN, PHYSM_DYN_NEWTON, PHYSM_DYN_EXPLICIT } physm_dynamics_kind;

/* The model's equations of motion ds/dt = f(s). A state point is n_state
 * evolving numbers followed by n_aux numbers that stay constant along a
 * trajectory (particle masses, charges); names lists all n_state + n_aux
 * (CSV column names: "q", "q_0" for element 0 of a vector state, "r_3_x"
 * for axis x of attribute r of particle 3, "m_3" for a scalar attribute).
 *
 * Hamiltonian and Newtonian dynamics: n_state == 2 * n_half, components
 * [0, n_half) are positions (q, or r of every particle), [n_half, n_state)
 * the conjugate momenta or velocities, in the same order. Explicit
 * dynamics: n_half == 0. separable: d(positions)/dt depends on the momenta
 * only and d(momenta)/dt on the positions only (Newtonian dynamics), so a
 * leapfrog step needs no iteration.
 *
 * The pseudo-terms take points of n_state + n_aux coordinates (their
 * weight, sampling and data fields are unused):
 *   rhs:      n_state residuals, ds/dt;
 *   energy:   one residual, the model's energy (H; T + V for a conservative
 *             force), NULL when the model has none;
 *   momentum: dim + 1 residuals, total momentum sum_i m_i v_i, then
 *             sum_i m_i |v_i| (the scale drifts are measured against); NULL
 *             without particles. */
typedef struct {
    physm_dynamics_kind kind;
    int n_state, n_aux;
    const char *const *names;         /* n_state + n_aux */
    int n_half;
    int separable;
    int dim;                          /* particles: axes of a position; else 0 */
    const physm_term *rhs;
    const physm_term *energy;
    const physm_term *momentum;
    int conserve_energy, conserve_momentum; /* the model's conserve claims */
} physm_dynamics;

typedef enum { PHYSM_INT_LEAPFROG, PHYSM_INT_MIDPOINT, PHYSM_INT_RK4, PHYSM_INT_LANGEVIN } physm_integrator;

/* k_B in eV/K: langevin's temperature in kelvin for energies in eV. */
#define PHYSM_BOLTZMANN_EV_PER_K 8.617333262e-5

/* A simulate declaration: integrate from start for steps steps of dt,
 * writing every every-th state. leapfrog (also spelled verlet) is
 * Stormer-Verlet, generalised to non-separable H by fixed-point iteration
 * of its implicit stages; midpoint is the implicit midpoint rule; both are
 * symplectic. Implicit stages iterate until no component changes by more
 * than tolerance * (1 + |value|). langevin (particles only) samples the
 * canonical ensemble at kT (energy units) with friction 1/damping (BAOAB,
 * one force evaluation per step), its noise from seed. */
typedef struct {
    const char *name;                 /* the declaration's name, or "simulate@LINE" */
    physm_integrator integrator;
    double dt;
    long steps;
    long every;                       /* >= 1 */
    double tolerance;                 /* 0: the runtime's default, 1e-12 */
    const double *start;              /* n_state + n_aux values, or NULL: start_file */
    const char *start_file;           /* CSV with names as header, one trajectory per row;
                                         resolved against source_dir */
    const char *out_file;             /* resolved against the working directory; never NULL */
    double kT, damping;               /* langevin: k_B T and the friction's relaxation time; else 0 */
    long seed;
} physm_simulation;

/* ----------------------------------------------------- particle systems */

/* What an attribute of a particle set is to the dynamics and to file
 * formats (extxyz's pos, velo, masses, charges, species). */
typedef enum {
    PHYSM_ROLE_NONE, PHYSM_ROLE_POSITION, PHYSM_ROLE_VELOCITY, PHYSM_ROLE_MASS, PHYSM_ROLE_CHARGE,
    PHYSM_ROLE_SPECIES
} physm_role;

typedef struct {
    const char *name;
    int width;                        /* numbers per particle: 1 or the dimension */
    physm_role role;
    int array;                        /* index into a kernel's arrays[] */
} physm_attribute;

/* A set of particles: count fixed by the model, or -1 (the configuration
 * says). Sets that move have a position and a velocity. */
typedef struct {
    const char *name;
    long count;
    int n_attributes;
    const physm_attribute *attributes;
    int moves;
} physm_particle_set;

/* The index set a kernel runs over. Items: i over set_first. Pairs of one
 * set: half = each unordered pair once (i < j, or a self-image once), full
 * = both orders; cross = i in set_first, j in set_second. Triplets: a
 * centre i and two of its neighbours j, k (each unordered {j, k} once per
 * centre). With cutoff > 0 the pairs come from a neighbour list (every pair
 * within the cutoff, and some beyond it: kernels mask by the distance
 * themselves); cutoff 0 means every pair, open boundaries only. */
typedef enum { PHYSM_ITEMS, PHYSM_PAIRS_HALF, PHYSM_PAIRS_FULL, PHYSM_PAIRS_CROSS, PHYSM_TRIPLETS } physm_index_kind;

/* Generated loops over n items of a kernel's index set: item p pairs
 * particle first[p] of set_first with second[p] of set_second (items:
 * second = third = first), whose image is r[second[p]] + shift[p * dim ..];
 * triplets add third[p], and shift holds 2 dim numbers per item (the
 * images of second, then third).
 * arrays[a] is attribute array a (count x width, row-major; physm_attribute
 * .array), the same layout for every kernel of the model.
 *   inputs: each probe's network inputs per item (as physm_inputs_f64);
 *   body:   ADDS the kernel's sum over the items to sums[sum_index] and
 *           each item's force contributions to scatter[set][particle * dim
 *           + axis] (scatter[set] is NULL for sets that do not move);
 *           seeds[k] is dV/dS_k (physm_system.combine), read only when
 *           seeds_needed. */
typedef void (*physm_kernel_inputs_f64)(int n, const int *first, const int *second, const int *third,
                                        const double *shift,
                                        const double *const *arrays, const double *params,
                                        double *const *probe_inputs);
typedef void (*physm_kernel_body_f64)(int n, const int *first, const int *second, const int *third,
                                      const double *shift,
                                      const double *const *arrays, const double *params,
                                      const double *const *streams, const double *seeds,
                                      double *const *scatter, double *sums);

typedef struct {
    const char *name;                 /* e.g. "sum_pairs@12", "force F" */
    physm_index_kind kind;
    int set_first, set_second;
    double cutoff;
    int sum_index;                    /* -1: the kernel sums nothing */
    int n_probes;
    const physm_probe *probes;
    physm_kernel_inputs_f64 inputs_f64;   /* NULL without probes */
    physm_kernel_body_f64 sum_f64;        /* the sum only (no scatter); NULL if sum_index < 0 */
    physm_kernel_body_f64 body_f64;       /* the sum and the forces */
    /* A descriptor kernel (physm_atomic) adds n_features values per item to
     * its centre's descriptor, at feature_offset of the atomic network's
     * n_features: values_f64 into scatter[0] (count x n_features); body_f64
     * scatters the forces for the seeds dE_i/dG_i in arrays[seed_array];
     * tangent_f64 adds dG/dr . u, u in arrays[tangent_array], into
     * scatter[0]. n_features 0: an ordinary kernel. */
    int n_features, feature_offset;
    physm_kernel_body_f64 values_f64, tangent_f64;
    /* The derivative of the force scatters along arrays[hvp_tangent_array]
     * (and, for descriptor kernels, the seeds' tangent in
     * arrays[hvp_seed_array]) into scatter[set]: -(Hessian of V) u. NULL:
     * none (physm_system.hvp_tangent_array < 0). */
    physm_kernel_body_f64 hvp_f64;
    /* ADDS sum over items of x_a f_b (image positions, the forces of the
     * force pass with the same seeds) to sums[a * dim + b]; NULL: no forces. */
    physm_kernel_body_f64 virial_f64;
    /* A descriptor kernel's features' derivatives by the positions of the
     * item's roles 1.. (the centre's is minus their sum), n_jacobian per
     * item, [((role - 1) * n_features + f) * dim + axis], STORED (not
     * added) at scatter[0][item * n_jacobian + ...]; NULL: none. */
    int n_jacobian;
    physm_kernel_body_f64 jacobian_f64;
} physm_kernel;

/* atomic(network, descriptor = ...): the energy sum_i E_i, E_i = net(G_i),
 * of the atoms of set, G_i the n_features numbers the descriptor kernels
 * add up per atom; sums[sum_index] (a coordinate of combine) holds the
 * sum. arrays[seed_array] and arrays[tangent_array] are work arrays of the
 * runtime's (n_features and dim numbers per atom), counted in n_arrays. */
typedef struct {
    int field;                        /* the first element's network: one output */
    int set;
    int n_features;
    int sum_index;
    int seed_array, tangent_array;
    /* One network per element: fields[e] for the atoms whose species
     * attribute (arrays[species_array], the element's index e) says e, the
     * element's chemical symbol elements[e] ("" for one network over atoms
     * without a species; species_array -1). Network e reads the first
     * n_inputs (<= n_features) of its atoms' features: with acsf(functions
     * = [...]) an element's own functions, fewer than the longest list. */
    int n_elements;
    const int *fields;
    const char *const *elements;
    int species_array;
} physm_atomic;

/* Particles under Newtonian dynamics, evaluated by loops over index sets
 * (never unrolled): the potential energy V = combine(S_0, ..., S_{n_sums-1})
 * of the kernels' sums S_k, and the forces on the moving sets. With
 * seeds_needed, V is not linear in the sums: the kernels' sums are taken
 * first (sum_f64), combine gives V and dV/dS_k (residuals 1 ..), and the
 * force pass reads them as seeds; otherwise one pass (body_f64) gives both.
 * combine is a pseudo-term with n_sums coordinates (residual 0: V). */
typedef struct {
    int dim;
    int n_sets;
    const physm_particle_set *sets;
    int n_arrays;                     /* attribute arrays over all sets */
    int n_kernels;
    const physm_kernel *kernels;
    int n_sums;
    const physm_term *combine;        /* NULL: no potential energy (a pair force) */
    int seeds_needed;
    double mass;                      /* > 0: every particle's mass; 0: the mass attribute */
    const physm_atomic *atomic;       /* NULL: no atomic network */
    int hvp_tangent_array;            /* work arrays of Hessian-vector products (dim and, */
    int hvp_seed_array;               /* with an atomic network, n_features per particle); -1: none */
} physm_system;

typedef enum {
    PHYSM_ADAM,
    PHYSM_LBFGS,
    PHYSM_QUASI_NEWTON                /* dense BFGS family, physm_stage.qn.method */
} physm_optimizer;

/* ---------------------------------------------------------------- spins */

/* Where a spin model's couplings W come from: stored patterns (W = (1/n)
 * sum over patterns of xi xi^T, zero diagonal), an n x n CSV matrix
 * (symmetric, zero diagonal), the nearest neighbours of a periodic lattice
 * (W_ij = 1 for neighbours; sites in row-major order), or fitted by
 * ./model learn. */
typedef enum {
    PHYSM_COUPLING_NONE, PHYSM_COUPLING_HEBBIAN, PHYSM_COUPLING_MATRIX, PHYSM_COUPLING_LATTICE,
    PHYSM_COUPLING_TRAINABLE
} physm_coupling_kind;
typedef enum { PHYSM_BIAS_NONE, PHYSM_BIAS_FILE, PHYSM_BIAS_TRAINABLE } physm_bias_kind;

/* A recall declaration: from each row of file (header = the spin names
 * s_0 .. s_{n-1}, resolved against source_dir) to out_file. */
typedef struct {
    const char *file;
    double temperature;               /* 0: zero-temperature descent; > 0: Glauber */
    long sweeps;
    const char *out_file;
} physm_recall;

/* n spins in {-1, +1} with the Ising energy the compiler recognised:
 *     E(s) = -1/2 sum_i s_i pair_scale (W s)_i - sum_i s_i (bias_scale b_i + uniform_field),
 * local field h_i = pair_scale (W s)_i + bias_scale b_i + uniform_field = -dE/ds_i,
 * and a flip of s_i changes E by 2 s_i h_i. */
typedef struct {
    const char *name;                 /* the spin set */
    const char *energy;               /* the energy's name */
    long n;
    physm_coupling_kind coupling;
    const char *coupling_name;
    const char *coupling_file;        /* hebbian, matrix: resolved against source_dir */
    int lattice_dims;                 /* lattice: 2 or 3 sides */
    const long *lattice;              /* lattice: lattice_dims sides (NULL otherwise) */
    double pair_scale;
    physm_bias_kind bias;
    const char *bias_name;
    const char *bias_file;
    double bias_scale;
    double uniform_field;
    int n_recalls;
    const physm_recall *recalls;
} physm_spins;

/* One stage of the training schedule, run in order. */
typedef struct {
    physm_optimizer optimizer;
    long steps;                       /* Adam steps or (L-)BFGS iterations */
    physrt_adam_options adam;         /* PHYSM_ADAM */
    physrt_lbfgs_options lbfgs;       /* PHYSM_LBFGS (max_iterations = steps) */
    physrt_qn_options qn;             /* PHYSM_QUASI_NEWTON (max_iterations = steps) */
    int lbfgs_above_dense_limit;      /* PHYSM_QUASI_NEWTON of the default schedule: run as
                                         L-BFGS (options .lbfgs) when the model has more than
                                         PHYSRT_QN_MAX_PARAMS trainable numbers */
    long batch;                       /* PHYSM_ADAM: frames of frames data per step (mini-batches
                                         in file order, step k takes the k-th batch cyclically);
                                         0: every frame */
} physm_stage;

/* The model's named quantities that eval prints by name (ABI 3): each
 * const and let as a pseudo-term (only inputs_f64 and residual_f64 are set)
 * named after it, whose coordinates are the let's formals, or a domain's
 * coordinates when its body uses them (let r2 = x^2 + y^2), or none (a
 * constant: one point of no coordinates); its residuals are the value's
 * elements. Lets that need more (particle sums, vector formals) are left
 * out. */
typedef struct {
    int n_lets;
    const physm_term *lets;
} physm_quantities;

typedef struct {
    int abi_version;                  /* PHYSM_ABI_VERSION */
    const char *name;                 /* from 'model NAME' (or the file name) */
    const char *source_path;          /* the .phys file as given to physc */
    const char *source_dir;           /* its directory, absolute: data paths resolve here */
    uint64_t structure_hash;          /* changes whenever sizes or names change:
                                         checkpoints of another structure are refused */
    int n_fields;
    const physm_field *fields;
    int n_params;
    const physm_param *params;
    int n_terms;
    const physm_term *terms;
    int n_stages;
    const physm_stage *stages;
    const physm_dynamics *dynamics;   /* NULL: no dynamics */
    int n_simulations;
    const physm_simulation *simulations;
    const physm_system *system;       /* NULL: no particles under Newtonian dynamics */
    const physm_quantities *quantities; /* NULL: none (ABI 3) */
    const physm_spins *spins;         /* NULL: no spins */
} physm_model;

/* Defined by the generated object file. */
const physm_model *physm_model_get(void);

/* The runtime's entry point for a compiled model: parses argv (verbs train,
 * params, eval, simulate, --help) and runs it. Returns the process exit status. */
int physm_main(const physm_model *model, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* PHYSMODEL_H */
