import type { TokenClaims, TokenVerifier } from '../src/application/ports/token-verifier.js';
import type { Role } from '../src/domain/clients.js';
import { domainError } from '../src/domain/errors.js';
import type { Id } from '../src/domain/ids.js';
import type { Lesson, LessonSeed } from '../src/domain/lesson.js';
import { fail, ok, type Result } from '../src/domain/result.js';

/** One lesson per teacher per slot: a school day of hour-long periods. */
export const SLOT_MS = 3_600_000;

export interface SimUser {
  readonly userId: Id;
  readonly orgId: Id;
  readonly role: Role;
  /** ManagerWeb. */
  readonly productType?: 'manager';
}

export interface Org {
  readonly orgId: Id;
  readonly teachers: readonly SimUser[];
  readonly students: readonly SimUser[];
  /** The org's admin on ManagerWeb, and its first teacher on ManagerWeb (who may only force itself out). */
  readonly managers: readonly SimUser[];
  /** `lessons[slot]`: the org's lessons of that period, one per teacher, in teacher order. */
  readonly lessons: readonly (readonly Lesson[])[];
}

/**
 * The simulated school: organisations with their teachers, students and managers, and a timetable
 * of lessons. Org ids and lesson ids are both small numbers, so org `7` and lesson `7` exist side
 * by side and any mix-up of their rooms shows. User ids are unique within an org; with
 * `sharedIds` every org numbers its users from 1 (org 1's `t1` and org 2's `t1` are two people,
 * PROTOCOL §6a.5), otherwise they are numbered across the school and unique everywhere.
 */
export class School {
  readonly orgs: readonly Org[];
  readonly slots: number;
  private readonly lessonById = new Map<Id, Lesson>();
  /** Users by org and id (`org:user`): ids repeat across orgs. */
  private readonly users = new Map<string, SimUser>();

  constructor(counts: {
    readonly orgs: number;
    readonly teachers: number;
    readonly students: number;
    readonly durationMs: number;
    readonly sharedIds: boolean;
  }) {
    this.slots = Math.max(1, Math.ceil(counts.durationMs / SLOT_MS));
    const orgIds = Array.from({ length: counts.orgs }, (_, index) => String(index + 1));
    const members = (count: number, prefix: string, role: Role) => {
      const byOrg = new Map<Id, SimUser[]>(orgIds.map((orgId) => [orgId, []]));
      for (let n = 0; n < count; n++) {
        const orgId = orgIds[n % orgIds.length] as Id;
        const ofOrg = byOrg.get(orgId) ?? [];
        const number = counts.sharedIds ? ofOrg.length + 1 : n + 1;
        ofOrg.push({ userId: `${prefix}${number}`, orgId, role });
      }
      return byOrg;
    };
    const teachers = members(counts.teachers, 't', 'teacher');
    const students = members(counts.students, 's', 'student');
    let lessonNumber = 0;
    const orgs: Org[] = [];
    for (const orgId of orgIds) {
      const orgTeachers = teachers.get(orgId) ?? [];
      const orgStudents = students.get(orgId) ?? [];
      // Seats for an average class: random choices then fill some lessons and race for seats.
      const seatCount = Math.max(
        1,
        Math.ceil(orgStudents.length / Math.max(1, orgTeachers.length)),
      );
      const lessons = Array.from({ length: this.slots }, () =>
        orgTeachers.map((teacher): Lesson => {
          lessonNumber += 1;
          return {
            id: String(lessonNumber),
            orgId,
            teacherId: teacher.userId,
            title: null,
            seatCount,
            status: 'scheduled',
          };
        }),
      );
      const managers: SimUser[] = [
        { userId: `m${orgId}`, orgId, role: 'admin', productType: 'manager' },
      ];
      const first = orgTeachers[0];
      if (first !== undefined) managers.push({ ...first, productType: 'manager' });
      orgs.push({ orgId, teachers: orgTeachers, students: orgStudents, managers, lessons });
    }
    this.orgs = orgs;
    for (const org of orgs) {
      for (const lesson of org.lessons.flat()) this.lessonById.set(lesson.id, lesson);
      for (const user of [...org.teachers, ...org.students, ...org.managers]) {
        if (user.productType === undefined || user.role === 'admin') {
          this.users.set(userKey(user.orgId, user.userId), user);
        }
      }
    }
  }

  lesson(lessonId: Id): Lesson | undefined {
    return this.lessonById.get(lessonId);
  }

  /** A user of an org by id (a teacher on ManagerWeb is the same user as on TeacherApp). */
  user(orgId: Id, userId: Id): SimUser | undefined {
    return this.users.get(userKey(orgId, userId));
  }

  /** The rows the lesson repository starts from. */
  seed(): LessonSeed {
    return {
      lessons: this.orgs.flatMap((org) => org.lessons.flat().map((lesson) => ({ ...lesson }))),
      quizzes: [],
      tasks: [],
    };
  }

  /** The access token a user's clients present. */
  tokenOf(user: SimUser): string {
    return `${TOKEN_PREFIX}${userKey(user.orgId, user.userId)}`;
  }
}

/**
 * Access tokens of the school's users. The simulator replaces JWTs with opaque names: a JWT's
 * `exp` is checked against the wall clock, which would make a run depend on when it ran. What the
 * use cases do with the claims is unchanged.
 */
export class SchoolTokens implements TokenVerifier {
  constructor(private readonly school: School) {}

  async verify(token: string): Promise<Result<TokenClaims, ReturnType<typeof unauthorized>>> {
    const [orgId, userId] = token.startsWith(TOKEN_PREFIX)
      ? token.slice(TOKEN_PREFIX.length).split(':')
      : [];
    const user =
      orgId === undefined || userId === undefined ? undefined : this.school.user(orgId, userId);
    if (user === undefined) return fail(unauthorized());
    return ok({
      userId: user.userId,
      orgId: user.orgId,
      role: user.role,
      expiresAtS: SCHOOL_TOKENS_EXPIRE_AT_S,
    });
  }
}

/** The school's tokens outlive any run (2100-01-01): its users never need to refresh them. */
const SCHOOL_TOKENS_EXPIRE_AT_S = Date.UTC(2100, 0, 1) / 1000;

const TOKEN_PREFIX = 'sim-token-';

/** Ids never contain ':', so `org:user` names one user. */
const userKey = (orgId: Id, userId: Id) => `${orgId}:${userId}`;

const unauthorized = () => domainError('unauthorized', 'Unknown simulated token.');
