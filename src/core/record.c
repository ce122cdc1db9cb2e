/*
 * record.c — batches of source records with one string arena.
 *
 * When the arena grows, the rows' pointers are turned into offsets before the realloc and back
 * into pointers after it, so callers always see valid pointers between adds.
 */
#include "core/record.h"

#include "engram/error.h"
#include "util/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void eg_batch_init(eg_batch *b)
{
    memset(b, 0, sizeof *b);
}

void eg_batch_reset(eg_batch *b)
{
    b->n = 0;
    b->arena_len = 0;
}

void eg_batch_free(eg_batch *b)
{
    if (!b)
        return;
    free(b->rows);
    free(b->arena);
    memset(b, 0, sizeof *b);
}

/* Turns the rows' string pointers into offsets (to_offsets) or back into pointers into base,
 * around a realloc of the arena. */
static void rebase(eg_batch *b, const char *base, int to_offsets)
{
#define REBASE(f)                                                                                  \
    if (r->f)                                                                                      \
        r->f = to_offsets ? (const char *)(uintptr_t)(r->f - base + 1)                             \
                          : base + ((uintptr_t)r->f - 1);
    for (size_t i = 0; i < b->n; i++) {
        eg_record *r = &b->rows[i];
        REBASE(id)
        REBASE(content)
        REBASE(metadata)
    }
#undef REBASE
}

static const char *put(eg_batch *b, const char *s, size_t n)
{
    /* space is reserved by the caller; a NUL follows every string for C consumers */
    char *dst = b->arena + b->arena_len;
    if (n)
        memcpy(dst, s, n);
    dst[n] = '\0';
    b->arena_len += n + 1;
    return dst;
}

int eg_batch_add(eg_batch *b, const eg_record *r)
{
    size_t need = r->id_len + 1 + (r->content ? r->content_len + 1 : 0) +
                  (r->metadata ? r->metadata_len + 1 : 0);
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        eg_record *rows = realloc(b->rows, cap * sizeof *rows);
        if (!rows)
            return eg_error_set(EG_ENOMEM, "out of memory growing a batch to %zu rows", cap);
        b->rows = rows;
        b->cap = cap;
    }
    if (b->arena_len + need > b->arena_cap) {
        size_t cap = b->arena_cap ? b->arena_cap : (size_t)1 << 20;
        while (cap < b->arena_len + need)
            cap *= 2;
        if (b->arena)
            rebase(b, b->arena, 1);
        char *p = realloc(b->arena, cap);
        if (!p) {
            if (b->arena)
                rebase(b, b->arena, 0);
            return eg_error_set(EG_ENOMEM, "out of memory growing a batch arena to %zu bytes", cap);
        }
        rebase(b, p, 0);
        b->arena = p;
        b->arena_cap = cap;
    }
    eg_record *dst = &b->rows[b->n];
    *dst = *r;
    dst->id = put(b, r->id, r->id_len);
    dst->content = r->content ? put(b, r->content, r->content_len) : NULL;
    dst->metadata = r->metadata ? put(b, r->metadata, r->metadata_len) : NULL;
    b->n++;
    return 0;
}

static const char *const skip_names[EG_SKIP__COUNT] = {
    [EG_SKIP_NONE] = "none",
    [EG_SKIP_NULL_CONTENT] = "null_content",
    [EG_SKIP_EMPTY_CONTENT] = "empty_content",
    [EG_SKIP_OUT_OF_WINDOW] = "out_of_window",
    [EG_SKIP_NULL_CREATED_AT] = "null_created_at",
};

const char *eg_record_invalid_utf8(const eg_record *r)
{
    if (r->id && !eg_utf8_valid(r->id, r->id_len, NULL))
        return "id";
    if (r->content && !eg_utf8_valid(r->content, r->content_len, NULL))
        return "content";
    if (r->metadata && !eg_utf8_valid(r->metadata, r->metadata_len, NULL))
        return "metadata";
    return NULL;
}

const char *eg_skip_name(eg_skip s)
{
    return (unsigned)s < EG_SKIP__COUNT ? skip_names[s] : "unknown";
}
