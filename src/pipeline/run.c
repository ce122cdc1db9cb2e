/*
 * run.c — `engram run`: ingest and staging, then the biological pipeline up to now.
 *
 * The simulation goes on from the last run's snapshot when that still fits the store (resume,
 * below; docs/adr/0008), and otherwise replays the history from the inputs (stage/engine.c).
 * Both paths end alike, so a run is deterministic and idempotent, and running up to T in k steps
 * equals one run up to T. The ingest and the outputs are saved in one store transaction: an
 * interrupted run leaves the last checkpoint and its outputs intact.
 *
 * Three threads help the main one, none of them while another uses the store's connection:
 * one reads the last snapshot while the ingest runs (the file only), one brings the full-text
 * index up to date while the engine simulates (the store's connection is that thread's alone
 * until it is joined), and one writes the new snapshot while the outputs are saved and
 * committed (the model only, which nothing changes then).
 */
#include "engram/engram.h"

#include "core/snapshot.h"
#include "stage/engine.h"
#include "stage/staging.h"
#include "store/pipeline.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* the full-text index, built on its own thread while the engine runs */
typedef struct fts_job {
    eg_store *st;
    int64_t indexed;
    double ms;
    int rc;
    eg_error err; /* the thread's error, handed back to the caller's thread */
} fts_job;

static void *fts_main(void *ud)
{
    fts_job *j = ud;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    j->rc = eg_store_fts_sync(j->st, &j->indexed);
    j->ms = ms_since(&t0);
    if (j->rc)
        j->err = *eg_error_last();
    return NULL;
}

/* The last run's snapshot, read on a thread while the ingest runs, when the store names it as
 * the one that fits (whether it still fits once the ingest is done is resume's decision). */
typedef struct snap_read {
    pthread_t thread;
    bool running, done;
    int slot; /* of the two files, the one read (-1: none) */
    const char *path;
    eg_model md;
    eg_snapshot_key key;
    eg_save_since since; /* the model's state as read, for the save (at the key's now) */
    bool has_since;
    int rc;
} snap_read;

static void *snap_read_main(void *ud)
{
    snap_read *r = ud;
    r->rc = eg_snapshot_read(&r->md, &r->key, r->path);
    /* the digests the save compares with (one pass over every memory and episode: 30 ms at 1M),
     * here too, beside the ingest */
    r->has_since = !r->rc && !eg_save_since_init(&r->since, &r->md, r->key.now);
    return NULL;
}

/* How long a run waits for the last one's snapshot to be written (it committed before) */
#define SNAPSHOT_WAIT_MS 30000

/* Which of the two snapshot files holds the snapshot of run gen with tag tag: its slot and key,
 * or -1; *readable tells whether either file is one this engram reads. */
static int find_slot(char paths[2][4096], int64_t gen, uint64_t tag, eg_snapshot_key *key,
                     bool *readable)
{
    *readable = false;
    for (int i = 0; i < 2; i++) {
        if (eg_snapshot_read_key(key, paths[i]))
            continue;
        *readable = true;
        if (key->generation == gen && key->tag == tag)
            return i;
    }
    return -1;
}

static void snap_read_start(eg_store *st, const eg_config *cfg, const eg_ingest_opts *o,
                            char paths[2][4096], snap_read *r)
{
    int64_t gen, tag;
    bool found, found_tag, readable;
    eg_snapshot_key key;
    eg_model_init(&r->md);
    r->slot = -1;
    /* what can be told before the ingest: not for a rebuild or other settings */
    if (o->rebuild || eg_store_sim_get(st, "snapshot", &gen, &found) || !found || !gen ||
        eg_store_sim_get(st, "snapshot_tag", &tag, &found_tag) || !found_tag ||
        (r->slot = find_slot(paths, gen, (uint64_t)tag, &key, &readable)) < 0 || o->now < key.now ||
        key.config != eg_config_digest(cfg))
        return;
    r->path = paths[r->slot];
    r->running = pthread_create(&r->thread, NULL, snap_read_main, r) == 0;
}

/* waits for the read; true when it brought the snapshot with this key */
static bool snap_read_take(snap_read *r, const eg_snapshot_key *key)
{
    if (r->running) {
        pthread_join(r->thread, NULL);
        r->running = false;
        r->done = true;
    }
    return r->done && r->rc == 0 && !memcmp(&r->key, key, sizeof *key);
}

static void snap_read_end(snap_read *r)
{
    if (r->running)
        pthread_join(r->thread, NULL);
    r->running = false;
    eg_model_free(&r->md);
    if (r->has_since)
        eg_save_since_free(&r->since);
    r->has_since = false;
}

/* Fills md from the last run's snapshot and the inputs that came after it, if the snapshot
 * still fits the store: same run, same configuration, no stored input
 * changed and nothing arrived that belongs before its time (docs/adr/0008). Otherwise leaves md
 * empty and says why in *why. Returns an error only for what a recomputation cannot fix. */
/* What a resumed model held before the inputs since were added, for the next snapshot's tag
 * (eg_snapshot_inputs_tag): the snapshot's tag, its memories and presentations. All 0 for a
 * model recomputed from the store. */
typedef struct tag_base {
    uint64_t tag;
    size_t mems, pres;
} tag_base;

static int resume(eg_store *st, const eg_config *cfg, const eg_ingest_opts *o, char paths[2][4096],
                  snap_read *pre, eg_model *md, const char **why, eg_save_since *since,
                  tag_base *tb, int *slot)
{
    int64_t gen = 0, cp = 0, tag = 0;
    bool found, found_tag, readable;
    eg_snapshot_key key;
    eg_store_inputs_state in;
    int rc;
    if ((rc = eg_store_sim_get(st, "snapshot", &gen, &found)) ||
        (rc = eg_store_sim_get(st, "snapshot_tag", &tag, &found_tag)))
        return rc;
    /* the file that fits the store, if one does: the run writes the other one, so that this
     * one stays the last good snapshot until the run commits, even when the run does not go on
     * from it (the tag tells this store's snapshot from another store's with the same run
     * ids; a run id is never 0, so no file fits a store that names none). Both files' keys are
     * read once, whether either is readable too. */
    *slot = find_slot(paths, found ? gen : 0, (uint64_t)tag, &key, &readable);
    if (*slot < 0 && found && gen && found_tag && !o->rebuild) {
        /* the last run commits before its snapshot is written: it may be writing it still */
        eg_snapshot_wait_written(paths[0], SNAPSHOT_WAIT_MS);
        eg_snapshot_wait_written(paths[1], SNAPSHOT_WAIT_MS);
        *slot = find_slot(paths, gen, (uint64_t)tag, &key, &readable);
    }
    if (!found_tag)
        *slot = -1;
    if (o->rebuild)
        return *why = "--rebuild", 0;
    if (!found || !gen)
        return *why = "no snapshot", 0;
    if ((rc = eg_store_checkpoint(st, &cp, &found)))
        return rc;
    if (!found || o->now < cp)
        return *why = found ? "now is before the last run's" : "no checkpoint", 0;
    if (!readable)
        return *why = "the snapshot file is missing or from another version", 0;
    if (*slot < 0 || key.now != cp)
        return *why = "the snapshot file is not the last run's", 0;
    if (key.config != eg_config_digest(cfg))
        return *why = "the configuration changed", 0;
    if ((rc = eg_store_inputs(st, cp, &in)))
        return rc;
    if (in.changes != key.inputs)
        return *why = "stored memories changed", 0;
    int64_t added = 0;
    /* memories gone that no change counted (the trigger dropped by hand): the rowids after the
     * store's last would miss them */
    if (in.last_rowid < key.last_rowid)
        return *why = "stored memories changed", 0;
    if ((rc = eg_store_inputs_added(st, key.last_rowid, cp, &added)))
        return rc;
    if (added)
        return *why = "memories arrived before the last run's now", 0;
    if (in.recalls != key.recalls)
        return *why = "recalls at or before the last run's now were added", 0;
    bool have_since = false;
    if (pre->slot == *slot && snap_read_take(pre, &key)) { /* read beside the ingest */
        *md = pre->md;
        eg_model_init(&pre->md);
        if ((have_since = pre->has_since)) { /* (at the key's now, which is cp) */
            *since = pre->since;
            pre->has_since = false;
        }
    } else if (eg_snapshot_read(md, &key, paths[*slot])) {
        return *why = "the snapshot file is damaged", 0;
    }
    /* the memories as the last save wrote them: the save compares only those that moved */
    if (!have_since && (rc = eg_save_since_init(since, md, cp)))
        return rc;
    /* the communities and categories of the last save: eg__long_term compares with them */
    md->comm_prev = md->comm_now;
    md->comm_now = (eg_communities){0};
    md->ltm_cat_prev = md->ltm_cat;
    md->nltm_cat_prev = md->nltm_cat;
    md->ltm_cat = NULL;
    md->nltm_cat = 0;
    *tb = (tag_base){.tag = key.tag, .mems = md->n, .pres = md->npres};
    /* the memory edges the run touches, listed for the save (which writes those after cp) */
    md->assoc.dirty_on = true;
    md->assoc.dirty_since = cp;
    rc = eg_store_load_since(st, md, cp, o->now);
    if (rc == EG_EBADINPUT) {
        eg_model_free(md);
        eg_model_init(md);
        eg_save_since_free(since);
        *tb = (tag_base){0};
        return *why = "a memory arrived late", 0;
    }
    return rc;
}

/* The simulation's state after advancing to now, for the next run (a cache: failing to write
 * it only costs the next run a recomputation). It is written on its own thread while the main
 * one saves the outputs. The view is the model as the simulation left it, its journey lines
 * counted per memory (jr_base) rather than pointed at, without the closing lines
 * eg_engine_finish appended; of the outputs at now it holds only the communities and each
 * memory's long-term category (the next run takes the categories over when the communities
 * are the same, and saves only the records whose category moved). */
typedef struct snap_job {
    eg_model view;
    uint32_t *lines; /* each memory's journey lines (the view's jr_base) */
    eg_snapshot_key key;
    const char *path, *twin; /* the file it writes; the store's other one */
    bool ok;
    double ms;
    eg_error err; /* why the write failed (the thread's error, for the caller's warning) */
    /* The model itself, once the caller needs it no more (snap_hand_over): the thread frees it
     * after the write, beside the commit (at 1M memories 20 ms of unmapping and freeing). */
    pthread_mutex_t mu;
    eg_model *give;
    bool written;
} snap_job;

static void *snap_main(void *ud)
{
    snap_job *j = ud;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    j->ok = eg_snapshot_write(&j->view, &j->key, j->path) == 0;
    if (!j->ok)
        j->err = *eg_error_last();
    j->ms = ms_since(&t0);
    /* the first of a store's two files: the second made now, so that the next run writes it in
     * place (this thread is idle beside a full run's save) */
    if (j->ok)
        eg_snapshot_prepare_twin(j->path, j->twin);
    pthread_mutex_lock(&j->mu);
    j->written = true;
    eg_model *md = j->give;
    pthread_mutex_unlock(&j->mu);
    if (md)
        eg_model_free(md);
    return NULL;
}

/* Hands md to the snapshot's thread to free, unless the write is over already; true if it took
 * it (md is then the thread's until it is joined, and empty after) */
static bool snap_hand_over(snap_job *j, eg_model *md)
{
    pthread_mutex_lock(&j->mu);
    bool taken = !j->written;
    if (taken)
        j->give = md;
    pthread_mutex_unlock(&j->mu);
    return taken;
}

/* The warning of a snapshot that could not be written. A file of another user (a run as root,
 * `sudo engram run`, made it) is refused for good: every run of the service's user replayed the
 * whole history from then on, and "Permission denied" did not say whose the file was or what
 * to do, so the warning says both. */
static void warn_snapshot(const char *path, const char *why)
{
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid != geteuid())
        eg_log(EG_LOG_WARN,
               "%s; the run goes on, and the next one replays the history: the file belongs to "
               "uid %ld, not to this user (uid %ld): remove it, or chown it to this user, and "
               "the next run writes it again",
               why, (long)sb.st_uid, (long)geteuid());
    else
        eg_log(EG_LOG_WARN, "%s; the run goes on, and the next one replays the history", why);
}

/* After the commit: the run's row gets the snapshot's outcome and time and the run's total
 * (its report was recorded before the snapshot was over), and a store that names a snapshot
 * that failed names none. The run is committed already: a failure here is only a warning. */
static void finish_snapshot(eg_store *st, const eg_run_report *rep, bool unname)
{
    char *json = eg_run_report_json(rep);
    int rc = json ? eg_store_begin(st) : eg_error_set(EG_ENOMEM, "out of memory recording a run");
    if (!rc) {
        if ((unname && ((rc = eg_store_sim_set(st, "snapshot", 0)) ||
                        (rc = eg_store_sim_set(st, "snapshot_tag", 0)))) ||
            (rc = eg_store_run_finish(st, rep->run_id, "ok", json, NULL, NULL)) ||
            (rc = eg_store_commit(st)))
            eg_store_rollback(st);
    }
    if (rc)
        eg_log(EG_LOG_WARN, "run #%lld is saved, but its report could not be completed: %s",
               (long long)rep->run_id, eg_error_last()->message);
    free(json);
}

/* the key the next run checks the snapshot against (store queries: on the caller's thread) */
static bool snapshot_key(eg_store *st, const eg_config *cfg, int64_t now, int64_t run_id,
                         uint64_t tag, eg_snapshot_key *key)
{
    eg_store_inputs_state in;
    if (eg_store_inputs(st, now, &in))
        return false;
    *key = (eg_snapshot_key){.generation = run_id,
                             .now = now,
                             .config = eg_config_digest(cfg),
                             .inputs = in.changes,
                             .last_rowid = in.last_rowid,
                             .recalls = in.recalls,
                             .tag = tag};
    return true;
}

int eg_run(eg_store *st, const eg_config *cfg, const eg_ingest_opts *opts, eg_run_report *rep)
{
    fts_job fts = {.st = st};
    pthread_t fts_thread, snap_thread;
    bool fts_running = false, snap_running = false;
    snap_job snap = {.mu = PTHREAD_MUTEX_INITIALIZER};
    snap_read pre = {.slot = -1};
    eg_save_since since = {.at = INT64_MIN}; /* resumed: the last run's now and state */
    tag_base tb = {0};
    eg_ingest_opts io = *opts;
    eg_model md;
    struct timespec t0, t;
    int rc;
    char *json = NULL;
    char snap_path[2][4096];
    int slot = -1; /* the snapshot file that fits the store before this run (-1: none) */
    memset(rep, 0, sizeof *rep);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    eg_model_init(&md);
    bool snap_ok = eg_snapshot_path(eg_store_path(st), 0, snap_path[0], sizeof snap_path[0]) == 0 &&
                   eg_snapshot_path(eg_store_path(st), 1, snap_path[1], sizeof snap_path[1]) == 0;
    io.restage = true;
    io.keep_open = true; /* the ingest and the pipeline are committed together */
    io.defer_fts = true; /* built below, beside the simulation */
    if (!io.command)
        io.command = "run";
    /* the last run's snapshot is read beside the ingest, in case it still fits afterwards */
    if (snap_ok)
        snap_read_start(st, cfg, &io, snap_path, &pre);
    else
        eg_model_init(&pre.md);
    if ((rc = eg_ingest(st, cfg, &io, &rep->ingest)))
        goto early;
    /* a rebuild computes what a new store would: nothing arrived late in a new store (the
     * ingest flagged none of its rows late). In the run's transaction: a rebuild that fails or
     * is killed leaves the flags as they were, so the next run is the one it would have been. */
    if (io.rebuild && (rc = eg_store_exec(st, "UPDATE memory SET late = 0, arrived_at = NULL "
                                              "WHERE late")))
        goto fail;
    /* the ingest's transaction is still open: the pipeline joins it, so that readers see the
     * store before this run or after all of it, never the new rows without their pipeline */
    if ((rc = eg_store_run_begin(st, "pipeline", opts->now, rep->ingest.source, &rep->run_id)))
        goto fail;
    clock_gettime(CLOCK_MONOTONIC, &t);
    rep->recomputed = NULL;
    rc = snap_ok ? resume(st, cfg, opts, snap_path, &pre, &md, &rep->recomputed, &since, &tb, &slot)
                 : (rep->recomputed = "the store's path is too long for a snapshot beside it", 0);
    snap_read_end(&pre); /* a snapshot read that did not fit */
    if (rc)
        goto fail;
    rep->resumed = !rep->recomputed;
    if (!rep->resumed)
        rc = eg_store_load_model(st, &md, opts->now);
    rep->ms_load = ms_since(&t);
    if (rc)
        goto fail;
    /* the inputs' tag, before the engine sorts and appends presentations */
    uint64_t tag = eg_snapshot_inputs_tag(&md, tb.tag, tb.mems, tb.pres);
    /* from here until the join the FTS thread alone uses the store */
    if (pthread_create(&fts_thread, NULL, fts_main, &fts) == 0)
        fts_running = true;
    else
        fts_main(&fts); /* no thread: build it here, one after the other */
    clock_gettime(CLOCK_MONOTONIC, &t);
    rc = eg_engine_advance(&md, cfg, opts->now);
    eg_model_seal(&md); /* nothing advances it again: its biggest index goes before the save */
    rep->ms_engine = ms_since(&t);
    if (fts_running) {
        pthread_join(fts_thread, NULL);
        fts_running = false;
    }
    /* the outputs at now: the closing journey lines (not part of the simulation: the snapshot
     * counts only the lines before them), the long-term records and the communities at now */
    size_t njr_sim = md.njr;
    if (!rc) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        rc = eg_engine_finish(&md, cfg, opts->now);
        rep->ms_engine += ms_since(&t);
    }
    /* the snapshot on a second thread, from here beside the save: both only read the model */
    if (!rc && snap_ok && !fts.rc &&
        snapshot_key(st, cfg, opts->now, rep->run_id, tag, &snap.key)) {
        snap.view = md;
        /* the other file than the one that fits the store: this run may be reading its pages,
         * and it stays the last good snapshot until this run commits */
        snap.path = snap_path[slot == 0 ? 1 : 0];
        snap.twin = snap_path[slot == 0 ? 0 : 1];
        /* what a run killed while it wrote a new file left (a file the last run still writes
         * is locked, and stays) */
        eg_snapshot_remove_leftovers(snap_path[0]);
        eg_snapshot_remove_leftovers(snap_path[1]);
        if (!(snap.lines = calloc(md.n ? md.n : 1, sizeof *snap.lines))) {
            rc = eg_error_set(EG_ENOMEM, "out of memory writing a snapshot");
            goto fail;
        }
        for (size_t i = 0; i < md.n && i < md.njr_base; i++)
            snap.lines[i] = md.jr_base[i];
        for (size_t k = 0; k < njr_sim; k++)
            snap.lines[md.jr[k].mem]++;
        snap.view.jr_base = snap.lines;
        snap.view.njr_base = md.n;
        snap.view.jr = NULL;
        snap.view.njr = 0;
        snap.view.details = (eg_buf){0};
        if (pthread_create(&snap_thread, NULL, snap_main, &snap) == 0)
            snap_running = true;
        else
            snap_main(&snap); /* no thread: one after the other */
    }
    rep->ingest.fts_indexed = fts.indexed;
    rep->ingest.ms_fts = fts.ms;
    if (!rc && fts.rc) {
        *(eg_error *)eg_error_last() = fts.err;
        rc = fts.rc;
    }
    if (rc)
        goto fail;
    {
        /* the ingest's run row now knows what the index took */
        char *counts = eg_ingest_report_json(&rep->ingest, opts->now);
        rc = counts ? eg_store_run_finish(st, rep->ingest.run_id, "ok", counts, NULL, NULL)
                    : eg_error_set(EG_ENOMEM, "out of memory recording a run");
        free(counts);
        if (rc)
            goto fail;
    }
    clock_gettime(CLOCK_MONOTONIC, &t);
    {
        eg_sync_stats ss;
        rc = eg_store_save_model(st, &md, opts->now, rep->resumed ? &since : NULL, &ss);
        rep->rows_out = ss.rows;
        rep->rows_written = ss.written;
        rep->rows_deleted = ss.deleted;
        rep->tables_rewritten = ss.rewrites;
    }
    rep->ms_save = ms_since(&t);
    /* The store commits while the snapshot may still be being written (at 1M memories the
     * next-day run's commit and WAL checkpoint take 160 ms, its snapshot 220 ms beside a save of
     * 160), so it names this run's snapshot before knowing that the write succeeds. Should it
     * fail, the store is then made to name none (finish_snapshot); until then, or if that
     * fails too, the next run finds no file of this run and replays the history, as it does
     * when none is named. */
    bool snap_named = snap_running || snap.ok; /* (no thread: the write is over) */
    if (rc || (rc = eg_store_sim_set(st, "snapshot", snap_named ? rep->run_id : 0)) ||
        (rc = eg_store_sim_set(st, "snapshot_tag", snap_named ? (int64_t)snap.key.tag : 0)))
        goto fail;
    rep->snapshot_written = snap_named;
    rep->memories = (int64_t)md.n;
    for (size_t i = 0; i < md.n; i++)
        rep->by_status[md.m[i].status < 6 ? md.m[i].status : 0]++;
    rep->episodes = (int64_t)md.nep;
    for (size_t k = 0; k < md.assoc.n; k++)
        rep->assoc_edges += !md.assoc.e[k].dead;
    for (size_t k = 0; k < md.concepts.n; k++)
        rep->concept_edges += !md.concepts.e[k].dead;
    rep->concepts = (int64_t)md.nconcepts;
    rep->ltm = (int64_t)md.nltm;
    rep->creative = (int64_t)md.ncr;
    rep->ticks = md.ticks;
    rep->replays = md.replays_done;
    rep->rem_phases = md.rem_phases;
    rep->homeostasis_phases = md.homeostasis_phases;
    rep->ms_total = ms_since(&t0);
    json = eg_run_report_json(rep);
    /* nothing reads the model from here on: the snapshot's thread frees it once written */
    bool handed = snap_running && snap_hand_over(&snap, &md);
    if ((rc = eg_store_run_finish(st, rep->run_id, "ok", json, NULL, NULL)) ||
        (rc = eg_store_commit(st)))
        goto fail;
    eg_store_bulk_finish(st); /* back to WAL if a first load switched the journal */
    if (snap_running) {
        pthread_join(snap_thread, NULL);
        snap_running = false;
    }
    if (handed)
        eg_model_init(&md); /* (freed by the thread) */
    rep->snapshot_written = snap.ok;
    rep->ms_snapshot = snap.ms;
    rep->ms_total = ms_since(&t0);
    /* the run goes on without it, but every run after it would replay the whole history until
     * the cause (a full disk, a file another user owns) is gone: say so */
    if (snap.path && !snap.ok)
        warn_snapshot(snap.path, snap.err.message);
    finish_snapshot(st, rep, snap_named && !snap.ok);
    goto done;
fail:
    if (snap_running) { /* (a commit that failed: the write may not be over) */
        pthread_join(snap_thread, NULL);
        if (snap.give)
            eg_model_init(&md); /* (freed by the thread) */
    }
    snap_read_end(&pre);
    eg_store_rollback(st); /* the ingest of this run too: nothing of it is kept */
    eg_store_bulk_finish(st);
    {
        eg_error saved = *eg_error_last();
        /* the ingest's run row was committed when it began; record how the run ended */
        eg_store_run_finish(st, rep->ingest.run_id, "failed", NULL, NULL, saved.message);
        *(eg_error *)eg_error_last() = saved;
    }
done:
    free(snap.lines);
    free(json);
    eg_save_since_free(&since);
    eg_model_free(&md);
    return rc;
early: /* nothing of the pipeline began */
    snap_read_end(&pre);
    eg_model_free(&md);
    return rc;
}

char *eg_run_report_json(const eg_run_report *r)
{
    eg_buf b;
    eg_buf_init(&b, 0);
    eg_buf_printf(
        &b,
        "{\"memories\":%lld,\"by_status\":{\"staged\":%lld,\"unattended\":%lld,"
        "\"in_wm\":%lld,\"in_stm\":%lld,\"consolidated\":%lld,\"forgotten\":%lld},"
        "\"episodes\":%lld,\"concepts\":%lld,\"assoc_edges\":%lld,"
        "\"concept_edges\":%lld,\"ltm\":%lld,\"creative\":%lld,\"ticks\":%lld,"
        "\"replays\":%lld,\"rem_phases\":%lld,\"homeostasis_phases\":%lld,"
        "\"resumed\":%s,\"recomputed_because\":%s%s%s,\"snapshot_written\":%s,"
        "\"writes\":{\"rows\":%lld,\"written\":%lld,\"deleted\":%lld,"
        "\"tables_rewritten\":%lld},"
        "\"ms\":{\"load\":%.1f,\"engine\":%.1f,\"snapshot\":%.1f,\"save\":%.1f,"
        "\"total\":%.1f}}",
        (long long)r->memories, (long long)r->by_status[0], (long long)r->by_status[1],
        (long long)r->by_status[2], (long long)r->by_status[3], (long long)r->by_status[4],
        (long long)r->by_status[5], (long long)r->episodes, (long long)r->concepts,
        (long long)r->assoc_edges, (long long)r->concept_edges, (long long)r->ltm,
        (long long)r->creative, (long long)r->ticks, (long long)r->replays,
        (long long)r->rem_phases, (long long)r->homeostasis_phases, r->resumed ? "true" : "false",
        r->recomputed ? "\"" : "", r->recomputed ? r->recomputed : "null",
        r->recomputed ? "\"" : "", r->snapshot_written ? "true" : "false", (long long)r->rows_out,
        (long long)r->rows_written, (long long)r->rows_deleted, (long long)r->tables_rewritten,
        r->ms_load, r->ms_engine, r->ms_snapshot, r->ms_save, r->ms_total);
    return b.data;
}
