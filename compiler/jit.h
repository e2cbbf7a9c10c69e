/* JIT for the REPL (see jit.c). */
#ifndef PHYS_JIT_H
#define PHYS_JIT_H

#include <llvm-c/Orc.h>
#include <llvm-c/Types.h>

typedef struct phys_jit phys_jit;
typedef LLVMOrcResourceTrackerRef phys_jit_tracker;

phys_jit *phys_jit_create(void);
void phys_jit_destroy(phys_jit *jit);
/* The context modules for this JIT are built in. */
LLVMContextRef phys_jit_context(phys_jit *jit);
/* Takes ownership of the module; NULL after reporting an error. */
phys_jit_tracker phys_jit_add(phys_jit *jit, LLVMModuleRef module);
/* Address of a JIT-compiled function (compiling it now), NULL on error. */
void *phys_jit_lookup(phys_jit *jit, const char *name);
/* Removes the code added with the tracker. */
void phys_jit_remove(phys_jit *jit, phys_jit_tracker tracker);

#endif
