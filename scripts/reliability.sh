#!/usr/bin/env bash
# Reliability scenarios against the real `ptl` server binary and a real store.
#
#   scripts/reliability.sh [--store sqlite|postgres] [--load-secs 24] [--kills 3]
#
# (a) kill -9 of the server during a write load, several times, with restarts; then every
#     acknowledged action must be present exactly once at its returned version, every stream
#     gapless, `ptl verify` clean, the SQLite file intact, and `ptl projections rebuild` must leave
#     GET /api/v1/stats unchanged;
# (b) many clients acting on one case with the same If-Match: exactly one success per version;
# (c) hostile input: refused with 4xx, nothing written.
#
# With --store postgres the store is a fresh database on the shared PostgreSQL server
# (PTL_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test), dropped at the end; only the
# ptl server is killed, never PostgreSQL.
#
# Exits non-zero on any loss or failed scenario.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PTL=${PTL:-$ROOT/target/release/ptl}
BENCH=${PTL_BENCH:-$ROOT/target/release/ptl-bench}
STORE=sqlite
LOAD_SECS=24
KILLS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --store) STORE=$2; shift 2 ;;
    --load-secs) LOAD_SECS=$2; shift 2 ;;
    --kills) KILLS=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done

if [ ! -x "$PTL" ] || [ ! -x "$BENCH" ]; then
  (cd "$ROOT" && cargo build --release -p ptl-api -p ptl-bench)
fi

WORK=$(mktemp -d /tmp/ptl-reliability.XXXXXX)
DATA=$WORK/data
PG_DB=
PG_ADMIN=${PTL_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
case "$STORE" in
  sqlite) DB=$WORK/ptl.db; URL=sqlite://$DB ;;
  postgres)
    PG_DB=ptl_rel_$(date +%s)_$$
    psql "$PG_ADMIN" -qc "CREATE DATABASE $PG_DB" >/dev/null
    URL=${PG_ADMIN%/*}/$PG_DB ;;
  *) echo "--store sqlite|postgres" >&2; exit 64 ;;
esac
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
SERVER_PID=
LOAD_PID=

cleanup() {
  if [ -n "$LOAD_PID" ]; then kill "$LOAD_PID" 2>/dev/null || true; fi
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$PG_DB" ]; then psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true; fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

ptl() { "$PTL" --database-url "$URL" --data-dir "$DATA" "$@"; }

start_server() {
  RUST_LOG=warn "$PTL" --database-url "$URL" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" \
    >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    if curl -fsS "$BASE/healthz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "server exited; log:" >&2; tail -20 "$WORK/server.log" >&2; exit 1; fi
    sleep 0.1
  done
  echo "server not healthy" >&2; exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

SCENARIOS=0; PASSED=0; REQUESTS=0; ACKED=0; LOSSES=0; FAILED=()
pass() { SCENARIOS=$((SCENARIOS + 1)); PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() { SCENARIOS=$((SCENARIOS + 1)); FAILED+=("$1"); echo "FAIL $1"; }

echo "store: $STORE ($WORK); server $BASE; ptl $PTL"
start_server
CW=$(ptl token --sub cw-rel --role caseworker --office UA7102)
NSS=$(ptl token --sub do-rel --role decision_officer --office UA-NSS)
AUD=$(ptl token --sub au-rel --role auditor --office UA)
SUP=$(ptl token --sub su-rel --role supervisor --office UA)
OTHER=$(ptl token --sub cw-other --role caseworker --office UA7104)

# ---------------------------------------------------------------- (a) kill -9 under write load
echo
echo "== (a) kill -9 during a write load, $KILLS times, with restarts"
ACK_LOG=$WORK/acks.tsv
"$BENCH" ack-load --base "$BASE" --token-cw "$CW" --token-nss "$NSS" --ack-log "$ACK_LOG" \
  --secs "$LOAD_SECS" --clients 4 >"$WORK/ack-load.out" 2>"$WORK/ack-load.err" &
LOAD_PID=$!
STEP=$((LOAD_SECS / (KILLS + 1)))
for i in $(seq 1 "$KILLS"); do
  sleep "$STEP"
  before=$(wc -l <"$ACK_LOG" 2>/dev/null || echo 0)
  kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  echo "  kill -9 #$i of pid $SERVER_PID after $before acknowledgements"
  sleep 0.3
  start_server
  echo "  restarted (pid $SERVER_PID)"
done
wait "$LOAD_PID"; LOAD_PID=
cat "$WORK/ack-load.out"
if [ -s "$WORK/ack-load.err" ]; then echo "  ack-load stderr:"; head -5 "$WORK/ack-load.err"; fi
sent=$(sed -n 's/.*sent \([0-9]*\) requests.*/\1/p' "$WORK/ack-load.out")
REQUESTS=$((REQUESTS + ${sent:-0}))

a_ok=1
if "$BENCH" check --base "$BASE" --token "$AUD" --ack-log "$ACK_LOG" >"$WORK/check.out" 2>&1; then :; else a_ok=0; fi
cat "$WORK/check.out"
acked=$(sed -n 's/^check: \([0-9]*\) acknowledged.*/\1/p' "$WORK/check.out")
lost=$(sed -n 's/.*losses \([0-9]*\);.*/\1/p' "$WORK/check.out")
ACKED=$((ACKED + ${acked:-0})); LOSSES=$((LOSSES + ${lost:-0}))
if [ -z "$acked" ] || [ "${acked:-0}" -eq 0 ]; then echo "  no acknowledged writes: the load did not run"; a_ok=0; fi

if ptl verify >"$WORK/verify.out" 2>&1; then
  echo "  ptl verify: $(tail -1 "$WORK/verify.out")"
else
  echo "  ptl verify FAILED:"; tail -5 "$WORK/verify.out"; a_ok=0
fi
if [ "$STORE" = sqlite ]; then
  integrity=$(sqlite3 "$DB" 'PRAGMA integrity_check')
  echo "  sqlite integrity_check: $integrity"
  [ "$integrity" = ok ] || a_ok=0
fi
[ $a_ok = 1 ] && pass "(a) kill -9 x$KILLS under write load" || fail "(a) kill -9 x$KILLS under write load"

echo
echo "== (a') projections rebuild leaves the statistics unchanged"
stats() { curl -fsS -H "Authorization: Bearer $SUP" "$BASE/api/v1/stats?office=UA" | jq -S .; }
queue() { curl -fsS -H "Authorization: Bearer $SUP" "$BASE/api/v1/cases?limit=200" | jq -S '[.items[] | {id, stage, status, version}] | sort_by(.id)'; }
stats >"$WORK/stats.before"; queue >"$WORK/queue.before"
stop_server
ptl projections rebuild >"$WORK/rebuild.out" 2>&1
start_server
stats >"$WORK/stats.after"; queue >"$WORK/queue.after"
REQUESTS=$((REQUESTS + 4))
echo "  applications: $(jq .totals.applications "$WORK/stats.before") before, $(jq .totals.applications "$WORK/stats.after") after"
if diff -u "$WORK/stats.before" "$WORK/stats.after" && diff -q "$WORK/queue.before" "$WORK/queue.after" >/dev/null; then
  pass "(a') projections rebuild: stats and work queue unchanged"
else
  diff -u "$WORK/queue.before" "$WORK/queue.after" | head -20 || true
  fail "(a') projections rebuild: stats or work queue changed"
fi

# ---------------------------------------------------------------- (b) same ETag race
echo
echo "== (b) 32 clients, same case, same If-Match"
if "$BENCH" race --base "$BASE" --token-cw "$CW" --clients 32 --rounds 20 >"$WORK/race.out" 2>&1; then r_ok=1; else r_ok=0; fi
tail -5 "$WORK/race.out"
n=$(sed -n 's/.* \([0-9]*\) requests;.*/\1/p' "$WORK/race.out"); REQUESTS=$((REQUESTS + ${n:-0} + 2))
[ $r_ok = 1 ] && pass "(b) exactly one success per version" || fail "(b) exactly one success per version"

# ---------------------------------------------------------------- (c) hostile input
echo
echo "== (c) hostile input"
if "$BENCH" hostile --base "$BASE" --token-cw "$CW" --token-other "$OTHER" --token-ua "$SUP" \
  --data-dir "$DATA" >"$WORK/hostile.out" 2>&1; then h_ok=1; else h_ok=0; fi
cat "$WORK/hostile.out"
n=$(sed -n 's/^hostile: \([0-9]*\) hostile.*/\1/p' "$WORK/hostile.out"); REQUESTS=$((REQUESTS + ${n:-0} + 6))
[ $h_ok = 1 ] && pass "(c) hostile input refused, nothing written" || fail "(c) hostile input refused, nothing written"

if ! ptl verify >/dev/null 2>&1; then fail "final ptl verify"; fi

echo
echo "== summary ($STORE)"
echo "scenarios: $SCENARIOS, passed: $PASSED, failed: ${#FAILED[@]}"
echo "requests sent: $REQUESTS"
echo "acknowledged writes checked: $ACKED"
echo "losses: $LOSSES"
for f in "${FAILED[@]}"; do echo "failed: $f"; done
if [ "$LOSSES" -ne 0 ] || [ "${#FAILED[@]}" -ne 0 ]; then exit 1; fi
