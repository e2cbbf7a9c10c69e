/* mlp_tile.c - tile nets (mlp_tile.h): creation, workspace layout, the
 * lane reductions of the kernels, and the kernels for both precisions. */
#include "mlp_tile.h"

#include <stdlib.h>
#include <string.h>

/* Constant lane shuffles of two vectors (GCC and clang spell them apart). */
#if defined(__clang__)
#define MLP_SHUFFLE(MASK, a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define MLP_SHUFFLE(MASK, a, b, ...) __builtin_shuffle(a, b, (MASK){__VA_ARGS__})
#endif

typedef float vec_f32 __attribute__((vector_size(64)));
typedef double vec_f64 __attribute__((vector_size(64)));
typedef int32_t mask_f32 __attribute__((vector_size(64)));
typedef int64_t mask_f64 __attribute__((vector_size(64)));

/* Lane sums in a fixed order: halves, then quarters, ... */
MLP_INLINE float hsum1_f32(const vec_f32 *a)
{
    float s[16];
    memcpy(s, a, sizeof s);
    for (int h = 8; h >= 1; h /= 2)
        for (int i = 0; i < h; i++) s[i] += s[i + h];
    return s[0];
}

MLP_INLINE double hsum1_f64(const vec_f64 *a)
{
    double s[8];
    memcpy(s, a, sizeof s);
    for (int h = 4; h >= 1; h /= 2)
        for (int i = 0; i < h; i++) s[i] += s[i + h];
    return s[0];
}

/* Pairwise butterflies: each level halves the number of vectors and the
 * lanes each partial sum covers (vectors pass through pointers: these are
 * always inlined, and vectors by value would draw ABI warnings in the
 * non-AVX-512 clones). After all levels, lane L of the one remaining
 * vector holds the sum of input bit-reverse(L); taking the inputs in
 * bit-reversed order puts the sum of acc[q] in lane q, so the sums leave
 * in one vector store. */
MLP_INLINE void fold8_f32(vec_f32 *out, const vec_f32 *a, const vec_f32 *b)
{
    *out = MLP_SHUFFLE(mask_f32, *a, *b, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23) +
           MLP_SHUFFLE(mask_f32, *a, *b, 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
}
MLP_INLINE void fold4_f32(vec_f32 *out, const vec_f32 *a, const vec_f32 *b)
{
    *out = MLP_SHUFFLE(mask_f32, *a, *b, 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27) +
           MLP_SHUFFLE(mask_f32, *a, *b, 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
}
MLP_INLINE void fold2_f32(vec_f32 *out, const vec_f32 *a, const vec_f32 *b)
{
    *out = MLP_SHUFFLE(mask_f32, *a, *b, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29) +
           MLP_SHUFFLE(mask_f32, *a, *b, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
}
MLP_INLINE void fold1_f32(vec_f32 *out, const vec_f32 *a, const vec_f32 *b)
{
    *out = MLP_SHUFFLE(mask_f32, *a, *b, 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30) +
           MLP_SHUFFLE(mask_f32, *a, *b, 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
}

static const unsigned char bitrev4[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
static const unsigned char bitrev3[8] = {0, 4, 2, 6, 1, 5, 3, 7};

MLP_INLINE void hsum16_f32(const vec_f32 *acc, float *sums)
{
    vec_f32 l8[8], l4[4], l2[2];
    for (int i = 0; i < 8; i++) fold8_f32(&l8[i], &acc[bitrev4[2 * i]], &acc[bitrev4[2 * i + 1]]);
    for (int i = 0; i < 4; i++) fold4_f32(&l4[i], &l8[2 * i], &l8[2 * i + 1]);
    for (int i = 0; i < 2; i++) fold2_f32(&l2[i], &l4[2 * i], &l4[2 * i + 1]);
    vec_f32 all;
    fold1_f32(&all, &l2[0], &l2[1]);
    memcpy(sums, &all, sizeof all);
}

MLP_INLINE void fold4_f64(vec_f64 *out, const vec_f64 *a, const vec_f64 *b)
{
    *out = MLP_SHUFFLE(mask_f64, *a, *b, 0, 1, 2, 3, 8, 9, 10, 11) +
           MLP_SHUFFLE(mask_f64, *a, *b, 4, 5, 6, 7, 12, 13, 14, 15);
}
MLP_INLINE void fold2_f64(vec_f64 *out, const vec_f64 *a, const vec_f64 *b)
{
    *out = MLP_SHUFFLE(mask_f64, *a, *b, 0, 1, 8, 9, 4, 5, 12, 13) +
           MLP_SHUFFLE(mask_f64, *a, *b, 2, 3, 10, 11, 6, 7, 14, 15);
}
MLP_INLINE void fold1_f64(vec_f64 *out, const vec_f64 *a, const vec_f64 *b)
{
    *out = MLP_SHUFFLE(mask_f64, *a, *b, 0, 8, 2, 10, 4, 12, 6, 14) +
           MLP_SHUFFLE(mask_f64, *a, *b, 1, 9, 3, 11, 5, 13, 7, 15);
}

MLP_INLINE void hsum16_f64(const vec_f64 *acc, double *sums)
{
    for (int half = 0; half < 2; half++) {
        const vec_f64 *a = acc + 8 * half;
        vec_f64 l4[4], l2[2];
        for (int i = 0; i < 4; i++) fold4_f64(&l4[i], &a[bitrev3[2 * i]], &a[bitrev3[2 * i + 1]]);
        for (int i = 0; i < 2; i++) fold2_f64(&l2[i], &l4[2 * i], &l4[2 * i + 1]);
        vec_f64 all;
        fold1_f64(&all, &l2[0], &l2[1]);
        memcpy(sums + 8 * half, &all, sizeof all);
    }
}

/* Workspace layout (mlp_tile.h), the same for both precisions. */
static int tile_layout(mlp_geometry *geo, int n_streams, int n_orders, size_t **off_z,
                       size_t **off_a, size_t **off_d, size_t offs[5], size_t *total)
{
    const int L = geo->n_layers;
    const size_t T = MLP_TT, S = (size_t)n_streams;
    *off_z = calloc((size_t)L, sizeof **off_z);
    *off_a = calloc((size_t)L, sizeof **off_a);
    *off_d = calloc((size_t)L, sizeof **off_d);
    if (!*off_z || !*off_a || !*off_d) return -1;
    size_t at = 0;
    offs[0] = at;                                       /* xt */
    at += (size_t)geo->n_inputs * T;
    offs[1] = at;                                       /* coef, rounded to rows */
    at += (S * (size_t)geo->n_out[0] + T - 1) / T * T;
    for (int l = 0; l < L; l++) {
        const size_t w = (size_t)geo->n_out[l];
        (*off_z)[l] = at;
        at += (l == 0 ? 1 : S) * w * T;
        (*off_a)[l] = at;
        at += S * w * T;
        (*off_d)[l] = at;
        at += (size_t)n_orders * w * T;
    }
    const size_t slab = S * (size_t)geo->max_width * T;
    for (int k = 2; k < 5; k++) {                       /* abar, prev, zbar */
        offs[k] = at;
        at += slab;
    }
    *total = at;
    return 0;
}

/* The entries of mlp_rev_entry for a plan: for a term
 * a^s += c s^(k)(z^0) prod_j z^{b_j}, zbar^0 gets c abar^s s^(k+1) prod_j z^{b_j}
 * and zbar^{b_m} gets c abar^s s^(k) prod_{j != m} z^{b_j} for each m. */
static int rev_entries(const physrt_jet_plan *plan, int **begin_out, mlp_rev_entry **rev_out)
{
    const int S = plan->n_streams;
    const int n_terms = plan->term_begin[S];
    int *begin = calloc((size_t)S + 1, sizeof *begin);
    /* the base entry abar^0 s'(z) plus, per term, one entry for zbar^0 and
     * at most PHYSRT_MAX_ORDER for the blocks */
    mlp_rev_entry *rev = calloc(1 + (size_t)n_terms * (1 + PHYSRT_MAX_ORDER), sizeof *rev);
    if (!begin || !rev) {
        free(begin);
        free(rev);
        return -1;
    }
    int n = 0;
    for (int sigma = 0; sigma < S; sigma++) {
        begin[sigma] = n;
        if (sigma == 0) rev[n++] = (mlp_rev_entry){.s = 0, .coeff = 1, .d = 1};
        for (int s = 1; s < S; s++)
            for (int q = plan->term_begin[s]; q < plan->term_begin[s + 1]; q++) {
                const jet_term *tm = &plan->terms[q];
                if (sigma == 0) {
                    mlp_rev_entry e = {.s = s, .coeff = tm->coeff, .d = tm->k + 1, .n_z = tm->k};
                    for (int m = 0; m < tm->k; m++) e.z[m] = tm->block[m];
                    rev[n++] = e;
                    continue;
                }
                for (int m = 0; m < tm->k; m++) {
                    if (tm->block[m] != sigma) continue;
                    mlp_rev_entry e = {.s = s, .coeff = tm->coeff, .d = tm->k};
                    for (int m2 = 0; m2 < tm->k; m2++)
                        if (m2 != m) e.z[e.n_z++] = tm->block[m2];
                    rev[n++] = e;
                }
            }
    }
    begin[S] = n;
    *begin_out = begin;
    *rev_out = rev;
    return 0;
}

#define REAL float
#define SFX(name) name##_f32
#define NET mlp_tile_net_f32
#define VEC vec_f32
#define VL 16
#include "mlp_first_coef_tmpl.h"
#include "mlp_tile_net_tmpl.h"
#include "mlp_tile_kernels_tmpl.h"
#include "mlp_tile_tmpl.h"
#undef REAL
#undef SFX
#undef NET
#undef VEC
#undef VL
#undef NV

#define REAL double
#define SFX(name) name##_f64
#define NET mlp_tile_net_f64
#define VEC vec_f64
#define VL 8
#include "mlp_first_coef_tmpl.h"
#include "mlp_tile_net_tmpl.h"
#include "mlp_tile_kernels_tmpl.h"
#include "mlp_tile_tmpl.h"
