#!/usr/bin/env bash
# Recall's full-text part beyond Latin accents (docs/adr/0013): the index holds a fold of the
# content, so a Greek word without its tonos or in capitals, Russian e for yo, text in NFD
# against a query in NFC and the reverse, a two-character Chinese or Japanese word inside a run,
# a Korean stem with a particle attached, full-width letters and a word broken by a soft hyphen
# are all found lexically; the original content is what recall shows; an edited memory leaves
# no old words behind; a store indexed before migration 17 (unicode61 over the raw content)
# is indexed again folded when it is opened; and one whose index another fold made (utf8proc's
# version, the fold's edition) is indexed again at its next run, once.
. "$(dirname "$0")/../integration/lib.sh"
for tool in jq sqlite3; do
  command -v "$tool" >/dev/null || { echo "skipped: needs $tool"; exit 77; }
done
NOW=2026-11-20T00:00:00Z
ACUTE=$(printf '\xcc\x81')  # U+0301 COMBINING ACUTE ACCENT
SHY=$(printf '\xc2\xad')    # U+00AD SOFT HYPHEN

A="$T/a.db"
engram --store "$A" init -q
# gr: NFC; nfd: Athens with its accent as U+0301; ko: Seoul with the particle 에서 attached
cat >"$T/a.jsonl" <<'EOF'
{"id":"gr","content":"Ταξίδι στην Αθήνα την άνοιξη.","created_at":"2026-11-01T10:00:00Z"}
{"id":"nfd","content":"Ο Παρθενω\u0301νας δεσπόζει.","created_at":"2026-11-02T10:00:00Z"}
{"id":"ru","content":"Мы поставили ёлку в гостиной.","created_at":"2026-11-03T10:00:00Z"}
{"id":"zh","content":"我今天在北京吃了烤鸭。","created_at":"2026-11-04T10:00:00Z"}
{"id":"ja","content":"東京タワーに行きました。","created_at":"2026-11-05T10:00:00Z"}
{"id":"ko","content":"서울에서 친구를 만났다.","created_at":"2026-11-06T10:00:00Z"}
{"id":"fw","content":"ｐｙｔｈｏｎ の勉強を始めた。","created_at":"2026-11-07T10:00:00Z"}
{"id":"shy","content":"An inter\u00adnational meeting about zeppelins.","created_at":"2026-11-08T10:00:00Z"}
{"id":"en","content":"Coffee with Maya near the harbour.","created_at":"2026-11-09T10:00:00Z"}
EOF
engram --store "$A" import -q "$T/a.jsonl"
engram --store "$A" --now "$NOW" run -q || fail "engram run"

# The ids of the memories QUERY finds lexically (lexical > 0), sorted, space-separated.
lex() {
  engram --store "$1" --now "$NOW" recall --no-rehearse --json "$2" |
    jq -r '[.results[] | select(.lexical > 0) | .memory_id] | sort | join(" ")'
}
check "Greek without the tonos finds the accented word" gr "$(lex "$A" αθηνα)"
check "Greek in capitals finds it" gr "$(lex "$A" ΑΘΗΝΑ)"
check "the accented word finds itself" gr "$(lex "$A" Αθήνα)"
check "a query in NFC finds content in NFD" nfd "$(lex "$A" Παρθενώνας)"
check "a query in NFD finds content in NFC" gr "$(lex "$A" "Αθη${ACUTE}να")"
check "Russian e for yo finds the word with yo" ru "$(lex "$A" елку)"
check "and yo finds it too" ru "$(lex "$A" ЁЛКУ)"
check "a two-character Chinese word inside a sentence" zh "$(lex "$A" 北京)"
check "another one, at the end" zh "$(lex "$A" 烤鸭)"
check "characters that are not next to each other do not match as a word" "" "$(lex "$A" 北鸭)"
check "a Chinese sentence finds the memory sharing a word with it" zh "$(lex "$A" 我明天去北京)"
check "a Japanese word inside a run" ja "$(lex "$A" 東京)"
check "katakana" ja "$(lex "$A" タワー)"
check "a Korean stem finds it with a particle attached" ko "$(lex "$A" 서울)"
check "ASCII finds full-width letters" fw "$(lex "$A" python)"
check "full-width letters find them too" fw "$(lex "$A" ｐｙｔｈｏｎ)"
check "a soft hyphen does not split a word" shy "$(lex "$A" international)"
check "nor in the query" shy "$(lex "$A" "inter${SHY}national")"
check "ASCII as before" en "$(lex "$A" "maya harbour")"
engram --store "$A" --now "$NOW" recall --no-rehearse --json 北京 >"$T/zh.json"
check "recall shows the original content" "我今天在北京吃了烤鸭。" "$(jq -r '.results[0].content' "$T/zh.json")"
engram --store "$A" --now "$NOW" recall --no-rehearse --explain "Αθήνα 北京" >"$T/ex.txt"
contains "explain shows the folded query, CJK as a phrase" '"αθηνα" AND "北 京"' "$T/ex.txt"

# an edited memory: its old words leave the index, the new ones come in
printf '%s\n' '{"id":"gr","content":"Ταξίδι στη Θεσσαλονίκη.","created_at":"2026-11-01T10:00:00Z","updated_at":"2026-11-15T10:00:00Z"}' >"$T/b.jsonl"
engram --store "$A" import -q "$T/b.jsonl"
engram --store "$A" --now "$NOW" run -q || fail "engram run after an edit"
check "the edited memory is not found by its old word" "" "$(lex "$A" αθηνα)"
check "it is found by its new one" gr "$(lex "$A" θεσσαλονικη)"
check "the index holds no word of the old content" 0 \
  "$(sqlite3 "$A" "CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, memory_fts, row); SELECT count(*) FROM temp.v WHERE term = 'ανοιξη'")"
check "the index passes its integrity check" "" \
  "$(sqlite3 "$A" "INSERT INTO memory_fts(memory_fts) VALUES ('integrity-check')" 2>&1)"

# a store from before migration 17: its index made again as it was (unicode61 over the content)
# (16: the schema version before the fold; it moves with the migration if that is renumbered)
O="$T/old.db"
cp "$A" "$O"
sqlite3 "$O" "DROP TABLE memory_fts; DROP TABLE fts_term;
  CREATE VIRTUAL TABLE memory_fts USING fts5(content, content='memory', content_rowid='rowid',
    tokenize='unicode61 remove_diacritics 2');
  INSERT INTO memory_fts (memory_fts) VALUES ('rebuild');
  PRAGMA user_version = 16;"
check "the old index does not find e for yo" 0 \
  "$(sqlite3 "$O" "SELECT count(*) FROM memory_fts WHERE memory_fts MATCH 'елку'")"
engram --store "$O" stats >/dev/null || fail "engram stats on an old store"
check "opening it migrates it" "$(sqlite3 "$A" "PRAGMA user_version")" "$(sqlite3 "$O" "PRAGMA user_version")"
check "and indexes it again folded" ru "$(lex "$O" елку)"
check "every memory with content is in the new index" 0 \
  "$(sqlite3 "$O" "SELECT count(*) FROM memory m WHERE m.content IS NOT NULL AND NOT EXISTS (SELECT 1 FROM memory_fts_docsize d WHERE d.id = m.rowid)")"
check "and counts its terms as FTS5 does" 0 "$(fts_terms_differ "$O")"
check "the same counts as the store that was never old" \
  "$(sqlite3 "$A" "SELECT group_concat(term || ' ' || docs) FROM fts_term" | md5sum)" \
  "$(sqlite3 "$O" "SELECT group_concat(term || ' ' || docs) FROM fts_term" | md5sum)"
# the index records the fold it was made with (utf8proc's version and the fold's edition): a
# store folded otherwise (a system upgrade that changed utf8proc, or a later fold) is indexed
# again before its first write to the index, counts and all; one that matches is left alone
F="$T/fold.db"
cp "$A" "$F"
case "$(sqlite3 "$F" "SELECT value FROM meta WHERE key = 'fts_fold'")" in
"utf8proc "*", fold "*) ok "the store records the index's fold" ;;
*) fail "no fold recorded: [$(sqlite3 "$F" "SELECT value FROM meta WHERE key = 'fts_fold'")]" ;;
esac
want_fold=$(sqlite3 "$F" "SELECT value FROM meta WHERE key = 'fts_fold'")
# folded otherwise: 'ёлка' once went in as itself, and the edit of that memory must not take
# out terms the index does not hold
sqlite3 "$F" "UPDATE meta SET value = 'utf8proc 0.0.0, fold 0' WHERE key = 'fts_fold'"
printf '%s\n' '{"id":"ru","content":"Мы поставили ёлку в гостиной и зажгли гирлянду.","created_at":"2026-11-03T10:00:00Z","updated_at":"2026-11-10T10:00:00Z"}' >"$T/fold-edit.jsonl"
engram --store "$F" import -q "$T/fold-edit.jsonl"
engram --store "$F" --now "$NOW" run >/dev/null 2>"$T/fold.err" || fail "run on a store of another fold"
contains "a store of another fold says it indexes every memory again" "every memory is indexed again" "$T/fold.err"
check "and records this fold" "$want_fold" "$(sqlite3 "$F" "SELECT value FROM meta WHERE key = 'fts_fold'")"
check "every memory with content is indexed once" \
  "$(sqlite3 "$F" "SELECT count(*) FROM memory WHERE content IS NOT NULL")" \
  "$(sqlite3 "$F" "SELECT count(*) FROM memory_fts_docsize")"
check "its term counts are the index's own" 0 "$(fts_terms_differ "$F")"
check "the index passes its integrity check after it" "" \
  "$(sqlite3 "$F" "INSERT INTO memory_fts(memory_fts) VALUES ('integrity-check')" 2>&1)"
check "the edited memory is found by its new word" ru "$(lex "$F" гирлянду)"
engram --store "$F" --now "$NOW" run >/dev/null 2>"$T/fold2.err" || fail "second run"
lacks "the next run does not index again" "indexed again" "$T/fold2.err"
# a store from before the record: taken as folded as now, not indexed again
sqlite3 "$F" "DELETE FROM meta WHERE key = 'fts_fold'"
engram --store "$F" --now "$NOW" run >/dev/null 2>"$T/fold3.err" || fail "run on a store without the record"
lacks "a store without the record is not indexed again" "indexed again" "$T/fold3.err"
check "and gets the record" "$want_fold" "$(sqlite3 "$F" "SELECT value FROM meta WHERE key = 'fts_fold'")"
finish
