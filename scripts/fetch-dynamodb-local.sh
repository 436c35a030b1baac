#!/usr/bin/env bash
# Fetch DynamoDB Local (DynamoDBLocal.jar + DynamoDBLocal_lib) into .cache/dynamodb-local/.
#
# The jar is taken from the npm tarball of amplify-dynamodb-simulator (package/emulator/), because the
# npm registry is reachable from CI while the AWS download bucket may not be. The package is only
# packed and extracted, never installed (its dependency tree is huge). Idempotent: a no-op when the
# jar is already present.
set -euo pipefail

PKG_SPEC="amplify-dynamodb-simulator@2.9.30"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.cache/dynamodb-local"

if [[ -f "$DEST/DynamoDBLocal.jar" && -d "$DEST/DynamoDBLocal_lib" ]]; then
  echo "DynamoDB Local already present in $DEST"
  exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "fetch-dynamodb-local: npm not found on PATH" >&2; exit 1; }
command -v tar >/dev/null 2>&1 || { echo "fetch-dynamodb-local: tar not found on PATH" >&2; exit 1; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "Fetching DynamoDB Local from npm package $PKG_SPEC ..."
(cd "$TMP" && npm pack "$PKG_SPEC" --silent >"$TMP/pack.out")
TARBALL="$TMP/$(tail -n 1 "$TMP/pack.out")"
if [[ ! -f "$TARBALL" ]]; then
  echo "fetch-dynamodb-local: npm pack did not produce a tarball (output: $(cat "$TMP/pack.out"))" >&2
  exit 1
fi

tar -xzf "$TARBALL" -C "$TMP"
SRC="$TMP/package/emulator"
if [[ ! -f "$SRC/DynamoDBLocal.jar" || ! -d "$SRC/DynamoDBLocal_lib" ]]; then
  echo "fetch-dynamodb-local: $PKG_SPEC has no emulator/DynamoDBLocal.jar + DynamoDBLocal_lib" >&2
  exit 1
fi

# Copy into a staging dir next to DEST and rename, so an interrupted run never leaves a half-copied jar.
mkdir -p "$(dirname "$DEST")"
STAGE="$DEST.partial.$$"
rm -rf "$STAGE"
mkdir -p "$STAGE"
cp -R "$SRC/." "$STAGE/"
rm -rf "$DEST"
mv "$STAGE" "$DEST"

echo "DynamoDB Local installed in $DEST ($(du -sh "$DEST" | cut -f1))"
