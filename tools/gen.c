/*
 * gen.c — engram-gen, the project's deterministic data generator.
 *
 * Writes "memories" rows (id, content, created_at, updated_at, metadata) to stdout for three uses:
 * `sample` (the committed data/sample-memories.jsonl: realistic memories with the SPEC §5 edge
 * cases mixed in), `bench` (millions of rows fast, PostgreSQL COPY text by default, always loadable
 * into a jsonb column) and `edge` (the staging parity dataset around an explicit --now). Output
 * depends only on the arguments: the pseudo-randomness is splitmix64 seeded from xxhash of (seed,
 * stream, index), the arithmetic is integer-only and no wall clock is read, so equal arguments give
 * byte-identical output on every platform. It never touches a database or the store.
 */
#include "engram/error.h"
#include "util/buf.h"
#include "util/timeutil.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define USEC EG_USEC_PER_SEC
#define DAY EG_USEC_PER_DAY
#define HOUR (INT64_C(3600) * USEC)
#define MINUTE (INT64_C(60) * USEC)
#define FLUSH_AT ((size_t)1 << 20)
#define MAX_ROWS UINT64_C(100000000)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum { EXIT_USAGE = 2, EXIT_IO = 1 };
enum fmt { FMT_JSONL, FMT_CSV, FMT_PGTEXT };

/* ---- deterministic pseudo-randomness -------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next_u64(rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Uniform in [0, n) by multiply-shift (Lemire); n must be > 0. */
static uint32_t below(rng *r, uint32_t n)
{
    return (uint32_t)(((next_u64(r) >> 32) * (uint64_t)n) >> 32);
}

static int64_t between(rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(next_u64(r) % (uint64_t)(hi - lo + 1));
}

static bool chance(rng *r, uint32_t per_mille)
{
    return below(r, 1000) < per_mille;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A generator for one (stream, index) pair; streams keep unrelated decisions independent. */
static rng rng_for(uint64_t seed, uint64_t stream, uint64_t index)
{
    unsigned char key[16];
    put_le64(key, stream);
    put_le64(key + 8, index);
    return (rng){XXH64(key, sizeof key, seed)};
}

/* Stream tags (arbitrary constants). */
enum {
    S_SESSION = 1,
    S_ITEM,
    S_ROW,
    S_PICK,
    S_HOURS,
    S_UUID_SAMPLE,
    S_UUID_BENCH,
    S_UUID_EDGE,
};

/* A version-4-shaped UUID whose 122 free bits come from XXH3-128 of (stream, seed, index). When
 * tail >= 0 the last group is the decimal row number instead, so edge rows are easy to find. */
static void make_uuid(char out[37], uint64_t stream, uint64_t seed, uint64_t index, int64_t tail)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char key[24];
    put_le64(key, stream);
    put_le64(key + 8, seed);
    put_le64(key + 16, index);
    XXH128_hash_t h = XXH3_128bits(key, sizeof key);
    uint64_t hi = (h.high64 & ~UINT64_C(0xF000)) | UINT64_C(0x4000);
    uint64_t lo = (h.low64 & ~(UINT64_C(3) << 62)) | (UINT64_C(2) << 62);
    char digits[32];
    for (int i = 0; i < 16; i++) {
        digits[i] = hex[(hi >> (60 - 4 * i)) & 15];
        digits[16 + i] = hex[(lo >> (60 - 4 * i)) & 15];
    }
    if (tail >= 0) {
        uint64_t t = (uint64_t)tail;
        for (int i = 31; i >= 20; i--, t /= 10)
            digits[i] = (char)('0' + t % 10);
    }
    int o = 0;
    for (int i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20)
            out[o++] = '-';
        out[o++] = digits[i];
    }
    out[o] = '\0';
}

/* ---- output --------------------------------------------------------------------------------- */

static void die_nomem(void)
{
    fprintf(stderr, "engram-gen: out of memory\n");
    exit(EXIT_IO);
}

static void put(eg_buf *b, const char *s, size_t n)
{
    if (eg_buf_append(b, s, n))
        die_nomem();
}

static void puts_(eg_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void flush(eg_buf *out, bool force)
{
    if (out->len == 0 || (!force && out->len < FLUSH_AT))
        return;
    if (fwrite(out->data, 1, out->len, stdout) != out->len || (force && fflush(stdout) != 0)) {
        fprintf(stderr, "engram-gen: could not write to standard output: %s\n", strerror(errno));
        exit(EXIT_IO);
    }
    eg_buf_reset(out);
}

/* Number of code points in valid UTF-8 (what PostgreSQL's LENGTH() counts). */
static size_t cp_len(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

enum meta_kind { META_NULL, META_JSON, META_TEXT };

/* One output row. content NULL means SQL NULL. META_JSON holds valid JSON text; META_TEXT holds
 * text that is not JSON (only `sample` makes it; jsonb would reject it). */
typedef struct row {
    char id[37];
    const char *content;
    size_t content_len;
    int64_t created;
    bool has_updated;
    int64_t updated;
    enum meta_kind meta_kind;
    const char *meta;
    size_t meta_len;
} row;

static void put_time(eg_buf *b, int64_t us)
{
    char t[EG_TIME_BUFSZ];
    puts_(b, eg_time_format(us, t));
}

static void put_json_str(eg_buf *b, const char *s, size_t n)
{
    if (eg_buf_json_str(b, s, n))
        die_nomem();
}

static void put_csv(eg_buf *b, const char *s, size_t n)
{
    if (eg_buf_csv_field(b, s, n))
        die_nomem();
}

/* PostgreSQL COPY text escaping: backslash, tab, newline and carriage return. */
static void put_pgtext(eg_buf *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc;
        switch (s[i]) {
        case '\\':
            esc = "\\\\";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        default:
            continue;
        }
        put(b, s + start, i - start);
        put(b, esc, 2);
        start = i + 1;
    }
    put(b, s + start, n - start);
}

static void write_row(eg_buf *b, enum fmt f, const row *r)
{
    switch (f) {
    case FMT_JSONL:
        puts_(b, "{\"id\":\"");
        puts_(b, r->id);
        puts_(b, "\",\"content\":");
        if (r->content)
            put_json_str(b, r->content, r->content_len);
        else
            puts_(b, "null");
        puts_(b, ",\"created_at\":\"");
        put_time(b, r->created);
        puts_(b, "\",\"updated_at\":");
        if (r->has_updated) {
            puts_(b, "\"");
            put_time(b, r->updated);
            puts_(b, "\"");
        } else {
            puts_(b, "null");
        }
        puts_(b, ",\"metadata\":");
        if (r->meta_kind == META_JSON)
            put(b, r->meta, r->meta_len);
        else if (r->meta_kind == META_TEXT)
            put_json_str(b, r->meta, r->meta_len);
        else
            puts_(b, "null");
        puts_(b, "}\n");
        break;
    case FMT_CSV:
        puts_(b, r->id);
        puts_(b, ",");
        if (r->content && r->content_len == 0)
            puts_(b, "\"\""); /* quoted empty string: empty, not NULL */
        else if (r->content)
            put_csv(b, r->content, r->content_len);
        puts_(b, ",");
        put_time(b, r->created);
        puts_(b, ",");
        if (r->has_updated)
            put_time(b, r->updated);
        puts_(b, ",");
        if (r->meta_kind != META_NULL)
            put_csv(b, r->meta, r->meta_len);
        puts_(b, "\n");
        break;
    case FMT_PGTEXT:
        puts_(b, r->id);
        puts_(b, "\t");
        if (r->content)
            put_pgtext(b, r->content, r->content_len);
        else
            puts_(b, "\\N");
        puts_(b, "\t");
        put_time(b, r->created);
        puts_(b, "\t");
        if (r->has_updated)
            put_time(b, r->updated);
        else
            puts_(b, "\\N");
        puts_(b, "\t");
        if (r->meta_kind != META_NULL)
            put_pgtext(b, r->meta, r->meta_len);
        else
            puts_(b, "\\N");
        puts_(b, "\n");
        break;
    }
}

static void write_header(eg_buf *b, enum fmt f)
{
    if (f == FMT_CSV)
        puts_(b, "id,content,created_at,updated_at,metadata\n");
}

/* ---- vocabulary: a recurring cast so that concepts recur and associate ---------------------- */

static const char *const people[] = {
    "Maya", "Jonas",    "Priya", "Tom",    "Aiko",  "Lena", "Omar",   "Sofia", "Zoë",
    "José", "Chen Wei", "Björn", "Amélie", "Kwame", "Noor", "Dmitri", "Mom",   "Dr. Keller",
};

static const char *const places[] = {
    "the Berlin office", "home",    "Café Grünewald",       "the library", "Zürich",   "São Paulo",
    "東京 office",       "the gym", "the co-working space", "Kraków",      "the park", "the train",
};

typedef struct project {
    const char *name;    /* as written in prose */
    const char *short_;  /* in fragments */
    const char *concept; /* in metadata concepts */
    const char *tag;     /* in metadata tags */
    int weight;
    unsigned char team[3]; /* indexes into people[] */
    const char *topics[6];
} project;

static const project projects[] = {
    {"the Atlas migration",
     "Atlas",
     "atlas",
     "work",
     14,
     {0, 1, 9},
     {"schema change", "replication lag", "cutover plan", "rollback script", "index rebuild",
      "connection pool"}},
    {"the Beacon app",
     "Beacon",
     "beacon",
     "work",
     11,
     {2, 4, 12},
     {"push notifications", "onboarding flow", "crash reports", "release build", "dark mode",
      "app store review"}},
    {"the Orion dashboard",
     "Orion",
     "orion",
     "work",
     9,
     {3, 6, 15},
     {"query latency", "retention chart", "data freshness", "SQL views", "weekly report",
      "alert rules"}},
    {"engram",
     "engram",
     "engram",
     "work",
     10,
     {0, 10, 13},
     {"working memory", "consolidation", "concept graph", "recall ranking", "staging SQL",
      "Hebbian weights"}},
    {"my thesis",
     "thesis",
     "thesis",
     "study",
     8,
     {7, 11, 14},
     {"literature review", "chapter three", "experiment results", "advisor feedback",
      "bibliography", "defense slides"}},
    {"the kitchen renovation",
     "kitchen",
     "kitchen renovation",
     "home",
     6,
     {16, 8, 3},
     {"tile samples", "plumber quote", "cabinet order", "budget sheet", "electrician visit",
      "countertop"}},
    {"marathon training",
     "marathon",
     "marathon",
     "health",
     6,
     {5, 8, 17},
     {"long run", "interval session", "shin splints", "race pace", "recovery week", "new shoes"}},
    {"the Lisbon trip",
     "Lisbon trip",
     "lisbon",
     "travel",
     5,
     {5, 16, 7},
     {"flight tickets", "hotel booking", "day trip to Sintra", "packing list", "restaurant list",
      "travel insurance"}},
    {"the garden",
     "garden",
     "garden",
     "home",
     4,
     {16, 12, 4},
     {"tomato seedlings", "compost bin", "drip irrigation", "raised bed", "pruning", "seed order"}},
    {"Nebula onboarding",
     "Nebula",
     "nebula",
     "work",
     7,
     {6, 2, 14},
     {"welcome email", "first-week checklist", "buddy program", "laptop setup", "access requests",
      "feedback survey"}},
    {"the 2027 budget",
     "budget",
     "budget 2027",
     "work",
     6,
     {15, 3, 1},
     {"headcount plan", "cloud costs", "travel budget", "vendor contracts", "forecast",
      "savings target"}},
    {"the book club",
     "book club",
     "book club",
     "personal",
     4,
     {11, 7, 13},
     {"next pick", "discussion questions", "meeting date", "snack list", "member survey",
      "reading pace"}},
};

static const char *const weekdays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                       "Friday", "Saturday", "Sunday"};
static const char *const deadlines[] = {
    "by Friday", "by tomorrow", "by end of day", "before Monday",      "by the 15th",
    "next week", "this week",   "by Thursday",   "before the offsite", "by noon",
};
static const char *const moods[] = {"tired",   "upbeat", "distracted", "relieved",
                                    "anxious", "quiet",  "energetic",  "stressed"};
static const char *const books[] = {
    "Thinking, Fast and Slow", "The Shallows",        "Deep Work",
    "How to Take Smart Notes", "Why We Sleep",        "Moonwalking with Einstein",
    "Les Misérables",          "ノルウェイの森",      "Der Zauberberg",
    "Cien años de soledad",    "The Art of Learning", "Make It Stick",
};
static const char *const reading_topics[] = {
    "spaced repetition",  "attention",   "sleep and memory",  "deliberate practice",
    "habit loops",        "note-taking", "forgetting curves", "working memory limits",
    "retrieval practice", "chunking",
};
static const char *const quotes[] = {
    "Memory is the residue of thought.",
    "We forget most of what we read within a day.",
    "Attention is the beginning of devotion.",
    "What gets rehearsed gets remembered.",
    "The palest ink is better than the best memory.",
};
static const char *const errands[] = {
    "buy oat milk",
    "pick up dry cleaning",
    "call {B} back",
    "book the dentist (Dr. Keller)",
    "return library books",
    "pay the electricity bill",
    "renew passport",
    "buy a birthday gift for {B}",
    "groceries: eggs, spinach, coffee",
    "water the plants",
    "fix the bike light",
    "send the rent transfer",
    "order printer ink",
    "take out recycling",
};

/* ---- templates ----------------------------------------------------------------------------------
 * Placeholders: {A} {B} people, {P} project, {p} its short name, {T} a topic of the project,
 * {L} place, {D} deadline, {W} weekday, {H} clock time, {N} 2..12, {E} errand, {M} mood, {K} book,
 * {R} reading topic, {Q} quote. Anything else in braces (a regex's {4}) is copied as is. */

enum kind {
    K_NOTE,
    K_PLAN,
    K_CHAT,
    K_OBSERVATION,
    K_DECISION,
    K_MEETING,
    K_READING,
    K_ERRAND,
    K_JOURNAL,
    K_COUNT
};

/* Session kinds: weight, and min/max items per working session. */
static const struct {
    int weight, min_items, max_items;
    const char *source;
} kinds[K_COUNT] = {
    [K_NOTE] = {15, 1, 3, "notes-app"},  [K_PLAN] = {14, 1, 3, "planner"},
    [K_CHAT] = {25, 3, 8, "chat"},       [K_OBSERVATION] = {10, 1, 2, "notes-app"},
    [K_DECISION] = {7, 1, 2, "meeting"}, [K_MEETING] = {8, 2, 4, "meeting-notes"},
    [K_READING] = {8, 1, 3, "kindle"},   [K_ERRAND] = {9, 1, 4, "reminders"},
    [K_JOURNAL] = {4, 1, 2, "journal"},
};

typedef struct tset {
    const char *const *frag; /* short: most expand below 50 characters */
    size_t n_frag;
    const char *const *open; /* an opening sentence; fillers extend it */
    size_t n_open;
    const char *const *fill; /* kind-specific fillers (generic ones are mixed in) */
    size_t n_fill;
} tset;

static const char *const note_frag[] = {
    "{p}: check {T}",          "{T} — ask {A}", "idea: {T} for {p}", "{A} re {T}",
    "note to self: {T}",       "{p} {T} ok?",   "remember the {T}",  "{T}!!",
    "{A} has the {T} numbers",
};
static const char *const note_open[] = {
    "Note on {P}: the {T} is taking longer than planned, and {A} thinks the {T} is the real "
    "bottleneck.",
    "Quick note after talking to {A}: the {T} for {P} needs another pass before we show it to {B}.",
    "Jotting this down before I forget — {A} suggested we look at the {T} again, since it keeps "
    "coming up in {P}.",
    "Working on {P} at {L}. Got through the {T}; still stuck on the {T}.",
    "Export path for {p} is C:\\Users\\maya\\exports\\{p}-{N}.csv — remember the backslashes.",
    "Pasted from the sheet: {T}\t{N}00 EUR\t{A}",
    "Regex for the {p} log dates: ^\\d{4}-\\d{2}-\\d{2}$ (works for the {T} export too).",
    "Important: the {T} for {P} must not go out before {A} signs off.",
};
static const char *const note_fill[] = {
    "The {T} should probably come first.",
    "{B} disagrees, which is fair.",
    "Numbers from {W}: {N} issues open, {N} closed.",
    "Check the {T} logs again tomorrow.",
};

static const char *const plan_frag[] = {
    "Need to email {A} {D}", "todo: {T} ({p})", "plan: {T} on {W}", "finish the {T} {D}", "{E}",
    "prep {p} for {W}",
};
static const char *const plan_open[] = {
    "I want to get the {T} for {P} done {D}, so that {A} can review it before {W}.",
    "Need to finish the {T} {D} — {A} is waiting on it.",
    "Plan for {W}:\n- {T}\n- call {A} about {p}\n- {E}",
    "I want to start on the {T} next week; first step is asking {B} what went wrong last time.",
    "Goal for this month: ship the {T} for {P} and stop procrastinating on the {T}.",
    "Need to book time with {A} and {B} {D} to settle the {T}.",
    "I want to worry less about {P}. Concretely: one focused hour on the {T} every morning.",
};
static const char *const plan_fill[] = {
    "If that slips, the {T} slips too.",
    "Block two hours on {W} morning for it.",
    "Ask {B} whether the {T} can wait.",
    "Then {E}.",
};

static const char *const user_frag[] = {
    "user: what's next for {p}?",    "user: thanks!",
    "user: remind me about the {T}", "user: ok, do it",
    "user: summarize {p}",           "user: and the {T}?",
    "user: who owns the {T}?",
};
static const char *const user_open[] = {
    "user: Can you summarize where we are with the {T} for {P}?",
    "user: How should I approach the {T}? {A} wants it {D}.",
    "user: Draft a message to {A} about the {T} — keep it short.",
    "user: What did we decide about the {T} last {W}?",
    "user: I'm frustrated! The {T} broke again. What should I check first?",
    "user: Remind me {D} to follow up with {B} on {p}.",
    "user: Compare the {T} and the {T} for {P}; which one should come first?",
};
static const char *const user_fill[] = {
    "Also, {B} asked about it this morning.",
    "It has to work before {W}.",
    "Keep in mind the {T} is still flaky.",
};
static const char *const asst_frag[] = {
    "assistant: Done — reminder set.",
    "assistant: Sure, noted.",
    "assistant: Noted for {W}.",
    "assistant: Sent to {A}.",
};
static const char *const asst_open[] = {
    "assistant: Here is a short summary of {P}: the {T} is on track, the {T} is blocked on {A}, "
    "and the next milestone is {W}.",
    "assistant: You could start with the {T}; it unblocks the {T}, and {A} already has context.",
    "assistant: Draft for {A}: \"Hi {A}, quick update on the {T} — we are close, I will send "
    "details {D}.\"",
    "assistant: Last {W} you decided to postpone the {T} and to ask {B} for a second opinion.",
    "assistant: I set a reminder for {W} at {H} to follow up with {B} about {p}.",
    "assistant: The first thing to check is the {T}; most failures like this come from there.",
};
static const char *const asst_fill[] = {
    "Step {N}: review the {T} and note anything unusual.",
    "If the {T} still fails, roll back and compare with the {T}.",
    "I can also set a reminder for {W}.",
    "Want me to draft the follow-up to {B}?",
    "{A} mentioned a similar issue with the {T} a few weeks ago.",
    "As a rule of thumb, fix the {T} before touching the {T}.",
};

static const char *const obs_frag[] = {
    "{A} seemed {M} today", "{p} build green again", "slept badly",
    "rain all day at {L}",  "{T} slower again",      "busy day at {L}",
};
static const char *const obs_open[] = {
    "{A} seemed {M} during the {p} standup; might be the {T}.",
    "Noticed that the {T} gets slow every morning around {H}.",
    "The {T} numbers for {P} look better than last week.",
    "It's quiet at {L} today, good for deep work on the {T}.",
    "Interesting: {B} and {A} both brought up the {T} without being asked.",
};
static const char *const obs_fill[] = {
    "Could be a coincidence.",
    "Worth watching for another week.",
    "Same pattern as on {W}.",
    "{B} noticed it too.",
};

static const char *const dec_frag[] = {
    "decided: {T} waits",
    "go with option B ({p})",
    "{A} owns the {T} now",
};
static const char *const dec_open[] = {
    "We decided to postpone the {T} until {W}; {A} will tell {B}.",
    "We decided {A} owns the {T} for {P} from now on.",
    "Decision: go with the simpler {T} and revisit after launch.",
    "We decided to cut the {T} from the first release of {P}. Important: tell {B}.",
    "After a long discussion with {A} we decided to keep the {T} as is.",
    "Critical decision for {P}: the {T} ships {D}, no matter what.",
};
static const char *const dec_fill[] = {
    "{B} was not thrilled but agreed.",
    "We will revisit on {W}.",
    "The risk is the {T}, and we accept it.",
    "Writing it down so we stop reopening it.",
};

static const char *const meet_open[] = {
    "Meeting notes — {P} sync at {L}, {W} {H}.\nAttendees: {A}, {B}, me.\nAgenda: {T}; {T}; "
    "open questions.",
    "1:1 with {A} ({W}). Topics: {T}, {P} timeline, how {B} is doing.",
    "Weekly {p} review, {W} {H} at {L}. Present: {A}, {B}. Main topic: the {T}.",
};
static const char *const meet_fill[] = {
    "- {A} reported that the {T} is about {N} days behind.",
    "- {B} raised the {T} again; we need an owner.",
    "- Discussed the {T} at length; no conclusion yet.",
    "- Action item: {A} to follow up on the {T} {D}.",
    "- Action item: I will {E} and send the notes.",
    "- Risk: the {T} depends on the {T}.",
    "- Decision: keep the scope, move the date to {W}.",
    "- {A} will pair with {B} on the {T}.",
    "- Open question: do we still need the {T}?",
    "- {B} is worried about the {T}; agreed to check it {D}.",
    "- Status of the {T}: green. Status of the {T}: amber.",
    "- Budget for the {T} is fine for now.",
    "- We agreed to demo the {T} on {W}.",
    "- {A} asked for help with the {T}.",
    "- Parking lot: the {T}, to discuss next time.",
    "- Next meeting: {W} {H} at {L}.",
};

static const char *const read_frag[] = {
    "reading \"{K}\" p.{N}0",
    "finish \"{K}\"",
    "{R} — reread ch. {N}",
};
static const char *const read_open[] = {
    "Reading notes — \"{K}\": the chapter on {R} argues that we overestimate how much we retain.",
    "Finished \"{K}\". Key idea: {R} matters more than I thought.",
    "Quote from \"{K}\": \"{Q}\"",
    "Started \"{K}\" on the train; {A} recommended it at {L}.",
};
static const char *const read_fill[] = {
    "This connects to {P}: maybe the {T} could use the same idea.",
    "{A} recommended this book at {L}.",
    "I should reread the part about {R}.",
    "The author's point about {R} is convincing, the part about {R} less so.",
    "\"{Q}\" — worth remembering.",
};

static const char *const err_frag[] = {
    "{E}", "{E}", "{E}", "{E}, {E}", "don't forget: {E}",
};
static const char *const err_open[] = {
    "Errands for {W}: {E}, {E}, and {E}.",
    "Don't forget: {E} before {H}, then {E}.",
    "Reminder from {A}: {E} {D}.",
};
static const char *const err_fill[] = {
    "Also {E}.",
    "And {E} if there is time.",
    "Shops close at {H} on {W}.",
};

static const char *const jour_frag[] = {
    "so tired today", "good day!", "frustrated!", "I'm thrilled 🎉", "ugh, {p} again",
};
static const char *const jour_open[] = {
    "I'm thrilled — {P} finally works end to end! {A} and I celebrated at {L}.",
    "So frustrated! The {T} failed again and I lost the whole afternoon.",
    "Feeling anxious about the {T}; the deadline is {D} and I'm not sure we'll make it.",
    "Really grateful for {A} today. They made the {T} feel manageable.",
    "Honestly exhausted. Too many meetings about {P} and no time for the {T}.",
    "Proud of how the {T} turned out. Took forever, but it is good work.",
};
static const char *const jour_fill[] = {
    "I need to remember that this always feels worse in the moment.",
    "Tomorrow: start with the hardest thing.",
    "Talked to {B} about it; it helped a lot.",
    "Went for a walk in the park afterwards.",
    "Note to future me: sleep more.",
};

static const char *const generic_fill[] = {
    "{A} mentioned that the {T} is blocked by the {T}.",
    "Open question: who owns the {T} after {W}?",
    "{A} wants a decision on the {T} {D}.",
    "Honestly the {T} is more work than it looks.",
    "The notes from {L} say the same thing about the {T}.",
    "If we drop the {T}, {B} has to redo part of it.",
    "Try a smaller version of the {T} first and measure.",
    "{B} sent a long message about the {T}; reply {D}.",
    "The {T} came up three times this week.",
    "I keep underestimating the {T}.",
    "There is a good summary of the {T} in the shared folder.",
    "Ask {A} for the numbers behind the {T}.",
    "Maybe pair with {B} on the {T} on {W}.",
    "Not sure the {T} is worth it yet.",
    "Good progress on the {T}, slow progress on the {T}.",
    "{A} is out on {W}, so plan around that.",
    "The {T} and the {T} should be reviewed together.",
    "Reminder: {E}.",
    "Write a short summary for {B} once the {T} is done.",
    "Check whether the {T} is still needed at all.",
    "Next step: {E}.",
    "The {T} estimate went from {N} to {N} days.",
    "Need to loop in {B} before we commit to anything.",
    "This is important for {P}.",
    "Worth checking how the {T} interacts with the {T}.",
    "Last time we tried this, the {T} caused problems for {B}.",
    "{B} will be at {L} on {W}, so that is the best time to discuss it.",
    "Keep it simple; the {T} can wait.",
    "{A} and {B} see the {T} differently, and both have a point.",
    "Remember to write down what we learned from the {T}.",
};

/* Other languages and scripts, so that multibyte UTF-8 is common in realistic places. */
static const char *const intl_open[] = {
    "明日{A}さんと{p}の打ち合わせ。{T}について確認する。",
    "记得{D}之前把{T}发给{A}。",
    "Réunion avec {A} à {L} : très productive, on a réglé le {T}.",
    "Müssen die {T} bis Freitag fertig haben — {A} wartet schon.",
    "Reunión con {B} mañana sobre {p}; llevar el informe del {T}.",
    "오늘 {A}와 {p} 회의. 다음 주까지 {T} 정리하기.",
    "Встреча с {A} в {H}: обсудить {T}.",
    "🎉🎉 {p} shipped! ☕ with {A} at {L} 🙌",
    "東京での会議メモ：{T}、{T}、次回は{W}。",
};

static const char *const frag_suffix[] = {" !!", " 🎉", " (urgent)", " asap", " 😅", " — important"};
static const char *const urgent_prefix[] = {"Urgent: ", "ASAP: ", "Critical — ", "Important: "};
static const char *const emo_suffix[] = {
    " This is urgent!",
    " Deadline is {D}.",
    " I'm thrilled about this!",
    " Frustrated!",
    " Really worried about it.",
    " 🎉",
    " 😅",
    " Need this asap.",
    " So happy with how it went!",
};

#define TS(f, o, l)                                                                                \
    {                                                                                              \
        f, COUNT(f), o, COUNT(o), l, COUNT(l)                                                      \
    }
static const tset tsets[] = {
    [K_NOTE] = TS(note_frag, note_open, note_fill),
    [K_PLAN] = TS(plan_frag, plan_open, plan_fill),
    [K_CHAT] = TS(user_frag, user_open, user_fill),
    [K_OBSERVATION] = TS(obs_frag, obs_open, obs_fill),
    [K_DECISION] = TS(dec_frag, dec_open, dec_fill),
    [K_MEETING] = TS(note_frag, meet_open, meet_fill),
    [K_READING] = TS(read_frag, read_open, read_fill),
    [K_ERRAND] = TS(err_frag, err_open, err_fill),
    [K_JOURNAL] = TS(jour_frag, jour_open, jour_fill),
};
static const tset asst_set = TS(asst_frag, asst_open, asst_fill);

/* ---- content composition -------------------------------------------------------------------- */

enum cls { C_FRAGMENT, C_EPISODE, C_NARRATIVE, C_DOCUMENT };

/* Who and what one working session is about. */
typedef struct session {
    uint8_t kind, size, project, a, b, place;
} session;

typedef struct ctx {
    const session *s;
    rng *r;
    int last_topic; /* so that "{T} ... {T}" names two different topics */
} ctx;

#define PICK(r, arr) ((arr)[below((r), (uint32_t)COUNT(arr))])

static void expand(eg_buf *b, const char *tpl, ctx *c, int depth)
{
    rng *r = c->r;
    const project *p = &projects[c->s->project];
    const char *q = tpl;
    while (*q) {
        const char *br = strchr(q, '{');
        if (!br) {
            puts_(b, q);
            return;
        }
        put(b, q, (size_t)(br - q));
        if (!br[1] || br[2] != '}') {
            put(b, br, 1);
            q = br + 1;
            continue;
        }
        char tmp[32];
        switch (br[1]) {
        case 'A':
            puts_(b, people[c->s->a]);
            break;
        case 'B':
            puts_(b, people[c->s->b]);
            break;
        case 'P':
            puts_(b, p->name);
            break;
        case 'p':
            puts_(b, p->short_);
            break;
        case 'T': {
            int k = (int)below(r, 6);
            if (k == c->last_topic)
                k = (k + 1 + (int)below(r, 5)) % 6;
            c->last_topic = k;
            puts_(b, p->topics[k]);
            break;
        }
        case 'L':
            puts_(b, places[c->s->place]);
            break;
        case 'D':
            puts_(b, PICK(r, deadlines));
            break;
        case 'W':
            puts_(b, PICK(r, weekdays));
            break;
        case 'M':
            puts_(b, PICK(r, moods));
            break;
        case 'K':
            puts_(b, PICK(r, books));
            break;
        case 'R':
            puts_(b, PICK(r, reading_topics));
            break;
        case 'Q':
            puts_(b, PICK(r, quotes));
            break;
        case 'H':
            snprintf(tmp, sizeof tmp, "%02u:%s", 8 + below(r, 11), below(r, 2) ? "30" : "00");
            puts_(b, tmp);
            break;
        case 'N':
            snprintf(tmp, sizeof tmp, "%u", 2 + below(r, 11));
            puts_(b, tmp);
            break;
        case 'E':
            if (depth < 2)
                expand(b, PICK(r, errands), c, depth + 1);
            break;
        default:
            put(b, br, 3);
            break;
        }
        q = br + 3;
    }
}

/* Index of a template not used yet in this text among n (n <= 64); all are fresh again once every
 * one has been used. Keeps long memories from repeating a sentence. */
static size_t fresh(rng *r, size_t n, uint64_t *used)
{
    uint64_t all = n >= 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
    if ((*used & all) == all)
        *used = 0;
    size_t k = below(r, (uint32_t)n);
    while (*used & (UINT64_C(1) << k))
        k = (k + 1) % n;
    *used |= UINT64_C(1) << k;
    return k;
}

/* Class bounds in characters: [lo, hi]. */
static const int cls_lo[] = {1, 50, 200, 500};
static const int cls_hi[] = {49, 199, 499, 1200};

/* Picks a length class from per-mille weights {fragment, episode, narrative, document}. */
static enum cls pick_cls(rng *r, const int w[4])
{
    int x = (int)below(r, 1000);
    for (int i = 0; i < 3; i++) {
        if (x < w[i])
            return (enum cls)i;
        x -= w[i];
    }
    return C_DOCUMENT;
}

/* Writes one memory's text into b (reset first): an opening sentence of the item's kind, then
 * fillers until the length class's target is reached, without overshooting the class. */
static void compose(eg_buf *b, const session *s, int turn, rng *r)
{
    static const int w_default[4] = {230, 470, 220, 80};
    static const int w_user[4] = {300, 600, 100, 0};
    static const int w_asst[4] = {80, 370, 400, 150};
    static const int w_meet0[4] = {0, 0, 450, 550};
    static const int w_errand[4] = {750, 250, 0, 0};
    static const int w_read[4] = {150, 300, 400, 150};
    static const int w_journal[4] = {100, 300, 450, 150};
    static const int w_obs[4] = {250, 550, 200, 0};

    ctx c = {s, r, -1};
    eg_buf_reset(b);
    const tset *t = &tsets[s->kind];
    const int *w = w_default;
    bool pair = false;
    switch (s->kind) {
    case K_CHAT:
        if (turn % 2) {
            t = &asst_set;
            w = w_asst;
        } else {
            w = w_user;
            pair = chance(r, 100);
        }
        break;
    case K_MEETING:
        if (turn == 0) {
            w = w_meet0;
        } else {
            t = &tsets[chance(r, 500) ? K_DECISION : K_PLAN];
        }
        break;
    case K_ERRAND:
        w = w_errand;
        break;
    case K_READING:
        w = w_read;
        break;
    case K_JOURNAL:
        w = w_journal;
        break;
    case K_OBSERVATION:
        w = w_obs;
        break;
    default:
        break;
    }
    enum cls k = pick_cls(r, w);
    if (pair && k < C_NARRATIVE)
        k = C_NARRATIVE;

    if (k == C_FRAGMENT) {
        for (int attempt = 0; attempt < 4; attempt++) {
            eg_buf_reset(b);
            expand(b, t->frag[below(r, (uint32_t)t->n_frag)], &c, 0);
            if (cp_len(b->data, b->len) < 50)
                break;
        }
        if (chance(r, 60))
            puts_(b, PICK(r, frag_suffix));
        return;
    }

    /* Target inside the class, skewed towards its lower end (min of two uniform draws). */
    int lo = cls_lo[k], hi = cls_hi[k];
    int t1 = (int)between(r, lo, hi), t2 = (int)between(r, lo, hi);
    size_t target = (size_t)(t1 < t2 ? t1 : t2);

    bool intl = chance(r, 15);
    if (!intl && s->kind != K_CHAT && chance(r, 70))
        puts_(b, PICK(r, urgent_prefix));
    expand(b, intl ? PICK(r, intl_open) : t->open[below(r, (uint32_t)t->n_open)], &c, 0);
    if (pair) {
        puts_(b, "\n");
        expand(b, PICK(r, asst_open), &c, 0);
    }
    /* Meeting notes and lists go on line by line; prose continues the paragraph. */
    const char *sep =
        (s->kind == K_MEETING && turn == 0) || (!pair && memchr(b->data, '\n', b->len)) ? "\n"
                                                                                        : " ";
    size_t cps = cp_len(b->data, b->len);
    uint64_t used_kind = 0, used_generic = 0;
    bool meeting_notes = t == &tsets[K_MEETING] && turn == 0;
    for (int guard = 0; cps < target && guard < 64; guard++) {
        size_t prev_len = b->len, prev_cps = cps;
        puts_(b, sep);
        const char *f;
        if (meeting_notes || chance(r, 400))
            f = t->fill[fresh(r, t->n_fill, &used_kind)];
        else
            f = generic_fill[fresh(r, COUNT(generic_fill), &used_generic)];
        expand(b, f, &c, 0);
        cps = prev_cps + cp_len(b->data + prev_len, b->len - prev_len);
        if ((int)cps > hi && (int)prev_cps >= lo) {
            b->len = prev_len; /* that sentence would leave the class: drop it */
            b->data[b->len] = '\0';
            break;
        }
    }
    if (chance(r, 70))
        expand(b, PICK(r, emo_suffix), &c, 0);
}

/* ---- sessions and their timing -------------------------------------------------------------- */

typedef struct item {
    int64_t t;
    uint32_t session;
    uint32_t turn;
} item;

static int item_cmp(const void *x, const void *y)
{
    const item *a = x, *b = y;
    if (a->t != b->t)
        return a->t < b->t ? -1 : 1;
    if (a->session != b->session)
        return a->session < b->session ? -1 : 1;
    return (a->turn > b->turn) - (a->turn < b->turn);
}

/* Relative activity by hour of day (busy from 9 to 18, quiet at night). */
static const int hour_weight[24] = {3,  2,  1,   1,   1,  3,  10, 30, 60, 100, 100, 95,
                                    70, 80, 100, 100, 90, 70, 45, 35, 40, 35,  20,  8};

/* Division rounding towards minus infinity, so that times before 1970 fall in the right hour. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int pick_weighted(rng *r, const int *w, int n, int total)
{
    int x = (int)below(r, (uint32_t)total);
    for (int i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* Builds working sessions totalling exactly n items over [start, end) and returns the items
 * sorted by time. Session starts follow a weighted hour-by-hour profile (weekdays and daytime
 * denser, each day busier or calmer at random, more activity recently); items inside a session
 * follow each other by a minute or a few, so a session lasts 5-40 minutes. */
static item *plan_items(uint64_t seed, uint64_t n, int64_t start, int64_t end, session **out_s)
{
    int kind_w[K_COUNT], kind_total = 0, proj_w[COUNT(projects)], proj_total = 0;
    for (int k = 0; k < K_COUNT; k++)
        kind_total += kind_w[k] = kinds[k].weight;
    for (size_t p = 0; p < COUNT(projects); p++)
        proj_total += proj_w[p] = projects[p].weight;

    size_t cap = 1024, ns = 0;
    session *ss = malloc(cap * sizeof *ss);
    if (!ss)
        die_nomem();
    uint64_t have = 0;
    rng r = rng_for(seed, S_SESSION, 0);
    while (have < n) {
        if (ns == cap) {
            cap *= 2;
            session *grown = realloc(ss, cap * sizeof *ss);
            if (!grown)
                die_nomem();
            ss = grown;
        }
        session *s = &ss[ns++];
        s->kind = (uint8_t)pick_weighted(&r, kind_w, K_COUNT, kind_total);
        s->project = (uint8_t)pick_weighted(&r, proj_w, (int)COUNT(projects), proj_total);
        s->a = chance(&r, 800) ? projects[s->project].team[below(&r, 3)]
                               : (uint8_t)below(&r, COUNT(people));
        do
            s->b = chance(&r, 600) ? projects[s->project].team[below(&r, 3)]
                                   : (uint8_t)below(&r, COUNT(people));
        while (s->b == s->a);
        s->place = (uint8_t)below(&r, COUNT(places));
        uint64_t size = (uint64_t)between(&r, kinds[s->kind].min_items, kinds[s->kind].max_items);
        if (size > n - have)
            size = n - have;
        s->size = (uint8_t)size;
        have += size;
    }

    /* Hourly weights over the span, as a cumulative table. */
    int64_t hours = (end - start) / HOUR;
    if (hours < 1)
        hours = 1;
    uint64_t *cum = malloc((size_t)hours * sizeof *cum);
    if (!cum)
        die_nomem();
    uint64_t total = 0;
    int day_factor = 100;
    for (int64_t h = 0; h < hours; h++) {
        int64_t t = start + h * HOUR;
        int64_t day = floor_div(t, DAY);
        int hour_of_day = (int)(floor_div(t, HOUR) - day * 24);
        if (h == 0 || hour_of_day == 0) {
            rng dr = rng_for(seed, S_HOURS, (uint64_t)day);
            int weekday = (int)(((day % 7) + 7 + 3) % 7); /* 0 = Monday; 1970-01-01 a Thursday */
            day_factor = (int)between(&dr, 30, 170) * (weekday < 5 ? 100 : 40) / 100;
        }
        uint64_t trend = 70 + (uint64_t)(60 * h / hours); /* more memories recently */
        total += (uint64_t)hour_weight[hour_of_day] * (uint64_t)day_factor * trend;
        cum[h] = total;
    }

    item *items = malloc((size_t)(n ? n : 1) * sizeof *items);
    if (!items)
        die_nomem();
    size_t ni = 0;
    for (size_t i = 0; i < ns; i++) {
        rng sr = rng_for(seed, S_SESSION, i + 1);
        uint64_t x = next_u64(&sr) % total;
        size_t lo = 0, hi = (size_t)hours - 1;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cum[mid] > x)
                hi = mid;
            else
                lo = mid + 1;
        }
        int64_t t = start + (int64_t)lo * HOUR + between(&sr, 0, 3599) * USEC;
        bool chat = ss[i].kind == K_CHAT;
        for (uint32_t k = 0; k < ss[i].size; k++) {
            if (k)
                t += between(&sr, chat ? 40 : 90, chat ? 300 : 720) * USEC;
            int64_t tt = t < end ? t : end - between(&sr, 1, 3600) * USEC;
            items[ni++] = (item){tt, (uint32_t)i, k};
        }
    }
    free(cum);
    qsort(items, ni, sizeof *items, item_cmp);
    *out_s = ss;
    return items;
}

/* ---- the sample and bench streams ----------------------------------------------------------- */

/* Edge cases placed once per block of `every` rows at a seeded position (0 = never): this gives
 * every case a stable count (n / every) however small n is, without a visible stride. */
enum edge {
    E_NULL,
    E_EMPTY,
    E_BLANK,
    E_DUP,
    E_UPD_EQUAL,
    E_UPD_EARLIER,
    E_META_TEXT,
    E_META_ARRAY,
    E_META_NUMBER,
    E_META_EMPTY,
    E_META_CONCEPTS_STR,
    E_COUNT
};

typedef struct stream_cfg {
    uint64_t stream_uuid;
    uint32_t every[E_COUNT];
    uint32_t rich_meta_pm; /* per mille of rows with a metadata object */
    uint32_t updated_pm;   /* per mille of rows updated later */
} stream_cfg;

static const stream_cfg sample_cfg = {S_UUID_SAMPLE,
                                      {[E_NULL] = 200,
                                       [E_EMPTY] = 200,
                                       [E_BLANK] = 200,
                                       [E_DUP] = 150,
                                       [E_UPD_EQUAL] = 150,
                                       [E_UPD_EARLIER] = 150,
                                       [E_META_TEXT] = 200,
                                       [E_META_ARRAY] = 300,
                                       [E_META_NUMBER] = 300,
                                       [E_META_EMPTY] = 100,
                                       [E_META_CONCEPTS_STR] = 200},
                                      200,
                                      100};

static const stream_cfg bench_cfg = {S_UUID_BENCH,
                                     {[E_NULL] = 500,
                                      [E_EMPTY] = 500,
                                      [E_BLANK] = 500,
                                      [E_DUP] = 200,
                                      [E_UPD_EQUAL] = 300,
                                      [E_UPD_EARLIER] = 300,
                                      [E_META_TEXT] = 0,
                                      [E_META_ARRAY] = 1000,
                                      [E_META_NUMBER] = 1000,
                                      [E_META_EMPTY] = 100,
                                      [E_META_CONCEPTS_STR] = 400},
                                     200,
                                     100};

typedef struct picker {
    uint64_t block, pos;
} picker;

static bool picked(picker *p, uint64_t seed, int e, uint32_t every, uint64_t i)
{
    if (!every)
        return false;
    uint64_t block = i / every;
    if (block != p->block || i == 0) {
        rng r = rng_for(seed, S_PICK * 64 + (uint64_t)e, block);
        p->block = block;
        p->pos = block * every + below(&r, every);
    }
    return i == p->pos;
}

static const char *const blanks[] = {" ", "   ", "\t", "\n", " \n\t "};

#define DUP_RING 16

static void put_num2(eg_buf *b, uint32_t hundredths)
{
    char t[32];
    snprintf(t, sizeof t, "%u.%02u", hundredths / 100, hundredths % 100);
    puts_(b, t);
}

/* A metadata object: concepts (mostly an array; a string for E_META_CONCEPTS_STR), source, tags,
 * sometimes numeric importance / urgency in [0,1]. */
static void rich_meta(eg_buf *m, const session *s, const char *content, bool concepts_str, rng *r)
{
    const project *p = &projects[s->project];
    eg_buf_reset(m);
    puts_(m, "{");
    if (concepts_str) {
        puts_(m, "\"concepts\":");
        eg_buf tmp;
        eg_buf_init(&tmp, 0);
        puts_(&tmp, p->concept);
        puts_(&tmp, ", ");
        puts_(&tmp, p->topics[below(r, 6)]);
        put_json_str(m, tmp.data, tmp.len);
        eg_buf_free(&tmp);
        puts_(m, ",");
    } else if (chance(r, 700)) {
        puts_(m, "\"concepts\":[");
        puts_(m, "\"");
        puts_(m, p->concept);
        puts_(m, "\",");
        const char *topic = p->topics[below(r, 6)];
        put_json_str(m, topic, strlen(topic));
        if (chance(r, 600)) {
            puts_(m, ",");
            put_json_str(m, people[s->a], strlen(people[s->a]));
        }
        if (chance(r, 80))
            puts_(m, ",2027");
        puts_(m, "],");
    }
    puts_(m, "\"source\":\"");
    puts_(m, kinds[s->kind].source);
    puts_(m, "\",\"tags\":[\"");
    puts_(m, p->tag);
    puts_(m, "\"");
    bool urgent = strstr(content, "rgent") || strstr(content, "ASAP") || strstr(content, "asap");
    if (urgent)
        puts_(m, ",\"urgent\"");
    puts_(m, "]");
    if (chance(r, 350)) {
        puts_(m, ",\"importance\":");
        put_num2(m, urgent ? 70 + below(r, 31) : below(r, 101));
        if (chance(r, 600)) {
            puts_(m, ",\"urgency\":");
            put_num2(m, urgent ? 80 + below(r, 21) : below(r, 71));
        }
    }
    puts_(m, "}");
}

typedef struct gen_opts {
    uint64_t n, seed;
    int64_t end;
    int64_t span_days;
    enum fmt fmt;
} gen_opts;

static int run_stream(const gen_opts *o, const stream_cfg *cfg)
{
    int64_t start = o->end - o->span_days * DAY;
    session *ss = NULL;
    item *items = plan_items(o->seed, o->n, start, o->end, &ss);

    eg_buf out, content, meta, ring[DUP_RING];
    eg_buf_init(&out, 0);
    eg_buf_init(&content, 0);
    eg_buf_init(&meta, 0);
    for (int i = 0; i < DUP_RING; i++)
        eg_buf_init(&ring[i], 0);
    size_t ring_n = 0;
    picker pick[E_COUNT];
    memset(pick, 0, sizeof pick);

    write_header(&out, o->fmt);
    for (uint64_t i = 0; i < o->n; i++) {
        const item *it = &items[i];
        const session *s = &ss[it->session];
        bool e[E_COUNT];
        for (int k = 0; k < E_COUNT; k++)
            e[k] = picked(&pick[k], o->seed, k, cfg->every[k], i);
        rng ir = rng_for(o->seed, S_ITEM, ((uint64_t)it->session << 8) | it->turn);
        rng rr = rng_for(o->seed, S_ROW, i);

        row w;
        make_uuid(w.id, cfg->stream_uuid, o->seed, i, -1);
        w.created = it->t;

        /* content */
        compose(&content, s, (int)it->turn, &ir);
        w.content = content.data;
        w.content_len = content.len;
        if (e[E_NULL]) {
            w.content = NULL;
            w.content_len = 0;
        } else if (e[E_EMPTY]) {
            w.content = "";
            w.content_len = 0;
        } else if (e[E_BLANK]) {
            w.content = PICK(&rr, blanks);
            w.content_len = strlen(w.content);
        } else if (e[E_DUP] && ring_n > 0) {
            const eg_buf *src =
                &ring[below(&rr, (uint32_t)(ring_n < DUP_RING ? ring_n : DUP_RING))];
            w.content = src->data;
            w.content_len = src->len;
        } else {
            eg_buf *slot = &ring[ring_n++ % DUP_RING];
            eg_buf_reset(slot);
            put(slot, content.data, content.len);
        }

        /* updated_at */
        w.has_updated = false;
        w.updated = 0;
        if (e[E_UPD_EQUAL]) {
            w.has_updated = true;
            w.updated = w.created;
        } else if (e[E_UPD_EARLIER]) {
            w.has_updated = true;
            w.updated = w.created - between(&rr, 1, 3 * 86400) * USEC;
        } else if (chance(&rr, cfg->updated_pm) && o->end - w.created > 2 * USEC) {
            int64_t d;
            uint32_t x = below(&rr, 10);
            if (x < 4)
                d = between(&rr, 60, 86399); /* same day: minutes to hours */
            else if (x < 8)
                d = between(&rr, 86400, 7 * 86400);
            else
                d = between(&rr, 7 * 86400, 60 * 86400);
            d *= USEC;
            if (d >= o->end - w.created)
                d = (o->end - w.created) / 2;
            w.has_updated = true;
            w.updated = w.created + d;
        }

        /* metadata */
        w.meta_kind = META_NULL;
        w.meta = NULL;
        w.meta_len = 0;
        if (e[E_META_TEXT]) {
            static const char *const bad[] = {"{broken", "{\"concepts\": [\"atlas\",", "not json",
                                              "{'concepts': ['single quotes']}"};
            w.meta_kind = META_TEXT;
            w.meta = PICK(&rr, bad);
        } else if (e[E_META_ARRAY]) {
            w.meta_kind = META_JSON;
            w.meta = chance(&rr, 500) ? "[\"atlas\",\"beacon\"]" : "[1,2,3]";
        } else if (e[E_META_NUMBER]) {
            w.meta_kind = META_JSON;
            w.meta = chance(&rr, 500) ? "42" : "0.5";
        } else if (e[E_META_EMPTY]) {
            w.meta_kind = META_JSON;
            w.meta = "{}";
        } else if (e[E_META_CONCEPTS_STR] || chance(&rr, cfg->rich_meta_pm)) {
            rich_meta(&meta, s, w.content ? w.content : "", e[E_META_CONCEPTS_STR], &rr);
            w.meta_kind = META_JSON;
            w.meta = meta.data;
            w.meta_len = meta.len;
        }
        if (w.meta && !w.meta_len)
            w.meta_len = strlen(w.meta);

        write_row(&out, o->fmt, &w);
        flush(&out, false);
    }
    flush(&out, true);
    eg_buf_free(&out);
    eg_buf_free(&content);
    eg_buf_free(&meta);
    for (int i = 0; i < DUP_RING; i++)
        eg_buf_free(&ring[i]);
    free(items);
    free(ss);
    return 0;
}

/* ---- the edge (staging parity) dataset ------------------------------------------------------ */

typedef struct edge_ctx {
    eg_buf out;
    eg_buf content;
    enum fmt fmt;
    bool labels;
    int64_t now;
    uint64_t index;
} edge_ctx;

/* Sentinel for "content is SQL NULL". */
static const char null_content[] = "<null>";

static void edge_row(edge_ctx *x, const char *label, const char *content, size_t content_len,
                     int64_t created, const int64_t *updated, const char *meta)
{
    row w;
    make_uuid(w.id, S_UUID_EDGE, (uint64_t)x->now, x->index, (int64_t)x->index);
    x->index++;
    if (content == null_content) {
        w.content = NULL;
        w.content_len = 0;
    } else {
        w.content = content;
        w.content_len = content_len;
    }
    w.created = created;
    w.has_updated = updated != NULL;
    w.updated = updated ? *updated : 0;
    w.meta_kind = meta ? META_JSON : META_NULL;
    w.meta = meta;
    w.meta_len = meta ? strlen(meta) : 0;
    if (x->labels) {
        puts_(&x->out, w.id);
        puts_(&x->out, "\t");
        puts_(&x->out, label);
        puts_(&x->out, "\n");
    } else {
        write_row(&x->out, x->fmt, &w);
    }
    flush(&x->out, false);
}

/* Text of exactly n code points drawn cyclically from `alphabet` (valid UTF-8). */
static void fill_cps(eg_buf *b, const char *alphabet, size_t n)
{
    eg_buf_reset(b);
    const char *p = alphabet;
    for (size_t i = 0; i < n; i++) {
        if (!*p)
            p = alphabet;
        size_t len = 1;
        while (((unsigned char)p[len] & 0xC0) == 0x80)
            len++;
        put(b, p, len);
        p += len;
    }
}

static const struct {
    const char *name, *alphabet;
} fills[] = {
    {"ascii", "Edge case memory about the Atlas cutover and recall. "},
    {"2-byte", "éàèùâêîôûçëïüÿœæñß"},
    {"3-byte", "中文記憶測試東京会議明日確認"},
    {"4-byte", "😀🎉🚀📚🧠🌍🔥🌱"},
    {"mixed", "Zoë 中 😀 note, "},
};

static void run_edge(edge_ctx *x)
{
    const int64_t now = x->now;
    char label[160];
    eg_buf *c = &x->content;
    const int64_t recent = now - 2 * HOUR;

    /* 1. Content presence and length classes (characters are code points). */
    edge_row(x, "content NULL", null_content, 0, recent, NULL, NULL);
    edge_row(x, "content empty", "", 0, recent, NULL, NULL);
    for (size_t i = 0; i < COUNT(blanks); i++) {
        snprintf(label, sizeof label, "content whitespace-only #%zu", i);
        edge_row(x, label, blanks[i], strlen(blanks[i]), recent, NULL, NULL);
    }
    static const size_t lens[] = {1, 49, 50, 199, 200, 499, 500, 1000, 5000};
    for (size_t f = 0; f < COUNT(fills); f++) {
        for (size_t l = 0; l < COUNT(lens); l++) {
            fill_cps(c, fills[f].alphabet, lens[l]);
            snprintf(label, sizeof label, "content %s, %zu characters", fills[f].name, lens[l]);
            edge_row(x, label, c->data, c->len, recent, NULL, NULL);
        }
    }
    /* Characters are code points, not graphemes and not bytes. */
    eg_buf_reset(c);
    for (int i = 0; i < 25; i++)
        puts_(c, "e\xcc\x81"); /* e + combining acute: 2 code points, 1 grapheme */
    edge_row(x, "content 25 decomposed é = 50 code points", c->data, c->len, recent, NULL, NULL);
    eg_buf_reset(c);
    for (int i = 0; i < 16; i++)
        puts_(c, "👩‍💻"); /* woman + ZWJ + laptop: 3 code points */
    puts_(c, "ok");
    edge_row(x, "content 16 ZWJ emoji + 2 = 50 code points", c->data, c->len, recent, NULL, NULL);
    fill_cps(c, fills[0].alphabet, 49);
    c->data[48] = 'x';
    puts_(c, " ");
    edge_row(x, "content 49 ascii + trailing space = 50", c->data, c->len, recent, NULL, NULL);
    eg_buf_reset(c);
    puts_(c, "\xef\xbb\xbf");
    {
        eg_buf t;
        eg_buf_init(&t, 0);
        fill_cps(&t, fills[0].alphabet, 49);
        put(c, t.data, t.len);
        eg_buf_free(&t);
    }
    edge_row(x, "content BOM + 49 ascii = 50 code points", c->data, c->len, recent, NULL, NULL);
    eg_buf_reset(c);
    for (int i = 0; i < 199; i++)
        puts_(c, i % 2 ? "\xc3\xa9" : "\xf0\x9f\x98\x80");
    edge_row(x, "content 199 characters, 597 bytes", c->data, c->len, recent, NULL, NULL);

    /* Text that tests escaping in every output format. */
    static const struct {
        const char *label, *text;
    } specials[] = {
        {"content with newlines", "line one\nline two\nline three"},
        {"content with CRLF", "windows line\r\nsecond line"},
        {"content with tabs", "col1\tcol2\tcol3"},
        {"content with backslashes", "C:\\Users\\maya\\notes.txt and \\d+ regex"},
        {"content literally \\N", "\\N"},
        {"content literally NULL", "NULL"},
        {"content with quotes and commas", "she said \"ok, fine\", then left"},
        {"content with JSON-looking text", "{\"concepts\": [\"not\", \"metadata\"]}"},
        {"content with control character", "bell\x07 and escape\x1b done"},
        {"concepts: stopwords, numbers, short tokens", "The the THE and of 123 4567 ab cd Run "
                                                       "running runs ran"},
        {"concepts: case folding", "Straße STRASSE strasse ÉCOLE École école İstanbul ISTANBUL"},
        {"concepts: punctuation splits", "atlas-migration/atlas_migration;atlas.migration@maya"},
        {"concepts: mixed scripts", "東京 meeting with Zoë about the 中文 docs 😀 tomorrow"},
    };
    for (size_t i = 0; i < COUNT(specials); i++)
        edge_row(x, specials[i].label, specials[i].text, strlen(specials[i].text), recent, NULL,
                 NULL);

    /* 2. updated_at relative to created_at, for an old and a recent created_at. */
    static const struct {
        const char *label;
        int64_t delta; /* INT64_MIN: NULL */
    } upd[] = {
        {"NULL", INT64_MIN},
        {"equal", 0},
        {"earlier by 1 microsecond", -1},
        {"earlier by 1 second", -USEC},
        {"earlier by 1 day 2 hours", -(DAY + 2 * HOUR)},
        {"later by 1 microsecond", 1},
        {"later by 1 second", USEC},
        {"later by 1 hour", HOUR},
        {"later by 1 day minus 1 microsecond", DAY - 1},
        {"later by exactly 1 day", DAY},
        {"later by 1 day plus 1 microsecond", DAY + 1},
        {"later by 1 day minus 1 second", DAY - USEC},
        {"later by exactly 2 days", 2 * DAY},
        {"later by 3 days 5 hours", 3 * DAY + 5 * HOUR},
        {"later by 6 days 23 hours 59 minutes", 7 * DAY - MINUTE},
        {"later by 29 days 12 hours 0.5 seconds", 29 * DAY + 12 * HOUR + USEC / 2},
    };
    const int64_t bases[] = {now - 10 * DAY - 3 * HOUR, recent};
    for (size_t bi = 0; bi < COUNT(bases); bi++) {
        for (size_t i = 0; i < COUNT(upd); i++) {
            bool null_u = upd[i].delta == INT64_MIN;
            int64_t u = null_u ? 0 : bases[bi] + upd[i].delta;
            snprintf(label, sizeof label, "updated_at %s (created %s)", upd[i].label,
                     bi ? "2 hours ago" : "10 days 3 hours ago");
            fill_cps(c, fills[bi ? 4 : 0].alphabet, 120);
            edge_row(x, label, c->data, c->len, bases[bi], null_u ? NULL : &u, NULL);
        }
    }
    {
        int64_t u = now;
        fill_cps(c, fills[0].alphabet, 80);
        edge_row(x, "updated_at equal to now", c->data, c->len, now - 5 * DAY, &u, NULL);
        u = now + 2 * DAY;
        edge_row(x, "updated_at in the future", c->data, c->len, now - 5 * DAY, &u, NULL);
    }

    /* 3. Ages relative to now (importance thresholds, activation), each with three contents. */
    const int64_t year_ago = eg_time_midnight_shift(now, -12, 0) +
                             ((now % DAY) + DAY) % DAY; /* now - interval '1 year' */
    static const struct {
        const char *name;
        int64_t age;
    } anchors[] = {{"1 day", DAY}, {"7 days", 7 * DAY}, {"30 days", 30 * DAY}};
    static const struct {
        const char *name;
        int64_t d;
    } jit[] = {{"-1s", -USEC}, {"-1us", -1}, {"exactly", 0}, {"+1us", 1}, {"+1s", USEC}};
    static const size_t age_lens[] = {30, 150, 600};
    static const char *const age_fills[] = {"ascii", "mixed", "4-byte"};
    for (size_t a = 0; a < COUNT(anchors) + 1; a++) {
        for (size_t j = 0; j < COUNT(jit); j++) {
            for (size_t l = 0; l < COUNT(age_lens); l++) {
                int64_t created;
                if (a < COUNT(anchors)) {
                    created = now - (anchors[a].age + jit[j].d);
                    snprintf(label, sizeof label, "age %s %s (%s %zu)", anchors[a].name,
                             jit[j].name, age_fills[l], age_lens[l]);
                } else {
                    created = year_ago - jit[j].d;
                    snprintf(label, sizeof label, "age 1 calendar year %s (%s %zu)", jit[j].name,
                             age_fills[l], age_lens[l]);
                }
                fill_cps(c, fills[l == 0 ? 0 : l == 1 ? 4 : 3].alphabet, age_lens[l]);
                edge_row(x, label, c->data, c->len, created, NULL, NULL);
            }
        }
    }
    static const struct {
        const char *name;
        int64_t age;
    } ages[] = {
        {"0 (created_at = now)", 0},
        {"1 microsecond", 1},
        {"1 second", USEC},
        {"1 hour", HOUR},
        {"12 hours 34 minutes 56.789012 seconds", 12 * HOUR + 34 * MINUTE + 56789012},
        {"2 days 3:04:05.123456", 2 * DAY + 3 * HOUR + 4 * MINUTE + 5123456},
        {"6 days 23:59:59.999999", 7 * DAY - 1},
        {"14 days", 14 * DAY},
        {"29 days 23:59:59", 30 * DAY - USEC},
        {"60 days", 60 * DAY},
        {"180 days 0.000001 s", 180 * DAY + 1},
        {"300 days", 300 * DAY},
        {"365 days - 1 s", 365 * DAY - USEC},
        {"365 days", 365 * DAY},
        {"365 days + 1 s", 365 * DAY + USEC},
        {"366 days - 1 s", 366 * DAY - USEC},
        {"366 days", 366 * DAY},
        {"366 days + 1 s", 366 * DAY + USEC},
        {"400 days", 400 * DAY},
        {"800 days", 800 * DAY},
    };
    for (size_t i = 0; i < COUNT(ages); i++) {
        for (size_t l = 0; l < 2; l++) {
            snprintf(label, sizeof label, "age %s (%s %zu)", ages[i].name, age_fills[l],
                     age_lens[l]);
            fill_cps(c, fills[l == 0 ? 0 : 4].alphabet, age_lens[l]);
            edge_row(x, label, c->data, c->len, now - ages[i].age, NULL, NULL);
        }
    }

    /* 4. The staging window: created_at > midnight UTC of now's date minus 1 calendar year
     * (calendar arithmetic: a --now of Feb 29 gives Feb 28 of the previous year). */
    const int64_t boundary = eg_time_midnight_shift(now, -12, 0);
    static const struct {
        const char *name;
        int64_t d;
    } bj[] = {{"- 1 day", -DAY}, {"- 1 s", -USEC}, {"- 1 us", -1},     {"exactly", 0},
              {"+ 1 us", 1},     {"+ 1 s", USEC},  {"+ 1 hour", HOUR}, {"+ 1 day", DAY}};
    for (size_t i = 0; i < COUNT(bj); i++) {
        for (size_t l = 0; l < 2; l++) {
            snprintf(label, sizeof label, "window boundary %s (%s %zu)", bj[i].name, age_fills[l],
                     age_lens[l]);
            fill_cps(c, fills[l == 0 ? 0 : 4].alphabet, age_lens[l]);
            int64_t u = now - HOUR;
            /* Updated rows near the boundary: the window is on created_at only. */
            edge_row(x, label, c->data, c->len, boundary + bj[i].d, l ? &u : NULL, NULL);
        }
    }
    /* Where a naive "365 days before midnight" would put the boundary (differs across Feb 29). */
    const int64_t naive = now - ((now % DAY) + DAY) % DAY - 365 * DAY;
    for (int s = -1; s <= 1; s++) {
        snprintf(label, sizeof label, "naive 365-day boundary %+d s (calendar boundary %s)", s,
                 naive == boundary ? "equal" : "differs");
        fill_cps(c, fills[0].alphabet, 60);
        edge_row(x, label, c->data, c->len, naive + s * USEC, NULL, NULL);
    }
    /* Leap days near the boundary: Feb 28/29 and Mar 1 of the boundary's and now's years. */
    {
        int64_t y;
        unsigned m, d;
        eg_civil_from_days(boundary / DAY - (boundary % DAY < 0), &y, &m, &d);
        for (int64_t yy = y - 1; yy <= y + 1; yy++) {
            static const unsigned md[][2] = {{2, 28}, {2, 29}, {3, 1}};
            for (size_t k = 0; k < COUNT(md); k++) {
                bool leap = (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0;
                if (md[k][1] == 29 && !leap)
                    continue;
                int64_t t = eg_days_from_civil(yy, md[k][0], md[k][1]) * DAY + 12 * HOUR;
                snprintf(label, sizeof label, "calendar day %04lld-%02u-%02u 12:00", (long long)yy,
                         md[k][0], md[k][1]);
                fill_cps(c, fills[1].alphabet, 75);
                edge_row(x, label, c->data, c->len, t, NULL, NULL);
            }
        }
    }

    /* 5. created_at in the future (negative age: activation capped at 1). */
    static const struct {
        const char *name;
        int64_t d;
    } fut[] = {{"1 microsecond", 1},
               {"1 second", USEC},
               {"1 hour", HOUR},
               {"2 days", 2 * DAY},
               {"400 days", 400 * DAY}};
    for (size_t i = 0; i < COUNT(fut); i++) {
        snprintf(label, sizeof label, "created_at in the future by %s", fut[i].name);
        fill_cps(c, fills[4].alphabet, 90);
        int64_t u = now + fut[i].d + HOUR;
        edge_row(x, label, c->data, c->len, now + fut[i].d, i % 2 ? &u : NULL, NULL);
    }

    /* 6. Metadata shapes (all valid JSON, so jsonb accepts them). */
    static const struct {
        const char *label, *json;
    } metas[] = {
        {"metadata NULL", NULL},
        {"metadata {}", "{}"},
        {"metadata concepts array of strings", "{\"concepts\":[\"atlas\",\"migration\",\"Maya\"]}"},
        {"metadata concepts strings and numbers",
         "{\"concepts\":[\"atlas\",42,3.5,-7,1e3,0.1,\"2027\"]}"},
        {"metadata concepts empty array", "{\"concepts\":[]}"},
        {"metadata concepts a string (not an array)", "{\"concepts\":\"atlas, migration\"}"},
        {"metadata concepts a number (not an array)", "{\"concepts\":42}"},
        {"metadata concepts an object (not an array)", "{\"concepts\":{\"atlas\":1}}"},
        {"metadata concepts null", "{\"concepts\":null}"},
        {"metadata concepts with booleans, nulls, nested",
         "{\"concepts\":[true,null,[\"nested\"],{\"x\":1},\"ok\"]}"},
        {"metadata concepts multibyte",
         "{\"concepts\":[\"café\",\"東京\",\"😀 emoji\",\"Straße\"]}"},
        {"metadata concepts duplicates", "{\"concepts\":[\"dup\",\"dup\",\"Dup\",\"DUP\"]}"},
        {"metadata concepts with escapes",
         "{\"concepts\":[\"tab\\tin\",\"quote\\\"d\",\"back\\\\slash\",\"\\u00e9t\\u00e9\"]}"},
        {"metadata concepts 40 elements",
         "{\"concepts\":[\"c01\",\"c02\",\"c03\",\"c04\",\"c05\",\"c06\",\"c07\",\"c08\",\"c09\","
         "\"c10\",\"c11\",\"c12\",\"c13\",\"c14\",\"c15\",\"c16\",\"c17\",\"c18\",\"c19\",\"c20\","
         "\"c21\",\"c22\",\"c23\",\"c24\",\"c25\",\"c26\",\"c27\",\"c28\",\"c29\",\"c30\",\"c31\","
         "\"c32\",\"c33\",\"c34\",\"c35\",\"c36\",\"c37\",\"c38\",\"c39\",\"c40\"]}"},
        {"metadata importance and urgency in [0,1]",
         "{\"importance\":0.95,\"urgency\":0.1,\"source\":\"edge\"}"},
        {"metadata importance and urgency out of range", "{\"importance\":1.5,\"urgency\":-0.2}"},
        {"metadata importance not a number", "{\"importance\":\"high\",\"urgency\":true}"},
        {"metadata source and tags, no concepts",
         "{\"source\":\"edge\",\"tags\":[\"work\",\"urgent\"]}"},
        {"metadata nested objects",
         "{\"a\":{\"b\":{\"c\":[1,{\"d\":2}]}},\"concepts\":[\"nested\"]}"},
        {"metadata a JSON array (not an object)", "[1,2,3]"},
        {"metadata a JSON number (not an object)", "42"},
        {"metadata a JSON boolean (not an object)", "true"},
    };
    for (size_t i = 0; i < COUNT(metas); i++) {
        fill_cps(c, fills[0].alphabet, 120);
        edge_row(x, metas[i].label, c->data, c->len, now - 3 * DAY, NULL, metas[i].json);
        /* Metadata on a row staging skips: it must not matter. */
        if (i < 3)
            edge_row(x, metas[i].label, null_content, 0, now - 3 * DAY, NULL, metas[i].json);
    }
    /* Metadata on rows of each age bucket, with updates. */
    for (size_t i = 0; i < COUNT(anchors); i++) {
        int64_t created = now - anchors[i].age - HOUR;
        int64_t u = created + DAY + HOUR;
        fill_cps(c, fills[2].alphabet, 60);
        snprintf(label, sizeof label, "age %s + 1 h, updated +1 day 1 h, concepts",
                 anchors[i].name);
        edge_row(x, label, c->data, c->len, created, &u,
                 "{\"concepts\":[\"atlas\",7],\"importance\":0.8}");
    }
}

/* ---- command line --------------------------------------------------------------------------- */

static const char *prog_cmd = "engram-gen";

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog_cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog_cmd);
    return EXIT_USAGE;
}

static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        goto bad;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    return usage_error("invalid value '%s' for %s (expected an integer from %llu to %llu)", s, opt,
                       (unsigned long long)min, (unsigned long long)max);
}

static int parse_time_opt(const char *opt, const char *s, int64_t *out)
{
    if (eg_time_parse(s, (size_t)-1, out) == 0)
        return 0;
    return usage_error("invalid time '%s' for %s (expected ISO 8601, e.g. 2026-11-20T00:00:00Z)", s,
                       opt);
}

static int parse_fmt(const char *s, unsigned allowed, const char *allowed_txt, enum fmt *out)
{
    static const char *const names[] = {
        [FMT_JSONL] = "jsonl", [FMT_CSV] = "csv", [FMT_PGTEXT] = "pgtext"};
    for (int f = 0; f < 3; f++) {
        if ((allowed & (1u << f)) && !strcmp(s, names[f])) {
            *out = (enum fmt)f;
            return 0;
        }
    }
    return usage_error("invalid value '%s' for --format (expected %s)", s, allowed_txt);
}

enum { O_N = 1, O_SEED, O_END, O_SPAN, O_FORMAT, O_NOW, O_LABELS, O_HELP };

static const struct option all_opts[] = {
    {"n", required_argument, NULL, O_N},
    {"seed", required_argument, NULL, O_SEED},
    {"end", required_argument, NULL, O_END},
    {"span-days", required_argument, NULL, O_SPAN},
    {"format", required_argument, NULL, O_FORMAT},
    {"now", required_argument, NULL, O_NOW},
    {"labels", no_argument, NULL, O_LABELS},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

static const char sample_help[] =
    "Usage: engram-gen sample [--n 1200] [--seed 42] [--end 2026-11-20T00:00:00Z]\n"
    "                         [--span-days 180] [--format jsonl|csv]\n"
    "\n"
    "Writes realistic memories to standard output: notes, plans, chat turns, observations,\n"
    "decisions, meeting and reading notes, errands and journal entries about a recurring cast of\n"
    "people, projects and places, in working sessions (denser on weekdays and in daytime), with\n"
    "the SPEC section 5 edge cases mixed in: NULL, empty and whitespace-only content, updated_at\n"
    "equal to or earlier than created_at, metadata that is invalid JSON text, an array, a number,\n"
    "{} or NULL, and duplicate content under different ids. Same arguments, same bytes.\n"
    "\n"
    "Options:\n"
    "  --n N             rows to write (default 1200)\n"
    "  --seed S          seed of every pseudo-random choice (default 42)\n"
    "  --end TIME        latest created_at (default 2026-11-20T00:00:00Z)\n"
    "  --span-days D     created_at spans [end - D days, end) (default 180)\n"
    "  --format F        jsonl (default) or csv (header "
    "id,content,created_at,updated_at,metadata;\n"
    "                    an empty field is NULL, \"\" is the empty string)\n"
    "  --help            show this help\n";

static const char bench_help[] =
    "Usage: engram-gen bench --n N [--seed 7] [--end 2026-11-20T00:00:00Z] [--span-days 730]\n"
    "                        [--format pgtext|jsonl|csv]\n"
    "\n"
    "Writes N memories fast (one big buffer), for benchmarks. The default pgtext format is\n"
    "PostgreSQL COPY text (tab-separated id, content, created_at, updated_at, metadata; \\N is\n"
    "NULL), for: psql -c \"\\copy memories FROM STDIN\" with the table (id uuid, content text,\n"
    "created_at timestamptz, updated_at timestamptz, metadata jsonb). Metadata is always valid\n"
    "JSON or NULL and content always valid UTF-8; a few rows have NULL, empty or blank content.\n"
    "\n"
    "Options:\n"
    "  --n N             rows to write (required; at most 100000000)\n"
    "  --seed S          seed (default 7)\n"
    "  --end TIME        latest created_at (default 2026-11-20T00:00:00Z)\n"
    "  --span-days D     created_at spans [end - D days, end) (default 730)\n"
    "  --format F        pgtext (default), jsonl or csv\n"
    "  --help            show this help\n";

static const char edge_help[] =
    "Usage: engram-gen edge --now TIME [--format pgtext|jsonl|csv] [--labels]\n"
    "\n"
    "Writes the staging parity dataset: a few hundred rows covering every SPEC section 5 edge\n"
    "case relative to TIME: NULL, empty and blank content; UTF-8 content of exactly 1, 49, 50,\n"
    "199, 200, 499, 500, 1000 and 5000 characters in 1- to 4-byte scripts; updated_at NULL,\n"
    "equal, earlier and later (under a day, exactly a day, days and hours); ages just under and\n"
    "over 1, 7 and 30 days and 1 year (1 s and 1 us); created_at around the staging window\n"
    "boundary (midnight UTC of TIME's date minus 1 calendar year, so a TIME on Feb 29 gives\n"
    "Feb 28) and in the future; microsecond timestamps; metadata shapes (all valid JSON).\n"
    "The last group of each id is the row number. Run it with more than one --now (for example\n"
    "2028-02-29T12:00:00Z too); ids depend on TIME, so the datasets load into one table.\n"
    "\n"
    "Options:\n"
    "  --now TIME        the run's clock (required), e.g. 2026-11-20T12:00:00Z\n"
    "  --format F        pgtext (default), jsonl or csv\n"
    "  --labels          write \"id<TAB>what the row tests\" instead of the data\n"
    "  --help            show this help\n";

static const char main_help[] =
    "Usage: engram-gen COMMAND [OPTIONS]\n"
    "\n"
    "engram's deterministic data generator: same arguments, byte-identical output (stdout).\n"
    "\n"
    "Commands:\n"
    "  sample   realistic memories with edge cases (data/sample-memories.jsonl)\n"
    "  bench    many memories fast, PostgreSQL COPY text by default\n"
    "  edge     the staging parity dataset around --now\n"
    "\n"
    "Run 'engram-gen COMMAND --help' for a command's options. Exit codes: 0 ok, 1 write error,\n"
    "2 usage error.\n";

enum cmd { CMD_SAMPLE, CMD_BENCH, CMD_EDGE };

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing command (sample, bench or edge)");
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        fputs(main_help, stdout);
        return 0;
    }
    enum cmd cmd;
    const char *help;
    if (!strcmp(name, "sample")) {
        cmd = CMD_SAMPLE;
        help = sample_help;
        prog_cmd = "engram-gen sample";
    } else if (!strcmp(name, "bench")) {
        cmd = CMD_BENCH;
        help = bench_help;
        prog_cmd = "engram-gen bench";
    } else if (!strcmp(name, "edge")) {
        cmd = CMD_EDGE;
        help = edge_help;
        prog_cmd = "engram-gen edge";
    } else {
        return usage_error("unknown command '%s' (expected sample, bench or edge)", name);
    }

    gen_opts o = {.n = 1200, .seed = 42, .span_days = 180, .fmt = FMT_JSONL};
    const char *end_s = "2026-11-20T00:00:00Z";
    bool have_n = false, have_now = false, labels = false;
    int64_t now = 0;
    if (cmd == CMD_BENCH) {
        o.seed = 7;
        o.span_days = 730;
        o.fmt = FMT_PGTEXT;
    } else if (cmd == CMD_EDGE) {
        o.fmt = FMT_PGTEXT;
    }

    int argc2 = argc - 1;
    char **argv2 = argv + 1;
    opterr = 0;
    optind = 1;
    int ch, rc, li = -1;
    uint64_t v;
    char optname[32];
    while ((ch = getopt_long(argc2, argv2, ":h", all_opts, &li)) != -1) {
        /* The option as typed: argv may hold its value next, so name it from the table. */
        const char *opt = argv2[optind - 1];
        if (ch != '?' && ch != ':' && li >= 0) {
            snprintf(optname, sizeof optname, "--%s", all_opts[li].name);
            opt = optname;
        }
        li = -1;
        bool allowed = true;
        switch (ch) {
        case O_N:
            allowed = cmd != CMD_EDGE;
            if (!allowed)
                break;
            if ((rc = parse_u64("--n", optarg, cmd == CMD_BENCH ? 1 : 0, MAX_ROWS, &o.n)))
                return rc;
            have_n = true;
            break;
        case O_SEED:
            allowed = cmd != CMD_EDGE;
            if (allowed && (rc = parse_u64("--seed", optarg, 0, UINT64_MAX, &o.seed)))
                return rc;
            break;
        case O_END:
            allowed = cmd != CMD_EDGE;
            end_s = optarg;
            break;
        case O_SPAN:
            allowed = cmd != CMD_EDGE;
            if (allowed && (rc = parse_u64("--span-days", optarg, 1, 36500, &v)))
                return rc;
            o.span_days = (int64_t)v;
            break;
        case O_FORMAT: {
            unsigned mask = cmd == CMD_SAMPLE ? 3u : 7u;
            const char *txt = cmd == CMD_SAMPLE ? "jsonl or csv" : "pgtext, jsonl or csv";
            if ((rc = parse_fmt(optarg, mask, txt, &o.fmt)))
                return rc;
            break;
        }
        case O_NOW:
            allowed = cmd == CMD_EDGE;
            if (allowed && (rc = parse_time_opt("--now", optarg, &now)))
                return rc;
            have_now = true;
            break;
        case O_LABELS:
            allowed = cmd == CMD_EDGE;
            labels = true;
            break;
        case O_HELP:
            fputs(help, stdout);
            return 0;
        case 'h':
            fputs(help, stdout);
            return 0;
        case ':':
            return usage_error("option '%s' needs a value", opt);
        default:
            if (optopt > 0 && optopt < 128 && optopt != '-' && opt[0] == '-' && opt[1] != '-')
                return usage_error("unrecognized option '-%c'", optopt);
            return usage_error("unrecognized option '%s'", opt);
        }
        if (!allowed)
            return usage_error("option '%s' does not apply to this command", opt);
    }
    if (optind < argc2)
        return usage_error("unexpected argument '%s'", argv2[optind]);
    if (cmd == CMD_BENCH && !have_n)
        return usage_error("missing --n (the number of rows to write)");
    if (cmd == CMD_EDGE && !have_now)
        return usage_error("missing --now (e.g. --now 2026-11-20T12:00:00Z)");
    if (cmd != CMD_EDGE && (rc = parse_time_opt("--end", end_s, &o.end)))
        return rc;

    if (cmd == CMD_EDGE) {
        edge_ctx x = {.fmt = o.fmt, .labels = labels, .now = now};
        eg_buf_init(&x.out, 0);
        eg_buf_init(&x.content, 0);
        if (!labels)
            write_header(&x.out, o.fmt);
        run_edge(&x);
        flush(&x.out, true);
        eg_buf_free(&x.out);
        eg_buf_free(&x.content);
        return 0;
    }
    return run_stream(&o, cmd == CMD_SAMPLE ? &sample_cfg : &bench_cfg);
}
