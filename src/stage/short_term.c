/*
 * short_term.c — encoding into hippocampal short-term memory (SPEC §7.2).
 *
 * An item that leaves working memory joins the open episode, or opens a new one when the gap to
 * the previous encoded item exceeds stm.episode_gap or its concepts overlap the episode's by less
 * than stm.min_overlap (Jaccard; an item without concepts never splits an episode). Per item:
 *   stm_strength = min(1, 0.5·p_encode + {0.2 positive, 0.15 negative, 0.1 neutral} +
 * 0.2·emotional) hebbian_potential = items of the same episode encoded in the preceding hour
 *   consolidation_priority = 0.4·stm_strength + 0.3·log10(1 + episode size)
 *                            + (emotional > 0.7 ? 0.3 : 0.3·emotional)
 * and it is ready for consolidation at once when (hebbian_potential ≥ 3 and priority > 0.5) or
 * emotional > 0.8, else after stm.duration. Episodes keep their goal label (the first concept of
 * their most salient item), task and action counts, and a capped union of their concepts.
 */
#include "stage/engine.h"

#include "engram/error.h"
#include "util/timeutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { EPISODE_CONCEPTS = 64 };

static bool has(const uint32_t *set, uint32_t n, uint32_t c)
{
    for (uint32_t i = 0; i < n; i++)
        if (set[i] == c)
            return true;
    return false;
}

/* Jaccard of the item's concepts and the episode's; -1 when the item has none */
static double overlap(const eg_model *md, const eg_mem *m, const eg_episode *e)
{
    if (!m->c_n)
        return -1;
    uint32_t inter = 0;
    for (uint16_t i = 0; i < m->c_n; i++)
        inter += has(e->concepts, e->nconcepts, md->mc[m->c_off + i]);
    uint32_t uni = e->nconcepts + m->c_n - inter;
    return uni ? (double)inter / uni : 0;
}

static double salience(const eg_mem *m)
{
    return m->importance + m->urgency + m->emotional;
}

int eg__stm_encode(eg_model *md, const eg_config *cfg, uint32_t x, int64_t T)
{
    eg_mem *m = &md->m[x];
    eg_episode *e = md->nep ? &md->ep[md->nep - 1] : NULL;
    double ov = e ? overlap(md, m, e) : 0;
    bool fresh = !e || T - e->last_encoded_at > cfg->stm_episode_gap ||
                 (ov >= 0 && ov < cfg->stm_min_overlap);
    if (fresh) {
        if (EG_GROW(md->ep, md->capep, md->nep + 1))
            return EG_ENOMEM;
        e = &md->ep[md->nep++];
        *e = (eg_episode){.started_at = T, .goal_concept = UINT32_MAX, .first_mem = x, .opener = x};
    }
    m->episode = (int32_t)(e - md->ep);
    e->ended_at = e->last_encoded_at = T;
    e->size++;
    e->tasks += m->task_type == 2;
    e->actions += m->task_type == 3;
    for (uint16_t i = 0; i < m->c_n && e->nconcepts < EPISODE_CONCEPTS; i++) {
        uint32_t c = md->mc[m->c_off + i];
        if (has(e->concepts, e->nconcepts, c))
            continue;
        if (e->nconcepts >= e->capconcepts) {
            /* a list in a snapshot's mapping (no capacity) is copied out */
            uint32_t cap = e->capconcepts ? e->capconcepts * 2 : 8;
            while (cap <= e->nconcepts)
                cap *= 2;
            uint32_t *p =
                e->capconcepts ? realloc(e->concepts, cap * sizeof *p) : malloc(cap * sizeof *p);
            if (!p)
                return eg_error_set(EG_ENOMEM, "out of memory growing an episode");
            if (!e->capconcepts && e->nconcepts)
                memcpy(p, e->concepts, e->nconcepts * sizeof *p);
            e->concepts = p;
            e->capconcepts = cap;
        }
        e->concepts[e->nconcepts++] = c;
    }
    if (m->c_n && (e->goal_concept == UINT32_MAX || salience(m) > salience(&md->m[e->first_mem]))) {
        e->goal_concept = md->mc[m->c_off];
        e->first_mem = x; /* the most salient item so far */
    }

    /* items of this episode encoded in the preceding hour */
    int32_t hp = 0;
    for (size_t k = md->nenc; k-- > 0;) {
        const eg_mem *o = &md->m[md->enc[k]];
        if (o->encoded_at < T - 3600 * EG_USEC_PER_SEC)
            break;
        hp += o->episode == m->episode;
    }
    if (EG_GROW_IN(md->snap, md->enc, md->capenc, md->nenc + 1) ||
        EG_GROW(md->stm, md->capstm, md->nstm + 1))
        return EG_ENOMEM;
    md->enc[md->nenc++] = x;
    md->stm[md->nstm++] = x;

    double emo = m->emotional;
    double bonus = m->sentiment > 0 ? 0.2 : m->sentiment < 0 ? 0.15 : 0.1;
    m->p_encode = m->best_priority;
    m->stm_strength = (float)fmin(1.0, 0.5 * m->p_encode + bonus + 0.2 * emo);
    m->strength = m->stm_strength;
    m->hebbian_potential = hp;
    m->cons_priority =
        (float)(0.4 * m->stm_strength + 0.3 * log10(1.0 + e->size) + (emo > 0.7 ? 0.3 : 0.3 * emo));
    bool now_ready = (hp >= 3 && m->cons_priority > 0.5) || emo > 0.8;
    m->ready_at = now_ready ? T : T + cfg->stm_duration;
    m->encoded_at = T;
    m->status = EG_MS_IN_STM;
    m->held = false;
    m->wm_left_at = T;
    return eg__journey(md, x, T, "short_term", "encoded",
                       "after %d ticks in working memory (best slot %d, priority %.3f): episode "
                       "%lld, strength %.3f, hebbian potential %d, consolidation priority %.3f, %s",
                       m->wm_ticks, m->best_slot, m->best_priority,
                       (long long)md->m[md->ep[m->episode].opener].rowid, m->stm_strength, hp,
                       m->cons_priority,
                       m->ready_at <= T ? "ready now" : "ready after stm.duration");
}
