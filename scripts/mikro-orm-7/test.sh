#!/usr/bin/env bash
# `npm run test:mikro-orm-7 [-- mocha args]`: the whole suite on MikroORM 7 and Node 22 (see run.sh), but the
# row strategy's tests (test/row/): @mikro-tenant/row runs on MikroORM 6.6 only so far (the example app's
# row strategies are skipped on 7 too, and say so).
set -euo pipefail
exec bash "$(dirname "$0")/run.sh" sh -c 'node scripts/orm-version.mjs && npx mocha --ignore "test/row/**/*.test.ts" "$@"' mocha "$@"
