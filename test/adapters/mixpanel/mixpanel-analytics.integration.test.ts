import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  MixpanelAnalytics,
  type MixpanelAnalyticsOptions,
} from '../../../src/adapters/mixpanel/mixpanel-analytics.js';
import type { AnalyticsEvent } from '../../../src/application/ports/analytics.js';
import { counterValue } from '../../support/metrics.js';
import { FakeMixpanel } from './fake-mixpanel.js';

const TOKEN = 'test-token';

function lessonEvent(overrides: Partial<AnalyticsEvent> = {}): AnalyticsEvent {
  return {
    name: 'reconnect',
    distinctId: 't-1',
    lessonId: 'l-1',
    orgId: 'o-1',
    role: 'teacher',
    client: 'teacher_app',
    timeMs: 1_700_000_000_123,
    insertId: randomUUID(),
    ...overrides,
  };
}

const SENT = 'classroom_analytics_events_sent_total';
const DROPPED = 'classroom_analytics_events_dropped_total';
const ERRORS = 'classroom_analytics_errors_total';

describe('MixpanelAnalytics', () => {
  let mixpanel: FakeMixpanel;
  let registry: Registry;
  let adapters: MixpanelAnalytics[];

  function analytics(options: Partial<MixpanelAnalyticsOptions> = {}): MixpanelAnalytics {
    const adapter = new MixpanelAnalytics({
      token: TOKEN,
      host: mixpanel.host,
      protocol: 'http',
      // Only `close()` or a full batch sends, unless a test asks for the timer.
      flushIntervalMs: 60_000,
      backoffMs: 5,
      logger: pino({ level: 'silent' }),
      registry,
      ...options,
    });
    adapters.push(adapter);
    return adapter;
  }

  beforeEach(async () => {
    // The package sends even loopback requests through a proxy named in the environment.
    vi.stubEnv('HTTP_PROXY', undefined);
    vi.stubEnv('HTTPS_PROXY', undefined);
    mixpanel = await new FakeMixpanel().start();
    registry = new Registry();
    adapters = [];
  });

  afterEach(async () => {
    await Promise.all(adapters.map((adapter) => adapter.close()));
    await mixpanel.stop();
    vi.unstubAllEnvs();
  });

  it('posts reconnect and disconnect to /track with exactly the protocol properties', async () => {
    const adapter = analytics();
    const reconnect = lessonEvent();
    const disconnect = lessonEvent({
      name: 'disconnect',
      distinctId: 's-9',
      role: 'student',
      client: 'student_web',
      timeMs: 1_700_000_001_000,
    });

    await adapter.track(reconnect);
    await adapter.track(disconnect);
    await adapter.close();

    expect(mixpanel.requests).toHaveLength(1);
    expect(mixpanel.requests[0]?.method).toBe('POST');
    expect(mixpanel.requests[0]?.path).toBe('/track');
    expect(mixpanel.events).toEqual([
      {
        event: 'reconnect',
        properties: {
          distinct_id: 't-1',
          lesson_id: 'l-1',
          org_id: 'o-1',
          role: 'teacher',
          client: 'teacher_app',
          time: 1_700_000_000_123,
          $insert_id: reconnect.insertId,
          token: TOKEN,
        },
      },
      {
        event: 'disconnect',
        properties: {
          distinct_id: 's-9',
          lesson_id: 'l-1',
          org_id: 'o-1',
          role: 'student',
          client: 'student_web',
          time: 1_700_000_001_000,
          $insert_id: disconnect.insertId,
          token: TOKEN,
        },
      },
    ]);
    expect(await counterValue(registry, SENT)).toBe(2);
  });

  it('sends 120 events as requests of 50, 50 and 20, the last when the flush interval passes', async () => {
    const adapter = analytics({ flushIntervalMs: 20 });
    const events = Array.from({ length: 120 }, () => lessonEvent());

    for (const event of events) await adapter.track(event);
    await mixpanel.waitForRequests(3);

    expect(mixpanel.requests.map((request) => request.events.length)).toEqual([50, 50, 20]);
    expect(mixpanel.insertIds).toEqual(events.map((event) => event.insertId));
  });

  it('sends no more than batchSize events per request', async () => {
    const adapter = analytics({ batchSize: 7 });

    for (let i = 0; i < 20; i++) await adapter.track(lessonEvent());
    await adapter.close();

    expect(mixpanel.requests.map((request) => request.events.length)).toEqual([7, 7, 6]);
  });

  it.each([
    ['answered with a 500', 'fail'],
    ['whose connection was dropped', 'drop'],
  ] as const)('retries a batch %s with the same $insert_id', async (_, failure) => {
    mixpanel.reply([failure]);
    const adapter = analytics();
    const event = lessonEvent();

    await adapter.track(event);
    await adapter.close();

    expect(mixpanel.requests).toHaveLength(2);
    expect(mixpanel.insertIds).toEqual([event.insertId, event.insertId]);
    expect(await counterValue(registry, ERRORS)).toBe(1);
    expect(await counterValue(registry, SENT)).toBe(1);
  });

  it('retries a request left unanswered past requestTimeoutMs', async () => {
    mixpanel.reply(['hang']);
    const adapter = analytics({ requestTimeoutMs: 50 });
    const event = lessonEvent();

    await adapter.track(event);
    await adapter.close();

    expect(mixpanel.insertIds).toEqual([event.insertId, event.insertId]);
    expect(await counterValue(registry, SENT)).toBe(1);
  });

  it('doubles the wait before each retry and drops the batch after maxAttempts', async () => {
    mixpanel.reply([], 'fail');
    const adapter = analytics({ maxAttempts: 3, backoffMs: 30 });

    await adapter.track(lessonEvent());
    await adapter.track(lessonEvent());
    await adapter.close();

    const [first, second, third] = mixpanel.requests.map((request) => request.atMs);
    expect(mixpanel.requests).toHaveLength(3);
    // Timers never fire early by more than their millisecond rounding.
    expect((second ?? 0) - (first ?? 0)).toBeGreaterThanOrEqual(29);
    expect((third ?? 0) - (second ?? 0)).toBeGreaterThanOrEqual(59);
    expect(await counterValue(registry, ERRORS)).toBe(3);
    expect(await counterValue(registry, DROPPED, { reason: 'retries_exhausted' })).toBe(2);
    expect(await counterValue(registry, SENT)).toBe(0);
  });

  it('drops and counts the events that arrive while the queue is full', async () => {
    const adapter = analytics({ maxQueue: 5 });
    const events = Array.from({ length: 8 }, () => lessonEvent());

    for (const event of events) await adapter.track(event);
    await adapter.close();

    expect(mixpanel.insertIds).toEqual(events.slice(0, 5).map((event) => event.insertId));
    expect(await counterValue(registry, DROPPED, { reason: 'queue_full' })).toBe(3);
    expect(await counterValue(registry, SENT)).toBe(5);
  });

  it('sends what is queued when closed and drops what is tracked afterwards', async () => {
    const adapter = analytics();
    await adapter.track(lessonEvent());
    await adapter.track(lessonEvent());

    await adapter.close();
    await adapter.track(lessonEvent());
    await adapter.close();

    expect(mixpanel.requests.map((request) => request.events.length)).toEqual([2]);
    expect(await counterValue(registry, DROPPED, { reason: 'closed' })).toBe(1);
  });

  it('tracks without waiting for a request Mixpanel has not answered', async () => {
    mixpanel.reply([], 'hang');
    const adapter = analytics({ batchSize: 1, closeTimeoutMs: 50 });

    await adapter.track(lessonEvent());
    await mixpanel.waitForRequests(1);

    await expect(adapter.track(lessonEvent())).resolves.toBeUndefined();
  });

  it('stops waiting for unanswered batches after closeTimeoutMs and counts them dropped', async () => {
    mixpanel.reply([], 'hang');
    const adapter = analytics({ batchSize: 1, closeTimeoutMs: 50 });
    await adapter.track(lessonEvent());
    await adapter.track(lessonEvent());
    await mixpanel.waitForRequests(1);

    await adapter.close();

    expect(mixpanel.requests).toHaveLength(1);
    expect(await counterValue(registry, DROPPED, { reason: 'closed' })).toBe(2);
    expect(await counterValue(registry, SENT)).toBe(0);
  });

  it('never rejects when Mixpanel cannot be reached, and counts each failed attempt', async () => {
    const unreachable = await new FakeMixpanel().start();
    const host = unreachable.host;
    await unreachable.stop();
    const adapter = analytics({ host, maxAttempts: 2 });

    // A full batch starts a request whose failure must not reach the caller.
    for (let i = 0; i < 50; i++) {
      await expect(adapter.track(lessonEvent())).resolves.toBeUndefined();
    }
    await expect(adapter.close()).resolves.toBeUndefined();

    expect(await counterValue(registry, ERRORS)).toBe(2);
    expect(await counterValue(registry, DROPPED, { reason: 'retries_exhausted' })).toBe(50);
  });

  it('refuses a batch size above the 50 events track_batch allows', () => {
    expect(() => analytics({ batchSize: 51 })).toThrow(/batchSize must be at most 50/);
  });
});
