/*
 * http.h — `engram serve`: a small read-mostly HTTP server over the store (SPEC §12) on
 * libmicrohttpd: liveness and readiness, the §10 health JSON, Prometheus metrics, recall, trace,
 * stats and the dashboard.
 *
 * Every request opens its own SQLite connection and reads inside one read transaction, so an
 * answer shows exactly one committed run while `engram run` writes. The server borrows the
 * configuration (read-only, shared by the worker threads). Not for: writing the store (except
 * the rehearsal /api/recall?rehearse=1 asks for and the history /health appends).
 */
#ifndef EG_MONITOR_HTTP_H
#define EG_MONITOR_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "engram/config.h"

typedef struct eg_http_opts {
    const char *listen; /* "ADDR:PORT" (IPv4, or [IPv6]:PORT); NULL: 127.0.0.1:8080 */
    bool verbose;       /* one access-log line per request on stderr */
    bool now_given;     /* answer at a fixed clock (--now) instead of the wall clock */
    int64_t now;
} eg_http_opts;

/* Serves until SIGINT or SIGTERM, then stops gracefully and returns 0. Returns EG_EUSAGE for a
 * bad listen address and EG_EIO when the socket cannot be bound (the last error says why). The
 * caller must not have SIGINT/SIGTERM handlers of its own: this blocks them and waits. SIGHUP is
 * blocked and logged too (the server goes on). */
int eg_http_serve(const eg_config *cfg, const eg_http_opts *o);

#endif
