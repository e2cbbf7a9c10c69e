#define _DEFAULT_SOURCE /* realpath */
/* The lowering pass: checked AST -> lw_model (see lower.h). Every
 * expression becomes a small tensor (scalar, vector or matrix) of DAG nodes;
 * a field evaluated somewhere becomes a probe of its network, and each
 * derivative of it a stream of that probe, obtained by differentiating the
 * field's body (its hard-constraint transform around the network) with
 * dag_diff and substituting the probe's inputs. */
#include "lower.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "sema_internal.h"
#include "physmodel.h"

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
    uintptr_t stack_base;          /* where lowering started ... */
    size_t stack_budget;           /* ... and how much stack it may use below that */
} lctx;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fputs("physc: out of memory\n", stderr);
        exit(70);
    }
    return p;
}

static tensor failed(void)
{
    tensor t;
    memset(&t, 0, sizeof t);
    t.rank = -1;
    return t;
}

static tensor scalar_of(int node)
{
    tensor t;
    memset(&t, 0, sizeof t);
    t.n = 1;
    t.el[0] = node;
    return t;
}

static tensor unsupported(lctx *c, const phys_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static tensor unsupported(lctx *c, const phys_node *at, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    phys_error(c->diag, at->loc, "not supported yet: %s", what);
    return failed();
}

static const binding *find_binding(const lctx *c, const char *name)
{
    for (int i = c->n_bindings - 1; i >= 0; i--)
        if (!strcmp(c->bindings[i].name, name)) return &c->bindings[i];
    return NULL;
}

static int bind(lctx *c, const phys_node *at, const char *name, tensor value)
{
    if (c->n_bindings == MAX_BINDINGS) {
        unsupported(c, at, "more than %d nested names", MAX_BINDINGS);
        return 0;
    }
    c->bindings[c->n_bindings].name = name;
    c->bindings[c->n_bindings].value = value;
    c->n_bindings++;
    return 1;
}

static tensor lower_expr(lctx *c, const phys_node *e);

/* Deep expressions recurse: lowering may use the stack below the caller
 * but for 2 MiB (half of a stack under 4 MiB) left to the symbolic
 * derivatives it runs and to its callers, and says so when an expression
 * needs more. */
static void set_stack_budget(lctx *c)
{
    char here;
    struct rlimit rl;
    size_t limit = 8u << 20;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (64u << 20))
        limit = (size_t)rl.rlim_cur;
    else if (getrlimit(RLIMIT_STACK, &rl) == 0)
        limit = 64u << 20;
    c->stack_base = (uintptr_t)&here;
    c->stack_budget = limit > (4u << 20) ? limit - (2u << 20) : limit / 2;
}

/* ---------------------------------------------------------------- probes */

static int field_index(const lctx *c, const phys_symbol *sym)
{
    for (int i = 0; i < c->m->n_fields; i++)
        if (c->m->fields[i].sym == sym) return i;
    return -1;
}

static int find_probe(lctx *c, int field, const int *inputs)
{
    lw_term *t = c->term;
    const lw_field *f = &c->m->fields[field];
    for (int i = 0; i < t->n_probes; i++)
        if (t->probes[i].field == field && !memcmp(t->probes[i].inputs, inputs, sizeof(int) * (size_t)f->n_inputs))
            return i;
    t->probes = realloc(t->probes, sizeof *t->probes * (size_t)(t->n_probes + 1));
    if (!t->probes) exit(70);
    lw_probe *p = &t->probes[t->n_probes];
    memset(p, 0, sizeof *p);
    p->field = field;
    memcpy(p->inputs, inputs, sizeof(int) * (size_t)f->n_inputs);
    p->n_streams = 1; /* the value stream, always first */
    return t->n_probes++;
}

/* The stream slot (probe, stream alpha, output) of the current term as an
 * X_STREAM leaf, registering the stream and the slot on first use. */
static int stream_slot(lctx *c, int probe, const unsigned char *alpha, int output, int *overflow)
{
    lw_term *t = c->term;
    lw_probe *p = &t->probes[probe];
    int s = 0;
    while (s < p->n_streams && memcmp(p->streams[s], alpha, DAG_MAX_INPUTS)) s++;
    if (s == p->n_streams) {
        if (p->n_streams == MAX_STREAMS_PER_PROBE) {
            *overflow = 1;
            s = 0;
        } else {
            memcpy(p->streams[p->n_streams++], alpha, DAG_MAX_INPUTS);
        }
    }
    int slot = 0;
    while (slot < t->n_slots &&
           !(t->slots[slot].probe == probe && t->slots[slot].stream == s && t->slots[slot].output == output))
        slot++;
    if (slot == t->n_slots) {
        t->slots = realloc(t->slots, sizeof *t->slots * (size_t)(t->n_slots + 1));
        if (!t->slots) exit(70);
        t->slots[slot].probe = probe;
        t->slots[slot].stream = s;
        t->slots[slot].output = output;
        t->n_slots++;
    }
    return dag_leaf(c->dag, X_STREAM, slot);
}

typedef struct {
    lctx *c;
    int probe;
    int overflow;
} probe_ref;

/* dag_substitute callback: the network stream alpha of the probe becomes a
 * stream slot of the term. */
static int stream_leaf(void *ctx, const unsigned char *alpha, int output)
{
    probe_ref *ref = ctx;
    return stream_slot(ref->c, ref->probe, alpha, output, &ref->overflow);
}

/* Field `f` (with derivative variables vars[0..n_vars)) at the given input
 * nodes: one element per output. */
static tensor field_at(lctx *c, const phys_node *at, const phys_symbol *sym, const int *inputs, const int *vars,
                       int n_vars)
{
    int fi = field_index(c, sym);
    if (fi < 0) return failed(); /* its declaration failed to lower: reported there */
    if (!c->term) return unsupported(c, at, "a field used inside the definition of another field");
    const lw_field *f = &c->m->fields[fi];
    probe_ref ref = {c, find_probe(c, fi, inputs), 0};
    tensor out;
    memset(&out, 0, sizeof out);
    out.rank = f->n_outputs > 1;
    out.dims[0] = f->n_outputs > 1 ? f->n_outputs : 0;
    out.n = f->n_outputs;
    for (int o = 0; o < f->n_outputs; o++) {
        int node = f->body[o];
        int too_high = 0;
        for (int k = 0; k < n_vars; k++) node = dag_diff(c->dag, node, vars[k], &too_high);
        if (too_high) return unsupported(c, at, "derivatives of order above %d", DAG_MAX_ORDER);
        out.el[o] = dag_substitute(c->dag, node, inputs, stream_leaf, &ref);
    }
    if (ref.overflow) return unsupported(c, at, "more than %d derivative streams of one field", MAX_STREAMS_PER_PROBE);
    return out;
}

/* The inputs of a field where it is used bare: bound names of its inputs. */
/* How many network inputs formal i of a field takes: a vector state gives
 * one per element. */
static int formal_width(lctx *c, const phys_symbol *sym, int i)
{
    const phys_symbol *g = sym->kind == SYM_FIELD ? phys_sema_lookup(c->sema, sym->inputs[i]) : NULL;
    return g && g->kind == SYM_STATE && g->shape.rank == 1 ? g->shape.dims[0] : 1;
}

/* Is formal i of a field a vector state (q[n], even of one number)? */
static int formal_is_vector(lctx *c, const phys_symbol *sym, int i)
{
    const phys_symbol *g = sym->kind == SYM_FIELD ? phys_sema_lookup(c->sema, sym->inputs[i]) : NULL;
    return g && g->kind == SYM_STATE && g->shape.rank == 1;
}

static int bound_inputs(lctx *c, const phys_node *at, const phys_symbol *sym, int *inputs)
{
    int n = 0;
    for (int i = 0; i < sym->n_inputs; i++) {
        const binding *b = find_binding(c, sym->inputs[i]);
        int width = formal_width(c, sym, i);
        if (!b || b->value.n != width || (!formal_is_vector(c, sym, i) && b->value.rank != 0) ||
            n + width > DAG_MAX_INPUTS) {
            unsupported(c, at, "field %s used where its input '%s' is not a coordinate", sym->name, sym->inputs[i]);
            return 0;
        }
        memcpy(inputs + n, b->value.el, sizeof(int) * (size_t)width);
        n += width;
    }
    return 1;
}

static int input_position(lctx *c, const phys_symbol *sym, const char *name)
{
    int n = 0;
    for (int i = 0; i < sym->n_inputs; i++) {
        if (!strcmp(sym->inputs[i], name)) return n;
        n += formal_width(c, sym, i);
    }
    return -1;
}

/* --------------------------------------------- derivatives through probes */

/* Gradients with respect to states and particle positions (dH/dp, -grad(V,
 * r)) differentiate expressions that evaluate fields at points depending on
 * those values. The values are first bound to placeholder leaves; the
 * expression is differentiated with the chain rule through each probe
 * (d stream / d x = sum_k stream(alpha + e_k) * d input_k / d x); then the
 * placeholders are replaced by the real values, which re-probes the fields
 * there. Probes left without use are pruned when the term is done. */

enum { PLACEHOLDER_BASE = 1 << 20 };

static int placeholder(lctx *c)
{
    c->prune = 1;
    return dag_leaf(c->dag, X_INPUT, PLACEHOLDER_BASE + c->n_placeholders++);
}

static int total_diff(lctx *c, int node, int var, int *bad);

typedef struct {
    lctx *c;
    dag_node var;
    int *bad;
} chain_ctx;

static int chain_leaf(void *ctx, const dag_node *leaf)
{
    chain_ctx *k = ctx;
    lctx *c = k->c;
    if (leaf->op != X_STREAM) return dag_const(c->dag, leaf->op == k->var.op && leaf->index == k->var.index);
    lw_slot s = c->term->slots[leaf->index];
    int n_in = c->m->fields[c->term->probes[s.probe].field].n_inputs;
    unsigned char alpha[DAG_MAX_INPUTS];
    memcpy(alpha, c->term->probes[s.probe].streams[s.stream], DAG_MAX_INPUTS);
    int order = 0;
    for (int i = 0; i < DAG_MAX_INPUTS; i++) order += alpha[i];
    int sum = dag_const(c->dag, 0.0);
    for (int i = 0; i < n_in; i++) {
        int d_input = total_diff(c, c->term->probes[s.probe].inputs[i], dag_leaf(c->dag, k->var.op, k->var.index), k->bad);
        if (dag_is_const(c->dag, d_input, 0.0)) continue;
        if (order >= DAG_MAX_ORDER) {
            *k->bad = 1;
            continue;
        }
        alpha[i]++;
        int higher = stream_slot(c, s.probe, alpha, s.output, k->bad);
        alpha[i]--;
        sum = dag_binary(c->dag, X_ADD, sum, dag_binary(c->dag, X_MUL, d_input, higher));
    }
    return sum;
}

/* d node / d var, var a leaf (a placeholder or a coordinate); *bad is set
 * past the derivative order the runtime computes. */
static int total_diff(lctx *c, int node, int var, int *bad)
{
    chain_ctx k = {c, *dag_at(c->dag, var), bad};
    return dag_diff_by(c->dag, node, chain_leaf, &k);
}

typedef struct {
    lctx *c;
    int n;
    const int *from, *to;          /* placeholder leaves and their values */
    int bad;
} rebind_ctx;

static int rebind_leaf(void *ctx, const dag_node *leaf)
{
    rebind_ctx *r = ctx;
    lctx *c = r->c;
    if (leaf->op == X_INPUT) {
        for (int i = 0; i < r->n; i++)
            if (dag_at(c->dag, r->from[i])->index == leaf->index) return r->to[i];
        return -1;
    }
    if (leaf->op != X_STREAM) return -1;
    lw_slot s = c->term->slots[leaf->index];
    int field = c->term->probes[s.probe].field;
    int n_in = c->m->fields[field].n_inputs, inputs[DAG_MAX_INPUTS], changed = 0;
    for (int i = 0; i < n_in; i++) {
        int old = c->term->probes[s.probe].inputs[i];
        inputs[i] = dag_rewrite(c->dag, old, rebind_leaf, r);
        changed |= inputs[i] != old;
    }
    if (!changed) return -1;
    unsigned char alpha[DAG_MAX_INPUTS];
    memcpy(alpha, c->term->probes[s.probe].streams[s.stream], DAG_MAX_INPUTS);
    return stream_slot(c, find_probe(c, field, inputs), alpha, s.output, &r->bad);
}

/* node with the placeholders from[k] replaced by to[k]. */
static int rebind_placeholders(lctx *c, int node, int n, const int *from, const int *to, int *bad)
{
    rebind_ctx r = {c, n, from, to, 0};
    int out = dag_rewrite(c->dag, node, rebind_leaf, &r);
    *bad |= r.bad;
    return out;
}

static void mark_slots(lctx *c, int node, char *seen, int *slot_map)
{
    if (seen[node]) return;
    seen[node] = 1;
    const dag_node *n = dag_at(c->dag, node);
    if (n->op == X_STREAM) {
        if (slot_map[n->index] >= 0) return;
        slot_map[n->index] = 1;
        const lw_probe *p = &c->term->probes[c->term->slots[n->index].probe];
        for (int i = 0; i < c->m->fields[p->field].n_inputs; i++) mark_slots(c, p->inputs[i], seen, slot_map);
        return;
    }
    int kids[3] = {n->a, n->b, n->c};
    for (int k = 0; k < 3; k++)
        if (kids[k] >= 0 && n->op > X_NET) mark_slots(c, kids[k], seen, slot_map);
}

typedef struct {
    lctx *c;
    const int *slot_map;
} slot_rename;

static int rename_slot(void *ctx, const dag_node *leaf)
{
    slot_rename *r = ctx;
    if (leaf->op != X_STREAM) return -1;
    return dag_leaf(r->c->dag, X_STREAM, r->slot_map[leaf->index]);
}

/* Drops the probes, streams and slots the residuals do not reach (left by
 * placeholders), renumbering what stays. */
static void prune_term(lctx *c, lw_term *t)
{
    if (!c->prune) return;
    c->prune = 0;
    lw_term *saved = c->term;
    c->term = t;
    int size = dag_size(c->dag);
    char *seen = xcalloc((size_t)size, 1);
    int *slot_map = xcalloc((size_t)t->n_slots + 1, sizeof(int));
    int *probe_map = xcalloc((size_t)t->n_probes + 1, sizeof(int));
    for (int i = 0; i < t->n_slots; i++) slot_map[i] = -1;
    for (int j = 0; j < t->n_residuals; j++) mark_slots(c, t->residuals[j], seen, slot_map);
    /* kept probes, and within each the value stream and the streams used */
    for (int p = 0; p < t->n_probes; p++) probe_map[p] = -1;
    for (int i = 0; i < t->n_slots; i++)
        if (slot_map[i] >= 0) probe_map[t->slots[i].probe] = 1;
    int n_probes = 0;
    int (*stream_map)[MAX_STREAMS_PER_PROBE] = xcalloc((size_t)t->n_probes + 1, sizeof *stream_map);
    for (int p = 0; p < t->n_probes; p++) {
        if (probe_map[p] < 0) continue;
        lw_probe *probe = &t->probes[p];
        char used[MAX_STREAMS_PER_PROBE] = {1};
        for (int i = 0; i < t->n_slots; i++)
            if (slot_map[i] >= 0 && t->slots[i].probe == p) used[t->slots[i].stream] = 1;
        int n_streams = 0;
        for (int st = 0; st < probe->n_streams; st++) {
            stream_map[p][st] = used[st] ? n_streams : -1;
            if (used[st]) memmove(probe->streams[n_streams++], probe->streams[st], DAG_MAX_INPUTS);
        }
        probe->n_streams = n_streams;
        probe_map[p] = n_probes;
        if (n_probes != p) t->probes[n_probes] = *probe;
        n_probes++;
    }
    int n_slots = 0;
    for (int i = 0; i < t->n_slots; i++) {
        if (slot_map[i] < 0) continue;
        lw_slot s = t->slots[i];
        t->slots[n_slots] = (lw_slot){probe_map[s.probe], stream_map[s.probe][s.stream], s.output};
        slot_map[i] = n_slots++;
    }
    t->n_probes = n_probes;
    t->n_slots = n_slots;
    slot_rename r = {c, slot_map};
    for (int j = 0; j < t->n_residuals; j++) t->residuals[j] = dag_rewrite(c->dag, t->residuals[j], rename_slot, &r);
    for (int p = 0; p < t->n_probes; p++)
        for (int i = 0; i < c->m->fields[t->probes[p].field].n_inputs; i++)
            t->probes[p].inputs[i] = dag_rewrite(c->dag, t->probes[p].inputs[i], rename_slot, &r);
    free(stream_map);
    free(probe_map);
    free(slot_map);
    free(seen);
    c->term = saved;
}

/* ------------------------------------------------------------ arithmetic */

static tensor map2(lctx *c, const phys_node *at, dag_op op, tensor a, tensor b)
{
    if (a.rank < 0 || b.rank < 0) return failed();
    if (a.n == 1 && b.n > 1) {
        tensor r = b;
        for (int i = 0; i < b.n; i++) r.el[i] = dag_binary(c->dag, op, a.el[0], b.el[i]);
        return r;
    }
    if (b.n == 1) {
        tensor r = a;
        for (int i = 0; i < a.n; i++) r.el[i] = dag_binary(c->dag, op, a.el[i], b.el[0]);
        return r;
    }
    if (a.n != b.n) return unsupported(c, at, "operands of different sizes");
    tensor r = a;
    for (int i = 0; i < a.n; i++) r.el[i] = dag_binary(c->dag, op, a.el[i], b.el[i]);
    return r;
}

static tensor map1(lctx *c, dag_op op, tensor a)
{
    if (a.rank < 0) return a;
    for (int i = 0; i < a.n; i++) a.el[i] = dag_unary(c->dag, op, a.el[i]);
    return a;
}

static tensor need_scalar(lctx *c, const phys_node *at, tensor t)
{
    if (t.rank < 0) return t;
    if (t.n != 1) return unsupported(c, at, "a vector where a scalar is needed");
    return t;
}

static dag_op math_op(const char *name)
{
    static const struct { const char *name; dag_op op; } ops[] = {
        {"sin", X_SIN}, {"cos", X_COS}, {"tan", X_TAN}, {"asin", X_ASIN}, {"acos", X_ACOS},
        {"atan", X_ATAN}, {"atan2", X_ATAN2}, {"sinh", X_SINH}, {"cosh", X_COSH}, {"tanh", X_TANH},
        {"exp", X_EXP}, {"log", X_LOG}, {"sqrt", X_SQRT}, {"abs", X_ABS}, {"sign", X_SIGN},
        {"erf", X_ERF}, {"sigmoid", X_SIGMOID}, {"softplus", X_SOFTPLUS}, {"gelu", X_GELU},
        {"silu", X_SILU}, {"relu", X_RELU}, {"pow", X_POW}, {"min", X_MIN}, {"max", X_MAX},
    };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        if (!strcmp(ops[i].name, name)) return ops[i].op;
    return X_OP_COUNT;
}

/* ------------------------------------------------------------------ calls */

static int fail_net(void *ctx, const unsigned char *alpha, int output)
{
    (void)alpha;
    (void)output;
    *(int *)ctx = 1;
    return 0;
}

/* d(f, x, ...) of a let function: its body differentiated symbolically with
 * respect to its formals, then applied to the arguments (or to the names
 * of the formals where they are bound). Bodies that evaluate fields are not
 * differentiated this way. */
static __attribute__((noinline)) tensor lower_let_derivative(lctx *c, const phys_node *op_call, const phys_symbol *sym,
                                   const phys_node *const *args, int n_args, const phys_node *at)
{
    int actual[DAG_MAX_INPUTS];
    for (int i = 0; i < sym->n_inputs; i++) {
        if (args) {
            if (n_args != sym->n_inputs) return failed();
            tensor a = need_scalar(c, args[i], lower_expr(c, args[i]));
            if (a.rank < 0) return a;
            actual[i] = a.el[0];
        } else {
            const binding *b = find_binding(c, sym->inputs[i]);
            if (!b || b->value.rank != 0)
                return unsupported(c, at, "d() of function %s where its input '%s' is not bound", sym->name,
                                   sym->inputs[i]);
            actual[i] = b->value.el[0];
        }
    }
    if (++c->depth > 64) {
        c->depth--;
        return unsupported(c, op_call, "functions nested more than 64 deep");
    }
    int saved = c->n_bindings, slots = c->term ? c->term->n_slots : 0, probes = c->term ? c->term->n_probes : 0;
    for (int i = 0; i < sym->n_inputs; i++)
        if (!bind(c, op_call, sym->inputs[i], scalar_of(dag_leaf(c->dag, X_INPUT, i)))) return failed();
    tensor body = lower_expr(c, sym->decl->kids[1]);
    c->n_bindings = saved;
    c->depth--;
    if (body.rank < 0) return body;
    if (c->term && (c->term->n_slots != slots || c->term->n_probes != probes))
        return unsupported(c, op_call, "d() of function %s, which evaluates a field: differentiate the field", sym->name);
    for (int e = 0; e < body.n; e++) {
        int node = body.el[e], too_high = 0, hit_net = 0;
        for (int k = 2; k < op_call->nkids; k++)
            node = dag_diff(c->dag, node, input_position(c, sym, op_call->kids[k]->name), &too_high);
        body.el[e] = dag_substitute(c->dag, node, actual, fail_net, &hit_net);
        if (hit_net) return unsupported(c, op_call, "d() of function %s inside a field definition", sym->name);
    }
    return body;
}

/* d(u, x, ...), grad(u), laplace(u), div(u), hessian(u), at the inputs given
 * (args) or where u's inputs are bound. */
static tensor lower_ddt(lctx *c, const phys_node *at, const phys_symbol *state);
static int wrt_state(lctx *c, const char *name);
static tensor gradient_wrt(lctx *c, const phys_node *at, const phys_symbol *sym, const char *name);

static __attribute__((noinline)) tensor lower_derivative(lctx *c, const phys_node *op_call, const phys_node *const *args, int n_args,
                               const phys_node *at)
{
    const char *op = op_call->kids[0]->name;
    const phys_node *target = op_call->kids[1];
    const phys_symbol *sym = phys_sema_lookup(c->sema, target->name);
    if (!sym) return failed();
    if (!strcmp(op, "ddt")) return lower_ddt(c, op_call, sym);
    if (!args && op_call->nkids == 3 && wrt_state(c, op_call->kids[2]->name) &&
        (!strcmp(op, "grad") || !strcmp(op, "d") || sym->kind != SYM_FIELD))
        return gradient_wrt(c, op_call, sym, op_call->kids[2]->name);
    if (sym->kind == SYM_LET && !strcmp(op, "d")) return lower_let_derivative(c, op_call, sym, args, n_args, at);
    if (sym->kind != SYM_FIELD)
        return unsupported(c, op_call, "%s() of the %s %s", op, phys_symbol_kind_name(sym->kind), sym->name);
    if (op_call->nkids == 3 && strcmp(op, "d"))
        return unsupported(c, op_call, "%s() with respect to particle positions or states", op);
    /* a vector state gives several network inputs: only d(V, q), its
     * gradient, is taken (by gradient_wrt above) */
    for (int i = 0; i < sym->n_inputs; i++) {
        if (!formal_is_vector(c, sym, i)) continue;
        if (strcmp(op, "d"))
            return unsupported(c, op_call, "%s() of field %s, whose input %s is a vector state (d(%s, %s) is its gradient)",
                               op, sym->name, sym->inputs[i], sym->name, sym->inputs[i]);
        for (int k = 2; k < op_call->nkids; k++)
            if (!strcmp(op_call->kids[k]->name, sym->inputs[i]))
                return unsupported(c, op_call, op_call->nkids > 3 ? "derivatives of order above 1 with respect to the "
                                                                    "vector state %s"
                                                                  : "d() with respect to the vector state %s at given "
                                                                    "inputs",
                                   sym->inputs[i]);
    }
    int inputs[DAG_MAX_INPUTS];
    if (args) {
        if (n_args != sym->n_inputs) return failed();
        for (int i = 0; i < n_args; i++) {
            tensor a = need_scalar(c, args[i], lower_expr(c, args[i]));
            if (a.rank < 0) return a;
            inputs[i] = a.el[0];
        }
    } else if (!bound_inputs(c, at, sym, inputs)) {
        return failed();
    }
    int n = sym->n_inputs;
    if (!strcmp(op, "d")) {
        int vars[DAG_MAX_ORDER + 1];
        int n_vars = op_call->nkids - 2;
        for (int k = 0; k < n_vars; k++) vars[k] = input_position(c, sym, op_call->kids[k + 2]->name);
        return field_at(c, op_call, sym, inputs, vars, n_vars);
    }
    tensor out;
    memset(&out, 0, sizeof out);
    if (!strcmp(op, "grad")) {
        out.rank = 1, out.dims[0] = n, out.n = n;
        for (int i = 0; i < n; i++) {
            tensor t = field_at(c, op_call, sym, inputs, &i, 1);
            if (t.rank < 0) return t;
            out.el[i] = t.el[0];
        }
        return out;
    }
    if (!strcmp(op, "laplace") || !strcmp(op, "div")) {
        int sum = dag_const(c->dag, 0.0);
        for (int i = 0; i < n; i++) {
            int vars[2] = {i, i};
            tensor t = field_at(c, op_call, sym, inputs, vars, !strcmp(op, "laplace") ? 2 : 1);
            if (t.rank < 0) return t;
            sum = dag_binary(c->dag, X_ADD, sum, t.el[!strcmp(op, "div") ? i : 0]);
        }
        return scalar_of(sum);
    }
    /* hessian */
    if (n * n > MAX_ELEMENTS) return unsupported(c, op_call, "a Hessian with more than %d entries", MAX_ELEMENTS);
    out.rank = 2, out.dims[0] = out.dims[1] = n, out.n = n * n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int vars[2] = {i, j};
            tensor t = field_at(c, op_call, sym, inputs, vars, 2);
            if (t.rank < 0) return t;
            out.el[i * n + j] = t.el[0];
        }
    return out;
}

static int is_particle_set(lctx *c, const phys_node *e)
{
    const phys_symbol *s = e->kind == N_NAME && !find_binding(c, e->name) ? phys_sema_lookup(c->sema, e->name) : NULL;
    return s && s->kind == SYM_PARTICLES;
}

static __attribute__((noinline)) tensor lower_let_call(lctx *c, const phys_symbol *sym, const phys_node *call)
{
    if (++c->depth > 64) {
        c->depth--;
        return unsupported(c, call, "functions nested more than 64 deep (a recursive let?)");
    }
    tensor args[DAG_MAX_INPUTS];
    for (int i = 0; i < sym->n_inputs; i++) {
        if (is_particle_set(c, call->kids[i + 1])) { /* its attributes are bound by name */
            args[i] = scalar_of(dag_const(c->dag, 0.0));
            continue;
        }
        args[i] = lower_expr(c, call->kids[i + 1]);
        if (args[i].rank < 0) {
            c->depth--;
            return args[i];
        }
    }
    int saved = c->n_bindings;
    for (int i = 0; i < sym->n_inputs; i++)
        if (!bind(c, call, sym->inputs[i], args[i])) {
            c->depth--;
            return failed();
        }
    tensor r = lower_expr(c, sym->decl->kids[1]);
    c->n_bindings = saved;
    c->depth--;
    return r;
}

static __attribute__((noinline)) tensor lower_network(lctx *c, const phys_node *call)
{
    if (!c->field) return unsupported(c, call, "a network outside a field");
    tensor out;
    memset(&out, 0, sizeof out);
    unsigned char zero[DAG_MAX_INPUTS] = {0};
    int n = c->field->n_outputs;
    out.rank = n > 1, out.dims[0] = n > 1 ? n : 0, out.n = n;
    for (int o = 0; o < n; o++) out.el[o] = dag_net(c->dag, zero, o);
    return out;
}

/* A field called with its inputs. */
static __attribute__((noinline)) tensor lower_field_call(lctx *c, const phys_symbol *sym, const phys_node *e)
{
    int nargs = e->nkids - 1, n = 0;
    int inputs[DAG_MAX_INPUTS];
    for (int i = 0; i < nargs && i < DAG_MAX_INPUTS; i++) {
        int width = formal_width(c, sym, i);
        tensor a = lower_expr(c, e->kids[i + 1]);
        if (a.rank < 0) return a;
        if (a.n != width || n + width > DAG_MAX_INPUTS) return unsupported(c, e->kids[i + 1], "this argument's size");
        memcpy(inputs + n, a.el, sizeof(int) * (size_t)width);
        n += width;
    }
    return field_at(c, e, sym, inputs, NULL, 0);
}

static tensor lower_pair_geometry(lctx *c, const char *name, const phys_node *e);

/* Math and vector built-ins. */
static __attribute__((noinline)) tensor lower_builtin_call(lctx *c, const char *name, const phys_node *e)
{
    int nargs = e->nkids - 1;
    dag_op op = math_op(name);
    if (op != X_OP_COUNT) {
        tensor a = lower_expr(c, e->kids[1]);
        if (nargs == 2) return map2(c, e, op, a, need_scalar(c, e->kids[2], lower_expr(c, e->kids[2])));
        return map1(c, op, a);
    }
    if (!strcmp(name, "dot") || !strcmp(name, "norm")) {
        tensor a = lower_expr(c, e->kids[1]);
        tensor b = nargs == 2 ? lower_expr(c, e->kids[2]) : a;
        if (a.rank < 0 || b.rank < 0) return failed();
        if (a.n != b.n) return unsupported(c, e, "dot() of vectors of different lengths");
        int sum = dag_const(c->dag, 0.0);
        for (int i = 0; i < a.n; i++) sum = dag_binary(c->dag, X_ADD, sum, dag_binary(c->dag, X_MUL, a.el[i], b.el[i]));
        return scalar_of(!strcmp(name, "norm") ? dag_unary(c->dag, X_SQRT, sum) : sum);
    }
    if (!strcmp(name, "dist") || !strcmp(name, "unit") || !strcmp(name, "disp")) return lower_pair_geometry(c, name, e);
    if (!strcmp(name, "cross")) {
        tensor a = lower_expr(c, e->kids[1]), b = lower_expr(c, e->kids[2]);
        if (a.rank < 0 || b.rank < 0) return failed();
        if (a.n != 3 || b.n != 3) return unsupported(c, e, "cross() of vectors that are not 3-vectors");
        tensor r = a;
        for (int i = 0; i < 3; i++) {
            int j = (i + 1) % 3, k = (i + 2) % 3;
            r.el[i] = dag_binary(c->dag, X_SUB, dag_binary(c->dag, X_MUL, a.el[j], b.el[k]),
                                 dag_binary(c->dag, X_MUL, a.el[k], b.el[j]));
        }
        return r;
    }
    return unsupported(c, e, "%s() in this back end", name);
}

static tensor lower_call(lctx *c, const phys_node *e)
{
    const phys_node *callee = e->kids[0];
    int nargs = e->nkids - 1;
    if (callee->kind == N_CALL && callee->kids[0]->kind == N_NAME && phys_builtin_find(callee->kids[0]->name, B_DERIVATIVE) &&
        !phys_sema_lookup(c->sema, callee->kids[0]->name))
        return lower_derivative(c, callee, (const phys_node *const *)e->kids + 1, nargs, e);
    if (callee->kind != N_NAME) return unsupported(c, e, "calling this kind of expression");
    const char *name = callee->name;
    const binding *bound = find_binding(c, name);
    const phys_symbol *sym = bound ? NULL : phys_sema_lookup(c->sema, name);
    if (sym && sym->kind == SYM_FIELD) return lower_field_call(c, sym, e);
    if (sym && (sym->kind == SYM_LET || sym->kind == SYM_ENERGY)) return lower_let_call(c, sym, e);
    if (sym) return unsupported(c, e, "calling the %s %s", phys_symbol_kind_name(sym->kind), name);
    if (phys_builtin_find(name, B_NETWORK)) {
        if (strcmp(name, "mlp")) return unsupported(c, e, "%s() networks (only mlp)", name);
        return lower_network(c, e);
    }
    if (phys_builtin_find(name, B_DERIVATIVE)) return lower_derivative(c, e, NULL, 0, e);
    return lower_builtin_call(c, name, e);
}

/* ------------------------------------------------------------ expressions */

static tensor lower_name(lctx *c, const phys_node *e)
{
    const binding *b = find_binding(c, e->name);
    if (b) return b->value;
    const phys_symbol *sym = phys_sema_lookup(c->sema, e->name);
    if (!sym) {
        double v;
        if (phys_sema_fold(c->sema, e, &v)) return scalar_of(dag_const(c->dag, v)); /* pi, e */
        return unsupported(c, e, "the name '%s' here", e->name);
    }
    switch (sym->kind) {
    case SYM_CONST: {
        const phys_node *value = sym->decl->kids[1];
        double v;
        if (phys_sema_fold(c->sema, e, &v)) return scalar_of(dag_const(c->dag, v));
        if (value->kind == N_VECTOR && value->nkids <= MAX_ELEMENTS) {
            tensor t;
            memset(&t, 0, sizeof t);
            t.rank = 1, t.dims[0] = t.n = value->nkids;
            for (int i = 0; i < value->nkids; i++) {
                if (!phys_sema_fold(c->sema, value->kids[i], &v)) return unsupported(c, e, "this constant");
                t.el[i] = dag_const(c->dag, v);
            }
            return t;
        }
        return unsupported(c, e, "the constant %s", sym->name);
    }
    case SYM_PARAM: {
        if (sym->shape.rank != 0) return unsupported(c, e, "vector-valued trainable parameters");
        for (int i = 0; i < c->m->n_params; i++)
            if (!strcmp(c->m->param_names[i], sym->name)) return scalar_of(dag_leaf(c->dag, X_PARAM, i));
        return failed();
    }
    case SYM_LET:
        if (sym->n_inputs) return failed();
        if (++c->depth > 64) {
            c->depth--;
            return unsupported(c, e, "definitions nested more than 64 deep");
        }
        {
            tensor t = lower_expr(c, sym->decl->kids[1]);
            c->depth--;
            return t;
        }
    case SYM_FIELD: {
        int inputs[DAG_MAX_INPUTS];
        if (!bound_inputs(c, e, sym, inputs)) return failed();
        return field_at(c, e, sym, inputs, NULL, 0);
    }
    default:
        return unsupported(c, e, "the %s %s in this back end", phys_symbol_kind_name(sym->kind), sym->name);
    }
}

/* The cases of lower_expr with tensors of their own, kept out of its frame:
 * every level of an expression nested 2048 deep costs only the frames of the
 * case it takes. */
#define LOWER_CASE static __attribute__((noinline)) tensor

LOWER_CASE lower_binary(lctx *c, const phys_node *e)
{
    tensor a = lower_expr(c, e->kids[0]), b = lower_expr(c, e->kids[1]);
    static const dag_op ops[128] = {['+'] = X_ADD, ['-'] = X_SUB, ['*'] = X_MUL, ['/'] = X_DIV, ['^'] = X_POW};
    return map2(c, e, ops[e->op & 127], a, b);
}

LOWER_CASE lower_compare(lctx *c, const phys_node *e)
{
    tensor a = need_scalar(c, e, lower_expr(c, e->kids[0]));
    tensor b = need_scalar(c, e, lower_expr(c, e->kids[1]));
    dag_op op = X_OP_COUNT;
    switch (e->op) {
    case '<': op = X_LT; break;
    case 'L': op = X_LE; break;
    case '>': op = X_GT; break;
    case 'G': op = X_GE; break;
    case 'N': op = X_NE; break;
    case '&': op = X_AND; break;
    case '|': op = X_OR; break;
    }
    return map2(c, e, op, a, b);
}

LOWER_CASE lower_if(lctx *c, const phys_node *e)
{
    tensor cond = need_scalar(c, e, lower_expr(c, e->kids[0]));
    tensor a = lower_expr(c, e->kids[1]), b = lower_expr(c, e->kids[2]);
    if (cond.rank < 0 || a.rank < 0 || b.rank < 0) return failed();
    if (a.n != b.n) return unsupported(c, e, "if() branches of different sizes");
    for (int i = 0; i < a.n; i++) a.el[i] = dag_select(c->dag, cond.el[0], a.el[i], b.el[i]);
    return a;
}

LOWER_CASE lower_vector(lctx *c, const phys_node *e)
{
    if (e->nkids > MAX_ELEMENTS) return unsupported(c, e, "vectors of more than %d elements", MAX_ELEMENTS);
    tensor t;
    memset(&t, 0, sizeof t);
    t.rank = 1, t.dims[0] = t.n = e->nkids;
    for (int i = 0; i < e->nkids; i++) {
        tensor x = need_scalar(c, e->kids[i], lower_expr(c, e->kids[i]));
        if (x.rank < 0) return x;
        t.el[i] = x.el[0];
    }
    return t;
}

/* An index: a constant, or a name bound by a sum or a pair force. */
static int constant_index(lctx *c, const phys_node *e, double *k)
{
    if (!phys_sema_fold(c->sema, e, k)) {
        const binding *b = e->kind == N_NAME ? find_binding(c, e->name) : NULL;
        if (!b || b->value.rank != 0 || dag_at(c->dag, b->value.el[0])->op != X_CONST) return 0;
        *k = dag_at(c->dag, b->value.el[0])->value;
    }
    return *k >= -1e6 && *k <= 1e6; /* cast to int safely; range checks follow */
}

LOWER_CASE lower_index(lctx *c, const phys_node *e)
{
    tensor base = lower_expr(c, e->kids[0]);
    if (base.rank < 0) return base;
    int flat = 0;
    for (int i = 1; i < e->nkids; i++) {
        double k;
        if (!constant_index(c, e->kids[i], &k)) return unsupported(c, e->kids[i], "indices that are not constants");
        flat = flat * (base.rank == 2 && i == 2 ? base.dims[1] : 1) + (int)k;
    }
    if (base.rank == 2 && e->nkids == 2 && flat >= 0 && flat < base.dims[0]) { /* a row: r[i] */
        tensor row;
        memset(&row, 0, sizeof row);
        row.rank = 1, row.dims[0] = row.n = base.dims[1];
        memcpy(row.el, base.el + flat * base.dims[1], sizeof(int) * (size_t)row.n);
        return row;
    }
    if (e->nkids - 1 != base.rank || flat < 0 || flat >= base.n) return unsupported(c, e, "this indexing");
    return scalar_of(base.el[flat]);
}

LOWER_CASE lower_reduce(lctx *c, const phys_node *e);

LOWER_CASE lower_call_case(lctx *c, const phys_node *e)
{
    return lower_call(c, e);
}

LOWER_CASE lower_name_case(lctx *c, const phys_node *e)
{
    return lower_name(c, e);
}

LOWER_CASE lower_unary(lctx *c, const phys_node *e)
{
    if (e->kind == N_NOT) return map1(c, X_NOT, need_scalar(c, e, lower_expr(c, e->kids[0])));
    return map1(c, X_NEG, lower_expr(c, e->kids[0]));
}

static tensor lower_expr(lctx *c, const phys_node *e)
{
    /* lets are inlined, so nesting adds up across definitions */
    char here;
    if (c->nesting >= MAX_NESTING || (size_t)(c->stack_base - (uintptr_t)&here) > c->stack_budget) {
        if (!c->too_deep)
            phys_error(c->diag, e->loc, "expression nested too deeply (counting the let definitions it uses): "
                                        "split it into several 'let' definitions");
        c->too_deep = 1;
        return failed();
    }
    c->nesting++;
    tensor r;
    switch (e->kind) {
    case N_NUMBER:
        r = scalar_of(dag_const(c->dag, e->number));
        break;
    case N_NAME:
        r = lower_name_case(c, e);
        break;
    case N_BINARY:
        r = lower_binary(c, e);
        break;
    case N_NEGATE:
    case N_NOT:
        r = lower_unary(c, e);
        break;
    case N_COMPARE:
    case N_LOGIC:
        r = lower_compare(c, e);
        break;
    case N_IF:
        r = lower_if(c, e);
        break;
    case N_VECTOR:
        r = lower_vector(c, e);
        break;
    case N_INDEX:
        r = lower_index(c, e);
        break;
    case N_CALL:
        r = lower_call_case(c, e);
        break;
    case N_REDUCE:
        r = lower_reduce(c, e);
        break;
    default:
        r = unsupported(c, e, "this expression");
        break;
    }
    c->nesting--;
    return r;
}

/* -------------------------------------------------------------- dynamics */

static double arg_or(lctx *c, const phys_node *call, const char *name, double fallback);
static void add_residuals(lw_term *t, tensor r);
static const phys_node *newton_arg(const lctx *c, int mass);

static const phys_symbol *first_symbol(lctx *c, phys_symbol_kind kind)
{
    for (int i = 0; i < phys_sema_symbol_count(c->sema); i++) {
        const phys_symbol *s = phys_sema_symbol_at(c->sema, i);
        if (s->kind == kind && !s->replaced) return s;
    }
    return NULL;
}

static int particle_count(lctx *c)
{
    const phys_symbol *set = first_symbol(c, SYM_PARTICLES);
    return set && set->shape.rank == 1 ? set->shape.dims[0] : 0;
}

/* Numbers held by a state or attribute, and the CSV name of number k: "q",
 * "q_0", "r_3_x", "m_3". */
static int size_of(const phys_symbol *s)
{
    if (s->shape.rank == 0) return 1;
    if (s->shape.rank == 1) return s->shape.dims[0];
    return s->shape.dims[0] * s->shape.dims[1];
}

static const char *component_name(lctx *c, const phys_symbol *s, int k)
{
    char buf[160];
    if (s->shape.rank == 0) return s->name;
    if (s->kind == SYM_ATTRIBUTE && s->shape.rank == 2) {
        int dim = s->shape.dims[1];
        if (dim <= 3) snprintf(buf, sizeof buf, "%s_%d_%c", s->name, k / dim, "xyz"[k % dim]);
        else snprintf(buf, sizeof buf, "%s_%d_%d", s->name, k / dim, k % dim);
    } else {
        snprintf(buf, sizeof buf, "%s_%d", s->name, k);
    }
    return phys_arena_strdup(c->sema->arena, buf, strlen(buf));
}

/* A tensor of the shape of s over nodes[0 .. size_of(s)). */
static tensor shaped(const phys_symbol *s, const int *nodes)
{
    tensor t;
    memset(&t, 0, sizeof t);
    t.rank = s->shape.rank;
    t.dims[0] = s->shape.dims[0];
    t.dims[1] = s->shape.dims[1];
    t.n = size_of(s);
    memcpy(t.el, nodes, sizeof(int) * (size_t)t.n);
    return t;
}

static void add_part(dyn_layout *dl, const phys_symbol *s, int aux)
{
    state_part *p = &dl->parts[dl->n_parts++];
    p->sym = s;
    p->count = size_of(s);
    p->aux = aux;
}

/* Lays out the state point of the model's dynamics (see physm_dynamics). */
static int dyn_init(lctx *c, const phys_node *program)
{
    dyn_layout *dl = &c->dyn;
    memset(dl, 0, sizeof *dl);
    for (int i = 0; i < program->nkids; i++)
        if (program->kids[i]->kind == N_DYNAMICS) dl->decl = program->kids[i];
    if (!dl->decl) return 1;
    const phys_node *d = dl->decl;
    dl->kind = d->op == 'h' ? PHYSM_DYN_HAMILTONIAN : d->op == 'n' ? PHYSM_DYN_NEWTON : PHYSM_DYN_EXPLICIT;
    if (dl->kind == PHYSM_DYN_NEWTON) {
        const phys_symbol *set = first_symbol(c, SYM_PARTICLES);
        dl->set = set;
        dl->n_particles = particle_count(c);
        for (int i = 0; set && i < phys_sema_symbol_count(c->sema); i++) {
            const phys_symbol *a = phys_sema_symbol_at(c->sema, i);
            if (a->kind != SYM_ATTRIBUTE || a->replaced || a->owner != set || a->shape.rank != 2) continue;
            if (!dl->pos) dl->pos = a;
            else if (!dl->vel && a->shape.dims[1] == dl->pos->shape.dims[1]) dl->vel = a;
        }
        if (!dl->pos || !dl->vel) {
            unsupported(c, d, "Newtonian dynamics need particles with a position and a velocity of the same "
                              "dimension (particles p[N] with r[3], v[3])");
            return 0;
        }
        dl->dim = dl->pos->shape.dims[1];
        const phys_node *mass = newton_arg(c, 1);
        double m;
        if (mass && phys_sema_fold(c->sema, mass, &m) && !(m > 0 && m < HUGE_VAL)) {
            phys_error(c->diag, mass->loc, "the mass must be a positive finite number, got %g", m);
            return 0;
        }
        add_part(dl, dl->pos, 0);
        add_part(dl, dl->vel, 0);
        for (int i = 0; i < phys_sema_symbol_count(c->sema); i++) {
            const phys_symbol *a = phys_sema_symbol_at(c->sema, i);
            if (a->kind == SYM_ATTRIBUTE && !a->replaced && a->owner == set && a != dl->pos && a != dl->vel &&
                dl->n_parts < 64)
                add_part(dl, a, 1);
        }
    } else {
        for (int i = 0; i < phys_sema_symbol_count(c->sema) && dl->n_parts < 64; i++) {
            const phys_symbol *s = phys_sema_symbol_at(c->sema, i);
            if (s->kind == SYM_STATE && !s->replaced) add_part(dl, s, 0);
        }
    }
    for (int k = 0; k < dl->n_parts; k++)
        if (dl->parts[k].count > MAX_ELEMENTS) {
            unsupported(c, dl->parts[k].sym->decl, "a state or attribute of more than %d numbers", MAX_ELEMENTS);
            return 0;
        }
    int offset = 0;
    for (int aux = 0; aux < 2; aux++)
        for (int k = 0; k < dl->n_parts; k++)
            if (dl->parts[k].aux == aux) {
                dl->parts[k].offset = offset;
                offset += dl->parts[k].count;
                if (aux) dl->n_aux += dl->parts[k].count;
                else dl->n_state += dl->parts[k].count;
            }
    if (offset > LW_MAX_COORDS / 2) {
        unsupported(c, d, "a state of more than %d numbers", LW_MAX_COORDS / 2);
        return 0;
    }
    if (dl->kind != PHYSM_DYN_EXPLICIT) dl->n_half = dl->n_state / 2;
    dl->names = phys_arena_alloc(c->sema->arena, sizeof(char *) * (size_t)(offset + 1));
    for (int k = 0; k < dl->n_parts; k++)
        for (int j = 0; j < dl->parts[k].count; j++)
            dl->names[dl->parts[k].offset + j] = component_name(c, dl->parts[k].sym, j);
    return 1;
}

/* Binds every state and attribute name to its numbers in point[]. */
static int bind_state_point(lctx *c, const phys_node *at, const int *point, int with_aux)
{
    for (int k = 0; k < c->dyn.n_parts; k++) {
        const state_part *p = &c->dyn.parts[k];
        if (p->aux && !with_aux) continue;
        if (!bind(c, at, p->sym->name, shaped(p->sym, point + p->offset))) return 0;
    }
    return 1;
}

/* The state point from the names bound here (data columns). */
static int gather_state(lctx *c, const phys_node *at, int *point, int with_aux)
{
    for (int k = 0; k < c->dyn.n_parts; k++) {
        const state_part *p = &c->dyn.parts[k];
        if (p->aux && !with_aux) continue;
        const binding *b = find_binding(c, p->sym->name);
        if (!b || b->value.n != p->count) {
            phys_error(c->diag, at->loc, "the dynamics need the value of %s here: list %s among the data columns",
                       p->sym->name, p->sym->name);
            return 0;
        }
        memcpy(point + p->offset, b->value.el, sizeof(int) * (size_t)p->count);
    }
    return 1;
}

/* The value of a field, function or energy where its inputs are bound by
 * name (states, attributes). */
static tensor value_of_symbol(lctx *c, const phys_node *at, const phys_symbol *sym)
{
    if (sym->kind == SYM_FIELD) {
        int inputs[DAG_MAX_INPUTS];
        if (!bound_inputs(c, at, sym, inputs)) return failed();
        return field_at(c, at, sym, inputs, NULL, 0);
    }
    if (sym->kind != SYM_LET && sym->kind != SYM_ENERGY)
        return unsupported(c, at, "the %s %s as a function of the state", phys_symbol_kind_name(sym->kind), sym->name);
    if (++c->depth > 64) {
        c->depth--;
        return unsupported(c, at, "functions nested more than 64 deep");
    }
    tensor t = lower_expr(c, sym->decl->kids[1]);
    c->depth--;
    return t;
}

static int wrt_state(lctx *c, const char *name)
{
    const phys_symbol *s = phys_sema_lookup(c->sema, name);
    return s && (s->kind == SYM_STATE || s->kind == SYM_ATTRIBUTE);
}

/* d sym / d name (a state or an attribute), where name is bound. */
static tensor gradient_wrt(lctx *c, const phys_node *at, const phys_symbol *sym, const char *name)
{
    if (!c->term) return unsupported(c, at, "derivatives with respect to %s outside a term", name);
    const binding *b = find_binding(c, name);
    if (!b) return unsupported(c, at, "a derivative with respect to %s where %s has no value", name, name);
    tensor x = b->value, ph = x;
    for (int k = 0; k < x.n; k++) ph.el[k] = placeholder(c);
    int saved = c->n_bindings;
    if (!bind(c, at, name, ph)) return failed();
    tensor v = need_scalar(c, at, value_of_symbol(c, at, sym));
    c->n_bindings = saved;
    if (v.rank < 0) return v;
    tensor out = x;
    int bad = 0;
    for (int k = 0; k < x.n; k++) {
        int g = total_diff(c, v.el[0], ph.el[k], &bad);
        out.el[k] = rebind_placeholders(c, g, x.n, ph.el, x.el, &bad);
    }
    if (bad) return unsupported(c, at, "derivatives of order above %d (or more than %d streams of one field)",
                                DAG_MAX_ORDER, MAX_STREAMS_PER_PROBE);
    return out;
}

static tensor lower_pair_geometry(lctx *c, const char *name, const phys_node *e)
{
    double i, j;
    if (e->nkids != 3 || !constant_index(c, e->kids[1], &i) || !constant_index(c, e->kids[2], &j))
        return unsupported(c, e, "%s() of particles that are not given by constant or summed indices", name);
    const phys_symbol *pos = c->dyn.pos;
    const binding *b = pos ? find_binding(c, pos->name) : NULL;
    if (!b) return unsupported(c, e, "%s() where the particle positions have no value", name);
    int n = b->value.dims[0], dim = b->value.dims[1];
    if (i < 0 || j < 0 || i >= n || j >= n) return unsupported(c, e, "particle indices outside 0..%d", n - 1);
    tensor d;
    memset(&d, 0, sizeof d);
    d.rank = 1, d.dims[0] = d.n = dim;
    int sq = dag_const(c->dag, 0.0);
    for (int k = 0; k < dim; k++) {
        d.el[k] = dag_binary(c->dag, X_SUB, b->value.el[(int)i * dim + k], b->value.el[(int)j * dim + k]);
        sq = dag_binary(c->dag, X_ADD, sq, dag_binary(c->dag, X_MUL, d.el[k], d.el[k]));
    }
    if (!strcmp(name, "disp")) return d;
    int r = dag_unary(c->dag, X_SQRT, sq);
    if (!strcmp(name, "dist")) return scalar_of(r);
    for (int k = 0; k < dim; k++) d.el[k] = dag_binary(c->dag, X_DIV, d.el[k], r);
    return d;
}

/* sum(i: ...), sum_pairs(i, j: ...), prod(i: ...) with constant ranges,
 * unrolled. */
LOWER_CASE lower_reduce(lctx *c, const phys_node *e)
{
    int nb = e->nkids - 1, count[4];
    if (nb > 4) return unsupported(c, e, "sums over more than 4 indices");
    int n_sets = 0;
    for (int i = 0; i < phys_sema_symbol_count(c->sema); i++) {
        const phys_symbol *s = phys_sema_symbol_at(c->sema, i);
        n_sets += s->kind == SYM_PARTICLES && !s->replaced;
    }
    /* sum_pairs(i, j in K: ...): both indices of a pair run over K */
    const phys_node *pair_range = NULL;
    if (e->op == 'p' && nb == 2) pair_range = e->kids[0]->kids[0] ? e->kids[0]->kids[0] : e->kids[1]->kids[0];
    for (int b = 0; b < nb; b++) {
        const phys_node *range = pair_range ? pair_range : e->kids[b]->kids[0];
        double n = particle_count(c);
        if (!range && n_sets != 1) { /* an index runs over the particles only when there is one set */
            phys_error(c->diag, e->kids[b]->loc, "the index %s has no range: write '%s in N'%s", e->kids[b]->name,
                       e->kids[b]->name, n_sets ? " or name the particles it runs over" : " (the model has no particles)");
            return failed();
        }
        if (range && is_particle_set(c, range)) {
            const phys_symbol *set = phys_sema_lookup(c->sema, range->name);
            n = set->shape.rank == 1 ? set->shape.dims[0] : 0;
        } else if (range && !phys_sema_fold(c->sema, range, &n)) {
            return unsupported(c, range, "this index range");
        }
        if (!(n >= 0 && n <= 100000)) return unsupported(c, e, "sums of more than 100000 terms");
        count[b] = (int)n;
    }
    long total = 1;
    for (int b = 0; b < nb; b++) {
        if (count[b] <= 0) return scalar_of(dag_const(c->dag, e->op == 'm' ? 1.0 : 0.0)); /* empty range */
        total *= count[b];
        if (total > 100000) return unsupported(c, e, "sums of more than 100000 terms");
    }
    /* Terms combine pairwise, like a binary counter (partial[k] holds 2^k
     * terms): the result is a balanced tree, log2(n) deep, so the passes
     * that recurse over the DAG stay shallow, and the rounding of long sums
     * grows like log n. */
    dag_op op = e->op == 'm' ? X_MUL : X_ADD;
    tensor partial[24];
    int filled[24] = {0}, idx[4] = {0}, saved = c->n_bindings;
    for (long it = 0; it < total; it++) {
        long rest = it;
        for (int b = nb - 1; b >= 0; b--) idx[b] = (int)(rest % count[b]), rest /= count[b];
        if (e->op == 'p' && idx[0] >= idx[1]) continue;
        c->n_bindings = saved;
        for (int b = 0; b < nb; b++)
            if (!bind(c, e, e->kids[b]->name, scalar_of(dag_const(c->dag, idx[b])))) return failed();
        tensor v = lower_expr(c, e->kids[nb]);
        c->n_bindings = saved;
        int k = 0;
        for (; v.rank >= 0 && filled[k]; k++) {
            v = map2(c, e, op, partial[k], v);
            filled[k] = 0;
        }
        if (v.rank < 0) return v;
        partial[k] = v;
        filled[k] = 1;
    }
    tensor acc = failed();
    int any = 0;
    for (int k = 0; k < 24; k++) {
        if (!filled[k]) continue;
        acc = any ? map2(c, e, op, partial[k], acc) : partial[k];
        any = 1;
        if (acc.rank < 0) return acc;
    }
    if (!any) return scalar_of(dag_const(c->dag, e->op == 'm' ? 1.0 : 0.0));
    return acc;
}

/* The force and the mass expression of 'dynamics newton(F, mass = m)'. */
static const phys_node *newton_arg(const lctx *c, int mass)
{
    const phys_node *args = c->dyn.decl->kids[0];
    for (int i = 0; args && i < args->nkids; i++)
        if ((args->kids[i]->kind == N_NAMED_ARG) == mass) return mass ? args->kids[i]->kids[0] : args->kids[i];
    return NULL;
}

static tensor newton_mass(lctx *c)
{
    const phys_node *mass = newton_arg(c, 1);
    return mass ? lower_expr(c, mass) : scalar_of(dag_const(c->dag, 1.0));
}

/* m dv/dt = F: accelerations of every particle (n_particles x dim) at the
 * state point. A pair force that is antisymmetric by construction is
 * evaluated once per unordered pair and applied with opposite signs, so
 * F(i, j) = -F(j, i) holds exactly in floating point too. */
static int newton_accel(lctx *c, const phys_node *at, const int *point, int *acc)
{
    dyn_layout *dl = &c->dyn;
    const phys_node *force = newton_arg(c, 0), *mass = newton_arg(c, 1);
    const phys_symbol *f = force && force->kind == N_NAME ? phys_sema_lookup(c->sema, force->name) : NULL;
    if (!f) return 0;
    int n = dl->n_particles, dim = dl->dim, saved = c->n_bindings, ok = 1;
    if (!bind_state_point(c, at, point, 1)) return 0;
    int total[LW_MAX_COORDS];
    for (int k = 0; k < n * dim; k++) total[k] = dag_const(c->dag, 0.0);
    const phys_node *pair = f->decl->kids[0];
    /* An antisymmetric pair force is evaluated once per unordered pair;
     * any other is evaluated for each ordered pair and acts on i only. */
    int antisymmetric = phys_sema_pair_force_antisymmetric(f);
    if (pair) {
        for (int i = 0; i < n && ok; i++)
            for (int j = antisymmetric ? i + 1 : 0; j < n && ok; j++) {
                if (j == i) continue;
                int inner = c->n_bindings;
                bind(c, at, pair->kids[0]->name, scalar_of(dag_const(c->dag, i)));
                bind(c, at, pair->kids[1]->name, scalar_of(dag_const(c->dag, j)));
                tensor fij = lower_expr(c, f->decl->kids[1]);
                c->n_bindings = inner;
                if (fij.rank < 0 || fij.n != dim) {
                    if (fij.rank >= 0) unsupported(c, f->decl, "a pair force that is not a %d-vector", dim);
                    ok = 0;
                    break;
                }
                for (int k = 0; k < dim; k++) {
                    total[i * dim + k] = dag_binary(c->dag, X_ADD, total[i * dim + k], fij.el[k]);
                    if (antisymmetric) total[j * dim + k] = dag_binary(c->dag, X_SUB, total[j * dim + k], fij.el[k]);
                }
            }
    } else {
        tensor all = lower_expr(c, f->decl->kids[1]);
        if (all.rank >= 0 && all.n != n * dim) unsupported(c, f->decl, "a force that is not %d x %d", n, dim);
        if (all.rank < 0 || all.n != n * dim) ok = 0;
        else memcpy(total, all.el, sizeof(int) * (size_t)all.n);
    }
    tensor m = newton_mass(c);
    if (ok && m.rank >= 0 && m.n != 1 && m.n != n) {
        unsupported(c, mass, "a mass that is neither a scalar nor one number per particle");
        ok = 0;
    }
    if (m.rank < 0) ok = 0;
    for (int i = 0; i < n && ok; i++)
        for (int k = 0; k < dim; k++)
            acc[i * dim + k] = dag_binary(c->dag, X_DIV, total[i * dim + k], m.el[m.n == 1 ? 0 : i]);
    c->n_bindings = saved;
    return ok;
}

/* ds/dt at the state point (evolving numbers, then aux). */
static int dyn_rhs_at(lctx *c, const phys_node *at, const int *point, int *out);

static int dyn_rhs(lctx *c, const phys_node *at, const int *point, int *out)
{
    c->in_rhs++;
    int ok = dyn_rhs_at(c, at, point, out);
    c->in_rhs--;
    return ok;
}

static int dyn_rhs_at(lctx *c, const phys_node *at, const int *point, int *out)
{
    dyn_layout *dl = &c->dyn;
    int saved = c->n_bindings;
    if (dl->kind == PHYSM_DYN_NEWTON) {
        memcpy(out, point + dl->n_half, sizeof(int) * (size_t)dl->n_half);
        return newton_accel(c, at, point, out + dl->n_half);
    }
    if (dl->kind == PHYSM_DYN_EXPLICIT) {
        if (!bind_state_point(c, at, point, 1)) return 0;
        const phys_node *eqs = dl->decl->kids[0];
        int ok = 1;
        for (int i = 0; i < eqs->nkids && ok; i++) {
            const phys_node *k = eqs->kids[i];
            const phys_symbol *s = phys_sema_lookup(c->sema, k->kids[0]->kids[1]->name);
            tensor v = lower_expr(c, k->kids[1]);
            if (v.rank < 0) ok = 0;
            for (int p = 0; ok && p < dl->n_parts; p++) {
                if (dl->parts[p].sym != s) continue;
                if (v.n != dl->parts[p].count && v.n != 1) {
                    unsupported(c, k, "ddt(%s) of a different size than %s", s->name, s->name);
                    ok = 0;
                    break;
                }
                for (int j = 0; j < dl->parts[p].count; j++) out[dl->parts[p].offset + j] = v.el[v.n == 1 ? 0 : j];
            }
        }
        c->n_bindings = saved;
        return ok;
    }
    /* Hamiltonian: dq/dt = dH/dp, dp/dt = -dH/dq */
    const phys_symbol *h = phys_sema_lookup(c->sema, dl->decl->kids[0]->name);
    int ph[LW_MAX_COORDS], bad = 0;
    for (int k = 0; k < dl->n_state; k++) ph[k] = placeholder(c);
    if (!h || !bind_state_point(c, at, ph, 0)) return 0;
    tensor v = need_scalar(c, at, value_of_symbol(c, at, h));
    c->n_bindings = saved;
    if (v.rank < 0) return 0;
    for (int k = 0; k < dl->n_half; k++) {
        int dq = total_diff(c, v.el[0], ph[dl->n_half + k], &bad);
        int dp = dag_unary(c->dag, X_NEG, total_diff(c, v.el[0], ph[k], &bad));
        out[k] = rebind_placeholders(c, dq, dl->n_state, ph, point, &bad);
        out[dl->n_half + k] = rebind_placeholders(c, dp, dl->n_state, ph, point, &bad);
    }
    if (bad) {
        unsupported(c, at, "a Hamiltonian whose derivatives exceed order %d", DAG_MAX_ORDER);
        return 0;
    }
    return 1;
}

static tensor lower_ddt(lctx *c, const phys_node *at, const phys_symbol *state)
{
    int point[LW_MAX_COORDS], rhs[LW_MAX_COORDS];
    if (!c->dyn.decl || !c->term) return unsupported(c, at, "ddt() here");
    if (c->in_rhs) /* the dynamics would be defined through themselves */
        return unsupported(c, at, "ddt(%s) inside the dynamics, a force or a Hamiltonian", state->name);
    if (!gather_state(c, at, point, 1) || !dyn_rhs(c, at, point, rhs)) return failed();
    for (int p = 0; p < c->dyn.n_parts; p++)
        if (c->dyn.parts[p].sym == state && !c->dyn.parts[p].aux) return shaped(state, rhs + c->dyn.parts[p].offset);
    return unsupported(c, at, "ddt(%s): %s does not move under the dynamics", state->name, state->name);
}

/* Does node depend on coordinates [lo, hi) of the current term? */
static int depends_on(lctx *c, int node, int lo, int hi, char *seen)
{
    if (seen[node]) return 0;
    seen[node] = 1;
    const dag_node *n = dag_at(c->dag, node);
    if (n->op == X_COORD) return n->index >= lo && n->index < hi;
    if (n->op == X_STREAM) {
        const lw_probe *p = &c->term->probes[c->term->slots[n->index].probe];
        for (int i = 0; i < c->m->fields[p->field].n_inputs; i++)
            if (depends_on(c, p->inputs[i], lo, hi, seen)) return 1;
        return 0;
    }
    if (n->op <= X_NET) return 0;
    return (n->a >= 0 && depends_on(c, n->a, lo, hi, seen)) || (n->b >= 0 && depends_on(c, n->b, lo, hi, seen)) ||
           (n->c >= 0 && depends_on(c, n->c, lo, hi, seen));
}

static int any_depends_on(lctx *c, const int *nodes, int n, int lo, int hi)
{
    char *seen = xcalloc((size_t)dag_size(c->dag), 1);
    int hit = 0;
    for (int i = 0; i < n && !hit; i++) hit = depends_on(c, nodes[i], lo, hi, seen);
    free(seen);
    return hit;
}

/* A pseudo-term over the state point: coordinates are the state's names. */
static lw_term *state_term(lctx *c, const char *name, int point[])
{
    lw_term *t = xcalloc(1, sizeof *t);
    t->name = name;
    t->n_coords = c->dyn.n_state + c->dyn.n_aux;
    for (int k = 0; k < t->n_coords; k++) {
        t->coords[k] = c->dyn.names[k];
        point[k] = dag_leaf(c->dag, X_COORD, k);
    }
    c->term = t;
    c->n_bindings = 0;
    return t;
}

static void end_state_term(lctx *c, lw_term *t, tensor r)
{
    add_residuals(t, r);
    prune_term(c, t);
    c->term = NULL;
    c->n_bindings = 0;
}

/* The energy of Newtonian dynamics under force F = -grad(V, r): T + V. */
static const phys_symbol *potential_of(lctx *c)
{
    const phys_node *force = newton_arg(c, 0);
    const phys_symbol *f = force && force->kind == N_NAME ? phys_sema_lookup(c->sema, force->name) : NULL;
    const phys_node *body = f && f->kind == SYM_FORCE && !f->decl->kids[0] ? f->decl->kids[1] : NULL;
    if (!body || body->kind != N_NEGATE) return NULL;
    const phys_node *g = body->kids[0];
    if (g->kind != N_CALL || g->kids[0]->kind != N_NAME || strcmp(g->kids[0]->name, "grad") || g->nkids != 3 ||
        g->kids[1]->kind != N_NAME || g->kids[2]->kind != N_NAME)
        return NULL;
    const phys_symbol *v = phys_sema_lookup(c->sema, g->kids[1]->name);
    if (!v || strcmp(g->kids[2]->name, c->dyn.pos->name)) return NULL;
    return v;
}

static int lower_dynamics(lctx *c, const phys_node *program)
{
    dyn_layout *dl = &c->dyn;
    lw_dynamics *dy = xcalloc(1, sizeof *dy);
    c->m->dynamics = dy;
    dy->kind = dl->kind;
    dy->n_state = dl->n_state;
    dy->n_aux = dl->n_aux;
    dy->n_half = dl->n_half;
    dy->dim = dl->dim;
    dy->names = dl->names;
    for (int i = 0; i < program->nkids; i++) {
        const phys_node *d = program->kids[i];
        if (d->kind != N_CONSERVE) continue;
        for (int k = 0; k < d->kids[0]->nkids; k++) {
            const char *q = d->kids[0]->kids[k]->name;
            if (!strcmp(q, "energy")) dy->conserve_energy = 1;
            if (!strcmp(q, "momentum")) dy->conserve_momentum = 1;
        }
    }
    int point[LW_MAX_COORDS], rhs[LW_MAX_COORDS];
    tensor r;
    memset(&r, 0, sizeof r);

    dy->rhs = state_term(c, "dynamics", point);
    if (!dyn_rhs(c, dl->decl, point, rhs)) return 0;
    if (dl->kind == PHYSM_DYN_NEWTON) {
        dy->separable = !any_depends_on(c, rhs + dl->n_half, dl->n_half, dl->n_half, dl->n_state);
    } else if (dl->kind == PHYSM_DYN_HAMILTONIAN) {
        dy->separable = !any_depends_on(c, rhs, dl->n_half, 0, dl->n_half) &&
                        !any_depends_on(c, rhs + dl->n_half, dl->n_half, dl->n_half, dl->n_state);
    }
    for (int k = 0; k < dl->n_state; k += MAX_ELEMENTS) {
        r.n = dl->n_state - k < MAX_ELEMENTS ? dl->n_state - k : MAX_ELEMENTS;
        memcpy(r.el, rhs + k, sizeof(int) * (size_t)r.n);
        add_residuals(dy->rhs, r);
    }
    r.n = 0;
    end_state_term(c, dy->rhs, r);

    const phys_symbol *v = NULL;
    if (dl->kind == PHYSM_DYN_HAMILTONIAN) v = phys_sema_lookup(c->sema, dl->decl->kids[0]->name);
    if (dl->kind == PHYSM_DYN_NEWTON) v = potential_of(c);
    if (v) {
        dy->energy = state_term(c, "energy", point);
        bind_state_point(c, dl->decl, point, 1);
        tensor e = need_scalar(c, dl->decl, value_of_symbol(c, dl->decl, v));
        if (e.rank < 0) return 0;
        if (dl->kind == PHYSM_DYN_NEWTON) { /* + kinetic energy */
            tensor m = newton_mass(c);
            if (m.rank < 0) return 0;
            for (int i = 0; i < dl->n_particles; i++) {
                int v2 = dag_const(c->dag, 0.0);
                for (int k = 0; k < dl->dim; k++) {
                    int vk = point[dl->n_half + i * dl->dim + k];
                    v2 = dag_binary(c->dag, X_ADD, v2, dag_binary(c->dag, X_MUL, vk, vk));
                }
                int half_m = dag_binary(c->dag, X_MUL, dag_const(c->dag, 0.5), m.el[m.n == 1 ? 0 : i]);
                e.el[0] = dag_binary(c->dag, X_ADD, e.el[0], dag_binary(c->dag, X_MUL, half_m, v2));
            }
        }
        end_state_term(c, dy->energy, e);
    }
    if (dl->kind == PHYSM_DYN_NEWTON) {
        dy->momentum = state_term(c, "momentum", point);
        bind_state_point(c, dl->decl, point, 1);
        tensor m = newton_mass(c);
        if (m.rank < 0) return 0;
        tensor pm;
        memset(&pm, 0, sizeof pm);
        pm.n = dl->dim + 1;
        for (int k = 0; k <= dl->dim; k++) pm.el[k] = dag_const(c->dag, 0.0);
        for (int i = 0; i < dl->n_particles; i++) {
            int mi = m.el[m.n == 1 ? 0 : i], v2 = dag_const(c->dag, 0.0);
            for (int k = 0; k < dl->dim; k++) {
                int vk = point[dl->n_half + i * dl->dim + k];
                pm.el[k] = dag_binary(c->dag, X_ADD, pm.el[k], dag_binary(c->dag, X_MUL, mi, vk));
                v2 = dag_binary(c->dag, X_ADD, v2, dag_binary(c->dag, X_MUL, vk, vk));
            }
            pm.el[dl->dim] = dag_binary(c->dag, X_ADD, pm.el[dl->dim],
                                        dag_binary(c->dag, X_MUL, dag_unary(c->dag, X_ABS, mi), dag_unary(c->dag, X_SQRT, v2)));
        }
        end_state_term(c, dy->momentum, pm);
    }
    return 1;
}

/* data "f.csv" (t, q, p): trajectory(t): one integrator step from each row
 * to the next, with both ends observed. Hamiltonian and explicit dynamics:
 * the implicit midpoint step, (s' - s) / dt = f((s + s') / 2). Newtonian:
 * the velocity Verlet step, (r' - r) / dt = v + dt a(r) / 2 and
 * (v' - v) / dt = (a(r) + a(r')) / 2. A zero residual means the integrator
 * carries each row exactly to the next. */
static int lower_trajectory(lctx *c, lw_term *t, const phys_node *call, int n_cols, const int *col_of_name,
                            const phys_node *cols)
{
    dyn_layout *dl = &c->dyn;
    int tcol = -1;
    for (int i = 0; call->nkids == 2 && call->kids[1]->kind == N_NAME && i < cols->nkids; i++)
        if (!strcmp(cols->kids[i]->name, call->kids[1]->name)) tcol = col_of_name[i];
    if (tcol < 0) {
        phys_error(c->diag, call->loc, "trajectory(t) takes the data column that holds the time");
        return 0;
    }
    for (int k = 0; k < dl->n_parts; k++)
        if (!strcmp(dl->parts[k].sym->name, call->kids[1]->name)) {
            phys_error(c->diag, call->kids[1]->loc, "the time of trajectory(t) cannot be the %s %s",
                       phys_symbol_kind_name(dl->parts[k].sym->kind), dl->parts[k].sym->name);
            return 0;
        }
    t->pair_rows = 1;
    t->time_column = tcol;
    t->n_coords = 2 * n_cols;
    for (int i = 0; i < n_cols; i++) {
        char buf[200];
        snprintf(buf, sizeof buf, "%s'", t->coords[i]);
        t->coords[n_cols + i] = phys_arena_strdup(c->sema->arena, buf, strlen(buf));
    }
    int s0[LW_MAX_COORDS], s1[LW_MAX_COORDS], mid[LW_MAX_COORDS], f[LW_MAX_COORDS], f1[LW_MAX_COORDS];
    if (!gather_state(c, call, s0, 1)) return 0;
    for (int k = 0; k < dl->n_state + dl->n_aux; k++) { /* the same coordinates in row k + 1 */
        int coord = dag_at(c->dag, s0[k])->index;
        s1[k] = dag_leaf(c->dag, X_COORD, n_cols + coord);
    }
    int dt = dag_binary(c->dag, X_SUB, dag_leaf(c->dag, X_COORD, n_cols + tcol), dag_leaf(c->dag, X_COORD, tcol));
    tensor r;
    memset(&r, 0, sizeof r);
    int res[LW_MAX_COORDS];
    if (dl->kind == PHYSM_DYN_NEWTON) {
        int half = dl->n_half;
        memcpy(mid, s1, sizeof(int) * (size_t)half); /* r' with the aux of row k */
        memcpy(mid + half, s0 + half, sizeof(int) * (size_t)(dl->n_state + dl->n_aux - half));
        c->in_rhs++;
        int ok = newton_accel(c, call, s0, f) && newton_accel(c, call, mid, f1);
        c->in_rhs--;
        if (!ok) return 0;
        int half_dt = dag_binary(c->dag, X_MUL, dag_const(c->dag, 0.5), dt);
        for (int k = 0; k < half; k++) {
            int dr = dag_binary(c->dag, X_DIV, dag_binary(c->dag, X_SUB, s1[k], s0[k]), dt);
            int pred = dag_binary(c->dag, X_ADD, s0[half + k], dag_binary(c->dag, X_MUL, half_dt, f[k]));
            res[k] = dag_binary(c->dag, X_SUB, dr, pred);
            int dv = dag_binary(c->dag, X_DIV, dag_binary(c->dag, X_SUB, s1[half + k], s0[half + k]), dt);
            int avg = dag_binary(c->dag, X_MUL, dag_const(c->dag, 0.5), dag_binary(c->dag, X_ADD, f[k], f1[k]));
            res[half + k] = dag_binary(c->dag, X_SUB, dv, avg);
        }
    } else {
        for (int k = 0; k < dl->n_state; k++)
            mid[k] = dag_binary(c->dag, X_MUL, dag_const(c->dag, 0.5), dag_binary(c->dag, X_ADD, s0[k], s1[k]));
        memcpy(mid + dl->n_state, s0 + dl->n_state, sizeof(int) * (size_t)dl->n_aux);
        if (!dyn_rhs(c, call, mid, f)) return 0;
        for (int k = 0; k < dl->n_state; k++)
            res[k] = dag_binary(c->dag, X_SUB, dag_binary(c->dag, X_DIV, dag_binary(c->dag, X_SUB, s1[k], s0[k]), dt), f[k]);
    }
    for (int k = 0; k < dl->n_state; k += MAX_ELEMENTS) {
        r.n = dl->n_state - k < MAX_ELEMENTS ? dl->n_state - k : MAX_ELEMENTS;
        memcpy(r.el, res + k, sizeof(int) * (size_t)r.n);
        add_residuals(t, r);
    }
    return 1;
}

static int lower_simulation(lctx *c, const phys_node *d)
{
    lw_model *m = c->m;
    dyn_layout *dl = &c->dyn;
    m->simulations = realloc(m->simulations, sizeof *m->simulations * (size_t)(m->n_simulations + 1));
    if (!m->simulations) exit(70);
    lw_simulation *sim = &m->simulations[m->n_simulations++];
    memset(sim, 0, sizeof *sim);
    char buf[256];
    if (d->name) {
        sim->name = d->name;
    } else {
        snprintf(buf, sizeof buf, "simulate@%d", d->loc.first_line);
        sim->name = phys_arena_strdup(c->sema->arena, buf, strlen(buf));
    }
    const phys_node *call = d->kids[0];
    const char *integrator = call->kind == N_CALL ? call->kids[0]->name : call->name;
    sim->integrator = !strcmp(integrator, "midpoint") ? PHYSM_INT_MIDPOINT
                      : !strcmp(integrator, "rk4")    ? PHYSM_INT_RK4
                                                      : PHYSM_INT_LEAPFROG;
    if (sim->integrator == PHYSM_INT_LEAPFROG && dl->kind == PHYSM_DYN_EXPLICIT) {
        phys_error(c->diag, call->loc, "%s needs positions and momenta; explicit dynamics do not say which "
                                       "states are which: use midpoint or rk4", integrator);
        return 0;
    }
    sim->dt = arg_or(c, call, "dt", 0.01);
    sim->steps = (long)arg_or(c, call, "steps", 1000);
    sim->tolerance = arg_or(c, call, "tolerance", 1e-12);
    sim->every = 1;
    if (d->kids[3]) {
        double every = 1;
        phys_sema_fold(c->sema, d->kids[3], &every);
        sim->every = (long)every;
    }
    const phys_node *start = d->kids[1];
    if (start->kind == N_STRING) {
        sim->start_file = start->name;
    } else {
        int n = dl->n_state + dl->n_aux;
        sim->start = xcalloc((size_t)n, sizeof(double));
        for (int p = 0; p < dl->n_parts; p++) {
            const state_part *part = &dl->parts[p];
            const phys_node *value = NULL;
            for (int i = 0; i < start->nkids; i++) {
                if (strcmp(start->kids[i]->name, part->sym->name)) continue;
                if (value) {
                    phys_error(c->diag, start->kids[i]->loc, "the start gives the state %s twice", part->sym->name);
                    return 0;
                }
                value = start->kids[i]->kids[0];
            }
            if (!value) {
                if (part->sym->kind == SYM_ATTRIBUTE) unsupported(c, start, "particle states given in place (start from a CSV file)");
                else phys_error(c->diag, start->loc, "the start does not give the state %s", part->sym->name);
                return 0;
            }
            int folded = 1;
            if (part->count == 1 && value->kind != N_VECTOR) {
                folded = phys_sema_fold(c->sema, value, &sim->start[part->offset]);
            } else if (value->kind == N_VECTOR && value->nkids == part->count) {
                for (int k = 0; k < part->count && folded; k++)
                    folded = phys_sema_fold(c->sema, value->kids[k], &sim->start[part->offset + k]);
            } else {
                unsupported(c, value, "this start value of %s (write a vector [a, b, ...])", part->sym->name);
                return 0;
            }
            if (!folded) {
                phys_error(c->diag, value->loc, "the start value of %s must be a constant known when the model is "
                                                "compiled", part->sym->name);
                return 0;
            }
        }
    }
    if (d->kids[2]) {
        sim->out_file = d->kids[2]->name;
    } else {
        snprintf(buf, sizeof buf, "%s_%s.csv", m->name, d->name ? d->name : "trajectory");
        sim->out_file = phys_arena_strdup(c->sema->arena, buf, strlen(buf));
    }
    return 1;
}

/* ---------------------------------------------------------------- model */

static uint64_t fnv(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* A field whose body is not just its network gets an evaluator for its
 * value and every derivative of order <= 2 (see physm_field). */
static int lower_field_eval(lctx *c, int fi)
{
    lw_field *f = &c->m->fields[fi];
    unsigned char zero[DAG_MAX_INPUTS] = {0};
    int plain = 1;
    for (int o = 0; o < f->n_outputs; o++)
        if (f->body[o] != dag_net(c->dag, zero, o)) plain = 0;
    if (plain) return 1;
    lw_term *t = xcalloc(1, sizeof *t);
    t->name = f->name;
    t->n_coords = f->n_inputs;
    for (int i = 0; i < f->n_inputs; i++) t->coords[i] = f->inputs[i];
    f->eval = t;
    int n = f->n_inputs;
    /* value, d/dx_i, d2/dx_i dx_j (i <= j) */
    int list[1 + DAG_MAX_INPUTS + DAG_MAX_INPUTS * (DAG_MAX_INPUTS + 1) / 2][2];
    int count = 0;
    list[count][0] = -1, list[count][1] = -1, count++;
    for (int i = 0; i < n; i++) list[count][0] = i, list[count][1] = -1, count++;
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) list[count][0] = i, list[count][1] = j, count++;
    int inputs[DAG_MAX_INPUTS];
    for (int i = 0; i < n; i++) inputs[i] = dag_leaf(c->dag, X_COORD, i);
    lw_term *saved = c->term;
    c->term = t;
    f->n_derivs = count;
    t->residuals = xcalloc((size_t)(count * f->n_outputs), sizeof(int));
    for (int k = 0; k < count; k++) {
        memset(f->derivs[k], 0, DAG_MAX_INPUTS);
        int vk[2], nv = 0;
        for (int q = 0; q < 2; q++)
            if (list[k][q] >= 0) vk[nv++] = list[k][q], f->derivs[k][list[k][q]]++;
        tensor v = field_at(c, f->sym->decl, f->sym, inputs, vk, nv);
        if (v.rank < 0) {
            c->term = saved;
            return 0;
        }
        for (int o = 0; o < f->n_outputs; o++) t->residuals[t->n_residuals++] = v.el[o];
    }
    c->term = saved;
    return 1;
}

static int lower_field(lctx *c, const phys_symbol *sym)
{
    lw_model *m = c->m;
    const phys_node *net = sym->network;
    if (!net) return 0;
    if (strcmp(net->kids[0]->name, "mlp")) {
        unsupported(c, net, "%s() networks; the back end runs mlp(...)", net->kids[0]->name);
        return 0;
    }
    for (int i = 0; i < sym->n_inputs; i++) {
        const phys_symbol *g = phys_sema_lookup(c->sema, sym->inputs[i]);
        if (g && g->kind != SYM_STATE) {
            unsupported(c, sym->input_nodes[i], "fields of %s", phys_symbol_kind_with_article(g->kind));
            return 0;
        }
    }
    m->fields = realloc(m->fields, sizeof *m->fields * (size_t)(m->n_fields + 1));
    if (!m->fields) exit(70);
    lw_field *f = &m->fields[m->n_fields];
    memset(f, 0, sizeof *f);
    f->name = sym->name;
    f->sym = sym;
    for (int i = 0; i < sym->n_inputs; i++) {
        int width = formal_width(c, sym, i);
        if (f->n_inputs + width > DAG_MAX_INPUTS) {
            unsupported(c, sym->decl, "fields of more than %d inputs", DAG_MAX_INPUTS);
            return 0;
        }
        const phys_symbol *g = phys_sema_lookup(c->sema, sym->inputs[i]);
        for (int k = 0; k < width; k++) f->inputs[f->n_inputs++] = width == 1 ? sym->inputs[i] : component_name(c, g, k);
    }
    f->n_outputs = sym->shape.rank == 1 ? sym->shape.dims[0] : 1;
    if (f->n_outputs < 1 || f->n_outputs > 16) {
        unsupported(c, sym->decl, "fields with more than 16 outputs");
        return 0;
    }
    const phys_node *hidden = phys_node_named_arg(net, "hidden");
    f->n_hidden = hidden ? hidden->nkids : 0;
    if (f->n_hidden > 64) {
        unsupported(c, hidden, "more than 64 hidden layers");
        return 0;
    }
    for (int i = 0; i < f->n_hidden; i++) {
        double w = 0;
        phys_sema_fold(c->sema, hidden->kids[i], &w);
        f->hidden[i] = (int)w;
    }
    const phys_node *act = phys_node_named_arg(net, "activation");
    physrt_activation a = PHYSRT_ACT_TANH;
    if (act && physrt_activation_parse(act->name, &a) != PHYSRT_OK) a = PHYSRT_ACT_TANH;
    f->activation = (int)a;
    const phys_node *init = phys_node_named_arg(net, "init");
    if (init && strcmp(init->name, "xavier")) {
        unsupported(c, init, "init = %s (the runtime initialises with xavier)", init->name);
        return 0;
    }

    /* The body: formals are X_INPUT leaves, the network X_NET leaves. */
    c->field = f;
    c->term = NULL;
    c->n_bindings = 0;
    for (int i = 0, n = 0; i < sym->n_inputs; i++) {
        int width = formal_width(c, sym, i), leaves[DAG_MAX_INPUTS];
        for (int k = 0; k < width; k++) leaves[k] = dag_leaf(c->dag, X_INPUT, n + k);
        const phys_symbol *g = phys_sema_lookup(c->sema, sym->inputs[i]);
        bind(c, sym->input_nodes[i], sym->inputs[i], width == 1 ? scalar_of(leaves[0]) : shaped(g, leaves));
        n += width;
    }
    tensor body = lower_expr(c, sym->decl->kids[2]);
    c->field = NULL;
    c->n_bindings = 0;
    if (body.rank < 0) return 0;
    if (body.n != f->n_outputs) {
        unsupported(c, sym->decl, "a field body whose size differs from its network's outputs");
        return 0;
    }
    memcpy(f->body, body.el, sizeof(int) * (size_t)body.n);
    m->n_fields++;
    return lower_field_eval(c, m->n_fields - 1);
}

static lw_term *new_term(lctx *c, const char *name, int kind, const phys_node *decl)
{
    lw_model *m = c->m;
    m->terms = realloc(m->terms, sizeof *m->terms * (size_t)(m->n_terms + 1));
    if (!m->terms) exit(70);
    lw_term *t = &m->terms[m->n_terms++];
    memset(t, 0, sizeof *t);
    if (name) {
        t->name = name;
    } else { /* unnamed terms are named by kind and line, as progress shows them */
        static const char *const kinds[] = {"equation", "initial", "boundary", "data"};
        char buf[64];
        snprintf(buf, sizeof buf, "%s@%d", kinds[kind], decl->loc.first_line);
        t->name = phys_arena_strdup(c->sema->arena, buf, strlen(buf));
    }
    t->kind = kind;
    t->weight = 1.0;
    return t;
}

static void add_residuals(lw_term *t, tensor r)
{
    t->residuals = realloc(t->residuals, sizeof(int) * (size_t)(t->n_residuals + r.n));
    if (!t->residuals) exit(70);
    for (int i = 0; i < r.n; i++) t->residuals[t->n_residuals++] = r.el[i];
}

static int lower_constraints(lctx *c, lw_term *t, const phys_node *list, const phys_symbol *dom)
{
    for (int i = 0; i < list->nkids; i++) {
        const phys_node *k = list->kids[i];
        if (!k->kids[1]) { /* periodic(u, x) */
            const phys_node *call = k->kids[0];
            if (call->kind != N_CALL || strcmp(call->kids[0]->name, "periodic") || !dom) {
                unsupported(c, call, "this constraint form");
                return 0;
            }
            const phys_symbol *f = phys_sema_lookup(c->sema, call->kids[1]->name);
            const char *x = call->kids[2]->name;
            int inputs_lo[DAG_MAX_INPUTS], inputs_hi[DAG_MAX_INPUTS];
            if (!bound_inputs(c, call, f, inputs_lo)) return 0;
            memcpy(inputs_hi, inputs_lo, sizeof inputs_lo);
            int pos = input_position(c, f, x), coord = -1;
            for (int j = 0; j < dom->n_inputs; j++)
                if (!strcmp(dom->inputs[j], x)) coord = j;
            if (coord < 0) {
                unsupported(c, call, "periodic() in an input that is not a coordinate of the domain");
                return 0;
            }
            inputs_lo[pos] = dag_const(c->dag, t->lo[coord]);
            inputs_hi[pos] = dag_const(c->dag, t->hi[coord]);
            tensor a = field_at(c, call, f, inputs_lo, NULL, 0), b = field_at(c, call, f, inputs_hi, NULL, 0);
            tensor r = map2(c, call, X_SUB, a, b);
            if (r.rank < 0) return 0;
            add_residuals(t, r);
            continue;
        }
        tensor r = map2(c, k, X_SUB, lower_expr(c, k->kids[0]), lower_expr(c, k->kids[1]));
        if (r.rank < 0) return 0;
        add_residuals(t, r);
    }
    return 1;
}

static int sampler_of(lctx *c, const phys_node *method)
{
    if (!method) return PHYSM_SAMPLE_UNIFORM;
    const char *name = method->kind == N_CALL ? method->kids[0]->name : method->name;
    if (!strcmp(name, "uniform")) return PHYSM_SAMPLE_UNIFORM;
    if (!strcmp(name, "sobol")) return PHYSM_SAMPLE_SOBOL;
    if (!strcmp(name, "lhs")) return PHYSM_SAMPLE_LHS;
    if (!strcmp(name, "grid")) return PHYSM_SAMPLE_GRID;
    unsupported(c, method, "%s sampling", name);
    return -1;
}

static int lower_condition(lctx *c, const phys_node *d)
{
    const phys_node *region = d->kids[0];
    const phys_symbol *dom = phys_sema_lookup(c->sema, region->kids[0]->name);
    const phys_node *fixes = region->kids[1];
    int whole_boundary = region->op == 'b';
    if (dom && dom->kind == SYM_REGION) {
        const phys_node *inner = dom->decl->kids[0];
        if (fixes || inner->kids[2]) {
            unsupported(c, region, "regions built on named regions");
            return 0;
        }
        fixes = inner->kids[1];
        whole_boundary = inner->op == 'b';
        dom = phys_sema_lookup(c->sema, inner->kids[0]->name);
        region = inner;
    }
    if (!dom || dom->kind != SYM_DOMAIN) {
        unsupported(c, region, "this region");
        return 0;
    }
    if (region->kids[2]) {
        unsupported(c, region->kids[2], "'where' regions");
        return 0;
    }
    static const int kinds[] = {['e'] = PHYSM_EQUATION, ['i'] = PHYSM_INITIAL, ['b'] = PHYSM_BOUNDARY};
    lw_term *t = new_term(c, d->name, kinds[d->op], d);
    t->n_coords = dom->n_inputs;
    for (int i = 0; i < dom->n_inputs; i++) {
        t->coords[i] = dom->inputs[i];
        phys_sema_fold(c->sema, dom->input_nodes[i]->kids[0], &t->lo[i]);
        phys_sema_fold(c->sema, dom->input_nodes[i]->kids[1], &t->hi[i]);
    }
    if (whole_boundary) {
        t->n_faces = 2 * t->n_coords;
        t->faces = xcalloc((size_t)t->n_faces, sizeof *t->faces);
        for (int i = 0; i < t->n_coords; i++)
            for (int side = 0; side < 2; side++) {
                lw_face *f = &t->faces[2 * i + side];
                f->n_fixed = 1;
                f->coords[0] = i;
                f->values[0] = side ? t->hi[i] : t->lo[i];
            }
    } else if (fixes) {
        t->n_faces = fixes->nkids;
        t->faces = xcalloc((size_t)t->n_faces, sizeof *t->faces);
        for (int g = 0; g < fixes->nkids; g++) {
            const phys_node *group = fixes->kids[g];
            lw_face *f = &t->faces[g];
            for (int k = 0; k < group->nkids; k++) {
                for (int i = 0; i < t->n_coords; i++)
                    if (!strcmp(t->coords[i], group->kids[k]->name)) f->coords[f->n_fixed] = i;
                phys_sema_fold(c->sema, group->kids[k]->kids[0], &f->values[f->n_fixed]);
                f->n_fixed++;
            }
        }
    }
    const phys_node *sample = d->kids[1];
    double n = d->op == 'e' ? 1000 : 100;
    if (sample) phys_sema_fold(c->sema, sample->kids[0], &n);
    t->n_points = (int)n;
    t->sampler = sampler_of(c, sample ? sample->kids[1] : NULL);
    if (t->sampler < 0) return 0;
    if (d->kids[2]) {
        if (!phys_sema_fold(c->sema, d->kids[2], &t->weight)) {
            unsupported(c, d->kids[2], "adaptive loss weights");
            return 0;
        }
    }
    c->term = t;
    c->n_bindings = 0;
    for (int i = 0; i < t->n_coords; i++) bind(c, d, t->coords[i], scalar_of(dag_leaf(c->dag, X_COORD, i)));
    int ok = lower_constraints(c, t, d->kids[3], dom);
    c->term = NULL;
    c->n_bindings = 0;
    return ok;
}

static int is_trajectory(const phys_node *constraints)
{
    if (!constraints || constraints->nkids != 1 || constraints->kids[0]->kids[1]) return 0;
    const phys_node *call = constraints->kids[0]->kids[0];
    return call->kind == N_CALL && call->kids[0]->kind == N_NAME && !strcmp(call->kids[0]->name, "trajectory");
}

static int lower_data(lctx *c, const phys_node *d)
{
    lw_term *t = new_term(c, d->name, PHYSM_DATA, d);
    const phys_node *cols = d->kids[1];
    t->data_file = d->kids[0]->name;
    if (d->kids[2] && !phys_sema_fold(c->sema, d->kids[2], &t->weight)) {
        unsupported(c, d->kids[2], "adaptive loss weights");
        return 0;
    }
    c->term = t;
    c->n_bindings = 0;
    /* A state or attribute column stands for all its numbers (q_0, r_3_x, ...). */
    int first_coord[LW_MAX_COORDS];
    int n = 0;
    for (int i = 0; i < cols->nkids; i++) {
        const char *name = cols->kids[i]->name;
        const phys_symbol *s = phys_sema_lookup(c->sema, name);
        int numbers = s && (s->kind == SYM_STATE || s->kind == SYM_ATTRIBUTE); /* q_0 even for q[1] */
        int count = numbers ? size_of(s) : 1;
        if (count > MAX_ELEMENTS) {
            unsupported(c, cols->kids[i], "a data column of more than %d numbers", MAX_ELEMENTS);
            return 0;
        }
        if (n + count > LW_MAX_COORDS / 2 || i >= LW_MAX_COORDS) {
            unsupported(c, cols, "more than %d data columns", LW_MAX_COORDS / 2);
            return 0;
        }
        first_coord[i] = n;
        int leaves[LW_MAX_COORDS];
        for (int k = 0; k < count; k++) {
            t->coords[n + k] = numbers ? component_name(c, s, k) : name;
            leaves[k] = dag_leaf(c->dag, X_COORD, n + k);
        }
        if (count > 1 || (s && (s->kind == SYM_STATE || s->kind == SYM_ATTRIBUTE))) bind(c, d, name, shaped(s, leaves));
        else if (!s || s->kind != SYM_FIELD) bind(c, d, name, scalar_of(leaves[0]));
        n += count;
    }
    t->n_coords = n;
    int ok = 1;
    if (is_trajectory(d->kids[3])) {
        ok = lower_trajectory(c, t, d->kids[3]->kids[0]->kids[0], n, first_coord, cols);
    } else if (d->kids[3]) {
        ok = lower_constraints(c, t, d->kids[3], NULL);
    } else {
        for (int i = 0; i < cols->nkids && ok; i++) {
            const phys_symbol *f = phys_sema_lookup(c->sema, cols->kids[i]->name);
            if (!f || f->kind != SYM_FIELD) continue;
            int inputs[DAG_MAX_INPUTS];
            if (!bound_inputs(c, cols->kids[i], f, inputs)) return 0;
            tensor value = field_at(c, cols->kids[i], f, inputs, NULL, 0);
            if (value.rank < 0) return 0;
            if (value.n != 1) {
                unsupported(c, cols->kids[i], "observations of vector-valued fields in one column");
                return 0;
            }
            tensor r = scalar_of(dag_binary(c->dag, X_SUB, value.el[0], dag_leaf(c->dag, X_COORD, first_coord[i])));
            add_residuals(t, r);
        }
    }
    prune_term(c, t);
    c->term = NULL;
    c->n_bindings = 0;
    return ok;
}

static void default_stage(lw_stage *s, int optimizer)
{
    /* The defaults of physrt_adam_default_options / physrt_lbfgs_default_options. */
    memset(s, 0, sizeof *s);
    s->optimizer = optimizer;
    s->steps = 1000;
    s->lr = 1e-3;
    s->beta1 = 0.9;
    s->beta2 = 0.999;
    s->eps = 1e-8;
    s->schedule = PHYSRT_LR_CONSTANT;
    s->decay_rate = 1.0;
    s->decay_steps = 1;
    s->history = 10;
    s->grad_tol = 1e-10;
}

static double arg_or(lctx *c, const phys_node *call, const char *name, double fallback)
{
    const phys_node *a = phys_node_named_arg(call, name);
    double v;
    if (a && phys_sema_fold(c->sema, a, &v)) return v;
    return fallback;
}

static int lower_train(lctx *c, const phys_node *d)
{
    lw_model *m = c->m;
    for (int i = 0; i < d->nkids; i++) {
        const phys_node *call = d->kids[i];
        const char *name = call->kids[0]->name;
        m->stages = realloc(m->stages, sizeof *m->stages * (size_t)(m->n_stages + 1));
        if (!m->stages) exit(70);
        lw_stage *s = &m->stages[m->n_stages++];
        default_stage(s, !strcmp(name, "adam") ? PHYSM_ADAM : PHYSM_LBFGS);
        s->steps = (long)arg_or(c, call, "steps", 1000);
        if (s->optimizer == PHYSM_ADAM) {
            s->lr = arg_or(c, call, "lr", s->lr);
            s->beta1 = arg_or(c, call, "beta1", s->beta1);
            s->beta2 = arg_or(c, call, "beta2", s->beta2);
            s->eps = arg_or(c, call, "eps", s->eps);
            if (phys_node_named_arg(call, "resample")) {
                unsupported(c, phys_node_named_arg(call, "resample"), "resampling during training");
                return 0;
            }
            const phys_node *sched = phys_node_named_arg(call, "schedule");
            if (sched) {
                const char *sn = sched->kind == N_CALL ? sched->kids[0]->name : sched->name;
                if (!strcmp(sn, "exponential") || !strcmp(sn, "step")) {
                    s->schedule = !strcmp(sn, "step") ? PHYSRT_LR_STEP : PHYSRT_LR_EXPONENTIAL;
                    s->decay_rate = arg_or(c, sched, !strcmp(sn, "step") ? "factor" : "rate", 1.0);
                    s->decay_steps = (long)arg_or(c, sched, "every", 1);
                } else if (!strcmp(sn, "cosine")) {
                    s->schedule = PHYSRT_LR_COSINE;
                    s->lr_min = arg_or(c, sched, "min_lr", 0.0);
                }
            }
        } else {
            s->history = (int)arg_or(c, call, "history", s->history);
            s->grad_tol = arg_or(c, call, "tolerance_grad", s->grad_tol);
            s->rel_f_tol = arg_or(c, call, "tolerance_change", s->rel_f_tol);
            s->max_evaluations = (long)arg_or(c, call, "max_evaluations", 0);
        }
    }
    return 1;
}

/* Declarations this back end cannot run yet, named so the user knows. */
static const char *unsupported_decl(const phys_node *d)
{
    switch (d->kind) {
    case N_SPINS: return "spins";
    case N_COUPLING: return "couplings";
    case N_RECALL: return "recall";
    case N_OUTPUT: return "output declarations (use ./model eval)";
    case N_PRINT: return "print in a compiled model (use physc repl)";
    case N_SYMMETRY: return "symmetry declarations (checked, but no runtime check yet)";
    case N_LOSS_WEIGHT:
        return d->kids[0]->kind == N_NAME && !strcmp(d->kids[0]->name, "adaptive") ? "adaptive loss weights" : NULL;
    default: return NULL;
    }
}

static const char *directory_of(phys_arena *arena, const char *path)
{
    char resolved[PATH_MAX];
    const char *base = realpath(path, resolved) ? resolved : path;
    const char *slash = strrchr(base, '/');
    if (!slash) return ".";
    return phys_arena_strdup(arena, base, slash == base ? 1 : (size_t)(slash - base));
}

lw_model *phys_lower(phys_sema *sema, const phys_node *program, const char *source_path, phys_diag *diag,
                     int session)
{
    lw_model *m = xcalloc(1, sizeof *m);
    m->dag = dag_create();
    int errors = diag->errors;
    lctx *c = xcalloc(1, sizeof *c);
    c->sema = sema;
    c->diag = diag;
    c->m = m;
    c->dag = m->dag;
    set_stack_budget(c);
    m->source_path = source_path;
    m->source_dir = directory_of(sema->arena, source_path);
    const char *base = strrchr(source_path, '/');
    base = base ? base + 1 : source_path;
    size_t len = strlen(base);
    if (len > 5 && !strcmp(base + len - 5, ".phys")) len -= 5;
    m->name = phys_arena_strdup(sema->arena, base, len);

    for (int i = 0; i < program->nkids; i++) {
        const phys_node *d = program->kids[i];
        const char *what = session && d->kind == N_PRINT ? NULL : unsupported_decl(d);
        if (what) phys_error(diag, d->loc, "not supported yet: %s", what);
        if (d->kind == N_MODEL) m->name = d->name;
        if (d->kind == N_IMPORT) {
            /* imported lets are used by inlining; other imported declarations
             * would need lowering of their own */
        }
    }
    /* Parameters and fields, in declaration order. */
    for (int i = 0; i < phys_sema_symbol_count(sema); i++) {
        const phys_symbol *s = phys_sema_symbol_at(sema, i);
        if (s->replaced) continue;
        if (s->kind == SYM_PARAM) {
            if (s->shape.rank != 0) {
                phys_error(diag, s->decl->loc, "not supported yet: vector-valued trainable parameters");
                continue;
            }
            m->param_names = realloc(m->param_names, sizeof *m->param_names * (size_t)(m->n_params + 1));
            m->param_inits = realloc(m->param_inits, sizeof *m->param_inits * (size_t)(m->n_params + 1));
            if (!m->param_names || !m->param_inits) exit(70);
            m->param_names[m->n_params] = s->name;
            m->param_inits[m->n_params] = 0;
            phys_sema_fold(sema, s->decl->kids[1], &m->param_inits[m->n_params]);
            m->n_params++;
        }
    }
    for (int i = 0; i < phys_sema_symbol_count(sema); i++) {
        const phys_symbol *s = phys_sema_symbol_at(sema, i);
        if (!s->replaced && s->kind == SYM_FIELD) lower_field(c, s);
    }
    int dynamics_ok = diag->errors == errors && dyn_init(c, program);
    if (dynamics_ok && c->dyn.decl && !session) dynamics_ok = lower_dynamics(c, program);
    c->term = NULL;
    c->n_bindings = 0;
    for (int i = 0; i < program->nkids && !phys_diag_full(diag); i++) {
        const phys_node *d = program->kids[i];
        if (d->kind == N_CONDITION) lower_condition(c, d);
        else if (d->kind == N_DATA && dynamics_ok) lower_data(c, d);
        else if (d->kind == N_TRAIN) lower_train(c, d);
        else if (d->kind == N_SIMULATE && dynamics_ok && !session) lower_simulation(c, d);
    }
    /* loss weight NAME = w applies after the terms exist */
    for (int i = 0; i < program->nkids; i++) {
        const phys_node *d = program->kids[i];
        if (d->kind != N_LOSS_WEIGHT) continue;
        for (int t = 0; t < m->n_terms; t++)
            if (!strcmp(m->terms[t].name, d->name)) phys_sema_fold(sema, d->kids[0], &m->terms[t].weight);
    }
    const phys_node *first = program->nkids ? program->kids[0] : program;
    if (m->n_terms == 0 && diag->errors == errors && !session && !m->dynamics)
        phys_error(diag, first->loc,
                   "this model has nothing to train or simulate: declare an equation, a condition, data or "
                   "dynamics");
    if (m->n_fields == 0 && diag->errors == errors && !session && !m->dynamics)
        phys_error(diag, first->loc, "this model has no field to learn: declare one with 'field'");
    if (m->n_stages == 0) {
        m->stages = xcalloc(1, sizeof *m->stages);
        default_stage(&m->stages[0], PHYSM_ADAM);
        m->n_stages = 1;
    }
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < m->n_fields; i++) {
        const lw_field *f = &m->fields[i];
        h = fnv(h, f->name, strlen(f->name) + 1);
        int sizes[3] = {f->n_inputs, f->n_outputs, f->n_hidden};
        h = fnv(h, sizes, sizeof sizes);
        h = fnv(h, f->hidden, sizeof(int) * (size_t)f->n_hidden);
        h = fnv(h, &f->activation, sizeof f->activation);
    }
    for (int i = 0; i < m->n_params; i++) h = fnv(h, m->param_names[i], strlen(m->param_names[i]) + 1);
    m->structure_hash = h;
    free(c);
    if (diag->errors != errors) {
        phys_lower_free(m);
        return NULL;
    }
    return m;
}

static void free_term(lw_term *t)
{
    free(t->faces);
    free(t->probes);
    free(t->slots);
    free(t->residuals);
}

void phys_lower_free_term(lw_term *t)
{
    if (!t) return;
    free_term(t);
    free(t);
}

lw_term *phys_lower_print(lw_model *m, phys_sema *sema, const phys_node *print, phys_diag *diag, phys_shape *shapes)
{
    int errors = diag->errors;
    lctx *c = xcalloc(1, sizeof *c);
    c->sema = sema;
    c->diag = diag;
    c->m = m;
    c->dag = m->dag;
    set_stack_budget(c);
    lw_term *t = xcalloc(1, sizeof *t);
    t->name = "print";
    c->term = t;
    int cut_short = 0;
    for (int i = 0; i < print->nkids; i++) {
        tensor v = lower_expr(c, print->kids[i]);
        if (v.rank < 0) {
            cut_short = 1;
            break;
        }
        shapes[i].rank = v.rank;
        shapes[i].dims[0] = v.dims[0];
        shapes[i].dims[1] = v.dims[1];
        add_residuals(t, v);
    }
    free(c);
    if (diag->errors == errors && cut_short) /* a failure that said nothing: never print garbage */
        phys_error(diag, print->loc, "internal error: these expressions could not be evaluated");
    if (diag->errors != errors) {
        phys_lower_free_term(t);
        return NULL;
    }
    return t;
}

void phys_lower_free(lw_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_terms; i++) free_term(&m->terms[i]);
    for (int i = 0; i < m->n_fields; i++) {
        if (!m->fields[i].eval) continue;
        free_term(m->fields[i].eval);
        free(m->fields[i].eval);
    }
    if (m->dynamics) {
        lw_term *pseudo[3] = {m->dynamics->rhs, m->dynamics->energy, m->dynamics->momentum};
        for (int k = 0; k < 3; k++) phys_lower_free_term(pseudo[k]);
        free(m->dynamics);
    }
    for (int i = 0; i < m->n_simulations; i++) free(m->simulations[i].start);
    free(m->simulations);
    free(m->terms);
    free(m->fields);
    free(m->param_names);
    free(m->param_inits);
    free(m->stages);
    dag_destroy(m->dag);
    free(m);
}
