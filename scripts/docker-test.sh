#!/usr/bin/env bash
# Builds the container image from docker/Dockerfile and checks that kreuz starts
# in it: the HEALTHCHECK command passes, GET / gets an HTTP/1.1 answer, a
# WebSocket handshake on /ws gets 101 with the wamp subprotocol, and the first
# frame is a WAMP WELCOME. Then two nodes of the image and the host's
# redis-server run as one cluster, and a client of the host's
# python3-websockets proves PubSub and routed RPC across them. Exits non-zero,
# naming the step, on any failure.
#
# Works without a Docker engine: podman builds the image and buildah runs a
# command in it, both with chroot isolation (no OCI runtime, no cgroups, no
# registry). The base images debian:bookworm and debian:bookworm-slim are made
# here with debootstrap from the Debian mirror when they are not in podman's
# store yet, and kept there for the next run.
#
# Needs root (podman's, buildah's and debootstrap's root mode); run as another
# user it starts itself again under sudo. Installs podman, buildah and
# debootstrap with apt when missing.
#
# Environment:
#   KREUZ_IMAGE            tag of the image built and checked (kreuz:test)
#   KREUZ_DEBIAN_MIRROR    mirror for debootstrap and the images' apt sources
#                          (default: the host's Debian source, else deb.debian.org)
#   KREUZ_DEBIAN_SECURITY  security mirror for the images' apt sources
#   KREUZ_REBUILD_BASE=1   make the base images again even when present
#   KREUZ_NO_CACHE=1       build the image without podman's layer cache
#
# Takes minutes: the build stage compiles kreuz. Not part of `make test`.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

if [ "$(id -u)" -ne 0 ]; then
  echo "docker-test: not root, running again under sudo"
  exec sudo --preserve-env=KREUZ_IMAGE,KREUZ_DEBIAN_MIRROR,KREUZ_DEBIAN_SECURITY,KREUZ_REBUILD_BASE,KREUZ_NO_CACHE \
    bash "$0" "$@"
fi

image=${KREUZ_IMAGE:-kreuz:test}
suite=bookworm
started=$(date +%s)
step="starting"
workdir=""
ctr=""

log() { printf 'docker-test: [%4ss] %s\n' "$(($(date +%s) - started))" "$*"; }
fail() { log "FAILED: $*"; exit 1; }

cleanup() {
  local rc=$?
  if [ -n "$ctr" ]; then buildah rm "$ctr" >/dev/null 2>&1 || true; fi
  if [ -n "$workdir" ]; then
    # A debootstrap cut short leaves /proc and /sys mounted in its target.
    awk -v d="$workdir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | xargs -r -n 1 umount -l || true
    rm -rf --one-file-system "$workdir"
  fi
  if [ "$rc" -ne 0 ]; then
    log "FAILED during: $step (exit $rc)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

workdir=$(mktemp -d /var/tmp/kreuz-docker-test.XXXXXX)

# ---------------------------------------------------------------------------
step="installing podman, buildah and debootstrap"
missing=()
for p in podman buildah debootstrap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  # Another apt may hold the lock (other sessions share the machine): wait for it.
  timeout 900 apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get -o DPkg::Lock::Timeout=600 \
    install -y -qq --no-install-recommends "${missing[@]}" >"$workdir/apt.log" 2>&1 \
    || { tail -n 30 "$workdir/apt.log"; fail "apt-get install ${missing[*]}"; }
fi

# ---------------------------------------------------------------------------
# Base images. The official ones are built with debuerreotype from a minbase
# debootstrap; slim additionally drops documentation, man pages and locales.
# Both are imported under their Docker Hub names, so that `FROM debian:...`
# resolves to them locally and nothing is pulled.
mirror=${KREUZ_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -v '^[[:space:]]*#' \
           | grep -o -E 'https?://[^ ]+/debian/?( |$)' | head -n 1 | tr -d ' ' | sed 's,/$,,' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi
security=${KREUZ_DEBIAN_SECURITY:-${mirror}-security}

base_full=docker.io/library/debian:$suite
base_slim=docker.io/library/debian:$suite-slim

make_base_images() {
  local root=$workdir/rootfs
  step="debootstrap $suite (minbase) from $mirror"
  log "$step"
  mkdir -p "$root"
  timeout 1200 debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$workdir/debootstrap.log" 2>&1 \
    || { tail -n 30 "$workdir/debootstrap.log"; fail "$step"; }

  step="preparing the base root file system"
  rm -f "$root/etc/apt/sources.list"
  cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  # As in the official images: no .deb files or package caches left behind by apt.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  printf 'Acquire::GzipIndexes "true";\n' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
  printf 'APT::Install-Recommends "false";\n' >"$root/etc/apt/apt.conf.d/docker-no-recommends"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
         "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/* "$root"/var/tmp/*
  # The host's name and resolver must not end up in the image; the runtime provides them.
  : >"$root/etc/resolv.conf"
  printf 'localhost\n' >"$root/etc/hostname"

  step="importing $base_full"
  podman image rm -f "$base_full" >/dev/null 2>&1 || true
  tar -C "$root" --numeric-owner -c . | timeout 600 podman import --quiet \
    --change 'CMD ["bash"]' - "$base_full" >/dev/null || fail "$step"

  step="slimming the root file system"
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# As debian:*-slim: no documentation, man pages or translations from packages.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/groff/* "$root"/usr/share/info/* "$root"/usr/share/linda/* \
         "$root"/usr/share/lintian/overrides/* "$root"/usr/share/locale/* "$root"/usr/share/man/*

  step="importing $base_slim"
  podman image rm -f "$base_slim" >/dev/null 2>&1 || true
  tar -C "$root" --numeric-owner -c . | timeout 600 podman import --quiet \
    --change 'CMD ["bash"]' - "$base_slim" >/dev/null || fail "$step"
  rm -rf --one-file-system "$root"
}

if [ "${KREUZ_REBUILD_BASE:-0}" = 1 ] || ! podman image exists "$base_full" || ! podman image exists "$base_slim"; then
  make_base_images
  log "base images $base_full and $base_slim made"
else
  log "base images $base_full and $base_slim present, not made again"
fi

# ---------------------------------------------------------------------------
# The build runs at low priority: it compiles kreuz on a machine shared with
# others. --format docker keeps the HEALTHCHECK (the OCI format has none).
step="building $image from docker/Dockerfile"
log "$step"
build_args=(--isolation chroot --format docker --pull=never
            -f docker/Dockerfile --ignorefile docker/Dockerfile.dockerignore -t "$image")
if [ "${KREUZ_NO_CACHE:-0}" = 1 ]; then build_args+=(--no-cache); fi
build_started=$(date +%s)
nice -n 10 timeout 3600 podman build "${build_args[@]}" . >"$workdir/build.log" 2>&1 \
  || { tail -n 40 "$workdir/build.log"; fail "$step (full log above, last 40 lines)"; }
log "image built in $(($(date +%s) - build_started))s"

step="inspecting $image"
size=$(podman image inspect --format '{{.Size}}' "$image")
log "image size: $((size / 1000 / 1000)) MB ($size bytes)"
expect_config() {
  local what=$1 template=$2 want=$3 got
  got=$(podman image inspect --format "$template" "$image")
  [ "$got" = "$want" ] || fail "$what: want '$want', got '$got'"
}
expect_config "user" '{{.Config.User}}' "kreuz"
expect_config "entrypoint" '{{json .Config.Entrypoint}}' '["kreuz","--config","/etc/kreuz/kreuz.yaml"]'
expect_config "exposed ports" '{{range $p, $v := .Config.ExposedPorts}}{{$p}} {{end}}' "8080/tcp "
# The HEALTHCHECK must be ["CMD", "bash", "-c", SCRIPT]: SCRIPT is run below.
mapfile -t health < <(podman image inspect --format '{{range .HealthCheck.Test}}{{println .}}{{end}}' "$image" | sed '/^$/d')
[ "${#health[@]}" -eq 4 ] && [ "${health[0]}" = CMD ] && [ "${health[1]}" = bash ] && [ "${health[2]}" = -c ] \
  || fail "HEALTHCHECK is not [\"CMD\", \"bash\", \"-c\", SCRIPT] (got: ${health[*]:-nothing})"

# ---------------------------------------------------------------------------
# The runtime check: the image's entrypoint command, started with buildah run.
# buildah's chroot isolation shares the caller's network namespace, so kreuz
# would bind the host's 0.0.0.0:8080 (taken when `make run` or anything else
# uses it). `unshare --net` gives the check a private network namespace with
# only its own loopback: kreuz listens on its real port 8080 from the real
# configuration, the HEALTHCHECK command runs unchanged, and nothing reaches
# or leaves the host.
step="creating a working container from $image"
ctr=$(buildah from --pull-never "$image") || fail "$step"
entry=(kreuz --config /etc/kreuz/kreuz.yaml)

# Runs in the container as the image's user, with the image's bash. Its
# arguments are the command to start; HEALTH_CMD is the HEALTHCHECK's script.
check_script=$(cat <<'EOF'
set -u
export LC_ALL=C   # byte semantics for the frame below
fail() { echo "in container: FAILED: $*"; exit 1; }
[ "$(id -un)" = kreuz ] || fail "runs as $(id -un), not kreuz"
"$@" >/tmp/kreuz.log 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null' EXIT
# Up to 10 s for the listener.
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || { cat /tmp/kreuz.log; fail "kreuz exited at start"; }
  sleep 0.1
done
(exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null || { cat /tmp/kreuz.log; fail "nothing listens on 127.0.0.1:8080 after 10s"; }
echo "in container: kreuz listens on 8080"

# The image's HEALTHCHECK command, as the engine would run it.
bash -c "$HEALTH_CMD" || fail "HEALTHCHECK command exited $?"
echo "in container: HEALTHCHECK command passes"

# Plain HTTP GET /: 200 with the demo page, 404 without; either is fine.
exec 3<>/dev/tcp/127.0.0.1/8080
printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
IFS=$'\r' read -r -t 5 status <&3 || fail "no answer to GET /"
case $status in
  "HTTP/1.1 200 "*|"HTTP/1.1 404 "*) echo "in container: GET / -> $status" ;;
  *) fail "GET / answered '$status'" ;;
esac
exec 3<&-

# WebSocket opening handshake on /ws with the wamp subprotocol (RFC 6455's
# sample key, whose accept value is known).
exec 4<>/dev/tcp/127.0.0.1/8080
printf '%s\r\n' "GET /ws HTTP/1.1" "Host: localhost:8080" "Upgrade: websocket" "Connection: Upgrade" \
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" "Sec-WebSocket-Version: 13" \
  "Sec-WebSocket-Protocol: wamp" "" >&4
IFS=$'\r' read -r -t 5 status <&4 || fail "no answer to the WebSocket handshake"
[ "$status" = "HTTP/1.1 101 Switching Protocols" ] || fail "handshake answered '$status'"
headers=""
while IFS=$'\r' read -r -t 5 line <&4; do
  [ -z "$line" ] && break
  headers+="$line"$'\n'
done
grep -qix 'Sec-WebSocket-Protocol: wamp' <<<"$headers" || fail "no 'Sec-WebSocket-Protocol: wamp' in: $headers"
grep -qix 'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=' <<<"$headers" || fail "wrong Sec-WebSocket-Accept in: $headers"
echo "in container: /ws -> $status, subprotocol wamp"

# The first frame: an unmasked text frame carrying WELCOME,
# [0, "sessionId", 1, "kreuz/VERSION"], short enough for the 2-byte header
# (FIN+text 0x81, then the length). Bytes up to the closing bracket.
frame=""
IFS= read -r -d ']' -t 5 frame <&4 || fail "no WELCOME frame within 5s (got '$frame')"
[[ ${frame:0:1} == $'\x81' ]] || fail "first frame is not a single unmasked text frame: '$frame'"
welcome="${frame:2}]"
length=$(printf '%d' "'${frame:1:1}")
[ "$length" -eq "${#welcome}" ] || fail "frame length $length, but the message has ${#welcome} bytes: '$welcome'"
[[ $welcome == '[0,"'*'",1,"kreuz/'*'"]' ]] || fail "first message is not WELCOME: '$welcome'"
echo "in container: WELCOME $welcome"
exec 4<&-

# SIGTERM, as `docker stop` sends it: kreuz exits 0 within its close timeout.
trap - EXIT
kill -TERM "$pid"
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; fail "kreuz still running 10s after SIGTERM"; }
wait "$pid"; rc=$?
[ "$rc" -eq 0 ] || { cat /tmp/kreuz.log; fail "kreuz exited $rc after SIGTERM"; }
echo "in container: kreuz stopped on SIGTERM with exit 0"
echo "in container: kreuz log:"; sed 's/^/  | /' /tmp/kreuz.log
EOF
)

step="running kreuz in the image and checking it"
log "$step"
timeout 120 unshare --net -- bash -c '
  ip link set lo up || exit 1
  exec buildah run --isolation chroot --env HEALTH_CMD="$1" "$2" -- bash -c "$3" kreuz-check "${@:4}"
' unshare-net "${health[3]:-}" "$ctr" "$check_script" "${entry[@]}" \
  || fail "$step"

# ---------------------------------------------------------------------------
# Two nodes of the image as one router: the host's redis-server and both
# nodes share a private network namespace (docker/compose.cluster.yaml gives
# each its own; kreuz does not care). The nodes run from the image with a
# cluster configuration; a WAMP client of the host's python3-websockets
# subscribes on one node and publishes on the other, and calls on one node a
# procedure registered on the other.
step="checking a two-node cluster in $image"
log "$step"
cluster_script=$(cat <<'EOF'
set -u
for n in a b; do
  port=$([ "$n" = a ] && echo 8080 || echo 8081)
  printf 'listen: [{host: 127.0.0.1, port: %s}]\ncluster: {redis: "redis://127.0.0.1:6379/0", node_id: node-%s}\n' \
    "$port" "$n" >/tmp/node-$n.yaml
  kreuz --config /tmp/node-$n.yaml >/tmp/kreuz-$n.log 2>&1 &
  echo $! >/tmp/kreuz-$n.pid
done
# The host's client runs meanwhile; it removes /tmp/go when it is done.
touch /tmp/go
for _ in $(seq 600); do [ -e /tmp/go ] || break; sleep 0.1; done
rc=0
for n in a b; do
  pid=$(cat /tmp/kreuz-$n.pid)
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; echo "in container: node $n still running 10s after SIGTERM"; rc=1; fi
  echo "in container: node $n log:"; sed 's/^/  | /' /tmp/kreuz-$n.log
done
exit $rc
EOF
)
client_script=$(cat <<'EOF'
import asyncio, json, sys, time, urllib.request
import websockets

def healthy(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return json.loads(r.read())["status"] == "ok"
    except OSError:
        return False

async def main():
    deadline = time.monotonic() + 20
    while not (healthy(8080) and healthy(8081)):
        if time.monotonic() > deadline:
            sys.exit("host client: the nodes did not both reach Redis")
        await asyncio.sleep(0.1)
    async with websockets.connect("ws://127.0.0.1:8081/ws", subprotocols=["wamp"]) as b, \
               websockets.connect("ws://127.0.0.1:8080/ws", subprotocols=["wamp"]) as a:
        welcome_b, welcome_a = json.loads(await b.recv()), json.loads(await a.recv())
        assert welcome_a[1].startswith("node-a.") and welcome_b[1].startswith("node-b."), (welcome_a, welcome_b)
        await b.send(json.dumps([5, "urn:x:topic"]))
        await b.send(json.dumps([2, "reg", "urn:kreuz:procedure:register", "urn:x:proc"]))
        assert json.loads(await b.recv()) == [3, "reg", "urn:x:proc"]
        # Until node a knows the registration its CALLs get NoSuchRPCEndpoint at once; a CALL
        # that reached the callee waits for it.
        for attempt in range(100):
            await a.send(json.dumps([2, f"c{attempt}", "urn:x:proc", attempt]))
            answer = asyncio.ensure_future(a.recv())
            done, _ = await asyncio.wait({answer}, timeout=0.5)
            if not done:
                break
            assert json.loads(answer.result())[0] == 4, answer.result()
            await asyncio.sleep(0.05)
        call = json.loads(await asyncio.wait_for(b.recv(), 5))
        assert call[0] == 2 and call[2:] == ["urn:x:proc", attempt], call
        await b.send(json.dumps([3, call[1], "from b"]))
        assert json.loads(await asyncio.wait_for(answer, 5)) == [3, f"c{attempt}", "from b"]
        await a.send(json.dumps([7, "urn:x:topic", "hello"]))
        assert json.loads(await asyncio.wait_for(b.recv(), 5)) == [8, "urn:x:topic", "hello"]
    print("host client: PubSub and routed RPC across the two nodes work")


asyncio.run(main())
EOF
)
redis_bin=$(command -v redis-server || echo /usr/bin/redis-server)
[ -x "$redis_bin" ] || fail "redis-server is missing on the host (scripts/install-deps.sh --test installs it)"
ctr_root=$(buildah mount "$ctr") || fail "mounting the working container"
rm -f "$ctr_root/tmp/go"
timeout 120 unshare --net -- bash -c '
  ip link set lo up || exit 1
  "$1" --port 6379 --bind 127.0.0.1 --save "" --appendonly no >/dev/null &
  redis=$!
  buildah run --isolation chroot "$2" -- bash -c "$3" &
  nodes=$!
  for _ in $(seq 100); do [ -e "$5/tmp/go" ] && break; sleep 0.1; done
  /usr/bin/python3 -c "$4"; rc=$?
  rm -f "$5/tmp/go"
  wait "$nodes" || rc=1
  kill "$redis"; wait "$redis" 2>/dev/null
  exit $rc
' unshare-net "$redis_bin" "$ctr" "$cluster_script" "$client_script" "$ctr_root" || fail "$step"
buildah umount "$ctr" >/dev/null || true

step="done"
log "all checks passed: $image, $((size / 1000 / 1000)) MB, $(($(date +%s) - started))s in all"
