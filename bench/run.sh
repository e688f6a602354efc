#!/usr/bin/env bash
# The benchmark: signpost beside its ceiling, in one run, on this machine. See bench/README.md.
#
#   bench/run.sh                   # everything: build, seed, load, table (about 3½ minutes once built)
#   BENCH_DURATION=5 bench/run.sh  # shorter load per operation (seconds; default 10)
#
# Writes bench/results/table.md (the table and the target checks) and bench/results/results.tsv.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/bench}
BIN=$CARGO_TARGET_DIR/release
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
THREADS=2
CONNECTIONS=64
RESULTS=$BENCH/results
CACHE=$CARGO_TARGET_DIR/data
mkdir -p "$RESULTS" "$CACHE"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/signpost-bench.XXXXXX")
SERVER_PID=
CEILING_PID=
DEFAULTS_PID=

cleanup() {
    for pid in $SERVER_PID $CEILING_PID $DEFAULTS_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in $SERVER_PID $CEILING_PID $DEFAULTS_PID; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

# --- tools ---------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
    log "installing wrk (Debian package)"
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get install -y wrk >/dev/null 2>&1 || { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi

# --- build ---------------------------------------------------------------------------------
log "building signpost, the seeder and the ceiling (release, target dir $CARGO_TARGET_DIR)"
(cd "$ROOT" && cargo build --release --quiet --bin signpost)
(cd "$BENCH/seed" && cargo build --release --quiet)
(cd "$BENCH/ceiling" && cargo build --release --quiet --locked)

# --- data ----------------------------------------------------------------------------------
log "seeding a fresh database: 100 accounts, 100,000 messages"
"$BIN/signpost-bench-seed" "$WORK/signpost.db" 100 100000 "$WORK/data"
cp "$WORK/signpost.db" "$WORK/ceiling.db"
cp "$WORK/signpost.db" "$WORK/ceiling-defaults.db"

MILLION=$CACHE/million.db
if [ ! -f "$MILLION" ]; then
    log "building the 1,000,000-message database once (cached in $CACHE)"
    rm -f "$MILLION" "$MILLION-wal" "$MILLION-shm" "$MILLION.key"
    "$BIN/signpost-bench-seed" "$MILLION" 100 1000000
fi
log "start-up time on 1,000,000 messages (median of 3)"
read -r _ STARTUP_MS STARTUP_REPORTED _ < <(python3 "$BENCH/startup.py" "$BIN/signpost" "$MILLION" 3)
log "start-up: ${STARTUP_MS} ms to the first answer (${STARTUP_REPORTED} ms reported)"

# --- servers -------------------------------------------------------------------------------
wait_port() { # file, pattern -> port
    for _ in $(seq 1 300); do
        local port
        port=$(sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -m1 -oE "$2" | grep -oE '[0-9]+$' || true)
        if [ -n "$port" ]; then echo "$port"; return; fi
        sleep 0.05
    done
    echo "server did not start; its log:" >&2; cat "$1" >&2; exit 1
}

SERVER_LOG=$WORK/signpost.log
# Production defaults, except the rate limit: on, but high enough not to trip.
"$BIN/signpost" --database "$WORK/signpost.db" --bind 127.0.0.1:0 --rate-limit 4000000000 >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
"$BIN/signpost-bench-ceiling" "$WORK/ceiling.db" 127.0.0.1:0 >"$WORK/ceiling.log" 2>&1 &
CEILING_PID=$!
# The same program sized as a minimal program is by default (pool of 8, actix's default blocking
# threads): shown for reference beside the point read and the insert.
"$BIN/signpost-bench-ceiling" "$WORK/ceiling-defaults.db" 127.0.0.1:0 defaults >"$WORK/ceiling-defaults.log" 2>&1 &
DEFAULTS_PID=$!
SP=http://127.0.0.1:$(wait_port "$SERVER_LOG" 'listening on http://127\.0\.0\.1:[0-9]+')
CE=http://127.0.0.1:$(wait_port "$WORK/ceiling.log" 'listening on http://127\.0\.0\.1:[0-9]+')
CD=http://127.0.0.1:$(wait_port "$WORK/ceiling-defaults.log" 'listening on http://127\.0\.0\.1:[0-9]+')
log "signpost at $SP (pid $SERVER_PID), ceiling at $CE (pid $CEILING_PID), default-sized ceiling at $CD (pid $DEFAULTS_PID)"

# --- sanity: each request shape gets the answer it is meant to get ------------------------
IFS=$'\t' read -r ACC TOK FROM < "$WORK/data/accounts.tsv"
IFS=$'\t' read -r _ SID ETAG < "$WORK/data/messages.tsv"
expect() { # status, curl args...
    local want=$1; shift
    local got; got=$(curl -s -o /dev/null -w '%{http_code}' "$@")
    [ "$got" = "$want" ] || { echo "sanity check failed: expected $want, got $got for: $*" >&2; exit 1; }
}
MSG=/2010-04-01/Accounts/$ACC/Messages/$SID.json
expect 200 -u "$ACC:$TOK" "$SP$MSG"
expect 401 "$SP$MSG"
expect 304 -u "$ACC:$TOK" -H "If-None-Match: $ETAG" "$SP$MSG"
expect 200 -u "$ACC:$TOK" "$SP$(cat "$WORK/data/page1.txt")"
DEEP_START=$(curl -s -u "$ACC:$TOK" "$SP$(cat "$WORK/data/deep.txt")" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["start"], len(d["messages"]))')
[ "$DEEP_START" = "50000 50" ] || { echo "deep page is not 50 items at offset 50,000: $DEEP_START" >&2; exit 1; }
curl -s -D - -o /dev/null -u "$ACC:$TOK" "$SP$MSG" | grep -qi '^link:.*rel="self"' || { echo "no Link header" >&2; exit 1; }
expect 200 "$SP/"
expect 200 "$CE/static"
expect 200 "$CE/point/$ACC/$SID"
expect 200 "$CE/list/$ACC"
expect 200 "$CD/point/$ACC/$SID"

# --- load ----------------------------------------------------------------------------------
RESULTS_TSV=$WORK/results.tsv
: >"$RESULTS_TSV"

tally() { # log lines from $1+1 to the end -> "200:n 304:m", and the count of unexpected ones
    local from=$1 ok=$2
    tail -n +"$((from + 1))" "$SERVER_LOG" | sed 's/\x1b\[[0-9;]*m//g' | { grep -oE ' status=[0-9]{3}' || true; } | cut -d= -f2 | sort | uniq -c |
        awk -v ok="$ok" '{ s = s (s ? " " : "") $2 ":" $1; if ($2 !~ ok) bad += $1 } END { print (s ? s : "-") "\t" bad + 0 }'
}

run() { # name, mode, base url, duration
    local name=$1 mode=$2 url=$3 secs=$4
    local before; before=$(wc -l <"$SERVER_LOG")
    local out
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout 5s -s "$BENCH/lua/bench.lua" "$url" -- "$mode" "$WORK/data" | grep '^RESULT')
    sleep 0.3 # the log writer is a background thread: let it write out the last lines
    # shellcheck disable=SC2086
    set -- $out
    local rps=$2 p50=$3 p99=$4 socket=$5 status=$6 requests=$7 bpr=$8
    local statuses=- errors=$((socket + status))
    if [ "$url" = "$SP" ]; then
        local ok='^2'
        [ "$mode" = get304 ] && ok='^304$'
        local t; t=$(tally "$before" "$ok")
        statuses=${t%%$'\t'*}
        errors=$((socket + ${t##*$'\t'}))
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rps" "$p50" "$p99" "$errors" "$requests" "$bpr" "$statuses" >>"$RESULTS_TSV"
    log "$(printf '%-40s %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d' "$name" "$rps" "$p50" "$p99" "$errors")"
}

warm() { wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$BENCH/lua/bench.lua" "$1" -- "$2" "$WORK/data" >/dev/null; }

log "warming up (${WARMUP} s each)"
warm "$SP" get
warm "$CE" ceil_point
warm "$CD" ceil_point
log "load: wrk, $THREADS threads, $CONNECTIONS connections, ${DURATION} s per operation"
# Each signpost operation runs right after its ceiling, so that both see the same machine.
run "ceiling: bare JSON" ceil_static "$CE" "$DURATION"
run "GET /" root "$SP" "$DURATION"
run "ceiling: point read" ceil_point "$CE" "$DURATION"
run "GET one message" get "$SP" "$DURATION"
# The 304 path is judged against the 200 path: it runs right after it, on the same machine state.
run "GET one message, If-None-Match (304)" get304 "$SP" "$DURATION"
run "ceiling (default sizing): point read" ceil_point "$CD" "$DURATION"
run "ceiling: list 50" ceil_list "$CE" "$DURATION"
run "GET page of 50" list "$SP" "$DURATION"
run "GET deep page (offset 50,000)" deep "$SP" "$DURATION"
run "ceiling: insert per request" ceil_insert "$CE" "$DURATION"
run "POST create message" create "$SP" "$DURATION"
run "ceiling (default sizing): insert per request" ceil_insert "$CD" "$DURATION"

# The dispatcher moves every new message through sending, sent, delivered: let it catch up
# before the mixed run, so that run measures the mix and not the previous run's backlog.
backlog() {
    python3 - "$WORK/signpost.db" <<'EOF'
import sqlite3, sys
c = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
print(c.execute("SELECT count(*) FROM messages WHERE next_step_at IS NOT NULL").fetchone()[0])
EOF
}
started=$(date +%s)
while [ "$(backlog)" -gt 0 ] && [ $(($(date +%s) - started)) -lt 120 ]; do sleep 1; done
log "dispatcher backlog after the creates: $(backlog) messages left after $(($(date +%s) - started)) s"
run "ceiling: 90/10 mix" ceil_mixed "$CE" "$DURATION"
run "mixed 90% GET one / 10% POST" mixed "$SP" "$DURATION"

RSS_KIB=$(awk '/^VmHWM/ { print $2 }' "/proc/$SERVER_PID/status")
log "signpost peak RSS: $((RSS_KIB / 1024)) MiB"

# --- report --------------------------------------------------------------------------------
cp "$RESULTS_TSV" "$RESULTS/results.tsv"
tail -n 50 "$SERVER_LOG" >"$RESULTS/signpost-log-tail.txt"
# The run fails (set -e, pipefail) only when some answer was wrong (an error status or a socket
# error), never for a missed speed target: those are figures to read, on shared, noisy machines.
{
    echo "signpost benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, wrk $THREADS threads / $CONNECTIONS connections / ${DURATION} s per operation"
    echo
    python3 "$BENCH/report.py" "$RESULTS_TSV" "$RSS_KIB" "$STARTUP_MS" "$STARTUP_REPORTED"
} | tee "$RESULTS/table.md"
