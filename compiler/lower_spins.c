/* The lowering pass, spin part: a spin set, its couplings and its energy
 * become a spin model (lw_spins, physm_spins) that the runtime evaluates by
 * loops over the spins, never unrolled.
 *
 * The energy the user writes is recognised as an Ising form by what its
 * names resolved to (never their spelling):
 *
 *     E(s) = a * sum(i, j: W[i, j] * s[i] * s[j])        (or sum_pairs: a / 2)
 *          + c * sum(i: b[i] * s[i]) + u * sum(i: s[i]) + constant
 *
 * with W a coupling (hebbian, matrix, lattice, trainable), b a bias
 * coupling and a, c, u constants (each may be spread over several terms
 * and factors). The runtime needs only the local field
 *     h_i = -dE/ds_i = -2a (W s)_i - c b_i - u,
 * so a flip of s_i changes the energy by 2 s_i h_i. Any other energy is
 * refused with the forms that are supported. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower_internal.h"
#include "physmodel.h"

static const char ising_forms[] =
    "an Ising energy a * sum(i, j: W[i, j] * s[i] * s[j]) (or sum_pairs) + c * sum(i: b[i] * s[i]) + "
    "u * sum(i: s[i]) with W and b couplings and a, c, u constants";

typedef struct {
    lctx *c;
    const phys_symbol *spins;
    lw_spins *out;
    double pair, bias, uniform; /* a, c, u of the form above */
    const phys_symbol *coupling, *bias_sym;
    int failed;
} ising;

static void refuse(ising *is, const phys_node *at, const char *what)
{
    if (is->failed) return;
    is->failed = 1;
    lw_unsupported(is->c, at, "%s in a spin energy; supported: %s", what, ising_forms);
}

/* The binder (index 0 or 1 of the reduction) an index expression is bound
 * by, or -1. */
static int binder_of(const phys_node *e, const phys_node *const *binders, int n)
{
    if (e->kind != N_NAME) return -1;
    const phys_node *b = phys_resolved_binding(e);
    for (int k = 0; k < n; k++)
        if (b == binders[k]) return k;
    return -1;
}

/* The factors of a product, constants folded into *coef. */
static int factors_of(ising *is, const phys_node *e, double *coef, const phys_node **out, int n)
{
    double v;
    if (phys_sema_fold(is->c->sema, e, &v)) {
        *coef *= v;
        return n;
    }
    if (e->kind == N_NEGATE) {
        *coef = -*coef;
        return factors_of(is, e->kids[0], coef, out, n);
    }
    if (e->kind == N_BINARY && e->op == '*') {
        n = factors_of(is, e->kids[0], coef, out, n);
        return n < 0 ? n : factors_of(is, e->kids[1], coef, out, n);
    }
    if (e->kind == N_BINARY && e->op == '/' && phys_sema_fold(is->c->sema, e->kids[1], &v) && v != 0) {
        *coef /= v;
        return factors_of(is, e->kids[0], coef, out, n);
    }
    if (n >= 8) return -1;
    out[n] = e;
    return n + 1;
}

static void reduction(ising *is, const phys_node *e, double coef)
{
    int n_binders = e->nkids - 1;
    const phys_node *binders[2] = {NULL, NULL};
    if (e->op == 'm' || n_binders < 1 || n_binders > 2) {
        refuse(is, e, e->op == 'm' ? "a product" : "a sum over more than two indices");
        return;
    }
    for (int k = 0; k < n_binders; k++) {
        const phys_node *b = e->kids[k];
        binders[k] = b;
        if (b->nkids > 1 && b->kids[1]) {
            refuse(is, b, "a cutoff ('within')");
            return;
        }
        const phys_node *range = b->nkids ? b->kids[0] : NULL;
        double count;
        if (range && phys_resolved_symbol(range) != is->spins &&
            !(phys_sema_fold(is->c->sema, range, &count) && count == (double)is->out->n)) {
            refuse(is, range, "a sum over a range other than the spins");
            return;
        }
    }
    const phys_node *f[8];
    int n = factors_of(is, e->kids[n_binders], &coef, f, 0);
    if (n < 0) {
        refuse(is, e, "a product of more than eight factors");
        return;
    }
    int spin_of[2] = {0, 0};
    const phys_symbol *matrix = NULL, *vector = NULL;
    for (int k = 0; k < n; k++) {
        const phys_node *x = f[k];
        const phys_symbol *base = x->kind == N_INDEX ? phys_resolved_symbol(x->kids[0]) : NULL;
        if (base == is->spins && x->nkids == 2 && binder_of(x->kids[1], binders, n_binders) >= 0) {
            spin_of[binder_of(x->kids[1], binders, n_binders)]++;
        } else if (base && base->kind == SYM_COUPLING && base->shape.rank == 2 && x->nkids == 3 &&
                   n_binders == 2 && !matrix && binder_of(x->kids[1], binders, 2) >= 0 &&
                   binder_of(x->kids[2], binders, 2) >= 0 &&
                   binder_of(x->kids[1], binders, 2) != binder_of(x->kids[2], binders, 2)) {
            matrix = base;
        } else if (base && base->kind == SYM_COUPLING && base->shape.rank == 1 && x->nkids == 2 &&
                   n_binders == 1 && !vector && binder_of(x->kids[1], binders, 1) == 0) {
            vector = base;
        } else {
            refuse(is, x, "this factor");
            return;
        }
    }
    if (n_binders == 2) {
        if (spin_of[0] != 1 || spin_of[1] != 1 || !matrix) {
            refuse(is, e, "a pair sum that is not W[i, j] * s[i] * s[j]");
            return;
        }
        if (is->coupling && is->coupling != matrix) {
            refuse(is, e, "a second coupling matrix");
            return;
        }
        is->coupling = matrix;
        is->pair += e->op == 'p' ? coef / 2 : coef; /* symmetric W, zero diagonal */
        return;
    }
    if (spin_of[0] != 1) {
        refuse(is, e, "a sum over spins that is not linear in s[i]");
        return;
    }
    if (!vector) {
        is->uniform += coef;
        return;
    }
    if (is->bias_sym && is->bias_sym != vector) {
        refuse(is, e, "a second bias");
        return;
    }
    is->bias_sym = vector;
    is->bias += coef;
}

static void collect(ising *is, const phys_node *e, double coef)
{
    double v;
    if (is->failed) return;
    if (phys_sema_fold(is->c->sema, e, &v)) return; /* a constant shifts the energy, not the dynamics */
    switch (e->kind) {
    case N_NEGATE:
        collect(is, e->kids[0], -coef);
        return;
    case N_BINARY:
        if (e->op == '+' || e->op == '-') {
            collect(is, e->kids[0], coef);
            collect(is, e->kids[1], e->op == '-' ? -coef : coef);
            return;
        }
        if (e->op == '*' && phys_sema_fold(is->c->sema, e->kids[0], &v)) {
            collect(is, e->kids[1], coef * v);
            return;
        }
        if ((e->op == '*' || e->op == '/') && phys_sema_fold(is->c->sema, e->kids[1], &v) && v != 0) {
            collect(is, e->kids[0], e->op == '*' ? coef * v : coef / v);
            return;
        }
        break;
    case N_REDUCE:
        reduction(is, e, coef);
        return;
    default:
        break;
    }
    refuse(is, e, "this term");
}

static int kind_of_coupling(const phys_symbol *w, phys_builtin_id *id)
{
    const phys_node *e = w->decl->kids[0];
    *id = e->kind == N_CALL ? phys_resolved_builtin(e) : B_ID_NONE;
    return *id != B_ID_NONE;
}

static const char *file_arg(const phys_symbol *w)
{
    const phys_node *e = w->decl->kids[0];
    return e->nkids == 2 && e->kids[1]->kind == N_STRING ? e->kids[1]->name : NULL;
}

static int lower_coupling(ising *is)
{
    lw_spins *sp = is->out;
    phys_builtin_id id;
    const phys_symbol *w = is->coupling;
    if (!w) return 1;
    if (!kind_of_coupling(w, &id) || id == B_ID_BIAS || id == B_ID_TRAINABLE_BIAS) {
        lw_unsupported(is->c, w->decl, "couplings other than hebbian(\"file\"), matrix(\"file\"), lattice(L1, L2[, "
                       "L3]) or trainable()");
        return 0;
    }
    sp->coupling_name = w->name;
    sp->coupling_file = file_arg(w);
    sp->coupling = id == B_ID_HEBBIAN ? PHYSM_COUPLING_HEBBIAN : id == B_ID_MATRIX ? PHYSM_COUPLING_MATRIX
                 : id == B_ID_LATTICE ? PHYSM_COUPLING_LATTICE : PHYSM_COUPLING_TRAINABLE;
    if (id == B_ID_LATTICE) {
        const phys_node *e = w->decl->kids[0];
        for (int k = 1; k < e->nkids; k++) {
            double side = 0;
            phys_sema_fold(is->c->sema, e->kids[k], &side);
            sp->lattice[sp->lattice_dims++] = (long)side;
        }
    }
    sp->pair_scale = -2 * is->pair;
    return 1;
}

static int lower_bias(ising *is)
{
    lw_spins *sp = is->out;
    phys_builtin_id id;
    const phys_symbol *b = is->bias_sym;
    sp->uniform_field = -is->uniform;
    if (!b) return 1;
    if (!kind_of_coupling(b, &id) || (id != B_ID_BIAS && id != B_ID_TRAINABLE_BIAS)) {
        lw_unsupported(is->c, b->decl, "fields other than bias(\"file\") or trainable_bias()");
        return 0;
    }
    sp->bias = id == B_ID_BIAS ? PHYSM_BIAS_FILE : PHYSM_BIAS_TRAINABLE;
    sp->bias_name = b->name;
    sp->bias_file = file_arg(b);
    sp->bias_scale = -is->bias;
    return 1;
}

static int lower_recall(lctx *c, lw_spins *sp, const phys_node *d)
{
    sp->recalls = realloc(sp->recalls, sizeof *sp->recalls * (size_t)(sp->n_recalls + 1));
    if (!sp->recalls) exit(70);
    lw_recall *r = &sp->recalls[sp->n_recalls++];
    memset(r, 0, sizeof *r);
    r->file = d->kids[0]->name;
    r->sweeps = 100;
    double v;
    if (d->kids[1] && phys_sema_fold(c->sema, d->kids[1], &v)) r->temperature = v;
    if (d->kids[2] && phys_sema_fold(c->sema, d->kids[2], &v)) r->sweeps = (long)v;
    if (d->kids[3] && d->kids[3]->kind == N_STRING) r->out_file = d->kids[3]->name;
    else {
        char name[300];
        snprintf(name, sizeof name, "%s_recalled.csv", c->m->name);
        r->out_file = phys_arena_strdup(c->sema->arena, name, strlen(name));
    }
    return 1;
}

int lw_lower_spins(lctx *c, const phys_node *program)
{
    const phys_symbol *spins = NULL, *energy = NULL;
    for (int i = 0; i < phys_sema_symbol_count(c->sema); i++) {
        const phys_symbol *s = phys_sema_symbol_at(c->sema, i);
        if (s->replaced) continue;
        if (s->kind == SYM_SPINS) {
            if (spins) {
                lw_unsupported(c, s->decl, "a second spin set");
                return 0;
            }
            spins = s;
        }
    }
    if (!spins) return 1;
    for (int i = 0; i < phys_sema_symbol_count(c->sema) && !energy; i++) {
        const phys_symbol *s = phys_sema_symbol_at(c->sema, i);
        if (s->replaced || s->kind != SYM_ENERGY) continue;
        for (int k = 0; k < s->n_inputs; k++)
            if (!strcmp(s->inputs[k], spins->name) && phys_sema_lookup(c->sema, s->inputs[k]) == spins) energy = s;
    }
    if (!energy) {
        phys_error(c->diag, spins->decl->loc, "spins need an energy of them: declare 'energy E(%s) = ...'",
                   spins->name);
        return 0;
    }
    const phys_node *values = spins->decl->kids[1];
    double v0 = 0, v1 = 0;
    if (values->nkids != 2 || !phys_sema_fold(c->sema, values->kids[0], &v0) ||
        !phys_sema_fold(c->sema, values->kids[1], &v1) || fmin(v0, v1) != -1 || fmax(v0, v1) != 1) {
        lw_unsupported(c, values, "spins taking values other than {-1, +1}");
        return 0;
    }
    lw_spins *sp = lw_xcalloc(1, sizeof *sp);
    c->m->spins = sp;
    sp->name = spins->name;
    sp->energy_name = energy->name;
    sp->n = spins->shape.dims[0];
    ising is = {.c = c, .spins = spins, .out = sp};
    collect(&is, energy->decl->kids[1], 1.0);
    if (is.failed || !lower_coupling(&is) || !lower_bias(&is)) return 0;
    if (!is.coupling && !is.bias_sym && is.uniform == 0) {
        lw_unsupported(c, energy->decl->kids[1], "an energy without couplings or fields; supported: %s",
                       ising_forms);
        return 0;
    }
    for (int i = 0; i < program->nkids; i++)
        if (program->kids[i]->kind == N_RECALL && !lower_recall(c, sp, program->kids[i])) return 0;
    return 1;
}

void lw_free_spins(lw_spins *sp)
{
    if (!sp) return;
    free(sp->recalls);
    free(sp);
}
