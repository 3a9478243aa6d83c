#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang into build-fuzz/ and
# runs each for SECONDS (default 60) on a scratch copy of its seed corpus, so
# that the inputs a run discovers do not end up in the tree. Exits non-zero
# when a target found a crash, leak, timeout or out-of-memory input, after
# printing the reproducer and the start of the report.
#
#   scripts/fuzz.sh [SECONDS]
#   FUZZ_BUILD   build directory (default build-fuzz)
#   FUZZ_JOBS    targets fuzzed at the same time (default: number of CPUs)
#
# Reproducers kept under tests/fuzz/crashes/<target>/ run first in every run,
# so a crash that was fixed stays fixed.
set -euo pipefail

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$here/build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}
targets=(fuzz_http_request fuzz_frames fuzz_wamp fuzz_config)

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$here/tests/fuzz" -B "$build" -DCMAKE_CXX_COMPILER=clang++
fi
cmake --build "$build" -j "$(nproc)"

# llvm-symbolizer lives next to clang (Debian: /usr/lib/llvm-14/bin); without
# it the stacks in a report are bare addresses.
PATH="$(dirname "$(readlink -f "$(command -v clang++)")"):$PATH"
export UBSAN_OPTIONS=print_stacktrace=1

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Runs one target; its log and exit status land in the scratch directory.
fuzz_target() {
  local target=$1
  local corpus=$scratch/corpus/$target
  # Outside the scratch directory: the reproducer must outlive this script.
  local artifacts=$build/artifacts/$target
  mkdir -p "$corpus"
  cp "$here/tests/fuzz/corpus/$target/"* "$corpus/"
  rm -rf "$artifacts"
  mkdir -p "$artifacts"

  local args=(-max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
              -artifact_prefix="$artifacts/")
  if [ -f "$here/tests/fuzz/$target.dict" ]; then args+=(-dict="$here/tests/fuzz/$target.dict"); fi
  # New inputs go to the first directory only; the others are just read.
  local dirs=("$corpus")
  if [ -d "$here/tests/fuzz/crashes/$target" ]; then dirs+=("$here/tests/fuzz/crashes/$target"); fi

  local status=0
  "$build/$target" "${args[@]}" "${dirs[@]}" >"$artifacts/fuzz.log" 2>&1 || status=$?
  echo "$status" >"$scratch/$target.status"
}

echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $jobs at a time"
for target in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_target "$target" &
done
wait

# The value of "name: value" in libFuzzer's final statistics.
final_stat() {
  sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

failed=0
for target in "${targets[@]}"; do
  log=$build/artifacts/$target/fuzz.log
  status=$(cat "$scratch/$target.status")
  # The last status line ("#N DONE cov: ... ft: ... corp: ...") has the coverage.
  coverage=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -n 1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true)
  printf '%-18s %s runs, %s exec/s, %s, peak RSS %s MB\n' "$target" \
    "$(final_stat number_of_executed_units "$log")" "$(final_stat average_exec_per_sec "$log")" \
    "${coverage:-no coverage line}" "$(final_stat peak_rss_mb "$log")"
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "FAILED: $target exited with status $status; full log: $log"
    sed -n 's/.*Test unit written to \(.*\)$/  reproducer: \1/p' "$log"
    echo "  reproduce: $build/$target <reproducer>"
    # From the first line of the report on; the fuzzer's progress lines before it say nothing.
    first=$(grep -n -m 1 -E '==[0-9]+== ?ERROR|runtime error:|ERROR: libFuzzer|parse_config threw' "$log" |
            cut -d: -f1 || true)
    if [ -n "$first" ]; then tail -n +"$first" "$log" | head -n 40; else tail -n 20 "$log"; fi | sed 's/^/  | /'
  fi
done
exit "$failed"
