/* jet_plan.c - derivative-stream plans: closure of the requested
 * multi-indices, stream order, and the multivariate Faa di Bruno expansion
 * of every stream with integer multiplicities. */
#include "jet_plan_internal.h"

#include <stdlib.h>
#include <string.h>

typedef unsigned char multi_index[PHYSRT_MAX_INPUTS];

static int total_order(const unsigned char *a, int n)
{
    int s = 0;
    for (int i = 0; i < n; i++) s += a[i];
    return s;
}

/* Stream order: total order first, then input by input with larger first. */
static int compare_streams(const unsigned char *a, const unsigned char *b, int n)
{
    int oa = total_order(a, n), ob = total_order(b, n);
    if (oa != ob) return oa < ob ? -1 : 1;
    for (int i = 0; i < n; i++)
        if (a[i] != b[i]) return a[i] > b[i] ? -1 : 1;
    return 0;
}

static int find_stream(const physrt_jet_plan *plan, const unsigned char *a)
{
    for (int s = 0; s < plan->n_streams; s++)
        if (memcmp(plan->mi[s], a, (size_t)plan->n_inputs) == 0) return s;
    return -1;
}

/* Number of multi-indices b <= a componentwise (size of a's closure). */
static int count_below(const unsigned char *a, int n)
{
    int c = 1;
    for (int i = 0; i < n; i++) c *= a[i] + 1;
    return c;
}

/* Add every b <= a to the set (mi, count) if not present yet. */
static void add_closure(multi_index *set, int *count, const unsigned char *a, int n)
{
    multi_index b;
    memset(b, 0, sizeof b);
    for (;;) {
        int found = 0;
        for (int s = 0; s < *count && !found; s++)
            found = memcmp(set[s], b, (size_t)n) == 0;
        if (!found) memcpy(set[(*count)++], b, sizeof b);
        /* odometer increment of b within the box [0, a] */
        int i = 0;
        while (i < n && b[i] == a[i]) b[i++] = 0;
        if (i == n) break;
        b[i]++;
    }
}

/* Set partitions of the multiset behind alpha, collected into terms.
 * items[i] is the input each of the m items differentiates by; the
 * restricted growth string rgs assigns items to blocks. */
static int expand_stream(physrt_jet_plan *plan, int stream, jet_term *out)
{
    int n = plan->n_inputs;
    const unsigned char *alpha = plan->mi[stream];
    int items[PHYSRT_MAX_ORDER], m = 0;
    for (int i = 0; i < n; i++)
        for (int r = 0; r < alpha[i]; r++) items[m++] = i;
    if (m == 0) {            /* value stream: a = s(z) */
        out[0].coeff = 1;
        out[0].k = 0;
        return 1;
    }
    int n_terms = 0;
    int rgs[PHYSRT_MAX_ORDER] = {0};
    for (;;) {
        int k = 0;
        for (int t = 0; t < m; t++) if (rgs[t] + 1 > k) k = rgs[t] + 1;
        multi_index blocks[PHYSRT_MAX_ORDER];
        memset(blocks, 0, sizeof blocks);
        for (int t = 0; t < m; t++) blocks[rgs[t]][items[t]]++;
        jet_term term;
        memset(&term, 0, sizeof term);
        term.coeff = 1;
        term.k = k;
        for (int b = 0; b < k; b++) term.block[b] = find_stream(plan, blocks[b]);
        /* canonical order of blocks so equal products collect */
        for (int a = 1; a < k; a++)
            for (int b = a; b > 0 && term.block[b - 1] > term.block[b]; b--) {
                int tmp = term.block[b];
                term.block[b] = term.block[b - 1];
                term.block[b - 1] = tmp;
            }
        int t;
        for (t = 0; t < n_terms; t++)
            if (out[t].k == k && memcmp(out[t].block, term.block, sizeof term.block) == 0)
                break;
        if (t < n_terms) out[t].coeff++;
        else out[n_terms++] = term;
        /* next restricted growth string: rgs[t] <= 1 + max(rgs[0..t-1]) */
        int pos = m - 1;
        while (pos > 0) {
            int mx = 0;
            for (int u = 0; u < pos; u++) if (rgs[u] > mx) mx = rgs[u];
            if (rgs[pos] <= mx) { rgs[pos]++; break; }
            rgs[pos] = 0;
            pos--;
        }
        if (pos == 0) break;
    }
    return n_terms;
}

/* Bell(4) = 15 set partitions bound the number of terms of one stream. */
#define MAX_TERMS_PER_STREAM 15

static physrt_jet_plan *plan_from_set(int n, multi_index *set, int count,
                                      const unsigned char *requested)
{
    physrt_jet_plan *plan = calloc(1, sizeof *plan);
    if (!plan) return NULL;
    plan->n_inputs = n;
    plan->n_streams = count;
    plan->mi = calloc((size_t)count, sizeof *plan->mi);
    plan->order = calloc((size_t)count, sizeof *plan->order);
    plan->requested = calloc((size_t)count, 1);
    plan->term_begin = calloc((size_t)count + 1, sizeof *plan->term_begin);
    plan->terms = calloc((size_t)count * MAX_TERMS_PER_STREAM, sizeof *plan->terms);
    if (!plan->mi || !plan->order || !plan->requested || !plan->term_begin || !plan->terms) {
        physrt_jet_plan_destroy(plan);
        return NULL;
    }
    /* insertion sort by stream order, carrying the requested flags */
    int *perm = malloc((size_t)count * sizeof *perm);
    if (!perm) { physrt_jet_plan_destroy(plan); return NULL; }
    for (int s = 0; s < count; s++) perm[s] = s;
    for (int a = 1; a < count; a++)
        for (int b = a; b > 0 && compare_streams(set[perm[b - 1]], set[perm[b]], n) > 0; b--) {
            int tmp = perm[b]; perm[b] = perm[b - 1]; perm[b - 1] = tmp;
        }
    for (int s = 0; s < count; s++) {
        memcpy(plan->mi[s], set[perm[s]], sizeof(multi_index));
        plan->order[s] = total_order(plan->mi[s], n);
        plan->requested[s] = requested[perm[s]];
        if (plan->order[s] > plan->max_order) plan->max_order = plan->order[s];
    }
    free(perm);
    int t = 0;
    for (int s = 0; s < count; s++) {
        plan->term_begin[s] = t;
        t += expand_stream(plan, s, plan->terms + t);
    }
    plan->term_begin[count] = t;
    return plan;
}

physrt_jet_plan *physrt_jet_plan_create(int n_inputs, int n_requested,
                                        const int *multi_indices)
{
    if (n_inputs < 1 || n_inputs > PHYSRT_MAX_INPUTS || n_requested < 0 ||
        (n_requested > 0 && !multi_indices))
        return NULL;
    /* validate and bound the closure size */
    int capacity = 1;
    for (int r = 0; r < n_requested; r++) {
        int ord = 0;
        unsigned char a[PHYSRT_MAX_INPUTS] = {0};
        for (int i = 0; i < n_inputs; i++) {
            int v = multi_indices[r * n_inputs + i];
            if (v < 0 || v > PHYSRT_MAX_ORDER) return NULL;
            ord += v;
            a[i] = (unsigned char)v;
        }
        if (ord > PHYSRT_MAX_ORDER) return NULL;
        capacity += count_below(a, n_inputs);
    }
    multi_index *set = calloc((size_t)capacity, sizeof *set);
    unsigned char *req = calloc((size_t)capacity, 1);
    if (!set || !req) { free(set); free(req); return NULL; }
    int count = 1;       /* the value stream is always present */
    for (int r = 0; r < n_requested; r++) {
        multi_index a = {0};
        for (int i = 0; i < n_inputs; i++)
            a[i] = (unsigned char)multi_indices[r * n_inputs + i];
        add_closure(set, &count, a, n_inputs);
    }
    for (int r = 0; r < n_requested; r++) {
        multi_index a = {0};
        for (int i = 0; i < n_inputs; i++)
            a[i] = (unsigned char)multi_indices[r * n_inputs + i];
        for (int s = 0; s < count; s++)
            if (memcmp(set[s], a, sizeof a) == 0) req[s] = 1;
    }
    physrt_jet_plan *plan = plan_from_set(n_inputs, set, count, req);
    free(set);
    free(req);
    return plan;
}

/* Value plus every multi-index of total order 1..max_order (max_order 1 or 2):
 * request e_i + e_j for i <= j (or e_i alone); the closure adds the rest. */
static physrt_jet_plan *plan_all_up_to(int n_inputs, int max_order)
{
    if (n_inputs < 1 || n_inputs > PHYSRT_MAX_INPUTS) return NULL;
    int mi[PHYSRT_MAX_INPUTS * PHYSRT_MAX_INPUTS * PHYSRT_MAX_INPUTS] = {0};
    int count = 0;
    for (int i = 0; i < n_inputs; i++) {
        if (max_order == 1) {
            mi[count++ * n_inputs + i] = 1;
            continue;
        }
        for (int j = i; j < n_inputs; j++) {
            int *row = mi + count++ * n_inputs;
            row[i]++;
            row[j]++;
        }
    }
    return physrt_jet_plan_create(n_inputs, count, mi);
}

physrt_jet_plan *physrt_jet_plan_create_gradient(int n_inputs)
{
    return plan_all_up_to(n_inputs, 1);
}

physrt_jet_plan *physrt_jet_plan_create_hessian(int n_inputs)
{
    return plan_all_up_to(n_inputs, 2);
}

physrt_jet_plan *physrt_jet_plan_clone(const physrt_jet_plan *plan)
{
    if (!plan) return NULL;
    physrt_jet_plan *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    *c = *plan;
    size_t ns = (size_t)plan->n_streams, nt = (size_t)plan->term_begin[plan->n_streams];
    c->mi = malloc(ns * sizeof *c->mi);
    c->order = malloc(ns * sizeof *c->order);
    c->requested = malloc(ns);
    c->term_begin = malloc((ns + 1) * sizeof *c->term_begin);
    c->terms = malloc((nt ? nt : 1) * sizeof *c->terms);
    if (!c->mi || !c->order || !c->requested || !c->term_begin || !c->terms) {
        physrt_jet_plan_destroy(c);
        return NULL;
    }
    memcpy(c->mi, plan->mi, ns * sizeof *c->mi);
    memcpy(c->order, plan->order, ns * sizeof *c->order);
    memcpy(c->requested, plan->requested, ns);
    memcpy(c->term_begin, plan->term_begin, (ns + 1) * sizeof *c->term_begin);
    memcpy(c->terms, plan->terms, nt * sizeof *c->terms);
    return c;
}

void physrt_jet_plan_destroy(physrt_jet_plan *plan)
{
    if (!plan) return;
    free(plan->mi);
    free(plan->order);
    free(plan->requested);
    free(plan->term_begin);
    free(plan->terms);
    free(plan);
}

int physrt_jet_plan_n_inputs(const physrt_jet_plan *plan) { return plan ? plan->n_inputs : 0; }
int physrt_jet_plan_n_streams(const physrt_jet_plan *plan) { return plan ? plan->n_streams : 0; }
int physrt_jet_plan_max_order(const physrt_jet_plan *plan) { return plan ? plan->max_order : 0; }

int physrt_jet_plan_index(const physrt_jet_plan *plan, const int *multi_index_in)
{
    if (!plan || !multi_index_in) return -1;
    multi_index a = {0};
    for (int i = 0; i < plan->n_inputs; i++) {
        if (multi_index_in[i] < 0 || multi_index_in[i] > PHYSRT_MAX_ORDER) return -1;
        a[i] = (unsigned char)multi_index_in[i];
    }
    return find_stream(plan, a);
}

int physrt_jet_plan_multi_index(const physrt_jet_plan *plan, int stream, int *out)
{
    if (!plan || !out || stream < 0 || stream >= plan->n_streams) return PHYSRT_EINVAL;
    for (int i = 0; i < plan->n_inputs; i++) out[i] = plan->mi[stream][i];
    return PHYSRT_OK;
}

int physrt_jet_plan_is_requested(const physrt_jet_plan *plan, int stream)
{
    if (!plan || stream < 0 || stream >= plan->n_streams) return 0;
    return plan->requested[stream];
}

int physrt_jet_plan_n_terms(const physrt_jet_plan *plan, int stream)
{
    if (!plan || stream < 0 || stream >= plan->n_streams) return 0;
    return plan->term_begin[stream + 1] - plan->term_begin[stream];
}

int physrt_jet_plan_term(const physrt_jet_plan *plan, int stream, int term,
                         int *coeff, int *k, int *blocks)
{
    if (term < 0 || term >= physrt_jet_plan_n_terms(plan, stream)) return PHYSRT_EINVAL;
    const jet_term *t = &plan->terms[plan->term_begin[stream] + term];
    if (coeff) *coeff = t->coeff;
    if (k) *k = t->k;
    if (blocks) for (int j = 0; j < t->k; j++) blocks[j] = t->block[j];
    return PHYSRT_OK;
}
