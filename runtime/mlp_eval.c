/* mlp_eval.c - MLP evaluation objects (workspace owners), both precisions. */
#include "mlp_internal.h"

#include <stdlib.h>
#include <string.h>

#define REAL float
#define SFX(name) name##_f32
#define EVAL physrt_mlp_eval_f32
#include "mlp_eval_tmpl.h"
#undef REAL
#undef SFX
#undef EVAL

#define REAL double
#define SFX(name) name##_f64
#define EVAL physrt_mlp_eval_f64
#include "mlp_eval_tmpl.h"
