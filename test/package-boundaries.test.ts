import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { expect } from 'chai';

const ROOT = join(import.meta.dirname, '..');
const PACKAGES = readdirSync(join(ROOT, 'packages'));

/** Source files of a package (`src/**`, no declaration files), relative to the package folder. */
function sourceFiles(pkg: string): string[] {
  const base = join(ROOT, 'packages', pkg);
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return walk(path);
    }
    return /\.(ts|mts|cts|js)$/.test(entry.name) && !/\.d\.[mc]?ts$/.test(entry.name) ? [relative(base, path)] : [];
  });
  return walk(join(base, 'src'));
}

/** Package names a source file imports (static, dynamic, re-exports, require), type-only imports included. */
function importedPackages(source: string): string[] {
  const names = new Set<string>();
  const specifier = /(?:\bfrom|\bimport\(|\brequire\(|^import)\s*['"]((?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(?:\/[\w.-]+)*)['"]/gm;
  for (const [, spec] of source.matchAll(specifier)) {
    if (spec!.startsWith('node:')) {
      continue;
    }
    const name = spec!.startsWith('@') ? spec!.split('/').slice(0, 2).join('/') : spec!.split('/')[0]!;
    if (!builtinModules.includes(name)) {
      names.add(name);
    }
  }
  return [...names];
}

/** Where MikroORM-6-specific code lives (README, "Things to know: MikroORM 6 and 7"), per strategy. */
const MIKRO_ORM_6_HOMES = ['packages/sql/src/mikro-orm-6/', 'packages/sqlite/src/mikro-orm-6/', 'packages/postgresql/src/mikro-orm-6/', 'packages/row/src/mikro-orm-6/'];
/** Where MikroORM-7-specific code lives, per strategy. */
const MIKRO_ORM_7_HOMES = ['packages/sql/src/mikro-orm-7/', 'packages/sqlite/src/mikro-orm-7/', 'packages/postgresql/src/mikro-orm-7/', 'packages/row/src/mikro-orm-7/'];

/**
 * The files allowed to import each version-specific package; every other file of every package must
 * reach them through those files. better-sqlite3 is also used directly for work on SQLite files that
 * does not involve MikroORM (VACUUM INTO for templates, the backup API, restore checks).
 */
const ALLOWED_IMPORTERS: Record<string, string[]> = {
  'knex': MIKRO_ORM_6_HOMES,
  '@mikro-orm/knex': MIKRO_ORM_6_HOMES,
  '@mikro-orm/better-sqlite': MIKRO_ORM_6_HOMES,
  '@mikro-orm/postgresql': ['packages/postgresql/src/mikro-orm-6/', 'packages/postgresql/src/mikro-orm-7/'],
  'kysely': MIKRO_ORM_7_HOMES,
  '@mikro-orm/sql': MIKRO_ORM_7_HOMES,
  '@mikro-orm/sqlite': MIKRO_ORM_7_HOMES,
  'better-sqlite3': [
    ...MIKRO_ORM_6_HOMES,
    ...MIKRO_ORM_7_HOMES,
    'packages/sqlite/src/template-cache.ts',
    'packages/sqlite/src/tenant-handle.ts',
    'packages/sqlite/src/admin/sqlite-copy.ts',
    'packages/sqlite/src/admin/sqlite-restore.ts',
  ],
};

/** The imports of `source` (the file at `path`) that the file may not make. */
function misplacedImports(path: string, source: string): string[] {
  return importedPackages(source)
    .filter(name => name in ALLOWED_IMPORTERS && !ALLOWED_IMPORTERS[name]!.some(home => path === home || (home.endsWith('/') && path.startsWith(home))))
    .map(name => `${path} imports ${name}`);
}

describe('package boundaries', () => {
  it('each major\'s packages (knex, @mikro-orm/knex, @mikro-orm/better-sqlite; kysely, @mikro-orm/sql, @mikro-orm/sqlite), @mikro-orm/postgresql and better-sqlite3 are imported only where the README says', () => {
    const misplaced = PACKAGES.flatMap(pkg => sourceFiles(pkg).flatMap(file => {
      const path = `packages/${pkg}/${file}`;
      return misplacedImports(path, readFileSync(join(ROOT, path), 'utf8'));
    }));
    expect(misplaced).to.deep.equal([]);
    // The check can fail: each major's SQL packages outside its folders, or in the other major's folder.
    const strays = [
      ['packages/postgresql/src/postgres-schema-tenancy.ts', "import { Kysely } from 'kysely';"],
      ['packages/sqlite/src/sqlite-strategy.ts', "import type { Knex } from 'knex';"],
      ['packages/core/src/abstract-tenancy.ts', "import { SqlEntityManager } from '@mikro-orm/sql';"],
      ['packages/postgresql/src/mikro-orm-7/adapter.ts', "import { SqlEntityManager } from '@mikro-orm/knex';"],
      ['packages/sqlite/src/mikro-orm-6/adapter.ts', "import { SqliteDriver } from '@mikro-orm/sqlite';"],
      ['packages/row/src/row-tenancy.ts', "import type { SqlEntityManager } from '@mikro-orm/knex';"],
      ['packages/row/src/row-strategy.ts', "import { QueryBuilder } from '@mikro-orm/sql';"],
      ['packages/row/src/mikro-orm-7/query-builder-scope.ts', "import { QueryBuilder } from '@mikro-orm/knex';"],
      ['packages/row/src/mikro-orm-6/query-builder-scope.ts', "import { QueryBuilder } from '@mikro-orm/sql';"],
    ];
    expect(strays.flatMap(([path, source]) => misplacedImports(path!, source!))).to.have.length(strays.length);
  });

  it('each major\'s entry point of @mikro-tenant/sql is imported only from that major\'s folders (a process loads one major\'s code)', () => {
    const entry = /['"]@mikro-tenant\/sql\/(mikro-orm-\d+)['"]/g;
    const misplaced = PACKAGES.flatMap(pkg => sourceFiles(pkg).flatMap(file => {
      const path = `packages/${pkg}/${file}`;
      return [...readFileSync(join(ROOT, path), 'utf8').matchAll(entry)]
        .filter(([, major]) => !path.includes(`/src/${major}/`))
        .map(([, major]) => `${path} imports @mikro-tenant/sql/${major}`);
    }));
    expect(misplaced).to.deep.equal([]);
    // And the strategies do use it: their adapters for both majors.
    for (const major of ['mikro-orm-6', 'mikro-orm-7']) {
      for (const pkg of ['sqlite', 'postgresql', 'row']) {
        expect(readFileSync(join(ROOT, 'packages', pkg, 'src', major, 'adapter.ts'), 'utf8'), `${pkg} ${major}`).to.include(`'@mikro-tenant/sql/${major}'`);
      }
    }
  });

  it('core imports nothing of MikroORM but its public @mikro-orm/core API (and no database), and of OpenTelemetry only its API', () => {
    const imports = sourceFiles('core').flatMap(file => importedPackages(readFileSync(join(ROOT, 'packages', 'core', file), 'utf8')));
    expect([...new Set(imports)].sort()).to.deep.equal(['@mikro-orm/core', '@opentelemetry/api']);
  });

  it('the CLI and the Koa adapter depend on the contract in core only, never on a strategy package', () => {
    for (const pkg of ['cli', 'koa']) {
      const imports = new Set(sourceFiles(pkg).flatMap(file => importedPackages(readFileSync(join(ROOT, 'packages', pkg, file), 'utf8'))));
      expect([...imports].filter(name => name.startsWith('@mikro-tenant/') || name.startsWith('@mikro-orm/') && name !== '@mikro-orm/core'
        || name === 'knex' || name === 'better-sqlite3' || name === 'pg'), pkg).to.deep.equal(['@mikro-tenant/core']);
    }
  });

  for (const pkg of PACKAGES) {
    it(`@mikro-tenant/${pkg} declares every package its sources import`, () => {
      const manifest = JSON.parse(readFileSync(join(ROOT, 'packages', pkg, 'package.json'), 'utf8')) as Record<string, Record<string, string> | string>;
      const declared = new Set([manifest.name as string, ...['dependencies', 'peerDependencies', 'optionalDependencies']
        .flatMap(field => Object.keys((manifest[field] ?? {}) as Record<string, string>))]);
      const undeclared = sourceFiles(pkg).flatMap(file => importedPackages(readFileSync(join(ROOT, 'packages', pkg, file), 'utf8'))
        .filter(name => !declared.has(name))
        .map(name => `${name} (${file})`));
      expect(undeclared).to.deep.equal([]);
    });
  }
});
