import { defineEntity, p } from '@mikro-orm/core';
import type { LessonStatus, WorkStatus } from '../../domain/lesson.js';

/**
 * The tables of PROTOCOL §8, described for MikroORM without decorators. The shipped migrations
 * create exactly these tables; a test keeps the two in step by asking the schema generator for
 * the difference, which must be empty. Ids are text chosen by the callers (other services own
 * lessons, quizzes and tasks); only `student_attend` numbers its rows itself.
 */

export const LessonEntity = defineEntity({
  name: 'Lesson',
  tableName: 'lesson',
  properties: {
    id: p.text().primary(),
    orgId: p.text(),
    teacherId: p.text(),
    title: p.text().nullable(),
    seatCount: p.integer().default(30),
    status: p.text().$type<LessonStatus>().default('active'),
    startedAt: p.datetime().columnType('timestamptz').nullable(),
    endedAt: p.datetime().columnType('timestamptz').nullable(),
  },
  indexes: [{ name: 'lesson_teacher_status_idx', properties: ['orgId', 'teacherId', 'status'] }],
});

export const StudentAttendEntity = defineEntity({
  name: 'StudentAttend',
  tableName: 'student_attend',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    lesson: p.manyToOne(LessonEntity),
    studentId: p.text(),
    displayName: p.text().nullable(),
    seatId: p.text().nullable(),
    createdAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
    updatedAt: p.datetime().columnType('timestamptz').defaultRaw('now()'),
  },
  uniques: [{ name: 'student_attend_lesson_student_unique', properties: ['lesson', 'studentId'] }],
});

/** A quiz or a task: §8 gives both the same columns, and a lesson's end closes both. */
function workItemEntity(name: string, tableName: string) {
  return defineEntity({
    name,
    tableName,
    properties: {
      id: p.text().primary(),
      lesson: p.manyToOne(LessonEntity).index(`${tableName}_lesson_idx`),
      status: p.text().$type<WorkStatus>(),
      closedAt: p.datetime().columnType('timestamptz').nullable(),
    },
  });
}

export const QuizEntity = workItemEntity('Quiz', 'quiz');
export const TaskEntity = workItemEntity('Task', 'task');

export const ENTITIES = [LessonEntity, StudentAttendEntity, QuizEntity, TaskEntity];
