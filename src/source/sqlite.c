/*
 * sqlite.c — the SQLite source: a `memories` table in a SQLite file, read-only.
 *
 * Without a configured source this is the store's own `memories` table (filled by `engram
 * remember` and `engram import`), so engram runs with no server at all. With "sqlite:PATH" it is
 * another SQLite file with the same columns (names configurable). Timestamps may be ISO 8601 text
 * or Unix seconds (integer or real) within years 1-9999 (eg_time_from_unix, the JSONL importer's
 * rule). Rows with a NULL id, invalid UTF-8, an unreadable timestamp or Unix seconds out of that
 * range are rejected (reported, not delivered). It owns its read-only connection, except during a
 * first load from the store's own table, when it reads through the store's
 * (eg_source_sqlite_share); it never writes.
 *
 * Incremental scans (since != INT64_MIN) filter twice. SQL skips a row only when each of its two
 * timestamps is certainly older than since — NULL, ISO-shaped text dated before the UTC date of
 * since minus one day (the day covers every offset read_time accepts, up to ±15:59), or Unix
 * seconds from year 1 on and below since minus 86 400 — and they are not both NULL; that spares
 * handing every row of a large table to C. Everything else (garbage, non-ISO text, numbers in
 * text, numbers out of years 1-9999, BLOBs) still reaches C, which validates the row and applies
 * the exact rule (key = updated_at if present, else created_at; delivered iff key >= since or
 * created_at >= since — a row whose updated_at precedes its created_at by clock skew is not missed
 * — or when both are NULL), so rows with well-formed timestamps are delivered exactly as without
 * the SQL filter. Accepted consequence: a row whose timestamps both lie more than a day before
 * since (or start with such a date and are garbage after it) is no longer validated, e.g. its
 * invalid UTF-8 is no longer reported again on every incremental run; such rows were never
 * delivered by incremental reads anyway (since = watermark - lookback).
 */
#include "source/source.h"

#include "engram/error.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct sqlite_source {
    eg_source base;
    sqlite3 *db;
    bool own_table; /* the store's own `memories` table, not another file */
    /* eg_source_sqlite_share: db is the store's connection, in the store's transaction, and
     * lock (held while this file uses db) serialises it with the store's writer thread */
    bool shared;
    pthread_mutex_t *lock;
    char *path;
    char *select_sql; /* every row */
    char *since_sql;  /* select_sql minus rows certainly older than ?1 (a date) and ?2 (seconds) */
    char *count_sql;
    char *log_sql; /* select_sql of the rows logged in (?1, ?2]: the store's own table only */
    char desc[1200];
    int batch_rows;
} sqlite_source;

static void quote_ident(eg_buf *b, const char *s)
{
    eg_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            eg_buf_putc(b, '"');
        eg_buf_putc(b, *s);
    }
    eg_buf_putc(b, '"');
}

/* Appends "col is certainly before the bound": NULL, a number below ?2 (since's seconds minus a
 * day, at most the first second of year 10000) and not below year 1's first second, or text
 * starting with a date (GLOB) before ?1 (the UTC 'YYYY-MM-DD' of since minus a day). Numbers
 * outside years 1-9999 are never skipped: C rejects them, in an incremental scan as in a full one.
 * Written for speed, it means exactly that: the unary + strips the column's affinity, so values
 * are compared as what they are, and SQLite orders numbers < text < blobs, so "+col < ?2" holds
 * only for numbers and "+col >= '0' AND +col < ?1" only for text; for text that matches the GLOB
 * (10+ characters) "+col < ?1" is "substr(col, 1, 10) < ?1". COLLATE BINARY: the column's own
 * collation, possibly one this connection lacks, plays no part. Never NULL. The GLOB, the
 * costliest test, comes last; typeof() and a value-producing wrapper such as coalesce() cost more
 * than all the rest (measured: 0.47 s instead of 0.19 s for 1M rows). */
static void certainly_before(eg_buf *b, const char *col)
{
    eg_buf_puts(b, "(");
    quote_ident(b, col);
    eg_buf_puts(b, " IS NULL OR +");
    quote_ident(b, col);
    eg_buf_puts(b, " < ?2 COLLATE BINARY AND +");
    quote_ident(b, col);
    eg_buf_printf(b, " >= %lld COLLATE BINARY OR (+", (long long)EG_UNIX_SECONDS_MIN);
    quote_ident(b, col);
    eg_buf_puts(b, " >= '0' COLLATE BINARY AND +");
    quote_ident(b, col);
    eg_buf_puts(b, " < ?1 COLLATE BINARY AND ");
    quote_ident(b, col);
    eg_buf_puts(b, " GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'))");
}

static void sqlite_close(eg_source *base)
{
    sqlite_source *s = (sqlite_source *)base;
    if (!s)
        return;
    if (!s->shared)
        sqlite3_close(s->db);
    free(s->path);
    free(s->select_sql);
    free(s->since_sql);
    free(s->count_sql);
    free(s->log_sql);
    free(s);
}

static int check_schema(sqlite_source *s, const eg_config *cfg)
{
    const char *want[5] = {cfg->col_id, cfg->col_content, cfg->col_created_at, cfg->col_updated_at,
                           cfg->col_metadata};
    int found[5] = {0};
    sqlite3_stmt *st = NULL;
    eg_buf cols;
    int rc = 0, any = 0;
    eg_buf_init(&cols, 0);
    if (sqlite3_prepare_v2(s->db, "SELECT name FROM pragma_table_info(?1)", -1, &st, NULL) !=
        SQLITE_OK) {
        rc = eg_error_set(EG_ESOURCE, "could not read the columns of \"%s\" in %s: %s",
                          cfg->source_table, s->path, sqlite3_errmsg(s->db));
        goto done;
    }
    sqlite3_bind_text(st, 1, cfg->source_table, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        eg_buf_printf(&cols, "%s%s", any++ ? ", " : "", name);
        for (int i = 0; i < 5; i++)
            if (!strcmp(name, want[i]))
                found[i] = 1;
    }
    if (!any) {
        rc = eg_error_set(EG_ESCHEMA, "table \"%s\" not found in SQLite source %s",
                          cfg->source_table, s->path);
        eg_error_hint("import memories first (`engram import FILE`), or set source.table");
        goto done;
    }
    for (int i = 0; i < 5; i++)
        if (!found[i]) {
            rc = eg_error_set(EG_ESCHEMA, "column \"%s\" not found in table \"%s\" of %s", want[i],
                              cfg->source_table, s->path);
            eg_error_detail("columns found: %s", cols.data);
            goto done;
        }
done:
    sqlite3_finalize(st);
    eg_buf_free(&cols);
    return rc;
}

static int sqlite_open(eg_source **out, const eg_config *cfg, const char *store_path)
{
    sqlite_source *s = calloc(1, sizeof *s);
    eg_buf sql;
    struct stat sb;
    int rc = 0;
    eg_buf_init(&sql, 0);
    if (!s)
        return eg_error_set(EG_ENOMEM, "out of memory");
    s->base.ops = &eg_source_sqlite;
    s->batch_rows = cfg->ingest_batch_rows > 0 ? cfg->ingest_batch_rows : 10000;
    s->path = strdup(cfg->source ? cfg->source + 7 : store_path);
    s->own_table = !cfg->source;
    if (!s->path) {
        rc = eg_error_set(EG_ENOMEM, "out of memory");
        goto fail;
    }
    if (stat(s->path, &sb) != 0) {
        rc = eg_error_set(EG_ENOTFOUND, "SQLite source %s does not exist", s->path);
        goto fail;
    }
    if (sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        rc = eg_error_set(EG_ESOURCE, "could not open SQLite source %s: %s", s->path,
                          s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 10000);
    if ((rc = check_schema(s, cfg)))
        goto fail;
    eg_buf_puts(&sql, "SELECT ");
    quote_ident(&sql, cfg->col_id);
    eg_buf_puts(&sql, ", ");
    quote_ident(&sql, cfg->col_content);
    eg_buf_puts(&sql, ", ");
    quote_ident(&sql, cfg->col_created_at);
    eg_buf_puts(&sql, ", ");
    quote_ident(&sql, cfg->col_updated_at);
    eg_buf_puts(&sql, ", ");
    quote_ident(&sql, cfg->col_metadata);
    eg_buf_puts(&sql, " FROM ");
    quote_ident(&sql, cfg->source_table);
    if (!sql.data || !(s->select_sql = strdup(sql.data))) {
        rc = eg_error_set(EG_ENOMEM, "out of memory");
        goto fail;
    }
    /* a row is skipped in SQL only when both timestamps are certainly before the bound and not
     * both are NULL (C decides those); CASE keeps a row should the test ever be NULL */
    eg_buf_puts(&sql, " WHERE CASE WHEN ");
    certainly_before(&sql, cfg->col_created_at);
    eg_buf_puts(&sql, " AND ");
    certainly_before(&sql, cfg->col_updated_at);
    eg_buf_puts(&sql, " AND (");
    quote_ident(&sql, cfg->col_created_at);
    eg_buf_puts(&sql, " IS NOT NULL OR ");
    quote_ident(&sql, cfg->col_updated_at);
    eg_buf_puts(&sql, " IS NOT NULL) THEN 0 ELSE 1 END");
    if (!sql.data || !(s->since_sql = strdup(sql.data))) {
        rc = eg_error_set(EG_ENOMEM, "out of memory");
        goto fail;
    }
    /* the store's own `memories` keeps a log of the rows written to it (triggers, migration 9):
     * an incremental read of it needs only those */
    if (!cfg->source && !strcmp(cfg->source_table, "memories")) {
        sqlite3_stmt *t = NULL;
        bool has_log =
            sqlite3_prepare_v2(s->db,
                               "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                               "'memories_log'",
                               -1, &t, NULL) == SQLITE_OK &&
            sqlite3_step(t) == SQLITE_ROW;
        sqlite3_finalize(t);
        eg_buf_reset(&sql);
        eg_buf_puts(&sql, s->select_sql);
        eg_buf_puts(&sql, " WHERE rowid IN (SELECT rid FROM memories_log WHERE seq > ?1 AND seq "
                          "<= ?2)");
        if (has_log && (!sql.data || !(s->log_sql = strdup(sql.data)))) {
            rc = eg_error_set(EG_ENOMEM, "out of memory");
            goto fail;
        }
    }
    eg_buf_reset(&sql);
    eg_buf_puts(&sql, "SELECT count(*) FROM ");
    quote_ident(&sql, cfg->source_table);
    if (!sql.data || !(s->count_sql = strdup(sql.data))) {
        rc = eg_error_set(EG_ENOMEM, "out of memory");
        goto fail;
    }
    /* The description is also the key the store keeps this source's watermark under
     * (pipeline/ingest.c), so it must not depend on how the path was spelled: a store copied,
     * moved or named by a relative path once and an absolute path the next time must find its
     * watermark, or its next ingest silently reads everything again. The store's own table is
     * "embedded"; another file is named by its real path. */
    if (!cfg->source) {
        snprintf(s->desc, sizeof s->desc, "embedded table=%s", cfg->source_table);
    } else {
        char *real = realpath(s->path, NULL);
        snprintf(s->desc, sizeof s->desc, "sqlite %s table=%s", real ? real : s->path,
                 cfg->source_table);
        free(real);
    }
    eg_buf_free(&sql);
    *out = &s->base;
    return 0;
fail:
    eg_buf_free(&sql);
    sqlite_close(&s->base);
    return rc;
}

static void db_lock(sqlite_source *s)
{
    if (s->lock)
        pthread_mutex_lock(s->lock);
}

static void db_unlock(sqlite_source *s)
{
    if (s->lock)
        pthread_mutex_unlock(s->lock);
}

/* A scan's own read transaction; a shared connection is already in the store's. */
static int read_begin(sqlite_source *s)
{
    return s->shared ? SQLITE_OK : sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
}

static void read_end(sqlite_source *s)
{
    if (!s->shared)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

/* Reads a timestamp value: ISO 8601 text or Unix seconds within years 1-9999. Returns 0, 1 for
 * NULL, -1 not a timestamp, -2 a number out of that range. */
static int read_time_value(sqlite3_value *v, int64_t *out)
{
    switch (sqlite3_value_type(v)) {
    case SQLITE_NULL:
        return 1;
    case SQLITE_INTEGER:
        return eg_time_from_unix(sqlite3_value_int64(v), out) ? -2 : 0;
    case SQLITE_FLOAT:
        return eg_time_from_unix_real(sqlite3_value_double(v), out) ? -2 : 0;
    default:
        /* text outside years 1-9999 (-2) is not a timestamp either: -2 here is for numbers */
        return eg_time_parse((const char *)sqlite3_value_text(v), (size_t)sqlite3_value_bytes(v),
                             out)
                   ? -1
                   : 0;
    }
}

/* Why read_time_value refused a value (its negative result). */
static const char *time_reason(int t)
{
    return t == -2 ? "out of range for Unix seconds (years 1-9999)" : "not a timestamp";
}

/* Reads a timestamp column (read_time_value's rule). */
static int read_time(sqlite3_stmt *st, int col, int64_t *out)
{
    return read_time_value(sqlite3_column_value(st, col), out);
}

static void sql_time_us(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    int64_t us = 0;
    (void)argc;
    if (read_time_value(argv[0], &us) == 0)
        sqlite3_result_int64(ctx, us);
    else
        sqlite3_result_null(ctx);
}

int eg__sqlite_register_time_us(sqlite3 *db)
{
    return sqlite3_create_function(db, "eg_time_us", 1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                   sql_time_us, NULL, NULL);
}

static void sql_utf8_invalid(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_int(ctx, 0);
        return;
    }
    const char *b = sqlite3_value_blob(argv[0]);
    int n = sqlite3_value_bytes(argv[0]);
    sqlite3_result_int(ctx, b && !eg_utf8_valid(b, (size_t)n, NULL));
}

int eg__sqlite_register_utf8_invalid(sqlite3 *db)
{
    return sqlite3_create_function(db, "eg_utf8_invalid", 1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                   sql_utf8_invalid, NULL, NULL);
}

/* Delivers the rows st selects (bound, inside the read transaction); with since !=
 * INT64_MIN only those whose key is at least since. Called with the lock held, returns with it
 * held; the callbacks run without it (they may wait for the writer, which needs it). */
static int call_reject(sqlite_source *s, eg_reject_fn reject, const char *id, const char *field,
                       const char *why, void *ud)
{
    db_unlock(s);
    int rc = reject(id, field, why, ud);
    db_lock(s);
    return rc;
}

static int deliver(sqlite_source *s, sqlite3_stmt *st, int64_t since, eg_batch_fn fn,
                   eg_reject_fn reject, void *ud)
{
    eg_batch batch;
    eg_buf idbuf; /* a rejected row's whole id, NUL-terminated: the quarantine keeps it */
    int rc = 0, step;
    eg_batch_init(&batch);
    eg_buf_init(&idbuf, 0);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        eg_record r = {0};
        const char *bad_field = NULL, *why = NULL;
        if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
            if (reject && (rc = call_reject(s, reject, "(null)", "id", "id is NULL", ud)))
                goto done;
            continue;
        }
        r.id = (const char *)sqlite3_column_text(st, 0);
        r.id_len = (size_t)sqlite3_column_bytes(st, 0);
        if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
            r.content = (const char *)sqlite3_column_text(st, 1);
            r.content_len = (size_t)sqlite3_column_bytes(st, 1);
        }
        int t = read_time(st, 2, &r.created_at);
        r.has_created = t == 0;
        if (t < 0)
            bad_field = "created_at", why = time_reason(t);
        t = read_time(st, 3, &r.updated_at);
        r.has_updated = t == 0;
        if (t < 0)
            bad_field = "updated_at", why = time_reason(t);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
            r.metadata = (const char *)sqlite3_column_text(st, 4);
            r.metadata_len = (size_t)sqlite3_column_bytes(st, 4);
        }
        const char *bad_utf8 = eg_record_invalid_utf8(&r);
        if (bad_utf8)
            bad_field = bad_utf8, why = EG_RECORD_BAD_UTF8;
        if (bad_field) {
            eg_buf_reset(&idbuf);
            if (eg_buf_append(&idbuf, r.id, r.id_len) || eg_buf_putc(&idbuf, '\0')) {
                rc = eg_error_set(EG_ENOMEM, "out of memory reading SQLite source %s", s->path);
                goto done;
            }
            if (reject && (rc = call_reject(s, reject, idbuf.data, bad_field, why, ud)))
                goto done;
            continue;
        }
        if (since != INT64_MIN) {
            int64_t key = r.has_updated ? r.updated_at : r.created_at;
            /* a row with neither timestamp has no key to compare: it is delivered by every
             * incremental read, as by PostgreSQL's (stored and counted, staging skips it); one
             * created at or after since is delivered even when its updated_at is earlier (clock
             * skew), as by PostgreSQL's */
            if ((r.has_updated || r.has_created) && key < since &&
                !(r.has_created && r.created_at >= since))
                continue;
        }
        if ((rc = eg_batch_add(&batch, &r)))
            goto done;
        if (batch.n >= (size_t)s->batch_rows) {
            db_unlock(s);
            rc = fn(&batch, ud);
            db_lock(s);
            if (rc)
                goto done;
            eg_batch_reset(&batch);
        }
    }
    if (step != SQLITE_DONE) {
        rc = eg_error_set(EG_ESOURCE, "could not read SQLite source %s: %s", s->path,
                          sqlite3_errmsg(s->db));
        goto done;
    }
    if (batch.n) {
        db_unlock(s);
        rc = fn(&batch, ud);
        db_lock(s);
    }
done:
    eg_batch_free(&batch);
    eg_buf_free(&idbuf);
    return rc;
}

static int sqlite_scan(eg_source *base, int64_t since, eg_batch_fn fn, eg_reject_fn reject,
                       void *ud)
{
    sqlite_source *s = (sqlite_source *)base;
    sqlite3_stmt *st = NULL;
    int rc = 0;
    db_lock(s);
    if (read_begin(s) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, since == INT64_MIN ? s->select_sql : s->since_sql, -1, &st,
                           NULL) != SQLITE_OK) {
        rc = eg_error_set(EG_ESOURCE, "could not read SQLite source %s: %s", s->path,
                          sqlite3_errmsg(s->db));
        goto done;
    }
    if (since != INT64_MIN) {
        /* the SQL prefilter's bounds (see the top of this file): a day before since */
        char date[16] = "";
        int64_t day = since / EG_USEC_PER_DAY - (since % EG_USEC_PER_DAY < 0) - 1, y;
        int64_t secs = since / EG_USEC_PER_SEC - (since % EG_USEC_PER_SEC < 0) - 86400;
        unsigned m, d;
        if (secs > EG_UNIX_SECONDS_MAX + 1) /* every valid number is before it, no other one */
            secs = EG_UNIX_SECONDS_MAX + 1;
        eg_civil_from_days(day, &y, &m, &d);
        if (y > 9999) /* every 4-digit year is before it */
            snprintf(date, sizeof date, "9999-12-31");
        else if (y >= 0) /* else no text date is before it: "" is the least string */
            snprintf(date, sizeof date, "%04d-%02u-%02u", (int)y, m, d);
        if (sqlite3_bind_text(st, 1, date, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
            sqlite3_bind_int64(st, 2, secs) != SQLITE_OK) {
            rc = eg_error_set(EG_ESOURCE, "could not read SQLite source %s: %s", s->path,
                              sqlite3_errmsg(s->db));
            goto done;
        }
    }
    rc = deliver(s, st, since, fn, reject, ud);
done:
    sqlite3_finalize(st);
    read_end(s);
    db_unlock(s);
    return rc;
}

static bool sqlite_has_changes(eg_source *base)
{
    return ((sqlite_source *)base)->log_sql != NULL;
}

static int sqlite_scan_changes(eg_source *base, int64_t after, int64_t upto, eg_batch_fn fn,
                               eg_reject_fn reject, void *ud)
{
    sqlite_source *s = (sqlite_source *)base;
    sqlite3_stmt *st = NULL;
    int rc;
    db_lock(s);
    if (read_begin(s) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, s->log_sql, -1, &st, NULL) != SQLITE_OK) {
        rc = eg_error_set(EG_ESOURCE, "could not read SQLite source %s: %s", s->path,
                          sqlite3_errmsg(s->db));
    } else {
        sqlite3_bind_int64(st, 1, after);
        sqlite3_bind_int64(st, 2, upto);
        rc = deliver(s, st, INT64_MIN, fn, reject, ud);
    }
    sqlite3_finalize(st);
    read_end(s);
    db_unlock(s);
    return rc;
}

static int sqlite_count(eg_source *base, int64_t *out)
{
    sqlite_source *s = (sqlite_source *)base;
    sqlite3_stmt *st = NULL;
    int rc = 0;
    db_lock(s);
    if (sqlite3_prepare_v2(s->db, s->count_sql, -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW)
        rc = eg_error_set(EG_ESOURCE, "could not count rows of SQLite source %s: %s", s->path,
                          sqlite3_errmsg(s->db));
    else
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    db_unlock(s);
    return rc;
}

static const char *sqlite_describe(eg_source *base)
{
    return ((sqlite_source *)base)->desc;
}

bool eg_source_sqlite_share(eg_source *base, sqlite3 *db, pthread_mutex_t *lock)
{
    sqlite_source *s = (sqlite_source *)base;
    if (!base || base->ops != &eg_source_sqlite || !s->own_table || s->shared)
        return false;
    sqlite3_close(s->db);
    s->db = db;
    s->shared = true;
    s->lock = lock;
    return true;
}

const eg_source_ops eg_source_sqlite = {
    .kind = "sqlite",
    .open = sqlite_open,
    .scan = sqlite_scan,
    .has_changes = sqlite_has_changes,
    .scan_changes = sqlite_scan_changes,
    .count = sqlite_count,
    .describe = sqlite_describe,
    .close = sqlite_close,
};
