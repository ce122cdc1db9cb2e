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
/* Replaces the pipeline's outputs with md's, writing only the rows that differ from the stored
 * ones, and records now as the checkpoint. *stats says how many rows were written. */
int eg_store_save_model(eg_store *st, const eg_model *md, int64_t now, eg_sync_stats *stats);
/* The last run's now, if any. */
int eg_store_checkpoint(eg_store *st, int64_t *at, bool *found);

#endif
