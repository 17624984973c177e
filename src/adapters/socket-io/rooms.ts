import type { Audience } from '../../application/ports/realtime-notifier.js';

/**
 * The Socket.IO room of an audience. Each kind has its own prefix and ids never contain `:`, so
 * org `7` and lesson `7` name different rooms; socket ids (the rooms Socket.IO joins by itself)
 * never contain `:` either.
 */
export function roomOf(audience: Audience): string {
  switch (audience.kind) {
    case 'org_managers':
      return `managers:${audience.orgId}`;
    case 'lesson':
      return `lesson:${audience.lessonId}`;
    case 'lesson_teachers':
      return `lesson-teachers:${audience.lessonId}`;
    case 'teacher_apps':
      return `teacher-app:${audience.teacher.orgId}:${audience.teacher.userId}`;
  }
}
