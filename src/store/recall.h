/*
 * recall.h — the store's side of recall and trace (SPEC §8, §9): full-text candidates (FTS5
 * BM25), concept and association lookups, presentations, recording a recall as a presentation,
 * and the facts a trace shows.
 *
 * An eg_recall_q holds the prepared statements of one store for many queries (eg_recall_q_open
 * prepares, eg_recall_q_close finalizes; NULL is fine). Lookups report rows through callbacks:
 * a callback returns 0 to go on, a positive value to stop early (not an error), or a negative
 * EG_E* code, which the lookup returns. Text handed to a callback is valid only during the call.
 * Nothing here ranks: pipeline/recall.c does.
 */
#ifndef EG_STORE_RECALL_H
#define EG_STORE_RECALL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "store/store.h"

typedef struct eg_recall_q eg_recall_q;

int eg_recall_q_open(eg_recall_q **out, eg_store *st);
void eg_recall_q_close(eg_recall_q *q);

/* Opens (on true) or ends (on false) one read transaction around the lookups of a recall: one
 * consistent snapshot, and one lock instead of one per statement. Inside a transaction of the
 * caller's it does nothing; ending one it did not open is fine. */
int eg_recall_q_snapshot(eg_recall_q *q, bool on);

/* FTS5 matches of match (an FTS5 query the caller made safe) among memories with a rowid above
 * min_rowid and at most max_rowid, the newest first, at most limit rows: fn(ud, rowid, score)
 * with score = −bm25 (larger is better; the caller ranks by it). hits[0, nhits) are the numbers
 * of rows that hold each phrase of match, in its order (eg_recall_q_doc_freq; -1 where not known:
 * such a phrase is counted through the index, as FTS5's bm25() counts every phrase); nhits 0:
 * all counted. */
int eg_recall_q_lexical(eg_recall_q *q, const char *match, const int64_t *hits, int nhits,
                        int64_t min_rowid, int64_t max_rowid, int limit,
                        int (*fn)(void *ud, int64_t rowid, double score), void *ud);
/* In how many rows the full-text index holds term (one term as the index's tokenizer cuts it,
 * folded as the index folds content, store/fts.h), 0 when none: one lookup in fts_term. */
int eg_recall_q_doc_freq(eg_recall_q *q, const char *term, int64_t *docs);
/* The highest rowid of a memory created at or before `at` (0 when there is none): every memory a
 * recall at `at` may return has a rowid at most that. */
int eg_recall_q_max_rowid(eg_recall_q *q, int64_t at, int64_t *rowid);

/* One memory, by rowid. found false when there is no such row. id, pipeline_status and
 * concept_ids (NULL when the pipeline has not seen it) are valid until the next call of
 * eg_recall_q_memory. */
typedef struct eg_recall_row {
    bool found;
    bool recallable; /* status 'staged' and not deleted at the source */
    const char *id;
    int64_t created_at;
    bool has_updated;
    int64_t updated_at;
    const char *pipeline_status;
    const char *concept_ids; /* the pipeline's concept_ids text (eg_concept_ids_next), or NULL */
} eg_recall_row;
int eg_recall_q_memory(eg_recall_q *q, int64_t rowid, eg_recall_row *out);

/* The content of a memory appended to out (nothing for NULL content). */
int eg_recall_q_content(eg_recall_q *q, int64_t rowid, eg_buf *out);

/* A concept by name: found, its id and how many memories have it. */
int eg_recall_q_concept(eg_recall_q *q, const char *name, int64_t *concept_id, int64_t *memories,
                        bool *found);
/* Neighbours of a concept in the concept graph: fn(ud, other concept id, edge weight, memories
 * of the other concept). */
int eg_recall_q_concept_edges(eg_recall_q *q, int64_t concept_id,
                              int (*fn)(void *ud, int64_t other, double weight, int64_t memories),
                              void *ud);
/* Memories with a concept, newest rowid first, none above max_rowid, at most limit: fn(ud,
 * rowid). */
int eg_recall_q_concept_memories(eg_recall_q *q, int64_t concept_id, int64_t max_rowid, int limit,
                                 int (*fn)(void *ud, int64_t rowid), void *ud);
/* Learned memory–memory associations of a memory: fn(ud, other rowid, weight). */
int eg_recall_q_assoc(eg_recall_q *q, int64_t rowid,
                      int (*fn)(void *ud, int64_t other, double weight), void *ud);
/* Presentations of a memory at or before at: fn(ud, time, kind). */
int eg_recall_q_presentations(eg_recall_q *q, int64_t rowid, int64_t at,
                              int (*fn)(void *ud, int64_t t, const char *kind), void *ud);

/* Records a recall of each memory at at (INSERT OR IGNORE into presentation, kind 'recalled'),
 * in one transaction of its own. */
int eg_store_recall_rehearse(eg_store *st, const int64_t *rowids, size_t n, int64_t at);

/* The facts a trace shows about the memory with source id `id`, as a new JSON object (the caller
 * json_decref's it): "memory" (the memory row's columns, or null), "source" (the embedded source
 * row: length and created_at, or null), "quarantine" (the first quarantine entry for this id, or
 * null; an imported JSONL line is found by the "id" of its raw JSON, an integer by its text),
 * "pipeline" (the pipeline row, or null), "journey" (array of {seq, at, stage, event, detail}),
 * "episode", "ltm" (rows or null), "presentations" (array of {at, kind}, time order),
 * "checkpoint" (the last run's now, or null). Times are integers (µs). */
int eg_store_trace_facts(eg_store *st, const char *id, json_t **out);
/* s[0, n) as a new JSON string. jansson refuses text that is not UTF-8, which an id given to
 * trace or a quarantined row's reference may be (a SQLite source's bytes, rejected at ingest as
 * invalid): such text gets U+FFFD in place of each bad sequence (eg_utf8_scrub). NULL only
 * when out of memory. */
json_t *eg_store_json_text(const char *s, size_t n);

#endif
