/* The lowering pass, base layer (see lower_internal.h for the layers):
 * tensors of DAG nodes, name bindings, the "not supported yet" error,
 * allocation, and the residuals of terms. Calls no other file of the pass. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower_internal.h"

void *lw_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fputs("physc: out of memory\n", stderr);
        exit(70);
    }
    return p;
}

/* ------------------------------------------------------------- tensors */

/* Tensors live on a stack of chunks the context owns: allocated in order,
 * released back to a mark (lw_tensor_keep), freed with the context. A
 * chunk holds the largest tensor, so a tensor never spans two. */
enum { TENSOR_CHUNK = 64 * 1024 };

struct lw_chunk {
    struct lw_chunk *next;
    size_t used;
    _Alignas(16) unsigned char bytes[TENSOR_CHUNK];
};

_Static_assert(sizeof(tensor) + sizeof(int) * MAX_ELEMENTS <= TENSOR_CHUNK, "a chunk holds the largest tensor");

static size_t tensor_bytes(int n)
{
    return (sizeof(tensor) + sizeof(int) * (size_t)n + 15) & ~(size_t)15;
}

/* Room for n elements (at most MAX_ELEMENTS), after the chunk's used
 * part or at the start of the next chunk (reused when there is one). */
static tensor *reserve(lctx *c, int n)
{
    size_t size = tensor_bytes(n);
    struct lw_chunk *k = c->tensor_top;
    if (!k || k->used + size > TENSOR_CHUNK) {
        struct lw_chunk *next = k ? k->next : c->tensor_chunks;
        if (!next) {
            next = lw_xcalloc(1, sizeof *next);
            if (k) k->next = next;
            else c->tensor_chunks = next;
        }
        next->used = 0;
        c->tensor_top = k = next;
    }
    tensor *t = (tensor *)(k->bytes + k->used);
    k->used += size;
    return t;
}

static tensor *allocate(lctx *c, int n)
{
    tensor *t = reserve(c, n);
    memset(t, 0, tensor_bytes(n));
    return t;
}

tensor *lw_tensor(lctx *c, const phys_node *at, int n)
{
    if (n < 0 || n > MAX_ELEMENTS) {
        lw_unsupported(c, at, "values of more than %d numbers", MAX_ELEMENTS);
        return NULL;
    }
    tensor *t = allocate(c, n);
    t->n = n;
    return t;
}

tensor *lw_tensor_copy(lctx *c, const tensor *t)
{
    tensor *r = allocate(c, t->n);
    memcpy(r, t, sizeof *t + sizeof(int) * (size_t)t->n);
    return r;
}

const tensor *lw_scalar_of(lctx *c, int node)
{
    tensor *t = allocate(c, 1);
    t->n = 1;
    t->el[0] = node;
    return t;
}

lw_mark lw_tensor_mark(const lctx *c)
{
    lw_mark m = {c->tensor_top, c->tensor_top ? c->tensor_top->used : 0};
    return m;
}

/* Was t allocated after mark m (and is it still on the stack)? */
static int above(const lctx *c, lw_mark m, const tensor *t)
{
    uintptr_t p = (uintptr_t)t;
    for (struct lw_chunk *k = m.chunk ? m.chunk : c->tensor_chunks; k; k = k->next) {
        uintptr_t lo = (uintptr_t)k->bytes + (k == m.chunk ? m.used : 0), hi = (uintptr_t)k->bytes + k->used;
        if (p >= lo && p < hi) return 1;
        if (k == c->tensor_top) break;
    }
    return 0;
}

const tensor *lw_tensor_keep(lctx *c, lw_mark m, const tensor *t)
{
    int moves = t && above(c, m, t);
    c->tensor_top = m.chunk;
    if (m.chunk) m.chunk->used = m.used;
    if (!moves) return t;
    /* the copy lands at the mark or at the start of a later chunk: never
     * after t, so memmove sees t whole */
    tensor *r = reserve(c, t->n);
    memmove(r, t, sizeof *t + sizeof(int) * (size_t)t->n);
    return r;
}

void lw_tensors_free(lctx *c)
{
    for (struct lw_chunk *k = c->tensor_chunks, *next; k; k = next) {
        next = k->next;
        free(k);
    }
    c->tensor_chunks = c->tensor_top = NULL;
}

const tensor *lw_unsupported(lctx *c, const phys_node *at, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    phys_error(c->diag, at->loc, "not supported yet: %s", what);
    return NULL;
}

const binding *lw_find_binding(const lctx *c, const char *name)
{
    for (int i = c->n_bindings - 1; i >= 0; i--)
        if (!strcmp(c->bindings[i].name, name)) return &c->bindings[i];
    return NULL;
}

int lw_bind(lctx *c, const phys_node *at, const char *name, const tensor *value)
{
    if (!value) return 0; /* failed: reported */
    if (c->n_bindings == MAX_BINDINGS) {
        lw_unsupported(c, at, "more than %d nested names", MAX_BINDINGS);
        return 0;
    }
    c->bindings[c->n_bindings].name = name;
    c->bindings[c->n_bindings].value = value;
    c->n_bindings++;
    return 1;
}

void lw_add_nodes(lw_term *t, const int *nodes, int n)
{
    t->residuals = realloc(t->residuals, sizeof(int) * (size_t)(t->n_residuals + n) + 1);
    if (!t->residuals) exit(70);
    for (int i = 0; i < n; i++) t->residuals[t->n_residuals++] = nodes[i];
}

void lw_add_residuals(lw_term *t, const tensor *r)
{
    lw_add_nodes(t, r->el, r->n);
}

double lw_arg_or(lctx *c, const phys_node *call, const char *name, double fallback)
{
    const phys_node *a = phys_node_named_arg(call, name);
    double v;
    if (a && phys_sema_fold(c->sema, a, &v)) return v;
    return fallback;
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
const tensor *lw_shaped(lctx *c, const phys_node *at, const phys_symbol *s, const int *nodes)
{
    tensor *t = lw_tensor(c, at, lw_size_of(s));
    if (!t) return NULL;
    t->rank = s->shape.rank;
    t->dims[0] = s->shape.dims[0];
    t->dims[1] = s->shape.dims[1];
    memcpy(t->el, nodes, sizeof(int) * (size_t)t->n);
    return t;
}

void lw_free_term(lw_term *t)
{
    free(t->faces);
    free(t->probes);
    free(t->slots);
    free(t->residuals);
}

void phys_lower_free_term(lw_term *t)
{
    if (!t) return;
    lw_free_term(t);
    free(t);
}
