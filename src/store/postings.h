/*
 * postings.h — the two stored forms of "which memory has which concept" (migration 4), in one
 * place for the code that writes them (store/pipeline.c, store/migrations.c) and the code that
 * reads them (store/recall.c, bench/cooccur.c):
 *
 *   concept_posting      per concept, its memory rowids in chunks (rowid >> EG_POSTING_CHUNK_BITS,
 *                        migration 8), each a blob of 8-byte little-endian rowids, newest first:
 *                        a new memory changes only the last chunk of each of its concepts, not
 *                        a list as long as the concept is common (migration 4 kept one blob
 *                        per concept, in concept.postings);
 *   pipeline.concept_ids a JSON array of concept ids, e.g. "[3,17,42]".
 */
#ifndef EG_STORE_POSTINGS_H
#define EG_STORE_POSTINGS_H

#include <stdint.h>
#include <stdlib.h>

enum { EG_POSTING_BYTES = 8, EG_POSTING_CHUNK_BITS = 12 };

/* Writes v at p as EG_POSTING_BYTES little-endian bytes. */
static inline void eg_posting_put(unsigned char *p, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int b = 0; b < EG_POSTING_BYTES; b++)
        p[b] = (unsigned char)(u >> (8 * b));
}

/* Reads the rowid stored at p. */
static inline int64_t eg_posting_get(const unsigned char *p)
{
    uint64_t u = 0;
    for (int b = EG_POSTING_BYTES - 1; b >= 0; b--)
        u = u << 8 | p[b];
    return (int64_t)u;
}

/* The next concept id of a concept_ids text at *p (NULL or at its end: none). Returns 1 and
 * advances *p past it, or 0 when there is none left. */
static inline int eg_concept_ids_next(const char **p, long long *id)
{
    const char *s = *p;
    while (s && *s && (*s < '0' || *s > '9'))
        s++;
    if (!s || !*s) {
        *p = s;
        return 0;
    }
    /* the ids are digests below 2^63, written by the save in decimal: no sign, no overflow
     * (strtoll's locale and error handling were 8 % of a recall) */
    unsigned long long v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (unsigned long long)(*s - '0');
    *id = (long long)v;
    *p = s;
    return 1;
}

#endif
