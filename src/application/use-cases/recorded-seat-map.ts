import type { Lesson } from '../../domain/lesson.js';
import { type SeatMap, seatMapFromRecords } from '../../domain/seat-map.js';
import type { LessonRepository } from '../ports/lesson-repository.js';

/** The lesson's seat map as `student_attend` records it: how a lost or expired map starts again. */
export async function recordedSeatMap(
  lessons: LessonRepository,
  lesson: Pick<Lesson, 'id' | 'seatCount'>,
): Promise<SeatMap> {
  return seatMapFromRecords(lesson.seatCount, await lessons.recordedSeats(lesson.id));
}
