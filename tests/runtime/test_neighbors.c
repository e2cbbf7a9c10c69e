/* Neighbour lists against brute force over all pairs and all lattice
 * images: open clusters, orthorhombic, triclinic, slab, 1-D and 2-D cells,
 * cells smaller than the cutoff, unwrapped positions; half and full lists;
 * the skin (kept / rebuilt, still complete); determinism; errors. */
#include "check.h"
#include "neighbors.h"

#include <stdlib.h>
#include <string.h>

/* ---- deterministic random numbers ---- */

static unsigned long long rng_state;

static double uniform(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

static double in_range(double a, double b) { return a + (b - a) * uniform(); }

/* ---- systems: a cell and particles given by their coefficients ---- */

/* Open axes of the test cells are coordinate axes orthogonal to the
 * periodic rows, so r = sum_k s_k a_k (periodic) + sum_k s_k e_k (open) and
 * the fractional difference of two particles is known exactly. */
typedef struct {
    const char *name;
    physrt_cell cell;
    int n;
    double *s;        /* n x dim coefficients */
    double *r;        /* n x dim positions */
} system_t;

static void make_positions(system_t *sys)
{
    const int d = sys->cell.dim;
    for (int i = 0; i < sys->n; i++) {
        double *r = sys->r + i * d;
        const double *s = sys->s + i * d;
        for (int l = 0; l < d; l++) r[l] = 0;
        for (int k = 0; k < d; k++)
            for (int l = 0; l < d; l++)
                r[l] += s[k] * (sys->cell.periodic[k] ? sys->cell.h[k][l] : (double)(k == l));
    }
}

/* n particles with periodic coefficients in [lo, hi) and open coordinates in
 * [open_lo, open_hi). */
static system_t make_system(const char *name, int dim, const int periodic[3], double h[3][3], int n,
                            double lo, double hi, double open_lo, double open_hi, unsigned long long seed)
{
    system_t sys;
    memset(&sys, 0, sizeof sys);
    sys.name = name;
    sys.cell.dim = dim;
    for (int k = 0; k < 3; k++) {
        sys.cell.periodic[k] = periodic[k];
        for (int l = 0; l < 3; l++) sys.cell.h[k][l] = h[k][l];
    }
    sys.n = n;
    sys.s = calloc((size_t)n * dim, sizeof *sys.s);
    sys.r = calloc((size_t)n * dim, sizeof *sys.r);
    rng_state = seed;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < dim; k++)
            sys.s[i * dim + k] = periodic[k] ? in_range(lo, hi) : in_range(open_lo, open_hi);
    make_positions(&sys);
    return sys;
}

static void free_system(system_t *sys)
{
    free(sys->s);
    free(sys->r);
}

/* ---- pair records ---- */

typedef struct {
    int i, j, img[3];
    double dist;
} record;

static int record_cmp(const void *pa, const void *pb)
{
    const record *a = pa, *b = pb;
    if (a->i != b->i) return a->i < b->i ? -1 : 1;
    if (a->j != b->j) return a->j < b->j ? -1 : 1;
    for (int k = 0; k < 3; k++)
        if (a->img[k] != b->img[k]) return a->img[k] < b->img[k] ? -1 : 1;
    return 0;
}

typedef struct {
    record *r;
    long n, cap;
} records;

static void push(records *rs, record rec)
{
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 1024;
        rs->r = realloc(rs->r, (size_t)rs->cap * sizeof *rs->r);
    }
    rs->r[rs->n++] = rec;
}

static double distance(const physrt_cell *cell, const double *ri, const double *rj, const double *shift)
{
    double d2 = 0;
    for (int l = 0; l < cell->dim; l++) {
        double u = ri[l] - (rj[l] + shift[l]);
        d2 += u * u;
    }
    return sqrt(d2);
}

static void lattice_shift(const physrt_cell *cell, const int img[3], double *shift)
{
    for (int l = 0; l < cell->dim; l++) {
        shift[l] = 0;
        for (int k = 0; k < cell->dim; k++)
            if (cell->periodic[k]) shift[l] += img[k] * cell->h[k][l];
    }
}

/* det of the Gram matrix of the periodic rows, leaving out row `skip` */
static double gram_det(const physrt_cell *cell, int skip)
{
    double g[3][3];
    int rows[3], m = 0;
    for (int k = 0; k < cell->dim; k++)
        if (cell->periodic[k] && k != skip) rows[m++] = k;
    for (int a = 0; a < m; a++)
        for (int b = 0; b < m; b++) {
            g[a][b] = 0;
            for (int l = 0; l < cell->dim; l++) g[a][b] += cell->h[rows[a]][l] * cell->h[rows[b]][l];
        }
    if (m == 0) return 1;
    if (m == 1) return g[0][0];
    if (m == 2) return g[0][0] * g[1][1] - g[0][1] * g[1][0];
    return g[0][0] * (g[1][1] * g[2][2] - g[1][2] * g[2][1]) - g[0][1] * (g[1][0] * g[2][2] - g[1][2] * g[2][0])
         + g[0][2] * (g[1][0] * g[2][1] - g[1][1] * g[2][0]);
}

/* Every (i, j, image) with distance < R, both orders, images enumerated up
 * to ceil(R / width) + 1 around the nearest one. */
static records brute_force(const system_t *sys, double R)
{
    const physrt_cell *cell = &sys->cell;
    const int d = cell->dim;
    int reach[3] = {0, 0, 0};
    for (int k = 0; k < d; k++)
        if (cell->periodic[k]) {
            double width = sqrt(gram_det(cell, -1) / gram_det(cell, k));
            reach[k] = (int)ceil(R / width) + 1;
        }
    records rs = {0};
    for (int i = 0; i < sys->n; i++)
        for (int j = 0; j < sys->n; j++) {
            int mid[3] = {0, 0, 0};
            for (int k = 0; k < d; k++)
                if (cell->periodic[k]) mid[k] = (int)lround(sys->s[i * d + k] - sys->s[j * d + k]);
            int img[3];
            for (img[2] = mid[2] - reach[2]; img[2] <= mid[2] + reach[2]; img[2]++)
                for (img[1] = mid[1] - reach[1]; img[1] <= mid[1] + reach[1]; img[1]++)
                    for (img[0] = mid[0] - reach[0]; img[0] <= mid[0] + reach[0]; img[0]++) {
                        if (i == j && !img[0] && !img[1] && !img[2]) continue;
                        double shift[3];
                        lattice_shift(cell, img, shift);
                        double dist = distance(cell, sys->r + i * d, sys->r + j * d, shift);
                        if (dist < R) push(&rs, (record){i, j, {img[0], img[1], img[2]}, dist});
                    }
        }
    qsort(rs.r, (size_t)rs.n, sizeof *rs.r, record_cmp);
    return rs;
}

/* The lattice translation n with shift = n A; fails the check if the shift
 * is not one (to rounding). */
static int recover_image(const physrt_cell *cell, const double *shift, int img[3])
{
    const int d = cell->dim;
    /* solve G n = A shift over the periodic rows (Cramer on the Gram matrix) */
    int rows[3], m = 0;
    for (int k = 0; k < d; k++)
        if (cell->periodic[k]) rows[m++] = k;
    double g[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, rhs[3] = {0, 0, 0};
    for (int a = 0; a < m; a++) {
        for (int b = 0; b < m; b++) {
            g[a][b] = 0;
            for (int l = 0; l < d; l++) g[a][b] += cell->h[rows[a]][l] * cell->h[rows[b]][l];
        }
        for (int l = 0; l < d; l++) rhs[a] += cell->h[rows[a]][l] * shift[l];
    }
    double det = g[0][0] * (g[1][1] * g[2][2] - g[1][2] * g[2][1]) - g[0][1] * (g[1][0] * g[2][2] - g[1][2] * g[2][0])
               + g[0][2] * (g[1][0] * g[2][1] - g[1][1] * g[2][0]);
    img[0] = img[1] = img[2] = 0;
    for (int a = 0; a < m; a++) {
        double col[3][3];
        memcpy(col, g, sizeof col);
        for (int b = 0; b < 3; b++) col[b][a] = rhs[b];
        double da = col[0][0] * (col[1][1] * col[2][2] - col[1][2] * col[2][1])
                  - col[0][1] * (col[1][0] * col[2][2] - col[1][2] * col[2][0])
                  + col[0][2] * (col[1][0] * col[2][1] - col[1][1] * col[2][0]);
        img[rows[a]] = (int)lround(da / det);
    }
    double back[3], scale = 1;
    lattice_shift(cell, img, back);
    for (int l = 0; l < d; l++) scale = fmax(scale, fabs(shift[l]));
    for (int l = 0; l < d; l++)
        if (fabs(back[l] - shift[l]) > 1e-12 * scale) return 0;
    return 1;
}

/* i == j self-images: the image or its opposite, whichever is
 * lexicographically positive (last axis first, as the list's stencil). */
static void canonical_self(record *rec)
{
    if (rec->i != rec->j) return;
    int *n = rec->img;
    int negative = n[2] < 0 || (n[2] == 0 && (n[1] < 0 || (n[1] == 0 && n[0] < 0)));
    if (negative)
        for (int k = 0; k < 3; k++) n[k] = -n[k];
}

static long n_checked_pairs;

/* The list of nl for sys against brute force at R; `tag` names the case. */
static void check_list(const char *tag, const system_t *sys, const physrt_neighbors *nl, int half, double R,
                       double R_build, const records *brute)
{
    const physrt_pairs *pairs = physrt_neighbors_pairs(nl);
    const physrt_cell *cell = &sys->cell;
    const int d = cell->dim;
    records got = {0};
    int bad_shift = 0, bad_index = 0, bad_order = 0, too_far = 0;
    for (long p = 0; p < pairs->n; p++) {
        record rec;
        rec.i = pairs->i[p];
        rec.j = pairs->j[p];
        if (rec.i < 0 || rec.i >= sys->n || rec.j < 0 || rec.j >= sys->n) {
            bad_index++;
            continue;
        }
        if (half && rec.i > rec.j) bad_order++;
        if (!recover_image(cell, pairs->shift + p * d, rec.img)) bad_shift++;
        rec.dist = distance(cell, sys->r + rec.i * d, sys->r + rec.j * d, pairs->shift + p * d);
        if (R == R_build && !(rec.dist < R_build * (1 + 1e-12))) too_far++;
        if (half) canonical_self(&rec);
        push(&got, rec);
    }
    CHECK(!bad_index, "%s: %d pair indices out of range", tag, bad_index);
    CHECK(!bad_order, "%s: %d half-list pairs with i > j", tag, bad_order);
    CHECK(!bad_shift, "%s: %d shifts are not lattice translations", tag, bad_shift);
    CHECK(!too_far, "%s: %d pairs beyond cutoff + skin", tag, too_far);

    if (!half) {
        int ok = pairs->start && pairs->start[0] == 0 && pairs->start[sys->n] == pairs->n;
        for (int i = 0; ok && i < sys->n; i++) {
            ok &= pairs->start[i] <= pairs->start[i + 1];
            for (long p = pairs->start[i]; ok && p < pairs->start[i + 1]; p++) ok &= pairs->i[p] == i;
        }
        CHECK(ok, "%s: full list start offsets", tag);
    } else {
        CHECK(pairs->start == NULL, "%s: half list has start offsets", tag);
    }

    qsort(got.r, (size_t)got.n, sizeof *got.r, record_cmp);
    int duplicates = 0;
    for (long p = 1; p < got.n; p++) duplicates += record_cmp(&got.r[p - 1], &got.r[p]) == 0;
    CHECK(!duplicates, "%s: %d pairs listed twice", tag, duplicates);

    records want = brute ? *brute : brute_force(sys, R);
    records ref = {0};
    for (long p = 0; p < want.n; p++) {
        record rec = want.r[p];
        if (half) {
            if (rec.i > rec.j) continue;
            record c = rec;
            canonical_self(&c);
            if (rec.i == rec.j && record_cmp(&c, &rec) != 0) continue;
        }
        push(&ref, rec);
    }
    /* merge: every brute-force pair (short of rounding at R) is listed, and
     * when R is the build radius every listed pair is a brute-force one */
    long a = 0, b = 0;
    int missing = 0, extra = 0;
    while (a < ref.n || b < got.n) {
        int c = a == ref.n ? 1 : b == got.n ? -1 : record_cmp(&ref.r[a], &got.r[b]);
        if (c == 0) {
            a++;
            b++;
        } else if (c < 0) {
            if (ref.r[a].dist < R * (1 - 1e-12)) {
                if (!missing)
                    fprintf(stderr, "%s: missing (%d, %d, %d %d %d) at %.17g\n", tag, ref.r[a].i, ref.r[a].j,
                            ref.r[a].img[0], ref.r[a].img[1], ref.r[a].img[2], ref.r[a].dist);
                missing++;
            }
            a++;
        } else {
            if (R == R_build && got.r[b].dist < R * (1 - 1e-12)) {
                if (!extra)
                    fprintf(stderr, "%s: extra (%d, %d, %d %d %d) at %.17g\n", tag, got.r[b].i, got.r[b].j,
                            got.r[b].img[0], got.r[b].img[1], got.r[b].img[2], got.r[b].dist);
                extra++;
            }
            b++;
        }
    }
    CHECK(!missing, "%s: %d pairs within %g missing (of %ld)", tag, missing, R, ref.n);
    CHECK(!extra, "%s: %d listed pairs not found by brute force", tag, extra);
    if (R == R_build) CHECK(got.n == ref.n, "%s: %ld pairs listed, brute force %ld", tag, got.n, ref.n);
    n_checked_pairs += ref.n;
    free(got.r);
    if (!brute) free(want.r);
    free(ref.r);
}

static int key_cmp(const void *pa, const void *pb)
{
    long long a = *(const long long *)pa, b = *(const long long *)pb;
    return (a > b) - (a < b);
}

/* Half and full list of sys against brute force; the full list has twice
 * the pairs of the half one. */
static void check_system(system_t *sys, double cutoff, double skin, int need_self_images)
{
    long n_half = -1, n_full = -1;
    records brute = brute_force(sys, cutoff + skin);
    for (int half = 1; half >= 0; half--) {
        char tag[128];
        snprintf(tag, sizeof tag, "%s (%s)", sys->name, half ? "half" : "full");
        physrt_neighbors *nl = physrt_neighbors_create(sys->cell.dim, cutoff, skin, half);
        int rc = physrt_neighbors_update(nl, sys->n, sys->r, &sys->cell);
        CHECK(rc == 1, "%s: first update returned %d (%s)", tag, rc, physrt_neighbors_error(nl));
        check_list(tag, sys, nl, half, cutoff + skin, cutoff + skin, &brute);
        const physrt_pairs *pairs = physrt_neighbors_pairs(nl);
        if (half) n_half = pairs->n; else n_full = pairs->n;
        if (need_self_images) {
            long self = 0, repeated = 0;
            long long *keys = malloc(sizeof *keys * (size_t)pairs->n);
            for (long p = 0; p < pairs->n; p++) {
                int a = pairs->i[p], b = pairs->j[p];
                self += a == b;
                keys[p] = a < b ? (long long)a * sys->n + b : (long long)b * sys->n + a;
            }
            qsort(keys, (size_t)pairs->n, sizeof *keys, key_cmp);
            for (long p = 1; p < pairs->n; p++) repeated += keys[p] == keys[p - 1];
            free(keys);
            CHECK(self > 0, "%s: no self-images although the cell is smaller than the cutoff", tag);
            CHECK(repeated > 0, "%s: no repeated images of one j", tag);
        }
        physrt_neighbors_destroy(nl);
    }
    free(brute.r);
    CHECK(n_full == 2 * n_half && n_half > 0, "%s: full %ld pairs, half %ld", sys->name, n_full, n_half);
}

/* ---- the cases ---- */

static void test_geometries(void)
{
    const double rc = 2.5, skin = 0.3;
    const int open3[3] = {0, 0, 0}, per3[3] = {1, 1, 1}, slab[3] = {1, 1, 0};
    double zero[3][3] = {{0}};

    /* cluster, with two far outliers (sparse bins) and a coincident pair */
    system_t s = make_system("open 3-D cluster", 3, open3, zero, 300, 0, 0, -3.5, 3.5, 11);
    for (int l = 0; l < 3; l++) {
        s.s[299 * 3 + l] = 4000.0 + l;
        s.s[298 * 3 + l] = 4000.5 + l;
        s.s[297 * 3 + l] = s.s[296 * 3 + l];
    }
    make_positions(&s);
    check_system(&s, rc, skin, 0);
    free_system(&s);

    double ortho[3][3] = {{7.6, 0, 0}, {0, 8.4, 0}, {0, 0, 9.1}};
    s = make_system("orthorhombic periodic", 3, per3, ortho, 250, 0, 1, 0, 0, 12);
    check_system(&s, rc, skin, 0);
    free_system(&s);

    double tilted[3][3] = {{8.0, 0, 0}, {2.5, 7.5, 0}, {-1.8, 1.7, 8.2}};
    s = make_system("triclinic periodic", 3, per3, tilted, 250, 0, 1, 0, 0, 13);
    check_system(&s, rc, skin, 0);
    free_system(&s);

    /* big enough for 3+ bins along every axis */
    double big[3][3] = {{12.0, 0, 0}, {3.0, 11.5, 0}, {2.0, -2.5, 12.5}};
    s = make_system("triclinic periodic, 4 bins per axis", 3, per3, big, 300, 0, 1, 0, 0, 14);
    check_system(&s, rc, skin, 0);
    free_system(&s);

    /* the open axis's h row is junk: it must be ignored */
    double slab_h[3][3] = {{7.0, 0, 0}, {2.0, 6.5, 0}, {0, 0, 0}};
    s = make_system("slab (periodic x, y; open z)", 3, slab, slab_h, 300, 0, 1, -3, 5, 15);
    for (int l = 0; l < 3; l++) s.s[299 * 3 + l] = l == 2 ? 40.0 : 0.3;
    make_positions(&s);
    check_system(&s, rc, skin, 0);
    free_system(&s);

    const int per2[3] = {1, 1, 0}, wire2[3] = {1, 0, 0};
    double h2[3][3] = {{9.0, 0, 0}, {3.0, 8.0, 0}, {0}};
    s = make_system("2-D triclinic periodic", 2, per2, h2, 200, 0, 1, 0, 0, 16);
    check_system(&s, rc, skin, 0);
    free_system(&s);

    double strip[3][3] = {{6.5, 0, 0}, {5, 5, 0}, {0}};
    s = make_system("2-D strip (periodic x, open y)", 2, wire2, strip, 150, 0, 1, -4, 6, 17);
    check_system(&s, rc, skin, 0);
    free_system(&s);

    double ring[3][3] = {{23.0, 0, 0}};
    s = make_system("1-D periodic", 1, wire2, ring, 60, 0, 1, 0, 0, 18);
    check_system(&s, rc, skin, 0);
    free_system(&s);

    /* cells smaller than the cutoff along every axis: many images of the
     * same j and self-images */
    double small[3][3] = {{1.1, 0, 0}, {0, 1.3, 0}, {0, 0, 0.9}};
    s = make_system("cell smaller than the cutoff", 3, per3, small, 12, 0, 1, 0, 0, 19);
    check_system(&s, rc, skin, 1);
    free_system(&s);

    double small_tilted[3][3] = {{1.3, 0, 0}, {0.6, 1.2, 0}, {0.4, -0.3, 1.0}};
    s = make_system("tilted cell smaller than the cutoff", 3, per3, small_tilted, 8, 0, 1, 0, 0, 20);
    check_system(&s, rc, skin, 1);
    free_system(&s);

    /* wider than cutoff + skin but under twice that: one bin per axis,
     * searched as the bin and its images on both sides */
    double one_bin[3][3] = {{4.1, 0, 0}, {0, 3.7, 0}, {0, 0, 5.5}};
    s = make_system("one bin per axis", 3, per3, one_bin, 60, 0, 1, 0, 0, 21);
    check_system(&s, rc, skin, 0);
    free_system(&s);

    double small_slab[3][3] = {{1.7, 0, 0}, {0.5, 1.9, 0}, {0}};
    s = make_system("slab smaller than the cutoff", 3, slab, small_slab, 20, 0, 1, -1, 3, 22);
    check_system(&s, rc, skin, 1);
    free_system(&s);

    double small_ring[3][3] = {{1.7, 0, 0}};
    s = make_system("1-D ring smaller than the cutoff", 1, wire2, small_ring, 5, 0, 1, 0, 0, 23);
    check_system(&s, rc, skin, 1);
    free_system(&s);

    /* unwrapped positions, several cells away on both sides */
    s = make_system("orthorhombic, unwrapped positions", 3, per3, ortho, 250, -3, 4, 0, 0, 24);
    check_system(&s, rc, skin, 0);
    free_system(&s);

    s = make_system("triclinic, unwrapped positions", 3, per3, tilted, 250, -2.5, 3.5, 0, 0, 25);
    check_system(&s, rc, skin, 0);
    free_system(&s);

    s = make_system("small tilted cell, unwrapped positions", 3, per3, small_tilted, 8, -5, 5, 0, 0, 26);
    check_system(&s, rc, skin, 1);
    free_system(&s);

    /* exactly on the cell faces (fractional 0 and 1) */
    s = make_system("particles on the faces", 3, per3, tilted, 60, 0, 1, 0, 0, 27);
    for (int i = 0; i < 30; i++) s.s[i * 3 + i % 3] = (double)(i % 2);
    make_positions(&s);
    check_system(&s, rc, skin, 0);
    free_system(&s);
}

/* The list is kept while every particle has moved at most skin / 2 since
 * the last build (and still holds every pair within the cutoff), rebuilt
 * as soon as one moved further, or n or the cell changed. */
static void test_skin(void)
{
    const double rc = 2.5, skin = 0.3;
    const int per3[3] = {1, 1, 1};
    double tilted[3][3] = {{8.0, 0, 0}, {2.5, 7.5, 0}, {-1.8, 1.7, 8.2}};
    for (int half = 1; half >= 0; half--) {
        const char *kind = half ? "half" : "full";
        char tag[96];
        system_t s = make_system("skin", 3, per3, tilted, 150, -0.5, 1.5, 0, 0, 31);
        physrt_neighbors *nl = physrt_neighbors_create(3, rc, skin, half);
        CHECK(physrt_neighbors_update(nl, s.n, s.r, &s.cell) == 1, "skin %s: first build", kind);
        CHECK(physrt_neighbors_update(nl, s.n, s.r, &s.cell) == 0, "skin %s: same positions kept", kind);
        const int *first_i = physrt_neighbors_pairs(nl)->i;
        double *r0 = malloc(sizeof(double) * 3 * s.n);
        memcpy(r0, s.r, sizeof(double) * 3 * s.n);

        /* random moves shorter than skin / 2, three times from the same build */
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < s.n; i++) {
                double u[3], len;
                do {
                    for (int l = 0; l < 3; l++) u[l] = in_range(-1, 1);
                    len = sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
                } while (len > 1 || len < 1e-3);
                double step = in_range(0.5, 0.999) * skin / 2;
                for (int l = 0; l < 3; l++) s.r[i * 3 + l] = r0[i * 3 + l] + step * u[l] / len;
            }
            int rc_kept = physrt_neighbors_update(nl, s.n, s.r, &s.cell);
            CHECK(rc_kept == 0 && physrt_neighbors_builds(nl) == 1, "skin %s: moves < skin/2 kept the list (%d)",
                  kind, rc_kept);
            snprintf(tag, sizeof tag, "skin %s, moved < skin/2, round %d", kind, round);
            check_list(tag, &s, nl, half, rc, rc + skin, NULL);
        }

        /* drift adds up from the last build, not the last call */
        memcpy(s.r, r0, sizeof(double) * 3 * s.n);
        s.r[5 * 3 + 0] += 0.1;
        CHECK(physrt_neighbors_update(nl, s.n, s.r, &s.cell) == 0, "skin %s: 0.1 kept", kind);
        s.r[5 * 3 + 0] += 0.1;
        CHECK(physrt_neighbors_update(nl, s.n, s.r, &s.cell) == 1 && physrt_neighbors_builds(nl) == 2,
              "skin %s: 0.1 + 0.1 > skin/2 rebuilt", kind);
        /* the list stays valid for the new positions */
        snprintf(tag, sizeof tag, "skin %s, after rebuild", kind);
        s.s[5 * 3 + 0] += 0.2 / tilted[0][0];   /* the coefficients follow r */
        check_list(tag, &s, nl, half, rc + skin, rc + skin, NULL);

        /* one particle just over skin / 2 */
        memcpy(r0, s.r, sizeof(double) * 3 * s.n);
        s.r[7 * 3 + 2] += 0.5001 * skin;
        CHECK(physrt_neighbors_update(nl, s.n, s.r, &s.cell) == 1 && physrt_neighbors_builds(nl) == 3,
              "skin %s: one particle over skin/2 rebuilt", kind);
        s.r[7 * 3 + 2] = r0[7 * 3 + 2];
        CHECK(physrt_neighbors_update(nl, s.n, s.r, &s.cell) == 1, "skin %s: and back", kind);

        /* a whole lattice translation (a caller wrapping) invalidates the shifts */
        for (int l = 0; l < 3; l++) s.r[9 * 3 + l] -= tilted[1][l];
        CHECK(physrt_neighbors_update(nl, s.n, s.r, &s.cell) == 1, "skin %s: wrapped particle rebuilt", kind);
        for (int l = 0; l < 3; l++) s.s[9 * 3 + l] -= l == 1;
        snprintf(tag, sizeof tag, "skin %s, wrapped particle", kind);
        check_list(tag, &s, nl, half, rc + skin, rc + skin, NULL);

        /* cell and n */
        physrt_cell bigger = s.cell;
        bigger.h[0][0] *= 1.001;
        CHECK(physrt_neighbors_update(nl, s.n, s.r, &bigger) == 1, "skin %s: cell change rebuilt", kind);
        CHECK(physrt_neighbors_update(nl, s.n, s.r, &bigger) == 0, "skin %s: same cell kept", kind);
        CHECK(physrt_neighbors_update(nl, s.n - 1, s.r, &bigger) == 1, "skin %s: n change rebuilt", kind);
        CHECK(physrt_neighbors_update(nl, s.n, s.r, &s.cell) == 1, "skin %s: back", kind);
        CHECK(physrt_neighbors_pairs(nl)->i == first_i, "skin %s: memory reused across rebuilds", kind);
        CHECK(physrt_neighbors_builds(nl) == 8, "skin %s: %ld builds", kind, physrt_neighbors_builds(nl));

        /* skin 0: any move rebuilds */
        physrt_neighbors *tight = physrt_neighbors_create(3, rc, 0, half);
        CHECK(physrt_neighbors_update(tight, s.n, s.r, &s.cell) == 1, "skin 0 %s: build", kind);
        CHECK(physrt_neighbors_update(tight, s.n, s.r, &s.cell) == 0, "skin 0 %s: kept", kind);
        s.r[0] += 1e-9;
        CHECK(physrt_neighbors_update(tight, s.n, s.r, &s.cell) == 1, "skin 0 %s: tiny move rebuilt", kind);
        physrt_neighbors_destroy(tight);

        free(r0);
        physrt_neighbors_destroy(nl);
        free_system(&s);
    }
}

/* Same input, same list, to the bit, from a new object and after rebuilds. */
static void test_deterministic(void)
{
    const int per3[3] = {1, 1, 1};
    double tilted[3][3] = {{8.0, 0, 0}, {2.5, 7.5, 0}, {-1.8, 1.7, 8.2}};
    system_t s = make_system("deterministic", 3, per3, tilted, 500, -1, 2, 0, 0, 41);
    for (int half = 0; half <= 1; half++) {
        physrt_neighbors *a = physrt_neighbors_create(3, 2.5, 0.3, half);
        physrt_neighbors *b = physrt_neighbors_create(3, 2.5, 0.3, half);
        physrt_neighbors_update(a, s.n, s.r, &s.cell);
        physrt_neighbors_update(b, 10, s.r, &s.cell);     /* different history */
        physrt_neighbors_update(b, s.n, s.r, &s.cell);
        const physrt_pairs *pa = physrt_neighbors_pairs(a), *pb = physrt_neighbors_pairs(b);
        int same = pa->n == pb->n && pa->n > 0 && !memcmp(pa->i, pb->i, sizeof(int) * pa->n)
                && !memcmp(pa->j, pb->j, sizeof(int) * pa->n)
                && !memcmp(pa->shift, pb->shift, sizeof(double) * 3 * pa->n);
        CHECK(same, "deterministic (%s): two objects, same list", half ? "half" : "full");
        physrt_neighbors_destroy(a);
        physrt_neighbors_destroy(b);
    }
    free_system(&s);
}

static int mentions(const physrt_neighbors *nl, const char *word) { return strstr(physrt_neighbors_error(nl), word) != NULL; }

static void test_errors(void)
{
    double r[6] = {0, 0, 0, 1, 1, 1};
    physrt_cell cube = {3, {1, 1, 1}, {{5, 0, 0}, {0, 5, 0}, {0, 0, 5}}};

    physrt_neighbors *nl = physrt_neighbors_create(3, 0, 0.3, 1);
    CHECK(physrt_neighbors_update(nl, 2, r, &cube) == -1 && mentions(nl, "cutoff"), "cutoff 0: %s",
          physrt_neighbors_error(nl));
    physrt_neighbors_destroy(nl);
    nl = physrt_neighbors_create(3, -1, 0.3, 0);
    CHECK(physrt_neighbors_update(nl, 2, r, &cube) == -1 && mentions(nl, "cutoff"), "cutoff -1");
    physrt_neighbors_destroy(nl);
    nl = physrt_neighbors_create(3, NAN, 0.3, 0);
    CHECK(physrt_neighbors_update(nl, 2, r, &cube) == -1 && mentions(nl, "cutoff"), "cutoff NaN");
    physrt_neighbors_destroy(nl);
    nl = physrt_neighbors_create(3, 2.5, -0.1, 0);
    CHECK(physrt_neighbors_update(nl, 2, r, &cube) == -1 && mentions(nl, "skin"), "skin < 0");
    physrt_neighbors_destroy(nl);
    nl = physrt_neighbors_create(4, 2.5, 0.3, 0);
    CHECK(physrt_neighbors_update(nl, 2, r, NULL) == -1 && mentions(nl, "dimension"), "dim 4");
    physrt_neighbors_destroy(nl);

    nl = physrt_neighbors_create(3, 2.5, 0.3, 0);
    physrt_cell flat = {3, {1, 1, 1}, {{5, 0, 0}, {0, 5, 0}, {2.5, 5, 0}}};
    CHECK(physrt_neighbors_update(nl, 2, r, &flat) == -1 && mentions(nl, "zero volume"), "flat cell: %s",
          physrt_neighbors_error(nl));
    physrt_cell parallel = {3, {1, 1, 0}, {{5, 0, 0}, {-10, 0, 0}, {0, 0, 0}}};
    CHECK(physrt_neighbors_update(nl, 2, r, &parallel) == -1 && mentions(nl, "zero volume"), "parallel slab");
    physrt_cell null_row = {3, {1, 0, 0}, {{0, 0, 0}, {1, 0, 0}, {0, 1, 0}}};
    CHECK(physrt_neighbors_update(nl, 2, r, &null_row) == -1 && mentions(nl, "zero volume"), "zero vector");
    physrt_cell null_open = {3, {1, 1, 0}, {{5, 0, 0}, {0, 5, 0}, {0, 0, 0}}};
    CHECK(physrt_neighbors_update(nl, 2, r, &null_open) == 1, "zero row of an open axis is fine: %s",
          physrt_neighbors_error(nl));
    physrt_cell nan_cell = cube;
    nan_cell.h[1][2] = NAN;
    CHECK(physrt_neighbors_update(nl, 2, r, &nan_cell) == -1 && mentions(nl, "not finite"), "NaN cell");
    physrt_cell dim2 = cube;
    dim2.dim = 2;
    CHECK(physrt_neighbors_update(nl, 2, r, &dim2) == -1 && mentions(nl, "dimension"), "cell of another dim");
    physrt_cell needle = {3, {1, 1, 1}, {{0.01, 0, 0}, {0, 0.01, 0}, {0, 0, 0.01}}};
    CHECK(physrt_neighbors_update(nl, 2, r, &needle) == -1 && mentions(nl, "images"), "cell far below cutoff: %s",
          physrt_neighbors_error(nl));

    CHECK(physrt_neighbors_update(nl, 2, r, &cube) == 1, "good cell after errors");
    double bad[6] = {0, 0, 0, 1, NAN, 1};
    CHECK(physrt_neighbors_update(nl, 2, bad, &cube) == -1 && mentions(nl, "particle 1"), "NaN position: %s",
          physrt_neighbors_error(nl));
    CHECK(physrt_neighbors_pairs(nl)->n == 0, "list empty after an error");
    bad[4] = INFINITY;
    CHECK(physrt_neighbors_update(nl, 2, bad, &cube) == -1 && mentions(nl, "not finite"), "Inf position");
    CHECK(physrt_neighbors_update(nl, 2, bad, NULL) == -1, "Inf position, cluster");
    CHECK(physrt_neighbors_update(nl, 2, r, &cube) == 1 && physrt_neighbors_pairs(nl)->n == 2
              && physrt_neighbors_error(nl)[0] == '\0',
          "recovers: %ld pairs", physrt_neighbors_pairs(nl)->n);
    CHECK(physrt_neighbors_update(nl, -1, r, &cube) == -1, "negative n");
    CHECK(physrt_neighbors_update(nl, 0, NULL, &cube) == 1 && physrt_neighbors_pairs(nl)->n == 0, "no particles");
    physrt_neighbors_destroy(nl);
}

int main(void)
{
    test_geometries();
    test_skin();
    test_deterministic();
    test_errors();
    printf("(%ld brute-force pairs compared)\n", n_checked_pairs);
    return check_summary("runtime_neighbors");
}
