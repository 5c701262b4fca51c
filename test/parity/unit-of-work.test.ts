import { expect } from 'chai';
import {
  EventType, LockMode, Type, TransactionPropagation, defineEntity, p,
  type EventArgs, type EventSubscriber, type FlushEventArgs, type TransactionEventArgs,
} from '@mikro-orm/core';
import { forBoth } from './fixture.js';

function notes() {
  return {
    Note: defineEntity({
      name: 'Note',
      properties: { id: p.integer().primary().autoincrement(), text: p.string(), version: p.integer().version() },
    }),
  };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(() => undefined, (error: Error) => error);
  expect(outcome, 'expected a rejection').to.be.instanceOf(Error);
  return outcome!;
}

forBoth('transactions: commit, rollback, savepoints, propagation and the transaction context', { model: notes }, async ({ em, globalEm, model: { Note } }) => {
  const texts = async () => (await em.fork().find(Note, {}, { orderBy: { id: 'asc' } })).map(n => n.text);
  await em.transactional(async trx => {
    trx.create(Note, { text: 'committed' });
  });
  expect((await rejection(em.transactional(async trx => {
    trx.create(Note, { text: 'rolled back' });
    await trx.flush();
    throw new Error('boom');
  }))).message).to.equal('boom');
  expect(await texts()).to.deep.equal(['committed']);

  await em.transactional(async outer => {
    outer.create(Note, { text: 'outer' });
    await outer.flush();
    await rejection(outer.transactional(async inner => {
      inner.create(Note, { text: 'savepoint' });
      await inner.flush();
      throw new Error('inner');
    }, { propagation: TransactionPropagation.NESTED }));
    await outer.transactional(async inner => {
      expect(inner).to.equal(outer);
      inner.create(Note, { text: 'joined' });
    }, { propagation: TransactionPropagation.REQUIRED });
    expect((await rejection(outer.transactional(async () => undefined, { propagation: TransactionPropagation.NEVER }))).name)
      .to.equal('TransactionStateError');
  });
  expect(await texts()).to.deep.equal(['committed', 'outer', 'joined']);
  expect((await rejection(em.transactional(async () => undefined, { propagation: TransactionPropagation.MANDATORY }))).name)
    .to.equal('TransactionStateError');

  // The context-resolving EntityManager resolves to the open transaction's fork.
  await globalEm.transactional(async trx => {
    trx.create(Note, { text: 'through the context' });
    await trx.flush();
    expect(await globalEm.count(Note, {})).to.equal(4);
    expect(globalEm.getTransactionContext()).to.not.equal(undefined);
  });

  const fork = em.fork();
  await fork.begin();
  fork.create(Note, { text: 'explicit' });
  await fork.commit();
  await fork.begin();
  fork.create(Note, { text: 'explicit rollback' });
  await fork.flush();
  await fork.rollback();
  expect(await texts()).to.deep.equal(['committed', 'outer', 'joined', 'through the context', 'explicit']);
});

forBoth('optimistic locking with a version property', { model: notes }, async ({ em, model: { Note } }) => {
  const note = em.create(Note, { text: 'v1' });
  await em.flush();
  expect(note.version).to.equal(1);
  const aEm = em.fork();
  const a = await aEm.findOneOrFail(Note, note.id);
  const bEm = em.fork();
  const b = await bEm.findOneOrFail(Note, note.id);
  a.text = 'by a';
  await aEm.flush();
  expect(a.version).to.equal(2);
  b.text = 'by b';
  expect((await rejection(bEm.flush())).name).to.equal('OptimisticLockError');
  const fresh = em.fork();
  const current = await fresh.findOneOrFail(Note, note.id);
  expect((await rejection(fresh.lock(current, LockMode.OPTIMISTIC, 1))).name).to.equal('OptimisticLockError');
  await fresh.lock(current, LockMode.OPTIMISTIC, 2);
  expect((await em.fork().findOneOrFail(Note, note.id, { lockMode: LockMode.OPTIMISTIC, lockVersion: 2 })).text).to.equal('by a');
});

interface Point { x: number; y: number }

/** A custom type: a point stored as "x,y" text. */
class PointType extends Type<Point | null, string | null> {
  override convertToDatabaseValue(value: Point | null): string | null {
    return value ? `${value.x},${value.y}` : null;
  }

  override convertToJSValue(value: string | null): Point | null {
    if (!value) {
      return null;
    }
    const [x, y] = value.split(',').map(Number);
    return { x: x!, y: y! };
  }

  override getColumnType(): string {
    return 'text';
  }
}

function places() {
  return {
    Place: defineEntity({
      name: 'Place',
      properties: {
        id: p.integer().primary().autoincrement(),
        at: p.type(PointType).$type<Point>(),
        tags: p.json<string[]>(),
        seen: p.datetime(),
      },
    }),
  };
}

forBoth('refresh with custom types, JSON and dates', { model: places }, async ({ em, model: { Place } }) => {
  const place = em.create(Place, { at: { x: 1, y: 2 }, tags: ['a'], seen: new Date('2024-01-01T00:00:00Z') });
  await em.flush();
  const connection = em.getConnection();
  // The date as a parameter: each platform writes it the way it stores dates.
  await connection.execute('update place set at = ?, tags = ?, seen = ? where id = ?', ['5,6', '["b","c"]', new Date('2025-02-03T04:05:06Z'), place.id]);
  await em.refresh(place);
  expect(place.at).to.deep.equal({ x: 5, y: 6 });
  expect(place.tags).to.deep.equal(['b', 'c']);
  expect(place.seen.toISOString()).to.equal('2025-02-03T04:05:06.000Z');

  await connection.execute(`update place set at = '7,8' where id = ${place.id}`);
  const again = await em.findOneOrFail(Place, place.id, { refresh: true });
  expect(again).to.equal(place);
  expect(place.at).to.deep.equal({ x: 7, y: 8 });

  place.at = { x: 9, y: 10 };
  place.tags.push('d');
  await em.flush();
  const [row] = await connection.execute<[{ at: string; tags: string | string[] }]>(`select at, tags from place where id = ${place.id}`);
  // SQLite hands JSON back as text, node-postgres parses it.
  expect([row.at, typeof row.tags === 'string' ? JSON.parse(row.tags) : row.tags]).to.deep.equal(['9,10', ['b', 'c', 'd']]);
});

/** Records what MikroORM tells subscribers, in order. */
class Recorder implements EventSubscriber {
  readonly events: string[] = [];

  getSubscribedEntities() {
    return ['Note'];
  }

  beforeCreate(args: EventArgs<{ text: string }>): void { this.events.push(`beforeCreate ${args.entity.text}`); }
  afterCreate(args: EventArgs<{ text: string }>): void { this.events.push(`afterCreate ${args.entity.text}`); }
  beforeUpdate(args: EventArgs<{ text: string }>): void { this.events.push(`beforeUpdate ${args.entity.text}`); }
  afterUpdate(args: EventArgs<{ text: string }>): void { this.events.push(`afterUpdate ${args.entity.text}`); }
  beforeDelete(args: EventArgs<{ text: string }>): void { this.events.push(`beforeDelete ${args.entity.text}`); }
  afterDelete(args: EventArgs<{ text: string }>): void { this.events.push(`afterDelete ${args.entity.text}`); }
  onLoad(args: EventArgs<{ text: string }>): void { this.events.push(`onLoad ${args.entity.text}`); }
  onFlush(args: FlushEventArgs): void { this.events.push(`onFlush ${args.uow.getChangeSets().length}`); }
  afterFlush(): void { this.events.push('afterFlush'); }
  afterTransactionCommit(args: TransactionEventArgs): void { this.events.push(`afterTransactionCommit ${args.uow ? 'uow' : 'manual'}`); }
}

/** What the entity hook saw in the current run. */
const hooked: string[] = [];

forBoth('subscribers and entity hooks', {
  model: () => {
    hooked.length = 0;
    return {
      Note: defineEntity({
        name: 'Note',
        properties: { id: p.integer().primary().autoincrement(), text: p.string(), version: p.integer().version() },
        hooks: { beforeCreate: [(args: EventArgs<any>) => { hooked.push(`hook ${args.entity.text}`); }] },
      }),
    };
  },
  options: () => ({ subscribers: [new Recorder()] }),
}, async ({ em, config, model }) => {
  const { Note } = model;
  const [recorder] = [...config.get('subscribers')] as Recorder[];
  const note = em.create(Note, { text: 'a' });
  await em.flush();
  note.text = 'b';
  await em.flush();
  await em.fork().findOneOrFail(Note, note.id);
  em.remove(note);
  await em.flush();
  // insert and nativeDelete fire no entity events (MikroORM's documented behaviour).
  await em.insert(Note, { text: 'silent', version: 1 });
  await em.nativeDelete(Note, { text: 'silent' });
  const late: string[] = [];
  em.getEventManager().registerSubscriber({ getSubscribedEntities: () => ['Note'], afterCreate: args => { late.push(args.entity.text); } });
  em.create(Note, { text: 'c' });
  await em.flush();
  expect(recorder!.events).to.deep.equal([
    'onFlush 1', 'beforeCreate a', 'afterCreate a', 'afterTransactionCommit uow', 'afterFlush',
    'onFlush 1', 'beforeUpdate b', 'afterUpdate b', 'afterTransactionCommit uow', 'afterFlush',
    'onLoad b',
    'onFlush 1', 'beforeDelete b', 'afterDelete b', 'afterTransactionCommit uow', 'afterFlush',
    'onFlush 1', 'beforeCreate c', 'afterCreate c', 'afterTransactionCommit uow', 'afterFlush',
  ]);
  expect(late).to.deep.equal(['c']);
  expect(hooked).to.deep.equal(['hook a', 'hook c']);
  expect(EventType.afterCreate).to.equal('afterCreate');
});
