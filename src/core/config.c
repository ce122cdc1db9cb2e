/*
 * config.c — loads engram's configuration: defaults, then the INI file (defaults section, then the
 * chosen profile), then command-line values. Parsing of the file is inih's; this module owns the
 * key table (name, type, default), path resolution against the file's folder, the profile rules,
 * and the "password only in a 0600 file" rule. It does not open sources or stores.
 */
#include "engram/config.h"

#include "engram/error.h"
#include "core/conninfo.h"
#include "util/suggest.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <libstemmer.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <xxhash.h>

/* K_IDENT: a table, schema or column name, which may not be empty */
enum ktype { K_STR, K_IDENT, K_PATH, K_SOURCE, K_DURATION, K_INT, K_AGE, K_DOUBLE, K_DAYRANGE };

typedef struct key_def {
    const char *name;
    enum ktype type;
    size_t off;
    const char *def;
    const char *help;
    const char *lo, *hi; /* inclusive bounds in the key's own syntax, checked by validate(); NULL:
                            none (checks that involve two keys are written out in validate()) */
} key_def;

#define F(f) offsetof(eg_config, f)
static const key_def keys[] = {
    {"store", K_PATH, F(store), "engram.db", "SQLite store file", NULL, NULL},
    {"source", K_SOURCE, F(source), NULL,
     "postgresql:// URI or libpq conninfo, sqlite:PATH, or empty for the store's own table", NULL,
     NULL},
    {"source.schema", K_IDENT, F(source_schema), "public", "schema of the source table", NULL,
     NULL},
    {"source.table", K_IDENT, F(source_table), "memories", "source table (or view)", NULL, NULL},
    {"source.id_column", K_IDENT, F(col_id), "id", "primary key column", NULL, NULL},
    {"source.content_column", K_IDENT, F(col_content), "content", "content column", NULL, NULL},
    {"source.created_at_column", K_IDENT, F(col_created_at), "created_at", "creation time column",
     NULL, NULL},
    {"source.updated_at_column", K_IDENT, F(col_updated_at), "updated_at", "update time column",
     NULL, NULL},
    {"source.metadata_column", K_IDENT, F(col_metadata), "metadata", "metadata column", NULL, NULL},
    {"source.system", K_STR, F(source_system), NULL, "label for staging.source_system", NULL, NULL},
    {"source.lookback", K_DURATION, F(source_lookback), "5m", "incremental read overlap", NULL,
     "365d"},
    {"source.connect_timeout", K_DURATION, F(source_connect_timeout), "5s", "first connect timeout",
     "1s", "1h"},
    {"source.statement_timeout", K_DURATION, F(source_statement_timeout), "10m",
     "statement_timeout of the source session", "1s", "7d"},
    {"source.retries", K_INT, F(source_retries), "4", "connection retries after the first attempt",
     NULL, "100"},
    {"source.retry_delay", K_DURATION, F(source_retry_delay), "500ms", "first backoff step", NULL,
     "1h"},
    {"staging.max_age", K_AGE, F(staging_max_age_text), "1 year",
     "staging window: N years|months|days before midnight UTC of now; 0 keeps everything", NULL,
     NULL},
    {"staging.language", K_STR, F(staging_language), "english", "Snowball stemmer language", NULL,
     NULL},
    {"staging.max_concepts", K_INT, F(staging_max_concepts), "32", "concepts kept per memory", "1",
     "1000"},
    {"ingest.batch_rows", K_INT, F(ingest_batch_rows), "10000",
     "rows per batch read from the source", "1", "1000000"},
    {"wm.tick", K_DURATION, F(wm_tick), "60s", "working-memory attention tick (event time)", "1s",
     "1d"},
    {"wm.window", K_DURATION, F(wm_window), "300s", "how long a presentation stays a candidate",
     NULL, "30d"},
    {"wm.tau", K_DURATION, F(wm_tau), "300s", "decay time constant of a candidate's priority", "1s",
     "30d"},
    {"wm.capacity", K_INT, F(wm_capacity), "7", "working-memory slots", "1", "1000"},
    {"wm.jitter", K_INT, F(wm_jitter), "0", "± slots of deterministic capacity jitter per tick",
     NULL, NULL},
    {"stm.episode_gap", K_DURATION, F(stm_episode_gap), "1800s", "gap that starts a new episode",
     NULL, "365d"},
    {"stm.min_overlap", K_DOUBLE, F(stm_min_overlap), "0.05",
     "concept Jaccard below which a new episode starts", NULL, NULL},
    {"stm.duration", K_DURATION, F(stm_duration), "1800s",
     "time in short-term memory after which an item is ready", NULL, "365d"},
    {"hebbian.rate", K_DOUBLE, F(hebbian_rate), "0.1", "learning rate eta", NULL, NULL},
    {"hebbian.decay", K_DOUBLE, F(hebbian_decay), "0.001", "edge weight decay per day (lambda)",
     NULL, NULL},
    {"hebbian.max_concepts", K_INT, F(hebbian_max_concepts), "4",
     "concepts per memory in concept learning and REM", NULL, NULL},
    {"consolidation.interval", K_DURATION, F(consolidation_interval), "1h", "replay interval", "1m",
     "30d"},
    {"consolidation.threshold", K_DOUBLE, F(consolidation_threshold), "0.5",
     "pre-strength that consolidates", NULL, NULL},
    {"consolidation.max_replays", K_INT, F(consolidation_max_replays), "3",
     "further replays before forgetting", NULL, "1000"},
    {"consolidation.max_associates", K_INT, F(consolidation_max_associates), "16",
     "associates replayed with an item (at most 64)", NULL, NULL},
    {"consolidation.max_concepts", K_INT, F(consolidation_max_concepts), "8",
     "concepts per memory searched for replay associates", NULL, NULL},
    {"forgetting.rate", K_DOUBLE, F(forgetting_rate), "0.95", "strength kept per failed replay",
     NULL, NULL},
    {"sleep.deep", K_DAYRANGE, F(sleep_deep_text), "02:00-04:00",
     "nightly deep-sleep window (UTC); replays every 15 min in it", NULL, NULL},
    {"homeostasis.max_out", K_DOUBLE, F(homeostasis_max_out), "10",
     "largest sum of a concept's edge weights", NULL, NULL},
    {"homeostasis.target", K_DOUBLE, F(homeostasis_target), "0.5", "target mean edge weight", NULL,
     NULL},
    {"homeostasis.max_degree", K_INT, F(homeostasis_max_degree), "64",
     "edges a concept keeps at most, its strongest (0: no bound)", NULL, "1000000"},
    {"rem.batch", K_INT, F(rem_batch), "100", "long-term pairs sampled per REM phase", NULL,
     "100000"},
    {"recall.alpha", K_DOUBLE, F(recall_alpha), "1.0", "weight of the lexical (BM25) term", "0",
     "1000"},
    {"recall.beta", K_DOUBLE, F(recall_beta), "1.0", "weight of spreading activation", "0", "1000"},
    {"recall.gamma", K_DOUBLE, F(recall_gamma), "0.2", "weight of base-level activation", "0",
     "1000"},
    {"recall.S", K_DOUBLE, F(recall_s_max), "12", "maximum associative strength S", "0", "1000"},
    {"recall.tau", K_DOUBLE, F(recall_tau), "3", "retrieval threshold tau", "-1000", "1000"},
    {"recall.s", K_DOUBLE, F(recall_noise), "0.4", "activation noise s of P(recall)", NULL, "1000"},
    {"activation.decay", K_DOUBLE, F(activation_decay), "0.5", "ACT-R base-level decay d", NULL,
     "10"},
    {"health.connection_warn", K_DURATION, F(health_connection_warn), "1s",
     "connect + SELECT 1 slower than this warns", NULL, "1h"},
    {"health.fresh", K_DURATION, F(health_fresh), "1h", "newest memory younger than this is fresh",
     "1s", "365d"},
    {"health.stale", K_DURATION, F(health_stale), "24h",
     "newest memory older than this is critical (between: stale, warning)", "1s", "365d"},
    {"health.volume_min", K_INT, F(health_volume_min), "1",
     "fewer source rows than this is critical", NULL, NULL},
    {"health.volume_sigma", K_DOUBLE, F(health_volume_sigma), "3",
     "a row count this many standard deviations from history warns", "0", "1000"},
    {"health.quality_ok", K_DOUBLE, F(health_quality_ok), "95",
     "% of valid, non-empty content above which quality is healthy", "0", "100"},
    {"health.quality_warn", K_DOUBLE, F(health_quality_warn), "90",
     "% above which quality only warns (below: critical)", "0", "100"},
    {"health.count_target", K_DURATION, F(health_count_target), "1s", "target for counting rows",
     NULL, "1h"},
    {"health.staging_target", K_DURATION, F(health_staging_target), "2s",
     "target for staging a sample", NULL, "1h"},
    {"health.checkpoint_lag", K_DURATION, F(health_checkpoint_lag), "1d",
     "pipeline checkpoint older than this warns", "1s", "365d"},
    {"health.record_interval", K_DURATION, F(health_record_interval), "5m",
     "serve's /health appends to the history at most this often", NULL, "365d"},
    {"health.history_keep", K_DURATION, F(health_history_keep), "90d",
     "results older than this leave the history when health records (0: kept)", NULL, "3650d"},
    {"validate.future_skew", K_DURATION, F(validate_future_skew), "5m",
     "timestamps later than now by more than this are in the future", NULL, "365d"},
    {"validate.max_length", K_INT, F(validate_max_length), "100000",
     "content longer than this many characters is out of bounds", "1", "1000000000"},
    {"validate.threshold", K_DOUBLE, F(validate_threshold), "1",
     "% of rows a rule may fail before it is critical (any failure warns)", "0", "100"},
    {"validate.examples", K_INT, F(validate_examples), "5", "example ids per rule", NULL, "100"},
};
#undef F
#define NKEYS (sizeof keys / sizeof keys[0])

_Static_assert(NKEYS <= sizeof(((eg_config *)0)->origin), "origin[] too small");

static const char *origin_names[] = {"default", "file", "profile", "command line"};

static char **slot(eg_config *cfg, const key_def *k)
{
    return (char **)((char *)cfg + k->off);
}

static const key_def *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].name, name))
            return &keys[i];
    return NULL;
}

/* Parses "1 year", "6 months", "30 days", "2y", "0". */
static int parse_age(const char *s, int *months, int *days)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || errno || v < 0 || v > 100000)
        return -1;
    while (*end == ' ')
        end++;
    if (v == 0 && *end == '\0') {
        *months = *days = 0;
        return 0;
    }
    if (!strcmp(end, "year") || !strcmp(end, "years") || !strcmp(end, "y")) {
        *months = (int)v * 12;
        *days = 0;
    } else if (!strcmp(end, "month") || !strcmp(end, "months") || !strcmp(end, "mon")) {
        *months = (int)v;
        *days = 0;
    } else if (!strcmp(end, "day") || !strcmp(end, "days") || !strcmp(end, "d")) {
        *months = 0;
        *days = (int)v;
    } else {
        return -1;
    }
    return 0;
}

/* Sets key k from text value; dir resolves relative paths (NULL: as given). */
static int set_value(eg_config *cfg, const key_def *k, const char *value, const char *dir,
                     const char *where)
{
    int64_t us;
    long n;
    char *end;
    switch (k->type) {
    case K_STR:
    case K_IDENT:
    case K_AGE:
    case K_PATH:
    case K_SOURCE: {
        char *v;
        const char *path = NULL;
        if (k->type == K_PATH)
            path = value;
        else if (k->type == K_SOURCE && !strncmp(value, "sqlite:", 7))
            path = value + 7;
        if (k->type == K_IDENT && !value[0])
            /* regression: the PostgreSQL source took an empty name as the default one (an empty
             * source.table read "memories"), the SQLite source looked for a table "" */
            return eg_error_set(EG_ECONFIG, "%s%s is empty", where, k->name),
                   eg_error_hint("name the %s, or leave the key out for the default (%s)", k->help,
                                 k->def),
                   EG_ECONFIG;
        if (k->type == K_PATH && !value[0])
            return eg_error_set(EG_ECONFIG, "%s%s is empty", where, k->name),
                   eg_error_hint("name the SQLite store file (the default is engram.db); an empty "
                                 "path would keep the data in a temporary database"),
                   EG_ECONFIG;
        if (k->type == K_AGE &&
            parse_age(value, &cfg->staging_max_age_months, &cfg->staging_max_age_days))
            return eg_error_set(EG_ECONFIG, "%s%s = \"%s\" is not an age", where, k->name, value),
                   eg_error_hint("use N years, N months, N days, or 0 to keep everything"),
                   EG_ECONFIG;
        if (path && dir && path[0] == '~') {
            /* regression: `store = ~/notes.db` was DIR/~/notes.db; ~ is the shell's, and a file
             * has no shell, so it is expanded here (only the user's own: ~/) */
            const char *home = getenv("HOME");
            if (path[1] != '/' && path[1] != '\0')
                return eg_error_set(EG_ECONFIG,
                                    "%s%s = \"%s\": only ~/ (your own home folder) is "
                                    "expanded",
                                    where, k->name, value),
                       eg_error_hint("write the full path (./~%s for a name that starts with ~)",
                                     path + 1),
                       EG_ECONFIG;
            if (!home || home[0] != '/')
                return eg_error_set(EG_ECONFIG,
                                    "%s%s = \"%s\": ~ needs HOME, which is not set "
                                    "to a full path",
                                    where, k->name, value),
                       EG_ECONFIG;
            size_t len = strlen(home) + strlen(path) + 16;
            v = malloc(len);
            if (v)
                snprintf(v, len, "%s%s%s", k->type == K_SOURCE ? "sqlite:" : "", home, path + 1);
        } else if (path && dir && path[0] != '/' && path[0]) {
            size_t len = strlen(dir) + strlen(path) + 16;
            v = malloc(len);
            if (v)
                snprintf(v, len, "%s%s/%s", k->type == K_SOURCE ? "sqlite:" : "", dir, path);
        } else if (k->type == K_SOURCE && !path && dir) {
            /* a libpq string: its relative file names (sslrootcert=ca.crt) are the file's too */
            int rc = eg_conninfo_resolve_paths(value, dir, &v);
            if (rc)
                return rc;
        } else {
            v = strdup(value);
        }
        if (!v)
            return eg_error_set(EG_ENOMEM, "out of memory");
        if (k->type == K_SOURCE && !v[0]) {
            free(v);
            v = NULL;
        }
        free(*slot(cfg, k));
        *slot(cfg, k) = v;
        return 0;
    }
    case K_DURATION:
        if (eg_duration_parse(value, &us))
            return eg_error_set(EG_ECONFIG, "%s%s = \"%s\" is not a duration", where, k->name,
                                value),
                   eg_error_hint("use a number with a unit: 300ms, 5s, 5m, 2h, 7d"), EG_ECONFIG;
        *(int64_t *)(void *)slot(cfg, k) = us;
        return 0;
    case K_DOUBLE: {
        errno = 0;
        double d = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(d) ||
            !eg_decimal_text(value, (size_t)(end - value)))
            return eg_error_set(EG_ECONFIG, "%s%s = \"%s\" is not a number", where, k->name, value);
        *(double *)(void *)slot(cfg, k) = d;
        return 0;
    }
    case K_DAYRANGE: {
        int h1, m1, h2, m2, used = 0;
        if (sscanf(value, "%d:%d-%d:%d%n", &h1, &m1, &h2, &m2, &used) != 4 || value[used] != '\0' ||
            h1 < 0 || h1 > 24 || h2 < 0 || h2 > 24 || m1 < 0 || m1 > 59 || m2 < 0 || m2 > 59)
            return eg_error_set(EG_ECONFIG, "%s%s = \"%s\" is not a time range like 02:00-04:00",
                                where, k->name, value);
        cfg->sleep_deep_from = h1 * 3600 + m1 * 60;
        cfg->sleep_deep_to = h2 * 3600 + m2 * 60;
        char *v = strdup(value);
        if (!v)
            return eg_error_set(EG_ENOMEM, "out of memory");
        free(*slot(cfg, k));
        *slot(cfg, k) = v;
        return 0;
    }
    case K_INT:
        errno = 0;
        n = strtol(value, &end, 10);
        if (end == value || *end || errno || n < 0 || n > INT_MAX)
            return eg_error_set(EG_ECONFIG, "%s%s = \"%s\" is not a non-negative integer", where,
                                k->name, value);
        *(int *)(void *)slot(cfg, k) = (int)n;
        return 0;
    }
    return 0;
}

/* inih's line buffer is ini_max_line bytes, 3 more than the longest line it takes whole; a longer
 * line it would cut and read on as the next one, so it is refused here. */
#define MAX_LINE ((1 << 20) - 3)
/* the key of the entry line_reader adds after each line when listing profiles */
#define PROBE "\x01"

/* The reader inih parses through: fgets that counts physical lines (inih does not tell its handler
 * the line), stops at a line longer than MAX_LINE and, when probing, follows each line with a
 * "PROBE=" entry so that the handler learns every section as inih itself parsed it (BOM, spaces,
 * comments, its length limit), an empty one too (inih calls the handler only for entries). */
typedef struct line_reader {
    FILE *f;
    int line;       /* the physical line of the text handed out last */
    size_t len;     /* bytes of that line so far */
    bool partial;   /* the last chunk ended inside a line */
    bool too_long;  /* stopped at a line over MAX_LINE bytes */
    bool probe;     /* add a PROBE entry after each line */
    bool probe_due; /* the next call returns it */
} line_reader;

static char *read_line(char *str, int num, void *stream)
{
    line_reader *r = stream;
    if (r->too_long)
        return NULL;
    if (r->probe_due) {
        r->probe_due = false;
        snprintf(str, (size_t)num, "%s=\n", PROBE);
        return str;
    }
    if (!fgets(str, num, r->f))
        return NULL;
    size_t n = strlen(str);
    bool nl = n && str[n - 1] == '\n';
    if (!r->partial) {
        r->line++;
        r->len = 0;
    }
    r->len += n;
    r->partial = !nl && n == (size_t)num - 1;
    if (r->len - nl > MAX_LINE) {
        r->too_long = true;
        return NULL;
    }
    if (r->probe && !r->partial)
        r->probe_due = true;
    return str;
}

typedef struct load_state {
    eg_config *cfg;
    const char *path;
    char *dir;
    line_reader *rd;
    const char *want;  /* profile to apply, or NULL */
    int pass;          /* 1: the defaults section; 2: the chosen profile */
    bool has_password; /* some `source` in the file, in any section, holds a password */
    int rc;            /* the first error; later lines are not looked at */
} load_state;

/* Takes an inline comment and one pair of quotes around the whole value off v, in place. A `;`
 * or `#` after white space starts a comment (inih's own inline comments are turned off: they
 * knew only `;`, so `source.table = notes  # the main one` was the table "notes  # the main
 * one", and no quotes), except inside quotes that open a token: at the start of the value, after
 * `=` or after white space (libpq's `password='a #b'`; an apostrophe inside a word, as in
 * Maya's, quotes nothing). A value quoted as a whole (`store = "my notes.db"`) loses its quotes;
 * a quote it opens but does not close is an error: -1. */
static int clean_value(char *v)
{
    size_t len = strlen(v), close = 0;
    char q = 0;
    for (size_t i = 0; i < len; i++) {
        bool token_start = i == 0 || v[i - 1] == '=' || isspace((unsigned char)v[i - 1]);
        if (q) {
            if (q == '\'' && v[i] == '\\' && v[i + 1])
                i++; /* libpq's \' and \\ */
            else if (v[i] == q) {
                q = 0;
                if (!close)
                    close = i; /* the first quoted token's end */
            }
        } else if ((v[i] == '"' || v[i] == '\'') && token_start) {
            q = v[i];
        } else if ((v[i] == ';' || v[i] == '#') && i > 0 && isspace((unsigned char)v[i - 1])) {
            len = i;
            break;
        }
    }
    while (len && isspace((unsigned char)v[len - 1]))
        len--;
    v[len] = '\0';
    if (len && (v[0] == '"' || v[0] == '\'')) {
        if (q && close == 0)
            return -1;
        if (len >= 2 && close == len - 1) {
            memmove(v, v + 1, len - 2);
            v[len - 2] = '\0';
        }
    }
    return 0;
}

static int on_entry(void *user, const char *section, const char *name, const char *raw)
{
    load_state *st = user;
    const char *prof = NULL;
    char where[300], *value = NULL;
    int ok = 0;
    if (st->rc)
        return 0;
    if (section[0]) {
        if (strncmp(section, "profile ", 8) != 0 || !section[8]) {
            st->rc = eg_error_set(EG_ECONFIG, "unknown section [%s]", section);
            eg_error_hint("profiles are written [profile NAME]; other keys go before any section");
            goto done;
        }
        prof = section + 8;
    }
    const key_def *k = find_key(name);
    if (!k) {
        const char *near = eg_suggest(name, &keys[0].name, NKEYS, sizeof keys[0]);
        st->rc = eg_error_set(EG_ECONFIG, "unknown key \"%s\"%s%s%s", name,
                              prof ? " in [profile " : "", prof ? prof : "", prof ? "]" : "");
        if (near)
            eg_error_hint("did you mean %s? `engram config check` lists every key", near);
        else
            eg_error_hint("`engram config check` lists every key");
        goto done;
    }
    if (!(value = strdup(raw))) {
        st->rc = eg_error_set(EG_ENOMEM, "out of memory");
        goto done;
    }
    if (clean_value(value)) {
        st->rc =
            eg_error_set(EG_ECONFIG, "%s: the quote that opens the value is not closed", k->name);
        eg_error_hint("a `;` or `#` after white space starts a comment, except inside quotes");
        goto done;
    }
    if (st->pass == 1 && k->type == K_SOURCE && strncmp(value, "sqlite:", 7) &&
        eg_conninfo_has_password(value))
        st->has_password = true;
    if ((st->pass == 1 && prof) || (st->pass == 2 && (!prof || strcmp(prof, st->want)))) {
        ok = 1;
        goto done;
    }
    snprintf(where, sizeof where, "%s%s%s", prof ? "[profile " : "", prof ? prof : "",
             prof ? "] " : "");
    if (set_value(st->cfg, k, value, st->dir, where)) {
        st->rc = eg_error_last()->code;
        goto done;
    }
    st->cfg->origin[k - keys] = prof ? 2 : 1;
    st->cfg->line[k - keys] = st->rd->line;
    ok = 1;
done:
    free(value);
    return ok;
}

/* The profiles of a file, in order, each with the line of its first [profile NAME]. */
typedef struct profile_list {
    char **name;
    int *line;
    size_t n;
    line_reader *rd;
    int rc;       /* out of memory, or a profile name that cannot be given to --profile */
    char *bad;    /* the first section that is not [profile NAME], or NULL */
    int bad_line; /* its line */
} profile_list;

static void profile_list_free(profile_list *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        free(pl->name[i]);
    free(pl->name);
    free(pl->line);
    free(pl->bad);
    pl->name = NULL;
    pl->line = NULL;
    pl->bad = NULL;
    pl->n = 0;
}

static int on_probe(void *user, const char *section, const char *name, const char *value)
{
    profile_list *pl = user;
    (void)value;
    if (strcmp(name, PROBE) || !section[0])
        return 1;
    if (strncmp(section, "profile ", 8)) {
        /* pass 1 reports one with keys at its first key; an empty one only it sees */
        if (!pl->bad && !(pl->bad = strdup(section))) {
            pl->rc = eg_error_set(EG_ENOMEM, "out of memory");
            return 0;
        }
        if (!pl->bad_line)
            pl->bad_line = pl->rd->line;
        return 1;
    }
    const char *p = section + 8;
    size_t len = strlen(p);
    for (size_t i = 0; i < pl->n; i++)
        if (!strcmp(pl->name[i], p))
            return 1;
    if (!len || isspace((unsigned char)p[0]) || isspace((unsigned char)p[len - 1])) {
        /* "[profile x ]" would be a profile "x " that --profile x does not find */
        pl->rc = eg_error_set(EG_ECONFIG,
                              "%d: [%s]: a profile name must not be empty nor start "
                              "or end with white space",
                              pl->rd->line, section);
        return 0;
    }
    char **nn = realloc(pl->name, (pl->n + 1) * sizeof *nn);
    if (nn)
        pl->name = nn;
    int *nl = realloc(pl->line, (pl->n + 1) * sizeof *nl);
    if (nl)
        pl->line = nl;
    if (!nn || !nl || !(pl->name[pl->n] = strdup(p))) {
        pl->rc = eg_error_set(EG_ENOMEM, "out of memory");
        return 0;
    }
    pl->line[pl->n++] = pl->rd->line;
    return 1;
}

static int file_exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

/* The config file per the search order, or NULL. Returns a malloc'd path. */
static char *find_file(const char *given)
{
    const char *env = getenv("ENGRAM_CONFIG");
    char buf[PATH_MAX];
    if (given)
        return strdup(given);
    if (env && *env)
        return strdup(env);
    if (file_exists("engram.conf"))
        return strdup("engram.conf");
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(buf, sizeof buf, "%s/engram/engram.conf", xdg);
    else if (home && *home)
        snprintf(buf, sizeof buf, "%s/.config/engram/engram.conf", home);
    else
        return NULL;
    return file_exists(buf) ? strdup(buf) : NULL;
}

/* Puts prefix before the message of the last error (which on_entry or set_value wrote). */
static void prefix_error(const char *prefix)
{
    eg_error *e = (eg_error *)eg_error_last();
    char msg[sizeof e->message + PATH_MAX + 64];
    snprintf(msg, sizeof msg, "%s%s", prefix, e->message);
    size_t n = strlen(msg);
    if (n >= sizeof e->message)
        n = sizeof e->message - 1;
    memcpy(e->message, msg, n);
    e->message[n] = '\0';
}

/* Reads path's defaults section, then (want) its profile want, into cfg; profiles (if given)
 * gets every profile the file defines. */
static int load_file(eg_config *cfg, const char *path, const char *want, bool *has_password,
                     profile_list *profiles)
{
    line_reader rd = {0};
    load_state st = {.cfg = cfg, .path = path, .want = want, .rd = &rd};
    profile_list pl = {.rd = &rd};
    int rc = 0, line;
    char *slash, *copy = strdup(path), prefix[PATH_MAX + 32];
    if (!copy)
        return eg_error_set(EG_ENOMEM, "out of memory");
    slash = strrchr(copy, '/');
    if (slash) {
        *slash = '\0';
        st.dir = realpath(slash == copy ? "/" : copy, NULL);
    } else {
        st.dir = realpath(".", NULL);
    }
    free(copy);
    /* Debian's inih reads these at run time: no line length limit, stop at the first error; an
     * indented line is a line of its own (inih would take it as a continuation of the previous
     * value, so `\tstore = x.db` under `\twm.tick = 30s` became the value of wm.tick) */
    ini_allow_multiline = false;
    ini_allow_inline_comments = false; /* clean_value() takes them off, knowing quotes */
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = MAX_LINE + 3;
    ini_stop_on_first_error = true;
    rd.f = fopen(path, "r");
    if (!rd.f) {
        rc = eg_error_set(EG_EIO, "could not read config file \"%s\": %s", path, strerror(errno));
        goto done;
    }
    struct stat sb;
    if (!fstat(fileno(rd.f), &sb) && S_ISDIR(sb.st_mode)) {
        /* fopen(3) opens a folder for reading and inih then sees an empty file */
        rc = eg_error_set(EG_EIO, "config file \"%s\" is a directory, not a file", path);
        goto done;
    }
    /* pass 0 lists the profiles, through inih itself (a syntax error is pass 1's to report) */
    for (st.pass = 0; st.pass <= (want ? 2 : 1); st.pass++) {
        rewind(rd.f);
        rd.line = 0;
        rd.len = 0;
        rd.partial = rd.probe_due = false;
        rd.probe = st.pass == 0;
        line = st.pass == 0 ? ini_parse_stream(read_line, &rd, on_probe, &pl)
                            : ini_parse_stream(read_line, &rd, on_entry, &st);
        if (rd.too_long) {
            rc = eg_error_set(EG_ECONFIG, "%s:%d: line longer than %d bytes", path, rd.line,
                              MAX_LINE);
            goto done;
        }
        if (st.pass == 0) {
            if (pl.rc) {
                if (pl.rc == EG_ECONFIG) {
                    snprintf(prefix, sizeof prefix, "%s:", path);
                    prefix_error(prefix);
                }
                rc = pl.rc;
                goto done;
            }
            if (line == 0 && want) {
                size_t i = 0;
                while (i < pl.n && strcmp(pl.name[i], want))
                    i++;
                if (i == pl.n && pl.bad) {
                    /* "[ profile A]" or "[Profile A]": the profile wanted is most likely that
                     * section, which the file never defines as a profile; the listing of the
                     * profiles would hide the cause */
                    rc = eg_error_set(EG_ECONFIG, "%s:%d: unknown section [%s]", path, pl.bad_line,
                                      pl.bad);
                    eg_error_hint(
                        "profiles are written [profile NAME]; other keys go before any section");
                    goto done;
                }
                if (i == pl.n) {
                    char names[1024] = "";
                    for (size_t j = 0, len = 0; j < pl.n && len < sizeof names; j++)
                        len += (size_t)snprintf(names + len, sizeof names - len, "%s%s",
                                                j ? ", " : "", pl.name[j]);
                    rc = eg_error_set(EG_ECONFIG, "unknown profile \"%s\" in %s", want, path);
                    eg_error_detail("profiles in %s: %s", path, pl.n ? names : "(none)");
                    goto done;
                }
            }
            continue;
        }
        if (st.rc) {
            snprintf(prefix, sizeof prefix, "%s:%d: ", path, rd.line);
            prefix_error(prefix);
            rc = st.rc;
            goto done;
        }
        if (line != 0) {
            rc = eg_error_set(EG_ECONFIG, "%s:%d: syntax error", path, line);
            eg_error_hint("lines are `key = value`; sections are [profile NAME]");
            goto done;
        }
        if (st.pass == 1 && pl.bad) {
            /* regression: an empty [databse] or [profile] (no name) was silently ignored */
            rc = eg_error_set(EG_ECONFIG, "%s:%d: unknown section [%s]", path, pl.bad_line, pl.bad);
            eg_error_hint("profiles are written [profile NAME]; other keys go before any section");
            goto done;
        }
    }
    *has_password = st.has_password;
    if (profiles) {
        *profiles = pl;
        pl.name = NULL;
        pl.line = NULL;
        pl.n = 0;
    }
done:
    profile_list_free(&pl);
    if (rd.f)
        fclose(rd.f);
    free(st.dir);
    return rc;
}

static int check_secret_mode(const eg_config *cfg, bool has_password)
{
    struct stat sb;
    if (!cfg->file || !has_password || stat(cfg->file, &sb) != 0 || (sb.st_mode & 077) == 0)
        return 0;
    eg_error_set(EG_EPERM, "%s holds a password but its mode is %04o, readable by others",
                 cfg->file, (unsigned)(sb.st_mode & 07777));
    eg_error_hint("run `chmod 600 %s`, or better, move the password to ~/.pgpass, PGPASSFILE or "
                  "a service file",
                  cfg->file);
    return EG_EPERM;
}

/* A key's value as a number for the bounds check (durations in µs); false for text keys. */
static bool numeric_value(const eg_config *cfg, const key_def *k, double *v)
{
    char **s = slot((eg_config *)cfg, k);
    switch (k->type) {
    case K_DURATION:
        *v = (double)*(int64_t *)(void *)s;
        return true;
    case K_INT:
        *v = *(int *)(void *)s;
        return true;
    case K_DOUBLE:
        *v = *(double *)(void *)s;
        return true;
    default:
        return false;
    }
}

/* A bound written in the key's own syntax, as a number comparable with numeric_value. */
static double bound_value(const key_def *k, const char *text)
{
    int64_t us = 0;
    if (k->type == K_DURATION) {
        (void)eg_duration_parse(text, &us);
        return (double)us;
    }
    return strtod(text, NULL);
}

/* Writes into out where a bad value comes from: "FILE:LINE: [profile P] " for the key that the
 * file set (of name and other, the one set last: a profile's over the defaults section's, else
 * the later line), "FILE: " when neither was, "the configuration: " without a file. */
static const char *key_where(const eg_config *cfg, const char *name, const char *other, char *out,
                             size_t n)
{
    const key_def *a = find_key(name), *b = other ? find_key(other) : NULL, *k = a;
    if (b) {
        size_t i = (size_t)(a - keys), j = (size_t)(b - keys);
        bool take_b =
            cfg->line[j] && (!cfg->line[i] || cfg->origin[j] > cfg->origin[i] ||
                             (cfg->origin[j] == cfg->origin[i] && cfg->line[j] > cfg->line[i]));
        if (take_b)
            k = b;
    }
    size_t i = (size_t)(k - keys);
    if (!cfg->file)
        snprintf(out, n, "the configuration: ");
    else if (!cfg->line[i])
        snprintf(out, n, "%s: ", cfg->file);
    else if (cfg->origin[i] == 2)
        snprintf(out, n, "%s:%d: [profile %s] ", cfg->file, cfg->line[i],
                 cfg->profile ? cfg->profile : "?");
    else
        snprintf(out, n, "%s:%d: ", cfg->file, cfg->line[i]);
    return out;
}

/* The stemming language, checked the way the stages will open it (libstemmer also takes a
 * few aliases such as "en" that sb_stemmer_list() does not list). */
static int check_language(const eg_config *cfg)
{
    struct sb_stemmer *st = sb_stemmer_new(cfg->staging_language, "UTF_8");
    if (st) {
        sb_stemmer_delete(st);
        return 0;
    }
    char where[PATH_MAX + 64], list[600];
    size_t n = 0;
    list[0] = '\0';
    for (const char **l = sb_stemmer_list(); *l && n + strlen(*l) + 8 < sizeof list; l++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", n ? ", " : "", *l);
    eg_error_set(EG_ECONFIG, "%sstaging.language = \"%s\" is not a stemming language",
                 key_where(cfg, "staging.language", NULL, where, sizeof where),
                 cfg->staging_language);
    eg_error_hint("languages: %s", list);
    return EG_ECONFIG;
}

/* Values that parse but are out of their range or make no sense together: an error naming the
 * key and the bound. */
static int validate(const eg_config *cfg)
{
    char where[PATH_MAX + 64];
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        double v, lo, hi;
        if ((!k->lo && !k->hi) || !numeric_value(cfg, k, &v))
            continue;
        lo = k->lo ? bound_value(k, k->lo) : -HUGE_VAL;
        hi = k->hi ? bound_value(k, k->hi) : HUGE_VAL;
        if (v >= lo && v <= hi)
            continue;
        key_where(cfg, k->name, NULL, where, sizeof where);
        if (k->lo && k->hi)
            eg_error_set(EG_ECONFIG, "%s%s must be between %s and %s", where, k->name, k->lo,
                         k->hi);
        else if (k->lo)
            eg_error_set(EG_ECONFIG, "%s%s must be at least %s", where, k->name, k->lo);
        else
            eg_error_set(EG_ECONFIG, "%s%s must be at most %s", where, k->name, k->hi);
        return EG_ECONFIG;
    }
#define BAD2(key, other, why)                                                                      \
    do {                                                                                           \
        eg_error_set(EG_ECONFIG, "%s%s %s", key_where(cfg, key, other, where, sizeof where), key,  \
                     why);                                                                         \
        return EG_ECONFIG;                                                                         \
    } while (0)
#define BAD(key, why) BAD2(key, NULL, why)
    if (cfg->wm_window < cfg->wm_tick)
        BAD2("wm.window", "wm.tick",
             "must be at least wm.tick (a presentation would leave before a tick)");
    if (cfg->wm_jitter >= cfg->wm_capacity)
        BAD2("wm.jitter", "wm.capacity", "must be smaller than wm.capacity");
    if (cfg->hebbian_rate <= 0 || cfg->hebbian_rate >= 1)
        BAD("hebbian.rate", "must be in (0, 1)");
    if (cfg->hebbian_decay < 0)
        BAD("hebbian.decay", "must not be negative");
    if (cfg->forgetting_rate <= 0 || cfg->forgetting_rate > 1)
        BAD("forgetting.rate", "must be in (0, 1]");
    if (cfg->stm_min_overlap < 0 || cfg->stm_min_overlap > 1)
        BAD("stm.min_overlap", "must be in [0, 1]");
    if (cfg->consolidation_threshold <= 0)
        BAD("consolidation.threshold", "must be greater than 0");
    if (cfg->consolidation_max_associates < 0 || cfg->consolidation_max_associates > 64)
        BAD("consolidation.max_associates", "must be between 0 and 64");
    if (cfg->consolidation_max_concepts < 0 || cfg->consolidation_max_concepts > 32)
        BAD("consolidation.max_concepts", "must be between 0 and 32");
    if (cfg->hebbian_max_concepts < 0 || cfg->hebbian_max_concepts > 32)
        BAD("hebbian.max_concepts", "must be between 0 and 32");
    if (cfg->homeostasis_max_out <= 0)
        BAD("homeostasis.max_out", "must be greater than 0");
    if (cfg->homeostasis_target <= 0)
        BAD("homeostasis.target", "must be greater than 0");
    if (cfg->sleep_deep_from > 86400 || cfg->sleep_deep_to > 86400)
        BAD("sleep.deep", "times must be at most 24:00");
    if (cfg->recall_noise <= 0)
        BAD("recall.s", "must be greater than 0");
    if (cfg->activation_decay <= 0)
        BAD("activation.decay", "must be greater than 0");
    if (cfg->health_stale < cfg->health_fresh)
        BAD2("health.stale", "health.fresh",
             "must be at least health.fresh (older than stale is critical, "
             "younger than fresh healthy)");
    if (cfg->health_quality_warn > cfg->health_quality_ok)
        BAD2("health.quality_warn", "health.quality_ok", "must be at most health.quality_ok");
    if (cfg->health_volume_sigma <= 0)
        BAD("health.volume_sigma", "must be greater than 0");
#undef BAD2
#undef BAD
    return check_language(cfg);
}

int eg_config_load(eg_config *cfg, const eg_config_args *args)
{
    int rc = 0;
    profile_list profiles = {0};
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].def && (rc = set_value(cfg, &keys[i], keys[i].def, NULL, "default ")))
            goto fail;
    const char *want = args && args->profile ? args->profile : getenv("ENGRAM_PROFILE");
    if (want && !*want)
        want = NULL;
    bool has_password = false;
    cfg->file = find_file(args ? args->config_file : NULL);
    if (cfg->file) {
        if ((rc = load_file(cfg, cfg->file, want, &has_password, &profiles)))
            goto fail;
    } else if (want) {
        rc = eg_error_set(EG_ECONFIG, "unknown profile \"%s\": no config file found", want);
        eg_error_hint("pass --config FILE or set ENGRAM_CONFIG; searched ./engram.conf and "
                      "$XDG_CONFIG_HOME/engram/engram.conf");
        goto fail;
    }
    if (want && !(cfg->profile = strdup(want))) {
        rc = eg_error_set(EG_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = check_secret_mode(cfg, has_password)) || (rc = validate(cfg)))
        goto fail;
    /* config check: every other profile must load too (the first bad value is reported with its
     * file, line and profile); unknown keys anywhere are found by every load already */
    for (size_t i = 0; args && args->all_profiles && i < profiles.n; i++) {
        if (want && !strcmp(profiles.name[i], want))
            continue;
        eg_config other;
        eg_config_args oa = {.config_file = cfg->file, .profile = profiles.name[i]};
        if ((rc = eg_config_load(&other, &oa)))
            goto fail;
        eg_config_free(&other);
    }
    profile_list_free(&profiles);
    if (args && args->store) {
        const key_def *k = find_key("store");
        if (!args->store[0]) {
            rc = eg_error_set(EG_EUSAGE, "--store is empty");
            eg_error_hint("name the SQLite store file; an empty path would keep the data in a "
                          "temporary database that is gone when engram exits");
            goto fail;
        }
        if ((rc = set_value(cfg, k, args->store, NULL, "--store ")))
            goto fail;
        cfg->origin[k - keys] = 3;
    }
    if (args && args->source) {
        const key_def *k = find_key("source");
        if (strncmp(args->source, "sqlite:", 7) && eg_conninfo_has_password(args->source)) {
            rc = eg_error_set(EG_EUSAGE, "--source holds a password, which other users can read "
                                         "in the process list");
            eg_error_hint("give the password through ~/.pgpass, PGPASSFILE, PGPASSWORD or a "
                          "service file instead");
            goto fail;
        }
        if ((rc = set_value(cfg, k, args->source, NULL, "--source ")))
            goto fail;
        cfg->origin[k - keys] = 3;
    }
    return 0;
fail:
    profile_list_free(&profiles);
    eg_config_free(cfg);
    return rc;
}

void eg_config_free(eg_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].type != K_DURATION && keys[i].type != K_INT && keys[i].type != K_DOUBLE) {
            free(*slot(cfg, &keys[i]));
            *slot(cfg, &keys[i]) = NULL;
        }
    free(cfg->file);
    free(cfg->profile);
    cfg->file = cfg->profile = NULL;
}

uint64_t eg_config_digest(const eg_config *cfg)
{
    static const char *const groups[] = {
        "staging.",    "wm.",    "stm.",         "hebbian.", "consolidation.",
        "forgetting.", "sleep.", "homeostasis.", "rem."};
    XXH3_state_t *h = XXH3_createState();
    if (!h)
        return 0; /* no digest matches: nothing is resumed */
    XXH3_64bits_reset(h);
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        bool shapes = false;
        for (size_t g = 0; g < sizeof groups / sizeof *groups && !shapes; g++)
            shapes = !strncmp(k->name, groups[g], strlen(groups[g]));
        /* the staging window decides what staging shows, not what the pipeline takes (every
         * memory at its own time, docs/adr/0010): changing it recomputes nothing */
        if (!shapes || !strcmp(k->name, "staging.max_age"))
            continue;
        XXH3_64bits_update(h, k->name, strlen(k->name) + 1);
        char **s = slot((eg_config *)cfg, k);
        switch (k->type) {
        case K_DURATION:
            XXH3_64bits_update(h, s, sizeof(int64_t));
            break;
        case K_INT:
            XXH3_64bits_update(h, s, sizeof(int));
            break;
        case K_DOUBLE:
            XXH3_64bits_update(h, s, sizeof(double));
            break;
        case K_DAYRANGE: { /* the times it means, not how they were written (2:00 = 02:00) */
            int64_t range[2] = {cfg->sleep_deep_from, cfg->sleep_deep_to};
            XXH3_64bits_update(h, range, sizeof range);
            break;
        }
        default:
            if (*s)
                XXH3_64bits_update(h, *s, strlen(*s) + 1);
            break;
        }
    }
    uint64_t d = XXH3_64bits_digest(h);
    XXH3_freeState(h);
    return d;
}

void eg_config_visit(const eg_config *cfg, eg_config_visit_fn fn, void *ud)
{
    char val[1024], origin[300];
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        char **s = slot((eg_config *)cfg, k);
        bool unset = false;
        switch (k->type) {
        case K_DURATION: {
            int64_t us = *(int64_t *)(void *)s;
            if (us % 1000000 == 0)
                snprintf(val, sizeof val, "%llds", (long long)(us / 1000000));
            else
                snprintf(val, sizeof val, "%lldms", (long long)(us / 1000));
            break;
        }
        case K_INT:
            snprintf(val, sizeof val, "%d", *(int *)(void *)s);
            break;
        case K_DOUBLE:
            snprintf(val, sizeof val, "%g", *(double *)(void *)s);
            break;
        case K_SOURCE:
            if (!*s)
                unset = true;
            else if (!strncmp(*s, "sqlite:", 7))
                snprintf(val, sizeof val, "%s", *s);
            else if (eg_conninfo_mask(*s, val, sizeof val))
                snprintf(val, sizeof val, "(unparseable connection string)");
            break;
        default:
            unset = !*s;
            snprintf(val, sizeof val, "%s", *s ? *s : "");
            break;
        }
        if (cfg->origin[i] == 2)
            snprintf(origin, sizeof origin, "profile %s", cfg->profile ? cfg->profile : "?");
        else
            snprintf(origin, sizeof origin, "%s", origin_names[cfg->origin[i]]);
        fn(k->name, unset ? NULL : val, origin, ud);
    }
}
