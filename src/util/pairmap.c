/*
 * pairmap.c — linear probing on a 64-bit mix of the pair.
 */
#include "util/pairmap.h"

#include "engram/error.h"

#include <stdlib.h>

static uint64_t key_of(uint32_t a, uint32_t b)
{
    if (a > b) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    return ((uint64_t)a + 1) << 32 | ((uint64_t)b + 1);
}

static size_t slot_of(uint64_t k, size_t cap)
{
    k ^= k >> 33;
    k *= UINT64_C(0xff51afd7ed558ccd);
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

void eg_pairmap_init(eg_pairmap *m)
{
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->n = 0;
}

void eg_pairmap_free(eg_pairmap *m)
{
    free(m->keys);
    free(m->vals);
    eg_pairmap_init(m);
}

uint32_t eg_pairmap_get(const eg_pairmap *m, uint32_t a, uint32_t b)
{
    if (!m->cap)
        return UINT32_MAX;
    uint64_t k = key_of(a, b);
    for (size_t i = slot_of(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == k)
            return m->vals[i];
        if (!m->keys[i])
            return UINT32_MAX;
    }
}

static int grow(eg_pairmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *vals = malloc(cap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return eg_error_set(EG_ENOMEM, "out of memory growing an edge map");
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t j = slot_of(m->keys[i], cap);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return 0;
}

int eg_pairmap_put(eg_pairmap *m, uint32_t a, uint32_t b, uint32_t v)
{
    if ((m->n + 1) * 4 > m->cap * 3 && grow(m))
        return EG_ENOMEM;
    uint64_t k = key_of(a, b);
    size_t i = slot_of(k, m->cap);
    while (m->keys[i] && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i]) {
        m->keys[i] = k;
        m->n++;
    }
    m->vals[i] = v;
    return 0;
}
