/*
 * engine.c — the event loop that advances event time (SPEC §2): working-memory ticks while anything
 * is presented or held, replays every consolidation interval (every 15 minutes in the deep-sleep
 * window) while short-term memory holds items, REM every night at 04:00, homeostasis every Sunday
 * at 03:00. Events at the same instant run in that order. The stages themselves live in their
 * modules; the model's bookkeeping lives in core/model.c.
 */
#include "stage/engine.h"

#include "engram/error.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* w <- w + eta * a_i * a_j * (1 - w) on edge e, after its decay since it was last touched
 * (created: new, nothing to decay), counting the co-activation */
static void touch_edge(eg_graph *g, uint32_t k, bool created, double ai, double aj, double eta,
                       double lambda_per_day, int64_t at)
{
    eg_edge *e = &g->e[k];
    eg__graph_mark(g, k, created);
    if (!created) {
        if (e->dead) {
            e->dead = false;
            e->w = 0;
        }
        /* decay since the edge was last touched (SPEC §7.5) */
        double days = (double)(at - e->last_at) / (double)EG_USEC_PER_DAY;
        if (days > 0)
            e->w = (float)(e->w * exp(-lambda_per_day * days));
    }
    /* w <- w + eta * a_i * a_j * (1 - w) stays below 1, but rounded to a float it can reach 1
     * (from 1 - 2^-24 when eta * a_i * a_j >= 0.5): kept at the largest float below 1 */
    float w = (float)(e->w + eta * ai * aj * (1.0 - e->w));
    e->w = w < 1.0f ? w : nextafterf(1.0f, 0.0f);
    if (e->coact < 0x7fffffffu) /* 31 bits (eg_edge): saturates rather than wraps */
        e->coact++;
    e->last_at = at;
}

int eg__graph_touch(eg_graph *g, uint32_t a, uint32_t b, double ai, double aj, double eta,
                    double lambda_per_day, int64_t at)
{
    uint32_t k;
    bool created;
    if (a == b)
        return 0;
    int rc = eg__graph_edge(g, a, b, at, &k, &created);
    if (rc)
        return rc;
    touch_edge(g, k, created, ai, aj, eta, lambda_per_day, at);
    return 0;
}

/* The concept pairs of a co-activation go in batches of this many: each batch is looked up
 * before any of it is touched. With a large vocabulary the concept graph's map and edges are
 * far bigger than the caches, and the up to hebbian.max_concepts² lookups of a co-activation
 * missed them one after the other (at 100k memories over 200k words in 60 days, the lookups
 * alone took 13 % of the run); asked for together, the misses overlap. The pairs are still touched
 * one by one in the same order, so the results are the same. */
#define PAIR_BATCH 64

/* touches the np concept pairs (px[p], py[p]) in order: their slots asked for, then their edges */
static int touch_batch(eg_graph *g, const eg_config *cfg, const uint32_t *px, const uint32_t *py,
                       int np, double ai, double aj, int64_t at)
{
    uint32_t pk[PAIR_BATCH];
    for (int p = 0; p < np; p++)
        pk[p] = UINT32_MAX;
    if (!g->no_map) {
        for (int p = 0; p < np; p++)
            eg_pairmap_prefetch(&g->map, px[p], py[p]);
        for (int p = 0; p < np; p++)
            if ((pk[p] = eg_pairmap_get(&g->map, px[p], py[p])) != UINT32_MAX)
                __builtin_prefetch(&g->e[pk[p]], 1);
    }
    for (int p = 0; p < np; p++) {
        /* an edge found stays where it is (edges are only appended here); one not found may
         * have been made by an earlier pair of the batch, so it is looked up again */
        if (pk[p] != UINT32_MAX) {
            touch_edge(g, pk[p], false, ai, aj, cfg->hebbian_rate, cfg->hebbian_decay, at);
        } else {
            int rc =
                eg__graph_touch(g, px[p], py[p], ai, aj, cfg->hebbian_rate, cfg->hebbian_decay, at);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int eg__coactivate(eg_model *md, const eg_config *cfg, uint32_t i, uint32_t j, double ai, double aj,
                   int64_t at)
{
    int rc = eg__graph_touch(&md->assoc, i, j, ai, aj, cfg->hebbian_rate, cfg->hebbian_decay, at);
    if (rc)
        return rc;
    const eg_mem *mi = &md->m[i], *mj = &md->m[j];
    int ni = mi->c_n < cfg->hebbian_max_concepts ? mi->c_n : cfg->hebbian_max_concepts;
    int nj = mj->c_n < cfg->hebbian_max_concepts ? mj->c_n : cfg->hebbian_max_concepts;
    uint32_t px[PAIR_BATCH], py[PAIR_BATCH];
    int np = 0;
    for (int x = 0; x < ni; x++)
        for (int y = 0; y < nj; y++) {
            uint32_t cx = md->mc[mi->c_off + x], cy = md->mc[mj->c_off + y];
            if (cx == cy)
                continue;
            px[np] = cx;
            py[np] = cy;
            if (++np == PAIR_BATCH) {
                if ((rc = touch_batch(&md->concepts, cfg, px, py, np, ai, aj, at)))
                    return rc;
                np = 0;
            }
        }
    return np ? touch_batch(&md->concepts, cfg, px, py, np, ai, aj, at) : 0;
}

/* ---- the event loop ---- */

static int cmp_pres(const void *a, const void *b)
{
    const eg_presentation *x = a, *y = b;
    if (x->at != y->at)
        return x->at < y->at ? -1 : 1;
    if (x->mem != y->mem)
        return x->mem < y->mem ? -1 : 1;
    return x->kind - y->kind;
}

static int cmp_by_t0(const void *a, const void *b, void *arg)
{
    const eg_model *md = arg;
    const eg_mem *x = &md->m[*(const uint32_t *)a], *y = &md->m[*(const uint32_t *)b];
    if (x->t0 != y->t0)
        return x->t0 < y->t0 ? -1 : 1;
    return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static int64_t floor_to(int64_t t, int64_t step)
{
    int64_t q = t / step;
    if (q * step > t)
        q--;
    return q * step;
}

static int64_t ceil_to(int64_t t, int64_t step)
{
    int64_t f = floor_to(t, step);
    return f == t ? t : f + step;
}

/* seconds of the UTC day of t */
static int64_t day_secs(int64_t t)
{
    return (t - floor_to(t, EG_USEC_PER_DAY)) / EG_USEC_PER_SEC;
}

static bool in_deep_sleep(const eg_config *cfg, int64_t t)
{
    int64_t s = day_secs(t);
    if (cfg->sleep_deep_from <= cfg->sleep_deep_to)
        return s >= cfg->sleep_deep_from && s < cfg->sleep_deep_to;
    return s >= cfg->sleep_deep_from || s < cfg->sleep_deep_to;
}

/* the next replay time after t: every interval, and every 15 minutes in deep sleep */
static int64_t next_consolidation(const eg_config *cfg, int64_t t)
{
    int64_t a = floor_to(t, cfg->consolidation_interval) + cfg->consolidation_interval;
    int64_t q = 15 * 60 * EG_USEC_PER_SEC;
    for (int64_t b = floor_to(t, q) + q; b < a; b += q)
        if (in_deep_sleep(cfg, b))
            return b;
    return a;
}

static int64_t next_daily(int64_t t, int64_t at_secs)
{
    int64_t c = floor_to(t, EG_USEC_PER_DAY) + at_secs * EG_USEC_PER_SEC;
    return c > t ? c : c + EG_USEC_PER_DAY;
}

/* next Sunday 03:00 UTC after t (1970-01-04 was a Sunday) */
static int64_t next_weekly(int64_t t)
{
    int64_t week = 7 * EG_USEC_PER_DAY;
    int64_t first = 3 * EG_USEC_PER_DAY + 3 * 3600 * EG_USEC_PER_SEC;
    int64_t c = floor_to(t - first, week) + first;
    while (c <= t)
        c += week;
    return c;
}

/* Nights and Sundays more than this after the last tick or replay pass are rested through: no
 * REM, no homeostasis, until a presentation brings the next tick. Without it their number, and
 * REM's records, grew with the idle time, not with the data (50 memories dated 1926 run to 2026
 * made 36,848 REM nights and 1.77M creative associations in 12 s). Six weeks: within them a
 * Sunday falls more than 30 days after the last co-activation, so homeostasis has pruned every
 * stale edge and its passes change nothing further (but the damping of a memory recalled
 * ~80 times or more), and REM has had 42 nights on the network as it was left. */
static bool resting(const eg_engine_state *g, int64_t t)
{
    return t != INT64_MAX && g->active != INT64_MIN && t > g->active &&
           t - g->active > EG_ENGINE_REST;
}

static int64_t unless_resting(const eg_engine_state *g, int64_t t)
{
    return resting(g, t) ? INT64_MAX : t;
}

/* the first call: a new loop state (eg_engine_advance sets it at the first presentation) */
static int begin(eg_model *md, const eg_config *cfg)
{
    eg_engine_state *g = &md->eng;
    size_t cap_slots = (size_t)(cfg->wm_capacity + cfg->wm_jitter + 1);
    md->ticks = md->replays_done = md->rem_phases = md->homeostasis_phases = md->max_held = 0;
    free(g->held);
    *g = (eg_engine_state){.started = true,
                           .t_cons = INT64_MAX,
                           .t_rem = INT64_MAX,
                           .t_homeo = INT64_MAX,
                           .active = INT64_MIN,
                           .held = calloc(cap_slots, sizeof *g->held),
                           .capheld = cap_slots};
    if (!g->held)
        return eg_error_set(EG_ENOMEM, "out of memory starting the engine");
    return 0;
}

int eg_engine_advance(eg_model *md, const eg_config *cfg, int64_t now)
{
    const int64_t INF = INT64_MAX;
    eg_engine_state *g = &md->eng;
    int rc = 0;
    uint32_t *cand = NULL, *next_held = NULL, *left = NULL;
    uint32_t *stamp = NULL; /* the tick in which a memory was last made a candidate */
    size_t capc = 0;
    size_t cap_slots = (size_t)(cfg->wm_capacity + cfg->wm_jitter + 1);

    if (md->sealed)
        return eg_error_set(EG_EUSAGE, "a sealed model cannot be advanced (eg_model_seal)");
    bool first = !g->started;
    if (first && (rc = begin(md, cfg)))
        return rc;
    if (g->capheld < cap_slots)
        return eg_error_set(EG_ECONFIG, "the engine's state was made with a smaller wm.capacity");
    if ((rc = eg__graph_nodes(&md->assoc, md->n)) ||
        (rc = eg__graph_nodes(&md->concepts, md->nconcepts)))
        return rc;
    /* presentations added since the last call come after every one processed: sorting keeps
     * the processed ones where they are */
    if (md->npres > g->hi) /* (no presentations: pres may be NULL) */
        qsort(md->pres + g->hi, md->npres - g->hi, sizeof *md->pres, cmp_pres);
    if (first) /* the loop starts one tick before the first presentation */
        g->last = md->npres ? ceil_to(md->pres[0].at, cfg->wm_tick) - cfg->wm_tick : 0;
    for (size_t c = 0; c < md->nconcepts; c++) { /* postings in time order, for replay windows */
        /* only the memories added since the last advance can be out of order: they are at the
         * list's end (a resumed run would otherwise read every posting, 10M at 1M memories) */
        uint32_t *p = md->postings[c], n = md->post_n[c], k = n;
        while (k > 0 && p[k - 1] >= g->sorted)
            k--;
        if (k == 0)
            k = 1;
        while (k < n && cmp_by_t0(&p[k - 1], &p[k], md) < 0) /* mostly sorted already */
            k++;
        if (k < n)
            qsort_r(p, n, sizeof *p, cmp_by_t0, md);
    }
    g->sorted = md->n;
    free(md->mark);
    md->mark = calloc(md->n ? md->n : 1, sizeof *md->mark);
    md->mark_epoch = 0;
    if (!md->mark)
        return eg_error_set(EG_ENOMEM, "out of memory starting the engine");
    next_held = calloc(cap_slots, sizeof *next_held);
    left = calloc(cap_slots * 2, sizeof *left);
    stamp = calloc(md->n ? md->n : 1, sizeof *stamp);
    if (!next_held || !left || !stamp) {
        rc = eg_error_set(EG_ENOMEM, "out of memory starting the engine");
        goto done;
    }
    uint32_t *held = g->held;
    size_t nheld = g->nheld;
    size_t lo = g->lo, hi = g->hi; /* presentations in the candidate window: [lo, hi) */
    int64_t last = g->last;
    int64_t t_cons = g->t_cons, t_rem = g->t_rem, t_homeo = g->t_homeo;
    uint32_t tickno = g->tickno;
    for (;;) { /* the next tick: right after the last one while anything is held or in the window */
        int64_t t_tick = INF, nt = floor_to(last, cfg->wm_tick) + cfg->wm_tick;
        if (nheld || lo < hi || (hi < md->npres && md->pres[hi].at <= nt))
            t_tick = nt;
        else if (hi < md->npres)
            t_tick = ceil_to(md->pres[hi].at, cfg->wm_tick);
        if (md->nstm && t_cons == INF)
            t_cons = next_consolidation(cfg, last);
        if (md->nconsolidated >= 2 && t_rem == INF)
            t_rem = unless_resting(g, next_daily(last, 4 * 3600));
        /* from the first concept edge on (a pass may prune the graph empty: the weekly
         * schedule goes on) */
        if ((md->concepts.n || md->homeostasis_phases) && t_homeo == INF)
            t_homeo = unless_resting(g, next_weekly(last));
        int64_t T = t_tick;
        if (t_cons < T)
            T = t_cons;
        if (t_rem < T)
            T = t_rem;
        if (t_homeo < T)
            T = t_homeo;
        if (T == INF || T > now)
            break;
        last = T;

        if (T == t_tick) {
            g->active = T;
            tickno++;
            md->ticks++;
            while (hi < md->npres && md->pres[hi].at <= T) {
                eg_mem *m = &md->m[md->pres[hi].mem];
                if (md->pres[hi].at > m->last_presented || m->last_presented == 0)
                    m->last_presented = md->pres[hi].at;
                m->recalls += md->pres[hi].kind == EG_PRES_RECALLED;
                hi++;
            }
            while (lo < hi && md->pres[lo].at <= T - cfg->wm_window) {
                /* a presentation leaves the window: never selected means unattended */
                uint32_t x = md->pres[lo].mem;
                eg_mem *m = &md->m[x];
                if (m->status == EG_MS_STAGED && !m->held && m->last_presented <= md->pres[lo].at) {
                    m->status = EG_MS_UNATTENDED;
                    if ((rc = eg__journey(md, x, T, "working_memory", "unattended",
                                          "never selected: capacity exceeded, best rank %d of %d",
                                          m->best_rank, m->best_of)))
                        goto done;
                }
                lo++;
            }
            size_t nc = 0, nleft = 0;
            if (EG_GROW(cand, capc, nheld + (hi - lo) + 1)) {
                rc = EG_ENOMEM;
                goto done;
            }
            for (size_t k = 0; k < nheld; k++) {
                eg_mem *m = &md->m[held[k]];
                if (T - m->last_presented >= cfg->wm_window) {
                    left[nleft++] = held[k]; /* its window expired */
                    m->held = false;
                } else {
                    cand[nc++] = held[k];
                    stamp[held[k]] = tickno;
                }
            }
            for (size_t k = lo; k < hi; k++) {
                uint32_t x = md->pres[k].mem;
                eg_mem *m = &md->m[x];
                if (stamp[x] == tickno ||
                    (m->status != EG_MS_STAGED && m->status != EG_MS_UNATTENDED))
                    continue;
                stamp[x] = tickno;
                cand[nc++] = x;
            }
            size_t nnext = 0, nleft2 = 0;
            if (nc &&
                (rc = eg__wm_tick(md, cfg, T, cand, nc, next_held, &nnext, left + nleft, &nleft2)))
                goto done;
            /* every pair held in the same tick is co-active, with its priority (SPEC §7.1) */
            for (size_t a = 0; a < nnext; a++)
                for (size_t b = a + 1; b < nnext; b++)
                    if ((rc = eg__coactivate(md, cfg, next_held[a], next_held[b],
                                             md->m[next_held[a]].priority,
                                             md->m[next_held[b]].priority, T)))
                        goto done;
            memcpy(held, next_held, nnext * sizeof *held);
            nheld = nnext;
            if ((int64_t)nheld > md->max_held)
                md->max_held = (int64_t)nheld;
            if (md->hooks && md->hooks->tick)
                md->hooks->tick(md->hooks->ud, T, held, nheld);
            nleft += nleft2;
            for (size_t k = 0; k < nleft; k++)
                if ((rc = eg__stm_encode(md, cfg, left[k], T)))
                    goto done;
        }
        /* a phase whose condition became true at this instant (an item encoded ready now, the
         * second consolidation, the first concept edge) still runs at it when T is one of its
         * times: the schedule then starts at T, not after it */
        if (md->nstm && t_cons == INF)
            t_cons = next_consolidation(cfg, T - 1);
        if (T == t_cons) {
            g->active = T;
            if ((rc = eg__consolidate(md, cfg, T)))
                goto done;
            t_cons = md->nstm ? next_consolidation(cfg, T) : INF;
        }
        if (md->nconsolidated >= 2 && t_rem == INF)
            t_rem = unless_resting(g, next_daily(T - 1, 4 * 3600));
        if (T == t_rem) {
            if ((rc = eg__rem(md, cfg, T)))
                goto done;
            md->rem_phases++;
            t_rem = md->nconsolidated >= 2 ? unless_resting(g, next_daily(T, 4 * 3600)) : INF;
        }
        if (md->concepts.n && t_homeo == INF)
            t_homeo = unless_resting(g, next_weekly(T - 1));
        if (T == t_homeo) {
            if ((rc = eg__homeostasis(md, cfg, T)))
                goto done;
            if (md->hooks && md->hooks->homeostasis)
                md->hooks->homeostasis(md->hooks->ud, T, md);
            md->homeostasis_phases++;
            t_homeo = unless_resting(g, next_weekly(T));
        }
    }
    /* the loop's state for the next call (on an error the model is not used again) */
    g->nheld = nheld;
    g->lo = lo;
    g->hi = hi;
    g->last = last;
    g->t_cons = t_cons;
    g->t_rem = t_rem;
    g->t_homeo = t_homeo;
    g->tickno = tickno;
done:
    free(cand);
    free(next_held);
    free(left);
    free(stamp);
    return rc;
}

int eg_engine_finish(eg_model *md, const eg_config *cfg, int64_t now)
{
    int rc = 0;
    /* every memory still on its way says where it stands at now */
    for (size_t i = 0; i < md->n && !rc; i++) {
        const eg_mem *m = &md->m[i];
        if (m->status == EG_MS_STAGED) {
            /* its latest presentation the loop has seen, else its first: a UTC time */
            int64_t at = m->last_presented ? m->last_presented : m->t0;
            int64_t days = floor_to(at, EG_USEC_PER_DAY) / EG_USEC_PER_DAY, y;
            int64_t s = day_secs(at);
            unsigned mo, d;
            eg_civil_from_days(days, &y, &mo, &d);
            rc = eg__journey(md, (uint32_t)i, now, "working_memory", "waiting",
                             "presented at %04d-%02d-%02dT%02d:%02d:%02dZ, not yet attended at now",
                             (int)y, (int)mo, (int)d, (int)(s / 3600), (int)(s / 60 % 60),
                             (int)(s % 60));
        } else if (m->status == EG_MS_IN_WM)
            rc = eg__journey(md, (uint32_t)i, now, "working_memory", "held",
                             "held in working memory at now (%d ticks, best slot %d)", m->wm_ticks,
                             m->best_slot);
        else if (m->status == EG_MS_IN_STM)
            rc = eg__journey(md, (uint32_t)i, now, "short_term", "waiting",
                             "in short-term memory at now, %d replays so far", m->replays);
    }
    if (rc)
        return rc;
    return eg__long_term(md, cfg, now);
}

int eg_engine_run(eg_model *md, const eg_config *cfg, int64_t now)
{
    int rc = eg_engine_advance(md, cfg, now);
    return rc ? rc : eg_engine_finish(md, cfg, now);
}
