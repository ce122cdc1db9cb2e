/*
 * test_pg_source.c — the PostgreSQL source against a real server (scripts/pg-test-server.sh).
 *
 * Reads PG* from the environment (tests/run-with-pg.sh sources tests/out/pg.env) and exits 77
 * (skipped) without PGPORT. The owner connection creates one schema per run with the fixture
 * tables and drops it at the end. The source is opened through eg_source_postgres.open directly
 * with a hand-filled eg_config, so this test needs neither the dispatcher nor the config loader.
 * Also covers conninfo.c (password detection and masking), which needs no server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engram/error.h"
#include "core/conninfo.h"
#include "source/postgres_int.h"
#include "util/timeutil.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static PGconn *admin;
static char schema[64];
static char uri[256]; /* postgresql://engram_test@127.0.0.1:PORT/engram_test?sslmode=disable */
static char real_password[256];

/* --- helpers --------------------------------------------------------------------------------- */

static void admin_exec(const char *sql)
{
    PGresult *res = PQexec(admin, sql);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fail_msg("fixture SQL failed: %s\n%s", PQresultErrorMessage(res), sql);
    PQclear(res);
}

static eg_config make_cfg(const char *table)
{
    eg_config c;
    memset(&c, 0, sizeof c);
    c.source = uri;
    c.source_schema = schema;
    c.source_table = (char *)table;
    c.col_id = (char *)"id";
    c.col_content = (char *)"content";
    c.col_created_at = (char *)"created_at";
    c.col_updated_at = (char *)"updated_at";
    c.col_metadata = (char *)"metadata";
    c.source_lookback = 300 * EG_USEC_PER_SEC;
    c.source_connect_timeout = 5 * EG_USEC_PER_SEC;
    c.source_statement_timeout = 60 * EG_USEC_PER_SEC;
    c.source_retries = 0;
    c.source_retry_delay = 10000;
    return c;
}

static eg_source *open_ok(const eg_config *cfg)
{
    eg_source *src = NULL;
    int rc = eg_source_postgres.open(&src, cfg, NULL);
    if (rc)
        fail_msg("open failed (%d): %s | %s | %s", rc, eg_error_last()->message,
                 eg_error_last()->detail, eg_error_last()->hint);
    assert_non_null(src);
    return src;
}

static int open_err(const eg_config *cfg)
{
    eg_source *src = NULL;
    eg_error_clear();
    int rc = eg_source_postgres.open(&src, cfg, NULL);
    assert_null(src);
    assert_int_equal(rc, eg_error_last()->code);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Rows a scan delivered, copied out of the batches. */
typedef struct got_row {
    char *id, *content, *metadata;
    int64_t created, updated;
    bool has_created, has_updated;
} got_row;

typedef struct collect {
    got_row *rows;
    size_t n, cap;
    size_t batches, max_batch;
    size_t stop_after; /* stop after this many batches (0: never) */
    int stop_value;
    PGconn *terminate; /* when set: terminate this backend during the first batch */
    size_t nrejects;
    char reject_ids[8][64], reject_fields[8][32];
    size_t reject_id_lens[8];
} collect;

static char *dup_or_null(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = malloc(n + 1);
    assert_non_null(p);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int on_batch(const eg_batch *b, void *ud)
{
    collect *c = ud;
    c->batches++;
    if (b->n > c->max_batch)
        c->max_batch = b->n;
    for (size_t i = 0; i < b->n; i++) {
        const eg_record *r = &b->rows[i];
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 64;
            c->rows = realloc(c->rows, c->cap * sizeof *c->rows);
            assert_non_null(c->rows);
        }
        assert_non_null(r->id);
        assert_int_equal(strlen(r->id), r->id_len);
        got_row *g = &c->rows[c->n++];
        g->id = dup_or_null(r->id, r->id_len);
        g->content = dup_or_null(r->content, r->content_len);
        g->metadata = dup_or_null(r->metadata, r->metadata_len);
        g->created = r->created_at;
        g->updated = r->updated_at;
        g->has_created = r->has_created;
        g->has_updated = r->has_updated;
    }
    if (c->terminate && c->batches == 1) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", PQbackendPID(c->terminate));
        admin_exec(sql);
        usleep(200000);
    }
    if (c->stop_after && c->batches >= c->stop_after)
        return c->stop_value;
    return 0;
}

static int on_reject(const char *row_id, const char *field, const char *reason, void *ud)
{
    collect *c = ud;
    assert_non_null(reason);
    if (c->nrejects < 8) {
        snprintf(c->reject_ids[c->nrejects], sizeof c->reject_ids[0], "%s", row_id);
        snprintf(c->reject_fields[c->nrejects], sizeof c->reject_fields[0], "%s", field);
        c->reject_id_lens[c->nrejects] = strlen(row_id);
    }
    c->nrejects++;
    return 0;
}

static void collect_free(collect *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->rows[i].id);
        free(c->rows[i].content);
        free(c->rows[i].metadata);
    }
    free(c->rows);
    memset(c, 0, sizeof *c);
}

static const got_row *find_row(const collect *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->rows[i].id, id) == 0)
            return &c->rows[i];
    fail_msg("row %s not delivered", id);
    return NULL;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void assert_error_has_no(const char *secret)
{
    const eg_error *e = eg_error_last();
    assert_null(strstr(e->message, secret));
    assert_null(strstr(e->detail, secret));
    assert_null(strstr(e->hint, secret));
}

/* Runs fn with stderr redirected to a file; returns what was written (caller frees). */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
    char path[] = "/tmp/engram-test-stderr.XXXXXX";
    fflush(stderr);
    int saved = dup(2);
    int fd = mkstemp(path);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *text = calloc(1, 65536);
    assert_non_null(text);
    size_t n = fread(text, 1, 65535, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    return text;
}

static size_t count_substr(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void setenv_or_unset(const char *name, const char *value)
{
    if (value)
        setenv(name, value, 1);
    else
        unsetenv(name);
}

/* --- fixtures -------------------------------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    admin = PQconnectdb("");
    if (PQstatus(admin) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect as the test owner: %s", PQerrorMessage(admin));
        return -1;
    }
    admin_exec("SET client_min_messages TO warning");
    snprintf(schema, sizeof schema, "Eg_Test_%d", (int)getpid());
    snprintf(uri, sizeof uri, "postgresql://%s@%s:%s/%s?sslmode=disable", PQuser(admin),
             PQhost(admin), PQport(admin), PQdb(admin));
    const char *pwfile = getenv("ENGRAM_PG_PASSWORD_FILE");
    FILE *f = pwfile ? fopen(pwfile, "r") : NULL;
    if (f) {
        if (fgets(real_password, sizeof real_password, f))
            real_password[strcspn(real_password, "\r\n")] = '\0';
        fclose(f);
    }

    char sql[8192];
    snprintf(sql, sizeof sql,
             "DROP SCHEMA IF EXISTS \"%s\" CASCADE; CREATE SCHEMA \"%s\";"
             "SET search_path TO \"%s\";"
             "GRANT USAGE ON SCHEMA \"%s\" TO engram_ro;",
             schema, schema, schema, schema);
    admin_exec(sql);
    admin_exec(
        "CREATE TABLE memories (id uuid PRIMARY KEY, content text, created_at timestamptz,"
        " updated_at timestamptz, metadata jsonb);"
        "INSERT INTO memories VALUES"
        " ('00000000-0000-4000-8000-000000000001', 'hello world',"
        "  '2024-01-02 03:04:05.123456+00', NULL, '{\"a\":1}'),"
        " ('00000000-0000-4000-8000-000000000002', NULL, '2024-01-03 00:00:00+00',"
        "  '2024-02-01 12:00:00.000001+00', NULL),"
        " ('00000000-0000-4000-8000-000000000003', '', '2024-01-04 00:00:00.5+02', NULL,"
        "  '{\"concepts\": [\"x\", \"y\"]}'),"
        " ('00000000-0000-4000-8000-000000000004', 'Grüße – 日本語 🚀',"
        "  '2023-12-31 23:59:59.999999+00', '2024-03-01 00:00:00+00', '[]');"
        "GRANT SELECT ON memories TO engram_ro;"
        "CREATE VIEW v_memories AS SELECT * FROM memories;"
        "CREATE TABLE mem_bigint (id bigint, content varchar(200), created_at timestamp,"
        " updated_at timestamp, metadata text);"
        "INSERT INTO mem_bigint VALUES"
        " (1, 'plain', '2024-03-04 05:06:07.000001', NULL, 'not json'),"
        " (9223372036854775807, 'max', '1999-12-31 23:59:59.999999', '2000-01-01 00:00:00', NULL),"
        " (-5, 'neg', '1969-12-31 23:59:59', NULL, '{}');"
        "CREATE TABLE big (id bigint, content text, created_at timestamptz, updated_at timestamptz,"
        " metadata jsonb);"
        "INSERT INTO big SELECT i, 'row ' || i,"
        " timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second',"
        " CASE WHEN i % 3 = 0 THEN timestamptz '2024-06-01 00:00:00+00'"
        "  + i * interval '1 millisecond' END,"
        " jsonb_build_object('i', i) FROM generate_series(1, 25000) i;"
        "CREATE TABLE \"My Table\" (\"select\" text, \"Body\" varchar, \"when\" timestamp,"
        " \"changed at\" timestamptz, \"meta\"\"x\" json);"
        "INSERT INTO \"My Table\" VALUES ('a''b\"c', 'body', '2024-05-05 05:05:05', NULL,"
        " '{\"k\":  \"v\"}');"
        "CREATE TABLE no_meta (id uuid, content text, created_at timestamptz,"
        " updated_at timestamptz);"
        "CREATE TABLE bad_type (id uuid, content text, created_at text, updated_at timestamptz,"
        " metadata jsonb);"
        "CREATE TABLE bad_id (id numeric, content text, created_at timestamptz,"
        " updated_at timestamptz, metadata jsonb);"
        "CREATE DOMAIN eg_text AS text;"
        "CREATE TABLE rejects (id text, content eg_text, created_at timestamptz,"
        " updated_at timestamptz, metadata text);"
        "INSERT INTO rejects VALUES (NULL, 'no id', '2024-01-01', NULL, NULL),"
        " ('inf', 'x', 'infinity', NULL, NULL), ('ok', 'fine', '2024-01-01 00:00:00+00', NULL,"
        " NULL), (repeat('long', 50), 'x', '-infinity', NULL, NULL),"
        " ('y10k', 'x', '10000-01-01 00:00:00+00', NULL, NULL),"
        " ('bc', 'x', '2024-01-01', '0044-03-15 00:00:00+00 BC', NULL);"
        "CREATE TABLE skew (id text, content text, created_at timestamptz,"
        " updated_at timestamptz, metadata jsonb);"
        "INSERT INTO skew VALUES"
        " ('skewed', 'x', '2024-01-10 00:00:00+00', '2024-01-05 00:00:00+00', NULL),"
        " ('old', 'x', '2024-01-01 00:00:00+00', NULL, NULL),"
        " ('new', 'x', '2024-01-09 00:00:00+00', NULL, NULL),"
        " ('edited', 'x', '2024-01-02 00:00:00+00', '2024-01-12 00:00:00+00', NULL),"
        " ('skewed-old', 'x', '2024-01-07 00:00:00+00', '2024-01-06 00:00:00+00', NULL);"
        "CREATE TABLE secret (id uuid, content text, created_at timestamptz,"
        " updated_at timestamptz, metadata jsonb);");
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char sql[256];
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", schema);
    if (admin && PQstatus(admin) == CONNECTION_OK)
        admin_exec(sql);
    PQfinish(admin);
    admin = NULL;
    return 0;
}

/* --- tests ----------------------------------------------------------------------------------- */

static void test_open_describe_count(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("memories");
    eg_source *src = open_ok(&cfg);
    assert_string_equal(eg_source_postgres.kind, "postgresql");
    const char *d = eg_source_postgres.describe(src);
    char want[256];
    assert_contains(d, "postgresql host=127.0.0.1 port=");
    snprintf(want, sizeof want, "port=%s ", PQport(admin));
    assert_contains(d, want);
    assert_contains(d, "dbname=engram_test user=engram_test");
    snprintf(want, sizeof want, "table=\"%s\".\"memories\"", schema);
    assert_contains(d, want);
    if (*real_password)
        assert_null(strstr(d, real_password));
    int64_t n = -1;
    assert_int_equal(eg_source_postgres.count(src, &n), 0);
    assert_int_equal(n, 4);
    eg_source_postgres.close(src);
    eg_source_postgres.close(NULL);

    /* a view works as well, and an empty connection string means the PG* environment */
    cfg = make_cfg("v_memories");
    cfg.source = (char *)"";
    src = open_ok(&cfg);
    assert_int_equal(eg_source_postgres.count(src, &n), 0);
    assert_int_equal(n, 4);
    eg_source_postgres.close(src);
}

static void test_session_is_read_only(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("memories");
    eg_source *src = open_ok(&cfg);
    PGconn *conn = eg__postgres_conn(src);
    assert_non_null(conn);

    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO \"%s\".memories (id, content) VALUES (gen_random_uuid(), 'x')", schema);
    PGresult *res = PQexec(conn, sql);
    assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
    assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "25006");
    PQclear(res);

    static const char *const settings[][2] = {{"default_transaction_read_only", "on"},
                                              {"transaction_read_only", "on"},
                                              {"TimeZone", "UTC"},
                                              {"client_encoding", "UTF8"},
                                              {"statement_timeout", "1min"},
                                              {"application_name", "engram"}};
    for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
        snprintf(sql, sizeof sql, "SHOW %s", settings[i][0]);
        res = PQexec(conn, sql);
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        assert_string_equal(PQgetvalue(res, 0, 0), settings[i][1]);
        PQclear(res);
    }
    eg_source_postgres.close(src);
}

static void test_full_scan_exact_values(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("memories");
    eg_source *src = open_ok(&cfg);
    collect c = {0};
    assert_int_equal(eg_source_postgres.scan(src, INT64_MIN, on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 4);
    assert_int_equal(c.nrejects, 0);

    const got_row *r = find_row(&c, "00000000-0000-4000-8000-000000000001");
    assert_string_equal(r->content, "hello world");
    assert_true(r->has_created);
    assert_int_equal(r->created, INT64_C(1704164645123456));
    assert_false(r->has_updated);
    assert_string_equal(r->metadata, "{\"a\": 1}");

    r = find_row(&c, "00000000-0000-4000-8000-000000000002");
    assert_null(r->content);
    assert_int_equal(r->created, INT64_C(1704240000000000));
    assert_true(r->has_updated);
    assert_int_equal(r->updated, INT64_C(1706788800000001));
    assert_null(r->metadata);

    r = find_row(&c, "00000000-0000-4000-8000-000000000003");
    assert_non_null(r->content);
    assert_string_equal(r->content, "");
    assert_int_equal(r->created, INT64_C(1704319200500000));
    assert_string_equal(r->metadata, "{\"concepts\": [\"x\", \"y\"]}");

    r = find_row(&c, "00000000-0000-4000-8000-000000000004");
    assert_string_equal(r->content, "Grüße – 日本語 🚀");
    assert_int_equal(r->created, INT64_C(1704067199999999));
    assert_int_equal(r->updated, INT64_C(1709251200000000));
    assert_string_equal(r->metadata, "[]");
    collect_free(&c);
    eg_source_postgres.close(src);
}

static void test_bigint_ids_and_timestamp_without_tz(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("mem_bigint");
    eg_source *src = open_ok(&cfg);
    collect c = {0};
    assert_int_equal(eg_source_postgres.scan(src, INT64_MIN, on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 3);
    const got_row *r = find_row(&c, "1");
    assert_string_equal(r->content, "plain");
    assert_int_equal(r->created, INT64_C(1709528767000001));
    assert_string_equal(r->metadata, "not json");
    r = find_row(&c, "9223372036854775807");
    assert_int_equal(r->created, INT64_C(946684799999999));
    assert_int_equal(r->updated, INT64_C(946684800000000));
    r = find_row(&c, "-5");
    assert_int_equal(r->created, INT64_C(-1000000));
    assert_string_equal(r->metadata, "{}");
    collect_free(&c);

    /* the same rows through the cursor (binary FETCH) path */
    assert_int_equal(eg_source_postgres.scan(src, INT64_C(-2000000), on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.rows[0].id, "-5"); /* ordered by coalesce(updated_at, created_at) */
    assert_string_equal(c.rows[1].id, "9223372036854775807");
    assert_string_equal(c.rows[2].id, "1");
    assert_int_equal(c.rows[0].created, INT64_C(-1000000));
    assert_int_equal(c.rows[1].updated, INT64_C(946684800000000));
    assert_int_equal(c.rows[2].created, INT64_C(1709528767000001));
    collect_free(&c);
    eg_source_postgres.close(src);
}

static void test_incremental_since(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("memories");
    eg_source *src = open_ok(&cfg);
    collect c = {0};
    assert_int_equal(
        eg_source_postgres.scan(src, INT64_C(1704326400000000), on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.rows[0].id, "00000000-0000-4000-8000-000000000002");
    assert_string_equal(c.rows[1].id, "00000000-0000-4000-8000-000000000004");
    assert_null(c.rows[0].content);
    assert_string_equal(c.rows[1].content, "Grüße – 日本語 🚀");
    assert_int_equal(c.rows[1].created, INT64_C(1704067199999999));
    assert_string_equal(c.rows[1].metadata, "[]");
    collect_free(&c);

    /* the bound is inclusive, to the microsecond */
    assert_int_equal(
        eg_source_postgres.scan(src, INT64_C(1709251200000000), on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 1);
    collect_free(&c);
    assert_int_equal(
        eg_source_postgres.scan(src, INT64_C(1709251200000001), on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(c.batches, 0);
    collect_free(&c);
    eg_source_postgres.close(src);
}

/* A row whose updated_at precedes its created_at (clock skew) is read while its created_at is at
 * or after since (regression: its key, updated_at, lay before the watermark, so no incremental
 * read ever saw it); rows still come in (coalesce(updated_at, created_at), id) order. */
static void test_incremental_updated_before_created(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("skew");
    eg_source *src = open_ok(&cfg);
    collect c = {0};
    /* since 2024-01-08T00:00:00Z */
    assert_int_equal(
        eg_source_postgres.scan(src, INT64_C(1704672000000000), on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.rows[0].id, "skewed");
    assert_string_equal(c.rows[1].id, "new");
    assert_string_equal(c.rows[2].id, "edited");
    collect_free(&c);
    eg_source_postgres.close(src);
}

/* The binary COPY stream of a table, as the source's own COPY asks for it. */
static char *copy_stream(const char *table, size_t *len)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "COPY (SELECT id::text, content::text, created_at::timestamptz,"
             " updated_at::timestamptz, metadata::text FROM \"%s\".%s) TO STDOUT (FORMAT binary)",
             schema, table);
    PGresult *res = PQexec(admin, sql);
    assert_int_equal(PQresultStatus(res), PGRES_COPY_OUT);
    PQclear(res);
    size_t n = 0, cap = 1 << 16;
    char *all = malloc(cap), *buf;
    assert_non_null(all);
    int got;
    while ((got = PQgetCopyData(admin, &buf, 0)) > 0) {
        if (n + (size_t)got > cap) {
            while (n + (size_t)got > cap)
                cap *= 2;
            char *bigger = realloc(all, cap);
            assert_non_null(bigger);
            all = bigger;
        }
        memcpy(all + n, buf, (size_t)got);
        n += (size_t)got;
        PQfreemem(buf);
    }
    assert_int_equal(got, -1);
    while ((res = PQgetResult(admin)) != NULL) {
        assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
        PQclear(res);
    }
    *len = n;
    return all;
}

static void test_copy_parser_split_tuples(void **state)
{
    (void)state;
    size_t len;
    char *data = copy_stream("memories", &len);
    static const size_t chunks[] = {1, 2, 3, 7, 19, 20, 64, 1 << 20};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        collect c = {0};
        assert_int_equal(eg__postgres_parse_copy(data, len, chunks[i], on_batch, on_reject, &c), 0);
        assert_int_equal(c.n, 4);
        const got_row *r = find_row(&c, "00000000-0000-4000-8000-000000000004");
        assert_string_equal(r->content, "Grüße – 日本語 🚀");
        assert_int_equal(r->updated, INT64_C(1709251200000000));
        r = find_row(&c, "00000000-0000-4000-8000-000000000002");
        assert_null(r->content);
        collect_free(&c);
    }
    /* a stream cut short, or with a bad signature, is an error and not a short success */
    collect c = {0};
    assert_int_equal(eg__postgres_parse_copy(data, len - 2, 5, on_batch, on_reject, &c),
                     EG_ESOURCE);
    assert_contains(eg_error_last()->message, "truncated");
    collect_free(&c);
    data[0] = 'X';
    assert_int_equal(eg__postgres_parse_copy(data, len, 5, on_batch, on_reject, &c), EG_ESOURCE);
    assert_int_equal(c.n, 0);
    collect_free(&c);
    free(data);

    data = copy_stream("rejects", &len);
    assert_int_equal(eg__postgres_parse_copy(data, len, 3, on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.nrejects, 5);
    collect_free(&c);
    free(data);
}

static void check_big_rows(const collect *c, size_t expect_n)
{
    assert_int_equal(c->n, expect_n);
    unsigned char *seen = calloc(25001, 1);
    assert_non_null(seen);
    for (size_t i = 0; i < c->n; i++) {
        char *end;
        long id = strtol(c->rows[i].id, &end, 10);
        assert_true(*end == '\0' && id >= 1 && id <= 25000);
        assert_int_equal(seen[id], 0);
        seen[id] = 1;
        char want[32];
        snprintf(want, sizeof want, "row %ld", id);
        assert_string_equal(c->rows[i].content, want);
        assert_int_equal(c->rows[i].created, INT64_C(1704067200000000) + id * EG_USEC_PER_SEC);
        assert_int_equal(c->rows[i].has_updated, id % 3 == 0);
        if (id % 3 == 0)
            assert_int_equal(c->rows[i].updated, INT64_C(1717200000000000) + id * 1000);
        snprintf(want, sizeof want, "{\"i\": %ld}", id);
        assert_string_equal(c->rows[i].metadata, want);
    }
    free(seen);
}

static void test_many_batches(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("big");
    eg_source *src = open_ok(&cfg);
    collect c = {0};
    assert_int_equal(eg_source_postgres.scan(src, INT64_MIN, on_batch, on_reject, &c), 0);
    check_big_rows(&c, 25000);
    assert_int_equal(c.batches, 3);
    assert_int_equal(c.max_batch, 10000);
    collect_free(&c);

    /* incremental: every updated row, plus the rest created at or after second 10000 */
    int64_t since = INT64_C(1704067200000000) + 10000 * EG_USEC_PER_SEC;
    size_t expect = 0;
    for (long i = 1; i <= 25000; i++)
        expect += i % 3 == 0 || i >= 10000;
    assert_int_equal(eg_source_postgres.scan(src, since, on_batch, on_reject, &c), 0);
    check_big_rows(&c, expect);
    assert_true(c.batches >= 2);
    assert_true(c.max_batch <= 10000);
    for (size_t i = 1; i < c.n; i++) {
        int64_t a = c.rows[i - 1].has_updated ? c.rows[i - 1].updated : c.rows[i - 1].created;
        int64_t b = c.rows[i].has_updated ? c.rows[i].updated : c.rows[i].created;
        assert_true(a <= b);
    }
    collect_free(&c);
    eg_source_postgres.close(src);

    /* a smaller configured batch size is honoured */
    cfg.ingest_batch_rows = 1000;
    src = open_ok(&cfg);
    assert_int_equal(eg_source_postgres.scan(src, INT64_MIN, on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 25000);
    assert_int_equal(c.batches, 25);
    assert_int_equal(c.max_batch, 1000);
    collect_free(&c);
    eg_source_postgres.close(src);
}

static void test_missing_table(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("no_such_table");
    assert_int_equal(open_err(&cfg), EG_ESCHEMA);
    char want[256];
    snprintf(want, sizeof want, "table \"%s.no_such_table\" not found in database \"engram_test\"",
             schema);
    assert_contains(eg_error_last()->message, want);
    assert_contains(eg_error_last()->message, "on host 127.0.0.1");

    cfg = make_cfg("memories");
    cfg.source_schema = (char *)"no_such_schema";
    assert_int_equal(open_err(&cfg), EG_ESCHEMA);
    assert_contains(eg_error_last()->message, "no_such_schema.memories");
}

static void test_missing_column(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("no_meta");
    assert_int_equal(open_err(&cfg), EG_ESCHEMA);
    const eg_error *e = eg_error_last();
    assert_contains(e->message, "column \"metadata\"");
    assert_contains(e->message, "no_meta");
    assert_contains(e->detail, "id uuid");
    assert_contains(e->detail, "updated_at timestamp with time zone");

    cfg = make_cfg("memories");
    cfg.col_content = (char *)"body";
    assert_int_equal(open_err(&cfg), EG_ESCHEMA);
    assert_contains(eg_error_last()->message, "column \"body\" (the content column)");
}

static void test_wrong_type(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("bad_type");
    assert_int_equal(open_err(&cfg), EG_ESCHEMA);
    const eg_error *e = eg_error_last();
    assert_contains(e->message, "column \"created_at\"");
    assert_contains(e->message, "bad_type");
    assert_contains(e->message, "has type text");
    assert_contains(e->message, "timestamp with time zone or timestamp without time zone");
    /* SPEC §4: errors name host, database and table (as the missing-column error does) */
    assert_contains(e->message, "in database \"engram_test\" on host 127.0.0.1 has type");

    cfg = make_cfg("bad_id");
    assert_int_equal(open_err(&cfg), EG_ESCHEMA);
    assert_contains(eg_error_last()->message, "column \"id\"");
    assert_contains(eg_error_last()->message, "has type numeric");
    assert_contains(eg_error_last()->message, "uuid");
}

static void test_custom_mapping_and_odd_identifiers(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("My Table");
    cfg.col_id = (char *)"select";
    cfg.col_content = (char *)"Body";
    cfg.col_created_at = (char *)"when";
    cfg.col_updated_at = (char *)"changed at";
    cfg.col_metadata = (char *)"meta\"x";
    eg_source *src = open_ok(&cfg);
    assert_contains(eg_source_postgres.describe(src), "\"My Table\"");
    collect c = {0};
    assert_int_equal(eg_source_postgres.scan(src, INT64_MIN, on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.rows[0].id, "a'b\"c");
    assert_string_equal(c.rows[0].content, "body");
    assert_int_equal(c.rows[0].created, INT64_C(1714885505000000));
    assert_false(c.rows[0].has_updated);
    assert_string_equal(c.rows[0].metadata, "{\"k\":  \"v\"}");
    collect_free(&c);
    assert_int_equal(
        eg_source_postgres.scan(src, INT64_C(1714885505000000), on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 1);
    collect_free(&c);
    int64_t n = 0;
    assert_int_equal(eg_source_postgres.count(src, &n), 0);
    assert_int_equal(n, 1);
    eg_source_postgres.close(src);
}

static void test_rejects(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("rejects"); /* content is a domain over text */
    eg_source *src = open_ok(&cfg);
    collect c = {0};
    assert_int_equal(eg_source_postgres.scan(src, INT64_MIN, on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.rows[0].id, "ok");
    assert_int_equal(c.nrejects, 5);
    bool null_id = false, inf = false, long_id = false, y10k = false, bc = false;
    for (size_t i = 0; i < c.nrejects; i++) {
        null_id |=
            strcmp(c.reject_ids[i], "(null id)") == 0 && strcmp(c.reject_fields[i], "id") == 0;
        inf |= strcmp(c.reject_ids[i], "inf") == 0 && strcmp(c.reject_fields[i], "created_at") == 0;
        /* outside years 1-9999 (it was staged, and exported as a year no parser reads back) */
        y10k |=
            strcmp(c.reject_ids[i], "y10k") == 0 && strcmp(c.reject_fields[i], "created_at") == 0;
        bc |= strcmp(c.reject_ids[i], "bc") == 0 && strcmp(c.reject_fields[i], "updated_at") == 0;
        /* the whole id, which the quarantine keeps for trace (it was cut at 120 bytes) */
        long_id |= c.reject_id_lens[i] == 200 && !strncmp(c.reject_ids[i], "longlong", 8);
    }
    assert_true(null_id);
    assert_true(inf);
    assert_true(long_id);
    assert_true(y10k);
    assert_true(bc);
    collect_free(&c);
    /* a NULL reject callback just skips */
    assert_int_equal(eg_source_postgres.scan(src, INT64_MIN, on_batch, NULL, &c), 0);
    assert_int_equal(c.n, 1);
    collect_free(&c);
    eg_source_postgres.close(src);
}

static void test_read_only_role(void **state)
{
    (void)state;
    const char *ro = getenv("ENGRAM_PG_RO_USER");
    if (!ro)
        skip();
    char ro_uri[300];
    snprintf(ro_uri, sizeof ro_uri, "host=%s port=%s dbname=%s user=%s", PQhost(admin),
             PQport(admin), PQdb(admin), ro);
    eg_config cfg = make_cfg("memories");
    cfg.source = ro_uri;
    eg_source *src = open_ok(&cfg);
    collect c = {0};
    assert_int_equal(eg_source_postgres.scan(src, INT64_MIN, on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 4);
    collect_free(&c);
    eg_source_postgres.close(src);

    cfg.source_table = (char *)"secret"; /* no SELECT granted */
    assert_int_equal(open_err(&cfg), EG_ESOURCE);
    assert_contains(eg_error_last()->message, "may not read column \"id\"");
    assert_contains(eg_error_last()->hint, "GRANT SELECT");
}

static void stop_and_reuse(const char *what, int64_t since)
{
    eg_config cfg = make_cfg("big");
    eg_source *src = open_ok(&cfg);
    collect c = {.stop_after = 1, .stop_value = 42};
    assert_int_equal(eg_source_postgres.scan(src, since, on_batch, on_reject, &c), 42);
    assert_int_equal(c.batches, 1);
    collect_free(&c);
    PGconn *conn = eg__postgres_conn(src);
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        fail_msg("%s: connection not idle after a stopped scan", what);
    int64_t n = 0;
    assert_int_equal(eg_source_postgres.count(src, &n), 0);
    assert_int_equal(n, 25000);
    assert_int_equal(eg_source_postgres.scan(src, INT64_MIN, on_batch, on_reject, &c), 0);
    assert_int_equal(c.n, 25000);
    collect_free(&c);
    eg_source_postgres.close(src);
}

static void test_callback_stops_scan(void **state)
{
    (void)state;
    stop_and_reuse("COPY", INT64_MIN);
    stop_and_reuse("cursor", INT64_C(0));
}

static void test_connection_lost_mid_read(void **state)
{
    (void)state;
    int64_t modes[2] = {INT64_MIN, 0};
    for (int i = 0; i < 2; i++) {
        eg_config cfg = make_cfg("big");
        cfg.ingest_batch_rows = 100;
        eg_source *src = open_ok(&cfg);
        collect c = {.terminate = eg__postgres_conn(src)};
        eg_error_clear();
        int rc = eg_source_postgres.scan(src, modes[i], on_batch, on_reject, &c);
        assert_int_equal(rc, EG_EUNAVAIL);
        assert_int_equal(eg_error_last()->code, EG_EUNAVAIL);
        assert_contains(eg_error_last()->message, "lost the connection");
        assert_contains(eg_error_last()->message, "database=engram_test");
        if (modes[i] != INT64_MIN) /* COPY data may all be buffered before the kill lands */
            assert_true(c.n < 25000);
        collect_free(&c);
        eg_source_postgres.close(src);
    }
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

typedef struct open_call {
    eg_config cfg;
    int rc;
    double elapsed;
} open_call;

static void do_open(void *arg)
{
    open_call *oc = arg;
    eg_source *src = NULL;
    double t0 = now_s();
    eg_error_clear();
    oc->rc = eg_source_postgres.open(&src, &oc->cfg, NULL);
    oc->elapsed = now_s() - t0;
    eg_source_postgres.close(src);
}

static void test_unreachable_port(void **state)
{
    (void)state;
    char ci[128], port[16];
    int p = free_port();
    snprintf(port, sizeof port, "%d", p);
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d dbname=engram_test connect_timeout=2", p);
    open_call oc = {.cfg = make_cfg("memories")};
    oc.cfg.source = ci;
    oc.cfg.source_retries = 1;
    oc.cfg.source_retry_delay = 10000;
    char *log = capture_stderr(do_open, &oc);
    assert_int_equal(oc.rc, EG_EUNAVAIL);
    assert_true(oc.elapsed < 3.0);
    const eg_error *e = eg_error_last();
    assert_contains(e->message, "host=127.0.0.1");
    assert_contains(e->message, port);
    assert_contains(e->message, "database=engram_test");
    char table[128]; /* SPEC §4: errors name host, database and table */
    snprintf(table, sizeof table, "(table \"%s.memories\")", schema);
    assert_contains(e->message, table);
    assert_contains(e->message, "after 2 attempts");
    assert_true(e->hint[0] != '\0');
    assert_int_equal(count_substr(log, "attempt 1 of 2"), 1);
    assert_int_equal(count_substr(log, "attempt 2 of 2"), 1);
    assert_contains(log, "host=127.0.0.1");
    assert_contains(log, "dbname=engram_test");
    free(log);
}

static void test_connect_timeout_progressive(void **state)
{
    (void)state;
    /* a listener that never accepts: the handshake completes in the kernel, the server never
     * speaks, so only connect_timeout ends each attempt: 2 s, then 4 s */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    char ci[128];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d dbname=engram_test sslmode=disable",
             ntohs(a.sin_port));
    open_call oc = {.cfg = make_cfg("memories")};
    oc.cfg.source = ci;
    oc.cfg.source_connect_timeout = 2 * EG_USEC_PER_SEC;
    oc.cfg.source_retries = 1;
    oc.cfg.source_retry_delay = 10000;
    char *log = capture_stderr(do_open, &oc);
    close(fd);
    assert_int_equal(oc.rc, EG_EUNAVAIL);
    if (oc.elapsed < 5.5 || oc.elapsed > 30.0) /* only the lower bound is the point */
        fail_msg("two attempts with 2 s and 4 s timeouts took %.2f s", oc.elapsed);
    assert_int_equal(count_substr(log, "timeout expired"), 2);
    free(log);
}

static void test_missing_database(void **state)
{
    (void)state;
    char ci[256];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%s dbname=no_such_db_xyz", PQport(admin));
    open_call oc = {.cfg = make_cfg("memories")};
    oc.cfg.source = ci;
    oc.cfg.source_retries = 3;
    oc.cfg.source_retry_delay = 1000000;
    char *log = capture_stderr(do_open, &oc);
    assert_int_equal(oc.rc, EG_ESOURCE);
    assert_true(oc.elapsed < 1.0); /* not retried */
    assert_contains(eg_error_last()->message, "no_such_db_xyz");
    assert_null(strstr(log, "attempt"));
    free(log);
}

static void test_wrong_password(void **state)
{
    (void)state;
    char *saved_pw = getenv("PGPASSWORD") ? strdup(getenv("PGPASSWORD")) : NULL;
    char *saved_file = getenv("PGPASSFILE") ? strdup(getenv("PGPASSFILE")) : NULL;
    static const char wrong[] = "wrong-Secret-4711";
    setenv("PGPASSFILE", "/nonexistent/engram-test-pgpass", 1);

    /* a wrong PGPASSWORD */
    setenv("PGPASSWORD", wrong, 1);
    open_call oc = {.cfg = make_cfg("memories")};
    oc.cfg.source_retries = 3;
    oc.cfg.source_retry_delay = 1000000;
    char *log = capture_stderr(do_open, &oc);
    assert_int_equal(oc.rc, EG_EAUTH);
    assert_true(oc.elapsed < 1.0); /* not retried */
    assert_null(strstr(log, "attempt"));
    assert_contains(eg_error_last()->message, "user \"engram_test\"");
    assert_contains(eg_error_last()->hint, "PGPASSFILE");
    assert_contains(eg_error_last()->hint, ".pgpass");
    assert_error_has_no(wrong);
    if (*real_password)
        assert_error_has_no(real_password);
    assert_null(strstr(log, wrong));
    free(log);

    /* a wrong password inside the URI */
    unsetenv("PGPASSWORD");
    char bad_uri[300];
    snprintf(bad_uri, sizeof bad_uri, "postgresql://engram_test:Wr0ngInUri@%s:%s/engram_test",
             PQhost(admin), PQport(admin));
    oc.cfg.source = bad_uri;
    log = capture_stderr(do_open, &oc);
    assert_int_equal(oc.rc, EG_EAUTH);
    assert_error_has_no("Wr0ngInUri");
    if (*real_password)
        assert_error_has_no(real_password);
    assert_null(strstr(log, "Wr0ngInUri"));
    free(log);

    /* no password at all */
    oc.cfg.source = uri;
    log = capture_stderr(do_open, &oc);
    assert_int_equal(oc.rc, EG_EAUTH);
    assert_contains(eg_error_last()->hint, "PGPASSWORD");
    free(log);

    setenv_or_unset("PGPASSWORD", saved_pw);
    setenv_or_unset("PGPASSFILE", saved_file);
    free(saved_pw);
    free(saved_file);
}

static void test_bad_conninfo(void **state)
{
    (void)state;
    eg_config cfg = make_cfg("memories");
    cfg.source = (char *)"host=x password";
    assert_int_equal(open_err(&cfg), EG_ECONFIG);
    assert_null(strstr(eg_error_last()->message, "password"));
    /* libpq's reason is given, but no fragment of a string that may hold a password */
    cfg.source = (char *)"host=x passwordSecr3t";
    assert_int_equal(open_err(&cfg), EG_ECONFIG);
    assert_null(strstr(eg_error_last()->message, "Secr3t"));
    cfg.source = (char *)"host=x sslmode=disable bogus=1";
    assert_int_equal(open_err(&cfg), EG_ECONFIG);
    assert_non_null(strstr(eg_error_last()->message, "invalid connection option \"bogus\""));
}

static void test_conninfo_mask(void **state)
{
    (void)state;
    char out[256];
    assert_true(eg_conninfo_has_password("postgresql://u:p%40ss@h:5432/db?sslmode=require"));
    assert_int_equal(
        eg_conninfo_mask("postgresql://u:p%40ss@h:5432/db?sslmode=require", out, sizeof out), 0);
    assert_string_equal(out, "postgresql://u:****@h:5432/db?sslmode=require");

    assert_true(eg_conninfo_has_password("postgres://u@h/db?password=secret&application_name=x"));
    assert_int_equal(
        eg_conninfo_mask("postgres://u@h/db?password=secret&application_name=x", out, sizeof out),
        0);
    assert_string_equal(out, "postgres://u@h/db?password=****&application_name=x");

    assert_true(eg_conninfo_has_password("host=h dbname=d password='x y' sslmode=require"));
    assert_int_equal(
        eg_conninfo_mask("host=h dbname=d password='x y' sslmode=require", out, sizeof out), 0);
    assert_contains(out, "password=****");
    assert_null(strstr(out, "x y"));
    assert_contains(out, "host=h");
    assert_contains(out, "dbname=d");
    assert_contains(out, "sslmode=require");
    PQconninfoOption *opts = PQconninfoParse(out, NULL); /* the rebuilt string still parses */
    assert_non_null(opts);
    PQconninfoFree(opts);

    assert_false(eg_conninfo_has_password("host=h dbname=d"));
    assert_int_equal(eg_conninfo_mask("host=h dbname='my db'", out, sizeof out), 0);
    assert_contains(out, "host=h");
    assert_contains(out, "dbname='my db'");
    assert_false(eg_conninfo_has_password("postgresql://u@h/db"));
    assert_int_equal(eg_conninfo_mask("postgresql://u@h/db", out, sizeof out), 0);
    assert_string_equal(out, "postgresql://u@h/db");
    assert_false(eg_conninfo_has_password(""));
    assert_false(eg_conninfo_has_password(NULL));
    assert_int_equal(eg_conninfo_mask(NULL, out, sizeof out), 0);
    assert_string_equal(out, "");

    /* a password with an unencoded '/' or '@' is hidden all the same */
    assert_true(eg_conninfo_has_password("postgresql://u:pa/s@s@h/db"));
    assert_int_equal(eg_conninfo_mask("postgresql://u:pa/s@s@h/db", out, sizeof out), 0);
    assert_null(strstr(out, "pa/s"));
    assert_false(eg_conninfo_has_password("postgresql://u:@h/db"));

    /* a URI nested in dbname, as libpq expands it */
    assert_true(eg_conninfo_has_password("dbname='postgresql://u:pw9@h/db'"));
    assert_int_equal(eg_conninfo_mask("dbname='postgresql://u:pw9@h/db'", out, sizeof out), 0);
    assert_null(strstr(out, "pw9"));
    assert_contains(out, "****");

    /* unparseable: refused without echoing it, and counted as holding a password */
    assert_true(eg_conninfo_has_password("host=h password"));
    assert_int_equal(eg_conninfo_mask("host=h password", out, sizeof out), EG_ECONFIG);
    assert_null(strstr(out, "password"));

    /* too small a buffer: truncated, terminated, still masked */
    assert_int_equal(eg_conninfo_mask("postgresql://u:secret@h/db", out, 18), EG_ENOMEM);
    assert_string_equal(out, "postgresql://u:**");
    assert_int_equal(eg_conninfo_mask("postgresql://u:secret@h/db", out, 0), EG_ENOMEM);
}

int main(void)
{
    const struct CMUnitTest conninfo_tests[] = {
        cmocka_unit_test(test_conninfo_mask),
    };
    int failed = cmocka_run_group_tests_name("conninfo", conninfo_tests, NULL, NULL);
    if (!getenv("PGPORT")) {
        fprintf(stderr, "skipped: PGPORT is not set (run scripts/pg-test-server.sh start and "
                        "source tests/out/pg.env)\n");
        return failed ? 1 : 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_describe_count),
        cmocka_unit_test(test_session_is_read_only),
        cmocka_unit_test(test_full_scan_exact_values),
        cmocka_unit_test(test_bigint_ids_and_timestamp_without_tz),
        cmocka_unit_test(test_incremental_since),
        cmocka_unit_test(test_incremental_updated_before_created),
        cmocka_unit_test(test_copy_parser_split_tuples),
        cmocka_unit_test(test_many_batches),
        cmocka_unit_test(test_missing_table),
        cmocka_unit_test(test_missing_column),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_custom_mapping_and_odd_identifiers),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_read_only_role),
        cmocka_unit_test(test_callback_stops_scan),
        cmocka_unit_test(test_connection_lost_mid_read),
        cmocka_unit_test(test_unreachable_port),
        cmocka_unit_test(test_connect_timeout_progressive),
        cmocka_unit_test(test_missing_database),
        cmocka_unit_test(test_wrong_password),
        cmocka_unit_test(test_bad_conninfo),
    };
    failed += cmocka_run_group_tests_name("pg_source", tests, group_setup, group_teardown);
    return failed ? 1 : 0;
}
