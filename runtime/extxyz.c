#define _POSIX_C_SOURCE 200809L
/* extxyz.c - reading ASE's extended XYZ format.
 *
 * A frame is a line with the number of atoms, a comment line of key=value
 * pairs (values may be double-quoted) among which Lattice="ax ay az bx by
 * bz cx cy cz", pbc="T T T" and Properties=name:type:columns:..., then one
 * line per atom with the properties' columns in order. Without Properties
 * the columns are species:S:1:pos:R:3. Every error names file:line. */
#include "model_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *physm_lines_next(physm_lines *r)
{
    if (r->bad) return NULL;
    ssize_t len = getline(&r->buf, &r->cap, r->in);
    if (len < 0) return NULL;
    r->line++;
    while (len > 0 && (r->buf[len - 1] == '\n' || r->buf[len - 1] == '\r')) r->buf[--len] = 0;
    if (strlen(r->buf) != (size_t)len) {
        fprintf(stderr, "%s:%d: error: the line contains a NUL byte (not a text file?)\n", r->display, r->line);
        r->bad = 1;
        return NULL;
    }
    return r->buf;
}

/* The comment line's value for key (case-insensitive), unquoted, into
 * out; 0 when absent. */
static int info_value(const char *info, const char *key, char *out, size_t size)
{
    const char *p = info;
    while (*p) {
        while (isspace((unsigned char)*p)) p++;
        const char *k = p;
        while (*p && *p != '=' && !isspace((unsigned char)*p)) p++;
        size_t klen = (size_t)(p - k);
        const char *v = "";
        size_t vlen = 0;
        if (*p == '=') {
            p++;
            if (*p == '"') {
                v = ++p;
                while (*p && *p != '"') p++;
                vlen = (size_t)(p - v);
                if (*p) p++;
            } else {
                v = p;
                while (*p && !isspace((unsigned char)*p)) p++;
                vlen = (size_t)(p - v);
            }
        }
        if (klen && klen == strlen(key) && !strncasecmp(k, key, klen)) {
            if (vlen >= size) vlen = size - 1;
            memcpy(out, v, vlen);
            out[vlen] = 0;
            return 1;
        }
        if (p == k) p++;
    }
    return 0;
}

int physm_xyz_info_text(const physm_xyz_frame *f, const char *key, char *value, size_t size)
{
    return f->info && info_value(f->info, key, value, size);
}

int physm_xyz_info_number(const physm_xyz_frame *f, const char *key, double *value)
{
    char buf[128], *end;
    if (!physm_xyz_info_text(f, key, buf, sizeof buf)) return 0;
    double v = strtod(buf, &end);
    if (end == buf || *end || !isfinite(v)) return 0;
    *value = v;
    return 1;
}

const physm_xyz_property *physm_xyz_find(const physm_xyz_frame *f, const char *name)
{
    for (int k = 0; k < f->n_props; k++)
        if (!strcmp(f->props[k].name, name)) return &f->props[k];
    return NULL;
}

static int parse_properties(physm_lines *r, physm_xyz_frame *f, const char *spec)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save = NULL, *tok = strtok_r(buf, ":", &save);
    while (tok) {
        char *type = strtok_r(NULL, ":", &save), *cols = strtok_r(NULL, ":", &save);
        char *end = NULL;
        long n = cols ? strtol(cols, &end, 10) : 0;
        if (!type || !cols || *end || n < 1 || n > 9 || strlen(type) != 1 || !strchr("SRIL", type[0])) {
            fprintf(stderr, "%s:%d: error: Properties must be name:type:columns triples (type S, R, I or L), "
                    "got '%s'\n", r->display, r->line, spec);
            return -1;
        }
        if (f->n_props == PHYSM_XYZ_MAX_PROPS) {
            fprintf(stderr, "%s:%d: error: more than %d properties\n", r->display, r->line, PHYSM_XYZ_MAX_PROPS);
            return -1;
        }
        physm_xyz_property *p = &f->props[f->n_props++];
        snprintf(p->name, sizeof p->name, "%s", tok);
        p->type = type[0];
        p->cols = (int)n;
        tok = strtok_r(NULL, ":", &save);
    }
    return 0;
}

static int parse_header(physm_lines *r, physm_xyz_frame *f, const char *info)
{
    char buf[1024];
    f->info = strdup(info);
    if (!f->info) return -1;
    if (info_value(info, "Lattice", buf, sizeof buf)) {
        double v[9];
        char *p = buf, *end;
        for (int k = 0; k < 9; k++, p = end) {
            v[k] = strtod(p, &end);
            if (end == p || !isfinite(v[k])) {
                fprintf(stderr, "%s:%d: error: Lattice needs 9 finite numbers, got \"%s\"\n", r->display, r->line, buf);
                return -1;
            }
        }
        for (int k = 0; k < 9; k++) f->lattice[k / 3][k % 3] = v[k];
        f->has_lattice = 1;
        f->pbc[0] = f->pbc[1] = f->pbc[2] = 1; /* ASE: a Lattice without pbc is periodic */
    }
    if (info_value(info, "pbc", buf, sizeof buf)) {
        char *p = buf;
        for (int k = 0; k < 3; k++) {
            while (isspace((unsigned char)*p)) p++;
            if (*p == 'T' || *p == 't' || *p == '1') f->pbc[k] = 1;
            else if (*p == 'F' || *p == 'f' || *p == '0') f->pbc[k] = 0;
            else {
                fprintf(stderr, "%s:%d: error: pbc needs three of T and F, got \"%s\"\n", r->display, r->line, buf);
                return -1;
            }
            while (*p && !isspace((unsigned char)*p)) p++;
        }
    }
    if ((f->pbc[0] || f->pbc[1] || f->pbc[2]) && !f->has_lattice) {
        fprintf(stderr, "%s:%d: error: a periodic frame needs a Lattice\n", r->display, r->line);
        return -1;
    }
    if (info_value(info, "Properties", buf, sizeof buf)) return parse_properties(r, f, buf);
    return parse_properties(r, f, "species:S:1:pos:R:3");
}

static int is_blank(const char *s)
{
    while (isspace((unsigned char)*s)) s++;
    return !*s;
}

/* A line holding one whole number only: a frame's atom count. */
static int is_count_line(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    while (isspace((unsigned char)*end)) end++;
    return end != s && !*end && v >= 0;
}

static int read_atoms(physm_lines *r, physm_xyz_frame *f)
{
    for (int k = 0; k < f->n_props; k++) {
        physm_xyz_property *p = &f->props[k];
        if (p->type == 'S') p->text = calloc((size_t)(f->n * p->cols + 1), sizeof *p->text);
        else p->values = calloc((size_t)(f->n * p->cols + 1), sizeof *p->values);
        if (!p->text && !p->values) {
            fprintf(stderr, "%s: error: out of memory\n", r->display);
            return -1;
        }
    }
    for (long a = 0; a < f->n; a++) {
        char *line = physm_lines_next(r);
        if (!line && r->bad) return -1;
        if (!line) {
            fprintf(stderr, "%s:%d: error: the frame of line %d announces %ld atoms, but the file ends after %ld\n",
                    r->display, r->line, f->line, f->n, a);
            return -1;
        }
        char *p = line;
        for (int k = 0; k < f->n_props; k++) {
            physm_xyz_property *pr = &f->props[k];
            for (int c = 0; c < pr->cols; c++) {
                while (isspace((unsigned char)*p)) p++;
                char *tok = p;
                while (*p && !isspace((unsigned char)*p)) p++;
                if (p == tok && (is_count_line(line) || is_blank(line)))
                    fprintf(stderr, "%s:%d: error: the frame of line %d announces %ld atoms, but %s after %ld\n",
                            r->display, r->line, f->line, f->n,
                            is_blank(line) ? "a blank line comes" : "a new frame starts", a);
                else if (p == tok)
                    fprintf(stderr, "%s:%d: error: atom %ld has too few columns: %s needs %d (Properties)\n",
                            r->display, r->line, a, pr->name, pr->cols);
                if (p == tok) return -1;
                char save = *p;
                *p = 0;
                if (pr->type == 'S') {
                    snprintf(pr->text[a * pr->cols + c], PHYSM_XYZ_NAME, "%s", tok);
                } else if (pr->type == 'L') {
                    int t = tok[0] == 'T' || tok[0] == 't' || tok[0] == '1';
                    if (!t && !(tok[0] == 'F' || tok[0] == 'f' || tok[0] == '0')) {
                        fprintf(stderr, "%s:%d: error: %s of atom %ld is '%s', not T or F\n", r->display, r->line,
                                pr->name, a, tok);
                        return -1;
                    }
                    pr->values[a * pr->cols + c] = t;
                } else {
                    char *end;
                    errno = 0;
                    double v = strtod(tok, &end);
                    if (end == tok || *end || !isfinite(v) || (pr->type == 'I' && v != floor(v))) {
                        fprintf(stderr, "%s:%d: error: %s of atom %ld is '%s', not a finite %s\n", r->display,
                                r->line, pr->name, a, tok, pr->type == 'I' ? "integer" : "number");
                        return -1;
                    }
                    pr->values[a * pr->cols + c] = v;
                }
                *p = save;
            }
        }
        while (isspace((unsigned char)*p)) p++;
        if (*p) {
            fprintf(stderr, "%s:%d: error: atom %ld has more columns than Properties lists\n", r->display, r->line, a);
            return -1;
        }
    }
    return 0;
}

void physm_xyz_free(physm_xyz_frame *frames, int n_frames)
{
    for (int i = 0; frames && i < n_frames; i++) {
        for (int k = 0; k < frames[i].n_props; k++) {
            free(frames[i].props[k].values);
            free(frames[i].props[k].text);
        }
        free(frames[i].info);
    }
    free(frames);
}

int physm_xyz_read(const char *path, const char *display, int max_frames, physm_xyz_frame **frames, int *n_frames)
{
    physm_lines r = {display, fopen(path, "r"), 0, 0, NULL, 0};
    *frames = NULL;
    *n_frames = 0;
    if (!r.in) {
        fprintf(stderr, "%s: error: cannot open %s: %s\n", display, path, strerror(errno));
        return -1;
    }
    int n = 0, cap = 0, status = 0;
    physm_xyz_frame *fr = NULL;
    char *line;
    while ((max_frames <= 0 || n < max_frames) && (line = physm_lines_next(&r))) {
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p) continue; /* blank lines between frames */
        char *end;
        errno = 0;
        long count = strtol(p, &end, 10);
        while (isspace((unsigned char)*end)) end++;
        if (end != p && !*end && !errno && count > PHYSM_XYZ_MAX_ATOMS) {
            fprintf(stderr, "%s:%d: error: a frame of %ld atoms; at most %d are read\n", display, r.line, count,
                    PHYSM_XYZ_MAX_ATOMS);
            status = -1;
            break;
        }
        if (end == p || *end || count < 0 || errno) {
            fprintf(stderr, "%s:%d: error: a frame starts with its number of atoms, got '%s'%s\n", display, r.line, p,
                    n ? " (more atom lines than the frame before announces?)" : "");
            status = -1;
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 4;
            physm_xyz_frame *grown = realloc(fr, sizeof *fr * (size_t)cap);
            if (!grown) {
                fprintf(stderr, "%s: error: out of memory\n", display);
                status = -1;
                break;
            }
            fr = grown;
        }
        physm_xyz_frame *f = &fr[n++];
        memset(f, 0, sizeof *f);
        f->n = count;
        f->line = r.line;
        char *info = physm_lines_next(&r);
        if (!info && r.bad) {
            status = -1;
            break;
        }
        if (!info) {
            fprintf(stderr, "%s:%d: error: the frame of line %d has no comment line\n", display, r.line, f->line);
            status = -1;
            break;
        }
        if (parse_header(&r, f, info) || read_atoms(&r, f)) {
            status = -1;
            break;
        }
    }
    if (r.bad) status = -1;
    if (status == 0 && ferror(r.in)) {
        fprintf(stderr, "%s: error: cannot read %s: %s\n", display, path, strerror(errno));
        status = -1;
    }
    if (status == 0 && n == 0) {
        fprintf(stderr, "%s: error: %s holds no frame\n", display, path);
        status = -1;
    }
    fclose(r.in);
    free(r.buf);
    if (status) {
        physm_xyz_free(fr, n);
        return -1;
    }
    *frames = fr;
    *n_frames = n;
    return 0;
}
