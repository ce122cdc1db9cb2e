/*
 * concepts.h — concept extraction (SPEC §5): metadata.concepts when it is a JSON array, else
 * words of the content: Unicode case folding (utf8proc), split on non-alphanumerics, drop tokens
 * shorter than 3 characters, pure numbers and stopwords, Snowball stem (libstemmer), de-duplicate
 * keeping the first occurrence, at most max_concepts.
 *
 * An extractor owns a stemmer, a stem cache and scratch buffers; it is not thread-safe (one per
 * thread). Output is a JSON array text appended to a caller's eg_buf, e.g. ["memori","consolid"].
 */
#ifndef EG_STAGE_CONCEPTS_H
#define EG_STAGE_CONCEPTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/buf.h"

typedef struct eg_concepts eg_concepts;

/* The version of the rules that turn text into concepts (tokens, folding, stopwords, stemming,
 * entities). Stores record it with the settings their concepts were made with: a build whose
 * rules changed makes every stored memory's concepts anew at its first run. Raise it with any
 * change to what eg_concepts_from_text or eg_concepts_from_json return. 2: full-width letters
 * fold to ASCII, other languages' stopwords (this session's rules). */
#define EG_CONCEPT_RULES 2

/* language: a Snowball algorithm name or alias ("english", "en", "german", ...; NULL means
 * "english"). The built-in stopword lists (stage/stopwords.h) cover english (and "porter"), danish,
 * dutch, finnish, french, german, hungarian, italian, nepali, norwegian, portuguese, russian,
 * spanish, swedish and turkish; the other languages drop no stopwords. max: at most this many
 * concepts (0 or negative means 32). Returns 0, or EG_ECONFIG for an unknown language (the hint
 * lists the valid ones), or EG_ENOMEM. The caller frees *out with eg_concepts_free. */
int eg_concepts_new(eg_concepts **out, const char *language, int max);
void eg_concepts_free(eg_concepts *c);

/* An empty buffer (capped at 64 KiB) the caller may use for the per-memory text it builds beside
 * the concepts (staging: the entities of the features), so that the hot path allocates nothing
 * per memory. Owned by c; emptied by each call, valid until the next one or eg_concepts_free. */
eg_buf *eg_concepts_scratch(eg_concepts *c);

/* Extracts from text and appends a JSON array to out. Returns 0 or EG_ENOMEM (out then as before).
 * Folding is eg_concepts_unwiden, then utf8proc's CASEFOLD | COMPOSE | STABLE (full case folding,
 * then NFC; no other compatibility mapping, so "™" stays a symbol): "STRASSE" and "straße" both
 * give "strass", "CAFÉ" and "cafe" + U+0301 both give "café". Words are runs of L* and N* code
 * points of the folded text; a combining mark (M*) continues a word (Devanagari vowel signs) but
 * never starts one; everything else, and any invalid UTF-8 byte, separates. Lengths count code
 * points; a pure number is a word without a letter; stopwords are matched before stemming. */
int eg_concepts_from_text(eg_concepts *c, const char *text, size_t len, eg_buf *out);

/* The code point folding applies before utf8proc's: a full-width form of an ASCII character
 * (U+FF01..U+FF5E, as typed with CJK input methods) becomes that character, so "ｐｙｔｈｏｎ" is
 * the concept "python". A utf8proc custom_func (data unused); features.c folds words with it too.
 */
int32_t eg_concepts_unwiden(int32_t cp, void *data);

/* If metadata (a parsed JSON value, may be NULL) is an object whose "concepts" member is an array,
 * appends its elements as a JSON array and returns 1: strings as they are (not folded or stemmed;
 * empty ones skipped), integers as "%lld", reals in the shortest "%.<p>g" form that reads back
 * exactly (0.1 -> "0.1", 2.0 -> "2", 1e300 -> "1e+300"); other elements skipped; duplicates (as
 * text, so 42 and "42" are one) dropped keeping the first; at most max. Returns 0 when there is
 * no concepts array (out untouched), EG_ENOMEM on error (out as before). */
int eg_concepts_from_json(eg_concepts *c, const json_t *metadata, eg_buf *out);

#endif
