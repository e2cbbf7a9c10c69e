/* The abstract syntax tree the parser builds. One node type with a kind, a
 * location, an optional name/number/operator and an ordered list of
 * children; what each child means is documented per kind below. All nodes of
 * one parse live in one arena and are freed together. */
#ifndef PHYS_AST_H
#define PHYS_AST_H

#include "source.h"

typedef enum phys_node_kind {
    /* ---- expressions ---- */
    N_NUMBER,      /* number */
    N_STRING,      /* name = the unescaped text */
    N_NAME,        /* name; a qualified name module.member is one N_NAME
                      named "module.member" */
    N_BINARY,      /* op in + - * / ^ ; kids: left, right */
    N_NEGATE,      /* kids: operand */
    N_COMPARE,     /* op in < > L(<=) G(>=) N(!=) E(==); kids: left, right */
    N_LOGIC,       /* op '&' (and) or '|' (or); kids: left, right */
    N_NOT,         /* kids: operand */
    N_CALL,        /* kids: callee, then arguments (N_NAMED_ARG or expressions) */
    N_NAMED_ARG,   /* name; kids: value */
    N_INDEX,       /* kids: base, then indices */
    N_VECTOR,      /* [a, b, ...]; kids: elements */
    N_SET,         /* {a, b, ...}; kids: elements */
    N_REDUCE,      /* op 's' sum, 'p' sum over unordered pairs, 'm' product;
                      kids: N_BINDER..., body */
    N_BINDER,      /* name; kids: range it runs over or NULL, cutoff or NULL
                      (only the last binder of a reduction carries one:
                      'within rc') */
    N_IF,          /* if(cond, then, else); kids: cond, then, else */

    /* ---- pieces of declarations ---- */
    N_LIST,        /* a plain sequence; kids: items */
    N_PARAMETER,   /* a formal input name; kids: optional dims (N_LIST); a
                      particle attribute has a second kid, its role word
                      (N_NAME: position, velocity, mass, charge, species) or NULL */
    N_COORD,       /* name in [lo, hi]; kids: lo, hi */
    N_REGION,      /* kids: domain name (N_NAME), fixings (N_LIST of N_FIX),
                      where-condition or nothing; op 'b' = whole boundary */
    N_FIX,         /* name = value (a coordinate held fixed); kids: value */
    N_SAMPLE,      /* kids: count, optional method (N_NAME or N_CALL) */
    N_CONSTRAINT,  /* lhs == rhs; kids: lhs, rhs */
    N_TYPE,        /* name: scalar/vector/matrix; kids: dims */

    /* ---- declarations ---- */
    N_PROGRAM,     /* kids: declarations */
    N_MODEL,       /* name */
    N_IMPORT,      /* name = dotted module path; kids: the import list (N_LIST of
                      N_NAME) or NULL for every name */
    N_CONST,       /* name; kids: dims (N_LIST) or nothing, value */
    N_PARAM,       /* name; kids: dims or nothing, initial value, options (N_LIST) */
    N_LET,         /* name; kids: formals (N_LIST) or nothing, body */
    N_DOMAIN,      /* name; kids: N_COORD... */
    N_REGION_DECL, /* name; kids: N_REGION */
    N_FIELD,       /* name; kids: formals (N_LIST), type or nothing, body */
    N_CONDITION,   /* op 'e' equation, 'i' initial, 'b' boundary; name or NULL;
                      kids: region, sample or nothing, weight or nothing,
                      constraints (N_LIST) */
    N_DATA,        /* name or NULL; kids: file (N_STRING), columns (N_LIST of
                      N_NAME), weight or nothing, constraints (N_LIST) or nothing */
    N_LOSS_WEIGHT, /* name = the term; kids: value */
    N_TRAIN,       /* kids: optimizer calls (N_CALL) */
    N_STATE,       /* kids: N_PARAMETER... (name with optional dims) */
    N_DYNAMICS,    /* op 'h' hamiltonian (kids: H), 'n' newton (kids: options
                      N_LIST of N_NAMED_ARG), 'x' explicit (kids: N_LIST of
                      N_CONSTRAINT dot(q) == rhs) */
    N_FORCE,       /* name; kids: pair binders (N_LIST) or nothing, body, cutoff
                      ('within rc') or nothing */
    N_ENERGY,      /* name; kids: formals (N_LIST), body */
    N_PARTICLES,   /* name; kids: count or NULL (known at run time), attributes
                      (N_LIST of N_PARAMETER) */
    N_SPINS,       /* name; kids: size, value set (N_SET) */
    N_COUPLING,    /* name; kids: value */
    N_SYMMETRY,    /* name = the symmetric quantity; op 'i' invariant,
                      'e' equivariant; kids: groups (N_LIST of N_NAME) */
    N_CONSERVE,    /* kids: quantities (N_LIST of N_NAME) */
    N_SIMULATE,    /* name or NULL; kids: integrator call, start (N_LIST of
                      N_FIX, or N_STRING), output file or nothing, every or nothing */
    N_RECALL,      /* kids: file (N_STRING), temperature or nothing, sweeps or nothing,
                      output file or nothing */
    N_OUTPUT,      /* kids: file, grid (N_LIST of N_FIX, e.g. x = linspace(a, b, n)),
                      every or nothing, columns (N_LIST) */
    N_PRINT,       /* kids: expressions (a script's or REPL's evaluation) */
    N_ERROR,       /* placeholder left where the parser recovered */
    N_NODE_KIND_COUNT
} phys_node_kind;

/* Shape of a value: rank 0 scalar, 1 vector, 2 matrix; -1 = size unknown
 * (a particle set's size known only at run time). */
typedef struct phys_shape {
    int rank;
    int dims[2];
} phys_shape;

typedef struct phys_node phys_node;
struct phys_symbol;

/* What the checker (compiler/check.c) resolved a name to. Filled on every
 * N_NAME it checks (callees included), on binders (N_BINDER) and on the
 * formals that bind locals; read through the accessors of compiler/sema.h. */
typedef enum phys_resolved_kind {
    PHYS_UNRESOLVED,        /* not checked (or an error) */
    PHYS_RESOLVED_SYMBOL,   /* a declaration: res.sym */
    PHYS_RESOLVED_LOCAL,    /* a local: res.local, bound by res.binding */
    PHYS_RESOLVED_BUILTIN,  /* a built-in: res.builtin, a phys_builtin_id */
    PHYS_RESOLVED_INPUT,    /* an input of field res.sym, number res.index (d(u, x)'s x) */
} phys_resolved_kind;

typedef enum phys_local_kind {
    PHYS_LOCAL_COORD,       /* a domain coordinate (N_COORD) or output grid name (N_FIX) */
    PHYS_LOCAL_FORMAL,      /* a formal of a let, field, energy (N_PARAMETER) */
    PHYS_LOCAL_INDEX,       /* a summation or pair index (N_BINDER, or a pair force's N_PARAMETER) */
    PHYS_LOCAL_COLUMN,      /* a data column (N_NAME in the column list) */
} phys_local_kind;

typedef struct phys_resolved {
    phys_resolved_kind kind;
    const struct phys_symbol *sym;  /* SYMBOL; INPUT: the field; LOCAL index and
                                       N_BINDER: the particle set it runs over (NULL
                                       for a counted range) */
    const phys_node *binding;       /* LOCAL: the node that binds the name */
    phys_local_kind local;
    int builtin;                    /* BUILTIN: a phys_builtin_id (compiler/builtins.h) */
    int index;                      /* INPUT: which input */
    int has_shape;
    phys_shape shape;               /* of the value, when has_shape */
} phys_resolved;

struct phys_node {
    phys_node_kind kind;
    int op;
    phys_loc loc;
    const char *name;
    double number;
    int nkids;
    phys_node **kids;   /* a NULL entry is an absent optional child */
    phys_resolved res;  /* filled by the checker */
};

/* Arena owning every node and string of one parse. */
typedef struct phys_arena phys_arena;
phys_arena *phys_arena_create(void);
void phys_arena_destroy(phys_arena *arena);
void *phys_arena_alloc(phys_arena *arena, size_t size);
const char *phys_arena_strdup(phys_arena *arena, const char *s, size_t n);

phys_node *phys_node_new(phys_arena *arena, phys_node_kind kind, phys_loc loc);
/* Appends a child (NULL allowed for an absent optional part). */
void phys_node_add(phys_arena *arena, phys_node *parent, phys_node *child);
phys_node *phys_node_make(phys_arena *arena, phys_node_kind kind, phys_loc loc, int nkids, ...);

const char *phys_node_kind_name(phys_node_kind kind);
/* The value of the named argument `name` of a call, or NULL. */
const phys_node *phys_node_named_arg(const phys_node *call, const char *name);
/* Prints the tree, one node a line, indented by depth. */
void phys_ast_dump(FILE *out, const phys_node *node);

/* Result of parsing one source. */
typedef struct phys_parse {
    phys_arena *arena;
    phys_node *program;   /* N_PROGRAM, possibly holding N_ERROR nodes */
} phys_parse;

/* Parses src; errors go to diag. Returns 0 when no error was reported. */
int phys_parse_source(const phys_source *src, phys_diag *diag, phys_parse *out);
/* Parses src as a comma-separated list of expressions (a REPL entry that
 * is not a declaration): the program holds one N_PRINT. */
int phys_parse_expressions(const phys_source *src, phys_diag *diag, phys_parse *out);
void phys_parse_free(phys_parse *parse);

#endif
