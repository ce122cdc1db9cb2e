/*
 * cooccur.c — engram-bench-cooccur: concept co-occurrence in C (SPEC §14; the issue "the
 * biological pipeline": pair counts over the concepts of the memories of the last 30 days).
 *
 *   engram-bench-cooccur --store PATH --now ISO8601 [--days 30] [--repeat 5] [--dump FILE]
 *
 * 1. load: one SQL query reads the concept ids of the memories with created_at in
 *    (now - days, now] (each memory's pipeline row holds them as a JSON array; times are µs
 *    integers) into per-memory concept arrays (struct of arrays: one offsets array, one concepts
 * array, grown by doubling; no allocation per row); the ids (62-bit digests of the names) are
 *    replaced by their ranks among the ids read (dense, same order); each memory's concepts are
 *    sorted.
 * 2. count: every unordered concept pair of every memory is counted in an open-addressing hash
 *    table (key = a << 32 | b with a < b, count beside it; Fibonacci hashing, linear probing),
 *    sized from the number of pairs; best of --repeat runs, each from an empty table.
 * 3. prints: memories, rows, pairs counted, distinct pairs, a checksum (sum over distinct pairs of
 *    count * (a + 1) * (b + 1) mod 2^61, a and b the concepts' ranks), load ms, count ms.
 *    --dump FILE writes "a,b,count" lines (the store's ids) sorted by (a, b), the format of
 *    `psql -At -F, -c "SELECT a, b, count(*) ... ORDER BY 1, 2"`, for an equality check.
 *
 * Exit codes: 0 ok, 2 usage, 1 error (store unreadable, out of memory, I/O).
 */
#include "store/postings.h"
#include "util/timeutil.h"

#include <getopt.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *grow(void *p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *q = realloc(p, c * sz);
    if (!q) {
        fprintf(stderr, "engram-bench-cooccur: out of memory\n");
        exit(1);
    }
    *cap = c;
    return q;
}

/* The memories of the window: mem i has concepts con[off[i] .. off[i + 1]). */
typedef struct window {
    int64_t *rowid;
    uint32_t *off;
    uint32_t *con;
    size_t n, cap_mem, ncon, cap_con;
} window;

typedef struct slot {
    uint64_t key; /* (a + 1) << 32 | (b + 1), a < b; 0 = empty */
    uint32_t count;
} slot;

typedef struct table {
    slot *s;
    size_t cap;
    unsigned bits;
    size_t n;
} table;

static inline size_t slot_of(uint64_t key, unsigned bits)
{
    return (size_t)((key * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - bits));
}

static void table_init(table *t, uint64_t expect)
{
    unsigned bits = 10;
    while (((uint64_t)1 << bits) < 2 * expect && bits < 40)
        bits++;
    t->bits = bits;
    t->cap = (size_t)1 << bits;
    t->n = 0;
    t->s = calloc(t->cap, sizeof *t->s);
    if (!t->s) {
        fprintf(stderr, "engram-bench-cooccur: out of memory (hash table of %zu slots)\n", t->cap);
        exit(1);
    }
}

static void table_grow(table *t)
{
    table u;
    u.bits = t->bits + 1;
    u.cap = (size_t)1 << u.bits;
    u.n = t->n;
    u.s = calloc(u.cap, sizeof *u.s);
    if (!u.s) {
        fprintf(stderr, "engram-bench-cooccur: out of memory (hash table of %zu slots)\n", u.cap);
        exit(1);
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->s[i].key)
            continue;
        size_t j = slot_of(t->s[i].key, u.bits);
        while (u.s[j].key)
            j = (j + 1) & (u.cap - 1);
        u.s[j] = t->s[i];
    }
    free(t->s);
    *t = u;
}

static inline void table_add(table *t, uint64_t key)
{
    size_t mask = t->cap - 1;
    for (size_t i = slot_of(key, t->bits);; i = (i + 1) & mask) {
        if (t->s[i].key == key) {
            t->s[i].count++;
            return;
        }
        if (!t->s[i].key) {
            t->s[i].key = key;
            t->s[i].count = 1;
            if (++t->n * 2 > t->cap) /* keep the load factor at or below 1/2 */
                table_grow(t);
            return;
        }
    }
}

/* An upper bound of the distinct pairs: the pairs counted, and C(C - 1) / 2 for C distinct
 * concepts. */
static uint64_t distinct_bound(const window *w, uint64_t total)
{
    uint32_t max = 0;
    for (size_t i = 0; i < w->ncon; i++)
        max = w->con[i] > max ? w->con[i] : max;
    unsigned char *seen = calloc((size_t)max + 1, 1);
    if (!seen) {
        fprintf(stderr, "engram-bench-cooccur: out of memory\n");
        exit(1);
    }
    uint64_t c = 0;
    for (size_t i = 0; i < w->ncon; i++) {
        c += !seen[w->con[i]];
        seen[w->con[i]] = 1;
    }
    free(seen);
    uint64_t all = c * (c - (c > 0)) / 2;
    return all < total ? all : total;
}

/* Counts every unordered concept pair of every memory of w into t (concepts sorted per memory). */
static uint64_t count_pairs(const window *w, table *t)
{
    uint64_t pairs = 0;
    for (size_t m = 0; m < w->n; m++) {
        const uint32_t *c = w->con + w->off[m];
        uint32_t k = w->off[m + 1] - w->off[m];
        for (uint32_t i = 0; i + 1 < k; i++) {
            uint64_t hi = ((uint64_t)c[i] + 1) << 32;
            for (uint32_t j = i + 1; j < k; j++)
                table_add(t, hi | ((uint64_t)c[j] + 1));
        }
        pairs += (uint64_t)k * (k - 1) / 2;
    }
    return pairs;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_slot(const void *a, const void *b)
{
    uint64_t x = ((const slot *)a)->key, y = ((const slot *)b)->key;
    return (x > y) - (x < y);
}

static const char usage[] =
    "Usage: engram-bench-cooccur --store PATH --now ISO8601 [--days 30] [--repeat 5] [--dump "
    "FILE]\n"
    "\n"
    "Counts the concept pairs of the memories created in (now - days, now] of an engram store\n"
    "(after `engram run`), in C: one query loads the (memory, concept) pairs, a hash table counts\n"
    "every unordered pair per memory. Prints memories, rows, pairs, distinct pairs, a checksum,\n"
    "load ms and count ms (best of --repeat). --dump FILE writes \"a,b,count\" sorted by (a, b).\n";

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "engram-bench-cooccur: %s%s%s\n%s", msg, arg ? ": " : "", arg ? arg : "",
            usage);
    return 2;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", 1, NULL, 's'},
        {"now", 1, NULL, 'n'},
        {"days", 1, NULL, 'd'},
        {"repeat", 1, NULL, 'r'},
        {"dump", 1, NULL, 'o'},
        {"help", 0, NULL, 'h'},
        {0},
    };
    const char *store = NULL, *now_s = NULL, *dump = NULL;
    long days = 30, repeat = 5;
    int c;
    char *end;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            store = optarg;
            break;
        case 'n':
            now_s = optarg;
            break;
        case 'd':
            days = strtol(optarg, &end, 10);
            if (*end || days < 1 || days > 36500)
                return usage_error("--days needs an integer from 1 to 36500", optarg);
            break;
        case 'r':
            repeat = strtol(optarg, &end, 10);
            if (*end || repeat < 1 || repeat > 1000)
                return usage_error("--repeat needs an integer from 1 to 1000", optarg);
            break;
        case 'o':
            dump = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return usage_error("unknown option or missing value", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument", argv[optind]);
    if (!store || !now_s)
        return usage_error("--store and --now are required", NULL);
    int64_t now;
    if (eg_time_parse(now_s, (size_t)-1, &now))
        return usage_error("--now is not an ISO 8601 time", now_s);
    int64_t from = now - (int64_t)days * EG_USEC_PER_DAY;

    sqlite3 *db = NULL;
    if (sqlite3_open_v2(store, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "engram-bench-cooccur: cannot open store \"%s\": %s\n", store,
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return 1;
    }

    /* ---- load: one query; CROSS JOIN keeps memory the outer loop, so each memory's concepts
     * arrive together ---- */
    double t0 = now_ms();
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT m.rowid, p.concept_ids FROM memory AS m CROSS JOIN "
                           "pipeline AS p ON p.memory_rowid = m.rowid "
                           "WHERE m.created_at > ?1 AND m.created_at <= ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "engram-bench-cooccur: store \"%s\": %s (has `engram run` made it?)\n",
                store, sqlite3_errmsg(db));
        sqlite3_close(db);
        return 1;
    }
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, now);
    window w = {0};
    size_t cap_off = 0, cap_id = 0;
    int64_t *id = NULL; /* the stored concept ids, in w.con's order (ranked below) */
    int rc;
    w.off = grow(w.off, &cap_off, 1, sizeof *w.off);
    w.off[0] = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        /* a memory's concepts: the JSON array of concept ids its pipeline row holds */
        int64_t r = sqlite3_column_int64(st, 0);
        const char *p = (const char *)sqlite3_column_text(st, 1);
        w.rowid = grow(w.rowid, &w.cap_mem, w.n + 1, sizeof *w.rowid);
        w.off = grow(w.off, &cap_off, w.n + 2, sizeof *w.off);
        w.rowid[w.n++] = r;
        long long cid;
        while (eg_concept_ids_next(&p, &cid)) {
            id = grow(id, &cap_id, w.ncon + 1, sizeof *id);
            id[w.ncon++] = cid;
        }
        w.off[w.n] = (uint32_t)w.ncon;
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "engram-bench-cooccur: reading store \"%s\": %s\n", store,
                sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_finalize(st);
    /* stored concept ids are 62-bit digests of the names: count over their ranks (dense, and in
     * the same order, so pairs sort as the ids do); uniq[rank] gives the id back. The distinct
     * ids are found with a hash table (ids first seen get the next number), then sorted. */
    size_t hcap = 1024;
    while (hcap < 2 * w.ncon)
        hcap *= 2;
    int64_t *hkey = malloc(hcap * sizeof *hkey),
            *uniq = malloc((w.ncon ? w.ncon : 1) * sizeof *uniq);
    uint32_t *hval = malloc(hcap * sizeof *hval), *rank = NULL;
    w.con = malloc((w.ncon ? w.ncon : 1) * sizeof *w.con);
    if (!hkey || !hval || !uniq || !w.con) {
        fprintf(stderr, "engram-bench-cooccur: out of memory\n");
        return 1;
    }
    memset(hval, 0xff, hcap * sizeof *hval);
    size_t nuniq = 0;
    for (size_t i = 0; i < w.ncon; i++) {
        size_t h = (size_t)(((uint64_t)id[i] * UINT64_C(0x9e3779b97f4a7c15)) >> 20) & (hcap - 1);
        while (hval[h] != UINT32_MAX && hkey[h] != id[i])
            h = (h + 1) & (hcap - 1);
        if (hval[h] == UINT32_MAX) {
            hkey[h] = id[i];
            hval[h] = (uint32_t)nuniq;
            uniq[nuniq++] = id[i];
        }
        w.con[i] = hval[h]; /* first-seen number, made a rank below */
    }
    int64_t *sorted = malloc((nuniq ? nuniq : 1) * sizeof *sorted);
    rank = malloc((nuniq ? nuniq : 1) * sizeof *rank);
    if (!sorted || !rank) {
        fprintf(stderr, "engram-bench-cooccur: out of memory\n");
        return 1;
    }
    memcpy(sorted, uniq, nuniq * sizeof *sorted);
    qsort(sorted, nuniq, sizeof *sorted, cmp_i64);
    for (size_t i = 0; i < nuniq; i++) { /* first-seen number -> rank, by lookup of its id */
        size_t h =
            (size_t)(((uint64_t)sorted[i] * UINT64_C(0x9e3779b97f4a7c15)) >> 20) & (hcap - 1);
        while (hkey[h] != sorted[i])
            h = (h + 1) & (hcap - 1);
        rank[hval[h]] = (uint32_t)i;
    }
    for (size_t i = 0; i < w.ncon; i++)
        w.con[i] = rank[w.con[i]];
    free(uniq);
    uniq = sorted; /* uniq[rank] = id */
    free(rank);
    free(hkey);
    free(hval);
    free(id);
    /* sort each memory's concepts (a handful each: insertion sort) */
    for (size_t m = 0; m < w.n; m++) {
        uint32_t *cc = w.con + w.off[m];
        uint32_t k = w.off[m + 1] - w.off[m];
        for (uint32_t i = 1; i < k; i++) {
            uint32_t x = cc[i], j = i;
            for (; j > 0 && cc[j - 1] > x; j--)
                cc[j] = cc[j - 1];
            cc[j] = x;
        }
    }
    double load_ms = now_ms() - t0;
    sqlite3_close(db);

    /* check (not timed) that every memory came as one group */
    {
        int64_t *ids = malloc((w.n ? w.n : 1) * sizeof *ids);
        if (!ids)
            return 1;
        memcpy(ids, w.rowid, w.n * sizeof *ids);
        qsort(ids, w.n, sizeof *ids, cmp_i64);
        for (size_t i = 1; i < w.n; i++)
            if (ids[i] == ids[i - 1]) {
                fprintf(stderr, "engram-bench-cooccur: memory %" PRId64 " came in two groups\n",
                        ids[i]);
                return 1;
            }
        free(ids);
    }

    uint64_t total = 0;
    for (size_t m = 0; m < w.n; m++) {
        uint64_t k = w.off[m + 1] - w.off[m];
        total += k * (k - 1) / 2;
    }

    /* ---- count: best of repeat, each from an empty table sized for the pairs ---- */
    double best = -1;
    table t = {0};
    uint64_t pairs = 0;
    for (long r = 0; r < repeat; r++) {
        free(t.s);
        double t1 = now_ms();
        table_init(&t, distinct_bound(&w, total) / 4 + 1);
        pairs = count_pairs(&w, &t);
        double ms = now_ms() - t1;
        if (best < 0 || ms < best)
            best = ms;
    }

    /* checksum over the distinct pairs (order-independent) */
    uint64_t sum = 0, check_pairs = 0;
    for (size_t i = 0; i < t.cap; i++) {
        if (!t.s[i].key)
            continue;
        uint64_t a = t.s[i].key >> 32, b = t.s[i].key & 0xffffffffu; /* concept rank + 1 */
        sum += (uint64_t)t.s[i].count * a * b;
        check_pairs += t.s[i].count;
    }
    sum &= (UINT64_C(1) << 61) - 1;
    if (check_pairs != pairs || pairs != total) {
        fprintf(stderr,
                "engram-bench-cooccur: internal error: %" PRIu64 " pairs counted, %" PRIu64
                " in the table, %" PRIu64 " expected\n",
                pairs, check_pairs, total);
        return 1;
    }

    if (dump) {
        FILE *f = fopen(dump, "w");
        slot *all = malloc((t.n ? t.n : 1) * sizeof *all);
        if (!f || !all) {
            fprintf(stderr, "engram-bench-cooccur: cannot write \"%s\"\n", dump);
            return 1;
        }
        size_t k = 0;
        for (size_t i = 0; i < t.cap; i++)
            if (t.s[i].key)
                all[k++] = t.s[i];
        qsort(all, k, sizeof *all, cmp_slot);
        for (size_t i = 0; i < k; i++)
            fprintf(f, "%" PRId64 ",%" PRId64 ",%" PRIu32 "\n", uniq[(all[i].key >> 32) - 1],
                    uniq[(all[i].key & 0xffffffffu) - 1], all[i].count);
        free(all);
        if (fclose(f)) {
            fprintf(stderr, "engram-bench-cooccur: cannot write \"%s\"\n", dump);
            return 1;
        }
    }

    printf("memories %zu\nrows %zu\npairs %" PRIu64 "\ndistinct %zu\nchecksum %" PRIu64
           "\nload_ms %.3f\ncount_ms %.3f\n",
           w.n, w.ncon, pairs, t.n, sum, load_ms, best);
    free(t.s);
    free(w.rowid);
    free(w.off);
    free(w.con);
    free(uniq);
    return 0;
}
