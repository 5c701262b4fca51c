// Quick start: paste into a file of a project with @mikro-tenant/sqlite installed, run with `npx tsx quickstart.ts`.
import { defineEntity, p } from '@mikro-orm/core';
import { SqliteTenancy } from '@mikro-tenant/sqlite';

// Shared: one table in the shared database.
const User = defineEntity({
  name: 'User',
  properties: { id: p.string().primary(), name: p.string() },
});

// Per-tenant: one table in every tenant's own file, referencing the shared User.
const Note = defineEntity({
  name: 'Note',
  properties: {
    id: p.integer().primary().autoincrement(),
    text: p.string(),
    author: () => p.manyToOne(User),
  },
});

const dataDir = process.env.DATA_DIR ?? '.data';
const tenancy = await SqliteTenancy.init({
  dbName: `${dataDir}/shared.sqlite3`,
  entities: [User],
  tenancy: { dir: `${dataDir}/tenants`, entities: [Note] },
});
await tenancy.sharedSchema.update(); // the shared tables (use migrations in production)

const ann = await tenancy.orm.em.fork().upsert(User, { id: 'ann', name: 'Ann' }); // her id doubles as her tenant id

// Everything inside run() uses Ann's own database file, created on first use from a template.
await tenancy.run(ann, async tem => {
  tem.create(Note, { text: 'Hello from my own database', author: ann.id });
  await tem.flush();
  // MikroORM's global EntityManager is Ann's here too (so are tenancy.em and RequestContext.getEntityManager()).
  const notes = await tenancy.orm.em.find(Note, {}, { populate: ['author'] });
  console.log(notes.map(n => `${n.author.name}: ${n.text}`));
});

await tenancy.run('bob', async () => console.log('bob sees', await tenancy.em.count(Note), 'notes'));

try {
  await tenancy.em.find(Note, {}); // no tenant active
} catch (error) {
  console.log((error as { code: string }).code); // ERR_NO_TENANT_CONTEXT
}

await tenancy.deleteTenant('bob');
await tenancy.close();
