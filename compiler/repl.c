/* physc repl: definitions and expressions evaluated at once. Each entry is
 * parsed, checked against everything defined so far, lowered and compiled
 * through the JIT, and run against the same runtime compiled models use:
 * the model's descriptor is JIT-compiled whenever its definitions change,
 * and an expression becomes a one-point term whose residuals are its
 * values. A failed entry is undone; the session goes on. */
#define _POSIX_C_SOURCE 200809L /* isatty, fileno, getpid, strdup */
#include "repl.h"

#include <ctype.h>
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
    long steps_done;
    char *checkpoint;
    int entry;
    int interactive;
} session;

static const char help_text[] =
    "Enter a declaration (const, param, let, field, equation, data, train, ...)\n"
    "or expressions to evaluate, separated by commas: x(2.5), d(x, t)(2.5), c, k\n"
    "commands:\n"
    "  :train N            train the model N steps (also: train steps = N)\n"
    "  :load [FILE]        load trained values (default: MODEL.ckpt)\n"
    "  :save [FILE]        save them\n"
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

static int is_declaration(const char *text)
{
    static const char *const keywords[] = {
        "model", "import", "const", "param", "let", "domain", "region", "field", "equation", "initial",
        "boundary", "data", "loss", "train", "state", "dynamics", "force", "energy", "particles", "spins",
        "coupling", "symmetry", "conserve", "simulate", "recall", "output", "print",
    };
    while (isspace((unsigned char)*text)) text++;
    size_t n = 0;
    while (isalnum((unsigned char)text[n]) || text[n] == '_') n++;
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (strlen(keywords[i]) == n && !strncmp(text, keywords[i], n)) return 1;
    return 0;
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
    physm_ckpt_info info = {s->steps_done, NAN};
    return physm_checkpoint_save(&s->layout, path, s->theta, &info);
}

static void cmd_train(session *s, long steps)
{
    if (s->layout.model->n_terms == 0) {
        fputs("physc: error: nothing to train: the session has no equation, condition or data\n", stderr);
        return;
    }
    if (steps <= 0) {
        fputs("physc: error: :train takes a number of steps >= 1\n", stderr);
        return;
    }
    long schedule = 0;
    for (int k = 0; k < s->layout.model->n_stages; k++) schedule += s->layout.model->stages[k].steps;
    if (s->steps_done >= schedule) { /* "train a little more": run the schedule again from its start */
        printf("the training schedule (%ld steps) is complete; training again from its first stage\n", schedule);
        s->steps_done = 0;
    }
    if (save_theta(s, s->checkpoint) != 0) return;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    physm_train_options o = {.steps = steps, .seed = 0, .threads = cpus > 0 ? (int)cpus : 1,
                             .checkpoint = s->checkpoint, .resume = 1,
                             .quiet = 0, .checkpoint_interval = 30};
    if (physm_train(&s->layout, &o) != 0) return;
    physm_ckpt_info info;
    if (physm_checkpoint_load(&s->layout, s->checkpoint, s->theta, &info) == 0) s->steps_done = info.steps_done;
}

static void cmd_load(session *s, const char *path)
{
    physm_ckpt_info info;
    double *theta = calloc(s->layout.n_theta + 1, sizeof *theta);
    if (!theta) exit(70);
    if (physm_checkpoint_load(&s->layout, path, theta, &info) == 0) {
        memcpy(s->theta, theta, sizeof *theta * s->layout.n_theta);
        s->steps_done = info.steps_done;
        printf("loaded %s (%ld steps trained)\n", path, info.steps_done);
    }
    free(theta);
}

static void cmd_eval(session *s, char *args)
{
    char *argv[64];
    int argc = 0;
    FILE *out = stdout;
    for (char *tok = strtok(args, " \t"); tok && argc < 64; tok = strtok(NULL, " \t")) {
        if (!strcmp(tok, ">")) {
            char *file = strtok(NULL, " \t");
            if (!file) {
                fputs("physc: error: '>' needs a file name\n", stderr);
                return;
            }
            out = fopen(file, "w");
            if (!out) {
                fprintf(stderr, "physc: error: cannot write %s\n", file);
                return;
            }
            break;
        }
        argv[argc++] = tok;
    }
    char tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/physc-repl-%ld.ckpt", (long)getpid());
    if (save_theta(s, tmp) == 0) physm_grid_eval(&s->layout, tmp, argc, argv, out);
    remove(tmp);
    if (out != stdout) fclose(out);
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

static void cmd_type(session *s, const char *what)
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
        return;
    }
    run_entry(s, what, 1);
}

/* ------------------------------------------------------------- session */

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
    const char *name = s->layout.model->name;
    s->checkpoint = malloc(strlen(name) + 6);
    if (!s->checkpoint) exit(70);
    sprintf(s->checkpoint, "%s.ckpt", name);
    if (model_path && access(s->checkpoint, R_OK) == 0) cmd_load(s, s->checkpoint);
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
}

/* Reads one entry: a line, and continuation lines while brackets are open
 * or the line ends in ':', ',', '=' or an operator. */
static char *read_entry(int interactive)
{
    char *entry = NULL;
    size_t len = 0;
    int depth = 0;
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
        if (!line) return entry;
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
        for (size_t i = len - n - 1; i < len; i++) {
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
            if (c == '(' || c == '[' || c == '{') depth++;
            if (c == ')' || c == ']' || c == '}') depth--;
            if (!isspace((unsigned char)c)) last = c;
        }
        if (depth <= 0 && !strchr(":,=+-*/^", last ? last : 'x')) return entry;
    }
}

int phys_repl(const char *model_path, const char *stdlib)
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
        using_history();
    }
    for (;;) {
        char *text = read_entry(interactive);
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
        if (*p == ':') {
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
                cmd_train(&s, *arg ? strtol(arg, NULL, 10) : 1000);
            } else if (!strcmp(cmd, "load")) {
                cmd_load(&s, *arg ? arg : s.checkpoint);
            } else if (!strcmp(cmd, "save")) {
                if (save_theta(&s, *arg ? arg : s.checkpoint) == 0) printf("saved %s\n", *arg ? arg : s.checkpoint);
            } else if (!strcmp(cmd, "eval")) {
                cmd_eval(&s, arg);
            } else if (!strcmp(cmd, "type")) {
                cmd_type(&s, arg);
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
            }
        } else if (sscanf(p, "train steps = %ld %15s", &steps, word) == 1) {
            cmd_train(&s, steps);
        } else {
            run_entry(&s, p, 0);
        }
        fflush(stdout);
        free(text);
    }
    session_end(&s);
    return 0;
}
