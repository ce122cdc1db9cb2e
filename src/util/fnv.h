/*
 * fnv.h — FNV-1a, 32 bits, a byte at a time: short keys, no setup, good enough for the small
 * tables of staging (the lexicon's word index, the stopword and stem tables of concept
 * extraction). A byte at a time so that a scanner can hash a word while it folds it
 * (EG_FNV_STEP), and get what eg_fnv1a gives for the folded word.
 */
#ifndef EG_UTIL_FNV_H
#define EG_UTIL_FNV_H

#include <stddef.h>
#include <stdint.h>

#define EG_FNV_INIT 2166136261u
#define EG_FNV_STEP(h, c) (((h) ^ (unsigned char)(c)) * 16777619u)

static inline uint32_t eg_fnv1a(const char *s, size_t n)
{
    uint32_t h = EG_FNV_INIT;
    for (size_t i = 0; i < n; i++)
        h = EG_FNV_STEP(h, s[i]);
    return h;
}

#endif
