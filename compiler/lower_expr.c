/* The lowering pass, expression layer (see lower_internal.h for the
 * layers): every expression becomes a small tensor (scalar, vector or
 * matrix) of DAG nodes; names, lets, built-in calls, derivatives of fields
 * and functions, gradients with respect to states, pair geometry and sums
 * with constant ranges (unrolled). ddt() and sums over particles in the
 * system's energy are lowered by higher layers, through c->hooks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower_internal.h"
#include "physmodel.h"

/* ------------------------------------------------------------ arithmetic */

const tensor *lw_map2(lctx *c, const phys_node *at, dag_op op, const tensor *a, const tensor *b)
{
    if (!a || !b) return NULL;
    if (a->n == 1 && b->n > 1) {
        tensor *r = lw_tensor_copy(c, b);
        for (int i = 0; i < b->n; i++) r->el[i] = dag_binary(c->dag, op, a->el[0], b->el[i]);
        return r;
    }
    if (b->n == 1) {
        tensor *r = lw_tensor_copy(c, a);
        for (int i = 0; i < a->n; i++) r->el[i] = dag_binary(c->dag, op, a->el[i], b->el[0]);
        return r;
    }
    if (a->n != b->n) return lw_unsupported(c, at, "operands of different sizes");
    tensor *r = lw_tensor_copy(c, a);
    for (int i = 0; i < a->n; i++) r->el[i] = dag_binary(c->dag, op, a->el[i], b->el[i]);
    return r;
}

static const tensor *map1(lctx *c, dag_op op, const tensor *a)
{
    if (!a) return NULL;
    tensor *r = lw_tensor_copy(c, a);
    for (int i = 0; i < a->n; i++) r->el[i] = dag_unary(c->dag, op, a->el[i]);
    return r;
}

const tensor *lw_need_scalar(lctx *c, const phys_node *at, const tensor *t)
{
    if (!t) return NULL;
    if (t->n != 1) return lw_unsupported(c, at, "a vector where a scalar is needed");
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
static __attribute__((noinline)) const tensor *lower_let_derivative(lctx *c, const phys_node *op_call,
                                                                     const phys_symbol *sym,
                                                                     const phys_node *const *args, int n_args,
                                                                     const phys_node *at)
{
    int actual[DAG_MAX_INPUTS];
    for (int i = 0; i < sym->n_inputs; i++) {
        if (args) {
            if (n_args != sym->n_inputs) return NULL;
            const tensor *a = lw_need_scalar(c, args[i], lw_lower_expr(c, args[i]));
            if (!a) return NULL;
            actual[i] = a->el[0];
        } else {
            const binding *b = lw_find_binding(c, sym->inputs[i]);
            if (!b || b->value->rank != 0)
                return lw_unsupported(c, at, "d() of function %s where its input '%s' is not bound", sym->name,
                                   sym->inputs[i]);
            actual[i] = b->value->el[0];
        }
    }
    if (++c->depth > 64) {
        c->depth--;
        return lw_unsupported(c, op_call, "functions nested more than 64 deep");
    }
    int saved = c->n_bindings, slots = c->term ? c->term->n_slots : 0, probes = c->term ? c->term->n_probes : 0;
    for (int i = 0; i < sym->n_inputs; i++)
        if (!lw_bind(c, op_call, sym->inputs[i], lw_scalar_of(c, dag_leaf(c->dag, X_INPUT, i)))) return NULL;
    const tensor *value = lw_lower_expr(c, sym->decl->kids[1]);
    c->n_bindings = saved;
    c->depth--;
    if (!value) return NULL;
    if (c->term && (c->term->n_slots != slots || c->term->n_probes != probes))
        return lw_unsupported(c, op_call, "d() of function %s, which evaluates a field: differentiate the field", sym->name);
    tensor *body = lw_tensor_copy(c, value);
    for (int e = 0; e < body->n; e++) {
        int node = body->el[e], too_high = 0, hit_net = 0;
        for (int k = 2; k < op_call->nkids; k++)
            node = dag_diff(c->dag, node, lw_input_position(c, sym, op_call->kids[k]->name), &too_high);
        body->el[e] = dag_substitute(c->dag, node, actual, fail_net, &hit_net);
        if (hit_net) return lw_unsupported(c, op_call, "d() of function %s inside a field definition", sym->name);
    }
    return body;
}

/* d(u, x, ...), grad(u), laplace(u), div(u), hessian(u), at the inputs given
 * (args) or where u's inputs are bound. */

static __attribute__((noinline)) const tensor *lower_derivative(lctx *c, const phys_node *op_call,
                                                                 const phys_node *const *args, int n_args,
                                                                 const phys_node *at)
{
    phys_builtin_id id = callee_builtin(c, op_call->kids[0]);
    const char *op = phys_builtin_of(id)->name;
    const phys_node *target = op_call->kids[1];
    const phys_symbol *sym = phys_sema_lookup(c->sema, target->name);
    if (!sym) return NULL;
    if (id == B_ID_DDT) return c->hooks->ddt(c, op_call, sym);
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
        if (!lw_formal_is_vector(c, sym, i)) continue;
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
        if (n_args != sym->n_inputs) return NULL;
        for (int i = 0; i < n_args; i++) {
            const tensor *a = lw_need_scalar(c, args[i], lw_lower_expr(c, args[i]));
            if (!a) return NULL;
            inputs[i] = a->el[0];
        }
    } else if (!lw_bound_inputs(c, at, sym, inputs)) {
        return NULL;
    }
    int n = sym->n_inputs;
    if (id == B_ID_D) {
        int vars[DAG_MAX_ORDER + 1];
        int n_vars = op_call->nkids - 2;
        for (int k = 0; k < n_vars; k++) vars[k] = lw_input_position(c, sym, op_call->kids[k + 2]->name);
        return lw_field_at(c, op_call, sym, inputs, vars, n_vars);
    }
    if (id == B_ID_GRAD) {
        tensor *out = lw_tensor(c, op_call, n);
        if (!out) return NULL;
        out->rank = 1, out->dims[0] = n;
        for (int i = 0; i < n; i++) {
            const tensor *t = lw_field_at(c, op_call, sym, inputs, &i, 1);
            if (!t) return NULL;
            out->el[i] = t->el[0];
        }
        return out;
    }
    if (id == B_ID_LAPLACE || id == B_ID_DIV) {
        int sum = dag_const(c->dag, 0.0);
        for (int i = 0; i < n; i++) {
            int vars[2] = {i, i};
            const tensor *t = lw_field_at(c, op_call, sym, inputs, vars, id == B_ID_LAPLACE ? 2 : 1);
            if (!t) return NULL;
            sum = dag_binary(c->dag, X_ADD, sum, t->el[id == B_ID_DIV ? i : 0]);
        }
        return lw_scalar_of(c, sum);
    }
    /* hessian */
    if (n * n > MAX_ELEMENTS) return lw_unsupported(c, op_call, "a Hessian with more than %d entries", MAX_ELEMENTS);
    tensor *out = lw_tensor(c, op_call, n * n);
    if (!out) return NULL;
    out->rank = 2, out->dims[0] = out->dims[1] = n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            int vars[2] = {i, j};
            const tensor *t = lw_field_at(c, op_call, sym, inputs, vars, 2);
            if (!t) return NULL;
            out->el[i * n + j] = t->el[0];
        }
    return out;
}

int lw_is_particle_set(lctx *c, const phys_node *e)
{
    const phys_symbol *s = e->kind == N_NAME && !lw_find_binding(c, e->name) ? phys_sema_lookup(c->sema, e->name) : NULL;
    return s && s->kind == SYM_PARTICLES;
}

static __attribute__((noinline)) const tensor *lower_let_call(lctx *c, const phys_symbol *sym, const phys_node *call)
{
    if (++c->depth > 64) {
        c->depth--;
        return lw_unsupported(c, call, "functions nested more than 64 deep (a recursive let?)");
    }
    const tensor *args[DAG_MAX_INPUTS];
    for (int i = 0; i < sym->n_inputs; i++) {
        if (lw_is_particle_set(c, call->kids[i + 1])) { /* its attributes are bound by name */
            args[i] = lw_scalar_of(c, dag_const(c->dag, 0.0));
            continue;
        }
        args[i] = lw_lower_expr(c, call->kids[i + 1]);
        if (!args[i]) {
            c->depth--;
            return NULL;
        }
    }
    int saved = c->n_bindings;
    for (int i = 0; i < sym->n_inputs; i++)
        if (!lw_bind(c, call, sym->inputs[i], args[i])) {
            c->n_bindings = saved;
            c->depth--;
            return NULL;
        }
    const tensor *r = lw_lower_expr(c, sym->decl->kids[1]);
    c->n_bindings = saved;
    c->depth--;
    return r;
}

static __attribute__((noinline)) const tensor *lower_network(lctx *c, const phys_node *call)
{
    if (!c->field) return lw_unsupported(c, call, "a network outside a field");
    unsigned char zero[DAG_MAX_INPUTS] = {0};
    int n = c->field->n_outputs;
    tensor *out = lw_tensor(c, call, n);
    if (!out) return NULL;
    out->rank = n > 1, out->dims[0] = n > 1 ? n : 0;
    for (int o = 0; o < n; o++) out->el[o] = dag_net(c->dag, zero, o);
    return out;
}

/* A field called with its inputs. */
static __attribute__((noinline)) const tensor *lower_field_call(lctx *c, const phys_symbol *sym, const phys_node *e)
{
    int nargs = e->nkids - 1, n = 0;
    int inputs[DAG_MAX_INPUTS];
    for (int i = 0; i < nargs && i < DAG_MAX_INPUTS; i++) {
        int width = lw_formal_width(c, sym, i);
        const tensor *a = lw_lower_expr(c, e->kids[i + 1]);
        if (!a) return NULL;
        if (a->n != width || n + width > DAG_MAX_INPUTS) return lw_unsupported(c, e->kids[i + 1], "this argument's size");
        memcpy(inputs + n, a->el, sizeof(int) * (size_t)width);
        n += width;
    }
    return lw_field_at(c, e, sym, inputs, NULL, 0);
}


/* Math and vector built-ins. */
static __attribute__((noinline)) const tensor *lower_builtin_call(lctx *c, phys_builtin_id id, const phys_node *e)
{
    int nargs = e->nkids - 1;
    const phys_builtin *b = phys_builtin_of(id);
    const char *name = b ? b->name : e->kids[0]->name;
    dag_op op = b && b->cls == B_MATH ? b->op : X_OP_COUNT;
    if (op != X_OP_COUNT) {
        const tensor *a = lw_lower_expr(c, e->kids[1]);
        if (nargs == 2) return lw_map2(c, e, op, a, lw_need_scalar(c, e->kids[2], lw_lower_expr(c, e->kids[2])));
        return map1(c, op, a);
    }
    if (id == B_ID_DOT || id == B_ID_NORM) {
        const tensor *a = lw_lower_expr(c, e->kids[1]);
        const tensor *b = nargs == 2 ? lw_lower_expr(c, e->kids[2]) : a;
        if (!a || !b) return NULL;
        if (a->n != b->n) return lw_unsupported(c, e, "dot() of vectors of different lengths");
        int sum = dag_const(c->dag, 0.0);
        for (int i = 0; i < a->n; i++) sum = dag_binary(c->dag, X_ADD, sum, dag_binary(c->dag, X_MUL, a->el[i], b->el[i]));
        return lw_scalar_of(c, id == B_ID_NORM ? dag_unary(c->dag, X_SQRT, sum) : sum);
    }
    if (id == B_ID_DIST || id == B_ID_UNIT || id == B_ID_DISP) {
        const tensor *item;
        if (c->hooks->kernel_geometry(c, name, e, &item)) return item;
        return lw_lower_pair_geometry(c, name, e);
    }
    if (id == B_ID_CROSS) {
        const tensor *a = lw_lower_expr(c, e->kids[1]), *b = lw_lower_expr(c, e->kids[2]);
        if (!a || !b) return NULL;
        if (a->n != 3 || b->n != 3) return lw_unsupported(c, e, "cross() of vectors that are not 3-vectors");
        tensor *r = lw_tensor_copy(c, a);
        for (int i = 0; i < 3; i++) {
            int j = (i + 1) % 3, k = (i + 2) % 3;
            r->el[i] = dag_binary(c->dag, X_SUB, dag_binary(c->dag, X_MUL, a->el[j], b->el[k]),
                                  dag_binary(c->dag, X_MUL, a->el[k], b->el[j]));
        }
        return r;
    }
    return lw_unsupported(c, e, "%s() in this back end", name);
}

static const tensor *lower_call(lctx *c, const phys_node *e)
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
    const tensor *atomic;
    if (sym && sym->kind == SYM_FIELD && c->hooks->kernel_atomic(c, sym, e, &atomic)) return atomic;
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

static const tensor *lower_name(lctx *c, const phys_node *e)
{
    const binding *b = lw_find_binding(c, e->name);
    if (b) return b->value;
    const phys_symbol *sym = phys_sema_lookup(c->sema, e->name);
    if (!sym) {
        double v;
        if (phys_sema_fold(c->sema, e, &v)) return lw_scalar_of(c, dag_const(c->dag, v)); /* pi, e */
        return lw_unsupported(c, e, "the name '%s' here", e->name);
    }
    switch (sym->kind) {
    case SYM_CONST: {
        const phys_node *value = sym->decl->kids[1];
        double v;
        if (phys_sema_fold(c->sema, e, &v)) return lw_scalar_of(c, dag_const(c->dag, v));
        if (value->kind == N_VECTOR && value->nkids <= MAX_ELEMENTS) {
            tensor *t = lw_tensor(c, e, value->nkids);
            if (!t) return NULL;
            t->rank = 1, t->dims[0] = value->nkids;
            for (int i = 0; i < value->nkids; i++) {
                if (!phys_sema_fold(c->sema, value->kids[i], &v)) return lw_unsupported(c, e, "this constant");
                t->el[i] = dag_const(c->dag, v);
            }
            return t;
        }
        return lw_unsupported(c, e, "the constant %s", sym->name);
    }
    case SYM_PARAM: {
        if (sym->shape.rank != 0) return lw_unsupported(c, e, "vector-valued trainable parameters");
        for (int i = 0; i < c->m->n_params; i++)
            if (!strcmp(c->m->param_names[i], sym->name)) return lw_scalar_of(c, dag_leaf(c->dag, X_PARAM, i));
        return NULL;
    }
    case SYM_LET:
        if (sym->n_inputs) return NULL;
        if (++c->depth > 64) {
            c->depth--;
            return lw_unsupported(c, e, "definitions nested more than 64 deep");
        }
        {
            const tensor *t = lw_lower_expr(c, sym->decl->kids[1]);
            c->depth--;
            return t;
        }
    case SYM_FIELD: {
        int inputs[DAG_MAX_INPUTS];
        if (!lw_bound_inputs(c, e, sym, inputs)) return NULL;
        return lw_field_at(c, e, sym, inputs, NULL, 0);
    }
    default:
        return lw_unsupported(c, e, "the %s %s in this back end", phys_symbol_kind_name(sym->kind), sym->name);
    }
}

/* The cases of lower_expr with locals of their own, kept out of its frame:
 * every level of an expression nested 2048 deep costs only the frames of the
 * case it takes. */
#define LOWER_CASE static __attribute__((noinline)) const tensor *

LOWER_CASE lower_binary(lctx *c, const phys_node *e)
{
    const tensor *a = lw_lower_expr(c, e->kids[0]), *b = lw_lower_expr(c, e->kids[1]);
    static const dag_op ops[128] = {['+'] = X_ADD, ['-'] = X_SUB, ['*'] = X_MUL, ['/'] = X_DIV, ['^'] = X_POW};
    return lw_map2(c, e, ops[e->op & 127], a, b);
}

LOWER_CASE lower_compare(lctx *c, const phys_node *e)
{
    const tensor *a = lw_need_scalar(c, e, lw_lower_expr(c, e->kids[0]));
    const tensor *b = lw_need_scalar(c, e, lw_lower_expr(c, e->kids[1]));
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
    const tensor *cond = lw_need_scalar(c, e, lw_lower_expr(c, e->kids[0]));
    const tensor *a = lw_lower_expr(c, e->kids[1]), *b = lw_lower_expr(c, e->kids[2]);
    if (!cond || !a || !b) return NULL;
    if (a->n != b->n) return lw_unsupported(c, e, "if() branches of different sizes");
    tensor *r = lw_tensor_copy(c, a);
    for (int i = 0; i < a->n; i++) r->el[i] = dag_select(c->dag, cond->el[0], a->el[i], b->el[i]);
    return r;
}

LOWER_CASE lower_vector(lctx *c, const phys_node *e)
{
    if (e->nkids > MAX_ELEMENTS) return lw_unsupported(c, e, "vectors of more than %d elements", MAX_ELEMENTS);
    tensor *t = lw_tensor(c, e, e->nkids);
    if (!t) return NULL;
    t->rank = 1, t->dims[0] = e->nkids;
    for (int i = 0; i < e->nkids; i++) {
        const tensor *x = lw_need_scalar(c, e->kids[i], lw_lower_expr(c, e->kids[i]));
        if (!x) return NULL;
        t->el[i] = x->el[0];
    }
    return t;
}

/* An index: a constant, or a name bound by a sum or a pair force. */
int lw_constant_index(lctx *c, const phys_node *e, double *k)
{
    if (!phys_sema_fold(c->sema, e, k)) {
        const binding *b = e->kind == N_NAME ? lw_find_binding(c, e->name) : NULL;
        if (!b || b->value->rank != 0 || dag_at(c->dag, b->value->el[0])->op != X_CONST) return 0;
        *k = dag_at(c->dag, b->value->el[0])->value;
    }
    return *k >= -1e6 && *k <= 1e6; /* cast to int safely; range checks follow */
}

LOWER_CASE lower_index(lctx *c, const phys_node *e)
{
    const tensor *gathered;
    if (c->hooks->kernel_attribute(c, e, &gathered)) return gathered;
    const tensor *base = lw_lower_expr(c, e->kids[0]);
    if (!base) return NULL;
    int flat = 0;
    for (int i = 1; i < e->nkids; i++) {
        double k;
        if (!lw_constant_index(c, e->kids[i], &k)) return lw_unsupported(c, e->kids[i], "indices that are not constants");
        flat = flat * (base->rank == 2 && i == 2 ? base->dims[1] : 1) + (int)k;
    }
    if (base->rank == 2 && e->nkids == 2 && flat >= 0 && flat < base->dims[0]) { /* a row: r[i] */
        tensor *row = lw_tensor(c, e, base->dims[1]);
        if (!row) return NULL;
        row->rank = 1, row->dims[0] = base->dims[1];
        memcpy(row->el, base->el + flat * base->dims[1], sizeof(int) * (size_t)row->n);
        return row;
    }
    if (e->nkids - 1 != base->rank || flat < 0 || flat >= base->n) return lw_unsupported(c, e, "this indexing");
    return lw_scalar_of(c, base->el[flat]);
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

/* The tensors an expression's parts make are released when it is done,
 * but for its value; so are names bound on the way (bindings made inside
 * are dropped on every path out, failed ones too). */
const tensor *lw_lower_expr(lctx *c, const phys_node *e)
{
    /* lets are inlined, so nesting adds up across definitions; the stack
     * used is 0 when this frame lies above the base, which is a local of a
     * function that has returned (set_stack_budget in lower.c) */
    char here;
    uintptr_t at = (uintptr_t)&here;
    size_t used = at < c->stack_base ? c->stack_base - at : 0;
    if (c->nesting >= MAX_NESTING || used > c->stack_budget) {
        if (!c->too_deep)
            phys_error(c->diag, e->loc, "expression nested too deeply (counting the let definitions it uses): "
                                        "split it into several 'let' definitions");
        c->too_deep = 1;
        return NULL;
    }
    c->nesting++;
    lw_mark mark = lw_tensor_mark(c);
    int bindings = c->n_bindings;
    const tensor *r;
    switch (e->kind) {
    case N_NUMBER:
        r = lw_scalar_of(c, dag_const(c->dag, e->number));
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
    c->n_bindings = bindings;
    c->nesting--;
    return lw_tensor_keep(c, mark, r);
}

/* -------------------------------------------------------------- dynamics */

static const phys_symbol *first_symbol(lctx *c, phys_symbol_kind kind)
{
    for (int i = 0; i < phys_sema_symbol_count(c->sema); i++) {
        const phys_symbol *s = phys_sema_symbol_at(c->sema, i);
        if (s->kind == kind && !s->replaced) return s;
    }
    return NULL;
}

int lw_particle_count(lctx *c)
{
    const phys_symbol *set = first_symbol(c, SYM_PARTICLES);
    return set && set->shape.rank == 1 ? set->shape.dims[0] : 0;
}

/* The value of a field, function or energy where its inputs are bound by
 * name (states, attributes). */
const tensor *lw_value_of_symbol(lctx *c, const phys_node *at, const phys_symbol *sym)
{
    if (sym->kind == SYM_FIELD) {
        int inputs[DAG_MAX_INPUTS];
        if (!lw_bound_inputs(c, at, sym, inputs)) return NULL;
        return lw_field_at(c, at, sym, inputs, NULL, 0);
    }
    if (sym->kind != SYM_LET && sym->kind != SYM_ENERGY)
        return lw_unsupported(c, at, "the %s %s as a function of the state", phys_symbol_kind_name(sym->kind), sym->name);
    if (++c->depth > 64) {
        c->depth--;
        return lw_unsupported(c, at, "functions nested more than 64 deep");
    }
    const tensor *t = lw_lower_expr(c, sym->decl->kids[1]);
    c->depth--;
    return t;
}

int lw_wrt_state(lctx *c, const char *name)
{
    const phys_symbol *s = phys_sema_lookup(c->sema, name);
    return s && (s->kind == SYM_STATE || s->kind == SYM_ATTRIBUTE);
}


/* d sym / d name (a state or an attribute), where name is bound. */
const tensor *lw_gradient_wrt(lctx *c, const phys_node *at, const phys_symbol *sym, const char *name)
{
    if (!c->term) return lw_unsupported(c, at, "derivatives with respect to %s outside a term", name);
    const binding *b = lw_find_binding(c, name);
    if (!b) return lw_unsupported(c, at, "a derivative with respect to %s where %s has no value", name, name);
    const tensor *x = b->value;
    tensor *ph = lw_tensor_copy(c, x);
    for (int k = 0; k < x->n; k++) ph->el[k] = lw_placeholder(c);
    int saved = c->n_bindings;
    if (!lw_bind(c, at, name, ph)) return NULL;
    const tensor *v = lw_need_scalar(c, at, lw_value_of_symbol(c, at, sym));
    c->n_bindings = saved;
    if (!v) return NULL;
    tensor *out = lw_tensor_copy(c, x);
    int bad = 0;
    lw_gradient_at(c, v->el[0], x->n, ph->el, x->el, out->el, &bad);
    if (bad) return lw_unsupported(c, at, "derivatives of order above %d (or more than %d streams of one field)",
                                DAG_MAX_ORDER, MAX_STREAMS_PER_PROBE);
    return out;
}

const tensor *lw_lower_pair_geometry(lctx *c, const char *name, const phys_node *e)
{
    double i, j;
    if (e->nkids != 3 || !lw_constant_index(c, e->kids[1], &i) || !lw_constant_index(c, e->kids[2], &j))
        return lw_unsupported(c, e, "%s() of particles that are not given by constant or summed indices", name);
    const phys_symbol *pos = c->dyn.pos;
    const binding *b = pos ? lw_find_binding(c, pos->name) : NULL;
    if (!b) return lw_unsupported(c, e, "%s() where the particle positions have no value", name);
    int n = b->value->dims[0], dim = b->value->dims[1];
    if (i < 0 || j < 0 || i >= n || j >= n) return lw_unsupported(c, e, "particle indices outside 0..%d", n - 1);
    tensor *d = lw_tensor(c, e, dim);
    if (!d) return NULL;
    d->rank = 1, d->dims[0] = dim;
    for (int k = 0; k < dim; k++)
        d->el[k] = dag_binary(c->dag, X_SUB, b->value->el[(int)i * dim + k], b->value->el[(int)j * dim + k]);
    return lw_pair_geometry(c, name, d);
}

const tensor *lw_pair_geometry(lctx *c, const char *name, const tensor *d)
{
    if (!strcmp(name, "disp")) return d;
    int sq = dag_const(c->dag, 0.0);
    for (int k = 0; k < d->n; k++) sq = dag_binary(c->dag, X_ADD, sq, dag_binary(c->dag, X_MUL, d->el[k], d->el[k]));
    int r = dag_unary(c->dag, X_SQRT, sq);
    if (!strcmp(name, "dist")) return lw_scalar_of(c, r);
    tensor *u = lw_tensor_copy(c, d);
    for (int k = 0; k < d->n; k++) u->el[k] = dag_binary(c->dag, X_DIV, d->el[k], r);
    return u;
}

/* sum(i: ...), sum_pairs(i, j: ...), prod(i: ...) with constant ranges,
 * unrolled. */
const tensor *lw_lower_reduce(lctx *c, const phys_node *e)
{
    const tensor *kernel_sum;
    if (c->hooks->kernel_reduce(c, e, &kernel_sum)) return kernel_sum;
    int nb = e->nkids - 1, count[4];
    if (nb > 4) return lw_unsupported(c, e, "sums over more than 4 indices");
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
        double n = lw_particle_count(c);
        if (!range && n_sets != 1) { /* an index runs over the particles only when there is one set */
            phys_error(c->diag, e->kids[b]->loc, "the index %s has no range: write '%s in N'%s", e->kids[b]->name,
                       e->kids[b]->name, n_sets ? " or name the particles it runs over" : " (the model has no particles)");
            return NULL;
        }
        if (range && lw_is_particle_set(c, range)) {
            const phys_symbol *set = phys_sema_lookup(c->sema, range->name);
            n = set->shape.rank == 1 ? set->shape.dims[0] : 0;
        } else if (range && !phys_sema_fold(c->sema, range, &n)) {
            return lw_unsupported(c, range, "this index range");
        }
        if (n < 0)
            return lw_unsupported(c, e, "a sum over particles whose number is known only at run time outside "
                                        "the dynamics' potential and forces");
        if (!(n <= 100000)) return lw_unsupported(c, e, "sums of more than 100000 terms");
        count[b] = (int)n;
    }
    long total = 1;
    for (int b = 0; b < nb; b++) {
        if (count[b] <= 0) return lw_scalar_of(c, dag_const(c->dag, e->op == 'm' ? 1.0 : 0.0)); /* empty range */
        total *= count[b];
        if (total > 100000) return lw_unsupported(c, e, "sums of more than 100000 terms");
    }
    /* Terms combine pairwise, like a binary counter (partial[k] holds 2^k
     * terms): the result is a balanced tree, log2(n) deep, so the passes
     * that recurse over the DAG stay shallow, and the rounding of long sums
     * grows like log n. */
    dag_op op = e->op == 'm' ? X_MUL : X_ADD;
    const tensor *partial[24];
    int filled[24] = {0}, idx[4] = {0}, saved = c->n_bindings;
    for (long it = 0; it < total; it++) {
        long rest = it;
        for (int b = nb - 1; b >= 0; b--) idx[b] = (int)(rest % count[b]), rest /= count[b];
        if (e->op == 'p' && idx[0] >= idx[1]) continue;
        lw_mark mark = lw_tensor_mark(c); /* what this term makes, but for its partial sum */
        c->n_bindings = saved;
        for (int b = 0; b < nb; b++)
            if (!lw_bind(c, e, e->kids[b]->name, lw_scalar_of(c, dag_const(c->dag, idx[b])))) return NULL;
        const tensor *v = lw_lower_expr(c, e->kids[nb]);
        c->n_bindings = saved;
        int k = 0;
        for (; v && filled[k]; k++) {
            v = lw_map2(c, e, op, partial[k], v);
            filled[k] = 0;
        }
        if (!v) return NULL;
        partial[k] = lw_tensor_keep(c, mark, v);
        filled[k] = 1;
    }
    const tensor *acc = NULL;
    int any = 0;
    for (int k = 0; k < 24; k++) {
        if (!filled[k]) continue;
        acc = any ? lw_map2(c, e, op, partial[k], acc) : partial[k];
        any = 1;
        if (!acc) return NULL;
    }
    if (!any) return lw_scalar_of(c, dag_const(c->dag, e->op == 'm' ? 1.0 : 0.0));
    return acc;
}
