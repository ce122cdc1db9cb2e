/*
 * features.h — the cognitive features of one memory (SPEC §6, and the cues of §7.2 and §7.4):
 * importance, urgency, emotional salience, valence and sentiment, task type, knowledge type,
 * region hint, abstraction level, and the entities that become concepts.
 *
 * eg_features_compute is a pure function of (text, metadata): offline, deterministic, no I/O, no
 * allocation except the entities appended to the caller's buffer, no state between calls (it is
 * safe from any number of threads). The cue lexicons and every weight live in stage/lexicon.c and
 * stage/lexicon.h; docs/stages/features.md explains the formulas.
 */
#ifndef EG_STAGE_FEATURES_H
#define EG_STAGE_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util/buf.h"

typedef enum eg_sentiment { EG_SENT_NEUTRAL = 0, EG_SENT_POSITIVE, EG_SENT_NEGATIVE } eg_sentiment;

typedef enum eg_task_type {
    EG_TASK_OBSERVATION = 0,
    EG_TASK_GOAL,
    EG_TASK_TASK,
    EG_TASK_ACTION
} eg_task_type;

typedef enum eg_knowledge_type {
    EG_KNOW_DECLARATIVE = 0,
    EG_KNOW_PROCEDURAL,
    EG_KNOW_CONDITIONAL
} eg_knowledge_type;

typedef enum eg_region {
    EG_REGION_ASSOCIATION = 0,
    EG_REGION_MOTOR,
    EG_REGION_SENSORY,
    EG_REGION_PREFRONTAL
} eg_region;

/* Bits of eg_features.overrides: which fields a metadata value set. */
enum {
    EG_FEAT_IMPORTANCE = 1u << 0,
    EG_FEAT_URGENCY = 1u << 1,
    EG_FEAT_EMOTIONAL_SALIENCE = 1u << 2,
    EG_FEAT_SENTIMENT = 1u << 3,
    EG_FEAT_TASK_TYPE = 1u << 4,
    EG_FEAT_KNOWLEDGE_TYPE = 1u << 5,
    EG_FEAT_ABSTRACTION_LEVEL = 1u << 6,
};

#define EG_FEATURES_MAX_ENTITIES 16
#define EG_FEATURES_ENTITY_MAX 64 /* bytes of one folded entity; longer ones are dropped */

typedef struct eg_features {
    double importance;         /* [0,1], 0.5 with no cue */
    double urgency;            /* [0,1], 0.3 with no cue */
    double emotional_salience; /* [0,1], 0.3 with no cue */
    double valence;            /* [-1,1]: the lexicon score behind sentiment (never overridden) */
    eg_sentiment sentiment;
    eg_task_type task_type;
    eg_knowledge_type knowledge_type;
    eg_region region_hint; /* procedural -> motor, perceptual -> sensory, goal/task/plan ->
                              prefrontal, else association */
    int abstraction_level; /* 1..5, 3 with no cue */
    unsigned overrides;    /* EG_FEAT_* bits of the fields that came from metadata */
} eg_features;

/* Computes the features of text[0..len) (UTF-8; invalid bytes only separate words; text may be
 * NULL when len is 0) with overrides from metadata (a parsed JSON value or NULL; anything but an
 * object is ignored). Overrides: a number in [0,1] named "importance", "urgency" or
 * "emotional_salience"; a string naming a value of "sentiment", "task_type" or "knowledge_type"
 * (case-insensitive); an integer 1..5 named "abstraction_level". Out-of-range or wrongly typed
 * values are ignored. The region hint is derived after the overrides.
 *
 * If entities_out is not NULL, appends a JSON array of entities (always, "[]" when none): the
 * strings of metadata "entities", then of metadata "tags" (an array of strings, or one string;
 * a leading '#' or '@' dropped), then, in text order, capitalised words not at a sentence start
 * and not in the lexicon (consecutive ones joined by their single space or hyphen: "new york"),
 * lone ALL-CAPS acronyms ("nasa"), @mentions and #hashtags (without the sigil; "'s" dropped from
 * names). Each is case folded and NFC-composed (utf8proc) as concepts are, de-duplicated keeping
 * the first, at most EG_FEATURES_MAX_ENTITIES. Returns 0, or EG_ENOMEM when entities_out reaches
 * its cap (entities_out is then as before; *out is complete all the same). */
int eg_features_compute(const char *text, size_t len, const json_t *metadata, eg_features *out,
                        eg_buf *entities_out);

/* Names used in the store and in exports: "neutral" "positive" "negative"; "observation" "goal"
 * "task" "action"; "declarative" "procedural" "conditional"; "association" "motor" "sensory"
 * "prefrontal". An out-of-range value gives "unknown". */
const char *eg_sentiment_name(eg_sentiment s);
const char *eg_task_type_name(eg_task_type t);
const char *eg_knowledge_type_name(eg_knowledge_type k);
const char *eg_region_name(eg_region r);

/* Parse a name back (ASCII case-insensitive, exact length n). Return false, *out untouched, when
 * s is not a name of the type. */
bool eg_sentiment_parse(const char *s, size_t n, eg_sentiment *out);
bool eg_task_type_parse(const char *s, size_t n, eg_task_type *out);
bool eg_knowledge_type_parse(const char *s, size_t n, eg_knowledge_type *out);
bool eg_region_parse(const char *s, size_t n, eg_region *out);

#endif
