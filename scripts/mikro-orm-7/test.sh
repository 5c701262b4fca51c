#!/usr/bin/env bash
# `npm run test:mikro-orm-7 [-- mocha args]`: the whole suite on MikroORM 7 and Node 22 (see run.sh).
set -euo pipefail
exec bash "$(dirname "$0")/run.sh" sh -c 'node scripts/orm-version.mjs && npx mocha "$@"' mocha "$@"
