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
 * macrocolumn = xxh64(region) % 100 and consolidation state (integrated: more than 5 associates
 * at the deciding replay). What moves with now for nearly every record (the column rank by
 * consolidated strength within (category, region), the retrieval strength, the memory age
 * bucket) is computed when the store is read, at the last run's now (the `ltm` view,
 * docs/adr/0012); eg__retrieval_strength is the same formula for homeostasis.
 */
#include "stage/engine.h"

#include "engram/error.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static const char *const regions[] = {"association", "motor", "sensory", "prefrontal"};

enum { TOP_EDGES = 5 };

bool eg__is_hub(const eg_model *md, uint32_t c)
{
    return c < md->comm.n && md->comm.hub[c];
}

static bool is_hub_in(const eg_communities *cm, uint32_t c)
{
    return c < cm->n && cm->hub && cm->hub[c];
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

/* w into a node's TOP_EDGES largest weights, largest first (0: none yet) */
static void top_add(float *top, float w)
{
    if (w <= top[TOP_EDGES - 1])
        return;
    int p = TOP_EDGES - 1;
    while (p > 0 && top[p - 1] < w) {
        top[p] = top[p - 1];
        p--;
    }
    top[p] = w;
}

int eg__communities(eg_model *md, int64_t at)
{
    const eg_graph *g = &md->concepts;
    size_t nc = md->nconcepts;
    if (!nc) { /* none to find (and none, not an empty set, is what a snapshot gives back) */
        eg__communities_free(&md->comm);
        return 0;
    }
    uint32_t *label = malloc((nc ? nc : 1) * sizeof *label);
    uint8_t *hub = calloc(nc ? nc : 1, sizeof *hub);
    double *acc = calloc(nc ? nc : 1, sizeof *acc), *deg = calloc(nc ? nc : 1, sizeof *deg);
    uint32_t *touched = malloc((nc ? nc : 1) * sizeof *touched);
    size_t *vote_off = NULL, *fill = NULL, *listen_off = NULL; /* CSR: node -> its voters */
    uint32_t *listen = NULL;
    uint8_t *dirty = NULL;
    uint32_t *vote_other = NULL;
    float *vote_w = NULL, *top = NULL; /* top: each node's largest voting weights */
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
        for (size_t c = 0; c < nc; c++) /* (few have more postings than that, at any time) */
            hub[c] = md->post_n[c] > limit && postings_by(md, (uint32_t)c, at) > limit;
    }
    eg__communities_free(&md->comm);
    md->comm.hub = hub; /* eg__is_hub reads it from here on */
    md->comm.n = nc;
    hub = NULL;
    /* the voters: only each node's strongest edges vote (on a dense graph every label would
     * otherwise spread everywhere: one giant community). They do not change between rounds, so
     * they are chosen once: the rounds then cost O(nodes), not O(edges). A node's voters are
     * its live edges to a node that is not a hub, of positive weight and at least its 5th
     * largest such weight, in adjacency order, which is edge order (edges are appended and
     * compaction keeps their order): so they are found in three passes over the edges in
     * order, not by following each node's list to edges all over memory (with 200k concepts
     * the communities were 30 % of the run's CPU, most of it waiting for those edges). */
    if (!(vote_off = calloc(nc + 1, sizeof *vote_off)) ||
        !(top = calloc(nc * TOP_EDGES, sizeof *top))) {
        rc = eg_error_set(EG_ENOMEM, "out of memory finding communities");
        goto done;
    }
    /* a voting edge: live, of positive weight, between two concepts that are not hubs (and
     * that the communities cover: the graph never has more nodes than there are concepts) */
#define VOTES(e)                                                                                   \
    (!(e)->dead && (e)->w > 0 && (e)->a < nc && (e)->b < nc && !eg__is_hub(md, (e)->a) &&          \
     !eg__is_hub(md, (e)->b))
    for (size_t k = 0; k < g->n; k++) { /* each node's 5 largest weights */
        const eg_edge *e = &g->e[k];
        if (!VOTES(e))
            continue;
        top_add(top + (size_t)e->a * TOP_EDGES, e->w);
        top_add(top + (size_t)e->b * TOP_EDGES, e->w);
    }
    for (size_t k = 0; k < g->n; k++) { /* how many vote for each node */
        const eg_edge *e = &g->e[k];
        if (!VOTES(e))
            continue;
        vote_off[e->a + 1] += e->w >= top[(size_t)e->a * TOP_EDGES + TOP_EDGES - 1];
        vote_off[e->b + 1] += e->w >= top[(size_t)e->b * TOP_EDGES + TOP_EDGES - 1];
    }
    for (size_t c = 0; c < nc; c++)
        vote_off[c + 1] += vote_off[c];
    if (!(vote_other = malloc((vote_off[nc] ? vote_off[nc] : 1) * sizeof *vote_other)) ||
        !(vote_w = malloc((vote_off[nc] ? vote_off[nc] : 1) * sizeof *vote_w)) ||
        !(fill = malloc((nc ? nc : 1) * sizeof *fill))) {
        rc = eg_error_set(EG_ENOMEM, "out of memory finding communities");
        goto done;
    }
    memcpy(fill, vote_off, nc * sizeof *fill);
    for (size_t k = 0; k < g->n; k++) { /* the voters, in edge order */
        const eg_edge *e = &g->e[k];
        if (!VOTES(e))
            continue;
        if (e->w >= top[(size_t)e->a * TOP_EDGES + TOP_EDGES - 1]) {
            vote_other[fill[e->a]] = e->b;
            vote_w[fill[e->a]++] = e->w;
        }
        if (e->w >= top[(size_t)e->b * TOP_EDGES + TOP_EDGES - 1]) {
            vote_other[fill[e->b]] = e->a;
            vote_w[fill[e->b]++] = e->w;
        }
    }
#undef VOTES
    /* A node's new label depends only on its voters' labels (the weights are fixed): a node
     * none of whose voters changed since it was last weighed would take the label it has, so
     * it is skipped (dirty[c] == 0). Each round still weighs the others in id order, seeing
     * the labels taken earlier in the round, so the labels are those of weighing every node in
     * every round; late rounds, where few labels still move, cost little. listen[..] of v:
     * the nodes v votes for, whose weighing a change of v's label makes dirty. */
    if (!(listen_off = calloc(nc + 1, sizeof *listen_off)) ||
        !(listen = malloc((vote_off[nc] ? vote_off[nc] : 1) * sizeof *listen)) ||
        !(dirty = malloc(nc))) {
        rc = eg_error_set(EG_ENOMEM, "out of memory finding communities");
        goto done;
    }
    for (size_t v = 0; v < vote_off[nc]; v++)
        listen_off[vote_other[v] + 1]++;
    for (size_t c = 0; c < nc; c++)
        listen_off[c + 1] += listen_off[c];
    memcpy(fill, listen_off, nc * sizeof *fill);
    for (size_t c = 0; c < nc; c++)
        for (size_t v = vote_off[c]; v < vote_off[c + 1]; v++)
            listen[fill[vote_other[v]]++] = (uint32_t)c;
    memset(dirty, 1, nc);
    for (size_t c = 0; c < nc; c++)
        label[c] = (uint32_t)c;
    for (int round = 0; round < 20; round++) {
        bool changed = false;
        for (size_t c = 0; c < nc; c++) {
            if (!dirty[c])
                continue;
            dirty[c] = 0;
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
                for (size_t r = listen_off[c]; r < listen_off[c + 1]; r++)
                    dirty[listen[r]] = 1;
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
    free(fill);
    free(listen_off);
    free(listen);
    free(dirty);
    free(top);
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
                0.3 * exp(-age_days / 30.0) + 0.2 * log(1.0 + m->recalls) / log(100.0);
    return rs * m->damping;
}

/* a concept's community; a concept first seen after the communities were computed is its own */
static uint32_t label_of(const eg_communities *cm, uint32_t c)
{
    return c < cm->n ? cm->label[c] : c;
}

/* the community most of x's concepts belong to (ties: smallest), UINT32_MAX if none: the
 * labels sorted, the longest run of one */
uint32_t eg__category_of(const eg_model *md, uint32_t x)
{
    return eg__category_in(md, &md->comm, x);
}

uint32_t eg__category_in(const eg_model *md, const eg_communities *cm, uint32_t x)
{
    const eg_mem *m = &md->m[x];
    if (!cm->label || !m->c_n)
        return UINT32_MAX;
    uint32_t stack[64], *ls = m->c_n <= 64 ? stack : malloc(m->c_n * sizeof *ls);
    if (!ls)
        return UINT32_MAX; /* (a memory with more than 64 concepts, and no memory left) */
    /* hubs vote only when the memory has nothing else */
    bool specific = false;
    for (uint16_t i = 0; i < m->c_n; i++)
        specific |= !is_hub_in(cm, md->mc[m->c_off + i]);
    size_t n = 0;
    for (uint16_t i = 0; i < m->c_n; i++) {
        uint32_t c = md->mc[m->c_off + i];
        if (specific && is_hub_in(cm, c))
            continue;
        uint32_t l = label_of(cm, c);
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

/* xxh64(category "::" region) % 1000, of the whole name however long (a concept from
 * metadata.concepts has no length limit); -1 when out of memory */
static int minicolumn_of(const char *category, const char *region)
{
    size_t lc = strlen(category), lr = strlen(region);
    char stack[256], *key = lc + lr + 2 <= sizeof stack ? stack : malloc(lc + lr + 2);
    if (!key)
        return -1;
    memcpy(key, category, lc);
    memcpy(key + lc, "::", 2);
    memcpy(key + lc + 2, region, lr);
    int column = (int)(XXH64(key, lc + 2 + lr, 0) % 1000);
    if (key != stack)
        free(key);
    return column;
}

/* The communities the records are organised by (md->comm_now): the simulation's, as the last
 * homeostasis (weekly) or REM night left them, so that categories move when the network is
 * reorganised in sleep and REM and the records agree on them; computed at now when the
 * simulation has none yet (no REM night or homeostasis was reached). The simulation's own stay
 * as they are: the next phases go on from them. */
static int communities_now(eg_model *md, int64_t now)
{
    eg__communities_free(&md->comm_now);
    if (md->comm.label) {
        size_t n = md->comm.n;
        md->comm_now.label = malloc((n ? n : 1) * sizeof *md->comm_now.label);
        md->comm_now.hub = md->comm.hub ? malloc(n ? n : 1) : NULL;
        if (!md->comm_now.label || (md->comm.hub && !md->comm_now.hub)) {
            eg__communities_free(&md->comm_now);
            return eg_error_set(EG_ENOMEM, "out of memory building long-term memory");
        }
        memcpy(md->comm_now.label, md->comm.label, n * sizeof *md->comm.label);
        if (md->comm.hub)
            memcpy(md->comm_now.hub, md->comm.hub, n);
        md->comm_now.n = n;
        return 0;
    }
    eg_communities sim = md->comm;
    md->comm = (eg_communities){0};
    int rc = eg__communities(md, now);
    md->comm_now = md->comm;
    md->comm = sim;
    return rc;
}

int eg__long_term(eg_model *md, const eg_config *cfg, int64_t now)
{
    (void)cfg;
    int rc = communities_now(md, now);
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
    /* one minicolumn digest per (category, region), the categories by concept index and the
     * records without one last */
    size_t nc = md->nconcepts + 1;
    md->ltm = calloc(n, sizeof *md->ltm);
    free(md->ltm_cat);
    md->nltm_cat = md->n;
    md->ltm_cat = malloc(md->n * sizeof *md->ltm_cat);
    int *mini = malloc(nc * 4 * sizeof *mini);
    if (!md->ltm || !mini || !md->ltm_cat) {
        free(mini);
        free(md->ltm);
        md->ltm = NULL;
        return eg_error_set(EG_ENOMEM, "out of memory building long-term memory");
    }
    for (size_t k = 0; k < nc * 4; k++)
        mini[k] = -1;
    int macro[4];
    for (int r = 0; r < 4; r++)
        macro[r] = (int)(XXH64(regions[r], strlen(regions[r]), 0) % 100);
    /* the same communities as the last save's: a memory's category is what it was (it depends
     * only on them and on its concepts, which do not change) */
    const eg_communities *p = &md->comm_prev, *q = &md->comm_now;
    bool same = md->ltm_cat_prev && p->label && q->label && p->n == q->n &&
                !memcmp(p->label, q->label, q->n * sizeof *q->label) && !p->hub == !q->hub &&
                (!q->hub || !memcmp(p->hub, q->hub, q->n));
    md->comm_same = same;
    for (size_t i = 0; i < md->n; i++) {
        const eg_mem *m = &md->m[i];
        md->ltm_cat[i] = EG_NO_LTM;
        if (m->status != EG_MS_CONSOLIDATED)
            continue;
        eg_ltm *l = &md->ltm[md->nltm++];
        l->mem = (uint32_t)i;
        uint32_t prev = i < md->nltm_cat_prev ? md->ltm_cat_prev[i] : EG_NO_LTM;
        l->category =
            same && prev != EG_NO_LTM ? prev : eg__category_in(md, &md->comm_now, (uint32_t)i);
        l->category_moved = l->category != prev;
        md->ltm_cat[i] = l->category;
        l->knowledge_type = m->knowledge_type < 3 ? m->knowledge_type : 0;
        l->region = l->knowledge_type == 1 ? 1 : (m->region < 4 ? m->region : 0);
        l->abstraction = m->abstraction ? m->abstraction : 3;
        size_t col = (l->category == UINT32_MAX ? md->nconcepts : l->category) * 4 + l->region;
        if (mini[col] < 0 &&
            (mini[col] =
                 minicolumn_of(l->category == UINT32_MAX ? "" : eg_model_concept(md, l->category),
                               regions[l->region])) < 0) {
            free(mini);
            return eg_error_set(EG_ENOMEM, "out of memory building long-term memory");
        }
        l->minicolumn = mini[col];
        l->macrocolumn = macro[l->region];
        /* "integrated if > 5 associates": the associates of its deciding replay (§7.3) */
        l->state = l->abstraction >= 4   ? "schematized"
                   : m->associates > 5   ? "integrated"
                   : l->abstraction >= 3 ? "semantic"
                                         : "episodic_trace";
    }
    free(mini);
    return 0;
}
