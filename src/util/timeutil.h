/*
 * timeutil.h — event time as int64 microseconds since 1970-01-01T00:00:00Z.
 *
 * Parsing accepts ISO 8601 and PostgreSQL's text output ("2026-05-01", "2026-05-01T10:00:00Z",
 * "2026-05-01 10:00:00.123456+02", "...+05:30"); times without an offset are UTC. Formatting writes
 * "YYYY-MM-DDTHH:MM:SS[.ffffff]Z". Calendar arithmetic follows PostgreSQL (month steps clamp the
 * day). libc only; no time zone database: engram works in UTC.
 */
#ifndef EG_UTIL_TIMEUTIL_H
#define EG_UTIL_TIMEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EG_USEC_PER_SEC INT64_C(1000000)
#define EG_USEC_PER_DAY INT64_C(86400000000)
#define EG_TIME_BUFSZ 40

/* Parses s (s_len bytes, or NUL-terminated when s_len is (size_t)-1). 0 on success, -1 if
 * malformed, -2 if the instant, in UTC, lies outside years 1-9999 (year 0000, or an offset that
 * crosses either end); *out_us is untouched on failure. */
int eg_time_parse(const char *s, size_t s_len, int64_t *out_us);
/* Unix seconds that name a time: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, the years that
 * ISO 8601 text (four digits) can name. */
#define EG_UNIX_SECONDS_MIN INT64_C(-62135596800)
#define EG_UNIX_SECONDS_MAX INT64_C(253402300799)

/* Unix seconds to microseconds: an integer, or a real truncated toward zero to the microsecond
 * (as the SQLite source has always read REAL columns). 0 on success; -1, *out_us untouched, when
 * secs lies outside years 1-9999 (milliseconds since the epoch, for instance) or is not a
 * number. */
int eg_time_from_unix(int64_t secs, int64_t *out_us);
int eg_time_from_unix_real(double secs, int64_t *out_us);
/* Writes the UTC ISO 8601 form into buf (at least EG_TIME_BUFSZ bytes); returns buf. */
char *eg_time_format(int64_t us, char *buf);
/* The wall clock. */
int64_t eg_time_now(void);

/* Days since 1970-01-01 for a proleptic Gregorian date, and back. */
int64_t eg_days_from_civil(int64_t y, unsigned m, unsigned d);
void eg_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* Midnight UTC of us's date, shifted by months then days (PostgreSQL date - interval rules). */
int64_t eg_time_midnight_shift(int64_t us, int months, int days);

/* Whether the n bytes at s are a number written in decimals (digits, a point, an exponent,
 * signs, blanks), as strtod took them: not hexadecimal ("0x10"), "inf" or "nan", which strtod
 * also reads and no setting means. */
bool eg_decimal_text(const char *s, size_t n);

/* Parses a duration: "300", "300s", "5m", "2h", "7d", "1w" into microseconds. */
int eg_duration_parse(const char *s, int64_t *out_us);

/* Whole days of (a - b), truncated toward zero, like EXTRACT(DAY FROM a - b) in PostgreSQL. */
static inline int64_t eg_time_diff_days(int64_t a, int64_t b)
{
    return (a - b) / EG_USEC_PER_DAY;
}

#endif
