/* Emission (see emit.h). Objects are written for the host CPU; executables
 * are linked by the system C compiler against the runtime library. */
#define _POSIX_C_SOURCE 200809L /* posix_spawnp, strdup, getpid */
#include "emit.h"

#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

extern char **environ;

static int fail(const char *what, char *llvm_message)
{
    fprintf(stderr, "physc: error: %s%s%s\n", what, llvm_message ? ": " : "", llvm_message ? llvm_message : "");
    if (llvm_message) LLVMDisposeMessage(llvm_message);
    return 1;
}

LLVMTargetMachineRef phys_host_machine(int opt_level, char **error)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    char *triple = LLVMGetDefaultTargetTriple();
    LLVMTargetRef target;
    if (LLVMGetTargetFromTriple(triple, &target, error)) {
        LLVMDisposeMessage(triple);
        return NULL;
    }
    char *cpu = LLVMGetHostCPUName(), *features = LLVMGetHostCPUFeatures();
    static const LLVMCodeGenOptLevel levels[] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess,
                                                 LLVMCodeGenLevelDefault, LLVMCodeGenLevelAggressive};
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, triple, cpu, features, levels[opt_level],
                                                      LLVMRelocPIC, LLVMCodeModelDefault);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    return tm;
}

/* Runs the C compiler to link object + runtime into an executable or, with
 * version_script, a shared library exporting what the script names. */
static int link_executable(const char *object, const phys_emit_options *o, const char *version_script)
{
    if (access(o->runtime_lib, R_OK) != 0) {
        fprintf(stderr, "physc: error: linking %s: the runtime library %s cannot be read: %s "
                        "(set PHYSC_RUNTIME to libphysrt.a)\n", o->output, o->runtime_lib, strerror(errno));
        return 1;
    }
    const char *cc = getenv("CC");
    if (!cc || !*cc) cc = "cc";
    char *argv[64];
    int argc = 0;
    char script_flag[4200];
    argv[argc++] = (char *)cc;
    if (version_script) {
        snprintf(script_flag, sizeof script_flag, "-Wl,--version-script=%s", version_script);
        argv[argc++] = "-shared";
        argv[argc++] = "-Wl,--undefined=physc_potential_create"; /* the API's member of the runtime */
        argv[argc++] = script_flag;
    }
    argv[argc++] = (char *)object;
    argv[argc++] = (char *)o->runtime_lib;
    char *flags = o->link_flags ? strdup(o->link_flags) : NULL;
    for (char *tok = flags ? strtok(flags, " ") : NULL; tok && argc < 56; tok = strtok(NULL, " ")) argv[argc++] = tok;
    argv[argc++] = "-lm";
    argv[argc++] = "-lpthread";
    argv[argc++] = "-o";
    argv[argc++] = (char *)o->output;
    argv[argc] = NULL;
    pid_t pid;
    int rc = posix_spawnp(&pid, cc, NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "physc: error: cannot run the C compiler '%s' to link: %s\n", cc, strerror(rc));
        free(flags);
        return 1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    free(flags);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "physc: error: linking %s against %s failed\n", o->output, o->runtime_lib);
        return 1;
    }
    return 0;
}

/* codegen.c marks functions too large to optimise 'optnone'; then the loop
 * vectoriser (whose analysis alone takes seconds on them) is left out and
 * the code generator runs at its lowest level (its register allocator
 * takes tens of seconds on them otherwise). */
static int has_optnone_function(LLVMModuleRef module)
{
    unsigned kind = LLVMGetEnumAttributeKindForName("optnone", 7);
    for (LLVMValueRef fn = LLVMGetFirstFunction(module); fn; fn = LLVMGetNextFunction(fn))
        if (LLVMGetEnumAttributeAtIndex(fn, LLVMAttributeFunctionIndex, kind)) return 1;
    return 0;
}

int phys_emit(LLVMModuleRef module, const phys_emit_options *o)
{
    char *message = NULL;
    if (LLVMVerifyModule(module, LLVMReturnStatusAction, &message))
        return fail("internal error: generated code does not verify", message);
    LLVMDisposeMessage(message);

    LLVMTargetMachineRef tm = phys_host_machine(o->opt_level, &message);
    if (!tm) return fail("no code generator for this machine", message);
    LLVMTargetDataRef data = LLVMCreateTargetDataLayout(tm);
    char *layout = LLVMCopyStringRepOfTargetData(data);
    LLVMSetDataLayout(module, layout);
    LLVMDisposeMessage(layout);
    LLVMDisposeTargetData(data);
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(module, triple);
    LLVMDisposeMessage(triple);

    char pipeline[32];
    snprintf(pipeline, sizeof pipeline, "default<O%d>", o->opt_level);
    LLVMPassBuilderOptionsRef popts = LLVMCreatePassBuilderOptions();
    int huge = has_optnone_function(module);
    LLVMPassBuilderOptionsSetLoopVectorization(popts, o->opt_level >= 2 && !huge);
    LLVMPassBuilderOptionsSetSLPVectorization(popts, o->opt_level >= 2);
    LLVMErrorRef err = LLVMRunPasses(module, pipeline, tm, popts);
    LLVMDisposePassBuilderOptions(popts);
    if (err) {
        LLVMDisposeTargetMachine(tm);
        return fail("optimisation failed", LLVMGetErrorMessage(err));
    }

    if (o->kind != EMIT_LLVM_IR && o->opt_level > 0 && huge) {
        LLVMDisposeTargetMachine(tm);
        tm = phys_host_machine(0, &message);
        if (!tm) return fail("no code generator for this machine", message);
    }
    int rc = 0;
    if (o->kind == EMIT_LLVM_IR) {
        if (LLVMPrintModuleToFile(module, o->output, &message)) rc = fail("cannot write the IR", message);
    } else if (o->kind == EMIT_ASSEMBLY || o->kind == EMIT_OBJECT) {
        LLVMCodeGenFileType type = o->kind == EMIT_ASSEMBLY ? LLVMAssemblyFile : LLVMObjectFile;
        if (LLVMTargetMachineEmitToFile(tm, module, o->output, type, &message))
            rc = fail("cannot write the output", message);
    } else {
        char object[4096];
        snprintf(object, sizeof object, "%s.%ld.o", o->output, (long)getpid());
        if (LLVMTargetMachineEmitToFile(tm, module, object, LLVMObjectFile, &message)) {
            rc = fail("cannot write the object file", message);
        } else if (o->kind == EMIT_SHARED_LIBRARY) {
            char script[4096];
            snprintf(script, sizeof script, "%s.%ld.map", o->output, (long)getpid());
            FILE *f = fopen(script, "w");
            int bad = !f;
            if (f) {
                bad = fputs("{ global: physc_potential_*; local: *; };\n", f) < 0;
                bad |= fclose(f) != 0;
            }
            if (bad) {
                rc = fail("cannot write the linker's version script", NULL);
            } else {
                rc = link_executable(object, o, script);
            }
            remove(script);
            remove(object);
        } else {
            rc = link_executable(object, o, NULL);
            remove(object);
        }
    }
    LLVMDisposeTargetMachine(tm);
    return rc;
}
