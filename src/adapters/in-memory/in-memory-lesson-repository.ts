import { DependencyUnavailableError } from '../../application/errors.js';
import type { Attendance, LessonRepository } from '../../application/ports/lesson-repository.js';
import type { TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import type { Lesson, LessonItem, LessonSeed } from '../../domain/lesson.js';

export type LessonRow = Lesson & {
  readonly startedAtMs: number | null;
  readonly endedAtMs: number | null;
};
export type LessonItemRow = LessonItem & { readonly closedAtMs: number | null };
export type AttendanceRow = Attendance & {
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
};

/** Every row, as the contract suite compares repositories (times in ms). */
export interface LessonRepositorySnapshot {
  readonly lessons: LessonRow[];
  readonly quizzes: LessonItemRow[];
  readonly tasks: LessonItemRow[];
  readonly attendance: AttendanceRow[];
}

const EMPTY_SEED: LessonSeed = { lessons: [], quizzes: [], tasks: [] };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const teacherKey = (orgId: Id, teacherId: Id) => `${orgId}:${teacherId}`;

/**
 * The database of the embedded mode and the simulator: the four tables of PROTOCOL §8 in memory,
 * indexed by teacher and by lesson so that ending a session costs what it ends, not the size of
 * the school. Rows referring to a missing lesson are refused as a foreign key refuses them.
 * `setAvailable(false)` makes every method reject with `DependencyUnavailableError` having changed
 * nothing, like a database that cannot be reached.
 */
export class InMemoryLessonRepository implements LessonRepository {
  private available = true;
  private readonly lessons = new Map<Id, Mutable<LessonRow>>();
  private readonly lessonsByTeacher = new Map<string, Id[]>();
  private readonly quizzes = new Map<Id, Mutable<LessonItemRow>>();
  private readonly tasks = new Map<Id, Mutable<LessonItemRow>>();
  /** The quizzes and tasks of each lesson (the same records as in their tables). */
  private readonly itemsByLesson = new Map<Id, Mutable<LessonItemRow>[]>();
  /** Lesson → student → row: one row each, like the unique index; rows in creation order. */
  private readonly attendance = new Map<Id, Map<Id, AttendanceRow>>();

  constructor(seed: LessonSeed = EMPTY_SEED) {
    this.seed(seed);
  }

  /** Inserts rows, all or none: throws on a repeated id or a quiz/task of an unknown lesson. */
  seed(seed: LessonSeed): void {
    const newLessonIds = new Set(seed.lessons.map((lesson) => lesson.id));
    const items = [...seed.quizzes, ...seed.tasks];
    const newItemIds = new Set(items.map((item) => item.id));
    const repeated =
      newLessonIds.size !== seed.lessons.length ||
      newItemIds.size !== items.length ||
      [...newLessonIds].some((id) => this.lessons.has(id)) ||
      [...newItemIds].some((id) => this.quizzes.has(id) || this.tasks.has(id));
    if (repeated) throw new Error('The seed repeats a lesson, quiz or task id');
    const orphan = items.find(
      (item) => !newLessonIds.has(item.lessonId) && !this.lessons.has(item.lessonId),
    );
    if (orphan !== undefined) {
      throw new Error(`${orphan.id} refers to the unknown lesson ${orphan.lessonId}`);
    }
    for (const lesson of seed.lessons) {
      this.lessons.set(lesson.id, { ...lesson, startedAtMs: null, endedAtMs: null });
      const key = teacherKey(lesson.orgId, lesson.teacherId);
      this.lessonsByTeacher.set(key, [...(this.lessonsByTeacher.get(key) ?? []), lesson.id]);
    }
    for (const [table, rows] of [
      [this.quizzes, seed.quizzes],
      [this.tasks, seed.tasks],
    ] as const) {
      for (const item of rows) {
        const row = { ...item, closedAtMs: null };
        table.set(item.id, row);
        const ofLesson = this.itemsByLesson.get(item.lessonId) ?? [];
        ofLesson.push(row);
        this.itemsByLesson.set(item.lessonId, ofLesson);
      }
    }
  }

  setAvailable(up: boolean): void {
    this.available = up;
  }

  /** Copies of every row, in insertion order (attendance lesson by lesson). */
  snapshot(): LessonRepositorySnapshot {
    const copies = <T>(rows: Iterable<T>): T[] => [...rows].map((row) => ({ ...row }));
    return {
      lessons: copies(this.lessons.values()),
      quizzes: copies(this.quizzes.values()),
      tasks: copies(this.tasks.values()),
      attendance: copies([...this.attendance.values()].flatMap((rows) => [...rows.values()])),
    };
  }

  async findLesson(lessonId: Id): Promise<Lesson | null> {
    this.ensureAvailable();
    const row = this.lessons.get(lessonId);
    if (row === undefined) return null;
    const { id, orgId, teacherId, title, seatCount, status } = row;
    return { id, orgId, teacherId, title, seatCount, status };
  }

  async startLesson(lessonId: Id, nowMs: number): Promise<void> {
    this.ensureAvailable();
    const row = this.lessons.get(lessonId);
    if (row?.status !== 'scheduled') return;
    row.status = 'active';
    row.startedAtMs = nowMs;
  }

  async recordAttendance(attendance: Attendance, nowMs: number): Promise<void> {
    this.ensureAvailable();
    if (!this.lessons.has(attendance.lessonId)) {
      throw new Error(`Attendance refers to the unknown lesson ${attendance.lessonId}`);
    }
    const { lessonId, studentId, displayName, seatId } = attendance;
    const ofLesson = this.attendance.get(lessonId) ?? new Map<Id, AttendanceRow>();
    this.attendance.set(lessonId, ofLesson);
    const createdAtMs = ofLesson.get(studentId)?.createdAtMs ?? nowMs;
    ofLesson.set(studentId, {
      lessonId,
      studentId,
      displayName,
      seatId,
      createdAtMs,
      updatedAtMs: nowMs,
    });
  }

  /** All or nothing: nothing below can fail once availability is checked. */
  async endActiveLessons(teacher: TeacherRef, nowMs: number): Promise<Id[]> {
    this.ensureAvailable();
    const ended: Id[] = [];
    const lessonIds = this.lessonsByTeacher.get(teacherKey(teacher.orgId, teacher.userId)) ?? [];
    for (const lessonId of lessonIds) {
      const row = this.lessons.get(lessonId);
      if (row?.status !== 'active' || (row.startedAtMs ?? 0) >= nowMs) continue;
      row.status = 'ended';
      row.endedAtMs = nowMs;
      ended.push(lessonId);
      for (const item of this.itemsByLesson.get(lessonId) ?? []) {
        if (item.status !== 'open') continue;
        item.status = 'closed';
        item.closedAtMs = nowMs;
      }
    }
    return ended;
  }

  /** Rows in creation order, so that on equal `updatedAtMs` the later one wins, as in PostgreSQL. */
  async recordedSeats(lessonId: Id): Promise<ReadonlyMap<string, Id>> {
    this.ensureAvailable();
    const holders = new Map<string, AttendanceRow>();
    for (const row of this.attendance.get(lessonId)?.values() ?? []) {
      const holder = holders.get(row.seatId);
      if (row.seatId !== '' && (holder === undefined || holder.updatedAtMs <= row.updatedAtMs)) {
        holders.set(row.seatId, row);
      }
    }
    return new Map([...holders].map(([seatId, row]) => [seatId, row.studentId]));
  }

  async activeLessons(): Promise<Array<{ teacher: TeacherRef; lessonId: Id }>> {
    this.ensureAvailable();
    return [...this.lessons.values()]
      .filter((row) => row.status === 'active')
      .map((row) => ({ teacher: { orgId: row.orgId, userId: row.teacherId }, lessonId: row.id }));
  }

  private ensureAvailable(): void {
    if (!this.available) throw new DependencyUnavailableError('database');
  }
}
