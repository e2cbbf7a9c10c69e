/* field_derivs.c - input gradients and Hessians of scalar MLP fields. */
#include "mlp_internal.h"

#include <string.h>

#define REAL float
#define SFX(name) name##_f32
#define EVAL physrt_mlp_eval_f32
#include "field_derivs_tmpl.h"
#undef REAL
#undef SFX
#undef EVAL

#define REAL double
#define SFX(name) name##_f64
#define EVAL physrt_mlp_eval_f64
#include "field_derivs_tmpl.h"
