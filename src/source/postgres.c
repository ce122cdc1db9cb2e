/*
 * postgres.c — the PostgreSQL source: reads the memories table over libpq, read-only (SPEC §4).
 *
 * Owns one PGconn per open source plus the quoted identifiers and statements built at open time.
 * open() connects with bounded retries (exponential backoff with jitter, progressive connect
 * timeouts; bad credentials, a missing database and connection-string values libpq rejects are
 * not retried), makes the session UTC, UTF-8, read-only (verified with SHOW) and its search_path
 * pg_catalog only, then checks the table's columns in the catalog.
 * scan() reads one REPEATABLE READ READ ONLY snapshot: a full scan with COPY ... (FORMAT binary),
 * parsed here, an incremental one through a server-side cursor fetched in batches.
 * It never writes, never reconnects in the middle of a scan (the caller reopens), and never puts
 * a password into a message or a log line.
 */
#include "source/postgres_int.h"

#include "engram/error.h"
#include "core/conninfo.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_BATCH_ROWS 10000
#define MAX_BATCH_ROWS 1000000
#define MAX_BATCH_BYTES ((size_t)64 << 20) /* a batch is handed over early past this */
#define DEFAULT_CONNECT_TIMEOUT_S 5
#define MAX_CONNECT_TIMEOUT_S 60
#define MAX_RETRY_DELAY_US (30 * EG_USEC_PER_SEC)
#define PG_EPOCH_OFFSET_US INT64_C(946684800000000) /* 2000-01-01 minus 1970-01-01 */
#define TIMESTAMPTZOID 1184
#define CURSOR_NAME "engram_scan"

enum { COL_ID, COL_CONTENT, COL_CREATED, COL_UPDATED, COL_METADATA, NCOLS };

/* What each mapped column is for and which types it may have (format_type() of the base type). */
static const struct column_rule {
    const char *role;
    const char *types[5];
    const char *expected;
} column_rules[NCOLS] = {
    {"id",
     {"uuid", "text", "character varying", "bigint", "integer"},
     "uuid, text, character varying, bigint or integer"},
    {"content", {"text", "character varying"}, "text or character varying"},
    {"created_at",
     {"timestamp with time zone", "timestamp without time zone"},
     "timestamp with time zone or timestamp without time zone"},
    {"updated_at",
     {"timestamp with time zone", "timestamp without time zone"},
     "timestamp with time zone or timestamp without time zone"},
    {"metadata", {"jsonb", "json", "text"}, "jsonb, json or text"},
};

typedef struct pg_source {
    eg_source base;
    PGconn *conn;
    char *secret_from_conninfo;               /* only to scrub messages; never printed */
    const char *schema, *table, *cols[NCOLS]; /* borrowed from the config, for messages */
    char *table_q;                            /* "schema"."table" */
    char *cols_q[NCOLS];                      /* quoted column names */
    char *select_sql;                         /* SELECT <5 casts> FROM table_q */
    size_t batch_rows;
    char host[256], port[32], db[128], user[128];
    char describe[1024];
    char key[1024];           /* describe without the user: the source key (source.h) */
    char col_type[NCOLS][64]; /* base type of each mapped column, from the schema check */
    bool sql_ascii;           /* the server encoding is SQL_ASCII: text may be any bytes */
} pg_source;

/* --- messages without secrets ---------------------------------------------------------------- */

/* Replaces every occurrence of needle in buf (a NUL-terminated string in cap bytes) by "****". */
static void scrub_one(char *buf, size_t cap, const char *needle)
{
    size_t nlen = needle ? strlen(needle) : 0;
    if (nlen == 0 || !strstr(buf, needle))
        return;
    char tmp[2048];
    size_t o = 0;
    for (const char *p = buf; *p && o + 1 < sizeof tmp;) {
        if (strncmp(p, needle, nlen) == 0) {
            for (const char *m = "****"; *m && o + 1 < sizeof tmp; m++)
                tmp[o++] = *m;
            p += nlen;
        } else {
            tmp[o++] = *p++;
        }
    }
    tmp[o] = '\0';
    if (o >= cap)
        o = cap - 1;
    memcpy(buf, tmp, o);
    buf[o] = '\0';
}

/* Removes from buf every password engram could know: the connection string's, PGPASSWORD, and the
 * one libpq used (from a password file). libpq's messages do not contain it; this is a guard. */
static void scrub(const pg_source *s, char *buf, size_t cap)
{
    scrub_one(buf, cap, s->secret_from_conninfo);
    scrub_one(buf, cap, getenv("PGPASSWORD"));
    if (s->conn)
        scrub_one(buf, cap, PQpass(s->conn));
}

/* Copies a libpq message into buf on one line, its lines joined with "; " (or a space after
 * a line that ends in punctuation) and runs of white space made one space:
 * "...failed: Connection refused\n\tIs the server..." → "...failed: Connection refused; Is the
 * server...". */
static void one_line(char *buf, size_t cap, const char *msg)
{
    size_t o = 0;
    int space = 0, newline = 0;
    for (const char *p = msg ? msg : ""; *p && o + 1 < cap; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
            space = o > 0;
            newline |= o > 0 && (*p == '\n' || *p == '\r');
            continue;
        }
        if (newline && !strchr(".:;,", buf[o - 1]) && o + 3 < cap)
            buf[o++] = ';';
        if (space && o + 2 < cap)
            buf[o++] = ' ';
        space = newline = 0;
        buf[o++] = *p;
    }
    buf[o] = '\0';
}

/* Sets the last error with code, a formatted message, and optional detail and hint, all scrubbed.
 */
static int set_error(const pg_source *s, int code, const char *detail, const char *hint,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int set_error(const pg_source *s, int code, const char *detail, const char *hint,
                     const char *fmt, ...)
{
    char msg[512], buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    scrub(s, msg, sizeof msg);
    eg_error_set(code, "%s", msg);
    if (detail && *detail) {
        one_line(buf, sizeof buf, detail);
        scrub(s, buf, sizeof buf);
        eg_error_detail("%s", buf);
    }
    if (hint && *hint) {
        one_line(buf, sizeof buf, hint);
        scrub(s, buf, sizeof buf);
        eg_error_hint("%s", buf);
    }
    return code;
}

/* Whether the n bytes at p are one of libpq's keywords, other than password. */
static bool is_libpq_keyword(const char *p, size_t n)
{
    bool found = false;
    PQconninfoOption *opts = PQconndefaults();
    for (PQconninfoOption *o = opts; o && o->keyword && !found; o++)
        found = strlen(o->keyword) == n && strncmp(o->keyword, p, n) == 0 &&
                strcmp(o->keyword, "password") != 0;
    PQconninfoFree(opts);
    return found;
}

/* Replaces each "quoted" part of a libpq parse error that is not one of libpq's keywords by
 * "****": some messages quote the whole URI or a fragment of the string, and a string that does
 * not parse has no password engram could scrub by value. */
static void hide_quoted(char *buf)
{
    char tmp[512];
    size_t o = 0;
    for (const char *p = buf; *p && o + 8 < sizeof tmp;) {
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (!end) {
            tmp[o++] = *p++;
            continue;
        }
        size_t n = (size_t)(end + 1 - p);
        if (is_libpq_keyword(p + 1, n - 2) && o + n + 1 <= sizeof tmp) {
            memcpy(tmp + o, p, n);
            o += n;
        } else {
            memcpy(tmp + o, "\"****\"", 6);
            o += 6;
        }
        p = end + 1;
    }
    tmp[o] = '\0';
    memcpy(buf, tmp, o + 1);
}

static const char *or_default(const char *v, const char *dflt)
{
    return v && *v ? v : dflt;
}

/* Remembers where the connection goes (or went), for messages and describe(). */
static void note_endpoint(pg_source *s)
{
    snprintf(s->host, sizeof s->host, "%s", or_default(PQhost(s->conn), "(default)"));
    snprintf(s->port, sizeof s->port, "%s", or_default(PQport(s->conn), "5432"));
    /* a dbname may itself be a connection string or URI, which libpq expands, password and
     * all: it is named masked wherever it is named */
    const char *db = or_default(PQdb(s->conn), "(default)");
    if (!eg_conninfo_looks_nested(db))
        snprintf(s->db, sizeof s->db, "%s", db);
    else if (eg_conninfo_mask(db, s->db, sizeof s->db))
        snprintf(s->db, sizeof s->db, "(a connection string)");
    snprintf(s->user, sizeof s->user, "%s", or_default(PQuser(s->conn), "(default)"));
}

static int is_connection_loss(PGconn *conn, const char *sqlstate)
{
    if (PQstatus(conn) == CONNECTION_BAD)
        return 1;
    if (!sqlstate)
        return 0;
    return strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57P01") == 0 ||
           strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0;
}

/* Turns a failed result (or a NULL one) into EG_EUNAVAIL when the connection is gone, else
 * EG_ESOURCE with PostgreSQL's message, detail and hint. what says what engram was doing. */
static int result_error(const pg_source *s, const PGresult *res, const char *what)
{
    char msg[512];
    const char *sqlstate = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!primary)
        primary =
            res && *PQresultErrorMessage(res) ? PQresultErrorMessage(res) : PQerrorMessage(s->conn);
    one_line(msg, sizeof msg, primary);
    if (is_connection_loss(s->conn, sqlstate)) {
        return set_error(s, EG_EUNAVAIL, msg,
                         "engram commits nothing of an interrupted read; run it again when the "
                         "server is back (exit code 75 means: try again later)",
                         "lost the connection to PostgreSQL at host=%s port=%s database=%s "
                         "(table \"%s.%s\") while %s",
                         s->host, s->port, s->db, s->schema, s->table, what);
    }
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *hint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    if (sqlstate && strcmp(sqlstate, "57014") == 0 && !hint)
        hint = "source.statement_timeout may be too short for this read";
    return set_error(s, EG_ESOURCE, detail, hint,
                     "PostgreSQL error while %s (table \"%s.%s\", database \"%s\" on host %s): %s",
                     what, s->schema, s->table, s->db, s->host, msg);
}

/* Runs a statement that returns no rows. */
static int exec_command(const pg_source *s, const char *sql, const char *what)
{
    PGresult *res = PQexec(s->conn, sql);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = result_error(s, res, what);
    PQclear(res);
    return rc;
}

/* --- connecting ----------------------------------------------------------------------------- */

/* splitmix64: jitter for the retry delays only; no computed data depends on it. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void sleep_us(int64_t us)
{
    struct timespec ts = {(time_t)(us / EG_USEC_PER_SEC), (long)(us % EG_USEC_PER_SEC) * 1000};
    while (us > 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

typedef enum {
    CONNECT_OK,
    CONNECT_RETRY,
    CONNECT_AUTH,
    CONNECT_NODB,
    CONNECT_DENIED,
    CONNECT_CONFIG
} connect_outcome;

/* Sorts a failed connection: retrying does not fix credentials, a missing database, a role
 * without the CONNECT privilege or without LOGIN, or a connection string whose values libpq rejects
 * (PQconninfoParse checks only the keywords: values such as port=abc or sslmode=bogus fail at
 * connect time) or whose SSL demand the server cannot meet. libpq has no SQLSTATE for connection
 * failures, so the (English, lc_messages=C) texts are matched too. */
static connect_outcome classify_failure(PGconn *conn, const char *msg)
{
    static const char *const config[] = {
        "SSL was required", /* sslmode=require against a server without SSL */
        "server does not support SSL",
        "SSL support is not compiled in",
        "could not match ", /* as many ports or hostaddrs as hosts */
        "could not parse network address",
        "invalid port number",
        /* service=NAME (or PGSERVICE) that no service file defines, a PGSERVICEFILE that does not
         * exist, a service file libpq cannot parse ("syntax error in service file", "line N too
         * long in service file", "nested service specifications ...") */
        "definition of service \"",
        "service file \"",
    };
    for (size_t i = 0; i < sizeof config / sizeof config[0]; i++)
        if (strstr(msg, config[i]))
            return CONNECT_CONFIG;
    /* "invalid sslmode value: ...", "invalid integer value "abc" for connection option "port"",
     * and the server's "invalid value for parameter ..." of an options=-c setting */
    const char *inv = strstr(msg, "invalid ");
    if (inv && strstr(inv, " value"))
        return CONNECT_CONFIG;
    if (PQconnectionNeedsPassword(conn))
        return CONNECT_AUTH;
    static const char *const auth[] = {
        "password authentication failed",
        "authentication failed",
        "no password supplied",
        "no pg_hba.conf entry",
        "pg_hba.conf rejects",
        "SCRAM authentication",
        "server requested a cleartext password",
    };
    for (size_t i = 0; i < sizeof auth / sizeof auth[0]; i++)
        if (strstr(msg, auth[i]))
            return CONNECT_AUTH;
    if (strstr(msg, "role \"") && strstr(msg, "does not exist"))
        return CONNECT_AUTH; /* 28000 */
    if (strstr(msg, "database \"") && strstr(msg, "does not exist"))
        return CONNECT_NODB; /* 3D000 */
    /* 42501 (no CONNECT privilege) and 28000 (a role without LOGIN): the credentials are right */
    if (strstr(msg, "permission denied for database") || strstr(msg, "is not permitted to log in"))
        return CONNECT_DENIED;
    return CONNECT_RETRY;
}

/* The connect timeout the user asked for in the connection string, or the configured one. */
static long base_connect_timeout(const eg_config *cfg, const char *conninfo)
{
    long t = 0;
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (o->val && strcmp(o->keyword, "connect_timeout") == 0) {
            char *end;
            t = strtol(o->val, &end, 10);
            if (*end != '\0')
                t = 0;
        }
    }
    PQconninfoFree(opts);
    if (t > 0)
        return t;
    if (cfg->source_connect_timeout > 0)
        return (long)((cfg->source_connect_timeout + EG_USEC_PER_SEC - 1) / EG_USEC_PER_SEC);
    return DEFAULT_CONNECT_TIMEOUT_S;
}

/* Connects with bounded retries. On success s->conn is open; on failure it is NULL. */
static int connect_with_retries(pg_source *s, const eg_config *cfg, const char *conninfo)
{
    int attempts = 1 + (cfg->source_retries > 0 ? cfg->source_retries : 0);
    long timeout = base_connect_timeout(cfg, conninfo);
    long timeout_cap = timeout > MAX_CONNECT_TIMEOUT_S ? timeout : MAX_CONNECT_TIMEOUT_S;
    int64_t delay = cfg->source_retry_delay > 0 ? cfg->source_retry_delay : 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t rng = (uint64_t)getpid() << 32 ^ (uint64_t)now.tv_nsec ^ (uint64_t)now.tv_sec;
    char reason[1024] = "", timeout_s[24];

    for (int k = 1; k <= attempts; k++) {
        snprintf(timeout_s, sizeof timeout_s, "%ld", timeout);
        /* engram's defaults come before dbname, so the expanded user string overrides them;
         * the (progressive) connect_timeout comes after it */
        const char *const keys[] = {
            "fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
            "keepalives_count",          "dbname",     "connect_timeout", NULL};
        const char *const vals[] = {"engram", "1", "60", "10", "6", conninfo, timeout_s, NULL};
        s->conn = PQconnectdbParams(keys, vals, 1);
        if (!s->conn)
            return eg_error_set(EG_ENOMEM, "out of memory creating a PostgreSQL connection");
        note_endpoint(s);
        if (PQstatus(s->conn) == CONNECTION_OK)
            return 0;

        one_line(reason, sizeof reason, PQerrorMessage(s->conn));
        scrub(s, reason, sizeof reason);
        connect_outcome why = classify_failure(s->conn, reason);
        PQfinish(s->conn);
        s->conn = NULL;
        if (why == CONNECT_AUTH) {
            return set_error(
                s, EG_EAUTH, reason,
                "engram takes no password itself: put it in ~/.pgpass or the file PGPASSFILE "
                "names (mode 0600), in PGPASSWORD, or in a service file (PGSERVICEFILE); check "
                "the user name and the server's pg_hba.conf",
                "PostgreSQL refused the credentials of user \"%s\" at host=%s port=%s "
                "database=%s",
                s->user, s->host, s->port, s->db);
        }
        if (why == CONNECT_CONFIG) {
            return set_error(
                s, EG_ECONFIG, NULL,
                strstr(reason, "SSL")
                    ? "the server at that host and port does not offer SSL, and the connection "
                      "string requires it: turn on ssl in the server (docs/SECURITY.md); "
                      "sslmode=prefer or disable would send the data, and a password, in clear, "
                      "so lower it only for a server on this host"
                : strstr(reason, "service")
                    ? "check the service name (service= in the source connection string, or "
                      "PGSERVICE) and the service file that defines it: ~/.pg_service.conf, the "
                      "file PGSERVICEFILE names, or pg_service.conf in PGSYSCONFDIR; a retry "
                      "would fail the same way"
                    : "fix that option in the source connection string (the source key of the "
                      "configuration, or --source); a retry would fail the same way",
                "the PostgreSQL connection string does not work (host=%s port=%s database=%s): "
                "%s",
                s->host, s->port, s->db, reason);
        }
        if (why == CONNECT_DENIED) {
            return set_error(
                s, EG_ESOURCE, reason,
                "GRANT CONNECT ON DATABASE to the role engram connects as (and give it LOGIN); "
                "a retry would fail the same way",
                "user \"%s\" may not connect to database %s at host=%s port=%s", s->user, s->db,
                s->host, s->port);
        }
        if (why == CONNECT_NODB) {
            return set_error(
                s, EG_ESOURCE, reason, "check the database name in the source connection string",
                "database \"%s\" does not exist on host=%s port=%s", s->db, s->host, s->port);
        }
        if (k == attempts) {
            eg_log(EG_LOG_WARN,
                   "could not connect to PostgreSQL at host=%s port=%s dbname=%s (attempt %d of "
                   "%d): %s",
                   s->host, s->port, s->db, k, attempts, reason);
            break;
        }
        /* ±50% jitter around an exponentially growing delay */
        int64_t step = delay;
        for (int i = 1; i < k && step < MAX_RETRY_DELAY_US; i++)
            step *= 2;
        if (step > MAX_RETRY_DELAY_US)
            step = MAX_RETRY_DELAY_US;
        int64_t wait = step / 2 + (step > 0 ? (int64_t)(next_random(&rng) % (uint64_t)step) : 0);
        eg_log(EG_LOG_WARN,
               "could not connect to PostgreSQL at host=%s port=%s dbname=%s (attempt %d of %d): "
               "%s; retrying in %.2f s",
               s->host, s->port, s->db, k, attempts, reason, (double)wait / 1e6);
        sleep_us(wait);
        timeout = timeout * 2 > timeout_cap ? timeout_cap : timeout * 2;
    }
    return set_error(s, EG_EUNAVAIL, reason,
                     "check that the server runs and accepts connections on that host and port "
                     "(source.connect_timeout, source.retries and source.retry_delay set the "
                     "patience); engram exits with code 75 so that a scheduler can retry later",
                     "could not connect to PostgreSQL at host=%s port=%s database=%s (table "
                     "\"%s.%s\") after %d attempt%s",
                     s->host, s->port, s->db, s->schema, s->table, attempts,
                     attempts == 1 ? "" : "s");
}

/* UTC, UTF-8 (the bytes as stored from a SQL_ASCII database), a statement timeout, a search_path
 * of pg_catalog only, and a read-only session verified with SHOW. Every relation engram names is
 * schema-qualified, but the casts, operators and functions of its statements (::text, >=, count)
 * are looked up through the search_path: a role or PGOPTIONS setting that puts a schema before
 * pg_catalog could put its own >= there and make an incremental read return nothing
 * (CVE-2018-1058's pattern). */
static int setup_session(pg_source *s, const eg_config *cfg)
{
    char sql[256];
    long long ms = cfg->source_statement_timeout > 0 ? cfg->source_statement_timeout / 1000 : 0;
    if (cfg->source_statement_timeout > 0 && ms == 0)
        ms = 1;
    /* A SQL_ASCII database stores whatever bytes it was given. Asked for UTF8, its server checks
     * every value it sends and fails the whole COPY or FETCH at the first byte that is not UTF-8
     * ("invalid byte sequence for encoding \"UTF8\""), so one bad row blocked every read until it
     * was fixed at the source. Reading SQL_ASCII from it, bytes come as stored and add_row
     * quarantines the rows that are not UTF-8, as the other sources do. Any other server
     * encoding converts to UTF8 and cannot send invalid UTF-8. */
    const char *server_enc = PQparameterStatus(s->conn, "server_encoding");
    s->sql_ascii = server_enc && strcmp(server_enc, "SQL_ASCII") == 0;
    snprintf(sql, sizeof sql,
             "SET TimeZone TO 'UTC'; SET client_encoding TO '%s'; SET statement_timeout TO %lld; "
             "SET search_path TO pg_catalog, pg_temp",
             s->sql_ascii ? "SQL_ASCII" : "UTF8", ms);
    int rc = exec_command(s, sql, "setting up the session");
    if (rc)
        return rc;

    PGresult *res = PQexec(s->conn, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY; "
                                    "SET default_transaction_read_only TO on");
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = result_error(s, res, "making the session read-only");
        if (rc == EG_ESOURCE) {
            eg_error why = *eg_error_last();
            rc = set_error(s, EG_EREADONLY, why.detail, why.hint,
                           "could not make the PostgreSQL session read-only at host=%s "
                           "database=%s: %s",
                           s->host, s->db, why.message);
        }
        goto done;
    }
    PQclear(res);
    res = PQexec(s->conn, "SHOW default_transaction_read_only");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = result_error(s, res, "verifying that the session is read-only");
        goto done;
    }
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "on") != 0) {
        rc = set_error(s, EG_EREADONLY, NULL,
                       "a connection pooler in transaction mode can lose session settings; "
                       "connect to the server directly or use a read-only role",
                       "the PostgreSQL session at host=%s database=%s is not read-only "
                       "(default_transaction_read_only is \"%s\")",
                       s->host, s->db, PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "?");
    }
done:
    PQclear(res);
    return rc;
}

/* An identifier quoted as PQescapeIdentifier quotes it (always in double quotes, an inner double
 * quote doubled), for describing a source whose connection did not open and for the SQL in hints.
 */
static void quote_ident_plain(char *buf, size_t cap, const char *id)
{
    size_t o = 0;
    if (cap < 3)
        return;
    buf[o++] = '"';
    for (const char *p = id; *p && o + 3 < cap; p++) {
        if (*p == '"')
            buf[o++] = '"';
        buf[o++] = *p;
    }
    buf[o++] = '"';
    buf[o] = '\0';
}

/* --- schema check ---------------------------------------------------------------------------- */

static const char schema_sql[] =
    "SELECT a.attname::text,"
    " pg_catalog.format_type(a.atttypid, a.atttypmod),"
    " pg_catalog.format_type(COALESCE(NULLIF(t.typbasetype, 0), a.atttypid), NULL),"
    " pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT'),"
    " pg_catalog.has_schema_privilege(n.oid, 'USAGE')"
    " FROM pg_catalog.pg_class c"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " LEFT JOIN pg_catalog.pg_attribute a"
    "   ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
    " LEFT JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
    " WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
    " ORDER BY a.attnum";

static bool type_allowed(const struct column_rule *rule, const char *base)
{
    for (size_t i = 0; i < sizeof rule->types / sizeof rule->types[0] && rule->types[i]; i++)
        if (strcmp(rule->types[i], base) == 0)
            return true;
    return false;
}

/* "id uuid, content text, ..." into buf, for the detail of a missing-column error. */
static void list_columns(const PGresult *res, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int r = 0; r < PQntuples(res) && o + 1 < cap; r++) {
        if (PQgetisnull(res, r, 0))
            continue;
        int n = snprintf(buf + o, cap - o, "%s%s %s", o ? ", " : "", PQgetvalue(res, r, 0),
                         PQgetvalue(res, r, 1));
        if (n < 0 || (size_t)n >= cap - o)
            break;
        o += (size_t)n;
    }
}

/* The relation a mistyped source.schema/source.table most likely meant: the same name in another
 * case or another schema, or a source.table that holds "schema.table". Writes "schema\ttable" into
 * out, or "" when there is none. */
static void similar_relation(pg_source *s, char *out, size_t cap)
{
    static const char sql[] =
        "SELECT n.nspname::text, c.relname::text FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND (lower(c.relname) = lower($2) OR lower(n.nspname || '.' || c.relname) = lower($2))"
        " ORDER BY lower(n.nspname) = lower($1) DESC, c.relname = $2 DESC, n.nspname, c.relname"
        " LIMIT 1";
    const char *params[2] = {s->schema, s->table};
    PGresult *res = PQexecParams(s->conn, sql, 2, NULL, params, NULL, NULL, 0);
    out[0] = '\0';
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        snprintf(out, cap, "%s\t%s", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    PQclear(res);
}

/* The row of the column named name in the catalog result, or -1. */
static int find_column(const PGresult *res, const char *name)
{
    for (int r = 0; r < PQntuples(res); r++)
        if (!PQgetisnull(res, r, 0) && strcmp(PQgetvalue(res, r, 0), name) == 0)
            return r;
    return -1;
}

/* The hint for a missing column. The id, content and created_at are in any memories table under
 * some name; updated_at and metadata may not exist at all, and engram reads them (NULL will do):
 * a view over the table adds the ones that are missing. */
static void missing_column_hint(const pg_source *s, const PGresult *res, int c, char *hint,
                                size_t cap)
{
    if (c != COL_UPDATED && c != COL_METADATA) {
        snprintf(hint, cap, "set source.%s_column to the column that holds it",
                 column_rules[c].role);
        return;
    }
    char schema_q[140], table_q[140], view_q[160], view[80], up_q[140], meta_q[140];
    char add[320] = "";
    snprintf(view, sizeof view, "%.60s_engram", s->table);
    quote_ident_plain(schema_q, sizeof schema_q, s->schema);
    quote_ident_plain(table_q, sizeof table_q, s->table);
    quote_ident_plain(view_q, sizeof view_q, view);
    quote_ident_plain(up_q, sizeof up_q, s->cols[COL_UPDATED]);
    quote_ident_plain(meta_q, sizeof meta_q, s->cols[COL_METADATA]);
    if (find_column(res, s->cols[COL_UPDATED]) < 0)
        snprintf(add, sizeof add, ", NULL::timestamptz AS %s", up_q);
    if (find_column(res, s->cols[COL_METADATA]) < 0)
        snprintf(add + strlen(add), sizeof add - strlen(add), ", NULL::jsonb AS %s", meta_q);
    snprintf(hint, cap,
             "set source.%s_column to the column that holds it; a table without one is read "
             "through a view that adds it: CREATE VIEW %s.%s AS SELECT *%s FROM %s.%s; then "
             "source.table = %s",
             column_rules[c].role, schema_q, view_q, add, schema_q, table_q, view);
}

/* A cast of the column col_q of base type base to a type the column role c allows, into expr;
 * note gets what to change if the guess (seconds for a number of a time) is wrong. */
static void cast_expr(int c, const char *col_q, const char *base, char *expr, size_t cap,
                      char *note, size_t note_cap)
{
    static const char *const numeric[] = {"smallint", "integer", "bigint",
                                          "numeric",  "real",    "double precision"};
    bool is_numeric = false;
    for (size_t i = 0; i < sizeof numeric / sizeof numeric[0]; i++)
        is_numeric = is_numeric || strcmp(base, numeric[i]) == 0;
    if ((c == COL_CREATED || c == COL_UPDATED) && is_numeric) {
        snprintf(expr, cap, "to_timestamp(%s)", col_q);
        snprintf(note, note_cap, " (to_timestamp(%s / 1000.0) for milliseconds)", col_q);
    } else if (c == COL_CREATED || c == COL_UPDATED) {
        snprintf(expr, cap, "%s::timestamptz", col_q);
    } else if (c == COL_METADATA) {
        snprintf(expr, cap, "to_jsonb(%s)", col_q);
    } else if (c == COL_CONTENT && strcmp(base, "bytea") == 0) {
        snprintf(expr, cap, "convert_from(%s, 'UTF8')", col_q);
    } else {
        snprintf(expr, cap, "%s::text", col_q);
    }
}

/* The hint for columns of incompatible types: a view that adds a cast copy of each under a new
 * name (COLUMN_engram), and the settings that read the view and those columns. */
static void cast_hint(const pg_source *s, const PGresult *res, char *hint, size_t cap)
{
    char schema_q[140], table_q[140], view_q[160], view[80], adds[400] = "", sets[300] = "";
    char notes[200] = "";
    snprintf(view, sizeof view, "%.60s_engram", s->table);
    quote_ident_plain(schema_q, sizeof schema_q, s->schema);
    quote_ident_plain(table_q, sizeof table_q, s->table);
    quote_ident_plain(view_q, sizeof view_q, view);
    for (int c = 0; c < NCOLS; c++) {
        int row = find_column(res, s->cols[c]);
        if (row < 0 || type_allowed(&column_rules[c], PQgetvalue(res, row, 2)))
            continue;
        char col_q[140], new_col[80], new_q[160], expr[200], note[120] = "";
        snprintf(new_col, sizeof new_col, "%.60s_engram", s->cols[c]);
        quote_ident_plain(col_q, sizeof col_q, s->cols[c]);
        quote_ident_plain(new_q, sizeof new_q, new_col);
        cast_expr(c, col_q, PQgetvalue(res, row, 2), expr, sizeof expr, note, sizeof note);
        size_t n = strlen(adds), m = strlen(sets), k = strlen(notes);
        snprintf(adds + n, sizeof adds - n, ", %s AS %s", expr, new_q);
        snprintf(sets + m, sizeof sets - m, " and source.%s_column = %s", column_rules[c].role,
                 new_col);
        snprintf(notes + k, sizeof notes - k, "%s", note);
    }
    snprintf(hint, cap,
             "read it through a view that casts it: CREATE VIEW %s.%s AS SELECT *%s FROM %s.%s; "
             "then source.table = %s%s%s",
             schema_q, view_q, adds, schema_q, table_q, view, sets, notes);
}

static int check_schema(pg_source *s)
{
    const char *params[2] = {s->schema, s->table};
    PGresult *res = PQexecParams(s->conn, schema_sql, 2, NULL, params, NULL, NULL, 0);
    int rc = 0;
    char found[900], hint[512], schema_q[140], table_q[140], user_q[140];
    quote_ident_plain(schema_q, sizeof schema_q, s->schema);
    quote_ident_plain(table_q, sizeof table_q, s->table);
    quote_ident_plain(user_q, sizeof user_q, s->user);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = result_error(s, res, "reading the catalog");
        goto done;
    }
    if (PQntuples(res) == 0) {
        char like[300];
        similar_relation(s, like, sizeof like);
        char *tab = strchr(like, '\t');
        if (tab) {
            *tab = '\0';
            snprintf(hint, sizeof hint,
                     "did you mean source.schema = %s and source.table = %s? Names are "
                     "case-sensitive: write them as the catalog has them, without quotes",
                     like, tab + 1);
        } else {
            snprintf(hint, sizeof hint,
                     "check source.schema and source.table (names are case-sensitive); the "
                     "source may be a table, a view or a materialized view");
        }
        rc = set_error(s, EG_ESCHEMA, NULL, hint,
                       "table \"%s.%s\" not found in database \"%s\" on host %s", s->schema,
                       s->table, s->db, s->host);
        goto done;
    }
    if (strcmp(PQgetvalue(res, 0, 4), "t") != 0) {
        snprintf(hint, sizeof hint,
                 "as the schema's owner: GRANT USAGE ON SCHEMA %s TO %s; (and SELECT on the "
                 "table)",
                 schema_q, user_q);
        rc = set_error(s, EG_ESOURCE, NULL, hint,
                       "user \"%s\" may not use schema \"%s\" in database \"%s\" on host %s",
                       s->user, s->schema, s->db, s->host);
        goto done;
    }
    list_columns(res, found, sizeof found);
    for (int c = 0; c < NCOLS; c++) {
        const struct column_rule *rule = &column_rules[c];
        int row = find_column(res, s->cols[c]);
        char detail[1024];
        if (row < 0) {
            snprintf(detail, sizeof detail, "columns found: %s", *found ? found : "(none)");
            missing_column_hint(s, res, c, hint, sizeof hint);
            rc = set_error(s, EG_ESCHEMA, detail, hint,
                           "column \"%s\" (the %s column) not found in table \"%s.%s\" in "
                           "database \"%s\" on host %s",
                           s->cols[c], rule->role, s->schema, s->table, s->db, s->host);
            goto done;
        }
        snprintf(s->col_type[c], sizeof s->col_type[c], "%s", PQgetvalue(res, row, 2));
        if (!type_allowed(rule, PQgetvalue(res, row, 2))) {
            snprintf(detail, sizeof detail, "the %s column must be of type %s", rule->role,
                     rule->expected);
            cast_hint(s, res, hint, sizeof hint);
            rc = set_error(s, EG_ESCHEMA, detail, hint,
                           "column \"%s\" of table \"%s.%s\" in database \"%s\" on host %s has "
                           "type %s; expected %s",
                           s->cols[c], s->schema, s->table, s->db, s->host, PQgetvalue(res, row, 1),
                           rule->expected);
            goto done;
        }
        if (strcmp(PQgetvalue(res, row, 3), "t") != 0) {
            snprintf(hint, sizeof hint,
                     "as the table's owner: GRANT SELECT ON %s.%s TO %s; (or SELECT on the "
                     "mapped columns only)",
                     schema_q, table_q, user_q);
            rc = set_error(s, EG_ESOURCE, NULL, hint,
                           "user \"%s\" may not read column \"%s\" of table \"%s.%s\" in database "
                           "\"%s\" on host %s",
                           s->user, s->cols[c], s->schema, s->table, s->db, s->host);
            goto done;
        }
    }
done:
    PQclear(res);
    return rc;
}

/* --- statements ------------------------------------------------------------------------------ */

static char *quote_ident(pg_source *s, const char *name)
{
    char *q = PQescapeIdentifier(s->conn, name, strlen(name));
    if (!q) {
        char why[512];
        one_line(why, sizeof why, PQerrorMessage(s->conn));
        set_error(s, EG_ECONFIG, why, NULL, "cannot quote the identifier \"%s\"", name);
        return NULL;
    }
    char *copy = strdup(q);
    PQfreemem(q);
    if (!copy)
        eg_error_set(EG_ENOMEM, "out of memory quoting an identifier");
    return copy;
}

static char *printf_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *printf_alloc(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!p) {
        eg_error_set(EG_ENOMEM, "out of memory building a statement");
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static int build_statements(pg_source *s)
{
    char *schema_q = quote_ident(s, s->schema);
    char *table_only_q = quote_ident(s, s->table);
    int rc = EG_ENOMEM;
    if (!schema_q || !table_only_q) {
        rc = eg_error_last()->code;
        goto done;
    }
    for (int c = 0; c < NCOLS; c++) {
        s->cols_q[c] = quote_ident(s, s->cols[c]);
        if (!s->cols_q[c]) {
            rc = eg_error_last()->code;
            goto done;
        }
    }
    s->table_q = printf_alloc("%s.%s", schema_q, table_only_q);
    if (!s->table_q)
        goto done;
    s->select_sql = printf_alloc(
        "SELECT %s::text, %s::text, %s::timestamptz, %s::timestamptz, %s::text FROM %s",
        s->cols_q[COL_ID], s->cols_q[COL_CONTENT], s->cols_q[COL_CREATED], s->cols_q[COL_UPDATED],
        s->cols_q[COL_METADATA], s->table_q);
    if (!s->select_sql)
        goto done;
    snprintf(s->describe, sizeof s->describe,
             "postgresql host=%s port=%s dbname=%s user=%s table=%s", s->host, s->port, s->db,
             s->user, s->table_q);
    scrub(s, s->describe, sizeof s->describe);
    snprintf(s->key, sizeof s->key, "postgresql host=%s port=%s dbname=%s table=%s", s->host,
             s->port, s->db, s->table_q);
    scrub(s, s->key, sizeof s->key);
    rc = 0;
done:
    free(schema_q);
    free(table_only_q);
    return rc;
}

/* --- the source interface -------------------------------------------------------------------- */

static void pg_close(eg_source *base)
{
    pg_source *s = (pg_source *)base;
    if (!s)
        return;
    PQfinish(s->conn);
    free(s->secret_from_conninfo);
    free(s->table_q);
    for (int c = 0; c < NCOLS; c++)
        free(s->cols_q[c]);
    free(s->select_sql);
    free(s);
}

/* What the last pg_open of this thread that failed after reaching libpq would have described (its
 * describe() string), or "" when it failed before; eg__postgres_failed_describe. */
static _Thread_local char failed_describe[1024];

/* The describe() string of a source whose open failed once the endpoint was known, so that
 * engram health records an unreachable source (or one whose table does not match) under the same
 * target as the source when it opens. */
static void note_failed_describe(pg_source *s)
{
    char schema_q[300], table_q[300];
    quote_ident_plain(schema_q, sizeof schema_q, s->schema);
    quote_ident_plain(table_q, sizeof table_q, s->table);
    /* one that does not fit is no description: health then builds its own */
    if (snprintf(failed_describe, sizeof failed_describe,
                 "postgresql host=%s port=%s dbname=%s user=%s table=%s.%s", s->host, s->port,
                 s->db, s->user, schema_q, table_q) >= (int)sizeof failed_describe)
        failed_describe[0] = '\0';
    scrub(s, failed_describe, sizeof failed_describe);
}

const char *eg__postgres_failed_describe(void)
{
    return failed_describe;
}

static int pg_open(eg_source **out, const eg_config *cfg, const char *store_path)
{
    (void)store_path;
    *out = NULL;
    const char *conninfo = cfg->source ? cfg->source : "";
    failed_describe[0] = '\0';
    pg_source *s = calloc(1, sizeof *s);
    int rc;
    if (!s)
        return eg_error_set(EG_ENOMEM, "out of memory opening the PostgreSQL source");
    s->base.ops = &eg_source_postgres;
    s->schema = or_default(cfg->source_schema, "public");
    s->table = or_default(cfg->source_table, "memories");
    s->cols[COL_ID] = or_default(cfg->col_id, "id");
    s->cols[COL_CONTENT] = or_default(cfg->col_content, "content");
    s->cols[COL_CREATED] = or_default(cfg->col_created_at, "created_at");
    s->cols[COL_UPDATED] = or_default(cfg->col_updated_at, "updated_at");
    s->cols[COL_METADATA] = or_default(cfg->col_metadata, "metadata");
    s->batch_rows =
        cfg->ingest_batch_rows > 0 ? (size_t)cfg->ingest_batch_rows : DEFAULT_BATCH_ROWS;
    if (s->batch_rows > MAX_BATCH_ROWS)
        s->batch_rows = MAX_BATCH_ROWS;
    s->secret_from_conninfo = eg__conninfo_password(conninfo);

    char *parse_error = NULL;
    PQconninfoOption *check = PQconninfoParse(conninfo, &parse_error);
    if (!check) {
        char why[512] = "";
        if (parse_error) {
            one_line(why, sizeof why, parse_error);
            PQfreemem(parse_error);
            if (eg_conninfo_has_password(conninfo))
                hide_quoted(why);
        }
        rc = set_error(s, EG_ECONFIG, NULL,
                       "use a libpq URI (postgresql://user@host:5432/dbname) or a key=value "
                       "string (host=... dbname=...) with libpq's keywords",
                       "the PostgreSQL connection string could not be parsed%s%s", *why ? ": " : "",
                       why);
        goto done;
    }
    PQconninfoFree(check);

    rc = connect_with_retries(s, cfg, conninfo);
    if (rc)
        goto done;
    rc = setup_session(s, cfg);
    if (rc)
        goto done;
    rc = check_schema(s);
    if (rc)
        goto done;
    rc = build_statements(s);
done:
    if (rc) {
        if (s->host[0])
            note_failed_describe(s);
        pg_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return 0;
}

/* --- scanning -------------------------------------------------------------------------------- */

typedef struct field {
    const char *p; /* NULL for SQL NULL */
    size_t len;
} field;

typedef struct scan_ctx {
    pg_source *s;
    eg_batch batch;
    eg_batch_fn fn;
    eg_reject_fn reject;
    void *ud;
    int stopped; /* a callback asked to stop; its value is the scan's result */
} scan_ctx;

static uint32_t be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

static uint64_t be64(const char *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static int flush(scan_ctx *sc)
{
    if (sc->batch.n == 0)
        return 0;
    int rc = sc->fn(&sc->batch, sc->ud);
    eg_batch_reset(&sc->batch);
    if (rc)
        sc->stopped = 1;
    return rc;
}

static int reject_row(scan_ctx *sc, const field *id, const char *col, const char *reason)
{
    /* the whole id, which the quarantine keeps (trace finds the row by it), even when it is not
     * UTF-8 (a SQL_ASCII database), as the SQLite source gives it: ingest's log line escapes
     * it, and a placeholder in its stead folded every such row into one quarantine entry */
    char *copy = NULL;
    const char *idtext = "(null id)";
    int rc = 0;
    if (id->p && !(idtext = copy = strndup(id->p, id->len)))
        rc = eg_error_set(EG_ENOMEM, "out of memory reading a row");
    if (!rc && sc->reject)
        rc = sc->reject(idtext, col, reason, sc->ud);
    free(copy);
    if (rc)
        sc->stopped = 1;
    return rc;
}

/* A binary timestamptz: int64 microseconds since 2000-01-01 UTC. 0 ok, 1 reject, <0 error. */
static int decode_time(const scan_ctx *sc, const field *f, int64_t *out, const char **why)
{
    if (f->len != 8)
        return set_error(sc->s, EG_ESOURCE, NULL, NULL,
                         "unexpected %zu-byte timestamp from PostgreSQL (host=%s database=%s)",
                         f->len, sc->s->host, sc->s->db);
    int64_t v = (int64_t)be64(f->p);
    if (v == INT64_MIN || v == INT64_MAX) {
        *why = v == INT64_MIN ? "timestamp is -infinity" : "timestamp is infinity";
        return 1;
    }
    /* PostgreSQL keeps 4713 BC to 294276 AD; engram the years ISO text names, 1-9999 (as the
     * other sources and --now: a row of year 10000 or BC was staged, then exported as
     * "10000-..." or a negative year, which no ISO parser reads back) */
    if (v < EG_UNIX_SECONDS_MIN * EG_USEC_PER_SEC - PG_EPOCH_OFFSET_US ||
        v > (EG_UNIX_SECONDS_MAX + 1) * EG_USEC_PER_SEC - 1 - PG_EPOCH_OFFSET_US) {
        *why = "timestamp outside years 1-9999 (in UTC)";
        return 1;
    }
    *out = v + PG_EPOCH_OFFSET_US;
    return 0;
}

/* Validates one row, adds it to the batch and hands a full batch to the callback. */
static int add_row(scan_ctx *sc, const field f[NCOLS])
{
    static const char *const names[NCOLS] = {"id", "content", "created_at", "updated_at",
                                             "metadata"};
    eg_record r = {0};
    const char *why = NULL;
    if (!f[COL_ID].p)
        return reject_row(sc, &f[COL_ID], "id", "id is NULL");
    r.id = f[COL_ID].p;
    r.id_len = f[COL_ID].len;
    r.content = f[COL_CONTENT].p;
    r.content_len = f[COL_CONTENT].len;
    r.metadata = f[COL_METADATA].p;
    r.metadata_len = f[COL_METADATA].len;
    /* only a SQL_ASCII database's text can fail this (setup_session): any other server encoding
     * is converted to valid UTF-8 by the server */
    const char *bad_utf8 = eg_record_invalid_utf8(&r);
    if (bad_utf8)
        return reject_row(sc, &f[COL_ID], bad_utf8, EG_RECORD_BAD_UTF8);
    for (int c = COL_CREATED; c <= COL_UPDATED; c++) {
        if (!f[c].p)
            continue;
        int64_t *dst = c == COL_CREATED ? &r.created_at : &r.updated_at;
        int t = decode_time(sc, &f[c], dst, &why);
        if (t < 0)
            return t;
        if (t > 0)
            return reject_row(sc, &f[COL_ID], names[c], why);
        if (c == COL_CREATED)
            r.has_created = true;
        else
            r.has_updated = true;
    }
    int rc = eg_batch_add(&sc->batch, &r);
    if (rc)
        return rc;
    if (sc->batch.n >= sc->s->batch_rows || sc->batch.arena_len >= MAX_BATCH_BYTES)
        return flush(sc);
    return 0;
}

/* Binary COPY stream parser. Bytes arrive in CopyData messages (one tuple each, in practice,
 * but nothing here relies on that): a tuple split across messages waits in carry. */
typedef struct copy_parser {
    char *carry;
    size_t carry_len, carry_cap;
    bool header_done, trailer_seen;
} copy_parser;

static const char copy_signature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', 0};

static int copy_format_error(const scan_ctx *sc, const char *what)
{
    return set_error(sc->s, EG_ESOURCE, NULL, NULL,
                     "malformed binary COPY data from PostgreSQL (%s) reading table \"%s.%s\"",
                     what, sc->s->schema, sc->s->table);
}

/* Parses the complete items in p[0..n); *used is how many bytes they took. */
static int copy_parse(scan_ctx *sc, copy_parser *cp, const char *p, size_t n, size_t *used)
{
    size_t pos = 0;
    *used = 0;
    if (!cp->header_done) {
        if (n < 19)
            return 0;
        if (memcmp(p, copy_signature, sizeof copy_signature) != 0)
            return copy_format_error(sc, "bad signature");
        if (be32(p + 11) & (UINT32_C(1) << 16))
            return copy_format_error(sc, "OIDs included");
        size_t ext = be32(p + 15);
        if (n - 19 < ext)
            return 0;
        pos = 19 + ext;
        cp->header_done = true;
        *used = pos;
    }
    while (pos + 2 <= n) {
        if (cp->trailer_seen)
            return copy_format_error(sc, "data after the trailer");
        int16_t nf = (int16_t)(((unsigned char)p[pos] << 8) | (unsigned char)p[pos + 1]);
        if (nf == -1) {
            cp->trailer_seen = true;
            pos += 2;
            *used = pos;
            continue;
        }
        if (nf != NCOLS)
            return copy_format_error(sc, "unexpected field count");
        size_t q = pos + 2;
        field f[NCOLS];
        bool complete = true;
        for (int c = 0; c < NCOLS && complete; c++) {
            if (n - q < 4) {
                complete = false;
                break;
            }
            int32_t len = (int32_t)be32(p + q);
            q += 4;
            if (len == -1) {
                f[c].p = NULL;
                f[c].len = 0;
                continue;
            }
            if (len < 0)
                return copy_format_error(sc, "negative field length");
            if (n - q < (size_t)len) {
                complete = false;
                break;
            }
            f[c].p = p + q;
            f[c].len = (size_t)len;
            q += (size_t)len;
        }
        if (!complete)
            break;
        pos = q;
        *used = pos;
        int rc = add_row(sc, f);
        if (rc)
            return rc;
    }
    return 0;
}

/* Feeds one CopyData chunk to the parser, keeping an incomplete tail for the next chunk. */
static int copy_feed(scan_ctx *sc, copy_parser *cp, const char *chunk, size_t n)
{
    const char *p = chunk;
    size_t len = n, used = 0;
    if (cp->carry_len) {
        if (cp->carry_len + n > cp->carry_cap) {
            size_t cap = cp->carry_cap ? cp->carry_cap : 65536;
            while (cap < cp->carry_len + n)
                cap *= 2;
            char *nc = realloc(cp->carry, cap);
            if (!nc)
                return eg_error_set(EG_ENOMEM, "out of memory buffering COPY data");
            cp->carry = nc;
            cp->carry_cap = cap;
        }
        memcpy(cp->carry + cp->carry_len, chunk, n);
        cp->carry_len += n;
        p = cp->carry;
        len = cp->carry_len;
    }
    int rc = copy_parse(sc, cp, p, len, &used);
    if (rc)
        return rc;
    size_t rest = len - used;
    if (p == cp->carry) {
        memmove(cp->carry, cp->carry + used, rest);
        cp->carry_len = rest;
    } else if (rest) {
        if (rest > cp->carry_cap) {
            char *nc = realloc(cp->carry, rest);
            if (!nc)
                return eg_error_set(EG_ENOMEM, "out of memory buffering COPY data");
            cp->carry = nc;
            cp->carry_cap = rest;
        }
        memcpy(cp->carry, chunk + used, rest);
        cp->carry_len = rest;
    }
    return 0;
}

/* Stops a running COPY: a cancel request, then the rest of the stream is read and dropped. */
static void copy_abandon(pg_source *s)
{
    char *buf = NULL;
    PGcancel *cancel = PQgetCancel(s->conn);
    if (cancel) {
        char errbuf[256];
        PQcancel(cancel, errbuf, sizeof errbuf);
        PQfreeCancel(cancel);
    }
    while (PQgetCopyData(s->conn, &buf, 0) > 0) {
        PQfreemem(buf);
        buf = NULL;
    }
    PGresult *res;
    while ((res = PQgetResult(s->conn)) != NULL)
        PQclear(res);
}

static int scan_copy(scan_ctx *sc)
{
    pg_source *s = sc->s;
    copy_parser cp = {0};
    char *sql = printf_alloc("COPY (%s) TO STDOUT (FORMAT binary)", s->select_sql);
    PGresult *res = NULL;
    char *buf = NULL;
    int rc = EG_ENOMEM, n;
    bool copying = false, drain = false;
    if (!sql)
        goto done;
    res = PQexec(s->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        rc = result_error(s, res, "starting COPY");
        goto done;
    }
    PQclear(res);
    res = NULL;
    copying = true;
    rc = 0;
    while ((n = PQgetCopyData(s->conn, &buf, 0)) > 0) {
        rc = copy_feed(sc, &cp, buf, (size_t)n);
        PQfreemem(buf);
        buf = NULL;
        if (rc)
            goto done;
    }
    copying = false;
    drain = true; /* the COPY's final result, then NULL: the connection is ready again */
    res = PQgetResult(s->conn);
    if (n == -2 || PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = result_error(s, res, "reading with COPY");
        goto done;
    }
    if (!cp.trailer_seen || cp.carry_len) {
        rc = copy_format_error(sc, "truncated stream");
        goto done;
    }
    rc = flush(sc);
done:
    if (copying && PQstatus(s->conn) == CONNECTION_OK)
        copy_abandon(s);
    PQclear(res);
    while (drain && (res = PQgetResult(s->conn)) != NULL)
        PQclear(res);
    free(cp.carry);
    free(sql);
    return rc;
}

static int scan_cursor(scan_ctx *sc, int64_t since)
{
    pg_source *s = sc->s;
    char since_txt[EG_TIME_BUFSZ], fetch[64];
    const char *params[1] = {eg_time_format(since, since_txt)};
    const Oid types[1] = {TIMESTAMPTZOID};
    char *key = printf_alloc("coalesce(%s::timestamptz, %s::timestamptz)", s->cols_q[COL_UPDATED],
                             s->cols_q[COL_CREATED]);
    /* Rows with neither timestamp have no key: every incremental read delivers them (they sort
     * last), so that a row inserted that way after the first read is stored and counted (staging
     * skips it: null_created_at) rather than seen by --full only. The SQLite source does the same;
     * such rows are expected to be few. A row whose updated_at is earlier than its created_at
     * (clock skew) is read while its created_at is at or after since: its key alone may lie
     * before a watermark its creation came after, and it would never be read. */
    char *sql =
        key ? printf_alloc("DECLARE " CURSOR_NAME " NO SCROLL CURSOR FOR %s WHERE %s >= $1"
                           " OR %s::timestamptz >= $1 OR %s IS NULL ORDER BY %s, %s",
                           s->select_sql, key, s->cols_q[COL_CREATED], key, key, s->cols_q[COL_ID])
            : NULL;
    PGresult *res = NULL;
    int rc = EG_ENOMEM;
    bool open_cursor = false;
    if (!sql)
        goto done;
    res = PQexecParams(s->conn, sql, 1, types, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = result_error(s, res, "opening a cursor");
        goto done;
    }
    open_cursor = true;
    snprintf(fetch, sizeof fetch, "FETCH FORWARD %zu FROM " CURSOR_NAME, s->batch_rows);
    rc = 0;
    for (;;) {
        PQclear(res);
        res = PQexecParams(s->conn, fetch, 0, NULL, NULL, NULL, NULL, 1);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            rc = result_error(s, res, "fetching from a cursor");
            goto done;
        }
        int nt = PQntuples(res);
        if (nt == 0)
            break;
        for (int r = 0; r < nt; r++) {
            field f[NCOLS];
            for (int c = 0; c < NCOLS; c++) {
                f[c].p = PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
                f[c].len = (size_t)PQgetlength(res, r, c);
            }
            rc = add_row(sc, f);
            if (rc)
                goto done;
        }
    }
    rc = flush(sc);
done:
    if (open_cursor && PQstatus(s->conn) == CONNECTION_OK &&
        PQtransactionStatus(s->conn) == PQTRANS_INTRANS) {
        int crc = exec_command(s, "CLOSE " CURSOR_NAME, "closing the cursor");
        if (crc && !rc)
            rc = crc;
    }
    PQclear(res);
    free(key);
    free(sql);
    return rc;
}

/* Ends the scan's transaction: COMMIT after a complete read, else ROLLBACK (errors from it do not
 * replace the scan's own result). A ROLLBACK is repeated once should a late cancel hit it. */
static int end_transaction(pg_source *s, int rc)
{
    if (PQstatus(s->conn) != CONNECTION_OK)
        return rc;
    if (rc == 0)
        return exec_command(s, "COMMIT", "committing the read transaction");
    eg_error error = *eg_error_last();
    for (int i = 0; i < 2 && PQtransactionStatus(s->conn) != PQTRANS_IDLE; i++) {
        PGresult *res = PQexec(s->conn, "ROLLBACK");
        PQclear(res);
    }
    if (error.code) { /* keep the error that ended the scan */
        eg_error_set(error.code, "%s", error.message);
        if (*error.detail)
            eg_error_detail("%s", error.detail);
        if (*error.hint)
            eg_error_hint("%s", error.hint);
    }
    return rc;
}

static int pg_scan(eg_source *base, int64_t since, eg_batch_fn fn, eg_reject_fn reject, void *ud)
{
    pg_source *s = (pg_source *)base;
    scan_ctx sc = {.s = s, .fn = fn, .reject = reject, .ud = ud};
    eg_batch_init(&sc.batch);
    int rc = exec_command(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                          "starting a read-only transaction");
    if (rc)
        goto done;
    rc = since == INT64_MIN ? scan_copy(&sc) : scan_cursor(&sc, since);
    rc = end_transaction(s, rc);
done:
    eg_batch_free(&sc.batch);
    return rc;
}

static int pg_count(eg_source *base, int64_t *out)
{
    pg_source *s = (pg_source *)base;
    char *sql = printf_alloc("SELECT count(*) FROM %s", s->table_q);
    PGresult *res = NULL;
    int rc = EG_ENOMEM;
    if (!sql)
        goto done;
    res = PQexec(s->conn, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        rc = result_error(s, res, "counting rows");
        goto done;
    }
    char *end;
    errno = 0;
    long long v = strtoll(PQgetvalue(res, 0, 0), &end, 10);
    if (errno || *end) {
        rc = set_error(s, EG_ESOURCE, NULL, NULL, "unexpected row count \"%s\" from PostgreSQL",
                       PQgetvalue(res, 0, 0));
        goto done;
    }
    *out = v;
    rc = 0;
done:
    PQclear(res);
    free(sql);
    return rc;
}

static const char *pg_describe(eg_source *base)
{
    return ((pg_source *)base)->describe;
}

static const char *pg_key(eg_source *base)
{
    return ((pg_source *)base)->key;
}

int eg__postgres_parse_copy(const char *data, size_t len, size_t chunk, eg_batch_fn fn,
                            eg_reject_fn reject, void *ud)
{
    pg_source s = {.schema = "(test)", .table = "(stream)", .batch_rows = DEFAULT_BATCH_ROWS};
    scan_ctx sc = {.s = &s, .fn = fn, .reject = reject, .ud = ud};
    copy_parser cp = {0};
    int rc = 0;
    eg_batch_init(&sc.batch);
    for (size_t off = 0; off < len && rc == 0; off += chunk)
        rc = copy_feed(&sc, &cp, data + off, len - off < chunk ? len - off : chunk);
    if (rc == 0 && (!cp.trailer_seen || cp.carry_len))
        rc = copy_format_error(&sc, "truncated stream");
    if (rc == 0)
        rc = flush(&sc);
    free(cp.carry);
    eg_batch_free(&sc.batch);
    return rc;
}

const char *eg__postgres_metadata_type(eg_source *src)
{
    return src && src->ops == &eg_source_postgres ? ((pg_source *)src)->col_type[COL_METADATA]
                                                  : NULL;
}

bool eg__postgres_sql_ascii(eg_source *src)
{
    return src && src->ops == &eg_source_postgres && ((pg_source *)src)->sql_ascii;
}

/* The bytes eg_utf8_valid accepts (RFC 3629): no overlong form (C0, C1, E0 80-9F, F0 80-8F), no
 * surrogate (ED A0-BF), nothing above U+10FFFF (F4 90-BF, F5-FF), no stray continuation byte. A
 * SQL_ASCII server matches regular expressions byte by byte (each byte one character, its value
 * the byte's), so this needs no function of engram's in the database (the session is read-only).
 * No NUL: text cannot hold one. An E'' literal with the backslashes doubled, so that the
 * regular expression gets the \x escapes whatever standard_conforming_strings says; the pattern
 * has no capturing group, which keeps it to the regex engine's linear DFA. */
#define UTF8_VALID_RE                                                                              \
    "E'^(?:[\\\\x01-\\\\x7f]|[\\\\xc2-\\\\xdf][\\\\x80-\\\\xbf]"                                   \
    "|\\\\xe0[\\\\xa0-\\\\xbf][\\\\x80-\\\\xbf]|[\\\\xe1-\\\\xec\\\\xee\\\\xef][\\\\x80-\\\\xbf]{" \
    "2}"                                                                                           \
    "|\\\\xed[\\\\x80-\\\\x9f][\\\\x80-\\\\xbf]|\\\\xf0[\\\\x90-\\\\xbf][\\\\x80-\\\\xbf]{2}"      \
    "|[\\\\xf1-\\\\xf3][\\\\x80-\\\\xbf]{3}|\\\\xf4[\\\\x80-\\\\x8f][\\\\x80-\\\\xbf]{2})*$'"

char *eg__postgres_utf8_invalid(const char *expr)
{
#define UTF8_INVALID_FMT "coalesce(%s !~ " UTF8_VALID_RE ", false)"
    size_t n = sizeof UTF8_INVALID_FMT + strlen(expr);
    char *p = malloc(n);
    if (p)
        snprintf(p, n, UTF8_INVALID_FMT, expr);
    return p;
#undef UTF8_INVALID_FMT
}

PGconn *eg__postgres_conn(eg_source *src)
{
    if (!src || src->ops != &eg_source_postgres)
        return NULL;
    return ((pg_source *)src)->conn;
}

const eg_source_ops eg_source_postgres = {
    .kind = "postgresql",
    .open = pg_open,
    .scan = pg_scan,
    .count = pg_count,
    .describe = pg_describe,
    .key = pg_key,
    .close = pg_close,
};
