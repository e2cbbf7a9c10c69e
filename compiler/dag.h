/* Scalar expression DAGs: the form in which the lowering pass hands
 * pointwise residuals to code generation. Nodes are hash-consed (one node per
 * distinct expression, so common subexpressions are shared) and simplified
 * as they are built. Ids grow in topological order: children before parents.
 * The DAG also knows the partial derivatives of every operation, which gives
 * symbolic differentiation (for derivatives of hard-constrained fields) and
 * the reverse sweep (vector-Jacobian products) as more DAG nodes. */
#ifndef PHYS_DAG_H
#define PHYS_DAG_H

enum { DAG_MAX_INPUTS = 8, DAG_MAX_ORDER = 4 };

typedef enum dag_op {
    /* leaves */
    X_CONST,      /* value */
    X_COORD,      /* index: coordinate of the point */
    X_PARAM,      /* index: trainable constant */
    X_STREAM,     /* index: stream slot (probe, stream, output) of the term */
    X_SEED,       /* index: adjoint seed d loss / d r[index] */
    X_INPUT,      /* index: formal input of a field body (before substitution) */
    X_NET,        /* alpha, index = output: network stream (before substitution) */
    /* arithmetic */
    X_ADD, X_SUB, X_MUL, X_DIV, X_NEG,
    X_POW,        /* a ^ b, real exponent */
    X_POWI,       /* a ^ index, integer exponent */
    /* functions */
    X_SIN, X_COS, X_TAN, X_ASIN, X_ACOS, X_ATAN, X_ATAN2, X_SINH, X_COSH, X_TANH,
    X_EXP, X_LOG, X_SQRT, X_ABS, X_SIGN, X_ERF, X_ERFC, X_SIGMOID, X_SOFTPLUS, X_GELU,
    X_SILU, X_RELU, X_STEP,  /* step: 1 where a > 0, else 0 */
    X_SINPI, X_COSPI,        /* sin(pi a), cos(pi a): exact range reduction, inline polynomial */
    X_MIN, X_MAX,
    /* comparisons (1 or 0) and selection */
    X_LT, X_LE, X_GT, X_GE, X_NE, X_AND, X_OR, X_NOT,
    X_SELECT,     /* a != 0 ? b : c */
    X_OP_COUNT
} dag_op;

typedef struct dag_node {
    dag_op op;
    int a, b, c;          /* children, -1 when absent */
    int index;
    double value;
    unsigned char alpha[DAG_MAX_INPUTS];
} dag_node;

typedef struct phys_dag phys_dag;

phys_dag *dag_create(void);
void dag_destroy(phys_dag *dag);
int dag_size(const phys_dag *dag);
const dag_node *dag_at(const phys_dag *dag, int id);
const char *dag_op_name(dag_op op);

int dag_const(phys_dag *dag, double value);
int dag_leaf(phys_dag *dag, dag_op op, int index);
int dag_net(phys_dag *dag, const unsigned char *alpha, int output);
int dag_unary(phys_dag *dag, dag_op op, int a);
int dag_binary(phys_dag *dag, dag_op op, int a, int b);
int dag_powi(phys_dag *dag, int a, int exponent);
int dag_select(phys_dag *dag, int cond, int a, int b);
/* True if the node is the constant v. */
int dag_is_const(const phys_dag *dag, int id, double v);

/* Forward derivative of node, given the derivative of each leaf (constants
 * differentiate to 0 without a call): leaf_derivative returns a node. */
typedef int (*dag_leaf_fn)(void *ctx, const dag_node *leaf);
int dag_diff_by(phys_dag *dag, int node, dag_leaf_fn leaf_derivative, void *ctx);

/* Rebuilds node with every leaf but constants replaced by replace(ctx, leaf)
 * (a negative result keeps the leaf). */
int dag_rewrite(phys_dag *dag, int node, dag_leaf_fn replace, void *ctx);

/* d node / d X_INPUT(input). X_NET leaves differentiate to the stream of one
 * order higher; returns -1 (and sets *too_high) past DAG_MAX_ORDER. */
int dag_diff(phys_dag *dag, int node, int input, int *too_high);

/* Rewrites a DAG over X_INPUT / X_NET leaves: X_INPUT(i) becomes inputs[i];
 * X_NET(alpha, o) becomes net(ctx, alpha, o) (a stream leaf the caller
 * registers). Returns the new node. */
typedef int (*dag_net_fn)(void *ctx, const unsigned char *alpha, int output);
int dag_substitute(phys_dag *dag, int node, const int *inputs, dag_net_fn net, void *ctx);

/* Reverse sweep: given outputs[k] with adjoint seeds seeds[k] (nodes),
 * returns in adjoint[leaf id] the node holding d/d(leaf) of
 * sum_k seeds[k] * outputs[k] for every leaf reachable, or -1 when the leaf
 * does not influence the outputs. adjoint has room for dag_size() entries
 * taken BEFORE the call. */
void dag_reverse(phys_dag *dag, int n_outputs, const int *outputs, const int *seeds, int *adjoint);

#endif
