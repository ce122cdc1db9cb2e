/*
 * test_features.c — unit tests of stage/features.c and stage/lexicon.c: defaults, each cue
 * lexicon and its saturation, exclamation and shouting, negation, task types and their
 * precedence, knowledge types, region hints, abstraction levels, metadata overrides, entities,
 * multibyte and invalid text, the buffer cap, names, and the shape of the lexicon tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engram/error.h"
#include "stage/features.h"
#include "stage/lexicon.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void near(double got, double want, const char *what)
{
    if (fabs(got - want) > 1e-9) {
        print_error("%s: got %.12f, want %.12f\n", what, got, want);
        fail();
    }
}

/* Computes the features of text with metadata given as JSON text (or NULL); entities, when
 * ents is not NULL, are checked against it. */
static eg_features run_meta(const char *text, const char *metadata, const char *ents)
{
    json_t *m = NULL;
    if (metadata) {
        json_error_t jerr;
        m = json_loads(metadata, JSON_DECODE_ANY, &jerr);
        assert_non_null(m);
    }
    eg_buf b;
    eg_buf_init(&b, 0);
    eg_features f;
    memset(&f, 0xA5, sizeof f);
    assert_int_equal(eg_features_compute(text, strlen(text), m, &f, &b), 0);
    if (ents)
        assert_string_equal(b.data, ents);
    eg_buf_free(&b);
    json_decref(m);
    assert_true(f.importance >= 0 && f.importance <= 1);
    assert_true(f.urgency >= 0 && f.urgency <= 1);
    assert_true(f.emotional_salience >= 0 && f.emotional_salience <= 1);
    assert_true(f.valence >= -1 && f.valence <= 1);
    assert_true(f.abstraction_level >= 1 && f.abstraction_level <= 5);
    return f;
}

static eg_features run(const char *text)
{
    return run_meta(text, NULL, NULL);
}

static void expect_defaults(const eg_features *f)
{
    near(f->importance, 0.5, "importance");
    near(f->urgency, 0.3, "urgency");
    near(f->emotional_salience, 0.3, "emotional_salience");
    near(f->valence, 0.0, "valence");
    assert_int_equal(f->sentiment, EG_SENT_NEUTRAL);
    assert_int_equal(f->task_type, EG_TASK_OBSERVATION);
    assert_int_equal(f->knowledge_type, EG_KNOW_DECLARATIVE);
    assert_int_equal(f->region_hint, EG_REGION_ASSOCIATION);
    assert_int_equal(f->abstraction_level, 3);
    assert_int_equal(f->overrides, 0);
}

static void test_defaults(void **state)
{
    (void)state;
    eg_features f = run_meta("This is a note about the garden.", NULL, "[]");
    expect_defaults(&f);
}

static void test_empty(void **state)
{
    (void)state;
    eg_buf b;
    eg_buf_init(&b, 0);
    eg_features f;
    assert_int_equal(eg_features_compute(NULL, 0, NULL, &f, &b), 0);
    expect_defaults(&f);
    assert_string_equal(b.data, "[]");
    eg_buf_reset(&b);
    assert_int_equal(eg_features_compute("", 0, NULL, &f, &b), 0);
    expect_defaults(&f);
    assert_string_equal(b.data, "[]");
    eg_buf_free(&b);
    /* no entity buffer: features all the same */
    assert_int_equal(eg_features_compute(" \n\t ", 4, NULL, &f, NULL), 0);
    expect_defaults(&f);
}

static void test_importance(void **state)
{
    (void)state;
    near(run("This is important.").importance, 1 - 0.5 * 0.7, "important");
    near(run("A crucial decision.").importance, 1 - 0.5 * 0.65 * 0.75, "crucial + decision");
    /* phrases, and damping cues */
    near(run("Keep in mind the rent.").importance, 1 - 0.5 * 0.8, "keep in mind");
    near(run("A trivial thing.").importance, 0.5 * 0.6, "trivial");
    near(run("It is not important.").importance, 0.5 * 0.6, "not important");
    /* a cue counts once per memory */
    near(run("important important IMPORTANT").importance, 1 - 0.5 * 0.7, "once");
    eg_features f = run("Important, critical, crucial, essential, vital: a key priority we must "
                        "remember, a decided decision, significant and serious!");
    assert_true(f.importance > 0.98 && f.importance <= 1.0);
}

static void test_urgency(void **state)
{
    (void)state;
    eg_features f = run("This is urgent.");
    near(f.urgency, 1 - 0.7 * 0.6, "urgent");
    near(f.emotional_salience, 1 - 0.7 * 0.95, "urgent is a little emotional");
    near(run("The report is due by Friday").urgency, 1 - 0.7 * 0.8 * 0.75, "due + by friday");
    /* a phrase adds to the words in it ("soon") */
    near(run("Send it as soon as possible").urgency, 1 - 0.7 * 0.6 * 0.9, "as soon as possible");
    near(run("Call the bank today").urgency, 1 - 0.7 * 0.8, "today");
    near(run("Someday I will fix the fence").urgency, 0.3 * 0.5, "someday damps");
    near(run("Not urgent, no rush.").urgency, 0.3 * 0.6 * 0.6, "negated and damping phrases");
    /* full-width letters (CJK input methods) fold to ASCII like in concepts */
    near(run("This is \uff35\uff32\uff27\uff25\uff2e\uff34.").urgency, 1 - 0.7 * 0.6, "full-width");
    f = run("URGENT!!! asap ASAP, the deadline is today, tonight at the latest; immediately, "
            "right now, emergency, overdue, hurry up by Monday or by tomorrow!");
    assert_true(f.urgency > 0.99 && f.urgency <= 1.0);
    assert_true(f.emotional_salience <= 1.0);
}

static void test_emotion_and_exclamation(void **state)
{
    (void)state;
    eg_features f = run("I am happy.");
    near(f.emotional_salience, 1 - 0.7 * 0.75, "happy");
    near(f.valence, 0.6 / sqrt(0.36 + 1), "happy valence");
    assert_int_equal(f.sentiment, EG_SENT_POSITIVE);
    f = run("I am so frustrated and worried.");
    near(f.emotional_salience, 1 - 0.7 * 0.7 * 0.75, "frustrated + worried");
    near(f.valence, -1.1 / sqrt(1.21 + 1), "negative valence");
    assert_int_equal(f.sentiment, EG_SENT_NEGATIVE);

    near(run("It is here").emotional_salience, 0.3, "no mark");
    near(run("It is here!").emotional_salience, 1 - 0.7 * 0.9, "one mark");
    near(run("It is here!!").emotional_salience, 1 - 0.7 * 0.81, "two marks");
    near(run("It is here!!!!!!!").emotional_salience, 1 - 0.7 * 0.729, "at most three marks");

    /* shouting: ALL-CAPS words next to each other or listed ones, at most three */
    near(run("THIS IS A BIG DAY").emotional_salience, 1 - 0.7 * pow(0.95, 3), "shouting");
    near(run("We use NASA data").emotional_salience, 0.3, "an acronym is not shouting");

    f = run("Thrilled! Ecstatic, love, joy, excited, proud, grateful, delighted!!! Also angry, "
            "furious, terrified, devastated, heartbroken, hate, panic, grief!!! WOW AMAZING YAY");
    assert_true(f.emotional_salience > 0.99 && f.emotional_salience <= 1.0);
}

static void test_negation(void **state)
{
    (void)state;
    eg_features f = run("I am not happy.");
    near(f.valence, -0.45 / sqrt(0.45 * 0.45 + 1), "not happy");
    assert_int_equal(f.sentiment, EG_SENT_NEGATIVE);
    near(f.emotional_salience, 1 - 0.7 * 0.75, "negation keeps salience");
    assert_int_equal(run("This is not bad at all").sentiment, EG_SENT_POSITIVE);
    assert_int_equal(run("I don’t love it").sentiment, EG_SENT_NEGATIVE); /* U+2019 */
    assert_int_equal(run("Never happy with it").sentiment, EG_SENT_NEGATIVE);
    /* the scope is three words, and a clause ends it */
    assert_int_equal(run("not a very very happy day").sentiment, EG_SENT_POSITIVE);
    assert_int_equal(run("Not today, I am happy").sentiment, EG_SENT_POSITIVE);
    /* weak words stay under the thresholds */
    assert_int_equal(run("It is fine").sentiment, EG_SENT_NEUTRAL);
    near(run("It is fine").valence, 0.2 / sqrt(0.04 + 1), "fine");
    assert_int_equal(run("happy but sad").sentiment, EG_SENT_NEUTRAL);
}

static void test_task_types(void **state)
{
    (void)state;
    assert_int_equal(run("The sky is grey today").task_type, EG_TASK_OBSERVATION);
    assert_int_equal(run("I want to learn Spanish").task_type, EG_TASK_GOAL);
    assert_int_equal(run("My goal is a marathon").task_type, EG_TASK_GOAL);
    assert_int_equal(run("I'd like to visit Rome").task_type, EG_TASK_GOAL);
    assert_int_equal(run("Hope to finish soon").task_type, EG_TASK_GOAL);
    assert_int_equal(run("I need to buy milk").task_type, EG_TASK_TASK);
    assert_int_equal(run("We have to leave").task_type, EG_TASK_TASK);
    assert_int_equal(run("Buy milk").task_type, EG_TASK_TASK);
    assert_int_equal(run("Please call the plumber").task_type, EG_TASK_TASK);
    assert_int_equal(run("Todo: fix the sink").task_type, EG_TASK_TASK);
    assert_int_equal(run("Groceries: buy eggs").task_type, EG_TASK_TASK);
    assert_int_equal(run("Add it to the to-do list").task_type, EG_TASK_TASK);
    assert_int_equal(run("Finished the report").task_type, EG_TASK_ACTION);
    assert_int_equal(run("I sent the invoice").task_type, EG_TASK_ACTION);
    /* -ed: a weak cue, two make an action; listed -ed words and names are no cue */
    assert_int_equal(run("I walked").task_type, EG_TASK_OBSERVATION);
    assert_int_equal(run("I walked and talked").task_type, EG_TASK_ACTION);
    assert_int_equal(run("I am excited and tired").task_type, EG_TASK_OBSERVATION);
    assert_int_equal(run("We need speed and feed").task_type, EG_TASK_OBSERVATION);
    assert_int_equal(run("I saw Alfred and Mildred").task_type, EG_TASK_OBSERVATION);
    /* a cue in the middle of a sentence is not an imperative */
    assert_int_equal(run("The call was long").task_type, EG_TASK_OBSERVATION);
    /* negated cues do not count */
    assert_int_equal(run("I don't want to go").task_type, EG_TASK_OBSERVATION);
    assert_int_equal(run("I didn't finish").task_type, EG_TASK_OBSERVATION);
    /* phrases do not cross punctuation */
    assert_int_equal(run("I need, to be honest, nothing").task_type, EG_TASK_OBSERVATION);
    /* precedence: goal > task > action > observation */
    assert_int_equal(run("I finished the draft and I want to publish it").task_type, EG_TASK_GOAL);
    assert_int_equal(run("I need to call Ann because I want to see her").task_type, EG_TASK_GOAL);
    assert_int_equal(run("I finished the draft, now I need to send it").task_type, EG_TASK_TASK);
}

static void test_knowledge_types(void **state)
{
    (void)state;
    assert_int_equal(run("Paris is the capital of France").knowledge_type, EG_KNOW_DECLARATIVE);
    assert_int_equal(run("How to bake bread").knowledge_type, EG_KNOW_PROCEDURAL);
    assert_int_equal(run("Install the package").knowledge_type, EG_KNOW_PROCEDURAL);
    assert_int_equal(run("Step 2 is the hard one").knowledge_type, EG_KNOW_PROCEDURAL);
    assert_int_equal(run("Open the lid. Stir the soup.").knowledge_type, EG_KNOW_PROCEDURAL);
    assert_int_equal(run("First mix the flour, then add eggs").knowledge_type, EG_KNOW_PROCEDURAL);
    /* weak cues alone are not enough */
    assert_int_equal(run("Then it rained").knowledge_type, EG_KNOW_DECLARATIVE);
    assert_int_equal(run("Open the window").knowledge_type, EG_KNOW_DECLARATIVE);
    assert_int_equal(run("I like to run").knowledge_type, EG_KNOW_DECLARATIVE);
    assert_int_equal(run("If it rains, the match is off").knowledge_type, EG_KNOW_CONDITIONAL);
    assert_int_equal(run("When it rains, take an umbrella").knowledge_type, EG_KNOW_CONDITIONAL);
    assert_int_equal(run("Bring snacks in case we are late").knowledge_type, EG_KNOW_CONDITIONAL);
    /* procedural wins over conditional */
    assert_int_equal(run("If it fails, first check the logs, then restart").knowledge_type,
                     EG_KNOW_PROCEDURAL);
}

static void test_regions(void **state)
{
    (void)state;
    assert_int_equal(run("Paris is the capital of France").region_hint, EG_REGION_ASSOCIATION);
    assert_int_equal(run("How to install the printer").region_hint, EG_REGION_MOTOR);
    assert_int_equal(run("I heard a loud noise").region_hint, EG_REGION_SENSORY);
    assert_int_equal(run("The soup tasted sweet").region_hint, EG_REGION_SENSORY);
    assert_int_equal(run("I want to learn Spanish").region_hint, EG_REGION_PREFRONTAL);
    assert_int_equal(run("Need to buy milk").region_hint, EG_REGION_PREFRONTAL);
    assert_int_equal(run("The strategy is clear").region_hint, EG_REGION_PREFRONTAL);
    assert_int_equal(run("Finished the report").region_hint, EG_REGION_ASSOCIATION);
    /* precedence: motor > sensory > prefrontal */
    assert_int_equal(run("How to see the stars").region_hint, EG_REGION_MOTOR);
    assert_int_equal(run("I want to see the sea").region_hint, EG_REGION_SENSORY);
}

static void test_abstraction(void **state)
{
    (void)state;
    assert_int_equal(run("The cat sat on the mat").abstraction_level, 3);
    assert_int_equal(run("It is a general idea").abstraction_level, 4);
    assert_int_equal(
        run("Freedom and justice are universal principles of society").abstraction_level, 5);
    assert_int_equal(run("The kindness and generosity of strangers").abstraction_level, 4);
    assert_int_equal(run("See you on Monday").abstraction_level, 2);
    assert_int_equal(run("Meeting at 10:30 on Monday 12 March in room 4").abstraction_level, 1);
    assert_int_equal(run("Lunch with Alice, Bob and Carol").abstraction_level, 1);
    /* a cue counts once */
    assert_int_equal(run("general general general").abstraction_level, 4);
}

static void test_overrides(void **state)
{
    (void)state;
    eg_features f = run_meta("I am happy.",
                             "{\"importance\":0.9,\"urgency\":0,\"emotional_salience\":1,"
                             "\"sentiment\":\"Negative\",\"task_type\":\"goal\","
                             "\"knowledge_type\":\"procedural\",\"abstraction_level\":5}",
                             "[]");
    near(f.importance, 0.9, "importance");
    near(f.urgency, 0.0, "urgency");
    near(f.emotional_salience, 1.0, "emotional_salience");
    assert_int_equal(f.sentiment, EG_SENT_NEGATIVE);
    near(f.valence, 0.6 / sqrt(0.36 + 1), "valence stays the lexicon's");
    assert_int_equal(f.task_type, EG_TASK_GOAL);
    assert_int_equal(f.knowledge_type, EG_KNOW_PROCEDURAL);
    assert_int_equal(f.abstraction_level, 5);
    assert_int_equal(f.region_hint, EG_REGION_MOTOR); /* derived after the overrides */
    assert_int_equal(f.overrides, EG_FEAT_IMPORTANCE | EG_FEAT_URGENCY |
                                      EG_FEAT_EMOTIONAL_SALIENCE | EG_FEAT_SENTIMENT |
                                      EG_FEAT_TASK_TYPE | EG_FEAT_KNOWLEDGE_TYPE |
                                      EG_FEAT_ABSTRACTION_LEVEL);

    f = run_meta("The sky is grey", "{\"importance\":1,\"task_type\":\"TASK\"}", NULL);
    near(f.importance, 1.0, "integer 1");
    assert_int_equal(f.task_type, EG_TASK_TASK);
    assert_int_equal(f.region_hint, EG_REGION_PREFRONTAL);
    assert_int_equal(f.overrides, EG_FEAT_IMPORTANCE | EG_FEAT_TASK_TYPE);

    /* out of range: ignored */
    f = run_meta("I am happy.",
                 "{\"importance\":1.5,\"urgency\":-0.1,\"emotional_salience\":1.0000001,"
                 "\"sentiment\":\"great\",\"task_type\":\"goals\",\"knowledge_type\":\"\","
                 "\"abstraction_level\":6}",
                 NULL);
    near(f.importance, 0.5, "importance kept");
    near(f.urgency, 0.3, "urgency kept");
    near(f.emotional_salience, 1 - 0.7 * 0.75, "salience kept");
    assert_int_equal(f.sentiment, EG_SENT_POSITIVE);
    assert_int_equal(f.abstraction_level, 3);
    assert_int_equal(f.overrides, 0);

    /* wrong types: ignored */
    f = run_meta("The sky is grey",
                 "{\"importance\":\"0.9\",\"urgency\":true,\"emotional_salience\":null,"
                 "\"sentiment\":1,\"task_type\":3,\"knowledge_type\":[\"procedural\"],"
                 "\"abstraction_level\":3.0}",
                 NULL);
    expect_defaults(&f);

    /* metadata that is not an object is ignored */
    f = run_meta("The sky is grey", "[0.9]", "[]");
    expect_defaults(&f);
    f = run_meta("The sky is grey", "0.9", "[]");
    expect_defaults(&f);
}

static void test_entities_text(void **state)
{
    (void)state;
    run_meta("Yesterday I met Alice and Bob at the Louvre.", NULL,
             "[\"alice\",\"bob\",\"louvre\"]");
    /* a capitalised word that starts a sentence is not an entity */
    run_meta("Alice called. Bob answered! Carol? Dave\nEve left", NULL, "[]");
    /* listed words are not entities, even capitalised */
    run_meta("See you on Monday, The Important Thing is This", NULL, "[\"thing\"]");
    /* consecutive capitalised words make one entity */
    run_meta("We flew to New York with Ada Lovelace and Jean-Luc Picard", NULL,
             "[\"new york\",\"ada lovelace\",\"jean-luc picard\"]");
    run_meta("I met Bob, Carol", NULL, "[\"bob\",\"carol\"]");
    /* abbreviations do not end a sentence */
    run_meta("Met Dr. Smith today", NULL, "[\"smith\"]");
    /* possessives */
    run_meta("I saw Bob's car", NULL, "[\"bob\"]");
    /* lone acronyms are entities, shouting is not */
    run_meta("We use NASA data and THIS IS SO GREAT", NULL, "[\"nasa\"]");
    run_meta("We use NASA. It works", NULL, "[\"nasa\"]");
    /* mentions and tags, without their sigil; not e-mail addresses or numbers */
    run_meta("ping @Carol_B about #Release-2 and #42, mail dave@example.com", NULL,
             "[\"carol_b\",\"release-2\"]");
    run_meta("@bob said hi", NULL, "[\"bob\"]");
    /* a tag is a cue too */
    near(run("Fix it #urgent").urgency, 1 - 0.7 * 0.6, "#urgent");
    /* de-duplicated, first kept */
    run_meta("I met Bob, then BOB again and @bob and #Bob", NULL, "[\"bob\"]");
}

static void test_entities_metadata(void **state)
{
    (void)state;
    run_meta("Talk to Acme Corp",
             "{\"entities\":[\"Acme Corp\"],\"tags\":[\"#Work\",\" urgent \",5,\"\",\"@Ann\"]}",
             "[\"acme corp\",\"work\",\"urgent\",\"ann\"]");
    run_meta("Nothing here", "{\"tags\":\"Solo\"}", "[\"solo\"]");
    run_meta("Nothing here", "{\"tags\":{\"a\":\"b\"},\"entities\":7}", "[]");
    /* metadata tags are entities, not cues */
    near(run_meta("Nothing here", "{\"tags\":[\"urgent\"]}", NULL).urgency, 0.3, "tag no cue");
}

static void test_entities_cap(void **state)
{
    (void)state;
    run_meta("I met Alpha, Bravo, Charlie, Delta, Echo, Foxtrot, Golf, Hotel, India, Juliett, "
             "Kilo, Lima, Mike, Nomad, Oscar, Papa, Quebec and Romeo",
             NULL,
             "[\"alpha\",\"bravo\",\"charlie\",\"delta\",\"echo\",\"foxtrot\",\"golf\","
             "\"hotel\",\"india\",\"juliett\",\"kilo\",\"lima\",\"mike\",\"nomad\",\"oscar\","
             "\"papa\"]");
    /* metadata entities come first and count toward the cap */
    eg_features f = run_meta("Then Zed",
                             "{\"entities\":[\"a1\",\"a2\",\"a3\",\"a4\",\"a5\",\"a6\","
                             "\"a7\",\"a8\",\"a9\",\"a10\",\"a11\",\"a12\",\"a13\","
                             "\"a14\",\"a15\",\"a16\"]}",
                             "[\"a1\",\"a2\",\"a3\",\"a4\",\"a5\",\"a6\",\"a7\",\"a8\",\"a9\","
                             "\"a10\",\"a11\",\"a12\",\"a13\",\"a14\",\"a15\",\"a16\"]");
    assert_int_equal(f.abstraction_level, 2); /* Zed still counts as concrete */
    /* an entity longer than the limit is dropped */
    char long_name[200];
    snprintf(long_name, sizeof long_name, "I met %s",
             "Abcdefghijklmnopqrstuvwxyzabcdefghijklmno"
             "pqrstuvwxyzabcdefghijklmnop and Bo");
    run_meta(long_name, NULL, "[\"bo\"]");
}

static void test_multibyte(void **state)
{
    (void)state;
    /* accented capitals, folding (ß -> ss), NFC composition of a decomposed é */
    run_meta("Déjà vu with Émile in Zürich, Łódź and Straße", NULL,
             "[\"émile\",\"zürich\",\"łódź\",\"strasse\"]");
    run_meta("I met E\xcc\x81mile", NULL, "[\"émile\"]");
    /* accented letters are letters: "naïve" is one word, no cue inside it */
    near(run("naïve résumé").valence, 0.0, "no cue");
    /* typographic apostrophes and no-break spaces */
    assert_int_equal(run("I’m so happy").sentiment, EG_SENT_POSITIVE);
    assert_int_equal(run("Don’t forget the keys").task_type, EG_TASK_TASK);
    run_meta("We flew to New\xc2\xa0York", NULL, "[\"new york\"]");
    /* CJK text is no entity and no cue; an emotion word beside it still counts */
    eg_features f = run_meta("今日はとても嬉しい happy", NULL, "[]");
    assert_int_equal(f.sentiment, EG_SENT_POSITIVE);
    /* invalid bytes only separate words */
    f = run_meta("so happy\xff\xfe today and Bob\xc3", NULL, "[\"bob\"]");
    assert_int_equal(f.sentiment, EG_SENT_POSITIVE);
    near(f.urgency, 1 - 0.7 * 0.8, "today after invalid bytes");
    /* a NUL byte is a separator */
    eg_features g;
    assert_int_equal(eg_features_compute("urgent\0urgent", 13, NULL, &g, NULL), 0);
    near(g.urgency, 1 - 0.7 * 0.6, "NUL separates");
}

static void test_buffer_cap(void **state)
{
    (void)state;
    eg_buf b;
    eg_buf_init(&b, 8);
    assert_int_equal(eg_buf_puts(&b, "ab"), 0);
    eg_features f;
    assert_int_equal(eg_features_compute("I met Alice and Bob today!", 26, NULL, &f, &b),
                     EG_ENOMEM);
    assert_string_equal(b.data, "ab");
    assert_int_equal(b.len, 2);
    near(f.urgency, 1 - 0.7 * 0.8, "features computed anyway");
    eg_buf_free(&b);
}

/* A word is looked at up to WORD_MAX (64) folded bytes: a 64-letter name is an entity, a
 * 65-letter one is no word we match (nor a prefix of it); ASCII words fold as they are scanned,
 * others (and ASCII words with a non-ASCII letter later on) through utf8proc. */
static void test_word_length_bound(void **state)
{
    (void)state;
    char text[128], want[128];
    memcpy(text, "so A", 4);
    memset(text + 4, 'b', 63);
    text[67] = '\0';
    want[0] = '[';
    want[1] = '"';
    want[2] = 'a';
    memset(want + 3, 'b', 63);
    memcpy(want + 66, "\"]", 3);
    run_meta(text, NULL, want);
    memcpy(text + 4, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", 65);
    text[69] = '\0';
    run_meta(text, NULL, "[]");
    /* "URGENT" and "Urgent" fold to the cue; "Urgentx" is another word */
    near(run("so URGENT").urgency, run("so urgent").urgency, "URGENT");
    near(run("so Urgentx").urgency, 0.3, "Urgentx");
    run_meta("so Zoë and Zoe", NULL, "[\"zoë\",\"zoe\"]");
    run_meta("ping @Jean-Luc and #To_Do", NULL, "[\"jean-luc\",\"to_do\"]");
}

/* A phrase matches when all its words before the last one stand just before it, in one clause:
 * two, three and four words, each missing or broken by punctuation in turn. */
static void test_phrase_words(void **state)
{
    (void)state;
    assert_int_equal(run("we would like to travel").task_type, EG_TASK_GOAL);
    assert_int_equal(run("we would really like to travel").task_type, EG_TASK_OBSERVATION);
    assert_int_equal(run("we like to travel").task_type, EG_TASK_OBSERVATION);
    assert_int_equal(run("would, like to travel").task_type, EG_TASK_OBSERVATION);
    assert_int_equal(run("I'd like to travel").task_type, EG_TASK_GOAL);
    assert_int_equal(run("we want to travel").task_type, EG_TASK_GOAL);
    assert_int_equal(run("we want. To travel").task_type, EG_TASK_OBSERVATION);
    near(run("send it as soon as possible").urgency, 1 - 0.7 * 0.6 * 0.9, "four words");
    near(run("send it so soon as possible").urgency, 1 - 0.7 * 0.9, "three of four");
    near(run("send it as soon, as possible").urgency, 1 - 0.7 * 0.9, "broken");
}

/* One space (or tab) between capitalised words joins them into one name, two do not; a space
 * keeps a negation and a phrase going, a comma ends them. */
static void test_space_gaps(void **state)
{
    (void)state;
    run_meta("we met Anna Lee", NULL, "[\"anna lee\"]");
    run_meta("we met Anna\tLee", NULL, "[\"anna lee\"]");
    run_meta("we met Anna  Lee", NULL, "[\"anna\",\"lee\"]");
    run_meta("we met Anna , Lee", NULL, "[\"anna\",\"lee\"]");
    assert_int_equal(run("not    happy").sentiment, EG_SENT_NEGATIVE);
    assert_int_equal(run("we  want   to travel").task_type, EG_TASK_GOAL);
    assert_int_equal(run("we want , to travel").task_type, EG_TASK_OBSERVATION);
}

/* Function words, negators, "please" and abbreviations carry no weight of their own: around a
 * cue they change only what their role says (negation, the imperative slot, a full stop that
 * does not end the sentence). */
static void test_roles_without_weights(void **state)
{
    (void)state;
    eg_features f = run_meta("the and of with a an to it is was", NULL, "[]");
    expect_defaults(&f);
    f = run_meta("The Of With", NULL, "[]");
    expect_defaults(&f);
    near(run("the the happy the").valence, run("happy").valence, "function words around a cue");
    assert_int_equal(run("not happy").sentiment, EG_SENT_NEGATIVE);
    assert_int_equal(run("please call the bank").task_type, EG_TASK_TASK);
    assert_int_equal(run("the call was long").task_type, EG_TASK_OBSERVATION);
    run_meta("ask Dr. Smith and Mr. Jones etc. Then call Ann", NULL,
             "[\"smith\",\"jones\",\"ann\"]");
}

static void test_deterministic_and_long(void **state)
{
    (void)state;
    static char text[40000];
    size_t n = 0;
    const char *piece = "URGENT: Call Bob at 10:30! I am not happy, the deadline is today. "
                        "How to fix it: first restart, then check the logs. If it fails, "
                        "I want to cry. ";
    while (n + strlen(piece) < sizeof text) {
        memcpy(text + n, piece, strlen(piece));
        n += strlen(piece);
    }
    eg_buf a, b;
    eg_buf_init(&a, 0);
    eg_buf_init(&b, 0);
    eg_features f1, f2;
    assert_int_equal(eg_features_compute(text, n, NULL, &f1, &a), 0);
    assert_int_equal(eg_features_compute(text, n, NULL, &f2, &b), 0);
    assert_memory_equal(&f1, &f2, sizeof f1);
    assert_string_equal(a.data, b.data);
    assert_string_equal(a.data, "[\"bob\"]");
    assert_true(f1.urgency <= 1.0 && f1.emotional_salience <= 1.0);
    assert_int_equal(f1.task_type, EG_TASK_GOAL);
    assert_int_equal(f1.knowledge_type, EG_KNOW_PROCEDURAL);
    eg_buf_free(&a);
    eg_buf_free(&b);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(eg_sentiment_name(EG_SENT_POSITIVE), "positive");
    assert_string_equal(eg_sentiment_name(EG_SENT_NEUTRAL), "neutral");
    assert_string_equal(eg_sentiment_name(EG_SENT_NEGATIVE), "negative");
    assert_string_equal(eg_task_type_name(EG_TASK_OBSERVATION), "observation");
    assert_string_equal(eg_task_type_name(EG_TASK_GOAL), "goal");
    assert_string_equal(eg_task_type_name(EG_TASK_TASK), "task");
    assert_string_equal(eg_task_type_name(EG_TASK_ACTION), "action");
    assert_string_equal(eg_knowledge_type_name(EG_KNOW_DECLARATIVE), "declarative");
    assert_string_equal(eg_knowledge_type_name(EG_KNOW_PROCEDURAL), "procedural");
    assert_string_equal(eg_knowledge_type_name(EG_KNOW_CONDITIONAL), "conditional");
    assert_string_equal(eg_region_name(EG_REGION_ASSOCIATION), "association");
    assert_string_equal(eg_region_name(EG_REGION_MOTOR), "motor");
    assert_string_equal(eg_region_name(EG_REGION_SENSORY), "sensory");
    assert_string_equal(eg_region_name(EG_REGION_PREFRONTAL), "prefrontal");
    assert_string_equal(eg_region_name((eg_region)42), "unknown");

    eg_sentiment s = EG_SENT_NEUTRAL;
    assert_true(eg_sentiment_parse("Positive", 8, &s));
    assert_int_equal(s, EG_SENT_POSITIVE);
    assert_false(eg_sentiment_parse("positiv", 7, &s));
    assert_false(eg_sentiment_parse("positives", 9, &s));
    assert_int_equal(s, EG_SENT_POSITIVE);
    eg_task_type t;
    assert_true(eg_task_type_parse("action", 6, &t));
    assert_int_equal(t, EG_TASK_ACTION);
    eg_knowledge_type k;
    assert_true(eg_knowledge_type_parse("CONDITIONAL", 11, &k));
    assert_int_equal(k, EG_KNOW_CONDITIONAL);
    eg_region r;
    assert_true(eg_region_parse("prefrontal", 10, &r));
    assert_int_equal(r, EG_REGION_PREFRONTAL);
    assert_false(eg_region_parse("", 0, &r));
}

static size_t words_in(const char *s)
{
    size_t n = 1;
    for (; *s; s++)
        n += *s == ' ';
    return n;
}

static const char *last_of(const char *s)
{
    const char *sp = strrchr(s, ' ');
    return sp ? sp + 1 : s;
}

static void check_entry(const eg_lex_entry *e)
{
    size_t n = strlen(e->text);
    assert_true(n > 0 && n < 48);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)e->text[i];
        bool ok = (c >= 'a' && c <= 'z') || c == '\'' || c == ' ' || c >= 0x80;
        if (!ok)
            print_error("bad character in \"%s\"\n", e->text);
        assert_true(ok);
    }
    assert_true(e->imp >= -100 && e->imp <= 100);
    assert_true(e->urg >= -100 && e->urg <= 100);
    assert_true(e->emo >= 0 && e->emo <= 100);
    assert_true(e->val >= -100 && e->val <= 100);
    assert_true(e->flags || e->imp || e->urg || e->emo || e->val);
}

/* Every word of the table is found when the text holds it: a listed word is never an entity, so
 * "so Word" (title case, not at a sentence start) yields none (a lookup that misses a word, e.g.
 * an index slot lost to a collision, makes it an entity). */
static void test_lexicon_words_found(void **state)
{
    (void)state;
    for (size_t i = 0; i < eg__lexicon_nwords; i++) {
        const char *w = eg__lexicon_words[i].text;
        if (strlen(w) < 2 || w[0] < 'a' || w[0] > 'z')
            continue;
        char text[80];
        snprintf(text, sizeof text, "so %c%s", w[0] - 'a' + 'A', w + 1);
        eg_buf b;
        eg_buf_init(&b, 0);
        eg_features f;
        assert_int_equal(eg_features_compute(text, strlen(text), NULL, &f, &b), 0);
        if (strcmp(b.data, "[]") != 0) {
            print_error("\"%s\" was not found in the lexicon: entities %s\n", w, b.data);
            fail();
        }
        eg_buf_free(&b);
    }
}

static void test_lexicon_tables(void **state)
{
    (void)state;
    assert_true(eg__lexicon_nwords + eg__lexicon_nphrases <= EG_LX_MAX_ENTRIES);
    for (size_t i = 0; i < eg__lexicon_nwords; i++) {
        const eg_lex_entry *e = &eg__lexicon_words[i];
        check_entry(e);
        assert_null(strchr(e->text, ' '));
        if (i && strcmp(eg__lexicon_words[i - 1].text, e->text) >= 0) {
            print_error("words not sorted or duplicated at \"%s\"\n", e->text);
            fail();
        }
    }
    for (size_t i = 0; i < eg__lexicon_nphrases; i++) {
        const eg_lex_entry *e = &eg__lexicon_phrases[i];
        check_entry(e);
        size_t w = words_in(e->text);
        assert_true(w >= 2 && w <= EG_LX_PHRASE_WORDS);
        assert_null(strstr(e->text, "  "));
        if (i) {
            const eg_lex_entry *p = &eg__lexicon_phrases[i - 1];
            int c = strcmp(last_of(p->text), last_of(e->text));
            if (c > 0 || (c == 0 && strcmp(p->text, e->text) >= 0)) {
                print_error("phrases not sorted or duplicated at \"%s\"\n", e->text);
                fail();
            }
        }
    }
    /* the thresholds keep neutral text neutral */
    assert_true(EG_LX_NEGATIVE_AT < 0 && EG_LX_POSITIVE_AT > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_importance),
        cmocka_unit_test(test_urgency),
        cmocka_unit_test(test_emotion_and_exclamation),
        cmocka_unit_test(test_negation),
        cmocka_unit_test(test_task_types),
        cmocka_unit_test(test_knowledge_types),
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_abstraction),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_entities_text),
        cmocka_unit_test(test_entities_metadata),
        cmocka_unit_test(test_entities_cap),
        cmocka_unit_test(test_multibyte),
        cmocka_unit_test(test_buffer_cap),
        cmocka_unit_test(test_word_length_bound),
        cmocka_unit_test(test_phrase_words),
        cmocka_unit_test(test_space_gaps),
        cmocka_unit_test(test_roles_without_weights),
        cmocka_unit_test(test_deterministic_and_long),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_lexicon_tables),
        cmocka_unit_test(test_lexicon_words_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
