#define _DEFAULT_SOURCE /* realpath */
/* The lowering pass: checked AST -> lw_model (see lower.h). Every
 * expression becomes a small tensor (scalar, vector or matrix) of DAG nodes;
 * a field evaluated somewhere becomes a probe of its network, and each
 * derivative of it a stream of that probe, obtained by differentiating the
 * field's body (its hard-constraint transform around the network) with
 * dag_diff and substituting the probe's inputs. States, particles and
 * dynamics are lowered by lower_dynamics.c. */
#include "lower.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "lower_internal.h"
#include "physmodel.h"

void *lw_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fputs("physc: out of memory\n", stderr);
        exit(70);
    }
    return p;
}

tensor lw_failed(void)
{
    tensor t;
    memset(&t, 0, sizeof t);
    t.rank = -1;
    return t;
}

tensor lw_scalar_of(int node)
{
    tensor t;
    memset(&t, 0, sizeof t);
    t.n = 1;
    t.el[0] = node;
    return t;
}

tensor lw_unsupported(lctx *c, const phys_node *at, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    phys_error(c->diag, at->loc, "not supported yet: %s", what);
    return lw_failed();
}

const binding *lw_find_binding(const lctx *c, const char *name)
{
    for (int i = c->n_bindings - 1; i >= 0; i--)
        if (!strcmp(c->bindings[i].name, name)) return &c->bindings[i];
    return NULL;
}

int lw_bind(lctx *c, const phys_node *at, const char *name, tensor value)
{
    if (c->n_bindings == MAX_BINDINGS) {
        lw_unsupported(c, at, "more than %d nested names", MAX_BINDINGS);
        return 0;
    }
    c->bindings[c->n_bindings].name = name;
    c->bindings[c->n_bindings].value = value;
    c->n_bindings++;
    return 1;
}


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

int lw_find_probe(lctx *c, int field, const int *inputs)
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
int lw_stream_slot(lctx *c, int probe, const unsigned char *alpha, int output, int *overflow)
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
    return lw_stream_slot(ref->c, ref->probe, alpha, output, &ref->overflow);
}

/* Field `f` (with derivative variables vars[0..n_vars)) at the given input
 * nodes: one element per output. */
tensor lw_field_at(lctx *c, const phys_node *at, const phys_symbol *sym, const int *inputs, const int *vars,
                       int n_vars)
{
    int fi = field_index(c, sym);
    if (fi < 0) return lw_failed(); /* its declaration failed to lower: reported there */
    if (!c->term) return lw_unsupported(c, at, "a field used inside the definition of another field");
    const lw_field *f = &c->m->fields[fi];
    probe_ref ref = {c, lw_find_probe(c, fi, inputs), 0};
    tensor out;
    memset(&out, 0, sizeof out);
    out.rank = f->n_outputs > 1;
    out.dims[0] = f->n_outputs > 1 ? f->n_outputs : 0;
    out.n = f->n_outputs;
    for (int o = 0; o < f->n_outputs; o++) {
        int node = f->body[o];
        int too_high = 0;
        for (int k = 0; k < n_vars; k++) node = dag_diff(c->dag, node, vars[k], &too_high);
        if (too_high) return lw_unsupported(c, at, "derivatives of order above %d", DAG_MAX_ORDER);
        out.el[o] = dag_substitute(c->dag, node, inputs, stream_leaf, &ref);
    }
    if (ref.overflow) return lw_unsupported(c, at, "more than %d derivative streams of one field", MAX_STREAMS_PER_PROBE);
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

int lw_bound_inputs(lctx *c, const phys_node *at, const phys_symbol *sym, int *inputs)
{
    int n = 0;
    for (int i = 0; i < sym->n_inputs; i++) {
        const binding *b = lw_find_binding(c, sym->inputs[i]);
        int width = formal_width(c, sym, i);
        if (!b || b->value.n != width || (!formal_is_vector(c, sym, i) && b->value.rank != 0) ||
            n + width > DAG_MAX_INPUTS) {
            lw_unsupported(c, at, "field %s used where its input '%s' is not a coordinate", sym->name, sym->inputs[i]);
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

/* ------------------------------------------------------------ arithmetic */

tensor lw_map2(lctx *c, const phys_node *at, dag_op op, tensor a, tensor b)
{
    if (a.rank < 0 || b.rank < 0) return lw_failed();
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
    if (a.n != b.n) return lw_unsupported(c, at, "operands of different sizes");
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

tensor lw_need_scalar(lctx *c, const phys_node *at, tensor t)
{
    if (t.rank < 0) return t;
    if (t.n != 1) return lw_unsupported(c, at, "a vector where a scalar is needed");
    return t;
}

/* The built-in a callee names: the checker's resolution, or for a name the
 * checker only folded (linspace bounds and the like), by spelling. */
static phys_builtin_id callee_builtin(lctx *c, const phys_node *callee)
{
    phys_builtin_id id = phys_resolved_builtin(callee);
    if (id != B_ID_NONE || callee->kind != N_NAME || callee->res.kind != PHYS_UNRESOLVED) return id;
    if (lw_find_binding(c, callee->name) || phys_sema_lookup(c->sema, callee->name)) return B_ID_NONE;
    const phys_builtin *b = phys_builtin_callable(callee->name);
    return b ? b->id : B_ID_NONE;
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
            if (n_args != sym->n_inputs) return lw_failed();
            tensor a = lw_need_scalar(c, args[i], lw_lower_expr(c, args[i]));
            if (a.rank < 0) return a;
            actual[i] = a.el[0];
        } else {
            const binding *b = lw_find_binding(c, sym->inputs[i]);
            if (!b || b->value.rank != 0)
                return lw_unsupported(c, at, "d() of function %s where its input '%s' is not bound", sym->name,
                                   sym->inputs[i]);
            actual[i] = b->value.el[0];
        }
    }
    if (++c->depth > 64) {
        c->depth--;
        return lw_unsupported(c, op_call, "functions nested more than 64 deep");
    }
    int saved = c->n_bindings, slots = c->term ? c->term->n_slots : 0, probes = c->term ? c->term->n_probes : 0;
    for (int i = 0; i < sym->n_inputs; i++)
        if (!lw_bind(c, op_call, sym->inputs[i], lw_scalar_of(dag_leaf(c->dag, X_INPUT, i)))) return lw_failed();
    tensor body = lw_lower_expr(c, sym->decl->kids[1]);
    c->n_bindings = saved;
    c->depth--;
    if (body.rank < 0) return body;
    if (c->term && (c->term->n_slots != slots || c->term->n_probes != probes))
        return lw_unsupported(c, op_call, "d() of function %s, which evaluates a field: differentiate the field", sym->name);
    for (int e = 0; e < body.n; e++) {
        int node = body.el[e], too_high = 0, hit_net = 0;
        for (int k = 2; k < op_call->nkids; k++)
            node = dag_diff(c->dag, node, input_position(c, sym, op_call->kids[k]->name), &too_high);
        body.el[e] = dag_substitute(c->dag, node, actual, fail_net, &hit_net);
        if (hit_net) return lw_unsupported(c, op_call, "d() of function %s inside a field definition", sym->name);
    }
    return body;
}

/* d(u, x, ...), grad(u), laplace(u), div(u), hessian(u), at the inputs given
 * (args) or where u's inputs are bound. */

static __attribute__((noinline)) tensor lower_derivative(lctx *c, const phys_node *op_call, const phys_node *const *args, int n_args,
                               const phys_node *at)
{
    phys_builtin_id id = callee_builtin(c, op_call->kids[0]);
    const char *op = phys_builtin_of(id)->name;
    const phys_node *target = op_call->kids[1];
    const phys_symbol *sym = phys_sema_lookup(c->sema, target->name);
    if (!sym) return lw_failed();
    if (id == B_ID_DDT) return lw_lower_ddt(c, op_call, sym);
    if (!args && op_call->nkids == 3 && lw_wrt_state(c, op_call->kids[2]->name) &&
        (id == B_ID_GRAD || id == B_ID_D || sym->kind != SYM_FIELD))
        return lw_gradient_wrt(c, op_call, sym, op_call->kids[2]->name);
    if (sym->kind == SYM_LET && id == B_ID_D) return lower_let_derivative(c, op_call, sym, args, n_args, at);
    if (sym->kind != SYM_FIELD)
        return lw_unsupported(c, op_call, "%s() of the %s %s", op, phys_symbol_kind_name(sym->kind), sym->name);
    if (op_call->nkids == 3 && id != B_ID_D)
        return lw_unsupported(c, op_call, "%s() with respect to particle positions or states", op);
    /* a vector state gives several network inputs: only d(V, q), its
     * gradient, is taken (by gradient_wrt above) */
    for (int i = 0; i < sym->n_inputs; i++) {
        if (!formal_is_vector(c, sym, i)) continue;
        if (id != B_ID_D)
            return lw_unsupported(c, op_call, "%s() of field %s, whose input %s is a vector state (d(%s, %s) is its gradient)",
                               op, sym->name, sym->inputs[i], sym->name, sym->inputs[i]);
        for (int k = 2; k < op_call->nkids; k++)
            if (!strcmp(op_call->kids[k]->name, sym->inputs[i]))
                return lw_unsupported(c, op_call, op_call->nkids > 3 ? "derivatives of order above 1 with respect to the "
                                                                    "vector state %s"
                                                                  : "d() with respect to the vector state %s at given "
                                                                    "inputs",
                                   sym->inputs[i]);
    }
    int inputs[DAG_MAX_INPUTS];
    if (args) {
        if (n_args != sym->n_inputs) return lw_failed();
        for (int i = 0; i < n_args; i++) {
            tensor a = lw_need_scalar(c, args[i], lw_lower_expr(c, args[i]));
            if (a.rank < 0) return a;
            inputs[i] = a.el[0];
        }
    } else if (!lw_bound_inputs(c, at, sym, inputs)) {
        return lw_failed();
    }
    int n = sym->n_inputs;
    if (id == B_ID_D) {
        int vars[DAG_MAX_ORDER + 1];
        int n_vars = op_call->nkids - 2;
        for (int k = 0; k < n_vars; k++) vars[k] = input_position(c, sym, op_call->kids[k + 2]->name);
        return lw_field_at(c, op_call, sym, inputs, vars, n_vars);
    }
    tensor out;
    memset(&out, 0, sizeof out);
    if (id == B_ID_GRAD) {
        out.rank = 1, out.dims[0] = n, out.n = n;
        for (int i = 0; i < n; i++) {
            tensor t = lw_field_at(c, op_call, sym, inputs, &i, 1);
            if (t.rank < 0) return t;
            out.el[i] = t.el[0];
        }
        return out;
    }
    if (id == B_ID_LAPLACE || id == B_ID_DIV) {
        int sum = dag_const(c->dag, 0.0);
        for (int i = 0; i < n; i++) {
            int vars[2] = {i, i};
            tensor t = lw_field_at(c, op_call, sym, inputs, vars, id == B_ID_LAPLACE ? 2 : 1);
            if (t.rank < 0) return t;
            sum = dag_binary(c->dag, X_ADD, sum, t.el[id == B_ID_DIV ? i : 0]);
        }
        return lw_scalar_of(sum);
    }
    /* hessian */
    if (n * n > MAX_ELEMENTS) return lw_unsupported(c, op_call, "a Hessian with more than %d entries", MAX_ELEMENTS);
    out.rank = 2, out.dims[0] = out.dims[1] = n, out.n = n * n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int vars[2] = {i, j};
            tensor t = lw_field_at(c, op_call, sym, inputs, vars, 2);
            if (t.rank < 0) return t;
            out.el[i * n + j] = t.el[0];
        }
    return out;
}

int lw_is_particle_set(lctx *c, const phys_node *e)
{
    const phys_symbol *s = e->kind == N_NAME && !lw_find_binding(c, e->name) ? phys_sema_lookup(c->sema, e->name) : NULL;
    return s && s->kind == SYM_PARTICLES;
}

static __attribute__((noinline)) tensor lower_let_call(lctx *c, const phys_symbol *sym, const phys_node *call)
{
    if (++c->depth > 64) {
        c->depth--;
        return lw_unsupported(c, call, "functions nested more than 64 deep (a recursive let?)");
    }
    tensor args[DAG_MAX_INPUTS];
    for (int i = 0; i < sym->n_inputs; i++) {
        if (lw_is_particle_set(c, call->kids[i + 1])) { /* its attributes are bound by name */
            args[i] = lw_scalar_of(dag_const(c->dag, 0.0));
            continue;
        }
        args[i] = lw_lower_expr(c, call->kids[i + 1]);
        if (args[i].rank < 0) {
            c->depth--;
            return args[i];
        }
    }
    int saved = c->n_bindings;
    for (int i = 0; i < sym->n_inputs; i++)
        if (!lw_bind(c, call, sym->inputs[i], args[i])) {
            c->depth--;
            return lw_failed();
        }
    tensor r = lw_lower_expr(c, sym->decl->kids[1]);
    c->n_bindings = saved;
    c->depth--;
    return r;
}

static __attribute__((noinline)) tensor lower_network(lctx *c, const phys_node *call)
{
    if (!c->field) return lw_unsupported(c, call, "a network outside a field");
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
        tensor a = lw_lower_expr(c, e->kids[i + 1]);
        if (a.rank < 0) return a;
        if (a.n != width || n + width > DAG_MAX_INPUTS) return lw_unsupported(c, e->kids[i + 1], "this argument's size");
        memcpy(inputs + n, a.el, sizeof(int) * (size_t)width);
        n += width;
    }
    return lw_field_at(c, e, sym, inputs, NULL, 0);
}


/* Math and vector built-ins. */
static __attribute__((noinline)) tensor lower_builtin_call(lctx *c, phys_builtin_id id, const phys_node *e)
{
    int nargs = e->nkids - 1;
    const phys_builtin *b = phys_builtin_of(id);
    const char *name = b ? b->name : e->kids[0]->name;
    dag_op op = b && b->cls == B_MATH ? b->op : X_OP_COUNT;
    if (op != X_OP_COUNT) {
        tensor a = lw_lower_expr(c, e->kids[1]);
        if (nargs == 2) return lw_map2(c, e, op, a, lw_need_scalar(c, e->kids[2], lw_lower_expr(c, e->kids[2])));
        return map1(c, op, a);
    }
    if (id == B_ID_DOT || id == B_ID_NORM) {
        tensor a = lw_lower_expr(c, e->kids[1]);
        tensor b = nargs == 2 ? lw_lower_expr(c, e->kids[2]) : a;
        if (a.rank < 0 || b.rank < 0) return lw_failed();
        if (a.n != b.n) return lw_unsupported(c, e, "dot() of vectors of different lengths");
        int sum = dag_const(c->dag, 0.0);
        for (int i = 0; i < a.n; i++) sum = dag_binary(c->dag, X_ADD, sum, dag_binary(c->dag, X_MUL, a.el[i], b.el[i]));
        return lw_scalar_of(id == B_ID_NORM ? dag_unary(c->dag, X_SQRT, sum) : sum);
    }
    if (id == B_ID_DIST || id == B_ID_UNIT || id == B_ID_DISP) {
        tensor item;
        if (lw_kernel_geometry(c, name, e, &item)) return item;
        return lw_lower_pair_geometry(c, name, e);
    }
    if (id == B_ID_CROSS) {
        tensor a = lw_lower_expr(c, e->kids[1]), b = lw_lower_expr(c, e->kids[2]);
        if (a.rank < 0 || b.rank < 0) return lw_failed();
        if (a.n != 3 || b.n != 3) return lw_unsupported(c, e, "cross() of vectors that are not 3-vectors");
        tensor r = a;
        for (int i = 0; i < 3; i++) {
            int j = (i + 1) % 3, k = (i + 2) % 3;
            r.el[i] = dag_binary(c->dag, X_SUB, dag_binary(c->dag, X_MUL, a.el[j], b.el[k]),
                                 dag_binary(c->dag, X_MUL, a.el[k], b.el[j]));
        }
        return r;
    }
    return lw_unsupported(c, e, "%s() in this back end", name);
}

static tensor lower_call(lctx *c, const phys_node *e)
{
    const phys_node *callee = e->kids[0];
    int nargs = e->nkids - 1;
    const phys_builtin *op = callee->kind == N_CALL && callee->kids[0]->kind == N_NAME
                                 ? phys_builtin_of(callee_builtin(c, callee->kids[0])) : NULL;
    if (op && op->cls == B_DERIVATIVE)
        return lower_derivative(c, callee, (const phys_node *const *)e->kids + 1, nargs, e);
    if (callee->kind != N_NAME) return lw_unsupported(c, e, "calling this kind of expression");
    const char *name = callee->name;
    const binding *bound = lw_find_binding(c, name);
    const phys_symbol *sym = bound ? NULL : phys_sema_lookup(c->sema, name);
    tensor atomic;
    if (sym && sym->kind == SYM_FIELD && lw_kernel_atomic(c, sym, e, &atomic)) return atomic;
    if (sym && sym->kind == SYM_FIELD) return lower_field_call(c, sym, e);
    if (sym && (sym->kind == SYM_LET || sym->kind == SYM_ENERGY)) return lower_let_call(c, sym, e);
    if (sym) return lw_unsupported(c, e, "calling the %s %s", phys_symbol_kind_name(sym->kind), name);
    phys_builtin_id id = callee_builtin(c, callee);
    const phys_builtin *b = phys_builtin_of(id);
    if (b && b->cls == B_NETWORK) {
        if (id != B_ID_MLP) return lw_unsupported(c, e, "%s() networks (only mlp)", name);
        return lower_network(c, e);
    }
    if (b && b->cls == B_DERIVATIVE) return lower_derivative(c, e, NULL, 0, e);
    return lower_builtin_call(c, id, e);
}

/* ------------------------------------------------------------ expressions */

static tensor lower_name(lctx *c, const phys_node *e)
{
    const binding *b = lw_find_binding(c, e->name);
    if (b) return b->value;
    const phys_symbol *sym = phys_sema_lookup(c->sema, e->name);
    if (!sym) {
        double v;
        if (phys_sema_fold(c->sema, e, &v)) return lw_scalar_of(dag_const(c->dag, v)); /* pi, e */
        return lw_unsupported(c, e, "the name '%s' here", e->name);
    }
    switch (sym->kind) {
    case SYM_CONST: {
        const phys_node *value = sym->decl->kids[1];
        double v;
        if (phys_sema_fold(c->sema, e, &v)) return lw_scalar_of(dag_const(c->dag, v));
        if (value->kind == N_VECTOR && value->nkids <= MAX_ELEMENTS) {
            tensor t;
            memset(&t, 0, sizeof t);
            t.rank = 1, t.dims[0] = t.n = value->nkids;
            for (int i = 0; i < value->nkids; i++) {
                if (!phys_sema_fold(c->sema, value->kids[i], &v)) return lw_unsupported(c, e, "this constant");
                t.el[i] = dag_const(c->dag, v);
            }
            return t;
        }
        return lw_unsupported(c, e, "the constant %s", sym->name);
    }
    case SYM_PARAM: {
        if (sym->shape.rank != 0) return lw_unsupported(c, e, "vector-valued trainable parameters");
        for (int i = 0; i < c->m->n_params; i++)
            if (!strcmp(c->m->param_names[i], sym->name)) return lw_scalar_of(dag_leaf(c->dag, X_PARAM, i));
        return lw_failed();
    }
    case SYM_LET:
        if (sym->n_inputs) return lw_failed();
        if (++c->depth > 64) {
            c->depth--;
            return lw_unsupported(c, e, "definitions nested more than 64 deep");
        }
        {
            tensor t = lw_lower_expr(c, sym->decl->kids[1]);
            c->depth--;
            return t;
        }
    case SYM_FIELD: {
        int inputs[DAG_MAX_INPUTS];
        if (!lw_bound_inputs(c, e, sym, inputs)) return lw_failed();
        return lw_field_at(c, e, sym, inputs, NULL, 0);
    }
    default:
        return lw_unsupported(c, e, "the %s %s in this back end", phys_symbol_kind_name(sym->kind), sym->name);
    }
}

/* The cases of lower_expr with tensors of their own, kept out of its frame:
 * every level of an expression nested 2048 deep costs only the frames of the
 * case it takes. */
#define LOWER_CASE static __attribute__((noinline)) tensor

LOWER_CASE lower_binary(lctx *c, const phys_node *e)
{
    tensor a = lw_lower_expr(c, e->kids[0]), b = lw_lower_expr(c, e->kids[1]);
    static const dag_op ops[128] = {['+'] = X_ADD, ['-'] = X_SUB, ['*'] = X_MUL, ['/'] = X_DIV, ['^'] = X_POW};
    return lw_map2(c, e, ops[e->op & 127], a, b);
}

LOWER_CASE lower_compare(lctx *c, const phys_node *e)
{
    tensor a = lw_need_scalar(c, e, lw_lower_expr(c, e->kids[0]));
    tensor b = lw_need_scalar(c, e, lw_lower_expr(c, e->kids[1]));
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
    return lw_map2(c, e, op, a, b);
}

LOWER_CASE lower_if(lctx *c, const phys_node *e)
{
    tensor cond = lw_need_scalar(c, e, lw_lower_expr(c, e->kids[0]));
    tensor a = lw_lower_expr(c, e->kids[1]), b = lw_lower_expr(c, e->kids[2]);
    if (cond.rank < 0 || a.rank < 0 || b.rank < 0) return lw_failed();
    if (a.n != b.n) return lw_unsupported(c, e, "if() branches of different sizes");
    for (int i = 0; i < a.n; i++) a.el[i] = dag_select(c->dag, cond.el[0], a.el[i], b.el[i]);
    return a;
}

LOWER_CASE lower_vector(lctx *c, const phys_node *e)
{
    if (e->nkids > MAX_ELEMENTS) return lw_unsupported(c, e, "vectors of more than %d elements", MAX_ELEMENTS);
    tensor t;
    memset(&t, 0, sizeof t);
    t.rank = 1, t.dims[0] = t.n = e->nkids;
    for (int i = 0; i < e->nkids; i++) {
        tensor x = lw_need_scalar(c, e->kids[i], lw_lower_expr(c, e->kids[i]));
        if (x.rank < 0) return x;
        t.el[i] = x.el[0];
    }
    return t;
}

/* An index: a constant, or a name bound by a sum or a pair force. */
int lw_constant_index(lctx *c, const phys_node *e, double *k)
{
    if (!phys_sema_fold(c->sema, e, k)) {
        const binding *b = e->kind == N_NAME ? lw_find_binding(c, e->name) : NULL;
        if (!b || b->value.rank != 0 || dag_at(c->dag, b->value.el[0])->op != X_CONST) return 0;
        *k = dag_at(c->dag, b->value.el[0])->value;
    }
    return *k >= -1e6 && *k <= 1e6; /* cast to int safely; range checks follow */
}

LOWER_CASE lower_index(lctx *c, const phys_node *e)
{
    tensor gathered;
    if (lw_kernel_attribute(c, e, &gathered)) return gathered;
    tensor base = lw_lower_expr(c, e->kids[0]);
    if (base.rank < 0) return base;
    int flat = 0;
    for (int i = 1; i < e->nkids; i++) {
        double k;
        if (!lw_constant_index(c, e->kids[i], &k)) return lw_unsupported(c, e->kids[i], "indices that are not constants");
        flat = flat * (base.rank == 2 && i == 2 ? base.dims[1] : 1) + (int)k;
    }
    if (base.rank == 2 && e->nkids == 2 && flat >= 0 && flat < base.dims[0]) { /* a row: r[i] */
        tensor row;
        memset(&row, 0, sizeof row);
        row.rank = 1, row.dims[0] = row.n = base.dims[1];
        memcpy(row.el, base.el + flat * base.dims[1], sizeof(int) * (size_t)row.n);
        return row;
    }
    if (e->nkids - 1 != base.rank || flat < 0 || flat >= base.n) return lw_unsupported(c, e, "this indexing");
    return lw_scalar_of(base.el[flat]);
}


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
    if (e->kind == N_NOT) return map1(c, X_NOT, lw_need_scalar(c, e, lw_lower_expr(c, e->kids[0])));
    return map1(c, X_NEG, lw_lower_expr(c, e->kids[0]));
}

tensor lw_lower_expr(lctx *c, const phys_node *e)
{
    /* lets are inlined, so nesting adds up across definitions */
    char here;
    if (c->nesting >= MAX_NESTING || (size_t)(c->stack_base - (uintptr_t)&here) > c->stack_budget) {
        if (!c->too_deep)
            phys_error(c->diag, e->loc, "expression nested too deeply (counting the let definitions it uses): "
                                        "split it into several 'let' definitions");
        c->too_deep = 1;
        return lw_failed();
    }
    c->nesting++;
    tensor r;
    switch (e->kind) {
    case N_NUMBER:
        r = lw_scalar_of(dag_const(c->dag, e->number));
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
        r = lw_lower_reduce(c, e);
        break;
    default:
        r = lw_unsupported(c, e, "this expression");
        break;
    }
    c->nesting--;
    return r;
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
    lw_term *t = lw_xcalloc(1, sizeof *t);
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
    t->residuals = lw_xcalloc((size_t)(count * f->n_outputs), sizeof(int));
    for (int k = 0; k < count; k++) {
        memset(f->derivs[k], 0, DAG_MAX_INPUTS);
        int vk[2], nv = 0;
        for (int q = 0; q < 2; q++)
            if (list[k][q] >= 0) vk[nv++] = list[k][q], f->derivs[k][list[k][q]]++;
        tensor v = lw_field_at(c, f->sym->decl, f->sym, inputs, vk, nv);
        if (v.rank < 0) {
            c->term = saved;
            return 0;
        }
        for (int o = 0; o < f->n_outputs; o++) t->residuals[t->n_residuals++] = v.el[o];
    }
    c->term = saved;
    return 1;
}

/* The hidden widths and activation of mlp(...) into f. */
int lw_network_shape(lctx *c, const phys_node *net, lw_field *f)
{
    const phys_node *hidden = phys_node_named_arg(net, "hidden");
    f->n_hidden = hidden ? hidden->nkids : 0;
    if (f->n_hidden > 64) {
        lw_unsupported(c, hidden, "more than 64 hidden layers");
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
        lw_unsupported(c, init, "init = %s (the runtime initialises with xavier)", init->name);
        return 0;
    }
    return 1;
}

static int lower_field(lctx *c, const phys_symbol *sym)
{
    lw_model *m = c->m;
    const phys_node *net = sym->network;
    if (!net) return 0;
    if (phys_resolved_builtin(net->kids[0]) == B_ID_ATOMIC) return 0; /* lowered with the system (lower_atomic.c) */
    if (strcmp(net->kids[0]->name, "mlp")) {
        lw_unsupported(c, net, "%s() networks; the back end runs mlp(...)", net->kids[0]->name);
        return 0;
    }
    for (int i = 0; i < sym->n_inputs; i++) {
        const phys_symbol *g = phys_sema_lookup(c->sema, sym->inputs[i]);
        if (g && g->kind != SYM_STATE) {
            lw_unsupported(c, sym->input_nodes[i], "fields of %s", phys_symbol_kind_with_article(g->kind));
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
            lw_unsupported(c, sym->decl, "fields of more than %d inputs", DAG_MAX_INPUTS);
            return 0;
        }
        const phys_symbol *g = phys_sema_lookup(c->sema, sym->inputs[i]);
        for (int k = 0; k < width; k++) f->inputs[f->n_inputs++] = width == 1 ? sym->inputs[i] : lw_component_name(c, g, k);
    }
    f->n_outputs = sym->shape.rank == 1 ? sym->shape.dims[0] : 1;
    if (f->n_outputs < 1 || f->n_outputs > 16) {
        lw_unsupported(c, sym->decl, "fields with more than 16 outputs");
        return 0;
    }
    if (!lw_network_shape(c, net, f)) return 0;

    /* The body: formals are X_INPUT leaves, the network X_NET leaves. */
    c->field = f;
    c->term = NULL;
    c->n_bindings = 0;
    for (int i = 0, n = 0; i < sym->n_inputs; i++) {
        int width = formal_width(c, sym, i), leaves[DAG_MAX_INPUTS];
        for (int k = 0; k < width; k++) leaves[k] = dag_leaf(c->dag, X_INPUT, n + k);
        const phys_symbol *g = phys_sema_lookup(c->sema, sym->inputs[i]);
        lw_bind(c, sym->input_nodes[i], sym->inputs[i], width == 1 ? lw_scalar_of(leaves[0]) : lw_shaped(g, leaves));
        n += width;
    }
    tensor body = lw_lower_expr(c, sym->decl->kids[2]);
    c->field = NULL;
    c->n_bindings = 0;
    if (body.rank < 0) return 0;
    if (body.n != f->n_outputs) {
        lw_unsupported(c, sym->decl, "a field body whose size differs from its network's outputs");
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

void lw_add_residuals(lw_term *t, tensor r)
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
            if (call->kind != N_CALL || phys_resolved_builtin(call) != B_ID_PERIODIC || !dom) {
                lw_unsupported(c, call, "this constraint form");
                return 0;
            }
            const phys_symbol *f = phys_sema_lookup(c->sema, call->kids[1]->name);
            const char *x = call->kids[2]->name;
            int inputs_lo[DAG_MAX_INPUTS], inputs_hi[DAG_MAX_INPUTS];
            if (!lw_bound_inputs(c, call, f, inputs_lo)) return 0;
            memcpy(inputs_hi, inputs_lo, sizeof inputs_lo);
            int pos = input_position(c, f, x), coord = -1;
            for (int j = 0; j < dom->n_inputs; j++)
                if (!strcmp(dom->inputs[j], x)) coord = j;
            if (coord < 0) {
                lw_unsupported(c, call, "periodic() in an input that is not a coordinate of the domain");
                return 0;
            }
            inputs_lo[pos] = dag_const(c->dag, t->lo[coord]);
            inputs_hi[pos] = dag_const(c->dag, t->hi[coord]);
            tensor a = lw_field_at(c, call, f, inputs_lo, NULL, 0), b = lw_field_at(c, call, f, inputs_hi, NULL, 0);
            tensor r = lw_map2(c, call, X_SUB, a, b);
            if (r.rank < 0) return 0;
            lw_add_residuals(t, r);
            continue;
        }
        tensor r = lw_map2(c, k, X_SUB, lw_lower_expr(c, k->kids[0]), lw_lower_expr(c, k->kids[1]));
        if (r.rank < 0) return 0;
        lw_add_residuals(t, r);
    }
    return 1;
}

static int sampler_named(const char *name)
{
    if (!strcmp(name, "sobol")) return PHYSM_SAMPLE_SOBOL;
    if (!strcmp(name, "lhs")) return PHYSM_SAMPLE_LHS;
    if (!strcmp(name, "grid")) return PHYSM_SAMPLE_GRID;
    return !strcmp(name, "uniform") ? PHYSM_SAMPLE_UNIFORM : -1;
}

/* The term's sampler, and with adaptive(...) its settings: the candidates
 * (and the first points) come from base (uniform by default). */
static int lower_sampler(lctx *c, lw_term *t, const phys_node *method)
{
    t->sampler = PHYSM_SAMPLE_UNIFORM;
    if (!method) return 1;
    const phys_node *callee = method->kind == N_CALL ? method->kids[0] : method;
    if (phys_builtin_find(callee->name, B_SAMPLER)->id != B_ID_ADAPTIVE) {
        t->sampler = sampler_named(callee->name);
        return t->sampler >= 0 || (lw_unsupported(c, method, "%s sampling", callee->name), 0);
    }
    const phys_node *m = method->kind == N_CALL ? phys_node_named_arg(method, "method") : NULL;
    const phys_node *base = method->kind == N_CALL ? phys_node_named_arg(method, "base") : NULL;
    t->adapt = m && !strcmp(m->name, "rard") ? PHYSM_ADAPT_RARD : PHYSM_ADAPT_RAD;
    if (base) t->sampler = sampler_named(base->name);
    t->adapt_every = (long)lw_arg_or(c, method, "every", 1000);
    t->adapt_fraction = lw_arg_or(c, method, "fraction", t->adapt == PHYSM_ADAPT_RAD ? 1.0 : 0.1);
    t->adapt_k = lw_arg_or(c, method, "k", 1.0);
    t->adapt_c = lw_arg_or(c, method, "c", 1.0);
    /* 10 candidates a point, but not beyond 10^7 (or the points themselves) */
    const double pool = fmax(fmin(10.0 * t->n_points, 1e7), (double)t->n_points);
    t->adapt_pool = (int)lw_arg_or(c, method, "pool", pool);
    return 1;
}

/* A term's weight: a constant, or adaptive[(every, alpha, rule)] starting
 * at 1. */
static void lower_weight(lctx *c, lw_term *t, const phys_node *w)
{
    const phys_node *callee = w->kind == N_CALL ? w->kids[0] : w;
    if (callee->kind == N_NAME && phys_builtin_find(callee->name, B_WEIGHT)) {
        const phys_node *rule = w->kind == N_CALL ? phys_node_named_arg(w, "rule") : NULL;
        t->weight = 1.0;
        t->weight_rule = rule && !strcmp(rule->name, "annealing") ? PHYSM_WEIGHT_ANNEALING : PHYSM_WEIGHT_GRAD_NORM;
        t->weight_every = (long)lw_arg_or(c, w, "every", 100);
        t->weight_alpha = lw_arg_or(c, w, "alpha", 0.1);
        return;
    }
    t->weight_rule = PHYSM_WEIGHT_FIXED;
    phys_sema_fold(c->sema, w, &t->weight);
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
            lw_unsupported(c, region, "regions built on named regions");
            return 0;
        }
        fixes = inner->kids[1];
        whole_boundary = inner->op == 'b';
        dom = phys_sema_lookup(c->sema, inner->kids[0]->name);
        region = inner;
    }
    if (!dom || dom->kind != SYM_DOMAIN) {
        lw_unsupported(c, region, "this region");
        return 0;
    }
    if (region->kids[2]) {
        lw_unsupported(c, region->kids[2], "'where' regions");
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
        t->faces = lw_xcalloc((size_t)t->n_faces, sizeof *t->faces);
        for (int i = 0; i < t->n_coords; i++)
            for (int side = 0; side < 2; side++) {
                lw_face *f = &t->faces[2 * i + side];
                f->n_fixed = 1;
                f->coords[0] = i;
                f->values[0] = side ? t->hi[i] : t->lo[i];
            }
    } else if (fixes) {
        t->n_faces = fixes->nkids;
        t->faces = lw_xcalloc((size_t)t->n_faces, sizeof *t->faces);
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
    if (!lower_sampler(c, t, sample ? sample->kids[1] : NULL)) return 0;
    if (d->kids[2]) lower_weight(c, t, d->kids[2]);
    c->term = t;
    c->n_bindings = 0;
    for (int i = 0; i < t->n_coords; i++) lw_bind(c, d, t->coords[i], lw_scalar_of(dag_leaf(c->dag, X_COORD, i)));
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

/* data "frames.xyz" (V, F): energies and forces of an atomic network's
 * system, evaluated by the runtime (atomic_loss.c); no points, no DAG. */
static int lower_frames_data(lctx *c, const phys_node *d, lw_term *t)
{
    const phys_node *cols = d->kids[1];
    for (int i = 0; i < cols->nkids; i++) {
        const phys_symbol *s = phys_sema_lookup(c->sema, cols->kids[i]->name);
        if (s && s->kind == SYM_ENERGY) t->frames |= PHYSM_FRAMES_ENERGY;
        if (s && s->kind == SYM_FORCE) t->frames |= PHYSM_FRAMES_FORCES;
    }
    if (!t->frames) return 0;
    const lw_system *sys = c->m->system;
    if (!sys || !sys->atomic) {
        lw_unsupported(c, d, "frames data for other than an atomic network's energy under dynamics newton(F)");
        return -1;
    }
    if (c->m->n_params) {
        lw_unsupported(c, d, "frames data in a model with trainable constants (only the networks train on frames)");
        return -1;
    }
    return 1;
}

static int lower_data(lctx *c, const phys_node *d)
{
    lw_term *t = new_term(c, d->name, PHYSM_DATA, d);
    const phys_node *cols = d->kids[1];
    t->data_file = d->kids[0]->name;
    if (d->kids[2]) lower_weight(c, t, d->kids[2]);
    int frames = lower_frames_data(c, d, t);
    if (frames) return frames > 0;
    c->term = t;
    c->n_bindings = 0;
    /* A state or attribute column stands for all its numbers (q_0, r_3_x, ...). */
    int first_coord[LW_MAX_COORDS];
    int n = 0;
    for (int i = 0; i < cols->nkids; i++) {
        const char *name = cols->kids[i]->name;
        const phys_symbol *s = phys_sema_lookup(c->sema, name);
        int numbers = s && (s->kind == SYM_STATE || s->kind == SYM_ATTRIBUTE); /* q_0 even for q[1] */
        int count = numbers ? lw_size_of(s) : 1;
        if (count > MAX_ELEMENTS) {
            lw_unsupported(c, cols->kids[i], "a data column of more than %d numbers", MAX_ELEMENTS);
            return 0;
        }
        if (n + count > LW_MAX_COORDS / 2 || i >= LW_MAX_COORDS) {
            lw_unsupported(c, cols, "more than %d data columns", LW_MAX_COORDS / 2);
            return 0;
        }
        first_coord[i] = n;
        int leaves[LW_MAX_COORDS];
        for (int k = 0; k < count; k++) {
            t->coords[n + k] = numbers ? lw_component_name(c, s, k) : name;
            leaves[k] = dag_leaf(c->dag, X_COORD, n + k);
        }
        if (count > 1 || (s && (s->kind == SYM_STATE || s->kind == SYM_ATTRIBUTE))) lw_bind(c, d, name, lw_shaped(s, leaves));
        else if (!s || s->kind != SYM_FIELD) lw_bind(c, d, name, lw_scalar_of(leaves[0]));
        n += count;
    }
    t->n_coords = n;
    int ok = 1;
    if (is_trajectory(d->kids[3])) {
        ok = lw_lower_trajectory(c, t, d->kids[3]->kids[0]->kids[0], n, first_coord, cols);
    } else if (d->kids[3]) {
        ok = lower_constraints(c, t, d->kids[3], NULL);
    } else {
        for (int i = 0; i < cols->nkids && ok; i++) {
            const phys_symbol *f = phys_sema_lookup(c->sema, cols->kids[i]->name);
            if (!f || f->kind != SYM_FIELD) continue;
            int inputs[DAG_MAX_INPUTS];
            if (!lw_bound_inputs(c, cols->kids[i], f, inputs)) return 0;
            tensor value = lw_field_at(c, cols->kids[i], f, inputs, NULL, 0);
            if (value.rank < 0) return 0;
            if (value.n != 1) {
                lw_unsupported(c, cols->kids[i], "observations of vector-valued fields in one column");
                return 0;
            }
            tensor r = lw_scalar_of(dag_binary(c->dag, X_SUB, value.el[0], dag_leaf(c->dag, X_COORD, first_coord[i])));
            lw_add_residuals(t, r);
        }
    }
    lw_prune_term(c, t);
    c->term = NULL;
    c->n_bindings = 0;
    return ok;
}

/* The quasi-Newton iterations of the schedule of a model without 'train'. */
enum { DEFAULT_QUASI_NEWTON_STEPS = 5000 };

static void default_stage(lw_stage *s, int optimizer)
{
    /* The defaults of physrt_adam_default_options / physrt_lbfgs_default_options /
     * physrt_qn_default_options. */
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

double lw_arg_or(lctx *c, const phys_node *call, const char *name, double fallback)
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
        default_stage(s, !strcmp(name, "adam")    ? PHYSM_ADAM
                         : !strcmp(name, "lbfgs") ? PHYSM_LBFGS
                                                  : PHYSM_QUASI_NEWTON);
        s->qn_method = !strcmp(name, "bfgs")     ? PHYSRT_QN_BFGS
                       : !strcmp(name, "ssbfgs") ? PHYSRT_QN_SSBFGS
                                                 : PHYSRT_QN_SSBROYDEN;
        s->steps = (long)lw_arg_or(c, call, "steps", 1000);
        if (s->optimizer == PHYSM_ADAM) {
            s->lr = lw_arg_or(c, call, "lr", s->lr);
            s->beta1 = lw_arg_or(c, call, "beta1", s->beta1);
            s->beta2 = lw_arg_or(c, call, "beta2", s->beta2);
            s->eps = lw_arg_or(c, call, "eps", s->eps);
            s->batch = (long)lw_arg_or(c, call, "batch", 0);
            if (phys_node_named_arg(call, "resample")) {
                lw_unsupported(c, phys_node_named_arg(call, "resample"), "resampling during training");
                return 0;
            }
            const phys_node *sched = phys_node_named_arg(call, "schedule");
            if (sched) {
                const char *sn = sched->kind == N_CALL ? sched->kids[0]->name : sched->name;
                if (!strcmp(sn, "exponential") || !strcmp(sn, "step")) {
                    s->schedule = !strcmp(sn, "step") ? PHYSRT_LR_STEP : PHYSRT_LR_EXPONENTIAL;
                    s->decay_rate = lw_arg_or(c, sched, !strcmp(sn, "step") ? "factor" : "rate", 1.0);
                    s->decay_steps = (long)lw_arg_or(c, sched, "every", 1);
                } else if (!strcmp(sn, "cosine")) {
                    s->schedule = PHYSRT_LR_COSINE;
                    s->lr_min = lw_arg_or(c, sched, "min_lr", 0.0);
                }
            }
        } else {
            s->history = (int)lw_arg_or(c, call, "history", s->history);
            s->grad_tol = lw_arg_or(c, call, "tolerance_grad", s->grad_tol);
            s->rel_f_tol = lw_arg_or(c, call, "tolerance_change", s->rel_f_tol);
            s->max_evaluations = (long)lw_arg_or(c, call, "max_evaluations", 0);
        }
    }
    return 1;
}

/* Declarations this back end cannot run yet, named so the user knows. */
static const char *unsupported_decl(const phys_node *d)
{
    switch (d->kind) {
    case N_OUTPUT: return "output declarations (use ./model eval)";
    case N_PRINT: return "print in a compiled model (use physc repl)";
    default: return NULL;
    }
}

static void free_term(lw_term *t);

/* One const or let as a pseudo-term over coords (n_coords names bound to
 * X_COORD leaves), lowered quietly: 0 and the term on success, -1 (nothing
 * reported, nothing kept) when its body needs what the coordinates do not
 * give. */
static int lower_quantity(lctx *c, const phys_symbol *s, int n_coords, const char *const *coords, lw_term *t)
{
    phys_diag quiet = {stderr, 1, 0, 1};   /* full: reports nothing */
    phys_diag *loud = c->diag;
    memset(t, 0, sizeof *t);
    t->name = s->name;
    t->kind = PHYSM_EQUATION;
    t->n_coords = n_coords;
    for (int i = 0; i < n_coords; i++) t->coords[i] = coords[i];
    c->diag = &quiet;
    c->term = t;
    c->n_bindings = 0;
    c->depth = 0;
    int ok = 1;
    for (int i = 0; i < n_coords && ok; i++)
        ok = lw_bind(c, s->decl, coords[i], lw_scalar_of(dag_leaf(c->dag, X_COORD, i)));
    tensor v = ok ? lw_lower_expr(c, s->decl->kids[1]) : lw_failed();
    if (v.rank >= 0 && v.n > 0) lw_add_residuals(t, v);
    c->diag = loud;
    c->term = NULL;
    c->n_bindings = 0;
    if (v.rank < 0 || t->n_residuals == 0) {
        free_term(t);
        return -1;
    }
    return 0;
}

/* Every const and let of the model's own source that evaluates (see
 * lw_model.quantities); the others (particle sums, vector formals, ...)
 * are left out, and eval says it does not know them. */
static void lower_quantities(lctx *c, const phys_node *program)
{
    lw_model *m = c->m;
    const phys_source *own = program->nkids ? program->kids[0]->loc.src : NULL;
    for (int i = 0; i < phys_sema_symbol_count(c->sema); i++) {
        const phys_symbol *s = phys_sema_symbol_at(c->sema, i);
        if (s->replaced || (s->kind != SYM_LET && s->kind != SYM_CONST) || !s->decl || s->decl->loc.src != own)
            continue;
        lw_term t;
        int ok = -1;
        if (s->kind == SYM_LET && s->n_inputs > 0) {
            int scalar = 1;
            for (int k = 0; k < s->n_inputs; k++) scalar &= !formal_is_vector(c, s, k);
            if (scalar) ok = lower_quantity(c, s, s->n_inputs, s->inputs, &t);
        } else {
            ok = lower_quantity(c, s, 0, NULL, &t);
            for (int d = 0; ok && d < phys_sema_symbol_count(c->sema); d++) {   /* over a domain's coordinates */
                const phys_symbol *dom = phys_sema_symbol_at(c->sema, d);
                if (!dom->replaced && dom->kind == SYM_DOMAIN && dom->n_inputs > 0)
                    ok = lower_quantity(c, s, dom->n_inputs, dom->inputs, &t);
            }
        }
        if (ok) continue;
        m->quantities = realloc(m->quantities, sizeof *m->quantities * (size_t)(m->n_quantities + 1));
        if (!m->quantities) exit(70);
        m->quantities[m->n_quantities++] = t;
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
    program = phys_sema_program(sema, program); /* with the declarations of imported modules */
    lw_model *m = lw_xcalloc(1, sizeof *m);
    m->dag = dag_create();
    int errors = diag->errors;
    lctx *c = lw_xcalloc(1, sizeof *c);
    c->sema = sema;
    c->diag = diag;
    c->m = m;
    c->dag = m->dag;
    set_stack_budget(c);
    m->source_path = source_path;
    m->source_dir = directory_of(sema->arena, source_path);
    size_t len;
    const char *base = phys_path_stem(source_path, &len);
    m->name = phys_arena_strdup(sema->arena, base, len);

    for (int i = 0; i < program->nkids; i++) {
        const phys_node *d = program->kids[i];
        const char *what = session && d->kind == N_PRINT ? NULL : unsupported_decl(d);
        if (session && (d->kind == N_SPINS || d->kind == N_COUPLING || d->kind == N_RECALL))
            what = "spins in the REPL (compile the model: ./model recall, sample, learn)";
        if (what) phys_error(diag, d->loc, "not supported yet: %s", what);
        if (d->kind == N_MODEL) m->name = d->name;
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
    int dynamics_ok = diag->errors == errors && lw_dyn_init(c, program);
    if (dynamics_ok && c->dyn.decl && !session) dynamics_ok = lw_lower_dynamics(c, program);
    if (dynamics_ok && c->dyn.decl && !session) {
        /* Particles that fit a state row are simulated there when the
         * system's loops cannot take their force: only then is a failure
         * of lowering the system an error. */
        phys_diag quiet, *loud = c->diag;
        phys_diag_init(&quiet, NULL);
        if (!c->dyn.no_point) c->diag = &quiet;
        int ok = lw_lower_system(c);
        c->diag = loud;
        if (c->dyn.no_point) {
            dynamics_ok = ok;
        } else if (!ok || quiet.errors) {
            lw_free_system(m->system);
            m->system = NULL;
        }
    }
    if (diag->errors == errors && !session) lw_lower_spins(c, program);
    c->term = NULL;
    c->n_bindings = 0;
    for (int i = 0; i < program->nkids && !phys_diag_full(diag); i++) {
        const phys_node *d = program->kids[i];
        if (d->kind == N_CONDITION) lower_condition(c, d);
        else if (d->kind == N_DATA && dynamics_ok) lower_data(c, d);
        else if (d->kind == N_TRAIN) lower_train(c, d);
        else if (d->kind == N_SIMULATE && dynamics_ok && !session) lw_lower_simulation(c, d);
    }
    if (!session && diag->errors == errors) lower_quantities(c, program);
    /* loss weight NAME = w applies after the terms exist */
    for (int i = 0; i < program->nkids; i++) {
        const phys_node *d = program->kids[i];
        if (d->kind != N_LOSS_WEIGHT) continue;
        for (int t = 0; t < m->n_terms; t++)
            if (!strcmp(m->terms[t].name, d->name)) lower_weight(c, &m->terms[t], d->kids[0]);
    }
    /* annealing weighs a term against the terms of fixed weight */
    int n_fixed = 0;
    for (int t = 0; t < m->n_terms; t++) n_fixed += m->terms[t].weight_rule == PHYSM_WEIGHT_FIXED;
    for (int i = 0; i < program->nkids && n_fixed == 0 && m->n_terms > 0 && diag->errors == errors; i++) {
        const phys_node *d = program->kids[i], *w = d->kind == N_LOSS_WEIGHT ? d->kids[0]
                                                   : d->kind == N_CONDITION || d->kind == N_DATA ? d->kids[2] : NULL;
        const phys_node *rule = w && w->kind == N_CALL ? phys_node_named_arg(w, "rule") : NULL;
        if (rule && rule->kind == N_NAME && !strcmp(rule->name, "annealing"))
            phys_error(diag, rule->loc, "the annealing rule weighs a term against the terms of fixed weight, and "
                       "every term here is adaptive: give one (the equation) a constant weight, or use "
                       "rule = grad_norm");
    }
    const phys_node *first = program->nkids ? program->kids[0] : program;
    if (m->n_terms == 0 && diag->errors == errors && !session && !m->dynamics && !m->spins)
        phys_error(diag, first->loc,
                   "this model has nothing to train or simulate: declare an equation, a condition, data or "
                   "dynamics");
    if (m->n_fields == 0 && diag->errors == errors && !session && !m->dynamics && !m->spins)
        phys_error(diag, first->loc, "this model has no field to learn: declare one with 'field'");
    if (m->n_stages == 0) {
        /* Without 'train': Adam to get near, then the dense quasi-Newton
         * stage to accuracy; the runtime runs it as L-BFGS for a model
         * above the dense limit. */
        m->stages = lw_xcalloc(2, sizeof *m->stages);
        default_stage(&m->stages[0], PHYSM_ADAM);
        default_stage(&m->stages[1], PHYSM_QUASI_NEWTON);
        m->stages[1].qn_method = PHYSRT_QN_SSBROYDEN;
        m->stages[1].steps = DEFAULT_QUASI_NEWTON_STEPS;
        m->stages[1].lbfgs_above_dense_limit = 1;
        m->n_stages = 2;
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
    lctx *c = lw_xcalloc(1, sizeof *c);
    c->sema = sema;
    c->diag = diag;
    c->m = m;
    c->dag = m->dag;
    set_stack_budget(c);
    lw_term *t = lw_xcalloc(1, sizeof *t);
    t->name = "print";
    c->term = t;
    int cut_short = 0;
    for (int i = 0; i < print->nkids; i++) {
        tensor v = lw_lower_expr(c, print->kids[i]);
        if (v.rank < 0) {
            cut_short = 1;
            break;
        }
        shapes[i].rank = v.rank;
        shapes[i].dims[0] = v.dims[0];
        shapes[i].dims[1] = v.dims[1];
        lw_add_residuals(t, v);
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
    lw_free_system(m->system);
    for (int i = 0; i < m->n_quantities; i++) free_term(&m->quantities[i]);
    free(m->quantities);
    lw_free_spins(m->spins);
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
