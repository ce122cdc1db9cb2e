/*
 * metrics.c — the Prometheus text exposition of /metrics (SPEC §12).
 *
 * Store figures are read at scrape time with plain SELECTs through eg_store_db (the same known
 * debt as health.c and validate.c: these queries belong in src/store/). Process counters live in
 * one mutex-guarded struct: a few fixed route slots and a fixed-size table of (route, code) pairs,
 * so counting never allocates. Names follow Prometheus conventions (promtool check metrics):
 * counters end in _total, durations are in seconds.
 */
#include "monitor/metrics.h"

#include "engram/error.h"
#include "store/migrations.h"
#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

enum { MAX_PAIRS = 64 };

static const double recall_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                       0.1,   0.25,   0.5,   1,    2.5,   5};
#define NRECALL (sizeof recall_bounds / sizeof recall_bounds[0])
static const double unit_bounds[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1};
#define NUNIT (sizeof unit_bounds / sizeof unit_bounds[0])

static struct {
    pthread_mutex_t mu;
    struct {
        const char *route; /* static strings from http.c */
        int code;
        uint64_t n;
    } pairs[MAX_PAIRS];
    int npairs;
    uint64_t errors;
    uint64_t recall_buckets[NRECALL];
    uint64_t recall_count;
    double recall_sum;
} G = {.mu = PTHREAD_MUTEX_INITIALIZER};

void eg_metrics_count_request(const char *route, int code)
{
    pthread_mutex_lock(&G.mu);
    int i;
    for (i = 0; i < G.npairs; i++)
        if (G.pairs[i].code == code && !strcmp(G.pairs[i].route, route))
            break;
    if (i == G.npairs && G.npairs < MAX_PAIRS) {
        G.pairs[i].route = route;
        G.pairs[i].code = code;
        G.pairs[i].n = 0;
        G.npairs++;
    }
    if (i < G.npairs)
        G.pairs[i].n++;
    pthread_mutex_unlock(&G.mu);
}

void eg_metrics_count_error(void)
{
    pthread_mutex_lock(&G.mu);
    G.errors++;
    pthread_mutex_unlock(&G.mu);
}

void eg_metrics_observe_recall(double seconds)
{
    pthread_mutex_lock(&G.mu);
    for (size_t i = 0; i < NRECALL; i++)
        if (seconds <= recall_bounds[i])
            G.recall_buckets[i]++;
    G.recall_count++;
    G.recall_sum += seconds;
    pthread_mutex_unlock(&G.mu);
}

/* A label value with \, " and newline escaped as the exposition format requires. */
static int put_label(eg_buf *b, const char *v)
{
    int rc = 0;
    for (const char *p = v ? v : ""; *p && !rc; p++) {
        if (*p == '\\' || *p == '"')
            rc = eg_buf_putc(b, '\\') || eg_buf_putc(b, *p);
        else if (*p == '\n')
            rc = eg_buf_puts(b, "\\n");
        else
            rc = eg_buf_putc(b, *p);
    }
    return rc ? EG_ENOMEM : 0;
}

static int head(eg_buf *b, const char *name, const char *type, const char *help)
{
    return eg_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="key"} count for each row of a "SELECT key, count" query. */
static int grouped(eg_buf *b, sqlite3 *db, const char *name, const char *label, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return EG_ESTORE;
    while (!rc && sqlite3_step(s) == SQLITE_ROW) {
        rc = eg_buf_printf(b, "%s{%s=\"", name, label) ||
             put_label(b, (const char *)sqlite3_column_text(s, 0)) ||
             eg_buf_printf(b, "\"} %lld\n", (long long)sqlite3_column_int64(s, 1));
    }
    sqlite3_finalize(s);
    return rc ? EG_ENOMEM : 0;
}

static int64_t scalar(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int histogram_rows(eg_buf *b, const char *name, const double *bounds, size_t nb,
                          const uint64_t *cum, uint64_t count, double sum)
{
    int rc = 0;
    for (size_t i = 0; i < nb && !rc; i++)
        rc = eg_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
                           (unsigned long long)cum[i]);
    if (!rc)
        rc = eg_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n", name,
                           (unsigned long long)count, name, sum, name, (unsigned long long)count);
    return rc;
}

/* A histogram over the values in [0, 1] of one SELECT column. */
static int store_histogram(eg_buf *b, sqlite3 *db, const char *name, const char *help,
                           const char *sql)
{
    uint64_t cum[NUNIT] = {0}, count = 0;
    double sum = 0;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return EG_ESTORE;
    while (sqlite3_step(s) == SQLITE_ROW) {
        double v = sqlite3_column_double(s, 0);
        for (size_t i = 0; i < NUNIT; i++)
            if (v <= unit_bounds[i])
                cum[i]++;
        count++;
        sum += v;
    }
    sqlite3_finalize(s);
    return head(b, name, "histogram", help) ||
                   histogram_rows(b, name, unit_bounds, NUNIT, cum, count, sum)
               ? EG_ENOMEM
               : 0;
}

static int store_part(eg_buf *b, eg_store *st, int64_t now)
{
    sqlite3 *db = eg_store_db(st);
    int rc = 0;
    static const struct {
        const char *name, *help, *sql;
    } sizes[] = {
        {"engram_episodes", "Episodes formed in short-term memory.",
         "SELECT count(*) FROM episode"},
        {"engram_concepts", "Concepts known to the store.", "SELECT count(*) FROM concept"},
        {"engram_concept_edges", "Edges of the Hebbian concept graph.",
         "SELECT count(*) FROM concept_edge"},
        {"engram_memory_associations", "Memory-memory associations.", "SELECT count(*) FROM assoc"},
        {"engram_long_term_memories", "Long-term memory records.",
         "SELECT count(*) FROM ltm_record"},
        {"engram_creative_associations", "Creative associations found in REM.",
         "SELECT count(*) FROM creative"},
    };
    if ((rc = head(b, "engram_store_up", "gauge",
                   "1 when the store could be read for this scrape.")) ||
        (rc = eg_buf_puts(b, "engram_store_up 1\n")))
        goto done;
    if ((rc = head(b, "engram_memories", "gauge", "Memories in the store by staging status.")) ||
        (rc = grouped(b, db, "engram_memories", "status",
                      "SELECT status, count(*) FROM memory GROUP BY 1 ORDER BY 1")))
        goto done;
    if ((rc =
             head(b, "engram_pipeline_memories", "gauge", "Staged memories by pipeline status.")) ||
        (rc = grouped(b, db, "engram_pipeline_memories", "status",
                      "SELECT status, count(*) FROM pipeline GROUP BY 1 ORDER BY 1")))
        goto done;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if ((rc = head(b, sizes[i].name, "gauge", sizes[i].help)) ||
            (rc =
                 eg_buf_printf(b, "%s %lld\n", sizes[i].name, (long long)scalar(db, sizes[i].sql))))
            goto done;

    /* ingest lag: from the newest created_at at or before now to now. A row dated later (clock
     * skew, a typo such as 2062) is left out, as the freshness check and the dashboard leave it
     * out: counted, it made the lag negative for as long as it stayed, and an alert on the lag
     * never fired however stale the data became. */
    {
        sqlite3_stmt *s = NULL;
        bool have = false;
        int64_t newest = 0;
        if (sqlite3_prepare_v2(db, "SELECT max(created_at) FROM memory WHERE created_at <= ?1", -1,
                               &s, NULL) == SQLITE_OK &&
            sqlite3_bind_int64(s, 1, now) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW &&
            sqlite3_column_type(s, 0) != SQLITE_NULL) {
            have = true;
            newest = sqlite3_column_int64(s, 0);
        }
        sqlite3_finalize(s);
        if (have && ((rc = head(b, "engram_ingest_lag_seconds", "gauge",
                                "Seconds from the newest created_at at or before now to "
                                "now.")) ||
                     (rc = eg_buf_printf(b, "engram_ingest_lag_seconds %.6f\n",
                                         (double)(now - newest) / 1e6))))
            goto done;
    }

    /* finished runs only: a run is 'running' while it goes on, then 'ok', 'failed' or
     * 'interrupted'; counted under 'running' it made a counter series that fell back to 0 (or
     * vanished) when the run ended. The runs going on are the gauge below. */
    if ((rc = head(b, "engram_runs_total", "counter",
                   "Finished runs recorded in the store by command and outcome.")))
        goto done;
    {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(db,
                               "SELECT command, outcome, count(*) FROM runs WHERE outcome <> "
                               "'running' GROUP BY 1, 2 ORDER BY 1, 2",
                               -1, &s, NULL) != SQLITE_OK) {
            rc = EG_ESTORE;
            goto done;
        }
        while (!rc && sqlite3_step(s) == SQLITE_ROW)
            rc = eg_buf_puts(b, "engram_runs_total{command=\"") ||
                 put_label(b, (const char *)sqlite3_column_text(s, 0)) ||
                 eg_buf_puts(b, "\",outcome=\"") ||
                 put_label(b, (const char *)sqlite3_column_text(s, 1)) ||
                 eg_buf_printf(b, "\"} %lld\n", (long long)sqlite3_column_int64(s, 2));
        sqlite3_finalize(s);
        if (rc)
            goto done;
    }

    if ((rc = head(b, "engram_runs_running", "gauge",
                   "Runs recorded in the store as begun and not finished, by command.")) ||
        (rc = grouped(b, db, "engram_runs_running", "command",
                      "SELECT command, sum(outcome = 'running') FROM runs GROUP BY 1 ORDER BY 1")))
        goto done;

    /* the phase durations of the newest finished run of each command ("ms" of its counts) */
    if ((rc = head(b, "engram_last_run_phase_duration_seconds", "gauge",
                   "Duration of each phase of the last finished run of each command.")))
        goto done;
    {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(
                db,
                "SELECT r.command, j.key, j.value FROM runs r, json_each(r.counts, '$.ms') j "
                "WHERE json_valid(r.counts) AND r.run_id IN (SELECT max(run_id) FROM runs "
                "WHERE finished_at IS NOT NULL GROUP BY command) ORDER BY 1, 2",
                -1, &s, NULL) != SQLITE_OK) {
            rc = EG_ESTORE;
            goto done;
        }
        while (!rc && sqlite3_step(s) == SQLITE_ROW)
            rc = eg_buf_puts(b, "engram_last_run_phase_duration_seconds{command=\"") ||
                 put_label(b, (const char *)sqlite3_column_text(s, 0)) ||
                 eg_buf_puts(b, "\",phase=\"") ||
                 put_label(b, (const char *)sqlite3_column_text(s, 1)) ||
                 eg_buf_printf(b, "\"} %.6f\n", sqlite3_column_double(s, 2) / 1e3);
        sqlite3_finalize(s);
        if (rc)
            goto done;
    }
    if ((rc = store_histogram(b, db, "engram_staged_activation_strength",
                              "Staging activation_strength of the staged memories.",
                              "SELECT coalesce(activation_strength, 0) FROM staging WHERE "
                              "status = 'staged'")) ||
        (rc = store_histogram(b, db, "engram_ltm_retrieval_strength",
                              "Retrieval strength of the long-term memories (retention).",
                              "SELECT coalesce(" EG_LTM_RS ", 0) FROM " EG_LTM_RANKED " w")))
        goto done;
done:
    return rc ? (rc == EG_ESTORE ? EG_ESTORE : EG_ENOMEM) : 0;
}

int eg_metrics_render(eg_store *st, int64_t now, eg_buf *out)
{
    int rc = 0;
    if (st) {
        size_t mark = out->len;
        if ((rc = store_part(out, st, now))) {
            out->len = mark; /* a half-written store part would be a torn scrape */
            if (out->data)
                out->data[mark] = '\0';
            eg_metrics_count_error();
            st = NULL;
            if (rc == EG_ENOMEM)
                return rc;
        }
    }
    if (!st &&
        (head(out, "engram_store_up", "gauge", "1 when the store could be read for this scrape.") ||
         eg_buf_puts(out, "engram_store_up 0\n")))
        return EG_ENOMEM;

    pthread_mutex_lock(&G.mu);
    rc = head(out, "engram_http_requests_total", "counter",
              "HTTP requests answered by this process, by route and status code.");
    for (int i = 0; i < G.npairs && !rc; i++)
        rc = eg_buf_printf(out, "engram_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                           G.pairs[i].route, G.pairs[i].code, (unsigned long long)G.pairs[i].n);
    if (!rc)
        rc = head(out, "engram_errors_total", "counter",
                  "Errors of this process (answers 500, unreadable store).") ||
             eg_buf_printf(out, "engram_errors_total %llu\n", (unsigned long long)G.errors) ||
             head(out, "engram_recall_latency_seconds", "histogram",
                  "Latency of the /api/recall requests served by this process.") ||
             histogram_rows(out, "engram_recall_latency_seconds", recall_bounds, NRECALL,
                            G.recall_buckets, G.recall_count, G.recall_sum);
    pthread_mutex_unlock(&G.mu);
    return rc ? EG_ENOMEM : 0;
}
