/* loss_tmpl.h - the physics-informed loss for one precision; included by
 * loss.c with T (double or float) and SUF (f64 or f32) defined.
 *
 * A term's points are split into parts on tile boundaries (several per
 * thread, so a descheduled thread does not hold up the others), and the
 * parts of all terms are the tasks of one parallel run per evaluation,
 * claimed dynamically, largest terms first. A task borrows one of the
 * per-thread workspaces (arenas) and takes its part's points one tile
 * (MLP_TT points) at a time through the whole pipeline:
 * the probes' inputs, one forward jet per probe (mlp_tile.h), the
 * residuals r and their squares, then dr = 2 weight r / count, the term's
 * VJP into the probes' output adjoints and the constants' gradient, and one
 * reverse sweep per probe. A tile's state stays in cache and nothing grows
 * with the number of points but the points themselves. Sums over points go
 * to per-task accumulators that are added in task order at the end, so the
 * loss and gradient are reproducible for a given thread count.
 *
 * Data-parallel, a rank holds a share of every term's points: the means are
 * over all of them (n_total), and the ranks' sums of r^2 and gradients are
 * added in rank order (physm_mpi_sum) before the means are taken. */

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define LOSS_T CAT(physm_loss, SUF)
#define NET_T CAT(mlp_tile_net, SUF)
#define PROBE_T CAT(loss_probe, SUF)
#define SLOT_T CAT(loss_slot, SUF)
#define TERM_T CAT(loss_term, SUF)
#define CALL_T CAT(loss_call, SUF)

typedef struct {
    int field, n_in, n_out;
    NET_T *net;
    int *stream_index;            /* per requested stream: its index in the plan */
} PROBE_T;

/* What a term needs in one arena, carved from it. */
typedef struct {
    T **ws;                       /* per probe: tile workspace */
    T **inputs;                   /* per probe: MLP_TT x n_in */
    const T **streams;            /* per (probe, stream, output), into ws */
    T **dstreams;
    T *r, *dr;                    /* n_residuals x MLP_TT */
} SLOT_T;

typedef struct {
    const physm_term *term;
    int n;
    size_t count;                 /* residual entries over all ranks' points */
    int n_parts;                  /* parts this term's points are split into */
    T *points;                    /* n x n_coords */
    PROBE_T *probes;
    SLOT_T *slots;                /* per arena */
} TERM_T;

/* Arguments of the running evaluation, read by the tasks. */
typedef struct {
    LOSS_T *loss;
    const T *theta;
    int with_grad;
} CALL_T;

struct LOSS_T {
    const physm_layout *lay;
    physrt_pool *pool;
    int n_parts;                  /* at most, per term */
    TERM_T *terms;
    int n_tasks;                  /* (term, part) pairs */
    int *task_term, *task_part;
    int n_arenas;                 /* one per thread: the tasks running at once */
    T **arena;
    atomic_int *arena_busy;
    T *task_grad;                 /* n_tasks x n_theta */
    double *task_sum;             /* n_tasks: sums of r^2 */
    physm_mpi *mpi;               /* NULL: one process */
    physm_frames_loss **frames;   /* per term: frames data (float64 only), else NULL */
    double *reduce;               /* with mpi: n_terms sums, then n_theta gradient */
    double *weight;               /* n_terms: the terms' weights (adaptive ones change) */
};

void CAT(physm_loss_destroy, SUF)(LOSS_T *loss)
{
    if (!loss) return;
    const physm_model *m = loss->lay->model;
    if (loss->terms)
        for (int t = 0; t < m->n_terms; t++) {
            TERM_T *ts = &loss->terms[t];
            if (ts->probes)
                for (int p = 0; p < ts->term->n_probes; p++) {
                    CAT(mlp_tile_net_destroy, SUF)(ts->probes[p].net);
                    free(ts->probes[p].stream_index);
                }
            if (ts->slots)
                for (int a = 0; a < loss->n_arenas; a++) {
                    free(ts->slots[a].ws);
                    free(ts->slots[a].inputs);
                    free(ts->slots[a].streams);
                    free(ts->slots[a].dstreams);
                }
            free(ts->probes);
            free(ts->slots);
            free(ts->points);
        }
    if (loss->arena)
        for (int a = 0; a < loss->n_arenas; a++) free(loss->arena[a]);
    free(loss->arena);
    free(loss->arena_busy);
    free(loss->terms);
    free(loss->task_term);
    free(loss->task_part);
    free(loss->task_grad);
    free(loss->task_sum);
    free(loss->reduce);
    for (int t = 0; loss->frames && t < m->n_terms; t++) physm_frames_loss_destroy(loss->frames[t]);
    free(loss->frames);
    free(loss->weight);
    free(loss);
}

/* Numbers of an arena that term ts needs. */
static size_t CAT(term_arena, SUF)(const TERM_T *ts)
{
    size_t need = 2 * (size_t)ts->term->n_residuals * MLP_TT;
    for (int p = 0; p < ts->term->n_probes; p++)
        need += ts->probes[p].net->ws_reals + (size_t)ts->probes[p].n_in * MLP_TT;
    return need;
}

static int CAT(setup_term, SUF)(const physm_layout *lay, int n_parts, int n_arenas, TERM_T *ts,
                                const physm_term *term, const double *points, int n, int n_total)
{
    const physm_model *m = lay->model;
    ts->term = term;
    ts->n = n;
    ts->count = (size_t)n_total * term->n_residuals;
    const int n_tiles = (n + MLP_TT - 1) / MLP_TT;
    ts->n_parts = n_tiles < n_parts ? (n_tiles > 0 ? n_tiles : 1) : n_parts;
    const size_t nn = (size_t)n;
    ts->points = malloc((nn * term->n_coords + 1) * sizeof(T));
    ts->probes = calloc((size_t)term->n_probes + 1, sizeof *ts->probes);
    ts->slots = calloc((size_t)n_arenas, sizeof *ts->slots);
    if (!ts->points || !ts->probes || !ts->slots) return -1;
    for (size_t q = 0; q < nn * term->n_coords; q++) ts->points[q] = (T)points[q];
    for (int p = 0; p < term->n_probes; p++) {
        const physm_probe *pr = &term->probes[p];
        PROBE_T *ps = &ts->probes[p];
        const physm_field *fd = &m->fields[pr->field];
        ps->field = pr->field;
        ps->n_in = fd->n_inputs;
        ps->n_out = fd->n_outputs;
        physrt_jet_plan *plan = physrt_jet_plan_create(fd->n_inputs, pr->n_streams, pr->streams);
        if (!plan) return -1;
        ps->net = CAT(mlp_tile_net_create, SUF)(&lay->descs[pr->field], plan);
        physrt_jet_plan_destroy(plan);
        if (!ps->net) return -1;
        ps->stream_index = calloc((size_t)pr->n_streams + 1, sizeof *ps->stream_index);
        if (!ps->stream_index) return -1;
        for (int s = 0; s < pr->n_streams; s++) {
            ps->stream_index[s] = physrt_jet_plan_index(ps->net->plan,
                                                        pr->streams + (size_t)s * fd->n_inputs);
            if (ps->stream_index[s] < 0) return -1;
        }
    }
    size_t n_ptr = 0;
    for (int p = 0; p < term->n_probes; p++)
        n_ptr += (size_t)term->probes[p].n_streams * ts->probes[p].n_out;
    for (int a = 0; a < n_arenas; a++) {
        SLOT_T *sl = &ts->slots[a];
        sl->ws = calloc((size_t)term->n_probes + 1, sizeof *sl->ws);
        sl->inputs = calloc((size_t)term->n_probes + 1, sizeof *sl->inputs);
        sl->streams = calloc(n_ptr + 1, sizeof *sl->streams);
        sl->dstreams = calloc(n_ptr + 1, sizeof *sl->dstreams);
        if (!sl->ws || !sl->inputs || !sl->streams || !sl->dstreams) return -1;
    }
    return 0;
}

/* Point a term's slot into an arena. */
static void CAT(bind_slot, SUF)(const TERM_T *ts, SLOT_T *sl, T *at)
{
    const physm_term *term = ts->term;
    size_t k = 0;
    for (int p = 0; p < term->n_probes; p++) {
        const PROBE_T *ps = &ts->probes[p];
        sl->ws[p] = at;
        at += ps->net->ws_reals;
        sl->inputs[p] = at;
        at += (size_t)ps->n_in * MLP_TT;
        T *out = CAT(mlp_tile_out, SUF)(ps->net, sl->ws[p]);
        T *adj = CAT(mlp_tile_out_adjoint, SUF)(ps->net, sl->ws[p]);
        for (int s = 0; s < term->probes[p].n_streams; s++)
            for (int o = 0; o < ps->n_out; o++) {
                const size_t off = ((size_t)ps->stream_index[s] * ps->n_out + o) * MLP_TT;
                sl->streams[k] = out + off;
                sl->dstreams[k] = adj + off;
                k++;
            }
    }
    sl->r = at;
    sl->dr = at + (size_t)term->n_residuals * MLP_TT;
}

/* The tasks: every (term, part), terms with more points first (then in
 * model order), so the small terms fill in at the end. */
static int CAT(plan_tasks, SUF)(LOSS_T *loss)
{
    const physm_model *m = loss->lay->model;
    int n = 0;
    for (int t = 0; t < m->n_terms; t++) n += loss->terms[t].n_parts;
    loss->n_tasks = n;
    loss->task_term = calloc((size_t)n + 1, sizeof *loss->task_term);
    loss->task_part = calloc((size_t)n + 1, sizeof *loss->task_part);
    if (!loss->task_term || !loss->task_part) return -1;
    char *done = calloc((size_t)m->n_terms + 1, 1);
    if (!done) return -1;
    int k = 0;
    for (int round = 0; round < m->n_terms; round++) {
        int best = -1;
        for (int t = 0; t < m->n_terms; t++)
            if (!done[t] && (best < 0 || loss->terms[t].n > loss->terms[best].n)) best = t;
        done[best] = 1;
        for (int c = 0; c < loss->terms[best].n_parts; c++) {
            loss->task_term[k] = best;
            loss->task_part[k] = c;
            k++;
        }
    }
    free(done);
    return 0;
}

LOSS_T *CAT(physm_loss_create, SUF)(const physm_layout *lay, double *const *points,
                                    const int *n_points, const int *n_total, physm_mpi *mpi,
                                    physrt_pool *pool)
{
    const physm_model *m = lay->model;
    LOSS_T *loss = calloc(1, sizeof *loss);
    if (!loss) goto oom;
    loss->lay = lay;
    loss->pool = pool;
    loss->mpi = mpi;
    /* several parts per thread, claimed dynamically, so a descheduled thread
     * (shared machines) does not hold up the others */
    loss->n_parts = physrt_pool_n_threads(pool) > 1 ? 4 * physrt_pool_n_threads(pool) : 1;
    loss->n_arenas = physrt_pool_n_threads(pool);
    loss->terms = calloc((size_t)m->n_terms + 1, sizeof *loss->terms);
    loss->weight = calloc((size_t)m->n_terms + 1, sizeof *loss->weight);
    if (!loss->terms || !loss->weight) goto oom;
    for (int t = 0; t < m->n_terms; t++) {
        loss->terms[t].term = &m->terms[t];
        loss->weight[t] = m->terms[t].weight;
    }
    for (int t = 0; t < m->n_terms; t++) {
        TERM_T *ts = &loss->terms[t];
        if (CAT(setup_term, SUF)(lay, loss->n_parts, loss->n_arenas, ts, &m->terms[t], points[t],
                                 n_points[t], n_total ? n_total[t] : n_points[t])) {
            fprintf(stderr, "%s: error: cannot set up term '%s' (%d points): out of memory or invalid "
                    "derivative streams\n", lay->prog, m->terms[t].name, n_points[t]);
            CAT(physm_loss_destroy, SUF)(loss);
            return NULL;
        }
    }
    loss->frames = calloc((size_t)m->n_terms + 1, sizeof *loss->frames);
    if (!loss->frames) goto oom;
    for (int t = 0; t < m->n_terms; t++) {
        if (!m->terms[t].frames) continue;
        if (sizeof(T) != sizeof(double) || mpi) {
            fprintf(stderr, "%s: error: frames data ('%s') trains in float64 on one process: drop --f32%s\n",
                    lay->prog, m->terms[t].name, mpi ? " and mpirun" : "");
            CAT(physm_loss_destroy, SUF)(loss);
            return NULL;
        }
        if (!(loss->frames[t] = physm_frames_loss_create(lay, &m->terms[t], pool))) {
            CAT(physm_loss_destroy, SUF)(loss);
            return NULL;
        }
    }
    if (CAT(plan_tasks, SUF)(loss)) goto oom;
    loss->arena = calloc((size_t)loss->n_arenas, sizeof *loss->arena);
    loss->arena_busy = calloc((size_t)loss->n_arenas, sizeof *loss->arena_busy);
    loss->task_grad = calloc((size_t)loss->n_tasks * lay->n_theta + 1, sizeof(T));
    loss->task_sum = calloc((size_t)loss->n_tasks + 1, sizeof(double));
    if (mpi) loss->reduce = calloc((size_t)m->n_terms + lay->n_theta + 1, sizeof(double));
    if (!loss->arena || !loss->arena_busy || !loss->task_grad || !loss->task_sum || (mpi && !loss->reduce))
        goto oom;
    size_t need = 0;
    for (int t = 0; t < m->n_terms; t++)
        if (CAT(term_arena, SUF)(&loss->terms[t]) > need) need = CAT(term_arena, SUF)(&loss->terms[t]);
    for (int a = 0; a < loss->n_arenas; a++) {
        const size_t bytes = ((need + 1) * sizeof(T) + 63) / 64 * 64;
        atomic_init(&loss->arena_busy[a], 0);
        loss->arena[a] = aligned_alloc(64, bytes);
        if (!loss->arena[a]) goto oom;
        memset(loss->arena[a], 0, bytes);
        for (int t = 0; t < m->n_terms; t++)
            CAT(bind_slot, SUF)(&loss->terms[t], &loss->terms[t].slots[a], loss->arena[a]);
    }
    return loss;
oom:
    fprintf(stderr, "%s: error: out of memory\n", lay->prog);
    CAT(physm_loss_destroy, SUF)(loss);
    return NULL;
}

/* Task k: one part of one term, tile by tile. */
static void CAT(loss_task, SUF)(void *ctx, int k, int n_tasks)
{
    (void)n_tasks;
    const CALL_T *call = ctx;
    LOSS_T *loss = call->loss;
    const physm_layout *lay = loss->lay;
    const int t = loss->task_term[k];
    const TERM_T *ts = &loss->terms[t];
    const physm_term *term = ts->term;
    const int c = loss->task_part[k], n_parts = ts->n_parts;
    /* at most n_arenas tasks run at once, so a free arena is always there;
     * what a task computes does not depend on which one it gets */
    int arena = 0;
    while (atomic_exchange(&loss->arena_busy[arena], 1)) arena = (arena + 1) % loss->n_arenas;
    const SLOT_T *sl = &ts->slots[arena];
    const T *theta = call->theta, *params = theta + lay->n_weights;
    T *grad = loss->task_grad + (size_t)k * lay->n_theta;
    const int n = ts->n, nc = term->n_coords, nr = term->n_residuals;
    const T scale = (T)(2.0 * loss->weight[t] / (double)ts->count);
    const int grad_wanted = call->with_grad && loss->weight[t] != 0;
    const long long n_tiles = (n + MLP_TT - 1) / MLP_TT;
    const int begin = (int)(MLP_TT * (n_tiles * c / n_parts));
    const int end_t = (int)(MLP_TT * (n_tiles * (c + 1) / n_parts));
    const int end = end_t < n ? end_t : n;
    double sum = 0;
    for (int p0 = begin; p0 < end; p0 += MLP_TT) {
        const int np = end - p0 < MLP_TT ? end - p0 : MLP_TT;
        const T *pts = ts->points + (size_t)p0 * nc;
        term->CAT(inputs, SUF)(np, pts, params, sl->inputs);
        for (int p = 0; p < term->n_probes; p++)
            CAT(mlp_tile_forward, SUF)(ts->probes[p].net, theta + lay->offset[ts->probes[p].field],
                                       sl->ws[p], np, sl->inputs[p]);
        term->CAT(residual, SUF)(np, pts, params, sl->streams, sl->r);
        for (int j = 0; j < nr; j++)
            for (int q = 0; q < np; q++) {
                const double rq = (double)sl->r[j * np + q];
                sum += rq * rq;
            }
        if (!grad_wanted) continue;
        for (int q = 0; q < nr * np; q++) sl->dr[q] = scale * sl->r[q];
        term->CAT(residual_vjp, SUF)(np, pts, params, (const T *const *)sl->streams, sl->dr,
                                     sl->dstreams, grad + lay->n_weights);
        for (int p = 0; p < term->n_probes; p++) {
            const size_t off = lay->offset[ts->probes[p].field];
            CAT(mlp_tile_backward, SUF)(ts->probes[p].net, theta + off, sl->ws[p], grad + off);
        }
    }
    loss->task_sum[k] = sum;
    atomic_store(&loss->arena_busy[arena], 0);
}

void CAT(physm_loss_scaling, SUF)(const LOSS_T *loss, double *theta)
{
    for (int t = 0; t < loss->lay->model->n_terms; t++)
        if (loss->frames[t]) {
            physm_frames_loss_scaling(loss->frames[t], theta + loss->lay->scaling);
            return;
        }
}

void CAT(physm_loss_select, SUF)(LOSS_T *loss, long batch, long step)
{
    for (int t = 0; t < loss->lay->model->n_terms; t++)
        if (loss->frames[t]) physm_frames_loss_select(loss->frames[t], batch, step);
}

double CAT(physm_loss_eval, SUF)(LOSS_T *loss, const T *theta, T *grad, double *term_loss)
{
    const physm_layout *lay = loss->lay;
    const physm_model *m = lay->model;
    const size_t nt = lay->n_theta;
    if (grad) memset(loss->task_grad, 0, (size_t)loss->n_tasks * nt * sizeof(T));
    CALL_T call = {loss, theta, grad != NULL};
    physrt_pool_run(loss->pool, loss->n_tasks, CAT(loss_task, SUF), &call);
    /* fixed reduction orders: task 0, 1, ..., then rank 0, 1, ... */
    for (int t = 0; t < m->n_terms; t++) term_loss[t] = 0;
    for (int k = 0; k < loss->n_tasks; k++) term_loss[loss->task_term[k]] += loss->task_sum[k];
    if (grad) {
        memcpy(grad, loss->task_grad, nt * sizeof(T));
        for (int k = 1; k < loss->n_tasks; k++) {
            const T *g = loss->task_grad + (size_t)k * nt;
            for (size_t q = 0; q < nt; q++) grad[q] += g[q];
        }
    }
    if (loss->mpi) {
        double *v = loss->reduce;
        const size_t nterms = (size_t)m->n_terms, nv = nterms + (grad ? nt : 0);
        memcpy(v, term_loss, nterms * sizeof *v);
        for (size_t q = 0; grad && q < nt; q++) v[nterms + q] = (double)grad[q];
        physm_mpi_sum(loss->mpi, v, nv);
        memcpy(term_loss, v, nterms * sizeof *v);
        for (size_t q = 0; grad && q < nt; q++) grad[q] = (T)v[nterms + q];
    }
    double total = 0;
    for (int t = 0; t < m->n_terms; t++) {
        const TERM_T *ts = &loss->terms[t];
        if (loss->frames[t]) { /* float64 only (refused at creation otherwise) */
            term_loss[t] = physm_frames_loss_eval(loss->frames[t], (const double *)(const void *)theta,
                                                  (double *)(void *)grad);
        } else {
            term_loss[t] = loss->weight[t] * term_loss[t] / (double)ts->count;
        }
        total += term_loss[t];
    }
    return total;
}

void CAT(physm_loss_set_weights, SUF)(LOSS_T *loss, const double *weight)
{
    memcpy(loss->weight, weight, (size_t)loss->lay->model->n_terms * sizeof *weight);
}

/* Each term's part of the last gradient: the sum of its tasks' in task
 * order, then over the ranks in rank order. */
void CAT(physm_loss_term_grads, SUF)(LOSS_T *loss, double *term_grad)
{
    const size_t nt = loss->lay->n_theta, n = (size_t)loss->lay->model->n_terms * nt;
    memset(term_grad, 0, n * sizeof *term_grad);
    for (int k = 0; k < loss->n_tasks; k++) {
        const T *g = loss->task_grad + (size_t)k * nt;
        double *out = term_grad + (size_t)loss->task_term[k] * nt;
        for (size_t q = 0; q < nt; q++) out[q] += (double)g[q];
    }
    if (loss->mpi) physm_mpi_sum(loss->mpi, term_grad, n);
}

#undef CAT_
#undef CAT
#undef LOSS_T
#undef NET_T
#undef PROBE_T
#undef SLOT_T
#undef TERM_T
#undef CALL_T
