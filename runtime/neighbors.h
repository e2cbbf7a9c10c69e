/* neighbors.h - Verlet neighbour lists (cell lists plus a skin) for particle
 * models: open clusters, periodic cells (triclinic allowed) and mixed
 * periodic/open cells such as slabs. Plain C; included by generated code.
 *
 * The list holds every (i, j, image) closer than cutoff + skin at the last
 * build and is rebuilt only when some particle has moved more than skin / 2,
 * so it stays a superset of the pairs within cutoff until then: callers
 * apply the exact cutoff themselves. An object is re-entrant (no shared
 * state) but must not be used by two threads at once. */
#ifndef PHYSRT_NEIGHBORS_H
#define PHYSRT_NEIGHBORS_H

#ifdef __cplusplus
extern "C" {
#endif

/* A simulation cell: lattice vectors as rows of h (Cartesian, triclinic
 * allowed; only the first dim rows/columns are used), periodic per lattice
 * vector. An axis that is not periodic is open (its h row is ignored for
 * images; particles may be anywhere). All axes open = a cluster. */
typedef struct physrt_cell {
    int dim;                 /* 1, 2 or 3 */
    int periodic[3];
    double h[3][3];
} physrt_cell;

/* Pairs (i, j, image): the image of j is r[j] + shift[p*dim .. p*dim+dim),
 * a lattice translation (zero for open axes); the pair's displacement is
 * r[i] - (r[j] + shift). */
typedef struct physrt_pairs {
    long n;
    const int *i, *j;        /* n each */
    const double *shift;     /* n x dim */
    const long *start;       /* full lists: n_particles + 1 offsets, pairs of
                                centre i are [start[i], start[i+1]); half lists: NULL */
} physrt_pairs;

typedef struct physrt_neighbors physrt_neighbors;

/* half = 1: every interacting pair once (i < j, or i == j for a particle
 * and its own periodic image, one of the two opposite shifts);
 * half = 0: both orders (i, j, S) and (j, i, -S), sorted by centre i.
 * Returns NULL only when out of memory; bad parameters are reported by
 * the first update. */
physrt_neighbors *physrt_neighbors_create(int dim, double cutoff, double skin, int half);
void physrt_neighbors_destroy(physrt_neighbors *nl);

/* Makes the list hold every (i, j, image) with |r_i - r_j - shift| < cutoff + skin
 * (i != j or shift != 0). Rebuilds only when needed: first call, n or the
 * cell changed, or some particle moved more than skin / 2 since the last
 * build. r is n x dim, row-major. cell may be NULL: a cluster. Returns 1
 * when rebuilt, 0 when kept, -1 on error (message in
 * physrt_neighbors_error(nl); the list is then empty and the next call
 * rebuilds): cutoff <= 0, skin < 0, a cell of zero volume or of another
 * dim, non-finite positions, a cell so much smaller than the cutoff that
 * more than a million images would have to be searched, out of memory. */
int physrt_neighbors_update(physrt_neighbors *nl, int n, const double *r, const physrt_cell *cell);

const physrt_pairs *physrt_neighbors_pairs(const physrt_neighbors *nl);
long physrt_neighbors_builds(const physrt_neighbors *nl);   /* how many rebuilds so far */
const char *physrt_neighbors_error(const physrt_neighbors *nl);  /* "" if none */

#ifdef __cplusplus
}
#endif

#endif
