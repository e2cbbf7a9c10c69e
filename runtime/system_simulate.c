/* system_simulate.c - the simulate verb for a particle system: one
 * configuration of any size, from an extxyz start, integrated by velocity
 * Verlet with the forces of system_eval.c (one force evaluation per step):
 *
 *   v += h/2 F(r)/m;  r += h v;  v += h/2 F(r)/m
 *
 * or, at a temperature (langevin), by BAOAB (Leimkuhler and Matthews 2013),
 * whose configurations sample the canonical ensemble accurately for steps
 * that Verlet takes:
 *
 *   v += h/2 F/m;  r += h/2 v;  v = c v + sqrt((1 - c^2) kT/m) xi;  r += h/2 v;  v += h/2 F/m
 *
 * with c = exp(-h / damping) and xi standard normal, drawn in particle
 * order from a stream of (seed, step): the same trajectory on any number
 * of threads.
 *
 * The start file gives the particles (per-atom `set` names them when the
 * model has several sets), the cell (Lattice, pbc) and the attributes:
 * position from pos, velocity from velo (or momenta / masses; zero when
 * absent), mass from masses, charge from charges, any other attribute from
 * the property of its own name. Output: FILE.xyz, the frames (positions,
 * velocities, forces; energy and potential in the comment line) at step 0,
 * every every-th step and the last; FILE.csv, per output step the kinetic,
 * potential and total energy and the total momentum. Particles are held
 * in the order of a coarse grid over their start positions, so that
 * neighbours lie close in memory; frames list them in the start's order,
 * with the start's species. The report gives the
 * largest relative drift of the energy and the momentum (against sum m|v|
 * at the start), as simulate.c does for state points. */
#define _POSIX_C_SOURCE 200809L
#include "model_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const physm_layout *lay;
    const physm_system *sys;
    const char *prog;
    physm_config cfg;
    double *forces[8];
    double *inv_mass[8];           /* per particle of each moving set */
    long *slot[8];                 /* per set: where the start's particle i is held */
    long n_atoms;                  /* the start's particles, all sets */
    char (*species)[16];           /* per particle of the start, in its order */
    long *atom_set, *atom_index;   /* per particle of the start: its set, its index in the set */
    int pos[8], vel[8], mass[8];   /* attribute arrays, -1: none */
    double kinetic, potential;
    double momentum[3], scale;     /* sum m v, sum m |v| */
} sys_state;

/* The extended-XYZ property an attribute is read from: its role's names
 * in ASE's spellings first (names[0] is the one error messages give), then
 * the attribute's own name; NULL when the frame has none of them. */
static const physm_xyz_property *attribute_property(const physm_xyz_frame *f, const physm_attribute *at,
                                                    const char **wanted)
{
    static const char *const names[][3] = {
        [PHYSM_ROLE_POSITION] = {"pos"},
        [PHYSM_ROLE_VELOCITY] = {"velo", "vel", "velocities"},
        [PHYSM_ROLE_MASS] = {"masses", "mass"},
        [PHYSM_ROLE_CHARGE] = {"charges", "initial_charges"},
    };
    const char *const *role = at->role < sizeof names / sizeof *names ? names[at->role] : names[PHYSM_ROLE_NONE];
    *wanted = role[0] ? role[0] : at->name;
    for (int k = 0; k < 3 && role[k]; k++) {
        const physm_xyz_property *p = physm_xyz_find(f, role[k]);
        if (p) return p;
    }
    return physm_xyz_find(f, at->name);
}

/* Holds each set's particles in the order of a grid of cells of side about
 * `side` over their positions (a counting sort by cell): the loops over
 * pairs then read neighbours close in memory. slot[k][i] tells where the
 * start's particle i of set k went. */
static int order_by_cells(sys_state *S, double side)
{
    const physm_system *s = S->sys;
    const int dim = s->dim;
    for (int k = 0; k < s->n_sets; k++) {
        const long n = S->cfg.count[k];
        const physm_particle_set *set = &s->sets[k];
        const double *r = S->cfg.arrays[S->pos[k]];
        long *key = malloc(sizeof *key * (size_t)(n + 1)), *order = malloc(sizeof *order * (size_t)(n + 1));
        S->slot[k] = malloc(sizeof *S->slot[k] * (size_t)(n + 1));
        if (!key || !order || !S->slot[k]) {
            free(key);
            free(order);
            return -1;
        }
        double lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
        for (long i = 0; i < n; i++)
            for (int x = 0; x < dim; x++) {
                double v = r[i * dim + x];
                if (i == 0 || v < lo[x]) lo[x] = v;
                if (i == 0 || v > hi[x]) hi[x] = v;
            }
        long cells[3] = {1, 1, 1}, total = 1;
        for (int x = 0; x < dim; x++) {
            double c = side > 0 ? (hi[x] - lo[x]) / side : 1;
            cells[x] = c >= 1 && c < 1024 ? (long)c : c >= 1024 ? 1024 : 1;
            total *= cells[x];
        }
        for (long i = 0; i < n; i++) {
            long id = 0;
            for (int x = 0; x < dim; x++) {
                double f = hi[x] > lo[x] ? (r[i * dim + x] - lo[x]) / (hi[x] - lo[x]) : 0;
                long b = (long)(f * cells[x]);
                id = id * cells[x] + (b < 0 ? 0 : b >= cells[x] ? cells[x] - 1 : b);
            }
            key[i] = id;
        }
        long *start = calloc((size_t)total + 1, sizeof *start);
        if (!start) {
            free(key);
            free(order);
            return -1;
        }
        for (long i = 0; i < n; i++) start[key[i] + 1]++;
        for (long c = 0; c < total; c++) start[c + 1] += start[c];
        for (long i = 0; i < n; i++) order[start[key[i]]++] = i; /* stable: ties keep the start's order */
        free(start);
        for (long j = 0; j < n; j++) S->slot[k][order[j]] = j;
        for (int a = 0; a < set->n_attributes; a++) {
            const physm_attribute *at = &set->attributes[a];
            double *old = S->cfg.arrays[at->array], *sorted = malloc(sizeof *sorted * (size_t)(n * at->width + 1));
            if (!sorted) {
                free(key);
                free(order);
                return -1;
            }
            for (long j = 0; j < n; j++)
                memcpy(sorted + j * at->width, old + order[j] * at->width, sizeof(double) * (size_t)at->width);
            free(old);
            S->cfg.arrays[at->array] = sorted;
        }
        if (S->inv_mass[k]) {
            double *sorted = malloc(sizeof *sorted * (size_t)(n + 1));
            if (!sorted) {
                free(key);
                free(order);
                return -1;
            }
            for (long j = 0; j < n; j++) sorted[j] = S->inv_mass[k][order[j]];
            free(S->inv_mass[k]);
            S->inv_mass[k] = sorted;
        }
        free(key);
        free(order);
    }
    return 0;
}

/* The attribute arrays of every set from the start frame. */
static int load_start(sys_state *S, const char *display, const physm_xyz_frame *f)
{
    const physm_system *s = S->sys;
    const char *prog = S->prog;
    const physm_xyz_property *set_col = physm_xyz_find(f, "set");
    if (s->n_sets > 1 && (!set_col || set_col->type != 'S')) {
        fprintf(stderr, "%s:%d: error: the model has %d particle sets: give each atom's set in a per-atom "
                "property set:S:1\n", display, f->line, s->n_sets);
        return -1;
    }
    long *which = S->atom_set = calloc((size_t)f->n + 1, sizeof *which);
    long *index = S->atom_index = calloc((size_t)f->n + 1, sizeof *index);
    S->n_atoms = f->n;
    if (!which || !index) goto oom;
    const physm_xyz_property *species = physm_xyz_find(f, "species");
    S->species = calloc((size_t)f->n + 1, sizeof *S->species);
    if (!S->species) goto oom;
    for (long a = 0; a < f->n; a++)
        snprintf(S->species[a], sizeof S->species[a], "%s", species && species->type == 'S' ? species->text[a] : "X");
    for (long a = 0; a < f->n; a++) {
        int k = 0;
        if (s->n_sets > 1) {
            for (k = 0; k < s->n_sets && strcmp(set_col->text[a], s->sets[k].name); k++) {}
            if (k == s->n_sets) {
                fprintf(stderr, "%s:%d: error: atom %ld belongs to the set '%s', which the model does not declare\n",
                        display, f->line + 2 + (int)a, a, set_col->text[a]);
                goto fail;
            }
        }
        which[a] = k;
        index[a] = S->cfg.count[k]++;
    }
    for (int k = 0; k < s->n_sets; k++)
        if (s->sets[k].count >= 0 && s->sets[k].count != S->cfg.count[k]) {
            fprintf(stderr, "%s:%d: error: the model's set %s has %ld particles, the start has %ld\n", display,
                    f->line, s->sets[k].name, s->sets[k].count, S->cfg.count[k]);
            goto fail;
        }
    for (int k = 0; k < s->n_sets; k++) {
        const physm_particle_set *set = &s->sets[k];
        S->pos[k] = S->vel[k] = S->mass[k] = -1;
        for (int i = 0; i < set->n_attributes; i++) {
            const physm_attribute *at = &set->attributes[i];
            double *arr = calloc((size_t)(S->cfg.count[k] * at->width + 1), sizeof *arr);
            if (!arr) goto oom;
            S->cfg.arrays[at->array] = arr;
            if (at->role == PHYSM_ROLE_POSITION) S->pos[k] = at->array;
            if (at->role == PHYSM_ROLE_VELOCITY) S->vel[k] = at->array;
            if (at->role == PHYSM_ROLE_MASS) S->mass[k] = at->array;
            if (s->atomic && at->array == s->atomic->species_array) { /* the networks' element indices */
                double *e = malloc(sizeof(double) * (size_t)(f->n + 1));
                if (!e) goto oom;
                int bad = physm_species_from_xyz(s->atomic, display, f, e);
                for (long a = 0; !bad && a < f->n; a++)
                    if (which[a] == k) arr[index[a]] = e[a];
                free(e);
                if (bad) goto fail;
                continue;
            }
            const char *want;
            const physm_xyz_property *p = attribute_property(f, at, &want);
            if (!p) {
                if (at->role == PHYSM_ROLE_VELOCITY) continue; /* at rest, or from momenta below */
                fprintf(stderr, "%s:%d: error: no per-atom property %s for the attribute %s of %s (Properties "
                        "lists the columns)\n", display, f->line, want, at->name, set->name);
                goto fail;
            }
            if (p->type == 'S' || p->cols != at->width) {
                fprintf(stderr, "%s:%d: error: the property %s has %d %s column%s; the attribute %s needs %d numbers\n",
                        display, f->line, p->name, p->cols, p->type == 'S' ? "text" : "number", p->cols == 1 ? "" : "s",
                        at->name, at->width);
                goto fail;
            }
            for (long a = 0; a < f->n; a++)
                if (which[a] == k)
                    for (int c = 0; c < at->width; c++) arr[index[a] * at->width + c] = p->values[a * p->cols + c];
        }
    }
    /* momenta / m when there is no velocity (in the start's order, before
     * the particles are reordered) */
    const physm_xyz_property *mom = physm_xyz_find(f, "momenta");
    for (int k = 0; k < s->n_sets; k++) {
        if (!s->sets[k].moves) continue;
        const physm_particle_set *set = &s->sets[k];
        const char *want;
        const physm_xyz_property *vp = NULL;
        for (int a = 0; a < set->n_attributes; a++)
            if (set->attributes[a].role == PHYSM_ROLE_VELOCITY) vp = attribute_property(f, &set->attributes[a], &want);
        if (!S->inv_mass[k]) {
            S->inv_mass[k] = malloc(sizeof(double) * (size_t)(S->cfg.count[k] + 1));
            if (!S->inv_mass[k]) goto oom;
        }
        for (long i = 0; i < S->cfg.count[k]; i++) {
            double m = S->mass[k] >= 0 ? S->cfg.arrays[S->mass[k]][i] : s->mass;
            if (!(m > 0 && isfinite(m))) {
                fprintf(stderr, "%s:%d: error: the mass of particle %ld of %s is %g; masses must be positive\n",
                        display, f->line, i, s->sets[k].name, m);
                goto fail;
            }
            S->inv_mass[k][i] = 1.0 / m;
        }
        if (!vp && mom && mom->cols == s->dim)
            for (long a = 0; a < f->n; a++)
                if (which[a] == k)
                    for (int c = 0; c < s->dim; c++)
                        S->cfg.arrays[S->vel[k]][index[a] * s->dim + c] =
                            mom->values[a * s->dim + c] * S->inv_mass[k][index[a]];
    }
    /* the cell */
    S->cfg.cell.dim = s->dim;
    for (int x = 0; x < 3; x++) {
        S->cfg.cell.periodic[x] = x < s->dim && f->pbc[x];
        for (int y = 0; y < 3; y++) S->cfg.cell.h[x][y] = f->has_lattice ? f->lattice[x][y] : 0;
    }
    /* neighbours close in memory: cells of about the largest cutoff */
    double side = 0;
    for (int k = 0; k < s->n_kernels; k++)
        if (s->kernels[k].cutoff > side) side = s->kernels[k].cutoff;
    if (order_by_cells(S, side)) goto oom;
    return 0;
oom:
    fprintf(stderr, "%s: error: out of memory reading the start\n", prog);
fail:
    return -1;
}

static int evaluate(sys_state *S, physm_system_eval *ev, const double *theta)
{
    if (physm_system_eval_run(ev, theta, &S->cfg, &S->potential, S->forces)) {
        fprintf(stderr, "%s: error: simulate: %s\n", S->prog, physm_system_eval_error(ev));
        return -1;
    }
    for (int k = 0; k < S->sys->n_sets; k++) {
        if (!S->sys->sets[k].moves) continue;
        size_t n = (size_t)(S->cfg.count[k] * S->sys->dim);
        for (size_t i = 0; i < n; i++)
            if (!isfinite(S->forces[k][i])) {
                fprintf(stderr, "%s: error: simulate: the force on particle %zu of %s is %g (particles too close, "
                        "or a step too large?)\n", S->prog, i / (size_t)S->sys->dim, S->sys->sets[k].name,
                        S->forces[k][i]);
                return -1;
            }
    }
    return 0;
}

static void measure(sys_state *S)
{
    const int dim = S->sys->dim;
    S->kinetic = 0;
    S->scale = 0;
    for (int x = 0; x < 3; x++) S->momentum[x] = 0;
    for (int k = 0; k < S->sys->n_sets; k++) {
        if (!S->sys->sets[k].moves) continue;
        const double *v = S->cfg.arrays[S->vel[k]];
        for (long i = 0; i < S->cfg.count[k]; i++) {
            double m = 1.0 / S->inv_mass[k][i], v2 = 0;
            for (int x = 0; x < dim; x++) {
                v2 += v[i * dim + x] * v[i * dim + x];
                S->momentum[x] += m * v[i * dim + x];
            }
            S->kinetic += 0.5 * m * v2;
            S->scale += m * sqrt(v2);
        }
    }
}

static void kick(sys_state *S, double h)
{
    const int dim = S->sys->dim;
    for (int k = 0; k < S->sys->n_sets; k++) {
        if (!S->sys->sets[k].moves) continue;
        double *v = S->cfg.arrays[S->vel[k]];
        for (long i = 0; i < S->cfg.count[k]; i++)
            for (int x = 0; x < dim; x++) v[i * dim + x] += h * S->inv_mass[k][i] * S->forces[k][i * dim + x];
    }
}

static void drift(sys_state *S, double h)
{
    const int dim = S->sys->dim;
    for (int k = 0; k < S->sys->n_sets; k++) {
        if (!S->sys->sets[k].moves) continue;
        double *r = S->cfg.arrays[S->pos[k]];
        const double *v = S->cfg.arrays[S->vel[k]];
        for (long i = 0; i < S->cfg.count[k] * dim; i++) r[i] += h * v[i];
    }
}

/* The O step of BAOAB: the velocities relax towards the Maxwell-Boltzmann
 * distribution at kT by the factor c. */
static void thermostat(sys_state *S, double c, double kT, uint64_t seed, long step)
{
    const int dim = S->sys->dim;
    physrt_rng rng;
    physrt_rng_seed_stream(&rng, seed, (uint64_t)step, 0, 0);
    for (int k = 0; k < S->sys->n_sets; k++) {
        if (!S->sys->sets[k].moves) continue;
        double *v = S->cfg.arrays[S->vel[k]];
        for (long i = 0; i < S->cfg.count[k]; i++) {
            const double sigma = sqrt((1 - c * c) * kT * S->inv_mass[k][i]);
            for (int x = 0; x < dim; x++) v[i * dim + x] = c * v[i * dim + x] + sigma * physrt_rng_normal(&rng);
        }
    }
}

static void write_frame(FILE *out, const sys_state *S, long step, double t)
{
    const physm_system *s = S->sys;
    const int dim = s->dim;
    long n = 0;
    for (int k = 0; k < s->n_sets; k++) n += S->cfg.count[k];
    fprintf(out, "%ld\n", n);
    if (S->cfg.cell.periodic[0] || S->cfg.cell.periodic[1] || S->cfg.cell.periodic[2]) {
        fprintf(out, "Lattice=\"");
        for (int x = 0; x < 3; x++)
            for (int y = 0; y < 3; y++) fprintf(out, "%s%.17g", x || y ? " " : "", S->cfg.cell.h[x][y]);
        fprintf(out, "\" pbc=\"%c %c %c\" ", "FT"[S->cfg.cell.periodic[0]], "FT"[S->cfg.cell.periodic[1]],
                "FT"[S->cfg.cell.periodic[2]]);
    }
    fprintf(out, "Properties=species:S:1:pos:R:%d:velo:R:%d:forces:R:%d%s step=%ld time=%.17g", dim, dim, dim,
            s->n_sets > 1 ? ":set:S:1" : "", step, t);
    if (!isnan(S->potential)) fprintf(out, " energy=%.17g potential=%.17g", S->potential + S->kinetic, S->potential);
    fputc('\n', out);
    for (long a = 0; a < S->n_atoms; a++) { /* in the start's order */
        const int k = (int)S->atom_set[a];
        const long i = S->slot[k][S->atom_index[a]];
        const double *r = S->cfg.arrays[S->pos[k]];
        const double *v = S->vel[k] >= 0 ? S->cfg.arrays[S->vel[k]] : NULL;
        fputs(S->species[a], out);
        for (int x = 0; x < dim; x++) fprintf(out, " %.17g", r[i * dim + x]);
        for (int x = 0; x < dim; x++) fprintf(out, " %.17g", v ? v[i * dim + x] : 0.0);
        for (int x = 0; x < dim; x++) fprintf(out, " %.17g", S->forces[k] ? S->forces[k][i * dim + x] : 0.0);
        if (s->n_sets > 1) fprintf(out, " %s", s->sets[k].name);
        fputc('\n', out);
    }
}

static void write_thermo(FILE *out, const sys_state *S, long step, double t, long builds)
{
    fprintf(out, "%ld,%.17g,%.17g,%.17g,%.17g", step, t, S->kinetic, S->potential, S->kinetic + S->potential);
    for (int x = 0; x < S->sys->dim; x++) fprintf(out, ",%.17g", S->momentum[x]);
    fprintf(out, ",%ld\n", builds);
}

/* FILE.xyz and FILE.csv from the output name (either extension, or none). */
static char *with_extension(const char *to, const char *ext)
{
    size_t len = strlen(to);
    if (len > 4 && (!strcmp(to + len - 4, ".xyz") || !strcmp(to + len - 4, ".csv"))) len -= 4;
    else if (len > 7 && !strcmp(to + len - 7, ".extxyz")) len -= 7;
    char *p = malloc(len + strlen(ext) + 6);
    if (p) sprintf(p, "%.*s%s", (int)len, to, ext);
    return p;
}

int physm_simulate_system(const physm_layout *lay, const physm_simulate_options *o, const physm_sim_setup *su)
{
    const physm_model *m = lay->model;
    const physm_system *s = m->system;
    const char *prog = lay->prog;
    int status = PHYSM_EXIT_RUNTIME;
    if (su->integrator != PHYSM_INT_LEAPFROG && su->integrator != PHYSM_INT_LANGEVIN) {
        fprintf(stderr, "%s: error: simulate: particles are integrated by velocity Verlet (leapfrog or verlet) "
                "or langevin, not %s\n", prog, physm_integrator_name(su->integrator));
        return PHYSM_EXIT_USAGE;
    }
    if (o->npy) {
        fprintf(stderr, "%s: error: simulate: a particle system writes extended XYZ frames and a CSV of energies, "
                "not --format npy\n", prog);
        return PHYSM_EXIT_USAGE;
    }
    if (!su->from) {
        fprintf(stderr, "%s: error: simulate: particles start from an extxyz file (--from FILE.xyz)\n", prog);
        return PHYSM_EXIT_USAGE;
    }
    sys_state S;
    memset(&S, 0, sizeof S);
    S.lay = lay;
    S.sys = s;
    S.prog = prog;
    physm_xyz_frame *frames = NULL;
    int n_frames = 0;
    physm_system_eval *ev = NULL;
    physrt_pool *pool = NULL;
    double *theta = NULL;
    char *xyz = with_extension(su->to, ".xyz"), *csv = with_extension(su->to, ".csv"), *xyz_tmp = NULL, *csv_tmp = NULL;
    FILE *fx = NULL, *fc = NULL;
    S.cfg.arrays = calloc((size_t)s->n_arrays + 1, sizeof *S.cfg.arrays);
    theta = calloc(lay->n_theta + 1, sizeof *theta);
    if (!xyz || !csv || !S.cfg.arrays || !theta) goto oom;
    if (physm_xyz_read(su->from_path, su->from, 1, &frames, &n_frames)) goto done;
    if (load_start(&S, su->from, &frames[0])) goto done;
    if (physm_simulate_load_theta(lay, o, theta)) goto done;
    for (int k = 0; k < s->n_sets; k++)
        if (s->sets[k].moves && !(S.forces[k] = calloc((size_t)(S.cfg.count[k] * s->dim + 1), sizeof(double))))
            goto oom;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = o->threads > 0 ? o->threads : cpus < 1 ? 1 : cpus > 256 ? 256 : (int)cpus;
    if (threads > 1 && !(pool = physrt_pool_create(threads))) {
        fprintf(stderr, "%s: error: cannot start %d threads\n", prog, threads);
        goto done;
    }
    if (!(ev = physm_system_eval_create(lay, S.cfg.count, pool))) goto done;
    if (o->skin >= 0) physm_system_eval_set_skin(ev, o->skin);

    xyz_tmp = malloc(strlen(xyz) + 5);
    csv_tmp = malloc(strlen(csv) + 5);
    if (!xyz_tmp || !csv_tmp) goto oom;
    sprintf(xyz_tmp, "%s.tmp", xyz);
    sprintf(csv_tmp, "%s.tmp", csv);
    if (!(fx = fopen(xyz_tmp, "w")) || !(fc = fopen(csv_tmp, "w"))) {
        fprintf(stderr, "%s: error: cannot write %s: %s\n", prog, fx ? csv_tmp : xyz_tmp, strerror(errno));
        goto done;
    }
    fprintf(fc, "step,t,kinetic,potential,energy");
    for (int x = 0; x < s->dim; x++) fprintf(fc, ",P_%c", "xyz"[x]);
    fprintf(fc, ",neighbour_builds\n");

    const double h = su->dt, k_B = PHYSM_BOLTZMANN_EV_PER_K;
    const int has_energy = s->combine != NULL, langevin = su->integrator == PHYSM_INT_LANGEVIN;
    const double c_friction = langevin ? exp(-h / su->damping) : 1;
    long dof = 0;
    for (int k = 0; k < s->n_sets; k++)
        if (s->sets[k].moves) dof += S.cfg.count[k] * s->dim;
    double kinetic_sum = 0; /* over the second half of the run */
    long kinetic_n = 0;
    double e0 = 0, p0[3] = {0, 0, 0}, scale0 = 0, e_max = 0, e_end = 0, p_max = 0, p_end = 0;
    long e_max_step = 0, p_max_step = 0;
    physm_progress pr;
    physm_progress_init(&pr, m, stderr, o->quiet, 0, su->steps);
    char what[256];
    snprintf(what, sizeof what, "simulate %s", su->name);
    const double t0 = physm_now();
    if (evaluate(&S, ev, theta)) goto done;
    measure(&S);
    e0 = S.kinetic + S.potential;
    memcpy(p0, S.momentum, sizeof p0);
    scale0 = S.scale;
    write_frame(fx, &S, 0, 0.0);
    write_thermo(fc, &S, 0, 0.0, physm_system_eval_builds(ev));
    for (long k = 1; k <= su->steps; k++) {
        kick(&S, 0.5 * h);
        if (langevin) {
            drift(&S, 0.5 * h);
            thermostat(&S, c_friction, su->kT, (uint64_t)su->seed, k);
            drift(&S, 0.5 * h);
        } else {
            drift(&S, h);
        }
        if (evaluate(&S, ev, theta)) {
            physm_progress_break(&pr);
            fprintf(stderr, "%s: error: simulate: at step %ld\n", prog, k);
            goto done;
        }
        kick(&S, 0.5 * h);
        measure(&S);
        if (2 * k > su->steps) kinetic_sum += S.kinetic, kinetic_n++;
        if (has_energy) {
            e_end = fabs(S.kinetic + S.potential - e0) / fmax(fabs(e0), 1e-300);
            if (!(e_end <= e_max)) e_max = e_end, e_max_step = k;
        }
        double dp2 = 0;
        for (int x = 0; x < s->dim; x++) dp2 += (S.momentum[x] - p0[x]) * (S.momentum[x] - p0[x]);
        /* against sum m|v| at the start (or now, for a start at rest) */
        double scale = fmax(scale0, S.scale);
        p_end = scale > 0 ? sqrt(dp2) / scale : 0;
        if (!(p_end <= p_max)) p_max = p_end, p_max_step = k;
        if (k % su->every == 0 || k == su->steps) {
            write_frame(fx, &S, k, k * h);
            write_thermo(fc, &S, k, k * h, physm_system_eval_builds(ev));
        }
        physm_progress_steps(&pr, k, what);
    }
    const double seconds = physm_now() - t0;
    physm_progress_break(&pr);
    int werr = ferror(fx) || ferror(fc);
    if (fclose(fx)) werr = 1;
    if (fclose(fc)) werr = 1;
    fx = fc = NULL;
    if (werr || rename(xyz_tmp, xyz) || rename(csv_tmp, csv)) {
        fprintf(stderr, "%s: error: cannot write %s: %s\n", prog, xyz, strerror(errno));
        remove(xyz_tmp);
        remove(csv_tmp);
        goto done;
    }
    long n = 0;
    for (int k = 0; k < s->n_sets; k++) n += S.cfg.count[k];
    if (!o->quiet && langevin) {
        const double T = dof && kinetic_n ? 2 * kinetic_sum / kinetic_n / ((double)dof * k_B) : 0;
        printf("simulate %s: Langevin (BAOAB) at %.6g K, damping %g, dt %g, %ld steps, %ld particles, %ld "
               "neighbour list builds, %.3f s (%.4g particle-steps/s); wrote %s and %s\n", su->name, su->kT / k_B,
               su->damping, h, su->steps, n, physm_system_eval_builds(ev), seconds,
               seconds > 0 ? (double)n * su->steps / seconds : 0.0, xyz, csv);
        printf("temperature: mean %.6g K over the second half (target %.6g K; 2 KE / (%ld k_B), energies in eV)\n", T,
               su->kT / k_B, dof);
    } else if (!o->quiet) {
        printf("simulate %s: velocity Verlet, dt %g, %ld steps, %ld particles, %ld neighbour list builds, %.3f s "
               "(%.4g particle-steps/s); wrote %s and %s\n", su->name, h, su->steps, n, physm_system_eval_builds(ev),
               seconds, seconds > 0 ? (double)n * su->steps / seconds : 0.0, xyz, csv);
        if (has_energy)
            printf("energy: max relative drift %.3g (trajectory 0, step %ld), at the end %.3g\n", e_max, e_max_step,
                   e_end);
        printf("momentum: max relative drift %.3g (trajectory 0, step %ld), at the end %.3g\n", p_max, p_max_step,
               p_end);
        if (m->dynamics->conserve_energy) {
            if (has_energy) printf("conserve energy: max relative drift %.3g over %ld steps\n", e_max, su->steps);
            else printf("conserve energy: not measured, the model defines no energy\n");
        }
        if (m->dynamics->conserve_momentum)
            printf("conserve momentum: max relative drift %.3g over %ld steps\n", p_max, su->steps);
    }
    if (physm_system_eval_extrapolated(ev))
        fprintf(stderr, "%s: warning: %ld atom evaluations had descriptors outside the range of the training "
                "frames (the network extrapolates there)\n", prog, physm_system_eval_extrapolated(ev));
    status = PHYSM_EXIT_OK;
    goto done;
oom:
    fprintf(stderr, "%s: error: out of memory\n", prog);
done:
    if (fx) fclose(fx);
    if (fc) fclose(fc);
    if (status != PHYSM_EXIT_OK) {
        if (xyz_tmp) remove(xyz_tmp);
        if (csv_tmp) remove(csv_tmp);
    }
    physm_system_eval_destroy(ev);
    physrt_pool_destroy(pool);
    physm_xyz_free(frames, n_frames);
    for (int a = 0; S.cfg.arrays && a < s->n_arrays; a++) free(S.cfg.arrays[a]);
    free(S.cfg.arrays);
    for (int k = 0; k < 8; k++) {
        free(S.forces[k]);
        free(S.inv_mass[k]);
        free(S.slot[k]);
    }
    free(S.species);
    free(S.atom_set);
    free(S.atom_index);
    free(theta);
    free(xyz);
    free(csv);
    free(xyz_tmp);
    free(csv_tmp);
    return status;
}
