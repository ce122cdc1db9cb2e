/*
 * report.c — reads the store for people and scripts: `engram stats` and `engram export`.
 *
 * Read-only queries over the store; it never writes. Exports use the column names of SPEC §13
 * and are ordered by memory_id so that two exports of the same store are byte-identical.
 */
#include "store/store.h"

#include "core/snapshot.h"

#include "engram/error.h"
#include "util/buf.h"
#include "util/utf8.h"
#include "util/timeutil.h"

#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>

static json_t *time_or_null(sqlite3_stmt *s, int col)
{
    char buf[EG_TIME_BUFSZ];
    if (sqlite3_column_type(s, col) == SQLITE_NULL)
        return json_null();
    return json_string(eg_time_format(sqlite3_column_int64(s, col), buf));
}

/* Runs a "SELECT key, count" query into an object. */
static int group_counts(eg_store *st, const char *sql, json_t *obj)
{
    sqlite3_stmt *s = NULL;
    int rc = 0;
    if (sqlite3_prepare_v2(eg_store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        return eg__store_error(st, "could not compute statistics");
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        json_object_set_new(obj, k ? k : "null", json_integer(sqlite3_column_int64(s, 1)));
    }
    sqlite3_finalize(s);
    return rc;
}

static int64_t scalar(eg_store *st, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(eg_store_db(st), sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

int eg_store_stats(eg_store *st, json_t **out)
{
    json_t *o = json_object(), *mem = json_object(), *status = json_object(),
           *skips = json_object(), *types = json_object(), *quality = json_object(),
           *wms = json_array();
    sqlite3_stmt *s = NULL;
    int rc = 0;
    json_t *store_path = json_string(eg_store_path(st));
    if (!store_path) { /* not UTF-8, which JSON must be: U+FFFD for the bad bytes */
        char *clean = eg_utf8_scrub(eg_store_path(st), strlen(eg_store_path(st)));
        store_path = clean ? json_string(clean) : NULL;
        free(clean);
    }
    json_object_set_new(o, "store", store_path);
    json_object_set_new(o, "schema_version", json_integer(eg_store_schema_version(st)));
    json_object_set_new(mem, "total", json_integer(scalar(st, "SELECT count(*) FROM memory")));
    if ((rc = group_counts(st, "SELECT status, count(*) FROM memory GROUP BY 1 ORDER BY 1",
                           status)) ||
        (rc = group_counts(st,
                           "SELECT skip_reason, count(*) FROM memory WHERE status = 'skipped' "
                           "GROUP BY 1 ORDER BY 1",
                           skips)) ||
        (rc = group_counts(st,
                           "SELECT memory_type, count(*) FROM memory WHERE status = 'staged' "
                           "GROUP BY 1 ORDER BY 1",
                           types)))
        goto done;
    json_object_set_new(mem, "by_status", status);
    json_object_set_new(mem, "skip_reasons", skips);
    json_object_set_new(mem, "by_type", types);
    status = skips = types = NULL;
    json_object_set_new(
        mem, "deleted_at_source",
        json_integer(
            scalar(st, "SELECT count(*) FROM memory WHERE deleted_at_source IS NOT NULL")));
    json_object_set_new(o, "memories", mem);
    mem = NULL;
    json_object_set_new(quality, "metadata_invalid",
                        json_integer(scalar(st, "SELECT count(*) FROM memory WHERE issues & 1")));
    json_object_set_new(quality, "metadata_not_object",
                        json_integer(scalar(st, "SELECT count(*) FROM memory WHERE issues & 2")));
    json_object_set_new(quality, "blank_content",
                        json_integer(scalar(st, "SELECT count(*) FROM memory WHERE issues & 4")));
    json_object_set_new(quality, "updated_before_created",
                        json_integer(scalar(st, "SELECT count(*) FROM memory WHERE issues & 8")));
    json_object_set_new(o, "quality", quality);
    quality = NULL;
    json_object_set_new(o, "embedded_source_rows",
                        json_integer(scalar(st, "SELECT count(*) FROM memories")));
    json_object_set_new(o, "quarantined",
                        json_integer(scalar(st, "SELECT count(*) FROM quarantine")));
    json_object_set_new(o, "fts_indexed",
                        json_integer(scalar(st, "SELECT count(*) FROM memory_fts_docsize")));

    if (sqlite3_prepare_v2(eg_store_db(st), "SELECT source, key_at FROM watermark ORDER BY 1", -1,
                           &s, NULL) != SQLITE_OK) {
        rc = eg__store_error(st, "could not read watermarks");
        goto done;
    }
    while (sqlite3_step(s) == SQLITE_ROW)
        json_array_append_new(wms, json_pack("{s:s,s:o}", "source", sqlite3_column_text(s, 0),
                                             "watermark", time_or_null(s, 1)));
    sqlite3_finalize(s);
    s = NULL;
    json_object_set_new(o, "watermarks", wms);
    wms = NULL;

    /* the biological pipeline: counts per stage and the sizes of its graphs (SPEC §7) */
    {
        json_t *pl = json_object(), *ps = json_object();
        group_counts(st, "SELECT status, count(*) FROM pipeline GROUP BY 1 ORDER BY 1", ps);
        json_object_set_new(pl, "by_status", ps);
        json_object_set_new(pl, "episodes",
                            json_integer(scalar(st, "SELECT count(*) FROM episode")));
        json_object_set_new(pl, "concepts",
                            json_integer(scalar(st, "SELECT count(*) FROM concept")));
        json_object_set_new(pl, "concept_edges",
                            json_integer(scalar(st, "SELECT count(*) FROM concept_edge")));
        json_object_set_new(pl, "memory_associations",
                            json_integer(scalar(st, "SELECT count(*) FROM assoc")));
        json_object_set_new(pl, "long_term",
                            json_integer(scalar(st, "SELECT count(*) FROM ltm_record")));
        json_object_set_new(pl, "creative_associations",
                            json_integer(scalar(st, "SELECT count(*) FROM creative")));
        json_object_set_new(pl, "recalls",
                            json_integer(scalar(st, "SELECT count(*) FROM presentation WHERE "
                                                    "kind = 'recalled'")));
        int64_t cp = scalar(st, "SELECT coalesce((SELECT value FROM sim_state WHERE key = "
                                "'checkpoint'), -1)");
        char buf[EG_TIME_BUFSZ];
        json_object_set_new(pl, "checkpoint",
                            cp == -1 ? json_null() : json_string(eg_time_format(cp, buf)));
        /* the snapshot the next run can go on from (docs/adr/0008): the run that wrote it, its
         * size, and whether the file beside the store is that run's */
        int64_t gen = scalar(st, "SELECT coalesce((SELECT value FROM sim_state WHERE key = "
                                 "'snapshot'), 0)");
        int64_t tag = scalar(st, "SELECT coalesce((SELECT value FROM sim_state WHERE key = "
                                 "'snapshot_tag'), 0)");
        /* of the two files (written in turn), the current one, else the first there is */
        char path[4096] = "";
        struct stat sb = {0};
        bool there = false, readable = false, current = false;
        for (int slot = 0; gen > 0 && slot < 2 && !current; slot++) {
            char p[sizeof path];
            struct stat b;
            eg_snapshot_key k;
            if (eg_snapshot_path(eg_store_path(st), slot, p, sizeof p) || stat(p, &b))
                continue;
            bool r = !eg_snapshot_read_key(&k, p);
            /* (the tag: another store's snapshot can have the same run id) */
            current = r && k.generation == gen && k.tag == (uint64_t)tag;
            if (!there || current || (r && !readable)) {
                memcpy(path, p, sizeof path);
                sb = b;
                readable = r;
            }
            there = true;
        }
        if (there) {
            json_t *snap = json_pack("{s:I,s:s,s:I,s:b}", "run_id", (json_int_t)gen, "file", path,
                                     "bytes", (json_int_t)sb.st_size, "current", current);
            /* why the next run cannot go on from it: a file this engram does not read (another
             * version wrote it, or it is damaged), or another run's */
            if (!current)
                json_object_set_new(snap, "stale",
                                    json_string(readable ? "other_run" : "other_version"));
            json_object_set_new(pl, "snapshot", snap);
        } else {
            json_object_set_new(pl, "snapshot", json_null());
        }
        json_object_set_new(o, "pipeline", pl);
    }
    json_object_set_new(o, "runs", json_integer(scalar(st, "SELECT count(*) FROM runs")));
    json_object_set_new(o, "interrupted_runs",
                        json_integer(scalar(st, "SELECT count(*) FROM runs WHERE outcome = "
                                                "'interrupted'")));
    if (sqlite3_prepare_v2(eg_store_db(st),
                           "SELECT run_id, command, now, started_at, finished_at, outcome, counts, "
                           "error FROM runs ORDER BY run_id DESC LIMIT 1",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = eg__store_error(st, "could not read runs");
        goto done;
    }
    if (sqlite3_step(s) == SQLITE_ROW) {
        json_t *run = json_object();
        json_object_set_new(run, "run_id", json_integer(sqlite3_column_int64(s, 0)));
        json_object_set_new(run, "command", json_string((const char *)sqlite3_column_text(s, 1)));
        json_object_set_new(run, "now", time_or_null(s, 2));
        json_object_set_new(run, "started_at", time_or_null(s, 3));
        json_object_set_new(run, "finished_at", time_or_null(s, 4));
        json_object_set_new(run, "outcome", json_string((const char *)sqlite3_column_text(s, 5)));
        json_t *counts = NULL;
        if (sqlite3_column_type(s, 6) != SQLITE_NULL)
            counts = json_loads((const char *)sqlite3_column_text(s, 6), 0, NULL);
        json_object_set_new(run, "report", counts ? counts : json_null());
        if (sqlite3_column_type(s, 7) != SQLITE_NULL)
            json_object_set_new(run, "error", json_string((const char *)sqlite3_column_text(s, 7)));
        json_object_set_new(o, "last_run", run);
    } else {
        json_object_set_new(o, "last_run", json_null());
    }
done:
    sqlite3_finalize(s);
    json_decref(mem);
    json_decref(status);
    json_decref(skips);
    json_decref(types);
    json_decref(quality);
    json_decref(wms);
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* ---- exports (engram export --what ...) ---- */

/* How a column is written: a time (INTEGER µs) as ISO 8601 UTC, JSON text as it is in JSONL
 * (e.g. concepts, a JSON array), anything else by its SQLite type: a number as a number (floats
 * in the shortest form that reads back the same), text as a string. NULL is an empty CSV field
 * and null in JSONL. */
typedef enum { COL_PLAIN, COL_TIME, COL_JSON } col_kind;

typedef struct export_col {
    const char *name;
    col_kind kind;
} export_col;

typedef struct export_spec {
    const char *what;
    const char *sql; /* selects the columns in order, already sorted */
    const export_col *cols;
    int ncols;
} export_spec;

static const export_col staging_cols[] = {
    {"memory_id", COL_PLAIN},        {"content", COL_PLAIN},
    {"created_at", COL_TIME},        {"last_accessed_at", COL_TIME},
    {"access_count", COL_PLAIN},     {"activation_strength", COL_PLAIN},
    {"importance_score", COL_PLAIN}, {"memory_type", COL_PLAIN},
    {"concepts", COL_JSON},          {"status", COL_PLAIN},
    {"source_system", COL_PLAIN},    {"processed_at", COL_TIME},
    {"raw_metadata", COL_PLAIN},
};

/* SPEC §6, written at staging; entities are among the concepts */
static const export_col features_cols[] = {
    {"memory_id", COL_PLAIN},         {"importance", COL_PLAIN},
    {"urgency", COL_PLAIN},           {"emotional_salience", COL_PLAIN},
    {"sentiment", COL_PLAIN},         {"task_type", COL_PLAIN},
    {"knowledge_type", COL_PLAIN},    {"region_hint", COL_PLAIN},
    {"abstraction_level", COL_PLAIN}, {"concepts", COL_JSON},
};

/* SPEC §7.4 */
static const export_col ltm_cols[] = {
    {"memory_id", COL_PLAIN},           {"semantic_category", COL_PLAIN},
    {"knowledge_type", COL_PLAIN},      {"cortical_region", COL_PLAIN},
    {"abstraction_level", COL_PLAIN},   {"minicolumn_id", COL_PLAIN},
    {"macrocolumn_id", COL_PLAIN},      {"column_rank", COL_PLAIN},
    {"retrieval_strength", COL_PLAIN},  {"memory_age", COL_PLAIN},
    {"consolidation_state", COL_PLAIN},
};

static const export_col concepts_cols[] = {
    {"concept", COL_PLAIN},
    {"community", COL_PLAIN},
    {"memories", COL_PLAIN},
};

/* SPEC §3: weight, co-activation count, last update */
static const export_col edges_cols[] = {
    {"concept_a", COL_PLAIN},     {"concept_b", COL_PLAIN}, {"weight", COL_PLAIN},
    {"coactivations", COL_PLAIN}, {"last_at", COL_TIME},
};

#define SPEC(what, sql, cols)                                                                      \
    {                                                                                              \
        what, sql, cols, (int)(sizeof cols / sizeof cols[0])                                       \
    }

/* Every export is ordered by a unique key (memory_id, concept name, the pair of names), so that
 * the same store always gives the same bytes; concept ids are not exported, since a run may
 * number the concepts differently. Memories deleted at the source are left out, as in the
 * staging view. */
static const export_spec exports[] = {
    SPEC("staging",
         "SELECT memory_id, content, created_at, last_accessed_at, access_count, "
         "activation_strength, importance_score, memory_type, concepts, status, source_system, "
         "processed_at, raw_metadata FROM staging ORDER BY memory_id",
         staging_cols),
    SPEC("features",
         "SELECT id, importance, urgency, emotional_salience, sentiment, task_type, "
         "knowledge_type, region_hint, abstraction_level, concepts FROM memory "
         "WHERE deleted_at_source IS NULL AND importance IS NOT NULL ORDER BY id",
         features_cols),
    SPEC("ltm",
         "SELECT m.id, l.semantic_category, l.knowledge_type, l.cortical_region, "
         "l.abstraction_level, l.minicolumn_id, l.macrocolumn_id, l.column_rank, "
         "l.retrieval_strength, l.memory_age, l.consolidation_state FROM ltm l "
         "JOIN memory m ON m.rowid = l.memory_rowid WHERE m.deleted_at_source IS NULL "
         "ORDER BY m.id",
         ltm_cols),
    SPEC("concepts", "SELECT name, community, memories FROM concept ORDER BY name", concepts_cols),
    SPEC("edges",
         "SELECT min(x.name, y.name), max(x.name, y.name), e.weight, e.coact, e.last_at "
         "FROM concept_edge e JOIN concept x ON x.concept_id = e.a "
         "JOIN concept y ON y.concept_id = e.b ORDER BY 1, 2",
         edges_cols),
};
#define NEXPORTS (sizeof exports / sizeof exports[0])

static const export_spec *find_export(const char *what)
{
    for (size_t i = 0; i < NEXPORTS; i++)
        if (!strcmp(what, exports[i].what))
            return &exports[i];
    eg_error_set(EG_EUSAGE, "--what must be staging, features, ltm, concepts or edges, not \"%s\"",
                 what);
    return NULL;
}

int eg_store_export_check(const char *what)
{
    return find_export(what) ? 0 : EG_EUSAGE;
}

static int export_rows(eg_store *st, const export_spec *x, eg_export_format fmt, FILE *out)
{
    sqlite3_stmt *s = NULL;
    eg_buf b;
    int rc = 0, step;
    char t[EG_TIME_BUFSZ];
    eg_buf_init(&b, 0);
    if (sqlite3_prepare_v2(eg_store_db(st), x->sql, -1, &s, NULL) != SQLITE_OK) {
        rc = eg__store_error(st, "could not export");
        goto done;
    }
    if (fmt == EG_EXPORT_CSV) {
        for (int i = 0; i < x->ncols; i++)
            eg_buf_printf(&b, "%s%s", i ? "," : "", x->cols[i].name);
        eg_buf_putc(&b, '\n');
    }
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (fmt == EG_EXPORT_JSONL)
            eg_buf_putc(&b, '{');
        for (int i = 0; i < x->ncols; i++) {
            int type = sqlite3_column_type(s, i);
            const char *txt = NULL;
            size_t len = 0;
            char num[64];
            bool is_time = x->cols[i].kind == COL_TIME;
            if (type == SQLITE_NULL) {
                txt = NULL;
            } else if (is_time) {
                txt = eg_time_format(sqlite3_column_int64(s, i), t);
                len = strlen(txt);
            } else if (type == SQLITE_FLOAT) {
                eg_format_double(sqlite3_column_double(s, i), num, sizeof num);
                txt = num;
                len = strlen(num);
            } else {
                txt = (const char *)sqlite3_column_text(s, i);
                len = (size_t)sqlite3_column_bytes(s, i);
            }
            if (fmt == EG_EXPORT_CSV) {
                if (i)
                    eg_buf_putc(&b, ',');
                if (txt)
                    eg_buf_csv_field(&b, txt, len);
            } else {
                eg_buf_printf(&b, "%s\"%s\":", i ? "," : "", x->cols[i].name);
                if (!txt)
                    eg_buf_puts(&b, "null");
                else if (is_time)
                    eg_buf_json_str(&b, txt, len);
                else if (type == SQLITE_FLOAT || type == SQLITE_INTEGER ||
                         x->cols[i].kind == COL_JSON)
                    eg_buf_append(&b, txt, len);
                else
                    eg_buf_json_str(&b, txt, len);
            }
        }
        eg_buf_puts(&b, fmt == EG_EXPORT_JSONL ? "}\n" : "\n");
        if (b.len > (1 << 20)) {
            if (fwrite(b.data, 1, b.len, out) != b.len) {
                rc = eg_error_set(EG_EIO, "could not write the export");
                goto done;
            }
            eg_buf_reset(&b);
        }
    }
    if (step != SQLITE_DONE) {
        rc = eg__store_error(st, "could not export");
        goto done;
    }
    if (b.len && fwrite(b.data, 1, b.len, out) != b.len)
        rc = eg_error_set(EG_EIO, "could not write the export");
done:
    sqlite3_finalize(s);
    eg_buf_free(&b);
    return rc;
}

int eg_store_export(eg_store *st, const char *what, eg_export_format fmt, FILE *out)
{
    const export_spec *x = find_export(what);
    return x ? export_rows(st, x, fmt, out) : EG_EUSAGE;
}

int eg_store_export_staging(eg_store *st, eg_export_format fmt, FILE *out)
{
    return export_rows(st, &exports[0], fmt, out);
}
