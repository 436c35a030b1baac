#!/usr/bin/env bash
# npm run build: `sam build` with this project's pinned esbuild (extra arguments go to sam build).
#
# SAM's esbuild workflow looks for esbuild in `npm root` of a scratch directory and then on PATH,
# never in the project's node_modules/.bin, so a bare `sam build` after `npm ci` fails with
# "Cannot find esbuild". This puts the project's esbuild first on PATH, then runs sam build from
# the repository root. The SAM CLI is the one on PATH, else the pinned one in .venv/ (CI).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ ! -x node_modules/.bin/esbuild ]]; then
  echo "npm run build: node_modules/.bin/esbuild not found; run npm ci first." >&2
  exit 1
fi
export PATH="$ROOT/node_modules/.bin:$PATH"
if ! command -v sam >/dev/null 2>&1; then
  if [[ -x .venv/bin/sam ]]; then
    export PATH="$ROOT/.venv/bin:$PATH"
  else
    echo "npm run build: the AWS SAM CLI is not on PATH. Install it:" >&2
    echo "  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html" >&2
    echo "  (or: bash scripts/setup-python-tools.sh, which pins it in .venv/)" >&2
    exit 1
  fi
fi
export SAM_CLI_TELEMETRY="${SAM_CLI_TELEMETRY:-0}"
exec sam build "$@"
