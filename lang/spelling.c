/* Near misses and declaration keywords (see spelling.h). */
#include "spelling.h"

#include <string.h>

int phys_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 64 || m > 64) return 99;
    int row[65];
    for (size_t j = 0; j <= m; j++) row[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int up = row[j];
            int best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[m];
}

int phys_misspelling_limit(const char *word)
{
    size_t len = strlen(word);
    return len <= 3 ? 1 : len <= 6 ? 2 : 3;
}

/* The first word of each declaration form of parser.y. */
int phys_declaration_keyword(const char *word, size_t len)
{
    static const char *const keywords[] = {
        "model", "import", "const", "param", "let", "domain", "region", "field", "equation", "initial",
        "boundary", "data", "loss", "train", "state", "dynamics", "force", "energy", "particles", "spins",
        "coupling", "symmetry", "conserve", "simulate", "recall", "output", "print",
    };
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (strlen(keywords[i]) == len && !strncmp(word, keywords[i], len)) return 1;
    return 0;
}
