#include "source.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = malloc(n);
    if (copy) memcpy(copy, s, n);
    return copy;
}

phys_source *phys_source_from_text(const char *name, const char *text, size_t length)
{
    phys_source *src = calloc(1, sizeof *src);
    if (!src) return NULL;
    src->name = dup_string(name);
    src->text = malloc(length + 1);
    if (!src->name || !src->text) {
        phys_source_free(src);
        return NULL;
    }
    memcpy(src->text, text, length);
    src->text[length] = '\0';
    src->length = length;
    return src;
}

phys_source *phys_source_load(const char *path, phys_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(diag->out, "%s: error: cannot open: %s\n", path, strerror(errno));
        diag->errors++;
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap) break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) { free(buf); buf = NULL; break; }
        buf = bigger;
        cap *= 2;
    }
    int failed = ferror(f) || !buf;
    fclose(f);
    if (failed) {
        fprintf(diag->out, "%s: error: cannot read the file\n", path);
        diag->errors++;
        free(buf);
        return NULL;
    }
    phys_source *src = phys_source_from_text(path, buf, len);
    free(buf);
    return src;
}

void phys_source_free(phys_source *src)
{
    if (!src) return;
    free(src->name);
    free(src->text);
    free(src);
}

const char *phys_path_stem(const char *path, size_t *len)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    *len = strlen(base);
    if (*len > 5 && !strcmp(base + *len - 5, ".phys")) *len -= 5;
    return base;
}

void phys_diag_init(phys_diag *diag, FILE *out)
{
    memset(diag, 0, sizeof *diag);
    diag->out = out;
    diag->max_errors = 20;
}

int phys_diag_full(const phys_diag *diag)
{
    return diag->max_errors > 0 && diag->errors >= diag->max_errors;
}

/* Prints the line holding `loc` and a caret under its first column. Long
 * lines are shown as a window around the column; control bytes as '?', so a
 * binary file cannot garble the terminal. */
static void print_source_line(FILE *out, phys_loc loc)
{
    const phys_source *src = loc.src;
    if (!src || loc.first_line < 1) return;
    const char *p = src->text, *end = src->text + src->length;
    for (int line = 1; line < loc.first_line && p < end; p++)
        if (*p == '\n') line++;
    const char *line_end = p;
    while (line_end < end && *line_end != '\n') line_end++;

    enum { WINDOW = 100 };
    long col = loc.first_column > 0 ? loc.first_column - 1 : 0;
    long width = line_end - p;
    if (col > width) col = width;
    long start = col > WINDOW ? col - WINDOW / 2 : 0;
    long stop = width - start > 2 * WINDOW ? start + 2 * WINDOW : width;

    fputs("  ", out);
    if (start > 0) fputs("...", out);
    for (long i = start; i < stop; i++) {
        unsigned char c = (unsigned char)p[i];
        fputc(c == '\t' ? '\t' : (c < 0x20 || c == 0x7f) ? '?' : c, out);
    }
    if (stop < width) fputs("...", out);
    fputs("\n  ", out);
    if (start > 0) fputs("   ", out);
    for (long i = start; i < col; i++) fputc(p[i] == '\t' ? '\t' : ' ', out);
    fputs("^\n", out);
}

void phys_diag_report(phys_diag *diag, phys_diag_level level, phys_loc loc, const char *fmt, ...)
{
    static const char *const names[] = {"error", "warning", "note"};
    if (level == PHYS_DIAG_ERROR) {
        if (phys_diag_full(diag)) return;
        diag->errors++;
    } else if (level == PHYS_DIAG_WARNING) {
        diag->warnings++;
    }
    if (!diag->out) return; /* counting only */
    const char *file = loc.src ? loc.src->name : "<input>";
    int offset = loc.src ? loc.src->line_offset : 0;
    fprintf(diag->out, "%s:%d:%d: %s: ", file, loc.first_line + offset, loc.first_column,
            names[level]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(diag->out, fmt, ap);
    va_end(ap);
    fputc('\n', diag->out);
    print_source_line(diag->out, loc);
    if (level == PHYS_DIAG_ERROR && phys_diag_full(diag))
        fprintf(diag->out, "%s: note: too many errors, stopping\n", file);
}
