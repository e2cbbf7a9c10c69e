/* physc repl (see repl.c). */
#ifndef PHYS_REPL_H
#define PHYS_REPL_H

/* Runs a session on standard input; model_path may be NULL. Returns the
 * exit status. */
int phys_repl(const char *model_path, const char *stdlib);

#endif
