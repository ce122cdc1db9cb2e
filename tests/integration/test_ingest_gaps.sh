#!/usr/bin/env bash
# Rows an incremental read could miss (the probe's repro_ingest_gaps.sh): (a) a row whose
# updated_at is earlier than its created_at (clock skew), created after the watermark, is read by
# the next incremental run; (b) a row that arrives late with both times older than the lookback,
# and a row deleted at the source, are not read by design: `engram health` warns that the store
# and the source differ, names the difference and `engram ingest --full`, and is OK again after it.
. "$(dirname "$0")/lib.sh"
S=$(new_schema)
q -c "CREATE TABLE $S.memories (id text PRIMARY KEY, content text, created_at timestamptz, updated_at timestamptz, metadata jsonb)"
q -c "INSERT INTO $S.memories SELECT 'm' || g, 'routine note number ' || g || ' about gardening',
             timestamptz '2025-12-01' + g * interval '10 min', NULL, '{}' FROM generate_series(1, 500) g"
printf 'source.schema = %s\nsource.retries = 0\n' "$S" >"$T/c.conf"
E=(--config "$T/c.conf" --source postgresql:// --store "$T/s.db")
ids() { sqlite3 "$T/s.db" "SELECT id FROM memory WHERE id IN ('skew', 'late') ORDER BY id" | paste -sd, -; }
# volume NAME: the volume check's status and message of the last health --json
volume() { python3 -c 'import json,sys; c=[c for c in json.load(sys.stdin)["checks"] if c["name"]=="volume"][0]; print(c["status"], c["message"])' <"$T/h.json"; }

engram "${E[@]}" --now 2025-12-05T00:00:00Z run -q || fail "first run"
engram "${E[@]}" --now 2025-12-05T00:00:00Z health --json >"$T/h.json"
volume >"$T/v"
contains "after the first run: the store holds every row" "the store holds all 500 rows created up to the watermark" "$T/v"
check "after the first run: volume OK" OK "$(cut -d' ' -f1 "$T/v")"

q -c "INSERT INTO $S.memories VALUES
      ('skew', 'walrus fact: the boathouse key is under the blue pot', '2025-12-05T01:00:00Z', '2025-12-04T01:00:00Z', '{}'),
      ('late', 'narwhal fact: synced from the phone two days late', '2025-12-03T09:00:00Z', NULL, '{}')"
engram "${E[@]}" --now 2025-12-05T02:00:00Z run -q || fail "second run"
check "(a) updated_at before created_at: read by the incremental run; (b) the late row is not" \
  "skew" "$(ids)"

engram "${E[@]}" --now 2025-12-05T02:00:00Z health --json >"$T/h.json"
volume >"$T/v"
check "(b) a late row: volume WARNING" WARNING "$(cut -d' ' -f1 "$T/v")"
contains "(b) names the difference" "at the source, 500 in the store (0 quarantined): 1 missing" "$T/v"
contains "(b) names the remedy" "run \`engram ingest --full\`" "$T/v"

q -c "DELETE FROM $S.memories WHERE id IN ('m7', 'm8')"
engram "${E[@]}" --now 2025-12-05T02:00:00Z health --json >"$T/h.json"
volume >"$T/v"
contains "deleted and late rows: 1 more in the store" "499 rows created up to the watermark 2025-12-04T11:20:00Z at the source, 500 in the store (0 quarantined): 1 more in the store" "$T/v"

engram "${E[@]}" --now 2025-12-05T02:00:00Z ingest --full -q || fail "ingest --full"
check "ingest --full reads the late row" "late,skew" "$(ids)"
engram "${E[@]}" --now 2025-12-05T02:00:00Z health --json >"$T/h.json"
volume >"$T/v"
check "after ingest --full: volume OK" OK "$(cut -d' ' -f1 "$T/v")"
contains "after ingest --full: says so" "the store holds all 499 rows" "$T/v"
q -c "DROP SCHEMA $S CASCADE"
finish
