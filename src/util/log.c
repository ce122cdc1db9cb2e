/*
 * log.c — the process-wide log sink (stderr).
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>

static int log_level = EG_LOG_WARN;

void eg_log_set_level(int level)
{
    log_level = level;
}

int eg_log_level(void)
{
    return log_level;
}

void eg_log(int level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    if (level > log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "engram: %s: ", names[level]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
