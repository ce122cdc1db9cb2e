/*
 * test_store.c — unit tests of the SQLite store (store/sqlite.c, store/report.c), each on a fresh
 * file in a temporary folder: creation (latest schema version, WAL journal), opening a missing
 * store (EG_ENOTFOUND, hint naming `engram init`), eg_store_memory_put's inserted / unchanged /
 * updated results (an unchanged row keeps its staging; an updated one takes the new staging),
 * FTS5 sync (new rows indexed, updated content re-indexed: the old word is gone, the new one
 * found, the index passes FTS5's integrity-check), the watermark's max semantics, quarantine
 * de-duplication, runs, the embedded source table, bulk mode, restaging, the staging export (exact
 * CSV header and rows ordered by memory_id, NULL vs empty), eg_store_mark_deleted with an id set,
 * rollback leaving nothing behind, stats, and no cached statement left running after a commit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store_fixture.h"

#include "engram/error.h"
#include "stage/staging.h"
#include "store/migrations.h"
#include "store/recall.h"
#include "store/store.h"
#include "util/idset.h"
#include "util/timeutil.h"

#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
    return (*state = eg_test_store_setup("store")) ? 0 : -1;
}
#define teardown eg_test_store_teardown

static int64_t T(const char *iso)
{
    int64_t us;
    assert_int_equal(eg_time_parse(iso, (size_t)-1, &us), 0);
    return us;
}

/* ---- SQL helpers ---- */

static int64_t q_int(eg_store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(eg_store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("prepare \"%s\": %s", sql, sqlite3_errmsg(eg_store_db(st)));
    int64_t v = INT64_MIN;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_type(s, 0) == SQLITE_NULL ? INT64_MIN + 1 : sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}
#define SQL_NULL (INT64_MIN + 1)

static double q_double(eg_store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(eg_store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("prepare \"%s\": %s", sql, sqlite3_errmsg(eg_store_db(st)));
    double v = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_double(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* The first column of the first row as text ("(null)" for NULL, "(no row)" for none). */
static char *q_text(eg_store *st, const char *sql)
{
    static char buf[4096];
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(eg_store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("prepare \"%s\": %s", sql, sqlite3_errmsg(eg_store_db(st)));
    if (sqlite3_step(s) != SQLITE_ROW)
        snprintf(buf, sizeof buf, "(no row)");
    else if (sqlite3_column_type(s, 0) == SQLITE_NULL)
        snprintf(buf, sizeof buf, "(null)");
    else
        snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return buf;
}

static int64_t fts_count(eg_store *st, const char *word)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM memory_fts WHERE memory_fts MATCH '%s'", word);
    return q_int(st, sql);
}

static void fts_integrity(eg_store *st)
{
    char *err = NULL;
    if (sqlite3_exec(eg_store_db(st),
                     "INSERT INTO memory_fts(memory_fts) VALUES ('integrity-check')", NULL, NULL,
                     &err) != SQLITE_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", err ? err : "?");
        sqlite3_free(err);
        fail_msg("FTS index does not match the memory table: %s", msg);
    }
}

/* ---- records and staging ---- */

static eg_record mk(const char *id, const char *content, const char *created)
{
    eg_record r = {.id = id,
                   .id_len = strlen(id),
                   .content = content,
                   .content_len = content ? strlen(content) : 0,
                   .created_at = created ? T(created) : 0,
                   .has_created = created != NULL};
    return r;
}

static eg_staged staged(double activation, double importance, int64_t access, int64_t last,
                        const char *type)
{
    eg_staged g = {.skip = EG_SKIP_NONE,
                   .activation_strength = activation,
                   .importance_score = importance,
                   .access_count = access,
                   .last_accessed_at = last,
                   .memory_type = type,
                   .length_chars = 5};
    return g;
}

static eg_put_result put(fixture *f, const eg_record *r, const eg_staged *g, const char *concepts,
                         int64_t now)
{
    eg_put_result res = (eg_put_result)-1;
    int rc = eg_store_memory_put(f->st, r, g, concepts, "test", NULL, now, &res);
    if (rc)
        fail_msg("eg_store_memory_put(%s): %s", r->id, eg_error_last()->message);
    return res;
}

/* ---- tests ---- */

static void test_create_schema_and_wal(void **state)
{
    fixture *f = *state;
    assert_true(eg__store_latest_version() >= 1);
    assert_int_equal(eg_store_schema_version(f->st), eg__store_latest_version());
    assert_string_equal(eg_store_path(f->st), f->path);
    assert_string_equal(q_text(f->st, "PRAGMA journal_mode"), "wal");
    static const char *const tables[] = {"memories",  "memory",     "memory_fts",
                                         "watermark", "quarantine", "runs"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE name = '%s'",
                 tables[i]);
        if (q_int(f->st, sql) != 1)
            fail_msg("table %s missing", tables[i]);
    }
    /* reopening without CREATE finds it, migrated, still WAL */
    eg_store_close(f->st);
    f->st = NULL;
    assert_int_equal(eg_store_open(&f->st, f->path, 0), 0);
    assert_int_equal(eg_store_schema_version(f->st), eg__store_latest_version());
    assert_string_equal(q_text(f->st, "PRAGMA journal_mode"), "wal");
    /* read-only opening works on a current store */
    eg_store *ro = NULL;
    assert_int_equal(eg_store_open(&ro, f->path, EG_STORE_READONLY), 0);
    assert_int_equal(eg_store_schema_version(ro), eg__store_latest_version());
    eg_store_close(ro);
    eg_store_close(NULL);
}

/* A store of a newer engram (schema version past this build's) is refused whichever way it is
 * opened, with the same reason and remedy: read-only (as `engram serve` reads) said "this
 * engram needs N" and hinted to migrate it by opening it read-write, which refuses it too. */
static void test_open_newer(void **state)
{
    fixture *f = *state;
    char sql[64], want[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", eg__store_latest_version() + 1);
    assert_int_equal(eg_store_exec(f->st, sql), 0);
    eg_store_close(f->st);
    f->st = NULL;
    snprintf(want, sizeof want, "schema version %d, newer than this engram (%d)",
             eg__store_latest_version() + 1, eg__store_latest_version());
    static const int flags[] = {0, EG_STORE_READONLY};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        eg_store *st = (eg_store *)0x1;
        eg_error_clear();
        assert_int_equal(eg_store_open(&st, f->path, flags[i]), EG_ESTORE);
        assert_null(st);
        const eg_error *e = eg_error_last();
        if (!strstr(e->message, want))
            fail_msg("opening with flags %d: %s", flags[i], e->message);
        assert_non_null(strstr(e->hint, "upgrade engram"));
    }
}

static void test_open_missing(void **state)
{
    fixture *f = *state;
    char missing[400];
    snprintf(missing, sizeof missing, "%s/nope.db", f->dir);
    eg_store *st = (eg_store *)0x1;
    eg_error_clear();
    assert_int_equal(eg_store_open(&st, missing, 0), EG_ENOTFOUND);
    assert_null(st);
    const eg_error *e = eg_error_last();
    assert_int_equal(e->code, EG_ENOTFOUND);
    assert_non_null(strstr(e->message, missing));
    assert_non_null(strstr(e->hint, "engram init"));
    struct stat sb;
    assert_int_not_equal(stat(missing, &sb), 0); /* nothing was created */
}

static void test_memory_put_results(void **state)
{
    fixture *f = *state;
    int64_t now1 = T("2026-05-01T12:00:00Z"), now2 = T("2026-05-02T12:00:00Z");
    eg_record r = mk("m1", "hello", "2026-05-01T10:00:00Z");
    eg_staged g1 = staged(0.75, 0.9, 2, r.created_at, "fragment");
    eg_staged g2 = staged(0.25, 0.5, 2, r.created_at, "fragment");
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(put(f, &r, &g1, "[\"hello\"]", now1), EG_PUT_INSERTED);
    /* the same source columns again: unchanged, and the staging is left alone */
    assert_int_equal(put(f, &r, &g2, "[\"other\"]", now2), EG_PUT_UNCHANGED);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM memory"), 1);
    /* the now-dependent columns come from the staging view, at the row's staging clock, exactly
     * as the C staging computes them */
    assert_true(q_double(f->st, "SELECT activation_strength FROM staging WHERE memory_id = 'm1'") ==
                eg_stage_activation(now1, r.created_at));
    assert_true(q_double(f->st, "SELECT importance_score FROM staging WHERE memory_id = 'm1'") ==
                0.9);
    assert_int_equal(q_int(f->st, "SELECT processed_at FROM staging WHERE memory_id = 'm1'"), now1);
    assert_string_equal(q_text(f->st, "SELECT concepts FROM memory WHERE id = 'm1'"),
                        "[\"hello\"]");
    assert_int_equal(q_int(f->st, "SELECT processed_at FROM memory WHERE id = 'm1'"), now1);
    assert_string_equal(q_text(f->st, "SELECT status FROM memory WHERE id = 'm1'"), "staged");
    assert_string_equal(q_text(f->st, "SELECT content FROM memory WHERE id = 'm1'"), "hello");
    assert_int_equal(q_int(f->st, "SELECT created_at FROM memory WHERE id = 'm1'"), r.created_at);
    assert_int_equal(q_int(f->st, "SELECT updated_at FROM memory WHERE id = 'm1'"), SQL_NULL);
    assert_string_equal(q_text(f->st, "SELECT source_system FROM memory WHERE id = 'm1'"), "test");

    /* each source column counts: content, updated_at, metadata */
    assert_int_equal(eg_store_begin(f->st), 0);
    eg_record r2 = mk("m1", "hello again", "2026-05-01T10:00:00Z");
    assert_int_equal(put(f, &r2, &g2, "[\"again\"]", now2), EG_PUT_UPDATED);
    assert_int_equal(put(f, &r2, &g2, "[\"again\"]", now2), EG_PUT_UNCHANGED);
    r2.has_updated = true;
    r2.updated_at = r2.created_at; /* NULL -> a value is a change even if equal to created_at */
    assert_int_equal(put(f, &r2, &g2, NULL, now2), EG_PUT_UPDATED);
    r2.metadata = "{\"a\":1}";
    r2.metadata_len = strlen(r2.metadata);
    assert_int_equal(put(f, &r2, &g2, "[\"again\"]", now2), EG_PUT_UPDATED);
    r2.metadata = "{\"a\":2}";
    assert_int_equal(put(f, &r2, &g2, "[\"again\"]", now2), EG_PUT_UPDATED);
    r2.created_at += 1;
    assert_int_equal(put(f, &r2, &g2, "[\"again\"]", now2), EG_PUT_UPDATED);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM memory"), 1);
    assert_true(q_double(f->st, "SELECT activation_strength FROM staging WHERE memory_id = 'm1'") ==
                eg_stage_activation(now2, r2.created_at));
    assert_true(q_double(f->st, "SELECT importance_score FROM staging WHERE memory_id = 'm1'") ==
                0.7);
    assert_string_equal(q_text(f->st, "SELECT content FROM memory WHERE id = 'm1'"), "hello again");
    assert_string_equal(q_text(f->st, "SELECT metadata FROM memory WHERE id = 'm1'"), "{\"a\":2}");
    assert_string_equal(q_text(f->st, "SELECT concepts FROM memory WHERE id = 'm1'"),
                        "[\"again\"]");
    assert_int_equal(q_int(f->st, "SELECT processed_at FROM memory WHERE id = 'm1'"), now2);
    /* first_seen_at stays the first time */
    assert_int_equal(q_int(f->st, "SELECT first_seen_at FROM memory WHERE id = 'm1'"), now1);

    /* NULL content vs empty content are different source values */
    assert_int_equal(eg_store_begin(f->st), 0);
    eg_record n = mk("m2", NULL, "2026-05-01T10:00:00Z");
    eg_staged skip = {.skip = EG_SKIP_NULL_CONTENT, .length_chars = -1};
    assert_int_equal(put(f, &n, &skip, NULL, now1), EG_PUT_INSERTED);
    eg_record e = mk("m2", "", "2026-05-01T10:00:00Z");
    skip.skip = EG_SKIP_EMPTY_CONTENT;
    skip.length_chars = 0;
    assert_int_equal(put(f, &e, &skip, NULL, now1), EG_PUT_UPDATED);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_string_equal(q_text(f->st, "SELECT status FROM memory WHERE id = 'm2'"), "skipped");
    assert_string_equal(q_text(f->st, "SELECT skip_reason FROM memory WHERE id = 'm2'"),
                        "empty_content");
    assert_int_equal(q_int(f->st, "SELECT activation_strength FROM staging WHERE memory_id = 'm2'"),
                     SQL_NULL);
    assert_int_equal(q_int(f->st, "SELECT importance_score FROM staging WHERE memory_id = 'm2'"),
                     SQL_NULL);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM memory WHERE id = 'm2' AND content = ''"),
                     1);
}

static void test_fts_sync(void **state)
{
    fixture *f = *state;
    int64_t now = T("2026-05-01T12:00:00Z"), n = -1;
    eg_staged g = staged(0.5, 0.9, 2, now, "fragment");
    eg_record a = mk("a", "alpha bravo", "2026-05-01T10:00:00Z");
    eg_record b = mk("b", "charlie", "2026-05-01T10:00:00Z");
    eg_record c = mk("c", NULL, "2026-05-01T10:00:00Z");
    assert_int_equal(eg_store_begin(f->st), 0);
    put(f, &a, &g, "[]", now);
    put(f, &b, &g, "[]", now);
    put(f, &c, &g, "[]", now);
    assert_int_equal(eg_store_fts_sync(f->st, &n), 0);
    assert_int_equal(n, 2); /* NULL content is not indexed */
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(fts_count(f->st, "alpha"), 1);
    assert_int_equal(fts_count(f->st, "charlie"), 1);
    assert_int_equal(q_int(f->st, "SELECT m.id = 'a' FROM memory_fts f JOIN memory m ON "
                                  "m.rowid = f.rowid WHERE memory_fts MATCH 'bravo'"),
                     1);
    fts_integrity(f->st);

    /* nothing new: nothing indexed */
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_fts_sync(f->st, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(eg_store_commit(f->st), 0);

    /* a's content changes: the old words leave the index, the new ones enter */
    assert_int_equal(eg_store_begin(f->st), 0);
    eg_record a2 = mk("a", "delta echo", "2026-05-01T10:00:00Z");
    assert_int_equal(put(f, &a2, &g, "[]", now), EG_PUT_UPDATED);
    eg_record d = mk("d", "foxtrot alpha", "2026-05-01T10:00:00Z");
    put(f, &d, &g, "[]", now);
    assert_int_equal(eg_store_fts_sync(f->st, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(fts_count(f->st, "bravo"), 0);
    assert_int_equal(fts_count(f->st, "delta"), 1);
    assert_int_equal(fts_count(f->st, "echo"), 1);
    assert_int_equal(fts_count(f->st, "alpha"), 1); /* only d now */
    assert_int_equal(fts_count(f->st, "charlie"), 1);
    /* 3 documents in the index (a, b, d; c has no content) */
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM memory_fts_docsize"), 3);
    fts_integrity(f->st);

    /* content becomes NULL: it leaves the index */
    assert_int_equal(eg_store_begin(f->st), 0);
    eg_record b2 = mk("b", NULL, "2026-05-01T10:00:00Z");
    assert_int_equal(put(f, &b2, &g, "[]", now), EG_PUT_UPDATED);
    assert_int_equal(eg_store_fts_sync(f->st, &n), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(fts_count(f->st, "charlie"), 0);
    fts_integrity(f->st);

    /* a row that had NULL content gets some: indexed */
    assert_int_equal(eg_store_begin(f->st), 0);
    eg_record c2 = mk("c", "golf hotel", "2026-05-01T10:00:00Z");
    assert_int_equal(put(f, &c2, &g, "[]", now), EG_PUT_UPDATED);
    assert_int_equal(eg_store_fts_sync(f->st, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(fts_count(f->st, "golf"), 1);
    fts_integrity(f->st);

    /* accents folded by the tokenizer (unicode61 remove_diacritics 2) */
    assert_int_equal(eg_store_begin(f->st), 0);
    eg_record e = mk("e", "caf\xc3\xa9 na\xc3\xafve", "2026-05-01T10:00:00Z");
    put(f, &e, &g, "[]", now);
    assert_int_equal(eg_store_fts_sync(f->st, &n), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(fts_count(f->st, "cafe"), 1);
    assert_int_equal(fts_count(f->st, "naive"), 1);
}

/* An indexed row whose content changes twice before the next sync: the index must end up with
 * the last content only, and stay consistent. */
static void test_fts_two_updates_before_sync(void **state)
{
    fixture *f = *state;
    int64_t now = T("2026-05-01T12:00:00Z"), n;
    eg_staged g = staged(0.5, 0.9, 2, now, "fragment");
    eg_record a = mk("a", "alpha", "2026-05-01T10:00:00Z");
    assert_int_equal(eg_store_begin(f->st), 0);
    put(f, &a, &g, "[]", now);
    assert_int_equal(eg_store_fts_sync(f->st, &n), 0);
    assert_int_equal(eg_store_commit(f->st), 0);

    assert_int_equal(eg_store_begin(f->st), 0);
    eg_record a2 = mk("a", "bravo", "2026-05-01T10:00:00Z");
    eg_record a3 = mk("a", "charlie", "2026-05-01T10:00:00Z");
    assert_int_equal(put(f, &a2, &g, "[]", now), EG_PUT_UPDATED);
    assert_int_equal(put(f, &a3, &g, "[]", now), EG_PUT_UPDATED);
    assert_int_equal(eg_store_fts_sync(f->st, &n), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    fts_integrity(f->st);
    assert_int_equal(fts_count(f->st, "alpha"), 0);
    assert_int_equal(fts_count(f->st, "bravo"), 0);
    assert_int_equal(fts_count(f->st, "charlie"), 1);
}

/* rows written to the embedded memories table move its watermark back to the oldest of them
 * (an older row would otherwise stay unread until --full); a row without times drops it; other
 * sources' watermarks and a transaction that is rolled back change nothing */
static void test_watermark_embedded_writes(void **state)
{
    fixture *f = *state;
    const char *key = "embedded table=memories";
    int64_t at = -1;
    bool found = false;
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_watermark_set(f->st, key, T("2026-11-01T00:00:00Z"), 1), 0);
    assert_int_equal(eg_store_watermark_set(f->st, "pg:x", 100, 1), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    eg_record old1 = mk("o1", "old one", "2026-03-01T00:00:00Z");
    eg_record old2 = mk("o2", "old two", "2026-02-01T00:00:00Z");
    old2.has_updated = true; /* its key is its update */
    old2.updated_at = T("2026-04-01T00:00:00Z");
    eg_record fresh = mk("n1", "new one", "2026-11-20T00:00:00Z");
    int changed;
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_source_put(f->st, &fresh, &changed), 0);
    assert_int_equal(eg_store_source_put(f->st, &old2, &changed), 0);
    assert_int_equal(eg_store_source_put(f->st, &old1, &changed), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(eg_store_watermark_get(f->st, key, &at, &found), 0);
    assert_true(found);
    assert_int_equal(at, T("2026-03-01T00:00:00Z"));
    assert_int_equal(eg_store_watermark_get(f->st, "pg:x", &at, &found), 0);
    assert_int_equal(at, 100);
    /* the same rows again change nothing, so the watermark stays */
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_watermark_set(f->st, key, T("2026-11-20T00:00:00Z"), 2), 0);
    assert_int_equal(eg_store_source_put(f->st, &old1, &changed), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(eg_store_watermark_get(f->st, key, &at, &found), 0);
    assert_int_equal(at, T("2026-11-20T00:00:00Z"));
    /* rolled back: nothing */
    eg_record untimed = mk("u1", "no time", NULL);
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_source_put(f->st, &untimed, &changed), 0);
    eg_store_rollback(f->st);
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(eg_store_watermark_get(f->st, key, &at, &found), 0);
    assert_true(found);
    /* a row without times: only a full read delivers it */
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_source_put(f->st, &untimed, &changed), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(eg_store_watermark_get(f->st, key, &at, &found), 0);
    assert_false(found);
}

static void test_watermark(void **state)
{
    fixture *f = *state;
    int64_t at = -1;
    bool found = true;
    assert_int_equal(eg_store_watermark_get(f->st, "pg:x", &at, &found), 0);
    assert_false(found);
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_watermark_set(f->st, "pg:x", 100, 1), 0);
    assert_int_equal(eg_store_watermark_set(f->st, "pg:y", 7, 1), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(eg_store_watermark_get(f->st, "pg:x", &at, &found), 0);
    assert_true(found);
    assert_int_equal(at, 100);
    /* it never goes back */
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_watermark_set(f->st, "pg:x", 50, 2), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(eg_store_watermark_get(f->st, "pg:x", &at, &found), 0);
    assert_int_equal(at, 100);
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_watermark_set(f->st, "pg:x", 200, 3), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(eg_store_watermark_get(f->st, "pg:x", &at, &found), 0);
    assert_int_equal(at, 200);
    assert_int_equal(q_int(f->st, "SELECT run_id FROM watermark WHERE source = 'pg:x'"), 3);
    /* keys are independent; negative times (before 1970) work */
    assert_int_equal(eg_store_watermark_get(f->st, "pg:y", &at, &found), 0);
    assert_int_equal(at, 7);
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_watermark_set(f->st, "pg:z", -5, 1), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(eg_store_watermark_get(f->st, "pg:z", &at, &found), 0);
    assert_int_equal(at, -5);
}

static void test_quarantine_dedup(void **state)
{
    fixture *f = *state;
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_quarantine(f->st, 10, "import:a.jsonl", "a.jsonl:3", "created_at",
                                         "bad time", "raw1", 4),
                     0);
    assert_int_equal(eg_store_quarantine(f->st, 20, "import:a.jsonl", "a.jsonl:3", "created_at",
                                         "bad time", "raw2", 4),
                     0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM quarantine"), 1);
    assert_int_equal(q_int(f->st, "SELECT at FROM quarantine"), 20); /* the latest sighting */
    assert_string_equal(q_text(f->st, "SELECT CAST(raw AS TEXT) FROM quarantine"), "raw2");
    /* another reason or ref is another row */
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_quarantine(f->st, 30, "import:a.jsonl", "a.jsonl:3", "created_at",
                                         "other reason", NULL, 0),
                     0);
    assert_int_equal(eg_store_quarantine(f->st, 30, "import:a.jsonl", "a.jsonl:4", "created_at",
                                         "bad time", NULL, 0),
                     0);
    /* raw bytes that are not UTF-8 are kept exactly */
    assert_int_equal(eg_store_quarantine(f->st, 30, "import:a.jsonl", "a.jsonl:5", "content",
                                         "invalid UTF-8", "x\xff\0y", 4),
                     0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM quarantine"), 4);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM quarantine WHERE ref = 'a.jsonl:5' AND "
                                  "raw = X'78FF0079'"),
                     1);
}

/* A reject without a field (a line that is not JSON) reported twice is still one row: SQLite's
 * UNIQUE treats NULLs as distinct, so a NULL field must not defeat the de-duplication. */
static void test_quarantine_dedup_null_field(void **state)
{
    fixture *f = *state;
    assert_int_equal(eg_store_begin(f->st), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            eg_store_quarantine(f->st, 10 + i, "postgresql", "row-9", NULL, "not JSON", NULL, 0),
            0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM quarantine"), 1);
}

static void test_runs(void **state)
{
    fixture *f = *state;
    int64_t id1 = 0, id2 = 0, now = T("2026-05-01T12:00:00Z");
    int64_t before = eg_time_now();
    assert_int_equal(eg_store_run_begin(f->st, "ingest", now, "postgresql host=h", &id1), 0);
    assert_int_equal(eg_store_run_begin(f->st, "run", now + 1, NULL, &id2), 0);
    assert_true(id1 > 0);
    assert_int_equal(id2, id1 + 1);
    /* visible at once: begin does not wait for another transaction */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT outcome FROM runs WHERE run_id = %lld", (long long)id1);
    assert_string_equal(q_text(f->st, sql), "running");
    snprintf(sql, sizeof sql, "SELECT finished_at FROM runs WHERE run_id = %lld", (long long)id1);
    assert_string_equal(q_text(f->st, sql), "(null)");
    snprintf(sql, sizeof sql, "SELECT now FROM runs WHERE run_id = %lld", (long long)id1);
    assert_int_equal(q_int(f->st, sql), now);
    snprintf(sql, sizeof sql, "SELECT started_at >= %lld FROM runs WHERE run_id = %lld",
             (long long)before, (long long)id1);
    assert_int_equal(q_int(f->st, sql), 1);
    snprintf(sql, sizeof sql, "SELECT command || '|' || source FROM runs WHERE run_id = %lld",
             (long long)id1);
    assert_string_equal(q_text(f->st, sql), "ingest|postgresql host=h");

    assert_int_equal(eg_store_run_finish(f->st, id1, "ok", "{\"read\":3}", "{\"ms\":1}", NULL), 0);
    assert_int_equal(eg_store_run_finish(f->st, id2, "failed", NULL, NULL, "source unreachable"),
                     0);
    snprintf(sql, sizeof sql,
             "SELECT outcome || '|' || counts || '|' || durations || '|' || (error IS NULL) || '|' "
             "|| (finished_at >= started_at) FROM runs WHERE run_id = %lld",
             (long long)id1);
    assert_string_equal(q_text(f->st, sql), "ok|{\"read\":3}|{\"ms\":1}|1|1");
    snprintf(sql, sizeof sql,
             "SELECT outcome || '|' || error || '|' || (counts IS NULL) FROM runs WHERE run_id = "
             "%lld",
             (long long)id2);
    assert_string_equal(q_text(f->st, sql), "failed|source unreachable|1");
}

static void test_source_put(void **state)
{
    fixture *f = *state;
    int changed = -1;
    eg_record r = mk("s1", "text", "2026-05-01T10:00:00.5Z");
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_source_put(f->st, &r, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(eg_store_source_put(f->st, &r, &changed), 0);
    assert_int_equal(changed, 0);
    r.content = "new text";
    r.content_len = 8;
    assert_int_equal(eg_store_source_put(f->st, &r, &changed), 0);
    assert_int_equal(changed, 2);
    r.has_updated = true;
    r.updated_at = T("2026-05-02");
    assert_int_equal(eg_store_source_put(f->st, &r, &changed), 0);
    assert_int_equal(changed, 2);
    eg_record n = mk("s2", NULL, NULL);
    assert_int_equal(eg_store_source_put(f->st, &n, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(eg_store_source_put(f->st, &n, &changed), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM memories"), 2);
    /* times are ISO 8601 text in the embedded source table */
    assert_string_equal(q_text(f->st, "SELECT created_at || '|' || updated_at || '|' || content "
                                      "FROM memories WHERE id = 's1'"),
                        "2026-05-01T10:00:00.500000Z|2026-05-02T00:00:00Z|new text");
    assert_string_equal(q_text(f->st, "SELECT (content IS NULL) || (created_at IS NULL) || "
                                      "(updated_at IS NULL) || (metadata IS NULL) FROM memories "
                                      "WHERE id = 's2'"),
                        "1111");
}

static void test_bulk_mode(void **state)
{
    fixture *f = *state;
    int64_t now = T("2026-05-01T12:00:00Z"), n;
    bool bulk = false;
    eg_staged g = staged(0.5, 0.9, 2, now, "fragment");
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_bulk_begin(f->st, &bulk), 0);
    assert_true(bulk);
    eg_record a = mk("a", "alpha", "2026-05-01T10:00:00Z");
    eg_record b = mk("b", "bravo", "2026-05-01T10:00:00Z");
    assert_int_equal(put(f, &a, &g, "[]", now), EG_PUT_INSERTED);
    assert_int_equal(put(f, &b, &g, "[]", now), EG_PUT_INSERTED);
    /* a repeated id is still recognised without the index */
    assert_int_equal(put(f, &a, &g, "[]", now), EG_PUT_UNCHANGED);
    eg_record a2 = mk("a", "alpha two", "2026-05-01T10:00:00Z");
    assert_int_equal(put(f, &a2, &g, "[]", now), EG_PUT_UPDATED);
    assert_int_equal(eg_store_bulk_end(f->st), 0);
    assert_int_equal(eg_store_fts_sync(f->st, &n), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM memory"), 2);
    assert_string_equal(q_text(f->st, "SELECT content FROM memory WHERE id = 'a'"), "alpha two");
    assert_int_equal(q_int(f->st,
                           "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                           "'memory' AND name LIKE 'memory_%'"),
                     6);
    assert_int_equal(fts_count(f->st, "two"), 1);
    fts_integrity(f->st);
    /* not empty any more: no bulk mode, and the id index is unique again */
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_bulk_begin(f->st, &bulk), 0);
    assert_false(bulk);
    assert_int_equal(put(f, &b, &g, "[]", now), EG_PUT_UNCHANGED);
    assert_int_equal(eg_store_bulk_end(f->st), 0);
    assert_int_equal(eg_store_commit(f->st), 0);

    /* a rollback in bulk mode brings the indexes back */
    fixture g2 = {0};
    snprintf(g2.path, sizeof g2.path, "%s/bulk2.db", f->dir);
    assert_int_equal(eg_store_open(&g2.st, g2.path, EG_STORE_CREATE), 0);
    assert_int_equal(eg_store_begin(g2.st), 0);
    assert_int_equal(eg_store_bulk_begin(g2.st, &bulk), 0);
    assert_true(bulk);
    assert_int_equal(put(&g2, &a, &g, "[]", now), EG_PUT_INSERTED);
    eg_store_rollback(g2.st);
    assert_int_equal(q_int(g2.st,
                           "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = "
                           "'memory' AND name LIKE 'memory_%'"),
                     6);
    assert_int_equal(q_int(g2.st, "SELECT count(*) FROM memory"), 0);
    eg_store_close(g2.st);
}

typedef struct restage_calls {
    int whole;
    int64_t window_start;
} restage_calls;

static int restage_cb(const eg_record *r, eg_staged *out, eg_buf *concepts, void *ud)
{
    restage_calls *calls = ud;
    calls->whole++;
    *out = staged(0.125, 0.3, 7, r->created_at, "episode");
    if (!r->content)
        out->skip = EG_SKIP_NULL_CONTENT;
    else if (r->created_at <= calls->window_start)
        out->skip = EG_SKIP_OUT_OF_WINDOW;
    if (concepts)
        eg_buf_puts(concepts, "[\"restaged\"]");
    return 0;
}

/* what a restage does to each kind of row: staged and staying (nothing written: its
 * now-dependent columns follow the staging clock), staged and leaving the window, skipped and
 * staying, skipped out of the window and coming back (staged whole, concepts computed);
 * --rebuild stages all whole */
static void test_restage(void **state)
{
    fixture *f = *state;
    int64_t now1 = T("2026-05-01T12:00:00Z"), now2 = T("2026-06-01T12:00:00Z"), visited = -1;
    int64_t ws = T("2026-03-01T00:00:00Z"); /* the window start at now2 */
    eg_staged g = staged(0.5, 0.9, 2, now1, "fragment");
    eg_staged skip_null = {.skip = EG_SKIP_NULL_CONTENT},
              skip_old = {.skip = EG_SKIP_OUT_OF_WINDOW};
    eg_record a = mk("a", "alpha", "2026-05-01T10:00:00Z");
    eg_record b = mk("b", "bravo", "2026-05-31T10:00:00Z");
    eg_record c = mk("c", "charlie", "2026-02-01T10:00:00Z"); /* staged, leaves the window */
    eg_record d = mk("d", NULL, "2026-05-01T10:00:00Z");      /* skipped: no content */
    eg_record e = mk("e", "echo", "2026-04-01T10:00:00Z");    /* was out of the window */
    eg_record h = mk("h", "hotel", "2025-04-01T10:00:00Z");   /* out of the window, stays */
    assert_int_equal(eg_store_begin(f->st), 0);
    put(f, &a, &g, "[\"kept\"]", now1);
    put(f, &c, &g, "[\"kept\"]", now1);
    put(f, &d, &skip_null, NULL, now1);
    put(f, &e, &skip_old, NULL, now1);
    put(f, &h, &skip_old, NULL, now1);
    assert_int_equal(eg_store_commit(f->st), 0);
    restage_calls calls = {.window_start = ws};
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_restage(f->st, now2, ws, false, restage_cb, &calls, &visited), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(visited, 2);
    assert_int_equal(calls.whole, 2); /* c (leaves), e (comes back) */
    /* a: nothing written, its now-dependent columns are at the new clock */
    assert_int_equal(q_int(f->st, "SELECT processed_at FROM memory WHERE id = 'a'"), now1);
    assert_int_equal(q_int(f->st, "SELECT processed_at FROM staging WHERE memory_id = 'a'"), now2);
    assert_true(q_double(f->st, "SELECT activation_strength FROM staging WHERE memory_id = 'a'") ==
                eg_stage_activation(now2, a.created_at));
    assert_true(q_double(f->st, "SELECT importance_score FROM staging WHERE memory_id = 'a'") ==
                0.3);
    assert_int_equal(q_int(f->st, "SELECT access_count FROM memory WHERE id = 'a'"), 2);
    assert_string_equal(q_text(f->st, "SELECT memory_type FROM memory WHERE id = 'a'"), "fragment");
    /* c: left the window, read whole and skipped by fn */
    assert_string_equal(q_text(f->st, "SELECT skip_reason FROM memory WHERE id = 'c'"),
                        "out_of_window");
    assert_int_equal(q_int(f->st, "SELECT processed_at FROM memory WHERE id = 'c'"), now2);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM staging WHERE memory_id = 'c' AND "
                                  "activation_strength IS NULL"),
                     1);
    /* e: came back, staged whole, its concepts computed */
    assert_string_equal(q_text(f->st, "SELECT status FROM memory WHERE id = 'e'"), "staged");
    assert_int_equal(q_int(f->st, "SELECT access_count FROM memory WHERE id = 'e'"), 7);
    assert_string_equal(q_text(f->st, "SELECT concepts FROM memory WHERE id = 'e'"),
                        "[\"restaged\"]");
    assert_true(q_double(f->st, "SELECT importance_score FROM staging WHERE memory_id = 'e'") ==
                0.3);
    /* d, h: still skipped, for the same reason, without values */
    assert_string_equal(q_text(f->st, "SELECT skip_reason FROM memory WHERE id = 'd'"),
                        "null_content");
    assert_string_equal(q_text(f->st, "SELECT skip_reason FROM memory WHERE id = 'h'"),
                        "out_of_window");
    assert_int_equal(q_int(f->st, "SELECT activation_strength FROM staging WHERE memory_id = 'h'"),
                     SQL_NULL);
    assert_string_equal(q_text(f->st, "SELECT concepts FROM memory WHERE id = 'a'"), "[\"kept\"]");
    /* a row staged later moves the clock of the whole staging (one clock, as the reference's
     * table has one CURRENT_TIMESTAMP), and a rolled back one does not */
    int64_t now3 = T("2026-06-01T13:00:00Z"), now4 = T("2026-07-01T13:00:00Z");
    assert_int_equal(eg_store_begin(f->st), 0);
    put(f, &b, &g, "[]", now3);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(q_int(f->st, "SELECT processed_at FROM staging WHERE memory_id = 'b'"), now3);
    assert_true(q_double(f->st, "SELECT activation_strength FROM staging WHERE memory_id = 'b'") ==
                eg_stage_activation(now3, b.created_at));
    assert_true(q_double(f->st, "SELECT importance_score FROM staging WHERE memory_id = 'b'") ==
                0.7);
    assert_true(q_double(f->st, "SELECT activation_strength FROM staging WHERE memory_id = 'a'") ==
                eg_stage_activation(now3, a.created_at));
    eg_record b2 = mk("b", "bravo two", "2026-05-31T10:00:00Z");
    assert_int_equal(eg_store_begin(f->st), 0);
    put(f, &b2, &g, "[]", now4);
    eg_store_rollback(f->st);
    assert_int_equal(q_int(f->st, "SELECT processed_at FROM staging WHERE memory_id = 'a'"), now3);
    /* an unchanged row stages nothing and leaves the clock */
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(put(f, &b, &g, "[]", now4), EG_PUT_UNCHANGED);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(q_int(f->st, "SELECT processed_at FROM staging WHERE memory_id = 'a'"), now3);
    /* nothing is on the wrong side of the window any more */
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_restage(f->st, now2, ws, false, restage_cb, &calls, &visited), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(visited, 0);
    /* all (--rebuild): every row staged whole */
    calls = (restage_calls){.window_start = ws};
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_restage(f->st, now2, ws, true, restage_cb, &calls, &visited), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(visited, 6);
    assert_int_equal(calls.whole, 6);
    assert_string_equal(q_text(f->st, "SELECT memory_type FROM memory WHERE id = 'a'"), "episode");
    assert_string_equal(q_text(f->st, "SELECT status FROM memory WHERE id = 'h'"), "skipped");
}

/* Writes the staging export into a memory buffer (NUL-terminated, caller frees). */
static char *export_staging(fixture *f, eg_export_format fmt)
{
    char *data = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&data, &len);
    assert_non_null(out);
    int rc = eg_store_export_staging(f->st, fmt, out);
    fclose(out);
    if (rc)
        fail_msg("export: %s", eg_error_last()->message);
    return data;
}

#define STAGING_HEADER                                                                             \
    "memory_id,content,created_at,last_accessed_at,access_count,activation_strength,"              \
    "importance_score,memory_type,concepts,status,source_system,processed_at,raw_metadata\n"

static void load_export_rows(fixture *f)
{
    int64_t now = T("2026-05-01T12:00:00Z");
    eg_record b = mk("b", "hello, \"world\"", "2026-05-01T10:00:00Z");
    b.metadata = "{\"k\":\"v\"}";
    b.metadata_len = strlen(b.metadata);
    eg_staged gb = staged(0.5, 0.25, 2, b.created_at, "fragment");
    eg_record a = mk("a", "plain", "2026-04-30T10:00:00.25Z");
    a.has_updated = true;
    a.updated_at = T("2026-04-30T12:00:00Z");
    eg_staged ga = staged(1, 0.5, 3, a.updated_at, "episode");
    eg_record c = mk("c", NULL, "2026-05-01T10:00:00Z");
    eg_staged gc = {.skip = EG_SKIP_NULL_CONTENT, .length_chars = -1};
    eg_record a10 = mk("a10", "multi\nline", "2026-05-01T10:00:00Z");
    eg_staged g10 = staged(0.125, 0.25, 2, a10.created_at, "fragment");
    assert_int_equal(eg_store_begin(f->st), 0);
    put(f, &b, &gb, "[\"hello\",\"world\"]", now);
    put(f, &c, &gc, NULL, now);
    put(f, &a10, &g10, "[]", now);
    put(f, &a, &ga, "[\"plain\"]", now);
    assert_int_equal(eg_store_commit(f->st), 0);
}

static void test_export_staging_csv(void **state)
{
    fixture *f = *state;
    char *empty = export_staging(f, EG_EXPORT_CSV);
    assert_string_equal(empty, STAGING_HEADER);
    free(empty);

    load_export_rows(f);
    char *csv = export_staging(f, EG_EXPORT_CSV);
    const char *want = STAGING_HEADER
        "a,plain,2026-04-30T10:00:00.250000Z,2026-04-30T12:00:00Z,3,0.8566194642279055,0.7,episode,"
        "\"[\"\"plain\"\"]\",staged,test,2026-05-01T12:00:00Z,\n"
        "a10,\"multi\nline\",2026-05-01T10:00:00Z,2026-05-01T10:00:00Z,2,0.9881658194110152,0.9,"
        "fragment,[],"
        "staged,test,2026-05-01T12:00:00Z,\n"
        "b,\"hello, \"\"world\"\"\",2026-05-01T10:00:00Z,2026-05-01T10:00:00Z,2,0.9881658194110152,"
        "0.9,fragment,"
        "\"[\"\"hello\"\",\"\"world\"\"]\",staged,test,2026-05-01T12:00:00Z,\"{\"\"k\"\":\"\"v\"\"}"
        "\"\n"
        "c,,2026-05-01T10:00:00Z,,,,,,,skipped,test,2026-05-01T12:00:00Z,\n";
    if (strcmp(csv, want))
        fail_msg("export:\n%s\nwant:\n%s", csv, want);
    free(csv);
}

static void test_export_staging_jsonl(void **state)
{
    fixture *f = *state;
    load_export_rows(f);
    char *jl = export_staging(f, EG_EXPORT_JSONL);
    const char *want =
        "{\"memory_id\":\"a\",\"content\":\"plain\",\"created_at\":\"2026-04-30T10:00:00.250000Z\","
        "\"last_accessed_at\":\"2026-04-30T12:00:00Z\",\"access_count\":3,"
        "\"activation_strength\":0.8566194642279055,\"importance_score\":0.7,"
        "\"memory_type\":\"episode\","
        "\"concepts\":[\"plain\"],\"status\":\"staged\",\"source_system\":\"test\","
        "\"processed_at\":\"2026-05-01T12:00:00Z\",\"raw_metadata\":null}\n";
    if (strncmp(jl, want, strlen(want)))
        fail_msg("export:\n%s\nwant first line:\n%s", jl, want);
    /* four lines, in memory_id order */
    const char *p = jl;
    int lines = 0;
    for (; (p = strchr(p, '\n')); p++)
        lines++;
    assert_int_equal(lines, 4);
    assert_non_null(strstr(jl, "\n{\"memory_id\":\"a10\",\"content\":\"multi\\nline\""));
    assert_non_null(strstr(jl, "\"raw_metadata\":\"{\\\"k\\\":\\\"v\\\"}\"}\n{\"memory_id\":\"c\","
                               "\"content\":null,"));
    free(jl);
}

/* Writes eg_store_export(what) into a memory buffer (caller frees); NULL with rc set on error. */
static char *export_what(fixture *f, const char *what, eg_export_format fmt, int *rc)
{
    char *data = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&data, &len);
    assert_non_null(out);
    *rc = eg_store_export(f->st, what, fmt, out);
    fclose(out);
    return data;
}

static void exec_sql(fixture *f, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(eg_store_db(f->st), sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err);
}

/* The other exports of SPEC §13: features and ltm by memory_id, concepts by name, concept edges
 * by the pair of names, the smaller name first whatever the ids' order; deleted memories left
 * out; an unknown --what refused. */
static void test_export_what(void **state)
{
    fixture *f = *state;
    int rc;
    load_export_rows(f);
    exec_sql(f, "UPDATE memory SET importance = 0.5, urgency = 0.9, emotional_salience = 0.25, "
                "sentiment = 'negative', task_type = 'task', knowledge_type = 'procedural', "
                "region_hint = 'motor', abstraction_level = 2 WHERE id IN ('a', 'b', 'a10');"
                "UPDATE memory SET deleted_at_source = 1 WHERE id = 'a10';"
                "INSERT INTO concept (concept_id, name, community, memories) VALUES "
                "(1, 'zebra', 'zebra', 2), (2, 'apple', 'zebra', 1), (3, 'Mango', NULL, 1);"
                "INSERT INTO concept_edge VALUES (1, 2, 0.125, 3, 1777636800000000), "
                "(2, 3, 0.1, 1, 1777636800500000);"
                /* consolidated at the checkpoint, never recalled: 0.2/√1 + 0.3·e⁰, times the
                 * damping (1.5 for b, to see it applied); ages 26 h and 2 h at the checkpoint */
                "INSERT INTO ltm_record SELECT rowid, id, CASE id WHEN 'b' THEN 'zebra' WHEN 'a' "
                "THEN 'apple' ELSE 'x' END, CASE id WHEN 'a' THEN 'procedural' ELSE 'declarative' "
                "END, CASE id WHEN 'a' THEN 'motor' ELSE 'association' END, CASE id WHEN 'a' THEN "
                "2 ELSE 3 END, CASE id WHEN 'b' THEN 17 WHEN 'a' THEN 9 ELSE 1 END, CASE id WHEN "
                "'b' THEN 4 WHEN 'a' THEN 2 ELSE 1 END, 0, 1777636800000000, 0, CASE id WHEN 'b' "
                "THEN 1.5 ELSE 1 END, created_at, CASE id WHEN 'a' THEN 'episodic_trace' ELSE "
                "'semantic' END FROM memory WHERE id IN ('a', 'b', 'a10');"
                "INSERT OR REPLACE INTO sim_state VALUES ('checkpoint', 1777636800000000);");
    char *got = export_what(f, "features", EG_EXPORT_CSV, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, "memory_id,importance,urgency,emotional_salience,sentiment,task_type,"
                             "knowledge_type,region_hint,abstraction_level,concepts\n"
                             "a,0.5,0.9,0.25,negative,task,procedural,motor,2,\"[\"\"plain\"\"]\"\n"
                             "b,0.5,0.9,0.25,negative,task,procedural,motor,2,"
                             "\"[\"\"hello\"\",\"\"world\"\"]\"\n");
    free(got);
    got = export_what(f, "features", EG_EXPORT_JSONL, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(got, "{\"memory_id\":\"a\",\"importance\":0.5,\"urgency\":0.9,"
                                "\"emotional_salience\":0.25,\"sentiment\":\"negative\","
                                "\"task_type\":\"task\",\"knowledge_type\":\"procedural\","
                                "\"region_hint\":\"motor\",\"abstraction_level\":2,"
                                "\"concepts\":[\"plain\"]}\n{\"memory_id\":\"b\""));
    free(got);
    got = export_what(f, "ltm", EG_EXPORT_CSV, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, "memory_id,semantic_category,knowledge_type,cortical_region,"
                             "abstraction_level,minicolumn_id,macrocolumn_id,column_rank,"
                             "retrieval_strength,memory_age,consolidation_state\n"
                             "a,apple,procedural,motor,2,9,2,1,0.5,week_old,episodic_trace\n"
                             "b,zebra,declarative,association,3,17,4,1,0.75,recent,semantic\n");
    free(got);
    got = export_what(f, "concepts", EG_EXPORT_CSV, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got,
                        "concept,community,memories\nMango,,1\napple,zebra,1\nzebra,zebra,2\n");
    free(got);
    got = export_what(f, "concepts", EG_EXPORT_JSONL, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, "{\"concept\":\"Mango\",\"community\":null,\"memories\":1}\n"
                             "{\"concept\":\"apple\",\"community\":\"zebra\",\"memories\":1}\n"
                             "{\"concept\":\"zebra\",\"community\":\"zebra\",\"memories\":2}\n");
    free(got);
    got = export_what(f, "edges", EG_EXPORT_CSV, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, "concept_a,concept_b,weight,coactivations,last_at\n"
                             "Mango,apple,0.1,1,2026-05-01T12:00:00.500000Z\n"
                             "apple,zebra,0.125,3,2026-05-01T12:00:00Z\n");
    free(got);
    got = export_what(f, "edges", EG_EXPORT_JSONL, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(got, "{\"concept_a\":\"Mango\",\"concept_b\":\"apple\",\"weight\":0.1,"
                             "\"coactivations\":1,\"last_at\":\"2026-05-01T12:00:00.500000Z\"}\n"
                             "{\"concept_a\":\"apple\",\"concept_b\":\"zebra\",\"weight\":0.125,"
                             "\"coactivations\":3,\"last_at\":\"2026-05-01T12:00:00Z\"}\n");
    free(got);
    /* staging through eg_store_export is the staging export */
    got = export_what(f, "staging", EG_EXPORT_CSV, &rc);
    char *staging = export_staging(f, EG_EXPORT_CSV);
    assert_string_equal(got, staging);
    free(got);
    free(staging);
    got = export_what(f, "memories", EG_EXPORT_CSV, &rc);
    assert_int_equal(rc, EG_EUSAGE);
    assert_int_equal(eg_store_export_check("memories"), EG_EUSAGE);
    assert_non_null(strstr(eg_error_last()->message, "staging, features, ltm, concepts or edges"));
    assert_int_equal(eg_store_export_check("edges"), 0);
    free(got);
}

/* The long-term records' column rank, computed when read (migration 16, docs/adr/0012): the
 * `ltm` view's window and the trace's count of the records above one give the rank of SPEC
 * §7.4 — within (category, region), strongest first, then by id — with many equal strengths,
 * ids sharing their first bytes, ids shorter than 8 bytes, -0 beside 0 and records without a
 * category; and both give the same retrieval strength. */
typedef struct rank_rec {
    char id[32];
    int cat; /* -1: none */
    int region;
    double strength;
} rank_rec;

static int rank_order(const void *a, const void *b)
{
    const rank_rec *x = a, *y = b;
    if (x->cat != y->cat)
        return x->cat < y->cat ? -1 : 1;
    if (x->region != y->region)
        return x->region - y->region;
    if (x->strength != y->strength)
        return x->strength > y->strength ? -1 : 1;
    return strcmp(x->id, y->id);
}

static void test_ltm_rank_on_read(void **state)
{
    fixture *f = *state;
    static const char *const cats[] = {"garden", "pond", "maya"};
    static const char *const regions[] = {"association", "motor", "sensory", "prefrontal"};
    static const double strengths[] = {0.5, 0.25, 0.0, -0.0, 0.75, 0.5};
    enum { N = 300 };
    rank_rec *r = calloc(N, sizeof *r);
    assert_non_null(r);
    int64_t now = T("2026-05-01T12:00:00Z");
    assert_int_equal(eg_store_begin(f->st), 0);
    sqlite3_stmt *rec = NULL;
    sqlite3 *db = eg_store_db(f->st);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO ltm_record SELECT rowid, id, ?2, "
                                        "'declarative', ?3, 3, 1, 1, ?4, ?5, ?6, 1, created_at, "
                                        "'semantic' FROM memory WHERE id = ?1",
                                        -1, &rec, NULL),
                     SQLITE_OK);
    for (int i = 0; i < N; i++) {
        if (i % 7 == 0)
            snprintf(r[i].id, sizeof r[i].id, "m%d", i); /* shorter than 8 bytes */
        else
            snprintf(r[i].id, sizeof r[i].id, "memory-%05d", (i * 37) % 1000 + i * 1000);
        r[i].cat = i % 13 == 0 ? -1 : (i / 6) % 3; /* a column holds all six strengths */
        r[i].region = (i / 18) % 4;
        r[i].strength = strengths[i % 6];
        eg_record m = mk(r[i].id, "text", "2026-04-20T10:00:00Z");
        eg_staged g = staged(0.5, 0.5, 0, m.created_at, "fragment");
        put(f, &m, &g, "[]", now);
        sqlite3_bind_text(rec, 1, r[i].id, -1, SQLITE_STATIC);
        if (r[i].cat < 0)
            sqlite3_bind_null(rec, 2);
        else
            sqlite3_bind_text(rec, 2, cats[r[i].cat], -1, SQLITE_STATIC);
        sqlite3_bind_text(rec, 3, regions[r[i].region], -1, SQLITE_STATIC);
        sqlite3_bind_double(rec, 4, r[i].strength);
        sqlite3_bind_int64(rec, 5, now - (i % 40) * EG_USEC_PER_DAY);
        sqlite3_bind_int(rec, 6, i % 5);
        assert_int_equal(sqlite3_step(rec), SQLITE_DONE);
        sqlite3_reset(rec);
    }
    sqlite3_finalize(rec);
    exec_sql(f, "INSERT OR REPLACE INTO sim_state VALUES ('checkpoint', 1777636800000000)");
    assert_int_equal(eg_store_commit(f->st), 0);
    /* the reference: categories by name (NULL first, as SQLite sorts them), then region */
    rank_rec *want = malloc(N * sizeof *want);
    assert_non_null(want);
    memcpy(want, r, N * sizeof *want);
    qsort(want, N, sizeof *want, rank_order);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT l.column_rank, l.retrieval_strength FROM ltm l "
                                        "JOIN memory m ON m.rowid = l.memory_rowid WHERE m.id = ?1",
                                        -1, &s, NULL),
                     SQLITE_OK);
    int rank = 0;
    for (int k = 0; k < N; k++) {
        bool first =
            k == 0 || want[k - 1].cat != want[k].cat || want[k - 1].region != want[k].region;
        rank = first ? 1 : rank + 1;
        sqlite3_bind_text(s, 1, want[k].id, -1, SQLITE_STATIC);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        if (sqlite3_column_int(s, 0) != rank)
            fail_msg("%s: the view ranks it %d, SPEC §7.4 %d", want[k].id, sqlite3_column_int(s, 0),
                     rank);
        double rs = sqlite3_column_double(s, 1);
        sqlite3_reset(s);
        json_t *o = NULL;
        assert_int_equal(eg_store_trace_facts(f->st, want[k].id, &o), 0);
        assert_true(sqlite3_get_autocommit(db)); /* its read transaction is over */
        json_t *l = json_object_get(o, "ltm");
        if (json_integer_value(json_object_get(l, "column_rank")) != rank)
            fail_msg("%s: the trace ranks it %lld, SPEC §7.4 %d", want[k].id,
                     (long long)json_integer_value(json_object_get(l, "column_rank")), rank);
        assert_true(json_real_value(json_object_get(l, "retrieval_strength")) == rs);
        json_decref(o);
    }
    sqlite3_finalize(s);
    free(want);
    free(r);
}

/* Scores like 0.9 and 0.7 (the reference's importance buckets) are written as the reference
 * writes them, not as 0.90000000000000002; an activation of exactly 1 as 1. */
static void test_export_shortest_floats(void **state)
{
    fixture *f = *state;
    int64_t now = T("2026-05-01T12:00:00Z");
    eg_record r = mk("x", "text", "2026-05-01T12:00:00Z");
    eg_staged g = staged(1, 0.9, 2, r.created_at, "fragment");
    assert_int_equal(eg_store_begin(f->st), 0);
    put(f, &r, &g, "[]", now);
    assert_int_equal(eg_store_commit(f->st), 0);
    char *csv = export_staging(f, EG_EXPORT_CSV);
    const char *want = STAGING_HEADER "x,text,2026-05-01T12:00:00Z,2026-05-01T12:00:00Z,2,1,0.9,"
                                      "fragment,[],staged,test,2026-05-01T12:00:00Z,\n";
    if (strcmp(csv, want))
        fail_msg("export:\n%s\nwant:\n%s", csv, want);
    free(csv);
}

/* In the CSV export, empty content must not read back as NULL: the importer (source/file.h)
 * takes an empty unquoted field as NULL and "" as the empty string. */
static void test_export_empty_vs_null(void **state)
{
    fixture *f = *state;
    int64_t now = T("2026-05-01T12:00:00Z");
    eg_record e = mk("e", "", "2026-05-01T10:00:00Z");
    eg_staged g = {.skip = EG_SKIP_EMPTY_CONTENT, .length_chars = 0};
    assert_int_equal(eg_store_begin(f->st), 0);
    put(f, &e, &g, NULL, now);
    assert_int_equal(eg_store_commit(f->st), 0);
    char *csv = export_staging(f, EG_EXPORT_CSV);
    const char *want =
        STAGING_HEADER "e,\"\",2026-05-01T10:00:00Z,,,,,,,skipped,test,2026-05-01T12:00:00Z,\n";
    if (strcmp(csv, want))
        fail_msg("export:\n%s\nwant:\n%s", csv, want);
    free(csv);
}

static void test_mark_deleted(void **state)
{
    fixture *f = *state;
    int64_t now = T("2026-05-01T12:00:00Z"), later = T("2026-05-02T12:00:00Z"), n = -1;
    eg_staged g = staged(0.5, 0.9, 2, now, "fragment");
    static const char *const ids[] = {"g", "a", "b", "c", "d", "e", "f"};
    assert_int_equal(eg_store_begin(f->st), 0);
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        eg_record r = mk(ids[i], "text", "2026-05-01T10:00:00Z");
        put(f, &r, &g, "[]", now);
    }
    eg_record x = mk("x", "other source", "2026-05-01T10:00:00Z");
    assert_int_equal(
        eg_store_memory_put(f->st, &x, &g, "[]", "elsewhere", NULL, now, &(eg_put_result){0}), 0);
    assert_int_equal(eg_store_commit(f->st), 0);

    eg_idset *seen = NULL;
    assert_int_equal(eg_idset_new(&seen), 0);
    assert_int_equal(eg_idset_add(seen, "b", 1), 0);
    assert_int_equal(eg_idset_add(seen, "d", 1), 0);
    assert_int_equal(eg_idset_add(seen, "zzz", 3), 0); /* seen but unknown: harmless */
    eg_buf ex;
    eg_buf_init(&ex, 0);
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_mark_deleted(f->st, "test", NULL, seen, later, &n, &ex), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(n, 5);
    assert_string_equal(ex.data, "a, c, e, f, g");
    assert_string_equal(q_text(f->st, "SELECT group_concat(id, ',') FROM (SELECT id FROM memory "
                                      "WHERE deleted_at_source IS NOT NULL ORDER BY id)"),
                        "a,c,e,f,g");
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM memory WHERE deleted_at_source = %lld",
             (long long)later);
    assert_int_equal(q_int(f->st, sql), 5);
    /* other source systems are not touched */
    assert_int_equal(q_int(f->st, "SELECT deleted_at_source FROM memory WHERE id = 'x'"), SQL_NULL);
    /* deleted rows leave the export */
    char *csv = export_staging(f, EG_EXPORT_CSV);
    assert_null(strstr(csv, "\na,"));
    assert_non_null(strstr(csv, "\nb,"));
    assert_non_null(strstr(csv, "\nd,"));
    free(csv);

    /* already marked: not counted again; more than 5 new ones: 5 examples */
    assert_int_equal(eg_store_begin(f->st), 0);
    for (int i = 0; i < 7; i++) {
        char id[8];
        snprintf(id, sizeof id, "n%d", i);
        eg_record r = mk(id, "text", "2026-05-01T10:00:00Z");
        put(f, &r, &g, "[]", now);
    }
    eg_buf_reset(&ex);
    assert_int_equal(eg_store_mark_deleted(f->st, "test", NULL, seen, later, &n, &ex), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(n, 7);
    assert_string_equal(ex.data, "n0, n1, n2, n3, n4");
    /* examples may be NULL */
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_mark_deleted(f->st, "elsewhere", NULL, seen, later, &n, NULL), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(n, 1);
    eg_buf_free(&ex);
    eg_idset_free(seen);
}

/* A memory marked deleted at the source that shows up again unchanged (restored from a backup,
 * or missed by one scan) is no longer deleted. */
static void test_deleted_row_comes_back(void **state)
{
    fixture *f = *state;
    int64_t now = T("2026-05-01T12:00:00Z"), n;
    eg_staged g = staged(0.5, 0.9, 2, now, "fragment");
    eg_record r = mk("back", "text", "2026-05-01T10:00:00Z");
    assert_int_equal(eg_store_begin(f->st), 0);
    put(f, &r, &g, "[]", now);
    eg_idset *seen = NULL;
    assert_int_equal(eg_idset_new(&seen), 0);
    assert_int_equal(eg_store_mark_deleted(f->st, "test", NULL, seen, now, &n, NULL), 0);
    assert_int_equal(n, 1);
    assert_int_equal(eg_store_commit(f->st), 0);
    eg_idset_free(seen);

    assert_int_equal(eg_store_begin(f->st), 0);
    put(f, &r, &g, "[]", now + 1);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(q_int(f->st, "SELECT deleted_at_source FROM memory WHERE id = 'back'"),
                     SQL_NULL);
}

/* Regression: `ingest --full` of one PostgreSQL table marked every memory read from another
 * table of the same store as deleted, since both have source_system "postgresql". Deletions are
 * scoped by the source key; rows stored without one (before migration 14) fall back to the
 * source system, and get their key when read again unchanged. */
static void test_mark_deleted_by_source_key(void **state)
{
    fixture *f = *state;
    int64_t now = T("2026-05-01T12:00:00Z"), later = T("2026-05-02T12:00:00Z"), n = -1;
    eg_staged g = staged(0.5, 0.9, 2, now, "fragment");
    eg_record a = mk("a", "in table one", "2026-05-01T10:00:00Z");
    eg_record b = mk("b", "gone from table one", "2026-05-01T10:00:00Z");
    eg_record c = mk("c", "in table two", "2026-05-01T10:00:00Z");
    eg_record d = mk("d", "stored before source keys", "2026-05-01T10:00:00Z");
    eg_put_result res;
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_memory_put(f->st, &a, &g, "[]", "pg", "t1", now, &res), 0);
    assert_int_equal(eg_store_memory_put(f->st, &b, &g, "[]", "pg", "t1", now, &res), 0);
    assert_int_equal(eg_store_memory_put(f->st, &c, &g, "[]", "pg", "t2", now, &res), 0);
    assert_int_equal(eg_store_memory_put(f->st, &d, &g, "[]", "pg", NULL, now, &res), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM memory WHERE source_key IS NULL"), 1);

    eg_idset *seen = NULL;
    assert_int_equal(eg_idset_new(&seen), 0);
    assert_int_equal(eg_idset_add(seen, "a", 1), 0);
    eg_buf ex;
    eg_buf_init(&ex, 0);
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_mark_deleted(f->st, "pg", "t1", seen, later, &n, &ex), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ex.data, "b, d"); /* d: no key yet, taken by its source system */
    assert_int_equal(q_int(f->st, "SELECT deleted_at_source FROM memory WHERE id = 'c'"), SQL_NULL);

    /* d read again unchanged from table two: back, and keyed to it */
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_memory_put(f->st, &d, &g, "[]", "pg", "t2", later, &res), 0);
    assert_int_equal(res, EG_PUT_UNCHANGED);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_string_equal(q_text(f->st, "SELECT source_key FROM memory WHERE id = 'd'"), "t2");
    assert_int_equal(q_int(f->st, "SELECT deleted_at_source FROM memory WHERE id = 'd'"), SQL_NULL);
    /* a --full of table one no longer touches it */
    eg_buf_reset(&ex);
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_mark_deleted(f->st, "pg", "t1", seen, later, &n, &ex), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(n, 0);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM memory WHERE deleted_at_source IS NULL"),
                     3);
    eg_buf_free(&ex);
    eg_idset_free(seen);
}

static void test_rollback_leaves_nothing(void **state)
{
    fixture *f = *state;
    int64_t now = T("2026-05-01T12:00:00Z"), n, at;
    bool found;
    eg_staged g = staged(0.5, 0.9, 2, now, "fragment");
    eg_record r = mk("r", "rolled back words", "2026-05-01T10:00:00Z");
    int changed;
    assert_int_equal(eg_store_begin(f->st), 0);
    put(f, &r, &g, "[]", now);
    assert_int_equal(eg_store_source_put(f->st, &r, &changed), 0);
    assert_int_equal(eg_store_fts_sync(f->st, &n), 0);
    assert_int_equal(eg_store_watermark_set(f->st, "src", 123, 1), 0);
    assert_int_equal(eg_store_quarantine(f->st, now, "src", "ref", "f", "why", NULL, 0), 0);
    eg_store_rollback(f->st);
    eg_store_rollback(f->st); /* outside a transaction: harmless */
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM memory"), 0);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM memories"), 0);
    assert_int_equal(q_int(f->st, "SELECT count(*) FROM quarantine"), 0);
    assert_int_equal(fts_count(f->st, "rolled"), 0);
    assert_int_equal(eg_store_watermark_get(f->st, "src", &at, &found), 0);
    assert_false(found);
    /* and the store works normally afterwards, FTS included */
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(put(f, &r, &g, "[]", now), EG_PUT_INSERTED);
    assert_int_equal(eg_store_fts_sync(f->st, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(fts_count(f->st, "rolled"), 1);
    fts_integrity(f->st);
    /* nothing is written outside begin/commit... */
    assert_int_equal(eg_store_commit(f->st), EG_ESTORE); /* no transaction is open */
}

static void test_stats(void **state)
{
    fixture *f = *state;
    load_export_rows(f);
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_watermark_set(f->st, "src", T("2026-05-01T10:00:00Z"), 1), 0);
    assert_int_equal(eg_store_quarantine(f->st, 1, "src", "ref", "f", "why", NULL, 0), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    json_t *o = NULL;
    assert_int_equal(eg_store_stats(f->st, &o), 0);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "schema_version")),
                     eg__store_latest_version());
    json_t *mem = json_object_get(o, "memories");
    assert_int_equal(json_integer_value(json_object_get(mem, "total")), 4);
    json_t *by_status = json_object_get(mem, "by_status");
    assert_int_equal(json_integer_value(json_object_get(by_status, "staged")), 3);
    assert_int_equal(json_integer_value(json_object_get(by_status, "skipped")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(mem, "skip_reasons"), "null_content")),
        1);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(mem, "by_type"), "fragment")), 2);
    assert_int_equal(json_integer_value(json_object_get(o, "quarantined")), 1);
    json_t *wm = json_array_get(json_object_get(o, "watermarks"), 0);
    assert_string_equal(json_string_value(json_object_get(wm, "source")), "src");
    assert_string_equal(json_string_value(json_object_get(wm, "watermark")),
                        "2026-05-01T10:00:00Z");
    json_decref(o);
}

/* Names the first statement of the store's connection that is still running (stepped to a row,
 * not reset), or returns NULL. */
static const char *active_statement(eg_store *st)
{
    for (sqlite3_stmt *s = sqlite3_next_stmt(eg_store_db(st), NULL); s;
         s = sqlite3_next_stmt(eg_store_db(st), s))
        if (sqlite3_stmt_busy(s))
            return sqlite3_sql(s);
    return NULL;
}

/* After a commit no cached statement is left mid-step: one that is keeps a read transaction open
 * on the WAL (checkpoints cannot reset it, so it grows in a long-lived process) and blocks schema
 * changes such as bulk mode's DROP INDEX. */
static void test_no_statement_left_active(void **state)
{
    fixture *f = *state;
    int64_t now = T("2026-05-01T12:00:00Z");
    int changed;
    eg_staged g = staged(0.5, 0.9, 2, now, "fragment");
    eg_record r = mk("a", "alpha", "2026-05-01T10:00:00Z");
    assert_int_equal(eg_store_begin(f->st), 0);
    put(f, &r, &g, "[]", now);
    assert_int_equal(eg_store_source_put(f->st, &r, &changed), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_null(active_statement(f->st));
    /* the unchanged paths return early */
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(put(f, &r, &g, "[]", now), EG_PUT_UNCHANGED);
    assert_int_equal(eg_store_source_put(f->st, &r, &changed), 0);
    assert_int_equal(changed, 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    const char *sql = active_statement(f->st);
    if (sql)
        fail_msg("still active after commit: %s", sql);
}

/* stats' fts_indexed counts documents in the index, not rows of the memory table (a COUNT(*) on
 * an external-content FTS5 table reads the content table). */
static void test_stats_fts_indexed(void **state)
{
    fixture *f = *state;
    int64_t n;
    json_t *o = NULL;
    load_export_rows(f); /* 4 rows, 3 with content, not yet synced */
    assert_int_equal(eg_store_stats(f->st, &o), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "fts_indexed")), 0);
    json_decref(o);
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_store_fts_sync(f->st, &n), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    assert_int_equal(n, 3);
    assert_int_equal(eg_store_stats(f->st, &o), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "fts_indexed")), 3);
    json_decref(o);
}

/* A write that finds no room says where SQLite looked for it: the store's folder and SQLite's
 * temporary folder, which may be another file system (regression: "database or disk is full"
 * alone named the store, and a full /tmp or $SQLITE_TMPDIR failed `engram init` with a message
 * that sent the operator to the store's disk, which had room). The store's page limit plays the
 * full disk here. */
static void test_full_disk_says_where(void **state)
{
    fixture *f = *state;
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s/tmp", f->dir);
    assert_int_equal(mkdir(tmp, 0700), 0);
    const char *was = getenv("SQLITE_TMPDIR");
    char *saved = was ? strdup(was) : NULL;
    setenv("SQLITE_TMPDIR", tmp, 1);
    assert_int_equal(eg_store_exec(f->st, "PRAGMA max_page_count = 1"), 0);
    static char big[200000];
    memset(big, 'x', sizeof big - 1);
    eg_record r = mk("big", big, "2026-05-01T10:00:00Z");
    int changed;
    assert_int_equal(eg_store_begin(f->st), 0);
    int rc = eg_store_source_put(f->st, &r, &changed);
    eg_store_rollback(f->st);
    const eg_error *e = eg_error_last();
    assert_int_equal(rc, EG_ESTORE);
    assert_non_null(strstr(e->message, "database or disk is full"));
    assert_non_null(strstr(e->detail, f->dir));
    assert_non_null(strstr(e->detail, tmp));
    assert_non_null(strstr(e->detail, "free now"));
    assert_non_null(strstr(e->hint, "free space"));
    /* and through eg_store_exec */
    rc = eg_store_exec(f->st, "CREATE TABLE filler AS SELECT randomblob(200000) AS b");
    assert_int_equal(rc, EG_ESTORE);
    assert_non_null(strstr(eg_error_last()->detail, tmp));
    if (saved)
        setenv("SQLITE_TMPDIR", saved, 1);
    else
        unsetenv("SQLITE_TMPDIR");
    free(saved);
}

/* A --store whose folder does not exist, or that names a folder: SQLite says only "unable to
 * open database file"; the detail says which (regression: `engram init --store typo/x.db`
 * and `--store some-folder` gave no clue). */
static void test_open_bad_path_says_why(void **state)
{
    fixture *f = *state;
    char p[400];
    eg_store *st = NULL;
    snprintf(p, sizeof p, "%s/no-such-folder/x.db", f->dir);
    assert_int_equal(eg_store_open(&st, p, EG_STORE_CREATE), EG_ESTORE);
    assert_null(st);
    assert_non_null(strstr(eg_error_last()->message, "could not open store"));
    assert_non_null(strstr(eg_error_last()->detail, "no-such-folder does not exist"));
    assert_non_null(strstr(eg_error_last()->hint, "create it"));
    assert_int_equal(eg_store_open(&st, f->dir, EG_STORE_CREATE), EG_ESTORE);
    assert_null(st);
    assert_non_null(strstr(eg_error_last()->detail, "is a folder, not a store file"));
    /* a file that is not a SQLite database: said so, not "could not switch to WAL mode" */
    snprintf(p, sizeof p, "%s/garbage.db", f->dir);
    FILE *g = fopen(p, "wb");
    assert_non_null(g);
    for (int i = 0; i < 8192; i++)
        fputc((i * 131 + 7) & 0xff, g);
    fclose(g);
    assert_int_equal(eg_store_open(&st, p, EG_STORE_CREATE), EG_ESTORE);
    assert_null(st);
    assert_non_null(strstr(eg_error_last()->message, "is not a SQLite database, or is damaged"));
    assert_null(strstr(eg_error_last()->message, "WAL"));
    assert_non_null(strstr(eg_error_last()->hint, "restore a backup"));
}

#define T_(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T_(test_create_schema_and_wal),
        T_(test_open_newer),
        T_(test_open_missing),
        T_(test_memory_put_results),
        T_(test_fts_sync),
        T_(test_fts_two_updates_before_sync),
        T_(test_watermark_embedded_writes),
        T_(test_watermark),
        T_(test_quarantine_dedup),
        T_(test_quarantine_dedup_null_field),
        T_(test_runs),
        T_(test_source_put),
        T_(test_bulk_mode),
        T_(test_restage),
        T_(test_export_staging_csv),
        T_(test_export_staging_jsonl),
        T_(test_export_shortest_floats),
        T_(test_export_what),
        T_(test_ltm_rank_on_read),
        T_(test_export_empty_vs_null),
        T_(test_mark_deleted),
        T_(test_deleted_row_comes_back),
        T_(test_mark_deleted_by_source_key),
        T_(test_rollback_leaves_nothing),
        T_(test_stats),
        T_(test_stats_fts_indexed),
        T_(test_no_statement_left_active),
        T_(test_full_disk_says_where),
        T_(test_open_bad_path_says_why),
    };
    return cmocka_run_group_tests(tests, 0, NULL);
}
