/* Emission: optimise a module with the new pass manager and write it as
 * LLVM IR, assembly, an object file, or a linked executable. */
#ifndef PHYS_EMIT_H
#define PHYS_EMIT_H

#include <llvm-c/TargetMachine.h>
#include <llvm-c/Types.h>

/* EMIT_SHARED_LIBRARY: a .so exporting only the physc_potential_* API
 * (runtime/physc_potential.h) of the model and runtime inside it. */
typedef enum { EMIT_EXECUTABLE, EMIT_OBJECT, EMIT_ASSEMBLY, EMIT_LLVM_IR, EMIT_SHARED_LIBRARY } phys_emit_kind;

typedef struct phys_emit_options {
    phys_emit_kind kind;
    int opt_level;            /* 0..3 */
    const char *output;       /* file to write */
    const char *runtime_lib;  /* libphysrt.a to link */
    const char *link_flags;   /* extra flags for the C compiler when linking */
} phys_emit_options;

/* Returns 0 on success; on failure prints `physc: error: ...` and returns 1. */
int phys_emit(LLVMModuleRef module, const phys_emit_options *options);

/* The target machine physc emits for (the host's triple, CPU and
 * features) at opt_level 0..3; NULL with *error set (an LLVM message) if
 * LLVM does not know the host. */
LLVMTargetMachineRef phys_host_machine(int opt_level, char **error);

#endif
