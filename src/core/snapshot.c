/*
 * snapshot.c — the model's simulation state as a file.
 *
 * Layout: a header (magic, format version, the sizes of the structs written as they are in
 * memory, a digest of the sources it was built from, the caller's key), then the model's arrays in
 * a fixed order, each as a 64-bit count and its elements, then a checksum of everything before
 * it: the XXH3-64 of the XXH3-64s of its 4 MiB blocks (so that a reader checks the blocks on two
 * threads, the first while the second reads the arrays), and the block size.
 * The big arrays (memories, their concepts, presentations, both graphs' edges and adjacency
 * lists, posting lists, episodes' concepts, journey counts, encodings, replays) start at a
 * multiple of 4 KiB, padded with zeros, so that a reader can map them.
 * Structs without pointers are written as they lie in memory, so the file is only read
 * back by a build of the same sources (the build digest and the sizes in the header refuse anything
 * else: other code might simulate otherwise, and going on from its state would not end where a
 * replay ends); it is a cache next to the store, not an exchange format. Pointers are replaced:
 * an episode's concept list by its elements. The edge hash maps are not written: the concept
 * graph's is rebuilt from the edges, in edge order; the memory graph goes without one (its edges
 * are found through the adjacency lists, eg_graph.no_map). Journeys are not written, only each
 * memory's number of lines: the
 * lines are in the store, the engine never reads them back, and the next save numbers the new
 * ones after them (eg_model.jr_base).
 *
 * Reading maps the file instead of copying it (at 1M memories the copy into fresh pages was a
 * third of an incremental run): the whole file read-only for the checksums and the small arrays,
 * then each big array's pages copy-on-write into one region of the model's (eg_span), with
 * anonymous room after each to grow into. Pages the run never writes stay the page cache's.
 * Because a private mapping still shows later writes to pages it has not copied, a snapshot is
 * never written over the file a model maps (a new file replaces it; run.c keeps two files and
 * writes the other one). Reading trusts no count: each is checked against the bytes left in the
 * file before anything is allocated or mapped.
 */
#include "core/snapshot.h"

#include "build_id.h" /* EG_BUILD_ID, generated from the sources by cmake/build_id.cmake */
#include "engram/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define MAGIC "EGSNAP\r\n"
/* 3: the key no longer holds the staging window (docs/adr/0010); 4: the communities and each
 * memory's long-term category at now (the next run takes the categories over when the
 * communities are the same, and saves only the records whose category moved); 5: up to which
 * memory the posting lists are known sorted; 6: the memory graph's edges have their own checksum
 * (after the other's, at the end), so that a second thread reads them; 7: the time of the
 * last tick or replay pass, after which REM and homeostasis rest (stage/engine.c); 8: the key's
 * tag, a digest of the inputs (a snapshot of another store with the same run ids was taken for
 * this one's); 9: the big arrays start at 4 KiB boundaries, so that a reader maps them; 10: the
 * checksum is over 4 MiB blocks, not one stream and the memory graph's edges */
#define VERSION 10

/* The checksum's blocks: the file's bytes before the checksum, cut at multiples of this. */
#define SUM_BLOCK ((size_t)4 << 20)

/* The arrays the reader maps start at multiples of this in the file (padded with zeros). */
#define SNAP_PAGE 4096

typedef struct header {
    char magic[8];
    uint32_t version;
    uint32_t sizes[8];
    char build[32]; /* EG_BUILD_ID: other sources may simulate otherwise */
    eg_snapshot_key key;
} header;

static void sizes_of(uint32_t *s)
{
    memset(s, 0, 8 * sizeof *s);
    s[0] = sizeof(eg_mem);
    s[1] = sizeof(eg_edge);
    s[2] = sizeof(eg_presentation);
    s[3] = sizeof(eg_episode);
    s[4] = sizeof(eg_creative);
    s[5] = sizeof(eg_snapshot_key);
    s[6] = sizeof(size_t);
}

/* the digest of the sources this build was made from, padded */
static void build_of(char *b)
{
    memset(b, 0, 32);
    memcpy(b, EG_BUILD_ID, strlen(EG_BUILD_ID) < 32 ? strlen(EG_BUILD_ID) : 32);
}

int eg_snapshot_path(const char *store_path, int slot, char *buf, size_t n)
{
    int len = snprintf(buf, n, "%s-snapshot%s", store_path, slot ? "-2" : "");
    return len > 0 && (size_t)len < n ? 0 : -1;
}

/* a memory's inputs: identity, time, features and concepts (by name: an index depends on
 * first appearance) */
static uint64_t mem_inputs(const eg_model *md, size_t i)
{
    const eg_mem *m = &md->m[i];
    struct {
        int64_t rowid, t0;
        float importance, urgency, emotional;
        int32_t sentiment, task_type, knowledge_type, region, abstraction, late;
    } f;
    memset(&f, 0, sizeof f); /* (no padding byte left to chance) */
    f.rowid = m->rowid;
    f.t0 = m->t0;
    f.importance = m->importance;
    f.urgency = m->urgency;
    f.emotional = m->emotional;
    f.sentiment = m->sentiment;
    f.task_type = m->task_type;
    f.knowledge_type = m->knowledge_type;
    f.region = m->region;
    f.abstraction = m->abstraction;
    f.late = m->late;
    const char *id = eg_model_id(md, (uint32_t)i);
    uint64_t h = XXH3_64bits_withSeed(&f, sizeof f, XXH3_64bits(id, strlen(id)));
    for (uint16_t k = 0; k < m->c_n; k++) {
        const char *c = eg_model_concept(md, md->mc[m->c_off + k]);
        h = XXH3_64bits_withSeed(c, strlen(c) + 1, h);
    }
    return h;
}

uint64_t eg_snapshot_inputs_tag(const eg_model *md, uint64_t base, size_t from_mem,
                                size_t from_pres)
{
    uint64_t tag = base;
    for (size_t i = from_mem; i < md->n; i++)
        tag += mem_inputs(md, i);
    for (size_t k = from_pres; k < md->npres; k++) {
        const eg_presentation *p = &md->pres[k];
        if (p->kind != EG_PRES_RECALLED || p->mem >= md->n)
            continue;
        int64_t r[2] = {md->m[p->mem].rowid, p->at};
        tag += XXH3_64bits(r, sizeof r);
    }
    return tag;
}

/* ---- writing ---- */

typedef struct wr {
    FILE *f;
    XXH3_state_t *h;  /* the current block's */
    uint64_t *blocks; /* the digests of the blocks before it */
    size_t nblocks, cap;
    uint64_t pos; /* bytes written, the header included */
    bool err;
    const char *run; /* w_run: bytes gathered, not yet written (run_n of them) */
    size_t run_n;
} wr;

/* the current block's digest appended, and a new block begun */
static void w_block_end(wr *w)
{
    if (w->nblocks == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        uint64_t *b = realloc(w->blocks, cap * sizeof *b);
        if (!b) {
            w->err = true;
            return;
        }
        w->blocks = b;
        w->cap = cap;
    }
    w->blocks[w->nblocks++] = XXH3_64bits_digest(w->h);
    XXH3_64bits_reset(w->h);
}

/* bytes at w->pos into the checksum, block by block */
static void w_sum(wr *w, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        size_t room = SUM_BLOCK - (size_t)(w->pos % SUM_BLOCK), k = n < room ? n : room;
        XXH3_64bits_update(w->h, b, k);
        w->pos += k;
        b += k;
        n -= k;
        if (w->pos % SUM_BLOCK == 0)
            w_block_end(w);
    }
}

static void w_bytes(wr *w, const void *p, size_t n)
{
    if (w->err || !n)
        return;
    if (fwrite(p, 1, n, w->f) != n)
        w->err = true;
    w_sum(w, p, n);
}

/* Many small pieces that mostly lie one after the other in memory (the adjacency lists, posting
 * lists and episodes' concepts of a model read from a snapshot, each in one block): written
 * as one piece while they do. At 1M memories that is thousands of writes instead of 1.8M
 * fwrite and checksum calls (30 ms of fwrite alone). w_run_end writes what is gathered. */
static void w_run(wr *w, const void *p, size_t n)
{
    if (!n)
        return;
    if (w->run && w->run + w->run_n == (const char *)p) {
        w->run_n += n;
        return;
    }
    if (w->run)
        w_bytes(w, w->run, w->run_n);
    w->run = p;
    w->run_n = n;
}

static void w_run_end(wr *w)
{
    if (w->run)
        w_bytes(w, w->run, w->run_n);
    w->run = NULL;
    w->run_n = 0;
}

/* zeros up to the next multiple of SNAP_PAGE: what follows can be mapped */
static void w_pad(wr *w)
{
    static const char zeros[SNAP_PAGE];
    w_bytes(w, zeros, (size_t)(-w->pos & (SNAP_PAGE - 1)));
}

static void w_u64(wr *w, uint64_t v)
{
    w_bytes(w, &v, sizeof v);
}

static void w_arr(wr *w, const void *p, size_t n, size_t sz)
{
    w_u64(w, n);
    w_bytes(w, p, n * sz);
}

/* an array the reader maps: its count, then its elements from a page boundary */
static void w_marr(wr *w, const void *p, size_t n, size_t sz)
{
    w_u64(w, n);
    w_pad(w);
    w_bytes(w, p, n * sz);
}

/* a graph. The edges and the adjacency lists (one after the other) are mapped. */
static void w_graph(wr *w, const eg_graph *g)
{
    w_u64(w, g->n);
    w_pad(w);
    w_bytes(w, g->e, g->n * sizeof *g->e);
    w_arr(w, g->adj_n, g->nodes, sizeof *g->adj_n);
    w_pad(w);
    for (size_t i = 0; i < g->nodes; i++)
        w_run(w, g->adj[i], g->adj_n[i] * sizeof **g->adj);
    w_run_end(w);
}

static int write_model(wr *w, const eg_model *md)
{
    w_marr(w, md->m, md->n, sizeof *md->m);
    w_arr(w, md->text.data, md->text.len, 1);
    w_marr(w, md->mc, md->nmc, sizeof *md->mc);
    w_arr(w, md->concept_name, md->nconcepts, sizeof *md->concept_name);
    w_arr(w, md->post_n, md->nconcepts, sizeof *md->post_n);
    w_pad(w);
    for (size_t c = 0; c < md->nconcepts; c++)
        w_run(w, md->postings[c], md->post_n[c] * sizeof **md->postings);
    w_run_end(w);
    w_arr(w, md->intern, md->intern_cap, sizeof *md->intern);
    w_marr(w, md->pres, md->npres, sizeof *md->pres);
    w_graph(w, &md->assoc);
    w_graph(w, &md->concepts);
    w_arr(w, md->ep, md->nep, sizeof *md->ep);
    w_pad(w);
    for (size_t k = 0; k < md->nep; k++)
        w_run(w, md->ep[k].concepts, md->ep[k].nconcepts * sizeof *md->ep[k].concepts);
    w_run_end(w);
    /* journeys: each memory's number of lines (the lines themselves are in the store, and the
     * engine never reads them back) */
    uint32_t *lines = calloc(md->n ? md->n : 1, sizeof *lines);
    if (!lines)
        return eg_error_set(EG_ENOMEM, "out of memory writing a snapshot");
    for (size_t i = 0; i < md->n && i < md->njr_base; i++)
        lines[i] = md->jr_base[i];
    for (size_t k = 0; k < md->njr; k++)
        if (md->jr[k].mem < md->n)
            lines[md->jr[k].mem]++;
    w_marr(w, lines, md->n, sizeof *lines);
    free(lines);
    w_arr(w, md->cr, md->ncr, sizeof *md->cr);
    w_arr(w, md->comm.label, md->comm.n, sizeof *md->comm.label);
    w_arr(w, md->comm.hub, md->comm.hub ? md->comm.n : 0, sizeof *md->comm.hub);
    w_arr(w, md->comm_now.label, md->comm_now.n, sizeof *md->comm_now.label);
    w_arr(w, md->comm_now.hub, md->comm_now.hub ? md->comm_now.n : 0, sizeof *md->comm_now.hub);
    w_arr(w, md->ltm_cat, md->ltm_cat ? md->nltm_cat : 0, sizeof *md->ltm_cat);
    w_arr(w, md->stm, md->nstm, sizeof *md->stm);
    w_marr(w, md->enc, md->nenc, sizeof *md->enc);
    w_marr(w, md->rep, md->nrep, sizeof *md->rep);
    const eg_engine_state *g = &md->eng;
    int64_t scalars[] = {md->nconsolidated, g->started,
                         g->last,           g->t_cons,
                         g->t_rem,          g->t_homeo,
                         (int64_t)g->nheld, (int64_t)g->lo,
                         (int64_t)g->hi,    g->tickno,
                         md->ticks,         md->replays_done,
                         md->rem_phases,    md->homeostasis_phases,
                         md->max_held,      (int64_t)g->sorted,
                         g->active};
    w_arr(w, scalars, sizeof scalars / sizeof *scalars, sizeof *scalars);
    w_arr(w, g->held, g->capheld, sizeof *g->held);
    return 0;
}

/* A new snapshot is as readable as the store it caches, no more (it holds memory ids and
 * concept names): it takes the mode of the store named by its path (eg_snapshot_path), else
 * stays owner-only. An existing one keeps the mode it has. */
static void take_store_mode(int fd, const char *path)
{
    static const char *const suffixes[] = {"-snapshot", "-snapshot-2"}; /* (eg_snapshot_path) */
    size_t n = strlen(path), k = 0;
    struct stat sb;
    for (int i = 0; i < 2; i++) {
        size_t len = strlen(suffixes[i]);
        if (n > len && !strcmp(path + n - len, suffixes[i]))
            k = len;
    }
    if (!k)
        return;
    char *store = strndup(path, n - k);
    if (store && stat(store, &sb) == 0)
        (void)fchmod(fd, sb.st_mode & 0666);
    free(store);
}

/* The new file a write that does not go in place makes beside path (mkstemp's pattern); what
 * eg_snapshot_remove_leftovers removes */
#define ASIDE ".tmp-XXXXXX"

/* Calls fn with each file beside path that a write aside made (ASIDE), named by the directory
 * it is in (dfd) and its name there. */
static void each_aside(const char *path, void (*fn)(int dfd, const char *name, void *ud), void *ud)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t blen = strlen(base), tail = strlen(ASIDE) - 6; /* ".tmp-", then six characters */
    char *dir = slash ? strndup(path, slash > path ? (size_t)(slash - path) : 1) : strdup(".");
    DIR *d = dir ? opendir(dir) : NULL;
    for (struct dirent *e; d && (e = readdir(d));)
        if (!strncmp(e->d_name, base, blen) && !strncmp(e->d_name + blen, ASIDE, tail) &&
            strlen(e->d_name + blen + tail) == 6)
            fn(dirfd(d), e->d_name, ud);
    if (d)
        closedir(d);
    free(dir);
}

/* a leftover goes unless its writer still holds its lock (eg_snapshot_write locks it) */
static void remove_unlocked(int dfd, const char *name, void *ud)
{
    (void)ud;
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
        (void)unlinkat(dfd, name, 0);
    if (fd >= 0)
        close(fd);
}

void eg_snapshot_remove_leftovers(const char *path)
{
    each_aside(path, remove_unlocked, NULL);
}

/* waits while a writer holds fd's lock, for at most *left_ms milliseconds (less what it waits) */
static void wait_unlocked(int fd, int *left_ms)
{
    const struct timespec tick = {0, 5 * 1000 * 1000};
    while (*left_ms > 0 && flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        nanosleep(&tick, NULL);
        *left_ms -= 5;
    }
}

static void wait_aside(int dfd, const char *name, void *ud)
{
    int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        wait_unlocked(fd, ud);
        close(fd);
    }
}

void eg_snapshot_wait_written(const char *path, int timeout_ms)
{
    int left = timeout_ms;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        wait_unlocked(fd, &left);
        close(fd);
    }
    each_aside(path, wait_aside, &left);
}

/* Which pages of [lo, hi) the process has written since they were mapped from a file: a page
 * of a private file mapping is the file's page (the page cache's) until written, then the
 * process's own copy (/proc/self/pagemap: present and not a file page, or swapped out). out[k]
 * for the k-th page from lo's; false when pagemap cannot be read. */
static bool pages_copied(uintptr_t lo, uintptr_t hi, uint8_t *out)
{
    size_t first = lo / SNAP_PAGE, n = (hi + SNAP_PAGE - 1) / SNAP_PAGE - first;
    uint64_t *e = malloc((n ? n : 1) * sizeof *e);
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    bool ok = e && fd >= 0;
    for (size_t got = 0; ok && got < n * sizeof *e;) {
        ssize_t k =
            pread(fd, (char *)e + got, n * sizeof *e - got, (off_t)(first * sizeof *e + got));
        ok = k > 0;
        got += ok ? (size_t)k : 0;
    }
    for (size_t k = 0; ok && k < n; k++)
        out[k] = ((e[k] >> 63 & 1) && !(e[k] >> 61 & 1)) || (e[k] >> 62 & 1);
    if (fd >= 0)
        close(fd);
    free(e);
    return ok;
}

bool eg_snapshot_mems_comparable(const eg_model *md)
{
    return md->snap_mapped && md->snap_m && md->snap_m == md->m && md->n == md->snap_m_n &&
           access("/proc/self/pagemap", R_OK) == 0;
}

/* memory x of sz-byte memories from address lo lies on pages never written (pages: from
 * pages_copied; NULL when unknown): it is the file's bytes */
static bool unwritten(const uint8_t *pages, uintptr_t lo, size_t sz, size_t x)
{
    return pages && !pages[(lo + x * sz) / SNAP_PAGE - lo / SNAP_PAGE] &&
           !pages[(lo + (x + 1) * sz - 1) / SNAP_PAGE - lo / SNAP_PAGE];
}

int eg_snapshot_mems_moved(const eg_model *md, size_t n, uint8_t *moved, uint8_t *status)
{
    const size_t sz = sizeof *md->m;
    if (!md->snap_m || !md->snap_mapped || n > md->snap_m_n)
        return eg_error_set(EG_EBADINPUT, "the model's memories were not read from a snapshot");
    /* the memories on pages never written are the file's bytes; the others are compared with
     * the file (all of them when md->m has moved since, or pagemap is not readable) */
    uintptr_t lo = (uintptr_t)md->snap_m, hi = lo + n * sz;
    size_t npages = (hi + SNAP_PAGE - 1) / SNAP_PAGE - lo / SNAP_PAGE;
    uint8_t *copied = md->m == md->snap_m ? malloc(npages ? npages : 1) : NULL;
    bool by_pages = copied && pages_copied(lo, hi, copied);
    const uint8_t *pages = by_pages ? copied : NULL;
    size_t cap = (size_t)4 << 20, nbuf = cap / sz;
    unsigned char *buf = malloc(cap);
    int rc = 0;
    if (!buf) {
        rc = eg_error_set(EG_ENOMEM, "out of memory comparing memories with the snapshot");
        goto done;
    }
    for (size_t i = 0; i < n;) {
        if (unwritten(pages, lo, sz, i)) {
            moved[i] = 0;
            status[i] = md->m[i].status;
            i++;
            continue;
        }
        /* a run of memories to compare: up to the next one on pages never written */
        size_t j = i + 1;
        while (j < n && j - i < nbuf && !unwritten(pages, lo, sz, j))
            j++;
        size_t want = (j - i) * sz, got = 0;
        while (got < want) {
            ssize_t k =
                pread(md->snap_fd, buf + got, want - got, (off_t)(md->snap_m_off + i * sz + got));
            if (k <= 0) {
                rc = eg_error_set(EG_EIO, "could not read the snapshot's memories: %s",
                                  k ? strerror(errno) : "the file is shorter");
                goto done;
            }
            got += (size_t)k;
        }
        for (size_t x = i; x < j; x++) {
            const eg_mem *was = (const eg_mem *)(const void *)(buf + (x - i) * sz);
            moved[x] = memcmp(was, &md->m[x], sz) != 0;
            status[x] = was->status;
        }
        i = j;
    }
done:
    free(buf);
    free(copied);
    return rc;
}

void eg_snapshot_prepare_twin(const char *path, const char *twin)
{
    struct stat sb;
    int src = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), dst = -1;
    if (src < 0 || fstat(src, &sb) != 0 || !S_ISREG(sb.st_mode))
        goto done;
    dst = open(twin, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (dst < 0)
        goto done; /* (there already, or not ours to make) */
    /* locked while it is made: a run that starts meanwhile waits for it (eg_snapshot_wait_written)
     * and no other run takes it for a leftover */
    bool ok = flock(dst, LOCK_EX | LOCK_NB) == 0;
    for (off_t in = 0, out = 0; ok && in < sb.st_size;) {
        ssize_t n = copy_file_range(src, &in, dst, &out, (size_t)(sb.st_size - in), 0);
        ok = n > 0;
    }
    /* refused by a reader until a snapshot is written over it, as a write in place does */
    static const char cleared[sizeof MAGIC - 1];
    ok = ok && pwrite(dst, cleared, sizeof cleared, 0) == (ssize_t)sizeof cleared;
    if (ok)
        take_store_mode(dst, twin);
    else
        unlink(twin);
done:
    if (dst >= 0)
        close(dst);
    if (src >= 0)
        close(src);
}

int eg_snapshot_write(const eg_model *md, const eg_snapshot_key *key, const char *path)
{
    int rc = 0;
    /* Overwritten in place: the pages of the last snapshot are in the page cache, and writing
     * over them is about twice as fast as writing a new file. The header goes first with its
     * magic cleared and last as it is, so that until the write is complete the file is
     * refused whole (a reader then replays the history); the checksum covers the rest. */
    wr w = {.h = XXH3_createState()};
    bool created = false;
    /* In place only over a regular file of its own. Not through a symbolic link or into a file
     * with other names (the store itself, say: the snapshot would be written over it), not into
     * a pipe, and not over the file md's pages are mapped from (copy-on-write: the pages the
     * model has not written would change under it while it is read; run.c writes the other of
     * a store's two snapshots instead), nor over one another process is reading (it holds a
     * shared lock on it while it reads, eg__snapshot_read; this write holds an exclusive one).
     * A new file takes the place of any of those once complete; a directory stays an error. */
    struct stat sb = {0}, own;
    /* the file md maps, if any */
    bool maps = md->snap_map && md->snap_mapped && fstat(md->snap_fd, &own) == 0;
    char *aside = NULL;
    bool replace = false; /* a new file is renamed over the one at path */
    int mode = -1;        /* the mode it takes (-1: the store's, as a new snapshot does) */
    int fd = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink == 1 &&
            !(maps && sb.st_dev == own.st_dev && sb.st_ino == own.st_ino) &&
            !(flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)) {
            if (!(w.f = fdopen(fd, "r+b")))
                close(fd);
        } else {
            mode = S_ISREG(sb.st_mode) ? (int)(sb.st_mode & 0666) : -1;
            close(fd);
            replace = true;
        }
    } else if (errno == ELOOP) { /* a symbolic link */
        replace = true;
    }
    if (replace) {
        size_t n = strlen(path) + sizeof ASIDE;
        fd = (aside = malloc(n)) ? (snprintf(aside, n, "%s" ASIDE, path), mkstemp(aside)) : -1;
        /* locked while it is written: no other run takes it for a leftover (a run that
         * begins once this one has committed may start before this write is over) */
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
            close(fd);
            fd = -1;
            unlink(aside);
        }
        if (fd >= 0 && mode >= 0 && fchmod(fd, (mode_t)mode) != 0) {
            close(fd);
            fd = -1;
            unlink(aside);
        }
        if (fd >= 0 && !(w.f = fdopen(fd, "w+b"))) {
            close(fd);
            unlink(aside);
        }
        if (!w.f) {
            free(aside);
            aside = NULL;
        }
        created = mode < 0;
    } else if (!w.f &&
               errno == ENOENT) { /* a new file: owner-only until it takes the store's mode */
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0 && !(w.f = fdopen(fd, "w+b")))
            close(fd);
        created = w.f != NULL;
    }
    if (!w.f || !w.h) {
        rc = w.f ? eg_error_set(EG_ENOMEM, "out of memory writing a snapshot")
                 : eg_error_set(EG_EIO, "could not write the snapshot %s: %s", path,
                                strerror(errno));
        goto done;
    }
    XXH3_64bits_reset(w.h);
    header h = {.version = VERSION, .key = *key}, cleared;
    memcpy(h.magic, MAGIC, sizeof h.magic);
    sizes_of(h.sizes);
    build_of(h.build);
    cleared = h;
    memset(cleared.magic, 0, sizeof cleared.magic);
    if (fwrite(&cleared, sizeof cleared, 1, w.f) != 1 || fflush(w.f) != 0)
        w.err = true;
    w_sum(&w, &h, sizeof h);
    if ((rc = write_model(&w, md)))
        goto done;
    if (w.pos % SUM_BLOCK)
        w_block_end(&w); /* the last, shorter block */
    uint64_t sum[2] = {w.blocks ? XXH3_64bits(w.blocks, w.nblocks * sizeof *w.blocks) : 0,
                       SUM_BLOCK};
    if (!w.err && fwrite(sum, sizeof sum, 1, w.f) != 1)
        w.err = true;
    long end = w.err ? -1 : ftell(w.f);
    if (end < 0 || fflush(w.f) != 0 || ftruncate(fileno(w.f), (off_t)end) != 0 ||
        fseek(w.f, 0, SEEK_SET) != 0 || fwrite(&h, sizeof h, 1, w.f) != 1)
        w.err = true;
    if (created && !w.err)
        take_store_mode(fileno(w.f), path);
    int err = errno; /* (the first failure's, for the message) */
    /* A write that failed gives the space it took back (on a full disk the store needs it):
     * a file it made goes, one it wrote over in place is emptied (refused as its cleared
     * header was). */
    if (w.err && !aside && !created)
        (void)ftruncate(fileno(w.f), 0);
    /* a new file takes path's place before it is closed (which unlocks it) */
    if (aside && !w.err && (fflush(w.f) != 0 || rename(aside, path) != 0)) {
        w.err = true;
        err = errno;
    }
    if (fclose(w.f) != 0 && !w.err) {
        w.err = true;
        err = errno;
    }
    w.f = NULL;
    if (aside && w.err)
        unlink(aside);
    if (w.err && created && !aside)
        unlink(path);
    if (w.err)
        rc = eg_error_set(EG_EIO, "could not write the snapshot %s: %s", path, strerror(err));
done:
    if (w.f) { /* (an error on the way) */
        fclose(w.f);
        if (aside)
            unlink(aside);
    }
    free(aside);
    free(w.blocks);
    XXH3_freeState(w.h);
    return rc;
}

/* ---- reading ---- */

/* An array or a block of lists that the reader maps instead of copying: where its pointer and
 * capacity go, and where its bytes are in the file. */
typedef struct mreq {
    void **dst;
    size_t *cap; /* NULL for a block of lists (they have no room to grow in place) */
    size_t off, bytes, sz;
} mreq;

enum { MAX_MAPPED = 24 };

typedef struct rd {
    const unsigned char *base; /* the whole file, mapped read-only */
    size_t size;               /* the bytes before the checksums */
    size_t at;
    bool err;
    size_t edges_off, edges_len; /* the memory graph's edges (their ends are checked) */
    mreq req[MAX_MAPPED];
    size_t nreq;
    uint32_t *post_slab, *ep_slab; /* (mapped blocks of lists, until each list points in) */
    size_t jr_base_cap;            /* (the model keeps none: jr_base never grows) */
} rd;

/* The checksum's blocks, digested by two threads: each takes the next block no one took. */
typedef struct sum_pool {
    const unsigned char *base;
    size_t size, nblocks;
    uint64_t *digest; /* each block's */
    atomic_size_t next;
} sum_pool;

static uint64_t r_u64(rd *r)
{
    uint64_t v = 0;
    if (r->err || r->size - r->at < sizeof v) {
        r->err = true;
        return 0;
    }
    memcpy(&v, r->base + r->at, sizeof v);
    r->at += sizeof v;
    return v;
}

/* the next count of sz-byte elements, checked against the bytes left */
static size_t r_count(rd *r, size_t sz)
{
    uint64_t k = r_u64(r);
    if (r->err || k > (r->size - r->at) / sz) {
        r->err = true;
        return 0;
    }
    return (size_t)k;
}

static void r_pad(rd *r)
{
    size_t to = (r->at + SNAP_PAGE - 1) & ~(size_t)(SNAP_PAGE - 1);
    if (r->err || to > r->size)
        r->err = true;
    else
        r->at = to;
}

/* an array of *n elements of sz bytes, copied into an allocation (never NULL unless r->err) */
static void *r_arr(rd *r, size_t *n, size_t sz)
{
    size_t k = r_count(r, sz);
    void *p = r->err ? NULL : malloc(k ? k * sz : 1);
    if (!p) {
        r->err = true;
        *n = 0;
        return NULL;
    }
    memcpy(p, r->base + r->at, k * sz);
    r->at += k * sz;
    *n = k;
    return p;
}

/* n elements of sz bytes from a page boundary, to be mapped at *dst (with room to grow, its
 * capacity in *cap; a block of lists has cap NULL) */
static void r_mapped(rd *r, void **dst, size_t *cap, size_t n, size_t sz)
{
    r_pad(r);
    if (r->err || n > (r->size - r->at) / sz || r->nreq == MAX_MAPPED) {
        r->err = true;
        return;
    }
    r->req[r->nreq++] = (mreq){.dst = dst, .cap = cap, .off = r->at, .bytes = n * sz, .sz = sz};
    r->at += n * sz;
}

/* an array as w_marr wrote it: its count in *n */
static void r_marr(rd *r, void **dst, size_t *n, size_t *cap, size_t sz)
{
    *n = r_count(r, sz);
    r_mapped(r, dst, cap, *n, sz);
}

/* the sum of a count array's elements, checked against the bytes left for sz-byte elements */
static size_t r_total(rd *r, const uint32_t *counts, size_t n, size_t sz)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n && !r->err; i++)
        if ((total += counts[i]) > (r->size - r->at) / sz)
            r->err = true;
    return r->err ? 0 : (size_t)total;
}

static void sum_blocks(sum_pool *p)
{
    size_t j;
    while ((j = atomic_fetch_add(&p->next, 1)) < p->nblocks) {
        size_t off = j * SUM_BLOCK, n = p->size - off < SUM_BLOCK ? p->size - off : SUM_BLOCK;
        p->digest[j] = XXH3_64bits(p->base + off, n);
    }
}

static void *sum_main(void *ud)
{
    sum_blocks(ud);
    return NULL;
}

/* a graph; its pair index is built only when with_map (eg_graph.no_map otherwise); edges: where
 * its edges are goes in r (the memory graph's: their ends are checked without an index) */
static int read_graph(rd *r, eg_graph *g, bool with_map, bool edges)
{
    size_t nodes;
    g->n = r_count(r, sizeof *g->e);
    r_mapped(r, (void **)&g->e, &g->cap, g->n, sizeof *g->e);
    if (edges && !r->err) {
        r->edges_off = r->at - g->n * sizeof *g->e;
        r->edges_len = g->n * sizeof *g->e;
    }
    g->adj_n = r_arr(r, &nodes, sizeof *g->adj_n);
    if (r->err)
        return 0;
    g->adj = calloc(nodes ? nodes : 1, sizeof *g->adj);
    g->adj_cap = calloc(nodes ? nodes : 1, sizeof *g->adj_cap);
    if (!g->adj || !g->adj_cap)
        return eg_error_set(EG_ENOMEM, "out of memory reading a snapshot");
    g->nodes = nodes;
    /* the lists lie one after the other: one block, each list a part of it (eg_graph.adj_slab,
     * pointed into once it is mapped) */
    r_mapped(r, (void **)&g->adj_slab, NULL, r_total(r, g->adj_n, nodes, sizeof **g->adj),
             sizeof **g->adj);
    g->no_map = !with_map;
    return 0;
}

/* the concept graph's pair index, from its mapped edges (the memory graph goes without) */
static int index_graph(rd *r, eg_graph *g)
{
    if (eg_pairmap_reserve(&g->map, g->n))
        return EG_ENOMEM;
    enum { AHEAD = 16 }; /* puts at random places: their slots fetched this many puts ahead */
    for (size_t k = 0; k < g->n && !r->err; k++) {
        const eg_edge *e = &g->e[k];
        if (k + AHEAD < g->n)
            eg_pairmap_prefetch(&g->map, g->e[k + AHEAD].a, g->e[k + AHEAD].b);
        if (e->a >= g->nodes || e->b >= g->nodes)
            r->err = true;
        else if (eg_pairmap_put(&g->map, e->a, e->b, (uint32_t)k))
            return EG_ENOMEM;
    }
    return 0;
}

/* a set of communities: the labels, then the hub flags (none when there were no communities) */
static void r_communities(rd *r, eg_communities *c)
{
    size_t n = 0;
    c->label = r_arr(r, &c->n, sizeof *c->label);
    c->hub = r_arr(r, &n, sizeof *c->hub);
    if (!r->err && n != c->n && n != 0)
        r->err = true;
    if (!n) { /* there were no communities */
        free(c->hub);
        c->hub = NULL;
        if (!c->n) {
            free(c->label);
            c->label = NULL;
        }
    }
}

/* Everything but the mapped arrays, which are only located (r->req). */
static int read_model(rd *r, eg_model *md)
{
    size_t n;
    int rc;
    r_marr(r, (void **)&md->m, &md->n, &md->cap, sizeof *md->m);
    n = r_count(r, 1); /* the ids and concept names, appended from the file as they are */
    if (!r->err && eg_buf_append(&md->text, r->base + r->at, n))
        return eg_error_set(EG_ENOMEM, "out of memory reading a snapshot");
    r->at += r->err ? 0 : n;
    r_marr(r, (void **)&md->mc, &md->nmc, &md->capmc, sizeof *md->mc);
    md->concept_name = r_arr(r, &md->nconcepts, sizeof *md->concept_name);
    md->capconcepts = md->nconcepts;
    md->post_n = r_arr(r, &n, sizeof *md->post_n);
    if (r->err || n != md->nconcepts)
        return r->err = true, 0;
    md->postings = calloc(n ? n : 1, sizeof *md->postings);
    md->post_cap = calloc(n ? n : 1, sizeof *md->post_cap);
    if (!md->postings || !md->post_cap)
        return eg_error_set(EG_ENOMEM, "out of memory reading a snapshot");
    r_mapped(r, (void **)&r->post_slab, NULL, r_total(r, md->post_n, n, sizeof **md->postings),
             sizeof **md->postings);
    md->intern = r_arr(r, &md->intern_cap, sizeof *md->intern);
    r_marr(r, (void **)&md->pres, &md->npres, &md->cappres, sizeof *md->pres);
    if ((rc = read_graph(r, &md->assoc, false, true)) ||
        (rc = read_graph(r, &md->concepts, true, false)))
        return rc;
    md->ep = r_arr(r, &md->nep, sizeof *md->ep);
    md->capep = md->nep;
    uint64_t nec = 0;
    for (size_t k = 0; k < md->nep && !r->err; k++) {
        md->ep[k].concepts = NULL; /* nothing of the writer's pointers survives */
        md->ep[k].capconcepts = 0; /* (in the mapped block, once it is) */
        if ((nec += md->ep[k].nconcepts) > (r->size - r->at) / sizeof(uint32_t))
            r->err = true;
    }
    r_mapped(r, (void **)&r->ep_slab, NULL, (size_t)nec, sizeof(uint32_t));
    /* journeys: each memory's number of lines, the lines since go in jr */
    r_marr(r, (void **)&md->jr_base, &md->njr_base, &r->jr_base_cap, sizeof *md->jr_base);
    if (!r->err && md->njr_base != md->n)
        r->err = true;
    md->cr = r_arr(r, &md->ncr, sizeof *md->cr);
    md->capcr = md->ncr;
    r_communities(r, &md->comm);
    r_communities(r, &md->comm_now);
    md->ltm_cat = r_arr(r, &md->nltm_cat, sizeof *md->ltm_cat);
    md->stm = r_arr(r, &md->nstm, sizeof *md->stm);
    md->capstm = md->nstm;
    r_marr(r, (void **)&md->enc, &md->nenc, &md->capenc, sizeof *md->enc);
    r_marr(r, (void **)&md->rep, &md->nrep, &md->caprep, sizeof *md->rep);
    int64_t *sc = r_arr(r, &n, sizeof *sc);
    if (r->err || n != 17) {
        free(sc);
        return r->err = true, 0;
    }
    eg_engine_state *g = &md->eng;
    md->nconsolidated = sc[0];
    g->started = sc[1] != 0;
    g->last = sc[2];
    g->t_cons = sc[3];
    g->t_rem = sc[4];
    g->t_homeo = sc[5];
    g->nheld = (size_t)sc[6];
    g->lo = (size_t)sc[7];
    g->hi = (size_t)sc[8];
    g->tickno = (uint32_t)sc[9];
    md->ticks = sc[10];
    md->replays_done = sc[11];
    md->rem_phases = sc[12];
    md->homeostasis_phases = sc[13];
    md->max_held = sc[14];
    g->sorted = (size_t)sc[15] <= md->n ? (size_t)sc[15] : 0;
    g->active = sc[16];
    free(sc);
    g->held = r_arr(r, &g->capheld, sizeof *g->held);
    if (!r->err && (g->nheld > g->capheld || g->lo > g->hi || g->hi > md->npres))
        r->err = true;
    return 0;
}

/* Room to grow in place for an array of `bytes`: half as much again, at least 64 elements. */
static size_t room_of(const mreq *q)
{
    size_t room = q->bytes / 2;
    return room > 64 * q->sz ? room : 64 * q->sz;
}

static size_t page_up(size_t n)
{
    return (n + SNAP_PAGE - 1) & ~(size_t)(SNAP_PAGE - 1);
}

/* Gives each located array its place in one region: the file's pages mapped copy-on-write
 * (pages the run never writes stay the page cache's, so nothing is copied for them), then
 * anonymous room to grow. Without mapping (map false, or pages of another size) the region is
 * one allocation the arrays are copied into. The region is the model's (eg_model.snap). */
static int place_arrays(rd *r, eg_model *md, int fd, bool map)
{
    size_t total = 0;
    for (size_t i = 0; i < r->nreq; i++)
        total += page_up(r->req[i].bytes) + (r->req[i].cap ? page_up(room_of(&r->req[i])) : 0);
    if (!total)
        total = SNAP_PAGE;
    map = map && sysconf(_SC_PAGESIZE) == SNAP_PAGE;
    unsigned char *base = NULL;
    if (map) {
        void *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        base = p == MAP_FAILED ? NULL : p;
        for (size_t i = 0, at = 0; base && i < r->nreq; i++) {
            const mreq *q = &r->req[i];
            if (q->bytes && mmap(base + at, page_up(q->bytes), PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_FIXED, fd, (off_t)q->off) == MAP_FAILED) {
                munmap(base, total);
                base = NULL;
            }
            at += page_up(q->bytes) + (q->cap ? page_up(room_of(q)) : 0);
        }
        map = base != NULL;
    }
    if (!map && !(base = malloc(total)))
        return eg_error_set(EG_ENOMEM, "out of memory reading a snapshot");
    md->snap = (eg_span){(uintptr_t)base, (uintptr_t)base + total};
    md->snap_map = base;
    md->snap_len = total;
    md->snap_mapped = map;
    md->assoc.snap = md->concepts.snap = md->snap;
    for (size_t i = 0, at = 0; i < r->nreq; i++) {
        const mreq *q = &r->req[i];
        if (!map)
            memcpy(base + at, r->base + q->off, q->bytes);
        *q->dst = base + at;
        if (map && q->dst == (void **)&md->m) {
            md->snap_m = md->m;
            md->snap_m_off = q->off;
            md->snap_m_n = q->bytes / q->sz;
        }
        at += page_up(q->bytes);
        if (q->cap) {
            at += page_up(room_of(q));
            *q->cap = (page_up(q->bytes) + page_up(room_of(q))) / q->sz;
        }
    }
    return 0;
}

/* each list of the mapped blocks: a part of its block, without a capacity of its own */
static void point_lists(rd *r, eg_model *md)
{
    eg_graph *gs[2] = {&md->assoc, &md->concepts};
    for (int k = 0; k < 2; k++) {
        eg_graph *g = gs[k];
        for (size_t i = 0, at = 0; i < g->nodes; at += g->adj_n[i++])
            g->adj[i] = g->adj_n[i] ? g->adj_slab + at : NULL;
    }
    for (size_t c = 0, at = 0; c < md->nconcepts; at += md->post_n[c++])
        md->postings[c] = md->post_n[c] ? r->post_slab + at : NULL;
    for (size_t k = 0, at = 0; k < md->nep; at += md->ep[k++].nconcepts)
        md->ep[k].concepts = md->ep[k].nconcepts ? r->ep_slab + at : NULL;
}

static bool header_ok(const header *h)
{
    header want = {.version = VERSION};
    memcpy(want.magic, MAGIC, sizeof want.magic);
    sizes_of(want.sizes);
    build_of(want.build);
    return !memcmp(h->magic, want.magic, sizeof h->magic) && h->version == want.version &&
           !memcmp(h->sizes, want.sizes, sizeof h->sizes) &&
           !memcmp(h->build, want.build, sizeof h->build);
}

/* Opens path for reading into *fd: only a regular file (O_NONBLOCK: a named pipe is refused at
 * once instead of waited on until something writes into it). */
static int open_regular(int *fd, struct stat *sb, const char *path)
{
    if ((*fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
        return errno == ENOENT ? eg_error_set(EG_ENOTFOUND, "no snapshot %s", path)
                               : eg_error_set(EG_EIO, "could not read the snapshot %s: %s", path,
                                              strerror(errno));
    if (fstat(*fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        close(*fd);
        *fd = -1;
        return eg_error_set(EG_EBADINPUT, "the snapshot %s is not a regular file", path);
    }
    return 0;
}

int eg_snapshot_read_key(eg_snapshot_key *key, const char *path)
{
    struct stat sb;
    int fd, rc = open_regular(&fd, &sb, path);
    if (rc)
        return rc;
    header h;
    bool ok = pread(fd, &h, sizeof h, 0) == (ssize_t)sizeof h && header_ok(&h);
    close(fd);
    if (!ok)
        return eg_error_set(EG_EBADINPUT, "the snapshot %s is from another engram version", path);
    *key = h.key;
    return 0;
}

int eg__snapshot_read(eg_model *md, eg_snapshot_key *key, const char *path, bool map)
{
    rd r = {0};
    sum_pool pool = {0};
    pthread_t sum_thread;
    bool summing = false;
    int rc = 0;
    struct stat sb;
    size_t file = 0;
    void *all = MAP_FAILED;
    int fd;
    if ((rc = open_regular(&fd, &sb, path)))
        goto done;
    /* Shared while it is read, and while the model maps it (the model keeps the descriptor:
     * eg_model_free closes it): a writer then writes a new file instead of this one
     * (eg_snapshot_write), so the pages the model has not copied neither change nor go past the
     * end of a file written shorter (SIGBUS); and a file being written in place is refused, not
     * read. */
    if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        rc = eg_error_set(EG_EBADINPUT, "the snapshot %s is being written", path);
        goto done;
    }
    file = (size_t)sb.st_size;
    if (file < sizeof(header) + 2 * sizeof(uint64_t)) {
        rc = eg_error_set(EG_EBADINPUT, "the snapshot %s is truncated", path);
        goto done;
    }
    /* the whole file, read-only: its checksums are computed from it, and the small arrays
     * copied out of it. Not MAP_POPULATE: faulting 800 MB in at once held the process's memory
     * map lock for that long, and the ingest beside this read waited for it at each allocation
     * that grew the heap (the next-day run at 1M: ingest 142-163 ms with it, 79-112 without) */
    all = mmap(NULL, file, PROT_READ, MAP_SHARED, fd, 0);
    if (all == MAP_FAILED) {
        rc = eg_error_set(EG_EIO, "could not read the snapshot %s: %s", path, strerror(errno));
        goto done;
    }
    r.base = all;
    r.size = file - 2 * sizeof(uint64_t);
    header h;
    memcpy(&h, r.base, sizeof h);
    r.at = sizeof h;
    if (!header_ok(&h)) {
        rc = eg_error_set(EG_EBADINPUT, "the snapshot %s is from another engram version", path);
        goto done;
    }
    /* the checksum's blocks: a second thread begins while this one reads the arrays, and
     * this one helps once it has */
    pool.base = r.base;
    pool.size = r.size;
    pool.nblocks = (r.size + SUM_BLOCK - 1) / SUM_BLOCK;
    if (!(pool.digest = malloc((pool.nblocks ? pool.nblocks : 1) * sizeof *pool.digest))) {
        rc = eg_error_set(EG_ENOMEM, "out of memory reading a snapshot");
        goto done;
    }
    summing = pthread_create(&sum_thread, NULL, sum_main, &pool) == 0;
    if ((rc = read_model(&r, md)))
        goto done;
    if (r.err || r.at != r.size) {
        rc = eg_error_set(EG_EBADINPUT, "the snapshot %s is damaged", path);
        goto done;
    }
    { /* the memory graph's edges are between its nodes (it has no index to check them) */
        const eg_edge *e = (const eg_edge *)(const void *)(r.base + r.edges_off);
        size_t n = r.edges_len / sizeof *e, nodes = md->assoc.nodes;
        bool ok = true;
        for (size_t k = 0; k < n; k++)
            ok &= e[k].a < nodes && e[k].b < nodes;
        r.err = !ok;
    }
    sum_blocks(&pool);
    if (summing) {
        pthread_join(sum_thread, NULL);
        summing = false;
    }
    uint64_t want[2];
    memcpy(want, r.base + r.size, sizeof want);
    if (r.err || want[1] != SUM_BLOCK ||
        XXH3_64bits(pool.digest, pool.nblocks * sizeof *pool.digest) != want[0]) {
        rc = eg_error_set(EG_EBADINPUT, "the snapshot %s is damaged", path);
        goto done;
    }
    if ((rc = place_arrays(&r, md, fd, map)))
        goto done;
    /* (the lock goes with the open file, which the mappings reference too: kept open here so
     * that the model visibly holds it until eg_model_free, whatever the mappings do) */
    if (md->snap_mapped) {
        md->snap_fd = fd;
        fd = -1;
    }
    point_lists(&r, md);
    if ((rc = index_graph(&r, &md->concepts)))
        goto done;
    if (r.err) { /* (a concept edge between nodes the graph does not have) */
        rc = eg_error_set(EG_EBADINPUT, "the snapshot %s is damaged", path);
        goto done;
    }
    *key = h.key;
done:
    if (summing) /* (an error while the second thread sums) */
        pthread_join(sum_thread, NULL);
    free(pool.digest);
    if (all != MAP_FAILED)
        munmap(all, file);
    if (fd >= 0)
        close(fd);
    if (rc) {
        eg_model_free(md);
        eg_model_init(md);
    }
    return rc;
}

int eg_snapshot_read(eg_model *md, eg_snapshot_key *key, const char *path)
{
    return eg__snapshot_read(md, key, path, true);
}
