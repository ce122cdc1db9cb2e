/*
 * idset.h — a set of byte strings (memory ids), open addressing on xxh3 hashes.
 *
 * Used where engram must know which ids it has seen (ingest --full's deletion report). The set
 * copies the strings it stores; eg_idset_free releases everything.
 */
#ifndef EG_UTIL_IDSET_H
#define EG_UTIL_IDSET_H

#include <stdbool.h>
#include <stddef.h>

typedef struct eg_idset eg_idset;

int eg_idset_new(eg_idset **out);
void eg_idset_free(eg_idset *s);
/* Adds id; returns 0 (also when already present) or EG_ENOMEM. */
int eg_idset_add(eg_idset *s, const char *id, size_t len);
bool eg_idset_has(const eg_idset *s, const char *id, size_t len);
size_t eg_idset_size(const eg_idset *s);

#endif
