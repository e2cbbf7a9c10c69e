/* Runs the scanner and parser over one source. */
#include "ast.h"
#include "scan_extra.h"
#include "parser.h"
#include "lexer.h"

#include <stdlib.h>

/* The passes after the parser walk the tree recursively, and a long chain
 * such as 1 + 1 + ... + 1 is a tree as deep as it is long (the parser's own
 * stack limit only bounds nesting in brackets). Deeper trees are cut here,
 * with one error, so no later pass can run out of stack. */
enum { MAX_TREE_DEPTH = 2048 };

static void limit_depth(phys_arena *arena, phys_diag *diag, phys_node *root)
{
    struct item { phys_node *node; int depth; } *stack;
    size_t n = 0, cap = 256;
    int reported = 0;
    if (!(stack = malloc(cap * sizeof *stack))) exit(70);
    stack[n++] = (struct item){root, 1};
    while (n > 0) {
        struct item it = stack[--n];
        for (int i = 0; i < it.node->nkids; i++) {
            phys_node *kid = it.node->kids[i];
            if (!kid) continue;
            if (it.depth + 1 > MAX_TREE_DEPTH) {
                if (!reported++)
                    phys_error(diag, kid->loc, "expression nested too deeply (more than %d operations deep): "
                               "split it into several 'let' definitions", MAX_TREE_DEPTH);
                it.node->kids[i] = phys_node_new(arena, N_ERROR, kid->loc);
                continue;
            }
            if (n == cap) {
                struct item *grown = realloc(stack, (cap *= 2) * sizeof *stack);
                if (!grown) exit(70);
                stack = grown;
            }
            stack[n++] = (struct item){kid, it.depth + 1};
        }
    }
    free(stack);
}

static int parse(const phys_source *src, phys_diag *diag, phys_parse *out, int start_token)
{
    int errors_before = diag->errors;
    struct phys_scan_extra extra = {phys_arena_create(), diag, src, NULL, start_token};
    out->arena = extra.arena;
    out->program = NULL;
    if (!extra.arena) return -1;

    yyscan_t scanner;
    if (phys_yylex_init_extra(&extra, &scanner) != 0) return -1;
    YY_BUFFER_STATE buffer = phys_yy_scan_bytes(src->text, (int)src->length, scanner);
    yyparse(scanner, &extra);
    phys_yy_delete_buffer(buffer, scanner);
    phys_yylex_destroy(scanner);

    if (!extra.program) /* parsing stopped before the first reduction */
        extra.program = phys_node_new(extra.arena, N_PROGRAM,
                                      (phys_loc){src, 1, 1, 1, 1});
    limit_depth(extra.arena, diag, extra.program);
    out->program = extra.program;
    return diag->errors > errors_before;
}

int phys_parse_source(const phys_source *src, phys_diag *diag, phys_parse *out)
{
    return parse(src, diag, out, 0);
}

int phys_parse_expressions(const phys_source *src, phys_diag *diag, phys_parse *out)
{
    return parse(src, diag, out, START_EXPRESSIONS);
}
