# Checks of a store that both shell test libraries (e2e/lib.sh, integration/lib.sh) source.

# fts_terms_differ STORE: how many (term, count) pairs the store's fts_term and FTS5's own count of
# its full-text index (fts5vocab's `doc`) do not share; 0 when recall's BM25 reads the index's
# own document frequencies
fts_terms_differ() {
  sqlite3 -bail "$1" <<'SQL'
CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, memory_fts, row);
SELECT (SELECT count(*) FROM (SELECT term, doc FROM temp.vocab EXCEPT SELECT term, docs FROM fts_term))
  + (SELECT count(*) FROM (SELECT term, docs FROM fts_term EXCEPT SELECT term, doc FROM temp.vocab));
SQL
}
