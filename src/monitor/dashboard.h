/*
 * dashboard.h — the HTML dashboard that `engram serve` answers on `/` (SPEC §12).
 *
 * One self-contained HTML5 page (inline CSS and SVG, no JavaScript, no external assets): a
 * header, the stage funnel, the activation distribution, the forgetting curve, freshness and the
 * recent runs. Read-only: the page is built from one read transaction on the store. Not for:
 * serving (monitor/http.c), metrics.
 */
#ifndef EG_MONITOR_DASHBOARD_H
#define EG_MONITOR_DASHBOARD_H

#include <stdint.h>

#include "engram/engram.h"
#include "util/buf.h"

/* Appends the dashboard page for the store at `now` (µs since 1970 UTC) to out. The page depends
 * only on the store's content and now. Returns 0, or a negative EG_E* code with the last error
 * set (out may then hold part of a page). cfg may be NULL. */
int eg_dashboard_render(eg_store *st, const eg_config *cfg, int64_t now, eg_buf *out);
/* Appends the page `/` answers when the store cannot be read: the error ("store unavailable"),
 * the reason (naming the store) and the hint, escaped; reason and hint may be NULL or empty.
 * Returns 0 or EG_ENOMEM. */
int eg_dashboard_render_unavailable(const char *error, const char *reason, const char *hint,
                                    eg_buf *out);

#endif
