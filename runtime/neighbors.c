/* neighbors.c - neighbour lists from cell lists, linear in N.
 *
 * A build works in fractional coordinates s = r B^-1. The rows of B are
 * the periodic lattice vectors and, for open axes, unit vectors orthogonal
 * to them and to each other, so an open coordinate is a length and lattice
 * translations leave it alone. Periodic coordinates are wrapped into
 * [0, 1), remembering the integer translation c that was subtracted; open
 * coordinates are binned over the particles' bounding box. Bins are at
 * least R = cutoff + skin wide (perpendicular width), so all neighbours of
 * a particle lie within `reach` bins of its own: reach is 1 except along
 * periodic axes narrower than R, where the search wraps around several
 * times and meets the same bins as further images. A pair found through a
 * bin offset that wrapped by t cells has the image shift (t + c_i - c_j) A,
 * the exact lattice translation between the given r[j] and the image used.
 *
 * Bins lying wholly beyond R from a centre (by the distances between the
 * centre and the bin's faces) are not searched.
 *
 * Half lists search the "positive" half of the offsets (and, in a
 * particle's own bin, only the particles after it), which meets every pair
 * and image once; full lists search all offsets from every centre in index
 * order, so they come out sorted by centre. */
#include "neighbors.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Most bin offsets (bins times images) searched around a bin. Beyond it the
 * cell is so much smaller than the cutoff that the list could not be held. */
#define MAX_STENCIL 1000000
/* Periodic coordinates further than this many cells from the cell are
 * refused: their translation must fit an int. */
#define MAX_WRAP 1e9

struct physrt_neighbors {
    int dim, half;
    double cutoff, skin;
    long builds;
    int valid;                  /* the list is that of (n, ref, cell) */
    int n;
    physrt_cell cell;           /* of the last build; open rows zeroed */
    physrt_pairs pairs;
    char error[256];

    /* the list */
    int *pi, *pj;
    double *shift;
    long *start;
    size_t pair_cap;

    /* per particle, in index order */
    size_t part_cap;
    double *ref;                /* n x dim positions at the last build */
    double *frac;               /* n x 3 fractional coordinates, not wrapped */
    int *bin;                   /* linear bin */
    int *slot;                  /* position in bin order */
    /* per particle, in bin order */
    int *order;                 /* particle index */
    double *x, *y, *z;          /* wrapped Cartesian position, 3-D padded */
    int *wrap;                  /* 3 per particle: the c subtracted */
    double *inbin;              /* 3 per particle: where in its bin, 0..1 per axis */
    int *hits;                  /* candidates found in one bin */
    double *dist2;              /* their squared distances */

    /* bins */
    int nbins[3], reach[3], periodic[3];
    double lattice[3][3];       /* periodic lattice vectors, zero rows otherwise */
    double bin_width[3];        /* perpendicular width of a bin */
    int orthogonal;             /* axes of the frame orthogonal: gaps add in squares */
    int *bin_start;             /* n_bins + 1 offsets into bin order */
    size_t bin_cap;
    /* along axis k, from bin coordinate c, offset o in [-reach, reach]
     * reaches bin coordinate step[k][2 (c (2 reach + 1) + o + reach)] (-1 past
     * an open end) after wrapping by the next int's number of cells */
    int *step[3];
    size_t step_cap[3];
    double *gap2[3];            /* squared gap from the centre to the bin at offset o */
};

static int fail(physrt_neighbors *nl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(nl->error, sizeof nl->error, fmt, ap);
    va_end(ap);
    nl->valid = 0;
    memset(&nl->pairs, 0, sizeof nl->pairs);
    return -1;
}

/* Capacity for `need` elements: doubles from the current one. */
static size_t grown(size_t cap, size_t need)
{
    size_t c = cap ? cap : 64;
    while (c < need) c *= 2;
    return c;
}

/* realloc that keeps p and sets *failed when it cannot. */
static void *resized(void *p, size_t count, size_t size, int *failed)
{
    void *q = realloc(p, count * size);
    if (!q) {
        *failed = 1;
        return p;
    }
    return q;
}

physrt_neighbors *physrt_neighbors_create(int dim, double cutoff, double skin, int half)
{
    physrt_neighbors *nl = calloc(1, sizeof *nl);
    if (!nl) return NULL;
    nl->dim = dim;
    nl->cutoff = cutoff;
    nl->skin = skin;
    nl->half = half != 0;
    return nl;
}

void physrt_neighbors_destroy(physrt_neighbors *nl)
{
    if (!nl) return;
    free(nl->pi);
    free(nl->pj);
    free(nl->shift);
    free(nl->start);
    free(nl->ref);
    free(nl->frac);
    free(nl->bin);
    free(nl->slot);
    free(nl->order);
    free(nl->x);
    free(nl->y);
    free(nl->z);
    free(nl->wrap);
    free(nl->inbin);
    free(nl->hits);
    free(nl->dist2);
    free(nl->bin_start);
    for (int k = 0; k < 3; k++) {
        free(nl->step[k]);
        free(nl->gap2[k]);
    }
    free(nl);
}

const physrt_pairs *physrt_neighbors_pairs(const physrt_neighbors *nl) { return &nl->pairs; }
long physrt_neighbors_builds(const physrt_neighbors *nl) { return nl->builds; }
const char *physrt_neighbors_error(const physrt_neighbors *nl) { return nl->error; }

/* The cell as the list sees it: flags 0/1, only periodic rows and the first
 * dim columns kept, so edits of ignored entries do not force a rebuild.
 * NULL is a cluster. */
static int normalise_cell(physrt_neighbors *nl, const physrt_cell *cell, physrt_cell *out)
{
    memset(out, 0, sizeof *out);
    out->dim = nl->dim;
    if (!cell) return 0;
    if (cell->dim != nl->dim)
        return fail(nl, "neighbour list: cell of dimension %d for a list of dimension %d", cell->dim, nl->dim);
    for (int k = 0; k < nl->dim; k++) {
        out->periodic[k] = cell->periodic[k] != 0;
        if (out->periodic[k])
            for (int l = 0; l < nl->dim; l++) out->h[k][l] = cell->h[k][l];
    }
    return 0;
}

static int same_cell(const physrt_cell *a, const physrt_cell *b)
{
    for (int k = 0; k < 3; k++) {
        if (a->periodic[k] != b->periodic[k]) return 0;
        for (int l = 0; l < 3; l++)
            if (a->h[k][l] != b->h[k][l]) return 0;
    }
    return 1;
}

/* Some particle moved more than skin / 2 since the last build (NaN counts). */
static int moved_too_far(const physrt_neighbors *nl, const double *r)
{
    const double limit = 0.25 * nl->skin * nl->skin;
    const size_t len = (size_t)nl->n * (size_t)nl->dim;
    const int d = nl->dim;
    for (size_t p = 0; p < len; p += (size_t)d) {
        double d2 = 0;
        for (int l = 0; l < d; l++) {
            double u = r[p + l] - nl->ref[p + l];
            d2 += u * u;
        }
        if (!(d2 <= limit)) return 1;
    }
    return 0;
}

static double dot3(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

/* Fractional frame of the cell: s_k = sum_l r_l binv[l][k]; width[k] is the
 * perpendicular width of periodic axis k. Also sets nl->periodic, lattice. */
static int cell_frame(physrt_neighbors *nl, double binv[3][3], double width[3])
{
    const int d = nl->dim;
    const physrt_cell *c = &nl->cell;
    double B[3][3] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
    double q[3][3];             /* orthonormal basis of the rows so far */
    int nq = 0;
    memset(nl->lattice, 0, sizeof nl->lattice);
    for (int k = 0; k < 3; k++) nl->periodic[k] = k < d && c->periodic[k];

    for (int k = 0; k < d; k++) {
        if (!nl->periodic[k]) continue;
        double a[3] = {0, 0, 0};
        for (int l = 0; l < d; l++) {
            if (!isfinite(c->h[k][l])) return fail(nl, "neighbour list: lattice vector %d of the cell is not finite", k + 1);
            a[l] = c->h[k][l];
        }
        double v[3] = {a[0], a[1], a[2]};
        for (int m = 0; m < nq; m++) {
            double p = dot3(a, q[m]);
            for (int l = 0; l < 3; l++) v[l] -= p * q[m][l];
        }
        double len = sqrt(dot3(a, a)), res = sqrt(dot3(v, v));
        if (!(res > 1e-12 * len))
            return fail(nl, "neighbour list: the periodic lattice vectors of the cell span zero volume");
        for (int l = 0; l < 3; l++) {
            q[nq][l] = v[l] / res;
            B[k][l] = a[l];
            nl->lattice[k][l] = a[l];
        }
        nq++;
    }
    /* Open axes: the unit vector orthogonal to everything so far closest
     * to a coordinate axis (deterministic, and well away from degenerate). */
    for (int k = 0; k < d; k++) {
        if (nl->periodic[k]) continue;
        double best[3] = {0, 0, 0}, best_len = -1;
        for (int e = 0; e < d; e++) {
            double v[3] = {0, 0, 0};
            v[e] = 1;
            for (int m = 0; m < nq; m++) {
                double p = q[m][e];
                for (int l = 0; l < 3; l++) v[l] -= p * q[m][l];
            }
            double len = sqrt(dot3(v, v));
            if (len > best_len + 1e-9) {
                best_len = len;
                for (int l = 0; l < 3; l++) best[l] = v[l];
            }
        }
        for (int l = 0; l < 3; l++) B[k][l] = q[nq][l] = best[l] / best_len;
        nq++;
    }

    /* binv = B^-1 by cofactors */
    double det = B[0][0] * (B[1][1] * B[2][2] - B[1][2] * B[2][1])
               - B[0][1] * (B[1][0] * B[2][2] - B[1][2] * B[2][0])
               + B[0][2] * (B[1][0] * B[2][1] - B[1][1] * B[2][0]);
    if (!(det != 0) || !isfinite(det))
        return fail(nl, "neighbour list: the periodic lattice vectors of the cell span zero volume");
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            int i1 = (j + 1) % 3, i2 = (j + 2) % 3, j1 = (i + 1) % 3, j2 = (i + 2) % 3;
            binv[i][j] = (B[i1][j1] * B[i2][j2] - B[i1][j2] * B[i2][j1]) / det;
        }
    for (int k = 0; k < 3; k++) {
        double col[3] = {binv[0][k], binv[1][k], binv[2][k]};
        width[k] = 1 / sqrt(dot3(col, col));
    }
    nl->orthogonal = 1;
    for (int k = 0; k < 3; k++)
        for (int l = 0; l < k; l++)
            nl->orthogonal &= fabs(dot3(B[k], B[l])) <= 1e-12 * sqrt(dot3(B[k], B[k]) * dot3(B[l], B[l]));
    return 0;
}

static int floor_div(int u, int n) { return u >= 0 ? u / n : -((-u + n - 1) / n); }

/* Bin coordinate along axis k of fractional coordinate s (lo and len: the
 * open axes' bins); *in_bin (if not NULL) is where in that bin, 0..1. */
static int bin_coordinate(const physrt_neighbors *nl, int k, double s, double lo, double len, double *in_bin)
{
    const int nk = nl->nbins[k];
    double u = k >= nl->dim ? 0 : nl->periodic[k] ? (s - floor(s)) * nk : (s - lo) / len;
    int q = (int)u;
    if (q >= nk) q = nk - 1;
    if (q < 0) q = 0;
    if (in_bin) *in_bin = fmin(fmax(u - q, 0), 1);
    return q;
}

/* Bins, their particles in bin order, and the offsets to search. */
static int bin_particles(physrt_neighbors *nl, int n, const double *r)
{
    const int d = nl->dim;
    const double R = nl->cutoff + nl->skin;
    double binv[3][3], width[3];
    if (cell_frame(nl, binv, width)) return -1;

    if ((size_t)n + 1 > nl->part_cap) {
        size_t c = grown(nl->part_cap, (size_t)n + 1);
        int failed = 0;
        nl->ref = resized(nl->ref, c * (size_t)d, sizeof *nl->ref, &failed);
        nl->frac = resized(nl->frac, c * 3, sizeof *nl->frac, &failed);
        nl->bin = resized(nl->bin, c, sizeof *nl->bin, &failed);
        nl->slot = resized(nl->slot, c, sizeof *nl->slot, &failed);
        nl->order = resized(nl->order, c, sizeof *nl->order, &failed);
        nl->x = resized(nl->x, c, sizeof *nl->x, &failed);
        nl->y = resized(nl->y, c, sizeof *nl->y, &failed);
        nl->z = resized(nl->z, c, sizeof *nl->z, &failed);
        nl->wrap = resized(nl->wrap, c * 3, sizeof *nl->wrap, &failed);
        nl->inbin = resized(nl->inbin, c * 3, sizeof *nl->inbin, &failed);
        nl->hits = resized(nl->hits, c, sizeof *nl->hits, &failed);
        nl->dist2 = resized(nl->dist2, c, sizeof *nl->dist2, &failed);
        nl->start = resized(nl->start, c, sizeof *nl->start, &failed);
        if (failed) return fail(nl, "neighbour list: out of memory for %d particles", n);
        nl->part_cap = c;
    }

    /* fractional coordinates; bounding box of the open ones */
    double lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        const double *ri = r + (size_t)i * (size_t)d;
        double *s = nl->frac + 3 * (size_t)i;
        for (int l = 0; l < d; l++)
            if (!isfinite(ri[l]))
                return fail(nl, "neighbour list: position of particle %d is not finite (%g)", i, ri[l]);
        for (int k = 0; k < 3; k++) {
            double sk = 0;
            for (int l = 0; l < d; l++) sk += ri[l] * binv[l][k];
            s[k] = sk;
            if (nl->periodic[k]) {
                if (!(fabs(sk) < MAX_WRAP))
                    return fail(nl, "neighbour list: particle %d lies more than %g cells outside the cell", i, MAX_WRAP);
            } else if (k < d) {
                if (i == 0 || sk < lo[k]) lo[k] = sk;
                if (i == 0 || sk > hi[k]) hi[k] = sk;
            }
        }
    }

    /* bins of side >= R, at most about 2n of them (sparse systems) */
    const double max_bins = fmin(2.0 * n + 64, 1 << 30);
    double nb[3], bin_len[3];
    for (int k = 0; k < 3; k++) {
        double span = hi[k] - lo[k];
        if (!isfinite(span)) return fail(nl, "neighbour list: particles too far apart (%g)", span);
        nb[k] = k >= d ? 1 : floor((nl->periodic[k] ? width[k] : span) / R);
        if (!(nb[k] >= 1)) nb[k] = 1;
        if (nb[k] > max_bins) nb[k] = max_bins;
    }
    while (nb[0] * nb[1] * nb[2] > max_bins) {
        int k = nb[1] > nb[0] ? 1 : 0;
        if (nb[2] > nb[k]) k = 2;
        nb[k] = ceil(nb[k] / 2);
    }
    double stencil_size = 1;
    for (int k = 0; k < 3; k++) {
        nl->nbins[k] = (int)nb[k];
        bin_len[k] = hi[k] > lo[k] ? (hi[k] - lo[k]) / nb[k] : 1;
        double reach = nl->periodic[k] ? ceil(R * nb[k] / width[k]) : nb[k] > 1;
        stencil_size *= 2 * reach + 1;
        if (stencil_size > MAX_STENCIL)
            return fail(nl, "neighbour list: cutoff + skin %g spans more than %d images of the cell (width %g)",
                        R, MAX_STENCIL, width[k]);
        nl->reach[k] = (int)reach;
        nl->bin_width[k] = k >= d ? 1 : nl->periodic[k] ? width[k] / nb[k] : bin_len[k];
    }
    const int n_bins = nl->nbins[0] * nl->nbins[1] * nl->nbins[2];
    int failed = 0;
    if ((size_t)n_bins + 1 > nl->bin_cap) {
        size_t c = grown(nl->bin_cap, (size_t)n_bins + 1);
        nl->bin_start = resized(nl->bin_start, c, sizeof *nl->bin_start, &failed);
        if (failed) return fail(nl, "neighbour list: out of memory for %d bins", n_bins);
        nl->bin_cap = c;
    }
    for (int k = 0; k < 3; k++) {
        const int nk = nl->nbins[k], m = nl->reach[k];
        const size_t len = 2 * (2 * (size_t)m + 1) * (size_t)nk;
        if (len > nl->step_cap[k]) {
            size_t c = grown(nl->step_cap[k], len);
            nl->step[k] = resized(nl->step[k], c, sizeof *nl->step[k], &failed);
            nl->gap2[k] = resized(nl->gap2[k], c, sizeof *nl->gap2[k], &failed);
            if (failed) return fail(nl, "neighbour list: out of memory for %zu bin offsets", len);
            nl->step_cap[k] = c;
        }
        int *st = nl->step[k];
        for (int c = 0; c < nk; c++)
            for (int o = -m; o <= m; o++, st += 2) {
                int u = c + o, t = nl->periodic[k] ? floor_div(u, nk) : 0;
                st[0] = u - t * nk >= 0 && u - t * nk < nk ? u - t * nk : -1;
                st[1] = t;
            }
    }

    /* counting sort by bin, stable, so bin order is deterministic */
    int *count = nl->bin_start;
    memset(count, 0, ((size_t)n_bins + 1) * sizeof *count);
    for (int i = 0; i < n; i++) {
        const double *s = nl->frac + 3 * (size_t)i;
        int b = 0;
        for (int k = 2; k >= 0; k--) b = b * nl->nbins[k] + bin_coordinate(nl, k, s[k], lo[k], bin_len[k], NULL);
        nl->bin[i] = b;
        count[b + 1]++;
    }
    for (int b = 0; b < n_bins; b++) count[b + 1] += count[b];
    for (int i = 0; i < n; i++) {
        int p = count[nl->bin[i]]++;
        const double *ri = r + (size_t)i * (size_t)d;
        const double *s = nl->frac + 3 * (size_t)i;
        double w[3] = {0, 0, 0};
        for (int l = 0; l < d; l++) w[l] = ri[l];
        for (int k = 0; k < 3; k++) {
            int c = nl->periodic[k] ? (int)floor(s[k]) : 0;
            nl->wrap[3 * (size_t)p + k] = c;
            bin_coordinate(nl, k, s[k], lo[k], bin_len[k], &nl->inbin[3 * (size_t)p + k]);
            for (int l = 0; l < d; l++) w[l] -= c * nl->lattice[k][l];
        }
        nl->slot[i] = p;
        nl->order[p] = i;
        nl->x[p] = w[0];
        nl->y[p] = w[1];
        nl->z[p] = w[2];
    }
    memmove(count + 1, count, (size_t)n_bins * sizeof *count);  /* ends back to starts */
    count[0] = 0;

    return 0;
}

static int reserve_pairs(physrt_neighbors *nl, size_t need)
{
    if (need <= nl->pair_cap) return 0;
    size_t c = grown(nl->pair_cap, need);
    int failed = 0;
    nl->pi = resized(nl->pi, c, sizeof *nl->pi, &failed);
    nl->pj = resized(nl->pj, c, sizeof *nl->pj, &failed);
    nl->shift = resized(nl->shift, c * (size_t)nl->dim, sizeof *nl->shift, &failed);
    if (failed) return fail(nl, "neighbour list: out of memory for %zu pairs", need);
    nl->pair_cap = c;
    return 0;
}

/* Where a search from one centre stands. */
typedef struct {
    int p, io, own;             /* centre's slot and index; searching its own bin */
    int base[3];                /* image searched plus the centre's wrap, in cells */
    double xi, yi, zi;          /* centre, translated by minus the image searched */
} search;

/* Pairs of the centre with the particles of bin tb; count is the number of
 * pairs so far. Returns the new count, or -1 when out of memory. Inlined
 * with half a constant. */
static inline long search_bin(physrt_neighbors *nl, const search *c, int tb, long count, const int half)
{
    const int d = nl->dim;
    const double R = nl->cutoff + nl->skin, R2 = R * R;
    int begin = nl->bin_start[tb];
    const int end = nl->bin_start[tb + 1];
    if (half && c->own) begin = c->p + 1;
    /* distances first (a loop that vectorises), then the hits, branch-free */
    const int len = end - begin;
    const double xi = c->xi, yi = c->yi, zi = c->zi;
    double *restrict d2 = nl->dist2;
    const double *xs = nl->x + begin, *ys = nl->y + begin, *zs = nl->z + begin;
    for (int k = 0; k < len; k++) {
        double dx = xi - xs[k], dy = yi - ys[k], dz = zi - zs[k];
        d2[k] = dx * dx + dy * dy + dz * dz;
    }
    if (!half && c->own) d2[c->p - begin] = INFINITY;   /* not itself */
    int *restrict hits = nl->hits, n_hits = 0;
    for (int k = 0; k < len; k++) {
        hits[n_hits] = begin + k;
        n_hits += d2[k] < R2;
    }
    if ((size_t)count + (size_t)n_hits > nl->pair_cap && reserve_pairs(nl, (size_t)count + (size_t)n_hits)) return -1;
    int *restrict pi = nl->pi + count, *restrict pj = nl->pj + count;
    double *restrict sh = nl->shift + (size_t)count * (size_t)d;
    for (int h = 0; h < n_hits; h++, sh += d) {
        const int s = hits[h], jo = nl->order[s];
        const int *cj = nl->wrap + 3 * (size_t)s;
        int img[3] = {c->base[0] - cj[0], c->base[1] - cj[1], c->base[2] - cj[2]};
        if (half && jo < c->io) {   /* stored as (j, i, -shift) */
            pi[h] = jo;
            pj[h] = c->io;
            for (int k = 0; k < 3; k++) img[k] = -img[k];
        } else {
            pi[h] = c->io;
            pj[h] = jo;
        }
        if (img[0] | img[1] | img[2]) {
            for (int l = 0; l < d; l++)
                sh[l] = img[0] * nl->lattice[0][l] + img[1] * nl->lattice[1][l] + img[2] * nl->lattice[2][l];
        } else {
            sh[0] = 0;              /* most pairs: no image */
            if (d > 1) sh[1] = 0;
            if (d > 2) sh[2] = 0;
        }
    }
    return count + n_hits;
}

/* Gaps combine to a lower bound of the distance to a bin: in squares when
 * the frame is orthogonal, else the largest (each is a distance between
 * parallel planes). */
static inline double combine_gaps(int orthogonal, double a, double b) { return orthogonal ? a + b : fmax(a, b); }

/* Every pair within R, searched from each centre over the bins around its
 * own (skipping those that lie wholly beyond R): all of them, or for half
 * lists the lexicographically non-negative offsets (o2, o1, o0). */
static int collect_pairs(physrt_neighbors *nl, int n)
{
    const int half = nl->half, ortho = nl->orthogonal;
    const int *nb = nl->nbins, *m = nl->reach;
    const double R = nl->cutoff + nl->skin, beyond = R * R * (1 + 1e-9);  /* margin for rounding */
    double *g2[3] = {nl->gap2[0] + m[0], nl->gap2[1] + m[1], nl->gap2[2] + m[2]};
    long count = 0;
    for (int v = 0; v < n; v++) {
        search c;
        /* half lists go in bin order (memory order); full ones by centre */
        c.p = half ? v : nl->slot[v];
        c.io = nl->order[c.p];
        const int *ci = nl->wrap + 3 * (size_t)c.p;
        int t[3];
        if (!half) nl->start[c.io] = count;
        const int b = nl->bin[c.io];
        const int *st0 = nl->step[0] + 2 * (2 * (size_t)m[0] + 1) * (size_t)(b % nb[0]);
        const int *st1 = nl->step[1] + 2 * (2 * (size_t)m[1] + 1) * (size_t)(b / nb[0] % nb[1]);
        const int *st2 = nl->step[2] + 2 * (2 * (size_t)m[2] + 1) * (size_t)(b / nb[0] / nb[1]);
        /* squared gaps from the centre to the bins at offset o, per axis */
        for (int k = 0; k < 3; k++) {
            const double f = nl->inbin[3 * (size_t)c.p + k], w = nl->bin_width[k];
            for (int o = -m[k]; o <= m[k]; o++) {
                double gap = o > 0 ? (o - f) * w : o < 0 ? (f - 1 - o) * w : 0;
                g2[k][o] = gap * gap;
            }
        }
        for (int o2 = half ? 0 : -m[2]; o2 <= m[2]; o2++) {
            const int q2 = st2[2 * (o2 + m[2])];
            if (q2 < 0 || g2[2][o2] >= beyond) continue;
            t[2] = st2[2 * (o2 + m[2]) + 1];
            for (int o1 = half && o2 == 0 ? 0 : -m[1]; o1 <= m[1]; o1++) {
                const int q1 = st1[2 * (o1 + m[1])];
                const double gap21 = combine_gaps(ortho, g2[2][o2], g2[1][o1]);
                if (q1 < 0 || gap21 >= beyond) continue;
                t[1] = st1[2 * (o1 + m[1]) + 1];
                const int row = nb[0] * (q1 + nb[1] * q2);
                for (int o0 = half && o2 == 0 && o1 == 0 ? 0 : -m[0]; o0 <= m[0]; o0++) {
                    const int q0 = st0[2 * (o0 + m[0])];
                    if (q0 < 0 || combine_gaps(ortho, gap21, g2[0][o0]) >= beyond) continue;
                    t[0] = st0[2 * (o0 + m[0]) + 1];
                    c.own = o0 == 0 && o1 == 0 && o2 == 0;
                    double T[3];
                    for (int l = 0; l < 3; l++)
                        T[l] = t[0] * nl->lattice[0][l] + t[1] * nl->lattice[1][l] + t[2] * nl->lattice[2][l];
                    c.xi = nl->x[c.p] - T[0];
                    c.yi = nl->y[c.p] - T[1];
                    c.zi = nl->z[c.p] - T[2];
                    for (int k = 0; k < 3; k++) c.base[k] = t[k] + ci[k];
                    count = half ? search_bin(nl, &c, q0 + row, count, 1) : search_bin(nl, &c, q0 + row, count, 0);
                    if (count < 0) return -1;
                }
            }
        }
    }
    if (!half) nl->start[n] = count;
    nl->pairs.n = count;
    nl->pairs.i = nl->pi;
    nl->pairs.j = nl->pj;
    nl->pairs.shift = nl->shift;
    nl->pairs.start = half ? NULL : nl->start;
    return 0;
}

int physrt_neighbors_update(physrt_neighbors *nl, int n, const double *r, const physrt_cell *cell)
{
    if (nl->dim < 1 || nl->dim > 3)
        return fail(nl, "neighbour list: dimension %d (must be 1, 2 or 3)", nl->dim);
    if (!(nl->cutoff > 0) || !isfinite(nl->cutoff))
        return fail(nl, "neighbour list: cutoff %g (must be positive and finite)", nl->cutoff);
    if (!(nl->skin >= 0) || !isfinite(nl->skin))
        return fail(nl, "neighbour list: skin %g (must be non-negative and finite)", nl->skin);
    if (n < 0 || (n > 0 && !r)) return fail(nl, "neighbour list: %d particles without positions", n);
    physrt_cell c;
    if (normalise_cell(nl, cell, &c)) return -1;
    if (nl->valid && n == nl->n && same_cell(&c, &nl->cell) && !moved_too_far(nl, r)) return 0;

    nl->valid = 0;
    nl->cell = c;
    if (bin_particles(nl, n, r) || collect_pairs(nl, n)) return -1;
    nl->n = n;
    if (n) memcpy(nl->ref, r, (size_t)n * (size_t)nl->dim * sizeof *r);
    nl->valid = 1;
    nl->error[0] = '\0';
    nl->builds++;
    return 1;
}
