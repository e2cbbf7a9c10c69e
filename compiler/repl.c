/* physc repl: definitions and expressions evaluated at once. Each entry is
 * parsed, checked against everything defined so far, lowered and compiled
 * through the JIT, and run against the same runtime compiled models use:
 * the model's descriptor is JIT-compiled whenever its definitions change,
 * and an expression becomes a one-point term whose residuals are its
 * values. A failed entry is undone. Interactively the session goes on; a
 * script stops at its first failing entry unless told to keep going, and
 * the exit status says whether any entry failed.
 *
 * Training works on the session's values, never on the checkpoint on disk:
 * only :save writes it. */
#define _POSIX_C_SOURCE 200809L /* isatty, fileno, strdup, mkdtemp */
#include "repl.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "codegen.h"
#include "jit.h"
#include "lower.h"
#include "model_internal.h"
#include "sema.h"
#include "spelling.h"

typedef struct {
    phys_diag diag;
    phys_sema *sema;
    const char *stdlib;
    const char *model_path;
    phys_arena *arena;            /* the session program and names */
    phys_node *program;           /* accepted declarations, newest definition of each name */
    phys_parse *parses;           /* kept alive: the sema points into them */
    phys_source **sources;
    int n_parses;
    phys_jit *jit;
    phys_jit_tracker model_code;
    int generation;
    lw_model *model;              /* the current lowering (always present) */
    physm_layout layout;
    int has_layout;
    double *theta;
    long steps_done;              /* schedule position of theta (more than the schedule: trained on) */
    char *checkpoint;             /* what :load and :save use by default */
    char scratch_dir[64];         /* private: the checkpoint files training and :eval read */
    char *scratch;
    int entry;
    int interactive;
} session;

static const char help_text[] =
    "Enter a declaration (const, param, let, field, equation, data, train, ...)\n"
    "or expressions to evaluate, separated by commas: x(2.5), d(x, t)(2.5), c, k\n"
    "commands:\n"
    "  :train N            train the session's values N more steps: the rest of the\n"
    "                      schedule, then more of its last stage (also: train steps = N);\n"
    "                      nothing is written to disk\n"
    "  :load [FILE]        load trained values (default: the checkpoint of the program\n"
    "                      compiled from the model, MODEL.ckpt for model.phys)\n"
    "  :save [FILE]        save them (the only command that writes a checkpoint)\n"
    "  :eval VAR=a:b:n ... [d(u,x) ...] [> FILE]\n"
    "                      fields (and derivatives) on a grid, as CSV\n"
    "  :type NAME|EXPR     what a name or expression is\n"
    "  :list               the definitions of this session\n"
    "  :reset              forget every entry: back to the model as loaded\n"
    "  :help               this text\n"
    "  :quit               leave (also end of input)\n";

/* ---------------------------------------------------------------- output */

/* The shortest decimal that reads back to the same float64. */
static void print_number(FILE *out, double v)
{
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v || isnan(v)) break;
    }
    fputs(buf, out);
}

static void print_value(FILE *out, const double *v, phys_shape shape)
{
    if (shape.rank == 0) {
        print_number(out, v[0]);
        return;
    }
    if (shape.rank == 1) {
        fputc('[', out);
        for (int i = 0; i < shape.dims[0]; i++) {
            if (i) fputs(", ", out);
            print_number(out, v[i]);
        }
        fputc(']', out);
        return;
    }
    fputc('[', out);
    for (int i = 0; i < shape.dims[0]; i++) {
        phys_shape row = {1, {shape.dims[1], 0}};
        if (i) fputs(", ", out);
        print_value(out, v + i * shape.dims[1], row);
    }
    fputc(']', out);
}

/* ----------------------------------------------------------- the model */

static int same_network(const physm_field *a, const physm_field *b)
{
    if (strcmp(a->name, b->name) || a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs ||
        a->n_hidden != b->n_hidden || a->activation != b->activation)
        return 0;
    return !memcmp(a->hidden_widths, b->hidden_widths, sizeof(int) * (size_t)a->n_hidden);
}

/* Makes the new descriptor current; trained values of fields and constants
 * that did not change (same name and network) are kept. */
static int adopt_model(session *s, const physm_model *desc)
{
    physm_layout lay;
    if (physm_layout_init(&lay, desc, "physc repl") != 0) return -1;
    double *theta = calloc(lay.n_theta + 1, sizeof *theta);
    if (!theta) exit(70);
    physm_layout_fresh(&lay, 0, theta);
    if (s->has_layout) {
        const physm_model *old = s->layout.model;
        for (int f = 0; f < desc->n_fields; f++)
            for (int g = 0; g < old->n_fields; g++)
                if (same_network(&desc->fields[f], &old->fields[g]))
                    memcpy(theta + lay.offset[f], s->theta + s->layout.offset[g],
                           sizeof(double) * (lay.offset[f + 1] - lay.offset[f]));
        for (int p = 0; p < desc->n_params; p++)
            for (int q = 0; q < old->n_params; q++)
                if (!strcmp(desc->params[p].name, old->params[q].name))
                    theta[lay.n_weights + (size_t)p] = s->theta[s->layout.n_weights + (size_t)q];
        physm_layout_free(&s->layout);
    }
    free(s->theta);
    s->layout = lay;
    s->theta = theta;
    s->has_layout = 1;
    return 0;
}

/* Lowers the session program and JIT-compiles its descriptor. */
static int rebuild_model(session *s)
{
    lw_model *m = phys_lower(s->sema, s->program, s->model_path ? s->model_path : "repl.phys", &s->diag, 1);
    if (!m) return -1;
    char getter[64];
    snprintf(getter, sizeof getter, "physm_model_get_%d", ++s->generation);
    LLVMModuleRef mod = phys_codegen(phys_jit_context(s->jit), m, getter, 0);
    phys_jit_tracker code = phys_jit_add(s->jit, mod);
    const physm_model *(*get)(void) = code ? (const physm_model *(*)(void))phys_jit_lookup(s->jit, getter) : NULL;
    if (!get || adopt_model(s, get()) != 0) {
        phys_jit_remove(s->jit, code);
        phys_lower_free(m);
        return -1;
    }
    if (s->model_code) phys_jit_remove(s->jit, s->model_code);
    s->model_code = code;
    phys_lower_free(s->model);
    s->model = m;
    return 0;
}

/* ----------------------------------------------------------- evaluation */

/* Evaluates a print declaration: a one-point term, JIT-compiled. */
static int evaluate(session *s, const phys_node *print, FILE *out, int types_only)
{
    phys_shape shapes[256];
    if (print->nkids > 256) {
        phys_error(&s->diag, print->loc, "at most 256 expressions at once");
        return -1;
    }
    lw_term *t = phys_lower_print(s->model, s->sema, print, &s->diag, shapes);
    if (!t) return -1;
    if (types_only) {
        for (int i = 0; i < print->nkids; i++) {
            phys_shape sh = shapes[i];
            if (i) fputs(", ", out);
            if (sh.rank == 0) fputs("scalar", out);
            else if (sh.rank == 1) fprintf(out, "vector[%d]", sh.dims[0]);
            else fprintf(out, "matrix[%d, %d]", sh.dims[0], sh.dims[1]);
        }
        fputc('\n', out);
        phys_lower_free_term(t);
        return 0;
    }
    char prefix[64], name[96];
    snprintf(prefix, sizeof prefix, "entry%d", s->entry);
    LLVMModuleRef mod = phys_codegen_print(phys_jit_context(s->jit), s->model, t, prefix);
    phys_jit_tracker code = phys_jit_add(s->jit, mod);
    snprintf(name, sizeof name, "%s_inputs", prefix);
    physm_inputs_f64 inputs = code ? (physm_inputs_f64)phys_jit_lookup(s->jit, name) : NULL;
    snprintf(name, sizeof name, "%s_residual", prefix);
    physm_residual_f64 residual = inputs ? (physm_residual_f64)phys_jit_lookup(s->jit, name) : NULL;
    int rc = -1;
    if (residual) {
        /* the runtime's term evaluator, at the term's one point */
        physm_probe *probes = calloc((size_t)t->n_probes + 1, sizeof *probes);
        int *flat = calloc((size_t)t->n_probes * 64 * DAG_MAX_INPUTS + 1, sizeof *flat);
        double *values = calloc((size_t)t->n_residuals + 1, sizeof *values);
        if (!probes || !flat || !values) exit(70);
        for (int k = 0; k < t->n_probes; k++) {
            const lw_probe *p = &t->probes[k];
            int n_in = s->layout.model->fields[p->field].n_inputs, *streams = flat + (size_t)k * 64 * DAG_MAX_INPUTS;
            for (int st = 0; st < p->n_streams; st++)
                for (int i = 0; i < n_in; i++) streams[st * n_in + i] = p->streams[st][i];
            probes[k] = (physm_probe){p->field, p->n_streams, streams};
        }
        physm_term term = {.name = "print", .n_probes = t->n_probes, .probes = probes,
                           .n_residuals = t->n_residuals, .inputs_f64 = inputs, .residual_f64 = residual};
        physm_term_eval *ev = physm_term_eval_create(&s->layout, &term, 1);
        double point = 0;
        if (ev && physm_term_eval_run(ev, s->theta, &point, 1, values) == 0) {
            int at = 0;
            for (int i = 0; i < print->nkids; i++) {
                if (i) fputs(", ", out);
                print_value(out, values + at, shapes[i]);
                at += shapes[i].rank == 0 ? 1 : shapes[i].rank == 1 ? shapes[i].dims[0] : shapes[i].dims[0] * shapes[i].dims[1];
            }
            fputc('\n', out);
            fflush(out);
            rc = 0;
        } else {
            fputs("physc: error: evaluation failed\n", stderr);
        }
        physm_term_eval_destroy(ev);
        free(values);
        free(flat);
        free(probes);
    }
    phys_jit_remove(s->jit, code);
    phys_lower_free_term(t);
    return rc;
}

/* ---------------------------------------------------------- definitions */

static const char *decl_name(const phys_node *d)
{
    switch (d->kind) {
    case N_CONST: case N_PARAM: case N_LET: case N_DOMAIN: case N_REGION_DECL: case N_FIELD:
    case N_FORCE: case N_ENERGY: case N_PARTICLES: case N_SPINS: case N_COUPLING:
        return d->name;
    case N_CONDITION: case N_DATA:
        return d->name;
    default:
        return NULL;
    }
}

/* Adds an entry's declarations to the session program, replacing older
 * declarations of the same names (and an older schedule or model name). */
static void merge_program(session *s, const phys_node *entry)
{
    phys_node *merged = phys_node_new(s->arena, N_PROGRAM, s->program->loc);
    for (int i = 0; i < s->program->nkids; i++) {
        const phys_node *old = s->program->kids[i];
        int replaced = 0;
        for (int k = 0; k < entry->nkids; k++) {
            const phys_node *d = entry->kids[k];
            const char *a = decl_name(old), *b = decl_name(d);
            if ((a && b && !strcmp(a, b)) || (old->kind == d->kind && (d->kind == N_TRAIN || d->kind == N_MODEL)))
                replaced = 1;
        }
        if (!replaced) phys_node_add(s->arena, merged, (phys_node *)old);
    }
    for (int k = 0; k < entry->nkids; k++)
        if (entry->kids[k]->kind != N_PRINT) phys_node_add(s->arena, merged, entry->kids[k]);
    s->program = merged;
}

static int keep_parse(session *s, phys_source *src, phys_parse parse)
{
    phys_parse *p = realloc(s->parses, sizeof *p * (size_t)(s->n_parses + 1));
    phys_source **q = realloc(s->sources, sizeof *q * (size_t)(s->n_parses + 1));
    if (!p || !q) exit(70);
    s->parses = p;
    s->sources = q;
    s->parses[s->n_parses] = parse;
    s->sources[s->n_parses] = src;
    return s->n_parses++;
}

static size_t word_length(const char *text)
{
    size_t n = 0;
    while (isalnum((unsigned char)text[n]) || text[n] == '_') n++;
    return n;
}

/* An entry is parsed as declarations when it starts with a declaration
 * keyword, or with two words in a row (feild u(x) = ...): no expression
 * does (but 'not x' and 'x and y'), and the declaration grammar says what
 * the first word is not ("unknown declaration 'feild'; did you mean
 * 'field'?"). */
static int is_declaration(const char *text)
{
    while (isspace((unsigned char)*text)) text++;
    size_t n = word_length(text);
    if (phys_declaration_keyword(text, n)) return 1;
    const char *next = text + n;
    while (*next == ' ' || *next == '\t') next++;
    size_t m = word_length(next);
    if (n == 0 || m == 0 || isdigit((unsigned char)text[0]) || isdigit((unsigned char)next[0])) return 0;
    return !(n == 3 && !strncmp(text, "not", 3)) && !(m == 3 && !strncmp(next, "and", 3)) &&
           !(m == 2 && !strncmp(next, "or", 2));
}

/* One entry: declarations or expressions. */
static int run_entry(session *s, const char *text, int types_only)
{
    char name[32];
    snprintf(name, sizeof name, "repl");
    phys_source *src = phys_source_from_text(name, text, strlen(text));
    if (!src) exit(70);
    src->line_offset = s->entry - 1;
    int errors = s->diag.errors;
    phys_parse parse;
    int expressions = types_only || !is_declaration(text);
    if (expressions) phys_parse_expressions(src, &s->diag, &parse);
    else phys_parse_source(src, &s->diag, &parse);
    if (s->diag.errors != errors) {
        phys_parse_free(&parse);
        phys_source_free(src);
        return -1;
    }
    phys_sema_mark mark = phys_sema_get_mark(s->sema);
    phys_sema_check(s->sema, parse.program);
    int ok = s->diag.errors == errors;
    const phys_node *prog = parse.program;
    if (ok && !expressions) {
        phys_node *saved = s->program;
        merge_program(s, prog);
        int defines = 0;
        for (int i = 0; i < prog->nkids; i++) defines |= prog->kids[i]->kind != N_PRINT;
        if (defines && rebuild_model(s) != 0) {
            s->program = saved;
            ok = 0;
        }
    }
    if (!ok) {
        phys_sema_rollback(s->sema, mark);
        phys_parse_free(&parse);
        phys_source_free(src);
        return -1;
    }
    keep_parse(s, src, parse);
    int rc = 0;
    for (int i = 0; i < prog->nkids; i++)
        if (prog->kids[i]->kind == N_PRINT && evaluate(s, prog->kids[i], stdout, types_only) != 0) rc = -1;
    if (!expressions) {
        for (int i = 0; i < prog->nkids; i++)
            if (prog->kids[i]->kind != N_PRINT && s->interactive) {
                const char *n = decl_name(prog->kids[i]);
                if (n) printf("defined %s\n", n);
            }
    }
    return rc;
}

/* ------------------------------------------------------------- commands */

static int save_theta(session *s, const char *path)
{
    physm_ckpt_info info = {.steps_done = s->steps_done, .loss = NAN};
    return physm_checkpoint_save(&s->layout, path, s->theta, &info);
}

/* The session's values go through a private scratch checkpoint (the
 * runtime's verbs read and write checkpoint files), never the model's. */
static const char *scratch_path(session *s)
{
    if (!s->scratch) {
        snprintf(s->scratch_dir, sizeof s->scratch_dir, "/tmp/physc-repl-XXXXXX");
        if (!mkdtemp(s->scratch_dir)) {
            s->scratch_dir[0] = '\0';
            perror("physc: error: cannot create a scratch directory in /tmp");
            return NULL;
        }
        s->scratch = malloc(strlen(s->scratch_dir) + 16);
        if (!s->scratch) exit(70);
        sprintf(s->scratch, "%s/values.ckpt", s->scratch_dir);
    }
    return s->scratch;
}

/* Trains the session's values `steps` optimizer steps on lay (the session
 * model, or a copy whose schedule is one more run of its last stage) from
 * schedule position `position`; the values come back into s->theta and the
 * position reached into *reached. */
static int train_values(session *s, const physm_layout *lay, long position, long steps, long *reached)
{
    const char *scratch = scratch_path(s);
    if (!scratch) return -1;
    physm_ckpt_info info = {.steps_done = position, .loss = NAN};
    if (physm_checkpoint_save(lay, scratch, s->theta, &info) != 0) return -1;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    physm_train_options o = {.steps = steps, .seed = 0, .threads = cpus > 0 ? (int)cpus : 1,
                             .checkpoint = scratch, .resume = 1,
                             .quiet = 0, .checkpoint_interval = 1e30};
    int status = physm_train(lay, &o);
    /* Whatever training saved comes back, also when it stopped early (an
     * interrupt saves at a step boundary; a failure leaves the start). */
    if (physm_checkpoint_load(lay, scratch, s->theta, &info) != 0) return -1;
    *reached = info.steps_done;
    return status == 0 ? 0 : -1;
}

/* :train N continues from the session's values: the rest of the schedule,
 * then (on a finished schedule) more steps of its last stage. */
static int cmd_train(session *s, long steps)
{
    const physm_model *m = s->layout.model;
    if (m->n_terms == 0) {
        fputs("physc: error: nothing to train: the session has no equation, condition or data\n", stderr);
        return -1;
    }
    if (steps <= 0) {
        fputs("physc: error: :train takes a number of steps >= 1\n", stderr);
        return -1;
    }
    if (m->n_stages == 0) {
        fputs("physc: error: nothing to train with: the session has no 'train' schedule\n", stderr);
        return -1;
    }
    long schedule = 0;
    for (int k = 0; k < m->n_stages; k++) schedule += m->stages[k].steps;
    long start = s->steps_done, left = steps;
    if (s->steps_done < schedule) {
        long reached = s->steps_done;
        int rc = train_values(s, &s->layout, s->steps_done, left, &reached);
        left -= reached - s->steps_done;
        s->steps_done = reached;
        if (rc != 0) return -1;
        if (reached < schedule) left = 0; /* an L-BFGS stage counts iterations, not positions */
    }
    if (left > 0) {
        const physm_stage *last = &m->stages[m->n_stages - 1];
        printf("the training schedule (%ld steps) is complete; training %ld more steps of its last stage (%s)\n",
               schedule, left, last->optimizer == PHYSM_LBFGS ? "lbfgs" : "adam");
        fflush(stdout); /* before the progress lines on stderr */
        physm_stage more = *last;
        more.steps = left;
        physm_model once = *m;
        once.stages = &more;
        once.n_stages = 1;
        physm_layout lay = s->layout;
        lay.model = &once;
        long reached = 0;
        int rc = train_values(s, &lay, 0, left, &reached);
        s->steps_done += reached;
        if (rc != 0) return -1;
    }
    printf("trained %ld steps (%ld in all); nothing written: :save writes %s\n", s->steps_done - start,
           s->steps_done, s->checkpoint);
    return 0;
}

static int cmd_load(session *s, const char *path)
{
    physm_ckpt_info info = {0};
    double *theta = calloc(s->layout.n_theta + 1, sizeof *theta);
    if (!theta) exit(70);
    int rc = physm_checkpoint_load(&s->layout, path, theta, &info);
    if (rc == 0) {
        memcpy(s->theta, theta, sizeof *theta * s->layout.n_theta);
        s->steps_done = info.steps_done;
        printf("loaded %s (%ld steps trained)\n", path, info.steps_done);
    }
    free(theta);
    return rc;
}

static int cmd_eval(session *s, char *args)
{
    char *argv[64];
    int argc = 0;
    FILE *out = stdout;
    for (char *tok = strtok(args, " \t"); tok && argc < 64; tok = strtok(NULL, " \t")) {
        if (!strcmp(tok, ">")) {
            char *file = strtok(NULL, " \t");
            if (!file) {
                fputs("physc: error: '>' needs a file name\n", stderr);
                return -1;
            }
            out = fopen(file, "w");
            if (!out) {
                fprintf(stderr, "physc: error: cannot write %s\n", file);
                return -1;
            }
            break;
        }
        argv[argc++] = tok;
    }
    const char *scratch = scratch_path(s);
    int rc = scratch && save_theta(s, scratch) == 0 ? physm_grid_eval(&s->layout, scratch, argc, argv, out) : -1;
    if (out != stdout && fclose(out) != 0) rc = -1;
    return rc == 0 ? 0 : -1;
}

static void cmd_list(session *s)
{
    for (int i = 0; i < phys_sema_symbol_count(s->sema); i++) {
        const phys_symbol *sym = phys_sema_symbol_at(s->sema, i);
        if (sym->replaced || !sym->decl || (sym->decl->loc.src && strstr(sym->decl->loc.src->name, "stdlib")))
            continue;
        printf("%-10s %s", phys_symbol_kind_name(sym->kind), sym->name);
        if (sym->n_inputs && sym->kind != SYM_DOMAIN) {
            printf("(");
            for (int k = 0; k < sym->n_inputs; k++) printf("%s%s", k ? ", " : "", sym->inputs[k]);
            printf(")");
        }
        printf("\n");
    }
}

static int cmd_type(session *s, const char *what)
{
    while (isspace((unsigned char)*what)) what++;
    const phys_symbol *sym = phys_sema_lookup(s->sema, what);
    if (sym) {
        printf("%s %s", phys_symbol_kind_name(sym->kind), sym->name);
        if (sym->n_inputs) {
            printf("(");
            for (int k = 0; k < sym->n_inputs; k++) printf("%s%s", k ? ", " : "", sym->inputs[k]);
            printf(")");
        }
        if (sym->kind != SYM_DOMAIN && sym->kind != SYM_TERM) {
            if (sym->shape.rank == 0) printf(": scalar");
            else if (sym->shape.rank == 1) printf(": vector[%d]", sym->shape.dims[0]);
            else printf(": matrix[%d, %d]", sym->shape.dims[0], sym->shape.dims[1]);
        }
        printf("\n");
        return 0;
    }
    return run_entry(s, what, 1);
}

/* ------------------------------------------------------------- session */

/* The checkpoint of the program physc compiles from the same file with its
 * default -o (model.phys -> ./model -> model.ckpt); without a file, the
 * model's name. */
static char *default_checkpoint(const char *model_path, const char *model_name)
{
    size_t len = strlen(model_name);
    const char *base = model_path ? phys_path_stem(model_path, &len) : model_name;
    char *path = malloc(len + 6);
    if (!path) exit(70);
    memcpy(path, base, len);
    strcpy(path + len, ".ckpt");
    return path;
}

static int session_start(session *s, const char *model_path, const char *stdlib)
{
    memset(s, 0, sizeof *s);
    phys_diag_init(&s->diag, stderr);
    s->diag.max_errors = 0;
    s->model_path = model_path;
    s->stdlib = stdlib;
    s->sema = phys_sema_create(&s->diag);
    phys_sema_allow_redefinition(s->sema, 1);
    if (stdlib) phys_sema_set_library_path(s->sema, stdlib);
    s->arena = phys_arena_create();
    s->program = phys_node_new(s->arena, N_PROGRAM, (phys_loc){0});
    s->jit = phys_jit_create();
    if (!s->jit) return -1;
    if (model_path) {
        phys_source *src = phys_source_load(model_path, &s->diag);
        if (!src) return -1;
        phys_parse parse;
        if (phys_parse_source(src, &s->diag, &parse) != 0 || phys_sema_check(s->sema, parse.program) != 0) {
            phys_parse_free(&parse);
            phys_source_free(src);
            return -1;
        }
        keep_parse(s, src, parse);
        merge_program(s, parse.program);
    }
    if (rebuild_model(s) != 0) return -1;
    s->checkpoint = default_checkpoint(model_path, s->layout.model->name);
    if (model_path && access(s->checkpoint, R_OK) == 0 && cmd_load(s, s->checkpoint) != 0)
        fprintf(stderr, "physc: note: starting from untrained values\n");
    return 0;
}

static void session_end(session *s)
{
    if (s->has_layout) physm_layout_free(&s->layout);
    free(s->theta);
    phys_lower_free(s->model);
    phys_jit_remove(s->jit, s->model_code); /* the tracker holds the JIT's dylib */
    phys_jit_destroy(s->jit);
    phys_sema_destroy(s->sema);
    for (int i = 0; i < s->n_parses; i++) {
        phys_parse_free(&s->parses[i]);
        phys_source_free(s->sources[i]);
    }
    free(s->parses);
    free(s->sources);
    phys_arena_destroy(s->arena);
    free(s->checkpoint);
    if (s->scratch) { /* the checkpoint and whatever the runtime wrote beside it */
        DIR *dir = opendir(s->scratch_dir);
        for (struct dirent *e; dir && (e = readdir(dir));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char path[sizeof s->scratch_dir + 256 + 2];
            snprintf(path, sizeof path, "%s/%s", s->scratch_dir, e->d_name);
            remove(path);
        }
        if (dir) closedir(dir);
        rmdir(s->scratch_dir);
        free(s->scratch);
    }
}

/* Where an entry's innermost bracket that is still open stands. */
typedef struct {
    int line, column;             /* from 1, within the entry; line 0: none */
    char bracket;
} open_bracket;

/* Reads one entry: a line, and continuation lines while brackets are open
 * or the line ends in ':', ',', '=' or an operator. At the end of the input
 * inside brackets, *open says where the innermost unclosed one is. */
static char *read_entry(int interactive, open_bracket *open)
{
    char *entry = NULL;
    size_t len = 0, cap_stack = 0;
    int depth = 0, lines = 0;
    open_bracket *stack = NULL;   /* the open brackets, innermost last */
    open->line = 0;
    for (;;) {
        char *line = NULL;
        if (interactive) {
            line = readline(entry ? "....> " : "phys> ");
        } else {
            size_t cap = 0;
            ssize_t n = getline(&line, &cap, stdin);
            if (n < 0) {
                free(line);
                line = NULL;
            } else if (n > 0 && line[n - 1] == '\n') {
                line[n - 1] = '\0';
            }
        }
        if (!line) {
            if (entry && depth > 0) *open = stack[depth - 1];
            free(stack);
            return entry;
        }
        lines++;
        size_t n = strlen(line);
        char *grown = realloc(entry, len + n + 2);
        if (!grown) exit(70);
        entry = grown;
        memcpy(entry + len, line, n);
        len += n;
        entry[len++] = '\n';
        entry[len] = '\0';
        free(line);
        int in_comment = 0, in_string = 0;
        char last = 0;
        size_t line_start = len - n - 1;
        for (size_t i = line_start; i < len; i++) {
            char c = entry[i];
            if (c == '\n') in_comment = in_string = 0; /* neither spans lines */
            if (in_string) {
                if (c == '\\' && entry[i + 1] != '\n') i++;
                else if (c == '"') in_string = 0;
                last = c;
                continue;
            }
            if (c == '"' && !in_comment) in_string = 1;
            if (c == '#') in_comment = 1;
            if (in_comment || in_string) continue;
            if (c == '(' || c == '[' || c == '{') {
                if ((size_t)depth == cap_stack) {
                    cap_stack = cap_stack ? 2 * cap_stack : 16;
                    open_bracket *g = realloc(stack, cap_stack * sizeof *stack);
                    if (!g) exit(70);
                    stack = g;
                }
                stack[depth++] = (open_bracket){lines, (int)(i - line_start) + 1, c};
            }
            if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
            if (!isspace((unsigned char)c)) last = c;
        }
        if (depth <= 0 && !strchr(":,=+-*/^", last ? last : 'x')) {
            free(stack);
            return entry;
        }
    }
}

/* An entry cut short by the end of the input inside brackets: an error at
 * the bracket, not a parse of whatever the entry swallowed. */
static void report_unclosed(session *s, const char *text, open_bracket open)
{
    phys_source *src = phys_source_from_text("repl", text, strlen(text));
    if (!src) exit(70);
    src->line_offset = s->entry - 1;
    int lines = 0;
    for (const char *c = text; *c; c++) lines += *c == '\n';
    const char closer = open.bracket == '(' ? ')' : open.bracket == '[' ? ']' : '}';
    phys_loc loc = {src, open.line, open.column, open.line, open.column + 1};
    if (lines > open.line)
        phys_error(&s->diag, loc, "unexpected end of file: this '%c' is never closed (the entry took in "
                   "the %d lines after it, to the end of the input, looking for its '%c')",
                   open.bracket, lines - open.line, closer);
    else
        phys_error(&s->diag, loc, "unexpected end of file: this '%c' is never closed", open.bracket);
    phys_source_free(src);
}

/* A step count: digits only. */
static long parse_steps(const char *arg, long fallback)
{
    if (!*arg) return fallback;
    char *end;
    long n = strtol(arg, &end, 10);
    while (isspace((unsigned char)*end)) end++;
    return *end || n <= 0 ? -1 : n;
}

int phys_repl(const char *model_path, const char *stdlib, int keep_going)
{
    session s;
    int interactive = isatty(fileno(stdin));
    if (session_start(&s, model_path, stdlib) != 0) {
        session_end(&s);
        return 1;
    }
    s.interactive = interactive;
    if (interactive) {
        printf("physc repl: %s. Type :help for help.\n", model_path ? model_path : "no model loaded");
        if (model_path && access(s.checkpoint, R_OK) != 0)
            printf("no checkpoint %s (compile and train the model, or :train here): untrained values\n",
                   s.checkpoint);
        using_history();
    }
    int failed = 0;
    for (;;) {
        open_bracket open;
        char *text = read_entry(interactive, &open);
        if (!text) break;
        char *p = text;
        while (isspace((unsigned char)*p)) p++;
        if (*p == '\0' || *p == '#') {
            free(text);
            continue;
        }
        s.entry++;
        if (interactive) {
            char *copy = strdup(p);
            if (copy) {
                copy[strcspn(copy, "\n")] = '\0';
                add_history(copy);
                free(copy);
            }
        }
        long steps;
        char word[16];
        int rc = 0;
        if (open.line) {
            report_unclosed(&s, text, open);
            rc = -1;
        } else if (*p == ':') {
            char cmd[16] = "";
            sscanf(p + 1, "%15s", cmd);
            char *arg = p + 1 + strlen(cmd);
            arg[strcspn(arg, "\n")] = '\0';
            while (isspace((unsigned char)*arg)) arg++;
            if (!strcmp(cmd, "quit") || !strcmp(cmd, "q")) {
                free(text);
                break;
            } else if (!strcmp(cmd, "help")) {
                fputs(help_text, stdout);
            } else if (!strcmp(cmd, "train")) {
                rc = cmd_train(&s, parse_steps(arg, 1000));
            } else if (!strcmp(cmd, "load")) {
                rc = cmd_load(&s, *arg ? arg : s.checkpoint);
            } else if (!strcmp(cmd, "save")) {
                rc = save_theta(&s, *arg ? arg : s.checkpoint);
                if (rc == 0) printf("saved %s\n", *arg ? arg : s.checkpoint);
            } else if (!strcmp(cmd, "eval")) {
                rc = cmd_eval(&s, arg);
            } else if (!strcmp(cmd, "type")) {
                rc = cmd_type(&s, arg);
            } else if (!strcmp(cmd, "list")) {
                cmd_list(&s);
            } else if (!strcmp(cmd, "reset")) {
                session_end(&s);
                if (session_start(&s, model_path, stdlib) != 0) {
                    free(text);
                    session_end(&s);
                    return 1;
                }
                s.interactive = interactive;
                printf("reset\n");
            } else {
                fprintf(stderr, "physc: error: unknown command ':%s' (try :help)\n", cmd);
                rc = -1;
            }
        } else if (sscanf(p, "train steps = %ld %15s", &steps, word) == 1) {
            rc = cmd_train(&s, steps);
        } else {
            rc = run_entry(&s, p, 0);
        }
        fflush(stdout);
        free(text);
        if (rc != 0) {
            failed++;
            if (!interactive && !keep_going) {
                fprintf(stderr, "physc: stopping at entry %d, the first that failed (physc repl --keep-going "
                                "runs the rest)\n", s.entry);
                break;
            }
        }
    }
    session_end(&s);
    return !interactive && failed ? 1 : 0;
}
