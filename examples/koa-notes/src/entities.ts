import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/** A user (shared database). Their id is also their tenant id. */
export const User = defineEntity({
  name: 'User',
  properties: {
    id: p.string().primary(),
    username: p.string().unique(),
    passwordHash: p.string().hidden(),
    isSuperuser: p.boolean().default(false),
  },
});
export type IUser = InferEntity<typeof User>;

/** A login session (shared database); `switchedTenant` holds a superuser's admin switch. */
export const Session = defineEntity({
  name: 'Session',
  properties: {
    token: p.string().primary(),
    user: () => p.manyToOne(User).deleteRule('cascade'),
    switchedTenant: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type ISession = InferEntity<typeof Session>;

/** A note (each user's own database), written by a user of the shared database. */
export const Note = defineEntity({
  name: 'Note',
  properties: {
    id: p.integer().primary().autoincrement(),
    text: p.text(),
    author: () => p.manyToOne(User),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type INote = InferEntity<typeof Note>;
