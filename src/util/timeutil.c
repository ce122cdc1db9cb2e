/*
 * timeutil.c — ISO 8601 parsing and formatting, civil-date arithmetic (H. Hinnant's algorithms).
 */
#include "util/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t eg_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void eg_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, unsigned m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

static int digits(const char *p, const char *end, int n, int *out)
{
    int v = 0;
    if (end - p < n)
        return -1;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

/* The n digits of a fraction of a second, in microseconds (-1 when there are none). Up to six
 * they are exact; more are rounded as PostgreSQL rounds them when it reads a timestamp
 * (ParseFractionalSecond: rint(strtod(".digits") * 1e6), ties to even), so that a time read from
 * a file and the same time read through a PostgreSQL column are the same microsecond. It can be
 * 1000000 (".9999995"): the caller adds it to the seconds, as PostgreSQL does. (strtod reads '.'
 * here: engram never sets a locale.) Digits past 100 cannot change a double near 1. */
static int64_t fraction_us(const char *f, size_t n)
{
    if (n == 0)
        return -1;
    int64_t us = 0;
    if (n <= 6) {
        for (size_t i = 0; i < 6; i++)
            us = us * 10 + (i < n ? f[i] - '0' : 0);
        return us;
    }
    char buf[104] = "0.";
    size_t k = n < 100 ? n : 100;
    memcpy(buf + 2, f, k);
    buf[2 + k] = '\0';
    return (int64_t)rint(strtod(buf, NULL) * 1e6);
}

int eg_time_parse(const char *s, size_t s_len, int64_t *out_us)
{
    if (s_len == (size_t)-1)
        s_len = strlen(s);
    const char *p = s, *end = s + s_len;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        end--;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac = 0;
    if (digits(p, end, 4, &y) || p + 4 >= end || p[4] != '-' || digits(p + 5, end, 2, &mo) ||
        p + 7 >= end || p[7] != '-' || digits(p + 8, end, 2, &d))
        return -1;
    p += 10;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, (unsigned)mo))
        return -1;
    if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
        p++;
        if (digits(p, end, 2, &h) || p + 2 >= end || p[2] != ':' || digits(p + 3, end, 2, &mi))
            return -1;
        p += 5;
        if (p < end && *p == ':') {
            if (digits(p + 1, end, 2, &sec))
                return -1;
            p += 3;
            if (p < end && (*p == '.' || *p == ',')) {
                const char *f = ++p;
                while (p < end && *p >= '0' && *p <= '9')
                    p++;
                if ((frac = fraction_us(f, (size_t)(p - f))) < 0)
                    return -1;
            }
        }
        if (h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi || sec || frac)))
            return -1;
    }
    int64_t offset = 0;
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        p++;
        if (digits(p, end, 2, &oh))
            return -1;
        p += 2;
        if (p < end && *p == ':') {
            p++;
            if (p == end)
                return -1; /* "+05:" */
        }
        if (p < end) {
            if (digits(p, end, 2, &om))
                return -1;
            p += 2;
        }
        if (oh > 15 || om > 59)
            return -1;
        offset = sign * ((int64_t)oh * 3600 + om * 60);
    }
    if (p != end)
        return -1;
    int64_t days = eg_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
    /* the instant, in UTC, must be one ISO text names (years 1-9999), as for Unix seconds: year
     * 0000, or an offset across either end ("9999-12-31T23:59:59-01"), was taken and written
     * back as "10000-01-01..." or "-001-12-31...", text that nothing reads again */
    if (secs < EG_UNIX_SECONDS_MIN || secs > EG_UNIX_SECONDS_MAX)
        return -2;
    *out_us = secs * EG_USEC_PER_SEC + frac;
    return 0;
}

int eg_time_from_unix(int64_t secs, int64_t *out_us)
{
    if (secs < EG_UNIX_SECONDS_MIN || secs > EG_UNIX_SECONDS_MAX)
        return -1;
    *out_us = secs * EG_USEC_PER_SEC;
    return 0;
}

int eg_time_from_unix_real(double secs, int64_t *out_us)
{
    /* written so that NaN fails too */
    if (!(secs >= (double)EG_UNIX_SECONDS_MIN && secs < (double)EG_UNIX_SECONDS_MAX + 1.0))
        return -1;
    *out_us = (int64_t)(secs * 1e6);
    return 0;
}

char *eg_time_format(int64_t us, char *buf)
{
    int64_t days = us / EG_USEC_PER_DAY, rem = us % EG_USEC_PER_DAY;
    if (rem < 0) {
        rem += EG_USEC_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned m, d;
    eg_civil_from_days(days, &y, &m, &d);
    int64_t secs = rem / EG_USEC_PER_SEC, frac = rem % EG_USEC_PER_SEC;
    if (frac)
        snprintf(buf, EG_TIME_BUFSZ, "%04lld-%02u-%02uT%02d:%02d:%02d.%06lldZ", (long long)y, m, d,
                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60), (long long)frac);
    else
        snprintf(buf, EG_TIME_BUFSZ, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d,
                 (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
    return buf;
}

int64_t eg_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * EG_USEC_PER_SEC + ts.tv_nsec / 1000;
}

int64_t eg_time_midnight_shift(int64_t us, int months, int days)
{
    int64_t z = us / EG_USEC_PER_DAY;
    if (us % EG_USEC_PER_DAY < 0)
        z--;
    int64_t y;
    unsigned m, d;
    eg_civil_from_days(z, &y, &m, &d);
    int64_t mi = y * 12 + (m - 1) + months;
    int64_t ny = mi >= 0 ? mi / 12 : (mi - 11) / 12;
    unsigned nm = (unsigned)(mi - ny * 12) + 1;
    int dim = days_in_month(ny, nm);
    unsigned nd = d > (unsigned)dim ? (unsigned)dim : d;
    return (eg_days_from_civil(ny, nm, nd) + days) * EG_USEC_PER_DAY;
}

bool eg_decimal_text(const char *s, size_t n)
{
    /* what strtod takes beyond decimals: hexadecimal ("0x1p3"), "inf", "nan" */
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789.eE+- ", s[i]))
            return false;
    return n > 0;
}

int eg_duration_parse(const char *s, int64_t *out_us)
{
    char *end;
    double v;
    if (!s || !*s)
        return -1;
    v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0 || !eg_decimal_text(s, (size_t)(end - s)))
        return -1;
    while (*end == ' ')
        end++;
    double mult = 1;
    /* the singular too: "2 hours" was taken and "1 hour" refused */
    if (*end == '\0' || !strcmp(end, "s") || !strcmp(end, "sec") || !strcmp(end, "second") ||
        !strcmp(end, "seconds"))
        mult = 1;
    else if (!strcmp(end, "ms"))
        mult = 0.001;
    else if (!strcmp(end, "m") || !strcmp(end, "min") || !strcmp(end, "minute") ||
             !strcmp(end, "minutes"))
        mult = 60;
    else if (!strcmp(end, "h") || !strcmp(end, "hour") || !strcmp(end, "hours"))
        mult = 3600;
    else if (!strcmp(end, "d") || !strcmp(end, "day") || !strcmp(end, "days"))
        mult = 86400;
    else if (!strcmp(end, "w") || !strcmp(end, "week") || !strcmp(end, "weeks"))
        mult = 7 * 86400;
    else
        return -1;
    double us = v * mult * 1e6 + 0.5;
    if (us > 9e18) /* would not fit in int64 microseconds */
        return -1;
    *out_us = (int64_t)us;
    return 0;
}
