/*
 * engine.c — the model's bookkeeping (memories, concepts, graphs, journey) and the event loop
 * that advances event time (SPEC §2): working-memory ticks while anything is presented or held,
 * replays every consolidation interval (every 15 minutes in the deep-sleep window) while
 * short-term memory holds items, REM every night at 04:00, homeostasis every Sunday at 03:00.
 * Events at the same instant run in that order. The stages themselves live in their modules.
 */
#include "stage/engine.h"

#include "engram/error.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mstatus_names[] = {"staged", "unattended",   "in_wm",
                                            "in_stm", "consolidated", "forgotten"};

const char *eg_mstatus_name(eg_mstatus s)
{
    return (unsigned)s < sizeof mstatus_names / sizeof *mstatus_names ? mstatus_names[s] : "?";
}

const char *eg_presentation_name(int kind)
{
    static const char *const names[] = {"created", "updated", "recalled", "replayed"};
    return kind >= 0 && kind < 4 ? names[kind] : "?";
}

/* grows *p (of *cap elements of size sz) to hold at least need elements */
int eg__grow(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * sz);
    if (!q)
        return eg_error_set(EG_ENOMEM, "out of memory (engine, %zu elements)", c);
    *p = q;
    *cap = c;
    return 0;
}

void eg_model_init(eg_model *md)
{
    memset(md, 0, sizeof *md);
    eg_buf_init(&md->text, 0);
    eg_buf_init(&md->details, 0);
    eg_pairmap_init(&md->assoc.map);
    eg_pairmap_init(&md->concepts.map);
}

void eg__graph_free(eg_graph *g)
{
    for (size_t i = 0; i < g->nodes; i++)
        free(g->adj ? g->adj[i] : NULL);
    free(g->adj);
    free(g->adj_n);
    free(g->adj_cap);
    free(g->e);
    eg_pairmap_free(&g->map);
    memset(g, 0, sizeof *g);
}

void eg_model_free(eg_model *md)
{
    if (!md)
        return;
    for (size_t i = 0; i < md->nconcepts; i++)
        free(md->postings ? md->postings[i] : NULL);
    for (size_t i = 0; i < md->nep; i++)
        free(md->ep[i].concepts);
    free(md->postings);
    free(md->post_n);
    free(md->post_cap);
    free(md->m);
    free(md->mc);
    free(md->concept_name);
    free(md->pres);
    free(md->ep);
    free(md->jr);
    free(md->ltm);
    free(md->cr);
    free(md->community);
    free(md->stm);
    free(md->enc);
    free(md->rep);
    free(md->mark);
    free(md->intern);
    eg_buf_free(&md->text);
    eg_buf_free(&md->details);
    eg__graph_free(&md->assoc);
    eg__graph_free(&md->concepts);
    memset(md, 0, sizeof *md);
}

const char *eg_model_id(const eg_model *md, uint32_t idx)
{
    return md->text.data + md->m[idx].id_off;
}

const char *eg_model_concept(const eg_model *md, uint32_t c)
{
    return md->text.data + md->concept_name[c];
}

/* ---- concept interning: an open-addressing table name -> concept index ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* makes room for `need` concepts in every per-concept array */
static int ensure_concepts(eg_model *md, size_t need)
{
    if (need <= md->capconcepts)
        return 0;
    size_t cap = md->capconcepts ? md->capconcepts * 2 : 1024;
    while (cap < need)
        cap *= 2;
    uint32_t *names = realloc(md->concept_name, cap * sizeof *names);
    if (names)
        md->concept_name = names;
    uint32_t **post = realloc(md->postings, cap * sizeof *post);
    if (post)
        md->postings = post;
    uint32_t *pn = realloc(md->post_n, cap * sizeof *pn);
    if (pn)
        md->post_n = pn;
    uint32_t *pc = realloc(md->post_cap, cap * sizeof *pc);
    if (pc)
        md->post_cap = pc;
    if (!names || !post || !pn || !pc)
        return eg_error_set(EG_ENOMEM, "out of memory growing the concept table");
    for (size_t i = md->capconcepts; i < cap; i++) {
        md->postings[i] = NULL;
        md->post_n[i] = md->post_cap[i] = 0;
    }
    md->capconcepts = cap;
    return 0;
}

static int intern_concept(eg_model *md, const char *name, uint32_t *out)
{
    if ((md->nconcepts + 1) * 2 > md->intern_cap) {
        size_t cap = md->intern_cap ? md->intern_cap * 2 : 4096;
        uint32_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return eg_error_set(EG_ENOMEM, "out of memory interning concepts");
        for (size_t i = 0; i < md->intern_cap; i++) {
            if (!md->intern[i])
                continue;
            size_t j = hash_str(eg_model_concept(md, md->intern[i] - 1)) & (cap - 1);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = md->intern[i];
        }
        free(md->intern);
        md->intern = slots;
        md->intern_cap = cap;
    }
    size_t j = hash_str(name) & (md->intern_cap - 1);
    while (md->intern[j]) {
        if (!strcmp(eg_model_concept(md, md->intern[j] - 1), name)) {
            *out = md->intern[j] - 1;
            return 0;
        }
        j = (j + 1) & (md->intern_cap - 1);
    }
    if (ensure_concepts(md, md->nconcepts + 1))
        return EG_ENOMEM;
    md->concept_name[md->nconcepts] = (uint32_t)md->text.len;
    if (eg_buf_append(&md->text, name, strlen(name) + 1))
        return EG_ENOMEM;
    md->intern[j] = (uint32_t)md->nconcepts + 1;
    *out = (uint32_t)md->nconcepts++;
    return 0;
}

int eg_model_add(eg_model *md, const eg_mem *in, const char *id, const char *const *concepts,
                 size_t nconcepts, uint32_t *idx)
{
    if (EG_GROW(md->m, md->cap, md->n + 1) || EG_GROW(md->mc, md->capmc, md->nmc + nconcepts))
        return EG_ENOMEM;
    uint32_t k = (uint32_t)md->n;
    eg_mem *m = &md->m[k];
    *m = *in;
    m->id_off = (uint32_t)md->text.len;
    if (eg_buf_append(&md->text, id, strlen(id) + 1))
        return EG_ENOMEM;
    m->c_off = (uint32_t)md->nmc;
    m->c_n = 0;
    for (size_t i = 0; i < nconcepts && m->c_n < UINT16_MAX; i++) {
        uint32_t c = 0;
        if (intern_concept(md, concepts[i], &c))
            return EG_ENOMEM;
        bool dup = false;
        for (uint16_t j = 0; j < m->c_n; j++)
            dup |= md->mc[m->c_off + j] == c;
        if (dup)
            continue;
        md->mc[md->nmc++] = c;
        m->c_n++;
        if (md->post_n[c] == md->post_cap[c]) {
            uint32_t cap = md->post_cap[c] ? md->post_cap[c] * 2 : 4;
            uint32_t *p = realloc(md->postings[c], cap * sizeof *p);
            if (!p)
                return eg_error_set(EG_ENOMEM, "out of memory growing a posting list");
            md->postings[c] = p;
            md->post_cap[c] = cap;
        }
        md->postings[c][md->post_n[c]++] = k;
    }
    m->status = EG_MS_STAGED;
    m->best_slot = -1;
    m->episode = -1;
    m->damping = 1.0f;
    m->held = false;
    if (EG_GROW(md->pres, md->cappres, md->npres + 1))
        return EG_ENOMEM;
    md->pres[md->npres++] = (eg_presentation){.at = m->t0, .mem = k, .kind = EG_PRES_CREATED};
    md->n++;
    *idx = k;
    return 0;
}

int eg_model_add_update(eg_model *md, uint32_t idx, int64_t at)
{
    if (EG_GROW(md->pres, md->cappres, md->npres + 1))
        return EG_ENOMEM;
    md->pres[md->npres++] = (eg_presentation){.at = at, .mem = idx, .kind = EG_PRES_UPDATED};
    return 0;
}

int eg_model_add_recall(eg_model *md, uint32_t idx, int64_t at)
{
    if (EG_GROW(md->pres, md->cappres, md->npres + 1))
        return EG_ENOMEM;
    md->pres[md->npres++] = (eg_presentation){.at = at, .mem = idx, .kind = EG_PRES_RECALLED};
    return 0;
}

int eg__journey(eg_model *md, uint32_t mem, int64_t at, const char *stage, const char *event,
                const char *fmt, ...)
{
    if (EG_GROW(md->jr, md->capjr, md->njr + 1))
        return EG_ENOMEM;
    eg_journey *j = &md->jr[md->njr++];
    j->mem = mem;
    j->at = at;
    j->stage = stage;
    j->event = event;
    j->detail_off = (uint32_t)md->details.len;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return eg_buf_append(&md->details, buf, strlen(buf) + 1);
}

/* ---- graphs ---- */

int eg__graph_nodes(eg_graph *g, size_t nodes)
{
    if (nodes <= g->nodes)
        return 0;
    uint32_t **adj = realloc(g->adj, nodes * sizeof *adj);
    if (adj)
        g->adj = adj;
    uint32_t *n = realloc(g->adj_n, nodes * sizeof *n);
    if (n)
        g->adj_n = n;
    uint32_t *c = realloc(g->adj_cap, nodes * sizeof *c);
    if (c)
        g->adj_cap = c;
    if (!adj || !n || !c)
        return eg_error_set(EG_ENOMEM, "out of memory growing a graph");
    for (size_t i = g->nodes; i < nodes; i++) {
        g->adj[i] = NULL;
        g->adj_n[i] = g->adj_cap[i] = 0;
    }
    g->nodes = nodes;
    return 0;
}

static int adj_add(eg_graph *g, uint32_t node, uint32_t e)
{
    if (g->adj_n[node] == g->adj_cap[node]) {
        uint32_t cap = g->adj_cap[node] ? g->adj_cap[node] * 2 : 4;
        uint32_t *p = realloc(g->adj[node], cap * sizeof *p);
        if (!p)
            return eg_error_set(EG_ENOMEM, "out of memory growing an adjacency list");
        g->adj[node] = p;
        g->adj_cap[node] = cap;
    }
    g->adj[node][g->adj_n[node]++] = e;
    return 0;
}

int eg__graph_touch(eg_graph *g, uint32_t a, uint32_t b, double ai, double aj, double eta,
                    double lambda_per_day, int64_t at)
{
    if (a == b)
        return 0;
    if (a > b) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    uint32_t k = eg_pairmap_get(&g->map, a, b);
    eg_edge *e;
    if (k == UINT32_MAX) {
        if (EG_GROW(g->e, g->cap, g->n + 1))
            return EG_ENOMEM;
        k = (uint32_t)g->n++;
        e = &g->e[k];
        *e = (eg_edge){.a = a, .b = b, .w = 0, .coact = 0, .last_at = at, .dead = false};
        if (eg_pairmap_put(&g->map, a, b, k) || adj_add(g, a, k) || adj_add(g, b, k))
            return EG_ENOMEM;
    } else {
        e = &g->e[k];
        if (e->dead) {
            e->dead = false;
            e->w = 0;
        }
        /* decay since the edge was last touched (SPEC §7.5) */
        double days = (double)(at - e->last_at) / (double)EG_USEC_PER_DAY;
        if (days > 0)
            e->w = (float)(e->w * exp(-lambda_per_day * days));
    }
    /* w <- w + eta * a_i * a_j * (1 - w): stays in [0, 1) */
    e->w = (float)(e->w + eta * ai * aj * (1.0 - e->w));
    e->coact++;
    e->last_at = at;
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
    for (int x = 0; x < ni; x++)
        for (int y = 0; y < nj; y++) {
            uint32_t cx = md->mc[mi->c_off + x], cy = md->mc[mj->c_off + y];
            if (cx != cy && (rc = eg__graph_touch(&md->concepts, cx, cy, ai, aj, cfg->hebbian_rate,
                                                  cfg->hebbian_decay, at)))
                return rc;
        }
    return 0;
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

int eg_engine_run(eg_model *md, const eg_config *cfg, int64_t now)
{
    const int64_t INF = INT64_MAX;
    int rc = 0;
    uint32_t *cand = NULL, *held = NULL, *next_held = NULL, *left = NULL;
    uint32_t *stamp = NULL; /* the tick in which a memory was last made a candidate */
    size_t nheld = 0, capc = 0;
    size_t cap_slots = (size_t)(cfg->wm_capacity + cfg->wm_jitter + 1);
    md->ticks = md->replays_done = md->rem_phases = md->homeostasis_phases = md->max_held = 0;

    if ((rc = eg__graph_nodes(&md->assoc, md->n)) ||
        (rc = eg__graph_nodes(&md->concepts, md->nconcepts)))
        return rc;
    qsort(md->pres, md->npres, sizeof *md->pres, cmp_pres);
    for (size_t c = 0; c < md->nconcepts; c++) /* postings in time order, for replay windows */
        qsort_r(md->postings[c], md->post_n[c], sizeof *md->postings[c], cmp_by_t0, md);
    free(md->mark);
    md->mark = calloc(md->n ? md->n : 1, sizeof *md->mark);
    md->mark_epoch = 0;
    if (!md->mark)
        return eg_error_set(EG_ENOMEM, "out of memory starting the engine");
    held = calloc(cap_slots, sizeof *held);
    next_held = calloc(cap_slots, sizeof *next_held);
    left = calloc(cap_slots * 2, sizeof *left);
    stamp = calloc(md->n ? md->n : 1, sizeof *stamp);
    if (!held || !next_held || !left || !stamp) {
        rc = eg_error_set(EG_ENOMEM, "out of memory starting the engine");
        goto done;
    }
    size_t lo = 0, hi = 0; /* presentations in the candidate window: [lo, hi) */
    int64_t last = md->npres ? ceil_to(md->pres[0].at, cfg->wm_tick) - cfg->wm_tick : 0;
    int64_t t_cons = INF, t_rem = INF, t_homeo = INF;
    uint32_t tickno = 0;
    for (;;) {
        /* the next tick: right after the last one while anything is held or in the window */
        int64_t t_tick = INF, nt = floor_to(last, cfg->wm_tick) + cfg->wm_tick;
        if (nheld || lo < hi || (hi < md->npres && md->pres[hi].at <= nt))
            t_tick = nt;
        else if (hi < md->npres)
            t_tick = ceil_to(md->pres[hi].at, cfg->wm_tick);
        if (md->nstm && t_cons == INF)
            t_cons = next_consolidation(cfg, last);
        if (md->nconsolidated >= 2 && t_rem == INF)
            t_rem = next_daily(last, 4 * 3600);
        if (md->concepts.n && t_homeo == INF)
            t_homeo = next_weekly(last);
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
        if (T == t_cons) {
            if ((rc = eg__consolidate(md, cfg, T)))
                goto done;
            t_cons = md->nstm ? next_consolidation(cfg, T) : INF;
        }
        if (T == t_rem) {
            if ((rc = eg__rem(md, cfg, T)))
                goto done;
            md->rem_phases++;
            t_rem = md->nconsolidated >= 2 ? next_daily(T, 4 * 3600) : INF;
        }
        if (T == t_homeo) {
            if ((rc = eg__homeostasis(md, cfg, T)))
                goto done;
            if (md->hooks && md->hooks->homeostasis)
                md->hooks->homeostasis(md->hooks->ud, T, md);
            md->homeostasis_phases++;
            t_homeo = next_weekly(T);
        }
    }
    /* every memory still on its way says where it stands at now */
    for (size_t i = 0; i < md->n && !rc; i++) {
        const eg_mem *m = &md->m[i];
        if (m->status == EG_MS_STAGED)
            rc = eg__journey(md, (uint32_t)i, now, "working_memory", "waiting",
                             "presented at %lld s, not yet attended at now",
                             (long long)(m->last_presented / EG_USEC_PER_SEC));
        else if (m->status == EG_MS_IN_WM)
            rc = eg__journey(md, (uint32_t)i, now, "working_memory", "held",
                             "held in working memory at now (%d ticks, best slot %d)", m->wm_ticks,
                             m->best_slot);
        else if (m->status == EG_MS_IN_STM)
            rc = eg__journey(md, (uint32_t)i, now, "short_term", "waiting",
                             "in short-term memory at now, %d replays so far", m->replays);
    }
    if (!rc)
        rc = eg__long_term(md, cfg, now);
done:
    free(cand);
    free(held);
    free(next_held);
    free(left);
    free(stamp);
    return rc;
}
