import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BenchReport, runBench } from '../../sim/load/bench-run.js';
import { openOrm } from '../../src/adapters/mikro-orm/orm.js';
import { hasPostgres, hasRedis, POSTGRES_URL, REDIS_URL } from '../support/services.js';

describe.runIf(hasRedis && hasPostgres)(
  'runBench with tiny sizes on real Redis and PostgreSQL',
  () => {
    let report: BenchReport;

    beforeAll(async () => {
      report = await runBench({
        clients: 4,
        idleClients: 20,
        durationMs: 1_000,
        warmupMs: 200,
        concurrency: 1,
        workers: 1,
        connectConcurrency: 10,
        redisUrl: REDIS_URL,
        databaseUrl: POSTGRES_URL,
      });
    }, 120_000);

    it('measures both servers on both events and compares them', () => {
      for (const event of ['join_lesson', 'set_student_name'] as const) {
        const { echo, service, throughputRatio } = report.events[event];
        expect(echo.acksPerS).toBeGreaterThan(0);
        expect(service.acksPerS).toBeGreaterThan(0);
        expect(service.errors).toEqual({});
        expect(service.latency.p99Ms).toBeGreaterThan(0);
        expect(throughputRatio).toBeCloseTo(service.acksPerS / echo.acksPerS, 2);
        expect(report.events[event].databaseCeilingPerS).toBeGreaterThan(0);
        // Redis works for the service only; the machine's CPU holds every process's, give or take
        // a clock tick of /proc's accounting on each side.
        expect(service.redisCpuPercent).toBeGreaterThan(0);
        for (const phase of [echo, service]) {
          expect(phase.machineCpuPercent).toBeGreaterThan(0);
          expect(phase.machineCpuPercent).toBeGreaterThanOrEqual(
            phase.serverCpuPercent + phase.clientCpuPercent - 5,
          );
        }
      }
      expect(report.settings.join('\n')).toContain('RATE_LIMIT_PER_S=RATE_LIMIT_BURST=1000000');
      expect(report.cores).toMatch(/core/);
    });

    it('delivers every seat claim to its teacher exactly once', () => {
      expect(report.delivery.expected).toBeGreaterThan(0);
      expect(report.delivery).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0 });
    });

    it('reads the server RSS with every idle client admitted', () => {
      expect(report.memory).toMatchObject({ clients: 20, admitted: 20 });
      expect(report.memory.rssBeforeBytes).toBeGreaterThan(10 * 2 ** 20);
      expect(report.memory.serverOpenFileLimit).toBeGreaterThanOrEqual(20);
      expect(report.targets.map((target) => target.name)).toHaveLength(4);
    });

    it('leaves neither its database nor its Redis keys behind', async () => {
      const orm = await openOrm({ databaseUrl: POSTGRES_URL, poolMax: 1 });
      try {
        const rows: unknown[] = await orm.em
          .getConnection()
          .execute('select 1 from pg_database where datname = ?', [report.scratch.database]);
        expect(rows).toEqual([]);
      } finally {
        await orm.close();
      }
      const redis = new Redis(REDIS_URL);
      try {
        const [, keys] = await redis.scan(
          '0',
          'MATCH',
          `${report.scratch.redisKeyPrefix}*`,
          'COUNT',
          10_000,
        );
        expect(keys).toEqual([]);
      } finally {
        redis.disconnect();
      }
    });
  },
);
