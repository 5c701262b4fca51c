import { constants as fsConstants, chmodSync, mkdirSync, promises as fsp, statSync } from 'node:fs';
import type { TemplateCache } from './template-cache.js';
import type { TenantFiles } from './tenant-files.js';

/** Spare copies kept ready per process at first. */
export const SPARES = 4;

/** The most spare copies a process keeps ready once bursts of new tenants have outrun fewer. */
export const MAX_SPARES = 16;

/**
 * A few copies of the template made ahead of need, so that provisioning a tenant is a hard link of a
 * spare into place instead of a copy of the template on the request's path. Copies are made in the
 * background (libuv's thread pool) after one is taken. A tenant that finds none ready (a burst outran
 * them) doubles how many are kept, up to {@link MAX_SPARES}, so a process that provisions in bursts soon
 * provisions its bursts by links alone.
 *
 * What keeps them safe:
 * - A spare is a copy of this process's template (one schema key, fixed for the tenancy's life) and is
 *   never opened, so it holds no tenant's data and no other schema version; {@link clear} (the template
 *   cleared) throws the current spares away, and copies finishing after it are thrown away too.
 * - Spares live in the internal `spares` folder under names carrying the schema key and this process's
 *   id: never where a tenant file belongs, never taken by another process, removed by `close()`, and
 *   after a crash at the next start (as temporary files of a dead process are).
 * - A spare is handed out once: taken off the list before it is used, whatever happens to it then.
 * - They get the tenant files' mode (`fileMode`), as a copy made at provisioning does.
 */
export class TemplateSpares {
  readonly #files: TenantFiles;
  readonly #template: TemplateCache;
  readonly #key: string;
  #size: number;
  readonly #max: number;
  readonly #ready: string[] = [];
  #refilling?: Promise<void>;
  /** Bumped by clear(): copies started before it are discarded when they finish. */
  #generation = 0;
  #closed = false;
  /** Some spare was made: a take that finds none after that was a burst outrunning them (not a cold start). */
  #primed = false;

  /**
   * @param key the template's schema key @param size how many spares to keep ready at first
   * @param max how many at most, after bursts that found none ready
   */
  constructor(files: TenantFiles, template: TemplateCache, key: string, size = SPARES, max = Math.max(size, MAX_SPARES)) {
    this.#files = files;
    this.#template = template;
    this.#key = key;
    this.#size = size;
    this.#max = max;
  }

  /** Spares ready now. */
  get ready(): number {
    return this.#ready.length;
  }

  /** How many spares are kept ready now (grows after bursts, up to the maximum). */
  get target(): number {
    return this.#size;
  }

  /**
   * A ready spare's path, now the caller's (to link into place, or to remove), or `undefined` when none
   * is ready. Either way the spares are topped up in the background.
   */
  take(): string | undefined {
    const spare = this.#ready.pop();
    if (spare === undefined && this.#primed && !this.#closed) {
      this.#size = Math.min(this.#max, this.#size * 2);
    }
    this.fill();
    return spare;
  }

  /** Starts topping the spares up in the background, unless that is under way. */
  fill(): void {
    if (!this.#refilling && !this.#closed && this.#ready.length < this.#size) {
      this.#refilling = this.#refill().catch(() => undefined).finally(() => { this.#refilling = undefined; });
    }
  }

  /** Resolves when the background copying under way is done. */
  async settle(): Promise<void> {
    await this.#refilling;
  }

  /** Throws the spares away (the template was cleared); later ones are copies of the template built next. */
  async clear(): Promise<void> {
    this.#generation++;
    const spares = this.#ready.splice(0);
    await Promise.all(spares.map(path => fsp.rm(path, { force: true })));
  }

  /** Stops making spares and removes them. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.settle();
    await this.clear();
  }

  async #refill(): Promise<void> {
    while (!this.#closed && this.#ready.length < this.#size) {
      const generation = this.#generation;
      const template = await this.#template.ensure();
      mkdirSync(this.#files.sparesDir, { recursive: true, mode: this.#files.modes.dirMode });
      // The missing copies side by side (libuv's thread pool), each ready as soon as it is made.
      await Promise.all(Array.from({ length: this.#size - this.#ready.length }, async () => {
        const spare = await this.#copy(template);
        if (generation !== this.#generation || this.#closed) {
          await fsp.rm(spare, { force: true });
        } else {
          this.#ready.push(spare);
          this.#primed = true;
        }
      }));
      if (generation !== this.#generation) {
        return;
      }
    }
  }

  async #copy(template: string): Promise<string> {
    const spare = this.#files.sparePath(this.#key);
    try {
      // FICLONE: a copy-on-write clone where the file system has them (btrfs, XFS), else a plain copy.
      await fsp.copyFile(template, spare, fsConstants.COPYFILE_FICLONE);
      keepWithinMode(spare, this.#files.modes.fileMode);
      return spare;
    } catch (error) {
      await fsp.rm(spare, { force: true });
      throw error;
    }
  }
}

/**
 * A copy takes its source's mode: a template left by an older version (0644) must not hand its looser
 * mode to tenant files, so the bits outside `fileMode` are dropped (never added).
 */
export function keepWithinMode(path: string, fileMode: number): void {
  const mode = statSync(path).mode & 0o777;
  if ((mode & ~fileMode) !== 0) {
    chmodSync(path, mode & fileMode);
  }
}
