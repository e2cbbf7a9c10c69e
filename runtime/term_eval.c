/* term_eval.c - the float64 residuals of one term at given points.
 *
 * What the loss does for a term (loss_tmpl.h) without the loss and the
 * gradient: the term's inputs function fills each probe's network inputs,
 * one forward jet per probe (its own eval object, plan from the probe's
 * streams), then the residual function reads the requested streams through
 * one pointer per (probe, stream, output), probe-major. Used by the simulate
 * verb for the dynamics' pseudo-terms (rhs, energy, momentum), whose points
 * are states and which may have no probes at all (analytic dynamics). */
#include "model_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int field, n_in, n_out;
    physrt_mlp_eval_f64 *ev;
    double *inputs;               /* max_points x n_in */
    double *out;                  /* n_plan x n_out x n (physrt layout) */
    int *stream_idx;              /* per requested stream: its index in the plan */
} te_probe;

struct physm_term_eval {
    const physm_layout *lay;
    const physm_term *term;
    int max_points;
    te_probe *probes;
    double **inputs;              /* per probe */
    const double **streams;       /* per (probe, stream, output) */
};

void physm_term_eval_destroy(physm_term_eval *ev)
{
    if (!ev) return;
    if (ev->probes)
        for (int p = 0; p < ev->term->n_probes; p++) {
            physrt_mlp_eval_destroy_f64(ev->probes[p].ev);
            free(ev->probes[p].inputs);
            free(ev->probes[p].out);
            free(ev->probes[p].stream_idx);
        }
    free(ev->probes);
    free(ev->inputs);
    free(ev->streams);
    free(ev);
}

physm_term_eval *physm_term_eval_create(const physm_layout *lay, const physm_term *term, int max_points)
{
    const physm_model *m = lay->model;
    physm_term_eval *ev = calloc(1, sizeof *ev);
    if (!ev) goto fail;
    ev->lay = lay;
    ev->term = term;
    ev->max_points = max_points < 1 ? 1 : max_points;
    const size_t nn = (size_t)ev->max_points;
    size_t n_ptr = 0;
    for (int p = 0; p < term->n_probes; p++)
        n_ptr += (size_t)term->probes[p].n_streams * m->fields[term->probes[p].field].n_outputs;
    ev->probes = calloc((size_t)term->n_probes + 1, sizeof *ev->probes);
    ev->inputs = calloc((size_t)term->n_probes + 1, sizeof *ev->inputs);
    ev->streams = calloc(n_ptr + 1, sizeof *ev->streams);
    if (!ev->probes || !ev->inputs || !ev->streams) goto fail;
    for (int p = 0; p < term->n_probes; p++) {
        const physm_probe *pr = &term->probes[p];
        const physm_field *fd = &m->fields[pr->field];
        te_probe *ps = &ev->probes[p];
        ps->field = pr->field;
        ps->n_in = fd->n_inputs;
        ps->n_out = fd->n_outputs;
        physrt_jet_plan *plan = physrt_jet_plan_create(fd->n_inputs, pr->n_streams, pr->streams);
        if (!plan) goto fail;
        ps->ev = physrt_mlp_eval_create_f64(&lay->descs[pr->field], plan, ev->max_points, NULL);
        physrt_jet_plan_destroy(plan);
        if (!ps->ev) goto fail;
        const physrt_jet_plan *eplan = physrt_mlp_eval_plan_f64(ps->ev);
        const int n_plan = physrt_jet_plan_n_streams(eplan);
        ps->inputs = calloc(nn * ps->n_in, sizeof *ps->inputs);
        ps->out = calloc((size_t)n_plan * ps->n_out * nn, sizeof *ps->out);
        ps->stream_idx = calloc((size_t)pr->n_streams, sizeof *ps->stream_idx);
        if (!ps->inputs || !ps->out || !ps->stream_idx) goto fail;
        ev->inputs[p] = ps->inputs;
        for (int s = 0; s < pr->n_streams; s++) {
            ps->stream_idx[s] = physrt_jet_plan_index(eplan, pr->streams + (size_t)s * fd->n_inputs);
            if (ps->stream_idx[s] < 0) goto fail;
        }
    }
    return ev;
fail:
    fprintf(stderr, "%s: error: cannot set up the evaluation of '%s' (%d points): out of memory or "
            "invalid derivative streams\n", lay->prog, term->name, max_points);
    physm_term_eval_destroy(ev);
    return NULL;
}

int physm_term_eval_run(physm_term_eval *ev, const double *theta, const double *points, int n, double *out)
{
    if (n < 0 || n > ev->max_points) return -1;
    if (n == 0) return 0;
    const physm_layout *lay = ev->lay;
    const physm_term *term = ev->term;
    const double *params = theta + lay->n_weights;
    if (term->n_probes > 0) term->inputs_f64(n, points, params, ev->inputs);
    size_t k = 0;
    for (int p = 0; p < term->n_probes; p++) {
        te_probe *ps = &ev->probes[p];
        if (physrt_mlp_forward_f64(ps->ev, theta + lay->offset[ps->field], n, ps->inputs, ps->out) != PHYSRT_OK)
            return -1;
        /* the output layout depends on n: point the streams at this batch */
        for (int s = 0; s < term->probes[p].n_streams; s++)
            for (int o = 0; o < ps->n_out; o++)
                ev->streams[k++] = ps->out + ((size_t)ps->stream_idx[s] * ps->n_out + o) * (size_t)n;
    }
    term->residual_f64(n, points, params, ev->streams, out);
    return 0;
}
