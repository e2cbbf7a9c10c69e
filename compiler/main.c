/* physc: the driver. Parses options like a C compiler, runs the front end
 * and the checks, and hands the checked model to the back end. */
#define _POSIX_C_SOURCE 200809L /* readlink, access */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <llvm-c/Core.h>

#include "ast.h"
#include "codegen.h"
#include "emit.h"
#include "export.h"
#include "import_n2p2.h"
#include "lower.h"
#include "repl.h"
#include "sema.h"

#ifndef PHYSC_VERSION
#define PHYSC_VERSION "0.1.0"
#endif
/* Where 'cmake --install' puts the runtime library and the standard
 * library, relative to the prefix; physc is PREFIX/bin/physc. */
#ifndef PHYSC_INSTALL_RUNTIME
#define PHYSC_INSTALL_RUNTIME "lib/physc/libphysrt.a"
#endif
#ifndef PHYSC_INSTALL_STDLIB
#define PHYSC_INSTALL_STDLIB "share/physc/stdlib"
#endif
#ifndef PHYSC_INSTALL_HEADER
#define PHYSC_INSTALL_HEADER "include/physc/physc_potential.h"
#endif

static const char usage[] =
    "usage: physc [options] model.phys\n"
    "       physc repl [--stdlib DIR] [--keep-going] [model.phys]\n"
    "       physc import-n2p2 DIR -o NAME\n"
    "\n"
    "Checks a .phys model and compiles it to a native program that trains,\n"
    "evaluates and simulates it (MODEL train | params | eval | simulate |\n"
    "--help; a spin model: MODEL recall | sample | learn | --help).\n"
    "'physc repl' evaluates definitions and expressions at once\n"
    "through the LLVM JIT (type :help there). It loads the checkpoint of the\n"
    "program compiled from the same file (model.phys: model.ckpt) and writes it\n"
    "only on :save. A script on standard input stops at its first failing entry\n"
    "(--keep-going, -k: run the rest); the exit status is 1 if any entry failed.\n"
    "'physc import-n2p2 DIR -o NAME' reads an n2p2 potential (DIR/input.nn,\n"
    "scaling.data, weights.ZZZ.data: symmetry functions of types 2, 3, 9) and writes\n"
    "NAME.phys and its checkpoint NAME.ckpt: 'physc NAME.phys -o NAME' then\n"
    "'./NAME test FRAMES --checkpoint NAME.ckpt' (and simulate, hessian, --kim).\n"
    "\n"
    "options:\n"
    "  --check            run the front end and the semantic checks only; warn about\n"
    "                     data files the program would read that are missing\n"
    "  --dump-ast         print the syntax tree and stop\n"
    "  -o FILE            name of the program to write (default: the model's file name\n"
    "                     without .phys)\n"
    "  -O0 -O1 -O2 -O3    optimisation level of the generated code (default -O2)\n"
    "  --emit=KIND        write llvm (IR text), asm or obj instead of a program, or lib:\n"
    "                     a particle model as a C library (default name libMODEL.so) and\n"
    "                     physc_potential.h beside it: energy, forces, stress\n"
    "  -c                 same as --emit=obj\n"
    "  --kim NAME         write a particle model as the KIM API portable model NAME: a\n"
    "                     directory (-o DIR, default NAME) for 'kim-api-collections-management\n"
    "                     install user DIR', which LAMMPS runs ('kim init NAME metal')\n"
    "  --kim-species LIST the species of --kim and --emit=lib, comma-separated (Si or\n"
    "                     Si,O: codes 0, 1 of the species attribute; a model without one\n"
    "                     takes one species); --kim needs it, --emit=lib defaults to X\n"
    "  --checkpoint FILE  the trained values --kim and --emit=lib carry (a model with\n"
    "                     nothing trainable needs none)\n"
    "  --stdlib DIR       where 'import' finds library modules (default: PHYSC_STDLIB,\n"
    "                     else PREFIX/" PHYSC_INSTALL_STDLIB " for an installed\n"
    "                     PREFIX/bin/physc, else " PHYSC_STDLIB_DIR ")\n"
    "  --max-errors N     stop after N errors (default 20; 0 = no limit)\n"
    "  --help             show this help\n"
    "  --version          show the version\n"
    "\n"
    "An installed physc (cmake --install) links against PREFIX/" PHYSC_INSTALL_RUNTIME ";\n"
    "one in its build tree against the library built beside it (PHYSC_RUNTIME overrides).\n"
    "\n"
    "Errors are reported as file:line:col: error: message (warnings likewise),\n"
    "with the source line and a caret. Exit status: 0 success, 1 errors in the\n"
    "model, 2 bad usage.\n";

typedef struct options {
    const char *input;
    const char *output;
    const char *emit;
    const char *stdlib;
    const char *kim;              /* --kim NAME */
    const char *species;          /* --kim-species */
    const char *checkpoint;
    int check_only;
    int dump_ast;
    int opt_level;
    int max_errors;
} options;

/* PREFIX/relative when this physc runs as PREFIX/bin/physc of an installed
 * tree holding it (a new string), else NULL: a physc in its build tree
 * finds the runtime and the standard library where it was built. */
static char *installed_path(const char *relative)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = '\0'; /* PREFIX/bin */
    slash = strrchr(exe, '/');
    if (!slash || strcmp(slash, "/bin")) return NULL;
    *slash = '\0'; /* PREFIX */
    char *path = malloc(strlen(exe) + strlen(relative) + 2);
    if (!path) exit(70);
    sprintf(path, "%s/%s", exe, relative);
    if (access(path, R_OK) == 0) return path;
    free(path);
    return NULL;
}

/* The runtime library a program is linked against. */
static char *runtime_library(void)
{
    const char *env = getenv("PHYSC_RUNTIME");
    if (env && *env) return strdup(env);
    char *installed = installed_path(PHYSC_INSTALL_RUNTIME);
    return installed ? installed : strdup(PHYSC_RUNTIME_LIB);
}

/* Where 'import' looks: --stdlib or PHYSC_STDLIB, else the installed or
 * the source tree's standard library. */
static char *standard_library(const char *chosen)
{
    if (chosen) return strdup(chosen);
    char *installed = installed_path(PHYSC_INSTALL_STDLIB);
    return installed ? installed : strdup(PHYSC_STDLIB_DIR);
}

static void print_version(const char *stdlib)
{
    char *runtime = runtime_library(), *library = standard_library(stdlib);
    if (!runtime || !library) exit(70);
    printf("physc %s (LLVM 19 back end)\nruntime library: %s\nstandard library: %s\n", PHYSC_VERSION, runtime,
           library);
    free(runtime);
    free(library);
}

static int bad_usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "physc: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see physc --help)\n");
    return 2;
}

static int parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    o->opt_level = 2;
    o->max_errors = 20;
    o->stdlib = getenv("PHYSC_STDLIB");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            exit(0);
        } else if (!strcmp(a, "--version")) {
            print_version(o->stdlib);
            exit(0);
        } else if (!strcmp(a, "--check")) {
            o->check_only = 1;
        } else if (!strcmp(a, "--dump-ast")) {
            o->dump_ast = 1;
        } else if (!strcmp(a, "-o")) {
            if (++i == argc) return bad_usage("%s needs a file name", a);
            o->output = argv[i];
        } else if (!strcmp(a, "-c")) {
            o->emit = "obj";
        } else if (!strncmp(a, "--emit=", 7)) {
            o->emit = a + 7;
            if (strcmp(o->emit, "llvm") && strcmp(o->emit, "asm") && strcmp(o->emit, "obj") && strcmp(o->emit, "lib"))
                return bad_usage("--emit takes llvm, asm, obj or lib, not '%s'", o->emit);
        } else if (!strcmp(a, "--kim") || !strcmp(a, "--kim-species") || !strcmp(a, "--checkpoint")) {
            if (++i == argc) return bad_usage("%s needs a value", a);
            *(!strcmp(a, "--kim") ? &o->kim : !strcmp(a, "--kim-species") ? &o->species : &o->checkpoint) = argv[i];
        } else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) {
            o->opt_level = a[2] - '0';
        } else if (!strcmp(a, "--stdlib")) {
            if (++i == argc) return bad_usage("%s needs a directory", a);
            o->stdlib = argv[i];
        } else if (!strcmp(a, "--max-errors")) {
            char *end;
            if (++i == argc) return bad_usage("%s needs a number", a);
            long n = strtol(argv[i], &end, 10);
            if (*end || n < 0 || n > 1000000) return bad_usage("--max-errors takes a count, not '%s'", argv[i]);
            o->max_errors = (int)n;
        } else if (a[0] == '-' && a[1]) {
            return bad_usage("unknown option '%s'", a);
        } else if (o->input) {
            return bad_usage("one model at a time ('%s' is a second one)", a);
        } else {
            o->input = a;
        }
    }
    if (!o->input) return bad_usage("%s", "no model file given");
    if (o->kim && o->emit) return bad_usage("%s", "--kim writes a directory: no --emit with it");
    int lib = o->emit && !strcmp(o->emit, "lib");
    if ((o->species || o->checkpoint) && !o->kim && !lib)
        return bad_usage("%s", "--kim-species and --checkpoint go with --kim or --emit=lib");
    for (const char *c = o->kim; c && *c; c++)
        if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (c > o->kim && *c >= '0' && *c <= '9')))
            return bad_usage("the KIM model name '%s' is not a C identifier (letters, digits, '_')", o->kim);
    if (o->kim && !o->species) return bad_usage("%s", "--kim needs --kim-species (e.g. --kim-species Si)");
    for (const char *c = o->species; c && *c; c++)
        if (!(*c == ',' || *c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')) ||
            (*c == ',' && (c == o->species || c[1] == ',' || !c[1])))
            return bad_usage("--kim-species takes names separated by commas (Si,O), not '%s'", o->species);
    return 0;
}

/* An empty model is almost always a mistake (a wrong file, a truncated copy). */
static int declares_something(const phys_node *program)
{
    return program->nkids > 0;
}

/* The output name: -o, else the model file's name without .phys, with the
 * extension of what is emitted. */
static char *output_name(const options *o)
{
    size_t len;
    const char *base = phys_path_stem(o->input, &len);
    if (o->kim) return strdup(o->kim);
    const int lib = o->emit && !strcmp(o->emit, "lib");
    const char *ext = !o->emit ? "" : !strcmp(o->emit, "llvm") ? ".ll" : !strcmp(o->emit, "asm") ? ".s"
                      : lib ? ".so" : ".o";
    char *name = malloc(len + strlen(ext) + 4);
    if (!name) exit(70);
    strcpy(name, lib ? "lib" : "");
    memcpy(name + strlen(name), base, len);
    strcpy(name + (lib ? 3 : 0) + len, ext);
    return name;
}

/* Where the C library's header is: an installed physc's, else the source tree's. */
static char *potential_header(void)
{
    char *installed = installed_path(PHYSC_INSTALL_HEADER);
    return installed ? installed : strdup(PHYSC_POTENTIAL_HEADER);
}

/* Lowers the checked model, generates LLVM IR and writes what was asked. */
static int compile(const options *opt, phys_sema *sema, const phys_node *program, phys_diag *diag)
{
    lw_model *model = phys_lower(sema, program, opt->input, diag, 0);
    if (!model) return 1;
    const int lib = opt->emit && !strcmp(opt->emit, "lib"), exported = lib || opt->kim;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMModuleRef module = phys_codegen(ctx, model, "physm_model_get", !exported);
    char *output = opt->output ? NULL : output_name(opt);
    char *runtime = runtime_library();
    if (!runtime) exit(70);
    phys_emit_options eo = {
        .kind = !opt->emit ? EMIT_EXECUTABLE
                : !strcmp(opt->emit, "llvm") ? EMIT_LLVM_IR
                : !strcmp(opt->emit, "asm") ? EMIT_ASSEMBLY
                : lib ? EMIT_SHARED_LIBRARY : EMIT_OBJECT,
        .opt_level = opt->opt_level,
        .output = opt->output ? opt->output : output,
        .runtime_lib = runtime,
        .link_flags = PHYSC_LINK_FLAGS,
    };
    int rc = exported ? phys_export_check(model, opt->input, opt->kim != NULL) : 0;
    if (!rc && exported) rc = phys_export_data(module, opt->species ? opt->species : "X", opt->checkpoint);
    if (!rc && opt->kim) rc = phys_export_kim(module, &eo, opt->kim, eo.output);
    else if (!rc) rc = phys_emit(module, &eo);
    if (!rc && lib) {
        char *header = potential_header();
        if (!header) exit(70);
        rc = phys_export_header(eo.output, header);
        free(header);
    }
    free(output);
    free(runtime);
    LLVMDisposeModule(module);
    LLVMContextDispose(ctx);
    phys_lower_free(model);
    return rc;
}

int main(int argc, char **argv)
{
    int rc;
    if (argc >= 2 && !strcmp(argv[1], "repl")) {
        const char *model = NULL, *stdlib = getenv("PHYSC_STDLIB");
        int keep_going = 0;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--stdlib") && i + 1 < argc) stdlib = argv[++i];
            else if (!strcmp(argv[i], "--keep-going") || !strcmp(argv[i], "-k")) keep_going = 1;
            else if (!strcmp(argv[i], "--help")) {
                fputs(usage, stdout);
                return 0;
            } else if (argv[i][0] == '-') return bad_usage("unknown option '%s' for repl", argv[i]);
            else if (model) return bad_usage("repl takes one model ('%s' is a second one)", argv[i]);
            else model = argv[i];
        }
        char *library = standard_library(stdlib);
        if (!library) exit(70);
        rc = phys_repl(model, library, keep_going);
        free(library);
        return rc;
    }
    if (argc >= 2 && !strcmp(argv[1], "import-n2p2")) {
        const char *dir = NULL, *name = NULL, *stdlib = NULL;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "-o") && i + 1 < argc) name = argv[++i];
            else if (!strcmp(argv[i], "--stdlib") && i + 1 < argc) stdlib = argv[++i];
            else if (!strcmp(argv[i], "--help")) {
                fputs(usage, stdout);
                return 0;
            } else if (argv[i][0] == '-') return bad_usage("unknown option '%s' for import-n2p2", argv[i]);
            else if (dir) return bad_usage("import-n2p2 takes one directory ('%s' is a second one)", argv[i]);
            else dir = argv[i];
        }
        if (!dir) return bad_usage("%s", "import-n2p2: which directory? physc import-n2p2 DIR -o NAME");
        if (!name) return bad_usage("%s", "import-n2p2 needs -o NAME (it writes NAME.phys and NAME.ckpt)");
        char *library = standard_library(stdlib);
        if (!library) exit(70);
        rc = phys_import_n2p2(dir, name, library);
        free(library);
        return rc;
    }
    options opt;
    rc = parse_options(argc, argv, &opt);
    if (rc) return rc;

    phys_diag diag;
    phys_diag_init(&diag, stderr);
    diag.max_errors = opt.max_errors;
    phys_source *src = phys_source_load(opt.input, &diag);
    if (!src) return 1;

    phys_parse parse;
    phys_parse_source(src, &diag, &parse);
    if (!diag.errors && !declares_something(parse.program))
        phys_error(&diag, ((phys_loc){src, 1, 1, 1, 1}), "empty model: the file declares nothing");
    if (opt.dump_ast) {
        phys_ast_dump(stdout, parse.program);
        rc = diag.errors ? 1 : 0;
        goto done;
    }
    if (diag.errors) {
        rc = 1;
        goto done;
    }

    phys_sema *sema = phys_sema_create(&diag);
    char *library = standard_library(opt.stdlib);
    if (!library) exit(70);
    phys_sema_set_library_path(sema, library);
    free(library);
    phys_sema_check(sema, parse.program);
    if (!diag.errors && opt.check_only) phys_sema_warn_missing_files(sema, parse.program, opt.input);
    if (!diag.errors && !opt.check_only) rc = compile(&opt, sema, parse.program, &diag);
    if (diag.errors) rc = 1;
    phys_sema_destroy(sema);
done:
    phys_parse_free(&parse);
    phys_source_free(src);
    return rc;
}
