/*
 * rem.c — nightly REM creative associations (SPEC §7.5), at 04:00.
 *
 * A deterministic sample (seeded by the night's time, each pair at most once a night) of up to
 * rem.batch pairs of long-term memories from different semantic categories (the majority
 * community of their concepts, as in long_term.c) is searched for a two-step path x – z – y in the
 * concept graph, x a concept of the first memory, y of the second. The best bridge z gives
 *   plausibility = sqrt(w_xz · w_zy) / max edge weight   (bridge strength, relative)
 *   novelty      = 1 − w_xy (the direct edge, 0 if none)
 *   strength     = 0.8 · (0.4·s_a + 0.4·s_b + 0.2)       (s: consolidated strengths)
 * and a creative association is recorded when strength > 0.4 and plausibility > 0.6.
 * Categories are the communities last computed (long_term.c, refreshed weekly).
 */
#include "stage/engine.h"

#include "engram/error.h"

#include <math.h>
#include <stdlib.h>

enum { MAX_BRIDGE_SCAN = 16 };

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double edge_w(const eg_graph *g, uint32_t a, uint32_t b)
{
    uint32_t k = eg_pairmap_get(&g->map, a, b);
    return k == UINT32_MAX || g->e[k].dead ? 0 : g->e[k].w;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

/* Brings REM's pool (the consolidated memories with concepts, in index order) up to date: built
 * from the statuses the first time in a process (a night used to scan every memory: 729 nights
 * of a 1M store took 2.8 s), then the memories consolidated since merged in. */
static int update_pool(eg_model *md)
{
    if (!md->rem_pool_built) {
        size_t n = 0;
        for (size_t i = 0; i < md->n; i++)
            n += md->m[i].status == EG_MS_CONSOLIDATED && md->m[i].c_n;
        if (EG_GROW(md->rem_pool, md->caprem_pool, n ? n : 1))
            return EG_ENOMEM;
        md->nrem_pool = 0;
        for (size_t i = 0; i < md->n; i++)
            if (md->m[i].status == EG_MS_CONSOLIDATED && md->m[i].c_n)
                md->rem_pool[md->nrem_pool++] = (uint32_t)i;
        md->nrem_new = 0;
        md->rem_pool_built = true;
        return 0;
    }
    if (!md->nrem_new)
        return 0;
    size_t old = md->nrem_pool, add = md->nrem_new;
    if (EG_GROW(md->rem_pool, md->caprem_pool, old + add))
        return EG_ENOMEM;
    qsort(md->rem_new, add, sizeof *md->rem_new, cmp_u32);
    /* merge from the back: the pool's old entries and the new ones, both in index order */
    size_t i = old, j = add, k = old + add;
    while (j > 0) {
        if (i > 0 && md->rem_pool[i - 1] > md->rem_new[j - 1])
            md->rem_pool[--k] = md->rem_pool[--i];
        else
            md->rem_pool[--k] = md->rem_new[--j];
    }
    md->nrem_pool = old + add;
    md->nrem_new = 0;
    return 0;
}

/* The best bridge of a pair: the largest sqrt(w_xz · w_zy) over x in xs, z among the first
 * MAX_BRIDGE_SCAN edges of x (a bound on the cost per pair), y in ys (y not x or z); of equal
 * ones the first in the order (x, z, y) as listed. w is 0 when there is none. */
typedef struct bridge {
    double w, p; /* the bridge's strength, and its square */
    uint32_t x, z, y;
    uint64_t rank; /* (x's place, z's, y's): the order that breaks ties */
} bridge;

/* Per night: which nodes are a z of the pair at hand (mark[z]: 1 + its last entry, 0: none),
 * and the entries (a node can be the z of several x). Marks are cleared after each pair. */
typedef struct zent {
    uint32_t z, next; /* next: 1 + the entry before it for the same z, 0: none */
    uint32_t i, k;    /* x's place in xs, the edge's in x's list */
    float w;          /* w_xz */
} zent;

typedef struct scratch {
    uint32_t *mark;
    zent *ent;
} scratch;

/* p = w_xz · w_zy. Its square root is taken only when it can equal the best or beat it: a
 * product smaller by a millionth cannot (sqrt is correctly rounded, to 1e-16), and most are */
static void consider(bridge *best, double p, uint64_t rank, uint32_t x, uint32_t z, uint32_t y)
{
    if (p <= 0 || p < best->p * (1 - 1e-6))
        return;
    double w = sqrt(p);
    if (w > best->w || (w == best->w && rank < best->rank))
        *best = (bridge){.w = w, .p = p, .x = x, .z = z, .y = y, .rank = rank};
}

/* The original search looked up every (z, y) in the edge map: 256 lookups a pair with the
 * defaults, nearly all of them misses. Here the z are marked, and each y's edges are scanned
 * for them (or, for a y with more edges than there are z, the pairs looked up): the same
 * bridges, the same choice among equal ones (rank), a fraction of the lookups. */
static bridge best_bridge(const eg_graph *g, scratch *sc, const uint32_t *xs, int na,
                          const uint32_t *ys, int nb)
{
    bridge best = {0};
    size_t ne = 0;
    for (int i = 0; i < na; i++) {
        uint32_t x = xs[i];
        for (uint32_t k = 0; x < g->nodes && k < g->adj_n[x] && k < MAX_BRIDGE_SCAN; k++) {
            const eg_edge *e = &g->e[g->adj[x][k]];
            if (e->dead)
                continue;
            uint32_t z = e->a == x ? e->b : e->a;
            sc->ent[ne] = (zent){.z = z, .next = sc->mark[z], .i = (uint32_t)i, .k = k, .w = e->w};
            sc->mark[z] = (uint32_t)++ne;
        }
    }
    for (int j = 0; j < nb && ne; j++) {
        uint32_t y = ys[j];
        if (y >= g->nodes)
            continue; /* no edge */
        if (g->adj_n[y] > ne) {
            for (size_t t = 0; t < ne; t++) {
                const zent *en = &sc->ent[t];
                uint32_t x = xs[en->i];
                if (y == x || y == en->z)
                    continue;
                consider(&best, en->w * edge_w(g, en->z, y),
                         ((uint64_t)en->i * MAX_BRIDGE_SCAN + en->k) * (uint64_t)nb + (uint64_t)j,
                         x, en->z, y);
            }
            continue;
        }
        for (uint32_t q = 0; q < g->adj_n[y]; q++) {
            const eg_edge *f = &g->e[g->adj[y][q]];
            if (f->dead)
                continue;
            uint32_t z = f->a == y ? f->b : f->a;
            for (uint32_t t = sc->mark[z]; t; t = sc->ent[t - 1].next) {
                const zent *en = &sc->ent[t - 1];
                uint32_t x = xs[en->i];
                if (y == x)
                    continue;
                consider(&best, en->w * (double)f->w,
                         ((uint64_t)en->i * MAX_BRIDGE_SCAN + en->k) * (uint64_t)nb + (uint64_t)j,
                         x, z, y);
            }
        }
    }
    for (size_t t = 0; t < ne; t++)
        sc->mark[sc->ent[t].z] = 0;
    return best;
}

int eg__rem(eg_model *md, const eg_config *cfg, int64_t T)
{
    const eg_graph *g = &md->concepts;
    const uint32_t *ltm = NULL;
    size_t n = 0;
    int rc = 0;
    double wmax = 0;
    for (size_t k = 0; k < g->n; k++)
        if (!g->e[k].dead && g->e[k].w > wmax)
            wmax = g->e[k].w;
    if (wmax <= 0)
        return 0;
    if (!md->comm.label && (rc = eg__communities(md, T)))
        return rc;
    if ((rc = update_pool(md)))
        return rc;
    ltm = md->rem_pool;
    n = md->nrem_pool;
    /* (hebbian_max_concepts bounds na; a memory has at most UINT16_MAX concepts) */
    size_t maxc = cfg->hebbian_max_concepts < 1            ? 1
                  : cfg->hebbian_max_concepts > UINT16_MAX ? UINT16_MAX
                                                           : (size_t)cfg->hebbian_max_concepts;
    scratch sc = {calloc(g->nodes ? g->nodes : 1, sizeof *sc.mark),
                  malloc(maxc * MAX_BRIDGE_SCAN * sizeof *sc.ent)};
    if (!sc.mark || !sc.ent) {
        free(sc.mark);
        free(sc.ent);
        return EG_ENOMEM;
    }
    uint64_t seed = (uint64_t)T;
    int recorded = 0;
    eg_pairmap seen; /* pairs already looked at tonight: each is considered once */
    eg_pairmap_init(&seen);
    for (int attempt = 0; n >= 2 && attempt < cfg->rem_batch && recorded < cfg->rem_batch;
         attempt++) {
        uint32_t a = ltm[splitmix(&seed) % n], b = ltm[splitmix(&seed) % n];
        if (a == b || eg_pairmap_get(&seen, a, b) != UINT32_MAX)
            continue;
        if ((rc = eg_pairmap_put(&seen, a, b, 0)))
            break;
        if (eg__category_of(md, a) == eg__category_of(md, b))
            continue;
        const eg_mem *ma = &md->m[a], *mb = &md->m[b];
        int na = ma->c_n < cfg->hebbian_max_concepts ? ma->c_n : cfg->hebbian_max_concepts;
        int nb = mb->c_n < cfg->hebbian_max_concepts ? mb->c_n : cfg->hebbian_max_concepts;
        bridge best = best_bridge(g, &sc, &md->mc[ma->c_off], na, &md->mc[mb->c_off], nb);
        if (best.w <= 0)
            continue;
        double plaus = best.w / wmax, novelty = 1 - edge_w(g, best.x, best.y);
        double strength =
            0.8 * (0.4 * ma->consolidated_strength + 0.4 * mb->consolidated_strength + 0.2);
        if (strength <= 0.4 || plaus <= 0.6)
            continue;
        if (EG_GROW(md->cr, md->capcr, md->ncr + 1)) {
            rc = EG_ENOMEM;
            break;
        }
        /* the pair in index order, each concept with its memory (x is the first drawn's) */
        md->cr[md->ncr++] = (eg_creative){.a = a < b ? a : b,
                                          .b = a < b ? b : a,
                                          .at = T,
                                          .bridge = best.z,
                                          .x = a < b ? best.x : best.y,
                                          .y = a < b ? best.y : best.x,
                                          .novelty = novelty,
                                          .plausibility = plaus,
                                          .strength = strength};
        recorded++;
    }
    eg_pairmap_free(&seen);
    free(sc.mark);
    free(sc.ent);
    return rc;
}
