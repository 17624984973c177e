import { describe, expect, it } from 'vitest';
import { SequentialIdSource } from '../../../sim/sequential-id-source.js';
import { VirtualClock } from '../../../sim/virtual-clock.js';
import { InMemoryPresenceStore } from '../../../src/adapters/in-memory/in-memory-presence-store.js';
import { DependencyUnavailableError } from '../../../src/application/errors.js';
import type { SocketOf } from '../../../src/application/ports/presence-store.js';
import type { Scheduler } from '../../../src/application/ports/scheduler.js';
import { epochAt } from '../../../src/domain/session.js';
import { everyPresenceMethod } from '../../contracts/every-presence-method.js';
import {
  describePresenceStoreContract,
  type LateCallHarness,
} from '../../contracts/presence-store.contract.js';
import { ManualScheduler } from '../../support/manual-scheduler.js';

const COMMAND_TIMEOUT_MS = 1_000;
const LATE_BY_MS = 500;

/** A store and a link to it whose calls can be made late, on virtual time. */
function lateCallsOn(store: InMemoryPresenceStore, clock: VirtualClock): LateCallHarness {
  const scheduler = new ManualScheduler(clock);
  const link = store.link({ scheduler, commandTimeoutMs: COMMAND_TIMEOUT_MS });
  return {
    store: link,
    nowMs: () => clock.nowMs(),
    async late(call) {
      link.setLate(LATE_BY_MS);
      const [answer] = await Promise.allSettled([call(link)]);
      link.setLate(null);
      clock.advance(COMMAND_TIMEOUT_MS + LATE_BY_MS);
      scheduler.runDue();
      return answer as PromiseSettledResult<never>;
    },
    close: async () => {},
  };
}

describePresenceStoreContract(
  'in-memory',
  async () => {
    const clock = new VirtualClock();
    const store = new InMemoryPresenceStore(clock);
    return {
      store,
      clock: { nowMs: () => clock.nowMs(), advance: async (ms) => clock.advance(ms) },
      restartEmpty: async () => store.restartEmpty(),
      close: async () => {},
    };
  },
  async () => {
    const clock = new VirtualClock();
    return lateCallsOn(new InMemoryPresenceStore(clock), clock);
  },
);

const ORG = 'org-a';
const teacher = (sid: string, userId = 't-1'): SocketOf => ({
  sid,
  identity: { userId, orgId: ORG, role: 'teacher', kind: 'teacher_app' },
});
const student: SocketOf = {
  sid: 'sid-s',
  identity: { userId: 's-1', orgId: ORG, role: 'student', kind: 'student_web' },
};
const T1 = { orgId: ORG, userId: 't-1' };

function storeOnVirtualTime() {
  const clock = new VirtualClock();
  const store = new InMemoryPresenceStore(clock, { bornWithItsDatabase: true });
  const connect = (socket: SocketOf, presenceTtlS = 60) =>
    store.connectTeacher({ socket, nowMs: clock.nowMs(), presenceTtlS, lessonTtlS: 3600 });
  return { clock, store, connect };
}

describe('InMemoryPresenceStore', () => {
  it('reports each lapse of a session once, whether it was connected or in its grace period', async () => {
    const { clock, store, connect } = storeOnVirtualTime();
    await connect(teacher('sid-1'), 1);
    await connect(teacher('sid-2', 't-2'), 2);
    expect(store.expireDue()).toEqual([]);
    clock.advance(1000);
    expect(store.expireDue()).toEqual([T1]);
    expect(store.expireDue()).toEqual([]);
    await store.settleExpiredSession({ teacher: T1, nowMs: clock.nowMs(), graceS: 1, leaseMs: 1 });
    clock.advance(1000);
    expect(store.expireDue()).toEqual([T1, { orgId: ORG, userId: 't-2' }]);
  });

  it('reports a lapse first noticed by another operation', async () => {
    const { clock, store, connect } = storeOnVirtualTime();
    await connect(teacher('sid-1'), 1);
    clock.advance(1000);
    expect(await store.isTeacherOnline(T1)).toBe(false);
    expect(store.expireDue()).toEqual([T1]);
  });

  it('does not report a logout or a refreshed session as a lapse', async () => {
    const { clock, store, connect } = storeOnVirtualTime();
    await connect(teacher('sid-1'), 1);
    await connect(teacher('sid-2', 't-2'), 1);
    await store.logoutTeacher(T1);
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

  it('has lost nothing at its first look when it was born with its database, and is lost otherwise', async () => {
    const clock = new VirtualClock();
    const born = new InMemoryPresenceStore(clock, { bornWithItsDatabase: true });
    expect(await born.checkContinuity(null)).toMatchObject({ lost: false, reconciled: true });
    born.restartEmpty();
    expect(await born.checkContinuity(null)).toMatchObject({ lost: true, reconciled: false });
    expect(await new InMemoryPresenceStore(clock).checkContinuity(null)).toMatchObject({
      lost: true,
      reconciled: false,
    });
  });

  it('forgets everything when restarted empty, lapses not yet reported included, and begins a new generation', async () => {
    const { clock, store, connect } = storeOnVirtualTime();
    const { mark } = await store.checkContinuity(null);
    await connect(teacher('sid-1'), 1);
    await store.joinLesson({
      socket: student,
      lessonId: 'l',
      seatCount: 1,
      lessonTtlS: 60,
      seats: { '1': '' },
    });
    clock.advance(1000);
    store.restartEmpty();
    expect(store.expireDue()).toEqual([]);
    expect(store.inspect()).toEqual({ sessions: [], directory: {}, lessons: {}, cooldowns: [] });
    expect(await store.nextDueAtMs()).toBeNull();
    expect(await store.checkContinuity(mark)).toEqual({
      mark: expect.not.stringMatching(mark),
      lost: true,
      reconciled: false,
    });
  });

  it('refuses every call of a link that is down, having changed nothing, while other links work', async () => {
    const { clock, store, connect } = storeOnVirtualTime();
    await connect(teacher('sid-1'));
    const before = store.inspect();
    const down = store.link();
    down.setUp(false);
    for (const [name, call] of Object.entries(everyPresenceMethod(clock.nowMs()))) {
      await expect(call(down), name).rejects.toBeInstanceOf(DependencyUnavailableError);
    }
    expect(store.inspect()).toEqual(before);
    expect(await store.link().isTeacherOnline(T1)).toBe(true);
    down.setUp(true);
    expect(
      await down.disconnectTeacher({
        socket: teacher('sid-1'),
        nowMs: clock.nowMs(),
        graceS: 1,
        lessonTtlS: 1,
      }),
    ).toMatchObject({
      kind: 'grace',
    });
  });

  it('answers every call of a late link unavailable at once and applies none of them when they arrive', async () => {
    const { clock, store, connect } = storeOnVirtualTime();
    await connect(teacher('sid-1'));
    await store.joinLesson({
      socket: student,
      lessonId: 'l',
      seatCount: 1,
      lessonTtlS: 60,
      seats: { '1': '' },
    });
    const before = store.inspect();
    const scheduler = new ManualScheduler(clock);
    const late = store.link({ scheduler, commandTimeoutMs: COMMAND_TIMEOUT_MS });
    late.setLate(LATE_BY_MS);
    for (const [name, call] of Object.entries(everyPresenceMethod(clock.nowMs()))) {
      await expect(call(late), name).rejects.toBeInstanceOf(DependencyUnavailableError);
    }
    clock.advance(COMMAND_TIMEOUT_MS + LATE_BY_MS);
    scheduler.runDue();
    expect(store.inspect()).toEqual(before);
  });

  it('applies a late call when its fence is taken away: the deadline check is what drops it', async () => {
    class Unfenced extends InMemoryPresenceStore {
      protected override pastDeadline(): boolean {
        return false;
      }
    }
    const clock = new VirtualClock();
    const store = new Unfenced(clock);
    const scheduler = new ManualScheduler(clock);
    const late = store.link({ scheduler, commandTimeoutMs: COMMAND_TIMEOUT_MS });
    late.setLate(LATE_BY_MS);
    const socket = teacher('sid-1');
    await expect(
      late.connectTeacher({
        socket,
        nowMs: clock.nowMs(),
        presenceTtlS: 60,
        lessonTtlS: 60,
        noCooldownInDatabase: true,
      }),
    ).rejects.toBeInstanceOf(DependencyUnavailableError);
    clock.advance(COMMAND_TIMEOUT_MS + LATE_BY_MS);
    scheduler.runDue();
    expect(await store.isTeacherOnline(T1)).toBe(true);
  });

  it('delivers late only through a scheduler, and only after the deadline', () => {
    const { clock, store } = storeOnVirtualTime();
    expect(() => store.link().setLate(LATE_BY_MS)).toThrow(/scheduler/);
    const scheduler: Scheduler = new ManualScheduler(clock);
    expect(() => store.link({ scheduler }).setLate(0)).toThrow(RangeError);
  });

  it('ends the sessions of thousands of teachers in deadline order, a batch at a time', async () => {
    const { clock, store } = storeOnVirtualTime();
    const ids = new SequentialIdSource('t');
    const teachers = Array.from({ length: 3000 }, () => ids.next());
    const startMs = clock.nowMs();
    for (const [i, userId] of teachers.entries()) {
      const socket = teacher(`sid-${userId}`, userId);
      const nowMs = startMs + (teachers.length - i);
      await store.connectTeacher({ socket, nowMs, presenceTtlS: 60, lessonTtlS: 1 });
      await store.disconnectTeacher({ socket, nowMs, graceS: 1, lessonTtlS: 1 });
    }
    clock.advance(1000 + teachers.length);
    expect(store.expireDue()).toHaveLength(teachers.length);
    const ended: string[] = [];
    for (;;) {
      const due = await store.dueSessionEnds(clock.nowMs(), 500);
      if (due.length === 0) break;
      for (const ref of due) {
        const settled = await store.settleExpiredSession({
          teacher: ref,
          nowMs: clock.nowMs(),
          graceS: 1,
          leaseMs: 30_000,
        });
        if (settled.kind === 'claimed') await store.completeSessionEnd(ref, settled.epoch);
        ended.push(ref.userId);
      }
    }
    expect(ended).toEqual([...teachers].reverse());
    expect(await store.nextDueAtMs()).toBeNull();
  });
});
