/* activation.c - activation functions and their derivatives up to order 5
 * (analytic closed forms), scalar and batch, float32 and float64. */
#include "physrt.h"

#include <math.h>
#include <string.h>

/* The batch kernel is compiled for several x86-64 levels and picked at load
 * time. glibc (>= 2.35) ships vector variants of tanh in libmvec; declaring
 * them, as <math.h> itself does under -ffast-math, lets the tanh loop of the
 * batch kernel vectorise (tanh never sets errno, so const is truthful). */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__)
#define ACT_BATCH_KERNEL \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35)) && \
    !defined(__FAST_MATH__)
__attribute__((simd("notinbranch"), const, nothrow)) double tanh(double);
__attribute__((simd("notinbranch"), const, nothrow)) float tanhf(float);
#endif
#else
#define ACT_BATCH_KERNEL
#endif

static const char *const activation_names[PHYSRT_ACT_COUNT] = {
    "identity", "tanh", "sigmoid", "softplus", "gelu", "silu", "sin", "relu", "gaussian", "cos"
};

const char *physrt_activation_name(physrt_activation act)
{
    return (unsigned)act < PHYSRT_ACT_COUNT ? activation_names[act] : NULL;
}

int physrt_activation_parse(const char *name, physrt_activation *out)
{
    if (!name || !out) return PHYSRT_EINVAL;
    for (int a = 0; a < PHYSRT_ACT_COUNT; a++) {
        if (strcmp(name, activation_names[a]) == 0) {
            *out = (physrt_activation)a;
            return PHYSRT_OK;
        }
    }
    return PHYSRT_EINVAL;
}

#define REAL double
#define SFX(name) name##_f64
#define M_TANH tanh
#define M_EXP exp
#define M_ERFC erfc
#define M_SIN sin
#define M_COS cos
#define M_LOG1P log1p
#define M_FABS fabs
#include "activation_tmpl.h"
#undef REAL
#undef SFX
#undef M_TANH
#undef M_EXP
#undef M_ERFC
#undef M_SIN
#undef M_COS
#undef M_LOG1P
#undef M_FABS

#define REAL float
#define SFX(name) name##_f32
#define M_TANH tanhf
#define M_EXP expf
#define M_ERFC erfcf
#define M_SIN sinf
#define M_COS cosf
#define M_LOG1P log1pf
#define M_FABS fabsf
#include "activation_tmpl.h"
