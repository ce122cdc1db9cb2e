/*
 * test_source_sqlite.c — unit tests of source/sqlite.c's incremental scan (a "sqlite:PATH"
 * source opened through eg_source_open): the SQL prefilter that skips rows certainly older than
 * since changes nothing for rows with well-formed timestamps. Rows cover ISO text with 'Z', with
 * +05:00, -08:00 and -15:59 offsets just before and just after since in UTC (a -08:00 row whose
 * local date is the day before since's), a space separator, date-only text, 24:00 and a leap
 * second, Unix seconds as INTEGER and REAL on both sides, BLOB and blank-padded text, created old
 * + updated new and the reverse, one or both NULL, garbage ('yesterday', '1/2/2026', digits in
 * text), Unix seconds at and past the ends of years 1-9999 (rejected by every scan), and invalid
 * UTF-8. The delivered ids and the rejected (id, field) pairs are checked
 * against fixed lists, and against a full scan (since = INT64_MIN) with the delivery rule applied
 * here (key = updated_at if present else created_at; delivered iff key >= since or created_at >=
 * since, or when both are NULL), for many since
 * values, for timestamp columns of every declared affinity and of other collations (one the
 * reading connection does not know), and for configured table and column names that need
 * quoting. The one accepted difference: rows dated more than a day before since are no longer
 * validated, so their bad UTF-8 or trailing garbage is no longer reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engram/config.h"
#include "engram/error.h"
#include "source/source.h"
#include "util/timeutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S INT64_C(1773111600) /* 2026-03-10T03:00:00Z, the since of the fixed lists */

/* ---- the source file ---- */

/* created_at and updated_at are SQL expressions (NULL, text, numbers, blobs); content is one. */
typedef struct row {
    const char *id, *content, *created, *updated;
} row;

static const row rows[] = {
    {"iso-z-old", "'a'", "'2026-01-01T00:00:00Z'", "NULL"},
    {"iso-z-before", "'a'", "'2026-03-10T02:59:59Z'", "NULL"},
    {"iso-z-frac-before", "'a'", "'2026-03-10T02:59:59.999999Z'", "NULL"},
    {"iso-z-at", "'a'", "'2026-03-10T03:00:00Z'", "NULL"},
    {"iso-leap-second", "'a'", "'2026-03-10T02:59:60Z'", "NULL"}, /* = 03:00:00Z */
    {"iso-day-before-old", "'a'", "'2026-03-09T10:00:00Z'", "NULL"},
    {"plus5-before", "'a'", "'2026-03-10T07:59:59+05:00'", "NULL"},
    {"plus5-after", "'a'", "'2026-03-10T08:00:00+05:00'", "NULL"},
    {"minus8-before", "'a'", "'2026-03-09T18:59:59-08:00'", "NULL"},
    {"minus8-after", "'a'", "'2026-03-09T19:00:00-08:00'", "NULL"}, /* local date before since's */
    {"minus1559-after", "'a'", "'2026-03-09T11:01:00-15:59'", "NULL"},
    {"minus8-24h", "'a'", "'2026-03-09T24:00:00-08:00'", "NULL"},
    {"space-before", "'a'", "'2026-03-10 02:59:59'", "NULL"},
    {"space-after", "'a'", "'2026-03-10 03:00:01+00'", "NULL"},
    {"date-only-old", "'a'", "'2026-03-09'", "NULL"},
    {"date-only-same-day", "'a'", "'2026-03-10'", "NULL"}, /* 00:00Z, before 03:00Z */
    {"date-only-new", "'a'", "'2026-03-11'", "NULL"},
    {"padded-old", "'a'", "' 2020-01-01T00:00:00Z'", "NULL"},
    {"padded-new", "'a'", "' 2026-03-11T00:00:00Z '", "NULL"},
    {"blob-old", "'a'", "CAST('2020-01-01T00:00:00Z' AS BLOB)", "NULL"},
    {"blob-new", "'a'", "CAST('2026-03-11T00:00:00Z' AS BLOB)", "NULL"},
    {"unix-int-old", "'a'", "1773111600 - 10 * 86400", "NULL"},
    {"unix-int-before", "'a'", "1773111599", "NULL"},
    {"unix-int-at", "'a'", "1773111600", "NULL"},
    {"unix-real-old", "'a'", "1773111600.5 - 3 * 86400", "NULL"},
    {"unix-real-before", "'a'", "1773111599.5", "NULL"},
    {"unix-real-after", "'a'", "1773111600.25", "NULL"},
    /* Unix seconds are times within years 1-9999 only (the JSONL importer's rule): the others
     * are rejected by every scan, incremental or full, even far below since (regression: the
     * prefilter skipped them; INT64_MAX * 1e6 overflowed) */
    {"unix-year-1", "'a'", "-62135596800", "NULL"},
    {"unix-year-9999", "'a'", "253402300799", "NULL"},
    {"unix-real-year-9999", "'a'", "253402300799.5", "NULL"},
    {"unix-before-year-1", "'a'", "-62135596801", "NULL"},
    {"unix-after-year-9999", "'a'", "253402300800", "NULL"},
    {"unix-millis", "'a'", "1773111600000", "NULL"},
    {"unix-int64-max", "'a'", "9223372036854775807", "NULL"},
    {"unix-int64-min", "'a'", "-9223372036854775807 - 1", "NULL"},
    {"unix-real-huge", "'a'", "1e300", "NULL"},
    {"unix-real-tiny", "'a'", "-1e300", "NULL"},
    {"unix-updated-out-of-range", "'a'", "'2026-03-11T00:00:00Z'", "-1e18"},
    {"created-old-updated-new", "'a'", "'2025-01-01T00:00:00Z'", "'2026-03-10T04:00:00Z'"},
    {"created-old-updated-new-int", "'a'", "'2025-01-01T00:00:00Z'", "1773111601"},
    /* updated before created (clock skew): delivered while created_at >= since (regression:
     * never read once the watermark had passed its updated_at) */
    {"created-new-updated-old", "'a'", "'2026-03-10T04:00:00Z'", "'2026-01-01T00:00:00Z'"},
    {"created-new-updated-null", "'a'", "'2026-03-11T00:00:00Z'", "NULL"},
    {"created-null-updated-old", "'a'", "NULL", "'2020-01-01T00:00:00Z'"},
    {"created-null-updated-new", "'a'", "NULL", "1773111600"},
    {"both-null", "'a'", "NULL", "NULL"},
    {"garbage-yesterday", "'a'", "'yesterday'", "NULL"},
    {"garbage-slash", "'a'", "'1/2/2026'", "NULL"},
    {"garbage-digits-text", "'a'", "'1000'", "NULL"},
    {"garbage-created-updated-old", "'a'", "'yesterday'", "'2020-01-01T00:00:00Z'"},
    {"garbage-updated", "'a'", "'2020-01-01T00:00:00Z'", "'1/2/2026'"},
    {"garbage-after-new-date", "'a'", "'2026-03-11garbage'", "NULL"},
    {"garbage-after-old-date", "'a'", "'2020-01-01garbage'", "NULL"},
    {"bad-utf8-new", "CAST(X'C328' AS TEXT)", "'2026-03-11T00:00:00Z'", "NULL"},
    {"bad-utf8-old", "CAST(X'C328' AS TEXT)", "'2020-01-01T00:00:00Z'", "NULL"},
    {"null-content-new", "NULL", "'2026-03-11T00:00:00Z'", "NULL"},
};
#define NROWS (sizeof rows / sizeof *rows)

/* at since = S */
static const char *const want_delivered =
    "blob-new,both-null,created-new-updated-null,created-new-updated-old,created-null-updated-new,"
    "created-old-updated-new,"
    "created-old-updated-new-int,date-only-new,iso-leap-second,iso-z-at,minus1559-after,"
    "minus8-24h,minus8-after,null-content-new,padded-new,plus5-after,space-after,unix-int-at,"
    "unix-real-after,unix-real-year-9999,unix-year-9999";
static const char *const want_rejected =
    "bad-utf8-new:content,garbage-after-new-date:created_at,garbage-created-updated-old:created_at,"
    "garbage-digits-text:created_at,garbage-slash:created_at,garbage-updated:updated_at,"
    "garbage-yesterday:created_at,unix-after-year-9999:created_at,unix-before-year-1:created_at,"
    "unix-int64-max:created_at,unix-int64-min:created_at,unix-millis:created_at,"
    "unix-real-huge:created_at,unix-real-tiny:created_at,unix-updated-out-of-range:updated_at";
/* the full scan also reports these two, dated long before S (the accepted difference) */
static const char *const want_rejected_full_only = "bad-utf8-old:content,garbage-after-old-date:"
                                                   "created_at";

static char path[64];
static eg_config cfg;

static int cmp_bytes(void *ud, int na, const void *a, int nb, const void *b)
{
    (void)ud;
    int c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    return c ? c : na - nb;
}

/* The table with the timestamp columns declared `decl` (a type, a collation, or nothing). */
static void make_source(const char *table, const char *c_created, const char *c_updated,
                        const char *decl)
{
    sqlite3 *db = NULL;
    char sql[512];
    char *tq = sqlite3_mprintf("\"%w\"", table), *cq = sqlite3_mprintf("\"%w\"", c_created),
         *uq = sqlite3_mprintf("\"%w\"", c_updated);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    /* a collation the source's connection does not know */
    assert_int_equal(sqlite3_create_collation(db, "test_private", SQLITE_UTF8, NULL, cmp_bytes),
                     SQLITE_OK);
    snprintf(sql, sizeof sql,
             "DROP TABLE IF EXISTS %s; CREATE TABLE %s(id TEXT PRIMARY KEY, content TEXT, %s %s, "
             "%s %s, metadata TEXT)",
             tq, tq, cq, decl, uq, decl);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    for (size_t i = 0; i < NROWS; i++) {
        snprintf(sql, sizeof sql, "INSERT INTO %s VALUES ('%s', %s, %s, %s, NULL)", tq, rows[i].id,
                 rows[i].content, rows[i].created, rows[i].updated);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    }
    sqlite3_close(db);
    sqlite3_free(tq);
    sqlite3_free(cq);
    sqlite3_free(uq);
}

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/test_source_sqlite_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    char src[128];
    snprintf(src, sizeof src, "sqlite:%s", path);
    setenv("ENGRAM_CONFIG", "/dev/null", 1);
    unsetenv("ENGRAM_PROFILE");
    eg_config_args args = {.source = src};
    return eg_config_load(&cfg, &args);
}

static int teardown(void **state)
{
    (void)state;
    eg_config_free(&cfg);
    unlink(path);
    return 0;
}

/* ---- scanning ---- */

typedef struct got_row {
    char id[64];
    int64_t created, updated;
    bool has_created, has_updated;
} got_row;

typedef struct got {
    got_row d[NROWS];
    size_t nd;
    char r[NROWS][96];
    char why[NROWS][96]; /* each reject's reason */
    size_t nr;
} got;

static int on_batch(const eg_batch *b, void *ud)
{
    got *g = ud;
    for (size_t i = 0; i < b->n; i++) {
        const eg_record *r = &b->rows[i];
        assert_true(g->nd < NROWS);
        got_row *o = &g->d[g->nd++];
        snprintf(o->id, sizeof o->id, "%.*s", (int)r->id_len, r->id);
        o->created = r->created_at;
        o->updated = r->updated_at;
        o->has_created = r->has_created;
        o->has_updated = r->has_updated;
    }
    return 0;
}

static int on_reject(const char *id, const char *field, const char *reason, void *ud)
{
    got *g = ud;
    assert_true(g->nr < NROWS);
    snprintf(g->why[g->nr], sizeof g->why[0], "%s", reason);
    snprintf(g->r[g->nr++], sizeof g->r[0], "%s:%s", id, field);
    return 0;
}

static void scan(int64_t since, got *g)
{
    eg_source *src = NULL;
    memset(g, 0, sizeof *g);
    if (eg_source_open(&src, &cfg))
        fail_msg("open: %s", eg_error_last()->message);
    assert_string_equal(eg_source_kind(src), "sqlite");
    int rc = eg_source_scan(src, since, on_batch, on_reject, g);
    eg_source_close(src);
    if (rc)
        fail_msg("scan since=%lld: %s", (long long)since, eg_error_last()->message);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The strings, sorted and comma-joined, into out. */
static void join(const char **v, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    qsort(v, n, sizeof *v, cmp_str);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(out + len, cap - len, "%s%s", i ? "," : "", v[i]);
        assert_true(k >= 0 && (size_t)k < cap - len);
        len += (size_t)k;
    }
}

/* the delivery rule of source.h, applied to a full scan's rows */
static bool rule(const got_row *r, int64_t since)
{
    if (!r->has_created && !r->has_updated)
        return true; /* no key: every incremental read delivers it, as PostgreSQL's does */
    return (r->has_updated ? r->updated : r->created) >= since ||
           (r->has_created && r->created >= since);
}

static void delivered(const got *g, int64_t since, bool apply_rule, char *out, size_t cap)
{
    const char *v[NROWS];
    size_t n = 0;
    for (size_t i = 0; i < g->nd; i++)
        if (!apply_rule || rule(&g->d[i], since))
            v[n++] = g->d[i].id;
    join(v, n, out, cap);
}

static void rejected(const got *g, char *out, size_t cap)
{
    const char *v[NROWS];
    for (size_t i = 0; i < g->nr; i++)
        v[i] = g->r[i];
    join(v, g->nr, out, cap);
}

/* The accepted difference: an invalid row whose timestamp text starts with a date at least two
 * days before since's (so more than a day before since) is no longer validated, so no longer
 * reported. These are the invalid rows of the table with a date-shaped timestamp. */
static bool may_go_unreported(const char *reject, int64_t since)
{
    static const struct {
        const char *reject, *date;
    } dated[] = {
        {"bad-utf8-old:content", "2020-01-01"},
        {"bad-utf8-new:content", "2026-03-11"},
        {"garbage-after-old-date:created_at", "2020-01-01"},
        {"garbage-after-new-date:created_at", "2026-03-11"},
    };
    for (size_t i = 0; i < sizeof dated / sizeof *dated; i++) {
        int64_t day;
        if (strcmp(reject, dated[i].reject))
            continue;
        assert_int_equal(eg_time_parse(dated[i].date, (size_t)-1, &day), 0);
        return since >= day + 2 * EG_USEC_PER_DAY;
    }
    return false;
}

static bool has(const char (*v)[96], size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return true;
    return false;
}

/* The filtered scan at since delivers exactly what the full scan + the rule delivers, and reports
 * what the full scan reports, less what may_go_unreported allows. */
static void check_against_full(int64_t since, const got *full)
{
    got g;
    char a[4096], b[4096];
    scan(since, &g);
    delivered(&g, since, false, a, sizeof a);
    delivered(full, since, true, b, sizeof b);
    if (strcmp(a, b))
        fail_msg("since=%lld\n filtered: %s\n expected: %s", (long long)since, a, b);
    for (size_t i = 0; i < g.nr; i++)
        if (!has(full->r, full->nr, g.r[i]))
            fail_msg("since=%lld: %s rejected, but not by the full scan", (long long)since, g.r[i]);
    for (size_t i = 0; i < full->nr; i++)
        if (!has(g.r, g.nr, full->r[i]) && !may_go_unreported(full->r[i], since))
            fail_msg("since=%lld: %s not reported by the filtered scan", (long long)since,
                     full->r[i]);
}

/* ---- tests ---- */

static void test_since_constant(void **state)
{
    (void)state;
    int64_t us;
    assert_int_equal(eg_time_parse("2026-03-10T03:00:00Z", (size_t)-1, &us), 0);
    assert_int_equal(us, S * EG_USEC_PER_SEC);
}

static void test_fixed_lists(void **state)
{
    (void)state;
    got g;
    char buf[4096];
    make_source("memories", "created_at", "updated_at", "");
    scan(S * EG_USEC_PER_SEC, &g);
    delivered(&g, 0, false, buf, sizeof buf);
    assert_string_equal(buf, want_delivered);
    rejected(&g, buf, sizeof buf);
    assert_string_equal(buf, want_rejected);

    /* the full scan: every row with readable timestamps and valid UTF-8, and all the rejects */
    scan(INT64_MIN, &g);
    assert_int_equal(g.nd + g.nr, NROWS);
    rejected(&g, buf, sizeof buf);
    char both[2048];
    const char *v[32];
    size_t n = 0;
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s,%s", want_rejected, want_rejected_full_only);
    for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        v[n++] = tok;
    join(v, n, both, sizeof both);
    assert_string_equal(buf, both);
    /* a number out of range is told apart from text that is not a time */
    for (size_t i = 0; i < g.nr; i++)
        if (!strncmp(g.r[i], "unix-", 5))
            assert_string_equal(g.why[i], "out of range for Unix seconds (years 1-9999)");
        else if (!strncmp(g.r[i], "garbage-", 8))
            assert_string_equal(g.why[i], "not a timestamp");
}

/* Bounds worth trying: S and 1 us either side, midnights around S and 1 us either side, the far
 * past and future, the extremes, each delivered row's own key and 1 us either side. */
static size_t bounds(const got *full, int64_t *out)
{
    size_t n = 0;
    out[n++] = S * EG_USEC_PER_SEC;
    out[n++] = S * EG_USEC_PER_SEC - 1;
    out[n++] = S * EG_USEC_PER_SEC + 1;
    for (int d = -3; d <= 3; d++) {
        int64_t mid = (S / 86400 + d) * EG_USEC_PER_DAY;
        out[n++] = mid - 1;
        out[n++] = mid;
        out[n++] = mid + 1;
    }
    out[n++] = INT64_MIN + 1;
    out[n++] = -EG_USEC_PER_DAY * 365 * 3000; /* before year 0 */
    out[n++] = -1;
    out[n++] = 0;
    out[n++] = INT64_C(253402300800) * EG_USEC_PER_SEC; /* 10000-01-01 */
    out[n++] = INT64_MAX;
    for (size_t i = 0; i < full->nd; i++) {
        const got_row *r = &full->d[i];
        if (!r->has_created && !r->has_updated)
            continue;
        int64_t key = r->has_updated ? r->updated : r->created;
        out[n++] = key - 1;
        out[n++] = key;
        out[n++] = key + 1;
        if (r->has_created && r->has_updated) {
            out[n++] = r->created - 1;
            out[n++] = r->created;
            out[n++] = r->created + 1;
        }
    }
    return n;
}
#define MAX_BOUNDS (32 + 6 * NROWS)

/* At all those bounds the filtered scan delivers what the rule delivers from a full scan. */
static void test_matches_full_scan(void **state)
{
    (void)state;
    got full;
    int64_t since[MAX_BOUNDS];
    make_source("memories", "created_at", "updated_at", "");
    scan(INT64_MIN, &full);
    size_t n = bounds(&full, since);
    for (size_t i = 0; i < n; i++)
        check_against_full(since[i], &full);
}

/* The same whatever the timestamp columns' declared type (affinity) or collation, including a
 * collation the reading connection does not have. */
static void test_declared_types(void **state)
{
    (void)state;
    static const char *const decls[] = {"TEXT",          "INTEGER",
                                        "REAL",          "NUMERIC",
                                        "BLOB",          "TEXT COLLATE NOCASE",
                                        "COLLATE RTRIM", "TEXT COLLATE test_private"};
    for (size_t k = 0; k < sizeof decls / sizeof *decls; k++) {
        got full;
        int64_t since[MAX_BOUNDS];
        make_source("memories", "created_at", "updated_at", decls[k]);
        scan(INT64_MIN, &full);
        assert_true(full.nd > 10);
        size_t n = bounds(&full, since);
        for (size_t i = 0; i < n; i++)
            check_against_full(since[i], &full);
    }
}

/* Configured names that need quoting reach the prefilter quoted. */
static void test_quoted_names(void **state)
{
    (void)state;
    got full, g;
    char a[4096];
    free(cfg.source_table);
    free(cfg.col_created_at);
    free(cfg.col_updated_at);
    cfg.source_table = strdup("my \"mems\"");
    cfg.col_created_at = strdup("made at");
    cfg.col_updated_at = strdup("changed\"at");
    assert_non_null(cfg.source_table);
    assert_non_null(cfg.col_created_at);
    assert_non_null(cfg.col_updated_at);
    make_source("my \"mems\"", "made at", "changed\"at", "");
    scan(S * EG_USEC_PER_SEC, &g);
    delivered(&g, 0, false, a, sizeof a);
    assert_string_equal(a, want_delivered);
    scan(INT64_MIN, &full);
    check_against_full(S * EG_USEC_PER_SEC, &full);
    check_against_full((S - 86400) * EG_USEC_PER_SEC, &full);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_since_constant),
        cmocka_unit_test_setup_teardown(test_fixed_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matches_full_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_declared_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoted_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
