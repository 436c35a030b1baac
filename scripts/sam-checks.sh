#!/usr/bin/env bash
# Static checks + build of the SAM template (npm run validate):
#   cfn-lint, sam validate --lint, sam build (no container), checkov.
# Needs the Python tools from scripts/setup-python-tools.sh. Runs every check, then exits non-zero if any
# failed. Env overrides: TEMPLATE (default template.yaml), SAM_BUILD_FLAGS (extra `sam build` flags,
# e.g. "--cached" for faster local rebuilds).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TEMPLATE="${TEMPLATE:-template.yaml}"
VENV="$ROOT/.venv"

export SAM_CLI_TELEMETRY=0
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"
export BC_SKIP_MAPPING=TRUE # checkov: do not download guideline mappings from the Bridgecrew API

if [[ ! -f "$VENV/bin/activate" ]]; then
  echo "sam-checks: $VENV missing; run: bash scripts/setup-python-tools.sh" >&2
  exit 1
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"

if [[ ! -f "$TEMPLATE" ]]; then
  echo "sam-checks: $TEMPLATE not found in $ROOT" >&2
  exit 1
fi

failed=()
run() {
  local name="$1"
  shift
  local t0=$SECONDS
  echo "::: sam-checks: $name"
  if "$@"; then
    echo "::: sam-checks: $name OK ($((SECONDS - t0))s)"
  else
    echo "::: sam-checks: $name FAILED ($((SECONDS - t0))s)" >&2
    failed+=("$name")
  fi
}

checkov_args=(-f "$TEMPLATE" --framework cloudformation --quiet --compact)
if [[ -f .checkov.yaml ]]; then
  # Skips (skip-check: [...]) and other settings live in checkov's native config file format.
  checkov_args+=(--config-file .checkov.yaml)
fi

# Not cached by default (--no-cached, as samconfig.toml's cached = false does for `npm run build`):
# CI starts from a fresh clone (nothing to reuse), and a stale cache is worse than a slower build;
# SAM_BUILD_FLAGS="--cached" opts in. Not using a container: no Docker here; Node 20 on PATH builds
# the functions.
# Never --build-in-source: for esbuild functions whose CodeUri holds package.json it runs
# `npm install --production` in the repo itself, pruning the devDependencies from node_modules.
if [[ " ${SAM_BUILD_FLAGS:-} " == *" --build-in-source "* ]]; then
  echo "sam-checks: refusing SAM_BUILD_FLAGS=--build-in-source (it prunes devDependencies from node_modules)" >&2
  exit 2
fi
cache_flag=(--no-cached)
if [[ " ${SAM_BUILD_FLAGS:-} " == *" --cached "* ]]; then cache_flag=(); fi
run "cfn-lint" cfn-lint "$TEMPLATE"
run "sam validate --lint" sam validate --lint --template-file "$TEMPLATE"
# shellcheck disable=SC2086 # SAM_BUILD_FLAGS is deliberately word-split
# scripts/sam-build.sh (npm run build) puts the project's esbuild on PATH for SAM's esbuild workflow.
run "sam build" bash scripts/sam-build.sh --template-file "$TEMPLATE" "${cache_flag[@]}" ${SAM_BUILD_FLAGS:-}
run "checkov" checkov "${checkov_args[@]}"

if ((${#failed[@]})); then
  echo "sam-checks: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "sam-checks: all checks passed"
