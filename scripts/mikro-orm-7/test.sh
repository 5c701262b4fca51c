#!/usr/bin/env bash
# `npm run test:mikro-orm-7 [-- mocha args]`: the whole suite on MikroORM 7 and Node 22, next to the
# repository's own install (MikroORM 6.6, the machine's Node), which it leaves untouched: Node 22 and
# the 7.x packages come from setup.sh's cache, and overlay-hook.mjs makes every process of the run
# (mocha, its workers, the CLI's child processes) resolve MikroORM, kysely and better-sqlite3 from there.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
eval "$(bash "$ROOT/scripts/mikro-orm-7/setup.sh")"
export PATH="$NODE_22_BIN:$PATH" MIKRO_ORM_7_DEPS
export NODE_OPTIONS="--import=$ROOT/scripts/mikro-orm-7/overlay-hook.mjs${NODE_OPTIONS:+ $NODE_OPTIONS}"
cd "$ROOT"
node scripts/orm-version.mjs
# The packages as `npm test` builds them, plus the MikroORM 7 folder, type-checked against the 7 typings.
npx tsc -b
npx tsc -p packages/sqlite/tsconfig.mikro-orm-7.json
npx mocha "$@"
