/* What the language knows by name without a declaration: math functions and
 * constants, derivative operators, and the constructors of networks,
 * descriptors, optimizers, samplers, integrators and couplings. One table,
 * indexed by id: the checker resolves every built-in name to its id
 * (phys_node.res), and folding, proofs and the lowering compare ids, never
 * spellings. */
#ifndef PHYS_BUILTINS_H
#define PHYS_BUILTINS_H

#include "dag.h"

typedef enum phys_builtin_class {
    B_MATH,        /* pointwise scalar function: sin, exp, ... */
    B_CONSTANT,    /* pi, e */
    B_DERIVATIVE,  /* d, grad, div, laplace, hessian, ddt */
    B_VECTOR,      /* dot, norm, cross, dist, disp, unit, periodic */
    B_NETWORK,     /* mlp, atomic */
    B_DESCRIPTOR,  /* acsf, g2, g4, message_passing */
    B_OPTIMIZER,   /* adam, lbfgs, ssbroyden, ssbfgs, bfgs */
    B_SCHEDULE,    /* constant, exponential, step, cosine (Adam learning rates) */
    B_SAMPLER,     /* uniform, sobol, lhs, grid, adaptive */
    B_INTEGRATOR,  /* leapfrog, verlet, midpoint, rk4 */
    B_COUPLING,    /* hebbian, matrix, lattice, bias, trainable, trainable_bias */
    B_ACTIVATION,  /* tanh, sigmoid, ... as the value of activation = */
    B_GRID,        /* linspace */
    B_WEIGHT,      /* adaptive, as a loss weight */
} phys_builtin_class;

/* Every built-in's identity, in table order (which is also the order of
 * lookups by name and of suggestions). B_ID_NONE: not a built-in. */
typedef enum phys_builtin_id {
    B_ID_NONE,
    /* math */
    B_ID_SIN, B_ID_COS, B_ID_TAN, B_ID_ASIN, B_ID_ACOS, B_ID_ATAN, B_ID_ATAN2, B_ID_SINH,
    B_ID_COSH, B_ID_TANH, B_ID_EXP, B_ID_LOG, B_ID_SQRT, B_ID_ABS, B_ID_SIGN, B_ID_ERF,
    B_ID_ERFC, B_ID_SIGMOID, B_ID_SOFTPLUS, B_ID_GELU, B_ID_SILU, B_ID_RELU, B_ID_POW, B_ID_MIN, B_ID_MAX,
    /* constants */
    B_ID_PI, B_ID_E,
    /* derivatives */
    B_ID_D, B_ID_GRAD, B_ID_DIV, B_ID_LAPLACE, B_ID_HESSIAN, B_ID_DDT,
    /* vectors and particles */
    B_ID_DOT, B_ID_NORM, B_ID_CROSS, B_ID_DIST, B_ID_DISP, B_ID_UNIT, B_ID_PERIODIC,
    /* networks and descriptors */
    B_ID_MLP, B_ID_ATOMIC, B_ID_ACSF, B_ID_G2, B_ID_G4, B_ID_G5, B_ID_MESSAGE_PASSING,
    /* optimizers and schedules */
    B_ID_ADAM, B_ID_LBFGS, B_ID_SSBROYDEN, B_ID_SSBFGS, B_ID_BFGS, B_ID_CONSTANT, B_ID_EXPONENTIAL, B_ID_STEP, B_ID_COSINE,
    /* samplers */
    B_ID_UNIFORM, B_ID_SOBOL, B_ID_LHS, B_ID_GRID, B_ID_ADAPTIVE,
    /* integrators */
    B_ID_LEAPFROG, B_ID_VERLET, B_ID_MIDPOINT, B_ID_RK4, B_ID_LANGEVIN,
    /* couplings and fields of spins */
    B_ID_HEBBIAN, B_ID_MATRIX, B_ID_LATTICE, B_ID_BIAS, B_ID_TRAINABLE, B_ID_TRAINABLE_BIAS,
    /* activations (the value of activation = ...) */
    B_ID_ACT_IDENTITY, B_ID_ACT_TANH, B_ID_ACT_SIGMOID, B_ID_ACT_SOFTPLUS, B_ID_ACT_GELU,
    B_ID_ACT_SILU, B_ID_ACT_SIN, B_ID_ACT_RELU,
    B_ID_LINSPACE,
    /* loss weights */
    B_ID_ADAPTIVE_WEIGHT,
    B_ID_COUNT
} phys_builtin_id;

typedef struct phys_builtin {
    phys_builtin_id id;
    const char *name;
    phys_builtin_class cls;
    int min_args, max_args;         /* positional arguments; -1 = any number */
    const char *const *named;       /* accepted named arguments, NULL-terminated */
    const char *const *required;    /* named arguments that must be given */
    const char *summary;            /* one line for :help and messages */
    /* Folding a constant call (math) or the value (constants): fold(a, b),
     * b = 0 for one argument. NULL: never folded. */
    double (*fold)(double a, double b);
    /* Lowering of a pointwise math function: its DAG op, elementwise;
     * X_OP_COUNT when the built-in is lowered by its own code. */
    dag_op op;
} phys_builtin;

/* The built-in called `name` used as `cls`, or NULL. Names may be shared
 * across classes (sin is a math function and an activation). */
const phys_builtin *phys_builtin_find(const char *name, phys_builtin_class cls);
/* Any built-in of that name. */
const phys_builtin *phys_builtin_any(const char *name);
/* The built-in of an id, or NULL for B_ID_NONE and out-of-range ids. */
const phys_builtin *phys_builtin_of(phys_builtin_id id);
/* Iteration for did-you-mean suggestions. */
const phys_builtin *phys_builtin_at(int i);
const char *phys_builtin_class_name(phys_builtin_class cls);
/* Classes a name in an expression may call or read: math, constants,
 * derivatives, vector functions, networks, grids. */
int phys_builtin_in_expressions(const phys_builtin *b);
/* The built-in an expression would mean by `name` (math, then derivative,
 * vector, network, grid, then any class), or NULL. */
const phys_builtin *phys_builtin_callable(const char *name);

/* n2p2's cutoff functions, acsf(cutoff_function = NAME): with x = (r - a rc)
 * / (rc - a rc) for the inner cutoff a, each is 1 below a rc and 0 from rc. */
typedef enum {
    PHYS_FC_COS, PHYS_FC_TANHU, PHYS_FC_TANH, PHYS_FC_POLY1, PHYS_FC_POLY2, PHYS_FC_POLY3, PHYS_FC_POLY4,
    PHYS_FC_EXP, PHYS_FC_HARD
} phys_cutoff_kind;
/* The kind named name, or -1. */
int phys_acsf_cutoff_kind(const char *name);

#endif
