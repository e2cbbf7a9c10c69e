/* points.c - the points of each loss term, made once before training.
 *
 * Sampled terms: n_points in the box [lo, hi] with the term's sampler, or,
 * with faces, split evenly across the faces (the first n % n_faces faces get
 * one more) with each face's held coordinates set to their values and the
 * free coordinates sampled in the box. Samplers:
 *   uniform  - xoshiro256** from a seed derived from (seed, term, face);
 *   sobol    - Joe-Kuo Sobol sequence over the free coordinates, the
 *              all-zero first point skipped (deterministic, seed-free);
 *   lhs      - Latin hypercube, seeded like uniform;
 *   grid     - a tensor grid over the free coordinates with k points per
 *              coordinate (k^d >= n, k minimal), both ends included, of which
 *              n points are taken at evenly spaced grid indices (all of them
 *              when k^d == n, e.g. always in one dimension).
 * Data terms: the CSV file's columns, read once. Trajectory data terms
 * (pair_rows): the n_coords / 2 columns of every row; a point is a pair of
 * consecutive rows of one trajectory (row k, then row k + 1); a row whose
 * time (column time_column) does not strictly increase starts a new
 * trajectory. */
#define _POSIX_C_SOURCE 200809L
#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The grid sampler over dim coordinates (lo/hi per coordinate). */
static void sample_grid(int n, int dim, const double *lo, const double *hi, double *out)
{
    long k = 1;
    if (dim == 1) k = n;
    else {
        k = (long)floor(pow((double)n, 1.0 / dim));
        if (k < 1) k = 1;
        for (;;) {   /* smallest k with k^dim >= n */
            double total = 1;
            for (int d = 0; d < dim; d++) total *= (double)k;
            if (total >= n) break;
            k++;
        }
    }
    double total = 1;
    for (int d = 0; d < dim; d++) total *= (double)k;
    for (int p = 0; p < n; p++) {
        /* grid index: evenly spaced over [0, total) */
        double gi = n > 1 ? floor((double)p * (total - 1) / (double)(n - 1) + 0.5) : 0;
        uint64_t idx = (uint64_t)gi;
        for (int d = dim - 1; d >= 0; d--) {
            uint64_t i = idx % (uint64_t)k;
            idx /= (uint64_t)k;
            double u = k > 1 ? (double)i / (double)(k - 1) : 0.5;
            out[(size_t)p * dim + d] = k > 1 && i == (uint64_t)(k - 1) ? hi[d] : lo[d] + (hi[d] - lo[d]) * u;
        }
    }
}

/* n points on one face (or the whole box when face is NULL); a Sobol
 * sequence starts skip points further on. */
static int sample_part(const physm_term *t, const physm_face *face, uint64_t seed, int n, long skip,
                       double *out, double *scratch)
{
    const int nc = t->n_coords;
    int free_idx[PHYSRT_SOBOL_MAX_DIM + 64];
    double lo[PHYSRT_SOBOL_MAX_DIM + 64], hi[PHYSRT_SOBOL_MAX_DIM + 64];
    int nfree = 0;
    if (nc > (int)(sizeof lo / sizeof lo[0])) return -1;
    for (int k = 0; k < nc; k++) {
        int held = 0;
        if (face)
            for (int j = 0; j < face->n_fixed; j++) held |= face->coords[j] == k;
        if (!held) {
            free_idx[nfree] = k;
            lo[nfree] = t->lo[k];
            hi[nfree] = t->hi[k];
            nfree++;
        }
    }
    if (nfree > 0 && n > 0) {
        physrt_rng rng;
        physrt_rng_seed(&rng, seed);
        int rc = PHYSRT_OK;
        switch (t->sampler) {
        case PHYSM_SAMPLE_SOBOL: {
            physrt_sobol sob;
            rc = physrt_sobol_init(&sob, nfree, 1);
            if (rc == PHYSRT_OK && skip > 0) physrt_sobol_skip(&sob, (uint64_t)skip);
            if (rc == PHYSRT_OK) rc = physrt_sample_sobol_f64(&sob, n, lo, hi, scratch);
            break;
        }
        case PHYSM_SAMPLE_LHS: rc = physrt_sample_lhs_f64(&rng, n, nfree, lo, hi, scratch); break;
        case PHYSM_SAMPLE_GRID: sample_grid(n, nfree, lo, hi, scratch); break;
        case PHYSM_SAMPLE_UNIFORM:
        default: rc = physrt_sample_uniform_f64(&rng, n, nfree, lo, hi, scratch); break;
        }
        if (rc != PHYSRT_OK) return -1;
    }
    for (int p = 0; p < n; p++) {
        double *row = out + (size_t)p * nc;
        for (int k = 0; k < nc; k++) row[k] = 0.5 * (t->lo[k] + t->hi[k]);
        for (int j = 0; j < nfree; j++) row[free_idx[j]] = scratch[(size_t)p * nfree + j];
        if (face)
            for (int j = 0; j < face->n_fixed; j++) row[face->coords[j]] = face->values[j];
    }
    return 0;
}

/* n points of a sampled term from tseed, split across its faces; a Sobol
 * sequence skips round x (each face's share) points. */
static int sample_term(const physm_layout *lay, const physm_term *t, uint64_t tseed, int n, long round,
                       double **points)
{
    const int nc = t->n_coords;
    double *out = malloc(((size_t)n * nc + 1) * sizeof *out);
    double *scratch = malloc(((size_t)n * nc + 1) * sizeof *scratch);
    if (!out || !scratch) {
        free(out);
        free(scratch);
        fprintf(stderr, "%s: error: out of memory for the %d points of term '%s'\n", lay->prog, n, t->name);
        return -1;
    }
    int rc = 0;
    if (t->n_faces == 0) {
        rc = sample_part(t, NULL, tseed, n, round * n, out, scratch);
    } else {
        int done = 0;
        for (int f = 0; f < t->n_faces && rc == 0; f++) {
            int nf = n / t->n_faces + (f < n % t->n_faces);
            rc = sample_part(t, &t->faces[f], physm_derive_seed(tseed, PHYSM_SEED_FACE, (uint64_t)f), nf,
                             round * nf, out + (size_t)done * nc, scratch);
            done += nf;
        }
    }
    free(scratch);
    if (rc) {
        free(out);
        fprintf(stderr, "%s: error: cannot sample the points of term '%s'\n", lay->prog, t->name);
        return -1;
    }
    *points = out;
    return 0;
}

/* Data paths resolve against the model's directory unless absolute. */
char *physm_resolve_path(const physm_model *m, const char *file)
{
    size_t lf = strlen(file);
    if (file[0] == '/' || !m->source_dir || !m->source_dir[0]) {
        char *p = malloc(lf + 1);
        if (p) memcpy(p, file, lf + 1);
        return p;
    }
    size_t ld = strlen(m->source_dir);
    char *p = malloc(ld + lf + 2);
    if (!p) return NULL;
    memcpy(p, m->source_dir, ld);
    size_t k = ld;
    if (k > 0 && p[k - 1] != '/') p[k++] = '/';
    memcpy(p + k, file, lf + 1);
    return p;
}

/* Rows (n x half, time in column time_column) to pairs of consecutive rows
 * of one trajectory, in place of *values. */
static int pair_rows(const physm_layout *lay, const physm_term *t, double **values, int *n)
{
    const int half = t->n_coords / 2, tc = t->time_column;
    const double *rows = *values;
    int n_pairs = 0;
    for (int k = 0; k + 1 < *n; k++)
        if (rows[(size_t)(k + 1) * half + tc] > rows[(size_t)k * half + tc]) n_pairs++;
    if (n_pairs == 0) {
        free(*values);
        *values = NULL;
        fprintf(stderr, "%s: error: no two consecutive rows of one trajectory in the %d row%s (a trajectory's "
                "time, column '%s', must increase from row to row; a row whose time does not increase "
                "starts the next trajectory)\n", t->data_file, *n, *n == 1 ? "" : "s", t->columns[tc]);
        return -1;
    }
    double *pts = malloc((size_t)n_pairs * t->n_coords * sizeof *pts);
    if (!pts) {
        free(*values);
        *values = NULL;
        fprintf(stderr, "%s: error: out of memory for the %d row pairs of term '%s'\n", lay->prog, n_pairs,
                t->name);
        return -1;
    }
    int j = 0;
    for (int k = 0; k + 1 < *n; k++)
        if (rows[(size_t)(k + 1) * half + tc] > rows[(size_t)k * half + tc]) {
            memcpy(pts + (size_t)j * t->n_coords, rows + (size_t)k * half, (size_t)half * sizeof *pts);
            memcpy(pts + (size_t)j * t->n_coords + half, rows + (size_t)(k + 1) * half, (size_t)half * sizeof *pts);
            j++;
        }
    free(*values);
    *values = pts;
    *n = n_pairs;
    return 0;
}

int physm_term_points(const physm_layout *lay, int ti, uint64_t seed, double **points, int *n_out)
{
    const physm_model *m = lay->model;
    const physm_term *t = &m->terms[ti];
    if (t->frames) { /* no points: atomic_loss.c reads the frames */
        *points = NULL;
        *n_out = 0;
        char *path = physm_resolve_path(m, t->data_file);
        int missing = path && access(path, F_OK) != 0;
        if (missing) fprintf(stderr, "%s: error: frames file %s of term '%s' not found: no %s\n", lay->prog,
                             t->data_file, t->name, path);
        free(path);
        return path && !missing ? 0 : -1;
    }
    if (t->kind == PHYSM_DATA) {
        char *path = physm_resolve_path(m, t->data_file);
        if (!path) {
            fprintf(stderr, "%s: error: out of memory\n", lay->prog);
            return -1;
        }
        if (access(path, F_OK) != 0) {   /* say where it was looked for, and how to give it */
            const int relative = t->data_file[0] != '/' && m->source_dir && m->source_dir[0];
            fprintf(stderr, "%s: error: data file %s of term '%s' not found: no %s%s%s%s\n"
                    "  give it with '--data %s=FILE' (FILE relative to the working directory)\n",
                    lay->prog, t->data_file, t->name, path, relative ? " (the model's path, resolved against " : "",
                    relative ? m->source_dir : "", relative ? ", the directory of the .phys file it was compiled from)" : "",
                    t->name);
            free(path);
            return -1;
        }
        const int n_cols = t->pair_rows ? t->n_coords / 2 : t->n_coords;
        int rc = physm_csv_read(path, t->data_file, n_cols, t->columns, points, n_out);
        free(path);
        if (rc == 0 && t->pair_rows) rc = pair_rows(lay, t, points, n_out);
        return rc;
    }
    const uint64_t tseed = physm_derive_seed(seed, PHYSM_SEED_TERM, (uint64_t)ti);
    if (sample_term(lay, t, tseed, t->n_points, 0, points)) return -1;
    *n_out = t->n_points;
    return 0;
}

int physm_term_candidates(const physm_layout *lay, int ti, uint64_t seed, long round, int n, double **points)
{
    const physm_term *t = &lay->model->terms[ti];
    const uint64_t tseed = physm_derive_seed(physm_derive_seed(seed, PHYSM_SEED_ADAPT, (uint64_t)ti),
                                             PHYSM_SEED_ROUND, (uint64_t)round);
    return sample_term(lay, t, tseed, n, round, points);
}
