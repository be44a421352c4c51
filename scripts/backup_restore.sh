#!/usr/bin/env bash
# Backup and restore under write load, against the real `ptl` server binary and a real store.
#
#   scripts/backup_restore.sh [--store sqlite|postgres|both] [--load-secs 12]
#
# For each store: `ptl serve` on a fresh store, a write load (`ptl-bench ack-load`, every
# acknowledged action logged), and in the middle of the load a backup B:
#   sqlite    `ptl backup --output B` (VACUUM INTO while the server writes);
#   postgres  `pg_dump -Fc` of a fresh database on the shared server (PTL_TEST_PG_URL, default
#             postgres://postgres@127.0.0.1:5432/test); `ptl backup` must refuse that store.
# Then the load and the server stop and B is restored twice, each time with the key files of the
# original data directory. The PostgreSQL restores go to ANOTHER cluster: a private PostgreSQL
# (initdb as the `postgres` OS user into a temporary directory, its own port and socket
# directory; stopped and removed at the end) whose transaction counter is below every `xact_id`
# in the dump (xids are burnt on the shared server first if needed), so every restored event
# looks like it comes from the future until `ptl` renumbers them at its first start (the
# "renumbered the xact_id" warning, required in the logs of R1's `ptl verify` and R2's server):
#   R1  `ptl verify` must pass, then `ptl projections rebuild` rebuilds the read models from the log;
#   R2  nothing is run: the read models are the live ones as B copied them.
# A server on R1 and one on R2 must answer GET /api/v1/stats?office=UA71 and the whole work queue
# identically; B must hold at least as many events as writes acknowledged before the backup began,
# and each of those writes at its acknowledged version (`ptl-bench check` against R2).
#
# The original PostgreSQL database is created with a unique name and dropped at the end (R1 and R2
# go with the private cluster). Prints one summary line per store; exits non-zero on any mismatch.
# Needs root for the private cluster (runuser), and PostgreSQL 15 server binaries (PG_BIN, default
# /usr/lib/postgresql/15/bin).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PTL=${PTL:-$ROOT/target/release/ptl}
BENCH=${PTL_BENCH:-$ROOT/target/release/ptl-bench}
STORES=both
LOAD_SECS=12
while [ $# -gt 0 ]; do
  case "$1" in
    --store) STORES=$2; shift 2 ;;
    --load-secs) LOAD_SECS=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done
case "$STORES" in
  sqlite|postgres) ;;
  both) STORES="sqlite postgres" ;;
  *) echo "--store sqlite|postgres|both" >&2; exit 64 ;;
esac
if [ "$LOAD_SECS" -lt 4 ]; then echo "--load-secs must be at least 4" >&2; exit 64; fi

if [ ! -x "$PTL" ] || [ ! -x "$BENCH" ]; then
  (cd "$ROOT" && cargo build --release -p ptl-api -p ptl-bench)
fi

WORK=$(mktemp -d /tmp/ptl-backup.XXXXXX)
PG_ADMIN=${PTL_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
PG_BASE=${PG_ADMIN%/*}
PG_DBS=()
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
SERVER_PID=
LOAD_PID=
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# The private cluster (restore target of the PostgreSQL variant); set by start_private_pg.
PRIV_DIR=
PRIV_ADMIN=
PRIV_BASE=
# Transaction ids the shared server must be ahead of the private cluster's counter by.
XID_MARGIN=${XID_MARGIN:-20000}

cleanup() {
  if [ -n "$LOAD_PID" ]; then kill "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; fi
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  for db in "${PG_DBS[@]}"; do
    psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  stop_private_pg
  if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

# start_private_pg: a throwaway PostgreSQL cluster owned by the `postgres` OS user, in its own
# temporary directory (data, socket, log), on a free port, trust authentication.
start_private_pg() {
  local port
  PRIV_DIR=$(mktemp -d /tmp/ptl-pgpriv.XXXXXX)
  chown postgres:postgres "$PRIV_DIR"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  runuser -u postgres -- "$PG_BIN/initdb" -D "$PRIV_DIR/data" -U postgres -A trust -E UTF8 \
    --locale=C --no-sync >"$PRIV_DIR/initdb.log" 2>&1 ||
    { echo "initdb failed:" >&2; tail -5 "$PRIV_DIR/initdb.log" >&2; return 1; }
  runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PRIV_DIR/data" -l "$PRIV_DIR/server.log" -w -t 60 \
    -o "-p $port -k $PRIV_DIR -c listen_addresses=127.0.0.1" start >/dev/null ||
    { echo "the private PostgreSQL did not start:" >&2; tail -5 "$PRIV_DIR/server.log" >&2; return 1; }
  PRIV_ADMIN=postgres://postgres@127.0.0.1:$port/postgres
  PRIV_BASE=${PRIV_ADMIN%/*}
}

stop_private_pg() {
  if [ -n "$PRIV_DIR" ]; then
    if [ -e "$PRIV_DIR/data/postmaster.pid" ]; then
      runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PRIV_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ -z "${KEEP:-}" ]; then rm -rf "$PRIV_DIR"; else echo "kept $PRIV_DIR"; fi
    PRIV_DIR=
  fi
}

# burn_xids <url> <n>: consumes n transaction ids on a server (one committed transaction each).
burn_xids() {
  psql "$1" -qv ON_ERROR_STOP=1 -c \
    "DO \$\$ BEGIN FOR i IN 1..$2 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END \$\$" >/dev/null
}

# ptl_on <url> <data dir> <args...>
ptl_on() { local url=$1 data=$2; shift 2; "$PTL" --database-url "$url" --data-dir "$data" "$@"; }

# start_server <url> <data dir> <log>
start_server() {
  RUST_LOG=warn "$PTL" --database-url "$1" --data-dir "$2" serve --listen "127.0.0.1:$PORT" \
    >>"$3" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 300); do
    if curl -fsS "$BASE/healthz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      echo "server exited; log:" >&2; tail -20 "$3" >&2; SERVER_PID=; exit 1
    fi
    sleep 0.1
  done
  echo "server not healthy" >&2; exit 1
}

stop_server() {
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=
}

# The key files (and the erasure ledger, when there is one) of a data directory, mode kept.
copy_keys() {
  mkdir -p -m 700 "$2"
  cp -p "$1"/master.key "$1"/hash.key "$1"/search.key "$1"/jwt.secret "$2"/
  if [ -e "$1"/erasures.log ]; then cp -p "$1"/erasures.log "$2"/; fi
}

# stats <token> / queue <token>: the figures and the whole work queue (all pages), normalised.
stats() { curl -fsS -H "Authorization: Bearer $1" "$BASE/api/v1/stats?office=UA71" | jq -S .; }
queue() {
  local cursor='' page items
  items=$(mktemp "$WORK/queue.XXXXXX")
  while :; do
    if [ -n "$cursor" ]; then
      page=$(curl -fsS -G -H "Authorization: Bearer $1" "$BASE/api/v1/cases" \
        --data-urlencode limit=200 --data-urlencode "cursor=$cursor")
    else
      page=$(curl -fsS -G -H "Authorization: Bearer $1" "$BASE/api/v1/cases" --data-urlencode limit=200)
    fi
    jq -c '.items[]' <<<"$page" >>"$items"
    cursor=$(jq -r '.next_cursor // empty' <<<"$page")
    [ -n "$cursor" ] || break
  done
  jq -S -s 'sort_by(.case_id)' "$items"
}

# The complete lines of the acknowledgement log at this instant (a line may be half written).
snapshot_acks() {
  local raw=$2.raw n
  cp "$1" "$raw" 2>/dev/null || : >"$raw"
  n=$(wc -l <"$raw")
  head -n "$n" "$raw" >"$2"
  echo "$n"
}

RESULTS=()
FAILURES=0

# scenario <store>: the whole run on one store; appends a summary line to RESULTS.
scenario() {
  local store=$1 dir=$WORK/$1 url orig_db='' r1_url r2_url renumbered=''
  local problems=()
  mkdir -p "$dir"
  echo
  echo "== $store: backup during a write load, restore, verify, rebuild, compare"
  case "$store" in
    sqlite) url=sqlite://$dir/orig/ptl.db ;;
    postgres)
      # The restore target first: the events must be written with transaction ids above its
      # counter (a fresh initdb's is a few hundred; the shared server's normally far more).
      start_private_pg
      local priv_xid src_xid
      priv_xid=$(psql "$PRIV_ADMIN" -Atc 'SELECT pg_current_xact_id()')
      src_xid=$(psql "$PG_ADMIN" -Atc 'SELECT pg_current_xact_id()')
      if [ "$src_xid" -lt $((priv_xid + XID_MARGIN)) ]; then
        echo "  burning $((priv_xid + XID_MARGIN - src_xid)) transaction ids on the shared server ($src_xid -> $((priv_xid + XID_MARGIN)))"
        burn_xids "$PG_ADMIN" $((priv_xid + XID_MARGIN - src_xid))
        src_xid=$(psql "$PG_ADMIN" -Atc 'SELECT pg_current_xact_id()')
      fi
      echo "  transaction counters: shared server (source) $src_xid, private cluster (restore target) $priv_xid"
      orig_db=ptl_backup_$(date +%s)_$$
      psql "$PG_ADMIN" -qc "CREATE DATABASE $orig_db" >/dev/null
      PG_DBS+=("$orig_db")
      url=$PG_BASE/$orig_db ;;
  esac
  mkdir -p -m 700 "$dir/orig"
  start_server "$url" "$dir/orig" "$dir/server.log"
  local cw nss sup aud
  cw=$(ptl_on "$url" "$dir/orig" token --sub cw-bak --role caseworker --office UA7102)
  nss=$(ptl_on "$url" "$dir/orig" token --sub do-bak --role decision_officer --office UA-NSS)
  sup=$(ptl_on "$url" "$dir/orig" token --sub su-bak --role supervisor --office UA71)
  aud=$(ptl_on "$url" "$dir/orig" token --sub au-bak --role auditor --office UA)

  local acks=$dir/acks.tsv
  "$BENCH" ack-load --base "$BASE" --token-cw "$cw" --token-nss "$nss" --ack-log "$acks" \
    --secs "$LOAD_SECS" --clients 4 >"$dir/ack-load.out" 2>"$dir/ack-load.err" &
  LOAD_PID=$!
  sleep $((LOAD_SECS / 2))

  # Every write acknowledged now was committed before the backup begins.
  local acked_before
  acked_before=$(snapshot_acks "$acks" "$dir/acks.before.tsv")
  local started=$SECONDS during=1 backup_line
  case "$store" in
    sqlite)
      if ptl_on "$url" "$dir/orig" backup --output "$dir/B.db" >"$dir/backup.out" 2>"$dir/backup.err"; then
        backup_line=$(cat "$dir/backup.out")
      else
        problems+=("ptl backup failed: $(cat "$dir/backup.err")"); backup_line=''
      fi ;;
    postgres)
      if ptl_on "$url" "$dir/orig" backup --output "$dir/refused.db" >/dev/null 2>"$dir/backup.err"; then
        problems+=("ptl backup did not refuse the PostgreSQL store")
      elif ! grep -q pg_dump "$dir/backup.err"; then
        problems+=("ptl backup refused PostgreSQL without naming pg_dump: $(cat "$dir/backup.err")")
      fi
      if pg_dump -Fc -f "$dir/B.dump" "$url" 2>"$dir/pg_dump.err"; then
        backup_line="pg_dump -Fc: $(stat -c %s "$dir/B.dump") bytes"
      else
        problems+=("pg_dump failed: $(cat "$dir/pg_dump.err")"); backup_line=''
      fi ;;
  esac
  kill -0 "$LOAD_PID" 2>/dev/null || during=0
  local took=$((SECONDS - started)) acked_after_backup
  acked_after_backup=$(wc -l <"$acks")
  if ! wait "$LOAD_PID"; then problems+=("ptl-bench ack-load failed: $(head -3 "$dir/ack-load.err" | tr '\n' ' ')"); fi
  LOAD_PID=
  local acked_total
  acked_total=$(wc -l <"$acks")
  sed 's/^/  /' "$dir/ack-load.out"
  if [ -s "$dir/ack-load.err" ]; then echo "  ack-load stderr:"; head -5 "$dir/ack-load.err" | sed 's/^/    /'; fi
  echo "  backup ($took s): ${backup_line:-none}"
  echo "  acknowledged: $acked_before before the backup, $acked_after_backup when it ended, $acked_total in all"
  [ "$during" = 1 ] || problems+=("the load had ended before the backup finished: not a backup under load")
  [ "$acked_before" -gt 0 ] || problems+=("no write was acknowledged before the backup: the load did not run")
  [ "$acked_total" -gt "$acked_before" ] || problems+=("no write was acknowledged after the backup began")
  stop_server

  if [ -z "$backup_line" ]; then
    RESULTS+=("$store: FAIL  ${problems[*]}"); FAILURES=$((FAILURES + 1)); return 0
  fi

  # Restore B twice, with the original key files.
  copy_keys "$dir/orig" "$dir/r1"
  copy_keys "$dir/orig" "$dir/r2"
  case "$store" in
    sqlite)
      cp "$dir/B.db" "$dir/r1/ptl.db"; cp "$dir/B.db" "$dir/r2/ptl.db"
      r1_url=sqlite://$dir/r1/ptl.db; r2_url=sqlite://$dir/r2/ptl.db ;;
    postgres)
      # Into the private cluster: a restore into another, younger cluster.
      local r
      for r in r1 r2; do
        psql "$PRIV_ADMIN" -qc "CREATE DATABASE ${orig_db}_$r" >/dev/null
        if ! pg_restore --no-owner --exit-on-error -d "$PRIV_BASE/${orig_db}_$r" "$dir/B.dump" 2>"$dir/pg_restore.err"; then
          RESULTS+=("$store: FAIL  pg_restore into ${orig_db}_$r failed: $(head -3 "$dir/pg_restore.err" | tr '\n' ' ')")
          FAILURES=$((FAILURES + 1)); return 0
        fi
      done
      r1_url=$PRIV_BASE/${orig_db}_r1; r2_url=$PRIV_BASE/${orig_db}_r2
      # Nothing has opened the restored databases yet: their events must look like they come
      # from the future of this cluster, or this is not the case under test.
      local future range
      for r in r1 r2; do
        future=$(psql "$PRIV_BASE/${orig_db}_$r" -Atc \
          'SELECT count(*) FROM case_events WHERE xact_id > pg_current_xact_id()')
        range=$(psql "$PRIV_BASE/${orig_db}_$r" -AtF ' ' -c \
          'SELECT count(*), min(xact_id), max(xact_id), pg_current_xact_id() FROM case_events')
        [ "$r" = r2 ] || echo "  restored into the private cluster: events, min and max xact_id, cluster counter: $range; $future from the future"
        [ "$future" -gt 0 ] ||
          problems+=("no restored event of ${orig_db}_$r has an xact_id past the private cluster's counter: not a restore into a younger cluster")
      done ;;
  esac

  local events cases
  case "$store" in
    sqlite)
      events=$(sqlite3 -readonly "$dir/B.db" 'SELECT COUNT(*) FROM case_events')
      cases=$(sqlite3 -readonly "$dir/B.db" 'SELECT COUNT(DISTINCT aggregate_id) FROM case_events') ;;
    postgres)
      events=$(psql "$r2_url" -Atc 'SELECT COUNT(*) FROM case_events')
      cases=$(psql "$r2_url" -Atc 'SELECT COUNT(DISTINCT aggregate_id) FROM case_events') ;;
  esac
  echo "  backup holds $events events of $cases cases"
  [ "$events" -ge "$acked_before" ] ||
    problems+=("the backup holds $events events, fewer than the $acked_before writes acknowledged before it began")

  local verify_line='not run'
  if ptl_on "$r1_url" "$dir/r1" verify >"$dir/verify.out" 2>&1; then
    verify_line=$(tail -1 "$dir/verify.out")
  else
    verify_line="FAILED: $(tail -1 "$dir/verify.out")"
    problems+=("ptl verify on the restored store: $(tail -3 "$dir/verify.out" | tr '\n' ' ')")
  fi
  echo "  R1 ptl verify: $verify_line"
  if [ "$store" = postgres ]; then
    renumbered=$(grep -m1 'renumbered the xact_id' "$dir/verify.out" | sed 's/^.*renumbered the xact_id of \([0-9]*\) rows.*$/\1/' || true)
    if [ -n "$renumbered" ]; then
      echo "  R1 ptl verify renumbered the xact_id of $renumbered restored events"
    else
      problems+=("R1's first ptl command did not log the renumbering of the restored xact_ids")
    fi
  fi
  if ptl_on "$r1_url" "$dir/r1" projections rebuild >"$dir/rebuild.out" 2>&1; then
    echo "  R1 ptl projections rebuild: $(tail -1 "$dir/rebuild.out")"
  else
    problems+=("ptl projections rebuild on R1 failed: $(tail -1 "$dir/rebuild.out")")
  fi

  start_server "$r1_url" "$dir/r1" "$dir/server-r1.log"
  stats "$sup" >"$dir/stats.r1"; queue "$sup" >"$dir/queue.r1"
  stop_server
  start_server "$r2_url" "$dir/r2" "$dir/server-r2.log"
  if [ "$store" = postgres ]; then
    grep -q 'renumbered the xact_id' "$dir/server-r2.log" ||
      problems+=("ptl serve on R2 did not log the renumbering of the restored xact_ids")
    local left
    left=$(psql "$r2_url" -Atc 'SELECT count(*) FROM case_events WHERE xact_id > pg_current_xact_id()')
    [ "$left" = 0 ] || problems+=("$left events of R2 still have an xact_id past the cluster's counter after ptl serve started")
  fi
  stats "$sup" >"$dir/stats.r2"; queue "$sup" >"$dir/queue.r2"
  if "$BENCH" check --base "$BASE" --token "$aud" --ack-log "$dir/acks.before.tsv" >"$dir/check.out" 2>&1; then
    echo "  $(tail -1 "$dir/check.out")"
  else
    cat "$dir/check.out"
    problems+=("writes acknowledged before the backup are missing from it")
  fi
  stop_server

  local items applications
  items=$(jq length "$dir/queue.r1")
  applications=$(jq .totals.applications "$dir/stats.r1")
  echo "  R1 (rebuilt): $applications applications, $items work queue items; R2 (as copied): $(jq .totals.applications "$dir/stats.r2") applications, $(jq length "$dir/queue.r2") items"
  if ! diff -u "$dir/stats.r2" "$dir/stats.r1" >"$dir/stats.diff"; then
    head -20 "$dir/stats.diff"; problems+=("GET /api/v1/stats differs between R1 and R2")
  fi
  if ! diff -u "$dir/queue.r2" "$dir/queue.r1" >"$dir/queue.diff"; then
    head -20 "$dir/queue.diff"; problems+=("the work queue differs between R1 and R2")
  fi
  [ "$applications" = "$cases" ] ||
    problems+=("the statistics count $applications applications for $cases cases in the backup")
  [ "$items" -eq "$cases" ] || problems+=("the work queue has $items items for $cases cases in the backup")

  if [ "$store" = postgres ]; then stop_private_pg; fi

  if [ ${#problems[@]} -eq 0 ]; then
    local where=''
    [ "$store" = sqlite ] || where="; restored into a younger private cluster, xact_id of $renumbered events renumbered at the first start"
    RESULTS+=("$store: PASS  backup under load ($acked_before writes acknowledged before it, all in it); $events events / $cases cases$where; R1 verify: $verify_line; stats and work queue ($items items) equal after rebuild (R1) and as copied (R2)")
  else
    RESULTS+=("$store: FAIL  $(printf '%s; ' "${problems[@]}")")
    FAILURES=$((FAILURES + 1))
  fi
}

echo "backup and restore ($WORK); server $BASE; ptl $PTL"
for s in $STORES; do scenario "$s"; done

echo
echo "== summary"
for r in "${RESULTS[@]}"; do echo "$r"; done
if [ "$FAILURES" -ne 0 ]; then exit 1; fi
