/*
 * test_utf8.c — unit tests of util/utf8.c: RFC 3629 validation (1-4 byte sequences, overlongs,
 * surrogates, code points above U+10FFFF, stray continuation bytes, sequences truncated at the end
 * of the buffer) with the exact bad_offset, the 8-byte ASCII fast path (an invalid byte placed at
 * every offset 0..16 of long ASCII runs, in heap buffers of exact size so ASan sees over-reads),
 * code point counting against a byte-by-byte reference on random valid strings, and white-space
 * detection (ASCII and Unicode Zs / line separators).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies s[0..len) into a heap block of exactly len bytes so that ASan flags any read past it. */
static char *exact_copy(const char *s, size_t len)
{
    char *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, s, len);
    return p;
}

static void expect_valid(const char *s, size_t len)
{
    char *p = exact_copy(s, len);
    size_t bad = 12345;
    if (!eg_utf8_valid(p, len, &bad))
        fail_msg("valid input of %zu bytes rejected at offset %zu", len, bad);
    assert_int_equal(bad, 12345); /* untouched on success */
    free(p);
}

static void expect_invalid_at(const char *s, size_t len, size_t want_offset)
{
    char *p = exact_copy(s, len);
    size_t bad = 12345;
    if (eg_utf8_valid(p, len, &bad))
        fail_msg("invalid input of %zu bytes accepted", len);
    if (bad != want_offset)
        fail_msg("bad_offset %zu, want %zu", bad, want_offset);
    /* bad_offset may be NULL */
    assert_false(eg_utf8_valid(p, len, NULL));
    free(p);
}

#define VALID(lit) expect_valid(lit, sizeof(lit) - 1)
#define INVALID_AT(lit, off) expect_invalid_at(lit, sizeof(lit) - 1, off)

static void test_valid_sequences(void **state)
{
    (void)state;
    expect_valid("", 0);
    VALID("a");
    VALID("hello, world");
    VALID("\x7f");
    VALID("\xc2\x80");         /* U+0080, smallest 2-byte */
    VALID("\xdf\xbf");         /* U+07FF */
    VALID("\xe0\xa0\x80");     /* U+0800, smallest 3-byte */
    VALID("\xed\x9f\xbf");     /* U+D7FF, just below the surrogates */
    VALID("\xee\x80\x80");     /* U+E000, just above */
    VALID("\xef\xbf\xbf");     /* U+FFFF */
    VALID("\xf0\x90\x80\x80"); /* U+10000, smallest 4-byte */
    VALID("\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last code point */
    VALID("caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80!");
    expect_valid("a\0b", 3); /* NUL is a valid code point */
}

static void test_overlongs(void **state)
{
    (void)state;
    INVALID_AT("\xc0\x80", 0);            /* NUL as 2 bytes */
    INVALID_AT("\xc1\xbf", 0);            /* U+007F as 2 bytes */
    INVALID_AT("ab\xe0\x80\x80", 2);      /* NUL as 3 bytes */
    INVALID_AT("ab\xe0\x9f\xbf", 2);      /* U+07FF as 3 bytes */
    INVALID_AT("abc\xf0\x80\x80\x80", 3); /* NUL as 4 bytes */
    INVALID_AT("abc\xf0\x8f\xbf\xbf", 3); /* U+FFFF as 4 bytes */
}

static void test_surrogates_and_range(void **state)
{
    (void)state;
    INVALID_AT("\xed\xa0\x80", 0);      /* U+D800 */
    INVALID_AT("x\xed\xbf\xbf", 1);     /* U+DFFF */
    INVALID_AT("xy\xed\xb0\x80", 2);    /* U+DC00 */
    INVALID_AT("\xf4\x90\x80\x80", 0);  /* U+110000 */
    INVALID_AT("z\xf5\x80\x80\x80", 1); /* lead byte F5 */
    INVALID_AT("\xf7\xbf\xbf\xbf", 0);
    INVALID_AT("\xf8\x88\x80\x80\x80", 0); /* 5-byte form */
    INVALID_AT("\xfc\x84\x80\x80\x80\x80", 0);
    INVALID_AT("ab\xfe", 2);
    INVALID_AT("ab\xff", 2);
}

static void test_bad_continuations(void **state)
{
    (void)state;
    INVALID_AT("\x80", 0); /* stray continuation byte */
    INVALID_AT("abc\xbf", 3);
    INVALID_AT("\xc3\xa9\xa9", 2); /* one continuation too many */
    INVALID_AT("\xc3"
               "a",
               0); /* lead byte followed by ASCII */
    INVALID_AT("\xe6\x97"
               "a",
               0);
    INVALID_AT("\xf0\x9f\x98"
               "a",
               0);
    INVALID_AT("\xe6\xc3\xa9", 0); /* lead byte followed by a lead byte */
}

static void test_truncated_at_end(void **state)
{
    (void)state;
    INVALID_AT("\xc3", 0);
    INVALID_AT("abc\xc3", 3);
    INVALID_AT("abc\xe6", 3);
    INVALID_AT("abc\xe6\x97", 3);
    INVALID_AT("abc\xf0", 3);
    INVALID_AT("abc\xf0\x9f", 3);
    INVALID_AT("abc\xf0\x9f\x98", 3);
    INVALID_AT("caf\xc3\xa9\xf0\x9f\x98", 5);
    /* a length that cuts a valid string inside a character */
    const char *s = "\xe6\x97\xa5\xe6\x9c\xac";
    expect_valid(s, 6);
    expect_invalid_at(s, 5, 3);
    expect_invalid_at(s, 4, 3);
    expect_valid(s, 3);
    expect_invalid_at(s, 2, 0);
}

/* Long ASCII runs exercise the 8-bytes-at-a-time path; put one bad byte at every offset 0..16 of
 * runs of several lengths and check the offset reported. */
static void test_fast_path_offsets(void **state)
{
    (void)state;
    static const char *const bad_bytes[] = {"\x80", "\xff", "\xc0", "\xc3", "\xed\xa0\x80"};
    for (size_t len = 17; len <= 40; len++) {
        for (size_t off = 0; off <= 16; off++) {
            for (size_t b = 0; b < sizeof bad_bytes / sizeof bad_bytes[0]; b++) {
                char buf[64];
                memset(buf, 'a' + (int)(off % 26), sizeof buf);
                size_t blen = strlen(bad_bytes[b]);
                if (off + blen > len)
                    continue;
                memcpy(buf + off, bad_bytes[b], blen);
                /* "\xc3" followed by ASCII is invalid at off, as are the others */
                expect_invalid_at(buf, len, off);
            }
        }
        /* and the same runs without a bad byte are valid */
        char ok[64];
        memset(ok, 'q', sizeof ok);
        expect_valid(ok, len);
    }
    /* a multi-byte character placed at every offset keeps a long string valid */
    for (size_t off = 0; off <= 16; off++) {
        char buf[40];
        memset(buf, 'x', sizeof buf);
        memcpy(buf + off, "\xf0\x9f\x98\x80", 4);
        expect_valid(buf, sizeof buf);
        /* and the error after it is found at its exact offset */
        buf[off + 4 + 9] = '\x80';
        expect_invalid_at(buf, sizeof buf, off + 13);
    }
    /* a long valid prefix, then the bad byte far away */
    char big[4099];
    memset(big, 'k', sizeof big);
    big[4097] = '\xfe';
    expect_invalid_at(big, sizeof big, 4097);
}

/* Reference: one code point per byte that is not a continuation byte. */
static size_t ref_length(const unsigned char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

static size_t put_cp(unsigned char *p, uint32_t cp)
{
    if (cp < 0x80) {
        p[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        p[0] = (unsigned char)(0xC0 | (cp >> 6));
        p[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        p[0] = (unsigned char)(0xE0 | (cp >> 12));
        p[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        p[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    p[0] = (unsigned char)(0xF0 | (cp >> 18));
    p[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    p[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    p[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

static void test_length_known(void **state)
{
    (void)state;
    assert_int_equal(eg_utf8_length("", 0), 0);
    assert_int_equal(eg_utf8_length("abc", 3), 3);
    assert_int_equal(eg_utf8_length("caf\xc3\xa9", 5), 4);
    assert_int_equal(eg_utf8_length("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 9), 3);
    assert_int_equal(eg_utf8_length("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", 8), 2);
    /* 8 bytes exactly, mixed: a, é, 日, b, then an emoji across the word boundary */
    assert_int_equal(eg_utf8_length("a\xc3\xa9\xe6\x97\xa5"
                                    "b\xf0\x9f\x98\x80",
                                    11),
                     5);
    assert_int_equal(eg_utf8_length("a\0b", 3), 3);
}

static void test_length_random(void **state)
{
    (void)state;
    uint64_t x = UINT64_C(88172645463325252);
    unsigned char *buf = malloc(4 * 300);
    assert_non_null(buf);
    for (int round = 0; round < 3000; round++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t ncp = (size_t)(x % 300), len = 0;
        for (size_t k = 0; k < ncp; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            uint32_t cp;
            switch (x % 4) {
            case 0:
                cp = (uint32_t)(x >> 8) % 0x80;
                break;
            case 1:
                cp = 0x80 + (uint32_t)(x >> 8) % (0x800 - 0x80);
                break;
            case 2:
                cp = 0x800 + (uint32_t)(x >> 8) % (0x10000 - 0x800);
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    cp -= 0x800;
                break;
            default:
                cp = 0x10000 + (uint32_t)(x >> 8) % (0x110000 - 0x10000);
                break;
            }
            len += put_cp(buf + len, cp);
        }
        char *p = exact_copy((const char *)buf, len);
        size_t bad = 0;
        if (!eg_utf8_valid(p, len, &bad))
            fail_msg("round %d: generated valid string rejected at %zu", round, bad);
        assert_int_equal(eg_utf8_length(p, len), ncp);
        assert_int_equal(eg_utf8_length(p, len), ref_length(buf, len));
        /* every prefix length agrees with the reference (exercises all tail sizes) */
        if (round < 200)
            for (size_t cut = 0; cut <= len; cut++)
                assert_int_equal(eg_utf8_length(p, cut), ref_length(buf, cut));
        free(p);
    }
    free(buf);
}

/* eg_utf8_seq agrees with eg_utf8_valid: on every byte string of up to 4 bytes drawn from the
 * bytes that matter (ASCII, continuations, every kind of lead byte, bytes never valid), a walk
 * by eg_utf8_seq finds no bad sequence exactly when the string is valid, and the skip of a bad
 * sequence is 1 or a prefix that stays within the string. */
static void test_seq_matches_valid(void **state)
{
    (void)state;
    static const unsigned char pick[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0,
                                         0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed,
                                         0xee, 0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xfe, 0xff};
    enum { NP = sizeof pick };
    char s[4];
    for (size_t len = 1; len <= 4; len++) {
        size_t total = 1;
        for (size_t k = 0; k < len; k++)
            total *= NP;
        for (size_t v = 0; v < total; v++) {
            size_t x = v;
            for (size_t k = 0; k < len; k++, x /= NP)
                s[k] = (char)pick[x % NP];
            bool clean = true;
            for (size_t i = 0; i < len;) {
                size_t skip = 0, n = eg_utf8_seq(s + i, len - i, &skip);
                if (n) {
                    assert_true(eg_utf8_valid(s + i, n, NULL));
                    i += n;
                } else {
                    clean = false;
                    assert_true(skip >= 1 && skip <= len - i);
                    i += skip;
                }
            }
            assert_int_equal(clean, eg_utf8_valid(s, len, NULL));
        }
    }
}

#define BLANK(lit) eg_utf8_blank(lit, sizeof(lit) - 1)

static void test_blank(void **state)
{
    (void)state;
    assert_true(eg_utf8_blank("", 0));
    assert_true(BLANK(" "));
    assert_true(BLANK(" \t\n\r\v\f  "));
    assert_true(BLANK("\xc2\xa0"));                 /* NO-BREAK SPACE */
    assert_true(BLANK("\xc2\x85"));                 /* NEL */
    assert_true(BLANK("\xe2\x80\x80\xe2\x80\x8a")); /* EN QUAD, HAIR SPACE */
    assert_true(BLANK("\xe2\x80\xa8\xe2\x80\xa9")); /* LINE / PARAGRAPH SEPARATOR */
    assert_true(BLANK("\xe2\x80\xaf"));             /* NARROW NO-BREAK SPACE */
    assert_true(BLANK("\xe3\x80\x80 \t"));          /* IDEOGRAPHIC SPACE */
    assert_false(BLANK("a"));
    assert_false(BLANK("  x  "));
    assert_false(BLANK(" \xc3\xa9 "));
    assert_false(BLANK("\xe2\x80\x8b")); /* ZERO WIDTH SPACE is Cf, not Zs */
    assert_false(BLANK("\xe2\x80\x8c"));
    assert_false(BLANK("\xc2")); /* a truncated NBSP is not blank */
    assert_false(BLANK("\xe2\x80"));
    assert_false(eg_utf8_blank("\0", 1)); /* NUL is not white space */
    assert_false(BLANK("  ."));
    /* only the length counts: the non-blank tail is outside it */
    assert_true(eg_utf8_blank("   xyz", 3));
}

/* Zs also holds U+1680 OGHAM SPACE MARK and U+205F MEDIUM MATHEMATICAL SPACE. */
static void test_blank_all_zs(void **state)
{
    (void)state;
    assert_true(BLANK("\xe1\x9a\x80")); /* U+1680 */
    assert_true(BLANK("\xe2\x81\x9f")); /* U+205F */
    assert_true(BLANK(" \xe1\x9a\x80 \xe2\x81\x9f "));
}

/* eg_utf8_scrub: valid text unchanged, each maximal invalid subpart one U+FFFD, result valid. */
static void expect_scrub(const char *in, size_t len, const char *want)
{
    char *out = eg_utf8_scrub(in, len);
    assert_non_null(out);
    assert_string_equal(out, want);
    assert_true(eg_utf8_valid(out, strlen(out), NULL));
    free(out);
}

static void test_scrub(void **state)
{
    (void)state;
    expect_scrub("plain", 5, "plain");
    expect_scrub("caf\xc3\xa9", 5, "caf\xc3\xa9");
    expect_scrub("a\xff\xfe"
                 "b",
                 4,
                 "a\xef\xbf\xbd\xef\xbf\xbd"
                 "b");
    expect_scrub("x\xe2\x82", 3, "x\xef\xbf\xbd"); /* a truncated sequence is one subpart */
    expect_scrub("", 0, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_sequences),
        cmocka_unit_test(test_overlongs),
        cmocka_unit_test(test_surrogates_and_range),
        cmocka_unit_test(test_bad_continuations),
        cmocka_unit_test(test_truncated_at_end),
        cmocka_unit_test(test_fast_path_offsets),
        cmocka_unit_test(test_length_known),
        cmocka_unit_test(test_length_random),
        cmocka_unit_test(test_scrub),
        cmocka_unit_test(test_seq_matches_valid),
        cmocka_unit_test(test_blank),
        cmocka_unit_test(test_blank_all_zs),
    };
    return cmocka_run_group_tests(tests, 0, NULL);
}
