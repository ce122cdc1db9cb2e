/*
 * test_record.c — unit tests of core/record.c: eg_batch_add copies every string into the batch
 * arena (the caller's buffers may change afterwards), keeps lengths and embedded NULs, adds a NUL
 * after each string, keeps NULL content / metadata NULL and copies the scalar fields; pointers of
 * earlier rows stay valid after the arena and the row array grow (100k rows with big strings, each
 * verified); reset reuses the memory; free accepts NULL and a never-used batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_add_copies(void **state)
{
    (void)state;
    eg_batch b;
    eg_batch_init(&b);
    assert_int_equal(b.n, 0);
    char id[] = "m-1", content[] = "hello\0world", meta[] = "{\"a\":1}";
    eg_record r = {.id = id,
                   .id_len = 3,
                   .content = content,
                   .content_len = 11,
                   .created_at = 1000,
                   .has_created = true,
                   .updated_at = 2000,
                   .has_updated = true,
                   .metadata = meta,
                   .metadata_len = 7,
                   .row_ref = 42};
    assert_int_equal(eg_batch_add(&b, &r), 0);
    /* the caller reuses its buffers */
    memset(id, 'X', sizeof id - 1);
    memset(content, 'X', sizeof content - 1);
    memset(meta, 'X', sizeof meta - 1);
    assert_int_equal(b.n, 1);
    const eg_record *g = &b.rows[0];
    assert_ptr_not_equal(g->id, id);
    assert_int_equal(g->id_len, 3);
    assert_memory_equal(g->id, "m-1\0", 4);
    assert_int_equal(g->content_len, 11);
    assert_memory_equal(g->content, "hello\0world\0", 12);
    assert_int_equal(g->metadata_len, 7);
    assert_string_equal(g->metadata, "{\"a\":1}");
    assert_int_equal(g->created_at, 1000);
    assert_true(g->has_created);
    assert_int_equal(g->updated_at, 2000);
    assert_true(g->has_updated);
    assert_int_equal(g->row_ref, 42);
    eg_batch_free(&b);
    assert_int_equal(b.n, 0);
    assert_null(b.rows);
    eg_batch_free(&b);
    eg_batch_free(NULL);
}

static void test_null_stays_null(void **state)
{
    (void)state;
    eg_batch b;
    eg_batch_init(&b);
    eg_record r = {.id = "n", .id_len = 1};
    assert_int_equal(eg_batch_add(&b, &r), 0);
    /* empty (non-NULL) content and metadata stay empty strings, not NULL */
    eg_record e = {.id = "e", .id_len = 1, .content = "", .metadata = "", .has_created = true};
    assert_int_equal(eg_batch_add(&b, &e), 0);
    assert_int_equal(b.n, 2);
    assert_string_equal(b.rows[0].id, "n");
    assert_null(b.rows[0].content);
    assert_int_equal(b.rows[0].content_len, 0);
    assert_null(b.rows[0].metadata);
    assert_false(b.rows[0].has_created);
    assert_false(b.rows[0].has_updated);
    assert_non_null(b.rows[1].content);
    assert_string_equal(b.rows[1].content, "");
    assert_non_null(b.rows[1].metadata);
    assert_string_equal(b.rows[1].metadata, "");
    assert_true(b.rows[1].has_created);
    eg_batch_free(&b);
}

/* Deterministic strings of varying sizes: row i's content is 'a'+i%26 repeated size(i) times with
 * its number at the front. */
static size_t content_size(size_t i)
{
    return 20 + (i * 7919) % 3000;
}

static void fill(char *buf, size_t n, size_t i, char base)
{
    memset(buf, base + (int)(i % 26), n);
    char num[24];
    int k = snprintf(num, sizeof num, "%zu:", i);
    memcpy(buf, num, (size_t)k < n ? (size_t)k : n);
}

static void test_pointers_survive_growth(void **state)
{
    (void)state;
    enum { N = 100000 };
    eg_batch b;
    eg_batch_init(&b);
    char *content = malloc(4096), *meta = malloc(4096), id[32];
    assert_non_null(content);
    assert_non_null(meta);
    const char *first_content = NULL;
    for (size_t i = 0; i < N; i++) {
        size_t cn = content_size(i), mn = i % 5 == 0 ? 0 : 10 + i % 500;
        fill(content, cn, i, 'a');
        fill(meta, mn, i, 'A');
        eg_record r = {.id = id,
                       .id_len = (size_t)snprintf(id, sizeof id, "id-%zu", i),
                       .content = i % 11 == 0 ? NULL : content,
                       .content_len = i % 11 == 0 ? 0 : cn,
                       .created_at = (int64_t)i * 1000,
                       .has_created = true,
                       .metadata = mn ? meta : NULL,
                       .metadata_len = mn,
                       .row_ref = (int64_t)i};
        assert_int_equal(eg_batch_add(&b, &r), 0);
        if (i == 1)
            first_content = b.rows[1].content;
    }
    assert_int_equal(b.n, N);
    /* ~150 MB of strings went through a 1 MiB first arena: it moved */
    assert_true(b.arena_len > (size_t)100 << 20);
    assert_ptr_not_equal(first_content, b.rows[1].content);
    for (size_t i = 0; i < N; i++) {
        const eg_record *g = &b.rows[i];
        char want_id[32];
        int k = snprintf(want_id, sizeof want_id, "id-%zu", i);
        if (g->id_len != (size_t)k || memcmp(g->id, want_id, (size_t)k) || g->id[k])
            fail_msg("row %zu: id corrupted", i);
        /* every string lies inside the current arena */
        if (g->id < b.arena || g->id >= b.arena + b.arena_len)
            fail_msg("row %zu: id outside the arena", i);
        if (i % 11 == 0) {
            if (g->content)
                fail_msg("row %zu: NULL content became non-NULL", i);
        } else {
            size_t cn = content_size(i);
            fill(content, cn, i, 'a');
            if (!g->content || g->content_len != cn || memcmp(g->content, content, cn) ||
                g->content[cn])
                fail_msg("row %zu: content corrupted", i);
        }
        size_t mn = i % 5 == 0 ? 0 : 10 + i % 500;
        if (!mn) {
            if (g->metadata)
                fail_msg("row %zu: NULL metadata became non-NULL", i);
        } else {
            fill(meta, mn, i, 'A');
            if (!g->metadata || g->metadata_len != mn || memcmp(g->metadata, meta, mn))
                fail_msg("row %zu: metadata corrupted", i);
        }
        if (g->created_at != (int64_t)i * 1000 || g->row_ref != (int64_t)i)
            fail_msg("row %zu: scalar fields corrupted", i);
    }
    free(content);
    free(meta);
    eg_batch_free(&b);
}

static void test_reset_reuses(void **state)
{
    (void)state;
    eg_batch b;
    eg_batch_init(&b);
    char big[10000];
    memset(big, 'r', sizeof big);
    for (int i = 0; i < 500; i++) {
        eg_record r = {.id = "x", .id_len = 1, .content = big, .content_len = sizeof big};
        assert_int_equal(eg_batch_add(&b, &r), 0);
    }
    eg_record *rows = b.rows;
    char *arena = b.arena;
    size_t cap = b.cap, arena_cap = b.arena_cap;
    eg_batch_reset(&b);
    assert_int_equal(b.n, 0);
    assert_int_equal(b.arena_len, 0);
    for (int i = 0; i < 500; i++) {
        char id[16];
        eg_record r = {.id = id,
                       .id_len = (size_t)snprintf(id, sizeof id, "again-%d", i),
                       .content = big,
                       .content_len = sizeof big - 1};
        assert_int_equal(eg_batch_add(&b, &r), 0);
    }
    /* the same memory was reused: no reallocation for a batch of the same size */
    assert_ptr_equal(b.rows, rows);
    assert_ptr_equal(b.arena, arena);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.arena_cap, arena_cap);
    assert_int_equal(b.n, 500);
    assert_string_equal(b.rows[0].id, "again-0");
    assert_string_equal(b.rows[499].id, "again-499");
    assert_int_equal(b.rows[499].content_len, sizeof big - 1);
    assert_int_equal(b.rows[499].content[sizeof big - 1], '\0');
    eg_batch_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_copies),
        cmocka_unit_test(test_null_stays_null),
        cmocka_unit_test(test_pointers_survive_growth),
        cmocka_unit_test(test_reset_reuses),
    };
    return cmocka_run_group_tests(tests, 0, NULL);
}
