#!/usr/bin/env bash
# bench/run.sh: runs every kreuz-bench scenario against a fresh kreuz and,
# back to back with the same parameters, against peer servers (bench/peers:
# Node ws and WebSocket++ for echo, wamp.io for the WAMP scenarios), then
# writes BENCHMARKS.md with the ratios kreuz/peer. Builds kreuz and
# kreuz-bench (Release) first if needed, installs what the peers need when it
# is missing (Debian: libwebsocketpp-dev libboost-dev; npm: bench/peers).
#
#   bench/run.sh                      # what `make bench` runs
#   BENCH_DURATION=10 bench/run.sh    # longer measurements
#   BENCH_PEERS= bench/run.sh         # kreuz only
#
# Environment: BUILD (build directory, default build), BENCH_DURATION (seconds
# measured per run, default 4), BENCH_WARMUP (default 1), BENCH_OUT (default
# BENCHMARKS.md in the repository root), BENCH_ONLY (space-separated run names
# to run only those, e.g. "echo-k16 rpc"), BENCH_PEERS (space-separated peers
# to measure besides kreuz; default "node-ws websocketpp wamp.io", empty for
# none).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
duration=${BENCH_DURATION:-4}
warmup=${BENCH_WARMUP:-1}
out=${BENCH_OUT:-$root/BENCHMARKS.md}
only=${BENCH_ONLY:-}
all_peers="node-ws websocketpp wamp.io"
peers_wanted=${BENCH_PEERS-$all_peers}
for value in "$duration" "$warmup"; do
  if ! [[ "$value" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    echo "bench/run.sh: BENCH_DURATION and BENCH_WARMUP must be numbers of seconds" >&2
    exit 1
  fi
done
for peer in $peers_wanted; do
  if [[ " $all_peers " != *" $peer "* ]]; then
    echo "bench/run.sh: unknown peer '$peer' in BENCH_PEERS (known: $all_peers)" >&2
    exit 1
  fi
done
# Each kreuz-bench stops by itself; this is only a backstop.
run_limit=$(awk -v d="$duration" -v w="$warmup" 'BEGIN { printf "%d", d + w + 60 }')

# name | scenario and its arguments | peers measured with the same arguments.
# Sizes fit a 2-core machine on which the load generator and the server share
# the cores.
# The sizes of issue 6's targets: echo and rpc over 100 connections, fanout
# to 1000 subscribers with 100-byte events, 15,000 idle sessions. Payloads
# are at least 32 bytes, the latency stamp's size. fanout runs with windows of
# 16 and 64 publications: how many arrive per loop turn decides how many
# frames share a writev, which is most of a delivery's cost. rpc-half offers, open loop,
# half the calls/s kreuz carried in the rpc run just before it (HALF_OF_RPC).
runs=(
  "echo-k16|echo -n 100 -k 16 -s 32|node-ws websocketpp"
  "echo-k1|echo -n 16 -k 1 -s 32|node-ws websocketpp"
  "rpc|rpc -n 100 -k 16 -s 32|wamp.io"
  "rpc-half|rpc -n 100 -r HALF_OF_RPC -s 32|"
  "fanout-closed|fanout -n 1000 -w 16 -s 100|wamp.io"
  "fanout-w64|fanout -n 1000 -w 64 -s 100|wamp.io"
  "fanout-open|fanout -n 100 -r 1000 -s 32|wamp.io"
  "chat|chat -n 20 -k 4 -s 32|wamp.io"
  "idle|idle -n 15000|wamp.io"
  "churn|churn -c 8|wamp.io"
)

# ---- processes this script starts, stopped on every way out
work=$(mktemp -d)
server_pid=""
bench_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$server_pid" ]; then wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
}
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null || true  # timeout passes it on to kreuz-bench
    wait "$bench_pid" 2>/dev/null || true
  fi
  bench_pid=""
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- build
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release
fi
if ! cmake --build "$build" -j "$(nproc)" --target kreuz kreuz-bench json-parse-cost >"$build/bench-build.log" 2>&1; then
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

# ---- peers: install and build what each wanted peer needs. A peer that
# cannot be set up is not measured; BENCHMARKS.md says why, and the exit
# status is 1.
peers_dir="$root/bench/peers"
wspp="$build/wspp-echo"
wspp_flags=(-O2 -DNDEBUG -std=c++17 -pthread)
declare -A peer_state=()
failed=0
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

is_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

apt_install() {
  local missing=() p
  for p in "$@"; do is_installed "$p" || missing+=("$p"); done
  if [ ${#missing[@]} -eq 0 ]; then return 0; fi
  echo "bench/run.sh: installing ${missing[*]}" >&2
  if ! "${sudo_cmd[@]}" apt-get update -qq >"$work/apt.log" 2>&1 ||
     ! "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       "${missing[@]}" >>"$work/apt.log" 2>&1; then
    tail -n 5 "$work/apt.log" >&2
    return 1
  fi
}

wanted() { [[ " $peers_wanted " == *" $1 "* ]]; }
needed() {  # a wanted peer that a selected run measures
  local entry name rest
  wanted "$1" || return 1
  for entry in "${runs[@]}"; do
    name=${entry%%|*}
    rest=${entry#*|}
    if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then continue; fi
    if [[ " ${rest#*|} " == *" $1 "* ]]; then return 0; fi
  done
  return 1
}

node_state=""
setup_node() {
  if [ -n "$node_state" ]; then return 0; fi
  node_state=ok
  if ! command -v node >/dev/null 2>&1 && ! apt_install nodejs; then
    node_state="Node.js is not installed and could not be installed (apt-get install nodejs)"
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1 && ! apt_install npm; then
    node_state="npm is not installed and could not be installed (apt-get install npm)"
    return 0
  fi
  # package-lock.json pins every module. --ignore-scripts: ws 0.4.32's
  # optional native helpers do not compile against current Node (it falls
  # back to JavaScript, see wampio-server.js), and nothing else has scripts.
  if [ ! -f "$peers_dir/node_modules/.package-lock.json" ] ||
     [ "$peers_dir/package-lock.json" -nt "$peers_dir/node_modules/.package-lock.json" ]; then
    echo "bench/run.sh: installing the npm packages of bench/peers"
    if ! (cd "$peers_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1; then
      tail -n 10 "$work/npm.log" >&2
      node_state="npm ci in bench/peers failed"
    fi
  fi
}

setup_wspp() {
  if ! apt_install libwebsocketpp-dev libboost-dev; then
    echo "libwebsocketpp-dev and libboost-dev are not installed and could not be installed"
    return 0
  fi
  if [ ! -x "$wspp" ] || [ "$peers_dir/wspp_echo.cpp" -nt "$wspp" ]; then
    echo "bench/run.sh: building $wspp" >&2
    if ! g++ "${wspp_flags[@]}" -o "$wspp" "$peers_dir/wspp_echo.cpp" >"$build/wspp-echo-build.log" 2>&1; then
      tail -n 20 "$build/wspp-echo-build.log" >&2
      echo "bench/peers/wspp_echo.cpp did not compile (see $build/wspp-echo-build.log)"
      return 0
    fi
  fi
  echo ok
}

for peer in $all_peers; do
  if ! wanted "$peer"; then
    peer_state[$peer]="left out by BENCH_PEERS"
    continue
  fi
  if ! needed "$peer"; then
    peer_state[$peer]="no selected run measures it (BENCH_ONLY)"
    continue
  fi
  case "$peer" in
    node-ws|wamp.io)
      setup_node
      peer_state[$peer]=$node_state
      ;;
    websocketpp)
      peer_state[$peer]=$(setup_wspp)
      ;;
  esac
  if [ "${peer_state[$peer]}" != ok ]; then
    echo "bench/run.sh: $peer is not measured: ${peer_state[$peer]}" >&2
    failed=1
  fi
done

# ---- environment
# The idle scenario holds 15,000 sockets on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 15100 ]; then
  echo "bench/run.sh: warning: the open-file limit is $(ulimit -n); the idle run needs about 15100" >&2
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Sets server_argv to the command that starts SYSTEM on PORT, and
# server_shown to the same for BENCHMARKS.md, with PORT as a placeholder.
server_command() {
  local rel_build=${build#"$root"/}
  case "$1" in
    kreuz)
      server_argv=("$kreuz" --port "$2" --echo-path /echo --log-level warn)
      server_shown="$rel_build/kreuz --port PORT --echo-path /echo --log-level warn" ;;
    node-ws)
      server_argv=(node "$peers_dir/node-ws-echo.mjs" "$2")
      server_shown="node bench/peers/node-ws-echo.mjs PORT" ;;
    websocketpp)
      server_argv=("$wspp" "$2")
      server_shown="$rel_build/wspp-echo PORT" ;;
    wamp.io)
      server_argv=(node "$peers_dir/wampio-server.js" "$2")
      server_shown="node bench/peers/wampio-server.js PORT" ;;
  esac
}

# Starts a fresh server (so that every run's RSS figures start from the same
# state) and waits until it accepts connections.
start_server() {  # system log
  port=$(free_port)
  server_command "$1" "$port"
  "${server_argv[@]}" >"$2" 2>&1 &
  server_pid=$!
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "bench/run.sh: $1 did not start on port $port:" >&2
  cat "$2" >&2
  return 1
}

json_escape() { python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$1"; }

# ---- machine and versions
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
  for peer in $all_peers; do echo "peer.$peer=${peer_state[$peer]}"; done
  for entry in "${runs[@]}"; do
    rest=${entry#*|}
    echo "peers_for.${entry%%|*}=${rest#*|}"
  done
  if command -v node >/dev/null 2>&1; then
    echo "node=$(node --version)"
    for module in ws ws-0.4 wamp.io; do
      version=$(node -p "require('$peers_dir/node_modules/$module/package.json').version" 2>/dev/null || true)
      echo "npm.$module=${version:-not installed}"
    done
  fi
  for package in libwebsocketpp-dev libboost-dev; do
    echo "deb.$package=$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null || echo 'not installed')"
  done
  echo "wspp_compiler=$(g++ --version 2>/dev/null | head -n 1)"
  echo "wspp_flags=${wspp_flags[*]}"
} >"$work/meta.txt"

# ---- runs
: >"$work/results.jsonl"
: >"$work/commands.txt"
for entry in "${runs[@]}"; do
  name=${entry%%|*}
  rest=${entry#*|}
  args=${rest%%|*}
  if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then continue; fi
  systems=(kreuz)
  for peer in ${rest#*|}; do
    if [ "${peer_state[$peer]}" = ok ]; then systems+=("$peer"); fi
  done
  for system in "${systems[@]}"; do
    tag="$name.$system"
    echo "== $name on $system: kreuz-bench $args"
    if ! start_server "$system" "$work/server-$tag.log"; then
      failed=1
      echo "{\"system\":\"$system\",\"scenario\":\"${args%% *}\",\"label\":\"$name\",\"ok\":false,\"error\":\"$system did not start\"}" >>"$work/results.jsonl"
      stop_server
      continue
    fi
    if [[ "$args" == *HALF_OF_RPC* ]]; then
      half=$(python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("label") == "rpc" and r.get("system") == "kreuz" and r.get("ok"):
        print(int(r["msgs_per_s"] / 2))' "$work/results.jsonl")
      if [ -z "$half" ]; then
        echo "bench/run.sh: $name needs the rpc run's rate, which failed" >&2
        failed=1
        continue
      fi
      args=${args//HALF_OF_RPC/$half}
    fi
    # shellcheck disable=SC2086 # args is a word list on purpose
    set -- $args
    cmd=(kreuz-bench "$@" -p "$port" --server-pid "$server_pid" --warmup "$warmup" -d "$duration" --label "$name")
    printf '%s\t%s\t%s\t%s\n' "$name" "$system" "$server_shown" "${cmd[*]}" >>"$work/commands.txt"
    status=0
    timeout --kill-after=5 "$run_limit" "$bench" "${cmd[@]:1}" >"$work/$tag.out" 2>&1 &
    bench_pid=$!
    wait "$bench_pid" || status=$?
    bench_pid=""
    grep -v '^{' "$work/$tag.out" || true
    line=$(grep '^{' "$work/$tag.out" | tail -n 1 || true)
    if [ -n "$line" ]; then
      echo "{\"system\":\"$system\",${line#\{}" >>"$work/results.jsonl"
    fi
    if [ -z "$line" ] || [ "$status" -ne 0 ]; then
      failed=1
      echo "bench/run.sh: $name on $system failed (exit $status)" >&2
      if [ -z "$line" ]; then
        echo "{\"system\":\"$system\",\"scenario\":\"$1\",\"label\":\"$name\",\"ok\":false,\"error\":\"kreuz-bench exited with $status\"}" >>"$work/results.jsonl"
      fi
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "bench/run.sh: $system died during $name:" >&2
      tail -n 20 "$work/server-$tag.log" >&2
      died="$system died during the run: $(tail -n 3 "$work/server-$tag.log" | tr '\n' ' ')"
      echo "{\"system\":\"$system\",\"scenario\":\"$1\",\"label\":\"$name\",\"ok\":false,\"error\":$(json_escape "$died")}" >>"$work/results.jsonl"
      failed=1
    fi
    stop_server
  done
done

# ---- instructions and allocations per message, and the JSON parse cost
# behind the raw-payload decision (bench/callgrind.py)
echo "== callgrind: instructions and allocations per message"
if ! apt_install valgrind; then
  echo '{"kind": "server", "name": "all", "ok": false, "error": "valgrind is not installed and could not be installed"}' \
    >"$work/callgrind.jsonl"
  failed=1
elif ! python3 "$root/bench/callgrind.py" "$kreuz" "$bench" "$build/json-parse-cost" >"$work/callgrind.jsonl"; then
  failed=1
fi
if grep -q '"ok": false' "$work/callgrind.jsonl"; then failed=1; fi
cat "$work/callgrind.jsonl"

# ---- a bystander's latency while slow consumers are dropped (bench/bystander.py)
echo "== bystander: #echo latency while 200 slow subscribers are filled and dropped"
: >"$work/bystander.jsonl"
for args in "--subscribers 0 --seconds 5" "--subscribers 200" "--subscribers 200" "--subscribers 200" \
            "--subscribers 200 --deflate" "--subscribers 200 --deflate" "--subscribers 200 --deflate"; do
  # shellcheck disable=SC2086 # args is a word list on purpose
  if ! timeout --kill-after=5 120 /usr/bin/python3 "$root/bench/bystander.py" "$kreuz" $args >>"$work/bystander.jsonl"; then
    echo "bench/run.sh: bystander.py $args failed" >&2
    failed=1
  fi
done
cat "$work/bystander.jsonl"

# ---- memory before, at the peak of and after an attack (bench/attack.py)
echo "== attack: RSS with 5,000 idle sessions and 20,000 abrupt ones"
if ! timeout --kill-after=5 300 /usr/bin/python3 "$root/bench/attack.py" "$kreuz" >"$work/attack.jsonl"; then
  echo "bench/run.sh: attack.py failed" >&2
  failed=1
fi
cat "$work/attack.jsonl"

# ---- nodes through Redis (bench/cluster.py)
echo "== cluster: fan-out over 3 nodes and over 1; routed RPC within a node and across two"
if ! timeout --kill-after=5 400 /usr/bin/python3 "$root/bench/cluster.py" "$kreuz" "$bench" >"$work/cluster.jsonl"; then
  echo "bench/run.sh: cluster.py failed" >&2
  failed=1
fi
cat "$work/cluster.jsonl"

python3 "$root/bench/report.py" "$work/meta.txt" "$work/commands.txt" "$work/results.jsonl" "$work/callgrind.jsonl" \
  "$work/bystander.jsonl" "$work/attack.jsonl" "$work/cluster.jsonl" >"$out"
echo "bench/run.sh: wrote $out"
exit "$failed"
