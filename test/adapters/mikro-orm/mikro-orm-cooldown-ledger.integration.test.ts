import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CooldownRow } from '../../../src/adapters/in-memory/in-memory-cooldown-ledger.js';
import { MikroOrmCooldownLedger } from '../../../src/adapters/mikro-orm/mikro-orm-cooldown-ledger.js';
import { WriteFence } from '../../../src/adapters/mikro-orm/write-fence.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import { describeCooldownLedgerContract } from '../../contracts/cooldown-ledger.contract.js';
import { hasPostgres } from '../../support/services.js';
import { createFreshDatabase, type FreshDatabase, migratedOrm } from './fresh-database.js';

describe.runIf(hasPostgres)('MikroOrmCooldownLedger on PostgreSQL', () => {
  let database: FreshDatabase;
  let orm: MikroORM;

  const rows = async (): Promise<CooldownRow[]> => {
    const found: Array<{ org_id: string; user_id: string; until: string; by: string }> =
      await orm.em
        .getConnection()
        .execute('select org_id, user_id, until, by from teacher_cooldown');
    return found.map((row) => ({
      teacher: { orgId: row.org_id, userId: row.user_id },
      untilMs: new Date(row.until).getTime(),
      by: row.by,
    }));
  };

  beforeAll(async () => {
    database = await createFreshDatabase();
    orm = await migratedOrm(database.url);
  });

  afterAll(async () => {
    await orm?.close();
    await database?.drop();
  });

  describeCooldownLedgerContract('PostgreSQL', async () => {
    await orm.em.getConnection().execute('truncate teacher_cooldown');
    return {
      ledger: new MikroOrmCooldownLedger(orm),
      rows,
      // The ORM outlives each test; the next one starts from an empty table.
      close: async () => {},
    };
  });

  it('refuses writes whose deadline has passed on the server, as unavailable, changing nothing', async () => {
    await orm.em.getConnection().execute('truncate teacher_cooldown');
    const teacher = { orgId: 'org-a', userId: 't-ada' };
    const untilMs = Date.UTC(2026, 0, 5, 9);
    await new MikroOrmCooldownLedger(orm).record({ teacher, untilMs, by: 'm-1' });
    const late = new MikroOrmCooldownLedger(orm, new WriteFence(orm, { budgetMs: -1_000 }));
    const outcomes = await Promise.allSettled([
      late.record({ teacher, untilMs: untilMs + 1, by: 'm-2' }),
      late.record({ teacher: { ...teacher, userId: 't-grace' }, untilMs, by: 'm-2' }),
      late.cancel({ teacher, untilMs }),
    ]);
    const refused = { status: 'rejected', reason: expect.any(DependencyUnavailableError) };
    expect(outcomes).toEqual(outcomes.map(() => refused));
    expect(await rows()).toEqual([{ teacher, untilMs, by: 'm-1' }]);
  });
});
