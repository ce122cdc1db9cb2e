/*
 * record.h — one source row as every source delivers it, and a batch of them.
 *
 * A record borrows its strings: they live in the batch's arena (or the source's buffers) and are
 * valid until the batch is reset. Timestamps are microseconds since the Unix epoch, UTC.
 * Nothing here allocates per record; a batch grows its arrays and string arena geometrically and
 * is reset, not freed, between batches (STYLE.md rule 5). The staging result type lives here too,
 * since both the stages and the store speak it.
 */
#ifndef EG_CORE_RECORD_H
#define EG_CORE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct eg_record {
    const char *id; /* source primary key as text; never NULL in a delivered record */
    size_t id_len;
    const char *content; /* NULL when the source value is NULL */
    size_t content_len;
    int64_t created_at;
    bool has_created;
    int64_t updated_at;
    bool has_updated;
    const char *metadata; /* raw metadata text (JSON expected); NULL when NULL */
    size_t metadata_len;
    int64_t row_ref; /* where it came from: line number of an import file, else 0 */
} eg_record;

typedef struct eg_batch {
    eg_record *rows;
    size_t n, cap;
    char *arena; /* strings of the rows, appended back to back */
    size_t arena_len, arena_cap;
} eg_batch;

/* ---- what staging derives from a record (stage/staging.c computes it, the store keeps it) ---- */

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
    EG_ISSUE_METADATA_INVALID = 1 << 0,    /* metadata is not valid JSON: treated as {} */
    EG_ISSUE_METADATA_NOT_OBJECT = 1 << 1, /* valid JSON but not an object: treated as {} */
    EG_ISSUE_BLANK_CONTENT = 1 << 2,       /* content is only white space */
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
    /* cognitive features (SPEC §6), when has_features; names are static strings */
    bool has_features;
    double importance, urgency, emotional_salience;
    const char *sentiment, *task_type, *knowledge_type, *region_hint;
    int abstraction_level;
} eg_staged;

/* Names for reports and the store ("null_content", "out_of_window", ...). */
const char *eg_skip_name(eg_skip s);
/* Whether a row with this staging outcome enters the biological pipeline: every row with content
 * and a creation time, at its own time. The staging window (SPEC §5) decides what the staging
 * table shows at now, not what the pipeline has lived through (docs/adr/0010). */
static inline bool eg_skip_in_pipeline(eg_skip s)
{
    return s == EG_SKIP_NONE || s == EG_SKIP_OUT_OF_WINDOW;
}

void eg_batch_init(eg_batch *b);
void eg_batch_reset(eg_batch *b);
void eg_batch_free(eg_batch *b);
/* Appends a record whose strings are copied into the batch arena. Returns 0 or EG_ENOMEM. */
int eg_batch_add(eg_batch *b, const eg_record *r);

/* The reason every source quarantines a row for bytes that are not UTF-8 (EG_RECORD_BAD_UTF8),
 * and the field it names: "id", "content" or "metadata", the first that is not valid UTF-8, or
 * NULL when all are (NULL strings are valid). One rule for the SQLite and PostgreSQL sources, so
 * that the quarantine, its counts and `engram trace` read the same whichever held the row. */
#define EG_RECORD_BAD_UTF8 "invalid UTF-8"
const char *eg_record_invalid_utf8(const eg_record *r);

#endif
