import { expect } from 'chai';
import { defineEntity, p, sql, type Cursor, type InferEntity, type Loaded, type Opt } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { addFilter, findByCursor } from '../orm-packages.js';
import { forBoth } from './fixture.js';

function library() {
  const Author = defineEntity({
    name: 'Author',
    properties: {
      id: p.integer().primary().autoincrement(),
      name: p.string(),
      active: p.boolean(),
      books: () => p.oneToMany(Book).mappedBy('author'),
      // A formula: computed by SQL on every load, never stored.
      bookCount: p.formula<Opt<number>>(alias => `(select cast(count(*) as integer) from book b where b.author_id = ${alias}.id)`).type('integer'),
    },
    filters: { active: { name: 'active', cond: { active: true }, default: true } },
  });
  const Book = defineEntity({
    name: 'Book',
    properties: {
      id: p.integer().primary().autoincrement(),
      title: p.string().unique(),
      pages: p.integer(),
      deleted: p.boolean(),
      author: () => p.manyToOne(Author),
    },
    filters: {
      notDeleted: { name: 'notDeleted', cond: { deleted: false }, default: true },
      titled: { name: 'titled', cond: (args: { prefix: string }) => ({ title: { $like: `${args.prefix}%` } }) },
    },
  });
  // A virtual entity: rows of a query, no table.
  const AuthorStats = defineEntity({
    name: 'AuthorStats',
    // Counts and sums cast to integer: PostgreSQL returns them as 64-bit numbers (strings in node-postgres).
    expression: 'select a.name as name, cast(count(b.id) as integer) as books, cast(coalesce(sum(b.pages), 0) as integer) as pages from author a left join book b on b.author_id = a.id group by a.id, a.name',
    properties: { name: p.string(), books: p.integer(), pages: p.integer() },
  });
  return { Author, Book, AuthorStats };
}

type Library = ReturnType<typeof library>;

async function seed(em: SqlEntityManager, { Author, Book }: Library): Promise<void> {
  const ann = em.create(Author, { name: 'Ann', active: true });
  const bob = em.create(Author, { name: 'Bob', active: false });
  em.create(Book, { title: 'Alpha', pages: 100, deleted: false, author: ann });
  em.create(Book, { title: 'Beta', pages: 200, deleted: false, author: ann });
  em.create(Book, { title: 'Gone', pages: 50, deleted: true, author: ann });
  em.create(Book, { title: 'Bobs', pages: 10, deleted: false, author: bob });
  await em.flush();
  em.clear();
}

const titles = (books: { title: string }[]) => books.map(b => b.title).sort();

forBoth('filters: default, parametric and disabled filters, and filters on relations', { model: library }, async ({ em, model }) => {
  const { Author, Book } = model;
  await seed(em, model);
  // `notDeleted` on Book, and Author's `active` through the relation (filtersOnRelations).
  expect(titles(await em.find(Book, {}))).to.deep.equal(['Alpha', 'Beta']);
  expect(titles(await em.find(Book, {}, { filters: false }))).to.deep.equal(['Alpha', 'Beta', 'Bobs', 'Gone']);
  expect(titles(await em.find(Book, {}, { filters: { titled: { prefix: 'B' } } }))).to.deep.equal(['Beta']);
  expect(titles(await em.find(Book, {}, { filters: { active: false } }))).to.deep.equal(['Alpha', 'Beta', 'Bobs']);
  expect(await em.count(Book, {}, { filters: { notDeleted: false } })).to.equal(3);

  const fork = em.fork();
  fork.setFilterParams('titled', { prefix: 'A' });
  expect(titles(await fork.find(Book, {}, { filters: ['titled'] }))).to.deep.equal(['Alpha']);
  addFilter(fork, 'thick', { pages: { $gte: 150 } }, Book);
  expect(titles(await fork.find(Book, {}))).to.deep.equal(['Beta']);

  const authors = await em.fork().find(Author, {}, { populate: ['books'] });
  expect(authors.map(a => [a.name, titles(a.books.getItems())])).to.deep.equal([['Ann', ['Alpha', 'Beta']]]);
});

forBoth('formulas and virtual entities', { model: library }, async ({ em, model }) => {
  const { Author, AuthorStats } = model;
  await seed(em, model);
  const ann = await em.findOneOrFail(Author, { name: 'Ann' });
  expect(ann.bookCount).to.equal(3);
  expect((await em.find(Author, { bookCount: { $gt: 2 } })).map(a => a.name)).to.deep.equal(['Ann']);
  const stats = await em.find(AuthorStats, {}, { orderBy: { name: 'asc' } });
  expect(stats.map(s => [s.name, s.books, s.pages])).to.deep.equal([['Ann', 3, 350], ['Bob', 1, 10]]);
  expect(await em.count(AuthorStats, { pages: { $gt: 100 } })).to.equal(1);
});

forBoth('upsert and upsertMany', { model: library }, async ({ em, model }) => {
  const { Author, Book } = model;
  await seed(em, model);
  const ann = await em.findOneOrFail(Author, { name: 'Ann' });
  const alpha = await em.upsert(Book, { title: 'Alpha', pages: 111, deleted: false, author: ann }, { onConflictFields: ['title'] });
  expect(alpha.pages).to.equal(111);
  const books = await em.upsertMany(Book, [
    { title: 'Beta', pages: 222, deleted: false, author: ann },
    { title: 'Gamma', pages: 333, deleted: false, author: ann },
  ], { onConflictFields: ['title'], onConflictMergeFields: ['pages'] });
  expect(books.map(b => [b.title, b.pages, typeof b.id])).to.deep.equal([['Beta', 222, 'number'], ['Gamma', 333, 'number']]);
  const ignored = await em.upsert(Book, { title: 'Gamma', pages: 1, deleted: false, author: ann }, { onConflictFields: ['title'], onConflictAction: 'ignore' });
  expect(ignored.title).to.equal('Gamma');
  const rows = await em.fork().find(Book, { author: ann }, { orderBy: { title: 'asc' } });
  expect(rows.map(b => [b.title, b.pages])).to.deep.equal([['Alpha', 111], ['Beta', 222], ['Gamma', 333]]);
});

forBoth('cursor pagination', { model: library }, async ({ em, model }) => {
  const { Book } = model;
  type BookCursor = Cursor<Loaded<InferEntity<typeof Book>>>;
  await seed(em, model);
  const first = await findByCursor<BookCursor>(em, Book, {}, { first: 2, orderBy: { pages: 'desc' }, filters: false });
  expect(first.items.map(b => b.title)).to.deep.equal(['Beta', 'Alpha']);
  expect([first.totalCount, first.hasNextPage, first.hasPrevPage]).to.deep.equal([4, true, false]);
  const second = await findByCursor<BookCursor>(em, Book, {}, { first: 2, after: first, orderBy: { pages: 'desc' }, filters: false });
  expect(second.items.map(b => b.title)).to.deep.equal(['Gone', 'Bobs']);
  expect(second.hasNextPage).to.equal(false);
  const back = await findByCursor<BookCursor>(em, Book, {}, { last: 1, before: second, orderBy: { pages: 'desc' }, filters: false });
  expect(back.items.map(b => b.title)).to.deep.equal(['Alpha']);
});

forBoth('raw SQL fragments and the QueryBuilder', { model: library }, async ({ em, model }) => {
  const { Book } = model;
  await seed(em, model);
  const long = await em.find(Book, { [sql`length(title)`]: { $gt: 4 } }, { filters: false });
  expect(titles(long)).to.deep.equal(['Alpha']);
  const rows = await em.createQueryBuilder(Book, 'b').select(['b.title']).where({ pages: { $lt: 150 } }).orderBy({ title: 'asc' }).execute('all');
  expect(rows.map(r => r.title)).to.deep.equal(['Alpha', 'Bobs', 'Gone']);
  const [{ total }] = await em.getConnection().execute<[{ total: number }]>('select cast(sum(pages) as integer) as total from book');
  expect(total).to.equal(360);
});
