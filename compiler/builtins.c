#include "builtins.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE NULL

/* How a constant call folds: the same functions the runtime computes. */
#define FOLD1(name, expr) \
    static double fold_##name(double a, double b) { (void)a; (void)b; return (expr); }
FOLD1(sin, sin(a)) FOLD1(cos, cos(a)) FOLD1(tan, tan(a)) FOLD1(asin, asin(a)) FOLD1(acos, acos(a))
FOLD1(atan, atan(a)) FOLD1(sinh, sinh(a)) FOLD1(cosh, cosh(a)) FOLD1(tanh, tanh(a)) FOLD1(exp, exp(a))
FOLD1(log, log(a)) FOLD1(sqrt, sqrt(a)) FOLD1(abs, fabs(a)) FOLD1(sign, (a > 0) - (a < 0))
FOLD1(erf, erf(a)) FOLD1(erfc, erfc(a)) FOLD1(sigmoid, 1.0 / (1.0 + exp(-a))) FOLD1(softplus, a > 30 ? a : log1p(exp(a)))
FOLD1(gelu, 0.5 * a * (1.0 + erf(a / sqrt(2.0)))) FOLD1(silu, a / (1.0 + exp(-a)))
FOLD1(relu, a > 0 ? a : 0)
FOLD1(pi, 3.14159265358979323846) FOLD1(e, 2.71828182845904523536)
static double fold_atan2(double a, double b) { return atan2(a, b); }
static double fold_pow(double a, double b) { return pow(a, b); }
static double fold_min(double a, double b) { return a < b ? a : b; }
static double fold_max(double a, double b) { return a > b ? a : b; }

static const phys_builtin table[B_ID_COUNT] = {
    /* math: one scalar in, one out, applied elementwise to vectors */
    [B_ID_SIN] = {B_ID_SIN, "sin", B_MATH, 1, 1, NONE, NONE, "sine", fold_sin, X_SIN},
    [B_ID_COS] = {B_ID_COS, "cos", B_MATH, 1, 1, NONE, NONE, "cosine", fold_cos, X_COS},
    [B_ID_TAN] = {B_ID_TAN, "tan", B_MATH, 1, 1, NONE, NONE, "tangent", fold_tan, X_TAN},
    [B_ID_ASIN] = {B_ID_ASIN, "asin", B_MATH, 1, 1, NONE, NONE, "arc sine", fold_asin, X_ASIN},
    [B_ID_ACOS] = {B_ID_ACOS, "acos", B_MATH, 1, 1, NONE, NONE, "arc cosine", fold_acos, X_ACOS},
    [B_ID_ATAN] = {B_ID_ATAN, "atan", B_MATH, 1, 1, NONE, NONE, "arc tangent", fold_atan, X_ATAN},
    [B_ID_ATAN2] = {B_ID_ATAN2, "atan2", B_MATH, 2, 2, NONE, NONE,
     "atan2(y, x), the angle of (x, y)", fold_atan2, X_ATAN2},
    [B_ID_SINH] = {B_ID_SINH, "sinh", B_MATH, 1, 1, NONE, NONE, "hyperbolic sine", fold_sinh, X_SINH},
    [B_ID_COSH] = {B_ID_COSH, "cosh", B_MATH, 1, 1, NONE, NONE, "hyperbolic cosine", fold_cosh, X_COSH},
    [B_ID_TANH] = {B_ID_TANH, "tanh", B_MATH, 1, 1, NONE, NONE, "hyperbolic tangent", fold_tanh, X_TANH},
    [B_ID_EXP] = {B_ID_EXP, "exp", B_MATH, 1, 1, NONE, NONE, "exponential", fold_exp, X_EXP},
    [B_ID_LOG] = {B_ID_LOG, "log", B_MATH, 1, 1, NONE, NONE, "natural logarithm", fold_log, X_LOG},
    [B_ID_SQRT] = {B_ID_SQRT, "sqrt", B_MATH, 1, 1, NONE, NONE, "square root", fold_sqrt, X_SQRT},
    [B_ID_ABS] = {B_ID_ABS, "abs", B_MATH, 1, 1, NONE, NONE, "absolute value", fold_abs, X_ABS},
    [B_ID_SIGN] = {B_ID_SIGN, "sign", B_MATH, 1, 1, NONE, NONE, "sign: -1, 0 or 1", fold_sign, X_SIGN},
    [B_ID_ERF] = {B_ID_ERF, "erf", B_MATH, 1, 1, NONE, NONE, "error function", fold_erf, X_ERF},
    [B_ID_ERFC] = {B_ID_ERFC, "erfc", B_MATH, 1, 1, NONE, NONE,
     "complementary error function 1 - erf(x), accurate where erf is near 1", fold_erfc, X_ERFC},
    [B_ID_SIGMOID] = {B_ID_SIGMOID, "sigmoid", B_MATH, 1, 1, NONE, NONE,
     "logistic sigmoid 1/(1+exp(-x))", fold_sigmoid, X_SIGMOID},
    [B_ID_SOFTPLUS] = {B_ID_SOFTPLUS, "softplus", B_MATH, 1, 1, NONE, NONE,
     "log(1+exp(x))", fold_softplus, X_SOFTPLUS},
    [B_ID_GELU] = {B_ID_GELU, "gelu", B_MATH, 1, 1, NONE, NONE,
     "x * Phi(x), exact erf form", fold_gelu, X_GELU},
    [B_ID_SILU] = {B_ID_SILU, "silu", B_MATH, 1, 1, NONE, NONE, "x * sigmoid(x)", fold_silu, X_SILU},
    [B_ID_RELU] = {B_ID_RELU, "relu", B_MATH, 1, 1, NONE, NONE, "max(0, x)", fold_relu, X_RELU},
    [B_ID_POW] = {B_ID_POW, "pow", B_MATH, 2, 2, NONE, NONE, "pow(x, y) = x^y", fold_pow, X_POW},
    [B_ID_MIN] = {B_ID_MIN, "min", B_MATH, 2, 2, NONE, NONE, "smaller of two", fold_min, X_MIN},
    [B_ID_MAX] = {B_ID_MAX, "max", B_MATH, 2, 2, NONE, NONE, "larger of two", fold_max, X_MAX},
    [B_ID_PI] = {B_ID_PI, "pi", B_CONSTANT, 0, 0, NONE, NONE, "3.14159...", fold_pi, X_OP_COUNT},
    [B_ID_E] = {B_ID_E, "e", B_CONSTANT, 0, 0, NONE, NONE, "2.71828...", fold_e, X_OP_COUNT},

    /* derivatives */
    [B_ID_D] = {B_ID_D, "d", B_DERIVATIVE, 2, 5, NONE, NONE,
     "d(u, x, ...): partial derivative of a field", NULL, X_OP_COUNT},
    [B_ID_GRAD] = {B_ID_GRAD, "grad", B_DERIVATIVE, 1, 2, NONE, NONE,
     "grad(u) or grad(V, r): gradient", NULL, X_OP_COUNT},
    [B_ID_DIV] = {B_ID_DIV, "div", B_DERIVATIVE, 1, 1, NONE, NONE,
     "div(v): divergence of a vector field", NULL, X_OP_COUNT},
    [B_ID_LAPLACE] = {B_ID_LAPLACE, "laplace", B_DERIVATIVE, 1, 1, NONE, NONE,
     "laplace(u): sum of second derivatives", NULL, X_OP_COUNT},
    [B_ID_HESSIAN] = {B_ID_HESSIAN, "hessian", B_DERIVATIVE, 1, 2, NONE, NONE,
     "hessian(u) or hessian(V, r)", NULL, X_OP_COUNT},
    [B_ID_DDT] = {B_ID_DDT, "ddt", B_DERIVATIVE, 1, 1, NONE, NONE,
     "ddt(q): time derivative of a state", NULL, X_OP_COUNT},

    /* vectors and particles */
    [B_ID_DOT] = {B_ID_DOT, "dot", B_VECTOR, 2, 2, NONE, NONE, "dot(a, b): scalar product", NULL, X_OP_COUNT},
    [B_ID_NORM] = {B_ID_NORM, "norm", B_VECTOR, 1, 1, NONE, NONE,
     "norm(v): Euclidean length", NULL, X_OP_COUNT},
    [B_ID_CROSS] = {B_ID_CROSS, "cross", B_VECTOR, 2, 2, NONE, NONE,
     "cross(a, b): vector product of 3-vectors", NULL, X_OP_COUNT},
    [B_ID_DIST] = {B_ID_DIST, "dist", B_VECTOR, 2, 2, NONE, NONE,
     "dist(i, j): distance between particles i and j", NULL, X_OP_COUNT},
    [B_ID_DISP] = {B_ID_DISP, "disp", B_VECTOR, 2, 2, NONE, NONE, "disp(i, j): r_i - r_j", NULL, X_OP_COUNT},
    [B_ID_UNIT] = {B_ID_UNIT, "unit", B_VECTOR, 2, 2, NONE, NONE,
     "unit(i, j): (r_i - r_j) / |r_i - r_j|", NULL, X_OP_COUNT},
    [B_ID_PERIODIC] = {B_ID_PERIODIC, "periodic", B_VECTOR, 2, 2, NONE, NONE,
     "periodic(u, x): u equal on both ends of x", NULL, X_OP_COUNT},

    /* networks */
    [B_ID_MLP] = {B_ID_MLP, "mlp", B_NETWORK, 0, 0, ARGS("hidden", "activation", "outputs", "init"),
     ARGS("hidden"), "multilayer perceptron", NULL, X_OP_COUNT},
    [B_ID_ATOMIC] = {B_ID_ATOMIC, "atomic", B_NETWORK, 1, 1, ARGS("descriptor", "elements"), ARGS("descriptor"),
     "per-atom network over an invariant descriptor, summed over atoms", NULL, X_OP_COUNT},

    /* descriptors */
    [B_ID_ACSF] = {B_ID_ACSF, "acsf", B_DESCRIPTOR, 0, 0,
     ARGS("cutoff", "cutoff_function", "cutoff_inner", "radial", "angular", "wide"), ARGS("cutoff"),
     "Behler-Parrinello atom-centred symmetry functions (n2p2's conventions)", NULL, X_OP_COUNT},
    [B_ID_G2] = {B_ID_G2, "g2", B_DESCRIPTOR, 0, 0, ARGS("eta", "rs"), ARGS("eta"),
     "radial symmetry functions", NULL, X_OP_COUNT},
    [B_ID_G4] = {B_ID_G4, "g4", B_DESCRIPTOR, 0, 0,
     ARGS("eta", "zeta", "lambda", "rs"), ARGS("eta", "zeta", "lambda"),
     "narrow angular symmetry functions (n2p2 type 3)", NULL, X_OP_COUNT},
    [B_ID_G5] = {B_ID_G5, "g5", B_DESCRIPTOR, 0, 0,
     ARGS("eta", "zeta", "lambda", "rs"), ARGS("eta", "zeta", "lambda"),
     "wide angular symmetry functions (n2p2 type 9)", NULL, X_OP_COUNT},
    [B_ID_MESSAGE_PASSING] = {B_ID_MESSAGE_PASSING, "message_passing", B_DESCRIPTOR, 0, 0,
     ARGS("cutoff", "layers", "width", "activation"),
     ARGS("cutoff"), "learned invariant messages over the neighbour graph", NULL, X_OP_COUNT},

    /* optimizers and schedules */
    [B_ID_ADAM] = {B_ID_ADAM, "adam", B_OPTIMIZER, 0, 0,
     ARGS("lr", "steps", "beta1", "beta2", "eps", "schedule", "resample", "batch"), ARGS("steps"),
     "Adam", NULL, X_OP_COUNT},
    [B_ID_LBFGS] = {B_ID_LBFGS, "lbfgs", B_OPTIMIZER, 0, 0,
     ARGS("steps", "history", "tolerance_grad", "tolerance_change", "max_evaluations"),
     ARGS("steps"), "L-BFGS with a strong Wolfe line search", NULL, X_OP_COUNT},
    [B_ID_SSBROYDEN] = {B_ID_SSBROYDEN, "ssbroyden", B_OPTIMIZER, 0, 0,
     ARGS("steps", "tolerance_grad", "tolerance_change", "max_evaluations"), ARGS("steps"),
     "self-scaled Broyden quasi-Newton (dense, up to 10^4 parameters)", NULL, X_OP_COUNT},
    [B_ID_SSBFGS] = {B_ID_SSBFGS, "ssbfgs", B_OPTIMIZER, 0, 0,
     ARGS("steps", "tolerance_grad", "tolerance_change", "max_evaluations"), ARGS("steps"),
     "self-scaled BFGS (dense, up to 10^4 parameters)", NULL, X_OP_COUNT},
    [B_ID_BFGS] = {B_ID_BFGS, "bfgs", B_OPTIMIZER, 0, 0,
     ARGS("steps", "tolerance_grad", "tolerance_change", "max_evaluations"), ARGS("steps"),
     "BFGS (dense, up to 10^4 parameters)", NULL, X_OP_COUNT},
    [B_ID_CONSTANT] = {B_ID_CONSTANT, "constant", B_SCHEDULE, 0, 0, NONE, NONE,
     "constant learning rate", NULL, X_OP_COUNT},
    [B_ID_EXPONENTIAL] = {B_ID_EXPONENTIAL, "exponential", B_SCHEDULE, 0, 0,
     ARGS("rate", "every"), ARGS("rate"),
     "lr * rate^(step/every)", NULL, X_OP_COUNT},
    [B_ID_STEP] = {B_ID_STEP, "step", B_SCHEDULE, 0, 0, ARGS("factor", "every"), ARGS("factor", "every"),
     "lr * factor^floor(step/every)", NULL, X_OP_COUNT},
    [B_ID_COSINE] = {B_ID_COSINE, "cosine", B_SCHEDULE, 0, 0, ARGS("min_lr"), NONE,
     "cosine decay to min_lr", NULL, X_OP_COUNT},

    /* collocation sampling */
    [B_ID_UNIFORM] = {B_ID_UNIFORM, "uniform", B_SAMPLER, 0, 0, NONE, NONE,
     "uniform random points", NULL, X_OP_COUNT},
    [B_ID_SOBOL] = {B_ID_SOBOL, "sobol", B_SAMPLER, 0, 0, NONE, NONE,
     "Sobol low-discrepancy points", NULL, X_OP_COUNT},
    [B_ID_LHS] = {B_ID_LHS, "lhs", B_SAMPLER, 0, 0, NONE, NONE, "Latin hypercube", NULL, X_OP_COUNT},
    [B_ID_GRID] = {B_ID_GRID, "grid", B_SAMPLER, 0, 0, NONE, NONE, "a regular grid", NULL, X_OP_COUNT},
    [B_ID_ADAPTIVE] = {B_ID_ADAPTIVE, "adaptive", B_SAMPLER, 0, 0,
     ARGS("every", "fraction", "k", "c", "pool", "method", "base"), NONE,
     "residual-adaptive (RAD, RAR-D): resample where the residual is large", NULL, X_OP_COUNT},

    /* integrators */
    [B_ID_LEAPFROG] = {B_ID_LEAPFROG, "leapfrog", B_INTEGRATOR, 0, 0,
     ARGS("dt", "steps", "tolerance"), ARGS("dt", "steps"),
     "leapfrog / Stormer-Verlet (symplectic)", NULL, X_OP_COUNT},
    [B_ID_VERLET] = {B_ID_VERLET, "verlet", B_INTEGRATOR, 0, 0,
     ARGS("dt", "steps", "tolerance"), ARGS("dt", "steps"),
     "velocity Verlet (symplectic)", NULL, X_OP_COUNT},
    [B_ID_MIDPOINT] = {B_ID_MIDPOINT, "midpoint", B_INTEGRATOR, 0, 0,
     ARGS("dt", "steps", "tolerance"), ARGS("dt", "steps"),
     "implicit midpoint (symplectic)", NULL, X_OP_COUNT},
    [B_ID_RK4] = {B_ID_RK4, "rk4", B_INTEGRATOR, 0, 0, ARGS("dt", "steps"), ARGS("dt", "steps"),
     "classical Runge-Kutta (not symplectic)", NULL, X_OP_COUNT},
    [B_ID_LANGEVIN] = {B_ID_LANGEVIN, "langevin", B_INTEGRATOR, 0, 0,
     ARGS("dt", "steps", "temperature", "kT", "damping", "seed"), ARGS("dt", "steps"),
     "Langevin dynamics at a temperature (BAOAB; the canonical ensemble, NVT)", NULL, X_OP_COUNT},

    [B_ID_HEBBIAN] = {B_ID_HEBBIAN, "hebbian", B_COUPLING, 1, 1, NONE, NONE, "Hebbian couplings from stored patterns", NULL, X_OP_COUNT},
    [B_ID_MATRIX] = {B_ID_MATRIX, "matrix", B_COUPLING, 1, 1, NONE, NONE, "couplings from an n x n CSV matrix", NULL, X_OP_COUNT},
    [B_ID_LATTICE] = {B_ID_LATTICE, "lattice", B_COUPLING, 2, 3, NONE, NONE,
     "nearest neighbours of a periodic 2-D or 3-D lattice: lattice(L1, L2[, L3])", NULL, X_OP_COUNT},
    [B_ID_BIAS] = {B_ID_BIAS, "bias", B_COUPLING, 1, 1, NONE, NONE, "a field on each spin from a CSV file", NULL, X_OP_COUNT},
    [B_ID_TRAINABLE] = {B_ID_TRAINABLE, "trainable", B_COUPLING, 0, 0, NONE, NONE,
     "couplings fitted to samples by ./model learn", NULL, X_OP_COUNT},
    [B_ID_TRAINABLE_BIAS] = {B_ID_TRAINABLE_BIAS, "trainable_bias", B_COUPLING, 0, 0, NONE, NONE,
     "fields fitted to samples by ./model learn", NULL, X_OP_COUNT},

    [B_ID_ACT_IDENTITY] = {B_ID_ACT_IDENTITY, "identity", B_ACTIVATION, 0, 0, NONE, NONE,
     "no activation", NULL, X_OP_COUNT},
    [B_ID_ACT_TANH] = {B_ID_ACT_TANH, "tanh", B_ACTIVATION, 0, 0, NONE, NONE,
     "tanh activation", NULL, X_OP_COUNT},
    [B_ID_ACT_SIGMOID] = {B_ID_ACT_SIGMOID, "sigmoid", B_ACTIVATION, 0, 0, NONE, NONE,
     "logistic activation", NULL, X_OP_COUNT},
    [B_ID_ACT_SOFTPLUS] = {B_ID_ACT_SOFTPLUS, "softplus", B_ACTIVATION, 0, 0, NONE, NONE,
     "softplus activation", NULL, X_OP_COUNT},
    [B_ID_ACT_GELU] = {B_ID_ACT_GELU, "gelu", B_ACTIVATION, 0, 0, NONE, NONE,
     "GELU activation", NULL, X_OP_COUNT},
    [B_ID_ACT_SILU] = {B_ID_ACT_SILU, "silu", B_ACTIVATION, 0, 0, NONE, NONE,
     "SiLU activation", NULL, X_OP_COUNT},
    [B_ID_ACT_SIN] = {B_ID_ACT_SIN, "sin", B_ACTIVATION, 0, 0, NONE, NONE,
     "sine activation", NULL, X_OP_COUNT},
    [B_ID_ACT_RELU] = {B_ID_ACT_RELU, "relu", B_ACTIVATION, 0, 0, NONE, NONE,
     "ReLU activation (second derivatives vanish)", NULL, X_OP_COUNT},

    [B_ID_LINSPACE] = {B_ID_LINSPACE, "linspace", B_GRID, 3, 3, NONE, NONE,
     "linspace(a, b, n): n points from a to b", NULL, X_OP_COUNT},

    [B_ID_ADAPTIVE_WEIGHT] = {B_ID_ADAPTIVE_WEIGHT, "adaptive", B_WEIGHT, 0, 0, ARGS("every", "alpha", "rule"), NONE,
     "a loss weight balanced by gradient norms while Adam trains", NULL, X_OP_COUNT},

};

/* Lookups by name go through the table in id order: the first row of a
 * name wins (sin the function before sin the activation). */
const phys_builtin *phys_builtin_find(const char *name, phys_builtin_class cls)
{
    for (int i = 1; i < B_ID_COUNT; i++)
        if (table[i].cls == cls && strcmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

const phys_builtin *phys_builtin_any(const char *name)
{
    for (int i = 1; i < B_ID_COUNT; i++)
        if (strcmp(table[i].name, name) == 0) return &table[i];
    return NULL;
}

const phys_builtin *phys_builtin_of(phys_builtin_id id)
{
    return id > B_ID_NONE && id < B_ID_COUNT ? &table[id] : NULL;
}

const phys_builtin *phys_builtin_at(int i)
{
    return i >= 0 && i + 1 < B_ID_COUNT ? &table[i + 1] : NULL;
}

int phys_builtin_in_expressions(const phys_builtin *b)
{
    return b && (b->cls == B_MATH || b->cls == B_CONSTANT || b->cls == B_DERIVATIVE || b->cls == B_VECTOR ||
                 b->cls == B_NETWORK || b->cls == B_GRID);
}

const phys_builtin *phys_builtin_callable(const char *name)
{
    static const phys_builtin_class order[] = {B_MATH, B_DERIVATIVE, B_VECTOR, B_NETWORK, B_GRID};
    for (size_t i = 0; i < sizeof order / sizeof *order; i++) {
        const phys_builtin *b = phys_builtin_find(name, order[i]);
        if (b) return b;
    }
    return phys_builtin_any(name);
}

const char *phys_builtin_class_name(phys_builtin_class cls)
{
    static const char *const names[] = {
        [B_MATH] = "function", [B_CONSTANT] = "constant", [B_DERIVATIVE] = "derivative",
        [B_VECTOR] = "vector function", [B_NETWORK] = "network", [B_DESCRIPTOR] = "descriptor",
        [B_OPTIMIZER] = "optimizer", [B_SCHEDULE] = "learning-rate schedule",
        [B_SAMPLER] = "sampling method", [B_INTEGRATOR] = "integrator",
        [B_COUPLING] = "coupling rule", [B_ACTIVATION] = "activation", [B_GRID] = "grid",
        [B_WEIGHT] = "loss weight rule",
    };
    return names[cls];
}

int phys_acsf_cutoff_kind(const char *name)
{
    static const char *const names[] = {
        [PHYS_FC_COS] = "cos", [PHYS_FC_TANHU] = "tanhu", [PHYS_FC_TANH] = "tanh", [PHYS_FC_POLY1] = "poly1",
        [PHYS_FC_POLY2] = "poly2", [PHYS_FC_POLY3] = "poly3", [PHYS_FC_POLY4] = "poly4", [PHYS_FC_EXP] = "exp",
        [PHYS_FC_HARD] = "hard",
    };
    for (int k = 0; k < (int)(sizeof names / sizeof *names); k++)
        if (!strcmp(name, names[k])) return k;
    return -1;
}
