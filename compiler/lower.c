#define _DEFAULT_SOURCE /* realpath */
/* The lowering pass: checked AST -> lw_model (see lower.h). This file is
 * its top layer, the model: parameters, fields, terms, training stages,
 * eval's quantities and the order the other layers run in (see
 * lower_internal.h for the layers). */
#include "lower.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "lower_internal.h"
#include "physmodel.h"

/* What expression lowering reaches of the layers above it. */
static const lw_hooks hooks = {lw_lower_ddt,     lw_kernel_attribute, lw_kernel_geometry,
                               lw_kernel_reduce, lw_kernel_atomic,    lw_atomic_scatters};

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
        const tensor *v = lw_field_at(c, f->sym->decl, f->sym, inputs, vk, nv);
        if (!v) {
            c->term = saved;
            return 0;
        }
        for (int o = 0; o < f->n_outputs; o++) t->residuals[t->n_residuals++] = v->el[o];
    }
    c->term = saved;
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
        int width = lw_formal_width(c, sym, i);
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
        int width = lw_formal_width(c, sym, i), leaves[DAG_MAX_INPUTS];
        for (int k = 0; k < width; k++) leaves[k] = dag_leaf(c->dag, X_INPUT, n + k);
        const phys_symbol *g = phys_sema_lookup(c->sema, sym->inputs[i]);
        lw_bind(c, sym->input_nodes[i], sym->inputs[i], width == 1 ? lw_scalar_of(c, leaves[0]) : lw_shaped(c, sym->input_nodes[i], g, leaves));
        n += width;
    }
    const tensor *body = lw_lower_expr(c, sym->decl->kids[2]);
    c->field = NULL;
    c->n_bindings = 0;
    if (!body) return 0;
    if (body->n != f->n_outputs) {
        lw_unsupported(c, sym->decl, "a field body whose size differs from its network's outputs");
        return 0;
    }
    memcpy(f->body, body->el, sizeof(int) * (size_t)body->n);
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
            int pos = lw_input_position(c, f, x), coord = -1;
            for (int j = 0; j < dom->n_inputs; j++)
                if (!strcmp(dom->inputs[j], x)) coord = j;
            if (coord < 0) {
                lw_unsupported(c, call, "periodic() in an input that is not a coordinate of the domain");
                return 0;
            }
            inputs_lo[pos] = dag_const(c->dag, t->lo[coord]);
            inputs_hi[pos] = dag_const(c->dag, t->hi[coord]);
            const tensor *a = lw_field_at(c, call, f, inputs_lo, NULL, 0), *b = lw_field_at(c, call, f, inputs_hi, NULL, 0);
            const tensor *r = lw_map2(c, call, X_SUB, a, b);
            if (!r) return 0;
            lw_add_residuals(t, r);
            continue;
        }
        const tensor *r = lw_map2(c, k, X_SUB, lw_lower_expr(c, k->kids[0]), lw_lower_expr(c, k->kids[1]));
        if (!r) return 0;
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

/* Whether the model weighs any term: a `loss weight` line or an inline
 * `weight` on an equation, condition or data declaration. */
static int model_gives_weights(const phys_node *program)
{
    for (int i = 0; i < program->nkids; i++) {
        const phys_node *d = program->kids[i];
        if (d->kind == N_LOSS_WEIGHT || ((d->kind == N_CONDITION || d->kind == N_DATA) && d->kids[2])) return 1;
    }
    return 0;
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
    for (int i = 0; i < t->n_coords; i++) lw_bind(c, d, t->coords[i], lw_scalar_of(c, dag_leaf(c->dag, X_COORD, i)));
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
        if (count > 1 || (s && (s->kind == SYM_STATE || s->kind == SYM_ATTRIBUTE))) lw_bind(c, d, name, lw_shaped(c, cols->kids[i], s, leaves));
        else if (!s || s->kind != SYM_FIELD) lw_bind(c, d, name, lw_scalar_of(c, leaves[0]));
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
            const tensor *value = lw_field_at(c, cols->kids[i], f, inputs, NULL, 0);
            if (!value) return 0;
            if (value->n != 1) {
                lw_unsupported(c, cols->kids[i], "observations of vector-valued fields in one column");
                return 0;
            }
            int r = dag_binary(c->dag, X_SUB, value->el[0], dag_leaf(c->dag, X_COORD, first_coord[i]));
            lw_add_nodes(t, &r, 1);
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
        ok = lw_bind(c, s->decl, coords[i], lw_scalar_of(c, dag_leaf(c->dag, X_COORD, i)));
    const tensor *v = ok ? lw_lower_expr(c, s->decl->kids[1]) : NULL;
    if (v && v->n > 0) lw_add_residuals(t, v);
    c->diag = loud;
    c->term = NULL;
    c->n_bindings = 0;
    if (!v || t->n_residuals == 0) {
        lw_free_term(t);
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
            for (int k = 0; k < s->n_inputs; k++) scalar &= !lw_formal_is_vector(c, s, k);
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
    c->hooks = &hooks;
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
    if (m->n_stages == 0 && m->n_terms > 1 && !m->system && !m->spins && !model_gives_weights(program)) {
        /* Neither a schedule nor a weight: every term's weight is balanced
         * by gradient norms while Adam trains (what `loss weight T =
         * adaptive` gives), unless a term is atomic frames data (weighed
         * by the system's own scaling). */
        int frames = 0;
        for (int t = 0; t < m->n_terms; t++) frames |= m->terms[t].frames != 0;
        for (int t = 0; t < m->n_terms && !frames; t++) {
            m->terms[t].weight = 1.0;
            m->terms[t].weight_rule = PHYSM_WEIGHT_AUTO;
            m->terms[t].weight_every = 100;
            m->terms[t].weight_alpha = 0.1;
        }
    }
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
    lw_tensors_free(c);
    free(c);
    if (diag->errors != errors) {
        phys_lower_free(m);
        return NULL;
    }
    return m;
}


lw_term *phys_lower_print(lw_model *m, phys_sema *sema, const phys_node *print, phys_diag *diag, phys_shape *shapes)
{
    int errors = diag->errors;
    lctx *c = lw_xcalloc(1, sizeof *c);
    c->hooks = &hooks;
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
        const tensor *v = lw_lower_expr(c, print->kids[i]);
        if (!v) {
            cut_short = 1;
            break;
        }
        shapes[i].rank = v->rank;
        shapes[i].dims[0] = v->dims[0];
        shapes[i].dims[1] = v->dims[1];
        lw_add_residuals(t, v);
    }
    lw_tensors_free(c);
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
    for (int i = 0; i < m->n_terms; i++) lw_free_term(&m->terms[i]);
    for (int i = 0; i < m->n_fields; i++) {
        if (!m->fields[i].eval) continue;
        lw_free_term(m->fields[i].eval);
        free(m->fields[i].eval);
    }
    if (m->dynamics) {
        lw_term *pseudo[3] = {m->dynamics->rhs, m->dynamics->energy, m->dynamics->momentum};
        for (int k = 0; k < 3; k++) phys_lower_free_term(pseudo[k]);
        free(m->dynamics);
    }
    lw_free_system(m->system);
    for (int i = 0; i < m->n_quantities; i++) lw_free_term(&m->quantities[i]);
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
