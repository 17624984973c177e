import { describe, expect, it } from 'vitest';
import { SequentialIdSource } from '../../../sim/sequential-id-source.js';
import { VirtualClock } from '../../../sim/virtual-clock.js';
import { InMemoryPresenceStore } from '../../../src/adapters/in-memory/in-memory-presence-store.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import type { SocketOf } from '../../../src/application/ports/presence-store.js';
import { epochAt } from '../../../src/domain/session.js';
import { describePresenceStoreContract } from '../../contracts/presence-store.contract.js';

describePresenceStoreContract('in-memory', async () => {
  const clock = new VirtualClock();
  const store = new InMemoryPresenceStore(clock);
  return {
    store,
    clock: { nowMs: () => clock.nowMs(), advance: async (ms) => clock.advance(ms) },
    dump: async () => store.dump(),
    restartEmpty: async () => store.restartEmpty(),
    close: async () => {},
  };
});

const teacher = (sid: string, userId = 't-1'): SocketOf => ({
  sid,
  identity: { userId, orgId: 'org-a', role: 'teacher', kind: 'teacher_app' },
});

function storeOnVirtualTime() {
  const clock = new VirtualClock();
  const store = new InMemoryPresenceStore(clock);
  const connect = (socket: SocketOf, presenceTtlS = 60) =>
    store.connectTeacher({ socket, nowMs: clock.nowMs(), presenceTtlS, lessonTtlS: 3600 });
  return { clock, store, connect };
}

describe('InMemoryPresenceStore', () => {
  it('reports each expired alive hash once, as Redis expired notifications do', async () => {
    const { clock, store, connect } = storeOnVirtualTime();
    await connect(teacher('sid-1'), 1);
    await connect(teacher('sid-2', 't-2'), 2);
    expect(store.expireDue()).toEqual([]);
    clock.advance(1000);
    expect(store.expireDue()).toEqual([{ orgId: 'org-a', userId: 't-1' }]);
    expect(store.expireDue()).toEqual([]);
    clock.advance(1000);
    expect(store.expireDue()).toEqual([{ orgId: 'org-a', userId: 't-2' }]);
  });

  it('reports an expiry first noticed by another operation', async () => {
    const { clock, store, connect } = storeOnVirtualTime();
    await connect(teacher('sid-1'), 1);
    clock.advance(1000);
    expect(store.dump()).not.toHaveProperty(['alive:org_org-a_user_t-1']);
    expect(store.expireDue()).toEqual([{ orgId: 'org-a', userId: 't-1' }]);
  });

  it('does not report a logout or a refreshed hash as an expiry', async () => {
    const { clock, store, connect } = storeOnVirtualTime();
    await connect(teacher('sid-1'), 1);
    await connect(teacher('sid-2', 't-2'), 1);
    await store.logoutTeacher({ orgId: 'org-a', userId: 't-1' });
    clock.advance(500);
    await store.refreshTeachers({
      teachers: [{ socket: teacher('sid-2', 't-2'), epoch: epochAt(clock.nowMs()) }],
      nowMs: clock.nowMs(),
      presenceTtlS: 1,
      lessonTtlS: 1,
    });
    clock.advance(900);
    expect(store.expireDue()).toEqual([]);
  });

  it('loses expiries that happen while it is unavailable, leaving them to the deadline sweep', async () => {
    const { clock, store, connect } = storeOnVirtualTime();
    await connect(teacher('sid-1'), 1);
    store.setAvailable(false);
    clock.advance(1000);
    expect(store.expireDue()).toEqual([]);
    store.setAvailable(true);
    expect(store.expireDue()).toEqual([]);
    expect(await store.dueSessionEnds(clock.nowMs(), 10)).toEqual([
      { orgId: 'org-a', userId: 't-1' },
    ]);
  });

  it('rejects every operation while unavailable, having changed nothing', async () => {
    const { clock, store, connect } = storeOnVirtualTime();
    await connect(teacher('sid-1'));
    const before = store.dump();
    store.setAvailable(false);
    const socket = teacher('sid-2');
    const ref = { orgId: 'org-a', userId: 't-1' };
    const nowMs = clock.nowMs();
    const calls: Array<() => Promise<unknown>> = [
      () => store.connectTeacher({ socket, nowMs, presenceTtlS: 1, lessonTtlS: 1 }),
      () => store.connectStudent({ socket, lessonTtlS: 1 }),
      () =>
        store.refreshTeachers({
          teachers: [{ socket, epoch: epochAt(nowMs) }],
          nowMs,
          presenceTtlS: 1,
          lessonTtlS: 1,
        }),
      () => store.isTeacherOnline(ref),
      () => store.disconnectTeacher({ socket, nowMs, graceS: 1, lessonTtlS: 1 }),
      () => store.disconnectStudent({ socket, lessonTtlS: 1 }),
      () => store.logoutTeacher(ref),
      () => store.startCooldown({ teacher: ref, cooldownS: 1 }),
      () => store.joinLesson({ socket, lessonId: 'l', seatCount: 1, lessonTtlS: 1 }),
      () => store.undoJoinLesson({ socket, lessonId: 'l', previousLessonId: null }),
      () => store.claimSeat({ lessonId: 'l', studentId: 't-1', seatId: '1' }),
      () =>
        store.revertSeatClaim({
          lessonId: 'l',
          studentId: 't-1',
          seatId: '1',
          change: { alreadyHeld: false, releasedSeatId: null },
        }),
      () => store.dueSessionEnds(nowMs, 1),
      () => store.nextDueAtMs(),
      () => store.claimSessionEnd(ref, nowMs, 1),
      () => store.completeSessionEnd(ref, 1),
    ];
    for (const call of calls) {
      await expect(call()).rejects.toBeInstanceOf(DependencyUnavailableError);
    }
    expect(store.dump()).toEqual(before);
    store.setAvailable(true);
    expect(await store.nextDueAtMs()).toBe(nowMs + 60_000);
  });

  it('forgets every key and pending session when restarted empty', async () => {
    const { clock, store, connect } = storeOnVirtualTime();
    await connect(teacher('sid-1'), 1);
    store.restartEmpty();
    clock.advance(1000);
    expect(store.dump()).toEqual({});
    expect(store.expireDue()).toEqual([]);
    expect(await store.nextDueAtMs()).toBeNull();
  });

  it('ends the sessions of thousands of teachers in deadline order, a batch at a time', async () => {
    const { clock, store } = storeOnVirtualTime();
    const ids = new SequentialIdSource('t');
    const teachers = Array.from({ length: 3000 }, () => ids.next());
    const startMs = clock.nowMs();
    for (const [i, userId] of teachers.entries()) {
      await store.connectTeacher({
        socket: teacher(`sid-${userId}`, userId),
        nowMs: startMs + (teachers.length - i),
        presenceTtlS: 1,
        lessonTtlS: 1,
      });
    }
    clock.advance(1000 + teachers.length);
    expect(store.expireDue()).toHaveLength(teachers.length);
    const ended: string[] = [];
    for (;;) {
      const due = await store.dueSessionEnds(clock.nowMs(), 500);
      if (due.length === 0) break;
      for (const ref of due) {
        const claim = await store.claimSessionEnd(ref, clock.nowMs(), 30_000);
        if (claim !== null) await store.completeSessionEnd(ref, claim.epoch);
        ended.push(ref.userId);
      }
    }
    expect(ended).toEqual([...teachers].reverse());
    expect(await store.nextDueAtMs()).toBeNull();
  });
});
