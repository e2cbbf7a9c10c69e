/* test_spins.c - the spin runtime: flips change the energy by 2 s_i h_i;
 * zero-temperature descent never raises the energy; Hebbian patterns are
 * fixed points well below capacity and are recalled from 10 % noise at
 * P = 0.05 N; on a 4 x 4 periodic lattice Metropolis, Glauber and Wolff
 * visit the 2^16 states with the exact Boltzmann frequencies (chi-square);
 * pseudo-likelihood recovers the couplings of a 20-spin model; bad
 * pattern files are refused. Fixed seeds throughout. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "spin_internal.h"

static char tmpdir[] = "/tmp/test_spins_XXXXXX";

static physm_spins dense_desc(long n, physm_coupling_kind kind, const char *file)
{
    physm_spins d = {.name = "s", .energy = "E", .n = n, .coupling = kind, .coupling_name = "W",
                     .coupling_file = file, .pair_scale = 1.0};
    return d;
}

static int load(spin_model *m, physm_spins *d)
{
    physm_model model = {.abi_version = PHYSM_ABI_VERSION, .name = "t", .source_dir = tmpdir, .spins = d};
    return spin_model_load(m, &model, "test_spins", NULL, NULL);
}

static void random_spins(physrt_rng *rng, int8_t *s, long n)
{
    for (long i = 0; i < n; i++) s[i] = physrt_rng_next_u64(rng) >> 63 ? 1 : -1;
}

static const char *write_patterns(const char *name, const int8_t *p, int n_pat, long n)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    spin_rows_write(path, "s", n, p, n_pat);
    return path;
}

static void test_flip_energy_and_descent(void)
{
    enum { N = 60 };
    physrt_rng rng;
    physrt_rng_seed(&rng, 11);
    spin_model m = {.n = N, .pair_scale = 1.0};
    m.W = calloc(N * N, sizeof *m.W);
    m.field = calloc(N, sizeof *m.field);
    for (int i = 0; i < N; i++) {
        m.field[i] = 0.3 * physrt_rng_normal(&rng);
        for (int j = 0; j < i; j++) m.W[i * N + j] = m.W[j * N + i] = physrt_rng_normal(&rng) / sqrt(N);
    }
    int8_t s[N];
    random_spins(&rng, s, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double e0 = spin_energy(&m, s), dE = 2 * s[i] * spin_local_field(&m, s, i);
        s[i] = (int8_t)-s[i];
        double e1 = spin_energy(&m, s);
        worst = fmax(worst, fabs((e1 - e0) - dE) / fmax(1, fabs(dE)));
    }
    CHECK(worst <= 1e-9, "a flip's energy change differs from 2 s_i h_i by %g", worst);
    for (int trial = 0; trial < 20; trial++) {
        random_spins(&rng, s, N);
        double e = spin_energy(&m, s);
        int converged = 0, rose = 0;
        long sweeps = 0;
        while (!converged && sweeps < 1000) {
            sweeps += spin_descend(&m, s, &rng, 1, &converged);
            double e1 = spin_energy(&m, s);
            if (e1 > e + 1e-12) rose = 1;
            e = e1;
        }
        CHECK(!rose, "trial %d: the energy rose under zero-temperature updates", trial);
        CHECK(converged, "trial %d: no fixed point after %ld sweeps", trial, sweeps);
        int stable = 1;
        for (int i = 0; i < N; i++) stable &= s[i] * spin_local_field(&m, s, i) >= 0;
        CHECK(stable, "trial %d: a converged state has a spin against its field", trial);
    }
    spin_model_free(&m);
}

static void test_hopfield(void)
{
    enum { N = 400, P = 20 }; /* P = 0.05 N */
    physrt_rng rng;
    physrt_rng_seed(&rng, 5);
    int8_t *p = malloc(N * P), *s = malloc(N);
    for (int k = 0; k < N * P; k++) p[k] = physrt_rng_next_u64(&rng) >> 63 ? 1 : -1;
    physm_spins d = dense_desc(N, PHYSM_COUPLING_HEBBIAN, write_patterns("patterns.csv", p, P, N));
    spin_model m;
    CHECK(load(&m, &d) == 0, "hebbian couplings did not load");
    /* well below capacity (P = 5): every stored pattern is a fixed point */
    physm_spins few = dense_desc(N, PHYSM_COUPLING_HEBBIAN, write_patterns("few.csv", p, 5, N));
    spin_model m5;
    CHECK(load(&m5, &few) == 0, "hebbian couplings did not load");
    for (int k = 0; k < 5; k++) {
        int fixed = 1;
        for (int i = 0; i < N; i++) fixed &= p[k * N + i] * spin_local_field(&m5, p + k * N, i) > 0;
        CHECK(fixed, "pattern %d of 5 is not a fixed point", k);
    }
    spin_model_free(&m5);
    double mean = 0;
    int recovered = 0;
    for (int k = 0; k < P; k++) {
        memcpy(s, p + k * N, N);
        for (int f = 0; f < N / 10; f++) { /* 10 % of the bits, distinct */
            long i;
            do i = (long)physrt_rng_below(&rng, N); while (s[i] != p[k * N + i]);
            s[i] = (int8_t)-s[i];
        }
        int converged;
        spin_descend(&m, s, &rng, 100, &converged);
        long dot = 0;
        for (int i = 0; i < N; i++) dot += s[i] * p[k * N + i];
        mean += (double)dot / N / P;
        recovered += dot == N;
        CHECK(converged, "recall of pattern %d did not converge", k);
    }
    printf("hopfield N=%d P=%d: recall from 10%% noise: mean overlap %.4f, %d of %d exact\n", N, P, mean, recovered, P);
    CHECK(mean >= 0.99, "mean overlap %.4f after recall from 10%% noise at P = 0.05 N", mean);
    spin_model_free(&m);
    free(p);
    free(s);
}

/* Upper tail of chi-square with k degrees of freedom (Wilson-Hilferty). */
static double chi2_p(double x, double k)
{
    double z = (cbrt(x / k) - (1 - 2 / (9 * k))) / sqrt(2 / (9 * k));
    return 0.5 * erfc(z / sqrt(2));
}

static void test_exact_boltzmann(void)
{
    enum { L = 4, N = L * L, STATES = 1 << N };
    const double T = 3.0;
    spin_model m = {.n = N, .lattice_dims = 2, .side = {L, L, 1}, .pair_scale = 1.0, .uniform = 1};
    m.field = calloc(N, sizeof *m.field);
    double *prob = malloc(STATES * sizeof *prob), z = 0;
    int8_t s[N];
    for (int k = 0; k < STATES; k++) {
        for (int i = 0; i < N; i++) s[i] = (k >> i) & 1 ? 1 : -1;
        prob[k] = exp(-spin_energy(&m, s) / T);
        z += prob[k];
    }
    for (int k = 0; k < STATES; k++) prob[k] /= z;
    const char *names[3] = {"metropolis", "glauber", "wolff"};
    long *count = malloc(STATES * sizeof *count);
    for (int alg = 0; alg < 3; alg++) {
        const long samples = 500000;
        memset(count, 0, STATES * sizeof *count);
        for (int i = 0; i < N; i++) s[i] = 1;
        for (long sweep = 0; sweep < 100; sweep++) spin_sweep(&m, s, T, (spin_algorithm)alg, 7, sweep, NULL);
        for (long k = 0; k < samples; k++) {
            spin_sweep(&m, s, T, (spin_algorithm)alg, 7, 100 + k, NULL);
            int code = 0;
            for (int i = 0; i < N; i++) code |= (s[i] > 0) << i;
            count[code]++;
        }
        /* states expected fewer than 10 times are pooled into one bin */
        double chi2 = 0, pooled_e = 0, pooled_o = 0;
        int bins = 0;
        for (int k = 0; k < STATES; k++) {
            double e = prob[k] * samples;
            if (e < 10) {
                pooled_e += e;
                pooled_o += count[k];
                continue;
            }
            chi2 += (count[k] - e) * (count[k] - e) / e;
            bins++;
        }
        if (pooled_e > 0) chi2 += (pooled_o - pooled_e) * (pooled_o - pooled_e) / pooled_e, bins++;
        double pv = chi2_p(chi2, bins - 1);
        printf("4x4 lattice, T = %g, %s: chi2 %.1f over %d bins, p = %.3g\n", T, names[alg], chi2, bins - 1, pv);
        CHECK(pv > 1e-3, "%s: state frequencies differ from Boltzmann (p = %.3g < 0.001)", names[alg], pv);
    }
    free(count);
    free(prob);
    spin_model_free(&m);
}

static void test_inverse_ising(void)
{
    enum { N = 20 };
    physrt_rng rng;
    physrt_rng_seed(&rng, 3);
    spin_model truth = {.n = N, .pair_scale = 1.0};
    truth.W = calloc(N * N, sizeof *truth.W);
    truth.field = calloc(N, sizeof *truth.field);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < i; j++) truth.W[i * N + j] = truth.W[j * N + i] = 0.3 * physrt_rng_normal(&rng) / sqrt(N);
    const int M = 20000;
    int8_t *rows = malloc((size_t)M * N), s[N];
    random_spins(&rng, s, N);
    for (long k = 0; k < 200; k++) spin_sweep(&truth, s, 1.0, SPIN_METROPOLIS, 9, k, NULL);
    for (int r = 0; r < M; r++) {
        for (int t = 0; t < 3; t++) spin_sweep(&truth, s, 1.0, SPIN_METROPOLIS, 9, 200 + 3L * r + t, NULL);
        memcpy(rows + (size_t)r * N, s, N);
    }
    spin_pl_problem p = {.n = N, .M = M, .rows = rows, .pair_scale = 1.0, .bias_scale = 1.0, .learn_W = 1, .learn_b = 1};
    int size = spin_pl_size(&p);
    double *x = calloc(size, sizeof *x), *g = malloc(size * sizeof *g), *g1 = malloc(size * sizeof *g1);
    for (int k = 0; k < size; k++) x[k] = 0.05 * physrt_rng_normal(&rng);
    /* the gradient against central differences */
    spin_pl_objective(&p, x, g);
    double worst = 0;
    for (int k = 0; k < size; k += 17) {
        double h = 1e-5, keep = x[k];
        x[k] = keep + h;
        double fp = spin_pl_objective(&p, x, g1);
        x[k] = keep - h;
        double fm = spin_pl_objective(&p, x, g1);
        x[k] = keep;
        worst = fmax(worst, fabs((fp - fm) / (2 * h) - g[k]) / fmax(1e-3, fabs(g[k])));
    }
    CHECK(worst <= 1e-6, "pseudo-likelihood gradient off central differences by %g", worst);
    memset(x, 0, size * sizeof *x);
    physrt_lbfgs_options o;
    physrt_lbfgs_default_options(&o);
    o.max_iterations = 300;
    physrt_lbfgs_report rep;
    physrt_lbfgs_minimize(size, x, spin_pl_objective, &p, &o, &rep);
    double W[N * N], b[N], se = 0, norm = 0;
    spin_pl_unpack(&p, x, W, b);
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            se += (W[i * N + j] - truth.W[i * N + j]) * (W[i * N + j] - truth.W[i * N + j]);
            norm += truth.W[i * N + j] * truth.W[i * N + j];
        }
    double rel = sqrt(se / norm);
    printf("inverse Ising, 20 spins, %d samples: relative coupling error %.4f (%d L-BFGS iterations)\n", M, rel,
           rep.iterations);
    CHECK(rel < 0.15, "couplings recovered with relative error %.3f", rel);
    free(x), free(g), free(g1), free(rows);
    spin_model_free(&truth);
}

static void test_bad_files(void)
{
    char path[256];
    int8_t *rows;
    int n;
    snprintf(path, sizeof path, "%s/bad.csv", tmpdir);
    FILE *f = fopen(path, "w");
    fprintf(f, "s_0,s_1,s_2\n1,-1,1\n# a comment\n1,0,1\n");
    fclose(f);
    CHECK(spin_rows_read(path, path, "s", 3, &rows, &n) != 0, "a 0 in a pattern file was accepted");
    CHECK(spin_csv_line_of_row(path, 1) == 4, "data row 1 is on line 4, not %d", spin_csv_line_of_row(path, 1));
    f = fopen(path, "w");
    fclose(f);
    CHECK(spin_rows_read(path, path, "s", 3, &rows, &n) != 0, "an empty file was accepted");
    f = fopen(path, "w");
    fprintf(f, "s_0,s_1\n1,-1\n");
    fclose(f);
    CHECK(spin_rows_read(path, path, "s", 3, &rows, &n) != 0, "a file without s_2 was accepted");
}

int main(void)
{
    if (!mkdtemp(tmpdir)) return 1;
    test_flip_energy_and_descent();
    test_hopfield();
    test_exact_boltzmann();
    test_inverse_ising();
    test_bad_files();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("runtime_spins");
}
