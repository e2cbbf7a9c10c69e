/* model_main.c - physm_main, the command line of a compiled model:
 * the verbs train, params, eval, simulate and help (--help), their options
 * and usage.
 * The generated object file defines main() as
 *     return physm_main(physm_model_get(), argc, argv);
 * so this library never defines main. Exit status: 0 success, 1 runtime
 * error (data, checkpoint, non-finite loss), 2 bad usage. */
#define _POSIX_C_SOURCE 200809L
#include "model_internal.h"
#include "spin_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *kind_name(physm_term_kind k)
{
    switch (k) {
    case PHYSM_EQUATION: return "equation";
    case PHYSM_INITIAL: return "initial";
    case PHYSM_BOUNDARY: return "boundary";
    case PHYSM_DATA: return "data";
    }
    return "?";
}

static const char *sampler_name(physm_sampler s)
{
    switch (s) {
    case PHYSM_SAMPLE_UNIFORM: return "uniform";
    case PHYSM_SAMPLE_SOBOL: return "sobol";
    case PHYSM_SAMPLE_LHS: return "lhs";
    case PHYSM_SAMPLE_GRID: return "grid";
    }
    return "?";
}

static void print_help(const physm_model *m, const char *argv0, FILE *out)
{
    fprintf(out,
            "usage: %s COMMAND [OPTIONS]\n"
            "\n"
            "Model '%s'%s%s%s.\n"
            "\n"
            "commands:\n"
            "  train [--steps N] [--seed S] [--threads T] [--checkpoint FILE]\n"
            "        [--stages A,B,...] [--precision f32|f64] [--resume] [--quiet]\n"
            "      Run the training schedule and save the trained values.\n"
            "      --steps N       at most N optimizer steps (stages in order)\n"
            "      --stages A,B    the length of each stage of the schedule, in order\n"
            "                      (0 skips a stage), e.g. a shorter run of Adam then L-BFGS\n"
            "      --seed S        seed of the initial weights and the sampled points (default 0)\n"
            "      --threads T     threads to use (default: the number of CPUs)\n"
            "      --checkpoint F  checkpoint file (default %s.ckpt); saved atomically at the\n"
            "                      end and every 30 s\n"
            "      --precision P   f32 (default) or f64; L-BFGS always runs in f64\n"
            "      --resume        continue from the checkpoint instead of a fresh start\n"
            "      --quiet         no progress output\n"
            "  params [--checkpoint FILE]\n"
            "      Print each trained constant as 'name = value'.\n"
            "  eval VAR=a:b:n [VAR=a:b:n ...] [--checkpoint FILE] [COLUMN ...]\n"
            "      Print CSV on a grid (first VAR slowest; a:b:n is n points from a to b,\n"
            "      VAR=a one point): the variables, every field whose inputs are given,\n"
            "      then each COLUMN, a derivative such as d(u,x), d(u,x,x) or d(u,x,t).\n"
            "  simulate [NAME] [--checkpoint FILE] [--untrained] [--seed S]\n"
            "           [--integrator leapfrog|verlet|midpoint|rk4] [--dt H] [--steps N] [--every K]\n"
            "           [--from FILE] [--to FILE] [--tolerance T] [--threads T] [--skin S] [--quiet]\n"
            "      Integrate the model's dynamics (all start states together) and write CSV:\n"
            "      trajectory,step,t, the state, energy and P_x.. when the model defines them, then masses.\n"
            "      Prints the integrator, time taken and the energy/momentum drift on stdout.\n"
            "      Defaults come from the simulate declaration NAME (else the first one).\n"
            "      --checkpoint F  trained values (default %s.ckpt); needed when the model\n"
            "                      has trainable values, unless --untrained\n"
            "      --untrained     fresh initial values from --seed S (default 0)\n"
            "      --integrator I  leapfrog (= verlet, Stormer-Verlet), midpoint (implicit) or rk4\n"
            "      --dt H, --steps N  time step and step count\n"
            "      --every K       write every K-th step (and the first and last)\n"
            "      --from FILE     start states: CSV with the state names as columns, one\n"
            "                      trajectory per row\n"
            "      --to FILE       output CSV (default: the declaration's, or MODEL_simulate.csv)\n"
            "      --tolerance T   of the implicit stages: no component changes by more\n"
            "                      than T (1 + |value|) (default: the declaration's, or 1e-12)\n"
            "      --quiet         no progress and no report\n"
            "      Particles too many for a state row (or started from FILE.xyz, extended\n"
            "      XYZ with Lattice and pbc) run as one system of any size: velocity Verlet\n"
            "      with neighbour lists under the model's cutoffs; frames go to FILE.xyz and\n"
            "      energies and momentum per written step to FILE.csv.\n"
            "      --threads T     threads for a particle system (default: every CPU)\n"
            "      --skin S        neighbour-list skin (default 0.15 x the cutoff)\n"
            "  help, --help\n"
            "      This text.\n",
            argv0, m->name, m->source_path ? " (from " : "", m->source_path ? m->source_path : "",
            m->source_path ? ")" : "", m->name, m->name);
    fprintf(out, "\nfields:\n");
    if (m->n_fields == 0) fprintf(out, "  (none)\n");
    for (int f = 0; f < m->n_fields; f++) {
        const physm_field *fd = &m->fields[f];
        fprintf(out, "  %s(", fd->name);
        for (int i = 0; i < fd->n_inputs; i++) fprintf(out, "%s%s", i ? ", " : "", fd->input_names[i]);
        fprintf(out, "): mlp %d", fd->n_inputs);
        for (int h = 0; h < fd->n_hidden; h++) fprintf(out, " -> %d", fd->hidden_widths[h]);
        const char *act = physrt_activation_name(fd->activation);
        fprintf(out, " -> %d, %s\n", fd->n_outputs, act ? act : "?");
    }
    fprintf(out, "params:\n");
    if (m->n_params == 0) fprintf(out, "  (none)\n");
    for (int p = 0; p < m->n_params; p++)
        fprintf(out, "  %s (initially %.10g)\n", m->params[p].name, m->params[p].init);
    fprintf(out, "terms:\n");
    if (m->n_terms == 0) fprintf(out, "  (none)\n");
    for (int t = 0; t < m->n_terms; t++) {
        const physm_term *tm = &m->terms[t];
        fprintf(out, "  %s: %s, weight %g, ", tm->name, kind_name(tm->kind), tm->weight);
        if (tm->kind == PHYSM_DATA) fprintf(out, "data file %s\n", tm->data_file);
        else
            fprintf(out, "%d %s points%s\n", tm->n_points, sampler_name(tm->sampler),
                    tm->n_faces > 0 ? " on faces" : "");
    }
    if (m->dynamics) {
        const physm_dynamics *d = m->dynamics;
        static const char *const kinds[] = {"hamiltonian", "newtonian", "explicit"};
        fprintf(out, "dynamics: %s%s, state", (unsigned)d->kind < 3 ? kinds[d->kind] : "?",
                d->separable ? " (separable)" : "");
        for (int k = 0; k < d->n_state; k++) fprintf(out, " %s", d->names[k]);
        if (d->n_aux > 0) {
            fprintf(out, "; constant");
            for (int k = d->n_state; k < d->n_state + d->n_aux; k++) fprintf(out, " %s", d->names[k]);
        }
        fprintf(out, "%s%s\n", d->energy ? "; energy" : "", d->momentum ? "; momentum" : "");
        if (d->conserve_energy || d->conserve_momentum)
            fprintf(out, "  conserve %s%s%s\n", d->conserve_energy ? "energy" : "",
                    d->conserve_energy && d->conserve_momentum ? ", " : "", d->conserve_momentum ? "momentum" : "");
        fprintf(out, "simulations:\n");
        if (m->n_simulations == 0) fprintf(out, "  (none)\n");
        for (int i = 0; i < m->n_simulations; i++) {
            const physm_simulation *sm = &m->simulations[i];
            fprintf(out, "  %s: %s, dt %g, %ld steps, every %ld, from %s, to %s\n", sm->name,
                    physm_integrator_name(sm->integrator), sm->dt, sm->steps, sm->every,
                    sm->start_file ? sm->start_file : "given values", sm->out_file ? sm->out_file : "(default)");
        }
    }
    fprintf(out, "schedule:\n");
    if (m->n_stages == 0) fprintf(out, "  (none)\n");
    for (int s = 0; s < m->n_stages; s++) {
        const physm_stage *st = &m->stages[s];
        if (st->optimizer == PHYSM_ADAM)
            fprintf(out, "  adam, %ld steps, lr %g\n", st->steps, st->adam.schedule.lr);
        else
            fprintf(out, "  lbfgs, %ld iterations, history %d\n", st->steps, st->lbfgs.history);
    }
}

static int usage_error(const char *prog, const char *argv0, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s: error: ", prog);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n(run '%s --help' for usage)\n", argv0);
    return PHYSM_EXIT_USAGE;
}

/* Option with a value: "--name value" or "--name=value". Returns 1 and sets
 * *val if argv[*i] is the option, 0 if it is not, -1 if the value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t ln = strlen(name);
    if (strncmp(argv[*i], name, ln)) return 0;
    if (argv[*i][ln] == '=') {
        *val = argv[*i] + ln + 1;
        return 1;
    }
    if (argv[*i][ln]) return 0;
    if (*i + 1 >= argc) return -1;
    *val = argv[++*i];
    return 1;
}

static int parse_long(const char *s, long lo, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < lo) return -1;
    *out = v;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int parse_seed(const char *v, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long s = v[0] != '-' ? strtoull(v, &end, 10) : 0;
    if (v[0] == '-' || !v[0] || *end || errno) return -1;
    *out = (uint64_t)s;
    return 0;
}

static int parse_positive(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v > 0) || v == HUGE_VAL) return -1;
    *out = v;
    return 0;
}

static int simulate_verb(const physm_layout *lay, const char *prog, const char *argv0, const char *default_ckpt,
                         int argc, char **argv)
{
    physm_simulate_options o = {.checkpoint = default_ckpt, .integrator = -1, .skin = -1};
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        int r;
        if ((r = opt_value(argc, argv, &i, "--checkpoint", &v))) {
            if (r < 0 || !v[0]) return usage_error(prog, argv0, "simulate: --checkpoint needs a file name%s%s", "", "");
            o.checkpoint = v;
        } else if ((r = opt_value(argc, argv, &i, "--seed", &v))) {
            if (r < 0 || parse_seed(v, &o.seed))
                return usage_error(prog, argv0, "simulate: --seed needs a whole number >= 0%s%s", v ? ", not " : "",
                                   v ? v : "");
        } else if ((r = opt_value(argc, argv, &i, "--integrator", &v))) {
            if (r > 0 && (!strcmp(v, "leapfrog") || !strcmp(v, "verlet"))) o.integrator = PHYSM_INT_LEAPFROG;
            else if (r > 0 && !strcmp(v, "midpoint")) o.integrator = PHYSM_INT_MIDPOINT;
            else if (r > 0 && !strcmp(v, "rk4")) o.integrator = PHYSM_INT_RK4;
            else
                return usage_error(prog, argv0, "simulate: --integrator is leapfrog, verlet, midpoint or rk4%s%s",
                                   v ? ", not " : "", v ? v : "");
        } else if ((r = opt_value(argc, argv, &i, "--dt", &v))) {
            if (r < 0 || parse_positive(v, &o.dt))
                return usage_error(prog, argv0, "simulate: --dt needs a finite number > 0%s%s", v ? ", not " : "",
                                   v ? v : "");
        } else if ((r = opt_value(argc, argv, &i, "--tolerance", &v))) {
            if (r < 0 || parse_positive(v, &o.tolerance))
                return usage_error(prog, argv0, "simulate: --tolerance needs a finite number > 0%s%s",
                                   v ? ", not " : "", v ? v : "");
        } else if ((r = opt_value(argc, argv, &i, "--steps", &v))) {
            if (r < 0 || parse_long(v, 1, &o.steps))
                return usage_error(prog, argv0, "simulate: --steps needs a whole number >= 1%s%s", v ? ", not " : "",
                                   v ? v : "");
        } else if ((r = opt_value(argc, argv, &i, "--every", &v))) {
            if (r < 0 || parse_long(v, 1, &o.every))
                return usage_error(prog, argv0, "simulate: --every needs a whole number >= 1%s%s", v ? ", not " : "",
                                   v ? v : "");
        } else if ((r = opt_value(argc, argv, &i, "--threads", &v))) {
            long n;
            if (r < 0 || parse_long(v, 1, &n) || n > 256)
                return usage_error(prog, argv0, "simulate: --threads needs a number from 1 to 256%s%s",
                                   v ? ", not " : "", v ? v : "");
            o.threads = (int)n;
        } else if ((r = opt_value(argc, argv, &i, "--skin", &v))) {
            if (r < 0 || parse_positive(v, &o.skin))
                return usage_error(prog, argv0, "simulate: --skin needs a finite number > 0%s%s", v ? ", not " : "",
                                   v ? v : "");
        } else if ((r = opt_value(argc, argv, &i, "--from", &v))) {
            if (r < 0 || !v[0]) return usage_error(prog, argv0, "simulate: --from needs a file name%s%s", "", "");
            o.from = v;
        } else if ((r = opt_value(argc, argv, &i, "--to", &v))) {
            if (r < 0 || !v[0]) return usage_error(prog, argv0, "simulate: --to needs a file name%s%s", "", "");
            o.to = v;
        } else if (!strcmp(argv[i], "--untrained")) {
            o.untrained = 1;
        } else if (!strcmp(argv[i], "--quiet")) {
            o.quiet = 1;
        } else if (argv[i][0] != '-' && !o.name) {
            o.name = argv[i];
        } else {
            return usage_error(prog, argv0, "simulate: unknown %s '%s'", argv[i][0] == '-' ? "option" : "argument",
                               argv[i]);
        }
    }
    return physm_simulate(lay, &o);
}

int physm_main(const physm_model *model, int argc, char **argv)
{
    if (model->spins) return physm_spin_main(model, argc, argv); /* spin_main.c */
    const char *argv0 = argc > 0 && argv[0] ? argv[0] : "model";
    const char *prog = base_name(argv0);
    physm_layout lay;
    if (physm_layout_init(&lay, model, prog)) return PHYSM_EXIT_RUNTIME;
    const physm_model *m = model;
    int status = PHYSM_EXIT_USAGE;
    char *default_ckpt = malloc(strlen(m->name) + 6);
    if (!default_ckpt) {
        physm_layout_free(&lay);
        fprintf(stderr, "%s: error: out of memory\n", prog);
        return PHYSM_EXIT_RUNTIME;
    }
    strcpy(default_ckpt, m->name);
    strcat(default_ckpt, ".ckpt");

    if (argc < 2) {
        fprintf(stderr, "%s: error: no command given (train, params, eval, simulate or help)\n", prog);
        print_help(m, argv0, stderr);
        goto done;
    }
    const char *verb = argv[1];
    if (!strcmp(verb, "help") || !strcmp(verb, "--help") || !strcmp(verb, "-h")) {
        print_help(m, argv0, stdout);
        status = PHYSM_EXIT_OK;
        goto done;
    }
    /* --help anywhere after a verb. */
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help(m, argv0, stdout);
            status = PHYSM_EXIT_OK;
            goto done;
        }

    if (!strcmp(verb, "train")) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        physm_train_options o = {-1, 0, ncpu >= 1 ? (int)(ncpu > 64 ? 64 : ncpu) : 2, default_ckpt, 1, 0, 0, 30.0};
        long stage_steps[64];
        int n_stage_steps = 0;
        if (m->n_stages > 64) {
            status = usage_error(prog, argv0, "train: more than 64 stages%s%s", "", "");
            goto done;
        }
        for (int i = 2; i < argc; i++) {
            const char *v = NULL;
            int r;
            long n;
            if ((r = opt_value(argc, argv, &i, "--steps", &v))) {
                if (r < 0 || parse_long(v, 0, &n)) {
                    status = usage_error(prog, argv0, "train: --steps needs a whole number >= 0%s%s",
                                         v ? ", not " : "", v ? v : "");
                    goto done;
                }
                o.steps = n;
            } else if ((r = opt_value(argc, argv, &i, "--seed", &v))) {
                if (r < 0 || parse_seed(v, &o.seed)) {
                    status = usage_error(prog, argv0, "train: --seed needs a whole number >= 0%s%s",
                                         v ? ", not " : "", v ? v : "");
                    goto done;
                }
            } else if ((r = opt_value(argc, argv, &i, "--threads", &v))) {
                if (r < 0 || parse_long(v, 1, &n) || n > 256) {
                    status = usage_error(prog, argv0, "train: --threads needs a number from 1 to 256%s%s",
                                         v ? ", not " : "", v ? v : "");
                    goto done;
                }
                o.threads = (int)n;
            } else if ((r = opt_value(argc, argv, &i, "--checkpoint-interval", &v))) {
                /* hidden: seconds between periodic checkpoints (tests) */
                char *end;
                double s = r > 0 ? strtod(v, &end) : 0;
                if (r < 0 || !v[0] || *end || !(s >= 0)) {
                    status = usage_error(prog, argv0, "train: --checkpoint-interval needs seconds >= 0%s%s",
                                         v ? ", not " : "", v ? v : "");
                    goto done;
                }
                o.checkpoint_interval = s;
            } else if ((r = opt_value(argc, argv, &i, "--checkpoint", &v))) {
                if (r < 0 || !v[0]) {
                    status = usage_error(prog, argv0, "train: --checkpoint needs a file name%s%s", "", "");
                    goto done;
                }
                o.checkpoint = v;
            } else if ((r = opt_value(argc, argv, &i, "--precision", &v))) {
                if (r < 0 || (strcmp(v, "f32") && strcmp(v, "f64"))) {
                    status = usage_error(prog, argv0, "train: --precision is f32 or f64%s%s", v ? ", not " : "",
                                         v ? v : "");
                    goto done;
                }
                o.f32 = !strcmp(v, "f32");
            } else if ((r = opt_value(argc, argv, &i, "--stages", &v))) {
                /* the step count of each stage in order, e.g. 3000,300 (0 skips a stage) */
                n_stage_steps = 0;
                for (const char *p = r > 0 ? v : ""; r > 0 && *p && n_stage_steps < m->n_stages;) {
                    char *end;
                    errno = 0;
                    long k = strtol(p, &end, 10);
                    if (end == p || k < 0 || errno || (*end && *end != ',')) break;
                    stage_steps[n_stage_steps++] = k;
                    p = *end ? end + 1 : end;
                }
                if (r < 0 || n_stage_steps != m->n_stages) {
                    char count[32];
                    snprintf(count, sizeof count, "%d", m->n_stages);
                    status = usage_error(prog, argv0, "train: --stages needs %s whole numbers >= 0, one per stage%s",
                                         count, ", separated by commas");
                    goto done;
                }
            } else if (!strcmp(argv[i], "--resume")) {
                o.resume = 1;
            } else if (!strcmp(argv[i], "--quiet")) {
                o.quiet = 1;
            } else {
                status = usage_error(prog, argv0, "train: unknown %s '%s'",
                                     argv[i][0] == '-' ? "option" : "argument", argv[i]);
                goto done;
            }
        }
        if (n_stage_steps) { /* train a copy of the model whose stages have the given lengths */
            physm_model shorter = *m;
            physm_stage *stages = calloc((size_t)m->n_stages, sizeof *stages);
            if (!stages) {
                status = PHYSM_EXIT_RUNTIME;
                goto done;
            }
            for (int s = 0; s < m->n_stages; s++) {
                stages[s] = m->stages[s];
                stages[s].steps = stage_steps[s];
                stages[s].lbfgs.max_iterations = (int)(stage_steps[s] > 2147483647L ? 2147483647L : stage_steps[s]);
                if (stage_steps[s] > 0) stages[s].adam.schedule.total_steps = stage_steps[s];
            }
            shorter.stages = stages;
            lay.model = &shorter;
            status = physm_train(&lay, &o);
            lay.model = m;
            free(stages);
        } else {
            status = physm_train(&lay, &o);
        }
    } else if (!strcmp(verb, "params")) {
        const char *ckpt = default_ckpt;
        for (int i = 2; i < argc; i++) {
            const char *v = NULL;
            int r = opt_value(argc, argv, &i, "--checkpoint", &v);
            if (r < 0 || (r > 0 && !v[0])) {
                status = usage_error(prog, argv0, "params: --checkpoint needs a file name%s%s", "", "");
                goto done;
            }
            if (r == 0) {
                status = usage_error(prog, argv0, "params: unknown %s '%s'",
                                     argv[i][0] == '-' ? "option" : "argument", argv[i]);
                goto done;
            }
            ckpt = v;
        }
        double *theta = calloc(lay.n_theta + 1, sizeof *theta);
        status = PHYSM_EXIT_RUNTIME;
        if (!theta) fprintf(stderr, "%s: error: out of memory\n", prog);
        else if (lay.n_theta == 0 || physm_checkpoint_load(&lay, ckpt, theta, NULL) == 0) {
            for (int p = 0; p < m->n_params; p++)
                printf("%s = %.10g\n", m->params[p].name, theta[lay.n_weights + (size_t)p]);
            if (fflush(stdout) == 0) status = PHYSM_EXIT_OK;
        }
        free(theta);
    } else if (!strcmp(verb, "eval")) {
        const char *ckpt = default_ckpt;
        char **rest = calloc((size_t)argc + 1, sizeof *rest);
        int n_rest = 0;
        if (!rest) {
            status = PHYSM_EXIT_RUNTIME;
            fprintf(stderr, "%s: error: out of memory\n", prog);
            goto done;
        }
        for (int i = 2; i < argc; i++) {
            const char *v = NULL;
            int r = opt_value(argc, argv, &i, "--checkpoint", &v);
            if (r < 0 || (r > 0 && !v[0])) {
                free(rest);
                status = usage_error(prog, argv0, "eval: --checkpoint needs a file name%s%s", "", "");
                goto done;
            }
            if (r > 0) ckpt = v;
            else if (argv[i][0] == '-' && argv[i][1] == '-') {
                free(rest);
                status = usage_error(prog, argv0, "eval: unknown option '%s'%s", argv[i], "");
                goto done;
            } else rest[n_rest++] = argv[i];
        }
        status = physm_grid_eval(&lay, ckpt, n_rest, rest, stdout);
        free(rest);
    } else if (!strcmp(verb, "simulate")) {
        status = simulate_verb(&lay, prog, argv0, default_ckpt, argc, argv);
    } else {
        status = usage_error(prog, argv0, "unknown command '%s'%s (commands: train, params, eval, simulate, help)",
                             verb, "");
    }
done:
    free(default_ckpt);
    physm_layout_free(&lay);
    return status;
}
