import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../sim/virtual-clock.js';
import { InMemoryPresenceStore } from '../../../src/adapters/in-memory/in-memory-presence-store.js';
import { InMemorySessionExpiryFeed } from '../../../src/adapters/in-memory/in-memory-session-expiry-feed.js';
import type { TeacherRef } from '../../../src/domain/clients.js';

async function feedWithTeacherExpiring(userId: string) {
  const clock = new VirtualClock();
  const store = new InMemoryPresenceStore(clock, { bornWithItsDatabase: true });
  await store.connectTeacher({
    socket: {
      sid: 'sid',
      identity: { userId, orgId: 'org-a', role: 'teacher', kind: 'teacher_app' },
    },
    nowMs: clock.nowMs(),
    presenceTtlS: 1,
    lessonTtlS: 1,
  });
  clock.advance(1000);
  return new InMemorySessionExpiryFeed(store);
}

describe('InMemorySessionExpiryFeed', () => {
  it('hands each expired teacher to the listener on the next tick', async () => {
    const feed = await feedWithTeacherExpiring('t-1');
    const heard: TeacherRef[] = [];
    await feed.start((teacher) => heard.push(teacher));
    expect(feed.tick()).toBe(1);
    expect(feed.tick()).toBe(0);
    expect(heard).toEqual([{ orgId: 'org-a', userId: 't-1' }]);
  });

  it('loses expiries that happen while nobody listens', async () => {
    const feed = await feedWithTeacherExpiring('t-1');
    const heard: TeacherRef[] = [];
    expect(feed.tick()).toBe(0);
    await feed.start((teacher) => heard.push(teacher));
    await feed.stop();
    expect(feed.tick()).toBe(0);
    expect(heard).toEqual([]);
  });
});
