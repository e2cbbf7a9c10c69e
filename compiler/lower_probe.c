/* The lowering pass, probe layer (see lower_internal.h for the layers):
 * a field evaluated somewhere becomes a probe of its network, and each
 * derivative of it a stream of that probe, obtained by differentiating the
 * field's body (its hard-constraint transform around the network) with
 * dag_diff and substituting the probe's inputs; total derivatives through
 * the probes, and pruning what no residual reads. */
#include <stdlib.h>
#include <string.h>

#include "lower_internal.h"
#include "physrt.h"

/* ---------------------------------------------------------------- probes */

static int field_index(const lctx *c, const phys_symbol *sym)
{
    for (int i = 0; i < c->m->n_fields; i++)
        if (c->m->fields[i].sym == sym) return i;
    return -1;
}

int lw_find_probe(lctx *c, int field, const int *inputs)
{
    lw_term *t = c->term;
    const lw_field *f = &c->m->fields[field];
    for (int i = 0; i < t->n_probes; i++)
        if (t->probes[i].field == field && !memcmp(t->probes[i].inputs, inputs, sizeof(int) * (size_t)f->n_inputs))
            return i;
    t->probes = realloc(t->probes, sizeof *t->probes * (size_t)(t->n_probes + 1));
    if (!t->probes) exit(70);
    lw_probe *p = &t->probes[t->n_probes];
    memset(p, 0, sizeof *p);
    p->field = field;
    memcpy(p->inputs, inputs, sizeof(int) * (size_t)f->n_inputs);
    p->n_streams = 1; /* the value stream, always first */
    return t->n_probes++;
}

/* The stream slot (probe, stream alpha, output) of the current term as an
 * X_STREAM leaf, registering the stream and the slot on first use. */
int lw_stream_slot(lctx *c, int probe, const unsigned char *alpha, int output, int *overflow)
{
    lw_term *t = c->term;
    lw_probe *p = &t->probes[probe];
    int s = 0;
    while (s < p->n_streams && memcmp(p->streams[s], alpha, DAG_MAX_INPUTS)) s++;
    if (s == p->n_streams) {
        if (p->n_streams == MAX_STREAMS_PER_PROBE) {
            *overflow = 1;
            s = 0;
        } else {
            memcpy(p->streams[p->n_streams++], alpha, DAG_MAX_INPUTS);
        }
    }
    int slot = 0;
    while (slot < t->n_slots &&
           !(t->slots[slot].probe == probe && t->slots[slot].stream == s && t->slots[slot].output == output))
        slot++;
    if (slot == t->n_slots) {
        t->slots = realloc(t->slots, sizeof *t->slots * (size_t)(t->n_slots + 1));
        if (!t->slots) exit(70);
        t->slots[slot].probe = probe;
        t->slots[slot].stream = s;
        t->slots[slot].output = output;
        t->n_slots++;
    }
    return dag_leaf(c->dag, X_STREAM, slot);
}

typedef struct {
    lctx *c;
    int probe;
    int overflow;
} probe_ref;

/* dag_substitute callback: the network stream alpha of the probe becomes a
 * stream slot of the term. */
static int stream_leaf(void *ctx, const unsigned char *alpha, int output)
{
    probe_ref *ref = ctx;
    return lw_stream_slot(ref->c, ref->probe, alpha, output, &ref->overflow);
}

/* Field `f` (with derivative variables vars[0..n_vars)) at the given input
 * nodes: one element per output. */
const tensor *lw_field_at(lctx *c, const phys_node *at, const phys_symbol *sym, const int *inputs, const int *vars,
                          int n_vars)
{
    int fi = field_index(c, sym);
    if (fi < 0) return NULL; /* its declaration failed to lower: reported there */
    if (!c->term) return lw_unsupported(c, at, "a field used inside the definition of another field");
    const lw_field *f = &c->m->fields[fi];
    probe_ref ref = {c, lw_find_probe(c, fi, inputs), 0};
    tensor *out = lw_tensor(c, at, f->n_outputs);
    if (!out) return NULL;
    out->rank = f->n_outputs > 1;
    out->dims[0] = f->n_outputs > 1 ? f->n_outputs : 0;
    for (int o = 0; o < f->n_outputs; o++) {
        int node = f->body[o];
        int too_high = 0;
        for (int k = 0; k < n_vars; k++) node = dag_diff(c->dag, node, vars[k], &too_high);
        if (too_high) return lw_unsupported(c, at, "derivatives of order above %d", DAG_MAX_ORDER);
        out->el[o] = dag_substitute(c->dag, node, inputs, stream_leaf, &ref);
    }
    if (ref.overflow) return lw_unsupported(c, at, "more than %d derivative streams of one field", MAX_STREAMS_PER_PROBE);
    return out;
}

/* The inputs of a field where it is used bare: bound names of its inputs. */
/* How many network inputs formal i of a field takes: a vector state gives
 * one per element. */
int lw_formal_width(lctx *c, const phys_symbol *sym, int i)
{
    const phys_symbol *g = sym->kind == SYM_FIELD ? phys_sema_lookup(c->sema, sym->inputs[i]) : NULL;
    return g && g->kind == SYM_STATE && g->shape.rank == 1 ? g->shape.dims[0] : 1;
}

/* Is formal i of a field a vector state (q[n], even of one number)? */
int lw_formal_is_vector(lctx *c, const phys_symbol *sym, int i)
{
    const phys_symbol *g = sym->kind == SYM_FIELD ? phys_sema_lookup(c->sema, sym->inputs[i]) : NULL;
    return g && g->kind == SYM_STATE && g->shape.rank == 1;
}

int lw_bound_inputs(lctx *c, const phys_node *at, const phys_symbol *sym, int *inputs)
{
    int n = 0;
    for (int i = 0; i < sym->n_inputs; i++) {
        const binding *b = lw_find_binding(c, sym->inputs[i]);
        int width = lw_formal_width(c, sym, i);
        if (!b || b->value->n != width || (!lw_formal_is_vector(c, sym, i) && b->value->rank != 0) ||
            n + width > DAG_MAX_INPUTS) {
            lw_unsupported(c, at, "field %s used where its input '%s' is not a coordinate", sym->name, sym->inputs[i]);
            return 0;
        }
        memcpy(inputs + n, b->value->el, sizeof(int) * (size_t)width);
        n += width;
    }
    return 1;
}

int lw_input_position(lctx *c, const phys_symbol *sym, const char *name)
{
    int n = 0;
    for (int i = 0; i < sym->n_inputs; i++) {
        if (!strcmp(sym->inputs[i], name)) return n;
        n += lw_formal_width(c, sym, i);
    }
    return -1;
}

/* --------------------------------------------- derivatives through probes */

/* Gradients with respect to states and particle positions (dH/dp, -grad(V,
 * r)) differentiate expressions that evaluate fields at points depending on
 * those values. The values are first bound to placeholder leaves; the
 * expression is differentiated with the chain rule through each probe
 * (d stream / d x = sum_k stream(alpha + e_k) * d input_k / d x); then the
 * placeholders are replaced by the real values, which re-probes the fields
 * there. Probes left without use are pruned when the term is done. */

enum { PLACEHOLDER_BASE = 1 << 20 }; /* X_INPUT indices of placeholders, above any field input */

int lw_placeholder(lctx *c)
{
    c->prune = 1;
    return dag_leaf(c->dag, X_INPUT, PLACEHOLDER_BASE + c->n_placeholders++);
}


typedef struct {
    lctx *c;
    dag_node var;
    int *bad;
} chain_ctx;

static int chain_leaf(void *ctx, const dag_node *leaf)
{
    chain_ctx *k = ctx;
    lctx *c = k->c;
    if (leaf->op != X_STREAM) return dag_const(c->dag, leaf->op == k->var.op && leaf->index == k->var.index);
    lw_slot s = c->term->slots[leaf->index];
    int n_in = c->m->fields[c->term->probes[s.probe].field].n_inputs;
    unsigned char alpha[DAG_MAX_INPUTS];
    memcpy(alpha, c->term->probes[s.probe].streams[s.stream], DAG_MAX_INPUTS);
    int order = 0;
    for (int i = 0; i < DAG_MAX_INPUTS; i++) order += alpha[i];
    int sum = dag_const(c->dag, 0.0);
    for (int i = 0; i < n_in; i++) {
        int d_input = lw_total_diff(c, c->term->probes[s.probe].inputs[i], dag_leaf(c->dag, k->var.op, k->var.index), k->bad);
        if (dag_is_const(c->dag, d_input, 0.0)) continue;
        if (order >= DAG_MAX_ORDER) {
            *k->bad = 1;
            continue;
        }
        alpha[i]++;
        int higher = lw_stream_slot(c, s.probe, alpha, s.output, k->bad);
        alpha[i]--;
        sum = dag_binary(c->dag, X_ADD, sum, dag_binary(c->dag, X_MUL, d_input, higher));
    }
    return sum;
}

/* d node / d var, var a leaf (a placeholder or a coordinate); *bad is set
 * past the derivative order the runtime computes. */
int lw_total_diff(lctx *c, int node, int var, int *bad)
{
    chain_ctx k = {c, *dag_at(c->dag, var), bad};
    return dag_diff_by(c->dag, node, chain_leaf, &k);
}

typedef struct {
    lctx *c;
    int n;
    const int *from, *to;          /* placeholder leaves and their values */
    int bad;
} rebind_ctx;

static int rebind_leaf(void *ctx, const dag_node *leaf)
{
    rebind_ctx *r = ctx;
    lctx *c = r->c;
    if (leaf->op == X_INPUT) {
        for (int i = 0; i < r->n; i++)
            if (dag_at(c->dag, r->from[i])->index == leaf->index) return r->to[i];
        return -1;
    }
    if (leaf->op != X_STREAM) return -1;
    lw_slot s = c->term->slots[leaf->index];
    int field = c->term->probes[s.probe].field;
    int n_in = c->m->fields[field].n_inputs, inputs[DAG_MAX_INPUTS], changed = 0;
    for (int i = 0; i < n_in; i++) {
        int old = c->term->probes[s.probe].inputs[i];
        inputs[i] = dag_rewrite(c->dag, old, rebind_leaf, r);
        changed |= inputs[i] != old;
    }
    if (!changed) return -1;
    unsigned char alpha[DAG_MAX_INPUTS];
    memcpy(alpha, c->term->probes[s.probe].streams[s.stream], DAG_MAX_INPUTS);
    return lw_stream_slot(c, lw_find_probe(c, field, inputs), alpha, s.output, &r->bad);
}

/* node with the placeholders from[k] replaced by to[k]. */
static int rebind_placeholders(lctx *c, int node, int n, const int *from, const int *to, int *bad)
{
    rebind_ctx r = {c, n, from, to, 0};
    int out = dag_rewrite(c->dag, node, rebind_leaf, &r);
    *bad |= r.bad;
    return out;
}

static void mark_slots(lctx *c, int node, char *seen, int *slot_map)
{
    if (seen[node]) return;
    seen[node] = 1;
    const dag_node *n = dag_at(c->dag, node);
    if (n->op == X_STREAM) {
        if (slot_map[n->index] >= 0) return;
        slot_map[n->index] = 1;
        const lw_probe *p = &c->term->probes[c->term->slots[n->index].probe];
        for (int i = 0; i < c->m->fields[p->field].n_inputs; i++) mark_slots(c, p->inputs[i], seen, slot_map);
        return;
    }
    int kids[3] = {n->a, n->b, n->c};
    for (int k = 0; k < 3; k++)
        if (kids[k] >= 0 && n->op > X_NET) mark_slots(c, kids[k], seen, slot_map);
}

typedef struct {
    lctx *c;
    const int *slot_map;
} slot_rename;

static int rename_slot(void *ctx, const dag_node *leaf)
{
    slot_rename *r = ctx;
    if (leaf->op != X_STREAM) return -1;
    return dag_leaf(r->c->dag, X_STREAM, r->slot_map[leaf->index]);
}

/* Drops the probes, streams and slots the residuals do not reach (left by
 * placeholders), renumbering what stays. */
void lw_prune_term(lctx *c, lw_term *t)
{
    if (!c->prune) return;
    c->prune = 0;
    lw_term *saved = c->term;
    c->term = t;
    int size = dag_size(c->dag);
    char *seen = lw_xcalloc((size_t)size, 1);
    int *slot_map = lw_xcalloc((size_t)t->n_slots + 1, sizeof(int));
    int *probe_map = lw_xcalloc((size_t)t->n_probes + 1, sizeof(int));
    for (int i = 0; i < t->n_slots; i++) slot_map[i] = -1;
    for (int j = 0; j < t->n_residuals; j++) mark_slots(c, t->residuals[j], seen, slot_map);
    /* kept probes, and within each the value stream and the streams used */
    for (int p = 0; p < t->n_probes; p++) probe_map[p] = -1;
    for (int i = 0; i < t->n_slots; i++)
        if (slot_map[i] >= 0) probe_map[t->slots[i].probe] = 1;
    int n_probes = 0;
    int (*stream_map)[MAX_STREAMS_PER_PROBE] = lw_xcalloc((size_t)t->n_probes + 1, sizeof *stream_map);
    for (int p = 0; p < t->n_probes; p++) {
        if (probe_map[p] < 0) continue;
        lw_probe *probe = &t->probes[p];
        char used[MAX_STREAMS_PER_PROBE] = {1};
        for (int i = 0; i < t->n_slots; i++)
            if (slot_map[i] >= 0 && t->slots[i].probe == p) used[t->slots[i].stream] = 1;
        int n_streams = 0;
        for (int st = 0; st < probe->n_streams; st++) {
            stream_map[p][st] = used[st] ? n_streams : -1;
            if (used[st]) memmove(probe->streams[n_streams++], probe->streams[st], DAG_MAX_INPUTS);
        }
        probe->n_streams = n_streams;
        probe_map[p] = n_probes;
        if (n_probes != p) t->probes[n_probes] = *probe;
        n_probes++;
    }
    int n_slots = 0;
    for (int i = 0; i < t->n_slots; i++) {
        if (slot_map[i] < 0) continue;
        lw_slot s = t->slots[i];
        t->slots[n_slots] = (lw_slot){probe_map[s.probe], stream_map[s.probe][s.stream], s.output};
        slot_map[i] = n_slots++;
    }
    t->n_probes = n_probes;
    t->n_slots = n_slots;
    slot_rename r = {c, slot_map};
    for (int j = 0; j < t->n_residuals; j++) t->residuals[j] = dag_rewrite(c->dag, t->residuals[j], rename_slot, &r);
    for (int p = 0; p < t->n_probes; p++)
        for (int i = 0; i < c->m->fields[t->probes[p].field].n_inputs; i++)
            t->probes[p].inputs[i] = dag_rewrite(c->dag, t->probes[p].inputs[i], rename_slot, &r);
    free(stream_map);
    free(probe_map);
    free(slot_map);
    free(seen);
    c->term = saved;
}

/* grad[k] = d value / d ph[k] at ph = x: value was lowered with the names
 * differentiated bound to the placeholders ph; each derivative is then
 * moved to the real values x. Sets *bad past what the runtime computes. */
void lw_gradient_at(lctx *c, int value, int n, const int *ph, const int *x, int *grad, int *bad)
{
    for (int k = 0; k < n; k++) grad[k] = rebind_placeholders(c, lw_total_diff(c, value, ph[k], bad), n, ph, x, bad);
}

/* The hidden widths and activation of mlp(...) into f. */
int lw_network_shape(lctx *c, const phys_node *net, lw_field *f)
{
    const phys_node *hidden = phys_node_named_arg(net, "hidden");
    f->n_hidden = hidden ? hidden->nkids : 0;
    if (f->n_hidden > 64) {
        lw_unsupported(c, hidden, "more than 64 hidden layers");
        return 0;
    }
    for (int i = 0; i < f->n_hidden; i++) {
        double w = 0;
        phys_sema_fold(c->sema, hidden->kids[i], &w);
        f->hidden[i] = (int)w;
    }
    const phys_node *act = phys_node_named_arg(net, "activation");
    physrt_activation a = PHYSRT_ACT_TANH;
    if (act && physrt_activation_parse(act->name, &a) != PHYSRT_OK) a = PHYSRT_ACT_TANH;
    f->activation = (int)a;
    const phys_node *init = phys_node_named_arg(net, "init");
    if (init && strcmp(init->name, "xavier")) {
        lw_unsupported(c, init, "init = %s (the runtime initialises with xavier)", init->name);
        return 0;
    }
    return 1;
}
