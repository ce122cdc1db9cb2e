/*
 * snapshot.c — the model's simulation state as a file.
 *
 * Layout: a header (magic, format version, the sizes of the structs written as they are in
 * memory, a digest of the sources it was built from, the caller's key), then the model's arrays in
 * a fixed order, each as a 64-bit count and its elements, then an XXH3-64 checksum of everything
 * before it but the memory graph's edges, and one of those (a second thread reads them).
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
 * Reading trusts no count: each is checked against the bytes left in the file before anything
 * is allocated.
 */
#include "core/snapshot.h"

#include "build_id.h" /* EG_BUILD_ID, generated from the sources by cmake/build_id.cmake */
#include "engram/error.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
 * this one's) */
#define VERSION 8

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

int eg_snapshot_path(const char *store_path, char *buf, size_t n)
{
    int len = snprintf(buf, n, "%s-snapshot", store_path);
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
    XXH3_state_t *h;
    uint64_t side_sum; /* the XXH3-64 of the memory graph's edges (read on a second thread) */
    bool err;
} wr;

static void w_bytes(wr *w, const void *p, size_t n)
{
    if (w->err || !n)
        return;
    if (fwrite(p, 1, n, w->f) != n)
        w->err = true;
    XXH3_64bits_update(w->h, p, n);
}

/* bytes the reader takes on a second thread: in the file in place, outside the running
 * checksum, with their own */
static void w_side(wr *w, const void *p, size_t n)
{
    w->side_sum = XXH3_64bits(p, n);
    if (!w->err && n && fwrite(p, 1, n, w->f) != n)
        w->err = true;
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

/* a graph; side: its edges as w_side writes them */
static void w_graph(wr *w, const eg_graph *g, bool side)
{
    w_u64(w, g->n);
    if (side)
        w_side(w, g->e, g->n * sizeof *g->e);
    else
        w_bytes(w, g->e, g->n * sizeof *g->e);
    w_arr(w, g->adj_n, g->nodes, sizeof *g->adj_n);
    for (size_t i = 0; i < g->nodes; i++)
        w_bytes(w, g->adj[i], g->adj_n[i] * sizeof **g->adj);
}

static int write_model(wr *w, const eg_model *md)
{
    w_arr(w, md->m, md->n, sizeof *md->m);
    w_arr(w, md->text.data, md->text.len, 1);
    w_arr(w, md->mc, md->nmc, sizeof *md->mc);
    w_arr(w, md->concept_name, md->nconcepts, sizeof *md->concept_name);
    w_arr(w, md->post_n, md->nconcepts, sizeof *md->post_n);
    for (size_t c = 0; c < md->nconcepts; c++)
        w_bytes(w, md->postings[c], md->post_n[c] * sizeof **md->postings);
    w_arr(w, md->intern, md->intern_cap, sizeof *md->intern);
    w_arr(w, md->pres, md->npres, sizeof *md->pres);
    w_graph(w, &md->assoc, true);
    w_graph(w, &md->concepts, false);
    w_arr(w, md->ep, md->nep, sizeof *md->ep);
    for (size_t k = 0; k < md->nep; k++)
        w_bytes(w, md->ep[k].concepts, md->ep[k].nconcepts * sizeof *md->ep[k].concepts);
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
    w_arr(w, lines, md->n, sizeof *lines);
    free(lines);
    w_arr(w, md->cr, md->ncr, sizeof *md->cr);
    w_arr(w, md->comm.label, md->comm.n, sizeof *md->comm.label);
    w_arr(w, md->comm.hub, md->comm.hub ? md->comm.n : 0, sizeof *md->comm.hub);
    w_arr(w, md->comm_now.label, md->comm_now.n, sizeof *md->comm_now.label);
    w_arr(w, md->comm_now.hub, md->comm_now.hub ? md->comm_now.n : 0, sizeof *md->comm_now.hub);
    w_arr(w, md->ltm_cat, md->ltm_cat ? md->nltm_cat : 0, sizeof *md->ltm_cat);
    w_arr(w, md->stm, md->nstm, sizeof *md->stm);
    w_arr(w, md->enc, md->nenc, sizeof *md->enc);
    w_arr(w, md->rep, md->nrep, sizeof *md->rep);
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
    static const char suffix[] = "-snapshot";
    size_t n = strlen(path), k = sizeof suffix - 1;
    struct stat sb;
    if (n <= k || strcmp(path + n - k, suffix))
        return;
    char *store = strndup(path, n - k);
    if (store && stat(store, &sb) == 0)
        (void)fchmod(fd, sb.st_mode & 0666);
    free(store);
}

int eg_snapshot_write(const eg_model *md, const eg_snapshot_key *key, const char *path)
{
    int rc = 0;
    /* Overwritten in place: the pages of the last snapshot are in the page cache, and writing
     * over them is about twice as fast as writing a new file. The header goes first with its
     * magic cleared and last as it is, so that until the write is complete the file is
     * refused whole (a reader then replays the history); the checksum covers the rest. */
    wr w = {.f = fopen(path, "r+b"), .h = XXH3_createState()};
    bool created = false;
    if (!w.f && errno == ENOENT) { /* a new file: owner-only until it takes the store's mode */
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
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
    XXH3_64bits_update(w.h, &h, sizeof h);
    if ((rc = write_model(&w, md)))
        goto done;
    uint64_t sum[2] = {XXH3_64bits_digest(w.h), w.side_sum};
    if (!w.err && fwrite(sum, sizeof sum, 1, w.f) != 1)
        w.err = true;
    long end = w.err ? -1 : ftell(w.f);
    if (end < 0 || fflush(w.f) != 0 || ftruncate(fileno(w.f), (off_t)end) != 0 ||
        fseek(w.f, 0, SEEK_SET) != 0 || fwrite(&h, sizeof h, 1, w.f) != 1)
        w.err = true;
    if (created && !w.err)
        take_store_mode(fileno(w.f), path);
    if (fclose(w.f) != 0)
        w.err = true;
    w.f = NULL;
    if (w.err)
        rc = eg_error_set(EG_EIO, "could not write the snapshot %s: %s", path, strerror(errno));
done:
    if (w.f)
        fclose(w.f);
    XXH3_freeState(w.h);
    return rc;
}

/* ---- reading ---- */

typedef struct rd {
    FILE *f;
    XXH3_state_t *h;
    uint64_t left; /* bytes before the checksums */
    bool err;
    /* the memory graph's edges, read by a second thread while this one reads on (the largest
     * array: 225 MB at 1M memories; the kernel's copy into new pages is most of a read) */
    struct {
        pthread_t thread;
        bool running, ok;
        void *p;
        size_t n;
        off_t at;
        int fd;
        uint64_t sum;
    } side;
} rd;

static void *side_main(void *ud)
{
    rd *r = ud;
    size_t done = 0;
    while (done < r->side.n) {
        ssize_t k =
            pread(r->side.fd, (char *)r->side.p + done, r->side.n - done, r->side.at + (off_t)done);
        if (k <= 0)
            return NULL; /* (ok stays false) */
        done += (size_t)k;
    }
    r->side.sum = XXH3_64bits(r->side.p, r->side.n);
    r->side.ok = true;
    return NULL;
}

/* n bytes into p on the second thread (or here, without one), the file skipped past them */
static void r_side(rd *r, void *p, size_t n)
{
    long at;
    if (r->err || n > r->left || (at = ftell(r->f)) < 0 || fseek(r->f, (long)n, SEEK_CUR) != 0) {
        r->err = true;
        return;
    }
    r->left -= n;
    r->side.p = p;
    r->side.n = n;
    r->side.at = (off_t)at;
    r->side.fd = fileno(r->f);
    r->side.ok = false;
    r->side.running = pthread_create(&r->side.thread, NULL, side_main, r) == 0;
    if (!r->side.running)
        side_main(r);
}

/* waits for the second thread; whether it read its bytes and they have the sum written */
static bool r_side_end(rd *r, uint64_t sum)
{
    if (r->side.running) {
        pthread_join(r->side.thread, NULL);
        r->side.running = false;
    }
    return r->side.ok && r->side.sum == sum;
}

static void r_bytes(rd *r, void *p, size_t n)
{
    if (r->err || !n)
        return;
    if (n > r->left || fread(p, 1, n, r->f) != n) {
        r->err = true;
        return;
    }
    r->left -= n;
    XXH3_64bits_update(r->h, p, n);
}

static uint64_t r_u64(rd *r)
{
    uint64_t v = 0;
    r_bytes(r, &v, sizeof v);
    return v;
}

/* an array of *n elements of sz bytes, malloc'ed (never NULL unless r->err) */
static void *r_arr(rd *r, size_t *n, size_t sz)
{
    uint64_t k = r_u64(r);
    if (r->err || k > r->left / sz) {
        r->err = true;
        *n = 0;
        return NULL;
    }
    void *p = malloc(k ? (size_t)k * sz : 1);
    if (!p) {
        r->err = true;
        *n = 0;
        return NULL;
    }
    r_bytes(r, p, (size_t)k * sz);
    *n = (size_t)k;
    return p;
}

/* a graph; its pair index is built only when with_map (eg_graph.no_map otherwise); side: its
 * edges as w_side wrote them, read by r_side */
static int read_graph(rd *r, eg_graph *g, bool with_map, bool side)
{
    size_t nodes;
    if (side) {
        uint64_t k = r_u64(r);
        if (r->err || k > r->left / sizeof *g->e || !(g->e = malloc(k ? k * sizeof *g->e : 1))) {
            r->err = true;
            return 0;
        }
        g->n = (size_t)k;
        r_side(r, g->e, g->n * sizeof *g->e);
    } else {
        g->e = r_arr(r, &g->n, sizeof *g->e);
    }
    g->cap = g->n;
    g->adj_n = r_arr(r, &nodes, sizeof *g->adj_n);
    if (r->err)
        return 0;
    g->adj = calloc(nodes ? nodes : 1, sizeof *g->adj);
    g->adj_cap = calloc(nodes ? nodes : 1, sizeof *g->adj_cap);
    if (!g->adj || !g->adj_cap) {
        r->err = true;
        return 0;
    }
    g->nodes = nodes;
    /* the lists lie one after the other: one block, each list a part of it (eg_graph.adj_slab) */
    size_t total = 0;
    for (size_t i = 0; i < nodes; i++)
        total += g->adj_n[i];
    if (total > r->left / sizeof **g->adj ||
        !(g->adj_slab = malloc((total ? total : 1) * sizeof *g->adj_slab))) {
        r->err = true;
        return 0;
    }
    r_bytes(r, g->adj_slab, total * sizeof **g->adj);
    for (size_t i = 0, at = 0; i < nodes; at += g->adj_n[i++]) {
        g->adj[i] = g->adj_n[i] ? g->adj_slab + at : NULL;
        g->adj_cap[i] = 0;
    }
    if (!with_map) {
        g->no_map = true;
        /* (edges still being read on the second thread are checked once it is done) */
        for (size_t k = 0; k < g->n && !r->err && !side; k++)
            r->err = g->e[k].a >= nodes || g->e[k].b >= nodes;
        return 0;
    }
    if (!r->err && eg_pairmap_reserve(&g->map, g->n))
        return EG_ENOMEM;
    enum { AHEAD = 16 }; /* puts at random places: their slots fetched this many puts ahead */
    for (size_t k = 0; k < g->n && !r->err; k++) {
        const eg_edge *e = &g->e[k];
        if (k + AHEAD < g->n)
            eg_pairmap_prefetch(&g->map, g->e[k + AHEAD].a, g->e[k + AHEAD].b);
        if (e->a >= nodes || e->b >= nodes)
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

static int read_model(rd *r, eg_model *md)
{
    size_t n;
    int rc;
    md->m = r_arr(r, &md->n, sizeof *md->m);
    md->cap = md->n;
    char *text = r_arr(r, &n, 1);
    if (text && eg_buf_append(&md->text, text, n)) {
        free(text);
        return eg_error_set(EG_ENOMEM, "out of memory reading a snapshot");
    }
    free(text);
    md->mc = r_arr(r, &md->nmc, sizeof *md->mc);
    md->capmc = md->nmc;
    md->concept_name = r_arr(r, &md->nconcepts, sizeof *md->concept_name);
    md->capconcepts = md->nconcepts;
    md->post_n = r_arr(r, &n, sizeof *md->post_n);
    if (r->err || n != md->nconcepts)
        return r->err = true, 0;
    md->postings = calloc(n ? n : 1, sizeof *md->postings);
    md->post_cap = calloc(n ? n : 1, sizeof *md->post_cap);
    if (!md->postings || !md->post_cap)
        return eg_error_set(EG_ENOMEM, "out of memory reading a snapshot");
    for (size_t c = 0; c < n && !r->err; c++) {
        if (md->post_n[c] > r->left / sizeof **md->postings)
            return r->err = true, 0;
        if (!(md->postings[c] = malloc(md->post_n[c] ? md->post_n[c] * sizeof **md->postings : 1)))
            return eg_error_set(EG_ENOMEM, "out of memory reading a snapshot");
        md->post_cap[c] = md->post_n[c];
        r_bytes(r, md->postings[c], md->post_n[c] * sizeof **md->postings);
    }
    md->intern = r_arr(r, &md->intern_cap, sizeof *md->intern);
    md->pres = r_arr(r, &md->npres, sizeof *md->pres);
    md->cappres = md->npres;
    if ((rc = read_graph(r, &md->assoc, false, true)) ||
        (rc = read_graph(r, &md->concepts, true, false)))
        return rc;
    md->ep = r_arr(r, &md->nep, sizeof *md->ep);
    md->capep = md->nep;
    for (size_t k = 0; k < md->nep; k++) /* nothing of the writer's pointers survives */
        md->ep[k].concepts = NULL;
    for (size_t k = 0; k < md->nep && !r->err; k++) {
        eg_episode *e = &md->ep[k];
        if (e->nconcepts > r->left / sizeof *e->concepts)
            return r->err = true, 0;
        if (!(e->concepts = malloc(e->nconcepts ? e->nconcepts * sizeof *e->concepts : 1)))
            return eg_error_set(EG_ENOMEM, "out of memory reading a snapshot");
        e->capconcepts = e->nconcepts;
        r_bytes(r, e->concepts, e->nconcepts * sizeof *e->concepts);
    }
    /* journeys: each memory's number of lines, the lines since go in jr */
    md->jr_base = r_arr(r, &md->njr_base, sizeof *md->jr_base);
    if (!r->err && md->njr_base != md->n)
        r->err = true;
    md->cr = r_arr(r, &md->ncr, sizeof *md->cr);
    md->capcr = md->ncr;
    r_communities(r, &md->comm);
    r_communities(r, &md->comm_now);
    md->ltm_cat = r_arr(r, &md->nltm_cat, sizeof *md->ltm_cat);
    md->stm = r_arr(r, &md->nstm, sizeof *md->stm);
    md->capstm = md->nstm;
    md->enc = r_arr(r, &md->nenc, sizeof *md->enc);
    md->capenc = md->nenc;
    md->rep = r_arr(r, &md->nrep, sizeof *md->rep);
    md->caprep = md->nrep;
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

int eg_snapshot_read_key(eg_snapshot_key *key, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno == ENOENT ? eg_error_set(EG_ENOTFOUND, "no snapshot %s", path)
                               : eg_error_set(EG_EIO, "could not read the snapshot %s: %s", path,
                                              strerror(errno));
    header h;
    bool ok = fread(&h, sizeof h, 1, f) == 1 && header_ok(&h);
    fclose(f);
    if (!ok)
        return eg_error_set(EG_EBADINPUT, "the snapshot %s is from another engram version", path);
    *key = h.key;
    return 0;
}

int eg_snapshot_read(eg_model *md, eg_snapshot_key *key, const char *path)
{
    rd r = {.f = fopen(path, "rb"), .h = XXH3_createState()};
    int rc = 0;
    if (!r.f || !r.h) {
        if (!r.h)
            rc = eg_error_set(EG_ENOMEM, "out of memory reading a snapshot");
        else if (errno == ENOENT)
            rc = eg_error_set(EG_ENOTFOUND, "no snapshot %s", path);
        else
            rc = eg_error_set(EG_EIO, "could not read the snapshot %s: %s", path, strerror(errno));
        goto done;
    }
    long size;
    if (fseek(r.f, 0, SEEK_END) != 0 || (size = ftell(r.f)) < 0 || fseek(r.f, 0, SEEK_SET) != 0) {
        rc = eg_error_set(EG_EIO, "could not read the snapshot %s: %s", path, strerror(errno));
        goto done;
    }
    if ((uint64_t)size < sizeof(header) + 2 * sizeof(uint64_t)) {
        rc = eg_error_set(EG_EBADINPUT, "the snapshot %s is truncated", path);
        goto done;
    }
    r.left = (uint64_t)size - 2 * sizeof(uint64_t);
    XXH3_64bits_reset(r.h);
    header h;
    r_bytes(&r, &h, sizeof h);
    if (r.err || !header_ok(&h)) {
        rc = eg_error_set(EG_EBADINPUT, "the snapshot %s is from another engram version", path);
        goto done;
    }
    if ((rc = read_model(&r, md)))
        goto done;
    uint64_t sum[2] = {0, 0};
    bool read = !r.err && r.left == 0 && fread(sum, sizeof sum, 1, r.f) == 1;
    if (!r_side_end(&r, sum[1]) || !read || sum[0] != XXH3_64bits_digest(r.h)) {
        rc = eg_error_set(EG_EBADINPUT, "the snapshot %s is damaged", path);
        goto done;
    }
    /* the memory graph's edges, now that they are read: between its nodes */
    for (size_t k = 0; k < md->assoc.n; k++)
        if (md->assoc.e[k].a >= md->assoc.nodes || md->assoc.e[k].b >= md->assoc.nodes) {
            rc = eg_error_set(EG_EBADINPUT, "the snapshot %s is damaged", path);
            goto done;
        }
    *key = h.key;
done:
    r_side_end(&r, 0); /* (an error on the way: the second thread is done before its array goes) */
    if (r.f)
        fclose(r.f);
    XXH3_freeState(r.h);
    if (rc) {
        eg_model_free(md);
        eg_model_init(md);
    }
    return rc;
}
