/*
 * test_suggest.c — unit tests of util/suggest.c: a typo (dropped, added, changed or swapped
 * letters, wrong case) finds the name meant; a word too far from every name, an empty one or an
 * over-long one finds none; the first of equally close names wins; candidates read from a table
 * of structs through the stride.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/suggest.h"

#include <string.h>

static const char *const names[] = {"init", "import", "recall", "stats", "serve", "source.table"};
#define N (sizeof names / sizeof names[0])

static void test_typos(void **state)
{
    (void)state;
    assert_string_equal(eg_suggest("recal", names, N, sizeof names[0]), "recall");
    assert_string_equal(eg_suggest("reacll", names, N, sizeof names[0]), "recall");
    assert_string_equal(eg_suggest("stat", names, N, sizeof names[0]), "stats");
    assert_string_equal(eg_suggest("Stats", names, N, sizeof names[0]), "stats");
    assert_string_equal(eg_suggest("imprt", names, N, sizeof names[0]), "import");
    assert_string_equal(eg_suggest("source.tabel", names, N, sizeof names[0]), "source.table");
    assert_string_equal(eg_suggest("SOURCE.TABLE", names, N, sizeof names[0]), "source.table");
}

static void test_no_suggestion(void **state)
{
    (void)state;
    char longw[100];
    memset(longw, 'a', sizeof longw - 1);
    longw[sizeof longw - 1] = '\0';
    assert_null(eg_suggest("frobnicate", names, N, sizeof names[0]));
    assert_null(eg_suggest("x", names, N, sizeof names[0]));
    assert_null(eg_suggest("", names, N, sizeof names[0]));
    assert_null(eg_suggest(NULL, names, N, sizeof names[0]));
    assert_null(eg_suggest(longw, names, N, sizeof names[0]));
    assert_null(eg_suggest("recall", names, 0, sizeof names[0]));
}

typedef struct row {
    const char *name;
    int other;
} row;

static void test_stride_and_ties(void **state)
{
    (void)state;
    static const row rows[] = {{"wm.tick", 1}, {"wm.tau", 2}, {"wm.capacity", 3}};
    assert_string_equal(eg_suggest("wm.capcity", &rows[0].name, 3, sizeof rows[0]), "wm.capacity");
    assert_string_equal(eg_suggest("capacity", &rows[0].name, 3, sizeof rows[0]), "wm.capacity");
    /* "wm.ta" is one edit from wm.tau and two from wm.tick: the closest */
    assert_string_equal(eg_suggest("wm.ta", &rows[0].name, 3, sizeof rows[0]), "wm.tau");
    /* of equally close names, the first */
    static const char *const tie[] = {"abcd", "abce"};
    assert_string_equal(eg_suggest("abcf", tie, 2, sizeof tie[0]), "abcd");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typos),
        cmocka_unit_test(test_no_suggestion),
        cmocka_unit_test(test_stride_and_ties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
