/*
 * consolidation.c — replay and the decision between long-term memory and forgetting
 * (SPEC §7.3).
 *
 * At each replay time every ready short-term item (in encoding order) is replayed with its
 * associates: short- and long-term memories within ±24 h that share an association (w > 0) or a
 * concept with it. The replay is a presentation and a co-activation (Hebbian learning with the
 * strengths). With total = Σ w_ij and n associates,
 *   pre = strength · (1 + η·n) · (1 + ln(1 + total)).
 * pre ≥ consolidation.threshold consolidates the item (consolidated strength = min(1, pre));
 * otherwise its strength is multiplied by forgetting.rate and it waits for the next replay, at
 * most consolidation.max_replays more times, then it is forgotten. Associates per replay are
 * capped at consolidation.max_associates (learned associations first, then sharers of the
 * memory's first consolidation.max_concepts concepts, nearest in time) to bound the cost of very
 * common concepts.
 */
#include "stage/engine.h"

#include "engram/error.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ASSOC = 64 };

static bool associable(const eg_mem *m)
{
    return m->status == EG_MS_IN_STM || m->status == EG_MS_CONSOLIDATED;
}

/* first index in the time-ordered posting list with t0 >= t */
static size_t lower_bound(const eg_model *md, const uint32_t *post, size_t n, int64_t t)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (md->m[post[mid]].t0 < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static double strength_of(const eg_mem *m)
{
    return m->status == EG_MS_CONSOLIDATED ? m->consolidated_strength : m->strength;
}

static int replay(eg_model *md, const eg_config *cfg, uint32_t x, int64_t T, bool *done)
{
    eg_mem *m = &md->m[x];
    const int64_t day = EG_USEC_PER_DAY;
    uint32_t assoc[MAX_ASSOC];
    double w[MAX_ASSOC];
    int n = 0, rc;
    double total = 0;
    md->mark_epoch++;
    md->mark[x] = md->mark_epoch;
    /* learned associations first, in the order they were learned */
    const eg_graph *g = &md->assoc;
    int max = cfg->consolidation_max_associates < MAX_ASSOC ? cfg->consolidation_max_associates
                                                            : MAX_ASSOC;
    for (uint32_t k = 0; x < g->nodes && k < g->adj_n[x] && n < max; k++) {
        const eg_edge *e = &g->e[g->adj[x][k]];
        uint32_t j = e->a == x ? e->b : e->a;
        const eg_mem *o = &md->m[j];
        if (e->dead || e->w <= 0 || !associable(o) || llabs(o->t0 - m->t0) > day ||
            md->mark[j] == md->mark_epoch)
            continue;
        md->mark[j] = md->mark_epoch;
        assoc[n] = j;
        w[n++] = e->w;
        total += e->w;
    }
    /* then memories sharing a concept within ±24 h, nearest in time first */
    int nc = m->c_n < cfg->consolidation_max_concepts ? m->c_n : cfg->consolidation_max_concepts;
    for (int c = 0; c < nc && n < max; c++) {
        uint32_t con = md->mc[m->c_off + c];
        const uint32_t *post = md->postings[con];
        size_t pn = md->post_n[con];
        size_t right = lower_bound(md, post, pn, m->t0), left = right;
        while (n < max) {
            bool has_l = left > 0 && md->m[post[left - 1]].t0 >= m->t0 - day;
            bool has_r = right < pn && md->m[post[right]].t0 <= m->t0 + day;
            if (!has_l && !has_r)
                break;
            uint32_t j;
            if (has_l &&
                (!has_r || m->t0 - md->m[post[left - 1]].t0 <= md->m[post[right]].t0 - m->t0))
                j = post[--left];
            else
                j = post[right++];
            if (md->mark[j] == md->mark_epoch || !associable(&md->m[j]))
                continue;
            md->mark[j] = md->mark_epoch;
            assoc[n] = j;
            w[n++] = 0;
        }
    }
    double eta = cfg->hebbian_rate;
    double pre = m->strength * (1 + eta * n) * (1 + log1p(total));
    m->pre = (float)pre;
    m->associates = n;
    m->replays++;
    md->replays_done++;
    if (EG_GROW_IN(md->snap, md->rep, md->caprep, md->nrep + 1))
        return EG_ENOMEM;
    md->rep[md->nrep++] = (eg_presentation){.at = T, .mem = x, .kind = EG_PRES_REPLAYED};
    if (md->hooks && md->hooks->replay)
        md->hooks->replay(md->hooks->ud, T, x, assoc, n);
    for (int k = 0; k < n; k++)
        if ((rc = eg__coactivate(md, cfg, x, assoc[k], m->strength, strength_of(&md->m[assoc[k]]),
                                 T)))
            return rc;
    (void)w;
    *done = true;
    if (pre >= cfg->consolidation_threshold) {
        m->status = EG_MS_CONSOLIDATED;
        m->consolidated_at = T;
        m->consolidated_strength = (float)fmin(1.0, pre);
        md->nconsolidated++;
        if (m->c_n && md->rem_pool_built) { /* REM's pool takes it at the next night */
            if (EG_GROW(md->rem_new, md->caprem_new, md->nrem_new + 1))
                return EG_ENOMEM;
            md->rem_new[md->nrem_new++] = x;
        }
        return eg__journey(md, x, T, "consolidation", "consolidated",
                           "replay %d: pre-strength %.3f >= %.2f with %d associates (total weight "
                           "%.3f)",
                           m->replays, pre, cfg->consolidation_threshold, n, total);
    }
    if (m->replays > cfg->consolidation_max_replays) {
        m->status = EG_MS_FORGOTTEN;
        m->forgotten_at = T;
        return eg__journey(md, x, T, "consolidation", "forgotten",
                           "replay %d: pre-strength %.3f < %.2f with %d associates (total weight "
                           "%.3f); no replays left",
                           m->replays, pre, cfg->consolidation_threshold, n, total);
    }
    *done = false;
    m->strength = (float)(m->strength * cfg->forgetting_rate);
    return eg__journey(md, x, T, "consolidation", "replayed",
                       "replay %d: pre-strength %.3f < %.2f with %d associates; strength now %.3f",
                       m->replays, pre, cfg->consolidation_threshold, n, m->strength);
}

int eg__consolidate(eg_model *md, const eg_config *cfg, int64_t T)
{
    size_t keep = 0;
    int rc = 0;
    /* replay the ready items in encoding order; the list is compacted as items leave */
    size_t n = md->nstm;
    for (size_t k = 0; k < n; k++) {
        uint32_t x = md->stm[k];
        bool done = false;
        if (!rc && md->m[x].ready_at <= T)
            rc = replay(md, cfg, x, T, &done);
        if (!done)
            md->stm[keep++] = x;
    }
    md->nstm = keep;
    return rc;
}
