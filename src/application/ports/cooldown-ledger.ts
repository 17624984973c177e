import type { TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';

/**
 * Force-logout cooldowns kept in PostgreSQL (`teacher_cooldown`, PROTOCOL §8), so that they
 * outlive a Redis that lost its data. Methods throw `DependencyUnavailableError` when the
 * database cannot be reached; a write that throws changed nothing, not now and not later (fenced).
 */
export interface CooldownLedger {
  /** Upserts the teacher's cooldown: until `untilMs`, started by manager `by`. */
  record(input: {
    readonly teacher: TeacherRef;
    readonly untilMs: number;
    readonly by: Id;
  }): Promise<void>;

  /** Takes back a `record` whose request failed later (only the row with this `untilMs`). */
  cancel(input: { readonly teacher: TeacherRef; readonly untilMs: number }): Promise<void>;

  /** When the teacher's cooldown running at `nowMs` ends, or null when none runs (one row read). */
  runningUntil(teacher: TeacherRef, nowMs: number): Promise<number | null>;

  /** Every cooldown still running at `nowMs`. */
  active(nowMs: number): Promise<Array<{ readonly teacher: TeacherRef; readonly untilMs: number }>>;
}
