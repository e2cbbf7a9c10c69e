/* system_eval.c - the potential energy and the forces of one configuration
 * of a particle system (physm_system), through its kernels.
 *
 * Each kernel runs over its index set: the particles of a set, every pair
 * (enumerated on the fly, open boundaries), the pairs of a neighbour list
 * (neighbors.c) under its cutoff, or the triplets of a centre and two of
 * its neighbours (from the full list, each unordered pair once). Items are split into a fixed number
 * of contiguous tasks (one per thread); a task takes CHUNK items at a time
 * through the kernel's generated loops: the probes' network inputs, one
 * forward jet per probe, then the body, which adds the kernel's sum and
 * scatters forces into the task's own buffers. Buffers are added in task
 * order, so a result is reproducible for a given thread count.
 *
 * When V is not linear in the kernels' sums (seeds_needed), a first pass
 * takes the sums only, the combine pseudo-term gives V and dV/dS_k, and a
 * second pass scatters forces scaled by them.
 *
 * An atomic network (physm_atomic) adds a pass before: the descriptor
 * kernels add each atom's descriptor G_i (values_f64, into per-task
 * buffers); the network gives E_i and dE_i/dG_i for every atom at once;
 * the force pass reads those as seeds. Training takes the same steps with
 * its own network evaluation, and the tangent pass (tangent_f64). */
#include "model_internal.h"
#include "neighbors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK = 256, MAX_SETS = 8 };

/* A task's workspace: what one chunk of items needs, and its sums. */
typedef struct {
    physm_probe_eval *probes;     /* per kernel, per probe (flattened) */
    double **probe_inputs;        /* per (kernel, probe) */
    const double **streams;       /* the longest kernel's pointer layout */
    int first[CHUNK], second[CHUNK];
    double *forces[MAX_SETS];     /* count x dim, per moving set */
    double *desc;                 /* count x n_features: descriptors or their tangents */
    double virial[9];
    double *sums;
    int failed;
} se_task;

typedef struct {
    physrt_neighbors *nl;
    long builds;                  /* of nl when the derived list was made */
    int *i, *j, *k;               /* cross pairs kept from the combined list, or triplets */
    double *shift;                /* dim (pairs) or 2 dim (triplets) per item */
    long n, cap;
    int borrowed;                 /* nl is an earlier kernel's (same sets, cutoff and kind of list) */
    long *pair_j, *pair_k;        /* triplets: the pairs of nl they are made of */
    long *near;                   /* triplets: a centre's pairs within the cutoff, */
    long near_cap;
    double *made_at;              /* and the positions they were made at (every pass of an evaluation uses them) */
    long made_n;
} se_list;

struct physm_system_eval {
    const physm_layout *lay;
    const physm_system *sys;
    physrt_pool *pool;
    int n_tasks;
    se_task *tasks;
    int *probe_base;              /* per kernel: its first probe in the flattened arrays */
    se_list *lists;               /* per kernel */
    int *iota;
    long max_count;
    double *combined;             /* positions of two sets, for cross lists */
    physm_term_eval *combine;
    double *sums, *seeds, *combine_out;
    double **arrays;              /* the configuration's attribute arrays, then the work arrays */
    long atoms;                   /* atomic networks: atoms of the set, */
    double *desc, *energies, *grad; /* their descriptors, E_i and dE_i/dG_i */
    double *hvp_t, *hvp_w;        /* Hessian-vector products: dG/dr.u and d(dE_i/dG_i) */
    physm_atomic_net *net;
    double atomic_seed;           /* dV/dS of the atomic sum, at the last evaluation */
    long extrapolated;            /* atom evaluations with a feature outside the training range */
    double skin;
    int skip_descriptors;         /* physm_system_eval_skip_descriptors */
    char error[256];
};

/* ------------------------------------------------------------------ */

static void destroy_task(const physm_system_eval *ev, se_task *t)
{
    const physm_system *s = ev->sys;
    for (int p = 0; t->probes && p < ev->probe_base[s->n_kernels]; p++) physm_probe_eval_free(&t->probes[p]);
    free(t->probes);
    free(t->probe_inputs);
    free(t->streams);
    for (int k = 0; k < MAX_SETS; k++) free(t->forces[k]);
    free(t->desc);
    free(t->sums);
}

void physm_system_eval_destroy(physm_system_eval *ev)
{
    if (!ev) return;
    for (int t = 0; ev->tasks && t < ev->n_tasks; t++) destroy_task(ev, &ev->tasks[t]);
    free(ev->tasks);
    for (int k = 0; ev->lists && k < ev->sys->n_kernels; k++) {
        if (!ev->lists[k].borrowed) physrt_neighbors_destroy(ev->lists[k].nl);
        free(ev->lists[k].i);
        free(ev->lists[k].j);
        free(ev->lists[k].k);
        free(ev->lists[k].shift);
        free(ev->lists[k].near);
        free(ev->lists[k].pair_j);
        free(ev->lists[k].pair_k);
        free(ev->lists[k].made_at);
    }
    free(ev->lists);
    free(ev->probe_base);
    free(ev->iota);
    free(ev->combined);
    physm_term_eval_destroy(ev->combine);
    free(ev->sums);
    free(ev->seeds);
    free(ev->combine_out);
    free(ev->arrays);
    free(ev->desc);
    free(ev->energies);
    free(ev->hvp_t);
    free(ev->hvp_w);
    free(ev->grad);
    physm_atomic_net_destroy(ev->net);
    free(ev);
}

static int init_task(physm_system_eval *ev, se_task *t, const long *count)
{
    const physm_system *s = ev->sys;
    const physm_model *m = ev->lay->model;
    int n_probes = ev->probe_base[s->n_kernels];
    size_t n_ptr = 1;
    for (int k = 0; k < s->n_kernels; k++) {
        size_t n = 0;
        for (int p = 0; p < s->kernels[k].n_probes; p++)
            n += (size_t)s->kernels[k].probes[p].n_streams * m->fields[s->kernels[k].probes[p].field].n_outputs;
        if (n > n_ptr) n_ptr = n;
    }
    t->probes = calloc((size_t)n_probes + 1, sizeof *t->probes);
    t->probe_inputs = calloc((size_t)n_probes + 1, sizeof *t->probe_inputs);
    t->streams = calloc(n_ptr, sizeof *t->streams);
    t->sums = calloc((size_t)s->n_sums + 1, sizeof *t->sums);
    if (!t->probes || !t->probe_inputs || !t->streams || !t->sums) return -1;
    for (int k = 0; k < s->n_kernels; k++)
        for (int p = 0; p < s->kernels[k].n_probes; p++) {
            physm_probe_eval *pe = &t->probes[ev->probe_base[k] + p];
            if (physm_probe_eval_init(pe, ev->lay, &s->kernels[k].probes[p], CHUNK)) return -1;
            t->probe_inputs[ev->probe_base[k] + p] = pe->inputs;
        }
    for (int k = 0; k < s->n_sets; k++)
        if (s->sets[k].moves && !(t->forces[k] = calloc((size_t)count[k] * s->dim + 1, sizeof(double)))) return -1;
    if (s->atomic && !(t->desc = calloc((size_t)(ev->atoms * s->atomic->n_features) + 1, sizeof(double)))) return -1;
    return 0;
}

physm_system_eval *physm_system_eval_create(const physm_layout *lay, const long *count, physrt_pool *pool)
{
    const physm_system *s = lay->model->system;
    physm_system_eval *ev = calloc(1, sizeof *ev);
    if (!ev) goto oom;
    ev->lay = lay;
    ev->sys = s;
    ev->pool = pool;
    ev->skin = -1;
    ev->n_tasks = pool ? physrt_pool_n_threads(pool) : 1; /* one force buffer each: fewer is faster for large N */
    ev->probe_base = calloc((size_t)s->n_kernels + 1, sizeof *ev->probe_base);
    ev->lists = calloc((size_t)s->n_kernels + 1, sizeof *ev->lists);
    ev->tasks = calloc((size_t)ev->n_tasks, sizeof *ev->tasks);
    ev->sums = calloc((size_t)s->n_sums + 1, sizeof *ev->sums);
    ev->seeds = calloc((size_t)s->n_sums + 1, sizeof *ev->seeds);
    ev->combine_out = calloc((size_t)s->n_sums + 2, sizeof *ev->combine_out);
    if (!ev->probe_base || !ev->lists || !ev->tasks || !ev->sums || !ev->seeds || !ev->combine_out) goto oom;
    for (int k = 0; k < s->n_kernels; k++) ev->probe_base[k + 1] = ev->probe_base[k] + s->kernels[k].n_probes;
    for (int k = 0; k < s->n_sets; k++)
        if (count[k] > ev->max_count) ev->max_count = count[k];
    ev->iota = malloc(sizeof *ev->iota * (size_t)(ev->max_count + 1));
    ev->arrays = calloc((size_t)s->n_arrays + 1, sizeof *ev->arrays);
    if (!ev->iota || !ev->arrays) goto oom;
    if (s->atomic) {
        ev->atoms = count[s->atomic->set];
        size_t nf = (size_t)s->atomic->n_features;
        ev->desc = calloc((size_t)ev->atoms * nf + 1, sizeof(double));
        ev->grad = calloc((size_t)ev->atoms * nf + 1, sizeof(double));
        ev->energies = calloc((size_t)ev->atoms + 1, sizeof(double));
        ev->hvp_t = calloc((size_t)ev->atoms * nf + 1, sizeof(double));
        ev->hvp_w = calloc((size_t)ev->atoms * nf + 1, sizeof(double));
        if (!ev->desc || !ev->grad || !ev->energies || !ev->hvp_t || !ev->hvp_w) goto oom;
    }
    for (long i = 0; i < ev->max_count; i++) ev->iota[i] = (int)i;
    for (int t = 0; t < ev->n_tasks; t++)
        if (init_task(ev, &ev->tasks[t], count)) goto oom;
    if (s->combine && !(ev->combine = physm_term_eval_create(lay, s->combine, 1))) {
        physm_system_eval_destroy(ev);
        return NULL;
    }
    return ev;
oom:
    fprintf(stderr, "%s: error: out of memory setting up the particle system's evaluation\n", lay->prog);
    physm_system_eval_destroy(ev);
    return NULL;
}

void physm_system_eval_set_skin(physm_system_eval *ev, double skin)
{
    ev->skin = skin;
}

long physm_system_eval_builds(const physm_system_eval *ev)
{
    long n = 0;
    for (int k = 0; k < ev->sys->n_kernels; k++)
        if (ev->lists[k].nl) n += physrt_neighbors_builds(ev->lists[k].nl);
    return n;
}

const char *physm_system_eval_error(const physm_system_eval *ev)
{
    return ev->error;
}

/* ------------------------------------------------------------ index sets */

static const double *positions(const physm_system *s, const physm_config *cfg, int set)
{
    for (int a = 0; a < s->sets[set].n_attributes; a++)
        if (s->sets[set].attributes[a].role == PHYSM_ROLE_POSITION) return cfg->arrays[s->sets[set].attributes[a].array];
    return NULL;
}

static int any_periodic(const physrt_cell *cell)
{
    return cell->periodic[0] || cell->periodic[1] || cell->periodic[2];
}

static int grow(se_list *L, int dim, int per_item, long more);
static int make_within(se_list *L, const physrt_pairs *P, long n, int dim, const double *r, double cutoff, int triplets);

/* Brings kernel k's neighbour list up to date. */
static int update_list(physm_system_eval *ev, int k, const physm_config *cfg)
{
    const physm_system *s = ev->sys;
    const physm_kernel *kr = &s->kernels[k];
    se_list *L = &ev->lists[k];
    const int cross = kr->kind == PHYSM_PAIRS_CROSS, triplets = kr->kind == PHYSM_TRIPLETS;
    for (int e = 0; !L->nl && !cross && e < k; e++) { /* one list for kernels that need the same */
        const physm_kernel *ke = &s->kernels[e];
        if (ev->lists[e].nl && ke->set_first == kr->set_first && ke->set_second == kr->set_second &&
            ke->cutoff == kr->cutoff && (ke->kind == PHYSM_PAIRS_HALF) == (kr->kind == PHYSM_PAIRS_HALF) &&
            ke->kind != PHYSM_PAIRS_CROSS)
            L->nl = ev->lists[e].nl, L->borrowed = 1;
    }
    if (!L->nl) {
        double skin = ev->skin >= 0 ? ev->skin : 0.15 * kr->cutoff;
        L->nl = physrt_neighbors_create(s->dim, kr->cutoff, skin, kr->kind == PHYSM_PAIRS_HALF);
        if (!L->nl) {
            snprintf(ev->error, sizeof ev->error, "out of memory for the neighbour list of %s", kr->name);
            return -1;
        }
    }
    const long na = cfg->count[kr->set_first], nb = cfg->count[kr->set_second];
    const double *r = positions(s, cfg, kr->set_first);
    long n = na;
    if (cross) { /* both sets in one list; pairs (i in a, j in b) kept */
        if (!ev->combined) {
            ev->combined = malloc(sizeof(double) * (size_t)((na + nb) * s->dim + 1));
            if (!ev->combined) return -1;
        }
        memcpy(ev->combined, r, sizeof(double) * (size_t)(na * s->dim));
        memcpy(ev->combined + na * s->dim, positions(s, cfg, kr->set_second), sizeof(double) * (size_t)(nb * s->dim));
        r = ev->combined;
        n = na + nb;
    }
    int rc = physrt_neighbors_update(L->nl, (int)n, r, &cfg->cell);
    if (rc < 0) {
        snprintf(ev->error, sizeof ev->error, "%s: %s", kr->name, physrt_neighbors_error(L->nl));
        return -1;
    }
    const physrt_pairs *P = physrt_neighbors_pairs(L->nl);
    if (triplets || kr->kind == PHYSM_PAIRS_FULL) return make_within(L, P, na, s->dim, r, kr->cutoff, triplets);
    if (!cross || L->builds == physrt_neighbors_builds(L->nl)) return 0;
    L->builds = physrt_neighbors_builds(L->nl);
    L->n = 0;
    for (long p = 0; p < P->n; p++) {
        if (!(P->i[p] < na && P->j[p] >= na)) continue;
        if (grow(L, s->dim, 1, 1)) return -1;
        L->i[L->n] = P->i[p];
        L->j[L->n] = (int)(P->j[p] - na);
        memcpy(L->shift + L->n * s->dim, P->shift + p * s->dim, sizeof(double) * (size_t)s->dim);
        L->n++;
    }
    return 0;
}

/* Room for more items after L->n. */
static int grow(se_list *L, int dim, int per_item, long more)
{
    if (L->n + more <= L->cap) return 0;
    while (L->n + more > L->cap) L->cap = L->cap ? 2 * L->cap : 1024;
    L->i = realloc(L->i, sizeof *L->i * (size_t)L->cap);
    L->j = realloc(L->j, sizeof *L->j * (size_t)L->cap);
    L->k = realloc(L->k, sizeof *L->k * (size_t)L->cap);
    L->shift = realloc(L->shift, sizeof *L->shift * (size_t)(L->cap * dim * per_item));
    L->pair_j = realloc(L->pair_j, sizeof *L->pair_j * (size_t)L->cap);
    L->pair_k = realloc(L->pair_k, sizeof *L->pair_k * (size_t)L->cap);
    return L->i && L->j && L->k && L->shift && L->pair_j && L->pair_k ? 0 : -1;
}

/* The pairs (i, j) of a full list closer than the cutoff now, or every
 * centre i with each unordered pair {j, k} of them (triplets), made at
 * every evaluation: the list's skin would triple the triplets of a solid
 * and nearly double its pairs (their terms are zero). */
static int make_within(se_list *L, const physrt_pairs *P, long n, int dim, const double *r, double cutoff, int triplets)
{
    const double within = cutoff * cutoff * (1 + 1e-12); /* a margin for rounding: the body applies the cutoff */
    const size_t bytes = sizeof(double) * (size_t)(n * dim);
    if (L->made_at && L->made_n == n && L->builds == physrt_neighbors_builds(L->nl) && !memcmp(L->made_at, r, bytes))
        return 0;
    if (L->made_n != n || !L->made_at) { /* room for this many particles; kept while n stays */
        free(L->made_at);
        if (!(L->made_at = malloc(bytes + 1))) return -1;
    }
    memcpy(L->made_at, r, bytes);
    L->made_n = n;
    L->builds = physrt_neighbors_builds(L->nl);
    L->n = 0;
    for (long i = 0; i < n; i++) {
        long m = 0;
        for (long p = P->start[i]; p < P->start[i + 1]; p++) {
            double d2 = 0;
            for (int x = 0; x < dim; x++) {
                const double d = r[(long)P->j[p] * dim + x] + P->shift[p * dim + x] - r[i * dim + x];
                d2 += d * d;
            }
            if (!(d2 < within)) continue;
            if (m == L->near_cap) {
                L->near_cap = L->near_cap ? 2 * L->near_cap : 64;
                L->near = realloc(L->near, sizeof *L->near * (size_t)L->near_cap);
                if (!L->near) return -1;
            }
            L->near[m++] = p;
        }
        if (!triplets) {
            if (grow(L, dim, 1, m)) return -1;
            for (long a = 0; a < m; a++) {
                const long p = L->near[a];
                L->i[L->n] = (int)i;
                L->j[L->n] = P->j[p];
                L->pair_j[L->n] = p;
                for (int x = 0; x < dim; x++) L->shift[L->n * dim + x] = P->shift[p * dim + x];
                L->n++;
            }
            continue;
        }
        if (grow(L, dim, 2, m * (m - 1) / 2)) return -1;
        for (long a = 0; a < m; a++)
            for (long b = a + 1; b < m; b++) {
                const long p = L->near[a], q = L->near[b];
                double *sh = L->shift + L->n * 2 * dim;
                L->i[L->n] = (int)i;
                L->j[L->n] = P->j[p];
                L->k[L->n] = P->j[q];
                L->pair_j[L->n] = p, L->pair_k[L->n] = q;
                for (int x = 0; x < dim; x++) sh[x] = P->shift[p * dim + x], sh[dim + x] = P->shift[q * dim + x];
                L->n++;
            }
    }
    return 0;
}

/* Items of kernel k: n and, for listed items, the arrays (NULL first:
 * pairs enumerated in place). */
static long kernel_items(const physm_system_eval *ev, int k, const physm_config *cfg, const int **first,
                         const int **second, const int **third, const double **shift)
{
    const physm_kernel *kr = &ev->sys->kernels[k];
    const long na = cfg->count[kr->set_first];
    *first = *second = *third = NULL;
    *shift = NULL;
    if (kr->kind == PHYSM_ITEMS) {
        *first = *second = *third = ev->iota;
        return na;
    }
    if (kr->cutoff > 0) {
        const se_list *L = &ev->lists[k];
        if (kr->kind == PHYSM_PAIRS_CROSS || kr->kind == PHYSM_TRIPLETS || kr->kind == PHYSM_PAIRS_FULL) {
            *first = L->i, *second = L->j, *shift = L->shift;
            *third = kr->kind == PHYSM_TRIPLETS ? L->k : L->i;
            return L->n;
        }
        const physrt_pairs *P = physrt_neighbors_pairs(L->nl);
        *first = *third = P->i, *second = P->j, *shift = P->shift;
        return P->n;
    }
    return na; /* every pair, enumerated in place: tasks split the first particle's range */
}

/* ------------------------------------------------------------- the runs */

/* What a pass computes: the kernels' sums; sums and forces; the
 * descriptors; their tangents. */
enum { PASS_SUMS, PASS_FORCES, PASS_HVP, PASS_VIRIAL, PASS_VALUES, PASS_TANGENT };

typedef struct {
    physm_system_eval *ev;
    const physm_config *cfg;
    const double *theta;
    int kernel;
    int pass;
    long n_items;
    const int *first, *second, *third;
    const double *shift;
} se_job;

static const double zero_shift[CHUNK * 3]; /* open boundaries: no image shift */

static void run_chunk(const se_job *J, se_task *t, int n, const int *first, const int *second, const int *third,
                      const double *shift)
{
    const physm_system_eval *ev = J->ev;
    const physm_system *s = ev->sys;
    const physm_kernel *kr = &s->kernels[J->kernel];
    const physm_layout *lay = ev->lay;
    const double *params = J->theta + lay->n_weights;
    const double *const *arrays = (const double *const *)ev->arrays;
    if (kr->n_probes) {
        kr->inputs_f64(n, first, second, third, shift, arrays, params, t->probe_inputs + ev->probe_base[J->kernel]);
        size_t q = 0;
        for (int p = 0; p < kr->n_probes; p++) {
            int written = physm_probe_eval_run(&t->probes[ev->probe_base[J->kernel] + p], lay, J->theta, n, t->streams + q);
            if (written < 0) {
                t->failed = 1;
                return;
            }
            q += (size_t)written;
        }
    }
    if (J->pass >= PASS_VALUES) {
        (J->pass == PASS_VALUES ? kr->values_f64 : kr->tangent_f64)(n, first, second, third, shift, arrays, params,
                                                                   t->streams, ev->seeds, &t->desc, t->sums);
        return;
    }
    if (J->pass == PASS_VIRIAL) {
        kr->virial_f64(n, first, second, third, shift, arrays, params, t->streams, ev->seeds, t->forces, t->virial);
        return;
    }
    physm_kernel_body_f64 fn = J->pass == PASS_FORCES ? kr->body_f64 : J->pass == PASS_HVP ? kr->hvp_f64 : kr->sum_f64;
    fn(n, first, second, third, shift, arrays, params, t->streams, ev->seeds, t->forces, t->sums);
}

static void run_task(void *ctx, int task, int n_tasks)
{
    const se_job *J = ctx;
    se_task *t = &J->ev->tasks[task];
    const physm_kernel *kr = &J->ev->sys->kernels[J->kernel];
    const long lo = J->n_items * task / n_tasks, hi = J->n_items * (task + 1) / n_tasks;
    if (J->first) {
        const long stride = (kr->kind == PHYSM_TRIPLETS ? 2 : 1) * J->ev->sys->dim;
        for (long p = lo; p < hi; p += CHUNK) {
            int n = (int)(hi - p < CHUNK ? hi - p : CHUNK);
            run_chunk(J, t, n, J->first + p, J->second + p, J->third + p, J->shift ? J->shift + p * stride : zero_shift);
        }
        return;
    }
    /* every pair: i over [lo, hi), j after i (half) or over the other set */
    const long nb = J->cfg->count[kr->set_second];
    int n = 0;
    for (long i = lo; i < hi; i++)
        for (long j = kr->kind == PHYSM_PAIRS_HALF ? i + 1 : 0; j < nb; j++) {
            if (kr->kind == PHYSM_PAIRS_FULL && j == i) continue;
            t->first[n] = (int)i;
            t->second[n] = (int)j;
            if (++n == CHUNK) {
                run_chunk(J, t, n, t->first, t->second, t->first, zero_shift);
                n = 0;
            }
        }
    if (n) run_chunk(J, t, n, t->first, t->second, t->first, zero_shift);
}

static void zero_tasks(physm_system_eval *ev, const physm_config *cfg, int pass)
{
    const physm_system *s = ev->sys;
    for (int t = 0; t < ev->n_tasks; t++) {
        memset(ev->tasks[t].sums, 0, sizeof(double) * (size_t)(s->n_sums + 1));
        memset(ev->tasks[t].virial, 0, sizeof ev->tasks[t].virial);
        for (int k = 0; (pass == PASS_FORCES || pass == PASS_HVP) && k < s->n_sets; k++)
            if (ev->tasks[t].forces[k]) memset(ev->tasks[t].forces[k], 0, sizeof(double) * (size_t)(cfg->count[k] * s->dim));
        if (pass >= PASS_VALUES)
            memset(ev->tasks[t].desc, 0, sizeof(double) * (size_t)(ev->atoms * s->atomic->n_features));
    }
}

static int run_pass(physm_system_eval *ev, const double *theta, const physm_config *cfg, int pass)
{
    const physm_system *s = ev->sys;
    zero_tasks(ev, cfg, pass);
    for (int k = 0; k < s->n_kernels; k++) {
        const physm_kernel *kr = &s->kernels[k];
        if ((pass == PASS_SUMS && kr->sum_index < 0) || (pass >= PASS_VALUES && !kr->n_features) ||
            (pass <= PASS_FORCES && kr->n_features && ev->skip_descriptors) ||
            (pass == PASS_HVP && !kr->hvp_f64) || (pass == PASS_VIRIAL && !kr->virial_f64))
            continue;
        if (kr->cutoff > 0 && update_list(ev, k, cfg)) return -1;
        if (kr->cutoff <= 0 && kr->kind != PHYSM_ITEMS && any_periodic(&cfg->cell)) {
            snprintf(ev->error, sizeof ev->error, "%s runs over every pair, which a periodic cell makes infinite: "
                     "give the sum a cutoff ('within rc')", kr->name);
            return -1;
        }
        se_job J = {ev, cfg, theta, k, pass, 0, NULL, NULL, NULL, NULL};
        J.n_items = kernel_items(ev, k, cfg, &J.first, &J.second, &J.third, &J.shift);
        if (ev->pool) physrt_pool_run(ev->pool, ev->n_tasks, run_task, &J);
        else
            for (int t = 0; t < ev->n_tasks; t++) run_task(&J, t, ev->n_tasks);
        for (int t = 0; t < ev->n_tasks; t++)
            if (ev->tasks[t].failed) {
                snprintf(ev->error, sizeof ev->error, "the network evaluation of %s failed", kr->name);
                return -1;
            }
    }
    for (int k = 0; k < s->n_sums; k++) {
        double sum = 0;
        for (int t = 0; t < ev->n_tasks; t++) sum += ev->tasks[t].sums[k];
        ev->sums[k] = sum;
    }
    return 0;
}

/* The tasks' force buffers added in task order into out[set] (overwritten). */
static void add_task_forces(const physm_system_eval *ev, const physm_config *cfg, double *const *out)
{
    const physm_system *s = ev->sys;
    for (int k = 0; k < s->n_sets; k++) {
        if (!s->sets[k].moves || !out[k]) continue;
        size_t n = (size_t)(cfg->count[k] * s->dim);
        memcpy(out[k], ev->tasks[0].forces[k], sizeof(double) * n);
        for (int t = 1; t < ev->n_tasks; t++)
            for (size_t i = 0; i < n; i++) out[k][i] += ev->tasks[t].forces[k][i];
    }
}

/* The configuration's arrays, then the atomic network's work arrays. */
static void bind_arrays(physm_system_eval *ev, const physm_config *cfg, const double *seeds, const double *tangent)
{
    const physm_system *s = ev->sys;
    for (int k = 0; k < s->n_sets; k++)
        for (int a = 0; a < s->sets[k].n_attributes; a++)
            ev->arrays[s->sets[k].attributes[a].array] = cfg->arrays[s->sets[k].attributes[a].array];
    if (s->atomic) {
        ev->arrays[s->atomic->seed_array] = (double *)seeds;
        ev->arrays[s->atomic->tangent_array] = (double *)tangent;
    }
}

/* The descriptor kernels' values (PASS_VALUES) or tangents along u
 * (PASS_TANGENT), summed over the tasks into out (atoms x n_features). */
static int descriptor_pass(physm_system_eval *ev, const double *theta, const physm_config *cfg, int pass,
                           const double *u, double *out)
{
    bind_arrays(ev, cfg, NULL, u);
    if (run_pass(ev, theta, cfg, pass)) return -1;
    size_t n = (size_t)(ev->atoms * ev->sys->atomic->n_features);
    memcpy(out, ev->tasks[0].desc, sizeof(double) * n);
    for (int t = 1; t < ev->n_tasks; t++)
        for (size_t i = 0; i < n; i++) out[i] += ev->tasks[t].desc[i];
    return 0;
}

int physm_system_eval_descriptors(physm_system_eval *ev, const double *theta, const physm_config *cfg, double *G)
{
    ev->error[0] = 0;
    return descriptor_pass(ev, theta, cfg, PASS_VALUES, NULL, G);
}

int physm_system_eval_tangent(physm_system_eval *ev, const double *theta, const physm_config *cfg, const double *u,
                              double *t)
{
    ev->error[0] = 0;
    return descriptor_pass(ev, theta, cfg, PASS_TANGENT, u, t);
}

int physm_system_eval_with(physm_system_eval *ev, const double *theta, const physm_config *cfg,
                           double atomic_energy, const double *dE_dG, double *energy, double *const *forces)
{
    const physm_system *s = ev->sys;
    ev->error[0] = 0;
    bind_arrays(ev, cfg, dE_dG, NULL);
    if (s->seeds_needed && run_pass(ev, theta, cfg, PASS_SUMS)) return -1;
    if (s->atomic) ev->sums[s->atomic->sum_index] = atomic_energy;
    if (s->seeds_needed) {
        if (physm_term_eval_run(ev->combine, theta, ev->sums, 1, ev->combine_out)) return -1;
        for (int k = 0; k < s->n_sums; k++) ev->seeds[k] = ev->combine_out[1 + k];
    }
    if (run_pass(ev, theta, cfg, PASS_FORCES)) return -1;
    if (s->atomic) ev->sums[s->atomic->sum_index] = atomic_energy;
    if (energy) {
        *energy = NAN;
        if (ev->combine) {
            if (physm_term_eval_run(ev->combine, theta, ev->sums, 1, ev->combine_out)) return -1;
            *energy = ev->combine_out[0];
            if (s->atomic) ev->atomic_seed = ev->combine_out[1 + s->atomic->sum_index];
        }
    }
    add_task_forces(ev, cfg, forces);
    return 0;
}

int physm_system_eval_run(physm_system_eval *ev, const double *theta, const physm_config *cfg, double *energy,
                          double *const *forces)
{
    const physm_atomic *a = ev->sys->atomic;
    if (!a) return physm_system_eval_with(ev, theta, cfg, 0, NULL, energy, forces);
    if (!ev->net) {
        ev->net = physm_atomic_net_create(ev->lay, ev->atoms);
        if (!ev->net) {
            snprintf(ev->error, sizeof ev->error, "out of memory for the atomic network");
            return -1;
        }
    }
    if (physm_system_eval_descriptors(ev, theta, cfg, ev->desc)) return -1;
    const double *species = a->species_array >= 0 ? cfg->arrays[a->species_array] : NULL;
    if (physm_atomic_net_energy(ev->net, theta, ev->atoms, species, ev->desc, ev->energies, ev->grad,
                                &ev->extrapolated)) {
        snprintf(ev->error, sizeof ev->error, "the atomic network's evaluation failed");
        return -1;
    }
    double e = 0;
    for (long i = 0; i < ev->atoms; i++) e += ev->energies[i];
    return physm_system_eval_with(ev, theta, cfg, e, ev->grad, energy, forces);
}

void physm_system_eval_skip_descriptors(physm_system_eval *ev, int skip)
{
    ev->skip_descriptors = skip;
}

void physm_desc_jacobian_free(physm_desc_jacobian *jac)
{
    free(jac->start);
    free(jac->neighbour);
    free(jac->d);
    free(jac->disp);
    memset(jac, 0, sizeof *jac);
}

/* Kernel k's Jacobian per item (jacobian_f64, a chunk at a time) added
 * into its pairs' rows of jac: a pair's own item, or a triplet's two. */
static void add_kernel_jacobian(physm_system_eval *ev, const double *theta, const physm_config *cfg, int k,
                                physm_desc_jacobian *jac, double *buf)
{
    const physm_system *s = ev->sys;
    const physm_kernel *kr = &s->kernels[k];
    const se_list *L = &ev->lists[k];
    const int *first, *second, *third;
    const double *shift;
    const long n_items = kernel_items(ev, k, cfg, &first, &second, &third, &shift);
    const int nf = s->atomic->n_features, dim = s->dim, nj = kr->n_jacobian, nk = kr->n_features;
    const long stride = (kr->kind == PHYSM_TRIPLETS ? 2 : 1) * dim;
    double *out[1] = {buf};
    for (long p = 0; p < n_items; p += CHUNK) {
        const int n = (int)(n_items - p < CHUNK ? n_items - p : CHUNK);
        kr->jacobian_f64(n, first + p, second + p, third + p, shift + p * stride, (const double *const *)ev->arrays,
                         theta + ev->lay->n_weights, ev->tasks[0].streams, ev->seeds, out, NULL);
        for (int q = 0; q < n; q++)
            for (int role = 1; role <= (kr->kind == PHYSM_TRIPLETS ? 2 : 1); role++) {
                const long pair = role == 1 ? L->pair_j[p + q] : L->pair_k[p + q];
                double *row = jac->d + (pair * nf + kr->feature_offset) * dim;
                const double *v = buf + (long)q * nj + (long)(role - 1) * nk * dim;
                for (int x = 0; x < nk * dim; x++) row[x] += v[x];
            }
    }
}

int physm_system_eval_jacobian(physm_system_eval *ev, const double *theta, const physm_config *cfg,
                               physm_desc_jacobian *jac, int with_disp)
{
    const physm_system *s = ev->sys;
    const physm_atomic *a = s->atomic;
    ev->error[0] = 0;
    memset(jac, 0, sizeof *jac);
    bind_arrays(ev, cfg, NULL, NULL);
    const physrt_neighbors *nl = NULL;
    int max_nj = 1;
    for (int k = 0; k < s->n_kernels; k++) {
        const physm_kernel *kr = &s->kernels[k];
        if (!kr->n_features) continue;
        if (!kr->jacobian_f64 || kr->cutoff <= 0 || (kr->kind != PHYSM_PAIRS_FULL && kr->kind != PHYSM_TRIPLETS)) {
            snprintf(ev->error, sizeof ev->error, "%s has no Jacobian", kr->name);
            return -1;
        }
        if (update_list(ev, k, cfg)) return -1;
        if (nl && ev->lists[k].nl != nl) {
            snprintf(ev->error, sizeof ev->error, "the descriptor kernels have lists of their own");
            return -1;
        }
        nl = ev->lists[k].nl;
        if (kr->n_jacobian > max_nj) max_nj = kr->n_jacobian;
    }
    if (!nl) {
        snprintf(ev->error, sizeof ev->error, "no descriptor kernels");
        return -1;
    }
    const physrt_pairs *P = physrt_neighbors_pairs(nl);
    const long n = cfg->count[a->set];
    const size_t row = (size_t)a->n_features * (size_t)s->dim;
    jac->n_atoms = n, jac->n_pairs = P->n;
    jac->start = malloc(sizeof *jac->start * (size_t)(n + 1));
    jac->neighbour = malloc(sizeof *jac->neighbour * (size_t)(P->n + 1));
    jac->d = calloc((size_t)P->n * row + 1, sizeof *jac->d);
    if (with_disp) jac->disp = malloc(sizeof *jac->disp * (size_t)(P->n * s->dim + 1));
    double *buf = malloc(sizeof *buf * (size_t)CHUNK * (size_t)max_nj);
    if (!jac->start || !jac->neighbour || !jac->d || (with_disp && !jac->disp) || !buf) {
        free(buf);
        physm_desc_jacobian_free(jac);
        snprintf(ev->error, sizeof ev->error, "out of memory for the descriptors' derivatives");
        return -1;
    }
    memcpy(jac->start, P->start, sizeof *jac->start * (size_t)(n + 1));
    memcpy(jac->neighbour, P->j, sizeof *jac->neighbour * (size_t)P->n);
    const double *r = positions(s, cfg, a->set);
    for (long p = 0; with_disp && p < P->n; p++)
        for (int x = 0; x < s->dim; x++)
            jac->disp[p * s->dim + x] = r[(long)P->j[p] * s->dim + x] + P->shift[p * s->dim + x] - r[(long)P->i[p] * s->dim + x];
    for (int k = 0; k < s->n_kernels; k++)
        if (s->kernels[k].n_features) add_kernel_jacobian(ev, theta, cfg, k, jac, buf);
    free(buf);
    return 0;
}

void physm_desc_jacobian_forces(const physm_desc_jacobian *J, int nf, int dim, const double *w, double seed, double *F,
                                double *W)
{
    for (long i = 0; i < J->n_atoms; i++)
        for (long p = J->start[i]; p < J->start[i + 1]; p++) {
            const double *d = J->d + p * nf * dim, *wi = w + i * nf;
            double *Fj = F + (long)J->neighbour[p] * dim, *Fi = F + i * dim, g[3] = {0, 0, 0};
            if (dim == 3) /* one sweep over the features */
                for (int f = 0; f < nf; f++)
                    g[0] += wi[f] * d[3 * f], g[1] += wi[f] * d[3 * f + 1], g[2] += wi[f] * d[3 * f + 2];
            else
                for (int x = 0; x < dim; x++)
                    for (int f = 0; f < nf; f++) g[x] += wi[f] * d[f * dim + x];
            for (int x = 0; x < dim; x++) {
                Fj[x] -= seed * g[x], Fi[x] += seed * g[x];
                for (int a = 0; W && a < dim; a++) W[a * dim + x] -= seed * J->disp[p * dim + a] * g[x];
            }
        }
}

void physm_desc_jacobian_tangent(const physm_desc_jacobian *J, int nf, int dim, const double *u, const double *B,
                                 double *t)
{
    memset(t, 0, sizeof(double) * (size_t)(J->n_atoms * nf));
    for (long i = 0; i < J->n_atoms; i++)
        for (long p = J->start[i]; p < J->start[i + 1]; p++) {
            const double *d = J->d + p * nf * dim;
            double delta[3] = {0, 0, 0}, *ti = t + i * nf; /* how far the pair's neighbour moves from its centre */
            for (int x = 0; x < dim; x++) {
                for (int b = 0; B && b < dim; b++) delta[x] += B[x * dim + b] * J->disp[p * dim + b];
                if (u) delta[x] += u[(long)J->neighbour[p] * dim + x] - u[i * dim + x];
            }
            if (dim == 3)
                for (int f = 0; f < nf; f++) ti[f] += d[3 * f] * delta[0] + d[3 * f + 1] * delta[1] + d[3 * f + 2] * delta[2];
            else
                for (int f = 0; f < nf; f++)
                    for (int x = 0; x < dim; x++) ti[f] += d[f * dim + x] * delta[x];
        }
}

double physm_system_eval_atomic_seed(const physm_system_eval *ev)
{
    return ev->atomic_seed;
}

long physm_system_eval_extrapolated(const physm_system_eval *ev)
{
    return ev->extrapolated;
}

/* Listed items (physm_item_list: another program's neighbour lists,
 * local_eval.c), one kernel, one pass; descriptors (PASS_VALUES) added
 * into G, count x n_features. */
static int items_pass(physm_system_eval *ev, const double *theta, const physm_config *cfg, int kernel,
                      const physm_item_list *items, int pass, double *sums, double *const *forces, double *G)
{
    const physm_system *s = ev->sys;
    zero_tasks(ev, cfg, pass);
    se_job J = {ev, cfg, theta, kernel, pass, items->n, items->first, items->second, items->third, items->shift};
    if (ev->pool) physrt_pool_run(ev->pool, ev->n_tasks, run_task, &J);
    else
        for (int t = 0; t < ev->n_tasks; t++) run_task(&J, t, ev->n_tasks);
    for (int t = 0; t < ev->n_tasks; t++) {
        if (ev->tasks[t].failed) {
            snprintf(ev->error, sizeof ev->error, "the network evaluation of %s failed", s->kernels[kernel].name);
            return -1;
        }
        for (int k = 0; sums && k < s->n_sums; k++) sums[k] += ev->tasks[t].sums[k];
        for (int set = 0; pass == PASS_FORCES && set < s->n_sets; set++) {
            const double *f = ev->tasks[t].forces[set];
            if (!f || !forces[set]) continue;
            for (long i = 0; i < cfg->count[set] * s->dim; i++) forces[set][i] += f[i];
        }
        for (long i = 0; G && i < cfg->count[s->atomic->set] * s->atomic->n_features; i++) G[i] += ev->tasks[t].desc[i];
    }
    return 0;
}

int physm_system_eval_items(physm_system_eval *ev, const double *theta, const physm_config *cfg, int kernel,
                            const physm_item_list *items, int with_forces, const double *dE_dG, double *sums,
                            double *const *forces)
{
    ev->error[0] = 0;
    bind_arrays(ev, cfg, dE_dG, NULL);
    return items_pass(ev, theta, cfg, kernel, items, with_forces ? PASS_FORCES : PASS_SUMS, sums, forces, NULL);
}

int physm_system_eval_item_descriptors(physm_system_eval *ev, const double *theta, const physm_config *cfg,
                                       int kernel, const physm_item_list *items, double *G)
{
    ev->error[0] = 0;
    bind_arrays(ev, cfg, NULL, NULL);
    return items_pass(ev, theta, cfg, kernel, items, PASS_VALUES, NULL, NULL, G);
}

int physm_system_eval_hvp(physm_system_eval *ev, const double *theta, const physm_config *cfg, const double *u,
                          double *const *out)
{
    const physm_system *s = ev->sys;
    const physm_atomic *a = s->atomic;
    ev->error[0] = 0;
    if (s->hvp_tangent_array < 0) {
        snprintf(ev->error, sizeof ev->error, "the model has no Hessian-vector products (a network probe in a kernel, "
                 "or a potential not linear in its sums)");
        return -1;
    }
    if (a && !ev->net) {
        snprintf(ev->error, sizeof ev->error, "a Hessian-vector product before the configuration's evaluation");
        return -1;
    }
    if (a) { /* the last run's scaled descriptors and dE/dG, and their tangents along u */
        const double *species = a->species_array >= 0 ? cfg->arrays[a->species_array] : NULL;
        if (physm_system_eval_tangent(ev, theta, cfg, u, ev->hvp_t) ||
            physm_atomic_net_hvp(ev->net, theta, ev->atoms, species, ev->desc, ev->hvp_t, ev->hvp_w)) {
            if (!ev->error[0]) snprintf(ev->error, sizeof ev->error, "the atomic network's Hessian failed");
            return -1;
        }
    }
    bind_arrays(ev, cfg, a ? ev->grad : NULL, u);
    if (a) ev->arrays[s->hvp_seed_array] = ev->hvp_w;
    else ev->arrays[s->hvp_tangent_array] = (double *)u;
    if (run_pass(ev, theta, cfg, PASS_HVP)) return -1;
    add_task_forces(ev, cfg, out);
    return 0;
}

int physm_system_eval_virial(physm_system_eval *ev, const double *theta, const physm_config *cfg, double *virial)
{
    const physm_system *s = ev->sys;
    bind_arrays(ev, cfg, s->atomic ? ev->grad : NULL, NULL); /* the last run's seeds */
    if (run_pass(ev, theta, cfg, PASS_VIRIAL)) return -1;
    for (int q = 0; q < s->dim * s->dim; q++) {
        virial[q] = 0;
        for (int t = 0; t < ev->n_tasks; t++) virial[q] += ev->tasks[t].virial[q];
    }
    return 0;
}
