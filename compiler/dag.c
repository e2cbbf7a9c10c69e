#include "dag.h"

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct phys_dag {
    dag_node *nodes;
    int n, cap;
    int *table;        /* open addressing over node ids, -1 = empty */
    int table_cap;     /* power of two */
};

static void *xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size);
    if (!q) {
        fputs("physc: out of memory\n", stderr);
        exit(70);
    }
    return q;
}

phys_dag *dag_create(void)
{
    phys_dag *d = xrealloc(NULL, sizeof *d);
    memset(d, 0, sizeof *d);
    d->table_cap = 1024;
    d->table = xrealloc(NULL, sizeof *d->table * (size_t)d->table_cap);
    memset(d->table, -1, sizeof *d->table * (size_t)d->table_cap);
    return d;
}

void dag_destroy(phys_dag *d)
{
    if (!d) return;
    free(d->nodes);
    free(d->table);
    free(d);
}

int dag_size(const phys_dag *d)
{
    return d->n;
}

const dag_node *dag_at(const phys_dag *d, int id)
{
    return &d->nodes[id];
}

const char *dag_op_name(dag_op op)
{
    static const char *const names[X_OP_COUNT] = {
        "const", "coord", "param", "stream", "seed", "input", "net", "add", "sub", "mul", "div",
        "neg", "pow", "powi", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh",
        "tanh", "exp", "log", "sqrt", "abs", "sign", "erf", "erfc", "sigmoid", "softplus", "gelu", "silu",
        "relu", "step", "sinpi", "cospi", "min", "max", "lt", "le", "gt", "ge", "ne", "and", "or", "not", "select",
    };
    return op < X_OP_COUNT ? names[op] : "?";
}

static uint64_t hash_node(const dag_node *n)
{
    uint64_t h = 1469598103934665603ull;
    uint64_t bits;
    memcpy(&bits, &n->value, sizeof bits);
    uint64_t parts[6] = {(uint64_t)n->op, (uint64_t)(uint32_t)n->a, (uint64_t)(uint32_t)n->b,
                         (uint64_t)(uint32_t)n->c, (uint64_t)(uint32_t)n->index, bits};
    for (int i = 0; i < 6; i++) h = (h ^ parts[i]) * 1099511628211ull;
    for (int i = 0; i < DAG_MAX_INPUTS; i++) h = (h ^ n->alpha[i]) * 1099511628211ull;
    /* the table takes the low bits, which the multiplications fill from the
     * low bits of the parts only: mix the high bits down (constants such as
     * 1.0, 2.0, 3.0 differ only in their high bits) */
    h ^= h >> 31;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 29;
    return h;
}

static int same_node(const dag_node *x, const dag_node *y)
{
    return x->op == y->op && x->a == y->a && x->b == y->b && x->c == y->c && x->index == y->index &&
           memcmp(&x->value, &y->value, sizeof x->value) == 0 && !memcmp(x->alpha, y->alpha, sizeof x->alpha);
}

static void rehash(phys_dag *d)
{
    d->table_cap *= 2;
    d->table = xrealloc(d->table, sizeof *d->table * (size_t)d->table_cap);
    memset(d->table, -1, sizeof *d->table * (size_t)d->table_cap);
    for (int id = 0; id < d->n; id++) {
        size_t slot = hash_node(&d->nodes[id]) & (size_t)(d->table_cap - 1);
        while (d->table[slot] >= 0) slot = (slot + 1) & (size_t)(d->table_cap - 1);
        d->table[slot] = id;
    }
}

/* The one node equal to *proto, made if new. */
static int intern(phys_dag *d, const dag_node *proto)
{
    if (2 * (d->n + 1) > d->table_cap) rehash(d);
    size_t slot = hash_node(proto) & (size_t)(d->table_cap - 1);
    while (d->table[slot] >= 0) {
        if (same_node(&d->nodes[d->table[slot]], proto)) return d->table[slot];
        slot = (slot + 1) & (size_t)(d->table_cap - 1);
    }
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 256;
        d->nodes = xrealloc(d->nodes, sizeof *d->nodes * (size_t)d->cap);
    }
    d->nodes[d->n] = *proto;
    d->table[slot] = d->n;
    return d->n++;
}

static dag_node proto_of(dag_op op, int a, int b, int c)
{
    dag_node n;
    memset(&n, 0, sizeof n);
    n.op = op;
    n.a = a;
    n.b = b;
    n.c = c;
    return n;
}

int dag_const(phys_dag *d, double value)
{
    dag_node n = proto_of(X_CONST, -1, -1, -1);
    n.value = value == 0 ? 0.0 : value; /* one zero: -0 and 0 share a node */
    return intern(d, &n);
}

int dag_leaf(phys_dag *d, dag_op op, int index)
{
    dag_node n = proto_of(op, -1, -1, -1);
    n.index = index;
    return intern(d, &n);
}

int dag_net(phys_dag *d, const unsigned char *alpha, int output)
{
    dag_node n = proto_of(X_NET, -1, -1, -1);
    n.index = output;
    memcpy(n.alpha, alpha, DAG_MAX_INPUTS);
    return intern(d, &n);
}

int dag_is_const(const phys_dag *d, int id, double v)
{
    return d->nodes[id].op == X_CONST && d->nodes[id].value == v;
}

static int is_const(const phys_dag *d, int id, double *v)
{
    if (d->nodes[id].op != X_CONST) return 0;
    *v = d->nodes[id].value;
    return 1;
}

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* Value of a unary function at a constant, for folding. */
static double fold_unary(dag_op op, double x)
{
    switch (op) {
    case X_NEG: return -x;
    case X_SIN: return sin(x);
    case X_COS: return cos(x);
    case X_TAN: return tan(x);
    case X_ASIN: return asin(x);
    case X_ACOS: return acos(x);
    case X_ATAN: return atan(x);
    case X_SINH: return sinh(x);
    case X_COSH: return cosh(x);
    case X_TANH: return tanh(x);
    case X_EXP: return exp(x);
    case X_LOG: return log(x);
    case X_SQRT: return sqrt(x);
    case X_ABS: return fabs(x);
    case X_SIGN: return (x > 0) - (x < 0);
    case X_ERF: return erf(x);
    case X_ERFC: return erfc(x);
    case X_SIGMOID: return sigmoid(x);
    case X_SOFTPLUS: return x > 30 ? x : log1p(exp(x));
    case X_GELU: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    case X_SILU: return x * sigmoid(x);
    case X_RELU: return x > 0 ? x : 0;
    case X_STEP: return x > 0;
    case X_SINPI: return sin(3.14159265358979323846 * x);
    case X_COSPI: return cos(3.14159265358979323846 * x);
    case X_NOT: return x == 0;
    default: return NAN;
    }
}

int dag_unary(phys_dag *d, dag_op op, int a)
{
    double x;
    if (is_const(d, a, &x)) return dag_const(d, fold_unary(op, x));
    if (op == X_NEG && d->nodes[a].op == X_NEG) return d->nodes[a].a;
    if (op == X_NEG && d->nodes[a].op == X_SUB) /* -(x - y) = y - x */
        return dag_binary(d, X_SUB, d->nodes[a].b, d->nodes[a].a);
    dag_node n = proto_of(op, a, -1, -1);
    return intern(d, &n);
}

int dag_powi(phys_dag *d, int a, int k)
{
    double x;
    if (k == 0) return dag_const(d, 1.0);
    if (k == 1) return a;
    if (is_const(d, a, &x)) return dag_const(d, pow(x, k));
    dag_node n = proto_of(X_POWI, a, -1, -1);
    n.index = k;
    return intern(d, &n);
}

int dag_binary(phys_dag *d, dag_op op, int a, int b)
{
    double x = 0, y = 0;
    int ca = is_const(d, a, &x), cb = is_const(d, b, &y);
    if (ca && cb) {
        switch (op) {
        case X_ADD: return dag_const(d, x + y);
        case X_SUB: return dag_const(d, x - y);
        case X_MUL: return dag_const(d, x * y);
        case X_DIV: return dag_const(d, x / y);
        case X_POW: return dag_const(d, pow(x, y));
        case X_ATAN2: return dag_const(d, atan2(x, y));
        case X_MIN: return dag_const(d, x < y ? x : y);
        case X_MAX: return dag_const(d, x > y ? x : y);
        case X_LT: return dag_const(d, x < y);
        case X_LE: return dag_const(d, x <= y);
        case X_GT: return dag_const(d, x > y);
        case X_GE: return dag_const(d, x >= y);
        case X_NE: return dag_const(d, x != y);
        case X_AND: return dag_const(d, x != 0 && y != 0);
        case X_OR: return dag_const(d, x != 0 || y != 0);
        default: break;
        }
    }
    switch (op) {
    case X_ADD:
        if (ca && x == 0) return b;
        if (cb && y == 0) return a;
        if (d->nodes[b].op == X_NEG) return dag_binary(d, X_SUB, a, d->nodes[b].a);
        if (a > b) { int t = a; a = b; b = t; } /* commutative: one order */
        break;
    case X_SUB:
        if (cb && y == 0) return a;
        if (ca && x == 0) return dag_unary(d, X_NEG, b);
        if (a == b) return dag_const(d, 0.0);
        if (d->nodes[b].op == X_NEG) return dag_binary(d, X_ADD, a, d->nodes[b].a);
        break;
    case X_MUL:
        if ((ca && x == 0) || (cb && y == 0)) return dag_const(d, 0.0);
        if (ca && x == 1) return b;
        if (cb && y == 1) return a;
        if (ca && x == -1) return dag_unary(d, X_NEG, b);
        if (cb && y == -1) return dag_unary(d, X_NEG, a);
        if (a == b) return dag_powi(d, a, 2);
        if (a > b) { int t = a; a = b; b = t; }
        break;
    case X_DIV:
        if (cb && y == 1) return a;
        if (ca && x == 0) return dag_const(d, 0.0);
        if (cb && y != 0) return dag_binary(d, X_MUL, a, dag_const(d, 1.0 / y));
        break;
    case X_POW:
        if (cb && y == floor(y) && fabs(y) <= 64) return dag_powi(d, a, (int)y);
        break;
    default:
        break;
    }
    dag_node n = proto_of(op, a, b, -1);
    return intern(d, &n);
}

int dag_select(phys_dag *d, int cond, int a, int b)
{
    double x;
    if (is_const(d, cond, &x)) return x != 0 ? a : b;
    if (a == b) return a;
    dag_node n = proto_of(X_SELECT, cond, a, b);
    return intern(d, &n);
}

/* Local partial derivatives of node id: d id / d child[k] = partial[k]. */
static int partials(phys_dag *d, int id, int child[3], int partial[3])
{
    dag_node n = d->nodes[id]; /* copy: the array may move below */
    int a = n.a, b = n.b;
    int one = dag_const(d, 1.0);
    switch (n.op) {
    case X_ADD:
        child[0] = a, partial[0] = one, child[1] = b, partial[1] = one;
        return 2;
    case X_SUB:
        child[0] = a, partial[0] = one, child[1] = b, partial[1] = dag_const(d, -1.0);
        return 2;
    case X_MUL:
        child[0] = a, partial[0] = b, child[1] = b, partial[1] = a;
        return 2;
    case X_DIV:
        child[0] = a, partial[0] = dag_binary(d, X_DIV, one, b);
        child[1] = b, partial[1] = dag_unary(d, X_NEG, dag_binary(d, X_DIV, id, b));
        return 2;
    case X_NEG:
        child[0] = a, partial[0] = dag_const(d, -1.0);
        return 1;
    case X_POW:
        child[0] = a;
        partial[0] = dag_binary(d, X_MUL, b, dag_binary(d, X_POW, a, dag_binary(d, X_SUB, b, one)));
        child[1] = b, partial[1] = dag_binary(d, X_MUL, id, dag_unary(d, X_LOG, a));
        return 2;
    case X_POWI:
        child[0] = a;
        partial[0] = dag_binary(d, X_MUL, dag_const(d, n.index), dag_powi(d, a, n.index - 1));
        return 1;
    case X_SIN: child[0] = a, partial[0] = dag_unary(d, X_COS, a); return 1;
    case X_SINPI:
        child[0] = a, partial[0] = dag_binary(d, X_MUL, dag_const(d, 3.14159265358979323846), dag_unary(d, X_COSPI, a));
        return 1;
    case X_COSPI:
        child[0] = a, partial[0] = dag_binary(d, X_MUL, dag_const(d, -3.14159265358979323846), dag_unary(d, X_SINPI, a));
        return 1;
    case X_COS: child[0] = a, partial[0] = dag_unary(d, X_NEG, dag_unary(d, X_SIN, a)); return 1;
    case X_TAN: child[0] = a, partial[0] = dag_binary(d, X_ADD, one, dag_powi(d, id, 2)); return 1;
    case X_ASIN:
    case X_ACOS: {
        int p = dag_binary(d, X_DIV, one, dag_unary(d, X_SQRT, dag_binary(d, X_SUB, one, dag_powi(d, a, 2))));
        child[0] = a, partial[0] = n.op == X_ASIN ? p : dag_unary(d, X_NEG, p);
        return 1;
    }
    case X_ATAN:
        child[0] = a, partial[0] = dag_binary(d, X_DIV, one, dag_binary(d, X_ADD, one, dag_powi(d, a, 2)));
        return 1;
    case X_ATAN2: { /* atan2(y = a, x = b) */
        int r2 = dag_binary(d, X_ADD, dag_powi(d, a, 2), dag_powi(d, b, 2));
        child[0] = a, partial[0] = dag_binary(d, X_DIV, b, r2);
        child[1] = b, partial[1] = dag_unary(d, X_NEG, dag_binary(d, X_DIV, a, r2));
        return 2;
    }
    case X_SINH: child[0] = a, partial[0] = dag_unary(d, X_COSH, a); return 1;
    case X_COSH: child[0] = a, partial[0] = dag_unary(d, X_SINH, a); return 1;
    case X_TANH: child[0] = a, partial[0] = dag_binary(d, X_SUB, one, dag_powi(d, id, 2)); return 1;
    case X_EXP: child[0] = a, partial[0] = id; return 1;
    case X_LOG: child[0] = a, partial[0] = dag_binary(d, X_DIV, one, a); return 1;
    case X_SQRT: child[0] = a, partial[0] = dag_binary(d, X_DIV, dag_const(d, 0.5), id); return 1;
    case X_ABS: child[0] = a, partial[0] = dag_unary(d, X_SIGN, a); return 1;
    case X_ERF:
    case X_ERFC: /* +-2/sqrt(pi) exp(-a^2) */
        child[0] = a;
        partial[0] = dag_binary(d, X_MUL, dag_const(d, n.op == X_ERF ? 1.1283791670955126 : -1.1283791670955126),
                                dag_unary(d, X_EXP, dag_unary(d, X_NEG, dag_powi(d, a, 2))));
        return 1;
    case X_SIGMOID:
        child[0] = a, partial[0] = dag_binary(d, X_MUL, id, dag_binary(d, X_SUB, one, id));
        return 1;
    case X_SOFTPLUS: child[0] = a, partial[0] = dag_unary(d, X_SIGMOID, a); return 1;
    case X_GELU: { /* Phi(a) + a phi(a) */
        int cdf = dag_binary(d, X_MUL, dag_const(d, 0.5),
                             dag_binary(d, X_ADD, one, dag_unary(d, X_ERF, dag_binary(d, X_MUL, a,
                                                                 dag_const(d, 0.70710678118654752)))));
        int pdf = dag_binary(d, X_MUL, dag_const(d, 0.39894228040143268),
                             dag_unary(d, X_EXP, dag_binary(d, X_MUL, dag_const(d, -0.5), dag_powi(d, a, 2))));
        child[0] = a, partial[0] = dag_binary(d, X_ADD, cdf, dag_binary(d, X_MUL, a, pdf));
        return 1;
    }
    case X_SILU: {
        int s = dag_unary(d, X_SIGMOID, a);
        int t = dag_binary(d, X_MUL, a, dag_binary(d, X_MUL, s, dag_binary(d, X_SUB, one, s)));
        child[0] = a, partial[0] = dag_binary(d, X_ADD, s, t);
        return 1;
    }
    case X_RELU: child[0] = a, partial[0] = dag_unary(d, X_STEP, a); return 1;
    case X_MIN:
    case X_MAX: {
        int first = dag_binary(d, n.op == X_MIN ? X_LE : X_GE, a, b);
        child[0] = a, partial[0] = first;
        child[1] = b, partial[1] = dag_binary(d, X_SUB, one, first);
        return 2;
    }
    case X_SELECT:
        child[0] = n.b, partial[0] = dag_select(d, a, one, dag_const(d, 0.0));
        child[1] = n.c, partial[1] = dag_select(d, a, dag_const(d, 0.0), one);
        return 2;
    default: /* leaves, sign, step, comparisons and logic: no derivative */
        return 0;
    }
}

typedef struct {
    int *memo;
    int cap;
} memo_map;

static int *memo_slot(memo_map *m, int id)
{
    if (id >= m->cap) {
        int cap = m->cap ? m->cap : 256;
        while (cap <= id) cap *= 2;
        m->memo = xrealloc(m->memo, sizeof *m->memo * (size_t)cap);
        for (int i = m->cap; i < cap; i++) m->memo[i] = -2;
        m->cap = cap;
    }
    return &m->memo[id];
}

static int is_leaf(dag_op op)
{
    return op <= X_NET;
}

typedef struct {
    dag_leaf_fn leaf;
    void *ctx;
    memo_map memo;
} walk;

static int diff_rec(phys_dag *d, int id, walk *w)
{
    int *slot = memo_slot(&w->memo, id);
    if (*slot != -2) return *slot;
    dag_node n = d->nodes[id];
    int result;
    if (n.op == X_CONST) {
        result = dag_const(d, 0.0);
    } else if (is_leaf(n.op)) {
        result = w->leaf(w->ctx, &n);
    } else if (n.op == X_SELECT) { /* select(c, a, b)' = select(c, a', b') */
        int da = diff_rec(d, n.b, w), db = diff_rec(d, n.c, w);
        result = dag_select(d, n.a, da, db);
    } else {
        int child[3], partial[3];
        int k = partials(d, id, child, partial);
        result = dag_const(d, 0.0);
        for (int i = 0; i < k; i++) {
            int dc = diff_rec(d, child[i], w);
            if (dag_is_const(d, dc, 0.0)) continue;
            result = dag_binary(d, X_ADD, result, dag_binary(d, X_MUL, partial[i], dc));
        }
    }
    *memo_slot(&w->memo, id) = result;
    return result;
}

int dag_diff_by(phys_dag *d, int node, dag_leaf_fn leaf_derivative, void *ctx)
{
    walk w = {leaf_derivative, ctx, {NULL, 0}};
    int r = diff_rec(d, node, &w);
    free(w.memo.memo);
    return r;
}

typedef struct {
    phys_dag *dag;
    int input;
    int *too_high;
} body_diff;

/* d(leaf)/d X_INPUT(input) in a field body: X_NET leaves step up one order. */
static int body_leaf_derivative(void *ctx, const dag_node *leaf)
{
    body_diff *b = ctx;
    if (leaf->op == X_INPUT) return dag_const(b->dag, leaf->index == b->input ? 1.0 : 0.0);
    if (leaf->op != X_NET) return dag_const(b->dag, 0.0);
    int order = 0;
    for (int i = 0; i < DAG_MAX_INPUTS; i++) order += leaf->alpha[i];
    if (order >= DAG_MAX_ORDER) {
        *b->too_high = 1;
        return dag_const(b->dag, 0.0);
    }
    unsigned char alpha[DAG_MAX_INPUTS];
    memcpy(alpha, leaf->alpha, sizeof alpha);
    alpha[b->input]++;
    return dag_net(b->dag, alpha, leaf->index);
}

int dag_diff(phys_dag *d, int node, int input, int *too_high)
{
    body_diff b = {d, input, too_high};
    return dag_diff_by(d, node, body_leaf_derivative, &b);
}

static int rewrite_rec(phys_dag *d, int id, walk *w)
{
    int *slot = memo_slot(&w->memo, id);
    if (*slot != -2) return *slot;
    dag_node n = d->nodes[id];
    int r;
    if (n.op == X_CONST) {
        r = id;
    } else if (is_leaf(n.op)) {
        r = w->leaf(w->ctx, &n);
        if (r < 0) r = id;
    } else if (n.op == X_SELECT) {
        int a = rewrite_rec(d, n.a, w), b = rewrite_rec(d, n.b, w);
        r = dag_select(d, a, b, rewrite_rec(d, n.c, w));
    } else if (n.op == X_POWI) {
        r = dag_powi(d, rewrite_rec(d, n.a, w), n.index);
    } else if (n.b >= 0) {
        int a = rewrite_rec(d, n.a, w);
        r = dag_binary(d, n.op, a, rewrite_rec(d, n.b, w));
    } else {
        r = dag_unary(d, n.op, rewrite_rec(d, n.a, w));
    }
    *memo_slot(&w->memo, id) = r;
    return r;
}

int dag_rewrite(phys_dag *d, int node, dag_leaf_fn replace, void *ctx)
{
    walk w = {replace, ctx, {NULL, 0}};
    int r = rewrite_rec(d, node, &w);
    free(w.memo.memo);
    return r;
}

typedef struct {
    const int *inputs;
    dag_net_fn net;
    void *ctx;
} body_subst;

static int body_leaf_substitute(void *ctx, const dag_node *leaf)
{
    body_subst *b = ctx;
    if (leaf->op == X_INPUT) return b->inputs[leaf->index];
    if (leaf->op == X_NET) return b->net(b->ctx, leaf->alpha, leaf->index);
    return -1;
}

int dag_substitute(phys_dag *d, int node, const int *inputs, dag_net_fn net, void *ctx)
{
    body_subst b = {inputs, net, ctx};
    return dag_rewrite(d, node, body_leaf_substitute, &b);
}

void dag_reverse(phys_dag *d, int n_outputs, const int *outputs, const int *seeds, int *adjoint)
{
    int size = d->n;
    for (int i = 0; i < size; i++) adjoint[i] = -1;
    for (int k = 0; k < n_outputs; k++) {
        int o = outputs[k];
        adjoint[o] = adjoint[o] < 0 ? seeds[k] : dag_binary(d, X_ADD, adjoint[o], seeds[k]);
    }
    for (int id = size - 1; id >= 0; id--) {
        if (adjoint[id] < 0) continue;
        int child[3], partial[3];
        int k = partials(d, id, child, partial);
        for (int i = 0; i < k; i++) {
            int contrib = dag_binary(d, X_MUL, adjoint[id], partial[i]);
            int c = child[i];
            adjoint[c] = adjoint[c] < 0 ? contrib : dag_binary(d, X_ADD, adjoint[c], contrib);
        }
    }
}
