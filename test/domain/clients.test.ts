import { describe, expect, it } from 'vitest';
import { clientKindOf, isRole } from '../../src/domain/clients.js';

describe('client kinds', () => {
  it('tells TeacherApp, StudentWeb and ManagerWeb apart by role and product type', () => {
    expect(clientKindOf('teacher', undefined)).toBe('teacher_app');
    expect(clientKindOf('student', undefined)).toBe('student_web');
    expect(clientKindOf('teacher', 'manager')).toBe('manager_web');
    expect(clientKindOf('admin', 'manager')).toBe('manager_web');
  });

  it('has no kind for any other combination', () => {
    expect(clientKindOf('admin', undefined)).toBeNull();
    expect(clientKindOf('student', 'manager')).toBeNull();
    expect(clientKindOf('teacher', 'student')).toBeNull();
  });

  it('knows exactly the three roles', () => {
    expect(['teacher', 'student', 'admin'].every(isRole)).toBe(true);
    expect([' teacher', 'Teacher', 'manager', 7, undefined].some(isRole)).toBe(false);
  });
});
