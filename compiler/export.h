/* Export: a compiled particle model for other programs (see export.c). */
#ifndef PHYS_EXPORT_H
#define PHYS_EXPORT_H

#include <llvm-c/Types.h>

#include "emit.h"
#include "lower.h"

/* Whether the lowered model can be exported (kim: as a KIM model, which
 * runs on domains with ghosts, runtime/local_eval.c; else as a library):
 * 0, or 1 after `physc: error: FILE: ...` naming the reason. */
int phys_export_check(const lw_model *model, const char *file, int kim);

/* Adds to a module built without main the data the runtime's exported
 * entry points read (runtime/kim_model.c, runtime/model_lib.c): the species
 * names (comma-separated) and the bytes of the checkpoint file (NULL:
 * none). Returns 0, or 1 after `physc: error: ...`. */
int phys_export_data(LLVMModuleRef module, const char *species, const char *checkpoint);

/* A KIM portable model named name in directory dir (created if needed):
 * the model's object, the runtime libraries (runtime_lib and the
 * libphysrt_kim.a beside it) and the CMakeLists.txt that
 * kim-api-collections-management builds. eo gives the optimisation level
 * and runtime_lib. Returns 0, or 1 after `physc: error: ...`. */
int phys_export_kim(LLVMModuleRef module, const phys_emit_options *eo, const char *name, const char *dir);

/* Copies the C library's header (header, runtime/physc_potential.h) beside
 * library as physc_potential.h. Returns 0, or 1 after `physc: error: ...`. */
int phys_export_header(const char *library, const char *header);

#endif
