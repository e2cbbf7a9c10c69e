/* The checked model: a symbol table over every declaration, filled by the
 * checking pass (check.c) and read by the passes after it. One phys_sema
 * lives as long as a compilation or a REPL session; it accumulates the
 * declarations of every program checked into it. */
#ifndef PHYS_SEMA_H
#define PHYS_SEMA_H

#include "ast.h"
#include "builtins.h"

enum { PHYS_MAX_FIELD_INPUTS = 8, PHYS_MAX_DERIVATIVE_ORDER = 4 };

typedef enum phys_symbol_kind {
    SYM_CONST, SYM_PARAM, SYM_LET, SYM_DOMAIN, SYM_REGION, SYM_FIELD, SYM_STATE,
    SYM_FORCE, SYM_ENERGY, SYM_PARTICLES, SYM_ATTRIBUTE, SYM_SPINS, SYM_COUPLING,
    SYM_TERM, SYM_KIND_COUNT
} phys_symbol_kind;

/* What a particle attribute stands for; explicit ('position r[3]') or by
 * the default rule (the first vector attribute is the position, the next of
 * its size the velocity). */
typedef enum {
    PHYS_ROLE_NONE, PHYS_ROLE_POSITION, PHYS_ROLE_VELOCITY, PHYS_ROLE_MASS, PHYS_ROLE_CHARGE,
    PHYS_ROLE_SPECIES
} phys_role;

typedef struct phys_symbol phys_symbol;
struct phys_symbol {
    const char *name;
    phys_symbol_kind kind;
    const phys_node *decl;        /* the declaration (for a coordinate: its N_COORD) */
    phys_shape shape;             /* of the value (fields: of the output) */
    int n_inputs;                 /* fields, lets, energies: formals; domains: coordinates */
    const char *inputs[PHYS_MAX_FIELD_INPUTS];
    const phys_node *input_nodes[PHYS_MAX_FIELD_INPUTS];
    const phys_symbol *owner;     /* attribute: its particle set; region: its domain */
    const phys_node *network;     /* fields: the network constructor call */
    int max_order;                /* fields: highest derivative order used */
    int folded;                   /* consts: 1 once value is known, -1 while folding */
    double value;                 /* consts: the folded scalar value */
    int replaced;                 /* REPL: 1 + index of the newer definition that took the name */
    const char *module;           /* the imported module that declares it; NULL: the model's own */
    phys_role role;               /* attribute: its explicit role word, or PHYS_ROLE_NONE */
};

typedef struct phys_sema phys_sema;

phys_sema *phys_sema_create(phys_diag *diag);
void phys_sema_destroy(phys_sema *sema);
/* In a REPL a definition may replace an earlier one of the same name. */
void phys_sema_allow_redefinition(phys_sema *sema, int allow);
/* Where `import name` looks for name.phys. */
void phys_sema_set_library_path(phys_sema *sema, const char *dir);

/* Checks a parsed program and adds its declarations. Returns the number of
 * errors it reported. */
int phys_sema_check(phys_sema *sema, const phys_node *program);

/* Warns (file:line:col: warning: ...) about each file the compiled program
 * would read (data, 'simulate ... from', recall, hebbian()) that is not
 * there, resolved as the program resolves it: against the directory of
 * model_path unless absolute. Returns the number of warnings. */
int phys_sema_warn_missing_files(phys_sema *sema, const phys_node *program, const char *model_path);

/* A REPL entry that fails is undone: mark before checking it, roll back
 * to the mark after an error. */
typedef struct phys_sema_mark {
    int n_symbols, n_modules;
    const phys_node *dynamics;
} phys_sema_mark;
phys_sema_mark phys_sema_get_mark(const phys_sema *sema);
void phys_sema_rollback(phys_sema *sema, phys_sema_mark mark);

phys_symbol *phys_sema_lookup(phys_sema *sema, const char *name);
int phys_sema_symbol_count(const phys_sema *sema);
phys_symbol *phys_sema_symbol_at(phys_sema *sema, int i);
const char *phys_symbol_kind_name(phys_symbol_kind kind);
/* The same with its article: "a field", "an energy". */
const char *phys_symbol_kind_with_article(phys_symbol_kind kind);

/* Folds a compile-time constant scalar; returns 0 (and reports nothing) if
 * the expression is not constant. */
int phys_sema_fold(phys_sema *sema, const phys_node *expr, double *out);

/* True if the pair force F(i, j) is s * unit(i, j) (or disp) with s
 * unchanged when i and j are exchanged: F(i, j) = -F(j, i) by construction. */
int phys_sema_pair_force_antisymmetric(const phys_symbol *force);

/* ---- the system record: the particle sets, for the checker, the lowering
 * and the runtime ABI alike ---- */
enum { PHYS_MAX_SET_ATTRIBUTES = 32, PHYS_MAX_PARTICLE_SETS = 8 };
typedef struct phys_particle_set {
    const phys_symbol *sym;          /* the SYM_PARTICLES symbol */
    long count;                      /* -1: known at run time */
    int n_attrs;
    const phys_symbol *attrs[PHYS_MAX_SET_ATTRIBUTES]; /* SYM_ATTRIBUTE symbols in declaration order */
    phys_role roles[PHYS_MAX_SET_ATTRIBUTES];          /* explicit or by the default rule */
    const phys_symbol *position, *velocity, *mass, *charge, *species; /* NULL if none */
} phys_particle_set;
typedef struct phys_system {
    int n_sets;
    phys_particle_set sets[PHYS_MAX_PARTICLE_SETS];
} phys_system;

/* The particle sets of the checked model in declaration order. Roles: the
 * explicit role words; a set that names neither a position nor a velocity
 * takes its first vector attribute as the position and the next vector of
 * that size as the velocity; 'newton(mass = m)' naming an attribute makes
 * it its set's mass unless the set names one. A set without a velocity does
 * not move. */
const phys_system *phys_sema_system(phys_sema *sema);
/* The entry of a particle set symbol in the system record, or NULL. */
const phys_particle_set *phys_sema_particle_set(phys_sema *sema, const phys_symbol *set);

/* The particles' position: the position of the first particle set, or NULL. */
const phys_symbol *phys_sema_position_attribute(phys_sema *sema);

/* ---- the resolved AST (phys_node.res, filled by phys_sema_check) ---- */

/* The built-in a callee names (N_NAME, or the N_CALL itself), or
 * B_ID_NONE when it names a declaration, a local or nothing checked. */
phys_builtin_id phys_resolved_builtin(const phys_node *callee);
/* The declaration a name (or a call's callee) resolved to, or NULL. In a
 * REPL session it may since have been replaced: see phys_sema_current. */
const phys_symbol *phys_resolved_symbol(const phys_node *name);
/* The node that binds a local name (N_BINDER, N_PARAMETER, N_COORD, ...), or NULL. */
const phys_node *phys_resolved_binding(const phys_node *name);
/* The particle set a binder (N_BINDER, a pair force's N_PARAMETER) or an
 * index name bound by one runs over; NULL for a counted range or a non-index. */
const phys_symbol *phys_resolved_set(const phys_node *binder_or_name);
/* The newest definition of sym's name (a REPL redefinition replaces it). */
const phys_symbol *phys_sema_current(phys_sema *sema, const phys_symbol *sym);

/* Every declaration of the checked program, those of imported modules
 * included (each module once, in place of its first 'import'), in order:
 * an N_PROGRAM the lowering iterates instead of `program`. Allocated in
 * the sema; declarations a module may not make (model, train, dynamics,
 * simulate, recall, output, print) were refused by the checker and are
 * left out. */
const phys_node *phys_sema_program(phys_sema *sema, const phys_node *program);

/* The force (mass = 0) or the mass expression (mass = 1) of
 * 'dynamics newton(F, mass = m)', in any order; NULL when absent. */
const phys_node *phys_newton_arg(const phys_node *dynamics, int mass);

/* V when force is -grad(V, r) of the particles' positions r (conservative),
 * else NULL. */
const phys_node *phys_sema_force_potential(phys_sema *sema, const phys_symbol *force);

/* The closest name to `name` among symbols, coordinates in `extra` and
 * built-ins, within a small edit distance; NULL if none is close. */
const char *phys_sema_suggest(phys_sema *sema, const char *name, const char *const *extra, int n_extra);

#endif
