/*
 * pipeline.c — the store side of the biological pipeline: loads the engine's inputs (staged
 * memories with their features and concepts, recall presentations) and saves its outputs
 * (statuses, journeys, presentations, concepts, both graphs, episodes, long-term records,
 * creative associations, the checkpoint) in the caller's transaction.
 *
 * Outputs are rewritten whole by every run: the engine recomputes them from the inputs, so a run
 * in k steps and a run in one step leave the same rows. Recall presentations are inputs and are
 * kept.
 */
#include "store/pipeline.h"
#include "store/postings.h"

#include "engram/error.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static int q_error(eg_store *st, const char *what)
{
    return eg_error_set(EG_ESTORE, "store \"%s\": %s: %s", eg_store_path(st), what,
                        sqlite3_errmsg(eg_store_db(st)));
}

int eg_store_checkpoint(eg_store *st, int64_t *at, bool *found)
{
    sqlite3_stmt *s = NULL;
    *found = false;
    if (sqlite3_prepare_v2(eg_store_db(st), "SELECT value FROM sim_state WHERE key = 'checkpoint'",
                           -1, &s, NULL) != SQLITE_OK)
        return q_error(st, "could not read the checkpoint");
    if (sqlite3_step(s) == SQLITE_ROW) {
        *at = sqlite3_column_int64(s, 0);
        *found = true;
    }
    sqlite3_finalize(s);
    return 0;
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

static int cmp_rowid(const void *a, const void *b, void *arg)
{
    const eg_model *md = arg;
    int64_t x = md->m[*(const uint32_t *)a].rowid, y = md->m[*(const uint32_t *)b].rowid;
    return x < y ? -1 : x > y;
}

int eg_store_load_model(eg_store *st, eg_model *md, int64_t now)
{
    sqlite3 *db = eg_store_db(st);
    sqlite3_stmt *s = NULL;
    uint32_t *by_rowid = NULL;
    int rc = 0, step;
    if (sqlite3_prepare_v2(
            db,
            "SELECT rowid, id, created_at, updated_at, concepts, importance, urgency, "
            "emotional_salience, sentiment, task_type, knowledge_type, region_hint, "
            "abstraction_level, late, arrived_at FROM memory WHERE status = 'staged' AND "
            "deleted_at_source IS NULL AND created_at <= ?1 "
            /* the canonical order (core/model.h): first presentation, then id */
            "ORDER BY CASE WHEN late AND arrived_at IS NOT NULL THEN arrived_at ELSE created_at "
            "END, id",
            -1, &s, NULL) != SQLITE_OK) {
        rc = q_error(st, "could not read memories for the pipeline");
        goto done;
    }
    sqlite3_bind_int64(s, 1, now);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        eg_mem m = {0};
        const char *names[512];
        size_t nn = 0;
        m.rowid = sqlite3_column_int64(s, 0);
        int64_t created = sqlite3_column_int64(s, 2);
        m.late = sqlite3_column_int(s, 13) != 0;
        m.t0 = m.late && sqlite3_column_type(s, 14) != SQLITE_NULL ? sqlite3_column_int64(s, 14)
                                                                   : created;
        json_t *arr = NULL;
        if (sqlite3_column_type(s, 4) != SQLITE_NULL)
            arr = json_loads((const char *)sqlite3_column_text(s, 4), 0, NULL);
        if (json_is_array(arr))
            add_names(arr, names, &nn, sizeof names / sizeof *names);
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
    if (step != SQLITE_DONE) {
        rc = q_error(st, "could not read memories for the pipeline");
        goto done;
    }
    sqlite3_finalize(s);
    s = NULL;
    /* recalls are presentations too (SPEC §8) */
    if (sqlite3_prepare_v2(db,
                           "SELECT memory_rowid, at FROM presentation WHERE kind = 'recalled' AND "
                           "at <= ?1 ORDER BY memory_rowid, at",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = q_error(st, "could not read recalls");
        goto done;
    }
    sqlite3_bind_int64(s, 1, now);
    by_rowid = malloc((md->n ? md->n : 1) * sizeof *by_rowid);
    if (!by_rowid) {
        rc = eg_error_set(EG_ENOMEM, "out of memory reading recalls");
        goto done;
    }
    for (size_t i = 0; i < md->n; i++)
        by_rowid[i] = (uint32_t)i;
    qsort_r(by_rowid, md->n, sizeof *by_rowid, cmp_rowid, md);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t rowid = sqlite3_column_int64(s, 0);
        size_t lo = 0, hi = md->n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (md->m[by_rowid[mid]].rowid < rowid)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < md->n && md->m[by_rowid[lo]].rowid == rowid &&
            (rc = eg_model_add_recall(md, by_rowid[lo], sqlite3_column_int64(s, 1))))
            goto done;
    }
done:
    free(by_rowid);
    sqlite3_finalize(s);
    return rc;
}

/* ---- saving ---- */

static int prep(eg_store *st, const char *sql, sqlite3_stmt **s)
{
    if (sqlite3_prepare_v2(eg_store_db(st), sql, -1, s, NULL) != SQLITE_OK)
        return q_error(st, "could not prepare a pipeline statement");
    return 0;
}

static int step_done(eg_store *st, sqlite3_stmt *s, const char *what)
{
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    return r == SQLITE_DONE ? 0 : q_error(st, what);
}

static void bind_time(sqlite3_stmt *s, int i, int64_t t, bool has)
{
    if (has)
        sqlite3_bind_int64(s, i, t);
    else
        sqlite3_bind_null(s, i);
}

/* Rows are inserted in primary-key order (B-tree appends, not random inserts), and the
 * secondary indexes are dropped while the tables are rewritten and built once at the end. */

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

/* keys[i] = (a, b, i) sorted: callers fill a and b */
static pair64 *alloc_keys(size_t n)
{
    return malloc((n ? n : 1) * sizeof(pair64));
}

int eg_store_save_model(eg_store *st, const eg_model *md, int64_t now)
{
    sqlite3_stmt *s = NULL;
    pair64 *keys = NULL;
    eg_buf list; /* a memory's concept list, a concept's posting blob */
    size_t nk;
    int rc;
    eg_buf_init(&list, 0);
    if ((rc = eg_store_exec(st, "DELETE FROM pipeline; DELETE FROM journey; DELETE FROM concept;"
                                "DELETE FROM assoc;"
                                "DELETE FROM concept_edge; DELETE FROM episode; DELETE FROM ltm;"
                                "DELETE FROM creative;"
                                "DELETE FROM presentation WHERE kind <> 'recalled';"
                                "DROP INDEX pipeline_status;"
                                "DROP INDEX assoc_b; DROP INDEX concept_edge_b;")))
        return rc;
    size_t maxk = md->n;
    if (md->njr > maxk)
        maxk = md->njr;
    if (md->npres + md->nrep > maxk)
        maxk = md->npres + md->nrep;
    if (md->assoc.n > maxk)
        maxk = md->assoc.n;
    if (md->concepts.n > maxk)
        maxk = md->concepts.n;
    if (!(keys = alloc_keys(maxk)))
        return eg_error_set(EG_ENOMEM, "out of memory saving the pipeline");
    /* pipeline state per memory */
    if ((rc = prep(st,
                   "INSERT INTO pipeline VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                   "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
                   &s)))
        goto done;
    for (size_t i = 0; i < md->n; i++)
        keys[i] = (pair64){md->m[i].rowid, 0, (uint32_t)i};
    qsort(keys, md->n, sizeof *keys, cmp_pair64);
    for (size_t o = 0; o < md->n; o++) {
        const eg_mem *m = &md->m[keys[o].i];
        sqlite3_bind_int64(s, 1, m->rowid);
        sqlite3_bind_text(s, 2, eg_mstatus_name((eg_mstatus)m->status), -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 3, m->wm_ticks);
        bind_time(s, 4, m->wm_entered_at, m->wm_ticks > 0);
        if (m->best_slot > 0)
            sqlite3_bind_int(s, 5, m->best_slot);
        else
            sqlite3_bind_null(s, 5);
        sqlite3_bind_double(s, 6, m->best_priority);
        if (m->best_rank > 0) {
            sqlite3_bind_int(s, 7, m->best_rank);
            sqlite3_bind_int(s, 8, m->best_of);
        } else {
            sqlite3_bind_null(s, 7);
            sqlite3_bind_null(s, 8);
        }
        bool enc = m->episode >= 0;
        bind_time(s, 9, m->encoded_at, enc);
        if (enc) {
            sqlite3_bind_int(s, 10, m->episode + 1);
            sqlite3_bind_double(s, 11, m->p_encode);
            sqlite3_bind_double(s, 12, m->stm_strength);
            sqlite3_bind_int(s, 13, m->hebbian_potential);
            sqlite3_bind_double(s, 14, m->cons_priority);
            sqlite3_bind_int64(s, 15, m->ready_at);
        } else {
            for (int k = 10; k <= 15; k++)
                sqlite3_bind_null(s, k);
        }
        sqlite3_bind_int(s, 16, m->replays);
        if (m->replays) {
            sqlite3_bind_double(s, 17, m->pre);
            sqlite3_bind_int(s, 18, m->associates);
        } else {
            sqlite3_bind_null(s, 17);
            sqlite3_bind_null(s, 18);
        }
        bool cons = m->status == EG_MS_CONSOLIDATED;
        bind_time(s, 19, m->consolidated_at, cons);
        if (cons)
            sqlite3_bind_double(s, 20, m->consolidated_strength);
        else
            sqlite3_bind_null(s, 20);
        bind_time(s, 21, m->forgotten_at, m->status == EG_MS_FORGOTTEN);
        sqlite3_bind_int(s, 22, m->recalls);
        sqlite3_bind_double(s, 23, m->damping);
        /* its concepts, as stored concept ids (the memory_concept view reads them) */
        eg_buf_reset(&list);
        eg_buf_append(&list, "[", 1);
        for (uint16_t k = 0; k < m->c_n; k++)
            eg_buf_printf(&list, k ? ",%u" : "%u", md->mc[m->c_off + k] + 1);
        if (eg_buf_append(&list, "]", 1)) {
            rc = eg_error_set(EG_ENOMEM, "out of memory saving pipeline state");
            goto done;
        }
        sqlite3_bind_text(s, 24, list.data, (int)list.len, SQLITE_STATIC);
        if ((rc = step_done(st, s, "could not save pipeline state")))
            goto done;
    }
    sqlite3_finalize(s);
    s = NULL;
    /* journeys, in the order they happened per memory */
    if ((rc = prep(st, "INSERT INTO journey VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &s)))
        goto done;
    {
        int32_t *seq = calloc(md->n ? md->n : 1, sizeof *seq);
        if (!seq) {
            rc = eg_error_set(EG_ENOMEM, "out of memory saving journeys");
            goto done;
        }
        for (size_t k = 0; k < md->njr; k++)
            keys[k] = (pair64){md->m[md->jr[k].mem].rowid, 0, (uint32_t)k};
        qsort(keys, md->njr, sizeof *keys, cmp_pair64); /* by memory, then in time order */
        for (size_t o = 0; o < md->njr && !rc; o++) {
            const eg_journey *j = &md->jr[keys[o].i];
            sqlite3_bind_int64(s, 1, md->m[j->mem].rowid);
            sqlite3_bind_int(s, 2, ++seq[j->mem]);
            sqlite3_bind_int64(s, 3, j->at);
            sqlite3_bind_text(s, 4, j->stage, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 5, j->event, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 6, md->details.data + j->detail_off, -1, SQLITE_STATIC);
            rc = step_done(st, s, "could not save a journey");
        }
        free(seq);
        if (rc)
            goto done;
    }
    sqlite3_finalize(s);
    s = NULL;
    /* presentations: created/updated (inputs, kept for activation) and replays */
    if ((rc = prep(st, "INSERT OR IGNORE INTO presentation VALUES (?1, ?2, ?3)", &s)))
        goto done;
    nk = 0;
    for (size_t k = 0; k < md->npres + md->nrep; k++) {
        const eg_presentation *p = k < md->npres ? &md->pres[k] : &md->rep[k - md->npres];
        if (p->kind != EG_PRES_RECALLED && p->at <= now)
            keys[nk++] = (pair64){md->m[p->mem].rowid, p->at * 4 + p->kind, (uint32_t)k};
    }
    qsort(keys, nk, sizeof *keys, cmp_pair64);
    for (size_t o = 0; o < nk && !rc; o++) {
        size_t k = keys[o].i;
        const eg_presentation *p = k < md->npres ? &md->pres[k] : &md->rep[k - md->npres];
        sqlite3_bind_int64(s, 1, md->m[p->mem].rowid);
        sqlite3_bind_int64(s, 2, p->at);
        sqlite3_bind_text(s, 3, eg_presentation_name(p->kind), -1, SQLITE_STATIC);
        rc = step_done(st, s, "could not save a presentation");
    }
    if (rc)
        goto done;
    sqlite3_finalize(s);
    s = NULL;
    /* concepts, each with its posting list: the rowids of its memories, newest first */
    if ((rc = prep(st, "INSERT INTO concept VALUES (?1, ?2, ?3, ?4, ?5)", &s)))
        goto done;
    for (size_t c = 0; c < md->nconcepts && !rc; c++) {
        size_t np = md->post_n[c];
        for (size_t k = 0; k < np; k++)
            keys[k] = (pair64){-md->m[md->postings[c][k]].rowid, 0, 0};
        qsort(keys, np, sizeof *keys, cmp_pair64);
        eg_buf_reset(&list);
        for (size_t k = 0; k < np; k++) {
            unsigned char le[EG_POSTING_BYTES];
            eg_posting_put(le, -keys[k].a);
            if (eg_buf_append(&list, le, sizeof le)) {
                rc = eg_error_set(EG_ENOMEM, "out of memory saving a posting list");
                goto done;
            }
        }
        sqlite3_bind_blob(s, 5, list.data ? list.data : "", (int)list.len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 1, (int64_t)c + 1);
        sqlite3_bind_text(s, 2, eg_model_concept(md, (uint32_t)c), -1, SQLITE_STATIC);
        const eg_communities *cm = md->comm_now.label ? &md->comm_now : &md->comm;
        if (c < cm->n && cm->label[c] != UINT32_MAX)
            sqlite3_bind_text(s, 3, eg_model_concept(md, cm->label[c]), -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 3);
        sqlite3_bind_int(s, 4, (int)md->post_n[c]);
        rc = step_done(st, s, "could not save a concept");
    }
    if (rc)
        goto done;
    sqlite3_finalize(s);
    s = NULL;
    /* the two graphs */
    for (int gi = 0; gi < 2 && !rc; gi++) {
        const eg_graph *g = gi ? &md->concepts : &md->assoc;
        if ((rc = prep(st,
                       gi ? "INSERT INTO concept_edge VALUES (?1, ?2, ?3, ?4, ?5)"
                          : "INSERT INTO assoc VALUES (?1, ?2, ?3, ?4, ?5)",
                       &s)))
            goto done;
        nk = 0;
        for (size_t k = 0; k < g->n; k++) {
            const eg_edge *e = &g->e[k];
            if (e->dead)
                continue;
            int64_t a = gi ? (int64_t)e->a + 1 : md->m[e->a].rowid;
            int64_t b = gi ? (int64_t)e->b + 1 : md->m[e->b].rowid;
            keys[nk++] = (pair64){a < b ? a : b, a < b ? b : a, (uint32_t)k};
        }
        qsort(keys, nk, sizeof *keys, cmp_pair64);
        for (size_t o = 0; o < nk && !rc; o++) {
            const eg_edge *e = &g->e[keys[o].i];
            sqlite3_bind_int64(s, 1, keys[o].a);
            sqlite3_bind_int64(s, 2, keys[o].b);
            sqlite3_bind_double(s, 3, e->w);
            sqlite3_bind_int(s, 4, e->coact);
            sqlite3_bind_int64(s, 5, e->last_at);
            rc = step_done(st, s, "could not save an association");
        }
        sqlite3_finalize(s);
        s = NULL;
    }
    if (rc)
        goto done;
    /* episodes */
    if ((rc = prep(st, "INSERT INTO episode VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", &s)))
        goto done;
    for (size_t k = 0; k < md->nep && !rc; k++) {
        const eg_episode *e = &md->ep[k];
        sqlite3_bind_int64(s, 1, (int64_t)k + 1);
        sqlite3_bind_int64(s, 2, e->started_at);
        sqlite3_bind_int64(s, 3, e->ended_at);
        sqlite3_bind_int(s, 4, e->size);
        if (e->goal_concept != UINT32_MAX)
            sqlite3_bind_text(s, 5, eg_model_concept(md, e->goal_concept), -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 5);
        sqlite3_bind_int(s, 6, e->tasks);
        sqlite3_bind_int(s, 7, e->actions);
        rc = step_done(st, s, "could not save an episode");
    }
    if (rc)
        goto done;
    sqlite3_finalize(s);
    s = NULL;
    /* long-term memory */
    if ((rc =
             prep(st, "INSERT INTO ltm VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)", &s)))
        goto done;
    for (size_t k = 0; k < md->nltm && !rc; k++) {
        const eg_ltm *l = &md->ltm[k];
        sqlite3_bind_int64(s, 1, md->m[l->mem].rowid);
        if (l->category != UINT32_MAX)
            sqlite3_bind_text(s, 2, eg_model_concept(md, l->category), -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 2);
        sqlite3_bind_text(s, 3, eg__knowledge_name(l->knowledge_type), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, eg__region_name(l->region), -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 5, l->abstraction);
        sqlite3_bind_int(s, 6, l->minicolumn);
        sqlite3_bind_int(s, 7, l->macrocolumn);
        sqlite3_bind_int(s, 8, l->column_rank);
        sqlite3_bind_double(s, 9, l->retrieval_strength);
        sqlite3_bind_text(s, 10, l->memory_age, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 11, l->state, -1, SQLITE_STATIC);
        rc = step_done(st, s, "could not save a long-term record");
    }
    if (rc)
        goto done;
    sqlite3_finalize(s);
    s = NULL;
    /* creative associations */
    if ((rc = prep(st,
                   "INSERT INTO creative (a, b, at, bridge, concept_a, concept_b, novelty, "
                   "plausibility, strength) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                   &s)))
        goto done;
    for (size_t k = 0; k < md->ncr && !rc; k++) {
        const eg_creative *c = &md->cr[k];
        sqlite3_bind_int64(s, 1, md->m[c->a].rowid);
        sqlite3_bind_int64(s, 2, md->m[c->b].rowid);
        sqlite3_bind_int64(s, 3, c->at);
        sqlite3_bind_text(s, 4, eg_model_concept(md, c->bridge), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, eg_model_concept(md, c->x), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, eg_model_concept(md, c->y), -1, SQLITE_STATIC);
        sqlite3_bind_double(s, 7, c->novelty);
        sqlite3_bind_double(s, 8, c->plausibility);
        sqlite3_bind_double(s, 9, c->strength);
        rc = step_done(st, s, "could not save a creative association");
    }
    if (rc)
        goto done;
    sqlite3_finalize(s);
    s = NULL;
    if ((rc = eg_store_exec(st, "CREATE INDEX pipeline_status ON pipeline(status);"
                                "CREATE INDEX assoc_b ON assoc(b);"
                                "CREATE INDEX concept_edge_b ON concept_edge(b);")))
        goto done;
    if ((rc = prep(st, "INSERT OR REPLACE INTO sim_state VALUES ('checkpoint', ?1)", &s)))
        goto done;
    sqlite3_bind_int64(s, 1, now);
    rc = step_done(st, s, "could not save the checkpoint");
done:
    free(keys);
    eg_buf_free(&list);
    sqlite3_finalize(s);
    return rc;
}
