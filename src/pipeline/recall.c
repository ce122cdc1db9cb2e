/*
 * recall.c — `engram recall` and `engram trace` (SPEC §8, §9): gathers bounded candidate sets
 * (FTS5 BM25 matches, memories reached from the query's concepts through the concept graph, and
 * memories associated with the ones the query activates most), scores each as
 * A = α·lexical + β·spread + γ·B_i(at), returns the best k, records the recall as a
 * presentation; and assembles a memory's journey with a one-line diagnosis.
 * The formulas live in stage/activation.c and the SQL in store/recall.c; this file decides which
 * memories to look at and how the terms combine (docs/stages/recall.md). A recaller reuses its
 * scratch arrays from query to query, so a recall allocates only while its arrays still grow.
 */
#include "engram/recall.h"

#include "stage/activation.h"
#include "stage/concepts.h"
#include "store/fts.h"
#include "store/postings.h"
#include "store/recall.h"
#include "util/buf.h"
#include "util/timeutil.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Bounds of the candidate sets: what one recall may look at, whatever the store's size. */
#define LEX_MAX 100       /* lexical candidates kept */
#define LEX_SCAN 1000     /* best FTS rows looked at to find them (some may not be recallable) */
#define LEX_ROWS 2000     /* FTS rows read per search (the newest), then ranked by BM25 */
#define LEX_DOCS 1500     /* full-text matches scored per query, about: the rarest words first */
#define CONCEPT_FULL 5000 /* a query concept with at most this many memories: all read */
#define CONCEPT_POSTINGS 1000 /* else its newest this many */
#define NEIGHBOURS 32         /* concept-graph neighbours kept per query concept (by weight) */
#define NEIGHBOURS_GEN 8      /* of them, the ones whose memories become candidates */
#define NEIGHBOUR_POSTINGS 50 /* memories read per such neighbour */
#define CONCEPT_MAX 100       /* concept-reached candidates kept (by preliminary spread) */
#define ASSOC_SOURCES 10      /* most activated candidates whose associations spread */
#define ASSOC_RHO 0.9         /* share of a source's activation its strongest associate gets */
#define ASSOC_MAX 100         /* association-reached candidates added */
#define HEBBIAN_SHARE 0.25    /* what a Hebbian substitute for a missing query concept counts */
#define MAX_TOKENS 32         /* query words searched in the full-text index */
#define MAX_K 1000

enum { C_UNCHECKED = 0, C_OK, C_BAD, C_DROPPED };

typedef struct cand {
    int64_t rowid;
    int64_t created_at, updated_at;
    bool has_updated;
    uint8_t state; /* C_* */
    bool spread_done;
    double raw_lex, lex, sc, sh, sa, base, score;
    int npres;
    uint32_t id_off;         /* into eg_recaller.ids */
    uint32_t cid_off, ncids; /* its concepts: eg_recaller.cids[cid_off, cid_off + ncids) */
    char status[16];         /* pipeline status, "staged" when the pipeline has not seen it */
} cand;

/* A concept that matters to this query: a query concept (q = its index, str = max(0, S − ln fan))
 * or a neighbour of query concepts in the concept graph (q = -1; its links say to which query
 * concepts and with which weight). */
typedef struct rconcept {
    int64_t id;
    int64_t fan; /* 1 + its memories (query concepts) */
    int q;
    double str;
    uint32_t link; /* first of its links, UINT32_MAX if none */
} rconcept;

typedef struct qlink {
    int q;         /* the query concept */
    double w;      /* the concept-graph weight between it and the neighbour */
    uint32_t next; /* the neighbour's next link */
} qlink;

#define MAX_QCONCEPTS 64

/* A memory reached through the concept graph, with its preliminary spread: the sum of the
 * query concepts it has, plus the best Hebbian substitute (as the exact score counts them).
 * Full-text rows reuse it with the BM25 score in prelim. */
typedef struct pool_ent {
    int64_t rowid;
    double prelim, hebb;
} pool_ent;

typedef struct nbr {
    int64_t other;
    double w;
    int64_t memories;
} nbr;

/* int64 -> uint32 open-addressing map; vals UINT32_MAX marks an empty slot. */
typedef struct i64map {
    int64_t *keys;
    uint32_t *vals;
    size_t cap, n;
} i64map;

struct eg_recaller {
    eg_store *st;
    const eg_config *cfg;
    eg_recall_q *q;
    eg_concepts *cx;
    eg_buf ids, tmp, tmp2, folded, word;
    /* the number of memories that hold each phrase of the two full-text searches, in order */
    int64_t hits_any[MAX_TOKENS], hits_all[MAX_TOKENS];
    int nhits_any, nhits_all;
    eg_store_fts_folder fold; /* the query folded as the full-text index folds content */
    cand *c;
    size_t nc, capc;
    int64_t *cids; /* the candidates' concepts (cand.cid_off) */
    size_t ncids, capcids;
    i64map cmap;
    rconcept *rc;
    size_t nrc, caprc;
    i64map rcmap;
    qlink *links;
    size_t nlinks, caplinks;
    int nq;                     /* query concepts found in the store */
    double qw;                  /* W_j = 1 / |query concepts| */
    double qstr[MAX_QCONCEPTS]; /* their strengths */
    bool has[MAX_QCONCEPTS];    /* scoring scratch: the candidate has query concept j */
    double best[MAX_QCONCEPTS]; /* scoring scratch: its best link to query concept j */
    nbr *nb;
    size_t nnb, capnb;
    int64_t *times;
    size_t ntimes, captimes;
    uint32_t *order, *lexi;
    size_t caporder, caplexi, nlexi;
    pool_ent *lexrows; /* one full-text search's rows: rowid, −bm25 */
    size_t nlexrows, caplexrows;
    pool_ent *pool; /* memories reached through concepts, before they become candidates */
    size_t npool, cappool;
    i64map pmap;
    int64_t at;
    size_t nassoc_added;
};

static int grow(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * sz);
    if (!q)
        return eg_error_set(EG_ENOMEM, "out of memory during recall");
    *p = q;
    *cap = n;
    return 0;
}
#define GROW(arr, cap, need) grow((void **)&(arr), &(cap), (need), sizeof *(arr))

/* ---- the map ---- */

static size_t slot_of(int64_t k, size_t cap)
{
    uint64_t x = (uint64_t)k + UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return (size_t)(x ^ (x >> 31)) & (cap - 1);
}

static void map_clear(i64map *m)
{
    if (m->vals)
        memset(m->vals, 0xff, m->cap * sizeof *m->vals);
    m->n = 0;
}

static uint32_t map_get(const i64map *m, int64_t k)
{
    if (!m->cap)
        return UINT32_MAX;
    for (size_t i = slot_of(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->vals[i] == UINT32_MAX)
            return UINT32_MAX;
        if (m->keys[i] == k)
            return m->vals[i];
    }
}

static int map_put(i64map *m, int64_t k, uint32_t v);

static int map_rehash(i64map *m, size_t cap)
{
    i64map n = {malloc(cap * sizeof *n.keys), malloc(cap * sizeof *n.vals), cap, 0};
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return eg_error_set(EG_ENOMEM, "out of memory during recall");
    }
    map_clear(&n);
    for (size_t i = 0; i < m->cap; i++)
        if (m->vals[i] != UINT32_MAX)
            map_put(&n, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

static int map_put(i64map *m, int64_t k, uint32_t v)
{
    int rc;
    if ((m->n + 1) * 2 > m->cap && (rc = map_rehash(m, m->cap ? m->cap * 2 : 256)))
        return rc;
    for (size_t i = slot_of(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->vals[i] == UINT32_MAX) {
            m->keys[i] = k;
            m->vals[i] = v;
            m->n++;
            return 0;
        }
        if (m->keys[i] == k) {
            m->vals[i] = v;
            return 0;
        }
    }
}

static void map_free(i64map *m)
{
    free(m->keys);
    free(m->vals);
}

/* ---- the recaller ---- */

int eg_recaller_open(eg_recaller **out, eg_store *st, const eg_config *cfg)
{
    eg_recaller *r = calloc(1, sizeof *r);
    int rc;
    *out = NULL;
    if (!r)
        return eg_error_set(EG_ENOMEM, "out of memory preparing recall");
    r->st = st;
    r->cfg = cfg;
    eg_buf_init(&r->ids, 0);
    eg_buf_init(&r->tmp, 0);
    eg_buf_init(&r->tmp2, 0);
    eg_buf_init(&r->folded, 0);
    eg_buf_init(&r->word, 0);
    if ((rc = eg_recall_q_open(&r->q, st)) ||
        (rc = eg_concepts_new(&r->cx, cfg->staging_language, cfg->staging_max_concepts))) {
        eg_recaller_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

void eg_recaller_close(eg_recaller *r)
{
    if (!r)
        return;
    eg_recall_q_close(r->q);
    eg_concepts_free(r->cx);
    eg_buf_free(&r->ids);
    eg_buf_free(&r->tmp);
    eg_buf_free(&r->tmp2);
    eg_buf_free(&r->folded);
    eg_buf_free(&r->word);
    eg_store_fts_folder_free(&r->fold);
    free(r->c);
    free(r->cids);
    map_free(&r->cmap);
    free(r->rc);
    free(r->links);
    map_free(&r->rcmap);
    free(r->nb);
    free(r->times);
    free(r->order);
    free(r->lexi);
    free(r->pool);
    free(r->lexrows);
    map_free(&r->pmap);
    free(r);
}

/* The candidate for rowid, added (unchecked, all terms 0) if new. */
static int cand_add(eg_recaller *r, int64_t rowid, uint32_t *idx)
{
    uint32_t i = map_get(&r->cmap, rowid);
    int rc;
    if (i != UINT32_MAX) {
        *idx = i;
        return 0;
    }
    if ((rc = GROW(r->c, r->capc, r->nc + 1)))
        return rc;
    i = (uint32_t)r->nc++;
    memset(&r->c[i], 0, sizeof r->c[i]);
    r->c[i].rowid = rowid;
    if ((rc = map_put(&r->cmap, rowid, i)))
        return rc;
    *idx = i;
    return 0;
}

/* Reads candidate i's row: recallable at r->at or not (state C_OK / C_BAD). */
static int cand_check(eg_recaller *r, uint32_t i)
{
    eg_recall_row row;
    int rc = eg_recall_q_memory(r->q, r->c[i].rowid, &row);
    if (rc)
        return rc;
    cand *c = &r->c[i];
    if (!row.found || !row.recallable || row.created_at > r->at) {
        c->state = C_BAD;
        return 0;
    }
    c->state = C_OK;
    c->created_at = row.created_at;
    c->has_updated = row.has_updated;
    c->updated_at = row.updated_at;
    snprintf(c->status, sizeof c->status, "%s",
             row.pipeline_status ? row.pipeline_status : "staged");
    c->id_off = (uint32_t)r->ids.len;
    if (eg_buf_append(&r->ids, row.id, strlen(row.id) + 1))
        return eg_error_set(EG_ENOMEM, "out of memory during recall");
    /* its concepts, for the spread (read with the row: one lookup of the pipeline row less) */
    c->cid_off = (uint32_t)r->ncids;
    const char *p = row.concept_ids;
    long long id;
    while (eg_concept_ids_next(&p, &id)) {
        if ((rc = GROW(r->cids, r->capcids, r->ncids + 1)))
            return rc;
        r->cids[r->ncids++] = (int64_t)id;
    }
    c->ncids = (uint32_t)(r->ncids - c->cid_off);
    return 0;
}

/* ---- the full-text query ---- */

static bool word_start(utf8proc_int32_t cp)
{
    int k = utf8proc_category(cp);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

/* Letters, digits and marks continue a word, and so do the default ignorables the index's fold
 * drops (a soft hyphen or a zero-width joiner inside a word), but not ZERO WIDTH SPACE, which
 * the fold makes a separator (store/fts.h). */
static bool word_cont(utf8proc_int32_t cp)
{
    int k = utf8proc_category(cp);
    return word_start(cp) || (k >= UTF8PROC_CATEGORY_MN && k <= UTF8PROC_CATEGORY_ME) ||
           (cp != 0x200B && utf8proc_get_property(cp)->ignorable);
}

/* Builds an FTS5 expression from the query's words: each word folded as the index folds content
 * (store/fts.h) and quoted as a string ("maya" OR "locker"), so no user input is ever FTS5
 * syntax; a word of CJK characters is a string of them spaced, which FTS5 matches as a phrase
 * (the characters next to each other, in order). Stopwords and words under 3 characters are
 * left out (they match most memories and weigh almost nothing in BM25), numbers and CJK words
 * are kept; when that leaves nothing, every word is used. Words repeated (after folding) appear
 * once. At most MAX_TOKENS words, the first ones: a word left out takes no place once a word that
 * is kept needs it. BM25 has no early exit: a search costs time in proportion to the memories its
 * words are in. So words are taken rarest first while their memories add up to at most LEX_DOCS
 * (the rarest always), and when the rarest alone is in more, *min_rowid limits the search to the
 * newest memories, as many as hold about LEX_DOCS matches. With two words or more, `all` gets
 * them all AND-ed: the memories that have every word (scored as the OR search scores them),
 * wherever they are in time. FTS5 walks the doclists of every word of an AND, so it runs only
 * when the rarest word is in at most LEX_DOCS memories. */
typedef struct term {
    size_t foff, flen; /* the folded word in r->folded */
    bool keep, chosen;
    int64_t df;
} term;

/* Appends `sep` (unless out is empty) and the folded word w[0, len) as an FTS5 string. */
static int put_word(eg_buf *out, const char *sep, const char *w, size_t len)
{
    int rc = out->len ? eg_buf_puts(out, sep) : 0;
    rc = rc ? rc : eg_buf_putc(out, '"');
    for (size_t b = 0; !rc && b < len; b++)
        rc = w[b] == '"' ? eg_buf_puts(out, "\"\"") : eg_buf_putc(out, w[b]);
    rc = rc ? rc : eg_buf_putc(out, '"');
    return rc ? eg_error_set(EG_ENOMEM, "out of memory during recall") : 0;
}

/* The lowest rowid of the newest memories that hold about LEX_DOCS of docs matches; *top is the
 * highest rowid a recall at its time may return (build_match reads it). */
static int64_t window(int64_t docs, const int64_t *top)
{
    int64_t t = *top;
    return t - (int64_t)((double)t * LEX_DOCS / (double)docs);
}

/* Estimates in how many memories the word whose concept extraction is in r->tmp occurs. */
static int word_freq(eg_recaller *r, int64_t *df, int64_t *top)
{
    json_t *a = json_loadb(r->tmp.data, r->tmp.len, 0, NULL);
    const char *stem = json_string_value(json_array_get(a, 0));
    int64_t id;
    bool found = false;
    int rc = 0;
    *df = 0;
    if (!stem)
        *df = *top; /* a stopword or a short word: everywhere */
    else if (!(rc = eg_recall_q_concept(r->q, stem, &id, df, &found)) && !found)
        *df = 0;
    json_decref(a);
    return rc;
}

/* Adds the folded word f[0, flen) to the nt terms of tok, unless one of them is the same word:
 * whether to keep it and in how many memories it is, about. raw[0, rawlen) is the word as typed,
 * whose concept stands in for the document frequency (one index lookup; a stopword counts as in
 * every memory, a word the concept table does not know as in none); numbers have no concept and
 * are looked up in the index. A CJK word (cjk) has no concept either (most are shorter than three
 * characters): it is kept, and is in at most as many memories as its rarest character. */
static int add_term(eg_recaller *r, term *tok, int *nt, int64_t *top, const char *raw,
                    size_t rawlen, const char *f, size_t flen, bool cjk)
{
    int rc = 0, slot = *nt;
    bool keep = true, digits = true;
    if (!flen)
        return 0;
    for (int k = 0; k < *nt; k++)
        if (tok[k].flen == flen && !memcmp(r->folded.data + tok[k].foff, f, flen))
            return 0;
    if (!cjk) {
        for (size_t k = 0; k < flen && digits; k++)
            digits = f[k] >= '0' && f[k] <= '9';
        eg_buf_reset(&r->tmp);
        if ((rc = eg_concepts_from_text(r->cx, raw, rawlen, &r->tmp)))
            return rc;
        keep = digits || r->tmp.len > 2; /* "[]" is no concept */
    }
    /* full: a word that is kept takes the place of a stopword or a short word (searched only
     * when nothing else is left), so a long question's words are not crowded out by them */
    if (slot >= MAX_TOKENS) {
        for (slot = 0; keep && slot < *nt && tok[slot].keep; slot++)
            ;
        if (!keep || slot == *nt)
            return 0;
    }
    term *t = &tok[slot];
    *t = (term){.foff = r->folded.len, .flen = flen, .keep = keep};
    if (eg_buf_append(&r->folded, f, flen) || eg_buf_putc(&r->folded, '\0'))
        return eg_error_set(EG_ENOMEM, "out of memory during recall");
    const char *w = r->folded.data + t->foff;
    if (cjk) {
        t->df = -1;
        for (size_t a = 0; a < flen && !rc;) {
            size_t b = a;
            int64_t d = 0;
            while (b < flen && w[b] != ' ')
                b++;
            eg_buf_reset(&r->tmp);
            if (eg_buf_append(&r->tmp, w + a, b - a))
                return eg_error_set(EG_ENOMEM, "out of memory during recall");
            rc = eg_recall_q_doc_freq(r->q, r->tmp.data, &d);
            if (t->df < 0 || d < t->df)
                t->df = d;
            a = b + 1;
        }
    } else {
        rc = digits ? eg_recall_q_doc_freq(r->q, w, &t->df) : word_freq(r, &t->df, top);
    }
    if (!rc && slot == *nt)
        (*nt)++;
    return rc;
}

/* Adds the terms of one word of the query, as typed at raw[0, rawlen) and folded in r->word:
 * the word itself when it has no CJK character. Else each other word in it, and each run of CJK
 * characters: as a phrase when it is one or two characters long, else each pair of neighbours
 * (a phrase of two), since a run typed without spaces is often several words ("我今天在北京"
 * finds "北京" through the pair 北京; a memory with more of the pairs ranks higher). */
static int add_word(eg_recaller *r, term *tok, int *nt, int64_t *top, const char *raw,
                    size_t rawlen)
{
    struct {
        size_t s, e;
        bool single;
    } part[2 * MAX_TOKENS];
    const char *w = r->word.data;
    size_t n = r->word.len, p = 0;
    int np = 0, rc = 0;
    bool any = false;
    while (p < n && np < (int)(sizeof part / sizeof part[0])) {
        while (p < n && w[p] == ' ')
            p++;
        if (p == n)
            break;
        size_t q = p;
        while (q < n && w[q] != ' ')
            q++;
        utf8proc_int32_t cp = -1;
        utf8proc_iterate((const utf8proc_uint8_t *)w + p, (utf8proc_ssize_t)(q - p), &cp);
        part[np].s = p;
        part[np].e = q;
        part[np].single = eg_store_fts_single(cp);
        any |= part[np].single;
        np++;
        p = q;
    }
    if (!np)
        return 0;
    if (!any) /* the whole word, spaces and all: FTS5 takes a string of several as a phrase */
        return add_term(r, tok, nt, top, raw, rawlen, w + part[0].s, part[np - 1].e - part[0].s,
                        false);
    for (int j = 0; j < np && !rc;) {
        if (!part[j].single) {
            rc = add_term(r, tok, nt, top, w + part[j].s, part[j].e - part[j].s, w + part[j].s,
                          part[j].e - part[j].s, false);
            j++;
            continue;
        }
        int k = j;
        while (k < np && part[k].single)
            k++;
        if (k - j <= 2)
            rc = add_term(r, tok, nt, top, NULL, 0, w + part[j].s, part[k - 1].e - part[j].s, true);
        for (int m = j; k - j > 2 && m + 1 < k && !rc; m++)
            rc = add_term(r, tok, nt, top, NULL, 0, w + part[m].s, part[m + 1].e - part[m].s, true);
        j = k;
    }
    return rc;
}

/* Whether no more words can be taken: every place holds a word that is kept. */
static bool terms_full(const term *tok, int nt)
{
    for (int k = 0; k < nt; k++)
        if (!tok[k].keep)
            return false;
    return nt >= MAX_TOKENS;
}

/* In how many memories the phrase w[0, len) (a folded word) is, for BM25: fts_term's count when
 * the index's tokenizer takes it as one term (ASCII letters and digits, and bytes of other
 * characters); -1 otherwise (a CJK phrase of several characters), which the search counts. */
static int phrase_hits(eg_recaller *r, const char *w, size_t len, int64_t *hits)
{
    bool word = false, sep = false;
    *hits = -1;
    for (size_t b = 0; b < len; b++) {
        unsigned char c = (unsigned char)w[b];
        if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')))
            sep = true;
        else
            word = true;
    }
    if (!word)
        *hits = -2; /* no term at all: FTS5 may leave the phrase out, and the order would slip */
    if (!word || sep || len > 32768) /* (FTS5 keeps the first 32 KiB of a longer term) */
        return 0;
    return eg_recall_q_doc_freq(r->q, w, hits);
}

static int build_match(eg_recaller *r, const char *query, eg_buf *out, eg_buf *all,
                       int64_t *min_rowid, int64_t *max_rowid)
{
    int64_t top;
    term tok[MAX_TOKENS];
    size_t len = strlen(query), i = 0;
    int nt = 0, nkeep = 0, rc = 0;
    eg_buf_reset(out);
    eg_buf_reset(all);
    eg_buf_reset(&r->folded);
    *min_rowid = INT64_MIN;
    /* the newest rowid a recall at r->at may return: the searches read the newest matches
     * below it (a past --at read the newest of the whole store, all of them too new) */
    if ((rc = eg_recall_q_max_rowid(r->q, r->at, &top)))
        return rc;
    while (i < len && !terms_full(tok, nt)) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t n =
            utf8proc_iterate((const utf8proc_uint8_t *)query + i, (utf8proc_ssize_t)(len - i), &cp);
        if (n <= 0) {
            i++;
            continue;
        }
        if (!word_start(cp)) {
            i += (size_t)n;
            continue;
        }
        size_t start = i;
        i += (size_t)n;
        while (i < len) {
            n = utf8proc_iterate((const utf8proc_uint8_t *)query + i, (utf8proc_ssize_t)(len - i),
                                 &cp);
            if (n <= 0 || !word_cont(cp))
                break;
            i += (size_t)n;
        }
        eg_buf_reset(&r->word);
        if ((rc = eg_store_fts_fold(&r->fold, &r->word, query + start, i - start)) ||
            (rc = add_word(r, tok, &nt, &top, query + start, i - start)))
            return rc;
    }
    for (int k = 0; k < nt; k++)
        nkeep += tok[k].keep;
    for (int k = 0; k < nt; k++)
        tok[k].keep = tok[k].keep || !nkeep;
    /* rarest first, while the budget lasts */
    int64_t used = 0;
    int chosen = 0;
    for (;;) {
        int pick = -1;
        for (int k = 0; k < nt; k++)
            if (tok[k].keep && !tok[k].chosen && (pick < 0 || tok[k].df < tok[pick].df))
                pick = k;
        if (pick < 0 || (chosen && used + tok[pick].df > LEX_DOCS))
            break;
        tok[pick].chosen = true;
        used += tok[pick].df;
        chosen++;
    }
    if (used > LEX_DOCS)
        *min_rowid = window(used, &top);
    *max_rowid = top;
    int64_t rarest = -1;
    for (int k = 0; k < nt; k++)
        if (tok[k].keep && (rarest < 0 || tok[k].df < rarest))
            rarest = tok[k].df;
    int nall = 0;
    r->nhits_any = r->nhits_all = 0;
    for (int k = 0; k < nt; k++) {
        const char *w = r->folded.data + tok[k].foff;
        int64_t hits = -1;
        if ((tok[k].chosen || tok[k].keep) && (rc = phrase_hits(r, w, tok[k].flen, &hits)))
            return rc;
        if (tok[k].chosen && (rc = put_word(out, " OR ", w, tok[k].flen)))
            return rc;
        if (tok[k].chosen)
            r->hits_any[r->nhits_any++] = hits;
        if (tok[k].keep && (rc = put_word(all, " AND ", w, tok[k].flen)))
            return rc;
        if (tok[k].keep)
            r->hits_all[r->nhits_all++] = hits;
        nall += tok[k].keep;
    }
    for (int k = 0; k < r->nhits_any; k++)
        if (r->hits_any[k] == -2)
            r->nhits_any = 0; /* every phrase counted, as bm25() counts them */
    for (int k = 0; k < r->nhits_all; k++)
        if (r->hits_all[k] == -2)
            r->nhits_all = 0;
    if (nall < 2 || rarest > LEX_DOCS)
        eg_buf_reset(all); /* one word: the OR search is the same; all common: too costly */
    if ((!out->data && eg_buf_puts(out, "")) || (!all->data && eg_buf_puts(all, "")))
        return eg_error_set(EG_ENOMEM, "out of memory during recall");
    return 0;
}

/* ---- candidates ---- */

static int lex_cb(void *ud, int64_t rowid, double score)
{
    eg_recaller *r = ud;
    uint32_t i;
    int rc;
    if ((rc = cand_add(r, rowid, &i)))
        return rc;
    if (r->c[i].state != C_UNCHECKED)
        return 0; /* seen in the AND search already */
    if ((rc = cand_check(r, i)))
        return rc;
    if (r->c[i].state != C_OK)
        return 0;
    r->c[i].raw_lex = score;
    if ((rc = GROW(r->lexi, r->caplexi, r->nlexi + 1)))
        return rc;
    r->lexi[r->nlexi++] = i;
    return r->nlexi >= LEX_MAX ? 1 : 0;
}

static int nbr_cb(void *ud, int64_t other, double w, int64_t memories)
{
    eg_recaller *r = ud;
    int rc;
    if ((rc = GROW(r->nb, r->capnb, r->nnb + 1)))
        return rc;
    r->nb[r->nnb++] = (nbr){other, w, memories};
    return 0;
}

static int cmp_nbr(const void *a, const void *b)
{
    const nbr *x = a, *y = b;
    if (x->w != y->w)
        return x->w > y->w ? -1 : 1;
    return (x->other > y->other) - (x->other < y->other);
}

/* Memories of a concept join the pool with a preliminary spread of `gain` each: added for a
 * query concept, the best one kept for a neighbour of one. */
typedef struct post_ctx {
    eg_recaller *r;
    double gain;
    bool neighbour;
} post_ctx;

static int post_cb(void *ud, int64_t rowid)
{
    post_ctx *p = ud;
    eg_recaller *r = p->r;
    uint32_t i = map_get(&r->pmap, rowid);
    int rc;
    if (i == UINT32_MAX) {
        if ((rc = GROW(r->pool, r->cappool, r->npool + 1)))
            return rc;
        i = (uint32_t)r->npool++;
        r->pool[i] = (pool_ent){rowid, 0, 0};
        if ((rc = map_put(&r->pmap, rowid, i)))
            return rc;
    }
    if (p->neighbour)
        r->pool[i].hebb = fmax(r->pool[i].hebb, p->gain);
    else
        r->pool[i].prelim += p->gain;
    return 0;
}

static int rconcept_get(eg_recaller *r, int64_t id, rconcept **out)
{
    uint32_t i = map_get(&r->rcmap, id);
    int rc;
    if (i == UINT32_MAX) {
        if ((rc = GROW(r->rc, r->caprc, r->nrc + 1)))
            return rc;
        i = (uint32_t)r->nrc++;
        r->rc[i] = (rconcept){id, 0, -1, 0, UINT32_MAX};
        if ((rc = map_put(&r->rcmap, id, i)))
            return rc;
    }
    *out = &r->rc[i];
    return 0;
}

/* The query's concepts: looked up, their memories and their strongest neighbours' memories
 * gathered as candidates. */
static int concept_candidates(eg_recaller *r, const char *query, eg_recall_result *res)
{
    const double S = r->cfg->recall_s_max;
    json_t *arr = NULL;
    int rc = 0;
    size_t nq, k;
    eg_buf_reset(&r->tmp);
    if ((rc = eg_concepts_from_text(r->cx, query, strlen(query), &r->tmp)))
        return rc;
    arr = json_loadb(r->tmp.data, r->tmp.len, 0, NULL);
    nq = json_array_size(arr);
    res->query_concepts = (int)nq;
    if (!nq)
        goto done;
    r->qw = 1.0 / (double)nq;
    for (k = 0; k < nq && r->nq < MAX_QCONCEPTS; k++) {
        const char *name = json_string_value(json_array_get(arr, k));
        int64_t id, mems;
        bool found;
        rconcept *c;
        if (!name)
            continue;
        if ((rc = eg_recall_q_concept(r->q, name, &id, &mems, &found)))
            goto done;
        if (!found)
            continue;
        if ((rc = rconcept_get(r, id, &c)))
            goto done;
        c->q = r->nq;
        c->fan = 1 + mems;
        c->str = r->qstr[r->nq] = eg_activation_strength(S, (double)(1 + mems));
        r->nq++;
    }
    res->known_concepts = r->nq;
    /* a concept's memories are read newest first, none newer than the newest memory created by
     * r->at (with a past --at the newest of the whole store were all too new to be recalled,
     * and the limits below were spent on them) */
    int64_t top;
    if ((rc = eg_recall_q_max_rowid(r->q, r->at, &top)))
        goto done;
    for (size_t j = 0; j < r->nrc && r->rc[j].q >= 0; j++) {
        int64_t jid = r->rc[j].id;
        int qj = r->rc[j].q;
        double gain = r->qw * r->qstr[qj];
        if (gain <= 0)
            continue; /* so common that it carries nothing */
        post_ctx p = {r, gain, false};
        int limit = r->rc[j].fan <= CONCEPT_FULL ? CONCEPT_FULL : CONCEPT_POSTINGS;
        if ((rc = eg_recall_q_concept_memories(r->q, jid, top, limit, post_cb, &p)))
            goto done;
        r->nnb = 0;
        if ((rc = eg_recall_q_concept_edges(r->q, jid, nbr_cb, r)))
            goto done;
        if (r->nnb)
            qsort(r->nb, r->nnb, sizeof *r->nb, cmp_nbr);
        size_t kept = 0;
        for (size_t e = 0; e < r->nnb && kept < NEIGHBOURS; e++) {
            uint32_t ci = map_get(&r->rcmap, r->nb[e].other);
            if (ci != UINT32_MAX && r->rc[ci].q >= 0)
                continue; /* a query concept itself: counted directly */
            rconcept *c;
            if ((rc = rconcept_get(r, r->nb[e].other, &c)) ||
                (rc = GROW(r->links, r->caplinks, r->nlinks + 1)))
                goto done;
            r->links[r->nlinks] = (qlink){qj, r->nb[e].w, c->link};
            c->link = (uint32_t)r->nlinks++;
            if (kept++ < NEIGHBOURS_GEN) {
                post_ctx pn = {r, HEBBIAN_SHARE * gain * r->nb[e].w, true};
                if ((rc = eg_recall_q_concept_memories(r->q, r->nb[e].other, top,
                                                       NEIGHBOUR_POSTINGS, post_cb, &pn)))
                    goto done;
            }
        }
    }
done:
    json_decref(arr);
    return rc;
}

/* Pool order: higher preliminary spread (or BM25 score) first, then newer (higher rowid). */
static bool pool_better(const pool_ent *x, const pool_ent *y)
{
    double a = x->prelim + x->hebb, b = y->prelim + y->hebb;
    return a != b ? a > b : x->rowid > y->rowid;
}

static int cmp_pool(const void *a, const void *b)
{
    const pool_ent *x = a, *y = b;
    return pool_better(x, y) ? -1 : pool_better(y, x) ? 1 : 0;
}

/* Moves the best m entries of the pool to its front (a bounded min-heap, then sorted). */
static void pool_top(pool_ent *p, size_t n, size_t m)
{
    if (!n)
        return;
    if (m >= n) {
        qsort(p, n, sizeof *p, cmp_pool);
        return;
    }
    /* p[0..m) becomes a heap whose root is the worst of the best m seen so far */
    for (size_t k = 0; k < n; k++) {
        size_t i;
        if (k < m) {
            i = k; /* sift up */
            while (i > 0 && pool_better(&p[(i - 1) / 2], &p[i])) {
                pool_ent t = p[i];
                p[i] = p[(i - 1) / 2];
                p[(i - 1) / 2] = t;
                i = (i - 1) / 2;
            }
            continue;
        }
        if (!pool_better(&p[k], &p[0]))
            continue;
        pool_ent t = p[0];
        p[0] = p[k];
        p[k] = t;
        for (i = 0;;) { /* sift down */
            size_t l = 2 * i + 1, w = i;
            if (l < m && pool_better(&p[w], &p[l]))
                w = l;
            if (l + 1 < m && pool_better(&p[w], &p[l + 1]))
                w = l + 1;
            if (w == i)
                break;
            t = p[i];
            p[i] = p[w];
            p[w] = t;
            i = w;
        }
    }
    qsort(p, m, sizeof *p, cmp_pool);
}

/* Makes candidates of the CONCEPT_MAX recallable pool memories with the highest preliminary
 * spread (the lexical candidates are candidates already). */
static int prune_concept_candidates(eg_recaller *r, eg_recall_result *res)
{
    size_t kept = 0, k = 0, m = 2 * CONCEPT_MAX;
    int rc;
    pool_top(r->pool, r->npool, m);
    for (;;) {
        for (; k < r->npool && k < m && kept < CONCEPT_MAX; k++) {
            uint32_t i;
            if (map_get(&r->cmap, r->pool[k].rowid) != UINT32_MAX)
                continue; /* a lexical candidate */
            if ((rc = cand_add(r, r->pool[k].rowid, &i)) || (rc = cand_check(r, i)))
                return rc;
            kept += r->c[i].state == C_OK;
        }
        if (kept >= CONCEPT_MAX || m >= r->npool)
            break;
        /* many of the best were not recallable: order the rest too */
        qsort(r->pool + m, r->npool - m, sizeof *r->pool, cmp_pool);
        m = r->npool;
    }
    res->concept_candidates = kept;
    return 0;
}

static int assoc_collect(void *ud, int64_t other, double w)
{
    return nbr_cb(ud, other, w, 0);
}

/* Spreads `from` (a share of the source's query activation) to the source's learned associates,
 * each in proportion to its association's weight relative to the source's strongest one; a
 * memory keeps the most it receives from any source. */
static int assoc_spread(eg_recaller *r, uint32_t source, double from)
{
    double wmax = 0;
    int rc;
    r->nnb = 0;
    if ((rc = eg_recall_q_assoc(r->q, r->c[source].rowid, assoc_collect, r)))
        return rc;
    for (size_t e = 0; e < r->nnb; e++)
        if (r->nb[e].w > wmax)
            wmax = r->nb[e].w;
    for (size_t e = 0; e < r->nnb && wmax > 0; e++) {
        uint32_t i;
        if ((rc = cand_add(r, r->nb[e].other, &i)))
            return rc;
        if (r->c[i].state == C_UNCHECKED || r->c[i].state == C_DROPPED) {
            if (r->nassoc_added >= ASSOC_MAX) {
                r->c[i].state = C_DROPPED;
                continue;
            }
            if ((rc = cand_check(r, i)))
                return rc;
            r->nassoc_added += r->c[i].state == C_OK;
        }
        if (r->c[i].state == C_OK)
            r->c[i].sa = fmax(r->c[i].sa, from * r->nb[e].w / wmax);
    }
    return 0;
}

/* ---- scoring ---- */

static int mconcept_cb(void *ud, int64_t concept_id)
{
    eg_recaller *r = ud;
    uint32_t k = map_get(&r->rcmap, concept_id);
    if (k == UINT32_MAX)
        return 0;
    const rconcept *c = &r->rc[k];
    if (c->q >= 0) {
        r->has[c->q] = true; /* a query concept the memory has */
        return 0;
    }
    for (uint32_t l = c->link; l != UINT32_MAX; l = r->links[l].next)
        if (r->links[l].w > r->best[r->links[l].q])
            r->best[r->links[l].q] = r->links[l].w; /* a neighbour of a query concept */
    return 0;
}

typedef struct pres_ctx {
    eg_recaller *r;
    bool created, updated;
} pres_ctx;

static int pres_cb(void *ud, int64_t t, const char *kind)
{
    pres_ctx *p = ud;
    int rc;
    if (kind && !strcmp(kind, "created"))
        p->created = true;
    if (kind && !strcmp(kind, "updated"))
        p->updated = true;
    if ((rc = GROW(p->r->times, p->r->captimes, p->r->ntimes + 1)))
        return rc;
    p->r->times[p->r->ntimes++] = t;
    return 0;
}

/* Presentation times of a memory at or before at into r->times. Before the pipeline has run
 * over a memory its creation (and update) is not in the presentation table yet; then they come
 * from the memory row. */
static int presentations(eg_recaller *r, int64_t rowid, int64_t created_at, bool has_updated,
                         int64_t updated_at, int64_t at)
{
    pres_ctx p = {r, false, false};
    int rc;
    r->ntimes = 0;
    if ((rc = eg_recall_q_presentations(r->q, rowid, at, pres_cb, &p)))
        return rc;
    if (!p.created && created_at <= at && (rc = pres_cb(&p, created_at, NULL)))
        return rc;
    if (!p.created && !p.updated && has_updated && updated_at > created_at && updated_at <= at &&
        (rc = pres_cb(&p, updated_at, NULL)))
        return rc;
    return 0;
}

/* Query activation of a candidate: what the query gives it before associations. */
static double qact(const eg_config *cfg, const cand *c)
{
    return cfg->recall_alpha * c->lex + cfg->recall_beta * (c->sc + c->sh);
}

/* The concept part of candidate i's spread (sc, sh), once. */
static int concept_spread(eg_recaller *r, uint32_t i)
{
    int rc;
    if (r->c[i].spread_done)
        return 0;
    memset(r->has, 0, sizeof r->has);
    memset(r->best, 0, sizeof r->best);
    cand *c = &r->c[i];
    for (uint32_t k = 0; r->nq && k < c->ncids; k++)
        if ((rc = mconcept_cb(r, r->cids[c->cid_off + k])))
            return rc;
    /* W_j·str_j per query concept j it has; for one it lacks, the share w(j,c) of it that its
     * best Hebbian neighbour c of j carries */
    for (int j = 0; j < r->nq; j++) {
        if (r->has[j])
            c->sc += r->qw * r->qstr[j];
        else
            c->sh += HEBBIAN_SHARE * r->qw * r->best[j] * r->qstr[j];
    }
    c->spread_done = true;
    return 0;
}

static int score_one(eg_recaller *r, uint32_t i)
{
    const eg_config *cfg = r->cfg;
    int rc;
    if ((rc = concept_spread(r, i)))
        return rc;
    cand *c = &r->c[i];
    if ((rc = presentations(r, c->rowid, c->created_at, c->has_updated, c->updated_at, r->at)))
        return rc;
    c = &r->c[i];
    c->npres = (int)r->ntimes;
    /* an association lifts the query activation up to what it carries, never adds to it */
    double q = qact(cfg, c);
    c->sa = c->sa > q && cfg->recall_beta > 0 ? (c->sa - q) / cfg->recall_beta : 0;
    c->base = eg_activation_base(r->times, r->ntimes, r->at, cfg->activation_decay);
    double spread = c->sc + c->sh + c->sa;
    c->score = cfg->recall_alpha * c->lex + cfg->recall_beta * spread + cfg->recall_gamma * c->base;
    return 0;
}

static int cmp_qact(const void *a, const void *b, void *ud)
{
    const eg_recaller *r = ud;
    const eg_config *cfg = r->cfg;
    const cand *x = &r->c[*(const uint32_t *)a], *y = &r->c[*(const uint32_t *)b];
    double qx = qact(cfg, x), qy = qact(cfg, y);
    if (qx != qy)
        return qx > qy ? -1 : 1;
    return (x->rowid > y->rowid) - (x->rowid < y->rowid);
}

static int cmp_score(const void *a, const void *b, void *ud)
{
    const eg_recaller *r = ud;
    const cand *x = &r->c[*(const uint32_t *)a], *y = &r->c[*(const uint32_t *)b];
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return strcmp(r->ids.data + x->id_off, r->ids.data + y->id_off);
}

static int lexrow_cb(void *ud, int64_t rowid, double score)
{
    eg_recaller *r = ud;
    int rc = GROW(r->lexrows, r->caplexrows, r->nlexrows + 1);
    if (!rc)
        r->lexrows[r->nlexrows++] = (pool_ent){rowid, score, 0};
    return rc;
}

/* One full-text search: the newest LEX_ROWS matches ranked by BM25 (ties: newer first), the best
 * LEX_SCAN of them looked at until LEX_MAX recallable ones are candidates. */
static int lexical_search(eg_recaller *r, const char *match, const int64_t *hits, int nhits,
                          int64_t min_rowid, int64_t max_rowid)
{
    int rc;
    r->nlexrows = 0;
    if ((rc = eg_recall_q_lexical(r->q, match, hits, nhits, min_rowid, max_rowid, LEX_ROWS,
                                  lexrow_cb, r)))
        return rc;
    if (r->nlexrows)
        qsort(r->lexrows, r->nlexrows, sizeof *r->lexrows, cmp_pool);
    for (size_t k = 0; k < r->nlexrows && k < LEX_SCAN && r->nlexi < LEX_MAX; k++)
        if ((rc = lex_cb(r, r->lexrows[k].rowid, r->lexrows[k].prelim)) < 0)
            return rc;
    return 0;
}

static void reset_query(eg_recaller *r, int64_t at)
{
    r->nc = r->nrc = r->nlexi = r->nassoc_added = r->nlinks = r->ncids = 0;
    r->nq = 0;
    map_clear(&r->cmap);
    map_clear(&r->rcmap);
    map_clear(&r->pmap);
    r->npool = 0;
    eg_buf_reset(&r->ids);
    r->at = at;
}

int eg_recall(eg_recaller *r, const char *query, const eg_recall_opts *o, eg_recall_result *res)
{
    eg_buf text, match;
    int64_t *rowids = NULL;
    size_t nok = 0;
    int rc = 0;
    memset(res, 0, sizeof *res);
    res->at = o->at;
    eg_buf_init(&text, 0);
    eg_buf_init(&match, 0);
    const char *p = query ? query : "";
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (!*p) {
        rc = eg_error_set(EG_EUSAGE, "the recall query is empty");
        eg_error_hint("give the words to recall, e.g. engram recall \"garden tomatoes\"");
        goto done;
    }
    if (o->k < 1 || o->k > MAX_K) {
        rc = eg_error_set(EG_EUSAGE, "recall: k must be 1 to %d, not %d", MAX_K, o->k);
        goto done;
    }
    reset_query(r, o->at);
    if ((rc = eg_recall_q_snapshot(r->q, true)))
        goto done;

    /* 1. lexical candidates */
    int64_t min_rowid, max_rowid;
    if ((rc = build_match(r, query, &match, &r->tmp2, &min_rowid, &max_rowid)))
        goto done;
    if (r->tmp2.len &&
        (rc = lexical_search(r, r->tmp2.data, r->hits_all, r->nhits_all, INT64_MIN, max_rowid)))
        goto done;
    if (match.len && r->nlexi < LEX_MAX &&
        (rc = lexical_search(r, match.data, r->hits_any, r->nhits_any, min_rowid, max_rowid)))
        goto done;
    double best = 0;
    for (size_t k = 0; k < r->nlexi; k++)
        if (r->c[r->lexi[k]].raw_lex > best)
            best = r->c[r->lexi[k]].raw_lex;
    for (size_t k = 0; k < r->nlexi && best > 0; k++)
        r->c[r->lexi[k]].lex = r->c[r->lexi[k]].raw_lex / best;
    res->lexical_candidates = r->nlexi;

    /* 2. concept-reached candidates */
    if ((rc = concept_candidates(r, query, res)) || (rc = prune_concept_candidates(r, res)))
        goto done;

    /* 3. association-reached: the memories the query activates most spread a share of their
     * activation along their learned associations */
    if ((rc = GROW(r->order, r->caporder, r->nc + 1)))
        goto done;
    for (size_t i = 0; i < r->nc && !rc; i++)
        if (r->c[i].state == C_OK) {
            r->order[nok++] = (uint32_t)i;
            rc = concept_spread(r, (uint32_t)i);
        }
    if (rc)
        goto done;
    qsort_r(r->order, nok, sizeof *r->order, cmp_qact, r);
    {
        uint32_t src[ASSOC_SOURCES];
        size_t nsrc = nok < ASSOC_SOURCES ? nok : ASSOC_SOURCES;
        const double rho = ASSOC_RHO;
        memcpy(src, r->order, nsrc * sizeof *src);
        for (size_t k = 0; k < nsrc && !rc; k++)
            if (qact(r->cfg, &r->c[src[k]]) > 0)
                rc = assoc_spread(r, src[k], rho * qact(r->cfg, &r->c[src[k]]));
        if (rc)
            goto done;
    }
    nok = 0;
    res->assoc_candidates = r->nassoc_added;

    /* 4. score every recallable candidate */
    if ((rc = GROW(r->order, r->caporder, r->nc + 1)))
        goto done;
    uint32_t *ok = r->order;
    for (size_t i = 0; i < r->nc; i++)
        if (r->c[i].state == C_OK)
            ok[nok++] = (uint32_t)i;
    for (size_t k = 0; k < nok && !rc; k++)
        rc = score_one(r, ok[k]);
    if (!rc)
        qsort_r(ok, nok, sizeof *ok, cmp_score, r);
    res->candidates = nok;

    /* 5. the best k, with their content */
    size_t n = nok < (size_t)o->k ? nok : (size_t)o->k;
    size_t *offs = NULL;
    if (!rc && n) {
        res->hits = calloc(n, sizeof *res->hits);
        offs = calloc(n * 3, sizeof *offs);
        rowids = calloc(n, sizeof *rowids);
        if (!res->hits || !offs || !rowids)
            rc = eg_error_set(EG_ENOMEM, "out of memory during recall");
    }
    for (size_t k = 0; k < n && !rc; k++) {
        const cand *c = &r->c[ok[k]];
        eg_recall_hit *h = &res->hits[k];
        const char *id = r->ids.data + c->id_off;
        offs[3 * k] = text.len;
        if (eg_buf_append(&text, id, strlen(id) + 1)) {
            rc = eg_error_set(EG_ENOMEM, "out of memory during recall");
            break;
        }
        offs[3 * k + 1] = text.len;
        if ((rc = eg_recall_q_content(r->q, c->rowid, &text)))
            break;
        if (eg_buf_putc(&text, '\0')) {
            rc = eg_error_set(EG_ENOMEM, "out of memory during recall");
            break;
        }
        offs[3 * k + 2] = text.len;
        if (eg_buf_append(&text, c->status, strlen(c->status) + 1)) {
            rc = eg_error_set(EG_ENOMEM, "out of memory during recall");
            break;
        }
        h->created_at = c->created_at;
        h->score = c->score;
        h->lexical = c->lex;
        h->spread_concepts = c->sc;
        h->spread_hebbian = c->sh;
        h->spread_assoc = c->sa;
        h->spread = c->sc + c->sh + c->sa;
        h->base_level = c->base;
        h->p_recall = eg_activation_p_recall(c->score, r->cfg->recall_tau, r->cfg->recall_noise);
        h->presentations = c->npres;
        rowids[k] = c->rowid;
        res->n++;
    }
    if (!rc) {
        for (size_t k = 0; k < res->n; k++) {
            res->hits[k].memory_id = text.data + offs[3 * k];
            res->hits[k].content = text.data + offs[3 * k + 1];
            res->hits[k].status = text.data + offs[3 * k + 2];
        }
        res->text_ = text.data;
        text.data = NULL;
        if (r->tmp2.len && (eg_buf_puts(&r->tmp2, ", then ") || eg_buf_puts(&r->tmp2, match.data)))
            rc = eg_error_set(EG_ENOMEM, "out of memory during recall");
        else if (r->tmp2.len && !(res->fts_query = strdup(r->tmp2.data)))
            rc = eg_error_set(EG_ENOMEM, "out of memory during recall");
        else if (!r->tmp2.len) {
            res->fts_query = match.data;
            match.data = NULL;
        }
    }
    free(offs);
    if (!rc)
        rc = eg_recall_q_snapshot(r->q, false);
    if (!rc && o->rehearse)
        rc = eg_store_recall_rehearse(r->st, rowids, res->n, o->at);
done:
    eg_recall_q_snapshot(r->q, false); /* after a failure; a no-op otherwise */
    free(rowids);
    eg_buf_free(&text);
    eg_buf_free(&match);
    if (rc) {
        eg_recall_result_free(res);
        res->at = o->at;
    }
    return rc;
}

void eg_recall_result_free(eg_recall_result *res)
{
    if (!res)
        return;
    free(res->hits);
    free(res->fts_query);
    free(res->text_);
    memset(res, 0, sizeof *res);
}

/* A number for JSON: 6 significant digits (stable across runs and easy to read); null if not
 * finite. */
static int json_num(eg_buf *b, double v)
{
    return isfinite(v) ? eg_buf_printf(b, "%.6g", v) : eg_buf_puts(b, "null");
}

char *eg_recall_result_json(const eg_recall_result *res, const char *query)
{
    eg_buf b;
    char ts[EG_TIME_BUFSZ];
    int rc = 0;
    eg_buf_init(&b, 0);
    rc |= eg_buf_puts(&b, "{\"query\":");
    rc |= eg_buf_json_str(&b, query, strlen(query));
    rc |= eg_buf_printf(&b, ",\"at\":\"%s\",\"results\":[", eg_time_format(res->at, ts));
    for (size_t k = 0; k < res->n; k++) {
        const eg_recall_hit *h = &res->hits[k];
        rc |= eg_buf_puts(&b, k ? ",{\"memory_id\":" : "{\"memory_id\":");
        rc |= eg_buf_json_str(&b, h->memory_id, strlen(h->memory_id));
        rc |= eg_buf_puts(&b, ",\"score\":");
        rc |= json_num(&b, h->score);
        rc |= eg_buf_puts(&b, ",\"content\":");
        rc |= eg_buf_json_str(&b, h->content, strlen(h->content));
        rc |= eg_buf_puts(&b, ",\"lexical\":");
        rc |= json_num(&b, h->lexical);
        rc |= eg_buf_puts(&b, ",\"spread\":");
        rc |= json_num(&b, h->spread);
        rc |= eg_buf_puts(&b, ",\"activation\":");
        rc |= json_num(&b, h->base_level);
        rc |= eg_buf_puts(&b, ",\"p_recall\":");
        rc |= json_num(&b, h->p_recall);
        rc |= eg_buf_puts(&b, ",\"status\":");
        rc |= eg_buf_json_str(&b, h->status, strlen(h->status));
        rc |= eg_buf_printf(&b, ",\"created_at\":\"%s\"}", eg_time_format(h->created_at, ts));
    }
    rc |= eg_buf_puts(&b, "]}");
    if (rc) {
        eg_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* ---- trace ---- */

static const char *iso(json_t *v, char *buf)
{
    if (!json_is_integer(v))
        return "?";
    return eg_time_format((int64_t)json_integer_value(v), buf);
}

static bool has(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return v && !json_is_null(v);
}

static double num(json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static long long inum(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static const char *str(json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : dflt;
}

/* Appends {"step": name, "line": formatted} to steps and returns it, for more fields. */
static json_t *add_step(json_t *steps, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static json_t *add_step(json_t *steps, const char *name, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    json_t *s = json_pack("{s:s, s:s}", "step", name, "line", line);
    json_array_append_new(steps, s);
    return s;
}

/* Copies the given keys of from into to (missing ones as null). */
static void copy_keys(json_t *to, json_t *from, const char *const *keys)
{
    for (; *keys; keys++) {
        json_t *v = json_object_get(from, *keys);
        json_object_set_new(to, *keys, v ? json_incref(v) : json_null());
    }
}

/* The "source" and "staging" steps; returns false (diagnosis set) when the memory stops there. */
static bool trace_source(json_t *f, json_t *steps, char *diag, size_t dn)
{
    json_t *m = json_object_get(f, "memory"), *src = json_object_get(f, "source"),
           *qu = json_object_get(f, "quarantine"), *s;
    char t1[EG_TIME_BUFSZ], t2[EG_TIME_BUFSZ];
    if (!json_is_object(m)) {
        if (json_is_object(qu)) {
            /* a reject of the whole row (not JSON, a CSV record of the wrong width) has an
             * empty field: no "field: " before its reason */
            const char *field = str(qu, "field", "");
            s = add_step(steps, "source", "rejected at ingest (%s %s): %s%s%s",
                         str(qu, "source", "?"), str(qu, "ref", "?"), field, *field ? ": " : "",
                         str(qu, "reason", "?"));
            json_object_set_new(s, "found", json_false());
            snprintf(diag, dn, "rejected at ingest: %s", str(qu, "reason", "?"));
        } else {
            s = add_step(steps, "source",
                         "in the embedded source (%lld characters, created %s) but not ingested "
                         "yet",
                         inum(src, "length_chars"), str(src, "created_at", "?"));
            json_object_set_new(s, "found", json_false());
            snprintf(diag, dn,
                     "not ingested yet: `engram ingest` makes it recallable, `engram run` also "
                     "takes it through the pipeline");
        }
        return false;
    }
    /* SPEC §2: a memory created before the previous run's now arrives late; the pipeline takes
     * it at its arrival time, which the trace must say (its times are not created_at's) */
    bool late = json_is_integer(json_object_get(m, "late")) && inum(m, "late") != 0;
    char t3[EG_TIME_BUFSZ], arrived[96] = "";
    if (late)
        snprintf(arrived, sizeof arrived, "; arrived late%s%s (processed at its arrival)",
                 has(m, "arrived_at") ? " at " : "",
                 has(m, "arrived_at") ? iso(json_object_get(m, "arrived_at"), t3) : "");
    /* a row deleted at the source is found as the store keeps it, not at the source */
    s = add_step(steps, "source", "%s: %lld characters, created %s%s%s, from %s%s",
                 has(m, "deleted_at_source") ? "gone from the source, the store's copy" : "found",
                 inum(m, "length_chars"), iso(json_object_get(m, "created_at"), t1),
                 has(m, "updated_at") ? ", updated " : "",
                 has(m, "updated_at") ? iso(json_object_get(m, "updated_at"), t2) : "",
                 str(m, "source_system", "?"), arrived);
    json_object_set_new(s, "found", json_true());
    copy_keys(s, m, (const char *const[]){"length_chars", "source_system", NULL});
    json_object_set_new(s, "created_at", json_string(iso(json_object_get(m, "created_at"), t1)));
    json_object_set_new(s, "late", json_boolean(late));
    json_object_set_new(s, "arrived_at",
                        late && has(m, "arrived_at")
                            ? json_string(iso(json_object_get(m, "arrived_at"), t3))
                            : json_null());

    if (has(m, "deleted_at_source")) {
        s = add_step(steps, "staging", "deleted at the source (noticed %s)",
                     iso(json_object_get(m, "deleted_at_source"), t1));
        json_object_set_new(s, "status", json_string("deleted_at_source"));
        snprintf(diag, dn, "deleted at the source");
        return false;
    }
    bool out_of_window = !strcmp(str(m, "skip_reason", ""), "out_of_window");
    if (strcmp(str(m, "status", ""), "staged") && !out_of_window) {
        const char *why = str(m, "skip_reason", "unknown");
        s = add_step(steps, "staging", "skipped at %s: %s",
                     iso(json_object_get(m, "processed_at"), t1), why);
        json_object_set_new(s, "status", json_string("skipped"));
        json_object_set_new(s, "skip_reason", json_string(why));
        snprintf(diag, dn, "skipped at staging: %s", why);
        return false;
    }
    json_t *cs = json_loads(str(m, "concepts", "[]"), 0, NULL);
    char names[256] = "";
    size_t i, used = 0;
    json_t *v;
    json_array_foreach(cs, i, v)
    {
        if (i == 8) {
            used += (size_t)snprintf(names + used, sizeof names - used, ", …");
            break;
        }
        if (json_is_string(v) && used < sizeof names)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                                     json_string_value(v));
        if (used >= sizeof names)
            used = sizeof names - 1;
    }
    if (out_of_window) { /* the pipeline takes it all the same, at its own time (adr/0010) */
        s = add_step(steps, "staging",
                     "outside the staging window at %s (no staging columns); the pipeline takes "
                     "it at its own time: %zu concepts (%s)",
                     iso(json_object_get(m, "processed_at"), t1), json_array_size(cs), names);
        json_object_set_new(s, "status", json_string("skipped"));
        json_object_set_new(s, "skip_reason", json_string("out_of_window"));
    } else {
        s = add_step(steps, "staging",
                     "staged at %s: %s, importance_score %.2f, activation_strength %.3f, %zu "
                     "concepts (%s)",
                     iso(json_object_get(m, "processed_at"), t1), str(m, "memory_type", "?"),
                     num(m, "importance_score"), num(m, "activation_strength"), json_array_size(cs),
                     names);
        json_object_set_new(s, "status", json_string("staged"));
        copy_keys(
            s, m,
            (const char *const[]){"memory_type", "importance_score", "activation_strength", NULL});
    }
    json_object_set_new(s, "concepts", cs ? cs : json_array());
    return true;
}

static void trace_features(json_t *m, json_t *steps)
{
    bool computed = has(m, "importance");
    json_t *s = add_step(
        steps, "features",
        "importance %.2f, urgency %.2f, emotional_salience %.2f, sentiment %s, task_type %s%s",
        computed ? num(m, "importance") : 0.5, has(m, "urgency") ? num(m, "urgency") : 0.3,
        has(m, "emotional_salience") ? num(m, "emotional_salience") : 0.3,
        str(m, "sentiment", "neutral"), str(m, "task_type", "observation"),
        computed ? "" : " (defaults: features not computed yet)");
    copy_keys(s, m,
              (const char *const[]){"importance", "urgency", "emotional_salience", "sentiment",
                                    "task_type", NULL});
    json_object_set_new(s, "computed", json_boolean(computed));
}

/* Working memory to long-term memory; sets the diagnosis from the pipeline status. */
static void trace_pipeline(const eg_config *cfg, json_t *f, json_t *steps, int64_t now, char *diag,
                           size_t dn)
{
    json_t *m = json_object_get(f, "memory"), *p = json_object_get(f, "pipeline"),
           *ep = json_object_get(f, "episode"), *l = json_object_get(f, "ltm"),
           *cp = json_object_get(f, "checkpoint"), *s;
    char t1[EG_TIME_BUFSZ], t2[EG_TIME_BUFSZ];
    if (!json_is_object(p)) {
        bool after = json_is_object(cp) && num(m, "created_at") > num(cp, "at");
        if (json_is_object(cp))
            s = add_step(steps, "working_memory", "not reached: %s the last run (%s)",
                         after ? "created after" : "not part of",
                         iso(json_object_get(cp, "at"), t1));
        else
            s = add_step(steps, "working_memory", "not reached: the pipeline has not run yet");
        json_object_set_new(s, "status", json_string("waiting"));
        /* a run takes the memories created up to its now: one dated after this now (clock
         * skew, a time zone read wrong, a scheduled note) is not taken by the next run at the
         * wall clock, and "waiting for the next run" sent the operator to run again in vain */
        json_t *created = json_object_get(m, "created_at");
        if (json_is_integer(created) && json_integer_value(created) > now)
            snprintf(diag, dn,
                     "staged, dated after now (created %s): the first `engram run` whose "
                     "--now is at or after that takes it",
                     iso(created, t2));
        else
            snprintf(diag, dn, "staged, waiting for the next `engram run`");
        return;
    }
    const char *status = str(p, "status", "staged");
    long long ticks = inum(p, "wm_ticks");
    if (ticks > 0) {
        /* with jitter each tick has its own capacity (working_memory.c): the range, not the
         * configured capacity as if it were that tick's */
        char cap[32];
        if (cfg->wm_jitter > 0)
            snprintf(cap, sizeof cap, "%d±%d", cfg->wm_capacity, cfg->wm_jitter);
        else
            snprintf(cap, sizeof cap, "%d", cfg->wm_capacity);
        s = add_step(steps, "working_memory",
                     "selected at %s, held %lld tick%s, best slot %lld of %s, best priority %.3f",
                     iso(json_object_get(p, "wm_entered_at"), t1), ticks, ticks == 1 ? "" : "s",
                     inum(p, "wm_best_slot"), cap, num(p, "wm_best_priority"));
    } else if (!strcmp(status, "unattended")) {
        s = add_step(steps, "working_memory",
                     "never selected: capacity exceeded, best rank %lld of %lld",
                     inum(p, "wm_best_rank"), inum(p, "wm_best_of"));
    } else {
        s = add_step(steps, "working_memory", "not selected by attention yet");
    }
    copy_keys(s, p,
              (const char *const[]){"wm_ticks", "wm_best_slot", "wm_best_priority", "wm_best_rank",
                                    "wm_best_of", NULL});
    if (!strcmp(status, "unattended")) {
        snprintf(diag, dn, "stopped at working memory: capacity exceeded, best rank %lld of %lld",
                 inum(p, "wm_best_rank"), inum(p, "wm_best_of"));
        return;
    }
    if (!strcmp(status, "staged")) {
        snprintf(diag, dn, "waiting for working memory");
        return;
    }
    if (!strcmp(status, "in_wm")) {
        snprintf(diag, dn, "in working memory now");
        return;
    }
    /* short-term */
    if (has(p, "encoded_at")) {
        s = add_step(steps, "short_term",
                     "encoded at %s into episode %lld (%lld memor%s, goal %s): strength %.3f, "
                     "hebbian potential %lld, consolidation priority %.3f, ready at %s",
                     iso(json_object_get(p, "encoded_at"), t1), inum(p, "episode_id"),
                     inum(ep, "size"), inum(ep, "size") == 1 ? "y" : "ies", str(ep, "goal", "none"),
                     num(p, "stm_strength"), inum(p, "hebbian_potential"),
                     num(p, "consolidation_priority"), iso(json_object_get(p, "ready_at"), t2));
        copy_keys(s, p,
                  (const char *const[]){"episode_id", "stm_strength", "hebbian_potential",
                                        "consolidation_priority", NULL});
    } else {
        add_step(steps, "short_term", "not encoded");
    }
    /* consolidation */
    long long replays = inum(p, "replays");
    if (!strcmp(status, "consolidated"))
        s = add_step(steps, "consolidation",
                     "consolidated at %s after %lld replay%s: pre-strength %.3f >= %.2f with %lld "
                     "associates",
                     iso(json_object_get(p, "consolidated_at"), t1), replays,
                     replays == 1 ? "" : "s", num(p, "pre_strength"), cfg->consolidation_threshold,
                     inum(p, "associates"));
    else if (!strcmp(status, "forgotten"))
        s = add_step(steps, "consolidation",
                     "forgotten at %s after %lld replays: pre-strength %.3f < %.2f with %lld "
                     "associates",
                     iso(json_object_get(p, "forgotten_at"), t1), replays, num(p, "pre_strength"),
                     cfg->consolidation_threshold, inum(p, "associates"));
    else if (replays > 0)
        s = add_step(steps, "consolidation",
                     "%lld replay%s so far, last pre-strength %.3f < %.2f; waiting for the next",
                     replays, replays == 1 ? "" : "s", num(p, "pre_strength"),
                     cfg->consolidation_threshold);
    else
        s = add_step(steps, "consolidation", "not replayed yet (ready at %s)",
                     iso(json_object_get(p, "ready_at"), t1));
    copy_keys(s, p, (const char *const[]){"replays", "pre_strength", "associates", NULL});
    json_object_set_new(s, "fate", json_string(status));
    /* long-term */
    if (json_is_object(l)) {
        s = add_step(steps, "long_term",
                     "category %s, region %s, %s, abstraction %lld, column rank %lld, retrieval "
                     "strength %.3f, %s, %s",
                     str(l, "semantic_category", "none"), str(l, "cortical_region", "?"),
                     str(l, "knowledge_type", "?"), inum(l, "abstraction_level"),
                     inum(l, "column_rank"), num(l, "retrieval_strength"),
                     str(l, "consolidation_state", "?"), str(l, "memory_age", "?"));
        copy_keys(s, l,
                  (const char *const[]){"semantic_category", "cortical_region", "knowledge_type",
                                        "column_rank", "retrieval_strength", "memory_age",
                                        "consolidation_state", NULL});
    } else {
        add_step(steps, "long_term", "not in long-term memory");
    }
    if (!strcmp(status, "consolidated"))
        snprintf(diag, dn, "reached long-term memory");
    else if (!strcmp(status, "forgotten"))
        snprintf(diag, dn, "forgotten after %lld replays (pre-strength %.2f < %.2f)", replays,
                 num(p, "pre_strength"), cfg->consolidation_threshold);
    else
        snprintf(diag, dn, "in short-term memory (episode %lld), not consolidated yet",
                 inum(p, "episode_id"));
}

/* Base-level activation at now from the stored presentations (as recall computes it). */
static void trace_activation(const eg_config *cfg, json_t *f, json_t *steps, int64_t now)
{
    json_t *m = json_object_get(f, "memory"), *pr = json_object_get(f, "presentations"), *v;
    size_t n = 0, i;
    int kinds[4] = {0};
    static const char *const kn[4] = {"created", "updated", "replayed", "recalled"};
    bool created = false, updated = false;
    char t1[EG_TIME_BUFSZ];
    int64_t *times = malloc((json_array_size(pr) + 2) * sizeof *times);
    if (!times)
        return; /* the step is left out; the trace is still useful */
    json_array_foreach(pr, i, v)
    {
        int64_t at = (int64_t)json_integer_value(json_object_get(v, "at"));
        const char *k = str(v, "kind", "");
        if (at > now)
            continue;
        for (int j = 0; j < 4; j++)
            kinds[j] += !strcmp(k, kn[j]);
        created |= !strcmp(k, "created");
        updated |= !strcmp(k, "updated");
        times[n++] = at;
    }
    /* before the pipeline has run over it, creation and update come from the memory row */
    int64_t ca = (int64_t)json_integer_value(json_object_get(m, "created_at"));
    if (!created && ca <= now) {
        times[n++] = ca;
        kinds[0]++;
    }
    if (!created && !updated && has(m, "updated_at")) {
        int64_t ua = (int64_t)json_integer_value(json_object_get(m, "updated_at"));
        if (ua > ca && ua <= now) {
            times[n++] = ua;
            kinds[1]++;
        }
    }
    double b = eg_activation_base(times, n, now, cfg->activation_decay);
    free(times);
    json_t *s;
    if (n)
        s = add_step(steps, "activation",
                     "B = %.3f at %s from %zu presentation%s (%d created, %d updated, %d "
                     "replayed, %d recalled)",
                     b, eg_time_format(now, t1), n, n == 1 ? "" : "s", kinds[0], kinds[1], kinds[2],
                     kinds[3]);
    else
        s = add_step(steps, "activation", "no presentation at or before %s",
                     eg_time_format(now, t1));
    json_object_set_new(s, "base_level", isfinite(b) ? json_real(b) : json_null());
    json_object_set_new(s, "presentations", json_integer((json_int_t)n));
}

int eg_trace(eg_store *st, const eg_config *cfg, const char *id, int64_t now, char **json_out)
{
    json_t *f = NULL, *out = NULL, *steps;
    char diag[512] = "", t1[EG_TIME_BUFSZ];
    int rc;
    *json_out = NULL;
    if ((rc = eg_store_trace_facts(st, id, &f)))
        return rc;
    if (!json_is_object(json_object_get(f, "memory")) &&
        !json_is_object(json_object_get(f, "source")) &&
        !json_is_object(json_object_get(f, "quarantine"))) {
        rc = eg_error_set(EG_ENOTFOUND, "memory \"%s\" not found in store \"%s\"", id,
                          eg_store_path(st));
        eg_error_detail("no memory, embedded source row or quarantined row has this id");
        eg_error_hint("ids are the source's primary keys; `engram export` lists them");
        goto done;
    }
    /* the id as given, which may not be UTF-8 (a row quarantined for it) */
    out = json_pack("{s:o*, s:s}", "memory_id", eg_store_json_text(id, strlen(id)), "at",
                    eg_time_format(now, t1));
    steps = json_array();
    json_object_set_new(out, "steps", steps);
    if (trace_source(f, steps, diag, sizeof diag)) {
        json_t *m = json_object_get(f, "memory");
        trace_features(m, steps);
        trace_pipeline(cfg, f, steps, now, diag, sizeof diag);
        trace_activation(cfg, f, steps, now);
    }
    json_t *jr = json_object_get(f, "journey"), *v;
    size_t i;
    json_array_foreach(jr, i, v)
    {
        json_object_set_new(v, "at", json_string(iso(json_object_get(v, "at"), t1)));
        json_object_del(v, "seq");
    }
    json_object_set_new(out, "journey", jr ? json_incref(jr) : json_array());
    json_object_set_new(out, "diagnosis", json_string(diag));
    *json_out = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(6));
    if (!*json_out)
        rc = eg_error_set(EG_ENOMEM, "out of memory tracing memory \"%s\"", id);
done:
    json_decref(out);
    json_decref(f);
    return rc;
}
