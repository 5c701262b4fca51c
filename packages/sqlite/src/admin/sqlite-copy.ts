import Database from 'better-sqlite3';

/** Pages per backup step: everything in one step, so writes of other connections cannot restart the copy over and over. */
const ALL_PAGES = 0x7fffffff;

/**
 * Copies a live SQLite database to `target` through SQLite's online backup API, from a separate read-only
 * connection: the copy is the consistent state of one moment (the app may keep writing), `-wal` contents
 * included. With `selfContained` the copy is switched to the rollback journal, so it stays one file even
 * when opened read-only (a WAL-mode file gets `-wal`/`-shm` files next to it). Resolves the pages copied.
 */
export async function backupDatabase(source: Database.Database | string, target: string, options: { selfContained?: boolean } = {}): Promise<number> {
  const db = typeof source === 'string' ? new Database(source, { readonly: true, fileMustExist: true }) : source;
  try {
    const { totalPages } = await db.backup(target, { progress: () => ALL_PAGES });
    if (options.selfContained) {
      const copy = new Database(target, { fileMustExist: true });
      try {
        copy.pragma('journal_mode = DELETE');
      } finally {
        copy.close();
      }
    }
    return totalPages;
  } finally {
    if (typeof source === 'string') {
      db.close();
    }
  }
}
