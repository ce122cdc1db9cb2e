/*
 * fts.c — the fold of text for the full-text index (docs/adr/0013) and the SQL function that
 * applies it when memory_fts is written; the count of each term's documents kept with the index
 * (engram_fts_tally, for fts_term) and BM25 given those counts (engram_bm25, docs/adr/0014).
 *
 * ASCII goes through as it is (lower-cased); each run of non-ASCII code points is decomposed by
 * utf8proc (compatibility, case folding, default ignorables dropped), stripped of combining
 * accents, composed again (Hangul syllables, kana with voicing marks) and written out with
 * separators and CJK characters spaced. It does not segment Thai, Lao, Khmer or Burmese (that
 * needs a dictionary): a run of them is one word, as before.
 */
#include "store/fts.h"

#include "engram/error.h"
#include "util/idset.h"

#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define FOLD_OPTIONS                                                                               \
    (UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_DECOMPOSE | UTF8PROC_IGNORE | UTF8PROC_STABLE)

void eg_store_fts_folder_free(eg_store_fts_folder *f)
{
    if (!f)
        return;
    free(f->cps);
    f->cps = NULL;
    f->cap = 0;
}

bool eg_store_fts_single(int32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x11FF) ||   /* Hangul jamo */
           (cp >= 0x2E80 && cp <= 0x2FDF) ||   /* CJK and Kangxi radicals */
           (cp >= 0x3005 && cp <= 0x3007) ||   /* 々 〆 〇 */
           (cp >= 0x3021 && cp <= 0x3029) ||   /* Hangzhou numerals */
           (cp >= 0x3040 && cp <= 0x30FF) ||   /* hiragana, katakana */
           (cp >= 0x3100 && cp <= 0x318F) ||   /* bopomofo, Hangul compatibility jamo */
           (cp >= 0x31A0 && cp <= 0x31FF) ||   /* bopomofo extended, strokes, katakana ext. */
           (cp >= 0x3400 && cp <= 0x4DBF) ||   /* CJK extension A */
           (cp >= 0x4E00 && cp <= 0x9FFF) ||   /* CJK unified ideographs */
           (cp >= 0xA960 && cp <= 0xA97F) ||   /* Hangul jamo extended A */
           (cp >= 0xAC00 && cp <= 0xD7FF) ||   /* Hangul syllables, jamo extended B */
           (cp >= 0xF900 && cp <= 0xFAFF) ||   /* CJK compatibility ideographs */
           (cp >= 0xFF66 && cp <= 0xFFDC) ||   /* half-width kana and Hangul */
           (cp >= 0x1B000 && cp <= 0x1B16F) || /* kana supplement and extensions */
           (cp >= 0x20000 && cp <= 0x3FFFF);   /* CJK extensions B and later */
}

/* The combining accents the fold removes: the blocks of combining diacritical marks, which is
 * where the decomposition of an accented Latin, Greek or Cyrillic letter puts its accent. */
static bool accent(int32_t cp)
{
    return (cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
           (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
           (cp >= 0xFE20 && cp <= 0xFE2F);
}

/* Applied before utf8proc's decomposition: ZERO WIDTH SPACE separates words (UAX #29), the
 * other default ignorables are dropped by UTF8PROC_IGNORE. */
static utf8proc_int32_t zwsp_to_space(utf8proc_int32_t cp, void *data)
{
    (void)data;
    return cp == 0x200B ? ' ' : cp;
}

typedef struct folding {
    eg_store_fts_folder *f;
    eg_buf *out;
    bool spaced; /* the last thing written was a CJK character: a word must not touch it */
    int rc;
} folding;

static void put(folding *g, const char *p, size_t n)
{
    if (!g->rc && eg_buf_append(g->out, p, n))
        g->rc = eg_error_set(EG_ENOMEM, "out of memory folding text for the full-text index");
}

static void put_ascii(folding *g, unsigned char ch)
{
    bool alnum = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
    if (g->spaced && alnum)
        put(g, " ", 1);
    g->spaced = false;
    char c = (char)(ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch);
    put(g, &c, 1);
}

static void put_cp(folding *g, utf8proc_int32_t cp)
{
    if (cp < 0x80) {
        put_ascii(g, (unsigned char)cp);
        return;
    }
    utf8proc_uint8_t enc[4];
    int cat = utf8proc_category(cp);
    bool word =
        (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO) || cat == UTF8PROC_CATEGORY_CO;
    if (!word) {
        put(g, " ", 1);
        g->spaced = false;
        return;
    }
    bool single = eg_store_fts_single(cp);
    if (g->spaced || single)
        put(g, " ", 1);
    put(g, (const char *)enc, (size_t)utf8proc_encode_char(cp, enc));
    g->spaced = single;
}

/* A run of valid UTF-8 that is all non-ASCII. */
static void fold_run(folding *g, const char *s, size_t n)
{
    eg_store_fts_folder *f = g->f;
    utf8proc_ssize_t len;
    for (;;) {
        len =
            utf8proc_decompose_custom((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, f->cps,
                                      (utf8proc_ssize_t)f->cap, FOLD_OPTIONS, zwsp_to_space, NULL);
        if (len < 0) {
            put(g, " ", 1); /* not reached: the caller passes valid UTF-8 */
            return;
        }
        if ((size_t)len <= f->cap)
            break;
        size_t cap = f->cap ? f->cap : 64;
        while (cap < (size_t)len)
            cap *= 2;
        int32_t *p = realloc(f->cps, cap * sizeof *p);
        if (!p) {
            g->rc = eg_error_set(EG_ENOMEM, "out of memory folding text for the full-text index");
            return;
        }
        f->cps = p;
        f->cap = cap;
    }
    utf8proc_ssize_t k = 0;
    for (utf8proc_ssize_t i = 0; i < len; i++)
        if (!accent(f->cps[i]))
            f->cps[k++] = f->cps[i];
    len = utf8proc_normalize_utf32(f->cps, k, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
    for (utf8proc_ssize_t i = 0; i < len && !g->rc; i++)
        put_cp(g, f->cps[i]);
}

int eg_store_fts_fold(eg_store_fts_folder *f, eg_buf *out, const char *s, size_t n)
{
    folding g = {.f = f, .out = out};
    size_t i = 0;
    while (i < n && !g.rc) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x80) { /* a run of ASCII in one append, lower-cased where it lands */
            size_t start = i, at;
            put_ascii(&g, ch);
            at = out->len;
            while (++i < n && (unsigned char)s[i] < 0x80)
                ;
            put(&g, s + start + 1, i - start - 1);
            for (; !g.rc && at < out->len; at++)
                if (out->data[at] >= 'A' && out->data[at] <= 'Z')
                    out->data[at] |= 0x20;
            continue;
        }
        /* a run of non-ASCII, up to ASCII or an invalid byte: ASCII never composes with what
         * is before it once accents are gone, so folding run by run folds the whole text */
        size_t start = i;
        while (i < n && (unsigned char)s[i] >= 0x80) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t step =
                utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(n - i), &cp);
            if (step <= 0)
                break;
            i += (size_t)step;
        }
        if (i > start)
            fold_run(&g, s + start, i - start);
        if (i == start) { /* an invalid byte */
            put(&g, " ", 1);
            g.spaced = false;
            i++;
        }
    }
    if (!g.rc && !out->data && eg_buf_puts(out, ""))
        g.rc = eg_error_set(EG_ENOMEM, "out of memory folding text for the full-text index");
    return g.rc;
}

/* ---- the SQL functions ---- */

/* FTS5 keeps at most this many bytes of a token (fts5Int.h's FTS5_MAX_TOKEN_SIZE): a longer one
 * is indexed and searched by its first 32 KiB, and so it is counted. */
#define MAX_TOKEN 32768

struct eg_store_fts {
    eg_store_fts_folder f;
    eg_buf out;
    fts5_tokenizer tokenizer; /* FTS5's own `ascii`, as memory_fts cuts its text */
    Fts5Tokenizer *tok;
    eg_idset *tally; /* term -> documents added since the last flush (negative: taken out) */
    uint32_t text;   /* the number of the text being counted since then (its terms' mark) */
    int sign;        /* +1 or -1 for it */
    int rc;          /* the first error while counting (EG_ENOMEM), until cleared */
};

static void ctx_free(void *p)
{
    eg_store_fts *c = p;
    eg_store_fts_folder_free(&c->f);
    eg_buf_free(&c->out);
    if (c->tok)
        c->tokenizer.xDelete(c->tok);
    eg_idset_free(c->tally);
    free(c);
}

static void fold_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL)
        return; /* NULL */
    const unsigned char *s = sqlite3_value_text(argv[0]);
    size_t n = (size_t)sqlite3_value_bytes(argv[0]);
    if (!s) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    size_t i = 0;
    while (i < n && s[i] < 0x80)
        i++;
    if (i == n) { /* ASCII: the tokenizer lower-cases it, nothing to fold */
        sqlite3_result_value(ctx, argv[0]);
        return;
    }
    eg_store_fts *c = sqlite3_user_data(ctx);
    eg_buf_reset(&c->out);
    if (eg_store_fts_fold(&c->f, &c->out, (const char *)s, n)) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_text64(ctx, c->out.data, c->out.len, SQLITE_TRANSIENT, SQLITE_UTF8);
}

static int token_cb(void *ud, int tflags, const char *tok, int n, int start, int end)
{
    eg_store_fts *c = ud;
    (void)tflags, (void)start, (void)end;
    size_t len = n < 0 ? 0 : n > MAX_TOKEN ? MAX_TOKEN : (size_t)n;
    /* once per text: a term's earlier occurrences in it left its mark */
    return eg_idset_add_marked(c->tally, tok, len, c->text, c->sign) ? SQLITE_NOMEM : SQLITE_OK;
}

/* Adds sign to the count of each distinct term of s[0, n), cut as memory_fts cuts it. */
static int tally(eg_store_fts *c, const char *s, size_t n, int sign)
{
    if (n > INT_MAX || c->text == UINT32_MAX) /* (SQLite's own limits are lower) */
        return EG_ENOMEM;
    c->text++;
    c->sign = sign;
    int rc = c->tokenizer.xTokenize(c->tok, c, FTS5_TOKENIZE_DOCUMENT, s, (int)n, token_cb);
    return rc == SQLITE_OK ? 0 : EG_ENOMEM;
}

static void tally_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    eg_store_fts *c = sqlite3_user_data(ctx);
    if (sqlite3_value_type(argv[0]) != SQLITE_NULL) {
        const char *s = (const char *)sqlite3_value_text(argv[0]);
        size_t n = (size_t)sqlite3_value_bytes(argv[0]);
        int sign = sqlite3_value_int(argv[1]) < 0 ? -1 : 1;
        if (!s || (!c->rc && (c->rc = tally(c, s, n, sign)))) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
    }
    sqlite3_result_value(ctx, argv[0]);
}

int eg__store_fts_tally_each(eg_store_fts *c,
                             int (*fn)(void *ud, const char *term, size_t len, int64_t docs),
                             void *ud)
{
    if (c->rc)
        return eg_error_set(c->rc, "out of memory counting the full-text index's terms");
    return eg_idset_each(c->tally, fn, ud);
}

void eg__store_fts_tally_clear(eg_store_fts *c)
{
    eg_idset_clear(c->tally);
    c->text = 0;
    c->rc = 0;
}

/* ---- BM25 with the document frequencies given ---- */

typedef struct bm25_data {
    int nphrase;
    double avgdl;
    double *idf, *freq;
} bm25_data;

/* xQueryPhrase's callback: one more row holds the phrase. */
static int count_row(const Fts5ExtensionApi *api, Fts5Context *fts, void *ud)
{
    (void)api, (void)fts;
    ++*(sqlite3_int64 *)ud;
    return SQLITE_OK;
}

/* The query's constants: the mean document length and each phrase's IDF, from the number of
 * rows that hold it: hits[i] when the caller gives it (fts_term's count of a one-term phrase),
 * else counted through the index as FTS5's bm25() counts every phrase (a walk over all the
 * rows that hold it). */
static int bm25_setup(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_value *hits,
                      bm25_data **out)
{
    int np = api->xPhraseCount(fts), rc;
    sqlite3_int64 rows = 0, tokens = 0;
    bm25_data *d = sqlite3_malloc64(sizeof *d + 2 * (size_t)(np > 0 ? np : 1) * sizeof(double));
    if (!d)
        return SQLITE_NOMEM;
    memset(d, 0, sizeof *d);
    d->nphrase = np;
    d->idf = (double *)(d + 1);
    d->freq = d->idf + (np > 0 ? np : 1);
    const unsigned char *given = NULL;
    int ngiven = 0;
    if (hits && sqlite3_value_type(hits) == SQLITE_BLOB) {
        given = sqlite3_value_blob(hits);
        ngiven = sqlite3_value_bytes(hits) / (int)sizeof(int64_t);
    }
    if ((rc = api->xRowCount(fts, &rows)) == SQLITE_OK &&
        (rc = api->xColumnTotalSize(fts, -1, &tokens)) == SQLITE_OK)
        d->avgdl = (double)tokens / (double)rows;
    for (int i = 0; rc == SQLITE_OK && i < np; i++) {
        sqlite3_int64 n = -1;
        if (i < ngiven) {
            int64_t v;
            memcpy(&v, given + (size_t)i * sizeof v, sizeof v);
            n = v;
        }
        if (n < 0) {
            n = 0;
            rc = api->xQueryPhrase(fts, i, &n, count_row);
        }
        /* Robertson-Sparck Jones IDF, floored at 1e-6 for a phrase in over half the rows (where it
         * turns negative), as FTS5's bm25() does */
        double idf = log((rows - n + 0.5) / (n + 0.5));
        d->idf[i] = idf <= 0.0 ? 1e-6 : idf;
    }
    if (rc == SQLITE_OK)
        rc = api->xSetAuxdata(fts, d, sqlite3_free);
    else
        sqlite3_free(d);
    *out = rc == SQLITE_OK ? d : NULL;
    return rc;
}

/* engram_bm25(memory_fts [, hits]): FTS5's bm25() (k1 = 1.2, b = 0.75, one column of weight 1,
 * the same value to the last bit) with the phrases' document frequencies given in hits, a blob
 * of one native int64 per phrase in the query's order (-1: count it). bm25() counts them for
 * each query by walking every row that holds each phrase, which at 1M memories was three
 * quarters of a recall. */
static void bm25_sql(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nval,
                     sqlite3_value **val)
{
    const double k1 = 1.2, b = 0.75;
    bm25_data *d = api->xGetAuxdata(fts, 0);
    int rc = d ? SQLITE_OK : bm25_setup(api, fts, nval > 0 ? val[0] : NULL, &d);
    int ninst = 0, ntok = 0;
    double score = 0.0;
    if (rc == SQLITE_OK) {
        memset(d->freq, 0, (size_t)(d->nphrase > 0 ? d->nphrase : 1) * sizeof *d->freq);
        rc = api->xInstCount(fts, &ninst);
    }
    for (int i = 0; rc == SQLITE_OK && i < ninst; i++) {
        int phrase, col, off;
        if ((rc = api->xInst(fts, i, &phrase, &col, &off)) == SQLITE_OK)
            d->freq[phrase] += 1.0;
    }
    if (rc == SQLITE_OK)
        rc = api->xColumnSize(fts, -1, &ntok);
    for (int i = 0; rc == SQLITE_OK && i < d->nphrase; i++) {
        double f = d->freq[i];
        score += d->idf[i] * ((f * (k1 + 1.0)) / (f + k1 * (1 - b + b * (double)ntok / d->avgdl)));
    }
    if (rc == SQLITE_OK)
        sqlite3_result_double(ctx, -1.0 * score);
    else
        sqlite3_result_error_code(ctx, rc);
}

static fts5_api *fts5_of(sqlite3 *db)
{
    fts5_api *api = NULL;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_pointer(s, 1, (void *)&api, "fts5_api_ptr", NULL);
        sqlite3_step(s);
    }
    sqlite3_finalize(s);
    return api;
}

int eg__store_fts_register(sqlite3 *db, eg_store_fts **out)
{
    fts5_api *api = fts5_of(db);
    void *tud = NULL;
    *out = NULL;
    if (!api || api->iVersion < 2)
        return eg_error_set(EG_ESTORE, "this SQLite has no FTS5 (engram needs it for recall)");
    eg_store_fts *c = calloc(1, sizeof *c);
    if (!c || eg_idset_new(&c->tally)) {
        if (c)
            free(c);
        return eg_error_set(EG_ENOMEM, "out of memory opening the store");
    }
    eg_buf_init(&c->out, 0);
    if (api->xFindTokenizer(api, "ascii", &tud, &c->tokenizer) != SQLITE_OK ||
        c->tokenizer.xCreate(tud, NULL, 0, &c->tok) != SQLITE_OK) {
        c->tok = NULL;
        ctx_free(c);
        return eg_error_set(EG_ESTORE, "could not open FTS5's ascii tokenizer");
    }
    /* one context per connection (a connection runs one statement step at a time), freed with
     * engram_fts_fold when the connection closes */
    if (sqlite3_create_function_v2(db, "engram_fts_fold", 1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, c,
                                   fold_sql, NULL, NULL, ctx_free) != SQLITE_OK)
        return eg_error_set(EG_ESTORE, "could not register engram_fts_fold: %s",
                            sqlite3_errmsg(db));
    /* not deterministic: SQLite must call it once for each row it is written for */
    if (sqlite3_create_function_v2(db, "engram_fts_tally", 2, SQLITE_UTF8 | SQLITE_DIRECTONLY, c,
                                   tally_sql, NULL, NULL, NULL) != SQLITE_OK ||
        api->xCreateFunction(api, "engram_bm25", NULL, bm25_sql, NULL) != SQLITE_OK)
        return eg_error_set(EG_ESTORE, "could not register engram's full-text functions: %s",
                            sqlite3_errmsg(db));
    *out = c;
    return 0;
}
