import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadReport, loadRunPassed, runLoad } from '../../sim/load/load-run.js';
import { demoPopulation } from '../../sim/load/population.js';
import { loadConfig } from '../../src/config.js';
import { type RunningService, startService } from '../../src/runtime.js';

const SECRET = 'load-test-secret-that-is-long-enough-for-hs256';

describe('runLoad against an embedded node on the demo lessons', () => {
  let service: RunningService;
  let report: LoadReport;
  const deltaOf = (series: string) =>
    report.metrics[0]?.changed.find((change) => change.series === series)?.delta ?? 0;

  beforeAll(async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', AUTH_JWT_SECRET: SECRET });
    if (!config.ok) throw new Error(config.error.message);
    service = await startService(config.value, { logger: pino({ level: 'silent' }) });
    report = await runLoad({
      urls: [service.url],
      secret: SECRET,
      population: demoPopulation({ orgs: 1, teachers: 2, students: 12 }),
      durationMs: 3_000,
      ratePerS: 20,
      rateLimitPerS: 20,
      connectConcurrency: 10,
      settleTimeoutMs: 3_000,
      ackTimeoutMs: 5_000,
    });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('loses, duplicates and invents no server event', () => {
    expect(report.delivery).toMatchObject({ lost: 0, duplicated: 0, unexpected: 0 });
    expect(Object.keys(report.delivery.byEvent).sort()).toEqual([
      'logout',
      'presence_state',
      'set_student_name',
      'teacher_connect',
      'teacher_disconnect',
    ]);
    expect(loadRunPassed(report)).toBe(true);
  });

  it('connects every client and answers every request', () => {
    expect(report.clients).toEqual({ managers: 1, teachers: 2, students: 12 });
    expect(report.requests.connect?.errors).toEqual({});
    expect(report.requests.join_lesson?.errors).toEqual({});
    expect(report.requests.set_student_name?.latency.p99Ms).toBeGreaterThan(0);
    expect(report.actions.done).toBeGreaterThan(0);
  });

  it('meets exactly one seat_taken per seat race and nothing else', () => {
    expect(report.seats).toEqual({ races: 3, anomalies: 0, doubleBookings: 0 });
    expect(report.errors).toEqual({ seat_taken: 3 });
    expect(report.expectedErrors).toEqual({ seat_taken: 3 });
    expect(report.unexpectedErrors).toBe(0);
  });

  it("finds its acknowledgements in the node's counters", () => {
    expect(report.counterMismatches).toEqual([]);
    expect(deltaOf('classroom_events_total{event="set_student_name",outcome="seat_taken"}')).toBe(
      3,
    );
    expect(deltaOf('classroom_events_total{event="logout",outcome="ok"}')).toBe(2);
    expect(deltaOf('classroom_events_total{event="join_lesson",outcome="ok"}')).toBe(
      report.requests.join_lesson?.ok,
    );
  });
});
