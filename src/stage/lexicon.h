/*
 * lexicon.h — the built-in cue lexicons of the features stage (SPEC §6, §7.4), and every weight
 * and threshold that turns cues into features, in one place so that tuning is one file.
 *
 * The tables live in lexicon.c; features.c is their only user (and tests/unit/test_features.c,
 * which checks that they are sorted). docs/stages/features.md explains the formulas these
 * numbers feed. Nothing here is mutable.
 */
#ifndef EG_STAGE_LEXICON_H
#define EG_STAGE_LEXICON_H

#include <stddef.h>

/* ---- weights and thresholds (features.c) ---- */

#define EG_LX_BASE_IMPORTANCE 0.5 /* value with no cue */
#define EG_LX_BASE_URGENCY 0.3
#define EG_LX_BASE_EMOTION 0.3
#define EG_LX_EXCLAIM_WEIGHT 0.10 /* salience weight of one '!' ... */
#define EG_LX_EXCLAIM_MAX 3       /* ... of which at most this many count */
#define EG_LX_CAPS_WEIGHT 0.05    /* salience weight of one shouted ALL-CAPS word ... */
#define EG_LX_CAPS_MAX 3          /* ... of which at most this many count */
#define EG_LX_CAPS_MIN_LETTERS 3  /* shorter ALL-CAPS words never count as shouting */
#define EG_LX_NEG_SCOPE 3         /* a negator reaches the cues starting this many words after it */
#define EG_LX_NEG_FACTOR (-0.75)  /* a negated valence is multiplied by this */
#define EG_LX_VALENCE_ALPHA 1.0   /* valence = S / sqrt(S^2 + alpha), S the sum of valences */
#define EG_LX_POSITIVE_AT 0.2     /* sentiment positive when valence >= this */
#define EG_LX_NEGATIVE_AT (-0.2)  /* sentiment negative when valence <= this */
#define EG_LX_ACTION_WEAK 0.5     /* action score of an unlisted word ending in -ed */
#define EG_LX_ACTION_AT 1.0       /* task type action when the action score reaches this */
#define EG_LX_PROC_STRONG 1.0     /* procedural score of an EG_LX_PROCEDURAL cue */
#define EG_LX_PROC_WEAK 0.5       /* ... of a sequence word or a sentence-initial procedure verb */
#define EG_LX_PROC_AT 1.0         /* knowledge type procedural when the score reaches this */
#define EG_LX_ABSTRACT_SUFFIX                                                                      \
    0.5                      /* abstraction score of an unlisted -ness/-ity/-ism/-tion word        \
                              */
#define EG_LX_LEVEL_HIGH 3.0 /* abstract - concrete >= 3: level 5, >= 1: level 4 */
#define EG_LX_LEVEL_LOW 1.0  /* ... <= -1: level 2, <= -3: level 1, else 3 */

/* ---- cue roles (eg_lex_entry.flags) ---- */
enum {
    EG_LX_NEG = 1u << 0,         /* negator: not, never, don't, ... */
    EG_LX_GOAL = 1u << 1,        /* task type goal: "want to", "my goal" */
    EG_LX_TASK = 1u << 2,        /* task type task: "need to", "must", "todo" */
    EG_LX_ACTION = 1u << 3,      /* task type action (score 1): did, sent, finished */
    EG_LX_IMPERATIVE = 1u << 4,  /* task cue when it is the first word of a sentence: call, buy */
    EG_LX_PROCEDURAL = 1u << 5,  /* knowledge procedural (strong): "how to", install, steps */
    EG_LX_SEQUENCE = 1u << 6,    /* procedural (weak): first, then, finally */
    EG_LX_PROC_VERB = 1u << 7,   /* procedural (weak) when first word of a sentence: click, run */
    EG_LX_CONDITIONAL = 1u << 8, /* knowledge conditional: if, when, unless, whenever */
    EG_LX_PERCEPT = 1u << 9,     /* region sensory: saw, heard, loud, bright */
    EG_LX_PLAN = 1u << 10,       /* region prefrontal: plan, decide, schedule */
    EG_LX_ABSTRACT = 1u << 11,   /* abstraction +1: theory, principle, generally */
    EG_LX_CONCRETE = 1u << 12,   /* abstraction -1: weekdays, months, yesterday, hours */
    EG_LX_ABBREV = 1u << 13,     /* a '.' right after it does not end the sentence: dr, mr */
    EG_LX_POLITE = 1u << 14,     /* at a sentence start, passes the imperative slot on: please */
    EG_LX_FUNCTION = 1u << 15,   /* no cue, listed so that "The" or "How" is never an entity */
};

/* One cue: a folded word (or, in the phrase table, words separated by single spaces) and its
 * weights in hundredths. A positive importance/urgency/emotion weight w raises the feature
 * (v = 1 - (1 - v)(1 - w/100)); a negative one damps it (v = v(1 + w/100)). valence is in
 * [-100, 100]. Any listed word, whatever its role, is never taken for an entity. */
typedef struct eg_lex_entry {
    const char *text;
    signed char imp, urg, emo, val;
    unsigned flags;
} eg_lex_entry;

/* Single words, sorted by strcmp (bytewise) of text, unique. */
extern const eg_lex_entry eg__lexicon_words[];
extern const size_t eg__lexicon_nwords;
/* Phrases of 2 to EG_LX_PHRASE_WORDS words, sorted by strcmp of their last word (so that a
 * binary search on the current word finds the phrases it ends). */
extern const eg_lex_entry eg__lexicon_phrases[];
extern const size_t eg__lexicon_nphrases;

#define EG_LX_PHRASE_WORDS 4
#define EG_LX_MAX_ENTRIES 1024 /* words + phrases; sizes the per-call "seen" bitsets */

#endif
