/*
 * engine.h — the biological pipeline as an event-time simulation (SPEC §2, §7).
 *
 * The model holds every staged memory in arrays (struct-of-structs, indexes not pointers), the
 * memory–memory and concept–concept association graphs, episodes, long-term records and the
 * journey of every memory. eg_engine_run replays event time from the first presentation to `now`:
 * working-memory ticks (§7.1), encoding into short-term episodes (§7.2), replay with Hebbian
 * learning and forgetting (§7.3), REM (§7.5) and homeostasis (§7.5) at their times; then the
 * long-term network (§7.4) is computed at `now`. Same inputs, same outputs: there is no unseeded
 * randomness and every order is defined (time, then id).
 *
 * The model (core/model.h) holds the data; this engine does no I/O: store/pipeline.c loads its
 * inputs and saves its outputs.
 */
#ifndef EG_STAGE_ENGINE_H
#define EG_STAGE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/model.h"
#include "engram/config.h"

/* How long after the last attention tick or replay pass the network rests: REM and homeostasis
 * are not scheduled beyond it until the next tick (six weeks of event time, in µs). */
#define EG_ENGINE_REST (INT64_C(42) * 86400 * 1000000)

/* Runs the simulation up to now with the parameters of cfg: eg_engine_advance, then
 * eg_engine_finish. */
int eg_engine_run(eg_model *md, const eg_config *cfg, int64_t now);
/* Advances event time to now: every event at or before now is processed, and the loop's state
 * is kept in md->eng, so a later call goes on from there. Memories and presentations added in
 * between must come after the last event (appended in order, later times). */
int eg_engine_advance(eg_model *md, const eg_config *cfg, int64_t now);
/* The outputs at now: a journey line for every memory still on its way, and the long-term
 * network (long-term records, md->comm_now); the simulation's own state (md->eng, md->comm)
 * is left as it was. Call it once, after the last advance: the journey lines it appends say
 * where things stand at now and are not events of the simulation. */
int eg_engine_finish(eg_model *md, const eg_config *cfg, int64_t now);

/* ---- shared by the stage modules (engine.c, working_memory.c, short_term.c, ...) ---- */
int eg__graph_touch(eg_graph *g, uint32_t a, uint32_t b, double ai, double aj, double eta,
                    double lambda_per_day, int64_t at);
/* Hebbian co-activation of memories i and j (and their concepts). */
int eg__coactivate(eg_model *md, const eg_config *cfg, uint32_t i, uint32_t j, double ai, double aj,
                   int64_t at);

/* stage entry points, called by the event loop in engine.c */
typedef struct eg_wm eg_wm;
int eg__wm_tick(eg_model *md, const eg_config *cfg, int64_t T, const uint32_t *cand, size_t ncand,
                uint32_t *held, size_t *nheld, uint32_t *left, size_t *nleft);
int eg__stm_encode(eg_model *md, const eg_config *cfg, uint32_t mem, int64_t T);
int eg__consolidate(eg_model *md, const eg_config *cfg, int64_t T);
int eg__homeostasis(eg_model *md, const eg_config *cfg, int64_t T);
int eg__rem(eg_model *md, const eg_config *cfg, int64_t T);
/* The concept communities at time `at` (md->comm), over the memories presented by then. */
int eg__communities(eg_model *md, int64_t at);
/* A concept too general to shape communities (in more than 5 % of the memories presented when
 * the communities were computed). */
bool eg__is_hub(const eg_model *md, uint32_t c);
/* A memory's semantic category: the community most of its concepts belong to. */
uint32_t eg__category_of(const eg_model *md, uint32_t mem);
/* the same in another set of communities */
uint32_t eg__category_in(const eg_model *md, const eg_communities *cm, uint32_t mem);
int eg__long_term(eg_model *md, const eg_config *cfg, int64_t now);
double eg__retrieval_strength(const eg_model *md, uint32_t mem, int rank, int64_t at);

#endif
