#define _POSIX_C_SOURCE 200809L
/* frames.c - sets of atomic configurations (frames) for training and
 * testing learned potentials: read from ASE's extended XYZ (through
 * extxyz.c) or n2p2's input.data, written back in either, summarised.
 *
 * Both readers fill one builder, frame by frame and atom by atom, and
 * leave the consistency checks that span frames (forces in all frames or
 * none) to its end, so that the two formats give the same errors. A frame
 * with no atoms, an unknown element, a number that is not finite, or a
 * periodic cell of (near) zero volume is an error naming file and line. */
#include "model_internal.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------------------ */
/* The builder                                                               */
/* ------------------------------------------------------------------------ */

typedef struct {
    physm_frames f;
    const char *display;
    int cap_frames;
    long cap_atoms;
    unsigned char *has_forces, *has_charge;   /* per frame */
} builder;

static int out_of_memory(const char *display)
{
    fprintf(stderr, "%s: error: out of memory\n", display);
    return -1;
}

/* ptr resized to n elements (plus one, so that n = 0 is not NULL): 0, or
 * -1 with ptr as it was. Needs a void *tmp in scope. */
#define RESIZE(ptr, n) ((tmp = realloc((ptr), ((n) + 1) * sizeof *(ptr))) ? ((ptr) = tmp, 0) : -1)

/* A new frame starting at line: no cell, no energy, no stress. Returns its
 * index, or -1 when out of memory. */
static int frame_begin(builder *b, int line)
{
    physm_frames *f = &b->f;
    void *tmp;
    if (f->n_frames == b->cap_frames) {
        int cap = b->cap_frames ? 2 * b->cap_frames : 16;
        size_t n = (size_t)cap;
        if (RESIZE(f->first, n + 1) || RESIZE(f->energy, n) ||
            RESIZE(f->total_charge, n) || RESIZE(f->stress, 9 * n) ||
            RESIZE(f->cell, 9 * n) || RESIZE(f->pbc, 3 * n) ||
            RESIZE(f->line, n) || RESIZE(f->comment, n) ||
            RESIZE(b->has_forces, n) || RESIZE(b->has_charge, n))
            return out_of_memory(b->display);
        b->cap_frames = cap;
    }
    int i = f->n_frames++;
    if (i == 0) f->first[0] = 0;
    f->first[i + 1] = f->first[i];
    f->energy[i] = f->total_charge[i] = NAN;
    for (int k = 0; k < 9; k++) {
        f->stress[9 * i + k] = NAN;
        f->cell[9 * i + k] = 0;
    }
    f->pbc[3 * i] = f->pbc[3 * i + 1] = f->pbc[3 * i + 2] = 0;
    f->line[i] = line;
    f->comment[i] = NULL;
    b->has_forces[i] = b->has_charge[i] = 0;
    return i;
}

/* One more atom in the last frame, at zero with zero force and charge.
 * Returns its index, or -1 when out of memory. */
static long atom_add(builder *b)
{
    physm_frames *f = &b->f;
    void *tmp;
    if (f->n_atoms == b->cap_atoms) {
        long cap = b->cap_atoms ? 2 * b->cap_atoms : 256;
        size_t n = (size_t)cap;
        if (RESIZE(f->pos, 3 * n) || RESIZE(f->z, n) ||
            RESIZE(f->forces, 3 * n) || RESIZE(f->charge, n))
            return out_of_memory(b->display);
        b->cap_atoms = cap;
    }
    long a = f->n_atoms++;
    f->first[f->n_frames] = f->n_atoms;
    for (int c = 0; c < 3; c++) f->pos[3 * a + c] = f->forces[3 * a + c] = 0;
    f->z[a] = 0;
    f->charge[a] = 0;
    return a;
}

static double det3(const double *h)
{
    return h[0] * (h[4] * h[8] - h[5] * h[7]) - h[1] * (h[3] * h[8] - h[5] * h[6]) +
           h[2] * (h[3] * h[7] - h[4] * h[6]);
}

double physm_frames_volume(const physm_frames *f, int i)
{
    return fabs(det3(f->cell + 9 * i));
}

double physm_cell_volume(const physrt_cell *c)
{
    if (c->dim != 3 || !c->periodic[0] || !c->periodic[1] || !c->periodic[2]) return 0;
    return fabs(det3(&c->h[0][0]));
}

/* The periodic cell vectors of frame i must span volume (area, length for
 * slabs and wires): sqrt of the Gram determinant >= 1e-12. */
static int check_cell(builder *b, int i, int line)
{
    const double *h = b->f.cell + 9 * i;
    const int *p = b->f.pbc + 3 * i;
    int n = 0, axes[3];
    for (int k = 0; k < 3; k++)
        if (p[k]) axes[n++] = k;
    if (!n) return 0;
    double g[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    for (int r = 0; r < n; r++)
        for (int s = 0; s < n; s++) {
            const double *u = h + 3 * axes[r], *v = h + 3 * axes[s];
            g[3 * r + s] = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
        }
    double measure = sqrt(fabs(det3(g)));
    if (measure >= 1e-12) return 0;
    static const char *const what[] = {"", "length", "area", "volume"};
    fprintf(stderr, "%s:%d: error: the periodic cell of frame %d has zero %s (%.3g); its vectors are not independent\n",
            b->display, line, i + 1, what[n], measure);
    return -1;
}

/* The checks across frames, then quantities no frame has dropped. */
static int finish(builder *b)
{
    physm_frames *f = &b->f;
    for (int pass = 0; pass < 2; pass++) {
        const unsigned char *has = pass ? b->has_charge : b->has_forces;
        const char *name = pass ? "charges" : "forces";
        int with = -1, without = -1;
        for (int i = 0; i < f->n_frames; i++) {
            if (has[i] && with < 0) with = i;
            if (!has[i] && without < 0) without = i;
        }
        if (with >= 0 && without >= 0) {
            fprintf(stderr, "%s:%d: error: frame %d has no %s, but frame %d (line %d) has; give them for every "
                    "frame or for none\n", b->display, f->line[without], without + 1, name, with + 1, f->line[with]);
            return -1;
        }
        if (with < 0) {
            free(pass ? f->charge : f->forces);
            *(pass ? &f->charge : &f->forces) = NULL;
        }
    }
    double **per_frame[] = {&f->energy, &f->total_charge, &f->stress};
    for (int q = 0; q < 3; q++) {
        const int stride = q == 2 ? 9 : 1;
        int any = 0;
        for (int i = 0; i < f->n_frames && !any; i++) any = !isnan((*per_frame[q])[stride * i]);
        if (!any) {
            free(*per_frame[q]);
            *per_frame[q] = NULL;
        }
    }
    int any_comment = 0;
    for (int i = 0; i < f->n_frames; i++) any_comment |= f->comment[i] != NULL;
    if (!any_comment) {
        free(f->comment);
        f->comment = NULL;
    }
    return 0;
}

void physm_frames_free(physm_frames *f)
{
    if (f->comment)
        for (int i = 0; i < f->n_frames; i++) free(f->comment[i]);
    free(f->first);
    free(f->pos);
    free(f->z);
    free(f->forces);
    free(f->charge);
    free(f->energy);
    free(f->total_charge);
    free(f->stress);
    free(f->cell);
    free(f->pbc);
    free(f->line);
    free(f->comment);
    free(f->path);
    memset(f, 0, sizeof *f);
}

/* The element of symbol, or a named error at line (with the symbol's
 * proper case when only the case is wrong). */
static int element_z(builder *b, int line, long atom, const char *symbol)
{
    const physm_element *e = physm_element_by_symbol(symbol);
    if (e) return e->z;
    for (int z = 1; z <= PHYSM_MAX_Z; z++)
        if (!strcasecmp(physm_element_by_z(z)->symbol, symbol)) {
            fprintf(stderr, "%s:%d: error: unknown element '%s' (atom %ld); did you mean '%s'?\n", b->display, line,
                    symbol, atom, physm_element_by_z(z)->symbol);
            return -1;
        }
    fprintf(stderr, "%s:%d: error: unknown element '%s' (atom %ld); elements are H to Pu, as in \"Si\"\n",
            b->display, line, symbol, atom);
    return -1;
}

/* A whole token as a finite number: 0, or -1. */
static int parse_real(const char *tok, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(tok, &end);
    return end != tok && !*end && isfinite(*v) ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* Extended XYZ                                                              */
/* ------------------------------------------------------------------------ */

/* The first of names the frame has; a named error (at line) when it is
 * not type:cols. NULL with *bad = 0 when none is there. */
static const physm_xyz_property *column(builder *b, const physm_xyz_frame *x, int line, const char *const *names,
                                        char type, int cols, int *bad)
{
    for (const char *const *n = names; *n; n++) {
        const physm_xyz_property *p = physm_xyz_find(x, *n);
        if (!p) continue;
        if (p->type != type || p->cols != cols) {
            fprintf(stderr, "%s:%d: error: the %s column must be %s:%c:%d, not %s:%c:%d\n", b->display, line,
                    *n, *n, type, cols, *n, p->type, p->cols);
            *bad = 1;
        }
        return p;
    }
    return NULL;
}

/* The comment line's numbers under the first of names that is there: how
 * many (up to max), 0 when none is, -1 (reported) when one is not a finite
 * number. *which says whose. For the frame being built (the last). */
static int info_numbers(builder *b, const physm_xyz_frame *x, int line, const char *const *names, double *v,
                        int max, const char **which)
{
    char text[1024];
    for (const char *const *n = names; *n; n++) {
        if (!physm_xyz_info_text(x, *n, text, sizeof text)) continue;
        *which = *n;
        int count = 0;
        char *save = NULL;
        for (char *tok = strtok_r(text, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
            if (count == max || parse_real(tok, &v[count])) {
                fprintf(stderr, "%s:%d: error: %s of frame %d: %s '%s'\n", b->display, line, *n, b->f.n_frames,
                        count == max ? "too many numbers at" : "not a finite number:", tok);
                return -1;
            }
            count++;
        }
        return count;
    }
    return 0;
}

/* ASE's stress: 9 numbers (3 x 3), or 6 in Voigt order xx yy zz yz xz xy. */
static void full_stress(const double *v, int count, double *s)
{
    if (count == 9) {
        memcpy(s, v, 9 * sizeof *s);
        return;
    }
    const double xx = v[0], yy = v[1], zz = v[2], yz = v[3], xz = v[4], xy = v[5];
    const double full[9] = {xx, xy, xz, xy, yy, yz, xz, yz, zz};
    memcpy(s, full, sizeof full);
}

static int frame_stress(builder *b, int i, const physm_xyz_frame *x, int line)
{
    static const char *const stress_names[] = {"REF_stress", "stress", NULL};
    static const char *const virial_names[] = {"REF_virial", "virial", NULL};
    double v[9];
    const char *which = NULL;
    int virial = 0, count = info_numbers(b, x, line, stress_names, v, 9, &which);
    if (count == 0) {
        virial = 1;
        count = info_numbers(b, x, line, virial_names, v, 9, &which);
    }
    if (count < 0) return -1;
    if (count == 0) return 0;
    if (count != 9 && count != 6) {
        fprintf(stderr, "%s:%d: error: %s of frame %d has %d numbers; it needs 9 (3 x 3) or 6 (Voigt: xx yy zz yz "
                "xz xy)\n", b->display, line, which, i + 1, count);
        return -1;
    }
    double *s = b->f.stress + 9 * i;
    full_stress(v, count, s);
    if (virial) {
        double volume = physm_frames_volume(&b->f, i);
        if (!(volume >= 1e-12)) {
            fprintf(stderr, "%s:%d: error: %s of frame %d needs a cell of nonzero volume (stress = -virial / "
                    "volume)\n", b->display, line, which, i + 1);
            return -1;
        }
        for (int k = 0; k < 9; k++) s[k] = -s[k] / volume;
    }
    return 0;
}

static int from_xyz_frame(builder *b, const physm_xyz_frame *x)
{
    static const char *const species_names[] = {"species", NULL}, *const z_names[] = {"Z", NULL},
                             *const pos_names[] = {"pos", NULL},
                             *const force_names[] = {"REF_forces", "forces", "force", NULL},
                             *const charge_names[] = {"REF_charges", "charges", "initial_charges", NULL},
                             *const energy_names[] = {"REF_energy", "energy", NULL},
                             *const total_charge_names[] = {"total_charge", NULL};
    const int header = x->line + 1;   /* the comment line */
    int i = frame_begin(b, x->line);
    if (i < 0) return -1;
    physm_frames *f = &b->f;
    int bad = 0;
    const physm_xyz_property *species = column(b, x, header, species_names, 'S', 1, &bad),
                             *zcol = species ? NULL : column(b, x, header, z_names, 'I', 1, &bad),
                             *pos = column(b, x, header, pos_names, 'R', 3, &bad),
                             *forces = column(b, x, header, force_names, 'R', 3, &bad),
                             *charges = column(b, x, header, charge_names, 'R', 1, &bad);
    if (bad) return -1;
    if (!species && !zcol) {
        fprintf(stderr, "%s:%d: error: frame %d has no species:S:1 (or Z:I:1) column\n", b->display, header, i + 1);
        return -1;
    }
    if (!pos) {
        fprintf(stderr, "%s:%d: error: frame %d has no pos:R:3 column\n", b->display, header, i + 1);
        return -1;
    }
    if (x->n == 0) {
        fprintf(stderr, "%s:%d: error: frame %d has no atoms\n", b->display, x->line, i + 1);
        return -1;
    }
    if (x->has_lattice)
        for (int k = 0; k < 9; k++) f->cell[9 * i + k] = x->lattice[k / 3][k % 3];
    for (int k = 0; k < 3; k++) f->pbc[3 * i + k] = x->pbc[k];
    if (check_cell(b, i, header)) return -1;
    b->has_forces[i] = forces != NULL;
    b->has_charge[i] = charges != NULL;
    for (long k = 0; k < x->n; k++) {
        const int line = x->line + 2 + (int)k;
        long a = atom_add(b);
        if (a < 0) return -1;
        if (species) {
            int z = element_z(b, line, k, species->text[k]);
            if (z < 0) return -1;
            f->z[a] = z;
        } else {
            double z = zcol->values[k];
            if (!(z >= 1 && z <= PHYSM_MAX_Z)) {   /* an integer (extxyz.c checks); the range before the cast */
                fprintf(stderr, "%s:%d: error: atom %ld has Z = %g; elements are 1 (H) to %d (Pu)\n", b->display,
                        line, k, z, PHYSM_MAX_Z);
                return -1;
            }
            f->z[a] = (int)z;
        }
        for (int c = 0; c < 3; c++) {
            f->pos[3 * a + c] = pos->values[3 * k + c];
            if (forces) f->forces[3 * a + c] = forces->values[3 * k + c];
        }
        if (charges) f->charge[a] = charges->values[k];
    }
    const char *which = NULL;
    double e;
    int count = info_numbers(b, x, header, energy_names, &e, 1, &which);
    if (count < 0) return -1;
    if (count == 1) f->energy[i] = e;
    count = info_numbers(b, x, header, total_charge_names, &e, 1, &which);
    if (count < 0) return -1;
    if (count == 1) f->total_charge[i] = e;
    return frame_stress(b, i, x, header);
}

static int read_extxyz(builder *b, const char *path)
{
    physm_xyz_frame *xf = NULL;
    int n = 0;
    if (physm_xyz_read(path, b->display, 0, &xf, &n)) return -1;
    int status = 0;
    for (int i = 0; i < n && !status; i++) status = from_xyz_frame(b, &xf[i]);
    physm_xyz_free(xf, n);
    return status;
}

/* ------------------------------------------------------------------------ */
/* n2p2's input.data                                                         */
/* ------------------------------------------------------------------------ */

static const char *const n2p2_keywords[] = {"begin", "comment", "lattice", "atom", "energy", "charge", "end", NULL};

static int is_n2p2_keyword(const char *word)
{
    for (const char *const *k = n2p2_keywords; *k; k++)
        if (!strcmp(*k, word)) return 1;
    return 0;
}

enum { N2P2_MAX_TOKENS = 11 };

/* Splits s in place at whitespace: how many tokens (counting past max). */
static int split(char *s, char **tok, int max)
{
    int n = 0;
    for (;;) {
        while (isspace((unsigned char)*s)) s++;
        if (!*s) return n;
        if (n < max) tok[n] = s;
        n++;
        while (*s && !isspace((unsigned char)*s)) s++;
        if (*s) *s++ = 0;
    }
}

/* tok[1..n) as finite numbers named by names; a named error at line. */
static int parse_fields(builder *b, int line, char **tok, int n, const char *const *names, double *v)
{
    for (int k = 1; k < n; k++) {
        if (!names[k - 1]) continue;
        if (parse_real(tok[k], &v[k - 1])) {
            fprintf(stderr, "%s:%d: error: %s '%s' is not a finite number\n", b->display, line, names[k - 1], tok[k]);
            return -1;
        }
    }
    return 0;
}

/* The columns a keyword's line has, keyword included. */
static int n2p2_columns(const char *keyword)
{
    return !strcmp(keyword, "atom") ? 10 : !strcmp(keyword, "lattice") ? 4 : !strcmp(keyword, "energy") ||
           !strcmp(keyword, "charge") ? 2 : 1;
}

static const char *n2p2_usage(const char *keyword)
{
    return !strcmp(keyword, "atom") ? "atom x y z element charge n fx fy fz" : !strcmp(keyword, "lattice")
           ? "lattice x y z" : !strcmp(keyword, "energy") ? "energy E" : !strcmp(keyword, "charge") ? "charge Q"
           : keyword;
}

static int comment_add(builder *b, int i, const char *text)
{
    char **c = &b->f.comment[i];
    size_t old = *c ? strlen(*c) + 1 : 0, len = strlen(text);
    char *grown = realloc(*c, old + len + 1);
    if (!grown) return out_of_memory(b->display);
    if (old) grown[old - 1] = '\n';
    memcpy(grown + old, text, len + 1);
    *c = grown;
    return 0;
}

typedef struct {
    int frame;                    /* the open structure, -1 between */
    int begin_line, lattice_line, n_lattice, energy_line, charge_line;
} n2p2_state;

static int n2p2_line(builder *b, n2p2_state *s, int line, char *text)
{
    static const char *const atom_fields[] = {"x", "y", "z", NULL, "charge", "n", "fx", "fy", "fz"},
                             *const lattice_fields[] = {"lattice x", "lattice y", "lattice z"},
                             *const energy_fields[] = {"energy"}, *const charge_fields[] = {"charge"};
    physm_frames *f = &b->f;
    while (isspace((unsigned char)*text)) text++;
    if (!*text) return 0;
    if (!strncmp(text, "comment", 7) && (!text[7] || isspace((unsigned char)text[7]))) {
        if (s->frame < 0) {
            fprintf(stderr, "%s:%d: error: comment outside a begin ... end structure\n", b->display, line);
            return -1;
        }
        text += 7;
        while (isspace((unsigned char)*text)) text++;
        return comment_add(b, s->frame, text);
    }
    char *tok[N2P2_MAX_TOKENS];
    int n = split(text, tok, N2P2_MAX_TOKENS);
    const char *kw = tok[0];
    if (!is_n2p2_keyword(kw)) {
        fprintf(stderr, "%s:%d: error: unknown keyword '%s'; input.data has begin, comment, lattice, atom, energy, "
                "charge and end\n", b->display, line, kw);
        return -1;
    }
    if (n != n2p2_columns(kw)) {
        fprintf(stderr, "%s:%d: error: %s line with too %s columns (%d); it is: %s\n", b->display, line,
                !strcmp(kw, "atom") ? "an atom" : kw, n < n2p2_columns(kw) ? "few" : "many", n, n2p2_usage(kw));
        return -1;
    }
    if (!strcmp(kw, "begin")) {
        if (s->frame >= 0) {
            fprintf(stderr, "%s:%d: error: begin without end (line %d begins another structure)\n", b->display,
                    s->begin_line, line);
            return -1;
        }
        s->frame = frame_begin(b, line);
        s->begin_line = line;
        s->n_lattice = s->energy_line = s->charge_line = 0;
        return s->frame < 0 ? -1 : 0;
    }
    if (s->frame < 0) {
        fprintf(stderr, "%s:%d: error: %s outside a begin ... end structure\n", b->display, line, kw);
        return -1;
    }
    const int i = s->frame;
    double v[9];
    if (!strcmp(kw, "lattice")) {
        if (s->n_lattice == 3) {
            fprintf(stderr, "%s:%d: error: a fourth lattice row; a structure has 0 or 3 (the cell vectors)\n",
                    b->display, line);
            return -1;
        }
        if (parse_fields(b, line, tok, n, lattice_fields, v)) return -1;
        if (!s->n_lattice) s->lattice_line = line;
        memcpy(f->cell + 9 * i + 3 * s->n_lattice++, v, 3 * sizeof *v);
    } else if (!strcmp(kw, "atom")) {
        if (parse_fields(b, line, tok, n, atom_fields, v)) return -1;
        long a = atom_add(b);
        if (a < 0) return -1;
        int z = element_z(b, line, a - f->first[i], tok[4]);
        if (z < 0) return -1;
        f->z[a] = z;
        for (int c = 0; c < 3; c++) {
            f->pos[3 * a + c] = v[c];
            f->forces[3 * a + c] = v[6 + c];
        }
        f->charge[a] = v[4];
        b->has_forces[i] = b->has_charge[i] = 1;
    } else if (!strcmp(kw, "energy") || !strcmp(kw, "charge")) {
        const int energy = kw[0] == 'e';
        int *seen = energy ? &s->energy_line : &s->charge_line;
        if (*seen) {
            fprintf(stderr, "%s:%d: error: a second %s line in the structure (the first is line %d)\n", b->display,
                    line, kw, *seen);
            return -1;
        }
        *seen = line;
        if (parse_fields(b, line, tok, n, energy ? energy_fields : charge_fields, v)) return -1;
        *(energy ? &f->energy[i] : &f->total_charge[i]) = v[0];
    } else { /* end */
        if (s->n_lattice != 0 && s->n_lattice != 3) {
            fprintf(stderr, "%s:%d: error: the structure of line %d has %d lattice row%s; it needs 0 (a cluster) or "
                    "3 (a periodic cell)\n", b->display, line, s->begin_line, s->n_lattice,
                    s->n_lattice == 1 ? "" : "s");
            return -1;
        }
        if (f->first[i + 1] == f->first[i]) {
            fprintf(stderr, "%s:%d: error: the structure of line %d has no atoms\n", b->display, line, s->begin_line);
            return -1;
        }
        if (s->n_lattice == 3) {
            f->pbc[3 * i] = f->pbc[3 * i + 1] = f->pbc[3 * i + 2] = 1;
            if (check_cell(b, i, s->lattice_line)) return -1;
        }
        s->frame = -1;
    }
    return 0;
}

static int read_n2p2(builder *b, const char *path)
{
    physm_lines r = {b->display, fopen(path, "r"), 0, 0, NULL, 0};
    if (!r.in) {
        fprintf(stderr, "%s: error: cannot open %s: %s\n", b->display, path, strerror(errno));
        return -1;
    }
    n2p2_state s = {.frame = -1};
    int status = 0;
    char *text;
    while (!status && (text = physm_lines_next(&r))) status = n2p2_line(b, &s, r.line, text);
    if (!status && r.bad) status = -1;
    if (!status && ferror(r.in)) {
        fprintf(stderr, "%s: error: cannot read %s: %s\n", b->display, path, strerror(errno));
        status = -1;
    }
    if (!status && s.frame >= 0) {
        fprintf(stderr, "%s:%d: error: begin without end (the file ends at line %d)\n", b->display, s.begin_line,
                r.line);
        status = -1;
    }
    fclose(r.in);
    free(r.buf);
    return status;
}

/* ------------------------------------------------------------------------ */
/* Reading: the format from the first line that is not blank                 */
/* ------------------------------------------------------------------------ */

static int detect_format(const char *path, const char *display, int *format)
{
    physm_lines r = {display, fopen(path, "r"), 0, 0, NULL, 0};
    if (!r.in) {
        fprintf(stderr, "%s: error: cannot open %s: %s\n", display, path, strerror(errno));
        return -1;
    }
    int status = -1;
    char *text;
    while ((text = physm_lines_next(&r))) {
        char *tok[1];
        if (!split(text, tok, 1)) continue;
        char *end;
        (void)strtol(tok[0], &end, 10);
        if (end != tok[0] && !*end) {
            *format = PHYSM_FRAMES_EXTXYZ;
            status = 0;
        } else if (is_n2p2_keyword(tok[0])) {
            *format = PHYSM_FRAMES_N2P2;
            status = 0;
        } else {
            fprintf(stderr, "%s:%d: error: neither extended XYZ (a frame starts with its number of atoms) nor "
                    "input.data (a structure starts with begin): '%s'\n", display, r.line, tok[0]);
        }
        break;
    }
    if (!text && !r.bad) {
        if (ferror(r.in)) fprintf(stderr, "%s: error: cannot read %s: %s\n", display, path, strerror(errno));
        else fprintf(stderr, "%s: error: the file is empty; it holds no frames\n", display);
    }
    fclose(r.in);
    free(r.buf);
    return status;
}

int physm_frames_read(const char *path, const char *display, physm_frames *out)
{
    memset(out, 0, sizeof *out);
    builder b = {.display = display};
    int format = 0;
    if (detect_format(path, display, &format)) return -1;
    b.f.format = format;
    int status = format == PHYSM_FRAMES_N2P2 ? read_n2p2(&b, path) : read_extxyz(&b, path);
    if (!status && b.f.n_frames == 0) {
        fprintf(stderr, "%s: error: the file holds no frames\n", display);
        status = -1;
    }
    if (!status) status = finish(&b);
    if (!status && !(b.f.path = strdup(display))) status = out_of_memory(display);
    free(b.has_forces);
    free(b.has_charge);
    if (status) {
        physm_frames_free(&b.f);
        return -1;
    }
    *out = b.f;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

static void put_numbers(FILE *out, const double *v, int n)
{
    for (int k = 0; k < n; k++) fprintf(out, k ? " %.17g" : "%.17g", v[k]);
}

static int written(FILE *out, const char *display)
{
    if (fflush(out) == 0 && !ferror(out)) return 0;
    fprintf(stderr, "%s: error: cannot write: %s\n", display, strerror(errno));
    return -1;
}

static int any_nonzero(const double *v, int n)
{
    for (int k = 0; k < n; k++)
        if (v[k] != 0) return 1;
    return 0;
}

int physm_frames_write_extxyz(FILE *out, const char *display, const physm_frames *f,
                              const physm_frames_predicted *pred)
{
    const physm_frames_predicted none = {0};
    if (!pred) pred = &none;
    const char *pre = pred->prefix ? pred->prefix : "physc_";
    for (int i = 0; i < f->n_frames; i++) {
        const double *h = f->cell + 9 * i;
        const int *p = f->pbc + 3 * i;
        fprintf(out, "%ld\n", f->first[i + 1] - f->first[i]);
        if (p[0] || p[1] || p[2] || any_nonzero(h, 9)) {
            fputs("Lattice=\"", out);
            put_numbers(out, h, 9);
            fputs("\" ", out);
        }
        fputs("Properties=species:S:1:pos:R:3", out);
        if (f->forces) fputs(":forces:R:3", out);
        if (f->charge) fputs(":charges:R:1", out);
        if (pred->forces) fprintf(out, ":%sforces:R:3", pre);
        if (f->energy && !isnan(f->energy[i])) fprintf(out, " energy=%.17g", f->energy[i]);
        if (pred->energy) fprintf(out, " %senergy=%.17g", pre, pred->energy[i]);
        if (f->total_charge && !isnan(f->total_charge[i])) fprintf(out, " total_charge=%.17g", f->total_charge[i]);
        if (f->stress && !isnan(f->stress[9 * i])) {
            fputs(" stress=\"", out);
            put_numbers(out, f->stress + 9 * i, 9);
            fputc('"', out);
        }
        if (pred->stress) {
            fprintf(out, " %sstress=\"", pre);
            put_numbers(out, pred->stress + 9 * i, 9);
            fputc('"', out);
        }
        fprintf(out, " pbc=\"%c %c %c\"\n", "FT"[p[0] != 0], "FT"[p[1] != 0], "FT"[p[2] != 0]);
        for (long a = f->first[i]; a < f->first[i + 1]; a++) {
            const physm_element *e = physm_element_by_z(f->z[a]);
            fprintf(out, "%-2s ", e ? e->symbol : "X");
            put_numbers(out, f->pos + 3 * a, 3);
            if (f->forces) fputc(' ', out), put_numbers(out, f->forces + 3 * a, 3);
            if (f->charge) fputc(' ', out), put_numbers(out, f->charge + a, 1);
            if (pred->forces) fputc(' ', out), put_numbers(out, pred->forces + 3 * a, 3);
            fputc('\n', out);
        }
    }
    return written(out, display);
}

int physm_frames_write_n2p2(FILE *out, const char *display, const physm_frames *f)
{
    for (int i = 0; i < f->n_frames; i++) {
        const int *p = f->pbc + 3 * i;
        if ((p[0] || p[1] || p[2]) && !(p[0] && p[1] && p[2])) {
            fprintf(stderr, "%s: error: frame %d (%s:%d) is periodic along some cell vectors only, which "
                    "input.data cannot say (its cells are periodic along all three or none)\n", display, i + 1,
                    f->path ? f->path : "?", f->line ? f->line[i] : 0);
            return -1;
        }
    }
    for (int i = 0; i < f->n_frames; i++) {
        fputs("begin\n", out);
        for (const char *c = f->comment ? f->comment[i] : NULL; c; c = strchr(c, '\n') ? strchr(c, '\n') + 1 : NULL)
            fprintf(out, "comment %.*s\n", (int)strcspn(c, "\n"), c);
        if (f->pbc[3 * i])
            for (int k = 0; k < 3; k++) {
                fputs("lattice ", out);
                put_numbers(out, f->cell + 9 * i + 3 * k, 3);
                fputc('\n', out);
            }
        for (long a = f->first[i]; a < f->first[i + 1]; a++) {
            const physm_element *e = physm_element_by_z(f->z[a]);
            const double zero[3] = {0, 0, 0};
            fputs("atom ", out);
            put_numbers(out, f->pos + 3 * a, 3);
            fprintf(out, " %s ", e ? e->symbol : "X");
            put_numbers(out, f->charge ? f->charge + a : zero, 1);
            fputs(" 0 ", out);
            put_numbers(out, f->forces ? f->forces + 3 * a : zero, 3);
            fputc('\n', out);
        }
        if (f->energy && !isnan(f->energy[i])) fprintf(out, "energy %.17g\n", f->energy[i]);
        if (f->total_charge && !isnan(f->total_charge[i])) fprintf(out, "charge %.17g\n", f->total_charge[i]);
        fputs("end\n", out);
    }
    return written(out, display);
}

/* ------------------------------------------------------------------------ */
/* Summaries                                                                 */
/* ------------------------------------------------------------------------ */

int physm_frames_elements(const physm_frames *f, int *z, long *count)
{
    long seen[PHYSM_MAX_Z + 1] = {0};
    for (long a = 0; a < f->n_atoms; a++)
        if (f->z[a] >= 1 && f->z[a] <= PHYSM_MAX_Z) seen[f->z[a]]++;
    int n = 0;
    for (int e = 1; e <= PHYSM_MAX_Z; e++)
        if (seen[e]) {
            if (count) count[n] = seen[e];
            z[n++] = e;
        }
    return n;
}

/* How many frames have a value (the first of stride numbers not NaN). */
static int frames_with(const physm_frames *f, const double *v, int stride)
{
    int n = 0;
    for (int i = 0; v && i < f->n_frames; i++) n += !isnan(v[stride * i]);
    return n;
}

void physm_frames_summary(FILE *out, const physm_frames *f)
{
    int z[PHYSM_MAX_Z];
    long count[PHYSM_MAX_Z];
    int n_el = physm_frames_elements(f, z, count);
    fprintf(out, "%s: %s, %d frame%s, %ld atoms (", f->path ? f->path : "frames",
            f->format == PHYSM_FRAMES_N2P2 ? "input.data" : "extxyz", f->n_frames, f->n_frames == 1 ? "" : "s",
            f->n_atoms);
    for (int k = 0; k < n_el; k++) fprintf(out, "%s%s %ld", k ? ", " : "", physm_element_by_z(z[k])->symbol, count[k]);
    fputs(");", out);
    const char *names[] = {"energy", "stress", "total charge"};
    const double *values[] = {f->energy, f->stress, f->total_charge};
    int any = 0;
    for (int q = 0; q < 3; q++) {
        int n = frames_with(f, values[q], q == 1 ? 9 : 1);
        if (n) fprintf(out, "%s %s in %d", any++ ? "," : "", names[q], n);
        if (q == 0 && f->forces) fprintf(out, "%s forces", any++ ? "," : "");
        if (q == 1 && f->charge) fprintf(out, "%s charges", any++ ? "," : "");
    }
    if (!any) fputs(" no energy, forces or stress", out);
    int periodic = 0, open = 0;
    for (int i = 0; i < f->n_frames; i++) {
        const int *p = f->pbc + 3 * i, n = !!p[0] + !!p[1] + !!p[2];
        periodic += n == 3;
        open += n == 0;
    }
    fprintf(out, "; %d periodic, %d open", periodic, open);
    if (periodic + open < f->n_frames) fprintf(out, ", %d partly periodic", f->n_frames - periodic - open);
    fputc('\n', out);
}

/* n2p2's input.data as extended XYZ frames (what training and the test
 * verb read): species symbols, positions, forces, charges, energy= and the
 * cell. */
static int frames_as_xyz(const physm_frames *f, physm_xyz_frame **out)
{
    physm_xyz_frame *x = calloc((size_t)f->n_frames + 1, sizeof *x);
    if (!x) return -1;
    for (int i = 0; i < f->n_frames; i++) {
        physm_xyz_frame *fr = &x[i];
        const long a0 = f->first[i], n = f->first[i + 1] - a0;
        fr->n = n;
        fr->line = f->line[i];
        fr->has_lattice = f->pbc[3 * i] || f->pbc[3 * i + 1] || f->pbc[3 * i + 2];
        for (int k = 0; k < 9; k++) fr->lattice[k / 3][k % 3] = f->cell[9 * i + k];
        for (int k = 0; k < 3; k++) fr->pbc[k] = f->pbc[3 * i + k];
        char info[64] = "";
        if (f->energy && !isnan(f->energy[i])) snprintf(info, sizeof info, "energy=%.17g", f->energy[i]);
        if (!(fr->info = strdup(info))) goto oom;
        physm_xyz_property *sp = &fr->props[fr->n_props++], *pos = &fr->props[fr->n_props++];
        snprintf(sp->name, sizeof sp->name, "species");
        sp->type = 'S', sp->cols = 1;
        snprintf(pos->name, sizeof pos->name, "pos");
        pos->type = 'R', pos->cols = 3;
        if (!(sp->text = calloc((size_t)n + 1, sizeof *sp->text)) || !(pos->values = malloc(sizeof(double) * (size_t)(3 * n + 1))))
            goto oom;
        for (long a = 0; a < n; a++) snprintf(sp->text[a], sizeof sp->text[a], "%s", physm_element_by_z(f->z[a0 + a])->symbol);
        memcpy(pos->values, f->pos + 3 * a0, sizeof(double) * (size_t)(3 * n));
        if (f->forces) {
            physm_xyz_property *fo = &fr->props[fr->n_props++];
            snprintf(fo->name, sizeof fo->name, "forces");
            fo->type = 'R', fo->cols = 3;
            if (!(fo->values = malloc(sizeof(double) * (size_t)(3 * n + 1)))) goto oom;
            memcpy(fo->values, f->forces + 3 * a0, sizeof(double) * (size_t)(3 * n));
        }
        if (f->charge) { /* the atoms' charges: what a model's `charge q` reads */
            physm_xyz_property *ch = &fr->props[fr->n_props++];
            snprintf(ch->name, sizeof ch->name, "charges");
            ch->type = 'R', ch->cols = 1;
            if (!(ch->values = malloc(sizeof(double) * (size_t)(n + 1)))) goto oom;
            memcpy(ch->values, f->charge + a0, sizeof(double) * (size_t)n);
        }
    }
    *out = x;
    return 0;
oom:
    physm_xyz_free(x, f->n_frames);
    return -1;
}

int physm_frames_read_xyz(const char *path, const char *display, physm_xyz_frame **frames, int *n_frames)
{
    FILE *in = fopen(path, "r");
    char line[256] = "";
    while (in && fgets(line, sizeof line, in) && strspn(line, " \t\r\n") == strlen(line)) {}
    if (in) fclose(in);
    const char *w = line + strspn(line, " \t");
    if (strncmp(w, "begin", 5) || (w[5] && !strchr(" \t\r\n", w[5])))
        return physm_xyz_read(path, display, 0, frames, n_frames);
    physm_frames f;
    if (physm_frames_read(path, display, &f)) return -1;
    int rc = frames_as_xyz(&f, frames);
    if (rc) fprintf(stderr, "%s: error: out of memory\n", display);
    else *n_frames = f.n_frames;
    physm_frames_free(&f);
    return rc;
}
