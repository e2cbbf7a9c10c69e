/* The .phys grammar. A model is a sequence of declarations, each introduced
 * by a keyword, so newlines carry no meaning and a declaration may span
 * lines freely. lang/SPEC.md documents every form below. */
%define api.pure full
%locations
%define parse.error custom
%define parse.lac full
%lex-param {yyscan_t scanner}
%parse-param {yyscan_t scanner} {struct phys_scan_extra *px}

%code requires {
#include "ast.h"
#include "scan_extra.h"
typedef void *yyscan_t;
}

%code provides {
int phys_yylex(YYSTYPE *yylval, YYLTYPE *yylloc, yyscan_t scanner);
}

%code {
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "spelling.h"
#define yylex phys_yylex
#define LOC(l) ((phys_loc){px->src, (l).first_line, (l).first_column, (l).last_line, (l).last_column})
#define NODE(kind, l) phys_node_new(px->arena, (kind), LOC(l))
#define MAKE(kind, l, n, ...) phys_node_make(px->arena, (kind), LOC(l), (n), __VA_ARGS__)
#define ADD(parent, child) phys_node_add(px->arena, (parent), (child))

static void yyerror(YYLTYPE *loc, yyscan_t scanner, struct phys_scan_extra *px, const char *msg);

static phys_node *named(struct phys_scan_extra *px, phys_node *n, const char *name)
{
    (void)px;
    n->name = name;
    return n;
}

static phys_node *with_op(phys_node *n, int op)
{
    n->op = op;
    return n;
}

static phys_node *list1(struct phys_scan_extra *px, phys_loc loc, phys_node *first)
{
    phys_node *l = phys_node_new(px->arena, N_LIST, loc);
    phys_node_add(px->arena, l, first);
    return l;
}
}

%union {
    double number;
    const char *text;
    phys_node *node;
}

%token <text> IDENT "name"
%token <number> NUMBER "number"
%token <text> STRING "string"
%token KW_MODEL "'model'" KW_IMPORT "'import'" KW_CONST "'const'" KW_PARAM "'param'"
%token KW_LET "'let'" KW_DOMAIN "'domain'" KW_REGION "'region'" KW_FIELD "'field'"
%token KW_EQUATION "'equation'" KW_INITIAL "'initial'" KW_BOUNDARY "'boundary'"
%token KW_DATA "'data'" KW_LOSS "'loss'" KW_WEIGHT "'weight'" KW_TRAIN "'train'"
%token KW_STATE "'state'" KW_DYNAMICS "'dynamics'" KW_HAMILTONIAN "'hamiltonian'"
%token KW_NEWTON "'newton'" KW_FORCE "'force'" KW_ENERGY "'energy'"
%token KW_PARTICLES "'particles'" KW_SPINS "'spins'" KW_COUPLING "'coupling'"
%token KW_SYMMETRY "'symmetry'" KW_INVARIANT "'invariant'" KW_EQUIVARIANT "'equivariant'"
%token KW_UNDER "'under'" KW_CONSERVE "'conserve'" KW_SIMULATE "'simulate'"
%token KW_RECALL "'recall'" KW_OUTPUT "'output'" KW_PRINT "'print'"
%token KW_ON "'on'" KW_AT "'at'" KW_OF "'of'" KW_WHERE "'where'" KW_SAMPLE "'sample'"
%token KW_IN "'in'" KW_WITH "'with'" KW_WITHIN "'within'" KW_FROM "'from'" KW_TO "'to'" KW_EVERY "'every'"
%token KW_OVER "'over'" KW_TEMPERATURE "'temperature'" KW_SWEEPS "'sweeps'"
%token KW_SUM "'sum'" KW_SUM_PAIRS "'sum_pairs'" KW_SUM_TRIPLETS "'sum_triplets'" KW_PROD "'prod'" KW_IF "'if'"
%token KW_AND "'and'" KW_OR "'or'" KW_NOT "'not'"
%token EQEQ "'=='" NOTEQ "'!='" LESSEQ "'<='" GREATEREQ "'>='"
%token START_EXPRESSIONS "start of expressions"  /* never in source: selects the REPL's entry */

%type <node> program decl expr postfix primary arg args opt_args expr_list opt_expr_list
%type <node> opt_dims formals opt_formals coord coords region opt_at fix fix_group fix_groups
%type <node> opt_where opt_sample opt_method opt_weight constraint constraints call calls
%type <node> opt_type names state_item state_list binder binders quantity quantities groups
%type <node> start opt_to opt_every opt_temperature opt_sweeps opt_over opt_data_body
%type <node> dotted reduce condition_head attribute attributes opt_cutoff qualified
%type <text> opt_name keyword_name
%type <number> condition_kind sym_kind

%left KW_OR
%left KW_AND
%precedence KW_NOT
%nonassoc '<' '>' LESSEQ GREATEREQ NOTEQ
%left '+' '-'
%left '*' '/'
%precedence UMINUS
%right '^'

%start input

%%

/* A file is a program; a REPL line that is not a declaration is a list of
 * expressions to evaluate, parsed as a print declaration. */
input
    : program
    | START_EXPRESSIONS expr_list
                        { px->program = NODE(N_PROGRAM, @2); $2->kind = N_PRINT; ADD(px->program, $2); }
    ;

program
    : %empty            { $$ = px->program = NODE(N_PROGRAM, @$); }
    | program decl      { $$ = $1; ADD($1, $2); }
    ;

decl
    : KW_MODEL IDENT                         { $$ = named(px, NODE(N_MODEL, @2), $2); }
    | KW_IMPORT dotted                       { $$ = $2; ADD($$, NULL); }
    | KW_IMPORT dotted '(' names ')'         { $$ = $2; ADD($$, $4); }
    | KW_CONST IDENT opt_dims '=' expr       { $$ = named(px, MAKE(N_CONST, @2, 2, $3, $5), $2); }
    | KW_PARAM IDENT opt_dims '=' expr       { $$ = named(px, MAKE(N_PARAM, @2, 2, $3, $5), $2); }
    | KW_LET IDENT opt_formals '=' expr      { $$ = named(px, MAKE(N_LET, @2, 2, $3, $5), $2); }
    | KW_DOMAIN IDENT ':' coords             { $$ = $4; $$->kind = N_DOMAIN; $$->name = $2; $$->loc = LOC(@2); }
    | KW_REGION IDENT '=' region             { $$ = named(px, MAKE(N_REGION_DECL, @2, 1, $4), $2); }
    | KW_FIELD IDENT '(' formals ')' opt_type '=' expr
                                             { $$ = named(px, MAKE(N_FIELD, @2, 3, $4, $6, $8), $2); }
    | condition_head opt_sample opt_weight ':' constraints
                                             { $$ = $1; ADD($$, $2); ADD($$, $3); ADD($$, $5); }
    | KW_DATA opt_name STRING '(' names ')' opt_weight opt_data_body
                                             { phys_node *file = named(px, NODE(N_STRING, @3), $3);
                                               $$ = named(px, MAKE(N_DATA, @1, 4, file, $5, $7, $8), $2); }
    | KW_LOSS KW_WEIGHT IDENT '=' expr       { $$ = named(px, MAKE(N_LOSS_WEIGHT, @3, 1, $5), $3); }
    | KW_TRAIN calls                         { $$ = $2; $$->kind = N_TRAIN; $$->loc = LOC(@1); }
    | KW_STATE state_list                    { $$ = $2; $$->kind = N_STATE; $$->loc = LOC(@1); }
    | KW_DYNAMICS KW_HAMILTONIAN IDENT       { phys_node *h = named(px, NODE(N_NAME, @3), $3);
                                               $$ = with_op(MAKE(N_DYNAMICS, @1, 1, h), 'h'); }
    | KW_DYNAMICS KW_NEWTON '(' args ')'     { $$ = with_op(MAKE(N_DYNAMICS, @1, 1, $4), 'n'); }
    | KW_DYNAMICS ':' constraints            { $$ = with_op(MAKE(N_DYNAMICS, @1, 1, $3), 'x'); }
    | KW_FORCE IDENT '=' expr                { $$ = named(px, MAKE(N_FORCE, @2, 3, NULL, $4, NULL), $2); }
    | KW_FORCE IDENT '(' formals ')' '=' expr
                                             { $$ = named(px, MAKE(N_FORCE, @2, 3, $4, $7, NULL), $2); }
    | KW_FORCE IDENT '(' formals ')' KW_WITHIN expr '=' expr
                                             { $$ = named(px, MAKE(N_FORCE, @2, 3, $4, $9, $7), $2); }
    | KW_ENERGY IDENT '(' formals ')' '=' expr
                                             { $$ = named(px, MAKE(N_ENERGY, @2, 2, $4, $7), $2); }
    | KW_PARTICLES IDENT '[' expr ']' KW_WITH attributes
                                             { $$ = named(px, MAKE(N_PARTICLES, @2, 2, $4, $7), $2); }
    | KW_PARTICLES IDENT KW_WITH attributes  { $$ = named(px, MAKE(N_PARTICLES, @2, 2, NULL, $4), $2); }
    | KW_SPINS IDENT '[' expr ']' KW_IN '{' expr_list '}'
                                             { $8->kind = N_SET;
                                               $$ = named(px, MAKE(N_SPINS, @2, 2, $4, $8), $2); }
    | KW_COUPLING IDENT '=' expr             { $$ = named(px, MAKE(N_COUPLING, @2, 1, $4), $2); }
    | KW_SYMMETRY IDENT sym_kind KW_UNDER groups
                                             { $$ = with_op(named(px, MAKE(N_SYMMETRY, @2, 1, $5), $2), (int)$3); }
    | KW_CONSERVE quantities                 { $$ = MAKE(N_CONSERVE, @1, 1, $2); }
    | KW_SIMULATE call KW_FROM start opt_to opt_every
                                             { $$ = MAKE(N_SIMULATE, @1, 4, $2, $4, $5, $6); }
    | KW_SIMULATE IDENT call KW_FROM start opt_to opt_every
                                             { $$ = named(px, MAKE(N_SIMULATE, @1, 4, $3, $5, $6, $7), $2); }
    | KW_RECALL STRING opt_temperature opt_sweeps opt_to
                                             { phys_node *file = named(px, NODE(N_STRING, @2), $2);
                                               $$ = MAKE(N_RECALL, @1, 4, file, $3, $4, $5); }
    | KW_OUTPUT STRING opt_over opt_every ':' expr_list
                                             { phys_node *file = named(px, NODE(N_STRING, @2), $2);
                                               $$ = MAKE(N_OUTPUT, @1, 4, file, $3, $4, $6); }
    | KW_PRINT expr_list                     { $$ = $2; $$->kind = N_PRINT; $$->loc = LOC(@1); }
    | error                                  { $$ = NODE(N_ERROR, @$); }
    ;

/* ---- declaration pieces ---- */

dotted
    : IDENT                  { $$ = named(px, NODE(N_IMPORT, @1), $1); }
    | dotted '.' IDENT       {
                               size_t a = strlen($1->name), b = strlen($3);
                               char *joined = phys_arena_alloc(px->arena, a + b + 2);
                               memcpy(joined, $1->name, a);
                               joined[a] = '.';
                               memcpy(joined + a + 1, $3, b + 1);
                               $$ = $1;
                               $$->name = joined;
                             }
    ;

opt_dims
    : %empty                 { $$ = NULL; }
    | '[' expr_list ']'      { $$ = $2; }
    ;

opt_formals
    : %empty                 { $$ = NULL; }
    | '(' ')'                { $$ = NODE(N_LIST, @$); }
    | '(' formals ')'        { $$ = $2; }
    ;

formals
    : IDENT                  { $$ = list1(px, LOC(@1), named(px, NODE(N_PARAMETER, @1), $1)); }
    | formals ',' IDENT      { $$ = $1; ADD($$, named(px, NODE(N_PARAMETER, @3), $3)); }
    ;

opt_type
    : %empty                 { $$ = NULL; }
    | ':' IDENT opt_dims     { $$ = named(px, MAKE(N_TYPE, @2, 1, $3), $2); }
    ;

coords
    : coord                  { $$ = list1(px, LOC(@1), $1); }
    | coords ',' coord       { $$ = $1; ADD($$, $3); }
    ;

coord
    : IDENT KW_IN '[' expr ',' expr ']'
                             { $$ = named(px, MAKE(N_COORD, @1, 2, $4, $6), $1); }
    ;

region
    : IDENT opt_at opt_where { phys_node *d = named(px, NODE(N_NAME, @1), $1);
                               $$ = MAKE(N_REGION, @1, 3, d, $2, $3); }
    | KW_BOUNDARY KW_OF IDENT opt_where
                             { phys_node *d = named(px, NODE(N_NAME, @3), $3);
                               $$ = with_op(MAKE(N_REGION, @1, 3, d, NULL, $4), 'b'); }
    ;

opt_at
    : %empty                 { $$ = NULL; }
    | KW_AT fix_groups       { $$ = $2; }
    ;

/* `x = -1 | x = 1` is a union of two faces; `x = 0, t = 0` is one corner. */
fix_groups
    : fix_group              { $$ = list1(px, LOC(@1), $1); }
    | fix_groups '|' fix_group
                             { $$ = $1; ADD($$, $3); }
    ;

fix_group
    : fix                    { $$ = list1(px, LOC(@1), $1); }
    | fix_group ',' fix      { $$ = $1; ADD($$, $3); }
    ;

fix
    : IDENT '=' expr         { $$ = named(px, MAKE(N_FIX, @1, 1, $3), $1); }
    ;

opt_where
    : %empty                 { $$ = NULL; }
    | KW_WHERE expr          { $$ = $2; }
    ;

condition_kind
    : KW_EQUATION            { $$ = 'e'; }
    | KW_INITIAL             { $$ = 'i'; }
    | KW_BOUNDARY            { $$ = 'b'; }
    ;

condition_head
    : condition_kind opt_name KW_ON region
                             { $$ = with_op(named(px, MAKE(N_CONDITION, @1, 1, $4), $2), (int)$1); }
    ;

opt_name
    : %empty                 { $$ = NULL; }
    | IDENT                  { $$ = $1; }
    ;

opt_sample
    : %empty                 { $$ = NULL; }
    | KW_SAMPLE expr opt_method
                             { $$ = MAKE(N_SAMPLE, @1, 2, $2, $3); }
    ;

opt_method
    : %empty                 { $$ = NULL; }
    | IDENT                  { $$ = named(px, NODE(N_NAME, @1), $1); }
    | IDENT '(' opt_args ')' { phys_node *f = named(px, NODE(N_NAME, @1), $1);
                               $$ = MAKE(N_CALL, @1, 1, f);
                               for (int i = 0; $3 && i < $3->nkids; i++) ADD($$, $3->kids[i]); }
    ;

opt_weight
    : %empty                 { $$ = NULL; }
    | KW_WEIGHT expr         { $$ = $2; }
    ;

constraints
    : constraint             { $$ = list1(px, LOC(@1), $1); }
    | constraints ',' constraint
                             { $$ = $1; ADD($$, $3); }
    ;

/* `lhs == rhs`, or a constraint form such as periodic(u, x). */
constraint
    : expr EQEQ expr         { $$ = MAKE(N_CONSTRAINT, @2, 2, $1, $3); }
    | expr                   { $$ = MAKE(N_CONSTRAINT, @1, 2, $1, NULL); }
    ;

opt_data_body
    : %empty                 { $$ = NULL; }
    | ':' constraints        { $$ = $2; }
    ;

calls
    : call                   { $$ = list1(px, LOC(@1), $1); }
    | calls ',' call         { $$ = $1; ADD($$, $3); }
    ;

call
    : IDENT                  { $$ = MAKE(N_CALL, @1, 1, named(px, NODE(N_NAME, @1), $1)); }
    | IDENT '(' opt_args ')' { $$ = MAKE(N_CALL, @1, 1, named(px, NODE(N_NAME, @1), $1));
                               for (int i = 0; $3 && i < $3->nkids; i++) ADD($$, $3->kids[i]); }
    ;

state_list
    : state_item             { $$ = list1(px, LOC(@1), $1); }
    | state_list ',' state_item
                             { $$ = $1; ADD($$, $3); }
    ;

state_item
    : IDENT opt_dims         { $$ = named(px, MAKE(N_PARAMETER, @1, 1, $2), $1); }
    ;

/* Particle attributes, each optionally after its role word: position r[3].
 * Role words are ordinary names, read as roles only in this place. */
attributes
    : attribute              { $$ = list1(px, LOC(@1), $1); }
    | attributes ',' attribute
                             { $$ = $1; ADD($$, $3); }
    ;

attribute
    : IDENT opt_dims         { $$ = named(px, MAKE(N_PARAMETER, @1, 2, $2, NULL), $1); }
    | IDENT IDENT opt_dims   { phys_node *role = named(px, NODE(N_NAME, @1), $1);
                               $$ = named(px, MAKE(N_PARAMETER, @2, 2, $3, role), $2); }
    ;

names
    : IDENT                  { $$ = list1(px, LOC(@1), named(px, NODE(N_NAME, @1), $1)); }
    | names ',' IDENT        { $$ = $1; ADD($$, named(px, NODE(N_NAME, @3), $3)); }
    ;

sym_kind
    : KW_INVARIANT           { $$ = 'i'; }
    | KW_EQUIVARIANT         { $$ = 'e'; }
    ;

groups
    : names                  { $$ = $1; }
    ;

quantity
    : IDENT                  { $$ = named(px, NODE(N_NAME, @1), $1); }
    | KW_ENERGY              { $$ = named(px, NODE(N_NAME, @1), "energy"); }
    ;

quantities
    : quantity               { $$ = list1(px, LOC(@1), $1); }
    | quantities ',' quantity
                             { $$ = $1; ADD($$, $3); }
    ;

start
    : '(' fix_group ')'      { $$ = $2; }
    | STRING                 { $$ = named(px, NODE(N_STRING, @1), $1); }
    ;

opt_to
    : %empty                 { $$ = NULL; }
    | KW_TO STRING           { $$ = named(px, NODE(N_STRING, @2), $2); }
    ;

opt_every
    : %empty                 { $$ = NULL; }
    | KW_EVERY expr          { $$ = $2; }
    ;

opt_temperature
    : %empty                 { $$ = NULL; }
    | KW_TEMPERATURE expr    { $$ = $2; }
    ;

opt_sweeps
    : %empty                 { $$ = NULL; }
    | KW_SWEEPS expr         { $$ = $2; }
    ;

opt_over
    : %empty                 { $$ = NULL; }
    | KW_OVER fix_group      { $$ = $2; }
    ;

/* ---- expressions ---- */

expr
    : expr KW_OR expr        { $$ = with_op(MAKE(N_LOGIC, @2, 2, $1, $3), '|'); }
    | expr KW_AND expr       { $$ = with_op(MAKE(N_LOGIC, @2, 2, $1, $3), '&'); }
    | KW_NOT expr            { $$ = MAKE(N_NOT, @1, 1, $2); }
    | expr '<' expr          { $$ = with_op(MAKE(N_COMPARE, @2, 2, $1, $3), '<'); }
    | expr '>' expr          { $$ = with_op(MAKE(N_COMPARE, @2, 2, $1, $3), '>'); }
    | expr LESSEQ expr       { $$ = with_op(MAKE(N_COMPARE, @2, 2, $1, $3), 'L'); }
    | expr GREATEREQ expr    { $$ = with_op(MAKE(N_COMPARE, @2, 2, $1, $3), 'G'); }
    | expr NOTEQ expr        { $$ = with_op(MAKE(N_COMPARE, @2, 2, $1, $3), 'N'); }
    | expr '+' expr          { $$ = with_op(MAKE(N_BINARY, @2, 2, $1, $3), '+'); }
    | expr '-' expr          { $$ = with_op(MAKE(N_BINARY, @2, 2, $1, $3), '-'); }
    | expr '*' expr          { $$ = with_op(MAKE(N_BINARY, @2, 2, $1, $3), '*'); }
    | expr '/' expr          { $$ = with_op(MAKE(N_BINARY, @2, 2, $1, $3), '/'); }
    | expr '^' expr          { $$ = with_op(MAKE(N_BINARY, @2, 2, $1, $3), '^'); }
    | '-' expr %prec UMINUS  { $$ = MAKE(N_NEGATE, @1, 1, $2); }
    | '+' expr %prec UMINUS  { $$ = $2; }
    | postfix                { $$ = $1; }
    ;

postfix
    : primary                { $$ = $1; }
    | postfix '(' opt_args ')'
                             { $$ = MAKE(N_CALL, @1, 1, $1);
                               for (int i = 0; $3 && i < $3->nkids; i++) ADD($$, $3->kids[i]); }
    | postfix '[' expr_list ']'
                             { $$ = MAKE(N_INDEX, @1, 1, $1);
                               for (int i = 0; i < $3->nkids; i++) ADD($$, $3->kids[i]); }
    ;

primary
    : NUMBER                 { $$ = NODE(N_NUMBER, @1); $$->number = $1; }
    | STRING                 { $$ = named(px, NODE(N_STRING, @1), $1); }
    | IDENT                  { $$ = named(px, NODE(N_NAME, @1), $1); }
    | qualified              { $$ = $1; }
    | '(' expr ')'           { $$ = $2; }
    | '[' opt_expr_list ']'  { $$ = $2 ? $2 : NODE(N_LIST, @$); $$->kind = N_VECTOR; $$->loc = LOC(@1); }
    | reduce                 { $$ = $1; }
    | KW_IF '(' expr ',' expr ',' expr ')'
                             { $$ = MAKE(N_IF, @1, 3, $3, $5, $7); }
    ;

/* A name from an imported module: potentials.lennard_jones. */
qualified
    : IDENT '.' IDENT        { size_t a = strlen($1), b = strlen($3);
                               char *joined = phys_arena_alloc(px->arena, a + b + 2);
                               memcpy(joined, $1, a);
                               joined[a] = '.';
                               memcpy(joined + a + 1, $3, b + 1);
                               $$ = named(px, NODE(N_NAME, @$), joined); }
    | qualified '.' IDENT    { size_t a = strlen($1->name), b = strlen($3);
                               char *joined = phys_arena_alloc(px->arena, a + b + 2);
                               memcpy(joined, $1->name, a);
                               joined[a] = '.';
                               memcpy(joined + a + 1, $3, b + 1);
                               $$ = $1;
                               $$->name = joined;
                               $$->loc = LOC(@$); }
    ;

/* The cutoff of a pair sum ('within rc') belongs to its last binder. */
reduce
    : KW_SUM '(' binders opt_cutoff ':' expr ')'
                             { $$ = $3; $$->kids[$$->nkids - 1]->kids[1] = $4; ADD($$, $6);
                               $$->kind = N_REDUCE; $$->op = 's'; $$->loc = LOC(@1); }
    | KW_SUM_PAIRS '(' binders opt_cutoff ':' expr ')'
                             { $$ = $3; $$->kids[$$->nkids - 1]->kids[1] = $4; ADD($$, $6);
                               $$->kind = N_REDUCE; $$->op = 'p'; $$->loc = LOC(@1); }
    | KW_SUM_TRIPLETS '(' binders opt_cutoff ':' expr ')'
                             { $$ = $3; $$->kids[$$->nkids - 1]->kids[1] = $4; ADD($$, $6);
                               $$->kind = N_REDUCE; $$->op = 't'; $$->loc = LOC(@1); }
    | KW_PROD '(' binders opt_cutoff ':' expr ')'
                             { $$ = $3; $$->kids[$$->nkids - 1]->kids[1] = $4; ADD($$, $6);
                               $$->kind = N_REDUCE; $$->op = 'm'; $$->loc = LOC(@1); }
    ;

opt_cutoff
    : %empty                 { $$ = NULL; }
    | KW_WITHIN expr         { $$ = $2; }
    ;

binders
    : binder                 { $$ = list1(px, LOC(@1), $1); }
    | binders ',' binder     { $$ = $1; ADD($$, $3); }
    ;

binder
    : IDENT                  { $$ = named(px, MAKE(N_BINDER, @1, 2, NULL, NULL), $1); }
    | IDENT KW_IN expr       { $$ = named(px, MAKE(N_BINDER, @1, 2, $3, NULL), $1); }
    ;

opt_args
    : %empty                 { $$ = NULL; }
    | args                   { $$ = $1; }
    ;

args
    : arg                    { $$ = list1(px, LOC(@1), $1); }
    | args ',' arg           { $$ = $1; ADD($$, $3); }
    ;

arg
    : expr                   { $$ = $1; }
    | IDENT '=' expr         { $$ = named(px, MAKE(N_NAMED_ARG, @1, 1, $3), $1); }
    | keyword_name '=' expr  { $$ = named(px, MAKE(N_NAMED_ARG, @1, 1, $3), $1); }
    ;

/* Keywords that read naturally as argument names (adaptive(every = 100),
 * newton(..., force = F)); none can start an expression, so no ambiguity. */
keyword_name
    : KW_EVERY               { $$ = "every"; }
    | KW_WEIGHT              { $$ = "weight"; }
    | KW_TEMPERATURE         { $$ = "temperature"; }
    | KW_SWEEPS              { $$ = "sweeps"; }
    | KW_SAMPLE              { $$ = "sample"; }
    | KW_FORCE               { $$ = "force"; }
    | KW_ENERGY              { $$ = "energy"; }
    | KW_FROM                { $$ = "from"; }
    | KW_TO                  { $$ = "to"; }
    ;

expr_list
    : expr                   { $$ = list1(px, LOC(@1), $1); }
    | expr_list ',' expr     { $$ = $1; ADD($$, $3); }
    ;

opt_expr_list
    : %empty                 { $$ = NULL; }
    | expr_list              { $$ = $1; }
    ;

%%

static void yyerror(YYLTYPE *loc, yyscan_t scanner, struct phys_scan_extra *px, const char *msg)
{
    (void)scanner;
    if (strcmp(msg, "memory exhausted") == 0) msg = "expression nested too deeply";
    phys_error(px->diag, LOC(*loc), "%s", msg);
}

/* True for tokens that merely continue an expression: when an error could
 * be mended by any operator, listing them all is noise. */
static int continues_expression(yysymbol_kind_t t)
{
    static const char *const operators[] = {
        "'+'", "'-'", "'*'", "'/'", "'^'", "'<'", "'>'", "'<='", "'>='", "'!='",
        "'and'", "'or'", "'('", "'['", "'.'",
    };
    for (size_t i = 0; i < sizeof operators / sizeof *operators; i++)
        if (strcmp(yysymbol_name(t), operators[i]) == 0) return 1;
    return 0;
}

/* A keyword token's word: "'field'" -> field (NULL for other tokens). */
static const char *keyword_word(yysymbol_kind_t t, char buf[32])
{
    const char *name = yysymbol_name(t);
    size_t len = strlen(name);
    if (len < 3 || len > 30 || name[0] != '\'' || !isalpha((unsigned char)name[1])) return NULL;
    memcpy(buf, name + 1, len - 2);
    buf[len - 2] = '\0';
    return buf;
}

/* The text of the token at loc as written (one line, at most 255
 * characters), and whether only blanks stand before it on its line. */
static const char *token_text(const struct phys_scan_extra *px, phys_loc loc, char buf[256], int *starts_line)
{
    const char *p = px->src->text, *end = p + px->src->length;
    for (int line = 1; line < loc.first_line && p < end; p++)
        if (*p == '\n') line++;
    *starts_line = 1;
    for (int col = 1; col < loc.first_column && p < end; col++, p++)
        if (!isspace((unsigned char)*p)) *starts_line = 0;
    size_t n = 0;
    while (n < 255 && p + n < end && (isalnum((unsigned char)p[n]) || p[n] == '_')) n++;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

/* Friendlier words for two common slips, or 0 to report the plain error:
 * a reserved word where a name goes ("'energy' is a reserved word"), and a
 * name where a keyword goes: first on its line where a declaration starts,
 * "unknown declaration 'feild'; did you mean 'field'?"; elsewhere the plain
 * message with "; did you mean 'sample'?" appended to msg when a keyword
 * the grammar takes there is close. */
static int report_word_slip(const struct phys_scan_extra *px, phys_loc loc, yysymbol_kind_t got,
                            const yysymbol_kind_t *expected, int n, char *msg, size_t size)
{
    int want_name = 0, at_declaration = 0;
    if (got == YYSYMBOL_YYEMPTY) return 0;
    for (int i = 0; i < n; i++) {
        if (expected[i] == YYSYMBOL_IDENT) want_name = 1;
        if (expected[i] == YYSYMBOL_KW_FIELD) at_declaration = 1;
    }
    char word[32], text[256];
    int starts_line;
    const char *kw = keyword_word(got, word);
    if (kw && want_name) {
        /* A declaration keyword first on its line more likely ends the
         * declaration before it early (const g =, then const L = 2). */
        token_text(px, loc, text, &starts_line);
        int starts = phys_declaration_keyword(kw, strlen(kw));
        if (starts && starts_line) return 0;
        const char *article = strchr("aeiou", kw[0]) ? "an" : "a";
        if (starts)
            phys_error(px->diag, loc, "'%s' is a reserved word (it starts %s %s declaration); choose another name",
                       kw, article, kw);
        else
            phys_error(px->diag, loc, "'%s' is a reserved word (a keyword of the language); choose another name", kw);
        return 1;
    }
    if (got != YYSYMBOL_IDENT || want_name) return 0;
    token_text(px, loc, text, &starts_line);
    const char *best = NULL;
    int best_d = phys_misspelling_limit(text) + 1;
    char cand[32];
    for (int i = 0; i < n; i++) {
        const char *c = continues_expression(expected[i]) ? NULL : keyword_word(expected[i], cand);
        int d = c ? phys_edit_distance(text, c) : 99;
        if (d < best_d) best_d = d, best = yysymbol_name(expected[i]);
    }
    if (at_declaration && starts_line) { /* not a name after a finished expression (a @ b) */
        if (best)
            phys_error(px->diag, loc, "unknown declaration '%s'; did you mean %s?", text, best);
        else
            phys_error(px->diag, loc, "unknown declaration '%s': a declaration starts with a keyword such as "
                       "'const', 'let', 'field' or 'equation'", text);
        return 1;
    }
    if (!best) return 0;
    size_t len = strlen(msg);
    snprintf(msg + len, size - len, "; did you mean %s?", best);
    return 0;
}

/* "unexpected X, expected A, B or C". The expected set comes from LAC, so it
 * is exact; operators that would merely extend an expression are summarised. */
static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, struct phys_scan_extra *px)
{
    (void)scanner;
    yysymbol_kind_t expected[YYNTOKENS], shown[YYNTOKENS];
    int n = yypcontext_expected_tokens(ctx, expected, YYNTOKENS);
    int nshown = 0, operators = 0;
    for (int i = 0; i < n; i++) {
        if (continues_expression(expected[i])) operators = 1;
        else shown[nshown++] = expected[i];
    }
    if (n <= 4) { /* few enough: say them all */
        nshown = n;
        operators = 0;
        for (int i = 0; i < n; i++) shown[i] = expected[i];
    }
    yysymbol_kind_t got = yypcontext_token(ctx);
    char msg[640];
    int len = snprintf(msg, sizeof msg, "unexpected %s",
                       got == YYSYMBOL_YYEMPTY ? "end of file" : yysymbol_name(got));
    if (nshown > 0 && nshown <= 9) {
        len += snprintf(msg + len, sizeof msg - (size_t)len, ", expected ");
        for (int i = 0; i < nshown; i++)
            len += snprintf(msg + len, sizeof msg - (size_t)len, "%s%s",
                            i == 0 ? "" : (i == nshown - 1 && !operators) ? " or " : ", ",
                            yysymbol_name(shown[i]));
        if (operators) snprintf(msg + len, sizeof msg - (size_t)len, " or an operator");
    }
    if (!report_word_slip(px, LOC(*yypcontext_location(ctx)), got, expected, n, msg, sizeof msg))
        phys_error(px->diag, LOC(*yypcontext_location(ctx)), "%s", msg);
    for (int i = 0; i < n; i++)
        if (got != YYSYMBOL_YYEMPTY && strcmp(yysymbol_name(got), "'='") == 0 &&
            expected[i] == YYSYMBOL_EQEQ)
            phys_note(px->diag, LOC(*yypcontext_location(ctx)),
                      "an equation or condition is written 'lhs == rhs'");
    if (phys_diag_full(px->diag)) return YYENOMEM; /* stop parsing: enough said */
    return 0;
}
