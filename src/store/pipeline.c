/*
 * pipeline.c — the store side of the biological pipeline: loads the engine's inputs (staged
 * memories with their features and concepts, recall presentations) and saves its outputs
 * (statuses, journeys, presentations, concepts, both graphs, episodes, long-term records,
 * creative associations, the checkpoint) in the caller's transaction.
 *
 * The engine recomputes the outputs from the inputs on every run, so a run in k steps and a run
 * in one step leave the same rows. They are saved as the difference from the stored rows
 * (store/tablesync.c): a run that changes little writes little. Recall presentations are inputs
 * and are kept.
 */
#include "store/pipeline.h"
#include "core/snapshot.h"
#include "store/migrations.h"
#include "store/postings.h"

#include "engram/error.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static uint64_t mem_digest(const eg_mem *m)
{
    return XXH3_64bits(m, sizeof *m);
}

/* whether a resumed save knows each memory's state at the snapshot (by the file, or digests) */
static bool has_mem_base(const eg_save_since *since)
{
    return since && (since->mem_by_file || since->mem_digest);
}

static uint64_t ep_digest(const eg_episode *e)
{
    return XXH3_64bits(e, sizeof *e);
}

int eg_save_since_init(eg_save_since *s, const eg_model *md, int64_t at)
{
    *s = (eg_save_since){.at = at,
                         .nbase = md->n,
                         .nconcepts_base = md->nconcepts,
                         .nep_base = md->nep,
                         .ncr_base = md->ncr,
                         .homeostasis_phases = md->homeostasis_phases};
    s->mem_by_file = eg_snapshot_mems_comparable(md);
    bool digests = !s->mem_by_file;
#ifndef NDEBUG /* (the tests' build) both, the save checks one against the other */
    digests = true;
#endif
    if (digests) {
        s->mem_digest = malloc((md->n ? md->n : 1) * sizeof *s->mem_digest);
        s->mem_status = malloc(md->n ? md->n : 1);
    }
    s->ep_digest = malloc((md->nep ? md->nep : 1) * sizeof *s->ep_digest);
    if ((digests && (!s->mem_digest || !s->mem_status)) || !s->ep_digest) {
        eg_save_since_free(s);
        return eg_error_set(EG_ENOMEM, "out of memory resuming the pipeline");
    }
    for (size_t i = 0; digests && i < md->n; i++) {
        s->mem_digest[i] = mem_digest(&md->m[i]);
        s->mem_status[i] = md->m[i].status;
    }
    for (size_t k = 0; k < md->nep; k++)
        s->ep_digest[k] = ep_digest(&md->ep[k]);
    return 0;
}

void eg_save_since_free(eg_save_since *s)
{
    free(s->mem_digest);
    free(s->mem_status);
    free(s->ep_digest);
    *s = (eg_save_since){.at = INT64_MIN};
}

int eg_store_sim_get(eg_store *st, const char *key, int64_t *value, bool *found)
{
    sqlite3_stmt *s = NULL;
    *found = false;
    if (sqlite3_prepare_v2(eg_store_db(st), "SELECT value FROM sim_state WHERE key = ?1", -1, &s,
                           NULL) != SQLITE_OK)
        return eg__store_error(st, "could not read the pipeline's state");
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *value = sqlite3_column_int64(s, 0);
        *found = true;
    }
    sqlite3_finalize(s);
    return 0;
}

int eg_store_sim_set(eg_store *st, const char *key, int64_t value)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(eg_store_db(st), "INSERT OR REPLACE INTO sim_state VALUES (?1, ?2)", -1,
                           &s, NULL) != SQLITE_OK)
        return eg__store_error(st, "could not write the pipeline's state");
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, value);
    int r = sqlite3_step(s);
    sqlite3_finalize(s);
    return r == SQLITE_DONE ? 0 : eg__store_error(st, "could not write the pipeline's state");
}

int eg_store_checkpoint(eg_store *st, int64_t *at, bool *found)
{
    return eg_store_sim_get(st, "checkpoint", at, found);
}

static int8_t sentiment_of(const char *s)
{
    return !s ? 0 : !strcmp(s, "positive") ? 1 : !strcmp(s, "negative") ? -1 : 0;
}

static uint8_t index_of(const char *s, const char *const *names, int n)
{
    for (int i = 0; s && i < n; i++)
        if (!strcmp(s, names[i]))
            return (uint8_t)i;
    return 0;
}

static const char *const task_names[] = {"observation", "goal", "task", "action"};
static const char *const know_names[] = {"declarative", "procedural", "conditional"};
static const char *const region_names[] = {"association", "motor", "sensory", "prefrontal"};

/* appends the strings of a JSON array text to names (pointers into the parsed values) */
static void add_names(json_t *arr, const char **names, size_t *n, size_t max)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v) && *n < max) names[(*n)++] =
        json_string_value(v);
}

/* names with room for n: the stack array when it is big enough, else *heap grown to n (the
 * caller frees *heap); NULL when out of memory */
static const char **names_for(const char **stack, size_t nstack, const char ***heap, size_t *cap,
                              size_t n)
{
    if (n <= nstack)
        return stack;
    if (n > *cap) {
        const char **p = realloc(*heap, n * sizeof *p);
        if (!p)
            return NULL;
        *heap = p;
        *cap = n;
    }
    return *heap;
}

static int cmp_rowid(const void *a, const void *b, void *arg)
{
    const eg_model *md = arg;
    int64_t x = md->m[*(const uint32_t *)a].rowid, y = md->m[*(const uint32_t *)b].rowid;
    return x < y ? -1 : x > y;
}

/* the memory columns the pipeline reads, for "SELECT " MEM_COLS " FROM memory ..." */
#define MEM_COLS                                                                                   \
    "rowid, id, created_at, updated_at, concepts, importance, urgency, emotional_salience, "       \
    "sentiment, task_type, knowledge_type, region_hint, abstraction_level, late, arrived_at, "     \
    "CASE WHEN late AND arrived_at IS NOT NULL THEN arrived_at ELSE created_at END AS t0"
/* the canonical order (core/model.h): first presentation, then id */
#define MEM_ORDER "ORDER BY t0, id"

/* adds every memory row of s (MEM_COLS) to md, with its update presentation up to now */
static int add_memories(eg_store *st, eg_model *md, sqlite3_stmt *s, int64_t now)
{
    int step, rc = 0;
    /* a memory's concept names: staging keeps up to staging.max_concepts (1000) and the
     * entities; most memories have a few dozen at most */
    const char *stack[512], **heap = NULL;
    size_t capheap = 0;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        eg_mem m = {0};
        const char **names = stack;
        size_t nn = 0;
        m.rowid = sqlite3_column_int64(s, 0);
        int64_t created = sqlite3_column_int64(s, 2);
        m.late = sqlite3_column_int(s, 13) != 0;
        m.t0 = m.late && sqlite3_column_type(s, 14) != SQLITE_NULL ? sqlite3_column_int64(s, 14)
                                                                   : created;
        json_t *arr = NULL;
        if (sqlite3_column_type(s, 4) != SQLITE_NULL)
            arr = json_loads((const char *)sqlite3_column_text(s, 4), 0, NULL);
        if (json_is_array(arr)) {
            size_t want = json_array_size(arr);
            names = names_for(stack, sizeof stack / sizeof *stack, &heap, &capheap, want);
            if (!names) {
                json_decref(arr);
                rc = eg_error_set(EG_ENOMEM, "out of memory reading the pipeline's inputs");
                goto done;
            }
            add_names(arr, names, &nn, want);
        }
        m.importance =
            sqlite3_column_type(s, 5) == SQLITE_NULL ? 0.5f : (float)sqlite3_column_double(s, 5);
        m.urgency =
            sqlite3_column_type(s, 6) == SQLITE_NULL ? 0.3f : (float)sqlite3_column_double(s, 6);
        m.emotional =
            sqlite3_column_type(s, 7) == SQLITE_NULL ? 0.3f : (float)sqlite3_column_double(s, 7);
        m.sentiment = sentiment_of((const char *)sqlite3_column_text(s, 8));
        m.task_type = index_of((const char *)sqlite3_column_text(s, 9), task_names, 4);
        m.knowledge_type = index_of((const char *)sqlite3_column_text(s, 10), know_names, 3);
        m.region = index_of((const char *)sqlite3_column_text(s, 11), region_names, 4);
        m.abstraction =
            (uint8_t)(sqlite3_column_type(s, 12) == SQLITE_NULL ? 3 : sqlite3_column_int(s, 12));
        uint32_t idx;
        rc = eg_model_add(md, &m, (const char *)sqlite3_column_text(s, 1), names, nn, &idx);
        json_decref(arr);
        if (rc)
            goto done;
        if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
            int64_t upd = sqlite3_column_int64(s, 3);
            if (upd > m.t0 && upd <= now && (rc = eg_model_add_update(md, idx, upd)))
                goto done;
        }
    }
    if (step != SQLITE_DONE)
        rc = eg__store_error(st, "could not read memories for the pipeline");
done:
    free(heap);
    return rc;
}

/* md's memory indexes sorted by rowid (caller frees), for find_rowid */
static uint32_t *rowid_index(const eg_model *md)
{
    uint32_t *by_rowid = malloc((md->n ? md->n : 1) * sizeof *by_rowid);
    if (!by_rowid) {
        eg_error_set(EG_ENOMEM, "out of memory reading the pipeline's inputs");
        return NULL;
    }
    bool sorted = true; /* (usually: rowids follow time, as the canonical order does) */
    for (size_t i = 0; i < md->n; i++) {
        by_rowid[i] = (uint32_t)i;
        sorted = sorted && (i == 0 || md->m[i - 1].rowid < md->m[i].rowid);
    }
    if (!sorted)
        qsort_r(by_rowid, md->n, sizeof *by_rowid, cmp_rowid, (void *)md);
    return by_rowid;
}

/* the index of the memory with this rowid, UINT32_MAX if md has none */
static uint32_t find_rowid(const eg_model *md, const uint32_t *by_rowid, int64_t rowid)
{
    size_t lo = 0, hi = md->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (md->m[by_rowid[mid]].rowid < rowid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < md->n && md->m[by_rowid[lo]].rowid == rowid ? by_rowid[lo] : UINT32_MAX;
}

/* adds the recalls of s (memory_rowid, at) of md's memories to md */
static int add_recalls(eg_store *st, eg_model *md, sqlite3_stmt *s)
{
    uint32_t *by_rowid = NULL; /* made at the first recall: most runs since the last have none */
    int rc = 0, step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(s)) == SQLITE_ROW) {
        if (!by_rowid && !(by_rowid = rowid_index(md))) {
            rc = EG_ENOMEM;
            break;
        }
        uint32_t x = find_rowid(md, by_rowid, sqlite3_column_int64(s, 0));
        if (x != UINT32_MAX)
            rc = eg_model_add_recall(md, x, sqlite3_column_int64(s, 1));
    }
    if (!rc && step != SQLITE_DONE)
        rc = eg__store_error(st, "could not read recalls");
    free(by_rowid);
    return rc;
}

int eg_store_load_model(eg_store *st, eg_model *md, int64_t now)
{
    sqlite3 *db = eg_store_db(st);
    sqlite3_stmt *s = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT " MEM_COLS " FROM memory WHERE " EG_PIPELINE_INPUT
                           " AND created_at <= ?1 " MEM_ORDER,
                           -1, &s, NULL) != SQLITE_OK) {
        rc = eg__store_error(st, "could not read memories for the pipeline");
        goto done;
    }
    sqlite3_bind_int64(s, 1, now);
    if ((rc = add_memories(st, md, s, now)))
        goto done;
    sqlite3_finalize(s);
    s = NULL;
    /* recalls are presentations too (SPEC §8) */
    if (sqlite3_prepare_v2(db,
                           "SELECT memory_rowid, at FROM presentation WHERE kind = 'recalled' AND "
                           "at <= ?1 ORDER BY memory_rowid, at",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = eg__store_error(st, "could not read recalls");
        goto done;
    }
    sqlite3_bind_int64(s, 1, now);
    rc = add_recalls(st, md, s);
done:
    sqlite3_finalize(s);
    return rc;
}

static int scalar(eg_store *st, const char *sql, int64_t a1, int64_t a2, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(eg_store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        return eg__store_error(st, "could not count the pipeline's inputs");
    sqlite3_bind_int64(s, 1, a1);
    sqlite3_bind_int64(s, 2, a2);
    int r = sqlite3_step(s);
    *out = r == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return r == SQLITE_ROW ? 0 : eg__store_error(st, "could not count the pipeline's inputs");
}

int eg_store_inputs(eg_store *st, int64_t at, eg_store_inputs_state *out)
{
    int rc;
    if ((rc = scalar(st, "SELECT coalesce((SELECT value FROM sim_state WHERE key = 'inputs'), 0)",
                     at, 0, &out->changes)) ||
        (rc = scalar(st, "SELECT coalesce(max(rowid), 0) FROM memory", 0, 0, &out->last_rowid)))
        return rc;
    return scalar(st, "SELECT count(*) FROM presentation WHERE kind = 'recalled' AND at <= ?1", at,
                  0, &out->recalls);
}

int eg_store_inputs_added(eg_store *st, int64_t after, int64_t at, int64_t *n)
{
    /* through the rowids after the last (NOT INDEXED): SQLite took the index memory_input for
     * created_at <= ?1 instead, a scan of every staged memory (50 ms at 1M, 4 by rowid) */
    return scalar(st,
                  "SELECT count(*) FROM memory NOT INDEXED WHERE rowid > ?2 AND " EG_PIPELINE_INPUT
                  " AND created_at <= ?1 AND NOT (late AND arrived_at > ?1)",
                  at, after, n);
}

/* prepares sql with ?1 = now and ?2 = since */
static int prep_span(eg_store *st, const char *sql, int64_t now, int64_t since, sqlite3_stmt **s)
{
    if (sqlite3_prepare_v2(eg_store_db(st), sql, -1, s, NULL) != SQLITE_OK)
        return eg__store_error(st, "could not read the pipeline's inputs");
    sqlite3_bind_int64(*s, 1, now);
    sqlite3_bind_int64(*s, 2, since);
    return 0;
}

int eg_store_load_since(eg_store *st, eg_model *md, int64_t since, int64_t now)
{
    sqlite3_stmt *s = NULL;
    uint32_t *by_rowid = NULL;
    size_t before = md->n;
    int rc = 0, step;
    /* memories first presented in (since, now]: created then, or arrived late since (an
     * arrival is just after the run before); presented after everything md holds, so appended.
     * (The created_at and arrival indexes find these few rows, not the status index.) */
    if ((rc = prep_span(st,
                        "SELECT " MEM_COLS
                        " FROM memory INDEXED BY memory_input WHERE " EG_PIPELINE_INPUT
                        " AND NOT late AND created_at > ?2 AND "
                        "created_at <= ?1 UNION ALL SELECT " MEM_COLS " FROM memory INDEXED BY "
                        "memory_arrived WHERE late AND arrived_at > ?2 AND " EG_PIPELINE_INPUT
                        " AND created_at <= ?1 " MEM_ORDER,
                        now, since, &s)) ||
        (rc = add_memories(st, md, s, now)))
        goto done;
    for (size_t i = before; i < md->n; i++)
        if (md->m[i].t0 <= since) { /* a late arrival: it cannot be appended */
            rc = eg_error_set(EG_EBADINPUT, "a memory presented before the checkpoint arrived");
            goto done;
        }
    sqlite3_finalize(s);
    s = NULL;
    /* updates in (since, now] of the memories md held (migration 10's index finds them) */
    if ((rc = prep_span(st,
                        "SELECT rowid, updated_at FROM memory INDEXED BY memory_updated WHERE "
                        "updated_at > ?2 AND updated_at <= ?1 AND " EG_PIPELINE_INPUT
                        " AND created_at <= ?2",
                        now, since, &s)))
        goto done;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (!by_rowid && !(by_rowid = rowid_index(md))) { /* (only when there are updates) */
            rc = EG_ENOMEM;
            goto done;
        }
        uint32_t x = find_rowid(md, by_rowid, sqlite3_column_int64(s, 0));
        int64_t upd = sqlite3_column_int64(s, 1);
        if (x != UINT32_MAX && x < before && upd > md->m[x].t0 &&
            (rc = eg_model_add_update(md, x, upd)))
            goto done;
    }
    if (step != SQLITE_DONE) {
        rc = eg__store_error(st, "could not read memories for the pipeline");
        goto done;
    }
    sqlite3_finalize(s);
    s = NULL;
    /* recalls in (since, now] */
    if (!(rc = prep_span(st,
                         "SELECT memory_rowid, at FROM presentation INDEXED BY "
                         "presentation_recalled WHERE kind = 'recalled' AND at > ?2 AND at <= ?1 "
                         "ORDER BY memory_rowid, at",
                         now, since, &s)))
        rc = add_recalls(st, md, s);
done:
    free(by_rowid);
    sqlite3_finalize(s);
    return rc;
}

/* ---- saving ---- */

/* The outputs are written through store/tablesync.c: each table's rows are generated in
 * primary-key order and only those that differ from the stored ones are written (a table that
 * changed too much is rewritten whole, its secondary indexes built once at the end). */

typedef struct pair64 {
    int64_t a, b;
    uint32_t i;
} pair64;

static int cmp_pair64(const void *x, const void *y)
{
    const pair64 *p = x, *q = y;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    if (p->b != q->b)
        return p->b < q->b ? -1 : 1;
    return p->i < q->i ? -1 : p->i > q->i;
}

/* Sorts keys (all with b = 0 and a >= 0, made in increasing i) by a: a stable LSD radix sort,
 * 16 bits a pass, as many passes as the largest a needs. False when it cannot (no memory). */
static bool radix_keys(pair64 *keys, size_t n, int64_t max)
{
    pair64 *tmp = malloc(n * sizeof *tmp);
    uint32_t *count = malloc(65537 * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return false;
    }
    pair64 *src = keys, *dst = tmp;
    for (int shift = 0; shift < 64 && (max >> shift) > 0; shift += 16) {
        memset(count, 0, 65537 * sizeof *count);
        for (size_t k = 0; k < n; k++)
            count[((uint64_t)src[k].a >> shift & 0xffff) + 1]++;
        for (size_t d = 0; d < 65536; d++)
            count[d + 1] += count[d];
        for (size_t k = 0; k < n; k++)
            dst[count[(uint64_t)src[k].a >> shift & 0xffff]++] = src[k];
        pair64 *t = src;
        src = dst;
        dst = t;
    }
    if (src != keys)
        memcpy(keys, src, n * sizeof *keys);
    free(tmp);
    free(count);
    return true;
}

/* Sorts keys[0..n) unless they are in order already (often: rowids follow time). Keys of one
 * rowid each (pipeline rows, long-term records, episodes: b = 0), made in index order, are
 * radix-sorted (970k long-term records: 150 ms by comparison). */
static void sort_keys(pair64 *keys, size_t n)
{
    size_t k = 1;
    while (k < n && cmp_pair64(&keys[k - 1], &keys[k]) < 0)
        k++;
    if (k >= n)
        return;
    bool radix = n > 512;
    int64_t max = 0;
    for (size_t j = 0; j < n && radix; j++) {
        radix = keys[j].b == 0 && keys[j].a >= 0 && (j == 0 || keys[j - 1].i < keys[j].i);
        if (keys[j].a > max)
            max = keys[j].a;
    }
    if (!radix || !radix_keys(keys, n, max))
        qsort(keys, n, sizeof *keys, cmp_pair64);
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* a memory (by rowid) in a concept's chunk of postings */
struct chunk_posting {
    int64_t cid, chunk, rowid;
};

static int cmp_chunk_posting(const void *x, const void *y)
{
    const struct chunk_posting *p = x, *q = y;
    if (p->cid != q->cid)
        return p->cid < q->cid ? -1 : 1;
    if (p->chunk != q->chunk)
        return p->chunk < q->chunk ? -1 : 1;
    return p->rowid < q->rowid ? -1 : p->rowid > q->rowid;
}

/* what the row generators share: the model and, per table, its rows' order */
typedef struct save_ctx {
    const eg_model *md;
    pair64 *keys; /* keys[0..nk-1]: the current table's rows in key order */
    size_t nk;
    const eg_graph *graph; /* the graph being written */
    eg_buf buf;            /* a memory's concept list, a concept's posting blob */
    int64_t *cid;          /* concept index -> stored concept id (stored_concept_ids) */
    pair64 *scratch;       /* a concept's posting list being sorted (md->n entries) */
    uint32_t *order;       /* the memory graph's edges to write, in key order (edge_order) */
    struct chunk_posting *chunk_post; /* after a resume: the postings of the chunks written */
    size_t cr_from;                   /* the first creative association to write */
    size_t nchunk_post;
} save_ctx;

#define EMIT(sy, cells)                                                                            \
    do {                                                                                           \
        int emit_rc_ = eg_sync_row((sy), (cells));                                                 \
        if (emit_rc_)                                                                              \
            return emit_rc_;                                                                       \
    } while (0)

static const eg_sync_table t_pipeline = {
    "pipeline",
    "memory_rowid, status, wm_ticks, wm_entered_at, wm_best_slot, wm_best_priority, wm_best_rank, "
    "wm_best_of, encoded_at, episode_id, p_encode, stm_strength, hebbian_potential, "
    "consolidation_priority, ready_at, replays, pre_strength, associates, consolidated_at, "
    "consolidated_strength, forgotten_at, recalls, damping, concept_ids",
    24,
    1,
    NULL,
    "DROP INDEX IF EXISTS pipeline_status",
    "CREATE INDEX pipeline_status ON pipeline(status)",
    false};

/* a memory's concepts as a JSON array of stored concept ids, "[3,17]" (written for every
 * memory by every run: no printf) */
static int concept_list(eg_buf *b, const eg_model *md, const int64_t *cid, const eg_mem *m)
{
    char tmp[512], *p = tmp;
    *p++ = '[';
    for (uint16_t k = 0; k < m->c_n; k++) {
        char digits[24];
        int nd = 0;
        uint64_t v = (uint64_t)cid[md->mc[m->c_off + k]];
        do
            digits[nd++] = (char)('0' + v % 10);
        while ((v /= 10) && nd < (int)sizeof digits);
        if (k)
            *p++ = ',';
        while (nd)
            *p++ = digits[--nd];
        if (p - tmp > (ptrdiff_t)sizeof tmp - 24) { /* more concepts than ever stored: flush */
            if (eg_buf_append(b, tmp, (size_t)(p - tmp)))
                return -1;
            p = tmp;
        }
    }
    *p++ = ']';
    return eg_buf_append(b, tmp, (size_t)(p - tmp));
}

/* pipeline state per memory, with its concepts as stored concept ids (the memory_concept view
 * reads them) */
static int rows_pipeline(void *ud, eg_sync *sy)
{
    save_ctx *c = ud;
    const eg_model *md = c->md;
    eg_cell v[24];
    for (size_t o = 0; o < c->nk; o++) {
        const eg_mem *m = &md->m[c->keys[o].i];
        bool enc = m->episode >= 0, cons = m->status == EG_MS_CONSOLIDATED;
        v[0] = eg_cell_int(m->rowid);
        v[1] = eg_cell_text(eg_mstatus_name((eg_mstatus)m->status));
        v[2] = eg_cell_int(m->wm_ticks);
        v[3] = eg_cell_int_if(m->wm_entered_at, m->wm_ticks > 0);
        v[4] = eg_cell_int_if(m->best_slot, m->best_slot > 0);
        v[5] = eg_cell_real(m->best_priority);
        v[6] = eg_cell_int_if(m->best_rank, m->best_rank > 0);
        v[7] = eg_cell_int_if(m->best_of, m->best_rank > 0);
        v[8] = eg_cell_int_if(m->encoded_at, enc);
        v[9] = eg_cell_int_if(enc ? md->m[md->ep[m->episode].opener].rowid : 0, enc);
        v[10] = enc ? eg_cell_real(m->p_encode) : eg_cell_null();
        v[11] = enc ? eg_cell_real(m->stm_strength) : eg_cell_null();
        v[12] = eg_cell_int_if(m->hebbian_potential, enc);
        v[13] = enc ? eg_cell_real(m->cons_priority) : eg_cell_null();
        v[14] = eg_cell_int_if(m->ready_at, enc);
        v[15] = eg_cell_int(m->replays);
        v[16] = m->replays ? eg_cell_real(m->pre) : eg_cell_null();
        v[17] = eg_cell_int_if(m->associates, m->replays);
        v[18] = eg_cell_int_if(m->consolidated_at, cons);
        v[19] = cons ? eg_cell_real(m->consolidated_strength) : eg_cell_null();
        v[20] = eg_cell_int_if(m->forgotten_at, m->status == EG_MS_FORGOTTEN);
        v[21] = eg_cell_int(m->recalls);
        v[22] = eg_cell_real(m->damping);
        eg_buf_reset(&c->buf);
        if (concept_list(&c->buf, md, c->cid, m))
            return eg_error_set(EG_ENOMEM, "out of memory saving pipeline state");
        v[23] = (eg_cell){.type = EG_CELL_TEXT, .n = (int)c->buf.len, .p = c->buf.data};
        EMIT(sy, v);
    }
    return 0;
}

static const eg_sync_table t_journey = {
    "journey", "memory_rowid, seq, at, stage, event, detail", 6, 2, NULL, NULL, NULL, false};

/* journeys, in the order they happened per memory */
static int rows_journey(void *ud, eg_sync *sy)
{
    save_ctx *c = ud;
    const eg_model *md = c->md;
    eg_cell v[6];
    int64_t seq = 0;
    for (size_t o = 0; o < c->nk; o++) {
        const eg_journey *j = &md->jr[c->keys[o].i];
        seq = o && c->keys[o - 1].a == c->keys[o].a ? seq + 1
              : j->mem < md->njr_base               ? (int64_t)md->jr_base[j->mem] + 1
                                                    : 1;
        v[0] = eg_cell_int(c->keys[o].a);
        v[1] = eg_cell_int(seq);
        v[2] = eg_cell_int(j->at);
        if (eg_journey_detail(md, j, &c->buf))
            return eg_error_last()->code;
        v[3] = eg_cell_text(eg_journey_stage(md, j));
        v[4] = eg_cell_text(eg_journey_event(md, j));
        v[5] = eg_cell_text(c->buf.data);
        EMIT(sy, v);
    }
    return 0;
}

static const eg_sync_table t_presentation = {
    "presentation", "memory_rowid, at, kind", 3, 3, "kind <> 'recalled'", NULL, NULL, false};

/* a presentation kind's place in the stored order (by name) among the kinds saved here */
static int kind_rank(int kind)
{
    return kind == EG_PRES_CREATED ? 0 : kind == EG_PRES_REPLAYED ? 1 : 2;
}

/* presentations: created/updated (inputs, kept for activation) and replays; recalls are the
 * store's own rows (recall writes them) and stay */
static int rows_presentation(void *ud, eg_sync *sy)
{
    save_ctx *c = ud;
    const eg_model *md = c->md;
    eg_cell v[3];
    for (size_t o = 0; o < c->nk; o++) {
        if (o && c->keys[o - 1].a == c->keys[o].a && c->keys[o - 1].b == c->keys[o].b)
            continue; /* the same presentation twice */
        size_t k = c->keys[o].i;
        const eg_presentation *p = k < md->npres ? &md->pres[k] : &md->rep[k - md->npres];
        v[0] = eg_cell_int(c->keys[o].a);
        v[1] = eg_cell_int(p->at);
        v[2] = eg_cell_text(eg_presentation_name(p->kind));
        EMIT(sy, v);
    }
    return 0;
}

static const eg_sync_table t_concept = {
    "concept", "concept_id, name, community, memories", 4, 1, NULL, NULL, NULL, true};

/* concepts: name, community at now, number of memories */
static int rows_concept(void *ud, eg_sync *sy)
{
    save_ctx *c = ud;
    const eg_model *md = c->md;
    const eg_communities *cm = md->comm_now.label ? &md->comm_now : &md->comm;
    eg_cell v[4];
    for (size_t o = 0; o < c->nk; o++) {
        size_t ci = c->keys[o].i;
        v[0] = eg_cell_int(c->keys[o].a);
        v[1] = eg_cell_text(eg_model_concept(md, (uint32_t)ci));
        /* a concept newer than the communities is its own (as eg__category_of counts it) */
        uint32_t label = ci >= cm->n ? (uint32_t)ci : cm->label ? cm->label[ci] : UINT32_MAX;
        v[2] = label != UINT32_MAX ? eg_cell_text(eg_model_concept(md, label)) : eg_cell_null();
        v[3] = eg_cell_int((int64_t)md->post_n[ci]);
        EMIT(sy, v);
    }
    return 0;
}

/* (replaced, not updated: a chunk's blob overflows its page, see eg_sync_table.replace) */
static const eg_sync_table t_concept_posting = {
    "concept_posting", "concept_id, chunk, postings", 3, 2, NULL, NULL, NULL, true};

/* one chunk's blob: rowids[0..n) (ascending, all in one chunk) newest first */
static int posting_blob(save_ctx *c, const pair64 *rowids, size_t n)
{
    eg_buf_reset(&c->buf);
    for (size_t k = n; k-- > 0;) {
        unsigned char le[EG_POSTING_BYTES];
        eg_posting_put(le, rowids[k].a);
        if (eg_buf_append(&c->buf, le, sizeof le))
            return eg_error_set(EG_ENOMEM, "out of memory saving a posting list");
    }
    return 0;
}

/* concept ci's memories by rowid, ascending, into c->scratch; their number */
static size_t concept_rowids(const save_ctx *c, size_t ci)
{
    const eg_model *md = c->md;
    pair64 *post = c->scratch;
    size_t n = 0;
    bool sorted = true;
    for (size_t k = 0; k < md->post_n[ci]; k++) {
        int64_t r = md->m[md->postings[ci][k]].rowid;
        post[n] = (pair64){r, 0, 0};
        sorted = sorted && (n == 0 || post[n - 1].a <= r);
        n++;
    }
    if (!sorted)
        qsort(post, n, sizeof *post, cmp_pair64);
    return n;
}

/* After a resume: the postings of the chunks c->keys name (the (concept id, chunk) pairs that
 * got a new memory), gathered from the memories whose rowids fall in those chunks (at most
 * 4,096 each) rather than from every posting of their concepts (at 1M memories, the concepts
 * of a day's memories are nearly all of them: 14.5M postings read at random). */
static int gather_chunks(save_ctx *c)
{
    const eg_model *md = c->md;
    int64_t *chunks = malloc((c->nk ? c->nk : 1) * sizeof *chunks);
    size_t nch = 0, cap = 0;
    if (!chunks)
        return eg_error_set(EG_ENOMEM, "out of memory saving the pipeline");
    for (size_t o = 0; o < c->nk; o++)
        chunks[nch++] = c->keys[o].b;
    if (nch > 1)
        qsort(chunks, nch, sizeof *chunks, cmp_i64);
    size_t u = 0;
    for (size_t k = 0; k < nch; k++)
        if (!u || chunks[u - 1] != chunks[k])
            chunks[u++] = chunks[k];
    nch = u;
    c->nchunk_post = 0;
    for (size_t i = 0; i < md->n; i++) {
        const eg_mem *m = &md->m[i];
        int64_t ch = m->rowid >> EG_POSTING_CHUNK_BITS;
        if (!bsearch(&ch, chunks, nch, sizeof *chunks, cmp_i64))
            continue;
        for (uint16_t k = 0; k < m->c_n; k++) {
            if (EG_GROW(c->chunk_post, cap, c->nchunk_post + 1)) {
                free(chunks);
                return EG_ENOMEM;
            }
            c->chunk_post[c->nchunk_post++] =
                (struct chunk_posting){c->cid[md->mc[m->c_off + k]], ch, m->rowid};
        }
    }
    free(chunks);
    if (c->nchunk_post > 1)
        qsort(c->chunk_post, c->nchunk_post, sizeof *c->chunk_post, cmp_chunk_posting);
    return 0;
}

/* Every chunk of the concepts keyed (b unused), in (concept id, chunk) order. */
static int rows_posting_all(void *ud, eg_sync *sy)
{
    save_ctx *c = ud;
    const pair64 *post = c->scratch;
    eg_cell v[3];
    for (size_t o = 0; o < c->nk; o++) {
        size_t n = concept_rowids(c, c->keys[o].i);
        for (size_t s = 0, e; s < n; s = e) {
            int64_t chunk = post[s].a >> EG_POSTING_CHUNK_BITS;
            for (e = s + 1; e < n && post[e].a >> EG_POSTING_CHUNK_BITS == chunk; e++)
                ;
            if (posting_blob(c, post + s, e - s))
                return EG_ENOMEM;
            v[0] = eg_cell_int(c->keys[o].a);
            v[1] = eg_cell_int(chunk);
            v[2] = eg_cell_blob(c->buf.data, c->buf.len);
            EMIT(sy, v);
        }
    }
    return 0;
}

/* The chunks keyed (concept id, chunk), each once, in order. */
static int rows_posting_some(void *ud, eg_sync *sy)
{
    save_ctx *c = ud;
    eg_cell v[3];
    size_t p = 0; /* c->chunk_post and c->keys are both in (concept id, chunk) order */
    for (size_t o = 0; o < c->nk; o++) {
        if (o && c->keys[o].a == c->keys[o - 1].a && c->keys[o].b == c->keys[o - 1].b)
            continue;
        const struct chunk_posting *cp = c->chunk_post;
        while (p < c->nchunk_post && (cp[p].cid < c->keys[o].a ||
                                      (cp[p].cid == c->keys[o].a && cp[p].chunk < c->keys[o].b)))
            p++;
        size_t n = 0;
        for (; p < c->nchunk_post && cp[p].cid == c->keys[o].a && cp[p].chunk == c->keys[o].b; p++)
            c->scratch[n++] = (pair64){cp[p].rowid, 0, 0};
        if (posting_blob(c, c->scratch, n))
            return EG_ENOMEM;
        v[0] = eg_cell_int(c->keys[o].a);
        v[1] = eg_cell_int(c->keys[o].b);
        v[2] = eg_cell_blob(c->buf.data, c->buf.len);
        EMIT(sy, v);
    }
    return 0;
}

static const eg_sync_table t_assoc = {"assoc",
                                      "a, b, weight, coact, last_at",
                                      5,
                                      2,
                                      NULL,
                                      "DROP INDEX IF EXISTS assoc_b",
                                      "CREATE INDEX assoc_b ON assoc(b)",
                                      false};
static const eg_sync_table t_concept_edge = {"concept_edge",
                                             "a, b, weight, coact, last_at",
                                             5,
                                             2,
                                             NULL,
                                             "DROP INDEX IF EXISTS concept_edge_b",
                                             "CREATE INDEX concept_edge_b ON concept_edge(b)",
                                             false};

/* memory edges by (smaller rowid, larger rowid) of their ends */
static int cmp_edge_rowids(const void *x, const void *y, void *arg)
{
    const eg_model *md = arg;
    const eg_edge *e = &md->assoc.e[*(const uint32_t *)x], *f = &md->assoc.e[*(const uint32_t *)y];
    int64_t a = md->m[e->a].rowid, b = md->m[e->b].rowid, c = md->m[f->a].rowid,
            d = md->m[f->b].rowid;
    int64_t lo1 = a < b ? a : b, hi1 = a < b ? b : a, lo2 = c < d ? c : d, hi2 = c < d ? d : c;
    return lo1 != lo2 ? (lo1 < lo2 ? -1 : 1) : hi1 != hi2 ? (hi1 < hi2 ? -1 : 1) : 0;
}

/* The memory graph's live edges (only those touched after `since`, unless it is INT64_MIN) in
 * key order, (smaller rowid, larger rowid), as edge indexes into *out (caller frees), their
 * number in *n. Many: two stable counting sorts over the ends' ranks in rowid order, by the
 * larger end and then by the smaller (4 bytes an edge and two linear passes, where 24-byte keys
 * sorted by comparison took 223 MB and seconds for the 9.3M edges of a 1M store). Few (a
 * resumed run's): sorted by comparison, without ranking every memory. */
/* the rank (in rowid order) of edge x's smaller or larger end */
static inline uint32_t end_rank(const eg_graph *g, const uint32_t *rank, uint32_t x, bool smaller)
{
    uint32_t ra = rank[g->e[x].a], rb = rank[g->e[x].b];
    return (ra < rb) == smaller ? ra : rb;
}

/* one stable counting pass: in[0..ne) into out by one end's rank (count: nodes + 1 entries) */
static void count_pass(const eg_graph *g, const uint32_t *rank, size_t nodes, const uint32_t *in,
                       uint32_t *out, size_t ne, uint32_t *count, bool smaller)
{
    memset(count, 0, (nodes + 1) * sizeof *count);
    for (size_t o = 0; o < ne; o++)
        count[end_rank(g, rank, in[o], smaller) + 1]++;
    for (size_t r = 0; r < nodes; r++)
        count[r + 1] += count[r];
    for (size_t o = 0; o < ne; o++)
        out[count[end_rank(g, rank, in[o], smaller)]++] = in[o];
}

static int edge_order(const eg_model *md, int64_t since, uint32_t **out, size_t *n)
{
    const eg_graph *g = &md->assoc;
    uint32_t *by_rowid = NULL, *count = NULL, *tmp = NULL, *order = NULL;
    size_t ne = 0, nodes = md->n;
    int rc = 0;
    *out = NULL;
    *n = 0;
    bool listed = since != INT64_MIN && g->dirty_on && g->dirty_since == since;
    if (listed) { /* the engine listed them as it touched them (eg__graph_mark) */
        for (size_t i = 0; i < g->ndirty; i++)
            ne += !g->e[g->dirty[i]].dead;
    } else {
        for (size_t k = 0; k < g->n; k++)
            ne += !g->e[k].dead && g->e[k].last_at > since;
    }
    if (!(order = malloc((ne ? ne : 1) * sizeof *order)))
        return eg_error_set(EG_ENOMEM, "out of memory saving the pipeline");
    if (listed) {
        for (size_t i = 0, o = 0; i < g->ndirty; i++)
            if (!g->e[g->dirty[i]].dead)
                order[o++] = g->dirty[i];
#ifndef NDEBUG /* (the tests' build) the list holds what looking through every edge finds */
        size_t scan = 0;
        for (size_t k = 0; k < g->n; k++)
            scan += !g->e[k].dead && g->e[k].last_at > since;
        for (size_t i = 0; i < ne; i++)
            if (g->e[order[i]].last_at <= since)
                scan = SIZE_MAX;
        if (scan != ne) {
            free(order);
            return eg_error_set(EG_ESTORE,
                                "the memory edges touched since %lld: %zu listed, %zu "
                                "found",
                                (long long)since, ne, scan);
        }
#endif
    } else {
        for (size_t k = 0, o = 0; k < g->n; k++)
            if (!g->e[k].dead && g->e[k].last_at > since)
                order[o++] = (uint32_t)k;
    }
    if (since != INT64_MIN && ne < nodes / 8) { /* a few touched since: sorted by comparison */
        if (ne > 1)
            qsort_r(order, ne, sizeof *order, cmp_edge_rowids, (void *)md);
    } else if (ne > 1) { /* by the larger end, then stably by the smaller */
        by_rowid = rowid_index(md);
        count = malloc((nodes + 1) * sizeof *count);
        tmp = malloc(ne * sizeof *tmp);
        if (!by_rowid || !count || !tmp) {
            rc = eg_error_set(EG_ENOMEM, "out of memory saving the pipeline");
            goto done;
        }
        /* by_rowid becomes rank: memory index -> its place in rowid order */
        for (size_t r = 0; r < nodes; r++)
            count[by_rowid[r]] = (uint32_t)r;
        memcpy(by_rowid, count, nodes * sizeof *by_rowid);
        count_pass(g, by_rowid, nodes, order, tmp, ne, count, false);
        count_pass(g, by_rowid, nodes, tmp, order, ne, count, true);
    }
    *out = order;
    *n = ne;
    order = NULL;
done:
    free(by_rowid);
    free(count);
    free(tmp);
    free(order);
    return rc;
}

/* one edge's row: its ends' stored ids, smaller first, and its state */
static int edge_row(eg_sync *sy, int64_t a, int64_t b, const eg_edge *e)
{
    eg_cell v[5] = {eg_cell_int(a < b ? a : b), eg_cell_int(a < b ? b : a), eg_cell_real(e->w),
                    eg_cell_int(e->coact), eg_cell_int(e->last_at)};
    return eg_sync_row(sy, v);
}

static int rows_assoc(void *ud, eg_sync *sy)
{
    save_ctx *c = ud;
    const eg_model *md = c->md;
    int rc = 0;
    for (size_t o = 0; o < c->nk && !rc; o++) {
        const eg_edge *e = &md->assoc.e[c->order[o]];
        rc = edge_row(sy, md->m[e->a].rowid, md->m[e->b].rowid, e);
    }
    return rc;
}

/* the concept graph's edges, each once, smaller end first */
static int rows_edges(void *ud, eg_sync *sy)
{
    save_ctx *c = ud;
    int rc = 0;
    for (size_t o = 0; o < c->nk && !rc; o++)
        rc = edge_row(sy, c->keys[o].a, c->keys[o].b, &c->graph->e[c->keys[o].i]);
    return rc;
}

static const eg_sync_table t_episode = {
    "episode", "episode_id, started_at, ended_at, size, goal, tasks, actions",
    7,         1,
    NULL,      NULL,
    NULL,      false};

/* episodes, by id: the rowid of the memory that opened each, so that an episode keeps its id
 * when older ones leave the staging window */
static int rows_episode(void *ud, eg_sync *sy)
{
    save_ctx *c = ud;
    const eg_model *md = c->md;
    eg_cell v[7];
    for (size_t o = 0; o < c->nk; o++) {
        const eg_episode *e = &md->ep[c->keys[o].i];
        v[0] = eg_cell_int(c->keys[o].a);
        v[1] = eg_cell_int(e->started_at);
        v[2] = eg_cell_int(e->ended_at);
        v[3] = eg_cell_int(e->size);
        v[4] = e->goal_concept != UINT32_MAX ? eg_cell_text(eg_model_concept(md, e->goal_concept))
                                             : eg_cell_null();
        v[5] = eg_cell_int(e->tasks);
        v[6] = eg_cell_int(e->actions);
        EMIT(sy, v);
    }
    return 0;
}

/* the long-term records without what moves with now: the `ltm` view adds the column rank, the
 * retrieval strength and the memory age at the checkpoint, from the columns after the
 * record's own (migration 16, docs/adr/0012). A whole rewrite keeps the index
 * ltm_record_column and fills it row by row: one built at once (CREATE INDEX) has every page
 * full, and the next days' new records, which land all over it, then split a page each (at 1M
 * memories the next-day run wrote 2,839 of its pages instead of 1,028, 35 ms more save and
 * 29 MB more WAL), for 0.7 s less in a 40 s full run. */
static const eg_sync_table t_ltm = {
    "ltm_record",
    "memory_rowid, memory_id, semantic_category, knowledge_type, cortical_region, "
    "abstraction_level, minicolumn_id, macrocolumn_id, consolidated_strength, consolidated_at, "
    "recalls, damping, t0, consolidation_state",
    14,
    1,
    NULL,
    NULL,
    NULL,
    false};

static int rows_ltm(void *ud, eg_sync *sy)
{
    save_ctx *c = ud;
    const eg_model *md = c->md;
    eg_cell v[14];
    for (size_t o = 0; o < c->nk; o++) {
        const eg_ltm *l = &md->ltm[c->keys[o].i];
        const eg_mem *m = &md->m[l->mem];
        v[0] = eg_cell_int(c->keys[o].a);
        v[1] = eg_cell_text(eg_model_id(md, l->mem));
        v[2] = l->category != UINT32_MAX ? eg_cell_text(eg_model_concept(md, l->category))
                                         : eg_cell_null();
        v[3] = eg_cell_text(eg__knowledge_name(l->knowledge_type));
        v[4] = eg_cell_text(eg__region_name(l->region));
        v[5] = eg_cell_int(l->abstraction);
        v[6] = eg_cell_int(l->minicolumn);
        v[7] = eg_cell_int(l->macrocolumn);
        v[8] = eg_cell_real(m->consolidated_strength);
        v[9] = eg_cell_int(m->consolidated_at);
        v[10] = eg_cell_int(m->recalls);
        v[11] = eg_cell_real(m->damping);
        v[12] = eg_cell_int(m->t0);
        v[13] = eg_cell_text(l->state);
        EMIT(sy, v);
    }
    return 0;
}

/* After a resume, the long-term records that may differ from the stored ones: a record is
 * made of its memory's state (its consolidation state too: from the associates of its deciding
 * replay) and its category (eg_ltm.category_moved: in the communities of the last save's now it
 * had another). *mark (md->n flags) gets the memories whose record may have changed, appeared
 * or gone. */
static int ltm_moved(const eg_model *md, const uint8_t *moved, uint8_t **mark)
{
    uint8_t *mk = malloc(md->n ? md->n : 1);
    if (!mk)
        return eg_error_set(EG_ENOMEM, "out of memory saving the pipeline");
    memcpy(mk, moved, md->n);
    for (size_t k = 0; k < md->nltm; k++)
        if (md->ltm[k].category_moved)
            mk[md->ltm[k].mem] = 1;
    *mark = mk;
    return 0;
}

/* the stored records of the marked memories that are no longer consolidated */
static int ltm_delete_gone(eg_store *st, const eg_model *md, const eg_save_since *since,
                           const uint8_t *base_status, const uint8_t *mark, eg_sync_stats *stats)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    for (size_t i = 0; i < since->nbase && i < md->n && !rc; i++) {
        if (!mark[i] || base_status[i] != EG_MS_CONSOLIDATED ||
            md->m[i].status == EG_MS_CONSOLIDATED)
            continue;
        if (!s &&
            sqlite3_prepare_v2(eg_store_db(st), "DELETE FROM ltm_record WHERE memory_rowid = ?1",
                               -1, &s, NULL) != SQLITE_OK)
            return eg__store_error(st, "could not save the long-term records");
        sqlite3_bind_int64(s, 1, md->m[i].rowid);
        if (sqlite3_step(s) != SQLITE_DONE)
            rc = eg__store_error(st, "could not save the long-term records");
        else
            stats->deleted += sqlite3_changes(eg_store_db(st));
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return rc;
}

static const eg_sync_table t_creative = {
    "creative",
    "creative_id, a, b, at, bridge, concept_a, concept_b, novelty, plausibility, strength",
    10,
    1,
    NULL,
    NULL,
    NULL,
    false};

static int rows_creative(void *ud, eg_sync *sy)
{
    save_ctx *c = ud;
    const eg_model *md = c->md;
    eg_cell v[10];
    for (size_t k = c->cr_from; k < md->ncr; k++) {
        const eg_creative *cr = &md->cr[k];
        v[0] = eg_cell_int((int64_t)k + 1);
        v[1] = eg_cell_int(md->m[cr->a].rowid);
        v[2] = eg_cell_int(md->m[cr->b].rowid);
        v[3] = eg_cell_int(cr->at);
        v[4] = eg_cell_text(eg_model_concept(md, cr->bridge));
        v[5] = eg_cell_text(eg_model_concept(md, cr->x));
        v[6] = eg_cell_text(eg_model_concept(md, cr->y));
        v[7] = eg_cell_real(cr->novelty);
        v[8] = eg_cell_real(cr->plausibility);
        v[9] = eg_cell_real(cr->strength);
        EMIT(sy, v);
    }
    return 0;
}

typedef struct named_id {
    int64_t id;
    const char *name;
    uint32_t c;
} named_id;

static int cmp_named_id(const void *x, const void *y)
{
    const named_id *a = x, *b = y;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return strcmp(a->name, b->name);
}

/* The stored id of every concept: a 62-bit digest of its name, so that a concept keeps its id
 * from run to run whatever else appears or leaves (the model numbers concepts by first
 * appearance, which shifts when a replay sees other memories: one deleted, one edited). Two
 * names with one digest (about
 * one chance in 10^8 at a million concepts) take the next free ids, in name order. */
static int stored_concept_ids(const eg_model *md, int64_t **out, bool *collided)
{
    size_t n = md->nconcepts;
    int64_t *cid = malloc((n ? n : 1) * sizeof *cid);
    named_id *v = malloc((n ? n : 1) * sizeof *v);
    if (!cid || !v) {
        free(cid);
        free(v);
        return eg_error_set(EG_ENOMEM, "out of memory saving concepts");
    }
    for (size_t c = 0; c < n; c++) {
        const char *name = eg_model_concept(md, (uint32_t)c);
        /* in [1, 2^62]: positive, and the next-free-id steps below cannot overflow */
        int64_t id = (int64_t)(XXH3_64bits(name, strlen(name)) >> 2) + 1;
        v[c] = (named_id){.id = id, .name = name, .c = (uint32_t)c};
    }
    qsort(v, n, sizeof *v, cmp_named_id);
    for (size_t k = 0; k < n; k++) {
        if (k && v[k].id <= v[k - 1].id) {
            v[k].id = v[k - 1].id + 1; /* a collision: the next free id */
            *collided = true;
        }
        cid[v[k].c] = v[k].id;
    }
    free(v);
    *out = cid;
    return 0;
}

/* After a resume: which memories' state differs from their base's (*moved, md->n flags; the new
 * ones all do) and each base memory's status then (*status, since->nbase of them): from the
 * snapshot file the model was read from (the memories on pages the run wrote compared with
 * it), else from the digests taken when it was read. The tests' build takes both and checks
 * that they agree. *status may be since->mem_status (not to be freed). */
static int memories_moved(const eg_model *md, const eg_save_since *since, uint8_t **moved,
                          uint8_t **status)
{
    uint8_t *mv = malloc(md->n ? md->n : 1), *st = NULL;
    int rc = 0;
    if (!mv)
        return eg_error_set(EG_ENOMEM, "out of memory saving the pipeline");
    bool by_file = since->mem_by_file;
    if (by_file) {
        if (!(st = malloc(since->nbase ? since->nbase : 1))) {
            free(mv);
            return eg_error_set(EG_ENOMEM, "out of memory saving the pipeline");
        }
        if ((rc = eg_snapshot_mems_moved(md, since->nbase, mv, st))) {
            if (!since->mem_digest) {
                free(mv);
                free(st);
                return rc;
            }
            by_file = false;
        }
    }
    for (size_t i = 0; i < md->n; i++) {
        if (i >= since->nbase) {
            mv[i] = 1;
            continue;
        }
        if (!since->mem_digest)
            continue;
        uint8_t d = mem_digest(&md->m[i]) != since->mem_digest[i];
        if (by_file && (d != mv[i] || st[i] != since->mem_status[i])) {
            rc = eg_error_set(EG_ESTORE,
                              "memory %zu: %s by the snapshot file's bytes, %s by its digest", i,
                              mv[i] ? "moved" : "unchanged", d ? "moved" : "unchanged");
            break;
        }
        mv[i] = d;
    }
    if (rc || !by_file) {
        free(st);
        st = since->mem_status;
    }
    if (rc) {
        free(mv);
        return rc;
    }
    *moved = mv;
    *status = st;
    return 0;
}

int eg_store_save_model(eg_store *st, const eg_model *md, int64_t now, const eg_save_since *since,
                        eg_sync_stats *stats)
{
    save_ctx c = {.md = md};
    int rc = 0;
    int64_t saved_at = since ? since->at : INT64_MIN;
    uint8_t *moved = NULL;       /* after a resume: each memory's state differs from its base's */
    uint8_t *base_status = NULL; /* and each base memory's status then */
    bool collided = false;
    memset(stats, 0, sizeof *stats);
    /* a resumed run's writes are scattered over indexes of every memory (a new memory's record
     * lands anywhere in ltm_record_column, its id anywhere in memory_id): at 1M memories a
     * day dirties about 5,000 pages, 80 MB, more than the default cache holds (spilled early,
     * a page changed again is written twice: ltm_record's save took 64 ms instead of 41) */
    if (since)
        eg_store_set_cache_mib(st, 256);
    eg_buf_init(&c.buf, 0);
    size_t maxk = md->n;
    if (md->njr > maxk)
        maxk = md->njr;
    if (md->npres + md->nrep > maxk)
        maxk = md->npres + md->nrep;
    if (md->concepts.n > maxk)
        maxk = md->concepts.n;
    if (has_mem_base(since)) { /* the concepts of the memories since: the chunks it compares */
        size_t nmc_new = 0;
        for (size_t i = since->nbase; i < md->n; i++)
            nmc_new += md->m[i].c_n;
        if (nmc_new > maxk)
            maxk = nmc_new;
    }
    if (md->nconcepts > maxk)
        maxk = md->nconcepts;
    if (md->nep > maxk)
        maxk = md->nep;
    if (!(c.keys = malloc((maxk ? maxk : 1) * sizeof *c.keys))) {
        rc = eg_error_set(EG_ENOMEM, "out of memory saving the pipeline");
        goto done;
    }
    if (!(c.scratch = malloc((md->n ? md->n : 1) * sizeof *c.scratch))) {
        rc = eg_error_set(EG_ENOMEM, "out of memory saving the pipeline");
        goto done;
    }
    if ((rc = stored_concept_ids(md, &c.cid, &collided)))
        goto done;
    /* pipeline, by rowid. A row is made of the memory's state, its episode's opener and its
     * concepts' stored ids: after a resume, a memory whose state is byte for byte its base has
     * the row the last save wrote, unless a digest collision moved a concept's id. */
    bool moved_only = has_mem_base(since) && !collided;
    if (moved_only && (rc = memories_moved(md, since, &moved, &base_status))) {
        if (rc == EG_ESTORE || rc == EG_ENOMEM) /* (the tests' build found them disagree) */
            goto done;
        /* the snapshot file could not be read again: every row is compared instead */
        eg_log(EG_LOG_WARN, "%s; the save compares every memory's row", eg_error_last()->message);
        moved_only = false;
        rc = 0;
    }
    c.nk = 0;
    for (size_t i = 0; i < md->n; i++) {
        if (!moved_only || moved[i])
            c.keys[c.nk++] = (pair64){md->m[i].rowid, 0, (uint32_t)i};
    }
    sort_keys(c.keys, c.nk);
    if ((rc = moved_only ? eg_table_sync_some(st, &t_pipeline, rows_pipeline, &c, stats)
                         : eg_table_sync(st, &t_pipeline, c.nk, rows_pipeline, &c, stats)))
        goto done;
    /* journeys, by memory and then in time order. A model resumed from a snapshot holds only
     * the lines made since (md->jr_base counts the older ones, stored as they are): they are
     * compared by key, numbered after the older ones. The line a memory whose status was not
     * final had about where it stood at the last now is the first one they replace (every
     * change of status writes a line, and a status not final ends with such a line again); a
     * journey only grows, so none needs rows deleted. */
    if (md->jr_base && !since) {
        rc =
            eg_error_set(EG_ESTORE, "a resumed model cannot be saved without its snapshot's state");
        goto done;
    }
    c.nk = 0;
    for (size_t k = 0; k < md->njr; k++)
        c.keys[c.nk++] = (pair64){md->m[md->jr[k].mem].rowid, 0, (uint32_t)k};
    sort_keys(c.keys, c.nk);
    if ((rc = md->jr_base ? eg_table_sync_some(st, &t_journey, rows_journey, &c, stats)
                          : eg_table_sync(st, &t_journey, c.nk, rows_journey, &c, stats)))
        goto done;
    /* presentations up to now, by memory, time and kind name (after a resume: those since
     * saved_at, the older ones being what that save wrote) */
    c.nk = 0;
    for (size_t k = 0; k < md->npres + md->nrep; k++) {
        const eg_presentation *p = k < md->npres ? &md->pres[k] : &md->rep[k - md->npres];
        if (p->kind != EG_PRES_RECALLED && p->at <= now && p->at > saved_at)
            c.keys[c.nk++] =
                (pair64){md->m[p->mem].rowid, p->at * 4 + kind_rank(p->kind), (uint32_t)k};
    }
    sort_keys(c.keys, c.nk);
    if ((rc = saved_at != INT64_MIN
                  ? eg_table_sync_some(st, &t_presentation, rows_presentation, &c, stats)
                  : eg_table_sync(st, &t_presentation, c.nk, rows_presentation, &c, stats)))
        goto done;
    /* concepts, by stored id. After a resume with the communities of the last save, only the
     * new concepts and those of the new memories can differ (a row is the name, the community
     * and the number of memories; memories are only added then): at 200k concepts the whole
     * table's comparison was 0.1 s of a run. */
    bool concepts_some = moved_only && md->comm_same && since->nconcepts_base <= md->nconcepts;
    c.nk = 0;
    if (concepts_some) {
        uint8_t *pick = calloc(md->nconcepts ? md->nconcepts : 1, 1);
        if (!pick) {
            rc = eg_error_set(EG_ENOMEM, "out of memory saving the pipeline");
            goto done;
        }
        for (size_t k = since->nconcepts_base; k < md->nconcepts; k++)
            pick[k] = 1;
        for (size_t i = since->nbase; i < md->n; i++)
            for (uint16_t k = 0; k < md->m[i].c_n; k++)
                pick[md->mc[md->m[i].c_off + k]] = 1;
        for (size_t k = 0; k < md->nconcepts; k++)
            if (pick[k])
                c.keys[c.nk++] = (pair64){c.cid[k], 0, (uint32_t)k};
        free(pick);
    } else {
        for (size_t k = 0; k < md->nconcepts; k++)
            c.keys[c.nk++] = (pair64){c.cid[k], 0, (uint32_t)k};
    }
    sort_keys(c.keys, c.nk);
    if ((rc = concepts_some ? eg_table_sync_some(st, &t_concept, rows_concept, &c, stats)
                            : eg_table_sync(st, &t_concept, c.nk, rows_concept, &c, stats)))
        goto done;
    /* their memories, in chunks of rowids. After a resume only the chunks that got a new
     * memory can differ (memories neither leave nor change their concepts then). */
    if (moved_only) {
        c.nk = 0;
        for (size_t i = since->nbase; i < md->n; i++) {
            const eg_mem *m = &md->m[i];
            for (uint16_t k = 0; k < m->c_n; k++) {
                uint32_t ci = md->mc[m->c_off + k];
                c.keys[c.nk++] = (pair64){c.cid[ci], m->rowid >> EG_POSTING_CHUNK_BITS, ci};
            }
        }
        sort_keys(c.keys, c.nk);
        rc = gather_chunks(&c)
                 ? EG_ENOMEM
                 : eg_table_sync_some(st, &t_concept_posting, rows_posting_some, &c, stats);
    } else {
        rc = eg_table_sync(st, &t_concept_posting, md->nmc, rows_posting_all, &c, stats);
    }
    if (rc)
        goto done;
    /* the two graphs. An edge changes only when touched (its last_at moves): those untouched
     * since the save at saved_at are stored as they are. Homeostasis alone scales and prunes
     * concept edges without touching them: after one, the concept graph is compared whole. */
    if ((rc = edge_order(md, saved_at, &c.order, &c.nk)) ||
        (rc = saved_at != INT64_MIN ? eg_table_sync_some(st, &t_assoc, rows_assoc, &c, stats)
                                    : eg_table_sync(st, &t_assoc, c.nk, rows_assoc, &c, stats)))
        goto done;
    free(c.order);
    c.order = NULL;
    {
        const eg_graph *g = &md->concepts;
        c.graph = g;
        bool some = moved_only && md->homeostasis_phases == since->homeostasis_phases;
        c.nk = 0;
        for (size_t k = 0; k < g->n; k++) {
            const eg_edge *e = &g->e[k];
            if (e->dead || (some && e->last_at <= saved_at))
                continue;
            int64_t a = c.cid[e->a], b = c.cid[e->b];
            c.keys[c.nk++] = (pair64){a < b ? a : b, a < b ? b : a, (uint32_t)k};
        }
        sort_keys(c.keys, c.nk);
        if ((rc = some ? eg_table_sync_some(st, &t_concept_edge, rows_edges, &c, stats)
                       : eg_table_sync(st, &t_concept_edge, c.nk, rows_edges, &c, stats)))
            goto done;
    }
    /* episodes: after a resume, the new ones and those whose state moved from the snapshot's
     * (an episode's row is its own state and its opener's rowid; episodes are never removed) */
    bool ep_some = since && since->ep_digest;
    c.nk = 0;
    for (size_t k = 0; k < md->nep; k++)
        if (!ep_some || k >= since->nep_base || ep_digest(&md->ep[k]) != since->ep_digest[k])
            c.keys[c.nk++] = (pair64){md->m[md->ep[k].opener].rowid, 0, (uint32_t)k};
    sort_keys(c.keys, c.nk);
    if ((rc = ep_some ? eg_table_sync_some(st, &t_episode, rows_episode, &c, stats)
                      : eg_table_sync(st, &t_episode, c.nk, rows_episode, &c, stats)))
        goto done;
    /* long-term memory, by rowid: after a resume, the records that may have moved (with
     * the communities of the last save's now to compare with) */
    bool ltm_some = moved_only && md->ltm_cat_prev;
    uint8_t *mark = NULL;
    if (ltm_some && (rc = ltm_moved(md, moved, &mark)))
        goto done;
    c.nk = 0;
    for (size_t k = 0; k < md->nltm; k++)
        if (!mark || mark[md->ltm[k].mem])
            c.keys[c.nk++] = (pair64){md->m[md->ltm[k].mem].rowid, 0, (uint32_t)k};
    sort_keys(c.keys, c.nk);
    rc = ltm_some ? eg_table_sync_some(st, &t_ltm, rows_ltm, &c, stats)
                  : eg_table_sync(st, &t_ltm, c.nk, rows_ltm, &c, stats);
    if (!rc && ltm_some)
        rc = ltm_delete_gone(st, md, since, base_status, mark, stats);
    free(mark);
    if (rc)
        goto done;
    /* creative associations: REM only appends them, so after a resume the new ones */
    c.cr_from = has_mem_base(since) && since->ncr_base <= md->ncr ? since->ncr_base : 0;
    if ((rc = c.cr_from ? eg_table_sync_some(st, &t_creative, rows_creative, &c, stats)
                        : eg_table_sync(st, &t_creative, md->ncr, rows_creative, &c, stats)))
        goto done;
    rc = eg_store_sim_set(st, "checkpoint", now);
done:
    if (since)
        eg_store_set_cache_mib(st, 64);
    free(moved);
    if (base_status != (since ? since->mem_status : NULL))
        free(base_status);
    free(c.chunk_post);
    free(c.order);
    free(c.keys);
    free(c.scratch);
    free(c.cid);
    eg_buf_free(&c.buf);
    return rc;
}
