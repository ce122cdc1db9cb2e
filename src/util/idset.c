/*
 * idset.c — string set: slots hold (hash, offset) into one growing string arena.
 */
#include "util/idset.h"

#include "engram/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

typedef struct slot {
    uint64_t hash;
    size_t off; /* offset+1 into arena; 0 = empty */
    int64_t value;
    uint32_t len;
    uint32_t mark; /* eg_idset_add_marked's */
} slot;

struct eg_idset {
    slot *slots;
    size_t cap, n;
    char *arena;
    size_t arena_len, arena_cap;
};

int eg_idset_new(eg_idset **out)
{
    eg_idset *s = calloc(1, sizeof *s);
    /* the arena exists from the start, so that even an empty id has an address to compare */
    if (!s || !(s->slots = calloc(1024, sizeof *s->slots)) || !(s->arena = malloc(65536))) {
        if (s)
            free(s->slots);
        free(s);
        return eg_error_set(EG_ENOMEM, "out of memory creating an id set");
    }
    s->cap = 1024;
    s->arena_cap = 65536;
    *out = s;
    return 0;
}

void eg_idset_free(eg_idset *s)
{
    if (!s)
        return;
    free(s->slots);
    free(s->arena);
    free(s);
}

static slot *find(const eg_idset *s, uint64_t h, const char *id, size_t len)
{
    size_t mask = s->cap - 1, i = h & mask;
    for (;;) {
        slot *sl = &s->slots[i];
        if (!sl->off)
            return sl;
        if (sl->hash == h && sl->len == len && !memcmp(s->arena + sl->off - 1, id, len))
            return sl;
        i = (i + 1) & mask;
    }
}

static int grow(eg_idset *s)
{
    size_t ncap = s->cap * 2;
    slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return eg_error_set(EG_ENOMEM, "out of memory growing an id set");
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i].off)
            continue;
        size_t j = s->slots[i].hash & (ncap - 1);
        while (ns[j].off)
            j = (j + 1) & (ncap - 1);
        ns[j] = s->slots[i];
    }
    free(s->slots);
    s->slots = ns;
    s->cap = ncap;
    return 0;
}

static int insert(eg_idset *s, const char *id, size_t len, int64_t value, bool overwrite);

int eg_idset_add(eg_idset *s, const char *id, size_t len)
{
    return insert(s, id, len, 0, false);
}

int eg_idset_put(eg_idset *s, const char *id, size_t len, int64_t value)
{
    return insert(s, id, len, value, true);
}

/* The slot of id, added with value 0 if absent; NULL when out of memory. */
static slot *slot_of(eg_idset *s, const char *id, size_t len)
{
    if (len > UINT32_MAX) {
        eg_error_set(EG_ENOMEM, "an id of %zu bytes is too long for an id set", len);
        return NULL;
    }
    if ((s->n + 1) * 10 > s->cap * 7 && grow(s))
        return NULL;
    uint64_t h = XXH3_64bits(id, len);
    slot *sl = find(s, h, id, len);
    if (sl->off)
        return sl;
    if (s->arena_len + len > s->arena_cap) {
        size_t cap = s->arena_cap * 2;
        while (cap < s->arena_len + len)
            cap *= 2;
        char *p = realloc(s->arena, cap);
        if (!p) {
            eg_error_set(EG_ENOMEM, "out of memory growing an id set");
            return NULL;
        }
        s->arena = p;
        s->arena_cap = cap;
    }
    if (len)
        memcpy(s->arena + s->arena_len, id, len);
    *sl = (slot){.hash = h, .off = s->arena_len + 1, .len = (uint32_t)len};
    s->arena_len += len;
    s->n++;
    return sl;
}

static int insert(eg_idset *s, const char *id, size_t len, int64_t value, bool overwrite)
{
    size_t n = s->n;
    slot *sl = slot_of(s, id, len);
    if (!sl)
        return EG_ENOMEM;
    if (overwrite || s->n != n)
        sl->value = value;
    return 0;
}

int eg_idset_add_marked(eg_idset *s, const char *id, size_t len, uint32_t mark, int64_t delta)
{
    slot *sl = slot_of(s, id, len);
    if (!sl)
        return EG_ENOMEM;
    if (sl->mark != mark) {
        sl->mark = mark;
        sl->value += delta;
    }
    return 0;
}

bool eg_idset_has(const eg_idset *s, const char *id, size_t len)
{
    return find(s, XXH3_64bits(id, len), id, len)->off != 0;
}

bool eg_idset_get(const eg_idset *s, const char *id, size_t len, int64_t *value)
{
    const slot *sl = find(s, XXH3_64bits(id, len), id, len);
    if (!sl->off)
        return false;
    *value = sl->value;
    return true;
}

size_t eg_idset_size(const eg_idset *s)
{
    return s->n;
}

int eg_idset_each(const eg_idset *s, int (*fn)(void *ud, const char *id, size_t len, int64_t value),
                  void *ud)
{
    int rc = 0;
    for (size_t i = 0; i < s->cap && !rc; i++)
        if (s->slots[i].off)
            rc = fn(ud, s->arena + s->slots[i].off - 1, s->slots[i].len, s->slots[i].value);
    return rc;
}

void eg_idset_clear(eg_idset *s)
{
    if (s->cap > 4096) { /* back to the size of a new set: the next use may be small */
        slot *ns = calloc(1024, sizeof *ns);
        if (ns) {
            free(s->slots);
            s->slots = ns;
            s->cap = 1024;
        }
    }
    if (s->arena_cap > 65536) {
        char *p = realloc(s->arena, 65536);
        if (p) {
            s->arena = p;
            s->arena_cap = 65536;
        }
    }
    memset(s->slots, 0, s->cap * sizeof *s->slots);
    s->n = 0;
    s->arena_len = 0;
}
