import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WriteFence } from '../../../src/adapters/mikro-orm/write-fence.js';
import { hasPostgres } from '../../support/services.js';
import { createFreshDatabase, type FreshDatabase, migratedOrm } from './fresh-database.js';

const BUDGET_MS = 5_000;
/** Loopback round trips on a busy machine stay far below this. */
const ROUND_TRIP_MS = 100;

describe.runIf(hasPostgres)('WriteFence', () => {
  let database: FreshDatabase;
  let orm: MikroORM;

  const serverNowMs = async () => {
    const [row] = await orm.em
      .getConnection()
      .execute<Array<{ nowMs: number }>>(
        `select (extract(epoch from clock_timestamp()) * 1000)::float8 as "nowMs"`,
      );
    return row?.nowMs ?? Number.NaN;
  };

  beforeAll(async () => {
    database = await createFreshDatabase();
    orm = await migratedOrm(database.url);
  });

  afterAll(async () => {
    await orm?.close();
    await database?.drop();
  });

  it('sets deadlines the budget ahead of the server’s clock, never later', async () => {
    const fence = new WriteFence(orm, { budgetMs: BUDGET_MS });
    for (let round = 0; round < 3; round += 1) {
      const before = await serverNowMs();
      const deadlineMs = (await fence.deadline()).getTime();
      const after = await serverNowMs();
      expect(deadlineMs).toBeLessThanOrEqual(after + BUDGET_MS);
      expect(deadlineMs).toBeGreaterThan(before + BUDGET_MS - ROUND_TRIP_MS);
    }
  });

  it('reads the server’s clock once for many deadlines', async () => {
    const fence = new WriteFence(orm);
    const statements: string[] = [];
    const knex = orm.em.getConnection().getKnex();
    const record = (query: { sql: string }) => statements.push(query.sql);
    knex.on('query', record);
    try {
      await Promise.all(Array.from({ length: 10 }, () => fence.deadline()));
      await fence.deadline();
    } finally {
      knex.removeListener('query', record);
    }
    expect(statements).toEqual([expect.stringMatching(/clock_timestamp\(\)/)]);
  });
});
