/* spin_main.c - the verbs of a compiled spin model: recall (the model's
 * recall declarations: zero-temperature descent or Glauber sweeps from
 * each row of a file), sample (Metropolis, Glauber or Wolff at one or
 * several temperatures: magnetisation, energy, susceptibility, specific
 * heat, Binder cumulant with blocking errors, as CSV) and learn (couplings
 * and fields from observed spin rows by pseudo-likelihood and L-BFGS).
 * Exit status: 0, 1 for a runtime error, 2 for bad usage. */
#include "spin_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void spin_help(const physm_model *model, const char *argv0, FILE *out)
{
    const physm_spins *d = model->spins;
    fprintf(out,
            "usage: %s COMMAND [OPTIONS]\n"
            "model %s: %ld spins %s in {-1, +1}, energy %s",
            argv0, model->name, d->n, d->name, d->energy);
    if (d->coupling == PHYSM_COUPLING_LATTICE) {
        fprintf(out, ", periodic lattice %ld", d->lattice[0]);
        for (int k = 1; k < d->lattice_dims; k++) fprintf(out, " x %ld", d->lattice[k]);
    }
    fprintf(out,
            "\n\ncommands:\n"
            "  recall [--from FILE --to FILE] [--clamp A:B] [--seed S] [--couplings FILE] [--bias FILE]\n"
            "      runs the model's recall declarations (%d): from each row of the file, asynchronous\n"
            "      single-spin updates (temperature 0: until no spin changes; T > 0: Glauber sweeps);\n"
            "      writes the recalled rows with the same header and prints per row the sweeps,\n"
            "      the energies before and after and the overlap with the nearest stored pattern;\n"
            "      --clamp holds spins A..B-1 fixed (inputs)\n"
            "  sample (--temperature T | --temperatures a:b:n) [--sweeps N] [--burn-in B] [--seed S]\n"
            "         [--threads T] [--algorithm metropolis|glauber|wolff] [--start up|random]\n"
            "         [--to FILE] [--samples FILE [--every K]] [--couplings FILE] [--bias FILE]\n"
            "      Monte Carlo at each temperature (lattices: checkerboard sweeps on every core, 64\n"
            "      spins a word on a lattice with one coupling, a uniform field and even sides):\n"
            "      CSV of T, |m|, energy per spin, susceptibility, specific heat, Binder cumulant,\n"
            "      each with a blocking error bar; --samples writes the measured states\n"
            "  learn SAMPLES.csv [--iterations N] [--l2 X] [--to-couplings FILE] [--to-bias FILE]\n"
            "        [--compare FILE]\n"
            "      fits the trainable couplings and fields to observed spin rows by pseudo-likelihood\n"
            "      (exact gradients, L-BFGS); writes %s_couplings.csv / %s_bias.csv, which recall\n"
            "      and sample read; --compare prints the RMS error against a coupling matrix\n"
            "  help, --help\n"
            "\nExit status: 0, 1 for a runtime error, 2 for bad usage.\n",
            d->n_recalls, model->name, model->name);
}

static int usage(const char *prog, const char *argv0, const char *fmt, const char *a)
{
    return physm_usage_error(prog, argv0, fmt, a, "");
}

static int real(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* Options every verb shares. */
typedef struct {
    const char *couplings, *bias;
    uint64_t seed;
} common_opts;

/* 1: consumed argv[*i]; 0: not a common option; -1: bad (reported). */
static int common_option(int argc, char **argv, int *i, common_opts *o, const char *prog, const char *argv0,
                         const char *verb)
{
    const char *v = NULL;
    int r;
    char msg[128];
    int bias = 0;
    if ((r = physm_opt_value(argc, argv, i, "--couplings", &v)) || (bias = 1, r = physm_opt_value(argc, argv, i, "--bias", &v))) {
        if (r < 0 || !v[0]) {
            snprintf(msg, sizeof msg, "%s: --%s needs a file name%%s", verb, bias ? "bias" : "couplings");
            usage(prog, argv0, msg, "");
            return -1;
        }
        *(bias ? &o->bias : &o->couplings) = v;
        return 1;
    }
    if ((r = physm_opt_value(argc, argv, i, "--seed", &v))) {
        long s;
        if (r < 0 || physm_parse_long(v, 0, &s)) {
            snprintf(msg, sizeof msg, "%s: --seed needs a whole number >= 0%%s", verb);
            usage(prog, argv0, msg, "");
            return -1;
        }
        o->seed = (uint64_t)s;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ recall */

static double overlap(const int8_t *a, const int8_t *b, long n)
{
    long dot = 0;
    for (long i = 0; i < n; i++) dot += a[i] * b[i];
    return (double)dot / (double)n;
}

static int recall_one(const physm_model *model, const spin_model *m, const char *prog, const char *from,
                      const char *to, double T, long sweeps, uint64_t seed, const int8_t *patterns, int n_patterns)
{
    const physm_spins *d = model->spins;
    char *path = physm_resolve_path(model, from);
    int8_t *rows = NULL;
    int n_rows = 0;
    if (!path || spin_rows_read(path, from, d->name, m->n, &rows, &n_rows)) {
        free(path);
        return PHYSM_EXIT_RUNTIME;
    }
    free(path);
    printf("row,sweeps,converged,energy_before,energy_after,nearest_pattern,overlap\n");
    double mean_overlap = 0;
    int converged_rows = 0;
    for (int r = 0; r < n_rows; r++) {
        int8_t *s = rows + (size_t)r * (size_t)m->n;
        physrt_rng rng;
        physrt_rng_seed(&rng, seed * 0x9E3779B97F4A7C15ull + (uint64_t)r);
        double e0 = spin_energy(m, s);
        long used;
        int converged = 0;
        if (T == 0) used = spin_descend(m, s, &rng, sweeps, &converged);
        else {
            for (used = 0; used < sweeps; used++) spin_sweep(m, s, T, SPIN_GLAUBER, seed + (uint64_t)r, used, NULL);
        }
        if (used < 0) {
            fprintf(stderr, "%s: error: out of memory\n", prog);
            free(rows);
            return PHYSM_EXIT_RUNTIME;
        }
        converged_rows += converged;
        int best = -1;
        double best_q = -2;
        for (int p = 0; p < n_patterns; p++) {
            double q = overlap(s, patterns + (size_t)p * (size_t)m->n, m->n);
            if (q > best_q) best_q = q, best = p;
        }
        if (best >= 0) mean_overlap += best_q;
        printf("%d,%ld,%d,%.10g,%.10g,", r, used, converged, e0, spin_energy(m, s));
        if (best >= 0) printf("%d,%.6f\n", best, best_q);
        else printf(",\n");
    }
    int status = spin_rows_write(to, d->name, m->n, rows, n_rows) ? PHYSM_EXIT_RUNTIME : PHYSM_EXIT_OK;
    if (status) fprintf(stderr, "%s: error: cannot write %s\n", prog, to);
    else {
        fprintf(stderr, "%s: recalled %d row%s from %s to %s", prog, n_rows, n_rows == 1 ? "" : "s", from, to);
        if (T == 0) fprintf(stderr, "; %d converged", converged_rows);
        if (n_patterns) fprintf(stderr, "; mean overlap with the nearest pattern %.4f", mean_overlap / n_rows);
        fputc('\n', stderr);
    }
    free(rows);
    return status;
}

static int recall_verb(const physm_model *model, int argc, char **argv, const char *prog, const char *argv0)
{
    const physm_spins *d = model->spins;
    common_opts o = {0};
    const char *from = NULL, *to = NULL;
    long clamp_lo = 0, clamp_hi = 0;
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        int r = common_option(argc, argv, &i, &o, prog, argv0, "recall");
        if (r < 0) return PHYSM_EXIT_USAGE;
        if (r) continue;
        if ((r = physm_opt_value(argc, argv, &i, "--from", &v))) {
            if (r < 0 || !v[0]) return usage(prog, argv0, "recall: --from needs a file name%s", "");
            from = v;
        } else if ((r = physm_opt_value(argc, argv, &i, "--to", &v))) {
            if (r < 0 || !v[0]) return usage(prog, argv0, "recall: --to needs a file name%s", "");
            to = v;
        } else if ((r = physm_opt_value(argc, argv, &i, "--clamp", &v))) {
            char extra;
            if (r < 0 || sscanf(v, "%ld:%ld%c", &clamp_lo, &clamp_hi, &extra) != 2 || clamp_lo < 0 ||
                clamp_hi <= clamp_lo || clamp_hi > d->n || clamp_hi - clamp_lo >= d->n)
                return usage(prog, argv0, "recall: --clamp needs A:B with 0 <= A < B <= the number of spins, "
                             "leaving a spin free%s", "");
        } else {
            return usage(prog, argv0, "recall: unknown argument '%s'", argv[i]);
        }
    }
    if (!d->n_recalls && !from)
        return usage(prog, argv0, "recall: the model declares no recall; give --from FILE --to FILE%s", "");
    spin_model m;
    if (spin_model_load(&m, model, prog, o.couplings, o.bias)) return PHYSM_EXIT_RUNTIME;
    if (clamp_hi > clamp_lo && m.lattice_dims) {
        spin_model_free(&m);
        return usage(prog, argv0, "recall: --clamp needs dense couplings (not a lattice)%s", "");
    }
    m.clamp_lo = clamp_lo;
    m.clamp_hi = clamp_hi;
    int8_t *patterns = NULL;
    int n_patterns = 0, status = PHYSM_EXIT_OK;
    if (d->coupling == PHYSM_COUPLING_HEBBIAN) {
        char *path = physm_resolve_path(model, d->coupling_file);
        int r = !path || spin_rows_read(path, d->coupling_file, d->name, m.n, &patterns, &n_patterns);
        free(path);
        if (r) status = PHYSM_EXIT_RUNTIME;
    }
    if (!status && from) {
        const physm_recall *first = d->n_recalls ? &d->recalls[0] : NULL;
        char fallback[512];
        snprintf(fallback, sizeof fallback, "%s_recalled.csv", model->name);
        status = recall_one(model, &m, prog, from, to ? to : fallback, first ? first->temperature : 0,
                            first ? first->sweeps : 100, o.seed, patterns, n_patterns);
    }
    for (int k = 0; !status && !from && k < d->n_recalls; k++) {
        const physm_recall *r = &d->recalls[k];
        status = recall_one(model, &m, prog, r->file, to ? to : r->out_file, r->temperature, r->sweeps, o.seed,
                            patterns, n_patterns);
    }
    free(patterns);
    spin_model_free(&m);
    return status;
}

/* ------------------------------------------------------------------ sample */

static int sample_verb(const physm_model *model, int argc, char **argv, const char *prog, const char *argv0)
{
    common_opts o = {0};
    double t_lo = -1, t_hi = -1;
    long n_t = 0, sweeps = 10000, burn = 1000, threads = 2, every = 1;
    const char *to = NULL, *samples_file = NULL, *start = "up";
    spin_algorithm alg = SPIN_METROPOLIS;
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        int r = common_option(argc, argv, &i, &o, prog, argv0, "sample");
        if (r < 0) return PHYSM_EXIT_USAGE;
        if (r) continue;
        if ((r = physm_opt_value(argc, argv, &i, "--temperatures", &v))) {
            char lo[64], hi[64];
            long n;
            if (r < 0 || sscanf(v, "%63[^:]:%63[^:]:%ld", lo, hi, &n) != 3 || real(lo, &t_lo) || real(hi, &t_hi) ||
                n < 1)
                return usage(prog, argv0, "sample: --temperatures needs a:b:n (n >= 1)%s", "");
            n_t = n;
        } else if ((r = physm_opt_value(argc, argv, &i, "--temperature", &v))) {
            if (r < 0 || real(v, &t_lo)) return usage(prog, argv0, "sample: --temperature needs a number%s", "");
            t_hi = t_lo;
            n_t = 1;
        } else if ((r = physm_opt_value(argc, argv, &i, "--sweeps", &v))) {
            if (r < 0 || physm_parse_long(v, 1, &sweeps)) return usage(prog, argv0, "sample: --sweeps needs a whole number >= 1%s", "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--burn-in", &v))) {
            if (r < 0 || physm_parse_long(v, 0, &burn)) return usage(prog, argv0, "sample: --burn-in needs a whole number >= 0%s", "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--threads", &v))) {
            if (r < 0 || physm_parse_long(v, 1, &threads) || threads > 256)
                return usage(prog, argv0, "sample: --threads needs a number from 1 to 256%s", "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--every", &v))) {
            if (r < 0 || physm_parse_long(v, 1, &every)) return usage(prog, argv0, "sample: --every needs a whole number >= 1%s", "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--algorithm", &v))) {
            if (r < 0) return usage(prog, argv0, "sample: --algorithm is metropolis, glauber or wolff%s", "");
            if (!strcmp(v, "metropolis")) alg = SPIN_METROPOLIS;
            else if (!strcmp(v, "glauber")) alg = SPIN_GLAUBER;
            else if (!strcmp(v, "wolff")) alg = SPIN_WOLFF;
            else return usage(prog, argv0, "sample: --algorithm is metropolis, glauber or wolff, not '%s'", v);
        } else if ((r = physm_opt_value(argc, argv, &i, "--start", &v))) {
            if (r < 0 || (strcmp(v, "up") && strcmp(v, "random")))
                return usage(prog, argv0, "sample: --start is up or random%s", "");
            start = v;
        } else if ((r = physm_opt_value(argc, argv, &i, "--to", &v))) {
            if (r < 0 || !v[0]) return usage(prog, argv0, "sample: --to needs a file name%s", "");
            to = v;
        } else if ((r = physm_opt_value(argc, argv, &i, "--samples", &v))) {
            if (r < 0 || !v[0]) return usage(prog, argv0, "sample: --samples needs a file name%s", "");
            samples_file = v;
        } else {
            return usage(prog, argv0, "sample: unknown argument '%s'", argv[i]);
        }
    }
    if (!n_t) return usage(prog, argv0, "sample: give --temperature T or --temperatures a:b:n%s", "");
    if (t_lo <= 0 || t_hi <= 0) {
        fprintf(stderr, "%s: error: sample: the temperature must be > 0 (got %g)%s\n", prog, t_lo <= 0 ? t_lo : t_hi,
                t_lo < 0 || t_hi < 0 ? "; a negative temperature has no Boltzmann distribution" : "");
        return PHYSM_EXIT_USAGE;
    }
    spin_model m;
    if (spin_model_load(&m, model, prog, o.couplings, o.bias)) return PHYSM_EXIT_RUNTIME;
    int status = PHYSM_EXIT_RUNTIME;
    int8_t *s = malloc((size_t)m.n);
    physrt_pool *pool = physrt_pool_create((int)threads);
    FILE *out = to ? fopen(to, "w") : stdout, *samples = samples_file ? fopen(samples_file, "w") : NULL;
    if (alg == SPIN_WOLFF) {
        int ok = m.lattice_dims && m.pair_scale > 0;
        for (long i = 0; ok && i < m.n; i++) ok = m.field[i] == 0;
        if (!ok) {
            fprintf(stderr, "%s: error: sample: Wolff clusters need a ferromagnetic lattice without fields; use "
                    "--algorithm metropolis or glauber\n", prog);
            goto done;
        }
    }
    if (!s || !pool) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        goto done;
    }
    if (!out || (samples_file && !samples)) {
        fprintf(stderr, "%s: error: cannot write %s\n", prog, !out ? to : samples_file);
        goto done;
    }
    physrt_rng rng;
    physrt_rng_seed(&rng, o.seed ^ 0x5DEECE66Dull);
    for (long i = 0; i < m.n; i++) s[i] = !strcmp(start, "up") || (physrt_rng_next_u64(&rng) >> 63) ? 1 : -1;
    if (samples) {
        for (long i = 0; i < m.n; i++) fprintf(samples, "%s%s_%ld", i ? "," : "", model->spins->name, i);
        fputc('\n', samples);
    }
    fprintf(out, "T,m,m_err,energy,energy_err,susceptibility,susceptibility_err,specific_heat,specific_heat_err,"
                 "binder,binder_err,flips_per_attempt\n");
    for (long k = 0; k < n_t; k++) {
        double T = n_t == 1 ? t_lo : t_lo + (t_hi - t_lo) * (double)k / (double)(n_t - 1);
        spin_stats st;
        if (spin_sample_at(&m, s, T, alg, sweeps, burn, o.seed + 0x100000001ull * (uint64_t)k, pool, samples, every,
                           &st)) {
            fprintf(stderr, "%s: error: out of memory\n", prog);
            goto done;
        }
        fprintf(out, "%.6g", T);
        for (int j = 0; j < 5; j++) fprintf(out, ",%.8g,%.3g", st.value[j], st.error[j]);
        fprintf(out, ",%.6g\n", st.acceptance);
        fflush(out);
    }
    status = PHYSM_EXIT_OK;
done:
    if (out && out != stdout && fclose(out)) status = PHYSM_EXIT_RUNTIME;
    if (samples && fclose(samples)) status = PHYSM_EXIT_RUNTIME;
    physrt_pool_destroy(pool);
    free(s);
    spin_model_free(&m);
    return status;
}

/* ------------------------------------------------------------------- learn */

static int learn_verb(const physm_model *model, int argc, char **argv, const char *prog, const char *argv0)
{
    const physm_spins *d = model->spins;
    common_opts o = {0};
    const char *data = NULL, *to_w = NULL, *to_b = NULL, *compare = NULL;
    long iterations = 500;
    double l2 = 0;
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        int r = common_option(argc, argv, &i, &o, prog, argv0, "learn");
        if (r < 0) return PHYSM_EXIT_USAGE;
        if (r) continue;
        if ((r = physm_opt_value(argc, argv, &i, "--iterations", &v))) {
            if (r < 0 || physm_parse_long(v, 1, &iterations) || iterations > 1000000)
                return usage(prog, argv0, "learn: --iterations needs a whole number from 1 to 1000000%s", "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--l2", &v))) {
            if (r < 0 || real(v, &l2) || l2 < 0) return usage(prog, argv0, "learn: --l2 needs a number >= 0%s", "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--to-couplings", &v))) {
            if (r < 0 || !v[0]) return usage(prog, argv0, "learn: --to-couplings needs a file name%s", "");
            to_w = v;
        } else if ((r = physm_opt_value(argc, argv, &i, "--to-bias", &v))) {
            if (r < 0 || !v[0]) return usage(prog, argv0, "learn: --to-bias needs a file name%s", "");
            to_b = v;
        } else if ((r = physm_opt_value(argc, argv, &i, "--compare", &v))) {
            if (r < 0 || !v[0]) return usage(prog, argv0, "learn: --compare needs a file name%s", "");
            compare = v;
        } else if (argv[i][0] != '-' && !data) {
            data = argv[i];
        } else {
            return usage(prog, argv0, "learn: unknown argument '%s'", argv[i]);
        }
    }
    if (!data) return usage(prog, argv0, "learn: give the file of observed spins (learn SAMPLES.csv)%s", "");
    int learn_W = d->coupling == PHYSM_COUPLING_TRAINABLE, learn_b = d->bias == PHYSM_BIAS_TRAINABLE;
    if (!learn_W && !learn_b) {
        fprintf(stderr, "%s: error: learn: the model has nothing trainable: declare 'coupling W = trainable()' or "
                "'coupling b = trainable_bias()'\n", prog);
        return PHYSM_EXIT_RUNTIME;
    }
    if (learn_W && d->n > 2000) {
        fprintf(stderr, "%s: error: learn: %ld spins are too many for dense trainable couplings (at most 2000)\n",
                prog, d->n);
        return PHYSM_EXIT_RUNTIME;
    }
    long n = d->n;
    int8_t *rows = NULL;
    int M = 0, status = PHYSM_EXIT_RUNTIME;
    if (spin_rows_read(data, data, d->name, n, &rows, &M)) return PHYSM_EXIT_RUNTIME;
    spin_model fixed = {0};
    int have_fixed = 0;
    if (!learn_W || !learn_b) { /* the part that is not learned: loaded as the model says */
        physm_spins partial = *d;
        physm_model pm = *model;
        if (learn_W) partial.coupling = PHYSM_COUPLING_NONE;
        if (learn_b) partial.bias = PHYSM_BIAS_NONE;
        pm.spins = &partial;
        if (spin_model_load(&fixed, &pm, prog, o.couplings, o.bias)) goto done_rows;
        have_fixed = 1;
    }
    spin_pl_problem p = {.n = n, .M = M, .rows = rows, .pair_scale = d->pair_scale, .bias_scale = d->bias_scale,
                         .uniform = d->uniform_field, .learn_W = learn_W, .learn_b = learn_b, .l2 = l2};
    double *raw_b = NULL;
    if (have_fixed) {
        p.W0 = fixed.W;
        if (!learn_b && d->bias != PHYSM_BIAS_NONE) { /* fixed.field holds bias_scale b + uniform: undo */
            raw_b = malloc((size_t)n * sizeof *raw_b);
            if (!raw_b) goto done_fixed;
            for (long i = 0; i < n; i++) raw_b[i] = (fixed.field[i] - d->uniform_field) / d->bias_scale;
            p.b0 = raw_b;
        }
    }
    int size = spin_pl_size(&p);
    double *x = calloc((size_t)size, sizeof *x), *W = malloc((size_t)n * (size_t)n * sizeof *W),
           *b = malloc((size_t)n * sizeof *b);
    if (!x || !W || !b) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        goto done_x;
    }
    physrt_lbfgs_options opts;
    physrt_lbfgs_default_options(&opts);
    opts.max_iterations = (int)iterations;
    opts.grad_tol = 1e-9;
    physrt_lbfgs_report rep;
    double f0 = spin_pl_objective(&p, x, W); /* W as scratch for the gradient at the start */
    if (physrt_lbfgs_minimize(size, x, spin_pl_objective, &p, &opts, &rep)) {
        fprintf(stderr, "%s: error: learn: L-BFGS failed (%s)\n", prog, physrt_lbfgs_reason_string(rep.reason));
        goto done_x;
    }
    spin_pl_unpack(&p, x, W, b);
    char wname[512], bname[512];
    snprintf(wname, sizeof wname, "%s_couplings.csv", model->name);
    snprintf(bname, sizeof bname, "%s_bias.csv", model->name);
    if (!to_w) to_w = wname;
    if (!to_b) to_b = bname;
    if ((learn_W && spin_matrix_write(to_w, d->name, n, W, (int)n)) || (learn_b && spin_matrix_write(to_b, d->name, n, b, 1))) {
        fprintf(stderr, "%s: error: cannot write %s\n", prog, learn_W ? to_w : to_b);
        goto done_x;
    }
    printf("samples %d, spins %ld, unknowns %d\n", M, n, size);
    printf("pseudo-likelihood loss %.10g -> %.10g (%d iterations, %s, |grad| %.3g)\n", f0, rep.f, rep.iterations,
           physrt_lbfgs_reason_string(rep.reason), rep.grad_norm);
    if (learn_W) printf("couplings %s -> %s\n", d->coupling_name, to_w);
    if (learn_b) printf("fields %s -> %s\n", d->bias_name, to_b);
    status = PHYSM_EXIT_OK;
    if (compare && learn_W) {
        spin_model truth = {.n = n};
        truth.W = calloc((size_t)n * (size_t)n, sizeof *truth.W);
        physm_spins cmp = *d;
        cmp.coupling = PHYSM_COUPLING_TRAINABLE;
        cmp.bias = PHYSM_BIAS_NONE;
        physm_model pm = *model;
        pm.spins = &cmp;
        spin_model t;
        if (spin_model_load(&t, &pm, prog, compare, NULL)) status = PHYSM_EXIT_RUNTIME;
        else {
            double se = 0, norm = 0;
            for (long i = 0; i < n; i++)
                for (long j = i + 1; j < n; j++) {
                    double e = W[(size_t)i * (size_t)n + (size_t)j] - t.W[(size_t)i * (size_t)n + (size_t)j];
                    se += e * e;
                    norm += t.W[(size_t)i * (size_t)n + (size_t)j] * t.W[(size_t)i * (size_t)n + (size_t)j];
                }
            long pairs = n * (n - 1) / 2;
            printf("coupling error against %s: rms %.6g, relative %.6g\n", compare, sqrt(se / (double)pairs),
                   norm > 0 ? sqrt(se / norm) : 0.0);
            spin_model_free(&t);
        }
        free(truth.W);
    }
done_x:
    free(x), free(W), free(b);
done_fixed:
    free(raw_b);
    if (have_fixed) spin_model_free(&fixed);
done_rows:
    free(rows);
    return status;
}

int physm_spin_main(const physm_model *model, int argc, char **argv)
{
    const char *argv0 = argc > 0 && argv[0] ? argv[0] : "model";
    const char *prog = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
    if (argc < 2) {
        fprintf(stderr, "%s: error: no command given (recall, sample, learn or help)\n", prog);
        spin_help(model, argv0, stderr);
        return PHYSM_EXIT_USAGE;
    }
    const char *verb = argv[1];
    for (int i = 1; i < argc; i++)
        if ((i == 1 && !strcmp(argv[i], "help")) || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            spin_help(model, argv0, stdout);
            return PHYSM_EXIT_OK;
        }
    if (!strcmp(verb, "recall")) return recall_verb(model, argc, argv, prog, argv0);
    if (!strcmp(verb, "sample")) return sample_verb(model, argc, argv, prog, argv0);
    if (!strcmp(verb, "learn")) return learn_verb(model, argc, argv, prog, argv0);
    fprintf(stderr, "%s: error: unknown command '%s' (a spin model runs recall, sample, learn or help)\n", prog, verb);
    return PHYSM_EXIT_USAGE;
}
