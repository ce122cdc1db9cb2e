/*
 * test_engine.c — properties of the biological pipeline (SPEC §7) on generated streams:
 * working memory never holds more than capacity (+jitter) items in a tick; every memory ends
 * with exactly one status and a journey that explains it; two runs on the same input are
 * identical; Hebbian weights stay in [0, 1) and co-activation counts equal a brute-force count of
 * the ticks and replays in which two memories were active together; homeostasis bounds each
 * concept's total edge weight; the sample-like stream reaches every stage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>

#include "engram/config.h"
#include "engram/error.h"
#include "core/snapshot.h"
#include "stage/engine.h"
#include "util/timeutil.h"

static const char *const vocab[] = {"garden", "pond",   "maya",  "budget", "deadline", "report",
                                    "tomato", "basil",  "paris", "flight", "hotel",    "code",
                                    "review", "deploy", "bug",   "coffee", "plumber",  "leak"};

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A stream of n memories in working sessions over `days` days, seeded. */
/* memories from..to-1 of the stream make_stream(md, n, days, seed) makes */
static void make_stream_part(eg_model *md, int n, int days, uint64_t seed, int from, int to);

static void make_stream(eg_model *md, int n, int days, uint64_t seed)
{
    make_stream_part(md, n, days, seed, 0, n);
}

static void make_stream_part(eg_model *md, int n, int days, uint64_t seed, int from, int to)
{
    int64_t t = 1767225600LL * EG_USEC_PER_SEC; /* 2026-01-01 */
    uint64_t s = seed;
    for (int i = 0; i < n; i++) {
        /* mostly minutes apart inside a session, sometimes hours apart */
        int64_t gap = rng_next(&s) % 10 == 0 ? (int64_t)(rng_next(&s) % (uint64_t)(days * 3)) * 3600
                                             : (int64_t)(rng_next(&s) % 240);
        t += gap * EG_USEC_PER_SEC + 1;
        eg_mem m = {0};
        char id[32];
        snprintf(id, sizeof id, "m%05d", i);
        m.rowid = i + 1;
        m.t0 = t;
        m.importance = (float)(rng_next(&s) % 100) / 100.0f;
        m.urgency = (float)(rng_next(&s) % 100) / 100.0f;
        m.emotional = (float)(rng_next(&s) % 100) / 100.0f;
        m.sentiment = (int8_t)((int)(rng_next(&s) % 3) - 1);
        m.abstraction = 3;
        const char *names[4];
        size_t nn = 1 + rng_next(&s) % 4;
        for (size_t k = 0; k < nn; k++)
            names[k] = vocab[rng_next(&s) % (sizeof vocab / sizeof *vocab)];
        uint32_t idx;
        if (i >= from && i < to)
            assert_int_equal(eg_model_add(md, &m, id, names, nn, &idx), 0);
    }
}

static eg_config cfg;

static int setup(void **state)
{
    (void)state;
    setenv("ENGRAM_CONFIG", "/dev/null", 1);
    unsetenv("ENGRAM_PROFILE");
    return eg_config_load(&cfg, NULL);
}

static int teardown(void **state)
{
    (void)state;
    eg_config_free(&cfg);
    return 0;
}

static int64_t end_of(const eg_model *md)
{
    return md->m[md->n - 1].t0 + 3 * EG_USEC_PER_DAY;
}

/* ---- capacity ---- */

typedef struct cap_obs {
    size_t limit, max;
    int64_t ticks;
} cap_obs;

static void cap_tick(void *ud, int64_t T, const uint32_t *held, size_t n)
{
    (void)T;
    (void)held;
    cap_obs *o = ud;
    if (n > o->max)
        o->max = n;
    o->ticks++;
}

static void test_capacity_never_exceeded(void **state)
{
    (void)state;
    for (int jitter = 0; jitter <= 2; jitter += 2) {
        eg_model md;
        eg_model_init(&md);
        /* 40 memories in the same minute: far more than working memory holds */
        for (int i = 0; i < 40; i++) {
            eg_mem m = {.rowid = i + 1,
                        .t0 = 1767225600LL * EG_USEC_PER_SEC + i,
                        .importance = 0.5f + (float)(i % 7) / 20,
                        .urgency = 0.3f,
                        .emotional = 0.3f};
            char id[16];
            snprintf(id, sizeof id, "c%02d", i);
            const char *name = "burst";
            uint32_t idx;
            assert_int_equal(eg_model_add(&md, &m, id, &name, 1, &idx), 0);
        }
        cap_obs o = {.limit = (size_t)(cfg.wm_capacity + jitter)};
        eg_engine_hooks h = {.ud = &o, .tick = cap_tick};
        md.hooks = &h;
        cfg.wm_jitter = jitter;
        assert_int_equal(eg_engine_run(&md, &cfg, end_of(&md)), 0);
        cfg.wm_jitter = 0;
        assert_true(o.ticks > 0);
        assert_true(o.max <= o.limit);
        assert_true(o.max >= (size_t)cfg.wm_capacity - (size_t)jitter); /* it does fill up */
        int unattended = 0;
        for (size_t i = 0; i < md.n; i++)
            unattended += md.m[i].status == EG_MS_UNATTENDED;
        assert_true(unattended > 0); /* 40 candidates, 7 slots, a 5-minute window */
        eg_model_free(&md);
    }
}

/* ---- one status and a journey per memory ---- */

static void test_every_memory_has_status_and_journey(void **state)
{
    (void)state;
    eg_model md;
    eg_model_init(&md);
    make_stream(&md, 400, 5, 42);
    assert_int_equal(eg_engine_run(&md, &cfg, end_of(&md)), 0);
    int *njr = calloc(md.n, sizeof *njr);
    assert_non_null(njr);
    for (size_t k = 0; k < md.njr; k++)
        njr[md.jr[k].mem]++;
    int seen[6] = {0};
    for (size_t i = 0; i < md.n; i++) {
        const eg_mem *m = &md.m[i];
        assert_true(m->status <= EG_MS_FORGOTTEN);
        seen[m->status]++;
        assert_true(njr[i] > 0);
        /* the last journey step names the fate */
        const eg_journey *last = NULL;
        for (size_t k = 0; k < md.njr; k++)
            if (md.jr[k].mem == i)
                last = &md.jr[k];
        if (m->status == EG_MS_CONSOLIDATED)
            assert_string_equal(eg_journey_event(&md, last), "consolidated");
        else if (m->status == EG_MS_FORGOTTEN)
            assert_string_equal(eg_journey_event(&md, last), "forgotten");
        else if (m->status == EG_MS_UNATTENDED)
            assert_string_equal(eg_journey_event(&md, last), "unattended");
    }
    assert_true(seen[EG_MS_CONSOLIDATED] > 0);
    assert_true(seen[EG_MS_FORGOTTEN] > 0);
    assert_true(md.nep > 0 && md.nltm > 0);
    free(njr);
    eg_model_free(&md);
}

/* ---- determinism ---- */

static void assert_same_outcome(const eg_model *pa, const eg_model *pb);

static void test_two_runs_identical(void **state)
{
    (void)state;
    eg_model a, b;
    eg_model_init(&a);
    eg_model_init(&b);
    make_stream(&a, 300, 4, 7);
    make_stream(&b, 300, 4, 7);
    assert_int_equal(eg_engine_run(&a, &cfg, end_of(&a)), 0);
    assert_int_equal(eg_engine_run(&b, &cfg, end_of(&b)), 0);
    assert_same_outcome(&a, &b);
    eg_model_free(&a);
    eg_model_free(&b);
}

/* Two models after their runs: the same outcome, field by field (struct padding is not part of
 * the result). */
static void assert_same_outcome(const eg_model *pa, const eg_model *pb)
{
    const eg_model a = *pa, b = *pb;
    assert_int_equal(a.n, b.n);
    for (size_t i = 0; i < a.n; i++) {
        const eg_mem *x = &a.m[i], *y = &b.m[i];
        assert_int_equal(x->status, y->status);
        assert_int_equal(x->wm_ticks, y->wm_ticks);
        assert_int_equal(x->best_slot, y->best_slot);
        assert_true(x->best_priority == y->best_priority);
        assert_int_equal(x->episode, y->episode);
        assert_int_equal(x->encoded_at, y->encoded_at);
        assert_true(x->stm_strength == y->stm_strength);
        assert_int_equal(x->replays, y->replays);
        assert_true(x->pre == y->pre);
        assert_int_equal(x->consolidated_at, y->consolidated_at);
        assert_int_equal(x->forgotten_at, y->forgotten_at);
    }
    for (int gi = 0; gi < 2; gi++) {
        const eg_graph *ga = gi ? &a.concepts : &a.assoc, *gb = gi ? &b.concepts : &b.assoc;
        assert_int_equal(ga->n, gb->n);
        for (size_t k = 0; k < ga->n; k++) {
            assert_int_equal(ga->e[k].a, gb->e[k].a);
            assert_int_equal(ga->e[k].b, gb->e[k].b);
            assert_true(ga->e[k].w == gb->e[k].w);
            assert_int_equal(ga->e[k].coact, gb->e[k].coact);
            assert_int_equal(ga->e[k].last_at, gb->e[k].last_at);
            assert_int_equal(ga->e[k].dead, gb->e[k].dead);
        }
    }
    if (!b.jr_base) { /* (a model resumed from a snapshot holds only its latest lines: the
                         caller compares them memory by memory) */
        assert_int_equal(a.njr, b.njr);
        assert_int_equal(a.details.len, b.details.len);
        assert_memory_equal(a.details.data, b.details.data, a.details.len);
    }
    assert_int_equal(a.ncr, b.ncr);
    assert_int_equal(a.nep, b.nep);
    assert_int_equal(a.nltm, b.nltm);
    for (size_t k = 0; k < a.nltm; k++) {
        assert_int_equal(a.ltm[k].mem, b.ltm[k].mem);
        assert_int_equal(a.ltm[k].category, b.ltm[k].category);
        assert_int_equal(a.ltm[k].minicolumn, b.ltm[k].minicolumn);
        assert_string_equal(a.ltm[k].state, b.ltm[k].state);
    }
    for (size_t k = 0; k < a.ncr; k++) {
        assert_int_equal(a.cr[k].a, b.cr[k].a);
        assert_int_equal(a.cr[k].b, b.cr[k].b);
        assert_int_equal(a.cr[k].at, b.cr[k].at);
    }
    assert_int_equal(a.ticks, b.ticks);
    assert_int_equal(a.replays_done, b.replays_done);
    assert_int_equal(a.rem_phases, b.rem_phases);
    assert_int_equal(a.homeostasis_phases, b.homeostasis_phases);
}

/* Advancing in steps, with the memories presented after each step added between the steps (as
 * a resumed run would), ends where one run over all of them ends: the foundation of checkpointed
 * runs (docs/adr/0008). Cuts inside sessions, between them, and a step with nothing new. With
 * through_snapshot, after each step the model goes through a snapshot file and the simulation
 * goes on in the model read back (what a resumed `engram run` does): the snapshot must carry
 * every piece of state the engine reads. */
static void steps_equal_one_run(bool through_snapshot)
{
    const int n = 400, days = 12;
    char path[] = "/tmp/eg-test-snapshot-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    eg_model one, steps;
    eg_model_init(&one);
    eg_model_init(&steps);
    make_stream(&one, n, days, 11);
    int64_t end = end_of(&one);
    assert_int_equal(eg_engine_run(&one, &cfg, end), 0);
    /* the comparison has teeth only if every phase ran */
    assert_true(one.ncr > 0 && one.homeostasis_phases > 0 && one.nltm > 0 && one.replays_done > 0);
    const int cuts[] = {0, 37, 150, 151, 290, n};
    for (size_t c = 1; c < sizeof cuts / sizeof *cuts; c++) {
        make_stream_part(&steps, n, days, 11, cuts[c - 1], cuts[c]);
        if (cuts[c] == n)
            break;
        /* up to just before the next memory, then a step with nothing new */
        int64_t next_t0 = one.m[cuts[c]].t0;
        int64_t t = steps.m[steps.n - 1].t0 + (next_t0 - steps.m[steps.n - 1].t0) / 2;
        assert_int_equal(eg_engine_advance(&steps, &cfg, t), 0);
        if (through_snapshot) {
            eg_snapshot_key key = {.generation = (int64_t)c, .now = t, .config = 42}, back;
            assert_int_equal(eg_snapshot_write(&steps, &key, path), 0);
            eg_model_free(&steps);
            eg_model_init(&steps);
            assert_int_equal(eg_snapshot_read(&steps, &back, path), 0);
            assert_memory_equal(&back, &key, sizeof key);
        }
        assert_int_equal(eg_engine_advance(&steps, &cfg, t + (next_t0 - t) / 2), 0);
    }
    assert_int_equal(eg_engine_advance(&steps, &cfg, end), 0);
    assert_int_equal(eg_engine_finish(&steps, &cfg, end), 0);
    assert_same_outcome(&one, &steps);
    /* the journeys too: through snapshots the model holds only the lines since the last one,
     * after jr_base[i] older lines; each memory's lines are those of one run, the same last
     * ones in the same order */
    eg_buf d1, d2;
    eg_buf_init(&d1, 0);
    eg_buf_init(&d2, 0);
    for (uint32_t i = 0; i < one.n; i++) {
        size_t base = steps.jr_base && i < steps.njr_base ? steps.jr_base[i] : 0, n1 = 0, n2 = 0;
        for (size_t k = 0; k < one.njr; k++)
            n1 += one.jr[k].mem == i;
        for (size_t k = 0; k < steps.njr; k++)
            n2 += steps.jr[k].mem == i;
        assert_int_equal(n1, base + n2);
        size_t k1 = 0, seen = 0;
        for (size_t k2 = 0; k2 < steps.njr; k2++) {
            if (steps.jr[k2].mem != i)
                continue;
            while (one.jr[k1].mem != i || seen < base) /* the next line of i in one run */
                seen += one.jr[k1++].mem == i;
            assert_string_equal(eg_journey_stage(&one, &one.jr[k1]),
                                eg_journey_stage(&steps, &steps.jr[k2]));
            assert_string_equal(eg_journey_event(&one, &one.jr[k1]),
                                eg_journey_event(&steps, &steps.jr[k2]));
            assert_int_equal(one.jr[k1].at, steps.jr[k2].at);
            assert_int_equal(eg_journey_detail(&one, &one.jr[k1], &d1), 0);
            assert_int_equal(eg_journey_detail(&steps, &steps.jr[k2], &d2), 0);
            assert_string_equal(d1.data, d2.data);
            k1++;
        }
    }
    eg_buf_free(&d1);
    eg_buf_free(&d2);
    if (through_snapshot)
        assert_non_null(steps.jr_base);
    else
        assert_int_equal(one.njr, steps.njr);
    eg_model_free(&one);
    eg_model_free(&steps);
    unlink(path);
}

static void test_steps_with_appended_memories(void **state)
{
    (void)state;
    steps_equal_one_run(false);
}

static void test_steps_through_snapshots(void **state)
{
    (void)state;
    steps_equal_one_run(true);
}

/* A state made with one wm.capacity cannot go on with a larger one: the held items would not
 * fit the state's slots. */
static void test_state_needs_room_for_capacity(void **state)
{
    (void)state;
    eg_model md;
    eg_model_init(&md);
    make_stream(&md, 50, 2, 3);
    int64_t mid = md.m[25].t0;
    assert_int_equal(eg_engine_advance(&md, &cfg, mid), 0);
    eg_config bigger = cfg;
    bigger.wm_capacity = cfg.wm_capacity + 2;
    assert_int_equal(eg_engine_advance(&md, &bigger, end_of(&md)), EG_ECONFIG);
    assert_non_null(strstr(eg_error_last()->message, "wm.capacity"));
    /* the same capacity still goes on */
    assert_int_equal(eg_engine_advance(&md, &cfg, end_of(&md)), 0);
    eg_model_free(&md);
}

/* ---- Hebbian bounds and a brute-force count of co-activations ---- */

typedef struct coact_obs {
    int n;
    int *count; /* n x n */
} coact_obs;

static void count_pair(coact_obs *o, uint32_t a, uint32_t b)
{
    if (a == b)
        return;
    o->count[(size_t)a * (size_t)o->n + b]++;
    o->count[(size_t)b * (size_t)o->n + a]++;
}

static void obs_tick(void *ud, int64_t T, const uint32_t *held, size_t n)
{
    (void)T;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            count_pair(ud, held[i], held[j]);
}

static void obs_replay(void *ud, int64_t T, uint32_t x, const uint32_t *assoc, int n)
{
    (void)T;
    for (int k = 0; k < n; k++)
        count_pair(ud, x, assoc[k]);
}

static void test_hebbian_bounds_and_counts(void **state)
{
    (void)state;
    eg_model md;
    eg_model_init(&md);
    make_stream(&md, 60, 2, 99);
    coact_obs o = {.n = (int)md.n, .count = calloc(md.n * md.n, sizeof(int))};
    assert_non_null(o.count);
    eg_engine_hooks h = {.ud = &o, .tick = obs_tick, .replay = obs_replay};
    md.hooks = &h;
    assert_int_equal(eg_engine_run(&md, &cfg, end_of(&md)), 0);
    int edges = 0;
    for (size_t k = 0; k < md.assoc.n; k++) {
        const eg_edge *e = &md.assoc.e[k];
        assert_true(e->w >= 0 && e->w < 1);
        assert_int_equal(e->coact, o.count[(size_t)e->a * md.n + e->b]);
        edges++;
    }
    /* and no pair was co-active without an edge */
    for (size_t a = 0; a < md.n; a++)
        for (size_t b = a + 1; b < md.n; b++)
            if (o.count[a * md.n + b])
                assert_int_not_equal(eg_pairmap_get(&md.assoc.map, (uint32_t)a, (uint32_t)b),
                                     UINT32_MAX);
    assert_true(edges > 0);
    for (size_t k = 0; k < md.concepts.n; k++)
        assert_true(md.concepts.e[k].w >= 0 && md.concepts.e[k].w < 1);
    free(o.count);
    eg_model_free(&md);
}

/* w ← w + η·a_i·a_j·(1 − w) (SPEC §7.3) never reaches 1 in exact arithmetic; a float rounding
 * took it to 1.0 (a concept edge of a stream of strong memories with hebbian.rate = 0.9), after
 * which (1 − w) = 0 stopped all learning on the edge and REM's novelty was 0. */
static void test_hebbian_weight_stays_below_one(void **state)
{
    (void)state;
    eg_model md;
    eg_model_init(&md);
    assert_int_equal(eg__graph_nodes(&md.assoc, 2), 0);
    for (int k = 0; k < 200; k++)
        assert_int_equal(eg__graph_touch(&md.assoc, 0, 1, 1.0, 1.0, 0.9, 0.001, 1000 + k), 0);
    assert_int_equal(md.assoc.n, 1);
    assert_true(md.assoc.e[0].w > 0.999f);
    assert_true(md.assoc.e[0].w < 1.0f);
    assert_int_equal(md.assoc.e[0].coact, 200);
    eg_model_free(&md);
}

/* ---- homeostasis ---- */

static int homeo_calls;

static void obs_homeo(void *ud, int64_t T, const struct eg_model *md)
{
    (void)T;
    const eg_config *c = ud;
    const eg_graph *g = &md->concepts;
    for (size_t n = 0; n < g->nodes; n++) {
        double sum = 0;
        for (uint32_t k = 0; k < g->adj_n[n]; k++)
            if (!g->e[g->adj[n][k]].dead)
                sum += g->e[g->adj[n][k]].w;
        assert_true(sum <= c->homeostasis_max_out + 1e-4);
    }
    homeo_calls++;
}

static void test_homeostasis_bounds_out_weight(void **state)
{
    (void)state;
    eg_model md;
    eg_model_init(&md);
    make_stream(&md, 1500, 30, 5); /* weeks of a small vocabulary: heavy concept edges */
    eg_config c = cfg;
    c.homeostasis_max_out = 2.0;
    eg_engine_hooks h = {.ud = &c, .homeostasis = obs_homeo};
    md.hooks = &h;
    homeo_calls = 0;
    assert_int_equal(eg_engine_run(&md, &c, end_of(&md)), 0);
    assert_true(homeo_calls > 0);
    eg_model_free(&md);
}

/* After each pass no concept has more than homeostasis.max_degree edges, and the graph is
 * whole: no dead edge is left, every adjacency entry is an edge of its node, each adjacency list
 * is in edge order (eg__communities finds each node's voters in edge order and counts on it),
 * and the pair index finds every edge at its (renumbered) place. */
static void obs_degree(void *ud, int64_t T, const struct eg_model *md)
{
    (void)T;
    const eg_config *c = ud;
    const eg_graph *g = &md->concepts;
    size_t ends = 0;
    for (size_t n = 0; n < g->nodes; n++) {
        assert_true(g->adj_n[n] <= (uint32_t)c->homeostasis_max_degree);
        for (uint32_t k = 0; k < g->adj_n[n]; k++) {
            const eg_edge *e = &g->e[g->adj[n][k]];
            assert_true(e->a == n || e->b == n);
            if (k)
                assert_true(g->adj[n][k - 1] < g->adj[n][k]);
        }
        ends += g->adj_n[n];
    }
    assert_int_equal(ends, 2 * g->n);
    for (size_t k = 0; k < g->n; k++) {
        assert_false(g->e[k].dead);
        assert_int_equal(eg_pairmap_get(&g->map, g->e[k].a, g->e[k].b), k);
    }
    homeo_calls++;
}

static void test_homeostasis_bounds_degree(void **state)
{
    (void)state;
    eg_model md, free_md;
    eg_model_init(&md);
    eg_model_init(&free_md);
    make_stream(&md, 1500, 30, 5);
    make_stream(&free_md, 1500, 30, 5);
    eg_config c = cfg, unbounded = cfg;
    c.homeostasis_max_degree = 6;
    unbounded.homeostasis_max_degree = 0;
    eg_engine_hooks h = {.ud = &c, .homeostasis = obs_degree};
    md.hooks = &h;
    homeo_calls = 0;
    assert_int_equal(eg_engine_run(&md, &c, end_of(&md)), 0);
    assert_true(homeo_calls > 0);
    assert_int_equal(eg_engine_run(&free_md, &unbounded, end_of(&free_md)), 0);
    /* the bound bit: without it some concept has more edges */
    uint32_t most = 0;
    for (size_t n = 0; n < free_md.concepts.nodes; n++)
        most = free_md.concepts.adj_n[n] > most ? free_md.concepts.adj_n[n] : most;
    assert_true(most > 6);
    assert_true(free_md.concepts.n > md.concepts.n);
    eg_model_free(&md);
    eg_model_free(&free_md);
}

/* A journey line keeps its detail's arguments and formats them when asked: the text equals what
 * snprintf makes of the same format and arguments, for every conversion the stages use (and
 * more), with literal percent signs, flags, widths, and a text cut at 511 bytes as before; a
 * format it cannot keep is refused when the line is added. */
static void test_journey_detail(void **state)
{
    (void)state;
    eg_model md;
    eg_model_init(&md);
    static const char stage[] = "test", ev[] = "event";
    static const char f1[] =
        "slot %d of %zu, priority %.3f (100%%), %s; %lld s, %u, %ld, %+5.1e %g";
    static const char f2[] = "%s";
    char want[512];
    long long big = -1234567890123LL;
    assert_int_equal(eg__journey(&md, 0, 10, stage, ev, f1, -7, (size_t)9, 0.4345, "ready now", big,
                                 4000000000u, -5L, 12345.678, 0.1),
                     0);
    snprintf(want, sizeof want, f1, -7, (size_t)9, 0.4345, "ready now", big, 4000000000u, -5L,
             12345.678, 0.1);
    static char longer[700];
    memset(longer, 'x', sizeof longer - 1);
    assert_int_equal(eg__journey(&md, 1, 11, stage, "other", f2, longer), 0);
    assert_int_equal(md.njr, 2);
    assert_int_equal(md.njkinds, 2);
    eg_buf out;
    eg_buf_init(&out, 0);
    assert_int_equal(eg_journey_detail(&md, &md.jr[0], &out), 0);
    assert_string_equal(out.data, want);
    assert_string_equal(eg_journey_stage(&md, &md.jr[0]), "test");
    assert_string_equal(eg_journey_event(&md, &md.jr[1]), "other");
    assert_int_equal(eg_journey_detail(&md, &md.jr[1], &out), 0);
    assert_int_equal(strlen(out.data), 511);
    /* the same kind again is not a new kind */
    assert_int_equal(
        eg__journey(&md, 2, 12, stage, ev, f1, 1, (size_t)2, 0.5, "x", 0LL, 0u, 0L, 0.0, 0.0), 0);
    assert_int_equal(md.njkinds, 2);
    assert_int_equal(md.jr[2].kind, md.jr[0].kind);
    /* a conversion it does not know ('*' width, %p, %c) is refused, the line not added */
    static const char bad[] = "%*d";
    assert_int_equal(eg__journey(&md, 0, 13, stage, ev, bad, 3, 4), EG_EUSAGE);
    assert_int_equal(md.njr, 3);
    eg_buf_free(&out);
    eg_model_free(&md);
}

/* ---- phases at the instant their condition becomes true ---- */

static uint32_t add_one(eg_model *md, const char *id, int64_t t0, float emotional,
                        const char *concept)
{
    eg_mem m = {.rowid = (int64_t)md->n + 1,
                .t0 = t0,
                .importance = 0.5f,
                .urgency = 0.5f,
                .emotional = emotional,
                .abstraction = 3};
    uint32_t idx;
    assert_int_equal(eg_model_add(md, &m, id, &concept, 1, &idx), 0);
    return idx;
}

/* A phase runs at each of its times while its condition holds, also when the condition became
 * true earlier at that same instant: an item encoded ready now at a replay time is replayed
 * then (SPEC §7.3 "Replay runs every consolidation.interval"), the second consolidation at 04:00
 * is followed by that night's REM (§7.5 "REM (nightly, 04:00)"), and the first concept edge
 * made by the Sunday 03:00 tick by that Sunday's homeostasis ("weekly, Sunday 03:00"). Before,
 * each waited for the next time after that instant: the replay an hour, REM a day, homeostasis
 * a week, and only when nothing else had the phase scheduled already. */
static void test_phase_at_the_instant_its_condition_holds(void **state)
{
    (void)state;
    const int64_t S = EG_USEC_PER_SEC, day0 = 1767484800LL * S; /* Sunday 2026-01-04 00:00 UTC */
    /* emotional 0.9: ready at encoding, and strong enough to consolidate with no associate */
    eg_model md;
    eg_model_init(&md);
    uint32_t x = add_one(&md, "r1", day0 + 10 * 3600 * S - 330 * S, 0.9f, "alpha");
    assert_int_equal(eg_engine_run(&md, &cfg, day0 + 12 * 3600 * S), 0);
    assert_int_equal(md.m[x].encoded_at, day0 + 10 * 3600 * S);
    assert_int_equal(md.m[x].status, EG_MS_CONSOLIDATED);
    assert_int_equal(md.m[x].consolidated_at, day0 + 10 * 3600 * S);
    eg_model_free(&md);

    /* the first at 03:15 (deep sleep), the second encoded, replayed and consolidated at 04:00 */
    eg_model_init(&md);
    add_one(&md, "a", day0 + 3 * 3600 * S + 30 * S, 0.9f, "alpha");
    uint32_t b = add_one(&md, "b", day0 + 4 * 3600 * S - 330 * S, 0.9f, "beta");
    assert_int_equal(eg_engine_run(&md, &cfg, day0 + 4 * 3600 * S + 1800 * S), 0);
    assert_int_equal(md.m[b].consolidated_at, day0 + 4 * 3600 * S);
    assert_int_equal(md.rem_phases, 1);
    eg_model_free(&md);

    /* two memories held together first at the Sunday 03:00 tick: the first concept edge */
    eg_model_init(&md);
    add_one(&md, "h1", day0 + 3 * 3600 * S - 30 * S, 0.3f, "alpha");
    add_one(&md, "h2", day0 + 3 * 3600 * S - 20 * S, 0.3f, "beta");
    assert_int_equal(eg_engine_run(&md, &cfg, day0 + 3 * 3600 * S + 1800 * S), 0);
    assert_true(md.concepts.n > 0);
    assert_int_equal(md.homeostasis_phases, 1);
    eg_model_free(&md);
}

/* Regression: REM nights and homeostasis Sundays went on for as long as event time ran, with
 * nothing presented: 50 memories dated 1926 run to 2026 made 36,848 REM nights and 1.77M
 * creative associations in 12 s. The network now rests from EG_ENGINE_REST (six weeks) after
 * its last tick or replay, and wakes with the next presentation; in steps through snapshots
 * (across the rest and the wake) it ends where one run ends. */
static void test_phases_rest_when_idle(void **state)
{
    (void)state;
    const int64_t S = EG_USEC_PER_SEC, D = EG_USEC_PER_DAY, years = 20 * 365 * D;
    char path[] = "/tmp/eg-test-snapshot-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    eg_model one, steps;
    eg_model_init(&one);
    eg_model_init(&steps);
    make_stream(&one, 120, 3, 5);
    make_stream(&steps, 120, 3, 5);
    int64_t last = one.m[one.n - 1].t0, wake = last + years;
    int64_t cuts[] = {last + 10 * D, last + 45 * D, last + years / 2, wake - 1};
    /* twenty years with nothing new: about six weeks of phases, not twenty years of them */
    assert_int_equal(eg_engine_advance(&one, &cfg, wake - 1), 0);
    assert_true(one.nconsolidated >= 2 && one.concepts.n > 0);
    int64_t rem = one.rem_phases, homeo = one.homeostasis_phases;
    assert_true(rem > 0 && rem <= 3 + 42 + 2);
    assert_true(homeo <= 6 + 2);
    /* then two emotional memories (ready and consolidated at once) wake it up */
    const char *ids[] = {"w1", "w2"};
    for (int k = 0; k < 2; k++)
        add_one(&one, ids[k], wake + k * S, 0.9f, k ? "garden" : "pond");
    int64_t end = wake + 10 * D;
    assert_int_equal(eg_engine_run(&one, &cfg, end), 0);
    assert_int_equal(one.m[one.n - 1].status, EG_MS_CONSOLIDATED);
    assert_true(one.rem_phases >= rem + 9); /* the ten nights after the wake */
    assert_true(one.homeostasis_phases > homeo);
    for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
        assert_int_equal(eg_engine_advance(&steps, &cfg, cuts[c]), 0);
        eg_snapshot_key key = {.generation = (int64_t)c + 1, .now = cuts[c], .config = 42}, back;
        assert_int_equal(eg_snapshot_write(&steps, &key, path), 0);
        eg_model_free(&steps);
        eg_model_init(&steps);
        assert_int_equal(eg_snapshot_read(&steps, &back, path), 0);
        if (c + 1 == sizeof cuts / sizeof *cuts)
            for (int k = 0; k < 2; k++)
                add_one(&steps, ids[k], wake + k * S, 0.9f, k ? "garden" : "pond");
    }
    assert_int_equal(eg_engine_advance(&steps, &cfg, end), 0);
    assert_int_equal(eg_engine_finish(&steps, &cfg, end), 0);
    assert_same_outcome(&one, &steps);
    eg_model_free(&one);
    eg_model_free(&steps);
    unlink(path);
}

/* minicolumn_id = xxh64(category "::" region) % 1000 (SPEC §7.4) of the whole category name: a
 * concept from metadata.concepts may be longer than any fixed buffer (it was cut at 599 bytes). */
static void test_minicolumn_of_a_long_category(void **state)
{
    (void)state;
    static char name[701], key[720];
    memset(name, 'k', sizeof name - 1);
    eg_model md;
    eg_model_init(&md);
    const char *concept = name;
    eg_mem m = {.rowid = 1, .t0 = 1767225600LL * EG_USEC_PER_SEC, .abstraction = 3};
    uint32_t idx;
    assert_int_equal(eg_model_add(&md, &m, "long", &concept, 1, &idx), 0);
    md.m[idx].status = EG_MS_CONSOLIDATED;
    md.m[idx].consolidated_strength = 0.7f;
    md.m[idx].consolidated_at = m.t0;
    assert_int_equal(eg__long_term(&md, &cfg, m.t0 + EG_USEC_PER_DAY), 0);
    assert_int_equal(md.nltm, 1);
    assert_string_equal(eg_model_concept(&md, md.ltm[0].category), name);
    int len = snprintf(key, sizeof key, "%s::association", name);
    assert_int_equal(md.ltm[0].minicolumn, (int)(XXH64(key, (size_t)len, 0) % 1000));
    assert_int_equal(md.ltm[0].macrocolumn, (int)(XXH64("association", 11, 0) % 100));
    eg_model_free(&md);
}

/* The long-term records are organised by the simulation's communities (the last homeostasis or
 * REM night left them: REM and the records agree on every category), computed at now only when
 * the simulation has none; a record's category carried over from the last save (same
 * communities) equals the one computed afresh, and category_moved says which moved. */
static void test_long_term_categories(void **state)
{
    (void)state;
    eg_model md;
    eg_model_init(&md);
    make_stream(&md, 600, 12, 7);
    assert_int_equal(eg_engine_run(&md, &cfg, end_of(&md)), 0);
    assert_true(md.homeostasis_phases > 0 && md.nltm > 0 && md.comm.label);
    for (size_t k = 0; k < md.nltm; k++) {
        assert_int_equal(md.ltm[k].category, eg__category_of(&md, md.ltm[k].mem));
        assert_true(md.ltm[k].category_moved); /* (no last save to compare with) */
        assert_int_equal(md.ltm_cat[md.ltm[k].mem], md.ltm[k].category);
    }
    /* as resumed from the snapshot of that run, with the same communities: each category is
     * taken over from the last save (the first one, altered there, stays altered), none moved */
    uint32_t *fresh = malloc(md.nltm * sizeof *fresh);
    assert_non_null(fresh);
    for (size_t k = 0; k < md.nltm; k++)
        fresh[k] = md.ltm[k].category;
    uint32_t other = fresh[0] == 0 ? 1 : 0;
    md.comm_prev = md.comm_now;
    md.comm_now = (eg_communities){0};
    md.ltm_cat_prev = md.ltm_cat;
    md.nltm_cat_prev = md.nltm_cat;
    md.ltm_cat = NULL;
    md.ltm_cat_prev[md.ltm[0].mem] = other;
    int64_t later = end_of(&md) + EG_USEC_PER_DAY;
    assert_int_equal(eg__long_term(&md, &cfg, later), 0);
    for (size_t k = 0; k < md.nltm; k++) {
        assert_int_equal(md.ltm[k].category, k == 0 ? other : fresh[k]);
        assert_false(md.ltm[k].category_moved);
    }
    /* other communities than the last save's: every category computed, the altered one moved */
    eg__communities_free(&md.comm_prev);
    md.comm_prev = md.comm_now;
    md.comm_now = (eg_communities){0};
    free(md.ltm_cat_prev);
    md.ltm_cat_prev = md.ltm_cat;
    md.ltm_cat = NULL;
    md.ltm_cat_prev[md.ltm[0].mem] = other;
    md.comm_prev.label[0] ^= 1; /* (any difference) */
    assert_int_equal(eg__long_term(&md, &cfg, later), 0);
    for (size_t k = 0; k < md.nltm; k++) {
        assert_int_equal(md.ltm[k].category, fresh[k]);
        assert_int_equal(md.ltm[k].category_moved, k == 0);
    }
    free(fresh);
    eg_model_free(&md);
    /* before the first REM night (04:00) and homeostasis: the communities at now */
    eg_model_init(&md);
    make_stream(&md, 200, 1, 9);
    assert_int_equal(eg_engine_run(&md, &cfg, 1767239940LL * EG_USEC_PER_SEC), 0); /* 03:59 */
    assert_null(md.comm.label);
    assert_non_null(md.comm_now.label);
    eg_model_free(&md);
}

/* ---- REM's bridge ---- */

static uint32_t concept_index(const eg_model *md, const char *name)
{
    for (uint32_t c = 0; c < md->nconcepts; c++)
        if (strcmp(eg_model_concept(md, c), name) == 0)
            return c;
    fail_msg("no concept %s", name);
    return UINT32_MAX;
}

static void set_edge(eg_model *md, const char *a, const char *b, float w)
{
    uint32_t x = concept_index(md, a), y = concept_index(md, b), k;
    bool created;
    assert_int_equal(eg__graph_edge(&md->concepts, x < y ? x : y, x < y ? y : x, 1, &k, &created),
                     0);
    md->concepts.e[k].w = w;
}

/* REM's best bridge between two long-term memories (SPEC §7.5): the largest sqrt(w_xz·w_zy),
 * and of equal ones the first in the order of the first memory's concepts x, their edges, the
 * second memory's concepts y (whichever way round the night samples the pair). Memory A has
 * concepts x1 x2, B has y1 y2; busy: y1 also has many more edges than the pair has bridges
 * (the search then looks the pairs up instead of scanning y1's edges). wide: a second bridge as
 * strong as the first, through another x (x2 – z2 – y2); else through the same z1 (x2 – z1 –
 * y1); stronger: that second one is stronger, and wins though it comes later. */
static void rem_bridge_case(bool wide, bool stronger, bool busy)
{
    eg_model md;
    eg_model_init(&md);
    const char *ca[] = {"xone", "xtwo"}, *cb[] = {"yone", "ytwo"};
    const char *cf[] = {"zone", "ztwo", "fa", "fb", "fc", "fd", "fe", "ff", "fg", "fh", "fi"};
    eg_mem m = {.t0 = EG_USEC_PER_DAY};
    uint32_t a, b, f;
    m.rowid = 1;
    assert_int_equal(eg_model_add(&md, &m, "a", ca, 2, &a), 0);
    m.rowid = 2;
    m.t0 += EG_USEC_PER_SEC;
    assert_int_equal(eg_model_add(&md, &m, "b", cb, 2, &b), 0);
    m.rowid = 3;
    m.t0 += EG_USEC_PER_SEC;
    /* (f is not long-term, so never sampled: it only brings the other concepts) */
    assert_int_equal(eg_model_add(&md, &m, "f", cf, 11, &f), 0);
    for (uint32_t i = 0; i < 2; i++) {
        md.m[i == 0 ? a : b].status = EG_MS_CONSOLIDATED;
        md.m[i == 0 ? a : b].consolidated_strength = 1;
    }
    assert_int_equal(eg__graph_nodes(&md.concepts, md.nconcepts), 0);
    set_edge(&md, "xone", "zone", 0.8f);
    set_edge(&md, "zone", "yone", 0.8f);
    for (int k = 2; busy && k < 11; k++)
        set_edge(&md, "yone", cf[k], 0.1f);
    if (wide) {
        set_edge(&md, "xtwo", "ztwo", 0.8f);
        set_edge(&md, "ztwo", "ytwo", stronger ? 0.9f : 0.8f);
    } else {
        set_edge(&md, "xtwo", "zone", stronger ? 0.9f : 0.8f);
    }
    /* communities: A's concepts in one, B's and the rest in another */
    md.comm.n = md.nconcepts;
    md.comm.label = calloc(md.nconcepts, sizeof *md.comm.label);
    md.comm.hub = calloc(md.nconcepts, 1);
    assert_non_null(md.comm.label);
    assert_non_null(md.comm.hub);
    for (uint32_t c = 0; c < md.nconcepts; c++)
        md.comm.label[c] = c == concept_index(&md, "xone") || c == concept_index(&md, "xtwo");
    assert_int_not_equal(eg__category_of(&md, a), eg__category_of(&md, b));
    const char *want_z = wide && stronger ? "ztwo" : "zone";
    const char *want_x = stronger ? "xtwo" : "xone", *want_y = wide && stronger ? "ytwo" : "yone";
    /* sixteen nights: the pair is drawn as (A, B) on some, as (B, A) on others (nights 2 and 0,
     * as the nights' seeds draw it now), so the search runs from each side */
    for (int night = 0; night < 16; night++) {
        md.ncr = 0;
        int64_t T = (3 + night) * EG_USEC_PER_DAY + 4 * 3600 * EG_USEC_PER_SEC;
        assert_int_equal(eg__rem(&md, &cfg, T), 0);
        assert_true(md.ncr >= 1);
        for (size_t k = 0; k < md.ncr; k++) {
            const eg_creative *cr = &md.cr[k];
            assert_int_equal(cr->a, a);
            assert_int_equal(cr->b, b);
            assert_string_equal(eg_model_concept(&md, cr->bridge), want_z);
            /* concept_a is a's, concept_b is b's, whichever the night drew first (they were the
             * first drawn's and the second's: swapped on the nights that drew b first) */
            assert_string_equal(eg_model_concept(&md, cr->x), want_x);
            assert_string_equal(eg_model_concept(&md, cr->y), want_y);
            assert_true(cr->plausibility > 0.6 && cr->plausibility <= 1.0);
        }
    }
    eg_model_free(&md);
}

static void test_rem_bridge_choice(void **state)
{
    (void)state;
    for (int c = 0; c < 8; c++)
        rem_bridge_case(c & 1, c & 2, c & 4);
}

/* consolidation_state is "integrated if > 5 associates" (SPEC §7.4), the associates of §7.3: the
 * memories its deciding replay took (pipeline.associates). It counted the memory's degree in the
 * memory graph instead, which keeps growing after consolidation: a memory consolidated alone
 * became "integrated" once six later memories had replayed with it. */
static void test_integrated_counts_replay_associates(void **state)
{
    (void)state;
    const int64_t S = EG_USEC_PER_SEC, t = 1767607200LL * S; /* 2026-01-05T10:00:00Z */
    eg_model md;
    eg_model_init(&md);
    /* emotional 0.9: ready at encoding and strong enough to consolidate with no associate */
    uint32_t x = add_one(&md, "x", t, 0.9f, "alpha");
    /* then six memories of the same concept, two hours apart (never held together), each
     * replayed with x (and the earlier ones) within the next 24 h */
    uint32_t y[6];
    for (int k = 0; k < 6; k++) {
        char id[8];
        snprintf(id, sizeof id, "y%d", k);
        y[k] = add_one(&md, id, t + (k + 1) * 7200 * S, 0.9f, "alpha");
    }
    assert_int_equal(eg_engine_run(&md, &cfg, t + 2 * EG_USEC_PER_DAY), 0);
    assert_int_equal(md.m[x].status, EG_MS_CONSOLIDATED);
    assert_int_equal(md.m[x].associates, 0);
    assert_true(md.assoc.adj_n[x] >= 6); /* its degree grew after it was consolidated */
    assert_int_equal(md.m[y[5]].status, EG_MS_CONSOLIDATED);
    assert_true(md.m[y[5]].associates > 5);
    const char *sx = NULL, *sy = NULL;
    for (size_t k = 0; k < md.nltm; k++) {
        if (md.ltm[k].mem == x)
            sx = md.ltm[k].state;
        if (md.ltm[k].mem == y[5])
            sy = md.ltm[k].state;
    }
    assert_non_null(sx);
    assert_non_null(sy);
    assert_string_equal(sx, "semantic"); /* abstraction 3, no associates */
    assert_string_equal(sy, "integrated");
    eg_model_free(&md);
}

/* The encoded journey row says when the item is ready for replay (SPEC §7.2: ready at once by
 * the cues, or after stm.duration). With stm.duration = 0 every item is ready at encoding, and
 * the row said "ready after stm.duration" for those the cues did not make ready. */
static void test_encoded_row_says_ready_now(void **state)
{
    (void)state;
    const int64_t S = EG_USEC_PER_SEC, t = 1767607200LL * S; /* 2026-01-05T10:00:00Z */
    int64_t duration = cfg.stm_duration;
    for (int zero = 0; zero <= 1; zero++) {
        cfg.stm_duration = zero ? 0 : duration;
        eg_model md;
        eg_model_init(&md);
        uint32_t x = add_one(&md, "q", t, 0.3f, "alpha"); /* not ready by the cues */
        assert_int_equal(eg_engine_run(&md, &cfg, t + 600 * S), 0);
        assert_int_equal(md.m[x].ready_at, md.m[x].encoded_at + cfg.stm_duration);
        const eg_journey *enc = NULL;
        for (size_t k = 0; k < md.njr; k++)
            if (!strcmp(eg_journey_event(&md, &md.jr[k]), "encoded"))
                enc = &md.jr[k];
        assert_non_null(enc);
        eg_buf out;
        eg_buf_init(&out, 0);
        assert_int_equal(eg_journey_detail(&md, enc, &out), 0);
        const char *want = zero ? "ready now" : "ready after stm.duration";
        size_t len = strlen(out.data);
        assert_true(len >= strlen(want));
        assert_string_equal(out.data + len - strlen(want), want);
        eg_buf_free(&out);
        eg_model_free(&md);
    }
    cfg.stm_duration = duration;
}

/* The closing journey row of a memory not attended yet at now gives its presentation as a UTC
 * time (SPEC §9: the trace is "the memory's journey"); it gave the seconds since 1970. */
static void test_waiting_row_gives_a_time(void **state)
{
    (void)state;
    const int64_t S = EG_USEC_PER_SEC, t = 1767607230LL * S; /* 2026-01-05T10:00:30Z */
    eg_model md;
    eg_model_init(&md);
    add_one(&md, "w1", t, 0.3f, "alpha");
    assert_int_equal(eg_engine_run(&md, &cfg, t + 15 * S), 0);
    assert_int_equal(md.m[0].status, EG_MS_STAGED);
    assert_int_equal(md.njr, 1);
    eg_buf out;
    eg_buf_init(&out, 0);
    assert_int_equal(eg_journey_detail(&md, &md.jr[0], &out), 0);
    assert_string_equal(out.data, "presented at 2026-01-05T10:00:30Z, not yet attended at now");
    eg_buf_free(&out);
    eg_model_free(&md);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capacity_never_exceeded),
        cmocka_unit_test(test_every_memory_has_status_and_journey),
        cmocka_unit_test(test_two_runs_identical),
        cmocka_unit_test(test_steps_with_appended_memories),
        cmocka_unit_test(test_steps_through_snapshots),
        cmocka_unit_test(test_state_needs_room_for_capacity),
        cmocka_unit_test(test_hebbian_bounds_and_counts),
        cmocka_unit_test(test_hebbian_weight_stays_below_one),
        cmocka_unit_test(test_homeostasis_bounds_out_weight),
        cmocka_unit_test(test_homeostasis_bounds_degree),
        cmocka_unit_test(test_journey_detail),
        cmocka_unit_test(test_phase_at_the_instant_its_condition_holds),
        cmocka_unit_test(test_phases_rest_when_idle),
        cmocka_unit_test(test_minicolumn_of_a_long_category),
        cmocka_unit_test(test_long_term_categories),
        cmocka_unit_test(test_rem_bridge_choice),
        cmocka_unit_test(test_waiting_row_gives_a_time),
        cmocka_unit_test(test_integrated_counts_replay_associates),
        cmocka_unit_test(test_encoded_row_says_ready_now),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
