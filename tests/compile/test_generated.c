/* Checks the code physc generated for one model (linked in as an object),
 * numerically, through its descriptor:
 *  - each hard-constrained field's value and derivatives (eval_f64) against
 *    central finite differences of the order below;
 *  - each term's residual VJP against finite differences of sum(dr * r) over
 *    every stream value and every trainable constant;
 *  - float32 functions against float64 ones;
 *  - for the burgers_hard model, the 'pde' residual against
 *    u_t + u u_x - nu u_xx built from the field's own derivatives.
 * Network weights are random (Glorot, fixed seeds), so every path is
 * exercised with nonzero values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "physmodel.h"

enum { N_POINTS = 7 };

typedef struct {
    physrt_mlp_desc desc;
    double *weights;
} network;

static network *make_networks(const physm_model *m)
{
    network *nets = calloc((size_t)m->n_fields, sizeof *nets);
    for (int i = 0; i < m->n_fields; i++) {
        const physm_field *f = &m->fields[i];
        nets[i].desc = (physrt_mlp_desc){f->n_inputs, f->n_outputs, f->n_hidden, f->hidden_widths, f->activation,
                                         PHYSRT_ACT_IDENTITY};
        size_t n = physrt_mlp_n_params(&nets[i].desc);
        nets[i].weights = malloc(sizeof(double) * n);
        physrt_mlp_init_f64(&nets[i].desc, 1000 + (uint64_t)i, nets[i].weights);
        /* biases too, so no stream vanishes by symmetry */
        for (size_t k = 0; k < n; k++) nets[i].weights[k] += 0.05 * sin(1.0 + (double)k);
    }
    return nets;
}

/* Forward of a field's network with the given streams (n_streams x n_in
 * multi-indices) at x; returns out laid out [plan stream][output][point] and
 * the plan index of each requested stream. */
static double *forward(const network *net, int n_streams, const int *streams, int n, const double *x, int *index)
{
    physrt_jet_plan *plan = physrt_jet_plan_create(net->desc.n_inputs, n_streams, streams);
    physrt_mlp_eval_f64 *ev = physrt_mlp_eval_create_f64(&net->desc, plan, n, NULL);
    int total = physrt_jet_plan_n_streams(plan);
    double *out = malloc(sizeof(double) * (size_t)(total * net->desc.n_outputs * n));
    if (physrt_mlp_forward_f64(ev, net->weights, n, x, out) != PHYSRT_OK) {
        printf("FAIL network forward\n");
        exit(1);
    }
    for (int s = 0; s < n_streams; s++) index[s] = physrt_jet_plan_index(physrt_mlp_eval_plan_f64(ev), streams + s * net->desc.n_inputs);
    physrt_mlp_eval_destroy_f64(ev);
    physrt_jet_plan_destroy(plan);
    return out;
}

/* eval_f64 of a hard-constrained field at n points x: out[(d*n_out+o)*n+p]. */
static void field_eval(const physm_model *m, const network *nets, int fi, int n, const double *x, const double *params,
                       double *out)
{
    const physm_field *f = &m->fields[fi];
    int index[64];
    double *net_out = forward(&nets[fi], f->n_net_streams, f->net_streams, n, x, index);
    const double *ptrs[64 * 16];
    for (int s = 0; s < f->n_net_streams; s++)
        for (int o = 0; o < f->n_outputs; o++)
            ptrs[s * f->n_outputs + o] = net_out + ((size_t)index[s] * (size_t)f->n_outputs + (size_t)o) * (size_t)n;
    f->eval_f64(n, x, params, ptrs, out);
    free(net_out);
}

static void check_field(const physm_model *m, const network *nets, int fi, const double *params)
{
    const physm_field *f = &m->fields[fi];
    int nin = f->n_inputs, nout = f->n_outputs, nd = f->n_derivs;
    double x[N_POINTS * 8];
    for (int p = 0; p < N_POINTS; p++)
        for (int i = 0; i < nin; i++) x[p * nin + i] = 0.7 * sin(1.3 * p + 2.1 * i + 0.4);
    double *at = malloc(sizeof(double) * (size_t)(nd * nout * N_POINTS));
    double *plus = malloc(sizeof(double) * (size_t)(nd * nout * N_POINTS));
    double *minus = malloc(sizeof(double) * (size_t)(nd * nout * N_POINTS));
    field_eval(m, nets, fi, N_POINTS, x, params, at);
    for (int d = 1; d < nd; d++) {
        const int *alpha = f->derivs + d * nin;
        int i = 0;
        while (alpha[i] == 0) i++;
        int lower[8];
        memcpy(lower, alpha, sizeof(int) * (size_t)nin);
        lower[i]--;
        int dl = -1;
        for (int k = 0; k < nd; k++)
            if (!memcmp(f->derivs + k * nin, lower, sizeof(int) * (size_t)nin)) dl = k;
        double h = 1e-5;
        double xp[N_POINTS * 8], xm[N_POINTS * 8];
        memcpy(xp, x, sizeof x);
        memcpy(xm, x, sizeof x);
        for (int p = 0; p < N_POINTS; p++) xp[p * nin + i] += h, xm[p * nin + i] -= h;
        field_eval(m, nets, fi, N_POINTS, xp, params, plus);
        field_eval(m, nets, fi, N_POINTS, xm, params, minus);
        for (int o = 0; o < nout; o++)
            for (int p = 0; p < N_POINTS; p++) {
                size_t lo = ((size_t)dl * (size_t)nout + (size_t)o) * N_POINTS + (size_t)p;
                double fd = (plus[lo] - minus[lo]) / (2 * h);
                char what[128];
                snprintf(what, sizeof what, "field %s derivative %d output %d point %d vs FD", f->name, d, o, p);
                expect_close(what, at[((size_t)d * (size_t)nout + (size_t)o) * N_POINTS + (size_t)p], fd, 1e-6, 1e-8);
            }
    }
    free(at);
    free(plus);
    free(minus);
}

typedef struct {
    int n_layout;
    double *values;        /* n_layout x N_POINTS: each stream slot's values */
    const double **ptrs;
} stream_set;

/* The streams a term's residual reads, in the runtime's pointer layout. */
static stream_set term_streams(const physm_model *m, const network *nets, const physm_term *t, const double *points,
                               const double *params)
{
    stream_set s = {0};
    for (int k = 0; k < t->n_probes; k++) s.n_layout += t->probes[k].n_streams * m->fields[t->probes[k].field].n_outputs;
    s.values = calloc((size_t)s.n_layout * N_POINTS + 1, sizeof(double));
    s.ptrs = calloc((size_t)s.n_layout + 1, sizeof *s.ptrs);
    double *inputs[64];
    for (int k = 0; k < t->n_probes; k++)
        inputs[k] = calloc((size_t)N_POINTS * 8, sizeof(double));
    t->inputs_f64(N_POINTS, points, params, inputs);
    int pos = 0;
    for (int k = 0; k < t->n_probes; k++) {
        const physm_probe *pr = &t->probes[k];
        int nout = m->fields[pr->field].n_outputs, index[64];
        double *out = forward(&nets[pr->field], pr->n_streams, pr->streams, N_POINTS, inputs[k], index);
        for (int st = 0; st < pr->n_streams; st++)
            for (int o = 0; o < nout; o++, pos++) {
                memcpy(s.values + (size_t)pos * N_POINTS, out + ((size_t)index[st] * (size_t)nout + (size_t)o) * N_POINTS,
                       sizeof(double) * N_POINTS);
                s.ptrs[pos] = s.values + (size_t)pos * N_POINTS;
            }
        free(out);
        free(inputs[k]);
    }
    return s;
}

static double weighted_sum(const physm_term *t, const double *points, const double *params, const stream_set *s,
                           const double *dr)
{
    double r[N_POINTS * 64], sum = 0;
    t->residual_f64(N_POINTS, points, params, s->ptrs, r);
    for (int j = 0; j < t->n_residuals * N_POINTS; j++) sum += dr[j] * r[j];
    return sum;
}

static void check_term(const physm_model *m, const network *nets, const physm_term *t, double *params)
{
    double points[N_POINTS * 64];
    for (int p = 0; p < N_POINTS; p++)
        for (int c = 0; c < t->n_coords; c++) {
            double u = 0.5 + 0.45 * sin(0.9 * p + 1.7 * c + 0.2);
            double lo = t->lo ? t->lo[c] : -1, hi = t->hi ? t->hi[c] : 1;
            points[p * t->n_coords + c] = lo + u * (hi - lo);
        }
    stream_set s = term_streams(m, nets, t, points, params);
    double dr[N_POINTS * 64];
    for (int j = 0; j < t->n_residuals * N_POINTS; j++) dr[j] = cos(0.7 * j + 0.3);

    /* the VJP */
    double *dvalues = calloc((size_t)s.n_layout * N_POINTS + 1, sizeof(double));
    double **dptrs = calloc((size_t)s.n_layout + 1, sizeof *dptrs);
    for (int q = 0; q < s.n_layout; q++) dptrs[q] = dvalues + (size_t)q * N_POINTS;
    double dparams[64] = {0};
    t->residual_vjp_f64(N_POINTS, points, params, s.ptrs, dr, dptrs, dparams);
    for (int q = 0; q < s.n_layout; q++)
        for (int p = 0; p < N_POINTS; p++) {
            double *v = &s.values[(size_t)q * N_POINTS + (size_t)p], keep = *v, h = 1e-6 * fmax(1.0, fabs(keep));
            *v = keep + h;
            double up = weighted_sum(t, points, params, &s, dr);
            *v = keep - h;
            double down = weighted_sum(t, points, params, &s, dr);
            *v = keep;
            char what[128];
            snprintf(what, sizeof what, "term %s: d/d stream %d point %d", t->name, q, p);
            expect_close(what, dptrs[q][p], (up - down) / (2 * h), 1e-6, 1e-8);
        }
    for (int k = 0; k < m->n_params; k++) {
        double keep = params[k], h = 1e-6 * fmax(1.0, fabs(keep));
        params[k] = keep + h;
        double up = weighted_sum(t, points, params, &s, dr);
        params[k] = keep - h;
        double down = weighted_sum(t, points, params, &s, dr);
        params[k] = keep;
        char what[128];
        snprintf(what, sizeof what, "term %s: d/d param %s", t->name, m->params[k].name);
        expect_close(what, dparams[k], (up - down) / (2 * h), 1e-6, 1e-8);
    }

    /* float32 against float64 */
    float points32[N_POINTS * 64], params32[64], values32[64 * N_POINTS * 16], r32[N_POINTS * 64];
    const float *ptrs32[1024];
    double r64[N_POINTS * 64];
    for (int i = 0; i < N_POINTS * t->n_coords; i++) points32[i] = (float)points[i];
    for (int k = 0; k < m->n_params; k++) params32[k] = (float)params[k];
    for (int q = 0; q < s.n_layout && q < 1024; q++) {
        for (int p = 0; p < N_POINTS; p++) values32[q * N_POINTS + p] = (float)s.values[(size_t)q * N_POINTS + (size_t)p];
        ptrs32[q] = values32 + q * N_POINTS;
    }
    t->residual_f64(N_POINTS, points, params, s.ptrs, r64);
    t->residual_f32(N_POINTS, points32, params32, ptrs32, r32);
    for (int j = 0; j < t->n_residuals * N_POINTS; j++) {
        char what[128];
        snprintf(what, sizeof what, "term %s: float32 residual %d", t->name, j);
        expect_close(what, r32[j], r64[j], 1e-4, 1e-4);
    }

    /* burgers_hard: the residual is the PDE of the field's own derivatives */
    if (!strcmp(m->name, "burgers_hard") && !strcmp(t->name, "pde")) {
        double e[6 * N_POINTS];
        field_eval(m, nets, 0, N_POINTS, points, params, e); /* derivs: u, u_x, u_t, u_xx, u_xt, u_tt */
        for (int p = 0; p < N_POINTS; p++) {
            double u = e[p], ux = e[N_POINTS + p], ut = e[2 * N_POINTS + p], uxx = e[3 * N_POINTS + p];
            double want = ut + u * ux - params[0] * uxx;
            char what[128];
            snprintf(what, sizeof what, "pde residual point %d vs u_t + u u_x - nu u_xx", p);
            expect_close(what, r64[p], want, 1e-12, 1e-14);
        }
    }
    free(dvalues);
    free(dptrs);
    free(s.values);
    free(s.ptrs);
}

int main(void)
{
    const physm_model *m = physm_model_get();
    if (m->abi_version != PHYSM_ABI_VERSION) {
        printf("FAIL ABI version %d, expected %d\n", m->abi_version, PHYSM_ABI_VERSION);
        return 1;
    }
    network *nets = make_networks(m);
    double params[64];
    for (int k = 0; k < m->n_params; k++) params[k] = m->params[k].init + 0.3 * sin(k + 1.0);
    for (int i = 0; i < m->n_fields; i++)
        if (m->fields[i].n_derivs) check_field(m, nets, i, params);
    for (int t = 0; t < m->n_terms; t++) check_term(m, nets, &m->terms[t], params);
    for (int i = 0; i < m->n_fields; i++) free(nets[i].weights);
    free(nets);
    printf("%s: %d checks, %d failed\n", m->name, checks, failures);
    return failures ? 1 : 0;
}
