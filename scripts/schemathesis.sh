#!/usr/bin/env bash
# Schemathesis (property-based API testing; `pip install schemathesis`, 4.x) against the real
# `ptl` server and its own `GET /openapi.json`.
#
#   scripts/schemathesis.sh [--store sqlite|postgres] [--max-examples 200] [--workers 2] [--seed N]
#
# Starts `ptl serve` on a fresh store (SQLite in a temporary data directory, or with
# `--store postgres` a fresh database on PTL_TEST_PG_URL, default
# postgres://postgres@127.0.0.1:5432/test, dropped at the end) on a free port, fills it with
# `ptl demo --scenario cherkasy-today` (24 cases in the districts of UA71, over the last 90 days), mints tokens and runs
# `schemathesis run <base>/openapi.json` twice: as a caseworker of UA71 (every operation) and as
# an auditor of UA71 (the GET operations), phases examples, coverage and fuzzing, with the checks
# not_a_server_error, status_code_conformance, content_type_conformance and
# response_schema_conformance.
#
# Generated data rarely names a case that exists or carries its current ETag, so a hook (written
# to the work directory, see `ptl_hooks.py` below) steers otherwise well-formed requests: a demo
# case id instead of a random UUID, a known deadline name, an action whose body schema fits the
# generated body, the token of another role (supervisor, social worker, decision officer of
# UA-NSS), `If-Match` = the case's current ETag, today as the business date, a unique
# `Idempotency-Key`. Malformed values are sent as generated.
#
# Exits non-zero when schemathesis reports a failure, when the server log shows a panic, or when
# the server is no longer alive at the end. `PTL=...` chooses the binary (default
# target/release/ptl, built if missing), `SCHEMATHESIS=...` the command; `KEEP=1` keeps the work
# directory (server log, JUnit reports).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PTL=${PTL:-$ROOT/target/release/ptl}
ST=${SCHEMATHESIS:-schemathesis}
STORE=sqlite
MAX_EXAMPLES=200
WORKERS=2
SEED=
while [ $# -gt 0 ]; do
  case "$1" in
    --store) STORE=$2; shift 2 ;;
    --max-examples) MAX_EXAMPLES=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 64 ;;
  esac
done

if ! command -v "$ST" >/dev/null 2>&1; then
  echo "schemathesis not found: pip install schemathesis (or set SCHEMATHESIS=...)" >&2
  exit 69
fi
if [ ! -x "$PTL" ]; then
  (cd "$ROOT" && cargo build --release -p ptl-api)
fi

WORK=$(mktemp -d /tmp/ptl-schemathesis.XXXXXX)
DATA=$WORK/data
PG_DB=
PG_ADMIN=${PTL_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}
case "$STORE" in
  sqlite) URL=sqlite://$WORK/ptl.db ;;
  postgres)
    PG_DB=ptl_st_$(date +%s)_$$
    psql "$PG_ADMIN" -qc "CREATE DATABASE $PG_DB" >/dev/null
    URL=${PG_ADMIN%/*}/$PG_DB ;;
  *) echo "--store sqlite|postgres" >&2; exit 64 ;;
esac
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
BASE=http://127.0.0.1:$PORT
SERVER_PID=

cleanup() {
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  if [ -n "$PG_DB" ]; then psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true; fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

ptl() { "$PTL" --database-url "$URL" --data-dir "$DATA" "$@"; }

echo "$("$ST" --version); store $STORE; ptl $PTL; work $WORK"
ptl demo --scenario cherkasy-today 2>&1 | grep -v '^created key file' || true
RUST_LOG=warn "$PTL" --database-url "$URL" --data-dir "$DATA" serve --listen "127.0.0.1:$PORT" \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 300); do
  if curl -fsS "$BASE/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "server exited; log:" >&2; tail -20 "$WORK/server.log" >&2; exit 1; fi
  sleep 0.1
done
curl -fsS "$BASE/healthz" >/dev/null

CW=$(ptl token --sub cw-st --role caseworker --office UA71 --ttl 2h)
AUD=$(ptl token --sub au-st --role auditor --office UA71 --ttl 2h)
SUP=$(ptl token --sub su-st --role supervisor --office UA71 --ttl 2h)
SW=$(ptl token --sub sw-st --role social_worker --office UA71 --ttl 2h)
NSS=$(ptl token --sub do-st --role decision_officer --office UA-NSS --ttl 2h)

# The demo cases and their deadline names, and the tokens, for the hook.
curl -fsS -H "Authorization: Bearer $CW" "$BASE/api/v1/cases?limit=200" >"$WORK/cases.json"
python3 - "$WORK" "$BASE" "$CW" "$SUP" "$SW" "$NSS" <<'PY'
import json, sys, urllib.request
work, base, cw, *others = sys.argv[1:]
ids = [c["case_id"] for c in json.load(open(f"{work}/cases.json"))["items"]]
assert ids, "the demo left no cases"
names = set()
for i in ids:
    req = urllib.request.Request(f"{base}/api/v1/cases/{i}", headers={"Authorization": f"Bearer {cw}"})
    names.update(d["name"] for d in json.load(urllib.request.urlopen(req))["deadlines"])
with open(f"{work}/hook-data.json", "w") as f:
    json.dump({"case_ids": ids, "deadline_names": sorted(names), "main_token": cw,
               "role_tokens": [cw, *others]}, f)
print(f"demo: {len(ids)} cases, {len(names)} deadline names")
PY

cat >"$WORK/ptl_hooks.py" <<'PY'
"""Schemathesis hooks for the PTL API (written by scripts/schemathesis.sh).

Before each call, for a request that is otherwise well-formed, and deterministically from the
generated case (so a seed reproduces a run):
- a generated case id becomes a demo case id, a deadline name a known one (p = 0.8);
- a well-formed `Idempotency-Key` becomes unique to the request (p = 0.9): generated keys repeat
  ("0", "a") across different requests, which is a 422 `idempotency_key_reused`;
- an action gets an action whose body schema fits the generated body (p = 0.8), the token of a
  role (caseworker, supervisor, social worker, decision officer; p = 0.75), a valid `If-Match` the
  case's current ETag, and a valid `occurred_on` today (p = 0.5);
- a registration gets today as `received_on` and a matching birth year (p = 0.5).
Malformed ids, `If-Match`, tokens and bodies are sent as generated.
"""

import datetime
import json
import os
import random
import re
import urllib.error
import urllib.request
import uuid

import schemathesis

BASE = os.environ["PTL_ST_BASE"]
with open(os.environ["PTL_ST_DATA"], encoding="utf-8") as f:
    DATA = json.load(f)
CASE_IDS = DATA["case_ids"]
DEADLINE_NAMES = DATA["deadline_names"]
MAIN_AUTH = "Bearer " + DATA["main_token"]
ROLE_AUTH = ["Bearer " + t for t in DATA["role_tokens"]]
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_bodies = None


def _get(path, auth):
    req = urllib.request.Request(BASE + path, headers={"Authorization": auth})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.headers, json.load(r)
    except (urllib.error.URLError, ValueError):
        return None, None


def action_bodies():
    """action -> (properties, required) of its body schema, from the served document."""
    global _bodies
    if _bodies is None:
        _, doc = _get("/openapi.json", MAIN_AUTH)
        op = doc["paths"]["/api/v1/cases/{id}/actions/{action}"]["post"]
        schemas = doc["components"]["schemas"]
        _bodies = {}
        for action, ref in op["x-action-bodies"].items():
            s = schemas[ref["$ref"].rsplit("/", 1)[1]]
            _bodies[action] = (set(s.get("properties", {})), set(s.get("required", [])))
    return _bodies


def _is_uuid(v):
    try:
        uuid.UUID(str(v))
        return True
    except ValueError:
        return False


def _today():
    # Europe/Kyiv is UTC+2 or UTC+3: UTC+2 is never a day ahead of it.
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=2)).date()


@schemathesis.hook
def before_call(context, case, kwargs):
    op = case.operation
    method = op.method.upper()
    path_params = dict(case.path_parameters or {})
    headers = dict(case.headers or {})
    rng = random.Random(repr((method, op.path, path_params, case.query, case.body, sorted(headers.items()))))
    if "id" in path_params and _is_uuid(path_params["id"]) and path_params["id"] not in CASE_IDS:
        if rng.random() < 0.8:
            path_params["id"] = rng.choice(CASE_IDS)
    if "name" in path_params and path_params["name"] not in DEADLINE_NAMES and rng.random() < 0.8:
        path_params["name"] = rng.choice(DEADLINE_NAMES)
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and re.fullmatch(r"[!-~]{1,200}", key) and rng.random() < 0.9:
        headers["Idempotency-Key"] = f"st-{uuid.UUID(int=rng.getrandbits(128))}"
    body = case.body if isinstance(case.body, dict) else None
    today = _today().isoformat()
    if method == "POST" and op.path == "/api/v1/cases" and body is not None:
        received = body.get("received_on")
        if isinstance(received, str) and DATE.match(received) and rng.random() < 0.5:
            body = dict(body, received_on=today)
            referral = body.get("referral")
            if isinstance(referral, dict) and isinstance(referral.get("referred_on"), str):
                body["referral"] = dict(referral, referred_on=today)
            person = body.get("person")
            applicant = body.get("applicant")
            if isinstance(person, dict) and isinstance(person.get("birth_date"), str) and DATE.match(person["birth_date"]):
                if person["birth_date"] > today:
                    person = body["person"] = dict(person, birth_date="1990-01-01")
                if isinstance(applicant, dict) and "birth_year" in applicant:
                    body["applicant"] = dict(applicant, birth_year=int(person["birth_date"][:4]))
            case.body = body
    if method == "POST" and op.path.endswith("/actions/{action}"):
        bodies = action_bodies()
        action = path_params.get("action")
        if body is not None and action in bodies:
            keys = set(body)
            fits = sorted(a for a, (props, req) in bodies.items() if req <= keys <= props)
            if fits and action not in fits and rng.random() < 0.8:
                path_params["action"] = rng.choice(fits)
            occurred = body.get("occurred_on")
            if isinstance(occurred, str) and DATE.match(occurred) and rng.random() < 0.5:
                case.body = dict(body, occurred_on=today)
        if headers.get("Authorization") == MAIN_AUTH and rng.random() < 0.75:
            headers["Authorization"] = rng.choice(ROLE_AUTH)
        if_match = headers.get("If-Match")
        case_id = path_params.get("id")
        if isinstance(if_match, str) and re.fullmatch(r'(W/)?"?[0-9]+"?', if_match) and case_id in CASE_IDS:
            h, _ = _get(f"/api/v1/cases/{case_id}", headers.get("Authorization", MAIN_AUTH))
            if h is not None and h.get("ETag"):
                headers["If-Match"] = h["ETag"]
    if headers != dict(case.headers or {}):
        case.headers = headers
    if path_params != dict(case.path_parameters or {}):
        case.path_parameters = path_params
PY

# The token goes in through the OpenAPI security scheme (not `-H`, which would override the
# hook's choice of role).
cat >"$WORK/schemathesis.toml" <<'TOML'
[auth.openapi.bearer]
bearer = "${PTL_ST_TOKEN}"
TOML

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
SEED_ARGS=()
if [ -n "$SEED" ]; then SEED_ARGS=(--seed "$SEED"); fi
status=0
run() { # <label> <token> [extra schemathesis arguments]
  local label=$1 token=$2
  shift 2
  echo
  echo "== schemathesis as $label"
  (cd "$WORK" && PYTHONPATH="$WORK" SCHEMATHESIS_HOOKS=ptl_hooks PTL_ST_BASE="$BASE" \
    PTL_ST_DATA="$WORK/hook-data.json" PTL_ST_TOKEN="$token" \
    "$ST" --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" \
      --checks "$CHECKS" \
      --max-examples "$MAX_EXAMPLES" \
      --workers "$WORKERS" \
      --phases examples,coverage,fuzzing \
      --request-timeout 30 \
      --suppress-health-check too_slow,filter_too_much \
      --report junit --report-dir "$WORK/report-$label" \
      --no-color "${SEED_ARGS[@]}" "$@") || status=1
}
run caseworker "$CW"
run auditor "$AUD" --include-method GET

alive=yes
if ! kill -0 "$SERVER_PID" 2>/dev/null || ! curl -fsS "$BASE/healthz" >/dev/null 2>&1; then
  alive=NO
  echo "the server is not alive after the run; log:" >&2
  tail -40 "$WORK/server.log" >&2
fi
sed 's/\x1b\[[0-9;]*m//g' "$WORK/server.log" >"$WORK/server.plain.log"
panics=$(grep -c 'panicked' "$WORK/server.plain.log" || true)
internal=$(grep -c 'ptl_api::http::error: internal error' "$WORK/server.plain.log" || true)
echo
echo "server alive: $alive; panics in the server log: $panics; internal errors logged: $internal"
if [ "$alive" != yes ] || [ "$panics" != 0 ] || [ "$internal" != 0 ]; then status=1; fi
if [ "$status" = 0 ]; then echo "schemathesis: PASS"; else echo "schemathesis: FAIL"; fi
exit "$status"
