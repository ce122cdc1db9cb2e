/*
 * conninfo.h — looking inside libpq connection strings without revealing their secrets.
 *
 * Both forms libpq accepts are handled: URIs (postgresql://user:pw@host/db?opt=v) and keyword
 * strings (host=h password='x y'). Parsing is libpq's own (PQconninfoParse), so engram and libpq
 * never disagree about what a string contains. Used by the PostgreSQL source (error messages and
 * log lines), `engram config check` and the config loader (a password in engram's own config file
 * is refused unless the file is mode 0600; relative file names resolve against its folder).
 */
#ifndef EG_SOURCE_CONNINFO_H
#define EG_SOURCE_CONNINFO_H

#include <stdbool.h>
#include <stddef.h>

/* True if conninfo sets a non-empty password (in a URI's user info, a URI query parameter or a
 * password= keyword). A string libpq cannot parse counts as holding a password when it merely
 * looks like it does ("password" or URI user info with a colon), to err on the safe side. */
bool eg_conninfo_has_password(const char *conninfo);

/* Writes into out (outsz bytes, always NUL-terminated when outsz > 0) a copy of conninfo whose
 * password (and sslpassword), if any, is replaced by "****". A URI keeps its shape
 * (postgresql://user:****@host/db?..) and a keyword string its keywords, order, spacing and
 * quoting as written; a keyword string whose dbname is itself a connection string (or one whose
 * textual mask would not parse back to the same options) is rebuilt from libpq's parse instead
 * (keywords in libpq's order, values quoted when needed). Returns 0, EG_ENOMEM when out is too
 * small (out then holds a truncated but masked string), or EG_ECONFIG when libpq cannot parse
 * conninfo (out then holds a placeholder and the last error says why, with no part of the string in
 * it). NULL conninfo is the empty string. */
int eg_conninfo_mask(const char *conninfo, char *out, size_t outsz);

/* Whether a dbname value is itself a connection string (a URI, or text with '='), which libpq
 * expands: it may hold a password, so it is only ever shown through eg_conninfo_mask. */
bool eg_conninfo_looks_nested(const char *dbname);

/* Sets *out to a malloc'ed copy of conninfo (the caller frees it) in which the relative file
 * names libpq would open from its working directory (passfile, sslcert, sslkey, sslrootcert,
 * sslcrl, sslcrldir), in keyword=value form or as URI query parameters, are prefixed with dir, the
 * config file's folder. Absolute and empty values, sslrootcert=system and an OpenSSL engine
 * reference in sslkey (engine:key) stay as they are, and so does the rest of the string, keyword
 * order and quoting included; a resolved value is quoted (keyword form) or percent-encoded (URI)
 * as needed. Should the textual rewrite not parse back to the same options, the string is
 * rebuilt from libpq's parse instead. A NULL dir, or a string libpq cannot parse, is copied as
 * it is. Returns 0 or EG_ENOMEM (*out then NULL). Nothing of the string is logged or put in an
 * error message. */
int eg_conninfo_resolve_paths(const char *conninfo, const char *dir, char **out);

/* The password conninfo sets, as a malloc'ed string the caller frees, or NULL when there is none
 * (or the string does not parse). Used to scrub messages; never print it. */
char *eg__conninfo_password(const char *conninfo);

#endif
