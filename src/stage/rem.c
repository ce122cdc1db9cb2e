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
        double best = 0;
        uint32_t bz = 0, bx = 0, by = 0;
        int na = ma->c_n < cfg->hebbian_max_concepts ? ma->c_n : cfg->hebbian_max_concepts;
        int nb = mb->c_n < cfg->hebbian_max_concepts ? mb->c_n : cfg->hebbian_max_concepts;
        for (int i = 0; i < na; i++) {
            uint32_t x = md->mc[ma->c_off + i];
            /* bridges through the first MAX_BRIDGE_SCAN edges of x: bounds the cost per pair */
            for (uint32_t k = 0; x < g->nodes && k < g->adj_n[x] && k < MAX_BRIDGE_SCAN; k++) {
                const eg_edge *e = &g->e[g->adj[x][k]];
                if (e->dead)
                    continue;
                uint32_t z = e->a == x ? e->b : e->a;
                for (int j = 0; j < nb; j++) {
                    uint32_t y = md->mc[mb->c_off + j];
                    if (y == x || y == z)
                        continue;
                    double wzy = edge_w(g, z, y);
                    double bridge = sqrt(e->w * wzy);
                    if (bridge > best) {
                        best = bridge;
                        bz = z;
                        bx = x;
                        by = y;
                    }
                }
            }
        }
        if (best <= 0)
            continue;
        double plaus = best / wmax, novelty = 1 - edge_w(g, bx, by);
        double strength =
            0.8 * (0.4 * ma->consolidated_strength + 0.4 * mb->consolidated_strength + 0.2);
        if (strength <= 0.4 || plaus <= 0.6)
            continue;
        if (EG_GROW(md->cr, md->capcr, md->ncr + 1)) {
            rc = EG_ENOMEM;
            break;
        }
        md->cr[md->ncr++] = (eg_creative){.a = a < b ? a : b,
                                          .b = a < b ? b : a,
                                          .at = T,
                                          .bridge = bz,
                                          .x = bx,
                                          .y = by,
                                          .novelty = novelty,
                                          .plausibility = plaus,
                                          .strength = strength};
        recorded++;
    }
    eg_pairmap_free(&seen);
    return rc;
}
