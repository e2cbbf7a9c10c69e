/* What the passes behind phys_sema share; not for other modules. */
#ifndef PHYS_SEMA_INTERNAL_H
#define PHYS_SEMA_INTERNAL_H

#include "builtins.h"
#include "sema.h"

#ifndef PHYSC_STDLIB_DIR
#define PHYSC_STDLIB_DIR "stdlib"
#endif

typedef struct phys_module {
    const char *name;
    phys_source *source;
    phys_parse parse;
} phys_module;

struct phys_sema {
    phys_diag *diag;
    phys_arena *arena;              /* strings the sema itself makes */
    phys_symbol **symbols;          /* each allocated once, in the arena */
    int n_symbols, cap_symbols;
    int allow_redefinition;
    const char *library_path;
    phys_module *modules;           /* imported library modules, kept alive */
    int n_modules;
    int import_depth;
    int fold_cycle;                 /* set when folding met a const defined through itself */
    const phys_node *dynamics;      /* the model's dynamics declaration, if any */
    const char *module;             /* the module being checked; NULL: the model itself */
    unsigned generation;            /* bumped by every change to the symbols */
    unsigned system_generation;     /* the generation `system` was built at, + 1 */
    const phys_node *system_dynamics; /* and the dynamics it read */
    phys_system system;             /* cached by phys_sema_system */
};

phys_symbol *sema_add_symbol(phys_sema *sema, const char *name, phys_symbol_kind kind,
                             const phys_node *decl);

#endif
