/* physc repl (see repl.c). */
#ifndef PHYS_REPL_H
#define PHYS_REPL_H

/* Runs a session on standard input; model_path may be NULL. A script (not
 * a terminal) stops at its first failing entry unless keep_going. Returns
 * the exit status: 1 when an entry of a script failed. */
int phys_repl(const char *model_path, const char *stdlib, int keep_going);

#endif
