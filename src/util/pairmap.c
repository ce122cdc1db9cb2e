/*
 * pairmap.c — linear probing on a 64-bit mix of the pair.
 */
#include "util/pairmap.h"

#include "engram/error.h"

#include <stdlib.h>

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

static int rehash(eg_pairmap *m, size_t cap)
{
    eg_pairslot *slots = calloc(cap, sizeof *slots);
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
