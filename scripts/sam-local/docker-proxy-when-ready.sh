#!/usr/bin/env bash
# The private dockerd's --userland-proxy-path (scripts/sam-local.sh): Docker's own docker-proxy,
# started only once the container's port accepts connections.
#
# Without iptables, Docker publishes a port with docker-proxy, which listens on the host port as
# soon as the container starts, before the program inside does. The SAM CLI waits for the host port
# to accept a connection and then sends the invocation at once; arriving before the runtime
# interface emulator listens (it takes a second under qemu), it is reset and SAM reports "No
# response from invoke container". Docker with iptables refuses such early connections instead,
# and SAM tries again; this gives the same behaviour: the host port opens when the container's does.
set -euo pipefail

REAL_PROXY="${SAM_LOCAL_REAL_DOCKER_PROXY:-/usr/sbin/docker-proxy}"
WAIT_SECONDS="${SAM_LOCAL_PROXY_WAIT_SECONDS:-120}"

proto="" container_ip="" container_port=""
args=("$@")
while (($#)); do
  case "$1" in
    -proto) proto="$2" ;;
    -container-ip) container_ip="$2" ;;
    -container-port) container_port="$2" ;;
  esac
  shift
done

# dockerd reads "0\n" (or "1\n<error>") on fd 3 before it goes on starting the container, so
# report success now and wait for the port afterwards. docker-proxy writes its own report to fd 3
# and closes it: point fd 3 at /dev/null for that (left closed, fd 3 would be its listening socket).
printf '0\n' >&3
exec 3>/dev/null

if [[ "$proto" == tcp && -n "$container_ip" && -n "$container_port" ]]; then
  deadline=$((SECONDS + WAIT_SECONDS))
  until (exec 4<>"/dev/tcp/$container_ip/$container_port") 2>/dev/null; do
    ((SECONDS < deadline)) || break # open the host port anyway; the client then sees the failure
    sleep 0.05
  done
fi
exec "$REAL_PROXY" "${args[@]}"
