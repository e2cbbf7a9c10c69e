/* spin_internal.h - what the spin files of the runtime share: a spin model
 * in memory (couplings as a dense matrix or a lattice), its local fields
 * and energy, and the samplers. The compiled program's descriptor is
 * physm_spins (physmodel.h); spin_main.c runs the verbs recall, sample and
 * learn. Spins are int8_t -1 or +1. */
#ifndef SPIN_INTERNAL_H
#define SPIN_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "model_internal.h"

typedef struct {
    long n;
    int lattice_dims;          /* 0: dense couplings W */
    long side[3];              /* lattice sides (unused ones 1) */
    double pair_scale;         /* h_i = pair_scale (W s)_i + field_i */
    double *W;                 /* n x n, symmetric, zero diagonal; NULL on a lattice */
    double *field;             /* n: bias_scale b_i + uniform_field */
    int uniform;               /* every field_i equal (lattice fast paths) */
    long clamp_lo, clamp_hi;   /* spins [clamp_lo, clamp_hi) are held fixed (dense couplings; recall --clamp) */
} spin_model;

typedef enum { SPIN_METROPOLIS, SPIN_GLAUBER, SPIN_WOLFF } spin_algorithm;

/* Hot integer kernels compiled for AVX-512, AVX2 and the baseline, picked
 * at load time; integer results are the same on every level. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
#define SPIN_HOT_KERNEL __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define SPIN_HOT_KERNEL
#endif

/* -- spin_couplings.c: couplings and spin rows in CSV files -- */

/* The model's couplings and fields: patterns (hebbian), a matrix, a
 * lattice, or for trainable ones the files learn wrote (couplings_file,
 * bias_file override the defaults MODEL_couplings.csv, MODEL_bias.csv).
 * Errors name file and line; returns 0 or -1. */
int spin_model_load(spin_model *m, const physm_model *model, const char *prog, const char *couplings_file,
                    const char *bias_file);
void spin_model_free(spin_model *m);
/* The column names NAME_0 .. NAME_{n-1} (one allocation; free the array). */
char **spin_column_names(const char *name, long n);
/* Rows of spins from a CSV file whose header names the spins: *rows is a
 * new n_rows x n array of -1/+1; a value other than -1 or +1, a missing
 * column, a short row or an empty file is an error with file and line. */
int spin_rows_read(const char *path, const char *display, const char *name, long n, int8_t **rows, int *n_rows);
/* The 1-based line of data row `row` of a CSV file (0 if not found). */
int spin_csv_line_of_row(const char *path, int row);
int spin_rows_write(const char *path, const char *name, long n, const int8_t *rows, int n_rows);
/* A matrix (n x n) or vector (n_rows = 1) as CSV with the spin header. */
int spin_matrix_write(const char *path, const char *name, long n, const double *v, int n_rows);

/* -- spin_dynamics.c: fields, energy, updates -- */

double spin_local_field(const spin_model *m, const int8_t *s, long i);
double spin_energy(const spin_model *m, const int8_t *s);
long spin_magnetisation(const spin_model *m, const int8_t *s);
/* Asynchronous zero-temperature updates in a random order each sweep
 * until a sweep changes no spin (or max_sweeps). Returns the sweeps run;
 * *converged is 1 when the last one changed nothing. */
long spin_descend(const spin_model *m, int8_t *s, physrt_rng *rng, long max_sweeps, int *converged);
/* One sweep at temperature T > 0: n single-spin attempts (dense: random
 * sites; lattice: the two checkerboard colours, parallel over pool with
 * streams keyed by (seed, sweep, colour, task)), or one Wolff cluster.
 * Returns the spins flipped. */
long spin_sweep(const spin_model *m, int8_t *s, double T, spin_algorithm alg, uint64_t seed, long sweep,
                physrt_pool *pool);

/* -- spin_multispin.c: a uniform lattice, many spins to a word -- */

/* A periodic 2-D or 3-D lattice with one coupling and one field, every
 * side even: the spins packed as bits (1 = up), S to a word
 * (spin_multispin.c says how), and swept by Metropolis or Glauber with
 * the same checkerboard colours as spin_sweep. */
typedef struct {
    int dims;
    long side[3];
    long n, lines;             /* lines: sites / the last side */
    long words;                /* words per line (Ls, even) */
    int bits;                  /* spins per word (S) */
    uint64_t mask;             /* the S low bits */
    double J, H;
    uint64_t *w;               /* lines x words */
} spin_packed;

/* 0: p is ready (load a state before sweeping); 1: the model or the
 * algorithm does not fit (use spin_sweep); -1: out of memory. */
int spin_packed_init(spin_packed *p, const spin_model *m, spin_algorithm alg);
void spin_packed_free(spin_packed *p);
void spin_packed_load(spin_packed *p, const int8_t *s);
void spin_packed_store(const spin_packed *p, int8_t *s);
/* One sweep at T > 0: both colours, 16 tasks over lines on the
 * pool, streams keyed by (seed, sweep, colour, task): the result depends
 * on the seed only. Returns the spins flipped. */
long spin_packed_sweep(spin_packed *p, double T, spin_algorithm alg, uint64_t seed, long sweep, physrt_pool *pool);
double spin_packed_energy(const spin_packed *p);
long spin_packed_magnetisation(const spin_packed *p);

/* -- spin_observables.c: Monte Carlo estimates with blocking errors -- */

typedef struct {
    double T;
    double value[5], error[5];  /* |m|, energy per spin, susceptibility, specific heat, Binder cumulant */
    double acceptance;          /* flips per attempt (Wolff: spins flipped per sweep / n) */
} spin_stats;

/* burn_in sweeps, then sweeps measured sweeps from the state s (updated);
 * with samples, every every-th measured state is written there as a row. */
int spin_sample_at(const spin_model *m, int8_t *s, double T, spin_algorithm alg, long sweeps, long burn_in,
                   uint64_t seed, physrt_pool *pool, FILE *samples, long every, spin_stats *out);

/* -- spin_learn.c -- */

/* Negative log pseudo-likelihood per sample of M rows at T = 1 and its
 * exact gradient, over the trainable couplings (upper triangle) and/or
 * fields; see spin_learn.c. */
typedef struct {
    long n;
    int M;
    const int8_t *rows;
    double pair_scale, bias_scale, uniform;
    int learn_W, learn_b;
    const double *W0, *b0;     /* fixed parts when not learned (may be NULL) */
    double l2;
} spin_pl_problem;
int spin_pl_size(const spin_pl_problem *p);
double spin_pl_objective(void *ctx, const double *x, double *grad);
void spin_pl_unpack(const spin_pl_problem *p, const double *x, double *W, double *b);

/* -- spin_main.c -- */
int physm_spin_main(const physm_model *model, int argc, char **argv);

#endif
