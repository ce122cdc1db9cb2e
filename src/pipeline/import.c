/*
 * import.c — fills the store's embedded source table (`memories`): `engram import FILE` and
 * `engram remember TEXT`.
 *
 * An import is one transaction: every good row and every quarantine entry, or nothing. Bad rows
 * are reported with their line number on the error stream and kept in the quarantine table with
 * their raw text; they never stop the rest of the file. Staging happens later, at ingest/run.
 */
#include "engram/engram.h"

#include "source/file.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/idset.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

typedef struct import_ctx {
    eg_store *st;
    const char *path;
    char source[300];
    int64_t now;
    FILE *err;
    eg_import_report *rep;
    eg_idset *seen; /* the ids of this file, each with the line it was first on */
} import_ctx;

static int on_record(const eg_record *r, void *ud)
{
    import_ctx *c = ud;
    int changed, rc;
    /* ids are compared byte for byte, as the source's primary key: a file that names one
     * twice keeps its last row, and says so rather than drop the earlier one silently */
    int64_t first;
    if (eg_idset_get(c->seen, r->id, r->id_len, &first)) {
        c->rep->repeated++;
        if (c->err) {
            eg_buf id;
            eg_buf_init(&id, 4096);
            if (!eg_buf_json_str(&id, r->id, r->id_len))
                fprintf(c->err,
                        "engram: %s:%lld: id %s is also on line %lld: this row replaces it\n",
                        c->path, (long long)r->row_ref, id.data, (long long)first);
            eg_buf_free(&id);
        }
    } else if ((rc = eg_idset_put(c->seen, r->id, r->id_len, r->row_ref)))
        return rc;
    if ((rc = eg_store_source_put(c->st, r, &changed)))
        return rc;
    c->rep->lines_ok++;
    c->rep->inserted += changed == 1;
    c->rep->updated += changed == 2;
    c->rep->unchanged += changed == 0;
    return 0;
}

static int on_reject(int64_t line, const char *field, const char *reason, const char *raw,
                     size_t raw_len, void *ud)
{
    import_ctx *c = ud;
    char ref[400];
    snprintf(ref, sizeof ref, "%s:%lld", c->path, (long long)line);
    c->rep->quarantined++;
    if (c->err)
        fprintf(c->err, "engram: %s: %s%s%s (quarantined)\n", ref, field ? field : "",
                field ? ": " : "", reason);
    return eg_store_quarantine(c->st, c->now, c->source, ref, field ? field : "", reason, raw,
                               raw_len);
}

static void on_blank(int64_t line, void *ud)
{
    (void)line;
    ((import_ctx *)ud)->rep->blank++;
}

int eg_import_file(eg_store *st, const char *path, const char *format, int64_t now, FILE *err,
                   eg_import_report *rep)
{
    import_ctx c = {.st = st, .path = path, .now = now, .err = err, .rep = rep};
    eg_file_handlers h = {
        .on_record = on_record, .on_reject = on_reject, .on_blank = on_blank, .ud = &c};
    eg_file_format fmt = EG_FILE_AUTO;
    int rc;
    memset(rep, 0, sizeof *rep);
    snprintf(c.source, sizeof c.source, "import:%s", path);
    if (format && !strcmp(format, "jsonl"))
        fmt = EG_FILE_JSONL;
    else if (format && !strcmp(format, "csv"))
        fmt = EG_FILE_CSV;
    else if (format) {
        eg_error_set(EG_EUSAGE, "unknown import format \"%s\"", format);
        eg_error_hint("use --format jsonl or --format csv");
        return EG_EUSAGE;
    }
    if ((rc = eg_idset_new(&c.seen)))
        return rc;
    if ((rc = eg_store_begin(st)))
        goto done;
    if ((rc = eg_file_read(path, fmt, &h)))
        eg_store_rollback(st);
    else
        rc = eg_store_commit(st);
done:
    eg_idset_free(c.seen);
    return rc;
}

int eg_remember_check(const char *text, const char *id, const char *metadata)
{
    size_t len = strlen(text);
    if (!eg_utf8_valid(text, len, NULL))
        return eg_error_set(EG_EBADINPUT, "the text is not valid UTF-8");
    if (!len || eg_utf8_blank(text, len)) {
        eg_error_set(EG_EBADINPUT, "the text is %s", len ? "only whitespace" : "empty");
        eg_error_detail(len ? "a memory of only whitespace has no words: no concepts, nothing to "
                              "recall it by"
                            : "a memory with empty content is only ever skipped by the staging");
        return EG_EBADINPUT;
    }
    if (id) {
        size_t n = strlen(id);
        if (!eg_utf8_valid(id, n, NULL))
            return eg_error_set(EG_EUSAGE, "--id is not valid UTF-8");
        if (!n || eg_utf8_length(id, n) > EG_REMEMBER_ID_MAX)
            return eg_error_set(EG_EUSAGE, "--id must be 1 to %d characters, not %zu",
                                EG_REMEMBER_ID_MAX, eg_utf8_length(id, n));
    }
    if (metadata) {
        json_error_t jerr;
        json_t *m = json_loads(metadata, 0, &jerr);
        if (!m || !json_is_object(m)) {
            json_decref(m);
            eg_error_set(EG_EBADINPUT, "--metadata is not a JSON object%s%s", m ? "" : ": ",
                         m ? "" : jerr.text);
            return EG_EBADINPUT;
        }
        json_decref(m);
    }
    return 0;
}

int eg_remember(eg_store *st, const char *text, const char *id, const char *metadata,
                int64_t created_at, char *id_out)
{
    eg_record r = {0};
    int changed, rc;
    if ((rc = eg_remember_check(text, id, metadata)))
        return rc;
    if (id) {
        snprintf(id_out, EG_REMEMBER_ID_SIZE, "%s", id);
    } else {
        /* a UUID-shaped id from the time and the text: remembering the same text at the same
         * instant twice is one memory, anything else is a new one */
        XXH128_hash_t h = XXH3_128bits_withSeed(text, strlen(text), (XXH64_hash_t)created_at);
        snprintf(id_out, 40, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(h.high64 >> 32),
                 (unsigned)(h.high64 >> 16) & 0xffff, (unsigned)h.high64 & 0xfff,
                 (unsigned)(0x8000 | ((h.low64 >> 48) & 0x3fff)),
                 (unsigned long long)(h.low64 & 0xffffffffffffULL));
    }
    r.id = id ? id : id_out;
    r.id_len = strlen(r.id);
    r.content = text;
    r.content_len = strlen(text);
    r.created_at = created_at;
    r.has_created = true;
    r.metadata = metadata;
    r.metadata_len = metadata ? strlen(metadata) : 0;
    if ((rc = eg_store_begin(st)))
        return rc;
    if ((rc = eg_store_source_put(st, &r, &changed))) {
        eg_store_rollback(st);
        return rc;
    }
    return eg_store_commit(st);
}
