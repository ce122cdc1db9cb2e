/*
 * utf8.h — fast UTF-8 validation and character counting for the staging hot path.
 *
 * Validation follows RFC 3629 (no overlongs, no surrogates, nothing above U+10FFFF). Case folding
 * and normalisation are utf8proc's job (stage/concepts.c), not this module's.
 */
#ifndef EG_UTIL_UTF8_H
#define EG_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Returns true if s[0..len) is valid UTF-8; on failure *bad_offset (if given) is the byte offset
 * of the first invalid sequence. */
bool eg_utf8_valid(const char *s, size_t len, size_t *bad_offset);
/* The sequence at s[0..len) (len > 0): returns its length in bytes if it is one valid UTF-8
 * character, else 0 and sets *skip to the length of its maximal invalid subpart (at least 1:
 * Unicode's "U+FFFD substitution of maximal subparts", what browsers and Python do). */
size_t eg_utf8_seq(const char *s, size_t len, size_t *skip);
/* A malloc'd, NUL-terminated copy of s[0..len) in which each maximal invalid subpart is replaced
 * by U+FFFD (eg_utf8_seq's rule), so that the text can go into JSON; NULL when out of memory. */
char *eg_utf8_scrub(const char *s, size_t len);
/* Number of code points in valid UTF-8 s[0..len) (PostgreSQL's LENGTH()). */
size_t eg_utf8_length(const char *s, size_t len);
/* True if s is made only of white space (ASCII and Unicode Zs/line separators). */
bool eg_utf8_blank(const char *s, size_t len);

#endif
