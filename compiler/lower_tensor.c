/* The lowering pass, base layer (see lower_internal.h for the layers):
 * tensors of DAG nodes, name bindings, the "not supported yet" error,
 * allocation, and the residuals of terms. Calls no other file of the pass. */
#include <stdarg.h>
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

tensor lw_failed(void)
{
    tensor t;
    memset(&t, 0, sizeof t);
    t.rank = -1;
    return t;
}

tensor lw_scalar_of(int node)
{
    tensor t;
    memset(&t, 0, sizeof t);
    t.n = 1;
    t.el[0] = node;
    return t;
}

tensor lw_unsupported(lctx *c, const phys_node *at, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    phys_error(c->diag, at->loc, "not supported yet: %s", what);
    return lw_failed();
}

const binding *lw_find_binding(const lctx *c, const char *name)
{
    for (int i = c->n_bindings - 1; i >= 0; i--)
        if (!strcmp(c->bindings[i].name, name)) return &c->bindings[i];
    return NULL;
}

int lw_bind(lctx *c, const phys_node *at, const char *name, tensor value)
{
    if (c->n_bindings == MAX_BINDINGS) {
        lw_unsupported(c, at, "more than %d nested names", MAX_BINDINGS);
        return 0;
    }
    c->bindings[c->n_bindings].name = name;
    c->bindings[c->n_bindings].value = value;
    c->n_bindings++;
    return 1;
}

void lw_add_residuals(lw_term *t, tensor r)
{
    t->residuals = realloc(t->residuals, sizeof(int) * (size_t)(t->n_residuals + r.n));
    if (!t->residuals) exit(70);
    for (int i = 0; i < r.n; i++) t->residuals[t->n_residuals++] = r.el[i];
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
