/* test_frames.c - frames of atoms for learned potentials (frames.c,
 * elements.c): the element table; a hand-written two-frame extxyz, one
 * laid out as ASE writes it, one with ASE's alternative keys and an
 * input.data read with their known values; round trips extxyz -> frames
 * -> extxyz and input.data -> frames -> input.data -> frames give the same
 * doubles, also for 40 frames of random numbers; predictions written
 * beside references; every kind of bad input gets its one named error at
 * its line and leaves nothing behind; writes that cannot be done are
 * refused; the one-line summary. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "model_internal.h"

static char tmpdir[] = "/tmp/test_frames_XXXXXX";

static const char *tmp_path(const char *name)
{
    static char path[4][256];   /* a few at once; the test is one thread */
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, len, f) != len || fclose(f)) {
        perror(path);
        exit(2);
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0, got;
    char *buf = malloc(cap);
    while ((got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) buf = realloc(buf, cap *= 2);
    }
    buf[len] = 0;
    fclose(f);
    return buf;
}

/* stderr into a file from capture_start until capture_end, which returns
 * what was written (malloc'd). */
static int capture_start(void)
{
    fflush(stderr);
    int saved = dup(2), fd = open(tmp_path("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    return saved;
}

static char *capture_end(int saved)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    return slurp(tmp_path("stderr.txt"));
}

/* Reads text (saved as name) into f, stderr captured into *err (malloc'd). */
static int read_text(const char *name, const char *text, size_t len, physm_frames *f, char **err)
{
    const char *path = tmp_path(name);
    write_file(path, text, len);
    int saved = capture_start();
    int rc = physm_frames_read(path, name, f);
    *err = capture_end(saved);
    return rc;
}

/* text must be refused with a message containing want, and leave f empty. */
static void bad_len(const char *name, const char *text, size_t len, const char *want)
{
    physm_frames f;
    memset(&f, 0xab, sizeof f);
    char *err = NULL;
    int rc = read_text(name, text, len, &f, &err);
    CHECK(rc == -1, "%s was accepted (want \"%s\")", name, want);
    CHECK(err && strstr(err, want), "want \"%s\", got \"%s\"", want, err ? err : "(nothing)");
    const char *nl = err ? strchr(err, '\n') : NULL;
    CHECK(nl && !nl[1], "not one message: \"%s\"", err ? err : "");
    CHECK(f.n_frames == 0 && f.n_atoms == 0 && !f.first && !f.pos && !f.path, "a refused read left frames behind");
    if (rc == 0) physm_frames_free(&f);
    free(err);
}

static void bad(const char *name, const char *text, const char *want) { bad_len(name, text, strlen(text), want); }

static void good(const char *name, const char *text, physm_frames *f)
{
    char *err = NULL;
    int rc = read_text(name, text, strlen(text), f, &err);
    CHECK(rc == 0, "%s refused: %s", name, err ? err : "");
    CHECK(err && !*err, "%s: messages on a good read: %s", name, err ? err : "");
    free(err);
}

/* Same doubles bit for bit (NaN included), same optional arrays. */
static int same_doubles(const double *a, const double *b, long n)
{
    if (!a || !b) return a == b;
    return !memcmp(a, b, (size_t)n * sizeof *a);
}

static int same_frames(const physm_frames *a, const physm_frames *b)
{
    if (a->n_frames != b->n_frames || a->n_atoms != b->n_atoms) return 0;
    long na = a->n_atoms, nf = a->n_frames;
    return !memcmp(a->first, b->first, (size_t)(nf + 1) * sizeof *a->first) &&
           !memcmp(a->z, b->z, (size_t)na * sizeof *a->z) && !memcmp(a->pbc, b->pbc, (size_t)nf * 3 * sizeof(int)) &&
           same_doubles(a->pos, b->pos, 3 * na) && same_doubles(a->forces, b->forces, 3 * na) &&
           same_doubles(a->charge, b->charge, na) && same_doubles(a->energy, b->energy, nf) &&
           same_doubles(a->total_charge, b->total_charge, nf) && same_doubles(a->stress, b->stress, 9 * nf) &&
           same_doubles(a->cell, b->cell, 9 * nf);
}

/* f written by the writer (n2p2 or not) into name; its text, malloc'd. */
static char *write_out(const physm_frames *f, int n2p2, const physm_frames_predicted *pred, const char *name)
{
    const char *path = tmp_path(name);
    FILE *out = fopen(path, "w");
    int rc = n2p2 ? physm_frames_write_n2p2(out, name, f) : physm_frames_write_extxyz(out, name, f, pred);
    fclose(out);
    CHECK(rc == 0, "writing %s failed", name);
    return slurp(path);
}

/* f -> text -> frames -> text: the frames equal f's, the texts each other. */
static void round_trip(const physm_frames *f, int n2p2, const char *what)
{
    char *first = write_out(f, n2p2, NULL, "trip1");
    physm_frames g;
    good("trip1", first, &g);
    CHECK(same_frames(f, &g), "%s: the frames read back differ", what);
    CHECK(g.format == (n2p2 ? PHYSM_FRAMES_N2P2 : PHYSM_FRAMES_EXTXYZ), "%s: read back as format %d", what, g.format);
    if (n2p2 && f->comment) {
        int same = g.comment != NULL;
        for (int i = 0; same && i < f->n_frames; i++)
            same = (!f->comment[i] && !g.comment[i]) ||
                   (f->comment[i] && g.comment[i] && !strcmp(f->comment[i], g.comment[i]));
        CHECK(same, "%s: the comments differ", what);
    }
    char *second = write_out(&g, n2p2, NULL, "trip2");
    CHECK(!strcmp(first, second), "%s: the second writing differs from the first", what);
    physm_frames_free(&g);
    free(first);
    free(second);
}

static void test_elements(void)
{
    const physm_element *si = physm_element_by_symbol("Si");
    CHECK(si && si->z == 14 && si->mass == 28.085, "Si");
    const physm_element *h = physm_element_by_z(1), *pu = physm_element_by_z(94);
    CHECK(h && !strcmp(h->symbol, "H") && h->mass == 1.008, "H");
    CHECK(pu && !strcmp(pu->symbol, "Pu") && pu->mass == 244.06421, "Pu");
    const physm_element *fe = physm_element_by_symbol("Fe"), *au = physm_element_by_symbol("Au");
    CHECK(fe && fe->z == 26 && fe->mass == 55.845, "Fe");
    CHECK(au && au->z == 79 && au->mass == 196.966569, "Au");
    CHECK(!physm_element_by_symbol("si") && !physm_element_by_symbol("SI") && !physm_element_by_symbol("Xx") &&
          !physm_element_by_symbol("") && !physm_element_by_symbol("Am"), "symbols are exact, H..Pu");
    CHECK(!physm_element_by_z(0) && !physm_element_by_z(95) && !physm_element_by_z(-1), "Z outside 1..94");
    int ok = 1;
    for (int z = 1; z <= PHYSM_MAX_Z; z++) {
        const physm_element *e = physm_element_by_z(z);
        ok &= e && e->z == z && physm_element_by_symbol(e->symbol) == e && e->mass > 0.9 * z && e->mass < 3 * z;
    }
    CHECK(ok, "every Z: its symbol finds it, its mass is plausible");
}

static const char two_frames[] =
    "2\n"
    "Lattice=\"5.43 0 0 0 5.43 0 0 0 5.43\" Properties=species:S:1:pos:R:3:forces:R:3 energy=-10.5 "
    "stress=\"0.1 0.2 0.3 0.2 0.5 0.6 0.3 0.6 0.9\" pbc=\"T T T\"\n"
    "Si 0 0 0 0.1 -0.2 0.3\n"
    "Si 1.3575 1.3575 1.3575 -0.1 0.2 -0.3\n"
    "\n"
    "3\n"
    "Properties=species:S:1:pos:R:3:forces:R:3 energy=-14.25 pbc=\"F F F\"\n"
    "O 0 0 0.1 0 0 -1\n"
    "H 0.76 0 -0.5 0.5 0 0.5\n"
    "H -0.76 0 -0.5 -0.5 0 0.5\n";

static void test_extxyz(void)
{
    physm_frames f;
    good("two.xyz", two_frames, &f);
    CHECK(f.format == PHYSM_FRAMES_EXTXYZ && f.n_frames == 2 && f.n_atoms == 5, "counts %d %ld", f.n_frames, f.n_atoms);
    CHECK(f.first[0] == 0 && f.first[1] == 2 && f.first[2] == 5, "offsets");
    CHECK(f.z[0] == 14 && f.z[1] == 14 && f.z[2] == 8 && f.z[3] == 1 && f.z[4] == 1, "Z");
    CHECK(f.pos[3] == 1.3575 && f.pos[5] == 1.3575 && f.pos[8] == 0.1 && f.pos[12] == -0.76, "positions");
    CHECK(f.forces && f.forces[0] == 0.1 && f.forces[1] == -0.2 && f.forces[8] == -1 && f.forces[14] == 0.5, "forces");
    CHECK(f.energy && f.energy[0] == -10.5 && f.energy[1] == -14.25, "energies");
    CHECK(f.stress && f.stress[0] == 0.1 && f.stress[1] == 0.2 && f.stress[5] == 0.6 && f.stress[8] == 0.9 &&
          isnan(f.stress[9]) && isnan(f.stress[17]), "stress, NaN in the frame without");
    CHECK(f.cell[0] == 5.43 && f.cell[4] == 5.43 && f.cell[8] == 5.43 && f.cell[1] == 0, "cell");
    int zero = 1;
    for (int k = 9; k < 18; k++) zero &= f.cell[k] == 0;
    CHECK(zero, "an open cluster's cell is zero");
    CHECK(f.pbc[0] && f.pbc[1] && f.pbc[2] && !f.pbc[3] && !f.pbc[4] && !f.pbc[5], "pbc");
    CHECK(f.line[0] == 1 && f.line[1] == 6, "lines %d %d", f.line[0], f.line[1]);
    CHECK(!f.charge && !f.total_charge && !f.comment && !strcmp(f.path, "two.xyz"), "absent quantities are NULL");
    CHECK(fabs(physm_frames_volume(&f, 0) - 5.43 * 5.43 * 5.43) < 1e-12 && physm_frames_volume(&f, 1) == 0, "volume");

    int z[PHYSM_MAX_Z];
    long count[PHYSM_MAX_Z];
    int n = physm_frames_elements(&f, z, count);
    CHECK(n == 3 && z[0] == 1 && z[1] == 8 && z[2] == 14 && count[0] == 2 && count[1] == 1 && count[2] == 2,
          "elements");
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    physm_frames_summary(out, &f);
    fclose(out);
    const char *want = "two.xyz: extxyz, 2 frames, 5 atoms (H 2, O 1, Si 2); energy in 2, forces, stress in 1; "
                       "1 periodic, 1 open\n";
    CHECK(!strcmp(text, want), "summary \"%s\"", text);
    free(text);

    round_trip(&f, 0, "two.xyz as extxyz");
    /* input.data has no stress, and charges where extxyz had none: */
    char *n2p2 = write_out(&f, 1, NULL, "two.data");
    physm_frames g;
    good("two.data", n2p2, &g);
    CHECK(g.n_atoms == 5 && same_doubles(g.pos, f.pos, 15) && same_doubles(g.forces, f.forces, 15) &&
          same_doubles(g.energy, f.energy, 2) && same_doubles(g.cell, f.cell, 18) && !g.stress && g.charge &&
          g.charge[0] == 0 && g.charge[4] == 0, "extxyz -> input.data -> frames");
    physm_frames_free(&g);
    free(n2p2);

    /* Predicted values go beside the references, and reading ignores them. */
    const double e_pred[2] = {-10.4, -14.3}, s_pred[18] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    double f_pred[15];
    for (int k = 0; k < 15; k++) f_pred[k] = 0.01 * k;
    physm_frames_predicted pred = {NULL, e_pred, f_pred, s_pred};
    char *with = write_out(&f, 0, &pred, "pred.xyz");
    CHECK(strstr(with, "Properties=species:S:1:pos:R:3:forces:R:3:physc_forces:R:3 energy=-10.5 "
                       "physc_energy=-10.4 stress=") && strstr(with, "physc_stress=\"1 2 3 4 5 6 7 8 9\""),
          "predictions: %s", with);
    CHECK(strstr(with, "H  -0.76000000000000001 0 -0.5 -0.5 0 0.5 0.12 0.13 0.14000000000000001\n"), "predicted forces: %s", with);
    good("pred.xyz", with, &g);
    CHECK(same_frames(&f, &g), "predictions change what is read");
    physm_frames_free(&g);
    free(with);
    physm_frames_free(&f);
}

/* A frame as ASE 3.22 writes one (aligned columns, free_energy, more
 * columns and keys than frames keep): what frames keep is read. */
static void test_ase_layout(void)
{
    const char *text =
        "2\n"
        "Lattice=\"3.61 0.0 0.0 0.0 3.61 0.0 0.0 0.0 3.61\" Properties=species:S:1:pos:R:3:magmoms:R:1:forces:R:3 "
        "config_type=bulk energy=-7.123 stress=\"-0.01 0.0 0.0 0.0 -0.01 0.0 0.0 0.0 -0.01\" free_energy=-7.2 "
        "pbc=\"T T T\"\n"
        "Cu       0.00000000       0.00000000       0.00000000       0.00000000       0.01000000      -0.02000000 "
        "      0.03000000\n"
        "Cu       1.80500000       1.80500000       0.00000000       0.00000000      -0.01000000       0.02000000 "
        "     -0.03000000\n";
    physm_frames f;
    good("ase.xyz", text, &f);
    CHECK(f.n_atoms == 2 && f.z[1] == 29 && f.pos[3] == 1.805 && f.energy[0] == -7.123, "ASE's layout");
    CHECK(f.forces[0] == 0.01 && f.forces[2] == 0.03 && f.forces[5] == -0.03, "forces after another column");
    CHECK(f.stress[0] == -0.01 && f.stress[8] == -0.01 && f.cell[8] == 3.61 && !f.charge, "stress, cell");
    physm_frames_free(&f);
}

/* ASE's alternatives: REF_ keys first, Voigt stress, force, Z, virial. */
static void test_extxyz_keys(void)
{
    const char *text =
        "2\n"
        "Lattice=\"4 0 0 0 4 0 0 0 10\" Properties=species:S:1:pos:R:3:REF_forces:R:3:initial_charges:R:1 "
        "REF_energy=-3.5 stress=\"1 2 3 4 5 6\" pbc=\"T T F\"\n"
        "Cu 0 0 0 1 2 3 0.5\n"
        "Cu 2 2 0 -1 -2 -3 -0.5\n"
        "1\n"
        "Lattice=\"2 0 0 0 2 0 0 0 2\" Properties=Z:I:1:pos:R:3:force:R:3:charges:R:1 energy=99 "
        "REF_energy=-1.25 virial=\"8 0 0 0 16 0 0 0 24\"\n"
        "29 0.5 0.5 0.5 7 8 9 0\n";
    physm_frames f;
    good("keys.xyz", text, &f);
    CHECK(f.n_frames == 2 && f.n_atoms == 3 && f.z[2] == 29, "counts, Z column");
    CHECK(f.energy[0] == -3.5 && f.energy[1] == -1.25, "REF_energy before energy: %g %g", f.energy[0], f.energy[1]);
    CHECK(f.forces[0] == 1 && f.forces[5] == -3 && f.forces[6] == 7 && f.forces[8] == 9, "REF_forces, force");
    CHECK(f.charge && f.charge[0] == 0.5 && f.charge[1] == -0.5 && f.charge[2] == 0, "charges");
    const double voigt[9] = {1, 6, 5, 6, 2, 4, 5, 4, 3}, from_virial[9] = {-1, 0, 0, 0, -2, 0, 0, 0, -3};
    CHECK(same_doubles(f.stress, voigt, 9), "Voigt stress xx yy zz yz xz xy");
    int equal = 1;
    for (int k = 0; k < 9; k++) equal &= f.stress[9 + k] == from_virial[k];
    CHECK(equal, "stress = -virial / volume");
    CHECK(f.pbc[0] && f.pbc[1] && !f.pbc[2] && f.pbc[3] && f.pbc[4] && f.pbc[5], "pbc, Lattice alone periodic");
    round_trip(&f, 0, "keys.xyz");
    physm_frames_free(&f);
}

static const char n2p2_text[] =
    "begin\n"
    "comment first structure\n"
    "lattice 5.0 0.0 0.0\n"
    "lattice 0.0 5.0 0.0\n"
    "lattice 0.0 0.0 5.0\n"
    "atom 0.0 0.0 0.0 O -0.8 0.0 0.1 0.2 0.3\n"
    "atom 0.96 0.0 0.0 H 0.4 0.0 -0.1 -0.2 -0.3\n"
    "atom -0.24 0.93 0.0 H 0.4 0.0 0.0 0.0 0.0\n"
    "energy -15.5\n"
    "charge 0.0\n"
    "end\n"
    "begin\n"
    "comment second\n"
    "comment  two lines\n"
    "  atom 1.0E+00 2.0 3.0 Ar 0.0 0.0 1.5e-3 0 0\n"
    "energy -0.01\n"
    "end\n";

static void test_n2p2(void)
{
    physm_frames f;
    good("input.data", n2p2_text, &f);
    CHECK(f.format == PHYSM_FRAMES_N2P2 && f.n_frames == 2 && f.n_atoms == 4 && f.first[1] == 3, "counts");
    CHECK(f.z[0] == 8 && f.z[1] == 1 && f.z[3] == 18, "elements");
    CHECK(f.pos[3] == 0.96 && f.pos[6] == -0.24 && f.pos[7] == 0.93 && f.pos[9] == 1 && f.pos[11] == 3, "positions");
    CHECK(f.forces[0] == 0.1 && f.forces[5] == -0.3 && f.forces[9] == 1.5e-3, "forces");
    CHECK(f.charge[0] == -0.8 && f.charge[1] == 0.4 && f.charge[3] == 0, "charges");
    CHECK(f.energy[0] == -15.5 && f.energy[1] == -0.01, "energies");
    CHECK(f.total_charge && f.total_charge[0] == 0 && isnan(f.total_charge[1]), "total charge");
    CHECK(f.cell[0] == 5 && f.cell[4] == 5 && f.cell[8] == 5 && f.cell[3] == 0 && f.pbc[2] && !f.pbc[3], "cells");
    CHECK(!f.stress && f.line[0] == 1 && f.line[1] == 12, "no stress; lines");
    CHECK(f.comment && !strcmp(f.comment[0], "first structure") && !strcmp(f.comment[1], "second\ntwo lines"),
          "comments");
    round_trip(&f, 1, "input.data");
    round_trip(&f, 0, "input.data as extxyz");
    physm_frames_free(&f);
}

/* xorshift64: uniform in [0, 1). */
static double uniform(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* 40 frames of random doubles (fixed seed) in extxyz, %.17g: reading,
 * writing and reading again give the same doubles, the same text. */
static void test_random_round_trip(void)
{
    uint64_t s = 0x9e3779b97f4a7c15u;
#define RAND() uniform(&s)
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    for (int i = 0; i < 40; i++) {
        int n = 1 + (int)(RAND() * 30), pbc = (int)(RAND() * 8);
        double h[9];
        for (int k = 0; k < 9; k++) h[k] = (k % 4 == 0 ? 8 : 0) + (RAND() - 0.5) * 1e-3 * pow(10, RAND() * 6);
        fprintf(out, "%d\nLattice=\"", n);
        for (int k = 0; k < 9; k++) fprintf(out, "%s%.17g", k ? " " : "", h[k]);
        fprintf(out, "\" Properties=species:S:1:pos:R:3:forces:R:3:charges:R:1");
        if (i % 3) fprintf(out, " energy=%.17g", (RAND() - 0.5) * pow(10, RAND() * 10 - 3));
        if (i % 5 == 1) {
            fputs(" stress=\"", out);
            for (int k = 0; k < 9; k++) fprintf(out, "%s%.17g", k ? " " : "", RAND() - 0.5);
            fputc('"', out);
        }
        fprintf(out, " pbc=\"%c %c %c\"\n", "FT"[pbc & 1], "FT"[pbc >> 1 & 1], "FT"[pbc >> 2 & 1]);
        for (int a = 0; a < n; a++) {
            fputs(physm_element_by_z(1 + (int)(RAND() * PHYSM_MAX_Z))->symbol, out);
            for (int c = 0; c < 7; c++) fprintf(out, " %.17g", (RAND() - 0.5) * pow(10, RAND() * 8 - 4));
            fputc('\n', out);
        }
    }
    fclose(out);
    physm_frames f;
    good("random.xyz", text, &f);
    CHECK(f.n_frames == 40 && f.energy && f.stress && f.charge, "random frames read");
    round_trip(&f, 0, "random extxyz");
    physm_frames_free(&f);
    free(text);
#undef RAND
}

#define P "Properties=species:S:1:pos:R:3"
#define CUBE "Lattice=\"2 0 0 0 2 0 0 0 2\" "
/* Bad extxyz files and the message each must get. */
static const struct { const char *text, *want; } bad_extxyz[] = {
    {"3\n" P "\nSi 0 0 0\nSi 1 1 1\n",
     "t.xyz:4: error: the frame of line 1 announces 3 atoms, but the file ends after 2"},
    {"3\n" P "\nSi 0 0 0\nSi 1 1 1\n1\n" P "\nSi 0 0 0\n",
     "t.xyz:5: error: the frame of line 1 announces 3 atoms, but a new frame starts after 2"},
    {"3\n" P "\nSi 0 0 0\n\nSi 1 1 1\n",
     "t.xyz:4: error: the frame of line 1 announces 3 atoms, but a blank line comes after 1"},
    {"9223372036854775807\nx\n", "t.xyz:1: error: a frame of 9223372036854775807 atoms; at most"},
    {"1\n" P "\nSi 0 0 0\nSi 1 1 1\n",
     "t.xyz:4: error: a frame starts with its number of atoms, got 'Si 1 1 1' (more atom lines"},
    {"1\n" P ":forces:R:3\nSi 0 0 0 1 1 1\n1\n" P "\nSi 0 0 0\n",
     "t.xyz:4: error: frame 2 has no forces, but frame 1 (line 1) has"},
    {"1\n" P "\nSi 0 0 0\n\n1\n" P ":forces:R:3\nSi 0 0 0 1 1 1\n",
     "t.xyz:1: error: frame 1 has no forces, but frame 2 (line 5) has"},
    {"1\n" P ":charges:R:1\nSi 0 0 0 1\n1\n" P "\nSi 0 0 0\n",
     "t.xyz:4: error: frame 2 has no charges, but frame 1 (line 1) has"},
    {"2\n" P "\nSi 0 0 0\nXx 1 1 1\n", "t.xyz:4: error: unknown element 'Xx' (atom 1)"},
    {"1\n" P "\nsi 0 0 0\n", "t.xyz:3: error: unknown element 'si' (atom 0); did you mean 'Si'?"},
    {"1\nProperties=Z:I:1:pos:R:3\n95 0 0 0\n", "t.xyz:3: error: atom 0 has Z = 95"},
    {"1\nProperties=Z:I:1:pos:R:3\n1e300 0 0 0\n", "t.xyz:3: error: atom 0 has Z = 1e+300"},
    {"1\nProperties=Z:I:1:pos:R:3\n0 0 0 0\n", "t.xyz:3: error: atom 0 has Z = 0; elements are 1 (H)"},
    {"1\nProperties=pos:R:3\n0 0 0\n", "t.xyz:2: error: frame 1 has no species:S:1 (or Z:I:1) column"},
    {"1\nProperties=species:S:1:pos:R:2\nH 0 0\n", "t.xyz:2: error: the pos column must be pos:R:3"},
    {"1\n" P ":forces:R:2\nH 0 0 0 1 1\n", "t.xyz:2: error: the forces column must be forces:R:3"},
    {"1\n" P "\nSi 0 nan 0\n", "t.xyz:3: error: pos of atom 0 is 'nan', not a finite number"},
    {"1\n" P ":forces:R:3\nSi 0 0 0 1 -inf 1\n", "t.xyz:3: error: forces of atom 0 is '-inf', not a finite number"},
    {"1\n" P " energy=nan\nSi 0 0 0\n", "t.xyz:2: error: energy of frame 1: not a finite number: 'nan'"},
    {"1\n" P "\nSi 0 0 0\n1\n" P " REF_energy=1e400\nSi 0 0 0\n",
     "t.xyz:5: error: REF_energy of frame 2: not a finite number: '1e400'"},
    {"1\n" CUBE P " stress=\"1 2 3 4 5 inf\"\nSi 0 0 0\n",
     "t.xyz:2: error: stress of frame 1: not a finite number: 'inf'"},
    {"1\n" CUBE P " stress=\"1 2 3 4 5\"\nSi 0 0 0\n",
     "t.xyz:2: error: stress of frame 1 has 5 numbers; it needs 9 (3 x 3) or 6"},
    {"1\nLattice=\"nan 0 0 0 2 0 0 0 2\" " P "\nSi 0 0 0\n", "t.xyz:2: error: Lattice needs 9 finite numbers"},
    {"1\n" P " virial=\"1 0 0 0 1 0 0 0 1\"\nSi 0 0 0\n",
     "t.xyz:2: error: virial of frame 1 needs a cell of nonzero volume"},
    {"1\nLattice=\"1 0 0 1 0 0 0 0 1\" " P "\nSi 0 0 0\n",
     "t.xyz:2: error: the periodic cell of frame 1 has zero volume"},
    {"1\nLattice=\"1e-5 0 0 0 1e-5 0 0 0 1e-5\" " P "\nSi 0 0 0\n",
     "t.xyz:2: error: the periodic cell of frame 1 has zero volume (1e-15)"},
    {"1\n" P "\nSi 0 0 0\n1\nLattice=\"1 0 0 2 0 0 0 0 1\" pbc=\"T T F\" " P "\nSi 0 0 0\n",
     "t.xyz:5: error: the periodic cell of frame 2 has zero area"},
    {"0\n" P "\n", "t.xyz:1: error: frame 1 has no atoms"},
    {"", "t.xyz: error: the file is empty"},
    {"\n  \n\t\n", "t.xyz: error: the file is empty"},
    {"Si 0 0 0\n", "t.xyz:1: error: neither extended XYZ"},
};
#undef CUBE
#undef P

static void test_bad_extxyz(void)
{
    for (size_t k = 0; k < sizeof bad_extxyz / sizeof *bad_extxyz; k++)
        bad("t.xyz", bad_extxyz[k].text, bad_extxyz[k].want);
    bad_len("t.xyz", "1\nProperties=species:S:1:pos:R:3\nSi 0\0 0 0\n", 41, "t.xyz:3: error: the line contains a NUL");
    physm_frames f;
    int saved = capture_start();
    int rc = physm_frames_read(tmp_path("no/such/file"), "nofile", &f);
    char *err = capture_end(saved);
    CHECK(rc == -1 && !f.first && err && !strncmp(err, "nofile: error: cannot open ", 27), "a missing file: %s", err);
    free(err);
}

#define ATOM "atom 0 0 0 Si 0 0 0 0 0\n"
/* Bad input.data files and the message each must get. */
static const struct { const char *text, *want; } bad_input_data[] = {
    {"begin\natom 0 0 0 Si 0 0 0 0\nend\n",
     "t.data:2: error: an atom line with too few columns (9); it is: atom x y z element charge n fx fy fz"},
    {"begin\natom 0 0 0 Si 0 0 0 0 0 1\nend\n", "t.data:2: error: an atom line with too many columns"},
    {"begin\natom 0 0 0 Xx 0 0 0 0 0\nend\n", "t.data:2: error: unknown element 'Xx' (atom 0)"},
    {"begin\natom 0 0 0 H 0 0 0 0 0\natom 1 0 0 h 0 0 0 0 0\nend\n",
     "t.data:3: error: unknown element 'h' (atom 1); did you mean 'H'?"},
    {"begin\natom 0 0 0 Si 0 0 nan 0 0\nend\n", "t.data:2: error: fx 'nan' is not a finite number"},
    {"begin\n" ATOM "energy -inf\nend\n", "t.data:3: error: energy '-inf' is not a finite number"},
    {"begin\n" ATOM "energy 1\nenergy 2\nend\n",
     "t.data:4: error: a second energy line in the structure (the first is line 3)"},
    {"begin\nlattice 1 0 0\nlattice 0 1 0\n" ATOM "end\n",
     "t.data:5: error: the structure of line 1 has 2 lattice rows; it needs 0 (a cluster) or 3"},
    {"begin\nlattice 1 0 0\nlattice 0 1 0\nlattice 0 0 1\nlattice 1 1 1\nend\n",
     "t.data:5: error: a fourth lattice row"},
    {"begin\nlattice 1 0 0\nlattice 0 1 0\nlattice 1 1 0\n" ATOM "end\n",
     "t.data:2: error: the periodic cell of frame 1 has zero volume"},
    {"begin\nlattice 1 0 0\nlattice 0 1 0\nlattice 0 0 x\nend\n",
     "t.data:4: error: lattice z 'x' is not a finite number"},
    {"begin\n" ATOM, "t.data:1: error: begin without end (the file ends at line 2)"},
    {"begin\n" ATOM "\nbegin\n" ATOM "end\n", "t.data:1: error: begin without end (line 4 begins another structure)"},
    {"begin\n" ATOM "forces 0 0 0\nend\n",
     "t.data:3: error: unknown keyword 'forces'; input.data has begin, comment, lattice, atom"},
    {ATOM, "t.data:1: error: atom outside a begin ... end structure"},
    {"begin\nend\n", "t.data:2: error: the structure of line 1 has no atoms"},
    {"begin extra\n", "t.data:1: error: begin line with too many columns (2)"},
};
#undef ATOM

static void test_bad_n2p2(void)
{
    for (size_t k = 0; k < sizeof bad_input_data / sizeof *bad_input_data; k++)
        bad("t.data", bad_input_data[k].text, bad_input_data[k].want);
    bad_len("t.data", "begin\natom 0 0 0 Si 0\0 0 0 0 0\nend\n", 35, "t.data:2: error: the line contains a NUL");
}

static void test_bad_writes(void)
{
    physm_frames f;
    good("slab.xyz", "1\nLattice=\"2 0 0 0 2 0 0 0 9\" Properties=species:S:1:pos:R:3 pbc=\"T T F\"\nSi 0 0 0\n", &f);
    FILE *out = fopen(tmp_path("slab.data"), "w");
    int saved = capture_start();
    int rc = physm_frames_write_n2p2(out, "slab.data", &f);
    char *err = capture_end(saved);
    fclose(out);
    CHECK(rc == -1 && err && strstr(err, "slab.data: error: frame 1 (slab.xyz:1) is periodic along some cell vectors "
                                         "only"), "a slab in input.data: %s", err ? err : "");
    free(err);
    out = fopen("/dev/full", "w");
    if (out) {   /* a full disk */
        saved = capture_start();
        rc = physm_frames_write_extxyz(out, "full.xyz", &f, NULL);
        err = capture_end(saved);
        fclose(out);
        CHECK(rc == -1 && err && strstr(err, "full.xyz: error: cannot write: No space left"), "a full disk: %s",
              err ? err : "");
    }
    free(err);
    physm_frames_free(&f);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_elements();
    test_extxyz();
    test_ase_layout();
    test_extxyz_keys();
    test_n2p2();
    test_random_round_trip();
    test_bad_extxyz();
    test_bad_n2p2();
    test_bad_writes();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("test_frames");
}
