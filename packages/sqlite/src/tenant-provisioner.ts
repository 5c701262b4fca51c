import { constants as fsConstants, copyFileSync, linkSync, promises as fsp, unlinkSync } from 'node:fs';
import { OncePerTenantProvisioning, type DeferredTenantRegistry, type ProvisionOutcome, type TenantCreationMethod, type TenantRecord } from '@mikro-tenant/core';
import type { TemplateCache } from './template-cache.js';
import { keepWithinMode, type TemplateSpares } from './template-spares.js';
import { fileExists, placeNoOverwrite, removeDatabaseFiles, type TenantFiles } from './tenant-files.js';

/** What a {@link TenantProvisioner} works with. */
export interface TenantProvisionerInit {
  files: TenantFiles;
  registry: DeferredTenantRegistry;
  /** The template cache, or undefined with `template: false` (every tenant is built). */
  template?: TemplateCache;
  /** Copies of the template made ahead of need (with the template). */
  spares?: TemplateSpares;
  /** Schema version a copy of the template has. */
  version: string | null;
  /** Builds an up-to-date empty database at a tmp path; resolves its schema version. */
  build: (path: string) => Promise<string | null>;
  warn: (message: string, code: string) => void;
  /** How {@link build} makes a database. */
  built: TenantCreationMethod;
}

/**
 * Creates tenant database files: a spare copy of the template made ahead of need, else a copy made now
 * (or a build, when there is no template or it fails), written under a temporary name and put in place
 * with a hard link, which either creates the tenant's name with the whole file or fails because it
 * exists. So an existing tenant file is never overwritten and a crash leaves no half-built one, only a
 * temporary file that the next start removes.
 */
export class TenantProvisioner extends OncePerTenantProvisioning {
  readonly #init: TenantProvisionerInit;

  constructor(init: TenantProvisionerInit) {
    super();
    this.#init = init;
  }

  protected async attempt(tenantId: string): Promise<ProvisionOutcome> {
    const { files } = this.#init;
    const target = files.path(tenantId);
    if (fileExists(target)) {
      return { created: false, record: this.#register(tenantId, null) };
    }
    files.ensureDirs();
    // A spare is this call's own from here: placed, or removed below.
    const spare = this.#init.spares?.take();
    const tmp = spare ?? files.tmpPath(`tenant-${tenantId}`);
    let created: boolean;
    let version: string | null;
    let how: TenantCreationMethod = 'template';
    try {
      version = spare ? this.#init.version : await this.#fill(tenantId, tmp, used => { how = used; });
      created = placeTmpFile(tmp, target) || await placeNoOverwrite(tmp, target);
    } catch (error) {
      await removeDatabaseFiles(tmp);
      throw error;
    }
    return { created, lostRace: !created, record: this.#register(tenantId, version), how };
  }

  /** Writes a fresh database at `tmp`: a copy of the template, else a build. Resolves its schema version. */
  async #fill(tenantId: string, tmp: string, used: (how: TenantCreationMethod) => void): Promise<string | null> {
    const { template, build, warn, version, built } = this.#init;
    if (!template) {
      used(built);
      return build(tmp);
    }
    try {
      // A template is small: a synchronous copy costs less than a round trip through libuv's thread pool.
      // FICLONE: a copy-on-write clone where the file system has them (btrfs, XFS), else a plain copy.
      copyFileSync(await template.ensure(), tmp, fsConstants.COPYFILE_FICLONE);
      keepWithinMode(tmp, this.#init.files.modes.fileMode);
      return version;
    } catch (error) {
      warn(`mikro-tenant: the template failed (${(error as Error).message}); migrating tenant "${tenantId}" instead.`,
        'MIKRO_TENANT_TEMPLATE_FAILED');
      await fsp.rm(tmp, { force: true });
      used(built);
      return build(tmp);
    }
  }

  /**
   * The file is the truth and the registry its index: the row is written just after (with any others
   * created meanwhile, outside the caller's transaction); a failed write warns and reconcile repairs it.
   */
  #register(tenantId: string, schemaVersion: string | null): TenantRecord {
    return this.#init.registry.registerSoon({ tenantId, location: this.#init.files.fileName(tenantId), schemaVersion });
  }
}

/**
 * Hard-links `tmp` to `target` synchronously (atomic, never overwrites) and removes `tmp`. False when
 * the link failed, for {@link placeNoOverwrite} to sort out (EEXIST, file systems without hard links).
 */
function placeTmpFile(tmp: string, target: string): boolean {
  try {
    linkSync(tmp, target);
  } catch {
    return false;
  }
  try {
    unlinkSync(tmp);
  } catch {
    // The tenant is in place; a stray tmp file is removed at the next start.
  }
  return true;
}
