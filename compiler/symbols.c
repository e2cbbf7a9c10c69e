/* The symbol table of a phys_sema, name suggestions and constant folding.
 * The checking pass itself is check.c. */
#include "sema_internal.h"
#include "spelling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

phys_sema *phys_sema_create(phys_diag *diag)
{
    phys_sema *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->diag = diag;
    s->arena = phys_arena_create();
    s->library_path = PHYSC_STDLIB_DIR;
    return s;
}

void phys_sema_destroy(phys_sema *sema)
{
    if (!sema) return;
    for (int i = 0; i < sema->n_modules; i++) {
        phys_parse_free(&sema->modules[i].parse);
        phys_source_free(sema->modules[i].source);
    }
    free(sema->modules);
    free(sema->symbols);
    phys_arena_destroy(sema->arena);
    free(sema);
}

void phys_sema_allow_redefinition(phys_sema *sema, int allow)
{
    sema->allow_redefinition = allow;
}

void phys_sema_set_library_path(phys_sema *sema, const char *dir)
{
    sema->library_path = phys_arena_strdup(sema->arena, dir, strlen(dir));
}

const char *phys_symbol_kind_with_article(phys_symbol_kind kind)
{
    static const char *const names[SYM_KIND_COUNT] = {
        [SYM_CONST] = "a constant", [SYM_PARAM] = "a trainable parameter", [SYM_LET] = "a function",
        [SYM_DOMAIN] = "a domain", [SYM_REGION] = "a region", [SYM_FIELD] = "a field",
        [SYM_STATE] = "a state", [SYM_FORCE] = "a force", [SYM_ENERGY] = "an energy",
        [SYM_PARTICLES] = "a particle set", [SYM_ATTRIBUTE] = "a particle attribute",
        [SYM_SPINS] = "a spin set", [SYM_COUPLING] = "a coupling", [SYM_TERM] = "a loss term",
    };
    return kind < SYM_KIND_COUNT ? names[kind] : "?";
}

const char *phys_symbol_kind_name(phys_symbol_kind kind)
{
    const char *name = phys_symbol_kind_with_article(kind);
    return name + (name[1] == 'n' ? 3 : name[1] == ' ' ? 2 : 0); /* past "an " or "a " */
}

phys_sema_mark phys_sema_get_mark(const phys_sema *sema)
{
    phys_sema_mark mark = {sema->n_symbols, sema->n_modules, sema->dynamics};
    return mark;
}

void phys_sema_rollback(phys_sema *sema, phys_sema_mark mark)
{
    for (int i = 0; i < mark.n_symbols; i++)
        if (sema->symbols[i]->replaced > mark.n_symbols) sema->symbols[i]->replaced = 0;
    sema->n_symbols = mark.n_symbols; /* their memory stays in the arena until the end */
    for (int i = mark.n_modules; i < sema->n_modules; i++) {
        phys_parse_free(&sema->modules[i].parse);
        phys_source_free(sema->modules[i].source);
    }
    sema->n_modules = mark.n_modules;
    sema->dynamics = mark.dynamics;
}

phys_symbol *phys_sema_lookup(phys_sema *sema, const char *name)
{
    /* Newest first, so a REPL redefinition wins. */
    for (int i = sema->n_symbols - 1; i >= 0; i--)
        if (!sema->symbols[i]->replaced && strcmp(sema->symbols[i]->name, name) == 0)
            return sema->symbols[i];
    return NULL;
}

int phys_sema_symbol_count(const phys_sema *sema)
{
    return sema->n_symbols;
}

phys_symbol *phys_sema_symbol_at(phys_sema *sema, int i)
{
    return i >= 0 && i < sema->n_symbols ? sema->symbols[i] : NULL;
}

phys_symbol *sema_add_symbol(phys_sema *sema, const char *name, phys_symbol_kind kind,
                             const phys_node *decl)
{
    if (sema->n_symbols == sema->cap_symbols) {
        int cap = sema->cap_symbols ? 2 * sema->cap_symbols : 64;
        phys_symbol **grown = realloc(sema->symbols, sizeof *grown * (size_t)cap);
        if (!grown) {
            fputs("physc: out of memory\n", stderr);
            exit(70);
        }
        sema->symbols = grown;
        sema->cap_symbols = cap;
    }
    /* Symbols never move: owners and later passes keep pointers to them. */
    phys_symbol *sym = phys_arena_alloc(sema->arena, sizeof *sym);
    sema->symbols[sema->n_symbols++] = sym;
    memset(sym, 0, sizeof *sym);
    sym->name = name;
    sym->kind = kind;
    sym->decl = decl;
    return sym;
}

const char *phys_sema_suggest(phys_sema *sema, const char *name, const char *const *extra, int n_extra)
{
    int limit = phys_misspelling_limit(name);
    const char *best = NULL;
    int best_d = limit + 1;
    for (int i = 0; i < n_extra; i++) {
        int d = phys_edit_distance(name, extra[i]);
        if (d < best_d) best_d = d, best = extra[i];
    }
    for (int i = 0; i < sema->n_symbols; i++) {
        if (sema->symbols[i]->replaced) continue;
        int d = phys_edit_distance(name, sema->symbols[i]->name);
        if (d < best_d) best_d = d, best = sema->symbols[i]->name;
    }
    for (int i = 0; phys_builtin_at(i); i++) {
        const phys_builtin *b = phys_builtin_at(i);
        if (b->cls != B_MATH && b->cls != B_CONSTANT && b->cls != B_DERIVATIVE &&
            b->cls != B_VECTOR)
            continue;
        int d = phys_edit_distance(name, b->name);
        if (d < best_d) best_d = d, best = b->name;
    }
    return best;
}

static double apply_math(const char *f, double a, double b)
{
    if (!strcmp(f, "sin")) return sin(a);
    if (!strcmp(f, "cos")) return cos(a);
    if (!strcmp(f, "tan")) return tan(a);
    if (!strcmp(f, "asin")) return asin(a);
    if (!strcmp(f, "acos")) return acos(a);
    if (!strcmp(f, "atan")) return atan(a);
    if (!strcmp(f, "atan2")) return atan2(a, b);
    if (!strcmp(f, "sinh")) return sinh(a);
    if (!strcmp(f, "cosh")) return cosh(a);
    if (!strcmp(f, "tanh")) return tanh(a);
    if (!strcmp(f, "exp")) return exp(a);
    if (!strcmp(f, "log")) return log(a);
    if (!strcmp(f, "sqrt")) return sqrt(a);
    if (!strcmp(f, "abs")) return fabs(a);
    if (!strcmp(f, "sign")) return (a > 0) - (a < 0);
    if (!strcmp(f, "erf")) return erf(a);
    if (!strcmp(f, "sigmoid")) return 1.0 / (1.0 + exp(-a));
    if (!strcmp(f, "softplus")) return a > 30 ? a : log1p(exp(a));
    if (!strcmp(f, "gelu")) return 0.5 * a * (1.0 + erf(a / sqrt(2.0)));
    if (!strcmp(f, "silu")) return a / (1.0 + exp(-a));
    if (!strcmp(f, "relu")) return a > 0 ? a : 0;
    if (!strcmp(f, "pow")) return pow(a, b);
    if (!strcmp(f, "min")) return a < b ? a : b;
    if (!strcmp(f, "max")) return a > b ? a : b;
    return NAN;
}

int phys_sema_fold(phys_sema *sema, const phys_node *e, double *out)
{
    if (!e) return 0;
    double a, b;
    switch (e->kind) {
    case N_NUMBER:
        *out = e->number;
        return 1;
    case N_NEGATE:
        if (!phys_sema_fold(sema, e->kids[0], &a)) return 0;
        *out = -a;
        return 1;
    case N_BINARY:
        if (!phys_sema_fold(sema, e->kids[0], &a) || !phys_sema_fold(sema, e->kids[1], &b))
            return 0;
        switch (e->op) {
        case '+': *out = a + b; return 1;
        case '-': *out = a - b; return 1;
        case '*': *out = a * b; return 1;
        case '/': *out = a / b; return 1;
        case '^': *out = pow(a, b); return 1;
        }
        return 0;
    case N_COMPARE: /* 1 for true, 0 for false, as if() reads them */
        if (!phys_sema_fold(sema, e->kids[0], &a) || !phys_sema_fold(sema, e->kids[1], &b))
            return 0;
        switch (e->op) {
        case '<': *out = a < b; return 1;
        case '>': *out = a > b; return 1;
        case 'L': *out = a <= b; return 1;
        case 'G': *out = a >= b; return 1;
        case 'N': *out = a != b; return 1;
        case 'E': *out = a == b; return 1;
        }
        return 0;
    case N_LOGIC:
        if (!phys_sema_fold(sema, e->kids[0], &a) || !phys_sema_fold(sema, e->kids[1], &b))
            return 0;
        *out = e->op == '&' ? (a != 0 && b != 0) : (a != 0 || b != 0);
        return 1;
    case N_NOT:
        if (!phys_sema_fold(sema, e->kids[0], &a)) return 0;
        *out = a == 0;
        return 1;
    case N_IF:
        if (!phys_sema_fold(sema, e->kids[0], &a)) return 0;
        return phys_sema_fold(sema, e->kids[a != 0 ? 1 : 2], out);
    case N_NAME: {
        phys_symbol *sym = phys_sema_lookup(sema, e->name);
        if (sym && sym->kind == SYM_CONST && sym->shape.rank == 0) {
            if (sym->folded == 1) {
                *out = sym->value;
                return 1;
            }
            if (sym->folded == -1) { /* a cycle: check.c reports it */
                sema->fold_cycle = 1;
                return 0;
            }
            sym->folded = -1;
            int ok = phys_sema_fold(sema, sym->decl->kids[1], &sym->value);
            sym->folded = ok ? 1 : 0;
            *out = sym->value;
            return ok;
        }
        if (!sym && !strcmp(e->name, "pi")) { *out = PHYS_PI; return 1; }
        if (!sym && !strcmp(e->name, "e")) { *out = PHYS_E; return 1; }
        return 0;
    }
    case N_CALL: {
        const phys_node *f = e->kids[0];
        if (f->kind != N_NAME || phys_sema_lookup(sema, f->name)) return 0;
        const phys_builtin *bi = phys_builtin_find(f->name, B_MATH);
        if (!bi || e->nkids - 1 < bi->min_args || e->nkids - 1 > bi->max_args) return 0;
        if (!phys_sema_fold(sema, e->kids[1], &a)) return 0;
        b = 0;
        if (e->nkids > 2 && !phys_sema_fold(sema, e->kids[2], &b)) return 0;
        *out = apply_math(f->name, a, b);
        return 1;
    }
    default:
        return 0;
    }
}
