/* activation_tmpl.h - activation values and derivatives, written once for
 * both precisions. Included by activation.c with REAL, SFX(name) and the
 * math functions M_TANH, M_EXP, M_ERFC, M_SIN, M_COS, M_LOG1P, M_FABS
 * defined for the precision. Not a public header.
 *
 * Every derivative is a closed form. tanh and sigmoid derivatives are
 * polynomials of the function value; sigmoid uses u = s(1-s) with 1-s
 * computed as s(-z) so that tails keep their relative precision. */

/* Sigmoid and its complement, each accurate in its own tail. */
static void SFX(sigmoid_pair)(REAL z, REAL *s, REAL *c)
{
    if (z >= 0) {
        REAL e = M_EXP(-z);
        *s = 1 / (1 + e);
        *c = e / (1 + e);
    } else {
        REAL e = M_EXP(z);
        *s = e / (1 + e);
        *c = 1 / (1 + e);
    }
}

/* out[k] = sigma^(k)(z), k = 0..max_order (<= 5). */
static void SFX(sigmoid_derivs)(REAL z, int max_order, REAL *out)
{
    REAL s, c;
    SFX(sigmoid_pair)(z, &s, &c);
    REAL u = s * c;           /* sigma' */
    REAL d = c - s;           /* 1 - 2 sigma */
    out[0] = s;
    if (max_order >= 1) out[1] = u;
    if (max_order >= 2) out[2] = d * u;
    if (max_order >= 3) out[3] = (1 - 6 * u) * u;
    if (max_order >= 4) out[4] = d * (1 - 12 * u) * u;
    if (max_order >= 5) out[5] = (1 - 30 * u + 120 * u * u) * u;
}

/* Derivatives of tanh from t = tanh(z): all are (1 - t^2) times a polynomial. */
static void SFX(tanh_derivs_from_value)(REAL t, int max_order, REAL *out)
{
    REAL q = 1 - t * t;
    REAL t2 = t * t;
    out[0] = t;
    if (max_order >= 1) out[1] = q;
    if (max_order >= 2) out[2] = -2 * t * q;
    if (max_order >= 3) out[3] = (6 * t2 - 2) * q;
    if (max_order >= 4) out[4] = (16 - 24 * t2) * t * q;
    if (max_order >= 5) out[5] = (16 - 120 * t2 + 120 * t2 * t2) * q;
}

static void SFX(activation_derivs_impl)(physrt_activation act, REAL z, int max_order,
                                         REAL *out)
{
    REAL tmp[PHYSRT_ACT_MAX_ORDER + 1];
    switch (act) {
    case PHYSRT_ACT_IDENTITY:
        out[0] = z;
        for (int k = 1; k <= max_order; k++) out[k] = (k == 1) ? 1 : 0;
        break;
    case PHYSRT_ACT_TANH:
        SFX(tanh_derivs_from_value)(M_TANH(z), max_order, out);
        break;
    case PHYSRT_ACT_SIGMOID:
        SFX(sigmoid_derivs)(z, max_order, out);
        break;
    case PHYSRT_ACT_SOFTPLUS:
        /* log(1+e^z) = max(z,0) + log1p(e^-|z|); then s^(k) = sigma^(k-1). */
        out[0] = (z > 0 ? z : 0) + M_LOG1P(M_EXP(-M_FABS(z)));
        if (max_order >= 1) {
            SFX(sigmoid_derivs)(z, max_order - 1, tmp);
            for (int k = 1; k <= max_order; k++) out[k] = tmp[k - 1];
        }
        break;
    case PHYSRT_ACT_GELU: {
        /* z Phi(z); Phi via erfc so the negative tail keeps precision. */
        REAL phi = (REAL)0.39894228040143267794 * M_EXP(-z * z / 2);
        REAL cdf = (REAL)0.5 * M_ERFC(-z * (REAL)0.70710678118654752440);
        REAL z2 = z * z;
        out[0] = z * cdf;
        if (max_order >= 1) out[1] = cdf + z * phi;
        if (max_order >= 2) out[2] = (2 - z2) * phi;
        if (max_order >= 3) out[3] = (z2 - 4) * z * phi;
        if (max_order >= 4) out[4] = (-z2 * z2 + 7 * z2 - 4) * phi;
        if (max_order >= 5) out[5] = (z2 * z2 - 11 * z2 + 18) * z * phi;
        break;
    }
    case PHYSRT_ACT_SILU:
        /* (z sigma)^(k) = k sigma^(k-1) + z sigma^(k) (Leibniz). */
        SFX(sigmoid_derivs)(z, max_order, tmp);
        out[0] = z * tmp[0];
        for (int k = 1; k <= max_order; k++) out[k] = k * tmp[k - 1] + z * tmp[k];
        break;
    case PHYSRT_ACT_SIN: {
        REAL s = M_SIN(z), c = M_COS(z);
        REAL cycle[4] = {s, c, -s, -c};
        for (int k = 0; k <= max_order; k++) out[k] = cycle[k & 3];
        break;
    }
    case PHYSRT_ACT_RELU:
        out[0] = z > 0 ? z : 0;
        for (int k = 1; k <= max_order; k++) out[k] = (k == 1 && z > 0) ? 1 : 0;
        break;
    case PHYSRT_ACT_GAUSSIAN: {
        /* g^(k) = (-1)^k He_k(z) g, He the probabilists' Hermite polynomials */
        REAL g = M_EXP(-z * z / 2), z2 = z * z;
        out[0] = g;
        if (max_order >= 1) out[1] = -z * g;
        if (max_order >= 2) out[2] = (z2 - 1) * g;
        if (max_order >= 3) out[3] = -(z2 - 3) * z * g;
        if (max_order >= 4) out[4] = (z2 * z2 - 6 * z2 + 3) * g;
        if (max_order >= 5) out[5] = -(z2 * z2 - 10 * z2 + 15) * z * g;
        break;
    }
    case PHYSRT_ACT_COS: {
        REAL s = M_SIN(z), c = M_COS(z);
        REAL cycle[4] = {c, -s, -c, s};
        for (int k = 0; k <= max_order; k++) out[k] = cycle[k & 3];
        break;
    }
    default:
        for (int k = 0; k <= max_order; k++) out[k] = 0;
        break;
    }
}

int SFX(physrt_activation_derivs)(physrt_activation act, REAL z, int max_order, REAL *out)
{
    if ((unsigned)act >= PHYSRT_ACT_COUNT || max_order < 0 ||
        max_order > PHYSRT_ACT_MAX_ORDER || !out)
        return PHYSRT_EINVAL;
    SFX(activation_derivs_impl)(act, z, max_order, out);
    return PHYSRT_OK;
}

ACT_BATCH_KERNEL
int SFX(physrt_activation_eval)(physrt_activation act, int max_order, int n,
                                 const REAL *z, REAL *const *out)
{
    if ((unsigned)act >= PHYSRT_ACT_COUNT || max_order < 0 ||
        max_order > PHYSRT_ACT_MAX_ORDER || n < 0 || (n > 0 && (!z || !out)))
        return PHYSRT_EINVAL;
    if (act == PHYSRT_ACT_TANH) {
        /* Hot path: one tanh per point, then branch-free polynomials that
         * the compiler vectorises. */
        REAL *restrict t = out[0];
        for (int p = 0; p < n; p++) t[p] = M_TANH(z[p]);
        if (max_order >= 1) {
            REAL *restrict d1 = out[1];
            for (int p = 0; p < n; p++) d1[p] = 1 - t[p] * t[p];
        }
        if (max_order >= 2) {
            REAL *restrict d2 = out[2];
            const REAL *restrict d1 = out[1];
            for (int p = 0; p < n; p++) d2[p] = -2 * t[p] * d1[p];
        }
        if (max_order >= 3) {
            REAL *restrict d3 = out[3];
            const REAL *restrict d1 = out[1];
            for (int p = 0; p < n; p++) d3[p] = (6 * t[p] * t[p] - 2) * d1[p];
        }
        if (max_order >= 4) {
            REAL *restrict d4 = out[4];
            const REAL *restrict d1 = out[1];
            for (int p = 0; p < n; p++)
                d4[p] = (16 - 24 * t[p] * t[p]) * t[p] * d1[p];
        }
        if (max_order >= 5) {
            REAL *restrict d5 = out[5];
            const REAL *restrict d1 = out[1];
            for (int p = 0; p < n; p++) {
                REAL t2 = t[p] * t[p];
                d5[p] = (16 - 120 * t2 + 120 * t2 * t2) * d1[p];
            }
        }
        return PHYSRT_OK;
    }
    if (act == PHYSRT_ACT_IDENTITY) {
        for (int p = 0; p < n; p++) out[0][p] = z[p];
        for (int k = 1; k <= max_order; k++)
            for (int p = 0; p < n; p++) out[k][p] = (k == 1) ? 1 : 0;
        return PHYSRT_OK;
    }
    REAL d[PHYSRT_ACT_MAX_ORDER + 1];
    for (int p = 0; p < n; p++) {
        SFX(activation_derivs_impl)(act, z[p], max_order, d);
        for (int k = 0; k <= max_order; k++) out[k][p] = d[k];
    }
    return PHYSRT_OK;
}
