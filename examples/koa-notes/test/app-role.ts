import pg from 'pg';
import { pgServer } from '../../../test/postgres/server.js';
import type { TestDatabase } from '../../../test/postgres/helpers.js';

/**
 * Drops the role the app creates for `STRATEGY=pg-row` on a test database (`<database>_app`): roles
 * belong to the server and outlive the database.
 */
export async function dropAppRole(db: TestDatabase): Promise<void> {
  const client = new pg.Client({ connectionString: (await pgServer()).url });
  await client.connect();
  try {
    await client.query(`drop role if exists "${db.name}_app"`);
  } finally {
    await client.end();
  }
}
