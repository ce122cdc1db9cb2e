/*
 * tablesync.c — writes a table's new contents as the difference from what it holds.
 *
 * A merge of two sorted streams: the generator's rows and the stored rows read in key order
 * (the primary key's own B-tree, no sort). The first pass writes nothing: it records which new
 * rows differ from the stored row of the same key or have none (by their ordinal in the
 * generator's stream) and the keys of stored rows the generator did not emit. The second pass
 * runs the generator again and writes only the recorded rows; the deletions go first. A row
 * whose key is stored is updated in place (UPDATE of its other columns: the indexes on columns
 * it does not set are left alone, where INSERT OR REPLACE deleted the row and its entries in
 * every index and inserted them again; a day's 35k concept edges at 1M memories went from 51
 * to 35 ms), a new one inserted. Nothing is written while the stored rows are being read, so
 * the scan never sees its own writes.
 *
 * Values compare as SQLite stores them: same type and same bytes (a REAL bit for bit). A value
 * that SQLite would store differently from how it was bound (an integer bound to a REAL
 * column, a NaN) only ever compares unequal, so it is rewritten, never wrongly kept.
 */
#include "store/tablesync.h"

#include "engram/error.h"
#include "util/buf.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(EG_CELL_INTEGER == SQLITE_INTEGER && EG_CELL_FLOAT == SQLITE_FLOAT &&
                   EG_CELL_TEXT == SQLITE_TEXT && EG_CELL_BLOB == SQLITE_BLOB &&
                   EG_CELL_NULL == SQLITE_NULL,
               "eg_cell types are SQLite's");

enum { MODE_DIFF, MODE_DIFF_SOME, MODE_WRITE_ALL, MODE_WRITE_EDITS };
#define SYNC_STOP 1 /* eg_sync_row's request to stop the generator (not an error) */
#define MAX_KEY 4
/* A whole rewrite inserts its rows this many at a time by one statement: through a statement
 * per row, binding, stepping and resetting it cost more than the insertion (1.17M memory edges:
 * 1.5-2.0 s one by one, 0.6-0.7 s 32 or 64 at a time, in a test program on the same table) */
#define BATCH 32

struct eg_sync {
    eg_store *st;
    const eg_sync_table *t;
    int mode;
    sqlite3_stmt *cur;       /* the stored rows, in key order (MODE_DIFF); one by key (_SOME) */
    bool cur_row;            /* cur is on a row */
    sqlite3_stmt *ins;       /* INSERT (whole rewrite) or INSERT OR REPLACE (edits) */
    sqlite3_stmt *ins_batch; /* the same for BATCH rows */
    eg_cell *pend;           /* rows waiting for it: npend × ncols cells */
    size_t *pend_off;        /* a text or blob cell's bytes: at this offset in pend_bytes */
    eg_buf pend_bytes;
    int npend;
    sqlite3_stmt *upd; /* UPDATE of a stored row's other columns (edits; NULL: replaced) */
    size_t ord;        /* ordinal of the generator's current row */
    size_t *edits;     /* the rows to write, increasing: 2 × ordinal, + 1 when a stored row
                        * has the row's key (updated in place, not replaced) */
    size_t nedits, cap_edits, next_edit;
    eg_buf dels; /* the keys of stored rows to delete, serialized (see put_key) */
    size_t ndels;
    eg_cell prev[MAX_KEY]; /* the previous row's key, to check the order */
    eg_buf prev_text;
    bool has_prev;
    size_t limit; /* more edits than this: rewrite whole */
    bool stop;
    int64_t rows;
};

static int db_error(eg_sync *sy, const char *what)
{
    char w[256];
    snprintf(w, sizeof w, "%s %s", what, sy->t->name);
    return eg__store_error(sy->st, w);
}

static int cmp_bytes(const void *a, int na, const void *b, int nb)
{
    int n = na < nb ? na : nb;
    int c = n ? memcmp(a, b, (size_t)n) : 0;
    return c ? c : (na > nb) - (na < nb);
}

/* SQLite's order for the key types used here: integers numerically, text by bytes */
static int cmp_cell(const eg_cell *a, const eg_cell *b)
{
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1; /* not expected: keys are typed columns */
    if (a->type == EG_CELL_INTEGER)
        return (a->i > b->i) - (a->i < b->i);
    if (a->type == EG_CELL_TEXT || a->type == EG_CELL_BLOB)
        return cmp_bytes(a->p, a->n, b->p, b->n);
    return 0;
}

static eg_cell stored_cell(sqlite3_stmt *s, int col)
{
    int type = sqlite3_column_type(s, col);
    switch (type) {
    case SQLITE_INTEGER:
        return eg_cell_int(sqlite3_column_int64(s, col));
    case SQLITE_FLOAT:
        return eg_cell_real(sqlite3_column_double(s, col));
    case SQLITE_TEXT: {
        const void *p = sqlite3_column_text(s, col);
        return (eg_cell){.type = EG_CELL_TEXT, .n = sqlite3_column_bytes(s, col), .p = p};
    }
    case SQLITE_BLOB: {
        const void *p = sqlite3_column_blob(s, col);
        return (eg_cell){.type = EG_CELL_BLOB, .n = sqlite3_column_bytes(s, col), .p = p};
    }
    default:
        return eg_cell_null();
    }
}

static bool same_cell(const eg_cell *a, const eg_cell *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case EG_CELL_INTEGER:
        return a->i == b->i;
    case EG_CELL_FLOAT:
        return memcmp(&a->d, &b->d, sizeof a->d) == 0;
    case EG_CELL_TEXT:
    case EG_CELL_BLOB:
        return a->n == b->n && (!a->n || memcmp(a->p, b->p, (size_t)a->n) == 0);
    default:
        return true;
    }
}

static void bind_cell(sqlite3_stmt *s, int i, const eg_cell *c)
{
    switch (c->type) {
    case EG_CELL_INTEGER:
        sqlite3_bind_int64(s, i, c->i);
        break;
    case EG_CELL_FLOAT:
        sqlite3_bind_double(s, i, c->d);
        break;
    case EG_CELL_TEXT:
        sqlite3_bind_text(s, i, c->p, c->n, SQLITE_STATIC);
        break;
    case EG_CELL_BLOB:
        sqlite3_bind_blob(s, i, c->p ? c->p : "", c->n, SQLITE_STATIC);
        break;
    default:
        sqlite3_bind_null(s, i);
    }
}

/* a key in the deletion list: per column its type, then an int64 or a length and the bytes */
static int put_key(eg_buf *b, const eg_cell *k, int nkey)
{
    int rc = 0;
    for (int i = 0; i < nkey && !rc; i++) {
        rc = eg_buf_append(b, &k[i].type, sizeof k[i].type);
        if (rc)
            break;
        if (k[i].type == EG_CELL_TEXT || k[i].type == EG_CELL_BLOB) {
            rc = eg_buf_append(b, &k[i].n, sizeof k[i].n);
            if (!rc && k[i].n)
                rc = eg_buf_append(b, k[i].p, (size_t)k[i].n);
        } else {
            rc = eg_buf_append(b, &k[i].i, sizeof k[i].i);
        }
    }
    return rc ? eg_error_set(EG_ENOMEM, "out of memory comparing stored rows") : 0;
}

static const char *get_key(const char *p, eg_cell *k, int nkey)
{
    for (int i = 0; i < nkey; i++) {
        memcpy(&k[i].type, p, sizeof k[i].type);
        p += sizeof k[i].type;
        if (k[i].type == EG_CELL_TEXT || k[i].type == EG_CELL_BLOB) {
            memcpy(&k[i].n, p, sizeof k[i].n);
            p += sizeof k[i].n;
            k[i].p = p;
            p += k[i].n;
        } else {
            memcpy(&k[i].i, p, sizeof k[i].i);
            p += sizeof k[i].i;
        }
    }
    return p;
}

static int step_cursor(eg_sync *sy)
{
    int r = sqlite3_step(sy->cur);
    sy->cur_row = r == SQLITE_ROW;
    return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : db_error(sy, "could not read");
}

static int delete_current(eg_sync *sy)
{
    eg_cell k[MAX_KEY];
    for (int i = 0; i < sy->t->nkey; i++)
        k[i] = stored_cell(sy->cur, i);
    int rc = put_key(&sy->dels, k, sy->t->nkey);
    if (rc)
        return rc;
    sy->ndels++;
    return step_cursor(sy);
}

static int add_edit(eg_sync *sy, bool stored)
{
    if (sy->nedits == sy->cap_edits) {
        size_t cap = sy->cap_edits ? 2 * sy->cap_edits : 1024;
        size_t *p = realloc(sy->edits, cap * sizeof *p);
        if (!p)
            return eg_error_set(EG_ENOMEM, "out of memory comparing stored rows");
        sy->edits = p;
        sy->cap_edits = cap;
    }
    sy->edits[sy->nedits++] = sy->ord * 2 + stored;
    return 0;
}

static int check_order(eg_sync *sy, const eg_cell *cells)
{
    int nkey = sy->t->nkey, c = 1;
    for (int i = 0; sy->has_prev && i < nkey && c == 1; i++) {
        int d = cmp_cell(&sy->prev[i], &cells[i]);
        c = d < 0 ? 2 : d > 0 ? 0 : 1; /* 2: increasing, 0: decreasing, 1: equal so far */
    }
    if (sy->has_prev && c != 2)
        return eg_error_set(EG_ESTORE, "internal error: rows for %s not in increasing key order",
                            sy->t->name);
    eg_buf_reset(&sy->prev_text);
    for (int i = 0; i < nkey; i++) {
        sy->prev[i] = cells[i];
        if ((cells[i].type == EG_CELL_TEXT || cells[i].type == EG_CELL_BLOB) && cells[i].n)
            if (eg_buf_append(&sy->prev_text, cells[i].p, (size_t)cells[i].n))
                return eg_error_set(EG_ENOMEM, "out of memory comparing stored rows");
    }
    /* point the text keys into the copy (appended in order) */
    size_t off = 0;
    for (int i = 0; i < nkey; i++)
        if ((cells[i].type == EG_CELL_TEXT || cells[i].type == EG_CELL_BLOB) && cells[i].n) {
            sy->prev[i].p = sy->prev_text.data + off;
            off += (size_t)cells[i].n;
        }
    sy->has_prev = true;
    return 0;
}

static int diff_row(eg_sync *sy, const eg_cell *cells)
{
    const eg_sync_table *t = sy->t;
    int rc = check_order(sy, cells), c = 1;
    if (rc)
        return rc;
    while (sy->cur_row) {
        c = 0;
        for (int i = 0; i < t->nkey && !c; i++) {
            eg_cell s = stored_cell(sy->cur, i);
            c = cmp_cell(&s, &cells[i]);
        }
        if (c >= 0)
            break;
        if ((rc = delete_current(sy)))
            return rc;
    }
    bool same = false, stored = sy->cur_row && c == 0;
    if (stored) {
        same = true;
        for (int i = t->nkey; i < t->ncols && same; i++) {
            eg_cell s = stored_cell(sy->cur, i);
            same = same_cell(&s, &cells[i]);
        }
        if ((rc = step_cursor(sy)))
            return rc;
    }
    if (!same && (rc = add_edit(sy, stored)))
        return rc;
    if (sy->nedits + sy->ndels > sy->limit) {
        sy->stop = true;
        return SYNC_STOP;
    }
    return 0;
}

/* MODE_DIFF_SOME: the stored row with this key, looked up */
static int diff_some_row(eg_sync *sy, const eg_cell *cells)
{
    const eg_sync_table *t = sy->t;
    int rc = check_order(sy, cells);
    if (rc)
        return rc;
    sqlite3_reset(sy->cur);
    for (int i = 0; i < t->nkey; i++)
        bind_cell(sy->cur, i + 1, &cells[i]);
    int r = sqlite3_step(sy->cur);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return db_error(sy, "could not read");
    bool same = r == SQLITE_ROW, stored = same;
    for (int i = t->nkey; i < t->ncols && same; i++) {
        eg_cell s = stored_cell(sy->cur, i);
        same = same_cell(&s, &cells[i]);
    }
    sqlite3_reset(sy->cur);
    return same ? 0 : add_edit(sy, stored);
}

static int pend_row(eg_sync *sy, const eg_cell *cells);

int eg_sync_row(eg_sync *sy, const eg_cell *cells)
{
    sy->rows++;
    if (sy->mode == MODE_DIFF_SOME) {
        int rc = diff_some_row(sy, cells);
        sy->ord++;
        return rc;
    }
    if (sy->mode == MODE_DIFF) {
        int rc = diff_row(sy, cells);
        sy->ord++;
        return rc;
    }
    sqlite3_stmt *w = sy->ins;
    if (sy->mode == MODE_WRITE_EDITS) {
        if (sy->next_edit == sy->nedits)
            return SYNC_STOP;
        if (sy->edits[sy->next_edit] / 2 != sy->ord++)
            return 0;
        if (sy->upd && sy->edits[sy->next_edit] % 2)
            w = sy->upd;
        sy->next_edit++;
    }
    /* A whole rewrite appends in key order, a few pages per batch; edits land all over the
     * table, and a statement of several rows keeps a statement journal of every page it
     * changes (spilled to a file past 64 KiB): batched, a day's 134k new concept edges at 100k
     * memories of realistic text saved in 2.4-2.7 s instead of 1.7-2.2 */
    if (sy->mode == MODE_WRITE_ALL)
        return pend_row(sy, cells);
    for (int i = 0; i < sy->t->ncols; i++)
        bind_cell(w, i + 1, &cells[i]);
    int r = sqlite3_step(w);
    sqlite3_reset(w);
    return r == SQLITE_DONE ? 0 : db_error(sy, "could not write a row of");
}

/* the next name of a comma-separated column list from *p (*p moves past it), its length in *n */
static const char *next_column(const char **p, size_t *n)
{
    const char *c = *p;
    while (*c == ' ' || *c == ',')
        c++;
    *n = strcspn(c, ", ");
    *p = c + *n;
    return c;
}

/* the first nkey names of a comma-separated column list, each followed by sep (the last by
 * last) */
static int key_list(eg_buf *b, const eg_sync_table *t, const char *pre, const char *sep,
                    const char *last)
{
    const char *p = t->columns;
    int rc = 0;
    for (int i = 0; i < t->nkey && !rc; i++) {
        size_t n;
        const char *c = next_column(&p, &n);
        rc = eg_buf_printf(b, "%s%.*s%s", pre, (int)n, c, i + 1 < t->nkey ? sep : last);
    }
    return rc;
}

static int prepare(eg_sync *sy, eg_buf *sql, sqlite3_stmt **s)
{
    if (!sql->data)
        return eg_error_set(EG_ENOMEM, "out of memory comparing stored rows");
    if (sqlite3_prepare_v2(eg_store_db(sy->st), sql->data, -1, s, NULL) != SQLITE_OK)
        return db_error(sy, "could not prepare a statement for");
    return 0;
}

/* INSERT of one row (sy->ins) and, for a whole rewrite (batch), of BATCH rows (sy->ins_batch,
 * row r's column i is parameter r × ncols + i + 1) */
static int prepare_insert(eg_sync *sy, bool replace, bool batch)
{
    int rc = 0;
    for (int rows = 1; rows <= (batch ? BATCH : 1) && !rc; rows += BATCH - 1) {
        eg_buf sql;
        eg_buf_init(&sql, 0);
        eg_buf_printf(&sql, "INSERT%s INTO %s (%s) VALUES ", replace ? " OR REPLACE" : "",
                      sy->t->name, sy->t->columns);
        for (int r = 0, p = 1; r < rows; r++) {
            eg_buf_puts(&sql, r ? ", (" : "(");
            for (int i = 0; i < sy->t->ncols; i++, p++)
                eg_buf_printf(&sql, i ? ", ?%d" : "?%d", p);
            eg_buf_puts(&sql, ")");
        }
        rc = prepare(sy, &sql, rows == 1 ? &sy->ins : &sy->ins_batch);
        eg_buf_free(&sql);
    }
    return rc;
}

/* Writes the rows waiting: BATCH by one step of ins_batch, fewer one by one. */
static int pend_flush(eg_sync *sy)
{
    const int nc = sy->t->ncols;
    int r = 0, rc = 0;
    for (int rows = sy->npend == BATCH ? BATCH : 1; r < sy->npend && !rc; r += rows) {
        sqlite3_stmt *w = rows == BATCH ? sy->ins_batch : sy->ins;
        for (int k = 0; k < rows * nc; k++) {
            eg_cell c = sy->pend[(size_t)r * nc + k];
            size_t off = sy->pend_off[(size_t)r * nc + k];
            if ((c.type == EG_CELL_TEXT || c.type == EG_CELL_BLOB) && off != SIZE_MAX)
                c.p = sy->pend_bytes.data + off;
            bind_cell(w, k + 1, &c);
        }
        int step = sqlite3_step(w);
        sqlite3_reset(w);
        rc = step == SQLITE_DONE ? 0 : db_error(sy, "could not write a row of");
    }
    sy->npend = 0;
    eg_buf_reset(&sy->pend_bytes);
    return rc;
}

/* Queues a new row for insertion (its text and blobs copied: the generator reuses them). */
static int pend_row(eg_sync *sy, const eg_cell *cells)
{
    const int nc = sy->t->ncols;
    if (!sy->pend && !(sy->pend = calloc((size_t)BATCH * nc, sizeof *sy->pend)))
        return eg_error_set(EG_ENOMEM, "out of memory writing %s", sy->t->name);
    if (!sy->pend_off && !(sy->pend_off = calloc((size_t)BATCH * nc, sizeof *sy->pend_off)))
        return eg_error_set(EG_ENOMEM, "out of memory writing %s", sy->t->name);
    for (int i = 0; i < nc; i++) {
        size_t k = (size_t)sy->npend * nc + i;
        sy->pend[k] = cells[i];
        sy->pend_off[k] = SIZE_MAX; /* no bytes of its own (a NULL pointer stays one) */
        if ((cells[i].type == EG_CELL_TEXT || cells[i].type == EG_CELL_BLOB) && cells[i].p) {
            size_t n = cells[i].n < 0 ? strlen(cells[i].p) : (size_t)cells[i].n;
            sy->pend[k].n = (int)n;
            sy->pend_off[k] = sy->pend_bytes.len;
            /* (a byte more, so that an empty value has an address) */
            if ((n && eg_buf_append(&sy->pend_bytes, cells[i].p, n)) ||
                eg_buf_putc(&sy->pend_bytes, '\0'))
                return eg_error_set(EG_ENOMEM, "out of memory writing %s", sy->t->name);
        }
    }
    return ++sy->npend == BATCH ? pend_flush(sy) : 0;
}

/* UPDATE t SET (the other columns) WHERE (key), with the parameters numbered as the
 * columns: a stored row that differs is changed in place, and indexes on columns it does not
 * set are left alone (INSERT OR REPLACE deletes the row and inserts it again) */
static int prepare_update(eg_sync *sy)
{
    const eg_sync_table *t = sy->t;
    if (t->ncols == t->nkey || t->replace)
        return 0;
    eg_buf sql;
    eg_buf_init(&sql, 0);
    eg_buf_printf(&sql, "UPDATE %s SET ", t->name);
    const char *p = t->columns;
    for (int i = 0; i < t->ncols; i++) { /* the key's parameters are 1..nkey, as its columns */
        size_t n;
        const char *c = next_column(&p, &n);
        if (i >= t->nkey)
            eg_buf_printf(&sql, "%s%.*s = ?%d", i > t->nkey ? ", " : "", (int)n, c, i + 1);
    }
    eg_buf_puts(&sql, " WHERE ");
    p = t->columns;
    for (int i = 0; i < t->nkey; i++) {
        size_t n;
        const char *c = next_column(&p, &n);
        eg_buf_printf(&sql, "%s%.*s = ?%d", i ? " AND " : "", (int)n, c, i + 1);
    }
    int rc = prepare(sy, &sql, &sy->upd);
    eg_buf_free(&sql);
    return rc;
}

static int exec(eg_sync *sy, const char *sql)
{
    return sql ? eg_store_exec(sy->st, sql) : 0;
}

/* replaced: the table held rows (most of which changed), not nothing */
static int rewrite_whole(eg_sync *sy, eg_sync_rows_fn gen, void *ud, eg_sync_stats *stats,
                         bool replaced)
{
    eg_buf sql;
    eg_buf_init(&sql, 0);
    eg_buf_printf(&sql, "DELETE FROM %s%s%s", sy->t->name, sy->t->where ? " WHERE " : "",
                  sy->t->where ? sy->t->where : "");
    int rc = sql.data ? eg_store_exec(sy->st, sql.data)
                      : eg_error_set(EG_ENOMEM, "out of memory rewriting a table");
    eg_buf_free(&sql);
    if (rc || (rc = exec(sy, sy->t->drop_indexes)) || (rc = prepare_insert(sy, false, true)))
        return rc;
    sy->mode = MODE_WRITE_ALL;
    sy->rows = 0;
    if ((rc = gen(ud, sy)) || (rc = pend_flush(sy)))
        return rc;
    stats->rows += sy->rows;
    stats->written += sy->rows;
    stats->rewrites += replaced;
    return exec(sy, sy->t->create_indexes);
}

static int apply_edits(eg_sync *sy, eg_sync_rows_fn gen, void *ud, eg_sync_stats *stats)
{
    sqlite3_stmt *del = NULL;
    eg_buf sql;
    int rc = 0;
    if (sy->ndels) {
        eg_buf_init(&sql, 0);
        eg_buf_printf(&sql, "DELETE FROM %s WHERE ", sy->t->name);
        key_list(&sql, sy->t, "", " = ? AND ", " = ?");
        rc = prepare(sy, &sql, &del);
        eg_buf_free(&sql);
        const char *p = sy->dels.data;
        for (size_t d = 0; d < sy->ndels && !rc; d++) {
            eg_cell k[MAX_KEY];
            p = get_key(p, k, sy->t->nkey);
            for (int i = 0; i < sy->t->nkey; i++)
                bind_cell(del, i + 1, &k[i]);
            int r = sqlite3_step(del);
            sqlite3_reset(del);
            rc = r == SQLITE_DONE ? 0 : db_error(sy, "could not delete a row of");
        }
        sqlite3_finalize(del);
        if (rc)
            return rc;
        stats->deleted += (int64_t)sy->ndels;
    }
    if (!sy->nedits)
        return 0;
    if ((rc = prepare_insert(sy, true, false)) || (rc = prepare_update(sy)))
        return rc;
    sy->mode = MODE_WRITE_EDITS;
    sy->ord = 0;
    sy->next_edit = 0;
    rc = gen(ud, sy);
    if (rc == SYNC_STOP)
        rc = 0;
    if (!rc && sy->next_edit != sy->nedits)
        rc = eg_error_set(EG_ESTORE, "internal error: the rows for %s changed between passes",
                          sy->t->name);
    stats->written += (int64_t)sy->next_edit;
    return rc;
}

/* checks the table's description and readies sy's buffers (sync_free releases them) */
static int sync_init(eg_sync *sy)
{
    const eg_sync_table *t = sy->t;
    if (t->nkey < 1 || t->nkey > MAX_KEY || t->ncols < t->nkey)
        return eg_error_set(EG_ESTORE, "internal error: bad key for table %s", t->name);
    eg_buf_init(&sy->dels, 0);
    eg_buf_init(&sy->prev_text, 0);
    eg_buf_init(&sy->pend_bytes, 0);
    return 0;
}

static void sync_free(eg_sync *sy)
{
    sqlite3_finalize(sy->cur);
    sqlite3_finalize(sy->ins);
    sqlite3_finalize(sy->ins_batch);
    sqlite3_finalize(sy->upd);
    free(sy->pend);
    free(sy->pend_off);
    eg_buf_free(&sy->pend_bytes);
    free(sy->edits);
    eg_buf_free(&sy->dels);
    eg_buf_free(&sy->prev_text);
}

int eg_table_sync_some(eg_store *st, const eg_sync_table *t, eg_sync_rows_fn gen, void *ud,
                       eg_sync_stats *stats)
{
    eg_sync sy = {.st = st, .t = t, .mode = MODE_DIFF_SOME};
    eg_buf sql;
    int rc = sync_init(&sy);
    if (rc)
        return rc;
    eg_buf_init(&sql, 0);
    eg_buf_printf(&sql, "SELECT %s FROM %s WHERE ", t->columns, t->name);
    key_list(&sql, t, "", " = ? AND ", " = ?");
    rc = prepare(&sy, &sql, &sy.cur);
    eg_buf_free(&sql);
    if (!rc)
        rc = gen(ud, &sy);
    sqlite3_finalize(sy.cur);
    sy.cur = NULL;
    if (!rc) {
        stats->rows += sy.rows;
        rc = apply_edits(&sy, gen, ud, stats);
    }
    sync_free(&sy);
    return rc;
}

int eg_table_rewrite(eg_store *st, const eg_sync_table *t, eg_sync_rows_fn gen, void *ud,
                     eg_sync_stats *stats)
{
    eg_sync sy = {.st = st, .t = t, .mode = MODE_DIFF};
    int rc = sync_init(&sy);
    if (!rc)
        rc = rewrite_whole(&sy, gen, ud, stats, true);
    sync_free(&sy);
    return rc;
}

int eg_table_sync(eg_store *st, const eg_sync_table *t, size_t expected, eg_sync_rows_fn gen,
                  void *ud, eg_sync_stats *stats)
{
    eg_sync sy = {.st = st, .t = t, .mode = MODE_DIFF, .limit = expected / 3 + 64};
    eg_buf sql;
    int rc = sync_init(&sy);
    if (rc)
        return rc;
    eg_buf_init(&sql, 0);
    eg_buf_printf(&sql, "SELECT %s FROM %s%s%s ORDER BY ", t->columns, t->name,
                  t->where ? " WHERE " : "", t->where ? t->where : "");
    key_list(&sql, t, "", ", ", "");
    rc = prepare(&sy, &sql, &sy.cur);
    eg_buf_free(&sql);
    if (rc || (rc = step_cursor(&sy)))
        goto done;
    if (!sy.cur_row) { /* nothing stored: write it all */
        sqlite3_finalize(sy.cur);
        sy.cur = NULL;
        rc = rewrite_whole(&sy, gen, ud, stats, false);
        goto done;
    }
    rc = gen(ud, &sy);
    while (!rc && sy.cur_row) { /* stored rows past the last new one */
        if ((rc = delete_current(&sy)))
            break;
        if (sy.ndels + sy.nedits > sy.limit)
            sy.stop = true, rc = SYNC_STOP;
    }
    sqlite3_finalize(sy.cur);
    sy.cur = NULL;
    if (rc == SYNC_STOP && sy.stop) {
        rc = rewrite_whole(&sy, gen, ud, stats, true);
        goto done;
    }
    if (rc)
        goto done;
    stats->rows += sy.rows;
    rc = apply_edits(&sy, gen, ud, stats);
done:
    if (rc == SYNC_STOP) /* a generator that returned it without eg_sync_row asking */
        rc = eg_error_set(EG_ESTORE, "internal error: a row generator for %s stopped", t->name);
    sync_free(&sy);
    return rc;
}
