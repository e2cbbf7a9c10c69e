/* Source files and diagnostics: every message a user sees is
 * `file:line:col: error: message`, then the source line and a caret. */
#ifndef PHYS_SOURCE_H
#define PHYS_SOURCE_H

#include <stddef.h>
#include <stdio.h>

typedef struct phys_source {
    char *name;        /* as the user named it */
    char *text;        /* NUL-terminated copy of the contents */
    size_t length;     /* bytes, not counting the terminator */
    int line_offset;   /* added to reported lines (REPL entries) */
} phys_source;

/* A position range in one source; lines and columns count from 1. */
typedef struct phys_loc {
    const phys_source *src;
    int first_line, first_column;
    int last_line, last_column;
} phys_loc;

typedef enum { PHYS_DIAG_ERROR, PHYS_DIAG_WARNING, PHYS_DIAG_NOTE } phys_diag_level;

/* Collects and prints diagnostics; one per compilation or REPL session. */
typedef struct phys_diag {
    FILE *out;
    int errors;
    int warnings;
    int max_errors;     /* stop reporting (and parsing) after this many */
} phys_diag;

/* Reads a whole file; on failure prints `file: error: ...` and returns NULL. */
phys_source *phys_source_load(const char *path, phys_diag *diag);
/* Wraps text already in memory (REPL entries, fuzzing). */
phys_source *phys_source_from_text(const char *name, const char *text, size_t length);
void phys_source_free(phys_source *src);
/* The file name in path without its directory and a .phys extension (what
 * physc names the program, and the REPL its checkpoint): a pointer into
 * path, the length in *len. */
const char *phys_path_stem(const char *path, size_t *len);

/* out NULL: errors and warnings are counted, not printed. */
void phys_diag_init(phys_diag *diag, FILE *out);
/* Report at a location, with the source line and a caret under it. */
void phys_diag_report(phys_diag *diag, phys_diag_level level, phys_loc loc,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
#define phys_error(d, loc, ...) phys_diag_report((d), PHYS_DIAG_ERROR, (loc), __VA_ARGS__)
#define phys_warning(d, loc, ...) phys_diag_report((d), PHYS_DIAG_WARNING, (loc), __VA_ARGS__)
#define phys_note(d, loc, ...) phys_diag_report((d), PHYS_DIAG_NOTE, (loc), __VA_ARGS__)
/* True once max_errors is reached: callers stop early. */
int phys_diag_full(const phys_diag *diag);

#endif
