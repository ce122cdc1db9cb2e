/*
 * config.h — engram's configuration: defaults, one INI file with named profiles, command-line
 * overrides, and the effective values with where each came from.
 *
 * File format (engram.conf): `key = value` lines before any section are the defaults; a section
 * `[profile NAME]` holds a profile's overrides. Keys are dotted names as in SPEC.md (source.table,
 * staging.max_age, ...). Relative paths resolve against the file's folder. Search order: --config,
 * ENGRAM_CONFIG, ./engram.conf, $XDG_CONFIG_HOME/engram/engram.conf (or ~/.config/...); no file is
 * fine. The profile comes from --profile or ENGRAM_PROFILE.
 *
 * The config owns all its strings; eg_config_free releases them. After loading it is read-only.
 * Public: embedders load a configuration this way too (the struct may grow between versions).
 */
#ifndef ENGRAM_CONFIG_H
#define ENGRAM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct eg_config {
    /* where the configuration came from */
    char *file;    /* the file read, or NULL */
    char *profile; /* the profile applied, or NULL */

    char *store;  /* store path (SQLite file); default "engram.db" */
    char *source; /* NULL: the store's own memories table; "sqlite:PATH"; else a libpq conninfo */

    /* source table mapping */
    char *source_schema, *source_table;
    char *col_id, *col_content, *col_created_at, *col_updated_at, *col_metadata;
    char *source_system; /* label written to staging.source_system; NULL: derived from the kind */

    /* source behaviour */
    int64_t source_lookback;          /* us */
    int64_t source_connect_timeout;   /* us (whole seconds used) */
    int64_t source_statement_timeout; /* us */
    int source_retries;               /* attempts after the first */
    int64_t source_retry_delay;       /* us, first backoff step */

    /* staging (SPEC §5) */
    int staging_max_age_months; /* calendar months; with _days, 0 and 0 keep everything */
    int staging_max_age_days;
    char *staging_max_age_text;
    char *staging_language;
    int staging_max_concepts;

    /* ingest */
    int ingest_batch_rows;

    /* the biological pipeline (SPEC §7); durations in µs */
    int64_t wm_tick, wm_window, wm_tau;
    int wm_capacity, wm_jitter;
    int64_t stm_episode_gap, stm_duration;
    double stm_min_overlap;
    double hebbian_rate, hebbian_decay; /* decay per day */
    int hebbian_max_concepts;           /* concepts per memory that take part in concept learning */
    int64_t consolidation_interval;
    double consolidation_threshold;
    int consolidation_max_replays;
    int consolidation_max_associates;
    int consolidation_max_concepts; /* concepts per memory searched for replay associates */
    double forgetting_rate;
    char *sleep_deep_text;              /* "02:00-04:00" */
    int sleep_deep_from, sleep_deep_to; /* seconds of the UTC day */
    double homeostasis_max_out, homeostasis_target;
    int homeostasis_max_degree; /* live edges a concept keeps at most (0: no bound) */
    int rem_batch;

    /* recall (SPEC §8) */
    double recall_alpha, recall_beta, recall_gamma, recall_s_max, recall_tau, recall_noise;
    double activation_decay; /* ACT-R d */

    /* health (SPEC §10) and validation (SPEC §11); durations in µs, percentages 0..100 */
    int64_t health_connection_warn, health_fresh, health_stale;
    double health_volume_sigma;
    int health_volume_min;
    double health_quality_ok, health_quality_warn;
    int64_t health_count_target, health_staging_target, health_checkpoint_lag;
    int64_t health_record_interval; /* serve's /health records at most this often */
    int64_t health_history_keep;    /* older results leave health_history (0: kept) */
    int64_t validate_future_skew;
    int validate_max_length;
    double validate_threshold;
    int validate_examples;

    unsigned char origin[128]; /* per key of the key table: 0 default, 1 file, 2 profile, 3 args */
    int line[128];             /* per key: the file's line that set it last (0: not the file) */
} eg_config;

/* What the command line gives; NULL fields were not given. */
typedef struct eg_config_args {
    const char *config_file;
    const char *profile;
    const char *store;
    const char *source;
    bool all_profiles; /* also load every other profile of the file, to report its first bad
                          value (`engram config check`); cfg is still the chosen one */
} eg_config_args;

/* Loads defaults, then the file (searched as above) and profile, then args. On error sets the
 * last error (file and line named) and returns EG_ECONFIG, EG_EPERM or EG_EIO; cfg is then freed.
 */
int eg_config_load(eg_config *cfg, const eg_config_args *args);
void eg_config_free(eg_config *cfg);

/* Calls fn for each effective setting in a stable order: key, value (secrets masked; NULL for
 * a setting with no value, such as source without a --source: the store's own table), origin
 * ("default", "file", "profile NAME", "command line"). */
typedef void (*eg_config_visit_fn)(const char *key, const char *value, const char *origin,
                                   void *ud);
void eg_config_visit(const eg_config *cfg, eg_config_visit_fn fn, void *ud);

/* A 64-bit digest of the settings that shape the pipeline's results (staging.*, wm.*, stm.*,
 * hebbian.*, consolidation.*, forgetting.*, sleep.*, homeostasis.*, rem.*), from their exact
 * values: two configurations with the same digest simulate alike. Nothing secret goes in. */
uint64_t eg_config_digest(const eg_config *cfg);

#endif
