/*
 * health.c — the eight health checks of SPEC §10, measured against the configured source and the
 * store, with thresholds from the config (health.*).
 *
 * Owns one run: the source opened read-only through eg_source_open (no retries: health reports a
 * failure, it does not wait it out), a private read-only SQLite handle when the source is SQLite,
 * and the store when its file exists (it is never created). The results are appended to
 * health_history in one transaction so that the volume check can compare with its own past.
 * Not for: printing (cli/cmd_health.c), fixing anything.
 */
#include "monitor/health.h"

#include "engram/error.h"
#include "core/conninfo.h"
#include "source/postgres_int.h"
#include "source/source.h"
#include "stage/concepts.h"
#include "stage/staging.h"
#include "store/pipeline.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum {
    C_CONNECTION,
    C_FRESHNESS,
    C_VOLUME,
    C_QUALITY,
    C_PERFORMANCE,
    C_SCHEMA,
    C_READINESS,
    C_PIPELINE
};

typedef struct hctx {
    const eg_config *cfg;
    int64_t now;
    eg_health_report *rep;
    eg_source *src; /* NULL when the source could not be opened */
    int open_rc;
    char open_msg[1024];
    PGconn *pg;   /* the source's connection (owned by src) when it is PostgreSQL */
    sqlite3 *sdb; /* our own read-only handle when the source is SQLite */
    char *table_q, *content_q, *created_q, *updated_q, *id_q, *metadata_q;
    char *created_expr; /* created_at as µs since the epoch, a float, in the source's SQL */
    char *updated_expr;
    char *content_ok; /* SQL condition: content present, not blank, valid UTF-8 */
    /* a SQL_ASCII PostgreSQL source only (NULL otherwise): SQL conditions true when the row's id,
     * content or metadata is not valid UTF-8 — the rows ingest quarantines, naming that field */
    char *bad_utf8[3];
    char *created_ok;    /* SQL condition: created_at is a finite timestamp ingest can read */
    eg_store *st;        /* NULL when the store does not exist or could not be opened */
    char store_msg[256]; /* why a store that exists could not be opened; "" otherwise */
    bool store_busy;     /* ... because another engram held its lock (EG_EBUSY) */
    int busy_ms;         /* the longest wait for a lock (store and embedded source); 0: default */
    double count_ms;     /* measured by the volume check, judged by the performance check */
    bool count_measured;
} hctx;

const char *eg_health_status_name(eg_health_status s)
{
    switch (s) {
    case EG_HEALTH_OK:
        return "OK";
    case EG_HEALTH_WARNING:
        return "WARNING";
    case EG_HEALTH_CRITICAL:
        return "CRITICAL";
    default:
        return "UNKNOWN";
    }
}

static int rank(eg_health_status s)
{
    switch (s) {
    case EG_HEALTH_CRITICAL:
        return 3;
    case EG_HEALTH_WARNING:
        return 2;
    case EG_HEALTH_UNKNOWN:
        return 1;
    default:
        return 0;
    }
}

eg_health_status eg_health_worse(eg_health_status a, eg_health_status b)
{
    return rank(a) >= rank(b) ? a : b;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void say(eg_health_check *c, eg_health_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(eg_health_check *c, eg_health_status st, const char *fmt, ...)
{
    va_list ap;
    c->status = st;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
}

static void measured(eg_health_check *c, double v)
{
    c->has_value = true;
    c->value = v;
}

static char *dup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = malloc((size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static const char *or_default(const char *v, const char *dflt)
{
    return v && *v ? v : dflt;
}

/* A double-quoted SQL identifier (the same rule in PostgreSQL and SQLite). */
static char *quote_ident(const char *name)
{
    size_t n = strlen(name), k = 0;
    char *q = malloc(2 * n + 3);
    if (!q)
        return NULL;
    q[k++] = '"';
    for (size_t i = 0; i < n; i++) {
        if (name[i] == '"')
            q[k++] = '"';
        q[k++] = name[i];
    }
    q[k++] = '"';
    q[k] = '\0';
    return q;
}

/* Runs sql (one row expected) and reads up to ncols columns as doubles; a NULL reads as NAN.
 * Returns 0, or -1 with the error in err. */
static int query_row(hctx *h, const char *sql, int ncols, double *vals, char *err, size_t errcap)
{
    for (int i = 0; i < ncols; i++)
        vals[i] = NAN;
    if (h->pg) {
        PGresult *res = PQexec(h->pg, sql);
        int rc = 0;
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            snprintf(err, errcap, "%s", PQresultErrorMessage(res));
            err[strcspn(err, "\n")] = '\0';
            rc = -1;
        } else if (PQntuples(res) > 0) {
            for (int i = 0; i < ncols && i < PQnfields(res); i++)
                if (!PQgetisnull(res, 0, i))
                    vals[i] = strtod(PQgetvalue(res, 0, i), NULL);
        }
        PQclear(res);
        return rc;
    }
    if (!h->sdb) {
        snprintf(err, errcap, "no source connection");
        return -1;
    }
    sqlite3_stmt *s = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(h->sdb, sql, -1, &s, NULL) != SQLITE_OK) {
        snprintf(err, errcap, "%s", sqlite3_errmsg(h->sdb));
        rc = -1;
        goto done;
    }
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        for (int i = 0; i < ncols && i < sqlite3_column_count(s); i++)
            if (sqlite3_column_type(s, i) != SQLITE_NULL)
                vals[i] = sqlite3_column_double(s, i);
    } else if (step != SQLITE_DONE) {
        snprintf(err, errcap, "%s", sqlite3_errmsg(h->sdb));
        rc = -1;
    }
done:
    sqlite3_finalize(s);
    return rc;
}

/* The same against the store. */
static int store_row(hctx *h, const char *sql, int ncols, double *vals, char *err, size_t errcap)
{
    sqlite3 *db = eg_store_db(h->st);
    sqlite3_stmt *s = NULL;
    int rc = 0;
    for (int i = 0; i < ncols; i++)
        vals[i] = NAN;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
        snprintf(err, errcap, "%s", sqlite3_errmsg(db));
        rc = -1;
        goto done;
    }
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        for (int i = 0; i < ncols && i < sqlite3_column_count(s); i++)
            if (sqlite3_column_type(s, i) != SQLITE_NULL)
                vals[i] = sqlite3_column_double(s, i);
    } else if (step != SQLITE_DONE) {
        snprintf(err, errcap, "%s", sqlite3_errmsg(db));
        rc = -1;
    }
done:
    sqlite3_finalize(s);
    return rc;
}

/* A description of a source that could not be opened, never the password: a PostgreSQL source's
 * own (the target it has when it opens, so the health history keeps one target through an outage)
 * once libpq knew where it goes; else host, port, dbname and table from the parsed conninfo. */
static void describe_unopened(hctx *h)
{
    const eg_config *cfg = h->cfg;
    /* the source got as far as libpq: its own description, as when it opens */
    if (cfg->source && strncmp(cfg->source, "sqlite:", 7) && *eg__postgres_failed_describe()) {
        snprintf(h->rep->target, sizeof h->rep->target, "%s", eg__postgres_failed_describe());
        return;
    }
    char *table = dup_printf("%s.%s", or_default(cfg->source_schema, "public"),
                             or_default(cfg->source_table, "memories"));
    if (!cfg->source || !strncmp(cfg->source, "sqlite:", 7)) {
        snprintf(h->rep->target, sizeof h->rep->target, "sqlite %s table=%s",
                 cfg->source ? cfg->source + 7 : cfg->store,
                 or_default(cfg->source_table, "memories"));
    } else {
        const char *host = NULL, *port = NULL, *db = NULL;
        PQconninfoOption *opts = PQconninfoParse(cfg->source, NULL);
        for (PQconninfoOption *o = opts; o && o->keyword; o++) {
            if (!o->val)
                continue;
            if (!strcmp(o->keyword, "host"))
                host = o->val;
            else if (!strcmp(o->keyword, "port"))
                port = o->val;
            else if (!strcmp(o->keyword, "dbname"))
                db = o->val;
        }
        /* a dbname that is itself a connection string or URI may hold a password */
        char dbm[256];
        if (db && eg_conninfo_looks_nested(db) && eg_conninfo_mask(db, dbm, sizeof dbm))
            snprintf(dbm, sizeof dbm, "(a connection string)");
        if (db && eg_conninfo_looks_nested(db))
            db = dbm;
        snprintf(
            h->rep->target, sizeof h->rep->target, "postgresql host=%s port=%s dbname=%s table=%s",
            or_default(host, or_default(getenv("PGHOST"), "(default)")),
            or_default(port, or_default(getenv("PGPORT"), "(default)")),
            or_default(db, or_default(getenv("PGDATABASE"), "(default)")), table ? table : "?");
        PQconninfoFree(opts);
    }
    free(table);
}

/* Prepares the identifiers and expressions the source queries use. */
static int prepare_sql(hctx *h)
{
    const eg_config *cfg = h->cfg;
    char *schema = quote_ident(or_default(cfg->source_schema, "public"));
    char *table = quote_ident(or_default(cfg->source_table, "memories"));
    int rc = EG_ENOMEM;
    h->content_q = quote_ident(or_default(cfg->col_content, "content"));
    h->created_q = quote_ident(or_default(cfg->col_created_at, "created_at"));
    h->updated_q = quote_ident(or_default(cfg->col_updated_at, "updated_at"));
    h->id_q = quote_ident(or_default(cfg->col_id, "id"));
    h->metadata_q = quote_ident(or_default(cfg->col_metadata, "metadata"));
    if (!schema || !table || !h->content_q || !h->created_q || !h->updated_q || !h->id_q ||
        !h->metadata_q)
        goto done;
    if (h->pg) {
        h->table_q = dup_printf("%s.%s", schema, table);
        h->created_expr = dup_printf("(extract(epoch FROM %s) * 1000000)::float8", h->created_q);
        h->updated_expr = dup_printf("(extract(epoch FROM %s) * 1000000)::float8", h->updated_q);
        /* not NULL, not empty, not only whitespace: validate's content_null, content_empty and
         * content_whitespace rules (btrim() strips only spaces: a tab-only row was content).
         * Text in any server encoding but SQL_ASCII is valid UTF-8 as the session reads it, and
         * costs no check; a SQL_ASCII database stores any bytes, and a row whose id, content or
         * metadata is not UTF-8 is quarantined by ingest (validate's content_invalid_utf8) */
        if (eg__postgres_sql_ascii(h->src)) {
            const char *col[3] = {h->id_q, h->content_q, h->metadata_q};
            for (int i = 0; i < 3; i++) {
                char *text = dup_printf("%s::text", col[i]);
                h->bad_utf8[i] = text ? eg__postgres_utf8_invalid(text) : NULL;
                free(text);
                if (!h->bad_utf8[i])
                    goto done;
            }
            h->content_ok =
                dup_printf("(%1$s IS NOT NULL AND %1$s::text ~ '[^[:space:]]' AND NOT "
                           "(%2$s OR %3$s OR %4$s))",
                           h->content_q, h->bad_utf8[0], h->bad_utf8[1], h->bad_utf8[2]);
        } else {
            h->content_ok =
                dup_printf("(%1$s IS NOT NULL AND %1$s::text ~ '[^[:space:]]')", h->content_q);
        }
        /* ±infinity reads as a float infinity, which ingest quarantines (source/postgres.c) */
        h->created_ok = dup_printf("isfinite(%s)", h->created_q);
    } else {
        /* the embedded source stores ISO 8601 text or Unix seconds, read exactly as ingest reads
         * them (source/sqlite.c; julianday() would keep only milliseconds, inexactly) */
        h->table_q = dup_printf("%s", table);
        h->created_expr = dup_printf("eg_time_us(%s)", h->created_q);
        h->updated_expr = dup_printf("eg_time_us(%s)", h->updated_q);
        /* not NULL, not empty, not only whitespace, valid UTF-8: the complement of validate's
         * content_null, content_empty, content_whitespace and content_invalid_utf8 (trim()
         * strips only spaces, and a table outside the store may hold bytes import rejects) */
        h->content_ok = dup_printf("(%1$s IS NOT NULL AND trim(%1$s, ' ' || char(9, 10, 11, 12, "
                                   "13)) <> '' AND NOT eg_utf8_invalid(%1$s))",
                                   h->content_q);
        /* what is not a timestamp reads as NULL, and ingest quarantines it */
        h->created_ok = dup_printf("(%s IS NOT NULL)", h->created_expr);
    }
    if (h->table_q && h->created_expr && h->updated_expr && h->content_ok && h->created_ok)
        rc = 0;
done:
    free(schema);
    free(table);
    return rc;
}

/* 1: connection — open the source (which also checks its schema) and time SELECT 1. */
static void check_connection(hctx *h)
{
    eg_health_check *c = &h->rep->checks[C_CONNECTION];
    double warn_ms = (double)h->cfg->health_connection_warn / 1e3;
    eg_config once = *h->cfg; /* shallow: only the retry count differs, nothing is freed */
    struct timespec t0;
    once.source_retries = 0;
    snprintf(c->threshold, sizeof c->threshold, "warn > %.0f ms, critical when unreachable",
             warn_ms);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    eg_error_clear();
    h->open_rc = eg_source_open(&h->src, &once);
    double open_ms = ms_since(&t0);
    if (h->open_rc) {
        const eg_error *e = eg_error_last();
        snprintf(h->open_msg, sizeof h->open_msg, "%.400s%s%.500s",
                 e->code ? e->message : eg_strerror(h->open_rc),
                 e->code && e->detail[0] ? ": " : "", e->code ? e->detail : "");
        describe_unopened(h);
        if (h->open_rc == EG_ESCHEMA) {
            measured(c, open_ms);
            say(c, open_ms > warn_ms ? EG_HEALTH_WARNING : EG_HEALTH_OK,
                "connected in %.1f ms, but the table does not match (see schema)", open_ms);
        } else {
            measured(c, open_ms);
            say(c, EG_HEALTH_CRITICAL, "cannot open the source after %.1f ms: %s", open_ms,
                h->open_msg);
        }
        return;
    }
    snprintf(h->rep->target, sizeof h->rep->target, "%s", eg_source_describe(h->src));
    if (!strcmp(eg_source_kind(h->src), "postgresql")) {
        h->pg = eg__postgres_conn(h->src);
    } else {
        const char *path = h->cfg->source ? h->cfg->source + 7 : h->cfg->store;
        if (sqlite3_open_v2(path, &h->sdb, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK) {
            measured(c, ms_since(&t0));
            say(c, EG_HEALTH_CRITICAL, "cannot open %s read-only: %s", path,
                h->sdb ? sqlite3_errmsg(h->sdb) : "out of memory");
            sqlite3_close(h->sdb);
            h->sdb = NULL;
            return;
        }
        sqlite3_busy_timeout(h->sdb, h->busy_ms > 0 && h->busy_ms < 5000 ? h->busy_ms : 5000);
        eg__sqlite_register_time_us(h->sdb);
        eg__sqlite_register_utf8_invalid(h->sdb);
    }
    if (prepare_sql(h)) {
        say(c, EG_HEALTH_UNKNOWN, "out of memory");
        return;
    }
    double one[1];
    char err[512];
    int rc = query_row(h, "SELECT 1", 1, one, err, sizeof err);
    double total = ms_since(&t0);
    measured(c, total);
    if (rc || one[0] != 1)
        say(c, EG_HEALTH_CRITICAL, "connected, but SELECT 1 failed: %s", rc ? err : "wrong answer");
    else if (total > warn_ms)
        say(c, EG_HEALTH_WARNING, "connect + SELECT 1 took %.1f ms, slower than %.0f ms", total,
            warn_ms);
    else
        say(c, EG_HEALTH_OK, "connect + SELECT 1 in %.1f ms (%s)", total, eg_source_kind(h->src));
}

static bool source_ready(hctx *h, eg_health_check *c)
{
    if (h->pg || h->sdb)
        return true;
    say(c, EG_HEALTH_UNKNOWN, "not measured: %s",
        h->open_rc == EG_ESCHEMA ? "the source table does not match (see schema)"
                                 : "the source could not be opened (see connection)");
    return false;
}

/* A time in µs read from SQL as a double, as an integer: false when it is not finite or does not
 * fit in int64 (casting it would be undefined behaviour). */
static bool to_us(double v, int64_t *out)
{
    if (!isfinite(v) || v < -9.2e18 || v > 9.2e18)
        return false;
    *out = (int64_t)v;
    return true;
}

/* "N row(s) <what>" appended to buf after sep, when n > 0. */
static void count_phrase(char *buf, size_t cap, double n, const char *what)
{
    size_t len = strlen(buf);
    if (!(n > 0) || len >= cap)
        return;
    snprintf(buf + len, cap - len, "%s%.0f row%s %s", len ? ", " : "", n, n == 1 ? "" : "s", what);
}

/* 2: freshness — the age at --now of the newest created_at at or before now +
 * validate.future_skew. Rows dated later (and ±infinity, or what is not a timestamp) would hide
 * the age of the real data: they are counted and named instead, and make it at least a WARNING
 * (like validate's temporal_future rule). */
static void check_freshness(hctx *h)
{
    eg_health_check *c = &h->rep->checks[C_FRESHNESS];
    double fresh_h = (double)h->cfg->health_fresh / 3.6e9,
           stale_h = (double)h->cfg->health_stale / 3.6e9;
    int64_t skew = h->cfg->validate_future_skew;
    int64_t bound = skew > 0 && h->now > INT64_MAX - skew ? INT64_MAX : h->now + skew;
    snprintf(c->threshold, sizeof c->threshold,
             "fresh < %g h, stale < %g h, else critical; warning when rows lie ahead of now",
             fresh_h, stale_h);
    if (!source_ready(h, c))
        return;
    char *sql =
        dup_printf("SELECT max(CASE WHEN %1$s AND %2$s <= %3$lld THEN %2$s END), count(*),"
                   " count(CASE WHEN %1$s AND %2$s > %3$lld THEN 1 END),"
                   " count(CASE WHEN %4$s IS NOT NULL AND NOT %1$s THEN 1 END) FROM %5$s",
                   h->created_ok, h->created_expr, (long long)bound, h->created_q, h->table_q);
    double v[4];
    char err[512];
    if (!sql || query_row(h, sql, 4, v, err, sizeof err)) {
        say(c, EG_HEALTH_UNKNOWN, "could not read the newest created_at: %s",
            sql ? err : "no memory");
        goto done;
    }
    double rows = isnan(v[1]) ? 0 : v[1], ahead = isnan(v[2]) ? 0 : v[2],
           bad = isnan(v[3]) ? 0 : v[3];
    char ignored[160] = "";
    count_phrase(ignored, sizeof ignored, ahead, "dated after now + validate.future_skew");
    count_phrase(ignored, sizeof ignored, bad,
                 h->pg ? "with a created_at of ±infinity"
                       : "with a created_at that is not a timestamp");
    int64_t newest = 0;
    if (!to_us(v[0], &newest)) {
        if (ahead > 0)
            say(c, EG_HEALTH_WARNING,
                "no memory created before now + validate.future_skew, the newest lie after now: "
                "clock skew or data from the future (%s)",
                ignored);
        else
            say(c, EG_HEALTH_CRITICAL,
                "no row with a created_at (%.0f rows%s%s): nothing new "
                "arrives",
                rows, bad > 0 ? ", " : "", ignored);
        goto done;
    }
    double age_h = (double)(h->now - newest) / 3.6e9;
    char when[40], note[200] = "";
    eg_health_status s = h->now - newest < h->cfg->health_fresh   ? EG_HEALTH_OK
                         : h->now - newest < h->cfg->health_stale ? EG_HEALTH_WARNING
                                                                  : EG_HEALTH_CRITICAL;
    if (ignored[0]) {
        s = eg_health_worse(s, EG_HEALTH_WARNING);
        snprintf(note, sizeof note, "; not measured: %s", ignored);
    }
    eg_time_format(newest, when);
    measured(c, age_h);
    if (h->now - newest < h->cfg->health_fresh)
        say(c, s, "newest memory created %s, %.2f h before now%s", when, age_h, note);
    else if (h->now - newest < h->cfg->health_stale)
        say(c, s, "stale: newest memory created %s, %.2f h before now%s", when, age_h, note);
    else
        say(c, s, "no new memory for %.1f h (newest created %s)%s", age_h, when, note);
done:
    free(sql);
}

/* 3: volume — the row count vs health.volume_min and vs this check's own history. */
/* Store coverage: the distinct ids at the source created at or before this source's watermark,
 * against this source's rows in the store created by then (memory.source_key, not deleted at the
 * source) plus the rows ingest quarantined and did not store. Incremental reads take rows from the
 * watermark minus the lookback on, so a row that arrives with both times older than that (a phone
 * syncing days late) is never read, and a row deleted at the source stays: only `ingest --full`
 * sees either, and this is where they show. Rows created after the watermark are left out on
 * both sides (not read yet is not missing). The quarantine names the source by kind only, so with
 * two sources of one kind in a store it counts the other's rejects too; rejects for created_at are
 * left out (the source count skips unreadable created_at as well), and so are rows without an id
 * (count(DISTINCT id) skips NULL; the SQLite source names them "(null)", PostgreSQL "(null id)").
 * Returns the status and writes a sentence into out; OK and "" when there is nothing to compare (no
 * store, never read). */
/* This source's rows in the store: its key (?1), or no key and its source system (?4), as ingest
 * writes them (eg_store_mark_deleted scopes deletions the same way): rows stored before migration
 * 14 have no key until a full read reads them again, and were counted as missing. */
#define THIS_SOURCE "(source_key = ?1 OR (source_key IS NULL AND source_system = ?4))"

static eg_health_status coverage(hctx *h, char *out, size_t cap)
{
    int64_t wm = 0;
    bool found = false;
    double src[1], st[2];
    char err[256], at[EG_TIME_BUFSZ];
    eg_health_status ret = EG_HEALTH_OK;
    sqlite3_stmt *q = NULL;
    out[0] = '\0';
    if (!h->st || !(h->pg || h->sdb) ||
        eg_store_watermark_get(h->st, eg_source_describe(h->src), &wm, &found) || !found)
        return EG_HEALTH_OK;
    char *sql = dup_printf("SELECT count(DISTINCT %s) FROM %s WHERE %s AND %s <= %lld", h->id_q,
                           h->table_q, h->created_ok, h->created_expr, (long long)wm);
    if (!sql || query_row(h, sql, 1, src, err, sizeof err)) {
        snprintf(out, cap, "; rows at the source unknown (%.120s)", sql ? err : "no memory");
        free(sql);
        return EG_HEALTH_UNKNOWN;
    }
    free(sql);
    if (sqlite3_prepare_v2(eg_store_db(h->st),
                           "SELECT (SELECT count(*) FROM memory WHERE " THIS_SOURCE " AND "
                           "deleted_at_source IS NULL AND created_at <= ?2), "
                           "(SELECT count(DISTINCT ref) FROM quarantine WHERE source = ?3 AND "
                           "field <> 'created_at' AND ref NOT IN ('(null)', '(null id)') AND ref "
                           "NOT IN (SELECT id "
                           "FROM memory WHERE " THIS_SOURCE "))",
                           -1, &q, NULL) != SQLITE_OK) {
        snprintf(out, cap, "; rows in the store unknown (%.120s)",
                 sqlite3_errmsg(eg_store_db(h->st)));
        return EG_HEALTH_UNKNOWN;
    }
    sqlite3_bind_text(q, 1, eg_source_key(h->src), -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 2, wm);
    sqlite3_bind_text(q, 3, eg_source_kind(h->src), -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, h->cfg->source_system ? h->cfg->source_system : eg_source_kind(h->src),
                      -1, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_ROW) {
        snprintf(out, cap, "; rows in the store unknown (%.120s)",
                 sqlite3_errmsg(eg_store_db(h->st)));
        ret = EG_HEALTH_UNKNOWN;
        goto done;
    }
    st[0] = (double)sqlite3_column_int64(q, 0);
    st[1] = (double)sqlite3_column_int64(q, 1);
    eg_time_format(wm, at);
    if (src[0] == st[0] + st[1]) {
        snprintf(out, cap, "; the store holds all %.0f rows created up to the watermark %s", src[0],
                 at);
        goto done;
    }
    ret = EG_HEALTH_WARNING;
    snprintf(out, cap,
             "; %.0f rows created up to the watermark %s at the source, %.0f in the store "
             "(%.0f quarantined): %.0f %s (late rows older than the lookback, or rows deleted at "
             "the source, are seen only by a full read): run `engram ingest --full`",
             src[0], at, st[0] + st[1], st[1], fabs(src[0] - st[0] - st[1]),
             src[0] > st[0] + st[1] ? "missing" : "more in the store");
done:
    sqlite3_finalize(q);
    return ret;
}

static void volume_vs_history(hctx *h, eg_health_check *c, int64_t n);

static void check_volume(hctx *h)
{
    eg_health_check *c = &h->rep->checks[C_VOLUME];
    double sigma = h->cfg->health_volume_sigma;
    snprintf(c->threshold, sizeof c->threshold, ">= %d rows; within mean ± %gσ of the last %d",
             h->cfg->health_volume_min, sigma, EG__HEALTH_HISTORY_WINDOW);
    if (!h->src) {
        source_ready(h, c);
        return;
    }
    int64_t n = 0;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    eg_error_clear();
    int rc = h->src->ops->count(h->src, &n);
    h->count_ms = ms_since(&t0);
    if (rc) {
        say(c, EG_HEALTH_UNKNOWN, "could not count rows: %s", eg_error_last()->message);
        return;
    }
    h->count_measured = true;
    measured(c, (double)n);
    volume_vs_history(h, c, n);
    char cov[320];
    eg_health_status cs = coverage(h, cov, sizeof cov);
    if (cov[0]) {
        size_t len = strlen(c->message);
        snprintf(c->message + len, sizeof c->message - len, "%s", cov);
        c->status = eg_health_worse(c->status, cs);
    }
}

/* The count n against the minimum and against the history of this check. */
static void volume_vs_history(hctx *h, eg_health_check *c, int64_t n)
{
    double sigma = h->cfg->health_volume_sigma;
    if (n < h->cfg->health_volume_min) {
        say(c, EG_HEALTH_CRITICAL, "%lld rows, fewer than the minimum %d", (long long)n,
            h->cfg->health_volume_min);
        return;
    }
    double hist[EG__HEALTH_HISTORY_WINDOW];
    int k = 0;
    if (h->st) {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(eg_store_db(h->st),
                               "SELECT value FROM health_history WHERE check_name = 'volume' AND "
                               "target = ?1 AND value IS NOT NULL AND status <> 'UNKNOWN' "
                               "AND at <= ?3 ORDER BY at DESC, hid DESC LIMIT ?2",
                               -1, &s, NULL) == SQLITE_OK) {
            /* the history up to now: a check at --now T reads no result recorded after T (the
             * dashboard's freshness history reads the same way) */
            sqlite3_bind_text(s, 1, h->rep->target, -1, SQLITE_STATIC);
            sqlite3_bind_int(s, 2, EG__HEALTH_HISTORY_WINDOW);
            sqlite3_bind_int64(s, 3, h->now);
            while (k < EG__HEALTH_HISTORY_WINDOW && sqlite3_step(s) == SQLITE_ROW)
                hist[k++] = sqlite3_column_double(s, 0);
        }
        sqlite3_finalize(s);
    }
    if (k < EG__HEALTH_HISTORY_MIN) {
        say(c, EG_HEALTH_OK,
            "%lld rows; %d earlier result%s in the history (%d needed to "
            "compare)",
            (long long)n, k, k == 1 ? "" : "s", EG__HEALTH_HISTORY_MIN);
        return;
    }
    double mean = 0, var = 0;
    for (int i = 0; i < k; i++)
        mean += hist[i];
    mean /= k;
    for (int i = 0; i < k; i++)
        var += (hist[i] - mean) * (hist[i] - mean);
    /* σ is at least √mean, the spread of a count of independent arrivals: the results of a
     * table that gained nothing while health ran (every minute under `engram serve`, or hours
     * between notes) are all alike, and with σ 0 a single new row was a spike */
    double sd = sqrt(var / k), floor_sd = mean > 0 ? sqrt(mean) : 0;
    bool floored = sd < floor_sd;
    double use = floored ? floor_sd : sd, lo = mean - sigma * use, hi = mean + sigma * use;
    snprintf(c->threshold, sizeof c->threshold,
             ">= %d rows; %.0f..%.0f (mean %.1f ± %gσ, σ %.1f%s, last %d)",
             h->cfg->health_volume_min, lo, hi, mean, sigma, use, floored ? " = √mean" : "", k);
    if ((double)n < lo || (double)n > hi)
        say(c, EG_HEALTH_WARNING, "%lld rows is a %s: outside %.0f..%.0f of the last %d results",
            (long long)n, (double)n < lo ? "drop" : "spike", lo, hi, k);
    else
        say(c, EG_HEALTH_OK, "%lld rows, within %.0f..%.0f of the last %d results", (long long)n,
            lo, hi, k);
}

/* 4: quality — the share of rows with content that is present, not blank and valid UTF-8,
 * counted by the source (the rows validate's content rules do not flag). */
static void check_quality(hctx *h)
{
    eg_health_check *c = &h->rep->checks[C_QUALITY];
    double okp = h->cfg->health_quality_ok, warnp = h->cfg->health_quality_warn;
    snprintf(c->threshold, sizeof c->threshold, "ok > %g %%, warning > %g %%", okp, warnp);
    if (!source_ready(h, c))
        return;
    bool ascii = h->bad_utf8[0] != NULL;
    char *sql;
    if (ascii) {
        /* a SQL_ASCII database: the blank rows, and the rows not UTF-8 by the field ingest names
         * (id, then content, then metadata: eg_record_invalid_utf8's order); OFFSET 0 keeps the
         * subquery, so that each regular expression runs once a row */
        sql = dup_printf(
            "SELECT count(*), count(*) FILTER (WHERE p AND NOT (bi OR bc OR bm)),"
            " count(*) FILTER (WHERE NOT p), count(*) FILTER (WHERE bi),"
            " count(*) FILTER (WHERE bc AND NOT bi), count(*) FILTER (WHERE bm AND NOT bi AND NOT"
            " bc) FROM (SELECT coalesce(%1$s::text ~ '[^[:space:]]', false) AS p, %2$s AS bi, %3$s"
            " AS bc, %4$s AS bm FROM %5$s OFFSET 0) r",
            h->content_q, h->bad_utf8[0], h->bad_utf8[1], h->bad_utf8[2], h->table_q);
    } else {
        /* any other PostgreSQL encoding is valid UTF-8 as read: 0 rows of invalid UTF-8 */
        sql = dup_printf("SELECT count(*), coalesce(sum(CASE WHEN %s THEN 1 ELSE 0 END), 0), "
                         "%s%s%s FROM %s",
                         h->content_ok, h->pg ? "0" : "coalesce(sum(eg_utf8_invalid(",
                         h->pg ? "" : h->content_q, h->pg ? "" : ")), 0)", h->table_q);
    }
    double v[6];
    char err[512];
    if (!sql || query_row(h, sql, ascii ? 6 : 3, v, err, sizeof err)) {
        say(c, EG_HEALTH_UNKNOWN, "could not measure content: %s", sql ? err : "no memory");
        goto done;
    }
    if (!(v[0] > 0)) {
        say(c, EG_HEALTH_UNKNOWN, "no rows to measure%s",
            h->pg && !ascii ? "; PostgreSQL text is always valid UTF-8" : "");
        goto done;
    }
    double pct = 100.0 * v[1] / v[0];
    measured(c, pct);
    eg_health_status s = pct > okp     ? EG_HEALTH_OK
                         : pct > warnp ? EG_HEALTH_WARNING
                                       : EG_HEALTH_CRITICAL;
    if (ascii)
        say(c, s,
            "%.0f of %.0f rows have content (%.0f NULL, empty or whitespace only, %.0f not valid "
            "UTF-8 in this SQL_ASCII database: %.0f by id, %.0f by content, %.0f by metadata; "
            "ingest quarantines those)",
            v[1], v[0], v[2], v[3] + v[4] + v[5], v[3], v[4], v[5]);
    else if (h->pg)
        say(c, s,
            "%.0f of %.0f rows have content (%.0f NULL, empty or whitespace only); PostgreSQL "
            "text is always valid UTF-8",
            v[1], v[0], v[0] - v[1]);
    else
        say(c, s,
            "%.0f of %.0f rows have content (%.0f NULL, empty or whitespace only, %.0f not valid "
            "UTF-8: ingest quarantines those)",
            v[1], v[0], v[0] - v[1] - v[2], v[2]);
done:
    free(sql);
}

/* Stages one sample row as ingest would; *kept counts the rows staging keeps (not skipped). A
 * row ingest quarantines (NULL id, content not valid UTF-8, a timestamp that is not finite) is
 * read but not kept. */
static void stage_sample(hctx *h, eg_concepts *cc, eg_buf *out, int64_t window, const char *id,
                         const char *content, double created, double updated, const char *meta,
                         int *kept)
{
    if (!id || (content && !eg_utf8_valid(content, strlen(content), NULL)))
        return;
    eg_record r = {.id = id, .id_len = strlen(id)};
    eg_staged g;
    if (content) {
        r.content = content;
        r.content_len = strlen(content);
    }
    r.has_created = !isnan(created);
    if (r.has_created && !to_us(created, &r.created_at))
        return;
    r.has_updated = !isnan(updated);
    if (r.has_updated && !to_us(updated, &r.updated_at))
        return;
    if (meta) {
        r.metadata = meta;
        r.metadata_len = strlen(meta);
    }
    eg_buf_reset(out);
    if (!eg_stage_record(&r, h->now, window, cc, &g, out) && g.skip == EG_SKIP_NONE)
        ++*kept;
}

/* Reads up to the sample size of the newest rows with a finite created_at and stages them;
 * returns rows read or -1, *kept the rows staging keeps. */
static int staging_sample(hctx *h, int *kept, char *err, size_t errcap)
{
    eg_concepts *cc = NULL;
    eg_buf out;
    int n = -1;
    int64_t window = eg_staging_window_start(h->now, h->cfg->staging_max_age_months,
                                             h->cfg->staging_max_age_days);
    /* the newest rows with a finite created_at: in DESC order NULL and infinity come first in
     * PostgreSQL, and the embedded source's text and Unix seconds sort apart, so SQLite orders
     * by the µs value */
    char *sql = dup_printf("SELECT CAST(%s AS text), CAST(%s AS text), %s, %s, CAST(%s AS text) "
                           "FROM %s WHERE %s ORDER BY %s DESC LIMIT %d",
                           h->id_q, h->content_q, h->created_expr, h->updated_expr, h->metadata_q,
                           h->table_q, h->created_ok, h->pg ? h->created_q : h->created_expr,
                           EG__HEALTH_STAGING_SAMPLE);
    eg_buf_init(&out, 0);
    if (!sql || eg_concepts_new(&cc, h->cfg->staging_language, h->cfg->staging_max_concepts)) {
        snprintf(err, errcap, "could not prepare the sample");
        goto done;
    }
    if (h->pg) {
        PGresult *res = PQexec(h->pg, sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            snprintf(err, errcap, "%s", PQresultErrorMessage(res));
            err[strcspn(err, "\n")] = '\0';
        } else {
            n = PQntuples(res);
            for (int i = 0; i < n; i++) {
#define PGV(col) (PQgetisnull(res, i, col) ? NULL : PQgetvalue(res, i, col))
#define PGD(col) (PQgetisnull(res, i, col) ? NAN : strtod(PQgetvalue(res, i, col), NULL))
                stage_sample(h, cc, &out, window, PGV(0), PGV(1), PGD(2), PGD(3), PGV(4), kept);
#undef PGV
#undef PGD
            }
        }
        PQclear(res);
    } else {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(h->sdb, sql, -1, &s, NULL) != SQLITE_OK) {
            snprintf(err, errcap, "%s", sqlite3_errmsg(h->sdb));
        } else {
            n = 0;
            while (sqlite3_step(s) == SQLITE_ROW) {
                double d[2];
                for (int j = 0; j < 2; j++)
                    d[j] = sqlite3_column_type(s, 2 + j) == SQLITE_NULL
                               ? NAN
                               : sqlite3_column_double(s, 2 + j);
                stage_sample(h, cc, &out, window, (const char *)sqlite3_column_text(s, 0),
                             (const char *)sqlite3_column_text(s, 1), d[0], d[1],
                             (const char *)sqlite3_column_text(s, 4), kept);
                n++;
            }
        }
        sqlite3_finalize(s);
    }
done:
    eg_concepts_free(cc);
    eg_buf_free(&out);
    free(sql);
    return n;
}

/* 5: performance — the measured latency of count(*) and of reading + staging a sample. */
static void check_performance(hctx *h)
{
    eg_health_check *c = &h->rep->checks[C_PERFORMANCE];
    double count_t = (double)h->cfg->health_count_target / 1e3,
           stage_t = (double)h->cfg->health_staging_target / 1e3;
    snprintf(c->threshold, sizeof c->threshold, "count < %.0f ms, staging %d rows < %.0f ms",
             count_t, EG__HEALTH_STAGING_SAMPLE, stage_t);
    if (!source_ready(h, c))
        return;
    if (!h->count_measured) {
        say(c, EG_HEALTH_UNKNOWN, "the row count failed (see volume)");
        return;
    }
    struct timespec t0;
    char err[512];
    int kept = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n = staging_sample(h, &kept, err, sizeof err);
    double stage_ms = ms_since(&t0);
    if (n < 0) {
        say(c, EG_HEALTH_UNKNOWN, "count(*) took %.1f ms; the staging sample failed: %s",
            h->count_ms, err);
        return;
    }
    measured(c, stage_ms);
    bool slow = h->count_ms > count_t || stage_ms > stage_t;
    say(c, slow ? EG_HEALTH_WARNING : EG_HEALTH_OK,
        "count(*) %.1f ms%s; read + staged %d rows (%d kept) in %.1f ms%s", h->count_ms,
        h->count_ms > count_t ? " (slow)" : "", n, kept, stage_ms,
        stage_ms > stage_t ? " (slow)" : "");
}

/* 6: schema — the required columns and their types, as eg_source_open read them from the
 * catalog. */
static void check_schema(hctx *h)
{
    eg_health_check *c = &h->rep->checks[C_SCHEMA];
    snprintf(c->threshold, sizeof c->threshold,
             "id, content, created_at, updated_at, metadata with compatible types");
    if (h->src) {
        measured(c, 5);
        say(c, EG_HEALTH_OK, "the 5 mapped columns exist with compatible types (%s catalog)",
            eg_source_kind(h->src));
    } else if (h->open_rc == EG_ESCHEMA) {
        /* no value: the source stops at the first column that does not match, so how many do
         * is not known (it said 0 columns when four of five were right) */
        say(c, EG_HEALTH_CRITICAL, "%s", h->open_msg);
    } else {
        say(c, EG_HEALTH_UNKNOWN, "not checked: the source could not be opened (see connection)");
    }
}

/* 7: transformation readiness — eligible rows at the source, the last run, the checkpoint lag. */
static void check_readiness(hctx *h)
{
    eg_health_check *c = &h->rep->checks[C_READINESS];
    double lag_h = (double)h->cfg->health_checkpoint_lag / 3.6e9;
    eg_health_status s = EG_HEALTH_OK;
    char part[3][256] = {"", "", ""};
    snprintf(c->threshold, sizeof c->threshold,
             "eligible rows > 0, last run ok, checkpoint lag <= %g h", lag_h);
    /* eligible rows at the source */
    if (h->pg || h->sdb) {
        int64_t window = eg_staging_window_start(h->now, h->cfg->staging_max_age_months,
                                                 h->cfg->staging_max_age_days);
        char *sql = window == INT64_MIN
                        ? dup_printf("SELECT count(*) FROM %s WHERE %s AND %s IS NOT NULL",
                                     h->table_q, h->content_ok, h->created_q)
                        : dup_printf("SELECT count(*) FROM %s WHERE %s AND %s > %lld", h->table_q,
                                     h->content_ok, h->created_expr, (long long)window);
        double v[1];
        char err[512];
        if (!sql || query_row(h, sql, 1, v, err, sizeof err)) {
            s = eg_health_worse(s, EG_HEALTH_UNKNOWN);
            snprintf(part[0], sizeof part[0], "eligible rows unknown (%.200s)",
                     sql ? err : "no memory");
        } else {
            if (!(v[0] > 0))
                s = eg_health_worse(s, EG_HEALTH_WARNING);
            snprintf(part[0], sizeof part[0], "%.0f eligible rows in the staging window", v[0]);
        }
        free(sql);
    } else {
        s = eg_health_worse(s, EG_HEALTH_UNKNOWN);
        snprintf(part[0], sizeof part[0], "eligible rows unknown (source not open)");
    }
    /* a store that runs cannot open either (a newer engram's, a damaged file) is critical; one
     * that another engram held past the busy timeout is only not measured */
    if (!h->st && h->store_msg[0]) {
        s = eg_health_worse(s, h->store_busy ? EG_HEALTH_UNKNOWN : EG_HEALTH_CRITICAL);
        say(c, s, "%s; the store could not be opened: %s", part[0], h->store_msg);
        return;
    }
    if (!h->st) {
        s = eg_health_worse(s, EG_HEALTH_WARNING);
        say(c, s,
            "%s; no store: nothing has been transformed yet (run `engram init`, `engram run`)",
            part[0]);
        return;
    }
    /* the last finished run */
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(eg_store_db(h->st),
                           "SELECT run_id, command, outcome, coalesce(error, '') FROM runs "
                           "WHERE outcome <> 'running' ORDER BY run_id DESC LIMIT 1",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        const char *outcome = (const char *)sqlite3_column_text(q, 2);
        bool okrun = outcome && !strcmp(outcome, "ok");
        if (!okrun)
            s = eg_health_worse(s, EG_HEALTH_CRITICAL);
        snprintf(part[1], sizeof part[1], "last run #%lld (%s) %s%s%.120s",
                 (long long)sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1),
                 outcome ? outcome : "?", okrun ? "" : ": ",
                 okrun ? "" : (const char *)sqlite3_column_text(q, 3));
    } else {
        s = eg_health_worse(s, EG_HEALTH_WARNING);
        snprintf(part[1], sizeof part[1], "no run yet");
    }
    sqlite3_finalize(q);
    int64_t at = 0;
    bool found = false;
    if (eg_store_checkpoint(h->st, &at, &found) || !found) {
        s = eg_health_worse(s, EG_HEALTH_WARNING);
        snprintf(part[2], sizeof part[2], "no pipeline checkpoint (run `engram run`)");
    } else {
        double lag = (double)(h->now - at) / 3.6e9;
        bool ahead = at - h->now > h->cfg->validate_future_skew;
        measured(c, lag);
        if (h->now - at > h->cfg->health_checkpoint_lag || ahead)
            s = eg_health_worse(s, EG_HEALTH_WARNING);
        snprintf(part[2], sizeof part[2], "checkpoint lag %.2f h%s", lag,
                 ahead ? " (the checkpoint is after now: clock skew, or --now before the last run)"
                 : h->now - at > h->cfg->health_checkpoint_lag ? " (too old)"
                                                               : "");
    }
    say(c, s, "%s; %s; %s", part[0], part[1], part[2]);
}

/* 8: pipeline stages — from the store: statuses, short-term backlog, consolidation lag,
 * long-term size, working memory utilisation, failed runs in the last hour of the wall clock. */
static void check_pipeline(hctx *h)
{
    eg_health_check *c = &h->rep->checks[C_PIPELINE];
    snprintf(c->threshold, sizeof c->threshold,
             "no failed run in the last hour; backlog <= 50 %% of the pipeline or < %d; "
             "consolidation lag <= 2 x consolidation.interval",
             10 * h->cfg->wm_capacity);
    if (!h->st) {
        say(c, EG_HEALTH_UNKNOWN,
            h->store_msg[0] ? "the store could not be opened (see readiness)"
                            : "no store to read the pipeline from");
        return;
    }
    double v[5], f[1];
    char err[512];
    if (store_row(h,
                  "SELECT count(*), coalesce(sum(status = 'in_wm'), 0), "
                  "coalesce(sum(status = 'in_stm'), 0), coalesce(sum(status = 'consolidated'), 0), "
                  "(SELECT count(*) FROM ltm_record) FROM pipeline",
                  5, v, err, sizeof err)) {
        say(c, EG_HEALTH_UNKNOWN, "could not read the pipeline: %s", err);
        return;
    }
    /* an interrupted run (its process died) has no finished_at: it counts from its start */
    char *sql = dup_printf("SELECT count(*) FROM runs WHERE outcome IN ('failed', 'interrupted') "
                           "AND coalesce(finished_at, started_at) >= %lld",
                           (long long)(eg_time_now() - 3600 * (int64_t)EG_USEC_PER_SEC));
    if (!sql || store_row(h, sql, 1, f, err, sizeof err)) {
        free(sql);
        say(c, EG_HEALTH_UNKNOWN, "could not read the runs: %s", err);
        return;
    }
    free(sql);
    /* consolidation lag: the longest a ready short-term item has waited for a replay at the
     * last checkpoint, since it became ready or since its last replay. A ready item is replayed
     * at every consolidation.interval until it consolidates or, after max_replays, is forgotten;
     * counted from ready_at alone, an item in that cycle looked up to max_replays intervals
     * late when it had just been replayed. */
    double lag[1];
    if (store_row(h,
                  "SELECT coalesce(max(cp - max(p.ready_at, coalesce((SELECT max(r.at) FROM "
                  "presentation r WHERE r.memory_rowid = p.memory_rowid AND r.kind = 'replayed' "
                  "AND r.at <= cp), p.ready_at))), 0) FROM pipeline p, (SELECT value AS cp FROM "
                  "sim_state WHERE key = 'checkpoint') WHERE p.status = 'in_stm' AND "
                  "p.ready_at <= cp",
                  1, lag, err, sizeof err)) {
        say(c, EG_HEALTH_UNKNOWN, "could not read the consolidation lag: %s", err);
        return;
    }
    double lag_s = lag[0] / 1e6, lag_max = 2.0 * (double)h->cfg->consolidation_interval / 1e6;
    double total = v[0], wm = v[1], stm = v[2], cons = v[3], ltm = v[4];
    double util = h->cfg->wm_capacity > 0 ? 100.0 * wm / h->cfg->wm_capacity : 0;
    measured(c, stm);
    bool big = stm >= 10.0 * h->cfg->wm_capacity && stm > 0.5 * total;
    eg_health_status s = f[0] > 0 || big || lag_s > lag_max ? EG_HEALTH_WARNING : EG_HEALTH_OK;
    if (total == 0 && !(f[0] > 0)) {
        say(c, EG_HEALTH_UNKNOWN,
            "the pipeline is empty (no `engram run` yet); %.0f failed runs "
            "in the last hour",
            f[0]);
        return;
    }
    say(c, s,
        "%.0f in the pipeline: working memory %.0f/%d (%.0f %%), short-term backlog %.0f%s, "
        "consolidation lag %.0f s%s, consolidated %.0f, long-term %.0f; %.0f failed run%s in "
        "the last hour",
        total, wm, h->cfg->wm_capacity, util, stm, big ? " (large)" : "", lag_s,
        lag_s > lag_max ? " (late)" : "", cons, ltm, f[0], f[0] == 1 ? "" : "s");
}

/* Whether this target's results were recorded less than gap before now (0: never so); the note
 * then says when. */
static bool recorded_lately(hctx *h, int64_t gap)
{
    sqlite3_stmt *s = NULL;
    bool lately = false;
    if (gap <= 0 || sqlite3_prepare_v2(eg_store_db(h->st),
                                       "SELECT max(at) FROM health_history WHERE check_name = "
                                       "'connection' AND target = ?1 AND at <= ?2",
                                       -1, &s, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_text(s, 1, h->rep->target, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, h->now);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        int64_t last = sqlite3_column_int64(s, 0);
        if (h->now - last < gap) {
            char when[EG_TIME_BUFSZ];
            eg_time_format(last, when);
            lately = true;
            snprintf(h->rep->note, sizeof h->rep->note,
                     "not recorded: this target's results were recorded at %s, and serve records "
                     "them at most every %llds (health.record_interval)",
                     when, (long long)(gap / 1000000));
        }
    }
    sqlite3_finalize(s);
    return lately;
}

/* Appends one row per check to health_history, in one transaction. */
static void record(hctx *h)
{
    eg_health_report *r = h->rep;
    sqlite3_stmt *s = NULL;
    if (eg_store_begin(h->st))
        goto fail;
    if (sqlite3_prepare_v2(eg_store_db(h->st),
                           "INSERT INTO health_history (at, target, check_name, status, value, "
                           "threshold, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &s, NULL) != SQLITE_OK)
        goto rollback;
    for (int i = 0; i < EG_HEALTH_NCHECKS; i++) {
        const eg_health_check *c = &r->checks[i];
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, r->at);
        sqlite3_bind_text(s, 2, r->target, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, c->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, eg_health_status_name(c->status), -1, SQLITE_STATIC);
        if (c->has_value)
            sqlite3_bind_double(s, 5, c->value);
        else
            sqlite3_bind_null(s, 5);
        sqlite3_bind_text(s, 6, c->threshold, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, c->message, -1, SQLITE_STATIC);
        if (sqlite3_step(s) != SQLITE_DONE)
            goto rollback;
    }
    sqlite3_finalize(s);
    s = NULL;
    /* the history's retention: each check's results older than health.history_keep go (the
     * volume check compares with its last 30; at one result an hour, 90 days keep 2,160) */
    if (h->cfg->health_history_keep > 0) {
        if (sqlite3_prepare_v2(eg_store_db(h->st),
                               "DELETE FROM health_history WHERE check_name = ?1 AND at < ?2", -1,
                               &s, NULL) != SQLITE_OK)
            goto rollback;
        for (int i = 0; i < EG_HEALTH_NCHECKS; i++) {
            sqlite3_reset(s);
            sqlite3_bind_text(s, 1, r->checks[i].name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 2, r->at - h->cfg->health_history_keep);
            if (sqlite3_step(s) != SQLITE_DONE)
                goto rollback;
        }
        sqlite3_finalize(s);
        s = NULL;
    }
    if (eg_store_commit(h->st))
        goto fail;
    r->recorded = true;
    snprintf(r->note, sizeof r->note, "%d results appended to the history of store %s",
             EG_HEALTH_NCHECKS, h->cfg->store);
    return;
rollback:
    sqlite3_finalize(s);
    eg_store_rollback(h->st);
fail:
    if ((sqlite3_errcode(eg_store_db(h->st)) & 0xff) == SQLITE_BUSY)
        snprintf(r->note, sizeof r->note,
                 "store %s busy (another engram, a run or an import, held its write lock): "
                 "results not recorded",
                 h->cfg->store);
    else
        snprintf(r->note, sizeof r->note, "could not record the results in store %s: %s",
                 h->cfg->store, sqlite3_errmsg(eg_store_db(h->st)));
}

int eg_health_run(const eg_config *cfg, int64_t now, eg_health_report *out)
{
    return eg_health_run_wait(cfg, now, 0, 0, out);
}

int eg_health_run_wait(const eg_config *cfg, int64_t now, int busy_ms, int64_t record_gap,
                       eg_health_report *out)
{
    static const struct {
        const char *name, *unit;
    } names[EG_HEALTH_NCHECKS] = {
        [C_CONNECTION] = {"connection", "ms"},   [C_FRESHNESS] = {"freshness", "h"},
        [C_VOLUME] = {"volume", "rows"},         [C_QUALITY] = {"quality", "%"},
        [C_PERFORMANCE] = {"performance", "ms"}, [C_SCHEMA] = {"schema", "columns"},
        [C_READINESS] = {"readiness", "h"},      [C_PIPELINE] = {"pipeline", "rows"},
    };
    hctx h = {.cfg = cfg, .now = now, .rep = out, .busy_ms = busy_ms};
    struct stat sb;
    memset(out, 0, sizeof *out);
    out->at = now;
    for (int i = 0; i < EG_HEALTH_NCHECKS; i++) {
        out->checks[i].name = names[i].name;
        out->checks[i].unit = names[i].unit;
        out->checks[i].status = EG_HEALTH_UNKNOWN;
    }
    /* the store is opened only if it exists: health creates nothing */
    if (cfg->store && stat(cfg->store, &sb) == 0) {
        eg_error_clear();
        if (eg_store_open(&h.st, cfg->store, 0)) {
            snprintf(out->note, sizeof out->note,
                     "store %.200s could not be opened: %.120s; "
                     "nothing recorded",
                     cfg->store, eg_error_last()->message);
            snprintf(h.store_msg, sizeof h.store_msg, "%.200s", eg_error_last()->message);
            h.store_busy = eg_error_last()->code == EG_EBUSY;
        } else
            out->store_found = true;
        if (h.st && busy_ms > 0)
            eg_store_set_busy_timeout(h.st, busy_ms);
    } else {
        snprintf(out->note, sizeof out->note,
                 "store %s does not exist: nothing recorded, store "
                 "checks have no history",
                 cfg->store ? cfg->store : "(none)");
    }
    check_connection(&h);
    check_freshness(&h);
    check_volume(&h);
    check_quality(&h);
    check_performance(&h);
    check_schema(&h);
    check_readiness(&h);
    check_pipeline(&h);
    out->status = EG_HEALTH_OK;
    for (int i = 0; i < EG_HEALTH_NCHECKS; i++)
        out->status = eg_health_worse(out->status, out->checks[i].status);
    if (h.st && record_gap < 0)
        snprintf(out->note, sizeof out->note, "not recorded (a HEAD request changes nothing)");
    else if (h.st && !recorded_lately(&h, record_gap))
        record(&h);
    eg_store_close(h.st);
    eg_source_close(h.src);
    sqlite3_close(h.sdb);
    free(h.table_q);
    free(h.content_q);
    free(h.created_q);
    free(h.updated_q);
    free(h.id_q);
    free(h.metadata_q);
    free(h.created_expr);
    free(h.updated_expr);
    free(h.content_ok);
    for (int i = 0; i < 3; i++)
        free(h.bad_utf8[i]);
    free(h.created_ok);
    eg_error_clear();
    return 0;
}

/* The JSON of `engram health --json` and of /health (SPEC §10). */
json_t *eg_health_report_json(const eg_health_report *r)
{
    char at[40];
    json_t *o = json_object(), *checks = json_array();
    eg_time_format(r->at, at);
    json_object_set_new(o, "status", json_string(eg_health_status_name(r->status)));
    json_object_set_new(o, "at", json_string(at));
    json_object_set_new(o, "target", json_string(r->target));
    for (int i = 0; i < EG_HEALTH_NCHECKS; i++) {
        const eg_health_check *c = &r->checks[i];
        json_t *j = json_object();
        json_object_set_new(j, "name", json_string(c->name));
        json_object_set_new(j, "status", json_string(eg_health_status_name(c->status)));
        json_object_set_new(j, "value",
                            c->has_value && isfinite(c->value) ? json_real(c->value) : json_null());
        json_object_set_new(j, "threshold", json_string(c->threshold));
        json_object_set_new(j, "unit", json_string(c->unit));
        json_object_set_new(j, "message", json_string(c->message));
        json_array_append_new(checks, j);
    }
    json_object_set_new(o, "checks", checks);
    json_object_set_new(o, "store_found", json_boolean(r->store_found));
    json_object_set_new(o, "recorded", json_boolean(r->recorded));
    json_object_set_new(o, "note", json_string(r->note));
    return o;
}
