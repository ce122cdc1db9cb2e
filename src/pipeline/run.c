/*
 * run.c — `engram run`: ingest and staging, then the biological pipeline up to now.
 *
 * The pipeline is recomputed from its inputs on every run (stage/engine.c), so a run is
 * deterministic and idempotent, and running up to T in k steps equals one run up to T. Its
 * outputs are saved in one store transaction: an interrupted run leaves the last checkpoint and
 * its outputs intact.
 *
 * The simulation works on the model in memory and never touches the store, so a second thread
 * brings the full-text index up to date meanwhile (the store's connection is used by that
 * thread alone until it is joined).
 */
#include "engram/engram.h"

#include "stage/engine.h"
#include "store/pipeline.h"
#include "store/store.h"
#include "util/buf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int eg_run(eg_store *st, const eg_config *cfg, const eg_ingest_opts *opts, eg_run_report *rep)
{
    fts_job fts = {.st = st};
    pthread_t fts_thread;
    bool fts_running = false;
    eg_ingest_opts io = *opts;
    eg_model md;
    struct timespec t0, t;
    int rc;
    char *json = NULL;
    memset(rep, 0, sizeof *rep);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    io.restage = true;
    io.keep_open = true; /* the ingest and the pipeline are committed together */
    io.defer_fts = true; /* built below, beside the simulation */
    if (!io.command)
        io.command = "run";
    /* a rebuild computes what a new store would: nothing arrived late in a new store */
    if (io.rebuild && (rc = eg_store_exec(st, "UPDATE memory SET late = 0, arrived_at = NULL "
                                              "WHERE late")))
        return rc;
    if ((rc = eg_ingest(st, cfg, &io, &rep->ingest)))
        return rc;
    /* the ingest's transaction is still open: the pipeline joins it, so that readers see the
     * store before this run or after all of it, never the new rows without their pipeline */
    eg_model_init(&md);
    if ((rc = eg_store_run_begin(st, "pipeline", opts->now, rep->ingest.source, &rep->run_id)))
        goto fail;
    clock_gettime(CLOCK_MONOTONIC, &t);
    rc = eg_store_load_model(st, &md, opts->now);
    rep->ms_load = ms_since(&t);
    if (rc)
        goto fail;
    /* from here until the join the FTS thread alone uses the store */
    if (pthread_create(&fts_thread, NULL, fts_main, &fts) == 0)
        fts_running = true;
    else
        fts_main(&fts); /* no thread: build it here, one after the other */
    clock_gettime(CLOCK_MONOTONIC, &t);
    rc = eg_engine_run(&md, cfg, opts->now);
    rep->ms_engine = ms_since(&t);
    if (fts_running) {
        pthread_join(fts_thread, NULL);
        fts_running = false;
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
        rc = eg_store_save_model(st, &md, opts->now, &ss);
        rep->rows_out = ss.rows;
        rep->rows_written = ss.written;
        rep->rows_deleted = ss.deleted;
        rep->tables_rewritten = ss.rewrites;
    }
    rep->ms_save = ms_since(&t);
    if (rc)
        goto fail;
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
    if ((rc = eg_store_run_finish(st, rep->run_id, "ok", json, NULL, NULL)) ||
        (rc = eg_store_commit(st)))
        goto fail;
    eg_store_bulk_finish(st); /* back to WAL if a first load switched the journal */
    goto done;
fail:
    eg_store_rollback(st); /* the ingest of this run too: nothing of it is kept */
    eg_store_bulk_finish(st);
    {
        eg_error saved = *eg_error_last();
        /* the ingest's run row was committed when it began; record how the run ended */
        eg_store_run_finish(st, rep->ingest.run_id, "failed", NULL, NULL, saved.message);
        *(eg_error *)eg_error_last() = saved;
    }
done:
    free(json);
    eg_model_free(&md);
    return rc;
}

char *eg_run_report_json(const eg_run_report *r)
{
    eg_buf b;
    eg_buf_init(&b, 0);
    eg_buf_printf(&b,
                  "{\"memories\":%lld,\"by_status\":{\"staged\":%lld,\"unattended\":%lld,"
                  "\"in_wm\":%lld,\"in_stm\":%lld,\"consolidated\":%lld,\"forgotten\":%lld},"
                  "\"episodes\":%lld,\"concepts\":%lld,\"assoc_edges\":%lld,"
                  "\"concept_edges\":%lld,\"ltm\":%lld,\"creative\":%lld,\"ticks\":%lld,"
                  "\"replays\":%lld,\"rem_phases\":%lld,\"homeostasis_phases\":%lld,"
                  "\"writes\":{\"rows\":%lld,\"written\":%lld,\"deleted\":%lld,"
                  "\"tables_rewritten\":%lld},"
                  "\"ms\":{\"load\":%.1f,\"engine\":%.1f,\"save\":%.1f,\"total\":%.1f}}",
                  (long long)r->memories, (long long)r->by_status[0], (long long)r->by_status[1],
                  (long long)r->by_status[2], (long long)r->by_status[3],
                  (long long)r->by_status[4], (long long)r->by_status[5], (long long)r->episodes,
                  (long long)r->concepts, (long long)r->assoc_edges, (long long)r->concept_edges,
                  (long long)r->ltm, (long long)r->creative, (long long)r->ticks,
                  (long long)r->replays, (long long)r->rem_phases, (long long)r->homeostasis_phases,
                  (long long)r->rows_out, (long long)r->rows_written, (long long)r->rows_deleted,
                  (long long)r->tables_rewritten, r->ms_load, r->ms_engine, r->ms_save,
                  r->ms_total);
    return b.data;
}
