/*
 * suggest.h — "did you mean ...?": the closest of a few known names to a misspelt one.
 *
 * For error hints only (an unknown configuration key, an unknown command); nothing is ever
 * taken in place of what was written. Edit distance with adjacent transpositions, ASCII case
 * ignored; it allocates nothing.
 */
#ifndef EG_UTIL_SUGGEST_H
#define EG_UTIL_SUGGEST_H

#include <stddef.h>

/* The candidate closest to word, or NULL if none is close enough to be a likely typo: at most
 * strlen(word) / 4 + 1 edits away (3 at most), the first of equally close ones. Candidates are
 * n strings, each the first member (a const char *) of an element stride bytes apart from the
 * previous one, starting at first, so a table of structs can be passed as it is. Words or
 * candidates longer than 63 bytes never match. */
const char *eg_suggest(const char *word, const void *first, size_t n, size_t stride);

#endif
