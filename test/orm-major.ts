import { Utils } from '@mikro-orm/core';

/** The major of the installed `@mikro-orm/core` (6 for `npm test`, 7 for `npm run test:mikro-orm-7`). */
export function ormMajor(): number {
  return Number.parseInt(Utils.getORMVersion(), 10);
}
