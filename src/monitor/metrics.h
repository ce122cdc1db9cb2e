/*
 * metrics.h — engram's Prometheus metrics (SPEC §12): the text exposition format of /metrics.
 *
 * Two kinds of figures: those read from the store at scrape time (memories per status, graph
 * sizes, ingest lag, run counts and durations, activation and retention histograms), and the
 * counters this process keeps (HTTP requests by route and code, errors, recall latency). The
 * process counters are the only global mutable state here; they are guarded by a mutex and may be
 * updated from any thread. Not for: serving HTTP (http.c) or deciding health (health.c).
 */
#ifndef EG_MONITOR_METRICS_H
#define EG_MONITOR_METRICS_H

#include <stdint.h>

#include "engram/engram.h"
#include "util/buf.h"

/* Counts one HTTP request answered with code on route (a fixed route name, never a raw path). */
void eg_metrics_count_request(const char *route, int code);
/* Counts one error (an answer 500, a store that could not be read). */
void eg_metrics_count_error(void);
/* Records the latency of one /api/recall request, in seconds. */
void eg_metrics_observe_recall(double seconds);

/* Appends the whole exposition to out: the store's figures at now (µs), read from st inside the
 * caller's read transaction, then the process counters. st may be NULL (store unavailable): only
 * the process counters and engram_store_up 0 are written. Returns 0 or EG_ENOMEM. */
int eg_metrics_render(eg_store *st, int64_t now, eg_buf *out);

#endif
