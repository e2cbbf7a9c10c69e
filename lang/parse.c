/* Runs the scanner and parser over one source. */
#include "ast.h"
#include "scan_extra.h"
#include "parser.h"
#include "lexer.h"

int phys_parse_source(const phys_source *src, phys_diag *diag, phys_parse *out)
{
    int errors_before = diag->errors;
    struct phys_scan_extra extra = {phys_arena_create(), diag, src, NULL};
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
    out->program = extra.program;
    return diag->errors > errors_before;
}
