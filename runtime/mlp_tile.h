/* mlp_tile.h - MLP jets and their reverse sweep one tile of points at a
 * time, for the training loss. Not a public header.
 *
 * physrt_mlp_forward / _backward keep every stream of every layer for all
 * points between the two calls. The loss does not need that: a point's
 * residual depends on that point's streams only, so it can take a tile of
 * points through the forward jets, the residual and its VJP, and the
 * reverse sweep before touching the next tile. A tile's whole state (a few
 * hundred KB at most) then stays in the core's cache and the memory of a
 * training run no longer grows with the number of points.
 *
 * A tile net is immutable (shapes, plan, workspace layout) and shared by
 * the threads; each thread passes its own workspace (mlp_tile_ws_reals
 * numbers, 64-byte aligned). A tile always computes MLP_TT points: the
 * caller's np <= MLP_TT real points are padded with zero inputs, and the
 * padding's output adjoints must be zero (the adjoint block is cleared by
 * mlp_tile_forward), so it adds nothing to the gradient. */
#ifndef PHYSRT_MLP_TILE_H
#define PHYSRT_MLP_TILE_H

#include "mlp_internal.h"

/* Points per tile: 4 vectors of 16 floats (8 of 8 doubles) per row. */
#define MLP_TT 64

/* Workspace layout of one tile, in REALs from the workspace start. Every
 * row holds MLP_TT points:
 *   xt [n_inputs][TT]           inputs, transposed and zero-padded
 *   coef [S][w_0]               first-layer stream coefficients
 *   z[l] [S][w_l][TT]           pre-activation streams (layer 0: value only)
 *   a[l] [S][w_l][TT]           activation streams; a[L-1] is the output
 *   d[l] [n_orders][w_l][TT]    s^(k)(z), k = 1..n_orders
 *   abar, prev, zbar [S][max_width][TT]  adjoints of the reverse sweep;
 *                               abar first holds the output adjoints */
/* The reverse sweep through a layer's Faa di Bruno terms, gathered by the
 * adjoint they feed: zbar^sigma is the sum over its entries of
 * coeff * abar^s * s^(d)(z^0) * prod_m z^{z[m]}, so each zbar row is summed
 * in registers and stored once. rev_begin[sigma] .. rev_begin[sigma + 1]
 * index the entries of stream sigma. */
typedef struct {
    int s;                        /* stream of the output adjoint abar^s */
    int coeff;
    int d;                        /* derivative order of the activation */
    int n_z;
    int z[PHYSRT_MAX_ORDER];      /* streams of the z factors */
} mlp_rev_entry;

#define MLP_TILE_NET_STRUCT(NAME)                                             \
    struct NAME {                                                             \
        mlp_geometry geo;                                                     \
        physrt_jet_plan *plan;                                                \
        int n_streams;                                                        \
        int n_orders;                                                         \
        int *rev_begin;                                                       \
        mlp_rev_entry *rev;                                                   \
        size_t off_xt, off_coef, off_abar, off_prev, off_zbar;                \
        size_t *off_z, *off_a, *off_d;                                        \
        size_t ws_reals;                                                      \
    }

typedef struct mlp_tile_net_f32 mlp_tile_net_f32;
typedef struct mlp_tile_net_f64 mlp_tile_net_f64;
MLP_TILE_NET_STRUCT(mlp_tile_net_f32);
MLP_TILE_NET_STRUCT(mlp_tile_net_f64);

/* NULL on invalid arguments or out of memory. Copies desc and plan. */
mlp_tile_net_f32 *mlp_tile_net_create_f32(const physrt_mlp_desc *desc,
                                          const physrt_jet_plan *plan);
mlp_tile_net_f64 *mlp_tile_net_create_f64(const physrt_mlp_desc *desc,
                                          const physrt_jet_plan *plan);
void mlp_tile_net_destroy_f32(mlp_tile_net_f32 *net);
void mlp_tile_net_destroy_f64(mlp_tile_net_f64 *net);

/* A zeroed, 64-byte aligned workspace for one thread (free() it). */
float *mlp_tile_ws_alloc_f32(const mlp_tile_net_f32 *net);
double *mlp_tile_ws_alloc_f64(const mlp_tile_net_f64 *net);

/* Output streams [S][n_outputs][MLP_TT] (plan order), valid after a forward,
 * and the block the caller fills with d loss / d outputs before a backward. */
static inline float *mlp_tile_out_f32(const mlp_tile_net_f32 *net, float *ws)
{
    return ws + net->off_a[net->geo.n_layers - 1];
}
static inline double *mlp_tile_out_f64(const mlp_tile_net_f64 *net, double *ws)
{
    return ws + net->off_a[net->geo.n_layers - 1];
}
static inline float *mlp_tile_out_adjoint_f32(const mlp_tile_net_f32 *net, float *ws)
{
    return ws + net->off_abar;
}
static inline double *mlp_tile_out_adjoint_f64(const mlp_tile_net_f64 *net, double *ws)
{
    return ws + net->off_abar;
}

/* Forward jets of np (1..MLP_TT) points x (np x n_inputs, row-major); clears
 * the output-adjoint block. */
void mlp_tile_forward_f32(const mlp_tile_net_f32 *net, const float *params, float *ws,
                          int np, const float *x);
void mlp_tile_forward_f64(const mlp_tile_net_f64 *net, const double *params, double *ws,
                          int np, const double *x);

/* Reverse sweep of the last forward in ws: d loss / d params is ADDED to grad. */
void mlp_tile_backward_f32(const mlp_tile_net_f32 *net, const float *params, float *ws,
                           float *grad);
void mlp_tile_backward_f64(const mlp_tile_net_f64 *net, const double *params, double *ws,
                           double *grad);

#endif
