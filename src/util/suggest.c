/*
 * suggest.c — the closest known name to a misspelt one, for "did you mean" hints.
 *
 * Optimal string alignment distance (insertions, deletions, substitutions and swaps of two
 * adjacent characters, each one edit), ASCII case ignored, on the stack: names are short.
 */
#include "util/suggest.h"

#include <ctype.h>
#include <string.h>

#define MAXLEN 63

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

static size_t distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t d[MAXLEN + 1][MAXLEN + 1];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (ca != cb));
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    return d[la][lb];
}

const char *eg_suggest(const char *word, const void *first, size_t n, size_t stride)
{
    size_t lw = word ? strlen(word) : 0, best_d = 0;
    const char *best = NULL;
    if (!lw || lw > MAXLEN)
        return NULL;
    size_t limit = lw / 4 + 1 > 3 ? 3 : lw / 4 + 1;
    for (size_t i = 0; i < n; i++) {
        const char *c = *(const char *const *)(const void *)((const char *)first + i * stride);
        size_t lc = c ? strlen(c) : 0;
        if (!lc || lc > MAXLEN || (lc > lw ? lc - lw : lw - lc) > limit)
            continue;
        size_t d = distance(word, lw, c, lc);
        if (d <= limit && (!best || d < best_d)) {
            best = c;
            best_d = d;
        }
    }
    return best;
}
