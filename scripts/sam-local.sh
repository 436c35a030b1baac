#!/usr/bin/env bash
# `npm run sam:local -- <command>`: runs <command> (e.g. `sam local invoke …`) against a private
# Docker engine, for machines with no Docker of their own, and with the local Lambda base image
# (scripts/lambda-base-image.sh) in it. The engine is started for the command and stopped after it.
#
#   npm run sam:local -- sam local invoke DefaultFunction -e events/default.json --skip-pull-image
#   bash scripts/sam-local.sh setup      install what the engine and the image need (apt-get; once)
#   bash scripts/sam-local.sh start      start the engine and leave it running; then
#   eval "$(bash scripts/sam-local.sh env)"   points DOCKER_HOST at it for this shell
#   bash scripts/sam-local.sh status | stop
#
# The engine is Debian's dockerd with its own socket, data root and pid file under .cache/docker/,
# its own bridge (samlocal0, 172.18.250.1/24: containers reach this machine there, and
# `--add-host host.docker.internal:host-gateway` names it), no iptables rules, no IP forwarding
# and no masquerading, so it changes nothing on the machine beyond that bridge, which `stop`
# removes. It needs root, and Linux with cgroups and overlayfs (or it falls back to vfs).
# On a machine whose Docker already runs, use the SAM CLI directly (README, "sam local invoke").
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="$ROOT/.cache/docker"
SOCKET="$STATE/docker.sock"
PIDFILE="$STATE/dockerd.pid"
LOGFILE="$STATE/dockerd.log"
# dockerd keeps sockets under its exec root, whose paths must stay short: one per checkout in /run.
EXEC_ROOT="/run/sam-local-docker-$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)"
BRIDGE="${SAM_LOCAL_BRIDGE:-samlocal0}"
BRIDGE_CIDR="${SAM_LOCAL_BRIDGE_CIDR:-172.18.250.1/24}"
START_TIMEOUT=90

export DOCKER_HOST="unix://$SOCKET"
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"

log() { echo "sam-local: $*" >&2; }
die() {
  echo "sam-local: $*" >&2
  exit 1
}

need_root() {
  [[ "$(id -u)" == 0 ]] || die "needs root: it runs its own dockerd (and builds the Lambda base image with mmdebstrap). Run it as root (sudo), or on a machine whose Docker already runs use the SAM CLI directly."
}

host_arch() {
  case "$(uname -m)" in
    aarch64 | arm64) echo arm64 ;;
    *) echo x86_64 ;;
  esac
}

# Lambda architectures the template's functions use (Globals or per function); arm64 by default.
template_archs() {
  local archs=()
  grep -Eq '^\s*Architectures:.*\barm64\b|^\s*-\s*arm64\s*$' "$ROOT/template.yaml" && archs+=(arm64)
  grep -Eq '^\s*Architectures:.*\bx86_64\b|^\s*-\s*x86_64\s*$' "$ROOT/template.yaml" && archs+=(x86_64)
  ((${#archs[@]})) || archs=(x86_64) # Lambda's default
  echo "${archs[@]}"
}

qemu_name() { [[ "$1" == arm64 ]] && echo qemu-aarch64 || echo qemu-x86_64; }
gnu_triple() { [[ "$1" == arm64 ]] && echo aarch64-linux-gnu || echo x86_64-linux-gnu; }

# ----------------------------------------------------------------------------- setup
# Installs (Debian/Ubuntu) what the engine and the image build need, and registers qemu-user for
# the template's foreign architecture with binfmt_misc. Quick when all is there already.
setup() {
  need_root
  local arch packages=() tool
  local -A provides=(
    [dockerd]=docker.io [docker-proxy]=docker.io [containerd]=containerd [runc]=runc
    [mmdebstrap]=mmdebstrap [cmake]=cmake [make]=make [xz]=xz-utils [ip]=iproute2 [python3]=python3
    [curl]=curl [readelf]=binutils
  )
  for tool in "${!provides[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || [[ -x "/usr/sbin/$tool" ]] || packages+=("${provides[$tool]}")
  done
  for arch in $(template_archs) "$(host_arch)"; do
    command -v "$(gnu_triple "$arch")-g++" >/dev/null 2>&1 || packages+=("g++-$(gnu_triple "$arch" | tr _ -)")
    if [[ "$arch" != "$(host_arch)" ]]; then
      command -v arch-test >/dev/null 2>&1 || packages+=(arch-test)
      [[ -e "/usr/libexec/qemu-binfmt/${arch/arm64/aarch64}-binfmt-P" || -x /usr/bin/qemu-aarch64-static ]] ||
        packages+=(qemu-user-static)
      command -v update-binfmts >/dev/null 2>&1 || packages+=(binfmt-support)
    fi
  done
  if ((${#packages[@]})); then
    command -v apt-get >/dev/null 2>&1 || die "cannot install ${packages[*]}: no apt-get (Debian or Ubuntu needed)"
    mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
    log "installing ${packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" </dev/null >/dev/null
  else
    log "packages already installed"
  fi
  for arch in $(template_archs); do
    [[ "$arch" != "$(host_arch)" ]] || continue
    local name
    name="$(qemu_name "$arch")"
    if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
      mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
        die "cannot mount binfmt_misc, so $arch programs cannot run here (is this a container without it?)"
    fi
    grep -qs '^enabled' "/proc/sys/fs/binfmt_misc/$name" || update-binfmts --enable "$name"
    # F (fix binary): the kernel holds the interpreter open, so it works inside containers too.
    grep -qs '^flags:.*F' "/proc/sys/fs/binfmt_misc/$name" ||
      die "$name is registered without the F flag; containers cannot find the interpreter"
    log "$arch programs run here through $name ($(sed -n 's/^interpreter //p' "/proc/sys/fs/binfmt_misc/$name"))"
  done
}

# ----------------------------------------------------------------------------- engine
running() {
  [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null && docker version >/dev/null 2>&1
}

ensure_bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link add name "$BRIDGE" type bridge || die "cannot create the bridge $BRIDGE (no CAP_NET_ADMIN?): containers need a network to be invoked"
  fi
  ip addr show dev "$BRIDGE" | grep -q "inet $BRIDGE_CIDR" || ip addr add "$BRIDGE_CIDR" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

start_dockerd() {
  local driver="$1"
  mkdir -p "$STATE/data" "$EXEC_ROOT"
  # An empty configuration of our own: nothing from /etc/docker/daemon.json applies.
  echo '{}' >"$STATE/daemon.json"
  rm -f "$SOCKET" "$PIDFILE"
  # setsid: the engine outlives this shell (for `start`) and gets no terminal signals.
  setsid dockerd \
    --config-file "$STATE/daemon.json" \
    --host "unix://$SOCKET" \
    --data-root "$STATE/data" \
    --exec-root "$EXEC_ROOT" \
    --pidfile "$PIDFILE" \
    --storage-driver "$driver" \
    --bridge "$BRIDGE" \
    --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --userland-proxy=true --userland-proxy-path "$ROOT/scripts/sam-local/docker-proxy-when-ready.sh" \
    --log-level warn \
    </dev/null >>"$LOGFILE" 2>&1 &
  local pid=$! deadline=$((SECONDS + START_TIMEOUT))
  until docker version >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    if ((SECONDS > deadline)); then
      kill "$pid" 2>/dev/null || true
      return 1
    fi
    sleep 0.5
  done
}

start() {
  need_root
  if running; then
    log "engine already running (pid $(cat "$PIDFILE")), DOCKER_HOST=$DOCKER_HOST"
    return
  fi
  command -v dockerd >/dev/null 2>&1 || die "dockerd not found; run: bash scripts/sam-local.sh setup (installs Debian's docker.io)"
  if [[ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ]]; then
    die "Docker cannot run here: no cgroup filesystem at /sys/fs/cgroup"
  fi
  mkdir -p "$STATE"
  : >"$LOGFILE"
  ensure_bridge
  local t0=$SECONDS
  if ! start_dockerd overlay2; then
    log "dockerd did not start with overlay2; trying vfs (slower, more disk)"
    start_dockerd vfs || {
      tail -n 25 "$LOGFILE" >&2
      remove_bridge
      die "Docker cannot run here: dockerd did not start (log above, full log in ${LOGFILE#"$ROOT"/})"
    }
  fi
  log "engine started in $((SECONDS - t0))s (pid $(cat "$PIDFILE"), $(docker info --format '{{.Driver}}') storage), DOCKER_HOST=$DOCKER_HOST"
}

remove_bridge() {
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    ip link delete "$BRIDGE" 2>/dev/null || true
  fi
}

stop() {
  local pid
  if [[ -f "$PIDFILE" ]] && pid="$(cat "$PIDFILE")" && kill -0 "$pid" 2>/dev/null; then
    # Lambda containers that a failed invoke left behind go first; then the engine (and its containerd).
    docker ps -q --filter label=sam.cli.container.type 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
    kill -TERM "$pid"
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    log "engine stopped"
  fi
  rm -f "$PIDFILE" "$SOCKET"
  remove_bridge
}

status() {
  if running; then
    echo "running: pid $(cat "$PIDFILE"), DOCKER_HOST=$DOCKER_HOST, data $(du -sh "$STATE/data" 2>/dev/null | cut -f1)"
    docker images --format '  {{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E 'public.ecr.aws/lambda|samcli' || true
  else
    echo "not running"
    return 1
  fi
}

# ----------------------------------------------------------------------------- run
run() {
  need_root
  local started=""
  if ! running; then
    start
    started=1
    trap 'stop' EXIT
  fi
  if ! command -v sam >/dev/null 2>&1 && [[ -x "$ROOT/.venv/bin/sam" ]]; then
    export PATH="$ROOT/.venv/bin:$PATH"
  fi
  # shellcheck disable=SC2046 # one word per architecture
  bash "$ROOT/scripts/lambda-base-image.sh" $(template_archs) >&2
  local rc=0
  "$@" || rc=$?
  if [[ -n "$started" ]]; then
    trap - EXIT
    stop
  fi
  return "$rc"
}

case "${1:-}" in
  setup) setup ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST" ;;
  "" | -h | --help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' ;;
  run)
    shift
    (($#)) || die "nothing to run"
    run "$@"
    ;;
  *) run "$@" ;;
esac
