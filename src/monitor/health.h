/*
 * health.h — the health checks of SPEC §10 (public API: engram/health.h).
 *
 * health.c owns one run of the checks: it opens the source read-only (eg_source_open), opens the
 * store only if it exists, measures, and appends one health_history row per check in one store
 * transaction. It does not print: the CLI (cmd_health.c) formats the report.
 */
#ifndef EG_MONITOR_HEALTH_H
#define EG_MONITOR_HEALTH_H

#include "engram/health.h"

/* How many past results of a check the volume check compares with, and how many it needs. */
enum { EG__HEALTH_HISTORY_WINDOW = 30, EG__HEALTH_HISTORY_MIN = 5 };

/* Rows read and staged by the performance check's staging sample. */
enum { EG__HEALTH_STAGING_SAMPLE = 1000 };

#endif
