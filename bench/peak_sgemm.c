/* peak_sgemm.c - the machine's practical peak float32 FLOP/s, measured with
 * OpenBLAS cblas_sgemm on large square matrices (C = A B, n x n, 2 n^3 flops
 * per product): a few repetitions, the best time wins. --f64 measures
 * cblas_dgemm instead (the float64 peak).
 *
 * Usage: peak_sgemm [--f64] [N [REPS]]   (default 2048, 5)
 * Prints: peak_sgemm|peak_dgemm n=N reps=R threads=T best_s=S gflop_per_s=G core=CORE
 * Threads: OpenBLAS reads OPENBLAS_NUM_THREADS (bench/run sets it).
 *
 * The CBLAS prototypes are declared here rather than taken from cblas.h so
 * that only the OpenBLAS shared library is needed (libopenblas0-pthread,
 * which the PyTorch baseline needs anyway), not libopenblas-dev; the CBLAS
 * ABI (int enums, column/row-major flags 101/102, 111/112) is fixed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111 };
void cblas_sgemm(int order, int transa, int transb, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
void cblas_dgemm(int order, int transa, int transb, int m, int n, int k, double alpha,
                 const double *a, int lda, const double *b, int ldb, double beta, double *c, int ldc);
int openblas_get_num_threads(void);
char *openblas_get_corename(void);

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define DEFINE_RUN(NAME, REAL, GEMM)                                                           \
    static double NAME(int n, int reps, double *check)                                         \
    {                                                                                          \
        size_t nn = (size_t)n * n;                                                             \
        REAL *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c); \
        if (!a || !b || !c) {                                                                  \
            fprintf(stderr, "peak_sgemm: out of memory\n");                                    \
            exit(1);                                                                           \
        }                                                                                      \
        unsigned s = 12345;                                                                    \
        for (size_t i = 0; i < nn; i++) {                                                      \
            s = s * 1103515245u + 12345u;                                                      \
            a[i] = (REAL)((s >> 16) & 0x7fff) / 32768 - (REAL)0.5;                             \
            s = s * 1103515245u + 12345u;                                                      \
            b[i] = (REAL)((s >> 16) & 0x7fff) / 32768 - (REAL)0.5;                             \
            c[i] = 0;                                                                          \
        }                                                                                      \
        /* one untimed product: thread start-up, page faults */                                \
        GEMM(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, 1, a, n, b, n, 0, c, n);                  \
        double best = 1e300;                                                                   \
        for (int r = 0; r < reps; r++) {                                                       \
            double t0 = now_seconds();                                                         \
            GEMM(ROW_MAJOR, NO_TRANS, NO_TRANS, n, n, n, 1, a, n, b, n, 0, c, n);              \
            double dt = now_seconds() - t0;                                                    \
            if (dt < best) best = dt;                                                          \
        }                                                                                      \
        *check = (double)c[nn / 2 + 7];                                                        \
        free(a);                                                                               \
        free(b);                                                                               \
        free(c);                                                                               \
        return best;                                                                           \
    }

DEFINE_RUN(run_f32, float, cblas_sgemm)
DEFINE_RUN(run_f64, double, cblas_dgemm)

int main(int argc, char **argv)
{
    int f64 = argc > 1 && strcmp(argv[1], "--f64") == 0;
    int n = argc > 1 + f64 ? atoi(argv[1 + f64]) : 2048, reps = argc > 2 + f64 ? atoi(argv[2 + f64]) : 5;
    if (n < 16 || reps < 1 || argc > 3 + f64) {
        fprintf(stderr, "usage: %s [--f64] [N >= 16 [REPS >= 1]]\n", argv[0]);
        return 2;
    }
    double check, best = f64 ? run_f64(n, reps, &check) : run_f32(n, reps, &check);
    double flops = 2.0 * n * (double)n * n;
    printf("%s n=%d reps=%d threads=%d best_s=%.4f gflop_per_s=%.1f core=%s check=%g\n",
           f64 ? "peak_dgemm" : "peak_sgemm", n, reps, openblas_get_num_threads(), best,
           flops / best * 1e-9, openblas_get_corename(), check);
    return 0;
}
