/* mlp_net.c - MLP network descriptors: validation, parameter layout and
 * Glorot-normal initialisation. */
#include "mlp_internal.h"

#include <math.h>
#include <stdlib.h>

int physrt_mlp_validate(const physrt_mlp_desc *desc)
{
    if (!desc) return PHYSRT_EINVAL;
    if (desc->n_inputs < 1 || desc->n_inputs > PHYSRT_MAX_NET_INPUTS) return PHYSRT_EINVAL;
    if (desc->n_outputs < 1 || desc->n_hidden < 0) return PHYSRT_EINVAL;
    if (desc->n_hidden > 0 && !desc->hidden_widths) return PHYSRT_EINVAL;
    for (int l = 0; l < desc->n_hidden; l++)
        if (desc->hidden_widths[l] < 1) return PHYSRT_EINVAL;
    if ((unsigned)desc->hidden_activation >= PHYSRT_ACT_COUNT ||
        (unsigned)desc->output_activation >= PHYSRT_ACT_COUNT)
        return PHYSRT_EINVAL;
    return PHYSRT_OK;
}

static int layer_width(const physrt_mlp_desc *desc, int boundary)
{
    /* boundary 0 = inputs, 1..n_hidden = hidden layers, n_hidden+1 = outputs */
    if (boundary == 0) return desc->n_inputs;
    if (boundary <= desc->n_hidden) return desc->hidden_widths[boundary - 1];
    return desc->n_outputs;
}

int physrt_mlp_layer_info(const physrt_mlp_desc *desc, int layer, size_t *w_offset,
                          size_t *b_offset, int *n_in, int *n_out)
{
    if (physrt_mlp_validate(desc) != PHYSRT_OK || layer < 0 || layer > desc->n_hidden)
        return PHYSRT_EINVAL;
    size_t off = 0;
    for (int l = 0; l < layer; l++) {
        size_t in = (size_t)layer_width(desc, l), out = (size_t)layer_width(desc, l + 1);
        off += out * in + out;
    }
    int in = layer_width(desc, layer), out = layer_width(desc, layer + 1);
    if (w_offset) *w_offset = off;
    if (b_offset) *b_offset = off + (size_t)out * (size_t)in;
    if (n_in) *n_in = in;
    if (n_out) *n_out = out;
    return PHYSRT_OK;
}

size_t physrt_mlp_n_params(const physrt_mlp_desc *desc)
{
    size_t b_off;
    int out;
    if (physrt_mlp_layer_info(desc, desc ? desc->n_hidden : 0, NULL, &b_off, NULL, &out) != PHYSRT_OK)
        return 0;
    return b_off + (size_t)out;
}

int mlp_geometry_init(mlp_geometry *geo, const physrt_mlp_desc *desc)
{
    if (physrt_mlp_validate(desc) != PHYSRT_OK) return PHYSRT_EINVAL;
    int L = desc->n_hidden + 1;
    geo->n_layers = L;
    geo->n_inputs = desc->n_inputs;
    geo->n_outputs = desc->n_outputs;
    geo->n_in = malloc((size_t)L * sizeof *geo->n_in);
    geo->n_out = malloc((size_t)L * sizeof *geo->n_out);
    geo->act = malloc((size_t)L * sizeof *geo->act);
    geo->w_off = malloc((size_t)L * sizeof *geo->w_off);
    geo->b_off = malloc((size_t)L * sizeof *geo->b_off);
    if (!geo->n_in || !geo->n_out || !geo->act || !geo->w_off || !geo->b_off) {
        mlp_geometry_free(geo);
        return PHYSRT_ENOMEM;
    }
    geo->max_width = desc->n_inputs;
    for (int l = 0; l < L; l++) {
        physrt_mlp_layer_info(desc, l, &geo->w_off[l], &geo->b_off[l], &geo->n_in[l],
                              &geo->n_out[l]);
        geo->act[l] = (l == L - 1) ? desc->output_activation : desc->hidden_activation;
        if (geo->n_out[l] > geo->max_width) geo->max_width = geo->n_out[l];
    }
    geo->n_params = physrt_mlp_n_params(desc);
    return PHYSRT_OK;
}

void mlp_geometry_free(mlp_geometry *geo)
{
    free(geo->n_in);
    free(geo->n_out);
    free(geo->act);
    free(geo->w_off);
    free(geo->b_off);
    geo->n_in = geo->n_out = NULL;
    geo->act = NULL;
    geo->w_off = geo->b_off = NULL;
}

/* One stream of doubles drives both precisions so that the f32 parameters
 * are exactly the f64 parameters rounded. */
#define DEFINE_INIT(REAL, SUFFIX)                                              \
    int physrt_mlp_init_##SUFFIX(const physrt_mlp_desc *desc, uint64_t seed,  \
                                 REAL *params)                                 \
    {                                                                          \
        if (physrt_mlp_validate(desc) != PHYSRT_OK || !params)                 \
            return PHYSRT_EINVAL;                                              \
        physrt_rng rng;                                                        \
        physrt_rng_seed(&rng, seed);                                           \
        for (int l = 0; l <= desc->n_hidden; l++) {                            \
            size_t w_off, b_off;                                               \
            int in, out;                                                       \
            physrt_mlp_layer_info(desc, l, &w_off, &b_off, &in, &out);         \
            double std_dev = sqrt(2.0 / (double)(in + out));                   \
            for (size_t q = 0; q < (size_t)in * (size_t)out; q++)              \
                params[w_off + q] = (REAL)(std_dev * physrt_rng_normal(&rng)); \
            for (int j = 0; j < out; j++) params[b_off + (size_t)j] = 0;       \
        }                                                                      \
        return PHYSRT_OK;                                                      \
    }

DEFINE_INIT(double, f64)
DEFINE_INIT(float, f32)
