import { helper, type EventSubscriber, type TransactionEventArgs } from '@mikro-orm/core';
import { TENANT_SETTING, qualifiedTable, settingStatement } from './row-security-sql.js';
import { scopeOf, tenantLoggerContext } from './row-scope.js';
import type { TenantOwnedModel } from './tenant-owned-model.js';
import type { SqlConnection } from './sql-entity-manager.js';

/** What {@link TenantRowsDeletion} needs. */
export interface TenantRowsDeletionInit {
  model: TenantOwnedModel;
  /** Class name of the tenant entity's root. */
  tenantRoot: string;
  /** The tenant a removed tenant-entity row stands for, or `undefined` for none. */
  tenantIdOf(entity: object): string | undefined;
  /** The database enforces the tenant: the deletions must name it. */
  databaseEnforces: boolean;
}

/**
 * With `deleteOnTenantDelete`, a flush removing tenant-entity rows deletes those tenants' rows first, in the
 * flush's own transaction: tenant-owned rows often reference their tenant's row (a note's author), which
 * could otherwise not be deleted, and the rows go if and only if the tenant row does.
 */
export class TenantRowsDeletion implements EventSubscriber {
  readonly #init: TenantRowsDeletionInit;

  constructor(init: TenantRowsDeletionInit) {
    this.#init = init;
  }

  async afterTransactionStart({ em, uow, transaction }: TransactionEventArgs): Promise<void> {
    const { model, tenantRoot, tenantIdOf, databaseEnforces } = this.#init;
    const ids = new Set<string>();
    for (const cs of uow?.getChangeSets() ?? []) {
      if ((cs.type === 'delete' || cs.type === 'delete_early') && cs.meta.root.className === tenantRoot) {
        const id = tenantIdOf(cs.entity as object);
        if (id !== undefined && helper(cs.entity as object).hasPrimaryKey()) {
          ids.add(id);
        }
      }
    }
    if (ids.size === 0) {
      return;
    }
    const connection = em.getConnection() as unknown as SqlConnection;
    const platform = em.getPlatform();
    for (const id of ids) {
      if (databaseEnforces) {
        await connection.execute(settingStatement({ tenantId: id }, platform)!, [], 'all', transaction as never, { enabled: false } as never);
      }
      for (const table of model.tables) {
        await connection.execute(`delete from ${qualifiedTable(table)} where "${table.column}" = ?`, [id], 'run', transaction as never, tenantLoggerContext(id));
      }
    }
    // The rest of the transaction is the flushing EntityManager's again.
    const own = databaseEnforces ? settingStatement(scopeOf(em), platform) ?? `select set_config('${TENANT_SETTING}', '', true)` : undefined;
    if (own) {
      await connection.execute(own, [], 'all', transaction as never, { enabled: false } as never);
    }
  }
}
