/*
 * test_pairmap.c — unit tests of util/pairmap.c: an empty map finds nothing, a pair is found in
 * either order, put replaces the value of a pair already there, id 0 and the largest ids work
 * (pairs are stored +1), and growth past 300k pairs keeps every pair and finds no absent one;
 * reserving room first leaves the map as it was and needs no growth while it lasts; a remap
 * after renumbering finds every kept pair at its new index and no removed one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>

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

/* Remapping after edges were renumbered and some removed: every kept pair finds its new index,
 * no removed one is found, the count is right; in place while at least a quarter stays (with
 * pairs packed into long clusters, some wrapping around the table's end, so that removals
 * shift pairs back across the wrap), in a smaller table otherwise. Several rounds, as a graph
 * compacts weekly. */
static void test_remap(void **state)
{
    (void)state;
    eg_pairmap m;
    eg_pairmap_init(&m);
    enum { N = 6000 };
    static uint32_t a[N], b[N], idx[N], to[N];
    static bool live[N], dup[N];       /* (a pair drawn twice is checked through its first draw) */
    uint64_t x = 88172645463325252ULL; /* xorshift: the same pairs every time */
    for (uint32_t k = 0; k < N; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        a[k] = (uint32_t)(x % 97), b[k] = 100 + (uint32_t)(x >> 20) % 5000;
        live[k] = eg_pairmap_get(&m, a[k], b[k]) == UINT32_MAX;
        dup[k] = !live[k];
        if (live[k])
            assert_int_equal(eg_pairmap_put(&m, a[k], b[k], k), 0);
        idx[k] = k;
    }
    size_t n = 0;
    for (uint32_t k = 0; k < N; k++)
        n += live[k];
    assert_int_equal(m.n, n);
    /* the table has a cluster across its end (the case the pass must start after) */
    assert_true(m.slots[0].a && m.slots[m.cap - 1].a);
    for (int round = 0; round < 6; round++) {
        size_t cap = m.cap, kept = 0;
        uint32_t next = 0;
        /* remove about a third (all but a tenth in the last round), renumber the others */
        for (uint32_t k = 0; k < N; k++) {
            if (!live[k])
                continue;
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if (x % (round == 5 ? 10 : 3) == 0) {
                to[idx[k]] = next;
                idx[k] = next++;
                kept++;
            } else if (round == 5 || x % 3 == 1) {
                to[idx[k]] = UINT32_MAX;
                live[k] = false;
            } else {
                to[idx[k]] = next;
                idx[k] = next++;
                kept++;
            }
        }
        assert_int_equal(eg_pairmap_remap(&m, to, kept), 0);
        assert_int_equal(m.n, kept);
        if (round < 5)
            assert_int_equal(m.cap, cap); /* in place */
        else
            assert_true(m.cap < cap); /* a tenth left: a smaller table */
        for (uint32_t k = 0; k < N; k++)
            if (!dup[k])
                assert_int_equal(eg_pairmap_get(&m, b[k], a[k]), live[k] ? idx[k] : UINT32_MAX);
        size_t count = 0;
        for (size_t i = 0; i < m.cap; i++)
            count += m.slots[i].a != 0;
        assert_int_equal(count, kept);
    }
    eg_pairmap_free(&m);
}

/* the slot a pair starts its probe at in a table of cap slots: where it lands in an empty one */
static size_t home_of(uint32_t a, uint32_t b, size_t cap)
{
    eg_pairmap t;
    eg_pairmap_init(&t);
    assert_int_equal(eg_pairmap_reserve(&t, cap * 3 / 4), 0);
    assert_int_equal(t.cap, cap);
    assert_int_equal(eg_pairmap_put(&t, a, b, 0), 0);
    size_t i = 0;
    while (!t.slots[i].a)
        i++;
    eg_pairmap_free(&t);
    return i;
}

/* A cluster that wraps around the table's end, its first pairs removed: the pairs after them,
 * some at the table's start, move back across the wrap, and each is renumbered once (a pass
 * that began at slot 0 renumbered those twice). */
static void test_remap_wrapping_cluster(void **state)
{
    (void)state;
    eg_pairmap m;
    eg_pairmap_init(&m);
    assert_int_equal(eg_pairmap_reserve(&m, 768), 0);
    size_t cap = m.cap;
    uint32_t a[12], b[12], to[12];
    int n = 0;
    for (uint32_t k = 1; n < 12; k++) /* pairs whose probe starts in the last three slots */
        if (home_of(k, k + 1, cap) >= cap - 3) {
            a[n] = k, b[n] = k + 1;
            assert_int_equal(eg_pairmap_put(&m, a[n], b[n], (uint32_t)n), 0);
            n++;
        }
    assert_true(m.slots[0].a && m.slots[8].a); /* the cluster runs past the end */
    for (int k = 0; k < 12; k++) /* the first three go, the others move down by three */
        to[k] = k < 3 ? UINT32_MAX : (uint32_t)k - 3;
    assert_int_equal(eg_pairmap_remap(&m, to, 9), 0);
    assert_int_equal(m.n, 9);
    for (int k = 0; k < 12; k++)
        assert_int_equal(eg_pairmap_get(&m, a[k], b[k]), k < 3 ? UINT32_MAX : (uint32_t)k - 3);
    eg_pairmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),  cmocka_unit_test(test_put_get_order_replace),
        cmocka_unit_test(test_growth), cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_remap),  cmocka_unit_test(test_remap_wrapping_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
