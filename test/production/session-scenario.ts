import { setTimeout as delay } from 'node:timers/promises';
import { expect } from 'vitest';
import { ack, type Client } from '../adapters/socket-io/classroom-harness.js';
import {
  type Deployment,
  FAST_TIMINGS,
  type LessonRowState,
  type Node,
  type SessionTimings,
} from './deployment.js';

/**
 * How long a second, wrong session end could still take to show: one sweep on every node plus a
 * margin. There is no event for "nothing else happened", so this is the one deliberate wait.
 */
const QUIET_PERIOD_MS = Number(FAST_TIMINGS.SWEEP_INTERVAL_S) * 1000 + 500;

/**
 * A teacher in a lesson with a student on each node, a scheduled lesson of the same teacher, and
 * a manager on each node; the teacher's socket is on the first node.
 */
export async function lessonUnderWay(
  deployment: Deployment,
  [first, second]: readonly [Node, Node],
) {
  const teacherId = deployment.unique('t');
  const lessonId = await deployment.addLesson(teacherId);
  const scheduledId = await deployment.addLesson(teacherId, { status: 'scheduled' });
  const managers = [
    await deployment.manager(first, deployment.unique('m')),
    await deployment.manager(second, deployment.unique('m')),
  ] as const;
  const teacher = await deployment.teacher(first, teacherId);
  await teacher.join(lessonId);
  const students = [
    await deployment.student(first, deployment.unique('s')),
    await deployment.student(second, deployment.unique('s')),
  ] as const;
  for (const student of students) await student.join(lessonId);
  return { teacherId, lessonId, scheduledId, teacher, students, managers };
}

/** A student's `set_student_name` for `seatId`, by default under its own id as its name. */
export function claimSeat(
  student: Client,
  lessonId: string,
  seatId: string,
  displayName = student.identity.sub,
): Promise<unknown> {
  return ack(student.socket, 'set_student_name', {
    lesson_id: lessonId,
    display_name: displayName,
    seat_id: seatId,
    student_id: student.identity.sub,
  });
}

/**
 * Waits for the end of `teacherId`'s session and checks it happened exactly once: the lesson, its
 * quiz and its task ended together in PostgreSQL, every student of the lesson heard one
 * `lesson_ended`, and every manager, on either node, heard one `logout` for the teacher.
 * Resolves to the lesson's row.
 */
export async function expectSessionEndedOnce(options: {
  readonly deployment: Deployment;
  readonly teacherId: string;
  readonly lessonId: string;
  readonly students: readonly Client[];
  readonly managers: readonly Client[];
}): Promise<LessonRowState> {
  const { deployment, teacherId, lessonId, students, managers } = options;
  for (const student of students) {
    expect(await student.next('lesson_ended')).toEqual({ lesson_id: lessonId });
  }
  await Promise.race(managers.map((manager) => loggedOut(manager, teacherId)));
  const ended = await deployment.lessonRow(lessonId);

  await delay(QUIET_PERIOD_MS);
  await Promise.all([...students, ...managers].map((client) => client.settle()));
  for (const manager of managers) {
    const logouts = manager.events('logout').filter((payload) => isFor(payload, teacherId));
    expect(logouts).toEqual([{ user_id: teacherId }]);
  }
  for (const student of students) {
    expect(student.events('lesson_ended')).toEqual([{ lesson_id: lessonId }]);
  }
  expect(await deployment.lessonRow(lessonId)).toEqual(ended);
  expectEndedTogether(ended);
  return ended;
}

/**
 * Checks that `teacherId`'s session lasts. Waits as long as a wrong end could take to show on nodes
 * started with `timings` — the teacher's presence running out unrefreshed, a grace period, a sweep
 * — then checks that it did not come: the lesson is still active, no student heard
 * `lesson_ended` and no manager heard `logout` for the teacher. There is no event for "nothing
 * happened", so this is a deliberate wait.
 */
export async function expectSessionKept(options: {
  readonly deployment: Deployment;
  readonly timings: SessionTimings;
  readonly teacherId: string;
  readonly lessonId: string;
  readonly students: readonly Client[];
  readonly managers: readonly Client[];
}): Promise<void> {
  const { deployment, timings, teacherId, lessonId, students, managers } = options;
  const { PRESENCE_TTL_S, DISCONNECT_GRACE_S, SWEEP_INTERVAL_S } = timings;
  const wrongEndS = Number(PRESENCE_TTL_S) + Number(DISCONNECT_GRACE_S) + Number(SWEEP_INTERVAL_S);
  await delay(wrongEndS * 1000 + 500);
  await Promise.all([...students, ...managers].map((client) => client.settle()));
  expect((await deployment.lessonRow(lessonId)).status).toBe('active');
  for (const student of students) expect(student.events('lesson_ended')).toEqual([]);
  for (const manager of managers) {
    expect(manager.events('logout').filter((payload) => isFor(payload, teacherId))).toEqual([]);
  }
}

/** The lesson is over, and its quiz and task were closed in the same transaction. */
export function expectEndedTogether(row: LessonRowState): void {
  expect(row.status).toBe('ended');
  expect(row.endedAtMs).toEqual(expect.any(Number));
  expect(row.quizClosedAtMs).toBe(row.endedAtMs);
  expect(row.taskClosedAtMs).toBe(row.endedAtMs);
}

async function loggedOut(manager: Client, teacherId: string): Promise<void> {
  while (!isFor(await manager.next('logout'), teacherId));
}

function isFor(payload: unknown, teacherId: string): boolean {
  return (payload as { user_id?: unknown }).user_id === teacherId;
}
