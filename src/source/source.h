/*
 * source.h — the source interface: where memories are read from, read-only.
 *
 * A source is a table of functions (STYLE.md rule 6) behind eg_source_open, which picks the
 * adapter from the configuration: a libpq conninfo/URI → postgres.c, "sqlite:PATH" → sqlite.c,
 * nothing → the store's own `memories` table (sqlite.c on the store file).
 *
 * eg_source_scan delivers rows whose key coalesce(updated_at, created_at) is >= since (all rows
 * when since is INT64_MIN) in batches to a callback, from one consistent snapshot. A batch's
 * strings are valid only during the callback. A scan either delivers every row or fails: callers
 * commit only after it returns 0.
 */
#ifndef EG_SOURCE_SOURCE_H
#define EG_SOURCE_SOURCE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "engram/config.h"
#include "core/record.h"

typedef struct eg_source eg_source;

/* Called per batch; a non-zero return stops the scan and is returned by eg_source_scan. */
typedef int (*eg_batch_fn)(const eg_batch *batch, void *ud);

/* Rows a scan rejected (bad UTF-8, unparseable timestamp) are reported here, not delivered. */
typedef int (*eg_reject_fn)(const char *row_id, const char *field, const char *reason, void *ud);

typedef struct eg_source_ops {
    const char *kind; /* "postgresql", "sqlite" */
    int (*open)(eg_source **out, const eg_config *cfg, const char *store_path);
    int (*scan)(eg_source *src, int64_t since, eg_batch_fn fn, eg_reject_fn reject, void *ud);
    /* The rows written since a point of the source's change log, whatever their times, when
     * has_changes says the source keeps one (only the store's own `memories` table does:
     * store/migrations.c, migration 9; both NULL elsewhere). Positions are the log's seq: rows
     * logged in (after, upto]. */
    bool (*has_changes)(eg_source *src);
    int (*scan_changes)(eg_source *src, int64_t after, int64_t upto, eg_batch_fn fn,
                        eg_reject_fn reject, void *ud);
    /* Number of rows at the source, and up to the caller: ids for --full deletion reports. */
    int (*count)(eg_source *src, int64_t *out);
    /* A human description with no secret: "postgresql host=db port=5432 dbname=x
     * table=public.memories" */
    const char *(*describe)(eg_source *src);
    /* Where the rows come from, as a key that stays the same across connections: no secret, and
     * nothing that may change without the rows changing (a PostgreSQL source's user). The store
     * keeps it on each memory, to scope --full deletions to that source. NULL: describe. */
    const char *(*key)(eg_source *src);
    void (*close)(eg_source *src);
} eg_source_ops;

struct eg_source {
    const eg_source_ops *ops;
};

extern const eg_source_ops eg_source_postgres;
extern const eg_source_ops eg_source_sqlite;

/* Opens the source the configuration names. */
int eg_source_open(eg_source **out, const eg_config *cfg);
static inline int eg_source_scan(eg_source *s, int64_t since, eg_batch_fn fn, eg_reject_fn rj,
                                 void *ud)
{
    return s->ops->scan(s, since, fn, rj, ud);
}
static inline bool eg_source_has_changes(eg_source *s)
{
    return s->ops->has_changes && s->ops->has_changes(s);
}
static inline int eg_source_scan_changes(eg_source *s, int64_t after, int64_t upto, eg_batch_fn fn,
                                         eg_reject_fn rj, void *ud)
{
    return s->ops->scan_changes(s, after, upto, fn, rj, ud);
}
static inline const char *eg_source_describe(eg_source *s)
{
    return s->ops->describe(s);
}
static inline const char *eg_source_key(eg_source *s)
{
    return s->ops->key ? s->ops->key(s) : s->ops->describe(s);
}
static inline const char *eg_source_kind(eg_source *s)
{
    return s->ops->kind;
}
void eg_source_close(eg_source *s);

/* For a first load from the store's own `memories` table: the source gives up its read-only
 * connection and reads through the store's (db), inside the store's write transaction, holding
 * lock whenever it uses db (the store's writer thread takes it too). With no second connection
 * open, the store can switch to a rollback journal and write the load once (store.h,
 * eg_store_bulk_prepare). False, and nothing changed, for any other source. */
struct sqlite3;
bool eg_source_sqlite_share(eg_source *s, struct sqlite3 *db, pthread_mutex_t *lock);
/* Registers the SQL function eg_time_us(x) on db: x read as the embedded (SQLite) source reads a
 * timestamp — ISO 8601 text, or Unix seconds as an integer or a real — as integer microseconds
 * since the epoch, exactly; NULL for NULL or unreadable text. For SQL over a source table
 * (health, validate) that must agree with what ingest reads; julianday() keeps only milliseconds
 * and reads numbers as Julian days. Returns an SQLite result code. */
int eg__sqlite_register_time_us(struct sqlite3 *db);
/* Registers eg_utf8_invalid(x) on db: 1 when x's bytes are not valid UTF-8 (what ingest rejects),
 * 0 otherwise and for NULL. For health's and validate's content checks over a source table.
 * Returns an SQLite result code. */
int eg__sqlite_register_utf8_invalid(struct sqlite3 *db);

#endif
