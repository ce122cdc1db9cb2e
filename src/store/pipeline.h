/*
 * pipeline.h — loading the engine's inputs from the store and saving its outputs (see
 * pipeline.c). Both run inside the caller's transaction.
 */
#ifndef EG_STORE_PIPELINE_H
#define EG_STORE_PIPELINE_H

#include "core/model.h"
#include "store/store.h"
#include "store/tablesync.h"

/* Adds every staged memory created up to now (with features, concepts, update and recall
 * presentations) to md, in the canonical order of core/model.h (first presentation, then id),
 * so that results do not depend on the order rows were inserted in. */
int eg_store_load_model(eg_store *st, eg_model *md, int64_t now);
/* What a simulation saved as a snapshot at time `at` depends on in the store: the count of
 * changes to the memory columns the pipeline reads (a trigger keeps it, migration 5: an update
 * or a delete of a memory counts), the last memory rowid (a memory inserted later has a greater
 * one) and the number of recalls up to `at`. Equal changes and recalls later, and no staged
 * memory presented up to `at` among those inserted after the last rowid
 * (eg_store_inputs_added), mean the inputs up to `at` are the same. Each is an index lookup,
 * not a count of the memories (a count at 1M was 50 ms, twice a run). */
typedef struct eg_store_inputs_state {
    int64_t changes, last_rowid, recalls;
} eg_store_inputs_state;
int eg_store_inputs(eg_store *st, int64_t at, eg_store_inputs_state *out);
/* *n = the staged memories inserted after rowid `after` that are presented at or before `at`
 * (created then, and not arrived late after it): those the simulation up to `at` missed. */
int eg_store_inputs_added(eg_store *st, int64_t after, int64_t at, int64_t *n);

/* Adds to md, a model of the memories up to `since`, what the store has in (since, now]: the
 * staged memories created then (appended in the canonical order), the updates of md's memories
 * and the recalls. EG_EBADINPUT when a new memory was presented at or before since (a late
 * arrival: the simulation must be recomputed). */
int eg_store_load_since(eg_store *st, eg_model *md, int64_t since, int64_t now);

/* What a resumed model is known to share with the stored outputs: it was resumed from the
 * snapshot of the run that saved at `at`, and its memories [0..nbase) and episodes
 * [0..nep_base) were then as that snapshot had them (the state the stored rows were made
 * from). Each is kept as a 64-bit digest of its bytes (XXH3; a copy of the 1M memories took
 * 0.2 s and 190 MB), and each memory's status. */
typedef struct eg_save_since {
    int64_t at;
    /* the memories then: compared with the snapshot file's bytes (mem_by_file: the model was
     * read mapped from it, eg_snapshot_mems_moved), or else by a digest of each and its status
     * (both also kept in the tests' build, which checks one way against the other) */
    bool mem_by_file;
    uint64_t *mem_digest; /* [nbase] */
    uint8_t *mem_status;  /* [nbase] */
    size_t nbase;
    size_t nconcepts_base; /* concepts then */
    uint64_t *ep_digest;   /* [nep_base] */
    size_t nep_base;
    size_t ncr_base;            /* creative associations then (REM only appends) */
    int64_t homeostasis_phases; /* as many as the snapshot had run */
} eg_save_since;

/* Fills *s with md's state as resumed from the snapshot of the run that saved at `at` (before
 * anything is added to it); eg_save_since_free releases it. */
int eg_save_since_init(eg_save_since *s, const eg_model *md, int64_t at);
void eg_save_since_free(eg_save_since *s);

/* Replaces the pipeline's outputs with md's, writing only the rows that differ from the stored
 * ones, and records now as the checkpoint. since (NULL: compare everything): the memory
 * associations untouched since since->at, the journeys without a line since (of memories whose
 * status is final), the presentations up to it and the pipeline rows of the memories whose
 * state equals their base are known to be stored as they are and are not compared. *stats says
 * how many rows were written. */
int eg_store_save_model(eg_store *st, const eg_model *md, int64_t now, const eg_save_since *since,
                        eg_sync_stats *stats);
/* The last run's now, if any. */
int eg_store_checkpoint(eg_store *st, int64_t *at, bool *found);
/* An integer of the pipeline's state (sim_state): "checkpoint", "snapshot" (the run whose
 * snapshot fits the store), "inputs". */
int eg_store_sim_get(eg_store *st, const char *key, int64_t *value, bool *found);
int eg_store_sim_set(eg_store *st, const char *key, int64_t value);

#endif
