/*
 * concepts.c — concept extraction (SPEC §5): metadata.concepts when present, else the folded,
 * filtered, stemmed and de-duplicated words of a memory's content, as a JSON array text.
 *
 * An extractor owns its Snowball stemmer, a stopword hash table and scratch buffers that grow to
 * the longest input seen, so the ingest hot path does no allocation per token or per memory.
 * It does not parse JSON text (callers hand in a jansson value), does not validate UTF-8
 * (invalid bytes merely separate words) and does not segment scripts written without spaces
 * (a run of Chinese or Thai letters is one token). Tokens longer than MAX_CHARS characters (hex
 * dumps, base64, sequence data, unsegmented runs) are dropped like tokens that are too short: no
 * word is that long, and a concept of a million characters would cost its size in every buffer
 * that carries it.
 */
#include "stage/concepts.h"

#include "engram/error.h"
#include "stage/stopwords.h"
#include "util/fnv.h"

#include <libstemmer.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#define DEFAULT_MAX 32
#define MIN_CHARS 3
#define MAX_CHARS 64    /* longer tokens are dropped; documented in src/stage/README.md */
#define STOP_SLOTS 1024 /* power of two, > 2x the longest stopword list */
#define STOP_MAX_LEN 48 /* bytes: no stopword is longer (Nepali has 33); longer tokens skip it */
#define STEM_SLOTS 4096 /* power of two: the stem cache, 288 KiB per extractor */
#define STEM_WAYS 4     /* slots a word may take: its set of the cache */
#define STEM_KEY_MAX 31 /* longer words (rare) bypass the cache */
#define SCRATCH_MAX ((size_t)1 << 16) /* eg_concepts_scratch's cap */
#define FOLD_OPTIONS (UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE | UTF8PROC_STABLE)

/* One kept concept: its bytes live in eg_concepts.seen at [off, off + len). */
typedef struct seen_entry {
    uint32_t hash;
    size_t off;
    size_t len;
} seen_entry;

/* A slot of the stem cache: stemming is a pure function of the folded word, and words repeat
 * across memories (Zipf), so most tokens skip the stemmer. A word's hash picks a set of
 * STEM_WAYS slots, the newest first, so that a few frequent words of one set do not evict each
 * other at every use (a direct-mapped cache did: "morning" and "want" took turns). tlen 0 marks
 * an empty slot. */
typedef struct stem_slot {
    uint8_t tlen, slen;
    bool plain; /* the stem needs no JSON escaping: lit is its array element */
    char tok[STEM_KEY_MAX];
    char lit[STEM_KEY_MAX + 3]; /* ',' '"' stem '"': the stem is at lit + 2 */
    uint32_t shash;             /* hash_bytes of the stem */
} stem_slot;

struct eg_concepts {
    struct sb_stemmer *stemmer;
    int max;
    const eg_stopword_list *stopwords; /* the language's list, NULL for none */
    uint16_t stop[STOP_SLOTS];         /* index + 1 into stopwords->words, 0 = empty slot */
    stem_slot *stems;                  /* STEM_SLOTS of them */

    utf8proc_int32_t *cps; /* folded code points of one non-ASCII run */
    size_t cps_cap;
    char *tok; /* the current token, folded, UTF-8 */
    size_t tok_cap;

    char *seen; /* bytes of the concepts kept for the current memory */
    size_t seen_len, seen_cap;
    seen_entry *ents;
    size_t n_ents, ents_cap;
    uint64_t
        seen_bits[4]; /* bit h % 256 of each kept concept's hash: most new ones skip the scan */

    eg_buf scratch; /* eg_concepts_scratch: lent to the caller */
};

/* ASCII folding: a letter or digit to its folded self (lower case), 0 for a word separator.
 * Letters fold to 'a'..'z', digits stay below 'a'. */
static const char ascii_fold[128] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5', ['6'] = '6',
    ['7'] = '7', ['8'] = '8', ['9'] = '9', ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd',
    ['E'] = 'e', ['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k',
    ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r',
    ['S'] = 's', ['T'] = 't', ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y',
    ['Z'] = 'z', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f',
    ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l', ['m'] = 'm',
    ['n'] = 'n', ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't',
    ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y', ['z'] = 'z',
};

/* Returns p grown (realloc) to hold at least need elements of size elem, updating *cap; p itself
 * when it is big enough; NULL with the error set (p untouched) when memory runs out. */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(p, n * elem);
    if (!q) {
        eg_error_set(EG_ENOMEM, "out of memory in concept extraction (%zu bytes)", n * elem);
        return NULL;
    }
    *cap = n;
    return q;
}

static int reserve_bytes(char **p, size_t *cap, size_t need)
{
    char *q = grow(*p, cap, need, 1);
    if (!q)
        return EG_ENOMEM;
    *p = q;
    return 0;
}

static int reserve_cps(eg_concepts *c, size_t need)
{
    utf8proc_int32_t *q = grow(c->cps, &c->cps_cap, need, sizeof *q);
    if (!q)
        return EG_ENOMEM;
    c->cps = q;
    return 0;
}

static int reserve_ents(eg_concepts *c, size_t need)
{
    seen_entry *q = grow(c->ents, &c->ents_cap, need, sizeof *q);
    if (!q)
        return EG_ENOMEM;
    c->ents = q;
    return 0;
}

static void stop_insert(eg_concepts *c, uint16_t index)
{
    const char *w = c->stopwords->words[index];
    uint32_t slot = eg_fnv1a(w, strlen(w)) & (STOP_SLOTS - 1);
    while (c->stop[slot])
        slot = (slot + 1) & (STOP_SLOTS - 1);
    c->stop[slot] = (uint16_t)(index + 1);
}

static bool is_stopword(const eg_concepts *c, const char *s, size_t n, uint32_t hash)
{
    if (!c->stopwords || n > STOP_MAX_LEN)
        return false;
    uint32_t slot = hash & (STOP_SLOTS - 1);
    while (c->stop[slot]) {
        const char *w = c->stopwords->words[c->stop[slot] - 1];
        if (strncmp(w, s, n) == 0 && w[n] == '\0')
            return true;
        slot = (slot + 1) & (STOP_SLOTS - 1);
    }
    return false;
}

/* The stopword list of a libstemmer language name or alias, NULL when there is none. */
static const eg_stopword_list *stopword_list(const char *language)
{
    for (size_t i = 0; i < sizeof eg_stopword_lists / sizeof eg_stopword_lists[0]; i++)
        for (const char *const *n = eg_stopword_lists[i].names; *n; n++)
            if (strcmp(language, *n) == 0)
                return &eg_stopword_lists[i];
    return NULL;
}

static bool is_listed_language(const char *language)
{
    for (const char **l = sb_stemmer_list(); *l; l++)
        if (strcmp(*l, language) == 0)
            return true;
    return false;
}

static int unknown_language(const char *language)
{
    char list[400];
    size_t n = 0;
    list[0] = '\0';
    for (const char **l = sb_stemmer_list(); *l; l++) {
        size_t len = strlen(*l);
        if (n + len + 7 >= sizeof list) {
            memcpy(list + n, ", ...", 6);
            break;
        }
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", *l);
    }
    eg_error_set(EG_ECONFIG, "unknown stemming language \"%s\"", language);
    eg_error_hint("valid languages: %s", list);
    return EG_ECONFIG;
}

int eg_concepts_new(eg_concepts **out, const char *language, int max)
{
    *out = NULL;
    if (!language)
        language = "english";
    eg_concepts *c = calloc(1, sizeof *c);
    if (!c)
        return eg_error_set(EG_ENOMEM, "out of memory creating a concept extractor");
    int rc = 0;
    c->stemmer = sb_stemmer_new(language, "UTF_8");
    if (!c->stemmer) {
        rc = is_listed_language(language)
                 ? eg_error_set(EG_ENOMEM, "out of memory creating a \"%s\" stemmer", language)
                 : unknown_language(language);
        goto done;
    }
    c->stems = calloc(STEM_SLOTS, sizeof *c->stems);
    if (!c->stems) {
        rc = eg_error_set(EG_ENOMEM, "out of memory creating a concept extractor");
        goto done;
    }
    eg_buf_init(&c->scratch, SCRATCH_MAX);
    c->max = max > 0 ? max : DEFAULT_MAX;
    c->stopwords = stopword_list(language);
    if (c->stopwords)
        for (size_t i = 0; i < c->stopwords->n; i++)
            stop_insert(c, (uint16_t)i);
    if ((rc = reserve_bytes(&c->tok, &c->tok_cap, 256)) || (rc = reserve_cps(c, 256)) ||
        (rc = reserve_bytes(&c->seen, &c->seen_cap, 512)) || (rc = reserve_ents(c, DEFAULT_MAX)))
        goto done;
    *out = c;
    c = NULL;
done:
    eg_concepts_free(c);
    return rc;
}

void eg_concepts_free(eg_concepts *c)
{
    if (!c)
        return;
    if (c->stemmer)
        sb_stemmer_delete(c->stemmer);
    free(c->stems);
    free(c->cps);
    free(c->tok);
    free(c->seen);
    free(c->ents);
    eg_buf_free(&c->scratch);
    free(c);
}

eg_buf *eg_concepts_scratch(eg_concepts *c)
{
    eg_buf_reset(&c->scratch);
    return &c->scratch;
}

/* The output of one memory: an open JSON array and the concepts already in it. */
typedef struct emitter {
    eg_concepts *c;
    eg_buf *out;
} emitter;

static void seen_reset(eg_concepts *c)
{
    c->seen_len = 0;
    c->n_ents = 0;
    memset(c->seen_bits, 0, sizeof c->seen_bits);
}

/* Appends s (h: its hash_bytes) as the next element unless it is already there; lit, when not
 * NULL, is that element ready to append: ',' '"' s '"' (s needs no escaping). Returns 0, 1 when the
 * cap is reached (stop extracting), or a negative error. */
static int keep(emitter *e, const char *s, size_t n, uint32_t h, const char *lit)
{
    eg_concepts *c = e->c;
    uint64_t bit = (uint64_t)1 << (h % 64);
    if (c->seen_bits[(h / 64) % 4] & bit) {
        for (size_t i = 0; i < c->n_ents; i++) {
            const seen_entry *se = &c->ents[i];
            if (se->hash == h && se->len == n && memcmp(c->seen + se->off, s, n) == 0)
                return 0;
        }
    }
    int rc;
    if ((rc = reserve_ents(c, c->n_ents + 1)) ||
        (rc = reserve_bytes(&c->seen, &c->seen_cap, c->seen_len + n)))
        return rc;
    if (lit) {
        bool first = c->n_ents == 0;
        if ((rc = eg_buf_append(e->out, lit + first, n + 3 - first)))
            return rc;
    } else if ((c->n_ents && (rc = eg_buf_putc(e->out, ','))) ||
               (rc = eg_buf_json_str(e->out, s, n))) {
        return rc;
    }
    if (n)
        memcpy(c->seen + c->seen_len, s, n);
    c->ents[c->n_ents++] = (seen_entry){.hash = h, .off = c->seen_len, .len = n};
    c->seen_bits[(h / 64) % 4] |= bit;
    c->seen_len += n;
    return c->n_ents >= (size_t)c->max ? 1 : 0;
}

/* One folded token of chars code points (h: its hash_bytes): filter, stem, keep. Same return as
 * keep(). */
static int token(emitter *e, const char *s, size_t n, uint32_t h, size_t chars, bool has_letter)
{
    eg_concepts *c = e->c;
    if (chars < MIN_CHARS || chars > MAX_CHARS || !has_letter || n > INT_MAX)
        return 0;
    if (is_stopword(c, s, n, h))
        return 0;
    stem_slot *set =
        n <= STEM_KEY_MAX ? &c->stems[(h & (STEM_SLOTS / STEM_WAYS - 1)) * STEM_WAYS] : NULL;
    for (int w = 0; set && w < STEM_WAYS; w++) {
        const stem_slot *sl = &set[w];
        if (sl->tlen == n && memcmp(sl->tok, s, n) == 0)
            return keep(e, sl->lit + 2, sl->slen, sl->shash, sl->plain ? sl->lit : NULL);
    }
    const sb_symbol *stem = sb_stemmer_stem(c->stemmer, (const sb_symbol *)s, (int)n);
    if (!stem)
        return eg_error_set(EG_ENOMEM, "out of memory stemming a word");
    size_t slen = (size_t)sb_stemmer_length(c->stemmer);
    uint32_t sh = eg_fnv1a((const char *)stem, slen);
    if (set && slen <= STEM_KEY_MAX) {
        /* the newest first: the set's oldest word makes room */
        memmove(set + 1, set, (STEM_WAYS - 1) * sizeof *set);
        stem_slot *slot = set;
        slot->tlen = (uint8_t)n;
        slot->slen = (uint8_t)slen;
        slot->plain = eg_buf_json_plain((const char *)stem, slen);
        memcpy(slot->tok, s, n);
        slot->lit[0] = ',';
        slot->lit[1] = '"';
        memcpy(slot->lit + 2, stem, slen);
        slot->lit[slen + 2] = '"';
        slot->shash = sh;
        return keep(e, slot->lit + 2, slen, sh, slot->plain ? slot->lit : NULL);
    }
    return keep(e, (const char *)stem, slen, sh, NULL);
}

int32_t eg_concepts_unwiden(int32_t cp, void *data)
{
    (void)data;
    return cp >= 0xFF01 && cp <= 0xFF5E ? cp - 0xFEE0 : cp;
}

/* A run of valid UTF-8 with no ASCII separator in it, holding some non-ASCII: fold it the way
 * utf8proc_map_custom(CASEFOLD | COMPOSE | STABLE, eg_concepts_unwiden) does (full case folding,
 * then NFC), into scratch, then split the folded code points. L* and N* make words; M* (combining
 * marks left after composition, e.g. Devanagari vowel signs) continue a word but never start one;
 * the rest separates. */
static int unicode_run(emitter *e, const char *s, size_t n)
{
    eg_concepts *c = e->c;
    utf8proc_ssize_t len;
    for (;;) {
        len = utf8proc_decompose_custom((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, c->cps,
                                        (utf8proc_ssize_t)c->cps_cap, FOLD_OPTIONS,
                                        eg_concepts_unwiden, NULL);
        if (len < 0)
            return 0; /* not reached: the caller passes only valid UTF-8 */
        if ((size_t)len <= c->cps_cap)
            break;
        int rc = reserve_cps(c, (size_t)len);
        if (rc)
            return rc;
    }
    len = utf8proc_normalize_utf32(c->cps, len, FOLD_OPTIONS);
    if (len < 0)
        return 0;
    /* Every code point takes at most 4 bytes of UTF-8. */
    int rc = reserve_bytes(&c->tok, &c->tok_cap, (size_t)len * 4);
    if (rc)
        return rc;
    size_t bytes = 0, chars = 0;
    bool has_letter = false;
    for (utf8proc_ssize_t i = 0; i <= len; i++) {
        int cat = i < len ? utf8proc_category(c->cps[i]) : UTF8PROC_CATEGORY_CN;
        bool letter = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
        bool digit = cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO;
        bool mark = cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME;
        if (letter || digit || (mark && chars)) {
            bytes += (size_t)utf8proc_encode_char(c->cps[i], (utf8proc_uint8_t *)c->tok + bytes);
            chars++;
            has_letter |= letter;
            continue;
        }
        if (chars && (rc = token(e, c->tok, bytes, eg_fnv1a(c->tok, bytes), chars, has_letter)))
            return rc;
        bytes = chars = 0;
        has_letter = false;
    }
    return 0;
}

int eg_concepts_from_text(eg_concepts *c, const char *text, size_t len, eg_buf *out)
{
    size_t start_len = out->len;
    emitter e = {.c = c, .out = out};
    seen_reset(c);
    int rc = eg_buf_putc(out, '[');
    size_t i = 0;
    /* Split at ASCII separators and invalid bytes first: neither folds nor composes with its
     * neighbours, so folding run by run gives the same result as folding the whole text. */
    while (!rc && i < len) {
        unsigned char ch = (unsigned char)text[i];
        if (ch < 0x80 && !ascii_fold[ch]) {
            i++;
            continue;
        }
        size_t start = i;
        char *tok = c->tok; /* here, not c->tok: a char store could change that; unicode_run may */
        bool ascii = true, has_letter = false;
        uint32_t h = EG_FNV_INIT;
        while (i < len) {
            ch = (unsigned char)text[i];
            if (ch < 0x80) {
                /* an ASCII run is folded (lower-cased) and hashed on the way: a longer one than
                 * MAX_CHARS is dropped by token() anyway (c->tok holds 256 bytes at least) */
                char f = ascii_fold[ch];
                if (!f)
                    break;
                if (i - start < MAX_CHARS) {
                    tok[i - start] = f;
                    h = EG_FNV_STEP(h, f);
                }
                has_letter |= f >= 'a';
                i++;
                continue;
            }
            utf8proc_int32_t cp;
            utf8proc_ssize_t step = utf8proc_iterate((const utf8proc_uint8_t *)text + i,
                                                     (utf8proc_ssize_t)(len - i), &cp);
            if (step <= 0)
                break;
            i += (size_t)step;
            ascii = false;
        }
        if (i == start) { /* an invalid byte */
            i++;
            continue;
        }
        if (!ascii)
            rc = unicode_run(&e, text + start, i - start);
        else if (i - start <= MAX_CHARS)
            rc = token(&e, c->tok, i - start, h, i - start, has_letter);
    }
    if (rc == 1)
        rc = 0;
    if (!rc)
        rc = eg_buf_putc(out, ']');
    if (rc) {
        out->len = start_len;
        if (out->data)
            out->data[start_len] = '\0';
    }
    return rc;
}

/* Shortest "%.<p>g" text that reads back as the same double: 0.1 -> "0.1", 2.0 -> "2". */
static int format_real(char *buf, size_t size, double v)
{
    int n = 0;
    for (int p = 1; p <= 17; p++) {
        n = snprintf(buf, size, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return n;
}

int eg_concepts_from_json(eg_concepts *c, const json_t *metadata, eg_buf *out)
{
    const json_t *arr = json_is_object(metadata) ? json_object_get(metadata, "concepts") : NULL;
    if (!json_is_array(arr))
        return 0;
    size_t start_len = out->len;
    emitter e = {.c = c, .out = out};
    seen_reset(c);
    int rc = eg_buf_putc(out, '[');
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        char num[64];
        int n;
        if (rc)
            break;
        switch (json_typeof(v)) {
        case JSON_STRING:
            if (json_string_length(v))
                rc = keep(&e, json_string_value(v), json_string_length(v),
                          eg_fnv1a(json_string_value(v), json_string_length(v)), NULL);
            break;
        case JSON_INTEGER:
            n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            rc = keep(&e, num, (size_t)n, eg_fnv1a(num, (size_t)n), NULL);
            break;
        case JSON_REAL:
            n = format_real(num, sizeof num, json_real_value(v));
            rc = keep(&e, num, (size_t)n, eg_fnv1a(num, (size_t)n), NULL);
            break;
        default:
            break;
        }
    }
    if (rc == 1)
        rc = 0;
    if (!rc)
        rc = eg_buf_putc(out, ']');
    if (rc) {
        out->len = start_len;
        if (out->data)
            out->data[start_len] = '\0';
        return rc;
    }
    return 1;
}
