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

/* The window start: rows must have created_at > this. INT64_MIN when max age is 0/0. */
int64_t eg_staging_window_start(int64_t now, int max_age_months, int max_age_days);

/* The two staging columns that depend on now (and created_at) alone: activation_strength and
 * importance_score. eg_stage_record uses them; the store does not keep them but computes them
 * when read, in its `staging` view, with the same expressions (docs/adr/0009). */
double eg_stage_activation(int64_t now, int64_t created_at);
double eg_stage_importance(int64_t now, int64_t created_at);

/* Stages r at now. Content must be valid UTF-8 (the source checks). If concepts is not NULL and
 * the row enters the pipeline (eg_skip_in_pipeline: staged, or outside the window), the concepts
 * JSON array is appended to concepts_out and the features are set; the staging columns are set
 * for a staged row only. */
int eg_stage_record(const eg_record *r, int64_t now, int64_t window_start, eg_concepts *concepts,
                    eg_staged *out, eg_buf *concepts_out);

#endif
