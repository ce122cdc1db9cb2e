/*
 * engram/recall.h — recall and trace (SPEC §8, §9): "what do I remember about X?" ranked by
 * lexical match, spreading activation over the learned concept and association graphs, and
 * ACT-R base-level activation; and the journey of one memory through the pipeline.
 *
 * A recaller holds a store's prepared queries, a concept extractor and scratch space, so many
 * queries in one process cost no set-up each (engram recall --queries). It borrows the store and
 * the configuration, which must outlive it; it is used by one thread at a time. The scoring is
 * described in docs/stages/recall.md.
 */
#ifndef ENGRAM_RECALL_H
#define ENGRAM_RECALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engram/config.h"
#include "engram/engram.h"
#include "engram/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eg_recaller eg_recaller;

/* Prepares recall over st with cfg's recall.* parameters and staging language. The caller closes
 * it with eg_recaller_close (NULL is fine). */
int eg_recaller_open(eg_recaller **out, eg_store *st, const eg_config *cfg);
void eg_recaller_close(eg_recaller *r);

typedef struct eg_recall_opts {
    int64_t at;    /* the clock of the recall, µs since 1970 UTC */
    int k;         /* how many results, 1..1000 */
    bool rehearse; /* record each result as a presentation ('recalled') at `at` */
} eg_recall_opts;

typedef struct eg_recall_hit {
    const char *memory_id; /* the source id */
    const char *content;
    const char *status; /* pipeline status (consolidated, forgotten, ...) or "staged" */
    int64_t created_at;
    double score;   /* A = α·lexical + β·spread + γ·base_level */
    double lexical; /* −bm25 divided by the best candidate's, in [0, 1] */
    double spread;  /* spread_concepts + spread_hebbian + spread_assoc */
    double spread_concepts, spread_hebbian, spread_assoc;
    double base_level; /* B_i(at) */
    double p_recall;   /* 1 / (1 + exp(−(A − τ)/s)) */
    int presentations; /* presentations at or before `at` that B_i counts */
} eg_recall_hit;

typedef struct eg_recall_result {
    int64_t at;
    eg_recall_hit *hits; /* best first: score descending, then memory id ascending */
    size_t n;
    size_t candidates; /* memories scored (lexical + concept + association reached) */
    size_t lexical_candidates, concept_candidates, assoc_candidates;
    int query_concepts, known_concepts; /* concepts of the query; of them found in the store */
    char *fts_query;                    /* the FTS5 MATCH expression used ("" if none) */
    char *text_;                        /* private: the strings hits point into */
} eg_recall_result;

/* Answers query at o->at. An empty (or blank) query is EG_EUSAGE. Only memories staged, not
 * deleted at the source and created at or before o->at are returned; forgotten ones included.
 * With o->rehearse the results are recorded as presentations in one store transaction. The
 * caller frees res with eg_recall_result_free (also after a failure). */
int eg_recall(eg_recaller *r, const char *query, const eg_recall_opts *o, eg_recall_result *res);
void eg_recall_result_free(eg_recall_result *res);

/* res as the JSON object of `engram recall --json` (SPEC §8), a string the caller frees. NULL
 * when out of memory. */
char *eg_recall_result_json(const eg_recall_result *res, const char *query);

/* The journey of memory `id` at now (SPEC §9) as a JSON object text the caller frees:
 * {"memory_id", "at", "steps": [{"step", "line", ...facts}], "journey": [...], "diagnosis"}.
 * An id the store has never seen is EG_ENOTFOUND. */
int eg_trace(eg_store *st, const eg_config *cfg, const char *id, int64_t now, char **json_out);

#ifdef __cplusplus
}
#endif
#endif
