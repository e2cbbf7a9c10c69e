#include "builtins.h"

#include <stddef.h>
#include <string.h>

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE NULL

static const phys_builtin table[] = {
    /* math: one scalar in, one out, applied elementwise to vectors */
    {"sin", B_MATH, 1, 1, NONE, NONE, "sine"},
    {"cos", B_MATH, 1, 1, NONE, NONE, "cosine"},
    {"tan", B_MATH, 1, 1, NONE, NONE, "tangent"},
    {"asin", B_MATH, 1, 1, NONE, NONE, "arc sine"},
    {"acos", B_MATH, 1, 1, NONE, NONE, "arc cosine"},
    {"atan", B_MATH, 1, 1, NONE, NONE, "arc tangent"},
    {"atan2", B_MATH, 2, 2, NONE, NONE, "atan2(y, x), the angle of (x, y)"},
    {"sinh", B_MATH, 1, 1, NONE, NONE, "hyperbolic sine"},
    {"cosh", B_MATH, 1, 1, NONE, NONE, "hyperbolic cosine"},
    {"tanh", B_MATH, 1, 1, NONE, NONE, "hyperbolic tangent"},
    {"exp", B_MATH, 1, 1, NONE, NONE, "exponential"},
    {"log", B_MATH, 1, 1, NONE, NONE, "natural logarithm"},
    {"sqrt", B_MATH, 1, 1, NONE, NONE, "square root"},
    {"abs", B_MATH, 1, 1, NONE, NONE, "absolute value"},
    {"sign", B_MATH, 1, 1, NONE, NONE, "sign: -1, 0 or 1"},
    {"erf", B_MATH, 1, 1, NONE, NONE, "error function"},
    {"sigmoid", B_MATH, 1, 1, NONE, NONE, "logistic sigmoid 1/(1+exp(-x))"},
    {"softplus", B_MATH, 1, 1, NONE, NONE, "log(1+exp(x))"},
    {"gelu", B_MATH, 1, 1, NONE, NONE, "x * Phi(x), exact erf form"},
    {"silu", B_MATH, 1, 1, NONE, NONE, "x * sigmoid(x)"},
    {"relu", B_MATH, 1, 1, NONE, NONE, "max(0, x)"},
    {"pow", B_MATH, 2, 2, NONE, NONE, "pow(x, y) = x^y"},
    {"min", B_MATH, 2, 2, NONE, NONE, "smaller of two"},
    {"max", B_MATH, 2, 2, NONE, NONE, "larger of two"},
    {"pi", B_CONSTANT, 0, 0, NONE, NONE, "3.14159..."},
    {"e", B_CONSTANT, 0, 0, NONE, NONE, "2.71828..."},

    /* derivatives */
    {"d", B_DERIVATIVE, 2, 5, NONE, NONE, "d(u, x, ...): partial derivative of a field"},
    {"grad", B_DERIVATIVE, 1, 2, NONE, NONE, "grad(u) or grad(V, r): gradient"},
    {"div", B_DERIVATIVE, 1, 1, NONE, NONE, "div(v): divergence of a vector field"},
    {"laplace", B_DERIVATIVE, 1, 1, NONE, NONE, "laplace(u): sum of second derivatives"},
    {"hessian", B_DERIVATIVE, 1, 2, NONE, NONE, "hessian(u) or hessian(V, r)"},
    {"ddt", B_DERIVATIVE, 1, 1, NONE, NONE, "ddt(q): time derivative of a state"},

    /* vectors and particles */
    {"dot", B_VECTOR, 2, 2, NONE, NONE, "dot(a, b): scalar product"},
    {"norm", B_VECTOR, 1, 1, NONE, NONE, "norm(v): Euclidean length"},
    {"cross", B_VECTOR, 2, 2, NONE, NONE, "cross(a, b): vector product of 3-vectors"},
    {"dist", B_VECTOR, 2, 2, NONE, NONE, "dist(i, j): distance between particles i and j"},
    {"disp", B_VECTOR, 2, 2, NONE, NONE, "disp(i, j): r_i - r_j"},
    {"unit", B_VECTOR, 2, 2, NONE, NONE, "unit(i, j): (r_i - r_j) / |r_i - r_j|"},
    {"periodic", B_VECTOR, 2, 2, NONE, NONE, "periodic(u, x): u equal on both ends of x"},

    /* networks */
    {"mlp", B_NETWORK, 0, 0, ARGS("hidden", "activation", "outputs", "init"),
     ARGS("hidden"), "multilayer perceptron"},
    {"atomic", B_NETWORK, 1, 1, ARGS("descriptor"), ARGS("descriptor"),
     "per-atom network over an invariant descriptor, summed over atoms"},

    /* descriptors */
    {"acsf", B_DESCRIPTOR, 0, 0, ARGS("cutoff", "radial", "angular"), ARGS("cutoff"),
     "Behler-Parrinello atom-centred symmetry functions"},
    {"g2", B_DESCRIPTOR, 0, 0, ARGS("eta", "rs"), ARGS("eta"), "radial symmetry functions"},
    {"g4", B_DESCRIPTOR, 0, 0, ARGS("eta", "zeta", "lambda"), ARGS("eta", "zeta", "lambda"),
     "angular symmetry functions"},
    {"message_passing", B_DESCRIPTOR, 0, 0, ARGS("cutoff", "layers", "width", "activation"),
     ARGS("cutoff"), "learned invariant messages over the neighbour graph"},

    /* optimizers and schedules */
    {"adam", B_OPTIMIZER, 0, 0,
     ARGS("lr", "steps", "beta1", "beta2", "eps", "schedule", "resample"), ARGS("steps"),
     "Adam"},
    {"lbfgs", B_OPTIMIZER, 0, 0,
     ARGS("steps", "history", "tolerance_grad", "tolerance_change", "max_evaluations"),
     ARGS("steps"), "L-BFGS with a strong Wolfe line search"},
    {"ssbroyden", B_OPTIMIZER, 0, 0, ARGS("steps", "tolerance_grad", "tolerance_change", "max_evaluations"),
     ARGS("steps"), "self-scaled Broyden quasi-Newton (dense, up to 10^4 parameters)"},
    {"ssbfgs", B_OPTIMIZER, 0, 0, ARGS("steps", "tolerance_grad", "tolerance_change", "max_evaluations"),
     ARGS("steps"), "self-scaled BFGS (dense, up to 10^4 parameters)"},
    {"bfgs", B_OPTIMIZER, 0, 0, ARGS("steps", "tolerance_grad", "tolerance_change", "max_evaluations"),
     ARGS("steps"), "BFGS (dense, up to 10^4 parameters)"},
    {"constant", B_SCHEDULE, 0, 0, NONE, NONE, "constant learning rate"},
    {"exponential", B_SCHEDULE, 0, 0, ARGS("rate", "every"), ARGS("rate"),
     "lr * rate^(step/every)"},
    {"step", B_SCHEDULE, 0, 0, ARGS("factor", "every"), ARGS("factor", "every"),
     "lr * factor^floor(step/every)"},
    {"cosine", B_SCHEDULE, 0, 0, ARGS("min_lr"), NONE, "cosine decay to min_lr"},

    /* collocation sampling */
    {"uniform", B_SAMPLER, 0, 0, NONE, NONE, "uniform random points"},
    {"sobol", B_SAMPLER, 0, 0, NONE, NONE, "Sobol low-discrepancy points"},
    {"lhs", B_SAMPLER, 0, 0, NONE, NONE, "Latin hypercube"},
    {"grid", B_SAMPLER, 0, 0, NONE, NONE, "a regular grid"},
    {"adaptive", B_SAMPLER, 0, 0, ARGS("every", "fraction"), NONE,
     "residual-adaptive: resample where the residual is large"},

    /* integrators */
    {"leapfrog", B_INTEGRATOR, 0, 0, ARGS("dt", "steps", "tolerance"), ARGS("dt", "steps"),
     "leapfrog / Stormer-Verlet (symplectic)"},
    {"verlet", B_INTEGRATOR, 0, 0, ARGS("dt", "steps", "tolerance"), ARGS("dt", "steps"),
     "velocity Verlet (symplectic)"},
    {"midpoint", B_INTEGRATOR, 0, 0, ARGS("dt", "steps", "tolerance"), ARGS("dt", "steps"),
     "implicit midpoint (symplectic)"},
    {"rk4", B_INTEGRATOR, 0, 0, ARGS("dt", "steps"), ARGS("dt", "steps"),
     "classical Runge-Kutta (not symplectic)"},

    {"hebbian", B_COUPLING, 1, 1, NONE, NONE, "Hebbian couplings from stored patterns"},

    {"identity", B_ACTIVATION, 0, 0, NONE, NONE, "no activation"},
    {"tanh", B_ACTIVATION, 0, 0, NONE, NONE, "tanh activation"},
    {"sigmoid", B_ACTIVATION, 0, 0, NONE, NONE, "logistic activation"},
    {"softplus", B_ACTIVATION, 0, 0, NONE, NONE, "softplus activation"},
    {"gelu", B_ACTIVATION, 0, 0, NONE, NONE, "GELU activation"},
    {"silu", B_ACTIVATION, 0, 0, NONE, NONE, "SiLU activation"},
    {"sin", B_ACTIVATION, 0, 0, NONE, NONE, "sine activation"},
    {"relu", B_ACTIVATION, 0, 0, NONE, NONE, "ReLU activation (second derivatives vanish)"},

    {"linspace", B_GRID, 3, 3, NONE, NONE, "linspace(a, b, n): n points from a to b"},
};

enum { TABLE_SIZE = sizeof table / sizeof *table };

const phys_builtin *phys_builtin_find(const char *name, phys_builtin_class cls)
{
    for (int i = 0; i < TABLE_SIZE; i++)
        if (table[i].cls == cls && strcmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

const phys_builtin *phys_builtin_any(const char *name)
{
    for (int i = 0; i < TABLE_SIZE; i++)
        if (strcmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

const phys_builtin *phys_builtin_at(int i)
{
    return i >= 0 && i < TABLE_SIZE ? &table[i] : NULL;
}

const char *phys_builtin_class_name(phys_builtin_class cls)
{
    static const char *const names[] = {
        [B_MATH] = "function", [B_CONSTANT] = "constant", [B_DERIVATIVE] = "derivative",
        [B_VECTOR] = "vector function", [B_NETWORK] = "network", [B_DESCRIPTOR] = "descriptor",
        [B_OPTIMIZER] = "optimizer", [B_SCHEDULE] = "learning-rate schedule",
        [B_SAMPLER] = "sampling method", [B_INTEGRATOR] = "integrator",
        [B_COUPLING] = "coupling rule", [B_ACTIVATION] = "activation", [B_GRID] = "grid",
    };
    return names[cls];
}
