/*
 * test_fts.c — unit tests of store/fts.c, the fold the full-text index holds (docs/adr/0013):
 * case and accents of Greek and Cyrillic as well as Latin, NFC and NFD alike, compatibility
 * forms (full-width letters, ligatures), CJK characters spaced one by one and kept apart from
 * the letters beside them, Hangul in NFD composed again, kana voicing kept, default ignorables
 * dropped but ZERO WIDTH SPACE a separator, punctuation of any script a separator, invalid
 * bytes a separator; and the SQL function, which passes ASCII through and NULL as NULL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/fts.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static eg_store_fts_folder folder;

static void fold_is(const char *in, const char *want)
{
    eg_buf out;
    eg_buf_init(&out, 0);
    assert_int_equal(eg_store_fts_fold(&folder, &out, in, strlen(in)), 0);
    assert_non_null(out.data);
    assert_string_equal(out.data, want);
    eg_buf_free(&out);
}

static void test_latin_greek_cyrillic(void **state)
{
    (void)state;
    fold_is("Café CRÈME", "cafe creme");
    fold_is("cafe\xcc\x81", "cafe");       /* NFD */
    fold_is("Αθήνα ΑΘΗΝΑ", "αθηνα αθηνα"); /* tonos, capitals */
    fold_is("Αθη\xcc\x81να", "αθηνα");     /* NFD */
    fold_is("ὈΔΥΣΣΕΎΣ", "οδυσσευσ");       /* polytonic, final sigma folded */
    fold_is("Ёлка ёлка", "елка елка");
    fold_is("Straße", "strasse");
}

static void test_compatibility(void **state)
{
    (void)state;
    fold_is("ｐｙｔｈｏｎ３", "python3");
    fold_is("ﬁnd", "find");
    fold_is("ｶﾞｷﾞ", " ガ ギ"); /* half-width katakana with its voicing mark, composed */
}

static void test_cjk_spaced(void **state)
{
    (void)state;
    fold_is("北京", " 北 京");
    fold_is("我在北京。Beijing", " 我 在 北 京 beijing");
    fold_is("python编程", "python 编 程");
    fold_is("がっこう", " が っ こ う"); /* voicing kept: not かっこう */
    fold_is("서울에서", " 서 울 에 서");
    fold_is("\xe1\x84\x89\xe1\x85\xa5\xe1\x84\x8b\xe1\x85\xae\xe1\x86\xaf", " 서 울"); /* NFD */
}

static void test_ignorables_and_separators(void **state)
{
    (void)state;
    fold_is("inter\xc2\xad"
            "national",
            "international"); /* soft hyphen */
    fold_is("a\xe2\x80\x8d"
            "b a\xe2\x80\x8c"
            "b",
            "ab ab"); /* zero-width joiner and non-joiner */
    fold_is("foo\xe2\x80\x8b"
            "bar",
            "foo bar"); /* zero-width space separates */
    fold_is("«ça»—oui", " ca  oui");
    fold_is("ab\xff"
            "cd",
            "ab cd");
    fold_is("", "");
}

static void test_sql_function(void **state)
{
    (void)state;
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(eg__store_fts_register(db), 0);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT engram_fts_fold('Maya, Harbour'), "
                                        "engram_fts_fold('Αθήνα'), engram_fts_fold(NULL)",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "Maya, Harbour");
    assert_string_equal((const char *)sqlite3_column_text(s, 1), "αθηνα");
    assert_int_equal(sqlite3_column_type(s, 2), SQLITE_NULL);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_latin_greek_cyrillic),
        cmocka_unit_test(test_compatibility),
        cmocka_unit_test(test_cjk_spaced),
        cmocka_unit_test(test_ignorables_and_separators),
        cmocka_unit_test(test_sql_function),
    };
    int rc = cmocka_run_group_tests(tests, 0, NULL);
    eg_store_fts_folder_free(&folder);
    return rc;
}
