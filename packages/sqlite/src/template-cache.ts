import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { TenantFiles } from './tenant-files.js';
import { fileExists, placeNoOverwrite } from './tenant-files.js';

/** Builds an up-to-date, empty tenant database at the given path. */
export type DatabaseBuilder = (path: string) => Promise<void>;

/**
 * Keeps one template database per schema key: a freshly migrated database that never held a tenant's
 * rows. New tenants are copies of it. The template is written with `VACUUM INTO` (a consistent copy,
 * never a copy of a live WAL file) and put in place atomically, so a crash never leaves a half-built
 * template; a new schema key (a new migration) makes the next provisioning build a new one. Its files
 * get the tenant folder's file mode, which copies of it keep.
 */
export class TemplateCache {
  readonly #files: TenantFiles;
  readonly #key: string;
  readonly #build: DatabaseBuilder;
  #building?: Promise<string>;

  constructor(files: TenantFiles, key: string, build: DatabaseBuilder) {
    this.#files = files;
    this.#key = key;
    this.#build = build;
  }

  /** Path of the template for the current schema key (it may not exist yet). */
  get path(): string {
    return join(this.#files.internalDir, `template-${this.#key}.sqlite3`);
  }

  /** Path of a ready template, building it first if needed (once per process at a time). */
  async ensure(): Promise<string> {
    if (fileExists(this.path)) {
      return this.path;
    }
    this.#building ??= this.#buildTemplate().finally(() => { this.#building = undefined; });
    return this.#building;
  }

  /** Removes every template (current and outdated). Returns how many files were removed. */
  async clear(): Promise<number> {
    const names = await fsp.readdir(this.#files.internalDir).catch(() => [] as string[]);
    const templates = names.filter(name => /^template-[0-9a-f]+\.sqlite3(-wal|-shm)?$/.test(name));
    await Promise.all(templates.map(name => fsp.rm(join(this.#files.internalDir, name), { force: true })));
    return templates.filter(name => name.endsWith('.sqlite3')).length;
  }

  async #buildTemplate(): Promise<string> {
    this.#files.ensureDirs();
    const built = this.#files.tmpPath('template-build');
    // VACUUM INTO writes into an empty file and keeps its mode (owner-only); a file it creates itself gets 0644.
    const compact = this.#files.createTmpFile('template');
    try {
      await this.#build(built);
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(built, { fileMustExist: true });
      try {
        db.prepare('vacuum into ?').run(compact);
      } finally {
        db.close();
      }
      const fresh = new Database(compact, { fileMustExist: true });
      try {
        fresh.pragma('journal_mode = WAL');
      } finally {
        fresh.close();
      }
      await placeNoOverwrite(compact, this.path);
      await this.#removeOutdated();
      return this.path;
    } finally {
      await Promise.all([built, `${built}-wal`, `${built}-shm`, compact, `${compact}-wal`, `${compact}-shm`]
        .map(path => fsp.rm(path, { force: true })));
    }
  }

  async #removeOutdated(): Promise<void> {
    const current = `template-${this.#key}.sqlite3`;
    const names = await fsp.readdir(this.#files.internalDir).catch(() => [] as string[]);
    await Promise.all(names
      .filter(name => /^template-[0-9a-f]+\.sqlite3$/.test(name) && name !== current)
      .map(name => fsp.rm(join(this.#files.internalDir, name), { force: true })));
  }
}
