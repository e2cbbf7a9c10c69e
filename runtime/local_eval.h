/* local_eval.h - the energy and forces of one domain of a particle system
 * as a simulator hands it to a potential (the KIM API's convention, and the
 * C library's periodic cells unrolled into ghosts): n particles in open
 * space, the contributing ones this domain's own and the others ghosts
 * (periodic images, other processes' particles), with a full neighbour
 * list of every contributing particle. Not part of the public API.
 *
 * Every item of a kernel is counted by the domain of its first particle:
 * particles and triplets with a contributing i (centre), full pairs (i, j)
 * with a contributing i; a half-pair kernel runs over every (i, j) of the
 * full lists with weight 1/2 (a pair of two contributing particles is met
 * from both ends, a pair with a ghost here and from the ghost's own domain
 * there); an atomic network's E_i, too, is counted by the domain of atom i
 * (its descriptor from i's items). So the energies of the domains of a decomposition add up to the
 * system's, and the forces on particles and ghosts (which the simulator
 * adds to their owners) to its forces. That needs V linear in the kernels'
 * sums (physm_system.seeds_needed == 0); V's constant part is left out. */
#ifndef PHYSM_LOCAL_EVAL_H
#define PHYSM_LOCAL_EVAL_H

#include "model_internal.h"

#include <stddef.h>

typedef struct {
    int n;                        /* particles: contributing and ghosts */
    const double *r;              /* n x 3 */
    const int *contributing;      /* n: 1 this domain's own, 0 a ghost */
    const int *species;           /* n codes in [0, n_species); NULL: all 0 */
    const long *start;            /* n + 1: i's neighbours are nbr[start[i] .. start[i+1]) */
    const int *nbr;               /* (ghosts need none; i itself is never listed) */
} physm_local_config;

typedef struct physm_local_eval physm_local_eval;

/* Why the system (NULL: none) cannot run on domains with ghosts, or NULL. */
const char *physm_local_eval_unsupported(const physm_system *s);

/* For the model of lay (one particle set in 3-D, V linear in its sums,
 * every kernel over particles or within a cutoff) with the values theta
 * (copied) and n_species species (the species attribute's codes; a model
 * without one takes n_species == 1). NULL with a message in err when the
 * model cannot run this way or memory runs out. */
physm_local_eval *physm_local_eval_create(const physm_layout *lay, const double *theta, int n_species, char *err,
                                          size_t err_size);
void physm_local_eval_destroy(physm_local_eval *ev);
/* The largest cutoff of the kernels: the neighbour lists must hold every
 * pair closer than this (more is allowed). */
double physm_local_eval_cutoff(const physm_local_eval *ev);

/* The domain's energy, and what is asked for (NULL: not wanted): forces on
 * every particle, ghosts included (n x 3, overwritten), each contributing
 * particle's energy (n, ghosts get 0; the items counted by a particle), the
 * virial -sum_i r_i (x) F_i over all n (6: xx yy zz yz xz xy, the KIM
 * API's order). -1 with physm_local_eval_error. */
int physm_local_eval_run(physm_local_eval *ev, const physm_local_config *c, double *energy, double *forces,
                         double *particle_energy, double *virial);
const char *physm_local_eval_error(const physm_local_eval *ev);
/* An atomic network's atom evaluations so far whose descriptor left the
 * range of the training frames (the network extrapolates there). */
long physm_local_eval_extrapolated(const physm_local_eval *ev);

/* The values a model exported by physc (--kim, --emit=lib) carries: those
 * of its embedded checkpoint (physc --checkpoint FILE: size > 0), else
 * none, which only a model with nothing trainable may lack. theta holds
 * lay->n_theta + 1 numbers. -1 with a message in err. */
int physm_exported_theta(const physm_layout *lay, const unsigned char *checkpoint, size_t size, double *theta,
                         char *err, size_t err_size);

#endif
