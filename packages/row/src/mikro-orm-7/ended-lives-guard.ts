import type { AbstractSqlConnection } from '@mikro-orm/sql';
import type { TenantIncarnations } from '../tenant-incarnations.js';

/**
 * Makes `connection` refuse each statement of an EntityManager whose tenant was deleted since it was made
 * (`ERR_TENANT_DELETED`): MikroORM 7 hands every statement's logger context to the connection (finds, flushes,
 * native and QueryBuilder statements alike, and streams, which 7 adds), and the context carries the life of the tenant the
 * EntityManager was made in. One map lookup per statement. Once per connection.
 */
export function refuseEndedLives(connection: AbstractSqlConnection, incarnations: TenantIncarnations): void {
  const target = connection as AbstractSqlConnection & { __mikroTenantLives?: true };
  if (target.__mikroTenantLives) {
    return;
  }
  const execute = connection.execute.bind(connection);
  Object.defineProperty(target, '__mikroTenantLives', { value: true });
  target.execute = function executeWhileAlive(query: any, params?: any, method?: any, ctx?: any, loggerContext?: any) {
    incarnations.assertAlive(loggerContext);
    return execute(query, params, method, ctx, loggerContext);
  } as AbstractSqlConnection['execute'];
  const stream = connection.stream.bind(connection);
  target.stream = function streamWhileAlive(query: any, params?: any, ctx?: any, loggerContext?: any, chunkSize?: any) {
    incarnations.assertAlive(loggerContext);
    return stream(query, params, ctx, loggerContext, chunkSize);
  } as AbstractSqlConnection['stream'];
}
