/* local_eval.c - a domain with ghosts through the system's kernels (see
 * local_eval.h): item lists built from the caller's neighbour lists, each
 * kernel run over them by physm_system_eval_items, half-pair kernels
 * weighted by 1/2. V = sum_k c_k S_k: the coefficients come from the
 * combine pseudo-term at the unit vectors, once. An atomic network's
 * descriptors are taken for the contributing atoms only (their items), the
 * network gives E_i and dE_i/dG_i of those, and the descriptor kernels
 * scatter the forces of dE_i/dG_i (zero rows for ghosts) onto particles and
 * ghosts alike. Attributes the simulator
 * does not give (velocities, masses, charges) hold NaN, so a potential that
 * reads one gives a named error instead of a wrong number. */
#include "local_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int *first, *second, *third;
    long n, cap;
    long *start;                  /* per particle: its items are [start[i], start[i+1]) */
    double weight;                /* 1/2 for half pairs */
} le_items;

struct physm_local_eval {
    const physm_layout *lay;
    const physm_system *sys;
    double *theta;
    int n_species;
    double cutoff;
    double *coef;                 /* dV/dS_k */
    le_items *items;              /* per kernel */
    physm_system_eval *sev;
    long cap;                     /* particles sev and the arrays hold */
    physm_config cfg;
    int position, species;        /* attribute arrays; species -1: none */
    double *zero_shift;
    long shift_cap;
    double *sums, *ksums;         /* n_sums each */
    double *f_whole, *f_half;     /* cap x 3 */
    physm_atomic_net *net;        /* atomic networks: cap atoms, */
    double *desc, *grad;          /* cap x n_features: G_i, then dE_i/dG_i (ghosts' rows 0) */
    double *gathered, *energies;  /* the contributing atoms' rows G_i, dE_i/dG_i, and E_i */
    double *gathered_grad;
    double *gathered_species;     /* their element indices (the simulator's species codes, in the
                                     order of the model's elements) */
    long extrapolated;            /* atom evaluations with a feature outside the training range */
    char error[256];
};

static int set_error(physm_local_eval *ev, const char *fmt, const char *a)
{
    snprintf(ev->error, sizeof ev->error, fmt, a);
    return -1;
}

void physm_local_eval_destroy(physm_local_eval *ev)
{
    if (!ev) return;
    for (int k = 0; ev->items && k < ev->sys->n_kernels; k++) {
        free(ev->items[k].first);
        free(ev->items[k].second);
        free(ev->items[k].third);
        free(ev->items[k].start);
    }
    free(ev->items);
    for (int a = 0; ev->cfg.arrays && a < ev->sys->n_arrays; a++) free(ev->cfg.arrays[a]);
    free(ev->cfg.arrays);
    physm_system_eval_destroy(ev->sev);
    free(ev->theta);
    free(ev->coef);
    free(ev->zero_shift);
    free(ev->sums);
    free(ev->ksums);
    free(ev->f_whole);
    free(ev->f_half);
    physm_atomic_net_destroy(ev->net);
    free(ev->desc);
    free(ev->grad);
    free(ev->gathered);
    free(ev->gathered_grad);
    free(ev->gathered_species);
    free(ev->energies);
    free(ev);
}

const char *physm_local_eval_unsupported(const physm_system *s)
{
    if (!s) return "the model has no particle system (particles under Newtonian dynamics)";
    if (s->n_sets != 1) return "the model has more than one particle set; a simulator gives one";
    if (s->dim != 3) return "the model's particles are not in 3-D";
    if (!s->combine) return "the model has no potential energy (a force without an energy)";
    if (s->seeds_needed)
        return "the potential energy is not linear in its sums over particles, pairs and triplets, "
               "so it does not split into the domains of a simulator";
    for (int k = 0; k < s->n_kernels; k++) {
        const physm_kernel *kr = &s->kernels[k];
        if (kr->kind == PHYSM_PAIRS_CROSS) return "a kernel runs over pairs of two particle sets";
        if (kr->kind != PHYSM_ITEMS && kr->cutoff <= 0)
            return "a sum runs over every pair without a cutoff: give it one ('within rc')";
    }
    return NULL;
}

/* V at the unit vectors: the coefficients of V = c0 + sum_k c_k S_k. */
static int coefficients(physm_local_eval *ev)
{
    const physm_system *s = ev->sys;
    physm_term_eval *te = physm_term_eval_create(ev->lay, s->combine, 1);
    double *point = calloc((size_t)s->n_sums + 1, sizeof *point);
    double *out = calloc((size_t)s->n_sums + 2, sizeof *out);
    int rc = -1;
    if (!te || !point || !out) goto done;
    double v0;
    if (physm_term_eval_run(te, ev->theta, point, 1, out)) goto done;
    v0 = out[0];
    for (int k = 0; k < s->n_sums; k++) {
        point[k] = 1;
        if (physm_term_eval_run(te, ev->theta, point, 1, out)) goto done;
        point[k] = 0;
        ev->coef[k] = out[0] - v0;
    }
    rc = 0;
done:
    physm_term_eval_destroy(te);
    free(point);
    free(out);
    return rc;
}

physm_local_eval *physm_local_eval_create(const physm_layout *lay, const double *theta, int n_species, char *err,
                                          size_t err_size)
{
    const physm_system *s = lay->model->system;
    const char *why = physm_local_eval_unsupported(s);
    if (why) {
        snprintf(err, err_size, "%s", why);
        return NULL;
    }
    physm_local_eval *ev = calloc(1, sizeof *ev);
    if (!ev) goto oom;
    ev->lay = lay;
    ev->sys = s;
    ev->n_species = n_species;
    ev->position = ev->species = -1;
    ev->theta = malloc(sizeof(double) * (lay->n_theta + 1));
    ev->coef = calloc((size_t)s->n_sums + 1, sizeof *ev->coef);
    ev->sums = calloc((size_t)s->n_sums + 1, sizeof *ev->sums);
    ev->ksums = calloc((size_t)s->n_sums + 1, sizeof *ev->ksums);
    ev->items = calloc((size_t)s->n_kernels + 1, sizeof *ev->items);
    ev->cfg.arrays = calloc((size_t)s->n_arrays + 1, sizeof *ev->cfg.arrays);
    if (!ev->theta || !ev->coef || !ev->sums || !ev->ksums || !ev->items || !ev->cfg.arrays) goto oom;
    memcpy(ev->theta, theta, sizeof(double) * lay->n_theta);
    for (int a = 0; a < s->sets[0].n_attributes; a++) {
        const physm_attribute *at = &s->sets[0].attributes[a];
        if (at->role == PHYSM_ROLE_POSITION) ev->position = at->array;
        if (at->role == PHYSM_ROLE_SPECIES) ev->species = at->array;
    }
    if (ev->position < 0) {
        snprintf(err, err_size, "the particle set has no position attribute");
        physm_local_eval_destroy(ev);
        return NULL;
    }
    if (ev->species < 0 && n_species != 1) {
        snprintf(err, err_size, "the model has no species attribute, so it takes one species, not %d", n_species);
        physm_local_eval_destroy(ev);
        return NULL;
    }
    for (int k = 0; k < s->n_kernels; k++) {
        ev->items[k].weight = s->kernels[k].kind == PHYSM_PAIRS_HALF ? 0.5 : 1.0;
        if (s->kernels[k].cutoff > ev->cutoff) ev->cutoff = s->kernels[k].cutoff;
    }
    if (coefficients(ev)) {
        snprintf(err, err_size, "the potential energy cannot be evaluated (out of memory?)");
        physm_local_eval_destroy(ev);
        return NULL;
    }
    return ev;
oom:
    snprintf(err, err_size, "out of memory");
    physm_local_eval_destroy(ev);
    return NULL;
}

double physm_local_eval_cutoff(const physm_local_eval *ev)
{
    return ev->cutoff;
}

const char *physm_local_eval_error(const physm_local_eval *ev)
{
    return ev->error;
}

long physm_local_eval_extrapolated(const physm_local_eval *ev)
{
    return ev->extrapolated;
}

/* Room for n particles: the attribute arrays, the force buffers, the
 * system evaluator (made again for more particles). */
static int reserve(physm_local_eval *ev, long n)
{
    const physm_system *s = ev->sys;
    if (n <= ev->cap) return 0;
    long cap = n + n / 2 + 16;
    for (int a = 0; a < s->sets[0].n_attributes; a++) {
        const physm_attribute *at = &s->sets[0].attributes[a];
        free(ev->cfg.arrays[at->array]);
        if (!(ev->cfg.arrays[at->array] = malloc(sizeof(double) * (size_t)(cap * at->width)))) return -1;
        if (at->array != ev->position && at->array != ev->species)
            for (long i = 0; i < cap * at->width; i++) ev->cfg.arrays[at->array][i] = NAN;
    }
    free(ev->f_whole);
    free(ev->f_half);
    ev->f_whole = malloc(sizeof(double) * (size_t)(cap * 3));
    ev->f_half = malloc(sizeof(double) * (size_t)(cap * 3));
    for (int k = 0; k < s->n_kernels; k++) {
        free(ev->items[k].start);
        if (!(ev->items[k].start = malloc(sizeof(long) * (size_t)(cap + 1)))) return -1;
    }
    physm_system_eval_destroy(ev->sev);
    long count[8] = {cap};
    ev->sev = physm_system_eval_create(ev->lay, count, NULL);
    if (!ev->f_whole || !ev->f_half || !ev->sev) return -1;
    if (s->atomic) {
        const size_t rows = (size_t)cap * (size_t)s->atomic->n_features + 1;
        physm_atomic_net_destroy(ev->net);
        free(ev->desc);
        free(ev->grad);
        free(ev->gathered);
        free(ev->gathered_grad);
        free(ev->gathered_species);
        free(ev->energies);
        ev->net = physm_atomic_net_create(ev->lay, cap);
        ev->desc = malloc(sizeof(double) * rows);
        ev->grad = malloc(sizeof(double) * rows);
        ev->gathered = malloc(sizeof(double) * rows);
        ev->gathered_grad = malloc(sizeof(double) * rows);
        ev->energies = malloc(sizeof(double) * (size_t)(cap + 1));
        ev->gathered_species = malloc(sizeof(double) * (size_t)(cap + 1));
        if (!ev->net || !ev->desc || !ev->grad || !ev->gathered || !ev->gathered_grad || !ev->energies ||
            !ev->gathered_species)
            return -1;
    }
    ev->cap = cap;
    return 0;
}

static int push(le_items *L, int i, int j, int k)
{
    if (L->n == L->cap) {
        long cap = L->cap ? 2 * L->cap : 4096;
        int *a = realloc(L->first, sizeof(int) * (size_t)cap);
        if (a) L->first = a;
        int *b = realloc(L->second, sizeof(int) * (size_t)cap);
        if (b) L->second = b;
        int *c = realloc(L->third, sizeof(int) * (size_t)cap);
        if (c) L->third = c;
        if (!a || !b || !c) return -1;
        L->cap = cap;
    }
    L->first[L->n] = i;
    L->second[L->n] = j;
    L->third[L->n] = k;
    L->n++;
    return 0;
}

static double dist2(const double *r, int i, int j)
{
    double d0 = r[3 * i] - r[3 * j], d1 = r[3 * i + 1] - r[3 * j + 1], d2 = r[3 * i + 2] - r[3 * j + 2];
    return d0 * d0 + d1 * d1 + d2 * d2;
}

/* Kernel k's items, centre by centre: neighbours beyond its cutoff left
 * out (its generated code masks them too). */
static int build_items(physm_local_eval *ev, int k, const physm_local_config *c, int *near)
{
    const physm_kernel *kr = &ev->sys->kernels[k];
    le_items *L = &ev->items[k];
    const double rc2 = kr->cutoff * kr->cutoff;
    L->n = 0;
    for (int i = 0; i < c->n; i++) {
        L->start[i] = L->n;
        if (!c->contributing[i]) continue;
        if (kr->kind == PHYSM_ITEMS) {
            if (push(L, i, i, i)) return -1;
            continue;
        }
        int m = 0;
        for (long p = c->start[i]; p < c->start[i + 1]; p++)
            if (dist2(c->r, i, c->nbr[p]) < rc2) near[m++] = c->nbr[p];
        for (int p = 0; p < m; p++) {
            if (kr->kind != PHYSM_TRIPLETS) {
                if (push(L, i, near[p], i)) return -1;
                continue;
            }
            for (int q = p + 1; q < m; q++)
                if (push(L, i, near[p], near[q])) return -1;
        }
    }
    L->start[c->n] = L->n;
    return 0;
}

/* A zero image shift for the longest list (open space: ghosts are images). */
static int reserve_shift(physm_local_eval *ev, long n_items)
{
    if (n_items <= ev->shift_cap) return 0;
    free(ev->zero_shift);
    ev->shift_cap = n_items + n_items / 2;
    ev->zero_shift = calloc((size_t)ev->shift_cap * 6 + 1, sizeof(double));
    return ev->zero_shift ? 0 : -1;
}

/* Kernel k over items [lo, hi): sums into ev->ksums (zeroed first), forces
 * added to f. */
static int run_range(physm_local_eval *ev, int k, long lo, long hi, double *f)
{
    const le_items *L = &ev->items[k];
    physm_item_list list = {hi - lo, L->first + lo, L->second + lo, L->third + lo, ev->zero_shift};
    memset(ev->ksums, 0, sizeof(double) * (size_t)ev->sys->n_sums);
    double *forces[8] = {f};
    if (physm_system_eval_items(ev->sev, ev->theta, &ev->cfg, k, &list, f != NULL, ev->grad, ev->ksums, forces))
        return set_error(ev, "%s", physm_system_eval_error(ev->sev));
    return 0;
}

/* The atomic network's sum over the contributing atoms: their descriptors
 * from their own items, E_i into ev->energies (in particle order, the
 * contributing ones only) and dE_i/dG_i into ev->grad (ghosts' rows 0). */
static int atomic_energy(physm_local_eval *ev, const physm_local_config *c, double *sum)
{
    const physm_system *s = ev->sys;
    const size_t nf = (size_t)s->atomic->n_features;
    memset(ev->desc, 0, sizeof(double) * nf * (size_t)c->n);
    for (int k = 0; k < s->n_kernels; k++) {
        const le_items *L = &ev->items[k];
        physm_item_list list = {L->n, L->first, L->second, L->third, ev->zero_shift};
        if (s->kernels[k].n_features &&
            physm_system_eval_item_descriptors(ev->sev, ev->theta, &ev->cfg, k, &list, ev->desc))
            return set_error(ev, "%s", physm_system_eval_error(ev->sev));
    }
    long m = 0;
    for (int i = 0; i < c->n; i++)
        if (c->contributing[i]) {
            ev->gathered_species[m] = c->species ? c->species[i] : 0;
            memcpy(ev->gathered + nf * (size_t)m++, ev->desc + nf * (size_t)i, sizeof(double) * nf);
        }
    const double *species = s->atomic->n_elements > 1 ? ev->gathered_species : NULL;
    if (physm_atomic_net_energy(ev->net, ev->theta, m, species, ev->gathered, ev->energies, ev->gathered_grad,
                                &ev->extrapolated))
        return set_error(ev, "%s", "the atomic network's evaluation failed");
    memset(ev->grad, 0, sizeof(double) * nf * (size_t)c->n);
    *sum = 0;
    m = 0;
    for (int i = 0; i < c->n; i++)
        if (c->contributing[i]) {
            memcpy(ev->grad + nf * (size_t)i, ev->gathered_grad + nf * (size_t)m, sizeof(double) * nf);
            *sum += ev->energies[m++];
        }
    return 0;
}

static double energy_of(const physm_local_eval *ev, const double *sums)
{
    double e = 0;
    for (int k = 0; k < ev->sys->n_sums; k++) e += ev->coef[k] * sums[k];
    return e;
}

int physm_local_eval_run(physm_local_eval *ev, const physm_local_config *c, double *energy, double *forces,
                         double *particle_energy, double *virial)
{
    const physm_system *s = ev->sys;
    ev->error[0] = 0;
    if (c->n < 0) return set_error(ev, "%s", "a negative number of particles");
    if (reserve(ev, c->n)) return set_error(ev, "%s", "out of memory");
    ev->cfg.count[0] = c->n;
    memset(&ev->cfg.cell, 0, sizeof ev->cfg.cell);
    ev->cfg.cell.dim = 3;
    memcpy(ev->cfg.arrays[ev->position], c->r, sizeof(double) * (size_t)(3 * c->n));
    long max_near = 0;
    for (int i = 0; i < c->n; i++) {
        if (c->species && (c->species[i] < 0 || c->species[i] >= ev->n_species))
            return set_error(ev, "%s", "a particle's species is not one of the model's");
        if (ev->species >= 0) ev->cfg.arrays[ev->species][i] = c->species ? c->species[i] : 0;
        if (c->contributing[i] && c->start[i + 1] - c->start[i] > max_near) max_near = c->start[i + 1] - c->start[i];
    }
    int *near = malloc(sizeof(int) * (size_t)(max_near + 1));
    if (!near) return set_error(ev, "%s", "out of memory");
    long longest = 0;
    for (int k = 0; k < s->n_kernels; k++) {
        if (build_items(ev, k, c, near)) {
            free(near);
            return set_error(ev, "%s", "out of memory for the item lists");
        }
        if (ev->items[k].n > longest) longest = ev->items[k].n;
    }
    free(near);
    if (reserve_shift(ev, longest)) return set_error(ev, "%s", "out of memory");

    const int want_forces = forces || virial;
    const size_t nf = (size_t)(3 * c->n);
    if (want_forces) {
        memset(ev->f_whole, 0, sizeof(double) * nf);
        memset(ev->f_half, 0, sizeof(double) * nf);
    }
    double atomic_sum = 0;
    if (s->atomic && atomic_energy(ev, c, &atomic_sum)) return -1;
    memset(ev->sums, 0, sizeof(double) * (size_t)s->n_sums);
    for (int k = 0; k < s->n_kernels; k++) {
        const le_items *L = &ev->items[k];
        if (!want_forces && s->kernels[k].sum_index < 0) continue;
        if (run_range(ev, k, 0, L->n, !want_forces ? NULL : L->weight == 1 ? ev->f_whole : ev->f_half)) return -1;
        for (int q = 0; q < s->n_sums; q++) ev->sums[q] += L->weight * ev->ksums[q];
    }
    if (s->atomic) ev->sums[s->atomic->sum_index] = atomic_sum;
    const double e = energy_of(ev, ev->sums);
    if (!isfinite(e))
        return set_error(ev, "%s", "the energy is not finite (particles on top of each other, or a potential "
                                   "that reads velocities, masses or charges, which a simulator does not give)");
    if (energy) *energy = e;
    double *f = forces ? forces : ev->f_whole;
    if (want_forces)
        for (size_t q = 0; q < nf; q++) f[q] = ev->f_whole[q] + 0.5 * ev->f_half[q];
    if (virial) {
        for (int v = 0; v < 6; v++) virial[v] = 0;
        static const int a[6] = {0, 1, 2, 1, 0, 0}, b[6] = {0, 1, 2, 2, 2, 1};
        for (int i = 0; i < c->n; i++)
            for (int v = 0; v < 6; v++) virial[v] -= c->r[3 * i + a[v]] * f[3 * i + b[v]];
    }
    if (particle_energy) {
        for (int i = 0, m = 0; i < c->n; i++) {
            particle_energy[i] = 0;
            if (!c->contributing[i]) continue;
            if (s->atomic) particle_energy[i] = ev->coef[s->atomic->sum_index] * ev->energies[m++];
            for (int k = 0; k < s->n_kernels; k++) {
                const le_items *L = &ev->items[k];
                if (s->kernels[k].sum_index < 0 || L->start[i] == L->start[i + 1]) continue;
                if (run_range(ev, k, L->start[i], L->start[i + 1], NULL)) return -1;
                particle_energy[i] += L->weight * energy_of(ev, ev->ksums);
            }
        }
    }
    return 0;
}

int physm_exported_theta(const physm_layout *lay, const unsigned char *checkpoint, size_t size, double *theta,
                         char *err, size_t err_size)
{
    if (size > 0) {
        if (physm_checkpoint_parse(lay, "(the embedded checkpoint)", checkpoint, size, theta, NULL) == 0) return 0;
        snprintf(err, err_size, "the embedded checkpoint does not fit the model (see the message above)");
        return -1;
    }
    if (lay->n_theta > 0) {
        snprintf(err, err_size, "model '%s' has trained values (networks or constants): export it with "
                 "physc --checkpoint FILE", lay->model->name);
        return -1;
    }
    return 0;
}
