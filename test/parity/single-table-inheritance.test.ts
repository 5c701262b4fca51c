import { expect } from 'chai';
import { EntitySchema } from '@mikro-orm/core';
import { forBoth, tableNames } from './fixture.js';

interface IAnimal { id: number; name: string; type: string }
interface IDog extends IAnimal { barks: boolean }
interface ICat extends IAnimal { lives: number }

function model() {
  const Animal = new EntitySchema<IAnimal>({
    name: 'Animal',
    abstract: true,
    discriminatorColumn: 'type',
    discriminatorMap: { dog: 'Dog', cat: 'Cat' },
    properties: { id: { type: 'integer', primary: true, autoincrement: true }, name: { type: 'string' }, type: { type: 'string' } },
  });
  const Dog = new EntitySchema<IDog, IAnimal>({
    name: 'Dog', extends: Animal, discriminatorValue: 'dog', properties: { barks: { type: 'boolean', nullable: true } },
  });
  const Cat = new EntitySchema<ICat, IAnimal>({
    name: 'Cat', extends: Animal, discriminatorValue: 'cat', properties: { lives: { type: 'integer', nullable: true } },
  });
  return { Animal, Dog, Cat };
}

// The tenant run lists only the concrete children as tenant entities: their abstract root shares their table.
forBoth('single table inheritance: an abstract root and its children share one table', {
  model,
  tenantEntities: ({ Dog, Cat }) => [Dog, Cat],
}, async ({ em, model: { Animal, Dog, Cat } }) => {
  expect(await tableNames(em)).to.include('animal');
  em.create(Dog, { name: 'Rex', barks: true } as IDog);
  em.create(Cat, { name: 'Tom', lives: 9 } as ICat);
  await em.flush();
  const fork = em.fork();
  const animals = await fork.find(Animal, {}, { orderBy: { name: 'asc' } });
  expect(animals.map(a => [a.constructor.name, a.name])).to.deep.equal([['Dog', 'Rex'], ['Cat', 'Tom']]);
  expect(await fork.count(Cat, {})).to.equal(1);
  const rows = await em.getConnection().execute<{ type: string }[]>('select type from animal order by name');
  expect(rows.map(r => r.type)).to.deep.equal(['dog', 'cat']);
});
