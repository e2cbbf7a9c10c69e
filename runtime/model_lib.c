/* model_lib.c - the C library of a compiled particle model (physc
 * --emit=lib; API in physc_potential.h). Energy and forces come from
 * physm_system_eval_run, as in the simulate verb. The stress needs each
 * item's forces with the images they act on, which the scattered forces
 * no longer hold: the periodic cell is unrolled into ghosts (one per
 * neighbour-list entry across the boundary), and local_eval.c takes the
 * virial -sum r (x) F over particles and ghosts, which is the cell's. */
#include "local_eval.h"
#include "physc_potential.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defined by the object physc --emit=lib writes. */
extern const char physm_export_species[];
extern const unsigned char physm_export_checkpoint[];
extern const uint64_t physm_export_checkpoint_size;

struct physc_potential {
    physm_layout lay;
    double *theta;
    const physm_system *sys;
    int n_species;
    int position, species;        /* attribute arrays; species -1: none */
    double cutoff;
    /* energy and forces */
    physm_system_eval *sev;
    long n;                       /* the count sev was made for */
    physm_config cfg;
    /* stress */
    physm_local_eval *lev;        /* NULL until a stress is asked for */
    physrt_neighbors *nl;
    char error[300];
};

static int fail(physc_potential *p, const char *fmt, const char *a)
{
    snprintf(p->error, sizeof p->error, fmt, a);
    return -1;
}

void physc_potential_destroy(physc_potential *p)
{
    if (!p) return;
    physm_system_eval_destroy(p->sev);
    physm_local_eval_destroy(p->lev);
    physrt_neighbors_destroy(p->nl);
    for (int a = 0; p->cfg.arrays && a < p->sys->n_arrays; a++) free(p->cfg.arrays[a]);
    free(p->cfg.arrays);
    free(p->theta);
    physm_layout_free(&p->lay);
    free(p);
}

physc_potential *physc_potential_create(char *error, size_t error_size)
{
    const physm_model *m = physm_model_get();
    physc_potential *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(error, error_size, "out of memory");
        return NULL;
    }
    if (physm_layout_init(&p->lay, m, m->name)) {
        free(p);
        snprintf(error, error_size, "the model's descriptor is invalid");
        return NULL;
    }
    p->sys = m->system;
    const physm_system *s = p->sys;
    const char *why = !s ? "the model has no particle system (particles under Newtonian dynamics)"
                      : s->n_sets != 1 ? "the model has more than one particle set"
                      : !s->combine ? "the model has no potential energy" : NULL;
    if (why) {
        snprintf(error, error_size, "%s", why);
        physc_potential_destroy(p);
        return NULL;
    }
    p->theta = calloc(p->lay.n_theta + 1, sizeof *p->theta);
    p->cfg.arrays = calloc((size_t)s->n_arrays + 1, sizeof *p->cfg.arrays);
    if (!p->theta || !p->cfg.arrays) {
        snprintf(error, error_size, "out of memory");
        physc_potential_destroy(p);
        return NULL;
    }
    if (physm_exported_theta(&p->lay, physm_export_checkpoint, (size_t)physm_export_checkpoint_size, p->theta, error,
                             error_size)) {
        physc_potential_destroy(p);
        return NULL;
    }
    p->n_species = 1;
    for (const char *c = physm_export_species; *c; c++) p->n_species += *c == ',';
    p->position = p->species = -1;
    for (int a = 0; a < s->sets[0].n_attributes; a++) {
        if (s->sets[0].attributes[a].role == PHYSM_ROLE_POSITION) p->position = s->sets[0].attributes[a].array;
        if (s->sets[0].attributes[a].role == PHYSM_ROLE_SPECIES) p->species = s->sets[0].attributes[a].array;
    }
    for (int k = 0; k < s->n_kernels; k++)
        if (s->kernels[k].cutoff > p->cutoff) p->cutoff = s->kernels[k].cutoff;
    p->n = -1;
    return p;
}

const char *physc_potential_name(const physc_potential *p)
{
    return p->lay.model->name;
}

const char *physc_potential_species(const physc_potential *p)
{
    (void)p;
    return physm_export_species;
}

double physc_potential_cutoff(const physc_potential *p)
{
    return p->cutoff;
}

const char *physc_potential_error(const physc_potential *p)
{
    return p->error;
}

/* The configuration's arrays for n particles (the system evaluator made
 * again when n changes); attributes a caller does not give hold NaN. */
static int set_config(physc_potential *p, int n, const double *r, const int *species, const double *cell,
                      const int *pbc)
{
    const physm_system *s = p->sys;
    if (n != p->n) {
        physm_system_eval_destroy(p->sev);
        p->sev = NULL;
        p->n = -1;
        for (int a = 0; a < s->sets[0].n_attributes; a++) {
            const physm_attribute *at = &s->sets[0].attributes[a];
            free(p->cfg.arrays[at->array]);
            if (!(p->cfg.arrays[at->array] = malloc(sizeof(double) * ((size_t)n * at->width + 1)))) return -1;
            for (long i = 0; i < (long)n * at->width; i++) p->cfg.arrays[at->array][i] = NAN;
        }
        long count[8] = {n};
        if (!(p->sev = physm_system_eval_create(&p->lay, count, NULL))) return -1;
        p->n = n;
        p->cfg.count[0] = n;
    }
    memcpy(p->cfg.arrays[p->position], r, sizeof(double) * 3 * (size_t)n);
    if (p->species >= 0)
        for (int i = 0; i < n; i++) p->cfg.arrays[p->species][i] = species ? species[i] : 0;
    memset(&p->cfg.cell, 0, sizeof p->cfg.cell);
    p->cfg.cell.dim = s->dim;
    for (int x = 0; cell && x < 3; x++) {
        p->cfg.cell.periodic[x] = x < s->dim && (pbc ? pbc[x] != 0 : 1);
        for (int y = 0; y < 3; y++) p->cfg.cell.h[x][y] = cell[3 * x + y];
    }
    return 0;
}

/* The stress through ghosts: every entry (i, j, shift != 0) of the full
 * list becomes a ghost at r_j + shift. */
static int stress_of(physc_potential *p, int n, const double *r, const int *species, double *stress)
{
    const physrt_cell *cell = &p->cfg.cell;
    if (!cell->periodic[0] || !cell->periodic[1] || !cell->periodic[2] || p->sys->dim != 3)
        return fail(p, "%s", "a stress needs a cell periodic along all three lattice vectors");
    if (!p->lev) {
        char err[200];
        if (!(p->lev = physm_local_eval_create(&p->lay, p->theta, p->n_species, err, sizeof err)))
            return fail(p, "the stress cannot be computed: %s", err);
        if (!(p->nl = physrt_neighbors_create(3, physm_local_eval_cutoff(p->lev), 0, 0)))
            return fail(p, "%s", "out of memory");
    }
    if (physrt_neighbors_update(p->nl, n, r, cell) < 0) return fail(p, "%s", physrt_neighbors_error(p->nl));
    const physrt_pairs *P = physrt_neighbors_pairs(p->nl);
    long ghosts = 0;
    for (long q = 0; q < P->n; q++) ghosts += P->shift[3 * q] != 0 || P->shift[3 * q + 1] != 0 || P->shift[3 * q + 2] != 0;
    const long total = n + ghosts;
    double *rr = malloc(sizeof(double) * (size_t)(3 * total + 1));
    int *contributing = malloc(sizeof(int) * (size_t)(total + 1)), *sp = malloc(sizeof(int) * (size_t)(total + 1));
    long *start = calloc((size_t)total + 2, sizeof *start);
    int *nbr = malloc(sizeof(int) * (size_t)(P->n + 1));
    double *f = malloc(sizeof(double) * (size_t)(3 * total + 1));
    int rc = -1;
    if (!rr || !contributing || !sp || !start || !nbr || !f || total > INT32_MAX) {
        fail(p, "%s", "out of memory");
        goto done;
    }
    memcpy(rr, r, sizeof(double) * 3 * (size_t)n);
    for (int i = 0; i < n; i++) {
        contributing[i] = 1;
        sp[i] = species ? species[i] : 0;
    }
    long g = n;
    for (int i = 0; i < n; i++) {
        start[i] = P->start[i];
        for (long q = P->start[i]; q < P->start[i + 1]; q++) {
            const double *S = P->shift + 3 * q;
            if (S[0] == 0 && S[1] == 0 && S[2] == 0) {
                nbr[q] = P->j[q];
                continue;
            }
            for (int x = 0; x < 3; x++) rr[3 * g + x] = r[3 * P->j[q] + x] + S[x];
            contributing[g] = 0;
            sp[g] = sp[P->j[q]];
            nbr[q] = (int)g++;
        }
    }
    for (long i = n; i <= total; i++) start[i] = P->n;
    physm_local_config c = {(int)total, rr, contributing, sp, start, nbr};
    double virial[6];
    if (physm_local_eval_run(p->lev, &c, NULL, f, NULL, virial)) {
        fail(p, "%s", physm_local_eval_error(p->lev));
        goto done;
    }
    const double (*h)[3] = cell->h;
    const double volume = fabs(h[0][0] * (h[1][1] * h[2][2] - h[1][2] * h[2][1]) -
                               h[0][1] * (h[1][0] * h[2][2] - h[1][2] * h[2][0]) +
                               h[0][2] * (h[1][0] * h[2][1] - h[1][1] * h[2][0]));
    for (int v = 0; v < 6; v++) stress[v] = virial[v] / volume;
    rc = 0;
done:
    free(rr);
    free(contributing);
    free(sp);
    free(start);
    free(nbr);
    free(f);
    return rc;
}

int physc_potential_compute(physc_potential *p, int n, const double *positions, const int *species,
                            const double *cell, const int *pbc, double *energy, double *forces, double *stress)
{
    p->error[0] = 0;
    if (n < 0 || !positions || !energy) return fail(p, "%s", "n >= 0, positions and energy are needed");
    for (int i = 0; species && i < n; i++)
        if (species[i] < 0 || species[i] >= p->n_species)
            return fail(p, "a species code is not one of the model's (%s)", physm_export_species);
    if (set_config(p, n, positions, species, cell, pbc)) return fail(p, "%s", "out of memory");
    double *f = forces ? forces : malloc(sizeof(double) * (3 * (size_t)n + 1));
    if (!f) return fail(p, "%s", "out of memory");
    double *fs[8] = {f};
    int rc = physm_system_eval_run(p->sev, p->theta, &p->cfg, energy, fs);
    if (rc) fail(p, "%s", physm_system_eval_error(p->sev));
    else if (!isfinite(*energy))
        rc = fail(p, "%s", "the energy is not finite (particles on top of each other, or a potential that "
                           "reads velocities, masses or charges, which this library does not take)");
    if (f != forces) free(f);
    if (rc == 0 && stress) rc = stress_of(p, n, positions, species, stress);
    return rc;
}
