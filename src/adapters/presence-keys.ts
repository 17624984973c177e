import type { ClientIdentity, TeacherRef } from '../domain/clients.js';
import type { Id } from '../domain/ids.js';

/**
 * The presence key layout (PROTOCOL §7), shared by the Redis store and the in-memory store that
 * mirrors it. Ids never contain ':', so keys of different kinds never collide, and the service's
 * own keys (with ':') cannot be taken by a directory key (a bare user id).
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

/** Sorted set of pending session ends: member `{org}:{user}`, score the deadline in ms. */
export const DEADLINES_KEY = 'classroom:deadlines';
/** Hash of the session epoch (login_time) of each pending session end, by the same member. */
export const EPOCHS_KEY = 'classroom:epochs';

export const sessionMember = (teacher: TeacherRef) => `${teacher.orgId}:${teacher.userId}`;

export function teacherOfMember(member: string): TeacherRef {
  const colon = member.indexOf(':');
  return { orgId: member.slice(0, colon), userId: member.slice(colon + 1) };
}
