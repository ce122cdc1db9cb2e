/*
 * conninfo.c — password detection and masking for libpq connection strings, and the rewriting
 * of relative file names in them (sslrootcert=ca.crt) against a config file's folder.
 *
 * Owns nothing beyond the call: every function parses with PQconninfoParse and frees the result.
 * A URI or a keyword string is masked in place textually (following libpq's own grammar) and then
 * re-parsed to prove the password is gone and nothing else changed; a string whose textual mask
 * does not survive that check, or whose dbname is itself a connection string, is rebuilt from the
 * parsed options. A dbname that is itself a connection string (libpq
 * expands those) is looked into as well. Rewriting is textual too (the rest of the string stays as
 * written) and proven the same way, by re-parsing. This module does not connect and does not log.
 */
#include "core/conninfo.h"

#include "engram/error.h"

#include <ctype.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MASK "****"

/* An output cursor into the caller's buffer that remembers whether it overflowed. */
typedef struct out_buf {
    char *p;
    size_t sz, len;
    bool overflow;
} out_buf;

static void out_put(out_buf *o, const char *s, size_t n)
{
    if (o->sz == 0) {
        o->overflow = o->overflow || n > 0;
        return;
    }
    size_t room = o->sz - 1 - o->len;
    if (n > room) {
        n = room;
        o->overflow = true;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

static void out_puts(out_buf *o, const char *s)
{
    out_put(o, s, strlen(s));
}

static const char *uri_body(const char *s)
{
    static const char *const prefixes[] = {"postgresql://", "postgres://"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(s, prefixes[i], n) == 0)
            return s + n;
    }
    return NULL;
}

/* libpq treats a dbname value as a connection string when it is a URI or contains '='. */
static bool looks_like_conninfo(const char *s)
{
    return uri_body(s) != NULL || strchr(s, '=') != NULL;
}

bool eg_conninfo_looks_nested(const char *dbname)
{
    return dbname && looks_like_conninfo(dbname);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* True if the percent-encoded key s[0..n) decodes to "password". */
static bool key_is_password(const char *s, size_t n)
{
    static const char want[] = "password";
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            c = hexval(s[i + 1]) * 16 + hexval(s[i + 2]);
            i += 2;
        }
        if (k >= sizeof want - 1 || c != want[k])
            return false;
        k++;
    }
    return k == sizeof want - 1;
}

/* The user info of a URI, taken generously: everything before the last '@' ahead of the query.
 * libpq stops at the first '/', but a password with an unencoded '/' or '@' is still a password
 * to hide. Returns the start of the password (after the first ':') and its length, or NULL. */
static const char *uri_userinfo_password(const char *body, const char **at, size_t *len)
{
    size_t auth = strcspn(body, "?");
    const char *last_at = NULL;
    for (const char *p = body; p < body + auth; p++)
        if (*p == '@')
            last_at = p;
    *at = last_at;
    if (!last_at)
        return NULL;
    const char *colon = memchr(body, ':', (size_t)(last_at - body));
    if (!colon)
        return NULL;
    *len = (size_t)(last_at - colon - 1);
    return colon + 1;
}

/* A URI whose user info holds a non-empty password, as uri_userinfo_password() sees it. */
static bool uri_has_password(const char *s)
{
    const char *body = uri_body(s), *at;
    size_t len = 0;
    return body && uri_userinfo_password(body, &at, &len) && len > 0;
}

/* Masks a URI textually: the password of the user info, and password= query parameters. */
static void mask_uri(const char *s, out_buf *o)
{
    const char *body = uri_body(s), *at, *p;
    size_t pwlen = 0;
    out_put(o, s, (size_t)(body - s));
    const char *pw = uri_userinfo_password(body, &at, &pwlen);
    if (pw) {
        out_put(o, body, (size_t)(pw - body));
        out_puts(o, MASK);
        body = at; /* the '@' and what follows */
    }
    const char *q = strchr(body, '?');
    if (!q) {
        out_puts(o, body);
        return;
    }
    out_put(o, body, (size_t)(q - body) + 1);
    p = q + 1;
    while (*p) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        if (eq && key_is_password(p, (size_t)(eq - p))) {
            out_put(o, p, (size_t)(eq - p) + 1);
            out_puts(o, MASK);
        } else {
            out_put(o, p, n);
        }
        p += n;
        if (*p == '&') {
            out_put(o, "&", 1);
            p++;
        }
    }
}

/* Writes value v of a keyword string, quoted when it must be, or when quote is set. */
static void put_value_quoted(out_buf *o, const char *v, bool quote)
{
    quote = quote || *v == '\0';
    for (const char *c = v; *c && !quote; c++)
        quote = isspace((unsigned char)*c) || *c == '\'' || *c == '\\';
    if (!quote) {
        out_puts(o, v);
        return;
    }
    out_put(o, "'", 1);
    for (const char *c = v; *c; c++) {
        if (*c == '\'' || *c == '\\')
            out_put(o, "\\", 1);
        out_put(o, c, 1);
    }
    out_put(o, "'", 1);
}

static void put_value(out_buf *o, const char *v)
{
    put_value_quoted(o, v, false);
}

static int mask_into(const char *s, out_buf *o, int depth);

/* Rebuilds a connection string from libpq's parse, with the password masked. */
static void rebuild(const PQconninfoOption *opts, out_buf *o, int depth)
{
    bool first = true;
    for (const PQconninfoOption *opt = opts; opt->keyword; opt++) {
        if (!opt->val)
            continue;
        if (!first)
            out_put(o, " ", 1);
        first = false;
        out_puts(o, opt->keyword);
        out_put(o, "=", 1);
        if (strcmp(opt->keyword, "password") == 0 || strcmp(opt->keyword, "sslpassword") == 0) {
            out_puts(o, MASK);
        } else if (strcmp(opt->keyword, "dbname") == 0 && depth == 0 &&
                   looks_like_conninfo(opt->val)) {
            /* a nested connection string: mask it, then quote the masked text */
            char inner[1024];
            out_buf io = {inner, sizeof inner, 0, false};
            if (mask_into(opt->val, &io, depth + 1) != 0 || io.overflow)
                out_puts(o, MASK);
            else
                put_value(o, inner);
        } else {
            put_value(o, opt->val);
        }
    }
}

static bool opts_password(const PQconninfoOption *opts, const char **pw, const char **dbname)
{
    *pw = NULL;
    *dbname = NULL;
    for (const PQconninfoOption *opt = opts; opt->keyword; opt++) {
        if (opt->val && strcmp(opt->keyword, "password") == 0)
            *pw = opt->val;
        else if (opt->val && strcmp(opt->keyword, "dbname") == 0)
            *dbname = opt->val;
    }
    return *pw && **pw;
}

/* True if the masked text s parses to options whose password is absent or the mask. */
static bool mask_holds(const char *s)
{
    PQconninfoOption *opts = PQconninfoParse(s, NULL);
    if (!opts)
        return false;
    const char *pw, *db;
    opts_password(opts, &pw, &db);
    bool ok = !pw || strcmp(pw, MASK) == 0;
    if (ok && db && uri_body(db))
        ok = false; /* a nested URI in a URI's dbname: let rebuild() handle it */
    PQconninfoFree(opts);
    return ok;
}

/* The client key's passphrase (sslpassword) is a secret too. */
static bool has_sslpassword(const PQconninfoOption *opts)
{
    for (const PQconninfoOption *opt = opts; opt->keyword; opt++)
        if (opt->val && opt->val[0] && strcmp(opt->keyword, "sslpassword") == 0)
            return true;
    return false;
}

static const char *kw_next(const char *p, const char **kw, size_t *kwlen, const char **vstart,
                           char *val);

static bool is_secret(const char *keyword)
{
    return strcmp(keyword, "password") == 0 || strcmp(keyword, "sslpassword") == 0;
}

/* True if masked parses to the options of orig with every password and sslpassword the mask. */
static bool mask_keywords_hold(const PQconninfoOption *orig, const char *masked)
{
    PQconninfoOption *opts = PQconninfoParse(masked, NULL);
    if (!opts)
        return false;
    bool ok = true;
    const PQconninfoOption *a = orig, *b = opts;
    for (; ok && a->keyword && b->keyword; a++, b++) {
        if (strcmp(a->keyword, b->keyword) != 0)
            ok = false;
        else if (!a->val || !b->val)
            ok = !a->val && !b->val;
        else
            ok = strcmp(is_secret(a->keyword) ? MASK : a->val, b->val) == 0;
    }
    ok = ok && !a->keyword && !b->keyword;
    PQconninfoFree(opts);
    return ok;
}

/* Masks a keyword string textually, so that config check shows it as written: the values of
 * password and sslpassword become the mask, everything else is copied. False, with nothing
 * written, when dbname is itself a connection string (rebuild() masks inside it) or when the
 * masked text does not parse back to the same options with only the secrets masked. */
static bool mask_keywords(const char *s, const PQconninfoOption *opts, out_buf *o)
{
    for (const PQconninfoOption *opt = opts; opt->keyword; opt++)
        if (opt->val && strcmp(opt->keyword, "dbname") == 0 && looks_like_conninfo(opt->val))
            return false;
    size_t start = o->len, len = strlen(s);
    char *scratch = malloc(2 * len + 2);
    if (!scratch)
        return false;
    const char *p = s, *kw, *vstart, *end;
    size_t kwlen;
    char *key = scratch + len + 1;
    while ((end = kw_next(p, &kw, &kwlen, &vstart, scratch))) {
        memcpy(key, kw, kwlen);
        key[kwlen] = '\0';
        if (is_secret(key)) {
            out_put(o, p, (size_t)(vstart - p));
            /* password='x'host=h: a keyword right after the value needs the quotes */
            put_value_quoted(o, MASK, *end && !isspace((unsigned char)*end));
        } else {
            out_put(o, p, (size_t)(end - p));
        }
        p = end;
    }
    out_puts(o, p);
    free(scratch);
    bool ok = !o->overflow && mask_keywords_hold(opts, o->p + start);
    if (!ok) {
        o->len = start;
        o->overflow = false;
        if (o->sz)
            o->p[start] = '\0';
    }
    return ok;
}

static int mask_into(const char *s, out_buf *o, int depth)
{
    PQconninfoOption *opts = PQconninfoParse(s, NULL);
    if (!opts)
        return EG_ECONFIG;
    size_t start = o->len;
    if (uri_body(s) && !has_sslpassword(opts)) {
        mask_uri(s, o);
        bool holds = !o->overflow && mask_holds(o->p + start);
        o->len = holds ? o->len : start;
        if (!holds && o->sz)
            o->p[start] = '\0';
        if (holds || uri_has_password(s)) {
            /* a password libpq would not even see as one: no rebuild from libpq's reading */
            PQconninfoFree(opts);
            return holds ? 0 : EG_ECONFIG;
        }
        o->overflow = false;
    } else if (!uri_body(s) && mask_keywords(s, opts, o)) {
        PQconninfoFree(opts);
        return 0;
    }
    rebuild(opts, o, depth);
    PQconninfoFree(opts);
    return 0;
}

int eg_conninfo_mask(const char *conninfo, char *out, size_t outsz)
{
    const char *s = conninfo ? conninfo : "";
    /* masked into a buffer that cannot overflow (quoting at most doubles a value; keywords and
     * masks add less than 1 KiB), then copied: a short out truncates an already masked text */
    size_t cap = 3 * strlen(s) + 1024;
    char *tmp = malloc(cap);
    int rc = 0;
    if (!tmp)
        return eg_error_set(EG_ENOMEM, "out of memory masking a connection string");
    out_buf t = {tmp, cap, 0, false};
    tmp[0] = '\0';
    if (mask_into(s, &t, 0) != 0 || t.overflow) {
        snprintf(tmp, cap, "(unparseable connection string)");
        rc = eg_error_set(EG_ECONFIG, "the PostgreSQL connection string could not be parsed");
    }
    out_buf o = {out, outsz, 0, false};
    if (outsz)
        out[0] = '\0';
    out_puts(&o, tmp);
    free(tmp);
    if (rc == 0 && o.overflow)
        rc = eg_error_set(EG_ENOMEM, "masked connection string longer than %zu bytes", outsz);
    return rc;
}

char *eg__conninfo_password(const char *conninfo)
{
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
    if (!opts)
        return NULL;
    const char *pw, *db;
    char *res = NULL;
    if (opts_password(opts, &pw, &db))
        res = strdup(pw);
    else if (db && looks_like_conninfo(db) && strcmp(db, conninfo ? conninfo : "") != 0)
        res = eg__conninfo_password(db);
    PQconninfoFree(opts);
    return res;
}

bool eg_conninfo_has_password(const char *conninfo)
{
    if (!conninfo)
        return false;
    if (uri_has_password(conninfo))
        return true;
    PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
    if (!opts) /* libpq rejects it: does it merely look like it holds a password? */
        return strcasestr(conninfo, "password") != NULL;
    bool ssl = has_sslpassword(opts);
    PQconninfoFree(opts);
    if (ssl)
        return true;
    char *pw = eg__conninfo_password(conninfo);
    bool has = pw != NULL;
    free(pw);
    return has;
}

/* ---- relative file names ---- */

/* The libpq 15 keywords whose values name files or folders that libpq opens, relative to its
 * working directory when not absolute. (service names a section of a service file, not a file;
 * the service file itself is only PGSERVICEFILE, from the environment.) */
static const char *const file_keywords[] = {"passfile",    "sslcert", "sslkey",
                                            "sslrootcert", "sslcrl",  "sslcrldir"};

/* True if keyword=value names a relative file that libpq would look for in the working
 * directory: not empty, not absolute, not sslrootcert's special "system" (PostgreSQL 16: the
 * system's trusted CAs), and not an OpenSSL engine reference "engine:key" in sslkey. */
static bool relative_file(const char *keyword, const char *value)
{
    bool file = false;
    for (size_t i = 0; i < sizeof file_keywords / sizeof file_keywords[0] && !file; i++)
        file = strcmp(keyword, file_keywords[i]) == 0;
    if (!file || !value || !value[0] || value[0] == '/')
        return false;
    if (strcmp(keyword, "sslrootcert") == 0 && strcmp(value, "system") == 0)
        return false;
    return !(strcmp(keyword, "sslkey") == 0 && strchr(value, ':'));
}

/* dir + "/" + value (one slash when dir ends with one), malloc'ed. */
static char *join_dir(const char *dir, const char *value)
{
    size_t n = strlen(dir), len = n + strlen(value) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s%s%s", dir, n && dir[n - 1] == '/' ? "" : "/", value);
    return p;
}

/* Writes the percent-decoded text s[0..n) into out (n + 1 bytes or more), as libpq decodes the
 * parts of a URI. */
static void uri_decode(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[k++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[k++] = s[i];
        }
    }
    out[k] = '\0';
}

/* Percent-encodes s for a URI query value: unreserved characters and '/' stay as they are. */
static void uri_encode(out_buf *o, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (isalnum(*c) || strchr("-._~/", *c)) {
            out_put(o, (const char *)c, 1);
        } else {
            char hex[4];
            snprintf(hex, sizeof hex, "%%%02X", *c);
            out_put(o, hex, 3);
        }
    }
}

/* Where the query of a URI starts (the '?'), or NULL, following libpq: the user info ends at the
 * first '@' before any '/', and may hold a '?' of its own. */
static const char *uri_query(const char *s)
{
    const char *body = uri_body(s), *p = body;
    while (*p && *p != '@' && *p != '/')
        p++;
    return strchr(*p == '@' ? p + 1 : body, '?');
}

/* Copies a URI, prefixing dir to the relative file names among its query parameters. */
static void resolve_uri(const char *s, const char *dir, out_buf *o, char *scratch)
{
    const char *q = uri_query(s);
    if (!q) {
        out_puts(o, s);
        return;
    }
    out_put(o, s, (size_t)(q - s) + 1);
    for (const char *p = q + 1; *p;) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        if (eq) {
            char *key = scratch + strlen(s) + 1;
            uri_decode(p, (size_t)(eq - p), key);
            uri_decode(eq + 1, (size_t)(p + n - eq - 1), scratch);
            if (relative_file(key, scratch)) {
                out_put(o, p, (size_t)(eq - p) + 1);
                uri_encode(o, dir);
                if (!dir[0] || dir[strlen(dir) - 1] != '/')
                    out_put(o, "/", 1);
                out_put(o, eq + 1, (size_t)(p + n - eq - 1));
                p += n;
                goto next;
            }
        }
        out_put(o, p, n);
        p += n;
    next:
        if (*p == '&') {
            out_put(o, "&", 1);
            p++;
        }
    }
}

/* One keyword=value of a keyword string, found the way libpq's conninfo_parse finds it: spans
 * into the string and the value unquoted and unescaped into val. Returns the position after the
 * value, or NULL at the end of the string or on a syntax error. */
static const char *kw_next(const char *p, const char **kw, size_t *kwlen, const char **vstart,
                           char *val)
{
    while (isspace((unsigned char)*p))
        p++;
    if (!*p)
        return NULL;
    *kw = p;
    while (*p && *p != '=' && !isspace((unsigned char)*p))
        p++;
    *kwlen = (size_t)(p - *kw);
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '=')
        return NULL;
    p++;
    while (isspace((unsigned char)*p))
        p++;
    *vstart = p;
    size_t k = 0;
    if (*p == '\'') {
        for (p++;; p++) {
            if (!*p)
                return NULL; /* unterminated quote */
            if (*p == '\'') {
                p++;
                break;
            }
            if (*p == '\\' && p[1])
                p++;
            val[k++] = *p;
        }
    } else {
        for (; *p && !isspace((unsigned char)*p); p++) {
            if (*p == '\\') {
                if (!p[1])
                    break;
                p++;
            }
            val[k++] = *p;
        }
    }
    val[k] = '\0';
    return p;
}

/* Copies a keyword string, replacing relative file names by dir/name (quoted when needed). */
static void resolve_keywords(const char *s, const char *dir, out_buf *o, char *scratch)
{
    const char *p = s, *kw, *vstart, *end;
    size_t kwlen;
    char *key = scratch + strlen(s) + 1;
    while ((end = kw_next(p, &kw, &kwlen, &vstart, scratch))) {
        memcpy(key, kw, kwlen);
        key[kwlen] = '\0';
        if (relative_file(key, scratch)) {
            char *abs = join_dir(dir, scratch);
            if (!abs) {
                o->overflow = true; /* out of memory: the caller gives up */
                return;
            }
            /* quoted if it was: a quoted value may be followed by the next keyword at once */
            out_put(o, p, (size_t)(vstart - p));
            put_value_quoted(o, abs, *vstart == '\'');
            free(abs);
        } else {
            out_put(o, p, (size_t)(end - p));
        }
        p = end;
    }
    out_puts(o, p);
}

/* True if resolved parses to the options of orig, with each relative file name made dir/name. */
static bool resolve_holds(const PQconninfoOption *orig, const char *resolved, const char *dir)
{
    PQconninfoOption *opts = PQconninfoParse(resolved, NULL);
    if (!opts)
        return false;
    bool ok = true;
    const PQconninfoOption *a = orig, *b = opts;
    for (; ok && a->keyword && b->keyword; a++, b++) {
        char *want = NULL;
        if (strcmp(a->keyword, b->keyword) != 0) {
            ok = false;
        } else if (relative_file(a->keyword, a->val)) {
            want = join_dir(dir, a->val);
            ok = want && b->val && strcmp(want, b->val) == 0;
        } else {
            ok = (!a->val && !b->val) || (a->val && b->val && strcmp(a->val, b->val) == 0);
        }
        free(want);
    }
    ok = ok && !a->keyword && !b->keyword;
    PQconninfoFree(opts);
    return ok;
}

/* The fallback when the textual rewrite does not prove right: the string rebuilt from libpq's
 * parse (keywords in libpq's order), file names resolved, nothing masked. */
static void rebuild_resolved(const PQconninfoOption *opts, const char *dir, out_buf *o)
{
    bool first = true;
    for (const PQconninfoOption *opt = opts; opt->keyword; opt++) {
        if (!opt->val)
            continue;
        if (!first)
            out_put(o, " ", 1);
        first = false;
        out_puts(o, opt->keyword);
        out_put(o, "=", 1);
        char *abs = relative_file(opt->keyword, opt->val) ? join_dir(dir, opt->val) : NULL;
        if (relative_file(opt->keyword, opt->val) && !abs) {
            o->overflow = true;
            return;
        }
        put_value(o, abs ? abs : opt->val);
        free(abs);
    }
}

int eg_conninfo_resolve_paths(const char *conninfo, const char *dir, char **out)
{
    const char *s = conninfo ? conninfo : "";
    *out = NULL;
    PQconninfoOption *opts = dir ? PQconninfoParse(s, NULL) : NULL;
    bool any = false;
    for (const PQconninfoOption *opt = opts; opt && opt->keyword && !any; opt++)
        any = relative_file(opt->keyword, opt->val);
    if (!any) {
        /* nothing to resolve, or a string libpq rejects: kept as written, for the error that
         * `config check` and the source give it */
        PQconninfoFree(opts);
        *out = strdup(s);
        return *out ? 0 : eg_error_set(EG_ENOMEM, "out of memory");
    }
    /* room for every value quoted (at most twice as long) and for dir, percent-encoded (three
     * bytes a byte), before each of them; keywords a rebuild adds take less than 1 KiB. The
     * scratch holds a decoded value and, after it, a keyword. */
    size_t len = strlen(s), cap = 2 * len + (3 * strlen(dir) + 4) * (len / 2 + 1) + 1024;
    char *buf = malloc(cap), *scratch = malloc(2 * len + 2);
    int rc = 0;
    if (!buf || !scratch) {
        rc = eg_error_set(EG_ENOMEM, "out of memory");
        goto done;
    }
    out_buf o = {buf, cap, 0, false};
    buf[0] = '\0';
    if (uri_body(s))
        resolve_uri(s, dir, &o, scratch);
    else
        resolve_keywords(s, dir, &o, scratch);
    if (o.overflow || !resolve_holds(opts, buf, dir)) {
        o.len = 0;
        o.overflow = false;
        buf[0] = '\0';
        rebuild_resolved(opts, dir, &o);
    }
    if (o.overflow) {
        rc = eg_error_set(EG_ENOMEM, "out of memory resolving the file names of a connection "
                                     "string");
        goto done;
    }
    *out = buf;
    buf = NULL;
done:
    free(buf);
    free(scratch);
    PQconninfoFree(opts);
    return rc;
}
