#!/usr/bin/env bash
# bench/run.sh: runs every kreuz-bench scenario against a fresh kreuz and
# writes BENCHMARKS.md. Builds kreuz and kreuz-bench (Release) first if needed.
#
#   bench/run.sh                      # what `make bench` runs
#   BENCH_DURATION=10 bench/run.sh    # longer measurements
#
# Environment: BUILD (build directory, default build), BENCH_DURATION (seconds
# measured per run, default 5), BENCH_WARMUP (default 1), BENCH_OUT (default
# BENCHMARKS.md in the repository root), BENCH_ONLY (space-separated run names
# to run only those, e.g. "echo-k16 rpc").
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
duration=${BENCH_DURATION:-5}
warmup=${BENCH_WARMUP:-1}
out=${BENCH_OUT:-$root/BENCHMARKS.md}
only=${BENCH_ONLY:-}
for value in "$duration" "$warmup"; do
  if ! [[ "$value" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "bench/run.sh: BENCH_DURATION and BENCH_WARMUP must be numbers of seconds" >&2
    exit 1
  fi
done
# Each kreuz-bench stops by itself; this is only a backstop.
run_limit=$(awk -v d="$duration" -v w="$warmup" 'BEGIN { printf "%d", d + w + 60 }')

# name | scenario and its arguments. Sizes fit a 2-core machine on which the
# load generator and the server share the cores.
runs=(
  "echo-k16|echo -n 16 -k 16 -s 32"
  "echo-k1|echo -n 16 -k 1 -s 32"
  "rpc|rpc -n 16 -k 16 -s 32"
  "fanout-closed|fanout -n 100 -w 16 -s 32"
  "fanout-open|fanout -n 100 -r 1000 -s 32"
  "chat|chat -n 20 -k 4 -s 32"
  "idle|idle -n 2000"
  "churn|churn -c 8"
)

# ---- build
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release
fi
if ! cmake --build "$build" -j "$(nproc)" --target kreuz kreuz-bench >"$build/bench-build.log" 2>&1; then
  tail -n 30 "$build/bench-build.log" >&2
  echo "bench/run.sh: the build failed (is add_subdirectory(bench) in CMakeLists.txt?)" >&2
  exit 1
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
if [ "$build_type" != "Release" ]; then
  echo "bench/run.sh: warning: $build is a '$build_type' build, not Release" >&2
fi
kreuz="$build/kreuz"
bench="$build/kreuz-bench"

# ---- environment
# The idle scenario holds 2000 sockets on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 2100 ]; then
  echo "bench/run.sh: warning: the open-file limit is $(ulimit -n); the idle run needs about 2100" >&2
fi

work=$(mktemp -d)
server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap 'stop_server; rm -rf "$work"' EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts a fresh kreuz (so that every run's RSS figures start from the same
# state) and waits until it accepts connections.
start_server() {
  port=$(free_port)
  server_cmd="kreuz --port $port --echo-path /echo --log-level warn"
  "$kreuz" --port "$port" --echo-path /echo --log-level warn >"$work/kreuz-$1.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "bench/run.sh: kreuz did not start on port $port:" >&2
  cat "$work/kreuz-$1.log" >&2
  return 1
}

# ---- machine
{
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "nproc=$(nproc)"
  echo "cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
  echo "kernel=$(uname -sr)"
  echo "memory=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "load=$(cut -d ' ' -f 1-3 /proc/loadavg)"
  echo "commit=$(GIT_OPTIONAL_LOCKS=0 git -C "$root" describe --always --dirty 2>/dev/null || echo unknown)"
  cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
  echo "compiler=$("${cxx:-c++}" --version 2>/dev/null | head -n 1)"
  echo "build_type=$build_type"
  echo "duration=$duration"
  echo "warmup=$warmup"
} >"$work/meta.txt"

# ---- runs
failed=0
: >"$work/results.jsonl"
: >"$work/commands.txt"
for entry in "${runs[@]}"; do
  name=${entry%%|*}
  args=${entry#*|}
  if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then continue; fi
  echo "== $name: kreuz-bench $args"
  if ! start_server "$name"; then
    failed=1
    echo "{\"scenario\":\"${args%% *}\",\"label\":\"$name\",\"ok\":false,\"error\":\"kreuz did not start\"}" >>"$work/results.jsonl"
    stop_server
    continue
  fi
  # shellcheck disable=SC2086 # args is a word list on purpose
  set -- $args
  cmd=(kreuz-bench "$@" -p "$port" --server-pid "$server_pid" --warmup "$warmup" -d "$duration" --label "$name")
  printf '%s\t%s\t%s\n' "$name" "$server_cmd" "${cmd[*]}" >>"$work/commands.txt"
  status=0
  timeout --kill-after=5 "$run_limit" "$bench" "${cmd[@]:1}" >"$work/$name.out" 2>&1 || status=$?
  grep -v '^{' "$work/$name.out" || true
  if ! grep '^{' "$work/$name.out" | tail -n 1 >>"$work/results.jsonl" || [ "$status" -ne 0 ]; then
    failed=1
    echo "bench/run.sh: $name failed (exit $status)" >&2
    if ! grep -q '^{' "$work/$name.out"; then
      echo "{\"scenario\":\"$1\",\"label\":\"$name\",\"ok\":false,\"error\":\"kreuz-bench exited with $status\"}" >>"$work/results.jsonl"
    fi
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "bench/run.sh: kreuz died during $name:" >&2
    tail -n 20 "$work/kreuz-$name.log" >&2
    failed=1
  fi
  stop_server
done

python3 "$root/bench/report.py" "$work/meta.txt" "$work/commands.txt" "$work/results.jsonl" >"$out"
echo "bench/run.sh: wrote $out"
exit "$failed"
