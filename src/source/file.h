/*
 * file.h — reads memory files for `engram import`: JSONL (one JSON object per line) and CSV
 * (RFC 4180 with a header row naming id, content, created_at, and optionally updated_at and
 * metadata).
 *
 * Each good row goes to on_record; each bad one to on_reject with its line number, the field, the
 * reason and its text as written — the rest of the file is still read. Only a file that cannot be
 * read at all fails the whole call. Records are valid during the callback only.
 * A file in UTF-16 or UTF-32 (a byte order mark at its start, or NUL bytes in a quarter of its
 * first line) is one that cannot be read: the error names the encoding and the iconv command.
 * A UTF-8 byte order mark is skipped at the start of any JSONL line or CSV record (files joined
 * with cat keep theirs), not only of the file.
 *
 * JSONL: metadata that is an object or other JSON value is kept as compact JSON text; a string is
 * kept as the raw metadata text (so it may hold invalid JSON, counted later at staging); so is a
 * metadata value with a number beyond 64-bit integers or doubles, which jansson cannot hold. An
 * integer id is its text as written, of any length.
 *
 * CSV: an empty unquoted field is NULL, a quoted empty field ("") is the empty string. Header
 * names match without regard to case and surrounding blanks; a header without id, content or
 * created_at, or naming a column twice, fails the file. Any number of columns (up to 65536 in
 * the header). A record of empty fields only is blank (on_blank), like an empty line. A quoted
 * field still open at the end of the file makes its record one reject that names the line it
 * starts on and the lines it took in.
 *
 * Times are ISO 8601 text; an empty one is NULL (an error for created_at, which is required). A
 * JSONL number is Unix seconds (integer or real) within years 1-9999; anything else, milliseconds
 * included, is rejected with the value and a guess at its unit. A number in a string (or a CSV
 * field) is not a time, as in the SQLite source.
 */
#ifndef EG_SOURCE_FILE_H
#define EG_SOURCE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "core/record.h"

typedef enum { EG_FILE_AUTO, EG_FILE_JSONL, EG_FILE_CSV } eg_file_format;

typedef struct eg_file_handlers {
    int (*on_record)(const eg_record *r, void *ud);
    int (*on_reject)(int64_t line, const char *field, const char *reason, const char *raw,
                     size_t raw_len, void *ud);
    /* optional: a blank line, or a CSV record of empty fields only (",,," padding), skipped */
    void (*on_blank)(int64_t line, void *ud);
    void *ud;
} eg_file_handlers;

/* Picks the format from the name (.jsonl/.ndjson/.json → JSONL, .csv → CSV) when AUTO; path "-"
 * reads standard input. Returns 0, EG_EBADINPUT (a file that cannot be opened, a directory, an
 * empty file — no bytes or blank lines only — or an unusable CSV header), EG_EIO (a read error
 * past the open), EG_EUSAGE (a name that says no format), or what a handler returned. */
int eg_file_read(const char *path, eg_file_format fmt, const eg_file_handlers *h);

#endif
