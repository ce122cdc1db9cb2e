/*
 * store.h — the embedded store: one SQLite file in WAL mode that holds the embedded source table
 * (`memories`), every memory engram knows with its staging columns (`memory`), the FTS5 index, the
 * watermark, quarantine, and runs. Schema changes go through numbered migrations (migrations.c);
 * the version is recorded in PRAGMA user_version.
 *
 * Ownership: eg_store_open allocates, eg_store_close frees (NULL is fine). A store is used by one
 * thread at a time. Writes happen inside eg_store_begin/commit; nothing here commits on its own.
 * The SQL of the store lives in this folder only; other modules call these functions.
 */
#ifndef EG_STORE_STORE_H
#define EG_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "core/record.h"
#include "engram/engram.h"
#include "util/buf.h"
#include "util/idset.h"

typedef struct sqlite3 sqlite3;

/* How long a write waits for another connection's write lock before giving up with EG_EBUSY
 * (10 s unless set). */
void eg_store_set_busy_timeout(eg_store *st, int ms);

/* The page cache of the store's connection, in MiB (64 unless set). A transaction that
 * dirties more pages than it holds writes some to the WAL early, and again when it changes
 * them after that. */
void eg_store_set_cache_mib(eg_store *st, int mib);
/* eg_store_open / eg_store_close and the open flags are public: engram/engram.h. */
int eg_store_schema_version(eg_store *st);
const char *eg_store_path(eg_store *st);
sqlite3 *eg_store_db(eg_store *st); /* this folder's modules, tests, and a first load's reader */
/* Adds to the last error (set just before from db's failure) a detail and a hint when SQLite's
 * message alone does not say where to look: a full disk (SQLITE_FULL, or an I/O error with
 * ENOSPC: the store's folder and SQLite's temporary folder, with the space each has), a file
 * that cannot be written or opened (SQLITE_READONLY, SQLITE_CANTOPEN: a folder that does not
 * exist, a folder given as the store, a read-only file system, the store, its -shm or -wal file
 * or its folder not writable, whichever applies first). True if
 * it added them. Called by the store's error makers (db_error, q_error, ...; validate's). */
bool eg__store_explain(sqlite3 *db, const char *path);
/* Sets the last error for st's failed statement, 'store "PATH": WHAT: SQLite's message', with
 * eg__store_explain's detail and hint; returns EG_ESTORE. The one maker of such errors. */
int eg__store_error(eg_store *st, const char *what);
/* Whether the calling thread's last error is one eg__store_explain explained: the store
 * refused a write for want of room or permission (its state, not a failure inside engram). */
bool eg__store_refused(void);

int eg_store_begin(eg_store *st);
/* Rows inserted from here to the end of the transaction are not late arrivals, whatever the
 * checkpoint (a rebuild computes what a new store would, and a new store has none). */
void eg_store_no_late_arrivals(eg_store *st);
int eg_store_commit(eg_store *st);
void eg_store_rollback(eg_store *st);
int eg_store_exec(eg_store *st, const char *sql);

/* Bulk mode, inside a transaction: when the memory table is empty, its indexes are dropped and
 * rebuilt by eg_store_bulk_end (much faster for a first load); *bulk says whether it applied.
 * A rollback ends bulk mode too. */
int eg_store_bulk_begin(eg_store *st, bool *bulk);
/* Outside a transaction, before and after a load: when the memory table is empty, prepare moves
 * the store to a rollback journal if it can (a first load then writes its data once, not twice);
 * finish returns it to WAL mode. Both are safe to call always. */
int eg_store_bulk_prepare(eg_store *st);
void eg_store_bulk_finish(eg_store *st);
/* Whether bulk_prepare moved the store to a rollback journal (until bulk_finish). */
bool eg_store_journal_switched(eg_store *st);
/* Whether the memory table is empty: the next ingest is a first load. */
int eg_store_is_empty(eg_store *st, bool *empty);
int eg_store_bulk_end(eg_store *st);

/* ---- the embedded source table (engram remember / import) ---- */

/* Inserts or replaces a row of `memories` by id. *changed: 0 unchanged, 1 inserted, 2 updated. */
int eg_store_source_put(eg_store *st, const eg_record *r, int *changed);

/* ---- staged memories ---- */

typedef enum {
    EG_PUT_UNCHANGED = 0,
    EG_PUT_INSERTED = 1,
    EG_PUT_UPDATED = 2,
    EG_PUT_OLDER = 3 /* left alone: the stored version has a later key (a duplicate id, or a
                        row whose key moved back: the caller tells them apart, ingest.c) */
} eg_put_result;

/* Upserts one source row with its staging (keyed by id; a row whose source columns are unchanged
 * is left alone, staging included, and so is a row whose coalesce(updated_at, created_at) is
 * before the stored version's: with duplicate ids the latest version wins in any read order).
 * concepts_json may be NULL for skipped rows. source_key is the stable key of the source the row
 * was read from (eg_source_key: no user, no secret); it is written on every row read, unchanged
 * ones included, unless NULL. */
int eg_store_memory_put(eg_store *st, const eg_record *r, const eg_staged *s,
                        const char *concepts_json, const char *source_system,
                        const char *source_key, int64_t now, eg_put_result *result);
/* eg_store_memory_put, except that the stored version's key does not count: r replaces it unless
 * the two are the same. For the version a read found in place of the stored one, when that read
 * would have delivered the stored version too had it still been at the source (ingest.c). */
int eg_store_memory_replace(eg_store *st, const eg_record *r, const eg_staged *s,
                            const char *concepts_json, const char *source_system,
                            const char *source_key, int64_t now, eg_put_result *result);

/* Moves the staging to now (the run's clock). Rows are in the window when created_at >
 * window_start; the rows on the wrong side of it (staged but out of it, skipped out of it but
 * in it; every row with all, for --rebuild) are read whole and staged by fn, and the rows fn
 * skips get status skipped. Nothing else is written: the staging columns that depend on now
 * (activation_strength, importance_score) are not stored but computed by the `staging` view at
 * the staging clock, which this moves to now (docs/adr/0009). Returns the number of rows staged
 * again in *visited. */
typedef int (*eg_restage_fn)(const eg_record *r, eg_staged *out, eg_buf *concepts, void *ud);
/* concepts is NULL when the row already has its concepts (they do not depend on now), unless
 * flags has EG_RESTAGE_CONCEPTS. flags: EG_RESTAGE_ALL stages every row again (--rebuild);
 * EG_RESTAGE_CONCEPTS stages every row again with its concepts and features made anew (the
 * concept settings changed). 0 (false) restages the rows that crossed the window only. */
enum { EG_RESTAGE_ALL = 1, EG_RESTAGE_CONCEPTS = 2 };
int eg_store_restage(eg_store *st, int64_t now, int64_t window_start, unsigned flags,
                     eg_restage_fn fn, void *ud, int64_t *visited);

/* The settings the stored memories' concepts were made with (meta 'concept_settings', written by
 * the caller as it likes, e.g. "english/32"): *found is false when no value is stored (a store
 * from before it was kept). Set stores settings; NULL removes the value (not known). */
int eg_store_concept_settings_get(eg_store *st, char *buf, size_t n, bool *found);
int eg_store_concept_settings_set(eg_store *st, const char *settings);

/* Marks the memories read from the source source_key whose id is not in seen as deleted at the
 * source at now; returns how many in *n and up to 5 example ids appended to examples. Rows
 * stored without a source key (before migration 14, and not read since) are taken by their
 * source_system; with source_key NULL, every row of source_system is. Rows of another source
 * key are never touched: a --full read of one table does not delete another table's rows. */
int eg_store_mark_deleted(eg_store *st, const char *source_system, const char *source_key,
                          const eg_idset *seen, int64_t now, int64_t *n, eg_buf *examples);

/* Brings the FTS5 index up to date with rows inserted or updated since the last sync. */
int eg_store_fts_sync(eg_store *st, int64_t *indexed);

/* ---- watermark, quarantine, runs ---- */

int eg_store_watermark_get(eg_store *st, const char *source_key, int64_t *key_at, bool *found);
int eg_store_watermark_set(eg_store *st, const char *source_key, int64_t key_at, int64_t run_id);
/* The largest key read from the source so far, before the cap at now that the watermark has
 * (meta 'watermark_max:' || source_key): a later run at a later now advances the watermark to it
 * even when it reads nothing new, as one run at that now would have. _set keeps the larger. */
int eg_store_watermark_max_get(eg_store *st, const char *source_key, int64_t *key, bool *found);
int eg_store_watermark_max_set(eg_store *st, const char *source_key, int64_t key);

/* The change log of the embedded `memories` table (migrations 9, 12): its entries are the rows
 * written since the last read; *upto = its last seq (0 when empty); *found is false when no
 * ingest has read the log yet (rows are logged only after one). */
int eg_store_changes(eg_store *st, int64_t *upto, bool *found);
/* Records that the log was read (from then on rows are logged), and drops the entries up to
 * upto, the ones read. */
int eg_store_changes_consume(eg_store *st, int64_t upto);

int eg_store_quarantine(eg_store *st, int64_t at, const char *source, const char *ref,
                        const char *field, const char *reason, const char *raw, size_t raw_len);

/* Runs: begin returns the run id (its own small transaction); finish records the outcome.
 * Begin records the process (pid, host name) and, the first time on a handle, first marks
 * 'interrupted' the runs this host left 'running' whose process is gone (kill -9, a crash):
 * finished_at NULL, the error says so; and the runs left 'running' without a pid (begun by an
 * engram before schema 15, which can never finish them), whatever their host. Runs of other
 * hosts and of live pids are left alone. */
int eg_store_run_begin(eg_store *st, const char *command, int64_t now, const char *source,
                       int64_t *run_id);
int eg_store_run_finish(eg_store *st, int64_t run_id, const char *outcome, const char *counts_json,
                        const char *durations_json, const char *error);

/* ---- reading ---- */

/* The facts `engram stats` shows, as a new JSON object (caller json_decref's it). */
int eg_store_stats(eg_store *st, json_t **out);

typedef enum { EG_EXPORT_CSV, EG_EXPORT_JSONL } eg_export_format;
/* Writes one export of `engram export --what WHAT` (SPEC §13) with the spec's column names:
 * "staging" (the staging view), "features" (SPEC §6, of every memory that has them) and "ltm"
 * (SPEC §7.4) ordered by memory_id; "concepts" (name, community, memories) ordered by name;
 * "edges" (the concept graph: the two concept names, the smaller first, weight, co-activations,
 * last co-activation) ordered by the names. Memories deleted at the source are left out. The
 * same store gives the same bytes. An unknown what is EG_EUSAGE. */
int eg_store_export(eg_store *st, const char *what, eg_export_format fmt, FILE *out);
/* 0 if what names an export, else EG_EUSAGE with the message listing them (no store needed). */
int eg_store_export_check(const char *what);
/* eg_store_export(st, "staging", ...). */
int eg_store_export_staging(eg_store *st, eg_export_format fmt, FILE *out);

#endif
