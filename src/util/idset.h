/*
 * idset.h — a set of byte strings (memory ids), open addressing on xxh3 hashes.
 *
 * Used where engram must know which ids it has seen (ingest --full's deletion report, the rowids
 * of a bulk load). The set
 * copies the strings it stores; eg_idset_free releases everything.
 */
#ifndef EG_UTIL_IDSET_H
#define EG_UTIL_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct eg_idset eg_idset;

int eg_idset_new(eg_idset **out);
void eg_idset_free(eg_idset *s);
/* Adds id (an id already present keeps its value); returns 0 or EG_ENOMEM. */
int eg_idset_add(eg_idset *s, const char *id, size_t len);
bool eg_idset_has(const eg_idset *s, const char *id, size_t len);
/* The set as a map: each id carries an int64 value (0 when added with eg_idset_add). put sets it,
 * adding the id if needed; get returns false when id is absent. */
int eg_idset_put(eg_idset *s, const char *id, size_t len, int64_t value);
bool eg_idset_get(const eg_idset *s, const char *id, size_t len, int64_t *value);
size_t eg_idset_size(const eg_idset *s);
/* Adds delta to id's value (adding the id with 0 first if needed) unless the last call for id
 * gave the same mark: a count of the texts an id occurs in, once per text, with mark numbering
 * the texts from 1 (an id added otherwise has mark 0). Returns 0 or EG_ENOMEM. */
int eg_idset_add_marked(eg_idset *s, const char *id, size_t len, uint32_t mark, int64_t delta);
/* Calls fn for each id and its value, in no particular order; stops at fn's first non-zero return
 * and returns it. */
int eg_idset_each(const eg_idset *s, int (*fn)(void *ud, const char *id, size_t len, int64_t value),
                  void *ud);
/* Empties the set (a large one gives its memory back). */
void eg_idset_clear(eg_idset *s);

#endif
