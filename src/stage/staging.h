/*
 * staging.h — per-memory derived columns, exactly as the reference SQL of SPEC §5 derives them.
 *
 * eg_stage_record is a pure function of (record, now, window): no I/O, no allocation except the
 * concepts appended to the caller's buffer. Callers decide what to do with a skip.
 */
#ifndef EG_STAGE_STAGING_H
#define EG_STAGE_STAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "core/record.h"
#include "stage/concepts.h"

typedef enum eg_skip {
    EG_SKIP_NONE = 0,
    EG_SKIP_NULL_CONTENT,
    EG_SKIP_EMPTY_CONTENT,
    EG_SKIP_OUT_OF_WINDOW,
    EG_SKIP_NULL_CREATED_AT,
    EG_SKIP__COUNT
} eg_skip;

/* Quality issues that do not stop a row from being staged (counted, reported). */
enum {
    EG_ISSUE_METADATA_INVALID = 1 << 0,   /* metadata is not valid JSON: treated as {} */
    EG_ISSUE_METADATA_NOT_OBJECT = 1 << 1, /* valid JSON but not an object: treated as {} */
    EG_ISSUE_BLANK_CONTENT = 1 << 2,      /* content is only white space */
    EG_ISSUE_UPDATED_BEFORE_CREATED = 1 << 3,
};

typedef struct eg_staged {
    eg_skip skip;
    unsigned issues;
    double activation_strength;
    int64_t last_accessed_at;
    int64_t access_count;
    double importance_score;
    const char *memory_type; /* static string: fragment, episode, narrative, document */
    int64_t length_chars;
} eg_staged;

/* The window start: rows must have created_at > this. INT64_MIN when max age is 0/0. */
int64_t eg_staging_window_start(int64_t now, int max_age_months, int max_age_days);

/* Stages r at now. Content must be valid UTF-8 (the source checks). If concepts is not NULL and
 * the row is not skipped, the concepts JSON array is appended to concepts_out. */
int eg_stage_record(const eg_record *r, int64_t now, int64_t window_start, eg_concepts *concepts,
                    eg_staged *out, eg_buf *concepts_out);

/* Names for reports and the store ("null_content", "out_of_window", ...). */
const char *eg_skip_name(eg_skip s);

#endif
