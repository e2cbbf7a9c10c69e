/* The lowering pass, dynamics layer (see lower_internal.h for the layers):
 * states, particles and their equations of motion (the rhs, energy and
 * momentum pseudo-terms of physm_dynamics), ddt(), trajectory(t) data and
 * simulate declarations. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "lower_internal.h"
#include "physmodel.h"

/* -------------------------------------------------------------- dynamics */

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
        dl->n_particles = lw_particle_count(c);
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
        if (!lw_bind(c, at, p->sym->name, lw_shaped(c, at, p->sym, point + p->offset))) return 0;
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
        if (!b || b->value->n != p->count) {
            phys_error(c->diag, at->loc, "the dynamics need the value of %s here: list %s among the data columns",
                       p->sym->name, p->sym->name);
            return 0;
        }
        memcpy(point + p->offset, b->value->el, sizeof(int) * (size_t)p->count);
    }
    return 1;
}


static const tensor *newton_mass(lctx *c)
{
    const phys_node *mass = phys_newton_arg(c->dyn.decl, 1);
    return mass ? lw_lower_expr(c, mass) : lw_scalar_of(c, dag_const(c->dag, 1.0));
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
                lw_bind(c, at, pair->kids[0]->name, lw_scalar_of(c, dag_const(c->dag, i)));
                lw_bind(c, at, pair->kids[1]->name, lw_scalar_of(c, dag_const(c->dag, j)));
                const tensor *fij = lw_lower_expr(c, f->decl->kids[1]);
                c->n_bindings = inner;
                if (!fij || fij->n != dim) {
                    if (fij) lw_unsupported(c, f->decl, "a pair force that is not a %d-vector", dim);
                    ok = 0;
                    break;
                }
                for (int k = 0; k < dim; k++) {
                    total[i * dim + k] = dag_binary(c->dag, X_ADD, total[i * dim + k], fij->el[k]);
                    if (antisymmetric) total[j * dim + k] = dag_binary(c->dag, X_SUB, total[j * dim + k], fij->el[k]);
                }
            }
    } else {
        const tensor *all = lw_lower_expr(c, f->decl->kids[1]);
        if (all && all->n != n * dim) lw_unsupported(c, f->decl, "a force that is not %d x %d", n, dim);
        if (!all || all->n != n * dim) ok = 0;
        else memcpy(total, all->el, sizeof(int) * (size_t)all->n);
    }
    const tensor *m = newton_mass(c);
    if (ok && m && m->n != 1 && m->n != n) {
        lw_unsupported(c, mass, "a mass that is neither a scalar nor one number per particle");
        ok = 0;
    }
    if (!m) ok = 0;
    for (int i = 0; i < n && ok; i++)
        for (int k = 0; k < dim; k++)
            acc[i * dim + k] = dag_binary(c->dag, X_DIV, total[i * dim + k], m->el[m->n == 1 ? 0 : i]);
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
            const tensor *v = lw_lower_expr(c, k->kids[1]);
            if (!v) ok = 0;
            for (int p = 0; ok && p < dl->n_parts; p++) {
                if (dl->parts[p].sym != s) continue;
                if (v->n != dl->parts[p].count && v->n != 1) {
                    lw_unsupported(c, k, "ddt(%s) of a different size than %s", s->name, s->name);
                    ok = 0;
                    break;
                }
                for (int j = 0; j < dl->parts[p].count; j++) out[dl->parts[p].offset + j] = v->el[v->n == 1 ? 0 : j];
            }
        }
        c->n_bindings = saved;
        return ok;
    }
    /* Hamiltonian: dq/dt = dH/dp, dp/dt = -dH/dq */
    const phys_symbol *h = phys_sema_lookup(c->sema, dl->decl->kids[0]->name);
    int ph[LW_MAX_COORDS], grad[LW_MAX_COORDS], bad = 0;
    for (int k = 0; k < dl->n_state; k++) ph[k] = lw_placeholder(c);
    if (!h || !bind_state_point(c, at, ph, 0)) return 0;
    const tensor *v = lw_need_scalar(c, at, lw_value_of_symbol(c, at, h));
    c->n_bindings = saved;
    if (!v) return 0;
    lw_gradient_at(c, v->el[0], dl->n_state, ph, point, grad, &bad);
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

const tensor *lw_lower_ddt(lctx *c, const phys_node *at, const phys_symbol *state)
{
    int point[LW_MAX_COORDS], rhs[LW_MAX_COORDS];
    if (!c->dyn.decl || !c->term) return lw_unsupported(c, at, "ddt() here");
    if (c->dyn.no_point)
        return lw_unsupported(c, at, "ddt() of particles that run as a system (a state of more than %d numbers, "
                                     "several particle sets, cutoffs or a size known at run time)", LW_MAX_COORDS / 2);
    if (c->in_rhs) /* the dynamics would be defined through themselves */
        return lw_unsupported(c, at, "ddt(%s) inside the dynamics, a force or a Hamiltonian", state->name);
    if (!gather_state(c, at, point, 1) || !dyn_rhs(c, at, point, rhs)) return NULL;
    for (int p = 0; p < c->dyn.n_parts; p++)
        if (c->dyn.parts[p].sym == state && !c->dyn.parts[p].aux) return lw_shaped(c, at, state, rhs + c->dyn.parts[p].offset);
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

static void end_state_term(lctx *c, lw_term *t, const int *nodes, int n)
{
    lw_add_nodes(t, nodes, n);
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

    dy->rhs = state_term(c, "dynamics", point);
    if (!dyn_rhs(c, dl->decl, point, rhs)) return 0;
    if (dl->kind == PHYSM_DYN_NEWTON) {
        dy->separable = !any_depends_on(c, rhs + dl->n_half, dl->n_half, dl->n_half, dl->n_state);
    } else if (dl->kind == PHYSM_DYN_HAMILTONIAN) {
        dy->separable = !any_depends_on(c, rhs, dl->n_half, 0, dl->n_half) &&
                        !any_depends_on(c, rhs + dl->n_half, dl->n_half, dl->n_half, dl->n_state);
    }
    end_state_term(c, dy->rhs, rhs, dl->n_state);

    const phys_symbol *v = NULL;
    if (dl->kind == PHYSM_DYN_HAMILTONIAN) v = phys_sema_lookup(c->sema, dl->decl->kids[0]->name);
    if (dl->kind == PHYSM_DYN_NEWTON) v = potential_of(c);
    if (v) {
        dy->energy = state_term(c, "energy", point);
        bind_state_point(c, dl->decl, point, 1);
        const tensor *e = lw_need_scalar(c, dl->decl, lw_value_of_symbol(c, dl->decl, v));
        if (!e) return 0;
        int energy = e->el[0];
        if (dl->kind == PHYSM_DYN_NEWTON) { /* + kinetic energy */
            const tensor *m = newton_mass(c);
            if (!m) return 0;
            for (int i = 0; i < dl->n_particles; i++) {
                int v2 = dag_const(c->dag, 0.0);
                for (int k = 0; k < dl->dim; k++) {
                    int vk = point[dl->n_half + i * dl->dim + k];
                    v2 = dag_binary(c->dag, X_ADD, v2, dag_binary(c->dag, X_MUL, vk, vk));
                }
                int half_m = dag_binary(c->dag, X_MUL, dag_const(c->dag, 0.5), m->el[m->n == 1 ? 0 : i]);
                energy = dag_binary(c->dag, X_ADD, energy, dag_binary(c->dag, X_MUL, half_m, v2));
            }
        }
        end_state_term(c, dy->energy, &energy, 1);
    }
    if (dl->kind == PHYSM_DYN_NEWTON) {
        dy->momentum = state_term(c, "momentum", point);
        bind_state_point(c, dl->decl, point, 1);
        const tensor *m = newton_mass(c);
        if (!m) return 0;
        int pm[LW_MAX_COORDS + 1]; /* total momentum, then sum |m| |v| */
        for (int k = 0; k <= dl->dim; k++) pm[k] = dag_const(c->dag, 0.0);
        for (int i = 0; i < dl->n_particles; i++) {
            int mi = m->el[m->n == 1 ? 0 : i], v2 = dag_const(c->dag, 0.0);
            for (int k = 0; k < dl->dim; k++) {
                int vk = point[dl->n_half + i * dl->dim + k];
                pm[k] = dag_binary(c->dag, X_ADD, pm[k], dag_binary(c->dag, X_MUL, mi, vk));
                v2 = dag_binary(c->dag, X_ADD, v2, dag_binary(c->dag, X_MUL, vk, vk));
            }
            pm[dl->dim] = dag_binary(c->dag, X_ADD, pm[dl->dim],
                                     dag_binary(c->dag, X_MUL, dag_unary(c->dag, X_ABS, mi), dag_unary(c->dag, X_SQRT, v2)));
        }
        end_state_term(c, dy->momentum, pm, dl->dim + 1);
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
    lw_add_nodes(t, res, dl->n_state);
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
    const int id = phys_resolved_builtin(call->kind == N_CALL ? call->kids[0] : call);
    sim->integrator = id == B_ID_MIDPOINT ? PHYSM_INT_MIDPOINT
                      : id == B_ID_RK4      ? PHYSM_INT_RK4
                      : id == B_ID_LANGEVIN ? PHYSM_INT_LANGEVIN
                                            : PHYSM_INT_LEAPFROG;
    if (sim->integrator == PHYSM_INT_LANGEVIN) {
        if (dl->kind != PHYSM_DYN_NEWTON) {
            lw_unsupported(c, call, "langevin of other than particles under Newtonian dynamics "
                                    "(dynamics newton(F, mass = m))");
            return 0;
        }
        /* temperature in kelvin for energies in eV, or kT itself */
        sim->kT = phys_node_named_arg(call, "kT") ? lw_arg_or(c, call, "kT", 0)
                                                  : PHYSM_BOLTZMANN_EV_PER_K * lw_arg_or(c, call, "temperature", 0);
        sim->damping = lw_arg_or(c, call, "damping", 100 * lw_arg_or(c, call, "dt", 0.01));
        sim->seed = (long)lw_arg_or(c, call, "seed", 1);
    }
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
