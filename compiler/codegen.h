/* Code generation: lowered model -> LLVM module (see codegen.c). */
#ifndef PHYS_CODEGEN_H
#define PHYS_CODEGEN_H

#include <llvm-c/Types.h>

#include "lower.h"

/* Builds the module in ctx; the caller owns it. */
LLVMModuleRef phys_codegen(LLVMContextRef ctx, const lw_model *model);

#endif
