import type { ClientIdentity, TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';

/**
 * The Redis key layout: the protocol's keys (PROTOCOL §7) and the service's own. Ids never contain
 * ':', so keys of different kinds never collide, and the service's own keys (`classroom:`…) cannot
 * be taken by a directory key (a bare user id).
 */
export const aliveKey = (teacher: TeacherRef) =>
  `alive:org_${teacher.orgId}_user_${teacher.userId}`;
export const cooldownKey = (teacher: TeacherRef) =>
  `cooldown:org_${teacher.orgId}_user_${teacher.userId}`;
export const seatsKey = (lessonId: Id) => `lesson_seat_${lessonId}`;
export const lessonTeachersKey = (lessonId: Id) => `lesson_teacher_${lessonId}`;
export const lessonStudentsKey = (lessonId: Id) => `lesson_student_${lessonId}`;
/** The lesson hash a socket's membership goes to: teachers' or students'. */
export const membershipKey = (identity: ClientIdentity, lessonId: Id) =>
  identity.kind === 'teacher_app' ? lessonTeachersKey(lessonId) : lessonStudentsKey(lessonId);

/** Sorted set of pending deadlines: member `{org}:{user}`, score the deadline in ms. */
export const DEADLINES_KEY = 'classroom:deadlines';
/** Hash of the org's sessions (its presence index): user → JSON session record. */
export const presenceIndexKey = (orgId: Id) => `classroom:presence:${orgId}`;
/** Sorted set of a teacher's live TeacherApp sockets: sid → live until (ms). */
export const liveSocketsKey = (teacher: TeacherRef) =>
  `classroom:sockets:${teacher.orgId}:${teacher.userId}`;
/** Hash of the store's identity: `generation` and `beat` (see `checkContinuity`). */
export const CONTINUITY_KEY = 'classroom:continuity';
/** String held by the node that reconciles the loss of one generation of the store. */
export const reconciliationKey = (loss: string) => `classroom:reconcile:${loss}`;

export const sessionMember = (teacher: TeacherRef) => `${teacher.orgId}:${teacher.userId}`;

export function teacherOfMember(member: string): TeacherRef {
  const colon = member.indexOf(':');
  return { orgId: member.slice(0, colon), userId: member.slice(colon + 1) };
}
