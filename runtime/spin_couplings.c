/* spin_couplings.c - a spin model's couplings and fields from the files the
 * model names (Hebbian patterns, a coupling matrix, fields), the lattice's
 * neighbours, and rows of spins in CSV files (recall, samples, learn). */
#include "spin_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char **spin_column_names(const char *name, long n)
{
    size_t len = strlen(name) + 24;
    char **names = malloc((size_t)n * sizeof *names + (size_t)n * len);
    if (!names) return NULL;
    char *text = (char *)(names + n);
    for (long i = 0; i < n; i++) {
        names[i] = text + (size_t)i * len;
        snprintf(names[i], len, "%s_%ld", name, i);
    }
    return names;
}

int spin_csv_line_of_row(const char *path, int row)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int line = 0, data = -1, c = 0, found = 0;
    while (c != EOF) {
        line++;
        int first = 0, blank = 1;
        while ((c = fgetc(f)) != EOF && c != '\n') {
            if (blank && c != ' ' && c != '\t' && c != '\r') {
                blank = 0;
                first = c;
            }
        }
        if (blank || first == '#') continue;
        if (data++ == row) { /* data counts the header as -1 */
            found = line;
            break;
        }
    }
    fclose(f);
    return found;
}

int spin_rows_read(const char *path, const char *display, const char *name, long n, int8_t **rows_out,
                   int *n_rows_out)
{
    char **cols = spin_column_names(name, n);
    double *v = NULL;
    int n_rows = 0;
    if (!cols) {
        fprintf(stderr, "%s: error: out of memory\n", display);
        return -1;
    }
    int r = physm_csv_read(path, display, (int)n, (const char *const *)cols, &v, &n_rows);
    free(cols);
    if (r) return -1;
    int8_t *rows = malloc((size_t)n_rows * (size_t)n);
    if (!rows) {
        free(v);
        fprintf(stderr, "%s: error: out of memory\n", display);
        return -1;
    }
    for (size_t k = 0; k < (size_t)n_rows * (size_t)n; k++) {
        if (v[k] != 1 && v[k] != -1) {
            int row = (int)(k / (size_t)n);
            fprintf(stderr, "%s:%d: error: %s_%ld is %g; spins are -1 or +1\n", display,
                    spin_csv_line_of_row(path, row), name, (long)(k % (size_t)n), v[k]);
            free(v);
            free(rows);
            return -1;
        }
        rows[k] = (int8_t)v[k];
    }
    free(v);
    *rows_out = rows;
    *n_rows_out = n_rows;
    return 0;
}

int spin_rows_write(const char *path, const char *name, long n, const int8_t *rows, int n_rows)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (long i = 0; i < n; i++) fprintf(f, "%s%s_%ld", i ? "," : "", name, i);
    fputc('\n', f);
    for (int r = 0; r < n_rows; r++) {
        const int8_t *s = rows + (size_t)r * (size_t)n;
        for (long i = 0; i < n; i++) fputs(i ? (s[i] > 0 ? ",1" : ",-1") : (s[i] > 0 ? "1" : "-1"), f);
        fputc('\n', f);
    }
    return fclose(f) ? -1 : 0;
}

int spin_matrix_write(const char *path, const char *name, long n, const double *v, int n_rows)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    for (long i = 0; i < n; i++) fprintf(f, "%s%s_%ld", i ? "," : "", name, i);
    fputc('\n', f);
    for (int r = 0; r < n_rows; r++)
        for (long i = 0; i < n; i++) fprintf(f, "%.17g%c", v[(size_t)r * (size_t)n + (size_t)i], i + 1 < n ? ',' : '\n');
    return fclose(f) ? -1 : 0;
}

/* W = (1/n) sum over patterns of xi xi^T with a zero diagonal. */
static int hebbian(spin_model *m, const char *path, const char *display, const char *name)
{
    int8_t *p = NULL;
    int n_pat = 0;
    if (spin_rows_read(path, display, name, m->n, &p, &n_pat)) return -1;
    long n = m->n;
    for (int k = 0; k < n_pat; k++) {
        const int8_t *x = p + (size_t)k * (size_t)n;
        for (long i = 0; i < n; i++) {
            double *row = m->W + (size_t)i * (size_t)n;
            double xi = x[i] / (double)n;
            for (long j = 0; j < n; j++) row[j] += xi * x[j];
        }
    }
    for (long i = 0; i < n; i++) m->W[(size_t)i * (size_t)n + (size_t)i] = 0;
    free(p);
    return 0;
}

/* An n x n (or, for fields, 1 x n) matrix with the spins as header. */
static int read_matrix(const char *path, const char *display, const char *name, long n, long rows, double *out,
                       int square)
{
    char **cols = spin_column_names(name, n);
    double *v = NULL;
    int n_rows = 0;
    if (!cols) return -1;
    int r = physm_csv_read(path, display, (int)n, (const char *const *)cols, &v, &n_rows);
    free(cols);
    if (r) return -1;
    if (n_rows != rows) {
        fprintf(stderr, "%s:%d: error: %d row%s; %s needs %ld\n", display,
                spin_csv_line_of_row(path, n_rows < rows ? n_rows - 1 : (int)rows), n_rows, n_rows == 1 ? "" : "s",
                square ? "a coupling matrix" : "a field file", rows);
        free(v);
        return -1;
    }
    for (long i = 0; square && i < n; i++)
        for (long j = 0; j <= i; j++) {
            double a = v[(size_t)i * (size_t)n + (size_t)j], b = v[(size_t)j * (size_t)n + (size_t)i];
            if ((i == j && a != 0) || fabs(a - b) > 1e-12 * (fabs(a) + fabs(b))) {
                fprintf(stderr, "%s:%d: error: couplings must be symmetric with a zero diagonal: W[%ld, %ld] = %g, "
                        "W[%ld, %ld] = %g\n", display, spin_csv_line_of_row(path, (int)i), i, j, a, j, i, b);
                free(v);
                return -1;
            }
        }
    memcpy(out, v, (size_t)rows * (size_t)n * sizeof *out);
    free(v);
    return 0;
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f) fclose(f);
    return f != NULL;
}

/* A file the model names, resolved against its directory, shown as written. */
static int load_named(spin_model *m, const physm_model *model, const char *prog, const char *file, int kind)
{
    const physm_spins *d = model->spins;
    char *path = physm_resolve_path(model, file);
    if (!path) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        return -1;
    }
    int r = kind == 0 ? hebbian(m, path, file, d->name)
          : kind == 1 ? read_matrix(path, file, d->name, m->n, m->n, m->W, 1)
                      : read_matrix(path, file, d->name, m->n, 1, m->field, 0);
    free(path);
    return r;
}

/* A trainable part: the file learn wrote (in the working directory). */
static int load_learned(spin_model *m, const physm_model *model, const char *prog, const char *file, int bias)
{
    const physm_spins *d = model->spins;
    char fallback[512];
    if (!file) {
        snprintf(fallback, sizeof fallback, "%s_%s.csv", model->name, bias ? "bias" : "couplings");
        file = fallback;
    }
    if (!file_exists(file)) {
        fprintf(stderr, "%s: error: %s is trainable and %s does not exist: run '%s learn SAMPLES.csv' first%s\n",
                prog, bias ? d->bias_name : d->coupling_name, file, prog,
                bias ? " (or give --bias FILE)" : " (or give --couplings FILE)");
        return -1;
    }
    return bias ? read_matrix(file, file, d->name, m->n, 1, m->field, 0)
                : read_matrix(file, file, d->name, m->n, m->n, m->W, 1);
}

int spin_model_load(spin_model *m, const physm_model *model, const char *prog, const char *couplings_file,
                    const char *bias_file)
{
    const physm_spins *d = model->spins;
    memset(m, 0, sizeof *m);
    m->n = d->n;
    m->pair_scale = d->pair_scale;
    m->side[0] = m->side[1] = m->side[2] = 1;
    m->field = calloc((size_t)m->n, sizeof *m->field);
    if (!m->field) goto oom;
    if (d->coupling == PHYSM_COUPLING_LATTICE) {
        m->lattice_dims = d->lattice_dims;
        for (int k = 0; k < d->lattice_dims; k++) m->side[k] = d->lattice[k];
    } else if (d->coupling != PHYSM_COUPLING_NONE) {
        if ((double)m->n * (double)m->n > 4e9) {
            fprintf(stderr, "%s: error: %ld spins with dense couplings need %.3g GB; use lattice() couplings\n", prog,
                    m->n, 8e-9 * (double)m->n * (double)m->n);
            goto fail;
        }
        m->W = calloc((size_t)m->n * (size_t)m->n, sizeof *m->W);
        if (!m->W) goto oom;
        int r = d->coupling == PHYSM_COUPLING_HEBBIAN  ? load_named(m, model, prog, d->coupling_file, 0)
              : d->coupling == PHYSM_COUPLING_MATRIX   ? load_named(m, model, prog, d->coupling_file, 1)
                                                        : load_learned(m, model, prog, couplings_file, 0);
        if (r) goto fail;
    }
    if (d->bias == PHYSM_BIAS_FILE && load_named(m, model, prog, d->bias_file, 2)) goto fail;
    if (d->bias == PHYSM_BIAS_TRAINABLE && load_learned(m, model, prog, bias_file, 1)) goto fail;
    m->uniform = d->bias == PHYSM_BIAS_NONE;
    for (long i = 0; i < m->n; i++) m->field[i] = d->bias_scale * m->field[i] + d->uniform_field;
    return 0;
oom:
    fprintf(stderr, "%s: error: out of memory\n", prog);
fail:
    spin_model_free(m);
    return -1;
}

void spin_model_free(spin_model *m)
{
    free(m->W);
    free(m->field);
    m->W = m->field = NULL;
}
