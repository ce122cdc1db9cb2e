/*
 * log.h — the log sink: leveled lines to stderr ("engram: warning: ...").
 *
 * The level and a quiet flag are process-wide (STYLE.md allows the log sink). Callers must never
 * pass secrets; connection strings are masked by the source module before they reach a log line.
 */
#ifndef EG_UTIL_LOG_H
#define EG_UTIL_LOG_H

enum { EG_LOG_ERROR = 0, EG_LOG_WARN = 1, EG_LOG_INFO = 2, EG_LOG_DEBUG = 3 };

void eg_log_set_level(int level);
int eg_log_level(void);
void eg_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
