#!/usr/bin/env bash
# Twilio compatibility checks against a real signpost server.
#
#   tests/compat/run.sh path/to/signpost
#
# Starts the given binary on a free loopback port with a throw-away database, waits until
# GET / answers 200, then runs
#   1. twilio_check.py    - the real `twilio` package (PyPI) driving the server, and
#   2. contract_check.py  - Schemathesis with Twilio's published OpenAPI subset
#                           (../shared/twilio-api-v2010-messaging.json beside the repo),
#   3. openapi_check.py   - Schemathesis with signpost's own OpenAPI document (service-desc):
#                           all checks, positive and negative data, stateful links,
#   4. the Ketting HAL walk (tests/hal) and the README tour (docs/tour.sh),
#   5. docs_examples.py   - every curl example in docs/*.md, the docs' links, the relation profile,
# stops the server and exits non-zero if anything failed. Builds nothing.
#
# Python: $PYTHON if set, else `python3`; it must have tests/compat/requirements.txt
# installed (.ci/run makes a venv for it).
# Environment: SIGNPOST_TWILIO_SCHEMA overrides the schema path; SIGNPOST_ST_MAX_EXAMPLES
# (default 25) bounds Schemathesis cases per operation; SIGNPOST_ST_VERBOSE=1 lists the
# requests the server refused during the contract run.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 path/to/signpost" >&2
  exit 2
fi
BIN=$(realpath "$1")
[[ -x "$BIN" ]] || { echo "run.sh: $BIN is not an executable" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(git -C "$HERE" rev-parse --show-toplevel 2>/dev/null || (cd "$HERE/../.." && pwd))
SCHEMA=${SIGNPOST_TWILIO_SCHEMA:-$ROOT/../shared/twilio-api-v2010-messaging.json}
[[ -f "$SCHEMA" ]] || { echo "run.sh: Twilio schema not found at $SCHEMA" >&2; exit 2; }
PY=${PYTHON:-python3}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/signpost-compat.XXXXXX")
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP_COMPAT_WORK:-}" != "1" ]]; then rm -rf "$WORK"; else echo "run.sh: kept $WORK"; fi
}
trap cleanup EXIT

# Loopback only: no proxy from the environment may see these requests.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
unset TWILIO_EDGE TWILIO_REGION TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN || true

"$BIN" --bind 127.0.0.1:0 --database "$WORK/signpost.db" --log info \
  --rate-limit 0 --dispatch-interval-ms 50 --callback-allow 127.0.0.1 \
  >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

# The start-up log line names the port: "signpost listening on http://127.0.0.1:PORT ...".
BASE=""
for _ in $(seq 1 300); do   # 30 s
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "run.sh: the server exited during start-up:" >&2; cat "$WORK/server.log" >&2; exit 1
  fi
  BASE=$(grep -o -m1 'listening on http://127\.0\.0\.1:[0-9]*' "$WORK/server.log" | sed 's/^listening on //' || true)
  [[ -n "$BASE" ]] && break
  sleep 0.1
done
[[ -n "$BASE" ]] || { echo "run.sh: no 'listening on' line within 30 s:" >&2; cat "$WORK/server.log" >&2; exit 1; }

# Ready when GET / answers 200 (bounded: 30 s).
if ! timeout 40 "$PY" - "$BASE" <<'EOF'
import sys, time, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
deadline = time.monotonic() + 30
while True:
    try:
        with opener.open(urllib.request.Request(sys.argv[1] + "/", headers={"Accept": "application/json"}), timeout=2) as r:
            if r.status == 200:
                sys.exit(0)
    except Exception:
        pass
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.1)
EOF
then
  echo "run.sh: $BASE/ did not answer 200 within 30 s" >&2; cat "$WORK/server.log" >&2; exit 1
fi
echo "run.sh: signpost ready at $BASE (database in $WORK)"

status=0
echo "=== twilio-python SDK against signpost ==="
timeout 300 "$PY" "$HERE/twilio_check.py" "$BASE" | tee "$WORK/twilio.out" || status=1
echo "=== Schemathesis: Twilio's schema ($SCHEMA) ==="
timeout 900 "$PY" "$HERE/contract_check.py" "$BASE" "$SCHEMA" "$WORK/schemathesis" | tee "$WORK/contract.out" || status=1
echo "=== Schemathesis: signpost's own OpenAPI document (service-desc), all checks ==="
timeout 1200 "$PY" "$HERE/openapi_check.py" "$BASE" "$WORK/openapi" | tee "$WORK/openapi.out" || status=1
echo "=== Ketting (generic HAL / HAL-FORMS client) walking from / ==="
if command -v npm >/dev/null 2>&1 && (cd "$ROOT/tests/hal" && timeout 300 npm ci --no-audit --no-fund >/dev/null 2>&1); then
  (cd "$ROOT/tests/hal" && BASE="$BASE" timeout 120 node --test ketting_walk.test.mjs) | tee "$WORK/ketting.out" || status=1
else
  echo "run.sh: could not install tests/hal (npm ci)"; status=1
fi
echo "=== README tour (docs/tour.sh) ==="
BASE="$BASE" timeout 120 bash "$ROOT/docs/tour.sh" >"$WORK/tour.out" 2>&1 && echo "tour: ok" || { echo "tour: FAILED"; tail -n 30 "$WORK/tour.out"; status=1; }
echo "=== documentation examples (docs/*.md curl blocks, links, relation profile) ==="
timeout 600 "$PY" "$HERE/docs_examples.py" "$BASE" | tee "$WORK/docs.out" || status=1

if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "run.sh: the server died during the checks" >&2; status=1
fi
if [[ $status -ne 0 ]]; then
  echo "--- server log (last 60 lines) ---"; tail -n 60 "$WORK/server.log" | sed 's/\x1b\[[0-9;]*m//g'
fi

# One closing line over both suites.
read -r p1 f1 < <(grep -E '^twilio-compat: [0-9]+ passed, [0-9]+ failed$' "$WORK/twilio.out" | tail -1 | awk '{print $2, $4}') || true
read -r p2 f2 < <(grep -E '^contract: [0-9]+ passed, [0-9]+ failed$' "$WORK/contract.out" | tail -1 | awk '{print $2, $4}') || true
read -r p3 f3 < <(grep -E '^openapi-contract: [0-9]+ passed, [0-9]+ failed$' "$WORK/openapi.out" | tail -1 | awk '{print $2, $4}') || true
read -r p4 f4 < <(grep -E '^docs-examples: [0-9]+ passed, [0-9]+ failed$' "$WORK/docs.out" | tail -1 | awk '{print $2, $4}') || true
if [[ -z "${p1:-}" || -z "${p2:-}" || -z "${p3:-}" || -z "${p4:-}" ]]; then status=1; fi
total_p=$(( ${p1:-0} + ${p2:-0} + ${p3:-0} + ${p4:-0} ))
total_f=$(( ${f1:-1} + ${f2:-1} + ${f3:-1} + ${f4:-1} ))
if [[ $status -ne 0 && $total_f -eq 0 ]]; then total_f=1; fi
echo "compat: $total_p passed, $total_f failed"
exit $status
