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
 * eg__retrieval_strength does. EG_LTM_HEAD <column rank expression> EG_LTM_FROM [WHERE ...] ")"
 * is a query of them: the `ltm` view ranks with a window over every record (a whole-table
 * read), the trace of one memory counts the records above it (EG_LTM_RANK_ONE). */
#define EG_LTM_HEAD                                                                                \
    "SELECT memory_rowid, semantic_category, knowledge_type, cortical_region, "                    \
    "abstraction_level,\n"                                                                         \
    "  minicolumn_id, macrocolumn_id, column_rank,\n"                                              \
    "  (0.3 * consolidated_strength + 0.2 / sqrt(column_rank) +\n"                                 \
    "   0.3 * exp(-max(0, now - consolidated_at) / 86400000000.0 / 30.0) +\n"                      \
    "   0.2 * ln(1 + recalls) / ln(100)) * damping AS retrieval_strength,\n"                       \
    "  CASE WHEN now - t0 < 86400000000 THEN 'recent'\n"                                           \
    "    WHEN now - t0 < 604800000000 THEN 'week_old'\n"                                           \
    "    WHEN now - t0 < 2592000000000 THEN 'month_old' ELSE 'remote' END AS memory_age,\n"        \
    "  consolidation_state\n"                                                                      \
    "FROM (SELECT r.*, p.consolidated_at, p.recalls, p.damping,\n"                                 \
    "  CASE WHEN m.late AND m.arrived_at IS NOT NULL THEN m.arrived_at ELSE m.created_at END\n"    \
    "    AS t0,\n"                                                                                 \
    "  (SELECT value FROM sim_state WHERE key = 'checkpoint') AS now,\n  "
#define EG_LTM_FROM                                                                                \
    " AS column_rank\n"                                                                            \
    "  FROM ltm_record r JOIN pipeline p ON p.memory_rowid = r.memory_rowid\n"                     \
    "  JOIN memory m ON m.rowid = r.memory_rowid"
#define EG_LTM_RANK_ALL                                                                            \
    "row_number() OVER (PARTITION BY r.semantic_category, r.cortical_region\n"                     \
    "    ORDER BY r.consolidated_strength DESC, m.id)"
#define EG_LTM_RANK_ONE                                                                            \
    "1 + (SELECT count(*) FROM ltm_record o WHERE o.semantic_category IS r.semantic_category\n"    \
    "    AND o.cortical_region = r.cortical_region\n"                                              \
    "    AND o.consolidated_strength > r.consolidated_strength)\n"                                 \
    "  + (SELECT count(*) FROM ltm_record o JOIN memory mo ON mo.rowid = o.memory_rowid\n"         \
    "    WHERE o.semantic_category IS r.semantic_category AND o.cortical_region = "                \
    "r.cortical_region\n"                                                                          \
    "    AND o.consolidated_strength = r.consolidated_strength AND mo.id < m.id)"

/* The schema version this build writes. */
int eg__store_latest_version(void);
/* Migrates db from its user_version to the latest. A store newer than this build is an error. */
int eg__store_migrate(sqlite3 *db, const char *path);

#endif
