/*
 * error.c — the thread-local last error behind engram/error.h.
 *
 * The only state is one eg_error per thread (STYLE.md allows the thread-local last error).
 */
#include "engram/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local eg_error last_error;

const char *eg_strerror(int code)
{
    switch (code) {
    case EG_OK:
        return "ok";
    case EG_ENOMEM:
        return "out of memory";
    case EG_EUSAGE:
        return "usage error";
    case EG_ECONFIG:
        return "configuration error";
    case EG_EIO:
        return "I/O error";
    case EG_ESTORE:
        return "store error";
    case EG_ESOURCE:
        return "source error";
    case EG_EUNAVAIL:
        return "source unreachable";
    case EG_EAUTH:
        return "authentication failed";
    case EG_ESCHEMA:
        return "source schema mismatch";
    case EG_EBADINPUT:
        return "bad input";
    case EG_ENOTFOUND:
        return "not found";
    case EG_EPERM:
        return "unsafe file permissions";
    case EG_EREADONLY:
        return "source session is not read-only";
    case EG_EBUSY:
        return "store busy";
    default:
        return "unknown error";
    }
}

int eg_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    last_error.code = code;
    va_start(ap, fmt);
    vsnprintf(last_error.message, sizeof last_error.message, fmt, ap);
    va_end(ap);
    last_error.detail[0] = '\0';
    last_error.hint[0] = '\0';
    return code;
}

void eg_error_detail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error.detail, sizeof last_error.detail, fmt, ap);
    va_end(ap);
}

void eg_error_hint(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error.hint, sizeof last_error.hint, fmt, ap);
    va_end(ap);
}

const eg_error *eg_error_last(void)
{
    return &last_error;
}

void eg_error_clear(void)
{
    memset(&last_error, 0, sizeof last_error);
}

int eg_exit_code(int code)
{
    switch (code) {
    case EG_OK:
        return 0;
    case EG_EBADINPUT:
    case EG_ESCHEMA:
        return 65;
    case EG_EUNAVAIL:
    case EG_EBUSY:
        return 75;
    default:
        return 2;
    }
}
