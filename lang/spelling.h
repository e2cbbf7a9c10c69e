/* The words of the language and near misses: the edit distance behind
 * every "did you mean" (names in the checks, keywords in the parser) and
 * the keywords that start a declaration. */
#ifndef PHYS_SPELLING_H
#define PHYS_SPELLING_H

#include <stddef.h>

/* Levenshtein distance, capped: words longer than 64 are never close. */
int phys_edit_distance(const char *a, const char *b);
/* The largest distance at which another word still passes for a
 * misspelling of word (1 for short words, up to 3 for long ones). */
int phys_misspelling_limit(const char *word);
/* True if the len characters at word are a keyword that starts a
 * declaration (model, const, field, equation, ...). */
int phys_declaration_keyword(const char *word, size_t len);

#endif
