/* Code generation: lowered model -> LLVM module (see codegen.c). */
#ifndef PHYS_CODEGEN_H
#define PHYS_CODEGEN_H

#include <llvm-c/Types.h>

#include "lower.h"
#include "physmodel_abi.h"

/* Builds the module in ctx (the caller owns it): the descriptor, returned
 * by a function named get_symbol (physm_model_get for a program), its
 * pointwise functions, and main when with_main. */
LLVMModuleRef phys_codegen(LLVMContextRef ctx, const lw_model *model, const char *get_symbol, int with_main);

/* For the REPL: PREFIX_inputs and PREFIX_residual (float64, with the
 * signatures of physm_inputs_f64 / physm_residual_f64) of a print term. */
LLVMModuleRef phys_codegen_print(LLVMContextRef ctx, const lw_model *model, const lw_term *term, const char *prefix);

/* Creates in ctx the LLVM mirror of every struct of physmodel_abi.h (named
 * as in C), indexed by physm_abi_layout; the scalars' slots get i32, i64,
 * double and ptr. Every descriptor codegen builds uses these types. */
void phys_codegen_abi_types(LLVMContextRef ctx, LLVMTypeRef types[PHYSM_ABI_N_LAYOUTS]);

#endif
