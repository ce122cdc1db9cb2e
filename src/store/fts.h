/*
 * fts.h — the text the full-text index holds: a fold of each memory's content (docs/adr/0013).
 *
 * memory_fts indexes eg_store_fts_fold(content), not the content, with FTS5's `ascii`
 * tokenizer: the fold does everything Unicode needs (compatibility forms, case, accents, CJK
 * segmentation) and leaves text that splits at ASCII non-alphanumerics. A query must be folded
 * the same way (pipeline/recall.c does), or it finds nothing. The index is contentless: results
 * are shown from memory.content, never from the index.
 */
#ifndef EG_STORE_FTS_H
#define EG_STORE_FTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct sqlite3 sqlite3;

/* Scratch space of eg_store_fts_fold (code points of one run), reused from call to call. Zero
 * it to start; eg_store_fts_folder_free releases it (a zeroed one too). Not thread-safe. */
typedef struct eg_store_fts_folder {
    int32_t *cps;
    size_t cap;
} eg_store_fts_folder;

void eg_store_fts_folder_free(eg_store_fts_folder *f);

/* Appends the fold of s[0..n) to out: NFKC with full case folding, combining accents removed
 * (U+0300..U+036F and the other combining-diacritics blocks: Latin, Greek and Cyrillic accents;
 * other marks such as Devanagari vowel signs or kana voicing stay), default-ignorable code points
 * removed (soft hyphen, zero-width joiners, word joiner, BOM, variation selectors) except U+200B
 * ZERO WIDTH SPACE, which separates words as Unicode's word boundaries say; every code point
 * that is not a letter, digit or mark becomes a space; each CJK ideograph, kana and Hangul
 * syllable or jamo stands between spaces, a word of its own. ASCII letters are lower-cased and
 * ASCII punctuation is kept (the tokenizer splits there). Invalid UTF-8 bytes become spaces.
 * "Αθήνα" folds to "αθηνα", "ёлка" to "елка", "ｐｙｔｈｏｎ" to "python", "北京" to " 北 京".
 * Returns 0, or EG_ENOMEM (out may then hold part of the fold). */
int eg_store_fts_fold(eg_store_fts_folder *f, eg_buf *out, const char *s, size_t n);

/* The edition of eg_store_fts_fold's rules: a change to what it makes of any text must change
 * this number, and the store then indexes every memory again (with utf8proc's version, in the
 * meta key 'fts_fold'; src/store/sqlite.c). */
#define EG_STORE_FTS_FOLD 1

/* True for a code point the fold makes a word of its own: CJK ideographs, kana, Hangul
 * syllables and jamo, bopomofo. */
bool eg_store_fts_single(int32_t cp);

/* A connection's full-text context: the fold's scratch, FTS5's ascii tokenizer, and the terms
 * counted since the last flush. */
typedef struct eg_store_fts eg_store_fts;

/* Registers on db, which every statement that writes memory_fts uses:
 * - engram_fts_fold(text): eg_store_fts_fold (NULL for NULL, text that is all ASCII as it is);
 * - engram_fts_tally(text, sign): text as it is, counting once each distinct term of it (as
 *   memory_fts's tokenizer cuts it) as sign (+1: a document indexed, -1: taken out), so that
 *   fts_term, the number of documents that hold each term, stays the index's own (fts5vocab's
 *   `doc`); the store adds the counts to fts_term with eg__store_fts_tally_each;
 * - the FTS5 function engram_bm25(memory_fts, hits): bm25() with the phrases' document
 *   frequencies given (a blob of one native int64 per phrase, -1 where unknown) instead of
 *   counted by walking their rows for each query.
 * *out is the connection's context, freed when the connection closes. */
int eg__store_fts_register(sqlite3 *db, eg_store_fts **out);

/* Calls fn for each term counted since the last clear (docs: the documents added, negative when
 * taken out); stops at fn's first non-zero return and returns it. EG_ENOMEM when a count was
 * lost. */
int eg__store_fts_tally_each(eg_store_fts *c,
                             int (*fn)(void *ud, const char *term, size_t len, int64_t docs),
                             void *ud);
/* Forgets the counts (after they were written, or with a statement that failed). */
void eg__store_fts_tally_clear(eg_store_fts *c);

#endif
