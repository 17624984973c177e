import type { PresenceStore, SocketOf } from '../../src/application/ports/presence-store.js';
import { initialSeatMap } from '../../src/domain/seat-map.js';
import { epochAt } from '../../src/domain/session.js';

const ORG = 'org-a';
const TEACHER = { orgId: ORG, userId: 't-1' };
const teacher: SocketOf = {
  sid: 'sid-t',
  identity: { userId: 't-1', orgId: ORG, role: 'teacher', kind: 'teacher_app' },
};
const student: SocketOf = {
  sid: 'sid-s',
  identity: { userId: 's-1', orgId: ORG, role: 'student', kind: 'student_web' },
};

/**
 * One call of every port method, each of which reaches the store (no empty batch), for tests
 * of what every method does when the store cannot be reached.
 */
export function everyPresenceMethod(
  nowMs: number,
): Record<keyof PresenceStore, (store: PresenceStore) => Promise<unknown>> {
  const lesson = { lessonId: 'l', seatCount: 1, lessonTtlS: 60 };
  return {
    connectTeacher: (s) =>
      s.connectTeacher({ socket: teacher, nowMs, presenceTtlS: 60, lessonTtlS: 60 }),
    connectStudent: (s) => s.connectStudent({ socket: student, lessonTtlS: 60 }),
    refreshTeachers: (s) =>
      s.refreshTeachers({
        teachers: [{ socket: teacher, epoch: epochAt(nowMs) }],
        nowMs,
        presenceTtlS: 60,
        lessonTtlS: 60,
      }),
    disconnectTeacher: (s) =>
      s.disconnectTeacher({ socket: teacher, nowMs, graceS: 60, lessonTtlS: 60 }),
    disconnectStudent: (s) => s.disconnectStudent({ socket: student, lessonTtlS: 60 }),
    isTeacherOnline: (s) => s.isTeacherOnline(TEACHER),
    logoutTeacher: (s) => s.logoutTeacher(TEACHER),
    startCooldown: (s) => s.startCooldown({ teacher: TEACHER, cooldownS: 60 }),
    cancelCooldown: (s) => s.cancelCooldown(TEACHER),
    joinLesson: (s) => s.joinLesson({ socket: student, ...lesson, seats: initialSeatMap(1) }),
    undoJoinLesson: (s) =>
      s.undoJoinLesson({ socket: student, lessonId: 'l', previousLessonId: null }),
    claimSeat: (s) => s.claimSeat({ socket: student, lessonId: 'l', seatId: '1' }),
    ensureSeatMap: (s) =>
      s.ensureSeatMap({ lessonId: 'l', seats: initialSeatMap(1), lessonTtlS: 60 }),
    revertSeatClaim: (s) =>
      s.revertSeatClaim({
        lessonId: 'l',
        studentId: 's-1',
        seatId: '1',
        change: { alreadyHeld: false, releasedSeatId: null },
      }),
    dueSessionEnds: (s) => s.dueSessionEnds(nowMs, 10),
    nextDueAtMs: (s) => s.nextDueAtMs(),
    settleExpiredSession: (s) =>
      s.settleExpiredSession({
        teacher: TEACHER,
        nowMs: nowMs + 3_600_000,
        graceS: 60,
        leaseMs: 1000,
      }),
    completeSessionEnd: (s) => s.completeSessionEnd(TEACHER, epochAt(nowMs)),
    snapshot: (s) => s.snapshot(ORG),
    checkContinuity: (s) => s.checkContinuity(null),
    claimReconciliation: (s) => s.claimReconciliation('a-mark', 1000),
    restoreSockets: (s) =>
      s.restoreSockets({
        sockets: [{ socket: teacher, epoch: epochAt(nowMs), lessonId: 'l' }],
        nowMs,
        presenceTtlS: 60,
        lessonTtlS: 60,
      }),
    restoreSessions: (s) =>
      s.restoreSessions({ teachers: [{ teacher: TEACHER, lessonId: 'l' }], nowMs, graceS: 60 }),
    restoreCooldowns: (s) =>
      s.restoreCooldowns({
        cooldowns: [{ teacher: TEACHER, untilMs: nowMs + 60_000 }],
        nowMs,
        mark: 'a-mark',
      }),
  };
}
