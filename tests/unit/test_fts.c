/*
 * test_fts.c — unit tests of store/fts.c, the fold the full-text index holds (docs/adr/0013):
 * case and accents of Greek and Cyrillic as well as Latin, NFC and NFD alike, compatibility
 * forms (full-width letters, ligatures), CJK characters spaced one by one and kept apart from
 * the letters beside them, Hangul in NFD composed again, kana voicing kept, default ignorables
 * dropped but ZERO WIDTH SPACE a separator, punctuation of any script a separator, invalid
 * bytes a separator; and the SQL function, which passes ASCII through and NULL as NULL.
 * The term counts (engram_fts_tally) against FTS5's own (fts5vocab's `doc`) after documents are
 * indexed and taken out, and engram_bm25 against FTS5's bm25() to the last bit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/fts.h"

#include <sqlite3.h>
#include <stdbool.h>
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
    eg_store_fts *c = NULL;
    assert_int_equal(eg__store_fts_register(db, &c), 0);
    assert_non_null(c);
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

/* ---- term counts and BM25 ---- */

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
}

static int64_t one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int write_term(void *ud, const char *term, size_t len, int64_t docs)
{
    sqlite3_stmt *s = NULL;
    sqlite3_prepare_v2(ud,
                       "INSERT INTO fts_term (term, docs) VALUES (?1, ?2) ON CONFLICT (term) DO "
                       "UPDATE SET docs = docs + excluded.docs",
                       -1, &s, NULL);
    sqlite3_bind_text64(s, 1, term, len, SQLITE_TRANSIENT, SQLITE_UTF8);
    sqlite3_bind_int64(s, 2, docs);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(s);
    return rc;
}

/* An in-memory index as the store has it, with texts 0..n-1 at rowids 1..n, counted. */
static sqlite3 *index_of(const char *const *texts, int n, eg_store_fts **c)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(eg__store_fts_register(db, c), 0);
    exec(db, "CREATE VIRTUAL TABLE memory_fts USING fts5(content, content='', tokenize='ascii');"
             "CREATE TABLE fts_term (term TEXT PRIMARY KEY, docs INTEGER NOT NULL) WITHOUT ROWID;"
             "CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, memory_fts, row);");
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO memory_fts (rowid, content) VALUES (?1, "
                                        "engram_fts_tally(engram_fts_fold(?2), 1))",
                                        -1, &s, NULL),
                     SQLITE_OK);
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int(s, 1, i + 1);
        sqlite3_bind_text(s, 2, texts[i], -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(s), SQLITE_DONE);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    assert_int_equal(eg__store_fts_tally_each(*c, write_term, db), 0);
    eg__store_fts_tally_clear(*c);
    return db;
}

/* How many (term, count) pairs fts_term and FTS5's own vocabulary do not share. */
static int64_t counts_differ(sqlite3 *db)
{
    return one_int(db, "SELECT (SELECT count(*) FROM (SELECT term, doc FROM temp.vocab EXCEPT "
                       "SELECT term, docs FROM fts_term WHERE docs > 0)) + (SELECT count(*) FROM "
                       "(SELECT term, docs FROM fts_term WHERE docs > 0 EXCEPT SELECT term, doc "
                       "FROM temp.vocab))");
}

/* Takes text out of the index at rowid, as the store takes a memory's old content out. */
static void take_out(sqlite3 *db, int rowid, const char *text)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO memory_fts (memory_fts, rowid, content) "
                                        "VALUES ('delete', ?1, "
                                        "engram_fts_tally(engram_fts_fold(?2), -1))",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_int(s, 1, rowid);
    sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

static char *long_word(size_t n, char ch)
{
    char *w = malloc(n + 1);
    assert_non_null(w);
    memset(w, ch, n);
    w[n] = '\0';
    return w;
}

static void test_term_counts(void **state)
{
    (void)state;
    char *huge = long_word(40000, 'q'); /* FTS5 keeps its first 32 KiB, and so is it counted */
    char *huge2 = long_word(33000, 'q');
    const char *texts[] = {"Maya maya MAYA harbour",
                           "the harbour, the boat",
                           "Αθήνα 北京 boat",
                           "boat-house e-mail",
                           huge,
                           huge2,
                           "",
                           "12 345 12"};
    eg_store_fts *c = NULL;
    sqlite3 *db = index_of(texts, 8, &c);
    assert_int_equal(one_int(db, "SELECT docs FROM fts_term WHERE term = 'maya'"), 1);
    assert_int_equal(one_int(db, "SELECT docs FROM fts_term WHERE term = 'boat'"), 3);
    assert_int_equal(one_int(db, "SELECT docs FROM fts_term WHERE term = '北'"), 1);
    assert_int_equal(one_int(db, "SELECT docs FROM fts_term WHERE length(term) = 32768"), 2);
    assert_int_equal(counts_differ(db), 0);
    /* taken out */
    take_out(db, 2, texts[1]);
    take_out(db, 5, huge);
    assert_int_equal(eg__store_fts_tally_each(c, write_term, db), 0);
    eg__store_fts_tally_clear(c);
    assert_int_equal(one_int(db, "SELECT docs FROM fts_term WHERE term = 'boat'"), 2);
    assert_int_equal(one_int(db, "SELECT docs FROM fts_term WHERE term = 'the'"), 0);
    assert_int_equal(counts_differ(db), 0);
    /* a count that is off is seen */
    exec(db, "UPDATE fts_term SET docs = docs + 1 WHERE term = 'boat'");
    assert_int_equal(counts_differ(db), 2);
    sqlite3_close(db);
    free(huge);
    free(huge2);
}

/* For each row match finds: whether engram_bm25 with hits (NULL: none) equals bm25(). */
static void bm25_same(sqlite3 *db, const char *match, const int64_t *hits, int nhits, bool same)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT bm25(memory_fts), engram_bm25(memory_fts, ?2) "
                                        "FROM memory_fts WHERE memory_fts MATCH ?1",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, match, -1, SQLITE_STATIC);
    if (hits)
        sqlite3_bind_blob(s, 2, hits, nhits * (int)sizeof *hits, SQLITE_STATIC);
    int rows = 0, equal = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        rows++;
        double a = sqlite3_column_double(s, 0), b = sqlite3_column_double(s, 1);
        equal += memcmp(&a, &b, sizeof a) == 0;
    }
    sqlite3_finalize(s);
    assert_true(rows > 0);
    if (same)
        assert_int_equal(equal, rows);
    else
        assert_true(equal < rows);
}

static void test_bm25_as_fts5(void **state)
{
    (void)state;
    const char *texts[] = {"maya keeps the harbour keys",
                           "the harbour master",
                           "maya maya at the harbour",
                           "boat house by the harbour",
                           "北京 harbour",
                           "a boat",
                           "keys",
                           "maya and the boat house",
                           "nothing here",
                           "harbour harbour harbour harbour harbour"};
    eg_store_fts *c = NULL;
    sqlite3 *db = index_of(texts, 10, &c);
    int64_t maya = one_int(db, "SELECT docs FROM fts_term WHERE term = 'maya'");
    int64_t harbour = one_int(db, "SELECT docs FROM fts_term WHERE term = 'harbour'");
    int64_t keys = one_int(db, "SELECT docs FROM fts_term WHERE term = 'keys'");
    assert_int_equal(maya, 3);
    assert_int_equal(harbour, 6); /* over half the rows: the IDF's floor */
    bm25_same(db, "\"maya\"", NULL, 0, true);
    bm25_same(db, "\"maya\"", (int64_t[]){maya}, 1, true);
    bm25_same(db, "\"maya\" OR \"harbour\" OR \"keys\"", (int64_t[]){maya, harbour, keys}, 3, true);
    bm25_same(db, "\"maya\" AND \"harbour\"", (int64_t[]){maya, harbour}, 2, true);
    /* a phrase not given (-1), or more phrases than given: counted as bm25() counts them */
    bm25_same(db, "\"boat house\" OR \"maya\"", (int64_t[]){-1, maya}, 2, true);
    bm25_same(db, "\"maya\" OR \" 北 京\" OR \"keys\"", (int64_t[]){maya}, 1, true);
    /* the counts given are the ones used */
    bm25_same(db, "\"maya\" OR \"keys\"", (int64_t[]){keys, maya}, 2, false);
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
        cmocka_unit_test(test_term_counts),
        cmocka_unit_test(test_bm25_as_fts5),
    };
    int rc = cmocka_run_group_tests(tests, 0, NULL);
    eg_store_fts_folder_free(&folder);
    return rc;
}
