import { DependencyUnavailableError } from '../../application/errors.js';
import type { CooldownLedger } from '../../application/ports/cooldown-ledger.js';
import { type TeacherRef, teacherKey } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';

/** One teacher's cooldown, as the `teacher_cooldown` row holds it. */
export interface CooldownRow {
  readonly teacher: TeacherRef;
  readonly untilMs: number;
  readonly by: Id;
}

/**
 * The cooldown ledger of the embedded mode and the simulator: one row per teacher, like the
 * table's primary key, so its size is bounded by the teachers ever forced out. Times are the
 * caller's. `setAvailable(false)` makes every method reject with `DependencyUnavailableError`
 * having changed nothing, like a database that cannot be reached; nothing is ever applied late.
 */
export class InMemoryCooldownLedger implements CooldownLedger {
  private available = true;
  /** Keyed by org and user: ids never contain `:`. */
  private readonly rows = new Map<string, CooldownRow>();

  setAvailable(up: boolean): void {
    this.available = up;
  }

  /** Copies of every row, expired ones included. */
  snapshot(): CooldownRow[] {
    return [...this.rows.values()].map((row) => ({ ...row, teacher: { ...row.teacher } }));
  }

  async record(input: { teacher: TeacherRef; untilMs: number; by: Id }): Promise<void> {
    this.ensureAvailable();
    const { teacher, untilMs, by } = input;
    this.rows.set(teacherKey(teacher), { teacher: { ...teacher }, untilMs, by });
  }

  async cancel(input: { teacher: TeacherRef; untilMs: number }): Promise<void> {
    this.ensureAvailable();
    const key = teacherKey(input.teacher);
    if (this.rows.get(key)?.untilMs === input.untilMs) this.rows.delete(key);
  }

  async runningUntil(teacher: TeacherRef, nowMs: number): Promise<number | null> {
    this.ensureAvailable();
    const untilMs = this.rows.get(teacherKey(teacher))?.untilMs;
    return untilMs !== undefined && untilMs > nowMs ? untilMs : null;
  }

  async active(nowMs: number): Promise<Array<{ teacher: TeacherRef; untilMs: number }>> {
    this.ensureAvailable();
    return [...this.rows.values()]
      .filter((row) => row.untilMs > nowMs)
      .map((row) => ({ teacher: { ...row.teacher }, untilMs: row.untilMs }));
  }

  private ensureAvailable(): void {
    if (!this.available) throw new DependencyUnavailableError('database');
  }
}
