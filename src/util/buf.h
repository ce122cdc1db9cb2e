/*
 * buf.h — a growable byte buffer with a hard cap (curl's dynbuf idea).
 *
 * The buffer owns its memory; eg_buf_free releases it. Appends fail with EG_ENOMEM past the cap,
 * so untrusted input cannot make engram allocate without bound. The content is always
 * NUL-terminated after a successful append.
 */
#ifndef EG_UTIL_BUF_H
#define EG_UTIL_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct eg_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* hard cap in bytes; 0 means 1 GiB */
} eg_buf;

void eg_buf_init(eg_buf *b, size_t max);
void eg_buf_free(eg_buf *b);
void eg_buf_reset(eg_buf *b);
int eg_buf_append(eg_buf *b, const void *p, size_t n);
int eg_buf_puts(eg_buf *b, const char *s);
int eg_buf_putc(eg_buf *b, char c);
int eg_buf_printf(eg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quotes and escapes). The result is always valid JSON in
 * UTF-8: control characters are escaped, and each maximal invalid UTF-8 subpart of s becomes one
 * U+FFFD (s may be anything a client typed). */
int eg_buf_json_str(eg_buf *b, const char *s, size_t n);
/* Whether eg_buf_json_str writes s as it is between the quotes (nothing to escape or replace). */
bool eg_buf_json_plain(const char *s, size_t n);
/* Appends s as a CSV field (quoted when it holds a comma, quote or line break, or is empty:
 * writers leave a NULL field empty, so "" is the empty string). */
int eg_buf_csv_field(eg_buf *b, const char *s, size_t n);
/* Formats v with the fewest significant digits (15..17) that read back exactly; returns buf. */
char *eg_format_double(double v, char *buf, size_t n);
/* Appends the JSON text json with each number that has a fraction or an exponent rewritten by
 * eg_format_double (a real stays a real: "3.0", not "3"), strings and integers as they are:
 * jansson writes every real with 17 digits, 0.2 as 0.20000000000000001. */
int eg_buf_json_reals(eg_buf *b, const char *json);

#endif
