/* What the language knows by name without a declaration: math functions and
 * constants, derivative operators, and the constructors of networks,
 * descriptors, optimizers, samplers, integrators and couplings. */
#ifndef PHYS_BUILTINS_H
#define PHYS_BUILTINS_H

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
    B_COUPLING,    /* hebbian */
    B_ACTIVATION,  /* tanh, sigmoid, ... as the value of activation = */
    B_GRID,        /* linspace */
} phys_builtin_class;

typedef struct phys_builtin {
    const char *name;
    phys_builtin_class cls;
    int min_args, max_args;         /* positional arguments; -1 = any number */
    const char *const *named;       /* accepted named arguments, NULL-terminated */
    const char *const *required;    /* named arguments that must be given */
    const char *summary;            /* one line for :help and messages */
} phys_builtin;

/* The built-in called `name` used as `cls`, or NULL. Names may be shared
 * across classes (sin is a math function and an activation). */
const phys_builtin *phys_builtin_find(const char *name, phys_builtin_class cls);
/* Any built-in of that name. */
const phys_builtin *phys_builtin_any(const char *name);
/* Iteration for did-you-mean suggestions. */
const phys_builtin *phys_builtin_at(int i);
const char *phys_builtin_class_name(phys_builtin_class cls);

#endif
