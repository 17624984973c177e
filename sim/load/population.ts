import { DEMO } from '../../src/adapters/in-memory/demo-data.js';
import type { Role } from '../../src/domain/clients.js';
import type { Lesson } from '../../src/domain/lesson.js';

/** How many of each the user asked for: totals, spread over the organisations. */
export interface PopulationSize {
  readonly orgs: number;
  readonly teachers: number;
  readonly students: number;
}

export interface Member {
  readonly userId: string;
  readonly orgId: string;
  readonly role: Role;
}

/** A teacher or a student: someone who joins one lesson. */
export interface LessonMember extends Member {
  readonly lessonId: string;
}

/** Who takes part in a load run, and the lessons they meet in. */
export interface Population {
  /** One ManagerWeb per organisation, watching its teachers. */
  readonly managers: readonly Member[];
  readonly teachers: readonly LessonMember[];
  readonly students: readonly LessonMember[];
  /** One per teacher; they must exist on the nodes (demo data, or seeded in PostgreSQL). */
  readonly lessons: readonly Lesson[];
  /** Where the request was cut down to what exists, in words. */
  readonly notes: readonly string[];
}

/** Seats enough for a class of 30, the demo's biggest lesson. */
const DEFAULT_SEAT_COUNT = 30;

/**
 * The embedded mode's demo school: its one organisation, its admin as the manager, at most its two
 * teachers with their lessons, and at most as many students as those lessons have seats. Student
 * ids are the same on every run (`s-load-1`…), so a rerun against the same node finds the seats
 * its students took last time still theirs instead of taken by strangers.
 */
export function demoPopulation(size: PopulationSize): Population {
  const notes: string[] = [];
  if (size.orgs > 1) notes.push(`demo data has 1 organisation; --orgs ${size.orgs} became 1`);
  const lessons = [DEMO.lessons.math, DEMO.lessons.art].slice(0, Math.max(1, size.teachers));
  if (size.teachers > lessons.length) {
    notes.push(
      `demo data has ${lessons.length} teachers; --teachers ${size.teachers} became ${lessons.length}`,
    );
  }
  const seats = lessons.reduce((sum, lesson) => sum + lesson.seatCount, 0);
  const students = Math.min(size.students, seats);
  if (students < size.students) {
    notes.push(
      `the demo lessons have ${seats} seats; --students ${size.students} became ${students}`,
    );
  }
  const orgId = DEMO.orgId;
  return {
    managers: [{ userId: DEMO.manager.userId, orgId, role: DEMO.manager.role }],
    teachers: lessons.map((lesson) => ({
      userId: lesson.teacherId,
      orgId,
      role: 'teacher',
      lessonId: lesson.id,
    })),
    students: spreadStudents(students, lessons, (k) => `s-load-${k}`),
    lessons: lessons.map((lesson) => ({ ...lesson })),
    notes,
  };
}

/**
 * A school made up for this run, to be seeded into PostgreSQL: every id carries `runTag`, so runs
 * never collide with each other or with real data and every lesson starts with a fresh seat map.
 * Teachers are dealt to the organisations in turn, one scheduled lesson each; every lesson has a
 * seat for each of its students.
 */
export function seededPopulation(size: PopulationSize, runTag: string): Population {
  const notes: string[] = [];
  const orgCount = Math.min(size.orgs, size.teachers);
  if (orgCount < size.orgs) {
    notes.push(`every organisation needs a teacher; --orgs ${size.orgs} became ${orgCount}`);
  }
  const orgIds = Array.from({ length: orgCount }, (_, o) => `load-${runTag}-o${o + 1}`);
  const perLesson = Math.ceil(size.students / size.teachers);
  const lessons: Lesson[] = Array.from({ length: size.teachers }, (_, t) => {
    const orgId = orgIds[t % orgCount] as string;
    return {
      id: `${orgId}-l${t + 1}`,
      orgId,
      teacherId: `${orgId}-t${t + 1}`,
      title: `Load lesson ${t + 1}`,
      seatCount: Math.max(DEFAULT_SEAT_COUNT, perLesson),
      status: 'scheduled',
    };
  });
  return {
    managers: orgIds.map((orgId) => ({ userId: `${orgId}-m`, orgId, role: 'admin' })),
    teachers: lessons.map((lesson) => ({
      userId: lesson.teacherId,
      orgId: lesson.orgId,
      role: 'teacher',
      lessonId: lesson.id,
    })),
    students: spreadStudents(size.students, lessons, (k) => `load-${runTag}-s${k}`),
    lessons,
    notes,
  };
}

/** Each student goes to the lesson that is least full for its size, so lessons fill evenly. */
function spreadStudents(
  count: number,
  lessons: readonly Lesson[],
  idOf: (k: number) => string,
): LessonMember[] {
  const taken = lessons.map(() => 0);
  const fill = (i: number) => (taken[i] ?? 0) / (lessons[i]?.seatCount ?? 1);
  const students: LessonMember[] = [];
  for (let k = 1; k <= count; k += 1) {
    let best = 0;
    for (let i = 1; i < lessons.length; i += 1) if (fill(i) < fill(best)) best = i;
    taken[best] = (taken[best] ?? 0) + 1;
    const lesson = lessons[best] as Lesson;
    students.push({ userId: idOf(k), orgId: lesson.orgId, role: 'student', lessonId: lesson.id });
  }
  return students;
}
