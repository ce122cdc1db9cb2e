/*
 * ingest.c — moves rows from the source into the store and stages them (SPEC §4, §5).
 *
 * One ingest is one store transaction: the rows, their staging, the quarantine entries, the FTS
 * index and the watermark are committed together, or nothing is. A read that fails because the
 * source went away is rolled back and retried from a fresh connection with backoff; keyed upserts
 * make the retry (and any overlap from the lookback) idempotent. The calling thread reads, two
 * stager threads stage, one writer thread stores, in the reader's order (scan_and_write). Not
 * here: how a source reads (source/), how rows are stored (store/), what staging computes
 * (stage/staging.c).
 */
#include "engram/engram.h"

#include "engram/config.h"
#include "core/conninfo.h"
#include "source/source.h"
#include "stage/concepts.h"
#include "stage/staging.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/idset.h"
#include "util/chan.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A unit of work handed from the reader (the source) through a stager (staging) to the writer
 * (store): a copy of a batch of records, then their staging, and the rows the source rejected.
 * An item is handed over at WORK_ROWS rows or once its rows' text passes WORK_BYTES (like the
 * PostgreSQL source's batches), so a table of large rows does not make items of gigabytes.
 * Work items are recycled through a free channel, so memory stays bounded by WORK_ITEMS
 * items; every channel holds them all, so no push ever waits. */
enum { WORK_ROWS = 4096, WORK_ITEMS = 6, STAGERS = 2 };
#define WORK_BYTES ((size_t)64 << 20)

typedef struct work {
    uint64_t seq; /* the order the reader filled it in: the writer stores items in this order */
    eg_batch rows;
    eg_staged *staged;   /* WORK_ROWS entries */
    size_t *concepts_at; /* offset of the row's concepts in `concepts`, or SIZE_MAX */
    eg_buf concepts;     /* NUL-separated JSON arrays */
    eg_buf rejects;      /* triples of NUL-terminated strings: row id, field, reason */
    size_t nrejects;
    /* what staging found, counted for the report by the writer */
    int64_t nstaged, skipped[EG_REPORT_SKIPS];
    unsigned issues[4];
    int rc; /* a staging error (its text in err) */
    eg_error err;
} work;

typedef struct ingest_ctx {
    eg_store *st;
    const eg_config *cfg;
    const eg_ingest_opts *opts;
    eg_ingest_report *rep;
    eg_concepts *concepts;
    eg_idset *seen; /* --full only */
    /* A version older than the stored one (EG_PUT_OLDER) is a duplicate id only when the read
     * also delivers the stored version (or a later one); when it does not, the row's key moved
     * back at the source and the older version is what the source holds now. Such versions are
     * held (the latest per id) until the read ends, then replace the stored one (resolve_held).
     * Only for reads that deliver every version at or after since: a table scan, not the change
     * log. The writer thread owns these until it is joined. */
    bool hold_older;
    int64_t since;
    eg_idset *confirmed; /* ids this read stored, or found unchanged */
    eg_idset *held;      /* id -> its index in held_rows, or -1 once the read confirmed it */
    eg_batch held_rows;
    const char *source_system;
    const char *source_key; /* eg_source_key: the source the rows are read from */
    const char *source_kind;
    int64_t window_start;
    int64_t max_key;
    bool any_key;
    bool open_failed;
    uint64_t rng; /* jitter of the retry backoff: not part of any result */

    /* reader -> stagers -> writer: the reader copies the source's rows into work items, two
     * stager threads stage them (one concepts extractor each: a stemmer is not shared), the
     * writer stores them in the reader's order */
    work items[WORK_ITEMS];
    eg_chan stage, full, free;
    work *cur; /* being filled by the reader */
    uint64_t next_seq;
    pthread_t stagers[STAGERS];
    eg_concepts *stager_concepts[STAGERS];
    int nstagers;
    pthread_t writer;
    /* a first load from the store's own table: the reader reads through the store's
     * connection, and each side holds db_lock while it uses it */
    bool shared_db;
    pthread_mutex_t db_lock;
    atomic_int writer_rc;  /* first error of the writer, 0 while fine */
    eg_error writer_error; /* its last error, copied to the reader's at the end */
} ingest_ctx;

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static void count_issues(work *w, unsigned issues)
{
    w->issues[0] += !!(issues & EG_ISSUE_METADATA_INVALID);
    w->issues[1] += !!(issues & EG_ISSUE_METADATA_NOT_OBJECT);
    w->issues[2] += !!(issues & EG_ISSUE_BLANK_CONTENT);
    w->issues[3] += !!(issues & EG_ISSUE_UPDATED_BEFORE_CREATED);
}

/* the staging counts of a stored item, into the report (the writer's thread) */
static void add_counts(eg_ingest_report *rep, const work *w)
{
    rep->staged += w->nstaged;
    for (int k = 0; k < EG_REPORT_SKIPS; k++)
        rep->skipped[k] += w->skipped[k];
    rep->metadata_invalid += w->issues[0];
    rep->metadata_not_object += w->issues[1];
    rep->blank_content += w->issues[2];
    rep->updated_before_created += w->issues[3];
}

static void work_reset(work *w)
{
    eg_batch_reset(&w->rows);
    eg_buf_reset(&w->concepts);
    eg_buf_reset(&w->rejects);
    w->nrejects = 0;
    w->nstaged = 0;
    memset(w->skipped, 0, sizeof w->skipped);
    memset(w->issues, 0, sizeof w->issues);
    w->rc = 0;
}

/* Stages the rows of w (a stager thread's work; concepts: its own extractor, buf: its scratch) */
static int stage_work(ingest_ctx *c, work *w, eg_concepts *concepts, eg_buf *buf)
{
    int rc = 0;
    for (size_t i = 0; i < w->rows.n && !rc; i++) {
        eg_staged *g = &w->staged[i];
        eg_buf_reset(buf);
        if ((rc = eg_stage_record(&w->rows.rows[i], c->opts->now, c->window_start, concepts, g,
                                  buf)))
            break;
        if (g->skip)
            w->skipped[(int)g->skip < (int)EG_REPORT_SKIPS ? (int)g->skip : 0]++;
        else
            w->nstaged++;
        count_issues(w, g->issues);
        w->concepts_at[i] = SIZE_MAX;
        if (eg_skip_in_pipeline(g->skip) && buf->data) {
            w->concepts_at[i] = w->concepts.len;
            rc = eg_buf_append(&w->concepts, buf->data, buf->len + 1);
        }
    }
    return rc;
}

typedef struct stager_arg {
    ingest_ctx *c;
    int k;
} stager_arg;

static void *stager_main(void *ud)
{
    stager_arg *a = ud;
    ingest_ctx *c = a->c;
    eg_buf buf;
    eg_buf_init(&buf, 0);
    work *w;
    while ((w = eg_chan_pop(&c->stage))) {
        if (!atomic_load(&c->writer_rc) &&
            (w->rc = stage_work(c, w, c->stager_concepts[a->k], &buf)))
            w->err = *eg_error_last();
        eg_chan_push(&c->full, w);
    }
    eg_buf_free(&buf);
    return NULL;
}

static int64_t record_key(const eg_record *r)
{
    return r->has_updated ? r->updated_at : r->created_at;
}

/* Notes what storing r did, for resolve_held (the writer's thread). */
static int track_version(ingest_ctx *c, const eg_record *r, eg_put_result res)
{
    int64_t at;
    bool held = eg_idset_get(c->held, r->id, r->id_len, &at);
    if (res != EG_PUT_OLDER)
        return held ? eg_idset_put(c->held, r->id, r->id_len, -1)
                    : eg_idset_add(c->confirmed, r->id, r->id_len);
    /* a duplicate of a version this read delivered; or a row read for its created_at alone
     * (clock skew), whose stored version lies before since and need not be in this read */
    if (eg_idset_has(c->confirmed, r->id, r->id_len) || record_key(r) < c->since)
        return 0;
    if (held && (at < 0 || record_key(&c->held_rows.rows[at]) > record_key(r)))
        return 0;
    int64_t k = (int64_t)c->held_rows.n;
    int rc = eg_batch_add(&c->held_rows, r);
    return rc ? rc : eg_idset_put(c->held, r->id, r->id_len, k);
}

/* Stores each held version whose id the read did not confirm: the stored version is gone from
 * the source, and this is the latest the source holds (regression: an update that moved a row's
 * updated_at back was never stored, not even by --full, and was reported as a duplicate id). */
static int resolve_held(ingest_ctx *c)
{
    eg_buf buf;
    eg_buf_init(&buf, 0);
    int rc = 0;
    for (size_t i = 0; i < c->held_rows.n && !rc; i++) {
        const eg_record *r = &c->held_rows.rows[i];
        int64_t at;
        if (!eg_idset_get(c->held, r->id, r->id_len, &at) || at != (int64_t)i)
            continue; /* confirmed, or a later version of the id is held */
        eg_staged g;
        eg_put_result res;
        eg_buf_reset(&buf);
        if ((rc = eg_stage_record(r, c->opts->now, c->window_start, c->concepts, &g, &buf)))
            break;
        const char *concepts = eg_skip_in_pipeline(g.skip) && buf.data ? buf.data : NULL;
        rc = eg_store_memory_replace(c->st, r, &g, concepts, c->source_system, c->source_key,
                                     c->opts->now, &res);
        if (!rc && res == EG_PUT_UPDATED) { /* it was counted as an older version */
            c->rep->updated++;
            c->rep->unchanged--;
            c->rep->older_versions--;
        }
    }
    eg_buf_free(&buf);
    return rc;
}

/* The writer thread: stores what the reader staged, in order, on the store's connection (which
 * the reader does not touch until the writer is joined, but to read a first load through it,
 * under db_lock). After an error it keeps draining so
 * that the reader never blocks; the reader sees writer_rc and stops the scan. */
static void *writer_main(void *ud)
{
    ingest_ctx *c = ud;
    eg_ingest_report *rep = c->rep;
    work *w, *held[WORK_ITEMS];
    size_t nheld = 0;
    uint64_t next = 0;
    for (;;) {
        /* the next item in the reader's order: the stagers may finish them out of order */
        w = NULL;
        for (size_t k = 0; k < nheld && !w; k++)
            if (held[k]->seq == next) {
                w = held[k];
                held[k] = held[--nheld];
            }
        if (!w) {
            work *got = eg_chan_pop(&c->full);
            if (!got)
                break;
            held[nheld++] = got;
            continue;
        }
        next++;
        int rc = atomic_load(&c->writer_rc);
        if (!rc && w->rc) { /* a stager's error, as that thread set it */
            *(eg_error *)eg_error_last() = w->err;
            rc = w->rc;
        }
        if (!rc)
            add_counts(rep, w);
        if (c->shared_db)
            pthread_mutex_lock(&c->db_lock);
        const char *p = w->rejects.data;
        for (size_t i = 0; i < w->nrejects && !rc; i++) {
            const char *id = p, *field = id + strlen(id) + 1, *reason = field + strlen(field) + 1;
            p = reason + strlen(reason) + 1;
            rc = eg_store_quarantine(c->st, c->opts->now, c->source_kind, id, field, reason, NULL,
                                     0);
            rep->rejected += !rc;
        }
        for (size_t i = 0; i < w->rows.n && !rc; i++) {
            eg_put_result res;
            const char *concepts =
                w->concepts_at[i] == SIZE_MAX ? NULL : w->concepts.data + w->concepts_at[i];
            rc = eg_store_memory_put(c->st, &w->rows.rows[i], &w->staged[i], concepts,
                                     c->source_system, c->source_key, c->opts->now, &res);
            rep->inserted += res == EG_PUT_INSERTED && !rc;
            rep->updated += res == EG_PUT_UPDATED && !rc;
            rep->unchanged += (res == EG_PUT_UNCHANGED || res == EG_PUT_OLDER) && !rc;
            rep->older_versions += res == EG_PUT_OLDER && !rc;
            if (!rc && c->hold_older)
                rc = track_version(c, &w->rows.rows[i], res);
        }
        if (c->shared_db)
            pthread_mutex_unlock(&c->db_lock);
        if (rc && !atomic_load(&c->writer_rc)) {
            c->writer_error = *eg_error_last();
            atomic_store(&c->writer_rc, rc);
        }
        work_reset(w);
        eg_chan_push(&c->free, w);
    }
    return NULL;
}

/* Hands the current work item to the stagers (then the writer) and takes a free one. */
static int flush_work(ingest_ctx *c)
{
    if (c->cur && (c->cur->rows.n || c->cur->nrejects)) {
        c->cur->seq = c->next_seq++;
        eg_chan_push(&c->stage, c->cur);
        c->cur = NULL;
    }
    if (!c->cur)
        c->cur = eg_chan_pop(&c->free);
    return atomic_load(&c->writer_rc);
}

static int on_batch(const eg_batch *b, void *ud)
{
    ingest_ctx *c = ud;
    eg_ingest_report *rep = c->rep;
    int rc;
    for (size_t i = 0; i < b->n; i++) {
        const eg_record *r = &b->rows[i];
        work *w = c->cur;
        if (++rep->read % 50000 == 0 && c->opts->progress)
            c->opts->progress(rep->read, c->opts->progress_ud);
        if (r->has_created || r->has_updated) {
            int64_t key = r->has_updated ? r->updated_at : r->created_at;
            if (!c->any_key || key > c->max_key)
                c->max_key = key;
            c->any_key = true;
        }
        if (c->seen && (rc = eg_idset_add(c->seen, r->id, r->id_len)))
            return rc;
        if ((rc = eg_batch_add(&w->rows, r)))
            return rc;
        if ((w->rows.n == WORK_ROWS || w->rows.arena_len >= WORK_BYTES) && (rc = flush_work(c)))
            return rc;
    }
    return atomic_load(&c->writer_rc);
}

#define LOG_ID_MAX 120 /* bytes of a rejected row's id in the log line */

/* How much of id the log line shows: all of it, or its first LOG_ID_MAX bytes without cutting a
 * UTF-8 sequence. */
static size_t log_id_len(const char *id)
{
    size_t n = strlen(id);
    if (n <= LOG_ID_MAX)
        return n;
    n = LOG_ID_MAX;
    while (n && ((unsigned char)id[n] & 0xC0) == 0x80)
        n--;
    return n;
}

static int on_reject(const char *row_id, const char *field, const char *reason, void *ud)
{
    ingest_ctx *c = ud;
    eg_buf *b = &c->cur->rejects;
    /* the log line names a long id by its start; the quarantine keeps it whole. An id that
     * needs escaping (a control character, bytes that are not UTF-8) is shown as a JSON string,
     * as import shows ids: written raw, an ESC in it reached the terminal and a line break split
     * the warning */
    size_t shown = log_id_len(row_id);
    const char *more = strlen(row_id) > LOG_ID_MAX ? "…" : "";
    if (eg_buf_json_plain(row_id, shown)) {
        eg_log(EG_LOG_WARN, "source row %.*s%s: %s: %s (quarantined)", (int)shown, row_id, more,
               field, reason);
    } else {
        eg_buf q;
        eg_buf_init(&q, 8 * LOG_ID_MAX);
        if (eg_buf_json_str(&q, row_id, shown))
            eg_buf_reset(&q);
        eg_log(EG_LOG_WARN, "source row %s%s: %s: %s (quarantined)", q.data ? q.data : "?", more,
               field, reason);
        eg_buf_free(&q);
    }
    c->cur->nrejects++;
    if (eg_buf_append(b, row_id, strlen(row_id) + 1) ||
        eg_buf_append(b, field, strlen(field) + 1) || eg_buf_append(b, reason, strlen(reason) + 1))
        return EG_ENOMEM;
    return 0;
}

static int work_init(ingest_ctx *c)
{
    eg_chan_init(&c->stage, WORK_ITEMS);
    eg_chan_init(&c->full, WORK_ITEMS);
    eg_chan_init(&c->free, WORK_ITEMS);
    for (int i = 0; i < WORK_ITEMS; i++) {
        work *w = &c->items[i];
        eg_batch_init(&w->rows);
        eg_buf_init(&w->concepts, 0);
        eg_buf_init(&w->rejects, 0);
        w->staged = malloc(WORK_ROWS * sizeof *w->staged);
        w->concepts_at = malloc(WORK_ROWS * sizeof *w->concepts_at);
        if (!w->staged || !w->concepts_at)
            return eg_error_set(EG_ENOMEM, "out of memory");
        eg_chan_push(&c->free, w);
    }
    return 0;
}

static void work_free(ingest_ctx *c)
{
    for (int i = 0; i < WORK_ITEMS; i++) {
        work *w = &c->items[i];
        eg_batch_free(&w->rows);
        eg_buf_free(&w->concepts);
        eg_buf_free(&w->rejects);
        free(w->staged);
        free(w->concepts_at);
    }
    eg_chan_destroy(&c->stage);
    eg_chan_destroy(&c->full);
    eg_chan_destroy(&c->free);
}

/* Runs the scan with the writer thread; returns the first error of either side. log: NULL, or
 * the change log's (after, upto] to read instead of the rows since `since`. */
static int scan_and_write(ingest_ctx *c, eg_source *src, int64_t since, const int64_t *log)
{
    int rc, wrc;
    memset(c->items, 0, sizeof c->items);
    atomic_store(&c->writer_rc, 0);
    if ((rc = work_init(c))) {
        work_free(c);
        return rc;
    }
    c->cur = eg_chan_pop(&c->free);
    c->next_seq = 0;
    stager_arg args[STAGERS];
    c->nstagers = 0;
    for (int k = 0; k < STAGERS; k++) {
        args[k] = (stager_arg){c, k};
        if (pthread_create(&c->stagers[k], NULL, stager_main, &args[k]) != 0)
            break;
        c->nstagers++;
    }
    if (!c->nstagers || pthread_create(&c->writer, NULL, writer_main, c) != 0) {
        eg_chan_close(&c->stage);
        for (int k = 0; k < c->nstagers; k++)
            pthread_join(c->stagers[k], NULL);
        work_free(c);
        return eg_error_set(EG_ENOMEM, "could not start the ingest's threads");
    }
    rc = log ? eg_source_scan_changes(src, log[0], log[1], on_batch, on_reject, c)
             : eg_source_scan(src, since, on_batch, on_reject, c);
    if (!rc)
        rc = flush_work(c);
    if (c->cur) {
        work_reset(c->cur);
        eg_chan_push(&c->free, c->cur);
        c->cur = NULL;
    }
    eg_chan_close(&c->stage); /* the stagers drain it, then the writer what they staged */
    for (int k = 0; k < c->nstagers; k++)
        pthread_join(c->stagers[k], NULL);
    eg_chan_close(&c->full);
    pthread_join(c->writer, NULL);
    work_free(c);
    wrc = atomic_load(&c->writer_rc);
    if (wrc) {
        *(eg_error *)eg_error_last() = c->writer_error;
        rc = wrc;
    }
    return rc;
}

static int restage_one(const eg_record *r, eg_staged *out, eg_buf *concepts, void *ud)
{
    ingest_ctx *c = ud;
    return eg_stage_record(r, c->opts->now, c->window_start, concepts ? c->concepts : NULL, out,
                           concepts);
}

/* Sleeps before retry k (1-based): exponential from the configured delay, ±50 % jitter. */
static void backoff(ingest_ctx *c, int k)
{
    double base = (double)c->cfg->source_retry_delay * pow(2.0, k - 1);
    if (base > 30e6)
        base = 30e6;
    c->rng ^= c->rng << 13; /* xorshift64 */
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    double jitter = 0.5 + (double)(c->rng >> 11) / (double)(UINT64_C(1) << 53);
    usleep((useconds_t)(base * jitter));
}

static int one_attempt(ingest_ctx *c, eg_source **srcp)
{
    eg_ingest_report *rep = c->rep;
    const eg_ingest_opts *o = c->opts;
    struct timespec t0;
    int rc;
    bool found;
    int64_t wm = 0, since = INT64_MIN;

    if (!rep->source[0]) { /* until the source describes itself: the configured name, masked */
        if (!c->cfg->source)
            snprintf(rep->source, sizeof rep->source, "the store's own memories table");
        else if (!strncmp(c->cfg->source, "sqlite:", 7))
            snprintf(rep->source, sizeof rep->source, "%s", c->cfg->source);
        else if (eg_conninfo_mask(c->cfg->source, rep->source, sizeof rep->source))
            snprintf(rep->source, sizeof rep->source, "the configured PostgreSQL source");
    }
    if ((rc = eg_source_open(srcp, c->cfg))) {
        c->open_failed = true; /* the source retried its connection already */
        return rc;
    }
    eg_source *src = *srcp;
    snprintf(rep->source, sizeof rep->source, "%s", eg_source_describe(src));
    c->source_kind = eg_source_kind(src);
    c->source_system = c->cfg->source_system ? c->cfg->source_system : c->source_kind;
    c->source_key = eg_source_key(src);
    /* A first load from the store's own table reads through the store's connection: with no
     * second connection to the file, the store can take the load through a rollback journal
     * and write it once (run: with the pipeline's outputs, which join this transaction). Later
     * loads keep the source's own connection, which reads in parallel with the writer. */
    bool empty = false;
    if ((rc = eg_store_is_empty(c->st, &empty)))
        return rc;
    c->shared_db = empty && eg_source_sqlite_share(src, eg_store_db(c->st), &c->db_lock);
    if ((rc = eg_store_bulk_prepare(c->st)) || (rc = eg_store_begin(c->st)))
        return rc;
    rep->rollback_journal = eg_store_journal_switched(c->st);
    /* The stored concepts are made with staging.language and staging.max_concepts, by the
     * rules of EG_CONCEPT_RULES. When the store's were made with other settings or rules (or it
     * does not know with which), run makes every
     * memory's concepts anew below, so that a changed setting applies to the whole history as
     * every other setting does; a first load makes them with these settings anyway. */
    char settings[96], stored[96];
    bool known;
    snprintf(settings, sizeof settings, "rules %d/%s/%d", EG_CONCEPT_RULES,
             c->cfg->staging_language, c->cfg->staging_max_concepts);
    if ((rc = eg_store_concept_settings_get(c->st, stored, sizeof stored, &known)) ||
        (rc = eg_store_is_empty(c->st, &empty)))
        return rc;
    bool same = known && !strcmp(stored, settings);
    if (!same && empty) {
        if ((rc = eg_store_concept_settings_set(c->st, settings)))
            return rc;
        same = true;
    }
    if (o->rebuild) /* what a new store would compute: nothing in it arrived late */
        eg_store_no_late_arrivals(c->st);
    if ((rc = eg_store_watermark_get(c->st, rep->source, &wm, &found)))
        return rc;
    rep->had_watermark = found;
    rep->full = o->full;
    rep->watermark_before = wm;
    if (found && !o->full)
        since = wm - c->cfg->source_lookback;
    if (o->full && !c->seen && (rc = eg_idset_new(&c->seen)))
        return rc;
    /* The store's own table logs the rows written to it (migration 9): after a first read, an
     * incremental one reads those rows, whatever their times, instead of scanning the table
     * for recent ones. The log is read up to its end as of now, in this transaction. */
    int64_t log[2] = {0, 0}; /* (after, upto]: every entry present is unread */
    bool by_log = false, logs = eg_source_has_changes(src);
    if (logs) {
        bool read_before;
        if ((rc = eg_store_changes(c->st, &log[1], &read_before)))
            return rc;
        by_log = read_before && found && !o->full;
    }
    rep->by_change_log = by_log;
    bool bulk;
    if ((rc = eg_store_bulk_begin(c->st, &bulk)))
        return rc;
    /* a first load into an empty store has no version of its own to be older than: every
     * older version it meets is a duplicate of one it read, and a set of every id it reads
     * would only cost time and memory */
    c->hold_older = !by_log && !bulk;
    c->since = since;
    if (c->hold_older && ((!c->confirmed && (rc = eg_idset_new(&c->confirmed))) ||
                          (!c->held && (rc = eg_idset_new(&c->held)))))
        return rc;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = scan_and_write(c, src, since, by_log ? log : NULL);
    rep->ms_read = ms_since(&t0);
    if (rc || (rc = resolve_held(c)))
        return rc;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = eg_store_bulk_end(c->st);
    rep->ms_index = ms_since(&t0);
    if (rc)
        return rc;
    if (rep->older_versions)
        eg_log(EG_LOG_WARN,
               "%lld rows of %s were older versions of an id read or stored with a later "
               "coalesce(updated_at, created_at): the source has duplicate ids; the latest "
               "version was kept",
               (long long)rep->older_versions, rep->source);
    if (o->full) {
        eg_buf ex;
        eg_buf_init(&ex, 4096);
        rc = eg_store_mark_deleted(c->st, c->source_system, c->source_key, c->seen, o->now,
                                   &rep->deleted_at_source, &ex);
        snprintf(rep->deleted_examples, sizeof rep->deleted_examples, "%s", ex.data ? ex.data : "");
        eg_buf_free(&ex);
        if (rc)
            return rc;
    }
    if (logs && (rc = eg_store_changes_consume(c->st, log[1])))
        return rc;
    /* The watermark is the largest key read, never past now: a row stamped in the future must
     * not hide the rows that follow it. The uncapped largest key is kept beside it, so that a
     * later run advances the watermark towards it even when it reads nothing new (the store's
     * own table read by its change log, say): runs in steps end where one run at the last now
     * would (regression: the cap of the first run stayed). */
    int64_t umax = 0;
    bool ufound = false;
    if ((rc = eg_store_watermark_max_get(c->st, rep->source, &umax, &ufound)))
        return rc;
    if (c->any_key && (!ufound || c->max_key > umax)) {
        umax = c->max_key;
        if ((rc = eg_store_watermark_max_set(c->st, rep->source, umax)))
            return rc;
        ufound = true;
    }
    rep->watermark_after = wm;
    if (ufound) {
        int64_t key = umax < o->now ? umax : o->now;
        rep->watermark_after = found && wm > key ? wm : key;
    }
    if (c->any_key || (ufound && (!found || rep->watermark_after > wm))) {
        if ((rc = eg_store_watermark_set(c->st, rep->source, rep->watermark_after, rep->run_id)))
            return rc;
    }
    if (o->restage) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = eg_store_restage(c->st, o->now, c->window_start,
                              (o->rebuild ? EG_RESTAGE_ALL : 0u) |
                                  (same ? 0u : (unsigned)EG_RESTAGE_CONCEPTS),
                              restage_one, c, &rep->restaged);
        rep->ms_restage = ms_since(&t0);
        if (rc || (!same && (rc = eg_store_concept_settings_set(c->st, settings))))
            return rc;
    } else if (!same && (rep->inserted || rep->updated) &&
               (rc = eg_store_concept_settings_set(c->st, NULL))) {
        return rc; /* rows of two settings now: the next run makes them all anew */
    }
    if (!(o->keep_open && o->defer_fts)) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = eg_store_fts_sync(c->st, &rep->fts_indexed);
        rep->ms_fts = ms_since(&t0);
        if (rc)
            return rc;
    }
    if (o->keep_open) /* the caller commits this together with its own work */
        return 0;
    /* the run's row says ok in the same transaction as its rows: killed after the commit, it
     * was left 'running' and the next run marked a complete ingest interrupted (the timings
     * are completed after the commit) */
    if (rep->run_id) {
        char *counts = eg_ingest_report_json(rep, o->now);
        rc = counts ? eg_store_run_finish(c->st, rep->run_id, "ok", counts, NULL, NULL)
                    : eg_error_set(EG_ENOMEM, "out of memory recording a run");
        free(counts);
        if (rc)
            return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = eg_store_commit(c->st);
    rep->ms_commit = ms_since(&t0);
    return rc;
}

static void reset_counts(eg_ingest_report *rep)
{
    int64_t run_id = rep->run_id;
    int attempts = rep->attempts;
    char source[sizeof rep->source];
    memcpy(source, rep->source, sizeof source);
    memset(rep, 0, sizeof *rep);
    rep->run_id = run_id;
    rep->attempts = attempts;
    memcpy(rep->source, source, sizeof source);
}

int eg_ingest(eg_store *st, const eg_config *cfg, const eg_ingest_opts *opts, eg_ingest_report *rep)
{
    ingest_ctx c = {.st = st, .cfg = cfg, .opts = opts, .rep = rep};
    pthread_mutex_init(&c.db_lock, NULL);
    eg_batch_init(&c.held_rows);
    struct timespec t0;
    int rc;
    char *counts = NULL;
    memset(rep, 0, sizeof *rep);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    c.rng = ((uint64_t)getpid() << 32) ^ (uint64_t)t0.tv_nsec ^ UINT64_C(0x9E3779B97F4A7C15);
    c.window_start =
        eg_staging_window_start(opts->now, cfg->staging_max_age_months, cfg->staging_max_age_days);
    if ((rc = eg_concepts_new(&c.concepts, cfg->staging_language, cfg->staging_max_concepts)))
        goto done;
    for (int k = 0; k < STAGERS; k++)
        if ((rc = eg_concepts_new(&c.stager_concepts[k], cfg->staging_language,
                                  cfg->staging_max_concepts)))
            goto done;
    if ((rc = eg_store_run_begin(st, opts->command ? opts->command : "ingest", opts->now,
                                 cfg->source ? "configured" : "embedded", &rep->run_id)))
        goto done;
    for (int attempt = 1;; attempt++) {
        eg_source *src = NULL;
        reset_counts(rep);
        rep->attempts = attempt;
        c.any_key = false;
        c.max_key = 0;
        if (c.seen) {
            eg_idset_free(c.seen);
            c.seen = NULL;
        }
        eg_idset_free(c.confirmed);
        eg_idset_free(c.held);
        c.confirmed = c.held = NULL;
        eg_batch_reset(&c.held_rows);
        rc = one_attempt(&c, &src);
        eg_source_close(src);
        if (!rc) {
            eg_store_bulk_finish(st);
            break;
        }
        eg_store_rollback(st);
        eg_store_bulk_finish(st);
        /* a read that broke off is retried here; a connection that never came up was retried by
         * the source already */
        if (rc != EG_EUNAVAIL || c.open_failed || attempt > cfg->source_retries)
            break;
        eg_log(EG_LOG_WARN,
               "read of %s failed (attempt %d of %d): %s; nothing of it was kept, "
               "retrying",
               rep->source, attempt, cfg->source_retries + 1, eg_error_last()->message);
        backoff(&c, attempt);
    }
done:
    rep->ms_total = ms_since(&t0);
    if (rep->run_id) {
        eg_error saved = *eg_error_last();
        counts = eg_ingest_report_json(rep, opts->now);
        eg_store_run_finish(st, rep->run_id, rc ? "failed" : "ok", counts, NULL,
                            rc ? saved.message : NULL);
        *(eg_error *)eg_error_last() = saved;
    }
    free(counts);
    eg_idset_free(c.seen);
    eg_idset_free(c.confirmed);
    eg_idset_free(c.held);
    eg_batch_free(&c.held_rows);
    eg_concepts_free(c.concepts);
    for (int k = 0; k < STAGERS; k++)
        eg_concepts_free(c.stager_concepts[k]);
    pthread_mutex_destroy(&c.db_lock);
    return rc;
}

char *eg_ingest_report_json(const eg_ingest_report *rep, int64_t now)
{
    eg_buf b;
    char t1[EG_TIME_BUFSZ], t2[EG_TIME_BUFSZ];
    eg_buf_init(&b, 0);
    eg_buf_printf(&b, "{\"run_id\":%lld,\"now\":\"%s\",\"source\":", (long long)rep->run_id,
                  eg_time_format(now, t1));
    eg_buf_json_str(&b, rep->source, strlen(rep->source));
    eg_buf_printf(&b,
                  ",\"attempts\":%d,\"full\":%s,\"change_log\":%s,\"read\":%lld,\"inserted\":%lld,"
                  "\"updated\":%lld,"
                  "\"unchanged\":%lld,\"staged\":%lld,\"skipped\":{\"null_content\":%lld,"
                  "\"empty_content\":%lld,\"out_of_window\":%lld,\"null_created_at\":%lld},"
                  "\"quarantined\":%lld,\"quality\":{\"metadata_invalid\":%lld,"
                  "\"metadata_not_object\":%lld,\"blank_content\":%lld,"
                  "\"updated_before_created\":%lld},\"older_versions\":%lld,"
                  "\"deleted_at_source\":%lld,",
                  rep->attempts, rep->full ? "true" : "false",
                  rep->by_change_log ? "true" : "false", (long long)rep->read,
                  (long long)rep->inserted, (long long)rep->updated, (long long)rep->unchanged,
                  (long long)rep->staged, (long long)rep->skipped[EG_SKIP_NULL_CONTENT],
                  (long long)rep->skipped[EG_SKIP_EMPTY_CONTENT],
                  (long long)rep->skipped[EG_SKIP_OUT_OF_WINDOW],
                  (long long)rep->skipped[EG_SKIP_NULL_CREATED_AT], (long long)rep->rejected,
                  (long long)rep->metadata_invalid, (long long)rep->metadata_not_object,
                  (long long)rep->blank_content, (long long)rep->updated_before_created,
                  (long long)rep->older_versions, (long long)rep->deleted_at_source);
    eg_buf_puts(&b, "\"deleted_examples\":");
    eg_buf_json_str(&b, rep->deleted_examples, strlen(rep->deleted_examples));
    eg_buf_printf(&b,
                  ",\"restaged\":%lld,\"fts_indexed\":%lld,\"rollback_journal\":%s,\"watermark\":",
                  (long long)rep->restaged, (long long)rep->fts_indexed,
                  rep->rollback_journal ? "true" : "false");
    if (rep->watermark_after || rep->had_watermark)
        eg_buf_printf(&b, "\"%s\"", eg_time_format(rep->watermark_after, t2));
    else
        eg_buf_puts(&b, "null");
    eg_buf_printf(&b,
                  ",\"ms\":{\"read\":%.1f,\"index\":%.1f,\"restage\":%.1f,\"fts\":%.1f,"
                  "\"commit\":%.1f,\"total\":%.1f}}",
                  rep->ms_read, rep->ms_index, rep->ms_restage, rep->ms_fts, rep->ms_commit,
                  rep->ms_total);
    return b.data; /* NULL if out of memory */
}
