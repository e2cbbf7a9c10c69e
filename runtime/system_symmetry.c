/* system_symmetry.c - the check-symmetry verb of a particle system: how far
 * the model's energy and forces are from invariant (equivariant) on every
 * frame of an extended XYZ file under random rigid motions and relabellings.
 *
 * For each frame X and each kind of transformation g, --trials random g
 * (drawn from a stream of (seed, frame, kind, trial), so the figures do not
 * depend on the order or the thread count) give E(gX) and F(gX), compared
 * with E(X) and the forces moved the same way:
 *   rotation     R uniform on SO(3) (a unit quaternion of four normals),
 *                about the atoms' centroid; F(gX) = R F(X);
 *   reflection   -R, uniform over the improper rotations; F(gX) = -R F(X);
 *   translation  t uniform in [-L, L]^3 (L the extent of the atoms and the
 *                cell), atoms wrapped back into a periodic cell; F(gX) =
 *                F(X), and sum_i F_i = 0 (the same invariance, infinitesimal);
 *   permutation  atoms of one species (the species column, else Z, else
 *                all atoms) shuffled, with all their attributes; F(gX)_i =
 *                F(X)_perm(i).
 * Rotations and reflections turn every vector attribute (velocities) and the
 * cell's lattice vectors with the atoms. Errors are relative to |E(X)| and
 * max_i |F_i(X)| (absolute where those are zero). */
#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { SYM_ROTATION, SYM_REFLECTION, SYM_TRANSLATION, SYM_PERMUTATION, SYM_KINDS };

static const char *const kind_names[SYM_KINDS] = {"rotation", "reflection", "translation", "permutation"};
static const char *const kind_plurals[SYM_KINDS] = {"rotations", "reflections", "translations",
                                                     "permutations of like atoms"};

/* The largest errors of one kind over every frame and trial. */
typedef struct {
    double de, de_rel;            /* |E(gX) - E(X)|, and over |E(X)| */
    double df, df_rel;            /* max_i |F_i(gX) - (g F(X))_i|, and over max_i |F_i(X)| */
    double net, net_rel;          /* translations: |sum_i F_i(X)|, and over max_i |F_i(X)| */
} sym_errors;

/* A transformation: x -> R (x - c) + c + t on positions, R v on other
 * vectors, R h on lattice vectors; atom i of the result is atom perm[i]. */
typedef struct {
    double R[3][3], c[3], t[3];
    long *perm;                   /* NULL: the identity */
} sym_move;

static double relative(double err, double scale)
{
    return scale > 0 ? err / scale : err;
}

static void worst(double *max, double v)
{
    if (!(v <= *max)) *max = v; /* NaN sticks */
}

/* Uniform on SO(3): a unit quaternion from four standard normals. */
static void random_rotation(physrt_rng *rng, double R[3][3])
{
    double q[4], n2 = 0;
    do {
        n2 = 0;
        for (int k = 0; k < 4; k++) q[k] = physrt_rng_normal(rng), n2 += q[k] * q[k];
    } while (n2 < 1e-12);
    double s = 1 / sqrt(n2), w = q[0] * s, x = q[1] * s, y = q[2] * s, z = q[3] * s;
    double M[3][3] = {{1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)},
                      {2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)},
                      {2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)}};
    memcpy(R, M, sizeof M);
}

static void rotate(const double R[3][3], const double *v, double *out)
{
    for (int a = 0; a < 3; a++) out[a] = R[a][0] * v[0] + R[a][1] * v[1] + R[a][2] * v[2];
}

static void cross(const double *a, const double *b, double *out)
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

/* Wraps positions (n x 3) back into the cell along its periodic lattice
 * vectors: r -= floor(s_k) h_k, s_k the coordinate along h_k in a basis of
 * the periodic vectors completed by directions normal to them. Any integer
 * multiple of a lattice vector is a symmetry, so the completion is free. */
static void wrap_into_cell(const physrt_cell *cell, long n, double *r)
{
    double B[3][3];
    int periodic[3], n_periodic = 0;
    for (int k = 0; k < 3; k++) {
        periodic[k] = cell->periodic[k];
        n_periodic += periodic[k];
        memcpy(B[k], cell->h[k], sizeof B[k]);
    }
    if (n_periodic == 0) return;
    int open[3], n_open = 0, first = -1;
    for (int k = 0; k < 3; k++)
        if (!periodic[k]) open[n_open++] = k;
        else if (first < 0) first = k;
    if (n_open == 1) {
        const double *a = cell->h[(open[0] + 1) % 3], *b = cell->h[(open[0] + 2) % 3];
        cross(a, b, B[open[0]]);
    } else if (n_open == 2) {
        const double *a = cell->h[first];
        double e[3] = {0, 0, 0};
        int least = fabs(a[0]) <= fabs(a[1]) && fabs(a[0]) <= fabs(a[2]) ? 0 : fabs(a[1]) <= fabs(a[2]) ? 1 : 2;
        e[least] = 1;
        cross(a, e, B[open[0]]);
        cross(a, B[open[0]], B[open[1]]);
    }
    /* s = r B^-1: columns of B^-1 are the duals of the rows of B */
    double det = B[0][0] * (B[1][1] * B[2][2] - B[1][2] * B[2][1]) - B[0][1] * (B[1][0] * B[2][2] - B[1][2] * B[2][0]) +
                 B[0][2] * (B[1][0] * B[2][1] - B[1][1] * B[2][0]);
    if (!(det != 0) || !isfinite(det)) return; /* the evaluation names a degenerate cell */
    double dual[3][3];
    for (int k = 0; k < 3; k++) {
        cross(B[(k + 1) % 3], B[(k + 2) % 3], dual[k]);
        for (int a = 0; a < 3; a++) dual[k][a] /= det;
    }
    for (long i = 0; i < n; i++) {
        double *x = r + 3 * i;
        for (int k = 0; k < 3; k++) {
            if (!periodic[k]) continue;
            double f = floor(dual[k][0] * x[0] + dual[k][1] * x[1] + dual[k][2] * x[2]);
            if (f != 0)
                for (int a = 0; a < 3; a++) x[a] -= f * cell->h[k][a];
        }
    }
}

/* An atom's class: like atoms share the species text (or Z; all alike
 * without either). Sorted by class, then index, the classes are runs. */
typedef struct {
    const char *species;
    double z;
    long index;
} sym_atom;

static int class_order(const sym_atom *a, const sym_atom *b)
{
    int c = a->species && b->species ? strcmp(a->species, b->species) : 0;
    return c ? c : (a->z > b->z) - (a->z < b->z);
}

static int by_class(const void *pa, const void *pb)
{
    const sym_atom *a = pa, *b = pb;
    int c = class_order(a, b);
    return c ? c : (a->index > b->index) - (a->index < b->index);
}

static const char *like_atoms_by(const physm_xyz_frame *x)
{
    const physm_xyz_property *sp = physm_xyz_find(x, "species"), *z = physm_xyz_find(x, "Z");
    if (sp && sp->type == 'S' && sp->cols == 1) return "species";
    if (z && z->type != 'S' && z->cols == 1) return "Z";
    return "all atoms alike";
}

/* The frame's atoms (n) sorted into classes of like atoms. */
static void sort_into_classes(const physm_xyz_frame *x, sym_atom *atoms)
{
    const char *by = like_atoms_by(x);
    const physm_xyz_property *p = physm_xyz_find(x, *by == 's' ? "species" : "Z");
    for (long i = 0; i < x->n; i++)
        atoms[i] = (sym_atom){.species = *by == 's' ? p->text[i] : NULL, .z = *by == 'Z' ? p->values[i] : 0, .index = i};
    qsort(atoms, (size_t)x->n, sizeof *atoms, by_class);
}

/* A random permutation within each class (Fisher-Yates over its places):
 * perm[i] is the atom that moves to place i. */
static void random_permutation(physrt_rng *rng, long n, const sym_atom *atoms, long *perm)
{
    for (long i = 0; i < n; i++) perm[i] = i;
    for (long first = 0, end; first < n; first = end) {
        for (end = first + 1; end < n && !class_order(&atoms[first], &atoms[end]); end++) {}
        for (long k = end - 1; k > first; k--) {
            long l = first + (long)physrt_rng_below(rng, (uint64_t)(k - first) + 1);
            long t = perm[atoms[k].index];
            perm[atoms[k].index] = perm[atoms[l].index];
            perm[atoms[l].index] = t;
        }
    }
}

/* The moved configuration: out's arrays (allocated like in's) from in's. */
static void apply_move(const physm_particle_set *set, const sym_move *g, long n, const physm_config *in,
                       physm_config *out)
{
    out->cell = in->cell;
    for (int k = 0; k < 3; k++) rotate(g->R, in->cell.h[k], out->cell.h[k]);
    for (int a = 0; a < set->n_attributes; a++) {
        const physm_attribute *at = &set->attributes[a];
        const double *src = in->arrays[at->array];
        double *dst = out->arrays[at->array];
        int w = at->width;
        for (long i = 0; i < n; i++) {
            const double *v = src + (g->perm ? g->perm[i] : i) * w;
            double *o = dst + i * w;
            if (w != 3) {
                memcpy(o, v, sizeof *o * (size_t)w);
            } else if (at->role == PHYSM_ROLE_POSITION) {
                double d[3] = {v[0] - g->c[0], v[1] - g->c[1], v[2] - g->c[2]};
                rotate(g->R, d, o);
                for (int k = 0; k < 3; k++) o[k] += g->c[k] + g->t[k];
            } else {
                rotate(g->R, v, o);
            }
        }
        if (at->role == PHYSM_ROLE_POSITION && (g->t[0] != 0 || g->t[1] != 0 || g->t[2] != 0))
            wrap_into_cell(&out->cell, n, dst);
    }
}

/* A transformation of kind `kind` for frame x (configuration cfg, positions
 * pos, atoms sorted into classes); perm has room for its n atoms. */
static void random_move(int kind, physrt_rng *rng, const physm_xyz_frame *x, const physm_config *cfg,
                        const double *pos, const sym_atom *atoms, sym_move *g, long *perm)
{
    long n = x->n;
    memset(g, 0, sizeof *g);
    for (int k = 0; k < 3; k++) g->R[k][k] = 1;
    double lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
    for (long i = 0; i < n; i++)
        for (int k = 0; k < 3; k++) {
            g->c[k] += pos[i * 3 + k] / (double)n;
            if (i == 0 || pos[i * 3 + k] < lo[k]) lo[k] = pos[i * 3 + k];
            if (i == 0 || pos[i * 3 + k] > hi[k]) hi[k] = pos[i * 3 + k];
        }
    if (kind == SYM_ROTATION || kind == SYM_REFLECTION) {
        random_rotation(rng, g->R);
        if (kind == SYM_REFLECTION)
            for (int a = 0; a < 3; a++)
                for (int b = 0; b < 3; b++) g->R[a][b] = -g->R[a][b];
    } else if (kind == SYM_TRANSLATION) {
        double L = 1;
        for (int k = 0; k < 3; k++) {
            const double *h = cfg->cell.h[k];
            double len = sqrt(h[0] * h[0] + h[1] * h[1] + h[2] * h[2]);
            if (hi[k] - lo[k] > L) L = hi[k] - lo[k];
            if (cfg->cell.periodic[k] && len > L) L = len;
        }
        for (int k = 0; k < 3; k++) g->t[k] = L * (2 * physrt_rng_uniform(rng) - 1);
    } else {
        random_permutation(rng, n, atoms, perm);
        g->perm = perm;
    }
}

int physm_system_check_symmetry(const physm_layout *lay, const physm_symmetry_options *o)
{
    const physm_system *s = lay->model->system;
    const char *prog = lay->prog, *file = o->file;
    int status = PHYSM_EXIT_RUNTIME;
    physm_xyz_frame *xyz = NULL;
    int n_frames = 0;
    double *theta = calloc(lay->n_theta + 1, sizeof *theta);
    physrt_pool *pool = physrt_pool_create(o->threads);
    sym_errors err[SYM_KINDS];
    memset(err, 0, sizeof err);
    if (!theta || !pool) {
        fprintf(stderr, "%s: error: check-symmetry: out of memory\n", prog);
        goto done;
    }
    if (physm_simulate_load_theta(lay, &o->values, theta)) goto done;
    if (s->dim != 3) {
        fprintf(stderr, "%s: error: check-symmetry: frames of atoms are 3-D; the model's particles have %d numbers\n",
                prog, s->dim);
        goto done;
    }
    if (physm_xyz_read(file, file, 0, &xyz, &n_frames)) goto done;
    const physm_particle_set *set = &s->sets[0];
    int pos_array = -1;
    for (int a = 0; a < set->n_attributes; a++)
        if (set->attributes[a].role == PHYSM_ROLE_POSITION) pos_array = set->attributes[a].array;
    if (pos_array < 0) {
        fprintf(stderr, "%s: error: check-symmetry: the model's particles %s have no position\n", prog, set->name);
        goto done;
    }
    const int has_energy = s->combine != NULL, has_forces = set->moves;
    long atoms = 0;
    int like_by = 0; /* bits: frames whose like atoms are by species, by Z, all alike */
    for (int f = 0; f < n_frames; f++) {
        const physm_xyz_frame *x = &xyz[f];
        long n = x->n;
        physm_config cfg, moved = {0};
        if (physm_config_from_xyz(lay, file, x, &cfg)) goto done;
        const char *by = like_atoms_by(x);
        like_by |= *by == 's' ? 1 : *by == 'Z' ? 2 : 4;
        atoms += n;
        moved.count[0] = n;
        moved.arrays = calloc((size_t)s->n_arrays + 1, sizeof *moved.arrays);
        double *f0 = calloc((size_t)(n * 3 + 1), sizeof *f0), *f1 = calloc((size_t)(n * 3 + 1), sizeof *f1);
        long *perm = calloc((size_t)n + 1, sizeof *perm);
        sym_atom *classes = calloc((size_t)n + 1, sizeof *classes);
        int failed = !moved.arrays || !f0 || !f1 || !perm || !classes;
        if (!failed) sort_into_classes(x, classes);
        for (int a = 0; !failed && a < set->n_attributes; a++) {
            const physm_attribute *at = &set->attributes[a];
            failed = !(moved.arrays[at->array] = calloc((size_t)(n * at->width + 1), sizeof(double)));
        }
        physm_system_eval *ev = failed ? NULL : physm_system_eval_create(lay, cfg.count, pool);
        if (!ev && !failed) failed = 2; /* reported */
        if (failed == 1) fprintf(stderr, "%s: error: check-symmetry: out of memory\n", prog);
        double e0 = NAN, *fs0[8] = {has_forces ? f0 : NULL}, *fs1[8] = {has_forces ? f1 : NULL};
        if (!failed && physm_system_eval_run(ev, theta, &cfg, &e0, fs0)) {
            fprintf(stderr, "%s:%d: error: check-symmetry: %s\n", file, x->line, physm_system_eval_error(ev));
            failed = 2;
        }
        /* the frame as given: its scales, and its net force */
        double f_scale = 0, net[3] = {0, 0, 0};
        for (long i = 0; !failed && has_forces && i < n; i++)
            for (int k = 0; k < 3; k++) {
                net[k] += f0[i * 3 + k];
                if (!(fabs(f0[i * 3 + k]) <= f_scale)) f_scale = fabs(f0[i * 3 + k]);
            }
        if (!failed && ((has_energy && !isfinite(e0)) || !isfinite(f_scale))) {
            fprintf(stderr, "%s:%d: error: check-symmetry: the model's %s not finite on this frame\n", file,
                    x->line, has_energy && !isfinite(e0) ? "energy is" : "forces are");
            failed = 2;
        }
        if (!failed && has_forces) {
            double net_abs = sqrt(net[0] * net[0] + net[1] * net[1] + net[2] * net[2]);
            worst(&err[SYM_TRANSLATION].net, net_abs);
            worst(&err[SYM_TRANSLATION].net_rel, relative(net_abs, f_scale));
        }
        for (int kind = 0; !failed && kind < SYM_KINDS; kind++)
            for (long trial = 0; !failed && trial < o->trials; trial++) {
                physrt_rng rng;
                physrt_rng_seed_stream(&rng, o->values.seed, (uint64_t)f, (uint64_t)kind, (uint64_t)trial);
                sym_move g;
                random_move(kind, &rng, x, &cfg, cfg.arrays[pos_array], classes, &g, perm);
                apply_move(set, &g, n, &cfg, &moved);
                double e1 = NAN;
                if (physm_system_eval_run(ev, theta, &moved, &e1, fs1)) {
                    fprintf(stderr, "%s:%d: error: check-symmetry: a %s of this frame: %s\n", file, x->line,
                            kind_names[kind], physm_system_eval_error(ev));
                    failed = 2;
                    break;
                }
                sym_errors *e = &err[kind];
                if (has_energy) {
                    worst(&e->de, fabs(e1 - e0));
                    worst(&e->de_rel, relative(fabs(e1 - e0), fabs(e0)));
                }
                double df = 0;
                for (long i = 0; has_forces && i < n; i++) {
                    double want[3];
                    rotate(g.R, f0 + 3 * (g.perm ? g.perm[i] : i), want);
                    for (int k = 0; k < 3; k++) worst(&df, fabs(f1[i * 3 + k] - want[k]));
                }
                worst(&e->df, df);
                worst(&e->df_rel, relative(df, f_scale));
            }
        physm_system_eval_destroy(ev);
        physm_config_free(lay, &moved);
        physm_config_free(lay, &cfg);
        free(f0);
        free(f1);
        free(perm);
        free(classes);
        if (failed) goto done;
    }

    printf("check-symmetry %s: %d frame%s, %ld atoms, %ld trials of each transformation, seed %llu, tolerance %g "
           "(relative)\n", file, n_frames, n_frames == 1 ? "" : "s", atoms, o->trials, (unsigned long long)o->values.seed,
           o->tolerance);
    int violated[SYM_KINDS] = {0}, n_violated = 0;
    double largest = 0;
    for (int kind = 0; kind < SYM_KINDS; kind++) {
        const sym_errors *e = &err[kind];
        double rel = 0;
        printf("%s: ", kind_names[kind]);
        if (has_energy) {
            printf("energy %.3g (relative %.3g)", e->de, e->de_rel);
            worst(&rel, e->de_rel);
        } else {
            printf("energy - (no potential energy)");
        }
        if (has_forces) {
            printf(", forces %.3g (relative %.3g)", e->df, e->df_rel);
            worst(&rel, e->df_rel);
        }
        if (kind == SYM_TRANSLATION && has_forces) {
            printf(", net force %.3g (relative %.3g)", e->net, e->net_rel);
            worst(&rel, e->net_rel);
        }
        if (kind == SYM_PERMUTATION)
            printf(", like atoms: %s%s%s%s%s", like_by & 1 ? "same species" : "", (like_by & 1) && (like_by & 6) ? ", " : "",
                   like_by & 2 ? "same Z" : "", (like_by & 2) && (like_by & 4) ? ", " : "", like_by & 4 ? "all atoms" : "");
        violated[kind] = !(rel <= o->tolerance);
        n_violated += violated[kind];
        worst(&largest, rel);
        printf(": %s\n", violated[kind] ? "VIOLATED" : "ok");
    }
    if (!n_violated) {
        printf("symmetry: invariant under rotations, reflections, translations and permutations of like atoms "
               "(largest relative error %.3g <= %g)\n", largest, o->tolerance);
        status = PHYSM_EXIT_OK;
    } else {
        printf("symmetry: VIOLATED:");
        for (int kind = 0, k = 0; kind < SYM_KINDS; kind++)
            if (violated[kind]) printf("%s %s", k++ ? "," : "", kind_plurals[kind]);
        printf("\n");
        for (int kind = 0; kind < SYM_KINDS; kind++) {
            if (!violated[kind]) continue;
            const sym_errors *e = &err[kind];
            fprintf(stderr, "%s: error: check-symmetry: %s: the model is not invariant under %s (relative errors:",
                    prog, file, kind_plurals[kind]);
            if (has_energy) fprintf(stderr, " energy %.3g%s", e->de_rel, has_forces ? "," : "");
            if (has_forces) fprintf(stderr, " forces %.3g", e->df_rel);
            if (has_forces && kind == SYM_TRANSLATION) fprintf(stderr, ", net force %.3g", e->net_rel);
            fprintf(stderr, "; tolerance %g)\n", o->tolerance);
        }
        status = PHYSM_EXIT_RUNTIME;
    }
    if (fflush(stdout)) status = PHYSM_EXIT_RUNTIME;
done:
    physm_xyz_free(xyz, n_frames);
    physrt_pool_destroy(pool);
    free(theta);
    return status;
}
