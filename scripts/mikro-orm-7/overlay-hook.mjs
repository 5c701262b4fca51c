/**
 * Loaded with `--import` (through NODE_OPTIONS, so child processes get it too) by `test.sh`: resolves
 * MikroORM, its SQL stack and better-sqlite3 from the MikroORM 7 install that `setup.sh` made, wherever
 * the importing file lives (our packages, tests, examples), instead of from the repository's
 * `node_modules`, which holds the MikroORM 6 stack. Packages inside the 7 install resolve as usual.
 * knex and `@mikro-orm/knex` are not in the 7 install: importing them fails, as it would in a 7 app.
 */
import { createRequire, registerHooks } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const dir = process.env.MIKRO_ORM_7_DEPS;
if (!dir) {
  throw new Error('overlay-hook: MIKRO_ORM_7_DEPS (the folder of the MikroORM 7 install) is not set; run scripts/mikro-orm-7/test.sh');
}
const parentURL = pathToFileURL(join(dir, 'package.json')).href;
const inside = pathToFileURL(join(dir, 'node_modules')).href + '/';
const requireFrom7 = createRequire(parentURL);
const OVERLAID = /^(?:@mikro-orm\/[^/]+|better-sqlite3|kysely|knex)(?:\/|$)/;

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (!OVERLAID.test(specifier) || context.parentURL?.startsWith(inside)) {
      return nextResolve(specifier, context);
    }
    // require() resolves from the requiring module's own folders, whatever the parentURL: resolve it here.
    const resolved = context.conditions?.includes('require')
      ? { url: pathToFileURL(requireFrom7.resolve(specifier)).href, shortCircuit: true }
      : nextResolve(specifier, { ...context, parentURL });
    // Resolution walks up past the 7 install (into the repository's node_modules when the cache is inside it).
    if (!resolved.url.startsWith(inside)) {
      throw Object.assign(new Error(`Cannot find package '${specifier}' in the MikroORM 7 install (${dir})`), { code: 'ERR_MODULE_NOT_FOUND' });
    }
    return resolved;
  },
});
