/*
 * fts.c — the fold of text for the full-text index (docs/adr/0013) and the SQL function that
 * applies it when memory_fts is written.
 *
 * ASCII goes through as it is (lower-cased); each run of non-ASCII code points is decomposed by
 * utf8proc (compatibility, case folding, default ignorables dropped), stripped of combining
 * accents, composed again (Hangul syllables, kana with voicing marks) and written out with
 * separators and CJK characters spaced. It does not segment Thai, Lao, Khmer or Burmese (that
 * needs a dictionary): a run of them is one word, as before.
 */
#include "store/fts.h"

#include "engram/error.h"

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

/* ---- the SQL function ---- */

typedef struct fold_fn {
    eg_store_fts_folder f;
    eg_buf out;
} fold_fn;

static void fold_fn_free(void *p)
{
    fold_fn *ff = p;
    eg_store_fts_folder_free(&ff->f);
    eg_buf_free(&ff->out);
    free(ff);
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
    fold_fn *ff = sqlite3_user_data(ctx);
    eg_buf_reset(&ff->out);
    if (eg_store_fts_fold(&ff->f, &ff->out, (const char *)s, n)) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_text64(ctx, ff->out.data, ff->out.len, SQLITE_TRANSIENT, SQLITE_UTF8);
}

int eg__store_fts_register(sqlite3 *db)
{
    fold_fn *ff = calloc(1, sizeof *ff);
    if (!ff)
        return eg_error_set(EG_ENOMEM, "out of memory opening the store");
    eg_buf_init(&ff->out, 0);
    /* one scratch per connection: a connection runs one statement step at a time */
    if (sqlite3_create_function_v2(db, "engram_fts_fold", 1,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, ff,
                                   fold_sql, NULL, NULL, fold_fn_free) != SQLITE_OK)
        return eg_error_set(EG_ESTORE, "could not register engram_fts_fold: %s",
                            sqlite3_errmsg(db));
    return 0;
}
