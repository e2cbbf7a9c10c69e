/* physc_potential.h - a physc particle model as a C library:
 *
 *     physc --emit=lib [--kim-species Si] [--checkpoint FILE] model.phys -o libmodel.so
 *
 * writes libmodel.so and this header beside it. The library holds the
 * compiled model, the runtime and the model's trained values (the
 * checkpoint given to physc; a model with nothing trainable needs none) and
 * exports only the functions below. Units are the model's own (eV and
 * Angstrom for the examples). Link with -L. -lmodel (or dlopen it); one
 * such library per program, as every one exports these names.
 *
 * Energy and forces are those the compiled program's simulate verb gives
 * (the same kernels and neighbour lists); the stress is the virial's,
 * through the same kernels over the periodic images as explicit particles.
 * Re-entrant: every object is independent; one object is used by one
 * thread at a time. */
#ifndef PHYSC_POTENTIAL_H
#define PHYSC_POTENTIAL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct physc_potential physc_potential;

/* The library's model, ready to evaluate; NULL when it cannot (the reason
 * in error, error_size bytes at most). */
physc_potential *physc_potential_create(char *error, size_t error_size);
void physc_potential_destroy(physc_potential *p);

/* The model's name ('model NAME'), its species (comma-separated, as given
 * to physc --kim-species; "X" when none were given) and the largest cutoff
 * of its sums (0: every pair). */
const char *physc_potential_name(const physc_potential *p);
const char *physc_potential_species(const physc_potential *p);
double physc_potential_cutoff(const physc_potential *p);

/* One configuration: n particles at positions (n x 3, row-major), species
 * codes (n, positions in physc_potential_species; NULL: all 0), the cell
 * (3 x 3, lattice vectors as rows; NULL: an open cluster) and its
 * periodicity (3 flags; NULL: periodic along all three when cell is given).
 * Writes the energy, the forces (n x 3, NULL: not wanted) and the stress
 * (6 numbers xx yy zz yz xz xy, ASE's convention: (1/volume) dE/dstrain,
 * negative under compression; NULL: not wanted; needs a cell periodic along
 * all three vectors). Returns 0, or -1 with physc_potential_error. */
int physc_potential_compute(physc_potential *p, int n, const double *positions, const int *species,
                            const double *cell, const int *pbc, double *energy, double *forces, double *stress);
const char *physc_potential_error(const physc_potential *p);

#ifdef __cplusplus
}
#endif

#endif
