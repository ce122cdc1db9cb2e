/*
 * working_memory.c — one attention tick of prefrontal working memory (SPEC §7.1).
 *
 * Given the candidates of tick T (memories presented in the last wm.window that are not encoded
 * yet, plus the items held), it scores each with
 *   p = (0.4·importance + 0.3·urgency + 0.3·emotional_salience) · exp(−(T − t_presented)/wm.tau),
 * keeps the top wm.capacity (± a deterministic jitter seeded by T) in slots 1..k — ties broken by
 * earlier presentation, then id — and reports which held items were displaced. It records each
 * memory's ticks, best slot, best priority and, for those not selected, their best rank.
 * It owns nothing; the event loop (engine.c) decides when ticks happen.
 */
#include "stage/engine.h"

#include "engram/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct scored {
    uint32_t mem;
    double p;
    int64_t t;
    const char *id;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return strcmp(x->id, y->id);
}

/* capacity of tick T: wm.capacity ± wm.jitter, from a hash of T (SplitMix64) */
static int capacity_at(const eg_config *cfg, int64_t T)
{
    if (cfg->wm_jitter <= 0)
        return cfg->wm_capacity;
    uint64_t z = (uint64_t)T + UINT64_C(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    int c = cfg->wm_capacity + (int)(z % (uint64_t)(2 * cfg->wm_jitter + 1)) - cfg->wm_jitter;
    return c < 1 ? 1 : c;
}

int eg__wm_tick(eg_model *md, const eg_config *cfg, int64_t T, const uint32_t *cand, size_t ncand,
                uint32_t *held, size_t *nheld, uint32_t *left, size_t *nleft)
{
    scored *s = malloc(ncand * sizeof *s);
    int rc = 0;
    if (!s)
        return eg_error_set(EG_ENOMEM, "out of memory in a working-memory tick");
    for (size_t i = 0; i < ncand; i++) {
        eg_mem *m = &md->m[cand[i]];
        double base = 0.4 * m->importance + 0.3 * m->urgency + 0.3 * m->emotional;
        double age = (double)(T - m->last_presented) / (double)cfg->wm_tau;
        s[i] = (scored){cand[i], base * exp(-age), m->last_presented, eg_model_id(md, cand[i])};
        m->priority = (float)s[i].p;
    }
    qsort(s, ncand, sizeof *s, cmp_scored);
    size_t cap = (size_t)capacity_at(cfg, T);
    *nheld = *nleft = 0;
    for (size_t r = 0; r < ncand; r++) {
        uint32_t x = s[r].mem;
        eg_mem *m = &md->m[x];
        if (r < cap) {
            int slot = (int)r + 1;
            if (!m->held) {
                if (m->wm_ticks == 0)
                    m->wm_entered_at = T;
                if ((rc = eg__journey(md, x, T, "working_memory", "selected",
                                      "slot %d of %zu, priority %.3f", slot, cap, s[r].p)))
                    break;
            }
            m->held = true;
            m->status = EG_MS_IN_WM;
            m->wm_ticks++;
            if (m->best_slot < 0 || slot < m->best_slot)
                m->best_slot = (int16_t)slot;
            if (s[r].p > m->best_priority)
                m->best_priority = (float)s[r].p;
            held[(*nheld)++] = x;
        } else if (m->held) {
            m->held = false; /* displaced by higher priorities */
            left[(*nleft)++] = x;
            if ((rc = eg__journey(md, x, T, "working_memory", "displaced",
                                  "rank %zu of %zu, priority %.3f", r + 1, ncand, s[r].p)))
                break;
        } else if (m->best_rank == 0 || (int32_t)(r + 1) < m->best_rank) {
            m->best_rank = (int32_t)(r + 1);
            m->best_of = (int32_t)ncand;
        }
    }
    free(s);
    return rc;
}
