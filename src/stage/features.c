/*
 * features.c — the cognitive features of one memory (SPEC §6, and the cues §7.2 and §7.4 use):
 * cue words and phrases of lexicon.c raise importance, urgency and salience, sum to a valence,
 * vote for a task type, a knowledge type, a region and an abstraction level; capitalised names,
 * @mentions, #tags and metadata tags become entities; metadata values override.
 *
 * One pass over the text, no allocation: each word is case folded (ASCII fast path, utf8proc for
 * the rest) into a stack buffer and looked up in one hashed index of the word table and of the
 * phrase table by last word; the few words before it are kept for phrase matching. Everything
 * lives in a scan struct on the stack. It does not stem, tag parts of speech or parse JSON text.
 */
#include "stage/features.h"
#include "stage/concepts.h"

#include "stage/lexicon.h"
#include "util/fnv.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

#define WORD_MAX 64 /* folded bytes of a word we look at; longer words match no cue */
#define FOLD_CPS 64 /* code points of folding scratch */
#define FOLD_OPTIONS (UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE | UTF8PROC_STABLE)
#define CHAIN (EG_LX_PHRASE_WORDS - 1) /* words kept before the current one */
#define RUN_WORDS 4                    /* capitalised words joined into one entity at most */
#define SEEN_WORDS (EG_LX_MAX_ENTRIES / 64)
#define NO_NEGATOR (-1000000L)

/* One word of the text, folded, with what its letters looked like before folding. */
typedef struct token {
    char fold[WORD_MAX];
    size_t len;    /* bytes in fold */
    uint32_t hash; /* lex_hash of fold */
    bool fits;     /* false when the folded word is longer than WORD_MAX (or not valid UTF-8) */
    bool ascii;
    bool upper_first, upper_any, lower_any, digit;
    size_t chars, letters;
    char sigil; /* '@', '#' or 0 */
} token;

typedef struct scan {
    /* where we are */
    bool sentence_start; /* the next word starts a sentence */
    bool imper_slot;     /* the next word is in imperative position (sentence start, "please") */
    bool soft_gap;       /* only spaces and hyphens since the previous word */
    size_t gap_len;      /* code points since the previous word */
    char join;           /* ' ' or '-' when the gap is exactly that one character, else 0 */
    bool last_abbrev;    /* the previous word is an abbreviation such as "dr" */
    long nword, neg_at;  /* index of the next word, of the last negator in this clause */
    char chain[CHAIN][WORD_MAX];
    size_t chain_len[CHAIN]; /* WORD_MAX + 1 marks a word too long to match */
    size_t chain_pos, chain_n;

    /* cue accumulators */
    uint64_t seen[SEEN_WORDS];   /* entries met at least once */
    uint64_t scored[SEEN_WORDS]; /* entries whose importance and urgency weights counted */
    double imp_up, imp_down, urg_up, urg_down, emo_up, val_sum;
    double action, proc, abstract, concrete;
    int exclaims, shouts, percepts;
    bool goal, task, cond, plan;

    /* entities */
    char ent[EG_FEATURES_MAX_ENTITIES][EG_FEATURES_ENTITY_MAX];
    size_t ent_len[EG_FEATURES_MAX_ENTITIES], n_ent;
    char run[EG_FEATURES_ENTITY_MAX]; /* consecutive capitalised words */
    size_t run_len, run_words;
    char pending[EG_FEATURES_ENTITY_MAX]; /* an ALL-CAPS word waiting for its right neighbour */
    size_t pending_len, pending_letters;
    bool pending_set, pending_emit, prev_caps;
} scan;

static const char *const sentiment_names[] = {"neutral", "positive", "negative"};
static const char *const task_names[] = {"observation", "goal", "task", "action"};
static const char *const knowledge_names[] = {"declarative", "procedural", "conditional"};
static const char *const region_names[] = {"association", "motor", "sensory", "prefrontal"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- names ---- */

static const char *name_of(const char *const *names, size_t n, int v)
{
    return v >= 0 && (size_t)v < n ? names[v] : "unknown";
}

static bool parse_name(const char *const *names, size_t count, const char *s, size_t n, int *out)
{
    for (size_t i = 0; i < count; i++) {
        const char *name = names[i];
        size_t k = 0;
        while (k < n && name[k]) {
            unsigned char c = (unsigned char)s[k];
            if ((c >= 'A' && c <= 'Z' ? c | 0x20 : c) != (unsigned char)name[k])
                break;
            k++;
        }
        if (k == n && name[k] == '\0') {
            *out = (int)i;
            return true;
        }
    }
    return false;
}

const char *eg_sentiment_name(eg_sentiment s)
{
    return name_of(sentiment_names, COUNT(sentiment_names), (int)s);
}

const char *eg_task_type_name(eg_task_type t)
{
    return name_of(task_names, COUNT(task_names), (int)t);
}

const char *eg_knowledge_type_name(eg_knowledge_type k)
{
    return name_of(knowledge_names, COUNT(knowledge_names), (int)k);
}

const char *eg_region_name(eg_region r)
{
    return name_of(region_names, COUNT(region_names), (int)r);
}

bool eg_sentiment_parse(const char *s, size_t n, eg_sentiment *out)
{
    int v;
    if (!parse_name(sentiment_names, COUNT(sentiment_names), s, n, &v))
        return false;
    *out = (eg_sentiment)v;
    return true;
}

bool eg_task_type_parse(const char *s, size_t n, eg_task_type *out)
{
    int v;
    if (!parse_name(task_names, COUNT(task_names), s, n, &v))
        return false;
    *out = (eg_task_type)v;
    return true;
}

bool eg_knowledge_type_parse(const char *s, size_t n, eg_knowledge_type *out)
{
    int v;
    if (!parse_name(knowledge_names, COUNT(knowledge_names), s, n, &v))
        return false;
    *out = (eg_knowledge_type)v;
    return true;
}

bool eg_region_parse(const char *s, size_t n, eg_region *out)
{
    int v;
    if (!parse_name(region_names, COUNT(region_names), s, n, &v))
        return false;
    *out = (eg_region)v;
    return true;
}

/* ---- folding and lookup ---- */

/* Folds s[0..n) into dst (at most cap bytes) the way concepts.c does (full case folding, then
 * NFC), with U+2019 turned into an ASCII apostrophe. Returns the length, or SIZE_MAX when the
 * result does not fit or s is not valid UTF-8. */
static size_t fold_text(const char *s, size_t n, bool ascii, char *dst, size_t cap)
{
    if (ascii) {
        if (n > cap)
            return SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            dst[i] = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
        }
        return n;
    }
    utf8proc_int32_t cps[FOLD_CPS];
    utf8proc_ssize_t k =
        utf8proc_decompose_custom((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, cps, FOLD_CPS,
                                  FOLD_OPTIONS, eg_concepts_unwiden, NULL);
    if (k < 0 || k > FOLD_CPS)
        return SIZE_MAX;
    k = utf8proc_normalize_utf32(cps, k, FOLD_OPTIONS);
    if (k < 0)
        return SIZE_MAX;
    size_t len = 0;
    for (utf8proc_ssize_t i = 0; i < k; i++) {
        utf8proc_uint8_t tmp[4];
        utf8proc_ssize_t b = utf8proc_encode_char(cps[i] == 0x2019 ? '\'' : cps[i], tmp);
        if (len + (size_t)b > cap)
            return SIZE_MAX;
        memcpy(dst + len, tmp, (size_t)b);
        len += (size_t)b;
    }
    return len;
}

/* ---- the lexicon index ----
 * Every token of every memory is looked up, as a word and as the last word of a phrase, and most
 * are in neither table: one hash probe answers both. The index is built once per process from
 * the constant tables (pthread_once) and only read after that. */

#define LEX_SLOTS 2048 /* power of two, more than twice the words and phrase endings */

typedef struct lex_slot {
    const char *key; /* a word, or a phrase's last word (not NUL-terminated there); NULL: empty */
    size_t len;
    int word;                    /* its entry in eg__lexicon_words, or -1 */
    size_t phrase_lo, phrase_hi; /* the phrases that end with it: [lo, hi) of the sorted table */
} lex_slot;

/* The words of a phrase before its last one, nearest first: where they are in its text. */
typedef struct lex_phrase {
    size_t n;
    unsigned short off[CHAIN], len[CHAIN];
} lex_phrase;

static lex_slot lex_index[LEX_SLOTS];
static lex_phrase lex_phrases[EG_LX_MAX_ENTRIES];
static pthread_once_t lex_once = PTHREAD_ONCE_INIT;

/* The slot of w[0..n) (h: its lex_hash): its own, or the empty one where it would go. */
static lex_slot *lex_slot_of(const char *w, size_t n, uint32_t h)
{
    uint32_t i = h & (LEX_SLOTS - 1);
    while (lex_index[i].key && (lex_index[i].len != n || memcmp(lex_index[i].key, w, n) != 0))
        i = (i + 1) & (LEX_SLOTS - 1);
    return &lex_index[i];
}

static lex_slot *lex_claim(const char *w, size_t n)
{
    lex_slot *sl = lex_slot_of(w, n, eg_fnv1a(w, n));
    if (!sl->key) {
        sl->key = w;
        sl->len = n;
        sl->word = -1;
        sl->phrase_lo = sl->phrase_hi = 0;
    }
    return sl;
}

static const char *last_word(const char *phrase)
{
    const char *sp = strrchr(phrase, ' ');
    return sp ? sp + 1 : phrase;
}

static void lex_build(void)
{
    for (size_t i = 0; i < eg__lexicon_nwords; i++) {
        const char *w = eg__lexicon_words[i].text;
        lex_claim(w, strlen(w))->word = (int)i;
    }
    /* the table is sorted by last word: the phrases of one ending are consecutive */
    for (size_t i = 0; i < eg__lexicon_nphrases && i < EG_LX_MAX_ENTRIES; i++) {
        const char *phrase = eg__lexicon_phrases[i].text, *w = last_word(phrase);
        lex_slot *sl = lex_claim(w, strlen(w));
        if (sl->phrase_lo == sl->phrase_hi)
            sl->phrase_lo = i;
        sl->phrase_hi = i + 1;
        /* the words before w, from right to left; n counts them all, so that a phrase longer
         * than the chain (test_features forbids one) never matches */
        lex_phrase *p = &lex_phrases[i];
        const char *end = w > phrase ? w - 1 : NULL;
        while (end) {
            const char *b = end;
            while (b > phrase && b[-1] != ' ')
                b--;
            if (p->n < CHAIN) {
                p->off[p->n] = (unsigned short)(b - phrase);
                p->len[p->n] = (unsigned short)(end - b);
            }
            p->n++;
            end = b > phrase ? b - 1 : NULL;
        }
    }
}

/* The index entry of w[0..n) (h: its lex_hash), NULL when w is neither a word nor a phrase
 * ending. eg_features_compute has built the index. */
static const lex_slot *lex_find(const char *w, size_t n, uint32_t h)
{
    const lex_slot *sl = lex_slot_of(w, n, h);
    return sl->key ? sl : NULL;
}

static const eg_lex_entry *find_word(const char *w, size_t n)
{
    const lex_slot *sl = lex_find(w, n, eg_fnv1a(w, n));
    return sl && sl->word >= 0 ? &eg__lexicon_words[sl->word] : NULL;
}

static bool bit_test_set(uint64_t *set, size_t i)
{
    uint64_t m = (uint64_t)1 << (i % 64);
    bool was = set[i / 64] & m;
    set[i / 64] |= m;
    return was;
}

/* ---- cues ---- */

/* A cue starting at word index start is negated when a negator of the same clause stands at most
 * EG_LX_NEG_SCOPE words before it (a phrase that contains its negator is not negated by it). */
static bool negated(const scan *s, long start)
{
    return s->neg_at < start && start - s->neg_at <= EG_LX_NEG_SCOPE;
}

/* Saturating combination: a weight w in hundredths raises (w > 0) or damps (w < 0) a value. */
static void weigh(double *up, double *down, int w)
{
    if (w > 0)
        *up *= 1.0 - w / 100.0;
    else if (w < 0)
        *down *= 1.0 + w / 100.0;
}

/* Applies a lexicon entry (word or phrase; slot indexes the seen bitsets) that starts at word
 * index start; imper when it is the first word of a sentence. An entry with no weight and only
 * the roles word() handles itself (function words, negators, "please", abbreviations: most
 * listed words met) changes nothing here. */
static void apply(scan *s, const eg_lex_entry *e, size_t slot, long start, bool imper)
{
    if (!(e->flags & ~(unsigned)(EG_LX_FUNCTION | EG_LX_NEG | EG_LX_POLITE | EG_LX_ABBREV)) &&
        !e->imp && !e->urg && !e->emo && !e->val)
        return;
    bool neg = negated(s, start);
    unsigned f = e->flags;
    if (!bit_test_set(s->seen, slot)) {
        /* salience and the counted scores: once per entry and memory, negated or not */
        if (e->emo > 0)
            s->emo_up *= 1.0 - e->emo / 100.0;
        if (f & EG_LX_ABSTRACT)
            s->abstract += 1.0;
        if (f & EG_LX_CONCRETE)
            s->concrete += 1.0;
        if (f & EG_LX_PROCEDURAL)
            s->proc += EG_LX_PROC_STRONG;
        if (f & EG_LX_SEQUENCE)
            s->proc += EG_LX_PROC_WEAK;
    }
    if (f & EG_LX_CONDITIONAL)
        s->cond = true;
    if (f & EG_LX_PERCEPT)
        s->percepts++;
    if (f & EG_LX_PLAN)
        s->plan = true;
    if (imper && (f & EG_LX_PROC_VERB))
        s->proc += EG_LX_PROC_WEAK;
    if (e->val)
        s->val_sum += (neg ? EG_LX_NEG_FACTOR : 1.0) * e->val / 100.0;
    if (neg)
        return; /* "not urgent", "didn't finish", "don't want to" */
    if ((e->imp || e->urg) && !bit_test_set(s->scored, slot)) {
        weigh(&s->imp_up, &s->imp_down, e->imp);
        weigh(&s->urg_up, &s->urg_down, e->urg);
    }
    if (f & EG_LX_GOAL)
        s->goal = true;
    if ((f & EG_LX_TASK) || (imper && (f & EG_LX_IMPERATIVE)))
        s->task = true;
    if (f & EG_LX_ACTION)
        s->action += 1.0;
}

/* The number of words of phrase i when its words before the last one are the words just before
 * the current one, else 0. */
static size_t phrase_words(const scan *s, size_t i)
{
    const lex_phrase *p = &lex_phrases[i];
    const char *text = eg__lexicon_phrases[i].text;
    if (p->n > s->chain_n)
        return 0;
    for (size_t k = 0; k < p->n; k++) {
        size_t at = (s->chain_pos + CHAIN - 1 - k) % CHAIN;
        if (s->chain_len[at] != p->len[k] || memcmp(s->chain[at], text + p->off[k], p->len[k]))
            return 0;
    }
    return p->n + 1;
}

/* Applies the phrases that end with the current word (sl: its index entry) and whose other words
 * precede it. */
static void match_phrases(scan *s, const lex_slot *sl, long idx)
{
    for (size_t i = sl->phrase_lo; i < sl->phrase_hi; i++) {
        const eg_lex_entry *p = &eg__lexicon_phrases[i];
        size_t n = phrase_words(s, i);
        if (n)
            apply(s, p, eg__lexicon_nwords + i, idx - (long)n + 1, false);
    }
}

static void chain_push(scan *s, const token *t)
{
    size_t at = s->chain_pos % CHAIN;
    s->chain_len[at] = t->fits ? t->len : WORD_MAX + 1;
    if (t->fits)
        memcpy(s->chain[at], t->fold, t->len);
    s->chain_pos++;
    if (s->chain_n < CHAIN)
        s->chain_n++;
}

static bool ends_with(const char *w, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(w + n - k, suffix, k) == 0;
}

/* ---- entities ---- */

static size_t strip_possessive(const char *w, size_t n)
{
    return n > 2 && ends_with(w, n, "'s") ? n - 2 : n;
}

static void add_entity(scan *s, const char *w, size_t n)
{
    if (n == 0 || n > EG_FEATURES_ENTITY_MAX || s->n_ent >= EG_FEATURES_MAX_ENTITIES)
        return;
    for (size_t i = 0; i < s->n_ent; i++)
        if (s->ent_len[i] == n && memcmp(s->ent[i], w, n) == 0)
            return;
    memcpy(s->ent[s->n_ent], w, n);
    s->ent_len[s->n_ent++] = n;
}

/* An entity of the text: also a concrete cue for the abstraction level. */
static void text_entity(scan *s, const char *w, size_t n)
{
    s->concrete += 1.0;
    add_entity(s, w, n);
}

static void end_run(scan *s)
{
    if (s->run_words)
        text_entity(s, s->run, s->run_len);
    s->run_words = s->run_len = 0;
}

/* A capitalised word: joins the open run when only one space or hyphen separates them. */
static void run_add(scan *s, const token *t)
{
    size_t n = strip_possessive(t->fold, t->len);
    if (s->run_words && s->join && s->run_words < RUN_WORDS &&
        s->run_len + 1 + n <= EG_FEATURES_ENTITY_MAX) {
        s->run[s->run_len++] = s->join;
    } else {
        end_run(s);
        if (n > EG_FEATURES_ENTITY_MAX)
            return;
    }
    memcpy(s->run + s->run_len, t->fold, n);
    s->run_len += n;
    s->run_words++;
    if (n != t->len) /* "Bob's Burgers": the possessive ends the name */
        end_run(s);
}

static void shout(scan *s, size_t letters)
{
    if (letters >= EG_LX_CAPS_MIN_LETTERS && s->shouts < EG_LX_CAPS_MAX) {
        s->shouts++;
        s->emo_up *= 1.0 - EG_LX_CAPS_WEIGHT;
    }
}

/* The ALL-CAPS word held back is shouting when its right neighbour is ALL-CAPS too, else an
 * acronym (an entity unless it started a sentence). */
static void resolve_pending(scan *s, bool next_caps)
{
    if (!s->pending_set)
        return;
    if (next_caps)
        shout(s, s->pending_letters);
    else if (s->pending_emit)
        text_entity(s, s->pending, s->pending_len);
    s->pending_set = false;
}

static void entity_cues(scan *s, const token *t, bool listed, bool initial)
{
    bool caps = t->letters >= 2 && t->upper_any && !t->lower_any;
    bool title = t->upper_first && t->lower_any && t->chars >= 2;
    resolve_pending(s, caps);
    if (caps) {
        end_run(s);
        if (listed || s->prev_caps) {
            shout(s, t->letters);
        } else {
            size_t n = strip_possessive(t->fold, t->len);
            s->pending_set = true;
            s->pending_emit = !initial && t->fits && n <= EG_FEATURES_ENTITY_MAX;
            s->pending_letters = t->letters;
            s->pending_len = s->pending_emit ? n : 0;
            if (s->pending_emit)
                memcpy(s->pending, t->fold, n);
        }
    } else if (title && !listed && !initial && t->fits) {
        run_add(s, t);
    } else {
        end_run(s);
    }
    s->prev_caps = caps;
}

/* ---- words ---- */

static void word(scan *s, const token *t)
{
    long idx = s->nword++;
    bool initial = s->sentence_start, imper = s->imper_slot;
    s->sentence_start = s->imper_slot = false;
    if (!s->soft_gap)
        s->chain_n = 0;

    if (t->sigil && t->letters) {
        resolve_pending(s, false);
        end_run(s);
        s->prev_caps = false;
        if (t->fits)
            text_entity(s, t->fold, t->len);
        if (t->sigil == '#' && t->fits) { /* "#urgent" is a cue too */
            const lex_slot *sl = lex_find(t->fold, t->len, t->hash);
            const eg_lex_entry *e = sl && sl->word >= 0 ? &eg__lexicon_words[sl->word] : NULL;
            if (e)
                apply(s, e, (size_t)(e - eg__lexicon_words), idx, false);
        }
        s->chain_n = 0;
        s->last_abbrev = false;
        return;
    }

    const eg_lex_entry *e = NULL;
    if (t->fits) {
        const lex_slot *sl = lex_find(t->fold, t->len, t->hash);
        e = sl && sl->word >= 0 ? &eg__lexicon_words[sl->word] : NULL;
        if (!e && ends_with(t->fold, t->len, "'s") && t->len > 2)
            e = find_word(t->fold, t->len - 2); /* "today's" */
        if (sl)
            match_phrases(s, sl, idx);
    }
    if (e) {
        apply(s, e, (size_t)(e - eg__lexicon_words), idx, imper);
        if (e->flags & EG_LX_NEG)
            s->neg_at = idx;
        if (imper && (e->flags & EG_LX_POLITE))
            s->imper_slot = true;
    } else if (t->fits) {
        /* weak cues of unlisted words: "walked" (a past tense, unless a name), "kindness" */
        bool name = t->upper_any && !(initial && t->lower_any);
        if (t->len >= 5 && ends_with(t->fold, t->len, "ed") && !ends_with(t->fold, t->len, "eed") &&
            !name && !negated(s, idx))
            s->action += EG_LX_ACTION_WEAK;
        if (t->chars >= 7 &&
            (ends_with(t->fold, t->len, "ness") || ends_with(t->fold, t->len, "ity") ||
             ends_with(t->fold, t->len, "ism") || ends_with(t->fold, t->len, "tion")))
            s->abstract += EG_LX_ABSTRACT_SUFFIX;
    }
    if (t->digit)
        s->concrete += 1.0;
    entity_cues(s, t, e != NULL, initial);
    chain_push(s, t);
    s->last_abbrev = e && (e->flags & EG_LX_ABBREV);
}

/* ---- the scanner ---- */

static bool ascii_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

static bool is_letter_cat(int cat)
{
    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
}

static bool is_digit_cat(int cat)
{
    return cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO;
}

/* The code point at text[i] (step bytes), or -1 for an invalid byte (step 1). */
static utf8proc_int32_t cp_at(const char *text, size_t len, size_t i, size_t *step)
{
    utf8proc_int32_t cp;
    utf8proc_ssize_t k =
        utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &cp);
    if (k <= 0) {
        *step = 1;
        return -1;
    }
    *step = (size_t)k;
    return cp;
}

/* Whether a word (or, with letters_only, a letter) starts at text[i]. */
static bool word_char_at(const char *text, size_t len, size_t i, bool letters_only)
{
    if (i >= len)
        return false;
    unsigned char c = (unsigned char)text[i];
    if (c < 0x80)
        return letters_only ? ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') : ascii_alnum(c);
    size_t step;
    utf8proc_int32_t cp = cp_at(text, len, i, &step);
    if (cp < 0)
        return false;
    int cat = utf8proc_category(cp);
    return is_letter_cat(cat) || (!letters_only && is_digit_cat(cat));
}

/* One character between words. */
static void gap(scan *s, utf8proc_int32_t cp, const char *text, size_t len, size_t next)
{
    s->gap_len++;
    char join = 0;
    bool soft = false, end = false;
    switch (cp) {
    case ' ':
    case '\t':
    case 0xA0:
        soft = true;
        join = ' ';
        break;
    case '-':
    case 0x2010:
        soft = true;
        join = '-';
        break;
    case '\n':
    case '\r':
    case 0x2028:
    case 0x2029:
    case '?':
    case 0x2026:
    case 0x3002:
    case 0xFF1F:
        end = true;
        break;
    case '!':
    case 0xFF01:
        end = true;
        if (s->exclaims < EG_LX_EXCLAIM_MAX) {
            s->exclaims++;
            s->emo_up *= 1.0 - EG_LX_EXCLAIM_WEIGHT;
        }
        break;
    case '.': {
        /* a full stop ends a sentence when white space, a closing quote or the end follows it,
         * and it does not close an abbreviation ("Dr. Smith") */
        unsigned char c = next < len ? (unsigned char)text[next] : ' ';
        bool closes = c >= 0x80 || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' ||
                      c == '\'' || c == ')' || c == ']';
        end = closes && !(s->last_abbrev && s->gap_len == 1);
        break;
    }
    default:
        if (cp >= 0x80 && utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS) {
            soft = true;
            join = ' ';
        }
        break;
    }
    if (!soft) { /* a clause ends: negation, phrases, names and shouting stop here */
        s->soft_gap = false;
        s->neg_at = NO_NEGATOR;
        resolve_pending(s, false);
        s->prev_caps = false;
    }
    if (cp == ':') /* "Todo: call Bob" */
        s->imper_slot = true;
    s->join = s->gap_len == 1 ? join : 0;
    if (end)
        s->sentence_start = s->imper_slot = true;
}

/* Scans the word at text[i] (after its sigil, if any), processes it, returns where it ends. */
static size_t scan_word(scan *s, const char *text, size_t len, size_t i, char sigil)
{
    token t;
    t.ascii = true;
    t.upper_first = t.upper_any = t.lower_any = t.digit = false;
    t.chars = t.letters = 0;
    t.sigil = sigil;
    size_t start = i;
    uint32_t h = EG_FNV_INIT;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        size_t step = 1;
        if (c < 0x80) {
            if (c >= 'a' && c <= 'z') {
                t.lower_any = true;
                t.letters++;
            } else if (c >= 'A' && c <= 'Z') {
                t.upper_first |= t.chars == 0;
                t.upper_any = true;
                t.letters++;
            } else if (c >= '0' && c <= '9') {
                t.digit = true;
            } else if (c == '\'' && !sigil && t.chars && word_char_at(text, len, i + 1, true)) {
                /* an apostrophe inside a word: don't, o'clock */
            } else if ((c == '_' || c == '-') && sigil && word_char_at(text, len, i + 1, false)) {
                /* handles: @jean-luc, #to_do */
            } else {
                break;
            }
            /* an ASCII word is folded (and hashed) here; any other is folded whole below */
            char f = (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
            if (i - start < WORD_MAX)
                t.fold[i - start] = f;
            h = EG_FNV_STEP(h, f);
        } else {
            utf8proc_int32_t cp = cp_at(text, len, i, &step);
            if (cp < 0)
                break;
            int cat = utf8proc_category(cp);
            if (is_letter_cat(cat)) {
                bool up = cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT;
                t.upper_first |= up && t.chars == 0;
                t.upper_any |= up;
                t.lower_any |= cat == UTF8PROC_CATEGORY_LL;
                t.letters++;
            } else if (is_digit_cat(cat)) {
                t.digit = true;
            } else if (cat >= UTF8PROC_CATEGORY_MN && cat <= UTF8PROC_CATEGORY_ME && t.chars) {
                /* a combining mark continues a word */
            } else if (cp == 0x2019 && !sigil && t.chars &&
                       word_char_at(text, len, i + step, true)) {
                /* a typographic apostrophe: don’t */
            } else {
                break;
            }
            t.ascii = false;
        }
        i += step;
        t.chars++;
    }
    if (t.ascii) {
        t.len = i - start;
        t.hash = h;
        t.fits = t.len <= WORD_MAX;
    } else {
        t.len = fold_text(text + start, i - start, false, t.fold, WORD_MAX);
        t.fits = t.len != SIZE_MAX;
        t.hash = t.fits ? eg_fnv1a(t.fold, t.len) : 0;
    }
    if (!t.fits)
        t.len = 0;
    word(s, &t);
    s->soft_gap = true;
    s->gap_len = 0;
    s->join = 0;
    return i;
}

static void scan_text(scan *s, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x80) {
            if (ascii_alnum(c)) {
                i = scan_word(s, text, len, i, 0);
                continue;
            }
            if (c == ' ') { /* the common gap, as gap() takes it: soft, joins a run of names */
                s->gap_len++;
                s->join = s->gap_len == 1 ? ' ' : 0;
                i++;
                continue;
            }
            bool after_word = s->nword > 0 && s->gap_len == 0;
            gap(s, c, text, len, i + 1);
            if ((c == '@' || c == '#') && !after_word && word_char_at(text, len, i + 1, false)) {
                i = scan_word(s, text, len, i + 1, (char)c); /* not bob@example.com */
                continue;
            }
            i++;
            continue;
        }
        size_t step;
        utf8proc_int32_t cp = cp_at(text, len, i, &step);
        if (cp >= 0) {
            int cat = utf8proc_category(cp);
            if (is_letter_cat(cat) || is_digit_cat(cat)) {
                i = scan_word(s, text, len, i, 0);
                continue;
            }
        }
        gap(s, cp < 0 ? 0xFFFD : cp, text, len, i + step);
        i += step;
    }
    resolve_pending(s, false);
    end_run(s);
}

/* ---- metadata ---- */

/* Entities of metadata[key]: an array of strings or one string; tags lose a leading '#'/'@'. */
static void meta_entities(scan *s, const json_t *metadata, const char *key, bool tags)
{
    const json_t *v = json_object_get(metadata, key);
    size_t n = json_is_array(v) ? json_array_size(v) : json_is_string(v) ? 1 : 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *el = json_is_array(v) ? json_array_get(v, i) : v;
        if (!json_is_string(el))
            continue;
        const char *str = json_string_value(el);
        size_t len = json_string_length(el);
        while (len && (*str == ' ' || *str == '\t' || *str == '\n' || *str == '\r')) {
            str++;
            len--;
        }
        while (len && (str[len - 1] == ' ' || str[len - 1] == '\t' || str[len - 1] == '\n' ||
                       str[len - 1] == '\r'))
            len--;
        if (tags && len && (*str == '#' || *str == '@')) {
            str++;
            len--;
        }
        bool ascii = true;
        for (size_t k = 0; k < len; k++)
            ascii &= (unsigned char)str[k] < 0x80;
        char buf[EG_FEATURES_ENTITY_MAX];
        size_t flen = fold_text(str, len, ascii, buf, sizeof buf);
        if (flen != SIZE_MAX)
            add_entity(s, buf, flen);
    }
}

static void override_unit(const json_t *m, const char *key, double *field, unsigned bit,
                          unsigned *set)
{
    const json_t *v = json_object_get(m, key);
    if (!json_is_number(v))
        return;
    double d = json_number_value(v);
    if (d >= 0.0 && d <= 1.0) {
        *field = d;
        *set |= bit;
    }
}

static void overrides(eg_features *f, const json_t *m)
{
    override_unit(m, "importance", &f->importance, EG_FEAT_IMPORTANCE, &f->overrides);
    override_unit(m, "urgency", &f->urgency, EG_FEAT_URGENCY, &f->overrides);
    override_unit(m, "emotional_salience", &f->emotional_salience, EG_FEAT_EMOTIONAL_SALIENCE,
                  &f->overrides);
    const json_t *v = json_object_get(m, "sentiment");
    if (json_is_string(v) &&
        eg_sentiment_parse(json_string_value(v), json_string_length(v), &f->sentiment))
        f->overrides |= EG_FEAT_SENTIMENT;
    v = json_object_get(m, "task_type");
    if (json_is_string(v) &&
        eg_task_type_parse(json_string_value(v), json_string_length(v), &f->task_type))
        f->overrides |= EG_FEAT_TASK_TYPE;
    v = json_object_get(m, "knowledge_type");
    if (json_is_string(v) &&
        eg_knowledge_type_parse(json_string_value(v), json_string_length(v), &f->knowledge_type))
        f->overrides |= EG_FEAT_KNOWLEDGE_TYPE;
    v = json_object_get(m, "abstraction_level");
    if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= 5) {
        f->abstraction_level = (int)json_integer_value(v);
        f->overrides |= EG_FEAT_ABSTRACTION_LEVEL;
    }
}

/* ---- results ---- */

static void finish(const scan *s, eg_features *f)
{
    f->importance = (1.0 - (1.0 - EG_LX_BASE_IMPORTANCE) * s->imp_up) * s->imp_down;
    f->urgency = (1.0 - (1.0 - EG_LX_BASE_URGENCY) * s->urg_up) * s->urg_down;
    f->emotional_salience = 1.0 - (1.0 - EG_LX_BASE_EMOTION) * s->emo_up;
    f->valence = s->val_sum / sqrt(s->val_sum * s->val_sum + EG_LX_VALENCE_ALPHA);
    f->sentiment = f->valence >= EG_LX_POSITIVE_AT   ? EG_SENT_POSITIVE
                   : f->valence <= EG_LX_NEGATIVE_AT ? EG_SENT_NEGATIVE
                                                     : EG_SENT_NEUTRAL;
    f->task_type = s->goal                        ? EG_TASK_GOAL
                   : s->task                      ? EG_TASK_TASK
                   : s->action >= EG_LX_ACTION_AT ? EG_TASK_ACTION
                                                  : EG_TASK_OBSERVATION;
    f->knowledge_type = s->proc >= EG_LX_PROC_AT ? EG_KNOW_PROCEDURAL
                        : s->cond                ? EG_KNOW_CONDITIONAL
                                                 : EG_KNOW_DECLARATIVE;
    double d = s->abstract - s->concrete;
    f->abstraction_level = d >= EG_LX_LEVEL_HIGH    ? 5
                           : d >= EG_LX_LEVEL_LOW   ? 4
                           : d <= -EG_LX_LEVEL_HIGH ? 1
                           : d <= -EG_LX_LEVEL_LOW  ? 2
                                                    : 3;
    f->overrides = 0;
}

static eg_region region_of(const eg_features *f, const scan *s)
{
    if (f->knowledge_type == EG_KNOW_PROCEDURAL)
        return EG_REGION_MOTOR;
    if (s->percepts > 0)
        return EG_REGION_SENSORY;
    if (f->task_type == EG_TASK_GOAL || f->task_type == EG_TASK_TASK || s->plan)
        return EG_REGION_PREFRONTAL;
    return EG_REGION_ASSOCIATION;
}

static int write_entities(const scan *s, eg_buf *b)
{
    size_t start = b->len;
    int rc = eg_buf_putc(b, '[');
    for (size_t i = 0; i < s->n_ent && !rc; i++) {
        if (i)
            rc = eg_buf_putc(b, ',');
        if (!rc)
            rc = eg_buf_json_str(b, s->ent[i], s->ent_len[i]);
    }
    if (!rc)
        rc = eg_buf_putc(b, ']');
    if (rc) {
        b->len = start;
        if (b->data)
            b->data[start] = '\0';
    }
    return rc;
}

int eg_features_compute(const char *text, size_t len, const json_t *metadata, eg_features *out,
                        eg_buf *entities_out)
{
    scan s;
    memset(s.seen, 0, sizeof s.seen);
    memset(s.scored, 0, sizeof s.scored);
    s.sentence_start = s.imper_slot = s.soft_gap = true;
    s.gap_len = 0;
    s.join = 0;
    s.last_abbrev = false;
    s.nword = 0;
    s.neg_at = NO_NEGATOR;
    s.chain_pos = s.chain_n = 0;
    s.imp_up = s.imp_down = s.urg_up = s.urg_down = s.emo_up = 1.0;
    s.val_sum = s.action = s.proc = s.abstract = s.concrete = 0.0;
    s.exclaims = s.shouts = s.percepts = 0;
    s.goal = s.task = s.cond = s.plan = false;
    s.n_ent = s.run_len = s.run_words = 0;
    s.pending_set = s.pending_emit = s.prev_caps = false;
    s.pending_len = s.pending_letters = 0;

    pthread_once(&lex_once, lex_build);
    const json_t *meta = json_is_object(metadata) ? metadata : NULL;
    if (meta) {
        meta_entities(&s, meta, "entities", false);
        meta_entities(&s, meta, "tags", true);
    }
    if (text)
        scan_text(&s, text, len);
    finish(&s, out);
    if (meta)
        overrides(out, meta);
    out->region_hint = region_of(out, &s);
    return entities_out ? write_entities(&s, entities_out) : 0;
}
