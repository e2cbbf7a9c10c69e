/* loss_tmpl.h - the physics-informed loss for one precision; included by
 * loss.c with T (double or float) and SUF (f64 or f32) defined.
 *
 * Per term: the inputs of each probe, one forward jet per probe (its own
 * eval object, so every probe's backward has its forward state), the
 * residuals r, the loss weight * mean(r^2), then dr = 2 weight r / count, the
 * term's VJP into the probes' stream adjoints and the constants' gradient,
 * and one backward per probe into that field's slice of the gradient. */

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define LOSS_T CAT(physm_loss, SUF)
#define EVAL_T CAT(physrt_mlp_eval, SUF)
#define PROBE_T CAT(loss_probe, SUF)
#define TERM_T CAT(loss_term, SUF)

typedef struct {
    int field, n_in, n_out, n_plan;
    EVAL_T *ev;
    T *inputs;                    /* n x n_in */
    T *out, *adj;                 /* n_plan x n_out x n (physrt layout) */
} PROBE_T;

typedef struct {
    const physm_term *term;
    int n;
    T *points;                    /* n x n_coords */
    PROBE_T *probes;
    T **inputs;                   /* per probe */
    const T **streams;            /* per (probe, stream, output) */
    T **dstreams;
    T *r, *dr;                    /* n_residuals x n */
} TERM_T;

struct LOSS_T {
    const physm_layout *lay;
    TERM_T *terms;
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
                    CAT(physrt_mlp_eval_destroy, SUF)(ts->probes[p].ev);
                    free(ts->probes[p].inputs);
                    free(ts->probes[p].out);
                    free(ts->probes[p].adj);
                }
            free(ts->probes);
            free(ts->points);
            free(ts->inputs);
            free(ts->streams);
            free(ts->dstreams);
            free(ts->r);
            free(ts->dr);
        }
    free(loss->terms);
    free(loss);
}

static int CAT(setup_term, SUF)(const physm_layout *lay, TERM_T *ts, const physm_term *term,
                                const double *points, int n, physrt_pool *pool)
{
    const physm_model *m = lay->model;
    ts->term = term;
    ts->n = n;
    const size_t nn = (size_t)n;
    ts->points = malloc(nn * term->n_coords * sizeof(T));
    ts->probes = calloc((size_t)term->n_probes + 1, sizeof *ts->probes);
    ts->inputs = calloc((size_t)term->n_probes + 1, sizeof *ts->inputs);
    ts->r = malloc(nn * term->n_residuals * sizeof(T));
    ts->dr = malloc(nn * term->n_residuals * sizeof(T));
    size_t n_ptr = 0;
    for (int p = 0; p < term->n_probes; p++)
        n_ptr += (size_t)term->probes[p].n_streams * m->fields[term->probes[p].field].n_outputs;
    ts->streams = calloc(n_ptr + 1, sizeof *ts->streams);
    ts->dstreams = calloc(n_ptr + 1, sizeof *ts->dstreams);
    if (!ts->points || !ts->probes || !ts->inputs || !ts->r || !ts->dr || !ts->streams || !ts->dstreams)
        return -1;
    for (size_t q = 0; q < nn * term->n_coords; q++) ts->points[q] = (T)points[q];
    size_t k = 0;
    for (int p = 0; p < term->n_probes; p++) {
        const physm_probe *pr = &term->probes[p];
        PROBE_T *ps = &ts->probes[p];
        const physm_field *fd = &m->fields[pr->field];
        ps->field = pr->field;
        ps->n_in = fd->n_inputs;
        ps->n_out = fd->n_outputs;
        physrt_jet_plan *plan = physrt_jet_plan_create(fd->n_inputs, pr->n_streams, pr->streams);
        if (!plan) return -1;
        ps->ev = CAT(physrt_mlp_eval_create, SUF)(&lay->descs[pr->field], plan, n, pool);
        physrt_jet_plan_destroy(plan);
        if (!ps->ev) return -1;
        const physrt_jet_plan *eplan = CAT(physrt_mlp_eval_plan, SUF)(ps->ev);
        ps->n_plan = physrt_jet_plan_n_streams(eplan);
        const size_t n_vals = (size_t)ps->n_plan * ps->n_out * nn;
        ps->inputs = calloc(nn * ps->n_in, sizeof(T));
        ps->out = calloc(n_vals, sizeof(T));
        ps->adj = calloc(n_vals, sizeof(T));   /* streams no term asks for stay zero */
        if (!ps->inputs || !ps->out || !ps->adj) return -1;
        ts->inputs[p] = ps->inputs;
        for (int s = 0; s < pr->n_streams; s++) {
            int idx = physrt_jet_plan_index(eplan, pr->streams + (size_t)s * fd->n_inputs);
            if (idx < 0) return -1;
            for (int o = 0; o < ps->n_out; o++) {
                const size_t off = ((size_t)idx * ps->n_out + o) * nn;
                ts->streams[k] = ps->out + off;
                ts->dstreams[k] = ps->adj + off;
                k++;
            }
        }
    }
    return 0;
}

LOSS_T *CAT(physm_loss_create, SUF)(const physm_layout *lay, double *const *points,
                                    const int *n_points, physrt_pool *pool)
{
    const physm_model *m = lay->model;
    LOSS_T *loss = calloc(1, sizeof *loss);
    if (!loss) goto oom;
    loss->lay = lay;
    loss->terms = calloc((size_t)m->n_terms + 1, sizeof *loss->terms);
    if (!loss->terms) goto oom;
    for (int t = 0; t < m->n_terms; t++) loss->terms[t].term = &m->terms[t];
    for (int t = 0; t < m->n_terms; t++)
        if (CAT(setup_term, SUF)(lay, &loss->terms[t], &m->terms[t], points[t], n_points[t], pool)) {
            fprintf(stderr, "%s: error: cannot set up term '%s' (%d points): out of memory or invalid "
                    "derivative streams\n", lay->prog, m->terms[t].name, n_points[t]);
            CAT(physm_loss_destroy, SUF)(loss);
            return NULL;
        }
    return loss;
oom:
    fprintf(stderr, "%s: error: out of memory\n", lay->prog);
    CAT(physm_loss_destroy, SUF)(loss);
    return NULL;
}

double CAT(physm_loss_eval, SUF)(LOSS_T *loss, const T *theta, T *grad, double *term_loss)
{
    const physm_layout *lay = loss->lay;
    const physm_model *m = lay->model;
    const T *params = theta + lay->n_weights;
    if (grad) memset(grad, 0, lay->n_theta * sizeof(T));
    double total = 0;
    for (int t = 0; t < m->n_terms; t++) {
        TERM_T *ts = &loss->terms[t];
        const physm_term *term = ts->term;
        const int n = ts->n;
        term->CAT(inputs, SUF)(n, ts->points, params, ts->inputs);
        for (int p = 0; p < term->n_probes; p++) {
            PROBE_T *ps = &ts->probes[p];
            CAT(physrt_mlp_forward, SUF)(ps->ev, theta + lay->offset[ps->field], n, ps->inputs, ps->out);
        }
        term->CAT(residual, SUF)(n, ts->points, params, ts->streams, ts->r);
        const size_t count = (size_t)n * term->n_residuals;
        double sum = 0;
        for (size_t q = 0; q < count; q++) sum += (double)ts->r[q] * (double)ts->r[q];
        const double lt = term->weight * sum / (double)count;
        term_loss[t] = lt;
        total += lt;
        if (!grad || term->weight == 0) continue;
        const T scale = (T)(2.0 * term->weight / (double)count);
        for (size_t q = 0; q < count; q++) ts->dr[q] = scale * ts->r[q];
        term->CAT(residual_vjp, SUF)(n, ts->points, params, ts->streams, ts->dr, ts->dstreams,
                                     grad + lay->n_weights);
        for (int p = 0; p < term->n_probes; p++) {
            PROBE_T *ps = &ts->probes[p];
            CAT(physrt_mlp_backward, SUF)(ps->ev, theta + lay->offset[ps->field], ps->adj,
                                         grad + lay->offset[ps->field]);
        }
    }
    return total;
}

#undef CAT_
#undef CAT
#undef LOSS_T
#undef EVAL_T
#undef PROBE_T
#undef TERM_T
