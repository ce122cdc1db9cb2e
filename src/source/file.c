/*
 * file.c — JSONL and CSV readers for `engram import` (see file.h).
 *
 * JSON parsing is jansson's; the CSV reader is a small RFC 4180 state machine because it must
 * tell NULL (empty) from "" (quoted empty) and report the line each record starts on. Lines are
 * capped at 64 MiB so a corrupt file cannot exhaust memory.
 */
#include "source/file.h"

#include "engram/error.h"
#include "util/buf.h"
#include "util/timeutil.h"
#include "util/utf8.h"

#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_LINE ((size_t)64 << 20)

/* The value s[0..n) as an error message shows it: in double quotes if quote, at most SHOWN_CHARS
 * characters of valid UTF-8 (cut at a character, "..." after a cut), control characters and
 * invalid bytes as '?', so that a message names the bad value, not only its field. */
#define SHOWN_CHARS 60
static const char *shown(const char *s, size_t n, bool quote, char *buf, size_t cap)
{
    size_t o = 0, chars = 0, i = 0;
    if (cap < 8)
        return "";
    if (quote)
        buf[o++] = '"';
    while (i < n && chars < SHOWN_CHARS) {
        size_t skip = 1, len = eg_utf8_seq(s + i, n - i, &skip);
        size_t add = len ? len : 1;
        if (o + add + 5 > cap) /* room for '"', "...", NUL */
            break;
        if (!len || (len == 1 && ((unsigned char)s[i] < 0x20 || s[i] == 0x7f))) {
            buf[o++] = '?';
            i += len ? len : skip;
        } else {
            memcpy(buf + o, s + i, len);
            o += len;
            i += len;
        }
        chars++;
    }
    if (i < n) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    if (quote)
        buf[o++] = '"';
    buf[o] = '\0';
    return buf;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

static int reject(const eg_file_handlers *h, int64_t line, const char *field, const char *reason,
                  const char *raw, size_t raw_len)
{
    return h->on_reject ? h->on_reject(line, field, reason, raw, raw_len, h->ud) : 0;
}

/* Fails the file if its first line says it is UTF-16 or UTF-32 rather than UTF-8 (spreadsheet
 * programs and PowerShell write those): a byte order mark at the start of the file (at_start), or
 * NUL bytes in at least a quarter of the line, as ASCII text has in UTF-16 (one in two) and in
 * UTF-32 (three in four). Read as UTF-8 such a file gives a header or JSON error about mojibake,
 * so the error here names the encoding and the iconv command that converts it. Returns 0, or
 * EG_EBADINPUT (exit 65, an unusable file) with the error set. */
static int wide_encoding(const char *path, const unsigned char *p, size_t n, bool at_start)
{
    /* UTF-32 first: its little-endian mark starts with UTF-16's */
    static const struct {
        const char *mark;
        size_t n;
        const char *enc, *how;
    } boms[] = {
        {"\xFF\xFE\0\0", 4, "UTF-32 (little-endian)", "(FF FE 00 00)"},
        {"\0\0\xFE\xFF", 4, "UTF-32 (big-endian)", "(00 00 FE FF)"},
        {"\xFF\xFE", 2, "UTF-16 (little-endian)", "(FF FE)"},
        {"\xFE\xFF", 2, "UTF-16 (big-endian)", "(FE FF)"},
    };
    char how_buf[64];
    const char *enc = NULL, *from = NULL, *how = NULL;
    size_t nul = 0, nul_even = 0;
    for (size_t b = 0; at_start && !enc && b < sizeof boms / sizeof boms[0]; b++)
        if (n >= boms[b].n && !memcmp(p, boms[b].mark, boms[b].n)) {
            enc = boms[b].enc;
            from = boms[b].n == 4 ? "UTF-32" : "UTF-16"; /* iconv reads the mark */
            snprintf(how_buf, sizeof how_buf, "it starts with a byte order mark %s", boms[b].how);
            how = how_buf;
        }
    if (!enc) {
        for (size_t i = 0; i < n; i++)
            if (!p[i])
                nul++, nul_even += i % 2 == 0;
        if (n < 2 || nul * 4 < n)
            return 0;
        how = "its first line has NUL bytes between the characters";
        /* well over one in two NUL bytes is UTF-32; big-endian puts the NULs first */
        bool utf32 = nul * 8 >= n * 5, big = utf32 ? !p[0] : nul_even * 2 > nul;
        static const char *const names[2][2][2] = {
            {{"UTF-16 (little-endian)", "UTF-16LE"}, {"UTF-16 (big-endian)", "UTF-16BE"}},
            {{"UTF-32 (little-endian)", "UTF-32LE"}, {"UTF-32 (big-endian)", "UTF-32BE"}}};
        enc = names[utf32][big][0];
        from = names[utf32][big][1];
    }
    eg_error_set(EG_EBADINPUT, "%s: the file is %s, not UTF-8", path, enc);
    eg_error_detail("%s; engram reads JSONL and CSV files as UTF-8", how);
    if (!strcmp(path, "-"))
        eg_error_hint("convert it first: iconv -f %s -t UTF-8 FILE | engram import -", from);
    else {
        const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
        int stem = (int)(dot && dot > (slash ? slash : path) ? dot - path : (int)strlen(path));
        eg_error_hint("convert it first: iconv -f %s -t UTF-8 %s > %.*s.utf8%s, and import that",
                      from, path, stem, path, path + stem);
    }
    return EG_EBADINPUT;
}

/* A decimal number (sign, digits, point, exponent) and nothing else: a time written as Unix
 * seconds in text, which neither import format nor the SQLite source reads as a time. */
static bool numeric_text(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    for (; i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == 'e' || s[i] == 'E');
         i++)
        digits += s[i] >= '0' && s[i] <= '9';
    return i == n && digits > 0;
}

/* Why Unix seconds v (written as text) are refused, guessing the unit when a smaller one fits. */
static void range_reason(char *why, size_t n, double v, const char *text)
{
    static const struct {
        double per_sec;
        const char *unit;
    } units[] = {{1e3, "; milliseconds?"}, {1e6, "; microseconds?"}, {1e9, "; nanoseconds?"}};
    const char *guess = "";
    int64_t us;
    for (size_t i = 0; i < sizeof units / sizeof units[0] && !*guess; i++)
        if (!eg_time_from_unix_real(v / units[i].per_sec, &us))
            guess = units[i].unit;
    snprintf(why, n, "%s is out of range for Unix seconds (years 1-9999)%s", text, guess);
}

/* Parses a time written as text (ISO 8601): 0 ok, -1 malformed with why naming the value (quoted,
 * cut) and, for digits alone, number_why (each format says where numbers go instead). */
static int text_time(const char *s, size_t n, int64_t *out, const char *number_why, char *why,
                     size_t whysz)
{
    int t = eg_time_parse(s, n, out);
    if (!t)
        return 0;
    char val[2 * SHOWN_CHARS + 8]; /* cut earlier when its characters are wide */
    shown(s, n, true, val, sizeof val);
    snprintf(why, whysz, "%s is %s", val,
             t == -2              ? "outside years 1-9999 (in UTC)"
             : numeric_text(s, n) ? number_why
                                  : "not an ISO 8601 time");
    return -1;
}

/* Reads a time member: 0 ok, 1 absent, null or "" (NULL), -1 malformed. why gets the reason in
 * both of the last cases. A JSON number is Unix seconds within years 1-9999; a string is ISO 8601
 * (the same rule as the SQLite source: a number in a string is not a time). */
static int json_time(json_t *obj, const char *key, int64_t *out, char *why, size_t whysz)
{
    json_t *v = json_object_get(obj, key);
    char num[40];
    if (!v || json_is_null(v)) {
        snprintf(why, whysz, "missing \"%s\"", key);
        return 1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n == 0) {
            snprintf(why, whysz, "\"%s\" is empty", key);
            return 1;
        }
        return text_time(s, n, out,
                         "a number in a string: Unix seconds must be a JSON number, other "
                         "times ISO 8601 text",
                         why, whysz);
    }
    if (json_is_integer(v)) {
        if (!eg_time_from_unix(json_integer_value(v), out))
            return 0;
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        range_reason(why, whysz, (double)json_integer_value(v), num);
        return -1;
    }
    if (json_is_real(v)) {
        if (!eg_time_from_unix_real(json_real_value(v), out))
            return 0;
        range_reason(why, whysz, json_real_value(v),
                     eg_format_double(json_real_value(v), num, sizeof num));
        return -1;
    }
    /* true, false, an array or an object: shown as compact JSON */
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    char val[2 * SHOWN_CHARS + 8]; /* cut earlier when its characters are wide */
    if (text)
        shown(text, strlen(text), false, val, sizeof val);
    snprintf(why, whysz, "%s is not an ISO 8601 time or Unix seconds", text ? val : "the value");
    free(text);
    return -1;
}

/* Compact JSON text of v with reals in their shortest exact form where 15 digits read back the
 * same value (0.1 stays 0.1, not 0.10000000000000001); else jansson's 17 digits. */
static char *dump_shortest(const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    json_t *back = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    bool exact = back && json_equal(back, (json_t *)v);
    json_decref(back);
    if (exact)
        return text;
    free(text);
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* ---- raw member text: for numbers jansson cannot hold ---- */

/* The end of the JSON string starting at p (at its opening quote), or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* The end of the JSON value starting at p, or NULL. Only the nesting is checked: jansson has
 * already read the text, up to a number it could not hold. */
static const char *skip_value(const char *p, const char *end)
{
    int depth = 0;
    if (p < end && *p == '"')
        return skip_string(p, end);
    if (p < end && *p != '{' && *p != '[') {
        while (p < end && !strchr(",}] \t\r\n", *p))
            p++;
        return p;
    }
    while (p < end) {
        if (*p == '"') {
            if (!(p = skip_string(p, end)))
                return NULL;
            continue;
        }
        if (*p == '{' || *p == '[')
            depth++;
        else if ((*p == '}' || *p == ']') && --depth == 0)
            return p + 1;
        p++;
    }
    return NULL;
}

/* Finds the text of member key of the object in line[0, len): 0 with *val, *val_len set, or -1
 * when the line is not an object or has no such member. Keys are compared decoded ("\u0069d"
 * is "id"). */
static int raw_member(const char *line, size_t len, const char *key, const char **val,
                      size_t *val_len)
{
    const char *p = skip_ws(line, line + len), *end = line + len, *k, *v;
    if (p == end || *p++ != '{')
        return -1;
    for (;;) {
        p = skip_ws(p, end);
        if (p == end || *p != '"' || !(v = skip_string(k = p, end)))
            return -1;
        bool same;
        if (!memchr(k, '\\', (size_t)(v - k)))
            same = (size_t)(v - k - 2) == strlen(key) && !memcmp(k + 1, key, strlen(key));
        else {
            json_t *name = json_loadb(k, (size_t)(v - k), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
            same = json_is_string(name) && !strcmp(json_string_value(name), key) &&
                   json_string_length(name) == strlen(key);
            json_decref(name);
        }
        p = skip_ws(v, end);
        if (p == end || *p++ != ':')
            return -1;
        p = skip_ws(p, end);
        if (!(v = skip_value(p, end)))
            return -1;
        if (same) {
            *val = p;
            *val_len = (size_t)(v - p);
            return 0;
        }
        p = skip_ws(v, end);
        if (p == end || *p++ != ',')
            return -1;
    }
}

/* Parses a line jansson refused for a number it cannot hold (an integer beyond 64 bits, a real
 * beyond double) or for a key named twice, again with its metadata value taken apart. The
 * metadata is parsed on its own (*meta_obj) with a key it names twice kept once, its last value,
 * as every source keeps it (PostgreSQL's jsonb, the metadata text of CSV and of the SQLite
 * source): a duplicate key is an error only among the line's own members. A metadata value
 * jansson cannot hold for its numbers is kept as written (*meta_raw; staging reads it, and counts
 * it as invalid when a number is beyond double). The line is then parsed with null in the
 * metadata's place, with integers as reals if it still holds a number too big. The id's text is
 * read from the line itself (see jsonl_line). NULL, jerr set, if the line still does not parse. */
static json_t *parse_apart(const char *line, size_t len, int flags, json_error_t *jerr,
                           const char **meta_raw, size_t *meta_raw_len, json_t **meta_obj)
{
    const char *line_in = line, *v, *cut = NULL;
    size_t vlen = 0;
    json_t *obj = NULL;
    json_error_t merr;
    eg_buf copy;
    eg_buf_init(&copy, 0);
    if (!raw_member(line, len, "metadata", &v, &vlen) && *v != '"') {
        *meta_obj = json_loadb(v, vlen, JSON_DECODE_ANY | JSON_ALLOW_NUL, &merr);
        if (!*meta_obj && json_error_code(&merr) != json_error_numeric_overflow) {
            /* not JSON inside the metadata: its error, at its column in the line */
            *jerr = merr;
            jerr->column += (int)eg_utf8_length(line, (size_t)(v - line));
            jerr->position += (int)(v - line);
            goto done;
        }
        if (!*meta_obj) {
            *meta_raw = v;
            *meta_raw_len = vlen;
        }
        if (eg_buf_append(&copy, line, (size_t)(v - line)) || eg_buf_puts(&copy, "null") ||
            eg_buf_append(&copy, v + vlen, len - (size_t)(v - line) - vlen))
            goto done;
        cut = v;
        line = copy.data;
        len = copy.len;
    }
    obj = json_loadb(line, len, flags, jerr);
    if (!obj && json_error_code(jerr) == json_error_numeric_overflow)
        obj = json_loadb(line, len, flags | JSON_DECODE_INT_AS_REAL, jerr);
    if (!obj && cut && jerr->position > (int)(cut - line_in) + 4) {
        /* an error after the metadata: its column in the line as written */
        jerr->column += (int)eg_utf8_length(cut, vlen) - 4;
        jerr->position += (int)vlen - 4;
    }
done:
    eg_buf_free(&copy);
    return obj;
}

/* An integer as JSON writes it: an optional minus and digits. */
static bool integer_text(const char *s, size_t n)
{
    size_t i = n && s[0] == '-';
    if (i == n)
        return false;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int jsonl_line(const eg_file_handlers *h, int64_t lineno, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *obj = NULL, *id, *content;
    json_t *meta_obj = NULL; /* metadata parsed apart (see parse_apart) */
    char *meta_text = NULL, why[300];
    const char *meta_raw = NULL;
    size_t meta_raw_len = 0;
    eg_record r = {0};
    int rc = 0, t;
    size_t bad;

    if (!eg_utf8_valid(line, len, &bad)) {
        snprintf(why, sizeof why, "invalid UTF-8 at byte %zu", bad + 1);
        return reject(h, lineno, NULL, why, line, len);
    }
    obj = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!obj && (json_error_code(&jerr) == json_error_numeric_overflow ||
                 json_error_code(&jerr) == json_error_duplicate_key))
        obj = parse_apart(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                          &jerr, &meta_raw, &meta_raw_len, &meta_obj);
    if (!obj) {
        snprintf(why, sizeof why, "not JSON: %s (column %d)", jerr.text, jerr.column);
        rc = reject(h, lineno, NULL, why, line, len);
        goto done;
    }
    if (!json_is_object(obj)) {
        rc = reject(h, lineno, NULL, "not a JSON object", line, len);
        goto done;
    }
    id = json_object_get(obj, "id");
    if (!id || json_is_null(id)) {
        rc = reject(h, lineno, "id", id ? "\"id\" is null" : "missing \"id\"", line, len);
        goto done;
    }
    if (json_is_string(id)) {
        r.id = json_string_value(id);
        r.id_len = json_string_length(id);
    } else if (json_is_number(id) && !raw_member(line, len, "id", &r.id, &r.id_len) &&
               integer_text(r.id, r.id_len)) {
        /* an integer id is its text as written, even beyond 64 bits */
    } else {
        rc = reject(h, lineno, "id", "\"id\" is not a string or integer", line, len);
        goto done;
    }
    if (r.id_len == 0) {
        rc = reject(h, lineno, "id", "\"id\" is empty", line, len);
        goto done;
    }
    if (memchr(r.id, '\0', r.id_len)) {
        rc = reject(h, lineno, "id", "contains a NUL character (\\u0000)", line, len);
        goto done;
    }
    content = json_object_get(obj, "content");
    if (!content) {
        rc = reject(h, lineno, "content", "missing \"content\"", line, len);
        goto done;
    }
    if (json_is_string(content)) {
        r.content = json_string_value(content);
        r.content_len = json_string_length(content);
    } else if (!json_is_null(content)) {
        rc = reject(h, lineno, "content", "\"content\" is not a string or null", line, len);
        goto done;
    }
    if (r.content && memchr(r.content, '\0', r.content_len)) {
        rc = reject(h, lineno, "content", "contains a NUL character (\\u0000)", line, len);
        goto done;
    }
    if (json_time(obj, "created_at", &r.created_at, why, sizeof why) != 0) {
        rc = reject(h, lineno, "created_at", why, line, len);
        goto done;
    }
    r.has_created = true;
    if ((t = json_time(obj, "updated_at", &r.updated_at, why, sizeof why)) < 0) {
        rc = reject(h, lineno, "updated_at", why, line, len);
        goto done;
    }
    r.has_updated = t == 0;
    json_t *meta = meta_obj ? meta_obj : json_object_get(obj, "metadata");
    if (meta_raw) {
        r.metadata = meta_raw;
        r.metadata_len = meta_raw_len;
    } else if (meta && json_is_string(meta)) {
        r.metadata = json_string_value(meta);
        r.metadata_len = json_string_length(meta);
    } else if (meta && !json_is_null(meta)) {
        meta_text = dump_shortest(meta);
        if (!meta_text) {
            rc = eg_error_set(EG_ENOMEM, "out of memory");
            goto done;
        }
        r.metadata = meta_text;
        r.metadata_len = strlen(meta_text);
    }
    r.row_ref = lineno;
    rc = h->on_record(&r, h->ud);
done:
    free(meta_text);
    json_decref(meta_obj);
    json_decref(obj);
    return rc;
}

static int read_jsonl(FILE *f, const char *path, const eg_file_handlers *h)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t lineno = 0, rows = 0;
    int rc = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        /* until the first row: the file may be UTF-16 or UTF-32 */
        if (!rows && (rc = wide_encoding(path, (const unsigned char *)line, len, lineno == 1)))
            break;
        size_t i = 0;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (len - i >= 3 && !memcmp(line + i, "\xEF\xBB\xBF", 3))
            i += 3; /* a byte order mark: of the file, or of one joined to it with cat */
        if (i == len) {
            if (h->on_blank)
                h->on_blank(lineno, h->ud);
            continue; /* blank lines are allowed */
        }
        rows++;
        if (len > MAX_LINE) {
            if ((rc = reject(h, lineno, NULL, "line longer than 64 MiB", NULL, 0)))
                break;
            continue;
        }
        if ((rc = jsonl_line(h, lineno, line + i, len - i)))
            break;
    }
    if (!rc && ferror(f))
        rc = eg_error_set(EG_EIO, "could not read %s: %s", path, strerror(errno));
    else if (!rc && !rows)
        rc = eg_error_set(EG_EBADINPUT, "%s: empty file (no JSON lines)", path);
    free(line);
    return rc;
}

/* ---- CSV ---- */

enum { COL_ID, COL_CONTENT, COL_CREATED, COL_UPDATED, COL_META, NCOLS };
static const char *const col_names[NCOLS] = {"id", "content", "created_at", "updated_at",
                                             "metadata"};

/* More header columns than this is an error; it bounds the field table a corrupt header (64 MiB
 * of commas) could make us allocate. Data records store at most the header's count of fields. */
#define MAX_COLUMNS 65536

typedef struct csv_field {
    size_t off, len; /* in text */
    bool quoted;     /* so empty means "", not NULL */
} csv_field;

/* The CSV reader: the file, and the record last read. */
typedef struct csv_reader {
    FILE *f;
    unsigned char ahead[3]; /* bytes read to look for a byte order mark that were not one */
    int n_ahead, i_ahead;
    int64_t lineno;    /* lines read completely */
    eg_buf text;       /* the record's field texts, each NUL-terminated */
    eg_buf raw;        /* the record as written, without its line break: for the quarantine */
    csv_field *fld;    /* the fields stored, at most max_fields of them */
    size_t nfld, cap;  /* stored, allocated */
    size_t count;      /* fields in the record, stored or not */
    bool dropped;      /* a field not stored was not empty */
    int64_t line;      /* line the record starts on */
    int64_t open_line; /* line an unterminated quoted field starts on; 0 when none */
    int64_t last_line; /* the file's last line, when open_line is set */
    size_t open_field; /* that field's index */
} csv_reader;

static int csv_getc(csv_reader *rd)
{
    return rd->i_ahead < rd->n_ahead ? rd->ahead[rd->i_ahead++] : getc(rd->f);
}

/* Skips a UTF-8 byte order mark at the start of a record, before any quote handling (a quoted
 * cell may follow it): at the start of the file, and where files were joined with cat. The
 * bytes read that do not make one are read again. */
static void csv_skip_bom(csv_reader *rd)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    unsigned char got[3];
    int n = 0, c;
    while (n < 3 && (c = csv_getc(rd)) != EOF) {
        got[n++] = (unsigned char)c;
        if (c != bom[n - 1])
            break;
    }
    if (n == 3 && !memcmp(got, bom, 3))
        return;
    /* the bytes still ahead came after these; with them, at most the 3 read before */
    int rest = rd->n_ahead - rd->i_ahead;
    memmove(rd->ahead + n, rd->ahead + rd->i_ahead, (size_t)rest);
    memcpy(rd->ahead, got, (size_t)n);
    rd->i_ahead = 0;
    rd->n_ahead = n + rest;
}

/* Starts reading f. */
static void csv_open(csv_reader *rd, FILE *f)
{
    memset(rd, 0, sizeof *rd);
    rd->f = f;
    eg_buf_init(&rd->text, MAX_LINE + 1024);
    eg_buf_init(&rd->raw, MAX_LINE + 1024);
}

static void csv_close(csv_reader *rd)
{
    eg_buf_free(&rd->text);
    eg_buf_free(&rd->raw);
    free(rd->fld);
}

/* Ends the current field: stored while fewer than max are, else only counted. */
static int csv_end_field(csv_reader *rd, size_t max, size_t start, bool quoted)
{
    rd->count++;
    if (rd->nfld >= max) {
        rd->dropped |= rd->text.len > start || quoted;
        rd->text.len = start; /* not kept */
        return 0;
    }
    if (rd->nfld == rd->cap) {
        size_t cap = rd->cap ? rd->cap * 2 : 16;
        csv_field *p = realloc(rd->fld, cap * sizeof *p);
        if (!p)
            return eg_error_set(EG_ENOMEM, "out of memory");
        rd->fld = p;
        rd->cap = cap;
    }
    rd->fld[rd->nfld++] = (csv_field){start, rd->text.len - start, quoted};
    return eg_buf_putc(&rd->text, '\0') ? eg_error_set(EG_ENOMEM, "out of memory") : 0;
}

/* Reads one record, storing at most max fields; returns 1 if read, 0 at EOF, negative on error.
 * A quoted field still open at the end of the file ends the record there, with open_line set. */
static int csv_next(csv_reader *rd, size_t max)
{
    int c, in_quotes = 0, any = 0, rc;
    bool quoted = false;
    size_t start = 0;
    int64_t quote_line = 0;
    eg_buf_reset(&rd->text);
    eg_buf_reset(&rd->raw);
    rd->nfld = rd->count = 0;
    rd->dropped = false;
    rd->open_line = 0;
    rd->line = rd->lineno + 1;
    csv_skip_bom(rd);
    for (;;) {
        c = csv_getc(rd);
        if (c == EOF) {
            if (!any)
                return 0;
            if (in_quotes) {
                rd->open_line = quote_line;
                rd->open_field = rd->count;
                rd->last_line = rd->raw.data[rd->raw.len - 1] == '\n' ? rd->lineno : rd->lineno + 1;
            }
            break;
        }
        any = 1;
        if (eg_buf_putc(&rd->raw, (char)c))
            return eg_error_set(EG_ENOMEM, "out of memory");
        if (in_quotes) {
            if (c == '"') {
                int d = csv_getc(rd);
                if (d != EOF && eg_buf_putc(&rd->raw, (char)d))
                    return eg_error_set(EG_ENOMEM, "out of memory");
                if (d == '"') {
                    if (eg_buf_putc(&rd->text, '"'))
                        return eg_error_set(EG_ENOMEM, "out of memory");
                    continue;
                }
                in_quotes = 0;
                if (d == EOF)
                    break;
                c = d;
            } else {
                if (c == '\n')
                    rd->lineno++;
                if (eg_buf_putc(&rd->text, (char)c))
                    return eg_error_set(EG_ENOMEM, "out of memory");
                continue;
            }
        }
        if (c == '"' && rd->text.len == start) {
            in_quotes = 1;
            quoted = true;
            quote_line = rd->lineno + 1;
        } else if (c == ',' || c == '\n') {
            if ((rc = csv_end_field(rd, max, start, quoted)))
                return rc;
            start = rd->text.len;
            quoted = false;
            if (c == '\n') {
                rd->lineno++;
                rd->raw.len--; /* the record's text without its line break */
                if (rd->raw.len && rd->raw.data[rd->raw.len - 1] == '\r')
                    rd->raw.len--;
                return 1;
            }
        } else if (c != '\r') {
            if (eg_buf_putc(&rd->text, (char)c))
                return eg_error_set(EG_ENOMEM, "out of memory");
        }
        if (rd->raw.len > MAX_LINE) {
            eg_error_set(EG_EBADINPUT, "CSV record starting on line %lld is longer than 64 MiB",
                         (long long)rd->line);
            if (in_quotes)
                eg_error_hint("a quoted field opened on line %lld is still open: a quote "
                              "missing?",
                              (long long)quote_line);
            return EG_EBADINPUT;
        }
    }
    /* the last record, without a trailing line break */
    if ((rc = csv_end_field(rd, max, start, quoted)))
        return rc;
    if (rd->raw.len && rd->raw.data[rd->raw.len - 1] == '\r')
        rd->raw.len--;
    rd->lineno++;
    return 1;
}

static const char *field(csv_reader *rd, int i, size_t *len)
{
    if (i < 0 || (size_t)i >= rd->nfld || (rd->fld[i].len == 0 && !rd->fld[i].quoted))
        return NULL;
    *len = rd->fld[i].len;
    return rd->text.data + rd->fld[i].off;
}

/* Every field empty and unquoted: a blank line, or a spreadsheet's padding (",,,"). */
static bool csv_blank(const csv_reader *rd)
{
    if (rd->dropped)
        return false;
    for (size_t i = 0; i < rd->nfld; i++)
        if (rd->fld[i].len || rd->fld[i].quoted)
            return false;
    return true;
}

/* Rejects the current record, with its text as written for the quarantine. */
static int reject_row(const eg_file_handlers *h, csv_reader *rd, const char *field,
                      const char *reason)
{
    return reject(h, rd->line, field, reason, rd->raw.data ? rd->raw.data : "", rd->raw.len);
}

/* Reads the header into map (column index of each known name, or -1) and *ncols. */
static int csv_header(csv_reader *rd, const char *path, int *map, size_t *ncols)
{
    int got;
    while ((got = csv_next(rd, MAX_COLUMNS)) > 0) {
        int rc =
            wide_encoding(path, (const unsigned char *)rd->raw.data, rd->raw.len, rd->line == 1);
        if (rc)
            return rc;
        if (!csv_blank(rd))
            break; /* the header, after any blank lines */
    }
    if (got < 0)
        return got;
    if (got == 0)
        return eg_error_set(EG_EBADINPUT, "%s: empty CSV file (no header)", path);
    if (rd->count > MAX_COLUMNS)
        return eg_error_set(EG_EBADINPUT, "%s:%lld: CSV header has %zu columns, more than %d", path,
                            (long long)rd->line, rd->count, MAX_COLUMNS);
    *ncols = rd->nfld;
    for (int k = 0; k < NCOLS; k++)
        map[k] = -1;
    for (size_t i = 0; i < rd->nfld; i++) {
        char *name = rd->text.data + rd->fld[i].off;
        size_t n = rd->fld[i].len;
        while (n && strchr(" \t\r\n\v\f", name[n - 1]))
            name[--n] = '\0';
        while (*name && strchr(" \t\r\n\v\f", *name))
            name++;
        for (int k = 0; k < NCOLS; k++) {
            if (strcasecmp(name, col_names[k]))
                continue;
            if (map[k] >= 0)
                return eg_error_set(EG_EBADINPUT,
                                    "%s:%lld: CSV header names \"%s\" twice (columns %d and %zu)",
                                    path, (long long)rd->line, col_names[k], map[k] + 1, i + 1);
            map[k] = (int)i;
        }
        rd->fld[i].off = (size_t)(name - rd->text.data); /* trimmed, for the message below */
    }
    for (int k = 0; k <= COL_CREATED; k++) {
        if (map[k] >= 0)
            continue;
        eg_buf cols;
        eg_buf_init(&cols, 600);
        for (size_t i = 0; i < rd->nfld && cols.len < 500; i++)
            if ((i && eg_buf_puts(&cols, ", ")) ||
                eg_buf_json_str(&cols, rd->text.data + rd->fld[i].off,
                                strlen(rd->text.data + rd->fld[i].off)))
                break;
        eg_error_set(EG_EBADINPUT, "%s:%lld: CSV header has no \"%s\" column", path,
                     (long long)rd->line, col_names[k]);
        eg_error_detail("the header has %zu column%s: %s%s", rd->nfld, rd->nfld == 1 ? "" : "s",
                        cols.data ? cols.data : "", cols.len >= 500 ? ", ..." : "");
        eg_error_hint("the header must name id, content and created_at (updated_at and "
                      "metadata are optional)");
        eg_buf_free(&cols);
        return EG_EBADINPUT;
    }
    return 0;
}

/* Reads a time field into *out: 0 ok, 1 NULL or empty, -1 malformed; why gets the reason. */
static int csv_time(csv_reader *rd, int col, const char *name, int64_t *out, char *why,
                    size_t whysz)
{
    size_t len = 0;
    const char *s = field(rd, col, &len);
    if (!s || len == 0) {
        snprintf(why, whysz, s ? "%s is empty" : "missing %s", name);
        return 1;
    }
    return text_time(s, len, out, "a number: CSV times must be ISO 8601 text", why, whysz);
}

static int read_csv(FILE *f, const char *path, const eg_file_handlers *h)
{
    csv_reader *rd = malloc(sizeof *rd);
    int rc = 0, got, map[NCOLS] = {0}, t; /* {0}: set by csv_header, said for the compiler */
    size_t ncols = 0;
    char why[200];
    if (!rd)
        return eg_error_set(EG_ENOMEM, "out of memory");
    csv_open(rd, f);
    if ((rc = csv_header(rd, path, map, &ncols)))
        goto done;
    while ((got = csv_next(rd, ncols)) > 0) {
        eg_record r = {0};
        if (rd->open_line) {
            snprintf(why, sizeof why,
                     "unterminated quoted field starting on line %lld: it took in lines "
                     "%lld-%lld, to the end of the file (%lld lines)",
                     (long long)rd->open_line, (long long)rd->open_line, (long long)rd->last_line,
                     (long long)(rd->last_line - rd->open_line + 1));
            const char *name = NULL;
            for (int k = 0; k < NCOLS; k++)
                if (map[k] >= 0 && (size_t)map[k] == rd->open_field)
                    name = col_names[k];
            if ((rc = reject_row(h, rd, name, why)))
                goto done;
            continue;
        }
        if (csv_blank(rd)) {
            if (h->on_blank)
                h->on_blank(rd->line, h->ud);
            continue;
        }
        if (rd->count != ncols) {
            snprintf(why, sizeof why, "has %zu fields, the header has %zu", rd->count, ncols);
            if ((rc = reject_row(h, rd, NULL, why)))
                goto done;
            continue;
        }
        /* only the columns read: a column the import ignores may hold anything (a Latin-1
         * comment column must not cost the row); the field and the byte are named */
        const char *bad_in = NULL;
        size_t bad = 0;
        for (int k = 0; k < NCOLS && !bad_in; k++)
            if (map[k] >= 0 && (size_t)map[k] < rd->nfld &&
                !eg_utf8_valid(rd->text.data + rd->fld[map[k]].off, rd->fld[map[k]].len, &bad))
                bad_in = col_names[k];
        if (bad_in) {
            snprintf(why, sizeof why, "invalid UTF-8 at byte %zu of the field", bad + 1);
            if ((rc = reject_row(h, rd, bad_in, why)))
                goto done;
            continue;
        }
        const char *nul_in = NULL; /* metadata may hold anything: staging judges it */
        for (int k = 0; k < COL_META && !nul_in; k++)
            if (map[k] >= 0 && (size_t)map[k] < rd->nfld &&
                memchr(rd->text.data + rd->fld[map[k]].off, '\0', rd->fld[map[k]].len))
                nul_in = col_names[k];
        if (nul_in) {
            if ((rc = reject_row(h, rd, nul_in, "contains a NUL byte")))
                goto done;
            continue;
        }
        if (!(r.id = field(rd, map[COL_ID], &r.id_len)) || r.id_len == 0) {
            if ((rc = reject_row(h, rd, "id", "missing id")))
                goto done;
            continue;
        }
        r.content = field(rd, map[COL_CONTENT], &r.content_len);
        if (csv_time(rd, map[COL_CREATED], "created_at", &r.created_at, why, sizeof why)) {
            if ((rc = reject_row(h, rd, "created_at", why)))
                goto done;
            continue;
        }
        r.has_created = true;
        if ((t = csv_time(rd, map[COL_UPDATED], "updated_at", &r.updated_at, why, sizeof why)) <
            0) {
            if ((rc = reject_row(h, rd, "updated_at", why)))
                goto done;
            continue;
        }
        r.has_updated = t == 0;
        r.metadata = field(rd, map[COL_META], &r.metadata_len);
        r.row_ref = rd->line;
        if ((rc = h->on_record(&r, h->ud)))
            goto done;
    }
    if (got < 0)
        rc = got;
    else if (ferror(f))
        rc = eg_error_set(EG_EIO, "could not read %s: %s", path, strerror(errno));
done:
    csv_close(rd);
    free(rd);
    return rc;
}

int eg_file_read(const char *path, eg_file_format fmt, const eg_file_handlers *h)
{
    FILE *f;
    int rc;
    struct stat sb;
    /* a missing file or a directory is bad input (exit 65) whatever its name: said before the
     * name's extension is asked for the format */
    if (strcmp(path, "-")) {
        if (stat(path, &sb))
            return eg_error_set(EG_EBADINPUT, "could not open \"%s\": %s", path, strerror(errno));
        if (S_ISDIR(sb.st_mode))
            return eg_error_set(EG_EBADINPUT, "\"%s\" is a directory, not a file", path);
    }
    if (fmt == EG_FILE_AUTO) {
        if (ends_with(path, ".csv"))
            fmt = EG_FILE_CSV;
        else if (ends_with(path, ".jsonl") || ends_with(path, ".ndjson") ||
                 ends_with(path, ".json") || !strcmp(path, "-"))
            fmt = EG_FILE_JSONL;
        else {
            eg_error_set(EG_EUSAGE, "cannot tell the format of \"%s\" from its name", path);
            eg_error_hint("name it .jsonl or .csv, or pass --format jsonl|csv");
            return EG_EUSAGE;
        }
    }
    /* a file that cannot be used at all is bad input (exit 65), like an empty one */
    f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f)
        return eg_error_set(EG_EBADINPUT, "could not open \"%s\": %s", path, strerror(errno));
    if (!fstat(fileno(f), &sb) && S_ISDIR(sb.st_mode)) {
        fclose(f);
        return eg_error_set(EG_EBADINPUT, "\"%s\" is a directory, not a file", path);
    }
    rc = fmt == EG_FILE_CSV ? read_csv(f, path, h) : read_jsonl(f, path, h);
    if (f != stdin)
        fclose(f);
    return rc;
}
