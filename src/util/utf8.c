/*
 * utf8.c — UTF-8 validation with an 8-bytes-at-a-time ASCII fast path.
 */
#include "util/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool eg_utf8_valid(const char *str, size_t len, size_t *bad_offset)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        if (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if ((w & UINT64_C(0x8080808080808080)) == 0) {
                i += 8;
                continue;
            }
        }
        unsigned c = s[i];
        size_t n;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            goto bad;
        }
        if (i + n >= len)
            goto bad;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                goto bad;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            goto bad;
        i += n + 1;
    }
    return true;
bad:
    if (bad_offset)
        *bad_offset = i;
    return false;
}

size_t eg_utf8_seq(const char *str, size_t len, size_t *skip)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* the range of the second byte (RFC 3629's table) */
    *skip = 1;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    for (size_t k = 1; k < n; k++) {
        unsigned b = k < len ? s[k] : 0;
        if (k == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) {
            *skip = k;
            return 0;
        }
    }
    return n;
}

size_t eg_utf8_length(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = 0, i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        /* count bytes that are not continuation bytes (10xxxxxx): one bit per continuation
         * byte, summed by a multiply (__builtin_popcountll is a libgcc call without -mpopcnt) */
        uint64_t cont = (w & ~(w << 1) & UINT64_C(0x8080808080808080)) >> 7;
        n += 8 - (size_t)((cont * UINT64_C(0x0101010101010101)) >> 56);
    }
    for (; i < len; i++)
        n += (s[i] & 0xC0) != 0x80;
    return n;
}

bool eg_utf8_blank(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c == ' ' || (c >= '\t' && c <= '\r')) {
            i++;
        } else if (c == 0xC2 && i + 1 < len && (s[i + 1] == 0xA0 || s[i + 1] == 0x85)) {
            i += 2; /* NBSP, NEL */
        } else if (c == 0xE2 && i + 2 < len && s[i + 1] == 0x80 &&
                   ((s[i + 2] >= 0x80 && s[i + 2] <= 0x8A) || s[i + 2] == 0xA8 ||
                    s[i + 2] == 0xA9 || s[i + 2] == 0xAF)) {
            i += 3; /* U+2000..U+200A, LS, PS, NNBSP */
        } else if (c == 0xE3 && i + 2 < len && s[i + 1] == 0x80 && s[i + 2] == 0x80) {
            i += 3; /* ideographic space */
        } else if (c == 0xE1 && i + 2 < len && s[i + 1] == 0x9A && s[i + 2] == 0x80) {
            i += 3; /* ogham space mark */
        } else if (c == 0xE2 && i + 2 < len && s[i + 1] == 0x81 && s[i + 2] == 0x9F) {
            i += 3; /* medium mathematical space */
        } else {
            return false;
        }
    }
    return true;
}

char *eg_utf8_scrub(const char *s, size_t len)
{
    /* each invalid byte becomes at most 3 bytes */
    char *out = malloc(len * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t skip = 0, n = (unsigned char)s[i] < 0x80 ? 1 : eg_utf8_seq(s + i, len - i, &skip);
        if (n) {
            memcpy(o, s + i, n);
            o += n;
            i += n;
        } else {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i += skip;
        }
    }
    *o = '\0';
    return out;
}
