import { expect } from 'chai';
import { defineEntity, p, serialize, wrap } from '@mikro-orm/core';
import { forBoth } from './fixture.js';

function blog() {
  const Tag = defineEntity({
    name: 'Tag',
    properties: {
      id: p.integer().primary().autoincrement(),
      name: p.string().unique(),
      posts: () => p.manyToMany(Post).mappedBy('tags'),
    },
  });
  const Post = defineEntity({
    name: 'Post',
    properties: {
      id: p.integer().primary().autoincrement(),
      title: p.string(),
      author: p.string().serializedName('writer'),
      secret: p.string().hidden(),
      tags: () => p.manyToMany(Tag).inversedBy('posts'),
      comments: () => p.oneToMany(Comment).mappedBy('post').orphanRemoval(),
    },
  });
  const Comment = defineEntity({
    name: 'Comment',
    properties: { id: p.integer().primary().autoincrement(), body: p.string(), post: () => p.manyToOne(Post) },
  });
  // A many-to-many relation through an explicit pivot entity with its own column.
  const Group = defineEntity({
    name: 'Group',
    properties: {
      id: p.integer().primary().autoincrement(),
      name: p.string(),
      members: () => p.manyToMany(Member).pivotEntity(() => Membership),
    },
  });
  const Member = defineEntity({ name: 'Member', properties: { id: p.integer().primary().autoincrement(), name: p.string() } });
  const Membership = defineEntity({
    name: 'Membership',
    properties: { group: () => p.manyToOne(Group).primary(), member: () => p.manyToOne(Member).primary(), role: p.string().default('member') },
  });
  return { Tag, Post, Comment, Group, Member, Membership };
}

const names = (items: { name: string }[]) => items.map(i => i.name).sort();

forBoth('collections: add, remove, set, counts, matching and query operators', { model: blog }, async ({ em, model }) => {
  const { Tag, Post, Comment } = model;
  const [a, b, c] = ['a', 'b', 'c'].map(name => em.create(Tag, { name }));
  const post = em.create(Post, { title: 'P1', author: 'ann', secret: 's' });
  const other = em.create(Post, { title: 'P2', author: 'bob', secret: 's' });
  post.tags.add(a!, b!);
  other.tags.add(c!);
  em.create(Comment, { body: 'first', post });
  em.create(Comment, { body: 'second', post });
  await em.flush();
  expect(post.tags.count()).to.equal(2);
  expect(post.tags.contains(a!)).to.equal(true);

  const fork = em.fork();
  const loaded = await fork.findOneOrFail(Post, { title: 'P1' });
  expect(loaded.tags.isInitialized()).to.equal(false);
  expect(await loaded.tags.loadCount()).to.equal(2);
  const matching = await loaded.tags.matching({ where: { name: { $ne: 'a' } }, orderBy: { name: 'asc' } });
  expect(names(matching)).to.deep.equal(['b']);
  expect(names(await loaded.tags.loadItems())).to.deep.equal(['a', 'b']);
  const tagB = await fork.findOneOrFail(Tag, { name: 'b' }, { populate: ['posts'] });
  expect(tagB.posts.getItems().map(p => p.title)).to.deep.equal(['P1']);

  loaded.tags.remove(t => t.name === 'a');
  await fork.flush();
  loaded.tags.add(fork.getReference(Tag, c!.id));
  await fork.flush();
  expect(names((await em.fork().findOneOrFail(Post, { title: 'P1' }, { populate: ['tags'] })).tags.getItems())).to.deep.equal(['b', 'c']);

  const titles = async (where: object) => (await em.fork().find(Post, where, { orderBy: { title: 'asc' } })).map(p => p.title);
  expect(await titles({ tags: { $some: { name: 'c' } } })).to.deep.equal(['P1', 'P2']);
  expect(await titles({ tags: { $none: { name: 'b' } } })).to.deep.equal(['P2']);
  expect(await titles({ tags: { $every: { name: 'c' } } })).to.deep.equal(['P2']);
  expect(await titles({ comments: { $some: { body: 'second' } } })).to.deep.equal(['P1']);
  expect(await em.fork().count(Post, { comments: { $none: {} } })).to.equal(1);

  const withComments = await em.fork().findOneOrFail(Post, { title: 'P1' }, { populate: ['comments'] });
  const commentsEm = em.fork();
  const managed = await commentsEm.findOneOrFail(Post, withComments.id, { populate: ['comments'] });
  managed.comments.remove(managed.comments.getItems().find(x => x.body === 'first')!);
  await commentsEm.flush();
  expect(await em.fork().count(Comment, {})).to.equal(1);
  managed.tags.removeAll();
  await commentsEm.flush();
  const [{ count }] = await em.getConnection().execute<[{ count: number }]>('select cast(count(*) as integer) as count from post_tags');
  expect(count).to.equal(1);
});

forBoth('pivot tables: generated and explicit pivot entities', { model: blog }, async ({ em, model }) => {
  const { Group, Member, Membership } = model;
  const group = em.create(Group, { name: 'g' });
  const [ann, bob] = ['ann', 'bob'].map(name => em.create(Member, { name }));
  em.create(Membership, { group, member: ann!, role: 'owner' });
  group.members.add(bob!);
  await em.flush();
  const loaded = await em.fork().findOneOrFail(Group, group.id, { populate: ['members'] });
  expect(names(loaded.members.getItems())).to.deep.equal(['ann', 'bob']);
  const roles = await em.fork().find(Membership, {}, { populate: ['member'], orderBy: { member: { name: 'asc' } } });
  expect(roles.map(r => [r.member.name, r.role])).to.deep.equal([['ann', 'owner'], ['bob', 'member']]);
  expect(await em.fork().count(Group, { members: { name: 'bob' } })).to.equal(1);
});

forBoth('serialization: toObject, toJSON, serialize() and toPOJO()', { model: blog }, async ({ em, model }) => {
  const { Tag, Post, Comment } = model;
  const post = em.create(Post, { title: 'P', author: 'ann', secret: 'hidden' });
  post.tags.add(em.create(Tag, { name: 't' }));
  em.create(Comment, { body: 'c', post });
  await em.flush();
  const loaded = await em.fork().findOneOrFail(Post, post.id, { populate: ['tags'] });
  expect(wrap(loaded).toObject()).to.deep.equal({ id: post.id, title: 'P', writer: 'ann', tags: [{ id: 1, name: 't' }] });
  expect(JSON.parse(JSON.stringify(loaded))).to.deep.equal(wrap(loaded).toObject());
  const full = await em.fork().findOneOrFail(Post, post.id, { populate: ['tags', 'comments'] });
  expect(serialize(full, { populate: ['comments'], exclude: ['title'] }))
    .to.deep.equal({ id: post.id, writer: 'ann', tags: [1], comments: [{ id: 1, body: 'c', post: post.id }] });
  expect(wrap(loaded).toPOJO()).to.include({ title: 'P', author: 'ann' });
});
