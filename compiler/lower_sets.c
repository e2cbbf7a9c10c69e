/* The lowering pass, index-set part: particles under Newtonian dynamics
 * become a particle system (lw_system, physm_system) of kernels, map/reduce
 * loops over index sets (the particles of a set, the pairs of a set, pairs
 * across two sets, pairs within a cutoff) whose bodies are scalar DAGs over
 * the values gathered for one item. Nothing is unrolled over particles: the
 * size of a set may be known only at run time.
 *
 * A kernel's body is lowered like any term, with its coordinates gathered
 * per item (r of particle i, q of particle j, the pair's image shift) and
 * its indices standing for the item's particles. The potential energy is a
 * scalar function V(S_0, S_1, ...) of the kernels' sums; the force -grad(V,
 * r) is, per kernel, -dV/dS_k times the derivative of the body with respect
 * to the gathered positions, scattered to the particles of the item (the
 * adjoint of a gather is a scatter-add, of a sum a broadcast of dV/dS_k).
 * A pair force s * unit(i, j) proved antisymmetric runs over each pair once
 * and adds with opposite signs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower_internal.h"
#include "physmodel.h"

/* X_INPUT leaves standing for a kernel's index of role 0 (i), 1 (j) or 2 (k):
 * bound to the index names, passed through lets, read by attr[i] and
 * dist(i, j); any other use is refused. */
enum { ROLE_BASE = 1 << 21 };

static int role_marker(lctx *c, int role)
{
    return dag_leaf(c->dag, X_INPUT, ROLE_BASE + role);
}

/* The role an index expression stands for in the current kernel, or -1. */
static int index_role(lctx *c, const phys_node *e)
{
    if (!c->kernel || e->kind != N_NAME || !lw_find_binding(c, e->name)) return -1;
    const tensor *t = lw_find_binding(c, e->name)->value;
    if (t->rank != 0 || t->n != 1) return -1;
    const dag_node *n = dag_at(c->dag, t->el[0]);
    if (n->op != X_INPUT || n->index < ROLE_BASE || n->index > ROLE_BASE + 2) return -1;
    return n->index - ROLE_BASE;
}

/* ------------------------------------------------------------- the sets */

const lw_particle_set *lw_set_of_symbol(const lw_system *s, const phys_symbol *sym, int *index)
{
    for (int k = 0; k < s->n_sets; k++)
        if (s->sets[k].sym == sym) {
            if (index) *index = k;
            return &s->sets[k];
        }
    return NULL;
}

static const lw_attribute *attribute_of_symbol(const lw_system *s, const phys_symbol *sym, int *set)
{
    for (int k = 0; k < s->n_sets; k++)
        for (int a = 0; a < s->sets[k].n_attributes; a++)
            if (s->sets[k].attributes[a].sym == sym) {
                if (set) *set = k;
                return &s->sets[k].attributes[a];
            }
    return NULL;
}

static int role_of(phys_role role)
{
    switch (role) {
    case PHYS_ROLE_POSITION: return PHYSM_ROLE_POSITION;
    case PHYS_ROLE_VELOCITY: return PHYSM_ROLE_VELOCITY;
    case PHYS_ROLE_MASS: return PHYSM_ROLE_MASS;
    case PHYS_ROLE_CHARGE: return PHYSM_ROLE_CHARGE;
    case PHYS_ROLE_SPECIES: return PHYSM_ROLE_SPECIES;
    default: return PHYSM_ROLE_NONE;
    }
}

/* The system record's sets, their attributes and roles, as the ABI lays
 * them out: attribute arrays numbered across the sets in order. */
static int collect_sets(lctx *c, lw_system *s)
{
    const phys_system *rec = phys_sema_system(c->sema);
    for (int k = 0; k < rec->n_sets; k++) {
        const phys_particle_set *ps = &rec->sets[k];
        lw_particle_set *set = &s->sets[s->n_sets++];
        set->name = ps->sym->name;
        set->sym = ps->sym;
        set->count = ps->count;
        set->position = set->velocity = -1;
        for (int a = 0; a < ps->n_attrs; a++) {
            lw_attribute *at = &set->attributes[set->n_attributes];
            at->name = ps->attrs[a]->name;
            at->sym = ps->attrs[a];
            at->width = ps->attrs[a]->shape.rank == 2 ? ps->attrs[a]->shape.dims[1] : 1;
            at->array = s->n_arrays++;
            at->role = role_of(ps->roles[a]);
            if (ps->attrs[a] == ps->position) set->position = set->n_attributes;
            if (ps->attrs[a] == ps->velocity) set->velocity = set->n_attributes;
            set->n_attributes++;
        }
        set->moves = set->position >= 0 && set->velocity >= 0;
    }
    for (int k = 0; k < s->n_sets; k++) {
        const lw_particle_set *set = &s->sets[k];
        if (set->position < 0) continue;
        int w = set->attributes[set->position].width;
        if (!s->dim) s->dim = w;
        if (w != s->dim) {
            lw_unsupported(c, set->sym->decl, "particle sets whose positions have different dimensions");
            return 0;
        }
    }
    if (!s->dim || s->dim > 3) {
        lw_unsupported(c, s->n_sets ? s->sets[0].sym->decl : c->dyn.decl,
                       "particles without a position of 1 to 3 numbers (a vector attribute such as r[3])");
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------- kernel bodies */

/* The coordinate of the current kernel holding (array, role, comp) or the
 * image shift's axis comp: found, or added when add is set (else -1). */
int lw_gather_leaf(lctx *c, int array, int role, int comp, int width, int shift, int add)
{
    lw_kernel *k = c->kernel;
    lw_term *t = k->term;
    for (int i = 0; i < t->n_coords; i++) {
        const lw_gather *g = &k->gathers[i];
        if (g->shift == shift && g->comp == comp && g->role == role && (shift || g->array == array))
            return dag_leaf(c->dag, X_COORD, i);
    }
    if (!add) return -1;
    if (t->n_coords == LW_MAX_COORDS) {
        lw_unsupported(c, c->sys->sets[0].sym->decl, "kernels reading more than %d numbers per item", LW_MAX_COORDS);
        return dag_const(c->dag, 0.0);
    }
    if (t->n_coords == k->cap_gathers) {
        k->cap_gathers = k->cap_gathers ? 2 * k->cap_gathers : 16;
        k->gathers = realloc(k->gathers, sizeof *k->gathers * (size_t)k->cap_gathers);
        if (!k->gathers) exit(70);
    }
    int i = t->n_coords++;
    k->gathers[i] = (lw_gather){array, role, comp, width, shift};
    char buf[160];
    if (shift) {
        snprintf(buf, sizeof buf, "shift_%s_%d", role == 1 ? "j" : "k", comp);
    } else {
        const char *name = "?";
        for (int s = 0; s < c->sys->n_sets; s++)
            for (int a = 0; a < c->sys->sets[s].n_attributes; a++)
                if (c->sys->sets[s].attributes[a].array == array) name = c->sys->sets[s].attributes[a].name;
        snprintf(buf, sizeof buf, "%s_%c_%d", name, "ijk"[role], comp);
    }
    t->coords[i] = phys_arena_strdup(c->sema->arena, buf, strlen(buf));
    return dag_leaf(c->dag, X_COORD, i);
}

static int role_set(const lw_kernel *k, int role)
{
    return role == 1 ? k->set_second : k->set_first; /* a triplet's three run over one set */
}

static int kernel_roles(const lw_kernel *k)
{
    return k->kind == PHYSM_ITEMS ? 1 : k->kind == PHYSM_TRIPLETS ? 3 : 2;
}

/* attr[i] where i is an index of the kernel. */
int lw_kernel_attribute(lctx *c, const phys_node *e, const tensor **out)
{
    const phys_node *base = e->kids[0];
    if (!c->kernel || base->kind != N_NAME || lw_find_binding(c, base->name)) return 0;
    const phys_symbol *sym = phys_sema_lookup(c->sema, base->name);
    int set;
    const lw_attribute *a = sym && sym->kind == SYM_ATTRIBUTE ? attribute_of_symbol(c->sys, sym, &set) : NULL;
    if (!a) return 0;
    int role = e->nkids == 2 ? index_role(c, e->kids[1]) : -1;
    if (role < 0) {
        *out = lw_unsupported(c, e, "%s[...] inside a sum over particles with an index that is not the sum's",
                              base->name);
        return 1;
    }
    if (role_set(c->kernel, role) != set) {
        phys_error(c->diag, e->loc, "%s belongs to the particles %s, but %s runs over %s", base->name,
                   c->sys->sets[set].name, e->kids[1]->name, c->sys->sets[role_set(c->kernel, role)].name);
        *out = NULL;
        return 1;
    }
    tensor *t = lw_tensor(c, e, a->width);
    *out = t;
    if (!t) return 1;
    t->rank = a->width > 1 || sym->shape.rank == 2;
    t->dims[0] = t->rank ? a->width : 0;
    for (int k = 0; k < a->width; k++) t->el[k] = lw_gather_leaf(c, a->array, role, k, a->width, 0, 1);
    return 1;
}

/* Axis x of the image of the item's particle of role r: its position,
 * plus the image shift for the neighbours (roles 1 and 2). */
static int image_position(lctx *c, int role, int x)
{
    const lw_particle_set *set = &c->sys->sets[role_set(c->kernel, role)];
    int r = lw_gather_leaf(c, set->attributes[set->position].array, role, x, c->sys->dim, 0, 1);
    if (role == 0 || c->kernel->kind == PHYSM_ITEMS) return r;
    return dag_binary(c->dag, X_ADD, r, lw_gather_leaf(c, 0, role, x, c->sys->dim, 1, 1));
}

/* r_a - r_b between the images of the item's particles of roles a and b. */
const tensor *lw_item_displacement(lctx *c, const phys_node *at, int a, int b)
{
    tensor *d = lw_tensor(c, at, c->sys->dim);
    if (!d) return NULL;
    d->rank = 1, d->dims[0] = c->sys->dim;
    for (int x = 0; x < c->sys->dim; x++)
        d->el[x] = dag_binary(c->dag, X_SUB, image_position(c, a, x), image_position(c, b, x));
    return d;
}

/* dist(i, j), disp(i, j), unit(i, j) of the kernel's two indices. */
int lw_kernel_geometry(lctx *c, const char *name, const phys_node *e, const tensor **out)
{
    if (!c->kernel || e->nkids != 3) return 0;
    int ri = index_role(c, e->kids[1]), rj = index_role(c, e->kids[2]);
    if (ri < 0 && rj < 0) return 0;
    int triplet = c->kernel->kind == PHYSM_TRIPLETS;
    if (ri < 0 || rj < 0 || ri == rj || (!triplet && (ri != 0 || rj != 1))) {
        *out = lw_unsupported(c, e, triplet ? "%s() inside sum_triplets other than of two of its indices"
                                            : "%s() inside a sum over particles other than %s(i, j) of the sum's "
                                              "indices in order", name, name);
        return 1;
    }
    const lw_particle_set *a = &c->sys->sets[role_set(c->kernel, ri)], *b = &c->sys->sets[role_set(c->kernel, rj)];
    if (a->position < 0 || b->position < 0) {
        *out = lw_unsupported(c, e, "%s() of particles without a position", name);
        return 1;
    }
    const tensor *d = lw_item_displacement(c, e, ri, rj);
    *out = d ? lw_pair_geometry(c, name, d) : NULL;
    return 1;
}

/* Does node depend on a role marker (an index used as a number)? */
static int uses_marker(lctx *c, int node, char *seen)
{
    if (node < 0 || seen[node]) return 0;
    seen[node] = 1;
    const dag_node *n = dag_at(c->dag, node);
    if (n->op == X_INPUT) return n->index >= ROLE_BASE && n->index <= ROLE_BASE + 2;
    if (n->op == X_STREAM) {
        const lw_probe *p = &c->kernel->term->probes[c->kernel->term->slots[n->index].probe];
        for (int i = 0; i < c->m->fields[p->field].n_inputs; i++)
            if (uses_marker(c, p->inputs[i], seen)) return 1;
        return 0;
    }
    if (n->op <= X_NET) return 0;
    return uses_marker(c, n->a, seen) || uses_marker(c, n->b, seen) || uses_marker(c, n->c, seen);
}

lw_kernel *lw_new_kernel(lctx *c, const char *name, int kind, int first, int second, double cutoff)
{
    lw_system *s = c->sys;
    s->kernels = realloc(s->kernels, sizeof *s->kernels * (size_t)(s->n_kernels + 1));
    if (!s->kernels) exit(70);
    lw_kernel *k = &s->kernels[s->n_kernels++];
    memset(k, 0, sizeof *k);
    k->name = name;
    k->kind = kind;
    k->set_first = first;
    k->set_second = second;
    k->cutoff = cutoff;
    k->sum = -1;
    k->sum_index = -1;
    k->term = lw_xcalloc(1, sizeof *k->term);
    k->term->name = name;
    return k;
}

const char *lw_located_name(lctx *c, const char *what, const phys_node *at)
{
    char buf[96];
    snprintf(buf, sizeof buf, "%s@%d", what, at->loc.first_line);
    return phys_arena_strdup(c->sema->arena, buf, strlen(buf));
}

/* The particle set an index runs over: `i in atoms`, or the one set that
 * moves when the index has no range; -1 when the range is not particles. */
static int binder_set(lctx *c, const phys_node *binder, const phys_node *range_override)
{
    int k = -1;
    const phys_symbol *resolved = phys_resolved_set(binder);
    if (resolved && lw_set_of_symbol(c->sys, resolved, &k)) return k;
    const phys_node *range = range_override ? range_override : binder->kids[0];
    if (!range) {
        for (int k = 0; k < c->sys->n_sets; k++)
            if (c->sys->n_sets == 1 || c->sys->sets[k].moves) return k;
        return -1;
    }
    if (!lw_is_particle_set(c, range)) return -1;
    lw_set_of_symbol(c->sys, phys_sema_lookup(c->sema, range->name), &k);
    return k;
}

static const phys_node *binder_cutoff(const phys_node *binder)
{
    return binder->nkids > 1 ? binder->kids[1] : NULL;
}

/* Lowers body as the per-item value of kernel k with its indices bound
 * to names[0], names[1]; the distance mask applies k->cutoff. */
static const tensor *lower_kernel_body(lctx *c, lw_kernel *k, const phys_node *at, const char *const *names, int n_names,
                                const phys_node *body)
{
    lw_term *saved_term = c->term;
    lw_kernel *saved_kernel = c->kernel;
    int saved_bindings = c->n_bindings, saved_prune = c->prune;
    c->term = k->term;
    c->kernel = k;
    c->prune = 0;
    const tensor *v = NULL;
    int ok = 1;
    for (int r = 0; r < n_names && ok; r++) ok = lw_bind(c, at, names[r], lw_scalar_of(c, role_marker(c, r)));
    if (ok) v = lw_lower_expr(c, body);
    if (v && k->cutoff > 0) {
        int rc = dag_const(c->dag, k->cutoff);
        int inside = dag_binary(c->dag, X_LT, lw_pair_geometry(c, "dist", lw_item_displacement(c, at, 0, 1))->el[0], rc);
        if (k->kind == PHYSM_TRIPLETS)
            inside = dag_binary(c->dag, X_AND, inside,
                                dag_binary(c->dag, X_LT, lw_pair_geometry(c, "dist", lw_item_displacement(c, at, 0, 2))->el[0], rc));
        tensor *masked = lw_tensor_copy(c, v);
        for (int x = 0; x < v->n; x++) masked->el[x] = dag_select(c->dag, inside, v->el[x], dag_const(c->dag, 0.0));
        v = masked;
    }
    if (v) {
        char *seen = lw_xcalloc((size_t)dag_size(c->dag), 1);
        int bad = 0;
        for (int x = 0; x < v->n && !bad; x++) bad = uses_marker(c, v->el[x], seen);
        free(seen);
        if (bad) v = lw_unsupported(c, body, "a particle index used as a number inside a sum over particles");
    }
    c->term = saved_term;
    c->kernel = saved_kernel;
    c->n_bindings = saved_bindings;
    c->prune = saved_prune;
    return v;
}

/* sum(i in atoms: ...), sum_pairs(i, j [within rc]: ...), sum(i in a, j in
 * b: ...) inside the system's energy: a kernel whose sum is coordinate
 * sum_index of the combine term. */
int lw_kernel_reduce(lctx *c, const phys_node *e, const tensor **out)
{
    if (!c->sys) return 0;
    int nb = e->nkids - 1;
    const phys_node *pair_range = NULL;
    if (e->op == 'p' && nb == 2) pair_range = e->kids[0]->kids[0] ? e->kids[0]->kids[0] : e->kids[1]->kids[0];
    for (int b = 0; e->op == 't' && b < nb && !pair_range; b++) pair_range = e->kids[b]->kids[0]; /* one range for all three */
    int sets[3] = {-1, -1, -1}, any = 0;
    for (int b = 0; b < nb && b < 3; b++) {
        sets[b] = binder_set(c, e->kids[b], pair_range);
        any |= sets[b] >= 0;
    }
    if (!any) return 0; /* a sum over numbers: unrolled as ever */
    if (c->kernel) {
        *out = lw_unsupported(c, e, "a sum over particles inside another sum over particles");
        return 1;
    }
    if (e->op == 'm') {
        *out = lw_unsupported(c, e, "a product over particles");
        return 1;
    }
    if (e->op == 't' && (nb != 3 || sets[0] < 0 || sets[1] != sets[0] || sets[2] != sets[0])) {
        *out = lw_unsupported(c, e, "sum_triplets(i, j, k within rc: ...) over other than three indices of one set");
        return 1;
    }
    if ((nb > 2 && e->op != 't') || sets[0] < 0 || (nb == 2 && sets[1] < 0)) {
        *out = lw_unsupported(c, e, "this sum over particles (sum(i: ...), sum_pairs(i, j: ...) or sum(i in a, j in b: ...))");
        return 1;
    }
    double cutoff = 0;
    const phys_node *rc = binder_cutoff(e->kids[nb - 1]);
    if (rc && !(phys_sema_fold(c->sema, rc, &cutoff) && cutoff > 0 && cutoff < HUGE_VAL)) {
        phys_error(c->diag, rc->loc, "the cutoff must be a constant > 0");
        *out = NULL;
        return 1;
    }
    int kind = PHYSM_ITEMS;
    if (e->op == 't') {
        if (!(cutoff > 0)) {
            phys_error(c->diag, e->loc, "sum_triplets needs a cutoff: sum_triplets(i, j, k within rc: ...)");
            *out = NULL;
            return 1;
        }
        kind = PHYSM_TRIPLETS;
    } else if (nb == 2) {
        if (e->op == 'p' && sets[0] == sets[1]) kind = PHYSM_PAIRS_HALF;
        else if (sets[0] != sets[1]) kind = PHYSM_PAIRS_CROSS;
        else if (cutoff > 0) kind = PHYSM_PAIRS_FULL;
        else {
            *out = lw_unsupported(c, e, "a double sum over one particle set without a cutoff (it would include i = j): "
                                        "write sum_pairs(i, j: ...) for each pair once");
            return 1;
        }
    } else if (rc) {
        phys_error(c->diag, rc->loc, "a cutoff needs a sum over pairs");
        *out = NULL;
        return 1;
    }
    lw_kernel *k = lw_new_kernel(c, lw_located_name(c, e->op == 'p' ? "sum_pairs" : e->op == 't' ? "sum_triplets" : "sum", e),
                              kind, sets[0], nb >= 2 ? sets[1] : sets[0], cutoff);
    int ki = c->sys->n_kernels - 1;
    const char *names[3] = {e->kids[0]->name, nb >= 2 ? e->kids[1]->name : NULL, nb == 3 ? e->kids[2]->name : NULL};
    const tensor *v = lw_need_scalar(c, e, lower_kernel_body(c, k, e, names, nb, e->kids[nb]));
    k = &c->sys->kernels[ki]; /* the array may have moved */
    if (!v) {
        *out = NULL;
        return 1;
    }
    k->sum = v->el[0];
    k->sum_index = c->sys->n_sums++;
    lw_term *comb = c->sys->combine;
    if (comb->n_coords == LW_MAX_COORDS) {
        *out = lw_unsupported(c, e, "more than %d sums over particles in one energy", LW_MAX_COORDS);
        return 1;
    }
    comb->coords[comb->n_coords++] = k->name;
    *out = lw_scalar_of(c, dag_leaf(c->dag, X_COORD, k->sum_index));
    return 1;
}

/* ------------------------------------------------------------ the system */

void lw_add_scatter(lw_kernel *k, int node, int set, int role, int comp)
{
    k->scatters = realloc(k->scatters, sizeof *k->scatters * (size_t)(k->n_scatters + 1));
    if (!k->scatters) exit(70);
    k->scatters[k->n_scatters++] = (lw_scatter){node, set, role, comp};
}

/* F = -grad(V, r): per kernel, -dV/dS_k d(body)/d(r of each moving
 * particle of the item). */
static int gradient_scatters(lctx *c, const phys_node *at, const int *seeds)
{
    lw_system *s = c->sys;
    int bad = 0;
    for (int ki = 0; ki < s->n_kernels; ki++) {
        lw_kernel *k = &s->kernels[ki];
        if (k->n_features) c->hooks->atomic_scatters(c, k, seeds[s->atomic->sum_index]);
        if (k->sum < 0) continue;
        c->kernel = k;
        c->term = k->term;
        for (int role = 0; role < kernel_roles(k); role++) {
            const lw_particle_set *set = &s->sets[role_set(k, role)];
            if (!set->moves) continue;
            int array = set->attributes[set->position].array;
            for (int x = 0; x < s->dim; x++) {
                int leaf = lw_gather_leaf(c, array, role, x, s->dim, 0, 0);
                if (leaf < 0) continue;
                int d = lw_total_diff(c, k->sum, leaf, &bad);
                if (dag_is_const(c->dag, d, 0.0)) continue;
                int f = dag_unary(c->dag, X_NEG, dag_binary(c->dag, X_MUL, seeds[k->sum_index], d));
                lw_add_scatter(k, f, role_set(k, role), role, x);
            }
        }
    }
    c->kernel = NULL;
    c->term = NULL;
    if (bad) {
        lw_unsupported(c, at, "forces from a potential whose derivatives exceed order %d", DAG_MAX_ORDER);
        return 0;
    }
    return 1;
}

typedef struct {
    lctx *c;
    lw_kernel *k;
} hvp_ctx;

/* The tangent of a gathered leaf: a position's is u of its particle and
 * axis, an atomic network's seed dE_i/dG_i has its own tangent array. */
static int hvp_leaf(void *ctx, const dag_node *leaf)
{
    hvp_ctx *h = ctx;
    lctx *c = h->c;
    const lw_system *s = c->sys;
    if (leaf->op != X_COORD) return dag_const(c->dag, 0.0);
    const lw_gather g = h->k->gathers[leaf->index];
    if (g.shift) return dag_const(c->dag, 0.0);
    if (s->atomic && g.array == s->atomic->seed_array)
        return lw_gather_leaf(c, s->hvp_seed_array, g.role, g.comp, g.width, 0, 1);
    const lw_particle_set *set = &s->sets[role_set(h->k, g.role)];
    if (set->position < 0 || g.array != set->attributes[set->position].array) return dag_const(c->dag, 0.0);
    return lw_gather_leaf(c, s->hvp_tangent_array, g.role, g.comp, s->dim, 0, 1);
}

/* Hessian-vector products: each force scatter differentiated along the
 * tangents (forward mode on the DAGs). Not for kernels with probes (their
 * streams' derivatives are other streams) nor seeds that vary. */
static void hvp_scatters(lctx *c)
{
    lw_system *s = c->sys;
    s->hvp_tangent_array = s->hvp_seed_array = -1;
    if (s->seeds_needed) return;
    for (int ki = 0; ki < s->n_kernels; ki++)
        if (s->kernels[ki].term->n_probes) return;
    s->hvp_tangent_array = s->atomic ? s->atomic->tangent_array : s->n_arrays++;
    if (s->atomic) s->hvp_seed_array = s->n_arrays++;
    for (int ki = 0; ki < s->n_kernels; ki++) {
        lw_kernel *k = &s->kernels[ki];
        c->kernel = k;
        c->term = k->term;
        k->hvp = lw_xcalloc((size_t)k->n_scatters + 1, sizeof(int));
        hvp_ctx h = {c, k};
        for (int i = 0; i < k->n_scatters; i++) k->hvp[i] = dag_diff_by(c->dag, k->scatters[i].node, hvp_leaf, &h);
    }
    c->kernel = NULL;
    c->term = NULL;
}

/* Each kernel's virial: sum over its scatters of the image position's axis
 * a times the force's axis b (the stress of a periodic cell, ASE's
 * -virial / volume, comes from it). Translation-invariant bodies give
 * forces that add to zero per item, so the origin does not matter. */
static void virial_nodes(lctx *c)
{
    lw_system *s = c->sys;
    const int dim = s->dim;
    for (int ki = 0; ki < s->n_kernels; ki++) {
        lw_kernel *k = &s->kernels[ki];
        if (!k->n_scatters) continue;
        c->kernel = k;
        c->term = k->term;
        k->virial = lw_xcalloc((size_t)(dim * dim), sizeof(int));
        k->n_virial = dim * dim;
        for (int q = 0; q < dim * dim; q++) k->virial[q] = dag_const(c->dag, 0.0);
        for (int i = 0; i < k->n_scatters; i++) {
            const lw_scatter *sc = &k->scatters[i];
            for (int a = 0; a < dim; a++) {
                int x = image_position(c, sc->role, a);
                int *v = &k->virial[a * dim + sc->comp];
                *v = dag_binary(c->dag, X_ADD, *v, dag_binary(c->dag, X_MUL, x, sc->node));
            }
        }
    }
    c->kernel = NULL;
    c->term = NULL;
}

/* force F(i, j) [within rc] = body: one kernel over the pairs of the moving
 * set; antisymmetric ones over each pair once, applied with both signs. */
static int pair_force_kernel(lctx *c, const phys_symbol *f, int set)
{
    const phys_node *pair = f->decl->kids[0];
    const phys_node *rc = f->decl->nkids > 2 ? f->decl->kids[2] : NULL;
    double cutoff = 0;
    if (rc && !(phys_sema_fold(c->sema, rc, &cutoff) && cutoff > 0 && cutoff < HUGE_VAL)) {
        phys_error(c->diag, rc->loc, "the cutoff must be a constant > 0");
        return 0;
    }
    int antisymmetric = phys_sema_pair_force_antisymmetric(f);
    char buf[96];
    snprintf(buf, sizeof buf, "force %s", f->name);
    lw_kernel *k = lw_new_kernel(c, phys_arena_strdup(c->sema->arena, buf, strlen(buf)),
                              antisymmetric ? PHYSM_PAIRS_HALF : PHYSM_PAIRS_FULL, set, set, cutoff);
    int ki = c->sys->n_kernels - 1;
    const char *names[2] = {pair->kids[0]->name, pair->kids[1]->name};
    const tensor *v = lower_kernel_body(c, k, f->decl, names, 2, f->decl->kids[1]);
    k = &c->sys->kernels[ki];
    if (!v) return 0;
    if (v->n != c->sys->dim) {
        lw_unsupported(c, f->decl, "a pair force that is not a %d-vector", c->sys->dim);
        return 0;
    }
    for (int x = 0; x < v->n; x++) {
        lw_add_scatter(k, v->el[x], set, 0, x);
        if (antisymmetric) lw_add_scatter(k, dag_unary(c->dag, X_NEG, v->el[x]), set, 1, x);
    }
    return 1;
}

/* The kernel's nodes (its sum, then its scatters) as the residuals of its
 * term, pruned of probes nothing reads, and back. */
static void finish_kernel(lctx *c, lw_kernel *k)
{
    lw_term *t = k->term;
    free(t->residuals);
    const int n_virial = k->virial ? k->n_virial : 0;
    t->n_residuals = (k->sum >= 0) + k->n_scatters * (k->hvp ? 2 : 1) + 2 * k->n_features + k->n_jacobian + n_virial;
    t->residuals = lw_xcalloc((size_t)t->n_residuals + 1, sizeof(int));
    int r = 0;
    if (k->sum >= 0) t->residuals[r++] = k->sum;
    for (int s = 0; s < k->n_scatters; s++) t->residuals[r++] = k->scatters[s].node;
    for (int f = 0; f < k->n_features; f++) t->residuals[r++] = k->features[f], t->residuals[r++] = k->tangents[f];
    for (int q = 0; q < k->n_jacobian; q++) t->residuals[r++] = k->jacobian[q];
    for (int s = 0; k->hvp && s < k->n_scatters; s++) t->residuals[r++] = k->hvp[s];
    for (int q = 0; q < n_virial; q++) t->residuals[r++] = k->virial[q];
    c->prune = 1;
    lw_prune_term(c, t);
    r = 0;
    if (k->sum >= 0) k->sum = t->residuals[r++];
    for (int s = 0; s < k->n_scatters; s++) k->scatters[s].node = t->residuals[r++];
    for (int f = 0; f < k->n_features; f++) k->features[f] = t->residuals[r++], k->tangents[f] = t->residuals[r++];
    for (int q = 0; q < k->n_jacobian; q++) k->jacobian[q] = t->residuals[r++];
    for (int s = 0; k->hvp && s < k->n_scatters; s++) k->hvp[s] = t->residuals[r++];
    for (int q = 0; q < n_virial; q++) k->virial[q] = t->residuals[r++];
}

int lw_lower_system(lctx *c)
{
    const phys_node *d = c->dyn.decl;
    if (!d || c->dyn.kind != PHYSM_DYN_NEWTON) return 1;
    lw_system *s = lw_xcalloc(1, sizeof *s);
    c->m->system = s;
    c->sys = s;
    if (!collect_sets(c, s)) {
        c->sys = NULL;
        return 0;
    }
    int moving = -1;
    for (int k = 0; k < s->n_sets && moving < 0; k++)
        if (s->sets[k].moves) moving = k;
    if (moving < 0) {
        lw_unsupported(c, d, "Newtonian dynamics without a particle set that has a position and a velocity");
        c->sys = NULL;
        return 0;
    }
    const phys_node *force = phys_newton_arg(d, 0), *mass = phys_newton_arg(d, 1);
    const phys_symbol *f = force && force->kind == N_NAME ? phys_sema_lookup(c->sema, force->name) : NULL;
    if (!f || f->kind != SYM_FORCE) {
        lw_unsupported(c, d, "Newtonian dynamics without a declared force");
        c->sys = NULL;
        return 0;
    }
    s->mass = 1.0;
    if (mass && !phys_sema_fold(c->sema, mass, &s->mass)) {
        const phys_symbol *m = mass->kind == N_NAME ? phys_sema_lookup(c->sema, mass->name) : NULL;
        int set = -1;
        lw_attribute *a = m && m->kind == SYM_ATTRIBUTE ? (lw_attribute *)attribute_of_symbol(s, m, &set) : NULL;
        if (!a || a->width != 1 || set != moving) {
            lw_unsupported(c, mass, "a mass that is neither a constant nor a scalar attribute of the moving particles");
            c->sys = NULL;
            return 0;
        }
        a->role = PHYSM_ROLE_MASS;
        s->mass = 0;
    }
    s->combine = lw_xcalloc(1, sizeof *s->combine);
    s->combine->name = "potential";
    s->hvp_tangent_array = s->hvp_seed_array = -1;
    int ok = 1;
    const phys_node *v = phys_sema_force_potential(c->sema, f);
    if (f->decl->kids[0]) {
        ok = pair_force_kernel(c, f, moving);
        phys_lower_free_term(s->combine);
        s->combine = NULL;
    } else if (v && v->kind == N_NAME) {
        const phys_symbol *vs = phys_sema_lookup(c->sema, v->name);
        c->term = s->combine;
        c->n_bindings = 0;
        const tensor *e = lw_need_scalar(c, v, vs->kind == SYM_ENERGY || vs->kind == SYM_LET
                                            ? lw_lower_expr(c, vs->decl->kids[1])
                                            : lw_unsupported(c, v, "the potential %s: an energy or a let", v->name));
        c->term = NULL;
        if (!e) {
            c->sys = NULL;
            return 0;
        }
        /* V and dV/dS_k; constant seeds fold into the force kernels */
        int seeds[LW_MAX_COORDS], bad = 0;
        lw_term *comb = s->combine;
        free(comb->residuals);
        comb->n_residuals = 1 + s->n_sums;
        comb->residuals = lw_xcalloc((size_t)comb->n_residuals, sizeof(int));
        comb->residuals[0] = e->el[0];
        c->term = comb;
        for (int k = 0; k < s->n_sums; k++) {
            int dv = lw_total_diff(c, e->el[0], dag_leaf(c->dag, X_COORD, k), &bad);
            comb->residuals[1 + k] = dv;
            seeds[k] = dv;
            if (dag_at(c->dag, dv)->op != X_CONST) s->seeds_needed = 1;
        }
        if (s->seeds_needed)
            for (int k = 0; k < s->n_sums; k++) seeds[k] = dag_leaf(c->dag, X_SEED, k);
        c->term = NULL;
        ok = !bad && gradient_scatters(c, v, seeds);
        if (ok) hvp_scatters(c);
    } else {
        lw_unsupported(c, f->decl, "this force on particles (a pair force F(i, j) = ..., or -grad(V, r))");
        ok = 0;
    }
    if (ok) virial_nodes(c);
    c->sys = NULL;
    c->kernel = NULL;
    c->term = NULL;
    c->n_bindings = 0;
    for (int k = 0; ok && k < s->n_kernels; k++) finish_kernel(c, &s->kernels[k]);
    return ok;
}

void lw_free_system(lw_system *s)
{
    if (!s) return;
    for (int k = 0; k < s->n_kernels; k++) {
        phys_lower_free_term(s->kernels[k].term);
        free(s->kernels[k].gathers);
        free(s->kernels[k].scatters);
        free(s->kernels[k].features);
        free(s->kernels[k].tangents);
        free(s->kernels[k].jacobian);
        free(s->kernels[k].hvp);
        free(s->kernels[k].virial);
    }
    free(s->atomic);
    free(s->kernels);
    phys_lower_free_term(s->combine);
    free(s);
}
