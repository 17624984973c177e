import type { TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import type { Lesson } from '../../domain/lesson.js';

export interface Attendance {
  readonly lessonId: Id;
  readonly studentId: Id;
  readonly displayName: string;
  readonly seatId: string;
}

/**
 * Lessons, their quizzes and tasks, and who attended (PostgreSQL in production, memory with demo
 * data in embedded mode). Methods throw `DependencyUnavailableError` when the database cannot be
 * reached or does not answer in time; a method that throws changed nothing, not now and not later
 * (PROTOCOL §6a.1: a write the database gets to only after the caller gave up applies nothing).
 */
export interface LessonRepository {
  findLesson(lessonId: Id): Promise<Lesson | null>;

  /** A `scheduled` lesson becomes `active` with `started_at`; any other status is left alone. */
  startLesson(lessonId: Id, nowMs: number): Promise<void>;

  /** Upserts display name and seat for (lesson, student). */
  recordAttendance(attendance: Attendance, nowMs: number): Promise<void>;

  /**
   * In one transaction: every `active` lesson of this teacher in this org that started before
   * `nowMs` (or has no `started_at`) becomes `ended` with `ended_at` = `nowMs`, and its `open`
   * quizzes and tasks `closed` with `closed_at`. A lesson started at or after `nowMs` belongs to a
   * newer session of the teacher and stays active. Idempotent: returns the lessons this call ended, so a repeated call returns [].
   */
  endActiveLessons(teacher: TeacherRef, nowMs: number): Promise<Id[]>;

  /**
   * The seats recorded in `student_attend` for the lesson, as seat → student: what a seat map
   * lost with the store starts from (see `seatMapFromRecords`, which leaves out seats outside
   * 1..seat_count). Where two students recorded the same seat, the one with the later
   * `updated_at` holds it (on a tie, the row created later). Empty for an unknown lesson.
   */
  recordedSeats(lessonId: Id): Promise<ReadonlyMap<string, Id>>;

  /** Every `active` lesson with its teacher, in no particular order (for a store that lost its data). */
  activeLessons(): Promise<Array<{ readonly teacher: TeacherRef; readonly lessonId: Id }>>;
}
