import { describe, expect, it } from 'vitest';
import { InMemoryAnalytics } from '../../../src/adapters/in-memory/in-memory-analytics.js';
import type { AnalyticsEvent } from '../../../src/application/ports/analytics.js';

const event = (insertId: string): AnalyticsEvent => ({
  name: 'disconnect',
  distinctId: 's-1',
  lessonId: 'l-1',
  orgId: 'org-a',
  role: 'student',
  client: 'student_web',
  timeMs: 0,
  insertId,
});

describe('InMemoryAnalytics', () => {
  it('keeps the most recent events up to its capacity', async () => {
    const analytics = new InMemoryAnalytics(3);
    for (const id of ['1', '2', '3', '4', '5']) await analytics.track(event(id));
    expect(analytics.events.map(({ insertId }) => insertId)).toEqual(['3', '4', '5']);
  });
});
