/*
 * pairmap.h — an open-addressing hash map from a pair of 32-bit ids (a < b) to a 32-bit index,
 * for the edge tables of the association graphs. It stores keys and indexes only; the caller
 * keeps the edge data in its own arrays. Lookups never allocate; inserts grow the table.
 */
#ifndef EG_UTIL_PAIRMAP_H
#define EG_UTIL_PAIRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One slot: the pair (stored +1, so 0 means empty) beside its index, so that a lookup that hits
 * reads one cache line, not one for the key and one for the value. */
typedef struct eg_pairslot {
    uint32_t a, b, v;
} eg_pairslot;

typedef struct eg_pairmap {
    eg_pairslot *slots;
    size_t cap, n;
} eg_pairmap;

void eg_pairmap_init(eg_pairmap *m);
void eg_pairmap_free(eg_pairmap *m);
/* The index stored for (a, b) (order does not matter), or UINT32_MAX. */
uint32_t eg_pairmap_get(const eg_pairmap *m, uint32_t a, uint32_t b);
/* Stores index v for (a, b); returns 0 or EG_ENOMEM. */
int eg_pairmap_put(eg_pairmap *m, uint32_t a, uint32_t b, uint32_t v);
/* Makes room for n pairs at once (one rehash instead of one per doubling). */
int eg_pairmap_reserve(eg_pairmap *m, size_t n);
/* Keeps only the pairs whose index v has to[v] != UINT32_MAX, storing to[v] instead, in a
 * table sized for n pairs (at least the number kept): the map after its edges were renumbered
 * and some removed. On EG_ENOMEM the map is unchanged. */
int eg_pairmap_remap(eg_pairmap *m, const uint32_t *to, size_t n);
/* Asks the CPU to fetch the slot where (a, b) starts its probe: a loop of puts at random places
 * (rebuilding a map of millions of pairs) runs several times faster when each put's slot was
 * prefetched a few puts ahead. A hint only: it changes nothing. */
void eg_pairmap_prefetch(const eg_pairmap *m, uint32_t a, uint32_t b);

#endif
