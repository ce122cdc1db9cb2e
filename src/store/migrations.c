/*
 * migrations.c — schema of the embedded store, as an append-only list of migrations.
 *
 * Times are INTEGER microseconds since 1970-01-01 UTC, except in `memories` (the embedded source
 * table people may fill by hand), where they are ISO 8601 text like a PostgreSQL export.
 */
#include "store/migrations.h"
#include "store/postings.h"
#include "store/store.h"

#include "engram/error.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The unique index on memory ids. A bulk load into an empty store drops it and builds it again at
 * the end (store/sqlite.c): ids arrive in random order, and one sort is much cheaper than a
 * million random B-tree inserts. The other indexes of `memory` (status and created_at,
 * created_at, late arrivals) stay: their keys mostly arrive in order. */
#define MEMORY_ID_INDEX "CREATE UNIQUE INDEX memory_id ON memory(id);\n"

/* The change log's triggers on the embedded `memories` table (migration 12). A write to it
 * before the log was ever read drops them for its transaction and makes them again at commit
 * (store/sqlite.c): they would log nothing then, but a trigger costs 4 µs a row even when its
 * WHEN is false (a 1M import: 12.5 s instead of 8.5 s). */
#define MEMORIES_LOG_TRIGGERS                                                                      \
    "CREATE TRIGGER memories_logged_insert AFTER INSERT ON memories\n"                             \
    "WHEN EXISTS (SELECT 1 FROM meta WHERE key = 'memories_log_read')\n"                           \
    "BEGIN INSERT INTO memories_log (rid) VALUES (NEW.rowid); END;\n"                              \
    "CREATE TRIGGER memories_logged_update AFTER UPDATE ON memories\n"                             \
    "WHEN EXISTS (SELECT 1 FROM meta WHERE key = 'memories_log_read')\n"                           \
    "BEGIN INSERT INTO memories_log (rid) VALUES (NEW.rowid); END;\n"
#define MEMORIES_LOG_TRIGGERS_DROP                                                                 \
    "DROP TRIGGER memories_logged_insert;\n"                                                       \
    "DROP TRIGGER memories_logged_update;\n"

const char *const eg__store_memory_indexes = MEMORY_ID_INDEX;
const char *const eg__store_memories_log_triggers = MEMORIES_LOG_TRIGGERS;
const char *const eg__store_memories_log_triggers_drop = MEMORIES_LOG_TRIGGERS_DROP;
/* IF EXISTS: the first edition of migration 1 (3555f09) declared the id UNIQUE in the table
 * instead, and made no index memory_id; the first load into such a store makes it */
const char *const eg__store_memory_indexes_drop = "DROP INDEX IF EXISTS memory_id;";

/* ltm_record as migration 16 makes it (docs/adr/0012): the long-term record, what the `ltm`
 * view computes the column rank, retrieval strength and memory age from, and the covering
 * index the view ranks by. Migration 18 makes it again for a store that an earlier edition of
 * migration 16 left without those columns. LTM_RECORD_CARRIED: the columns after
 * consolidated_strength, from the memory's pipeline row p and memory row m. */
#define LTM_RECORD_TABLE                                                                           \
    "CREATE TABLE ltm_record (\n"                                                                  \
    "  memory_rowid INTEGER PRIMARY KEY, memory_id TEXT NOT NULL, semantic_category TEXT,\n"       \
    "  knowledge_type TEXT, cortical_region TEXT, abstraction_level INTEGER,\n"                    \
    "  minicolumn_id INTEGER, macrocolumn_id INTEGER, consolidated_strength REAL,\n"               \
    "  consolidated_at INTEGER, recalls INTEGER, damping REAL, t0 INTEGER,\n"                      \
    "  consolidation_state TEXT\n"                                                                 \
    ");\n"
#define LTM_RECORD_CARRIED                                                                         \
    "p.consolidated_at, p.recalls, p.damping,\n"                                                   \
    "  CASE WHEN m.late AND m.arrived_at IS NOT NULL THEN m.arrived_at ELSE m.created_at END,\n"   \
    "  l.consolidation_state\n"
#define LTM_RECORD_INDEX_AND_VIEW                                                                  \
    "CREATE INDEX ltm_record_column ON ltm_record(semantic_category, cortical_region,\n"           \
    "  consolidated_strength DESC, memory_id, consolidated_at, recalls, damping, t0);\n"           \
    "CREATE VIEW ltm AS\n" EG_LTM_SELECT EG_LTM_RANKED EG_LTM_JOIN ";\n"

/* A migration: SQL, then optionally a C step that carries data the SQL cannot (it runs in the
 * same transaction), then more SQL. */
typedef struct migration {
    const char *sql;
    int (*carry)(sqlite3 *db);
    const char *sql_after;
} migration;

static int postings_from_table(sqlite3 *db);
static int postings_to_chunks(sqlite3 *db);
static int ltm_record_complete(sqlite3 *db);

static const migration migrations[] = {
    /* 1: the embedded source, staged memories, FTS, watermark, quarantine, runs */
    {"CREATE TABLE memories (\n"
     "  id TEXT PRIMARY KEY NOT NULL,\n"
     "  content TEXT,\n"
     "  created_at TEXT,\n"
     "  updated_at TEXT,\n"
     "  metadata TEXT\n"
     ");\n"
     "CREATE TABLE memory (\n"
     "  rowid INTEGER PRIMARY KEY,\n"
     "  id TEXT NOT NULL,\n"
     "  source_system TEXT NOT NULL,\n"
     "  content TEXT,\n"
     "  content_hash INTEGER,\n"
     "  fingerprint INTEGER NOT NULL,\n"
     "  created_at INTEGER,\n"
     "  updated_at INTEGER,\n"
     "  metadata TEXT,\n"
     "  status TEXT NOT NULL,\n"
     "  skip_reason TEXT,\n"
     "  issues INTEGER NOT NULL DEFAULT 0,\n"
     "  length_chars INTEGER,\n"
     "  activation_strength REAL,\n"
     "  last_accessed_at INTEGER,\n"
     "  access_count INTEGER,\n"
     "  importance_score REAL,\n"
     "  memory_type TEXT,\n"
     "  concepts TEXT,\n"
     "  processed_at INTEGER,\n"
     "  first_seen_at INTEGER NOT NULL,\n"
     "  deleted_at_source INTEGER\n"
     ");\n" MEMORY_ID_INDEX "CREATE INDEX memory_status ON memory(status);\n"
     "CREATE INDEX memory_activation ON memory(activation_strength);\n"
     "CREATE INDEX memory_created ON memory(created_at);\n"
     "CREATE VIRTUAL TABLE memory_fts USING fts5(content, content='memory', content_rowid='rowid',"
     " tokenize='unicode61 remove_diacritics 2');\n"
     "CREATE TABLE fts_pending (rowid INTEGER PRIMARY KEY);\n"
     "CREATE TABLE meta (key TEXT PRIMARY KEY, value);\n"
     "INSERT INTO meta VALUES ('fts_rowid', 0);\n"
     "CREATE TABLE watermark (\n"
     "  source TEXT PRIMARY KEY,\n"
     "  key_at INTEGER NOT NULL,\n"
     "  run_id INTEGER\n"
     ");\n"
     "CREATE TABLE quarantine (\n"
     "  qid INTEGER PRIMARY KEY,\n"
     "  at INTEGER NOT NULL,\n"
     "  source TEXT NOT NULL,\n"
     "  ref TEXT NOT NULL,\n"
     "  field TEXT,\n"
     "  reason TEXT NOT NULL,\n"
     "  raw TEXT,\n"
     "  UNIQUE (source, ref, field, reason)\n"
     ");\n"
     "CREATE TABLE runs (\n"
     "  run_id INTEGER PRIMARY KEY,\n"
     "  command TEXT NOT NULL,\n"
     "  source TEXT,\n"
     "  now INTEGER NOT NULL,\n"
     "  started_at INTEGER NOT NULL,\n"
     "  finished_at INTEGER,\n"
     "  outcome TEXT NOT NULL DEFAULT 'running',\n"
     "  counts TEXT,\n"
     "  durations TEXT,\n"
     "  error TEXT\n"
     ");\n",
     NULL, NULL},
    /* 2: features, arrival, and the biological pipeline's outputs (SPEC §6-§9) */
    {"ALTER TABLE memory ADD COLUMN importance REAL;\n"
     "ALTER TABLE memory ADD COLUMN urgency REAL;\n"
     "ALTER TABLE memory ADD COLUMN emotional_salience REAL;\n"
     "ALTER TABLE memory ADD COLUMN sentiment TEXT;\n"
     "ALTER TABLE memory ADD COLUMN task_type TEXT;\n"
     "ALTER TABLE memory ADD COLUMN knowledge_type TEXT;\n"
     "ALTER TABLE memory ADD COLUMN region_hint TEXT;\n"
     "ALTER TABLE memory ADD COLUMN abstraction_level INTEGER;\n"
     "ALTER TABLE memory ADD COLUMN late INTEGER NOT NULL DEFAULT 0;\n"
     "ALTER TABLE memory ADD COLUMN arrived_at INTEGER;\n"
     "CREATE TABLE sim_state (key TEXT PRIMARY KEY, value);\n"
     "CREATE TABLE pipeline (\n"
     "  memory_rowid INTEGER PRIMARY KEY,\n"
     "  status TEXT NOT NULL,\n"
     "  wm_ticks INTEGER, wm_entered_at INTEGER, wm_best_slot INTEGER, wm_best_priority REAL,\n"
     "  wm_best_rank INTEGER, wm_best_of INTEGER,\n"
     "  encoded_at INTEGER, episode_id INTEGER, p_encode REAL, stm_strength REAL,\n"
     "  hebbian_potential INTEGER, consolidation_priority REAL, ready_at INTEGER,\n"
     "  replays INTEGER, pre_strength REAL, associates INTEGER, consolidated_at INTEGER,\n"
     "  consolidated_strength REAL, forgotten_at INTEGER, recalls INTEGER, damping REAL\n"
     ");\n"
     "CREATE INDEX pipeline_status ON pipeline(status);\n"
     "CREATE TABLE presentation (\n"
     "  memory_rowid INTEGER NOT NULL, at INTEGER NOT NULL, kind TEXT NOT NULL,\n"
     "  PRIMARY KEY (memory_rowid, at, kind)\n"
     ") WITHOUT ROWID;\n"
     "CREATE TABLE journey (\n"
     "  memory_rowid INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL,\n"
     "  stage TEXT NOT NULL, event TEXT NOT NULL, detail TEXT,\n"
     "  PRIMARY KEY (memory_rowid, seq)\n"
     ") WITHOUT ROWID;\n"
     "CREATE TABLE concept (concept_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,\n"
     "  community TEXT, memories INTEGER NOT NULL);\n"
     "CREATE TABLE memory_concept (\n"
     "  concept_id INTEGER NOT NULL, memory_rowid INTEGER NOT NULL,\n"
     "  PRIMARY KEY (concept_id, memory_rowid)\n"
     ") WITHOUT ROWID;\n"
     "CREATE INDEX memory_concept_memory ON memory_concept(memory_rowid);\n"
     "CREATE TABLE assoc (\n"
     "  a INTEGER NOT NULL, b INTEGER NOT NULL, weight REAL NOT NULL, coact INTEGER NOT NULL,\n"
     "  last_at INTEGER NOT NULL, PRIMARY KEY (a, b)\n"
     ") WITHOUT ROWID;\n"
     "CREATE INDEX assoc_b ON assoc(b);\n"
     "CREATE TABLE concept_edge (\n"
     "  a INTEGER NOT NULL, b INTEGER NOT NULL, weight REAL NOT NULL, coact INTEGER NOT NULL,\n"
     "  last_at INTEGER NOT NULL, PRIMARY KEY (a, b)\n"
     ") WITHOUT ROWID;\n"
     "CREATE INDEX concept_edge_b ON concept_edge(b);\n"
     "CREATE TABLE episode (\n"
     "  episode_id INTEGER PRIMARY KEY, started_at INTEGER NOT NULL, ended_at INTEGER NOT NULL,\n"
     "  size INTEGER NOT NULL, goal TEXT, tasks INTEGER NOT NULL, actions INTEGER NOT NULL\n"
     ");\n"
     "CREATE TABLE ltm (\n"
     "  memory_rowid INTEGER PRIMARY KEY, semantic_category TEXT, knowledge_type TEXT,\n"
     "  cortical_region TEXT, abstraction_level INTEGER, minicolumn_id INTEGER,\n"
     "  macrocolumn_id INTEGER, column_rank INTEGER, retrieval_strength REAL, memory_age TEXT,\n"
     "  consolidation_state TEXT\n"
     ");\n"
     "CREATE TABLE creative (\n"
     "  creative_id INTEGER PRIMARY KEY, a INTEGER NOT NULL, b INTEGER NOT NULL,\n"
     "  at INTEGER NOT NULL, bridge TEXT, concept_a TEXT, concept_b TEXT, novelty REAL,\n"
     "  plausibility REAL, strength REAL\n"
     ");\n",
     NULL, NULL},
    /* 3: monitoring: health history and validation results (SPEC §10, §11) */
    {"CREATE TABLE health_history (\n"
     "  hid INTEGER PRIMARY KEY, at INTEGER NOT NULL, target TEXT NOT NULL,\n"
     "  check_name TEXT NOT NULL, status TEXT NOT NULL, value REAL, threshold TEXT, detail TEXT\n"
     ");\n"
     "CREATE INDEX health_history_check ON health_history(check_name, at);\n"
     "CREATE TABLE validation (\n"
     "  vid INTEGER PRIMARY KEY, at INTEGER NOT NULL, target TEXT NOT NULL, rule TEXT NOT NULL,\n"
     "  status TEXT NOT NULL, count INTEGER, total INTEGER, percent REAL, threshold TEXT,\n"
     "  examples TEXT\n"
     ");\n"
     "CREATE INDEX validation_rule ON validation(rule, at);\n",
     NULL, NULL},
    /* 4: a memory's concepts as a list on its pipeline row, and each concept's memories as one
     * posting blob (rowids as 8-byte little-endian integers, newest first), instead of a table of
     * (concept, memory) rows: at 1M memories that table had 8.4M rows and an index, rewritten by
     * every run. memory_concept stays, as a view. */
    {"ALTER TABLE pipeline ADD COLUMN concept_ids TEXT;\n"
     "ALTER TABLE concept ADD COLUMN postings BLOB;\n"
     "UPDATE pipeline SET concept_ids = (SELECT json_group_array(concept_id) FROM\n"
     "  (SELECT concept_id FROM memory_concept WHERE memory_rowid = pipeline.memory_rowid\n"
     "   ORDER BY concept_id));\n",
     postings_from_table,
     "DROP TABLE memory_concept;\n"
     "CREATE VIEW memory_concept (concept_id, memory_rowid) AS\n"
     "  SELECT j.value, p.memory_rowid FROM pipeline p, json_each(p.concept_ids) j;\n"},
    /* 5: a count of changes to the pipeline's inputs (the memory columns eg_store_load_model
     * reads), so that a run can tell whether the simulation it saved as a snapshot still fits
     * the store (docs/adr/0008) */
    {"INSERT INTO sim_state VALUES ('inputs', 0);\n"
     "CREATE TRIGGER memory_inputs_changed AFTER UPDATE OF id, created_at, updated_at, concepts,\n"
     "  importance, urgency, emotional_salience, sentiment, task_type, knowledge_type, "
     "region_hint,\n"
     "  abstraction_level, late, arrived_at, status, deleted_at_source ON memory\n"
     "WHEN OLD.id IS NOT NEW.id OR\n"
     "  OLD.created_at IS NOT NEW.created_at OR\n"
     "  OLD.updated_at IS NOT NEW.updated_at OR\n"
     "  OLD.concepts IS NOT NEW.concepts OR\n"
     "  OLD.importance IS NOT NEW.importance OR\n"
     "  OLD.urgency IS NOT NEW.urgency OR\n"
     "  OLD.emotional_salience IS NOT NEW.emotional_salience OR\n"
     "  OLD.sentiment IS NOT NEW.sentiment OR\n"
     "  OLD.task_type IS NOT NEW.task_type OR\n"
     "  OLD.knowledge_type IS NOT NEW.knowledge_type OR\n"
     "  OLD.region_hint IS NOT NEW.region_hint OR\n"
     "  OLD.abstraction_level IS NOT NEW.abstraction_level OR\n"
     "  OLD.late IS NOT NEW.late OR\n"
     "  OLD.arrived_at IS NOT NEW.arrived_at OR\n"
     "  OLD.status IS NOT NEW.status OR\n"
     "  OLD.deleted_at_source IS NOT NEW.deleted_at_source\n"
     "BEGIN UPDATE sim_state SET value = value + 1 WHERE key = 'inputs'; END;\n"
     "CREATE TRIGGER memory_inputs_deleted AFTER DELETE ON memory\n"
     "BEGIN UPDATE sim_state SET value = value + 1 WHERE key = 'inputs'; END;\n",
     NULL, NULL},
    /* 6: the late arrivals by arrival, for a resumed run's "what arrived since the last run" */
    {"CREATE INDEX memory_arrived ON memory(arrived_at) WHERE late;\n", NULL, NULL},
    /* 7: the staging columns that depend on now are computed when read, by the `staging` view,
     * at the staging clock (meta 'staged_at': the now of the last transaction that staged rows),
     * instead of being stored and rewritten in every row by every run (docs/adr/0009). An
     * activation threshold is a created_at threshold at a given clock, so (status, created_at)
     * replaces the index on activation. The clock starts at the latest staging. */
    {"INSERT OR REPLACE INTO meta (key, value) SELECT 'staged_at', max(processed_at) FROM memory\n"
     "  WHERE deleted_at_source IS NULL HAVING count(processed_at) > 0;\n"
     "DROP INDEX memory_activation;\n"
     "DROP INDEX memory_status;\n"
     "ALTER TABLE memory DROP COLUMN activation_strength;\n"
     "ALTER TABLE memory DROP COLUMN importance_score;\n"
     "CREATE INDEX memory_status ON memory(status, created_at);\n"
     "CREATE VIEW staging AS\n"
     "SELECT memory_rowid, memory_id, content, created_at, last_accessed_at, access_count,\n"
     "  CASE WHEN status = 'staged' THEN\n"
     "    min(1.0, exp(-((processed_at - created_at) / 1e6) / 604800.0)) END\n"
     "    AS activation_strength,\n"
     "  CASE WHEN status <> 'staged' THEN NULL\n"
     "    WHEN (processed_at - created_at) / 86400000000 < 1 THEN 0.9\n"
     "    WHEN (processed_at - created_at) / 86400000000 < 7 THEN 0.7\n"
     "    WHEN (processed_at - created_at) / 86400000000 < 30 THEN 0.5 ELSE 0.3 END\n"
     "    AS importance_score,\n"
     "  memory_type, concepts, status, source_system, processed_at, raw_metadata\n"
     "FROM (SELECT m.rowid AS memory_rowid, m.id AS memory_id, m.content, m.created_at,\n"
     "  m.last_accessed_at, m.access_count, m.memory_type, m.concepts, m.status, m.source_system,\n"
     "  m.metadata AS raw_metadata,\n"
     "  coalesce((SELECT value FROM meta WHERE key = 'staged_at'), m.processed_at)\n"
     "    AS processed_at\n"
     "  FROM memory m WHERE m.deleted_at_source IS NULL);\n",
     NULL, NULL},
    /* 8: each concept's memories in chunks of rowids (store/postings.h), instead of one blob
     * that every new memory of the concept rewrote whole */
    {"CREATE TABLE concept_posting (\n"
     "  concept_id INTEGER NOT NULL, chunk INTEGER NOT NULL, postings BLOB NOT NULL,\n"
     "  PRIMARY KEY (concept_id, chunk)\n"
     ") WITHOUT ROWID;\n",
     postings_to_chunks, "ALTER TABLE concept DROP COLUMN postings;\n"},
    /* 9: a log of the rows written to the embedded source table, whoever writes them (engram
     * import, remember, or an INSERT by hand): an incremental ingest of it reads those rows
     * instead of scanning the table for recent times (source/sqlite.c). AUTOINCREMENT: a seq is
     * never reused once consumed entries are deleted. */
    {"CREATE TABLE memories_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, rid INTEGER NOT NULL);\n"
     "CREATE TRIGGER memories_logged_insert AFTER INSERT ON memories\n"
     "BEGIN INSERT INTO memories_log (rid) VALUES (NEW.rowid); END;\n"
     "CREATE TRIGGER memories_logged_update AFTER UPDATE ON memories\n"
     "BEGIN INSERT INTO memories_log (rid) VALUES (NEW.rowid); END;\n",
     NULL, NULL},
    /* 10: what a resumed run reads of what happened since the last one: the updates of older
     * memories, and the recalls (each was a scan: of every staged memory, of every
     * presentation) */
    {"CREATE INDEX memory_updated ON memory(updated_at) WHERE updated_at IS NOT NULL;\n"
     "CREATE INDEX presentation_recalled ON presentation(at) WHERE kind = 'recalled';\n",
     NULL, NULL},
    /* 11: posting chunks in a rowid table, so that recall reads only the head it needs of a
     * chunk (incremental blob I/O needs a rowid), not the whole chunk */
    {"CREATE TABLE concept_posting_11 (\n"
     "  concept_id INTEGER NOT NULL, chunk INTEGER NOT NULL, postings BLOB NOT NULL,\n"
     "  UNIQUE (concept_id, chunk)\n"
     ");\n"
     "INSERT INTO concept_posting_11 (concept_id, chunk, postings)\n"
     "  SELECT concept_id, chunk, postings FROM concept_posting ORDER BY concept_id, chunk;\n"
     "DROP TABLE concept_posting;\n"
     "ALTER TABLE concept_posting_11 RENAME TO concept_posting;\n",
     NULL, NULL},
    /* 12: the change log costs a bulk import no more than it must: rows are logged only once
     * the log has been read (before that the first read scans the table anyway), and without
     * AUTOINCREMENT (its sequence row was rewritten by every insert: a 1M import took 15 s
     * instead of 9). A read takes every entry present, and deletes them: nothing that is left
     * was read, so a seq reused after a deletion is never mistaken for a read one. */
    {MEMORIES_LOG_TRIGGERS_DROP
     "CREATE TABLE memories_log_12 (seq INTEGER PRIMARY KEY, rid INTEGER NOT NULL);\n"
     "INSERT INTO memories_log_12 (seq, rid) SELECT seq, rid FROM memories_log;\n"
     "DROP TABLE memories_log;\n"
     "DELETE FROM sqlite_sequence WHERE name = 'memories_log';\n"
     "ALTER TABLE memories_log_12 RENAME TO memories_log;\n" MEMORIES_LOG_TRIGGERS,
     NULL, NULL},
    /* 13: the pipeline takes every memory with content and a creation time, at its own time,
     * whichever side of the staging window it is on at now (docs/adr/0010): a memory leaving
     * the window is no longer a change of the pipeline's inputs, the rows outside it get their
     * concepts and features at the next ingest, and the inputs are counted through an index */
    {"DROP TRIGGER memory_inputs_changed;\n"
     "CREATE TRIGGER memory_inputs_changed AFTER UPDATE OF id, created_at, updated_at, concepts,\n"
     "  importance, urgency, emotional_salience, sentiment, task_type, knowledge_type, "
     "region_hint,\n"
     "  abstraction_level, late, arrived_at, status, skip_reason, deleted_at_source ON memory\n"
     "WHEN OLD.id IS NOT NEW.id OR\n"
     "  OLD.created_at IS NOT NEW.created_at OR\n"
     "  OLD.updated_at IS NOT NEW.updated_at OR\n"
     "  OLD.concepts IS NOT NEW.concepts OR\n"
     "  OLD.importance IS NOT NEW.importance OR\n"
     "  OLD.urgency IS NOT NEW.urgency OR\n"
     "  OLD.emotional_salience IS NOT NEW.emotional_salience OR\n"
     "  OLD.sentiment IS NOT NEW.sentiment OR\n"
     "  OLD.task_type IS NOT NEW.task_type OR\n"
     "  OLD.knowledge_type IS NOT NEW.knowledge_type OR\n"
     "  OLD.region_hint IS NOT NEW.region_hint OR\n"
     "  OLD.abstraction_level IS NOT NEW.abstraction_level OR\n"
     "  OLD.late IS NOT NEW.late OR\n"
     "  OLD.arrived_at IS NOT NEW.arrived_at OR\n"
     "  (OLD.status = 'staged' OR coalesce(OLD.skip_reason, '') = 'out_of_window') IS NOT\n"
     "    (NEW.status = 'staged' OR coalesce(NEW.skip_reason, '') = 'out_of_window') OR\n"
     "  OLD.deleted_at_source IS NOT NEW.deleted_at_source\n"
     "BEGIN UPDATE sim_state SET value = value + 1 WHERE key = 'inputs'; END;\n"
     "CREATE INDEX memory_input ON memory(created_at, late, arrived_at) WHERE " EG_PIPELINE_INPUT
     ";\n"
     "INSERT OR REPLACE INTO meta (key, value) SELECT 'restage_out_of_window', 1 WHERE EXISTS\n"
     "  (SELECT 1 FROM memory WHERE skip_reason = 'out_of_window' AND concepts IS NULL);\n"
     "UPDATE sim_state SET value = value + 1 WHERE key = 'inputs';\n"
     /* the staging shows concepts for the rows it stages only, as before */
     "DROP VIEW staging;\n"
     "CREATE VIEW staging AS\n"
     "SELECT memory_rowid, memory_id, content, created_at, last_accessed_at, access_count,\n"
     "  CASE WHEN status = 'staged' THEN\n"
     "    min(1.0, exp(-((processed_at - created_at) / 1e6) / 604800.0)) END\n"
     "    AS activation_strength,\n"
     "  CASE WHEN status <> 'staged' THEN NULL\n"
     "    WHEN (processed_at - created_at) / 86400000000 < 1 THEN 0.9\n"
     "    WHEN (processed_at - created_at) / 86400000000 < 7 THEN 0.7\n"
     "    WHEN (processed_at - created_at) / 86400000000 < 30 THEN 0.5 ELSE 0.3 END\n"
     "    AS importance_score,\n"
     "  memory_type, CASE WHEN status = 'staged' THEN concepts END AS concepts, status,\n"
     "  source_system, processed_at, raw_metadata\n"
     "FROM (SELECT m.rowid AS memory_rowid, m.id AS memory_id, m.content, m.created_at,\n"
     "  m.last_accessed_at, m.access_count, m.memory_type, m.concepts, m.status, m.source_system,\n"
     "  m.metadata AS raw_metadata,\n"
     "  coalesce((SELECT value FROM meta WHERE key = 'staged_at'), m.processed_at)\n"
     "    AS processed_at\n"
     "  FROM memory m WHERE m.deleted_at_source IS NULL);\n",
     NULL, NULL},
    /* 14: the source each memory was read from (eg_source_key: host, port, database and table
     * of a PostgreSQL source, without the user; the file and table of a SQLite one), so that
     * `ingest --full` marks as deleted only the rows of the source it read, not those of
     * another table of the same source system. NULL until the row is read again. */
    {"ALTER TABLE memory ADD COLUMN source_key TEXT;\n", NULL, NULL},
    /* 15: the process that began each run (its pid and host name), so that a later run on
     * the same host can tell a run whose process is gone (kill -9, power loss) from one that
     * is still going, and mark it 'interrupted' instead of leaving it 'running' for ever.
     * NULL for the runs recorded before. */
    {"ALTER TABLE runs ADD COLUMN pid INTEGER;\n"
     "ALTER TABLE runs ADD COLUMN host TEXT;\n",
     NULL, NULL},
    /* 16: the long-term records keep what does not move with now (docs/adr/0012): their
     * column rank, retrieval strength and memory age moved for nearly every record every
     * day, so a run rewrote the whole table; the `ltm` view computes them when read, at the
     * checkpoint, with the same columns as the table it replaces. ltm_record holds, beside the
     * record, what they are computed from (the memory's id, which orders ties in a column, its
     * consolidated strength and time, recalls, damping and first presentation t0), so that
     * the view ranks them in the order of one index that holds all of that. */
    {LTM_RECORD_TABLE
     "INSERT INTO ltm_record SELECT l.memory_rowid, m.id, l.semantic_category, l.knowledge_type,\n"
     "  l.cortical_region, l.abstraction_level, l.minicolumn_id, l.macrocolumn_id,\n"
     "  p.consolidated_strength, " LTM_RECORD_CARRIED
     "  FROM ltm l JOIN pipeline p ON p.memory_rowid = l.memory_rowid\n"
     "  JOIN memory m ON m.rowid = l.memory_rowid;\n"
     "DROP TABLE ltm;\n" LTM_RECORD_INDEX_AND_VIEW,
     NULL, NULL},
    /* 17 (full-text fold): memory_fts indexes the fold of each memory's content
     * (store/fts.h, docs/adr/0013) with the ascii tokenizer, contentless, instead of the
     * content itself through unicode61, which folds only Latin accents and keeps a run of
     * Chinese or Japanese as one word. The rows indexed before are indexed again folded (those
     * waiting in fts_pending with their current content); engram_fts_fold is registered on
     * every connection before migrating. */
    {"DROP TABLE memory_fts;\n"
     "CREATE VIRTUAL TABLE memory_fts USING fts5(content, content='', tokenize='ascii');\n"
     "INSERT INTO memory_fts (rowid, content) SELECT rowid, engram_fts_fold(content) FROM memory\n"
     "  WHERE rowid <= (SELECT value FROM meta WHERE key = 'fts_rowid') AND content IS NOT NULL;\n"
     "DELETE FROM fts_pending;\n",
     NULL, NULL},
    /* 18: migration 16 as engram wrote it before its release was amended (daafaac to 6aecd73 of
     * the history) made ltm_record without the columns the view ranks by (memory_id,
     * consolidated_at, recalls, damping, t0) and an `ltm` view that joined them in from
     * pipeline and memory; every later engram failed on such a store (run: "no such column:
     * memory_id", trace). ltm_record_complete rebuilds that table as migration 16 makes it now,
     * from the same rows; a store migrated by the amended migration 16 is left as it is. */
    {"", ltm_record_complete, NULL},
    /* 19: fts_term, the number of memories that hold each term of memory_fts (fts5vocab's
     * `doc`), kept by the statements that write the index through engram_fts_tally
     * (store/fts.h): recall's BM25 reads its document frequencies there instead of walking every
     * row that holds each query word, for each query (docs/adr/0014). Counted once from the
     * index as it is. */
    {"CREATE TABLE fts_term (term TEXT PRIMARY KEY, docs INTEGER NOT NULL) WITHOUT ROWID;\n"
     "CREATE VIRTUAL TABLE temp.fts_term_count USING fts5vocab(main, memory_fts, row);\n"
     "INSERT INTO fts_term (term, docs) SELECT term, doc FROM temp.fts_term_count;\n"
     "DROP TABLE temp.fts_term_count;\n",
     NULL, NULL},
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

/* Migration 18: ltm_record as migration 16 makes it, from the rows of a table that an earlier
 * edition of migration 16 made (the record and its consolidated strength, without memory_id and
 * what the view reads from pipeline and memory); nothing when it has memory_id already. */
static int ltm_record_complete(sqlite3 *db)
{
    sqlite3_stmt *q = NULL;
    int rc, complete = 0;
    if ((rc = sqlite3_prepare_v2(db,
                                 "SELECT count(*) FROM pragma_table_info('ltm_record') "
                                 "WHERE name = 'memory_id'",
                                 -1, &q, NULL)) == SQLITE_OK &&
        (rc = sqlite3_step(q)) == SQLITE_ROW) {
        complete = sqlite3_column_int(q, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(q);
    if (rc != SQLITE_OK || complete)
        return rc;
    return sqlite3_exec(db,
                        "DROP VIEW ltm;\n"
                        "DROP INDEX ltm_record_column;\n"
                        "ALTER TABLE ltm_record RENAME TO ltm_record_early;\n" LTM_RECORD_TABLE
                        "INSERT INTO ltm_record SELECT l.memory_rowid, m.id, l.semantic_category,\n"
                        "  l.knowledge_type, l.cortical_region, l.abstraction_level,\n"
                        "  l.minicolumn_id, l.macrocolumn_id, l.consolidated_strength,\n"
                        "  " LTM_RECORD_CARRIED
                        "  FROM ltm_record_early l JOIN pipeline p ON p.memory_rowid = "
                        "l.memory_rowid\n"
                        "  JOIN memory m ON m.rowid = l.memory_rowid;\n"
                        "DROP TABLE ltm_record_early;\n" LTM_RECORD_INDEX_AND_VIEW,
                        NULL, NULL, NULL);
}

/* Migration 8: concept.postings (newest first) cut into concept_posting chunks. */
static int postings_to_chunks(sqlite3 *db)
{
    sqlite3_stmt *sel = NULL, *ins = NULL;
    int rc, step;
    if ((rc = sqlite3_prepare_v2(db,
                                 "SELECT concept_id, postings FROM concept WHERE postings IS NOT "
                                 "NULL",
                                 -1, &sel, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(db, "INSERT INTO concept_posting VALUES (?1, ?2, ?3)", -1, &ins,
                                 NULL)) != SQLITE_OK)
        goto done;
    while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
        const unsigned char *b = sqlite3_column_blob(sel, 1);
        int n = sqlite3_column_bytes(sel, 1) / EG_POSTING_BYTES;
        for (int s = 0, e; s < n; s = e) { /* newest first: the chunks come last to first */
            int64_t chunk = eg_posting_get(b + s * EG_POSTING_BYTES) >> EG_POSTING_CHUNK_BITS;
            for (e = s + 1;
                 e < n &&
                 eg_posting_get(b + e * EG_POSTING_BYTES) >> EG_POSTING_CHUNK_BITS == chunk;
                 e++)
                ;
            sqlite3_bind_int64(ins, 1, sqlite3_column_int64(sel, 0));
            sqlite3_bind_int64(ins, 2, chunk);
            sqlite3_bind_blob(ins, 3, b + s * EG_POSTING_BYTES, (e - s) * EG_POSTING_BYTES,
                              SQLITE_STATIC);
            if ((rc = sqlite3_step(ins)) != SQLITE_DONE)
                goto done;
            sqlite3_reset(ins);
        }
    }
    rc = step == SQLITE_DONE ? SQLITE_OK : step;
done:
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    return rc;
}

/* Migration 4: each concept's posting blob (8-byte little-endian rowids, newest first) from
 * the memory_concept table it replaces, so that recall keeps working before the next run. */
static int postings_from_table(sqlite3 *db)
{
    sqlite3_stmt *sel = NULL, *upd = NULL;
    unsigned char *blob = NULL;
    size_t n = 0, cap = 0;
    int64_t cur = 0;
    int rc = SQLITE_OK, step;
    if ((rc = sqlite3_prepare_v2(db,
                                 "SELECT concept_id, memory_rowid FROM memory_concept "
                                 "ORDER BY concept_id, memory_rowid DESC",
                                 -1, &sel, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(db, "UPDATE concept SET postings = ?2 WHERE concept_id = ?1", -1,
                                 &upd, NULL)) != SQLITE_OK)
        goto done;
    for (;;) {
        step = sqlite3_step(sel);
        int64_t c = step == SQLITE_ROW ? sqlite3_column_int64(sel, 0) : 0;
        if (n && (step != SQLITE_ROW || c != cur)) { /* the previous concept is complete */
            sqlite3_bind_int64(upd, 1, cur);
            sqlite3_bind_blob(upd, 2, blob, (int)n, SQLITE_STATIC);
            if ((rc = sqlite3_step(upd)) != SQLITE_DONE)
                goto done;
            rc = SQLITE_OK;
            sqlite3_reset(upd);
            n = 0;
        }
        if (step != SQLITE_ROW) {
            rc = step == SQLITE_DONE ? SQLITE_OK : step;
            break;
        }
        cur = c;
        if (n + EG_POSTING_BYTES > cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            unsigned char *p = realloc(blob, ncap);
            if (!p) {
                rc = SQLITE_NOMEM;
                goto done;
            }
            blob = p;
            cap = ncap;
        }
        eg_posting_put(blob + n, sqlite3_column_int64(sel, 1));
        n += EG_POSTING_BYTES;
    }
done:
    free(blob);
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return rc;
}

int eg__store_latest_version(void)
{
    return NMIGRATIONS;
}

/* The schema version of db into *version. The statement is finished before it returns: an open
 * one would lock the tables a migration drops. */
static int read_version(sqlite3 *db, const char *path, int *version)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        bool busy = (sqlite3_errcode(db) & 0xff) == SQLITE_BUSY;
        rc = eg_error_set(busy ? EG_EBUSY : EG_ESTORE,
                          "could not read the schema version of store \"%s\": %s", path,
                          sqlite3_errmsg(db));
        if (busy)
            eg_error_hint("another engram is writing the store (a first load holds it until it "
                          "is done): try again then");
    } else
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc;
}

static int newer_store(const char *path, int version)
{
    int rc =
        eg_error_set(EG_ESTORE, "store \"%s\" has schema version %d, newer than this engram (%d)",
                     path, version, NMIGRATIONS);
    eg_error_hint("upgrade engram, or use another store");
    return rc;
}

/* The error of migration `number` (err: sqlite3_exec's message, or NULL). SQLITE_BUSY after the
 * busy timeout is another engram's lock (one migrating the store after an upgrade, a long run),
 * not a broken store: EG_EBUSY (exit 75), to retry. */
static int migration_failed(sqlite3 *db, int number, const char *path, const char *err)
{
    bool busy = (sqlite3_errcode(db) & 0xff) == SQLITE_BUSY;
    int rc = eg_error_set(busy ? EG_EBUSY : EG_ESTORE, "migration %d of store \"%s\" failed: %s",
                          number, path, err ? err : sqlite3_errmsg(db));
    if (busy)
        eg_error_hint("another engram held the store's lock for longer than the 10 s busy "
                      "timeout (one migrating it after an upgrade, or a long run): try again "
                      "when it is done");
    else
        eg__store_explain(db, path);
    return rc;
}

int eg__store_migrate(sqlite3 *db, const char *path)
{
    int version = 0, rc;
    char *err = NULL;
    if ((rc = read_version(db, path, &version)))
        return rc;
    /* Each migration reads the version again once it holds the write lock: another engram that
     * opened the store at the same older version (a scheduled run and `engram serve` after an
     * upgrade) may have applied it meanwhile, while this one waited for the lock, and a
     * migration applied twice fails (a table or column made twice) or does its work again. */
    while (version < NMIGRATIONS) {
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &err) != SQLITE_OK) {
            rc = migration_failed(db, version + 1, path, err);
            goto done;
        }
        if ((rc = read_version(db, path, &version)) ||
            (version > NMIGRATIONS && (rc = newer_store(path, version)))) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            goto done;
        }
        if (version == NMIGRATIONS) { /* the other engram applied the rest */
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            break;
        }
        const migration *m = &migrations[version];
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", version + 1);
        if (sqlite3_exec(db, m->sql, NULL, NULL, &err) != SQLITE_OK ||
            (m->carry && m->carry(db) != SQLITE_OK) ||
            (m->sql_after && sqlite3_exec(db, m->sql_after, NULL, NULL, &err) != SQLITE_OK) ||
            sqlite3_exec(db, bump, NULL, NULL, &err) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, &err) != SQLITE_OK) {
            rc = migration_failed(db, version + 1, path, err);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            goto done;
        }
        version++;
    }
    if (version > NMIGRATIONS)
        rc = newer_store(path, version);
done:
    sqlite3_free(err);
    return rc;
}
