/* test_spins.c - the spin runtime: flips change the energy by 2 s_i h_i;
 * zero-temperature descent never raises the energy; Hebbian patterns are
 * fixed points well below capacity and are recalled from 10 % noise at
 * P = 0.05 N; on a 4 x 4 periodic lattice Metropolis, Glauber and Wolff
 * visit the 2^16 states with the exact Boltzmann frequencies (chi-square);
 * multi-spin coding keeps the state, energy and magnetisation, samples
 * the exact Boltzmann distribution of small 2-D and 3-D lattices
 * (chi-square) and the exact energy at T_c of a 64 x 64 lattice
 * (Kaufman); blocking error bars do not depend on the block lengths;
 * pseudo-likelihood recovers the couplings of a 20-spin model;
 * bad pattern files are refused. Fixed seeds throughout. */
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

/* The exact Boltzmann probabilities of the 2^n states of a small model
 * (state k: spin i up when bit i of k is set). */
static double *boltzmann_probabilities(const spin_model *m, double T)
{
    long states = 1L << m->n;
    double *prob = malloc((size_t)states * sizeof *prob), z = 0;
    int8_t s[24];
    for (long k = 0; k < states; k++) {
        for (int i = 0; i < m->n; i++) s[i] = (k >> i) & 1 ? 1 : -1;
        prob[k] = exp(-spin_energy(m, s) / T);
        z += prob[k];
    }
    for (long k = 0; k < states; k++) prob[k] /= z;
    return prob;
}

/* The chi-square p-value of visit counts against prob; states expected
 * fewer than 10 times are pooled into one bin. */
static double boltzmann_p_value(const double *prob, const long *count, long states, long samples, double *chi2_out,
                                int *dof)
{
    double chi2 = 0, pooled_e = 0, pooled_o = 0;
    int bins = 0;
    for (long k = 0; k < states; k++) {
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
    *chi2_out = chi2;
    *dof = bins - 1;
    return chi2_p(chi2, bins - 1);
}

static int state_code(const int8_t *s, long n)
{
    int code = 0;
    for (int i = 0; i < n; i++) code |= (s[i] > 0) << i;
    return code;
}

static void test_exact_boltzmann(void)
{
    enum { L = 4, N = L * L, STATES = 1 << N };
    const double T = 3.0;
    spin_model m = {.n = N, .lattice_dims = 2, .side = {L, L, 1}, .pair_scale = 1.0, .uniform = 1};
    m.field = calloc(N, sizeof *m.field);
    double *prob = boltzmann_probabilities(&m, T);
    int8_t s[N];
    const char *names[3] = {"metropolis", "glauber", "wolff"};
    long *count = malloc(STATES * sizeof *count);
    for (int alg = 0; alg < 3; alg++) {
        const long samples = 500000;
        memset(count, 0, STATES * sizeof *count);
        for (int i = 0; i < N; i++) s[i] = 1;
        for (long sweep = 0; sweep < 100; sweep++) spin_sweep(&m, s, T, (spin_algorithm)alg, 7, sweep, NULL);
        for (long k = 0; k < samples; k++) {
            spin_sweep(&m, s, T, (spin_algorithm)alg, 7, 100 + k, NULL);
            count[state_code(s, N)]++;
        }
        double chi2;
        int dof;
        double pv = boltzmann_p_value(prob, count, STATES, samples, &chi2, &dof);
        printf("4x4 lattice, T = %g, %s: chi2 %.1f over %d bins, p = %.3g\n", T, names[alg], chi2, dof, pv);
        CHECK(pv > 1e-3, "%s: state frequencies differ from Boltzmann (p = %.3g < 0.001)", names[alg], pv);
    }
    free(count);
    free(prob);
    spin_model_free(&m);
}

/* A uniform lattice of the given sides, coupling J and field H. */
static spin_model uniform_lattice(int dims, long a, long b, long c, double J, double H)
{
    spin_model m = {.n = a * b * c, .lattice_dims = dims, .side = {a, b, c}, .pair_scale = J, .uniform = 1};
    m.field = malloc((size_t)m.n * sizeof *m.field);
    for (long i = 0; i < m.n; i++) m.field[i] = H;
    return m;
}

/* Multi-spin coding: packing keeps every spin, and the packed energy and
 * magnetisation are spin_energy's and spin_magnetisation's, on shapes
 * that cut the last side into 1, 2, 4, 5, 50 and 64 strips. */
static void test_packed_layout(void)
{
    const long shapes[][4] = {{2, 4, 4, 1}, {2, 8, 2, 1}, {2, 2, 8, 1}, {2, 6, 10, 1}, {2, 4, 200, 1},
                              {2, 6, 256, 1}, {3, 2, 2, 4}, {3, 4, 6, 10}, {3, 6, 4, 128}};
    physrt_rng rng;
    physrt_rng_seed(&rng, 21);
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const long *sh = shapes[k];
        spin_model m = uniform_lattice((int)sh[0], sh[1], sh[2], sh[3], k % 2 ? -0.7 : 1.0, k % 3 ? 0.25 : 0.0);
        int8_t *s = malloc((size_t)m.n), *back = malloc((size_t)m.n);
        random_spins(&rng, s, m.n);
        spin_packed p;
        CHECK(spin_packed_init(&p, &m, SPIN_METROPOLIS) == 0, "shape %zu: not packed", k);
        spin_packed_load(&p, s);
        spin_packed_store(&p, back);
        CHECK(!memcmp(s, back, (size_t)m.n), "shape %zu: packing lost spins", k);
        double e = spin_energy(&m, s), ep = spin_packed_energy(&p);
        CHECK(fabs(e - ep) <= 1e-9 * fmax(1, fabs(e)), "shape %zu: packed energy %.17g, spin_energy %.17g", k, ep, e);
        CHECK(spin_packed_magnetisation(&p) == spin_magnetisation(&m, s), "shape %zu: magnetisation", k);
        /* after sweeps the packed numbers still describe the unpacked state */
        long flips = 0;
        for (long sweep = 0; sweep < 3; sweep++) flips += spin_packed_sweep(&p, 2.5, SPIN_METROPOLIS, 5, sweep, NULL);
        spin_packed_store(&p, back);
        long changed = 0;
        for (long i = 0; i < m.n; i++) changed += back[i] != s[i];
        CHECK(flips > 0 && changed <= flips, "shape %zu: %ld flips, %ld spins changed", k, flips, changed);
        e = spin_energy(&m, back), ep = spin_packed_energy(&p);
        CHECK(fabs(e - ep) <= 1e-9 * fmax(1, fabs(e)), "shape %zu after sweeps: packed energy %.17g, spin_energy %.17g",
              k, ep, e);
        spin_packed_free(&p);
        free(s), free(back);
        spin_model_free(&m);
    }
    /* what does not fit is left to spin_sweep */
    spin_model odd = uniform_lattice(2, 5, 4, 1, 1.0, 0.0), field = uniform_lattice(2, 4, 4, 1, 1.0, 0.0);
    field.uniform = 0;
    spin_packed p;
    CHECK(spin_packed_init(&p, &odd, SPIN_METROPOLIS) == 1, "an odd side was packed");
    CHECK(spin_packed_init(&p, &field, SPIN_METROPOLIS) == 1, "a site-dependent field was packed");
    CHECK(spin_packed_init(&p, &odd, SPIN_WOLFF) == 1, "Wolff was packed");
    spin_model_free(&odd), spin_model_free(&field);
}

/* Multi-spin coding samples the exact Boltzmann distribution: 2^16 states
 * of small lattices (2-D and 3-D, Metropolis and Glauber, ferro- and
 * antiferromagnetic, with and without a field), chi-square at p > 0.001. */
static void test_packed_boltzmann(void)
{
    struct {
        int dims;
        long a, b, c;
        double J, H, T;
        spin_algorithm alg;
        const char *what;
    } cases[] = {
        {2, 4, 4, 1, 1.0, 0.0, 3.0, SPIN_METROPOLIS, "4x4, Metropolis"},
        {2, 4, 4, 1, 1.0, 0.0, 3.0, SPIN_GLAUBER, "4x4, Glauber"},
        {2, 2, 8, 1, 1.0, 0.3, 2.5, SPIN_METROPOLIS, "2x8, field 0.3, Metropolis"},
        {2, 8, 2, 1, -1.0, 0.0, 2.5, SPIN_METROPOLIS, "8x2, antiferromagnet, Metropolis"},
        {3, 2, 2, 4, 1.0, -0.2, 6.0, SPIN_GLAUBER, "2x2x4, field -0.2, Glauber"},
    };
    const long samples = 500000, states = 1L << 16;
    long *count = malloc((size_t)states * sizeof *count);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        spin_model m = uniform_lattice(cases[k].dims, cases[k].a, cases[k].b, cases[k].c, cases[k].J, cases[k].H);
        double *prob = boltzmann_probabilities(&m, cases[k].T);
        int8_t s[16];
        for (int i = 0; i < 16; i++) s[i] = 1;
        spin_packed p;
        CHECK(spin_packed_init(&p, &m, cases[k].alg) == 0, "%s: not packed", cases[k].what);
        spin_packed_load(&p, s);
        memset(count, 0, (size_t)states * sizeof *count);
        for (long sweep = 0; sweep < 100 + samples; sweep++) {
            spin_packed_sweep(&p, cases[k].T, cases[k].alg, 8, sweep, NULL);
            if (sweep < 100) continue;
            spin_packed_store(&p, s);
            count[state_code(s, 16)]++;
        }
        double chi2;
        int dof;
        double pv = boltzmann_p_value(prob, count, states, samples, &chi2, &dof);
        printf("multi-spin %s, T = %g: chi2 %.1f over %d bins, p = %.3g\n", cases[k].what, cases[k].T, chi2, dof, pv);
        CHECK(pv > 1e-3, "multi-spin %s: state frequencies differ from Boltzmann (p = %.3g < 0.001)", cases[k].what,
              pv);
        spin_packed_free(&p);
        free(prob);
        spin_model_free(&m);
    }
    free(count);
}

/* ln Z of the periodic m x n Ising lattice at K = J / T (Kaufman 1949):
 * Z = 1/2 (2 sinh 2K)^(mn/2) (Z1 + Z2 + Z3 + Z4), each Zi a product over
 * the gammas of the transfer matrix, summed in logarithms. */
static double kaufman_ln_z(double K, int m, int n)
{
    double lg[4], sign[4], top = -INFINITY;
    for (int kind = 0; kind < 4; kind++) {
        lg[kind] = 0, sign[kind] = 1;
        for (int r = 0; r < n; r++) {
            int l = kind < 2 ? 2 * r + 1 : 2 * r;
            double g = l == 0 ? 2 * K + log(tanh(K)) : acosh(cosh(2 * K) / tanh(2 * K) - cos(3.14159265358979323846 * l / n));
            double v = kind % 2 ? 2 * sinh(m * g / 2) : 2 * cosh(m * g / 2);
            if (v < 0) sign[kind] = -sign[kind];
            lg[kind] += log(fabs(v));
        }
        top = fmax(top, lg[kind]);
    }
    double sum = 0;
    for (int kind = 0; kind < 4; kind++) sum += sign[kind] * exp(lg[kind] - top);
    return log(0.5) + 0.5 * m * n * log(2 * sinh(2 * K)) + top + log(sum);
}

/* The exact energy per spin of the periodic L x L lattice at T (J = 1):
 * -d ln Z / dK by central differences. */
static double exact_energy(int L, double T)
{
    double K = 1 / T, h = 1e-5;
    return -(kaufman_ln_z(K + h, L, L) - kaufman_ln_z(K - h, L, L)) / (2 * h) / (L * L);
}

/* What `sample` runs on a uniform lattice: the energy per spin of the
 * 64 x 64 lattice at T_c against Kaufman's exact value (the formula is
 * first checked against enumerating the 4 x 4 states), within four
 * blocking error bars; sample's state is the packed sweeps'; the same
 * numbers on 1 and 2 threads; a 3-D lattice
 * agrees with the byte-per-spin checkerboard. */
static void test_packed_sampling(void)
{
    spin_model small = uniform_lattice(2, 4, 4, 1, 1.0, 0.0);
    double *prob = boltzmann_probabilities(&small, 3.0), e4 = 0;
    int8_t s16[16];
    for (long k = 0; k < 1L << 16; k++) {
        for (int i = 0; i < 16; i++) s16[i] = (k >> i) & 1 ? 1 : -1;
        e4 += prob[k] * spin_energy(&small, s16) / 16;
    }
    CHECK(fabs(e4 - exact_energy(4, 3.0)) < 1e-8, "Kaufman's 4x4 energy %.10f, enumerated %.10f", exact_energy(4, 3.0),
          e4);
    free(prob);
    spin_model_free(&small);

    const double Tc = 2 / log(1 + sqrt(2.0));
    spin_model m = uniform_lattice(2, 64, 64, 1, 1.0, 0.0);
    int8_t *s = malloc((size_t)m.n);
    for (long i = 0; i < m.n; i++) s[i] = 1;
    spin_stats st;
    CHECK(spin_sample_at(&m, s, Tc, SPIN_METROPOLIS, 100000, 2000, 12, NULL, NULL, 1, &st) == 0, "sampling failed");
    double exact = exact_energy(64, Tc);
    printf("64x64 at T_c, multi-spin Metropolis, 100000 sweeps: energy per spin %.5f +- %.5f, exact %.5f\n",
           st.value[1], st.error[1], exact);
    CHECK(st.error[1] < 0.003 && fabs(st.value[1] - exact) < 4 * st.error[1],
          "energy per spin at T_c %.5f +- %.5f, exact %.5f", st.value[1], st.error[1], exact);
    free(s);
    spin_model_free(&m);

    /* sample takes the packed sweeps: its end state is theirs */
    spin_model eight = uniform_lattice(2, 8, 8, 1, 1.0, 0.1);
    int8_t by_sample[64], by_hand[64];
    spin_stats st8;
    memset(by_sample, 1, sizeof by_sample), memset(by_hand, 1, sizeof by_hand);
    spin_sample_at(&eight, by_sample, 2.0, SPIN_GLAUBER, 10, 5, 9, NULL, NULL, 1, &st8);
    spin_packed p8;
    spin_packed_init(&p8, &eight, SPIN_GLAUBER);
    spin_packed_load(&p8, by_hand);
    for (long sweep = 0; sweep < 15; sweep++) spin_packed_sweep(&p8, 2.0, SPIN_GLAUBER, 9, sweep, NULL);
    spin_packed_store(&p8, by_hand);
    CHECK(!memcmp(by_sample, by_hand, sizeof by_hand), "sample did not run the packed sweeps");
    spin_packed_free(&p8);
    spin_model_free(&eight);

    spin_model big = uniform_lattice(2, 128, 128, 1, 1.0, 0.0); /* big enough for the pool */
    spin_packed one, two;
    physrt_pool *pool = physrt_pool_create(2);
    int8_t *a = malloc((size_t)big.n), *b = malloc((size_t)big.n);
    physrt_rng rng;
    physrt_rng_seed(&rng, 4);
    random_spins(&rng, a, big.n);
    spin_packed_init(&one, &big, SPIN_METROPOLIS), spin_packed_init(&two, &big, SPIN_METROPOLIS);
    spin_packed_load(&one, a), spin_packed_load(&two, a);
    long f1 = 0, f2 = 0;
    for (long sweep = 0; sweep < 20; sweep++) {
        f1 += spin_packed_sweep(&one, Tc, SPIN_METROPOLIS, 3, sweep, NULL);
        f2 += spin_packed_sweep(&two, Tc, SPIN_METROPOLIS, 3, sweep, pool);
    }
    spin_packed_store(&one, a), spin_packed_store(&two, b);
    CHECK(f1 == f2 && !memcmp(a, b, (size_t)big.n), "1 and 2 threads differ (%ld and %ld flips)", f1, f2);
    spin_packed_free(&one), spin_packed_free(&two);
    physrt_pool_destroy(pool);
    free(a), free(b);
    spin_model_free(&big);

    /* 3-D, 8^3 at T = 5 (above T_c = 4.51): packed against bytes */
    spin_model cube = uniform_lattice(3, 8, 8, 8, 1.0, 0.0);
    spin_model bytes = cube;
    bytes.uniform = 0; /* the byte checkerboard's per-site field path: not packed */
    int8_t *c = malloc((size_t)cube.n);
    spin_stats sp, sb;
    for (long i = 0; i < cube.n; i++) c[i] = 1;
    spin_sample_at(&cube, c, 5.0, SPIN_METROPOLIS, 20000, 500, 6, NULL, NULL, 1, &sp);
    for (long i = 0; i < cube.n; i++) c[i] = 1;
    spin_sample_at(&bytes, c, 5.0, SPIN_METROPOLIS, 20000, 500, 6, NULL, NULL, 1, &sb);
    double err = sqrt(sp.error[1] * sp.error[1] + sb.error[1] * sb.error[1]);
    printf("8^3 at T = 5: energy per spin packed %.5f +- %.5f, bytes %.5f +- %.5f\n", sp.value[1], sp.error[1],
           sb.value[1], sb.error[1]);
    CHECK(err < 0.005 && fabs(sp.value[1] - sb.value[1]) < 4 * err, "3-D energies differ: %.5f and %.5f (+- %.5f)",
          sp.value[1], sb.value[1], err);
    free(c);
    spin_model_free(&cube);
}

/* Blocking error bars do not depend on whether 32 blocks divide the
 * sweeps: 5000 and 5024 sweeps of the same chain (64 x 64 at T = 1.5,
 * where |m| barely moves) give error bars within 1.5x of each other. */
static void test_blocking_errors(void)
{
    spin_model m = uniform_lattice(2, 64, 64, 1, 1.0, 0.0);
    int8_t *s = malloc((size_t)m.n);
    spin_stats st[2];
    const long sweeps[2] = {5000, 5024};
    for (int k = 0; k < 2; k++) {
        for (long i = 0; i < m.n; i++) s[i] = 1;
        spin_sample_at(&m, s, 1.5, SPIN_METROPOLIS, sweeps[k], 500, 2, NULL, NULL, 1, &st[k]);
    }
    for (int j = 0; j < 2; j++) {
        double ratio = st[0].error[j] / st[1].error[j];
        CHECK(ratio > 1 / 1.5 && ratio < 1.5, "%s: error bar %.3g over 5000 sweeps, %.3g over 5024",
              j ? "energy" : "|m|", st[0].error[j], st[1].error[j]);
    }
    printf("64x64 at T = 1.5: |m| %.5f +- %.5f (5000 sweeps), +- %.5f (5024)\n", st[0].value[0], st[0].error[0],
           st[1].error[0]);
    free(s);
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
    test_packed_layout();
    test_packed_boltzmann();
    test_packed_sampling();
    test_blocking_errors();
    test_inverse_ising();
    test_bad_files();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmpdir);
    return check_summary("runtime_spins");
}
