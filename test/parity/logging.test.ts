import { expect } from 'chai';
import { defineEntity, p, type LoggerOptions, type LogContext } from '@mikro-orm/core';
import { DefaultLogger } from '@mikro-orm/core';
import { forBoth } from './fixture.js';

function model() {
  return {
    Note: defineEntity({
      name: 'Note',
      properties: { id: p.integer().primary().autoincrement(), text: p.string() },
    }),
  };
}

const queries = (logs: string[]) => logs.filter(line => line.startsWith('[query]'));

// `debug` is a live option: set at run time, it holds until set again, whatever forks are made meanwhile.
forBoth('logging: debug set at run time survives forks', { model }, async ({ em, config, logs, model: { Note } }) => {
  await em.count(Note, {});
  expect(queries(logs)).to.have.length(0);

  config.set('debug', ['query']);
  await em.fork().count(Note, {});
  await em.fork().fork().count(Note, {});
  await em.count(Note, {});
  expect(queries(logs)).to.have.length(3);

  config.set('debug', false);
  logs.length = 0;
  await em.fork().count(Note, {});
  expect(queries(logs)).to.have.length(0);

  // Set through the EntityManager's own configuration, as MikroORM apps do with `em.config`.
  em.config.set('debug', ['query']);
  await em.fork().count(Note, {});
  expect(queries(logs)).to.have.length(1);
  expect(config.get('debug')).to.deep.equal(['query']);
});

forBoth('logging: a label per query and a logger context per fork', {
  model,
  options: () => ({ debug: ['query'] }),
}, async ({ em, logs, model: { Note } }) => {
  await em.count(Note, {}, { logging: { label: 'mine' } });
  expect(queries(logs).at(-1)).to.match(/^\[query\] \(mine\) select count/);
  await em.count(Note, {}, { logging: { enabled: false } });
  expect(queries(logs)).to.have.length(1);
  const fork = em.fork({ loggerContext: { label: 'forked' } });
  await fork.find(Note, {});
  expect(queries(logs).at(-1)).to.match(/^\[query\] \(forked\) select/);
});

class ContextLogger extends DefaultLogger {
  static readonly seen: LogContext[] = [];

  constructor(options: LoggerOptions) {
    super(options);
  }

  override log(namespace: string, message: string, context?: LogContext): void {
    if (namespace === 'query') {
      ContextLogger.seen.push(context ?? {});
    }
  }
}

forBoth('logging: a custom loggerFactory receives the fork\'s logger context', {
  model,
  options: () => ({ debug: ['query'], loggerFactory: (options: LoggerOptions) => new ContextLogger(options) }),
}, async ({ em, model: { Note } }) => {
  ContextLogger.seen.length = 0;
  await em.fork({ loggerContext: { requestId: 'r1' } }).count(Note, {});
  expect(ContextLogger.seen).to.have.length(1);
  expect(ContextLogger.seen[0]).to.include({ requestId: 'r1' });
  expect(ContextLogger.seen[0]!.query).to.match(/select count/);
});
