import type { Id } from './ids.js';

export const ROLES = ['teacher', 'student', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (value: unknown): value is Role =>
  typeof value === 'string' && (ROLES as readonly string[]).includes(value);

/** The three socket clients, named as analytics names them. */
export type ClientKind = 'teacher_app' | 'student_web' | 'manager_web';

/**
 * ManagerWeb is `product_type=manager` with role teacher or admin; TeacherApp is role teacher
 * without a product type; StudentWeb is role student without one. Anything else has no kind.
 */
export function clientKindOf(role: Role, productType: string | undefined): ClientKind | null {
  if (productType === undefined) {
    if (role === 'teacher') return 'teacher_app';
    if (role === 'student') return 'student_web';
    return null;
  }
  if (productType === 'manager' && (role === 'teacher' || role === 'admin')) return 'manager_web';
  return null;
}

/** Who a connected socket is. It comes from a verified token, never from a payload. */
export interface ClientIdentity {
  readonly userId: Id;
  readonly orgId: Id;
  readonly role: Role;
  readonly kind: ClientKind;
}

/** A teacher within an org: the unit of presence and of a teaching session. */
export interface TeacherRef {
  readonly orgId: Id;
  readonly userId: Id;
}

/** One string per teacher, for maps keyed by teacher: ids never contain `:`. */
export const teacherKey = ({ orgId, userId }: TeacherRef): string => `${orgId}:${userId}`;
