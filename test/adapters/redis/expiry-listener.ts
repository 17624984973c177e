import type { TeacherRef } from '../../../src/domain/clients.js';

/** Collects what an expiry feed delivers, and lets a test await the n-th delivery. */
export class HeardExpiries {
  readonly teachers: TeacherRef[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  readonly onExpired = (teacher: TeacherRef): void => {
    this.teachers.push(teacher);
    this.waiters = this.waiters.filter((waiter) => {
      if (this.teachers.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  };

  /** Resolves once `count` teachers have been delivered in all. */
  waitFor(count: number): Promise<void> {
    if (this.teachers.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}
