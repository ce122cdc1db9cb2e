/*
 * buf.c — growable buffer with a hard cap.
 */
#include "util/buf.h"

#include "engram/error.h"
#include "util/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void eg_buf_init(eg_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max ? max : ((size_t)1 << 30);
}

void eg_buf_free(eg_buf *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void eg_buf_reset(eg_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static int grow(eg_buf *b, size_t need)
{
    if (need + 1 <= b->cap)
        return 0;
    if (need + 1 > b->max)
        return eg_error_set(EG_ENOMEM, "buffer limit of %zu bytes reached", b->max);
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1)
        cap *= 2;
    if (cap > b->max)
        cap = b->max;
    char *p = realloc(b->data, cap);
    if (!p)
        return eg_error_set(EG_ENOMEM, "out of memory growing a buffer to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int eg_buf_append(eg_buf *b, const void *p, size_t n)
{
    int rc = grow(b, b->len + n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int eg_buf_puts(eg_buf *b, const char *s)
{
    return eg_buf_append(b, s, strlen(s));
}

int eg_buf_putc(eg_buf *b, char c)
{
    return eg_buf_append(b, &c, 1);
}

int eg_buf_printf(eg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return eg_error_set(EG_EUSAGE, "bad format string");
    int rc = grow(b, b->len + (size_t)n);
    if (rc)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

/* The bytes of s[0..n) that go into a JSON string literal as they are: printable ASCII but '"'
 * and '\\', and valid UTF-8 sequences. Returns how many lead s (eg_buf_json_plain: all). */
static size_t json_plain_prefix(const char *s, size_t n)
{
    size_t i = 0, skip;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        size_t len = c >= 0x80 ? eg_utf8_seq(s + i, n - i, &skip) : 0;
        if (!len)
            break;
        i += len;
    }
    return i;
}

bool eg_buf_json_plain(const char *s, size_t n)
{
    return json_plain_prefix(s, n) == n;
}

int eg_buf_json_str(eg_buf *b, const char *s, size_t n)
{
    /* the common case, nothing to escape: the quotes and one copy (when the cap allows it; else
     * the loop below fails at the same place it always did) */
    if (n + 3 <= b->max - b->len && json_plain_prefix(s, n) == n) {
        int rc = grow(b, b->len + n + 2);
        if (rc)
            return rc;
        char *o = b->data + b->len;
        o[0] = '"';
        if (n)
            memcpy(o + 1, s, n);
        o[n + 1] = '"';
        o[n + 2] = '\0';
        b->len += n + 2;
        return 0;
    }
    int rc = eg_buf_putc(b, '"');
    size_t start = 0, i = 0;
    while (i < n && !rc) {
        unsigned char c = (unsigned char)s[i];
        size_t len = 1, skip = 0;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80 && (len = eg_utf8_seq(s + i, n - i, &skip)) > 0) {
            i += len;
            continue;
        }
        rc = eg_buf_append(b, s + start, i - start);
        if (rc)
            break;
        switch (c) {
        case '"':
            rc = eg_buf_puts(b, "\\\"");
            break;
        case '\\':
            rc = eg_buf_puts(b, "\\\\");
            break;
        case '\n':
            rc = eg_buf_puts(b, "\\n");
            break;
        case '\r':
            rc = eg_buf_puts(b, "\\r");
            break;
        case '\t':
            rc = eg_buf_puts(b, "\\t");
            break;
        default:
            if (c >= 0x80) /* not UTF-8: U+FFFD REPLACEMENT CHARACTER, so the JSON stays valid */
                rc = eg_buf_puts(b, "\xef\xbf\xbd");
            else
                rc = eg_buf_printf(b, "\\u%04x", c);
            break;
        }
        i += c >= 0x80 ? skip : 1;
        start = i;
    }
    if (!rc)
        rc = eg_buf_append(b, s + start, n - start);
    return rc ? rc : eg_buf_putc(b, '"');
}

int eg_buf_csv_field(eg_buf *b, const char *s, size_t n)
{
    if (n == 0) /* an empty string, quoted, so that it is not read back as NULL */
        return eg_buf_append(b, "\"\"", 2);
    if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n))
        return eg_buf_append(b, s, n);
    int rc = eg_buf_putc(b, '"');
    for (size_t i = 0; i < n && !rc; i++)
        rc = s[i] == '"' ? eg_buf_append(b, "\"\"", 2) : eg_buf_putc(b, s[i]);
    return rc ? rc : eg_buf_putc(b, '"');
}

int eg_buf_json_reals(eg_buf *b, const char *json)
{
    const char *p = json;
    while (*p) {
        const char *q = p;
        if (*p == '"') { /* a string, to its closing quote */
            for (q = p + 1; *q && *q != '"'; q++)
                if (*q == '\\' && q[1])
                    q++;
            q += *q == '"';
        } else if (*p == '-' || (*p >= '0' && *p <= '9')) {
            bool real = false;
            for (; *q && strchr("+-0123456789.eE", *q); q++)
                real |= *q == '.' || *q == 'e' || *q == 'E';
            if (real) {
                char num[40];
                eg_format_double(strtod(p, NULL), num, sizeof num);
                if (eg_buf_puts(b, num) || (!strpbrk(num, ".eE") && eg_buf_puts(b, ".0")))
                    return -1;
                p = q;
                continue;
            }
        } else {
            q = p + 1;
        }
        if (eg_buf_append(b, p, (size_t)(q - p)))
            return -1;
        p = q;
    }
    return 0;
}

char *eg_format_double(double v, char *buf, size_t n)
{
    /* the shortest of %.15g, %.16g, %.17g that reads back as the same double */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return buf;
}
