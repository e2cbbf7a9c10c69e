/* model_main.c - physm_main, the command line of a compiled model:
 * the verbs train, params, eval, simulate, test, check-symmetry, plot and help (--help), their options
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

/* Frames data trains in float64 (atomic_loss.c). */
static int has_frames(const physm_model *m)
{
    for (int t = 0; t < m->n_terms; t++)
        if (m->terms[t].frames) return 1;
    return 0;
}

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

static void print_help(const physm_model *m, const char *argv0, const char *default_ckpt, FILE *out)
{
    fprintf(out,
            "usage: %s COMMAND [OPTIONS]\n"
            "\n"
            "Model '%s'%s%s%s.\n"
            "\n"
            "commands:\n"
            "  train [--steps N] [--seed S] [--threads T] [--checkpoint FILE] [--stages A,B,...]\n"
            "        [--precision f32|f64] [--resume | --more N | --overwrite] [--data NAME=FILE]\n"
            "        [--log-every K] [--quiet]\n"
            "      Run the training schedule and save the trained values. A fresh run never\n"
            "      replaces a checkpoint holding training: it stops and says how to go on.\n"
            "      Ctrl-C (SIGINT) or SIGTERM saves at the next step and exits (status 130/143).\n"
            "      --steps N       at most N optimizer steps (stages in order)\n"
            "      --stages A,B    the length of each stage of the schedule, in order, one whole\n"
            "                      number per stage (0 skips a stage), e.g. a shorter run\n"
            "      --seed S        seed of the initial weights and the sampled points (default 0)\n"
            "      --threads T     threads to use (default: the number of CPUs)\n"
            "      --checkpoint F  checkpoint file (default %s, after the program's name);\n"
            "                      saved atomically at the end and every 30 s\n"
            "      --precision P   f32 (default; f64 for frames data) or f64; lbfgs, ssbroyden, ssbfgs and bfgs\n"
            "                      always run in f64\n"
            "      --resume        continue the schedule from the checkpoint\n"
            "      --more N        continue from the checkpoint for N more steps; past the end of\n"
            "                      the schedule they are steps of its last stage, whose optimizer\n"
            "                      starts afresh (Adam: new moments, its lr schedule over N steps)\n"
            "      --overwrite     start afresh even if the checkpoint holds training\n"
            "      --data NAME=F   read data declaration NAME (its name or its file's name) from F,\n"
            "                      relative to the working directory; --data F for a model with one\n"
            "      --log-every K   a loss history row every K steps (default 10); the history is\n"
            "                      appended to CHECKPOINT.history.csv (.ckpt replaced) at every save:\n"
            "                      step,stage,TERM...,total,lr,elapsed_s\n"
            "      --quiet         no progress output\n"
            "      mpirun -np K %s train ...\n"
            "                      K processes (Open MPI), each with 1/K of every term's\n"
            "                      points, take the steps of one (to round-off); process 0\n"
            "                      writes the files; without --threads each takes its share\n"
            "                      of the cores. Without mpirun no MPI is loaded.\n"
            "  params [--checkpoint FILE]\n"
            "      Print each trained constant as 'name = value'.\n"
            "  eval VAR=a:b:n [VAR=a:b:n ...] [--checkpoint FILE] [--format csv|npy] [COLUMN ...]\n"
            "      Print CSV on a grid (first VAR slowest; a:b:n is n points from a to b,\n"
            "      VAR=a one point): the variables, every field whose inputs are given,\n"
            "      then each COLUMN: a derivative such as d(u,x), d(u,x,x) or d(u,x,t), an\n"
            "      equation's name (its residual), a trainable constant, a const or a let.\n"
            "      Column names suit NumPy and pandas: d(v,x) output 0 is d_v_x_0.\n"
            "      --format npy    a NumPy structured array instead (numpy.load(\"u.npy\")[\"u\"])\n"
            "  simulate [NAME] [--checkpoint FILE] [--untrained] [--seed S]\n"
            "           [--integrator leapfrog|verlet|midpoint|rk4|langevin] [--temperature K]\n"
            "           [--dt H] [--steps N] [--every K]\n"
            "           [--from FILE | --data NAME=FILE] [--to FILE] [--tolerance T] [--format csv|npy]\n"
            "           [--threads T] [--skin S] [--quiet]\n"
            "      Integrate the model's dynamics (all start states together) and write CSV:\n"
            "      trajectory,step,t, the state, energy and P_x.. when the model defines them, then masses.\n"
            "      Prints the integrator, time taken and the energy/momentum drift on stdout.\n"
            "      Defaults come from the simulate declaration NAME (else the first one).\n"
            "      --checkpoint F  trained values (default %s); needed when the model\n"
            "                      has trainable values, unless --untrained\n"
            "      --untrained     fresh initial values from --seed S (default 0)\n"
            "      --integrator I  leapfrog (= verlet, Stormer-Verlet), midpoint (implicit), rk4,\n"
            "                      or langevin (particle systems: NVT at --temperature)\n"
            "      --temperature K langevin's temperature in kelvin (energies in eV)\n"
            "      --dt H, --steps N  time step and step count\n"
            "      --every K       write every K-th step (and the first and last)\n"
            "      --from FILE     start states: CSV with the state names as columns, one\n"
            "                      trajectory per row (relative to the working directory)\n"
            "      --data NAME=F   the same, NAME being the declaration's start file or name\n"
            "      --to FILE       output CSV (default: the declaration's, or MODEL_simulate.csv)\n"
            "      --tolerance T   of the implicit stages: no component changes by more\n"
            "                      than T (1 + |value|) (default: the declaration's, or 1e-12)\n"
            "      --format npy    write a NumPy structured array (the default name ends in .npy)\n"
            "      --quiet         no progress and no report\n"
            "      Particles too many for a state row (or started from FILE.xyz, extended\n"
            "      XYZ with Lattice and pbc) run as one system of any size: velocity Verlet\n"
            "      with neighbour lists under the model's cutoffs; frames go to FILE.xyz and\n"
            "      energies and momentum per written step to FILE.csv.\n"
            "      --threads T     threads for a particle system (default: every CPU)\n"
            "      --skin S        neighbour-list skin (default 0.15 x the cutoff)\n"
            "  hessian FILE.xyz [--checkpoint FILE] [--untrained] [--seed S] [--matrix OUT.csv]\n"
            "      The analytic Hessian of a particle system's potential energy at the file's first\n"
            "      frame, its mass-weighted normal modes as frequencies in cm^-1 (imaginary ones\n"
            "      marked i; eV, A, amu) and the zero-point energy; --matrix writes H as CSV.\n"
            "  test FILE.xyz [--checkpoint FILE] [--untrained] [--seed S] [--write OUT.xyz] [--threads T]\n"
            "      A particle system's energy and forces on every frame of an extended XYZ file,\n"
            "      against the frame's energy= and forces where it has them: RMSE and MAE (energy\n"
            "      per atom), the last line 'rmse: energy X meV/atom, forces Y eV/A' (eV and A).\n"
            "      --write OUT     the frames with the model's energy, forces and (periodic cells)\n"
            "                      stress (ASE: -virial / volume, eV/A^3), as extended XYZ, their other\n"
            "                      per-atom columns (charges, ...) kept; a frame's stress= reference\n"
            "                      gives a stress RMSE\n"
            "  check-symmetry FILE.xyz [--checkpoint FILE] [--untrained] [--seed S] [--trials N]\n"
            "                 [--tolerance T] [--threads T]\n"
            "      A particle system's energy and forces on every frame of an extended XYZ file\n"
            "      against the frame moved by N (default 10) random transformations of each kind:\n"
            "      rotations (uniform on SO(3)), reflections (improper rotations), translations\n"
            "      (wrapped into a periodic cell) and permutations of like atoms (same species\n"
            "      column, else Z; all atoms without either); rotations turn the cell's lattice\n"
            "      vectors too. One line per kind: max |E(gX) - E(X)| and max |F(gX) - R F(X)|,\n"
            "      each also relative to |E(X)| and max |F(X)| (translation: also |sum F|), then a\n"
            "      verdict; exit status 1, naming the symmetry, when a relative error exceeds T.\n"
            "      --seed S        seed of the transformations (and of --untrained values; default 0)\n"
            "      --tolerance T   largest relative error that passes (default 1e-10)\n"
            "  plot WHAT [--out FILE.png] [--checkpoint FILE]\n"
            "      Draw a PNG with gnuplot (Debian: gnuplot-nox; $GNUPLOT names another) and\n"
            "      print its name (default PROGRAM_WHAT.png). WHAT is one of:\n"
            "      history [FILE]  the loss of every term and the total over the steps\n"
            "      VAR=a:b:n [VAR=a:b:n] [COLUMN]\n"
            "                      a field (or any eval COLUMN) over a line, or over a 2-D grid as\n"
            "                      a heat map (first VAR across); VAR=a holds a variable fixed\n"
            "      trajectory [FILE], energy [FILE]\n"
            "                      simulate's CSV: each state over t; the relative energy drift\n"
            "  help, --help\n"
            "      This text.\n",
            argv0, m->name, m->source_path ? " (from " : "", m->source_path ? m->source_path : "",
            m->source_path ? ")" : "", default_ckpt, argv0, default_ckpt);
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
        if (tm->weight_rule != PHYSM_WEIGHT_FIXED)
            fprintf(out, "  %s: %s, weight %s (%s, every %ld steps, alpha %g), ", tm->name, kind_name(tm->kind),
                    tm->weight_rule == PHYSM_WEIGHT_AUTO ? "balanced automatically" : "adaptive",
                    tm->weight_rule == PHYSM_WEIGHT_ANNEALING ? "annealing" : "grad_norm", tm->weight_every,
                    tm->weight_alpha);
        else fprintf(out, "  %s: %s, weight %g, ", tm->name, kind_name(tm->kind), tm->weight);
        if (tm->kind == PHYSM_DATA) fprintf(out, "data file %s\n", tm->data_file);
        else if (tm->adapt != PHYSM_ADAPT_NONE)
            fprintf(out, "%d %s points%s, %s every %ld steps (fraction %g, k %g, c %g, pool %d)\n", tm->n_points,
                    sampler_name(tm->sampler), tm->n_faces > 0 ? " on faces" : "",
                    tm->adapt == PHYSM_ADAPT_RARD ? "RAR-D" : "RAD", tm->adapt_every, tm->adapt_fraction, tm->adapt_k,
                    tm->adapt_c, tm->adapt_pool);
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
        else if (st->optimizer == PHYSM_LBFGS)
            fprintf(out, "  lbfgs, %ld iterations, history %d\n", st->steps, st->lbfgs.history);
        else
            fprintf(out, "  %s, %ld iterations (dense, float64%s)\n",
                    physrt_qn_method_name((physrt_qn_method)st->qn.method), st->steps,
                    st->lbfgs_above_dense_limit ? "; lbfgs above 10000 parameters" : "");
    }
}

int physm_usage_error(const char *prog, const char *argv0, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s: error: ", prog);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\n(run '%s --help' for usage)\n", argv0);
    return PHYSM_EXIT_USAGE;
}

int physm_opt_value(int argc, char **argv, int *i, const char *name, const char **val)
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

int physm_parse_long(const char *s, long lo, long *out)
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

/* --data NAME=FILE names a data declaration by its term name, by its file
 * as the model wrote it, by that file's base name or by the base name
 * without its extension ("oscillator.csv" or "oscillator"). */
static int data_name_is(const char *file, const char *term, const char *name)
{
    if (!file) return 0;
    const char *base = base_name(file), *dot = strrchr(base, '.');
    size_t stem = dot ? (size_t)(dot - base) : strlen(base);
    return (term && !strcmp(name, term)) || !strcmp(name, file) || !strcmp(name, base) ||
           (strlen(name) == stem && !strncmp(name, base, stem));
}

/* The file of a --data argument, made absolute against the working
 * directory (so it does not resolve against the model's directory); a new
 * string or NULL. */
static char *data_path(const char *file)
{
    char cwd[4096];
    if (file[0] == '/' || !getcwd(cwd, sizeof cwd)) return strdup(file);
    char *p = malloc(strlen(cwd) + strlen(file) + 2);
    if (p) sprintf(p, "%s/%s", cwd, file);
    return p;
}

/* Applies one --data argument v to terms (a copy of the model's): NAME=FILE
 * or FILE alone for a model with one data declaration. files keeps the new
 * strings (freed by the caller). Returns 0 or an exit status. */
static int apply_data(const physm_model *m, physm_term *terms, char **files, const char *prog, const char *argv0,
                      const char *verb, const char *v)
{
    const char *eq = strchr(v, '=');
    int n_data = 0, match = -1;
    for (int t = 0; t < m->n_terms; t++)
        if (m->terms[t].kind == PHYSM_DATA) n_data++;
    if (eq) {
        char name[256];
        size_t ln = (size_t)(eq - v);
        if (ln < sizeof name) {
            memcpy(name, v, ln);
            name[ln] = 0;
            for (int t = 0; t < m->n_terms && match < 0; t++)
                if (m->terms[t].kind == PHYSM_DATA && data_name_is(m->terms[t].data_file, m->terms[t].name, name))
                    match = t;
        }
        if (match >= 0) v = eq + 1;
    }
    if (match < 0 && n_data == 1 && !(eq && access(v, F_OK) != 0))
        for (int t = 0; t < m->n_terms; t++)
            if (m->terms[t].kind == PHYSM_DATA) match = t;
    if (match < 0) {
        fprintf(stderr, "%s: error: %s: --data %s: ", prog, verb, v);
        if (n_data == 0) fprintf(stderr, "the model '%s' declares no data\n", m->name);
        else {
            fprintf(stderr, "no data declaration of that name; give --data NAME=FILE with NAME one of:");
            for (int t = 0; t < m->n_terms; t++)
                if (m->terms[t].kind == PHYSM_DATA)
                    fprintf(stderr, " %s (file %s)", m->terms[t].name, m->terms[t].data_file);
            fprintf(stderr, "\n");
        }
        fprintf(stderr, "(run '%s --help' for usage)\n", argv0);
        return PHYSM_EXIT_USAGE;
    }
    if (!v[0]) return physm_usage_error(prog, argv0, "%s: --data needs a file name%s", verb, "");
    if (access(v, R_OK) != 0) {
        fprintf(stderr, "%s: error: %s: --data: cannot read %s: %s (relative to the working directory)\n", prog,
                verb, v, strerror(errno));
        return PHYSM_EXIT_RUNTIME;
    }
    free(files[match]);
    files[match] = data_path(v);
    if (!files[match]) {
        fprintf(stderr, "%s: error: out of memory\n", prog);
        return PHYSM_EXIT_RUNTIME;
    }
    terms[match].data_file = files[match];
    return 0;
}

/* What the verbs on frames of a particle system share (test,
 * check-symmetry, hessian): the trained values (--checkpoint, --untrained,
 * --seed), --threads where the verb takes it (threads >= 0) and the file. */
typedef struct {
    physm_simulate_options values;
    const char *file;
    long threads;
} frames_args;

/* A usage error "VERB: WHAT" (what with one %s for arg). */
static int frames_usage(const char *prog, const char *argv0, const char *verb, const char *what, const char *arg)
{
    char fmt[160];
    snprintf(fmt, sizeof fmt, "%s: %s%%s", verb, what);
    return physm_usage_error(prog, argv0, fmt, arg, "");
}

/* argv[*i] as one of the shared options: 1 taken, 0 not one of them, -1 a
 * usage error (its exit status in *status). */
static int frames_option(const char *prog, const char *argv0, const char *verb, int argc, char **argv, int *i,
                         frames_args *a, int *status)
{
    const char *v = NULL;
    int r;
    char not_v[300] = "";
    if ((r = physm_opt_value(argc, argv, i, "--checkpoint", &v))) {
        if (r < 0 || !v[0]) return *status = frames_usage(prog, argv0, verb, "--checkpoint needs a file name%s", ""), -1;
        a->values.checkpoint = v;
    } else if ((r = physm_opt_value(argc, argv, i, "--seed", &v))) {
        if (v) snprintf(not_v, sizeof not_v, ", not %s", v);
        if (r < 0 || parse_seed(v, &a->values.seed))
            return *status = frames_usage(prog, argv0, verb, "--seed needs a whole number >= 0%s", not_v), -1;
    } else if (a->threads >= 0 && (r = physm_opt_value(argc, argv, i, "--threads", &v))) {
        if (v) snprintf(not_v, sizeof not_v, ", not %s", v);
        if (r < 0 || physm_parse_long(v, 1, &a->threads) || a->threads > 256)
            return *status = frames_usage(prog, argv0, verb, "--threads needs a number from 1 to 256%s", not_v), -1;
    } else if (!strcmp(argv[*i], "--untrained")) {
        a->values.untrained = 1;
    } else if (argv[*i][0] != '-' && !a->file) {
        a->file = argv[*i];
    } else {
        return 0;
    }
    return 1;
}

static int frames_unknown(const char *prog, const char *argv0, const char *verb, const char *arg)
{
    char fmt[64];
    snprintf(fmt, sizeof fmt, "%s: unknown %%s '%%s'", verb);
    return physm_usage_error(prog, argv0, fmt, arg[0] == '-' ? "option" : "argument", arg);
}

static int frames_without_system(const physm_layout *lay, const char *prog, const char *argv0, const char *verb)
{
    char fmt[160];
    snprintf(fmt, sizeof fmt, "%s: the model '%%s' has no particle system (particles under dynamics newton)%%s", verb);
    return physm_usage_error(prog, argv0, fmt, lay->model->name, "");
}

static long cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : n;
}

/* test FILE: energies and forces of a particle system on frames (system_test.c). */
static int test_verb(const physm_layout *lay, const char *prog, const char *argv0, const char *default_ckpt,
                     int argc, char **argv)
{
    frames_args a = {.values = {.checkpoint = default_ckpt}, .threads = cpu_count()};
    const char *write = NULL;
    int status = 0;
    if (!lay->model->system) return frames_without_system(lay, prog, argv0, "test");
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        int r = frames_option(prog, argv0, "test", argc, argv, &i, &a, &status);
        if (r < 0) return status;
        if (r) continue;
        if ((r = physm_opt_value(argc, argv, &i, "--write", &v))) {
            if (r < 0 || !v[0]) return physm_usage_error(prog, argv0, "test: --write needs a file name%s%s", "", "");
            write = v;
        } else {
            return frames_unknown(prog, argv0, "test", argv[i]);
        }
    }
    if (!a.file) return physm_usage_error(prog, argv0, "test: which frames? test FILE.xyz%s%s", "", "");
    return physm_system_test(lay, &a.values, a.file, write, (int)a.threads);
}

/* check-symmetry FILE: invariance of a particle system's energy and forces
 * under rigid motions and permutations of like atoms (system_symmetry.c). */
static int check_symmetry_verb(const physm_layout *lay, const char *prog, const char *argv0,
                               const char *default_ckpt, int argc, char **argv)
{
    frames_args a = {.values = {.checkpoint = default_ckpt}, .threads = cpu_count()};
    physm_symmetry_options o = {.trials = 10, .tolerance = 1e-10};
    int status = 0;
    if (!lay->model->system) return frames_without_system(lay, prog, argv0, "check-symmetry");
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        int r = frames_option(prog, argv0, "check-symmetry", argc, argv, &i, &a, &status);
        if (r < 0) return status;
        if (r) continue;
        if ((r = physm_opt_value(argc, argv, &i, "--trials", &v))) {
            if (r < 0 || physm_parse_long(v, 1, &o.trials) || o.trials > 1000000)
                return physm_usage_error(prog, argv0, "check-symmetry: --trials needs a number from 1 to 1000000%s%s",
                                         v ? ", not " : "", v ? v : "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--tolerance", &v))) {
            if (r < 0 || parse_positive(v, &o.tolerance))
                return physm_usage_error(prog, argv0, "check-symmetry: --tolerance needs a finite number > 0%s%s",
                                         v ? ", not " : "", v ? v : "");
        } else {
            return frames_unknown(prog, argv0, "check-symmetry", argv[i]);
        }
    }
    if (!a.file) return physm_usage_error(prog, argv0, "check-symmetry: which frames? check-symmetry FILE.xyz%s%s", "", "");
    o.file = a.file;
    o.values = a.values;
    o.threads = (int)a.threads;
    return physm_system_check_symmetry(lay, &o);
}

/* hessian FILE: the Hessian, normal modes and zero-point energy of the first frame (system_hessian.c). */
static int hessian_verb(const physm_layout *lay, const char *prog, const char *argv0, const char *default_ckpt,
                        int argc, char **argv)
{
    frames_args a = {.values = {.checkpoint = default_ckpt}, .threads = -1};
    const char *matrix = NULL;
    int status = 0;
    if (!lay->model->system) return frames_without_system(lay, prog, argv0, "hessian");
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        int r = frames_option(prog, argv0, "hessian", argc, argv, &i, &a, &status);
        if (r < 0) return status;
        if (r) continue;
        if ((r = physm_opt_value(argc, argv, &i, "--matrix", &v))) {
            if (r < 0 || !v[0]) return physm_usage_error(prog, argv0, "hessian: --matrix needs a file name%s%s", "", "");
            matrix = v;
        } else {
            return frames_unknown(prog, argv0, "hessian", argv[i]);
        }
    }
    if (!a.file) return physm_usage_error(prog, argv0, "hessian: of which configuration? hessian FILE.xyz%s%s", "", "");
    return physm_system_hessian(lay, &a.values, a.file, matrix);
}

static int simulate_verb(const physm_layout *lay, const char *prog, const char *argv0, const char *default_ckpt,
                         int argc, char **argv)
{
    physm_simulate_options o = {.checkpoint = default_ckpt, .integrator = -1, .skin = -1};
    for (int i = 2; i < argc; i++) {
        const char *v = NULL;
        int r;
        if ((r = physm_opt_value(argc, argv, &i, "--checkpoint", &v))) {
            if (r < 0 || !v[0]) return physm_usage_error(prog, argv0, "simulate: --checkpoint needs a file name%s%s", "", "");
            o.checkpoint = v;
        } else if ((r = physm_opt_value(argc, argv, &i, "--seed", &v))) {
            if (r < 0 || parse_seed(v, &o.seed))
                return physm_usage_error(prog, argv0, "simulate: --seed needs a whole number >= 0%s%s", v ? ", not " : "",
                                   v ? v : "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--integrator", &v))) {
            if (r > 0 && (!strcmp(v, "leapfrog") || !strcmp(v, "verlet"))) o.integrator = PHYSM_INT_LEAPFROG;
            else if (r > 0 && !strcmp(v, "midpoint")) o.integrator = PHYSM_INT_MIDPOINT;
            else if (r > 0 && !strcmp(v, "rk4")) o.integrator = PHYSM_INT_RK4;
            else if (r > 0 && !strcmp(v, "langevin")) o.integrator = PHYSM_INT_LANGEVIN;
            else
                return physm_usage_error(prog, argv0,
                                         "simulate: --integrator is leapfrog, verlet, midpoint, rk4 or langevin%s%s",
                                         v ? ", not " : "", v ? v : "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--temperature", &v))) {
            if (r < 0 || parse_positive(v, &o.temperature))
                return physm_usage_error(prog, argv0, "simulate: --temperature needs kelvin, a finite number > 0%s%s",
                                         v ? ", not " : "", v ? v : "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--dt", &v))) {
            if (r < 0 || parse_positive(v, &o.dt))
                return physm_usage_error(prog, argv0, "simulate: --dt needs a finite number > 0%s%s", v ? ", not " : "",
                                   v ? v : "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--tolerance", &v))) {
            if (r < 0 || parse_positive(v, &o.tolerance))
                return physm_usage_error(prog, argv0, "simulate: --tolerance needs a finite number > 0%s%s",
                                   v ? ", not " : "", v ? v : "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--steps", &v))) {
            if (r < 0 || physm_parse_long(v, 1, &o.steps))
                return physm_usage_error(prog, argv0, "simulate: --steps needs a whole number >= 1%s%s", v ? ", not " : "",
                                   v ? v : "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--every", &v))) {
            if (r < 0 || physm_parse_long(v, 1, &o.every))
                return physm_usage_error(prog, argv0, "simulate: --every needs a whole number >= 1%s%s", v ? ", not " : "",
                                   v ? v : "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--threads", &v))) {
            long n;
            if (r < 0 || physm_parse_long(v, 1, &n) || n > 256)
                return physm_usage_error(prog, argv0, "simulate: --threads needs a number from 1 to 256%s%s",
                                   v ? ", not " : "", v ? v : "");
            o.threads = (int)n;
        } else if ((r = physm_opt_value(argc, argv, &i, "--skin", &v))) {
            if (r < 0 || parse_positive(v, &o.skin))
                return physm_usage_error(prog, argv0, "simulate: --skin needs a finite number > 0%s%s", v ? ", not " : "",
                                   v ? v : "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--data", &v))) {
            /* --data NAME=FILE naming the start file of a simulate declaration, or --data FILE */
            const char *eq = r > 0 ? strchr(v, '=') : NULL;
            int named = 0;
            for (int k = 0; eq && k < lay->model->n_simulations; k++) {
                char name[256];
                size_t ln = (size_t)(eq - v);
                if (ln >= sizeof name) break;
                memcpy(name, v, ln);
                name[ln] = 0;
                named |= data_name_is(lay->model->simulations[k].start_file, lay->model->simulations[k].name, name);
            }
            if (r < 0 || !v[0]) return physm_usage_error(prog, argv0, "simulate: --data needs NAME=FILE or FILE%s%s", "", "");
            o.from = named ? eq + 1 : v;
            if (!o.from[0]) return physm_usage_error(prog, argv0, "simulate: --data needs a file name%s%s", "", "");
        } else if ((r = physm_opt_value(argc, argv, &i, "--from", &v))) {
            if (r < 0 || !v[0]) return physm_usage_error(prog, argv0, "simulate: --from needs a file name%s%s", "", "");
            o.from = v;
        } else if ((r = physm_opt_value(argc, argv, &i, "--to", &v))) {
            if (r < 0 || !v[0]) return physm_usage_error(prog, argv0, "simulate: --to needs a file name%s%s", "", "");
            o.to = v;
        } else if ((r = physm_opt_value(argc, argv, &i, "--format", &v))) {
            if (r < 0 || (strcmp(v, "csv") && strcmp(v, "npy")))
                return physm_usage_error(prog, argv0, "simulate: --format is csv or npy%s%s", v ? ", not " : "", v ? v : "");
            o.npy = !strcmp(v, "npy");
        } else if (!strcmp(argv[i], "--untrained")) {
            o.untrained = 1;
        } else if (!strcmp(argv[i], "--quiet")) {
            o.quiet = 1;
        } else if (argv[i][0] != '-' && !o.name) {
            o.name = argv[i];
        } else {
            return physm_usage_error(prog, argv0, "simulate: unknown %s '%s'", argv[i][0] == '-' ? "option" : "argument",
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
    char *default_ckpt = physm_default_checkpoint(argv0);
    if (!default_ckpt) {
        physm_layout_free(&lay);
        fprintf(stderr, "%s: error: out of memory\n", prog);
        return PHYSM_EXIT_RUNTIME;
    }

    if (argc < 2) {
        fprintf(stderr, "%s: error: no command given (train, params, eval, simulate, plot or help)\n", prog);
        print_help(m, argv0, default_ckpt, stderr);
        goto done;
    }
    const char *verb = argv[1];
    if (!strcmp(verb, "help") || !strcmp(verb, "--help") || !strcmp(verb, "-h")) {
        print_help(m, argv0, default_ckpt, stdout);
        status = PHYSM_EXIT_OK;
        goto done;
    }
    /* --help anywhere after a verb. */
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            print_help(m, argv0, default_ckpt, stdout);
            status = PHYSM_EXIT_OK;
            goto done;
        }

    if (strcmp(verb, "train") && physm_mpi_launched() > 1) {
        fprintf(stderr, "%s: error: %s runs as one process; only train runs on several (mpirun -np %d)\n", prog,
                verb, physm_mpi_launched());
        status = PHYSM_EXIT_USAGE;
        goto done;
    }
    if (!strcmp(verb, "train")) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        physm_train_options o = {.steps = -1, .threads = ncpu >= 1 ? (int)(ncpu > 64 ? 64 : ncpu) : 2,
                                 .checkpoint = default_ckpt, .f32 = !has_frames(m), .checkpoint_interval = 30.0};
        long stage_steps[64];
        int n_stage_steps = 0, threads_given = 0;
        if (m->n_stages > 64) {
            status = physm_usage_error(prog, argv0, "train: more than 64 stages%s%s", "", "");
            goto done;
        }
        /* train a copy of the model with --data files and --stages lengths */
        physm_model work = *m;
        physm_term *terms = calloc((size_t)m->n_terms + 1, sizeof *terms);
        physm_stage *stages = calloc((size_t)m->n_stages + 1, sizeof *stages);
        char **files = calloc((size_t)m->n_terms + 1, sizeof *files);
        if (!terms || !stages || !files) {
            free(terms);
            free(stages);
            free(files);
            status = PHYSM_EXIT_RUNTIME;
            fprintf(stderr, "%s: error: out of memory\n", prog);
            goto done;
        }
        if (m->n_terms) memcpy(terms, m->terms, (size_t)m->n_terms * sizeof *terms);
        if (m->n_stages) memcpy(stages, m->stages, (size_t)m->n_stages * sizeof *stages);
        work.terms = terms;
        work.stages = stages;
        status = -1;
        for (int i = 2; i < argc && status < 0; i++) {
            const char *v = NULL;
            int r;
            long n;
            if ((r = physm_opt_value(argc, argv, &i, "--steps", &v))) {
                if (r < 0 || physm_parse_long(v, 0, &n)) {
                    status = physm_usage_error(prog, argv0, "train: --steps needs a whole number >= 0%s%s",
                                         v ? ", not " : "", v ? v : "");
                    break;
                }
                o.steps = n;
            } else if ((r = physm_opt_value(argc, argv, &i, "--seed", &v))) {
                if (r < 0 || parse_seed(v, &o.seed)) {
                    status = physm_usage_error(prog, argv0, "train: --seed needs a whole number >= 0%s%s",
                                         v ? ", not " : "", v ? v : "");
                    break;
                }
            } else if ((r = physm_opt_value(argc, argv, &i, "--threads", &v))) {
                if (r < 0 || physm_parse_long(v, 1, &n) || n > 256) {
                    status = physm_usage_error(prog, argv0, "train: --threads needs a number from 1 to 256%s%s",
                                         v ? ", not " : "", v ? v : "");
                    break;
                }
                o.threads = (int)n;
                threads_given = 1;
            } else if ((r = physm_opt_value(argc, argv, &i, "--checkpoint-interval", &v))) {
                /* hidden: seconds between periodic checkpoints (tests) */
                char *end;
                double s = r > 0 ? strtod(v, &end) : 0;
                if (r < 0 || !v[0] || *end || !(s >= 0)) {
                    status = physm_usage_error(prog, argv0, "train: --checkpoint-interval needs seconds >= 0%s%s",
                                         v ? ", not " : "", v ? v : "");
                    break;
                }
                o.checkpoint_interval = s;
            } else if ((r = physm_opt_value(argc, argv, &i, "--checkpoint", &v))) {
                if (r < 0 || !v[0]) {
                    status = physm_usage_error(prog, argv0, "train: --checkpoint needs a file name%s%s", "", "");
                    break;
                }
                o.checkpoint = v;
            } else if ((r = physm_opt_value(argc, argv, &i, "--precision", &v))) {
                if (r < 0 || (strcmp(v, "f32") && strcmp(v, "f64"))) {
                    status = physm_usage_error(prog, argv0, "train: --precision is f32 or f64%s%s", v ? ", not " : "",
                                         v ? v : "");
                    break;
                }
                o.f32 = !strcmp(v, "f32");
            } else if ((r = physm_opt_value(argc, argv, &i, "--more", &v))) {
                if (r < 0 || physm_parse_long(v, 1, &o.more)) {
                    status = physm_usage_error(prog, argv0, "train: --more needs a whole number of steps >= 1%s%s",
                                         v ? ", not " : "", v ? v : "");
                    break;
                }
            } else if ((r = physm_opt_value(argc, argv, &i, "--log-every", &v))) {
                if (r < 0 || physm_parse_long(v, 1, &o.log_every)) {
                    status = physm_usage_error(prog, argv0, "train: --log-every needs a whole number >= 1%s%s",
                                         v ? ", not " : "", v ? v : "");
                    break;
                }
            } else if ((r = physm_opt_value(argc, argv, &i, "--stages", &v))) {
                /* the step count of each stage in order, e.g. 3000,300 (0 skips a stage): every
                 * figure a whole number >= 0, exactly one per stage */
                int figures = 0, bad = r < 0 || !v[0];
                for (const char *p = r > 0 ? v : ""; *p && !bad;) {
                    char *end;
                    errno = 0;
                    long k = strtol(p, &end, 10);
                    if (end == p || *p == '-' || *p == '+' || errno || (*end && *end != ',') || (*end && !end[1]))
                        bad = 1;
                    else if (figures < m->n_stages) stage_steps[figures] = k;
                    figures++;
                    p = *end ? end + 1 : end;
                }
                if (bad || figures != m->n_stages) {
                    char why[200];
                    int k = snprintf(why, sizeof why, "%d whole number%s >= 0, one per stage, separated by commas",
                                     m->n_stages, m->n_stages == 1 ? "" : "s");
                    if (!bad && k > 0 && (size_t)k < sizeof why)
                        snprintf(why + k, sizeof why - (size_t)k, " (the schedule has %d stage%s, it gives %d)",
                                 m->n_stages, m->n_stages == 1 ? "" : "s", figures);
                    status = physm_usage_error(prog, argv0, "train: --stages needs %s, not '%s'", why, v ? v : "");
                    break;
                }
                n_stage_steps = figures;
            } else if ((r = physm_opt_value(argc, argv, &i, "--data", &v))) {
                int rc = r < 0 ? physm_usage_error(prog, argv0, "train: --data needs NAME=FILE or FILE%s%s", "", "")
                               : apply_data(m, terms, files, prog, argv0, "train", v);
                if (rc) status = rc;
            } else if (!strcmp(argv[i], "--resume")) {
                o.resume = 1;
            } else if (!strcmp(argv[i], "--overwrite")) {
                o.overwrite = 1;
            } else if (!strcmp(argv[i], "--quiet")) {
                o.quiet = 1;
            } else {
                status = physm_usage_error(prog, argv0, "train: unknown %s '%s'",
                                     argv[i][0] == '-' ? "option" : "argument", argv[i]);
            }
        }
        if (status < 0 && o.more > 0 && o.overwrite)
            status = physm_usage_error(prog, argv0, "train: --more continues the checkpoint; --overwrite starts afresh%s%s",
                                 "", "");
        if (status < 0) {
            for (int s = 0; s < n_stage_steps; s++) {
                stages[s].steps = stage_steps[s];
                stages[s].lbfgs.max_iterations = (int)(stage_steps[s] > 2147483647L ? 2147483647L : stage_steps[s]);
                stages[s].qn.max_iterations = stages[s].lbfgs.max_iterations;
                if (stage_steps[s] > 0) stages[s].adam.schedule.total_steps = stage_steps[s];
            }
            lay.model = &work;
            /* under mpirun: data-parallel over its processes */
            if (physm_mpi_start(prog, &o.mpi)) {
                status = PHYSM_EXIT_RUNTIME;
            } else {
                if (o.mpi && !threads_given) o.threads = physm_mpi_threads(o.mpi, o.threads);
                status = physm_train(&lay, &o);
                physm_mpi_finish(o.mpi);
            }
            lay.model = m;
        }
        for (int t = 0; t < m->n_terms; t++) free(files[t]);
        free(files);
        free(terms);
        free(stages);
    } else if (!strcmp(verb, "params")) {
        const char *ckpt = default_ckpt;
        for (int i = 2; i < argc; i++) {
            const char *v = NULL;
            int r = physm_opt_value(argc, argv, &i, "--checkpoint", &v);
            if (r < 0 || (r > 0 && !v[0])) {
                status = physm_usage_error(prog, argv0, "params: --checkpoint needs a file name%s%s", "", "");
                goto done;
            }
            if (r == 0) {
                status = physm_usage_error(prog, argv0, "params: unknown %s '%s'",
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
        int npy = 0;
        for (int i = 2; i < argc; i++) {
            const char *v = NULL;
            int r = physm_opt_value(argc, argv, &i, "--checkpoint", &v);
            if (r < 0 || (r > 0 && !v[0])) {
                free(rest);
                status = physm_usage_error(prog, argv0, "eval: --checkpoint needs a file name%s%s", "", "");
                goto done;
            }
            if (r == 0 && (r = physm_opt_value(argc, argv, &i, "--format", &v))) {
                if (r < 0 || (strcmp(v, "csv") && strcmp(v, "npy"))) {
                    free(rest);
                    status = physm_usage_error(prog, argv0, "eval: --format is csv or npy%s%s", v ? ", not " : "",
                                         v ? v : "");
                    goto done;
                }
                npy = !strcmp(v, "npy");
                continue;
            }
            if (r > 0) ckpt = v;
            else if (argv[i][0] == '-' && argv[i][1] == '-') {
                free(rest);
                status = physm_usage_error(prog, argv0, "eval: unknown option '%s'%s", argv[i], "");
                goto done;
            } else rest[n_rest++] = argv[i];
        }
        if (npy && isatty(fileno(stdout))) {
            free(rest);
            status = physm_usage_error(prog, argv0, "eval --format npy writes binary: redirect it to a file (> u.npy)%s%s",
                                 "", "");
            goto done;
        }
        status = physm_grid_eval_as(&lay, ckpt, n_rest, rest, stdout, npy);
        free(rest);
    } else if (!strcmp(verb, "simulate")) {
        status = simulate_verb(&lay, prog, argv0, default_ckpt, argc, argv);
    } else if (!strcmp(verb, "test")) {
        status = test_verb(&lay, prog, argv0, default_ckpt, argc, argv);
    } else if (!strcmp(verb, "hessian")) {
        status = hessian_verb(&lay, prog, argv0, default_ckpt, argc, argv);
    } else if (!strcmp(verb, "check-symmetry")) {
        status = check_symmetry_verb(&lay, prog, argv0, default_ckpt, argc, argv);
    } else if (!strcmp(verb, "plot")) {
        const char *ckpt = default_ckpt, *png = NULL;
        char **rest = calloc((size_t)argc + 1, sizeof *rest);
        int n_rest = 0;
        status = rest ? -1 : PHYSM_EXIT_RUNTIME;
        for (int i = 2; i < argc && status < 0; i++) {
            const char *v = NULL;
            int r;
            if ((r = physm_opt_value(argc, argv, &i, "--checkpoint", &v))) {
                if (r < 0 || !v[0]) status = physm_usage_error(prog, argv0, "plot: --checkpoint needs a file name%s%s", "", "");
                else ckpt = v;
            } else if ((r = physm_opt_value(argc, argv, &i, "--out", &v)) || (r = physm_opt_value(argc, argv, &i, "-o", &v))) {
                if (r < 0 || !v[0]) status = physm_usage_error(prog, argv0, "plot: --out needs a file name%s%s", "", "");
                else png = v;
            } else if (argv[i][0] == '-' && argv[i][1] == '-') {
                status = physm_usage_error(prog, argv0, "plot: unknown option '%s'%s", argv[i], "");
            } else {
                rest[n_rest++] = argv[i];
            }
        }
        if (status < 0) status = physm_plot(&lay, ckpt, n_rest, rest, png);
        free(rest);
    } else {
        status = physm_usage_error(prog, argv0, "unknown command '%s'%s (commands: train, params, eval, simulate, test, hessian, check-symmetry, plot, help)",
                             verb, "");
    }
done:
    free(default_ckpt);
    physm_layout_free(&lay);
    return status;
}
