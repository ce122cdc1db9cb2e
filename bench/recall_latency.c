/*
 * recall_latency.c — engram-bench-recall: recall latency timed inside the process (SPEC §8, §14;
 * the BENCHMARKS.md target "recall p99 under 10 ms at 1M memories, in-process timing over 1,000
 * queries").
 *
 *   engram-bench-recall --store PATH --now ISO8601 --queries FILE [--k 10] [--warmup 50]
 *
 * 1. reads FILE, one {"id": ..., "query": "..."} per line (what bench/bench_pipeline.sh writes
 *    to q.jsonl and `engram recall --queries` reads; blank lines are skipped); a bad line is an
 *    error naming FILE:LINE, nothing is timed.
 * 2. opens the configuration as `engram recall` does (eg_config_load: --store over the defaults,
 *    an engram.conf found by the usual search included), the store read-only
 *    (EG_STORE_READONLY, as the HTTP server's recall does), and one recaller.
 * 3. answers the first --warmup queries untimed (warm page cache and recaller scratch space),
 *    then every query once, in file order, with eg_recall (k = --k, no rehearsal, at = --now),
 *    timing only the eg_recall call with clock_gettime(CLOCK_MONOTONIC).
 * 4. prints queries, mean_ms, p50_ms, p90_ms, p99_ms, max_ms (the p-quantile is the sorted
 *    latency at index ceil(p * n) - 1) and hits (results returned by the timed pass, a sanity
 *    check: 0 means the store has nothing staged or the queries match nothing).
 *
 * Exit codes: 0 ok, 2 usage, 1 error (bad query line, store or configuration unusable, out of
 * memory, I/O).
 */
#include "engram/config.h"
#include "engram/engram.h"
#include "engram/error.h"
#include "engram/recall.h"
#include "util/timeutil.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "engram-bench-recall"

static const char usage[] =
    "Usage: " PROG " --store PATH --now ISO8601 --queries FILE [--k 10] [--warmup 50]\n"
    "\n"
    "Times eg_recall inside the process: FILE holds one {\"id\": ..., \"query\": \"...\"} per\n"
    "line; the first --warmup queries are answered untimed, then every query once (k = --k, no\n"
    "rehearsal, at = --now), timing the eg_recall call alone. Prints queries, mean_ms, p50_ms,\n"
    "p90_ms, p99_ms, max_ms and hits (results returned). The store is opened read-only.\n";

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, PROG ": %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "", usage);
    return 2;
}

/* Prints the last error (message, detail, hint) the way the engram CLI does; returns 1. */
static int fail(int rc)
{
    const eg_error *e = eg_error_last();
    fprintf(stderr, PROG ": error: %s\n", e->code ? e->message : eg_strerror(rc));
    if (e->code && e->detail[0])
        fprintf(stderr, "DETAIL: %s\n", e->detail);
    if (e->code && e->hint[0])
        fprintf(stderr, "HINT: %s\n", e->hint);
    return 1;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The sorted latency at index ceil(permille / 1000 * n) - 1 (n > 0), in integers. */
static double quantile(const double *sorted, size_t n, unsigned permille)
{
    size_t i = (permille * n + 999) / 1000;
    return sorted[i ? i - 1 : 0];
}

typedef struct queries {
    char **text;
    size_t n, cap;
} queries;

static void queries_free(queries *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->text[i]);
    free(q->text);
}

/* Reads path into q. Returns 0, or 1 after printing why (FILE:LINE for a bad line). */
static int read_queries(const char *path, queries *q)
{
    FILE *in = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int code = 0;
    if (!in) {
        fprintf(stderr, PROG ": cannot read --queries file \"%s\": %s\n", path, strerror(errno));
        return 1;
    }
    while ((len = getline(&line, &cap, in)) != -1) {
        json_error_t je;
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!len || strspn(line, " \t") == (size_t)len)
            continue;
        json_t *obj = json_loadb(line, (size_t)len, 0, &je);
        const char *text = json_string_value(json_object_get(obj, "query"));
        const char *why = !obj                             ? je.text
                          : !json_is_object(obj)           ? "not a JSON object"
                          : !json_object_get(obj, "id")    ? "no \"id\""
                          : !text                          ? "no \"query\" string"
                          : !text[strspn(text, " \t\r\n")] ? "the query is empty"
                                                           : NULL;
        if (why) {
            fprintf(stderr, PROG ": %s:%ld: %s\n", path, lineno, why);
            json_decref(obj);
            code = 1;
            goto done;
        }
        if (q->n == q->cap) {
            size_t c = q->cap ? q->cap * 2 : 1024;
            char **t = realloc(q->text, c * sizeof *t);
            if (!t) {
                json_decref(obj);
                fprintf(stderr, PROG ": out of memory reading \"%s\"\n", path);
                code = 1;
                goto done;
            }
            q->text = t;
            q->cap = c;
        }
        if (!(q->text[q->n] = strdup(text))) {
            json_decref(obj);
            fprintf(stderr, PROG ": out of memory reading \"%s\"\n", path);
            code = 1;
            goto done;
        }
        q->n++;
        json_decref(obj);
    }
    if (ferror(in)) {
        fprintf(stderr, PROG ": cannot read --queries file \"%s\": %s\n", path, strerror(errno));
        code = 1;
    } else if (!q->n) {
        fprintf(stderr, PROG ": no queries in \"%s\"\n", path);
        code = 1;
    }
done:
    free(line);
    fclose(in);
    return code;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", 1, NULL, 's'},
        {"now", 1, NULL, 'n'},
        {"queries", 1, NULL, 'q'},
        {"k", 1, NULL, 'k'},
        {"warmup", 1, NULL, 'w'},
        {"help", 0, NULL, 'h'},
        {0},
    };
    const char *store = NULL, *now_s = NULL, *qpath = NULL;
    long k = 10, warmup = 50;
    int c;
    char *end;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            store = optarg;
            break;
        case 'n':
            now_s = optarg;
            break;
        case 'q':
            qpath = optarg;
            break;
        case 'k':
            errno = 0;
            k = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || k < 1 || k > 1000)
                return usage_error("--k needs an integer from 1 to 1000", optarg);
            break;
        case 'w':
            errno = 0;
            warmup = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || warmup < 0 || warmup > 1000000000)
                return usage_error("--warmup needs an integer from 0 to 1000000000", optarg);
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return usage_error("unknown option or missing value", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind]);
    if (!store || !now_s || !qpath)
        return usage_error("--store, --now and --queries are required", NULL);
    int64_t at;
    if (eg_time_parse(now_s, (size_t)-1, &at))
        return usage_error("--now is not an ISO 8601 time (e.g. 2026-11-20T00:00:00Z)", now_s);

    queries qs = {0};
    if (read_queries(qpath, &qs)) {
        queries_free(&qs);
        return 1;
    }
    double *lat = malloc(qs.n * sizeof *lat);
    if (!lat) {
        fprintf(stderr, PROG ": out of memory\n");
        queries_free(&qs);
        return 1;
    }

    /* the way `engram recall` opens them (src/cli/main.c eg_cli_open), but read-only */
    eg_config cfg;
    eg_config_args args = {.store = store};
    eg_store *st = NULL;
    eg_recaller *rc = NULL;
    int code = 0, err;
    if ((err = eg_config_load(&cfg, &args))) {
        code = fail(err);
        free(lat);
        queries_free(&qs);
        return code;
    }
    if ((err = eg_store_open(&st, cfg.store, EG_STORE_READONLY)) ||
        (err = eg_recaller_open(&rc, st, &cfg))) {
        code = fail(err);
        goto done;
    }

    eg_recall_opts o = {.at = at, .k = (int)k, .rehearse = false};
    size_t nwarm = (size_t)warmup < qs.n ? (size_t)warmup : qs.n;
    size_t hits = 0;
    /* pass 0: warm-up, untimed; pass 1: every query, timed */
    for (int pass = 0; pass < 2; pass++) {
        size_t n = pass ? qs.n : nwarm;
        for (size_t i = 0; i < n; i++) {
            eg_recall_result res;
            int64_t t0 = mono_ns();
            err = eg_recall(rc, qs.text[i], &o, &res);
            int64_t t1 = mono_ns();
            if (err) {
                eg_recall_result_free(&res);
                fprintf(stderr, PROG ": query %zu of \"%s\" (\"%s\") failed\n", i + 1, qpath,
                        qs.text[i]);
                code = fail(err);
                goto done;
            }
            if (pass) {
                lat[i] = (double)(t1 - t0) / 1e6;
                hits += res.n;
            }
            eg_recall_result_free(&res);
        }
    }

    double sum = 0;
    for (size_t i = 0; i < qs.n; i++)
        sum += lat[i];
    qsort(lat, qs.n, sizeof *lat, cmp_double);
    printf("queries %zu\n", qs.n);
    printf("mean_ms %.3f\n", sum / (double)qs.n);
    printf("p50_ms %.3f\n", quantile(lat, qs.n, 500));
    printf("p90_ms %.3f\n", quantile(lat, qs.n, 900));
    printf("p99_ms %.3f\n", quantile(lat, qs.n, 990));
    printf("max_ms %.3f\n", lat[qs.n - 1]);
    printf("hits %zu\n", hits);
    if (fflush(stdout)) {
        fprintf(stderr, PROG ": cannot write the results: %s\n", strerror(errno));
        code = 1;
    }
done:
    eg_recaller_close(rc);
    eg_store_close(st);
    eg_config_free(&cfg);
    free(lat);
    queries_free(&qs);
    return code;
}
