/*
 * engram/engram.h — the public API of libengram: what the CLI, the benchmarks and embedders call.
 *
 * The flow is: load a configuration (eg_config_load, engram/config.h), open the store
 * (eg_store_open), then ingest/run, import, remember. Every function
 * returns 0 or a negative EG_E* code with the last error set (engram/error.h). Reports are plain
 * structs the caller owns; nothing here keeps a pointer to them.
 */
#ifndef ENGRAM_ENGRAM_H
#define ENGRAM_ENGRAM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engram/config.h"
#include "engram/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ENGRAM_VERSION "0.1.0"

typedef struct eg_store eg_store;

/* ---- the store ---- */

enum { EG_STORE_CREATE = 1, EG_STORE_READONLY = 2 };

/* Opens (with EG_STORE_CREATE: creates) the store at path and migrates it to the latest schema.
 * A missing store without EG_STORE_CREATE is EG_ENOTFOUND with a hint to run `engram init`.
 * The caller closes it with eg_store_close (NULL is fine). */
int eg_store_open(eg_store **out, const char *path, int flags);
void eg_store_close(eg_store *st);

/* ---- ingest and run (SPEC §4, §5) ---- */

typedef struct eg_ingest_opts {
    int64_t now;         /* the run's clock, µs since 1970 UTC */
    bool full;           /* rescan everything and report rows deleted at the source */
    bool restage;        /* recompute staging of every stored memory at now (engram run) */
    bool rebuild;        /* with full: recompute everything from the source, as a new store would */
    bool keep_open;      /* leave the store transaction open on success: the caller commits */
    bool defer_fts;      /* with keep_open: leave the full-text index to the caller (engram run
                          * builds it while the pipeline computes) */
    const char *command; /* recorded in the runs table ("ingest", "run") */
    /* called from the reading thread about every 50,000 rows read (may be NULL) */
    void (*progress)(int64_t rows_read, void *ud);
    void *progress_ud;
} eg_ingest_opts;

enum { EG_REPORT_SKIPS = 5 };

typedef struct eg_ingest_report {
    int64_t run_id;
    char source[1200]; /* description, never a password */
    int attempts;      /* read attempts (1 unless the source failed mid-read) */
    int64_t read;      /* rows delivered by the source */
    int64_t inserted, updated, unchanged;
    int64_t staged;                   /* rows read that passed the staging filter */
    int64_t skipped[EG_REPORT_SKIPS]; /* by eg_skip reason (index 0 unused) */
    int64_t rejected;                 /* rows quarantined (bad id, bad UTF-8, bad timestamp) */
    int64_t metadata_invalid, metadata_not_object, blank_content, updated_before_created;
    int64_t deleted_at_source;
    int64_t older_versions; /* rows read but not stored: an older version of an id (duplicates) */
    char deleted_examples[512];
    int64_t restaged; /* memories whose staging was recomputed at now */
    int64_t fts_indexed;
    bool had_watermark;
    bool full;             /* every row was read (--full): a rescan, whatever the watermark */
    bool by_change_log;    /* the rows written since the last read (the store's own table), not a
                              scan by time */
    bool rollback_journal; /* a first load, written once through a rollback journal (no other
                              connection had the store open), not through the WAL */
    int64_t watermark_before, watermark_after;
    double ms_read, ms_index, ms_restage, ms_fts, ms_commit, ms_total;
} eg_ingest_report;

/* Reads the configured source into the store and stages it at opts->now, in one store
 * transaction: on any failure nothing of this run is committed (the watermark included).
 * Retries a read that failed mid-way (source unreachable) with backoff, as configured. */
int eg_ingest(eg_store *st, const eg_config *cfg, const eg_ingest_opts *opts,
              eg_ingest_report *rep);
/* The report as JSON text (caller frees with free()). */
char *eg_ingest_report_json(const eg_ingest_report *rep, int64_t now);

/* ---- the biological pipeline (SPEC §7): engram run ---- */

typedef struct eg_run_report {
    eg_ingest_report ingest;
    int64_t run_id;
    int64_t memories;     /* staged memories the pipeline saw */
    int64_t by_status[6]; /* staged, unattended, in_wm, in_stm, consolidated, forgotten */
    int64_t episodes, assoc_edges, concept_edges, concepts, ltm, creative;
    int64_t ticks, replays, rem_phases, homeostasis_phases;
    double ms_load, ms_engine, ms_save, ms_total;
    /* the save: output rows generated, and of them written (inserted or replaced); stored rows
     * deleted one by one; tables rewritten whole because most of their rows changed */
    int64_t rows_out, rows_written, rows_deleted, tables_rewritten;
    /* resumed: the simulation went on from the last run's snapshot instead of replaying the
     * history; otherwise recomputed says why (a static string) */
    bool resumed, snapshot_written;
    const char *recomputed;
    double ms_snapshot; /* writing the snapshot */
} eg_run_report;

/* Ingests and stages (like eg_ingest with restage), then moves every memory through the
 * pipeline up to opts->now and saves the outcome in one transaction. */
int eg_run(eg_store *st, const eg_config *cfg, const eg_ingest_opts *opts, eg_run_report *rep);
/* The pipeline part of the report as JSON text (caller frees). */
char *eg_run_report_json(const eg_run_report *rep);

/* ---- the embedded source (engram import / remember) ---- */

typedef struct eg_import_report {
    int64_t lines_ok, inserted, updated, unchanged, quarantined;
    int64_t blank;    /* skipped: blank lines, and CSV records of empty fields only (",,,") */
    int64_t repeated; /* rows of an id an earlier row of the file had (also in updated or
                       * unchanged): each replaced that row */
} eg_import_report;

/* Imports a JSONL or CSV file (format "jsonl", "csv" or NULL to guess from the name) into the
 * store's `memories` table in one transaction; bad lines are quarantined and reported on err
 * (one line each, "FILE:LINE: field: reason"), the rest imported. */
int eg_import_file(eg_store *st, const char *path, const char *format, int64_t now, FILE *err,
                   eg_import_report *rep);

/* The most characters (UTF-8 code points) of an id given to eg_remember, and the bytes its
 * id_out needs: that many 4-byte characters and the NUL. */
enum { EG_REMEMBER_ID_MAX = 36, EG_REMEMBER_ID_SIZE = 4 * EG_REMEMBER_ID_MAX + 1 };

/* Checks what eg_remember would refuse, without a store: text that is not valid UTF-8 or is
 * empty or only whitespace (it would only ever be skipped), and metadata that is not a JSON
 * object, are EG_EBADINPUT; an id (if not NULL) that is not valid UTF-8 or not 1 to
 * EG_REMEMBER_ID_MAX characters is EG_EUSAGE. */
int eg_remember_check(const char *text, const char *id, const char *metadata);
/* Adds one memory to the store's `memories` table, after eg_remember_check. id may be NULL (one
 * is made from now and the text); id_out (at least EG_REMEMBER_ID_SIZE bytes) receives the id
 * used. metadata may be NULL. */
int eg_remember(eg_store *st, const char *text, const char *id, const char *metadata,
                int64_t created_at, char *id_out);

#ifdef __cplusplus
}
#endif
#endif
