/* The lowering pass, atomistic part: atomic(mlp(...), descriptor =
 * acsf(...)) inside a particle system's energy. The energy is sum_i
 * net(G_i), G_i the Behler-Parrinello symmetry functions of atom i in
 * n2p2's conventions, which kernels over the atom's neighbours (radial:
 * full pairs within the cutoff) and neighbour pairs (angular: triplets)
 * add up per centre. Each descriptor kernel's body is a scalar DAG of the
 * item's geometry, so its derivatives are DAGs too:
 *   forces:   -dV/dS * d(sum_f w_f G_f)/dr, w_f = dE_i/dG_if gathered per
 *             centre (one reverse sweep of the body), scattered to i, j, k;
 *   tangents: dG_f/dr . u, u gathered per atom (a forward derivative), the
 *             descriptors' tangent along u that force training pushes
 *             through the network as a derivative stream.
 * The network itself runs in the runtime over all atoms at once. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "lower_internal.h"
#include "physmodel.h"

typedef struct {
    double eta, rs, zeta, lambda;
} sf_params;

typedef struct {
    double rc, inner;
    int cutoff;                      /* phys_cutoff_kind */
    int n[3];                        /* radial, narrow angular, wide angular */
    sf_params sf[3][LW_MAX_FEATURES];
} acsf_spec;

static int number_list(lctx *c, const phys_node *n, double *out, int cap, double fallback)
{
    if (!n) {
        out[0] = fallback;
        return 1;
    }
    int count = n->kind == N_VECTOR ? n->nkids : 1;
    if (count > cap) count = cap;
    for (int i = 0; i < count; i++) phys_sema_fold(c->sema, n->kind == N_VECTOR ? n->kids[i] : n, &out[i]);
    return count;
}

/* Every combination of a g2/g4/g5(...) call's lists, eta outermost. */
static int expand(lctx *c, const phys_node *call, int angular, sf_params *out, int cap)
{
    double eta[LW_MAX_FEATURES], rs[LW_MAX_FEATURES], zeta[LW_MAX_FEATURES], lambda[LW_MAX_FEATURES];
    int ne = number_list(c, phys_node_named_arg(call, "eta"), eta, LW_MAX_FEATURES, 0);
    int nr = number_list(c, phys_node_named_arg(call, "rs"), rs, LW_MAX_FEATURES, 0);
    int nz = angular ? number_list(c, phys_node_named_arg(call, "zeta"), zeta, LW_MAX_FEATURES, 1) : 1;
    int nl = angular ? number_list(c, phys_node_named_arg(call, "lambda"), lambda, LW_MAX_FEATURES, 1) : 1;
    int n = 0;
    for (int a = 0; a < ne; a++)
        for (int z = 0; z < nz; z++)
            for (int l = 0; l < nl; l++)
                for (int r = 0; r < nr; r++) {
                    if (n == cap) return cap + 1;
                    out[n++] = (sf_params){eta[a], rs[r], angular ? zeta[z] : 0, angular ? lambda[l] : 0};
                }
    return n;
}

static int parse_acsf(lctx *c, const phys_node *desc, acsf_spec *a)
{
    memset(a, 0, sizeof *a);
    phys_sema_fold(c->sema, phys_node_named_arg(desc, "cutoff"), &a->rc);
    const phys_node *cf = phys_node_named_arg(desc, "cutoff_function");
    a->cutoff = cf ? phys_acsf_cutoff_kind(cf->name) : PHYS_FC_COS;
    const phys_node *inner = phys_node_named_arg(desc, "cutoff_inner");
    if (inner) phys_sema_fold(c->sema, inner, &a->inner);
    static const char *const args[3] = {"radial", "angular", "wide"};
    int total = 0;
    for (int k = 0; k < 3; k++) {
        const phys_node *call = phys_node_named_arg(desc, args[k]);
        if (call) a->n[k] = expand(c, call, k > 0, a->sf[k], LW_MAX_FEATURES - total);
        total += a->n[k];
        if (total > LW_MAX_FEATURES) {
            lw_unsupported(c, desc, "more than %d symmetry functions per atom", LW_MAX_FEATURES);
            return 0;
        }
    }
    return 1;
}

/* acsf(functions = [g2(Si, O, ...), g4(Si, O, O, ...), ...]): functions
 * of given elements, centre first, each with its cutoff (acsf's unless
 * given). Element e's network reads its own functions in the listed
 * order: feature slot k of an atom of element e is e's k-th function, so
 * n_features is the longest list; the kernels multiply each function by
 * the centre's element indicator. */
typedef struct {
    int kind;                        /* 0 g2, 1 g4, 2 g5 */
    int el[3];                       /* centre, neighbours (element indices) */
    double rc;
    sf_params p;
} listed_sf;

typedef struct {
    int n[8];                        /* functions per element */
    listed_sf *sf[8];                /* [element][slot] */
    int n_features;
    int lo[2], hi[2];                /* the slots with radial, angular functions */
} listed_spec;

static void listed_free(listed_spec *l)
{
    for (int e = 0; e < 8; e++) free(l->sf[e]);
}

static int element_index(const lw_atomic *at, const char *name)
{
    for (int e = 0; e < at->n_elements; e++)
        if (!strcmp(at->elements[e], name) || (at->n_elements == 1 && !at->elements[0][0])) return e;
    return -1;
}

static int parse_listed(lctx *c, const phys_node *fns, const acsf_spec *a, const lw_atomic *at, listed_spec *l)
{
    memset(l, 0, sizeof *l);
    l->lo[0] = l->lo[1] = LW_MAX_FEATURES;
    const int count = fns->kind == N_VECTOR ? fns->nkids : 1;
    for (int i = 0; i < count; i++) {
        const phys_node *f = fns->kind == N_VECTOR ? fns->kids[i] : fns;
        const int kind = phys_resolved_builtin(f->kids[0]) == B_ID_G2 ? 0 : phys_resolved_builtin(f->kids[0]) == B_ID_G4 ? 1 : 2;
        int el[3] = {0, 0, 0}, np = 0;
        for (int k = 1; k < f->nkids; k++) {
            if (f->kids[k]->kind == N_NAMED_ARG) continue;
            el[np] = element_index(at, f->kids[k]->name);
            if (el[np] < 0) {
                phys_error(c->diag, f->kids[k]->loc, "'%s' is not one of the elements of atomic(elements = ...)",
                           f->kids[k]->name);
                return 0;
            }
            np++;
        }
        double rc = a->rc;
        const phys_node *cut = phys_node_named_arg(f, "cutoff");
        if (cut) phys_sema_fold(c->sema, cut, &rc);
        sf_params p[LW_MAX_FEATURES + 1];
        const int n = expand(c, f, kind > 0, p, LW_MAX_FEATURES);
        listed_sf **row = &l->sf[el[0]];
        for (int k = 0; k < n; k++) {
            if (l->n[el[0]] >= LW_MAX_FEATURES || n > LW_MAX_FEATURES) {
                lw_unsupported(c, f, "more than %d symmetry functions per atom of %s", LW_MAX_FEATURES,
                               at->elements[el[0]]);
                return 0;
            }
            *row = realloc(*row, sizeof **row * (size_t)(l->n[el[0]] + 1));
            if (!*row) exit(70);
            const int slot = l->n[el[0]]++;
            (*row)[slot] = (listed_sf){kind, {el[0], el[1], el[2]}, rc, p[k]};
            const int w = kind > 0;
            if (slot < l->lo[w]) l->lo[w] = slot;
            if (slot + 1 > l->hi[w]) l->hi[w] = slot + 1;
            if (slot + 1 > l->n_features) l->n_features = slot + 1;
        }
    }
    for (int e = 0; e < at->n_elements; e++)
        if (!l->n[e]) {
            phys_error(c->diag, fns->loc, "no symmetry function has %s at the centre: its network would have no input",
                       at->elements[e][0] ? at->elements[e] : "the atom");
            return 0;
        }
    return 1;
}

/* ------------------------------------------------------------- the DAGs */

static int num(lctx *c, double v) { return dag_const(c->dag, v); }
static int add(lctx *c, int a, int b) { return dag_binary(c->dag, X_ADD, a, b); }
static int sub(lctx *c, int a, int b) { return dag_binary(c->dag, X_SUB, a, b); }
static int mul(lctx *c, int a, int b) { return dag_binary(c->dag, X_MUL, a, b); }

/* Horner: sum_k coef[k] x^k. */
static int poly(lctx *c, int x, const double *coef, int n)
{
    int v = num(c, coef[n - 1]);
    for (int k = n - 2; k >= 0; k--) v = add(c, mul(c, v, x), num(c, coef[k]));
    return v;
}

/* n2p2's cutoff function of distance r: 1 below a rc, 0 from rc. */
static int cutoff_value(lctx *c, const acsf_spec *a, int r)
{
    const double rc = a->rc, ri = a->inner * a->rc;
    int x = dag_binary(c->dag, X_DIV, sub(c, r, num(c, ri)), num(c, rc - ri));
    int t = dag_unary(c->dag, X_TANH, sub(c, num(c, 1), dag_binary(c->dag, X_DIV, r, num(c, rc))));
    int f, inner = 1;
    switch (a->cutoff) {
    case PHYS_FC_TANHU: f = dag_powi(c->dag, t, 3), inner = 0; break;
    case PHYS_FC_TANH: f = mul(c, num(c, 1 / pow(tanh(1.0), 3)), dag_powi(c->dag, t, 3)), inner = 0; break;
    case PHYS_FC_POLY1: f = poly(c, x, (const double[]){1, 0, -3, 2}, 4); break;
    case PHYS_FC_POLY2: f = poly(c, x, (const double[]){1, 0, 0, -10, 15, -6}, 6); break;
    case PHYS_FC_POLY3: f = poly(c, x, (const double[]){1, 0, 0, 0, -35, 84, -70, 20}, 8); break;
    case PHYS_FC_POLY4: f = poly(c, x, (const double[]){1, 0, 0, 0, 0, -126, 420, -540, 315, -70}, 10); break;
    case PHYS_FC_EXP:
        f = dag_unary(c->dag, X_EXP, sub(c, num(c, 1), dag_binary(c->dag, X_DIV, num(c, 1),
                                                                     sub(c, num(c, 1), mul(c, x, x)))));
        break;
    case PHYS_FC_HARD: f = num(c, 1), inner = 0; break;
    default: f = mul(c, num(c, 0.5), add(c, dag_unary(c->dag, X_COSPI, x), num(c, 1))); break;
    }
    if (inner && ri > 0) f = dag_select(c->dag, dag_binary(c->dag, X_LT, r, num(c, ri)), num(c, 1), f);
    return dag_select(c->dag, dag_binary(c->dag, X_LT, r, num(c, rc)), f, num(c, 0));
}

static int gaussian(lctx *c, double eta, double rs, int r)
{
    int d = sub(c, r, num(c, rs));
    return mul(c, num(c, -eta), mul(c, d, d));
}

/* (1 + lambda cos)^zeta 2^(1 - zeta) */
static int angular_term(lctx *c, const sf_params *p, int cos_theta)
{
    int base = add(c, num(c, 1), mul(c, num(c, p->lambda), cos_theta));
    int pw = p->zeta == floor(p->zeta) && fabs(p->zeta) < 64 ? dag_powi(c->dag, base, (int)p->zeta)
                                                             : dag_binary(c->dag, X_POW, base, num(c, p->zeta));
    return mul(c, num(c, pow(2.0, 1 - p->zeta)), pw);
}

/* One symmetry function's value on the item: kind 0 (g2) of r_ij; kinds 1
 * (g4: with r_jk's Gaussian and cutoff) and 2 (g5) of the triplet. */
static int sf_value(lctx *c, const acsf_spec *a, int kind, const sf_params *p, int rij, int rik, int rjk, int cos_theta)
{
    if (!kind) return mul(c, dag_unary(c->dag, X_EXP, gaussian(c, p->eta, p->rs, rij)), cutoff_value(c, a, rij));
    int g = add(c, gaussian(c, p->eta, p->rs, rij), gaussian(c, p->eta, p->rs, rik));
    int cut = mul(c, cutoff_value(c, a, rij), cutoff_value(c, a, rik));
    if (kind == 1) g = add(c, g, gaussian(c, p->eta, p->rs, rjk)), cut = mul(c, cut, cutoff_value(c, a, rjk));
    return mul(c, angular_term(c, p, cos_theta), mul(c, dag_unary(c->dag, X_EXP, g), cut));
}

/* 1 when the item's particle of role is of element e (the species array
 * holds element indices), else 0; 1 with one element. */
static int is_element(lctx *c, const lw_atomic *at, int role, int e)
{
    if (at->n_elements == 1) return num(c, 1);
    int z = lw_gather_leaf(c, at->species_array, role, 0, 1, 0, 1);
    return dag_binary(c->dag, X_LT, dag_unary(c->dag, X_ABS, sub(c, z, num(c, e))), num(c, 0.5));
}

/* The radial functions of the item (i, j), exp(-eta (r - rs)^2) fc(r), per
 * element of j. */
static void radial_features(lctx *c, const phys_node *where, const acsf_spec *a, const lw_atomic *at, int *out)
{
    int r = lw_pair_geometry(c, "dist", lw_item_displacement(c, where, 1, 0))->el[0], n = 0;
    for (int e = 0; e < at->n_elements; e++) {
        int ind = is_element(c, at, 1, e);
        for (int f = 0; f < a->n[0]; f++) out[n++] = mul(c, ind, sf_value(c, a, 0, &a->sf[0][f], r, -1, -1, -1));
    }
}

/* The triplet (i; j, k)'s distances r_ij, r_ik, r_jk and cos theta_ijk. */
static void triplet_geometry(lctx *c, const phys_node *where, int *rij, int *rik, int *rjk, int *cos_theta)
{
    const tensor *dij = lw_item_displacement(c, where, 1, 0), *dik = lw_item_displacement(c, where, 2, 0);
    tensor *djk = lw_tensor_copy(c, dik);
    int dot = num(c, 0);
    for (int x = 0; x < dij->n; x++) {
        dot = add(c, dot, mul(c, dij->el[x], dik->el[x]));
        djk->el[x] = sub(c, dik->el[x], dij->el[x]);
    }
    *rij = lw_pair_geometry(c, "dist", dij)->el[0], *rik = lw_pair_geometry(c, "dist", dik)->el[0];
    *rjk = lw_pair_geometry(c, "dist", djk)->el[0];
    *cos_theta = dag_binary(c->dag, X_DIV, dot, mul(c, *rij, *rik));
}

/* The angular functions of the triplet (i; j, k), narrow then wide, per
 * unordered pair of elements of j and k. */
static void angular_features(lctx *c, const phys_node *where, const acsf_spec *a, const lw_atomic *at, int *out)
{
    int rij, rik, rjk, cos_theta;
    triplet_geometry(c, where, &rij, &rik, &rjk, &cos_theta);
    int values[LW_MAX_FEATURES], n = 0;
    for (int w = 1; w <= 2; w++)
        for (int f = 0; f < a->n[w]; f++) values[n++] = sf_value(c, a, w, &a->sf[w][f], rij, rik, rjk, cos_theta);
    int m = 0;
    for (int e1 = 0; e1 < at->n_elements; e1++)
        for (int e2 = e1; e2 < at->n_elements; e2++) {
            int ind = mul(c, is_element(c, at, 1, e1), is_element(c, at, 2, e2));
            if (e2 != e1) ind = add(c, ind, mul(c, is_element(c, at, 1, e2), is_element(c, at, 2, e1)));
            for (int f = 0; f < n; f++) out[m++] = mul(c, ind, values[f]);
        }
}

/* The listed functions of the item's kind (0 pairs, 1 triplets) in slots
 * lo .. hi: slot k sums, over the elements e whose k-th function is of the
 * kind, [centre is e] [the neighbours are its elements] times its value. */
static void listed_features(lctx *c, const phys_node *where, const acsf_spec *a, const lw_atomic *at,
                            const listed_spec *l, int w, int *out)
{
    int rij, rik = -1, rjk = -1, cos_theta = -1;
    if (w) triplet_geometry(c, where, &rij, &rik, &rjk, &cos_theta);
    else rij = lw_pair_geometry(c, "dist", lw_item_displacement(c, where, 1, 0))->el[0];
    for (int k = l->lo[w]; k < l->hi[w]; k++) {
        int v = num(c, 0);
        for (int e = 0; e < at->n_elements; e++) {
            if (k >= l->n[e] || (l->sf[e][k].kind > 0) != w) continue;
            const listed_sf *s = &l->sf[e][k];
            acsf_spec cut = *a;
            cut.rc = s->rc;
            int ind = mul(c, is_element(c, at, 0, e), is_element(c, at, 1, s->el[1]));
            if (w) {
                ind = mul(c, ind, is_element(c, at, 2, s->el[2]));
                if (s->el[1] != s->el[2])
                    ind = add(c, ind, mul(c, is_element(c, at, 0, e),
                                          mul(c, is_element(c, at, 1, s->el[2]), is_element(c, at, 2, s->el[1]))));
            }
            v = add(c, v, mul(c, ind, sf_value(c, &cut, s->kind, &s->p, rij, rik, rjk, cos_theta)));
        }
        out[k - l->lo[w]] = v;
    }
}

/* g2_eta0.5_rs0, g4_eta0.1_zeta1_lambda+1_rs0, and with several elements
 * the neighbours' (g2_..._O, g4_..._Si_O). */
static const char *feature_name(lctx *c, int kind, const sf_params *p, const char *e1, const char *e2)
{
    char buf[160];
    int k;
    if (kind == 0) k = snprintf(buf, sizeof buf, "g2_eta%g_rs%g", p->eta, p->rs);
    else k = snprintf(buf, sizeof buf, "%s_eta%g_zeta%g_lambda%+g_rs%g", kind == 1 ? "g4" : "g5", p->eta, p->zeta,
                      p->lambda, p->rs);
    if (e1 && k > 0 && k < (int)sizeof buf) snprintf(buf + k, sizeof buf - (size_t)k, "_%s%s%s", e1, e2 ? "_" : "", e2 ? e2 : "");
    return phys_arena_strdup(c->sema->arena, buf, strlen(buf));
}

/* ----------------------------------------------------------- the network */

/* The network of element e (named E_Si with several elements), its inputs
 * the features in the kernels' order: radial per neighbour element, then
 * angular per unordered pair of neighbour elements. */
static int add_network(lctx *c, const phys_symbol *sym, const phys_node *mlp, const acsf_spec *a,
                       const listed_spec *l, const lw_atomic *at, int e)
{
    lw_model *m = c->m;
    m->fields = realloc(m->fields, sizeof *m->fields * (size_t)(m->n_fields + 1));
    if (!m->fields) exit(70);
    lw_field *f = &m->fields[m->n_fields];
    memset(f, 0, sizeof *f);
    f->name = sym->name;
    if (at->n_elements > 1) {
        char buf[128];
        snprintf(buf, sizeof buf, "%s_%s", sym->name, at->elements[e]);
        f->name = phys_arena_strdup(c->sema->arena, buf, strlen(buf));
    }
    f->sym = sym;
    f->n_outputs = 1;
    const int several = at->n_elements > 1;
    for (int i = 0; l && i < l->n[e]; i++) { /* g2_eta0.5_rs0_rc6_O, g4_..._rc6_O_O: the function's neighbours */
        const listed_sf *s = &l->sf[e][i];
        char rc[64];
        snprintf(rc, sizeof rc, "rc%g", s->rc);
        const char *base = feature_name(c, s->kind, &s->p, rc, NULL);
        f->inputs[f->n_inputs++] = base;
        if (several) {
            char buf[200];
            snprintf(buf, sizeof buf, "%s_%s%s%s", base, at->elements[s->el[1]], s->kind ? "_" : "",
                     s->kind ? at->elements[s->el[2]] : "");
            f->inputs[f->n_inputs - 1] = phys_arena_strdup(c->sema->arena, buf, strlen(buf));
        }
    }
    for (int e1 = 0; !l && e1 < at->n_elements; e1++)
        for (int i = 0; i < a->n[0]; i++)
            f->inputs[f->n_inputs++] = feature_name(c, 0, &a->sf[0][i], several ? at->elements[e1] : NULL, NULL);
    for (int e1 = 0; !l && e1 < at->n_elements; e1++)
        for (int e2 = e1; e2 < at->n_elements; e2++)
            for (int k = 1; k <= 2; k++)
                for (int i = 0; i < a->n[k]; i++)
                    f->inputs[f->n_inputs++] = feature_name(c, k, &a->sf[k][i], several ? at->elements[e1] : NULL,
                                                            several ? at->elements[e2] : NULL);
    if (!lw_network_shape(c, mlp, f)) return -1;
    unsigned char zero[DAG_MAX_INPUTS] = {0};
    f->body[0] = dag_net(c->dag, zero, 0);
    return m->n_fields++;
}

static lw_kernel *descriptor_kernel(lctx *c, const phys_node *at, const char *what, int kind, int set, double rc,
                                    int offset, int n)
{
    lw_kernel *k = lw_new_kernel(c, lw_located_name(c, what, at), kind, set, set, rc);
    k->n_features = n;
    k->feature_offset = offset;
    k->features = lw_xcalloc((size_t)n + 1, sizeof(int));
    k->tangents = lw_xcalloc((size_t)n + 1, sizeof(int));
    return k;
}

int lw_kernel_atomic(lctx *c, const phys_symbol *sym, const phys_node *e, const tensor **out)
{
    const phys_node *net = sym->network;
    if (!net || phys_resolved_builtin(net->kids[0]) != B_ID_ATOMIC) return 0;
    if (!c->sys || c->kernel) {
        *out = lw_unsupported(c, e, c->kernel ? "an atomic network inside a sum over particles"
                                              : "an atomic network outside the energy of particles under "
                                                "Newtonian dynamics (dynamics newton(F) with F = -grad(V, r))");
        return 1;
    }
    lw_system *s = c->sys;
    const phys_node *arg = e->nkids == 2 ? e->kids[1] : NULL;
    const phys_symbol *set_sym = arg && arg->kind == N_NAME ? phys_sema_lookup(c->sema, arg->name) : NULL;
    int set = -1;
    if (!set_sym || !lw_set_of_symbol(s, set_sym, &set) || s->sets[set].position < 0) {
        *out = lw_unsupported(c, e, "%s(...) of other than a particle set with positions", sym->name);
        return 1;
    }
    int species = -1;
    for (int a = 0; a < s->sets[set].n_attributes; a++)
        if (s->sets[set].attributes[a].role == PHYSM_ROLE_SPECIES) species = s->sets[set].attributes[a].array;
    const phys_node *els = phys_node_named_arg(net, "elements");
    int n_el = !els ? 1 : els->kind == N_VECTOR ? els->nkids : 1;
    if (species >= 0 && !els) {
        *out = lw_unsupported(c, e, "atoms with a species but a network without elements: say which, "
                                    "atomic(..., elements = [Si, O]) (one network each)");
        return 1;
    }
    if (species < 0 && n_el > 1) {
        *out = lw_unsupported(c, e, "networks for %d elements over atoms without a species: declare it, as in "
                                    "'particles atoms with r[3], v[3], species Z'", n_el);
        return 1;
    }
    if (s->atomic) {
        *out = lw_unsupported(c, e, "more than one atomic network in an energy");
        return 1;
    }
    const phys_node *desc = phys_node_named_arg(net, "descriptor"), *mlp = net->nkids > 1 ? net->kids[1] : NULL;
    acsf_spec *a = lw_xcalloc(1, sizeof *a);
    if (!desc || phys_resolved_builtin(desc->kids[0]) != B_ID_ACSF || !mlp || mlp->kind != N_CALL ||
        strcmp(mlp->kids[0]->name, "mlp")) {
        free(a);
        *out = lw_unsupported(c, e, "atomic() networks other than atomic(mlp(...), descriptor = acsf(...))");
        return 1;
    }
    lw_atomic *at = lw_xcalloc(1, sizeof *at);
    at->n_elements = n_el;
    at->species_array = species;
    for (int k = 0; k < n_el; k++)
        at->elements[k] = !els ? "" : els->kind == N_VECTOR ? els->kids[k]->name : els->name;
    int field = -1, ok = parse_acsf(c, desc, a);
    const phys_node *fns = phys_node_named_arg(desc, "functions");
    listed_spec *l = fns ? lw_xcalloc(1, sizeof *l) : NULL;
    if (ok && l) ok = parse_listed(c, fns, a, at, l);
    const int n_radial = l ? 0 : n_el * a->n[0], n_angular = l ? 0 : n_el * (n_el + 1) / 2 * (a->n[1] + a->n[2]);
    if (ok && n_radial + n_angular > LW_MAX_FEATURES) {
        lw_unsupported(c, desc, "more than %d symmetry functions per atom (%d with %d elements)", LW_MAX_FEATURES,
                       n_radial + n_angular, n_el);
        ok = 0;
    }
    for (int k = 0; ok && k < n_el; k++) {
        int f = add_network(c, sym, mlp, a, l, at, k);
        if (k == 0) field = f;
        ok = f >= 0;
    }
    if (!ok) {
        if (l) listed_free(l);
        free(l);
        free(a);
        free(at);
        *out = NULL;
        return 1;
    }
    at->field = field;
    at->set = set;
    at->n_features = l ? l->n_features : n_radial + n_angular;
    at->seed_array = s->n_arrays++;
    at->tangent_array = s->n_arrays++;
    s->atomic = at;
    lw_kernel *saved_kernel = c->kernel;
    lw_term *saved_term = c->term;
    if (n_radial) {
        lw_kernel *k = descriptor_kernel(c, e, "radial", PHYSM_PAIRS_FULL, set, a->rc, 0, n_radial);
        c->kernel = k, c->term = k->term;
        radial_features(c, e, a, at, k->features);
    }
    if (n_angular) {
        lw_kernel *k = descriptor_kernel(c, e, "angular", PHYSM_TRIPLETS, set, a->rc, n_radial, n_angular);
        c->kernel = k, c->term = k->term;
        angular_features(c, e, a, at, k->features);
    }
    for (int w = 0; l && w < 2; w++) {
        if (l->hi[w] <= l->lo[w]) continue;
        lw_kernel *k = descriptor_kernel(c, e, w ? "angular" : "radial", w ? PHYSM_TRIPLETS : PHYSM_PAIRS_FULL, set,
                                         a->rc, l->lo[w], l->hi[w] - l->lo[w]);
        c->kernel = k, c->term = k->term;
        listed_features(c, e, a, at, l, w, k->features);
    }
    if (l) listed_free(l);
    free(l);
    c->kernel = saved_kernel;
    c->term = saved_term;
    free(a);
    at->sum_index = s->n_sums++;
    lw_term *comb = s->combine;
    comb->coords[comb->n_coords++] = sym->name;
    *out = lw_scalar_of(c, dag_leaf(c->dag, X_COORD, at->sum_index));
    return 1;
}

/* ------------------------------------------------- forces and tangents */

typedef struct {
    lctx *c;
    lw_kernel *k;
    int pos_array;
} tangent_ctx;

/* d(position coordinate)/d(step along u) = u of the same particle and axis. */
static int tangent_leaf(void *ctx, const dag_node *leaf)
{
    tangent_ctx *t = ctx;
    if (leaf->op != X_COORD) return dag_const(t->c->dag, 0.0);
    lw_gather g = t->k->gathers[leaf->index];
    if (g.shift || g.array != t->pos_array) return dag_const(t->c->dag, 0.0);
    return lw_gather_leaf(t->c, t->c->sys->atomic->tangent_array, g.role, g.comp, t->c->sys->dim, 0, 1);
}

int lw_atomic_scatters(lctx *c, lw_kernel *k, int seed)
{
    const lw_system *s = c->sys;
    const lw_atomic *at = s->atomic;
    const lw_particle_set *set = &s->sets[at->set];
    int pos = set->attributes[set->position].array;
    c->kernel = k;
    c->term = k->term;
    int w[LW_MAX_FEATURES];
    for (int f = 0; f < k->n_features; f++)
        w[f] = lw_gather_leaf(c, at->seed_array, 0, k->feature_offset + f, at->n_features, 0, 1);
    int *adjoint = lw_xcalloc((size_t)dag_size(c->dag), sizeof(int));
    dag_reverse(c->dag, k->n_features, k->features, w, adjoint);
    int roles = k->kind == PHYSM_TRIPLETS ? 3 : 2;
    for (int role = 0; set->moves && role < roles; role++)
        for (int x = 0; x < s->dim; x++) {
            int leaf = lw_gather_leaf(c, pos, role, x, s->dim, 0, 0);
            if (leaf < 0 || adjoint[leaf] < 0) continue;
            lw_add_scatter(k, dag_unary(c->dag, X_NEG, mul(c, seed, adjoint[leaf])), at->set, role, x);
        }
    free(adjoint);
    /* each feature's gradient by the neighbours' positions: what training
     * keeps per frame (the frames never move) instead of running the
     * kernels at every step */
    if (set->moves) {
        k->n_jacobian = (roles - 1) * k->n_features * s->dim;
        k->jacobian = lw_xcalloc((size_t)k->n_jacobian + 1, sizeof(int));
        int one = num(c, 1);
        for (int f = 0; f < k->n_features; f++) {
            int *adj = lw_xcalloc((size_t)dag_size(c->dag), sizeof(int));
            dag_reverse(c->dag, 1, &k->features[f], &one, adj);
            for (int role = 1; role < roles; role++)
                for (int x = 0; x < s->dim; x++) {
                    int leaf = lw_gather_leaf(c, pos, role, x, s->dim, 0, 0);
                    k->jacobian[((role - 1) * k->n_features + f) * s->dim + x] =
                        leaf >= 0 && adj[leaf] >= 0 ? adj[leaf] : num(c, 0);
                }
            free(adj);
        }
    }
    tangent_ctx t = {c, k, pos};
    for (int f = 0; f < k->n_features; f++) k->tangents[f] = dag_diff_by(c->dag, k->features[f], tangent_leaf, &t);
    return 1;
}
