import type { Id } from './ids.js';

export type LessonStatus = 'scheduled' | 'active' | 'ended';

export interface Lesson {
  readonly id: Id;
  readonly orgId: Id;
  readonly teacherId: Id;
  readonly title: string | null;
  readonly seatCount: number;
  readonly status: LessonStatus;
}

export type WorkStatus = 'open' | 'closed';

/** A quiz or a task: what a lesson closes when it ends. */
export interface LessonItem {
  readonly id: Id;
  readonly lessonId: Id;
  readonly status: WorkStatus;
}

/** Rows to start a lesson database from: the demo data, or a test's own. */
export interface LessonSeed {
  readonly lessons: readonly Lesson[];
  readonly quizzes: readonly LessonItem[];
  readonly tasks: readonly LessonItem[];
}
