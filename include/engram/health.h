/*
 * engram/health.h — `engram health`: eight measured checks of the source and the store
 * (SPEC §10), a summary status, and the history they leave in the store.
 *
 * eg_health_run never fails because a check fails: an unreachable source, a schema mismatch or a
 * missing store become CRITICAL/UNKNOWN checks with a message. It returns an error code only when
 * it cannot run at all (out of memory). Nothing is created: a missing store is reported, not made.
 */
#ifndef ENGRAM_HEALTH_H
#define ENGRAM_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "engram/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Numeric values are the exit codes of `engram health` (SPEC §13). */
typedef enum eg_health_status {
    EG_HEALTH_OK = 0,
    EG_HEALTH_WARNING = 1,
    EG_HEALTH_CRITICAL = 2,
    EG_HEALTH_UNKNOWN = 3,
} eg_health_status;

enum { EG_HEALTH_NCHECKS = 8 };

typedef struct eg_health_check {
    const char *name; /* static: connection, freshness, volume, quality, performance, schema,
                         readiness, pipeline */
    eg_health_status status;
    bool has_value;   /* false when nothing could be measured */
    double value;     /* what was measured, in unit */
    const char *unit; /* static: "ms", "h", "rows", "%", "columns" */
    char threshold[128];
    char message[384];
} eg_health_check;

typedef struct eg_health_report {
    int64_t at;              /* the clock of the checks (--now) */
    char target[512];        /* the source, described without secrets */
    eg_health_status status; /* the summary: the worst check (see eg_health_worse) */
    eg_health_check checks[EG_HEALTH_NCHECKS];
    bool store_found; /* the store file exists and opened */
    bool recorded;    /* the results were appended to health_history */
    char note[384];   /* about the store and the history, for the summary line */
} eg_health_report;

/* Runs every check against the configured source and store at now; fills *out. */
int eg_health_run(const eg_config *cfg, int64_t now, eg_health_report *out);

/* As eg_health_run, for `engram serve`, whose workers must not wait out a long run and which a
 * load balancer may ask every few seconds. Waits at most busy_ms (when > 0) for a lock on the
 * store and on the embedded source, instead of the store's 10 s busy timeout: when another engram
 * (a run, an import) holds the store's write lock longer, the results are not appended to
 * health_history (recorded is false, the note says the store was busy). Appends them only when
 * this target's last recorded results are at least record_gap old (0: always; < 0: never, for a
 * HEAD request), so that frequent probes neither grow the history without end nor fill the
 * volume check's window of past results (the last 30) with minutes instead of days. */
int eg_health_run_wait(const eg_config *cfg, int64_t now, int busy_ms, int64_t record_gap,
                       eg_health_report *out);

/* "OK", "WARNING", "CRITICAL", "UNKNOWN". */
const char *eg_health_status_name(eg_health_status s);

/* The worse of two statuses: CRITICAL > WARNING > UNKNOWN > OK. */
eg_health_status eg_health_worse(eg_health_status a, eg_health_status b);

/* The report as a new JSON object (caller json_decref's it): the shape of `engram health
 * --json` and of /health. */
json_t *eg_health_report_json(const eg_health_report *r);

#ifdef __cplusplus
}
#endif
#endif
