/*
 * test_buf.c — unit tests of util/buf.c: append / puts / putc / printf keep the content
 * NUL-terminated and grow past many reallocations; reset keeps the memory; JSON string escaping
 * (quotes, backslash, \n \r \t, other control bytes as \u00XX, embedded NUL, UTF-8 and DEL passed
 * through); CSV field quoting (comma, quote, CR, LF; quotes doubled; everything else verbatim); and
 * the hard cap: an append past it returns EG_ENOMEM, sets the last error and leaves the content
 * exactly as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engram/error.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_init_and_empty(void **state)
{
    (void)state;
    eg_buf b;
    eg_buf_init(&b, 0);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, (size_t)1 << 30); /* 0 means 1 GiB */
    /* an empty append still leaves a NUL-terminated (empty) string */
    assert_int_equal(eg_buf_append(&b, "", 0), 0);
    assert_non_null(b.data);
    assert_string_equal(b.data, "");
    eg_buf_reset(&b);
    assert_int_equal(b.len, 0);
    eg_buf_free(&b);
    assert_null(b.data);
    eg_buf_free(&b); /* twice is fine */
    eg_buf_free(NULL);
    /* reset of a never-used buffer */
    eg_buf_init(&b, 100);
    assert_int_equal(b.max, 100);
    eg_buf_reset(&b);
    assert_int_equal(b.len, 0);
    eg_buf_free(&b);
}

static void test_append_and_grow(void **state)
{
    (void)state;
    eg_buf b;
    eg_buf_init(&b, 0);
    assert_int_equal(eg_buf_puts(&b, "hello"), 0);
    assert_int_equal(eg_buf_putc(&b, ','), 0);
    assert_int_equal(eg_buf_append(&b, " world!!!", 6), 0);
    assert_int_equal(b.len, 12);
    assert_string_equal(b.data, "hello, world");
    /* grow through many reallocations; content stays exact */
    for (int i = 0; i < 100000; i++)
        assert_int_equal(eg_buf_putc(&b, (char)('a' + i % 26)), 0);
    assert_int_equal(b.len, 12 + 100000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data, "hello, world", 12);
    for (int i = 0; i < 100000; i++)
        if (b.data[12 + i] != (char)('a' + i % 26))
            fail_msg("byte %d is %c", 12 + i, b.data[12 + i]);
    /* embedded NUL bytes are content too */
    eg_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_int_equal(eg_buf_append(&b, "a\0b", 3), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "a\0b\0", 4);
    eg_buf_free(&b);
}

static void test_reset_keeps_capacity(void **state)
{
    (void)state;
    eg_buf b;
    eg_buf_init(&b, 0);
    char big[5000];
    memset(big, 'z', sizeof big);
    assert_int_equal(eg_buf_append(&b, big, sizeof big), 0);
    size_t cap = b.cap;
    char *data = b.data;
    eg_buf_reset(&b);
    assert_int_equal(eg_buf_puts(&b, "again"), 0);
    assert_int_equal(b.cap, cap);
    assert_ptr_equal(b.data, data);
    assert_string_equal(b.data, "again");
    eg_buf_free(&b);
}

static void test_printf(void **state)
{
    (void)state;
    eg_buf b;
    eg_buf_init(&b, 0);
    assert_int_equal(eg_buf_printf(&b, "%d-%s-%05.1f", 42, "x", 3.14159), 0);
    assert_string_equal(b.data, "42-x-003.1");
    assert_int_equal(b.len, 10);
    assert_int_equal(eg_buf_printf(&b, "%s", ""), 0);
    assert_int_equal(b.len, 10);
    assert_int_equal(eg_buf_printf(&b, "|%lld|", (long long)INT64_MIN), 0);
    assert_string_equal(b.data, "42-x-003.1|-9223372036854775808|");
    /* a long formatted string that forces a reallocation inside printf */
    char big[3000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    eg_buf_reset(&b);
    assert_int_equal(eg_buf_printf(&b, "<%s>", big), 0);
    assert_int_equal(b.len, 3001);
    assert_int_equal(b.data[0], '<');
    assert_int_equal(b.data[3000], '>');
    assert_int_equal(b.data[3001], '\0');
    eg_buf_free(&b);
}

static void expect_json(const char *s, size_t n, const char *want)
{
    eg_buf b;
    eg_buf_init(&b, 0);
    assert_int_equal(eg_buf_puts(&b, "x="), 0);
    assert_int_equal(eg_buf_json_str(&b, s, n), 0);
    if (strcmp(b.data + 2, want) != 0 || b.len != 2 + strlen(want))
        fail_msg("json of %zu bytes: got [%s], want [%s]", n, b.data + 2, want);
    assert_memory_equal(b.data, "x=", 2);
    eg_buf_free(&b);
}

#define JSON(lit, want) expect_json(lit, sizeof(lit) - 1, want)

static void test_json_str(void **state)
{
    (void)state;
    JSON("", "\"\"");
    JSON("plain", "\"plain\"");
    JSON("say \"hi\"", "\"say \\\"hi\\\"\"");
    JSON("C:\\dir\\", "\"C:\\\\dir\\\\\"");
    JSON("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
    JSON("\x01\x08\x0c\x1f", "\"\\u0001\\u0008\\u000c\\u001f\"");
    JSON("nul:\0:end", "\"nul:\\u0000:end\"");
    JSON("\x7f", "\"\x7f\""); /* DEL needs no escape */
    JSON("/", "\"/\"");       /* nor does the solidus */
    JSON("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80",
         "\"caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80\"");
    JSON("\"\\\n", "\"\\\"\\\\\\n\""); /* consecutive escapes */
    /* the length counts, not a NUL: "abc" of "abcdef" */
    expect_json("abcdef", 3, "\"abc\"");
}

#define FFFD "\xef\xbf\xbd"

/* Bytes that are not UTF-8 (a query typed by a client) must not reach the JSON raw: each maximal
 * invalid subpart becomes one U+FFFD, valid characters around it are kept. */
static void test_json_str_invalid_utf8(void **state)
{
    (void)state;
    JSON("\xff", "\"" FFFD "\"");
    JSON("maya \xff", "\"maya " FFFD "\"");
    JSON("\xc3\x28", "\"" FFFD "(\"");              /* a lead byte without its continuation */
    JSON("\xff\xfe", "\"" FFFD FFFD "\"");          /* two bad bytes, two replacements */
    JSON("\xe6\x97", "\"" FFFD "\"");               /* truncated at the end: one */
    JSON("\xe6\x97x", "\"" FFFD "x\"");             /* truncated in the middle: one */
    JSON("\xc0\xaf", "\"" FFFD FFFD "\"");          /* overlong '/' */
    JSON("\xed\xa0\x80", "\"" FFFD FFFD FFFD "\""); /* a surrogate */
    JSON("\xf4\x90\x80\x80", "\"" FFFD FFFD FFFD FFFD "\""); /* above U+10FFFF */
    JSON("\x80", "\"" FFFD "\"");                            /* a lone continuation byte */
    JSON("\xc3\xa9\xff\xc3\xa9\"", "\"\xc3\xa9" FFFD "\xc3\xa9\\\"\"");
    JSON("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""); /* a 4-byte character is kept */
    JSON("\xef\xbf\xbd", "\"" FFFD "\"");             /* and U+FFFD itself */
    /* the length bounds the sequence: a character cut by n is replaced, not read past n */
    expect_json("\xc3\xa9", 1, "\"" FFFD "\"");
}

/* A literal appended whole (the fast path: nothing to escape) honours the cap like the rest: it
 * fits to the last byte, one byte more is EG_ENOMEM. */
static void test_json_str_cap(void **state)
{
    (void)state;
    eg_buf b;
    eg_buf_init(&b, 10); /* "x=" + "\"abcde\"" + NUL = 10 bytes */
    assert_int_equal(eg_buf_puts(&b, "x="), 0);
    assert_int_equal(eg_buf_json_str(&b, "abcde", 5), 0);
    assert_string_equal(b.data, "x=\"abcde\"");
    assert_int_equal(b.len, 9);
    eg_buf_reset(&b);
    assert_int_equal(eg_buf_puts(&b, "x="), 0);
    assert_int_equal(eg_buf_json_str(&b, "abcdef", 6), EG_ENOMEM);
    eg_buf_reset(&b);
    assert_int_equal(eg_buf_puts(&b, "x="), 0);
    assert_int_equal(eg_buf_json_str(&b, "caf\xc3\xa9", 5), 0);
    assert_string_equal(b.data, "x=\"caf\xc3\xa9\"");
    eg_buf_free(&b);
}

/* eg_buf_json_plain says exactly when eg_buf_json_str copies the text between its quotes. */
static void test_json_plain(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t n;
        bool plain;
    } cases[] = {
        {"", 0, true},
        {"memori", 6, true},
        {"caf\xc3\xa9", 5, true},
        {"\xf0\x9f\x98\x80", 4, true},
        {"a b/c\x7f", 6, true},
        {"say \"hi\"", 8, false},
        {"C:\\", 3, false},
        {"a\nb", 3, false},
        {"nul\0", 4, false},
        {"\xff", 1, false},
        {"\xc3\xa9", 1, false},
        {"\xed\xa0\x80", 3, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eg_buf b;
        eg_buf_init(&b, 0);
        assert_int_equal(eg_buf_json_str(&b, cases[i].s, cases[i].n), 0);
        bool copied = b.len == cases[i].n + 2 && memcmp(b.data + 1, cases[i].s, cases[i].n) == 0;
        if (eg_buf_json_plain(cases[i].s, cases[i].n) != cases[i].plain || copied != cases[i].plain)
            fail_msg("case %zu: plain %d, copied %d, want %d", i,
                     eg_buf_json_plain(cases[i].s, cases[i].n), copied, cases[i].plain);
        eg_buf_free(&b);
    }
}

static void expect_csv(const char *s, size_t n, const char *want)
{
    eg_buf b;
    eg_buf_init(&b, 0);
    assert_int_equal(eg_buf_puts(&b, "f,"), 0);
    assert_int_equal(eg_buf_csv_field(&b, s, n), 0);
    if (strcmp(b.data + 2, want) != 0 || b.len != 2 + strlen(want))
        fail_msg("csv of %zu bytes: got [%s], want [%s]", n, b.data + 2, want);
    eg_buf_free(&b);
}

#define CSV(lit, want) expect_csv(lit, sizeof(lit) - 1, want)

/* reals in their shortest exact form, a real kept a real, strings and integers untouched */
static void test_json_reals(void **state)
{
    (void)state;
    eg_buf b;
    eg_buf_init(&b, 0);
    assert_int_equal(eg_buf_json_reals(&b, "{\"a\":0.20000000000000001,\"s\":\"0.20000000000000001 "
                                           "\\\" 1.50\",\"n\":[3,-7,3.0,-0.0,1e-07,1.5E+300,"
                                           "0.30000000000000004,0.91458422646193894]}"),
                     0);
    assert_string_equal(b.data, "{\"a\":0.2,\"s\":\"0.20000000000000001 \\\" 1.50\",\"n\":[3,-7,"
                                "3.0,-0.0,1e-07,1.5e+300,0.30000000000000004,"
                                "0.9145842264619389]}");
    eg_buf_free(&b);
}

static void test_csv_field(void **state)
{
    (void)state;
    CSV("plain", "plain");
    CSV("with space", "with space");
    CSV(" lead and trail ", " lead and trail ");
    CSV("a,b", "\"a,b\"");
    CSV("say \"hi\"", "\"say \"\"hi\"\"\"");
    CSV("\"", "\"\"\"\"");
    CSV("line1\nline2", "\"line1\nline2\"");
    CSV("cr\rhere", "\"cr\rhere\"");
    CSV("crlf\r\n", "\"crlf\r\n\"");
    CSV("tab\there", "tab\there");
    CSV("semi;colon", "semi;colon");
    CSV("caf\xc3\xa9", "caf\xc3\xa9");
    CSV("[\"a\",\"b\"]", "\"[\"\"a\"\",\"\"b\"\"]\"");
    /* the length counts: the comma after it is not part of the field */
    expect_csv("abc,def", 3, "abc");
}

static void test_cap_append(void **state)
{
    (void)state;
    eg_buf b;
    eg_buf_init(&b, 16); /* 16 bytes including the NUL: 15 bytes of content */
    assert_int_equal(eg_buf_puts(&b, "0123456789"), 0);
    eg_error_clear();
    assert_int_equal(eg_buf_puts(&b, "abcdef"), EG_ENOMEM);
    assert_int_equal(eg_error_last()->code, EG_ENOMEM);
    assert_non_null(strstr(eg_error_last()->message, "16"));
    /* content intact after the failed append */
    assert_int_equal(b.len, 10);
    assert_string_equal(b.data, "0123456789");
    /* what still fits goes in, byte by byte, up to 15 */
    assert_int_equal(eg_buf_puts(&b, "abcde"), 0);
    assert_int_equal(b.len, 15);
    assert_string_equal(b.data, "0123456789abcde");
    assert_true(b.cap <= 16);
    assert_int_equal(eg_buf_putc(&b, 'X'), EG_ENOMEM);
    assert_int_equal(eg_buf_append(&b, "Y", 1), EG_ENOMEM);
    assert_int_equal(b.len, 15);
    assert_string_equal(b.data, "0123456789abcde");
    /* an empty append at the cap is fine */
    assert_int_equal(eg_buf_append(&b, "", 0), 0);
    /* after reset the full capacity is usable again */
    eg_buf_reset(&b);
    assert_int_equal(eg_buf_puts(&b, "ZZZZZZZZZZZZZZZ"), 0);
    assert_int_equal(b.len, 15);
    eg_buf_free(&b);
}

static void test_cap_printf(void **state)
{
    (void)state;
    eg_buf b;
    eg_buf_init(&b, 32);
    assert_int_equal(eg_buf_printf(&b, "%s", "twenty characters..."), 0);
    assert_int_equal(b.len, 20);
    /* 20 + 12 bytes and the NUL do not fit in 32 */
    assert_int_equal(eg_buf_printf(&b, "%d%s", 12345, "6789012"), EG_ENOMEM);
    assert_int_equal(b.len, 20);
    assert_string_equal(b.data, "twenty characters...");
    /* 20 + 11 bytes and the NUL fit exactly */
    assert_int_equal(eg_buf_printf(&b, "%d%s", 12345, "678901"), 0);
    assert_string_equal(b.data, "twenty characters...12345678901");
    assert_int_equal(b.len, 31);
    eg_buf_free(&b);
}

static void test_cap_first_append_too_big(void **state)
{
    (void)state;
    eg_buf b;
    eg_buf_init(&b, 8);
    assert_int_equal(eg_buf_puts(&b, "123456789"), EG_ENOMEM);
    assert_int_equal(b.len, 0);
    assert_int_equal(eg_buf_puts(&b, "1234567"), 0);
    assert_string_equal(b.data, "1234567");
    eg_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_empty),
        cmocka_unit_test(test_append_and_grow),
        cmocka_unit_test(test_reset_keeps_capacity),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_json_str_invalid_utf8),
        cmocka_unit_test(test_json_str_cap),
        cmocka_unit_test(test_json_plain),
        cmocka_unit_test(test_json_reals),
        cmocka_unit_test(test_csv_field),
        cmocka_unit_test(test_cap_append),
        cmocka_unit_test(test_cap_printf),
        cmocka_unit_test(test_cap_first_append_too_big),
    };
    return cmocka_run_group_tests(tests, 0, NULL);
}
