/*
 * engram/validate.h — data validation (SPEC §11): rules over the source table and the store.
 *
 * eg_validate_run checks one or both targets with a fixed list of rules (uniqueness, temporal
 * order and future timestamps, content quality, metadata shape, duplicate content, per-day volume,
 * freshness). On PostgreSQL each rule is one query pushed down to the server; on the embedded
 * store the same rules run as SQLite SQL. docs/VALIDATION.md says what each rule checks.
 * The report is owned by the caller: eg_validate_free releases it (NULL is fine).
 */
#ifndef ENGRAM_VALIDATE_H
#define ENGRAM_VALIDATE_H

#include <stdint.h>

#include "engram/config.h"
#include "engram/engram.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    EG_VALID_OK = 0,
    EG_VALID_WARNING = 1,
    EG_VALID_CRITICAL = 2,
    EG_VALID_UNKNOWN = 3,
} eg_valid_status;

enum { EG_VALIDATE_MAX_EXAMPLES = 100 };

typedef enum {
    EG_VALIDATE_SOURCE = 1, /* the configured source (the store's `memories` without one) */
    EG_VALIDATE_STORE = 2,  /* the store's staged `memory` table */
    EG_VALIDATE_BOTH = 3,
} eg_validate_target;

typedef struct eg_valid_rule {
    const char *target; /* "source" or "store" (static) */
    const char *rule;   /* static name, e.g. "uniqueness" */
    eg_valid_status status;
    int64_t count, total;
    double percent;   /* 100 * count / total; 0 when total is 0 */
    double threshold; /* percent above which the rule is critical */
    char *detail;     /* a short note (volume: mean and sigma; freshness: age), or NULL */
    char **examples;  /* up to nexamples ids (a NULL id is the string "(null)") */
    int nexamples;
} eg_valid_rule;

typedef struct eg_validate_report {
    int64_t at;
    eg_validate_target target;
    eg_valid_status status; /* the worst: critical, then warning, then unknown, then ok */
    eg_valid_rule *rules;
    int nrules;
} eg_validate_report;

/* Runs the rules at now on target, with up to examples example ids per rule (capped at
 * EG_VALIDATE_MAX_EXAMPLES), and appends the results to the store's validation table in one
 * transaction. st may be NULL when the store does not exist and the source is not the store's
 * own table (cfg->source set) and target is EG_VALIDATE_SOURCE: nothing is recorded then. A source
 * that cannot be opened or a failing query is reported as an error (the last error is set) after
 * the rules that did run are kept in *out with status UNKNOWN. */
int eg_validate_run(eg_validate_report **out, const eg_config *cfg, eg_store *st,
                    eg_validate_target target, int64_t now, int examples);
void eg_validate_free(eg_validate_report *r);
const char *eg_valid_status_name(eg_valid_status s);

#ifdef __cplusplus
}
#endif
#endif
