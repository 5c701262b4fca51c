import { defineEntity, p } from '@mikro-orm/core';

/** Shared: an account row is a tenant. */
export const Account = defineEntity({
  name: 'Account',
  properties: {
    id: p.string().primary(),
    name: p.string(),
  },
});

/** Tenant-owned, declaring no tenant column (the tenancy adds it). */
export const Project = defineEntity({
  name: 'Project',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string(),
    tasks: () => p.oneToMany(Task).mappedBy('project'),
  },
});

/** Tenant-owned, referencing a project (tenant-owned) and an account (shared). */
export const Task = defineEntity({
  name: 'Task',
  properties: {
    id: p.integer().primary().autoincrement(),
    title: p.string(),
    project: () => p.manyToOne(Project).nullable(),
    account: () => p.manyToOne(Account).nullable(),
  },
});
