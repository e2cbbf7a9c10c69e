/* mlp_internal.h - shapes and evaluation-object layout shared by the MLP
 * forward, reverse and convenience code. Not a public header. */
#ifndef PHYSRT_MLP_INTERNAL_H
#define PHYSRT_MLP_INTERNAL_H

#include "jet_plan_internal.h"
#include "physrt.h"

/* The per-part kernels are compiled for several x86-64 levels and picked at
 * load time (GNU ifunc), so one portable library still uses AVX2/AVX-512
 * and FMA where the CPU has them; fp-contract lets FMAs form (ISO C mode
 * turns contraction off otherwise). Results are deterministic for a given
 * machine; across ISA levels they differ at round-off level. Helpers are
 * force-inlined so they are compiled for the kernel's ISA level. */
#if defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* clang has no optimize attribute; it contracts within expressions anyway */
#define MLP_HOT_KERNEL                                                        \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define MLP_INLINE static inline __attribute__((always_inline))
#elif defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
#define MLP_HOT_KERNEL                                                        \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), \
                   optimize("fp-contract=fast")))
#define MLP_INLINE static inline __attribute__((always_inline))
#else
#define MLP_HOT_KERNEL
#define MLP_INLINE static inline
#endif

/* Points are processed in tiles of this many so that the streams of one
 * tile stay in cache while they pass through every layer. */
#define MLP_TILE 128

/* Layer shapes and parameter offsets of a network. */
typedef struct {
    int n_layers;              /* n_hidden + 1 */
    int n_inputs, n_outputs;
    int *n_in, *n_out;         /* per layer */
    physrt_activation *act;    /* per layer */
    size_t *w_off, *b_off;     /* per layer, into the parameter vector */
    size_t n_params;
    int max_width;             /* max over n_inputs and every layer's n_out */
} mlp_geometry;

int mlp_geometry_init(mlp_geometry *geo, const physrt_mlp_desc *desc);
void mlp_geometry_free(mlp_geometry *geo);

/* Evaluation object, one struct per precision. Arrays of layer l use a
 * point stride of max_points ("P"): element (row r, point p) is at
 * r * P + p, so every row's points are contiguous.
 *   z[l]: pre-activations [stream][unit][P] (layer 0 keeps the value only:
 *         its derivative streams are columns of W or zero);
 *   a[l]: activations [stream][unit][P]; a[n_layers-1] is the output;
 *   d[l]: s^(k)(z) for k = 1..n_orders [k-1][unit][P];
 *   scratch: per part, adjoints of one tile: abar, abar_prev, zbar, each
 *            [stream][unit][MLP_TILE];
 *   first_coef: prod_i W0[j][i]^alpha_i per [stream][unit], set per call. */
#define MLP_EVAL_STRUCT(REAL, NAME)                                           \
    struct NAME {                                                             \
        mlp_geometry geo;                                                     \
        physrt_jet_plan *plan;                                                \
        physrt_pool *pool;                                                    \
        int n_parts;                                                          \
        int max_points;                                                       \
        int n_points;            /* of the last forward, 0 if none */        \
        int n_streams;                                                        \
        int n_orders;            /* derivative orders kept: max_order + 1 */ \
        size_t scratch_per_part;                                              \
        REAL *xt;                /* inputs transposed [input][P] */          \
        REAL **z, **a, **d;                                                   \
        REAL *part_grad;         /* n_parts x n_params */                    \
        REAL *scratch;                                                        \
        REAL *first_coef;                                                     \
        REAL *staging;           /* n_streams x n_outputs x P */             \
        /* arguments of the running call, read by the worker tasks */         \
        const REAL *params;                                                   \
        const REAL *x_in;                                                     \
        REAL *out;                                                            \
        const REAL *out_adjoint;                                              \
    }

MLP_EVAL_STRUCT(float, physrt_mlp_eval_f32);
MLP_EVAL_STRUCT(double, physrt_mlp_eval_f64);

/* Point range [begin, end) of part c of n points split into n_parts. Parts
 * start on multiples of MLP_TILE, so tiles sit at the same points whatever
 * the thread count and every point's results are bitwise independent of it
 * (vectorised and scalar remainder code would otherwise round differently). */
static inline void mlp_part_range(int n, int n_parts, int c, int *begin, int *end)
{
    const long long n_tiles = (n + MLP_TILE - 1) / MLP_TILE;
    long long b = MLP_TILE * (n_tiles * c / n_parts);
    long long e = MLP_TILE * (n_tiles * (c + 1) / n_parts);
    *begin = (int)(b < n ? b : n);
    *end = (int)(e < n ? e : n);
}

#endif
