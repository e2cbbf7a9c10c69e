/* loss.c - assembling the physics-informed loss of a model over its terms
 * (sampled or data points, network probes with derivative streams,
 * residuals, their VJP and the networks' reverse sweeps, tile by tile on
 * every thread), in float64 and float32 from one template (loss_tmpl.h).
 * All workspace is allocated when the loss is created; evaluating it never
 * allocates. */
#include "mlp_tile.h"
#include "model_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define T double
#define SUF f64
#include "loss_tmpl.h"
#undef T
#undef SUF

#define T float
#define SUF f32
#include "loss_tmpl.h"
#undef T
#undef SUF
