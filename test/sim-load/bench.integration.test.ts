import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { exitCodeOf } from '../../cli/commands/sim-bench.js';
import {
  type BenchReport,
  type MemoryRound,
  runBench,
  type ServerMemory,
  spreadOf,
  TARGETS,
  targetsOf,
} from '../../sim/load/bench-run.js';
import { ROOT } from '../../sim/load/child-processes.js';
import { mergeDeliveryReports } from '../../sim/load/delivery-ledger.js';
import { openOrm } from '../../src/adapters/mikro-orm/orm.js';
import { hasPostgres, hasRedis, POSTGRES_URL, REDIS_URL } from '../support/services.js';

const ROUNDS = 2;
const IDLE_CLIENTS = 20;

const median = (values: readonly number[]) => spreadOf(values).median;
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

describe.runIf(hasRedis && hasPostgres)(
  'runBench with tiny sizes on real Redis and PostgreSQL',
  () => {
    let report: BenchReport;

    beforeAll(async () => {
      report = await runBench({
        clients: 4,
        idleClients: IDLE_CLIENTS,
        rounds: ROUNDS,
        durationMs: 1_000,
        warmupMs: 200,
        concurrency: 1,
        workers: 1,
        connectConcurrency: 10,
        redisUrl: REDIS_URL,
        databaseUrl: POSTGRES_URL,
        // Named explicitly, as a before/after run names an earlier checkout.
        serviceCheckout: ROOT,
      });
    }, 180_000);

    it('drives both servers with both events in every round, and reads every CPU figure', () => {
      for (const event of ['join_lesson', 'set_student_name'] as const) {
        const { rounds } = report.events[event];
        expect(rounds).toHaveLength(ROUNDS);
        for (const { echo, service } of rounds) {
          expect(echo.errors).toEqual({});
          expect(service.errors).toEqual({});
          // Redis works for the service only; the machine's CPU holds every process's, give or
          // take a clock tick of /proc's accounting on each side.
          expect(service.redisCpuPercent).toBeGreaterThan(0);
          for (const phase of [echo, service]) {
            expect(phase.acksPerS).toBeGreaterThan(0);
            expect(phase.latency.p99Ms).toBeGreaterThan(0);
            expect(phase.serverCpuPerAckUs).toBeCloseTo(
              (phase.serverCpuPercent / 100 / phase.acksPerS) * 1e6,
              -1,
            );
            expect(phase.machineCpuPercent).toBeGreaterThanOrEqual(
              phase.serverCpuPercent + phase.clientCpuPercent - 5,
            );
          }
        }
        expect(report.events[event].databaseCeilingPerS).toBeGreaterThan(0);
      }
      expect(report.settings.join('\n')).toContain(
        'RATE_LIMIT_PER_S=RATE_LIMIT_BURST=MAX_CONNECTIONS_PER_IP=1000000',
      );
      expect(report.settings).toContain(`the service measured was the checkout in ${ROOT}`);
      expect(report.cores).toMatch(/core/);
    });

    it('compares the servers by the median of the rounds, server CPU per ack first', () => {
      for (const event of ['join_lesson', 'set_student_name'] as const) {
        const comparison = report.events[event];
        const perRound = (figure: (round: (typeof comparison.rounds)[number]) => number) =>
          comparison.rounds.map(figure);
        expect(comparison.serverCpuPerAckRatio).toEqual(
          spreadOf(perRound((r) => ratio(r.service.serverCpuPerAckUs, r.echo.serverCpuPerAckUs))),
        );
        expect(comparison.throughputRatio.median).toBe(
          median(perRound((r) => ratio(r.service.acksPerS, r.echo.acksPerS))),
        );
      }
      const [join, name] = report.targets;
      expect(join?.met).toBe(
        report.events.join_lesson.serverCpuPerAckRatio.median <= TARGETS.serverCpuPerAckRatio,
      );
      expect(name?.met).toBe(
        report.events.set_student_name.serverCpuPerAckRatio.median <= TARGETS.serverCpuPerAckRatio,
      );
    });

    it("has the echo server push every seat claim to the lesson's teacher, as the service does", () => {
      for (const delivery of [report.delivery.echo, report.delivery.service]) {
        expect(delivery.expected).toBeGreaterThan(0);
        expect(delivery).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0 });
      }
    });

    it('reads both servers’ RSS with every idle client admitted, in every round', () => {
      expect(report.memory.rounds).toHaveLength(ROUNDS);
      for (const round of report.memory.rounds) {
        for (const server of [round.echo, round.service]) {
          expect(server).toMatchObject({ connected: IDLE_CLIENTS, admitted: IDLE_CLIENTS });
          expect(server.rssBeforeBytes).toBeGreaterThan(10 * 2 ** 20);
          // Read after a full collection, the live heap holds at least the sockets themselves.
          expect(server.heapPerClientBytes).toBeGreaterThan(1_000);
          expect(server.openFileLimit).toBeGreaterThanOrEqual(IDLE_CLIENTS);
        }
      }
      expect(report.memory.rssRatio.median).toBe(
        median(
          report.memory.rounds.map((r) =>
            ratio(r.service.rssPerClientBytes, r.echo.rssPerClientBytes),
          ),
        ),
      );
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

describe('the bench targets and its exit code', () => {
  const spread = (...values: number[]) => spreadOf(values);
  const admitted = (clients: number): ServerMemory => ({
    connected: clients,
    admitted: clients,
    rssBeforeBytes: 0,
    rssAfterBytes: 0,
    rssPerClientBytes: 0,
    rssPerClientUncollectedBytes: 0,
    heapPerClientBytes: 0,
    openFileLimit: 0,
  });
  const memory = (rssRatio: number[], rounds: MemoryRound[] = []) => ({
    clients: 100,
    rounds:
      rounds.length > 0
        ? rounds
        : rssRatio.map(() => ({ echo: admitted(100), service: admitted(100) })),
    rssRatio: spread(...rssRatio),
  });
  const delivered = mergeDeliveryReports([]);
  const targets = (join: number[], name: number[], rss: number[], rounds?: MemoryRound[]) =>
    targetsOf(
      {
        join_lesson: { serverCpuPerAckRatio: spread(...join) },
        set_student_name: { serverCpuPerAckRatio: spread(...name) },
      },
      memory(rss, rounds),
      delivered,
    );

  it('exits 0 when the medians of every round are within the targets, whatever one round did', () => {
    const met = targets([1.8, 2.6, 1.9], [2, 1.5, 3.1], [1.05, 1.3, 0.9]);
    expect(met.map((target) => target.met)).toEqual([true, true, true, true]);
    expect(met[0]?.value).toBe('1.9× (1.8–2.6×)');
    expect(exitCodeOf(met)).toBe(0);
  });

  it('exits 1 when the median server CPU per ack of one event is over twice the echo’s', () => {
    const missed = targets([1.8, 2.1, 2.2], [1.5, 1.5, 1.5], [1, 1, 1]);
    expect(missed.map((target) => target.met)).toEqual([false, true, true, true]);
    expect(exitCodeOf(missed)).toBe(1);
  });

  it('exits 1 when the median RSS ratio is over 1.1, or a client was not admitted', () => {
    expect(exitCodeOf(targets([1], [1], [1.05, 1.15, 1.2]))).toBe(1);
    const short = { echo: admitted(100), service: admitted(99) };
    expect(exitCodeOf(targets([1], [1], [1], [short]))).toBe(1);
  });

  it('exits 1 when a seat claim did not reach its teacher', () => {
    const lost = { ...delivered, expected: 1, lost: 1 };
    expect(
      exitCodeOf(
        targetsOf(
          {
            join_lesson: { serverCpuPerAckRatio: spread(1) },
            set_student_name: { serverCpuPerAckRatio: spread(1) },
          },
          memory([1]),
          lost,
        ),
      ),
    ).toBe(1);
  });
});
