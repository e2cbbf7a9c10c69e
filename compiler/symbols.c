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
    sema->generation++;
}

phys_symbol *phys_sema_lookup(phys_sema *sema, const char *name)
{
    /* module.member: a declaration of that imported module */
    const char *dot = strrchr(name, '.');
    size_t len = dot ? (size_t)(dot - name) : 0;
    /* Newest first, so a REPL redefinition wins. */
    for (int i = sema->n_symbols - 1; i >= 0; i--) {
        const phys_symbol *s = sema->symbols[i];
        if (s->replaced) continue;
        if (!dot ? !strcmp(s->name, name)
                 : s->module && strlen(s->module) == len && !strncmp(s->module, name, len) && !strcmp(s->name, dot + 1))
            return sema->symbols[i];
    }
    return NULL;
}

const phys_symbol *phys_sema_current(phys_sema *sema, const phys_symbol *sym)
{
    for (int guard = 0; sym && sym->replaced && guard < sema->n_symbols; guard++) {
        if (sym->replaced - 1 >= sema->n_symbols) break; /* replaced by a definition rolled back */
        sym = sema->symbols[sym->replaced - 1];
    }
    return sym;
}

phys_builtin_id phys_resolved_builtin(const phys_node *callee)
{
    if (callee && callee->kind == N_CALL) callee = callee->kids[0];
    return callee && callee->res.kind == PHYS_RESOLVED_BUILTIN ? (phys_builtin_id)callee->res.builtin : B_ID_NONE;
}

const phys_symbol *phys_resolved_symbol(const phys_node *name)
{
    if (name && name->kind == N_CALL) name = name->kids[0];
    return name && name->res.kind == PHYS_RESOLVED_SYMBOL ? name->res.sym : NULL;
}

const phys_node *phys_resolved_binding(const phys_node *name)
{
    return name && name->res.kind == PHYS_RESOLVED_LOCAL ? name->res.binding : NULL;
}

const phys_symbol *phys_resolved_set(const phys_node *n)
{
    return n && n->res.kind == PHYS_RESOLVED_LOCAL && n->res.local == PHYS_LOCAL_INDEX ? n->res.sym : NULL;
}

/* Appends the declarations of program to out, those of each imported
 * module (once: seen[]) in place of its import. */
static void flatten(phys_sema *sema, const phys_node *program, phys_node *out, char *seen, int depth)
{
    for (int i = 0; i < program->nkids; i++) {
        phys_node *d = program->kids[i];
        if (depth > 0 && (d->kind == N_MODEL || d->kind == N_TRAIN || d->kind == N_DYNAMICS ||
                          d->kind == N_SIMULATE || d->kind == N_RECALL || d->kind == N_OUTPUT || d->kind == N_PRINT))
            continue; /* refused by the checker */
        phys_node_add(sema->arena, out, d);
        if (d->kind != N_IMPORT || depth > 16) continue;
        for (int m = 0; m < sema->n_modules; m++)
            if (!seen[m] && !strcmp(sema->modules[m].name, d->name) && sema->modules[m].parse.program) {
                seen[m] = 1;
                flatten(sema, sema->modules[m].parse.program, out, seen, depth + 1);
            }
    }
}

const phys_node *phys_sema_program(phys_sema *sema, const phys_node *program)
{
    phys_node *out = phys_node_new(sema->arena, N_PROGRAM, program->loc);
    char *seen = calloc((size_t)sema->n_modules + 1, 1);
    if (!seen) exit(70);
    flatten(sema, program, out, seen, 0);
    free(seen);
    return out;
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
    sym->module = sema->module;
    sema->generation++;
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

/* The built-in of class cls a name means: by its resolved id once checked,
 * else (dimensions folded while declaring) by its spelling. */
static const phys_builtin *builtin_meant(const phys_node *name, phys_builtin_class cls)
{
    if (name->res.kind != PHYS_UNRESOLVED && name->res.kind != PHYS_RESOLVED_BUILTIN) return NULL;
    const phys_builtin *b = name->res.kind == PHYS_RESOLVED_BUILTIN
                                ? phys_builtin_of((phys_builtin_id)name->res.builtin)
                                : phys_builtin_find(name->name, cls);
    return b && b->cls == cls ? b : NULL;
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
        if (e->res.kind == PHYS_RESOLVED_LOCAL || e->res.kind == PHYS_RESOLVED_INPUT) return 0; /* not a constant */
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
        if (sym) return 0;
        const phys_builtin *bi = builtin_meant(e, B_CONSTANT);
        if (!bi || !bi->fold) return 0;
        *out = bi->fold(0, 0);
        return 1;
    }
    case N_CALL: {
        const phys_node *f = e->kids[0];
        if (f->kind != N_NAME || phys_sema_lookup(sema, f->name)) return 0;
        const phys_builtin *bi = builtin_meant(f, B_MATH);
        if (!bi || !bi->fold || e->nkids - 1 < bi->min_args || e->nkids - 1 > bi->max_args) return 0;
        if (!phys_sema_fold(sema, e->kids[1], &a)) return 0;
        b = 0;
        if (e->nkids > 2 && !phys_sema_fold(sema, e->kids[2], &b)) return 0;
        *out = bi->fold(a, b);
        return 1;
    }
    default:
        return 0;
    }
}
