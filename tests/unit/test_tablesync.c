/*
 * test_tablesync.c — unit tests of store/tablesync.c: after every eg_table_sync the table holds
 * exactly the generated rows (values and SQLite types, read back and compared with a model kept
 * here), rows outside the table's `where` are never touched, and the statistics say what was
 * done: nothing written when nothing changed, only the changed rows and the removed keys when
 * little changed, a whole rewrite (with the secondary index rebuilt) when much changed. Rounds
 * of random changes (seeded) over a WITHOUT ROWID table with an INTEGER + TEXT key and REAL,
 * TEXT, BLOB and INTEGER columns with NULLs, and over a rowid table; a generator that emits rows
 * out of order or twice is an error. eg_table_sync_some compares only the emitted rows, by key,
 * and keeps the others. Whole rewrites write more and fewer rows than an insert batch holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store_fixture.h"

#include "engram/engram.h"
#include "engram/error.h"
#include "store/store.h"
#include "store/tablesync.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int setup(void **state)
{
    fixture *f = eg_test_store_setup("tablesync");
    if (!f ||
        eg_store_exec(f->st, "CREATE TABLE t (a INTEGER NOT NULL, k TEXT NOT NULL, x REAL, y TEXT,"
                             " z BLOB, n INTEGER, PRIMARY KEY (a, k)) WITHOUT ROWID;"
                             "CREATE INDEX t_x ON t(x);"
                             "CREATE TABLE r (id INTEGER PRIMARY KEY, v TEXT);"))
        return -1;
    *state = f;
    return 0;
}
#define teardown eg_test_store_teardown

/* ---- the model of table t: rows with a < NA, k one of KEYS; k = "z" rows are foreign ---- */

#define NA 100
static const char *const KEYS[] = {"a", "b", "c"};
#define NK 3

typedef struct trow {
    bool present;
    bool x_null, y_null;
    double x;
    char y[8];
    unsigned char z[6];
    int zn;
    int64_t n;
} trow;

typedef struct model {
    trow rows[NA][NK];
    int order_bug; /* 1: emit one row twice; 2: emit two rows swapped */
} model;

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static void random_row(trow *r)
{
    r->present = true;
    r->x_null = rnd(5) == 0;
    r->x = (double)rnd(1000) / 7.0 - 50.0;
    r->y_null = rnd(5) == 0;
    int yn = (int)rnd(7);
    for (int i = 0; i < yn; i++)
        r->y[i] = (char)('a' + rnd(26));
    r->y[yn] = '\0';
    r->zn = (int)rnd(6);
    for (int i = 0; i < r->zn; i++)
        r->z[i] = (unsigned char)rnd(256);
    r->n = (int64_t)rnd(5) - 2 + (rnd(2) ? INT64_C(1) << 40 : 0);
}

static void cells_of(const model *m, int a, int k, eg_cell *v)
{
    const trow *r = &m->rows[a][k];
    v[0] = eg_cell_int(a);
    v[1] = eg_cell_text(KEYS[k]);
    v[2] = r->x_null ? eg_cell_null() : eg_cell_real(r->x);
    v[3] = r->y_null ? eg_cell_null() : eg_cell_text(r->y);
    v[4] = eg_cell_blob(r->z, (size_t)r->zn);
    v[5] = eg_cell_int(r->n);
}

static int gen_t(void *ud, eg_sync *sy)
{
    const model *m = ud;
    eg_cell v[6], held[6];
    int idx = 0, rc;
    for (int a = 0; a < NA; a++)
        for (int k = 0; k < NK; k++) {
            if (!m->rows[a][k].present)
                continue;
            cells_of(m, a, k, v);
            idx++;
            if (m->order_bug == 2 && idx == 2) { /* held back: emitted after the third */
                memcpy(held, v, sizeof v);
                continue;
            }
            if ((rc = eg_sync_row(sy, v)))
                return rc;
            if (m->order_bug == 1 && idx == 1 && (rc = eg_sync_row(sy, v)))
                return rc;
            if (m->order_bug == 2 && idx == 3 && (rc = eg_sync_row(sy, held)))
                return rc;
        }
    return 0;
}

static size_t count_rows(const model *m)
{
    size_t n = 0;
    for (int a = 0; a < NA; a++)
        for (int k = 0; k < NK; k++)
            n += m->rows[a][k].present;
    return n;
}

static const eg_sync_table T_SPEC = {
    "t", "a, k, x, y, z, n", 6, 2, "k <> 'z'", "DROP INDEX t_x", "CREATE INDEX t_x ON t(x)", false};

/* table t holds exactly m's rows plus the foreign rows, with the types bound */
static void check_table(fixture *f, const model *m, int foreign)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(eg_store_db(f->st),
                                        "SELECT a, k, x, y, z, n, typeof(x), typeof(y), typeof(z)"
                                        " FROM t WHERE k <> 'z' ORDER BY a, k",
                                        -1, &s, NULL),
                     SQLITE_OK);
    int a = 0, k = 0;
    for (;;) {
        while (a < NA && !m->rows[a][k].present)
            if (++k == NK)
                k = 0, a++;
        int r = sqlite3_step(s);
        if (a == NA) {
            assert_int_equal(r, SQLITE_DONE);
            break;
        }
        assert_int_equal(r, SQLITE_ROW);
        const trow *t = &m->rows[a][k];
        assert_int_equal(sqlite3_column_int(s, 0), a);
        assert_string_equal((const char *)sqlite3_column_text(s, 1), KEYS[k]);
        assert_string_equal((const char *)sqlite3_column_text(s, 6), t->x_null ? "null" : "real");
        if (!t->x_null)
            assert_true(sqlite3_column_double(s, 2) == t->x);
        assert_string_equal((const char *)sqlite3_column_text(s, 7), t->y_null ? "null" : "text");
        if (!t->y_null)
            assert_string_equal((const char *)sqlite3_column_text(s, 3), t->y);
        assert_string_equal((const char *)sqlite3_column_text(s, 8), "blob");
        assert_int_equal(sqlite3_column_bytes(s, 4), t->zn);
        if (t->zn)
            assert_memory_equal(sqlite3_column_blob(s, 4), t->z, (size_t)t->zn);
        assert_int_equal(sqlite3_column_int64(s, 5), t->n);
        if (++k == NK)
            k = 0, a++;
    }
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(eg_store_db(f->st),
                                        "SELECT count(*), sum(n) FROM t WHERE k = 'z'", -1, &s,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), foreign);
    assert_int_equal(sqlite3_column_int(s, 1), foreign * 7);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(eg_store_db(f->st),
                                        "SELECT count(*) FROM sqlite_master WHERE name = 't_x'", -1,
                                        &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 1);
    sqlite3_finalize(s);
}

static bool same_row(const trow *p, const trow *q)
{
    return p->present == q->present && p->x_null == q->x_null && (p->x_null || p->x == q->x) &&
           p->y_null == q->y_null && (p->y_null || !strcmp(p->y, q->y)) && p->zn == q->zn &&
           !memcmp(p->z, q->z, (size_t)p->zn) && p->n == q->n;
}

/* random rounds: each changes none, a few or most of the rows; the table and the statistics
 * must follow */
static void test_rounds(void **state)
{
    fixture *f = *state;
    static model prev, cur;
    int foreign = 0;
    /* foreign rows (k = 'z') interleaved with the owned ones; they must never move */
    for (int a = 0; a < NA; a += 9) {
        char sql[96];
        snprintf(sql, sizeof sql, "INSERT INTO t VALUES (%d, 'z', NULL, 'foreign', x'', 7)", a);
        assert_int_equal(eg_store_exec(f->st, sql), 0);
        foreign++;
    }
    int seen_none = 0, seen_edits = 0, seen_rewrite = 0;
    for (int round = 0; round < 60; round++) {
        /* 0 same, 1 few, 2 most, 3 empty-ish, 4 many edits (more than a rewrite's insert batch
         * of 32 rows) but fewer than a rewrite */
        int kind = round < 3 ? round : (int)rnd(5);
        cur = prev;
        if (kind == 1 || kind == 4) {
            for (int c = 0, nc = kind == 1 ? 1 + (int)rnd(20) : 40 + (int)rnd(50); c < nc; c++) {
                trow *r = &cur.rows[rnd(NA)][rnd(NK)];
                int what = (int)rnd(7);
                if (r->present && what == 0)
                    r->present = false;
                else if (!r->present || what == 1)
                    random_row(r);
                else if (what == 2) /* one field alone: each must be compared */
                    r->x_null ? (void)(r->x_null = false) : (void)(r->x += 1.0 / 3.0);
                else if (what == 3)
                    r->y_null = !r->y_null;
                else if (what == 4)
                    r->z[0] ^= 1, r->zn = r->zn ? r->zn : 1;
                else if (what == 5)
                    r->n += INT64_C(1) << 50;
                else
                    r->x_null = !r->x_null;
            }
        } else if (kind == 2) {
            for (int a = 0; a < NA; a++)
                for (int k = 0; k < NK; k++)
                    if (rnd(4))
                        random_row(&cur.rows[a][k]);
                    else
                        cur.rows[a][k].present = false;
        } else if (kind == 3) {
            memset(&cur, 0, sizeof cur);
            for (int c = 0; c < 5; c++)
                random_row(&cur.rows[rnd(NA)][rnd(NK)]);
        }
        size_t n = count_rows(&cur);
        int64_t changed = 0, removed = 0;
        for (int a = 0; a < NA; a++)
            for (int k = 0; k < NK; k++) {
                const trow *p = &prev.rows[a][k], *q = &cur.rows[a][k];
                changed += q->present && !same_row(p, q);
                removed += p->present && !q->present;
            }
        eg_sync_stats st = {0};
        assert_int_equal(eg_store_begin(f->st), 0);
        assert_int_equal(eg_table_sync(f->st, &T_SPEC, n, gen_t, &cur, &st), 0);
        assert_int_equal(eg_store_commit(f->st), 0);
        assert_int_equal(st.rows, (int64_t)n);
        bool first = count_rows(&prev) == 0;
        bool whole = first || changed + removed > (int64_t)(n / 3 + 64);
        if (whole) {
            assert_int_equal(st.rewrites, !first);
            assert_int_equal(st.written, (int64_t)n);
            assert_int_equal(st.deleted, 0);
            seen_rewrite++;
        } else {
            assert_int_equal(st.rewrites, 0);
            assert_int_equal(st.written, changed);
            assert_int_equal(st.deleted, removed);
            seen_none += changed + removed == 0;
            seen_edits += changed + removed > 0;
        }
        check_table(f, &cur, foreign);
        prev = cur;
    }
    assert_true(seen_none > 0 && seen_edits > 5 && seen_rewrite > 5);
}

/* rows out of key order or twice: an error that names the table, and nothing half-done survives
 * the caller's rollback */
static void test_order(void **state)
{
    fixture *f = *state;
    static model m;
    memset(&m, 0, sizeof m);
    for (int a = 0; a < 10; a++)
        random_row(&m.rows[a][0]);
    eg_sync_stats st = {0};
    assert_int_equal(eg_store_begin(f->st), 0);
    assert_int_equal(eg_table_sync(f->st, &T_SPEC, 10, gen_t, &m, &st), 0);
    assert_int_equal(eg_store_commit(f->st), 0);
    for (int bug = 1; bug <= 2; bug++) {
        model b = m;
        random_row(&b.rows[5][0]); /* something to write */
        b.order_bug = bug;
        assert_int_equal(eg_store_begin(f->st), 0);
        assert_int_equal(eg_table_sync(f->st, &T_SPEC, 10, gen_t, &b, &st), EG_ESTORE);
        assert_non_null(strstr(eg_error_last()->message, "not in increasing key order"));
        assert_non_null(strstr(eg_error_last()->message, " t"));
        eg_store_rollback(f->st);
        check_table(f, &m, 0);
    }
}

/* a rowid table with a text column: a rerun writes nothing; removing the last rows deletes
 * them; half the rows changed are replaced one by one, all of them rewrite the table */
typedef struct rrows {
    int n;
    const char *v;
    bool every; /* v in every row, not only the odd ones */
} rrows;

static int q_count(fixture *f, const char *sql)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(eg_store_db(f->st), sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
}

static int gen_r(void *ud, eg_sync *sy)
{
    const rrows *r = ud;
    for (int i = 1; i <= r->n; i++) {
        eg_cell v[2] = {eg_cell_int(i), i % 2 || r->every ? eg_cell_text(r->v) : eg_cell_null()};
        int rc = eg_sync_row(sy, v);
        if (rc)
            return rc;
    }
    return 0;
}

static void test_rowid_table(void **state)
{
    fixture *f = *state;
    static const eg_sync_table R = {"r", "id, v", 2, 1, NULL, NULL, NULL, false};
    rrows r = {300, "one", false};
    eg_sync_stats st = {0};
    assert_int_equal(eg_table_sync(f->st, &R, 300, gen_r, &r, &st), 0);
    assert_int_equal(st.written, 300);
    memset(&st, 0, sizeof st);
    assert_int_equal(eg_table_sync(f->st, &R, 300, gen_r, &r, &st), 0);
    assert_int_equal(st.written, 0);
    assert_int_equal(st.deleted, 0);
    r.n = 290;
    memset(&st, 0, sizeof st);
    assert_int_equal(eg_table_sync(f->st, &R, 290, gen_r, &r, &st), 0);
    assert_int_equal(st.written, 0);
    assert_int_equal(st.deleted, 10);
    r.v = "two"; /* half the rows change: 145 edits, under 290 / 3 + 64 */
    memset(&st, 0, sizeof st);
    assert_int_equal(eg_table_sync(f->st, &R, 290, gen_r, &r, &st), 0);
    assert_int_equal(st.rewrites, 0);
    assert_int_equal(st.written, 145);
    r.v = "three"; /* every row changes */
    r.every = true;
    memset(&st, 0, sizeof st);
    assert_int_equal(eg_table_sync(f->st, &R, 290, gen_r, &r, &st), 0);
    assert_int_equal(st.rewrites, 1);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(eg_store_db(f->st),
                                        "SELECT count(*), max(id), count(v), min(v), max(v) FROM r",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 290);
    assert_int_equal(sqlite3_column_int(s, 1), 290);
    assert_int_equal(sqlite3_column_int(s, 2), 290);
    assert_string_equal((const char *)sqlite3_column_text(s, 3), "three");
    assert_string_equal((const char *)sqlite3_column_text(s, 4), "three");
    sqlite3_finalize(s);
}

/* eg_table_sync_some: only the emitted rows are compared (by key) and written when they differ
 * or are new; the rows not emitted stay as stored, even where the emitted set has gaps */
typedef struct some_rows {
    const int *ids;
    int n;
    const char *v;
} some_rows;

static int gen_some(void *ud, eg_sync *sy)
{
    const some_rows *r = ud;
    for (int i = 0; i < r->n; i++) {
        eg_cell v[2] = {eg_cell_int(r->ids[i]), eg_cell_text(r->ids[i] % 2 ? r->v : "one")};
        int rc = eg_sync_row(sy, v);
        if (rc)
            return rc;
    }
    return 0;
}

static void test_sync_some(void **state)
{
    fixture *f = *state;
    static const eg_sync_table R = {"r", "id, v", 2, 1, NULL, NULL, NULL, false};
    rrows all = {100, "one", true};
    eg_sync_stats st = {0};
    assert_int_equal(eg_table_sync(f->st, &R, 100, gen_r, &all, &st), 0);
    /* ids 10..19 emitted: the odd ones change, the even ones are the same; 150 and 151 are new */
    static const int ids[] = {10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 150, 151};
    some_rows some = {ids, 12, "two"};
    memset(&st, 0, sizeof st);
    assert_int_equal(eg_table_sync_some(f->st, &R, gen_some, &some, &st), 0);
    assert_int_equal(st.rows, 12);
    assert_int_equal(st.written, 5 + 2);
    assert_int_equal(st.deleted, 0);
    assert_int_equal(q_count(f, "SELECT count(*) FROM r"), 102);
    assert_int_equal(q_count(f, "SELECT count(*) FROM r WHERE v = 'two'"), 5 + 1);
    assert_int_equal(q_count(f, "SELECT count(*) FROM r WHERE v = 'one'"), 100 - 5 + 1);
    /* again: nothing differs */
    memset(&st, 0, sizeof st);
    assert_int_equal(eg_table_sync_some(f->st, &R, gen_some, &some, &st), 0);
    assert_int_equal(st.written, 0);
    /* out of order: an error */
    static const int bad[] = {20, 19};
    some_rows b = {bad, 2, "x"};
    assert_int_equal(eg_table_sync_some(f->st, &R, gen_some, &b, &st), EG_ESTORE);
}

/* A changed row whose key is stored is updated in place: in a rowid table keyed by a UNIQUE
 * constraint it keeps its rowid, which INSERT OR REPLACE would have
 * renumbered. A table with another UNIQUE constraint (replace) has its rows replaced
 * instead, so that two rows may trade a unique value (an update would fail on it). */
typedef struct pair_rows {
    int n;
    const char *v;
} pair_rows;

static int gen_pairs(void *ud, eg_sync *sy)
{
    const pair_rows *r = ud;
    for (int i = 0; i < r->n; i++) {
        eg_cell v[3] = {eg_cell_int(i / 4), eg_cell_int(i % 4), eg_cell_text(i == 5 ? r->v : "x")};
        int rc = eg_sync_row(sy, v);
        if (rc)
            return rc;
    }
    return 0;
}

typedef struct named_rows {
    const char *const *names;
} named_rows;

static int gen_named(void *ud, eg_sync *sy)
{
    const named_rows *r = ud;
    for (int i = 0; i < 2; i++) {
        eg_cell v[2] = {eg_cell_int(i + 1), eg_cell_text(r->names[i])};
        int rc = eg_sync_row(sy, v);
        if (rc)
            return rc;
    }
    return 0;
}

static void test_update_in_place(void **state)
{
    fixture *f = *state;
    assert_int_equal(eg_store_exec(f->st, "CREATE TABLE p (k1 INTEGER NOT NULL, k2 INTEGER NOT "
                                          "NULL, v TEXT, UNIQUE (k1, k2));"
                                          "CREATE INDEX p_v ON p(v);"
                                          "CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT "
                                          "NOT NULL UNIQUE);"),
                     0);
    static const eg_sync_table P = {"p", "k1, k2, v", 3, 2, NULL, NULL, NULL, false};
    pair_rows r = {40, "x"};
    eg_sync_stats st = {0};
    assert_int_equal(eg_table_sync(f->st, &P, 40, gen_pairs, &r, &st), 0);
    int64_t rowid = q_count(f, "SELECT rowid FROM p WHERE k1 = 1 AND k2 = 1");
    r.v = "changed";
    memset(&st, 0, sizeof st);
    assert_int_equal(eg_table_sync(f->st, &P, 40, gen_pairs, &r, &st), 0);
    assert_int_equal(st.written, 1);
    assert_int_equal(q_count(f, "SELECT count(*) FROM p WHERE v = 'changed' AND k1 = 1 AND k2 = 1"),
                     1);
    assert_int_equal(q_count(f, "SELECT rowid FROM p WHERE k1 = 1 AND k2 = 1"), rowid);
    r.v = "again"; /* the same through eg_table_sync_some */
    memset(&st, 0, sizeof st);
    assert_int_equal(eg_table_sync_some(f->st, &P, gen_pairs, &r, &st), 0);
    assert_int_equal(st.written, 1);
    assert_int_equal(q_count(f, "SELECT rowid FROM p WHERE v = 'again'"), rowid);
    assert_int_equal(q_count(f, "SELECT count(*) FROM p"), 40);

    static const char *const ab[] = {"a", "b"}, *const ba[] = {"b", "a"};
    static const eg_sync_table U = {"u", "id, name", 2, 1, NULL, NULL, NULL, true};
    named_rows n = {ab};
    assert_int_equal(eg_table_sync(f->st, &U, 2, gen_named, &n, &st), 0);
    n.names = ba;
    memset(&st, 0, sizeof st);
    assert_int_equal(eg_table_sync_some(f->st, &U, gen_named, &n, &st), 0);
    assert_int_equal(st.written, 2);
    assert_int_equal(q_count(f, "SELECT count(*) FROM u WHERE id = 1 AND name = 'b'"), 1);
    assert_int_equal(q_count(f, "SELECT count(*) FROM u WHERE id = 2 AND name = 'a'"), 1);
    assert_int_equal(q_count(f, "SELECT count(*) FROM u"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rowid_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_some, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_in_place, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
