import { randomBytes } from 'node:crypto';
import { migrateDatabase } from '../../src/adapters/mikro-orm/migrations.js';
import { seedLessons } from '../../src/adapters/mikro-orm/mikro-orm-lesson-repository.js';
import { openOrm } from '../../src/adapters/mikro-orm/orm.js';
import type { Population } from './population.js';

/**
 * Brings the database at `databaseUrl` to the shipped schema (creating it when missing, as
 * `classroom db migrate` does) and inserts the population's lessons in one transaction.
 */
export async function seedPopulation(databaseUrl: string, population: Population): Promise<void> {
  const orm = await openOrm({ databaseUrl, poolMax: 1 });
  try {
    await migrateDatabase(orm);
    await seedLessons(orm, { lessons: population.lessons, quizzes: [], tasks: [] });
  } finally {
    await orm.close();
  }
}

/** A database made for one bench run next to the others on the server; dropped at the end. */
export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * Names a database of its own on the server of `serverUrl` (any database there that we may
 * connect to); `seedPopulation` creates it.
 */
export function scratchDatabase(serverUrl: string): ScratchDatabase {
  const name = `classroom_bench_${randomBytes(6).toString('hex')}`;
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const orm = await openOrm({ databaseUrl: serverUrl, poolMax: 1 });
      try {
        await orm.em.getConnection().execute(`drop database if exists "${name}" with (force)`);
      } finally {
        await orm.close();
      }
    },
  };
}
