/* history.c - the loss history of training, a CSV file beside the checkpoint.
 *
 * MODEL.ckpt gets MODEL.history.csv (any other checkpoint name FILE gets
 * FILE.history.csv). Columns, all numbers (numpy.loadtxt(f, delimiter=",",
 * skiprows=1) reads it):
 *
 *   step,stage,TERM...,total,lr[,weight_TERM...],elapsed_s
 *
 * step is the schedule position (as in the checkpoint), stage the stage
 * number from 1, then each term's weighted loss (names made column-safe by
 * physm_column_name), their sum, the Adam learning rate of the step (nan in
 * L-BFGS stages), the weight of each term whose weight adapts (only those)
 * and seconds of training, counted on across resumes.
 *
 * Rows are kept in memory and appended to the file whenever the checkpoint
 * is saved, so the file never runs ahead of the checkpoint by more than an
 * interrupted L-BFGS stage. A fresh run starts a new file; a resumed one
 * appends to it (writing the header if the file is missing). */
#define _POSIX_C_SOURCE 200809L
#include "model_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

char *physm_history_path(const char *checkpoint)
{
    size_t n = strlen(checkpoint);
    if (n > 5 && !strcmp(checkpoint + n - 5, ".ckpt")) n -= 5;
    char *path = malloc(n + sizeof ".history.csv");
    if (!path) return NULL;
    memcpy(path, checkpoint, n);
    strcpy(path + n, ".history.csv");
    return path;
}

/* Seconds of training recorded in the last row of an existing history
 * (its last column), 0 when there is none. */
static double last_elapsed(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    double t = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *c = strrchr(line, ',');
        char *end;
        double v = c ? strtod(c + 1, &end) : NAN;
        if (c && end != c + 1 && isfinite(v) && v >= 0) t = v;
    }
    fclose(f);
    return t;
}

int physm_history_open(physm_history *h, const physm_model *model, const char *prog, const char *checkpoint,
                       int fresh)
{
    memset(h, 0, sizeof *h);
    h->model = model;
    h->prog = prog;
    h->fresh = fresh;
    h->n_cols = model->n_terms + 5;
    for (int t = 0; t < model->n_terms; t++) h->n_cols += model->terms[t].weight_rule != PHYSM_WEIGHT_FIXED;
    h->cap = 1024;
    h->path = physm_history_path(checkpoint);
    h->rows = malloc(h->cap * (size_t)h->n_cols * sizeof(double));
    if (!h->path || !h->rows) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        physm_history_free(h);
        return -1;
    }
    h->t_offset = fresh ? 0 : last_elapsed(h->path);
    h->t_start = physm_now();
    return 0;
}

void physm_history_add(physm_history *h, long step, int stage, const double *term_loss, double total,
                       double lr, const double *weights)
{
    if (!h->rows) return;
    if (h->n_rows == h->cap) {
        double *grown = realloc(h->rows, 2 * h->cap * (size_t)h->n_cols * sizeof(double));
        if (!grown) return;   /* the row is dropped; training goes on */
        h->rows = grown;
        h->cap *= 2;
    }
    double *r = h->rows + h->n_rows++ * (size_t)h->n_cols;
    r[0] = (double)step;
    r[1] = stage;
    const physm_model *m = h->model;
    int c = 2;
    for (int t = 0; t < m->n_terms; t++) r[c++] = term_loss[t];
    r[c++] = total;
    r[c++] = lr;
    for (int t = 0; t < m->n_terms; t++)
        if (m->terms[t].weight_rule != PHYSM_WEIGHT_FIXED) r[c++] = weights ? weights[t] : m->terms[t].weight;
    r[c] = h->t_offset + physm_now() - h->t_start;
}

int physm_history_flush(physm_history *h)
{
    if (!h->path) return 0;
    FILE *f = fopen(h->path, h->fresh ? "w" : "a");
    if (!f) {
        fprintf(stderr, "%s: error: cannot write the loss history %s: %s\n", h->prog, h->path, strerror(errno));
        return -1;
    }
    h->fresh = 0;
    fseek(f, 0, SEEK_END);
    if (ftell(f) == 0) {   /* a new file: the header */
        fputs("step,stage", f);
        char name[200];
        for (int t = 0; t < h->model->n_terms; t++) {
            physm_column_name(name, sizeof name, h->model->terms[t].name);
            fprintf(f, ",%s", name);
        }
        fputs(",total,lr", f);
        for (int t = 0; t < h->model->n_terms; t++)
            if (h->model->terms[t].weight_rule != PHYSM_WEIGHT_FIXED) {
                physm_column_name(name, sizeof name, h->model->terms[t].name);
                fprintf(f, ",weight_%s", name);
            }
        fputs(",elapsed_s\n", f);
    }
    for (size_t i = 0; i < h->n_rows; i++) {
        const double *r = h->rows + i * (size_t)h->n_cols;
        fprintf(f, "%ld,%d", (long)r[0], (int)r[1]);
        for (int c = 2; c < h->n_cols - 1; c++) fprintf(f, ",%.17g", r[c]);   /* exact: runs compare */
        fprintf(f, ",%.3f\n", r[h->n_cols - 1]);
    }
    h->n_rows = 0;
    if (fclose(f)) {
        fprintf(stderr, "%s: error: cannot write the loss history %s: %s\n", h->prog, h->path, strerror(errno));
        return -1;
    }
    return 0;
}

void physm_history_free(physm_history *h)
{
    free(h->path);
    free(h->rows);
    h->path = NULL;
    h->rows = NULL;
}
