import type { Role } from '../../domain/clients.js';
import type { LessonSeed } from '../../domain/lesson.js';

/**
 * The embedded mode's school: one org, two teachers, an admin manager, four students, an active
 * lesson with an open quiz and task, and a scheduled lesson that starts when its teacher joins.
 * `classroom serve` without a database prints tokens for these users.
 */
export const DEMO = {
  orgId: 'demo-org',
  teachers: ['t-ada', 't-grace'],
  manager: { userId: 'm-linus', role: 'admin' as Role },
  students: ['s-1', 's-2', 's-3', 's-4'],
  lessons: {
    math: {
      id: 'lesson-math',
      orgId: 'demo-org',
      teacherId: 't-ada',
      title: 'Maths',
      seatCount: 30,
      status: 'active',
    },
    art: {
      id: 'lesson-art',
      orgId: 'demo-org',
      teacherId: 't-grace',
      title: 'Art',
      seatCount: 20,
      status: 'scheduled',
    },
  },
  quizId: 'quiz-1',
  taskId: 'task-1',
} as const;

/** Fresh rows of the demo school, for a repository to own and change. */
export function demoSeed(): LessonSeed {
  return {
    lessons: [{ ...DEMO.lessons.math }, { ...DEMO.lessons.art }],
    quizzes: [{ id: DEMO.quizId, lessonId: DEMO.lessons.math.id, status: 'open' }],
    tasks: [{ id: DEMO.taskId, lessonId: DEMO.lessons.math.id, status: 'open' }],
  };
}
