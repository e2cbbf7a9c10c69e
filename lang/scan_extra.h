/* State the scanner and parser share for one parse. */
#ifndef PHYS_SCAN_EXTRA_H
#define PHYS_SCAN_EXTRA_H

#include "ast.h"

struct phys_scan_extra {
    phys_arena *arena;
    phys_diag *diag;
    const phys_source *src;
    phys_node *program;   /* set by the parser */
    int start_token;      /* returned once before the input (REPL entries) */
};

#endif
