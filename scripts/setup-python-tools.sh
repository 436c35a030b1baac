#!/usr/bin/env bash
# Create the Python tooling used by scripts/sam-checks.sh, pinned:
#   .venv/          aws-sam-cli + cfn-lint
#   .venv/checkov/  checkov, in its own venv: aws-sam-cli 1.170.0 pins boto3==1.43.108 and checkov 3.3.30
#                   pins boto3==1.35.49, so pip cannot put them in one environment. The checkov entry
#                   point is symlinked into .venv/bin, so activating .venv puts all three tools on PATH.
# Idempotent: pip is skipped when every pin is already installed at its pinned version.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
CHECKOV_VENV="$VENV/checkov"
PYTHON="${PYTHON:-python3}"

SAM_PINS=("aws-sam-cli==1.170.0" "cfn-lint==1.58.0")
CHECKOV_PINS=("checkov==3.3.30")

export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_NO_INPUT=1

start=$SECONDS

# Returns 0 when every pin ("name==version") is installed in the venv at exactly that version.
pins_satisfied() {
  local venv="$1"
  shift
  "$venv/bin/python" - "$@" <<'PY'
import sys
from importlib import metadata

missing = []
for pin in sys.argv[1:]:
    name, _, want = pin.partition("==")
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    if have != want:
        missing.append(f"{name} (want {want}, have {have})")
if missing:
    print("setup-python-tools: needs install: " + ", ".join(missing))
    sys.exit(1)
PY
}

# ensure_venv DIR PIN... : create DIR as a venv if needed, then install the pins unless already present.
ensure_venv() {
  local venv="$1"
  shift
  if [[ ! -x "$venv/bin/python" ]]; then
    command -v "$PYTHON" >/dev/null 2>&1 || { echo "setup-python-tools: $PYTHON not found on PATH" >&2; exit 1; }
    echo "Creating virtualenv ${venv#"$ROOT"/} ($("$PYTHON" --version 2>&1))"
    "$PYTHON" -m venv "$venv"
  fi
  if pins_satisfied "$venv" "$@"; then
    echo "Already installed in ${venv#"$ROOT"/}: $*"
  else
    echo "Installing into ${venv#"$ROOT"/}: $*"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "$@"
    pins_satisfied "$venv" "$@"
  fi
}

ensure_venv "$VENV" "${SAM_PINS[@]}"
ensure_venv "$CHECKOV_VENV" "${CHECKOV_PINS[@]}"
ln -sfn "../checkov/bin/checkov" "$VENV/bin/checkov"

echo "$("$VENV/bin/sam" --version)"
echo "cfn-lint $("$VENV/bin/cfn-lint" --version | awk '{print $NF}')"
echo "checkov $("$VENV/bin/checkov" --version)"
echo "setup-python-tools: done in $((SECONDS - start))s"
