/*
 * test_staging.c — unit tests of stage/staging.c against values computed by hand from the
 * reference SQL of SPEC §5 (PostgreSQL, UTC session): activation_strength = min(1,
 * exp(-age_seconds / 604800)) (constants from Python's math.exp); importance by whole days of age
 * truncated toward zero (exactly 1 / 7 / 30 days and one microsecond less, future rows);
 * memory_type boundaries 49/50, 199/200, 499/500 counted in characters of multi-byte content;
 * access_count and last_accessed_at for every shape of updated_at; the skip reasons (NULL and
 * empty content, the window is strictly "created_at > start", NULL created_at); quality-issue
 * bits (invalid / non-object metadata, blank content, updated before created); concepts from a
 * metadata array vs from the text; eg_staging_window_start (0/0 keeps everything, calendar
 * months from a leap day) and the skip names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stage/concepts.h"
#include "stage/staging.h"
#include "util/buf.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY EG_USEC_PER_DAY
#define HOUR (3600 * EG_USEC_PER_SEC)

static int64_t T(const char *iso)
{
    int64_t us;
    assert_int_equal(eg_time_parse(iso, (size_t)-1, &us), 0);
    return us;
}

/* The run's clock in every test, and a window that keeps everything. */
static int64_t NOW;
#define KEEP_ALL INT64_MIN

static int group_setup(void **state)
{
    (void)state;
    NOW = T("2026-05-01T12:00:00Z");
    return 0;
}

static eg_record rec(const char *content, int64_t created_at)
{
    eg_record r = {.id = "m",
                   .id_len = 1,
                   .content = content,
                   .content_len = content ? strlen(content) : 0,
                   .created_at = created_at,
                   .has_created = true};
    return r;
}

static eg_staged stage(const eg_record *r, int64_t window_start)
{
    eg_staged s;
    memset(&s, 0xA5, sizeof s); /* every field must be written */
    assert_int_equal(eg_stage_record(r, NOW, window_start, NULL, &s, NULL), 0);
    return s;
}

static void expect_close(double got, double want)
{
    if (fabs(got - want) > 1e-15 * (fabs(want) > 1 ? fabs(want) : 1))
        fail_msg("got %.17g, want %.17g", got, want);
}

static void test_activation_and_importance(void **state)
{
    (void)state;
    static const struct {
        int64_t age_us;
        double activation, importance;
    } cases[] = {
        {0, 1.0, 0.9},
        {HOUR, 0.9940652993697221, 0.9},
        {DAY - 1, 0.866877899751615, 0.9}, /* 0 whole days */
        {DAY, 0.8668778997501816, 0.7},    /* exactly 1 day */
        {6 * DAY + EG_USEC_PER_SEC, 0.42437214400285134, 0.7},
        {7 * DAY - 1, 0.36787944117205057, 0.7}, /* 6 whole days */
        {7 * DAY, 0.36787944117144233, 0.5},
        {10 * DAY, 0.2396510364417758, 0.5},
        {30 * DAY - 1, 0.013763786733073153, 0.5},
        {30 * DAY, 0.013763786733050402, 0.3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        eg_record r = rec("some content", NOW - cases[i].age_us);
        eg_staged s = stage(&r, KEEP_ALL);
        assert_int_equal(s.skip, EG_SKIP_NONE);
        if (fabs(s.activation_strength - cases[i].activation) > 1e-14)
            fail_msg("age %lld us: activation %.17g, want %.17g", (long long)cases[i].age_us,
                     s.activation_strength, cases[i].activation);
        if (s.importance_score != cases[i].importance)
            fail_msg("age %lld us: importance %g, want %g", (long long)cases[i].age_us,
                     s.importance_score, cases[i].importance);
    }
    /* a year-old memory has practically no activation left but is still staged */
    eg_record r = rec("old", NOW - 365 * DAY);
    eg_staged s = stage(&r, KEEP_ALL);
    expect_close(s.activation_strength, exp(-365.0 / 7.0));
    assert_true(s.activation_strength < 1e-22);
    assert_true(s.importance_score == 0.3);
}

static void test_future_created_at(void **state)
{
    (void)state;
    /* LEAST(1.0, EXP(positive)) = 1.0; EXTRACT(DAY) of a negative interval < 1 -> 0.9 */
    static const int64_t ahead[] = {1, HOUR, DAY - 1, DAY, 2 * DAY + HOUR, 400 * DAY};
    for (size_t i = 0; i < sizeof ahead / sizeof ahead[0]; i++) {
        eg_record r = rec("from the future", NOW + ahead[i]);
        eg_staged s = stage(&r, KEEP_ALL);
        assert_int_equal(s.skip, EG_SKIP_NONE);
        assert_true(s.activation_strength == 1.0);
        assert_true(s.importance_score == 0.9);
        assert_int_equal(s.access_count, 2);
        assert_int_equal(s.last_accessed_at, NOW + ahead[i]);
    }
}

/* n copies of the UTF-8 character ch. */
static char *repeat(const char *ch, size_t n)
{
    size_t w = strlen(ch);
    char *p = malloc(n * w + 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        memcpy(p + i * w, ch, w);
    p[n * w] = '\0';
    return p;
}

static void expect_type(const char *ch, size_t n, const char *want)
{
    char *content = repeat(ch, n);
    eg_record r = rec(content, NOW - HOUR);
    eg_staged s = stage(&r, KEEP_ALL);
    assert_int_equal(s.skip, EG_SKIP_NONE);
    if (s.length_chars != (int64_t)n || strcmp(s.memory_type, want))
        fail_msg("%zu x \"%s\" (%zu bytes): length %lld type %s, want %zu %s", n, ch,
                 strlen(content), (long long)s.length_chars, s.memory_type, n, want);
    free(content);
}

static void test_memory_type_boundaries(void **state)
{
    (void)state;
    static const char *const chars[] = {"a", "\xc3\xa9", "\xe6\x97\xa5", "\xf0\x9f\x98\x80"};
    for (size_t k = 0; k < sizeof chars / sizeof chars[0]; k++) {
        expect_type(chars[k], 1, "fragment");
        expect_type(chars[k], 49, "fragment");
        expect_type(chars[k], 50, "episode");
        expect_type(chars[k], 199, "episode");
        expect_type(chars[k], 200, "narrative");
        expect_type(chars[k], 499, "narrative");
        expect_type(chars[k], 500, "document");
        expect_type(chars[k], 5000, "document");
    }
    /* mixed widths: 20 + 20 + 9 = 49 characters in 20 + 60 + 36 = 116 bytes */
    char content[256];
    char *a = repeat("x", 20), *b = repeat("\xe6\x97\xa5", 20), *c = repeat("\xf0\x9f\x98\x80", 9);
    snprintf(content, sizeof content, "%s%s%s", a, b, c);
    eg_record r = rec(content, NOW - HOUR);
    eg_staged s = stage(&r, KEEP_ALL);
    assert_int_equal(s.length_chars, 49);
    assert_string_equal(s.memory_type, "fragment");
    free(a);
    free(b);
    free(c);
}

static void expect_access(int64_t created, bool has_updated, int64_t updated, int64_t want_count,
                          int64_t want_last)
{
    eg_record r = rec("content", created);
    r.has_updated = has_updated;
    r.updated_at = updated;
    eg_staged s = stage(&r, KEEP_ALL);
    assert_int_equal(s.skip, EG_SKIP_NONE);
    if (s.access_count != want_count || s.last_accessed_at != want_last)
        fail_msg("updated %s %+lld us: access_count %lld last %lld, want %lld %lld",
                 has_updated ? "at" : "NULL", (long long)(updated - created),
                 (long long)s.access_count, (long long)s.last_accessed_at, (long long)want_count,
                 (long long)want_last);
}

static void test_access_count(void **state)
{
    (void)state;
    int64_t c = NOW - 10 * DAY;
    expect_access(c, false, 0, 2, c);                    /* NULL */
    expect_access(c, false, c + 5 * DAY, 2, c);          /* NULL (value ignored) */
    expect_access(c, true, c, 2, c);                     /* equal: not later */
    expect_access(c, true, c - HOUR, 2, c - HOUR);       /* earlier: coalesce still picks it */
    expect_access(c, true, c + 1, 2, c + 1);             /* 1 us later: 0 days + 1 */
    expect_access(c, true, c + DAY / 2, 2, c + DAY / 2); /* 0.5 day */
    expect_access(c, true, c + DAY - 1, 2, c + DAY - 1); /* 1 day - 1 us */
    expect_access(c, true, c + DAY, 3, c + DAY);         /* exactly 1 day */
    int64_t d32 = 3 * DAY + DAY / 5;                     /* 3.2 days */
    expect_access(c, true, c + d32, 5, c + d32);
    expect_access(c, true, c + 40 * DAY, 42, c + 40 * DAY); /* even after now */
}

static void test_skip_reasons(void **state)
{
    (void)state;
    eg_record r = rec(NULL, NOW - HOUR);
    eg_staged s = stage(&r, KEEP_ALL);
    assert_int_equal(s.skip, EG_SKIP_NULL_CONTENT);
    assert_int_equal(s.length_chars, -1);

    r = rec("", NOW - HOUR);
    s = stage(&r, KEEP_ALL);
    assert_int_equal(s.skip, EG_SKIP_EMPTY_CONTENT);

    /* content given by length: a non-NUL-terminated empty slice is empty content */
    r = rec("ignored", NOW - HOUR);
    r.content_len = 0;
    s = stage(&r, KEEP_ALL);
    assert_int_equal(s.skip, EG_SKIP_EMPTY_CONTENT);

    r = rec("no time", 0);
    r.has_created = false;
    s = stage(&r, KEEP_ALL);
    assert_int_equal(s.skip, EG_SKIP_NULL_CREATED_AT);

    /* the window is created_at > start, strictly */
    int64_t start = T("2025-05-01T00:00:00Z");
    r = rec("at the start", start);
    s = stage(&r, start);
    assert_int_equal(s.skip, EG_SKIP_OUT_OF_WINDOW);
    r = rec("before", start - 1);
    s = stage(&r, start);
    assert_int_equal(s.skip, EG_SKIP_OUT_OF_WINDOW);
    r = rec("just after", start + 1);
    s = stage(&r, start);
    assert_int_equal(s.skip, EG_SKIP_NONE);
    assert_string_equal(s.memory_type, "fragment");
    assert_true(s.importance_score == 0.3);

    /* a very old row is kept when the window keeps everything */
    r = rec("1970", 0);
    s = stage(&r, KEEP_ALL);
    assert_int_equal(s.skip, EG_SKIP_NONE);
    r = rec("before 1970", T("1960-01-01"));
    s = stage(&r, KEEP_ALL);
    assert_int_equal(s.skip, EG_SKIP_NONE);
}

static void test_skip_names(void **state)
{
    (void)state;
    assert_string_equal(eg_skip_name(EG_SKIP_NONE), "none");
    assert_string_equal(eg_skip_name(EG_SKIP_NULL_CONTENT), "null_content");
    assert_string_equal(eg_skip_name(EG_SKIP_EMPTY_CONTENT), "empty_content");
    assert_string_equal(eg_skip_name(EG_SKIP_OUT_OF_WINDOW), "out_of_window");
    assert_string_equal(eg_skip_name(EG_SKIP_NULL_CREATED_AT), "null_created_at");
    assert_string_equal(eg_skip_name(EG_SKIP__COUNT), "unknown");
    assert_string_equal(eg_skip_name((eg_skip)-1), "unknown");
}

static unsigned issues_of(const char *content, const char *metadata)
{
    eg_record r = rec(content, NOW - HOUR);
    r.metadata = metadata;
    r.metadata_len = metadata ? strlen(metadata) : 0;
    eg_staged s = stage(&r, KEEP_ALL);
    assert_int_equal(s.skip, EG_SKIP_NONE);
    return s.issues;
}

static void test_issues(void **state)
{
    (void)state;
    assert_int_equal(issues_of("text", NULL), 0);
    assert_int_equal(issues_of("text", "{}"), 0);
    assert_int_equal(issues_of("text", "{\"a\":[1,2]}"), 0);
    /* regression (probe r9): an escaped NUL is valid JSON (PostgreSQL's json and text columns
     * hold it); it was counted as "metadata not JSON" */
    assert_int_equal(issues_of("text", "{\"a\":\"\\u0000\"}"), 0);
    assert_int_equal(issues_of("text", "{\"a\":[\"x\\u0000y\"],\"b\":\"\\u0000\"}"), 0);
    /* jansson has no object keys with a NUL in them: such metadata stays counted as invalid */
    assert_int_equal(issues_of("text", "{\"a\\u0000b\":1}"), EG_ISSUE_METADATA_INVALID);
    /* regression: an integer too big for 64 bits (a hash, an id) made the whole metadata invalid,
     * and its concepts were lost; it is read as a real now (the JSONL importer keeps such metadata
     * as written, PostgreSQL's jsonb holds it) */
    assert_int_equal(issues_of("text", "{\"hash\": 12345678901234567890, \"concepts\": [\"a\"]}"),
                     0);
    assert_int_equal(issues_of("text", "{\"a\":9223372036854775808,\"b\":9223372036854775807}"), 0);
    assert_int_equal(
        issues_of("text", "{\"a\":[-9223372036854775809,\"\\\"12345678901234567890\"]}"), 0);
    assert_int_equal(issues_of("text", "[123456789012345678901234567890]"),
                     EG_ISSUE_METADATA_NOT_OBJECT);
    /* a real too big for a double still is invalid, and so is broken JSON after a big integer */
    assert_int_equal(issues_of("text", "{\"a\":1e400}"), EG_ISSUE_METADATA_INVALID);
    assert_int_equal(issues_of("text", "{\"a\":12345678901234567890,"), EG_ISSUE_METADATA_INVALID);
    assert_int_equal(issues_of("text", "{broken"), EG_ISSUE_METADATA_INVALID);
    assert_int_equal(issues_of("text", ""), EG_ISSUE_METADATA_INVALID);
    assert_int_equal(issues_of("text", "{\"a\":1} trailing"), EG_ISSUE_METADATA_INVALID);
    assert_int_equal(issues_of("text", "[1,2]"), EG_ISSUE_METADATA_NOT_OBJECT);
    assert_int_equal(issues_of("text", "\"a string\""), EG_ISSUE_METADATA_NOT_OBJECT);
    assert_int_equal(issues_of("text", "42"), EG_ISSUE_METADATA_NOT_OBJECT);
    assert_int_equal(issues_of("text", "null"), EG_ISSUE_METADATA_NOT_OBJECT);
    /* blank content is staged (the reference only drops '') but flagged */
    assert_int_equal(issues_of("   ", NULL), EG_ISSUE_BLANK_CONTENT);
    assert_int_equal(issues_of("\t\n", NULL), EG_ISSUE_BLANK_CONTENT);
    assert_int_equal(issues_of("\xe3\x80\x80\xc2\xa0", NULL), EG_ISSUE_BLANK_CONTENT);
    assert_int_equal(issues_of(" . ", NULL), 0);
    assert_int_equal(issues_of("  ", "[]"), EG_ISSUE_BLANK_CONTENT | EG_ISSUE_METADATA_NOT_OBJECT);
    /* updated before created */
    eg_record r = rec("x", NOW - DAY);
    r.has_updated = true;
    r.updated_at = NOW - 2 * DAY;
    eg_staged s = stage(&r, KEEP_ALL);
    assert_int_equal(s.issues, EG_ISSUE_UPDATED_BEFORE_CREATED);
    r.updated_at = NOW - DAY; /* equal is fine */
    s = stage(&r, KEEP_ALL);
    assert_int_equal(s.issues, 0);
}

/* Stages with a concepts extractor; returns what was appended after a "<<" prefix. */
static void expect_concepts(const char *content, const char *metadata, const char *want)
{
    eg_concepts *c = NULL;
    assert_int_equal(eg_concepts_new(&c, "english", 32), 0);
    eg_buf out;
    eg_buf_init(&out, 0);
    assert_int_equal(eg_buf_puts(&out, "<<"), 0);
    eg_record r = rec(content, NOW - HOUR);
    r.metadata = metadata;
    r.metadata_len = metadata ? strlen(metadata) : 0;
    eg_staged s;
    assert_int_equal(eg_stage_record(&r, NOW, KEEP_ALL, c, &s, &out), 0);
    if (strcmp(out.data, want))
        fail_msg("content \"%s\" metadata %s: concepts %s, want %s", content ? content : "NULL",
                 metadata ? metadata : "NULL", out.data, want);
    eg_buf_free(&out);
    eg_concepts_free(c);
}

/* A row outside the staging window is skipped by the staging (no staging columns) but enters the
 * pipeline at its own time (docs/adr/0010): its concepts and features are computed. A row without
 * content is not, whatever its time. */
static void test_out_of_window_enters_pipeline(void **state)
{
    (void)state;
    eg_concepts *c = NULL;
    assert_int_equal(eg_concepts_new(&c, "english", 32), 0);
    eg_buf out;
    eg_buf_init(&out, 0);
    int64_t start = T("2025-05-01T00:00:00Z");
    eg_record r = rec("Urgent: fix the garden pond filter before Friday!", start - DAY);
    eg_staged s;
    memset(&s, 0xA5, sizeof s);
    assert_int_equal(eg_stage_record(&r, NOW, start, c, &s, &out), 0);
    assert_int_equal(s.skip, EG_SKIP_OUT_OF_WINDOW);
    assert_true(eg_skip_in_pipeline(s.skip));
    assert_null(s.memory_type);              /* no staging columns */
    assert_true(s.importance_score == 0);    /* (the view leaves them NULL) */
    assert_int_equal(s.last_accessed_at, 0); /* ... */
    assert_true(s.has_features);
    assert_true(s.urgency > 0.3); /* "urgent" */
    assert_string_equal(out.data, "[\"urgent\",\"fix\",\"garden\",\"pond\",\"filter\",\"friday\"]");
    /* the same row inside the window: the same concepts and features, and staged */
    eg_buf_reset(&out);
    eg_staged in;
    assert_int_equal(eg_stage_record(&r, NOW, KEEP_ALL, c, &in, &out), 0);
    assert_int_equal(in.skip, EG_SKIP_NONE);
    assert_true(in.urgency == s.urgency && in.importance == s.importance);
    assert_string_equal(in.task_type, s.task_type);
    /* no content: not in the pipeline, no concepts */
    eg_buf_reset(&out);
    r.content_len = 0;
    assert_int_equal(eg_stage_record(&r, NOW, start, c, &s, &out), 0);
    assert_int_equal(s.skip, EG_SKIP_EMPTY_CONTENT);
    assert_false(eg_skip_in_pipeline(s.skip));
    assert_false(s.has_features);
    assert_int_equal(out.len, 0);
    assert_false(eg_skip_in_pipeline(EG_SKIP_NULL_CONTENT));
    assert_false(eg_skip_in_pipeline(EG_SKIP_NULL_CREATED_AT));
    eg_buf_free(&out);
    eg_concepts_free(c);
}

static const char *const sentence =
    "The brain consolidates memories during sleep, and consolidation is slow.";
#define FROM_TEXT "<<[\"brain\",\"consolid\",\"memori\",\"sleep\",\"slow\"]"

static void test_concepts(void **state)
{
    (void)state;
    /* from the text: folded, split, stopwords dropped, stemmed, de-duplicated */
    expect_concepts(sentence, NULL, FROM_TEXT);
    /* from metadata.concepts when it is an array: as given, numbers as text */
    expect_concepts(sentence, "{\"concepts\":[\"Alpha\",\"beta\",3]}",
                    "<<[\"Alpha\",\"beta\",\"3\"]");
    expect_concepts(sentence, "{\"concepts\":[]}", "<<[]");
    /* beside an integer too big for 64 bits: the concepts are kept, and the other numbers
     * convert as they do without it (an integer as its digits, not as a real's "1e+03"); the
     * big one is read as a real */
    expect_concepts(sentence, "{\"hash\": 12345678901234567890, \"concepts\": [\"a\"]}",
                    "<<[\"a\"]");
    expect_concepts(sentence, "{\"concepts\":[1000,\"Alpha\",2.5,-7]}",
                    "<<[\"1000\",\"Alpha\",\"2.5\",\"-7\"]");
    expect_concepts(sentence,
                    "{\"hash\":12345678901234567890,\"concepts\":[1000,\"Alpha\",2.5,-7,"
                    "12345678901234567890]}",
                    "<<[\"1000\",\"Alpha\",\"2.5\",\"-7\",\"1.2345678901234567e+19\"]");
    /* otherwise from the text */
    expect_concepts(sentence, "{\"concepts\":\"Alpha\"}", FROM_TEXT);
    /* metadata tags are entities, and entities join the concepts (SPEC §6) */
    expect_concepts(sentence, "{\"tags\":[\"x\"]}",
                    "<<[\"brain\",\"consolid\",\"memori\",\"sleep\",\"slow\",\"x\"]");
    expect_concepts(sentence, "{\"tags\":[\"brain\"]}", FROM_TEXT);
    expect_concepts(sentence, "{broken", FROM_TEXT);
    expect_concepts(sentence, "[\"concepts\"]", FROM_TEXT);
    /* skipped rows append nothing */
    expect_concepts(NULL, "{\"concepts\":[\"a\"]}", "<<");
    expect_concepts("", NULL, "<<");
}

/* An entity joins the concepts unless one of them is the same string: not merely because its
 * literal ("ann") appears inside another concept's ("X\"ann": the string X"ann) or before this
 * memory's array in the buffer the concepts are appended to. */
static void test_entity_not_inside_a_concept(void **state)
{
    (void)state;
    expect_concepts("so we met Ann today", "{\"concepts\":[\"X\\\"ann\"]}",
                    "<<[\"X\\\"ann\",\"ann\"]");
    expect_concepts("so we met Ann today", "{\"concepts\":[\"x,\\\"ann\"]}",
                    "<<[\"x,\\\"ann\",\"ann\"]");
    expect_concepts("so we met Ann today", "{\"concepts\":[\"ann\"]}", "<<[\"ann\"]");
    expect_concepts("so we met Ann today", "{\"concepts\":[\"b\",\"ann\"]}", "<<[\"b\",\"ann\"]");
    eg_concepts *c = NULL;
    assert_int_equal(eg_concepts_new(&c, "english", 32), 0);
    eg_buf out;
    eg_buf_init(&out, 0);
    assert_int_equal(eg_buf_puts(&out, "[\"ann\"]"), 0);
    eg_record r = rec("so we met Ann today", NOW - HOUR);
    r.metadata = "{\"concepts\":[]}";
    r.metadata_len = strlen(r.metadata);
    eg_staged s;
    assert_int_equal(eg_stage_record(&r, NOW, KEEP_ALL, c, &s, &out), 0);
    assert_string_equal(out.data, "[\"ann\"][\"ann\"]");
    eg_buf_free(&out);
    eg_concepts_free(c);
}

/* One extractor stages memory after memory (a stager thread): each memory's entities join its own
 * concepts only, whatever the memory before it had; an entity joins an empty concepts array
 * without a comma. */
static void test_entities_per_memory(void **state)
{
    (void)state;
    static const struct {
        const char *content, *metadata, *want;
    } rows[] = {
        {sentence, "{\"tags\":[\"x\",\"#y\"]}",
         "[\"brain\",\"consolid\",\"memori\",\"sleep\",\"slow\",\"x\",\"y\"]"},
        {sentence, NULL, "[\"brain\",\"consolid\",\"memori\",\"sleep\",\"slow\"]"},
        {"so we met Maya at the cafe", "{\"concepts\":[],\"tags\":\"x\"}", "[\"x\",\"maya\"]"},
        {"ok", "{\"concepts\":[]}", "[]"},
        {"Call Bob about the Berlin trip", NULL, "[\"call\",\"bob\",\"berlin\",\"trip\"]"},
    };
    eg_concepts *c = NULL;
    assert_int_equal(eg_concepts_new(&c, "english", 32), 0);
    eg_buf out;
    eg_buf_init(&out, 0);
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            eg_record r = rec(rows[i].content, NOW - HOUR);
            r.metadata = rows[i].metadata;
            r.metadata_len = r.metadata ? strlen(r.metadata) : 0;
            eg_staged s;
            eg_buf_reset(&out);
            assert_int_equal(eg_stage_record(&r, NOW, KEEP_ALL, c, &s, &out), 0);
            if (strcmp(out.data, rows[i].want))
                fail_msg("row %zu: concepts %s, want %s", i, out.data, rows[i].want);
        }
    }
    eg_buf_free(&out);
    eg_concepts_free(c);
}

/* The feature overrides read numeric metadata fields as they do without a big integer beside
 * them: abstraction_level an integer, importance a number. */
static void test_overrides_beside_big_integer(void **state)
{
    (void)state;
    static const char *const metas[] = {
        "{\"abstraction_level\":4,\"importance\":0.25,\"urgency\":1}",
        "{\"hash\":12345678901234567890,\"abstraction_level\":4,\"importance\":0.25,"
        "\"urgency\":1}",
    };
    eg_concepts *c = NULL;
    assert_int_equal(eg_concepts_new(&c, "english", 32), 0);
    for (size_t i = 0; i < sizeof metas / sizeof *metas; i++) {
        eg_buf out;
        eg_buf_init(&out, 0);
        eg_record r = rec(sentence, NOW - HOUR);
        r.metadata = metas[i];
        r.metadata_len = strlen(metas[i]);
        eg_staged s;
        assert_int_equal(eg_stage_record(&r, NOW, KEEP_ALL, c, &s, &out), 0);
        assert_int_equal(s.issues, 0);
        assert_true(s.has_features);
        assert_int_equal(s.abstraction_level, 4);
        assert_true(s.importance == 0.25);
        assert_true(s.urgency == 1.0);
        eg_buf_free(&out);
    }
    eg_concepts_free(c);
}

static void test_no_concepts_without_extractor(void **state)
{
    (void)state;
    eg_buf out;
    eg_buf_init(&out, 0);
    assert_int_equal(eg_buf_puts(&out, "<<"), 0);
    eg_record r = rec(sentence, NOW - HOUR);
    eg_staged s;
    assert_int_equal(eg_stage_record(&r, NOW, KEEP_ALL, NULL, &s, &out), 0);
    assert_string_equal(out.data, "<<");
    eg_buf_free(&out);
}

static void test_window_start(void **state)
{
    (void)state;
    assert_true(eg_staging_window_start(NOW, 0, 0) == INT64_MIN);
    /* CURRENT_DATE - INTERVAL '1 year' */
    assert_int_equal(eg_staging_window_start(NOW, 12, 0), T("2025-05-01T00:00:00Z"));
    assert_int_equal(eg_staging_window_start(T("2024-02-29T10:00:00Z"), 12, 0),
                     T("2023-02-28T00:00:00Z"));
    assert_int_equal(eg_staging_window_start(T("2024-02-29T23:59:59.999999Z"), 48, 0),
                     T("2020-02-29T00:00:00Z"));
    assert_int_equal(eg_staging_window_start(T("2026-03-31T08:00:00Z"), 1, 0),
                     T("2026-02-28T00:00:00Z"));
    assert_int_equal(eg_staging_window_start(NOW, 6, 0), T("2025-11-01T00:00:00Z"));
    assert_int_equal(eg_staging_window_start(NOW, 0, 30), T("2026-04-01T00:00:00Z"));
    assert_int_equal(eg_staging_window_start(NOW, 0, 1), T("2026-04-30T00:00:00Z"));

    /* end to end: with the default window, a row from 2025-05-01T00:00Z is out, one a
     * microsecond later is in */
    int64_t start = eg_staging_window_start(NOW, 12, 0);
    eg_record r = rec("edge", T("2025-05-01T00:00:00Z"));
    assert_int_equal(stage(&r, start).skip, EG_SKIP_OUT_OF_WINDOW);
    r.created_at += 1;
    assert_int_equal(stage(&r, start).skip, EG_SKIP_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activation_and_importance),
        cmocka_unit_test(test_future_created_at),
        cmocka_unit_test(test_memory_type_boundaries),
        cmocka_unit_test(test_access_count),
        cmocka_unit_test(test_skip_reasons),
        cmocka_unit_test(test_skip_names),
        cmocka_unit_test(test_issues),
        cmocka_unit_test(test_concepts),
        cmocka_unit_test(test_entities_per_memory),
        cmocka_unit_test(test_entity_not_inside_a_concept),
        cmocka_unit_test(test_overrides_beside_big_integer),
        cmocka_unit_test(test_no_concepts_without_extractor),
        cmocka_unit_test(test_window_start),
        cmocka_unit_test(test_out_of_window_enters_pipeline),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
