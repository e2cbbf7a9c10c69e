/* system_hessian.c - the hessian verb: the analytic Hessian of a particle
 * system's potential energy at one configuration (a column per coordinate,
 * from Hessian-vector products), its normal modes and vibrational
 * frequencies (mass-weighted, cm^-1, imaginary ones marked) and the
 * zero-point energy. Units: eV, Angstrom, amu (metal), as ASE. */
#include "model_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* sqrt(eV / (A^2 amu)) in cm^-1: sqrt(e / (1e-20 u)) / (2 pi c). */
static const double CM1_PER_SQRT_EV_A2_AMU = 521.47091;
/* h c in eV cm. */
static const double HC_EV_CM = 1.239841984e-4;

/* Eigenvalues of the symmetric n x n matrix a (destroyed), cyclic Jacobi. */
static void jacobi_eigenvalues(double *a, int n, double *w)
{
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, diag = 0;
        for (int p = 0; p < n; p++)
            for (int q = 0; q < n; q++) {
                if (p == q) diag += a[p * n + q] * a[p * n + q];
                else off += a[p * n + q] * a[p * n + q];
            }
        if (off <= 1e-30 * diag || off == 0) break;
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++) {
                const double apq = a[p * n + q];
                if (apq == 0) continue;
                const double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                const double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
                const double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < n; k++) { /* columns p, q */
                    const double akp = a[k * n + p], akq = a[k * n + q];
                    a[k * n + p] = c * akp - s * akq, a[k * n + q] = s * akp + c * akq;
                }
                for (int k = 0; k < n; k++) { /* rows p, q */
                    const double apk = a[p * n + k], aqk = a[q * n + k];
                    a[p * n + k] = c * apk - s * aqk, a[q * n + k] = s * apk + c * aqk;
                }
            }
    }
    for (int p = 0; p < n; p++) w[p] = a[p * n + p];
}

static int compare_doubles(const void *x, const void *y)
{
    const double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int physm_system_hessian(const physm_layout *lay, const physm_simulate_options *o, const char *file,
                         const char *matrix_out)
{
    const physm_system *s = lay->model->system;
    const char *prog = lay->prog;
    int status = PHYSM_EXIT_RUNTIME;
    physm_xyz_frame *xyz = NULL;
    int n_frames = 0;
    physm_config cfg = {0};
    physm_system_eval *ev = NULL;
    double *theta = calloc(lay->n_theta + 1, sizeof *theta), *H = NULL, *D = NULL, *u = NULL, *hu = NULL, *w = NULL;
    if (!theta || physm_simulate_load_theta(lay, o, theta)) goto done;
    if (physm_frames_read_xyz(file, file, &xyz, &n_frames)) goto done;
    if (n_frames < 1) {
        fprintf(stderr, "%s: error: hessian: %s holds no frame\n", prog, file);
        goto done;
    }
    if (physm_config_from_xyz(lay, file, &xyz[0], &cfg)) goto done;
    const long n = cfg.count[0];
    const int dim = s->dim, N = (int)(n * dim);
    if (N < 1 || N > 3000) {
        fprintf(stderr, "%s: error: hessian: %ld particles; the dense Hessian is for 1 to %d\n", prog, n, 3000 / dim);
        goto done;
    }
    H = calloc((size_t)N * N, sizeof *H), D = calloc((size_t)N * N, sizeof *D);
    u = calloc((size_t)N, sizeof *u), hu = calloc((size_t)N, sizeof *hu), w = calloc((size_t)N, sizeof *w);
    ev = physm_system_eval_create(lay, cfg.count, NULL);
    if (!H || !D || !u || !hu || !w || !ev) goto done;
    double *out[8] = {hu}, e;
    if (physm_system_eval_run(ev, theta, &cfg, &e, out)) { /* the seeds the columns share */
        fprintf(stderr, "%s: error: hessian: %s\n", prog, physm_system_eval_error(ev));
        goto done;
    }
    for (int k = 0; k < N; k++) { /* column k: -dF/du for u = e_k */
        memset(u, 0, sizeof(double) * (size_t)N);
        u[k] = 1;
        if (physm_system_eval_hvp(ev, theta, &cfg, u, out)) {
            fprintf(stderr, "%s: error: hessian: %s\n", prog, physm_system_eval_error(ev));
            goto done;
        }
        for (int q = 0; q < N; q++) H[q * N + k] = -hu[q];
    }
    double hmax = 0, asym = 0;
    for (int p = 0; p < N; p++)
        for (int q = 0; q < N; q++) {
            hmax = fmax(hmax, fabs(H[p * N + q]));
            asym = fmax(asym, fabs(H[p * N + q] - H[q * N + p]));
        }
    /* masses: the mass attribute, or the system's one mass */
    const double *mass = NULL;
    for (int a = 0; a < s->sets[0].n_attributes; a++)
        if (s->sets[0].attributes[a].role == PHYSM_ROLE_MASS) mass = cfg.arrays[s->sets[0].attributes[a].array];
    double *m = malloc(sizeof(double) * (size_t)(n + 1));
    if (!m) goto done;
    const physm_xyz_property *sp = physm_xyz_find(&xyz[0], "species");
    for (long i = 0; i < n; i++) { /* a mass the frame does not give is the element's */
        m[i] = mass ? mass[i] : s->mass;
        const physm_element *el = sp && sp->type == 'S' ? physm_element_by_symbol(sp->text[i]) : NULL;
        if (!(m[i] > 0) && el) m[i] = el->mass;
        if (!(m[i] > 0)) {
            fprintf(stderr, "%s:%ld: error: hessian: atom %ld has no mass (a masses column or an element symbol)\n",
                    file, xyz[0].line + 2 + i, i + 1);
            free(m);
            goto done;
        }
    }
    for (int p = 0; p < N; p++)
        for (int q = 0; q < N; q++) {
            const double mp = m[p / dim], mq = m[q / dim];
            D[p * N + q] = 0.5 * (H[p * N + q] + H[q * N + p]) / sqrt(mp * mq);
        }
    free(m);
    jacobi_eigenvalues(D, N, w);
    qsort(w, (size_t)N, sizeof *w, compare_doubles);
    printf("hessian %s: %ld atoms, %d coordinates; largest |H - H^T| %.3g (of max |H| %.6g eV/A^2)\n", file, n, N, asym,
           hmax);
    /* the translations and rotations: the modes of smallest |eigenvalue|, 3 in a
     * periodic cell, else 3 N - 6 real modes (3 N - 5 for two atoms) */
    const int periodic = cfg.cell.periodic[0] || cfg.cell.periodic[1] || cfg.cell.periodic[2];
    int n_rigid = periodic || n == 1 ? dim : n == 2 ? 5 : 6;
    if (n_rigid > N) n_rigid = N;
    char *rigid = calloc((size_t)N, 1);
    if (!rigid) goto done;
    for (int r = 0; r < n_rigid; r++) {
        int best = -1;
        for (int k = 0; k < N; k++)
            if (!rigid[k] && (best < 0 || fabs(w[k]) < fabs(w[best]))) best = k;
        rigid[best] = 1;
    }
    double zpe = 0;
    int imaginary = 0;
    printf("mode,frequency_cm-1,eigenvalue_eV/A^2/amu,kind\n");
    for (int k = 0; k < N; k++) {
        const double f = CM1_PER_SQRT_EV_A2_AMU * sqrt(fabs(w[k]));
        if (!rigid[k] && w[k] < 0) imaginary++;
        else if (!rigid[k]) zpe += 0.5 * HC_EV_CM * f;
        printf("%d,%.6f%s,%.10g,%s\n", k + 1, f, w[k] < 0 ? "i" : "", w[k],
               rigid[k] ? "translation/rotation" : w[k] < 0 ? "imaginary" : "vibration");
    }
    free(rigid);
    printf("zero-point energy %.8g eV over %d vibrations (%d imaginary, %d translations and rotations left out)\n",
           zpe, N - n_rigid - imaginary, imaginary, n_rigid);
    if (matrix_out) {
        FILE *f = fopen(matrix_out, "w");
        if (!f) {
            fprintf(stderr, "%s: error: hessian: cannot write %s\n", prog, matrix_out);
            goto done;
        }
        for (int p = 0; p < N; p++)
            for (int q = 0; q < N; q++) fprintf(f, "%.17g%c", H[p * N + q], q == N - 1 ? '\n' : ',');
        if (fclose(f)) {
            fprintf(stderr, "%s: error: hessian: writing %s failed\n", prog, matrix_out);
            goto done;
        }
        printf("wrote the Hessian (eV/A^2, %d x %d, CSV) to %s\n", N, N, matrix_out);
    }
    status = 0;
done:
    if (cfg.arrays) physm_config_free(lay, &cfg);
    physm_system_eval_destroy(ev);
    physm_xyz_free(xyz, n_frames);
    free(theta), free(H), free(D), free(u), free(hu), free(w);
    return status;
}
