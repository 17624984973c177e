import { defineEntity, p } from '@mikro-orm/core';
import type { LessonStatus, WorkStatus } from '../../domain/lesson.js';
import type { PresenceEventKind } from '../../domain/presence.js';

/**
 * The tables of PROTOCOL §8, described for MikroORM without decorators. The shipped migrations
 * create exactly these tables; a test keeps the two in step by asking the schema generator for
 * the difference, which must be empty. Ids are text chosen by the callers (other services own
 * lessons, quizzes and tasks); only `student_attend` and `presence_event` number their rows.
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

/**
 * The presence history. `at` descends in the index, which the schema generator cannot say in
 * columns; as an expression index it is compared by name, and the schema test reads its definition.
 */
export const PresenceEventEntity = defineEntity({
  name: 'PresenceEvent',
  tableName: 'presence_event',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    orgId: p.text(),
    userId: p.text(),
    at: p.datetime().columnType('timestamptz'),
    kind: p.text().$type<PresenceEventKind>(),
    reason: p.text(),
    by: p.text().nullable(),
    lessonIds: p.array().columnType('text[]').nullable(),
    node: p.text(),
  },
  indexes: [
    {
      name: 'presence_event_org_user_at_idx',
      expression:
        'create index "presence_event_org_user_at_idx" on "presence_event" ("org_id", "user_id", "at" desc)',
    },
  ],
});

export const TeacherCooldownEntity = defineEntity({
  name: 'TeacherCooldown',
  tableName: 'teacher_cooldown',
  properties: {
    orgId: p.text().primary(),
    userId: p.text().primary(),
    until: p.datetime().columnType('timestamptz'),
    by: p.text(),
  },
});

export const ENTITIES = [
  LessonEntity,
  StudentAttendEntity,
  QuizEntity,
  TaskEntity,
  PresenceEventEntity,
  TeacherCooldownEntity,
];
