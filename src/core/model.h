/*
 * model.h — the data the biological pipeline works on: every staged memory in an array (indexes,
 * not pointers), the memory–memory and concept–concept graphs, episodes, journeys, long-term
 * records and creative associations (SPEC §3, §7).
 *
 * The stages (stage/engine.c and its modules) compute it; the store (store/pipeline.c) fills its
 * inputs and saves its outputs. The model owns all its memory: eg_model_free releases it.
 * This module only keeps the books (adding memories and concepts, journeys, edges); what the
 * numbers mean is the stages' business.
 */
#ifndef EG_CORE_MODEL_H
#define EG_CORE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/pairmap.h"

typedef enum eg_mstatus {
    EG_MS_STAGED = 0, /* not yet attended (or never presented in the simulated span) */
    EG_MS_UNATTENDED, /* presented, never selected by working memory */
    EG_MS_IN_WM,
    EG_MS_IN_STM,
    EG_MS_CONSOLIDATED,
    EG_MS_FORGOTTEN,
} eg_mstatus;

const char *eg_mstatus_name(eg_mstatus s);

/* One memory: inputs first (loaded), then what the stages derive. */
typedef struct eg_mem {
    int64_t rowid;
    uint32_t id_off; /* id text in model->text */
    int64_t t0;      /* first presentation: created_at (or arrival, for a late memory) */
    uint32_t c_off;  /* concepts: model->mc[c_off .. c_off + c_n) */
    uint16_t c_n;
    float importance, urgency, emotional;
    int8_t sentiment; /* 1 positive, 0 neutral, -1 negative */
    uint8_t task_type, knowledge_type, region, abstraction;
    bool late;
    int32_t recalls; /* recall presentations up to now */

    /* working memory */
    uint8_t status;
    int32_t wm_ticks;
    int16_t best_slot;
    float priority; /* in the latest tick it was a candidate in */
    float best_priority;
    int32_t best_rank, best_of; /* best rank when not selected, of how many */
    int64_t wm_entered_at, wm_left_at, last_presented;
    bool held;

    /* short-term memory */
    int32_t episode;
    int64_t encoded_at, ready_at;
    float p_encode, stm_strength, cons_priority;
    int32_t hebbian_potential;

    /* consolidation */
    int16_t replays;
    float pre, strength, consolidated_strength;
    int64_t consolidated_at, forgotten_at;
    int32_t associates; /* at the deciding replay */

    /* long-term */
    float damping; /* homeostasis: 0.9 per weekly pass while retrieval strength > 0.8 */
} eg_mem;

/* Memory a model holds but does not own: the pages of the snapshot it was read from, mapped
 * copy-on-write (core/snapshot.c). An array in it is never freed or reallocated: it lies in a
 * part of the mapping with room to grow (its capacity says how much), growing it past that room
 * copies it out to its own allocation, and eg_model_free unmaps the whole mapping at once. A
 * model that was not read from a snapshot has an empty span. */
typedef struct eg_span {
    uintptr_t lo, hi;
} eg_span;

static inline bool eg__in_span(eg_span s, const void *p)
{
    return (uintptr_t)p >= s.lo && (uintptr_t)p < s.hi;
}

typedef struct eg_edge {
    uint32_t a, b; /* node indexes, a < b */
    float w;
    uint32_t coact : 31; /* co-activations (24 bytes an edge: 9.3M of them at 1M memories) */
    uint32_t dead : 1;   /* pruned by homeostasis */
    int64_t last_at;
} eg_edge;

/* An undirected weighted graph over n nodes with adjacency lists. */
typedef struct eg_graph {
    eg_edge *e;
    size_t n, cap;
    eg_pairmap map;
    bool no_map;    /* map not built: an edge is found by its ends' adjacency lists (a model read
                     * from a snapshot: 9.3M pairs at 1M memories cost 0.2-0.4 s and 201 MB to
                     * index, for the few thousand lookups of a day's events) */
    uint32_t **adj; /* adj[node] = edge indexes */
    uint32_t *adj_n, *adj_cap;
    size_t nodes;
    /* the lists as a snapshot gave them, in one block: a list in it has adj_cap 0 (it is not
     * its own allocation) until it grows out of it */
    uint32_t *adj_slab;
    eg_span snap; /* the snapshot mapping e and adj_slab may lie in (eg_model.snap) */
    /* While dirty_on: the edges first touched or made after dirty_since (their last_at was at or
     * before it), in the order touched, so that a resumed run's save finds the memory edges it
     * writes without looking through all of them (9.3M at 1M memories: 30 ms). Not in the
     * snapshot; off (and empty) for a model that did not go on from one. Turned off for good
     * when the list cannot grow (the save then looks through every edge). */
    bool dirty_on;
    int64_t dirty_since;
    uint32_t *dirty;
    size_t ndirty, dirty_cap;
} eg_graph;

typedef struct eg_presentation {
    int64_t at;
    uint32_t mem;
    uint8_t kind; /* EG_PRES_* */
} eg_presentation;

enum { EG_PRES_CREATED = 0, EG_PRES_UPDATED, EG_PRES_RECALLED, EG_PRES_REPLAYED };
const char *eg_presentation_name(int kind);

typedef struct eg_episode {
    int64_t started_at, ended_at, last_encoded_at;
    int32_t size, tasks, actions;
    uint32_t goal_concept; /* most salient concept, UINT32_MAX if none */
    uint32_t *concepts;    /* union of the items' concepts (sorted), capped */
    uint32_t nconcepts;
    uint32_t capconcepts; /* 0 for a list read from a snapshot (in its mapping, not owned) */
    uint32_t first_mem;   /* the most salient item so far (it names the goal) */
    uint32_t opener;      /* the memory that opened it: its rowid is the episode's stored id */
} eg_episode;

/* What a journey line is: its stage and event, and the printf format its detail is made with
 * (static strings, as eg__journey's callers pass them). */
typedef struct eg_journey_kind {
    const char *stage, *event, *fmt;
} eg_journey_kind;
#define EG_JOURNEY_KINDS 32

/* A journey line holds its detail's arguments, not its text: at 1M memories the texts took
 * 283 MB, the arguments about 110 (eg_journey_detail formats them, for the save). */
typedef struct eg_journey {
    uint32_t mem;
    uint16_t kind; /* into model->jkinds */
    int64_t at;
    uint32_t detail_off; /* the detail's arguments, packed, in model->details */
} eg_journey;

/* A long-term record: what does not move with now. Its column rank, retrieval strength and
 * memory age are computed when read, at the last run's now (the store's `ltm` view,
 * docs/adr/0012): they move for nearly every record every day. */
#define EG_NO_LTM (UINT32_MAX - 1) /* eg_model.ltm_cat of a memory without a record */
typedef struct eg_ltm {
    uint32_t mem;
    uint32_t category; /* concept index of the community label, UINT32_MAX if none */
    uint8_t knowledge_type, region;
    int abstraction;
    int minicolumn, macrocolumn;
    const char *state;
    bool category_moved; /* other than the last save's (always, without ltm_cat_prev) */
} eg_ltm;

typedef struct eg_creative {
    uint32_t a, b; /* memory indexes */
    int64_t at;
    uint32_t bridge; /* concept index */
    uint32_t x, y;   /* the concepts of a and b the bridge joins */
    double novelty, plausibility, strength;
} eg_creative;

/* Concept communities as computed at one time: the community label (a concept index) and the
 * hub flag of each concept that existed then (n of them). A concept first seen later is its own
 * community and no hub, as it would have been then (it had no edges and no memories). */
typedef struct eg_communities {
    uint32_t *label;
    uint8_t *hub;
    size_t n;
} eg_communities;

/* Where the event loop stands (stage/engine.c). It lives in the model, not in the loop, so
 * that a simulation can be advanced to one time and later on to another. */
typedef struct eg_engine_state {
    bool started;
    int64_t last;                   /* the time of the last event processed */
    int64_t t_cons, t_rem, t_homeo; /* the next replay, REM and homeostasis (INT64_MAX: none) */
    /* the last attention tick or replay pass: REM and homeostasis rest from EG_ENGINE_REST after
     * it until the next tick (engine.c) */
    int64_t active;
    uint32_t *held; /* the items working memory holds after the last tick */
    size_t nheld, capheld;
    size_t lo, hi;   /* the presentations in the attention window: pres[lo .. hi) */
    uint32_t tickno; /* attention ticks so far */
    /* the posting lists are in time order for the memories below this index (the last
     * advance sorted them; memories added since are at their ends) */
    size_t sorted;
} eg_engine_state;

struct eg_model;

/* Observers for tests and tracing: called as the simulation runs (all optional). */
typedef struct eg_engine_hooks {
    void *ud;
    void (*tick)(void *ud, int64_t T, const uint32_t *held, size_t n);
    void (*replay)(void *ud, int64_t T, uint32_t mem, const uint32_t *assoc, int n);
    void (*homeostasis)(void *ud, int64_t T, const struct eg_model *md);
} eg_engine_hooks;

typedef struct eg_model {
    const eg_engine_hooks *hooks;
    eg_mem *m;
    size_t n, cap;
    eg_buf text;  /* ids and concept names */
    uint32_t *mc; /* concept indexes of memories */
    size_t nmc, capmc;
    uint32_t *concept_name; /* concept index -> offset in text */
    size_t nconcepts, capconcepts;
    /* concept -> memory indexes, in the order memories were added. A list read from a snapshot
     * lies in its mapping and has post_cap 0 (it is not its own allocation) until it grows. */
    uint32_t **postings;
    uint32_t *post_n, *post_cap;
    uint32_t *intern; /* concept name hash table: concept index + 1, 0 empty */
    size_t intern_cap;

    eg_presentation *pres; /* inputs (created, updated, recalled); replays are appended */
    size_t npres, cappres;

    eg_graph assoc;    /* memory – memory */
    eg_graph concepts; /* concept – concept */
    eg_episode *ep;
    size_t nep, capep;
    eg_journey *jr;
    size_t njr, capjr;
    /* A model resumed from a snapshot holds only the journey lines made since: jr_base[i] is
     * the number of lines memory i had before them (NULL: jr holds every line; memories past
     * njr_base had none). The engine never reads old lines, only the save numbers new ones. */
    uint32_t *jr_base;
    size_t njr_base;
    eg_buf details; /* the journey lines' packed arguments */
    eg_journey_kind jkinds[EG_JOURNEY_KINDS];
    size_t njkinds;
    eg_ltm *ltm;
    size_t nltm;
    eg_creative *cr;
    size_t ncr, capcr;
    eg_communities comm;     /* the simulation's: REM samples by them (stage/long_term.c) */
    eg_communities comm_now; /* at the end of the run, for the long-term network */
    /* each memory's long-term category at the end of the run (EG_NO_LTM: no record), and,
     * when resumed, the communities and categories of the last save (from its snapshot; else
     * empty): eg__long_term takes a record's category over when the communities are the same,
     * and tells the records whose category moved */
    uint32_t *ltm_cat, *ltm_cat_prev;
    size_t nltm_cat, nltm_cat_prev;
    eg_communities comm_prev;
    bool comm_same; /* comm_now is comm_prev: no concept's community moved since the last save */
    uint32_t *stm;  /* memories now in short-term memory, in encoding order */
    size_t nstm, capstm;
    uint32_t *enc; /* every encoded memory, in encoding order */
    size_t nenc, capenc;
    eg_presentation *rep; /* replays (outputs), in time order */
    size_t nrep, caprep;
    /* REM's pool: the consolidated memories with concepts, by index (rem.c). Not in snapshots:
     * built from the statuses at the first REM night of a process, then kept up to date from
     * rem_new, the memories consolidated since (a status that never changes again). */
    uint32_t *rem_pool, *rem_new;
    size_t nrem_pool, caprem_pool, nrem_new, caprem_new;
    bool rem_pool_built;
    uint32_t *mark; /* scratch: mark[mem] == mark_epoch means "seen" */
    uint32_t mark_epoch;
    int64_t nconsolidated;

    eg_engine_state eng;

    /* the snapshot this model was read from, mapped (eg_span): unmapped by eg_model_free */
    eg_span snap;
    void *snap_map;
    size_t snap_len;
    bool snap_mapped; /* false: snap_map is one allocation the arrays were copied into */
    /* when mapped, the file, open with a shared lock on it until eg_model_free (core/snapshot.c:
     * eg_snapshot_write never writes over it) */
    int snap_fd;
    /* md->m as the snapshot gave it: where it was mapped, its place in the file and its count
     * (eg_snapshot_mems_moved compares the memories with the file's bytes) */
    const eg_mem *snap_m;
    uint64_t snap_m_off;
    size_t snap_m_n;

    /* counters of the simulation */
    int64_t ticks, replays_done, rem_phases, homeostasis_phases;
    int64_t max_held; /* the most items working memory held in one tick */
    bool sealed;      /* eg_model_seal: can be saved, no longer advanced */
} eg_model;

void eg_model_init(eg_model *md);
void eg_model_free(eg_model *md);
/* Releases what only advancing the simulation uses (the two graphs' pair indexes: the memory
 * graph's is the biggest hash table of a model, the concept graph's grows with the vocabulary):
 * the outputs at now, the save and the snapshot do not need them. A sealed
 * model can no longer be advanced (eg_engine_advance refuses it). */
void eg_model_seal(eg_model *md);
/* Adds a memory (inputs only); concepts are names, interned in the model: a concept's index is
 * the order of its first appearance. Memories must be added in the canonical order, by first
 * presentation (t0), then id: every order the stages follow (memory and concept indexes) is then
 * a function of the data, and a memory presented later than every other one is appended
 * without renumbering anything (what advancing a simulation in steps needs). Returns its index
 * in *idx. */
int eg_model_add(eg_model *md, const eg_mem *in, const char *id, const char *const *concepts,
                 size_t nconcepts, uint32_t *idx);
int eg_model_add_update(eg_model *md, uint32_t idx, int64_t at);
/* Adds a recall presentation of memory idx at time at. */
int eg_model_add_recall(eg_model *md, uint32_t idx, int64_t at);
const char *eg_model_id(const eg_model *md, uint32_t idx);
const char *eg_model_concept(const eg_model *md, uint32_t c);

/* A journey line's stage, event and detail (the detail written into out, NUL-terminated, as
 * vsnprintf would have written it into 512 bytes). */
static inline const char *eg_journey_stage(const eg_model *md, const eg_journey *j)
{
    return md->jkinds[j->kind].stage;
}
static inline const char *eg_journey_event(const eg_model *md, const eg_journey *j)
{
    return md->jkinds[j->kind].event;
}
int eg_journey_detail(const eg_model *md, const eg_journey *j, eg_buf *out);

/* Adds an update presentation (updated_at later than created_at) of memory idx. */

/* ---- bookkeeping shared with the stages ---- */
int eg__grow(void **p, size_t *cap, size_t need, size_t sz);
#define EG_GROW(arr, cap, need) eg__grow((void **)&(arr), &(cap), (need), sizeof *(arr))
/* The same for an array that may lie in a snapshot's mapping s: past its room it is copied out
 * to an allocation of its own (never realloc'ed in place). */
int eg__grow_in(eg_span s, void **p, size_t *cap, size_t need, size_t sz);
#define EG_GROW_IN(s, arr, cap, need)                                                              \
    eg__grow_in((s), (void **)&(arr), &(cap), (need), sizeof *(arr))
/* free(p), unless p lies in the snapshot mapping s */
void eg__free_in(eg_span s, void *p);
/* Adds a journey line. stage, event, fmt and every %s argument must be static strings: the
 * detail is formatted when saved (eg_journey_detail). fmt's conversions: d, i, u (with l, ll or
 * z), f, e, g, s, with flags, width and precision but no '*'; anything else is refused. */
int eg__journey(eg_model *md, uint32_t mem, int64_t at, const char *stage, const char *event,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void eg__graph_free(eg_graph *g);
void eg__communities_free(eg_communities *c);
int eg__graph_nodes(eg_graph *g, size_t nodes);
/* The edge between a and b, created (weight 0) if it does not exist; its index in *k. */
int eg__graph_edge(eg_graph *g, uint32_t a, uint32_t b, int64_t at, uint32_t *k, bool *created);
/* Edge k is about to be touched at a time after g->dirty_since: recorded in g->dirty (while
 * dirty_on) unless it was already (its last_at is then after dirty_since). Call before setting
 * its last_at; created: k was just made. */
void eg__graph_mark_slow(eg_graph *g, uint32_t k);
static inline void eg__graph_mark(eg_graph *g, uint32_t k, bool created)
{
    if (g->dirty_on && (created || g->e[k].last_at <= g->dirty_since))
        eg__graph_mark_slow(g, k);
}
/* Removes the dead edges: the live ones are renumbered in their order (every adjacency list
 * keeps its order), the pair index follows, and memory a much smaller graph no longer needs is
 * given back. A pair touched again afterwards is a new edge. */
int eg__graph_compact(eg_graph *g);
/* Names of the feature enums as the store writes them. */
const char *eg__region_name(int r);
const char *eg__knowledge_name(int k);

#endif
