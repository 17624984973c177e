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
