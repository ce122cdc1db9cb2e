/*
 * model.c — the bookkeeping of the pipeline's model (see model.h): memories and their concepts
 * (interned in an open-addressing table, with time-orderable posting lists), presentations,
 * journeys, and graph edges with adjacency lists. Nothing here knows a formula of the stages.
 */
#include "core/model.h"

#include "engram/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
    return eg__grow_in((eg_span){0, 0}, p, cap, need, sz);
}

int eg__grow_in(eg_span s, void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q;
    if (*p && eg__in_span(s, *p)) { /* a snapshot's array past its room: copied out */
        if ((q = malloc(c * sz)))
            memcpy(q, *p, *cap * sz);
    } else {
        q = realloc(*p, c * sz);
    }
    if (!q)
        return eg_error_set(EG_ENOMEM, "out of memory (engine, %zu elements)", c);
    *p = q;
    *cap = c;
    return 0;
}

void eg__free_in(eg_span s, void *p)
{
    if (!eg__in_span(s, p))
        free(p);
}

void eg_model_init(eg_model *md)
{
    memset(md, 0, sizeof *md);
    eg_buf_init(&md->text, 0);
    eg_buf_init(&md->details, 0);
    eg_pairmap_init(&md->assoc.map);
    eg_pairmap_init(&md->concepts.map);
}

void eg__graph_mark_slow(eg_graph *g, uint32_t k)
{
    if (EG_GROW(g->dirty, g->dirty_cap, g->ndirty + 1)) {
        g->dirty_on = false; /* the save looks through every edge instead */
        return;
    }
    g->dirty[g->ndirty++] = k;
}

void eg__graph_free(eg_graph *g)
{
    free(g->dirty);
    for (size_t i = 0; i < g->nodes; i++)
        if (g->adj && g->adj_cap[i]) /* (a list in adj_slab has none) */
            free(g->adj[i]);
    eg__free_in(g->snap, g->adj_slab);
    free(g->adj);
    free(g->adj_n);
    free(g->adj_cap);
    eg__free_in(g->snap, g->e);
    eg_pairmap_free(&g->map);
    memset(g, 0, sizeof *g);
}

void eg_model_seal(eg_model *md)
{
    eg_pairmap_free(&md->assoc.map);
    eg_pairmap_init(&md->assoc.map);
    eg_pairmap_free(&md->concepts.map); /* (100 MB at 1M memories of a 200k-word vocabulary) */
    eg_pairmap_init(&md->concepts.map);
    md->sealed = true;
}

void eg_model_free(eg_model *md)
{
    if (!md)
        return;
    /* (lists without a capacity lie in a snapshot's mapping) */
    for (size_t i = 0; i < md->nconcepts; i++)
        if (md->postings && md->post_cap[i])
            free(md->postings[i]);
    for (size_t i = 0; i < md->nep; i++)
        if (md->ep[i].capconcepts)
            free(md->ep[i].concepts);
    free(md->postings);
    free(md->post_n);
    free(md->post_cap);
    eg__free_in(md->snap, md->m);
    eg__free_in(md->snap, md->mc);
    free(md->concept_name);
    eg__free_in(md->snap, md->pres);
    free(md->ep);
    free(md->rem_pool);
    free(md->rem_new);
    free(md->jr);
    eg__free_in(md->snap, md->jr_base);
    free(md->ltm);
    free(md->cr);
    eg__communities_free(&md->comm);
    eg__communities_free(&md->comm_now);
    eg__communities_free(&md->comm_prev);
    free(md->ltm_cat);
    free(md->ltm_cat_prev);
    free(md->eng.held);
    free(md->stm);
    eg__free_in(md->snap, md->enc);
    eg__free_in(md->snap, md->rep);
    free(md->mark);
    free(md->intern);
    eg_buf_free(&md->text);
    eg_buf_free(&md->details);
    eg__graph_free(&md->assoc);
    eg__graph_free(&md->concepts);
    if (md->snap_map && md->snap_mapped)
        munmap(md->snap_map, md->snap_len);
    else
        free(md->snap_map);
    if (md->snap_map && md->snap_mapped)
        close(md->snap_fd); /* (and its lock) */
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
    if (EG_GROW_IN(md->snap, md->m, md->cap, md->n + 1) ||
        EG_GROW_IN(md->snap, md->mc, md->capmc, md->nmc + nconcepts))
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
        if (md->post_n[c] >= md->post_cap[c]) {
            /* a list in a snapshot's mapping (no capacity) is copied out */
            uint32_t n = md->post_n[c], cap = md->post_cap[c] ? md->post_cap[c] * 2 : 4;
            while (cap <= n)
                cap *= 2;
            uint32_t *p = md->post_cap[c] ? realloc(md->postings[c], cap * sizeof *p)
                                          : malloc(cap * sizeof *p);
            if (!p)
                return eg_error_set(EG_ENOMEM, "out of memory growing a posting list");
            if (!md->post_cap[c] && n)
                memcpy(p, md->postings[c], n * sizeof *p);
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
    if (EG_GROW_IN(md->snap, md->pres, md->cappres, md->npres + 1))
        return EG_ENOMEM;
    md->pres[md->npres++] = (eg_presentation){.at = m->t0, .mem = k, .kind = EG_PRES_CREATED};
    md->n++;
    *idx = k;
    return 0;
}

int eg_model_add_update(eg_model *md, uint32_t idx, int64_t at)
{
    if (EG_GROW_IN(md->snap, md->pres, md->cappres, md->npres + 1))
        return EG_ENOMEM;
    md->pres[md->npres++] = (eg_presentation){.at = at, .mem = idx, .kind = EG_PRES_UPDATED};
    return 0;
}

int eg_model_add_recall(eg_model *md, uint32_t idx, int64_t at)
{
    if (EG_GROW_IN(md->snap, md->pres, md->cappres, md->npres + 1))
        return EG_ENOMEM;
    md->pres[md->npres++] = (eg_presentation){.at = at, .mem = idx, .kind = EG_PRES_RECALLED};
    return 0;
}

void eg__communities_free(eg_communities *c)
{
    free(c->label);
    free(c->hub);
    *c = (eg_communities){0};
}

/* The conversion at *p (just after its '%'): its length modifier (0 none, 'l', 'L' for ll, 'z')
 * and conversion character; the end of the spec in *end. 0 when fmt uses one this does not know. */
static char spec_at(const char *p, int *len, const char **end)
{
    while (*p && strchr("-+ #0", *p))
        p++;
    while ((*p >= '0' && *p <= '9') || *p == '.')
        p++;
    *len = 0;
    if (p[0] == 'l' && p[1] == 'l')
        *len = 'L', p += 2;
    else if (*p == 'l' || *p == 'z')
        *len = *p++;
    char conv = *p && strchr("diufeg", *p) ? *p : *p == 's' && !*len ? 's' : 0;
    *end = conv ? p + 1 : p;
    return conv;
}

static int pack_args(eg_buf *b, const char *fmt, va_list ap)
{
    int rc = 0;
    for (const char *p = fmt; *p && !rc; p++) {
        if (*p != '%')
            continue;
        if (p[1] == '%') {
            p++;
            continue;
        }
        int len;
        const char *end;
        char conv = spec_at(p + 1, &len, &end);
        union {
            int i;
            unsigned u;
            long l;
            long long ll;
            size_t z;
            double d;
            const char *s;
        } v;
        size_t n;
        if (!conv)
            return eg_error_set(EG_EUSAGE, "journey format \"%s\": a conversion it cannot keep",
                                fmt);
        if (conv == 'f' || conv == 'e' || conv == 'g')
            v.d = va_arg(ap, double), n = sizeof v.d;
        else if (conv == 's')
            v.s = va_arg(ap, const char *), n = sizeof v.s;
        else if (len == 'L')
            v.ll = va_arg(ap, long long), n = sizeof v.ll;
        else if (len == 'l')
            v.l = va_arg(ap, long), n = sizeof v.l;
        else if (len == 'z')
            v.z = va_arg(ap, size_t), n = sizeof v.z;
        else if (conv == 'u')
            v.u = va_arg(ap, unsigned), n = sizeof v.u;
        else
            v.i = va_arg(ap, int), n = sizeof v.i;
        rc = eg_buf_append(b, &v, n);
        p = end - 1;
    }
    return rc;
}

int eg__journey(eg_model *md, uint32_t mem, int64_t at, const char *stage, const char *event,
                const char *fmt, ...)
{
    size_t kind = 0;
    while (kind < md->njkinds && (md->jkinds[kind].fmt != fmt || md->jkinds[kind].stage != stage ||
                                  md->jkinds[kind].event != event))
        kind++;
    if (kind == md->njkinds) {
        if (kind == EG_JOURNEY_KINDS)
            return eg_error_set(EG_EUSAGE, "more than %d kinds of journey line", EG_JOURNEY_KINDS);
        md->jkinds[md->njkinds++] = (eg_journey_kind){stage, event, fmt};
    }
    if (EG_GROW(md->jr, md->capjr, md->njr + 1))
        return EG_ENOMEM;
    if (md->details.len > UINT32_MAX - 512)
        return eg_error_set(EG_ENOMEM, "journey details beyond 4 GiB");
    eg_journey *j = &md->jr[md->njr];
    j->mem = mem;
    j->kind = (uint16_t)kind;
    j->at = at;
    j->detail_off = (uint32_t)md->details.len;
    va_list ap;
    va_start(ap, fmt);
    int rc = pack_args(&md->details, fmt, ap);
    va_end(ap);
    if (!rc)
        md->njr++;
    return rc;
}

/* Each argument is formatted with its own conversion spec, cut out of the line's format and
 * checked by spec_at to take exactly the type read for it: a format that is not a literal. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
int eg_journey_detail(const eg_model *md, const eg_journey *j, eg_buf *out)
{
    const char *fmt = md->jkinds[j->kind].fmt;
    const unsigned char *arg = (const unsigned char *)md->details.data + j->detail_off;
    char text[512], spec[32];
    size_t used = 0;
    for (const char *p = fmt; *p && used < sizeof text - 1;) {
        if (*p != '%' || p[1] == '%') {
            text[used++] = *p;
            p += *p == '%' ? 2 : 1;
            continue;
        }
        int len;
        const char *end;
        char conv = spec_at(p + 1, &len, &end);
        size_t sl = (size_t)(end - p);
        if (!conv || sl >= sizeof spec)
            return eg_error_set(EG_EUSAGE, "journey format \"%s\": a conversion it cannot keep",
                                fmt);
        memcpy(spec, p, sl);
        spec[sl] = '\0';
        size_t room = sizeof text - used;
        int w;
#define FMT1(type)                                                                                 \
    do {                                                                                           \
        type v_;                                                                                   \
        memcpy(&v_, arg, sizeof v_);                                                               \
        arg += sizeof v_;                                                                          \
        w = snprintf(text + used, room, spec, v_);                                                 \
    } while (0)
        if (conv == 'f' || conv == 'e' || conv == 'g')
            FMT1(double);
        else if (conv == 's')
            FMT1(const char *);
        else if (len == 'L' && conv == 'u')
            FMT1(unsigned long long);
        else if (len == 'L')
            FMT1(long long);
        else if (len == 'l' && conv == 'u')
            FMT1(unsigned long);
        else if (len == 'l')
            FMT1(long);
        else if (len == 'z')
            FMT1(size_t);
        else if (conv == 'u')
            FMT1(unsigned);
        else
            FMT1(int);
#undef FMT1
        used += w < 0 ? 0 : (size_t)w < room ? (size_t)w : room - 1;
        p = end;
    }
    text[used] = '\0';
    eg_buf_reset(out);
    return eg_buf_append(out, text, used + 1);
}
#pragma GCC diagnostic pop

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
    if (g->adj_n[node] >= g->adj_cap[node]) {
        uint32_t n = g->adj_n[node], cap = n ? n * 2 : 4;
        /* a list in adj_slab moves out of it into its own allocation */
        uint32_t *p =
            g->adj_cap[node] ? realloc(g->adj[node], cap * sizeof *p) : malloc(cap * sizeof *p);
        if (!p)
            return eg_error_set(EG_ENOMEM, "out of memory growing an adjacency list");
        if (!g->adj_cap[node] && n)
            memcpy(p, g->adj[node], n * sizeof *p);
        g->adj[node] = p;
        g->adj_cap[node] = cap;
    }
    g->adj[node][g->adj_n[node]++] = e;
    return 0;
}

/* the edge (a, b), a < b, through the shorter adjacency list of its ends; UINT32_MAX if none */
static uint32_t edge_by_adj(const eg_graph *g, uint32_t a, uint32_t b)
{
    if (b >= g->nodes)
        return UINT32_MAX;
    uint32_t x = g->adj_n[a] <= g->adj_n[b] ? a : b;
    for (uint32_t i = 0; i < g->adj_n[x]; i++) {
        const eg_edge *e = &g->e[g->adj[x][i]];
        if (e->a == a && e->b == b)
            return g->adj[x][i];
    }
    return UINT32_MAX;
}

int eg__graph_edge(eg_graph *g, uint32_t a, uint32_t b, int64_t at, uint32_t *k, bool *created)
{
    if (a > b) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    *k = g->no_map ? edge_by_adj(g, a, b) : eg_pairmap_get(&g->map, a, b);
    *created = *k == UINT32_MAX;
    if (!*created)
        return 0;
    if (EG_GROW_IN(g->snap, g->e, g->cap, g->n + 1))
        return EG_ENOMEM;
    *k = (uint32_t)g->n++;
    g->e[*k] = (eg_edge){.a = a, .b = b, .w = 0, .coact = 0, .last_at = at, .dead = false};
    if ((!g->no_map && eg_pairmap_put(&g->map, a, b, *k)) || adj_add(g, a, *k) || adj_add(g, b, *k))
        return EG_ENOMEM;
    return 0;
}

int eg__graph_compact(eg_graph *g)
{
    size_t live = 0;
    for (size_t k = 0; k < g->n; k++)
        live += !g->e[k].dead;
    if (live == g->n)
        return 0;
    uint32_t *to = malloc(g->n * sizeof *to);
    if (!to)
        return eg_error_set(EG_ENOMEM, "out of memory compacting a graph");
    size_t m = 0;
    for (size_t k = 0; k < g->n; k++) {
        to[k] = g->e[k].dead ? UINT32_MAX : (uint32_t)m;
        if (!g->e[k].dead)
            g->e[m++] = g->e[k];
    }
    if (!g->no_map && eg_pairmap_remap(&g->map, to, m)) {
        free(to);
        return EG_ENOMEM;
    }
    for (size_t v = 0; v < g->nodes; v++) {
        uint32_t j = 0;
        for (uint32_t i = 0; i < g->adj_n[v]; i++)
            if (to[g->adj[v][i]] != UINT32_MAX)
                g->adj[v][j++] = to[g->adj[v][i]];
        g->adj_n[v] = j;
        if (g->adj_cap[v] > 8 && j < g->adj_cap[v] / 4) { /* give most of a shrunk list back */
            uint32_t cap = j * 2 > 4 ? j * 2 : 4;
            uint32_t *p = realloc(g->adj[v], cap * sizeof *p);
            if (p) {
                g->adj[v] = p;
                g->adj_cap[v] = cap;
            }
        }
    }
    free(to);
    g->n = m;
    if (g->cap > 1024 && m < g->cap / 4 && !eg__in_span(g->snap, g->e)) {
        size_t cap = m * 2 > 1024 ? m * 2 : 1024;
        eg_edge *e = realloc(g->e, cap * sizeof *e);
        if (e) {
            g->e = e;
            g->cap = cap;
        }
    }
    return 0;
}

static const char *const region_names[] = {"association", "motor", "sensory", "prefrontal"};
static const char *const knowledge_names[] = {"declarative", "procedural", "conditional"};

const char *eg__region_name(int r)
{
    return r >= 0 && r < 4 ? region_names[r] : "association";
}

const char *eg__knowledge_name(int k)
{
    return k >= 0 && k < 3 ? knowledge_names[k] : "declarative";
}
