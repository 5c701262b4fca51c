import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsConstants, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { TenantError, canonicalTenantId } from '@mikro-tenant/core';

/** Default file name pattern; `{id}` is replaced by the canonical tenant id. */
export const DEFAULT_NAME_PATTERN = 'tenant_{id}.sqlite3';

/** SQLite's companion files, removed together with a database. */
export const SQLITE_SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

/** Mode of the folders the library creates (tenant folder, its internal folders, backup folders): owner only. */
export const DEFAULT_DIR_MODE = 0o700;
/** Mode of the database files the library creates (tenants, templates, temporary files, backups): owner only. */
export const DEFAULT_FILE_MODE = 0o600;

/** Modes of the folders and files a {@link TenantFiles} creates (before the process umask). */
export interface FileModes {
  /** @default 0o700 */
  dirMode: number;
  /** @default 0o600 (SQLite gives a database's -wal, -shm and -journal files the database's own mode) */
  fileMode: number;
}

/** Every companion file name SQLite derives from a database name: the fixed ones and super-journals (`-mj` + hex digits). */
const SIDE_FILE = /-(wal|shm|journal|mj[0-9A-Fa-f]+)$/;

const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;
const PLAIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Checks a file name pattern and splits it around `{id}`.
 *
 * The part after `{id}` must hold a '.', so no id can name another tenant's companion file: ids have no
 * '.', nor has any suffix SQLite adds (`-wal`, `-shm`, `-journal`, `-mj...`). Were `prefix + b + suffix`
 * equal to `prefix + a + suffix + side`, the text after the last '.' (inside `suffix` on both sides)
 * would be longer on the right by `side`: impossible. A pattern without that '.' (`'db_{id}'`) would let
 * the id `x-wal` name tenant x's WAL file.
 * @throws TenantError `ERR_INVALID_OPTION`
 */
export function splitNamePattern(namePattern: unknown): { prefix: string; suffix: string } {
  if (typeof namePattern !== 'string') {
    throw TenantError.invalidOption('tenancy.namePattern', `expected a string such as '${DEFAULT_NAME_PATTERN}'`);
  }
  const parts = namePattern.split('{id}');
  if (parts.length !== 2) {
    throw TenantError.invalidOption('tenancy.namePattern', `"${namePattern}" must contain {id} exactly once`);
  }
  if (!PLAIN_NAME.test(parts.join('x')) || /[/\\]/.test(namePattern)) {
    throw TenantError.invalidOption('tenancy.namePattern',
      `"${namePattern}" must be a plain file name (letters, digits, '_', '-', '.'; no folders, not starting with '.')`);
  }
  if (!parts[1]!.includes('.')) {
    throw TenantError.invalidOption('tenancy.namePattern',
      `"${namePattern}" needs an extension after {id} (a '.', as in '${DEFAULT_NAME_PATTERN}'): without one, the id "x-wal" would name tenant x's -wal file`);
  }
  return { prefix: parts[0]!, suffix: parts[1]! };
}

/**
 * Creates an empty file with `mode` (before the umask), failing if it exists: SQLite then opens it as a
 * new database and keeps that mode (and gives it to the database's -wal/-shm/-journal files).
 */
export function createEmptyFile(path: string, mode: number): void {
  closeSync(openSync(path, 'wx', mode));
}

/**
 * Maps tenant ids to database files inside one folder, and back.
 *
 * The mapping is injective, also over SQLite's companion files: the pattern holds `{id}` exactly once
 * between a fixed prefix and a suffix with a '.' (see {@link splitNamePattern}), and ids are canonical
 * (see `canonicalTenantId`), so no two ids share a file and no id names another's `-wal`/`-shm`/`-journal`.
 * Every path it returns is checked to lie inside the folder. Internal files (templates, files being
 * built) live in the `.mikro-tenant` sub-folder, a name no tenant file can take (tenant file names
 * start with a letter, digit or '_'). Folders and files it creates get owner-only modes by default.
 */
export class TenantFiles {
  /** Absolute tenant folder. */
  readonly dir: string;
  /** Absolute folder for templates and files under construction. */
  readonly internalDir: string;
  /** Modes of the folders and files this creates. */
  readonly modes: Readonly<FileModes>;
  readonly #prefix: string;
  readonly #suffix: string;

  /**
   * @throws TenantError `ERR_INVALID_OPTION` for a pattern without exactly one `{id}` and an extension after it, or with separators
   */
  constructor(dir: string, namePattern = DEFAULT_NAME_PATTERN, modes: Partial<FileModes> = {}) {
    if (typeof dir !== 'string' || dir.length === 0 || dir.includes('\0')) {
      throw TenantError.invalidOption('tenancy.dir', 'expected a folder path');
    }
    const { prefix, suffix } = splitNamePattern(namePattern);
    this.dir = resolve(dir);
    this.internalDir = join(this.dir, '.mikro-tenant');
    this.modes = Object.freeze({ dirMode: modes.dirMode ?? DEFAULT_DIR_MODE, fileMode: modes.fileMode ?? DEFAULT_FILE_MODE });
    this.#prefix = prefix;
    this.#suffix = suffix;
  }

  /** Creates the tenant folder and the internal folders if missing (with `dirMode`; an existing folder keeps its mode). */
  ensureDirs(): void {
    mkdirSync(join(this.internalDir, 'tmp'), { recursive: true, mode: this.modes.dirMode });
  }

  /**
   * File name of a tenant's database.
   * @throws TenantError `ERR_INVALID_TENANT_ID`
   */
  fileName(tenantId: unknown): string {
    const id = canonicalTenantId(tenantId, refuseEntity);
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

  /**
   * The tenant whose database or companion file (`-wal`, `-shm`, `-journal`, `-mj...`) `fileName` is, or
   * `undefined`. For refusing other files (the shared database) a name a tenant could take.
   */
  ownerOf(fileName: string): string | undefined {
    return this.tenantIdOf(fileName) ?? this.tenantIdOf(fileName.replace(SIDE_FILE, ''));
  }

  /** A fresh, unique path in the internal tmp folder (same file system as the tenant files). Nothing is created. */
  tmpPath(label: string): string {
    return join(this.internalDir, 'tmp', processFileName(label));
  }

  /** Folder of the spare copies of the template made ahead of need (see `TemplateSpares`). */
  get sparesDir(): string {
    return join(this.internalDir, 'spares');
  }

  /** A fresh, unique path for a spare copy of the template of schema `key`, in {@link sparesDir}. Nothing is created. */
  sparePath(key: string): string {
    return join(this.sparesDir, processFileName(`spare-${key}`));
  }

  /**
   * A fresh, unique, empty file in the internal tmp folder, created with `fileMode`, for SQLite to write a
   * database into (which keeps the mode). Creates the folders if missing.
   */
  createTmpFile(label: string): string {
    this.ensureDirs();
    const path = this.tmpPath(label);
    createEmptyFile(path, this.modes.fileMode);
    return path;
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

/** File names are derived from ids only: which tenant an entity stands for is the tenancy's rule (`tenancy.tenantId(entity)`). */
function refuseEntity(): never {
  throw TenantError.invalidTenantId(undefined, 'give the tenant id, not an entity (tenancy.tenantId(entity) reads it)');
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

/** `<label>.<pid>.<random>.sqlite3`: a file of this process, which {@link removeStaleTmpFiles} removes once the process is gone. */
function processFileName(label: string): string {
  return `${label}.${process.pid}.${randomBytes(6).toString('hex')}.sqlite3`;
}

/**
 * Removes files whose process is gone from the tmp folder (builds cut short by a crash) and the spares
 * folder (spare template copies of a process that ended without closing its tenancy).
 */
export async function removeStaleTmpFiles(files: TenantFiles): Promise<number> {
  let removed = 0;
  for (const dir of [join(files.internalDir, 'tmp'), files.sparesDir]) {
    const names = await fsp.readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const pid = Number(name.split('.').at(-3));
      if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
        await fsp.rm(join(dir, name), { force: true });
        removed++;
      }
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
