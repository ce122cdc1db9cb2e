/*
 * long_term.c — the neocortical semantic network (SPEC §7.4), computed at `now` for every
 * consolidated memory, and the concept communities it is organised by.
 *
 * Communities: label propagation on the live concept graph, nodes in id order, each taking the
 * label with the largest total edge weight among its neighbours (ties: smallest label), until
 * stable or 20 rounds; only each node's 5 strongest edges vote, and hub concepts (in more than
 * 5 % of the memories presented by the time the communities are computed) neither take nor pass
 * labels, like stopwords; a community is named by its most central concept (largest weighted
 * degree, ties: smallest id). A memory's semantic category is the community most of its concepts
 * belong to. Then per memory: knowledge type and cortical region (procedural → motor, else the
 * feature's region hint), abstraction level, minicolumn = xxh64(category "::" region) % 1000,
 * macrocolumn = xxh64(region) % 100, column rank by consolidated strength within (category,
 * region), retrieval strength (0.3·consolidated + 0.2/√rank
 * + 0.3·exp(−age since consolidation / 30 d)
 *    + 0.2·ln(1 + recalls)/ln(100)) · damping,
 * memory age bucket and consolidation state.
 */
#include "stage/engine.h"

#include "engram/error.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static const char *const regions[] = {"association", "motor", "sensory", "prefrontal"};

enum { TOP_EDGES = 5 };

bool eg__is_hub(const eg_model *md, uint32_t c)
{
    return c < md->comm.n && md->comm.hub[c];
}

/* memories of a concept presented by `at`: its postings are in time order (the engine sorts
 * them) */
static size_t postings_by(const eg_model *md, uint32_t c, int64_t at)
{
    size_t lo = 0, hi = md->post_n[c];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (md->m[md->postings[c][mid]].t0 <= at)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int eg__communities(eg_model *md, int64_t at)
{
    const eg_graph *g = &md->concepts;
    size_t nc = md->nconcepts;
    uint32_t *label = malloc((nc ? nc : 1) * sizeof *label);
    uint8_t *hub = calloc(nc ? nc : 1, sizeof *hub);
    double *acc = calloc(nc ? nc : 1, sizeof *acc), *deg = calloc(nc ? nc : 1, sizeof *deg);
    uint32_t *touched = malloc((nc ? nc : 1) * sizeof *touched);
    size_t *vote_off = NULL, cap_votes = 0, cap_w = 0; /* CSR: node -> its voting edges */
    uint32_t *vote_other = NULL;
    float *vote_w = NULL;
    int rc = 0;
    if (!label || !hub || !acc || !deg || !touched) {
        rc = eg_error_set(EG_ENOMEM, "out of memory finding communities");
        goto done;
    }
    /* hubs: a concept in more than 5 % of the memories presented by then (and more than 20) is
     * too general to shape communities: like a stopword, it would pull every memory into one
     * category. Counted at `at`, not over memories still to come, so that a run in steps and
     * one run agree. */
    {
        size_t seen = 0;
        for (size_t i = 0; i < md->n; i++)
            seen += md->m[i].t0 <= at;
        size_t limit = seen / 20 > 20 ? seen / 20 : 20;
        for (size_t c = 0; c < nc; c++)
            hub[c] = postings_by(md, (uint32_t)c, at) > limit;
    }
    eg__communities_free(&md->comm);
    md->comm.hub = hub; /* eg__is_hub reads it from here on */
    md->comm.n = nc;
    hub = NULL;
    /* the voters: only each node's strongest edges vote (on a dense graph every label would
     * otherwise spread everywhere: one giant community). They do not change between rounds, so
     * they are chosen once, in adjacency order: the rounds then cost O(nodes), not O(edges). */
    if (!(vote_off = malloc((nc + 1) * sizeof *vote_off))) {
        rc = eg_error_set(EG_ENOMEM, "out of memory finding communities");
        goto done;
    }
    vote_off[0] = 0;
    for (size_t c = 0; c < nc; c++) {
        vote_off[c + 1] = vote_off[c];
        if (c >= g->nodes || eg__is_hub(md, (uint32_t)c))
            continue; /* a hub is too general to belong to one community */
        float top[TOP_EDGES] = {0};
        for (uint32_t k = 0; k < g->adj_n[c]; k++) {
            const eg_edge *e = &g->e[g->adj[c][k]];
            uint32_t other = e->a == c ? e->b : e->a;
            if (e->dead || e->w <= 0 || eg__is_hub(md, other) || e->w <= top[TOP_EDGES - 1])
                continue;
            int p = TOP_EDGES - 1;
            while (p > 0 && top[p - 1] < e->w) {
                top[p] = top[p - 1];
                p--;
            }
            top[p] = e->w;
        }
        float cut = top[TOP_EDGES - 1];
        for (uint32_t k = 0; k < g->adj_n[c]; k++) {
            const eg_edge *e = &g->e[g->adj[c][k]];
            uint32_t other = e->a == c ? e->b : e->a;
            if (e->dead || e->w <= 0 || e->w < cut || eg__is_hub(md, other))
                continue;
            if (EG_GROW(vote_other, cap_votes, vote_off[c + 1] + 1) ||
                EG_GROW(vote_w, cap_w, vote_off[c + 1] + 1)) {
                rc = EG_ENOMEM;
                goto done;
            }
            vote_other[vote_off[c + 1]] = other;
            vote_w[vote_off[c + 1]++] = e->w;
        }
    }
    for (size_t c = 0; c < nc; c++)
        label[c] = (uint32_t)c;
    for (int round = 0; round < 20; round++) {
        bool changed = false;
        for (size_t c = 0; c < nc; c++) {
            size_t nt = 0;
            for (size_t v = vote_off[c]; v < vote_off[c + 1]; v++) {
                uint32_t l = label[vote_other[v]];
                if (acc[l] == 0)
                    touched[nt++] = l;
                acc[l] += vote_w[v];
            }
            uint32_t best = label[c];
            double bw = 0;
            for (size_t t = 0; t < nt; t++) {
                uint32_t l = touched[t];
                if (acc[l] > bw || (acc[l] == bw && l < best)) {
                    bw = acc[l];
                    best = l;
                }
            }
            for (size_t t = 0; t < nt; t++)
                acc[touched[t]] = 0;
            if (nt && best != label[c]) {
                label[c] = best;
                changed = true;
            }
        }
        if (!changed)
            break;
    }
    /* name each community by its most central concept */
    for (size_t k = 0; k < g->n; k++)
        if (!g->e[k].dead) {
            deg[g->e[k].a] += g->e[k].w;
            deg[g->e[k].b] += g->e[k].w;
        }
    uint32_t *central = touched; /* reuse: label -> central concept */
    for (size_t c = 0; c < nc; c++)
        central[c] = UINT32_MAX;
    for (size_t c = 0; c < nc; c++) {
        uint32_t l = label[c], cur = central[l];
        if (cur == UINT32_MAX || deg[c] > deg[cur] || (deg[c] == deg[cur] && c < cur))
            central[l] = (uint32_t)c;
    }
    for (size_t c = 0; c < nc; c++)
        label[c] = central[label[c]];
    md->comm.label = label;
    label = NULL;
done:
    free(vote_off);
    free(vote_other);
    free(vote_w);
    free(label);
    free(hub);
    free(acc);
    free(deg);
    free(touched);
    return rc;
}

double eg__retrieval_strength(const eg_model *md, uint32_t x, int rank, int64_t at)
{
    const eg_mem *m = &md->m[x];
    double age_days = (double)(at - m->consolidated_at) / (double)EG_USEC_PER_DAY;
    if (age_days < 0)
        age_days = 0;
    double rs = 0.3 * m->consolidated_strength + 0.2 / sqrt(rank > 0 ? rank : 1) +
                0.3 * exp(-age_days / 30.0) + 0.2 * log1p(m->recalls) / log(100.0);
    return rs * m->damping;
}

/* a concept's community; a concept first seen after the communities were computed is its own */
static uint32_t label_of(const eg_model *md, uint32_t c)
{
    return c < md->comm.n ? md->comm.label[c] : c;
}

/* the community most of x's concepts belong to (ties: smallest), UINT32_MAX if none: the
 * labels sorted, the longest run of one */
uint32_t eg__category_of(const eg_model *md, uint32_t x)
{
    const eg_mem *m = &md->m[x];
    if (!md->comm.label || !m->c_n)
        return UINT32_MAX;
    uint32_t stack[64], *ls = m->c_n <= 64 ? stack : malloc(m->c_n * sizeof *ls);
    if (!ls)
        return UINT32_MAX; /* (a memory with more than 64 concepts, and no memory left) */
    /* hubs vote only when the memory has nothing else */
    bool specific = false;
    for (uint16_t i = 0; i < m->c_n; i++)
        specific |= !eg__is_hub(md, md->mc[m->c_off + i]);
    size_t n = 0;
    for (uint16_t i = 0; i < m->c_n; i++) {
        uint32_t c = md->mc[m->c_off + i];
        if (specific && eg__is_hub(md, c))
            continue;
        uint32_t l = label_of(md, c);
        size_t j = n++;
        for (; j > 0 && ls[j - 1] > l; j--) /* insertion: a few dozen at most */
            ls[j] = ls[j - 1];
        ls[j] = l;
    }
    uint32_t best = UINT32_MAX;
    size_t bestn = 0;
    for (size_t s = 0, e; s < n; s = e) {
        for (e = s + 1; e < n && ls[e] == ls[s]; e++)
            ;
        if (e - s > bestn) { /* (ascending: the first longest run has the smallest label) */
            bestn = e - s;
            best = ls[s];
        }
    }
    if (ls != stack)
        free(ls);
    return best;
}

/* The order of the records: by column (category, region), strongest first, then by id. Each
 * record's column and strength are packed into one integer that sorts the same way (category
 * in the high bits, the strength's bits made to sort descending in the low ones), sorted by
 * radix; records with equal integers (equal strength in one column) are put in id order. */
typedef struct ltm_key {
    uint64_t v;
    uint64_t id8; /* the id's first 8 bytes, big-endian: orders as strcmp does on them */
    uint32_t k;   /* the record */
} ltm_key;

static uint64_t id_prefix(const char *id)
{
    uint64_t p = 0;
    int i = 0;
    for (; i < 8 && id[i]; i++)
        p = p << 8 | (unsigned char)id[i];
    return p << (8 * (8 - i)); /* a shorter id: padded with NULs, as strcmp sees its end */
}

static uint64_t pack_key(uint32_t category, uint8_t region, float strength)
{
    uint32_t bits;
    if (strength == 0)
        strength = 0; /* -0 sorts as 0 */
    memcpy(&bits, &strength, sizeof bits);
    bits = bits & 0x80000000u ? ~bits : bits | 0x80000000u; /* ascending as unsigned */
    uint64_t cat = category == UINT32_MAX ? 0x3fffffffu : category;
    return cat << 34 | (uint64_t)(region & 3) << 32 | (uint32_t)~bits;
}

static int cmp_ltm_id(const void *a, const void *b, void *arg)
{
    const eg_model *md = arg;
    const ltm_key *x = a, *y = b;
    if (x->id8 != y->id8)
        return x->id8 < y->id8 ? -1 : 1;
    return strcmp(eg_model_id(md, md->ltm[x->k].mem), eg_model_id(md, md->ltm[y->k].mem));
}

static int sort_ltm(const eg_model *md, ltm_key *a, size_t n)
{
    ltm_key *tmp = malloc((n ? n : 1) * sizeof *tmp);
    size_t *count = malloc(65537 * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return EG_ENOMEM;
    }
    for (int shift = 0; shift < 64 && n; shift += 16) { /* LSD, 16 bits at a time: stable */
        memset(count, 0, 65537 * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[((a[i].v >> shift) & 0xffff) + 1]++;
        if (count[((a[0].v >> shift) & 0xffff) + 1] == n)
            continue; /* one digit value: the pass would not move anything */
        for (size_t d = 1; d <= 65536; d++)
            count[d] += count[d - 1];
        for (size_t i = 0; i < n; i++)
            tmp[count[(a[i].v >> shift) & 0xffff]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
    free(tmp);
    free(count);
    for (size_t s = 0, e; s < n; s = e) {
        for (e = s + 1; e < n && a[e].v == a[s].v; e++)
            ;
        if (e - s > 1)
            qsort_r(a + s, e - s, sizeof *a, cmp_ltm_id, (void *)md);
    }
    return 0;
}

/* each memory's number of live associations of positive weight, in one pass over the edges
 * (in order: walking each memory's adjacency list reads the edges at random). An edge is in the
 * adjacency lists of both its ends, so a loop counts twice there and here. */
static uint32_t *degrees(const eg_model *md)
{
    const eg_graph *g = &md->assoc;
    size_t n = md->n > g->nodes ? md->n : g->nodes;
    uint32_t *d = calloc(n ? n : 1, sizeof *d);
    if (!d)
        return NULL;
    for (size_t k = 0; k < g->n; k++) {
        const eg_edge *e = &g->e[k];
        if (!e->dead && e->w > 0) {
            d[e->a]++;
            d[e->b]++;
        }
    }
    return d;
}

int eg__long_term(eg_model *md, const eg_config *cfg, int64_t now)
{
    (void)cfg;
    int rc = eg__communities(md, now);
    if (rc)
        return rc;
    free(md->ltm);
    md->ltm = NULL;
    md->nltm = 0;
    size_t n = 0;
    for (size_t i = 0; i < md->n; i++)
        n += md->m[i].status == EG_MS_CONSOLIDATED;
    if (!n)
        return 0;
    md->ltm = calloc(n, sizeof *md->ltm);
    if (!md->ltm)
        return eg_error_set(EG_ENOMEM, "out of memory building long-term memory");
    for (size_t i = 0; i < md->n; i++) {
        const eg_mem *m = &md->m[i];
        if (m->status != EG_MS_CONSOLIDATED)
            continue;
        eg_ltm *l = &md->ltm[md->nltm++];
        l->mem = (uint32_t)i;
        l->category = eg__category_of(md, (uint32_t)i);
        l->knowledge_type = m->knowledge_type < 3 ? m->knowledge_type : 0;
        l->region = l->knowledge_type == 1 ? 1 : (m->region < 4 ? m->region : 0);
        l->abstraction = m->abstraction ? m->abstraction : 3;
    }
    ltm_key *keys = malloc(md->nltm * sizeof *keys);
    eg_ltm *sorted = malloc(md->nltm * sizeof *sorted);
    uint32_t *deg = keys && sorted ? degrees(md) : NULL;
    if (!deg) {
        free(keys);
        free(sorted);
        return eg_error_set(EG_ENOMEM, "out of memory building long-term memory");
    }
    for (size_t k = 0; k < md->nltm; k++)
        keys[k] = (ltm_key){pack_key(md->ltm[k].category, md->ltm[k].region,
                                     md->m[md->ltm[k].mem].consolidated_strength),
                            id_prefix(eg_model_id(md, md->ltm[k].mem)), (uint32_t)k};
    if (md->nconcepts >= 0x3fffffffu || sort_ltm(md, keys, md->nltm)) {
        free(keys);
        free(sorted);
        free(deg);
        return eg_error_set(md->nconcepts >= 0x3fffffffu ? EG_EBADINPUT : EG_ENOMEM,
                            "could not order the long-term records (%zu concepts)", md->nconcepts);
    }
    for (size_t k = 0; k < md->nltm; k++)
        sorted[k] = md->ltm[keys[k].k];
    free(md->ltm);
    md->ltm = sorted;
    free(keys);
    int macro[4];
    for (int r = 0; r < 4; r++)
        macro[r] = (int)(XXH64(regions[r], strlen(regions[r]), 0) % 100);
    char key[600];
    int minicolumn = 0;
    for (size_t k = 0; k < md->nltm; k++) {
        eg_ltm *l = &md->ltm[k];
        const eg_mem *m = &md->m[l->mem];
        bool first =
            k == 0 || md->ltm[k - 1].category != l->category || md->ltm[k - 1].region != l->region;
        l->column_rank = first ? 1 : md->ltm[k - 1].column_rank + 1;
        if (first) { /* one digest per column */
            const char *cat = l->category == UINT32_MAX ? "" : eg_model_concept(md, l->category);
            int len = snprintf(key, sizeof key, "%s::%s", cat, regions[l->region]);
            minicolumn =
                (int)(XXH64(key, (size_t)(len < (int)sizeof key ? len : (int)sizeof key - 1), 0) %
                      1000);
        }
        l->minicolumn = minicolumn;
        l->macrocolumn = macro[l->region];
        l->retrieval_strength = eg__retrieval_strength(md, l->mem, l->column_rank, now);
        int64_t age = now - m->t0;
        l->memory_age = age < EG_USEC_PER_DAY        ? "recent"
                        : age < 7 * EG_USEC_PER_DAY  ? "week_old"
                        : age < 30 * EG_USEC_PER_DAY ? "month_old"
                                                     : "remote";
        l->state = l->abstraction >= 4   ? "schematized"
                   : deg[l->mem] > 5     ? "integrated"
                   : l->abstraction >= 3 ? "semantic"
                                         : "episodic_trace";
    }
    free(deg);
    return 0;
}
