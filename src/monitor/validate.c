/*
 * validate.c — data validation rules (SPEC §11) over the source and the store.
 *
 * Each rule is one SQL statement built from the configured (quoted) column names and run where
 * the data lives: pushed down to PostgreSQL, or as SQLite SQL on the store's `memories` (the
 * embedded source) and `memory` (staged) tables. Values travel as parameters: $1/?1 the example
 * limit, $2/?2 now, $3/?3 the future skew (µs), $4/?4 the length bound, $5/$6 the volume window.
 * The only rule partly computed in C is volume (mean and sigma over at most 30 day counts) and
 * metadata held in a PostgreSQL text column (JSON parsed here, bounded). Results go to the
 * store's validation table in one transaction. It does not repair anything.
 */
#include "monitor/validate.h"

#include "engram/error.h"
#include "source/postgres_int.h"
#include "source/source.h"
#include "store/store.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#include <libpq-fe.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_US INT64_C(86400000000)
#define VOLUME_DAYS 30
#define TEXT_METADATA_MAX 100000 /* rows of a text metadata column checked in C */
#define NRULES_PER_TARGET 13

typedef struct vctx {
    const eg_config *cfg;
    int64_t now;
    int nex;
    PGconn *pg;  /* PostgreSQL, or */
    sqlite3 *db; /* SQLite */
    const char *target;
    bool staged; /* the store's `memory` table (integer µs timestamps, content_hash) */
    bool meta_text;
    bool meta_json; /* a PostgreSQL json (not jsonb) column: its text may hold \u0000 */
    bool sql_ascii; /* a PostgreSQL database of encoding SQL_ASCII: its text may be any bytes */
    char *t, *id, *content, *created, *updated, *meta; /* SQL expressions */
    char *created_raw, *updated_raw, *meta_raw;        /* the columns as stored */
    char *created_ok, *updated_ok; /* conditions: a finite timestamp ingest can read */
    char *created_us, *dupkey, *future, *agg_prefix;
    eg_validate_report *rep;
} vctx;

typedef int (*row_fn)(int ncols, char **vals, void *ud);

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(NULL, 0, f, ap);
    va_end(ap);
    char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!p)
        return NULL;
    va_start(ap, f);
    vsnprintf(p, (size_t)n + 1, f, ap);
    va_end(ap);
    return p;
}

static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

/* Runs sql with the six parameters, calling fn per row (NULL values are NULL pointers). */
static int run_sql(vctx *c, const char *sql, row_fn fn, void *ud)
{
    char p[6][32];
    int64_t start = (c->now / DAY_US - VOLUME_DAYS) * DAY_US;
    snprintf(p[0], sizeof p[0], "%d", c->nex);
    snprintf(p[2], sizeof p[2], "%lld", (long long)c->cfg->validate_future_skew);
    snprintf(p[3], sizeof p[3], "%d", c->cfg->validate_max_length);
    snprintf(p[4], sizeof p[4], "%lld", (long long)start);
    snprintf(p[5], sizeof p[5], "%lld", (long long)(start + VOLUME_DAYS * DAY_US));
    int rc = 0;
    if (c->pg) {
        static const Oid types[6] = {20, 1184, 20, 20, 20, 20};
        char nowbuf[40];
        eg_time_format(c->now, nowbuf);
        const char *vals[6] = {p[0], nowbuf, p[2], p[3], p[4], p[5]};
        PGresult *res = PQexecParams(c->pg, sql, 6, types, vals, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            char msg[512];
            snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(res));
            one_line(msg);
            PQclear(res);
            return eg_error_set(PQstatus(c->pg) == CONNECTION_OK ? EG_ESOURCE : EG_EUNAVAIL,
                                "a validation query failed on the source: %s", msg);
        }
        int nc = PQnfields(res);
        char *row[8];
        for (int r = 0; r < PQntuples(res) && !rc; r++) {
            for (int k = 0; k < nc && k < 8; k++)
                row[k] = PQgetisnull(res, r, k) ? NULL : PQgetvalue(res, r, k);
            rc = fn(nc, row, ud);
        }
        PQclear(res);
        return rc;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
        return eg_error_set(EG_ESTORE, "a validation query failed: %s", sqlite3_errmsg(c->db));
    int np = sqlite3_bind_parameter_count(st);
    for (int k = 1; k <= np && k <= 6; k++) {
        if (k == 2)
            sqlite3_bind_int64(st, k, c->now);
        else
            sqlite3_bind_int64(st, k, strtoll(p[k - 1], NULL, 10));
    }
    int s;
    char *row[8];
    while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
        int nc = sqlite3_column_count(st);
        for (int k = 0; k < nc && k < 8; k++)
            row[k] = (char *)sqlite3_column_text(st, k);
        rc = fn(nc, row, ud);
    }
    if (!rc && s != SQLITE_DONE)
        rc = eg_error_set(EG_ESTORE, "a validation query failed: %s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
    return rc;
}

static eg_valid_rule *new_rule(vctx *c, const char *name)
{
    eg_validate_report *r = c->rep;
    eg_valid_rule *nr = realloc(r->rules, (size_t)(r->nrules + 1) * sizeof *nr);
    if (!nr)
        return NULL;
    r->rules = nr;
    eg_valid_rule *u = &nr[r->nrules++];
    memset(u, 0, sizeof *u);
    u->target = c->target;
    u->rule = name;
    u->threshold = c->cfg->validate_threshold;
    u->status = EG_VALID_UNKNOWN;
    return u;
}

static void add_example(eg_valid_rule *u, const char *id, int max)
{
    if (u->nexamples >= max)
        return;
    char **e = realloc(u->examples, (size_t)(u->nexamples + 1) * sizeof *e);
    if (!e)
        return;
    u->examples = e;
    /* an id that is not UTF-8 (a SQLite source may hold one) with U+FFFD for its bad bytes, as
     * trace shows it: jansson refuses it, and the JSON lost it */
    if (!id)
        id = "(null)";
    e[u->nexamples] = eg_utf8_scrub(id, strlen(id));
    if (e[u->nexamples])
        u->nexamples++;
}

static void settle(eg_valid_rule *u)
{
    u->percent = u->total > 0 ? 100.0 * (double)u->count / (double)u->total : 0;
    u->status = u->count == 0               ? EG_VALID_OK
                : u->percent > u->threshold ? EG_VALID_CRITICAL
                                            : EG_VALID_WARNING;
}

typedef struct count_ud {
    vctx *c;
    eg_valid_rule *u;
} count_ud;

/* A row of count, total, JSON array of example ids. */
static int take_counts(int nc, char **v, void *ud)
{
    count_ud *cu = ud;
    if (nc < 3)
        return 0;
    cu->u->count = v[0] ? strtoll(v[0], NULL, 10) : 0;
    cu->u->total = v[1] ? strtoll(v[1], NULL, 10) : 0;
    /* scrubbed first: one id that is not UTF-8 made jansson refuse the whole array, and the
     * rule lost every example */
    char *text = v[2] ? eg_utf8_scrub(v[2], strlen(v[2])) : NULL;
    json_t *a = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    free(text);
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x)
    {
        char buf[64];
        const char *s = json_string_value(x);
        if (!s && json_is_integer(x)) {
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(x));
            s = buf;
        }
        add_example(cu->u, s, cu->c->nex);
    }
    json_decref(a);
    return 0;
}

static void rule_failed(eg_valid_rule *u)
{
    u->status = EG_VALID_UNKNOWN;
    free(u->detail);
    u->detail = strdup(eg_error_last()->message);
}

/* Runs rule `name` as one query (sql, consumed) whose rows fn turns into the rule's counts. */
static int run_rule(vctx *c, const char *name, char *sql, row_fn fn)
{
    eg_valid_rule *u = new_rule(c, name);
    if (!u || !sql) {
        free(sql);
        return eg_error_set(EG_ENOMEM, "out of memory validating");
    }
    count_ud cu = {c, u};
    int rc = run_sql(c, sql, fn, &cu);
    free(sql);
    if (rc)
        rule_failed(u);
    else
        settle(u);
    return rc;
}

static int run_counts(vctx *c, const char *name, char *sql)
{
    return run_rule(c, name, sql, take_counts);
}

/* A rule whose failing rows satisfy the predicate p. */
static int predicate_rule(vctx *c, const char *name, const char *p)
{
    const char *lim = c->pg ? "$1" : "?1";
    return run_counts(c, name,
                      fmt("SELECT coalesce(sum(CASE WHEN %s THEN 1 ELSE 0 END), 0), count(*),"
                          " (SELECT %s(i) FROM (SELECT %s AS i FROM %s WHERE %s ORDER BY 1 LIMIT "
                          "%s) x) FROM %s",
                          p, c->agg_prefix, c->id, c->t, p, lim, c->t));
}

static int rule_uniqueness(vctx *c)
{
    const char *lim = c->pg ? "$1" : "?1";
    return run_counts(
        c, "uniqueness",
        fmt("SELECT (SELECT count(*) FROM %1$s WHERE %2$s IS NULL) + coalesce((SELECT sum(n) FROM"
            " (SELECT count(*) AS n FROM %1$s WHERE %2$s IS NOT NULL GROUP BY %2$s"
            " HAVING count(*) > 1) d), 0), (SELECT count(*) FROM %1$s),"
            " (SELECT %3$s(i) FROM (SELECT %2$s AS i FROM %1$s WHERE %2$s IS NOT NULL GROUP BY"
            " %2$s HAVING count(*) > 1 ORDER BY 1 LIMIT %4$s) x)",
            c->t, c->id, c->agg_prefix, lim));
}

static int rule_duplicates(vctx *c)
{
    const char *lim = c->pg ? "$1" : "?1";
    return run_counts(
        c, "duplicates",
        fmt("WITH g AS (SELECT %2$s AS k FROM %1$s WHERE %2$s IS NOT NULL AND %5$s <> ''"
            " GROUP BY 1 HAVING count(*) > 1)"
            " SELECT (SELECT count(*) FROM %1$s WHERE %2$s IN (SELECT k FROM g)),"
            " (SELECT count(*) FROM %1$s),"
            " (SELECT %3$s(i) FROM (SELECT %6$s AS i FROM %1$s WHERE %2$s IN (SELECT k FROM g)"
            " ORDER BY 1 LIMIT %4$s) x)",
            c->t, c->dupkey, c->agg_prefix, lim, c->content, c->id));
}

static bool metadata_ok(const char *text)
{
    json_t *m = json_loads(text, JSON_DECODE_ANY, NULL);
    bool ok = json_is_object(m);
    json_t *cs = ok ? json_object_get(m, "concepts") : NULL;
    if (cs) {
        size_t i;
        json_t *x;
        ok = json_is_array(cs);
        json_array_foreach(cs, i, x) if (!json_is_string(x) && !json_is_number(x)) ok = false;
    }
    json_decref(m);
    return ok;
}

static int take_text_metadata(int nc, char **v, void *ud)
{
    count_ud *cu = ud;
    if (nc < 3)
        return 0;
    cu->u->total = v[2] ? strtoll(v[2], NULL, 10) : 0;
    if (v[1] && !metadata_ok(v[1])) {
        cu->u->count++;
        add_example(cu->u, v[0], cu->c->nex);
    }
    return 0;
}

static int rule_metadata(vctx *c)
{
    if (c->meta_text) {
        /* text column: invalid JSON would make a cast fail the whole query, so parse here */
        return run_rule(c, "metadata",
                        fmt("SELECT %1$s, %2$s::text, (SELECT count(*) FROM %3$s) FROM %3$s "
                            "WHERE %2$s IS NOT NULL ORDER BY 1 LIMIT %4$d",
                            c->id, c->meta, c->t, TEXT_METADATA_MAX),
                        take_text_metadata);
    }
    char *p;
    if (c->pg) {
        const char *m = c->meta;
        p = fmt("(CASE WHEN %2$s IS NULL THEN false"
                " WHEN jsonb_typeof(%1$s) <> 'object' THEN true"
                " WHEN NOT (%1$s ? 'concepts') THEN false"
                " WHEN jsonb_typeof(%1$s -> 'concepts') <> 'array' THEN true"
                " ELSE EXISTS (SELECT 1 FROM jsonb_array_elements(%1$s -> 'concepts') e"
                " WHERE jsonb_typeof(e) NOT IN ('string', 'number')) END)",
                m, c->meta_raw);
    } else {
        p = fmt("(CASE WHEN %1$s IS NULL THEN 0 WHEN NOT json_valid(%1$s) THEN 1"
                " WHEN json_type(%1$s) <> 'object' THEN 1"
                " WHEN json_type(%1$s, '$.concepts') IS NULL THEN 0"
                " WHEN json_type(%1$s, '$.concepts') <> 'array' THEN 1"
                " ELSE EXISTS (SELECT 1 FROM json_each(%1$s, '$.concepts')"
                " WHERE type NOT IN ('text', 'integer', 'real')) END)",
                c->meta);
    }
    if (!p)
        return eg_error_set(EG_ENOMEM, "out of memory validating");
    int rc = predicate_rule(c, "metadata", p);
    free(p);
    return rc;
}

typedef struct vol_ud {
    int64_t n[VOLUME_DAYS];
    int64_t first; /* the table's earliest created_at (µs), when has_first */
    bool has_first;
} vol_ud;

static int take_volume(int nc, char **v, void *ud)
{
    vol_ud *vu = ud;
    if (nc < 3 || !v[0] || !v[1])
        return 0;
    long long b = strtoll(v[0], NULL, 10);
    if (b >= 0 && b < VOLUME_DAYS)
        vu->n[b] = strtoll(v[1], NULL, 10);
    if (v[2]) {
        vu->first = strtoll(v[2], NULL, 10);
        vu->has_first = true;
    }
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Per-day counts over the whole UTC days before now's day, at most VOLUME_DAYS of them, and
 * none before the first whole day after the table's earliest row: days before the source
 * existed are not history, and counted as 0 they made a source's first days a CRITICAL spike
 * (and its first, partly covered day a drop). */
static int rule_volume(vctx *c)
{
    eg_valid_rule *u = new_rule(c, "volume");
    const char *lo = c->pg ? "$5" : "?5", *hi = c->pg ? "$6" : "?6";
    char *sql = fmt("SELECT (%1$s - %2$s) / %4$lld, count(*), (SELECT min(%1$s) FROM %5$s)"
                    " FROM %5$s WHERE %1$s >= %2$s AND %1$s < %3$s GROUP BY 1",
                    c->created_us, lo, hi, (long long)DAY_US, c->t);
    if (!u || !sql) {
        free(sql);
        return eg_error_set(EG_ENOMEM, "out of memory validating");
    }
    vol_ud vu = {{0}, 0, false};
    int rc = run_sql(c, sql, take_volume, &vu);
    free(sql);
    if (rc) {
        rule_failed(u);
        return rc;
    }
    int64_t start_day = c->now / DAY_US - VOLUME_DAYS;
    int d0 = 0;
    if (vu.has_first) {
        int64_t after_first = floor_div(vu.first, DAY_US) + 1;
        d0 = after_first - start_day > VOLUME_DAYS ? VOLUME_DAYS
             : after_first > start_day             ? (int)(after_first - start_day)
                                                   : 0;
    }
    int ndays = VOLUME_DAYS - d0;
    double mean = 0, var = 0;
    for (int d = d0; d < VOLUME_DAYS; d++)
        mean += (double)vu.n[d] / ndays;
    for (int d = d0; d < VOLUME_DAYS; d++)
        var += ((double)vu.n[d] - mean) * ((double)vu.n[d] - mean) / ndays;
    double sd = sqrt(var);
    u->total = ndays;
    for (int d = d0; d < VOLUME_DAYS; d++) {
        if (fabs((double)vu.n[d] - mean) > 3 * sd + 1e-9 && sd > 0) {
            int64_t y;
            unsigned mo, da;
            char day[40];
            eg_civil_from_days(start_day + d, &y, &mo, &da);
            snprintf(day, sizeof day, "%04lld-%02u-%02u:%lld", (long long)y, mo, da,
                     (long long)vu.n[d]);
            u->count++;
            add_example(u, day, c->nex);
        }
    }
    if (d0 == 0) {
        u->detail =
            fmt("per-day mean %.2f, sigma %.2f over the %d days before now", mean, sd, VOLUME_DAYS);
    } else {
        int64_t y;
        unsigned mo, da;
        eg_civil_from_days(start_day + d0 - 1, &y, &mo, &da);
        u->detail = ndays > 0 ? fmt("per-day mean %.2f, sigma %.2f over the %d days before now "
                                    "after %04lld-%02u-%02u, the day of the first row",
                                    mean, sd, ndays, (long long)y, mo, da)
                              : fmt("nothing to compare yet: the first row is from "
                                    "%04lld-%02u-%02u, and only whole days after it count",
                                    (long long)y, mo, da);
    }
    settle(u);
    return 0;
}

typedef struct fresh_ud {
    int64_t n, newest, ahead, nonfinite;
    bool has;
} fresh_ud;

static int take_fresh(int nc, char **v, void *ud)
{
    fresh_ud *f = ud;
    if (nc < 4)
        return 0;
    f->n = v[0] ? strtoll(v[0], NULL, 10) : 0;
    f->has = v[1] != NULL;
    f->newest = v[1] ? strtoll(v[1], NULL, 10) : 0;
    f->ahead = v[2] ? strtoll(v[2], NULL, 10) : 0;
    f->nonfinite = v[3] ? strtoll(v[3], NULL, 10) : 0;
    return 0;
}

/* "N row(s) <what>" appended to buf after ", ", when n > 0. */
static void count_phrase(char *buf, size_t cap, int64_t n, const char *what)
{
    size_t len = strlen(buf);
    if (n <= 0 || len >= cap)
        return;
    snprintf(buf + len, cap - len, "%s%lld row%s %s", len ? ", " : "", (long long)n,
             n == 1 ? "" : "s", what);
}

static int rule_freshness(vctx *c)
{
    eg_valid_rule *u = new_rule(c, "freshness");
    /* the newest row at or before now + the skew: later rows (and ±infinity) would hide the age
     * of the real data, so they are counted instead, and make it a warning */
    char *sql = fmt("SELECT count(*), max(CASE WHEN %1$s AND %2$s <= %3$s THEN %4$s END),"
                    " count(CASE WHEN %1$s AND %2$s > %3$s THEN 1 END),"
                    " count(CASE WHEN %5$s IS NOT NULL AND NOT %1$s THEN 1 END) FROM %6$s",
                    c->created_ok, c->created, c->future, c->created_us, c->created_raw, c->t);
    if (!u || !sql) {
        free(sql);
        return eg_error_set(EG_ENOMEM, "out of memory validating");
    }
    fresh_ud f = {0};
    int rc = run_sql(c, sql, take_fresh, &f);
    free(sql);
    if (rc) {
        rule_failed(u);
        return rc;
    }
    int64_t limit = c->cfg->health_stale;
    char ignored[160] = "";
    count_phrase(ignored, sizeof ignored, f.ahead, "dated after now + validate.future_skew");
    count_phrase(ignored, sizeof ignored, f.nonfinite,
                 c->pg ? "with a created_at of ±infinity"
                       : "with a created_at that is not a timestamp");
    u->total = 1;
    u->threshold = 100;
    if (!f.has) {
        u->count = 1;
        u->detail = ignored[0] ? fmt("no row has a created_at at or before now + "
                                     "validate.future_skew; not measured: %s",
                                     ignored)
                               : strdup("no row has a created_at");
    } else {
        char buf[40];
        int64_t age = c->now - f.newest;
        u->count = age > limit || ignored[0] ? 1 : 0;
        u->detail = fmt("newest created_at %s, age %.1f h (stale over %.1f h)%s%s",
                        eg_time_format(f.newest, buf), (double)age / 3.6e9, (double)limit / 3.6e9,
                        ignored[0] ? "; not measured: " : "", ignored);
        if (u->count)
            add_example(u, buf, c->nex);
    }
    u->percent = 100.0 * (double)u->count;
    u->status = u->count ? EG_VALID_WARNING : EG_VALID_OK;
    return 0;
}

/* count, total, example ids as take_counts reads them, then the rows by the field ingest names */
static int take_utf8_counts(int nc, char **v, void *ud)
{
    count_ud *cu = ud;
    if (nc < 6)
        return 0;
    take_counts(nc, v, ud);
    long long n[3];
    for (int i = 0; i < 3; i++)
        n[i] = v[3 + i] ? strtoll(v[3 + i], NULL, 10) : 0;
    free(cu->u->detail);
    cu->u->detail = fmt("a SQL_ASCII database, which stores any bytes: rows whose id, content or "
                        "metadata is not valid UTF-8, by the field ingest quarantines them for: "
                        "%lld id, %lld content, %lld metadata",
                        n[0], n[1], n[2]);
    return 0;
}

/* content_invalid_utf8 in a SQL_ASCII database: the rows ingest quarantines as not UTF-8, which
 * checks the id, the content and the metadata in that order and names the first bad one. Every
 * other server encoding converts what it sends to valid UTF-8: there the rule needs no query. */
static int rule_sql_ascii_utf8(vctx *c)
{
    char *meta = fmt("%s::text", c->meta_raw);
    char *bi = eg__postgres_utf8_invalid(c->id), *bc = eg__postgres_utf8_invalid(c->content);
    char *bm = meta ? eg__postgres_utf8_invalid(meta) : NULL;
    char *sql = bi && bc && bm
                    ? fmt("SELECT count(*) FILTER (WHERE bi OR bc OR bm), count(*),"
                          " (SELECT json_agg(i) FROM (SELECT %1$s AS i FROM %5$s WHERE %2$s OR %3$s"
                          " OR %4$s ORDER BY 1 LIMIT $1) x), count(*) FILTER (WHERE bi),"
                          " count(*) FILTER (WHERE bc AND NOT bi),"
                          " count(*) FILTER (WHERE bm AND NOT bi AND NOT bc)"
                          " FROM (SELECT %2$s AS bi, %3$s AS bc, %4$s AS bm FROM %5$s OFFSET 0) r",
                          c->id, bi, bc, bm, c->t)
                    : NULL;
    free(meta), free(bi), free(bc), free(bm);
    return run_rule(c, "content_invalid_utf8", sql, take_utf8_counts);
}

static int run_rules(vctx *c)
{
    int rc = 0, r;
    char *p;
#define KEEP(x)                                                                                    \
    do {                                                                                           \
        if ((r = (x)) && !rc)                                                                      \
            rc = r;                                                                                \
        if (r == EG_ENOMEM || r == EG_EUNAVAIL)                                                    \
            return rc;                                                                             \
    } while (0)
    KEEP(rule_uniqueness(c));
    /* the time rules compare finite timestamps; the others (±infinity in PostgreSQL, what is
     * not a timestamp in SQLite: rows ingest quarantines) are temporal_nonfinite's */
    p = fmt("(%s AND %s AND %s < %s)", c->created_ok, c->updated_ok, c->updated, c->created);
    KEEP(p ? predicate_rule(c, "temporal_order", p) : EG_ENOMEM);
    free(p);
    p = fmt("((%1$s AND %2$s > %5$s) OR (%3$s AND %4$s > %5$s))", c->created_ok, c->created,
            c->updated_ok, c->updated, c->future);
    KEEP(p ? predicate_rule(c, "temporal_future", p) : EG_ENOMEM);
    free(p);
    p = fmt("((%s IS NOT NULL AND NOT %s) OR (%s IS NOT NULL AND NOT %s))", c->created_raw,
            c->created_ok, c->updated_raw, c->updated_ok);
    KEEP(p ? predicate_rule(c, "temporal_nonfinite", p) : EG_ENOMEM);
    free(p);
    p = fmt("%s IS NULL", c->content);
    KEEP(p ? predicate_rule(c, "content_null", p) : EG_ENOMEM);
    free(p);
    p = fmt("%s = ''", c->content);
    KEEP(p ? predicate_rule(c, "content_empty", p) : EG_ENOMEM);
    free(p);
    p = c->pg ? fmt("%s ~ '^[[:space:]]+$'", c->content)
              : fmt("(%1$s <> '' AND trim(%1$s, ' ' || char(9, 10, 11, 12, 13)) = '')", c->content);
    KEEP(p ? predicate_rule(c, "content_whitespace", p) : EG_ENOMEM);
    free(p);
    if (c->pg && c->sql_ascii) {
        KEEP(rule_sql_ascii_utf8(c));
    } else if (c->pg) {
        /* PostgreSQL text is valid in any server encoding but SQL_ASCII, and the session reads
         * it as UTF-8: nothing to count */
        eg_valid_rule *u = new_rule(c, "content_invalid_utf8");
        if (!u)
            return eg_error_set(EG_ENOMEM, "out of memory validating");
        u->total = u->count = 0;
        for (int k = c->rep->nrules - 2; k >= 0; k--)
            if (c->rep->rules[k].target == c->target &&
                c->rep->rules[k].status != EG_VALID_UNKNOWN) {
                u->total = c->rep->rules[k].total;
                break;
            }
        u->detail = strdup("not applicable: PostgreSQL text is always valid in its encoding");
        settle(u);
    } else {
        p = fmt("eg_utf8_invalid(%s)", c->content);
        KEEP(p ? predicate_rule(c, "content_invalid_utf8", p) : EG_ENOMEM);
        free(p);
    }
    p = c->pg ? fmt("char_length(%s) > $4", c->content) : fmt("length(%s) > ?4", c->content);
    KEEP(p ? predicate_rule(c, "content_too_long", p) : EG_ENOMEM);
    free(p);
    KEEP(rule_metadata(c));
    KEEP(rule_duplicates(c));
    KEEP(rule_volume(c));
    KEEP(rule_freshness(c));
#undef KEEP
    return rc;
}

static void ctx_free_exprs(vctx *c)
{
    free(c->t), free(c->id), free(c->content), free(c->created), free(c->updated), free(c->meta);
    free(c->created_raw), free(c->updated_raw), free(c->meta_raw);
    free(c->created_ok), free(c->updated_ok);
    free(c->created_us), free(c->dupkey), free(c->future);
    c->t = c->id = c->content = c->created = c->updated = c->meta = NULL;
    c->created_raw = c->updated_raw = c->meta_raw = c->created_ok = c->updated_ok = NULL;
    c->created_us = c->dupkey = c->future = NULL;
}

static char *qi(PGconn *pg, const char *name, const char *dflt)
{
    const char *n = name && *name ? name : dflt;
    char *q = PQescapeIdentifier(pg, n, strlen(n));
    char *copy = q ? strdup(q) : NULL;
    PQfreemem(q);
    return copy;
}

static int validate_pg(vctx *c, PGconn *pg, const char *meta_type, bool sql_ascii)
{
    const eg_config *cfg = c->cfg;
    char *s = qi(pg, cfg->source_schema, "public"), *t = qi(pg, cfg->source_table, "memories");
    char *id = qi(pg, cfg->col_id, "id"), *co = qi(pg, cfg->col_content, "content");
    char *cr = qi(pg, cfg->col_created_at, "created_at");
    char *up = qi(pg, cfg->col_updated_at, "updated_at");
    char *me = qi(pg, cfg->col_metadata, "metadata");
    int rc = EG_ENOMEM;
    PGresult *res = NULL;
    c->pg = pg;
    c->sql_ascii = sql_ascii;
    c->agg_prefix = "json_agg";
    if (!s || !t || !id || !co || !cr || !up || !me)
        goto done;
    c->t = fmt("%s.%s", s, t);
    c->id = fmt("%s::text", id);
    c->content = fmt("%s::text", co);
    c->created = fmt("%s::timestamptz", cr);
    c->updated = fmt("%s::timestamptz", up);
    c->created_raw = strdup(cr);
    c->updated_raw = strdup(up);
    c->meta_raw = strdup(me);
    c->created_ok = fmt("isfinite(%s::timestamptz)", cr);
    c->updated_ok = fmt("isfinite(%s::timestamptz)", up);
    /* NULL for ±infinity (and the last years before 294277, beyond int8 µs): ::int8 of
     * those fails the whole query */
    c->created_us = fmt("(CASE WHEN isfinite(%1$s::timestamptz) AND extract(epoch FROM "
                        "%1$s::timestamptz) < 9223372036854 THEN floor(extract(epoch FROM "
                        "%1$s::timestamptz) * 1000000)::int8 END)",
                        cr);
    c->dupkey = fmt("md5(%s::text)", co);
    c->future = strdup("($2 + $3 * interval '1 microsecond')");
    /* the metadata column's type decides how it is checked; the source read it at open */
    const char *type = meta_type && *meta_type ? meta_type : "jsonb";
    c->meta_text = strcmp(type, "jsonb") != 0 && strcmp(type, "json") != 0;
    c->meta_json = strcmp(type, "json") == 0;
    /* jsonb cannot hold \u0000, so the cast of a json value holding one would fail the whole
     * query; ingest reads such metadata as JSON (jansson, JSON_ALLOW_NUL). Every "\u0000" of
     * the text becomes "\u0020" before the cast: the value keeps its validity and shape, which
     * is all the rules look at (after an escaped backslash the text "u0000" stays text). */
    c->meta = c->meta_text   ? strdup(me)
              : c->meta_json ? fmt("replace(%s::text, E'\\\\u0000', E'\\\\u0020')::jsonb", me)
                             : fmt("%s::jsonb", me);
    if (!c->t || !c->id || !c->content || !c->created || !c->updated || !c->created_us ||
        !c->dupkey || !c->future || !c->meta || !c->created_raw || !c->updated_raw ||
        !c->meta_raw || !c->created_ok || !c->updated_ok)
        goto done;
    rc = run_rules(c);
done:
    if (rc == EG_ENOMEM && !eg_error_last()->code)
        eg_error_set(EG_ENOMEM, "out of memory validating");
    PQclear(res);
    free(s), free(t), free(id), free(co), free(cr), free(up), free(me);
    ctx_free_exprs(c);
    c->pg = NULL;
    c->sql_ascii = false;
    return rc;
}

static int validate_sqlite(vctx *c, sqlite3 *db, bool staged)
{
    int rc = EG_ENOMEM;
    c->db = db;
    c->staged = staged;
    c->meta_text = c->meta_json = false;
    c->agg_prefix = "json_group_array";
    eg__sqlite_register_utf8_invalid(db);
    c->t = strdup(staged ? "memory" : "memories");
    c->id = strdup("id");
    c->content = strdup("content");
    c->meta = strdup("metadata");
    c->meta_raw = strdup("metadata");
    c->created_raw = strdup("created_at");
    c->updated_raw = strdup("updated_at");
    c->future = strdup("(?2 + ?3)");
    if (staged) {
        c->created = strdup("created_at");
        c->updated = strdup("updated_at");
        c->created_us = strdup("created_at");
        c->created_ok = strdup("(typeof(created_at) = 'integer')");
        c->updated_ok = strdup("(typeof(updated_at) = 'integer')");
        c->dupkey = strdup("content_hash");
    } else {
        /* ISO 8601 text or Unix seconds, read exactly as ingest reads them (source/sqlite.c) */
        eg__sqlite_register_time_us(db);
        c->created = strdup("eg_time_us(created_at)");
        c->updated = strdup("eg_time_us(updated_at)");
        c->created_us = strdup("eg_time_us(created_at)");
        c->created_ok = strdup("(eg_time_us(created_at) IS NOT NULL)");
        c->updated_ok = strdup("(eg_time_us(updated_at) IS NOT NULL)");
        c->dupkey = strdup("content");
    }
    if (c->t && c->id && c->content && c->meta && c->future && c->created && c->updated &&
        c->created_us && c->dupkey && c->meta_raw && c->created_raw && c->updated_raw &&
        c->created_ok && c->updated_ok)
        rc = run_rules(c);
    else
        eg_error_set(EG_ENOMEM, "out of memory validating");
    ctx_free_exprs(c);
    c->db = NULL;
    return rc;
}

static int validate_source(vctx *c, eg_store *st)
{
    const eg_config *cfg = c->cfg;
    c->target = "source";
    if (!cfg->source && !st)
        return eg_error_set(EG_ENOTFOUND, "no store to read the embedded source from");
    if (!cfg->source)
        return validate_sqlite(c, eg_store_db(st), false);
    if (!strncmp(cfg->source, "sqlite:", 7)) {
        sqlite3 *db = NULL;
        int rc;
        if (sqlite3_open_v2(cfg->source + 7, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
            rc = eg_error_set(EG_EUNAVAIL, "could not open source \"%s\": %s", cfg->source + 7,
                              db ? sqlite3_errmsg(db) : "out of memory");
        } else {
            rc = validate_sqlite(c, db, false);
        }
        sqlite3_close(db);
        return rc;
    }
    eg_source *src = NULL;
    int rc = eg_source_open(&src, cfg);
    if (rc)
        return rc;
    rc = validate_pg(c, eg__postgres_conn(src), eg__postgres_metadata_type(src),
                     eg__postgres_sql_ascii(src));
    eg_source_close(src);
    return rc;
}

const char *eg_valid_status_name(eg_valid_status s)
{
    switch (s) {
    case EG_VALID_OK:
        return "OK";
    case EG_VALID_WARNING:
        return "WARNING";
    case EG_VALID_CRITICAL:
        return "CRITICAL";
    default:
        return "UNKNOWN";
    }
}

static json_t *examples_json(const eg_valid_rule *u)
{
    json_t *a = json_array();
    for (int i = 0; i < u->nexamples; i++)
        json_array_append_new(a, json_string(u->examples[i]));
    return a;
}

static int save(eg_store *st, const eg_validate_report *r)
{
    sqlite3 *db = eg_store_db(st);
    sqlite3_stmt *ins = NULL;
    int rc = eg_store_begin(st);
    if (rc)
        return rc;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO validation (at, target, rule, status, count, total,"
                           " percent, threshold, examples) VALUES (?,?,?,?,?,?,?,?,?)",
                           -1, &ins, NULL) != SQLITE_OK) {
        rc = eg__store_error(st, "could not record the validation");
        goto done;
    }
    for (int i = 0; i < r->nrules; i++) {
        const eg_valid_rule *u = &r->rules[i];
        char th[64];
        if (!strcmp(u->rule, "freshness"))
            snprintf(th, sizeof th, "age > health.stale");
        else
            snprintf(th, sizeof th, "%g%%", u->threshold);
        json_t *ex = examples_json(u);
        char *exs = json_dumps(ex, JSON_COMPACT);
        json_decref(ex);
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, r->at);
        sqlite3_bind_text(ins, 2, u->target, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, u->rule, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 4, eg_valid_status_name(u->status), -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 5, u->count);
        sqlite3_bind_int64(ins, 6, u->total);
        sqlite3_bind_double(ins, 7, u->percent);
        sqlite3_bind_text(ins, 8, th, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 9, exs ? exs : "[]", -1, SQLITE_TRANSIENT);
        int s = sqlite3_step(ins);
        free(exs);
        if (s != SQLITE_DONE) {
            rc = eg__store_error(st, "could not record the validation");
            goto done;
        }
    }
    sqlite3_finalize(ins);
    ins = NULL;
    rc = eg_store_commit(st);
done:
    sqlite3_finalize(ins);
    if (rc)
        eg_store_rollback(st);
    return rc;
}

int eg_validate_run(eg_validate_report **out, const eg_config *cfg, eg_store *st,
                    eg_validate_target target, int64_t now, int examples)
{
    *out = NULL;
    eg_validate_report *r = calloc(1, sizeof *r);
    if (!r)
        return eg_error_set(EG_ENOMEM, "out of memory validating");
    vctx c = {.cfg = cfg, .now = now, .rep = r};
    c.nex = examples < 0                          ? 0
            : examples > EG_VALIDATE_MAX_EXAMPLES ? EG_VALIDATE_MAX_EXAMPLES
                                                  : examples;
    r->at = now;
    r->target = target;
    int rc = 0;
    if (target & EG_VALIDATE_SOURCE)
        rc = validate_source(&c, st);
    if (!rc && (target & EG_VALIDATE_STORE) && !st)
        rc = eg_error_set(EG_ENOTFOUND, "no store to validate");
    else if (!rc && (target & EG_VALIDATE_STORE)) {
        c.target = "store";
        rc = validate_sqlite(&c, eg_store_db(st), true);
    }
    bool crit = false, unk = false, warn = false;
    for (int i = 0; i < r->nrules; i++) {
        crit |= r->rules[i].status == EG_VALID_CRITICAL;
        unk |= r->rules[i].status == EG_VALID_UNKNOWN;
        warn |= r->rules[i].status == EG_VALID_WARNING;
    }
    /* the worst as health ranks it (CRITICAL > WARNING > UNKNOWN > OK): a rule that could not
     * count never hides one that found a problem */
    unk |= rc != 0;
    r->status = crit   ? EG_VALID_CRITICAL
                : warn ? EG_VALID_WARNING
                : unk  ? EG_VALID_UNKNOWN
                       : EG_VALID_OK;
    if (rc && r->nrules == 0) {
        eg_validate_free(r);
        return rc;
    }
    eg_error save_err = *eg_error_last();
    int src = st ? save(st, r) : 0;
    *out = r;
    if (rc) {
        eg_error_set(save_err.code, "%s", save_err.message);
        return rc;
    }
    return src;
}

void eg_validate_free(eg_validate_report *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nrules; i++) {
        for (int k = 0; k < r->rules[i].nexamples; k++)
            free(r->rules[i].examples[k]);
        free(r->rules[i].examples);
        free(r->rules[i].detail);
    }
    free(r->rules);
    free(r);
}

json_t *eg__validate_json(const eg_validate_report *r)
{
    char at[40];
    json_t *rules = json_array();
    for (int i = 0; i < r->nrules; i++) {
        const eg_valid_rule *u = &r->rules[i];
        json_t *o =
            json_pack("{s:s,s:s,s:s,s:I,s:I,s:f,s:f,s:o}", "target", u->target, "rule", u->rule,
                      "status", eg_valid_status_name(u->status), "count", (json_int_t)u->count,
                      "total", (json_int_t)u->total, "percent", round(u->percent * 1000) / 1000,
                      "threshold", u->threshold, "examples", examples_json(u));
        if (o && u->detail)
            json_object_set_new(o, "detail", json_string(u->detail));
        json_array_append_new(rules, o);
    }
    const char *t = r->target == EG_VALIDATE_BOTH    ? "both"
                    : r->target == EG_VALIDATE_STORE ? "store"
                                                     : "source";
    return json_pack("{s:s,s:s,s:s,s:o}", "at", eg_time_format(r->at, at), "target", t, "status",
                     eg_valid_status_name(r->status), "rules", rules);
}
