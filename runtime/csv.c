/* csv.c - reading the data files of data terms.
 *
 * Format: a header row of column names, then data rows; comma-separated;
 * spaces around fields are trimmed; a field may be wrapped in double quotes
 * ("" inside quotes is one quote); lines that are blank or start with '#'
 * (after spaces) are skipped; \r\n line ends are accepted; a leading UTF-8
 * byte-order mark (spreadsheets write one) is skipped. Numbers are read
 * with strtod in the C locale (whatever the process locale is) and must be
 * finite. Every error names file:line[:col] and the cause. */
#define _POSIX_C_SOURCE 200809L
#include "model_internal.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CSV_MAX_FIELD 256   /* longest number or name we care to show */

typedef struct {
    const char *display;
    int line;                  /* 1-based line number of the current line */
} csv_pos;

/* One field of a line: [start, end) after trimming and unquoting bounds;
 * col is the 1-based column of its first character. */
typedef struct {
    const char *start, *end;
    int quoted, col;
} csv_field;

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

/* Split [s, e) into fields; returns the count (fields beyond max are
 * counted but not stored), or -1 on an unterminated quote (col in *bad). */
static int split_line(const char *s, const char *e, csv_field *fields, int max, int *bad)
{
    int n = 0;
    const char *line = s;
    for (;;) {
        const char *p = s;
        while (p < e && is_space(*p)) p++;
        csv_field f = {p, p, 0, (int)(p - line) + 1};
        const char *q;
        if (p < e && *p == '"') {
            f.quoted = 1;
            q = p + 1;
            while (q < e) {
                if (*q == '"') {
                    if (q + 1 < e && q[1] == '"') { q += 2; continue; }
                    break;
                }
                q++;
            }
            if (q >= e) { *bad = f.col; return -1; }
            f.start = p + 1;
            f.end = q;
            q++;
            while (q < e && *q != ',') q++;   /* trailing junk after a quote is ignored */
        } else {
            q = p;
            while (q < e && *q != ',') q++;
            const char *t = q;
            while (t > p && is_space(t[-1])) t--;
            f.end = t;
        }
        if (n < max) fields[n] = f;
        n++;
        if (q >= e) break;
        s = q + 1;
    }
    return n;
}

/* Copy a field into buf (unescaping "" in quoted fields), truncated. */
static void field_text(const csv_field *f, char *buf, size_t size)
{
    size_t k = 0;
    for (const char *p = f->start; p < f->end && k + 1 < size; p++) {
        if (f->quoted && *p == '"' && p + 1 < f->end && p[1] == '"') p++;
        buf[k++] = *p;
    }
    buf[k] = 0;
}

static int field_equals(const csv_field *f, const char *name)
{
    char buf[CSV_MAX_FIELD];
    field_text(f, buf, sizeof buf);
    return strcmp(buf, name) == 0;
}

static int skip_line(const char *s, const char *e)
{
    while (s < e && is_space(*s)) s++;
    return s == e || *s == '#';
}

static int read_file(const char *path, const char *display, char **text, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int err = errno;
        if (strcmp(path, display))
            fprintf(stderr, "%s: error: cannot open data file %s: %s\n", display, path, strerror(err));
        else
            fprintf(stderr, "%s: error: cannot open data file: %s\n", display, strerror(err));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        char *nb = realloc(buf, 2 * cap + 1);
        if (!nb) { free(buf); buf = NULL; break; }
        buf = nb;
        cap *= 2;
    }
    int rerr = ferror(f);
    fclose(f);
    if (!buf || rerr) {
        free(buf);
        fprintf(stderr, "%s: error: cannot read data file%s\n", display, buf ? "" : ": out of memory");
        return -1;
    }
    buf[n] = 0;
    *text = buf;
    *size = n;
    return 0;
}

int physm_csv_read(const char *path, const char *display, int n_cols,
                   const char *const *columns, double **values_out, int *n_rows_out)
{
    char *text = NULL;
    size_t size = 0;
    if (read_file(path, display, &text, &size)) return -1;

    int ret = -1, header_cols = 0, n_rows = 0;
    size_t cap_rows = 0;
    double *values = NULL;
    int *col_of = calloc((size_t)n_cols + 1, sizeof *col_of);
    csv_field *fields = NULL;
    int max_fields = 0;
    locale_t c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    locale_t old_locale = c_locale ? uselocale(c_locale) : (locale_t)0;
    if (!col_of || !c_locale) {
        fprintf(stderr, "%s: error: out of memory\n", display);
        goto done;
    }

    const char *s = text, *end = text + size;
    if (size >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) s += 3;   /* UTF-8 byte-order mark */
    int line = 0, header_line = 0;
    while (s < end || line == 0) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        if (!e) e = end;
        line++;
        if (memchr(s, 0, (size_t)(e - s))) {
            fprintf(stderr, "%s:%d: error: the line contains a NUL byte (not a text file?)\n", display, line);
            goto done;
        }
        if (skip_line(s, e)) {
            s = e + (e < end);
            if (e == end) break;
            continue;
        }
        int bad = 0;
        int nf = split_line(s, e, fields, max_fields, &bad);
        if (nf < 0) {
            fprintf(stderr, "%s:%d:%d: error: unterminated quoted field\n", display, line, bad);
            goto done;
        }
        if (nf > max_fields) {
            csv_field *nfld = realloc(fields, (size_t)nf * sizeof *nfld);
            if (!nfld) { fprintf(stderr, "%s: error: out of memory\n", display); goto done; }
            fields = nfld;
            max_fields = nf;
            split_line(s, e, fields, max_fields, &bad);
        }
        if (!header_line) {
            header_line = line;
            header_cols = nf;
            for (int k = 0; k < n_cols; k++) {
                col_of[k] = -1;
                for (int j = 0; j < nf; j++)
                    if (field_equals(&fields[j], columns[k])) {
                        if (col_of[k] >= 0) {
                            fprintf(stderr, "%s:%d:%d: error: column '%s' appears twice in the header\n",
                                    display, line, fields[j].col, columns[k]);
                            goto done;
                        }
                        col_of[k] = j;
                    }
                if (col_of[k] < 0) {
                    fprintf(stderr, "%s:%d: error: no column '%s' in the header (columns:", display,
                            line, columns[k]);
                    for (int j = 0; j < nf; j++) {
                        char buf[CSV_MAX_FIELD];
                        field_text(&fields[j], buf, sizeof buf);
                        fprintf(stderr, "%s '%s'", j ? "," : "", buf);
                    }
                    fprintf(stderr, ")\n");
                    goto done;
                }
            }
        } else {
            if (nf != header_cols) {
                fprintf(stderr, "%s:%d: error: the row has %d field%s, the header has %d\n", display,
                        line, nf, nf == 1 ? "" : "s", header_cols);
                goto done;
            }
            if ((size_t)n_rows == cap_rows) {
                size_t nc = cap_rows ? 2 * cap_rows : 256;
                double *nv = realloc(values, nc * (size_t)(n_cols ? n_cols : 1) * sizeof *nv);
                if (!nv) { fprintf(stderr, "%s: error: out of memory\n", display); goto done; }
                values = nv;
                cap_rows = nc;
            }
            for (int k = 0; k < n_cols; k++) {
                const csv_field *f = &fields[col_of[k]];
                char buf[CSV_MAX_FIELD];
                field_text(f, buf, sizeof buf);
                if (!buf[0]) {
                    fprintf(stderr, "%s:%d:%d: error: empty value (column %s)\n", display, line, f->col,
                            columns[k]);
                    goto done;
                }
                char *stop;
                errno = 0;
                double v = strtod(buf, &stop);
                if (*stop || (size_t)(f->end - f->start) >= sizeof buf) {
                    fprintf(stderr, "%s:%d:%d: error: '%s' is not a number (column %s)\n", display, line,
                            f->col, buf, columns[k]);
                    goto done;
                }
                if (!isfinite(v)) {
                    fprintf(stderr, "%s:%d:%d: error: '%s' is not a finite number (column %s)\n",
                            display, line, f->col, buf, columns[k]);
                    goto done;
                }
                values[(size_t)n_rows * n_cols + k] = v;
            }
            if (n_rows == 0x7fffffff) {
                fprintf(stderr, "%s:%d: error: too many rows\n", display, line);
                goto done;
            }
            n_rows++;
        }
        if (e == end) break;
        s = e + 1;
    }
    if (!header_line) {
        if (size == 0)
            fprintf(stderr, "%s:1: error: the file is empty (expected a header row of column names)\n",
                    display);
        else
            fprintf(stderr, "%s:%d: error: no header row (the file holds only blank lines and comments)\n",
                    display, line);
        goto done;
    }
    if (n_rows == 0) {
        fprintf(stderr, "%s:%d: error: no data rows after the header\n", display, header_line);
        goto done;
    }
    *values_out = values;
    *n_rows_out = n_rows;
    values = NULL;
    ret = 0;
done:
    if (c_locale) {
        uselocale(old_locale);
        freelocale(c_locale);
    }
    free(values);
    free(fields);
    free(col_of);
    free(text);
    return ret;
}

void physm_column_name(char *buf, size_t size, const char *name)
{
    size_t n = 0;
    int gap = 0;
    if (size == 0) return;
    for (const char *p = name; *p && n + 1 < size; p++) {
        const unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_') {
            if (gap && n > 0 && n + 2 < size) buf[n++] = '_';
            if (n == 0 && c >= '0' && c <= '9' && n + 2 < size) buf[n++] = '_';
            buf[n++] = (char)c;
            gap = 0;
        } else {
            gap = 1;
        }
    }
    buf[n] = 0;
}
