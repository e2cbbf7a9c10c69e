/* libFuzzer harness for the front end and the lowering: scanner, parser,
 * semantic checks and, for a model that checks, the lowering to DAGs (the
 * dynamics, particles and sums included). Every input must end in
 * diagnostics or success, never a crash, a hang, a leak or undefined
 * behaviour. See README.md for how to run it. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ast.h"
#include "lower.h"
#include "sema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink) {
        sink = fopen("/dev/null", "w");
        if (!sink) abort();
    }
    phys_source *src = phys_source_from_text("fuzz.phys", (const char *)data, size);
    if (!src) return 0;

    phys_diag diag;
    phys_diag_init(&diag, sink);
    phys_parse parse;
    if (phys_parse_source(src, &diag, &parse) == 0 && parse.program) {
        phys_sema *sema = phys_sema_create(&diag);
        if (sema) {
            phys_sema_set_library_path(sema, PHYSC_STDLIB_DIR);
            if (phys_sema_check(sema, parse.program) == 0 && diag.errors == 0)
                phys_lower_free(phys_lower(sema, parse.program, "fuzz.phys", &diag, 0));
            phys_sema_destroy(sema);
        }
    }
    phys_parse_free(&parse);
    phys_source_free(src);
    return 0;
}
