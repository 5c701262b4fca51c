import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsConstants, existsSync, mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { TenantError, canonicalTenantId } from '@mikro-tenant/core';

/** Default file name pattern; `{id}` is replaced by the canonical tenant id. */
export const DEFAULT_NAME_PATTERN = 'tenant_{id}.sqlite3';

/** SQLite's companion files, removed together with a database. */
export const SQLITE_SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Maps tenant ids to database files inside one folder, and back.
 *
 * The mapping is injective: the pattern holds `{id}` exactly once between a fixed prefix and suffix,
 * and ids are canonical (see `canonicalTenantId`), so two ids never share a file. Every path it
 * returns is checked to lie inside the folder. Internal files (templates, files being built) live in
 * the `.mikro-tenant` sub-folder, a name no tenant file can take.
 */
export class TenantFiles {
  /** Absolute tenant folder. */
  readonly dir: string;
  /** Absolute folder for templates and files under construction. */
  readonly internalDir: string;
  readonly #prefix: string;
  readonly #suffix: string;

  /**
   * @throws TenantError `ERR_INVALID_OPTION` for a pattern without exactly one `{id}`, or with separators
   */
  constructor(dir: string, namePattern = DEFAULT_NAME_PATTERN) {
    if (typeof dir !== 'string' || dir.length === 0 || dir.includes('\0')) {
      throw TenantError.invalidOption('tenancy.dir', 'expected a folder path');
    }
    const parts = namePattern.split('{id}');
    if (parts.length !== 2) {
      throw TenantError.invalidOption('tenancy.namePattern', `"${namePattern}" must contain {id} exactly once`);
    }
    const sample = parts.join('x');
    if (!PLAIN_NAME.test(sample) || /[/\\]/.test(namePattern)) {
      throw TenantError.invalidOption('tenancy.namePattern',
        `"${namePattern}" must be a plain file name (letters, digits, '_', '-', '.'; no folders, not starting with '.')`);
    }
    this.dir = resolve(dir);
    this.internalDir = join(this.dir, '.mikro-tenant');
    this.#prefix = parts[0]!;
    this.#suffix = parts[1]!;
  }

  /** Creates the tenant folder and the internal folders if missing. */
  ensureDirs(): void {
    mkdirSync(join(this.internalDir, 'tmp'), { recursive: true });
  }

  /**
   * File name of a tenant's database.
   * @throws TenantError `ERR_INVALID_TENANT_ID`
   */
  fileName(tenantId: unknown): string {
    const id = canonicalTenantId(tenantId);
    const name = `${this.#prefix}${id}${this.#suffix}`;
    if (WINDOWS_DEVICE.test(name.split('.')[0]!)) {
      throw TenantError.invalidTenantId(id, 'the file name would be a reserved device name');
    }
    return name;
  }

  /**
   * Absolute path of a tenant's database, guaranteed to be inside {@link dir}.
   * @throws TenantError `ERR_INVALID_TENANT_ID`
   */
  path(tenantId: unknown): string {
    const file = resolve(this.dir, this.fileName(tenantId));
    if (!file.startsWith(this.dir + sep) || isAbsolute(this.fileName(tenantId))) {
      throw TenantError.invalidTenantId(tenantId, 'it resolves outside the tenant folder');
    }
    return file;
  }

  /** The tenant id a file name belongs to, or `undefined` if it is not a tenant file. */
  tenantIdOf(fileName: string): string | undefined {
    if (!fileName.startsWith(this.#prefix) || !fileName.endsWith(this.#suffix)) {
      return undefined;
    }
    const id = fileName.slice(this.#prefix.length, fileName.length - this.#suffix.length);
    try {
      return this.fileName(id) === fileName ? id : undefined;
    } catch {
      return undefined;
    }
  }

  /** A fresh, unique path in the internal tmp folder (same file system as the tenant files). */
  tmpPath(label: string): string {
    return join(this.internalDir, 'tmp', `${label}.${process.pid}.${randomBytes(6).toString('hex')}.sqlite3`);
  }

  /** Tenant ids of all tenant files in the folder (a scan: for admin tools, never per request). */
  async scan(): Promise<string[]> {
    const names = await fsp.readdir(this.dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        return [] as string[];
      }
      throw error;
    });
    return names.map(name => this.tenantIdOf(name)).filter((id): id is string => id !== undefined).sort();
  }
}

/** True when the file exists. */
export function fileExists(path: string): boolean {
  return existsSync(path);
}

/**
 * Moves a fully built file to `target` only if `target` does not exist, atomically: a hard link
 * either creates the name with the complete file or fails with EEXIST, and never replaces a file.
 * The source is removed either way. Returns false when `target` already existed.
 */
export async function placeNoOverwrite(source: string, target: string): Promise<boolean> {
  try {
    await fsp.link(source, target);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      return false;
    }
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'ENOSYS') {
      throw error;
    }
    // File systems without hard links: an exclusive copy still never overwrites.
    try {
      await fsp.copyFile(source, target, fsConstants.COPYFILE_EXCL);
      return true;
    } catch (copyError) {
      if ((copyError as NodeJS.ErrnoException).code === 'EEXIST') {
        return false;
      }
      throw copyError;
    }
  } finally {
    await fsp.rm(source, { force: true });
  }
}

/** Removes a database file and its `-wal`, `-shm` and `-journal` files. Returns true if the database existed. */
export async function removeDatabaseFiles(path: string): Promise<boolean> {
  const existed = existsSync(path);
  for (const suffix of SQLITE_SIDE_FILES) {
    await fsp.rm(path + suffix, { force: true });
  }
  await fsp.rm(path, { force: true });
  for (const suffix of SQLITE_SIDE_FILES) {
    await fsp.rm(path + suffix, { force: true });
  }
  return existed;
}

/** Removes leftovers of builds in the tmp folder whose process is gone (a crash mid-provisioning). */
export async function removeStaleTmpFiles(files: TenantFiles): Promise<number> {
  const tmpDir = join(files.internalDir, 'tmp');
  const names = await fsp.readdir(tmpDir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const pid = Number(name.split('.').at(-3));
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
      await fsp.rm(join(tmpDir, name), { force: true });
      removed++;
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
