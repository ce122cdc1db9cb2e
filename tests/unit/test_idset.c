/*
 * test_idset.c — unit tests of util/idset.c: add / has / size, duplicates counted once, ids
 * compared by length and bytes (embedded NULs, prefixes, the empty id), the set's own copies (the
 * caller's buffer may change after add), growth past 100k ids (every id still found, absent
 * ids still absent), and the map side (eg_idset_put / eg_idset_get values, replaced by put,
 * kept by add, kept across growth); counting once per mark (eg_idset_add_marked), every entry
 * visited once (eg_idset_each), and a cleared set empty and usable again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/idset.h"

#include <stdio.h>
#include <string.h>

static void test_add_has_size(void **state)
{
    (void)state;
    eg_idset *s = NULL;
    assert_int_equal(eg_idset_new(&s), 0);
    assert_non_null(s);
    assert_int_equal(eg_idset_size(s), 0);
    assert_false(eg_idset_has(s, "a", 1));
    assert_int_equal(eg_idset_add(s, "alpha", 5), 0);
    assert_int_equal(eg_idset_add(s, "beta", 4), 0);
    assert_int_equal(eg_idset_size(s), 2);
    assert_true(eg_idset_has(s, "alpha", 5));
    assert_true(eg_idset_has(s, "beta", 4));
    assert_false(eg_idset_has(s, "gamma", 5));
    assert_false(eg_idset_has(s, "alph", 4));   /* a prefix is another id */
    assert_false(eg_idset_has(s, "alphaX", 6)); /* so is an extension */
    assert_false(eg_idset_has(s, "ALPHA", 5));  /* case matters */
    /* the length counts, not a NUL */
    assert_true(eg_idset_has(s, "alphabet", 5));
    eg_idset_free(s);
    eg_idset_free(NULL);
}

static void test_duplicates(void **state)
{
    (void)state;
    eg_idset *s = NULL;
    assert_int_equal(eg_idset_new(&s), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(eg_idset_add(s, "same", 4), 0);
    assert_int_equal(eg_idset_size(s), 1);
    assert_true(eg_idset_has(s, "same", 4));
    assert_int_equal(eg_idset_add(s, "sam", 3), 0);
    assert_int_equal(eg_idset_size(s), 2);
    eg_idset_free(s);
}

static void test_embedded_nuls(void **state)
{
    (void)state;
    eg_idset *s = NULL;
    assert_int_equal(eg_idset_new(&s), 0);
    assert_int_equal(eg_idset_add(s, "a\0b", 3), 0);
    assert_int_equal(eg_idset_add(s, "a\0c", 3), 0);
    assert_int_equal(eg_idset_add(s, "a", 1), 0);
    assert_int_equal(eg_idset_add(s, "a\0", 2), 0);
    assert_int_equal(eg_idset_size(s), 4);
    assert_true(eg_idset_has(s, "a\0b", 3));
    assert_true(eg_idset_has(s, "a\0c", 3));
    assert_true(eg_idset_has(s, "a", 1));
    assert_true(eg_idset_has(s, "a\0", 2));
    assert_false(eg_idset_has(s, "a\0d", 3));
    assert_false(eg_idset_has(s, "a\0\0", 3));
    assert_int_equal(eg_idset_add(s, "a\0b", 3), 0);
    assert_int_equal(eg_idset_size(s), 4);
    eg_idset_free(s);
}

static void test_empty_id(void **state)
{
    (void)state;
    eg_idset *s = NULL;
    assert_int_equal(eg_idset_new(&s), 0);
    /* the empty id as the very first entry (nothing allocated yet for strings) */
    assert_int_equal(eg_idset_add(s, "", 0), 0);
    assert_int_equal(eg_idset_size(s), 1);
    assert_true(eg_idset_has(s, "", 0));
    assert_false(eg_idset_has(s, "x", 1));
    assert_int_equal(eg_idset_add(s, "x", 1), 0);
    assert_int_equal(eg_idset_add(s, "", 0), 0);
    assert_int_equal(eg_idset_size(s), 2);
    assert_true(eg_idset_has(s, "x", 1));
    eg_idset_free(s);
}

static void test_copies_strings(void **state)
{
    (void)state;
    eg_idset *s = NULL;
    assert_int_equal(eg_idset_new(&s), 0);
    char buf[16];
    for (int i = 0; i < 100; i++) {
        int n = snprintf(buf, sizeof buf, "id-%d", i);
        assert_int_equal(eg_idset_add(s, buf, (size_t)n), 0);
    }
    memset(buf, 'X', sizeof buf); /* the caller's buffer changes: the set kept its own copies */
    assert_int_equal(eg_idset_size(s), 100);
    assert_true(eg_idset_has(s, "id-0", 4));
    assert_true(eg_idset_has(s, "id-99", 5));
    assert_false(eg_idset_has(s, "XXXX", 4));
    eg_idset_free(s);
}

static void test_growth_past_100k(void **state)
{
    (void)state;
    enum { N = 150000 };
    eg_idset *s = NULL;
    assert_int_equal(eg_idset_new(&s), 0);
    char buf[64];
    for (int i = 0; i < N; i++) {
        /* UUID-like ids of varying length, so the string storage grows too */
        int n = snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012d%.*s",
                         (unsigned)i * 2654435761u, i, i % 7, "abcdefg");
        assert_int_equal(eg_idset_add(s, buf, (size_t)n), 0);
        if (i % 10007 == 0)
            assert_int_equal(eg_idset_size(s), (size_t)i + 1);
    }
    assert_int_equal(eg_idset_size(s), N);
    /* adding them all again changes nothing */
    for (int i = 0; i < N; i += 3) {
        int n = snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012d%.*s",
                         (unsigned)i * 2654435761u, i, i % 7, "abcdefg");
        assert_int_equal(eg_idset_add(s, buf, (size_t)n), 0);
    }
    assert_int_equal(eg_idset_size(s), N);
    for (int i = 0; i < N; i++) {
        int n = snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012d%.*s",
                         (unsigned)i * 2654435761u, i, i % 7, "abcdefg");
        if (!eg_idset_has(s, buf, (size_t)n))
            fail_msg("id %d (%s) lost after growth", i, buf);
        /* the same id with another suffix length is absent */
        n = snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012d%.*s", (unsigned)i * 2654435761u, i,
                     (i + 1) % 7, "abcdefg");
        if (eg_idset_has(s, buf, (size_t)n))
            fail_msg("absent id %s found", buf);
    }
    for (int i = N; i < N + 1000; i++) {
        int n = snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012d%.*s",
                         (unsigned)i * 2654435761u, i, i % 7, "abcdefg");
        assert_false(eg_idset_has(s, buf, (size_t)n));
    }
    eg_idset_free(s);
}

static void test_map_put_get(void **state)
{
    (void)state;
    eg_idset *s = NULL;
    int64_t v = -1;
    assert_int_equal(eg_idset_new(&s), 0);
    assert_false(eg_idset_get(s, "a", 1, &v));
    assert_int_equal(v, -1); /* untouched when absent */
    assert_int_equal(eg_idset_put(s, "a", 1, 42), 0);
    assert_int_equal(eg_idset_put(s, "b\0", 2, INT64_MIN), 0);
    assert_int_equal(eg_idset_add(s, "c", 1), 0);
    assert_int_equal(eg_idset_size(s), 3);
    assert_true(eg_idset_get(s, "a", 1, &v));
    assert_int_equal(v, 42);
    assert_true(eg_idset_get(s, "b\0", 2, &v));
    assert_true(v == INT64_MIN);
    assert_false(eg_idset_get(s, "b", 1, &v));
    assert_true(eg_idset_get(s, "c", 1, &v));
    assert_int_equal(v, 0); /* added without a value */
    assert_true(eg_idset_has(s, "a", 1));
    /* put on a present id replaces the value, not the entry */
    assert_int_equal(eg_idset_put(s, "a", 1, -7), 0);
    assert_int_equal(eg_idset_size(s), 3);
    assert_true(eg_idset_get(s, "a", 1, &v));
    assert_int_equal(v, -7);
    /* values survive growth */
    char buf[32];
    for (int i = 0; i < 50000; i++) {
        int n = snprintf(buf, sizeof buf, "row-%d", i);
        assert_int_equal(eg_idset_put(s, buf, (size_t)n, (int64_t)i * 3 + 1), 0);
    }
    for (int i = 0; i < 50000; i++) {
        int n = snprintf(buf, sizeof buf, "row-%d", i);
        if (!eg_idset_get(s, buf, (size_t)n, &v) || v != (int64_t)i * 3 + 1)
            fail_msg("%s: value %lld", buf, (long long)v);
    }
    assert_true(eg_idset_get(s, "a", 1, &v));
    assert_int_equal(v, -7);
    eg_idset_free(s);
}

/* eg_idset_add on an id that is already present is a no-op ("returns 0 also when already
 * present"): it must not reset a value set with eg_idset_put. */
static void test_add_keeps_value(void **state)
{
    (void)state;
    eg_idset *s = NULL;
    int64_t v = 0;
    assert_int_equal(eg_idset_new(&s), 0);
    assert_int_equal(eg_idset_put(s, "id", 2, 99), 0);
    assert_int_equal(eg_idset_add(s, "id", 2), 0);
    assert_int_equal(eg_idset_size(s), 1);
    assert_true(eg_idset_get(s, "id", 2, &v));
    assert_int_equal(v, 99);
    eg_idset_free(s);
}

static int sum_cb(void *ud, const char *id, size_t len, int64_t value)
{
    int64_t *sum = ud;
    (void)id;
    sum[0] += value;
    sum[1] += (int64_t)len;
    sum[2]++;
    return 0;
}

static void test_marked_each_clear(void **state)
{
    (void)state;
    eg_idset *s = NULL;
    int64_t v = 0, sum[3] = {0};
    assert_int_equal(eg_idset_new(&s), 0);
    /* text 1: "maya" twice, "boat" once; text 2: "maya" once; text 3 takes one out */
    assert_int_equal(eg_idset_add_marked(s, "maya", 4, 1, 1), 0);
    assert_int_equal(eg_idset_add_marked(s, "boat", 4, 1, 1), 0);
    assert_int_equal(eg_idset_add_marked(s, "maya", 4, 1, 1), 0);
    assert_int_equal(eg_idset_add_marked(s, "maya", 4, 2, 1), 0);
    assert_int_equal(eg_idset_add_marked(s, "boat", 4, 3, -1), 0);
    assert_int_equal(eg_idset_add_marked(s, "boat", 4, 3, -1), 0);
    assert_true(eg_idset_get(s, "maya", 4, &v));
    assert_int_equal(v, 2);
    assert_true(eg_idset_get(s, "boat", 4, &v));
    assert_int_equal(v, 0);
    /* an id put with a value keeps it for its first marked call */
    assert_int_equal(eg_idset_put(s, "keys", 4, 10), 0);
    assert_int_equal(eg_idset_add_marked(s, "keys", 4, 1, 1), 0);
    assert_true(eg_idset_get(s, "keys", 4, &v));
    assert_int_equal(v, 11);
    assert_int_equal(eg_idset_each(s, sum_cb, sum), 0);
    assert_int_equal(sum[0], 13);
    assert_int_equal(sum[1], 12);
    assert_int_equal(sum[2], 3);
    /* cleared after growing past the size of a new set: empty, marks forgotten */
    char id[16];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(id, sizeof id, "t%d", i);
        assert_int_equal(eg_idset_add_marked(s, id, (size_t)n, 1, 1), 0);
    }
    eg_idset_clear(s);
    assert_int_equal(eg_idset_size(s), 0);
    assert_false(eg_idset_has(s, "maya", 4));
    assert_int_equal(eg_idset_add_marked(s, "t7", 2, 1, 1), 0);
    assert_true(eg_idset_get(s, "t7", 2, &v));
    assert_int_equal(v, 1);
    eg_idset_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_has_size),
        cmocka_unit_test(test_marked_each_clear),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_embedded_nuls),
        cmocka_unit_test(test_copies_strings),
        cmocka_unit_test(test_growth_past_100k),
        cmocka_unit_test(test_map_put_get),
        cmocka_unit_test(test_add_keeps_value),
        /* last: UBSan aborts the process if the empty id reaches memcpy(NULL, ..., 0) */
        cmocka_unit_test(test_empty_id),
    };
    return cmocka_run_group_tests(tests, 0, NULL);
}
