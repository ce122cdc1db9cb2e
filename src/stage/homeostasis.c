/*
 * homeostasis.c — weekly synaptic homeostasis of the concept graph (SPEC §7.5), Sundays 03:00.
 *
 * Per concept (in id order), when the sum of its edge weights exceeds homeostasis.max_out, its
 * edges are scaled down to that sum; then, when the mean weight of all live edges exceeds
 * 1.5·homeostasis.target, every edge is scaled by target/mean; edges below 0.01 that were not
 * co-activated for 30 days are pruned. Long-term memories whose retrieval strength is above 0.8
 * at that moment are damped by 0.9 (their `damping` factor). Column ranks are recomputed at the
 * end of the run (long_term.c).
 */
#include "stage/engine.h"

#include "engram/error.h"

#include "util/timeutil.h"

#include <stdlib.h>

/* a concept's live edges, weakest first: by weight, then the longer untouched, then the
 * larger index (the later made) */
static int cmp_weaker(const void *x, const void *y, void *ud)
{
    const eg_edge *e = ud, *a = &e[*(const uint32_t *)x], *b = &e[*(const uint32_t *)y];
    if (a->w != b->w)
        return a->w < b->w ? -1 : 1;
    if (a->last_at != b->last_at)
        return a->last_at < b->last_at ? -1 : 1;
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    return (i < j) - (i > j);
}

/* Puts the k weakest of v[0..n) (cmp_weaker: a total order, so they are one set) first, in no
 * particular order: quickselect, median of three, a sort of what is left after too many
 * rounds. A hub over the degree bound needs only its weakest edges found, not all sorted. */
static void select_weakest(uint32_t *v, size_t n, size_t k, const eg_edge *e)
{
    size_t lo = 0, hi = n; /* the k-th weakest is in v[lo..hi) */
    for (int rounds = 0; hi - lo > 16 && rounds < 64; rounds++) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t x = v[lo], y = v[mid], z = v[hi - 1], p; /* median of three */
        if (cmp_weaker(&x, &y, (void *)e) > 0)
            p = x, x = y, y = p;
        if (cmp_weaker(&y, &z, (void *)e) > 0)
            y = z;
        p = cmp_weaker(&x, &y, (void *)e) > 0 ? x : y;
        /* three-way split: weaker than p, p, stronger (p is in v exactly once) */
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            int c = cmp_weaker(&v[i], &p, (void *)e);
            uint32_t t;
            if (c < 0)
                t = v[lt], v[lt++] = v[i], v[i++] = t;
            else if (c > 0)
                t = v[--gt], v[gt] = v[i], v[i] = t;
            else
                i++;
        }
        if (k < lt)
            hi = lt;
        else if (k >= gt)
            lo = gt;
        else
            return; /* v[k] is p: everything before it is weaker */
    }
    qsort_r(v + lo, hi - lo, sizeof *v, cmp_weaker, (void *)e);
}

/* Each concept, in index order, keeps at most max live edges, its strongest: the others are
 * pruned. Pruning at one end lowers the other end's degree, so the pass is order-dependent
 * (like the scaling); after it no concept has more than max. */
static int bound_degree(eg_graph *g, int max)
{
    uint32_t *live = NULL;
    size_t cap = 0;
    for (size_t c = 0; c < g->nodes; c++) {
        if (g->adj_n[c] <= (uint32_t)max)
            continue;
        if (EG_GROW(live, cap, g->adj_n[c])) {
            free(live);
            return EG_ENOMEM;
        }
        size_t n = 0;
        for (uint32_t k = 0; k < g->adj_n[c]; k++)
            if (!g->e[g->adj[c][k]].dead)
                live[n++] = g->adj[c][k];
        if (n <= (size_t)max)
            continue;
        select_weakest(live, n, n - (size_t)max, g->e);
        for (size_t k = 0; k < n - (size_t)max; k++)
            g->e[live[k]].dead = true;
    }
    free(live);
    return 0;
}

/* Scales each concept's edges, in concept order, down to homeostasis.max_out when their sum
 * exceeds it. A concept's sum is taken over its adjacency list, in edge order, with the weights
 * as the concepts before it left them. The sums are first added up in one pass over the edge
 * array in order: a concept's adjacency list is in edge order (model.h), so each sum is the
 * same double, bit for bit, for every concept none of whose edges an earlier concept scaled;
 * only those (marked as their neighbour is scaled) are summed again through their lists. This
 * replaces a walk of every list, reading the edges at random (millions of them with a large
 * vocabulary), by a sequential pass and the lists of the few concepts scaled. */
static int scale_out(eg_graph *g, double max_out)
{
    double *sum = calloc(g->nodes ? g->nodes : 1, sizeof *sum);
    uint8_t *again = calloc(g->nodes ? g->nodes : 1, 1);
    if (!sum || !again) {
        free(sum);
        free(again);
        return eg_error_set(EG_ENOMEM, "out of memory in homeostasis");
    }
    for (size_t k = 0; k < g->n; k++)
        if (!g->e[k].dead) {
            sum[g->e[k].a] += g->e[k].w;
            sum[g->e[k].b] += g->e[k].w;
        }
    for (size_t c = 0; c < g->nodes; c++) {
        double s = sum[c];
        if (again[c]) {
            s = 0;
            for (uint32_t k = 0; k < g->adj_n[c]; k++)
                if (!g->e[g->adj[c][k]].dead)
                    s += g->e[g->adj[c][k]].w;
        }
        if (s <= max_out)
            continue;
        double f = max_out / s;
        for (uint32_t k = 0; k < g->adj_n[c]; k++) {
            eg_edge *e = &g->e[g->adj[c][k]];
            e->w = (float)(e->w * f);
            uint32_t other = e->a == c ? e->b : e->a;
            if (other > c)
                again[other] = 1;
        }
    }
    free(sum);
    free(again);
    return 0;
}

int eg__homeostasis(eg_model *md, const eg_config *cfg, int64_t T)
{
    eg_graph *g = &md->concepts;
    int rc0 = scale_out(g, cfg->homeostasis_max_out);
    if (rc0)
        return rc0;
    double sum = 0;
    size_t live = 0;
    for (size_t k = 0; k < g->n; k++)
        if (!g->e[k].dead) {
            sum += g->e[k].w;
            live++;
        }
    if (live && sum / live > 1.5 * cfg->homeostasis_target) {
        double f = cfg->homeostasis_target / (sum / live);
        for (size_t k = 0; k < g->n; k++)
            g->e[k].w = (float)(g->e[k].w * f);
    }
    int64_t stale = T - 30 * EG_USEC_PER_DAY;
    for (size_t k = 0; k < g->n; k++)
        if (!g->e[k].dead && g->e[k].w < 0.01f && g->e[k].last_at < stale)
            g->e[k].dead = true;
    int rc = cfg->homeostasis_max_degree > 0 ? bound_degree(g, cfg->homeostasis_max_degree) : 0;
    if (rc || (rc = eg__graph_compact(g)))
        return rc;
    /* the communities REM samples from are refreshed weekly */
    rc = eg__communities(md, T);
    if (rc)
        return rc;
    /* long-term retrieval strengths above 0.8 are damped */
    for (size_t i = 0; i < md->n; i++) {
        eg_mem *m = &md->m[i];
        if (m->status == EG_MS_CONSOLIDATED && eg__retrieval_strength(md, (uint32_t)i, 1, T) > 0.8)
            m->damping *= 0.9f;
    }
    return 0;
}
