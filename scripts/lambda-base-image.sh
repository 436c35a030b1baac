#!/usr/bin/env bash
# Builds a local stand-in for AWS's Lambda Node.js 22 base image and tags it the way the SAM CLI
# looks for it, so `sam local invoke --skip-pull-image` runs the functions where ECR Public (which
# serves the real image) cannot be reached:
#
#   public.ecr.aws/lambda/nodejs:22-arm64     public.ecr.aws/lambda/nodejs:22-x86_64
#
# The layout is that of AWS's image: Node.js 22 at /var/lang/bin/node; /var/runtime with a
# `bootstrap` that starts the Lambda runtime interface client (npm aws-lambda-ric: its index.mjs
# and its native Runtime API client, compiled here for the target architecture from the
# package's own sources); /var/task for the function; /opt for layers; Lambda's environment
# variables and working directory; the runtime interface emulator (the SAM CLI's own copy) at
# /usr/local/bin/aws-lambda-rie behind /lambda-entrypoint.sh. Functions run through the Runtime
# API exactly as in AWS's image. Differences: the OS is a minimal Debian (mmdebstrap), not Amazon
# Linux 2023, and /var/runtime has no AWS SDK (the functions take theirs from the layer).
# docs/sam-local.md has the details.
#
# Usage: bash scripts/lambda-base-image.sh [arm64] [x86_64]    (default: arm64, what template.yaml deploys)
#   LAMBDA_IMAGE_REBUILD=1   build every part again, ignoring the cache
#
# Needs root (mmdebstrap), a Docker engine at DOCKER_HOST (`bash scripts/sam-local.sh start` runs a
# private one), and the tools `bash scripts/sam-local.sh setup` installs (mmdebstrap, qemu-user-static
# for a foreign architecture, a C/C++ (cross-)compiler, cmake). Idempotent: each part is cached
# under .cache/lambda-image/ by a key of its inputs, and the image is rebuilt only when the key
# in its label differs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/scripts/lambda-image"
CACHE="$ROOT/.cache/lambda-image"

NODE_VERSION="22.23.5"
DEBIAN_SUITE="bookworm"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Essential packages (a shell, coreutils, …) plus what Node.js and the native client link against.
DEBIAN_PACKAGES="libstdc++6,tzdata"
# Options of the Runtime API client's libcurl, as aws-lambda-ric's own install script builds it:
# plain HTTP to the Runtime API, nothing else.
CURL_CONFIGURE_FLAGS=(
  --disable-shared --enable-static --with-pic
  --disable-alt-svc --disable-ares --disable-cookies --disable-crypto-auth --disable-dateparse
  --disable-dict --disable-dnsshuffle --disable-doh --disable-file --disable-ftp
  --disable-get-easy-options --disable-gopher --disable-hsts --disable-http-auth --disable-imap
  --disable-ipv6 --disable-ldap --disable-ldaps --disable-libcurl-option --disable-manual
  --disable-mime --disable-mqtt --disable-netrc --disable-ntlm-wb --disable-pop3
  --disable-progress-meter --disable-proxy --disable-pthreads --disable-rtsp --disable-smtp
  --disable-socketpair --disable-sspi --disable-telnet --disable-tftp --disable-threaded-resolver
  --disable-unix-sockets --disable-verbose --disable-versioned-symbols
  --without-brotli --without-ca-bundle --without-gssapi --without-libidn2 --without-libpsl
  --without-librtmp --without-libssh2 --without-nghttp2 --without-nghttp3 --without-ngtcp2
  --without-ssl --without-zlib --without-zstd
)

IMAGE_REPO="public.ecr.aws/lambda/nodejs"
LABEL_KEY="chat.lambda-base-image.key"
JOBS="$(nproc 2>/dev/null || echo 2)"

log() { echo "lambda-base-image: $*"; }
die() {
  echo "lambda-base-image: $*" >&2
  exit 1
}
elapsed() { echo "$((SECONDS - $1))s"; }
hash_of() { sha256sum | cut -c1-16; }

# --------------------------------------------------------------------------- architectures
# Sets, for a Lambda architecture name: TRIPLE (GNU), DEB_ARCH, NODE_PKG_ARCH, GYP_ARCH, DOCKER_PLATFORM.
arch_vars() {
  case "$1" in
    arm64) TRIPLE=aarch64-linux-gnu DEB_ARCH=arm64 NODE_PKG_ARCH=arm64 GYP_ARCH=arm64 DOCKER_PLATFORM=linux/arm64 ;;
    x86_64) TRIPLE=x86_64-linux-gnu DEB_ARCH=amd64 NODE_PKG_ARCH=x64 GYP_ARCH=x64 DOCKER_PLATFORM=linux/amd64 ;;
    *) die "unknown architecture '$1' (Lambda has arm64 and x86_64)" ;;
  esac
}

host_arch() {
  case "$(uname -m)" in
    aarch64 | arm64) echo arm64 ;;
    x86_64 | amd64) echo x86_64 ;;
    *) uname -m ;;
  esac
}

# --------------------------------------------------------------------------- preflight
preflight() {
  [[ "$(id -u)" == 0 ]] || die "needs root (mmdebstrap builds the rootfs as root). Run it with sudo, or through npm run sam:local."
  local missing=()
  local tool
  for tool in mmdebstrap docker npm cmake make python3 tar xz sha256sum curl readelf; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  for arch in "${ARCHS[@]}"; do
    arch_vars "$arch"
    command -v "$TRIPLE-gcc" >/dev/null 2>&1 || missing+=("$TRIPLE-gcc")
    command -v "$TRIPLE-g++" >/dev/null 2>&1 || missing+=("$TRIPLE-g++")
    if [[ "$arch" != "$(host_arch)" ]]; then
      command -v arch-test >/dev/null 2>&1 || missing+=("arch-test")
      if ! grep -qs '^enabled' "/proc/sys/fs/binfmt_misc/qemu-${TRIPLE%%-*}"; then
        die "running $arch programs on this $(host_arch) machine needs qemu-user-static registered with binfmt_misc (qemu-${TRIPLE%%-*} is not); run: bash scripts/sam-local.sh setup"
      fi
    fi
  done
  if ((${#missing[@]})); then
    die "missing tools: ${missing[*]}; run: bash scripts/sam-local.sh setup (installs them with apt-get)"
  fi
  docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "no Docker engine answers at ${DOCKER_HOST:-the default socket}; start one with: bash scripts/sam-local.sh start"
}

# The runtime interface emulator that the SAM CLI ships (samcli/local/rapid/aws-lambda-rie-<arch>).
find_rie() {
  local arch="$1" python candidate
  for python in "$ROOT/.venv/bin/python" "$(command -v sam >/dev/null 2>&1 && head -n1 "$(command -v sam)" | sed -n 's/^#!\(\S*python\S*\).*/\1/p')"; do
    [[ -n "$python" && -x "$python" ]] || continue
    candidate="$("$python" -c 'import os, samcli; print(os.path.join(os.path.dirname(samcli.__file__), "local", "rapid"))' 2>/dev/null)/aws-lambda-rie-$arch" || continue
    if [[ -f "$candidate" ]]; then
      echo "$candidate"
      return
    fi
  done
  die "cannot find the SAM CLI's runtime interface emulator (samcli/local/rapid/aws-lambda-rie-$arch); run: bash scripts/setup-python-tools.sh"
}

# --------------------------------------------------------------------------- parts
# Node.js for the target architecture, from the npm package node-linux-<arch> (Node's release tarball).
fetch_node() {
  local dir="$CACHE/node/$NODE_VERSION-$NODE_PKG_ARCH"
  if [[ -x "$dir/bin/node" && -z "${LAMBDA_IMAGE_REBUILD:-}" ]]; then
    NODE_DIR="$dir"
    return
  fi
  local t0=$SECONDS tmp
  tmp="$(mktemp -d "$CACHE/tmp.XXXXXX")"
  log "fetching Node.js $NODE_VERSION ($NODE_PKG_ARCH) from npm (node-linux-$NODE_PKG_ARCH)"
  (cd "$tmp" && npm pack "node-linux-$NODE_PKG_ARCH@$NODE_VERSION" --silent >pack.out)
  mkdir -p "$tmp/node"
  tar -xzf "$tmp/$(tail -n1 "$tmp/pack.out")" -C "$tmp/node" --strip-components=1 --no-same-owner
  [[ -x "$tmp/node/bin/node" && -f "$tmp/node/include/node/node_api.h" ]] || die "node-linux-$NODE_PKG_ARCH@$NODE_VERSION has no bin/node or include/node"
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  mv "$tmp/node" "$dir"
  rm -rf "$tmp"
  NODE_DIR="$dir"
  log "Node.js $NODE_VERSION ($NODE_PKG_ARCH) ready ($(elapsed "$t0"))"
}

# aws-lambda-ric and what compiling its native client takes (node-gyp, node-addon-api), from the
# lockfile in scripts/lambda-image/, with no install scripts (they would build for this machine).
fetch_ric() {
  local dir="$CACHE/ric" key
  key="$(cat "$SRC/package.json" "$SRC/package-lock.json" | hash_of)"
  if [[ -f "$dir/.key" && "$(cat "$dir/.key")" == "$key" && -z "${LAMBDA_IMAGE_REBUILD:-}" ]]; then
    RIC_DIR="$dir"
    return
  fi
  local t0=$SECONDS
  log "installing aws-lambda-ric (scripts/lambda-image/package-lock.json)"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$key" >"$dir/.key"
  RIC_DIR="$dir"
  log "aws-lambda-ric ready ($(elapsed "$t0"))"
}

# The native Runtime API client (rapid-client.node) for the target architecture: libcurl and
# aws-lambda-cpp from the archives inside the aws-lambda-ric package, then the addon with
# node-gyp against the target Node's headers, all with the target's GNU toolchain
# (<triple>-gcc: native, or a cross compiler on another architecture).
build_addon() {
  local arch="$1" key dir
  key="$(printf '%s\n' "$(cat "$SRC/package-lock.json")" "$NODE_VERSION" "$arch" "${CURL_CONFIGURE_FLAGS[*]}" | hash_of)"
  dir="$CACHE/addon/$arch-$key"
  if [[ -f "$dir/rapid-client.node" && -z "${LAMBDA_IMAGE_REBUILD:-}" ]]; then
    ADDON="$dir/rapid-client.node"
    return
  fi
  local t0=$SECONDS work ric="$RIC_DIR/node_modules/aws-lambda-ric"
  work="$(mktemp -d "$CACHE/tmp.XXXXXX")"
  log "compiling the Runtime API client for $arch with $TRIPLE-g++ (logs in ${work#"$ROOT"/})"
  mkdir -p "$work/curl" "$work/lambda-cpp" "$work/prefix"
  tar -xJf "$ric/deps/curl.tar.xz" -C "$work/curl" --no-same-owner --warning=no-unknown-keyword
  tar -xJf "$ric/deps/aws-lambda-cpp.tar.xz" -C "$work/lambda-cpp" --no-same-owner --warning=no-unknown-keyword
  (
    export CC="$TRIPLE-gcc" CXX="$TRIPLE-g++" AR="$TRIPLE-ar" RANLIB="$TRIPLE-ranlib"
    cd "$work/curl"
    ./configure --host="$TRIPLE" --prefix="$work/prefix" "${CURL_CONFIGURE_FLAGS[@]}" >"$work/curl.log" 2>&1
    make -j "$JOBS" >>"$work/curl.log" 2>&1
    make install >>"$work/curl.log" 2>&1
  ) || die "building libcurl for $arch failed; see ${work#"$ROOT"/}/curl.log"
  # Only the prefix is searched for libraries, so nothing of this machine's own (libdw, …) gets linked.
  {
    cmake -S "$work/lambda-cpp" -B "$work/lambda-cpp/build" \
      -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR="${TRIPLE%%-*}" \
      -DCMAKE_CXX_COMPILER="$TRIPLE-g++" -DCMAKE_CXX_FLAGS=-fPIC -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_INSTALL_PREFIX="$work/prefix" \
      -DCMAKE_FIND_ROOT_PATH="$work/prefix" -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY \
      -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_PACKAGE=ONLY &&
      cmake --build "$work/lambda-cpp/build" -j "$JOBS" &&
      cmake --install "$work/lambda-cpp/build"
  } >"$work/lambda-cpp.log" 2>&1 || die "building aws-lambda-cpp for $arch failed; see ${work#"$ROOT"/}/lambda-cpp.log"
  # node-gyp in a copy of the package, so the cached install stays as npm left it.
  cp -R "$ric" "$work/ric"
  ln -s "$RIC_DIR/node_modules" "$work/node_modules"
  (
    cd "$work/ric"
    CC="$TRIPLE-gcc" CXX="$TRIPLE-g++" LINK="$TRIPLE-g++" AR="$TRIPLE-ar" DEPS_PREFIX="$work/prefix" \
      "$RIC_DIR/node_modules/.bin/node-gyp" rebuild --directory=src/native \
      --arch="$GYP_ARCH" --nodedir="$NODE_DIR" >"$work/node-gyp.log" 2>&1
  ) || die "compiling rapid-client.node for $arch failed; see ${work#"$ROOT"/}/node-gyp.log"
  local built="$work/ric/src/native/build/Release/rapid-client.node" needed
  # It may link only what every Lambda image has: libc, libstdc++, libgcc_s, libm and the loader.
  needed="$(readelf -d "$built" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -Ev '^(libc|libstdc\+\+|libgcc_s|libm|ld-linux[-a-z0-9_]*)\.so' || true)"
  [[ -z "$needed" ]] || die "rapid-client.node for $arch links unexpected libraries: $needed"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$built" "$dir/rapid-client.node"
  rm -rf "$work"
  ADDON="$dir/rapid-client.node"
  log "Runtime API client for $arch compiled ($(elapsed "$t0"))"
}

# The OS: a minimal Debian for the target architecture (maintainer scripts of a foreign one run
# under qemu-user), documentation left out.
build_debian() {
  local arch="$1" key file
  key="$(printf '%s\n' "$DEBIAN_SUITE" "$DEB_ARCH" "$DEBIAN_PACKAGES" essential | hash_of)"
  file="$CACHE/debian/$arch-$DEBIAN_SUITE-$key.tar"
  if [[ -f "$file" && -z "${LAMBDA_IMAGE_REBUILD:-}" ]]; then
    DEBIAN_TAR="$file"
    return
  fi
  local t0=$SECONDS tmp
  mkdir -p "$CACHE/debian"
  tmp="$CACHE/debian/partial-$$.tar" # mmdebstrap picks its output format by the extension
  log "building a Debian $DEBIAN_SUITE rootfs for $DEB_ARCH with mmdebstrap (log: ${file#"$ROOT"/}.log)"
  mmdebstrap --variant=essential --architectures="$DEB_ARCH" --include="$DEBIAN_PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$DEBIAN_SUITE" "$tmp" "$DEBIAN_MIRROR" >"$file.log" 2>&1 ||
    {
      rm -f "$tmp"
      die "mmdebstrap failed for $DEB_ARCH; see ${file#"$ROOT"/}.log"
    }
  mv "$tmp" "$file"
  find "$CACHE/debian" -name "$arch-*.tar" ! -path "$file" -delete
  DEBIAN_TAR="$file"
  log "Debian rootfs for $DEB_ARCH ready, $(du -h "$file" | cut -f1) ($(elapsed "$t0"))"
}

# The build context: the Dockerfile, the Debian rootfs and the runtime tree.
stage_context() {
  local arch="$1" rie="$2"
  local ctx="$CACHE/context/$arch"
  rm -rf "$ctx"
  mkdir -p "$ctx/runtime/var/lang/bin" "$ctx/runtime/var/runtime" "$ctx/runtime/var/task" \
    "$ctx/runtime/opt" "$ctx/runtime/usr/local/bin"
  cp "$SRC/Dockerfile" "$ctx/Dockerfile"
  ln "$DEBIAN_TAR" "$ctx/debian.tar" 2>/dev/null || cp "$DEBIAN_TAR" "$ctx/debian.tar"
  cp "$NODE_DIR/bin/node" "$ctx/runtime/var/lang/bin/node"
  cp "$RIC_DIR/node_modules/aws-lambda-ric/index.mjs" "$ctx/runtime/var/runtime/index.mjs"
  cp "$ADDON" "$ctx/runtime/var/runtime/rapid-client.node"
  cp "$RIC_DIR/node_modules/aws-lambda-ric/LICENSE" "$ctx/runtime/var/runtime/LICENSE.aws-lambda-ric"
  install -m 0755 "$SRC/bootstrap" "$ctx/runtime/var/runtime/bootstrap"
  install -m 0755 "$SRC/lambda-entrypoint.sh" "$ctx/runtime/lambda-entrypoint.sh"
  install -m 0755 "$rie" "$ctx/runtime/usr/local/bin/aws-lambda-rie"
  CONTEXT="$ctx"
}

image_key() {
  local arch="$1" rie="$2"
  {
    cat "$ROOT/scripts/lambda-base-image.sh" "$SRC/Dockerfile" "$SRC/bootstrap" "$SRC/lambda-entrypoint.sh" \
      "$SRC/package-lock.json"
    echo "$arch $NODE_VERSION $(basename "$DEBIAN_TAR") $(basename "$(dirname "$ADDON")")"
    sha256sum "$rie" | cut -d' ' -f1
  } | hash_of
}

# Invokes a handler through the image's own entrypoint, as one would the real image: the emulator
# on :8080 (published on a free port of 127.0.0.1), bootstrap, the runtime interface client, the
# Runtime API. The handler echoes the event with the runtime it saw, and whether the image itself
# offers an AWS SDK (it must not: a function that loads one under SAM got it from its layer).
smoke_test() {
  local tag="$1" dir cid port answer
  dir="$(mktemp -d "$CACHE/tmp.XXXXXX")"
  cat >"$dir/handler.js" <<'JS'
exports.handler = async (event, context) => ({
  echo: event,
  node: process.version,
  arch: process.arch,
  env: process.env.AWS_EXECUTION_ENV,
  requestId: context.awsRequestId,
  sdkInImage: (() => {
    try {
      require.resolve('@aws-sdk/client-dynamodb');
      return true;
    } catch {
      return false;
    }
  })(),
});
JS
  cid="$(docker run --detach --platform "$DOCKER_PLATFORM" --publish 127.0.0.1::8080 \
    --volume "$dir:/var/task:ro" "$tag" handler.handler 2>/dev/null)"
  port="$(docker port "$cid" 8080/tcp | head -n1 | sed 's/.*://')"
  answer="$(curl --silent --show-error --max-time 120 --retry 60 --retry-delay 1 --retry-connrefused \
    --data '{"smoke":"test"}' "http://127.0.0.1:$port/2015-03-31/functions/function/invocations" 2>&1)" || true
  docker rm --force "$cid" >/dev/null 2>&1 || true
  rm -rf "$dir"
  local want="\"node\":\"v$NODE_VERSION\",\"arch\":\"$GYP_ARCH\",\"env\":\"AWS_Lambda_nodejs22.x\""
  [[ "$answer" == *'"echo":{"smoke":"test"}'* && "$answer" == *"$want"* && "$answer" == *'"sdkInImage":false'* ]] ||
    die "$tag failed its smoke test (an invocation through the Runtime API); got: $answer"
}

build_image() {
  local arch="$1" tag="$IMAGE_REPO:22-$1" rie key current t0=$SECONDS
  arch_vars "$arch"
  rie="$(find_rie "$arch")"
  fetch_node
  build_addon "$arch"
  build_debian "$arch"
  key="$(image_key "$arch" "$rie")"
  current="$(docker image inspect --format "{{ index .Config.Labels \"$LABEL_KEY\" }}" "$tag" 2>/dev/null || true)"
  if [[ "$current" == "$key" && -z "${LAMBDA_IMAGE_REBUILD:-}" ]]; then
    log "$tag is current (key $key)"
    return
  fi
  stage_context "$arch" "$rie"
  log "building $tag (key $key)"
  # The classic builder, as the SAM CLI itself uses (no buildx plugin needed); its notice that
  # it is deprecated is left out of the output.
  local output
  output="$(DOCKER_BUILDKIT=0 docker build --quiet --platform "$DOCKER_PLATFORM" --build-arg "IMAGE_KEY=$key" \
    --tag "$tag" "$CONTEXT" 2>&1)" || die "docker build of $tag failed: $output"
  rm -rf "$CONTEXT"
  # The image this one replaces, and what the SAM CLI built on it, are of no use any more.
  docker image prune --force --filter "label=$LABEL_KEY" >/dev/null
  smoke_test "$tag"
  log "$tag built and invoked through the Runtime API: $(docker image inspect --format '{{.Size}}' "$tag" |
    awk '{printf "%.0f MB", $1 / 1e6}'), $(elapsed "$t0")"
}

# --------------------------------------------------------------------------- main
ARCHS=("$@")
((${#ARCHS[@]})) || ARCHS=(arm64)
for arch in "${ARCHS[@]}"; do arch_vars "$arch"; done
preflight
mkdir -p "$CACHE"
find "$CACHE" -maxdepth 1 -name 'tmp.*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
fetch_ric
for arch in "${ARCHS[@]}"; do
  build_image "$arch"
done
