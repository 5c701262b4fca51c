import { promises as fsp, statSync } from 'node:fs';
import type { Configuration } from '@mikro-orm/core';
import {
  TenantError, type DeferredTenantRegistry, type TenancyStrategy, type TenantInfo, type TenantObserver, type TenantRecord,
} from '@mikro-tenant/core';
import type { OrmAdapter, StatementGuard, TenantBinding } from './orm-adapter.js';
import type { TenantEntityManager } from './tenant-entity-manager.js';
import type { ResolvedTenancyOptions } from './options.js';
import type { SharedAccess } from './shared-access.js';
import { inOpenTransaction } from './shared-database.js';
import { TemplateCache } from './template-cache.js';
import { TemplateSpares } from './template-spares.js';
import { TenantFiles, createEmptyFile, fileExists, removeDatabaseFiles } from './tenant-files.js';
import { reconcileWithFolder, withFileStats, type ReconcileReport } from './tenant-inventory.js';
import { TenantProvisioner } from './tenant-provisioner.js';
import type { TenantSchemaSource } from './tenant-schema.js';
import type { SharedORM } from './sqlite-tenancy.js';

/** What the SQLite strategy works with, all made by `SqliteTenancy.init()`. */
export interface SqliteStrategyInit {
  orm: SharedORM;
  /** The installed MikroORM major's half. */
  adapter: OrmAdapter;
  /** The tenancy's derived configuration (`tenant-config.ts` of the major's folder). */
  config: Configuration;
  options: ResolvedTenancyOptions;
  files: TenantFiles;
  registry: DeferredTenantRegistry;
  schema: TenantSchemaSource;
  /** Prepares each tenant handle (pragmas, ATTACH). */
  setup: TenantBinding['setup'];
  shared: SharedAccess;
  guard?: StatementGuard;
}

/** Where SQLite tenants live: one database file per tenant in a folder, made from a template. */
export class SqliteStrategy implements TenancyStrategy<TenantEntityManager, ReconcileReport> {
  readonly provisioning: TenantProvisioner;
  readonly schemaUpdates: TenantSchemaSource;
  /** The template cache, unless `template: false`. */
  readonly template?: TemplateCache;
  /** Copies of the template made ahead of need, unless `template: false`. */
  readonly spares?: TemplateSpares;
  readonly #init: SqliteStrategyInit;
  #observer?: TenantObserver;

  constructor(init: SqliteStrategyInit) {
    this.#init = init;
    this.schemaUpdates = init.schema;
    if (init.options.template) {
      this.template = new TemplateCache(init.files, init.schema.key, async path => { await this.#build(path); });
      this.spares = new TemplateSpares(init.files, this.template, init.schema.key);
    }
    this.provisioning = new TenantProvisioner({
      files: init.files, registry: init.registry, template: this.template, spares: this.spares, version: init.schema.version,
      build: path => this.#build(path), warn: init.options.warn, built: init.options.migrations ? 'migrations' : 'entities',
    });
  }

  observe(observer: TenantObserver): void {
    this.#observer = observer;
  }

  async exists(tenantId: string): Promise<boolean> {
    return fileExists(this.#init.files.path(tenantId));
  }

  async open(tenantId: string, mayCreate: boolean): Promise<TenantEntityManager> {
    const { files, config, orm, adapter, setup, shared, guard } = this.#init;
    const file = files.path(tenantId);
    // A stat first (a few us for an existing tenant) spares a new tenant a failed open (tens of us), and
    // gives stats() the size of a file that exists (the open does not change it).
    const size = mayCreate || this.#observer ? statSync(file, { throwIfNoEntry: false })?.size : undefined;
    let provisioned = false;
    if (mayCreate && size === undefined) {
      await this.provisioning.provision(tenantId, false);
      provisioned = true;
    }
    const observer = this.#observer;
    const quotaBytes = await observer?.quotaOf(tenantId);
    const em = adapter.createTenantEntityManager(config, orm.getMetadata(), orm.em.getEventManager(), {
      tenantId, file, setup, sharedWrites: shared.router, guard, observer, quotaBytes,
    });
    // The file may still vanish or appear (other processes) before the open: the loop settles that.
    for (let attempt = 0; ; attempt++) {
      let failure: TenantError | undefined;
      try {
        adapter.connectionOf(em).open();
        if (size !== undefined && !provisioned && attempt === 0) {
          this.#observer?.sized(tenantId, size);
        } else {
          this.#measure(tenantId, file);
        }
        return em;
      } catch (error) {
        if (fileExists(file)) {
          // Another process may have placed the file between the failed open and this check: open it again.
          if (attempt < 2) {
            continue;
          }
          failure = TenantError.openFailed(tenantId, error,
            'Check that its folder is writable (SQLite in WAL mode creates -wal/-shm files next to it) and that the disk is not full.');
        } else if (!mayCreate || provisioned) {
          failure = TenantError.tenantNotFound(tenantId);
        }
      }
      try {
        if (failure) {
          throw failure;
        }
        await this.provisioning.provision(tenantId, false);
        provisioned = true;
      } catch (error) {
        await em.getDriver().close().catch(() => undefined);
        throw error;
      }
    }
  }

  async close(em: TenantEntityManager, tenantId: string, closing: boolean): Promise<void> {
    if (closing) {
      // Work still holding it learns why: the tenancy closed (not an eviction).
      this.#init.adapter.connectionOf(em).markTenancyClosed();
    }
    await this.#init.adapter.connectionOf(em).evict();
    this.#measure(tenantId, this.#init.files.path(tenantId));
  }

  /** Records the file's size for `stats()` (a stat: a few microseconds, on open and close only). */
  #measure(tenantId: string, file: string): void {
    if (this.#observer) {
      const size = statSync(file, { throwIfNoEntry: false })?.size;
      if (size !== undefined) {
        this.#observer.sized(tenantId, size);
      }
    }
  }

  markDeleted(em: TenantEntityManager | undefined): void {
    if (em) {
      this.#init.adapter.connectionOf(em).markDeleted();
    }
  }

  async remove(tenantId: string): Promise<boolean> {
    await this.#init.adapter.dropTenantCache(this.#init.config, tenantId);
    const removed = await removeDatabaseFiles(this.#init.files.path(tenantId));
    return (await this.#init.registry.unregister(tenantId)) || removed;
  }

  describe(records: TenantRecord[]): Promise<TenantInfo[]> {
    return withFileStats(this.#init.files.dir, records);
  }

  reconcile(fix: boolean): Promise<ReconcileReport> {
    return reconcileWithFolder(this.#init.files, this.#init.registry, fix);
  }

  /** The registry row of a tenant created outside a shared transaction is written before `createTenant()` resolves. */
  async afterCreate(): Promise<void> {
    if (!inOpenTransaction(this.#init.shared.em(), this.#init.adapter.transactions)) {
      await this.#init.registry.flush();
    }
  }

  async shutDown(): Promise<void> {
    await this.spares?.close();
    await this.#init.registry.flush();
    this.#init.adapter.releaseTenantConfig(this.#init.orm.config);
    await this.#init.orm.close(true);
  }

  /** Builds an up-to-date empty database at `path` (a tmp path) by applying the schema. */
  async #build(path: string): Promise<string | null> {
    const { files, config, orm, adapter, setup, schema } = this.#init;
    if (!fileExists(path)) {
      // SQLite creates files 0644 and keeps the mode of an existing one: start from an owner-only empty file.
      createEmptyFile(path, files.modes.fileMode);
    }
    const em = adapter.createTenantEntityManager(config, orm.getMetadata(), orm.em.getEventManager(), { tenantId: '(build)', file: path, setup, create: true });
    try {
      return (await schema.apply(em)).version;
    } finally {
      await em.getDriver().close();
      await fsp.rm(`${path}-shm`, { force: true });
    }
  }
}
