/*
 * migrations.h — the store's numbered schema migrations.
 *
 * Migration k (1-based) takes the schema from version k-1 to k. They only ever get appended:
 * a released migration is never edited. eg__store_migrate runs the missing ones, each in its own
 * transaction together with the PRAGMA user_version bump.
 */
#ifndef EG_STORE_MIGRATIONS_H
#define EG_STORE_MIGRATIONS_H

typedef struct sqlite3 sqlite3;

/* The DDL that drops / creates the index of `memory` that bulk loads rebuild. */
extern const char *const eg__store_memory_indexes;
extern const char *const eg__store_memory_indexes_drop;
extern const char *const eg__store_memories_log_triggers;
extern const char *const eg__store_memories_log_triggers_drop;

/* The rows of `memory` the biological pipeline takes (docs/adr/0010): staged, or outside the
 * staging window, and not deleted at the source. The text is also the WHERE of the partial index
 * memory_input (migration 13): a query that repeats it word for word can use that index. */
#define EG_PIPELINE_INPUT                                                                          \
    "(status = 'staged' OR skip_reason = 'out_of_window') AND deleted_at_source IS NULL"

/* The long-term records at the checkpoint, the last run's now (SPEC §7.4, docs/adr/0012):
 * ltm_record's columns with the column rank, the retrieval strength and the memory age, which
 * move with now for nearly every record and are computed when read, exactly as the engine's
 * eg__retrieval_strength does. EG_LTM_RANKED is every record ranked in its column (w_rank)
 * with what its strength and age are computed from (w_*): a window that reads the covering
 * index ltm_record_column in order, no sort and no table (0.5 s at 1M); EG_LTM_RS and
 * EG_LTM_AGE are the two at the checkpoint over those columns. EG_LTM_SELECT <ranked> " w JOIN
 * ltm_record r ON r.memory_rowid = w.w_rowid" is the whole record: the `ltm` view with
 * EG_LTM_RANKED (1.5 s at 1M), the trace of one memory with EG_LTM_ONE, which counts the
 * records above it in the index. */
#define EG_LTM_NOW "(SELECT value FROM sim_state WHERE key = 'checkpoint')"
#define EG_LTM_RS                                                                                  \
    "(0.3 * w_cs + 0.2 / sqrt(w_rank) +\n"                                                         \
    "   0.3 * exp(-max(0, " EG_LTM_NOW " - w_ca) / 86400000000.0 / 30.0) +\n"                      \
    "   0.2 * ln(1 + w_recalls) / ln(100)) * w_damping"
#define EG_LTM_AGE                                                                                 \
    "CASE WHEN " EG_LTM_NOW " - w_t0 < 86400000000 THEN 'recent'\n"                                \
    "    WHEN " EG_LTM_NOW " - w_t0 < 604800000000 THEN 'week_old'\n"                              \
    "    WHEN " EG_LTM_NOW " - w_t0 < 2592000000000 THEN 'month_old' ELSE 'remote' END"
#define EG_LTM_W_COLUMNS                                                                           \
    "memory_rowid AS w_rowid, consolidated_strength AS w_cs, consolidated_at AS w_ca,\n"           \
    "    recalls AS w_recalls, damping AS w_damping, t0 AS w_t0,\n    "
#define EG_LTM_RANKED                                                                              \
    "(SELECT " EG_LTM_W_COLUMNS "row_number() OVER (PARTITION BY semantic_category,\n"             \
    "      cortical_region ORDER BY consolidated_strength DESC, memory_id) AS w_rank\n"            \
    "  FROM ltm_record)"
#define EG_LTM_SELECT                                                                              \
    "SELECT r.memory_rowid, r.semantic_category, r.knowledge_type, r.cortical_region,\n"           \
    "  r.abstraction_level, r.minicolumn_id, r.macrocolumn_id, w_rank AS column_rank,\n"           \
    "  " EG_LTM_RS " AS retrieval_strength,\n  " EG_LTM_AGE " AS memory_age,\n"                    \
    "  r.consolidation_state\nFROM "
#define EG_LTM_JOIN " w JOIN ltm_record r ON r.memory_rowid = w.w_rowid"
#define EG_LTM_ONE                                                                                 \
    "(SELECT " EG_LTM_W_COLUMNS                                                                    \
    "1 + (SELECT count(*) FROM ltm_record o WHERE o.semantic_category IS r.semantic_category\n"    \
    "    AND o.cortical_region = r.cortical_region\n"                                              \
    "    AND o.consolidated_strength > r.consolidated_strength)\n"                                 \
    "  + (SELECT count(*) FROM ltm_record o WHERE o.semantic_category IS r.semantic_category\n"    \
    "    AND o.cortical_region = r.cortical_region\n"                                              \
    "    AND o.consolidated_strength = r.consolidated_strength AND o.memory_id < r.memory_id)\n"   \
    "  AS w_rank FROM ltm_record r WHERE r.memory_rowid = ?1)"

/* The schema version this build writes. */
int eg__store_latest_version(void);
/* Migrates db from its user_version to the latest. A store newer than this build is an error. */
int eg__store_migrate(sqlite3 *db, const char *path);

#endif
