/*
 * tablesync.h — writes a table's new contents as the difference from what it holds (see
 * tablesync.c).
 *
 * The pipeline recomputes its outputs on every run, but from one run to the next most rows come
 * out the same: a rerun at the same now changes nothing, and 1,000 new memories in a 1M store
 * change a few per cent of the journeys and associations. Writing only the rows that differ
 * turns a save that rewrote every output table into a read of them and a few writes.
 *
 * The caller describes the table and hands over a row generator: a function that emits the new
 * rows in primary-key order. eg_table_sync calls it up to twice: once to compare the rows with the
 * stored ones (nothing is written), once to write those that differ. When too many differ, or
 * the table is empty, it rewrites the table whole instead (its secondary indexes dropped and
 * built once), which is cheaper than that many single-row replacements. Either way the table
 * ends holding exactly the generated rows.
 */
#ifndef EG_STORE_TABLESYNC_H
#define EG_STORE_TABLESYNC_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One value of a row, as SQLite stores it. Text and blobs are not copied: they must stay valid
 * until the generator emits its next row. */
typedef struct eg_cell {
    int type; /* SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, SQLITE_BLOB or SQLITE_NULL */
    int n;    /* bytes of a text or blob */
    int64_t i;
    double d;
    const void *p;
} eg_cell;

/* the values of sqlite3.h's fundamental datatypes, without including it here */
enum {
    EG_CELL_INTEGER = 1,
    EG_CELL_FLOAT = 2,
    EG_CELL_TEXT = 3,
    EG_CELL_BLOB = 4,
    EG_CELL_NULL = 5
};

static inline eg_cell eg_cell_int(int64_t v)
{
    return (eg_cell){.type = EG_CELL_INTEGER, .i = v};
}
static inline eg_cell eg_cell_real(double v)
{
    return (eg_cell){.type = EG_CELL_FLOAT, .d = v};
}
static inline eg_cell eg_cell_null(void)
{
    return (eg_cell){.type = EG_CELL_NULL};
}
/* NULL text is SQL NULL */
static inline eg_cell eg_cell_text(const char *s)
{
    return s ? (eg_cell){.type = EG_CELL_TEXT, .n = (int)strlen(s), .p = s} : eg_cell_null();
}
static inline eg_cell eg_cell_blob(const void *p, size_t n)
{
    return (eg_cell){.type = EG_CELL_BLOB, .n = (int)n, .p = n ? p : ""};
}
/* an integer when has, else NULL */
static inline eg_cell eg_cell_int_if(int64_t v, bool has)
{
    return has ? eg_cell_int(v) : eg_cell_null();
}

typedef struct eg_sync eg_sync;

/* What a generator calls for each new row (cells[0..ncols-1], the key first). A non-zero result
 * (an error, or a request to stop early) must be returned by the generator at once. */
int eg_sync_row(eg_sync *sy, const eg_cell *cells);

/* Emits every new row, in strictly increasing key order, through eg_sync_row. */
typedef int (*eg_sync_rows_fn)(void *ud, eg_sync *sy);

typedef struct eg_sync_table {
    const char *name;    /* the table */
    const char *columns; /* all its columns, in order, comma-separated; the key first */
    int ncols, nkey;     /* the first nkey columns are the primary key (INTEGER or TEXT) */
    const char *where;   /* NULL, or the stored rows the generator owns (others are kept) */
    const char *drop_indexes, *create_indexes; /* NULL, or SQL run around a whole rewrite */
    /* A changed stored row is replaced (deleted, then inserted) rather than updated in place:
     * for a table with a UNIQUE constraint besides the key (two rows may trade a unique value,
     * which an update refuses), or with rows that overflow their page (an update writes the new
     * overflow pages before it frees the old ones, a replacement reuses them: concept_posting's
     * next day at 1M memories touched 1,176 pages updated, 834 replaced). */
    bool replace;
} eg_sync_table;

typedef struct eg_sync_stats {
    int64_t rows;    /* rows generated */
    int64_t written; /* rows inserted or replaced */
    int64_t deleted; /* stored rows removed one by one (a whole rewrite counts none) */
    int rewrites;    /* tables rewritten whole because most of their rows changed */
} eg_sync_stats;

/* eg_table_sync makes table t (within where) hold exactly the rows gen emits, in the caller's
 * transaction. expected is the number of rows gen will emit (it sets the point where a whole
 * rewrite is cheaper). Adds what it did to *stats. */
int eg_table_sync(eg_store *st, const eg_sync_table *t, size_t expected, eg_sync_rows_fn gen,
                  void *ud, eg_sync_stats *stats);

/* Like eg_table_sync, for when the caller knows which rows may have changed: gen emits only
 * those (a superset of the changed rows, in key order); each is compared with the stored row of
 * its key and written if it differs or is missing. Stored rows gen does not emit are kept. */
int eg_table_sync_some(eg_store *st, const eg_sync_table *t, eg_sync_rows_fn gen, void *ud,
                       eg_sync_stats *stats);

/* Replaces the rows of table t (within where) by the rows gen emits, without reading the stored
 * ones: for a table the caller knows has nearly every row changed (comparing first would only
 * find that out). */
int eg_table_rewrite(eg_store *st, const eg_sync_table *t, eg_sync_rows_fn gen, void *ud,
                     eg_sync_stats *stats);

#endif
