# engram import: exit codes for unusable files (65 in both formats: missing, a directory, empty;
# also for a name with no extension to tell the format by: existence is checked first), --json
# that still lists the files committed before a failing one, and the CSV and JSONL rows that used
# to be lost or misread (Unix seconds out of range, numbers too big for jansson, an unterminated
# quote, a BOM before a quoted header, empty optional times, padding rows), the blank lines and
# padding rows skipped, counted in the report, and times that are not times reported with the
# value (cut at 60 characters), not the field's name.
engram --store s.db init
engram --store s.db import missing.jsonl
mkdir dir.csv && engram --store s.db import dir.csv
engram --store s.db import nope
mkdir somedir && engram --store s.db import somedir
: > empty.jsonl && engram --store s.db import empty.jsonl
: > empty.csv && engram --store s.db import empty.csv
printf 'id,content,created_at\n' > header.csv && engram --store s.db import header.csv
printf '%s\n' '{"id":"j1","content":"one","created_at":"2026-11-19T09:00:00Z"}' > one.jsonl
engram --store s.db --json import one.jsonl empty.jsonl header.csv
printf '%s\n' '{"id":"u1","content":"seconds","created_at":1763600000,"updated_at":""}' '{"id":"u2","content":"ms","created_at":1763600000000}' '{"id":"u3","content":"max","created_at":9223372036854775807}' '{"id":"u4","content":"text","created_at":"1763600000"}' '{"id":18446744073709551615,"content":"big id","created_at":1763600000.5,"metadata":{"hash":12345678901234567890}}' '{"id":"u5","content":"nul\u0000","created_at":1763600000}' > unix.jsonl
engram --store s.db import unix.jsonl
printf '\xef\xbb\xbf"id"," content ","created_at","updated_at"\n"c1","quoted","2026-11-19",""\n,,,\n"c2","no time","",""\nc3,"never closed,2026-11-19,\nc4,swallowed,2026-11-19,\n' > excel.csv
engram --store s.db import excel.csv
sqlite3 s.db "SELECT id, content, created_at, updated_at, metadata FROM memories ORDER BY id"
printf 'id,content,created_at,ID\n' > dup.csv && engram --store s.db import dup.csv
printf 'key,content,created_at\n' > noid.csv && engram --store s.db import noid.csv
printf '\n{"id":"b1","content":"between blanks","created_at":"2026-11-19T09:00:00Z"}\n\n   \n{"id":"b2","content":"after","created_at":"2026-11-19T09:00:00Z"}\n\n' > blanks.jsonl
engram --store s.db import blanks.jsonl
printf 'id,content,created_at\n,,\nb3,padded,2026-11-19\n,,\n\n' > blanks.csv && engram --store s.db --json import blanks.csv
printf '%s\n' '{"id":"y1","content":"bad time","created_at":"yesterday"}' '{"id":"y2","content":"bad time","created_at":true}' '{"id":"y3","content":"long bad time","created_at":"2026-11-19T09:00:00Z and then some words that go on and on and on"}' > yesterday.jsonl && engram --store s.db import yesterday.jsonl
printf 'id,content,created_at\ny4,bad time,yesterday\n' > yesterday.csv && engram --store s.db import yesterday.csv
# a UTF-16 file (with a byte order mark, or without: NUL bytes in the first line) or a UTF-32 one
# is an unusable file that names its encoding and the iconv command, not a header error in mojibake
printf 'id,content,created_at\nw1,wide,2026-11-19\n' | iconv -f UTF-8 -t UTF-16 > utf16.csv && engram --store s.db import utf16.csv
printf 'id,content,created_at\nw1,wide,2026-11-19\n' | iconv -f UTF-8 -t UTF-16BE > utf16be.csv && engram --store s.db import utf16be.csv
printf '%s\n' '{"id":"w2","content":"wide","created_at":"2026-11-19"}' | iconv -f UTF-8 -t UTF-16LE > utf16le.jsonl && engram --store s.db import utf16le.jsonl
printf '%s\n' '{"id":"w2","content":"wide","created_at":"2026-11-19"}' | iconv -f UTF-8 -t UTF-32 | engram --store s.db import -
iconv -f UTF-16 -t UTF-8 utf16.csv > utf16.utf8.csv && engram --store s.db import utf16.utf8.csv
# files joined with cat keep their UTF-8 byte order marks: each line or record reads as without it
printf '\xef\xbb\xbf{"id":"k1","content":"first file","created_at":"2026-11-19"}\n' > k1.jsonl && printf '\xef\xbb\xbf{"id":"k2","content":"second file","created_at":"2026-11-19"}\n' > k2.jsonl && cat k1.jsonl k2.jsonl > k.jsonl && engram --store s.db import k.jsonl
printf '\xef\xbb\xbfid,content,created_at\nk3,x,2026-11-19\n' > k3.csv && printf '\xef\xbb\xbf"k4",y,2026-11-19\n' > k4.csv && cat k3.csv k4.csv > k.csv && engram --store s.db import k.csv
sqlite3 s.db "SELECT id, hex(id) FROM memories WHERE id LIKE '%k_' ORDER BY id"
# ids are the same memory only when byte for byte equal, as the source's primary key: NFC and NFD
# "café", a trailing blank (unquoted or quoted) and case make different memories. A file that
# names one id twice keeps its last row and says so (it was counted as updated without a word).
printf 'id,content,created_at\ncaf\303\251,nfc,2026-11-19\ncafe\314\201,nfd,2026-11-19\ncaf\303\251 ,trailing,2026-11-19\nCAF\303\211,upper,2026-11-19\n"caf\303\251 ",quoted trailing,2026-11-19\n' > ids.csv && engram --store i.db import ids.csv
engram --store i.db --json import ids.csv
sqlite3 i.db "SELECT hex(id), content FROM memories ORDER BY 1"
