/*
 * recall.c — the SQL of recall and trace (SPEC §8, §9): FTS5 BM25 candidates, concept, concept
 * graph and association lookups, presentations, recording recalls, and the rows a trace reads.
 *
 * Every lookup is an index range scan (rowid, concept id, memory rowid, FTS5 MATCH with a rowid
 * bound and LIMIT), so the cost of a recall grows with the candidates it looks at, not with the
 * store; only a concept's graph neighbours are read whole (the caller keeps the strongest).
 * Statements are prepared once per eg_recall_q and reset after each use, so a reader never holds a
 * statement mid-step between calls. Ranking and formatting are pipeline/recall.c's job.
 */
#include "store/recall.h"
#include "store/migrations.h"
#include "store/postings.h"
#include "util/utf8.h"

#include "engram/error.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    Q_LEXICAL,
    Q_MEMORY,
    Q_CONTENT,
    Q_CONCEPT,
    Q_CONCEPT_EDGES,
    Q_CONCEPT_POSTINGS,
    Q_ASSOC,
    Q_PRESENTATIONS,
    Q_BEGIN,
    Q_COMMIT,
    Q_MAX_ROWID,
    Q_DOC_FREQ,
    Q_COUNT
};

static const char *const sql_text[Q_COUNT] = {
    /* rowid order, not ORDER BY bm25(memory_fts): FTS5's rank order walks every doclist of
     * the query from the start whatever the rowid bound, the rowid order seeks to it */
    [Q_LEXICAL] = "SELECT rowid, -engram_bm25(memory_fts, ?5) FROM memory_fts WHERE memory_fts "
                  "MATCH ?1 AND rowid > ?3 AND rowid <= ?4 ORDER BY rowid DESC LIMIT ?2",
    /* whether the pipeline takes the memory: EG_PIPELINE_INPUT, its columns named for the join */
    [Q_MEMORY] = "SELECT m.id, (m.status = 'staged' OR m.skip_reason = 'out_of_window') AND "
                 "m.deleted_at_source IS NULL, m.created_at, m.updated_at, p.status, "
                 "p.concept_ids FROM memory m LEFT JOIN pipeline p ON p.memory_rowid = m.rowid "
                 "WHERE m.rowid = ?1",
    [Q_CONTENT] = "SELECT content FROM memory WHERE rowid = ?1",
    [Q_CONCEPT] = "SELECT concept_id, memories FROM concept WHERE name = ?1",
    [Q_CONCEPT_EDGES] = "SELECT e.b, e.weight, c.memories FROM concept_edge e JOIN concept c ON "
                        "c.concept_id = e.b WHERE e.a = ?1 UNION ALL SELECT e.a, e.weight, "
                        "c.memories FROM concept_edge e JOIN concept c ON c.concept_id = e.a "
                        "WHERE e.b = ?1",
    [Q_CONCEPT_POSTINGS] = "SELECT rowid, length(postings) FROM concept_posting WHERE "
                           "concept_id = ?1 AND chunk <= ?2 ORDER BY chunk DESC",
    [Q_ASSOC] = "SELECT b, weight FROM assoc WHERE a = ?1 UNION ALL SELECT a, weight FROM assoc "
                "WHERE b = ?1",
    [Q_PRESENTATIONS] = "SELECT at, kind FROM presentation WHERE memory_rowid = ?1 AND at <= ?2",
    [Q_BEGIN] = "BEGIN",
    [Q_COMMIT] = "COMMIT",
    /* the newest rowids first, not through memory_created (+): rows are mostly in time order,
     * so the first one created by ?1 is near the top (the top itself when ?1 is now) */
    [Q_MAX_ROWID] = "SELECT rowid FROM memory WHERE +created_at <= ?1 ORDER BY rowid DESC LIMIT 1",
    [Q_DOC_FREQ] = "SELECT docs FROM fts_term WHERE term = ?1",
};

struct eg_recall_q {
    eg_store *st;
    sqlite3_stmt *s[Q_COUNT];
    eg_buf id;        /* the last memory's id (eg_recall_row.id) */
    eg_buf cids;      /* the last memory's concept ids (eg_recall_row.concept_ids) */
    char pstatus[24]; /* the last memory's pipeline status */
    bool own_txn;     /* eg_recall_q_snapshot began the open transaction */
};

int eg_recall_q_open(eg_recall_q **out, eg_store *st)
{
    eg_recall_q *q = calloc(1, sizeof *q);
    int rc = 0;
    *out = NULL;
    if (!q)
        return eg_error_set(EG_ENOMEM, "out of memory preparing recall");
    q->st = st;
    /* a recall reads pages all over the store (rows, pipeline rows, presentations, the index's
     * doclists and document sizes): through a memory map as large as this SQLite allows (2 GiB
     * on Debian) instead of the store's 256 MiB, the pages it reads stay the page cache's
     * instead of being copied by a system call each (at 1M memories, a 2.9 GB store, that copy
     * was 12 % of a recall's time and sys time fell 0.74 -> 0.10 s for 1,000 recalls). Counted in
     * the process's RSS, as file pages it shares with the page cache. */
    sqlite3_exec(eg_store_db(st), "PRAGMA mmap_size=1099511627776", NULL, NULL, NULL);
    eg_buf_init(&q->id, 0);
    eg_buf_init(&q->cids, 0);
    for (int i = 0; i < Q_COUNT; i++)
        if (sqlite3_prepare_v3(eg_store_db(st), sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &q->s[i], NULL) != SQLITE_OK) {
            rc = eg__store_error(st, "could not prepare the recall queries");
            eg_error_hint("the store may predate the pipeline: open it with this engram's "
                          "`engram run` to migrate it");
            goto done;
        }
done:
    if (rc) {
        eg_recall_q_close(q);
        q = NULL;
    }
    *out = q;
    return rc;
}

void eg_recall_q_close(eg_recall_q *q)
{
    if (!q)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(q->s[i]);
    eg_buf_free(&q->id);
    eg_buf_free(&q->cids);
    free(q);
}

/* The statement i, reset and unbound. */
static sqlite3_stmt *use(eg_recall_q *q, int i)
{
    sqlite3_reset(q->s[i]);
    sqlite3_clear_bindings(q->s[i]);
    return q->s[i];
}

/* Steps s to the end; a row error becomes a store error naming what. Always resets s. */
static int finish(eg_recall_q *q, sqlite3_stmt *s, int step, int cb_rc, const char *what)
{
    int rc = cb_rc < 0 ? cb_rc : 0;
    if (!rc && cb_rc == 0 && step != SQLITE_DONE)
        rc = eg__store_error(q->st, what);
    sqlite3_reset(s);
    return rc;
}

int eg_recall_q_snapshot(eg_recall_q *q, bool on)
{
    sqlite3 *db = eg_store_db(q->st);
    if (on ? !sqlite3_get_autocommit(db) : !q->own_txn)
        return 0; /* inside the caller's transaction, or none of ours is open */
    sqlite3_stmt *s = use(q, on ? Q_BEGIN : Q_COMMIT);
    int step = sqlite3_step(s);
    q->own_txn = on && step == SQLITE_DONE;
    return finish(q, s, step, 0, on ? "could not begin a read" : "could not end a read");
}

int eg_recall_q_lexical(eg_recall_q *q, const char *match, const int64_t *hits, int nhits,
                        int64_t min_rowid, int64_t max_rowid, int limit,
                        int (*fn)(void *ud, int64_t rowid, double score), void *ud)
{
    sqlite3_stmt *s = use(q, Q_LEXICAL);
    int step, r = 0;
    sqlite3_bind_text(s, 1, match, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, limit);
    sqlite3_bind_int64(s, 3, min_rowid);
    sqlite3_bind_int64(s, 4, max_rowid);
    if (nhits > 0)
        sqlite3_bind_blob(s, 5, hits, nhits * (int)sizeof *hits, SQLITE_STATIC);
    while (r == 0 && (step = sqlite3_step(s)) == SQLITE_ROW)
        r = fn(ud, sqlite3_column_int64(s, 0), sqlite3_column_double(s, 1));
    return finish(q, s, r ? SQLITE_DONE : step, r, "full-text search failed");
}

int eg_recall_q_doc_freq(eg_recall_q *q, const char *term, int64_t *docs)
{
    sqlite3_stmt *s = use(q, Q_DOC_FREQ);
    *docs = 0;
    sqlite3_bind_text(s, 1, term, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        *docs = sqlite3_column_int64(s, 0);
        step = SQLITE_DONE;
    }
    return finish(q, s, step, 0, "could not read the full-text index's terms");
}

int eg_recall_q_max_rowid(eg_recall_q *q, int64_t at, int64_t *rowid)
{
    sqlite3_stmt *s = use(q, Q_MAX_ROWID);
    *rowid = 0;
    sqlite3_bind_int64(s, 1, at);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        *rowid = sqlite3_column_int64(s, 0);
        step = SQLITE_DONE;
    }
    return finish(q, s, step, 0, "could not read the memory table");
}

int eg_recall_q_memory(eg_recall_q *q, int64_t rowid, eg_recall_row *out)
{
    sqlite3_stmt *s = use(q, Q_MEMORY);
    int rc = 0;
    memset(out, 0, sizeof *out);
    sqlite3_bind_int64(s, 1, rowid);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 0);
        const char *ps = (const char *)sqlite3_column_text(s, 4);
        eg_buf_reset(&q->id);
        if (eg_buf_append(&q->id, id ? id : "", id ? (size_t)sqlite3_column_bytes(s, 0) : 0))
            rc = eg_error_set(EG_ENOMEM, "out of memory reading a memory");
        out->found = true;
        out->id = q->id.data;
        /* staged rows always have a created_at; a row without one is never recalled */
        out->recallable = sqlite3_column_int(s, 1) != 0 && sqlite3_column_type(s, 2) != SQLITE_NULL;
        out->created_at = sqlite3_column_int64(s, 2);
        out->has_updated = sqlite3_column_type(s, 3) != SQLITE_NULL;
        out->updated_at = sqlite3_column_int64(s, 3);
        if (ps) {
            snprintf(q->pstatus, sizeof q->pstatus, "%s", ps);
            out->pipeline_status = q->pstatus;
        }
        const char *cids = (const char *)sqlite3_column_text(s, 5);
        eg_buf_reset(&q->cids);
        if (cids && eg_buf_append(&q->cids, cids, (size_t)sqlite3_column_bytes(s, 5) + 1))
            rc = eg_error_set(EG_ENOMEM, "out of memory reading a memory");
        out->concept_ids = cids ? q->cids.data : NULL;
        step = SQLITE_DONE;
    }
    return finish(q, s, step, rc, "could not read a memory");
}

int eg_recall_q_content(eg_recall_q *q, int64_t rowid, eg_buf *out)
{
    sqlite3_stmt *s = use(q, Q_CONTENT);
    int rc = 0;
    sqlite3_bind_int64(s, 1, rowid);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(s, 0);
        if (t && eg_buf_append(out, t, (size_t)sqlite3_column_bytes(s, 0)))
            rc = eg_error_set(EG_ENOMEM, "out of memory reading a memory's content");
        step = SQLITE_DONE;
    }
    return finish(q, s, step, rc, "could not read a memory's content");
}

int eg_recall_q_concept(eg_recall_q *q, const char *name, int64_t *concept_id, int64_t *memories,
                        bool *found)
{
    sqlite3_stmt *s = use(q, Q_CONCEPT);
    *found = false;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        *found = true;
        *concept_id = sqlite3_column_int64(s, 0);
        *memories = sqlite3_column_int64(s, 1);
        step = SQLITE_DONE;
    }
    return finish(q, s, step, 0, "could not look up a concept");
}

int eg_recall_q_concept_edges(eg_recall_q *q, int64_t concept_id,
                              int (*fn)(void *ud, int64_t other, double weight, int64_t memories),
                              void *ud)
{
    sqlite3_stmt *s = use(q, Q_CONCEPT_EDGES);
    int step, r = 0;
    sqlite3_bind_int64(s, 1, concept_id);
    while (r == 0 && (step = sqlite3_step(s)) == SQLITE_ROW)
        r = fn(ud, sqlite3_column_int64(s, 0), sqlite3_column_double(s, 1),
               sqlite3_column_int64(s, 2));
    return finish(q, s, r ? SQLITE_DONE : step, r, "could not read the concept graph");
}

int eg_recall_q_concept_memories(eg_recall_q *q, int64_t concept_id, int64_t max_rowid, int limit,
                                 int (*fn)(void *ud, int64_t rowid), void *ud)
{
    /* the chunks newest first, each a blob of 8-byte little-endian rowids, newest first: only
     * the head needed is read (blob I/O), so a concept in half the store costs no more than a
     * rare one */
    sqlite3_stmt *s = use(q, Q_CONCEPT_POSTINGS);
    sqlite3_blob *b = NULL;
    unsigned char buf[64 * EG_POSTING_BYTES];
    int step = SQLITE_DONE, r = 0, done = 0;
    if (limit <= 0 || max_rowid < 0)
        return 0;
    sqlite3_bind_int64(s, 1, concept_id);
    sqlite3_bind_int64(s, 2, max_rowid >> EG_POSTING_CHUNK_BITS);
    while (r == 0 && done < limit && (step = sqlite3_step(s)) == SQLITE_ROW) {
        sqlite3_int64 rowid = sqlite3_column_int64(s, 0);
        int total = sqlite3_column_int(s, 1) / EG_POSTING_BYTES, at = 0;
        int orc = b ? sqlite3_blob_reopen(b, rowid)
                    : sqlite3_blob_open(eg_store_db(q->st), "main", "concept_posting", "postings",
                                        rowid, 0, &b);
        if (orc != SQLITE_OK) {
            r = eg__store_error(q->st, "could not read the memories of a concept");
            break;
        }
        while (!r && at < total && done < limit) {
            int n = total - at < 64 ? total - at : 64;
            if (n > limit - done)
                n = limit - done;
            if (sqlite3_blob_read(b, buf, n * EG_POSTING_BYTES, at * EG_POSTING_BYTES) !=
                SQLITE_OK) {
                r = eg__store_error(q->st, "could not read the memories of a concept");
                break;
            }
            for (int i = 0; i < n && !r; i++) {
                int64_t m = eg_posting_get(buf + i * EG_POSTING_BYTES);
                if (m > max_rowid) /* (newer than the recall's time: not counted) */
                    continue;
                r = fn(ud, m);
                done++;
            }
            at += n;
        }
    }
    sqlite3_blob_close(b);
    if (r || done >= limit)
        step = SQLITE_DONE;
    return finish(q, s, step, r, "could not read the memories of a concept");
}

int eg_recall_q_assoc(eg_recall_q *q, int64_t rowid,
                      int (*fn)(void *ud, int64_t other, double weight), void *ud)
{
    sqlite3_stmt *s = use(q, Q_ASSOC);
    int step, r = 0;
    sqlite3_bind_int64(s, 1, rowid);
    while (r == 0 && (step = sqlite3_step(s)) == SQLITE_ROW)
        r = fn(ud, sqlite3_column_int64(s, 0), sqlite3_column_double(s, 1));
    return finish(q, s, r ? SQLITE_DONE : step, r, "could not read a memory's associations");
}

int eg_recall_q_presentations(eg_recall_q *q, int64_t rowid, int64_t at,
                              int (*fn)(void *ud, int64_t t, const char *kind), void *ud)
{
    sqlite3_stmt *s = use(q, Q_PRESENTATIONS);
    int step, r = 0;
    sqlite3_bind_int64(s, 1, rowid);
    sqlite3_bind_int64(s, 2, at);
    while (r == 0 && (step = sqlite3_step(s)) == SQLITE_ROW)
        r = fn(ud, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1));
    return finish(q, s, r ? SQLITE_DONE : step, r, "could not read a memory's presentations");
}

int eg_store_recall_rehearse(eg_store *st, const int64_t *rowids, size_t n, int64_t at)
{
    sqlite3_stmt *s = NULL;
    int rc;
    if (!n)
        return 0;
    if ((rc = eg_store_begin(st)))
        return rc;
    if (sqlite3_prepare_v2(eg_store_db(st),
                           "INSERT OR IGNORE INTO presentation VALUES (?1, ?2, 'recalled')", -1, &s,
                           NULL) != SQLITE_OK) {
        rc = eg__store_error(st, "could not record a recall");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(s, 1, rowids[i]);
        sqlite3_bind_int64(s, 2, at);
        if (sqlite3_step(s) != SQLITE_DONE) {
            rc = eg__store_error(st, "could not record a recall");
            if ((sqlite3_errcode(eg_store_db(st)) & 0xff) == SQLITE_READONLY)
                eg_error_hint("`engram recall --no-rehearse` answers without recording the recall "
                              "(a read-only store)");
            goto done;
        }
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    s = NULL;
    rc = eg_store_commit(st);
    return rc;
done:
    sqlite3_finalize(s);
    eg_store_rollback(st);
    return rc;
}

/* ---- trace ---- */

json_t *eg_store_json_text(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j)
        return j;
    char *clean = eg_utf8_scrub(s, n);
    if (clean)
        j = json_string(clean);
    free(clean);
    return j;
}

/* The current row of s as an object of its columns (integers, reals, text, null). */
static json_t *row_object(sqlite3_stmt *s)
{
    json_t *o = json_object();
    for (int i = 0; o && i < sqlite3_column_count(s); i++) {
        json_t *v;
        switch (sqlite3_column_type(s, i)) {
        case SQLITE_INTEGER:
            v = json_integer(sqlite3_column_int64(s, i));
            break;
        case SQLITE_FLOAT:
            v = json_real(sqlite3_column_double(s, i));
            break;
        case SQLITE_NULL:
            v = json_null();
            break;
        default:
            v = eg_store_json_text((const char *)sqlite3_column_text(s, i),
                                   (size_t)sqlite3_column_bytes(s, i));
            if (!v)
                v = json_null(); /* out of memory */
        }
        json_object_set_new(o, sqlite3_column_name(s, i), v);
    }
    return o;
}

/* Runs sql with ?1 bound to the text key or the integer ikey, and stores under name the first
 * row (as_array false: an object or null) or all rows (as_array true: an array). */
static int facts(eg_store *st, json_t *out, const char *name, const char *sql, const char *key,
                 int64_t ikey, bool as_array)
{
    sqlite3_stmt *s = NULL;
    json_t *v = as_array ? json_array() : json_null();
    int rc = 0, step;
    if (sqlite3_prepare_v2(eg_store_db(st), sql, -1, &s, NULL) != SQLITE_OK) {
        rc = eg__store_error(st, "could not prepare the trace queries");
        goto done;
    }
    if (key)
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, ikey);
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (as_array) {
            json_array_append_new(v, row_object(s));
            continue;
        }
        json_decref(v);
        v = row_object(s);
        step = SQLITE_DONE;
        break;
    }
    if (step != SQLITE_DONE)
        rc = eg__store_error(st, "could not read a memory's trace");
done:
    json_object_set_new(out, name, v);
    sqlite3_finalize(s);
    return rc;
}

int eg_store_trace_facts(eg_store *st, const char *id, json_t **out)
{
    json_t *o = json_object();
    int rc;
    *out = NULL;
    if (!o)
        return eg_error_set(EG_ENOMEM, "out of memory tracing a memory");
    /* every fact from one state of the store: a run committing between two of the reads would
     * mix its outputs with the last run's (serve reads inside its own transaction already) */
    bool own = sqlite3_get_autocommit(eg_store_db(st)) != 0;
    if (own && (rc = eg_store_exec(st, "BEGIN"))) {
        json_decref(o);
        return rc;
    }
    if ((rc = facts(st, o, "memory",
                    "SELECT m.rowid, m.id, m.source_system, m.length_chars, m.created_at, "
                    "m.updated_at, m.status, m.skip_reason, m.deleted_at_source, m.memory_type, "
                    "s.importance_score, s.activation_strength, m.concepts, m.importance, "
                    "m.urgency, m.emotional_salience, m.sentiment, m.task_type, m.knowledge_type, "
                    "m.region_hint, m.abstraction_level, m.late, m.arrived_at, "
                    "coalesce(s.processed_at, m.processed_at) AS processed_at, m.first_seen_at "
                    "FROM memory m LEFT JOIN staging s ON s.memory_rowid = m.rowid "
                    "WHERE m.id = ?1",
                    id, 0, false)) ||
        (rc =
             facts(st, o, "source",
                   "SELECT length(content) AS length_chars, created_at FROM memories WHERE id = ?1",
                   id, 0, false)) ||
        /* an import line by the id of its raw JSON: an integer id as its text, as import
         * takes it */
        (rc = facts(st, o, "quarantine",
                    "SELECT source, ref, field, reason, at FROM quarantine WHERE ref = ?1 OR "
                    "(source LIKE 'import:%' AND json_valid(CAST(raw AS TEXT)) AND "
                    "CAST(json_extract(CAST(raw AS TEXT), '$.id') AS TEXT) = ?1) "
                    "ORDER BY ref <> ?1, qid LIMIT 1",
                    id, 0, false)) ||
        (rc = facts(st, o, "checkpoint", "SELECT value AS at FROM sim_state WHERE key = ?1",
                    "checkpoint", 0, false)))
        goto done;
    json_t *m = json_object_get(o, "memory");
    json_int_t rowid = json_is_object(m) ? json_integer_value(json_object_get(m, "rowid")) : 0;
    if ((rc = facts(st, o, "pipeline", "SELECT * FROM pipeline WHERE memory_rowid = ?1", NULL,
                    rowid, false)) ||
        (rc = facts(st, o, "journey",
                    "SELECT seq, at, stage, event, detail FROM journey WHERE memory_rowid = ?1 "
                    "ORDER BY seq",
                    NULL, rowid, true)) ||
        (rc = facts(st, o, "ltm", EG_LTM_SELECT EG_LTM_ONE EG_LTM_JOIN, NULL, rowid, false)) ||
        (rc = facts(st, o, "presentations",
                    "SELECT at, kind FROM presentation WHERE memory_rowid = ?1 ORDER BY at, kind",
                    NULL, rowid, true)))
        goto done;
    json_t *p = json_object_get(o, "pipeline");
    json_t *ep = json_is_object(p) ? json_object_get(p, "episode_id") : NULL;
    rc = facts(st, o, "episode", "SELECT * FROM episode WHERE episode_id = ?1", NULL,
               json_is_integer(ep) ? json_integer_value(ep) : -1, false);
done:
    if (own)
        eg_store_exec(st, "COMMIT"); /* (a read: nothing to keep or lose) */
    if (rc)
        json_decref(o);
    else
        *out = o;
    return rc;
}
