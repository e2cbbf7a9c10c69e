#include "ast.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Bump allocator: blocks chained, freed at once. */
typedef struct arena_block {
    struct arena_block *next;
    size_t used, size;
    max_align_t data[];
} arena_block;

struct phys_arena {
    arena_block *head;
};

phys_arena *phys_arena_create(void)
{
    return calloc(1, sizeof(phys_arena));
}

void phys_arena_destroy(phys_arena *arena)
{
    if (!arena) return;
    for (arena_block *b = arena->head, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(arena);
}

void *phys_arena_alloc(phys_arena *arena, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    arena_block *b = arena->head;
    if (!b || b->size - b->used < size) {
        size_t block = size > 60000 ? size : 60000;
        b = malloc(sizeof *b + block);
        if (!b) {
            fputs("physc: out of memory\n", stderr);
            exit(70);
        }
        b->size = block;
        b->used = 0;
        b->next = arena->head;
        arena->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    memset(p, 0, size);
    return p;
}

const char *phys_arena_strdup(phys_arena *arena, const char *s, size_t n)
{
    char *copy = phys_arena_alloc(arena, n + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    return copy;
}

phys_node *phys_node_new(phys_arena *arena, phys_node_kind kind, phys_loc loc)
{
    phys_node *n = phys_arena_alloc(arena, sizeof *n);
    n->kind = kind;
    n->loc = loc;
    return n;
}

void phys_node_add(phys_arena *arena, phys_node *parent, phys_node *child)
{
    /* Capacity doubles at powers of two; the old array stays in the arena. */
    int n = parent->nkids;
    if ((n & (n - 1)) == 0) {
        phys_node **grown = phys_arena_alloc(arena, sizeof *grown * (size_t)(n ? 2 * n : 1));
        if (n) memcpy(grown, parent->kids, sizeof *grown * (size_t)n);
        parent->kids = grown;
    }
    parent->kids[parent->nkids++] = child;
}

phys_node *phys_node_make(phys_arena *arena, phys_node_kind kind, phys_loc loc, int nkids, ...)
{
    phys_node *n = phys_node_new(arena, kind, loc);
    va_list ap;
    va_start(ap, nkids);
    for (int i = 0; i < nkids; i++) phys_node_add(arena, n, va_arg(ap, phys_node *));
    va_end(ap);
    return n;
}

static const char *const kind_names[N_NODE_KIND_COUNT] = {
    [N_NUMBER] = "number", [N_STRING] = "string", [N_NAME] = "name",
    [N_BINARY] = "binary", [N_NEGATE] = "negate", [N_COMPARE] = "compare",
    [N_LOGIC] = "logic", [N_NOT] = "not", [N_CALL] = "call",
    [N_NAMED_ARG] = "named-arg", [N_INDEX] = "index", [N_VECTOR] = "vector",
    [N_SET] = "set", [N_REDUCE] = "reduce",
    [N_BINDER] = "binder", [N_IF] = "if", [N_LIST] = "list",
    [N_PARAMETER] = "parameter", [N_COORD] = "coord", [N_REGION] = "region",
    [N_FIX] = "fix", [N_SAMPLE] = "sample", [N_CONSTRAINT] = "constraint",
    [N_TYPE] = "type", [N_PROGRAM] = "program", [N_MODEL] = "model",
    [N_IMPORT] = "import", [N_CONST] = "const", [N_PARAM] = "param",
    [N_LET] = "let", [N_DOMAIN] = "domain", [N_REGION_DECL] = "region-decl",
    [N_FIELD] = "field", [N_CONDITION] = "condition", [N_DATA] = "data",
    [N_LOSS_WEIGHT] = "loss-weight", [N_TRAIN] = "train", [N_STATE] = "state",
    [N_DYNAMICS] = "dynamics", [N_FORCE] = "force", [N_ENERGY] = "energy",
    [N_PARTICLES] = "particles", [N_SPINS] = "spins", [N_COUPLING] = "coupling",
    [N_SYMMETRY] = "symmetry", [N_CONSERVE] = "conserve", [N_SIMULATE] = "simulate",
    [N_RECALL] = "recall", [N_OUTPUT] = "output", [N_PRINT] = "print",
    [N_ERROR] = "error",
};

const char *phys_node_kind_name(phys_node_kind kind)
{
    return kind < N_NODE_KIND_COUNT && kind_names[kind] ? kind_names[kind] : "?";
}

const phys_node *phys_node_named_arg(const phys_node *call, const char *name)
{
    for (int i = 1; i < call->nkids; i++)
        if (call->kids[i]->kind == N_NAMED_ARG && !strcmp(call->kids[i]->name, name)) return call->kids[i]->kids[0];
    return NULL;
}

static void dump(FILE *out, const phys_node *node, int depth)
{
    fprintf(out, "%*s", 2 * depth, "");
    if (!node) {
        fputs("-\n", out);
        return;
    }
    fprintf(out, "%s", phys_node_kind_name(node->kind));
    if (node->op) {
        if (node->op == 'L') fputs(" <=", out);
        else if (node->op == 'G') fputs(" >=", out);
        else if (node->op == 'N') fputs(" !=", out);
        else if (node->op == 'E') fputs(" ==", out);
        else fprintf(out, " %c", node->op);
    }
    if (node->kind == N_NUMBER) fprintf(out, " %.17g", node->number);
    if (node->name) fprintf(out, node->kind == N_STRING ? " \"%s\"" : " %s", node->name);
    fprintf(out, " @%d:%d\n", node->loc.first_line, node->loc.first_column);
    for (int i = 0; i < node->nkids; i++) dump(out, node->kids[i], depth + 1);
}

void phys_ast_dump(FILE *out, const phys_node *node)
{
    dump(out, node, 0);
}

void phys_parse_free(phys_parse *parse)
{
    phys_arena_destroy(parse->arena);
    parse->arena = NULL;
    parse->program = NULL;
}
