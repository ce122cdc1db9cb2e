/*
 * pairmap.c — linear probing on a 64-bit mix of the pair.
 */
#include "util/pairmap.h"

#include "engram/error.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static size_t slot_of(uint32_t a1, uint32_t b1, size_t cap)
{
    uint64_t k = (uint64_t)a1 << 32 | b1;
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

void eg_pairmap_init(eg_pairmap *m)
{
    m->slots = NULL;
    m->cap = m->n = 0;
}

void eg_pairmap_free(eg_pairmap *m)
{
    free(m->slots);
    eg_pairmap_init(m);
}

/* the pair as stored: smaller id first, both +1 */
static void order(uint32_t *a, uint32_t *b)
{
    uint32_t x = *a < *b ? *a : *b, y = *a < *b ? *b : *a;
    *a = x + 1;
    *b = y + 1;
}

uint32_t eg_pairmap_get(const eg_pairmap *m, uint32_t a, uint32_t b)
{
    if (!m->cap)
        return UINT32_MAX;
    order(&a, &b);
    for (size_t i = slot_of(a, b, m->cap);; i = (i + 1) & (m->cap - 1)) {
        const eg_pairslot *s = &m->slots[i];
        if (s->a == a && s->b == b)
            return s->v;
        if (!s->a)
            return UINT32_MAX;
    }
}

/* A zeroed table of cap slots. A big one is aligned to and advised into 2 MiB pages: its
 * slots are reached at random, and with 4 KiB pages most probes also missed the TLB. */
static eg_pairslot *new_slots(size_t cap)
{
    size_t bytes = cap * sizeof(eg_pairslot), huge = (size_t)2 << 20;
    if (bytes < 2 * huge)
        return calloc(cap, sizeof(eg_pairslot));
    void *p = NULL;
    if (posix_memalign(&p, huge, bytes) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, bytes, MADV_HUGEPAGE); /* a hint: without it the table works the same */
#endif
    memset(p, 0, bytes);
    return p;
}

static int rehash(eg_pairmap *m, size_t cap)
{
    eg_pairslot *slots = new_slots(cap);
    if (!slots)
        return eg_error_set(EG_ENOMEM, "out of memory growing an edge map");
    for (size_t i = 0; i < m->cap; i++) {
        const eg_pairslot *s = &m->slots[i];
        if (!s->a)
            continue;
        size_t j = slot_of(s->a, s->b, cap);
        while (slots[j].a)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

static int grow(eg_pairmap *m)
{
    return rehash(m, m->cap ? m->cap * 2 : 1024);
}

int eg_pairmap_reserve(eg_pairmap *m, size_t n)
{
    size_t cap = m->cap ? m->cap : 1024;
    while (n * 4 > cap * 3)
        cap *= 2;
    return cap > m->cap ? rehash(m, cap) : 0;
}

void eg_pairmap_prefetch(const eg_pairmap *m, uint32_t a, uint32_t b)
{
    if (!m->cap)
        return;
    order(&a, &b);
    __builtin_prefetch(&m->slots[slot_of(a, b, m->cap)], 1);
}

int eg_pairmap_put(eg_pairmap *m, uint32_t a, uint32_t b, uint32_t v)
{
    if ((m->n + 1) * 4 > m->cap * 3 && grow(m))
        return EG_ENOMEM;
    order(&a, &b);
    size_t i = slot_of(a, b, m->cap);
    while (m->slots[i].a && !(m->slots[i].a == a && m->slots[i].b == b))
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].a) {
        m->slots[i].a = a;
        m->slots[i].b = b;
        m->n++;
    }
    m->slots[i].v = v;
    return 0;
}

/* Removes the pair in slot i by backward shift (linear probing keeps no tombstones): the
 * pairs after it in its cluster that may live at i move back one hole at a time. Every pair
 * moved lands at i or later. */
static void remove_at(eg_pairmap *m, size_t i)
{
    size_t mask = m->cap - 1;
    for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
        eg_pairslot *s = &m->slots[j];
        if (!s->a)
            break;
        size_t home = slot_of(s->a, s->b, m->cap);
        /* s may fill the hole at i unless its home lies cyclically in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            m->slots[i] = *s;
            i = j;
        }
    }
    m->slots[i] = (eg_pairslot){0, 0, 0};
    m->n--;
}

int eg_pairmap_remap(eg_pairmap *m, const uint32_t *to, size_t n)
{
    size_t cap = 1024;
    while (n * 4 > cap * 3)
        cap *= 2;
    if (cap < m->cap / 4 || !m->cap) { /* much smaller now: a new table, sized for what stays */
        eg_pairslot *slots = new_slots(cap);
        if (!slots)
            return eg_error_set(EG_ENOMEM, "out of memory rebuilding an edge map");
        size_t kept = 0;
        for (size_t i = 0; i < m->cap; i++) {
            const eg_pairslot *s = &m->slots[i];
            if (!s->a || to[s->v] == UINT32_MAX)
                continue;
            size_t j = slot_of(s->a, s->b, cap);
            while (slots[j].a)
                j = (j + 1) & (cap - 1);
            slots[j] = (eg_pairslot){s->a, s->b, to[s->v]};
            kept++;
        }
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
        m->n = kept;
        return 0;
    }
    /* In place, in one pass in slot order (sequential, where a new table was written at
     * random): from just after an empty slot (the table is at most 3/4 full), so that no
     * cluster wraps around the start of the pass; a pair removed pulls only pairs not yet
     * visited back to its slot or later, which the pass then visits. */
    size_t mask = m->cap - 1, start = 0;
    while (m->slots[start].a)
        start++;
    for (size_t k = 1, i = (start + 1) & mask; k < m->cap;) {
        eg_pairslot *s = &m->slots[i];
        if (s->a && to[s->v] == UINT32_MAX) {
            remove_at(m, i); /* (slot i again: a later pair may have moved into it) */
            continue;
        }
        if (s->a)
            s->v = to[s->v];
        i = (i + 1) & mask;
        k++;
    }
    return 0;
}
