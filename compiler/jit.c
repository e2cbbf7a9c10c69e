/* The REPL's JIT: an ORC LLJIT instance; every entry's module goes in with
 * its own resource tracker, so it can be removed (a redefinition replaces
 * the old code). Symbols of the running process (libm, libphysrt) resolve
 * through a process search generator. */
#include "jit.h"

#include <stdio.h>
#include <stdlib.h>

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>

struct phys_jit {
    LLVMOrcLLJITRef lljit;
    LLVMOrcThreadSafeContextRef tsc;
    LLVMOrcJITDylibRef dylib;
};

static int report(LLVMErrorRef err, const char *what)
{
    if (!err) return 0;
    char *msg = LLVMGetErrorMessage(err);
    fprintf(stderr, "physc: error: %s: %s\n", what, msg);
    LLVMDisposeErrorMessage(msg);
    return 1;
}

phys_jit *phys_jit_create(void)
{
    LLVMInitializeNativeTarget();
    LLVMInitializeNativeAsmPrinter();
    phys_jit *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    if (report(LLVMOrcCreateLLJIT(&j->lljit, NULL), "cannot start the JIT")) {
        free(j);
        return NULL;
    }
    j->dylib = LLVMOrcLLJITGetMainJITDylib(j->lljit);
    LLVMOrcDefinitionGeneratorRef gen;
    if (report(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(j->lljit),
                                                                     NULL, NULL),
               "cannot expose the runtime to the JIT")) {
        LLVMOrcDisposeLLJIT(j->lljit);
        free(j);
        return NULL;
    }
    LLVMOrcJITDylibAddGenerator(j->dylib, gen);
    j->tsc = LLVMOrcCreateNewThreadSafeContext();
    return j;
}

void phys_jit_destroy(phys_jit *j)
{
    if (!j) return;
    LLVMOrcDisposeLLJIT(j->lljit);
    LLVMOrcDisposeThreadSafeContext(j->tsc);
    free(j);
}

LLVMContextRef phys_jit_context(phys_jit *j)
{
    return LLVMOrcThreadSafeContextGetContext(j->tsc);
}

phys_jit_tracker phys_jit_add(phys_jit *j, LLVMModuleRef module)
{
    LLVMOrcResourceTrackerRef rt = LLVMOrcJITDylibCreateResourceTracker(j->dylib);
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(module, j->tsc);
    if (report(LLVMOrcLLJITAddLLVMIRModuleWithRT(j->lljit, rt, tsm), "cannot add code to the JIT")) {
        LLVMOrcReleaseResourceTracker(rt);
        return NULL;
    }
    return rt;
}

void *phys_jit_lookup(phys_jit *j, const char *name)
{
    LLVMOrcExecutorAddress addr = 0;
    if (report(LLVMOrcLLJITLookup(j->lljit, &addr, name), "JIT lookup failed")) return NULL;
    return (void *)(uintptr_t)addr;
}

void phys_jit_remove(phys_jit *j, phys_jit_tracker t)
{
    (void)j;
    if (!t) return;
    report(LLVMOrcResourceTrackerRemove(t), "cannot remove JIT code");
    LLVMOrcReleaseResourceTracker(t);
}
