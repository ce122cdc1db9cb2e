/*
 * staging.c — the reference model's staging columns (SPEC §5), computed per record.
 *
 * The formulas mirror the reference SQL term by term; the comments name the SQL they reproduce.
 * Time differences are exact integer microseconds; EXTRACT(DAY FROM interval) is the whole-days
 * part of a justified interval, i.e. the difference in days truncated toward zero. Metadata is
 * parsed once (jansson) for its validity, its shape and its concepts.
 */
#include "stage/staging.h"

#include "engram/error.h"
#include "stage/features.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Metadata text with ".0" after each integer too big for jansson's json_int_t (64 bits), so that
 * it parses as a real (a double, rounded) instead of failing the whole document: the JSONL
 * importer keeps such metadata as written, and PostgreSQL's jsonb holds it. Only those integers
 * change: every other number keeps its type, so a concept 1000 stays "1000" (a real would print
 * as "1e+03") and abstraction_level 3 stays an integer. Strings are copied as they are. Returns
 * 0, or EG_ENOMEM. */
static int mark_big_integers(const char *s, size_t n, eg_buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc;) {
        size_t j = i;
        if (s[i] == '"') { /* a string, to its closing quote */
            for (j = i + 1; j < n && s[j] != '"'; j++)
                j += s[j] == '\\';
            j = j < n ? j + 1 : n;
        } else if (s[i] == '-' || (s[i] >= '0' && s[i] <= '9')) { /* a number token */
            bool integer = true;
            for (j = i + 1; j < n && strchr("0123456789.eE+-", s[j]); j++)
                integer &= s[j] >= '0' && s[j] <= '9';
            char num[32];
            size_t len = j - i;
            if (integer && len < sizeof num) {
                memcpy(num, s + i, len);
                num[len] = '\0';
                errno = 0;
                (void)strtoll(num, NULL, 10);
                integer = errno == ERANGE;
            }
            if (integer) { /* too big: 20 or more digits, or out of range */
                rc = eg_buf_append(out, s + i, len);
                if (!rc)
                    rc = eg_buf_puts(out, ".0");
                i = j;
                continue;
            }
        } else {
            j = i + 1;
        }
        rc = eg_buf_append(out, s + i, j - i);
        i = j;
    }
    return rc;
}

/* Parses metadata (JSON_ALLOW_NUL: "\u0000" is valid JSON, PostgreSQL's json and text columns
 * hold it; the strings that carry it reach the concepts whole, and C-string readers (features)
 * see them cut at the NUL). An integer too big for 64 bits is read as a real
 * (mark_big_integers). NULL when the metadata is not JSON. */
static json_t *parse_metadata(const char *text, size_t len)
{
    json_error_t jerr;
    json_t *meta = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (meta || json_error_code(&jerr) != json_error_numeric_overflow)
        return meta;
    eg_buf marked;
    eg_buf_init(&marked, 2 * len + 64); /* each marked integer, 19+ digits, grows by 2 */
    if (!mark_big_integers(text, len, &marked) && marked.data)
        meta = json_loadb(marked.data, marked.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    eg_buf_free(&marked);
    return meta;
}

/* Whether the JSON array at arr->data + at (to the end of arr, which eg_buf keeps NUL-terminated)
 * has the element lit, a string literal as eg_buf_json_str writes it. A match must start an
 * element, right after '[' or ',': inside a literal every '"' follows a backslash, so that the
 * literal "ann" is not found in ["X\"ann"] (the string X"ann). */
static bool has_element(const eg_buf *arr, size_t at, const char *lit)
{
    const char *start = arr->data + at;
    for (const char *p = strstr(start, lit); p; p = strstr(p + 1, lit))
        if (p > start && (p[-1] == '[' || p[-1] == ','))
            return true;
    return false;
}

/* The cognitive features (SPEC §6); the entities they find join the concepts (the JSON array at
 * concepts->data + at), each once. */
static int add_features(const eg_record *r, const json_t *meta, eg_concepts *cx, eg_staged *out,
                        eg_buf *concepts, size_t at)
{
    eg_features f;
    eg_buf *ent = eg_concepts_scratch(cx);
    int rc = eg_features_compute(r->content, r->content_len, json_is_object(meta) ? meta : NULL, &f,
                                 ent);
    if (rc && rc != EG_ENOMEM)
        return rc;
    rc = 0;
    out->has_features = true;
    out->importance = f.importance;
    out->urgency = f.urgency;
    out->emotional_salience = f.emotional_salience;
    out->sentiment = eg_sentiment_name(f.sentiment);
    out->task_type = eg_task_type_name(f.task_type);
    out->knowledge_type = eg_knowledge_type_name(f.knowledge_type);
    out->region_hint = eg_region_name(f.region_hint);
    out->abstraction_level = f.abstraction_level;
    /* merge: each entity string literal not yet in the concepts array is appended to it */
    if (ent->len > 2 && concepts->len >= at + 2 && concepts->data[concepts->len - 1] == ']') {
        const char *p = ent->data + 1, *end = ent->data + ent->len - 1;
        while (p < end && *p == '"') {
            const char *q = p + 1;
            while (q < end && *q != '"')
                q += *q == '\\' ? 2 : 1;
            size_t n = (size_t)(q + 1 - p);
            char lit[160];
            if (n < sizeof lit) {
                memcpy(lit, p, n);
                lit[n] = '\0';
                if (!has_element(concepts, at, lit)) {
                    bool empty = concepts->data[concepts->len - 2] == '[';
                    concepts->len--; /* drop ']' */
                    if ((!empty && (rc = eg_buf_putc(concepts, ','))) ||
                        (rc = eg_buf_append(concepts, lit, n)) || (rc = eg_buf_putc(concepts, ']')))
                        return rc;
                }
            }
            p = q + 1;
            if (p < end && *p == ',')
                p++;
        }
    }
    return rc;
}

int64_t eg_staging_window_start(int64_t now, int max_age_months, int max_age_days)
{
    if (max_age_months == 0 && max_age_days == 0)
        return INT64_MIN;
    /* CURRENT_DATE - INTERVAL '1 year': midnight UTC of now's date, minus calendar months/days */
    return eg_time_midnight_shift(now, -max_age_months, -max_age_days);
}

double eg_stage_activation(int64_t now, int64_t created_at)
{
    int64_t age_us = now - created_at;
    /* LEAST(1.0, EXP(-EXTRACT(EPOCH FROM (now - created_at)) / (7*24*3600.0))) */
    double a = exp(-((double)age_us / 1e6) / (7 * 24 * 3600.0));
    return a < 1.0 ? a : 1.0;
}

double eg_stage_importance(int64_t now, int64_t created_at)
{
    /* CASE WHEN EXTRACT(DAY FROM now - created_at) < 1 THEN 0.9 ... */
    int64_t age_days = eg_time_diff_days(now, created_at);
    return age_days < 1 ? 0.9 : age_days < 7 ? 0.7 : age_days < 30 ? 0.5 : 0.3;
}

/* the staging columns of a row inside the window (SPEC §5) */
static void stage_columns(const eg_record *r, int64_t now, eg_staged *out)
{
    if (eg_utf8_blank(r->content, r->content_len))
        out->issues |= EG_ISSUE_BLANK_CONTENT;
    out->activation_strength = eg_stage_activation(now, r->created_at);
    /* COALESCE(updated_at, created_at) */
    out->last_accessed_at = r->has_updated ? r->updated_at : r->created_at;
    /* 1 + CASE WHEN updated_at > created_at THEN EXTRACT(DAY FROM updated_at - created_at) + 1
     *          ELSE 1 END */
    out->access_count = 1 + ((r->has_updated && r->updated_at > r->created_at)
                                 ? eg_time_diff_days(r->updated_at, r->created_at) + 1
                                 : 1);
    out->importance_score = eg_stage_importance(now, r->created_at);
    /* CASE WHEN LENGTH(content) < 50 THEN 'fragment' ... */
    int64_t n = out->length_chars;
    out->memory_type = n < 50    ? "fragment"
                       : n < 200 ? "episode"
                       : n < 500 ? "narrative"
                                 : "document";
}

int eg_stage_record(const eg_record *r, int64_t now, int64_t window_start, eg_concepts *concepts,
                    eg_staged *out, eg_buf *concepts_out)
{
    out->skip = EG_SKIP_NONE;
    out->issues = 0;
    out->length_chars = -1;
    out->memory_type = NULL;
    out->activation_strength = out->importance_score = 0;
    out->last_accessed_at = out->access_count = 0;
    out->has_features = false;

    if (r->content)
        out->length_chars = (int64_t)eg_utf8_length(r->content, r->content_len);
    if (r->has_created && r->has_updated && r->updated_at < r->created_at)
        out->issues |= EG_ISSUE_UPDATED_BEFORE_CREATED;

    /* metadata: invalid JSON or a non-object is treated as {} and counted */
    json_t *meta = NULL;
    if (r->metadata) {
        meta = parse_metadata(r->metadata, r->metadata_len);
        if (!meta)
            out->issues |= EG_ISSUE_METADATA_INVALID;
        else if (!json_is_object(meta))
            out->issues |= EG_ISSUE_METADATA_NOT_OBJECT;
    }

    /* WHERE content IS NOT NULL AND content != '' AND created_at > CURRENT_DATE - INTERVAL ... */
    if (!r->content)
        out->skip = EG_SKIP_NULL_CONTENT;
    else if (r->content_len == 0)
        out->skip = EG_SKIP_EMPTY_CONTENT;
    else if (!r->has_created)
        out->skip = EG_SKIP_NULL_CREATED_AT;
    else if (r->created_at <= window_start)
        out->skip = EG_SKIP_OUT_OF_WINDOW;
    if (!eg_skip_in_pipeline(out->skip)) {
        json_decref(meta);
        return 0;
    }
    if (!out->skip)
        stage_columns(r, now, out);

    int rc = 0;
    if (concepts && concepts_out) {
        size_t at = concepts_out->len; /* where this memory's array starts */
        int got = json_is_object(meta) ? eg_concepts_from_json(concepts, meta, concepts_out) : 0;
        if (got < 0)
            rc = got;
        else if (got == 0)
            rc = eg_concepts_from_text(concepts, r->content, r->content_len, concepts_out);
        if (!rc)
            rc = add_features(r, meta, concepts, out, concepts_out, at);
    }
    json_decref(meta);
    return rc;
}
