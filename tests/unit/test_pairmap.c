/*
 * test_pairmap.c — unit tests of util/pairmap.c: an empty map finds nothing, a pair is found in
 * either order, put replaces the value of a pair already there, id 0 and the largest ids work
 * (pairs are stored +1), and growth past 300k pairs keeps every pair and finds no absent one;
 * reserving room first leaves the map as it was and needs no growth while it lasts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/pairmap.h"

static void test_empty(void **state)
{
    (void)state;
    eg_pairmap m;
    eg_pairmap_init(&m);
    assert_int_equal(eg_pairmap_get(&m, 0, 1), UINT32_MAX);
    eg_pairmap_free(&m);
    eg_pairmap_free(&m); /* freeing twice is harmless: free leaves an empty map */
}

static void test_put_get_order_replace(void **state)
{
    (void)state;
    eg_pairmap m;
    eg_pairmap_init(&m);
    assert_int_equal(eg_pairmap_put(&m, 7, 3, 42), 0);
    assert_int_equal(eg_pairmap_get(&m, 3, 7), 42);
    assert_int_equal(eg_pairmap_get(&m, 7, 3), 42);
    assert_int_equal(eg_pairmap_get(&m, 3, 8), UINT32_MAX);
    assert_int_equal(eg_pairmap_get(&m, 7, 7), UINT32_MAX);
    assert_int_equal(eg_pairmap_put(&m, 3, 7, 43), 0); /* the same pair: value replaced */
    assert_int_equal(eg_pairmap_get(&m, 7, 3), 43);
    assert_int_equal(m.n, 1);
    /* id 0 and the largest ids that fit once stored +1 */
    assert_int_equal(eg_pairmap_put(&m, 0, 0, 1), 0);
    assert_int_equal(eg_pairmap_put(&m, UINT32_MAX - 1, 0, 2), 0);
    assert_int_equal(eg_pairmap_get(&m, 0, 0), 1);
    assert_int_equal(eg_pairmap_get(&m, 0, UINT32_MAX - 1), 2);
    assert_int_equal(m.n, 3);
    eg_pairmap_free(&m);
}

static void test_growth(void **state)
{
    (void)state;
    eg_pairmap m;
    eg_pairmap_init(&m);
    const uint32_t n = 300000;     /* past 4 MiB of slots: the huge-page tables too */
    eg_pairmap_prefetch(&m, 1, 2); /* (a hint: on an empty map too) */
    for (uint32_t i = 0; i < n; i++) {
        eg_pairmap_prefetch(&m, (i + 8) * 7 + 1, (i + 8) / 3);
        assert_int_equal(eg_pairmap_put(&m, i * 7 + 1, i / 3, i), 0);
    }
    assert_int_equal(m.n, n);
    assert_true(m.cap * sizeof(eg_pairslot) >= (size_t)4 << 20);
    assert_true(m.n * 4 <= m.cap * 3); /* the load stays at most 3/4 */
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(eg_pairmap_get(&m, i / 3, i * 7 + 1), i);
        assert_int_equal(eg_pairmap_get(&m, i * 7 + 2, i / 3), UINT32_MAX);
    }
    eg_pairmap_free(&m);
}

static void test_reserve(void **state)
{
    (void)state;
    eg_pairmap m;
    eg_pairmap_init(&m);
    for (uint32_t i = 0; i < 100; i++)
        assert_int_equal(eg_pairmap_put(&m, i, i + 1, i), 0);
    assert_int_equal(eg_pairmap_reserve(&m, 50000), 0);
    size_t cap = m.cap;
    assert_true(cap * 3 >= 50000 * 4);
    for (uint32_t i = 0; i < 100; i++) /* kept through the rehash */
        assert_int_equal(eg_pairmap_get(&m, i + 1, i), i);
    for (uint32_t i = 100; i < 50000; i++)
        assert_int_equal(eg_pairmap_put(&m, i, i + 1, i), 0);
    assert_int_equal(m.cap, cap);                    /* no growth while the reserve lasts */
    assert_int_equal(eg_pairmap_reserve(&m, 10), 0); /* never shrinks */
    assert_int_equal(m.cap, cap);
    for (uint32_t i = 0; i < 50000; i++)
        assert_int_equal(eg_pairmap_get(&m, i, i + 1), i);
    assert_int_equal(eg_pairmap_get(&m, 50000, 50001), UINT32_MAX);
    eg_pairmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_put_get_order_replace),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_reserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
