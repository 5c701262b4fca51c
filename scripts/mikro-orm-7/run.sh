#!/usr/bin/env bash
# `bash scripts/mikro-orm-7/run.sh <command...>`: runs a command on MikroORM 7 and Node 22, next to the
# repository's own install (MikroORM 6.6, the machine's Node), which it leaves untouched. Node 22 and
# the 7.x packages come from setup.sh's cache; overlay-hook.mjs makes every Node process of the command
# (mocha, its workers, the CLI's child processes, the example app) resolve MikroORM, kysely and
# better-sqlite3 from there. The packages are built first; their code outside mikro-orm-6/ is type-checked
# against the 7 typings too (tsconfig.mikro-orm-7.json, packages/{sqlite,postgresql,row}/tsconfig.mikro-orm-7.json).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
eval "$(bash "$ROOT/scripts/mikro-orm-7/setup.sh")"
export PATH="$NODE_22_BIN:$PATH" MIKRO_ORM_7_DEPS
# Tests that start a child process with NODE_OPTIONS of their own keep this part.
export MIKRO_ORM_7_NODE_OPTIONS="--import=$ROOT/scripts/mikro-orm-7/overlay-hook.mjs"
export NODE_OPTIONS="$MIKRO_ORM_7_NODE_OPTIONS${NODE_OPTIONS:+ $NODE_OPTIONS}"
cd "$ROOT"
npx tsc -b
npx tsc -p packages/sql/tsconfig.mikro-orm-7.json
npx tsc -p packages/sqlite/tsconfig.mikro-orm-7.json
npx tsc -p packages/postgresql/tsconfig.mikro-orm-7.json
npx tsc -p packages/row/tsconfig.mikro-orm-7.json
npx tsc -p tsconfig.mikro-orm-7.json
exec "$@"
