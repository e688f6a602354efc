#!/usr/bin/env bash
# Coverage-guided fuzzing of signpost's request parsers (cargo-fuzz / libFuzzer), bounded in time.
#
#   bash fuzz/run.sh                  # every target, FUZZ_SECONDS (default 20) each
#   bash fuzz/run.sh json_body        # chosen targets
#   FUZZ_SANITIZER=address bash fuzz/run.sh   # with AddressSanitizer (slower build and runs)
#
# - Installs cargo-fuzz when missing (`cargo install --locked cargo-fuzz`).
# - Works on a stable toolchain: cargo-fuzz passes compiler flags that stable rustc accepts only
#   with RUSTC_BOOTSTRAP=1 (e.g. -Zsanitizer=address), which this script sets for its own builds.
# - Seeds come from fuzz/corpus/<target> (committed, kept small). What a run discovers goes to a
#   scratch corpus under fuzz/target/, so the committed corpus changes only when someone adds to it.
#   A crash leaves its input in fuzz/artifacts/<target>/ and the run fails.
# - Prints the executions of each target and `fuzz: N passed, M failed`; writes the figures to
#   fuzz/target/fuzz-summary.tsv (recorded into docs/reliability.md by the `fuzz_figures` test).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
SECONDS_PER_TARGET=${FUZZ_SECONDS:-20}
SANITIZER=${FUZZ_SANITIZER:-none}
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never
export CARGO_INCREMENTAL=0

# libfuzzer-sys compiles libFuzzer itself (C++).
if ! command -v c++ >/dev/null 2>&1; then
  echo "installing a C++ compiler for libFuzzer"
  timeout 600 apt-get update -qq && timeout 600 apt-get install -y -qq g++ || true
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  if ! timeout 900 cargo install --locked cargo-fuzz; then
    echo "fuzz: 0 passed, 1 failed (cargo-fuzz could not be installed)"
    exit 1
  fi
fi
cargo fuzz --version

FLAGS=(--release --debug-assertions --sanitizer "$SANITIZER" --codegen-units 16)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets < <(cargo fuzz list)
fi

started=$SECONDS
if ! timeout 1800 cargo fuzz build "${FLAGS[@]}"; then
  echo "fuzz: 0 passed, ${#targets[@]} failed (the fuzz targets did not build)"
  exit 1
fi
echo "built ${#targets[@]} targets in $((SECONDS - started)) s (sanitizer: $SANITIZER)"

BIN="target/$(rustc -vV | sed -n 's/^host: //p')/release"
OUT=target/fuzz-run
rm -rf "$OUT"
mkdir -p "$OUT"
SUMMARY=target/fuzz-summary.tsv
printf 'target\texecutions\tseconds\tcoverage\tresult\n' >"$SUMMARY.tmp"
passed=0
failed=0
for t in "${targets[@]}"; do
  scratch="$OUT/corpus/$t"
  mkdir -p "$scratch" "corpus/$t" "artifacts/$t"
  log="$OUT/$t.log"
  # The binary cargo-fuzz built, run directly (no rebuild between targets). libFuzzer writes new
  # inputs to the first corpus directory only: the scratch one.
  timeout $((SECONDS_PER_TARGET + 120)) "$BIN/$t" "$scratch" "corpus/$t" \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -print_final_stats=1 -artifact_prefix="artifacts/$t/" >"$log" 2>&1
  rc=$?
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n1)
  cov=$(sed -nE 's/.*(DONE|pulse|NEW|REDUCE|INITED) +cov: ([0-9]+).*/\2/p' "$log" | tail -n1)
  if [[ $rc -eq 0 && -n $runs ]]; then
    passed=$((passed + 1))
    result=passed
  else
    failed=$((failed + 1))
    result="failed (exit $rc)"
    echo "----- $t failed; the end of its log ($log):"
    tail -n 40 "$log"
    ls "artifacts/$t" 2>/dev/null | sed "s|^|crash input: fuzz/artifacts/$t/|"
  fi
  printf '%-22s %12s executions in %s s, coverage %s: %s\n' "$t" "${runs:-?}" "$SECONDS_PER_TARGET" "${cov:-?}" "$result"
  printf '%s\t%s\t%s\t%s\t%s\n' "$t" "${runs:-0}" "$SECONDS_PER_TARGET" "${cov:-0}" "$result" >>"$SUMMARY.tmp"
done
mv "$SUMMARY.tmp" "$SUMMARY"
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
