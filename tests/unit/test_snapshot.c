/*
 * test_snapshot.c — unit tests of core/snapshot.c's file handling: a round trip keeps the key
 * and the model (memories, concepts, journeys, graphs, the loop's state); the key can be read
 * alone; a missing file is EG_ENOTFOUND; a file cut short anywhere, with any byte changed, or
 * from another format is refused with EG_EBADINPUT and leaves the model empty; a failed write
 * leaves no file behind (nor the space it took); a model read back maps the file's pages and goes
 * on like the model that was written, written over its own file or not; a link or a pipe at the
 * path is replaced, never written through, and a pipe is not read; a file being read is not written
 * over in place, nor read while it is. (That the snapshot carries every piece of state the engine
 * needs is test_engine.c's test_steps_through_snapshots.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/snapshot.h"
#include "engram/config.h"
#include "engram/error.h"
#include "stage/engine.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static eg_config cfg;
static char path[64];

static int setup(void **state)
{
    (void)state;
    setenv("ENGRAM_CONFIG", "/dev/null", 1);
    unsetenv("ENGRAM_PROFILE");
    snprintf(path, sizeof path, "/tmp/eg-test-snap-%d", (int)getpid());
    return eg_config_load(&cfg, NULL);
}

static int teardown(void **state)
{
    (void)state;
    eg_config_free(&cfg);
    unlink(path);
    return 0;
}

/* a small model, advanced through a few hours of ticks and replays */
static void small_model(eg_model *md)
{
    static const char *const words[] = {"garden", "pond", "maya", "leak", "budget"};
    int64_t t = 1767225600LL * EG_USEC_PER_SEC;
    eg_model_init(md);
    for (int i = 0; i < 40; i++) {
        eg_mem m = {.rowid = i + 1,
                    .t0 = t + (int64_t)i * 90 * EG_USEC_PER_SEC,
                    .importance = 0.5f + (float)(i % 5) / 10.0f,
                    .urgency = 0.3f,
                    .emotional = 0.3f,
                    .abstraction = 3};
        char id[16];
        snprintf(id, sizeof id, "m%02d", i);
        const char *names[2] = {words[i % 5], words[(i * 3 + 1) % 5]};
        uint32_t idx;
        assert_int_equal(eg_model_add(md, &m, id, names, 2, &idx), 0);
    }
    assert_int_equal(eg_engine_advance(md, &cfg, t + 6 * 3600 * EG_USEC_PER_SEC), 0);
    assert_true(md->njr > 0 && md->assoc.n > 0 && md->nep > 0);
}

static long file_size(void)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    return (long)sb.st_size;
}

static void test_round_trip(void **state)
{
    (void)state;
    eg_model a, b;
    small_model(&a);
    eg_snapshot_key key = {.generation = 7,
                           .now = 123,
                           .config = 99,
                           .inputs = 3,
                           .last_rowid = 40,
                           .recalls = 1},
                    back, only;
    assert_int_equal(eg_snapshot_write(&a, &key, path), 0);
    assert_int_equal(eg_snapshot_read_key(&only, path), 0);
    assert_memory_equal(&only, &key, sizeof key);
    eg_model_init(&b);
    assert_int_equal(eg_snapshot_read(&b, &back, path), 0);
    assert_memory_equal(&back, &key, sizeof key);
    assert_int_equal(b.n, a.n);
    for (size_t i = 0; i < a.n; i++) {
        assert_string_equal(eg_model_id(&b, (uint32_t)i), eg_model_id(&a, (uint32_t)i));
        assert_int_equal(b.m[i].status, a.m[i].status);
        assert_int_equal(b.m[i].wm_ticks, a.m[i].wm_ticks);
    }
    assert_int_equal(b.nconcepts, a.nconcepts);
    for (uint32_t c = 0; c < a.nconcepts; c++)
        assert_string_equal(eg_model_concept(&b, c), eg_model_concept(&a, c));
    /* journeys: not the lines (they are in the store), each memory's number of them */
    assert_int_equal(b.njr, 0);
    assert_int_equal(b.njr_base, a.n);
    for (size_t i = 0; i < a.n; i++) {
        uint32_t lines = 0;
        for (size_t k = 0; k < a.njr; k++)
            lines += a.jr[k].mem == i;
        assert_int_equal(b.jr_base[i], lines);
    }
    assert_int_equal(b.assoc.n, a.assoc.n);
    /* the memory graph is read without its pair index: every edge is found through the
     * adjacency lists, (b, a) as (a, b), and is not made again; the concept graph's index is
     * rebuilt */
    assert_true(b.assoc.no_map);
    assert_true(a.assoc.n > 0);
    for (size_t k = 0; k < a.assoc.n; k++) {
        uint32_t got;
        bool created;
        assert_int_equal(
            eg__graph_edge(&b.assoc, a.assoc.e[k].b, a.assoc.e[k].a, 0, &got, &created), 0);
        assert_false(created);
        assert_int_equal(got, k);
    }
    assert_int_equal(b.assoc.n, a.assoc.n);
    uint32_t fresh, again, j = (uint32_t)b.assoc.nodes - 1;
    bool made;
    while (j > 1 && eg_pairmap_get(&a.assoc.map, 0, j) != UINT32_MAX) /* a pair with no edge */
        j--;
    assert_int_equal(eg__graph_edge(&b.assoc, 0, j, 5, &fresh, &made), 0);
    assert_true(made); /* a new edge, found the next time */
    assert_int_equal(fresh, a.assoc.n);
    assert_int_equal(eg__graph_edge(&b.assoc, j, 0, 6, &again, &made), 0);
    assert_false(made);
    assert_int_equal(again, fresh);
    assert_false(b.concepts.no_map);
    for (size_t k = 0; k < a.concepts.n; k++)
        assert_int_equal(eg_pairmap_get(&b.concepts.map, a.concepts.e[k].a, a.concepts.e[k].b), k);
    assert_int_equal(b.eng.hi, a.eng.hi);
    assert_int_equal(b.eng.last, a.eng.last);
    assert_int_equal(b.eng.nheld, a.eng.nheld);
    assert_int_equal(b.ticks, a.ticks);
    eg_model_free(&a);
    eg_model_free(&b);
}

static void test_missing(void **state)
{
    (void)state;
    eg_model m;
    eg_snapshot_key key;
    unlink(path);
    eg_model_init(&m);
    assert_int_equal(eg_snapshot_read(&m, &key, path), EG_ENOTFOUND);
    assert_int_equal(eg_snapshot_read_key(&key, path), EG_ENOTFOUND);
    assert_int_equal(m.n, 0);
    eg_model_free(&m);
}

/* cut short at many places, or one byte changed at many places: refused, model empty */
static void test_damage_refused(void **state)
{
    (void)state;
    eg_model a, b;
    small_model(&a);
    eg_snapshot_key key = {.generation = 1}, back;
    assert_int_equal(eg_snapshot_write(&a, &key, path), 0);
    long size = file_size();
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *orig = malloc((size_t)size);
    assert_int_equal(fread(orig, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    int tried = 0;
    for (long cut = 0; cut < size; cut += 1 + size / 97) {
        for (int flip = 0; flip < 2; flip++) {
            f = fopen(path, "wb");
            assert_non_null(f);
            if (flip) {
                orig[cut] ^= 0x40;
                assert_int_equal(fwrite(orig, 1, (size_t)size, f), (size_t)size);
                orig[cut] ^= 0x40;
            } else {
                assert_int_equal(fwrite(orig, 1, (size_t)cut, f), (size_t)cut);
            }
            fclose(f);
            eg_model_init(&b);
            int rc = eg_snapshot_read(&b, &back, path);
            assert_int_equal(rc, EG_EBADINPUT);
            assert_int_equal(b.n, 0);
            assert_null(b.m);
            eg_model_free(&b);
            tried++;
        }
    }
    assert_true(tried > 150);
    free(orig);
    eg_model_free(&a);
}

/* flips one byte of path at off (twice: back as it was) */
static void flip_at(long off)
{
    int fd = open(path, O_RDWR);
    unsigned char c;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, off), 1);
    c ^= 0x40;
    assert_int_equal(pwrite(fd, &c, 1, off), 1);
    close(fd);
}

/* A snapshot of several checksum blocks (4 MiB each, the last one shorter, checked by two
 * threads): it reads back, and one byte changed in any of its blocks, or in the checksum, is
 * refused. */
static void test_damage_refused_blocks(void **state)
{
    (void)state;
    eg_model a, b;
    int64_t t = 1767225600LL * EG_USEC_PER_SEC;
    eg_model_init(&a);
    for (int i = 0; i < 60000; i++) { /* about 10 MB of memories */
        eg_mem m = {.rowid = i + 1, .t0 = t + (int64_t)i * EG_USEC_PER_SEC, .importance = 0.5f};
        char id[16], word[16];
        snprintf(id, sizeof id, "b%05d", i);
        snprintf(word, sizeof word, "w%d", i % 100);
        const char *names[1] = {word};
        uint32_t idx;
        assert_int_equal(eg_model_add(&a, &m, id, names, 1, &idx), 0);
    }
    eg_snapshot_key key = {.generation = 3}, back;
    assert_int_equal(eg_snapshot_write(&a, &key, path), 0);
    long size = file_size(), block = 4L << 20;
    assert_true(size > 2 * block + 4096);
    eg_model_init(&b);
    assert_int_equal(eg_snapshot_read(&b, &back, path), 0);
    assert_int_equal(b.n, a.n);
    eg_model_free(&b);
    const long at[] = {64, block + 7, 2 * block - 1, 2 * block + 11, size - 17, size - 1};
    for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
        flip_at(at[k]);
        eg_model_init(&b);
        if (eg_snapshot_read(&b, &back, path) != EG_EBADINPUT)
            fail_msg("a byte changed at %ld of %ld was not noticed", at[k], size);
        assert_int_equal(b.n, 0);
        eg_model_free(&b);
        flip_at(at[k]);
    }
    eg_model_init(&b);
    assert_int_equal(eg_snapshot_read(&b, &back, path), 0); /* as it was */
    eg_model_free(&b);
    eg_model_free(&a);
}

/* a write that cannot be made: an error naming the file, and nothing left behind */
static void test_write_failure(void **state)
{
    (void)state;
    eg_model a;
    small_model(&a);
    eg_snapshot_key key = {0};
    const char *bad = "/nonexistent-dir/engram.db-snapshot";
    assert_int_equal(eg_snapshot_write(&a, &key, bad), EG_EIO);
    assert_non_null(strstr(eg_error_last()->message, "/nonexistent-dir/engram.db-snapshot"));
    assert_int_equal(access("/nonexistent-dir/engram.db-snapshot", F_OK), -1);
    eg_model_free(&a);
}

/* A snapshot is written over the last one in place: a smaller one leaves nothing of the bigger
 * one behind it, and a bigger one over a smaller one reads back whole. */
static void test_written_over(void **state)
{
    (void)state;
    eg_model a, empty, back;
    small_model(&a);
    eg_model_init(&empty);
    eg_snapshot_key ka = {.generation = 1}, ke = {.generation = 2}, k;
    assert_int_equal(eg_snapshot_write(&a, &ka, path), 0);
    long big = file_size();
    assert_int_equal(eg_snapshot_write(&empty, &ke, path), 0);
    assert_true(file_size() < big);
    eg_model_init(&back);
    assert_int_equal(eg_snapshot_read(&back, &k, path), 0);
    assert_int_equal(k.generation, 2);
    assert_int_equal(back.n, 0);
    eg_model_free(&back);
    assert_int_equal(eg_snapshot_write(&a, &ka, path), 0);
    assert_int_equal(file_size(), big);
    eg_model_init(&back);
    assert_int_equal(eg_snapshot_read(&back, &k, path), 0);
    assert_int_equal(k.generation, 1);
    assert_int_equal(back.n, a.n);
    eg_model_free(&back);
    eg_model_free(&a);
    eg_model_free(&empty);
}

/* A snapshot is written in place only over a regular file of its own: never through a symbolic
 * link (the link is replaced, whatever it pointed at), never into a file with other names or
 * into a named pipe. (regression: with STORE-snapshot-2 a link to the store, a run wrote its
 * snapshot over the store; a link to nothing made every write fail; a write into a pipe
 * blocked once the pipe was full) */
static void test_not_through_links(void **state)
{
    (void)state;
    eg_model a, back;
    small_model(&a);
    eg_snapshot_key key = {.generation = 1}, k;
    char victim[96];
    snprintf(victim, sizeof victim, "%s-victim", path);
    static const char text[] = "SQLite format 3: the store's pages";
    for (int how = 0; how < 4; how++) { /* symlink, hard link, symlink to nothing, pipe */
        unlink(path);
        FILE *f = fopen(victim, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, sizeof text, f), sizeof text);
        fclose(f);
        if (how == 0)
            assert_int_equal(symlink(victim, path), 0);
        else if (how == 1)
            assert_int_equal(link(victim, path), 0);
        else if (how == 2)
            assert_int_equal(symlink("/nonexistent-dir/nothing", path), 0);
        else
            assert_int_equal(mkfifo(path, 0600), 0);
        alarm(20); /* (a write into a pipe blocks once the pipe is full) */
        assert_int_equal(eg_snapshot_write(&a, &key, path), 0);
        alarm(0);
        char buf[sizeof text + 1];
        f = fopen(victim, "rb");
        assert_non_null(f);
        assert_int_equal(fread(buf, 1, sizeof buf, f), sizeof text);
        fclose(f);
        assert_memory_equal(buf, text, sizeof text);
        struct stat sb;
        assert_int_equal(lstat(path, &sb), 0);
        assert_true(S_ISREG(sb.st_mode));
        assert_int_equal(sb.st_nlink, 1);
        eg_model_init(&back);
        assert_int_equal(eg_snapshot_read(&back, &k, path), 0);
        assert_int_equal(back.n, a.n);
        eg_model_free(&back);
    }
    unlink(victim);
    eg_model_free(&a);
}

/* A named pipe where a snapshot is looked for is refused at once, not opened for reading and
 * waited on (regression: a pipe at either snapshot name hung `engram run` and `engram stats`
 * until something wrote into it) */
static void test_pipe_refused(void **state)
{
    (void)state;
    eg_model m;
    eg_snapshot_key key;
    unlink(path);
    assert_int_equal(mkfifo(path, 0600), 0);
    alarm(20); /* (the test fails, instead of hanging, while a read waits) */
    assert_int_equal(eg_snapshot_read_key(&key, path), EG_EBADINPUT);
    eg_model_init(&m);
    assert_int_equal(eg_snapshot_read(&m, &key, path), EG_EBADINPUT);
    alarm(0);
    assert_int_equal(m.n, 0);
    eg_model_free(&m);
    unlink(path);
}

/* the state two models advanced alike must share (not their padding bytes) */
static void assert_same_state(const eg_model *x, const eg_model *y)
{
    assert_int_equal(x->n, y->n);
    for (size_t i = 0; i < x->n; i++) {
        assert_string_equal(eg_model_id(x, (uint32_t)i), eg_model_id(y, (uint32_t)i));
        assert_int_equal(x->m[i].status, y->m[i].status);
        assert_int_equal(x->m[i].wm_ticks, y->m[i].wm_ticks);
        assert_int_equal(x->m[i].episode, y->m[i].episode);
        assert_int_equal(x->m[i].replays, y->m[i].replays);
        assert_true(x->m[i].strength == y->m[i].strength);
    }
    assert_int_equal(x->npres, y->npres);
    assert_memory_equal(x->mc, y->mc, x->nmc * sizeof *x->mc);
    assert_int_equal(x->nconcepts, y->nconcepts);
    for (size_t c = 0; c < x->nconcepts; c++) {
        assert_int_equal(x->post_n[c], y->post_n[c]);
        assert_memory_equal(x->postings[c], y->postings[c], x->post_n[c] * sizeof(uint32_t));
    }
    const eg_graph *gx[2] = {&x->assoc, &x->concepts}, *gy[2] = {&y->assoc, &y->concepts};
    for (int g = 0; g < 2; g++) {
        assert_int_equal(gx[g]->n, gy[g]->n);
        for (size_t k = 0; k < gx[g]->n; k++) {
            assert_int_equal(gx[g]->e[k].a, gy[g]->e[k].a);
            assert_int_equal(gx[g]->e[k].b, gy[g]->e[k].b);
            assert_true(gx[g]->e[k].w == gy[g]->e[k].w);
            assert_int_equal(gx[g]->e[k].last_at, gy[g]->e[k].last_at);
        }
    }
    assert_int_equal(x->nep, y->nep);
    for (size_t k = 0; k < x->nep; k++) {
        assert_int_equal(x->ep[k].nconcepts, y->ep[k].nconcepts);
        assert_memory_equal(x->ep[k].concepts, y->ep[k].concepts,
                            x->ep[k].nconcepts * sizeof(uint32_t));
    }
    assert_int_equal(x->nrep, y->nrep);
    assert_int_equal(x->nenc, y->nenc);
    assert_int_equal(x->ticks, y->ticks);
}

/* A file being read is not written over in place, and a file being written in place is not read
 * (an advisory lock on the file: shared while it is read, exclusive while it is written over).
 * (regression: the read of the last snapshot that a run starts beside its ingest, before it
 * holds the store's lock (run.c), could overlap another run's in-place write of that file; when
 * the write made the file shorter, the reader's mapping ran past its end: SIGBUS) */
static void test_read_write_exclusive(void **state)
{
    (void)state;
    eg_model a, empty, back;
    small_model(&a);
    eg_model_init(&empty);
    eg_snapshot_key ka = {.generation = 1}, ke = {.generation = 2}, k;
    assert_int_equal(eg_snapshot_write(&a, &ka, path), 0);
    long big = file_size();
    /* a reader holds the file: the next snapshot (smaller) goes to a new file */
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_SH), 0);
    unsigned char *orig = malloc((size_t)big), *now = malloc((size_t)big);
    assert_int_equal(pread(fd, orig, (size_t)big, 0), big);
    assert_int_equal(eg_snapshot_write(&empty, &ke, path), 0);
    struct stat held, named;
    assert_int_equal(fstat(fd, &held), 0);
    assert_int_equal(stat(path, &named), 0);
    assert_true(held.st_ino != named.st_ino);
    assert_int_equal(held.st_size, big);
    assert_int_equal(pread(fd, now, (size_t)big, 0), big);
    assert_memory_equal(orig, now, (size_t)big);
    close(fd);
    eg_model_init(&back);
    assert_int_equal(eg_snapshot_read(&back, &k, path), 0);
    assert_int_equal(k.generation, 2);
    eg_model_free(&back);
    /* a writer holds the file: a read refuses it, and reads it once the writer is done */
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    eg_model_init(&back);
    assert_int_equal(eg_snapshot_read(&back, &k, path), EG_EBADINPUT);
    assert_int_equal(back.n, 0);
    eg_model_free(&back);
    close(fd);
    eg_model_init(&back);
    assert_int_equal(eg_snapshot_read(&back, &k, path), 0);
    eg_model_free(&back);
    /* a model mapping the file holds it until it is freed, not only while it is read: another
     * write (of another model, a smaller one) goes to a new file, and the model's pages stay
     * (written over in place and cut short, a page past the new end was a SIGBUS) */
    assert_int_equal(eg_snapshot_write(&a, &ka, path), 0);
    eg_model_init(&back);
    assert_int_equal(eg_snapshot_read(&back, &k, path), 0);
    assert_true(back.snap_mapped);
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(eg_snapshot_write(&empty, &ke, path), 0);
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_ino != after.st_ino);
    assert_same_state(&back, &a);
    eg_model_free(&back);
    /* freed, it lets go: the next write is in place again */
    eg_model_init(&back);
    assert_int_equal(eg_snapshot_read(&back, &k, path), 0);
    eg_model_free(&back);
    assert_int_equal(eg_snapshot_write(&a, &ka, path), 0);
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(before.st_ino, after.st_ino);
    free(orig);
    free(now);
    eg_model_free(&a);
    eg_model_free(&empty);
}

/* A run commits the store before its snapshot is written, so the next run may start while it
 * is: eg_snapshot_wait_written waits for the writer's lock (in place, or on a file written
 * aside to take path's place), and eg_snapshot_remove_leftovers keeps a file a writer still
 * holds while it removes one a killed writer left. */
typedef struct late_writer {
    int fd;
    volatile int done;
} late_writer;

static void *release_later(void *ud)
{
    late_writer *w = ud;
    const struct timespec t = {0, 100 * 1000 * 1000};
    nanosleep(&t, NULL);
    w->done = 1; /* before the lock goes: a wait that returns sees it */
    close(w->fd);
    return NULL;
}

static void wait_for(const char *file)
{
    late_writer w = {.fd = open(file, O_RDWR)};
    assert_true(w.fd >= 0);
    assert_int_equal(flock(w.fd, LOCK_EX), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, release_later, &w), 0);
    eg_snapshot_wait_written(path, 60000);
    assert_int_equal(w.done, 1);
    pthread_join(th, NULL);
}

static void test_wait_for_writer(void **state)
{
    (void)state;
    eg_model a;
    small_model(&a);
    eg_snapshot_key ka = {.generation = 1};
    assert_int_equal(eg_snapshot_write(&a, &ka, path), 0);
    wait_for(path); /* written in place */
    char aside[4096], left[4096];
    snprintf(aside, sizeof aside, "%s.tmp-AbC123", path);
    snprintf(left, sizeof left, "%s.tmp-XyZ789", path);
    FILE *f = fopen(aside, "w");
    assert_non_null(f);
    fclose(f);
    wait_for(aside); /* written aside */
    assert_non_null(f = fopen(left, "w"));
    fclose(f);
    int fd = open(aside, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    eg_snapshot_remove_leftovers(path);
    assert_int_equal(access(aside, F_OK), 0);
    assert_int_equal(access(left, F_OK), -1);
    close(fd);
    eg_snapshot_remove_leftovers(path);
    assert_int_equal(access(aside, F_OK), -1);
    eg_snapshot_wait_written(path, 60000); /* none writes: returns at once */
    eg_model_free(&a);
}

/* The store's second snapshot file, made from the first so that the next snapshot is written
 * over it in place: as big, refused by readers until then, never made over a file there. */
static void test_prepare_twin(void **state)
{
    (void)state;
    eg_model a, back;
    small_model(&a);
    eg_snapshot_key ka = {.generation = 1}, k;
    assert_int_equal(eg_snapshot_write(&a, &ka, path), 0);
    char twin[4096];
    snprintf(twin, sizeof twin, "%s-2", path);
    unlink(twin);
    eg_snapshot_prepare_twin(path, twin);
    struct stat st, tt;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(stat(twin, &tt), 0);
    assert_int_equal(tt.st_size, st.st_size);
    assert_int_not_equal(eg_snapshot_read_key(&k, twin), 0);
    eg_model_init(&back);
    assert_int_not_equal(eg_snapshot_read(&back, &k, twin), 0);
    eg_model_free(&back);
    /* written over in place, it is a snapshot like any other */
    assert_int_equal(eg_snapshot_write(&a, &ka, twin), 0);
    assert_int_equal(stat(twin, &st), 0);
    assert_int_equal(st.st_ino, tt.st_ino);
    assert_int_equal(eg_snapshot_read_key(&k, twin), 0);
    /* a file there stays as it is */
    FILE *f = fopen(twin, "w");
    assert_non_null(f);
    fputs("mine", f);
    fclose(f);
    eg_snapshot_prepare_twin(path, twin);
    assert_int_equal(stat(twin, &tt), 0);
    assert_int_equal(tt.st_size, 4);
    unlink(twin);
    eg_model_free(&a);
}

/* A write that fails half way (a full disk; here a file size limit) gives back the space it
 * took: a file it made is removed, one it wrote over in place is left empty (refused). (regression:
 * on a full disk the part written stayed, so the store, saved beside it, found no room and the
 * run failed instead of going on without its snapshot) */
static void test_failed_write_gives_space_back(void **state)
{
    (void)state;
    eg_model a, back;
    small_model(&a);
    eg_snapshot_key key = {.generation = 1}, k;
    struct rlimit was, cut;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &was), 0);
    cut = was;
    cut.rlim_cur = 8192;
    void (*sig)(int) = signal(SIGXFSZ, SIG_IGN);
    unlink(path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &cut), 0);
    int rc = eg_snapshot_write(&a, &key, path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
    assert_int_equal(rc, EG_EIO);
    assert_int_equal(access(path, F_OK), -1);
    /* over a whole snapshot, in place */
    assert_int_equal(eg_snapshot_write(&a, &key, path), 0);
    assert_true(file_size() > 8192);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &cut), 0);
    rc = eg_snapshot_write(&a, &key, path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &was), 0);
    signal(SIGXFSZ, sig);
    assert_int_equal(rc, EG_EIO);
    assert_int_equal(file_size(), 0);
    eg_model_init(&back);
    assert_int_equal(eg_snapshot_read(&back, &k, path), EG_EBADINPUT);
    eg_model_free(&back);
    eg_model_free(&a);
}

/* more memories, each with a concept of its own, an hour apart, and the simulation advanced
 * over them */
static void grow(eg_model *md, int from, int n)
{
    int64_t t = md->eng.last;
    for (int i = from; i < from + n; i++) {
        eg_mem m = {.rowid = 1000 + i,
                    .t0 = t + (int64_t)(i - from + 1) * 3600 * EG_USEC_PER_SEC,
                    .importance = 0.8f,
                    .urgency = 0.3f,
                    .emotional = 0.3f,
                    .abstraction = 3};
        char id[16], word[16];
        snprintf(id, sizeof id, "g%03d", i);
        snprintf(word, sizeof word, "word%d", i);
        const char *names[3] = {"garden", word, "pond"};
        uint32_t idx;
        assert_int_equal(eg_model_add(md, &m, id, names, 3, &idx), 0);
    }
    assert_int_equal(eg_engine_advance(md, &cfg, t + (int64_t)(n + 2) * 3600 * EG_USEC_PER_SEC), 0);
}

/* A model read back has its big arrays in the file's pages, mapped copy-on-write (or, when
 * told, copied into one allocation): it goes on as a model that was never written, whether its
 * arrays grow inside their room or past it (copied out), and eg_model_free lets go of it
 * (AddressSanitizer would report a free of mapped memory). Written to the file it was read
 * from, the model is not changed under itself while it is written (regression: a snapshot
 * written over in place while mapped came out damaged), and the new file is the model. */
static void test_mapped(void **state)
{
    (void)state;
    eg_model a, mapped, copied, back;
    small_model(&a);
    eg_snapshot_key key = {.generation = 1}, k;
    assert_int_equal(eg_snapshot_write(&a, &key, path), 0);
    eg_model_init(&mapped);
    eg_model_init(&copied);
    assert_int_equal(eg_snapshot_read(&mapped, &k, path), 0);
    assert_int_equal(eg__snapshot_read(&copied, &k, path, false), 0);
    assert_true(mapped.snap_mapped);
    assert_false(copied.snap_mapped);
    assert_true(eg__in_span(mapped.snap, mapped.m) && eg__in_span(mapped.snap, mapped.assoc.e));
    assert_true(eg__in_span(copied.snap, copied.m));
    assert_same_state(&mapped, &a);
    assert_same_state(&copied, &a);
    /* a few memories: inside the arrays' room */
    grow(&a, 0, 5);
    grow(&mapped, 0, 5);
    grow(&copied, 0, 5);
    assert_true(eg__in_span(mapped.snap, mapped.m));
    assert_same_state(&mapped, &a);
    assert_same_state(&copied, &a);
    /* written over the file it maps, then many more memories: past the room */
    assert_int_equal(eg_snapshot_write(&mapped, &key, path), 0);
    assert_same_state(&mapped, &a);
    grow(&a, 5, 400);
    grow(&mapped, 5, 400);
    grow(&copied, 5, 400);
    assert_false(eg__in_span(mapped.snap, mapped.m));
    assert_same_state(&mapped, &a);
    assert_same_state(&copied, &a);
    /* and the file written over it is the model as it was then: it goes on alike */
    eg_model_init(&back);
    assert_int_equal(eg_snapshot_read(&back, &k, path), 0);
    grow(&back, 5, 400);
    assert_same_state(&back, &a);
    eg_model_free(&a);
    eg_model_free(&mapped);
    eg_model_free(&copied);
    eg_model_free(&back);
}

/* eg_snapshot_mems_moved: which memories of a model read mapped from a snapshot differ from
 * the file's bytes, and their status in it. A page written with the same bytes is not a change;
 * a model whose memories moved past their room is compared with the file whole. */
static void test_mems_moved(void **state)
{
    (void)state;
    eg_model a, md, copied;
    small_model(&a);
    eg_snapshot_key key = {.generation = 1}, k;
    assert_int_equal(eg_snapshot_write(&a, &key, path), 0);
    eg_model_init(&md);
    assert_int_equal(eg_snapshot_read(&md, &k, path), 0);
    size_t n = md.n;
    uint8_t moved[64], status[64];
    assert_true(n <= sizeof moved);
    assert_int_equal(eg_snapshot_mems_moved(&md, n, moved, status), 0);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(moved[i], 0);
        assert_int_equal(status[i], md.m[i].status);
    }
    uint8_t was = md.m[30].status;
    md.m[3].recalls = md.m[3].recalls; /* its page copied, its bytes the same */
    md.m[30].status = (uint8_t)(was == EG_MS_FORGOTTEN ? EG_MS_CONSOLIDATED : EG_MS_FORGOTTEN);
    assert_int_equal(eg_snapshot_mems_moved(&md, n, moved, status), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(moved[i], i == 30);
    assert_int_equal(status[30], was);
    /* past the room: compared with the file whole */
    grow(&md, 0, 400);
    assert_false(eg__in_span(md.snap, md.m));
    assert_int_equal(eg_snapshot_mems_moved(&md, n, moved, status), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(moved[i], i == 30);
    /* a model not read mapped: it cannot tell */
    eg_model_init(&copied);
    assert_int_equal(eg__snapshot_read(&copied, &k, path, false), 0);
    assert_int_not_equal(eg_snapshot_mems_moved(&copied, n, moved, status), 0);
    eg_model_free(&copied);
    eg_model_free(&md);
    eg_model_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_damage_refused),
        cmocka_unit_test(test_damage_refused_blocks),
        cmocka_unit_test(test_write_failure),
        cmocka_unit_test(test_written_over),
        cmocka_unit_test(test_mapped),
        cmocka_unit_test(test_not_through_links),
        cmocka_unit_test(test_pipe_refused),
        cmocka_unit_test(test_read_write_exclusive),
        cmocka_unit_test(test_failed_write_gives_space_back),
        cmocka_unit_test(test_wait_for_writer),
        cmocka_unit_test(test_prepare_twin),
        cmocka_unit_test(test_mems_moved),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
