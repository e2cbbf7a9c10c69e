/* term_eval.c - the float64 residuals of one term at given points, and
 * the network evaluations (probes) behind them.
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

/* ------------------------------------------------------------- probes */

int physm_probe_eval_init(physm_probe_eval *pe, const physm_layout *lay, const physm_probe *pr, int max_points)
{
    const physm_field *fd = &lay->model->fields[pr->field];
    memset(pe, 0, sizeof *pe);
    pe->probe = pr;
    pe->n_in = fd->n_inputs;
    pe->n_out = fd->n_outputs;
    physrt_jet_plan *plan = physrt_jet_plan_create(fd->n_inputs, pr->n_streams, pr->streams);
    if (!plan) return -1;
    pe->ev = physrt_mlp_eval_create_f64(&lay->descs[pr->field], plan, max_points, NULL);
    physrt_jet_plan_destroy(plan);
    if (!pe->ev) return -1;
    const physrt_jet_plan *eplan = physrt_mlp_eval_plan_f64(pe->ev);
    pe->inputs = calloc((size_t)max_points * pe->n_in + 1, sizeof *pe->inputs);
    pe->out = calloc((size_t)physrt_jet_plan_n_streams(eplan) * pe->n_out * max_points + 1, sizeof *pe->out);
    pe->stream_idx = calloc((size_t)pr->n_streams, sizeof *pe->stream_idx);
    if (!pe->inputs || !pe->out || !pe->stream_idx) return -1;
    for (int s = 0; s < pr->n_streams; s++) {
        pe->stream_idx[s] = physrt_jet_plan_index(eplan, pr->streams + (size_t)s * fd->n_inputs);
        if (pe->stream_idx[s] < 0) return -1;
    }
    return 0;
}

void physm_probe_eval_free(physm_probe_eval *pe)
{
    physrt_mlp_eval_destroy_f64(pe->ev);
    free(pe->inputs);
    free(pe->out);
    free(pe->stream_idx);
    memset(pe, 0, sizeof *pe);
}

int physm_probe_eval_run(physm_probe_eval *pe, const physm_layout *lay, const double *theta, int n,
                         const double **streams)
{
    const physm_probe *pr = pe->probe;
    if (physrt_mlp_forward_f64(pe->ev, theta + lay->offset[pr->field], n, pe->inputs, pe->out) != PHYSRT_OK)
        return -1;
    /* the output layout depends on n: point the streams at this batch */
    int k = 0;
    for (int s = 0; s < pr->n_streams; s++)
        for (int o = 0; o < pe->n_out; o++)
            streams[k++] = pe->out + ((size_t)pe->stream_idx[s] * pe->n_out + o) * (size_t)n;
    return k;
}

/* -------------------------------------------------------------- terms */

struct physm_term_eval {
    const physm_layout *lay;
    const physm_term *term;
    int max_points;
    physm_probe_eval *probes;
    double **inputs;              /* per probe */
    const double **streams;       /* per (probe, stream, output) */
};

void physm_term_eval_destroy(physm_term_eval *ev)
{
    if (!ev) return;
    for (int p = 0; ev->probes && p < ev->term->n_probes; p++) physm_probe_eval_free(&ev->probes[p]);
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
    size_t n_ptr = 0;
    for (int p = 0; p < term->n_probes; p++)
        n_ptr += (size_t)term->probes[p].n_streams * m->fields[term->probes[p].field].n_outputs;
    ev->probes = calloc((size_t)term->n_probes + 1, sizeof *ev->probes);
    ev->inputs = calloc((size_t)term->n_probes + 1, sizeof *ev->inputs);
    ev->streams = calloc(n_ptr + 1, sizeof *ev->streams);
    if (!ev->probes || !ev->inputs || !ev->streams) goto fail;
    for (int p = 0; p < term->n_probes; p++) {
        if (physm_probe_eval_init(&ev->probes[p], lay, &term->probes[p], ev->max_points)) goto fail;
        ev->inputs[p] = ev->probes[p].inputs;
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
        int written = physm_probe_eval_run(&ev->probes[p], lay, theta, n, ev->streams + k);
        if (written < 0) return -1;
        k += (size_t)written;
    }
    term->residual_f64(n, points, params, ev->streams, out);
    return 0;
}
