/*
 * test_timeutil.c — unit tests of util/timeutil.c: ISO 8601 / PostgreSQL-text parsing (date only,
 * 'T' or space, Z/z, +hh, +hh:mm, -hhmm offsets, fraction digits rounded to microseconds as
 * PostgreSQL rounds them, leap days, 24:00:00, malformed inputs), formatting (round trips,
 * fractions only when non-zero, times before 1970, century boundaries), the civil-date helpers,
 * PostgreSQL's `date - interval` month clamping (eg_time_midnight_shift), duration parsing and the
 * whole-days difference that truncates toward zero. Expected epoch values were computed
 * independently (Python's datetime in UTC).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(x) ((int64_t)(x)*EG_USEC_PER_SEC)
#define H(x) ((int64_t)(x)*3600 * EG_USEC_PER_SEC)
#define DAY EG_USEC_PER_DAY

/* 2026-05-01T00:00:00Z and other anchors (seconds since the epoch). */
#define T_2026_05_01 INT64_C(1777593600)
#define T_2024_02_29 INT64_C(1709164800)
#define T_2000_02_29 INT64_C(951782400)
#define T_2100_03_01 INT64_C(4107542400)
#define T_1900_01_01 INT64_C(-2208988800)

static int64_t parse_ok(const char *s)
{
    int64_t us = INT64_C(0x5a5a5a5a5a5a5a5a);
    if (eg_time_parse(s, (size_t)-1, &us) != 0)
        fail_msg("eg_time_parse rejected \"%s\"", s);
    return us;
}

static void expect_parse(const char *s, int64_t want_us)
{
    int64_t got = parse_ok(s);
    if (got != want_us)
        fail_msg("\"%s\": got %lld, want %lld", s, (long long)got, (long long)want_us);
}

static void expect_reject(const char *s)
{
    int64_t us = 0;
    if (eg_time_parse(s, (size_t)-1, &us) != -1)
        fail_msg("eg_time_parse accepted malformed \"%s\" (as %lld)", s, (long long)us);
}

static void expect_format(int64_t us, const char *want)
{
    char buf[EG_TIME_BUFSZ];
    assert_ptr_equal(eg_time_format(us, buf), buf);
    assert_string_equal(buf, want);
}

static void test_parse_date_only(void **state)
{
    (void)state;
    expect_parse("2026-05-01", S(T_2026_05_01));
    expect_parse("1970-01-01", 0);
    expect_parse("1969-12-31", -DAY);
    expect_parse("2000-02-29", S(T_2000_02_29));
    expect_parse("1900-01-01", S(T_1900_01_01));
}

static void test_parse_separators_and_zulu(void **state)
{
    (void)state;
    int64_t want = S(T_2026_05_01) + H(10) + S(11 * 60 + 12);
    expect_parse("2026-05-01T10:11:12Z", want);
    expect_parse("2026-05-01 10:11:12Z", want);
    expect_parse("2026-05-01t10:11:12z", want);
    expect_parse("2026-05-01T10:11:12", want); /* no offset: UTC */
    expect_parse("2026-05-01 10:11:12", want);
    /* hh:mm without seconds is ISO 8601 too */
    expect_parse("2026-05-01T10:11Z", want - S(12));
}

static void test_parse_offsets(void **state)
{
    (void)state;
    int64_t ten = S(T_2026_05_01) + H(10);
    expect_parse("2026-05-01T10:00:00+00", ten);
    expect_parse("2026-05-01 10:00:00+02", ten - H(2));
    expect_parse("2026-05-01T10:00:00+05:30", ten - H(5) - S(30 * 60));
    expect_parse("2026-05-01T10:00:00+0530", ten - H(5) - S(30 * 60));
    expect_parse("2026-05-01T10:00:00-0800", ten + H(8));
    expect_parse("2026-05-01T10:00:00-08:00", ten + H(8));
    expect_parse("2026-05-01T10:00:00-03:30", ten + H(3) + S(30 * 60));
    /* an offset that moves the instant to the previous day */
    expect_parse("2026-05-01T01:00:00+02", S(T_2026_05_01) - H(1));
    /* PostgreSQL's text output: fraction then a short offset */
    expect_parse("2026-05-01 10:00:00.123456+02", ten - H(2) + 123456);
    expect_parse("2026-05-01 10:00:00.5-01:15", ten + H(1) + S(15 * 60) + 500000);
}

static void test_parse_fractions(void **state)
{
    (void)state;
    int64_t base = S(T_2026_05_01) + H(10);
    static const struct {
        const char *frac;
        int64_t us;
    } cases[] = {
        {".1", 100000},
        {".12", 120000},
        {".123", 123000},
        {".1234", 123400},
        {".12345", 123450},
        {".123456", 123456},
        {".1234567", 123457},
        {".12345678", 123457},
        {".123456789", 123457},
        {".000001", 1},
        {".0000009", 1},
        {".5", 500000},
        {".000000", 0},
        {",25", 250000},
        /* past six digits, rounded as PostgreSQL 15 reads them (checked against it): ties to
         * even, and a carry into the seconds */
        {".1234565", 123456},
        {".0000005", 0},
        {".0000015", 2},
        {".12345649999999999", 123456},
        {".9999995", 1000000},
        {".999999999", 1000000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char s[64];
        snprintf(s, sizeof s, "2026-05-01T10:00:00%sZ", cases[i].frac);
        expect_parse(s, base + cases[i].us);
        snprintf(s, sizeof s, "2026-05-01 10:00:00%s+01", cases[i].frac);
        expect_parse(s, base - H(1) + cases[i].us);
    }
    /* rounding, not truncation, also before 1970 (PostgreSQL: 1970-01-01 00:00:00); it was
     * truncation, 1 µs from what the same text read through a PostgreSQL column gives */
    expect_parse("1969-12-31T23:59:59.9999999Z", 0);
    expect_parse("1969-12-31T23:59:59.9999994Z", -1);
    /* a carry into hour 24 is still hour 24 with a fraction: refused, as PostgreSQL does */
    expect_reject("2026-05-01T24:00:00.9999999Z");
}

static void test_parse_leap_days(void **state)
{
    (void)state;
    expect_parse("2024-02-29T12:00:00Z", S(T_2024_02_29) + H(12));
    expect_parse("2000-02-29", S(T_2000_02_29));
    expect_parse("2024-03-01", S(T_2024_02_29) + DAY);
    expect_reject("2023-02-29");
    expect_reject("1900-02-29"); /* divisible by 100, not by 400 */
    expect_reject("2100-02-29");
    expect_reject("2024-02-30");
}

static void test_parse_end_of_day(void **state)
{
    (void)state;
    /* 24:00:00 is the midnight that ends the day */
    expect_parse("2026-04-30T24:00:00Z", S(T_2026_05_01));
    expect_parse("2026-12-31 24:00:00", S(INT64_C(1798761600)));
    expect_reject("2026-04-30T24:00:01Z");
    expect_reject("2026-04-30T24:01:00Z");
    expect_reject("2026-04-30T24:00:00.000001Z");
    expect_reject("2026-04-30T25:00:00Z");
}

static void test_parse_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026",
        "2026-05",
        "2026-13-01",
        "2026-00-10",
        "2026-02-30",
        "2026-04-31",
        "2026-05-00",
        "2026-05-32",
        "2026-1-1",
        "2026-01-1",
        "26-01-01",
        "2026/05/01",
        "abcd-ef-gh",
        "2026-05-01x",
        "2026-05-01T",
        "2026-05-01T10",
        "2026-05-01T10:",
        "2026-05-01T10:0",
        "2026-05-01T1:00:00",
        "2026-05-01T10:60:00",
        "2026-05-01T10:00:61",
        "2026-05-01T10:00:0",
        "2026-05-01T10:00:00.",
        "2026-05-01T10:00:00.Z",
        "2026-05-01T10:00:00.12x",
        "2026-05-01T10:00:00Zjunk",
        "2026-05-01T10:00:00ZZ",
        "2026-05-01T10:00:00+2",
        "2026-05-01T10:00:00+02:3",
        "2026-05-01T10:00:00+16",
        "2026-05-01T10:00:00+02:60",
        "2026-05-01T10:00:00 UTC",
        "2026-05-01T10:00:00+02 junk",
        "2026-05-01TT10:00:00",
        "x2026-05-01",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_reject(bad[i]);
}

/* A dangling colon after the offset hours is not an offset: "+05:" must be rejected like "+05:3".
 */
static void test_parse_offset_dangling_colon(void **state)
{
    (void)state;
    expect_reject("2026-05-01T10:00:00+05:");
    expect_reject("2026-05-01 10:00:00-08:");
}

static void test_parse_explicit_length(void **state)
{
    (void)state;
    static const char s[] = "2026-05-01T10:00:00Zgarbage";
    int64_t us = 0;
    /* only the first 20 bytes count: the garbage is outside the string */
    assert_int_equal(eg_time_parse(s, 20, &us), 0);
    assert_int_equal(us, S(T_2026_05_01) + H(10));
    /* a length that cuts the string inside the time makes it malformed */
    assert_int_equal(eg_time_parse(s, 15, &us), -1);
    /* a length of 10 is the date alone */
    assert_int_equal(eg_time_parse(s, 10, &us), 0);
    assert_int_equal(us, S(T_2026_05_01));
    /* a buffer that is not NUL-terminated (heap, exact size: ASan catches over-reads) */
    char *exact = malloc(10);
    assert_non_null(exact);
    memcpy(exact, "2024-02-29", 10);
    assert_int_equal(eg_time_parse(exact, 10, &us), 0);
    assert_int_equal(us, S(T_2024_02_29));
    free(exact);
}

static void test_format_basic(void **state)
{
    (void)state;
    expect_format(0, "1970-01-01T00:00:00Z");
    expect_format(1, "1970-01-01T00:00:00.000001Z");
    expect_format(S(T_2026_05_01) + H(10) + 123456, "2026-05-01T10:00:00.123456Z");
    expect_format(S(T_2026_05_01) + H(23) + S(59 * 60 + 59), "2026-05-01T23:59:59Z");
    expect_format(S(T_2026_05_01) + 500000, "2026-05-01T00:00:00.500000Z");
    expect_format(S(T_2024_02_29), "2024-02-29T00:00:00Z");
}

static void test_format_before_1970(void **state)
{
    (void)state;
    expect_format(-1, "1969-12-31T23:59:59.999999Z");
    expect_format(-DAY, "1969-12-31T00:00:00Z");
    expect_format(-DAY - 1, "1969-12-30T23:59:59.999999Z");
    expect_format(S(-14182940), "1969-07-20T20:17:40Z");
    expect_format(S(T_1900_01_01), "1900-01-01T00:00:00Z");
    expect_format(S(T_1900_01_01) - 1, "1899-12-31T23:59:59.999999Z");
}

static void test_format_century_boundaries(void **state)
{
    (void)state;
    expect_format(S(T_2000_02_29), "2000-02-29T00:00:00Z");
    expect_format(S(T_2000_02_29) + DAY, "2000-03-01T00:00:00Z");
    expect_format(S(INT64_C(946684800)) - 1, "1999-12-31T23:59:59.999999Z");
    expect_format(S(INT64_C(946684800)), "2000-01-01T00:00:00Z");
    /* 2100 is not a leap year: Feb 28 is followed by Mar 1 */
    expect_format(S(T_2100_03_01) - DAY, "2100-02-28T00:00:00Z");
    expect_format(S(T_2100_03_01), "2100-03-01T00:00:00Z");
}

static void test_format_parse_round_trip(void **state)
{
    (void)state;
    /* deterministic pseudo-random instants between 1800 and 2200, with and without fractions */
    uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
    const int64_t lo = S(INT64_C(-5364662400)), span = S(INT64_C(12622780800));
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t us = lo + (int64_t)(x % (uint64_t)span);
        if (i % 3 == 0)
            us -= us % EG_USEC_PER_SEC; /* whole seconds print without a fraction */
        char buf[EG_TIME_BUFSZ];
        eg_time_format(us, buf);
        if ((us % EG_USEC_PER_SEC == 0) != (strchr(buf, '.') == NULL))
            fail_msg("%lld formatted as %s", (long long)us, buf);
        int64_t back = 0;
        if (eg_time_parse(buf, (size_t)-1, &back) != 0 || back != us)
            fail_msg("%lld -> %s -> %lld", (long long)us, buf, (long long)back);
    }
}

static void test_civil_days(void **state)
{
    (void)state;
    assert_int_equal(eg_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(eg_days_from_civil(2026, 5, 1), T_2026_05_01 / 86400);
    assert_int_equal(eg_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(eg_days_from_civil(1900, 1, 1), T_1900_01_01 / 86400);
    /* every day from 1600 to 2400 maps back to itself */
    int64_t from = eg_days_from_civil(1600, 1, 1), to = eg_days_from_civil(2400, 12, 31);
    int64_t prev_y = 1599;
    unsigned prev_m = 12, prev_d = 31;
    for (int64_t z = from; z <= to; z++) {
        int64_t y;
        unsigned m, d;
        eg_civil_from_days(z, &y, &m, &d);
        assert_int_equal(eg_days_from_civil(y, m, d), z);
        /* consecutive: next day of the same month, or the 1st of the next month */
        if (!((y == prev_y && m == prev_m && d == prev_d + 1) || (d == 1 && m != prev_m)))
            fail_msg("day %lld = %lld-%u-%u follows %lld-%u-%u", (long long)z, (long long)y, m, d,
                     (long long)prev_y, prev_m, prev_d);
        prev_y = y;
        prev_m = m;
        prev_d = d;
    }
}

static void expect_shift(const char *at, int months, int days, const char *want)
{
    char buf[EG_TIME_BUFSZ];
    eg_time_format(eg_time_midnight_shift(parse_ok(at), months, days), buf);
    if (strcmp(buf, want) != 0)
        fail_msg("%s shifted by %d months %d days: got %s, want %s", at, months, days, buf, want);
}

static void test_midnight_shift(void **state)
{
    (void)state;
    /* PostgreSQL: date '2024-02-29' - interval '1 year' = 2023-02-28 */
    expect_shift("2024-02-29T15:30:00Z", -12, 0, "2023-02-28T00:00:00Z");
    /* date '2026-03-31' - interval '1 month' = 2026-02-28 */
    expect_shift("2026-03-31T23:59:59.999999Z", -1, 0, "2026-02-28T00:00:00Z");
    expect_shift("2024-03-31T08:00:00Z", -1, 0, "2024-02-29T00:00:00Z");
    expect_shift("2026-05-01T10:00:00Z", -12, 0, "2025-05-01T00:00:00Z");
    expect_shift("2026-05-01T00:00:00Z", 0, 0, "2026-05-01T00:00:00Z");
    expect_shift("2026-01-15T12:00:00Z", -13, 0, "2024-12-15T00:00:00Z");
    expect_shift("2026-01-31T12:00:00Z", 1, 0, "2026-02-28T00:00:00Z");
    expect_shift("2026-12-31T12:00:00Z", 2, 0, "2027-02-28T00:00:00Z");
    expect_shift("2026-03-01T12:00:00Z", 0, -1, "2026-02-28T00:00:00Z");
    expect_shift("2026-05-01T12:00:00Z", 0, -30, "2026-04-01T00:00:00Z");
    /* months first, then days: '2026-03-31' - interval '1 month 1 day' = 2026-02-27 */
    expect_shift("2026-03-31T12:00:00Z", -1, -1, "2026-02-27T00:00:00Z");
    /* before 1970 the date is still the calendar date, not the one after it */
    expect_shift("1969-12-31T12:00:00Z", 0, 0, "1969-12-31T00:00:00Z");
    expect_shift("1969-03-31T23:00:00Z", -1, 0, "1969-02-28T00:00:00Z");
    expect_shift("1968-02-29T00:00:01Z", -12, 0, "1967-02-28T00:00:00Z");
}

static void expect_duration(const char *s, int64_t want)
{
    int64_t us = -1;
    if (eg_duration_parse(s, &us) != 0)
        fail_msg("eg_duration_parse rejected \"%s\"", s);
    if (us != want)
        fail_msg("\"%s\": got %lld us, want %lld", s, (long long)us, (long long)want);
}

static void expect_duration_bad(const char *s)
{
    int64_t us = 0;
    if (eg_duration_parse(s, &us) != -1)
        fail_msg("eg_duration_parse accepted \"%s\" (as %lld us)", s, (long long)us);
}

static void test_duration_parse(void **state)
{
    (void)state;
    expect_duration("300", S(300));
    expect_duration("300s", S(300));
    expect_duration("0", 0);
    expect_duration("5m", S(300));
    expect_duration("5 min", S(300));
    expect_duration("500ms", 500000);
    expect_duration("1ms", 1000);
    expect_duration("2h", H(2));
    expect_duration("1.5h", H(1) + S(1800));
    expect_duration("7d", 7 * DAY);
    expect_duration("1w", 7 * DAY);
    expect_duration("2 weeks", 14 * DAY);
    expect_duration("0.1s", 100000);
    /* regression: the plural was taken, the singular refused */
    expect_duration("1 second", S(1));
    expect_duration("1 minute", S(60));
    expect_duration("1 hour", H(1));
    expect_duration("1 day", DAY);
    expect_duration("1 week", 7 * DAY);
    expect_duration("3 hours", H(3));
}

static void test_duration_bad(void **state)
{
    (void)state;
    static const char *const bad[] = {"", "s", "abc", "5x", "5 parsecs", "5mm", "5h30m", "-5",
                                      "-1s", "5 s x", "ms",
                                      /* strtod reads hexadecimal too: not a duration */
                                      "0x10", "0x1p3s", "0X5m"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_duration_bad(bad[i]);
    int64_t us = 0;
    assert_int_equal(eg_duration_parse(NULL, &us), -1);
}

/* strtod also reads "nan", "inf" and huge exponents; none of them is a duration, and converting
 * them to int64_t is undefined behaviour. */
static void test_duration_non_finite(void **state)
{
    (void)state;
    expect_duration_bad("nan");
    expect_duration_bad("inf");
    expect_duration_bad("infinity");
    expect_duration_bad("1e30");
    expect_duration_bad("1e300d");
}

static void test_diff_days(void **state)
{
    (void)state;
    assert_int_equal(eg_time_diff_days(0, 0), 0);
    assert_int_equal(eg_time_diff_days(DAY, 0), 1);
    assert_int_equal(eg_time_diff_days(DAY - 1, 0), 0);
    assert_int_equal(eg_time_diff_days(DAY + DAY / 2, 0), 1);
    assert_int_equal(eg_time_diff_days(30 * DAY - 1, 0), 29);
    /* negative differences truncate toward zero, like EXTRACT(DAY FROM interval) */
    assert_int_equal(eg_time_diff_days(0, DAY / 2), 0);
    assert_int_equal(eg_time_diff_days(0, DAY - 1), 0);
    assert_int_equal(eg_time_diff_days(0, DAY), -1);
    assert_int_equal(eg_time_diff_days(0, DAY + DAY / 2), -1);
    assert_int_equal(eg_time_diff_days(-3 * DAY - 5, 0), -3);
    assert_int_equal(eg_time_diff_days(S(T_2026_05_01), S(T_2024_02_29)), 792);
}

/* Unix seconds are a time only within years 1-9999 (what ISO text can name): the ends are exact,
 * one second beyond either fails, and so do milliseconds and INT64_MAX (which once overflowed
 * the multiplication into 1969). */
static void test_from_unix_range(void **state)
{
    (void)state;
    int64_t us = 42;
    assert_int_equal(eg_time_from_unix(T_2026_05_01, &us), 0);
    assert_int_equal(us, S(T_2026_05_01));
    assert_int_equal(eg_time_from_unix(EG_UNIX_SECONDS_MIN, &us), 0);
    assert_int_equal(us, parse_ok("0001-01-01T00:00:00Z"));
    assert_int_equal(eg_time_from_unix(EG_UNIX_SECONDS_MAX, &us), 0);
    assert_int_equal(us, parse_ok("9999-12-31T23:59:59Z"));
    us = 42;
    assert_int_equal(eg_time_from_unix(EG_UNIX_SECONDS_MIN - 1, &us), -1);
    assert_int_equal(eg_time_from_unix(EG_UNIX_SECONDS_MAX + 1, &us), -1);
    assert_int_equal(eg_time_from_unix(T_2026_05_01 * 1000, &us), -1);
    assert_int_equal(eg_time_from_unix(INT64_MAX, &us), -1);
    assert_int_equal(eg_time_from_unix(INT64_MIN, &us), -1);
    assert_int_equal(us, 42); /* untouched on failure */

    /* ISO text too: year 0000, and an offset that carries the instant across either end, are
     * no time (they were taken and written back as "-001-..." and "10000-...") */
    assert_int_equal(parse_ok("9999-12-31T23:59:59.999999Z"), S(EG_UNIX_SECONDS_MAX) + 999999);
    assert_int_equal(parse_ok("0001-01-01T00:00:00+00:00"), S(EG_UNIX_SECONDS_MIN));
    assert_int_equal(parse_ok("0001-01-01T01:00:00+01"), S(EG_UNIX_SECONDS_MIN));
    assert_int_equal(parse_ok("9999-12-31T22:59:59-01:00"), S(EG_UNIX_SECONDS_MAX));
    static const char *const outside[] = {"0000-01-01",
                                          "0000-12-31T23:59:59Z",
                                          "0001-01-01T00:00:00+00:01",
                                          "0001-01-01T00:59:59+01",
                                          "9999-12-31T24:00:00Z",
                                          "9999-12-31T23:59:59-00:01",
                                          "9999-12-31T23:59:59.999999-15:00"};
    for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
        us = 42;
        if (eg_time_parse(outside[i], (size_t)-1, &us) != -2)
            fail_msg("\"%s\" parsed, as %lld", outside[i], (long long)us);
        assert_int_equal(us, 42);
    }

    assert_int_equal(eg_time_from_unix_real(1777593600.25, &us), 0);
    assert_int_equal(us, S(T_2026_05_01) + 250000);
    assert_int_equal(eg_time_from_unix_real(-0.5, &us), 0);
    assert_int_equal(us, -500000);
    assert_int_equal(eg_time_from_unix_real(253402300799.999, &us), 0);
    assert_int_equal(eg_time_from_unix_real(253402300800.0, &us), -1);
    assert_int_equal(eg_time_from_unix_real(-62135596800.5, &us), -1);
    assert_int_equal(eg_time_from_unix_real(1.7776e12, &us), -1);
    assert_int_equal(eg_time_from_unix_real(9.3e18, &us), -1);
    assert_int_equal(eg_time_from_unix_real(NAN, &us), -1);
    assert_int_equal(eg_time_from_unix_real(INFINITY, &us), -1);
}

static void test_now_is_plausible(void **state)
{
    (void)state;
    int64_t a = eg_time_now(), b = eg_time_now();
    assert_true(a > S(T_2024_02_29));
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_date_only),
        cmocka_unit_test(test_parse_separators_and_zulu),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_fractions),
        cmocka_unit_test(test_parse_leap_days),
        cmocka_unit_test(test_parse_end_of_day),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_offset_dangling_colon),
        cmocka_unit_test(test_parse_explicit_length),
        cmocka_unit_test(test_format_basic),
        cmocka_unit_test(test_format_before_1970),
        cmocka_unit_test(test_format_century_boundaries),
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_civil_days),
        cmocka_unit_test(test_midnight_shift),
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_bad),
        cmocka_unit_test(test_duration_non_finite),
        cmocka_unit_test(test_diff_days),
        cmocka_unit_test(test_from_unix_range),
        cmocka_unit_test(test_now_is_plausible),
    };
    return cmocka_run_group_tests(tests, 0, NULL);
}
