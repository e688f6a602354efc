#!/usr/bin/env bash
# The browser walk (issue 5) against a real signpost server.
#
#   tests/browser/run.sh path/to/signpost [OUT_DIR]
#
# Starts the given binary on a free loopback port with a throw-away database (the start-up
# log line names the port), installs playwright-core from package-lock.json (`npm ci`), runs
# browser_walk.mjs with Debian's chromium (/usr/bin/chromium, or $CHROMIUM), stops the
# server, and exits non-zero if any check failed. Screenshots go to OUT_DIR (default
# tests/browser/screenshots, git-ignored); their paths are printed. Builds nothing; every
# step is bounded by `timeout`. The last line of the walk is `browser: N passed, M failed`.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 path/to/signpost [OUT_DIR]" >&2
  exit 2
fi
BIN=$(realpath "$1")
[[ -x "$BIN" ]] || { echo "run.sh: $BIN is not an executable" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$(realpath -m "${2:-$HERE/screenshots}")
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[[ -x "$CHROMIUM" ]] || { echo "run.sh: no chromium at $CHROMIUM (apt-get install -y chromium)" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/signpost-browser.XXXXXX")
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP_BROWSER_WORK:-}" != "1" ]]; then rm -rf "$WORK"; else echo "run.sh: kept $WORK"; fi
}
trap cleanup EXIT

# Loopback only: no proxy may see these requests.
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost

(cd "$HERE" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) || { echo "run.sh: npm ci failed" >&2; exit 1; }

"$BIN" --bind 127.0.0.1:0 --database "$WORK/signpost.db" --log info \
  --rate-limit 0 --dispatch-interval-ms 50 >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

# The start-up log line names the port: "signpost listening on http://127.0.0.1:PORT ...".
BASE=""
for _ in $(seq 1 300); do   # 30 s
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "run.sh: the server exited during start-up:" >&2; cat "$WORK/server.log" >&2; exit 1
  fi
  BASE=$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$WORK/server.log" | head -n1 | sed 's/^listening on //' || true)
  [[ -n "$BASE" ]] && break
  sleep 0.1
done
[[ -n "$BASE" ]] || { echo "run.sh: no start-up line in 30 s:" >&2; cat "$WORK/server.log" >&2; exit 1; }
echo "run.sh: signpost at $BASE; chromium: $("$CHROMIUM" --version 2>/dev/null | head -n1)"

status=0
timeout 300 node "$HERE/browser_walk.mjs" "$BASE" "$OUT" || status=$?
if [[ $status -ne 0 ]]; then
  echo "run.sh: the walk failed (exit $status); server log (errors and 5xx):"
  grep -E 'ERROR|WARN|status=5[0-9][0-9]' "$WORK/server.log" | tail -n 20 || true
fi
exit $status
