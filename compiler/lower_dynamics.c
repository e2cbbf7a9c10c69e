/* The lowering pass, dynamics part: states, particles and their
 * equations of motion (the rhs, energy and momentum pseudo-terms of
 * physm_dynamics), ddt(), gradients with respect to states and positions,
 * sums over indices, trajectory(t) data and simulate declarations. The
 * rest of the pass (expressions, fields, terms) is lower.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower_internal.h"
#include "physmodel.h"

/* --------------------------------------------- derivatives through probes */

/* Gradients with respect to states and particle positions (dH/dp, -grad(V,
 * r)) differentiate expressions that evaluate fields at points depending on
 * those values. The values are first bound to placeholder leaves; the
 * expression is differentiated with the chain rule through each probe
 * (d stream / d x = sum_k stream(alpha + e_k) * d input_k / d x); then the
 * placeholders are replaced by the real values, which re-probes the fields
 * there. Probes left without use are pruned when the term is done. */

enum { PLACEHOLDER_BASE = 1 << 20 }; /* X_INPUT indices of placeholders, above any field input */

static int placeholder(lctx *c)
{
    c->prune = 1;
    return dag_leaf(c->dag, X_INPUT, PLACEHOLDER_BASE + c->n_placeholders++);
}


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
        int d_input = lw_total_diff(c, c->term->probes[s.probe].inputs[i], dag_leaf(c->dag, k->var.op, k->var.index), k->bad);
        if (dag_is_const(c->dag, d_input, 0.0)) continue;
        if (order >= DAG_MAX_ORDER) {
            *k->bad = 1;
            continue;
        }
        alpha[i]++;
        int higher = lw_stream_slot(c, s.probe, alpha, s.output, k->bad);
        alpha[i]--;
        sum = dag_binary(c->dag, X_ADD, sum, dag_binary(c->dag, X_MUL, d_input, higher));
    }
    return sum;
}

/* d node / d var, var a leaf (a placeholder or a coordinate); *bad is set
 * past the derivative order the runtime computes. */
int lw_total_diff(lctx *c, int node, int var, int *bad)
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
    return lw_stream_slot(c, lw_find_probe(c, field, inputs), alpha, s.output, &r->bad);
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
void lw_prune_term(lctx *c, lw_term *t)
{
    if (!c->prune) return;
    c->prune = 0;
    lw_term *saved = c->term;
    c->term = t;
    int size = dag_size(c->dag);
    char *seen = lw_xcalloc((size_t)size, 1);
    int *slot_map = lw_xcalloc((size_t)t->n_slots + 1, sizeof(int));
    int *probe_map = lw_xcalloc((size_t)t->n_probes + 1, sizeof(int));
    for (int i = 0; i < t->n_slots; i++) slot_map[i] = -1;
    for (int j = 0; j < t->n_residuals; j++) mark_slots(c, t->residuals[j], seen, slot_map);
    /* kept probes, and within each the value stream and the streams used */
    for (int p = 0; p < t->n_probes; p++) probe_map[p] = -1;
    for (int i = 0; i < t->n_slots; i++)
        if (slot_map[i] >= 0) probe_map[t->slots[i].probe] = 1;
    int n_probes = 0;
    int (*stream_map)[MAX_STREAMS_PER_PROBE] = lw_xcalloc((size_t)t->n_probes + 1, sizeof *stream_map);
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

/* -------------------------------------------------------------- dynamics */

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
int lw_size_of(const phys_symbol *s)
{
    if (s->shape.rank == 0) return 1;
    if (s->shape.rank == 1) return s->shape.dims[0];
    return s->shape.dims[0] * s->shape.dims[1];
}

const char *lw_component_name(lctx *c, const phys_symbol *s, int k)
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

/* A tensor of the shape of s over nodes[0 .. lw_size_of(s)). */
tensor lw_shaped(const phys_symbol *s, const int *nodes)
{
    tensor t;
    memset(&t, 0, sizeof t);
    t.rank = s->shape.rank;
    t.dims[0] = s->shape.dims[0];
    t.dims[1] = s->shape.dims[1];
    t.n = lw_size_of(s);
    memcpy(t.el, nodes, sizeof(int) * (size_t)t.n);
    return t;
}

static void add_part(dyn_layout *dl, const phys_symbol *s, int aux)
{
    state_part *p = &dl->parts[dl->n_parts++];
    p->sym = s;
    p->count = lw_size_of(s);
    p->aux = aux;
}

/* A binder or pair force with a cutoff ('within rc') anywhere below e:
 * the unrolled state point has no neighbour lists. */
static int has_cutoff(const phys_node *e)
{
    if (!e) return 0;
    if ((e->kind == N_BINDER && e->nkids > 1 && e->kids[1]) || (e->kind == N_FORCE && e->nkids > 2 && e->kids[2]))
        return 1;
    for (int i = 0; i < e->nkids; i++)
        if (has_cutoff(e->kids[i])) return 1;
    return 0;
}

/* Lays out the state point of the model's dynamics (see physm_dynamics). */
int lw_dyn_init(lctx *c, const phys_node *program)
{
    dyn_layout *dl = &c->dyn;
    memset(dl, 0, sizeof *dl);
    for (int i = 0; i < program->nkids; i++)
        if (program->kids[i]->kind == N_DYNAMICS) dl->decl = program->kids[i];
    if (!dl->decl) return 1;
    const phys_node *d = dl->decl;
    dl->kind = d->op == 'h' ? PHYSM_DYN_HAMILTONIAN : d->op == 'n' ? PHYSM_DYN_NEWTON : PHYSM_DYN_EXPLICIT;
    if (dl->kind == PHYSM_DYN_NEWTON) {
        const phys_system *rec = phys_sema_system(c->sema);
        const phys_particle_set *ps = rec->n_sets ? &rec->sets[0] : NULL;
        const phys_symbol *set = ps ? ps->sym : NULL;
        dl->set = set;
        dl->n_particles = particle_count(c);
        dl->pos = ps ? ps->position : NULL;
        dl->vel = ps ? ps->velocity : NULL;
        if (!dl->pos || !dl->vel) {
            lw_unsupported(c, d, "Newtonian dynamics need particles with a position and a velocity of the same "
                              "dimension (particles p[N] with r[3], v[3])");
            return 0;
        }
        dl->dim = dl->pos->shape.dims[1];
        const phys_node *mass = phys_newton_arg(c->dyn.decl, 1);
        double m;
        if (mass && phys_sema_fold(c->sema, mass, &m) && !(m > 0 && m < HUGE_VAL)) {
            phys_error(c->diag, mass->loc, "the mass must be a positive finite number, got %g", m);
            return 0;
        }
        /* A state point holds a few particles (every trajectory of a batch
         * as one point, and training on trajectories); more, or a count
         * known only at run time, are simulated by the system's loops. */
        int numbers = 0;
        for (int i = 0; i < phys_sema_symbol_count(c->sema); i++) {
            const phys_symbol *a = phys_sema_symbol_at(c->sema, i);
            if (a->kind == SYM_ATTRIBUTE && !a->replaced && a->owner == set) {
                int n = lw_size_of(a);
                if (n < 0 || n > MAX_ELEMENTS) numbers = LW_MAX_COORDS;
                numbers += n < 0 ? LW_MAX_COORDS : n;
            }
        }
        if (dl->n_particles <= 0 || numbers > LW_MAX_COORDS / 2 || rec->n_sets > 1 || has_cutoff(program)) {
            dl->no_point = 1;
            return 1;
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
            lw_unsupported(c, dl->parts[k].sym->decl, "a state or attribute of more than %d numbers", MAX_ELEMENTS);
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
        lw_unsupported(c, d, "a state of more than %d numbers", LW_MAX_COORDS / 2);
        return 0;
    }
    if (dl->kind != PHYSM_DYN_EXPLICIT) dl->n_half = dl->n_state / 2;
    dl->names = phys_arena_alloc(c->sema->arena, sizeof(char *) * (size_t)(offset + 1));
    for (int k = 0; k < dl->n_parts; k++)
        for (int j = 0; j < dl->parts[k].count; j++)
            dl->names[dl->parts[k].offset + j] = lw_component_name(c, dl->parts[k].sym, j);
    return 1;
}

/* Binds every state and attribute name to its numbers in point[]. */
static int bind_state_point(lctx *c, const phys_node *at, const int *point, int with_aux)
{
    for (int k = 0; k < c->dyn.n_parts; k++) {
        const state_part *p = &c->dyn.parts[k];
        if (p->aux && !with_aux) continue;
        if (!lw_bind(c, at, p->sym->name, lw_shaped(p->sym, point + p->offset))) return 0;
    }
    return 1;
}

/* The state point from the names bound here (data columns). */
static int gather_state(lctx *c, const phys_node *at, int *point, int with_aux)
{
    for (int k = 0; k < c->dyn.n_parts; k++) {
        const state_part *p = &c->dyn.parts[k];
        if (p->aux && !with_aux) continue;
        const binding *b = lw_find_binding(c, p->sym->name);
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
        if (!lw_bound_inputs(c, at, sym, inputs)) return lw_failed();
        return lw_field_at(c, at, sym, inputs, NULL, 0);
    }
    if (sym->kind != SYM_LET && sym->kind != SYM_ENERGY)
        return lw_unsupported(c, at, "the %s %s as a function of the state", phys_symbol_kind_name(sym->kind), sym->name);
    if (++c->depth > 64) {
        c->depth--;
        return lw_unsupported(c, at, "functions nested more than 64 deep");
    }
    tensor t = lw_lower_expr(c, sym->decl->kids[1]);
    c->depth--;
    return t;
}

int lw_wrt_state(lctx *c, const char *name)
{
    const phys_symbol *s = phys_sema_lookup(c->sema, name);
    return s && (s->kind == SYM_STATE || s->kind == SYM_ATTRIBUTE);
}

/* grad[k] = d value / d ph[k] at ph = x: value was lowered with the names
 * differentiated bound to the placeholders ph; each derivative is then
 * moved to the real values x. Sets *bad past what the runtime computes. */
static void gradient_at(lctx *c, int value, int n, const int *ph, const int *x, int *grad, int *bad)
{
    for (int k = 0; k < n; k++) grad[k] = rebind_placeholders(c, lw_total_diff(c, value, ph[k], bad), n, ph, x, bad);
}

/* d sym / d name (a state or an attribute), where name is bound. */
tensor lw_gradient_wrt(lctx *c, const phys_node *at, const phys_symbol *sym, const char *name)
{
    if (!c->term) return lw_unsupported(c, at, "derivatives with respect to %s outside a term", name);
    const binding *b = lw_find_binding(c, name);
    if (!b) return lw_unsupported(c, at, "a derivative with respect to %s where %s has no value", name, name);
    tensor x = b->value, ph = x;
    for (int k = 0; k < x.n; k++) ph.el[k] = placeholder(c);
    int saved = c->n_bindings;
    if (!lw_bind(c, at, name, ph)) return lw_failed();
    tensor v = lw_need_scalar(c, at, value_of_symbol(c, at, sym));
    c->n_bindings = saved;
    if (v.rank < 0) return v;
    tensor out = x;
    int bad = 0;
    gradient_at(c, v.el[0], x.n, ph.el, x.el, out.el, &bad);
    if (bad) return lw_unsupported(c, at, "derivatives of order above %d (or more than %d streams of one field)",
                                DAG_MAX_ORDER, MAX_STREAMS_PER_PROBE);
    return out;
}

tensor lw_lower_pair_geometry(lctx *c, const char *name, const phys_node *e)
{
    double i, j;
    if (e->nkids != 3 || !lw_constant_index(c, e->kids[1], &i) || !lw_constant_index(c, e->kids[2], &j))
        return lw_unsupported(c, e, "%s() of particles that are not given by constant or summed indices", name);
    const phys_symbol *pos = c->dyn.pos;
    const binding *b = pos ? lw_find_binding(c, pos->name) : NULL;
    if (!b) return lw_unsupported(c, e, "%s() where the particle positions have no value", name);
    int n = b->value.dims[0], dim = b->value.dims[1];
    if (i < 0 || j < 0 || i >= n || j >= n) return lw_unsupported(c, e, "particle indices outside 0..%d", n - 1);
    tensor d;
    memset(&d, 0, sizeof d);
    d.rank = 1, d.dims[0] = d.n = dim;
    for (int k = 0; k < dim; k++)
        d.el[k] = dag_binary(c->dag, X_SUB, b->value.el[(int)i * dim + k], b->value.el[(int)j * dim + k]);
    return lw_pair_geometry(c, name, d);
}

tensor lw_pair_geometry(lctx *c, const char *name, tensor d)
{
    if (!strcmp(name, "disp")) return d;
    int sq = dag_const(c->dag, 0.0);
    for (int k = 0; k < d.n; k++) sq = dag_binary(c->dag, X_ADD, sq, dag_binary(c->dag, X_MUL, d.el[k], d.el[k]));
    int r = dag_unary(c->dag, X_SQRT, sq);
    if (!strcmp(name, "dist")) return lw_scalar_of(r);
    for (int k = 0; k < d.n; k++) d.el[k] = dag_binary(c->dag, X_DIV, d.el[k], r);
    return d;
}

/* sum(i: ...), sum_pairs(i, j: ...), prod(i: ...) with constant ranges,
 * unrolled. */
tensor lw_lower_reduce(lctx *c, const phys_node *e)
{
    tensor kernel_sum;
    if (lw_kernel_reduce(c, e, &kernel_sum)) return kernel_sum;
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
        double n = particle_count(c);
        if (!range && n_sets != 1) { /* an index runs over the particles only when there is one set */
            phys_error(c->diag, e->kids[b]->loc, "the index %s has no range: write '%s in N'%s", e->kids[b]->name,
                       e->kids[b]->name, n_sets ? " or name the particles it runs over" : " (the model has no particles)");
            return lw_failed();
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
        if (count[b] <= 0) return lw_scalar_of(dag_const(c->dag, e->op == 'm' ? 1.0 : 0.0)); /* empty range */
        total *= count[b];
        if (total > 100000) return lw_unsupported(c, e, "sums of more than 100000 terms");
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
            if (!lw_bind(c, e, e->kids[b]->name, lw_scalar_of(dag_const(c->dag, idx[b])))) return lw_failed();
        tensor v = lw_lower_expr(c, e->kids[nb]);
        c->n_bindings = saved;
        int k = 0;
        for (; v.rank >= 0 && filled[k]; k++) {
            v = lw_map2(c, e, op, partial[k], v);
            filled[k] = 0;
        }
        if (v.rank < 0) return v;
        partial[k] = v;
        filled[k] = 1;
    }
    tensor acc = lw_failed();
    int any = 0;
    for (int k = 0; k < 24; k++) {
        if (!filled[k]) continue;
        acc = any ? lw_map2(c, e, op, partial[k], acc) : partial[k];
        any = 1;
        if (acc.rank < 0) return acc;
    }
    if (!any) return lw_scalar_of(dag_const(c->dag, e->op == 'm' ? 1.0 : 0.0));
    return acc;
}

static tensor newton_mass(lctx *c)
{
    const phys_node *mass = phys_newton_arg(c->dyn.decl, 1);
    return mass ? lw_lower_expr(c, mass) : lw_scalar_of(dag_const(c->dag, 1.0));
}

/* m dv/dt = F: accelerations of every particle (n_particles x dim) at the
 * state point. A pair force that is antisymmetric by construction is
 * evaluated once per unordered pair and applied with opposite signs, so
 * F(i, j) = -F(j, i) holds exactly in floating point too. */
static int newton_accel(lctx *c, const phys_node *at, const int *point, int *acc)
{
    dyn_layout *dl = &c->dyn;
    const phys_node *force = phys_newton_arg(c->dyn.decl, 0), *mass = phys_newton_arg(c->dyn.decl, 1);
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
                lw_bind(c, at, pair->kids[0]->name, lw_scalar_of(dag_const(c->dag, i)));
                lw_bind(c, at, pair->kids[1]->name, lw_scalar_of(dag_const(c->dag, j)));
                tensor fij = lw_lower_expr(c, f->decl->kids[1]);
                c->n_bindings = inner;
                if (fij.rank < 0 || fij.n != dim) {
                    if (fij.rank >= 0) lw_unsupported(c, f->decl, "a pair force that is not a %d-vector", dim);
                    ok = 0;
                    break;
                }
                for (int k = 0; k < dim; k++) {
                    total[i * dim + k] = dag_binary(c->dag, X_ADD, total[i * dim + k], fij.el[k]);
                    if (antisymmetric) total[j * dim + k] = dag_binary(c->dag, X_SUB, total[j * dim + k], fij.el[k]);
                }
            }
    } else {
        tensor all = lw_lower_expr(c, f->decl->kids[1]);
        if (all.rank >= 0 && all.n != n * dim) lw_unsupported(c, f->decl, "a force that is not %d x %d", n, dim);
        if (all.rank < 0 || all.n != n * dim) ok = 0;
        else memcpy(total, all.el, sizeof(int) * (size_t)all.n);
    }
    tensor m = newton_mass(c);
    if (ok && m.rank >= 0 && m.n != 1 && m.n != n) {
        lw_unsupported(c, mass, "a mass that is neither a scalar nor one number per particle");
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
            tensor v = lw_lower_expr(c, k->kids[1]);
            if (v.rank < 0) ok = 0;
            for (int p = 0; ok && p < dl->n_parts; p++) {
                if (dl->parts[p].sym != s) continue;
                if (v.n != dl->parts[p].count && v.n != 1) {
                    lw_unsupported(c, k, "ddt(%s) of a different size than %s", s->name, s->name);
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
    int ph[LW_MAX_COORDS], grad[LW_MAX_COORDS], bad = 0;
    for (int k = 0; k < dl->n_state; k++) ph[k] = placeholder(c);
    if (!h || !bind_state_point(c, at, ph, 0)) return 0;
    tensor v = lw_need_scalar(c, at, value_of_symbol(c, at, h));
    c->n_bindings = saved;
    if (v.rank < 0) return 0;
    gradient_at(c, v.el[0], dl->n_state, ph, point, grad, &bad);
    for (int k = 0; k < dl->n_half; k++) {
        out[k] = grad[dl->n_half + k];
        out[dl->n_half + k] = dag_unary(c->dag, X_NEG, grad[k]);
    }
    if (bad) {
        lw_unsupported(c, at, "a Hamiltonian whose derivatives exceed order %d", DAG_MAX_ORDER);
        return 0;
    }
    return 1;
}

tensor lw_lower_ddt(lctx *c, const phys_node *at, const phys_symbol *state)
{
    int point[LW_MAX_COORDS], rhs[LW_MAX_COORDS];
    if (!c->dyn.decl || !c->term) return lw_unsupported(c, at, "ddt() here");
    if (c->dyn.no_point)
        return lw_unsupported(c, at, "ddt() of particles that run as a system (a state of more than %d numbers, "
                                     "several particle sets, cutoffs or a size known at run time)", LW_MAX_COORDS / 2);
    if (c->in_rhs) /* the dynamics would be defined through themselves */
        return lw_unsupported(c, at, "ddt(%s) inside the dynamics, a force or a Hamiltonian", state->name);
    if (!gather_state(c, at, point, 1) || !dyn_rhs(c, at, point, rhs)) return lw_failed();
    for (int p = 0; p < c->dyn.n_parts; p++)
        if (c->dyn.parts[p].sym == state && !c->dyn.parts[p].aux) return lw_shaped(state, rhs + c->dyn.parts[p].offset);
    return lw_unsupported(c, at, "ddt(%s): %s does not move under the dynamics", state->name, state->name);
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
    char *seen = lw_xcalloc((size_t)dag_size(c->dag), 1);
    int hit = 0;
    for (int i = 0; i < n && !hit; i++) hit = depends_on(c, nodes[i], lo, hi, seen);
    free(seen);
    return hit;
}

/* A pseudo-term over the state point: coordinates are the state's names. */
static lw_term *state_term(lctx *c, const char *name, int point[])
{
    lw_term *t = lw_xcalloc(1, sizeof *t);
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
    lw_add_residuals(t, r);
    lw_prune_term(c, t);
    c->term = NULL;
    c->n_bindings = 0;
}

/* The potential V of Newtonian dynamics under force F = -grad(V, r) (the
 * energy is then T + V), or NULL. */
static const phys_symbol *potential_of(lctx *c)
{
    const phys_node *force = phys_newton_arg(c->dyn.decl, 0);
    const phys_symbol *f = force && force->kind == N_NAME ? phys_sema_lookup(c->sema, force->name) : NULL;
    const phys_node *v = phys_sema_force_potential(c->sema, f);
    return v && v->kind == N_NAME ? phys_sema_lookup(c->sema, v->name) : NULL;
}

int lw_lower_dynamics(lctx *c, const phys_node *program)
{
    dyn_layout *dl = &c->dyn;
    lw_dynamics *dy = lw_xcalloc(1, sizeof *dy);
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
    if (dl->no_point) return 1; /* the system (lower_sets.c) simulates them */
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
        lw_add_residuals(dy->rhs, r);
    }
    r.n = 0;
    end_state_term(c, dy->rhs, r);

    const phys_symbol *v = NULL;
    if (dl->kind == PHYSM_DYN_HAMILTONIAN) v = phys_sema_lookup(c->sema, dl->decl->kids[0]->name);
    if (dl->kind == PHYSM_DYN_NEWTON) v = potential_of(c);
    if (v) {
        dy->energy = state_term(c, "energy", point);
        bind_state_point(c, dl->decl, point, 1);
        tensor e = lw_need_scalar(c, dl->decl, value_of_symbol(c, dl->decl, v));
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
int lw_lower_trajectory(lctx *c, lw_term *t, const phys_node *call, int n_cols, const int *col_of_name,
                            const phys_node *cols)
{
    dyn_layout *dl = &c->dyn;
    if (dl->no_point) {
        lw_unsupported(c, call, "trajectory(t) data of particles that run as a system (a state of more than "
                                "%d numbers, several particle sets, cutoffs or a size known at run time)",
                       LW_MAX_COORDS / 2);
        return 0;
    }
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
        lw_add_residuals(t, r);
    }
    return 1;
}

int lw_lower_simulation(lctx *c, const phys_node *d)
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
    sim->dt = lw_arg_or(c, call, "dt", 0.01);
    sim->steps = (long)lw_arg_or(c, call, "steps", 1000);
    sim->tolerance = lw_arg_or(c, call, "tolerance", 1e-12);
    sim->every = 1;
    if (d->kids[3]) {
        double every = 1;
        phys_sema_fold(c->sema, d->kids[3], &every);
        sim->every = (long)every;
    }
    const phys_node *start = d->kids[1];
    if (dl->no_point && start->kind != N_STRING) {
        lw_unsupported(c, start, "particle states given in place (start from an extxyz or CSV file)");
        return 0;
    }
    if (start->kind == N_STRING) {
        sim->start_file = start->name;
    } else {
        int n = dl->n_state + dl->n_aux;
        sim->start = lw_xcalloc((size_t)n, sizeof(double));
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
                if (part->sym->kind == SYM_ATTRIBUTE) lw_unsupported(c, start, "particle states given in place (start from a CSV file)");
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
                lw_unsupported(c, value, "this start value of %s (write a vector [a, b, ...])", part->sym->name);
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

