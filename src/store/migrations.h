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

/* The schema version this build writes. */
int eg__store_latest_version(void);
/* Migrates db from its user_version to the latest. A store newer than this build is an error. */
int eg__store_migrate(sqlite3 *db, const char *path);

#endif
