/* The checking pass: declares every name, then checks each declaration:
 * names resolve (with a suggestion when one is close), built-ins get the
 * arguments they take, derivatives are taken with respect to inputs of the
 * field, domains and regions agree, shapes of indexed quantities fit, and
 * structural claims (symmetry, conservation) are backed by the model's
 * structure. Errors are reported and checking goes on. */
#define _POSIX_C_SOURCE 200809L /* access */
#include "sema_internal.h"
#include "physrt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- values */

typedef enum {
    V_ERROR,      /* already reported: stay quiet */
    V_NUMBER,     /* a number, vector or matrix */
    V_FIELD,      /* a field (or derivative of one) not yet given its inputs */
    V_FUNCTION,   /* a let-function or energy to be called */
    V_STRING,
    V_INDEX,      /* a summation index or particle index */
    V_PARTICLES,  /* a particle set used as a whole (an energy's argument) */
} value_kind;

typedef struct {
    value_kind kind;
    phys_shape shape;
    const phys_symbol *sym;   /* V_FIELD, V_FUNCTION, V_INDEX over particles */
} value;

static const value error_value = {V_ERROR, {0, {0, 0}}, NULL};

static value number_value(phys_shape shape)
{
    value v = {V_NUMBER, shape, NULL};
    return v;
}

static phys_shape scalar(void)
{
    phys_shape s = {0, {0, 0}};
    return s;
}

static phys_shape vector_of(int n)
{
    phys_shape s = {1, {n, 0}};
    return s;
}

/* ----------------------------------------------------------- local names */

typedef enum {
    L_COORD = PHYS_LOCAL_COORD, L_FORMAL = PHYS_LOCAL_FORMAL, L_INDEX = PHYS_LOCAL_INDEX,
    L_COLUMN = PHYS_LOCAL_COLUMN
} local_kind;

typedef struct {
    const char *name;
    local_kind kind;
    phys_shape shape;
    const phys_symbol *over;  /* L_INDEX: the particle set it runs over, if any */
    const phys_node *binding; /* the node that binds it */
} local;

enum { MAX_LOCALS = 256 };

typedef struct {
    phys_sema *sema;
    phys_diag *diag;
    local locals[MAX_LOCALS];
    int n_locals;
    const char *context;          /* what is being checked, for messages */
    int in_field_body;            /* network constructors allowed */
    int allow_ddt;
    int region_depth;             /* named regions through named regions */
    const phys_node *program;     /* the program being checked (its imports) */
} checker;

/* ------------------------------------------------------------ resolution */

/* The checker annotates the tree it is given: each name records what it
 * resolved to (phys_node.res), so that proofs and the lowering compare
 * identities, never spellings. The nodes live in the parse's arena. */
static phys_resolved *res_of(const phys_node *n)
{
    return &((phys_node *)n)->res;
}

static void resolve_symbol(const phys_node *n, const phys_symbol *sym)
{
    phys_resolved *r = res_of(n);
    r->kind = PHYS_RESOLVED_SYMBOL;
    r->sym = sym;
}

static void resolve_builtin(const phys_node *n, const phys_builtin *b)
{
    phys_resolved *r = res_of(n);
    r->kind = PHYS_RESOLVED_BUILTIN;
    r->builtin = b->id;
}

static void resolve_local(const phys_node *n, const local *l)
{
    phys_resolved *r = res_of(n);
    r->kind = PHYS_RESOLVED_LOCAL;
    r->local = (phys_local_kind)l->kind;
    r->binding = l->binding;
    r->sym = l->over;
}

static void resolve_input(const phys_node *n, const phys_symbol *f, int index)
{
    phys_resolved *r = res_of(n);
    r->kind = PHYS_RESOLVED_INPUT;
    r->sym = f;
    r->index = index;
}

/* A user name that would hide a built-in function is an error at its
 * definition, so no proof and no lowering ever meets a shadowed built-in.
 * The constants pi and e may be shadowed: the definition is honoured
 * everywhere, since names resolve to the nearest definition and folding
 * and the lowering follow the resolution. */
static int shadows_builtin(phys_diag *diag, const phys_node *at, const char *name)
{
    const phys_builtin *b = phys_builtin_callable(name);
    if (!b || !phys_builtin_in_expressions(b) || b->cls == B_CONSTANT) return 0;
    if (b->cls == B_DERIVATIVE)
        phys_error(diag, at->loc, "'%s' is a built-in derivative operator and cannot be redefined", name);
    else
        phys_error(diag, at->loc, "'%s' is a built-in %s (%s); choose another name", name,
                   phys_builtin_class_name(b->cls), b->summary);
    return 1;
}

static const local *find_local(const checker *c, const char *name)
{
    for (int i = c->n_locals - 1; i >= 0; i--)
        if (strcmp(c->locals[i].name, name) == 0) return &c->locals[i];
    return NULL;
}

static int push_local(checker *c, const phys_node *at, const char *name, local_kind kind,
                      phys_shape shape, const phys_symbol *over)
{
    if (c->n_locals == MAX_LOCALS) {
        phys_error(c->diag, at->loc, "too many nested names (at most %d)", MAX_LOCALS);
        return 0;
    }
    if (kind != L_COLUMN) shadows_builtin(c->diag, at, name);
    local *l = &c->locals[c->n_locals++];
    l->name = name;
    l->kind = kind;
    l->shape = shape;
    l->over = over;
    l->binding = at;
    /* the binding node itself: which set a binder or pair formal runs over */
    if (at->kind == N_BINDER || at->kind == N_PARAMETER || at->kind == N_COORD) resolve_local(at, l);
    return 1;
}

static const phys_module *module_named(const phys_sema *s, const char *name, size_t len)
{
    for (int i = 0; i < s->n_modules; i++)
        if (strlen(s->modules[i].name) == len && !strncmp(s->modules[i].name, name, len)) return &s->modules[i];
    return NULL;
}

/* The name closest to `name` among the declarations of module (len bytes). */
static const char *module_suggestion(checker *c, const char *module, size_t len, const char *name)
{
    const char *names[256] = {NULL};
    int n = 0;
    for (int i = 0; i < c->sema->n_symbols && n < 256; i++) {
        const phys_symbol *sym = c->sema->symbols[i];
        if (sym->module && strlen(sym->module) == len && !strncmp(sym->module, module, len) && !sym->replaced)
            names[n++] = sym->name;
    }
    const char *h = phys_sema_suggest(c->sema, name, names, n);
    for (int j = 0; h && j < n; j++) /* phys_sema_suggest also looks at globals: keep the module's */
        if (names[j] == h) return h;
    return NULL;
}

static void unknown_name(checker *c, const phys_node *at, const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot) { /* module.member */
        int len = (int)(dot - name);
        const char *hint = module_suggestion(c, name, (size_t)len, dot + 1);
        if (!module_named(c->sema, name, (size_t)len))
            phys_error(c->diag, at->loc, "no module '%.*s' is imported: add 'import %.*s'", len, name, len, name);
        else if (hint)
            phys_error(c->diag, at->loc, "module %.*s has no '%s'; did you mean '%s'?", len, name, dot + 1, hint);
        else
            phys_error(c->diag, at->loc, "module %.*s has no '%s'", len, name, dot + 1);
        return;
    }
    const char *locals[MAX_LOCALS];
    for (int i = 0; i < c->n_locals; i++) locals[i] = c->locals[i].name;
    const char *hint = phys_sema_suggest(c->sema, name, locals, c->n_locals);
    if (hint)
        phys_error(c->diag, at->loc, "unknown name '%s'; did you mean '%s'?", name, hint);
    else
        phys_error(c->diag, at->loc, "unknown name '%s'", name);
}

/* ------------------------------------------------------------ constants */

/* A compile-time constant; reports and returns 0 when it is not one. */
static int need_constant(checker *c, const phys_node *e, const char *what, double *out)
{
    if (!e) return 0;
    if (phys_sema_fold(c->sema, e, out)) {
        if (!isfinite(*out)) {
            phys_error(c->diag, e->loc, "%s is not a finite number", what);
            return 0;
        }
        return 1;
    }
    if (c->sema->fold_cycle) {
        c->sema->fold_cycle = 0;
        phys_error(c->diag, e->loc, "%s is defined in terms of itself", what);
        return 0;
    }
    phys_error(c->diag, e->loc, "%s must be a constant known when the model is compiled", what);
    return 0;
}

static int need_count(checker *c, const phys_node *e, const char *what, long min, long *out)
{
    double v;
    if (!need_constant(c, e, what, &v)) return 0;
    if (v == floor(v) && v > 1e9) {
        phys_error(c->diag, e->loc, "%s is too large: at most 1000000000, got %g", what, v);
        return 0;
    }
    if (v != floor(v) || v < (double)min) {
        phys_error(c->diag, e->loc, "%s must be a whole number %s %ld, got %g", what,
                   min == 0 ? "at least" : "of at least", min, v);
        return 0;
    }
    *out = (long)v;
    return 1;
}

/* ------------------------------------------------------- network checks */

static value check_expr(checker *c, const phys_node *e);

/* Named arguments of a constructor: known, given once, required present.
 * Positional ones: as many as the built-in takes. */
static void check_constructor_args(checker *c, const phys_node *call, const phys_builtin *b)
{
    int positional = 0;
    for (int i = 1; i < call->nkids; i++) {
        const phys_node *a = call->kids[i];
        if (a->kind != N_NAMED_ARG) {
            positional++;
            continue;
        }
        int known = 0;
        for (int k = 0; b->named && b->named[k]; k++)
            if (!strcmp(b->named[k], a->name)) known = 1;
        if (!known) {
            const char *hint = NULL;
            if (b->named) {
                int n = 0;
                while (b->named[n]) n++;
                hint = phys_sema_suggest(c->sema, a->name, (const char *const *)b->named, n);
                /* phys_sema_suggest also looks at globals; keep only argument names */
                int ok = 0;
                for (int k = 0; hint && k < n; k++)
                    if (!strcmp(b->named[k], hint)) ok = 1;
                if (!ok) hint = NULL;
            }
            if (hint)
                phys_error(c->diag, a->loc, "%s() has no argument '%s'; did you mean '%s'?",
                           b->name, a->name, hint);
            else if (b->named)
                phys_error(c->diag, a->loc, "%s() has no argument '%s'", b->name, a->name);
            else
                phys_error(c->diag, a->loc, "%s() takes no named arguments", b->name);
        }
        for (int j = 1; j < i; j++)
            if (call->kids[j]->kind == N_NAMED_ARG && !strcmp(call->kids[j]->name, a->name))
                phys_error(c->diag, a->loc, "argument '%s' given twice", a->name);
    }
    if (positional < b->min_args || (b->max_args >= 0 && positional > b->max_args)) {
        if (b->min_args == b->max_args)
            phys_error(c->diag, call->loc, "%s() takes %d positional argument%s, got %d", b->name,
                       b->min_args, b->min_args == 1 ? "" : "s", positional);
        else
            phys_error(c->diag, call->loc, "%s() takes %d to %d positional arguments, got %d",
                       b->name, b->min_args, b->max_args, positional);
    }
    for (int k = 0; b->required && b->required[k]; k++)
        if (!phys_node_named_arg(call, b->required[k]))
            phys_error(c->diag, call->loc, "%s() needs the argument '%s'", b->name, b->required[k]);
}

/* The built-in constructor a call names, or an error when it names none of
 * the expected class. */
static const phys_builtin *constructor(checker *c, const phys_node *call, phys_builtin_class cls)
{
    const phys_node *callee = call->kind == N_CALL ? call->kids[0] : call;
    if (callee->kind != N_NAME) {
        phys_error(c->diag, call->loc, "expected the name of %s %s here",
                   strchr("aeiou", phys_builtin_class_name(cls)[0]) ? "an" : "a", phys_builtin_class_name(cls));
        return NULL;
    }
    const phys_builtin *b = phys_builtin_find(callee->name, cls);
    if (!b) {
        const char *names[64];
        int n = 0;
        for (int i = 0; phys_builtin_at(i) && n < 64; i++)
            if (phys_builtin_at(i)->cls == cls) names[n++] = phys_builtin_at(i)->name;
        char list[512] = "";
        for (int i = 0; i < n; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, names[i], sizeof list - strlen(list) - 1);
        }
        const char *cls_name = phys_builtin_class_name(cls);
        phys_error(c->diag, callee->loc, "'%s' is not %s %s (one of: %s)", callee->name,
                   strchr("aeiou", cls_name[0]) ? "an" : "a", cls_name, list);
        return NULL;
    }
    resolve_builtin(callee, b);
    if (call->kind == N_CALL) check_constructor_args(c, call, b);
    else if (b->required && b->required[0])
        phys_error(c->diag, call->loc, "%s() needs the argument '%s'", b->name, b->required[0]);
    return b;
}

/* hidden = [w1, w2, ...]: positive whole numbers. */
static void check_widths(checker *c, const phys_node *v, const char *what)
{
    if (!v) return;
    if (v->kind != N_VECTOR || v->nkids == 0) {
        phys_error(c->diag, v->loc, "%s must be a list of layer widths such as [32, 32]", what);
        return;
    }
    for (int i = 0; i < v->nkids; i++) {
        long w;
        need_count(c, v->kids[i], "a layer width", 1, &w);
    }
}

static void check_number_list(checker *c, const phys_node *v, const char *what)
{
    if (!v) return;
    if (v->kind == N_VECTOR) {
        if (v->nkids == 0) phys_error(c->diag, v->loc, "%s must not be empty", what);
        for (int i = 0; i < v->nkids; i++) {
            double x;
            need_constant(c, v->kids[i], what, &x);
        }
    } else {
        double x;
        need_constant(c, v, what, &x);
    }
}

static void check_activation(checker *c, const phys_node *a)
{
    if (!a) return;
    if (a->kind == N_NAME && phys_builtin_find(a->name, B_ACTIVATION))
        resolve_builtin(a, phys_builtin_find(a->name, B_ACTIVATION));
    else {
        phys_error(c->diag, a->loc,
                   "activation must be one of tanh, sigmoid, softplus, gelu, silu, sin, relu, identity");
    }
}

static void check_network(checker *c, const phys_node *call);

static void check_descriptor(checker *c, const phys_node *call)
{
    const phys_builtin *b = constructor(c, call, B_DESCRIPTOR);
    if (!b || call->kind != N_CALL) return;
    if (!strcmp(b->name, "acsf")) {
        double rc;
        const phys_node *cut = phys_node_named_arg(call, "cutoff");
        if (cut && need_constant(c, cut, "the cutoff", &rc) && rc <= 0)
            phys_error(c->diag, cut->loc, "the cutoff must be positive");
        const phys_node *radial = phys_node_named_arg(call, "radial");
        const phys_node *angular = phys_node_named_arg(call, "angular");
        if (radial) {
            const phys_builtin *r = constructor(c, radial, B_DESCRIPTOR);
            if (r && strcmp(r->name, "g2"))
                phys_error(c->diag, radial->loc, "radial symmetry functions are g2(eta = ..., rs = ...)");
            else if (r && radial->kind == N_CALL) {
                check_number_list(c, phys_node_named_arg(radial, "eta"), "eta");
                check_number_list(c, phys_node_named_arg(radial, "rs"), "rs");
            }
        }
        const phys_node *cf = phys_node_named_arg(call, "cutoff_function");
        if (cf && (cf->kind != N_NAME || phys_acsf_cutoff_kind(cf->name) < 0))
            phys_error(c->diag, cf->loc, "cutoff_function must be one of cos, tanhu, tanh, poly1, poly2, poly3, "
                       "poly4, exp, hard (n2p2's cutoff functions)");
        const phys_node *inner = phys_node_named_arg(call, "cutoff_inner");
        double a_inner;
        if (inner && need_constant(c, inner, "the inner cutoff (a fraction of the cutoff)", &a_inner) &&
            !(a_inner >= 0 && a_inner < 1))
            phys_error(c->diag, inner->loc, "the inner cutoff is a fraction of the cutoff in [0, 1)");
        for (int w = 0; w < 2; w++) {
            const phys_node *ang = w ? phys_node_named_arg(call, "wide") : angular;
            if (!ang) continue;
            const phys_builtin *a = constructor(c, ang, B_DESCRIPTOR);
            if (a && strcmp(a->name, w ? "g5" : "g4"))
                phys_error(c->diag, ang->loc, w ? "wide angular symmetry functions are g5(eta = ..., zeta = ..., lambda = ...)"
                                                : "angular symmetry functions are g4(eta = ..., zeta = ..., lambda = ...)");
            else if (a && ang->kind == N_CALL) {
                check_number_list(c, phys_node_named_arg(ang, "rs"), "rs");
                check_number_list(c, phys_node_named_arg(ang, "eta"), "eta");
                check_number_list(c, phys_node_named_arg(ang, "zeta"), "zeta");
                const phys_node *lam = phys_node_named_arg(ang, "lambda");
                check_number_list(c, lam, "lambda");
                for (int i = 0; lam && lam->kind == N_VECTOR && i < lam->nkids; i++) {
                    double l;
                    if (phys_sema_fold(c->sema, lam->kids[i], &l) && l != 1 && l != -1)
                        phys_error(c->diag, lam->kids[i]->loc, "lambda is -1 or +1, got %g", l);
                }
            }
        }
        if (!radial && !angular && !phys_node_named_arg(call, "wide"))
            phys_error(c->diag, call->loc, "acsf() needs radial = g2(...), angular = g4(...), wide = g5(...) or some of them");
    } else if (!strcmp(b->name, "message_passing")) {
        long n;
        const phys_node *layers = phys_node_named_arg(call, "layers"), *width = phys_node_named_arg(call, "width");
        if (layers) need_count(c, layers, "the number of message-passing layers", 1, &n);
        if (width) need_count(c, width, "the message width", 1, &n);
        check_activation(c, phys_node_named_arg(call, "activation"));
    } else {
        phys_error(c->diag, call->loc, "%s() is part of a descriptor: use it inside acsf(...)", b->name);
    }
}

static void check_network(checker *c, const phys_node *call)
{
    const phys_builtin *b = constructor(c, call, B_NETWORK);
    if (!b || call->kind != N_CALL) return;
    if (!strcmp(b->name, "mlp")) {
        check_widths(c, phys_node_named_arg(call, "hidden"), "hidden");
        check_activation(c, phys_node_named_arg(call, "activation"));
        const phys_node *outs = phys_node_named_arg(call, "outputs");
        long n;
        if (outs) need_count(c, outs, "the number of outputs", 1, &n);
        const phys_node *init = phys_node_named_arg(call, "init");
        if (init && (init->kind != N_NAME || (strcmp(init->name, "xavier") && strcmp(init->name, "he"))))
            phys_error(c->diag, init->loc, "init is xavier or he");
    } else { /* atomic(network, descriptor = ...) */
        for (int i = 1; i < call->nkids; i++)
            if (call->kids[i]->kind != N_NAMED_ARG) {
                if (call->kids[i]->kind == N_CALL) check_network(c, call->kids[i]);
                else phys_error(c->diag, call->kids[i]->loc, "atomic() wraps a network such as mlp(...)");
            }
        const phys_node *desc = phys_node_named_arg(call, "descriptor");
        if (desc) check_descriptor(c, desc);
        const phys_node *els = phys_node_named_arg(call, "elements");
        for (int i = 0; els && i < (els->kind == N_VECTOR ? els->nkids : 1); i++) {
            const phys_node *e = els->kind == N_VECTOR ? els->kids[i] : els;
            if (e->kind != N_NAME || !physrt_element_z(e->name)) {
                phys_error(c->diag, e->loc, "elements are chemical symbols such as Si or O: elements = [Si, O]");
                continue;
            }
            for (int j = 0; j < i; j++)
                if (els->kids[j]->kind == N_NAME && !strcmp(els->kids[j]->name, e->name))
                    phys_error(c->diag, e->loc, "element %s listed twice", e->name);
        }
        if (els && els->kind == N_VECTOR && (els->nkids < 1 || els->nkids > 8))
            phys_error(c->diag, els->loc, "an atomic network covers 1 to 8 elements");
    }
}

/* The mlp inside a field's network (through atomic()). */
static const phys_node *inner_mlp(const phys_node *net)
{
    while (net && net->kind == N_CALL && net->kids[0]->kind == N_NAME &&
           phys_builtin_find(net->kids[0]->name, B_NETWORK) &&
           phys_builtin_find(net->kids[0]->name, B_NETWORK)->id == B_ID_ATOMIC && net->nkids > 1)
        net = net->kids[1];
    return net;
}

/* ----------------------------------------------------------- derivatives */

static int is_input_of(const phys_symbol *f, const char *name)
{
    for (int i = 0; i < f->n_inputs; i++)
        if (!strcmp(f->inputs[i], name)) return 1;
    return 0;
}

static void list_inputs(const phys_symbol *f, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int i = 0; i < f->n_inputs; i++) {
        strncat(buf, i ? ", " : "", size - strlen(buf) - 1);
        strncat(buf, f->inputs[i], size - strlen(buf) - 1);
    }
}

/* True when every input of field f is bound here (as a coordinate, formal,
 * data column or state of the same name), so `f` means f at this point. */
static int inputs_bound(const checker *c, const phys_symbol *f)
{
    for (int i = 0; i < f->n_inputs; i++) {
        const local *l = find_local(c, f->inputs[i]);
        if (l) continue;
        const phys_symbol *s = phys_sema_lookup(c->sema, f->inputs[i]);
        if (s && (s->kind == SYM_STATE || s->kind == SYM_PARTICLES || s->kind == SYM_SPINS)) continue;
        return 0;
    }
    return 1;
}

static void note_order(const phys_symbol *f, int order, checker *c, const phys_node *at)
{
    phys_symbol *mf = (phys_symbol *)f;
    if (order > mf->max_order) mf->max_order = order;
    const phys_node *mlp = inner_mlp(f->network);
    if (order >= 2 && mlp && mlp->kind == N_CALL) {
        const phys_node *act = phys_node_named_arg(mlp, "activation");
        if (act && act->kind == N_NAME && !strcmp(act->name, "relu"))
            phys_error(c->diag, at->loc,
                       "this order-%d derivative of field %s vanishes almost everywhere: %s uses "
                       "relu, whose second derivative is zero; use a smooth activation such as "
                       "tanh, gelu, silu or softplus",
                       order, f->name, f->name);
    }
}

/* d(f, x, y, ...): f a field, each variable one of its inputs. */
static value check_d(checker *c, const phys_node *call)
{
    const phys_node *target = call->kids[1];
    if (target->kind != N_NAME) {
        phys_error(c->diag, target->loc, "d() differentiates a field: write d(u, x), with u a field");
        return error_value;
    }
    const phys_symbol *f = phys_sema_lookup(c->sema, target->name);
    if (!f || (f->kind != SYM_FIELD && f->kind != SYM_LET)) {
        if (!f && !find_local(c, target->name)) unknown_name(c, target, target->name);
        else
            phys_error(c->diag, target->loc, "d() differentiates a field; '%s' is %s", target->name,
                       f ? phys_symbol_kind_with_article(f->kind) : "a local name");
        return error_value;
    }
    resolve_symbol(target, f);
    int order = call->nkids - 2;
    if (order > PHYS_MAX_DERIVATIVE_ORDER) {
        phys_error(c->diag, call->loc, "derivatives of order %d are not supported (at most %d)", order,
                   PHYS_MAX_DERIVATIVE_ORDER);
        return error_value;
    }
    for (int i = 2; i < call->nkids; i++) {
        const phys_node *v = call->kids[i];
        if (v->kind != N_NAME) {
            phys_error(c->diag, v->loc, "a derivative is taken with respect to an input name, such as x");
            return error_value;
        }
        if (!is_input_of(f, v->name)) {
            char inputs[256];
            list_inputs(f, inputs, sizeof inputs);
            phys_error(c->diag, v->loc, "'%s' is not an input of %s %s(%s)", v->name,
                       phys_symbol_kind_name(f->kind), f->name, inputs);
            return error_value;
        }
        for (int k = 0; k < f->n_inputs; k++)
            if (!strcmp(f->inputs[k], v->name)) resolve_input(v, f, k);
    }
    if (f->kind == SYM_FIELD) note_order(f, order, c, call);
    value v = {V_FIELD, f->shape, f};
    if (inputs_bound(c, f)) v.kind = V_NUMBER;
    return v;
}

/* grad/laplace/hessian/div of a field at this point; grad(V, r) of an
 * energy with respect to a particle attribute. */
static value check_operator(checker *c, const phys_node *call, phys_builtin_id id)
{
    const phys_node *target = call->kids[1];
    const char *op = phys_builtin_of(id)->name;
    if (id == B_ID_DDT) {
        const phys_symbol *s = target->kind == N_NAME ? phys_sema_lookup(c->sema, target->name) : NULL;
        if (!s || (s->kind != SYM_STATE && s->kind != SYM_ATTRIBUTE)) {
            phys_error(c->diag, target->loc, "ddt() is the time derivative of a state, such as ddt(q)");
            return error_value;
        }
        resolve_symbol(target, s);
        if (!c->sema->dynamics)
            phys_error(c->diag, call->loc,
                       "ddt(%s) needs the model's dynamics: declare 'dynamics hamiltonian H', "
                       "'dynamics newton(F, mass = m)' or 'dynamics: ddt(q) == ...'", s->name);
        return number_value(s->shape);
    }
    if (target->kind != N_NAME) {
        phys_error(c->diag, target->loc, "%s() takes the name of a field or energy", op);
        return error_value;
    }
    const phys_symbol *f = phys_sema_lookup(c->sema, target->name);
    if (!f) {
        unknown_name(c, target, target->name);
        return error_value;
    }
    resolve_symbol(target, f);
    if (call->nkids == 3) { /* grad(V, r) / hessian(V, r): with respect to positions */
        const phys_node *wrt = call->kids[2];
        const phys_symbol *r = wrt->kind == N_NAME ? phys_sema_lookup(c->sema, wrt->name) : NULL;
        if (r && r->kind == SYM_ATTRIBUTE && (f->kind == SYM_ENERGY || f->kind == SYM_FIELD)) {
            if (f->kind == SYM_FIELD) note_order(f, id == B_ID_HESSIAN ? 2 : 1, c, call);
            resolve_symbol(wrt, r);
            phys_shape s = r->shape;
            return number_value(s);
        }
        if (r && r->kind == SYM_STATE) {
            if (f->kind == SYM_FIELD) note_order(f, id == B_ID_HESSIAN ? 2 : 1, c, call);
            resolve_symbol(wrt, r);
            return number_value(r->shape);
        }
        if (wrt->kind == N_NAME && is_input_of(f, wrt->name)) {
            if (f->kind == SYM_FIELD) note_order(f, 1, c, call);
            for (int k = 0; k < f->n_inputs; k++)
                if (!strcmp(f->inputs[k], wrt->name)) resolve_input(wrt, f, k);
            return number_value(scalar());
        }
        phys_error(c->diag, wrt->loc, "%s(%s, %s): '%s' must be a particle attribute or state of %s",
                   op, f->name, wrt->kind == N_NAME ? wrt->name : "...",
                   wrt->kind == N_NAME ? wrt->name : "it", f->name);
        return error_value;
    }
    if (f->kind != SYM_FIELD && f->kind != SYM_ENERGY && f->kind != SYM_LET) {
        phys_error(c->diag, target->loc, "%s() takes a field; '%s' is %s", op, f->name,
                   phys_symbol_kind_with_article(f->kind));
        return error_value;
    }
    int n = f->n_inputs;
    int order = id == B_ID_LAPLACE || id == B_ID_HESSIAN ? 2 : 1;
    if (f->kind == SYM_FIELD) note_order(f, order, c, call);
    if (id == B_ID_DIV) {
        if (f->shape.rank != 1 || (f->shape.dims[0] >= 0 && f->shape.dims[0] != n)) {
            phys_error(c->diag, target->loc,
                       "div(%s) needs a vector field with as many components as inputs (%d)", f->name, n);
            return error_value;
        }
        return number_value(scalar());
    }
    if ((id == B_ID_LAPLACE || id == B_ID_HESSIAN || id == B_ID_GRAD) && f->shape.rank != 0) {
        phys_error(c->diag, target->loc, "%s(%s) needs a scalar field; %s has %d outputs", op, f->name,
                   f->name, f->shape.dims[0]);
        return error_value;
    }
    if (id == B_ID_LAPLACE) return number_value(scalar());
    if (id == B_ID_GRAD) return number_value(vector_of(n));
    phys_shape h = {2, {n, n}};
    return number_value(h);
}

/* --------------------------------------------------------------- shapes */

static int same_shape(phys_shape a, phys_shape b)
{
    if (a.rank != b.rank) return 0;
    for (int i = 0; i < a.rank; i++)
        if (a.dims[i] >= 0 && b.dims[i] >= 0 && a.dims[i] != b.dims[i]) return 0;
    return 1;
}

static const char *shape_text(phys_shape s, char buf[48])
{
    if (s.rank == 0) return "a scalar";
    if (s.rank == 1) {
        if (s.dims[0] < 0) return "a vector";
        snprintf(buf, 48, "a vector of %d", s.dims[0]);
    } else {
        snprintf(buf, 48, "a %dx%d matrix", s.dims[0], s.dims[1]);
    }
    return buf;
}

/* A value that must be a number (not a field without inputs, a string...). */
static value need_number(checker *c, const phys_node *e, value v)
{
    switch (v.kind) {
    case V_NUMBER:
    case V_ERROR:
        return v;
    case V_FIELD: {
        char inputs[256];
        list_inputs(v.sym, inputs, sizeof inputs);
        phys_error(c->diag, e->loc,
                   "%s %s(%s) is used without its inputs: call it, as in %s(%s), or use it where "
                   "%s %s bound",
                   phys_symbol_kind_name(v.sym->kind), v.sym->name, inputs, v.sym->name, inputs, inputs,
                   v.sym->n_inputs == 1 ? "is" : "are");
        return error_value;
    }
    case V_FUNCTION:
        phys_error(c->diag, e->loc, "%s '%s' must be called with its arguments",
                   phys_symbol_kind_name(v.sym->kind), v.sym->name);
        return error_value;
    case V_STRING:
        phys_error(c->diag, e->loc, "a string is not a number");
        return error_value;
    case V_INDEX:
        return number_value(scalar());
    case V_PARTICLES:
        phys_error(c->diag, e->loc, "a particle set is not a number; index an attribute, as in q[i]");
        return error_value;
    }
    return error_value;
}

static value check_number(checker *c, const phys_node *e)
{
    return need_number(c, e, check_expr(c, e));
}

static value check_binary(checker *c, const phys_node *e)
{
    value a = check_number(c, e->kids[0]), b = check_number(c, e->kids[1]);
    if (a.kind == V_ERROR || b.kind == V_ERROR) return error_value;
    char sa[48], sb[48];
    switch (e->op) {
    case '+':
    case '-':
        if (!same_shape(a.shape, b.shape)) {
            phys_error(c->diag, e->loc, "'%c' needs operands of one shape: %s and %s", e->op,
                       shape_text(a.shape, sa), shape_text(b.shape, sb));
            return error_value;
        }
        return a;
    case '*':
        if (a.shape.rank == 0) return b;
        if (b.shape.rank == 0) return a;
        if (same_shape(a.shape, b.shape)) return a; /* elementwise */
        phys_error(c->diag, e->loc,
                   "'*' multiplies by a scalar or elementwise; %s and %s do not fit (use dot())",
                   shape_text(a.shape, sa), shape_text(b.shape, sb));
        return error_value;
    case '/':
    case '^':
        if (b.shape.rank != 0 && !same_shape(a.shape, b.shape)) {
            phys_error(c->diag, e->loc, "'%c' needs a scalar on the right, got %s", e->op,
                       shape_text(b.shape, sb));
            return error_value;
        }
        return a;
    }
    return a;
}

/* ---------------------------------------------------------------- calls */

/* Checks every argument once; *first receives the first one's value. */
static value check_args_numbers(checker *c, const phys_node *call, value *first)
{
    value last = number_value(scalar());
    *first = error_value;
    for (int i = 1; i < call->nkids; i++) {
        const phys_node *a = call->kids[i];
        if (a->kind == N_NAMED_ARG) {
            phys_error(c->diag, a->loc, "named argument '%s' where a value is expected", a->name);
            last = error_value;
            continue;
        }
        value v = check_number(c, a);
        if (i == 1) *first = v;
        if (v.kind == V_ERROR) last = v;
    }
    return last;
}

static const phys_symbol *first_of_kind(phys_sema *s, phys_symbol_kind kind);

/* The particle set an index runs over: a bound index, or a constant
 * particle number (dist(0, 1)) of the first set, whose size must then be
 * known when the model is compiled (*reported when it is not). */
static const phys_symbol *particles_of_index(checker *c, const phys_node *e, int *reported)
{
    const local *l = e->kind == N_NAME ? find_local(c, e->name) : NULL;
    if (l) {
        resolve_local(e, l);
        return l->kind == L_INDEX ? l->over : NULL;
    }
    const phys_system *sys = phys_sema_system(c->sema);
    double k;
    if (!sys->n_sets || !phys_sema_fold(c->sema, e, &k)) return NULL;
    const phys_particle_set *set = &sys->sets[0];
    if (set->count < 0) {
        phys_error(c->diag, e->loc, "particle number %g: the size of particle set %s is known only at run "
                   "time; use an index bound by sum(...), sum_pairs(...) or a pair force F(i, j)", k, set->sym->name);
        *reported = 1;
        return NULL;
    }
    return k == (int)k && k >= 0 && k < set->count ? set->sym : NULL;
}

static value check_builtin_call(checker *c, const phys_node *call, const phys_builtin *b)
{
    int nargs = call->nkids - 1;
    const char *name = b->name;
    if (b->cls == B_NETWORK) {
        if (!c->in_field_body) {
            phys_error(c->diag, call->loc, "%s() defines a learned field: use it in 'field name(inputs) = ...'",
                       name);
            return error_value;
        }
        check_network(c, call);
        return number_value(scalar()); /* the field's shape is set by its declaration */
    }
    if (b->cls != B_MATH && b->cls != B_DERIVATIVE && b->cls != B_VECTOR && b->cls != B_GRID) {
        phys_error(c->diag, call->loc, "%s() is a %s and cannot be used in an expression", name,
                   phys_builtin_class_name(b->cls));
        return error_value;
    }
    /* d(u, x, x, x, x, x): check_d says the order is too high, which is the real problem */
    int high_order = b->id == B_ID_D && nargs > b->max_args;
    if (!high_order && (nargs < b->min_args || nargs > b->max_args)) {
        if (b->min_args == b->max_args)
            phys_error(c->diag, call->loc, "%s() takes %d argument%s, got %d", name, b->min_args,
                       b->min_args == 1 ? "" : "s", nargs);
        else
            phys_error(c->diag, call->loc, "%s() takes %d to %d arguments, got %d", name, b->min_args,
                       b->max_args, nargs);
        return error_value;
    }
    for (int i = 1; i < call->nkids; i++)
        if (call->kids[i]->kind == N_NAMED_ARG) {
            phys_error(c->diag, call->kids[i]->loc, "%s() takes no named arguments", name);
            return error_value;
        }
    if (b->cls == B_DERIVATIVE) return b->id == B_ID_D ? check_d(c, call) : check_operator(c, call, b->id);
    if (b->cls == B_GRID) {
        long n;
        double lo, hi;
        need_constant(c, call->kids[1], "the start of linspace", &lo);
        need_constant(c, call->kids[2], "the end of linspace", &hi);
        need_count(c, call->kids[3], "the number of points", 1, &n);
        return number_value(vector_of((int)n));
    }
    if (b->cls == B_MATH) {
        value first;
        value v = check_args_numbers(c, call, &first);
        if (v.kind == V_ERROR) return v;
        return first; /* elementwise: shape of the first (checked once: nested calls stay linear) */
    }
    /* vectors and particles */
    /* dist/disp/unit of i in set A and j in set B: from r_j (B's position) to r_i (A's) */
    if (b->id == B_ID_DIST || b->id == B_ID_DISP || b->id == B_ID_UNIT) {
        int reported = 0;
        const phys_symbol *p1 = particles_of_index(c, call->kids[1], &reported);
        const phys_symbol *p2 = particles_of_index(c, call->kids[2], &reported);
        if (!p1 || !p2) {
            if (!reported)
                phys_error(c->diag, call->loc, "%s(i, j) takes two particle indices (bound by sum(...), "
                           "sum_pairs(...) or a pair force F(i, j))", name);
            return error_value;
        }
        const phys_particle_set *s1 = phys_sema_particle_set(c->sema, p1), *s2 = phys_sema_particle_set(c->sema, p2);
        for (int k = 0; k < 2; k++) {
            const phys_particle_set *set = k ? s2 : s1;
            if (set && !set->position) {
                phys_error(c->diag, call->kids[k + 1]->loc, "particle set %s has no position: declare one, as in "
                           "'particles %s with position r[3]'", set->sym->name, set->sym->name);
                return error_value;
            }
        }
        if (!s1 || !s2) return error_value;
        int dim = s1->position->shape.dims[1];
        if (dim != s2->position->shape.dims[1]) {
            phys_error(c->diag, call->loc, "%s(i, j) between particle sets %s and %s needs positions of one size: "
                       "%s has %d components, %s %d", name, p1->name, p2->name, s1->position->name, dim,
                       s2->position->name, s2->position->shape.dims[1]);
            return error_value;
        }
        if (b->id == B_ID_DIST) return number_value(scalar());
        return number_value(vector_of(dim));
    }
    if (b->id == B_ID_PERIODIC) {
        phys_error(c->diag, call->loc, "periodic(u, x) is a boundary condition, not a value: "
                   "write it alone in a 'boundary' declaration");
        return error_value;
    }
    value a = check_number(c, call->kids[1]);
    if (a.kind == V_ERROR) return a;
    char sa[48], sb[48];
    if (a.shape.rank != 1) {
        phys_error(c->diag, call->kids[1]->loc, "%s() takes vectors, got %s", name, shape_text(a.shape, sa));
        return error_value;
    }
    if (b->id == B_ID_NORM) return number_value(scalar());
    value b2 = check_number(c, call->kids[2]);
    if (b2.kind == V_ERROR) return b2;
    if (!same_shape(a.shape, b2.shape)) {
        phys_error(c->diag, call->loc, "%s() needs vectors of one length: %s and %s", name,
                   shape_text(a.shape, sa), shape_text(b2.shape, sb));
        return error_value;
    }
    if (b->id == B_ID_CROSS) {
        if (a.shape.dims[0] >= 0 && a.shape.dims[0] != 3)
            phys_error(c->diag, call->loc, "cross() takes 3-vectors");
        return a;
    }
    return number_value(scalar());
}

static value check_call(checker *c, const phys_node *call)
{
    const phys_node *callee = call->kids[0];
    int nargs = call->nkids - 1;
    if (callee->kind == N_NAME && !find_local(c, callee->name)) {
        const phys_symbol *sym = phys_sema_lookup(c->sema, callee->name);
        if (!sym) {
            const phys_builtin *b = phys_builtin_callable(callee->name);
            if (b) {
                resolve_builtin(callee, b);
                return check_builtin_call(c, call, b);
            }
            unknown_name(c, callee, callee->name);
            for (int i = 1; i < call->nkids; i++)
                if (call->kids[i]->kind != N_NAMED_ARG) check_expr(c, call->kids[i]);
            return error_value;
        }
    }
    value f = check_expr(c, callee);
    if (f.kind == V_ERROR) {
        for (int i = 1; i < call->nkids; i++)
            if (call->kids[i]->kind != N_NAMED_ARG) check_expr(c, call->kids[i]);
        return error_value;
    }
    const phys_symbol *sym = f.sym;
    if ((f.kind != V_FIELD && f.kind != V_FUNCTION && !(f.kind == V_NUMBER && sym)) || !sym) {
        phys_error(c->diag, callee->loc, "this is not a function or field and cannot be called");
        return error_value;
    }
    if (sym->kind != SYM_FIELD && sym->kind != SYM_LET && sym->kind != SYM_ENERGY && sym->kind != SYM_FORCE) {
        phys_error(c->diag, callee->loc, "'%s' is %s, not a function, and cannot be called", sym->name,
                   phys_symbol_kind_with_article(sym->kind));
        return error_value;
    }
    if (nargs != sym->n_inputs) {
        char inputs[256];
        list_inputs(sym, inputs, sizeof inputs);
        phys_error(c->diag, call->loc, "%s %s(%s) takes %d argument%s, got %d",
                   phys_symbol_kind_name(sym->kind), sym->name, inputs, sym->n_inputs,
                   sym->n_inputs == 1 ? "" : "s", nargs);
        return error_value;
    }
    for (int i = 1; i < call->nkids; i++) {
        const phys_node *a = call->kids[i];
        if (a->kind == N_NAMED_ARG) {
            phys_error(c->diag, a->loc, "%s takes no named arguments", sym->name);
            return error_value;
        }
        value v = check_expr(c, a);
        const phys_symbol *formal = phys_sema_lookup(c->sema, sym->inputs[i - 1]);
        int wants_set = formal && (formal->kind == SYM_PARTICLES || formal->kind == SYM_SPINS);
        if (v.kind == V_PARTICLES || wants_set) {
            if (v.kind != V_ERROR && !(v.kind == V_PARTICLES || (v.kind == V_NUMBER && wants_set)))
                phys_error(c->diag, a->loc, "argument %d of %s is the %s %s", i, sym->name,
                           phys_symbol_kind_name(formal->kind), formal->name);
            continue;
        }
        need_number(c, a, v);
    }
    if (sym->kind == SYM_LET) return number_value(sym->shape);
    return number_value(sym->shape);
}

static value check_index(checker *c, const phys_node *e)
{
    value base = check_expr(c, e->kids[0]);
    int n = e->nkids - 1;
    for (int i = 1; i < e->nkids; i++) {
        const phys_node *ix = e->kids[i];
        value iv = check_expr(c, ix);
        if (iv.kind == V_ERROR) return error_value;
        if (iv.kind == V_INDEX) continue;
        double k;
        if (!phys_sema_fold(c->sema, ix, &k) || k != floor(k)) {
            phys_error(c->diag, ix->loc, "an index is a summation index or a whole-number constant");
            return error_value;
        }
        int rank_pos = i - 1;
        if (rank_pos == 0 && base.sym && base.sym->kind == SYM_ATTRIBUTE && base.sym->shape.dims[0] < 0) {
            phys_error(c->diag, ix->loc, "%s[%g]: the size of particle set %s is known only at run time; "
                       "index its attributes with an index bound by sum(i in %s: ...)", base.sym->name, k,
                       base.sym->owner->name, base.sym->owner->name);
            return error_value;
        }
        if (base.kind == V_NUMBER && rank_pos < base.shape.rank && base.shape.dims[rank_pos] >= 0 &&
            (k < 0 || k >= base.shape.dims[rank_pos])) {
            phys_error(c->diag, ix->loc, "index %g is out of range 0..%d", k, base.shape.dims[rank_pos] - 1);
            return error_value;
        }
    }
    base = need_number(c, e->kids[0], base);
    if (base.kind == V_ERROR) return base;
    if (n > base.shape.rank) {
        char sa[48];
        phys_error(c->diag, e->loc, "%d ind%s given to %s", n, n == 1 ? "ex" : "ices",
                   shape_text(base.shape, sa));
        return error_value;
    }
    phys_shape s = {base.shape.rank - n, {0, 0}};
    if (s.rank == 1) s.dims[0] = base.shape.dims[n];
    return number_value(s);
}

/* A cutoff ('within rc'): a constant > 0. */
static void check_cutoff(checker *c, const phys_node *cut)
{
    double rc;
    if (cut && need_constant(c, cut, "the cutoff", &rc) && !(rc > 0))
        phys_error(c->diag, cut->loc, "the cutoff must be positive, got %g", rc);
}

static value check_reduce(checker *c, const phys_node *e)
{
    int saved = c->n_locals;
    const phys_node *body = e->kids[e->nkids - 1];
    const phys_system *sys = phys_sema_system(c->sema);
    /* an index without a range runs over the particle set, when there is one */
    const phys_symbol *only_particles = sys->n_sets == 1 ? sys->sets[0].sym : NULL;
    /* sum_pairs(i, j in K: ...): both indices of a pair run over K */
    const phys_node *pair_range = NULL;
    if (e->op == 'p' && e->nkids == 3) pair_range = e->kids[0]->kids[0] ? e->kids[0]->kids[0] : e->kids[1]->kids[0];
    for (int b = 0; e->op == 't' && b < e->nkids - 1 && !pair_range; b++) pair_range = e->kids[b]->kids[0];
    const phys_node *cutoff = e->kids[e->nkids - 2]->nkids > 1 ? e->kids[e->nkids - 2]->kids[1] : NULL;
    int over_sets = 0;
    for (int i = 0; i < e->nkids - 1; i++) {
        const phys_node *b = e->kids[i];
        const phys_symbol *over = only_particles;
        const phys_node *range = pair_range ? pair_range : b->kids[0];
        if (range) {
            const phys_node *set = range;
            const phys_symbol *s = set->kind == N_NAME ? phys_sema_lookup(c->sema, set->name) : NULL;
            if (s && s->kind == SYM_PARTICLES) {
                over = s;
                resolve_symbol(set, s);
            } else {
                long n;
                if (!need_count(c, set, "the number of terms", 1, &n)) return error_value;
                over = NULL;
            }
        } else if (sys->n_sets > 1) {
            phys_error(c->diag, b->loc, "with several particle sets, say which one '%s' runs over, as in "
                       "sum(%s in %s: ...)", b->name, b->name, sys->sets[0].sym->name);
            return error_value;
        }
        over_sets += over != NULL;
        for (int j = saved; j < c->n_locals; j++)
            if (!strcmp(c->locals[j].name, b->name))
                phys_error(c->diag, b->loc, "index '%s' is bound twice", b->name);
        if (!push_local(c, b, b->name, L_INDEX, scalar(), over)) return error_value;
    }
    if (e->op == 'p' && e->nkids - 1 != 2)
        phys_error(c->diag, e->loc, "sum_pairs(i, j: ...) binds exactly two indices");
    if (e->op == 't') { /* a centre i and two of its neighbours j, k */
        if (e->nkids - 1 != 3 || over_sets != 3)
            phys_error(c->diag, e->loc, "sum_triplets(i, j, k within rc: ...) binds three indices over one particle set");
        else if (!cutoff)
            phys_error(c->diag, e->loc, "sum_triplets needs a cutoff: sum_triplets(i, j, k within rc: ...)");
        else
            check_cutoff(c, cutoff);
    } else if (cutoff) {
        if (e->op == 'm' || e->nkids - 1 != 2 || over_sets != 2)
            phys_error(c->diag, cutoff->loc, "a cutoff ('within') applies to a sum over pairs of particles: "
                       "sum_pairs(i, j within rc: ...) or sum(i in A, j in B within rc: ...)");
        else
            check_cutoff(c, cutoff);
    }
    value v = check_number(c, body);
    c->n_locals = saved;
    return v;
}

/* An unqualified use of a name from a module imported with a list must be
 * one of the listed names. */
static void check_import_list(checker *c, const phys_node *e, const phys_symbol *sym)
{
    if (!sym->module || sym->module == c->sema->module || strchr(e->name, '.')) return;
    const phys_node *limited = NULL; /* an import of the module with a list that leaves the name out */
    for (int i = 0; c->program && i < c->program->nkids; i++) {
        const phys_node *d = c->program->kids[i];
        if (d->kind != N_IMPORT || strcmp(d->name, sym->module)) continue;
        if (!d->nkids || !d->kids[0]) return; /* imported whole */
        for (int k = 0; k < d->kids[0]->nkids; k++)
            if (!strcmp(d->kids[0]->kids[k]->name, sym->name)) return;
        limited = d;
    }
    if (!limited) return; /* not imported here: a module's own import */
    phys_error(c->diag, e->loc, "'%s' is not in the import list of %s: add it, as in 'import %s (%s, ...)', "
               "or write %s.%s", sym->name, sym->module, sym->module, sym->name, sym->module, sym->name);
    phys_note(c->diag, limited->loc, "%s is imported here", sym->module);
}

static value check_name(checker *c, const phys_node *e)
{
    const local *l = find_local(c, e->name);
    if (l) {
        resolve_local(e, l);
        if (l->kind == L_INDEX) {
            value v = {V_INDEX, scalar(), l->over};
            return v;
        }
        return number_value(l->shape);
    }
    const phys_symbol *sym = phys_sema_lookup(c->sema, e->name);
    if (sym) {
        resolve_symbol(e, sym);
        check_import_list(c, e, sym);
    }
    if (!sym) {
        const phys_builtin *b = phys_builtin_find(e->name, B_CONSTANT);
        if (b) {
            resolve_builtin(e, b);
            return number_value(scalar());
        }
        b = phys_builtin_any(e->name);
        if (b) {
            phys_error(c->diag, e->loc, "%s '%s' must be called, as in %s(...)",
                       phys_builtin_class_name(b->cls), e->name, e->name);
            return error_value;
        }
        unknown_name(c, e, e->name);
        return error_value;
    }
    value v = {V_NUMBER, sym->shape, sym};
    switch (sym->kind) {
    case SYM_CONST:
    case SYM_PARAM:
    case SYM_STATE:
    case SYM_ATTRIBUTE:
    case SYM_SPINS:
    case SYM_COUPLING:
        return v;
    case SYM_FIELD:
        v.kind = inputs_bound(c, sym) ? V_NUMBER : V_FIELD;
        return v;
    case SYM_LET:
        v.kind = sym->n_inputs == 0 ? V_NUMBER : V_FUNCTION;
        return v;
    case SYM_ENERGY:
    case SYM_FORCE:
        v.kind = sym->n_inputs == 0 ? V_NUMBER : V_FUNCTION;
        return v;
    case SYM_PARTICLES:
        v.kind = V_PARTICLES;
        return v;
    default:
        phys_error(c->diag, e->loc, "'%s' is %s, not a value", e->name, phys_symbol_kind_with_article(sym->kind));
        return error_value;
    }
}

static value check_expr_kind(checker *c, const phys_node *e);

/* Checks an expression and records its shape on the node. */
static value check_expr(checker *c, const phys_node *e)
{
    value v = check_expr_kind(c, e);
    if (v.kind == V_NUMBER || v.kind == V_INDEX) {
        res_of(e)->has_shape = 1;
        res_of(e)->shape = v.shape;
    }
    return v;
}

static value check_expr_kind(checker *c, const phys_node *e)
{
    switch (e->kind) {
    case N_NUMBER:
        return number_value(scalar());
    case N_STRING: {
        value v = {V_STRING, scalar(), NULL};
        return v;
    }
    case N_NAME:
        return check_name(c, e);
    case N_BINARY:
        return check_binary(c, e);
    case N_NEGATE:
    case N_NOT:
        return check_number(c, e->kids[0]);
    case N_COMPARE:
    case N_LOGIC: {
        value a = check_number(c, e->kids[0]), b = check_number(c, e->kids[1]);
        if (a.kind == V_ERROR || b.kind == V_ERROR) return error_value;
        if (a.shape.rank || b.shape.rank) {
            phys_error(c->diag, e->loc, "comparisons take scalars");
            return error_value;
        }
        return number_value(scalar());
    }
    case N_IF: {
        value cond = check_number(c, e->kids[0]);
        value a = check_number(c, e->kids[1]), b = check_number(c, e->kids[2]);
        if (cond.kind == V_ERROR || a.kind == V_ERROR || b.kind == V_ERROR) return error_value;
        if (!same_shape(a.shape, b.shape)) {
            phys_error(c->diag, e->loc, "both branches of if() must have one shape");
            return error_value;
        }
        return a;
    }
    case N_CALL:
        return check_call(c, e);
    case N_INDEX:
        return check_index(c, e);
    case N_VECTOR: {
        if (e->nkids == 0) {
            phys_error(c->diag, e->loc, "an empty vector has no value");
            return error_value;
        }
        for (int i = 0; i < e->nkids; i++) {
            value v = check_number(c, e->kids[i]);
            if (v.kind == V_ERROR) return v;
            if (v.shape.rank != 0) {
                phys_error(c->diag, e->kids[i]->loc, "vector elements are scalars");
                return error_value;
            }
        }
        return number_value(vector_of(e->nkids));
    }
    case N_REDUCE:
        return check_reduce(c, e);
    case N_NAMED_ARG:
        phys_error(c->diag, e->loc, "named argument '%s' outside a call that takes it", e->name);
        return error_value;
    default:
        phys_error(c->diag, e->loc, "this is not an expression");
        return error_value;
    }
}

/* ---------------------------------------------------------- declarations */

/* Declares one name; reports a duplicate (unless the REPL may redefine). */
static phys_symbol *declare(checker *c, const phys_node *at, const char *name, phys_symbol_kind kind)
{
    if (shadows_builtin(c->diag, at, name)) return NULL;
    phys_symbol *old = phys_sema_lookup(c->sema, name);
    if (old) {
        if (c->sema->allow_redefinition && old->kind == kind) {
            old->replaced = c->sema->n_symbols + 1; /* by the symbol about to be added */
        } else if (old->module && old->module != c->sema->module) {
            /* imports are declared first, so this is the importing program's line */
            phys_error(c->diag, at->loc, "'%s' is already defined by the imported module %s (as %s); "
                       "choose another name", name, old->module, phys_symbol_kind_with_article(old->kind));
            if (old->decl) phys_note(c->diag, old->decl->loc, "'%s' is defined here", name);
            return NULL;
        } else {
            phys_error(c->diag, at->loc, "'%s' is already defined (as %s)", name,
                       phys_symbol_kind_with_article(old->kind));
            if (old->decl) phys_note(c->diag, old->decl->loc, "'%s' was defined here", name);
            return NULL;
        }
    }
    return sema_add_symbol(c->sema, name, kind, at);
}

static phys_shape dims_shape(checker *c, const phys_node *dims)
{
    phys_shape s = scalar();
    if (!dims) return s;
    if (dims->nkids > 2) {
        phys_error(c->diag, dims->loc, "at most two dimensions (a matrix)");
        return s;
    }
    s.rank = dims->nkids;
    for (int i = 0; i < dims->nkids; i++) {
        long n = -1;
        if (!need_count(c, dims->kids[i], "a dimension", 1, &n)) n = -1;
        s.dims[i] = (int)n;
    }
    return s;
}

/* Phase 1: every top-level name, so declarations may come in any order. */
static void declare_all(checker *c, const phys_node *program);

static void import_module(checker *c, const phys_node *decl)
{
    phys_sema *s = c->sema;
    for (int i = 0; i < s->n_modules; i++)
        if (!strcmp(s->modules[i].name, decl->name)) return; /* imported once */
    if (s->import_depth > 16) {
        phys_error(c->diag, decl->loc, "imports nested too deeply (a cycle?)");
        return;
    }
    char path[4096];
    char relative[1024];
    size_t n = strlen(decl->name);
    if (n >= sizeof relative - 6) {
        phys_error(c->diag, decl->loc, "module name too long");
        return;
    }
    for (size_t i = 0; i <= n; i++) relative[i] = decl->name[i] == '.' ? '/' : decl->name[i];
    snprintf(path, sizeof path, "%s/%s.phys", s->library_path, relative);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        phys_error(c->diag, decl->loc, "no library module '%s' (looked for %s)", decl->name, path);
        return;
    }
    fclose(probe);
    if (s->module && !strcmp(s->module, decl->name)) return; /* a module importing itself */
    phys_module *grown = realloc(s->modules, sizeof *grown * (size_t)(s->n_modules + 1));
    if (!grown) exit(70);
    s->modules = grown;
    phys_module *m = &s->modules[s->n_modules++];
    m->name = decl->name;
    m->source = phys_source_load(path, c->diag);
    m->parse.arena = NULL;
    m->parse.program = NULL;
    if (!m->source) return;
    if (phys_parse_source(m->source, c->diag, &m->parse) != 0) return;
    const char *importer = s->module;
    s->import_depth++;
    s->module = decl->name;
    phys_sema_check(s, m->parse.program);
    s->module = importer;
    s->import_depth--;
}

/* import m (a, b): each listed name is one m declares. */
static void check_import_list_names(checker *c, const phys_node *decl)
{
    const phys_node *list = decl->nkids ? decl->kids[0] : NULL;
    const phys_sema *s = c->sema;
    if (!list || !module_named(s, decl->name, strlen(decl->name))) return;
    for (int k = 0; k < list->nkids; k++) {
        const phys_node *n = list->kids[k];
        for (int j = 0; j < k; j++)
            if (!strcmp(list->kids[j]->name, n->name)) phys_error(c->diag, n->loc, "'%s' is listed twice", n->name);
        int found = 0;
        for (int i = 0; i < s->n_symbols; i++) {
            const phys_symbol *sym = s->symbols[i];
            if (sym->module && !strcmp(sym->module, decl->name) && !sym->replaced && !strcmp(sym->name, n->name))
                found = 1;
        }
        if (found) continue;
        const char *hint = module_suggestion(c, decl->name, strlen(decl->name), n->name);
        if (hint)
            phys_error(c->diag, n->loc, "module %s has no '%s'; did you mean '%s'?", decl->name, n->name, hint);
        else
            phys_error(c->diag, n->loc, "module %s has no '%s'", decl->name, n->name);
    }
}

/* The role words of particle attributes (contextual: ordinary names elsewhere). */
static const char *const role_words[] = {
    [PHYS_ROLE_POSITION] = "position", [PHYS_ROLE_VELOCITY] = "velocity", [PHYS_ROLE_MASS] = "mass",
    [PHYS_ROLE_CHARGE] = "charge", [PHYS_ROLE_SPECIES] = "species",
};

static phys_role check_role(checker *c, const phys_node *word, const phys_symbol *attr)
{
    phys_role role = PHYS_ROLE_NONE;
    for (int r = PHYS_ROLE_POSITION; r <= PHYS_ROLE_SPECIES; r++)
        if (!strcmp(word->name, role_words[r])) role = (phys_role)r;
    if (role == PHYS_ROLE_NONE) {
        const char *hint = phys_sema_suggest(c->sema, word->name, role_words + 1, PHYS_ROLE_SPECIES);
        int is_role = 0;
        for (int r = PHYS_ROLE_POSITION; hint && r <= PHYS_ROLE_SPECIES; r++) is_role |= hint == role_words[r];
        if (is_role)
            phys_error(c->diag, word->loc, "unknown role '%s' of attribute %s; did you mean '%s'?", word->name,
                       attr->name, hint);
        else
            phys_error(c->diag, word->loc, "unknown role '%s' of attribute %s (position, velocity, mass, charge "
                       "or species)", word->name, attr->name);
        return role;
    }
    int vector = attr->shape.rank == 2;
    if ((role == PHYS_ROLE_POSITION || role == PHYS_ROLE_VELOCITY) && !vector) {
        phys_error(c->diag, word->loc, "a %s is a vector: write '%s %s[3]' (or [2])", word->name, word->name,
                   attr->name);
        return PHYS_ROLE_NONE;
    }
    if (role >= PHYS_ROLE_MASS && vector) {
        phys_error(c->diag, word->loc, "a %s is one number per particle: write '%s %s' without a size", word->name,
                   word->name, attr->name);
        return PHYS_ROLE_NONE;
    }
    return role;
}

/* Explicit roles of one set: each at most once; a velocity of the
 * position's size. */
static void check_set_roles(checker *c, const phys_node *d)
{
    const phys_node *first[PHYS_ROLE_SPECIES + 1] = {NULL};
    const phys_symbol *with[PHYS_ROLE_SPECIES + 1] = {NULL};
    int refused = 0;
    for (int i = 0; i < d->kids[1]->nkids; i++) {
        const phys_node *attr = d->kids[1]->kids[i];
        phys_symbol *a = phys_sema_lookup(c->sema, attr->name);
        if (!a || a->decl != attr) continue;
        refused |= attr->nkids > 1 && attr->kids[1] && !a->role; /* already reported */
        if (!a->role) continue;
        if (first[a->role]) {
            phys_error(c->diag, attr->kids[1]->loc, "particle set %s has two attributes of role %s: %s and %s",
                       d->name, role_words[a->role], with[a->role]->name, a->name);
            phys_note(c->diag, first[a->role]->loc, "the %s is %s here", role_words[a->role], with[a->role]->name);
            a->role = PHYS_ROLE_NONE;
            c->sema->generation++;
            continue;
        }
        first[a->role] = attr->kids[1];
        with[a->role] = a;
    }
    const phys_symbol *p = with[PHYS_ROLE_POSITION], *v = with[PHYS_ROLE_VELOCITY];
    if (p && v && p->shape.dims[1] != v->shape.dims[1])
        phys_error(c->diag, first[PHYS_ROLE_VELOCITY]->loc,
                   "the velocity %s has %d components but the position %s has %d", v->name, v->shape.dims[1],
                   p->name, p->shape.dims[1]);
    if (v && !p && !refused)
        phys_error(c->diag, first[PHYS_ROLE_VELOCITY]->loc,
                   "particle set %s has a velocity but no position: name one, as in 'position r[%d]'", d->name,
                   v->shape.dims[1]);
}

/* The names a declaration takes (formals, coordinates) become the symbol's
 * inputs, at most max of them; returns 1 if there were more. */
static int take_inputs(phys_symbol *sym, const phys_node *list, int max)
{
    for (int i = 0; list && i < list->nkids && i < max; i++) {
        sym->inputs[sym->n_inputs] = list->kids[i]->name;
        sym->input_nodes[sym->n_inputs++] = list->kids[i];
    }
    return list && list->nkids > max;
}

static void declare_decl(checker *c, const phys_node *d)
{
    phys_symbol *sym;
    switch (d->kind) {
    case N_IMPORT:
        import_module(c, d);
        check_import_list_names(c, d);
        break;
    case N_CONST:
        if ((sym = declare(c, d, d->name, SYM_CONST))) {
            sym->shape = d->kids[0] ? dims_shape(c, d->kids[0]) : scalar();
            if (!d->kids[0] && d->kids[1]->kind == N_VECTOR)
                sym->shape = vector_of(d->kids[1]->nkids);
        }
        break;
    case N_PARAM:
        if ((sym = declare(c, d, d->name, SYM_PARAM))) sym->shape = dims_shape(c, d->kids[0]);
        break;
    case N_LET:
        if ((sym = declare(c, d, d->name, SYM_LET)) && take_inputs(sym, d->kids[0], PHYS_MAX_FIELD_INPUTS))
            phys_error(c->diag, d->kids[0]->loc, "at most %d arguments", PHYS_MAX_FIELD_INPUTS);
        break;
    case N_DOMAIN:
        if ((sym = declare(c, d, d->name, SYM_DOMAIN)) && take_inputs(sym, d, PHYS_MAX_FIELD_INPUTS))
            phys_error(c->diag, d->loc, "a domain has at most %d coordinates", PHYS_MAX_FIELD_INPUTS);
        break;
    case N_REGION_DECL:
        declare(c, d, d->name, SYM_REGION);
        break;
    case N_FIELD:
        if ((sym = declare(c, d, d->name, SYM_FIELD)) && take_inputs(sym, d->kids[0], PHYS_MAX_FIELD_INPUTS))
            phys_error(c->diag, d->kids[0]->loc, "a field has at most %d inputs", PHYS_MAX_FIELD_INPUTS);
        break;
    case N_CONDITION:
    case N_DATA:
        if (d->name) declare(c, d, d->name, SYM_TERM);
        break;
    case N_STATE:
        for (int i = 0; i < d->nkids; i++)
            if ((sym = declare(c, d->kids[i], d->kids[i]->name, SYM_STATE)))
                sym->shape = dims_shape(c, d->kids[i]->kids[0]);
        break;
    case N_FORCE:
        if ((sym = declare(c, d, d->name, SYM_FORCE))) take_inputs(sym, d->kids[0], 2);
        break;
    case N_ENERGY:
        if ((sym = declare(c, d, d->name, SYM_ENERGY))) take_inputs(sym, d->kids[0], PHYS_MAX_FIELD_INPUTS);
        break;
    case N_PARTICLES: {
        phys_symbol *set = declare(c, d, d->name, SYM_PARTICLES);
        long n = -1; /* no count: the configuration gives it at run time */
        if (d->kids[0] && !need_count(c, d->kids[0], "the number of particles", 1, &n)) n = -1;
        if (set) set->shape = vector_of((int)n);
        c->sema->generation++;
        if (d->kids[1]->nkids > PHYS_MAX_SET_ATTRIBUTES)
            phys_error(c->diag, d->kids[1]->loc, "a particle set has at most %d attributes", PHYS_MAX_SET_ATTRIBUTES);
        for (int i = 0; set && i < d->kids[1]->nkids; i++) {
            const phys_node *attr = d->kids[1]->kids[i];
            phys_symbol *a = declare(c, attr, attr->name, SYM_ATTRIBUTE);
            if (!a) continue;
            /* set = pointer into a growing array: find it again after adding */
            set = phys_sema_lookup(c->sema, d->name);
            a = phys_sema_lookup(c->sema, attr->name);
            a->owner = set;
            phys_shape per = dims_shape(c, attr->kids[0]);
            if (per.rank > 1) phys_error(c->diag, attr->loc, "a particle attribute is a scalar or a vector");
            a->shape.rank = per.rank + 1;
            a->shape.dims[0] = (int)n;
            a->shape.dims[1] = per.rank ? per.dims[0] : 0;
            if (attr->nkids > 1 && attr->kids[1]) a->role = check_role(c, attr->kids[1], a);
            c->sema->generation++; /* the attribute's shape and role are set */
        }
        if (set) check_set_roles(c, d);
        break;
    }
    case N_SPINS: {
        long n = -1;
        if (!need_count(c, d->kids[0], "the number of spins", 1, &n)) n = -1;
        if ((sym = declare(c, d, d->name, SYM_SPINS))) sym->shape = vector_of((int)n);
        break;
    }
    case N_COUPLING:
        declare(c, d, d->name, SYM_COUPLING);
        break;
    default:
        break;
    }
}

/* Symbols are held in a growing array: resolve owners again by name after
 * every addition (pointers into the array may move). */
static void declare_all(checker *c, const phys_node *program)
{
    /* imports first: a clash with a module's name is the importer's, reported at its line */
    for (int i = 0; i < program->nkids; i++)
        if (program->kids[i]->kind == N_IMPORT) declare_decl(c, program->kids[i]);
    for (int i = 0; i < program->nkids; i++)
        if (program->kids[i]->kind != N_IMPORT) declare_decl(c, program->kids[i]);
}

/* Binds a domain's coordinates (or those of a region's domain) as locals and
 * checks the region's fixings. Returns the domain, or NULL. */
static const phys_symbol *bind_region(checker *c, const phys_node *region)
{
    const phys_node *dname = region->kids[0];
    const phys_symbol *dom = phys_sema_lookup(c->sema, dname->name);
    if (dom && dom->kind == SYM_REGION) {
        const phys_node *inner = dom->decl->kids[0];
        if (c->region_depth > 32) {
            phys_error(c->diag, dname->loc, "region '%s' is defined in terms of itself", dname->name);
            return NULL;
        }
        c->region_depth++;
        const phys_symbol *base = bind_region(c, inner);
        c->region_depth--;
        if (!base) return NULL;
        dom = base;
    } else if (!dom) {
        unknown_name(c, dname, dname->name);
        return NULL;
    } else if (dom->kind != SYM_DOMAIN) {
        phys_error(c->diag, dname->loc, "'%s' is %s, not a domain", dname->name,
                   phys_symbol_kind_with_article(dom->kind));
        return NULL;
    } else {
        for (int i = 0; i < dom->n_inputs; i++)
            if (!push_local(c, dom->input_nodes[i], dom->inputs[i], L_COORD, scalar(), NULL)) return NULL;
    }
    const phys_node *groups = region->kids[1];
    for (int g = 0; groups && g < groups->nkids; g++) {
        const phys_node *group = groups->kids[g];
        for (int k = 0; k < group->nkids; k++) {
            const phys_node *fix = group->kids[k];
            int coord = -1;
            for (int i = 0; i < dom->n_inputs; i++)
                if (!strcmp(dom->inputs[i], fix->name)) coord = i;
            if (coord < 0) {
                char coords[256];
                list_inputs(dom, coords, sizeof coords);
                phys_error(c->diag, fix->loc, "'%s' is not a coordinate of domain %s (%s)", fix->name,
                           dom->name, coords);
                continue;
            }
            for (int j = 0; j < k; j++)
                if (!strcmp(group->kids[j]->name, fix->name))
                    phys_error(c->diag, fix->loc, "'%s' is fixed twice", fix->name);
            double v, lo, hi;
            const phys_node *cn = dom->input_nodes[coord];
            if (need_constant(c, fix->kids[0], "a boundary position", &v) &&
                phys_sema_fold(c->sema, cn->kids[0], &lo) && phys_sema_fold(c->sema, cn->kids[1], &hi) &&
                (v < lo || v > hi))
                phys_error(c->diag, fix->kids[0]->loc, "%s = %g lies outside domain %s, where %s is in [%g, %g]",
                           fix->name, v, dom->name, fix->name, lo, hi);
        }
    }
    if (region->kids[2]) {
        const phys_node *cond = region->kids[2];
        value w = check_number(c, cond);
        int comparison = cond->kind == N_COMPARE || cond->kind == N_LOGIC || cond->kind == N_NOT;
        if (w.kind == V_NUMBER && (w.shape.rank != 0 || !comparison))
            phys_error(c->diag, cond->loc, "a 'where' condition is a comparison, such as x < 0");
    }
    return dom;
}

static void check_constraint(checker *c, const phys_node *k)
{
    const phys_node *lhs = k->kids[0], *rhs = k->kids[1];
    if (!rhs) {
        if (lhs->kind == N_CALL && lhs->kids[0]->kind == N_NAME && !strcmp(lhs->kids[0]->name, "periodic")) {
            resolve_builtin(lhs->kids[0], phys_builtin_of(B_ID_PERIODIC)); /* no declaration may take the name */
            if (lhs->nkids != 3) {
                phys_error(c->diag, lhs->loc, "periodic(u, x) takes a field and a coordinate");
                return;
            }
            const phys_node *u = lhs->kids[1], *x = lhs->kids[2];
            const phys_symbol *f = u->kind == N_NAME ? phys_sema_lookup(c->sema, u->name) : NULL;
            if (!f || f->kind != SYM_FIELD) {
                phys_error(c->diag, u->loc, "periodic(u, x): u must be a field");
                return;
            }
            if (x->kind != N_NAME || !is_input_of(f, x->name))
                phys_error(c->diag, x->loc, "periodic(%s, x): x must be an input of %s", f->name, f->name);
            return;
        }
        if (lhs->kind == N_CALL && lhs->kids[0]->kind == N_NAME && !strcmp(lhs->kids[0]->name, "trajectory")) {
            if (!c->sema->dynamics)
                phys_error(c->diag, lhs->loc, "trajectory(t) fits the model's dynamics: declare them first");
            if (lhs->nkids != 2 || lhs->kids[1]->kind != N_NAME || !find_local(c, lhs->kids[1]->name) ||
                find_local(c, lhs->kids[1]->name)->kind != L_COLUMN)
                phys_error(c->diag, lhs->loc, "trajectory(t) takes the data column that holds the time");
            return;
        }
        phys_error(c->diag, k->loc, "a condition is written 'lhs == rhs' (or periodic(u, x))");
        check_expr(c, lhs);
        return;
    }
    value a = check_number(c, lhs), b = check_number(c, rhs);
    if (a.kind == V_ERROR || b.kind == V_ERROR) return;
    char sa[48], sb[48];
    if (!same_shape(a.shape, b.shape) && b.shape.rank != 0)
        phys_error(c->diag, k->loc, "the two sides have different shapes: %s and %s", shape_text(a.shape, sa),
                   shape_text(b.shape, sb));
}

/* A number argument of a constructor in (lo, hi] (lo_open) or [lo, hi]. */
static void check_range_arg(checker *c, const phys_node *call, const char *name, const char *what, double lo,
                            int lo_open, double hi)
{
    const phys_node *a = phys_node_named_arg(call, name);
    double v;
    if (!a || !need_constant(c, a, what, &v)) return;
    if (lo_open ? !(v > lo) : !(v >= lo)) phys_error(c->diag, a->loc, "%s must be %s %g", what, lo_open ? "above" : "at least", lo);
    else if (v > hi) phys_error(c->diag, a->loc, "%s must be at most %g", what, hi);
}

/* A named argument whose value is one of a few words (method = rad). */
static void check_word_arg(checker *c, const phys_node *call, const char *name, const char *const *words,
                           const char *what)
{
    const phys_node *a = phys_node_named_arg(call, name);
    if (!a) return;
    for (int k = 0; a->kind == N_NAME && words[k]; k++)
        if (!strcmp(a->name, words[k])) return;
    char list[128] = "";
    for (int k = 0; words[k]; k++) {
        strncat(list, k ? (words[k + 1] ? ", " : " or ") : "", sizeof list - strlen(list) - 1);
        strncat(list, words[k], sizeof list - strlen(list) - 1);
    }
    if (a->kind == N_NAME) phys_error(c->diag, a->loc, "%s must be %s, not '%s'", what, list, a->name);
    else phys_error(c->diag, a->loc, "%s must be %s", what, list);
}

static void check_sample(checker *c, const phys_node *s)
{
    if (!s) return;
    long n;
    need_count(c, s->kids[0], "the number of sample points", 1, &n);
    const phys_builtin *b = s->kids[1] ? constructor(c, s->kids[1], B_SAMPLER) : NULL;
    if (!b || b->id != B_ID_ADAPTIVE || s->kids[1]->kind != N_CALL) return;
    const phys_node *call = s->kids[1], *a;
    if ((a = phys_node_named_arg(call, "every"))) need_count(c, a, "the resampling period 'every'", 1, &n);
    if ((a = phys_node_named_arg(call, "pool"))) need_count(c, a, "the candidate pool 'pool'", 1, &n);
    check_range_arg(c, call, "fraction", "the resampled fraction", 0, 1, 1);
    check_range_arg(c, call, "k", "the residual exponent k", 0, 0, 16);
    check_range_arg(c, call, "c", "the uniform share c", 0, 0, 1e300);
    check_word_arg(c, call, "method", (const char *const[]){"rad", "rard", NULL}, "method");
    check_word_arg(c, call, "base", (const char *const[]){"uniform", "sobol", "lhs", "grid", NULL},
                   "the candidates' sampler 'base'");
}

static void check_weight(checker *c, const phys_node *w)
{
    if (!w) return;
    const phys_node *callee = w->kind == N_CALL ? w->kids[0] : w;
    if (callee->kind == N_NAME && phys_builtin_find(callee->name, B_WEIGHT)) {
        constructor(c, w, B_WEIGHT);
        if (w->kind != N_CALL) return;
        long n;
        const phys_node *every = phys_node_named_arg(w, "every");
        if (every) need_count(c, every, "the weight update period 'every'", 1, &n);
        check_range_arg(c, w, "alpha", "the moving-average rate alpha", 0, 1, 1);
        check_word_arg(c, w, "rule", (const char *const[]){"grad_norm", "annealing", NULL}, "rule");
        return;
    }
    double v;
    if (need_constant(c, w, "a loss weight", &v) && v < 0)
        phys_error(c->diag, w->loc, "a loss weight must not be negative");
}

/* True when a region (directly or through named regions) holds some
 * coordinate fixed: a face, a union of faces, or the whole boundary. */
static int region_fixes(checker *c, const phys_node *region, int depth)
{
    if (region->kids[1] || region->op == 'b') return 1;
    const phys_symbol *named = phys_sema_lookup(c->sema, region->kids[0]->name);
    if (named && named->kind == SYM_REGION && depth < 32) return region_fixes(c, named->decl->kids[0], depth + 1);
    return 0;
}

static void check_condition(checker *c, const phys_node *d)
{
    int saved = c->n_locals;
    const phys_node *region = d->kids[0];
    const phys_symbol *dom = bind_region(c, region);
    if (!dom) { /* its coordinates are unbound: checking the constraints would only cascade */
        check_sample(c, d->kids[1]);
        check_weight(c, d->kids[2]);
        c->n_locals = saved;
        return;
    }
    if (dom) {
        int fixes = region_fixes(c, region, 0);
        if (d->op == 'i' && !fixes)
            phys_error(c->diag, d->loc, "an initial condition holds at one time: add 'at t = 0' "
                       "(with your domain's time coordinate)");
        if (d->op == 'b' && !fixes)
            phys_error(c->diag, d->loc, "a boundary condition needs 'at x = ...' or 'on boundary of %s'",
                       dom->name);
    }
    check_sample(c, d->kids[1]);
    check_weight(c, d->kids[2]);
    const phys_node *constraints = d->kids[3];
    for (int i = 0; constraints && i < constraints->nkids; i++) check_constraint(c, constraints->kids[i]);
    c->n_locals = saved;
}

/* Frames of a particle system (extended XYZ or n2p2's input.data): the
 * columns name an energy of the system (observed: each frame's energy) and
 * a force on its particles (each atom's force). 1 when d is such data. */
static int check_frames_data(checker *c, const phys_node *d)
{
    const phys_node *cols = d->kids[1];
    int energies = 0, forces = 0;
    for (int i = 0; i < cols->nkids; i++) {
        const phys_symbol *s = phys_sema_lookup(c->sema, cols->kids[i]->name);
        energies += s && s->kind == SYM_ENERGY;
        forces += s && s->kind == SYM_FORCE;
    }
    if (!energies && !forces) return 0;
    for (int i = 0; i < cols->nkids; i++) {
        const phys_symbol *s = phys_sema_lookup(c->sema, cols->kids[i]->name);
        if (!s || (s->kind != SYM_ENERGY && s->kind != SYM_FORCE))
            phys_error(c->diag, cols->kids[i]->loc, "frames data observes an energy and a force of the particles "
                       "(data \"train.xyz\" (V, F)); '%s' is neither", cols->kids[i]->name);
    }
    if (energies > 1 || forces > 1)
        phys_error(c->diag, cols->loc, "frames data observes one energy and one force");
    if (!phys_sema_system(c->sema)->n_sets)
        phys_error(c->diag, d->loc, "frames data needs particles: declare them with 'particles atoms with r[3], ...'");
    const char *file = d->kids[0]->name;
    size_t n = strlen(file);
    int xyz = (n > 4 && !strcmp(file + n - 4, ".xyz")) || (n > 7 && !strcmp(file + n - 7, ".extxyz"));
    int n2p2 = n >= 10 && !strcmp(file + n - 10, "input.data");
    if (!xyz && !n2p2)
        phys_error(c->diag, d->kids[0]->loc, "frames of atoms come in an extended XYZ file (.xyz, .extxyz) or n2p2's "
                   "input.data; '%s' is neither", file);
    return 1;
}

/* Compact data (no constraints): each column names a field (observed
 * values) or an input of one of those fields. */
static void check_data(checker *c, const phys_node *d)
{
    const phys_node *cols = d->kids[1];
    int saved = c->n_locals;
    for (int i = 0; i < cols->nkids; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(cols->kids[i]->name, cols->kids[j]->name))
                phys_error(c->diag, cols->kids[i]->loc, "column '%s' named twice", cols->kids[i]->name);
    check_weight(c, d->kids[2]);
    if (d->kids[3]) {
        for (int i = 0; i < cols->nkids; i++) {
            const phys_symbol *s = phys_sema_lookup(c->sema, cols->kids[i]->name);
            phys_shape shape = s && (s->kind == SYM_STATE || s->kind == SYM_ATTRIBUTE) ? s->shape : scalar();
            if (s && s->kind == SYM_ATTRIBUTE && s->shape.dims[0] < 0)
                phys_error(c->diag, cols->kids[i]->loc, "column '%s' needs the number of particles (its CSV "
                           "columns are %s_0_x, %s_0_y, ...), but the size of particle set %s is known only at run "
                           "time", s->name, s->name, s->name, s->owner->name);
            push_local(c, cols->kids[i], cols->kids[i]->name, L_COLUMN, shape, NULL);
        }
        c->allow_ddt = 1;
        for (int i = 0; i < d->kids[3]->nkids; i++) check_constraint(c, d->kids[3]->kids[i]);
        c->allow_ddt = 0;
        c->n_locals = saved;
        return;
    }
    if (check_frames_data(c, d)) return;
    int fields = 0;
    for (int i = 0; i < cols->nkids; i++) {
        const phys_symbol *s = phys_sema_lookup(c->sema, cols->kids[i]->name);
        if (s && s->kind == SYM_FIELD) {
            fields++;
            for (int k = 0; k < s->n_inputs; k++) {
                int found = 0;
                for (int j = 0; j < cols->nkids; j++)
                    if (!strcmp(cols->kids[j]->name, s->inputs[k])) found = 1;
                if (!found)
                    phys_error(c->diag, cols->kids[i]->loc,
                               "field %s needs its input '%s' among the data columns", s->name, s->inputs[k]);
            }
        }
    }
    for (int i = 0; i < cols->nkids; i++) {
        const char *name = cols->kids[i]->name;
        const phys_symbol *s = phys_sema_lookup(c->sema, name);
        if (s && s->kind == SYM_FIELD) continue;
        int is_input = 0;
        for (int j = 0; j < cols->nkids; j++) {
            const phys_symbol *f = phys_sema_lookup(c->sema, cols->kids[j]->name);
            if (f && f->kind == SYM_FIELD && is_input_of(f, name)) is_input = 1;
        }
        if (!is_input && fields)
            phys_error(c->diag, cols->kids[i]->loc, "column '%s' names neither a field nor an input of one",
                       name);
    }
    if (!fields)
        phys_error(c->diag, d->loc,
                   "these data columns name no field: say what they observe, as in "
                   "data \"obs.csv\" (t, x_obs): x(t) == x_obs");
}

static void check_train(checker *c, const phys_node *d)
{
    for (int i = 0; i < d->nkids; i++) {
        const phys_node *call = d->kids[i];
        const phys_builtin *b = constructor(c, call, B_OPTIMIZER);
        if (!b || call->kind != N_CALL) continue;
        long n;
        const phys_node *steps = phys_node_named_arg(call, "steps");
        if (steps) need_count(c, steps, "the number of steps", 1, &n);
        const phys_node *lr = phys_node_named_arg(call, "lr");
        double v;
        if (lr && need_constant(c, lr, "the learning rate", &v) && v <= 0)
            phys_error(c->diag, lr->loc, "the learning rate must be positive");
        const phys_node *batch = phys_node_named_arg(call, "batch");
        if (batch) need_count(c, batch, "the number of frames per step", 1, &n);
        const phys_node *hist = phys_node_named_arg(call, "history");
        if (hist) need_count(c, hist, "the history size", 1, &n);
        const phys_node *sched = phys_node_named_arg(call, "schedule");
        if (sched) constructor(c, sched, B_SCHEDULE);
        for (int k = 1; k < call->nkids; k++) {
            const phys_node *a = call->kids[k];
            if (a->kind == N_NAMED_ARG && (!strcmp(a->name, "beta1") || !strcmp(a->name, "beta2")) &&
                need_constant(c, a->kids[0], a->name, &v) && (v < 0 || v >= 1))
                phys_error(c->diag, a->kids[0]->loc, "%s must lie in [0, 1)", a->name);
        }
    }
}

static const phys_symbol *first_of_kind(phys_sema *s, phys_symbol_kind kind)
{
    for (int i = 0; i < s->n_symbols; i++)
        if (s->symbols[i]->kind == kind && !s->symbols[i]->replaced) return s->symbols[i];
    return NULL;
}

static void check_dynamics(checker *c, const phys_node *d)
{
    int n_states = 0;
    const phys_symbol *states[64];
    for (int i = 0; i < c->sema->n_symbols && n_states < 64; i++)
        if (c->sema->symbols[i]->kind == SYM_STATE && !c->sema->symbols[i]->replaced)
            states[n_states++] = c->sema->symbols[i];
    if (d->op == 'h') {
        const phys_node *hn = d->kids[0];
        const phys_symbol *h = phys_sema_lookup(c->sema, hn->name);
        if (!h) {
            unknown_name(c, hn, hn->name);
            return;
        }
        if (h->kind != SYM_FIELD && h->kind != SYM_LET && h->kind != SYM_ENERGY) {
            phys_error(c->diag, hn->loc, "a Hamiltonian is a scalar field or function of the states; '%s' is %s",
                       h->name, phys_symbol_kind_with_article(h->kind));
            return;
        }
        if (n_states == 0 || n_states % 2) {
            phys_error(c->diag, d->loc, "Hamiltonian dynamics need states in conjugate pairs: "
                       "'state q, p' (positions first, then momenta)");
            return;
        }
        if (h->shape.rank != 0) phys_error(c->diag, hn->loc, "a Hamiltonian is a scalar");
        for (int i = 0; i < n_states / 2; i++)
            if (!same_shape(states[i]->shape, states[i + n_states / 2]->shape))
                phys_error(c->diag, states[i + n_states / 2]->decl->loc,
                           "momentum %s must have the shape of its position %s", states[i + n_states / 2]->name,
                           states[i]->name);
        for (int i = 0; i < n_states; i++)
            if (!is_input_of(h, states[i]->name)) {
                char inputs[256];
                list_inputs(h, inputs, sizeof inputs);
                phys_error(c->diag, hn->loc, "Hamiltonian %s(%s) must take the state '%s'", h->name, inputs,
                           states[i]->name);
            }
        if (h->kind == SYM_FIELD) note_order(h, 1, c, hn);
    } else if (d->op == 'n') {
        const phys_node *args = d->kids[0];
        const phys_node *force = NULL, *mass = NULL;
        for (int i = 0; args && i < args->nkids; i++) {
            const phys_node *a = args->kids[i];
            if (a->kind == N_NAMED_ARG) {
                if (!strcmp(a->name, "mass")) mass = a->kids[0];
                else phys_error(c->diag, a->loc, "newton() takes a force and mass = ...; not '%s'", a->name);
            } else if (!force) {
                force = a;
            } else {
                phys_error(c->diag, a->loc, "newton() takes one force");
            }
        }
        if (!force) {
            phys_error(c->diag, d->loc, "newton() needs a force: dynamics newton(F, mass = m)");
            return;
        }
        const phys_symbol *f = force->kind == N_NAME ? phys_sema_lookup(c->sema, force->name) : NULL;
        if (!f || f->kind != SYM_FORCE) {
            if (force->kind == N_NAME && !f) unknown_name(c, force, force->name);
            else phys_error(c->diag, force->loc, "newton() takes a force declared with 'force'");
        } else {
            resolve_symbol(force, f);
        }
        if (!first_of_kind(c->sema, SYM_PARTICLES))
            phys_error(c->diag, d->loc, "Newtonian dynamics move particles: declare 'particles ... with r[3]'");
        if (mass) {
            const phys_symbol *m = mass->kind == N_NAME ? phys_sema_lookup(c->sema, mass->name) : NULL;
            if (m && m->kind == SYM_ATTRIBUTE && m->shape.rank == 2)
                phys_error(c->diag, mass->loc, "the mass is a constant or a scalar particle attribute that does "
                           "not move (such as m); '%s' is a vector attribute", m->name);
            else check_number(c, mass);
        }
    } else {
        const phys_node *eqs = d->kids[0];
        int covered[64] = {0};
        c->allow_ddt = 1;
        for (int i = 0; i < eqs->nkids; i++) {
            const phys_node *k = eqs->kids[i];
            const phys_node *lhs = k->kids[0];
            if (!k->kids[1] || lhs->kind != N_CALL || lhs->kids[0]->kind != N_NAME ||
                strcmp(lhs->kids[0]->name, "ddt") || lhs->nkids != 2 || lhs->kids[1]->kind != N_NAME) {
                phys_error(c->diag, k->loc, "explicit dynamics are equations ddt(q) == ...");
                continue;
            }
            int idx = -1;
            for (int s = 0; s < n_states; s++)
                if (!strcmp(states[s]->name, lhs->kids[1]->name)) idx = s;
            if (idx < 0) {
                phys_error(c->diag, lhs->kids[1]->loc, "'%s' is not a state", lhs->kids[1]->name);
                continue;
            }
            if (covered[idx]++)
                phys_error(c->diag, k->loc, "ddt(%s) is given twice", states[idx]->name);
            check_constraint(c, k);
        }
        c->allow_ddt = 0;
        for (int s = 0; s < n_states; s++)
            if (!covered[s])
                phys_error(c->diag, d->loc, "the dynamics do not say ddt(%s)", states[s]->name);
    }
}

static void bind_formals_as(checker *c, const phys_symbol *sym)
{
    for (int i = 0; i < sym->n_inputs; i++) {
        const phys_symbol *g = phys_sema_lookup(c->sema, sym->inputs[i]);
        if (g && (g->kind == SYM_PARTICLES || g->kind == SYM_SPINS || g->kind == SYM_STATE)) continue;
        push_local(c, sym->input_nodes[i], sym->inputs[i], L_FORMAL, scalar(), NULL);
    }
}

static int count_networks(const phys_node *e, const phys_node **found)
{
    if (!e) return 0;
    if (e->kind == N_CALL && e->kids[0]->kind == N_NAME && phys_builtin_find(e->kids[0]->name, B_NETWORK)) {
        *found = e;
        return 1;
    }
    int n = 0;
    for (int i = 0; i < e->nkids; i++) n += count_networks(e->kids[i], found);
    return n;
}

static void check_field(checker *c, const phys_node *d)
{
    phys_symbol *sym = phys_sema_lookup(c->sema, d->name);
    if (!sym || sym->decl != d) return;
    const phys_node *network = NULL;
    int nets = count_networks(d->kids[2], &network);
    if (nets == 0) {
        phys_error(c->diag, d->kids[2]->loc,
                   "field %s has no network to learn: a field is defined by one, as in "
                   "mlp(hidden = [32, 32], activation = tanh); for a fixed formula use 'let'", d->name);
    } else if (nets > 1) {
        phys_error(c->diag, d->kids[2]->loc, "field %s is defined by %d networks; declare one field per network",
                   d->name, nets);
    }
    sym->network = network;
    if (d->kids[1]) {
        const phys_node *type = d->kids[1];
        if (!strcmp(type->name, "scalar") && !type->kids[0]) sym->shape = scalar();
        else if (!strcmp(type->name, "vector") && type->kids[0] && type->kids[0]->nkids == 1)
            sym->shape = dims_shape(c, type->kids[0]);
        else
            phys_error(c->diag, type->loc, "a field's type is scalar or vector[n]");
    } else if (network) {
        const phys_node *mlp = inner_mlp(network);
        const phys_node *outs = mlp && mlp->kind == N_CALL ? phys_node_named_arg(mlp, "outputs") : NULL;
        double n;
        if (outs && phys_sema_fold(c->sema, outs, &n) && n > 1) sym->shape = vector_of((int)n);
    }
    int saved = c->n_locals;
    for (int i = 0; i < sym->n_inputs; i++) {
        for (int j = 0; j < i; j++)
            if (!strcmp(sym->inputs[i], sym->inputs[j]))
                phys_error(c->diag, sym->input_nodes[i]->loc, "input '%s' named twice", sym->inputs[i]);
        const phys_symbol *g = phys_sema_lookup(c->sema, sym->inputs[i]);
        if (g && g->kind != SYM_STATE && g->kind != SYM_PARTICLES && g->kind != SYM_SPINS)
            phys_error(c->diag, sym->input_nodes[i]->loc,
                       "input '%s' of field %s has the name of the %s %s; rename one of them", sym->inputs[i],
                       d->name, phys_symbol_kind_name(g->kind), g->name);
    }
    bind_formals_as(c, sym);
    c->in_field_body = 1;
    check_number(c, d->kids[2]);
    c->in_field_body = 0;
    c->n_locals = saved;
}

/* The built-in a call calls, by its resolved id. */
static phys_builtin_id call_builtin(const phys_node *e)
{
    return e && e->kind == N_CALL ? phys_resolved_builtin(e) : B_ID_NONE;
}

static int symbol_invariant(checker *c, const phys_symbol *s, int depth);

/* Structure that makes a quantity invariant under translation, rotation
 * and permutation of identical particles: an atomic network over an
 * invariant descriptor, functions of interparticle distances, sums of such.
 * Names count by what they resolved to: a user's function is invariant
 * when its body is (its formals being invariant inputs). */
static int invariant_by_construction(checker *c, const phys_node *e, int depth);

/* A vector that rotates with the particles: disp(i, j), unit(i, j), and
 * sums and invariant multiples of these. */
static int equivariant_vector(checker *c, const phys_node *e, int depth)
{
    if (!e || depth > 64) return 0;
    switch (e->kind) {
    case N_CALL: {
        phys_builtin_id id = phys_resolved_builtin(e->kids[0]);
        return id == B_ID_DISP || id == B_ID_UNIT;
    }
    case N_NEGATE:
        return equivariant_vector(c, e->kids[0], depth + 1);
    case N_BINARY:
        if (e->op == '+' || e->op == '-')
            return equivariant_vector(c, e->kids[0], depth + 1) && equivariant_vector(c, e->kids[1], depth + 1);
        if (e->op == '*')
            return (equivariant_vector(c, e->kids[0], depth + 1) && invariant_by_construction(c, e->kids[1], depth + 1)) ||
                   (invariant_by_construction(c, e->kids[0], depth + 1) && equivariant_vector(c, e->kids[1], depth + 1));
        if (e->op == '/')
            return equivariant_vector(c, e->kids[0], depth + 1) && invariant_by_construction(c, e->kids[1], depth + 1);
        return 0;
    default:
        return 0;
    }
}

static int invariant_by_construction(checker *c, const phys_node *e, int depth)
{
    if (!e || depth > 64) return 0;
    switch (e->kind) {
    case N_NUMBER:
        return 1;
    case N_NAME:
        switch (e->res.kind) {
        case PHYS_RESOLVED_BUILTIN:
            return phys_builtin_of((phys_builtin_id)e->res.builtin)->cls == B_CONSTANT;
        case PHYS_RESOLVED_LOCAL:
            return e->res.local == PHYS_LOCAL_FORMAL || e->res.local == PHYS_LOCAL_COORD;
        case PHYS_RESOLVED_SYMBOL:
            return symbol_invariant(c, e->res.sym, depth + 1);
        default:
            return 0;
        }
    case N_CALL: {
        const phys_node *f = e->kids[0];
        phys_builtin_id id = phys_resolved_builtin(f);
        if (id == B_ID_DIST) return 1;
        if (id == B_ID_DISP || id == B_ID_UNIT) return 0;
        /* the scalar product and the length of vectors that rotate together */
        if (id == B_ID_DOT && e->nkids == 3 && equivariant_vector(c, e->kids[1], depth + 1) &&
            equivariant_vector(c, e->kids[2], depth + 1))
            return 1;
        if (id == B_ID_NORM && e->nkids == 2 && equivariant_vector(c, e->kids[1], depth + 1)) return 1;
        const phys_symbol *fs = phys_resolved_symbol(f);
        if (id == B_ID_NONE && !fs) return 0;
        /* A function of invariant arguments is invariant when its body is; a
         * function of a whole particle set only when it is invariant itself. */
        int takes_set = 0;
        for (int i = 1; i < e->nkids; i++) {
            const phys_node *a = e->kids[i];
            const phys_symbol *s = phys_resolved_symbol(a);
            if (s && s->kind == SYM_PARTICLES) takes_set = 1;
            else if (!invariant_by_construction(c, a, depth + 1)) return 0;
        }
        if (fs && (fs->kind == SYM_LET || fs->kind == SYM_ENERGY)) return symbol_invariant(c, fs, depth + 1);
        if (fs && takes_set) return symbol_invariant(c, fs, depth + 1);
        return 1;
    }
    case N_INDEX: {
        /* q[i]: a per-particle scalar such as a charge is invariant */
        const phys_symbol *s = phys_resolved_symbol(e->kids[0]);
        return s && s->kind == SYM_ATTRIBUTE && s->shape.rank == 1;
    }
    case N_REDUCE:
        return invariant_by_construction(c, e->kids[e->nkids - 1], depth + 1);
    default:
        for (int i = 0; i < e->nkids; i++)
            if (!invariant_by_construction(c, e->kids[i], depth + 1)) return 0;
        return 1;
    }
}

static int symbol_invariant(checker *c, const phys_symbol *s, int depth)
{
    if (!s || depth > 64) return 0;
    if (s->kind == SYM_CONST || s->kind == SYM_PARAM) return 1;
    if (s->kind == SYM_FIELD) {
        const phys_node *net = s->network;
        if (!net || phys_resolved_builtin(net) != B_ID_ATOMIC) return 0;
        return phys_node_named_arg(net, "descriptor") != NULL;
    }
    if (s->kind == SYM_ENERGY || s->kind == SYM_LET) return invariant_by_construction(c, s->decl->kids[1], depth + 1);
    return 0;
}

/* Two names mean the same: the same declaration, built-in or binding, or
 * the pair indices i and j exchanged (bound by the formals fi and fj). */
static int same_swapped_name(const phys_node *a, const phys_node *b, const phys_node *fi, const phys_node *fj)
{
    if (a->res.kind != b->res.kind) return 0;
    switch (a->res.kind) {
    case PHYS_RESOLVED_SYMBOL:
        return a->res.sym == b->res.sym;
    case PHYS_RESOLVED_BUILTIN:
        return a->res.builtin == b->res.builtin;
    case PHYS_RESOLVED_INPUT:
        return a->res.sym == b->res.sym && a->res.index == b->res.index;
    case PHYS_RESOLVED_LOCAL: {
        const phys_node *want = a->res.binding == fi ? fj : a->res.binding == fj ? fi : a->res.binding;
        return want == b->res.binding;
    }
    default:
        return 0; /* unchecked: never equal on spelling */
    }
}

/* a equals b with the indices i and j exchanged (q[i] vs q[j]). */
static int equal_swapped(const phys_node *a, const phys_node *b, const phys_node *fi, const phys_node *fj)
{
    if (a->kind != b->kind || a->op != b->op || a->nkids != b->nkids) return 0;
    if (a->kind == N_NUMBER) return a->number == b->number;
    if (a->kind == N_NAME) return same_swapped_name(a, b, fi, fj);
    if ((a->name || b->name) && (!a->name || !b->name || strcmp(a->name, b->name))) return 0;
    for (int k = 0; k < a->nkids; k++)
        if (!equal_swapped(a->kids[k], b->kids[k], fi, fj)) return 0;
    return 1;
}

/* The factor multiplying unit(i, j) in a pair force must not change when i
 * and j are exchanged, so that F(i, j) = -F(j, i). */
static int symmetric_in_pair(const phys_node *e, const phys_node *fi, const phys_node *fj)
{
    if (equal_swapped(e, e, fi, fj)) return 1;
    if (call_builtin(e) == B_ID_DIST) return 1;
    if (e->kind == N_BINARY && (e->op == '*' || e->op == '+')) {
        if (equal_swapped(e->kids[0], e->kids[1], fi, fj)) return 1;
        return symmetric_in_pair(e->kids[0], fi, fj) && symmetric_in_pair(e->kids[1], fi, fj);
    }
    if (e->kind == N_NUMBER) return 1;
    if (e->kind == N_NAME) return e->res.kind != PHYS_UNRESOLVED && e->res.binding != fi && e->res.binding != fj;
    if (e->kind == N_CALL || e->kind == N_NEGATE || e->kind == N_BINARY) {
        for (int k = e->kind == N_CALL ? 1 : 0; k < e->nkids; k++)
            if (!symmetric_in_pair(e->kids[k], fi, fj)) return 0;
        /* a call of a user's function with symmetric arguments: its body
         * sees no i or j (a let's formals are its own) */
        return e->kind != N_CALL || phys_resolved_builtin(e) != B_ID_NONE || phys_resolved_symbol(e->kids[0]);
    }
    return 0;
}

/* unit(i, j) or disp(i, j) of the force's own pair, by resolution. */
static int is_pair_direction(const phys_node *u, const phys_symbol *f)
{
    phys_builtin_id id = call_builtin(u);
    return (id == B_ID_UNIT || id == B_ID_DISP) && u->nkids == 3 && u->kids[1]->res.kind == PHYS_RESOLVED_LOCAL &&
           u->kids[2]->res.kind == PHYS_RESOLVED_LOCAL && u->kids[1]->res.binding == f->input_nodes[0] &&
           u->kids[2]->res.binding == f->input_nodes[1];
}

/* A pair force F(i, j) = s * unit(i, j) (or disp) with s symmetric in i, j:
 * antisymmetric by construction. */
static int pair_force_antisymmetric(const phys_symbol *f)
{
    const phys_node *body = f->decl->kids[1];
    if (f->n_inputs != 2 || body->kind != N_BINARY || body->op != '*') return 0;
    for (int side = 0; side < 2; side++) {
        const phys_node *u = body->kids[side], *s = body->kids[1 - side];
        if (is_pair_direction(u, f)) return symmetric_in_pair(s, f->input_nodes[0], f->input_nodes[1]);
    }
    return 0;
}

int phys_sema_pair_force_antisymmetric(const phys_symbol *force)
{
    return force->kind == SYM_FORCE && force->decl->kids[0] && pair_force_antisymmetric(force);
}

/* A force equivariant under rotation: -grad(E, r) of an invariant E, or a
 * pair force f(dist) * unit(i, j). */
static int force_equivariant(checker *c, const phys_symbol *f)
{
    const phys_node *body = f->decl->kids[1];
    if (body->kind == N_NEGATE) body = body->kids[0];
    if (call_builtin(body) == B_ID_GRAD && body->nkids == 3)
        return invariant_by_construction(c, body->kids[1], 0);
    if (f->n_inputs == 2 && body->kind == N_BINARY && body->op == '*') {
        for (int side = 0; side < 2; side++) {
            const phys_node *u = body->kids[side], *s = body->kids[1 - side];
            phys_builtin_id id = call_builtin(u);
            if (id == B_ID_UNIT || id == B_ID_DISP) return invariant_by_construction(c, s, 0);
        }
    }
    return 0;
}

static void check_symmetry(checker *c, const phys_node *d)
{
    const phys_symbol *s = phys_sema_lookup(c->sema, d->name);
    if (!s) {
        unknown_name(c, d, d->name);
        return;
    }
    static const char *const groups[] = {"translation", "rotation", "permutation", "reflection"};
    const phys_node *list = d->kids[0];
    for (int i = 0; i < list->nkids; i++) {
        int ok = 0;
        for (size_t g = 0; g < sizeof groups / sizeof *groups; g++)
            if (!strcmp(list->kids[i]->name, groups[g])) ok = 1;
        if (!ok)
            phys_error(c->diag, list->kids[i]->loc,
                       "unknown symmetry group '%s' (translation, rotation, permutation, reflection)",
                       list->kids[i]->name);
    }
    if (d->op == 'i') {
        if (s->kind != SYM_FIELD && s->kind != SYM_ENERGY) {
            phys_error(c->diag, d->loc, "invariance is declared for a field or energy; %s is %s", s->name,
                       phys_symbol_kind_with_article(s->kind));
            return;
        }
        int ok = symbol_invariant(c, s, 0);
        if (!ok)
            phys_error(c->diag, d->loc,
                       "%s is not invariant by construction: build it from invariant features, e.g. "
                       "atomic(mlp(...), descriptor = acsf(...)) or functions of dist(i, j)", s->name);
    } else {
        if (s->kind != SYM_FORCE) {
            phys_error(c->diag, d->loc, "equivariance is declared for a force; %s is %s", s->name,
                       phys_symbol_kind_with_article(s->kind));
            return;
        }
        if (!force_equivariant(c, s))
            phys_error(c->diag, d->loc,
                       "force %s is not equivariant by construction: define it as -grad(E, r) of an invariant "
                       "energy E, or as a pair force f(dist(i, j)) * unit(i, j)", s->name);
    }
}

/* ---------------------------------------------------------- the system */

const phys_system *phys_sema_system(phys_sema *s)
{
    phys_system *sys = &s->system;
    if (s->system_generation == s->generation + 1 && s->system_dynamics == s->dynamics) return sys;
    s->system_generation = s->generation + 1;
    s->system_dynamics = s->dynamics;
    memset(sys, 0, sizeof *sys);
    /* newton(mass = m) naming an attribute: that set's mass unless it names one */
    const phys_node *mass = s->dynamics && s->dynamics->op == 'n' ? phys_newton_arg(s->dynamics, 1) : NULL;
    const phys_symbol *mass_attr = mass && mass->kind == N_NAME ? phys_sema_lookup(s, mass->name) : NULL;
    for (int i = 0; i < s->n_symbols && sys->n_sets < PHYS_MAX_PARTICLE_SETS; i++) {
        const phys_symbol *set = s->symbols[i];
        if (set->kind != SYM_PARTICLES || set->replaced) continue;
        phys_particle_set *p = &sys->sets[sys->n_sets++];
        p->sym = set;
        p->count = set->shape.dims[0];
        int explicit_motion = 0;
        for (int k = 0; k < s->n_symbols; k++) {
            const phys_symbol *a = s->symbols[k];
            if (a->kind != SYM_ATTRIBUTE || a->replaced || a->owner != set || p->n_attrs == PHYS_MAX_SET_ATTRIBUTES)
                continue;
            p->roles[p->n_attrs] = a->role;
            p->attrs[p->n_attrs++] = a;
            explicit_motion |= a->role == PHYS_ROLE_POSITION || a->role == PHYS_ROLE_VELOCITY;
        }
        for (int k = 0; k < p->n_attrs; k++) {
            const phys_symbol *a = p->attrs[k];
            /* the default rule, for a set that names neither position nor velocity */
            if (!explicit_motion && a->shape.rank == 2) {
                if (!p->position) p->roles[k] = PHYS_ROLE_POSITION;
                else if (!p->velocity && a->shape.dims[1] == p->position->shape.dims[1])
                    p->roles[k] = PHYS_ROLE_VELOCITY;
            }
            const phys_symbol **slot[] = {
                [PHYS_ROLE_POSITION] = &p->position, [PHYS_ROLE_VELOCITY] = &p->velocity, [PHYS_ROLE_MASS] = &p->mass,
                [PHYS_ROLE_CHARGE] = &p->charge, [PHYS_ROLE_SPECIES] = &p->species,
            };
            if (p->roles[k] != PHYS_ROLE_NONE && !*slot[p->roles[k]]) *slot[p->roles[k]] = a;
        }
        for (int k = 0; k < p->n_attrs && mass_attr && !p->mass; k++)
            if (p->attrs[k] == mass_attr && mass_attr->shape.rank == 1) {
                p->roles[k] = PHYS_ROLE_MASS;
                p->mass = mass_attr;
            }
    }
    return sys;
}

const phys_particle_set *phys_sema_particle_set(phys_sema *s, const phys_symbol *set)
{
    const phys_system *sys = phys_sema_system(s);
    for (int i = 0; i < sys->n_sets; i++)
        if (sys->sets[i].sym == set) return &sys->sets[i];
    return NULL;
}

const phys_symbol *phys_sema_position_attribute(phys_sema *s)
{
    const phys_system *sys = phys_sema_system(s);
    return sys->n_sets ? sys->sets[0].position : NULL;
}

/* The set a pair force's indices run over: the first set that moves (has
 * a velocity), else the first set. */
static const phys_symbol *pair_force_set(phys_sema *s)
{
    const phys_system *sys = phys_sema_system(s);
    for (int i = 0; i < sys->n_sets; i++)
        if (sys->sets[i].velocity) return sys->sets[i].sym;
    return sys->n_sets ? sys->sets[0].sym : NULL;
}

const phys_node *phys_newton_arg(const phys_node *dynamics, int mass)
{
    const phys_node *args = dynamics->kids[0];
    for (int i = 0; args && i < args->nkids; i++)
        if ((args->kids[i]->kind == N_NAMED_ARG) == mass) return mass ? args->kids[i]->kids[0] : args->kids[i];
    return NULL;
}

const phys_node *phys_sema_force_potential(phys_sema *s, const phys_symbol *force)
{
    if (!force || force->kind != SYM_FORCE || force->decl->kids[0]) return NULL;
    const phys_node *body = force->decl->kids[1];
    const phys_symbol *pos = phys_sema_position_attribute(s);
    if (body->kind != N_NEGATE || body->kids[0]->kind != N_CALL) return NULL;
    const phys_node *g = body->kids[0];
    const phys_symbol *wrt = g->nkids == 3 ? phys_resolved_symbol(g->kids[2]) : NULL;
    if (phys_resolved_builtin(g) == B_ID_GRAD && pos && wrt && phys_sema_current(s, wrt) == pos) return g->kids[1];
    return NULL;
}

/* The force of Newtonian dynamics, or NULL. */
static const phys_symbol *newton_force(checker *c, const phys_node *dyn)
{
    const phys_node *fn = dyn && dyn->op == 'n' ? phys_newton_arg(dyn, 0) : NULL;
    const phys_symbol *f = fn ? phys_resolved_symbol(fn) : NULL;
    if (f) f = phys_sema_current(c->sema, f);
    return f && f->kind == SYM_FORCE ? f : NULL;
}

static void check_conserve(checker *c, const phys_node *d)
{
    const phys_node *list = d->kids[0];
    const phys_node *dyn = c->sema->dynamics;
    for (int i = 0; i < list->nkids; i++) {
        const phys_node *q = list->kids[i];
        if (!strcmp(q->name, "energy")) {
            const phys_symbol *f = newton_force(c, dyn);
            int ok = (dyn && dyn->op == 'h') || phys_sema_force_potential(c->sema, f) ||
                     (f && f->n_inputs == 2 && force_equivariant(c, f)); /* central pair forces */
            if (!ok)
                phys_error(c->diag, q->loc,
                           "energy is not conserved by this model's structure: conservation follows from "
                           "'dynamics hamiltonian H', or from Newtonian dynamics with a force -grad(V, r) of the positions r or a "
                           "central pair force f(dist(i, j)) * unit(i, j)");
        } else if (!strcmp(q->name, "momentum")) {
            const phys_symbol *f = newton_force(c, dyn);
            const phys_node *potential = phys_sema_force_potential(c->sema, f);
            int ok = 0;
            if (f && f->n_inputs == 2) ok = pair_force_antisymmetric(f);
            else if (potential) ok = invariant_by_construction(c, potential, 0);
            if (!ok)
                phys_error(c->diag, q->loc,
                           "momentum is not conserved by this model's structure: it follows from Newtonian "
                           "dynamics with an antisymmetric pair force F(i, j) = f(dist(i, j)) * unit(i, j), "
                           "or a force -grad(E, r) of a translation-invariant energy");
        } else {
            phys_error(c->diag, q->loc, "conserve takes energy or momentum, not '%s'", q->name);
        }
    }
}

static void check_simulate(checker *c, const phys_node *d)
{
    const phys_builtin *b = constructor(c, d->kids[0], B_INTEGRATOR);
    if (b && d->kids[0]->kind == N_CALL) {
        double dt;
        long n;
        const phys_node *dtn = phys_node_named_arg(d->kids[0], "dt"), *steps = phys_node_named_arg(d->kids[0], "steps");
        if (dtn && need_constant(c, dtn, "the time step", &dt) && dt <= 0)
            phys_error(c->diag, dtn->loc, "the time step must be positive");
        if (steps) need_count(c, steps, "the number of steps", 1, &n);
        if (b->id == B_ID_LANGEVIN) {
            const phys_node *temp = phys_node_named_arg(d->kids[0], "temperature"),
                            *kT = phys_node_named_arg(d->kids[0], "kT"), *damp = phys_node_named_arg(d->kids[0], "damping"),
                            *seed = phys_node_named_arg(d->kids[0], "seed");
            double x;
            if (!temp == !kT)
                phys_error(c->diag, d->kids[0]->loc, "langevin takes the temperature: temperature = T (kelvin, "
                           "energies in eV) or kT = (in the model's energy unit), one of the two");
            if (temp && need_constant(c, temp, "the temperature", &x) && !(x > 0))
                phys_error(c->diag, temp->loc, "the temperature must be positive");
            if (kT && need_constant(c, kT, "kT", &x) && !(x > 0)) phys_error(c->diag, kT->loc, "kT must be positive");
            if (damp && need_constant(c, damp, "the damping time", &x) && !(x > 0))
                phys_error(c->diag, damp->loc, "the damping time (1 / friction) must be positive");
            if (seed) need_count(c, seed, "the seed", 0, &n);
        }
    }
    if (!c->sema->dynamics)
        phys_error(c->diag, d->loc, "simulate needs the model's dynamics ('dynamics hamiltonian H', "
                   "'dynamics newton(F, mass = m)' or 'dynamics: ddt(q) == ...')");
    const phys_node *start = d->kids[1];
    if (start->kind == N_LIST) {
        for (int i = 0; i < start->nkids; i++) {
            const phys_node *fix = start->kids[i];
            const phys_symbol *s = phys_sema_lookup(c->sema, fix->name);
            if (!s || s->kind != SYM_STATE) {
                phys_error(c->diag, fix->loc, "'%s' is not a state", fix->name);
                continue;
            }
            value v = check_number(c, fix->kids[0]);
            if (v.kind == V_NUMBER && !same_shape(v.shape, s->shape))
                phys_error(c->diag, fix->kids[0]->loc, "the start value of %s has the wrong shape", s->name);
        }
    }
    long n;
    if (d->kids[3]) need_count(c, d->kids[3], "the output interval", 1, &n);
}

static void check_decl(checker *c, const phys_node *d)
{
    const phys_symbol *sym;
    switch (d->kind) {
    case N_CONST: {
        sym = phys_sema_lookup(c->sema, d->name);
        value v = check_number(c, d->kids[1]);
        if (v.kind != V_NUMBER || !sym || sym->decl != d) break;
        if (v.shape.rank == 0) {
            double x;
            char what[96];
            snprintf(what, sizeof what, "the value of const %.60s", d->name);
            need_constant(c, d->kids[1], what, &x);
        } else if (d->kids[1]->kind == N_VECTOR) {
            check_number_list(c, d->kids[1], "a const's value");
        }
        if (d->kids[0] && !same_shape(sym->shape, v.shape) && v.shape.rank != 0) {
            char sa[48], sb[48];
            phys_error(c->diag, d->kids[1]->loc, "'%s' is declared %s but given %s", d->name,
                       shape_text(sym->shape, sa), shape_text(v.shape, sb));
        }
        break;
    }
    case N_PARAM: {
        double x;
        if (d->kids[1]->kind == N_VECTOR) check_number_list(c, d->kids[1], "an initial value");
        else need_constant(c, d->kids[1], "an initial value", &x);
        break;
    }
    case N_LET: {
        phys_symbol *s = phys_sema_lookup(c->sema, d->name);
        if (!s || s->decl != d) break;
        int saved = c->n_locals;
        for (int i = 0; i < s->n_inputs; i++)
            for (int j = 0; j < i; j++)
                if (!strcmp(s->inputs[i], s->inputs[j]))
                    phys_error(c->diag, s->input_nodes[i]->loc, "argument '%s' named twice", s->inputs[i]);
        for (int i = 0; i < s->n_inputs; i++)
            push_local(c, s->input_nodes[i], s->inputs[i], L_FORMAL, scalar(), NULL);
        value v = check_number(c, d->kids[1]);
        if (v.kind == V_NUMBER) s->shape = v.shape;
        c->n_locals = saved;
        break;
    }
    case N_DOMAIN:
        for (int i = 0; i < d->nkids; i++) {
            const phys_node *coord = d->kids[i];
            double lo, hi;
            int ok = need_constant(c, coord->kids[0], "a domain bound", &lo);
            ok &= need_constant(c, coord->kids[1], "a domain bound", &hi);
            if (ok && !(lo < hi))
                phys_error(c->diag, coord->loc, "the interval of %s is empty: [%g, %g]", coord->name, lo, hi);
            for (int j = 0; j < i; j++)
                if (!strcmp(d->kids[j]->name, coord->name))
                    phys_error(c->diag, coord->loc, "coordinate '%s' appears twice in domain %s", coord->name,
                               d->name);
            const phys_symbol *g = phys_sema_lookup(c->sema, coord->name);
            if (g)
                phys_error(c->diag, coord->loc, "coordinate '%s' has the name of the %s %s; rename one of them",
                           coord->name, phys_symbol_kind_name(g->kind), g->name);
        }
        break;
    case N_REGION_DECL: {
        int saved = c->n_locals;
        bind_region(c, d->kids[0]);
        c->n_locals = saved;
        break;
    }
    case N_FIELD:
        check_field(c, d);
        break;
    case N_CONDITION:
        check_condition(c, d);
        break;
    case N_DATA:
        check_data(c, d);
        break;
    case N_LOSS_WEIGHT: {
        sym = phys_sema_lookup(c->sema, d->name);
        if (!sym || sym->kind != SYM_TERM) {
            const char *hint = phys_sema_suggest(c->sema, d->name, NULL, 0);
            const phys_symbol *h = hint ? phys_sema_lookup(c->sema, hint) : NULL;
            if (h && h->kind == SYM_TERM)
                phys_error(c->diag, d->loc, "no equation, condition or data named '%s'; did you mean '%s'?",
                           d->name, hint);
            else
                phys_error(c->diag, d->loc, "no equation, condition or data named '%s'", d->name);
        }
        check_weight(c, d->kids[0]);
        break;
    }
    case N_TRAIN:
        check_train(c, d);
        break;
    case N_DYNAMICS:
        check_dynamics(c, d);
        break;
    case N_FORCE: {
        phys_symbol *f = phys_sema_lookup(c->sema, d->name);
        if (!f || f->decl != d) break;
        int saved = c->n_locals;
        const phys_symbol *set = pair_force_set(c->sema);
        if (d->kids[0]) {
            if (d->kids[0]->nkids != 2)
                phys_error(c->diag, d->kids[0]->loc, "a pair force is F(i, j): two particle indices");
            if (!set) phys_error(c->diag, d->loc, "a pair force needs particles: declare 'particles ...'");
            for (int i = 0; i < d->kids[0]->nkids; i++)
                push_local(c, d->kids[0]->kids[i], d->kids[0]->kids[i]->name, L_INDEX, scalar(), set);
        }
        if (d->nkids > 2 && d->kids[2]) {
            if (!d->kids[0])
                phys_error(c->diag, d->kids[2]->loc, "a cutoff ('within') belongs to a pair force F(i, j)");
            else check_cutoff(c, d->kids[2]);
        }
        value v = check_number(c, d->kids[1]);
        if (v.kind == V_NUMBER) f->shape = v.shape;
        c->n_locals = saved;
        break;
    }
    case N_ENERGY: {
        phys_symbol *en = phys_sema_lookup(c->sema, d->name);
        if (!en || en->decl != d) break;
        int saved = c->n_locals;
        for (int i = 0; i < en->n_inputs; i++) {
            const phys_symbol *g = phys_sema_lookup(c->sema, en->inputs[i]);
            if (!g || (g->kind != SYM_PARTICLES && g->kind != SYM_SPINS && g->kind != SYM_STATE))
                push_local(c, en->input_nodes[i], en->inputs[i], L_FORMAL, scalar(), NULL);
        }
        value v = check_number(c, d->kids[1]);
        if (v.kind == V_NUMBER && v.shape.rank != 0)
            phys_error(c->diag, d->kids[1]->loc, "an energy is a scalar");
        c->n_locals = saved;
        break;
    }
    case N_SPINS: {
        const phys_node *set = d->kids[1];
        for (int i = 0; i < set->nkids; i++) {
            double v;
            need_constant(c, set->kids[i], "a spin value", &v);
        }
        if (set->nkids != 2) phys_error(c->diag, set->loc, "spins take two values, such as {-1, +1}");
        break;
    }
    case N_COUPLING: {
        phys_symbol *w = phys_sema_lookup(c->sema, d->name);
        const phys_node *e = d->kids[0];
        if (e->kind == N_CALL && e->kids[0]->kind == N_NAME && phys_builtin_find(e->kids[0]->name, B_COUPLING)) {
            const phys_builtin *b = constructor(c, e, B_COUPLING);
            int takes_file = b && (b->id == B_ID_HEBBIAN || b->id == B_ID_MATRIX || b->id == B_ID_BIAS);
            if (takes_file && e->nkids == 2 && e->kids[1]->kind != N_STRING)
                phys_error(c->diag, e->kids[1]->loc, "%s() takes the name of a CSV file", b->name);
            const phys_symbol *spins = first_of_kind(c->sema, SYM_SPINS);
            if (!spins) phys_error(c->diag, d->loc, "couplings connect spins: declare 'spins s[n] in {-1, +1}'");
            else if (w && w->decl == d && b) {
                long n = spins->shape.dims[0], sites = 1;
                if (b->id == B_ID_LATTICE) {
                    int ok = 1;
                    for (int k = 1; k < e->nkids; k++) {
                        long side;
                        if (e->kids[k]->kind == N_NAMED_ARG) continue;
                        if (need_count(c, e->kids[k], "a lattice side", 3, &side)) sites *= side;
                        else ok = 0;
                    }
                    if (ok && n > 0 && sites != n)
                        phys_error(c->diag, e->loc, "a lattice of %ld sites couples %ld spins: the sides' product "
                                   "must be the number of spins", sites, n);
                }
                int vector = b->id == B_ID_BIAS || b->id == B_ID_TRAINABLE_BIAS;
                w->shape.rank = vector ? 1 : 2;
                w->shape.dims[0] = w->shape.dims[1] = (int)n;
            }
        } else {
            value v = check_number(c, e);
            if (w && w->decl == d && v.kind == V_NUMBER) w->shape = v.shape;
        }
        break;
    }
    case N_SYMMETRY:
        check_symmetry(c, d);
        break;
    case N_CONSERVE:
        check_conserve(c, d);
        break;
    case N_SIMULATE:
        check_simulate(c, d);
        break;
    case N_RECALL: {
        if (!first_of_kind(c->sema, SYM_SPINS))
            phys_error(c->diag, d->loc, "recall needs spins: declare 'spins s[n] in {-1, +1}'");
        if (!first_of_kind(c->sema, SYM_ENERGY))
            phys_error(c->diag, d->loc, "recall descends an energy: declare 'energy E(s) = ...'");
        double t;
        if (d->kids[1] && need_constant(c, d->kids[1], "the temperature", &t) && t < 0)
            phys_error(c->diag, d->kids[1]->loc, "the temperature must not be negative");
        long n;
        if (d->kids[2]) need_count(c, d->kids[2], "the number of sweeps", 1, &n);
        break;
    }
    case N_OUTPUT: {
        int saved = c->n_locals;
        const phys_node *grid = d->kids[1];
        for (int i = 0; grid && i < grid->nkids; i++) {
            check_number(c, grid->kids[i]->kids[0]);
            push_local(c, grid->kids[i], grid->kids[i]->name, L_COORD, scalar(), NULL);
        }
        long n;
        if (d->kids[2]) need_count(c, d->kids[2], "the output interval", 1, &n);
        for (int i = 0; i < d->kids[3]->nkids; i++) check_number(c, d->kids[3]->kids[i]);
        c->n_locals = saved;
        break;
    }
    case N_PRINT:
        for (int i = 0; i < d->nkids; i++) check_number(c, d->kids[i]);
        break;
    default:
        break;
    }
}

/* What an imported module may not declare: the model's own business. */
static const char *refused_in_module(const phys_node *d)
{
    switch (d->kind) {
    case N_MODEL: return "'model' (the module is named by its import)";
    case N_TRAIN: return "'train' (the training schedule is the model's)";
    case N_DYNAMICS: return "'dynamics' (the dynamics are the model's)";
    case N_SIMULATE: return "'simulate'";
    case N_RECALL: return "'recall'";
    case N_OUTPUT: return "'output'";
    case N_PRINT: return "'print'";
    default: return NULL;
    }
}

/* Claims proved from the structure of other declarations: checked last,
 * when every name they look at is resolved. */
static int is_claim(const phys_node *d)
{
    return d->kind == N_SYMMETRY || d->kind == N_CONSERVE;
}

int phys_sema_check(phys_sema *sema, const phys_node *program)
{
    int before = sema->diag->errors;
    checker *c = calloc(1, sizeof *c);
    if (!c) return 1;
    c->sema = sema;
    c->diag = sema->diag;
    c->program = program;
    const phys_node *model = NULL;
    for (int i = 0; sema->module && i < program->nkids; i++) {
        const char *what = refused_in_module(program->kids[i]);
        if (what)
            phys_error(c->diag, program->kids[i]->loc, "an imported module cannot declare %s; module %s is imported "
                       "for its definitions", what, sema->module);
    }
    for (int i = 0; i < program->nkids; i++) {
        const phys_node *d = program->kids[i];
        if (sema->module && refused_in_module(d)) continue;
        if (d->kind == N_MODEL) {
            if (model) {
                phys_error(c->diag, d->loc, "a file declares one model; '%s' follows '%s'", d->name, model->name);
                phys_note(c->diag, model->loc, "the model was named here");
            }
            model = d;
        }
        if (d->kind == N_DYNAMICS) {
            if (sema->dynamics && sema->dynamics != d && !sema->allow_redefinition) {
                phys_error(c->diag, d->loc, "the model's dynamics are declared twice");
                phys_note(c->diag, sema->dynamics->loc, "first declared here");
            }
            sema->dynamics = d;
        }
    }
    declare_all(c, program);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < program->nkids && !phys_diag_full(c->diag); i++) {
            const phys_node *d = program->kids[i];
            if (is_claim(d) != pass || (sema->module && refused_in_module(d))) continue;
            c->n_locals = 0;
            check_decl(c, d);
        }
    free(c);
    return sema->diag->errors - before;
}

/* One file the program reads: warn when it cannot be read. */
static int warn_unreadable(phys_sema *sema, const phys_node *file, const char *dir, size_t dir_len,
                           const char *what)
{
    if (!file || file->kind != N_STRING) return 0;
    const char *name = file->name;
    size_t n = strlen(name);
    char *path = malloc(dir_len + n + 2);
    if (!path) exit(70);
    if (name[0] == '/' || dir_len == 0) {
        memcpy(path, name, n + 1);
    } else {
        memcpy(path, dir, dir_len);
        path[dir_len] = '/';
        memcpy(path + dir_len + 1, name, n + 1);
    }
    int warned = 0;
    if (access(path, R_OK) != 0) {
        int e = errno;
        const char *why = e == ENOENT ? "not found" : strerror(e);
        if (strcmp(path, name))
            phys_warning(sema->diag, file->loc, "%s '%s' %s (looked for %s)", what, name, why, path);
        else
            phys_warning(sema->diag, file->loc, "%s '%s' %s", what, name, why);
        warned = 1;
    }
    free(path);
    return warned;
}

int phys_sema_warn_missing_files(phys_sema *sema, const phys_node *program, const char *model_path)
{
    const char *slash = strrchr(model_path, '/');
    size_t dir_len = slash ? (size_t)(slash - model_path) + (slash == model_path) : 0;
    int warnings = 0;
    for (int i = 0; i < program->nkids; i++) {
        const phys_node *d = program->kids[i];
        if (d->kind == N_DATA) warnings += warn_unreadable(sema, d->kids[0], model_path, dir_len, "data file");
        if (d->kind == N_SIMULATE)
            warnings += warn_unreadable(sema, d->kids[1], model_path, dir_len, "file of start states");
        if (d->kind == N_RECALL)
            warnings += warn_unreadable(sema, d->kids[0], model_path, dir_len, "file of states to recall");
        if (d->kind == N_COUPLING && d->kids[0]->kind == N_CALL && d->kids[0]->nkids == 2 &&
            d->kids[0]->kids[0]->kind == N_NAME && !strcmp(d->kids[0]->kids[0]->name, "hebbian"))
            warnings += warn_unreadable(sema, d->kids[0]->kids[1], model_path, dir_len, "file of patterns");
    }
    return warnings;
}
