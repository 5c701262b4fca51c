// First line of every test run: which MikroORM and which Node the suite runs on.
import { Utils } from '@mikro-orm/core';

console.log(`mikro-orm ${Utils.getORMVersion()} on node ${process.versions.node}`);
