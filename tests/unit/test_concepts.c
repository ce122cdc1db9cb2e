/*
 * test_concepts.c — unit tests of stage/concepts.c: folding, splitting, filtering, stemming,
 * de-duplication and the cap of concepts from text, concepts from metadata, and errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engram/error.h"
#include "stage/concepts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs text through a fresh extractor and checks the exact JSON output. */
static void expect_text_lang(const char *language, int max, const char *text, const char *want)
{
    eg_concepts *c = NULL;
    assert_int_equal(eg_concepts_new(&c, language, max), 0);
    eg_buf b;
    eg_buf_init(&b, 0);
    assert_int_equal(eg_concepts_from_text(c, text, strlen(text), &b), 0);
    assert_string_equal(b.data, want);
    eg_buf_free(&b);
    eg_concepts_free(c);
}

static void expect_text(const char *text, const char *want)
{
    expect_text_lang("english", 0, text, want);
}

/* Parses metadata, runs eg_concepts_from_json into a buffer holding "<<", checks rc and text. */
static void expect_json(int max, const char *metadata, int want_rc, const char *want)
{
    json_error_t jerr;
    json_t *m = metadata ? json_loads(metadata, JSON_DECODE_ANY, &jerr) : NULL;
    if (metadata)
        assert_non_null(m);
    eg_concepts *c = NULL;
    assert_int_equal(eg_concepts_new(&c, "english", max), 0);
    eg_buf b;
    eg_buf_init(&b, 0);
    assert_int_equal(eg_buf_puts(&b, "<<"), 0);
    assert_int_equal(eg_concepts_from_json(c, m, &b), want_rc);
    assert_string_equal(b.data, want);
    eg_buf_free(&b);
    eg_concepts_free(c);
    json_decref(m);
}

static void test_english_sentence(void **state)
{
    (void)state;
    expect_text("The brain consolidates memories during sleep, and consolidation is slow.",
                "[\"brain\",\"consolid\",\"memori\",\"sleep\",\"slow\"]");
}

static void test_stopwords_dropped(void **state)
{
    (void)state;
    expect_text("Ourselves yourselves THEMSELVES notebook I was there with them because of it",
                "[\"notebook\"]");
    /* Contractions split at the apostrophe; their first halves are stopwords too. */
    expect_text("I don't know, you can't, they wouldn\u2019t", "[\"know\"]");
    /* Stopwords are matched on the folded word, before stemming ("being" would stem to "be"). */
    expect_text("BEING Because", "[]");
}

static void test_stopwords_other_languages(void **state)
{
    (void)state;
    /* Each Snowball language with a list drops its own stopwords (before stemming), under its
     * name and its libstemmer aliases; "daß" is folded like the tokens ("dass"). */
    expect_text_lang("german", 0, "Ich habe mit der Mutter und dem Vater gesprochen, daß sie",
                     "[\"mutt\",\"vat\",\"gesproch\"]");
    expect_text_lang("de", 0, "und der Garten", "[\"gart\"]");
    expect_text_lang("french", 0, "Nous avons mangé avec elle dans leur jardin",
                     "[\"mang\",\"jardin\"]");
    expect_text_lang("spanish", 0, "Los niños comieron con nosotros", "[\"niñ\",\"com\"]");
    expect_text_lang(
        "russian", 0,
        "\u041c\u044b \u0431\u044b\u043b\u0438 \u0432 \u041c\u043e\u0441\u043a\u0432\u0435",
        "[\"\u043c\u043e\u0441\u043a\u0432\"]");
    /* A language without a list keeps every word. */
    expect_text_lang("greek", 0, "\u03ba\u03b1\u03b9", "[\"\u03ba\u03b1\"]");
}

static void test_short_tokens_and_numbers(void **state)
{
    (void)state;
    expect_text("a 42 of 2024 cats", "[\"cat\"]");
    /* Letters and digits together are a word; Arabic-Indic digits are a pure number. */
    expect_text("ab abc 3rd 1st 123abc 10,000 \u0663\u0664\u0665",
                "[\"abc\",\"3rd\",\"1st\",\"123abc\"]");
    /* Length counts code points, not bytes: 3 CJK characters stay, 2 go. */
    expect_text("\u65e5\u672c\u8a9e \u65e5\u672c \u00e9t\u00e9",
                "[\"\u65e5\u672c\u8a9e\",\"\u00e9t\u00e9\"]");
}

static void test_case_and_accents(void **state)
{
    (void)state;
    /* Precomposed and decomposed (e + U+0301) forms fold to one NFC concept. */
    expect_text("Caf\u00e9 CAF\u00c9 caf\u00e9 cafe\u0301", "[\"caf\u00e9\"]");
    expect_text("R\u00e9sum\u00e9 R\u00c9SUM\u00c9 resume", "[\"r\u00e9sum\u00e9\",\"resum\"]");
    /* Full case folding: sharp s folds to "ss". */
    expect_text("STRASSE stra\u00dfe Stra\u00dfe", "[\"strass\"]");
    /* Ligatures fold (fi), Kelvin sign folds to k; full-width letters fold to ASCII. */
    expect_text("\ufb01nancial \u212aELVIN \uff21\uff22\uff23", "[\"financi\",\"kelvin\",\"abc\"]");
}

static void test_multibyte_scripts(void **state)
{
    (void)state;
    expect_text("\u041c\u043e\u0441\u043a\u0432\u0430 \u041c\u041e\u0421\u041a\u0412\u0410 "
                "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac "
                "\u0395\u039b\u039b\u0397\u039d\u0399\u039a\u0386",
                "[\"\u043c\u043e\u0441\u043a\u0432\u0430\","
                "\"\u03b5\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac\"]");
    /* The Russian stemmer joins inflected forms. */
    expect_text_lang("russian", 0,
                     "\u041c\u043e\u0441\u043a\u0432\u0430 \u041c\u043e\u0441\u043a\u0432\u0435",
                     "[\"\u043c\u043e\u0441\u043a\u0432\"]");
    /* Devanagari vowel signs and virama (M*) stay inside their word. */
    expect_text("\u0939\u093f\u0928\u094d\u0926\u0940 \u092d\u093e\u0937\u093e",
                "[\"\u0939\u093f\u0928\u094d\u0926\u0940\",\"\u092d\u093e\u0937\u093e\"]");
}

static void test_separators(void **state)
{
    (void)state;
    /* Full-width ASCII forms fold to ASCII (the concept of "\uff50\uff59..." is "python"); other
     * compatibility forms do not: "\u2122" stays a symbol, it does not join "brand" as "tm". */
    expect_text(
        "\uff30\uff39\uff34\uff28\uff2f\uff2e \uff50\uff59\uff54\uff48\uff4f\uff4e\uff13 python",
        "[\"python\",\"python3\"]");
    expect_text("Brand\u2122 brand", "[\"brand\"]");
    expect_text("hello\U0001F642world\u2014foo\u2026bar", "[\"hello\",\"world\",\"foo\",\"bar\"]");
    expect_text("snake_case kebab-case e-mail x@y.com",
                "[\"snake\",\"case\",\"kebab\",\"mail\",\"com\"]");
    /* Invalid UTF-8 separates words and is never copied out. */
    expect_text("bad\xff"
                "byte\xc3(word",
                "[\"bad\",\"byte\",\"word\"]");
    /* A NUL byte inside the given length is a separator too. */
    eg_concepts *c = NULL;
    assert_int_equal(eg_concepts_new(&c, "english", 0), 0);
    eg_buf b;
    eg_buf_init(&b, 0);
    assert_int_equal(eg_concepts_from_text(c, "left\0right", 10, &b), 0);
    assert_string_equal(b.data, "[\"left\",\"right\"]");
    eg_buf_free(&b);
    eg_concepts_free(c);
}

static void test_dedup_after_stemming(void **state)
{
    (void)state;
    expect_text("running runs run", "[\"run\"]");
    expect_text("cats dogs cat birds dog", "[\"cat\",\"dog\",\"bird\"]");
}

/* "zqaa zqab ..." (n words, each its own stem) and the JSON array of its first k. */
static void make_words(int n, int k, char *text, size_t tsize, char *want, size_t wsize)
{
    size_t t = 0, w = 0;
    w += (size_t)snprintf(want + w, wsize - w, "[");
    for (int i = 0; i < n; i++) {
        char word[8];
        snprintf(word, sizeof word, "zq%c%c", 'a' + i / 26, 'a' + i % 26);
        t += (size_t)snprintf(text + t, tsize - t, "%s%s", i ? " " : "", word);
        if (i < k)
            w += (size_t)snprintf(want + w, wsize - w, "%s\"%s\"", i ? "," : "", word);
    }
    snprintf(want + w, wsize - w, "]");
}

static void test_cap(void **state)
{
    (void)state;
    char text[1024], want[1024];
    make_words(40, 32, text, sizeof text, want, sizeof want);
    expect_text(text, want);
    expect_text_lang("english", -1, text, want);
    make_words(40, 3, text, sizeof text, want, sizeof want);
    expect_text_lang("english", 3, text, want);
    /* Duplicates do not count against the cap. */
    expect_text_lang("english", 2, "cats cat cats dogs birds", "[\"cat\",\"dog\"]");
}

static void test_empty(void **state)
{
    (void)state;
    expect_text("", "[]");
    expect_text("!!! ... the 12 -- \U0001F642", "[]");
    eg_concepts *c = NULL;
    assert_int_equal(eg_concepts_new(&c, "english", 0), 0);
    eg_buf b;
    eg_buf_init(&b, 0);
    assert_int_equal(eg_concepts_from_text(c, NULL, 0, &b), 0);
    assert_string_equal(b.data, "[]");
    eg_buf_free(&b);
    eg_concepts_free(c);
}

/* The ASCII fast path must agree with the utf8proc path: a no-break space (U+00A0, a separator)
 * between words sends the whole run through utf8proc. */
static void test_ascii_fast_path_matches_utf8proc(void **state)
{
    (void)state;
    static const char *const words[] = {"Running", "CATS",  "Memories", "x86",   "IBM", "r2d2",
                                        "The",     "Zebra", "quickly",  "HELLO", "ab",  "Über"};
    const size_t n = sizeof words / sizeof words[0];
    eg_concepts *c = NULL;
    assert_int_equal(eg_concepts_new(&c, "english", 0), 0);
    eg_buf fast, slow;
    eg_buf_init(&fast, 0);
    eg_buf_init(&slow, 0);
    uint32_t seed = 7;
    for (int round = 0; round < 200; round++) {
        char a[256], u[256];
        size_t na = 0, nu = 0;
        for (int i = 0; i < 8; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *w = words[(seed >> 16) % n];
            na += (size_t)snprintf(a + na, sizeof a - na, " %s", w);
            nu += (size_t)snprintf(u + nu, sizeof u - nu, "\u00a0%s", w);
        }
        eg_buf_reset(&fast);
        eg_buf_reset(&slow);
        assert_int_equal(eg_concepts_from_text(c, a, strlen(a), &fast), 0);
        assert_int_equal(eg_concepts_from_text(c, u, strlen(u), &slow), 0);
        assert_string_equal(fast.data, slow.data);
    }
    eg_buf_free(&fast);
    eg_buf_free(&slow);
    eg_concepts_free(c);
}

static void test_reuse_and_long_words(void **state)
{
    (void)state;
    eg_concepts *c = NULL;
    assert_int_equal(eg_concepts_new(&c, NULL, 0), 0);
    eg_buf b;
    eg_buf_init(&b, 0);
    /* The second call hits the stem cache and must agree; a 40-letter word bypasses it. */
    for (int i = 0; i < 2; i++) {
        const char *t = "Supercalifragilisticexpialidociousnesses connections";
        eg_buf_reset(&b);
        assert_int_equal(eg_concepts_from_text(c, t, strlen(t), &b), 0);
        assert_string_equal(b.data, "[\"supercalifragilisticexpialidoci\",\"connect\"]");
    }
    /* Output is appended; de-duplication restarts with each memory. */
    assert_int_equal(eg_concepts_from_text(c, "connected", 9, &b), 0);
    assert_string_equal(b.data, "[\"supercalifragilisticexpialidoci\",\"connect\"][\"connect\"]");
    eg_buf_free(&b);
    eg_concepts_free(c);
}

/* The stem cache is only a cache: 3000 words (more than its 4096 slots hold for long, and many
 * sharing a set) stemmed in one order, then again in another and by a second extractor, give
 * the same concepts every time, each word alone as one memory. */
static void test_stem_cache_many_words(void **state)
{
    (void)state;
    enum { WORDS = 3000 };
    static const char *const suffixes[] = {"ing", "ed", "ness", "ations", "s", "ly"};
    eg_concepts *a = NULL, *b = NULL;
    assert_int_equal(eg_concepts_new(&a, "english", 32), 0);
    assert_int_equal(eg_concepts_new(&b, "english", 32), 0);
    char(*want)[64] = calloc(WORDS, sizeof *want);
    assert_non_null(want);
    eg_buf out;
    eg_buf_init(&out, 0);
    for (int pass = 0; pass < 3; pass++) {
        for (int k = 0; k < WORDS; k++) {
            int i = pass == 1 ? WORDS - 1 - k : (k * 7) % WORDS;
            char w[40];
            snprintf(w, sizeof w, "%c%c%c%s", 'b' + i % 20, 'a' + (i / 20) % 5,
                     'c' + (i / 100) % 20, suffixes[(i / 2000 + i) % 6]);
            eg_buf_reset(&out);
            assert_int_equal(eg_concepts_from_text(pass == 2 ? b : a, w, strlen(w), &out), 0);
            assert_true(out.len < sizeof want[i]);
            if (pass == 0)
                memcpy(want[i], out.data, out.len + 1);
            else if (strcmp(out.data, want[i]) != 0)
                fail_msg("%s: %s, then %s", w, want[i], out.data);
        }
    }
    eg_buf_free(&out);
    free(want);
    eg_concepts_free(a);
    eg_concepts_free(b);
}

/* Regression (probe r1): a 1 MB run of letters and digits became one 1 MB concept, and 2000 such
 * rows filled a work item's concepts buffer to its 1 GiB limit and aborted the ingest. Tokens
 * longer than 64 characters are dropped, counted in characters (not bytes) for every script. */
static void test_token_length_cap(void **state)
{
    (void)state;
    char text[3 * 200 + 64];
    char want[3 * 200 + 80];
    /* 64 ASCII letters are kept, 65 are dropped, and so is a 100,000-character run */
    memset(text, 'q', 64);
    strcpy(text + 64, " kept ");
    memset(text + 70, 'z', 65);
    strcpy(text + 135, " giraffes");
    snprintf(want, sizeof want, "[\"%.64s\",\"kept\",\"giraff\"]", text);
    expect_text(text, want);

    size_t big = 100000;
    char *huge = malloc(big + 32);
    assert_non_null(huge);
    memcpy(huge, "d41d8cd98f", 10);
    memset(huge + 10, 'x', big);
    strcpy(huge + 10 + big, " zebra");
    expect_text(huge, "[\"zebra\"]");
    free(huge);

    /* non-ASCII: 64 characters (128 bytes) of \u00e9 are kept, 65 are dropped */
    size_t o = 0;
    for (int i = 0; i < 65; i++) {
        text[o++] = (char)0xc3;
        text[o++] = (char)0xa9;
    }
    text[o] = '\0';
    expect_text(text, "[]");
    text[128] = '\0';
    snprintf(want, sizeof want, "[\"%s\"]", text);
    expect_text(text, want);
}

static void test_buffer_cap_restores_output(void **state)
{
    (void)state;
    eg_concepts *c = NULL;
    assert_int_equal(eg_concepts_new(&c, "english", 0), 0);
    eg_buf b;
    eg_buf_init(&b, 16);
    assert_int_equal(eg_buf_puts(&b, "ok"), 0);
    const char *t = "elephants giraffes crocodiles";
    assert_int_equal(eg_concepts_from_text(c, t, strlen(t), &b), EG_ENOMEM);
    assert_int_equal(b.len, 2);
    assert_string_equal(b.data, "ok");
    eg_buf_free(&b);
    eg_concepts_free(c);
}

static void test_json_concepts(void **state)
{
    (void)state;
    expect_json(0,
                "{\"concepts\": [\"Memory\", \"sleep\", 42, -7, 1.5, 0.1, 2.0, 1e300, true, "
                "null, {\"a\": 1}, [\"x\"], \"\", \"Memory\", 42, \"42\", \"say \\\"hi\\\"\"]}",
                1,
                "<<[\"Memory\",\"sleep\",\"42\",\"-7\",\"1.5\",\"0.1\",\"2\",\"1e+300\","
                "\"say \\\"hi\\\"\"]");
    /* Labels are the user's: not folded, not stemmed, stopwords and short ones kept. */
    expect_json(0, "{\"concepts\": [\"Running\", \"the\", \"ab\", \"running\"]}", 1,
                "<<[\"Running\",\"the\",\"ab\",\"running\"]");
    expect_json(2, "{\"concepts\": [\"a1\", \"a1\", \"b2\", \"c3\"]}", 1, "<<[\"a1\",\"b2\"]");
    expect_json(0, "{\"concepts\": []}", 1, "<<[]");
    expect_json(0, "{\"concepts\": [null, false]}", 1, "<<[]");
}

static void test_json_no_concepts(void **state)
{
    (void)state;
    expect_json(0, "{\"concepts\": \"memory\"}", 0, "<<");
    expect_json(0, "{\"concepts\": {\"0\": \"memory\"}}", 0, "<<");
    expect_json(0, "{\"tags\": [\"memory\"]}", 0, "<<");
    expect_json(0, "[\"memory\"]", 0, "<<");
    expect_json(0, "\"memory\"", 0, "<<");
    expect_json(0, NULL, 0, "<<");
}

static void test_unknown_language(void **state)
{
    (void)state;
    eg_concepts *c = (eg_concepts *)1;
    eg_error_clear();
    assert_int_equal(eg_concepts_new(&c, "klingon", 0), EG_ECONFIG);
    assert_null(c);
    const eg_error *e = eg_error_last();
    assert_int_equal(e->code, EG_ECONFIG);
    assert_string_equal(e->message, "unknown stemming language \"klingon\"");
    assert_non_null(strstr(e->hint, "english"));
    assert_non_null(strstr(e->hint, "german"));
    /* Snowball aliases are accepted. */
    assert_int_equal(eg_concepts_new(&c, "en", 0), 0);
    eg_concepts_free(c);
    eg_concepts_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_english_sentence),
        cmocka_unit_test(test_stopwords_dropped),
        cmocka_unit_test(test_stopwords_other_languages),
        cmocka_unit_test(test_short_tokens_and_numbers),
        cmocka_unit_test(test_case_and_accents),
        cmocka_unit_test(test_multibyte_scripts),
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_dedup_after_stemming),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_ascii_fast_path_matches_utf8proc),
        cmocka_unit_test(test_reuse_and_long_words),
        cmocka_unit_test(test_stem_cache_many_words),
        cmocka_unit_test(test_token_length_cap),
        cmocka_unit_test(test_buffer_cap_restores_output),
        cmocka_unit_test(test_json_concepts),
        cmocka_unit_test(test_json_no_concepts),
        cmocka_unit_test(test_unknown_language),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
