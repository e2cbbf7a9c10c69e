/* The resolved AST and the system record: small models checked through the
 * front end's API; every name and call must carry what it resolved to (a
 * built-in's id, a declaration, a binding) and the particle sets their
 * roles. Also the built-in table itself: indexed by id, folding by id. */
#include "check.h"
#include "sema.h"

#include <math.h>
#include <string.h>

/* The first node of `kind` named `name` (for a call: its callee's name) in
 * a depth-first walk, or NULL. */
static const phys_node *find(const phys_node *n, phys_node_kind kind, const char *name)
{
    if (!n) return NULL;
    if (n->kind == kind) {
        const char *nn = kind == N_CALL ? n->kids[0]->name : n->name;
        if (nn && !strcmp(nn, name)) return n;
    }
    for (int i = 0; i < n->nkids; i++) {
        const phys_node *r = find(n->kids[i], kind, name);
        if (r) return r;
    }
    return NULL;
}

static const phys_node *decl_named(const phys_node *program, phys_node_kind kind, const char *name)
{
    for (int i = 0; i < program->nkids; i++)
        if (program->kids[i]->kind == kind && program->kids[i]->name && !strcmp(program->kids[i]->name, name))
            return program->kids[i];
    return NULL;
}

typedef struct {
    phys_diag diag;
    phys_source *src;
    phys_parse parse;
    phys_sema *sema;
} checked;

static int check_text(checked *m, const char *name, const char *text)
{
    phys_diag_init(&m->diag, stderr);
    m->src = phys_source_from_text(name, text, strlen(text));
    if (phys_parse_source(m->src, &m->diag, &m->parse) != 0) return -1;
    m->sema = phys_sema_create(&m->diag);
    return phys_sema_check(m->sema, m->parse.program);
}

static void release(checked *m)
{
    phys_sema_destroy(m->sema);
    phys_parse_free(&m->parse);
    phys_source_free(m->src);
}

static void test_table(void)
{
    for (int id = 1; id < B_ID_COUNT; id++) {
        const phys_builtin *b = phys_builtin_of((phys_builtin_id)id);
        CHECK(b && (int)b->id == id, "row %d holds id %d", id, b ? (int)b->id : -1);
        CHECK(phys_builtin_at(id - 1) == b, "iteration order is id order at %d", id);
    }
    CHECK(phys_builtin_of(B_ID_NONE) == NULL && phys_builtin_of(B_ID_COUNT) == NULL, "no row outside the ids");
    const phys_builtin *s = phys_builtin_find("sin", B_MATH), *act = phys_builtin_find("sin", B_ACTIVATION);
    CHECK(s && s->id == B_ID_SIN && s->op == X_SIN && s->fold(0.5, 0) == sin(0.5), "sin: id, op, fold");
    CHECK(act && act->id == B_ID_ACT_SIN && !act->fold, "sin the activation is another row");
    CHECK(phys_builtin_of(B_ID_PI)->fold(0, 0) == 3.14159265358979323846, "pi folds");
    CHECK(phys_builtin_of(B_ID_ATAN2)->fold(1, -1) == atan2(1, -1), "atan2 folds with two arguments");
    CHECK(phys_builtin_of(B_ID_UNIT)->op == X_OP_COUNT, "unit has lowering of its own");
}

static const char *const particles_model =
    "model a\n"
    "const e = 2\n"
    "const c0 = e * 3 + pi\n"
    "particles atoms[4] with position r[3], velocity v[3], mass m, charge q\n"
    "particles walls with r_w[3]\n"
    "field f(x) = mlp(hidden = [8])\n"
    "let g(x) = sin(x) + x\n"
    "force F(i, j) within 2.5 = f(dist(i, j)) * unit(i, j)\n"
    "dynamics newton(F, mass = m)\n"
    "energy W(atoms) = sum(i in atoms, k in walls within 3: g(dist(i, k)))\n"
    "let P = sum_pairs(i, j in atoms within 2.5: q[i] * q[j] / dist(i, j))\n"
    "conserve momentum\n";

static void test_particles(void)
{
    checked m;
    CHECK(check_text(&m, "a.phys", particles_model) == 0, "the model checks");
    const phys_node *prog = m.parse.program;
    const phys_symbol *atoms = phys_sema_lookup(m.sema, "atoms"), *walls = phys_sema_lookup(m.sema, "walls");

    double c0 = 0;
    CHECK(phys_sema_fold(m.sema, decl_named(prog, N_CONST, "c0")->kids[1], &c0) && c0 == 6 + 3.14159265358979323846,
          "a user's const e is honoured: c0 = %.17g", c0);
    const phys_node *e_use = find(decl_named(prog, N_CONST, "c0"), N_NAME, "e");
    CHECK(phys_resolved_symbol(e_use) == phys_sema_lookup(m.sema, "e"), "e resolves to the user's const");
    CHECK(phys_resolved_builtin(find(decl_named(prog, N_CONST, "c0"), N_NAME, "pi")) == B_ID_PI, "pi is the built-in");

    const phys_node *force = decl_named(prog, N_FORCE, "F");
    CHECK(force->nkids == 3 && force->kids[2] && force->kids[2]->number == 2.5, "the force's cutoff is its third kid");
    const phys_node *unit = find(force, N_CALL, "unit"), *dist = find(force, N_CALL, "dist");
    CHECK(phys_resolved_builtin(unit) == B_ID_UNIT && phys_resolved_builtin(dist) == B_ID_DIST, "unit and dist by id");
    CHECK(unit->res.has_shape && unit->res.shape.rank == 1 && unit->res.shape.dims[0] == 3, "unit(i, j) is a 3-vector");
    CHECK(phys_resolved_symbol(find(force, N_CALL, "f")) == phys_sema_lookup(m.sema, "f"), "f is the field");
    const phys_node *fi = force->kids[0]->kids[0], *fj = force->kids[0]->kids[1];
    CHECK(phys_resolved_binding(unit->kids[1]) == fi && phys_resolved_binding(unit->kids[2]) == fj,
          "unit's i and j are bound by the force's formals");
    CHECK(phys_resolved_set(fi) == atoms && phys_resolved_set(unit->kids[1]) == atoms, "the pair runs over atoms");
    CHECK(phys_sema_pair_force_antisymmetric(phys_sema_lookup(m.sema, "F")), "F is antisymmetric by construction");

    const phys_node *w = decl_named(prog, N_ENERGY, "W")->kids[1];
    CHECK(w->kind == N_REDUCE && w->nkids == 3, "W is a sum of two binders");
    const phys_node *bi = w->kids[0], *bk = w->kids[1];
    CHECK(phys_resolved_set(bi) == atoms && phys_resolved_set(bk) == walls, "binders over atoms and walls");
    CHECK(bi->nkids == 2 && !bi->kids[1] && bk->kids[1] && bk->kids[1]->number == 3, "the last binder has the cutoff");
    const phys_node *cross = find(w, N_CALL, "dist");
    CHECK(phys_resolved_binding(cross->kids[1]) == bi && phys_resolved_binding(cross->kids[2]) == bk,
          "dist(i, k) across sets names both binders");
    const phys_node *g = decl_named(prog, N_LET, "g");
    CHECK(phys_resolved_builtin(find(g, N_CALL, "sin")) == B_ID_SIN, "sin by id");
    const phys_node *x = find(g->kids[1], N_NAME, "x");
    CHECK(x->res.kind == PHYS_RESOLVED_LOCAL && x->res.local == PHYS_LOCAL_FORMAL && phys_resolved_binding(x) == g->kids[0]->kids[0],
          "x is g's formal");

    const phys_system *sys = phys_sema_system(m.sema);
    CHECK(sys->n_sets == 2, "two sets, got %d", sys->n_sets);
    const phys_particle_set *a = &sys->sets[0], *b = &sys->sets[1];
    CHECK(a->sym == atoms && a->count == 4 && a->n_attrs == 4, "atoms: 4 particles, 4 attributes");
    CHECK(a->position == phys_sema_lookup(m.sema, "r") && a->velocity == phys_sema_lookup(m.sema, "v") &&
          a->mass == phys_sema_lookup(m.sema, "m") && a->charge == phys_sema_lookup(m.sema, "q") && !a->species,
          "atoms' explicit roles");
    CHECK(a->roles[0] == PHYS_ROLE_POSITION && a->roles[3] == PHYS_ROLE_CHARGE, "roles in declaration order");
    CHECK(b->sym == walls && b->count == -1 && b->position == phys_sema_lookup(m.sema, "r_w") && !b->velocity,
          "walls: sized at run time, a position by default, no velocity");
    CHECK(b->position->shape.rank == 2 && b->position->shape.dims[0] == -1 && b->position->shape.dims[1] == 3,
          "r_w is N x 3 with N = -1");
    CHECK(phys_sema_position_attribute(m.sema) == a->position, "the position attribute is the first set's");
    release(&m);
}

/* Default roles, and newton(mass = m) naming the mass. */
static void test_default_roles(void)
{
    checked m;
    CHECK(check_text(&m, "b.phys",
                     "model b\n"
                     "particles p[2] with r[2], v[2], m\n"
                     "field f(x) = mlp(hidden = [8])\n"
                     "force F(i, j) = f(dist(i, j)) * unit(i, j)\n"
                     "dynamics newton(F, mass = m)\n") == 0,
          "the model checks");
    const phys_particle_set *p = &phys_sema_system(m.sema)->sets[0];
    CHECK(p->position == phys_sema_lookup(m.sema, "r") && p->velocity == phys_sema_lookup(m.sema, "v") &&
          p->mass == phys_sema_lookup(m.sema, "m"), "r, v by the default rule; m by newton()");
    CHECK(p->roles[2] == PHYS_ROLE_MASS, "m's role is the mass");
    release(&m);
}

static void test_imports(void)
{
    checked m;
    CHECK(check_text(&m, "c.phys",
                     "model c\n"
                     "import potentials (lennard_jones)\n"
                     "let u(r) = lennard_jones(r, 1, 1) * potentials.switch(r, 1, 2)\n") == 0,
          "the model checks");
    const phys_node *u = decl_named(m.parse.program, N_LET, "u");
    const phys_symbol *lj = phys_resolved_symbol(find(u, N_CALL, "lennard_jones"));
    const phys_symbol *sw = phys_resolved_symbol(find(u, N_CALL, "potentials.switch"));
    CHECK(lj && lj->module && !strcmp(lj->module, "potentials"), "lennard_jones comes from potentials");
    CHECK(sw && !strcmp(sw->name, "switch") && !strcmp(sw->module, "potentials"), "potentials.switch resolves");
    const phys_node *all = phys_sema_program(m.sema, m.parse.program);
    CHECK(all->kind == N_PROGRAM && all->nkids > m.parse.program->nkids, "the imported declarations are added");
    CHECK(decl_named(all, N_LET, "smoothstep") && decl_named(all, N_LET, "u"), "the module's and the model's lets");
    int at_import = -1, at_switch = -1;
    for (int i = 0; i < all->nkids; i++) {
        if (all->kids[i]->kind == N_IMPORT) at_import = i;
        if (all->kids[i]->kind == N_LET && !strcmp(all->kids[i]->name, "switch")) at_switch = i;
    }
    CHECK(at_import >= 0 && at_switch > at_import && decl_named(all, N_LET, "u") == all->kids[all->nkids - 1],
          "the module's declarations come in place of its import");
    release(&m);
}

int main(void)
{
    test_table();
    test_particles();
    test_default_roles();
    test_imports();
    return check_summary("test_resolve");
}
