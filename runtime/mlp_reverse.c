/* mlp_reverse.c - reverse sweep of MLP jets: d loss / d params. */
#include "mlp_internal.h"

#include <string.h>

#define REAL float
#define SFX(name) name##_f32
#define EVAL physrt_mlp_eval_f32
#include "mlp_first_coef_tmpl.h"
#include "mlp_blocks_tmpl.h"
#include "mlp_reverse_tmpl.h"
#undef REAL
#undef SFX
#undef EVAL
#undef MLP_VEC

#define REAL double
#define SFX(name) name##_f64
#define EVAL physrt_mlp_eval_f64
#include "mlp_first_coef_tmpl.h"
#include "mlp_blocks_tmpl.h"
#include "mlp_reverse_tmpl.h"
