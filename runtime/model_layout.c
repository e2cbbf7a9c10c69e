/* model_layout.c - validating a model descriptor and laying out the vector
 * of everything trainable (network weights of every field, then the
 * trainable constants); fresh initialisation; seeds; the clock. A model may
 * have no fields and no terms (an analytic simulation). */
#define _POSIX_C_SOURCE 200809L
#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double physm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t physm_derive_seed(uint64_t seed, uint64_t purpose, uint64_t index)
{
    uint64_t x = seed;
    uint64_t a = splitmix64(&x);
    x = a ^ (purpose * 0xD6E8FEB86659FD93ull);
    uint64_t b = splitmix64(&x);
    x = b ^ (index * 0xA0761D6478BD642Full);
    return splitmix64(&x);
}

static int model_error(const physm_layout *lay, const char *what, const char *name)
{
    fprintf(stderr, "%s: error: invalid model descriptor (a compiler bug): %s%s%s%s\n",
            lay->prog, what, name ? " ('" : "", name ? name : "", name ? "')" : "");
    return -1;
}

static int check_probes(physm_layout *lay, const physm_term *t)
{
    const physm_model *m = lay->model;
    if (t->n_probes < 0 || (t->n_probes > 0 && !t->probes) || t->n_residuals < 1)
        return model_error(lay, "bad probes or residual count", t->name);
    for (int p = 0; p < t->n_probes; p++) {
        const physm_probe *pr = &t->probes[p];
        if (pr->field < 0 || pr->field >= m->n_fields)
            return model_error(lay, "probe of an unknown field", t->name);
        const int ni = m->fields[pr->field].n_inputs;
        if (pr->n_streams < 1 || !pr->streams) return model_error(lay, "probe without streams", t->name);
        for (int s = 0; s < pr->n_streams; s++) {
            int order = 0;
            for (int i = 0; i < ni; i++) {
                if (pr->streams[s * ni + i] < 0) return model_error(lay, "negative derivative order", t->name);
                order += pr->streams[s * ni + i];
            }
            if (order > PHYSRT_MAX_ORDER) return model_error(lay, "derivative of order above 4", t->name);
            for (int s2 = 0; s2 < s; s2++)
                if (!memcmp(pr->streams + s * ni, pr->streams + s2 * ni, (size_t)ni * sizeof(int)))
                    return model_error(lay, "probe lists a stream twice", t->name);
        }
    }
    return 0;
}

static int check_term(physm_layout *lay, const physm_term *t)
{
    if (!t->name) return model_error(lay, "a term has no name", NULL);
    if (t->frames) { /* evaluated by the runtime: atomic_loss.c */
        if (t->kind != PHYSM_DATA || !t->data_file || !lay->model->system || !lay->model->system->atomic)
            return model_error(lay, "frames data without a file or an atomic network", t->name);
        return 0;
    }
    if (t->n_coords < 1 || !t->coord_names) return model_error(lay, "term without coordinates", t->name);
    if (!(t->weight >= 0)) return model_error(lay, "negative or NaN term weight", t->name);
    if (t->weight_rule < PHYSM_WEIGHT_FIXED || t->weight_rule > PHYSM_WEIGHT_AUTO || t->weight_every < 0 ||
        !(t->weight_alpha >= 0 && t->weight_alpha <= 1))
        return model_error(lay, "bad adaptive weight", t->name);
    if (t->adapt < PHYSM_ADAPT_NONE || t->adapt > PHYSM_ADAPT_RARD ||
        (t->adapt != PHYSM_ADAPT_NONE && (t->kind == PHYSM_DATA || t->adapt_every < 1 || t->adapt_pool < 1 ||
                                          !(t->adapt_fraction > 0 && t->adapt_fraction <= 1) ||
                                          !(t->adapt_k >= 0) || !(t->adapt_c >= 0))))
        return model_error(lay, "bad adaptive sampling", t->name);
    if (t->kind == PHYSM_DATA) {
        if (!t->data_file || !t->columns) return model_error(lay, "data term without file or columns", t->name);
        if (t->pair_rows && (t->n_coords % 2 || t->time_column < 0 || t->time_column >= t->n_coords / 2))
            return model_error(lay, "trajectory data term with an odd coordinate count or a bad time column",
                               t->name);
    } else {
        if (t->pair_rows) return model_error(lay, "row pairs in a sampled term", t->name);
        if (t->n_points < 1) return model_error(lay, "sampled term without points", t->name);
        if (!t->lo || !t->hi) return model_error(lay, "sampled term without a box", t->name);
        for (int k = 0; k < t->n_coords; k++)
            if (!(t->lo[k] <= t->hi[k])) return model_error(lay, "empty box", t->name);
        if (t->n_faces < 0 || (t->n_faces > 0 && !t->faces))
            return model_error(lay, "bad faces", t->name);
        for (int f = 0; f < t->n_faces; f++)
            for (int k = 0; k < t->faces[f].n_fixed; k++)
                if (t->faces[f].coords[k] < 0 || t->faces[f].coords[k] >= t->n_coords)
                    return model_error(lay, "face holds an unknown coordinate", t->name);
        if (t->sampler == PHYSM_SAMPLE_SOBOL && t->n_coords > PHYSRT_SOBOL_MAX_DIM)
            return model_error(lay, "too many coordinates for Sobol sampling", t->name);
    }
    if (check_probes(lay, t)) return -1;
    if (!t->inputs_f64 || !t->inputs_f32 || !t->residual_f64 || !t->residual_f32 ||
        !t->residual_vjp_f64 || !t->residual_vjp_f32)
        return model_error(lay, "missing pointwise function", t->name);
    return 0;
}

/* A dynamics pseudo-term (rhs, energy, momentum): evaluated in float64 on
 * states only (term_eval.c), so only its probes, inputs and residuals. */
static int check_pseudo(physm_layout *lay, const physm_term *t, const char *what, int n_coords,
                        int n_residuals)
{
    if (!t->name) return model_error(lay, "a dynamics term has no name", what);
    if (t->n_coords != n_coords) return model_error(lay, "dynamics term not over the state", t->name);
    if (check_probes(lay, t)) return -1;
    if (t->n_residuals != n_residuals) return model_error(lay, "dynamics term with a wrong residual count", t->name);
    if (!t->residual_f64 || (t->n_probes > 0 && !t->inputs_f64))
        return model_error(lay, "missing pointwise function", t->name);
    return 0;
}

static int check_simulations(physm_layout *lay);

/* A particle system: sets, attribute arrays, kernels and their probes. */
static int check_system(physm_layout *lay)
{
    const physm_system *s = lay->model->system;
    if (s->dim < 1 || s->dim > 3 || s->n_sets < 1 || s->n_sets > 8 || !s->sets || s->n_arrays < 1 ||
        s->n_kernels < 0 || (s->n_kernels && !s->kernels) || s->n_sums < 0 || !(s->mass >= 0))
        return model_error(lay, "a bad particle system", NULL);
    char *seen = calloc((size_t)s->n_arrays, 1);
    if (!seen) return model_error(lay, "out of memory", NULL);
    int bad = 0;
    for (int k = 0; k < s->n_sets && !bad; k++) {
        const physm_particle_set *set = &s->sets[k];
        int pos = 0, vel = 0;
        bad = !set->name || set->count < -1 || set->n_attributes < 1 || !set->attributes;
        for (int a = 0; !bad && a < set->n_attributes; a++) {
            const physm_attribute *at = &set->attributes[a];
            bad = !at->name || at->array < 0 || at->array >= s->n_arrays || seen[at->array] || at->width < 1;
            if (!bad) seen[at->array] = 1;
            pos += at->role == PHYSM_ROLE_POSITION && at->width == s->dim;
            vel += at->role == PHYSM_ROLE_VELOCITY && at->width == s->dim;
        }
        if (!bad) bad = pos > 1 || vel > 1 || (set->moves && (pos != 1 || vel != 1));
    }
    free(seen);
    if (bad) return model_error(lay, "a bad particle set", NULL);
    for (int k = 0; k < s->n_kernels; k++) {
        const physm_kernel *kr = &s->kernels[k];
        if (!kr->name || kr->kind < PHYSM_ITEMS || kr->kind > PHYSM_TRIPLETS || kr->set_first < 0 ||
            kr->set_first >= s->n_sets || kr->set_second < 0 || kr->set_second >= s->n_sets || !(kr->cutoff >= 0) ||
            kr->sum_index < -1 || kr->sum_index >= s->n_sums || !kr->body_f64 || (kr->sum_index >= 0 && !kr->sum_f64) ||
            kr->n_probes < 0 || (kr->n_probes && (!kr->probes || !kr->inputs_f64)))
            return model_error(lay, "a bad kernel", kr->name ? kr->name : "?");
        for (int p = 0; p < kr->n_probes; p++)
            if (kr->probes[p].field < 0 || kr->probes[p].field >= lay->model->n_fields || kr->probes[p].n_streams < 1 ||
                !kr->probes[p].streams)
                return model_error(lay, "a bad probe of a kernel", kr->name);
    }
    if (s->combine && check_pseudo(lay, s->combine, "combine", s->n_sums, 1 + s->n_sums)) return -1;
    return 0;
}

static int check_dynamics(physm_layout *lay)
{
    const physm_model *m = lay->model;
    const physm_dynamics *d = m->dynamics;
    if (!d) return m->n_simulations > 0 ? model_error(lay, "simulations without dynamics", NULL) : 0;
    if (d->kind != PHYSM_DYN_HAMILTONIAN && d->kind != PHYSM_DYN_NEWTON && d->kind != PHYSM_DYN_EXPLICIT)
        return model_error(lay, "unknown kind of dynamics", NULL);
    if (m->system && check_system(lay)) return -1;
    if (!d->rhs && m->system && d->kind == PHYSM_DYN_NEWTON) return check_simulations(lay);
    if (d->n_state < 1 || d->n_aux < 0 || !d->names) return model_error(lay, "dynamics without a state", NULL);
    for (int k = 0; k < d->n_state + d->n_aux; k++)
        if (!d->names[k]) return model_error(lay, "a state component has no name", NULL);
    if (d->kind == PHYSM_DYN_EXPLICIT ? d->n_half != 0 : (d->n_half < 1 || d->n_state != 2 * d->n_half))
        return model_error(lay, "positions and momenta do not split the state in halves", NULL);
    if (d->dim < 0 || (d->momentum && d->dim < 1)) return model_error(lay, "bad particle dimension", NULL);
    const int nc = d->n_state + d->n_aux;
    if (!d->rhs) return model_error(lay, "dynamics without a right-hand side", NULL);
    if (check_pseudo(lay, d->rhs, "rhs", nc, d->n_state)) return -1;
    if (d->energy && check_pseudo(lay, d->energy, "energy", nc, 1)) return -1;
    if (d->momentum && check_pseudo(lay, d->momentum, "momentum", nc, d->dim + 1)) return -1;
    return check_simulations(lay);
}

static int check_simulations(physm_layout *lay)
{
    const physm_model *m = lay->model;
    if (m->n_simulations < 0 || (m->n_simulations > 0 && !m->simulations))
        return model_error(lay, "bad simulation count", NULL);
    for (int s = 0; s < m->n_simulations; s++) {
        const physm_simulation *sim = &m->simulations[s];
        if (!sim->name) return model_error(lay, "a simulation has no name", NULL);
        if (sim->integrator != PHYSM_INT_LEAPFROG && sim->integrator != PHYSM_INT_MIDPOINT &&
            sim->integrator != PHYSM_INT_RK4 && sim->integrator != PHYSM_INT_LANGEVIN)
            return model_error(lay, "unknown integrator", sim->name);
        if (sim->integrator == PHYSM_INT_LANGEVIN && !(sim->kT > 0 && sim->kT < INFINITY && sim->damping > 0))
            return model_error(lay, "langevin without a temperature or damping", sim->name);
        if (!(sim->dt > 0 && sim->dt < INFINITY) || sim->steps < 1 || sim->every < 1 ||
            !(sim->tolerance >= 0 && sim->tolerance < INFINITY))
            return model_error(lay, "bad time step, step count, output interval or tolerance", sim->name);
        if (!sim->start && !sim->start_file) return model_error(lay, "simulation without a start", sim->name);
    }
    return 0;
}

int physm_layout_init(physm_layout *lay, const physm_model *m, const char *prog)
{
    memset(lay, 0, sizeof *lay);
    lay->model = m;
    lay->prog = prog;
    if (!m) return model_error(lay, "no model", NULL);
    if (m->abi_version != PHYSM_ABI_VERSION) {
        fprintf(stderr, "%s: error: the model was compiled for runtime ABI %d, this runtime has ABI %d\n",
                prog, m->abi_version, PHYSM_ABI_VERSION);
        return -1;
    }
    if (!m->name || m->n_fields < 0 || m->n_params < 0 || m->n_terms < 0 || m->n_stages < 0)
        return model_error(lay, "bad counts", NULL);
    lay->descs = calloc((size_t)m->n_fields + 1, sizeof *lay->descs);
    lay->offset = calloc((size_t)m->n_fields + 1, sizeof *lay->offset);
    if (!lay->descs || !lay->offset) {
        physm_layout_free(lay);
        fprintf(stderr, "%s: error: out of memory\n", prog);
        return -1;
    }
    size_t off = 0;
    for (int f = 0; f < m->n_fields; f++) {
        const physm_field *fd = &m->fields[f];
        physrt_mlp_desc d = {fd->n_inputs, fd->n_outputs, fd->n_hidden, fd->hidden_widths,
                             fd->activation, PHYSRT_ACT_IDENTITY};
        if (!fd->name || !fd->input_names || physrt_mlp_validate(&d) != PHYSRT_OK) {
            physm_layout_free(lay);
            return model_error(lay, "invalid network", fd->name);
        }
        if (fd->n_derivs < 0 ||
            (fd->n_derivs > 0 && (!fd->derivs || fd->n_net_streams < 1 || !fd->net_streams || !fd->eval_f64))) {
            physm_layout_free(lay);
            return model_error(lay, "hard-constrained field without its transform", fd->name);
        }
        for (int k = 0; k < fd->n_derivs; k++) {
            int order = 0;
            for (int i = 0; i < fd->n_inputs; i++) order += fd->derivs[(size_t)k * fd->n_inputs + i];
            if ((k == 0) != (order == 0)) {
                physm_layout_free(lay);
                return model_error(lay, "a transformed field must list its value first", fd->name);
            }
        }
        lay->descs[f] = d;
        lay->offset[f] = off;
        off += physrt_mlp_n_params(&d);
        if (m->system && m->system->atomic && m->system->atomic->field == f) {
            lay->scaling = off; /* the feature scaling: in the network's block, so checkpoints keep it */
            off += 4 * (size_t)m->system->atomic->n_features;
        }
    }
    lay->offset[m->n_fields] = off;
    lay->n_weights = off;
    lay->n_theta = off + (size_t)m->n_params;
    for (int p = 0; p < m->n_params; p++)
        if (!m->params[p].name) {
            physm_layout_free(lay);
            return model_error(lay, "parameter without a name", NULL);
        }
    for (int t = 0; t < m->n_terms; t++)
        if (check_term(lay, &m->terms[t])) {
            physm_layout_free(lay);
            return -1;
        }
    if (check_dynamics(lay)) {
        physm_layout_free(lay);
        return -1;
    }
    for (int s = 0; s < m->n_stages; s++)
        if (m->stages[s].steps < 0 ||
            (m->stages[s].optimizer != PHYSM_ADAM && m->stages[s].optimizer != PHYSM_LBFGS &&
             m->stages[s].optimizer != PHYSM_QUASI_NEWTON)) {
            physm_layout_free(lay);
            return model_error(lay, "bad training stage", NULL);
        }
    return 0;
}

void physm_layout_free(physm_layout *lay)
{
    free(lay->descs);
    free(lay->offset);
    lay->descs = NULL;
    lay->offset = NULL;
}

int physm_layout_fresh(const physm_layout *lay, uint64_t seed, double *theta)
{
    const physm_model *m = lay->model;
    for (int f = 0; f < m->n_fields; f++)
        if (physrt_mlp_init_f64(&lay->descs[f], physm_derive_seed(seed, PHYSM_SEED_FIELD, (uint64_t)f),
                                theta + lay->offset[f]) != PHYSRT_OK) {
            fprintf(stderr, "%s: error: cannot initialise the network of field '%s'\n", lay->prog,
                    m->fields[f].name);
            return -1;
        }
    if (m->system && m->system->atomic) {
        const size_t nf = (size_t)m->system->atomic->n_features;
        double *sc = theta + lay->scaling;
        for (size_t k = 0; k < nf; k++) sc[k] = 0, sc[nf + k] = 1, sc[2 * nf + k] = 1, sc[3 * nf + k] = 0;
    }
    for (int p = 0; p < m->n_params; p++) theta[lay->n_weights + (size_t)p] = m->params[p].init;
    return 0;
}
