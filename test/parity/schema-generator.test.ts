import { expect } from 'chai';
import { defineEntity, p } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { forBoth, tableNames } from './fixture.js';

function model() {
  const Order = defineEntity({ name: 'Order', properties: { id: p.integer().primary() } });
  const Product = defineEntity({ name: 'Product', properties: { id: p.integer().primary(), name: p.string() } });
  // Composite primary key of two foreign keys, referenced by a composite foreign key from Shipment.
  const OrderItem = defineEntity({
    name: 'OrderItem',
    properties: { order: () => p.manyToOne(Order).primary(), product: () => p.manyToOne(Product).primary(), amount: p.integer() },
  });
  const Shipment = defineEntity({
    name: 'Shipment',
    properties: { id: p.integer().primary().autoincrement(), item: () => p.manyToOne(OrderItem) },
  });
  // A table the app manages itself: `schemaGenerator.skipTables` keeps the schema tools away from it.
  const Legacy = defineEntity({ name: 'Legacy', tableName: 'legacy', properties: { id: p.integer().primary(), label: p.string() } });
  return { Order, Product, OrderItem, Shipment, Legacy };
}

async function foreignKeys(em: SqlEntityManager, table: string): Promise<string[]> {
  const rows = await em.getConnection().execute<{ table: string; from: string }[]>(`pragma foreign_key_list(${table})`);
  return rows.map(r => `${r.from}->${r.table}`).sort();
}

forBoth('schema generator: composite foreign keys, skipTables and update/refresh', {
  model,
  sqliteOnly: 'it reads SQLite\'s pragma foreign_key_list and its DDL (postgres/schema-tools.test.ts covers the schema tools on PostgreSQL)',
  options: () => ({ schemaGenerator: { skipTables: ['legacy'] } }),
}, async ({ em, schema, model: { Order, Product, OrderItem, Shipment } }) => {
  expect(await tableNames(em)).to.deep.equal(['order', 'order_item', 'product', 'shipment']);
  expect(await foreignKeys(em, 'shipment')).to.deep.equal(['item_order_id->order_item', 'item_product_id->order_item']);

  const generator = schema();
  const create = await generator.getCreateSchemaSQL({ wrap: false });
  expect(create).to.contain('create table `shipment`').and.not.contain('legacy');
  // SQLite cannot alter a composite foreign key: MikroORM's diff rebuilds `shipment` every time (plain too).
  expect(await generator.getUpdateSchemaSQL({ wrap: false })).to.not.contain('legacy');

  // A skipped table is neither dropped nor altered by updates.
  await em.getConnection().execute('create table legacy (id integer primary key, other text)');
  expect(await generator.getUpdateSchemaSQL({ wrap: false })).to.not.contain('legacy');
  await generator.update();
  expect(await tableNames(em)).to.deep.equal(['legacy', 'order', 'order_item', 'product', 'shipment']);
  expect(await foreignKeys(em, 'shipment')).to.deep.equal(['item_order_id->order_item', 'item_product_id->order_item']);

  em.create(Order, { id: 1 });
  em.create(Product, { id: 2, name: 'pen' });
  const item = em.create(OrderItem, { order: 1, product: 2, amount: 3 });
  em.create(Shipment, { item });
  await em.flush();
  const shipment = await em.fork().findOneOrFail(Shipment, { item: { order: 1, product: 2 } }, { populate: ['item'] });
  expect(shipment.item.amount).to.equal(3);

  await generator.refresh();
  expect(await em.fork().count(Shipment, {})).to.equal(0);
  expect(await tableNames(em)).to.deep.equal(['legacy', 'order', 'order_item', 'product', 'shipment']);
});
