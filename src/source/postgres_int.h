/*
 * postgres_int.h — private hooks into the PostgreSQL source, for its integration tests.
 *
 * Not part of the source interface: engram's own code reaches the source only through
 * source.h. The connection stays owned by the source; callers must not close it.
 */
#ifndef EG_SOURCE_POSTGRES_INT_H
#define EG_SOURCE_POSTGRES_INT_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "source/source.h"

/* The libpq connection of an open PostgreSQL source (src must come from eg_source_postgres). */
PGconn *eg__postgres_conn(eg_source *src);
/* The base type of the metadata column ("jsonb", "json", "text", ...) as the schema check read
 * it when the source was opened, so that no caller needs another catalog query. */
const char *eg__postgres_metadata_type(eg_source *src);
/* Whether the server encoding of an open PostgreSQL source is SQL_ASCII: its text may hold any
 * bytes, which the session reads as stored (client_encoding SQL_ASCII), and rows whose id, content
 * or metadata are not valid UTF-8 are quarantined at ingest. In any other encoding the server
 * only ever sends valid UTF-8, and the monitors need not look. */
bool eg__postgres_sql_ascii(eg_source *src);
/* A SQL condition (malloc'd; NULL when out of memory) true when the text expression expr is not
 * valid UTF-8 by eg_utf8_valid's rule, false when it is or is NULL. Only meaningful on a
 * SQL_ASCII server, which compares bytes. */
char *eg__postgres_utf8_invalid(const char *expr);
/* The describe() string of the source the last eg_source_open of this thread failed to open, once
 * libpq knew where it goes (host, port, dbname and user as libpq resolved them, the table quoted as
 * describe() quotes it); "" when that open failed before, or succeeded. engram health records an
 * unreachable source under it, the target of the same source when it opens. */
const char *eg__postgres_failed_describe(void);

/* Feeds a complete binary COPY stream (of the five columns scan() selects) to the COPY parser in
 * pieces of chunk bytes, as if they arrived in that many CopyData messages, delivering batches to
 * fn and rejects to reject like scan(). Lets tests split tuples where the server never does. */
int eg__postgres_parse_copy(const char *data, size_t len, size_t chunk, eg_batch_fn fn,
                            eg_reject_fn reject, void *ud);

#endif
