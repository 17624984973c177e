import type { MikroORM } from '@mikro-orm/postgresql';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  MikroOrmPresenceLog,
  type MikroOrmPresenceLogOptions,
} from '../../../src/adapters/mikro-orm/mikro-orm-presence-log.js';
import { openOrm } from '../../../src/adapters/mikro-orm/orm.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import type { PresenceRecord } from '../../../src/domain/presence.js';
import { describePresenceLogContract } from '../../contracts/presence-log.contract.js';
import { counterValue } from '../../support/metrics.js';
import { hasPostgres } from '../../support/services.js';
import { createFreshDatabase, type FreshDatabase, migratedOrm } from './fresh-database.js';
import { closedPort } from './own-postgres.js';

const T0_MS = Date.UTC(2026, 0, 5, 9);
const WRITTEN = 'classroom_presence_log_written_total';
const DROPPED = 'classroom_presence_log_dropped_total';

const entry = (atMs: number, overrides: Partial<PresenceRecord> = {}): PresenceRecord => ({
  orgId: 'org-a',
  userId: 't-ada',
  atMs,
  kind: 'disconnect',
  reason: 'transport close',
  node: 'node-1',
  ...overrides,
});

const silent = pino({ level: 'silent' });

describe.runIf(hasPostgres)('MikroOrmPresenceLog on PostgreSQL', () => {
  let database: FreshDatabase;
  let orm: MikroORM;

  beforeAll(async () => {
    database = await createFreshDatabase();
    orm = await migratedOrm(database.url);
  });

  afterAll(async () => {
    await orm?.close();
    await database?.drop();
  });

  describePresenceLogContract('PostgreSQL', async () => {
    await orm.em.getConnection().execute('truncate presence_event');
    const log = new MikroOrmPresenceLog(orm, { logger: silent });
    return { log, close: () => log.close() };
  });

  describe('beyond the contract', () => {
    let registry: Registry;
    let logs: MikroOrmPresenceLog[];
    /** Every statement the ORM's pool sends, as knex reports it just before sending. */
    let statements: string[];
    const recordStatement = (query: { sql: string }) => statements.push(query.sql);
    const knex = () => orm.em.getConnection().getKnex();
    const inserts = () => statements.filter((sql) => /insert into "presence_event"/.test(sql));

    const presenceLog = (options: Partial<MikroOrmPresenceLogOptions> = {}) => {
      const log = new MikroOrmPresenceLog(orm, { logger: silent, registry, ...options });
      logs.push(log);
      return log;
    };

    beforeEach(async () => {
      await orm.em.getConnection().execute('truncate presence_event');
      registry = new Registry();
      logs = [];
      statements = [];
      knex().on('query', recordStatement);
    });

    afterEach(async () => {
      knex().removeListener('query', recordStatement);
      await Promise.all(logs.map((log) => log.close()));
    });

    it('writes 1,200 records made at once with three inserts of at most 500, and counts them', async () => {
      const log = presenceLog();
      for (let index = 0; index < 1_200; index += 1) {
        await log.record(entry(T0_MS + index, { userId: `t-${index % 7}` }));
      }
      await log.flush();
      expect(inserts()).toHaveLength(3);
      expect(await counterValue(registry, WRITTEN)).toBe(1_200);
      const [row] = await orm.em
        .getConnection()
        .execute('select count(*)::int as count from presence_event');
      expect(row?.count).toBe(1_200);
    });

    it('drops a batch the database refuses, counts and logs it, and writes the records behind it', async () => {
      const connection = orm.em.getConnection();
      await connection.execute(`
        create function refuse_reason() returns trigger language plpgsql as $$
        begin
          if new.reason = 'refused' then raise exception 'the test refuses this record'; end if;
          return new;
        end $$`);
      await connection.execute(
        'create trigger refuse_reason before insert on presence_event for each row execute function refuse_reason()',
      );
      const logged: unknown[] = [];
      const logger = pino(
        { level: 'error' },
        { write: (line: string) => logged.push(JSON.parse(line)) },
      );
      try {
        const log = presenceLog({ logger });
        await log.record(entry(T0_MS, { reason: 'fine' }));
        await log.record(entry(T0_MS + 1, { reason: 'refused' }));
        await log.flush();
        await log.record(entry(T0_MS + 2, { reason: 'later' }));
        await log.flush();
        const history = await log.history({ orgId: 'org-a', userId: 't-ada', limit: 10 });
        expect(history.map((found) => found.reason)).toEqual(['later']);
        expect(await counterValue(registry, DROPPED, { reason: 'refused' })).toBe(2);
        expect(await counterValue(registry, WRITTEN)).toBe(1);
        expect(logged).toEqual([
          expect.objectContaining({ msg: 'the database refused a batch of presence records' }),
        ]);
      } finally {
        await connection.execute('drop function refuse_reason cascade');
      }
    });

    it('prunes in chunks of 10,000, and counts every row', async () => {
      await orm.em.getConnection().execute(`
        insert into presence_event (org_id, user_id, at, kind, reason, node)
        select 'org-a', 't-' || n % 50, timestamptz '2026-01-01' + n * interval '1 ms',
          'disconnect', 'transport close', 'node-1'
        from generate_series(1, 25000) as n`);
      const log = presenceLog();
      expect(await log.prune(Date.UTC(2026, 0, 2))).toBe(25_000);
      expect(statements.filter((sql) => /delete from "presence_event"/.test(sql))).toHaveLength(3);
    });
  });
});

describe('MikroOrmPresenceLog when the database cannot be reached', () => {
  let orm: MikroORM;
  let log: MikroOrmPresenceLog;
  let registry: Registry;

  beforeAll(async () => {
    orm = await openOrm({ databaseUrl: `postgres://postgres@127.0.0.1:${await closedPort()}/x` });
    registry = new Registry();
    log = new MikroOrmPresenceLog(orm, { logger: silent, registry, maxQueue: 3 });
  });

  afterAll(async () => {
    await log?.close();
    await orm?.close();
  });

  it('takes every record at once, keeps up to maxQueue of them and drops and counts the rest', async () => {
    for (let index = 0; index < 5; index += 1) {
      await expect(log.record(entry(T0_MS + index))).resolves.toBeUndefined();
    }
    expect(await counterValue(registry, DROPPED, { reason: 'queue_full' })).toBe(2);
  });

  it('flushes without rejecting, keeping what it could not write within the bound', async () => {
    await expect(log.flush()).resolves.toBeUndefined();
    await log.record(entry(T0_MS + 10));
    expect(await counterValue(registry, DROPPED, { reason: 'queue_full' })).toBe(3);
    expect(await counterValue(registry, WRITTEN)).toBe(0);
  });

  it('answers history and prune with DependencyUnavailableError', async () => {
    await expect(
      log.history({ orgId: 'org-a', userId: 't-ada', limit: 10 }),
    ).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(log.prune(T0_MS)).rejects.toBeInstanceOf(DependencyUnavailableError);
  });

  it('drops and counts what is left when closed, and every record after', async () => {
    await log.close();
    await log.record(entry(T0_MS + 20));
    expect(await counterValue(registry, DROPPED, { reason: 'closed' })).toBe(4);
  });
});
