/*
 * sqlite.c — the SQLite implementation of store.h.
 *
 * Owns the connection and its prepared statements (prepared once, reset per use). WAL mode,
 * synchronous=NORMAL (a crash may lose the last transaction, never corrupt or half-apply one),
 * a busy timeout so readers and one writer coexist. Not for: staging logic (stage/), reading
 * sources (source/).
 */
#include "store/store.h"

#include "engram/error.h"
#include "store/fts.h"
#include "store/migrations.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <utf8proc.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

enum {
    Q_FIND,
    Q_FINGERPRINT,
    Q_UNDELETE,
    Q_INSERT,
    Q_UPDATE,
    Q_OLD_CONTENT,
    Q_FTS_DELETE,
    Q_TERM_ADD,
    Q_TERM_DROP,
    Q_FOLD_GET,
    Q_FOLD_SET,
    Q_FTS_PENDING,
    Q_SRC_FIND,
    Q_SRC_PUT,
    Q_RESTAGE,
    Q_RESTAGE_ROW,
    Q_STAGED_AT,
    Q_COUNT
};

static const char *const sql_text[Q_COUNT] = {
    [Q_FIND] = "SELECT rowid, fingerprint, deleted_at_source IS NOT NULL, "
               "coalesce(updated_at, created_at), ?2 IS NULL OR source_key IS ?2 FROM memory "
               "WHERE id = ?1",
    /* an unchanged row read again: back from deletion, and keyed by the source it was read
     * from (rows stored before migration 14 get their key so) */
    [Q_UNDELETE] =
        "UPDATE memory SET deleted_at_source = NULL, source_key = coalesce(?2, source_key) "
        "WHERE rowid = ?1",
    [Q_FINGERPRINT] = "SELECT fingerprint, coalesce(updated_at, created_at) FROM memory WHERE "
                      "rowid = ?1",
    [Q_INSERT] = "INSERT INTO memory (id, source_system, content, content_hash, fingerprint, "
                 "created_at, updated_at, metadata, status, skip_reason, issues, length_chars, "
                 "last_accessed_at, access_count, memory_type, concepts, processed_at, "
                 "first_seen_at, importance, urgency, "
                 "emotional_salience, sentiment, task_type, knowledge_type, region_hint, "
                 "abstraction_level, late, arrived_at, source_key) VALUES (?1, ?2, ?3, ?4, "
                 "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?14, ?15, ?17, ?18, ?19, ?19, ?21, ?22, "
                 "?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)",
    [Q_UPDATE] = "UPDATE memory SET source_system = ?2, content = ?3, content_hash = ?4, "
                 "fingerprint = ?5, created_at = ?6, updated_at = ?7, metadata = ?8, status = ?9, "
                 "skip_reason = ?10, issues = ?11, length_chars = ?12, last_accessed_at = ?14, "
                 "access_count = ?15, memory_type = ?17, concepts = ?18, processed_at = ?19, "
                 "deleted_at_source = NULL, "
                 "importance = ?21, urgency = ?22, emotional_salience = ?23, sentiment = ?24, "
                 "task_type = ?25, knowledge_type = ?26, region_hint = ?27, "
                 "abstraction_level = ?28, source_key = coalesce(?31, source_key) "
                 "WHERE rowid = ?20",
    [Q_OLD_CONTENT] = "SELECT content FROM memory WHERE rowid = ?1",
    [Q_FTS_DELETE] = "INSERT INTO memory_fts (memory_fts, rowid, content) VALUES ('delete', ?1, "
                     "engram_fts_tally(engram_fts_fold(?2), -1))",
    [Q_TERM_ADD] = "INSERT INTO fts_term (term, docs) VALUES (?1, ?2) "
                   "ON CONFLICT (term) DO UPDATE SET docs = docs + excluded.docs",
    [Q_TERM_DROP] = "DELETE FROM fts_term WHERE term = ?1 AND docs <= 0",
    [Q_FOLD_GET] = "SELECT value FROM meta WHERE key = 'fts_fold'",
    [Q_FOLD_SET] = "INSERT OR REPLACE INTO meta (key, value) VALUES ('fts_fold', ?1)",
    [Q_FTS_PENDING] = "INSERT OR IGNORE INTO fts_pending (rowid) VALUES (?1)",
    [Q_SRC_FIND] = "SELECT content IS ?2 AND created_at IS ?3 AND updated_at IS ?4 AND metadata IS "
                   "?5 FROM memories WHERE id = ?1",
    [Q_SRC_PUT] = "INSERT OR REPLACE INTO memories (id, content, created_at, updated_at, metadata) "
                  "VALUES (?1, ?2, ?3, ?4, ?5)",
    [Q_RESTAGE] = "UPDATE memory SET status = ?2, skip_reason = ?3, issues = ?4, "
                  "last_accessed_at = ?6, access_count = ?7, memory_type = ?9, processed_at = ?10, "
                  "concepts = coalesce(?11, concepts), importance = coalesce(?12, importance), "
                  "urgency = coalesce(?13, urgency), "
                  "emotional_salience = coalesce(?14, emotional_salience), "
                  "sentiment = coalesce(?15, sentiment), task_type = coalesce(?16, task_type), "
                  "knowledge_type = coalesce(?17, knowledge_type), "
                  "region_hint = coalesce(?18, region_hint), "
                  "abstraction_level = coalesce(?19, abstraction_level) WHERE rowid = ?1",
    [Q_RESTAGE_ROW] = "SELECT id, content, created_at, updated_at, metadata FROM memory "
                      "WHERE rowid = ?1",
    /* the staging clock (docs/adr/0009): the now of the last transaction that staged rows; the
     * staging view computes the now-dependent columns of every row at it */
    [Q_STAGED_AT] = "INSERT OR REPLACE INTO meta (key, value) VALUES ('staged_at', ?1)",
};

struct eg_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *q[Q_COUNT];
    int64_t fts_rowid;     /* rows up to this rowid are in the FTS index */
    eg_store_fts *fts;     /* the connection's full-text functions and term counts */
    bool bulk;             /* loading into an empty table: indexes dropped, ids tracked here */
    bool replacing;        /* eg_store_memory_replace: the stored key does not count */
    bool journal_switched; /* bulk_prepare moved the store to a rollback journal */
    bool has_checkpoint;   /* the pipeline's last now, read at begin (late arrivals) */
    int64_t checkpoint;
    /* rows written to the embedded memories table in this transaction: the oldest key
     * (coalesce(updated_at, created_at)) and whether one had neither time; at commit the
     * embedded source's watermark is moved back so that the next ingest reads them */
    bool src_written, src_unkeyed;
    int64_t src_min_key;
    /* rows staged in this transaction, and at which now: at commit the staging clock moves
     * there (docs/adr/0009) */
    bool staged_any;
    int64_t staged_now;
    /* the change log's triggers were dropped for this transaction (before the log's first
     * read they log nothing, at 4 µs a row): made again at commit, restored by a rollback */
    bool log_triggers_dropped;
    eg_idset *bulk_ids; /* id -> rowid of the rows loaded in bulk mode */
    bool runs_swept;    /* the runs of dead processes were marked interrupted (first run_begin) */
};

/* SQLITE_BUSY after the busy timeout: another connection (an `engram run`, an import) held the
 * store's write lock for longer than that. Not a failure of the store: EG_EBUSY (exit 75), with
 * a hint to try again, so that a script can tell it from a broken store and retry. */
static int busy_error(eg_store *st, int rc)
{
    if (rc != EG_ESTORE || (sqlite3_errcode(st->db) & 0xff) != SQLITE_BUSY)
        return rc;
    ((eg_error *)eg_error_last())->code = EG_EBUSY;
    eg_error_hint("another engram (a run, an import) held the store's lock for longer than the "
                  "10 s busy timeout, and this transaction was not applied: try again when it "
                  "is done");
    return EG_EBUSY;
}

/* The folder SQLite writes its temporary files in, by os_unix.c's rule: the first of
 * sqlite3_temp_directory, $SQLITE_TMPDIR, $TMPDIR, /var/tmp, /usr/tmp, /tmp that is a folder this
 * user can write, else the working directory. */
static const char *temp_folder(void)
{
    const char *dirs[] = {sqlite3_temp_directory,
                          getenv("SQLITE_TMPDIR"),
                          getenv("TMPDIR"),
                          "/var/tmp",
                          "/usr/tmp",
                          "/tmp"};
    struct stat sb;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (dirs[i] && stat(dirs[i], &sb) == 0 && S_ISDIR(sb.st_mode) &&
            access(dirs[i], W_OK | X_OK) == 0)
            return dirs[i];
    return ".";
}

/* "12.5 MiB free" for the file system of dir (or "free space unknown") */
static void free_space(const char *dir, char *out, size_t size)
{
    struct statvfs fs;
    if (statvfs(dir, &fs) != 0) {
        snprintf(out, size, "free space unknown");
        return;
    }
    double mib = (double)fs.f_bavail * (double)fs.f_frsize / 1048576.0;
    if (mib >= 10240)
        snprintf(out, size, "%.1f GiB free", mib / 1024);
    else
        snprintf(out, size, "%.1f MiB free", mib);
}

/* A write refused (SQLITE_READONLY), or a store that could not be opened (SQLITE_CANTOPEN),
 * because a file SQLite needs cannot be written: the store itself, its -wal or -shm file, or its
 * folder (where SQLite makes them), or the file system is mounted read-only. SQLite's message
 * ("attempt to write a readonly database") names none of them; a -shm file that a reader made
 * while the store was read-only keeps the store's mode of then (0444), and every write fails on
 * it after the store was made writable again, with nothing in the message to say so. Explains
 * the first of them that applies; false if none does (a store opened read-only on purpose). */
static bool explain_readonly(const char *path, const char *folder)
{
    char wal[4200], shm[4200];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    struct statvfs fs;
    struct stat sb;
    if (stat(folder, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        eg_error_detail("the store's folder %s does not exist", folder);
        eg_error_hint("create it (engram makes the store, not its folder), or point --store at "
                      "an existing folder");
    } else if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        eg_error_detail("%s is a folder, not a store file", path);
        eg_error_hint("point --store at the store's file, not at a folder");
    } else if (statvfs(folder, &fs) == 0 && (fs.f_flag & ST_RDONLY)) {
        eg_error_detail("the store's folder %s is on a read-only file system", folder);
        eg_error_hint("commands that write (run, ingest, import, remember, recall without "
                      "--no-rehearse, validate's record) need it mounted read-write, or a copy "
                      "of the store (with its -wal file) elsewhere; stats, export, trace and "
                      "recall --no-rehearse read it only while its -wal and -shm files exist, "
                      "which SQLite cannot make there");
    } else if (access(path, W_OK) != 0 && errno != ENOENT) {
        eg_error_detail("the store %s is not writable by this user (uid %ld)", path,
                        (long)geteuid());
        eg_error_hint("make it writable (chmod u+w, or chown to the user that runs engram); "
                      "stats, export, trace and recall --no-rehearse read it as it is");
    } else if (access(shm, F_OK) == 0 && access(shm, W_OK) != 0) {
        eg_error_detail("the store's shared-memory file %s is not writable by this user (uid "
                        "%ld): a reader made it while the store was read-only, or another user "
                        "did",
                        shm, (long)geteuid());
        eg_error_hint("make it writable as the store is (chmod u+w, or chown), or remove it "
                      "while no engram has the store open: it holds no data");
    } else if (access(wal, F_OK) == 0 && access(wal, W_OK) != 0) {
        eg_error_detail("the store's write-ahead log %s is not writable by this user (uid %ld)",
                        wal, (long)geteuid());
        eg_error_hint("make it writable as the store is (chmod u+w, or chown); never remove it: "
                      "it may hold committed transactions");
    } else if (access(folder, W_OK | X_OK) != 0) {
        eg_error_detail("the store's folder %s is not writable by this user (uid %ld), and "
                        "SQLite makes the store's -wal and -shm files there",
                        folder, (long)geteuid());
        eg_error_hint("make the folder writable by the user that runs engram (reading needs it "
                      "too, to make those files)");
    } else {
        return false;
    }
    return true;
}

/* The message of the last error eg__store_explain explained, on this thread: that error is
 * still the last one while the last error's message is this (eg__store_refused). */
static _Thread_local char explained[sizeof((eg_error *)0)->message];

bool eg__store_refused(void)
{
    const eg_error *e = eg_error_last();
    return e->code == EG_ESTORE && explained[0] && !strcmp(e->message, explained);
}

static bool explain(sqlite3 *db, const char *path);

bool eg__store_explain(sqlite3 *db, const char *path)
{
    bool done = explain(db, path);
    snprintf(explained, sizeof explained, "%s", done ? eg_error_last()->message : "");
    return done;
}

static bool explain(sqlite3 *db, const char *path)
{
    int code = sqlite3_extended_errcode(db), err = sqlite3_system_errno(db);
    /* the store's folder: what its path names before the last '/' */
    char folder[4096], here[48], there[48];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(folder, sizeof folder, ".");
    else
        snprintf(folder, sizeof folder, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    if ((code & 0xff) == SQLITE_READONLY || (code & 0xff) == SQLITE_CANTOPEN)
        return explain_readonly(path, folder);
    if ((code & 0xff) != SQLITE_FULL &&
        ((code & 0xff) != SQLITE_IOERR || (err != ENOSPC && err != EDQUOT)))
        return false;
    const char *tmp = temp_folder();
    struct stat a, b;
    bool same = stat(folder, &a) == 0 && stat(tmp, &b) == 0 && a.st_dev == b.st_dev;
    free_space(folder, here, sizeof here);
    free_space(tmp, there, sizeof there);
    if (same)
        eg_error_detail("no space left on the file system of the store's folder %s (%s now), "
                        "where SQLite also writes its temporary files (in %s)",
                        folder, here, tmp);
    else
        eg_error_detail("no space left on the file system of the store's folder %s (%s now) or "
                        "on that of SQLite's temporary files in %s (%s now)",
                        folder, here, tmp, there);
    eg_error_hint("free space there and run the command again (the store's last committed state "
                  "is kept); the snapshot files beside the store (%s-snapshot, %s-snapshot-2) are "
                  "a cache that may be deleted, and $SQLITE_TMPDIR moves the temporary files",
                  path, path);
    return true;
}

int eg__store_error(eg_store *st, const char *what)
{
    int rc =
        eg_error_set(EG_ESTORE, "store \"%s\": %s: %s", st->path, what, sqlite3_errmsg(st->db));
    eg__store_explain(st->db, st->path);
    return rc;
}

static int db_error(eg_store *st, const char *what)
{
    return busy_error(st, eg__store_error(st, what));
}

static int terms_flush(eg_store *st);
static int fts_fold_check(eg_store *st);

static sqlite3_stmt *stmt(eg_store *st, int q)
{
    if (!st->q[q] && sqlite3_prepare_v3(st->db, sql_text[q], -1, SQLITE_PREPARE_PERSISTENT,
                                        &st->q[q], NULL) != SQLITE_OK) {
        db_error(st, "could not prepare a statement");
        return NULL;
    }
    sqlite3_reset(st->q[q]);
    sqlite3_clear_bindings(st->q[q]);
    return st->q[q];
}

/* the store's memory map (PRAGMA mmap_size), except while a first load writes it */
#define EG_STORE_MMAP_SIZE "268435456"

int eg_store_open(eg_store **out, const char *path, int flags)
{
    struct stat sb;
    eg_store *st = NULL;
    int rc = 0;
    *out = NULL;
    if (!(flags & EG_STORE_CREATE) && stat(path, &sb) != 0) {
        rc = eg_error_set(EG_ENOTFOUND, "store \"%s\" does not exist", path);
        eg_error_hint("create it with `engram init --store %s`, or point --store at an existing "
                      "store",
                      path);
        return rc;
    }
    st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        rc = eg_error_set(EG_ENOMEM, "out of memory");
        goto fail;
    }
    int oflags = (flags & EG_STORE_READONLY) ? SQLITE_OPEN_READONLY
                                             : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = eg_error_set(EG_ESTORE, "could not open store \"%s\": %s", path,
                          st->db ? sqlite3_errmsg(st->db) : "out of memory");
        if (st->db)
            eg__store_explain(st->db, path);
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 10000);
    sqlite3_extended_result_codes(st->db, 1);
    if ((rc = eg__store_fts_register(st->db, &st->fts)))
        goto fail;
    if (!(flags & EG_STORE_READONLY)) {
        /* larger pages suit rows of a few hundred bytes and bulk loads; only a new file takes it */
        sqlite3_exec(st->db, "PRAGMA page_size=16384", NULL, NULL, NULL);
        if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
            int code = sqlite3_errcode(st->db) & 0xff;
            if (code == SQLITE_READONLY || code == SQLITE_CANTOPEN) {
                rc = db_error(st, "could not switch to WAL mode");
                if (!eg__store_explain(st->db, path))
                    eg_error_hint("SQLite keeps the store's -wal and -shm files beside it: the "
                                  "store and its folder must be writable by this user");
                goto fail;
            }
            if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
                /* (the first statement to read the file: not a WAL problem) */
                rc = eg_error_set(EG_ESTORE,
                                  "store \"%s\" is not a SQLite database, or is damaged: %s", path,
                                  sqlite3_errmsg(st->db));
                eg_error_hint("check --store (or `store` in the configuration): an engram store is "
                              "the file `engram init` or a first `engram import` makes. Keep a "
                              "damaged one aside and restore a backup; with a PostgreSQL source a "
                              "new store rebuilds the results (`engram run`), but memories "
                              "imported or remembered into the store live only in it");
                goto fail;
            }
            /* SQLITE_BUSY/LOCKED: another engram holds the store through a first load's rollback
             * journal (eg_store_bulk_prepare), and changing the mode needs the file to itself,
             * which SQLite does not wait for. Go on in its mode: this connection's reads and
             * writes wait for the lock like any other (busy timeout), and the store is back in
             * WAL mode when that load ends, which SQLite notices at the next transaction. */
            if (code != SQLITE_BUSY && code != SQLITE_LOCKED) {
                rc = db_error(st, "could not switch to WAL mode");
                goto fail;
            }
        }
        if ((rc = eg__store_migrate(st->db, path)))
            goto fail;
    } else {
        int version = eg_store_schema_version(st);
        if (version < 0) {
            rc = db_error(st, "could not read the schema version");
            if ((sqlite3_errcode(st->db) & 0xff) == SQLITE_BUSY)
                eg_error_hint("another engram is writing the store (a first load holds it until "
                              "it is done): try again then");
            else if (!eg__store_explain(st->db, path))
                eg_error_hint("SQLite keeps the store's -wal and -shm files beside it: a store in "
                              "WAL mode can be read only where its folder is writable");
            goto fail;
        }
        if (version > eg__store_latest_version()) { /* as eg__store_migrate says it */
            rc = eg_error_set(EG_ESTORE,
                              "store \"%s\" has schema version %d, newer than this engram (%d)",
                              path, version, eg__store_latest_version());
            eg_error_hint("upgrade engram, or use another store");
            goto fail;
        }
        if (version != eg__store_latest_version()) {
            rc = eg_error_set(EG_ESTORE, "store \"%s\" has schema version %d; this engram needs %d",
                              path, version, eg__store_latest_version());
            eg_error_hint("open it once read-write (e.g. `engram stats`) to migrate it");
            goto fail;
        }
    }
    sqlite3_exec(st->db,
                 "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA temp_store=FILE;"
                 "PRAGMA cache_size=-65536; PRAGMA mmap_size=" EG_STORE_MMAP_SIZE
                 "; PRAGMA threads=2",
                 NULL, NULL, NULL);
    *out = st;
    return 0;
fail:
    eg_store_close(st);
    return rc;
}

void eg_store_close(eg_store *st)
{
    if (!st)
        return;
    eg_store_bulk_finish(st);
    eg_idset_free(st->bulk_ids);
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(st->q[i]);
    sqlite3_close(st->db);
    free(st->path);
    free(st);
}

int eg_store_schema_version(eg_store *st)
{
    sqlite3_stmt *s = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

void eg_store_set_busy_timeout(eg_store *st, int ms)
{
    sqlite3_busy_timeout(st->db, ms);
}

void eg_store_set_cache_mib(eg_store *st, int mib)
{
    char sql[48];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=%d", -1024 * mib);
    sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

const char *eg_store_path(eg_store *st)
{
    return st->path;
}

sqlite3 *eg_store_db(eg_store *st)
{
    return st->db;
}

int eg_store_exec(eg_store *st, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        int rc = eg_error_set(EG_ESTORE, "store \"%s\": %s", st->path,
                              err ? err : sqlite3_errmsg(st->db));
        sqlite3_free(err);
        eg__store_explain(st->db, st->path);
        return busy_error(st, rc);
    }
    return 0;
}

static int64_t meta_int(eg_store *st, const char *key, int64_t def)
{
    sqlite3_stmt *s = NULL;
    int64_t v = def;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?1", -1, &s, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    return v;
}

int eg_store_begin(eg_store *st)
{
    int rc = eg_store_exec(st, "BEGIN IMMEDIATE");
    if (rc)
        return rc;
    st->src_written = st->src_unkeyed = false;
    st->src_min_key = INT64_MAX;
    st->staged_any = false;
    st->log_triggers_dropped = false;
    st->fts_rowid = meta_int(st, "fts_rowid", 0);
    sqlite3_stmt *q = NULL;
    st->has_checkpoint = false;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM sim_state WHERE key = 'checkpoint'", -1, &q,
                           NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        st->checkpoint = sqlite3_column_int64(q, 0);
        st->has_checkpoint = true;
    }
    sqlite3_finalize(q);
    return 0;
}

void eg_store_no_late_arrivals(eg_store *st)
{
    st->has_checkpoint = false;
}

/* Until its change log has been read once (migration 9), the store's own memories table is read
 * incrementally from a watermark on the rows' times (source/sqlite.c keys it "embedded
 * table=memories"), like any source. Rows imported or remembered with times older than that
 * watermark would never be read again, short of --full: so the watermark goes back to the
 * oldest of them (or is dropped, for a row without times, which only a full read delivers).
 * Once the log is read, the next read takes every row written since, whatever its times. */
static int uncover_written_rows(eg_store *st)
{
    sqlite3_stmt *s = NULL;
    if (meta_int(st, "memories_log_read", -1) >= 0)
        return 0;
    const char *sql = st->src_unkeyed
                          ? "DELETE FROM watermark WHERE source = 'embedded table=memories'"
                          : "UPDATE watermark SET key_at = ?1 WHERE source = "
                            "'embedded table=memories' AND key_at > ?1";
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return db_error(st, "could not prepare the watermark update");
    if (!st->src_unkeyed)
        sqlite3_bind_int64(s, 1, st->src_min_key);
    int r = sqlite3_step(s);
    sqlite3_finalize(s);
    return r == SQLITE_DONE ? 0 : db_error(st, "could not update the watermark");
}

int eg_store_commit(eg_store *st)
{
    if (st->log_triggers_dropped) {
        int rc = eg_store_exec(st, eg__store_memories_log_triggers);
        if (rc)
            return rc;
        st->log_triggers_dropped = false;
    }
    if (st->staged_any) {
        sqlite3_stmt *clk = stmt(st, Q_STAGED_AT);
        if (!clk)
            return EG_ESTORE;
        sqlite3_bind_int64(clk, 1, st->staged_now);
        int step = sqlite3_step(clk);
        sqlite3_reset(clk);
        if (step != SQLITE_DONE)
            return db_error(st, "could not record the staging clock");
        st->staged_any = false;
    }
    if (st->src_written) {
        int rc = uncover_written_rows(st);
        if (rc)
            return rc;
        st->src_written = false;
    }
    return eg_store_exec(st, "COMMIT");
}

void eg_store_rollback(eg_store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->bulk = false; /* the rollback brought the indexes back (and the log's triggers) */
    st->staged_any = false;
    st->log_triggers_dropped = false;
    eg_idset_free(st->bulk_ids);
    st->bulk_ids = NULL;
}

static int memory_is_empty(eg_store *st, int *empty)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT NOT EXISTS (SELECT 1 FROM memory)", -1, &s, NULL) !=
            SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW)
        rc = db_error(st, "could not look at the memory table");
    else
        *empty = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return rc;
}

/* The journal mode now in force ("wal", "delete", ...), into buf. */
static void journal_mode(eg_store *st, const char *set, char *buf, size_t n)
{
    sqlite3_stmt *s = NULL;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA journal_mode%s%s", set ? "=" : "", set ? set : "");
    buf[0] = '\0';
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        snprintf(buf, n, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
}

int eg_store_bulk_prepare(eg_store *st)
{
    int empty = 0, rc = memory_is_empty(st, &empty);
    char mode[16];
    if (rc || !empty)
        return rc;
    /* A first load into an empty store goes through a rollback journal instead of the WAL: pages
     * appended to the file need no journal, so the data is written once instead of twice (WAL,
     * then checkpoint). This only works when no other connection has the store open; otherwise
     * SQLite keeps WAL mode and the load is just slower. */
    journal_mode(st, "DELETE", mode, sizeof mode);
    st->journal_switched = !strcmp(mode, "delete");
    /* Reads of the file then go through the page cache, not the memory map: pages read through
     * the map would count in the process's resident memory for the whole run (up to the map's
     * 256 MB), on top of the model's peak; in WAL mode a load's pages are read from the WAL. */
    if (st->journal_switched)
        sqlite3_exec(st->db, "PRAGMA mmap_size=0", NULL, NULL, NULL);
    return 0;
}

void eg_store_bulk_finish(eg_store *st)
{
    char mode[16];
    if (!st->journal_switched)
        return;
    journal_mode(st, "WAL", mode, sizeof mode);
    /* inside an open transaction the mode cannot change yet: try again later (at close) */
    if (!strcmp(mode, "wal")) {
        st->journal_switched = false;
        sqlite3_exec(st->db, "PRAGMA mmap_size=" EG_STORE_MMAP_SIZE, NULL, NULL, NULL);
    }
}

bool eg_store_journal_switched(eg_store *st)
{
    return st->journal_switched;
}

int eg_store_is_empty(eg_store *st, bool *empty)
{
    int e = 0, rc = memory_is_empty(st, &e);
    *empty = e;
    return rc;
}

int eg_store_bulk_begin(eg_store *st, bool *bulk)
{
    int rc, empty = 0;
    *bulk = false;
    if ((rc = memory_is_empty(st, &empty)) || !empty)
        return rc;
    if ((rc = eg_idset_new(&st->bulk_ids)) ||
        (rc = eg_store_exec(st, eg__store_memory_indexes_drop)))
        return rc;
    /* a bigger page cache keeps the secondary indexes (random keys) in memory while loading */
    eg_store_set_cache_mib(st, 256);
    st->bulk = *bulk = true;
    return 0;
}

int eg_store_bulk_end(eg_store *st)
{
    int rc;
    if (!st->bulk)
        return 0;
    rc = eg_store_exec(st, eg__store_memory_indexes);
    eg_store_set_cache_mib(st, 64);
    st->bulk = false;
    eg_idset_free(st->bulk_ids);
    st->bulk_ids = NULL;
    return rc;
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *p, size_t n)
{
    if (p)
        sqlite3_bind_text64(s, i, p, n, SQLITE_STATIC, SQLITE_UTF8);
    else
        sqlite3_bind_null(s, i);
}

static void bind_time_text(sqlite3_stmt *s, int i, bool has, int64_t us, char *buf)
{
    if (has)
        sqlite3_bind_text(s, i, eg_time_format(us, buf), -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

int eg_store_source_put(eg_store *st, const eg_record *r, int *changed)
{
    char t1[EG_TIME_BUFSZ], t2[EG_TIME_BUFSZ];
    sqlite3_stmt *s = stmt(st, Q_SRC_FIND);
    if (!s)
        return EG_ESTORE;
    sqlite3_bind_text64(s, 1, r->id, r->id_len, SQLITE_STATIC, SQLITE_UTF8);
    bind_text_or_null(s, 2, r->content, r->content_len);
    bind_time_text(s, 3, r->has_created, r->created_at, t1);
    bind_time_text(s, 4, r->has_updated, r->updated_at, t2);
    bind_text_or_null(s, 5, r->metadata, r->metadata_len);
    int step = sqlite3_step(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return db_error(st, "could not read the memories table");
    int existed = step == SQLITE_ROW, same = existed && sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    if (same) {
        *changed = 0;
        return 0;
    }
    if (!st->src_written && !st->log_triggers_dropped &&
        meta_int(st, "memories_log_read", -1) < 0) { /* the first write: see the struct */
        int rc = eg_store_exec(st, eg__store_memories_log_triggers_drop);
        if (rc)
            return rc;
        st->log_triggers_dropped = true;
    }
    s = stmt(st, Q_SRC_PUT);
    if (!s)
        return EG_ESTORE;
    sqlite3_bind_text64(s, 1, r->id, r->id_len, SQLITE_STATIC, SQLITE_UTF8);
    bind_text_or_null(s, 2, r->content, r->content_len);
    bind_time_text(s, 3, r->has_created, r->created_at, t1);
    bind_time_text(s, 4, r->has_updated, r->updated_at, t2);
    bind_text_or_null(s, 5, r->metadata, r->metadata_len);
    if (sqlite3_step(s) != SQLITE_DONE)
        return db_error(st, "could not write the memories table");
    *changed = existed ? 2 : 1;
    st->src_written = true;
    if (!r->has_updated && !r->has_created)
        st->src_unkeyed = true;
    else {
        int64_t key = r->has_updated ? r->updated_at : r->created_at;
        if (key < st->src_min_key)
            st->src_min_key = key;
    }
    return 0;
}

/* A hash of every source column, so an unchanged row is recognised without comparing text. */
static int64_t fingerprint(const eg_record *r)
{
    XXH3_state_t state;
    XXH3_64bits_reset(&state);
    uint8_t flags = (uint8_t)((r->content != NULL) | (r->has_created << 1) | (r->has_updated << 2) |
                              ((r->metadata != NULL) << 3));
    XXH3_64bits_update(&state, &flags, 1);
    XXH3_64bits_update(&state, &r->content_len, sizeof r->content_len);
    if (r->content)
        XXH3_64bits_update(&state, r->content, r->content_len);
    XXH3_64bits_update(&state, &r->created_at, sizeof r->created_at);
    XXH3_64bits_update(&state, &r->updated_at, sizeof r->updated_at);
    if (r->metadata)
        XXH3_64bits_update(&state, r->metadata, r->metadata_len);
    return (int64_t)XXH3_64bits_digest(&state);
}

/* binds the 8 feature columns from parameter `first` on (NULLs when there are none) */
static void bind_features(sqlite3_stmt *s, int first, const eg_staged *g)
{
    if (!g->has_features)
        return;
    sqlite3_bind_double(s, first, g->importance);
    sqlite3_bind_double(s, first + 1, g->urgency);
    sqlite3_bind_double(s, first + 2, g->emotional_salience);
    sqlite3_bind_text(s, first + 3, g->sentiment, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, first + 4, g->task_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, first + 5, g->knowledge_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, first + 6, g->region_hint, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, first + 7, g->abstraction_level);
}

static void bind_staging(sqlite3_stmt *s, const eg_staged *g, const char *concepts, int64_t now)
{
    if (g->skip) {
        sqlite3_bind_text(s, 9, "skipped", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 10, eg_skip_name(g->skip), -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_text(s, 9, "staged", -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 14, g->last_accessed_at);
        sqlite3_bind_int64(s, 15, g->access_count);
        sqlite3_bind_text(s, 17, g->memory_type, -1, SQLITE_STATIC);
    }
    if (concepts && eg_skip_in_pipeline(g->skip)) /* the pipeline's input, staged or not */
        sqlite3_bind_text(s, 18, concepts, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 11, (int)g->issues);
    if (g->length_chars >= 0)
        sqlite3_bind_int64(s, 12, g->length_chars);
    sqlite3_bind_int64(s, 19, now);
    bind_features(s, 21, g);
}

/* Whether r is an older version of the stored row whose coalesce(updated_at, created_at) is in
 * column col of s: both have a key and r's is before it. A source with duplicate ids (no primary
 * key, a view) delivers versions in any order (COPY has none); the latest key wins whatever the
 * order, and a --full rescan cannot put an older version back. Equal keys: the last read wins. */
static bool is_older(const eg_store *st, const eg_record *r, sqlite3_stmt *s, int col)
{
    if (st->replacing || (!r->has_updated && !r->has_created) ||
        sqlite3_column_type(s, col) == SQLITE_NULL)
        return false;
    return (r->has_updated ? r->updated_at : r->created_at) < sqlite3_column_int64(s, col);
}

int eg_store_memory_put(eg_store *st, const eg_record *r, const eg_staged *g,
                        const char *concepts_json, const char *source_system,
                        const char *source_key, int64_t now, eg_put_result *result)
{
    int64_t fp = fingerprint(r), rowid = 0;
    sqlite3_stmt *s;
    if (st->bulk) {
        /* no index on id while loading in bulk: a repeated id is found in the id map */
        if (eg_idset_get(st->bulk_ids, r->id, r->id_len, &rowid)) {
            s = stmt(st, Q_FINGERPRINT);
            if (!s)
                return EG_ESTORE;
            sqlite3_bind_int64(s, 1, rowid);
            bool found = sqlite3_step(s) == SQLITE_ROW;
            bool same = found && sqlite3_column_int64(s, 0) == fp;
            bool older = found && !same && is_older(st, r, s, 1);
            sqlite3_reset(s);
            if (same || older) {
                *result = same ? EG_PUT_UNCHANGED : EG_PUT_OLDER;
                return 0;
            }
        }
    } else {
        s = stmt(st, Q_FIND);
        if (!s)
            return EG_ESTORE;
        sqlite3_bind_text64(s, 1, r->id, r->id_len, SQLITE_STATIC, SQLITE_UTF8);
        if (source_key)
            sqlite3_bind_text(s, 2, source_key, -1, SQLITE_STATIC);
        int step = sqlite3_step(s);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            return db_error(st, "could not look up a memory");
        bool same = false, deleted = false, older = false, same_key = true;
        if (step == SQLITE_ROW) {
            rowid = sqlite3_column_int64(s, 0);
            same = sqlite3_column_int64(s, 1) == fp;
            deleted = sqlite3_column_int(s, 2);
            older = !same && !deleted && is_older(st, r, s, 3);
            same_key = sqlite3_column_int(s, 4);
        }
        sqlite3_reset(s); /* a statement left mid-step would pin a read snapshot */
        if (older) {
            *result = EG_PUT_OLDER;
            return 0;
        }
        if (same) {
            /* it was gone from the source and came back as it was, or it was stored without
             * the key of its source (before migration 14) or under another one */
            if (deleted || !same_key) {
                sqlite3_stmt *u = stmt(st, Q_UNDELETE);
                if (!u)
                    return EG_ESTORE;
                sqlite3_bind_int64(u, 1, rowid);
                if (source_key)
                    sqlite3_bind_text(u, 2, source_key, -1, SQLITE_STATIC);
                if (sqlite3_step(u) != SQLITE_DONE)
                    return db_error(st, "could not update a memory");
            }
            *result = EG_PUT_UNCHANGED;
            return 0;
        }
    }
    if (rowid && rowid <= st->fts_rowid) {
        int folded = fts_fold_check(st); /* (may empty the index: then nothing to take out) */
        if (folded)
            return folded;
    }
    if (rowid && rowid <= st->fts_rowid) {
        /* The old content is in the FTS index: take it out before it changes, unless an earlier
         * update in this transaction did so already (the row is then queued in fts_pending). */
        sqlite3_stmt *p = stmt(st, Q_FTS_PENDING);
        if (!p)
            return EG_ESTORE;
        sqlite3_bind_int64(p, 1, rowid);
        if (sqlite3_step(p) != SQLITE_DONE)
            return db_error(st, "could not queue a full-text index update");
        if (sqlite3_changes(st->db) == 1) {
            sqlite3_stmt *o = stmt(st, Q_OLD_CONTENT);
            if (!o)
                return EG_ESTORE;
            sqlite3_bind_int64(o, 1, rowid);
            if (sqlite3_step(o) == SQLITE_ROW && sqlite3_column_type(o, 0) != SQLITE_NULL) {
                sqlite3_stmt *d = stmt(st, Q_FTS_DELETE);
                if (!d)
                    return EG_ESTORE;
                sqlite3_bind_int64(d, 1, rowid);
                sqlite3_bind_value(d, 2, sqlite3_column_value(o, 0));
                int step = sqlite3_step(d);
                sqlite3_reset(o);
                if (step != SQLITE_DONE) {
                    eg__store_fts_tally_clear(st->fts);
                    return db_error(st, "could not update the full-text index");
                }
                int flushed = terms_flush(st);
                if (flushed)
                    return flushed;
            }
            sqlite3_reset(o);
        }
    }
    s = stmt(st, rowid ? Q_UPDATE : Q_INSERT);
    if (!s)
        return EG_ESTORE;
    sqlite3_bind_text64(s, 1, r->id, r->id_len, SQLITE_STATIC, SQLITE_UTF8);
    sqlite3_bind_text(s, 2, source_system, -1, SQLITE_STATIC);
    if (source_key)
        sqlite3_bind_text(s, 31, source_key, -1, SQLITE_STATIC);
    bind_text_or_null(s, 3, r->content, r->content_len);
    if (r->content)
        sqlite3_bind_int64(s, 4, (int64_t)XXH3_64bits(r->content, r->content_len));
    sqlite3_bind_int64(s, 5, fp);
    if (r->has_created)
        sqlite3_bind_int64(s, 6, r->created_at);
    if (r->has_updated)
        sqlite3_bind_int64(s, 7, r->updated_at);
    bind_text_or_null(s, 8, r->metadata, r->metadata_len);
    bind_staging(s, g, concepts_json, now);
    if (rowid) {
        sqlite3_bind_int64(s, 20, rowid);
    } else if (st->has_checkpoint && r->has_created && r->created_at <= st->checkpoint) {
        /* created by the last run's now but not there then: it arrives late, and is presented
         * at its arrival, just after that now (so that it comes after everything the last run
         * simulated, and a run can go on from the last one's snapshot) */
        sqlite3_bind_int(s, 29, 1);
        sqlite3_bind_int64(s, 30, st->checkpoint + 1);
    } else {
        sqlite3_bind_int(s, 29, 0);
    }
    if (sqlite3_step(s) != SQLITE_DONE)
        return db_error(st, rowid ? "could not update a memory" : "could not insert a memory");
    if (st->bulk && !rowid) {
        int rc = eg_idset_put(st->bulk_ids, r->id, r->id_len, sqlite3_last_insert_rowid(st->db));
        if (rc)
            return rc;
    }
    *result = rowid ? EG_PUT_UPDATED : EG_PUT_INSERTED;
    st->staged_any = true;
    st->staged_now = now;
    return 0;
}

int eg_store_memory_replace(eg_store *st, const eg_record *r, const eg_staged *g,
                            const char *concepts_json, const char *source_system,
                            const char *source_key, int64_t now, eg_put_result *result)
{
    st->replacing = true;
    int rc = eg_store_memory_put(st, r, g, concepts_json, source_system, source_key, now, result);
    st->replacing = false;
    return rc;
}

/* stages one row whole (read by rowid) through fn and writes every staging column */
static int restage_whole(eg_store *st, int64_t rowid, int64_t now, bool need_concepts,
                         eg_restage_fn fn, void *ud, eg_buf *concepts)
{
    sqlite3_stmt *sel = stmt(st, Q_RESTAGE_ROW), *u = stmt(st, Q_RESTAGE);
    if (!sel || !u)
        return EG_ESTORE;
    sqlite3_bind_int64(sel, 1, rowid);
    if (sqlite3_step(sel) != SQLITE_ROW) {
        sqlite3_reset(sel);
        return db_error(st, "could not read a memory to restage");
    }
    eg_record r = {0};
    eg_staged g;
    r.id = (const char *)sqlite3_column_text(sel, 0);
    r.id_len = (size_t)sqlite3_column_bytes(sel, 0);
    if (sqlite3_column_type(sel, 1) != SQLITE_NULL) {
        r.content = (const char *)sqlite3_column_text(sel, 1);
        r.content_len = (size_t)sqlite3_column_bytes(sel, 1);
    }
    if ((r.has_created = sqlite3_column_type(sel, 2) != SQLITE_NULL))
        r.created_at = sqlite3_column_int64(sel, 2);
    if ((r.has_updated = sqlite3_column_type(sel, 3) != SQLITE_NULL))
        r.updated_at = sqlite3_column_int64(sel, 3);
    if (sqlite3_column_type(sel, 4) != SQLITE_NULL) {
        r.metadata = (const char *)sqlite3_column_text(sel, 4);
        r.metadata_len = (size_t)sqlite3_column_bytes(sel, 4);
    }
    eg_buf_reset(concepts);
    int rc = fn(&r, &g, need_concepts ? concepts : NULL, ud);
    if (!rc) {
        sqlite3_bind_int64(u, 1, rowid);
        if (g.skip) {
            sqlite3_bind_text(u, 2, "skipped", -1, SQLITE_STATIC);
            sqlite3_bind_text(u, 3, eg_skip_name(g.skip), -1, SQLITE_STATIC);
        } else {
            sqlite3_bind_text(u, 2, "staged", -1, SQLITE_STATIC);
            sqlite3_bind_int64(u, 6, g.last_accessed_at);
            sqlite3_bind_int64(u, 7, g.access_count);
            sqlite3_bind_text(u, 9, g.memory_type, -1, SQLITE_STATIC);
        }
        if (need_concepts && concepts->len && eg_skip_in_pipeline(g.skip))
            sqlite3_bind_text(u, 11, concepts->data, (int)concepts->len, SQLITE_STATIC);
        sqlite3_bind_int(u, 4, (int)g.issues);
        sqlite3_bind_int64(u, 10, now);
        if (need_concepts)
            bind_features(u, 12, &g);
        if (sqlite3_step(u) != SQLITE_DONE)
            rc = db_error(st, "could not restage a memory");
    }
    sqlite3_reset(sel);
    return rc;
}

int eg_store_restage(eg_store *st, int64_t now, int64_t window_start, unsigned flags,
                     eg_restage_fn fn, void *ud, int64_t *visited)
{
    bool all = flags & (EG_RESTAGE_ALL | EG_RESTAGE_CONCEPTS), anew = flags & EG_RESTAGE_CONCEPTS;
    sqlite3_stmt *sel = NULL;
    eg_buf concepts;
    int64_t *rows = NULL;
    unsigned char *need = NULL;
    size_t n = 0, cap = 0;
    int rc = 0, step;
    eg_buf_init(&concepts, 0);
    *visited = 0;
    /* Nothing stored depends on now but the window decision (docs/adr/0009): only the rows on
     * the wrong side of the window are staged again, found through the (status, created_at)
     * index. They are listed first, since staging them moves them in that index. */
#define RESTAGE_SQL                                                                                \
    "SELECT rowid, concepts IS NULL FROM memory WHERE ?2 AND deleted_at_source IS NULL "           \
    "UNION ALL SELECT rowid, concepts IS NULL FROM memory WHERE NOT ?2 AND status = 'staged' AND " \
    "created_at <= ?1 AND deleted_at_source IS NULL "                                              \
    "UNION ALL SELECT rowid, concepts IS NULL FROM memory WHERE NOT ?2 AND status = 'skipped' "    \
    "AND created_at > ?1 AND skip_reason = 'out_of_window' AND deleted_at_source IS NULL "
    /* once, after migration 13 (which marks such stores): the rows outside the window stored
     * without the pipeline's inputs (concepts, features) by schemas before it */
    bool marked = false;
    sqlite3_stmt *m = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM meta WHERE key = 'restage_out_of_window'", -1, &m,
                           NULL) != SQLITE_OK) {
        rc = db_error(st, "could not read memories to restage");
        goto done;
    }
    marked = sqlite3_step(m) == SQLITE_ROW;
    sqlite3_finalize(m);
    if (sqlite3_prepare_v2(
            st->db,
            marked ? RESTAGE_SQL
                "UNION SELECT rowid, 1 FROM memory WHERE NOT ?2 AND status = 'skipped' "
                "AND skip_reason = 'out_of_window' AND concepts IS NULL AND "
                "deleted_at_source IS NULL ORDER BY 1"
                   : RESTAGE_SQL "ORDER BY 1",
            -1, &sel, NULL) != SQLITE_OK) {
        rc = db_error(st, "could not read memories to restage");
        goto done;
    }
    sqlite3_bind_int64(sel, 1, window_start);
    sqlite3_bind_int(sel, 2, all);
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            int64_t *r = realloc(rows, ncap * sizeof *rows);
            unsigned char *d = r ? realloc(need, ncap) : NULL;
            if (r)
                rows = r;
            if (!d) {
                rc = eg_error_set(EG_ENOMEM, "out of memory listing memories to restage");
                goto done;
            }
            need = d;
            cap = ncap;
        }
        rows[n] = sqlite3_column_int64(sel, 0);
        need[n++] = anew || sqlite3_column_int(sel, 1) != 0;
    }
    if (step != SQLITE_DONE) {
        rc = db_error(st, "could not read memories to restage");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if ((rc = restage_whole(st, rows[i], now, need[i], fn, ud, &concepts)))
            goto done;
    if (marked && (rc = eg_store_exec(st, "DELETE FROM meta WHERE key = 'restage_out_of_window'")))
        goto done;
    *visited = (int64_t)n;
    st->staged_any = true;
    st->staged_now = now;
done:
    sqlite3_finalize(sel);
    free(rows);
    free(need);
    eg_buf_free(&concepts);
    return rc;
}

int eg_store_concept_settings_get(eg_store *st, char *buf, size_t n, bool *found)
{
    sqlite3_stmt *s = NULL;
    *found = false;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'concept_settings'", -1, &s,
                           NULL) != SQLITE_OK)
        return db_error(st, "could not read the concept settings");
    int r = sqlite3_step(s);
    if (r == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_TEXT) {
        snprintf(buf, n, "%s", (const char *)sqlite3_column_text(s, 0));
        *found = true;
    }
    sqlite3_finalize(s);
    return r == SQLITE_ROW || r == SQLITE_DONE
               ? 0
               : db_error(st, "could not read the concept settings");
}

int eg_store_concept_settings_set(eg_store *st, const char *settings)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           settings ? "INSERT OR REPLACE INTO meta (key, value) VALUES "
                                      "('concept_settings', ?1)"
                                    : "DELETE FROM meta WHERE key = 'concept_settings'",
                           -1, &s, NULL) != SQLITE_OK)
        return db_error(st, "could not write the concept settings");
    if (settings)
        sqlite3_bind_text(s, 1, settings, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(s);
    sqlite3_finalize(s);
    return r == SQLITE_DONE ? 0 : db_error(st, "could not write the concept settings");
}

int eg_store_mark_deleted(eg_store *st, const char *source_system, const char *source_key,
                          const eg_idset *seen, int64_t now, int64_t *n, eg_buf *examples)
{
    sqlite3_stmt *sel = NULL, *upd = NULL;
    int rc = 0, step;
    *n = 0;
    /* the rows read from this source: by its key, or for rows stored before migration 14 and
     * not read since, by the source system (which every PostgreSQL table shares) */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT rowid, id FROM memory WHERE (source_key = ?2 OR "
                           "((?2 IS NULL OR source_key IS NULL) AND source_system = ?1)) AND "
                           "deleted_at_source IS NULL ORDER BY id",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "UPDATE memory SET deleted_at_source = ?2 WHERE rowid = ?1", -1,
                           &upd, NULL) != SQLITE_OK) {
        rc = db_error(st, "could not check for deleted memories");
        goto done;
    }
    sqlite3_bind_text(sel, 1, source_system, -1, SQLITE_STATIC);
    if (source_key)
        sqlite3_bind_text(sel, 2, source_key, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(sel, 1);
        size_t len = (size_t)sqlite3_column_bytes(sel, 1);
        if (eg_idset_has(seen, id, len))
            continue;
        sqlite3_reset(upd);
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
        sqlite3_bind_int64(upd, 2, now);
        if (sqlite3_step(upd) != SQLITE_DONE) {
            rc = db_error(st, "could not mark a deleted memory");
            goto done;
        }
        if (*n < 5 && examples)
            eg_buf_printf(examples, "%s%s", examples->len ? ", " : "", id);
        (*n)++;
    }
    if (step != SQLITE_DONE)
        rc = db_error(st, "could not check for deleted memories");
done:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return rc;
}

static int term_write(void *ud, const char *term, size_t len, int64_t docs)
{
    eg_store *st = ud;
    sqlite3_stmt *s;
    if (!docs)
        return 0;
    if (!(s = stmt(st, Q_TERM_ADD)))
        return EG_ESTORE;
    sqlite3_bind_text64(s, 1, term, len, SQLITE_STATIC, SQLITE_UTF8);
    sqlite3_bind_int64(s, 2, docs);
    if (sqlite3_step(s) != SQLITE_DONE)
        return db_error(st, "could not count the full-text index's terms");
    sqlite3_reset(s);
    if (docs > 0)
        return 0;
    if (!(s = stmt(st, Q_TERM_DROP)))
        return EG_ESTORE;
    sqlite3_bind_text64(s, 1, term, len, SQLITE_STATIC, SQLITE_UTF8);
    if (sqlite3_step(s) != SQLITE_DONE)
        return db_error(st, "could not count the full-text index's terms");
    sqlite3_reset(s);
    return 0;
}

/* Adds the terms that the last statements wrote to memory_fts or took out of it to fts_term,
 * in the same transaction (store/fts.h). */
static int terms_flush(eg_store *st)
{
    int rc = eg__store_fts_tally_each(st->fts, term_write, st);
    eg__store_fts_tally_clear(st->fts);
    return rc;
}

/* The index holds text folded by eg_store_fts_fold, whose output follows utf8proc's Unicode
 * version (case folding, compatibility forms) and the fold's own rules. Contentless, the index
 * takes an edited memory's old content out by folding it again: folded otherwise than when it
 * went in, other terms would come out than went in (a damaged index, and counts that drift), and
 * queries folded anew would miss what the old fold made. So the store records the fold its index
 * was made with (meta 'fts_fold'); under another one, before this transaction's first write to
 * the index, the index and its counts are emptied and every memory is indexed again by the next
 * sync. A store that predates the record is taken to be folded as now. */
static int fts_fold_check(eg_store *st)
{
    char want[64], had[64] = "";
    snprintf(want, sizeof want, "utf8proc %s, fold %d", utf8proc_version(), EG_STORE_FTS_FOLD);
    sqlite3_stmt *s = stmt(st, Q_FOLD_GET);
    if (!s)
        return EG_ESTORE;
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_TEXT)
        snprintf(had, sizeof had, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return db_error(st, "could not read the full-text index's fold");
    if (!strcmp(had, want))
        return 0;
    if (step == SQLITE_ROW && had[0]) {
        eg_log(EG_LOG_WARN,
               "the full-text index was folded by %s and this engram folds by %s: every memory "
               "is indexed again",
               had, want);
        int rc = eg_store_exec(st, "INSERT INTO memory_fts (memory_fts) VALUES ('delete-all');"
                                   "DELETE FROM fts_term; DELETE FROM fts_pending;"
                                   "UPDATE meta SET value = 0 WHERE key = 'fts_rowid'");
        if (rc)
            return rc;
        st->fts_rowid = 0;
    }
    if (!(s = stmt(st, Q_FOLD_SET)))
        return EG_ESTORE;
    sqlite3_bind_text(s, 1, want, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    sqlite3_reset(s);
    return step == SQLITE_DONE ? 0 : db_error(st, "could not record the full-text index's fold");
}

int eg_store_fts_sync(eg_store *st, int64_t *indexed)
{
    sqlite3_stmt *s = NULL;
    int rc = fts_fold_check(st);
    char sql[512];
    if (rc)
        return rc;
    /* the new rows, then the rows edited since (fts_pending first: without statistics the
     * planner scanned every memory for them, 0.1 s at 1M, even when there were none);
     * folded (store/fts.h): the index holds engram_fts_fold(content), and so must what a
     * 'delete' (Q_FTS_DELETE) takes out again */
    snprintf(
        sql, sizeof sql,
        "INSERT INTO memory_fts (rowid, content) "
        "SELECT rowid, engram_fts_tally(engram_fts_fold(content), 1) FROM memory WHERE rowid > "
        "%lld AND content IS NOT NULL UNION ALL SELECT m.rowid, "
        "engram_fts_tally(engram_fts_fold(m.content), 1) FROM fts_pending p CROSS JOIN memory m "
        "ON m.rowid = p.rowid WHERE m.rowid <= %lld AND m.content IS NOT NULL",
        (long long)st->fts_rowid, (long long)st->fts_rowid);
    if ((rc = eg_store_exec(st, sql))) {
        eg__store_fts_tally_clear(st->fts);
        goto done;
    }
    *indexed = sqlite3_changes64(st->db);
    if ((rc = terms_flush(st)))
        goto done;
    if ((rc = eg_store_exec(st, "DELETE FROM fts_pending;"
                                "UPDATE meta SET value = (SELECT coalesce(max(rowid), 0) FROM "
                                "memory) WHERE key = 'fts_rowid'")))
        goto done;
    st->fts_rowid = meta_int(st, "fts_rowid", 0);
done:
    sqlite3_finalize(s);
    return rc;
}

int eg_store_watermark_get(eg_store *st, const char *source_key, int64_t *key_at, bool *found)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    *found = false;
    if (sqlite3_prepare_v2(st->db, "SELECT key_at FROM watermark WHERE source = ?1", -1, &s,
                           NULL) != SQLITE_OK) {
        rc = db_error(st, "could not read the watermark");
        goto done;
    }
    sqlite3_bind_text(s, 1, source_key, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        *key_at = sqlite3_column_int64(s, 0);
        *found = true;
    }
done:
    sqlite3_finalize(s);
    return rc;
}

int eg_store_watermark_set(eg_store *st, const char *source_key, int64_t key_at, int64_t run_id)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(
            st->db,
            "INSERT INTO watermark (source, key_at, run_id) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (source) DO UPDATE SET key_at = max(key_at, excluded.key_at),"
            " run_id = excluded.run_id",
            -1, &s, NULL) != SQLITE_OK) {
        rc = db_error(st, "could not write the watermark");
        goto done;
    }
    sqlite3_bind_text(s, 1, source_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, key_at);
    sqlite3_bind_int64(s, 3, run_id);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_error(st, "could not write the watermark");
done:
    sqlite3_finalize(s);
    return rc;
}

int eg_store_watermark_max_get(eg_store *st, const char *source_key, int64_t *key, bool *found)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    *found = false;
    if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = 'watermark_max:' || ?1", -1,
                           &s, NULL) != SQLITE_OK) {
        rc = db_error(st, "could not read the watermark's uncapped key");
        goto done;
    }
    sqlite3_bind_text(s, 1, source_key, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_INTEGER) {
        *key = sqlite3_column_int64(s, 0);
        *found = true;
    }
done:
    sqlite3_finalize(s);
    return rc;
}

int eg_store_watermark_max_set(eg_store *st, const char *source_key, int64_t key)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO meta (key, value) VALUES ('watermark_max:' || ?1, ?2) "
                           "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_error(st, "could not write the watermark's uncapped key");
        goto done;
    }
    sqlite3_bind_text(s, 1, source_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, key);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_error(st, "could not write the watermark's uncapped key");
done:
    sqlite3_finalize(s);
    return rc;
}

int eg_store_changes(eg_store *st, int64_t *upto, bool *found)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    *upto = 0;
    *found = false;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT (SELECT coalesce(max(seq), 0) FROM memories_log), "
                           "(SELECT value FROM meta WHERE key = 'memories_log_read')",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        rc = db_error(st, "could not read the change log of the memories table");
        goto done;
    }
    *upto = sqlite3_column_int64(s, 0);
    *found = sqlite3_column_type(s, 1) != SQLITE_NULL;
done:
    sqlite3_finalize(s);
    return rc;
}

int eg_store_changes_consume(eg_store *st, int64_t upto)
{
    sqlite3_stmt *s = NULL, *d = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR REPLACE INTO meta (key, value) VALUES "
                           "('memories_log_read', ?1)",
                           -1, &s, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db, "DELETE FROM memories_log WHERE seq <= ?1", -1, &d, NULL) !=
            SQLITE_OK) {
        rc = db_error(st, "could not record what was read of the memories table");
        goto done;
    }
    sqlite3_bind_int64(s, 1, upto);
    sqlite3_bind_int64(d, 1, upto);
    if (sqlite3_step(s) != SQLITE_DONE || sqlite3_step(d) != SQLITE_DONE)
        rc = db_error(st, "could not record what was read of the memories table");
done:
    sqlite3_finalize(s);
    sqlite3_finalize(d);
    return rc;
}

int eg_store_quarantine(eg_store *st, int64_t at, const char *source, const char *ref,
                        const char *field, const char *reason, const char *raw, size_t raw_len)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO quarantine (at, source, ref, field, reason, raw) VALUES "
                           "(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (source, ref, field, reason) "
                           "DO UPDATE SET at = excluded.at, raw = excluded.raw",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_error(st, "could not write the quarantine");
        goto done;
    }
    sqlite3_bind_int64(s, 1, at);
    sqlite3_bind_text(s, 2, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, ref, -1, SQLITE_STATIC);
    /* "" rather than NULL: NULLs are distinct in a UNIQUE index, so they would not deduplicate */
    sqlite3_bind_text(s, 4, field ? field : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, reason, -1, SQLITE_STATIC);
    if (raw) /* stored as a blob: it may be invalid UTF-8 */
        sqlite3_bind_blob64(s, 6, raw, raw_len, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_error(st, "could not write the quarantine");
done:
    sqlite3_finalize(s);
    return rc;
}

/* Marks 'interrupted' the runs still 'running' that were begun on this host by a process that
 * is gone: a pid that no longer exists, or our own pid (a pid reused after a crash: this process
 * has begun no run yet, so the row cannot be one of its own). Runs of another host are left
 * alone: their process cannot be checked from here. A pid that exists but belongs to another
 * program after reuse is taken as running: staleness is decided only when it is certain.
 *
 * It is certain too for a row without a pid, whatever the host (empty when unknown): only an
 * engram older than migration 15 recorded one, and such an engram refuses the store once it is
 * migrated, so the row can never finish (it stayed 'running' for ever: in engram_runs_running,
 * on the dashboard, never counted by stats or health). Marked here, where the runs of dead
 * pids are marked, rather than when read: the table itself then says 'interrupted', so stats,
 * health, /metrics, the dashboard and a sqlite3 shell agree without each repeating the rule,
 * and no schema version is spent (a new migration would lock the previous engram out of the
 * store). An old run still going at the moment of the upgrade would have its end recorded over
 * the mark by its own finish. */
static int sweep_dead_runs(eg_store *st, const char *host)
{
    sqlite3_stmt *sel = NULL, *upd = NULL;
    int rc = 0, step;
    pid_t self = getpid();
    if (sqlite3_exec(st->db,
                     "UPDATE runs SET outcome = 'interrupted', finished_at = NULL, error = "
                     "'interrupted: begun by an engram older than schema 15, which did not record "
                     "its process; it never recorded its end' WHERE outcome = 'running' AND pid "
                     "IS NULL",
                     NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_error(st, "could not mark a run interrupted");
        goto done;
    }
    if (!host[0])
        goto done;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT run_id, pid FROM runs WHERE outcome = 'running' AND host = ?1 "
                           "AND pid IS NOT NULL",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "UPDATE runs SET outcome = 'interrupted', finished_at = NULL, error = "
                           "printf('interrupted: its process (pid %d on %s) is gone "
                           "(killed, or the machine stopped) before the run finished', pid, "
                           "host) WHERE run_id = ?1 AND outcome = 'running'",
                           -1, &upd, NULL) != SQLITE_OK) {
        rc = db_error(st, "could not check the runs left running");
        goto done;
    }
    sqlite3_bind_text(sel, 1, host, -1, SQLITE_STATIC);
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        int64_t pid = sqlite3_column_int64(sel, 1);
        bool gone = pid == (int64_t)self ||
                    (pid > 0 && pid <= INT32_MAX && kill((pid_t)pid, 0) == -1 && errno == ESRCH);
        if (!gone)
            continue;
        sqlite3_bind_int64(upd, 1, sqlite3_column_int64(sel, 0));
        if (sqlite3_step(upd) != SQLITE_DONE) {
            rc = db_error(st, "could not mark a run interrupted");
            goto done;
        }
        sqlite3_reset(upd);
    }
    if (step != SQLITE_DONE)
        rc = db_error(st, "could not check the runs left running");
done:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return rc;
}

int eg_store_run_begin(eg_store *st, const char *command, int64_t now, const char *source,
                       int64_t *run_id)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    /* once per store handle, before its first row: later rows of this process are its own */
    if (!st->runs_swept) {
        if ((rc = sweep_dead_runs(st, host)))
            goto done;
        st->runs_swept = true;
    }
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO runs (command, source, now, started_at, pid, host) VALUES "
                           "(?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_error(st, "could not record a run");
        goto done;
    }
    sqlite3_bind_text(s, 1, command, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int64(s, 4, eg_time_now());
    sqlite3_bind_int64(s, 5, (int64_t)getpid());
    if (host[0])
        sqlite3_bind_text(s, 6, host, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE) {
        rc = db_error(st, "could not record a run");
        goto done;
    }
    *run_id = sqlite3_last_insert_rowid(st->db);
done:
    sqlite3_finalize(s);
    return rc;
}

int eg_store_run_finish(eg_store *st, int64_t run_id, const char *outcome, const char *counts_json,
                        const char *durations_json, const char *error)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(st->db,
                           "UPDATE runs SET finished_at = ?2, outcome = ?3, counts = ?4, "
                           "durations = ?5, error = ?6 WHERE run_id = ?1",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_error(st, "could not record a run's end");
        goto done;
    }
    sqlite3_bind_int64(s, 1, run_id);
    sqlite3_bind_int64(s, 2, eg_time_now());
    sqlite3_bind_text(s, 3, outcome, -1, SQLITE_STATIC);
    if (counts_json)
        sqlite3_bind_text(s, 4, counts_json, -1, SQLITE_STATIC);
    if (durations_json)
        sqlite3_bind_text(s, 5, durations_json, -1, SQLITE_STATIC);
    if (error)
        sqlite3_bind_text(s, 6, error, -1, SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_error(st, "could not record a run's end");
done:
    sqlite3_finalize(s);
    return rc;
}
