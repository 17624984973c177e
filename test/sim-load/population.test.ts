import { describe, expect, it } from 'vitest';
import { demoPopulation, seededPopulation } from '../../sim/load/population.js';
import { DEMO } from '../../src/adapters/in-memory/demo-data.js';

describe('demoPopulation', () => {
  it('cuts the request down to the demo school and says so', () => {
    const population = demoPopulation({ orgs: 3, teachers: 5, students: 80 });
    expect(population.managers).toEqual([
      { userId: DEMO.manager.userId, orgId: DEMO.orgId, role: 'admin' },
    ]);
    expect(population.teachers.map((teacher) => teacher.lessonId)).toEqual([
      'lesson-math',
      'lesson-art',
    ]);
    expect(population.students).toHaveLength(50);
    expect(population.notes).toEqual([
      'demo data has 1 organisation; --orgs 3 became 1',
      'demo data has 2 teachers; --teachers 5 became 2',
      'the demo lessons have 50 seats; --students 80 became 50',
    ]);
  });

  it('fills each lesson in proportion to its seats, with the same student ids on every run', () => {
    const { students } = demoPopulation({ orgs: 1, teachers: 2, students: 10 });
    const inMath = students.filter((student) => student.lessonId === 'lesson-math');
    expect(inMath).toHaveLength(6);
    expect(students[0]?.userId).toBe('s-load-1');
  });
});

describe('seededPopulation', () => {
  it('deals teachers to the organisations in turn, each with a lesson of its own', () => {
    const population = seededPopulation({ orgs: 2, teachers: 3, students: 90 }, 'abc');
    expect(population.managers.map((manager) => manager.orgId)).toEqual([
      'load-abc-o1',
      'load-abc-o2',
    ]);
    expect(
      population.lessons.map((lesson) => [lesson.id, lesson.teacherId, lesson.status]),
    ).toEqual([
      ['load-abc-o1-l1', 'load-abc-o1-t1', 'scheduled'],
      ['load-abc-o2-l2', 'load-abc-o2-t2', 'scheduled'],
      ['load-abc-o1-l3', 'load-abc-o1-t3', 'scheduled'],
    ]);
    for (const lesson of population.lessons) {
      const students = population.students.filter((student) => student.lessonId === lesson.id);
      expect(students).toHaveLength(30);
      expect(students.every((student) => student.orgId === lesson.orgId)).toBe(true);
    }
  });

  it('keeps at most one organisation per teacher', () => {
    const population = seededPopulation({ orgs: 4, teachers: 2, students: 0 }, 'x');
    expect(population.managers).toHaveLength(2);
    expect(population.notes).toEqual(['every organisation needs a teacher; --orgs 4 became 2']);
  });
});
